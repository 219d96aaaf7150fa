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
			name: "weekly with an extra date and one excluded",
			a: crm.Activity{TimeZone: "Europe/Moscow", Start: calPtr(calAt(moscow, 2026, 3, 2, 10, 0).UTC()),
				End: calPtr(calAt(moscow, 2026, 3, 2, 11, 0).UTC()), RRule: "FREQ=WEEKLY;COUNT=2",
				RDates:  []time.Time{calAt(moscow, 2026, 3, 4, 15, 0).UTC(), calAt(moscow, 2026, 3, 20, 10, 0).UTC()},
				ExDates: []time.Time{calAt(moscow, 2026, 3, 20, 10, 0).UTC()}},
			from: calAt(moscow, 2026, 3, 1, 0, 0), to: calAt(moscow, 2026, 4, 1, 0, 0), loc: moscow,
			want: []occ{
				{calAt(moscow, 2026, 3, 2, 10, 0), calAt(moscow, 2026, 3, 2, 11, 0)},
				{calAt(moscow, 2026, 3, 4, 15, 0), calAt(moscow, 2026, 3, 4, 16, 0)},
				{calAt(moscow, 2026, 3, 9, 10, 0), calAt(moscow, 2026, 3, 9, 11, 0)},
			},
		},
		{
			name: "extra dates without a rule",
			a: crm.Activity{AllDay: true, Start: calPtr(calAt(utc, 2026, 3, 5, 0, 0)), End: calPtr(calAt(utc, 2026, 3, 6, 0, 0)),
				RDates: []time.Time{calAt(utc, 2026, 3, 12, 0, 0)}},
			from: calAt(utc, 2026, 3, 1, 0, 0), to: calAt(utc, 2026, 4, 1, 0, 0), loc: utc, allDay: true,
			want: []occ{
				{calAt(utc, 2026, 3, 5, 0, 0), calAt(utc, 2026, 3, 6, 0, 0)},
				{calAt(utc, 2026, 3, 12, 0, 0), calAt(utc, 2026, 3, 13, 0, 0)},
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
				if o.AllDay != tt.allDay || o.Recurring != tt.a.IsSeries() {
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

func TestExpandOverridesAndActualDates(t *testing.T) {
	moscow := calZone(t, "Europe/Moscow")
	ny := calZone(t, "America/New_York")
	utc := time.UTC
	at := func(d, h, min int) time.Time { return calAt(utc, 2026, 3, d, h, min) }
	jul := func(d int) time.Time { return calAt(utc, 2026, 7, d, 0, 0) }
	// Ten daily 30-minute standups from Monday 2 March 2026, 09:00 UTC.
	daily := func(os ...crm.Occurrence) crm.Activity {
		return crm.Activity{ID: "s", Title: "Standup", Type: "meeting", TimeZone: "UTC", Start: calPtr(at(2, 9, 0)),
			End: calPtr(at(2, 9, 30)), RRule: "FREQ=DAILY;COUNT=10", Overrides: os}
	}
	// Weekly one-day reviews from Wednesday 1 July 2026.
	weekly := func(os ...crm.Occurrence) crm.Activity {
		return crm.Activity{ID: "r", Title: "Review", Type: "meeting", AllDay: true, TimeZone: "Europe/Moscow",
			Start: calPtr(jul(1)), End: calPtr(jul(2)), RRule: "FREQ=WEEKLY", Overrides: os}
	}
	moved := func(rid, s, e time.Time, title string) crm.Occurrence {
		return crm.Occurrence{RecurrenceID: rid, Start: s, End: e, Title: title}
	}
	task := func(status string, actualStart, actualEnd *time.Time) crm.Activity {
		return crm.Activity{ID: "t", Title: "Offer", Type: "task", Status: status, TimeZone: "UTC", Start: calPtr(at(2, 9, 0)),
			End: calPtr(at(2, 10, 0)), ActualStart: actualStart, ActualEnd: actualEnd}
	}
	type occ struct {
		start, end time.Time
		title      string
	}
	standups := func(days ...int) []occ {
		var out []occ
		for _, d := range days {
			out = append(out, occ{at(d, 9, 0), at(d, 9, 30), "Standup"})
		}
		return out
	}
	week := [2]time.Time{at(2, 0, 0), at(9, 0, 0)} // Monday 2 to Sunday 8 March
	tests := []struct {
		name string
		a    crm.Activity
		rng  [2]time.Time
		loc  *time.Location
		want []occ
	}{
		{
			name: "moved and retitled within the range",
			a:    daily(moved(at(4, 9, 0), at(4, 14, 0), at(4, 15, 0), "Late standup")),
			rng:  week, loc: utc,
			want: append(append(standups(2, 3), occ{at(4, 14, 0), at(4, 15, 0), "Late standup"}), standups(5, 6, 7, 8)...),
		},
		{
			name: "moved out of the range",
			a:    daily(moved(at(4, 9, 0), at(12, 9, 0), at(12, 9, 30), "Standup")),
			rng:  week, loc: utc,
			want: standups(2, 3, 5, 6, 7, 8),
		},
		{
			name: "moved into the range from after it",
			a:    daily(moved(at(10, 9, 0), at(5, 12, 0), at(5, 12, 30), "Early standup")),
			rng:  week, loc: utc,
			want: append(append(standups(2, 3, 4, 5), occ{at(5, 12, 0), at(5, 12, 30), "Early standup"}), standups(6, 7, 8)...),
		},
		{
			name: "moved into the range from before it",
			a:    daily(moved(at(2, 9, 0), at(6, 16, 0), at(6, 17, 0), "Standup")),
			rng:  [2]time.Time{at(4, 0, 0), at(9, 0, 0)}, loc: utc,
			want: append(append(standups(4, 5, 6), occ{at(6, 16, 0), at(6, 17, 0), "Standup"}), standups(7, 8)...),
		},
		{
			name: "moved within the range, seen from Moscow",
			a:    daily(moved(at(8, 9, 0), at(8, 20, 30), at(8, 21, 30), "Evening standup")),
			rng:  [2]time.Time{calAt(moscow, 2026, 3, 8, 0, 0), calAt(moscow, 2026, 3, 9, 0, 0)}, loc: moscow,
			want: []occ{{calAt(moscow, 2026, 3, 8, 23, 30), calAt(moscow, 2026, 3, 9, 0, 30), "Evening standup"}},
		},
		{
			name: "an override of an excluded occurrence does not show",
			a: func() crm.Activity {
				a := daily(moved(at(4, 9, 0), at(5, 12, 0), at(5, 12, 30), "Ghost"))
				a.ExDates = []time.Time{at(4, 9, 0)}
				return a
			}(),
			rng: week, loc: utc,
			want: standups(2, 3, 5, 6, 7, 8),
		},
		{
			name: "an override of no occurrence after the range does not show",
			a:    daily(moved(at(10, 10, 0), at(5, 12, 0), at(5, 12, 30), "Ghost")),
			rng:  [2]time.Time{at(5, 0, 0), at(6, 0, 0)}, loc: utc,
			want: standups(5),
		},
		{
			name: "all-day moved within the range and made two days long",
			a:    weekly(moved(jul(8), jul(10), jul(12), "Review (long)")),
			rng:  [2]time.Time{calAt(ny, 2026, 7, 5, 0, 0), calAt(ny, 2026, 7, 12, 0, 0)}, loc: ny,
			want: []occ{{calAt(ny, 2026, 7, 10, 0, 0), calAt(ny, 2026, 7, 12, 0, 0), "Review (long)"}},
		},
		{
			name: "all-day moved out of the range",
			a:    weekly(moved(jul(8), jul(15), jul(16), "Review")),
			rng:  [2]time.Time{calAt(ny, 2026, 7, 5, 0, 0), calAt(ny, 2026, 7, 12, 0, 0)}, loc: ny,
		},
		{
			name: "all-day moved into the range from after and from before it",
			a:    weekly(moved(jul(15), jul(6), jul(7), "Early review"), moved(jul(1), jul(11), jul(12), "Late review")),
			rng:  [2]time.Time{calAt(ny, 2026, 7, 5, 0, 0), calAt(ny, 2026, 7, 12, 0, 0)}, loc: ny,
			want: []occ{
				{calAt(ny, 2026, 7, 6, 0, 0), calAt(ny, 2026, 7, 7, 0, 0), "Early review"},
				{calAt(ny, 2026, 7, 8, 0, 0), calAt(ny, 2026, 7, 9, 0, 0), "Review"},
				{calAt(ny, 2026, 7, 11, 0, 0), calAt(ny, 2026, 7, 12, 0, 0), "Late review"},
			},
		},
		{
			name: "a task in progress shows from its actual start, as long as planned",
			a:    task("in_progress", calPtr(at(4, 11, 0)), nil),
			rng:  week, loc: utc,
			want: []occ{{at(4, 11, 0), at(4, 12, 0), "Offer"}},
		},
		{
			name: "a completed task spans its actual dates",
			a:    task("completed", calPtr(at(3, 10, 0)), calPtr(at(3, 15, 30))),
			rng:  week, loc: utc,
			want: []occ{{at(3, 10, 0), at(3, 15, 30), "Offer"}},
		},
		{
			name: "a task started after the range is not in it",
			a:    task("in_progress", calPtr(at(10, 11, 0)), nil),
			rng:  week, loc: utc,
		},
		{
			name: "a task not started shows as planned",
			a:    task("not_started", calPtr(at(4, 11, 0)), nil),
			rng:  week, loc: utc,
			want: []occ{{at(2, 9, 0), at(2, 10, 0), "Offer"}},
		},
		{
			name: "an all-day task completed over two days",
			a: func() crm.Activity {
				a := task("completed", calPtr(at(4, 22, 0)), calPtr(at(5, 10, 0)))
				a.AllDay, a.Start, a.End = true, calPtr(at(2, 0, 0)), calPtr(at(3, 0, 0))
				return a
			}(),
			rng: week, loc: utc,
			want: []occ{{at(4, 0, 0), at(6, 0, 0), "Offer"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := expandOccurrences(tt.a, tt.rng[0], tt.rng[1], tt.loc)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d occurrences, want %d: %v", len(got), len(tt.want), got)
			}
			for i, o := range got {
				w := tt.want[i]
				if !o.Start.Equal(w.start) || !o.End.Equal(w.end) || o.Title != w.title {
					t.Errorf("occurrence %d: %q %s – %s, want %q %s – %s", i, o.Title, o.Start, o.End, w.title, w.start, w.end)
				}
				if o.Start.Location() != tt.loc || o.ID != tt.a.ID || o.Recurring != (tt.a.RRule != "") {
					t.Errorf("occurrence %d: zone %s, id %q, recurring %v", i, o.Start.Location(), o.ID, o.Recurring)
				}
			}
		})
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
