package i18n

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The patterns below follow CLDR 48 (as shipped in ICU 78): "medium" dates,
// "short" times, and the "#,##0.###" decimal pattern. Times are formatted in
// their own location; convert with t.In first.

// Russian months: abbreviated and full genitive forms are used inside dates
// ("2 янв."), the standalone nominative form on its own ("Январь").
var (
	enMonthsShort = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	ruMonthsShort = [12]string{"янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.", "нояб.", "дек."}
	ruMonthsGen   = [12]string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}
	ruMonthsAlone = [12]string{"январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь"}
	ruDaysShort   = [7]string{"вс", "пн", "вт", "ср", "чт", "пт", "сб"}
	ruDays        = [7]string{"воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"}
)

// FormatDate formats the date in CLDR medium style: "Jan 2, 2026",
// "2 янв. 2026 г.".
func (l Lang) FormatDate(t time.Time) string {
	if l.norm() == Ru {
		return fmt.Sprintf("%d %s %d г.", t.Day(), ruMonthsShort[t.Month()-1], t.Year())
	}
	return fmt.Sprintf("%s %d, %d", enMonthsShort[t.Month()-1], t.Day(), t.Year())
}

// FormatDateLong formats the date in CLDR long style: "January 2, 2026",
// "2 января 2026 г.".
func (l Lang) FormatDateLong(t time.Time) string {
	if l.norm() == Ru {
		return fmt.Sprintf("%d %s %d г.", t.Day(), ruMonthsGen[t.Month()-1], t.Year())
	}
	return fmt.Sprintf("%s %d, %d", t.Month(), t.Day(), t.Year())
}

// FormatDayMonth formats a day of a month without its year, as CLDR's
// "MMMMd" skeleton does: "April 12", "12 апреля" (a birthday whose year is
// unknown).
func (l Lang) FormatDayMonth(m time.Month, day int) string {
	if m < time.January || m > time.December {
		return ""
	}
	if l.norm() == Ru {
		return fmt.Sprintf("%d %s", day, ruMonthsGen[m-1])
	}
	return fmt.Sprintf("%s %d", m, day)
}

// FormatDateNumeric formats the date with digits only, for dense tables:
// "1/2/2026", "02.01.2026".
func (l Lang) FormatDateNumeric(t time.Time) string {
	if l.norm() == Ru {
		return t.Format("02.01.2006")
	}
	return t.Format("1/2/2006")
}

// FormatTime formats the time of day: "3:04 PM", "15:04".
func (l Lang) FormatTime(t time.Time) string {
	if l.norm() == Ru {
		return t.Format("15:04")
	}
	return t.Format("3:04 PM")
}

// FormatDateTime formats date and time: "Jan 2, 2026, 3:04 PM",
// "2 янв. 2026 г., 15:04".
func (l Lang) FormatDateTime(t time.Time) string {
	return l.FormatDate(t) + ", " + l.FormatTime(t)
}

// FormatMonthYear formats a calendar heading: "January 2026",
// "Январь 2026 г.".
func (l Lang) FormatMonthYear(t time.Time) string {
	if l.norm() == Ru {
		return fmt.Sprintf("%s %d г.", l.MonthName(t.Month()), t.Year())
	}
	return fmt.Sprintf("%s %d", t.Month(), t.Year())
}

// FormatDateRange names the days from first to last (both inclusive) as
// CLDR's medium interval formats do, leaving out what the two share:
// "Dec 1 – 7, 2026", "Nov 29 – Dec 5, 2026", "Dec 29, 2026 – Jan 4, 2027";
// "1–7 дек. 2026 г.", "29 нояб. – 5 дек. 2026 г.",
// "29 дек. 2026 г. – 4 янв. 2027 г.". One day is FormatDate.
func (l Lang) FormatDateRange(first, last time.Time) string {
	fy, fm, fd := first.Date()
	ly, lm, ld := last.Date()
	ru := l.norm() == Ru
	switch {
	case fy == ly && fm == lm && fd == ld:
		return l.FormatDate(first)
	case fy != ly:
		return l.FormatDate(first) + " – " + l.FormatDate(last)
	case fm != lm && ru:
		return fmt.Sprintf("%d %s – %d %s %d г.", fd, ruMonthsShort[fm-1], ld, ruMonthsShort[lm-1], ly)
	case fm != lm:
		return fmt.Sprintf("%s %d – %s %d, %d", enMonthsShort[fm-1], fd, enMonthsShort[lm-1], ld, ly)
	case ru:
		return fmt.Sprintf("%d–%d %s %d г.", fd, ld, ruMonthsShort[lm-1], ly)
	default:
		return fmt.Sprintf("%s %d – %d, %d", enMonthsShort[fm-1], fd, ld, ly)
	}
}

