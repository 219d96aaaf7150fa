package syncer_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	"github.com/tandem-crm/tandem/internal/crmsync"
	emu "github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/emulator/google/calendartest"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// engineEnv is a calendar binding between a store and the Google emulator,
// run by the engine with the real connector. The emulator sits behind a
// loopback server that can interfere with requests: a concurrent edit
// before a write (a real 412), a lost answer.
type engineEnv struct {
	t    *testing.T
	ctx  context.Context
	g    *emu.Server
	svc  *calendar.Service
	cal  string
	conn *google.Calendar
	st   *store.Store
	v    access.Viewer
	b    *store.Binding
	from time.Time
	eng  *reconcile.Engine

	mu       sync.Mutex
	beforePU func() // runs once before the next events update (PUT)
	losePost bool   // the next events insert is applied, then answered 500
}

func newEngineEnv(t *testing.T, st *store.Store, from time.Time) *engineEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	g := emu.New(emu.Options{Seed: 7})
	g.AddUser(googleUser, "Julia")
	e := &engineEnv{t: t, ctx: ctx, g: g, st: st, from: from, eng: &reconcile.Engine{State: st}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
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
	hc := oauth2.NewClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: g.MintAccessToken(googleUser), TokenType: "Bearer"}))
	svc, err := google.NewCalendarService(ctx, hc, google.FromBase(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	if e.cal, err = g.CreateCalendar(googleUser, "Work", "Europe/Moscow"); err != nil {
		t.Fatal(err)
	}
	e.conn = google.NewCalendar(svc, e.cal, google.CalendarOptions{From: from, Self: "julia@example.com", PageSize: 3,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	e.v = storetest.User(t, st, "julia@example.com")
	e.b = storetest.Binding(t, st, storetest.Connection(t, st, e.v.UserID, "google").ID, "event", e.cal)
	return e
}

func (e *engineEnv) event(id string) map[string]any {
	e.t.Helper()
	ev, ok := e.g.Event(googleUser, e.cal, id)
	if !ok {
		e.t.Fatalf("no event %s", id)
	}
	return ev
}

// instances returns the start instants of a series' occurrences.
func (e *engineEnv) instances(id string) []time.Time {
	return calendartest.Instances(e.t, e.ctx, e.svc, e.cal, id)
}

// instance reads one occurrence of a series through the API, as a user's
// calendar shows it.
func (e *engineEnv) instance(series, rid string) *calendar.Event {
	return calendartest.Instance(e.t, e.ctx, e.svc, e.cal, series, rid)
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
	local := &crmsync.EventsLocal{Store: e.st, Viewer: e.v, BindingID: e.b.ID, From: e.from}
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
// emulator and a real store, on both databases.
func TestCalendarEngine(t *testing.T) { storetest.Each(t, testCalendarEngine) }

func testCalendarEngine(t *testing.T, st *store.Store) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	e := newEngineEnv(t, st, from)
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
		if _, err := e.g.InsertEvent(googleUser, e.cal, map[string]any{"summary": title,
			"start":     map[string]any{"dateTime": time.Date(2026, 3, 12+i, 9, 0, 0, 0, time.UTC).Format(time.RFC3339), "timeZone": "UTC"},
			"end":       map[string]any{"dateTime": time.Date(2026, 3, 12+i, 10, 0, 0, 0, time.UTC).Format(time.RFC3339), "timeZone": "UTC"},
			"attendees": []any{map[string]any{"email": "Ann@Example.com", "responseStatus": "accepted"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.g.InsertEvent(googleUser, e.cal, map[string]any{"summary": "Before sync-from",
		"start": map[string]any{"date": "2026-02-01"}, "end": map[string]any{"date": "2026-02-02"}}); err != nil {
		t.Fatal(err)
	}
	series, err := e.g.InsertEvent(googleUser, e.cal, map[string]any{"summary": "Series",
		"start":      map[string]any{"dateTime": "2026-03-02T09:00:00-05:00", "timeZone": "America/New_York"},
		"end":        map[string]any{"dateTime": "2026-03-02T10:00:00-05:00", "timeZone": "America/New_York"},
		"recurrence": []string{"RRULE:FREQ=WEEKLY;COUNT=10"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.g.DeleteEvent(googleUser, e.cal, series+"_20260316T130000Z"); err != nil {
		t.Fatal(err)
	}
	// A changed occurrence is part of its series (an override), not an
	// activity of its own.
	if err := e.g.PatchEvent(googleUser, e.cal, series+"_20260323T130000Z", map[string]any{"summary": "Moved one"}); err != nil {
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
	for _, x := range e.g.Events(googleUser, e.cal) {
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
		if err := e.g.PatchEvent(googleUser, e.cal, rid, map[string]any{"description": "added in Google meanwhile"}); err != nil {
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
	if err := e.g.DeleteEvent(googleUser, e.cal, series+"_20260406T130000Z"); err != nil {
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
	if err := e.g.DeleteEvent(googleUser, e.cal, e.remoteID(g2.ID)); err != nil {
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
	if x, _ := e.g.Event(googleUser, e.cal, g3Remote); x["status"] != "cancelled" {
		t.Errorf("event of a deleted activity: %v", x["status"])
	}

	// An expired token: a full listing, matched by links — nothing twice.
	before, events := len(e.activities()), len(e.g.Events(googleUser, e.cal))
	e.g.ExpireSyncTokens(googleUser)
	s = e.run()
	if !s.FullListing || s.LocalCreated != 0 || s.RemoteCreated != 0 {
		t.Errorf("after expiry %+v", s)
	}
	if len(e.activities()) != before || len(e.g.Events(googleUser, e.cal)) != events {
		t.Errorf("duplicates after expiry: %d→%d activities, %d→%d events", before, len(e.activities()), events,
			len(e.g.Events(googleUser, e.cal)))
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
	for _, x := range e.g.Events(googleUser, e.cal) {
		if x["summary"] == "Lost answer" {
			n++
		}
	}
	if n != 1 || e.remoteID(lost.ID) == "" {
		t.Errorf("%d events for the lost create", n)
	}
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
func TestCalendarOccurrences(t *testing.T) { storetest.Each(t, testCalendarOccurrences) }

func testCalendarOccurrences(t *testing.T, st *store.Store) {
	e := newEngineEnv(t, st, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	ctx := store.WithOrigin(e.ctx, "ui")
	g, err := e.g.InsertEvent(googleUser, e.cal, map[string]any{"summary": "Standup",
		"start":      map[string]any{"dateTime": "2026-03-02T10:00:00+03:00", "timeZone": "Europe/Moscow"},
		"end":        map[string]any{"dateTime": "2026-03-02T10:30:00+03:00", "timeZone": "Europe/Moscow"},
		"recurrence": []string{"RRULE:FREQ=DAILY;COUNT=20"}})
	if err != nil {
		t.Fatal(err)
	}
	// Google: one occurrence moved and retitled.
	if err := e.g.PatchEvent(googleUser, e.cal, g+"_20260304T070000Z", map[string]any{"summary": "Standup (late)",
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
	if err := e.g.PatchEvent(googleUser, e.cal, g+"_20260304T070000Z", map[string]any{"location": "Room 5"}); err != nil {
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
func TestCalendarRevertsBrokenRules(t *testing.T) { storetest.Each(t, testCalendarRevertsBrokenRules) }

func testCalendarRevertsBrokenRules(t *testing.T, st *store.Store) {
	e := newEngineEnv(t, st, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
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
	if err := e.g.PatchEvent(googleUser, e.cal, rid, map[string]any{"summary": "Write the offer (v2)",
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
	if err := e.g.PatchEvent(googleUser, e.cal, rid, map[string]any{
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
	bv := storetest.User(t, e.st, "boss@example.com")
	board := &crm.Activity{Type: "meeting", Title: "Board", ShowInCalendar: true, OrganizerID: e.v.UserID,
		Start: ts("2026-03-20T09:00:00Z"), End: ts("2026-03-20T10:00:00Z"),
		Access: []crm.Grant{{RoleID: team.ID, Level: crm.AccessRead}}}
	if err := e.st.CreateActivity(ctx, bv, board); err != nil {
		t.Fatal(err)
	}
	e.run()
	brid := e.remoteID(board.ID)
	if err := e.g.PatchEvent(googleUser, e.cal, brid, map[string]any{"summary": "Board (cancelled?)"}); err != nil {
		t.Fatal(err)
	}
	if s := e.run(); s.Reverted != 1 {
		t.Errorf("read-only: %+v", s)
	}
	if ev := e.event(brid); ev["summary"] != "Board" {
		t.Errorf("read-only change not reverted: %v", ev["summary"])
	}
	if err := e.g.DeleteEvent(googleUser, e.cal, brid); err != nil {
		t.Fatal(err)
	}
	e.run()
	if a, err := e.st.GetActivity(e.ctx, bv, board.ID); err != nil || a.Title != "Board" {
		t.Errorf("read-only activity after a delete in Google: %v", err)
	}
}
