package i18n

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The catalogue: one flat JSON object per language, key → message. A message
// is a string, or for counts an object of CLDR plural forms that must include
// "other". Messages with arguments use fmt verbs.
//
//go:embed messages/*.json
var messageFiles embed.FS

// message is one catalogue entry: either text, or plural forms.
type message struct {
	text  string
	forms map[Category]string
}

// catalogues is loaded once from the embedded files; a malformed file is a
// build defect, so loading panics and every test catches it.
var catalogues = mustLoad()

func mustLoad() map[Lang]map[string]message {
	out := make(map[Lang]map[string]message)
	for _, l := range Supported() {
		data, err := messageFiles.ReadFile("messages/" + string(l) + ".json")
		if err != nil {
			panic(fmt.Errorf("i18n: %w", err))
		}
		cat, err := parseCatalogue(data)
		if err != nil {
			panic(fmt.Errorf("i18n: messages/%s.json: %w", l, err))
		}
		out[l] = cat
	}
	return out
}

func parseCatalogue(data []byte) (map[string]message, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	cat := make(map[string]message, len(raw))
	for key, v := range raw {
		v = bytes.TrimSpace(v)
		if len(v) > 0 && v[0] == '{' {
			var forms map[Category]string
			if err := json.Unmarshal(v, &forms); err != nil {
				return nil, fmt.Errorf("key %q: %w", key, err)
			}
			for c := range forms {
				if !categories[c] {
					return nil, fmt.Errorf("key %q: unknown plural category %q", key, c)
				}
			}
			if _, ok := forms[Other]; !ok {
				return nil, fmt.Errorf("key %q: plural form %q missing", key, Other)
			}
			cat[key] = message{forms: forms}
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, fmt.Errorf("key %q: want a string or plural object: %w", key, err)
		}
		cat[key] = message{text: s}
	}
	return cat, nil
}

// lookup finds a key in the language's catalogue, then in the default one,
// so a key added to one file only still shows something readable.
func (l Lang) lookup(key string) (message, bool) {
	if m, ok := catalogues[l.norm()][key]; ok {
		return m, true
	}
	m, ok := catalogues[Default][key]
	return m, ok
}

// Has reports whether the catalogue of l defines key.
func (l Lang) Has(key string) bool {
	_, ok := catalogues[l.norm()][key]
	return ok
}

// IsPlural reports whether key is a plural message in l's catalogue.
func (l Lang) IsPlural(key string) bool {
	m, ok := catalogues[l.norm()][key]
	return ok && m.forms != nil
}

// Keys returns the catalogue keys of l, sorted.
func (l Lang) Keys() []string {
	return slices.Sorted(maps.Keys(catalogues[l.norm()]))
}

// Forms returns the plural forms of a plural message (nil for plain text or
// a missing key); tests use it to check form completeness.
func (l Lang) Forms(key string) map[Category]string {
	m, ok := catalogues[l.norm()][key]
	if !ok || m.forms == nil {
		return nil
	}
	return maps.Clone(m.forms)
}

// WithCount makes a reference to a count message that carries its count,
// "error.too_long:200". T translates it as N(key, n). Messages travel as
// plain key strings in places (field errors, flashes), and this lets them
// say "at most 200 characters".
func WithCount(key string, n int) string { return key + ":" + strconv.Itoa(n) }

// RefKey is the catalogue key of a reference made by WithCount, or ref
// itself.
func RefKey(ref string) string {
	if k, _, ok := splitCount(ref); ok {
		return k
	}
	return ref
}

func splitCount(ref string) (key string, n int, ok bool) {
	i := strings.LastIndexByte(ref, ':')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(ref[i+1:])
	if err != nil {
		return "", 0, false
	}
	return ref[:i], n, true
}

// T translates key and, when args are given, formats them into the message
// with fmt verbs. key may be a WithCount reference. A missing key returns
// the key itself, which is visible on
// the page and caught by the catalogue tests. Used on a plural message, T
// returns its "other" form.
func (l Lang) T(key string, args ...any) string {
	m, ok := l.lookup(key)
	if !ok {
		if k, n, ok := splitCount(key); ok {
			if _, found := l.lookup(k); found {
				return l.N(k, n, args...)
			}
		}
		return key
	}
	s := m.text
	if m.forms != nil {
		s = m.forms[Other]
	}
	if len(args) == 0 {
		return s // a message without arguments may contain a literal "%"
	}
	return fmt.Sprintf(s, args...)
}

// N translates a count message, choosing the plural form for n. The count,
// formatted for the locale, is the first fmt argument and args follow it, so
// forms read like "%s contacts" or "%[2]s has %[1]s tags".
func (l Lang) N(key string, n int, args ...any) string {
	return l.countMessage(key, l.Plural(int64(n)), l.FormatInt(int64(n)), args)
}

// NFloat is N for a decimal count ("1.5 hours").
func (l Lang) NFloat(key string, f float64, args ...any) string {
	return l.countMessage(key, l.PluralFloat(f), l.FormatFloat(f), args)
}

func (l Lang) countMessage(key string, c Category, count string, args []any) string {
	m, ok := l.lookup(key)
	if !ok {
		return key
	}
	s := m.text
	if m.forms != nil {
		var found bool
		if s, found = m.forms[c]; !found {
			s = m.forms[Other]
		}
	}
	return fmt.Sprintf(s, append([]any{count}, args...)...)
}
