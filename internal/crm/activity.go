package crm

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/teambition/rrule-go"
)

// Enumerations of an activity. Order matters for the UI lists.
var (
	ActivityTypes    = []string{"task", "meeting", "call", "note"}
	ActivityStatuses = []string{"not_started", "in_progress", "ready_for_review", "completed", "cancelled"}
	Priorities       = []string{"low", "normal", "high"}
	ResponseStatuses = []string{"needs_action", "accepted", "declined", "tentative"}
)

// Activity is a task, meeting, call or note.
type Activity struct {
	ID             string
	Type           string
	Title          string
	Description    string
	Location       string
	Start          *time.Time // UTC instant; for all-day, midnight UTC of the date
	End            *time.Time // exclusive for all-day (the day after the last day)
	AllDay         bool
	TimeZone       string // IANA name the times were entered in
	ShowInCalendar bool
	Status         string
	Priority       string
	OwnerID        string // responsible user
	AuthorID       string
	OrganizerID    string // a user, when the organizer is one of ours
	OrganizerEmail string
	AccountID      string
	ContactID      string
	Participants   []Participant
	RRule          string // RFC 5545 RRULE value without the "RRULE:" prefix
	// RDates are occurrences the series has besides its rule's (RFC 5545
	// RDATE date or date-time values): their original starts, each as
	// long as the series' first. With no rule they alone, with the start,
	// make the series.
	RDates    []time.Time
	ExDates   []time.Time  // exceptions: original start times removed from the series
	Overrides []Occurrence // exceptions: occurrences changed on their own, by original start
	// ActualStart and ActualEnd are when a task really started and was
	// completed. The status sets them (see Normalize); calendars show them
	// instead of the planned Start and End once they exist.
	ActualStart *time.Time
	ActualEnd   *time.Time
	Tags        []TagRef
	Access      []Grant
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int64
}

// Occurrence is one occurrence of a series changed on its own — moved,
// retitled — an exception in iCalendar terms (RECURRENCE-ID). It holds the
// occurrence's full values; a removed occurrence is an ExDate instead.
type Occurrence struct {
	RecurrenceID time.Time // the original start, as the rule generates it
	Start, End   time.Time
	Title        string
	Description  string
	Location     string
}

// StartedStatuses are the statuses of a task that has started: its actual
// start is a fact from then on.
var StartedStatuses = []string{"in_progress", "ready_for_review", "completed"}

// Participant is an attendee of an activity.
type Participant struct {
	ContactID      string
	Email          string
	Name           string
	ResponseStatus string
}

// Normalize trims and fills defaults.
func (a *Activity) Normalize() {
	a.Title = strings.TrimSpace(a.Title)
	a.Location = strings.TrimSpace(a.Location)
	a.TimeZone = strings.TrimSpace(a.TimeZone)
	a.RRule = strings.TrimPrefix(strings.TrimSpace(a.RRule), "RRULE:")
	if a.Type == "" {
		a.Type = "task"
	}
	if a.Status == "" {
		a.Status = "not_started"
	}
	if a.Priority == "" {
		a.Priority = "normal"
	}
	if a.TimeZone == "" {
		a.TimeZone = "UTC"
	}
	if a.AllDay {
		// An all-day item is a date range; keep it on UTC midnights so that it
		// shows on the same calendar day in every time zone.
		a.Start = truncDay(a.Start)
		a.End = truncDay(a.End)
		if a.Start != nil && (a.End == nil || !a.End.After(*a.Start)) {
			e := a.Start.AddDate(0, 0, 1)
			a.End = &e
		}
	}
	for i := range a.Participants {
		p := &a.Participants[i]
		p.Email = strings.TrimSpace(p.Email)
		p.Name = strings.TrimSpace(p.Name)
		if p.ResponseStatus == "" {
			p.ResponseStatus = "needs_action"
		}
	}
	a.OrganizerEmail = strings.TrimSpace(a.OrganizerEmail)
	a.normalizeRDates()
	a.normalizeOverrides()
	a.stampActualDates()
}

