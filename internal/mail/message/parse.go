package message

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
)

const (
	// SnippetLen is the maximum length of Message.Snippet in runes.
	SnippetLen = 200

	maxDepth    = 32    // multipart nesting kept by the parser
	maxParts    = 10000 // parts per letter
	maxWarnings = 100
)

// Parse parses a raw letter. It never fails and never panics: whatever can be read is
// returned, and problems are listed in Message.Warnings. Size is len(raw). Attachment data
// of parts without a transfer encoding shares memory with raw.
func Parse(raw []byte) (m *Message) {
	defer func() {
		if r := recover(); r != nil {
			// A parser bug must not cost a letter: the caller still stores raw, and sees why
			// the parsed fields are empty.
			m = &Message{Size: len(raw), Warnings: []Warning{{
				Code: WarnParserFailure, Detail: fmt.Sprint(r),
			}}}
		}
	}()
	return parse(raw)
}

type parser struct {
	m     *Message
	seen  map[Warning]struct{}
	parts int
	// hint is the first non-UTF-8 charset a text part declares, used for raw 8-bit headers.
	hint encoding.Encoding
}

func (p *parser) warn(code WarningCode, detail string) {
	w := Warning{Code: code, Detail: detail}
	if _, dup := p.seen[w]; dup || len(p.m.Warnings) >= maxWarnings {
		return
	}
	if p.seen == nil {
		p.seen = map[Warning]struct{}{}
	}
	p.seen[w] = struct{}{}
	p.m.Warnings = append(p.m.Warnings, w)
}

// parse is Parse without the recover, so tests and the fuzz target see real panics.
func parse(raw []byte) *Message {
	m := &Message{Size: len(raw)}
	p := &parser{m: m}
	h, body := readHeader(raw, p.warn)
	p.walk(h, body, 0, "")
	p.headers(h)

	if m.Text != "" {
		m.Snippet = snippet(m.Text)
	} else if m.HTML != "" {
		// Enough text for the snippet in any script: a rune is at most 4 bytes.
		m.Snippet = snippet(htmlToText(m.HTML, false, 4*SnippetLen+4))
	}
	return m
}

// headerText converts a raw header value to UTF-8, guessing the charset of raw 8-bit bytes.
func (p *parser) headerText(name string, v []byte) string {
	if utf8.Valid(v) {
		return string(v)
	}
	s, cs := guessDecode(v, p.hint)
	p.warn(WarnEightBitHeader, name+" has raw 8-bit bytes, read as "+cs)
	return s
}

// singletons may appear once in a letter (RFC 5322 3.6).
var singletons = []string{"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-Id", "In-Reply-To", "References", "Subject"}

// structured are fields whose grammar requires a value.
var structured = map[string]bool{
	"Date": true, "From": true, "Sender": true, "Reply-To": true, "To": true, "Cc": true,
	"Message-Id": true, "In-Reply-To": true, "References": true, "Mime-Version": true,
	"Content-Type": true, "Content-Transfer-Encoding": true, "Content-Disposition": true,
	"Content-Id": true,
}

func (p *parser) checkEmpty(h header, where string) {
	for _, f := range h {
		if len(f.value) == 0 && structured[f.name] {
			p.warn(WarnBadHeader, "empty "+f.name+where)
		}
	}
}

