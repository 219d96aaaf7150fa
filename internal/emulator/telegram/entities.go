package telegram

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The parsers below follow TDLib's (td/telegram/MessageEntity.cpp), whose
// error texts the Bot API returns after "Bad Request: can't parse
// entities: ". Offsets are counted in UTF-16 code units, as in the API.

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// u16 is how many UTF-16 units the byte starting a UTF-8 sequence adds.
func u16(c byte) int {
	switch {
	case c&0xC0 == 0x80:
		return 0 // continuation byte
	case c >= 0xF0:
		return 2
	}
	return 1
}

// isSpace is TDLib's is_space; the NUL past the end counts, which ends
// every scan at the end of the text.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0 || c == '\v'
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// at returns the byte at i, or 0 past the end.
func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// decodeHTMLEntity decodes &lt; &gt; &amp; &quot; &apos; and numeric
// references at pos; 0 when there is none (the & is kept as text).
func decodeHTMLEntity(s string, pos int) (rune, int) {
	if at(s, pos) != '&' {
		return 0, pos
	}
	end := pos + 1
	var r rune
	if at(s, pos+1) == '#' {
		end++
		if at(s, pos+2) == 'x' {
			end++
			for isHex(at(s, end)) {
				c := at(s, end)
				var d rune
				switch {
				case isDigit(c):
					d = rune(c - '0')
				case c >= 'a':
					d = rune(c-'a') + 10
				default:
					d = rune(c-'A') + 10
				}
				r = r*16 + d
				end++
				if r > 0x10ffff {
					break
				}
			}
		} else {
			for isDigit(at(s, end)) {
				r = r*10 + rune(at(s, end)-'0')
				end++
				if r > 0x10ffff {
					break
				}
			}
		}
		if r == 0 || r >= 0x10ffff || end-pos >= 10 {
			return 0, pos
		}
	} else {
		for isAlpha(at(s, end)) {
			end++
		}
		switch s[pos+1 : end] {
		case "lt":
			r = '<'
		case "gt":
			r = '>'
		case "amp":
			r = '&'
		case "quot":
			r = '"'
		case "apos":
			r = '\''
		default:
			return 0, pos
		}
	}
	if at(s, end) == ';' {
		end++
	}
	return r, end
}

var htmlTags = map[string]bool{"a": true, "b": true, "strong": true, "i": true, "em": true, "s": true, "strike": true,
	"del": true, "u": true, "ins": true, "tg-spoiler": true, "tg-emoji": true, "span": true, "pre": true, "code": true,
	"blockquote": true}

type openTag struct {
	name, arg  string
	offset     int // UTF-16
	resultPos  int // byte position in the result
	expandable bool
}

