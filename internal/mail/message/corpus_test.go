package message

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

const corpusDir = "testdata/mail-mikel"

func corpus(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("corpus has %d letters, want the 103 of mail-mikel", len(files))
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// checkInvariants holds for every parse result, whatever the input.
func checkInvariants(t testing.TB, raw []byte, m *Message) {
	t.Helper()
	if m.Size != len(raw) {
		t.Errorf("Size = %d, want %d", m.Size, len(raw))
	}
	for _, a := range m.AllAddresses() {
		if a.Email != strings.ToLower(strings.TrimSpace(a.Email)) {
			t.Errorf("address %q not lower-cased and trimmed", a.Email)
		}
		if !utf8.ValidString(a.Name) || !utf8.ValidString(a.Email) {
			t.Errorf("address %q <%q> not UTF-8", a.Name, a.Email)
		}
	}
	for name, s := range map[string]string{"Subject": m.Subject, "Text": m.Text, "HTML": m.HTML, "Snippet": m.Snippet, "MessageID": m.MessageID} {
		if !utf8.ValidString(s) {
			t.Errorf("%s is not valid UTF-8", name)
		}
	}
	if utf8.RuneCountInString(m.Snippet) > SnippetLen {
		t.Errorf("Snippet has %d runes", utf8.RuneCountInString(m.Snippet))
	}
	for _, a := range m.Attachments {
		if a.Size != len(a.Data) {
			t.Errorf("attachment %q Size %d, len(Data) %d", a.Filename, a.Size, len(a.Data))
		}
		if !utf8.ValidString(a.Filename) {
			t.Errorf("attachment name %q not UTF-8", a.Filename)
		}
	}
	for _, w := range m.Warnings {
		if w.Code == "" || !utf8.ValidString(w.Detail) {
			t.Errorf("bad warning %+v", w)
		}
	}
}

// validDespiteName lists error_emails_* letters that are valid RFC 5322 / MIME: they broke
// the Ruby parser the corpus comes from, not the standard, so they get no warning here.
var validDespiteName = map[string]string{
	"error_emails_cant_parse_from.eml":                 "From: Apple <News@InsideApple.Apple.com> is a plain name-addr",
	"error_emails_empty_group_lists.eml":               `"To: undisclosed recipients: ;" is a valid empty group`,
	"error_emails_header_fields_with_empty_values.eml": "empty unstructured fields (X-MS-Has-Attach:) are allowed",
}

func TestParseCorpus(t *testing.T) {
	for name, raw := range corpus(t) {
		t.Run(name, func(t *testing.T) {
			m := parse(raw)
			checkInvariants(t, raw, m)
			if strings.HasPrefix(name, "error_emails_") && validDespiteName[name] == "" && len(m.Warnings) == 0 {
				t.Errorf("no warning for a broken letter")
			}
			if os.Getenv("DUMP") != "" {
				t.Logf("id=%q subj=%q date=%v from=%v to=%d cc=%d irt=%v refs=%d text=%d html=%d att=%d snip=%.60q", m.MessageID, m.Subject, m.Date, m.From, len(m.To), len(m.Cc), m.InReplyTo, len(m.References), len(m.Text), len(m.HTML), len(m.Attachments), m.Snippet)
				for _, a := range m.Attachments {
					t.Logf("  att %q %s cid=%q inline=%v %d", a.Filename, a.ContentType, a.ContentID, a.Inline, a.Size)
				}
				for _, w := range m.Warnings {
					t.Logf("  warn %s", w)
				}
			}
		})
	}
}
