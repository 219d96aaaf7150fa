package message

import (
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds the corpus and mutations of it to the parser (without Parse's recover, so a
// panic fails) and checks the invariants every result must hold.
func FuzzParse(f *testing.F) {
	for _, raw := range corpus(f) {
		f.Add(raw)
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\n--a--"))
	f.Add([]byte("Subject: =?utf-8?B?0J8=?= =?koi8-r?Q?=F0?=\r\nTo: <<,>>, \"a\" <b@c>\r\n\r\n"))
	if raw, _, err := Compose(testDraft()); err == nil {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := parse(raw)
		checkInvariants(t, raw, m)
		if len(m.Warnings) > maxWarnings {
			t.Errorf("%d warnings", len(m.Warnings))
		}
	})
}

// FuzzComposeRoundTrip checks that whatever Compose accepts parses back to the same fields.
func FuzzComposeRoundTrip(f *testing.F) {
	f.Add("Иван", "ivan@example.com", "Счёт №1", "<p>Привет</p>", "файл.pdf")
	f.Add("", "a@b.example", "", "", "")
	f.Fuzz(func(t *testing.T, name, email, subject, html, file string) {
		d := Draft{
			From:      Address{name, email},
			To:        []Address{{name, "to@example.com"}},
			Subject:   subject,
			HTML:      html,
			Date:      time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
			MessageID: "id@example.com",
		}
		if file != "" {
			d.Attachments = []Attachment{{Filename: file, Data: []byte(html)}}
		}
		raw, _, err := Compose(d)
		if err != nil {
			return
		}
		m := parse(raw)
		// Surrounding blanks are not kept, and parsing shows tabs as spaces.
		if want := strings.ReplaceAll(strings.TrimSpace(subject), "\t", " "); m.Subject != want {
			t.Errorf("Subject %q, want %q", m.Subject, want)
		}
		if want := strings.ToLower(strings.TrimSpace(email)); len(m.From) != 1 || m.From[0].Email != want {
			t.Errorf("From %v, want %q", m.From, want)
		}
		if file != "" && (len(m.Attachments) != 1 || m.Attachments[0].Filename != cleanFilename(file)) {
			t.Errorf("attachments %+v, want file %q", m.Attachments, cleanFilename(file))
		}
	})
}