// parseHTML is parse_mode HTML.
func parseHTML(text string) (string, []MessageEntity, error) {
	var out strings.Builder
	var ents []MessageEntity
	var stack []openTag
	off := 0
	size := len(text)
	for i := 0; i < size; {
		c := text[i]
		if c == '&' {
			if r, next := decodeHTMLEntity(text, i); r != 0 {
				out.WriteRune(r)
				if r >= 0x10000 {
					off += 2
				} else {
					off++
				}
				i = next
				continue
			}
		}
		if c != '<' {
			off += u16(c)
			out.WriteByte(c)
			i++
			continue
		}
		begin := i
		i++
		if at(text, i) != '/' { // a start tag
			for !isSpace(at(text, i)) && at(text, i) != '>' {
				i++
			}
			if at(text, i) == 0 && i >= size {
				return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
			}
			name := strings.ToLower(text[begin+1 : i])
			if !htmlTags[name] {
				return "", nil, fmt.Errorf("Unsupported start tag \"%s\" at byte offset %d", name, begin)
			}
			tag := openTag{name: name, offset: off, resultPos: out.Len()}
			for at(text, i) != '>' {
				for i < size && isSpace(at(text, i)) {
					i++
				}
				if at(text, i) == '>' {
					break
				}
				attrBegin := i
				for !isSpace(at(text, i)) && at(text, i) != '=' && at(text, i) != '>' {
					i++
				}
				attr := strings.ToLower(text[attrBegin:i])
				if attr == "" {
					return "", nil, fmt.Errorf("Empty attribute name in the tag \"%s\" at byte offset %d", name, attrBegin)
				}
				for i < size && isSpace(at(text, i)) {
					i++
				}
				if at(text, i) != '=' {
					if name == "blockquote" && attr == "expandable" {
						tag.expandable = true
						continue
					}
					if i >= size {
						return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
					}
					return "", nil, fmt.Errorf("Expected equal sign in declaration of an attribute of the tag \"%s\" at byte offset %d", name, attrBegin)
				}
				i++
				for i < size && isSpace(at(text, i)) {
					i++
				}
				if i >= size {
					return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
				}
				var val strings.Builder
				if q := at(text, i); q != '\'' && q != '"' {
					tokBegin := i
					for isAlpha(at(text, i)) || isDigit(at(text, i)) || at(text, i) == '.' || at(text, i) == '-' {
						i++
					}
					val.WriteString(strings.ToLower(text[tokBegin:i]))
					if !isSpace(at(text, i)) && at(text, i) != '>' {
						return "", nil, fmt.Errorf("Unexpected end of name token at byte offset %d", tokBegin)
					}
				} else {
					i++
					for i < size && text[i] != q {
						if text[i] == '&' {
							if r, next := decodeHTMLEntity(text, i); r != 0 {
								val.WriteRune(r)
								i = next
								continue
							}
						}
						val.WriteByte(text[i])
						i++
					}
					if i < size {
						i++
					}
				}
				if i >= size {
					return "", nil, fmt.Errorf("Unclosed start tag at byte offset %d", begin)
				}
				v := val.String()
				switch {
				case name == "a" && attr == "href":
					tag.arg = v
				case name == "code" && attr == "class" && strings.HasPrefix(v, "language-"):
					tag.arg = v[len("language-"):]
				case name == "span" && attr == "class" && strings.HasPrefix(v, "tg-"):
					tag.arg = v[len("tg-"):]
				case name == "tg-emoji" && attr == "emoji-id":
					tag.arg = v
				case name == "pre" && attr == "language":
					tag.arg = v
				}
			}
			if name == "span" && tag.arg != "spoiler" {
				return "", nil, fmt.Errorf("Tag \"span\" must have class \"tg-spoiler\" at byte offset %d", begin)
			}
			stack = append(stack, tag)
			i++ // past '>'
			continue
		}
		// an end tag
		if len(stack) == 0 {
			return "", nil, fmt.Errorf("Unexpected end tag at byte offset %d", begin)
		}
		for !isSpace(at(text, i)) && at(text, i) != '>' {
			i++
		}
		endName := strings.ToLower(text[begin+2 : i])
		for i < size && isSpace(at(text, i)) {
			i++
		}
		if at(text, i) != '>' {
			return "", nil, fmt.Errorf("Unclosed end tag at byte offset %d", begin)
		}
		top := stack[len(stack)-1]
		if endName != "" && endName != top.name {
			return "", nil, fmt.Errorf("Unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", begin, top.name, endName)
		}
		stack = stack[:len(stack)-1]
		i++
		n := off - top.offset
		if n <= 0 {
			continue
		}
		// <pre><code class="language-x">…</code></pre> is one pre entity
		// with its language; a language on a code outside pre is ignored.
		inPre := top.name == "code" && len(stack) > 0 && stack[len(stack)-1].name == "pre" && stack[len(stack)-1].offset == top.offset
		if top.name == "code" && !inPre {
			top.arg = ""
		}
		if top.name == "pre" && len(ents) > 0 {
			if last := ents[len(ents)-1]; last.Type == "pre" && last.Offset == top.offset && last.Length == n {
				continue
			}
		}
		if e, ok := htmlEntity(top, n, out.String()[top.resultPos:]); ok {
			ents = append(ents, e)
		}
	}
	if len(stack) > 0 {
		return "", nil, fmt.Errorf("Can't find end tag corresponding to start tag \"%s\"", stack[len(stack)-1].name)
	}
	sortEntities(ents)
	return out.String(), ents, nil
}

