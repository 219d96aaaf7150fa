// Package jobs owns Tandem's durable job queue and scheduler: periodic and
// on-demand sync runs, mail loading, chat timers and push-channel renewals are
// jobs stored in the application database, retried with backoff, leased to one
// worker at a time and listed in the UI and API.
//
// It is a thin, non-generic layer over River (github.com/riverqueue/river) that
// runs the same code on both databases: riversqlite for SQLite (one host, jobs
// run in the server process) and riverpgxv5 for PostgreSQL (any number of
// `tandem worker` processes on any number of machines share the queue, each
// job locked by one of them). Nothing outside this package needs River's
// driver-generic client type.
//
// # Wiring
//
// Packages describe their work once, at start-up, in a Registry:
//
//	reg := jobs.NewRegistry()
//	jobs.Register(reg, &reconcile.RunWorker{...}, &jobs.KindOptions{MaxAttempts: 10})
//	reg.AddPeriodic(15*time.Minute, reconcile.SweepArgs{}, nil)
//
// then the app migrates River's tables and starts a Queue:
//
//	if err := jobs.Migrate(ctx, backend); err != nil { ... }
//	q, err := jobs.New(ctx, backend, reg, jobs.Options{Workers: 20, Logger: log})
//	if err := q.Start(ctx); err != nil { ... }
//	defer q.Stop(shutdownCtx)
//
// A Queue with Workers 0 only enqueues and inspects jobs (a web process that
// leaves the work to `tandem worker` processes).
//
// # At most one run per key
//
// "At most one sync per binding at a time" is a unique job: enqueue with
// InsertOpts{UniqueOpts: jobs.OnePerKey()} and mark the key fields of the args
// with `river:"unique"`:
//
//	type SyncArgs struct {
//		BindingID int64  `json:"binding_id" river:"unique"`
//		Reason    string `json:"reason"`
//	}
//
// While a job for that binding is available, scheduled, retrying or running,
// another Enqueue for it inserts nothing and reports duplicate=true with the
// existing job's id. This coalesces requests; it is not a lock. A change that
// arrives while the run is already past reading it must be caught by the next
// run: keep a "dirty" mark that the run re-checks at its end, or enqueue a
// follow-up job when the run finishes.
//
// # Retries and leases
//
// A job whose worker returns an error runs again after River's backoff
// (attempt⁴ seconds: 1 s, 16 s, 81 s, …) until it has run MaxAttempts times
// (KindOptions, else River's default of 25), then it is discarded. A job
// whose process died while running it is rescued by the leader after River's
// RescueStuckJobsAfter (one hour, or the job timeout plus one hour) and retried.
// Jobs time out after one minute unless their worker's Timeout method says
// otherwise; long sync runs must set it.
package jobs
