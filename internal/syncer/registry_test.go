package syncer_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/provider/providertest"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// fakeFixture is a Tandem with a second provider registered next to
// Google, and a connection of the admin to it.
type fakeFixture struct {
	s      *tandemtest.Server
	fake   *providertest.Fake
	connID string
}

func startFake(t *testing.T, pg bool) *fakeFixture {
	t.Helper()
	fake := providertest.New("fakedav",
		provider.Collection{ID: "cal-work", Name: "Work desk", Primary: true},
		provider.Collection{ID: "cal-home", Name: "Home desk"})
	s := tandemtest.Start(t, tandemtest.Options{Postgres: pg, Providers: []provider.Provider{fake}})
	conn := &store.Connection{UserID: s.Admin.UserID, Provider: fake.Name(), AccountEmail: tandemtest.AdminEmail}
	if err := s.App.Store.CreateConnection(context.Background(), conn, ""); err != nil {
		t.Fatal(err)
	}
	return &fakeFixture{s: s, fake: fake, connID: conn.ID}
}

func (f *fakeFixture) bindings(t *testing.T) int {
	t.Helper()
	bs, err := f.s.App.Store.ListBindings(context.Background(), f.connID)
	if err != nil {
		t.Fatal(err)
	}
	return len(bs)
}

// A provider is a package plus one registration: a fake second provider,
// registered in the test and named nowhere in syncer or the web layer,
// gets the API's binding routes, the connection page's card of the kind
// it supports (and no other), and runs.
func TestSecondProvider(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) { testSecondProvider(t, pg) })
	}
}

func testSecondProvider(t *testing.T, pg bool) {
	ctx := context.Background()
	f := startFake(t, pg)
	api, conn := f.s.Admin, "/api/v1/connections/"+f.connID

	var got struct {
		Kind           string         `json:"kind"`
		Provider       string         `json:"provider"`
		CollectionMode string         `json:"collection_mode"`
		Saved          bool           `json:"saved"`
		Enabled        bool           `json:"enabled"`
		Settings       map[string]any `json:"settings"`
		Schema         []struct {
			Name string `json:"name"`
		} `json:"schema"`
		Collection string `json:"collection"`
	}
	api.JSON(t, "GET", conn+"/sync/event", nil, http.StatusOK, &got)
	if got.Kind != "event" || got.Provider != "fakedav" || got.CollectionMode != "picked" || got.Saved || got.Enabled ||
		got.Settings["period_minutes"] != float64(15) || len(got.Schema) == 0 {
		t.Fatalf("GET sync/event %+v", got)
	}
	api.JSON(t, "GET", conn+"/sync/contact", nil, http.StatusNotFound, nil) // the fake syncs no contacts
	api.JSON(t, "GET", conn+"/contacts", nil, http.StatusNotFound, nil)
	api.JSON(t, "GET", conn+"/sync/mail", nil, http.StatusNotFound, nil) // no such kind
	var cals struct {
		Items []struct {
			ID      string `json:"id"`
			Summary string `json:"summary"`
		} `json:"items"`
	}
	api.JSON(t, "GET", conn+"/sync/event/collections", nil, http.StatusOK, &cals)
	if len(cals.Items) != 2 || cals.Items[0].ID != "cal-work" || cals.Items[0].Summary != "Work desk" {
		t.Fatalf("collections %+v", cals)
	}
	api.JSON(t, "GET", conn+"/calendars", nil, http.StatusOK, &cals) // the older route too
	if len(cals.Items) != 2 {
		t.Fatalf("calendars %+v", cals)
	}
	if n := f.bindings(t); n != 0 {
		t.Fatalf("%d bindings after reading", n)
	}

	// The UI: the event card, labelled with the provider's name and
	// listing its calendars; no contact card.
	page := f.s.Browser(t, tandemtest.AdminEmail, tandemtest.AdminPassword).Get(t, "/profile/accounts/"+f.connID)
	for _, want := range []string{`data-sync-card="event"`, "Fake DAV calendar", `value="cal-work"`, "Work desk", "Home desk"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("connection page lacks %q", want)
		}
	}
	if strings.Contains(page.Body, `data-sync-card="contact"`) {
		t.Error("connection page shows a contact card for a provider without contacts")
	}

	// Settings through the generic route; an unknown field is refused.
	from := time.Now().AddDate(0, 0, -7).Format("2006-01-02")
	api.JSON(t, "PUT", conn+"/sync/event", map[string]any{"settings": map[string]any{"tag_id": "x"}}, http.StatusBadRequest, nil)
	api.JSON(t, "PUT", conn+"/sync/event", map[string]any{"enabled": true,
		"settings": map[string]any{"calendar_id": "cal-work", "sync_from": from}}, http.StatusOK, &got)
	if !got.Saved || !got.Enabled || got.Collection != "cal-work" || got.Settings["sync_from"] != from {
		t.Fatalf("after PUT %+v", got)
	}

	// A run exports an activity shown in the calendar to the fake's
	// calendar, and an event there comes here.
	start := time.Now().UTC().Truncate(time.Hour).Add(48 * time.Hour)
	api.JSON(t, "POST", "/api/v1/activities", map[string]any{"type": "meeting", "title": "Exported meeting",
		"show_in_calendar": true, "start": start.Format(time.RFC3339), "end": start.Add(time.Hour).Format(time.RFC3339)},
		http.StatusCreated, nil)
	res, err := f.s.App.Sync.RunConnection(ctx, f.connID)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if st := res.Stats["event"]; st.RemoteCreated != 1 {
		t.Errorf("stats %+v", st)
	}
	items := f.fake.Calendar("cal-work").Items()
	if len(items) != 1 || items[0].Fields["title"] != "Exported meeting" {
		t.Errorf("fake calendar holds %+v", items)
	}
}

