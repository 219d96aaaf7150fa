package syncer_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// taskFixture is the fake provider's connection with a task binding, run
// through the real engine.
type taskFixture struct {
	*fakeFixture
	t     *testing.T
	ctx   context.Context
	v     access.Viewer
	clock *testenv.Clock
}

func startTasks(t *testing.T, pg bool) *taskFixture {
	t.Helper()
	f := startFake(t, pg)
	ctx := context.Background()
	v, err := f.s.App.Store.Viewer(ctx, f.s.Admin.UserID)
	if err != nil {
		t.Fatal(err)
	}
	// Every date is relative to the clock, which stands at the start of
	// the test, so the test means the same on any day it runs.
	return &taskFixture{fakeFixture: f, t: t, ctx: ctx, v: v, clock: testenv.NewClock(time.Now().UTC().Truncate(time.Second))}
}

// day is midnight UTC n days from the clock's day.
func (f *taskFixture) day(n int) time.Time {
	return f.clock.Now().Truncate(24*time.Hour).AddDate(0, 0, n)
}

func (f *taskFixture) date(n int) string { return f.day(n).Format(reconcile.DateLayout) }

// subscribe saves the task settings for list through the generic API.
func (f *taskFixture) subscribe(list string, from int) {
	f.t.Helper()
	var got struct {
		Saved, Enabled bool
		Collection     string
		Settings       map[string]any
	}
	f.s.Admin.JSON(f.t, "PUT", "/api/v1/connections/"+f.connID+"/sync/task", map[string]any{"enabled": true,
		"settings": map[string]any{"list_id": list, "sync_from": f.date(from)}}, http.StatusOK, &got)
	if !got.Saved || !got.Enabled || got.Collection != list || got.Settings["list_id"] != list {
		f.t.Fatalf("task settings after PUT: %+v", got)
	}
}

// run runs the connection and returns what its task binding did.
func (f *taskFixture) run() reconcile.Stats {
	f.t.Helper()
	res, err := f.s.App.Sync.RunConnection(f.ctx, f.connID)
	if err != nil {
		f.t.Fatalf("run: %v", err)
	}
	return res.Stats["task"]
}

// items are a task list's items by title; a title twice fails the test.
func (f *taskFixture) items(list string) map[string]reconcile.Item {
	f.t.Helper()
	out := map[string]reconcile.Item{}
	for _, it := range f.fake.TaskList(list).Items() {
		title := it.Fields[reconcile.FieldTitle]
		if _, dup := out[title]; dup {
			f.t.Errorf("two items %q in %s", title, list)
		}
		out[title] = it
	}
	return out
}

// tasks are the admin's activities by title, as the store has them.
func (f *taskFixture) tasks() map[string]*crm.Activity {
	f.t.Helper()
	as, _, err := f.s.App.Store.ListActivities(f.ctx, f.v, store.ActivityFilter{Page: store.Page{Limit: 200}})
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]*crm.Activity{}
	for i := range as {
		if _, dup := out[as[i].Title]; dup {
			f.t.Errorf("two activities %q", as[i].Title)
		}
		out[as[i].Title] = &as[i]
	}
	return out
}

func (f *taskFixture) create(body map[string]any) string {
	f.t.Helper()
	var a struct{ ID string }
	f.s.Admin.JSON(f.t, "POST", "/api/v1/activities", body, http.StatusCreated, &a)
	return a.ID
}

func (f *taskFixture) patch(id string, body map[string]any) {
	f.t.Helper()
	f.s.Admin.JSON(f.t, "PATCH", "/api/v1/activities/"+id, body, http.StatusOK, nil)
}

// edit changes a remote item as a user of the remote would.
func (f *taskFixture) edit(list string, it reconcile.Item, change reconcile.Fields) {
	nf := it.Fields.Clone()
	for k, v := range change {
		if v == "" {
			delete(nf, k)
		} else {
			nf[k] = v
		}
	}
	f.fake.TaskList(list).Put(it.RemoteID, nf)
}

func wantStats(t *testing.T, what string, got, want reconcile.Stats) {
	t.Helper()
	if got.LocalCreated != want.LocalCreated || got.LocalUpdated != want.LocalUpdated || got.LocalRemoved != want.LocalRemoved ||
		got.RemoteCreated != want.RemoteCreated || got.RemoteUpdated != want.RemoteUpdated || got.RemoteRemoved != want.RemoteRemoved ||
		got.Linked != want.Linked {
		t.Errorf("%s: stats %+v, want %+v", what, got, want)
	}
}

// TestTaskSync: a to-do list binding through the real engine and the
// fake provider — export and import, the scope (tasks outside the
// calendar, the user's, not older than the sync-from date), status, due,
// priority and completion both ways, ready for review kept across a
// sync, a task taken into the calendar, deletes on both sides.
func TestTaskSync(t *testing.T) { onBothDatabases(t, testTaskSync) }

