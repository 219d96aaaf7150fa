package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
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
	FieldTimeZone, FieldRRule, FieldExDates, FieldOverrides, FieldAttendees, FieldOrganizer, FieldTandemID}

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

// EncodeExDates renders exception dates canonically: sorted, without
// duplicates, in the series' format.
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
	if f[FieldRRule] == "" || len(os) == 0 {
		return ""
	}
	a := &crm.Activity{}
	if err := ApplyEventFields(a, f, []string{FieldTitle, FieldDescription, FieldLocation, FieldStart, FieldEnd,
		FieldAllDay, FieldTimeZone, FieldRRule, FieldExDates}); err != nil {
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
	if rr := strings.TrimPrefix(strings.TrimSpace(a.RRule), "RRULE:"); rr != "" {
		f[FieldRRule] = rr
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
				if _, err := time.LoadLocation(v); err != nil {
					return fmt.Errorf("event time zone %q: %w", v, err)
				}
				a.TimeZone = v
			}
		case FieldRRule:
			a.RRule = v
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
	if a.RRule == "" {
		a.ExDates, a.Overrides = nil, nil
	}
	return nil
}

// EventsLocal is the Tandem side of a calendar binding (SPEC §4 Google
// Calendar and its profile rules):
//
//   - Scope: activities with show_in_calendar owned by the connection's
//     user, and those the user organizes. Sync follows the organizer: an
//     activity organized by another user who syncs a calendar is that
//     user's to export. Unlinked activities sync only if they reach the
//     sync-from date (older items are not synced); a linked one stays in
//     scope whatever its date.
//   - Import: a remote event becomes a meeting (or a note, in the import
//     mode that keeps events as notes) with show_in_calendar owned by the
//     user; attendees become participants, each linked to the
//     contact whose e-mail matches. An event carrying an activity's id, or
//     equal in title and times to an unlinked activity of the user, is
//     matched to it instead of being created again (resubscribe).
//   - Organizer rule: before export, an activity whose organizer is not
//     the user and has no calendar sync gets the user as organizer
//     (ApplyOrganizerRule).
//   - Removed remotely: the activity is deleted (journaled by the engine).
//   - Back in scope: an event back in the calendar (restored in Google)
//     whose activity was taken out of the calendar shows it there again
//     (Reenter).
type EventsLocal struct {
	Store     *store.Store
	Viewer    access.Viewer // the connection's user
	BindingID string
	From      time.Time // the sync-from date; zero: no bound
	// ImportAs is the type an imported event becomes: "meeting" (default)
	// or "note", the import mode that keeps events as notes.
	ImportAs string

	syncs  map[string]bool   // users with an enabled calendar binding (per run)
	emails map[string]string // user id → e-mail
}

// Entity implements Local.
func (l *EventsLocal) Entity() string { return store.EntityActivity }

// Load implements Local.
func (l *EventsLocal) Load(ctx context.Context, id string) (LocalRecord, error) {
	a, err := l.Store.GetActivity(ctx, l.Viewer, id)
	if errors.Is(err, store.ErrNotFound) {
		return LocalRecord{}, nil
	}
	if err != nil {
		return LocalRecord{}, err
	}
	f, err := l.fields(ctx, a)
	if err != nil {
		return LocalRecord{}, err
	}
	in, err := l.inScope(ctx, a)
	if err != nil {
		return LocalRecord{}, err
	}
	locked, err := l.locked(ctx, a)
	if err != nil {
		return LocalRecord{}, err
	}
	return LocalRecord{Exists: true, InScope: in, Fields: f, Modified: a.UpdatedAt, Locked: locked}, nil
}

// Reasons a remote change is reverted (SPEC §4, calendar profile rules):
// journal reason codes, like those in reasons.go.
const (
	RuleActualStart = "kept_actual_start" // a started task keeps its actual start
	RuleActualEnd   = "kept_actual_end"   // a completed task keeps its actual end
	RuleNoEdit      = "no_edit_right"     // the user may not edit the activity in Tandem
)

