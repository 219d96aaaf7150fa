package ui

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

func (u *UI) calendarRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /calendar", u.authed(u.calendar))
}

// Occurrence is one appearance of an activity within a time range. Timed
// occurrences carry instants in the viewer's zone; all-day ones carry
// midnight (in the viewer's zone) of their first day and of the day after
// their last, so they stay on the same calendar dates for every viewer.
type Occurrence struct {
	ID, Title, Type, Status string
	Start, End              time.Time
	AllDay, Recurring       bool
}

// maxExpand bounds the work one series may cost a page.
const maxExpand = 100000

// expandOccurrences lists the occurrences of a that overlap [from, to),
// expanding a recurring series (RRULE and RDATE, minus its exception
// dates). A
// series is expanded in its own time zone, so a 09:00 meeting stays at
// 09:00 local time across daylight-saving changes; the result is in loc.
// An occurrence changed on its own (an override) shows where and as it
// was changed to, also when that is in the range and its original start
// is not, and never at its original start. A started task shows at its
// actual dates (crm.Activity.CalendarSpan).
func expandOccurrences(a crm.Activity, from, to time.Time, loc *time.Location) []Occurrence {
	a.Start, a.End = a.CalendarSpan()
	if a.Start == nil || !to.After(from) {
		return nil
	}
	if loc == nil {
		loc = time.UTC
	}
	base := Occurrence{ID: a.ID, Title: a.Title, Type: a.Type, Status: a.Status, AllDay: a.AllDay, Recurring: a.IsSeries()}
	if a.AllDay {
		return expandAllDay(a, base, from, to, loc)
	}
	tz, err := time.LoadLocation(a.TimeZone)
	if err != nil || a.TimeZone == "" {
		tz = time.UTC
	}
	start := a.Start.In(tz)
	var dur time.Duration
	if a.End != nil && a.End.After(*a.Start) {
		dur = a.End.Sub(*a.Start)
	}
	overlaps := func(s, e time.Time) bool {
		if !e.After(s) {
			return !s.Before(from) && s.Before(to)
		}
		return s.Before(to) && e.After(from)
	}
	var out []Occurrence
	add := func(s, e time.Time, title string) {
		o := base
		o.Title, o.Start, o.End = title, s.In(loc), e.In(loc)
		out = append(out, o)
	}
	next := a.Occurrences()
	if next == nil { // a single event, or a rule we cannot read: never hide the record
		if overlaps(start, start.Add(dur)) {
			add(start, start.Add(dur), a.Title)
		}
		return out
	}
	skip := map[int64]bool{}
	for _, e := range a.ExDates {
		skip[e.Unix()] = true
	}
	changed := map[int64]bool{}
	for _, o := range a.Overrides {
		changed[o.RecurrenceID.Unix()] = true
	}
	generated := map[int64]bool{} // changed occurrences the rule made before to
	for range maxExpand {
		s, ok := next()
		if !ok || !s.Before(to) {
			break
		}
		switch k := s.Unix(); {
		case skip[k]:
		case changed[k]:
			generated[k] = true
		case overlaps(s, s.Add(dur)):
			add(s, s.Add(dur), a.Title)
		}
	}
	for _, o := range a.Overrides {
		k := o.RecurrenceID.Unix()
		if skip[k] || !overlaps(o.Start, o.End) {
			continue
		}
		// One moved here from after the range is checked against the rule.
		if generated[k] || (!o.RecurrenceID.Before(to) && a.IsOccurrence(o.RecurrenceID)) {
			e := o.End
			if e.Before(o.Start) {
				e = o.Start
			}
			add(o.Start, e, o.Title)
		}
	}
	sortOccurrences(out)
	return out
}

