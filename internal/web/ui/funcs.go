package ui

import (
	"errors"
	"fmt"
	"html/template"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// baseFuncs are the template functions that do not depend on the viewer.
func baseFuncs() template.FuncMap {
	return template.FuncMap{
		"asset":     assetURL,
		"csrfField": csrfField,
		"dict":      dict,
		"list":      func(v ...any) []any { return v },
		"seq":       seq,
		"add":       add,
		"sub":       func(a, b int) int { return a - b },
		"query":     query,
		"initials":  initials,
		"tagClass":  tagClass,
		"langs":     i18n.Supported,
		"options":   options,
		"maxlen":    maxLen,
	}
}

// maxLen is the crm limit of a record kind's text field, for an input's
// maxlength: {{maxlen "contact" "given_name"}}. A field without a limit is
// a template error, so a typo cannot silently drop the limit.
func maxLen(kind, field string) (int, error) {
	if n := crm.MaxLen(kind, field); n > 0 {
		return n, nil
	}
	return 0, fmt.Errorf("maxlen: no limit for %s.%s", kind, field)
}

// localeFuncs are the functions bound to the viewer's language and time
// zone; the renderer installs them on a per-locale clone of each page.
func localeFuncs(l i18n.Lang, loc *time.Location) template.FuncMap {
	// timeFunc adapts a formatter to time.Time or *time.Time, converting to
	// the viewer's zone; zero and nil times print nothing rather than
	// "Jan 1, 1".
	timeFunc := func(f func(time.Time) string, convert bool) func(any) (string, error) {
		return func(v any) (string, error) {
			t, ok, err := asTime(v)
			if !ok || err != nil {
				return "", err
			}
			if convert && loc != nil {
				t = t.In(loc)
			}
			return f(t), nil
		}
	}
	return template.FuncMap{
		"t": l.T,
		// syncReason puts a sync journal reason in words.
		"syncReason": func(entity, reason string) string { return reconcile.DescribeReason(l, entity, reason) },
		"n": func(key string, count any, args ...any) (string, error) {
			switch c := count.(type) {
			case float64:
				return l.NFloat(key, c, args...), nil
			case float32:
				return l.NFloat(key, float64(c), args...), nil
			}
			n, err := toInt(count)
			if err != nil {
				return "", fmt.Errorf("n %q: %w", key, err)
			}
			return l.N(key, n, args...), nil
		},
		"number":      l.FormatNumber,
		"date":        timeFunc(l.FormatDate, true),
		"dateLong":    timeFunc(l.FormatDateLong, true),
		"dateNumeric": timeFunc(l.FormatDateNumeric, true),
		"datetime":    timeFunc(l.FormatDateTime, true),
		"time":        timeFunc(l.FormatTime, true),
		"monthYear":   timeFunc(l.FormatMonthYear, true),
		"dateFull":    timeFunc(l.FormatDateFull, true),
		"dateRange": func(first, last any) (string, error) {
			a, okA, err := asTime(first)
			if err != nil {
				return "", err
			}
			b, okB, err := asTime(last)
			if err != nil || !okA || !okB {
				return "", err
			}
			if loc != nil {
				a, b = a.In(loc), b.In(loc)
			}
			return l.FormatDateRange(a, b), nil
		},
		// civildate shows the calendar date a time carries, unconverted:
		// all-day activities are stored as midnight UTC of their date and
		// must not move a day for a viewer west of Greenwich.
		"civildate":     timeFunc(l.FormatDate, false),
		"inputDate":     timeFunc(func(t time.Time) string { return t.Format("2006-01-02") }, true),
		"inputDateTime": timeFunc(func(t time.Time) string { return t.Format("2006-01-02T15:04") }, true),
		"month": func(v any) (string, error) {
			if t, ok, _ := asTime(v); ok {
				return l.MonthName(t.Month()), nil
			}
			n, err := toInt(v)
			return l.MonthName(time.Month(n)), err
		},
		// birthday shows a crm.Contact.Birthday: a long date, or the day
		// and month when the year is unknown.
		"birthday": func(s string) string {
			y, m, d, ok := crm.ParseBirthday(s)
			switch {
			case !ok:
				return s
			case y == 0:
				return l.FormatDayMonth(time.Month(m), d)
			}
			return l.FormatDateLong(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC))
		},
		"weekday": func(v any) (string, error) {
			if t, ok, _ := asTime(v); ok {
				return l.WeekdayShort(t.Weekday()), nil
			}
			n, err := toInt(v)
			return l.WeekdayShort(time.Weekday((n%7 + 7) % 7)), err // 7 is Sunday again
		},
		// recurrence describes an activity's rule in words, "" when it
		// cannot (the page then shows the rule itself). An all-day series
		// lives on UTC dates; a timed one in its own zone.
		"recurrence": func(rule, tz string, allDay bool) string {
			zone, err := time.LoadLocation(tz)
			if err != nil || allDay {
				zone = time.UTC
			}
			s, _ := describeRecurrence(l, rule, zone)
			return s
		},
		"fieldError": func(page any, field string) (string, error) {
			var errs map[string]string
			switch p := page.(type) {
			case PageData:
				errs = p.Errors
			case *PageData:
				if p != nil {
					errs = p.Errors
				}
			case map[string]string:
				errs = p
			case nil:
			default:
				return "", fmt.Errorf("fieldError: want PageData, got %T", page)
			}
			if key := errs[field]; key != "" {
				return l.T(key), nil
			}
			return "", nil
		},
	}
}

