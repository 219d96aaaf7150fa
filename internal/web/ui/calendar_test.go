package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
)

func calZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	return loc
}

func calAt(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, loc)
}

func calPtr(t time.Time) *time.Time { return &t }

func TestExpandOccurrences(t *testing.T) {
	moscow := calZone(t, "Europe/Moscow")
	ny := calZone(t, "America/New_York")
	vlad := calZone(t, "Asia/Vladivostok")
	utc := time.UTC
	// A 1-hour meeting at 09:00 New York time, first on Monday 2 March 2026
	// (EST, UTC-5); New York moves to EDT (UTC-4) on Sunday 8 March.
	nyWeekly := crm.Activity{ID: "w", Title: "Standup", Type: "meeting", TimeZone: "America/New_York",
		Start: calPtr(calAt(ny, 2026, 3, 2, 9, 0).UTC()), End: calPtr(calAt(ny, 2026, 3, 2, 10, 0).UTC()), RRule: "FREQ=WEEKLY"}
	nyDaily := nyWeekly
	nyDaily.RRule = "FREQ=DAILY"
	nyDaily.Start, nyDaily.End = calPtr(calAt(ny, 2026, 3, 6, 9, 0).UTC()), calPtr(calAt(ny, 2026, 3, 6, 9, 30).UTC())

	type occ struct{ start, end time.Time }
	tests := []struct {
		name     string
		a        crm.Activity
		from, to time.Time
		loc      *time.Location
		want     []occ
		allDay   bool
	}{
		{
			name: "weekly with an exception date",
			a: crm.Activity{TimeZone: "Europe/Moscow", Start: calPtr(calAt(moscow, 2026, 3, 2, 10, 0).UTC()),
				End: calPtr(calAt(moscow, 2026, 3, 2, 11, 30).UTC()), RRule: "FREQ=WEEKLY;BYDAY=MO",
				ExDates: []time.Time{calAt(moscow, 2026, 3, 9, 10, 0).UTC()}},
			from: calAt(moscow, 2026, 3, 1, 0, 0), to: calAt(moscow, 2026, 3, 23, 0, 0), loc: moscow,
			want: []occ{
				{calAt(moscow, 2026, 3, 2, 10, 0), calAt(moscow, 2026, 3, 2, 11, 30)},
				{calAt(moscow, 2026, 3, 16, 10, 0), calAt(moscow, 2026, 3, 16, 11, 30)},
			},
		},
		{
			name: "daily with COUNT",
			a: crm.Activity{TimeZone: "UTC", Start: calPtr(calAt(utc, 2026, 1, 30, 9, 0)), End: calPtr(calAt(utc, 2026, 1, 30, 9, 15)),
				RRule: "FREQ=DAILY;COUNT=3"},
			from: calAt(utc, 2026, 1, 1, 0, 0), to: calAt(utc, 2026, 3, 1, 0, 0), loc: utc,
			want: []occ{
				{calAt(utc, 2026, 1, 30, 9, 0), calAt(utc, 2026, 1, 30, 9, 15)},
				{calAt(utc, 2026, 1, 31, 9, 0), calAt(utc, 2026, 1, 31, 9, 15)},
				{calAt(utc, 2026, 2, 1, 9, 0), calAt(utc, 2026, 2, 1, 9, 15)},
			},
		},
		{
			name: "daily with COUNT, range after the series",
			a: crm.Activity{TimeZone: "UTC", Start: calPtr(calAt(utc, 2026, 1, 30, 9, 0)), End: calPtr(calAt(utc, 2026, 1, 30, 9, 15)),
				RRule: "FREQ=DAILY;COUNT=3"},
			from: calAt(utc, 2026, 2, 2, 0, 0), to: calAt(utc, 2026, 3, 1, 0, 0), loc: utc,
		},
		{
			name: "all-day over three days, seen west of Greenwich",
			a: crm.Activity{AllDay: true, TimeZone: "Europe/Moscow", Start: calPtr(calAt(utc, 2026, 3, 5, 0, 0)),
				End: calPtr(calAt(utc, 2026, 3, 8, 0, 0))},
			from: calAt(ny, 2026, 3, 1, 0, 0), to: calAt(ny, 2026, 3, 8, 0, 0), loc: ny, allDay: true,
			want: []occ{{calAt(ny, 2026, 3, 5, 0, 0), calAt(ny, 2026, 3, 8, 0, 0)}},
		},
		{
			name: "all-day over three days, seen far east, overlapping the range start",
			a:    crm.Activity{AllDay: true, Start: calPtr(calAt(utc, 2026, 2, 27, 0, 0)), End: calPtr(calAt(utc, 2026, 3, 2, 0, 0))},
			from: calAt(vlad, 2026, 3, 1, 0, 0), to: calAt(vlad, 2026, 3, 8, 0, 0), loc: vlad, allDay: true,
			want: []occ{{calAt(vlad, 2026, 2, 27, 0, 0), calAt(vlad, 2026, 3, 2, 0, 0)}},
		},
		{
			name: "all-day yearly with an exception",
			a: crm.Activity{AllDay: true, Start: calPtr(calAt(utc, 2024, 3, 3, 0, 0)), End: calPtr(calAt(utc, 2024, 3, 4, 0, 0)),
				RRule: "FREQ=YEARLY", ExDates: []time.Time{calAt(utc, 2025, 3, 3, 0, 0)}},
			from: calAt(moscow, 2025, 1, 1, 0, 0), to: calAt(moscow, 2027, 1, 1, 0, 0), loc: moscow, allDay: true,
			want: []occ{{calAt(moscow, 2026, 3, 3, 0, 0), calAt(moscow, 2026, 3, 4, 0, 0)}},
		},
		{
			name: "New York weekly, the week before the DST change",
			a:    nyWeekly, from: calAt(ny, 2026, 3, 1, 0, 0), to: calAt(ny, 2026, 3, 8, 0, 0), loc: ny,
			want: []occ{{calAt(ny, 2026, 3, 2, 9, 0), calAt(ny, 2026, 3, 2, 10, 0)}},
		},
		{
			name: "New York weekly stays at 09:00 local after the DST change",
			a:    nyWeekly, from: calAt(ny, 2026, 3, 8, 0, 0), to: calAt(ny, 2026, 3, 15, 0, 0), loc: ny,
			want: []occ{{calAt(ny, 2026, 3, 9, 9, 0), calAt(ny, 2026, 3, 9, 10, 0)}},
		},
		{
			name: "New York weekly seen from Moscow (no DST): 17:00, then 16:00",
			a:    nyWeekly, from: calAt(moscow, 2026, 3, 2, 0, 0), to: calAt(moscow, 2026, 3, 16, 0, 0), loc: moscow,
			want: []occ{
				{calAt(moscow, 2026, 3, 2, 17, 0), calAt(moscow, 2026, 3, 2, 18, 0)},
				{calAt(moscow, 2026, 3, 9, 16, 0), calAt(moscow, 2026, 3, 9, 17, 0)},
			},
		},
		{
			name: "New York daily through the switch day",
			a:    nyDaily, from: calAt(ny, 2026, 3, 7, 0, 0), to: calAt(ny, 2026, 3, 10, 0, 0), loc: ny,
			want: []occ{
				{calAt(ny, 2026, 3, 7, 9, 0), calAt(ny, 2026, 3, 7, 9, 30)},
				{calAt(ny, 2026, 3, 8, 9, 0), calAt(ny, 2026, 3, 8, 9, 30)},
				{calAt(ny, 2026, 3, 9, 9, 0), calAt(ny, 2026, 3, 9, 9, 30)},
			},
		},
		{
			name: "a single event that started before the range",
			a:    crm.Activity{TimeZone: "UTC", Start: calPtr(calAt(utc, 2026, 2, 28, 23, 0)), End: calPtr(calAt(utc, 2026, 3, 1, 1, 0))},
			from: calAt(utc, 2026, 3, 1, 0, 0), to: calAt(utc, 2026, 3, 8, 0, 0), loc: utc,
			want: []occ{{calAt(utc, 2026, 2, 28, 23, 0), calAt(utc, 2026, 3, 1, 1, 0)}},
		},
		{
			name: "a single event that ends as the range starts",
			a:    crm.Activity{TimeZone: "UTC", Start: calPtr(calAt(utc, 2026, 2, 28, 23, 0)), End: calPtr(calAt(utc, 2026, 3, 1, 0, 0))},
			from: calAt(utc, 2026, 3, 1, 0, 0), to: calAt(utc, 2026, 3, 8, 0, 0), loc: utc,
		},
		{
			name: "an event without an end, on the range start",
			a:    crm.Activity{TimeZone: "UTC", Start: calPtr(calAt(utc, 2026, 3, 1, 0, 0))},
			from: calAt(utc, 2026, 3, 1, 0, 0), to: calAt(utc, 2026, 3, 8, 0, 0), loc: utc,
			want: []occ{{calAt(utc, 2026, 3, 1, 0, 0), calAt(utc, 2026, 3, 1, 0, 0)}},
		},
		{
			name: "an unreadable rule still shows the first occurrence",
			a: crm.Activity{TimeZone: "UTC", Start: calPtr(calAt(utc, 2026, 3, 3, 8, 0)), End: calPtr(calAt(utc, 2026, 3, 3, 9, 0)),
				RRule: "FREQ=SOMETIMES"},
			from: calAt(utc, 2026, 3, 1, 0, 0), to: calAt(utc, 2026, 3, 8, 0, 0), loc: utc,
			want: []occ{{calAt(utc, 2026, 3, 3, 8, 0), calAt(utc, 2026, 3, 3, 9, 0)}},
		},
		{
			name: "UNTIL before the range",
			a: crm.Activity{TimeZone: "UTC", Start: calPtr(calAt(utc, 2026, 1, 5, 8, 0)), End: calPtr(calAt(utc, 2026, 1, 5, 9, 0)),
				RRule: "FREQ=WEEKLY;UNTIL=20260131T235959Z"},
			from: calAt(utc, 2026, 3, 1, 0, 0), to: calAt(utc, 2026, 3, 8, 0, 0), loc: utc,
		},
		{
			name: "no start: nothing to show",
			a:    crm.Activity{TimeZone: "UTC", RRule: "FREQ=DAILY"},
			from: calAt(utc, 2026, 3, 1, 0, 0), to: calAt(utc, 2026, 3, 8, 0, 0), loc: utc,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := expandOccurrences(tt.a, tt.from, tt.to, tt.loc)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d occurrences, want %d: %v", len(got), len(tt.want), got)
			}
			for i, o := range got {
				w := tt.want[i]
				if !o.Start.Equal(w.start) || !o.End.Equal(w.end) {
					t.Errorf("occurrence %d: %s – %s, want %s – %s", i, o.Start, o.End, w.start, w.end)
				}
				if o.Start.Location() != tt.loc {
					t.Errorf("occurrence %d in %s, want %s", i, o.Start.Location(), tt.loc)
				}
				if o.Start.Hour() != w.start.Hour() || o.Start.Minute() != w.start.Minute() {
					t.Errorf("occurrence %d at %s local, want %s", i, o.Start.Format("15:04"), w.start.Format("15:04"))
				}
				if o.AllDay != tt.allDay || o.Recurring != (tt.a.RRule != "") {
					t.Errorf("occurrence %d: all-day %v recurring %v", i, o.AllDay, o.Recurring)
				}
			}
		})
	}
	// The same instant, two UTC offsets: the local hour is what stays.
	got := expandOccurrences(nyWeekly, calAt(ny, 2026, 3, 1, 0, 0), calAt(ny, 2026, 3, 15, 0, 0), time.UTC)
	if len(got) != 2 || got[0].Start.Hour() != 14 || got[1].Start.Hour() != 13 {
		t.Errorf("in UTC: %v", got)
	}
}

