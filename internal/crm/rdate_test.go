package crm

import (
	"testing"
	"time"
)

// A series' extra dates (RDATE) are occurrences like its rule's: the
// expansion merges them in order, IsOccurrence knows them, and a change
// to one of them is an override Normalize keeps.
func TestRDateOccurrences(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// Weekly on Mondays at 09:00 New York, three times from 2015-03-02,
	// across the change to daylight time on 2015-03-08, plus a Thursday
	// after the change and a date the rule makes anyway.
	start := time.Date(2015, 3, 2, 9, 0, 0, 0, ny)
	end := start.Add(time.Hour)
	thu := time.Date(2015, 3, 12, 9, 0, 0, 0, ny)
	dup := time.Date(2015, 3, 9, 9, 0, 0, 0, ny)
	a := Activity{Title: "Standup", Type: "meeting", Start: &start, End: &end, TimeZone: "America/New_York",
		RRule: "FREQ=WEEKLY;COUNT=3", RDates: []time.Time{thu, dup, thu.In(time.UTC)}}
	a.Normalize()
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(a.RDates) != 2 || !a.RDates[0].Equal(dup) || a.RDates[1].Location() != time.UTC {
		t.Fatalf("rdates normalized to %v", a.RDates)
	}
	next := a.Occurrences()
	var got []time.Time
	for s, ok := next(); ok; s, ok = next() {
		got = append(got, s)
	}
	want := []time.Time{start, dup, thu, time.Date(2015, 3, 16, 9, 0, 0, 0, ny)}
	if len(got) != len(want) {
		t.Fatalf("occurrences %v, want %v", got, want)
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Fatalf("occurrence %d at %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
	if !a.IsOccurrence(thu) || a.IsOccurrence(thu.Add(time.Hour)) {
		t.Error("IsOccurrence does not know the extra date")
	}
	// An occurrence of an extra date changed on its own stays an override;
	// the rule alone would have dropped it as naming no occurrence.
	a.Overrides = []Occurrence{{RecurrenceID: thu, Start: thu.Add(2 * time.Hour), End: thu.Add(3 * time.Hour), Title: "Later"}}
	a.Normalize()
	if len(a.Overrides) != 1 || !a.Overrides[0].RecurrenceID.Equal(thu) {
		t.Fatalf("override of an extra date: %+v", a.Overrides)
	}
	fe := FieldErrors{}
	a.CheckOverrides(fe)
	if len(fe) > 0 {
		t.Fatalf("CheckOverrides: %v", fe)
	}
}

// A series of extra dates alone (no rule) starts at its start; it may
// have exceptions and overrides, and needs a start.
func TestRDatesWithoutRule(t *testing.T) {
	start := time.Date(2015, 6, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 1)
	d2, d3 := time.Date(2015, 6, 10, 15, 0, 0, 0, time.UTC), time.Date(2015, 6, 20, 0, 0, 0, 0, time.UTC)
	a := Activity{Title: "Inventory", Type: "meeting", AllDay: true, Start: &start, End: &end, RDates: []time.Time{d3, d2},
		ExDates: []time.Time{d3}}
	a.Normalize()
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if !a.IsSeries() || !a.RDates[0].Equal(time.Date(2015, 6, 10, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("all-day extra dates kept as %v", a.RDates)
	}
	for _, d := range []time.Time{start, a.RDates[0], d3} {
		if !a.IsOccurrence(d) {
			t.Errorf("%v is no occurrence", d)
		}
	}
	if a.IsOccurrence(start.AddDate(0, 0, 1)) {
		t.Error("a day that is no extra date is an occurrence")
	}
	if s, _ := a.CalendarSpan(); !s.Equal(start) {
		t.Errorf("span starts %v", s)
	}
	b := Activity{Title: "x", RDates: []time.Time{d2}}
	b.Normalize()
	if fe := fieldErrs(b.Validate()); fe["start"] != ErrStartForRepeat {
		t.Errorf("extra dates without a start: %v", b.Validate())
	}
	c := Activity{Title: "x", Start: &start, RDates: []time.Time{time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}}
	c.Normalize()
	if fe := fieldErrs(c.Validate()); fe["rdates"] != ErrDate {
		t.Errorf("an extra date in 2300: %v", c.Validate())
	}
}

func fieldErrs(err error) FieldErrors {
	if ve, ok := err.(*ValidationError); ok {
		return ve.Fields
	}
	return nil
}
