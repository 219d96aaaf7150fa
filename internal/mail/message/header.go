package message

import (
	"bytes"
	"encoding/base64"
	"net/textproto"
	"strings"
	"unicode/utf8"
)

// field is one header field: the canonical name and the unfolded, trimmed raw value.
type field struct {
	name  string
	value []byte
}

type header []field

// get returns the first value of the named (canonical) field.
func (h header) get(name string) ([]byte, bool) {
	for _, f := range h {
		if f.name == name {
			return f.value, true
		}
	}
	return nil, false
}

func (h header) count(name string) int {
	n := 0
	for _, f := range h {
		if f.name == name {
			n++
		}
	}
	return n
}

// readHeader splits b into its header fields and the body. It never fails: a line that is
// not a header field is skipped when header fields follow it, and otherwise taken as the start
// of a body that lacked its blank separator line.
func readHeader(b []byte, warn func(WarningCode, string)) (header, []byte) {
	h := make(header, 0, 16)
	pos := 0
	cont := false // the last field may take continuation lines
	owned := -1   // index of the field whose value was copied out of b
	for pos < len(b) {
		line, next := nextLine(b, pos)
		if len(line) == 0 {
			return h.trim(), b[next:]
		}
		switch {
		case line[0] == ' ' || line[0] == '\t':
			if !cont {
				if pos == 0 {
					warn(WarnBadHeader, "header starts with a continuation line")
				}
				break
			}
			last := &h[len(h)-1]
			if len(bytes.Trim(line, " \t")) == 0 {
				warn(WarnBadHeader, "white-space-only line in "+last.name+" (obsolete folding)")
			}
			// Unfolding (RFC 5322 2.2.3): drop the line break, keep the white space. The first
			// continuation copies the value so raw stays untouched; later ones append.
			if owned != len(h)-1 {
				v := make([]byte, 0, 2*(len(last.value)+len(line)))
				last.value = append(v, last.value...)
				owned = len(h) - 1
			}
			last.value = append(last.value, line...)
		default:
			if name, value, ok := splitField(line); ok {
				h = append(h, field{name: name, value: value})
				cont = true
				break
			}
			if pos == 0 && bytes.HasPrefix(line, []byte("From ")) {
				cont = false // mbox separator line
				break
			}
			if next < len(b) && looksLikeField(b, next) {
				// A stray line; continuation lines after it still belong to the last field.
				warn(WarnBadHeader, "skipped malformed header line "+quoteShort(line))
				break
			}
			warn(WarnBadHeader, "header not followed by a blank line")
			return h.trim(), b[pos:]
		}
		pos = next
	}
	return h.trim(), nil
}

func (h header) trim() header {
	for i := range h {
		h[i].value = bytes.TrimSpace(h[i].value)
	}
	return h
}

// nextLine returns the line at pos without its line ending and the offset after it.
func nextLine(b []byte, pos int) (line []byte, next int) {
	i := bytes.IndexByte(b[pos:], '\n')
	if i < 0 {
		line, next = b[pos:], len(b)
	} else {
		line, next = b[pos:pos+i], pos+i+1
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, next
}

func looksLikeField(b []byte, pos int) bool {
	line, _ := nextLine(b, pos)
	if len(line) == 0 {
		return true // the blank line ending the header
	}
	if line[0] == ' ' || line[0] == '\t' {
		return true
	}
	_, _, ok := splitField(line)
	return ok
}

func splitField(line []byte) (name string, value []byte, ok bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", nil, false
	}
	// Trailing spaces before the colon occur in the wild (obs-optional).
	k := bytes.TrimRight(line[:i], " \t")
	if len(k) == 0 {
		return "", nil, false
	}
	for _, c := range k {
		if c < 33 || c > 126 {
			return "", nil, false
		}
	}
	return textproto.CanonicalMIMEHeaderKey(string(k)), bytes.TrimLeft(line[i+1:], " \t"), true
}

func quoteShort(b []byte) string {
	const max = 60
	s := string(b)
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strings.ToValidUTF8(strings.Map(func(r rune) rune {
		if r < 32 {
			return ' '
		}
		return r
	}, s), "?")
}

