package dav

// Content lines: the shared layer under the vCard and iCalendar codecs.
//
// Both formats are a sequence of content lines (NAME;PARAM=V:VALUE, folded
// at 75 octets) nested by BEGIN/END. The codecs never rebuild an object:
// parse keeps each logical line's exact bytes (its folding, its line end,
// even invalid UTF-8), an editor records which lines are replaced, removed
// or inserted, and bytes() writes every other line back as it came. A line
// the codec writes itself is CRLF-terminated and folded at 75 octets on a
// UTF-8 boundary.

import (
	"bytes"
	"fmt"
	"io"
	"mime/quotedprintable"
	"slices"
	"strings"
	"unicode/utf8"
)

// cline is one logical (unfolded) content line.
type cline struct {
	raw    []byte // as read: folded, with its line end
	group  string // vCard group ("item1" of item1.EMAIL), as written
	name   string // upper-cased; "" for a blank or unreadable line
	params []cparam
	value  string // unfolded, still escaped
	bad    bool   // not a content line: no name or no colon
}

// cparam is one parameter as written. A vCard 2.1 bare type (TEL;WORK:)
// has the name "" and its word as the only value.
type cparam struct {
	name   string   // upper-cased
	as     string   // the name as written ("type"), "" for a new one
	raw    string   // everything after "NAME=" (or the bare word), as written
	values []string // unquoted, RFC 6868 ^-escapes resolved
}

// component is a BEGIN/END block; indices point into document.lines.
type component struct {
	name       string
	begin, end int
	props      []int // property lines directly inside, in order
	children   []*component
}

// document is a parsed object.
type document struct {
	bom        []byte // a leading byte order mark, written back
	lines      []*cline
	root       *component
	invalid    bool // the object held invalid UTF-8
	extra      bool // content after the root's END (another object)
	unreadable int  // lines inside the root that are not content lines
}

// parseDocument splits raw into content lines and nests them. root is the
// outermost component expected ("VCARD", "VCALENDAR"); prefix names the
// format in errors.
func parseDocument(raw []byte, root, prefix string) (*document, error) {
	d := &document{}
	if bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		d.bom, raw = raw[:3], raw[3:]
	}
	d.invalid = !utf8.Valid(raw)
	var cur []byte  // raw bytes of the logical line being built
	var text []byte // its unfolded text
	flush := func() {
		if cur != nil {
			d.lines = append(d.lines, parseLine(cur, string(text)))
		}
		cur, text = nil, nil
	}
	for len(raw) > 0 {
		n := bytes.IndexByte(raw, '\n')
		if n < 0 {
			n = len(raw) - 1
		}
		phys := raw[:n+1]
		raw = raw[n+1:]
		body := bytes.TrimRight(phys, "\r\n")
		switch {
		case cur != nil && len(body) > 0 && (body[0] == ' ' || body[0] == '\t'):
			cur = append(cur, phys...)
			text = append(text, body[1:]...)
		case cur != nil && qpContinues(text):
			// vCard 2.1 quoted-printable soft line break: "=" ends the line
			// and the next one continues without indentation.
			cur = append(cur, phys...)
			text = append(text[:len(text)-1], body...)
		default:
			flush()
			cur = append([]byte(nil), phys...)
			text = append([]byte(nil), body...)
		}
	}
	flush()

	var stack []*component
	for i, l := range d.lines {
		switch {
		case l.name == "BEGIN" && !l.bad:
			c := &component{name: strings.ToUpper(strings.TrimSpace(l.value)), begin: i, end: -1}
			if len(stack) == 0 {
				if d.root != nil {
					d.extra = true
					return d, nil
				}
				if c.name != root {
					return nil, fmt.Errorf("%s: object starts with BEGIN:%q, not BEGIN:%s", prefix, truncate(c.name, 20), root)
				}
				d.root = c
			} else {
				top := stack[len(stack)-1]
				top.children = append(top.children, c)
			}
			stack = append(stack, c)
		case l.name == "END" && !l.bad:
			name := strings.ToUpper(strings.TrimSpace(l.value))
			if len(stack) == 0 {
				return nil, fmt.Errorf("%s: END:%q without BEGIN", prefix, truncate(name, 20))
			}
			top := stack[len(stack)-1]
			if top.name != name {
				return nil, fmt.Errorf("%s: END:%q closes BEGIN:%q", prefix, truncate(name, 20), truncate(top.name, 20))
			}
			top.end = i
			stack = stack[:len(stack)-1]
		case len(stack) == 0:
			if l.name != "" || l.bad {
				if d.root != nil {
					d.extra = true
					continue
				}
				return nil, fmt.Errorf("%s: no BEGIN:%s", prefix, root)
			}
		case l.bad:
			d.unreadable++
		case l.name != "":
			top := stack[len(stack)-1]
			top.props = append(top.props, i)
		}
	}
	if d.root == nil {
		return nil, fmt.Errorf("%s: no BEGIN:%s", prefix, root)
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("%s: BEGIN:%q without END", prefix, truncate(stack[len(stack)-1].name, 20))
	}
	return d, nil
}