// asTime accepts time.Time and *time.Time; ok is false for nil and zero.
func asTime(v any) (t time.Time, ok bool, err error) {
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return t, false, nil
		}
		t = *x
	case nil:
		return t, false, nil
	default:
		return t, false, fmt.Errorf("want a time, got %T", v)
	}
	return t, !t.IsZero(), nil
}

// toInt accepts any integer kind, as template literals are int but model
// fields are often int64.
func toInt(v any) (int, error) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return int(rv.Uint()), nil
	}
	return 0, fmt.Errorf("want an integer, got %T", v)
}

// csrfField renders the hidden CSRF input. It takes the token, or the
// PageData so a partial given the page can call it.
func csrfField(v any) (template.HTML, error) {
	var token string
	switch x := v.(type) {
	case string:
		token = x
	case PageData:
		token = x.CSRF
	case *PageData:
		token = x.CSRF
	default:
		return "", fmt.Errorf("csrfField: want a token or PageData, got %T", v)
	}
	return template.HTML(`<input type="hidden" name="csrf_token" value="` + template.HTMLEscapeString(token) + `">`), nil
}

// dict builds a map from key/value pairs, to pass several values to a
// partial: {{template "form_field" dict "Page" $ "Name" "email"}}.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is %T, not string", kv[i], kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// seq returns 0…n-1 for one argument and start…end-1 for two, e.g. hours
// of a day: {{range seq 24}}.
func seq(bounds ...int) ([]int, error) {
	var start, end int
	switch len(bounds) {
	case 1:
		end = bounds[0]
	case 2:
		start, end = bounds[0], bounds[1]
	default:
		return nil, errors.New("seq: want 1 or 2 arguments")
	}
	if end-start > 10000 {
		return nil, errors.New("seq: range too long")
	}
	var out []int
	for i := start; i < end; i++ {
		out = append(out, i)
	}
	return out, nil
}

func add(nums ...int) int {
	s := 0
	for _, n := range nums {
		s += n
	}
	return s
}

// query returns "?"+the encoded values with the given key/value pairs set;
// an empty value removes the key. Links keep the current filters this way:
// href="{{query $.Form "cursor" .Next}}".
func query(values url.Values, kv ...string) (string, error) {
	if len(kv)%2 != 0 {
		return "", errors.New("query: odd number of arguments")
	}
	q := url.Values{}
	for k, v := range values {
		q[k] = slices.Clone(v)
	}
	delete(q, "csrf_token") // never leak a token into a URL
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return "?" + q.Encode(), nil
}

// initials returns up to two capital letters for an avatar.
func initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		// The first letter or digit, so "(Anna)" and "«Ромашка»" still count.
		i := strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) })
		if i < 0 {
			continue
		}
		out = append(out, unicode.ToUpper([]rune(w[i:])[0]))
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// tagColors are the chip palettes app.css defines.
var tagColors = []string{"gray", "red", "orange", "yellow", "green", "teal", "blue", "indigo", "purple", "pink"}

// tagClass maps a tag colour to its CSS class, falling back to gray so a
// colour from a remote system cannot inject a class name.
func tagClass(color string) string {
	if slices.Contains(tagColors, color) {
		return "tag-" + color
	}
	return "tag-gray"
}

// options builds select options whose labels are catalogue keys
// prefix.value: {{options "contact.type" "employee" "customer"}}. Values may
// also come as one []string; empty values are skipped (the placeholder
// option stands for them).
func options(prefix string, values ...any) ([]Option, error) {
	var out []Option
	addValue := func(v string) {
		if v != "" {
			out = append(out, Option{Value: v, Key: prefix + "." + v})
		}
	}
	for _, v := range values {
		switch x := v.(type) {
		case string:
			addValue(x)
		case []string:
			for _, s := range x {
				addValue(s)
			}
		default:
			return nil, fmt.Errorf("options: want strings, got %T", v)
		}
	}
	return out, nil
}