// decodeWords decodes RFC 2047 encoded words in s (already UTF-8). Adjacent words of one
// charset are joined before decoding, so characters split across words survive. Words in an
// unknown charset or with a bad encoding are kept as they are, with a warning.
func decodeWords(s string, warn func(WarningCode, string)) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	var out strings.Builder
	out.Grow(len(s))
	var pending []byte // decoded bytes of consecutive words in pendingCS
	pendingCS := ""
	flush := func() {
		if pendingCS == "" {
			return
		}
		enc, ok := lookupCharset(pendingCS)
		if !ok {
			warn(WarnUnknownCharset, "encoded word in charset "+quoteShort([]byte(pendingCS)))
			d, _ := guessDecode(pending, nil)
			out.WriteString(d)
		} else {
			d, valid := decodeCharset(enc, pending)
			if !valid {
				warn(WarnBadText, "encoded word not valid "+quoteShort([]byte(pendingCS)))
			}
			out.WriteString(d)
		}
		pending, pendingCS = pending[:0], ""
	}
	rest := s
	gap := "" // white space seen since the last encoded word
	afterWord := false
	for len(rest) > 0 {
		i := strings.Index(rest, "=?")
		if i < 0 {
			break
		}
		cs, enc, text, n, ok := parseWord(rest[i:])
		if !ok {
			flush()
			out.WriteString(gap)
			gap, afterWord = "", false
			out.WriteString(rest[:i+2])
			rest = rest[i+2:]
			continue
		}
		before := rest[:i]
		if afterWord && strings.TrimSpace(before) == "" {
			// White space between two encoded words is not part of the text (RFC 2047 6.2).
		} else {
			flush()
			out.WriteString(gap)
			out.WriteString(before)
		}
		gap = ""
		decoded, good := decodeWordText(enc, text)
		if !good {
			warn(WarnBadEncoding, "malformed encoded word "+quoteShort([]byte(rest[i:i+n])))
		}
		if !strings.EqualFold(cs, pendingCS) {
			flush()
			pendingCS = cs
		}
		pending = append(pending, decoded...)
		rest = rest[i+n:]
		afterWord = true
		// Keep the white space that follows, in case no encoded word comes next.
		j := 0
		for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t') {
			j++
		}
		gap, rest = rest[:j], rest[j:]
	}
	flush()
	out.WriteString(gap)
	out.WriteString(rest)
	return out.String()
}

const maxWordLen = 4096

// parseWord parses "=?charset?enc?text?=" at the start of s; n is its length.
func parseWord(s string) (charset string, enc byte, text string, n int, ok bool) {
	if !strings.HasPrefix(s, "=?") {
		return
	}
	p := s[2:]
	q1 := strings.IndexByte(p[:min(len(p), 80)], '?')
	if q1 <= 0 || q1+2 >= len(p) || p[q1+2] != '?' {
		return
	}
	charset = p[:q1]
	if strings.ContainsAny(charset, " \t()<>@,;:\"/[]=") {
		return "", 0, "", 0, false
	}
	enc = p[q1+1] | 0x20
	if enc != 'b' && enc != 'q' {
		return "", 0, "", 0, false
	}
	body := p[q1+3:]
	// Bound the search: RFC 2047 words are at most 75 octets; longer ones occur, but an
	// unbounded search makes a header full of "=?" quadratic.
	if len(body) > maxWordLen {
		body = body[:maxWordLen]
	}
	end := strings.Index(body, "?=")
	if end < 0 {
		return "", 0, "", 0, false
	}
	text = body[:end]
	if strings.ContainsAny(text, " \t") {
		// Encoded words contain no white space; seen in the wild inside Q words all the same,
		// so accept it rather than leave the word undecoded.
		if enc == 'b' {
			text = strings.Map(func(r rune) rune {
				if r == ' ' || r == '\t' {
					return -1
				}
				return r
			}, text)
		}
	}
	return charset, enc, text, 2 + q1 + 3 + end + 2, true
}

// decodeWordText decodes the text of one encoded word; good is false when it had to be
// repaired (bad padding, stray characters).
func decodeWordText(enc byte, text string) ([]byte, bool) {
	if enc == 'q' {
		out := make([]byte, 0, len(text))
		good := true
		for i := 0; i < len(text); i++ {
			c := text[i]
			switch {
			case c == '_':
				out = append(out, ' ')
			case c == '=' && i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]):
				out = append(out, unhex(text[i+1])<<4|unhex(text[i+2]))
				i += 2
			case c == '=':
				good = false
				out = append(out, c)
			default:
				out = append(out, c)
			}
		}
		return out, good
	}
	if b, err := base64.StdEncoding.DecodeString(text); err == nil {
		return b, true
	}
	clean := strings.TrimRight(strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && base64Value[r] != 0xff {
			return r
		}
		return -1
	}, text), "=")
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	b, _ := base64.RawStdEncoding.DecodeString(clean)
	return b, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// base64Value maps a byte to its base64 value, 0xff for bytes outside the alphabet.
