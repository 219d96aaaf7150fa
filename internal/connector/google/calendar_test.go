package google_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/calendar/v3"

	"github.com/tandem-crm/tandem/internal/connector/google"
	"github.com/tandem-crm/tandem/internal/crm"
	emu "github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/emulator/google/calendartest"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

const calUser = "julia@gmail.com"

// calEnv is the Google emulator behind a loopback server, and a connector
// on one of the user's calendars.
type calEnv struct {
	t    *testing.T
	ctx  context.Context
	g    *emu.Server
	svc  *calendar.Service
	cal  string
	conn *google.Calendar
}

func newCalEnv(t *testing.T, tz string, opt google.CalendarOptions) *calEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	g := emu.New(emu.Options{Seed: 7})
	g.AddUser(calUser, "Julia")
	e := &calEnv{t: t, ctx: ctx, g: g}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(func() {
		srv.Close()
		g.Close()
	})
	hc := oauth2.NewClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: g.MintAccessToken(calUser), TokenType: "Bearer"}))
	svc, err := google.NewCalendarService(ctx, hc, google.FromBase(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.cal, err = g.CreateCalendar(calUser, "Work", tz)
	if err != nil {
		t.Fatal(err)
	}
	if opt.Self == "" {
		opt.Self = "julia@example.com"
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e.conn = google.NewCalendar(svc, e.cal, opt)
	return e
}

func (e *calEnv) event(id string) map[string]any {
	e.t.Helper()
	ev, ok := e.g.Event(calUser, e.cal, id)
	if !ok {
		e.t.Fatalf("no event %s", id)
	}
	return ev
}

// instances returns the start instants of a series' occurrences.
func (e *calEnv) instances(id string) []time.Time {
	return calendartest.Instances(e.t, e.ctx, e.svc, e.cal, id)
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestEventFieldsFromGoogle(t *testing.T) {
	tests := []struct {
		name   string
		ev     *calendar.Event
		excs   []*calendar.Event
		calTZ  string
		want   reconcile.Fields
		ignore []string
	}{
		{"timed with a time zone", &calendar.Event{Summary: "Planning", Description: "<b>agenda</b>",
			Start:     &calendar.EventDateTime{DateTime: "2015-03-09T09:00:00-04:00", TimeZone: "America/New_York"},
			End:       &calendar.EventDateTime{DateTime: "2015-03-09T10:30:00-04:00", TimeZone: "America/New_York"},
			Organizer: &calendar.EventOrganizer{Email: "work@group.calendar.google.com", Self: true}},
			nil, "UTC",
			reconcile.Fields{"title": "Planning", "description": "<b>agenda</b>", "start": "2015-03-09T13:00:00Z",
				"end": "2015-03-09T14:30:00Z", "time_zone": "America/New_York", "organizer": "julia@example.com"}, nil},
		{"timed in the calendar's zone", &calendar.Event{Summary: "x",
			Start: &calendar.EventDateTime{DateTime: "2015-07-01T23:30:00+02:00"},
			End:   &calendar.EventDateTime{DateTime: "2015-07-02T00:30:00+02:00"}},
			nil, "Europe/Berlin",
			reconcile.Fields{"title": "x", "start": "2015-07-01T21:30:00Z", "end": "2015-07-01T22:30:00Z",
				"time_zone": "Europe/Berlin", "organizer": "julia@example.com"}, nil},
		{"all-day", &calendar.Event{Summary: "Offsite", Start: &calendar.EventDateTime{Date: "2015-03-08"},
			End: &calendar.EventDateTime{Date: "2015-03-10"}, Organizer: &calendar.EventOrganizer{Email: "boss@partner.example"}},
			nil, "America/New_York",
			reconcile.Fields{"title": "Offsite", "start": "2015-03-08", "end": "2015-03-10", "all_day": "true",
				"organizer": "boss@partner.example"}, nil},
		{"recurring with exdates and cancelled instances", &calendar.Event{Id: "m1", Summary: "Weekly",
			Start: &calendar.EventDateTime{DateTime: "2015-03-02T09:00:00-05:00", TimeZone: "America/New_York"},
			End:   &calendar.EventDateTime{DateTime: "2015-03-02T09:30:00-05:00", TimeZone: "America/New_York"},
			Recurrence: []string{"RRULE:FREQ=WEEKLY;BYDAY=MO", "EXDATE;TZID=America/New_York:20150316T090000,20151102T090000",
				"EXDATE:20150323T130000Z", "RDATE;TZID=America/New_York:20150304T090000"}},
			[]*calendar.Event{{Id: "m1_20151109T140000Z", Status: "cancelled", RecurringEventId: "m1",
				OriginalStartTime: &calendar.EventDateTime{DateTime: "2015-11-09T09:00:00-05:00", TimeZone: "America/New_York"}}},
			"UTC",
			reconcile.Fields{"title": "Weekly", "start": "2015-03-02T14:00:00Z", "end": "2015-03-02T14:30:00Z",
				"time_zone": "America/New_York", "rrule": "FREQ=WEEKLY;BYDAY=MO", "rdates": "2015-03-04T14:00:00Z",
				"exdates":   "2015-03-16T13:00:00Z,2015-03-23T13:00:00Z,2015-11-02T14:00:00Z,2015-11-09T14:00:00Z",
				"organizer": "julia@example.com"}, nil},
		{"extra dates alone, a period left out", &calendar.Event{Id: "m3", Summary: "Inventory", Start: &calendar.EventDateTime{Date: "2015-06-01"},
			End: &calendar.EventDateTime{Date: "2015-06-02"}, Recurrence: []string{"RDATE;VALUE=DATE:20150620,20150610",
				"RDATE;VALUE=PERIOD:20150701T100000Z/PT2H"}},
			nil, "UTC",
			reconcile.Fields{"title": "Inventory", "start": "2015-06-01", "end": "2015-06-02", "all_day": "true",
				"rdates": "2015-06-10,2015-06-20", "organizer": "julia@example.com"}, nil},
		{"recurring all-day", &calendar.Event{Id: "m2", Summary: "Review", Start: &calendar.EventDateTime{Date: "2015-03-06"},
			End: &calendar.EventDateTime{Date: "2015-03-07"}, Recurrence: []string{"RRULE:FREQ=WEEKLY;COUNT=5", "EXDATE;VALUE=DATE:20150313"}},
			[]*calendar.Event{{Id: "m2_20150320", Status: "cancelled", RecurringEventId: "m2",
				OriginalStartTime: &calendar.EventDateTime{Date: "2015-03-20"}}},
			"Europe/Moscow",
			reconcile.Fields{"title": "Review", "start": "2015-03-06", "end": "2015-03-07", "all_day": "true",
				"rrule": "FREQ=WEEKLY;COUNT=5", "exdates": "2015-03-13,2015-03-20", "organizer": "julia@example.com"}, nil},
		{"attendees", &calendar.Event{Summary: "Sync",
			Start: &calendar.EventDateTime{DateTime: "2015-04-01T10:00:00Z", TimeZone: "UTC"},
			End:   &calendar.EventDateTime{DateTime: "2015-04-01T11:00:00Z", TimeZone: "UTC"},
			Attendees: []*calendar.EventAttendee{
				{Email: "julia@gmail.com", Self: true, Organizer: true, ResponseStatus: "accepted"},
				{Email: "Bob@Example.com", DisplayName: "Bob", ResponseStatus: "needsAction"},
				{Email: "ann@example.com", DisplayName: "Анна", ResponseStatus: "tentative"},
				{Email: "room-1@resource.calendar.google.com", Resource: true, ResponseStatus: "accepted"},
			},
			ExtendedProperties: &calendar.EventExtendedProperties{Private: map[string]string{"tandem.id": "act-1", "tandem.marker": "m"}}},
			nil, "UTC",
			reconcile.Fields{"title": "Sync", "start": "2015-04-01T10:00:00Z", "end": "2015-04-01T11:00:00Z", "time_zone": "UTC",
				"attendees": "ann@example.com|Анна|tentative\nbob@example.com|Bob|needs_action",
				"organizer": "julia@example.com", "tandem_id": "act-1"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := google.EventFields(tt.ev, tt.excs, tt.calTZ, "Julia@example.com")
			if !got.Equal(tt.want) {
				t.Errorf("EventFields:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func roundTrip(t *testing.T, e *calEnv, f reconcile.Fields) reconcile.Item {
	t.Helper()
	it, err := e.conn.Create(e.ctx, f, "tandem-test-marker-"+strings.ReplaceAll(t.Name(), "/", "-"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.conn.Get(e.ctx, it.RemoteID)
	if err != nil {
		t.Fatal(err)
	}
	want := clone(f)
	want["organizer"] = "julia@example.com"
	if !got.Fields.Equal(want) || !it.Fields.Equal(want) {
		t.Fatalf("round trip through Google:\n got %v\nwant %v", got.Fields, want)
	}
	if got.ETag != it.ETag || got.Identity == "" || got.Marker == "" {
		t.Errorf("item %+v / %+v", got, it)
	}
	return got
}

// TestCalendarDST writes events through the connector and reads what
// Google (the emulator) makes of them: series expand in their zone, so
// local wall time holds across daylight-saving switches, and dates stay
// dates.
func TestCalendarDST(t *testing.T) {
	t.Run("weekly 09:00 New York across the March and November switches", func(t *testing.T) {
		// The calendar is in UTC: the event's own zone must carry the
		// wall time.
		e := newCalEnv(t, "UTC", google.CalendarOptions{})
		ny := mustLoc(t, "America/New_York")
		it := roundTrip(t, e, reconcile.Fields{"title": "Standup", "start": "2015-03-02T14:00:00Z", "end": "2015-03-02T14:30:00Z",
			"time_zone": "America/New_York", "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=40"})
		inst := e.instances(it.RemoteID)
		if len(inst) != 40 {
			t.Fatalf("%d instances", len(inst))
		}
		for _, s := range inst {
			if l := s.In(ny); l.Hour() != 9 || l.Minute() != 0 || l.Weekday() != time.Monday {
				t.Errorf("instance at %v (%v local)", s.UTC(), l)
			}
		}
		// EST 14:00Z before March 8, EDT 13:00Z until November 1, EST again after.
		for day, utcHour := range map[string]int{"2015-03-02": 14, "2015-03-09": 13, "2015-10-26": 13, "2015-11-02": 14} {
			found := false
			for _, s := range inst {
				if s.UTC().Format("2006-01-02") == day {
					found = s.UTC().Hour() == utcHour
				}
			}
			if !found {
				t.Errorf("%s: no occurrence at %02d:00Z", day, utcHour)
			}
		}

		// An occurrence cancelled in Google after the November switch is an
		// exdate of the series, at its EST instant.
		if err := e.g.DeleteEvent(calUser, e.cal, it.RemoteID+"_20151109T140000Z"); err != nil {
			t.Fatal(err)
		}
		got, err := e.conn.Get(e.ctx, it.RemoteID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Fields["exdates"] != "2015-11-09T14:00:00Z" || got.ETag == it.ETag {
			t.Fatalf("after cancelling an instance: %v etag %s (was %s)", got.Fields["exdates"], got.ETag, it.ETag)
		}
		// An exdate added in Tandem in summer time is written in the
		// event's zone and removes that occurrence.
		f := clone(got.Fields)
		f["exdates"] = "2015-03-16T13:00:00Z,2015-11-09T14:00:00Z"
		up, err := e.conn.Update(e.ctx, it.RemoteID, got.ETag, f)
		if err != nil {
			t.Fatal(err)
		}
		if !up.Fields.Equal(f) {
			t.Errorf("after update:\n got %v\nwant %v", up.Fields, f)
		}
		rec, _ := e.event(it.RemoteID)["recurrence"].([]any)
		if len(rec) != 2 || rec[1] != "EXDATE;TZID=America/New_York:20150316T090000,20151109T090000" {
			t.Errorf("recurrence %v", rec)
		}
		for _, s := range e.instances(it.RemoteID) {
			if d := s.UTC().Format("2006-01-02"); d == "2015-03-16" || d == "2015-11-09" {
				t.Errorf("excluded occurrence %v still listed", s)
			}
		}
		// A stale etag is refused.
		if _, err := e.conn.Update(e.ctx, it.RemoteID, got.ETag, f); !errors.Is(err, reconcile.ErrPrecondition) {
			t.Errorf("stale update: %v", err)
		}
		// Dropping an exdate that Google holds as a cancelled instance
		// brings the occurrence back.
		f2 := clone(up.Fields)
		f2["exdates"] = "2015-03-16T13:00:00Z"
		back, err := e.conn.Update(e.ctx, it.RemoteID, up.ETag, f2)
		if err != nil {
			t.Fatal(err)
		}
		if back.Fields["exdates"] != "2015-03-16T13:00:00Z" {
			t.Errorf("restored: %v", back.Fields["exdates"])
		}
	})
	t.Run("Moscow has no DST", func(t *testing.T) {
		e := newCalEnv(t, "Europe/Moscow", google.CalendarOptions{})
		it := roundTrip(t, e, reconcile.Fields{"title": "Планёрка", "start": "2015-03-20T07:00:00Z", "end": "2015-03-20T08:00:00Z",
			"time_zone": "Europe/Moscow", "rrule": "FREQ=WEEKLY;COUNT=40"})
		for _, s := range e.instances(it.RemoteID) {
			if s.UTC().Hour() != 7 {
				t.Errorf("instance at %v", s.UTC())
			}
		}
		ev := e.event(it.RemoteID)
		if st := ev["start"].(map[string]any); st["dateTime"] != "2015-03-20T10:00:00+03:00" || st["timeZone"] != "Europe/Moscow" {
			t.Errorf("start %v", st)
		}
	})
	t.Run("all-day on the day clocks change", func(t *testing.T) {
		e := newCalEnv(t, "America/New_York", google.CalendarOptions{})
		it := roundTrip(t, e, reconcile.Fields{"title": "Offsite", "start": "2015-03-08", "end": "2015-03-09", "all_day": "true"})
		ev := e.event(it.RemoteID)
		if ev["start"].(map[string]any)["date"] != "2015-03-08" || ev["end"].(map[string]any)["date"] != "2015-03-09" {
			t.Errorf("start %v end %v", ev["start"], ev["end"])
		}
	})
	t.Run("multi-day all-day across the November switch", func(t *testing.T) {
		e := newCalEnv(t, "America/New_York", google.CalendarOptions{})
		it := roundTrip(t, e, reconcile.Fields{"title": "Conference", "start": "2015-10-31", "end": "2015-11-03", "all_day": "true"})
		if ev := e.event(it.RemoteID); ev["end"].(map[string]any)["date"] != "2015-11-03" {
			t.Errorf("end %v", ev["end"])
		}
	})
	t.Run("weekly all-day with an exdate", func(t *testing.T) {
		e := newCalEnv(t, "Asia/Tokyo", google.CalendarOptions{})
		it := roundTrip(t, e, reconcile.Fields{"title": "Review", "start": "2015-03-06", "end": "2015-03-07", "all_day": "true",
			"rrule": "FREQ=WEEKLY;COUNT=4", "exdates": "2015-03-13"})
		var days []string
		for _, s := range e.instances(it.RemoteID) {
			days = append(days, s.Format("2006-01-02"))
		}
		if strings.Join(days, ",") != "2015-03-06,2015-03-20,2015-03-27" {
			t.Errorf("occurrences %v", days)
		}
	})
	t.Run("extra dates in New York across the March switch", func(t *testing.T) {
		// Weekly on Mondays twice, plus a Thursday after the switch to
		// daylight time: 09:00 local is 13:00Z there.
		e := newCalEnv(t, "UTC", google.CalendarOptions{})
		it := roundTrip(t, e, reconcile.Fields{"title": "Review", "start": "2015-03-02T14:00:00Z", "end": "2015-03-02T15:00:00Z",
			"time_zone": "America/New_York", "rrule": "FREQ=WEEKLY;COUNT=2", "rdates": "2015-03-12T13:00:00Z"})
		var got []string
		for _, s := range e.instances(it.RemoteID) {
			got = append(got, s.UTC().Format(time.RFC3339))
		}
		if strings.Join(got, ",") != "2015-03-02T14:00:00Z,2015-03-09T13:00:00Z,2015-03-12T13:00:00Z" {
			t.Errorf("occurrences %v", got)
		}
		rec, _ := e.event(it.RemoteID)["recurrence"].([]any)
		if len(rec) != 2 || rec[1] != "RDATE;TZID=America/New_York:20150312T090000" {
			t.Errorf("recurrence %v", rec)
		}
	})
	t.Run("crossing midnight UTC", func(t *testing.T) {
		e := newCalEnv(t, "UTC", google.CalendarOptions{})
		it := roundTrip(t, e, reconcile.Fields{"title": "Late", "start": "2015-03-09T23:30:00Z", "end": "2015-03-10T00:30:00Z",
			"time_zone": "Europe/Moscow"})
		if st := e.event(it.RemoteID)["start"].(map[string]any); st["dateTime"] != "2015-03-10T02:30:00+03:00" {
			t.Errorf("start %v", st)
		}
	})
	t.Run("timed becomes all-day and back", func(t *testing.T) {
		e := newCalEnv(t, "America/New_York", google.CalendarOptions{})
		it := roundTrip(t, e, reconcile.Fields{"title": "Trip", "start": "2015-03-08T06:30:00Z", "end": "2015-03-08T07:30:00Z",
			"time_zone": "America/New_York", "description": "bring passport"})
		allDay := reconcile.Fields{"title": "Trip", "start": "2015-03-08", "end": "2015-03-10", "all_day": "true",
			"organizer": "julia@example.com"}
		got, err := e.conn.Update(e.ctx, it.RemoteID, it.ETag, allDay)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Fields.Equal(allDay) {
			t.Errorf("all-day:\n got %v\nwant %v", got.Fields, allDay)
		}
		ev := e.event(it.RemoteID)
		if st := ev["start"].(map[string]any); st["date"] != "2015-03-08" || st["dateTime"] != nil || ev["description"] != nil {
			t.Errorf("stored %v / %v", st, ev["description"])
		}
		timed := clone(it.Fields)
		back, err := e.conn.Update(e.ctx, it.RemoteID, got.ETag, timed)
		if err != nil {
			t.Fatal(err)
		}
		if !back.Fields.Equal(timed) {
			t.Errorf("timed again:\n got %v\nwant %v", back.Fields, timed)
		}
	})
	t.Run("attendees keep the organizer's entry", func(t *testing.T) {
		e := newCalEnv(t, "UTC", google.CalendarOptions{})
		f := reconcile.Fields{"title": "Sync", "start": "2015-04-01T10:00:00Z", "end": "2015-04-01T11:00:00Z", "time_zone": "UTC",
			"attendees": "ann@example.com|Ann|accepted\nbob@example.com||needs_action", "tandem_id": "act-1"}
		it := roundTrip(t, e, f)
		// Someone adds themselves as the calendar's own attendee in Google;
		// a write from Tandem keeps that entry.
		if err := e.g.PatchEvent(calUser, e.cal, it.RemoteID, map[string]any{"attendees": []any{
			map[string]any{"email": e.cal, "responseStatus": "accepted"},
			map[string]any{"email": "ann@example.com", "displayName": "Ann", "responseStatus": "accepted"},
			map[string]any{"email": "bob@example.com", "responseStatus": "needsAction"}}}); err != nil {
			t.Fatal(err)
		}
		cur, _ := e.conn.Get(e.ctx, it.RemoteID)
		f2 := clone(cur.Fields)
		f2["attendees"] = "ann@example.com|Ann|accepted"
		if _, err := e.conn.Update(e.ctx, it.RemoteID, cur.ETag, f2); err != nil {
			t.Fatal(err)
		}
		as, _ := e.event(it.RemoteID)["attendees"].([]any)
		if len(as) != 2 || as[0].(map[string]any)["email"] != e.cal {
			t.Errorf("attendees %v", as)
		}
	})
}

func TestCalendarErrors(t *testing.T) {
	e := newCalEnv(t, "UTC", google.CalendarOptions{})
	it := roundTrip(t, e, reconcile.Fields{"title": "x", "start": "2015-04-01T10:00:00Z", "end": "2015-04-01T11:00:00Z", "time_zone": "UTC"})
	if err := e.conn.Delete(e.ctx, it.RemoteID, `"stale"`); !errors.Is(err, reconcile.ErrPrecondition) {
		t.Errorf("stale delete: %v", err)
	}
	if err := e.conn.Delete(e.ctx, it.RemoteID, it.ETag); err != nil {
		t.Fatal(err)
	}
	if err := e.conn.Delete(e.ctx, it.RemoteID, ""); !errors.Is(err, reconcile.ErrRemoteNotFound) {
		t.Errorf("second delete (410): %v", err)
	}
	if _, err := e.conn.Get(e.ctx, "nosuchevent1"); !errors.Is(err, reconcile.ErrRemoteNotFound) {
		t.Errorf("get missing: %v", err)
	}
	if _, err := e.conn.Update(e.ctx, it.RemoteID, it.ETag, it.Fields); !errors.Is(err, reconcile.ErrRemoteNotFound) {
		t.Errorf("update deleted: %v", err)
	}
	if _, err := e.conn.List(e.ctx, "garbled-token", ""); !errors.Is(err, reconcile.ErrCursorExpired) {
		t.Errorf("garbled token: %v", err)
	}
	if _, found, err := e.conn.FindByMarker(e.ctx, "tandem-none"); found || err != nil {
		t.Errorf("find unknown marker: %v %v", found, err)
	}
}

func clone(f reconcile.Fields) reconcile.Fields {
	out := reconcile.Fields{}
	for k, v := range f {
		out[k] = v
	}
	return out
}

// FuzzEventFields maps arbitrary Event JSON (with cancelled instances) to
// fields and applies them to an activity: never a panic.
func FuzzEventFields(f *testing.F) {
	for _, s := range []string{
		`{"summary":"x","start":{"dateTime":"2015-03-08T09:00:00-05:00","timeZone":"America/New_York"},"end":{"dateTime":"2015-03-08T10:00:00-04:00"},"recurrence":["RRULE:FREQ=WEEKLY","EXDATE;TZID=America/New_York:20150315T090000"]}`,
		`{"start":{"date":"2015-03-29"},"end":{"date":"2015-03-30"},"attendees":[{"email":"a@b.c","responseStatus":"accepted"},{"email":""}]}`,
		`{"start":{"dateTime":"bogus"},"end":{}}`, `{"recurrence":["RRULE:"]}`, `{}`,
	} {
		f.Add([]byte(s), []byte(`[{"status":"cancelled","originalStartTime":{"dateTime":"2015-03-15T09:00:00-04:00"}}]`))
		f.Add([]byte(s), []byte(`[{"status":"confirmed","summary":"moved","originalStartTime":{"dateTime":"2015-03-22T09:00:00-04:00"},`+
			`"start":{"dateTime":"2015-03-22T11:00:00-04:00"},"end":{"dateTime":"2015-03-22T12:00:00-04:00"}},`+
			`{"originalStartTime":{"date":"2015-03-29"},"start":{"date":"2015-03-30"},"end":{"date":"2015-03-31"}}]`))
	}
	f.Fuzz(func(t *testing.T, evJSON, excsJSON []byte) {
		var ev calendar.Event
		if json.Unmarshal(evJSON, &ev) != nil {
			return
		}
		var excs []*calendar.Event
		json.Unmarshal(excsJSON, &excs)
		fields := google.EventFields(&ev, excs, "Europe/Moscow", "me@example.com")
		// The mapping is canonical: what it gives, Tandem keeps unchanged.
		if ov := fields[reconcile.FieldOverrides]; ov != "" && reconcile.CanonicalOverrides(fields, reconcile.DecodeOverrides(ov)) != ov {
			t.Errorf("overrides not canonical: %q", ov)
		}
		a := &crm.Activity{}
		if err := reconcile.ApplyEventFields(a, fields, reconcile.EventFieldNames); err == nil {
			a.Normalize()
			_ = a.Validate()
		}
	})
}

// instance reads one occurrence of a series through the API, as a user's
// calendar shows it.
func (e *calEnv) instance(series, rid string) *calendar.Event {
	return calendartest.Instance(e.t, e.ctx, e.svc, e.cal, series, rid)
}

// TestCalendarRestore: a deleted event is undeleted with the same id, and a
// series gets back the changed occurrences Google cancelled with it (those
// removed in Tandem stay removed); an event that was never deleted stays
// as it is, one that does not exist is not found.
func TestCalendarRestore(t *testing.T) {
	e := newCalEnv(t, "Europe/Moscow", google.CalendarOptions{})
	f := reconcile.Fields{"title": "Standup", "start": "2015-03-02T07:00:00Z", "end": "2015-03-02T07:30:00Z",
		"time_zone": "Europe/Moscow", "rrule": "FREQ=DAILY;COUNT=10", "exdates": "2015-03-05T07:00:00Z",
		"overrides": "2015-03-04T07:00:00Z|2015-03-04T09:00:00Z|2015-03-04T09:30:00Z|Standup (late)||Room 5"}
	series := roundTrip(t, e, f)
	single := roundTrip(t, e, reconcile.Fields{"title": "Call", "start": "2015-03-03T10:00:00Z", "end": "2015-03-03T11:00:00Z",
		"time_zone": "Europe/Moscow"})
	for _, it := range []reconcile.Item{series, single} {
		if err := e.conn.Delete(e.ctx, it.RemoteID, it.ETag); err != nil {
			t.Fatal(err)
		}
		if got, err := e.conn.Get(e.ctx, it.RemoteID); err != nil || !got.Deleted {
			t.Fatalf("after delete: %+v %v", got, err)
		}
		back, err := e.conn.Restore(e.ctx, it.RemoteID, it.Fields)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.conn.Get(e.ctx, it.RemoteID)
		if err != nil || got.Deleted || back.RemoteID != it.RemoteID || !back.Fields.Equal(it.Fields) || !got.Fields.Equal(it.Fields) {
			t.Errorf("restored %s:\n got  %v\n want %v (%v)", it.Fields["title"], got.Fields, it.Fields, err)
		}
		// Back already: nothing changes.
		again, err := e.conn.Restore(e.ctx, it.RemoteID, it.Fields)
		if err != nil || again.ETag != got.ETag {
			t.Errorf("restore of a live event: %+v %v", again, err)
		}
	}
	if x := e.instance(series.RemoteID, "20150304T070000Z"); x.Status == "cancelled" || x.Summary != "Standup (late)" {
		t.Errorf("changed occurrence after the restore: %q %q", x.Status, x.Summary)
	}
	if _, err := e.conn.Restore(e.ctx, "nosuchevent0", nil); !errors.Is(err, reconcile.ErrRemoteNotFound) {
		t.Errorf("restore of a missing event: %v", err)
	}
}
