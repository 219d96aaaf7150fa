package syncer_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/crmsync"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
)

type pickedOut struct {
	Collection string         `json:"collection"`
	Home       bool           `json:"home"`
	LastStats  map[string]any `json:"last_stats"`
}

type severalOut struct {
	Several  bool           `json:"several"`
	Picked   []pickedOut    `json:"picked"`
	Settings map[string]any `json:"settings"`
}

// TestSeveralCalendars: an account whose provider takes several calendars
// syncs two at once through the API, each a binding of its own; the home
// one gets the new activities, the other its own events' changes; the
// home moves; a calendar left out is unsubscribed, deleting nothing, and
// its activities go to the home one.
func TestSeveralCalendars(t *testing.T) { onBothDatabases(t, testSeveralCalendars) }

func testSeveralCalendars(t *testing.T, pg bool) {
	ctx := context.Background()
	f := startFake(t, pg)
	f.fake.SetSeveral(true)
	api, conn, st := f.s.Admin, "/api/v1/connections/"+f.connID, f.s.App.Store
	from := time.Now().AddDate(0, 0, -7).Format("2006-01-02")
	start := time.Now().UTC().Truncate(time.Hour).Add(48 * time.Hour)
	event := func(title string, at time.Time) reconcile.Fields {
		return reconcile.Fields{reconcile.FieldTitle: title, reconcile.FieldStart: reconcile.FormatEventTime(at, false),
			reconcile.FieldEnd: reconcile.FormatEventTime(at.Add(time.Hour), false), reconcile.FieldTimeZone: "UTC"}
	}
	activity := func(title string, at time.Time) string {
		var a struct{ ID string }
		api.JSON(t, "POST", "/api/v1/activities", map[string]any{"type": "meeting", "title": title, "show_in_calendar": true,
			"start": at.Format(time.RFC3339), "end": at.Add(time.Hour).Format(time.RFC3339)}, http.StatusCreated, &a)
		return a.ID
	}
	run := func() {
		t.Helper()
		if _, err := f.s.App.Sync.RunConnection(ctx, f.connID); err != nil {
			t.Fatalf("run: %v", err)
		}
	}
	titles := func(cal string) map[string]string {
		out := map[string]string{}
		for _, it := range f.fake.Calendar(cal).Items() {
			out[it.Fields[reconcile.FieldTitle]] = it.RemoteID
		}
		return out
	}
	work, home := f.fake.Calendar("cal-work"), f.fake.Calendar("cal-home")
	home.Put("dentist", event("Dentist", start.Add(24*time.Hour)))

	// The home calendar must be one of those that sync.
	api.JSON(t, "PUT", conn+"/sync/event", map[string]any{"enabled": true, "settings": map[string]any{
		"calendar_id": "cal-other", "calendar_ids": []string{"cal-work", "cal-home"}, "sync_from": from}}, http.StatusBadRequest, nil)
	var got severalOut
	api.JSON(t, "PUT", conn+"/sync/event", map[string]any{"enabled": true, "settings": map[string]any{
		"calendar_id": "cal-work", "calendar_ids": []string{"cal-work", "cal-home"}, "sync_from": from}}, http.StatusOK, &got)
	if !got.Several || len(got.Picked) != 2 || got.Picked[0].Collection != "cal-work" || !got.Picked[0].Home || got.Picked[1].Home {
		t.Fatalf("after picking two calendars: %+v", got)
	}
	if n := f.bindings(t); n != 2 {
		t.Fatalf("%d bindings, want one per calendar", n)
	}

	planning := activity("Planning", start)
	run()
	if w, h := titles("cal-work"), titles("cal-home"); len(w) != 1 || w["Planning"] == "" || len(h) != 1 || h["Dentist"] == "" {
		t.Fatalf("calendars after the first run: work %v, home %v", w, h)
	}
	var acts struct{ Items []struct{ ID, Title string } }
	api.JSON(t, "GET", "/api/v1/activities?limit=100", nil, http.StatusOK, &acts)
	dentist := ""
	for _, a := range acts.Items {
		if a.Title == "Dentist" {
			dentist = a.ID
		}
	}
	if len(acts.Items) != 2 || dentist == "" {
		t.Fatalf("activities %+v", acts.Items)
	}
	// Edited here: back to its own calendar only.
	api.JSON(t, "PATCH", "/api/v1/activities/"+dentist, map[string]any{"location": "Room 7"}, http.StatusOK, nil)
	run()
	if it, _ := home.Get(ctx, "dentist"); it.Fields[reconcile.FieldLocation] != "Room 7" || len(titles("cal-work")) != 1 {
		t.Fatalf("the change went to %v / work %v", it.Fields, titles("cal-work"))
	}

	// Moved on the server from the other calendar to the home one: still
	// one activity.
	moved := home.MoveTo("dentist", work)
	run()
	api.JSON(t, "GET", "/api/v1/activities?limit=100", nil, http.StatusOK, &acts)
	if len(acts.Items) != 2 {
		t.Fatalf("after the move: %+v", acts.Items)
	}
	bs, err := st.ListBindings(ctx, f.connID)
	if err != nil {
		t.Fatal(err)
	}
	byColl := map[string]*store.Binding{}
	for _, b := range bs {
		byColl[b.Collection] = b
	}
	if l, err := st.FindLink(ctx, byColl["cal-work"].ID, "local_id", dentist); err != nil || l.RemoteID != moved {
		t.Fatalf("the moved event's link %+v %v", l, err)
	}

	// Another home: new activities go there; linked ones stay.
	api.JSON(t, "PUT", conn+"/sync/event", map[string]any{"settings": map[string]any{"calendar_id": "cal-home"}}, http.StatusOK, &got)
	if got.Picked[0].Collection != "cal-home" || !got.Picked[0].Home {
		t.Fatalf("home not changed: %+v", got.Picked)
	}
	activity("Standup", start.Add(2*time.Hour))
	api.JSON(t, "PATCH", "/api/v1/activities/"+planning, map[string]any{"location": "Room 1"}, http.StatusOK, nil)
	run()
	if h, w := titles("cal-home"), titles("cal-work"); h["Standup"] == "" || w["Standup"] != "" || w["Planning"] == "" || h["Planning"] != "" {
		t.Fatalf("after changing the home: home %v, work %v", h, w)
	}

	// Unpicked: unsubscribed, nothing deleted on either side.
	api.JSON(t, "PUT", conn+"/sync/event", map[string]any{"settings": map[string]any{"calendar_id": "cal-home",
		"calendar_ids": []string{"cal-home"}}}, http.StatusOK, &got)
	if len(got.Picked) != 1 || got.Picked[0].Collection != "cal-home" {
		t.Fatalf("after leaving a calendar out: %+v", got.Picked)
	}
	b, err := st.GetBinding(ctx, byColl["cal-work"].ID)
	if err != nil {
		t.Fatal(err)
	}
	// Its links stay, inert, for ticking it again: they hold nothing
	// from the home calendar (below).
	if has, err := st.HasLinks(ctx, b.ID); err != nil || !has || b.Enabled {
		t.Fatalf("the unpicked binding: enabled %v, links %v %v", b.Enabled, has, err)
	}
	run()
	api.JSON(t, "GET", "/api/v1/activities?limit=100", nil, http.StatusOK, &acts)
	if len(acts.Items) != 3 || len(titles("cal-work")) != 2 {
		t.Fatalf("unpicking deleted something: %d activities, work %v", len(acts.Items), titles("cal-work"))
	}
	// Its activities went to the home calendar at its run.
	if h := titles("cal-home"); len(h) != 3 || h["Planning"] == "" || h["Dentist"] == "" {
		t.Fatalf("the unpicked calendar's activities did not reach the home one: %v", h)
	}
	set, err := syncer.DecodeSettings(provider.Event, b.Policy)
	if err != nil || set.(*syncer.EventSettings).Current {
		t.Errorf("the unpicked binding is still current: %+v %v", set, err)
	}
}

