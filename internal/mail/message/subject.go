package message

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// replyPrefixes are reply and forward markers of common mail clients, lower-case, without
// the colon: English, Russian, German, Nordic, Dutch, French, Spanish, Italian, Polish.
var replyPrefixes = map[string]bool{
	"re": true, "fw": true, "fwd": true, "aw": true, "wg": true, "sv": true, "vs": true,
	"antw": true, "doorst": true, "tr": true, "rv": true, "enc": true, "odp": true, "pd": true,
	"r": true, "i": true, "rif": true,
	"отв": true, "ответ": true, "пересл": true, "переслать": true,
}

// NormalizeSubject strips leading reply and forward markers ("Re:", "Fwd:", "RE[2]:",
// "Отв:", "Пересл:", repeated and mixed) and collapses white space, so that the letters of a
// thread share one subject. List tags such as "[team]" are kept.
func NormalizeSubject(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for {
		colon := strings.IndexAny(s, ":：")
		if colon <= 0 || colon > 20 {
			return s
		}
		prefix := strings.ToLower(strings.TrimSpace(s[:colon]))
		// "Re[2]" and "Re(2)" count replies.
		if i := strings.IndexAny(prefix, "[("); i > 0 && strings.IndexFunc(prefix[i+1:], func(r rune) bool {
			return !unicode.IsDigit(r) && r != ']' && r != ')'
		}) < 0 {
			prefix = strings.TrimSpace(prefix[:i])
		}
		if !replyPrefixes[prefix] {
			return s
		}
		_, size := utf8.DecodeRuneInString(s[colon:])
		s = strings.TrimSpace(s[colon+size:])
	}
}