func htmlEntity(t openTag, n int, inner string) (MessageEntity, bool) {
	e := MessageEntity{Offset: t.offset, Length: n}
	switch t.name {
	case "b", "strong":
		e.Type = "bold"
	case "i", "em":
		e.Type = "italic"
	case "s", "strike", "del":
		e.Type = "strikethrough"
	case "u", "ins":
		e.Type = "underline"
	case "tg-spoiler", "span":
		e.Type = "spoiler"
	case "tg-emoji":
		e.Type, e.CustomEmojiID = "custom_emoji", t.arg
	case "code":
		e.Type, e.Language = "code", ""
		if t.arg != "" {
			e.Type, e.Language = "pre", t.arg
		}
	case "pre":
		e.Type, e.Language = "pre", t.arg
	case "blockquote":
		e.Type = "blockquote"
		if t.expandable {
			e.Type = "expandable_blockquote"
		}
	case "a":
		url := t.arg
		if url == "" {
			url = inner
		}
		if !validLink(url) {
			return e, false // TDLib drops a link it cannot use
		}
		e.Type, e.URL = "text_link", url
	}
	return e, true
}

// validLink accepts http(s), tg and ton links and bare domains.
func validLink(u string) bool {
	u = strings.TrimSpace(u)
	if u == "" || strings.ContainsAny(u, " \n") {
		return false
	}
	l := strings.ToLower(u)
	for _, p := range []string{"http://", "https://", "tg://", "ton://"} {
		if strings.HasPrefix(l, p) {
			return len(l) > len(p)
		}
	}
	return strings.Contains(l, ".")
}

// entityPriority orders entities that cover the same text, as TDLib does.
var entityPriority = map[string]int{"blockquote": 0, "expandable_blockquote": 0, "pre": 11, "code": 20, "text_link": 49,
	"text_mention": 49, "bold": 90, "italic": 91, "underline": 92, "strikethrough": 93, "spoiler": 94, "custom_emoji": 99}

func priority(typ string) int {
	if p, ok := entityPriority[typ]; ok {
		return p
	}
	return 50
}

// sortEntities orders by offset, longer first, then TDLib's type priority.
func sortEntities(ents []MessageEntity) {
	sort.SliceStable(ents, func(i, j int) bool {
		if ents[i].Offset != ents[j].Offset {
			return ents[i].Offset < ents[j].Offset
		}
		if ents[i].Length != ents[j].Length {
			return ents[i].Length > ents[j].Length
		}
		return priority(ents[i].Type) < priority(ents[j].Type)
	})
}

