// Package syncer owns running the sync of users' connections: the job
// kinds that run a connection's bindings (on demand and on each binding's
// period), opening the connection's provider (package provider's registry)
// and building each binding's connector through it, the typed settings of
// each binding kind and their schema, the one sync service interface the
// API and the UI use (Sync), push subscriptions, and the connection's
// health after a run. It names no provider. The engine itself is package
// reconcile; the CRM side of a binding is package crmsync.
package syncer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crmsync"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/metrics"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
)

// Enqueuer is the part of the job queue the service uses.
type Enqueuer interface {
	Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (int64, bool, error)
	Get(ctx context.Context, id int64) (jobs.Job, error)
}

// Service runs connections.
type Service struct {
	Store     *store.Store
	Settings  *settings.Service
	Providers *provider.Registry // the providers connections may be of
	Queue     Enqueuer
	Log       *slog.Logger
	Metrics   *metrics.Metrics // what runs did, for /metrics; nil records nothing

	// LeaseTTL is how long a run's lease on its connection lasts unless
	// renewed (0: DefaultLeaseTTL); LeaseRenew is how often a running run
	// renews it (0: LeaseTTL/3). Set them before the service runs anything.
	LeaseTTL, LeaseRenew time.Duration
	// ProgressEvery is how often at most a run writes its running counts
	// to its binding (0: DefaultProgressEvery).
	ProgressEvery time.Duration

	engine     reconcile.Engine
	mu         sync.Mutex
	locks      map[string]*sync.Mutex
	onProgress func(bindingID string, st reconcile.Stats)
	running    map[string]*progressWriter // by binding id
}

// New returns a Service running the connections of the providers in reg.
func New(st *store.Store, set *settings.Service, reg *provider.Registry, log *slog.Logger) *Service {
	s := &Service{Store: st, Settings: set, Providers: reg, Log: log, engine: reconcile.Engine{State: st, Log: log},
		locks: map[string]*sync.Mutex{}, running: map[string]*progressWriter{}}
	s.engine.Progress = s.progress
	return s
}

// lock serializes runs of one connection in this process; across processes
// the job queue's one-job-per-key keeps runs apart.
func (s *Service) lock(id string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.locks[id]
	if l == nil {
		l = &sync.Mutex{}
		s.locks[id] = l
	}
	return l
}

// Result is what a connection's run did, per binding kind.
type Result struct {
	Stats map[string]reconcile.Stats
	Err   error
}

// ErrBusy means another process is running the connection.
var ErrBusy = errors.New("sync: the connection is being synced elsewhere")

// ErrLeaseLost ends a run whose lease on its connection was taken over
// (it could not be renewed in time, and another process may be running the
// connection now).
var ErrLeaseLost = errors.New("sync: the run lost its lease on the connection")

// DefaultLeaseTTL is how long a run's lease lasts without renewal: what a
// killed process leaves the connection blocked for. A run renews its lease
// every third of it for as long as it goes on; the job's timeout bounds
// the run.
const DefaultLeaseTTL = 2 * time.Minute

func (s *Service) leaseTimes() (ttl, every time.Duration) {
	ttl, every = s.LeaseTTL, s.LeaseRenew
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	if every <= 0 {
		every = ttl / 3
	}
	return ttl, every
}

// RunConnection runs every enabled binding of a connection now. It holds
// the connection's run lease meanwhile (ErrBusy when another process holds
// it), renewing it as the run goes on; should a renewal find the lease
// lost, the run is cancelled and returns ErrLeaseLost.
func (s *Service) RunConnection(ctx context.Context, connID string) (Result, error) {
	l := s.lock(connID)
	l.Lock()
	defer l.Unlock()
	res := Result{Stats: map[string]reconcile.Stats{}}
	holder := uuid.NewString()
	ttl, every := s.leaseTimes()
	ok, err := s.Store.TryRunLease(ctx, connID, holder, ttl)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, ErrBusy
	}
	ctx, cancel := context.WithCancelCause(ctx)
	stopRenewing := s.renewLease(ctx, cancel, connID, holder, ttl, every)
	defer func() {
		stopRenewing()
		cancel(nil)
		s.Store.ReleaseRunLease(context.WithoutCancel(ctx), connID, holder)
	}()
	res, err = s.runConnection(ctx, connID)
	if cause := context.Cause(ctx); errors.Is(cause, ErrLeaseLost) {
		return res, cause
	}
	return res, err
}