// expandAllDay works on calendar dates: the stored start is midnight UTC of
// the first day, the end midnight UTC of the day after the last.
func expandAllDay(a crm.Activity, base Occurrence, from, to time.Time, loc *time.Location) []Occurrence {
	start := civilDay(a.Start.UTC())
	days := 1
	if a.End != nil {
		days = spanDays(start, *a.End)
	}
	// The range as calendar dates of the viewer: a partial day counts.
	fromDay := civilDay(from.In(loc))
	lt := to.In(loc)
	toDay := civilDay(lt)
	if !lt.Equal(time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)) {
		toDay = toDay.AddDate(0, 0, 1)
	}
	overlaps := func(s time.Time, days int) bool { return s.Before(toDay) && s.AddDate(0, 0, days).After(fromDay) }
	var out []Occurrence
	add := func(s time.Time, days int, title string) {
		o := base
		y, m, d := s.Date()
		o.Title = title
		o.Start = time.Date(y, m, d, 0, 0, 0, 0, loc)
		o.End = time.Date(y, m, d+days, 0, 0, 0, 0, loc)
		out = append(out, o)
	}
	next := a.Occurrences()
	if next == nil {
		if overlaps(start, days) {
			add(start, days, a.Title)
		}
		return out
	}
	skip := map[time.Time]bool{}
	for _, e := range a.ExDates {
		skip[civilDay(e.UTC())] = true
	}
	changed := map[time.Time]bool{}
	for _, o := range a.Overrides {
		changed[civilDay(o.RecurrenceID.UTC())] = true
	}
	generated := map[time.Time]bool{}
	for range maxExpand {
		s, ok := next()
		if !ok || !s.Before(toDay) {
			break
		}
		switch s = civilDay(s); {
		case skip[s]:
		case changed[s]:
			generated[s] = true
		case overlaps(s, days):
			add(s, days, a.Title)
		}
	}
	for _, o := range a.Overrides {
		rid, s := civilDay(o.RecurrenceID.UTC()), civilDay(o.Start.UTC())
		n := spanDays(s, o.End)
		if skip[rid] || !overlaps(s, n) {
			continue
		}
		if generated[rid] || (!rid.Before(toDay) && a.IsOccurrence(rid)) {
			add(s, n, o.Title)
		}
	}
	sortOccurrences(out)
	return out
}

// spanDays is how many calendar days an all-day item from first (a UTC
// midnight) to end (exclusive) covers: at least one.
func spanDays(first, end time.Time) int {
	if n := int(civilDay(end.UTC()).Sub(first) / (24 * time.Hour)); n > 1 {
		return n
	}
	return 1
}

// sortOccurrences orders occurrences by start: changed occurrences are
// placed among the others by where they are now.
func sortOccurrences(occs []Occurrence) {
	slices.SortStableFunc(occs, func(a, b Occurrence) int { return a.Start.Compare(b.Start) })
}

// civilDay is midnight UTC of the date t shows.
func civilDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ---------- day, week and month views ----------

// calView is a layout of the calendar page: /calendar?view=day|week|month
// &date=YYYY-MM-DD shows the day, week or month holding date.
type calView string

const (
	calDayView   calView = "day"
	calWeekView  calView = "week"
	calMonthView calView = "month"
)

var calViews = []calView{calDayView, calWeekView, calMonthView}

// calURL is the address of a view at a date.
func calURL(v calView, d time.Time) string {
	return "/calendar?" + url.Values{"view": {string(v)}, "date": {d.Format(inputDateLayout)}}.Encode()
}

type calEvent struct {
	Occurrence
	StartMin, Duration, Col, Cols int
	HasEnd                        bool
	Continued                     bool // began on an earlier day
}

// Short events (less than 45 minutes tall) show title and time on one
// line, so the title is never cut off.
func (e calEvent) Short() bool { return e.Duration < 45 }

type calDay struct {
	Date           time.Time
	Today, Weekend bool
	AllDay         []Occurrence
	Events         []calEvent
	NowMin         int // minutes since midnight of the current time; -1 on other days
	DayURL         string
}

// calMonthDay is one cell of the month grid.
type calMonthDay struct {
	calDay
	InMonth bool
	Items   []calEvent // what the cell shows: all-day items first, then by start
	More    int        // items left out for room: the day view has them
}

// calMonthItems is how many items a month cell shows; a day with more
// shows one less and a link to the rest.
const calMonthItems = 4

type calLink struct {
	View    calView
	Href    string
	Current bool
}