var base64Value = func() [256]byte {
	var t [256]byte
	for i := range t {
		t[i] = 0xff
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = byte(i)
	}
	return t
}()

// params holds a parsed Content-Type or Content-Disposition: the lower-cased value and its
// parameters (names lower-cased, RFC 2231 continuations joined and decoded).
type params struct {
	value string
	p     map[string]string
}

// parseParams parses `value; a=b; c="d"` tolerantly: it never fails, ok is false when
// something had to be skipped. RFC 2231 parameters (name*=charset'lang'pct, name*0=,
// name*1*=) are joined and decoded; an unknown charset there falls back to a guess.
func parseParams(s string, warn func(WarningCode, string)) (params, bool) {
	ok := true
	parts := splitParams(s)
	res := params{value: strings.ToLower(strings.TrimSpace(parts[0]))}
	type seg struct {
		text string
		ext  bool
	}
	var plain map[string]string
	var cont map[string]map[int]seg
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		eq := strings.IndexByte(p, '=')
		if eq <= 0 {
			ok = false
			continue
		}
		name := strings.ToLower(strings.TrimSpace(p[:eq]))
		val := strings.TrimSpace(p[eq+1:])
		if len(val) >= 2 && val[0] == '"' {
			val = unquote(val)
		}
		if star := strings.IndexByte(name, '*'); star >= 0 {
			base, suffix := name[:star], name[star+1:]
			ext := strings.HasSuffix(suffix, "*") || suffix == ""
			suffix = strings.TrimSuffix(suffix, "*")
			idx := 0
			if suffix != "" {
				n, good := atoi(suffix)
				if !good {
					ok = false
					continue
				}
				idx = n
			}
			if cont == nil {
				cont = map[string]map[int]seg{}
			}
			if cont[base] == nil {
				cont[base] = map[int]seg{}
			}
			cont[base][idx] = seg{val, ext}
			continue
		}
		if plain == nil {
			plain = map[string]string{}
		}
		if _, dup := plain[name]; dup {
			continue // first one wins
		}
		plain[name] = val
	}
	res.p = plain
	if res.p == nil {
		res.p = map[string]string{}
	}
	for base, segs := range cont {
		var raw []byte
		charset := ""
		for i := 0; i < len(segs); i++ {
			sg, found := segs[i]
			if !found {
				ok = false
				break
			}
			t := sg.text
			if sg.ext {
				if i == 0 {
					// charset'language'value
					if q1 := strings.IndexByte(t, '\''); q1 >= 0 {
						if q2 := strings.IndexByte(t[q1+1:], '\''); q2 >= 0 {
							charset = t[:q1]
							t = t[q1+1+q2+1:]
						}
					}
				}
				raw = append(raw, percentDecode(t)...)
			} else {
				raw = append(raw, t...)
			}
		}
		var v string
		if enc, known := lookupCharset(charset); known {
			var valid bool
			v, valid = decodeCharset(enc, raw)
			switch {
			case !valid && charset == "":
				v, _ = guessDecode(raw, nil)
			case !valid:
				warn(WarnBadText, "parameter "+base+" is not valid "+quoteShort([]byte(charset)))
			}
		} else {
			warn(WarnUnknownCharset, "parameter "+base+" in charset "+quoteShort([]byte(charset)))
			v, _ = guessDecode(raw, nil)
		}
		res.p[base] = v // RFC 2231 form wins over a plain one
	}
	return res, ok
}

// splitParams splits at semicolons outside quoted strings.
func splitParams(s string) []string {
	var out []string
	inQuote, esc := false, false
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
		case c == '\\' && inQuote:
			esc = true
		case c == '"':
			inQuote = !inQuote
		case c == ';' && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func unquote(s string) string {
	s = s[1:]
	if strings.HasSuffix(s, `"`) {
		s = s[:len(s)-1]
	}
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		// Only \" and \\ are taken as escapes: Windows paths ("C:\tmp\a.txt") arrive
		// unescaped from some clients.
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func percentDecode(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}

func atoi(s string) (int, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