// stampActualDates keeps a task's actual dates in step with its status:
// starting work stamps the actual start, completing it the actual end;
// reopening clears what no longer holds. Dates a user entered stay.
func (a *Activity) stampActualDates() {
	if a.Type != "task" {
		return
	}
	switch {
	case a.Status == "not_started":
		a.ActualStart, a.ActualEnd = nil, nil
	case slices.Contains(StartedStatuses, a.Status):
		now := Now()
		if a.ActualStart == nil {
			a.ActualStart = &now
		}
		if a.Status != "completed" {
			a.ActualEnd = nil
		} else if a.ActualEnd == nil {
			a.ActualEnd = &now
		}
	}
}

// CalendarSpan is what a calendar shows of the activity: the planned start
// and end, or for a task that has started its actual start and, once
// completed, its actual end. A series keeps its planned span, to which its
// rule is anchored.
func (a *Activity) CalendarSpan() (start, end *time.Time) {
	start, end = a.Start, a.End
	if a.Type != "task" || a.IsSeries() || a.ActualStart == nil || !slices.Contains(StartedStatuses, a.Status) {
		return start, end
	}
	dur := a.Duration()
	start = a.ActualStart
	if a.AllDay {
		start = truncDay(a.ActualStart)
	}
	switch {
	case a.Status == "completed" && a.ActualEnd != nil && !a.ActualEnd.Before(*start):
		e := *a.ActualEnd
		if a.AllDay {
			e = truncDay(a.ActualEnd).AddDate(0, 0, 1)
		}
		end = &e
	case end != nil && end.After(*start):
	case dur > 0:
		e := start.Add(dur)
		end = &e
	default:
		end = nil
	}
	return start, end
}

// Duration is the planned length of one occurrence (zero without an end).
func (a *Activity) Duration() time.Duration {
	if a.Start == nil || a.End == nil || !a.End.After(*a.Start) {
		return 0
	}
	return a.End.Sub(*a.Start)
}

// Generated is the occurrence the rule makes at rid, before any change.
func (a *Activity) Generated(rid time.Time) Occurrence {
	return Occurrence{RecurrenceID: rid, Start: rid, End: rid.Add(a.Duration()), Title: a.Title,
		Description: a.Description, Location: a.Location}
}

// IsSeries reports whether the activity recurs: it has a rule or extra
// dates (RDATE).
func (a *Activity) IsSeries() bool { return a.RRule != "" || len(a.RDates) > 0 }

