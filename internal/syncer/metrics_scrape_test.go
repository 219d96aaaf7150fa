package syncer_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	googleprov "github.com/tandem-crm/tandem/internal/provider/google"

	"github.com/riverqueue/river"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// /metrics tells what sync runs against the Google emulator did (runs,
// items by action, durations, errors by kind), the connections' health
// and the job queue as they are in the database, and the push
// notifications received and refused.
func TestSyncMetrics(t *testing.T) {
	onBothDatabases(t, testSyncMetrics)
}

func testSyncMetrics(t *testing.T, pg bool) {
	ctx := context.Background()
	f := connectGoogle(t, tandemtest.Options{Postgres: pg})
	check := func(m tandemtest.Scrape, want float64, name string, labels ...string) {
		t.Helper()
		if got, ok := m.Value(name, labels...); !ok || got != want {
			t.Errorf("%s%v = %v (present: %v), want %v", name, labels, got, ok, want)
		}
	}
	absent := func(m tandemtest.Scrape, name string, labels ...string) {
		t.Helper()
		if got, ok := m.Value(name, labels...); ok {
			t.Errorf("%s%v = %v, want no such series", name, labels, got)
		}
	}

	m := f.s.Metrics(t)
	absent(m, "tandem_sync_runs_total", "provider", "google", "kind", "contact", "result", "ok")
	check(m, 1, "tandem_connections", "provider", "google", "state", "active")
	check(m, 0, "tandem_connections", "provider", "google", "state", "needs_reauth")

	// Two runs: the first exports two contacts, the second imports one
	// added in Google.
	f.contact(t, "Ann Lee", true)
	f.contact(t, "Bob Stone", true)
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/contacts", map[string]any{"enabled": true, "tag_id": f.tagID}, 200, nil)
	first := f.sync(t)
	if _, err := f.g.CreateContact(googleUser, map[string]any{
		"names":       []any{map[string]any{"givenName": "Zoë", "familyName": "Novak"}},
		"memberships": []any{map[string]any{"contactGroupMembership": map[string]any{"contactGroupResourceName": first.Collection}}},
	}); err != nil {
		t.Fatal(err)
	}
	second := f.sync(t)
	if first.LastError != "" || second.LastError != "" {
		t.Fatalf("runs failed: %q %q", first.LastError, second.LastError)
	}

	m = f.s.Metrics(t)
	run := []string{"provider", "google", "kind", "contact"}
	check(m, 2, "tandem_sync_runs_total", append(run, "result", "ok")...)
	absent(m, "tandem_sync_runs_total", append(run, "result", "error")...)
	check(m, 2, "tandem_sync_run_duration_seconds", run...)
	check(m, 2, "tandem_sync_items_total", append(run, "action", "remote_created")...)
	check(m, 1, "tandem_sync_items_total", append(run, "action", "local_created")...)
	// Every action is the sum of what the two runs reported.
	for _, action := range []string{"pulled", "local_created", "local_updated", "local_removed", "remote_created",
		"remote_updated", "remote_removed", "conflicts", "reverted", "skipped"} {
		a, _ := first.LastStats[action].(float64)
		b, _ := second.LastStats[action].(float64)
		check(m, a+b, "tandem_sync_items_total", append(run, "action", action)...)
	}
	check(m, 1, "tandem_connections", "provider", "google", "state", "active")

	// Everything gone from the group in Google, and a full listing: the
	// guard stops the run, and the connection turns degraded.
	for rn := range f.groupMembers(t, first.Collection) {
		if err := f.g.DeleteContact(googleUser, rn); err != nil {
			t.Fatal(err)
		}
	}
	f.g.ExpireSyncTokens(googleUser)
	if st := f.sync(t); !strings.Contains(st.LastError, "remote collection is empty") {
		t.Fatalf("run over an emptied group: %+v", st)
	}
	m = f.s.Metrics(t)
	check(m, 2, "tandem_sync_runs_total", append(run, "result", "ok")...)
	check(m, 1, "tandem_sync_runs_total", append(run, "result", "error")...)
	check(m, 1, "tandem_sync_errors_total", append(run, "error", "collection_empty")...)
	check(m, 3, "tandem_sync_run_duration_seconds", run...)
	check(m, 0, "tandem_connections", "provider", "google", "state", "active")
	check(m, 1, "tandem_connections", "provider", "google", "state", "degraded")

	// A connection waiting for a new sign-in fails before any binding.
	if err := f.s.App.Store.UpdateConnectionStatus(ctx, f.connID, store.ConnectionNeedsReauth, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.App.Sync.RunConnection(ctx, f.connID); !errors.Is(err, oauth.ErrNeedsReauth) {
		t.Fatalf("run of a needs_reauth connection: %v", err)
	}
	// A run waiting in the queue.
	if _, _, err := f.s.App.Queue.Enqueue(ctx, syncer.RunArgs{ConnectionID: "later"},
		&river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	m = f.s.Metrics(t)
	conn := []string{"provider", "google", "kind", "connection"}
	check(m, 1, "tandem_sync_runs_total", append(conn, "result", "error")...)
	check(m, 1, "tandem_sync_errors_total", append(conn, "error", "needs_reauth")...)
	check(m, 1, "tandem_connections", "provider", "google", "state", "needs_reauth")
	check(m, 0, "tandem_connections", "provider", "google", "state", "degraded")
	check(m, 1, "tandem_jobs", "kind", "sync.run", "state", "scheduled")
	check(m, 0, "tandem_jobs", "kind", "sync.run", "state", "discarded")

	// Push notifications: one accepted, three refused, each for its reason.
	bs, err := f.s.App.Store.ListBindings(ctx, f.connID)
	if err != nil || len(bs) == 0 {
		t.Fatalf("bindings %v %v", bs, err)
	}
	if err := f.s.App.Store.SaveSubscription(ctx, &store.Subscription{ID: "chan-1", BindingID: bs[0].ID, SecretHash: access.HashToken("right"),
		ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []struct {
		channel, token string
		want           int
	}{
		{"chan-1", "right", http.StatusOK},
		{"chan-1", "wrong", http.StatusNotFound},
		{"chan-2", "right", http.StatusNotFound},
		{"", "", http.StatusBadRequest},
	} {
		req, _ := http.NewRequest("POST", f.s.URL+googleprov.HookPath, nil)
		if n.channel != "" {
			req.Header.Set("X-Goog-Channel-ID", n.channel)
			req.Header.Set("X-Goog-Channel-Token", n.token)
			req.Header.Set("X-Goog-Resource-State", "sync")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != n.want {
			t.Errorf("notification %+v: %d", n, resp.StatusCode)
		}
	}
	m = f.s.Metrics(t)
	hook := []string{"hook", "google_calendar"}
	check(m, 4, "tandem_push_notifications_total", hook...)
	check(m, 1, "tandem_push_notifications_rejected_total", append(hook, "reason", "bad_token")...)
	check(m, 1, "tandem_push_notifications_rejected_total", append(hook, "reason", "unknown_channel")...)
	check(m, 1, "tandem_push_notifications_rejected_total", append(hook, "reason", "malformed")...)
	absent(m, "tandem_push_notifications_rejected_total", append(hook, "reason", "error")...)
}
