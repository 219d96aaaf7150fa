package ui

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
)

// describeRecurrence puts a recurrence rule (RFC 5545 RRULE) in words:
// "Weekly on Mon, Wed, Fri, 6 times", "Ежемесячно в последнюю пятницу".
// It covers what people and calendars commonly use — FREQ DAILY to YEARLY,
// INTERVAL, BYDAY (with an ordinal in a month: 1MO, -1FR), BYMONTHDAY,
// COUNT and UNTIL; ok is false for anything else (BYMONTH, BYSETPOS, hourly
// rules…), which the caller then shows as the rule itself. UNTIL shows as a
// date in loc, the zone the rule was written in.
func describeRecurrence(l i18n.Lang, rule string, loc *time.Location) (string, bool) {
	rule = strings.TrimPrefix(strings.TrimSpace(rule), "RRULE:")
	if rule == "" || crm.ValidRRule(rule) != nil {
		return "", false
	}
	if loc == nil {
		loc = time.UTC
	}
	var freq, byDay, byMonthDay string
	var interval, count int
	var until time.Time
	seen := map[string]bool{}
	for _, part := range strings.Split(rule, ";") {
		k, v, _ := strings.Cut(part, "=")
		k = strings.ToUpper(k)
		if seen[k] {
			return "", false
		}
		seen[k] = true
		var err error
		switch k {
		case "FREQ":
			freq = strings.ToUpper(v)
		case "INTERVAL":
			interval, err = strconv.Atoi(v)
		case "COUNT":
			count, err = strconv.Atoi(v)
		case "UNTIL":
			var ok bool
			if until, ok = parseRRuleTime(v, loc); !ok {
				return "", false
			}
		case "BYDAY":
			byDay = strings.ToUpper(v)
		case "BYMONTHDAY":
			byMonthDay = v
		case "WKST": // changes which weeks an INTERVAL counts from, not the words
		default:
			return "", false
		}
		if err != nil {
			return "", false
		}
	}
	if interval < 1 {
		interval = 1
	}
	words := []string{}
	if interval == 1 {
		key, ok := map[string]string{"DAILY": "rrule.daily", "WEEKLY": "rrule.weekly", "MONTHLY": "rrule.monthly", "YEARLY": "rrule.yearly"}[freq]
		if !ok {
			return "", false
		}
		words = append(words, l.T(key))
	} else {
		key, ok := map[string]string{"DAILY": "rrule.every_days", "WEEKLY": "rrule.every_weeks", "MONTHLY": "rrule.every_months", "YEARLY": "rrule.every_years"}[freq]
		if !ok {
			return "", false
		}
		words = append(words, l.N(key, interval))
	}
	if byDay != "" {
		days, ok := describeByDay(l, freq, byDay)
		if !ok {
			return "", false
		}
		words = append(words, days)
	}
	if byMonthDay != "" {
		if freq != "MONTHLY" || byDay != "" {
			return "", false
		}
		days, ok := describeByMonthDay(l, byMonthDay)
		if !ok {
			return "", false
		}
		words = append(words, days)
	}
	out := strings.Join(words, " ")
	if count > 0 {
		out += ", " + l.N("rrule.times", count)
	}
	if !until.IsZero() {
		out += ", " + l.T("rrule.until", l.FormatDate(until))
	}
	return out, true
}

// rruleDays are the RRULE weekday codes; the catalogue keys end in them.
var rruleDays = []string{"MO", "TU", "WE", "TH", "FR", "SA", "SU"}

// describeByDay reads BYDAY: plain days ("on Mon, Wed") for any
// frequency, or days with an ordinal in a month ("on the first Monday",
// "on the last Friday") for a monthly rule.
func describeByDay(l i18n.Lang, freq, v string) (string, bool) {
	var plain, nth []string
	for _, d := range strings.Split(v, ",") {
		if len(d) < 2 {
			return "", false
		}
		day, ord := d[len(d)-2:], d[:len(d)-2]
		if !slices.Contains(rruleDays, day) {
			return "", false
		}
		if ord == "" {
			plain = append(plain, l.T("rrule.day."+day))
			continue
		}
		n, err := strconv.Atoi(ord)
		if err != nil || freq != "MONTHLY" {
			return "", false
		}
		// Ordinals as the catalogue lists them per weekday, so that they
		// agree with it (Russian gender, "в"/"во"): first … fifth, last.
		ords := strings.Split(l.T("rrule.ordinals."+day), "|")
		switch {
		case n >= 1 && n <= 5 && len(ords) == 6:
			nth = append(nth, l.T("rrule.on_nth", ords[n-1], l.T("rrule.day_nth."+day)))
		case n == -1 && len(ords) == 6:
			nth = append(nth, l.T("rrule.on_nth", ords[5], l.T("rrule.day_nth."+day)))
		default:
			return "", false
		}
	}
	switch {
	case len(nth) == 0:
		return l.T("rrule.on_weekdays", strings.Join(plain, ", ")), true
	case len(plain) == 0:
		return strings.Join(nth, ", "), true
	}
	return "", false // "every Monday and the first Friday" is rare; the rule says it best
}

// describeByMonthDay reads BYMONTHDAY: "on day 15", "on days 1, 15", "on
// the last day".
func describeByMonthDay(l i18n.Lang, v string) (string, bool) {
	if v == "-1" {
		return l.T("rrule.on_last_day"), true
	}
	var days []string
	for _, d := range strings.Split(v, ",") {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 31 {
			return "", false
		}
		days = append(days, l.T("rrule.monthday", n))
	}
	if len(days) == 1 {
		return l.T("rrule.on_monthday", days[0]), true
	}
	return l.T("rrule.on_monthdays", strings.Join(days, ", ")), true
}