func testTaskSync(t *testing.T, pg bool) {
	f := startTasks(t, pg)
	api, conn := f.s.Admin, "/api/v1/connections/"+f.connID

	// The kind is offered, picked from the provider's lists; reading
	// creates nothing.
	var got struct {
		Kind, CollectionMode string `json:"-"`
		Saved                bool
		Settings             map[string]any
		Schema               []struct{ Name string }
	}
	api.JSON(t, "GET", conn+"/sync/task", nil, http.StatusOK, &got)
	if got.Saved || got.Settings["list_id"] != "" || len(got.Schema) != 5 {
		t.Fatalf("GET sync/task %+v", got)
	}
	var lists struct{ Items []struct{ ID string } }
	api.JSON(t, "GET", conn+"/sync/task/collections", nil, http.StatusOK, &lists)
	if len(lists.Items) != 2 || f.bindings(t) != 0 {
		t.Fatalf("lists %+v, %d bindings", lists, f.bindings(t))
	}
	api.JSON(t, "PUT", conn+"/sync/task", map[string]any{"enabled": true, "settings": map[string]any{"calendar_id": "x"}},
		http.StatusBadRequest, nil)
	api.JSON(t, "PUT", conn+"/sync/task", map[string]any{"enabled": true, "settings": map[string]any{}},
		http.StatusBadRequest, nil) // no list chosen

	at := func(d time.Time, clock string) string { return d.Format(reconcile.DateLayout) + "T" + clock + "Z" }
	report := f.create(map[string]any{"type": "task", "title": "Quarterly report", "status": "ready_for_review",
		"priority": "high", "start": at(f.day(1), "09:00:00"), "end": at(f.day(3), "17:00:00")})
	someday := f.create(map[string]any{"type": "task", "title": "Someday"})
	f.create(map[string]any{"type": "task", "title": "Old task", "end": at(f.day(-60), "10:00:00")})
	f.create(map[string]any{"type": "task", "title": "Shown in calendar", "show_in_calendar": true,
		"start": at(f.day(2), "10:00:00"), "end": at(f.day(2), "11:00:00")})
	f.create(map[string]any{"type": "meeting", "title": "Team meeting", "show_in_calendar": true,
		"start": at(f.day(2), "12:00:00"), "end": at(f.day(2), "13:00:00")})
	other := f.s.NewUser(t, "other@example.com")
	other.JSON(t, "POST", "/api/v1/activities", map[string]any{"type": "task", "title": "Not mine"}, http.StatusCreated, nil)

	list := f.fake.TaskList("cal-work")
	list.Put("r-flights", reconcile.Fields{"title": "Book flights", "task_status": "in_process", "priority": "low",
		"all_day": "true", "start": f.date(7), "due": f.date(9)})
	f.subscribe("cal-work", -30)

	wantStats(t, "first run", f.run(), reconcile.Stats{LocalCreated: 1, RemoteCreated: 2})
	items := f.items("cal-work")
	if len(items) != 3 || items["Someday"].Fields == nil || items["Book flights"].Fields == nil {
		t.Fatalf("the list holds %v", items)
	}
	wantFields := reconcile.Fields{"title": "Quarterly report", "task_status": "in_process", "priority": "high",
		"start": at(f.day(1), "09:00:00"), "due": at(f.day(3), "17:00:00"), "tandem_id": report}
	if it := items["Quarterly report"]; !it.Fields.Equal(wantFields) {
		t.Errorf("exported %v, want %v", it.Fields, wantFields)
	}
	acts := f.tasks()
	flights := acts["Book flights"]
	if flights == nil || flights.Type != "task" || flights.ShowInCalendar || flights.OwnerID != f.v.UserID ||
		flights.Status != "in_progress" || flights.Priority != "low" || !flights.AllDay ||
		!flights.Start.Equal(f.day(7)) || !flights.End.Equal(f.day(10)) {
		t.Fatalf("imported %+v", flights)
	}
	wantStats(t, "a run with nothing changed", f.run(), reconcile.Stats{})

	// The list says "in process": a task ready for review stays so across
	// a remote change of another field.
	f.edit("cal-work", items["Quarterly report"], reconcile.Fields{"title": "Quarterly report v2"})
	wantStats(t, "remote rename", f.run(), reconcile.Stats{LocalUpdated: 1})
	if a := f.tasks()["Quarterly report v2"]; a == nil || a.Status != "ready_for_review" {
		t.Fatalf("after the remote rename: %+v", a)
	}

	// Completed in the list at a time of its own: that time is the actual
	// end, not the moment of the sync.
	done := f.clock.Now().Add(-3 * time.Hour)
	f.edit("cal-work", f.items("cal-work")["Book flights"], reconcile.Fields{"task_status": "completed",
		"completed": reconcile.FormatCompleted(done), "due": f.date(10)})
	// The imported item gets the task's id only with a write that carries
	// a real change: not one of its own.
	wantStats(t, "remote completion", f.run(), reconcile.Stats{LocalUpdated: 1})
	if id := f.items("cal-work")["Book flights"].Fields["tandem_id"]; id != "" {
		t.Errorf("the imported item carries tandem_id %q after a pull alone, want none yet", id)
	}
	flights = f.tasks()["Book flights"]
	if flights.Status != "completed" || flights.ActualEnd == nil || !flights.ActualEnd.Equal(done) || !flights.End.Equal(f.day(11)) {
		t.Fatalf("after the remote completion: status %s, actual end %v, end %v", flights.Status, flights.ActualEnd, flights.End)
	}
	// A change made here goes out with the id riding along.
	f.patch(flights.ID, map[string]any{"priority": "high"})
	wantStats(t, "local priority", f.run(), reconcile.Stats{RemoteUpdated: 1})
	if it := f.items("cal-work")["Book flights"]; it.Fields["tandem_id"] != flights.ID || it.Fields["priority"] != "high" {
		t.Errorf("after a local change the item holds tandem_id %q, priority %q; want %q, high", it.Fields["tandem_id"],
			it.Fields["priority"], flights.ID)
	}

	// Completed here, priority back to normal, due moved: the list follows.
	f.patch(report, map[string]any{"status": "completed", "priority": "normal", "end": at(f.day(4), "12:00:00")})
	wantStats(t, "local completion", f.run(), reconcile.Stats{RemoteUpdated: 1})
	a := f.tasks()["Quarterly report v2"]
	it := f.items("cal-work")["Quarterly report v2"]
	if it.Fields["task_status"] != "completed" || it.Fields["completed"] != reconcile.FormatCompleted(*a.ActualEnd) ||
		it.Fields["priority"] != "" || it.Fields["due"] != at(f.day(4), "12:00:00") {
		t.Errorf("after the local completion the list holds %v (actual end %v)", it.Fields, a.ActualEnd)
	}

	// Reopened in the list: needs action again, the completion gone.
	f.edit("cal-work", f.items("cal-work")["Book flights"], reconcile.Fields{"task_status": "needs_action", "completed": ""})
	wantStats(t, "remote reopening", f.run(), reconcile.Stats{LocalUpdated: 1})
	if flights = f.tasks()["Book flights"]; flights.Status != "not_started" || flights.ActualEnd != nil || flights.ActualStart != nil {
		t.Fatalf("after reopening: %s, %v – %v", flights.Status, flights.ActualStart, flights.ActualEnd)
	}
	wantStats(t, "settled", f.run(), reconcile.Stats{})

	// Taken into the calendar: the task leaves the list, and stays here.
	f.patch(someday, map[string]any{"show_in_calendar": true, "start": at(f.day(6), "08:00:00")})
	wantStats(t, "into the calendar", f.run(), reconcile.Stats{RemoteRemoved: 1})
	if _, in := f.items("cal-work")["Someday"]; in || f.tasks()["Someday"] == nil {
		t.Error("a task shown in the calendar is still in the list, or was deleted here")
	}

	// Deleted in the list: deleted here (journaled); deleted here: gone
	// from the list.
	list.Delete(context.Background(), f.items("cal-work")["Book flights"].RemoteID, "")
	f.s.Admin.JSON(t, "DELETE", "/api/v1/activities/"+report, nil, http.StatusNoContent, nil)
	wantStats(t, "deletes", f.run(), reconcile.Stats{LocalRemoved: 1, RemoteRemoved: 1})
	if acts := f.tasks(); acts["Book flights"] != nil || acts["Quarterly report v2"] != nil {
		t.Errorf("after the deletes: %v", acts)
	}
	if items := f.items("cal-work"); len(items) != 0 {
		t.Errorf("after the deletes the list holds %v", items)
	}
}