type calendarData struct {
	View             calView
	Views            []calLink
	First, Last      time.Time // the days shown; a month: its first and last day
	Prev, Next, This string
	Current          bool // the period shown holds today
	Days             []calDay
	Weeks            [][]calMonthDay
	Hours            []string
	ScrollHour       int // the hour the time grid opens at: 8, or the earliest event's
	Empty            bool
	NewURL           string
}

func (u *UI) calendar(w http.ResponseWriter, r *http.Request, c *Ctx) {
	loc := c.Loc
	now := time.Now().In(loc)
	q := r.URL.Query()
	view := calView(q.Get("view"))
	if !slices.Contains(calViews, view) {
		view = calWeekView
	}
	date := q.Get("date")
	if date == "" {
		date = q.Get("week") // the older week-only links
	}
	day := now
	if t, err := time.ParseInLocation(inputDateLayout, date, loc); err == nil {
		day = t
	}
	at := func(t time.Time, days int) time.Time { // midnight, days later, stepping by calendar days
		y, m, d := t.Date()
		return time.Date(y, m, d+days, 0, 0, 0, 0, loc)
	}

	data := calendarData{View: view, ScrollHour: 8}
	var from, to, prev, next, this time.Time
	switch view {
	case calDayView:
		from, to = at(day, 0), at(day, 1)
		prev, next, this = at(from, -1), to, at(now, 0)
		data.First, data.Last = from, from
	case calWeekView:
		from = c.Lang.WeekStart(day)
		to = at(from, 7)
		prev, next, this = at(from, -7), to, c.Lang.WeekStart(now)
		data.First, data.Last = from, at(from, 6)
	case calMonthView:
		y, m, _ := day.Date()
		first := time.Date(y, m, 1, 0, 0, 0, 0, loc)
		data.First, data.Last = first, time.Date(y, m+1, 0, 0, 0, 0, 0, loc)
		from = c.Lang.WeekStart(first)
		to = at(c.Lang.WeekStart(data.Last), 7)
		ny, nm, _ := now.Date()
		prev, next, this = time.Date(y, m-1, 1, 0, 0, 0, 0, loc), time.Date(y, m+1, 1, 0, 0, 0, 0, loc), time.Date(ny, nm, 1, 0, 0, 0, 0, loc)
	}
	data.Prev, data.Next, data.This = calURL(view, prev), calURL(view, next), calURL(view, this)
	data.Current = !now.Before(data.First) && now.Before(at(data.Last, 1))
	for _, v := range calViews { // another view opens at the same day
		data.Views = append(data.Views, calLink{View: v, Href: calURL(v, day), Current: v == view})
	}
	newDate := now
	if !data.Current { // a new event defaults to the period on screen
		newDate = data.First
	}
	data.NewURL = "/activities/new?type=meeting&show_in_calendar=1&" + url.Values{"date": {newDate.Format(inputDateLayout)}}.Encode()

	occs, err := u.calendarOccurrences(r, c, from, to)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	data.Empty = len(occs) == 0
	dayOf := func(ds time.Time) calDay {
		de := at(ds, 1)
		cd := calDay{Date: ds, NowMin: -1, Weekend: ds.Weekday() == time.Saturday || ds.Weekday() == time.Sunday,
			DayURL: calURL(calDayView, ds)}
		if !now.Before(ds) && now.Before(de) {
			cd.Today, cd.NowMin = true, wallMinutes(now)
		}
		cd.AllDay, cd.Events = dayOccurrences(occs, ds, de)
		return cd
	}
	if view == calMonthView {
		for ws := from; ws.Before(to); ws = at(ws, 7) {
			var week []calMonthDay
			for i := range 7 {
				md := calMonthDay{calDay: dayOf(at(ws, i))}
				md.InMonth = md.Date.Month() == data.First.Month()
				for _, o := range md.AllDay {
					md.Items = append(md.Items, calEvent{Occurrence: o})
				}
				md.Items = append(md.Items, md.Events...) // layoutColumns sorted them by start
				if n := len(md.Items); n > calMonthItems {
					md.Items, md.More = md.Items[:calMonthItems-1], n-calMonthItems+1
				}
				week = append(week, md)
			}
			data.Weeks = append(data.Weeks, week)
		}
		u.render(w, http.StatusOK, "activities/calendar", c.Page(w, r, "calendar", data))
		return
	}
	for h := range 24 {
		label := c.Lang.FormatTime(time.Date(2000, 1, 1, h, 0, 0, 0, time.UTC))
		if strings.Contains(label, " ") { // a 12-hour clock: "9 AM" reads better than "9:00 AM"
			label = strings.Replace(label, ":00", "", 1)
		}
		data.Hours = append(data.Hours, label)
	}
	for ds := from; ds.Before(to); ds = at(ds, 1) {
		cd := dayOf(ds)
		for _, e := range cd.Events {
			// Open where the earliest event starts, not past it (one going
			// on from the day before would open every day at midnight:
			// the marks of events above say it is there).
			if !e.Continued {
				data.ScrollHour = min(data.ScrollHour, e.StartMin/60)
			}
		}
		data.Days = append(data.Days, cd)
	}
	u.render(w, http.StatusOK, "activities/calendar", c.Page(w, r, "calendar", data))
}

