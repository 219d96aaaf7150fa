package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/store"
)

// scrapeTimeout bounds a collector's database query: a slow database must
// not hold the scrape (Prometheus's own timeout is 10 s by default).
const scrapeTimeout = 5 * time.Second

// JobCounter counts the job queue's jobs (jobs.Queue).
type JobCounter interface {
	Counts(ctx context.Context) ([]jobs.Count, error)
}

// ConnectionCounter counts connections by status (store.Store).
type ConnectionCounter interface {
	CountConnections(ctx context.Context) ([]store.ConnectionCount, error)
}

// NewJobsCollector reports tandem_jobs{kind,state}, read from the queue at
// each scrape. The queue is shared by every process, so one process (the
// server) should report it.
func NewJobsCollector(q JobCounter) prometheus.Collector {
	return &jobsCollector{q: q, desc: prometheus.NewDesc("tandem_jobs",
		"Jobs in the queue by kind and state: waiting (pending, scheduled, available), running, "+
			"and failed (retryable: will run again; discarded: gave up, kept a week).",
		[]string{"kind", "state"}, nil)}
}

type jobsCollector struct {
	q    JobCounter
	desc *prometheus.Desc
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	counts, err := c.q.Counts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n.N), n.Kind, string(n.State))
	}
}

// NewConnectionsCollector reports tandem_connections{provider,state},
// read from the database at each scrape; like the jobs, one process
// should report it.
func NewConnectionsCollector(s ConnectionCounter) prometheus.Collector {
	return &connectionsCollector{s: s, desc: prometheus.NewDesc("tandem_connections",
		"Connections to external accounts by provider and health: active, needs_reauth (the user must connect again), "+
			"degraded (retrying after errors), failed.",
		[]string{"provider", "state"}, nil)}
}

type connectionsCollector struct {
	s    ConnectionCounter
	desc *prometheus.Desc
}

func (c *connectionsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *connectionsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	counts, err := c.s.CountConnections(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n.N), n.Provider, string(n.Status))
	}
}