// TestTaskResubscribe: choosing another list and coming back finds what
// is there — by the links the list left kept while its tasks went to the
// other one — instead of creating anything twice; the unlinking is
// journaled.
func TestTaskResubscribe(t *testing.T) { onBothDatabases(t, testTaskResubscribe) }

func testTaskResubscribe(t *testing.T, pg bool) {
	f := startTasks(t, pg)
	mine := f.create(map[string]any{"type": "task", "title": "Write minutes", "end": f.date(2)})
	f.fake.TaskList("cal-work").Put("r-call", reconcile.Fields{"title": "Call the bank", "task_status": "needs_action",
		"due": f.day(3).Add(10 * time.Hour).Format(time.RFC3339)})
	f.subscribe("cal-work", -7)
	wantStats(t, "first run", f.run(), reconcile.Stats{LocalCreated: 1, RemoteCreated: 1})

	f.subscribe("cal-home", -7)
	wantStats(t, "another list", f.run(), reconcile.Stats{RemoteCreated: 2})
	es, err := f.s.App.Store.Journal(f.ctx, mine, 50)
	if err != nil {
		t.Fatal(err)
	}
	unlinked := false
	for _, e := range es {
		// The list chosen now is home: the task goes there.
		unlinked = unlinked || (e.Action == "unlink" && e.Reason == reconcile.ReasonUnsubscribedTasks+";"+reconcile.ReasonToHome)
	}
	if !unlinked {
		t.Errorf("no unlink journaled: %+v", es)
	}

	f.subscribe("cal-work", -7)
	// The list handed its tasks over and kept its links: back, it has
	// them again as they were — nothing linked anew, created or written
	// (the lists and records below show nothing new was made).
	if st := f.run(); st.LocalCreated+st.RemoteCreated+st.Linked+st.LocalUpdated+st.RemoteUpdated+st.RemoteRemoved != 0 {
		t.Errorf("back to the first list: stats %+v, want nothing made, linked or written", st)
	}
	if items, acts := f.items("cal-work"), f.tasks(); len(items) != 2 || len(acts) != 2 {
		t.Errorf("after resubscribing: list %v, tasks %v", items, acts)
	}
	if n := len(f.items("cal-home")); n != 2 {
		t.Errorf("the list left behind holds %d items: unsubscribing deletes nothing", n)
	}
	// Still in step: a change here reaches the list once.
	f.patch(mine, map[string]any{"title": "Write the minutes"})
	wantStats(t, "a change after resubscribing", f.run(), reconcile.Stats{RemoteUpdated: 1})
	if _, ok := f.items("cal-work")["Write the minutes"]; !ok {
		t.Errorf("the list holds %v", f.items("cal-work"))
	}
}