// Where the provider takes one calendar at a time, naming several is an
// error; the home binding's export scope is all.
func TestOneCalendarAtATime(t *testing.T) {
	ctx := context.Background()
	f := startFake(t, false)
	api, conn := f.s.Admin, "/api/v1/connections/"+f.connID
	api.JSON(t, "PUT", conn+"/sync/event", map[string]any{"enabled": true, "settings": map[string]any{
		"calendar_id": "cal-work", "calendar_ids": []string{"cal-work", "cal-home"}}}, http.StatusBadRequest, nil)
	var got severalOut
	api.JSON(t, "PUT", conn+"/sync/event", map[string]any{"enabled": true, "settings": map[string]any{"calendar_id": "cal-work"}},
		http.StatusOK, &got)
	api.JSON(t, "PUT", conn+"/sync/event", map[string]any{"settings": map[string]any{"calendar_id": "cal-home"}},
		http.StatusOK, &got)
	if got.Several || len(got.Picked) != 1 || got.Picked[0].Collection != "cal-home" {
		t.Fatalf("switching calendars: %+v", got)
	}
	b, es, err := f.s.App.Sync.EventBinding(ctx, f.connID)
	if err != nil || b.Collection != "cal-home" || es.Export != crmsync.ExportAll {
		t.Fatalf("binding %+v, settings %+v, %v", b, es, err)
	}
}