func TestLayoutColumns(t *testing.T) {
	evs := []calEvent{
		{Occurrence: Occurrence{ID: "c"}, StartMin: 660, Duration: 60},
		{Occurrence: Occurrence{ID: "b"}, StartMin: 570, Duration: 60},
		{Occurrence: Occurrence{ID: "a"}, StartMin: 540, Duration: 60},
		{Occurrence: Occurrence{ID: "d"}, StartMin: 600, Duration: 30},
	}
	layoutColumns(evs)
	got := map[string][2]int{}
	for _, e := range evs {
		got[e.ID] = [2]int{e.Col, e.Cols}
	}
	// a 9:00–10:00, b 9:30–10:30 and d 10:00–10:30 overlap (d takes a's
	// column); c at 11:00 stands alone.
	want := map[string][2]int{"a": {0, 2}, "b": {1, 2}, "d": {0, 2}, "c": {0, 1}}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: col/cols %v, want %v", id, got[id], w)
		}
	}
}

func TestRecurrencePicker(t *testing.T) {
	moscow := calZone(t, "Europe/Moscow")
	for _, tt := range []struct {
		form activityForm
		want string
		errs []string
	}{
		{activityForm{Repeat: "none"}, "", nil},
		{activityForm{Repeat: "weekly", Interval: "1"}, "FREQ=WEEKLY", nil},
		{activityForm{Repeat: "daily", Interval: "2", Count: "10"}, "FREQ=DAILY;INTERVAL=2;COUNT=10", nil},
		{activityForm{Repeat: "monthly", Until: "2026-06-30"}, "FREQ=MONTHLY;UNTIL=20260630T205959Z", nil},
		{activityForm{Repeat: "yearly", Until: "2030-01-01", AllDay: true}, "FREQ=YEARLY;UNTIL=20300101", nil},
		{activityForm{Repeat: "weekly", Interval: "x", Count: "0"}, "FREQ=WEEKLY", []string{"count", "interval"}},
		{activityForm{Repeat: "weekly", Count: "3", Until: "2026-01-01"}, "FREQ=WEEKLY;COUNT=3;UNTIL=20260101T205959Z", []string{"count"}},
		// The advanced text wins when chosen or edited.
		{activityForm{Repeat: "custom", RRule: "RRULE:FREQ=WEEKLY;BYDAY=MO,WE"}, "FREQ=WEEKLY;BYDAY=MO,WE", nil},
		{activityForm{Repeat: "daily", RRule: "FREQ=WEEKLY;BYDAY=FR", RRuleShown: "FREQ=DAILY"}, "FREQ=WEEKLY;BYDAY=FR", nil},
		// Untouched advanced text follows the picker, so "none" clears a rule.
		{activityForm{Repeat: "none", RRule: "FREQ=DAILY", RRuleShown: "FREQ=DAILY"}, "", nil},
	} {
		fe := crm.FieldErrors{}
		if got := tt.form.rrule(moscow, fe); got != tt.want {
			t.Errorf("%+v: rule %q, want %q", tt.form, got, tt.want)
		}
		var keys []string
		for k := range fe {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, tt.errs) {
			t.Errorf("%+v: errors %v, want %v", tt.form, fe, tt.errs)
		}
		if tt.want != "" && len(fe) == 0 {
			if err := crm.ValidRRule(tt.want); err != nil {
				t.Errorf("%q does not parse: %v", tt.want, err)
			}
		}
	}
	for rule, want := range map[string]string{
		"":                                    "none 1  ",
		"FREQ=WEEKLY":                         "weekly 1  ",
		"FREQ=DAILY;INTERVAL=3;COUNT=5":       "daily 3  5",
		"FREQ=MONTHLY;UNTIL=20260630T205959Z": "monthly 1 2026-06-30 ",
		"FREQ=YEARLY;UNTIL=20300101":          "yearly 1 2030-01-01 ",
		"FREQ=WEEKLY;BYDAY=MO,WE":             "custom 1  ",
		"FREQ=HOURLY":                         "custom 1  ",
	} {
		r, i, u, c := pickerFromRRule(rule, moscow)
		if got := strings.Join([]string{r, i, u, c}, " "); got != want {
			t.Errorf("picker(%q) = %q, want %q", rule, got, want)
		}
	}
}

