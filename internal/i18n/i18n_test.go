package i18n

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCatalogueKeysMatch(t *testing.T) {
	en, ru := En.Keys(), Ru.Keys()
	if len(en) == 0 {
		t.Fatal("empty catalogue")
	}
	for _, k := range en {
		if !Ru.Has(k) {
			t.Errorf("ru.json lacks %q", k)
		}
	}
	for _, k := range ru {
		if !En.Has(k) {
			t.Errorf("en.json lacks %q", k)
		}
	}
}

// verbs extracts fmt verbs, so a translation cannot drop or add an argument.
var verbRe = regexp.MustCompile(`%(?:\[\d+\])?[-+# 0]*\d*(?:\.\d+)?[a-zA-Z]`)

func verbs(s string) []string {
	v := verbRe.FindAllString(s, -1)
	slices.Sort(v)
	return v
}

func TestCatalogueEntriesAgree(t *testing.T) {
	need := map[Lang][]Category{En: {One, Other}, Ru: {One, Few, Many, Other}}
	for _, k := range En.Keys() {
		if En.IsPlural(k) != Ru.IsPlural(k) {
			t.Errorf("%q: plural in one language only", k)
			continue
		}
		want := verbs(En.T(k))
		for _, l := range Supported() {
			texts := []string{l.T(k)}
			if l.IsPlural(k) {
				forms := l.Forms(k)
				texts = texts[:0]
				for _, c := range need[l] {
					f, ok := forms[c]
					if !ok {
						t.Errorf("%s %q: plural form %q missing", l, k, c)
					}
					texts = append(texts, f)
				}
			}
			for _, s := range texts {
				if strings.TrimSpace(s) == "" {
					t.Errorf("%s %q: empty message", l, k)
				}
				if got := verbs(s); !slices.Equal(got, want) {
					t.Errorf("%s %q: verbs %v, want %v as in en", l, k, got, want)
				}
			}
		}
	}
}

func TestT(t *testing.T) {
	tests := []struct {
		l    Lang
		key  string
		args []any
		want string
	}{
		{En, "nav.contacts", nil, "Contacts"},
		{Ru, "nav.contacts", nil, "Контакты"},
		{"", "nav.contacts", nil, "Contacts"},
		{"de", "action.save", nil, "Save"},
		{Ru, "confirm.delete_named", []any{"ООО Ромашка"}, "Удалить «ООО Ромашка»? Это действие нельзя отменить."},
		{En, "no.such.key", nil, "no.such.key"},
		{Ru, "no.such.key", []any{1}, "no.such.key"},
		{En, "count.contacts", nil, "%s contacts"}, // T on a plural gives "other"
		{En, WithCount("error.too_long", 200), nil, "At most 200 characters."},
		{En, WithCount("error.too_long", 1), nil, "At most 1 character."},
		{Ru, WithCount("error.too_long", 200), nil, "Не более 200 символов."},
		{Ru, WithCount("error.too_long", 101), nil, "Не более 101 символа."},
		{Ru, WithCount("error.too_long", 20000), nil, "Не более 20\u00a0000 символов."},
		{En, "no.such.key:3", nil, "no.such.key:3"},
		{En, "error.too_long:x", nil, "error.too_long:x"},
	}
	for _, tt := range tests {
		if got := tt.l.T(tt.key, tt.args...); got != tt.want {
			t.Errorf("%q.T(%q) = %q, want %q", tt.l, tt.key, got, tt.want)
		}
	}
}

func TestRefKey(t *testing.T) {
	for ref, want := range map[string]string{WithCount("error.too_long", 5): "error.too_long", "error.required": "error.required",
		"a:b": "a:b", ":5": ":5"} {
		if got := RefKey(ref); got != want {
			t.Errorf("RefKey(%q) = %q, want %q", ref, got, want)
		}
	}
}

func TestPluralRules(t *testing.T) {
	tests := []struct {
		l    Lang
		n    int64
		want Category
	}{
		{En, 0, Other}, {En, 1, One}, {En, 2, Other}, {En, 11, Other}, {En, 21, Other}, {En, -1, One},
		{Ru, 0, Many}, {Ru, 1, One}, {Ru, 2, Few}, {Ru, 4, Few}, {Ru, 5, Many}, {Ru, 11, Many},
		{Ru, 12, Many}, {Ru, 14, Many}, {Ru, 21, One}, {Ru, 22, Few}, {Ru, 25, Many}, {Ru, 101, One},
		{Ru, 111, Many}, {Ru, 112, Many}, {Ru, 1000, Many}, {Ru, -3, Few}, {Ru, -9223372036854775808, Many},
	}
	for _, tt := range tests {
		if got := tt.l.Plural(tt.n); got != tt.want {
			t.Errorf("%s.Plural(%d) = %s, want %s", tt.l, tt.n, got, tt.want)
		}
	}
	floats := []struct {
		l    Lang
		f    float64
		want Category
	}{
		{En, 1, One}, {En, 1.5, Other}, {Ru, 1.5, Other}, {Ru, 1.0, One}, {Ru, 2.25, Other}, {Ru, 21.0001, One},
	}
	for _, tt := range floats {
		if got := tt.l.PluralFloat(tt.f); got != tt.want {
			t.Errorf("%s.PluralFloat(%v) = %s, want %s", tt.l, tt.f, got, tt.want)
		}
	}
}