// renewLease renews holder's lease for ttl at each period of every until
// the returned stop is called (stop waits for the renewer to end). When a renewal finds the
// lease held by someone else, or renewals keep failing until the lease is
// about to run out, it cancels the run with ErrLeaseLost.
func (s *Service) renewLease(ctx context.Context, cancel context.CancelCauseFunc, connID, holder string, ttl, every time.Duration) (stop func()) {
	done := make(chan struct{})
	ended := make(chan struct{})
	// Renewals outlive a cancelled run until stop: the lease is released
	// after the run has really ended.
	rctx := context.WithoutCancel(ctx)
	go func() {
		defer close(ended)
		t := time.NewTicker(every)
		defer t.Stop()
		until := time.Now().Add(ttl) // the lease held for sure
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			asked := time.Now()
			ok, err := s.Store.RenewRunLease(rctx, connID, holder, ttl)
			switch {
			case err == nil && ok:
				until = asked.Add(ttl)
				continue
			case err == nil:
				s.Log.ErrorContext(ctx, "sync run lost its lease: another process took the connection over; stopping this run",
					"connection", connID, "holder", holder)
				cancel(ErrLeaseLost)
				return
			case time.Until(until) <= every:
				// The next try could come after the lease ran out and
				// another process took it: stop now.
				s.Log.ErrorContext(ctx, "sync run could not renew its lease before it runs out; stopping this run",
					"connection", connID, "holder", holder, "err", err)
				cancel(fmt.Errorf("%w: %w", ErrLeaseLost, err))
				return
			default:
				s.Log.WarnContext(ctx, "sync run lease renewal failed; trying again", "connection", connID, "err", err)
			}
		}
	}()
	return func() {
		close(done)
		<-ended
	}
}

func (s *Service) runConnection(ctx context.Context, connID string) (Result, error) {
	res := Result{Stats: map[string]reconcile.Stats{}}
	conn, err := s.Store.GetConnection(ctx, connID)
	if err != nil {
		return res, err
	}
	start := time.Now()
	p, perr := s.Providers.Get(conn.Provider)
	// A run that fails before any binding counts as a run of the
	// connection as a whole.
	failed := func(err error) (Result, error) {
		s.Metrics.SyncRun(conn.Provider, metricsConnection, time.Since(start), reconcile.Stats{}, errorKind(p, err))
		return res, err
	}
	if conn.Status == store.ConnectionNeedsReauth {
		return failed(oauth.ErrNeedsReauth)
	}
	if perr != nil {
		return failed(fmt.Errorf("sync: %w", perr))
	}
	v, err := s.Store.Viewer(ctx, conn.UserID)
	if err != nil {
		return failed(fmt.Errorf("connection owner: %w", err))
	}
	sess, err := p.Open(ctx, conn)
	if err != nil {
		return failed(err)
	}
	bindings, err := s.Store.ListBindings(ctx, connID)
	if err != nil {
		return failed(err)
	}
	var runErr error
	for _, b := range bindings {
		if !b.Enabled {
			continue
		}
		began := time.Now()
		stopProgress := s.startProgress(ctx, b.ID)
		stats, err := s.runBinding(ctx, p, sess, v, b)
		stopProgress()
		s.Metrics.SyncRun(conn.Provider, b.Kind, time.Since(began), stats, errorKind(p, err))
		res.Stats[b.Kind] = res.Stats[b.Kind].Plus(stats) // a kind may have several bindings
		if errors.Is(context.Cause(ctx), ErrLeaseLost) {
			// Another process may be running the connection now: leave
			// the binding's and the connection's state to it.
			return res, err
		}
		if ferr := s.Store.FinishRun(ctx, b.ID, stats.JSON(), err); ferr != nil {
			return res, ferr
		}
		if errors.Is(err, provider.ErrKindOff) {
			// The administrator's choice, not a fault of the connection:
			// the binding says why, the connection stays healthy.
			continue
		}
		if err != nil {
			s.Log.WarnContext(ctx, "sync run failed", "connection", connID, "provider", conn.Provider, "binding", b.ID, "err", err)
			runErr = errors.Join(runErr, err)
			if errors.Is(err, oauth.ErrNeedsReauth) {
				break
			}
		}
	}
	res.Err = runErr
	switch {
	case runErr == nil:
		s.Store.UpdateConnectionStatus(ctx, connID, store.ConnectionActive, "")
		s.Store.SetConnectionLastSync(ctx, connID, time.Now())
		if err := s.EnsureSubscriptions(ctx, connID); err != nil {
			// Polling still works; the hourly renewal tries again.
			s.Log.WarnContext(ctx, "push subscription", "connection", connID, "err", err)
		}
	case errors.Is(runErr, oauth.ErrNeedsReauth):
		// The token source marked the connection already.
	default:
		s.Store.UpdateConnectionStatus(ctx, connID, store.ConnectionDegraded, firstLine(runErr.Error()))
	}
	return res, runErr
}

