package message

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	xunicode "golang.org/x/text/encoding/unicode"
)

// charsetAliases covers labels seen in real mail that neither the IANA nor the WHATWG index
// knows.
var charsetAliases = map[string]encoding.Encoding{
	"utf8":             xunicode.UTF8,
	"x-utf_8j":         xunicode.UTF8,
	"cp1251":           charmap.Windows1251,
	"win-1251":         charmap.Windows1251,
	"cp-1251":          charmap.Windows1251,
	"cp1252":           charmap.Windows1252,
	"cp866":            charmap.CodePage866,
	"ansi_x3.110-1983": charmap.ISO8859_1,
	"latin1":           charmap.Windows1252,
	"iso8859-1":        charmap.ISO8859_1,
	"iso8859-5":        charmap.ISO8859_5,
	"iso8859-15":       charmap.ISO8859_15,
}

var charsetCache sync.Map // normalized label -> encoding.Encoding (nil when unknown)

// lookupCharset finds the decoder for a MIME charset label; ok is false when the label is
// unknown. UTF-8 and US-ASCII come back as nil with ok true: their bytes are used as they are.
func lookupCharset(label string) (enc encoding.Encoding, ok bool) {
	l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	// RFC 2231 allows a language suffix: "utf-8*en".
	if i := strings.IndexByte(l, '*'); i >= 0 {
		l = l[:i]
	}
	switch l {
	case "utf-8", "us-ascii", "ascii", "":
		return nil, true
	}
	if v, hit := charsetCache.Load(l); hit {
		if v == nil {
			return nil, false
		}
		e := v.(encoding.Encoding)
		return e, true
	}
	e := findCharset(l)
	if e == nil {
		charsetCache.Store(l, nil)
		return nil, false
	}
	if e == xunicode.UTF8 {
		charsetCache.Store(l, e)
		return e, true
	}
	charsetCache.Store(l, e)
	return e, true
}

func findCharset(l string) encoding.Encoding {
	if e, ok := charsetAliases[l]; ok {
		return e
	}
	if e, err := ianaindex.MIME.Encoding(l); err == nil && e != nil {
		return e
	}
	if e, err := ianaindex.MIME.Encoding("cs" + l); err == nil && e != nil {
		return e
	}
	if e, err := htmlindex.Get(l); err == nil && e != nil {
		return e
	}
	return nil
}

// decodeCharset converts b from the charset enc (nil meaning UTF-8) to valid UTF-8. valid is
// false when invalid bytes had to be replaced.
func decodeCharset(enc encoding.Encoding, b []byte) (s string, valid bool) {
	if enc == nil || enc == xunicode.UTF8 {
		if utf8.Valid(b) {
			return string(b), true
		}
		return strings.ToValidUTF8(string(b), "\uFFFD"), false
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		// x/text decoders replace most invalid input themselves; an error here means the
		// stream was cut (e.g. ISO-2022-JP escape state). Keep what decoded.
		if len(out) == 0 {
			return strings.ToValidUTF8(string(b), "\uFFFD"), false
		}
		return strings.ToValidUTF8(string(out), "\uFFFD"), false
	}
	s = string(out)
	if !utf8.ValidString(s) {
		return strings.ToValidUTF8(s, "\uFFFD"), false
	}
	return s, !strings.ContainsRune(s, utf8.RuneError)
}

// guessCandidates are the charsets tried for 8-bit text that names none (or a wrong one).
// Tandem's users write mostly Russian and Western European text.
var guessCandidates = []struct {
	name string
	enc  encoding.Encoding
}{
	{"windows-1251", charmap.Windows1251},
	{"koi8-r", charmap.KOI8R},
	{"windows-1252", charmap.Windows1252},
}

// guessDecode decodes 8-bit text of unknown charset: UTF-8 when valid, else the hint
// charset when given and known, else the candidate whose result looks most like words.
func guessDecode(b []byte, hint encoding.Encoding) (s string, name string) {
	if utf8.Valid(b) {
		return string(b), "utf-8"
	}
	if hint != nil && hint != xunicode.UTF8 {
		if s, ok := decodeCharset(hint, b); ok {
			return s, charsetName(hint)
		}
	}
	best, bestScore, bestName := "", -1<<31, ""
	for _, c := range guessCandidates {
		s, _ := decodeCharset(c.enc, b)
		if sc := textScore(s); sc > bestScore {
			best, bestScore, bestName = s, sc, c.name
		}
	}
	return best, bestName
}

func charsetName(e encoding.Encoding) string {
	if n, err := ianaindex.MIME.Name(e); err == nil && n != "" {
		return strings.ToLower(n)
	}
	return "hinted charset"
}

// textScore rates how much s looks like natural text: lower-case letters inside words of
// one script score, case and script mixes inside a word (what a wrong 8-bit charset gives)
// and control or symbol characters cost.
func textScore(s string) int {
	score := 0
	var prev rune
	for _, r := range s {
		switch {
		case r < 0x80:
		case unicode.Is(unicode.Cyrillic, r):
			if unicode.IsLower(r) {
				score += 2
			} else if unicode.IsLetter(prev) && unicode.IsLower(prev) {
				score -= 2 // "приВет": KOI8-R read as windows-1251 flips case
			}
			if prev < 0x80 && unicode.IsLetter(prev) {
				score -= 3 // Latin letter followed by Cyrillic inside a word
			}
		case unicode.IsLetter(r):
			if unicode.IsLower(r) {
				score++
			}
			if unicode.Is(unicode.Cyrillic, prev) {
				score -= 3
			}
		case r == utf8.RuneError || unicode.IsControl(r):
			score -= 5
		default:
			score-- // box drawing, currency, math: rare in real text
		}
		prev = r
	}
	return score
}

// charsetReader adapts lookupCharset for mime.WordDecoder.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	enc, ok := lookupCharset(label)
	if !ok {
		return nil, fmt.Errorf("unknown charset %q", label)
	}
	if enc == nil {
		return input, nil
	}
	return enc.NewDecoder().Reader(input), nil
}
