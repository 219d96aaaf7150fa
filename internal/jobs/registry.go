package jobs

import (
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// Registry collects the job kinds and periodic jobs of every package, so a new
// kind of work plugs in without touching this package. Fill it at start-up,
// before New: River fixes its workers when the client is built, so New
// freezes the registry and a later Register or AddPeriodic panics.
//
// Registration mistakes (a kind registered twice, a bad interval) are
// programming errors and panic, like http.ServeMux.Handle.
type Registry struct {
	mu       sync.Mutex
	frozen   bool
	workers  *river.Workers
	kinds    map[string]KindOptions
	periodic []periodicJob
}

// KindOptions tunes one job kind.
type KindOptions struct {
	// MaxAttempts is how many times a job of this kind runs before it is
	// discarded. Zero means the default, 25. An InsertOpts.MaxAttempts given
	// to Enqueue overrides it for that job.
	MaxAttempts int
}

type periodicJob struct {
	interval time.Duration
	args     river.JobArgs
	opts     *river.InsertOpts
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{workers: river.NewWorkers(), kinds: make(map[string]KindOptions)}
}

// Register adds the worker for jobs of kind T. opts may be nil.
//
// A worker is any river.Worker: a struct embedding river.WorkerDefaults[T]
// with a Work method, or river.WorkFunc(f). Its optional NextRetry and
// Timeout methods override the backoff and the one-minute job timeout for its
// kind.
func Register[T river.JobArgs](r *Registry, w river.Worker[T], opts *KindOptions) {
	var args T
	kind := args.Kind()
	var ko KindOptions
	if opts != nil {
		ko = *opts
	}
	if ko.MaxAttempts < 0 {
		panic(fmt.Sprintf("jobs: register %s: negative MaxAttempts %d", kind, ko.MaxAttempts))
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.mustNotBeFrozen("register " + kind)
	if err := river.AddWorkerSafely(r.workers, w); err != nil {
		panic(fmt.Sprintf("jobs: register %s: %v", kind, err))
	}
	r.kinds[kind] = ko
}

// AddPeriodic makes the queue's leader enqueue args every interval, with opts
// (which may be nil). Only one process in a PostgreSQL cluster is the leader,
// so each tick enqueues one job however many workers run. Give opts a
// UniqueOpts (see OnePerKey) for work that may also be enqueued on demand, so
// a tick coalesces with a run that is already waiting.
//
// The schedule restarts when leadership moves (a restart, a failover), so a
// tick can come up to one interval late; it is not a wall-clock schedule.
func (r *Registry) AddPeriodic(interval time.Duration, args river.JobArgs, opts *river.InsertOpts) {
	if args == nil {
		panic("jobs: AddPeriodic with nil args")
	}
	if interval <= 0 {
		panic(fmt.Sprintf("jobs: AddPeriodic %s: interval %s is not positive", args.Kind(), interval))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mustNotBeFrozen("add periodic " + args.Kind())
	r.periodic = append(r.periodic, periodicJob{interval: interval, args: args, opts: opts})
}

func (r *Registry) mustNotBeFrozen(what string) {
	if r.frozen {
		panic("jobs: " + what + ": registry already used by jobs.New; register everything before")
	}
}

// registration is what New reads from a frozen registry.
type registration struct {
	workers  *river.Workers
	kinds    map[string]KindOptions
	periodic []periodicJob
}

// freeze stops further registration and returns the registry's content. A
// registry may back several queues (an insert-only one and a working one).
func (r *Registry) freeze() registration {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frozen = true
	return registration{
		workers:  r.workers,
		kinds:    maps.Clone(r.kinds),
		periodic: append([]periodicJob(nil), r.periodic...),
	}
}