// runBinding runs one binding of a connection.
func (s *Service) runBinding(ctx context.Context, p provider.Provider, sess provider.Session, v access.Viewer, b *store.Binding) (reconcile.Stats, error) {
	kind, err := provider.ParseKind(b.Kind)
	if err != nil {
		return reconcile.Stats{}, fmt.Errorf("sync: binding %s: %w", b.ID, err)
	}
	if _, ok := provider.Info(p, kind); !ok {
		return reconcile.Stats{}, fmt.Errorf("sync: %s: %w: %q", p.Name(), provider.ErrKindNotSupported, kind)
	}
	switch kind {
	case provider.Contact:
		return s.runContacts(ctx, p, sess, v, b)
	case provider.Event:
		return s.runEvents(ctx, p, sess, v, b)
	case provider.Task:
		return s.runTasks(ctx, p, sess, v, b)
	}
	return reconcile.Stats{}, fmt.Errorf("sync: binding kind %q is not supported yet", b.Kind)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 500 {
		s = s[:500]
	}
	return s
}

// kindOff returns the provider's *OffError when kind is off system-wide.
func kindOff(ctx context.Context, p provider.Provider, kind provider.Kind) (*provider.OffError, error) {
	if g, ok := p.(provider.KindGate); ok {
		return g.KindOff(ctx, kind)
	}
	return nil, nil
}