func qpContinues(text []byte) bool {
	if len(text) == 0 || text[len(text)-1] != '=' {
		return false
	}
	colon := bytes.IndexByte(text, ':')
	return colon > 0 && bytes.Contains(bytes.ToUpper(text[:colon]), []byte("QUOTED-PRINTABLE"))
}

// parseLine reads one unfolded line. Whatever cannot be read is marked bad
// and kept as bytes.
func parseLine(raw []byte, s string) *cline {
	l := &cline{raw: raw}
	if strings.TrimSpace(s) == "" {
		return l
	}
	i := 0
	for i < len(s) && s[i] != ';' && s[i] != ':' {
		i++
	}
	name := strings.TrimSpace(s[:i])
	if dot := strings.LastIndexByte(name, '.'); dot >= 0 {
		l.group, name = name[:dot], name[dot+1:]
	}
	if !validName(name) || i == len(s) {
		l.bad = true
		return l
	}
	l.name = strings.ToUpper(name)
	for i < len(s) && s[i] == ';' {
		i++
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ';' && s[i] != ':' {
			i++
		}
		pname := strings.TrimSpace(s[start:i])
		if i < len(s) && s[i] == '=' && !validName(pname) {
			l.bad = true
			return l
		}
		if i < len(s) && s[i] == '=' {
			i++
			vstart := i
			var values []string
			for {
				if i < len(s) && s[i] == '"' {
					end := strings.IndexByte(s[i+1:], '"')
					if end < 0 {
						l.bad = true
						return l
					}
					values = append(values, caretDecode(s[i+1:i+1+end]))
					i += end + 2
				} else {
					vs := i
					for i < len(s) && s[i] != ',' && s[i] != ';' && s[i] != ':' {
						i++
					}
					values = append(values, caretDecode(s[vs:i]))
				}
				if i < len(s) && s[i] == ',' {
					i++
					continue
				}
				break
			}
			l.params = append(l.params, cparam{name: strings.ToUpper(pname), as: pname, raw: s[vstart:i], values: values})
		} else if pname != "" {
			l.params = append(l.params, cparam{raw: pname, values: []string{pname}})
		}
	}
	if i >= len(s) || s[i] != ':' {
		l.bad, l.name = true, ""
		return l
	}
	l.value = s[i+1:]
	return l
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// caretDecode resolves RFC 6868 parameter escapes.
func caretDecode(s string) string {
	if !strings.Contains(s, "^") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '^' && i+1 < len(s) {
			switch s[i+1] {
			case 'n', 'N':
				b.WriteByte('\n')
				i++
				continue
			case '^':
				b.WriteByte('^')
				i++
				continue
			case '\'':
				b.WriteByte('"')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// param is the first value of the named parameter.
func (l *cline) param(name string) string {
	for _, p := range l.params {
		if p.name == name && len(p.values) > 0 {
			return p.values[0]
		}
	}
	return ""
}

// types are the lower-cased TYPE values, over repeated TYPE parameters,
// comma lists and vCard 2.1 bare words.
func (l *cline) types() []string {
	var out []string
	for _, p := range l.params {
		if p.name == "TYPE" || p.name == "" {
			for _, v := range p.values {
				for _, t := range strings.Split(v, ",") {
					if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
						out = append(out, t)
					}
				}
			}
		}
	}
	return out
}

// text is the value as text: quoted-printable and TEXT escapes resolved,
// line ends normalized to \n, invalid UTF-8 replaced.
func (l *cline) text() string {
	v := l.value
	if strings.EqualFold(l.param("ENCODING"), "QUOTED-PRINTABLE") {
		if b, err := readQP(v); err == nil {
			v = b
		}
	}
	return validUTF8(unescapeText(v))
}

// components splits a structured value (N, ADR) on unescaped semicolons and
// unescapes each part.
func (l *cline) components() []string {
	v := l.value
	if strings.EqualFold(l.param("ENCODING"), "QUOTED-PRINTABLE") {
		if b, err := readQP(v); err == nil {
			v = b
		}
	}
	var out []string
	for _, p := range splitUnescaped(v, ';') {
		out = append(out, validUTF8(unescapeText(p)))
	}
	return out
}

func readQP(v string) (string, error) {
	b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(v)))
	return string(b), err
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// splitUnescaped splits s on sep where sep is not backslash-escaped; the
// parts keep their escapes.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescapeText resolves the TEXT escapes of RFC 5545 §3.3.11 and RFC 6350
// §3.4. An unknown escape keeps its backslash: producers that do not
// escape at all (C:\temp) lose nothing.
func unescapeText(s string) string {
	if !strings.ContainsAny(s, "\\\r") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' {
			if i+1 < len(s) && s[i+1] == '\n' {
				continue
			}
			b.WriteByte('\n')
			continue
		}
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case 'n', 'N':
			b.WriteByte('\n')
		case '\\', ';', ',', ':':
			b.WriteByte(s[i+1])
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i+1])
		}
		i++
	}
	return b.String()
}

