package message

import (
	"mime"
	"net/mail"
	"strings"
	"time"
)

// addrParser decodes RFC 2047 display names in any charset we know.
var addrParser = mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: charsetReader}}

// parseAddressList parses an address list, keeping every entry that parses. The ok result is
// false when some entry was dropped or repaired.
func parseAddressList(s string, warn func(WarningCode, string)) ([]Address, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	if list, err := addrParser.ParseList(s); err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			out = appendAddr(out, a.Name, a.Address, warn)
		}
		// Empty list members (", a@b") are obsolete syntax that the parser accepts.
		return out, !hasNullMembers(s)
	}
	// The strict parser rejects the whole list for one bad entry: go entry by entry.
	var out []Address
	ok := true
	for _, item := range splitAddressList(s) {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if a, err := addrParser.Parse(item); err == nil {
			out = appendAddr(out, a.Name, a.Address, warn)
			continue
		}
		ok = false
		// Comments inside the addr-spec (obsolete syntax) defeat the strict parser.
		item = stripComments(item)
		if a, err := addrParser.Parse(item); err == nil {
			out = appendAddr(out, a.Name, a.Address, warn)
			continue
		}
		name, email, good := salvageAddress(item)
		if good {
			out = appendAddr(out, name, email, warn)
		}
	}
	return out, ok
}

func appendAddr(out []Address, name, email string, warn func(WarningCode, string)) []Address {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return out
	}
	name = strings.TrimSpace(name)
	if strings.Contains(name, "=?") {
		// Encoded words inside a quoted display name: not allowed, common all the same.
		name = decodeWords(name, warn)
	}
	if strings.EqualFold(name, email) {
		name = ""
	}
	return append(out, Address{Name: name, Email: email})
}

// splitAddressList splits at commas outside quotes, comments and angle brackets; a group
// ("name: a, b;") gives its members.
func splitAddressList(s string) []string {
	var out []string
	inQuote, esc := false, false
	depth := 0
	angle := -1 // offset of an open '<'
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
		case c == '\\':
			esc = true
		case inQuote:
			if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			angle = i
		case c == '>':
			angle = -1
		case angle >= 0 && (c != ',' || strings.HasPrefix(s[angle+1:], "@")):
			// Inside <>, a comma belongs only to an obsolete source route (<@a,@b:u@c>);
			// otherwise the bracket was never closed and the comma ends the entry.
		case c == ':':
			// Group display name: drop it. A colon outside angle brackets is not part of an
			// address otherwise (route syntax lives inside <>).
			start = i + 1
		case c == ',' || c == ';':
			out = append(out, s[start:i])
			start, angle = i+1, -1
		}
	}
	return append(out, s[start:])
}

// salvageAddress pulls an address out of an entry the strict parser rejected:
// "<addr>" anywhere in it, or a bare token with an @.
func salvageAddress(item string) (name, email string, ok bool) {
	if lt := strings.LastIndexByte(item, '<'); lt >= 0 {
		rest := item[lt+1:]
		if gt := strings.IndexByte(rest, '>'); gt >= 0 {
			rest = rest[:gt]
		}
		email = cleanEmail(strings.Join(strings.Fields(rest), ""))
		if validEmail(email) {
			name = strings.TrimSpace(item[:lt])
			if len(name) >= 2 && name[0] == '"' {
				name = unquote(name)
			}
			return name, email, true
		}
	}
	for _, tok := range strings.FieldsFunc(item, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '<' || r == '>' || r == '"' || r == '(' || r == ')'
	}) {
		if e := cleanEmail(tok); validEmail(e) {
			return "", e, true
		}
	}
	return "", "", false
}

func cleanEmail(s string) string {
	s = strings.TrimSpace(s)
	// A source route ("@relay:user@host") keeps only the mailbox.
	if strings.HasPrefix(s, "@") {
		if i := strings.IndexByte(s, ':'); i >= 0 {
			s = s[i+1:]
		}
	}
	return strings.Trim(s, " \t'\".,;:")
}

// validEmail is a loose check: one local part, one @, a domain without blanks.
func validEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	return !strings.ContainsAny(s, " \t\r\n<>(),;:\"") && !strings.Contains(s[at+1:], "@")
}

