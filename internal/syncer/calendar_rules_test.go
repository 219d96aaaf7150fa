package syncer_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/calendar/v3"
	"google.golang.org/api/option"

	"github.com/tandem-crm/tandem/internal/store"
)

// TestGoogleCalendarProfileRules: the calendar profile rules of SPEC §4
// through the public API — one system-wide calendar integration, the
// import mode that keeps events as notes, and syncing again from a date
// after an outage.
func TestGoogleCalendarProfileRules(t *testing.T) {
	onBothDatabases(t, testCalendarProfileRules)
}

func testCalendarProfileRules(t *testing.T, pg bool) {
	f := connectCalendar(t, pg)
	ctx := context.Background()
	settings := "/api/v1/connections/" + f.connID + "/calendar"
	// Every date is relative to today, so the test means the same on any
	// day it runs.
	today := time.Now().UTC().Truncate(24 * time.Hour)
	day := func(n int, clock string) string { return today.AddDate(0, 0, n).Format("2006-01-02") + clock }
	enable := map[string]any{"enabled": true, "calendar_id": f.work, "sync_from": day(-30, ""), "import_as": "note"}

	// The administrator chose no Google calendar integration: it cannot be
	// turned on, and says why.
	for _, choice := range []string{"none", "exchange"} {
		if err := f.s.App.Settings.Put(ctx, "CalendarIntegration", choice, "test"); err != nil {
			t.Fatal(err)
		}
		r := f.api.Do(t, "PUT", settings, enable)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"enabled"`) {
			t.Fatalf("enable with %s: %d %s", choice, r.Status, r.Body)
		}
	}
	if err := f.s.App.Settings.Put(ctx, "CalendarIntegration", "google", "test"); err != nil {
		t.Fatal(err)
	}
	f.api.JSON(t, "PUT", settings, map[string]any{"import_as": "task"}, http.StatusBadRequest, nil)

	// Import mode "notes": events from Google become notes, still synced.
	lunch, err := f.g.InsertEvent(googleUser, f.work, map[string]any{"summary": "Lunch",
		"start": map[string]any{"dateTime": day(3, "T12:00:00+03:00")}, "end": map[string]any{"dateTime": day(3, "T13:00:00+03:00")}})
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		ImportAs   string  `json:"import_as"`
		ResyncFrom *string `json:"resync_from"`
	}
	f.api.JSON(t, "PUT", settings, enable, 200, &st)
	if st.ImportAs != "note" {
		t.Fatalf("import_as %q", st.ImportAs)
	}

	// A dry run lists what the first sync would do on each side and does
	// none of it.
	f.activity(t, map[string]any{"type": "meeting", "title": "Planned here", "show_in_calendar": true,
		"start": day(2, "T07:00:00Z"), "end": day(2, "T08:00:00Z")})
	var pv struct {
		DryRun bool `json:"dry_run"`
		Plan   []struct{ Side, Action, Name string }
		Stats  map[string]map[string]any
	}
	f.api.JSON(t, "POST", "/api/v1/connections/"+f.connID+"/sync?dry_run=true", nil, 200, &pv)
	planned := map[string]bool{}
	for _, e := range pv.Plan {
		planned[e.Side+" "+e.Action+" "+e.Name] = true
	}
	if !pv.DryRun || !planned["local create Lunch"] || !planned["remote create Planned here"] || pv.Stats["event"] == nil {
		t.Errorf("preview %+v", pv)
	}
	if f.activities(t)["Lunch"].ID != "" || f.events(t, f.work)["Planned here"] != nil {
		t.Fatal("the preview changed something")
	}
	f.sync(t)
	if a := f.activities(t)["Lunch"]; a.Type != "note" || !a.ShowInCalendar {
		t.Fatalf("imported as %+v", a)
	}

	// An outage loses a change on each side: Tandem's cursors moved past
	// them. A normal run does not see them; syncing again from today does,
	// without creating anything twice.
	missed := f.activity(t, map[string]any{"type": "meeting", "title": "Missed here", "show_in_calendar": true,
		"start": day(4, "T07:00:00Z"), "end": day(4, "T08:00:00Z")})
	if err := f.g.PatchEvent(googleUser, f.work, lunch, map[string]any{"summary": "Lunch (moved)"}); err != nil {
		t.Fatal(err)
	}
	f.loseChanges(t)
	f.sync(t)
	if f.events(t, f.work)["Missed here"] != nil || f.activities(t)["Lunch (moved)"].ID != "" {
		t.Fatal("the lost changes were not lost; the test proves nothing")
	}
	f.api.JSON(t, "POST", settings+"/resync", map[string]any{"from": "31.12.2026"}, http.StatusBadRequest, nil)
	asked := time.Now()
	f.api.JSON(t, "POST", settings+"/resync", map[string]any{"from": day(0, "")}, http.StatusAccepted, nil)
	f.waitRun(t, asked)
	evs, acts := f.events(t, f.work), f.activities(t)
	if evs["Missed here"] == nil || acts["Lunch (moved)"].ID == "" || acts["Missed here"].ID != missed {
		t.Errorf("after syncing again: events %v, activities %v", keys(evs), len(acts))
	}
	if len(evs) != 3 || len(acts) != 3 {
		t.Errorf("duplicates after syncing again: %d events, %d activities", len(evs), len(acts))
	}
	f.api.JSON(t, "GET", settings, nil, 200, &st)
	if st.ResyncFrom != nil {
		t.Errorf("resync date kept after a successful run: %v", *st.ResyncFrom)
	}

	// Syncing again from a date after every event: the listing is empty,
	// but only because of its window. That is no emptied calendar: the
	// run succeeds and keeps every link and record.
	asked = time.Now()
	f.api.JSON(t, "POST", settings+"/resync", map[string]any{"from": day(30, "")}, http.StatusAccepted, nil)
	f.waitRun(t, asked)
	if evs, acts := f.events(t, f.work), f.activities(t); len(evs) != 3 || len(acts) != 3 || acts["Missed here"].ID != missed {
		t.Errorf("after syncing again from a later date: events %v, activities %v", keys(evs), len(acts))
	}

	// The administrator switches to Exchange: calendar runs stop with the
	// reason, Google is left alone.
	if err := f.s.App.Settings.Put(ctx, "CalendarIntegration", "exchange", "test"); err != nil {
		t.Fatal(err)
	}
	f.activity(t, map[string]any{"type": "meeting", "title": "While off", "show_in_calendar": true, "start": day(5, "T07:00:00Z")})
	var cal calendarState
	f.api.JSON(t, "POST", "/api/v1/connections/"+f.connID+"/sync", nil, http.StatusAccepted, nil)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		f.api.JSON(t, "GET", settings, nil, 200, &cal)
		if cal.LastError != "" {
			break
		}
		time.Sleep(30 * time.Millisecond)
	}
	if !strings.Contains(cal.LastError, "calendar sync with Google is off") {
		t.Errorf("last error %q", cal.LastError)
	}
	if f.events(t, f.work)["While off"] != nil {
		t.Error("exported while the integration is off")
	}
}

// loseChanges moves the calendar binding's cursors past everything that
// happened so far, as if the changes had been lost in an outage.
func (f *calendarFixture) loseChanges(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	st := f.s.App.Store
	bs, err := st.ListBindings(ctx, f.connID)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(bs, func(b *store.Binding) bool { return b.Kind == "event" && b.Collection == f.work })
	if i < 0 {
		t.Fatal("no calendar binding")
	}
	b := bs[i]
	// The newest sync token: read the changes since the binding's cursor.
	hc := oauth2.NewClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: f.g.MintAccessToken(googleUser)}))
	svc, err := calendar.NewService(ctx, option.WithHTTPClient(hc), option.WithEndpoint(f.g.URL+"/calendar/v3/"))
	if err != nil {
		t.Fatal(err)
	}
	token := ""
	err = svc.Events.List(f.work).SyncToken(b.RemoteCursor).ShowDeleted(true).Pages(ctx, func(es *calendar.Events) error {
		if es.NextSyncToken != "" {
			token = es.NextSyncToken
		}
		return nil
	})
	if err != nil || token == "" {
		t.Fatalf("sync token: %q %v", token, err)
	}
	seq, err := st.SeqBefore(ctx, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.SetCursors(ctx, b.ID, token, seq, false) }); err != nil {
		t.Fatal(err)
	}
}