// contactsParts builds the connector and local side of a contact binding.
// A collection Tandem names is found (a preview) or created (the first
// run) by name.
func (s *Service) contactsParts(ctx context.Context, p provider.Provider, sess provider.Session, v access.Viewer, b *store.Binding, preview bool) (reconcile.Connector, reconcile.Local, error) {
	var cs ContactSettings
	if err := decodePolicy(b.Policy, &cs); err != nil {
		return nil, nil, err
	}
	if cs.TagID == "" {
		return nil, nil, errors.New("sync: choose the personal tag whose contacts sync")
	}
	if off, err := kindOff(ctx, p, provider.Contact); err != nil {
		return nil, nil, err
	} else if off != nil {
		return nil, nil, off
	}
	local := &crmsync.ContactsLocal{Store: s.Store, Viewer: v, TagID: cs.TagID}
	spec := provider.BindingSpec{Kind: provider.Contact, Collection: b.Collection, Self: v.Email, TZ: v.TZ,
		DeleteForeign: cs.RemoteDelete == "delete"}
	if b.Collection == "" {
		info, _ := provider.Info(p, provider.Contact)
		f, ok := sess.(provider.CollectionFinder)
		if info.Collection != provider.CollectionNamed || !ok {
			return nil, nil, errors.New("sync: choose the address book to sync with")
		}
		name := cmp.Or(cs.GroupName, defaultCollectionName(ctx, p, provider.Contact))
		if preview {
			// A preview creates nothing: a group not there yet lists empty.
			id, _, err := f.FindCollection(ctx, provider.Contact, name)
			if err != nil {
				return nil, nil, err
			}
			spec.Collection = id
		} else {
			// The first run creates the product's collection remotely.
			id, err := f.EnsureCollection(ctx, provider.Contact, name)
			if err != nil {
				return nil, nil, err
			}
			b.Collection, spec.Collection = id, id
			if err := s.Store.SaveBinding(ctx, b); err != nil {
				return nil, nil, err
			}
		}
	}
	rc, err := sess.Connector(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	return rc, local, nil
}

func (s *Service) runContacts(ctx context.Context, p provider.Provider, sess provider.Session, v access.Viewer, b *store.Binding) (reconcile.Stats, error) {
	conn, local, err := s.contactsParts(ctx, p, sess, v, b, false)
	if err != nil {
		return reconcile.Stats{}, err
	}
	return s.engine.Run(ctx, b.ID, conn, local)
}

// Preview lists what a run of the connection's bindings would do on each
// side, changing nothing (the dry run of a first sync): each kind whose
// settings are complete (contacts once a tag is chosen, a calendar or a
// task list once one is chosen and the kind is on); when none is, the
// first kind's, so
// the answer says what is missing. The organizer rule, which a run
// applies before exporting, is not previewed.
func (s *Service) Preview(ctx context.Context, connID string) ([]store.JournalEntry, map[string]reconcile.Stats, error) {
	conn, p, err := s.connection(ctx, connID)
	if err != nil {
		return nil, nil, err
	}
	if conn.Status == store.ConnectionNeedsReauth {
		return nil, nil, oauth.ErrNeedsReauth
	}
	v, err := s.Store.Viewer(ctx, conn.UserID)
	if err != nil {
		return nil, nil, err
	}
	states, err := s.bindings(ctx, conn, p)
	if err != nil {
		return nil, nil, err
	}
	var ready []*BindingState
	for _, st := range states {
		if st.ready() {
			ready = append(ready, st)
		}
	}
	if len(ready) == 0 && len(states) > 0 {
		ready = states[:1]
	}
	sess, err := p.Open(ctx, conn)
	if err != nil {
		return nil, nil, err
	}
	var plan []store.JournalEntry
	stats := map[string]reconcile.Stats{}
	e := s.engine
	e.Progress = nil // a preview is no run: its counts are no run's progress
	// One after another, as a run goes: a kind's calendars see what the
	// previews of the others before them planned (an event moved between
	// them is one record moving, planned once).
	previews := e.Previews()
	for _, st := range ready {
		bs := st.Picked // every calendar or task list picked
		if len(bs) == 0 {
			bs = []*store.Binding{st.Binding}
		}
		for _, b := range bs {
			var rc reconcile.Connector
			var local reconcile.Local
			switch st.Kind.Kind {
			case provider.Contact:
				rc, local, err = s.contactsParts(ctx, p, sess, v, b, true)
			case provider.Event:
				rc, local, err = s.eventsParts(ctx, p, sess, v, b)
			case provider.Task:
				rc, local, err = s.tasksParts(ctx, p, sess, v, b)
			}
			if err != nil {
				return nil, nil, err
			}
			pl, bst, err := previews.Preview(ctx, b.ID, rc, local)
			plan, stats[b.Kind] = append(plan, pl...), stats[b.Kind].Plus(bst)
			if err != nil {
				return nil, nil, err
			}
		}
	}
	return plan, stats, nil
}

// RunArgs is the job that runs one connection. At most one run waits per
// connection; a request that arrives while a run is under way queues one
// follow-up (After = the running job), since the running one may have read
// the data before the change that prompted the request.
type RunArgs struct {
	ConnectionID string `json:"connection_id" river:"unique"`
	After        int64  `json:"after,omitempty" river:"unique"`
	Reason       string `json:"reason"` // "manual", "schedule", "push"
}

// Kind implements river.JobArgs.
func (RunArgs) Kind() string { return "sync.run" }

type runWorker struct {
	river.WorkerDefaults[RunArgs]
	s *Service
}

func (w *runWorker) Work(ctx context.Context, j *river.Job[RunArgs]) error {
	_, err := w.s.RunConnection(ctx, j.Args.ConnectionID)
	if errors.Is(err, ErrBusy) || errors.Is(err, ErrLeaseLost) {
		// Another process runs the connection: run again after it.
		return river.JobSnooze(3 * time.Second)
	}
	if errors.Is(err, oauth.ErrNeedsReauth) || errors.Is(err, store.ErrNotFound) || errors.Is(err, reconcile.ErrCollectionEmpty) {
		// Retrying cannot help: the user must act. The state is on the
		// connection and binding for the UI.
		return river.JobCancel(err)
	}
	return err
}

// Timeout lets a first import of a big address book finish.
func (w *runWorker) Timeout(*river.Job[RunArgs]) time.Duration { return 30 * time.Minute }

// scheduleArgs is the periodic job that enqueues due runs.
type scheduleArgs struct{}

func (scheduleArgs) Kind() string { return "sync.schedule" }

type scheduleWorker struct {
	river.WorkerDefaults[scheduleArgs]
	s *Service
}

func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[scheduleArgs]) error {
	return w.s.EnqueueDue(ctx, time.Now())
}

