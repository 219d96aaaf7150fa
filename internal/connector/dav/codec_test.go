package dav

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

// base is the fixed instant the codec tests' clocks stand at.
var base = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func clock() time.Time { return base }

// obj turns a test object written with \n line ends into the CRLF form
// servers send.
func obj(s string) []byte {
	s = strings.TrimPrefix(s, "\n")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// logical splits raw into logical lines (a line with its continuations),
// as bytes.
func logical(raw []byte) []string {
	var out []string
	for len(raw) > 0 {
		n := bytes.IndexByte(raw, '\n')
		if n < 0 {
			n = len(raw) - 1
		}
		phys := string(raw[:n+1])
		raw = raw[n+1:]
		if len(out) > 0 && (strings.HasPrefix(phys, " ") || strings.HasPrefix(phys, "\t")) {
			out[len(out)-1] += phys
			continue
		}
		out = append(out, phys)
	}
	return out
}

// propName is the upper-cased name of a logical line, without its group.
func propName(l string) string {
	i := strings.IndexAny(l, ";:")
	if i < 0 {
		return ""
	}
	n := l[:i]
	if d := strings.LastIndexByte(n, '.'); d >= 0 {
		n = n[d+1:]
	}
	return strings.ToUpper(n)
}

// without drops the logical lines of the named properties.
func without(raw []byte, names ...string) string {
	var b strings.Builder
	for _, l := range logical(raw) {
		if !slices.Contains(names, propName(l)) {
			b.WriteString(l)
		}
	}
	return b.String()
}

// changedNames are the property names of the lines that differ between a
// and b (as multisets).
func changedNames(a, b []byte) []string {
	count := map[string]int{}
	for _, l := range logical(a) {
		count[l]++
	}
	for _, l := range logical(b) {
		count[l]--
	}
	var out []string
	for l, n := range count {
		if n != 0 && !slices.Contains(out, propName(l)) {
			out = append(out, propName(l))
		}
	}
	slices.Sort(out)
	return out
}

// checkWellFormed asserts what every line Tandem writes obeys: CRLF ends,
// at most 75 octets, valid UTF-8 where the input was.
func checkWellFormed(t *testing.T, out []byte) {
	t.Helper()
	if !bytes.HasSuffix(out, []byte("\r\n")) {
		t.Errorf("output does not end in CRLF")
	}
	for _, l := range strings.SplitAfter(string(out), "\n") {
		if l == "" {
			continue
		}
		if !strings.HasSuffix(l, "\r\n") {
			t.Errorf("line %q not CRLF-terminated", l)
		}
		if len(strings.TrimSuffix(l, "\r\n")) > 75 {
			t.Errorf("line longer than 75 octets: %q", l)
		}
	}
}

// patched encodes f onto raw, checks that the result reads back as f and
// that no line changed but those of props and the stamps, and returns it
// with its reading.
func patched(t *testing.T, c Codec, raw []byte, f reconcile.Fields, stamps, props []string) ([]byte, Decoded) {
	t.Helper()
	out, err := c.Encode(raw, f, "", "")
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Decode(out)
	if err != nil {
		t.Fatalf("decode of the patched object: %v\n%s", err, out)
	}
	sameFields(t, "patched", d.Fields, f)
	props = append(slices.Clone(stamps), props...)
	if a, b := without(raw, props...), without(out, props...); a != b {
		t.Errorf("lines outside %v changed:\n%s", props, out)
	}
	return out, d
}

func sameFields(t *testing.T, what string, got, want reconcile.Fields) {
	t.Helper()
	if got.Equal(want) {
		return
	}
	for _, k := range unionKeys(got, want) {
		if got[k] != want[k] {
			t.Errorf("%s: field %s = %q, want %q", what, k, got[k], want[k])
		}
	}
}

func unionKeys(a, b reconcile.Fields) []string {
	var ks []string
	for k := range a {
		ks = append(ks, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

func with(f reconcile.Fields, kv ...string) reconcile.Fields {
	g := f.Clone()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(g, kv[i])
		} else {
			g[kv[i]] = kv[i+1]
		}
	}
	return g
}

// corpus are the iCalendar files of the shared test data.
func corpus(t testing.TB) map[string][]byte {
	dir := "/work/shared/testdata/corpora/ical-collective"
	if d := os.Getenv("TANDEM_ICAL_CORPUS"); d != "" {
		dir = d
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.ics"))
	if len(files) == 0 {
		t.Skipf("no iCalendar corpus in %s", dir)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

func TestCodecFold(t *testing.T) {
	for _, s := range []string{
		"NOTE:" + strings.Repeat("a", 200),
		"NOTE:" + strings.Repeat("ж", 100),
		"NOTE:" + strings.Repeat("a", 69) + "€€€€" + strings.Repeat("日本", 40),
		"X:short",
	} {
		out := fold(s)
		checkWellFormed(t, []byte(out))
		for _, l := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
			if !utf8.ValidString(l) {
				t.Errorf("fold split a character: %q", l)
			}
		}
		d, err := parseDocument([]byte("BEGIN:VCARD\r\n"+out+"END:VCARD\r\n"), "VCARD", "vcard")
		if err != nil {
			t.Fatal(err)
		}
		if got := d.lines[1].name + ":" + d.lines[1].value; got != s {
			t.Errorf("unfolded %q, want %q", got, s)
		}
	}
}

func TestCodecTextEscapes(t *testing.T) {
	for _, tc := range []struct{ raw, text string }{
		{`a\, b\; c\\ d\n e\N f`, "a, b; c\\ d\n e\n f"},
		{`C:\temp`, `C:\temp`},
		{`trailing\`, `trailing\`},
		{`plain`, `plain`},
	} {
		if got := unescapeText(tc.raw); got != tc.text {
			t.Errorf("unescape %q = %q, want %q", tc.raw, got, tc.text)
		}
		if got := unescapeText(escapeText(tc.text)); got != tc.text {
			t.Errorf("escape round trip of %q = %q", tc.text, got)
		}
	}
}

func TestCodecParams(t *testing.T) {
	l := parseLine(nil, `item1.ATTENDEE;CN="Doe, John";X-Q="a:b;c";ROLE=REQ-PARTICIPANT;CN2=^'x^'^n:mailto:j@example.com`)
	if l.bad || l.group != "item1" || l.name != "ATTENDEE" || l.value != "mailto:j@example.com" {
		t.Fatalf("parsed %+v", l)
	}
	if l.param("CN") != "Doe, John" || l.param("X-Q") != "a:b;c" || l.param("CN2") != "\"x\"\n" {
		t.Errorf("params %+v", l.params)
	}
	p := cprop{name: "ATTENDEE", params: []cparam{newParam("CN", `Doe, "J" ^`)}, value: "mailto:x@y"}
	back := parseLine(nil, strings.TrimSuffix(p.String(), "\r\n"))
	if back.param("CN") != `Doe, "J" ^` {
		t.Errorf("param round trip: %q from %q", back.param("CN"), p.String())
	}
	for _, bad := range []string{"NO COLON HERE", ";X=1:v", `X;P="unterminated:v`} {
		if l := parseLine(nil, bad); !l.bad {
			t.Errorf("%q read as a content line", bad)
		}
	}
}

func TestCodecMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
	}{
		{"empty", ""},
		{"no begin", "VERSION:3.0\nFN:x\n"},
		{"no end", "BEGIN:VCARD\nFN:x\n"},
		{"wrong end", "BEGIN:VCARD\nFN:x\nEND:VCALENDAR\n"},
		{"wrong object", "BEGIN:VCALENDAR\nEND:VCALENDAR\n"},
		{"end first", "END:VCARD\n"},
	} {
		_, err := VCardCodec{}.Decode(obj(tc.raw))
		if err == nil {
			t.Errorf("%s: decoded", tc.name)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "vcard: ") || strings.ContainsAny(msg[:7], "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			t.Errorf("%s: error %q", tc.name, msg)
		}
	}
}

// The costs a sync run pays per object: reading it, and patching one field.
func BenchmarkCodec(b *testing.B) {
	for _, bc := range []struct {
		name  string
		c     Codec
		raw   []byte
		field string
	}{
		{"vcard", VCardCodec{Now: clock}, appleCard, reconcile.FieldNotes},
		{"vevent series", EventCodec{Now: clock}, nextcloudEvent, reconcile.FieldTitle},
		{"vtodo", TaskCodec{Now: clock}, thunderbirdTodo, reconcile.FieldTitle},
	} {
		d, err := bc.c.Decode(bc.raw)
		if err != nil {
			b.Fatal(err)
		}
		g := with(d.Fields, bc.field, "changed")
		b.Run(bc.name+"/decode", func(b *testing.B) {
			for b.Loop() {
				if _, err := bc.c.Decode(bc.raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/patch", func(b *testing.B) {
			for b.Loop() {
				if _, err := bc.c.Encode(bc.raw, g, d.UID, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