// TestTaskCard: the connection page of a provider with tasks has the task
// card — saving through it, a preview listing the task list's part only —
// and a provider without tasks has none.
func TestTaskCard(t *testing.T) {
	f := startTasks(t, false)
	b := f.s.Browser(t, tandemtest.AdminEmail, tandemtest.AdminPassword)
	page := b.Get(t, "/profile/accounts/"+f.connID)
	for _, want := range []string{`data-sync-card="task"`, `data-sync-progress="task"`, "Fake DAV task list", `name="list_id"`,
		`value="cal-home"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("connection page lacks %q", want)
		}
	}
	bad := b.Post(t, "/profile/accounts/"+f.connID+"/tasks", url.Values{"enabled": {"1"}, "period_minutes": {"15"}})
	if bad.Status != http.StatusUnprocessableEntity || !strings.Contains(bad.Body, "has-error") {
		t.Fatalf("enabling without a list: %d", bad.Status)
	}
	saved := b.Post(t, "/profile/accounts/"+f.connID+"/tasks", url.Values{"enabled": {"1"}, "list_id": {"cal-home"},
		"sync_from": {f.date(-5)}, "period_minutes": {"30"}, "auto": {"1"}})
	if saved.Status != http.StatusOK {
		t.Fatalf("save: %d", saved.Status)
	}
	var st struct {
		Enabled    bool
		Collection string
		Settings   map[string]any
	}
	f.s.Admin.JSON(t, "GET", "/api/v1/connections/"+f.connID+"/sync/task", nil, http.StatusOK, &st)
	if !st.Enabled || st.Collection != "cal-home" || st.Settings["period_minutes"] != float64(30) || st.Settings["auto"] != true ||
		st.Settings["sync_from"] != f.date(-5) {
		t.Fatalf("after saving in the UI: %+v", st)
	}

	// A preview shows each kind's part on its own card.
	f.create(map[string]any{"type": "task", "title": "Preview me"})
	f.fake.TaskList("cal-home").Put("r-1", reconcile.Fields{"title": "Coming here", "task_status": "needs_action"})
	pv := b.Post(t, "/profile/accounts/"+f.connID+"/preview", nil)
	card := pv.Body[strings.Index(pv.Body, `data-sync-card="task"`):]
	if pv.Status != http.StatusOK || !strings.Contains(card, "Preview me") || !strings.Contains(card, "Coming here") {
		t.Fatalf("preview %d: the task card lacks the plan", pv.Status)
	}
	if cal := pv.Body[strings.Index(pv.Body, `data-sync-card="event"`):strings.Index(pv.Body, `data-sync-card="task"`)]; strings.Contains(cal, "Preview me") {
		t.Error("the calendar card shows the task list's plan")
	}
	if items := f.fake.TaskList("cal-home").Items(); len(items) != 1 || len(f.tasks()) != 1 {
		t.Error("the preview changed something")
	}
}