// parseMarkdownV2 is parse_mode MarkdownV2: the characters
// _*[]()~`>#+-=|{}.! are reserved and must be escaped with '\' unless
// they open or close an entity; inside code and pre only ` and \ are.
func parseMarkdownV2(text string) (string, []MessageEntity, error) {
	type open struct {
		typ       string
		begin     int // byte offset of the marker
		offset    int // UTF-16
		resultPos int
		lang      string
	}
	var out strings.Builder
	var ents []MessageEntity
	var stack []open
	off := 0
	size := len(text)
	for i := 0; i < size; i++ {
		c := text[i]
		if c == '\\' && at(text, i+1) > 0 && at(text, i+1) <= 126 {
			i++
			out.WriteByte(text[i])
			off++
			continue
		}
		reserved := "_*[]()~`>#+-=|{}.!"
		if len(stack) > 0 && (stack[len(stack)-1].typ == "code" || stack[len(stack)-1].typ == "pre") {
			reserved = "`"
		}
		if !strings.ContainsRune(reserved, rune(c)) {
			off += u16(c)
			out.WriteByte(c)
			continue
		}
		// a line-leading '>' quotes the line
		if c == '>' && (i == 0 || text[i-1] == '\n') && (len(stack) == 0) {
			end := strings.IndexByte(text[i:], '\n')
			if end < 0 {
				end = size - i
			}
			stack = append(stack, open{typ: "blockquote", begin: i, offset: off, resultPos: out.Len()})
			// close at the end of the line
			inner, iEnts, err := parseMarkdownV2(text[i+1 : i+end])
			if err != nil {
				return "", nil, err
			}
			for _, e := range iEnts {
				e.Offset += off
				ents = append(ents, e)
			}
			out.WriteString(inner)
			if n := utf16Len(inner); n > 0 {
				ents = append(ents, MessageEntity{Type: "blockquote", Offset: off, Length: n})
				off += n
			}
			stack = stack[:len(stack)-1]
			i += end - 1
			continue
		}
		closing := false
		if len(stack) > 0 {
			switch top := stack[len(stack)-1]; top.typ {
			case "bold":
				closing = c == '*'
			case "italic":
				closing = c == '_' && at(text, i+1) != '_'
			case "underline":
				closing = c == '_' && at(text, i+1) == '_'
			case "strikethrough":
				closing = c == '~'
			case "spoiler":
				closing = c == '|' && at(text, i+1) == '|'
			case "code":
				closing = c == '`'
			case "pre":
				closing = c == '`' && at(text, i+1) == '`' && at(text, i+2) == '`'
			case "text_link":
				closing = c == ']'
			}
		}
		if !closing {
			o := open{begin: i, offset: off, resultPos: out.Len()}
			switch c {
			case '_':
				o.typ = "italic"
				if at(text, i+1) == '_' {
					o.typ = "underline"
					i++
				}
			case '*':
				o.typ = "bold"
			case '~':
				o.typ = "strikethrough"
			case '|':
				if at(text, i+1) != '|' {
					return "", nil, fmt.Errorf("Character '%c' is reserved and must be escaped with the preceding '\\'", c)
				}
				o.typ = "spoiler"
				i++
			case '[':
				o.typ = "text_link"
			case '`':
				o.typ = "code"
				if at(text, i+1) == '`' && at(text, i+2) == '`' {
					o.typ = "pre"
					i += 3
					langEnd := i
					for langEnd < size && !isSpace(text[langEnd]) && text[langEnd] != '`' {
						langEnd++
					}
					if i != langEnd && langEnd < size && text[langEnd] != '`' {
						o.lang = text[i:langEnd]
						i = langEnd
					}
					if at(text, i) == '\n' || at(text, i) == '\r' {
						if (at(text, i+1) == '\n' || at(text, i+1) == '\r') && text[i] != text[i+1] {
							i += 2
						} else {
							i++
						}
					}
					i-- // the loop's i++
				}
			default:
				return "", nil, fmt.Errorf("Character '%c' is reserved and must be escaped with the preceding '\\'", c)
			}
			for _, s := range stack {
				if s.typ == o.typ {
					return "", nil, fmt.Errorf("Can't find end of %s entity at byte offset %d", entityName(s.typ), s.begin)
				}
			}
			stack = append(stack, o)
			continue
		}
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		e := MessageEntity{Type: top.typ, Offset: top.offset, Length: off - top.offset, Language: top.lang}
		switch top.typ {
		case "underline", "spoiler":
			i++
		case "pre":
			i += 2
		case "text_link":
			var url string
			if at(text, i+1) == '(' {
				i += 2
				urlBegin := i
				var ub strings.Builder
				for i < size && text[i] != ')' {
					if text[i] == '\\' && at(text, i+1) > 0 && at(text, i+1) <= 126 {
						i++
					}
					ub.WriteByte(text[i])
					i++
				}
				if at(text, i) != ')' {
					return "", nil, fmt.Errorf("Can't find end of a URL at byte offset %d", urlBegin)
				}
				url = ub.String()
			} else {
				url = out.String()[top.resultPos:]
			}
			if !validLink(url) {
				continue
			}
			e.URL = url
		}
		if e.Length > 0 {
			ents = append(ents, e)
		}
	}
	if len(stack) > 0 {
		top := stack[len(stack)-1]
		return "", nil, fmt.Errorf("Can't find end of %s entity at byte offset %d", entityName(top.typ), top.begin)
	}
	sortEntities(ents)
	return out.String(), ents, nil
}

