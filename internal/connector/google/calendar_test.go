package google_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/calendar/v3"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/connector/google"
	"github.com/tandem-crm/tandem/internal/crm"
	emu "github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

const calUser = "julia@gmail.com"

// calEnv is the Google emulator behind a loopback server that can
// interfere with requests (a concurrent edit before a write, a lost
// answer), and a connector on one of the user's calendars.
type calEnv struct {
	t    *testing.T
	ctx  context.Context
	g    *emu.Server
	svc  *calendar.Service
	cal  string
	conn *google.Calendar

	mu       sync.Mutex
	beforePU func()   // runs once before the next events update (PUT)
	losePost bool     // the next events insert is applied, then answered 500
	requests []string // method and path of every request
}

func newCalEnv(t *testing.T, tz string, opt google.CalendarOptions) *calEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	g := emu.New(emu.Options{Seed: 7})
	g.AddUser(calUser, "Julia")
	e := &calEnv{t: t, ctx: ctx, g: g}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.requests = append(e.requests, r.Method+" "+r.URL.Path)
		var before func()
		if (r.Method == http.MethodPut || r.Method == http.MethodPatch) && strings.Contains(r.URL.Path, "/events/") {
			before, e.beforePU = e.beforePU, nil
		}
		lose := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/events") && e.losePost
		if lose {
			e.losePost = false
		}
		e.mu.Unlock()
		if before != nil {
			before()
		}
		if lose {
			g.ServeHTTP(httptest.NewRecorder(), r)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(`{"error":{"code":500,"message":"Backend Error","errors":[{"domain":"global","reason":"backendError","message":"Backend Error"}]}}`))
			return
		}
		g.ServeHTTP(w, r)
	}))
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
	e.t.Helper()
	var out []time.Time
	err := e.svc.Events.Instances(e.cal, id).MaxResults(2500).Pages(e.ctx, func(es *calendar.Events) error {
		for _, ev := range es.Items {
			if ev.Start.Date != "" {
				d, _ := time.Parse("2006-01-02", ev.Start.Date)
				out = append(out, d)
				continue
			}
			t, err := time.Parse(time.RFC3339, ev.Start.DateTime)
			if err != nil {
				return err
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
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
			Start:     &calendar.EventDateTime{DateTime: "2026-03-09T09:00:00-04:00", TimeZone: "America/New_York"},
			End:       &calendar.EventDateTime{DateTime: "2026-03-09T10:30:00-04:00", TimeZone: "America/New_York"},
			Organizer: &calendar.EventOrganizer{Email: "work@group.calendar.google.com", Self: true}},
			nil, "UTC",
			reconcile.Fields{"title": "Planning", "description": "<b>agenda</b>", "start": "2026-03-09T13:00:00Z",
				"end": "2026-03-09T14:30:00Z", "time_zone": "America/New_York", "organizer": "julia@example.com"}, nil},
		{"timed in the calendar's zone", &calendar.Event{Summary: "x",
			Start: &calendar.EventDateTime{DateTime: "2026-07-01T23:30:00+02:00"},
			End:   &calendar.EventDateTime{DateTime: "2026-07-02T00:30:00+02:00"}},
			nil, "Europe/Berlin",
			reconcile.Fields{"title": "x", "start": "2026-07-01T21:30:00Z", "end": "2026-07-01T22:30:00Z",
				"time_zone": "Europe/Berlin", "organizer": "julia@example.com"}, nil},
		{"all-day", &calendar.Event{Summary: "Offsite", Start: &calendar.EventDateTime{Date: "2026-03-08"},
			End: &calendar.EventDateTime{Date: "2026-03-10"}, Organizer: &calendar.EventOrganizer{Email: "boss@partner.example"}},
			nil, "America/New_York",
			reconcile.Fields{"title": "Offsite", "start": "2026-03-08", "end": "2026-03-10", "all_day": "true",
				"organizer": "boss@partner.example"}, nil},
		{"recurring with exdates and cancelled instances", &calendar.Event{Id: "m1", Summary: "Weekly",
			Start: &calendar.EventDateTime{DateTime: "2026-03-02T09:00:00-05:00", TimeZone: "America/New_York"},
			End:   &calendar.EventDateTime{DateTime: "2026-03-02T09:30:00-05:00", TimeZone: "America/New_York"},
			Recurrence: []string{"RRULE:FREQ=WEEKLY;BYDAY=MO", "EXDATE;TZID=America/New_York:20260316T090000,20261102T090000",
				"EXDATE:20260323T130000Z", "RDATE;TZID=America/New_York:20260304T090000"}},
			[]*calendar.Event{{Id: "m1_20261109T140000Z", Status: "cancelled", RecurringEventId: "m1",
				OriginalStartTime: &calendar.EventDateTime{DateTime: "2026-11-09T09:00:00-05:00", TimeZone: "America/New_York"}}},
			"UTC",
			reconcile.Fields{"title": "Weekly", "start": "2026-03-02T14:00:00Z", "end": "2026-03-02T14:30:00Z",
				"time_zone": "America/New_York", "rrule": "FREQ=WEEKLY;BYDAY=MO",
				"exdates":   "2026-03-16T13:00:00Z,2026-03-23T13:00:00Z,2026-11-02T14:00:00Z,2026-11-09T14:00:00Z",
				"organizer": "julia@example.com"}, nil},
		{"recurring all-day", &calendar.Event{Id: "m2", Summary: "Review", Start: &calendar.EventDateTime{Date: "2026-03-06"},
			End: &calendar.EventDateTime{Date: "2026-03-07"}, Recurrence: []string{"RRULE:FREQ=WEEKLY;COUNT=5", "EXDATE;VALUE=DATE:20260313"}},
			[]*calendar.Event{{Id: "m2_20260320", Status: "cancelled", RecurringEventId: "m2",
				OriginalStartTime: &calendar.EventDateTime{Date: "2026-03-20"}}},
			"Europe/Moscow",
			reconcile.Fields{"title": "Review", "start": "2026-03-06", "end": "2026-03-07", "all_day": "true",
				"rrule": "FREQ=WEEKLY;COUNT=5", "exdates": "2026-03-13,2026-03-20", "organizer": "julia@example.com"}, nil},
		{"attendees", &calendar.Event{Summary: "Sync",
			Start: &calendar.EventDateTime{DateTime: "2026-04-01T10:00:00Z", TimeZone: "UTC"},
			End:   &calendar.EventDateTime{DateTime: "2026-04-01T11:00:00Z", TimeZone: "UTC"},
			Attendees: []*calendar.EventAttendee{
				{Email: "julia@gmail.com", Self: true, Organizer: true, ResponseStatus: "accepted"},
				{Email: "Bob@Example.com", DisplayName: "Bob", ResponseStatus: "needsAction"},
				{Email: "ann@example.com", DisplayName: "Анна", ResponseStatus: "tentative"},
				{Email: "room-1@resource.calendar.google.com", Resource: true, ResponseStatus: "accepted"},
			},
			ExtendedProperties: &calendar.EventExtendedProperties{Private: map[string]string{"tandem.id": "act-1", "tandem.marker": "m"}}},
			nil, "UTC",
			reconcile.Fields{"title": "Sync", "start": "2026-04-01T10:00:00Z", "end": "2026-04-01T11:00:00Z", "time_zone": "UTC",
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
		it := roundTrip(t, e, reconcile.Fields{"title": "Standup", "start": "2026-03-02T14:00:00Z", "end": "2026-03-02T14:30:00Z",
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
		for day, utcHour := range map[string]int{"2026-03-02": 14, "2026-03-09": 13, "2026-10-26": 13, "2026-11-02": 14} {
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
		if err := e.g.DeleteEvent(calUser, e.cal, it.RemoteID+"_20261109T140000Z"); err != nil {
			t.Fatal(err)
		}
		got, err := e.conn.Get(e.ctx, it.RemoteID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Fields["exdates"] != "2026-11-09T14:00:00Z" || got.ETag == it.ETag {
			t.Fatalf("after cancelling an instance: %v etag %s (was %s)", got.Fields["exdates"], got.ETag, it.ETag)
		}
		// An exdate added in Tandem in summer time is written in the
		// event's zone and removes that occurrence.
		f := clone(got.Fields)
		f["exdates"] = "2026-03-16T13:00:00Z,2026-11-09T14:00:00Z"
		up, err := e.conn.Update(e.ctx, it.RemoteID, got.ETag, f)
		if err != nil {
			t.Fatal(err)
		}
		if !up.Fields.Equal(f) {
			t.Errorf("after update:\n got %v\nwant %v", up.Fields, f)
		}
		rec, _ := e.event(it.RemoteID)["recurrence"].([]any)
		if len(rec) != 2 || rec[1] != "EXDATE;TZID=America/New_York:20260316T090000,20261109T090000" {
			t.Errorf("recurrence %v", rec)
		}
		for _, s := range e.instances(it.RemoteID) {
			if d := s.UTC().Format("2006-01-02"); d == "2026-03-16" || d == "2026-11-09" {
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
		f2["exdates"] = "2026-03-16T13:00:00Z"
		back, err := e.conn.Update(e.ctx, it.RemoteID, up.ETag, f2)
		if err != nil {
			t.Fatal(err)
		}
		if back.Fields["exdates"] != "2026-03-16T13:00:00Z" {
			t.Errorf("restored: %v", back.Fields["exdates"])
		}
	})
	t.Run("Moscow has no DST", func(t *testing.T) {
		e := newCalEnv(t, "Europe/Moscow", google.CalendarOptions{})
		it := roundTrip(t, e, reconcile.Fields{"title": "Планёрка", "start": "2026-03-20T07:00:00Z", "end": "2026-03-20T08:00:00Z",
			"time_zone": "Europe/Moscow", "rrule": "FREQ=WEEKLY;COUNT=40"})
		for _, s := range e.instances(it.RemoteID) {
			if s.UTC().Hour() != 7 {
				t.Errorf("instance at %v", s.UTC())
			}
		}
		ev := e.event(it.RemoteID)
		if st := ev["start"].(map[string]any); st["dateTime"] != "2026-03-20T10:00:00+03:00" || st["timeZone"] != "Europe/Moscow" {
			t.Errorf("start %v", st)
		}
	})
	t.Run("all-day on the day clocks change", func(t *testing.T) {
		e := newCalEnv(t, "America/New_York", google.CalendarOptions{})
		it := roundTrip(t, e, reconcile.Fields{"title": "Offsite", "start": "2026-03-08", "end": "2026-03-09", "all_day": "true"})
		ev := e.event(it.RemoteID)
		if ev["start"].(map[string]any)["date"] != "2026-03-08" || ev["end"].(map[string]any)["date"] != "2026-03-09" {
			t.Errorf("start %v end %v", ev["start"], ev["end"])
		}
	})
	t.Run("multi-day all-day across the November switch", func(t *testing.T) {
		e := newCalEnv(t, "America/New_York", google.CalendarOptions{})
		it := roundTrip(t, e, reconcile.Fields{"title": "Conference", "start": "2026-10-31", "end": "2026-11-03", "all_day": "true"})
		if ev := e.event(it.RemoteID); ev["end"].(map[string]any)["date"] != "2026-11-03" {
			t.Errorf("end %v", ev["end"])
		}
	})
	t.Run("weekly all-day with an exdate", func(t *testing.T) {
		e := newCalEnv(t, "Asia/Tokyo", google.CalendarOptions{})
		it := roundTrip(t, e, reconcile.Fields{"title": "Review", "start": "2026-03-06", "end": "2026-03-07", "all_day": "true",
			"rrule": "FREQ=WEEKLY;COUNT=4", "exdates": "2026-03-13"})
		var days []string
		for _, s := range e.instances(it.RemoteID) {
			days = append(days, s.Format("2006-01-02"))
		}
		if strings.Join(days, ",") != "2026-03-06,2026-03-20,2026-03-27" {
			t.Errorf("occurrences %v", days)
		}
	})
	t.Run("crossing midnight UTC", func(t *testing.T) {
		e := newCalEnv(t, "UTC", google.CalendarOptions{})
		it := roundTrip(t, e, reconcile.Fields{"title": "Late", "start": "2026-03-09T23:30:00Z", "end": "2026-03-10T00:30:00Z",
			"time_zone": "Europe/Moscow"})
		if st := e.event(it.RemoteID)["start"].(map[string]any); st["dateTime"] != "2026-03-10T02:30:00+03:00" {
			t.Errorf("start %v", st)
		}
	})
	t.Run("timed becomes all-day and back", func(t *testing.T) {
		e := newCalEnv(t, "America/New_York", google.CalendarOptions{})
		it := roundTrip(t, e, reconcile.Fields{"title": "Trip", "start": "2026-03-08T06:30:00Z", "end": "2026-03-08T07:30:00Z",
			"time_zone": "America/New_York", "description": "bring passport"})
		allDay := reconcile.Fields{"title": "Trip", "start": "2026-03-08", "end": "2026-03-10", "all_day": "true",
			"organizer": "julia@example.com"}
		got, err := e.conn.Update(e.ctx, it.RemoteID, it.ETag, allDay)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Fields.Equal(allDay) {
			t.Errorf("all-day:\n got %v\nwant %v", got.Fields, allDay)
		}
		ev := e.event(it.RemoteID)
		if st := ev["start"].(map[string]any); st["date"] != "2026-03-08" || st["dateTime"] != nil || ev["description"] != nil {
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
		f := reconcile.Fields{"title": "Sync", "start": "2026-04-01T10:00:00Z", "end": "2026-04-01T11:00:00Z", "time_zone": "UTC",
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
	it := roundTrip(t, e, reconcile.Fields{"title": "x", "start": "2026-04-01T10:00:00Z", "end": "2026-04-01T11:00:00Z", "time_zone": "UTC"})
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

// engineEnv is a calendar binding between a real store and the emulator.
type engineEnv struct {
	*calEnv
	st    *store.Store
	v     access.Viewer
	b     *store.Binding
	local *reconcile.EventsLocal
	eng   *reconcile.Engine
}

func newEngineEnv(t *testing.T, from time.Time) *engineEnv {
	t.Helper()
	e := newCalEnv(t, "Europe/Moscow", google.CalendarOptions{From: from, Self: "julia@example.com", PageSize: 3})
	ctx := e.ctx
	st, err := store.Open(ctx, store.Options{SQLitePath: filepath.Join(t.TempDir(), "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u := &access.User{Email: "julia@example.com", Name: "Julia", Active: true}
	if err := st.CreateUser(ctx, u, "password-123"); err != nil {
		t.Fatal(err)
	}
	v, _ := st.Viewer(ctx, u.ID)
	conn := &store.Connection{UserID: u.ID, Provider: "google", Status: store.ConnectionActive}
	if err := st.CreateConnection(ctx, conn, ""); err != nil {
		t.Fatal(err)
	}
	b := &store.Binding{ConnectionID: conn.ID, Kind: "event", Collection: e.cal, Enabled: true}
	if err := st.SaveBinding(ctx, b); err != nil {
		t.Fatal(err)
	}
	return &engineEnv{calEnv: e, st: st, v: v, b: b, eng: &reconcile.Engine{State: st},
		local: &reconcile.EventsLocal{Store: st, Viewer: v, BindingID: b.ID, From: from}}
}

func (e *engineEnv) run() reconcile.Stats {
	e.t.Helper()
	s, err := e.tryRun()
	if err != nil {
		e.t.Fatalf("run: %v", err)
	}
	return s
}

func (e *engineEnv) tryRun() (reconcile.Stats, error) {
	b, err := e.st.GetBinding(e.ctx, e.b.ID)
	if err != nil {
		return reconcile.Stats{}, err
	}
	local := &reconcile.EventsLocal{Store: e.st, Viewer: e.v, BindingID: e.b.ID, From: e.local.From}
	if _, err := local.ApplyOrganizerRule(e.ctx, b.LocalCursor); err != nil {
		return reconcile.Stats{}, err
	}
	return e.eng.Run(e.ctx, e.b.ID, e.conn, local)
}

func (e *engineEnv) activities() []crm.Activity {
	e.t.Helper()
	as, _, err := e.st.ListActivities(e.ctx, e.v, store.ActivityFilter{Page: store.Page{Limit: 200}})
	if err != nil {
		e.t.Fatal(err)
	}
	for i := range as {
		a, err := e.st.GetActivity(e.ctx, e.v, as[i].ID)
		if err != nil {
			e.t.Fatal(err)
		}
		as[i] = *a
	}
	return as
}

func (e *engineEnv) byTitle(title string) *crm.Activity {
	e.t.Helper()
	var found *crm.Activity
	for _, a := range e.activities() {
		if a.Title == title {
			if found != nil {
				e.t.Fatalf("two activities %q", title)
			}
			a := a
			found = &a
		}
	}
	if found == nil {
		e.t.Fatalf("no activity %q", title)
	}
	return found
}

func (e *engineEnv) remoteID(localID string) string {
	e.t.Helper()
	l, err := e.st.FindLink(e.ctx, e.b.ID, "local_id", localID)
	if err != nil {
		e.t.Fatalf("link of %s: %v", localID, err)
	}
	return l.RemoteID
}

func (e *engineEnv) edit(id string, fn func(*crm.Activity)) {
	e.t.Helper()
	a, err := e.st.GetActivity(e.ctx, e.v, id)
	if err != nil {
		e.t.Fatal(err)
	}
	fn(a)
	a.Tags, a.Access = nil, nil
	if err := e.st.UpdateActivity(store.WithOrigin(e.ctx, "ui"), e.v, a, 0); err != nil {
		e.t.Fatal(err)
	}
}

func ts(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// TestCalendarEngine runs the engine with the real connector against the
// emulator and a real store.
func TestCalendarEngine(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	e := newEngineEnv(t, from)
	ctx := store.WithOrigin(e.ctx, "ui")
	ann := &crm.Contact{Name: "Ann Lee", Emails: []crm.Email{{Address: "ann@example.com"}}}
	if err := e.st.CreateContact(ctx, e.v, ann); err != nil {
		t.Fatal(err)
	}
	mine := &crm.Activity{Type: "meeting", Title: "Exported", ShowInCalendar: true, TimeZone: "Europe/Moscow",
		Start: ts("2026-03-10T07:00:00Z"), End: ts("2026-03-10T08:00:00Z"),
		Participants: []crm.Participant{{ContactID: ann.ID}}}
	old := &crm.Activity{Type: "meeting", Title: "Old", ShowInCalendar: true, Start: ts("2026-02-10T07:00:00Z")}
	for _, a := range []*crm.Activity{mine, old} {
		if err := e.st.CreateActivity(ctx, e.v, a); err != nil {
			t.Fatal(err)
		}
	}
	for i, title := range []string{"G1", "G2", "G3", "G4"} {
		if _, err := e.g.InsertEvent(calUser, e.cal, map[string]any{"summary": title,
			"start":     map[string]any{"dateTime": time.Date(2026, 3, 12+i, 9, 0, 0, 0, time.UTC).Format(time.RFC3339), "timeZone": "UTC"},
			"end":       map[string]any{"dateTime": time.Date(2026, 3, 12+i, 10, 0, 0, 0, time.UTC).Format(time.RFC3339), "timeZone": "UTC"},
			"attendees": []any{map[string]any{"email": "Ann@Example.com", "responseStatus": "accepted"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.g.InsertEvent(calUser, e.cal, map[string]any{"summary": "Before sync-from",
		"start": map[string]any{"date": "2026-02-01"}, "end": map[string]any{"date": "2026-02-02"}}); err != nil {
		t.Fatal(err)
	}
	series, err := e.g.InsertEvent(calUser, e.cal, map[string]any{"summary": "Series",
		"start":      map[string]any{"dateTime": "2026-03-02T09:00:00-05:00", "timeZone": "America/New_York"},
		"end":        map[string]any{"dateTime": "2026-03-02T10:00:00-05:00", "timeZone": "America/New_York"},
		"recurrence": []string{"RRULE:FREQ=WEEKLY;COUNT=10"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.g.DeleteEvent(calUser, e.cal, series+"_20260316T130000Z"); err != nil {
		t.Fatal(err)
	}
	// A changed occurrence is part of its series (an override), not an
	// activity of its own.
	if err := e.g.PatchEvent(calUser, e.cal, series+"_20260323T130000Z", map[string]any{"summary": "Moved one"}); err != nil {
		t.Fatal(err)
	}
	e.g.SetEmptyPages(true)

	s := e.run()
	if s.RemoteCreated != 1 || s.LocalCreated != 5 {
		t.Fatalf("first run %+v", s)
	}
	ev := e.event(e.remoteID(mine.ID))
	if as, _ := ev["attendees"].([]any); len(as) != 1 || as[0].(map[string]any)["email"] != "ann@example.com" {
		t.Errorf("exported attendees %v", ev["attendees"])
	}
	g1 := e.byTitle("G1")
	if len(g1.Participants) != 1 || g1.Participants[0].ContactID != ann.ID || g1.Participants[0].ResponseStatus != "accepted" ||
		g1.Type != "meeting" || !g1.ShowInCalendar {
		t.Errorf("imported %+v", g1)
	}
	sr := e.byTitle("Series")
	if sr.RRule != "FREQ=WEEKLY;COUNT=10" || sr.TimeZone != "America/New_York" || len(sr.ExDates) != 1 ||
		!sr.ExDates[0].Equal(*ts("2026-03-16T13:00:00Z")) || !sr.Start.Equal(*ts("2026-03-02T14:00:00Z")) {
		t.Errorf("series %q %q %v %v", sr.RRule, sr.TimeZone, sr.ExDates, sr.Start)
	}
	if len(sr.Overrides) != 1 || sr.Overrides[0].Title != "Moved one" || !sr.Overrides[0].RecurrenceID.Equal(*ts("2026-03-23T13:00:00Z")) ||
		!sr.Overrides[0].Start.Equal(*ts("2026-03-23T13:00:00Z")) {
		t.Errorf("overrides %+v", sr.Overrides)
	}
	for _, a := range e.activities() {
		if a.Title == "Before sync-from" || a.Title == "Moved one" {
			t.Errorf("imported %q", a.Title)
		}
	}
	for _, x := range e.g.Events(calUser, e.cal) {
		if x["summary"] == "Old" {
			t.Error("an activity before sync-from was exported")
		}
	}
	if s := e.run(); s.LocalCreated+s.LocalUpdated+s.RemoteCreated+s.RemoteUpdated != 0 {
		t.Errorf("echo %+v", s)
	}

	// 412: a change lands in Google between our read and our write; the
	// engine re-reads, re-merges and writes both changes.
	rid := e.remoteID(mine.ID)
	e.edit(mine.ID, func(a *crm.Activity) { a.Title = "Exported, renamed" })
	e.mu.Lock()
	e.beforePU = func() {
		if err := e.g.PatchEvent(calUser, e.cal, rid, map[string]any{"description": "added in Google meanwhile"}); err != nil {
			t.Error(err)
		}
	}
	e.mu.Unlock()
	e.run()
	ev = e.event(rid)
	if ev["summary"] != "Exported, renamed" || ev["description"] != "added in Google meanwhile" {
		t.Errorf("after 412: %v / %v", ev["summary"], ev["description"])
	}
	if a := e.byTitle("Exported, renamed"); a.Description != "added in Google meanwhile" {
		t.Errorf("local after 412: %q", a.Description)
	}

	// The series: an instance cancelled in Google becomes an exdate here;
	// one removed here becomes an EXDATE there.
	if err := e.g.DeleteEvent(calUser, e.cal, series+"_20260406T130000Z"); err != nil {
		t.Fatal(err)
	}
	e.run()
	if sr = e.byTitle("Series"); len(sr.ExDates) != 2 {
		t.Fatalf("exdates %v", sr.ExDates)
	}
	e.edit(sr.ID, func(a *crm.Activity) { a.ExDates = append(a.ExDates, *ts("2026-04-13T13:00:00Z")) })
	e.run()
	rec, _ := e.event(series)["recurrence"].([]any)
	if len(rec) != 2 || !strings.Contains(rec[1].(string), "20260413T090000") || !strings.HasPrefix(rec[0].(string), "RRULE:") {
		t.Errorf("recurrence %v", rec)
	}

	// Delete both ways: Google deletes → the activity goes; Tandem
	// deletes → the event goes.
	g2 := e.byTitle("G2")
	if err := e.g.DeleteEvent(calUser, e.cal, e.remoteID(g2.ID)); err != nil {
		t.Fatal(err)
	}
	g3 := e.byTitle("G3")
	g3Remote := e.remoteID(g3.ID)
	if err := e.st.DeleteActivity(ctx, e.v, g3.ID); err != nil {
		t.Fatal(err)
	}
	s = e.run()
	if s.LocalRemoved != 1 || s.RemoteRemoved != 1 {
		t.Errorf("deletes %+v", s)
	}
	if _, err := e.st.GetActivity(e.ctx, e.v, g2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Error("activity of an event deleted in Google kept")
	}
	if x, _ := e.g.Event(calUser, e.cal, g3Remote); x["status"] != "cancelled" {
		t.Errorf("event of a deleted activity: %v", x["status"])
	}

	// An expired token: a full listing, matched by links — nothing twice.
	before, events := len(e.activities()), len(e.g.Events(calUser, e.cal))
	e.g.ExpireSyncTokens(calUser)
	s = e.run()
	if !s.FullListing || s.LocalCreated != 0 || s.RemoteCreated != 0 {
		t.Errorf("after expiry %+v", s)
	}
	if len(e.activities()) != before || len(e.g.Events(calUser, e.cal)) != events {
		t.Errorf("duplicates after expiry: %d→%d activities, %d→%d events", before, len(e.activities()), events,
			len(e.g.Events(calUser, e.cal)))
	}

	// A create whose answer is lost: the next run finds the event by its
	// marker instead of creating it again.
	lost := &crm.Activity{Type: "meeting", Title: "Lost answer", ShowInCalendar: true, Start: ts("2026-03-20T07:00:00Z")}
	if err := e.st.CreateActivity(ctx, e.v, lost); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.losePost = true
	e.mu.Unlock()
	if _, err := e.tryRun(); err == nil {
		t.Fatal("run with a lost answer succeeded")
	}
	e.run()
	n := 0
	for _, x := range e.g.Events(calUser, e.cal) {
		if x["summary"] == "Lost answer" {
			n++
		}
	}
	if n != 1 || e.remoteID(lost.ID) == "" {
		t.Errorf("%d events for the lost create", n)
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
		`{"summary":"x","start":{"dateTime":"2026-03-08T09:00:00-05:00","timeZone":"America/New_York"},"end":{"dateTime":"2026-03-08T10:00:00-04:00"},"recurrence":["RRULE:FREQ=WEEKLY","EXDATE;TZID=America/New_York:20260315T090000"]}`,
		`{"start":{"date":"2026-03-29"},"end":{"date":"2026-03-30"},"attendees":[{"email":"a@b.c","responseStatus":"accepted"},{"email":""}]}`,
		`{"start":{"dateTime":"bogus"},"end":{}}`, `{"recurrence":["RRULE:"]}`, `{}`,
	} {
		f.Add([]byte(s), []byte(`[{"status":"cancelled","originalStartTime":{"dateTime":"2026-03-15T09:00:00-04:00"}}]`))
		f.Add([]byte(s), []byte(`[{"status":"confirmed","summary":"moved","originalStartTime":{"dateTime":"2026-03-22T09:00:00-04:00"},`+
			`"start":{"dateTime":"2026-03-22T11:00:00-04:00"},"end":{"dateTime":"2026-03-22T12:00:00-04:00"}},`+
			`{"originalStartTime":{"date":"2026-03-29"},"start":{"date":"2026-03-30"},"end":{"date":"2026-03-31"}}]`))
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
	e.t.Helper()
	var found *calendar.Event
	err := e.svc.Events.Instances(e.cal, series).MaxResults(2500).Pages(e.ctx, func(es *calendar.Events) error {
		for _, ev := range es.Items {
			if ev.Id == series+"_"+rid {
				found = ev
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if found == nil {
		e.t.Fatalf("no occurrence %s of %s", rid, series)
	}
	return found
}

// quiet checks a run right after another changes nothing on either side.
func (e *engineEnv) quiet() {
	e.t.Helper()
	if s := e.run(); s.LocalCreated+s.LocalUpdated+s.RemoteCreated+s.RemoteUpdated+s.Reverted != 0 {
		e.t.Errorf("not quiet: %+v", s)
	}
}

// TestCalendarOccurrences: occurrences of a series changed on their own
// travel both ways as the series' overrides and never become activities
// of their own.
func TestCalendarOccurrences(t *testing.T) {
	e := newEngineEnv(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	ctx := store.WithOrigin(e.ctx, "ui")
	g, err := e.g.InsertEvent(calUser, e.cal, map[string]any{"summary": "Standup",
		"start":      map[string]any{"dateTime": "2026-03-02T10:00:00+03:00", "timeZone": "Europe/Moscow"},
		"end":        map[string]any{"dateTime": "2026-03-02T10:30:00+03:00", "timeZone": "Europe/Moscow"},
		"recurrence": []string{"RRULE:FREQ=DAILY;COUNT=20"}})
	if err != nil {
		t.Fatal(err)
	}
	// Google: one occurrence moved and retitled.
	if err := e.g.PatchEvent(calUser, e.cal, g+"_20260304T070000Z", map[string]any{"summary": "Standup (late)",
		"start": map[string]any{"dateTime": "2026-03-04T12:00:00+03:00", "timeZone": "Europe/Moscow"},
		"end":   map[string]any{"dateTime": "2026-03-04T12:30:00+03:00", "timeZone": "Europe/Moscow"}}); err != nil {
		t.Fatal(err)
	}
	e.run()
	sr := e.byTitle("Standup")
	if len(sr.Overrides) != 1 || !sr.Overrides[0].Start.Equal(*ts("2026-03-04T09:00:00Z")) || sr.Overrides[0].Title != "Standup (late)" {
		t.Fatalf("imported overrides %+v", sr.Overrides)
	}
	if n := len(e.activities()); n != 1 {
		t.Fatalf("%d activities", n)
	}
	e.quiet()

	// Google: the moved occurrence moves again; incremental sync sees it.
	if err := e.g.PatchEvent(calUser, e.cal, g+"_20260304T070000Z", map[string]any{"location": "Room 5"}); err != nil {
		t.Fatal(err)
	}
	e.run()
	if sr = e.byTitle("Standup"); len(sr.Overrides) != 1 || sr.Overrides[0].Location != "Room 5" {
		t.Fatalf("incremental overrides %+v", sr.Overrides)
	}

	// Tandem: another occurrence moves, and the first is put back.
	e.edit(sr.ID, func(a *crm.Activity) {
		a.Overrides = []crm.Occurrence{{RecurrenceID: *ts("2026-03-06T07:00:00Z"), Start: *ts("2026-03-06T08:00:00Z"),
			End: *ts("2026-03-06T08:30:00Z"), Title: "Standup", Description: "moved in Tandem"}}
	})
	e.run()
	if x := e.instance(g, "20260306T070000Z"); x.Start.DateTime != "2026-03-06T11:00:00+03:00" || x.Description != "moved in Tandem" {
		t.Errorf("moved in Tandem: %v %q", x.Start.DateTime, x.Description)
	}
	if x := e.instance(g, "20260304T070000Z"); x.Start.DateTime != "2026-03-04T10:00:00+03:00" || x.Summary != "Standup" || x.Location != "" {
		t.Errorf("put back: %v %q %q", x.Start.DateTime, x.Summary, x.Location)
	}
	e.quiet()

	// Tandem: the moved occurrence is removed: Google cancels it.
	e.edit(sr.ID, func(a *crm.Activity) { a.ExDates = []time.Time{*ts("2026-03-06T07:00:00Z")} })
	e.run()
	for _, x := range e.instances(g) {
		if x.Equal(*ts("2026-03-06T08:00:00Z")) || x.Equal(*ts("2026-03-06T07:00:00Z")) {
			t.Errorf("a removed occurrence still shows at %v", x)
		}
	}
	if sr = e.byTitle("Standup"); len(sr.Overrides) != 0 || len(sr.ExDates) != 1 {
		t.Errorf("after removal %+v %v", sr.Overrides, sr.ExDates)
	}
	e.quiet()

	// A new series made in Tandem with a changed occurrence goes to Google
	// whole.
	weekly := &crm.Activity{Type: "meeting", Title: "Review", ShowInCalendar: true, AllDay: true,
		Start: ts("2026-03-09T00:00:00Z"), End: ts("2026-03-10T00:00:00Z"), RRule: "FREQ=WEEKLY;COUNT=4",
		Overrides: []crm.Occurrence{{RecurrenceID: *ts("2026-03-16T00:00:00Z"), Start: *ts("2026-03-17T00:00:00Z"),
			End: *ts("2026-03-18T00:00:00Z"), Title: "Review (Tuesday)"}}}
	if err := e.st.CreateActivity(ctx, e.v, weekly); err != nil {
		t.Fatal(err)
	}
	e.run()
	rid := e.remoteID(weekly.ID)
	if x := e.instance(rid, "20260316"); x.Start.Date != "2026-03-17" || x.Summary != "Review (Tuesday)" {
		t.Errorf("exported occurrence %v %q", x.Start.Date, x.Summary)
	}
	e.quiet()
	if n := len(e.activities()); n != 2 {
		t.Errorf("%d activities", n)
	}
}

// TestCalendarRevertsBrokenRules: a calendar change that breaks a local
// rule is taken back on both sides and journaled (SPEC §4 profile rules).
func TestCalendarRevertsBrokenRules(t *testing.T) {
	e := newEngineEnv(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	ctx := store.WithOrigin(e.ctx, "ui")
	task := &crm.Activity{Type: "task", Title: "Write the offer", ShowInCalendar: true, TimeZone: "UTC",
		Start: ts("2026-03-10T09:00:00Z"), End: ts("2026-03-10T17:00:00Z")}
	if err := e.st.CreateActivity(ctx, e.v, task); err != nil {
		t.Fatal(err)
	}
	e.run()
	rid := e.remoteID(task.ID)

	// Work starts: the calendar shows the actual start from then on.
	e.edit(task.ID, func(a *crm.Activity) {
		a.Status = "in_progress"
		a.ActualStart = ts("2026-03-10T11:00:00Z")
	})
	e.run()
	if ev := e.event(rid); ev["start"].(map[string]any)["dateTime"] != "2026-03-10T11:00:00Z" {
		t.Fatalf("actual start not shown: %v", ev["start"])
	}

	// Google moves the task and renames it: the rename is kept, the move
	// is reverted in Google.
	if err := e.g.PatchEvent(calUser, e.cal, rid, map[string]any{"summary": "Write the offer (v2)",
		"start": map[string]any{"dateTime": "2026-03-12T09:00:00Z", "timeZone": "UTC"},
		"end":   map[string]any{"dateTime": "2026-03-12T18:00:00Z", "timeZone": "UTC"}}); err != nil {
		t.Fatal(err)
	}
	s := e.run()
	if s.Reverted != 1 {
		t.Errorf("stats %+v", s)
	}
	a, _ := e.st.GetActivity(e.ctx, e.v, task.ID)
	if a.Title != "Write the offer (v2)" || !a.ActualStart.Equal(*ts("2026-03-10T11:00:00Z")) || !a.End.Equal(*ts("2026-03-12T18:00:00Z")) {
		t.Errorf("local after the move: %q %v %v", a.Title, a.ActualStart, a.End)
	}
	if ev := e.event(rid); ev["start"].(map[string]any)["dateTime"] != "2026-03-10T11:00:00Z" {
		t.Errorf("move not reverted in Google: %v", ev["start"])
	}
	js, err := e.st.Journal(e.ctx, task.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, j := range js {
		if j.Action == "revert" && j.Reason == reconcile.RuleActualStart && slices.Contains(j.Fields, reconcile.FieldStart) {
			found = true
		}
	}
	if !found {
		t.Errorf("no revert in the journal: %+v", js)
	}
	e.quiet()

	// Completed: the end is the actual end and is kept too.
	e.edit(task.ID, func(a *crm.Activity) {
		a.Status = "completed"
		a.ActualEnd = ts("2026-03-11T15:00:00Z")
	})
	e.run()
	if err := e.g.PatchEvent(calUser, e.cal, rid, map[string]any{
		"end": map[string]any{"dateTime": "2026-03-11T19:00:00Z", "timeZone": "UTC"}}); err != nil {
		t.Fatal(err)
	}
	e.run()
	if ev := e.event(rid); ev["end"].(map[string]any)["dateTime"] != "2026-03-11T15:00:00Z" {
		t.Errorf("actual end not kept in Google: %v", ev["end"])
	}
	e.quiet()

	// A meeting Julia organizes but may only read (its owner shared it
	// read-only): a change in Google is taken back, a delete in Google
	// keeps the activity.
	team := &access.Role{Name: "Team"}
	if err := e.st.SaveRole(e.ctx, team); err != nil {
		t.Fatal(err)
	}
	u, _ := e.st.GetUser(e.ctx, e.v.UserID)
	u.RoleIDs = []string{team.ID}
	if err := e.st.UpdateUser(e.ctx, u); err != nil {
		t.Fatal(err)
	}
	e.v, _ = e.st.Viewer(e.ctx, u.ID)
	boss := &access.User{Email: "boss@example.com", Name: "Boss", Active: true}
	if err := e.st.CreateUser(e.ctx, boss, "password-123"); err != nil {
		t.Fatal(err)
	}
	bv, _ := e.st.Viewer(e.ctx, boss.ID)
	board := &crm.Activity{Type: "meeting", Title: "Board", ShowInCalendar: true, OrganizerID: e.v.UserID,
		Start: ts("2026-03-20T09:00:00Z"), End: ts("2026-03-20T10:00:00Z"),
		Access: []crm.Grant{{RoleID: team.ID, Level: crm.AccessRead}}}
	if err := e.st.CreateActivity(ctx, bv, board); err != nil {
		t.Fatal(err)
	}
	e.run()
	brid := e.remoteID(board.ID)
	if err := e.g.PatchEvent(calUser, e.cal, brid, map[string]any{"summary": "Board (cancelled?)"}); err != nil {
		t.Fatal(err)
	}
	if s := e.run(); s.Reverted != 1 {
		t.Errorf("read-only: %+v", s)
	}
	if ev := e.event(brid); ev["summary"] != "Board" {
		t.Errorf("read-only change not reverted: %v", ev["summary"])
	}
	if err := e.g.DeleteEvent(calUser, e.cal, brid); err != nil {
		t.Fatal(err)
	}
	e.run()
	if a, err := e.st.GetActivity(e.ctx, bv, board.ID); err != nil || a.Title != "Board" {
		t.Errorf("read-only activity after a delete in Google: %v", err)
	}
}

// TestCalendarRestore: a deleted event is undeleted with the same id, and a
// series gets back the changed occurrences Google cancelled with it (those
// removed in Tandem stay removed); an event that was never deleted stays
// as it is, one that does not exist is not found.
func TestCalendarRestore(t *testing.T) {
	e := newCalEnv(t, "Europe/Moscow", google.CalendarOptions{})
	f := reconcile.Fields{"title": "Standup", "start": "2026-03-02T07:00:00Z", "end": "2026-03-02T07:30:00Z",
		"time_zone": "Europe/Moscow", "rrule": "FREQ=DAILY;COUNT=10", "exdates": "2026-03-05T07:00:00Z",
		"overrides": "2026-03-04T07:00:00Z|2026-03-04T09:00:00Z|2026-03-04T09:30:00Z|Standup (late)||Room 5"}
	series := roundTrip(t, e, f)
	single := roundTrip(t, e, reconcile.Fields{"title": "Call", "start": "2026-03-03T10:00:00Z", "end": "2026-03-03T11:00:00Z",
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
	if x := e.instance(series.RemoteID, "20260304T070000Z"); x.Status == "cancelled" || x.Summary != "Standup (late)" {
		t.Errorf("changed occurrence after the restore: %q %q", x.Status, x.Summary)
	}
	if _, err := e.conn.Restore(e.ctx, "nosuchevent0", nil); !errors.Is(err, reconcile.ErrRemoteNotFound) {
		t.Errorf("restore of a missing event: %v", err)
	}
}
