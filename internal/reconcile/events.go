package reconcile

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
)

// Event field names (activities shown in a calendar). Connectors map their
// items to exactly these.
const (
	FieldTitle       = "title"
	FieldDescription = "description"
	FieldLocation    = "location"
	// FieldStart and FieldEnd: timed events as RFC 3339 in UTC
	// ("2026-03-09T13:00:00Z"); all-day events as dates ("2026-03-09")
	// with an exclusive end, as in iCalendar and Google.
	FieldStart  = "start"
	FieldEnd    = "end"
	FieldAllDay = "all_day" // "true" or absent
	// FieldTimeZone is the IANA zone of a timed event (recurrences expand
	// in it); absent for all-day events, whose dates need none.
	FieldTimeZone = "time_zone"
	// FieldRRule is the RRULE value without "RRULE:".
	FieldRRule = "rrule"
	// FieldRDates are the original starts of the series' extra
	// occurrences (RDATE date and date-time values), in the start's
	// format, sorted, comma-separated. PERIOD values are not modelled.
	FieldRDates = "rdates"
	// FieldExDates are the original starts of removed occurrences, in the
	// start's format (UTC instants or dates), sorted, comma-separated.
	FieldExDates = "exdates"
	// FieldOverrides are the occurrences of a series changed on their own:
	// "recurrence_id|start|end|title|description|location" lines (times in
	// the start's format) sorted by recurrence id, as crm normalizes them —
	// an occurrence that changes nothing is not listed.
	FieldOverrides = "overrides"
	// FieldAttendees are "email|name|response_status" lines sorted by
	// email; email lower-cased, status one of crm.ResponseStatuses.
	FieldAttendees = "attendees"
	// FieldOrganizer is the organizer's email, lower-cased.
	FieldOrganizer = "organizer"
	// FieldTandemID is the activity's id, stored in the remote item so a
	// resubscribe finds the activity again after its links were removed.
	FieldTandemID = "tandem_id"
)

// EventFieldNames lists every event field.
var EventFieldNames = []string{FieldTitle, FieldDescription, FieldLocation, FieldStart, FieldEnd, FieldAllDay,
	FieldTimeZone, FieldRRule, FieldRDates, FieldExDates, FieldOverrides, FieldAttendees, FieldOrganizer, FieldTandemID}

// DateLayout is the format of all-day dates in event fields.
const DateLayout = "2006-01-02"