func (p *parser) headers(h header) {
	m := p.m
	m.Headers = make([]HeaderField, len(h))
	for i, f := range h {
		m.Headers[i] = HeaderField{Name: f.name, Value: p.headerText(f.name, f.value)}
	}
	p.checkEmpty(h, "")
	for _, name := range singletons {
		if h.count(name) > 1 {
			p.warn(WarnBadHeader, "repeated "+name)
		}
	}
	first := func(name string) (string, bool) {
		for _, f := range m.Headers {
			if f.Name == name {
				return f.Value, true
			}
		}
		return "", false
	}

	if v, ok := first("Message-Id"); ok {
		ids, good := parseMsgIDs(v)
		if !good || len(ids) != 1 {
			p.warn(WarnBadMessageID, "Message-ID "+quoteShort([]byte(v)))
		}
		if len(ids) > 0 {
			m.MessageID = ids[0]
		}
	} else {
		p.warn(WarnMissingHeader, "no Message-ID")
	}
	if v, ok := first("Subject"); ok {
		m.Subject = strings.ReplaceAll(decodeWords(v, p.warn), "\t", " ")
	}
	if v, ok := first("Date"); ok {
		if t, good := parseDate(v); good {
			m.Date = t
		} else {
			p.warn(WarnBadDate, "Date "+quoteShort([]byte(v)))
		}
	} else {
		p.warn(WarnMissingHeader, "no Date")
	}
	if _, ok := first("From"); !ok {
		p.warn(WarnMissingHeader, "no From")
	}
	for _, a := range []struct {
		name string
		dst  *[]Address
	}{
		{"From", &m.From}, {"Sender", &m.Sender}, {"Reply-To", &m.ReplyTo},
		{"To", &m.To}, {"Cc", &m.Cc}, {"Bcc", &m.Bcc},
	} {
		for _, f := range m.Headers {
			if f.Name != a.name {
				continue
			}
			list, good := parseAddressList(f.Value, p.warn)
			if !good {
				p.warn(WarnBadAddress, a.name+" "+quoteShort([]byte(f.Value)))
			}
			*a.dst = append(*a.dst, list...)
		}
	}
	for _, r := range []struct {
		name string
		dst  *[]string
	}{{"In-Reply-To", &m.InReplyTo}, {"References", &m.References}} {
		for _, f := range m.Headers {
			if f.Name != r.name {
				continue
			}
			ids, good := parseMsgIDs(f.Value)
			if !good {
				p.warn(WarnBadMessageID, r.name+" "+quoteShort([]byte(f.Value)))
			}
			*r.dst = append(*r.dst, ids...)
		}
	}
}

// walk visits one entity: a multipart is split and its parts visited, a leaf becomes the
// text body, the HTML body or an attachment.
func (p *parser) walk(h header, body []byte, depth int, parent string) {
	p.parts++
	if p.parts > maxParts {
		p.warn(WarnTooComplex, fmt.Sprintf("more than %d parts", maxParts))
		return
	}
	where := ""
	if depth > 0 || parent != "" {
		where = " in a part"
	}
	if depth > 0 {
		p.checkEmpty(h, where)
	}
	if h.count("Content-Type") > 1 {
		p.warn(WarnBadHeader, "repeated Content-Type"+where)
	}
	if h.count("Content-Transfer-Encoding") > 1 {
		p.warn(WarnBadHeader, "repeated Content-Transfer-Encoding"+where)
	}
	if h.count("Content-Disposition") > 1 {
		p.warn(WarnBadHeader, "repeated Content-Disposition"+where)
	}

	ct := params{value: "text/plain", p: map[string]string{}}
	if parent == "multipart/digest" {
		ct.value = "message/rfc822"
	}
	if v, ok := h.get("Content-Type"); ok && len(bytes.TrimSpace(v)) > 0 {
		parsed, good := parseParams(p.headerText("Content-Type", v), p.warn)
		if !good {
			p.warn(WarnBadContentType, "Content-Type "+quoteShort(v))
		}
		if i := strings.IndexByte(parsed.value, '/'); i <= 0 || i == len(parsed.value)-1 || strings.ContainsAny(parsed.value, " \t") {
			p.warn(WarnBadContentType, "Content-Type "+quoteShort(v)+" read as text/plain")
			parsed.value = "text/plain"
		}
		ct = parsed
	}

	if strings.HasPrefix(ct.value, "multipart/") {
		boundary := ct.p["boundary"]
		switch {
		case boundary == "":
			p.warn(WarnBadContentType, ct.value+" without boundary"+where)
			ct.value = "text/plain"
		case depth >= maxDepth:
			p.warn(WarnTooComplex, fmt.Sprintf("multipart nested deeper than %d", maxDepth))
			p.attachment(h, ct, body)
			return
		default:
			parts, closed := splitMultipart(body, boundary)
			if len(parts) == 0 {
				p.warn(WarnTruncatedMultipart, ct.value+" has no parts"+where)
			} else if !closed {
				p.warn(WarnTruncatedMultipart, ct.value+" has no closing boundary"+where)
			}
			for _, part := range parts {
				ph, pb := readHeader(part, p.warn)
				p.walk(ph, pb, depth+1, ct.value)
				if p.parts > maxParts {
					return
				}
			}
			return
		}
	}
	p.leaf(h, ct, body)
}

