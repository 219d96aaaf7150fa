package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
)

const (
	// DefaultFetchCooldown is the least time between two fetches of a
	// worker process. River's default, 100 ms, caps a process at Workers jobs
	// per 100 ms (80 jobs/s with 8 workers); 10 ms lets a backlog drain at
	// thousands of jobs a second without spinning when the queue is idle.
	DefaultFetchCooldown = 10 * time.Millisecond

	// DefaultFetchPollInterval is how often a worker looks for jobs when no
	// notification woke it. Inserts notify (LISTEN/NOTIFY on PostgreSQL, an
	// outbox table River polls every 50 ms on SQLite); polling catches the
	// rest, such as a retry whose short backoff just ended.
	DefaultFetchPollInterval = 500 * time.Millisecond

	// stopCancelGrace bounds the wait for jobs to return after Stop ran out
	// of time and cancelled them.
	stopCancelGrace = 10 * time.Second
)

// Options configures a Queue.
type Options struct {
	// Workers is how many jobs this process runs at once. Zero makes an
	// insert-only queue: it enqueues and inspects jobs, runs none, runs no
	// periodic jobs, and needs no Start.
	Workers int

	// Logger receives River's logs. Nil means slog.Default().
	Logger *slog.Logger

	// RetryPolicy decides when a failed job runs again. Nil means River's
	// exponential backoff (attempt⁴ seconds). A worker's NextRetry method
	// overrides it for its kind.
	RetryPolicy river.ClientRetryPolicy

	// FetchCooldown and FetchPollInterval override DefaultFetchCooldown and
	// DefaultFetchPollInterval when non-zero.
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
}

// Queue enqueues, runs and inspects jobs. Its methods are safe for concurrent
// use.
type Queue struct {
	client  riverClient
	backend Backend
	kinds   map[string]KindOptions
	workers int
	// periodicKinds are the kinds the registry enqueues on a period.
	periodicKinds []string

	mu        sync.Mutex
	cancelRun func() // releases the context Start gave River
}

// riverClient is the part of river.Client[TTx] that does not depend on the
// driver's transaction type; *river.Client[*sql.Tx] and
// *river.Client[pgx.Tx] both satisfy it.
type riverClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// New builds a queue on b with the job kinds of reg, which it freezes. River's
// tables must exist (see Migrate); New checks with one query under ctx.
func New(ctx context.Context, b Backend, reg *Registry, opts Options) (*Queue, error) {
	if err := b.check(); err != nil {
		return nil, fmt.Errorf("jobs: new queue: %w", err)
	}
	if reg == nil {
		return nil, errors.New("jobs: new queue: nil registry")
	}
	if opts.Workers < 0 {
		return nil, fmt.Errorf("jobs: new queue: negative Workers %d", opts.Workers)
	}
	regd := reg.freeze()
	q := &Queue{backend: b, kinds: regd.kinds, workers: opts.Workers}
	for _, p := range regd.periodic {
		if k := p.args.Kind(); !slices.Contains(q.periodicKinds, k) {
			q.periodicKinds = append(q.periodicKinds, k)
		}
	}

	cfg := &river.Config{
		Logger:            cmp.Or(opts.Logger, slog.Default()),
		Workers:           regd.workers,
		RetryPolicy:       opts.RetryPolicy,
		FetchCooldown:     cmp.Or(opts.FetchCooldown, DefaultFetchCooldown),
		FetchPollInterval: cmp.Or(opts.FetchPollInterval, DefaultFetchPollInterval),
	}
	if opts.Workers > 0 {
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}}
		for _, p := range regd.periodic {
			kind := p.args.Kind()
			if _, ok := regd.kinds[kind]; !ok {
				return nil, fmt.Errorf("jobs: new queue: periodic job of kind %s has no registered worker", kind)
			}
			args, insertOpts := p.args, q.insertOpts(kind, p.opts)
			cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(
				river.PeriodicInterval(p.interval),
				func() (river.JobArgs, *river.InsertOpts) { return args, insertOpts },
				nil,
			))
		}
	}

	var err error
	if b.sqlite != nil {
		q.client, err = newClient(riversqlite.New(b.sqlite), cfg)
	} else {
		q.client, err = newClient(riverpgxv5.New(b.pg), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: new queue: %w", err)
	}

	// River finds missing tables only when it first touches them, deep in a
	// background loop; one cheap query here turns that into a clear error.
	if _, err := q.client.JobList(ctx, river.NewJobListParams().First(1)); err != nil {
		return nil, fmt.Errorf("jobs: new queue: read jobs (has jobs.Migrate run?): %w", err)
	}
	return q, nil
}

