package message

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

var pngPixel = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

func testDraft() Draft {
	return Draft{
		From:    Address{"Иван Петров", "ivan@example.com"},
		ReplyTo: []Address{{"Отдел продаж", "sales@example.com"}},
		To:      []Address{{"Мария Иванова", "maria@example.org"}, {"", "bob@example.net"}},
		Cc:      []Address{{"Doe, Jane", "jane@example.com"}},
		Bcc:     []Address{{"Скрытый", "hidden@example.com"}, {"", "BOB@example.net"}},
		Subject: "Счёт №42 за октябрь — просьба оплатить до пятницы, иначе поставка будет отложена на неделю",
		HTML: "<p>Здравствуйте, Мария!</p><p>Счёт во вложении. Подробности на " +
			`<a href="https://example.com/inv/42">сайте</a>.</p>` + "\n" +
			`<p>--<br>Иван<br><img src="cid:sig@example.com" alt="logo"></p>`,
		InReplyTo:  "prev@example.org",
		References: []string{"first@example.org", "prev@example.org"},
		Attachments: []Attachment{
			{Filename: "logo.png", ContentType: "image/png", ContentID: "sig@example.com", Inline: true, Data: pngPixel},
			{Filename: "Счёт №42 от 1 октября 2026 года (оригинал для бухгалтерии, с подписью и печатью).pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4\n\x00\xff binary")},
			{Filename: "notes.txt", ContentType: "text/plain; charset=utf-8", Data: []byte("строка 1\r\nline 2\r\n")},
		},
		Date:      time.Date(2026, 10, 5, 14, 30, 0, 0, time.FixedZone("MSK", 3*3600)),
		MessageID: "0f1e2d3c@tandem.example.com",
	}
}

func TestComposeRoundTrip(t *testing.T) {
	d := testDraft()
	raw, rcpt, err := Compose(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"maria@example.org", "bob@example.net", "jane@example.com", "hidden@example.com"}; !reflect.DeepEqual(rcpt, want) {
		t.Errorf("recipients %v, want %v", rcpt, want)
	}
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if len(line) > 78 {
			t.Errorf("line %d has %d octets: %q", i+1, len(line), line)
		}
		for _, c := range line {
			if c >= 0x80 || c == '\n' || c == '\r' {
				t.Fatalf("line %d is not 7-bit CRLF text: %q", i+1, line)
			}
		}
	}
	if bytes.Contains(raw, []byte("hidden@example.com")) || bytes.Contains(bytes.ToLower(raw), []byte("\nbcc:")) {
		t.Error("Bcc written to the letter")
	}

	m := parse(raw)
	checkInvariants(t, raw, m)
	if len(m.Warnings) != 0 {
		t.Errorf("warnings: %v", m.Warnings)
	}
	if m.MessageID != d.MessageID || m.Subject != d.Subject || !m.Date.Equal(d.Date) {
		t.Errorf("MessageID %q Subject %q Date %v", m.MessageID, m.Subject, m.Date)
	}
	if !reflect.DeepEqual(m.From, []Address{d.From}) || !reflect.DeepEqual(m.To, d.To) ||
		!reflect.DeepEqual(m.Cc, d.Cc) || !reflect.DeepEqual(m.ReplyTo, d.ReplyTo) || m.Bcc != nil {
		t.Errorf("addresses: From %v To %v Cc %v ReplyTo %v Bcc %v", m.From, m.To, m.Cc, m.ReplyTo, m.Bcc)
	}
	if !reflect.DeepEqual(m.InReplyTo, []string{d.InReplyTo}) || !reflect.DeepEqual(m.References, d.References) {
		t.Errorf("InReplyTo %v References %v", m.InReplyTo, m.References)
	}
	if m.HTML != d.HTML {
		t.Errorf("HTML\n got %q\nwant %q", m.HTML, d.HTML)
	}
	wantText := "Здравствуйте, Мария!\n\nСчёт во вложении. Подробности на сайте <https://example.com/inv/42>.\n\n--\nИван"
	if m.Text != wantText {
		t.Errorf("Text\n got %q\nwant %q", m.Text, wantText)
	}
	if len(m.Attachments) != len(d.Attachments) {
		t.Fatalf("%d attachments, want %d", len(m.Attachments), len(d.Attachments))
	}
	for i, want := range d.Attachments {
		got := m.Attachments[i]
		ct, _, _ := strings.Cut(want.ContentType, ";")
		if got.Filename != want.Filename || got.ContentType != ct || got.ContentID != want.ContentID ||
			got.Inline != want.Inline || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("attachment %d\n got %+v\nwant %+v", i, got, want)
		}
	}

	again, _, err := Compose(d)
	if err != nil || !bytes.Equal(again, raw) {
		t.Error("Compose is not reproducible for the same draft")
	}
}