// TestSeveralTaskLists: two task lists sync at once; a new task goes to
// the home list only, a task of the other list edited here goes back
// there only, a task moved between the lists stays one task.
func TestSeveralTaskLists(t *testing.T) {
	f := startTasks(t, false)
	f.fake.SetSeveral(true)
	f.s.Admin.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/task", map[string]any{"enabled": true,
		"settings": map[string]any{"list_id": "cal-work", "list_ids": []string{"cal-work", "cal-home"}, "sync_from": f.date(-7)}},
		http.StatusOK, nil)
	f.fake.TaskList("cal-home").Put("groceries", reconcile.Fields{reconcile.FieldTitle: "Groceries",
		reconcile.FieldDue: f.day(2).Format(time.RFC3339), reconcile.FieldTaskStatus: "needs_action"})
	report := f.create(map[string]any{"type": "task", "title": "Write report", "end": f.day(3).Format(time.RFC3339)})
	f.run()
	if w, h := f.items("cal-work"), f.items("cal-home"); len(w) != 1 || w["Write report"].RemoteID == "" ||
		len(h) != 1 || h["Groceries"].RemoteID == "" {
		t.Fatalf("lists after the first run: work %v, home %v", w, h)
	}
	groceries := f.tasks()["Groceries"]
	if groceries == nil || len(f.tasks()) != 2 {
		t.Fatalf("tasks %v", f.tasks())
	}
	f.patch(groceries.ID, map[string]any{"priority": "high"})
	f.patch(report, map[string]any{"title": "Write the report"})
	f.run()
	if w, h := f.items("cal-work"), f.items("cal-home"); len(w) != 1 || w["Write the report"].RemoteID == "" || len(h) != 1 ||
		h["Groceries"].Fields[reconcile.FieldPriority] != "high" {
		t.Fatalf("after the edits: work %v, home %v", w, h)
	}
	f.fake.TaskList("cal-home").MoveTo("groceries", f.fake.TaskList("cal-work"))
	f.run()
	if ts := f.tasks(); len(ts) != 2 || ts["Groceries"] == nil || ts["Groceries"].ID != groceries.ID {
		t.Fatalf("after the move: %v", ts)
	}
	if w, h := f.items("cal-work"), f.items("cal-home"); len(w) != 2 || len(h) != 0 {
		t.Fatalf("lists after the move: work %v, home %v", w, h)
	}
}

// TestUntickedListGoesHome: the tasks of a list left out reach the home
// list at its next run, none of them edited; one whose item had left
// that list on purpose (a dormant link) goes nowhere. The list left out
// keeps its items, no task is deleted or doubled, and a later run sends
// nothing again.
func TestUntickedListGoesHome(t *testing.T) { onBothDatabases(t, testUntickedListGoesHome) }

func testUntickedListGoesHome(t *testing.T, pg bool) {
	f := startTasks(t, pg)
	f.fake.SetSeveral(true)
	pick := func(picks ...string) {
		t.Helper()
		f.s.Admin.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/task", map[string]any{"enabled": true,
			"settings": map[string]any{"list_id": "cal-work", "list_ids": picks, "sync_from": f.date(-7)}}, http.StatusOK, nil)
	}
	pick("cal-work", "cal-home")
	for _, title := range []string{"Groceries", "Laundry"} {
		f.fake.TaskList("cal-home").Put(strings.ToLower(title), reconcile.Fields{reconcile.FieldTitle: title,
			reconcile.FieldDue: f.day(2).Format(time.RFC3339), reconcile.FieldTaskStatus: "needs_action"})
	}
	f.run()
	ts := f.tasks()
	if len(ts) != 2 || len(f.items("cal-work")) != 0 {
		t.Fatalf("after the first run: tasks %v, home list %v", ts, f.items("cal-work"))
	}
	bs, err := f.s.App.Store.ListBindings(f.ctx, f.connID)
	if err != nil {
		t.Fatal(err)
	}
	var other *store.Binding
	for _, b := range bs {
		if b.Kind == "task" && b.Collection == "cal-home" {
			other = b
		}
	}
	// Laundry's item left the list and the task stayed: its link sleeps.
	l, err := f.s.App.Store.FindLink(f.ctx, other.ID, "local_id", ts["Laundry"].ID)
	if err != nil {
		t.Fatal(err)
	}
	l.Dormant = true
	if err := f.s.App.Store.InTx(f.ctx, func(tx *store.Tx) error { return tx.PutLink(f.ctx, l) }); err != nil {
		t.Fatal(err)
	}

	pick("cal-work")
	if got := f.items("cal-work"); len(got) != 0 {
		t.Fatalf("the home list was written before its run: %v", got)
	}
	st := f.run()
	if got := f.items("cal-work"); len(got) != 1 || got["Groceries"].RemoteID == "" || st.RemoteCreated != 1 {
		t.Fatalf("home list after its run: %v (stats %+v), want Groceries alone", got, st)
	}
	if got := f.items("cal-home"); len(got) != 2 {
		t.Fatalf("the list left out holds %v", got)
	}
	if got := f.tasks(); len(got) != 2 || got["Groceries"].ID != ts["Groceries"].ID {
		t.Fatalf("tasks after the run: %v", got)
	}
	if st := f.run(); st.RemoteCreated+st.RemoteUpdated+st.LocalCreated != 0 || len(f.items("cal-work")) != 1 {
		t.Errorf("a later run wrote again: %+v", st)
	}
	for title, want := range map[string]string{"Groceries": reconcile.ReasonUnsubscribedTasks + ";" + reconcile.ReasonToHome,
		"Laundry": reconcile.ReasonUnsubscribedTasks} {
		j, err := f.s.App.Store.Journal(f.ctx, ts[title].ID, 20)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(j, func(e store.JournalEntry) bool { return e.Action == "unlink" && e.Reason == want }) {
			t.Errorf("%s's history: %+v, want an unlink for %q", title, j, want)
		}
	}
}