// locked names the fields a calendar may not change: every field of an
// activity the user may only read, the start of a task that has started
// (its actual start) and the end of a completed one (its actual end).
func (l *EventsLocal) locked(ctx context.Context, a *crm.Activity) (map[string]string, error) {
	can, err := l.Store.Editable(ctx, l.Viewer, store.EntityActivity, a.ID)
	if err != nil {
		return nil, err
	}
	if !can {
		m := map[string]string{}
		for _, n := range EventFieldNames {
			m[n] = RuleNoEdit
		}
		return m, nil
	}
	if a.Type != "task" || a.RRule != "" || a.ActualStart == nil || !slices.Contains(crm.StartedStatuses, a.Status) {
		return nil, nil
	}
	m := map[string]string{FieldStart: RuleActualStart, FieldAllDay: RuleActualStart}
	if a.Status == "completed" {
		m[FieldEnd] = RuleActualEnd
	}
	return m, nil
}

func (l *EventsLocal) fields(ctx context.Context, a *crm.Activity) (Fields, error) {
	org, err := l.organizerEmail(ctx, a)
	if err != nil {
		return nil, err
	}
	c := *a
	c.Participants = make([]crm.Participant, 0, len(a.Participants))
	for _, p := range a.Participants {
		if p.Email == "" && p.ContactID != "" {
			ct, err := l.Store.GetContact(ctx, l.Viewer, p.ContactID)
			if err == nil {
				p.Email = ct.PrimaryEmail()
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		c.Participants = append(c.Participants, p)
	}
	return EventFields(&c, org), nil
}

// organizerEmail is the address that stands for an activity's organizer:
// the organizing user's, else organizer_email, else the syncing user's
// (an activity without an organizer is organized by whoever syncs it).
func (l *EventsLocal) organizerEmail(ctx context.Context, a *crm.Activity) (string, error) {
	switch {
	case a.OrganizerID == l.Viewer.UserID:
		return l.Viewer.Email, nil
	case a.OrganizerID != "":
		return l.userEmail(ctx, a.OrganizerID)
	case a.OrganizerEmail != "":
		return a.OrganizerEmail, nil
	}
	return l.Viewer.Email, nil
}

func (l *EventsLocal) userEmail(ctx context.Context, id string) (string, error) {
	if e, ok := l.emails[id]; ok {
		return e, nil
	}
	u, err := l.Store.GetUser(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	e := ""
	if u != nil {
		e = u.Email
	}
	if l.emails == nil {
		l.emails = map[string]string{}
	}
	l.emails[id] = e
	return e, nil
}

// HasCalendarSync reports whether a user has calendar sync set up: an
// enabled event binding on one of their connections.
func (l *EventsLocal) HasCalendarSync(ctx context.Context, userID string) (bool, error) {
	if v, ok := l.syncs[userID]; ok {
		return v, nil
	}
	conns, err := l.Store.ListConnections(ctx, userID)
	if err != nil {
		return false, err
	}
	found := false
	for _, c := range conns {
		bs, err := l.Store.ListBindings(ctx, c.ID)
		if err != nil {
			return false, err
		}
		for _, b := range bs {
			if b.Kind == "event" && b.Enabled {
				found = true
			}
		}
	}
	if l.syncs == nil {
		l.syncs = map[string]bool{}
	}
	l.syncs[userID] = found
	return found, nil
}

func (l *EventsLocal) linked(ctx context.Context, id string) (bool, error) {
	_, err := l.Store.FindLink(ctx, l.BindingID, "local_id", id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (l *EventsLocal) inScope(ctx context.Context, a *crm.Activity) (bool, error) {
	if !a.ShowInCalendar || a.Start == nil {
		return false, nil
	}
	if a.OrganizerID != l.Viewer.UserID {
		if a.OwnerID != l.Viewer.UserID {
			return false, nil
		}
		if a.OrganizerID != "" {
			// Sync follows the organizer.
			syncs, err := l.HasCalendarSync(ctx, a.OrganizerID)
			if err != nil || syncs {
				return false, err
			}
		}
	}
	linked, err := l.linked(ctx, a.ID)
	if err != nil || linked {
		return linked, err
	}
	return ReachesDate(a, l.From), nil
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
	r := a.Series()
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

// Create implements Local: a meeting shown in the calendar, owned by the
// user, unless the item is an activity already here (see EventsLocal).
func (l *EventsLocal) Create(ctx context.Context, tx *store.Tx, f Fields) (string, error) {
	id, err := l.adopt(ctx, f)
	if err != nil || id != "" {
		return id, err
	}
	typ := l.ImportAs
	if typ == "" {
		typ = "meeting"
	}
	a := &crm.Activity{Type: typ, ShowInCalendar: true, OwnerID: l.Viewer.UserID, TimeZone: "UTC"}
	if err := ApplyEventFields(a, f, EventFieldNames); err != nil {
		return "", err
	}
	if err := l.applyOrganizer(ctx, a, f[FieldOrganizer]); err != nil {
		return "", err
	}
	if err := l.matchContacts(ctx, a); err != nil {
		return "", err
	}
	if err := tx.CreateActivity(ctx, l.Viewer, a); err != nil {
		return "", err
	}
	return a.ID, nil
}

// adopt finds an unlinked activity of the user that a remote item stands
// for: by the activity id the item carries, else by equal title and
// times. It returns "" when there is none.
func (l *EventsLocal) adopt(ctx context.Context, f Fields) (string, error) {
	usable := func(a *crm.Activity) (bool, error) {
		if a.OwnerID != l.Viewer.UserID && a.OrganizerID != l.Viewer.UserID {
			return false, nil
		}
		linked, err := l.linked(ctx, a.ID)
		return !linked, err
	}
	if id := f[FieldTandemID]; id != "" {
		a, err := l.Store.GetActivity(ctx, l.Viewer, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if err == nil {
			ok, err := usable(a)
			if err != nil {
				return "", err
			}
			if ok {
				return a.ID, nil
			}
		}
	}
	start, _, err := ParseEventTime(f[FieldStart])
	if err != nil || f[FieldTitle] == "" {
		return "", nil
	}
	yes := true
	cands, _, err := l.Store.ListActivities(ctx, l.Viewer, store.ActivityFilter{OwnerID: l.Viewer.UserID,
		ShowInCalendar: &yes, From: start, To: start.Add(time.Second), Page: store.Page{Limit: 200}})
	if err != nil {
		return "", err
	}
	for i := range cands {
		a := &cands[i]
		if a.Start == nil || strings.TrimSpace(a.Title) != strings.TrimSpace(f[FieldTitle]) {
			continue
		}
		af := EventFields(a, "")
		if af[FieldStart] != f[FieldStart] || af[FieldEnd] != f[FieldEnd] || af[FieldAllDay] != f[FieldAllDay] {
			continue
		}
		ok, err := usable(a)
		if err != nil {
			return "", err
		}
		if ok {
			return a.ID, nil
		}
	}
	return "", nil
}

// applyOrganizer sets the organizer from an e-mail: the user's own
// address makes the user the organizer; another keeps the organizing user
// whose address it is, else becomes organizer_email.
func (l *EventsLocal) applyOrganizer(ctx context.Context, a *crm.Activity, email string) error {
	email = strings.TrimSpace(email)
	if email == "" {
		return nil
	}
	if strings.EqualFold(email, l.Viewer.Email) {
		a.OrganizerID, a.OrganizerEmail = l.Viewer.UserID, l.Viewer.Email
		return nil
	}
	if a.OrganizerID != "" {
		cur, err := l.userEmail(ctx, a.OrganizerID)
		if err != nil {
			return err
		}
		if strings.EqualFold(cur, email) {
			return nil
		}
	}
	a.OrganizerID, a.OrganizerEmail = "", email
	return nil
}

// matchContacts links participants without a contact to the contact the
// user can see whose e-mail matches.
func (l *EventsLocal) matchContacts(ctx context.Context, a *crm.Activity) error {
	for i := range a.Participants {
		p := &a.Participants[i]
		if p.ContactID != "" || p.Email == "" {
			continue
		}
		cs, _, err := l.Store.ListContacts(ctx, l.Viewer, store.ContactFilter{Email: p.Email, Page: store.Page{Limit: 1}})
		if err != nil {
			return err
		}
		if len(cs) > 0 {
			p.ContactID = cs[0].ID
		}
	}
	return nil
}

// Update implements Local.
func (l *EventsLocal) Update(ctx context.Context, tx *store.Tx, id string, f Fields, names []string) error {
	a, err := l.Store.GetActivity(ctx, l.Viewer, id)
	if err != nil {
		return err
	}
	if err := ApplyEventFields(a, f, names); err != nil {
		return err
	}
	for _, n := range names {
		switch n {
		case FieldOrganizer:
			if err := l.applyOrganizer(ctx, a, f[FieldOrganizer]); err != nil {
				return err
			}
		case FieldAttendees:
			if err := l.matchContacts(ctx, a); err != nil {
				return err
			}
		}
	}
	a.Tags, a.Access = nil, nil // leave as they are
	return tx.UpdateActivity(ctx, l.Viewer, a, a.Version)
}

// RemoteRemoved implements Local: an event deleted remotely deletes the
// activity (the engine journals it).
//
// An activity the user may not edit stays: a calendar must not delete
// what Tandem does not let its user delete (it is exported again with its
// next change).
func (l *EventsLocal) RemoteRemoved(ctx context.Context, tx *store.Tx, id string) (string, error) {
	if can, err := l.Store.Editable(ctx, l.Viewer, store.EntityActivity, id); err != nil || !can {
		return "keep", err
	}
	if err := tx.DeleteActivity(ctx, l.Viewer, id); err != nil {
		return "", err
	}
	return ActionDelete, nil
}

// Reenter implements Local: an activity whose event is back in the
// calendar is shown in the calendar again.
func (l *EventsLocal) Reenter(ctx context.Context, tx *store.Tx, id string) (string, error) {
	a, err := l.Store.GetActivity(ctx, l.Viewer, id)
	if err != nil || a.ShowInCalendar {
		return "", err
	}
	a.ShowInCalendar = true
	a.Tags, a.Access = nil, nil // leave as they are
	if err := tx.UpdateActivity(ctx, l.Viewer, a, a.Version); err != nil {
		return "", err
	}
	return "show", nil
}

// ApplyOrganizerRule runs before a binding's run over the activities
// changed since its local cursor (since): an activity about to be
// exported — in scope, not linked yet — whose organizer is not the user
// and has no calendar sync (another user without it, or an outside
// address) gets the user as organizer (SPEC §4: "the participant who ran
// the sync becomes the organizer"). The write carries the binding's origin
// and is journaled; the change that put the activity in scope still makes
// the push export it. It returns how many activities it changed.
func (l *EventsLocal) ApplyOrganizerRule(ctx context.Context, since int64) (int, error) {
	origin := OriginOf(l.BindingID)
	ctx = store.WithOrigin(ctx, origin)
	seen := map[string]bool{}
	changed := 0
	for {
		chs, err := l.Store.Changes(ctx, since, store.EntityActivity, 1000)
		if err != nil {
			return changed, err
		}
		if len(chs) == 0 {
			return changed, nil
		}
		// Only activities in the binding's scope can need the rule; ask
		// for them in one query rather than reading every changed record
		// (the change log holds every user's changes).
		var ids []string
		for _, ch := range chs {
			if ch.Origin != origin && ch.Op != "delete" && !seen[ch.EntityID] {
				seen[ch.EntityID] = true
				ids = append(ids, ch.EntityID)
			}
		}
		since = chs[len(chs)-1].Seq
		in, err := l.InScopeIDs(ctx, ids)
		if err != nil {
			return changed, err
		}
		for _, id := range ids {
			if !in[id] {
				continue
			}
			ok, err := l.organizerRule(ctx, id)
			if err != nil {
				return changed, err
			}
			if ok {
				changed++
			}
		}
	}
}

func (l *EventsLocal) organizerRule(ctx context.Context, id string) (bool, error) {
	a, err := l.Store.GetActivity(ctx, l.Viewer, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	me := l.Viewer.UserID
	if !a.ShowInCalendar || a.Start == nil || a.OwnerID != me || a.OrganizerID == me {
		return false, nil
	}
	if a.OrganizerID == "" && (a.OrganizerEmail == "" || strings.EqualFold(a.OrganizerEmail, l.Viewer.Email)) {
		return false, nil // already the user's (no organizer means whoever syncs)
	}
	if a.OrganizerID != "" {
		syncs, err := l.HasCalendarSync(ctx, a.OrganizerID)
		if err != nil || syncs {
			return false, err // sync follows the organizer
		}
	}
	if linked, err := l.linked(ctx, id); err != nil || linked {
		return false, err
	}
	if !ReachesDate(a, l.From) {
		return false, nil
	}
	prev, err := l.organizerEmail(ctx, a)
	if err != nil {
		return false, err
	}
	a.OrganizerID, a.OrganizerEmail = me, l.Viewer.Email
	a.Tags, a.Access = nil, nil
	err = l.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateActivity(ctx, l.Viewer, a, a.Version); err != nil {
			return err
		}
		return tx.Journal(ctx, store.JournalEntry{BindingID: l.BindingID, Entity: store.EntityActivity, RecordID: id,
			Side: "local", Action: "update", Fields: []string{FieldOrganizer},
			Reason: OrganizerReplaced(prev)})
	})
	if err != nil {
		return false, err
	}
	return true, nil
}

var _ Local = (*EventsLocal)(nil)
