package i18n

import (
	"math"
	"strconv"
	"strings"
)

// Category is a CLDR plural category.
type Category string

// CLDR plural categories. English uses One and Other; Russian uses One, Few,
// Many and Other (Other is for fractions: "1,5 контакта").
const (
	Zero  Category = "zero"
	One   Category = "one"
	Two   Category = "two"
	Few   Category = "few"
	Many  Category = "many"
	Other Category = "other"
)

// categories are the plural form names a catalogue entry may use.
var categories = map[Category]bool{Zero: true, One: true, Two: true, Few: true, Many: true, Other: true}

// Plural returns the plural category of an integer count.
func (l Lang) Plural(n int64) Category {
	u := uint64(n)
	if n < 0 {
		u = uint64(-(n + 1)) + 1 // avoids overflow at math.MinInt64
	}
	return l.plural(u, 0)
}

// PluralFloat returns the plural category of a count shown as a decimal. The
// number is rounded as FormatFloat shows it, so the form agrees with the
// digits the user reads: 1.0 shows as "1" (one), 1.5 as "1.5" (other).
func (l Lang) PluralFloat(f float64) Category {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Other
	}
	s := trimFraction(strconv.FormatFloat(math.Abs(f), 'f', maxFraction, 64))
	intPart, frac, _ := strings.Cut(s, ".")
	i, err := strconv.ParseUint(intPart, 10, 64)
	if err != nil {
		return Other // beyond uint64: no rule distinguishes such numbers
	}
	return l.plural(i, len(frac))
}

// plural applies the CLDR rules to the operands i (integer digits) and v
// (number of visible fraction digits).
// Source: CLDR plurals.xml, rules for "en" and "ru".
func (l Lang) plural(i uint64, v int) Category {
	switch l.norm() {
	case Ru:
		if v != 0 {
			return Other
		}
		mod10, mod100 := i%10, i%100
		switch {
		case mod10 == 1 && mod100 != 11:
			return One
		case mod10 >= 2 && mod10 <= 4 && (mod100 < 12 || mod100 > 14):
			return Few
		default:
			return Many
		}
	default:
		if i == 1 && v == 0 {
			return One
		}
		return Other
	}
}