func TestN(t *testing.T) {
	tests := []struct {
		l    Lang
		n    int
		want string
	}{
		{Ru, 1, "1 контакт"},
		{Ru, 2, "2 контакта"},
		{Ru, 5, "5 контактов"},
		{Ru, 11, "11 контактов"},
		{Ru, 21, "21 контакт"},
		{Ru, 1234, "1\u00a0234 контакта"},
		{En, 1, "1 contact"},
		{En, 0, "0 contacts"},
		{En, 1234, "1,234 contacts"},
	}
	for _, tt := range tests {
		if got := tt.l.N("count.contacts", tt.n); got != tt.want {
			t.Errorf("%s.N(count.contacts, %d) = %q, want %q", tt.l, tt.n, got, tt.want)
		}
	}
	if got := Ru.NFloat("count.hours", 1.5); got != "1,5 часа" {
		t.Errorf("Ru.NFloat(1.5) = %q", got)
	}
	if got := En.NFloat("count.hours", 1.5); got != "1.5 hours" {
		t.Errorf("En.NFloat(1.5) = %q", got)
	}
	if got := En.N("missing.key", 3); got != "missing.key" {
		t.Errorf("missing plural key = %q", got)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		header string
		want   Lang
	}{
		{"", En},
		{"ru", Ru},
		{"ru-RU", Ru},
		{"RU_ru", Ru},
		{"en-US,en;q=0.9", En},
		{"ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", Ru},
		{"en;q=0.5, ru;q=0.8", Ru},
		{"de-DE,de;q=0.9,ru;q=0.3", Ru},
		{"de-DE,fr;q=0.9", En},
		{"uk", En},
		{"uk,ru;q=0.9,en;q=0.8", Ru},
		{"ru;q=0, en", En},
		{"ru;q=abc, en;q=0.1", En},
		{"*", En},
		{"fr, *;q=0.5, ru;q=0.4", En},
		{"en, ru", En}, // a tie keeps the browser's order
		{" ru ; q=1.0 ", Ru},
		{",,;;", En},
	}
	for _, tt := range tests {
		if got := Match(tt.header); got != tt.want {
			t.Errorf("Match(%q) = %s, want %s", tt.header, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"ru", "RU", "ru-RU", "ru_RU", " ru "} {
		if l, ok := Parse(s); !ok || l != Ru {
			t.Errorf("Parse(%q) = %s, %v", s, l, ok)
		}
	}
	for _, s := range []string{"", "de", "russian", "r"} {
		if l, ok := Parse(s); ok || l != Default {
			t.Errorf("Parse(%q) = %s, %v; want default, false", s, l, ok)
		}
	}
}

func TestFormatting(t *testing.T) {
	ts := time.Date(2026, time.January, 2, 15, 4, 5, 0, time.UTC)
	may := time.Date(2026, time.May, 9, 9, 30, 0, 0, time.UTC)
	midnight := time.Date(2026, time.December, 31, 0, 5, 0, 0, time.UTC)
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"en date", En.FormatDate(ts), "Jan 2, 2026"},
		{"ru date", Ru.FormatDate(ts), "2 янв. 2026 г."},
		{"ru date may", Ru.FormatDate(may), "9 мая 2026 г."},
		{"en long", En.FormatDateLong(ts), "January 2, 2026"},
		{"ru long", Ru.FormatDateLong(ts), "2 января 2026 г."},
		{"en numeric", En.FormatDateNumeric(ts), "1/2/2026"},
		{"ru numeric", Ru.FormatDateNumeric(ts), "02.01.2026"},
		{"en time", En.FormatTime(ts), "3:04 PM"},
		{"en time am", En.FormatTime(may), "9:30 AM"},
		{"en time midnight", En.FormatTime(midnight), "12:05 AM"},
		{"ru time", Ru.FormatTime(ts), "15:04"},
		{"ru time morning", Ru.FormatTime(may), "09:30"},
		{"en datetime", En.FormatDateTime(ts), "Jan 2, 2026, 3:04 PM"},
		{"ru datetime", Ru.FormatDateTime(ts), "2 янв. 2026 г., 15:04"},
		{"en month year", En.FormatMonthYear(ts), "January 2026"},
		{"ru month year", Ru.FormatMonthYear(ts), "Январь 2026 г."},
		{"en month", En.MonthName(time.March), "March"},
		{"ru month", Ru.MonthName(time.March), "Март"},
		{"bad month", Ru.MonthName(13), ""},
		{"en weekday", En.WeekdayShort(time.Monday), "Mon"},
		{"ru weekday", Ru.WeekdayShort(time.Monday), "Пн"},
		{"ru weekday name", Ru.WeekdayName(time.Sunday), "Воскресенье"},
		{"en int", En.FormatInt(1234567), "1,234,567"},
		{"ru int", Ru.FormatInt(1234567), "1\u00a0234\u00a0567"},
		{"en small", En.FormatInt(999), "999"},
		{"ru 4 digits", Ru.FormatInt(1234), "1\u00a0234"},
		{"en negative", En.FormatInt(-1234567), "-1,234,567"},
		{"en min int", En.FormatInt(-9223372036854775808), "-9,223,372,036,854,775,808"},
		{"en float", En.FormatFloat(1234567.5), "1,234,567.5"},
		{"ru float", Ru.FormatFloat(1234567.5), "1\u00a0234\u00a0567,5"},
		{"en float rounding", En.FormatFloat(0.1 + 0.2), "0.3"},
		{"en float 3 digits", En.FormatFloat(-0.12345), "-0.123"},
		{"en float negative zero", En.FormatFloat(-0.0001), "0"},
		{"en float whole", En.FormatFloat(2), "2"},
		{"ru fixed", Ru.FormatFixed(1234.5, 2), "1\u00a0234,50"},
		{"en fixed neg zero", En.FormatFixed(-0.001, 2), "0.00"},
		{"number int", Ru.FormatNumber(1234567), "1\u00a0234\u00a0567"},
		{"number uint64", En.FormatNumber(uint64(18446744073709551615)), "18,446,744,073,709,551,615"},
		{"number float", En.FormatNumber(1234567.5), "1,234,567.5"},
		{"number float32", En.FormatNumber(float32(0.5)), "0.5"},
		{"number other", En.FormatNumber("x"), "x"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestWeeks(t *testing.T) {
	if En.FirstWeekday() != time.Sunday || Ru.FirstWeekday() != time.Monday {
		t.Fatal("first weekdays")
	}
	if got := Ru.Weekdays(); got[0] != time.Monday || got[6] != time.Sunday {
		t.Errorf("Ru.Weekdays() = %v", got)
	}
	if got := En.Weekdays(); got[0] != time.Sunday || got[6] != time.Saturday {
		t.Errorf("En.Weekdays() = %v", got)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	// Tuesday 2026-03-10; DST began Sunday 2026-03-08 in New York.
	tue := time.Date(2026, time.March, 10, 13, 0, 0, 0, ny)
	if got, want := Ru.WeekStart(tue), time.Date(2026, time.March, 9, 0, 0, 0, 0, ny); !got.Equal(want) {
		t.Errorf("Ru.WeekStart = %v, want %v", got, want)
	}
	if got, want := En.WeekStart(tue), time.Date(2026, time.March, 8, 0, 0, 0, 0, ny); !got.Equal(want) {
		t.Errorf("En.WeekStart = %v, want %v", got, want)
	}
	sun := time.Date(2026, time.March, 8, 23, 0, 0, 0, ny)
	if got, want := Ru.WeekStart(sun), time.Date(2026, time.March, 2, 0, 0, 0, 0, ny); !got.Equal(want) {
		t.Errorf("Ru.WeekStart(sunday) = %v, want %v", got, want)
	}
}

func TestLangNames(t *testing.T) {
	if En.Name() != "English" || Ru.Name() != "Русский" || Lang("").Tag() != "en" || Ru.String() != "ru" {
		t.Error("names")
	}
	for _, l := range Supported() {
		if got := l.T("lang." + string(l)); got != l.Name() {
			t.Errorf("lang.%s = %q, want %q", l, got, l.Name())
		}
	}
}

func TestParseCatalogueErrors(t *testing.T) {
	for _, in := range []string{
		`{"a": 1}`,
		`{"a": {"one": "x"}}`,
		`{"a": {"single": "x", "other": "y"}}`,
		`not json`,
	} {
		if _, err := parseCatalogue([]byte(in)); err == nil {
			t.Errorf("parseCatalogue(%s): no error", in)
		}
	}
}