// FormatEventTime renders an instant (timed) or a date (all-day: the UTC
// date of t, as crm.Activity keeps all-day items on UTC midnights).
func FormatEventTime(t time.Time, allDay bool) string {
	if allDay {
		return t.UTC().Format(DateLayout)
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// ParseEventTime parses FormatEventTime's output (either form).
func ParseEventTime(s string) (time.Time, bool, error) {
	if len(s) == len(DateLayout) {
		t, err := time.Parse(DateLayout, s)
		return t, true, err
	}
	t, err := time.Parse(time.RFC3339, s)
	return t.UTC(), false, err
}

// EncodeExDates renders exception dates (or extra dates, FieldRDates)
// canonically: sorted, without duplicates, in the series' format.
func EncodeExDates(ts []time.Time, allDay bool) string {
	seen := map[string]bool{}
	var out []string
	for _, t := range ts {
		s := FormatEventTime(t, allDay)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// DecodeExDates parses EncodeExDates; unparsable entries are dropped.
func DecodeExDates(s string) []time.Time {
	var out []time.Time
	for _, p := range strings.Split(s, ",") {
		if t, _, err := ParseEventTime(strings.TrimSpace(p)); err == nil && p != "" {
			out = append(out, t)
		}
	}
	return out
}

// EncodeOverrides renders overrides (normalized by crm) as FieldOverrides.
func EncodeOverrides(os []crm.Occurrence, allDay bool) string {
	lines := make([]string, len(os))
	for i, o := range os {
		lines[i] = strings.Join([]string{FormatEventTime(o.RecurrenceID, allDay), FormatEventTime(o.Start, allDay),
			FormatEventTime(o.End, allDay), entryEscaper.Replace(o.Title), entryEscaper.Replace(o.Description),
			entryEscaper.Replace(o.Location)}, "|")
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// DecodeOverrides parses EncodeOverrides; unparsable lines are dropped.
func DecodeOverrides(s string) []crm.Occurrence {
	var out []crm.Occurrence
	for _, l := range splitLines(s) {
		p := strings.SplitN(l, "|", 6)
		if len(p) < 6 {
			continue
		}
		rid, _, e1 := ParseEventTime(p[0])
		start, _, e2 := ParseEventTime(p[1])
		end, _, e3 := ParseEventTime(p[2])
		if e1 != nil || e2 != nil || e3 != nil {
			continue
		}
		out = append(out, crm.Occurrence{RecurrenceID: rid, Start: start, End: end, Title: entryUnescaper.Replace(p[3]),
			Description: entryUnescaper.Replace(p[4]), Location: entryUnescaper.Replace(p[5])})
	}
	return out
}

// CanonicalOverrides is the FieldOverrides value of a series given by its
// event fields f with the changed occurrences os, normalized the way the
// store normalizes an activity (occurrences that change nothing, are
// removed or do not exist are dropped), so a connector reports exactly
// what Tandem would keep.
func CanonicalOverrides(f Fields, os []crm.Occurrence) string {
	if f[FieldRRule] == "" && f[FieldRDates] == "" || len(os) == 0 {
		return ""
	}
	a := &crm.Activity{}
	if err := ApplyEventFields(a, f, []string{FieldTitle, FieldDescription, FieldLocation, FieldStart, FieldEnd,
		FieldAllDay, FieldTimeZone, FieldRRule, FieldRDates, FieldExDates}); err != nil {
		return ""
	}
	a.Overrides = os
	a.Normalize()
	return EncodeOverrides(a.Overrides, a.AllDay)
}

// Attendee is one participant of an event in normalized form.
type Attendee struct {
	Email  string
	Name   string
	Status string // one of crm.ResponseStatuses
}

// EncodeAttendees renders attendees canonically: e-mails lower-cased,
// sorted by e-mail, one per address, statuses defaulted.
func EncodeAttendees(as []Attendee) string {
	byEmail := map[string]Attendee{}
	for _, a := range as {
		a.Email = strings.ToLower(strings.TrimSpace(a.Email))
		a.Name = strings.TrimSpace(a.Name)
		if a.Email == "" {
			continue
		}
		if a.Status == "" {
			a.Status = "needs_action"
		}
		if _, dup := byEmail[a.Email]; !dup {
			byEmail[a.Email] = a
		}
	}
	emails := make([]string, 0, len(byEmail))
	for e := range byEmail {
		emails = append(emails, e)
	}
	sort.Strings(emails)
	lines := make([]string, len(emails))
	for i, e := range emails {
		a := byEmail[e]
		lines[i] = entryEscaper.Replace(a.Email) + "|" + entryEscaper.Replace(a.Name) + "|" + entryEscaper.Replace(a.Status)
	}
	return strings.Join(lines, "\n")
}

// DecodeAttendees parses EncodeAttendees.
func DecodeAttendees(s string) []Attendee {
	var out []Attendee
	for _, l := range splitLines(s) {
		parts := strings.SplitN(l, "|", 3)
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		out = append(out, Attendee{Email: entryUnescaper.Replace(parts[0]), Name: entryUnescaper.Replace(parts[1]),
			Status: entryUnescaper.Replace(parts[2])})
	}
	return out
}

// EventFields is the normalized form of an activity shown in a calendar.
// organizer is the organizer's e-mail, resolved by the caller (a user's
// address or the activity's organizer_email); participants without an
// e-mail are left out (the caller fills in their contact's address).
func EventFields(a *crm.Activity, organizer string) Fields {
	f := Fields{FieldTitle: a.Title, FieldDescription: a.Description, FieldLocation: a.Location,
		FieldOrganizer: strings.ToLower(strings.TrimSpace(organizer)), FieldTandemID: a.ID}
	if start, end := a.CalendarSpan(); start != nil {
		f[FieldStart] = FormatEventTime(*start, a.AllDay)
		if end == nil {
			e := *start
			if a.AllDay {
				e = e.AddDate(0, 0, 1)
			}
			end = &e
		}
		f[FieldEnd] = FormatEventTime(*end, a.AllDay)
	}
	if a.AllDay {
		f[FieldAllDay] = "true"
	} else {
		tz := a.TimeZone
		if tz == "" {
			tz = "UTC"
		}
		f[FieldTimeZone] = tz
	}
	if a.IsSeries() {
		f[FieldRRule] = strings.TrimPrefix(strings.TrimSpace(a.RRule), "RRULE:")
		f[FieldRDates] = EncodeExDates(a.RDates, a.AllDay)
		f[FieldExDates] = EncodeExDates(a.ExDates, a.AllDay)
		f[FieldOverrides] = EncodeOverrides(a.Overrides, a.AllDay)
	}
	as := make([]Attendee, 0, len(a.Participants))
	for _, p := range a.Participants {
		as = append(as, Attendee{Email: p.Email, Name: p.Name, Status: p.ResponseStatus})
	}
	f[FieldAttendees] = EncodeAttendees(as)
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	return f
}

// ApplyEventFields sets the named fields of a from f. The organizer and
// tandem_id are the adapter's to apply (they need the store); participants
// keep the contact of a participant with the same e-mail.
func ApplyEventFields(a *crm.Activity, f Fields, names []string) error {
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	for _, n := range names {
		v := f[n]
		switch n {
		case FieldTitle:
			a.Title = v
		case FieldDescription:
			a.Description = v
		case FieldLocation:
			a.Location = v
		case FieldAllDay:
			a.AllDay = v == "true"
		case FieldStart, FieldEnd:
			var t *time.Time
			if v != "" {
				tv, _, err := ParseEventTime(v)
				if err != nil {
					return fmt.Errorf("event %s %q: %w", n, v, err)
				}
				t = &tv
			}
			if n == FieldStart {
				a.Start = t
			} else {
				a.End = t
			}
		case FieldTimeZone:
			if v != "" {
				if _, err := crm.LoadZone(v); err != nil {
					return fmt.Errorf("event time zone %q: %w", v, err)
				}
				a.TimeZone = v
			}
		case FieldRRule:
			a.RRule = v
		case FieldRDates:
			a.RDates = DecodeExDates(v)
		case FieldExDates:
			a.ExDates = DecodeExDates(v)
		case FieldOverrides:
			a.Overrides = DecodeOverrides(v)
		case FieldAttendees:
			old := map[string]crm.Participant{}
			for _, p := range a.Participants {
				if p.Email != "" {
					old[strings.ToLower(p.Email)] = p
				}
			}
			ps := []crm.Participant{}
			for _, at := range DecodeAttendees(v) {
				p := crm.Participant{Email: at.Email, Name: at.Name, ResponseStatus: at.Status}
				if o, ok := old[strings.ToLower(at.Email)]; ok {
					p.ContactID = o.ContactID
				}
				ps = append(ps, p)
			}
			a.Participants = ps
		}
	}
	if has[FieldStart] && !has[FieldAllDay] && f[FieldStart] != "" {
		// The form of the start says whether the item is all-day.
		_, allDay, _ := ParseEventTime(f[FieldStart])
		a.AllDay = allDay
	}
	if !a.IsSeries() {
		a.ExDates, a.Overrides = nil, nil
	}
	return nil
}

// ReachesDate reports whether an activity has time on or after from: it
// starts or ends after it, or is a series with an occurrence that does.
// This is the rule of Google's timeMin, so both sides agree on what a
// listing bounded by the sync-from date holds.
func ReachesDate(a *crm.Activity, from time.Time) bool {
	if from.IsZero() || a.Start == nil {
		return a.Start != nil
	}
	start := *a.Start
	end := start
	if a.End != nil {
		end = *a.End
	}
	if !start.Before(from) || end.After(from) {
		return true
	}
	r := a.Recurrence()
	if r == nil {
		return false
	}
	// An occurrence ending after from starts after from - duration.
	return !r.After(from.Add(-end.Sub(start)), false).IsZero()
}

// EventReachesDate is ReachesDate for an event in Fields form. An event
// whose dates cannot be read counts as reaching the date: a window must
// never hide what it cannot judge.
func EventReachesDate(f Fields, from time.Time) bool {
	if from.IsZero() || f[FieldStart] == "" {
		return true
	}
	var a crm.Activity
	if err := ApplyEventFields(&a, f, EventFieldNames); err != nil {
		return true
	}
	return ReachesDate(&a, from)
}