func newClient[TTx any](driver riverdriver.Driver[TTx], cfg *river.Config) (riverClient, error) {
	c, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, err // not c: a nil *Client in the interface would not be nil
	}
	return c, nil
}

// Start starts working jobs and, on the leader, enqueuing periodic jobs. ctx
// spans the queue's life, not just the start: when it ends (cancelled or
// timed out) the queue stops as with Stop. Start on an insert-only queue does
// nothing.
func (q *Queue) Start(ctx context.Context) error {
	if q.workers == 0 {
		return nil
	}
	// River v0.47.0 treats only context.Canceled as "stop": a Start context
	// that times out leaves its notifier retrying a connection in a tight
	// loop forever, and Stop never returns. So River gets a context that is
	// cancelled, not timed out, when ctx ends either way.
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopAfter := context.AfterFunc(ctx, cancel)
	release := func() { stopAfter(); cancel() }
	if err := q.client.Start(runCtx); err != nil {
		release()
		return fmt.Errorf("jobs: start: %w", err)
	}
	q.mu.Lock()
	q.cancelRun = release
	q.mu.Unlock()
	return nil
}

// Stop stops fetching jobs and waits for running ones to finish. If ctx ends
// first, it cancels the running jobs' contexts, waits a little more for them to
// return, and reports ctx's error. Jobs that were cut short run again later.
func (q *Queue) Stop(ctx context.Context) error {
	if q.workers == 0 {
		return nil
	}
	defer func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.cancelRun != nil {
			q.cancelRun()
			q.cancelRun = nil
		}
	}()
	err := q.client.Stop(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		hardCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopCancelGrace)
		defer cancel()
		if cancelErr := q.client.StopAndCancel(hardCtx); cancelErr != nil {
			err = errors.Join(err, fmt.Errorf("cancel running jobs: %w", cancelErr))
		}
	}
	return fmt.Errorf("jobs: stop: %w", err)
}

// Enqueue inserts a job. opts may be nil; the kind's KindOptions fill in what
// opts leave zero. With opts.UniqueOpts set and a matching job already
// present, nothing is inserted: duplicate is true and id is that job's.
func (q *Queue) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (id int64, duplicate bool, err error) {
	if args == nil {
		return 0, false, errors.New("jobs: enqueue: nil args")
	}
	kind := args.Kind()
	res, err := q.client.Insert(ctx, args, q.insertOpts(kind, opts))
	if err != nil {
		return 0, false, fmt.Errorf("jobs: enqueue %s: %w", kind, err)
	}
	return res.Job.ID, res.UniqueSkippedAsDuplicate, nil
}

// insertOpts applies the kind's defaults to a copy of opts; the caller's
// value is never changed.
func (q *Queue) insertOpts(kind string, opts *river.InsertOpts) *river.InsertOpts {
	ko := q.kinds[kind]
	if ko.MaxAttempts == 0 {
		return opts
	}
	var o river.InsertOpts
	if opts != nil {
		o = *opts
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = ko.MaxAttempts
	}
	return &o
}

// OnePerKey returns the UniqueOpts for "at most one job per key at a time":
// the key is the job's kind plus its args fields tagged `river:"unique"` (all
// args if none is tagged). While a job with the key is pending, available,
// scheduled, retrying or running, Enqueue of another one reports a duplicate;
// once it has completed, been cancelled or been discarded, a new one can be
// enqueued. See the package documentation for the caveat.
func OnePerKey() river.UniqueOpts {
	return river.UniqueOpts{
		ByArgs: true,
		// River's default also includes completed, which would block a new
		// run until the job cleaner deletes the old row (a day later).
		ByState: []rivertype.JobState{
			rivertype.JobStateAvailable,
			rivertype.JobStatePending,
			rivertype.JobStateRetryable,
			rivertype.JobStateRunning,
			rivertype.JobStateScheduled,
		},
	}
}
