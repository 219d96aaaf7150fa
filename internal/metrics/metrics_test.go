package metrics

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// scrape serves reg through Handler and returns the answer's text.
func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler(reg, slog.New(slog.NewTextHandler(io.Discard, nil))).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, "\n"+l+"\n") {
			t.Errorf("no line %q in:\n%s", l, text)
		}
	}
}

func TestSyncRunAndPush(t *testing.T) {
	m := New()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := m.Register(reg); err == nil {
		t.Error("registered twice on one registry")
	}
	m.SyncRun("google", "contact", 1500*time.Millisecond, reconcile.Stats{Pulled: 5, LocalCreated: 2, Conflicts: 1}, "")
	m.SyncRun("google", "contact", 200*time.Millisecond, reconcile.Stats{RemoteUpdated: 3, Skipped: 1}, ErrorRateLimited)
	m.SyncRun("google", "event", time.Second, reconcile.Stats{Reverted: 4}, "")
	m.PushReceived("google_calendar")
	m.PushReceived("google_calendar")
	m.PushRejected("google_calendar", RejectBadToken)
	wantLines(t, scrape(t, reg),
		`tandem_sync_runs_total{kind="contact",provider="google",result="ok"} 1`,
		`tandem_sync_runs_total{kind="contact",provider="google",result="error"} 1`,
		`tandem_sync_runs_total{kind="event",provider="google",result="ok"} 1`,
		`tandem_sync_errors_total{error="rate_limited",kind="contact",provider="google"} 1`,
		`tandem_sync_run_duration_seconds_count{kind="contact",provider="google"} 2`,
		`tandem_sync_run_duration_seconds_sum{kind="contact",provider="google"} 1.7`,
		`tandem_sync_run_duration_seconds_bucket{kind="contact",provider="google",le="0.3"} 1`,
		`tandem_sync_run_duration_seconds_bucket{kind="contact",provider="google",le="3"} 2`,
		`tandem_sync_items_total{action="pulled",kind="contact",provider="google"} 5`,
		`tandem_sync_items_total{action="local_created",kind="contact",provider="google"} 2`,
		`tandem_sync_items_total{action="remote_updated",kind="contact",provider="google"} 3`,
		`tandem_sync_items_total{action="conflicts",kind="contact",provider="google"} 1`,
		`tandem_sync_items_total{action="skipped",kind="contact",provider="google"} 1`,
		`tandem_sync_items_total{action="local_removed",kind="contact",provider="google"} 0`,
		`tandem_sync_items_total{action="reverted",kind="event",provider="google"} 4`,
		`tandem_push_notifications_total{hook="google_calendar"} 2`,
		`tandem_push_notifications_rejected_total{hook="google_calendar",reason="bad_token"} 1`,
	)
}

// A nil *Metrics records nothing and does not panic.
func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.SyncRun("google", "contact", time.Second, reconcile.Stats{Pulled: 1}, ErrorOther)
	m.PushReceived("google_calendar")
	m.PushRejected("google_calendar", RejectMalformed)
}

type jobCounts struct {
	counts []jobs.Count
	err    error
}

func (j jobCounts) Counts(context.Context) ([]jobs.Count, error) { return j.counts, j.err }

type connCounts []store.ConnectionCount

func (c connCounts) CountConnections(context.Context) ([]store.ConnectionCount, error) { return c, nil }

func TestGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		NewJobsCollector(jobCounts{counts: []jobs.Count{{Kind: "sync.run", State: jobs.StateRunning, N: 2},
			{Kind: "sync.run", State: jobs.StateDiscarded, N: 0}}}),
		NewConnectionsCollector(connCounts{{Provider: "google", Status: store.ConnectionNeedsReauth, N: 3}}),
	)
	wantLines(t, scrape(t, reg),
		`tandem_jobs{kind="sync.run",state="running"} 2`,
		`tandem_jobs{kind="sync.run",state="discarded"} 0`,
		`tandem_connections{provider="google",state="needs_reauth"} 3`,
	)
}

// A gauge whose query fails is left out; the rest is still served.
func TestGaugeFailureKeepsTheRest(t *testing.T) {
	reg := NewRegistry()
	m := New()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	m.PushReceived("google_calendar")
	reg.MustRegister(NewJobsCollector(jobCounts{err: errors.New("database is down")}))
	text := scrape(t, reg)
	wantLines(t, text, `tandem_push_notifications_total{hook="google_calendar"} 1`)
	if strings.Contains(text, "tandem_jobs") || !strings.Contains(text, "go_goroutines") {
		t.Errorf("scrape with a failing gauge:\n%s", text)
	}
}