// FormatDateFull formats the date with its weekday, as CLDR's full style:
// "Monday, November 30, 2026", "Понедельник, 30 ноября 2026 г." (the
// weekday capitalised, as it heads a page).
func (l Lang) FormatDateFull(t time.Time) string {
	return l.WeekdayName(t.Weekday()) + ", " + l.FormatDateLong(t)
}

// MonthName returns the standalone month name, capitalised for use as a
// label: "January", "Январь".
func (l Lang) MonthName(m time.Month) string {
	if m < time.January || m > time.December {
		return ""
	}
	if l.norm() == Ru {
		return capitalize(ruMonthsAlone[m-1])
	}
	return m.String()
}

// WeekdayShort returns the abbreviated weekday, capitalised for column
// headings: "Mon", "Пн".
func (l Lang) WeekdayShort(d time.Weekday) string {
	if d < time.Sunday || d > time.Saturday {
		return ""
	}
	if l.norm() == Ru {
		return capitalize(ruDaysShort[d])
	}
	return d.String()[:3]
}

// WeekdayName returns the full weekday, capitalised: "Monday",
// "Понедельник".
func (l Lang) WeekdayName(d time.Weekday) string {
	if d < time.Sunday || d > time.Saturday {
		return ""
	}
	if l.norm() == Ru {
		return capitalize(ruDays[d])
	}
	return d.String()
}

// FirstWeekday is the day a calendar week starts on: Monday in Russia,
// Sunday in the US-English locale.
func (l Lang) FirstWeekday() time.Weekday {
	if l.norm() == Ru {
		return time.Monday
	}
	return time.Sunday
}

// Weekdays returns the seven weekdays in calendar order for the locale.
func (l Lang) Weekdays() []time.Weekday {
	days := make([]time.Weekday, 7)
	for i := range days {
		days[i] = (l.FirstWeekday() + time.Weekday(i)) % 7
	}
	return days
}

// WeekStart returns midnight of the first day of the locale's week that
// contains t, in t's location. It steps by calendar days, not 24 hours, so a
// daylight-saving change inside the week does not shift it.
func (l Lang) WeekStart(t time.Time) time.Time {
	back := (int(t.Weekday()) - int(l.FirstWeekday()) + 7) % 7
	y, m, d := t.Date()
	return time.Date(y, m, d-back, 0, 0, 0, 0, t.Location())
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// Number symbols. CLDR's Russian grouping separator is U+00A0 NO-BREAK SPACE
// (not U+202F, which French uses); it keeps "1 234" on one line.
const maxFraction = 3 // CLDR decimal pattern "#,##0.###"

func (l Lang) symbols() (group, decimal string) {
	if l.norm() == Ru {
		return "\u00a0", ","
	}
	return ",", "."
}

// FormatInt formats an integer with locale grouping: "1,234,567",
// "1 234 567".
func (l Lang) FormatInt(n int64) string {
	return l.localize(strconv.FormatInt(n, 10))
}

// FormatFloat formats a decimal with at most three fraction digits and no
// trailing zeros: "1,234,567.5", "1 234 567,5".
func (l Lang) FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "∞"
	case math.IsInf(f, -1):
		return "-∞"
	}
	return l.localize(trimFraction(strconv.FormatFloat(f, 'f', maxFraction, 64)))
}

// FormatFixed formats a decimal with exactly digits fraction digits, for
// amounts and percentages: FormatFixed(2.5, 2) is "2.50", "2,50".
func (l Lang) FormatFixed(f float64, digits int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return l.FormatFloat(f)
	}
	s := strconv.FormatFloat(f, 'f', max(digits, 0), 64)
	if strings.Trim(s, "-0.") == "" {
		s = strings.TrimPrefix(s, "-") // no "-0.00"
	}
	return l.localize(s)
}

// FormatNumber formats any Go integer or float type; other values are
// printed with fmt. It exists for templates, which cannot pick a method by
// type.
func (l Lang) FormatNumber(v any) string {
	switch n := v.(type) {
	case int:
		return l.FormatInt(int64(n))
	case int8:
		return l.FormatInt(int64(n))
	case int16:
		return l.FormatInt(int64(n))
	case int32:
		return l.FormatInt(int64(n))
	case int64:
		return l.FormatInt(n)
	case uint:
		return l.localize(strconv.FormatUint(uint64(n), 10))
	case uint8:
		return l.FormatInt(int64(n))
	case uint16:
		return l.FormatInt(int64(n))
	case uint32:
		return l.FormatInt(int64(n))
	case uint64:
		return l.localize(strconv.FormatUint(n, 10))
	case float32:
		return l.FormatFloat(float64(n))
	case float64:
		return l.FormatFloat(n)
	}
	return fmt.Sprint(v)
}

// trimFraction drops trailing fraction zeros and a "-" left on zero.
func trimFraction(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}

// localize rewrites a plain "-1234.5" in the locale's symbols.
func (l Lang) localize(s string) string {
	group, decimal := l.symbols()
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteString(decimal)
		b.WriteString(frac)
	}
	return b.String()
}