func (p *parser) disposition(h header) (disp string, prm params) {
	v, ok := h.get("Content-Disposition")
	if !ok || len(bytes.TrimSpace(v)) == 0 {
		return "", params{p: map[string]string{}}
	}
	prm, good := parseParams(p.headerText("Content-Disposition", v), p.warn)
	if !good {
		p.warn(WarnBadContentType, "Content-Disposition "+quoteShort(v))
	}
	switch prm.value {
	case "inline", "attachment":
		return prm.value, prm
	case "":
		return "", prm
	}
	// RFC 2183 says to treat unknown dispositions as attachment; that would hide the body of a
	// letter whose only part carries a broken value, so it is ignored instead.
	p.warn(WarnBadContentType, "Content-Disposition "+quoteShort(v))
	return "", prm
}

func (p *parser) leaf(h header, ct params, body []byte) {
	disp, dp := p.disposition(h)
	name := filename(dp.p["filename"], ct.p["name"], p.warn)
	data := body
	if !strings.HasPrefix(ct.value, "message/") {
		// Multipart and message parts must not be encoded (RFC 2045 6.4); like most readers,
		// take the encoding seriously only on leaves.
		data = p.decodeTransfer(h, body)
	} else if v, ok := h.get("Content-Transfer-Encoding"); ok {
		switch strings.ToLower(string(bytes.TrimSpace(v))) {
		case "base64", "quoted-printable":
			data = p.decodeTransfer(h, body)
		}
	}
	isText := ct.value == "text/plain" || ct.value == "text/html"
	if isText && disp != "attachment" && name == "" {
		cs, has := ct.p["charset"]
		if !has && ct.value == "text/html" {
			cs, has = metaCharset(data)
		}
		s := p.text(data, cs, has)
		if ct.value == "text/plain" {
			p.m.Text = join(p.m.Text, s)
		} else {
			p.m.HTML = join(p.m.HTML, s)
		}
		return
	}
	p.addAttachment(h, ct, disp, name, data)
}

// attachment keeps an entity undecoded (used past the nesting limit).
func (p *parser) attachment(h header, ct params, body []byte) {
	disp, dp := p.disposition(h)
	p.addAttachment(h, ct, disp, filename(dp.p["filename"], ct.p["name"], p.warn), body)
}

func (p *parser) addAttachment(h header, ct params, disp, name string, data []byte) {
	a := Attachment{
		Filename:    name,
		ContentType: ct.value,
		Size:        len(data),
		Data:        data,
	}
	if v, ok := h.get("Content-Id"); ok {
		if ids, _ := parseMsgIDs(p.headerText("Content-ID", v)); len(ids) > 0 {
			a.ContentID = ids[0]
		}
	}
	a.Inline = disp == "inline" || (disp == "" && a.ContentID != "")
	p.m.Attachments = append(p.m.Attachments, a)
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	if !strings.HasSuffix(a, "\n") {
		a += "\n"
	}
	return a + b
}

// filename picks and decodes an attachment's name: Content-Disposition filename, else
// Content-Type name; RFC 2047 words are decoded (not standard in parameters, but common).
func filename(fromDisp, fromType string, warn func(WarningCode, string)) string {
	n := fromDisp
	if strings.TrimSpace(n) == "" {
		n = fromType
	}
	return cleanFilename(decodeWords(n, warn))
}