// calendarOccurrences lists the occurrences of the activities shown in
// the calendar that overlap [from, to), in the viewer's zone.
func (u *UI) calendarOccurrences(r *http.Request, c *Ctx, from, to time.Time) ([]Occurrence, error) {
	// A day either side catches all-day items, stored on UTC dates.
	yes := true
	f := store.ActivityFilter{ShowInCalendar: &yes, From: from.AddDate(0, 0, -1), To: to.AddDate(0, 0, 1),
		Page: store.Page{Limit: 200}}
	var occs []Occurrence
	for range 25 {
		as, next, err := u.st.ListActivities(r.Context(), c.V, f)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			occs = append(occs, expandOccurrences(a, from, to, c.Loc)...)
		}
		if next == "" {
			break
		}
		f.Cursor = next
	}
	return occs, nil
}

// dayOccurrences splits what falls on the day [ds, de) into all-day items
// and timed events placed on the day's time grid.
func dayOccurrences(occs []Occurrence, ds, de time.Time) (allDay []Occurrence, events []calEvent) {
	for _, o := range occs {
		if o.AllDay {
			if !ds.Before(o.Start) && ds.Before(o.End) {
				allDay = append(allDay, o)
			}
			continue
		}
		in := o.Start.Before(de) && o.End.After(ds)
		if o.Start.Equal(o.End) {
			in = !o.Start.Before(ds) && o.Start.Before(de)
		}
		if !in {
			continue
		}
		startMin, endMin := 0, 24*60
		if o.Start.After(ds) {
			startMin = wallMinutes(o.Start)
		}
		if o.End.Before(de) {
			endMin = wallMinutes(o.End)
		}
		events = append(events, calEvent{Occurrence: o, StartMin: startMin,
			Duration: max(endMin-startMin, 15), HasEnd: o.End.After(o.Start), Continued: o.Start.Before(ds)})
	}
	layoutColumns(events)
	return allDay, events
}

// wallMinutes is the time of day on the clock, in minutes since midnight.
func wallMinutes(t time.Time) int { return t.Hour()*60 + t.Minute() }

// layoutColumns places overlapping events of one day side by side: each
// cluster of overlapping events shares its width between as many columns
// as it needs.
func layoutColumns(evs []calEvent) {
	slices.SortStableFunc(evs, func(a, b calEvent) int {
		if a.StartMin != b.StartMin {
			return a.StartMin - b.StartMin
		}
		return b.Duration - a.Duration
	})
	clusterStart, clusterEnd := 0, -1
	var colEnds []int
	flush := func(end int) {
		for i := clusterStart; i < end; i++ {
			evs[i].Cols = len(colEnds)
		}
	}
	for i := range evs {
		e := &evs[i]
		if e.StartMin >= clusterEnd && i > 0 {
			flush(i)
			clusterStart, colEnds = i, colEnds[:0]
		}
		placed := false
		for c, end := range colEnds {
			if end <= e.StartMin {
				e.Col, colEnds[c], placed = c, e.StartMin+e.Duration, true
				break
			}
		}
		if !placed {
			e.Col = len(colEnds)
			colEnds = append(colEnds, e.StartMin+e.Duration)
		}
		clusterEnd = max(clusterEnd, e.StartMin+e.Duration)
	}
	flush(len(evs))
}