// Register adds the sync jobs to a registry.
func (s *Service) Register(reg *jobs.Registry) {
	jobs.Register(reg, &runWorker{s: s}, &jobs.KindOptions{MaxAttempts: 5})
	jobs.Register(reg, &scheduleWorker{s: s}, nil)
	reg.AddPeriodic(time.Minute, scheduleArgs{}, &river.InsertOpts{UniqueOpts: jobs.OnePerKey()})
	s.registerPush(reg)
}

// Enqueue asks for a run of a connection; a run already waiting absorbs it.
func (s *Service) Enqueue(ctx context.Context, connID, reason string) (int64, bool, error) {
	if s.Queue == nil {
		return 0, false, errors.New("sync: no job queue in this process")
	}
	opts := &river.InsertOpts{UniqueOpts: jobs.OnePerKey()}
	args := RunArgs{ConnectionID: connID, Reason: reason}
	for attempt := 0; ; attempt++ {
		id, dup, err := s.Queue.Enqueue(ctx, args, opts)
		if err != nil || !dup || attempt == 5 {
			return id, dup, err
		}
		j, err := s.Queue.Get(ctx, id)
		if errors.Is(err, jobs.ErrNotFound) {
			continue // finished and cleaned up meanwhile: insert again
		}
		if err != nil {
			return id, true, err
		}
		switch j.State {
		case jobs.StateRunning:
			// Running (or finishing: completions reach the table a moment
			// late), so it may have read the data before the change: queue
			// the run after it.
			args.After = id
		case jobs.StateCompleted, jobs.StateCancelled, jobs.StateDiscarded:
			// It finished between our insert and our look: insert again.
		default:
			return id, true, nil // a waiting run will see the change
		}
	}
}

// schedule reads whether and how often a binding runs on its own, from
// the policy of its kind.
func schedule(b *store.Binding) (auto bool, minutes int, err error) {
	kind, err := provider.ParseKind(b.Kind)
	if err != nil {
		return false, 0, err
	}
	st, err := DecodeSettings(kind, b.Policy)
	if err != nil {
		return false, 0, err
	}
	auto, minutes = st.Schedule()
	return auto, minutes, nil
}

// EnqueueDue enqueues runs for automatic bindings whose period has passed.
func (s *Service) EnqueueDue(ctx context.Context, now time.Time) error {
	due, err := s.Store.DueBindings(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, b := range due {
		auto, minutes, err := schedule(b)
		if err != nil {
			// One damaged binding must not stop the others' schedule.
			s.Log.WarnContext(ctx, "binding not scheduled", "binding", b.ID, "err", err)
			continue
		}
		period := time.Duration(max(minutes, 5)) * time.Minute
		if !auto || seen[b.ConnectionID] || now.Sub(b.LastRunAt) < period {
			continue
		}
		seen[b.ConnectionID] = true
		if _, _, err := s.Enqueue(ctx, b.ConnectionID, "schedule"); err != nil {
			return err
		}
	}
	return nil
}