// Reads never write: looking at a connection's sync settings — in the API,
// old routes and generic ones, and on the connection's page — creates no
// binding; only saving does.
func TestReadsNeverWrite(t *testing.T) {
	ctx := context.Background()
	s := tandemtest.Start(t, tandemtest.Options{})
	// A Google connection without credentials: reading its settings must
	// need neither Google nor a binding.
	conn := &store.Connection{UserID: s.Admin.UserID, Provider: "google", AccountEmail: "reader@gmail.com"}
	if err := s.App.Store.CreateConnection(ctx, conn, ""); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		bs, err := s.App.Store.ListBindings(ctx, conn.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(bs)
	}
	base := "/api/v1/connections/" + conn.ID
	for _, path := range []string{base + "/contacts", base + "/calendar", base + "/sync/contact", base + "/sync/event"} {
		s.Admin.JSON(t, "GET", path, nil, http.StatusOK, nil)
		if n := count(); n != 0 {
			t.Fatalf("GET %s created %d bindings", path, n)
		}
	}
	b := s.Browser(t, tandemtest.AdminEmail, tandemtest.AdminPassword)
	page := b.Get(t, "/profile/accounts/"+conn.ID)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `data-sync-card="contact"`) {
		t.Fatalf("connection page %d without the contact card", page.Status)
	}
	// The provider syncs no tasks: no task card, and the kind is 404.
	if strings.Contains(page.Body, `data-sync-card="task"`) {
		t.Error("the connection page of a provider without tasks shows a task card")
	}
	s.Admin.JSON(t, "GET", base+"/sync/task", nil, http.StatusNotFound, nil)
	s.Admin.JSON(t, "PUT", base+"/sync/task", map[string]any{"settings": map[string]any{"list_id": "x"}}, http.StatusNotFound, nil)
	if n := count(); n != 0 {
		t.Fatalf("the connection page created %d bindings", n)
	}
	// Saving creates the binding.
	s.Admin.JSON(t, "PUT", base+"/contacts", map[string]any{"auto": true}, http.StatusOK, nil)
	if n := count(); n != 1 {
		t.Fatalf("%d bindings after saving", n)
	}
}

// Subscriptions are generic: the fake provider's push subscriptions live in
// the same table as Google's channels, are renewed before they expire (the
// new one opened before the old one is stopped), verified at the
// provider's own hook, and stopped when push goes off.
func TestSubscriptionRenewal(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) { testSubscriptionRenewal(t, pg) })
	}
}

