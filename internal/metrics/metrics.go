// Package metrics owns Tandem's application metrics for Prometheus: what
// sync runs did, push notifications received and rejected, and the gauges
// of the job queue and of connection health, read from the database at
// scrape time. (HTTP request metrics belong to package web, which serves
// /metrics.)
//
// A process makes one *Metrics and gives it to the packages that record
// (the syncer, the webhooks), which call its small typed methods; the
// process registers it on the registry it serves, with the scrape-time
// collectors of what it wants to report (NewJobsCollector,
// NewConnectionsCollector). Recording packages import this package, never
// package web, so there is no import cycle and no observer interface to
// thread through.
//
// An instance, not package-level collectors: the tests run many Tandem
// servers in one process, and each must report only its own runs. A nil
// *Metrics records nothing, so code used without metrics (a CLI command, a
// unit test) needs no wiring.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

// ErrorKind classifies why a sync run failed; it is a label value, so the
// set is small and fixed.
type ErrorKind string

// The kinds of sync errors.
const (
	ErrorNeedsReauth     ErrorKind = "needs_reauth"     // the provider refused the grant: the user must connect again
	ErrorAuth            ErrorKind = "auth"             // getting an access token failed otherwise
	ErrorRateLimited     ErrorKind = "rate_limited"     // the provider kept saying "too many requests" after the retries
	ErrorCollectionEmpty ErrorKind = "collection_empty" // the guard stopped a run whose listing lost everything
	ErrorRemote          ErrorKind = "remote"           // the provider answered with another error, or could not be reached
	ErrorStore           ErrorKind = "store"            // Tandem's database failed
	ErrorConfig          ErrorKind = "config"           // the integration is not set up (client keys, calendar integration)
	ErrorCancelled       ErrorKind = "cancelled"        // the run was stopped: shutdown, timeout, lease lost
	ErrorOther           ErrorKind = "other"
)

// RejectReason is why a push notification was refused.
type RejectReason string

// The reasons a push notification is refused.
const (
	RejectMalformed      RejectReason = "malformed"       // not a notification: required headers missing or too long
	RejectUnknownChannel RejectReason = "unknown_channel" // no such channel (expired, stopped, or never ours)
	RejectBadToken       RejectReason = "bad_token"       // a known channel with the wrong token
	RejectError          RejectReason = "error"           // it failed on our side; the sender retries
)

// Metrics are the application metrics a process records.
type Metrics struct {
	syncRuns     *prometheus.CounterVec
	syncDuration *prometheus.HistogramVec
	syncItems    *prometheus.CounterVec
	syncErrors   *prometheus.CounterVec
	pushReceived *prometheus.CounterVec
	pushRejected *prometheus.CounterVec
}

// New returns unregistered metrics.
func New() *Metrics {
	return &Metrics{
		syncRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_sync_runs_total",
			Help: "Sync runs of a binding by provider, kind (contact, event; connection: the run failed before any binding) and result (ok, error)."},
			[]string{"provider", "kind", "result"}),
		syncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tandem_sync_run_duration_seconds",
			Help: "Duration of sync runs by provider and kind.",
			// From a run with nothing to do (a fraction of a second) to a
			// first import of a big address book (the job allows 30 min).
			Buckets: []float64{0.1, 0.3, 1, 3, 10, 30, 60, 180, 600, 1800}},
			[]string{"provider", "kind"}),
		syncItems: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_sync_items_total",
			Help: "Items sync runs handled, by provider, kind and action (the fields of a run's counts)."},
			[]string{"provider", "kind", "action"}),
		syncErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_sync_errors_total",
			Help: "Failed sync runs by provider, kind and error kind."},
			[]string{"provider", "kind", "error"}),
		pushReceived: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_push_notifications_total",
			Help: "Push notifications that arrived, by hook (rejected ones included)."},
			[]string{"hook"}),
		pushRejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_push_notifications_rejected_total",
			Help: "Push notifications refused, by hook and reason."},
			[]string{"hook", "reason"}),
	}
}

// Register adds the metrics to reg.
func (m *Metrics) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.syncRuns, m.syncDuration, m.syncItems, m.syncErrors, m.pushReceived, m.pushRejected} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// SyncRun records one run of a binding: fail is "" when it succeeded.
func (m *Metrics) SyncRun(provider, kind string, d time.Duration, st reconcile.Stats, fail ErrorKind) {
	if m == nil {
		return
	}
	result := "ok"
	if fail != "" {
		result = "error"
		m.syncErrors.WithLabelValues(provider, kind, string(fail)).Inc()
	}
	m.syncRuns.WithLabelValues(provider, kind, result).Inc()
	m.syncDuration.WithLabelValues(provider, kind).Observe(d.Seconds())
	for _, a := range []struct {
		action string
		n      int
	}{
		{"pulled", st.Pulled},
		{"local_created", st.LocalCreated},
		{"linked", st.Linked},
		{"local_updated", st.LocalUpdated},
		{"local_removed", st.LocalRemoved},
		{"remote_created", st.RemoteCreated},
		{"remote_updated", st.RemoteUpdated},
		{"remote_removed", st.RemoteRemoved},
		{"conflicts", st.Conflicts},
		{"reverted", st.Reverted},
		{"skipped", st.Skipped},
	} {
		// Zeros too: every action's series exists from the first run.
		m.syncItems.WithLabelValues(provider, kind, a.action).Add(float64(a.n))
	}
}

// PushReceived records a push notification arriving at hook.
func (m *Metrics) PushReceived(hook string) {
	if m == nil {
		return
	}
	m.pushReceived.WithLabelValues(hook).Inc()
}

// PushRejected records a push notification refused at hook.
func (m *Metrics) PushRejected(hook string, why RejectReason) {
	if m == nil {
		return
	}
	m.pushRejected.WithLabelValues(hook, string(why)).Inc()
}