func TestComposeShapes(t *testing.T) {
	base := Draft{
		From: Address{"", "a@example.com"}, To: []Address{{"", "b@example.com"}},
		Subject: "plain", Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), MessageID: "x@example.com",
	}
	tests := []struct {
		name   string
		edit   func(*Draft)
		header string // Content-Type of the letter, without parameters
	}{
		{"text only", func(d *Draft) { d.Text = "hello\nworld" }, "text/plain"},
		{"html", func(d *Draft) { d.HTML = "<b>hi</b>" }, "multipart/alternative"},
		{"html and inline image", func(d *Draft) {
			d.HTML = `<img src="cid:i@x">`
			d.Attachments = []Attachment{{ContentType: "image/png", ContentID: "i@x", Inline: true, Data: pngPixel}}
		}, "multipart/related"},
		{"text and a file", func(d *Draft) {
			d.Text = "see file"
			d.Attachments = []Attachment{{Filename: "a.bin", Data: []byte{0, 1, 2}}}
		}, "multipart/mixed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := base
			tt.edit(&d)
			raw, _, err := Compose(d)
			if err != nil {
				t.Fatal(err)
			}
			m := parse(raw)
			if len(m.Warnings) != 0 {
				t.Errorf("warnings %v", m.Warnings)
			}
			ct, _, _ := strings.Cut(m.Header("Content-Type"), ";")
			if ct != tt.header {
				t.Errorf("Content-Type %q, want %q", ct, tt.header)
			}
			if d.Text != "" && m.Text != d.Text {
				t.Errorf("Text %q, want %q", m.Text, d.Text)
			}
			if d.HTML != "" && m.HTML != d.HTML {
				t.Errorf("HTML %q, want %q", m.HTML, d.HTML)
			}
			if len(m.Attachments) != len(d.Attachments) {
				t.Errorf("%d attachments, want %d", len(m.Attachments), len(d.Attachments))
			}
		})
	}
}

func TestComposeValidation(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Draft)
		want error
	}{
		{"no recipients", func(d *Draft) { d.To, d.Cc, d.Bcc = nil, nil, nil }, ErrNoRecipients},
		{"bad To", func(d *Draft) { d.To = append(d.To, Address{"", "not an address"}) }, ErrBadAddress},
		{"bad Bcc", func(d *Draft) { d.Bcc = []Address{{"", "a@@b.com"}} }, ErrBadAddress},
		{"empty From", func(d *Draft) { d.From = Address{"Me", ""} }, ErrBadAddress},
		{"header injection in a name", func(d *Draft) { d.To[0].Name = "x\r\nBcc: evil@example.com" }, ErrBadAddress},
		{"non-ASCII address", func(d *Draft) { d.Cc = []Address{{"", "пользователь@пример.рф"}} }, ErrBadAddress},
		{"no date", func(d *Draft) { d.Date = time.Time{} }, ErrBadDraft},
		{"no message id", func(d *Draft) { d.MessageID = "" }, ErrBadDraft},
		{"message id with brackets", func(d *Draft) { d.MessageID = "<a@b>" }, ErrBadDraft},
		{"subject with a line break", func(d *Draft) { d.Subject = "a\nBcc: x@y.z" }, ErrBadDraft},
		{"inline without content id", func(d *Draft) { d.Attachments[0].ContentID = "" }, ErrBadDraft},
		{"bad content type", func(d *Draft) { d.Attachments[1].ContentType = "pdf" }, ErrBadDraft},
		{"bad reference", func(d *Draft) { d.References = []string{"no-at-sign"} }, ErrBadDraft},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDraft()
			tt.edit(&d)
			raw, rcpt, err := Compose(d)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if raw != nil || rcpt != nil {
				t.Error("output returned with an error")
			}
		})
	}
}