func testSubscriptionRenewal(t *testing.T, pg bool) {
	ctx := context.Background()
	f := startFake(t, pg)
	st := f.s.App.Store
	f.s.Admin.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/event", map[string]any{"enabled": true,
		"settings": map[string]any{"calendar_id": "cal-home"}}, http.StatusOK, nil)
	bs, err := st.ListBindings(ctx, f.connID)
	if err != nil || len(bs) != 1 {
		t.Fatalf("bindings %v %v", bs, err)
	}
	stored := func() []*store.Subscription {
		t.Helper()
		subs, err := st.Subscriptions(ctx, bs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		return subs
	}

	// Push off: nothing is opened.
	if err := f.s.App.Sync.EnsureSubscriptions(ctx, f.connID); err != nil {
		t.Fatal(err)
	}
	if n := len(stored()); n != 0 || len(f.fake.Log()) != 0 {
		t.Fatalf("push off: %d stored, log %q", n, f.fake.Log())
	}

	// Push on: one subscription, at the provider's hook under the address.
	f.fake.SetPush(provider.PushState{On: true, Address: "https://crm.example.com"})
	if err := f.s.App.Sync.RenewSubscriptions(ctx); err != nil {
		t.Fatal(err)
	}
	subs := stored()
	remote := f.fake.Subscriptions()
	first, ok := remote[subs[0].ID]
	if len(subs) != 1 || len(remote) != 1 || !ok || first.Callback != "https://crm.example.com"+f.fake.HookPath() ||
		first.Collection != "cal-home" || subs[0].ResourceID != "res-"+subs[0].ID || subs[0].Kind != store.SubscriptionWebhook {
		t.Fatalf("stored %+v, remote %+v", subs, remote)
	}
	if left := time.Until(subs[0].ExpiresAt); left < providertest.TTL-time.Minute || left > providertest.TTL {
		t.Errorf("expires in %v, want %v", left, providertest.TTL)
	}
	// Not due: nothing happens.
	if err := f.s.App.Sync.EnsureSubscriptions(ctx, f.connID); err != nil {
		t.Fatal(err)
	}
	if n := len(f.fake.Log()); n != 1 {
		t.Fatalf("renewed before due: %q", f.fake.Log())
	}

	// The hook: the right secret is accepted (a ping queues nothing), a
	// wrong one or another provider's hook is refused.
	post := func(path, id, secret string, ping bool) int {
		t.Helper()
		req, _ := http.NewRequest("POST", f.s.URL+path, nil)
		req.Header.Set("X-Fake-Subscription", id)
		req.Header.Set("X-Fake-Secret", secret)
		if ping {
			req.Header.Set("X-Fake-Ping", "1")
		}
		req.Header.Set("X-Goog-Channel-ID", id)
		req.Header.Set("X-Goog-Channel-Token", secret)
		req.Header.Set("X-Goog-Resource-State", "exists")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(f.fake.HookPath(), first.ID, first.Secret, true); got != http.StatusOK {
		t.Errorf("ping: %d", got)
	}
	if got := post(f.fake.HookPath(), first.ID, "wrong", false); got != http.StatusNotFound {
		t.Errorf("wrong secret: %d", got)
	}
	if got := post("/hooks/google/calendar", first.ID, first.Secret, false); got != http.StatusNotFound {
		t.Errorf("another provider's hook: %d", got)
	}
	if got := post(f.fake.HookPath(), "", "", false); got != http.StatusBadRequest {
		t.Errorf("no subscription: %d", got)
	}

	// A day before expiry: a new subscription first, then the old one
	// stopped and forgotten.
	old := subs[0]
	if err := st.DeleteSubscription(ctx, old.ID); err != nil {
		t.Fatal(err)
	}
	old.ExpiresAt = time.Now().Add(23 * time.Hour)
	if err := st.SaveSubscription(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := f.s.App.Sync.RenewSubscriptions(ctx); err != nil {
		t.Fatal(err)
	}
	subs = stored()
	log := f.fake.Log()
	if len(subs) != 1 || subs[0].ID == old.ID || len(log) != 3 ||
		!slices.Equal(log[1:], []string{"subscribe " + subs[0].ID, "unsubscribe " + old.ID}) {
		t.Fatalf("after renewal: stored %+v, log %q", subs, log)
	}
	if _, err := st.GetSubscription(ctx, old.ID); err != store.ErrNotFound {
		t.Errorf("old subscription kept: %v", err)
	}

	// Push off: every subscription is stopped.
	f.fake.SetPush(provider.PushState{Off: provider.PushNotHTTPS, Address: "http://crm.example.com"})
	if err := f.s.App.Sync.RenewSubscriptions(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(stored()); n != 0 || len(f.fake.Subscriptions()) != 0 {
		t.Fatalf("push off: %d stored, remote %+v", n, f.fake.Subscriptions())
	}
}