// parseMsgIDs extracts message ids ("<a@b>") from s, angle brackets stripped. Ids without
// brackets or with white space inside are repaired; ok is false then.
func parseMsgIDs(s string) (ids []string, ok bool) {
	ok = true
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	rest := s
	for {
		lt := strings.IndexByte(rest, '<')
		if lt < 0 {
			if strings.TrimSpace(rest) != "" && len(ids) == 0 {
				// No brackets at all: "a@b c@d".
				for _, f := range strings.FieldsFunc(rest, func(r rune) bool {
					return r == ' ' || r == '\t' || r == ','
				}) {
					if id := cleanMsgID(f); id != "" {
						ids = append(ids, id)
					}
				}
				ok = false
			}
			return ids, ok
		}
		if strings.TrimFunc(rest[:lt], func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) != "" {
			ok = false // text between ids (comments are allowed but rare)
		}
		rest = rest[lt+1:]
		gt := strings.IndexByte(rest, '>')
		if gt < 0 {
			ok = false
			if id := cleanMsgID(rest); id != "" {
				ids = append(ids, id)
			}
			return ids, ok
		}
		raw := rest[:gt]
		id := cleanMsgID(raw)
		if id != raw || !strings.Contains(id, "@") {
			ok = false
		}
		if id != "" {
			ids = append(ids, id)
		}
		rest = rest[gt+1:]
	}
}

func cleanMsgID(s string) string {
	if strings.IndexByte(s, '(') >= 0 {
		s = stripComments(s)
	}
	s = strings.Trim(s, "<> \t")
	if strings.ContainsAny(s, " \t") {
		s = strings.Join(strings.Fields(s), "")
	}
	return s
}

// dateLayouts are tried after net/mail.ParseDate: forms seen in real mail.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700 (MST)",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04:05",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04:05 -0700 MST",
	"Mon, 02 Jan 2006 15:04:05 -0700",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02T15:04:05Z07:00",
	"Monday, January 2, 2006 3:04 PM",
}

// parseDate parses a Date header; ok is false when nothing fits.
func parseDate(s string) (time.Time, bool) {
	if strings.IndexByte(s, '(') >= 0 {
		s = stripComments(s)
	}
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return time.Time{}, false
	}
	if t, err := mail.ParseDate(s); err == nil {
		return fixZone(t), true
	}
	// Obsolete syntax allows white space around the colons of the time.
	s = strings.ReplaceAll(strings.ReplaceAll(s, " :", ":"), ": ", ":")
	if t, err := mail.ParseDate(s); err == nil {
		return fixZone(t), true
	}
	// "UT" is an obsolete but valid zone; some senders add a trailing comment or a dot.
	alt := strings.TrimSuffix(strings.TrimRight(s, ". "), " UT")
	if alt != s {
		alt += " +0000"
	}
	if t, err := mail.ParseDate(alt); err == nil {
		return fixZone(t), true
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return fixZone(t), true
		}
	}
	return time.Time{}, false
}

// obsZones are the zone names RFC 5322 4.3 still defines; time.Parse gives them offset 0.
var obsZones = map[string]int{
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
}

func fixZone(t time.Time) time.Time {
	name, off := t.Zone()
	if h, ok := obsZones[name]; ok && off == 0 {
		y, mo, d := t.Date()
		hh, mm, ss := t.Clock()
		return time.Date(y, mo, d, hh, mm, ss, t.Nanosecond(), time.FixedZone(name, h*3600))
	}
	return t
}

// stripComments removes RFC 5322 comments (nested parentheses) outside quoted strings.
func stripComments(s string) string {
	var b strings.Builder
	depth := 0
	inQuote, esc := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
			if depth == 0 {
				b.WriteByte(c)
			}
			continue
		case c == '\\':
			esc = true
		case inQuote:
			if c == '"' {
				inQuote = false
			}
		case c == '"' && depth == 0:
			inQuote = true
		case c == '(':
			depth++
			continue
		case c == ')' && depth > 0:
			depth--
			if depth == 0 {
				b.WriteByte(' ')
			}
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// hasNullMembers reports list members that are empty (", a@b", "a@b,,c@d", "a@b,").
func hasNullMembers(s string) bool {
	prev := byte(',') // the start of the list acts like a separator
	inQuote, esc := false, false
	depth, angle := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case esc:
			esc = false
			continue
		case c == '\\':
			esc = true
			continue
		case inQuote:
			if c == '"' {
				inQuote = false
			}
			continue
		case c == '(':
			depth++
			continue
		case c == ')' && depth > 0:
			depth--
			continue
		case depth > 0, c == ' ', c == '\t', c == '\r', c == '\n':
			continue
		case c == '"':
			inQuote = true
		case c == '<':
			angle++
		case c == '>' && angle > 0:
			angle--
		case angle > 0:
		case c == ',':
			if prev == ',' || prev == ':' {
				return true
			}
		}
		prev = c
	}
	return prev == ','
}
