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

func TestDisposition(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf":      `attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`,
		"Отчёт 2024.xlsx": `attachment; filename="_____ 2024.xlsx"; filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%202024.xlsx`,
		`a"b\c/d.txt`:     `attachment; filename="a_b_c_d.txt"; filename*=UTF-8''a%22b%5Cc%2Fd.txt`,
		"evil\r\nX-H: 1":  `attachment; filename="evilX-H: 1"; filename*=UTF-8''evilX-H%3A%201`,
		"":                `attachment; filename="attachment"; filename*=UTF-8''attachment`,
	} {
		if got := Disposition(in); got != want {
			t.Errorf("Disposition(%q) =\n %s\nwant\n %s", in, got, want)
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