func entityName(typ string) string {
	switch typ {
	case "text_link":
		return "TextUrl"
	case "strikethrough":
		return "Strikethrough"
	}
	r, n := utf8.DecodeRuneInString(typ)
	return string(unicode.ToUpper(r)) + typ[n:]
}

// parseMarkdown is the legacy parse_mode Markdown: _italic_, *bold*,
// `code`, ```pre```, [text](url); '\' escapes _ * ` [.
func parseMarkdown(text string) (string, []MessageEntity, error) {
	var out strings.Builder
	var ents []MessageEntity
	off := 0
	size := len(text)
	for i := 0; i < size; i++ {
		c := text[i]
		if c == '\\' && strings.IndexByte("_*`[", at(text, i+1)) >= 0 && at(text, i+1) != 0 {
			i++
			out.WriteByte(text[i])
			off++
			continue
		}
		if c != '_' && c != '*' && c != '`' && c != '[' {
			off += u16(c)
			out.WriteByte(c)
			continue
		}
		begin := i
		endChar := c
		if c == '[' {
			endChar = ']'
		}
		i++
		pre, lang := false, ""
		if c == '`' && at(text, i) == '`' && at(text, i+1) == '`' {
			i += 2
			pre = true
			langEnd := i
			for langEnd < size && !isSpace(text[langEnd]) && text[langEnd] != '`' {
				langEnd++
			}
			if i != langEnd && langEnd < size && text[langEnd] != '`' {
				lang = text[i:langEnd]
				i = langEnd
			}
			if at(text, i) == '\n' || at(text, i) == '\r' {
				if (at(text, i+1) == '\n' || at(text, i+1) == '\r') && text[i] != text[i+1] {
					i += 2
				} else {
					i++
				}
			}
		}
		start := off
		startPos := out.Len()
		for i < size && (text[i] != endChar || (pre && !(at(text, i+1) == '`' && at(text, i+2) == '`'))) {
			off += u16(text[i])
			out.WriteByte(text[i])
			i++
		}
		if i >= size {
			return "", nil, fmt.Errorf("Can't find end of the entity starting at byte offset %d", begin)
		}
		if n := off - start; n > 0 {
			e := MessageEntity{Offset: start, Length: n}
			switch c {
			case '_':
				e.Type = "italic"
			case '*':
				e.Type = "bold"
			case '`':
				e.Type = "code"
				if pre {
					e.Type, e.Language = "pre", lang
				}
			case '[':
				url := out.String()[startPos:]
				if at(text, i+1) == '(' {
					i += 2
					var ub strings.Builder
					for i < size && text[i] != ')' {
						ub.WriteByte(text[i])
						i++
					}
					url = ub.String()
				}
				if !validLink(url) {
					e.Type = ""
				} else {
					e.Type, e.URL = "text_link", url
				}
			}
			if e.Type != "" {
				ents = append(ents, e)
			}
		}
		if pre {
			i += 2
		}
	}
	return out.String(), ents, nil
}

// trimFormatted drops leading and trailing white space, as Telegram does
// with every message, moving the entities along.
func trimFormatted(text string, ents []MessageEntity) (string, []MessageEntity) {
	trimmed := strings.TrimLeftFunc(text, unicode.IsSpace)
	lead := utf16Len(text[:len(text)-len(trimmed)])
	trimmed = strings.TrimRightFunc(trimmed, unicode.IsSpace)
	total := utf16Len(trimmed)
	if lead == 0 && total == utf16Len(text) {
		return text, ents
	}
	var out []MessageEntity
	for _, e := range ents {
		start, end := max(e.Offset-lead, 0), min(e.Offset+e.Length-lead, total)
		if end > start {
			e.Offset, e.Length = start, end-start
			out = append(out, e)
		}
	}
	return trimmed, out
}
