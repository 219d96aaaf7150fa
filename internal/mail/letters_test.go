package mail

import (
	"errors"
	"testing"

	"github.com/tandem-crm/tandem/internal/mail/message"
	"github.com/tandem-crm/tandem/internal/store"
)

func TestReplySubject(t *testing.T) {
	for in, want := range map[string]string{
		"Hello":             "Re: Hello",
		"Re: Hello":         "Re: Hello",
		"RE: re:  Hello ":   "Re: Hello",
		"Fwd: Hello":        "Re: Fwd: Hello",
		"":                  "Re: ",
		"Отчёт за квартал":  "Re: Отчёт за квартал",
		"Regarding the bid": "Re: Regarding the bid",
	} {
		if got := ReplySubject(in); got != want {
			t.Errorf("ReplySubject(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := store.LetterCursor{ReceivedAt: 1712345678901234, ID: "0190-abc"}
	got, err := DecodeCursor(EncodeCursor(c))
	if err != nil || got != c {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	if got, err := DecodeCursor(""); err != nil || got != (store.LetterCursor{}) {
		t.Errorf("empty cursor = %+v, %v", got, err)
	}
	for _, bad := range []string{"!!", "bm9kb3Q", "eC5hYmM"} { // not base64, "nodot", "x.abc"
		if _, err := DecodeCursor(bad); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("DecodeCursor(%q) = %v", bad, err)
		}
	}
}

func TestRewriteCIDs(t *testing.T) {
	as := []message.Attachment{{Filename: "a.pdf"}, {ContentID: "logo@x", Inline: true}}
	html := message.SanitizeHTML(`<p><img src="cid:logo@x" onerror="alert(1)"><img src="cid:missing@x"><script>alert(2)</script></p>`)
	got := rewriteCIDs(html, "L1", as)
	want := `<p><img src="/letters/L1/attachments/1"><img src="cid:missing@x"></p>`
	if got != want {
		t.Errorf("rewriteCIDs =\n %s\nwant\n %s", got, want)
	}
}