var textEscaper = strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)

// escapeText is unescapeText's inverse.
func escapeText(s string) string { return textEscaper.Replace(s) }

// cprop is a content line to write.
type cprop struct {
	group  string
	name   string
	params []cparam
	value  string // already in the value's syntax (escaped text, a date)
}

// newParam builds a parameter, quoting and caret-escaping as needed.
func newParam(name string, values ...string) cparam {
	raw := make([]string, len(values))
	for i, v := range values {
		raw[i] = quoteParam(v)
	}
	return cparam{name: name, raw: strings.Join(raw, ","), values: values}
}

func quoteParam(v string) string {
	if strings.ContainsAny(v, "^\"\n\r") {
		v = strings.NewReplacer("^", "^^", "\"", "^'", "\r\n", "^n", "\n", "^n", "\r", "^n").Replace(v)
	}
	if strings.ContainsAny(v, ":;,") {
		return `"` + v + `"`
	}
	return v
}

// String renders p folded, CRLF-terminated.
func (p cprop) String() string {
	var b strings.Builder
	if p.group != "" {
		b.WriteString(p.group + ".")
	}
	b.WriteString(p.name)
	for _, pa := range p.params {
		b.WriteByte(';')
		switch {
		case pa.as != "":
			b.WriteString(pa.as + "=")
		case pa.name != "":
			b.WriteString(pa.name + "=")
		}
		b.WriteString(pa.raw)
	}
	b.WriteByte(':')
	b.WriteString(p.value)
	return fold(b.String())
}

// fold breaks s into lines of at most 75 octets (the continuation's
// leading space counts), never inside a UTF-8 sequence.
func fold(s string) string {
	var b strings.Builder
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if cut == 0 {
			cut = limit
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74
	}
	b.WriteString(s)
	b.WriteString("\r\n")
	return b.String()
}

// rewrite renders l with a new value, keeping its group and the parameters
// keep accepts, then adding add.
func (l *cline) rewrite(value string, keep func(cparam) bool, add ...cparam) string {
	p := cprop{group: l.group, name: l.name, value: value}
	for _, pa := range l.params {
		if keep == nil || keep(pa) {
			p.params = append(p.params, pa)
		}
	}
	p.params = append(p.params, add...)
	return p.String()
}

// edit renders l with a new value and its parameters changed in place: a
// parameter in set takes the place of the first of its name (or comes
// last), further ones of its name and those named in drop go.
func (l *cline) edit(value string, set []cparam, drop ...string) string {
	p := cprop{group: l.group, name: l.name, value: value}
	done := map[string]bool{}
	for _, pa := range l.params {
		if slices.Contains(drop, pa.name) || done[pa.name] {
			continue
		}
		replaced := false
		for _, s := range set {
			if s.name == pa.name && pa.name != "" {
				s.as = pa.as
				p.params = append(p.params, s)
				done[pa.name], replaced = true, true
				break
			}
		}
		if !replaced {
			p.params = append(p.params, pa)
		}
	}
	for _, s := range set {
		if !done[s.name] {
			p.params = append(p.params, s)
		}
	}
	return p.String()
}

