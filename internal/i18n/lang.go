// Package i18n owns everything language-dependent in Tandem: the set of
// supported languages, choosing one from Accept-Language, the message
// catalogue (embedded JSON, one file per language, with CLDR plural forms)
// and locale formatting of dates, times and numbers.
//
// Every user-facing string goes through Lang.T or Lang.N; nothing else in the
// module keeps translations.
package i18n

import (
	"sort"
	"strconv"
	"strings"
)

// Lang is a supported UI language, identified by its BCP 47 primary subtag.
// The zero value behaves as Default.
type Lang string

// Supported languages.
const (
	En Lang = "en"
	Ru Lang = "ru"
)

// Default is the language used when nothing better is known.
const Default = En

// Supported lists the UI languages in the order a language switch shows them.
func Supported() []Lang { return []Lang{En, Ru} }

// Parse reads a stored or submitted language code ("ru", "RU", "ru-RU",
// "ru_RU"). It reports false, with Default, for anything unsupported.
func Parse(s string) (Lang, bool) {
	primary := strings.ToLower(strings.TrimSpace(s))
	if i := strings.IndexAny(primary, "-_"); i >= 0 {
		primary = primary[:i]
	}
	switch Lang(primary) {
	case En:
		return En, true
	case Ru:
		return Ru, true
	}
	return Default, false
}

// Match picks the UI language for an Accept-Language header value
// (RFC 9110 §12.5.4): the supported language with the highest q-value, the
// earlier one on a tie; "*" and an empty or unusable header give Default.
// Only the primary subtag counts, so "ru-RU" and "ru-UA" both give Ru; other
// languages (uk, be, kk…) are not guessed to mean Russian.
func Match(acceptLanguage string) Lang {
	type choice struct {
		tag string
		q   float64
	}
	var choices []choice
	// A hostile header can be long; the first entries are the ones that count.
	for i, part := range strings.SplitN(acceptLanguage, ",", 33) {
		if i == 32 {
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		tag = strings.TrimSpace(tag)
		if tag == "" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				f = 0 // a malformed weight must not win
			}
			q = f
		}
		if q == 0 {
			continue // q=0 means "not acceptable"
		}
		choices = append(choices, choice{tag, q})
	}
	sort.SliceStable(choices, func(i, j int) bool { return choices[i].q > choices[j].q })
	for _, c := range choices {
		if c.tag == "*" {
			return Default
		}
		if l, ok := Parse(c.tag); ok {
			return l
		}
	}
	return Default
}

// norm maps the zero value and unknown codes to Default, so a Lang read from
// an empty field still formats and translates.
func (l Lang) norm() Lang {
	if l == Ru {
		return Ru
	}
	return En
}

// String returns the language code ("en", "ru").
func (l Lang) String() string { return string(l.norm()) }

// Tag returns the BCP 47 tag for the html lang attribute and the
// Content-Language header.
func (l Lang) Tag() string { return string(l.norm()) }

// Name returns the language's own name ("English", "Русский"), as a language
// switch shows it regardless of the current UI language.
func (l Lang) Name() string {
	if l.norm() == Ru {
		return "Русский"
	}
	return "English"
}