func TestActivityFormTimes(t *testing.T) {
	calZone(t, "Europe/Moscow")
	// Timed: the inputs are read in the chosen zone.
	f := activityForm{Title: "x", TimeZone: "Europe/Moscow", Start: "2026-03-05T10:00", End: "2026-03-05T11:30", Repeat: "none"}
	fe := crm.FieldErrors{}
	a := f.activity(nil, fe)
	if len(fe) > 0 || !a.Start.Equal(time.Date(2026, 3, 5, 7, 0, 0, 0, time.UTC)) || !a.End.Equal(time.Date(2026, 3, 5, 8, 30, 0, 0, time.UTC)) {
		t.Errorf("timed: %v – %v, %v", a.Start, a.End, fe)
	}
	back := formFromActivity(a)
	if back.Start != f.Start || back.End != f.End {
		t.Errorf("round trip: %q – %q", back.Start, back.End)
	}
	// All-day: dates, the last day inclusive in the form and exclusive in the record.
	f = activityForm{Title: "x", TimeZone: "Europe/Moscow", AllDay: true, StartDate: "2026-03-05", EndDate: "2026-03-07"}
	a = f.activity(nil, fe)
	if !a.Start.Equal(time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)) || !a.End.Equal(time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("all-day: %v – %v", a.Start, a.End)
	}
	if back := formFromActivity(a); back.StartDate != "2026-03-05" || back.EndDate != "2026-03-07" {
		t.Errorf("all-day round trip: %q – %q", back.StartDate, back.EndDate)
	}
	// Garbage is reported, not dropped silently.
	f = activityForm{Title: "x", TimeZone: "UTC", Start: "tomorrow"}
	fe = crm.FieldErrors{}
	f.activity(nil, fe)
	if fe["start"] != crm.ErrDate {
		t.Errorf("errors %v", fe)
	}
}

func TestFormRows(t *testing.T) {
	rows := formRows(map[string][]string{
		"emails[10].address": {"c"}, "emails[2].address": {"b"}, "emails[0].address": {"a"}, "emails[2].kind": {"home"},
		"phones[0].number": {"1"}, "emails[x].address": {"bad"}, "emails[1]address": {"bad"},
	}, "emails")
	var got []string
	for _, r := range rows {
		got = append(got, r["address"]+"/"+r["kind"])
	}
	if !slices.Equal(got, []string{"a/", "b/home", "c/"}) {
		t.Errorf("rows %v", got)
	}
}