// editor records changes to a document and writes it back.
type editor struct {
	d       *document
	removed map[int]bool
	repl    map[int]string
	before  map[int][]string
}

func newEditor(d *document) *editor {
	return &editor{d: d, removed: map[int]bool{}, repl: map[int]string{}, before: map[int][]string{}}
}

func (e *editor) replace(i int, s string) { e.repl[i] = s; delete(e.removed, i) }
func (e *editor) remove(i int)            { e.removed[i] = true; delete(e.repl, i) }
func (e *editor) insertBefore(i int, s ...string) {
	e.before[i] = append(e.before[i], s...)
}

// removeComponent drops c with everything inside it.
func (e *editor) removeComponent(c *component) {
	for i := c.begin; i <= c.end; i++ {
		e.remove(i)
	}
}

// gone reports whether line i no longer stands as read.
func (e *editor) gone(i int) bool {
	_, r := e.repl[i]
	return r || e.removed[i]
}

// propEnd is where a new property of c goes: after its last property,
// before its first sub-component (RFC 5545 puts properties first).
func propEnd(c *component) int {
	if len(c.children) > 0 {
		return c.children[0].begin
	}
	return c.end
}

func (e *editor) changed() bool { return len(e.removed)+len(e.repl)+len(e.before) > 0 }

func (e *editor) bytes() []byte {
	var b bytes.Buffer
	b.Write(e.d.bom)
	for i, l := range e.d.lines {
		for _, s := range e.before[i] {
			b.WriteString(s)
		}
		switch s, ok := e.repl[i]; {
		case ok:
			b.WriteString(s)
		case e.removed[i]:
		default:
			b.Write(l.raw)
			if i == len(e.d.lines)-1 && !bytes.HasSuffix(l.raw, []byte("\n")) && len(e.before[len(e.d.lines)]) > 0 {
				b.WriteString("\r\n")
			}
		}
	}
	for _, s := range e.before[len(e.d.lines)] {
		b.WriteString(s)
	}
	return b.Bytes()
}

// lines of c with the given name.
func (d *document) find(c *component, name string) []int {
	var out []int
	for _, i := range c.props {
		if d.lines[i].name == name {
			out = append(out, i)
		}
	}
	return out
}

// first line of c with the given name, or nil.
func (d *document) first(c *component, name string) *cline {
	for _, i := range c.props {
		if d.lines[i].name == name {
			return d.lines[i]
		}
	}
	return nil
}

// child components of c with the given name.
func childrenNamed(c *component, name string) []*component {
	var out []*component
	for _, ch := range c.children {
		if ch.name == name {
			out = append(out, ch)
		}
	}
	return out
}

// setText makes the text property name of c hold v: the first instance is
// rewritten (keeping its parameters but the ones drop names), further ones
// removed, or a new one inserted; v == "" removes them all.
func (e *editor) setText(c *component, name, v string, drop ...string) {
	idx := e.d.find(c, name)
	if v == "" {
		for _, i := range idx {
			e.remove(i)
		}
		return
	}
	if len(idx) == 0 {
		e.insertBefore(propEnd(c), cprop{name: name, value: escapeText(v)}.String())
		return
	}
	e.replace(idx[0], e.d.lines[idx[0]].rewrite(escapeText(v), func(p cparam) bool {
		// The old value's encoding and charset no longer apply.
		if p.name == "ENCODING" || p.name == "CHARSET" {
			return false
		}
		for _, n := range drop {
			if p.name == n {
				return false
			}
		}
		return true
	}))
	for _, i := range idx[1:] {
		e.remove(i)
	}
}

// setRaw is setText for a value written as is (an RRULE, a number).
func (e *editor) setRaw(c *component, name, v string) {
	idx := e.d.find(c, name)
	if v == "" {
		for _, i := range idx {
			e.remove(i)
		}
		return
	}
	if len(idx) == 0 {
		e.insertBefore(propEnd(c), cprop{name: name, value: v}.String())
		return
	}
	e.replace(idx[0], e.d.lines[idx[0]].rewrite(v, nil))
	for _, i := range idx[1:] {
		e.remove(i)
	}
}

// copyBytes returns raw unchanged in a fresh slice.
func copyBytes(raw []byte) []byte { return append([]byte(nil), raw...) }