// cleanFilename drops control characters, surrounding blanks and directories ("C:\tmp\a.txt"
// gives "a.txt"). Compose applies it too, so names survive a round trip.
func cleanFilename(s string) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s))
	if i := strings.LastIndexAny(s, `/\`); i >= 0 && i < len(s)-1 {
		s = strings.TrimSpace(s[i+1:])
	}
	return s
}

// text converts a text body to UTF-8 with "\n" line endings.
func (p *parser) text(data []byte, cs string, declared bool) string {
	var s string
	switch enc, known := lookupCharset(cs); {
	case !declared:
		if utf8.Valid(data) {
			s = string(data)
			break
		}
		var name string
		s, name = guessDecode(data, p.hint)
		p.warn(WarnBadText, "8-bit text without a charset, read as "+name)
	case !known:
		var name string
		s, name = guessDecode(data, p.hint)
		p.warn(WarnUnknownCharset, "charset "+quoteShort([]byte(cs))+" unknown, text read as "+name)
	default:
		if enc != nil && p.hint == nil {
			p.hint = enc
		}
		var valid bool
		s, valid = decodeCharset(enc, data)
		if !valid {
			if enc == nil {
				// Declared UTF-8 or ASCII but it is not: most often a legacy 8-bit charset.
				var name string
				s, name = guessDecode(data, p.hint)
				p.warn(WarnBadText, "text is not valid "+quoteShort([]byte(cs))+", read as "+name)
			} else {
				p.warn(WarnBadText, "text is not valid "+quoteShort([]byte(cs))+", invalid bytes replaced")
			}
		}
	}
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return s
}

func (p *parser) decodeTransfer(h header, body []byte) []byte {
	v, _ := h.get("Content-Transfer-Encoding")
	cte := strings.ToLower(strings.Trim(strings.TrimSpace(string(v)), `"';`))
	if i := strings.IndexByte(cte, ';'); i >= 0 {
		cte = strings.TrimSpace(cte[:i])
	}
	switch cte {
	case "", "7bit", "8bit", "binary":
		return body
	case "base64":
		return p.base64(body)
	case "quoted-printable":
		return p.qp(body)
	}
	p.warn(WarnBadEncoding, "unknown Content-Transfer-Encoding "+quoteShort(v))
	switch {
	case strings.Contains(cte, "quoted") || cte == "qp":
		return p.qp(body)
	case strings.Contains(cte, "base64") || strings.Contains(cte, "base-64"):
		return p.base64(body)
	case strings.Contains(cte, "uue") || strings.Contains(cte, "uuencode"):
		if d, ok := decodeUU(body); ok {
			return d
		}
	}
	return body
}

func (p *parser) base64(body []byte) []byte {
	d, clean := decodeBase64(body)
	if !clean {
		p.warn(WarnBadEncoding, "base64 body has invalid characters or padding")
	}
	return d
}

func (p *parser) qp(body []byte) []byte {
	d, clean := decodeQP(body)
	if !clean {
		p.warn(WarnBadEncoding, "quoted-printable body has invalid escapes")
	}
	return d
}

// splitMultipart returns the parts of a multipart body (without their delimiter lines and
// the line break before the next delimiter) and whether the closing delimiter was found.
// Parts share memory with body.
func splitMultipart(body []byte, boundary string) (parts [][]byte, closed bool) {
	delim := []byte("--" + boundary)
	cur := -1 // start of the current part
	pos := 0
	for pos < len(body) {
		i := bytes.Index(body[pos:], delim)
		if i < 0 {
			break
		}
		i += pos
		if i > 0 && body[i-1] != '\n' {
			pos = i + 1
			continue
		}
		after := body[i+len(delim):]
		isClose := bytes.HasPrefix(after, []byte("--"))
		rest := after
		if isClose {
			rest = after[2:]
		}
		eol := bytes.IndexByte(rest, '\n')
		tail := rest
		if eol >= 0 {
			tail = rest[:eol]
		}
		if len(bytes.Trim(tail, " \t\r")) != 0 {
			pos = i + 1 // a longer boundary that starts with ours, or text
			continue
		}
		if cur >= 0 {
			end := i
			if end > cur && body[end-1] == '\n' {
				end--
				if end > cur && body[end-1] == '\r' {
					end--
				}
			}
			parts = append(parts, body[cur:end])
		}
		if isClose {
			return parts, true
		}
		next := len(body)
		if eol >= 0 {
			next = len(body) - len(rest) + eol + 1
		}
		cur, pos = next, next
	}
	if cur >= 0 {
		parts = append(parts, body[cur:])
	}
	return parts, false
}