// normalizeRDates keeps the extra dates in UTC (all-day ones on UTC
// midnights, as the start), sorted, each once.
func (a *Activity) normalizeRDates() {
	if len(a.RDates) == 0 {
		a.RDates = nil
		return
	}
	seen := map[time.Time]bool{}
	out := a.RDates[:0:0]
	for _, t := range a.RDates {
		t = t.UTC()
		if a.AllDay {
			t = *truncDay(&t)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(x, y time.Time) int { return x.Compare(y) })
	a.RDates = out
}

// normalizeOverrides trims and sorts the overrides and drops those that
// change nothing, name a removed occurrence, or name none at all (the
// series' rule or start changed since), so a series has one form on every
// side. Input that names a wrong occurrence is refused before this, where
// it is read (CheckOverrides).
func (a *Activity) normalizeOverrides() {
	removed := map[time.Time]bool{}
	for _, t := range a.ExDates {
		removed[t.UTC()] = true
	}
	byRID := map[time.Time]Occurrence{}
	for _, o := range a.Overrides {
		o.Title, o.Location = strings.TrimSpace(o.Title), strings.TrimSpace(o.Location)
		o.RecurrenceID, o.Start, o.End = o.RecurrenceID.UTC(), o.Start.UTC(), o.End.UTC()
		if a.AllDay {
			o.RecurrenceID, o.Start, o.End = *truncDay(&o.RecurrenceID), *truncDay(&o.Start), *truncDay(&o.End)
			if !o.End.After(o.Start) {
				o.End = o.Start.AddDate(0, 0, 1)
			}
		}
		if o == a.Generated(o.RecurrenceID) || removed[o.RecurrenceID] || !a.IsOccurrence(o.RecurrenceID) {
			continue
		}
		byRID[o.RecurrenceID] = o
	}
	a.Overrides = nil
	for _, o := range byRID {
		a.Overrides = append(a.Overrides, o)
	}
	sort.Slice(a.Overrides, func(i, j int) bool { return a.Overrides[i].RecurrenceID.Before(a.Overrides[j].RecurrenceID) })
}

// CheckOverrides reports overrides given as input that name no occurrence
// of the series (call it before Normalize, which would drop them).
func (a *Activity) CheckOverrides(fe FieldErrors) {
	c := *a
	c.Overrides = nil
	c.Normalize()
	removed := map[time.Time]bool{}
	for _, t := range c.ExDates {
		removed[t.UTC()] = true
	}
	seen := map[time.Time]bool{}
	for i, o := range a.Overrides {
		rid := o.RecurrenceID.UTC()
		if c.AllDay {
			rid = *truncDay(&rid)
		}
		f := fmt.Sprintf("overrides[%d].recurrence_id", i)
		switch {
		case !c.IsSeries():
			fe.Add("overrides", ErrInvalid)
			return
		case seen[rid] || removed[rid]:
			fe.Add(f, ErrInvalid)
		case !c.IsOccurrence(rid):
			fe.Add(f, ErrNotOccurrence)
		}
		seen[rid] = true
	}
}

// Series is the rule of the activity from its start, expanded in its own
// zone (UTC for all-day items, which live on UTC midnights); nil when it
// has no rule or the rule cannot be read. The series' extra dates are
// not in it: see Recurrence.
func (a *Activity) Series() *rrule.RRule {
	if a.RRule == "" || a.Start == nil {
		return nil
	}
	opt, err := rrule.StrToROptionInLocation(strings.TrimPrefix(a.RRule, "RRULE:"), a.seriesZone())
	if err != nil {
		return nil
	}
	opt.Dtstart = a.Start.In(a.seriesZone())
	r, err := rrule.NewRRule(*opt)
	if err != nil {
		return nil
	}
	return r
}

// seriesZone is where the series expands: its time zone, UTC for all-day
// items.
func (a *Activity) seriesZone() *time.Location {
	if !a.AllDay {
		if l, err := LoadZone(a.TimeZone); err == nil {
			return l
		}
	}
	return time.UTC
}

// Recurrence is every occurrence the series generates, before its
// exceptions: its rule's and its extra dates (RDATE); a series of extra
// dates alone also has its start (RFC 5545 §3.8.5.2: DTSTART is the first
// instance). Nil when the activity is no series, has no start, or has a
// rule that cannot be read.
func (a *Activity) Recurrence() *rrule.Set {
	if !a.IsSeries() || a.Start == nil {
		return nil
	}
	set := &rrule.Set{}
	if a.RRule != "" {
		r := a.Series()
		if r == nil {
			return nil
		}
		set.RRule(r)
	} else {
		set.RDate(a.Start.In(a.seriesZone()))
	}
	for _, t := range a.RDates {
		set.RDate(t.In(a.seriesZone()))
	}
	return set
}

// Occurrences iterates the original starts of the series' occurrences in
// order (Recurrence, exceptions not applied); nil when it is no series.
func (a *Activity) Occurrences() func() (time.Time, bool) {
	set := a.Recurrence()
	if set == nil {
		return nil
	}
	return set.Iterator()
}

// IsOccurrence reports whether the series generates an occurrence at t:
// by its rule or as one of its extra dates.
func (a *Activity) IsOccurrence(t time.Time) bool {
	set := a.Recurrence()
	return set != nil && set.After(t.Add(-time.Second), false).Equal(t)
}

func truncDay(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	d := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	return &d
}

// Validate reports every field problem. Call Normalize first.
func (a *Activity) Validate() error {
	fe := FieldErrors{}
	lim := limits[KindActivity]
	checkLen(fe, "title", a.Title, lim["title"], true)
	checkLen(fe, "description", a.Description, lim["description"], false)
	checkLen(fe, "location", a.Location, lim["location"], false)
	checkEnum(fe, "type", a.Type, ActivityTypes)
	checkEnum(fe, "status", a.Status, ActivityStatuses)
	checkEnum(fe, "priority", a.Priority, Priorities)
	if _, err := LoadZone(a.TimeZone); err != nil || len(a.TimeZone) > MaxShort {
		fe.Add("time_zone", ErrTimeZone)
	}
	if a.Start != nil && a.End != nil && a.End.Before(*a.Start) {
		fe.Add("end", ErrEndBefore)
	}
	if a.IsSeries() && a.Start == nil {
		fe.Add("start", ErrStartForRepeat)
	}
	if a.ShowInCalendar && a.Start == nil {
		fe.Add("start", ErrStartForCalendar)
	}
	if a.Start != nil && (a.Start.Year() < 1900 || a.Start.Year() > 2200) {
		fe.Add("start", ErrDate)
	}
	if a.End != nil && (a.End.Year() < 1900 || a.End.Year() > 2200) {
		fe.Add("end", ErrDate)
	}
	if a.RRule != "" {
		switch {
		case utf8.RuneCountInString(a.RRule) > lim["rrule"]:
			fe.Add("rrule", TooLong(lim["rrule"]))
		case ValidRRule(a.RRule) != nil:
			fe.Add("rrule", ErrRRule)
		}
	}
	if !a.IsSeries() && len(a.ExDates) > 0 {
		fe.Add("exdates", ErrInvalid)
	}
	for _, t := range a.RDates {
		if t.Year() < 1900 || t.Year() > 2200 {
			fe.Add("rdates", ErrDate)
			break
		}
	}
	if len(a.RDates) > 1000 {
		fe.Add("rdates", ErrTooMany)
	}
	a.validateOverrides(fe)
	if a.ActualStart != nil && a.ActualEnd != nil && a.ActualEnd.Before(*a.ActualStart) {
		fe.Add("actual_end", ErrEndBefore)
	}
	ValidateGrants(fe, a.Access)
	if len(a.ExDates) > 1000 {
		fe.Add("exdates", ErrTooMany)
	}
	if a.OrganizerEmail != "" && !ValidEmail(a.OrganizerEmail) {
		fe.Add("organizer_email", ErrEmail)
	}
	if len(a.Participants) > 500 {
		fe.Add("participants", ErrTooMany)
	}
	seen := map[string]bool{}
	for i, p := range a.Participants {
		f := fmt.Sprintf("participants[%d]", i)
		if p.Email == "" && p.ContactID == "" {
			fe.Add(f+".email", ErrParticipantRequired)
		}
		if p.Email != "" && !ValidEmail(p.Email) {
			fe.Add(f+".email", ErrEmail)
		}
		if p.Email != "" {
			k := Fold(p.Email)
			if seen[k] {
				fe.Add(f+".email", ErrDuplicate)
			}
			seen[k] = true
		}
		checkLen(fe, f+".name", p.Name, lim["participant_name"], false)
		checkEnum(fe, f+".response_status", p.ResponseStatus, ResponseStatuses)
	}
	return fe.Err()
}

func (a *Activity) validateOverrides(fe FieldErrors) {
	if len(a.Overrides) > 1000 {
		fe.Add("overrides", ErrTooMany)
		return
	}
	for i, o := range a.Overrides {
		f := fmt.Sprintf("overrides[%d]", i)
		if o.End.Before(o.Start) {
			fe.Add(f+".end", ErrEndBefore)
		}
		if o.Start.Year() < 1900 || o.Start.Year() > 2200 {
			fe.Add(f+".start", ErrDate)
		}
		checkLen(fe, f+".title", o.Title, MaxLen(KindActivity, "title"), false)
		checkLen(fe, f+".description", o.Description, MaxLen(KindActivity, "description"), false)
		checkLen(fe, f+".location", o.Location, MaxLen(KindActivity, "location"), false)
	}
}

// ValidRRule parses an RRULE value (without the "RRULE:" prefix).
func ValidRRule(s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return fmt.Errorf("rrule: line breaks not allowed")
	}
	opt, err := rrule.StrToROption(s)
	if err != nil {
		return fmt.Errorf("rrule: %w", err)
	}
	if opt.Interval < 0 || opt.Count < 0 {
		return fmt.Errorf("rrule: negative interval or count")
	}
	return nil
}

// SearchText is what activity search matches against, folded.
func (a *Activity) SearchText() string {
	return Fold(a.Title + " " + a.Location)
}

// zones keeps the time zones loaded: time.LoadLocation reads the zone
// database from disk on every call, and a sync run asks for the same few
// zones thousands of times.
var zones sync.Map // name → *time.Location

// LoadZone is time.LoadLocation with a cache. "" and "Local" are refused:
// a zone Tandem stores must name a place.
func LoadZone(name string) (*time.Location, error) {
	switch name {
	case "", "Local":
		return nil, fmt.Errorf("time zone %q: not a place", name)
	case "UTC":
		return time.UTC, nil
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, l)
	return l, nil
}
