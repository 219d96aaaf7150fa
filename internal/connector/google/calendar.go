package google

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// idKey is the private extended property holding the Tandem activity id
// (reconcile.FieldTandemID); markerKey holds the engine's marker.
const idKey = "tandem.id"

// NewCalendarService returns a Calendar API client.
func NewCalendarService(ctx context.Context, hc *http.Client, ep Endpoints) (*calendar.Service, error) {
	opts := []option.ClientOption{option.WithHTTPClient(hc)}
	if ep.Calendar != "" {
		opts = append(opts, option.WithEndpoint(ep.Calendar))
	}
	svc, err := calendar.NewService(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("calendar client: %w", err)
	}
	return svc, nil
}

// CalendarInfo is one calendar of the user's calendar list.
type CalendarInfo struct {
	ID         string `json:"id"`
	Summary    string `json:"summary"`
	TimeZone   string `json:"time_zone"`
	Primary    bool   `json:"primary"`
	AccessRole string `json:"access_role"`
}

// ListCalendars returns the user's calendars, primary first.
func ListCalendars(ctx context.Context, svc *calendar.Service) ([]CalendarInfo, error) {
	out := []CalendarInfo{}
	err := svc.CalendarList.List().MaxResults(250).Context(ctx).Pages(ctx, func(l *calendar.CalendarList) error {
		for _, c := range l.Items {
			if c.Deleted {
				continue
			}
			name := c.SummaryOverride
			if name == "" {
				name = c.Summary
			}
			out = append(out, CalendarInfo{ID: c.Id, Summary: name, TimeZone: c.TimeZone, Primary: c.Primary, AccessRole: c.AccessRole})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list calendars: %w", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Primary && !out[j].Primary })
	return out, nil
}

// CalendarOptions tune a Calendar connector.
type CalendarOptions struct {
	// From bounds full listings (timeMin: events ending after it); the
	// window then lives in the sync token. Zero lists everything.
	From time.Time
	// Self is the e-mail that stands for the calendar's owner as
	// organizer (organizer.self), so both sides name the syncing user
	// alike whatever the Google account's address.
	Self string
	// PageSize is maxResults of listings (default 250).
	PageSize int64
	Log      *slog.Logger
}

// Calendar is a reconcile.Connector over the events of one Google
// calendar (Calendar API v3).
//
// Series: a recurring event is one item, its master; its RRULE maps to the
// rrule field, its RDATE dates and date-times to rdates (periods are kept
// as they are, not mapped), its EXDATE lines together with its cancelled instances
// (Google's "cancelled exceptions") to exdates, and its changed instances
// (an occurrence moved or edited alone) to overrides. An exception in a
// listing makes the connector re-read its series, and the item's etag then
// covers the master and all its exceptions, so the engine sees the change.
// Writes bring the exceptions in line through Google's instance ids
// (writeOccurrences). An occurrence's own attendees are not mapped.
//
// Writes read the event first, check its etag, and send every mapped
// field with events.patch and If-Match (a patch also works on an event
// the user does not organize, where a full update is refused), keeping
// what Tandem does not map (reminders, colours, conference data,
// PERIOD RDATE and EXRULE lines, the user's own, the organizer's and rooms'
// attendee entries, other extended properties). Google sends no
// invitations for Tandem's writes (sendUpdates=none). The organizer is
// read-only in Google and not written.
type Calendar struct {
	svc *calendar.Service
	cal string
	opt CalendarOptions
	tz  string // the calendar's time zone, once known
}

// NewCalendar returns the connector for a calendar id ("primary" or an id
// from the calendar list).
func NewCalendar(svc *calendar.Service, calendarID string, opt CalendarOptions) *Calendar {
	if opt.PageSize <= 0 {
		opt.PageSize = 250
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	return &Calendar{svc: svc, cal: calendarID, opt: opt}
}

func (c *Calendar) calendarTZ(ctx context.Context) (string, error) {
	if c.tz != "" {
		return c.tz, nil
	}
	cal, err := c.svc.Calendars.Get(c.cal).Context(ctx).Do()
	if err != nil {
		return "", c.mapErr("read calendar", err)
	}
	c.tz = cal.TimeZone
	if c.tz == "" {
		c.tz = "UTC"
	}
	return c.tz, nil
}

func (c *Calendar) mapErr(op string, err error) error {
	if ge := apiError(err); ge != nil {
		switch ge.Code {
		case http.StatusNotFound, http.StatusGone: // 410 "deleted": gone already
			return reconcile.ErrRemoteNotFound
		case http.StatusPreconditionFailed:
			return reconcile.ErrPrecondition
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Covers implements reconcile.Windowed: a full listing starts at the
// sync-from date (timeMin), so it shows only events reaching it.
func (c *Calendar) Covers(f reconcile.Fields) bool {
	return reconcile.EventReachesDate(f, c.opt.From)
}

// List implements reconcile.Connector: events.list with the sync token
// (deletions included, series as masters); a full listing starts at the
// sync-from date.
func (c *Calendar) List(ctx context.Context, cursor, page string) (reconcile.Page, error) {
	call := c.svc.Events.List(c.cal).ShowDeleted(true).SingleEvents(false).MaxResults(c.opt.PageSize).Context(ctx)
	if cursor != "" {
		call = call.SyncToken(cursor)
	} else if !c.opt.From.IsZero() {
		call = call.TimeMin(c.opt.From.UTC().Format(time.RFC3339))
	}
	if page != "" {
		call = call.PageToken(page)
	}
	resp, err := call.Do()
	if err != nil {
		if ge := apiError(err); ge != nil && ge.Code == http.StatusGone {
			// 410 fullSyncRequired (also for a garbled token).
			return reconcile.Page{}, reconcile.ErrCursorExpired
		}
		return reconcile.Page{}, fmt.Errorf("list events: %w", err)
	}
	if resp.TimeZone != "" {
		c.tz = resp.TimeZone
	}
	p := reconcile.Page{NextPage: resp.NextPageToken, NextCursor: resp.NextSyncToken}
	var series []string
	masters := map[string]*calendar.Event{}
	want := func(id string) {
		if _, ok := masters[id]; !ok {
			masters[id] = nil
			series = append(series, id)
		}
	}
	for _, ev := range resp.Items {
		switch {
		case ev.RecurringEventId != "":
			// A removed or changed occurrence: part of its series' item.
			want(ev.RecurringEventId)
		case ev.Status == "cancelled":
			p.Items = append(p.Items, reconcile.Item{RemoteID: ev.Id, ETag: ev.Etag, Deleted: true})
		case len(ev.Recurrence) > 0:
			want(ev.Id)
			masters[ev.Id] = ev
		default:
			p.Items = append(p.Items, c.item(ev, nil))
		}
	}
	for _, id := range series {
		it, err := c.series(ctx, id, masters[id])
		if err != nil {
			return reconcile.Page{}, err
		}
		p.Items = append(p.Items, it)
	}
	return p, nil
}

// series maps a recurring event with its exceptions; master may be nil
// (it is read then).
func (c *Calendar) series(ctx context.Context, id string, master *calendar.Event) (reconcile.Item, error) {
	if master == nil {
		ev, err := c.svc.Events.Get(c.cal, id).Context(ctx).Do()
		if err != nil {
			err = c.mapErr("read event", err)
			if errors.Is(err, reconcile.ErrRemoteNotFound) {
				return reconcile.Item{RemoteID: id, Deleted: true}, nil
			}
			return reconcile.Item{}, err
		}
		master = ev
	}
	if master.Status == "cancelled" {
		return reconcile.Item{RemoteID: master.Id, ETag: master.Etag, Deleted: true}, nil
	}
	if master.Start == nil || master.Start.TimeZone == "" {
		if _, err := c.calendarTZ(ctx); err != nil {
			return reconcile.Item{}, err
		}
	}
	var excs []*calendar.Event
	if len(master.Recurrence) > 0 {
		var err error
		if excs, err = c.exceptions(ctx, master); err != nil {
			return reconcile.Item{}, err
		}
	}
	return c.item(master, excs), nil
}

// exceptions lists the exceptions of a series, cancelled and changed
// occurrences (its events by iCalUID, deleted ones included).
func (c *Calendar) exceptions(ctx context.Context, master *calendar.Event) ([]*calendar.Event, error) {
	var out []*calendar.Event
	if master.ICalUID == "" {
		return nil, nil
	}
	call := c.svc.Events.List(c.cal).ICalUID(master.ICalUID).ShowDeleted(true).SingleEvents(false).MaxResults(2500)
	err := call.Pages(ctx, func(es *calendar.Events) error {
		for _, ev := range es.Items {
			if ev.RecurringEventId == master.Id {
				out = append(out, ev)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list exceptions of %s: %w", master.Id, err)
	}
	return out, nil
}

// seriesETag is the etag of a series item: the master's, extended by its
// exceptions when there are any.
func seriesETag(master string, excs []*calendar.Event) string {
	if len(excs) == 0 {
		return master
	}
	keys := make([]string, len(excs))
	for i, x := range excs {
		keys[i] = x.Id + "=" + x.Etag
	}
	sort.Strings(keys)
	h := fnv.New64a()
	for _, k := range keys {
		h.Write([]byte(k + "\n"))
	}
	return fmt.Sprintf("%s;x=%016x", master, h.Sum64())
}

// masterETag is the event's own etag in a series etag.
func masterETag(etag string) string {
	e, _, _ := strings.Cut(etag, ";x=")
	return e
}

func (c *Calendar) item(ev *calendar.Event, excs []*calendar.Event) reconcile.Item {
	it := reconcile.Item{RemoteID: ev.Id, ETag: seriesETag(ev.Etag, excs), Identity: ev.ICalUID}
	it.Modified, _ = time.Parse(time.RFC3339Nano, ev.Updated)
	for _, x := range excs {
		if t, err := time.Parse(time.RFC3339Nano, x.Updated); err == nil && t.After(it.Modified) {
			it.Modified = t
		}
	}
	if ev.ExtendedProperties != nil {
		it.Marker = ev.ExtendedProperties.Private[markerKey]
	}
	it.Fields = EventFields(ev, excs, c.tz, c.opt.Self)
	return it
}

// EventFields maps an event (a series master with its exceptions) to
// event fields: cancelled occurrences become exdates, changed ones
// overrides (their title, description, location and times; an
// occurrence's own attendees are not mapped). calendarTZ is the zone of
// times that name none; self stands for the calendar's owner as organizer.
func EventFields(ev *calendar.Event, excs []*calendar.Event, calendarTZ, self string) reconcile.Fields {
	f := reconcile.Fields{reconcile.FieldTitle: ev.Summary, reconcile.FieldDescription: ev.Description,
		reconcile.FieldLocation: ev.Location}
	allDay := ev.Start != nil && ev.Start.Date != ""
	tz := calendarTZ
	if ev.Start != nil && ev.Start.TimeZone != "" {
		tz = ev.Start.TimeZone
	}
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	if allDay {
		f[reconcile.FieldAllDay] = "true"
		f[reconcile.FieldStart] = ev.Start.Date
		if ev.End != nil {
			f[reconcile.FieldEnd] = ev.End.Date
		}
	} else {
		f[reconcile.FieldTimeZone] = tz
		f[reconcile.FieldStart] = edtInstant(ev.Start, loc)
		f[reconcile.FieldEnd] = edtInstant(ev.End, loc)
	}
	var exdates, rdates []time.Time
	for _, line := range ev.Recurrence {
		name, value, _ := strings.Cut(strings.TrimSpace(line), ":")
		dates := func() []time.Time {
			dloc := loc
			if allDay {
				dloc = time.UTC
			}
			_, rest, _ := strings.Cut(strings.TrimSpace(line), ";")
			if !strings.Contains(name, ";") {
				rest = value
			}
			ts, err := rrule.StrToDatesInLoc(rest, dloc)
			if err != nil {
				return nil
			}
			return ts
		}
		switch u := strings.ToUpper(name); {
		case u == "RRULE" && f[reconcile.FieldRRule] == "":
			f[reconcile.FieldRRule] = value
		case strings.HasPrefix(u, "EXDATE"):
			exdates = append(exdates, dates()...)
		case strings.HasPrefix(u, "RDATE") && !periodLine(line):
			rdates = append(rdates, dates()...)
		}
	}
	var changed []crm.Occurrence
	for _, x := range excs {
		rid, ok := edtTime(x.OriginalStartTime, loc)
		if !ok {
			continue
		}
		if x.Status == "cancelled" {
			exdates = append(exdates, rid)
			continue
		}
		start, ok1 := edtTime(x.Start, loc)
		end, ok2 := edtTime(x.End, loc)
		if !ok1 || !ok2 {
			continue
		}
		changed = append(changed, crm.Occurrence{RecurrenceID: rid, Start: start, End: end, Title: x.Summary,
			Description: x.Description, Location: x.Location})
	}
	if f[reconcile.FieldRRule] != "" || len(rdates) > 0 {
		if allDay {
			for _, ts := range [][]time.Time{exdates, rdates} {
				for i, t := range ts {
					// A date in whatever zone it was written: keep its day.
					y, m, d := t.Date()
					ts[i] = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
				}
			}
		}
		f[reconcile.FieldRDates] = reconcile.EncodeExDates(rdates, allDay)
		f[reconcile.FieldExDates] = reconcile.EncodeExDates(exdates, allDay)
		f[reconcile.FieldOverrides] = reconcile.CanonicalOverrides(f, changed)
	}
	var as []reconcile.Attendee
	for _, a := range ev.Attendees {
		if a.Self || a.Organizer || a.Resource {
			continue // the calendar's owner, the organizer, rooms: not participants
		}
		as = append(as, reconcile.Attendee{Email: a.Email, Name: a.DisplayName, Status: responseStatus(a.ResponseStatus)})
	}
	f[reconcile.FieldAttendees] = reconcile.EncodeAttendees(as)
	switch {
	case ev.Organizer == nil || ev.Organizer.Self:
		f[reconcile.FieldOrganizer] = strings.ToLower(self)
	default:
		f[reconcile.FieldOrganizer] = strings.ToLower(ev.Organizer.Email)
	}
	if ev.ExtendedProperties != nil {
		f[reconcile.FieldTandemID] = ev.ExtendedProperties.Private[idKey]
	}
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	return f
}

// edtTime reads an EventDateTime: a date as its UTC midnight, a time as
// its instant (read in loc when it names no offset).
func edtTime(d *calendar.EventDateTime, loc *time.Location) (time.Time, bool) {
	if d == nil {
		return time.Time{}, false
	}
	if d.Date != "" {
		t, err := time.Parse(reconcile.DateLayout, d.Date)
		return t, err == nil
	}
	s := edtInstant(d, loc)
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// edtInstant renders a timed EventDateTime as an RFC 3339 UTC instant; a
// dateTime without an offset is read in loc.
func edtInstant(d *calendar.EventDateTime, loc *time.Location) string {
	if d == nil || d.DateTime == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339, d.DateTime)
	if err != nil {
		if d.TimeZone != "" {
			if l, lerr := time.LoadLocation(d.TimeZone); lerr == nil {
				loc = l
			}
		}
		t, err = time.ParseInLocation("2006-01-02T15:04:05", d.DateTime, loc)
		if err != nil {
			return ""
		}
	}
	return reconcile.FormatEventTime(t, false)
}

func responseStatus(s string) string {
	switch s {
	case "accepted", "declined", "tentative":
		return s
	}
	return "needs_action"
}

func googleResponseStatus(s string) string {
	switch s {
	case "accepted", "declined", "tentative":
		return s
	}
	return "needsAction"
}

// applyEvent writes event fields onto ev (a new event or the current one,
// whose unmapped parts it keeps).
// periodLine reports whether a recurrence line is an RDATE of periods,
// which Tandem does not model.
func periodLine(l string) bool {
	name, value, _ := strings.Cut(strings.TrimSpace(l), ":")
	return strings.Contains(strings.ToUpper(name), "VALUE=PERIOD") || strings.Contains(value, "/")
}

func applyEvent(ev *calendar.Event, f reconcile.Fields, marker string) error {
	ev.Summary, ev.Description, ev.Location = f[reconcile.FieldTitle], f[reconcile.FieldDescription], f[reconcile.FieldLocation]
	start, allDay, err := reconcile.ParseEventTime(f[reconcile.FieldStart])
	if err != nil {
		return fmt.Errorf("event start %q: %w", f[reconcile.FieldStart], err)
	}
	end := start
	if f[reconcile.FieldEnd] != "" {
		if end, _, err = reconcile.ParseEventTime(f[reconcile.FieldEnd]); err != nil {
			return fmt.Errorf("event end %q: %w", f[reconcile.FieldEnd], err)
		}
	}
	tz := f[reconcile.FieldTimeZone]
	if tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return fmt.Errorf("event time zone %q: %w", tz, err)
	}
	if allDay {
		if !end.After(start) {
			end = start.AddDate(0, 0, 1)
		}
		ev.Start = &calendar.EventDateTime{Date: start.Format(reconcile.DateLayout)}
		ev.End = &calendar.EventDateTime{Date: end.Format(reconcile.DateLayout)}
	} else {
		ev.Start = &calendar.EventDateTime{DateTime: start.In(loc).Format(time.RFC3339), TimeZone: tz}
		ev.End = &calendar.EventDateTime{DateTime: end.In(loc).Format(time.RFC3339), TimeZone: tz}
	}

	var rec []string
	if rr := f[reconcile.FieldRRule]; rr != "" || f[reconcile.FieldRDates] != "" {
		for _, l := range ev.Recurrence {
			u := strings.ToUpper(strings.TrimSpace(l))
			if !strings.HasPrefix(u, "RRULE") && !strings.HasPrefix(u, "EXDATE") && (!strings.HasPrefix(u, "RDATE") || periodLine(l)) {
				rec = append(rec, l) // PERIOD RDATEs, EXRULE: kept as they are
			}
		}
		if rr != "" {
			rec = append(rec, "RRULE:"+rr)
		}
		for _, p := range []struct{ name, field string }{{"RDATE", reconcile.FieldRDates}, {"EXDATE", reconcile.FieldExDates}} {
			ts := reconcile.DecodeExDates(f[p.field])
			if len(ts) == 0 {
				continue
			}
			vals := make([]string, len(ts))
			for i, t := range ts {
				if allDay {
					vals[i] = t.UTC().Format("20060102")
				} else {
					vals[i] = t.In(loc).Format("20060102T150405")
				}
			}
			sort.Strings(vals)
			if allDay {
				rec = append(rec, p.name+";VALUE=DATE:"+strings.Join(vals, ","))
			} else {
				rec = append(rec, p.name+";TZID="+tz+":"+strings.Join(vals, ","))
			}
		}
	}
	ev.Recurrence = rec

	old := map[string]*calendar.EventAttendee{}
	var atts []*calendar.EventAttendee
	for _, a := range ev.Attendees {
		if a.Self || a.Organizer || a.Resource {
			atts = append(atts, a)
			continue
		}
		old[strings.ToLower(a.Email)] = a
	}
	for _, a := range reconcile.DecodeAttendees(f[reconcile.FieldAttendees]) {
		at := old[a.Email]
		if at == nil {
			at = &calendar.EventAttendee{Email: a.Email}
		}
		at.DisplayName, at.ResponseStatus = a.Name, googleResponseStatus(a.Status)
		atts = append(atts, at)
	}
	ev.Attendees = atts

	if ev.ExtendedProperties == nil {
		ev.ExtendedProperties = &calendar.EventExtendedProperties{}
	}
	if ev.ExtendedProperties.Private == nil {
		ev.ExtendedProperties.Private = map[string]string{}
	}
	if marker != "" {
		ev.ExtendedProperties.Private[markerKey] = marker
	}
	if id := f[reconcile.FieldTandemID]; id != "" {
		ev.ExtendedProperties.Private[idKey] = id
	} else {
		delete(ev.ExtendedProperties.Private, idKey)
	}
	return nil
}

// patchFor is the events.patch body that gives ev the fields f: every
// mapped field, cleared ones as null, arrays whole (Google replaces
// them), start and end with the unused form nulled (Google merges
// objects).
func patchFor(ev *calendar.Event, f reconcile.Fields) (*calendar.Event, error) {
	upd := *ev
	if err := applyEvent(&upd, f, ""); err != nil {
		return nil, err
	}
	p := &calendar.Event{Summary: upd.Summary, Description: upd.Description, Location: upd.Location, Start: upd.Start,
		End: upd.End, Recurrence: upd.Recurrence, Attendees: upd.Attendees, ExtendedProperties: upd.ExtendedProperties}
	for _, n := range []struct {
		name  string
		empty bool
	}{{"Summary", p.Summary == ""}, {"Description", p.Description == ""}, {"Location", p.Location == ""},
		{"Recurrence", len(p.Recurrence) == 0}, {"Attendees", len(p.Attendees) == 0}} {
		if n.empty {
			p.NullFields = append(p.NullFields, n.name)
		}
	}
	for _, d := range []struct{ old, now *calendar.EventDateTime }{{ev.Start, p.Start}, {ev.End, p.End}} {
		switch {
		case d.old == nil:
		case d.now.Date != "" && d.old.DateTime != "":
			d.now.NullFields = []string{"DateTime", "TimeZone"}
		case d.now.Date == "" && d.old.Date != "":
			d.now.NullFields = []string{"Date"}
		}
	}
	return p, nil
}

// Get implements reconcile.Connector.
func (c *Calendar) Get(ctx context.Context, id string) (reconcile.Item, error) {
	ev, err := c.svc.Events.Get(c.cal, id).Context(ctx).Do()
	if err != nil {
		return reconcile.Item{}, c.mapErr("read event", err)
	}
	return c.series(ctx, id, ev)
}

// Create implements reconcile.Connector: a new event carrying the marker
// (and the activity id) in its private extended properties; Google's
// iCalUID becomes the item's identity.
func (c *Calendar) Create(ctx context.Context, f reconcile.Fields, marker string) (reconcile.Item, error) {
	ev := &calendar.Event{}
	if err := applyEvent(ev, f, marker); err != nil {
		return reconcile.Item{}, &reconcile.ItemError{Err: err}
	}
	got, err := c.svc.Events.Insert(c.cal, ev).SendUpdates("none").Context(ctx).Do()
	if err != nil {
		return reconcile.Item{}, c.mapErr("create event", err)
	}
	if f[reconcile.FieldRRule] != "" && f[reconcile.FieldOverrides] != "" {
		if err := c.writeOccurrences(ctx, got, nil, f); err != nil {
			return reconcile.Item{}, err
		}
		return c.series(ctx, got.Id, nil)
	}
	return c.series(ctx, got.Id, got)
}

// Update implements reconcile.Connector: read the event (and a series'
// exceptions), refuse if it moved on from etag, patch it with If-Match,
// then bring the exceptions in line (writeOccurrences).
func (c *Calendar) Update(ctx context.Context, id, etag string, f reconcile.Fields) (reconcile.Item, error) {
	ev, err := c.svc.Events.Get(c.cal, id).Context(ctx).Do()
	if err != nil {
		return reconcile.Item{}, c.mapErr("read event", err)
	}
	if ev.Status == "cancelled" {
		return reconcile.Item{}, reconcile.ErrRemoteNotFound
	}
	var excs []*calendar.Event
	if len(ev.Recurrence) > 0 {
		if excs, err = c.exceptions(ctx, ev); err != nil {
			return reconcile.Item{}, err
		}
	}
	if etag != "" && seriesETag(ev.Etag, excs) != etag {
		return reconcile.Item{}, reconcile.ErrPrecondition
	}
	patch, err := patchFor(ev, f)
	if err != nil {
		return reconcile.Item{}, &reconcile.ItemError{Err: err}
	}
	call := c.svc.Events.Patch(c.cal, id, patch).SendUpdates("none").Context(ctx)
	call.Header().Set("If-Match", ev.Etag)
	got, err := call.Do()
	if err != nil {
		return reconcile.Item{}, c.mapErr("update event", err)
	}
	if f[reconcile.FieldRRule] != "" && (len(excs) > 0 || f[reconcile.FieldOverrides] != "") {
		if err := c.writeOccurrences(ctx, got, excs, f); err != nil {
			return reconcile.Item{}, err
		}
		got = nil // re-read with the exceptions as they are now
	}
	return c.series(ctx, id, got)
}

// writeOccurrences makes a series' exceptions say what f says: an
// occurrence removed in Tandem stays cancelled (the master's EXDATE hides
// it, and a changed one is cancelled too); a cancelled one back in Tandem
// is restored; a changed occurrence is written to its instance, and one
// no longer changed gets the series' values back. Instances that are not
// exceptions yet are addressed by Google's instance id.
func (c *Calendar) writeOccurrences(ctx context.Context, master *calendar.Event, excs []*calendar.Event, f reconcile.Fields) error {
	allDay := f[reconcile.FieldAllDay] == "true"
	series := &crm.Activity{}
	if err := reconcile.ApplyEventFields(series, f, reconcile.EventFieldNames); err != nil {
		return &reconcile.ItemError{Err: err}
	}
	loc := time.UTC
	if !allDay {
		if l, err := time.LoadLocation(series.TimeZone); err == nil {
			loc = l
		}
	}
	removed := map[string]bool{}
	for _, t := range series.ExDates {
		removed[reconcile.FormatEventTime(t, allDay)] = true
	}
	want := map[string]crm.Occurrence{}
	for _, o := range series.Overrides {
		want[reconcile.FormatEventTime(o.RecurrenceID, allDay)] = o
	}
	occurrence := func(key string, rid time.Time) crm.Occurrence {
		if o, ok := want[key]; ok {
			return o
		}
		return series.Generated(rid)
	}
	same := func(a, b crm.Occurrence) bool {
		return reconcile.EncodeOverrides([]crm.Occurrence{a}, allDay) == reconcile.EncodeOverrides([]crm.Occurrence{b}, allDay)
	}
	seen := map[string]bool{}
	for _, x := range excs {
		rid, ok := edtTime(x.OriginalStartTime, loc)
		if !ok {
			continue
		}
		key := reconcile.FormatEventTime(rid, allDay)
		seen[key] = true
		if x.Status == "cancelled" {
			if !removed[key] {
				// Back in Tandem: restore the occurrence.
				if err := c.patchOccurrence(ctx, x.Id, occurrence(key, rid), allDay, series.TimeZone, true); err != nil {
					return err
				}
			}
			continue
		}
		if removed[key] {
			if err := c.svc.Events.Delete(c.cal, x.Id).SendUpdates("none").Context(ctx).Do(); err != nil {
				if err := c.mapErr("cancel occurrence", err); !errors.Is(err, reconcile.ErrRemoteNotFound) {
					return err
				}
			}
			continue
		}
		start, ok1 := edtTime(x.Start, loc)
		end, ok2 := edtTime(x.End, loc)
		o := occurrence(key, rid)
		if ok1 && ok2 && same(o, crm.Occurrence{RecurrenceID: rid, Start: start, End: end, Title: x.Summary,
			Description: x.Description, Location: x.Location}) {
			continue
		}
		if err := c.patchOccurrence(ctx, x.Id, o, allDay, series.TimeZone, false); err != nil {
			return err
		}
	}
	for key, o := range want {
		if seen[key] {
			continue
		}
		if err := c.patchOccurrence(ctx, instanceID(master.Id, o.RecurrenceID, allDay), o, allDay, series.TimeZone, false); err != nil {
			return err
		}
	}
	return nil
}

// instanceID is Google's id of a series' occurrence: {id}_{yyyyMMdd} for
// all-day series, {id}_{yyyyMMddTHHmmssZ} for timed ones.
func instanceID(master string, rid time.Time, allDay bool) string {
	if allDay {
		return master + "_" + rid.UTC().Format("20060102")
	}
	return master + "_" + rid.UTC().Format("20060102T150405Z")
}

// patchOccurrence writes one occurrence's values to its instance
// (restoring a cancelled one when confirm is set).
func (c *Calendar) patchOccurrence(ctx context.Context, id string, o crm.Occurrence, allDay bool, tz string, confirm bool) error {
	p := &calendar.Event{Summary: o.Title, Description: o.Description, Location: o.Location}
	if allDay {
		p.Start = &calendar.EventDateTime{Date: o.Start.UTC().Format(reconcile.DateLayout), NullFields: []string{"DateTime", "TimeZone"}}
		p.End = &calendar.EventDateTime{Date: o.End.UTC().Format(reconcile.DateLayout), NullFields: []string{"DateTime", "TimeZone"}}
	} else {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			loc = time.UTC
		}
		p.Start = &calendar.EventDateTime{DateTime: o.Start.In(loc).Format(time.RFC3339), TimeZone: loc.String(), NullFields: []string{"Date"}}
		p.End = &calendar.EventDateTime{DateTime: o.End.In(loc).Format(time.RFC3339), TimeZone: loc.String(), NullFields: []string{"Date"}}
	}
	for _, n := range []struct {
		name  string
		empty bool
	}{{"Summary", p.Summary == ""}, {"Description", p.Description == ""}, {"Location", p.Location == ""}} {
		if n.empty {
			p.NullFields = append(p.NullFields, n.name)
		}
	}
	if confirm {
		p.Status = "confirmed"
	}
	if _, err := c.svc.Events.Patch(c.cal, id, p).SendUpdates("none").Context(ctx).Do(); err != nil {
		return c.mapErr("write occurrence", err)
	}
	return nil
}

// Delete implements reconcile.Connector (a series with its instances).
// An event deleted already counts as removed (ErrRemoteNotFound).
func (c *Calendar) Delete(ctx context.Context, id, etag string) error {
	call := c.svc.Events.Delete(c.cal, id).SendUpdates("none").Context(ctx)
	if e := masterETag(etag); e != "" {
		call.Header().Set("If-Match", e)
	}
	if err := call.Do(); err != nil {
		return c.mapErr("delete event", err)
	}
	return nil
}

// Restore implements reconcile.Connector: a deleted event is undeleted by
// setting it back to confirmed, which Google allows while the event is in
// the calendar's trash (after that it is not found). Deleting a series
// cancels its changed occurrences, so those that base, the series as last
// synced, has changed or kept are brought back (writeOccurrences).
func (c *Calendar) Restore(ctx context.Context, id string, base reconcile.Fields) (reconcile.Item, error) {
	ev, err := c.svc.Events.Get(c.cal, id).Context(ctx).Do()
	if err != nil {
		return reconcile.Item{}, c.mapErr("read event", err)
	}
	if ev.Status != "cancelled" {
		return c.series(ctx, id, ev)
	}
	got, err := c.svc.Events.Patch(c.cal, id, &calendar.Event{Status: "confirmed"}).SendUpdates("none").Context(ctx).Do()
	if err != nil {
		return reconcile.Item{}, c.mapErr("restore event", err)
	}
	if base[reconcile.FieldRRule] != "" && len(got.Recurrence) > 0 {
		excs, err := c.exceptions(ctx, got)
		if err != nil {
			return reconcile.Item{}, err
		}
		if err := c.writeOccurrences(ctx, got, excs, base); err != nil {
			return reconcile.Item{}, err
		}
		got = nil // re-read with the exceptions as they are now
	}
	return c.series(ctx, id, got)
}

// FindByMarker implements reconcile.Connector with a private extended
// property filter.
func (c *Calendar) FindByMarker(ctx context.Context, marker string) (reconcile.Item, bool, error) {
	resp, err := c.svc.Events.List(c.cal).PrivateExtendedProperty(markerKey + "=" + marker).SingleEvents(false).
		MaxResults(50).Context(ctx).Do()
	if err != nil {
		return reconcile.Item{}, false, fmt.Errorf("find event by marker: %w", err)
	}
	if resp.TimeZone != "" {
		c.tz = resp.TimeZone
	}
	for _, ev := range resp.Items {
		if ev.RecurringEventId != "" || ev.Status == "cancelled" {
			continue
		}
		it, err := c.series(ctx, ev.Id, ev)
		return it, err == nil, err
	}
	return reconcile.Item{}, false, nil
}

var _ reconcile.Connector = (*Calendar)(nil)