// decodeBase64 decodes a base64 body into one new buffer. Line breaks are expected; anything
// else outside the alphabet, and data after padding, is skipped and reported as unclean.
func decodeBase64(src []byte) (dst []byte, clean bool) {
	dst = make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	// The fast path handles well-formed bodies (the standard decoder skips \r and \n).
	if n, err := base64.StdEncoding.Decode(dst, src); err == nil {
		return dst[:n], true
	}
	dst = dst[:0]
	clean = true
	var q [4]byte
	n := 0
	flush := func() {
		switch n {
		case 1:
			clean = false
		case 2:
			dst = append(dst, q[0]<<2|q[1]>>4)
		case 3:
			dst = append(dst, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2)
		}
		n = 0
	}
	padded := false
	for _, c := range src {
		v := base64Value[c]
		if v == 0xff {
			switch c {
			case '\r', '\n':
			case '=':
				if n < 2 {
					clean = false
				}
				flush()
				padded = true
			case ' ', '\t':
				clean = false
			default:
				clean = false
			}
			continue
		}
		if padded {
			// Concatenated base64 streams: accept, but it is not one valid body.
			clean = false
			padded = false
		}
		q[n] = v
		n++
		if n == 4 {
			dst = append(dst, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3])
			n = 0
		}
	}
	if n != 0 && !padded {
		clean = false
	}
	flush()
	return dst, clean
}

// decodeQP decodes quoted-printable (RFC 2045 6.7) leniently: a "=" not followed by two hex
// digits or a line break is kept as it is.
func decodeQP(src []byte) (dst []byte, clean bool) {
	dst = make([]byte, 0, len(src))
	clean = true
	pos := 0
	for pos < len(src) {
		nl := bytes.IndexByte(src[pos:], '\n')
		var line []byte
		eol := false
		if nl < 0 {
			line = src[pos:]
			pos = len(src)
		} else {
			line = src[pos : pos+nl]
			pos += nl + 1
			eol = true
		}
		line = bytes.TrimRight(line, " \t\r") // transport padding and CR
		soft := false
		if len(line) > 0 && line[len(line)-1] == '=' {
			soft = true
			line = line[:len(line)-1]
		}
		for len(line) > 0 {
			i := bytes.IndexByte(line, '=')
			if i < 0 {
				dst = append(dst, line...)
				break
			}
			dst = append(dst, line[:i]...)
			if i+2 < len(line) && isHex(line[i+1]) && isHex(line[i+2]) {
				dst = append(dst, unhex(line[i+1])<<4|unhex(line[i+2]))
				line = line[i+3:]
				continue
			}
			clean = false
			dst = append(dst, '=')
			line = line[i+1:]
		}
		if eol && !soft {
			dst = append(dst, '\r', '\n')
		}
	}
	return dst, clean
}

// decodeUU decodes the first uuencoded block ("begin mode name" ... "end") in body.
func decodeUU(body []byte) ([]byte, bool) {
	pos := 0
	started := false
	var out []byte
	for pos < len(body) {
		line, next := nextLine(body, pos)
		pos = next
		if !started {
			if bytes.HasPrefix(line, []byte("begin ")) {
				started = true
			}
			continue
		}
		if bytes.Equal(bytes.TrimSpace(line), []byte("end")) {
			return out, true
		}
		if len(line) == 0 {
			continue
		}
		n := int((line[0] - ' ') & 63)
		chars := line[1:]
		var buf []byte
		for i := 0; i < len(chars) && len(buf) < n; i += 4 {
			var q [4]byte
			for j := 0; j < 4; j++ {
				if i+j < len(chars) {
					q[j] = (chars[i+j] - ' ') & 63
				}
			}
			buf = append(buf, q[0]<<2|q[1]>>4, q[1]<<4|q[2]>>2, q[2]<<6|q[3])
		}
		if len(buf) > n {
			buf = buf[:n]
		}
		out = append(out, buf...)
	}
	return out, started && len(out) > 0
}

// snippet collapses white space and keeps the first SnippetLen runes.
func snippet(s string) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0' || r == '\f' || r == '\v' {
			space = b.Len() > 0
			continue
		}
		if space {
			if n+1 >= SnippetLen {
				break
			}
			b.WriteByte(' ')
			n++
			space = false
		}
		b.WriteRune(r)
		n++
		if n >= SnippetLen {
			break
		}
	}
	return b.String()
}

var metaCharsetRe = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_.:-]+)`)

// metaCharset finds the charset an HTML body declares in a <meta> tag near its start.
func metaCharset(b []byte) (string, bool) {
	if len(b) > 4096 {
		b = b[:4096]
	}
	if m := metaCharsetRe.FindSubmatch(b); m != nil {
		return string(m[1]), true
	}
	return "", false
}
