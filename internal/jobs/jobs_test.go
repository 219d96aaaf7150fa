package jobs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite"

	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Every behaviour test runs on both databases.
var backends = []struct {
	name string
	open func(t *testing.T) jobs.Backend
}{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

func forEachBackend(t *testing.T, test func(t *testing.T, b jobs.Backend)) {
	t.Helper()
	for _, bc := range backends {
		t.Run(bc.name, func(t *testing.T) { test(t, bc.open(t)) })
	}
}

func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate"
}

func openSQLiteDB(t *testing.T, maxOpen int) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", sqliteDSN(filepath.Join(t.TempDir(), "jobs.db")))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(maxOpen)
	t.Cleanup(func() { db.Close() })
	return db
}

func openSQLite(t *testing.T) jobs.Backend {
	t.Helper()
	b := jobs.SQLite(openSQLiteDB(t, 1))
	migrate(t, b)
	return b
}

func openPostgresPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return newPool(t, testenv.Postgres(t))
}

func newPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func openPostgres(t *testing.T) jobs.Backend {
	t.Helper()
	b := jobs.Postgres(openPostgresPool(t))
	migrate(t, b)
	return b
}

func migrate(t *testing.T, b jobs.Backend) {
	t.Helper()
	if err := jobs.Migrate(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

// quickRetry retries failed jobs after 10 ms instead of River's seconds.
type quickRetry struct{}

func (quickRetry) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(10 * time.Millisecond)
}

// newQueue builds a queue with test-friendly timing and stops it when the
// test ends.
func newQueue(t *testing.T, b jobs.Backend, reg *jobs.Registry, workers int) *jobs.Queue {
	t.Helper()
	q, err := jobs.New(context.Background(), b, reg, jobs.Options{
		Workers:           workers,
		Logger:            testLogger(t),
		RetryPolicy:       quickRetry{},
		FetchPollInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return q
}

// testLogger shows River's warnings in the test log, and drops them once the
// test is over (logging to a finished test panics).
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close) // registered before the queue's Stop, so it runs after
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct {
	mu     sync.Mutex
	t      *testing.T
	closed bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

// waitFor polls the job until it reaches state.
func waitFor(t *testing.T, q *jobs.Queue, id int64, state jobs.State) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		job, err := q.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if job.State == state {
			return job
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s, want %s; errors: %q", id, job.State, state, job.Errors)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type echoArgs struct {
	N int `json:"n"`
}

func (echoArgs) Kind() string { return "test_echo" }

type otherArgs struct{}

func (otherArgs) Kind() string { return "test_other" }

type failArgs struct{}

func (failArgs) Kind() string { return "test_fail" }

// syncArgs stands for a sync run: one at a time per binding.
type syncArgs struct {
	BindingID int64  `json:"binding_id" river:"unique"`
	Reason    string `json:"reason"`
}

func (syncArgs) Kind() string { return "test_sync" }

func nopWorker[T river.JobArgs]() river.Worker[T] {
	return river.WorkFunc(func(context.Context, *river.Job[T]) error { return nil })
}

func TestEnqueuedJobRuns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b jobs.Backend) {
		got := make(chan int, 1)
		reg := jobs.NewRegistry()
		jobs.Register(reg, river.WorkFunc(func(ctx context.Context, job *river.Job[echoArgs]) error {
			got <- job.Args.N
			return nil
		}), nil)
		q := newQueue(t, b, reg, 2)

		start := time.Now()
		id, dup, err := q.Enqueue(context.Background(), echoArgs{N: 42}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if dup {
			t.Fatal("a job that is not unique was reported as a duplicate")
		}
		select {
		case n := <-got:
			if n != 42 {
				t.Fatalf("worker got n=%d, want 42", n)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("job did not run")
		}
		job := waitFor(t, q, id, jobs.StateCompleted)
		t.Logf("enqueue to completed: %s", time.Since(start))

		if job.Kind != "test_echo" || job.Attempt != 1 || job.Queue != river.QueueDefault ||
			job.FinalizedAt == nil || job.AttemptedAt == nil || len(job.Errors) != 0 {
			t.Errorf("unexpected completed job: %+v", job)
		}
		var args echoArgs
		if err := json.Unmarshal(job.Args, &args); err != nil || args.N != 42 {
			t.Errorf("job args %s, want n=42 (%v)", job.Args, err)
		}
	})
}

func TestFailingJobRetriesThenSucceeds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b jobs.Backend) {
		reg := jobs.NewRegistry()
		jobs.Register(reg, river.WorkFunc(func(ctx context.Context, job *river.Job[echoArgs]) error {
			if job.Attempt < 3 {
				return fmt.Errorf("attempt %d failed", job.Attempt)
			}
			return nil
		}), nil)
		q := newQueue(t, b, reg, 2)

		id, _, err := q.Enqueue(context.Background(), echoArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		job := waitFor(t, q, id, jobs.StateCompleted)
		if job.Attempt != 3 {
			t.Errorf("completed after %d attempts, want 3", job.Attempt)
		}
		want := []string{"attempt 1 failed", "attempt 2 failed"}
		if strings.Join(job.Errors, "|") != strings.Join(want, "|") {
			t.Errorf("errors %q, want %q", job.Errors, want)
		}
	})
}

func TestMaxAttemptsPerKind(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b jobs.Backend) {
		var runs atomic.Int32
		reg := jobs.NewRegistry()
		jobs.Register(reg, river.WorkFunc(func(context.Context, *river.Job[failArgs]) error {
			runs.Add(1)
			return errors.New("always fails")
		}), &jobs.KindOptions{MaxAttempts: 2})
		q := newQueue(t, b, reg, 2)

		tests := []struct {
			name string
			opts *river.InsertOpts
			want int
		}{
			{"kind default", nil, 2},
			{"insert option wins", &river.InsertOpts{MaxAttempts: 3}, 3},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				runs.Store(0)
				id, _, err := q.Enqueue(context.Background(), failArgs{}, tt.opts)
				if err != nil {
					t.Fatal(err)
				}
				job := waitFor(t, q, id, jobs.StateDiscarded)
				if job.MaxAttempts != tt.want || job.Attempt != tt.want || len(job.Errors) != tt.want || int(runs.Load()) != tt.want {
					t.Errorf("discarded with max_attempts=%d attempt=%d errors=%d runs=%d, want %d each",
						job.MaxAttempts, job.Attempt, len(job.Errors), runs.Load(), tt.want)
				}
			})
		}
	})
}

func TestOnePerKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b jobs.Backend) {
		ctx := context.Background()
		reg := jobs.NewRegistry()
		jobs.Register(reg, nopWorker[syncArgs](), nil)
		// No workers yet: the first jobs stay available, as if a worker
		// were busy elsewhere.
		inserter := newQueue(t, b, reg, 0)
		unique := &river.InsertOpts{UniqueOpts: jobs.OnePerKey()}

		first, dup, err := inserter.Enqueue(ctx, syncArgs{BindingID: 1, Reason: "schedule"}, unique)
		if err != nil || dup {
			t.Fatalf("first enqueue: id=%d duplicate=%v err=%v", first, dup, err)
		}
		tests := []struct {
			name    string
			args    syncArgs
			wantDup bool
		}{
			{"same key", syncArgs{BindingID: 1, Reason: "schedule"}, true},
			{"same key, other non-key field", syncArgs{BindingID: 1, Reason: "webhook"}, true},
			{"other key", syncArgs{BindingID: 2, Reason: "schedule"}, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id, dup, err := inserter.Enqueue(ctx, tt.args, unique)
				if err != nil {
					t.Fatal(err)
				}
				if dup != tt.wantDup {
					t.Errorf("duplicate = %v, want %v", dup, tt.wantDup)
				}
				if dup && id != first {
					t.Errorf("duplicate reported id %d, want the waiting job's %d", id, first)
				}
				if !dup && id == first {
					t.Errorf("new job got the first job's id %d", id)
				}
			})
		}

		// Once the run is over, the key is free again.
		worker := newQueue(t, b, reg, 2)
		waitFor(t, worker, first, jobs.StateCompleted)
		again, dup, err := worker.Enqueue(ctx, syncArgs{BindingID: 1, Reason: "schedule"}, unique)
		if err != nil {
			t.Fatal(err)
		}
		if dup || again == first {
			t.Errorf("enqueue after the run completed: id=%d duplicate=%v, want a new job", again, dup)
		}
	})
}

func TestPeriodicJobFires(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b jobs.Backend) {
		ticks := make(chan struct{}, 100)
		reg := jobs.NewRegistry()
		jobs.Register(reg, river.WorkFunc(func(context.Context, *river.Job[otherArgs]) error {
			ticks <- struct{}{}
			return nil
		}), nil)
		reg.AddPeriodic(200*time.Millisecond, otherArgs{}, nil)
		start := time.Now()
		newQueue(t, b, reg, 2)

		for i := range 3 {
			select {
			case <-ticks:
				t.Logf("tick %d after %s", i+1, time.Since(start).Round(time.Millisecond))
			case <-time.After(20 * time.Second):
				t.Fatalf("periodic job ran %d times in 20s, want 3", i)
			}
		}
	})
}

func TestListGetCancelRetry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b jobs.Backend) {
		ctx := context.Background()
		var failing atomic.Bool
		failing.Store(true)
		reg := jobs.NewRegistry()
		jobs.Register(reg, nopWorker[echoArgs](), nil)
		jobs.Register(reg, nopWorker[otherArgs](), nil)
		jobs.Register(reg, river.WorkFunc(func(context.Context, *river.Job[failArgs]) error {
			if failing.Load() {
				return errors.New("not yet")
			}
			return nil
		}), &jobs.KindOptions{MaxAttempts: 1})
		q := newQueue(t, b, reg, 0) // insert-only: jobs stay where we put them

		var ids []int64 // in insertion order
		for i := range 5 {
			id, _, err := q.Enqueue(ctx, echoArgs{N: i}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		for range 2 {
			id, _, err := q.Enqueue(ctx, otherArgs{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}

		t.Run("pages newest first", func(t *testing.T) {
			var got []int64
			var sizes []int
			cursor := ""
			for {
				page, next, err := q.List(ctx, jobs.Filter{Limit: 3, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				sizes = append(sizes, len(page))
				for _, j := range page {
					got = append(got, j.ID)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			want := make([]int64, len(ids))
			for i, id := range ids {
				want[len(ids)-1-i] = id
			}
			if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(sizes) != "[3 3 1]" {
				t.Errorf("pages %v with ids %v, want [3 3 1] with %v", sizes, got, want)
			}
		})

		tests := []struct {
			name   string
			filter jobs.Filter
			want   int
		}{
			{"all", jobs.Filter{}, 7},
			{"by kind", jobs.Filter{Kind: "test_other"}, 2},
			{"by state", jobs.Filter{State: jobs.StateAvailable}, 7},
			{"by kind and state", jobs.Filter{Kind: "test_echo", State: jobs.StateCompleted}, 0},
		}
		for _, tt := range tests {
			t.Run("filter "+tt.name, func(t *testing.T) {
				page, next, err := q.List(ctx, tt.filter)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) != tt.want || next != "" {
					t.Errorf("got %d jobs and cursor %q, want %d and none", len(page), next, tt.want)
				}
				for _, j := range page {
					if (tt.filter.Kind != "" && j.Kind != tt.filter.Kind) || (tt.filter.State != "" && j.State != tt.filter.State) {
						t.Errorf("job %d (%s, %s) does not match the filter", j.ID, j.Kind, j.State)
					}
				}
			})
		}

		t.Run("invalid filters", func(t *testing.T) {
			for _, f := range []jobs.Filter{
				{Limit: -1}, {Limit: jobs.MaxListLimit + 1}, {State: "bogus"}, {Cursor: "abc"}, {Cursor: "-5"},
			} {
				if _, _, err := q.List(ctx, f); !errors.Is(err, jobs.ErrInvalidFilter) {
					t.Errorf("List(%+v) error = %v, want ErrInvalidFilter", f, err)
				}
			}
		})

		t.Run("get", func(t *testing.T) {
			job, err := q.Get(ctx, ids[2])
			if err != nil {
				t.Fatal(err)
			}
			var args echoArgs
			if err := json.Unmarshal(job.Args, &args); err != nil {
				t.Fatal(err)
			}
			if job.ID != ids[2] || job.Kind != "test_echo" || job.State != jobs.StateAvailable || args.N != 2 {
				t.Errorf("Get returned %+v with args %s", job, job.Args)
			}
		})

		t.Run("unknown id", func(t *testing.T) {
			ops := map[string]func(context.Context, int64) (jobs.Job, error){
				"get": q.Get, "cancel": q.Cancel, "retry": q.Retry,
			}
			for name, op := range ops {
				if _, err := op(ctx, 1<<40); !errors.Is(err, jobs.ErrNotFound) {
					t.Errorf("%s of an unknown id: error = %v, want ErrNotFound", name, err)
				}
			}
		})

		t.Run("cancel then retry", func(t *testing.T) {
			job, err := q.Cancel(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if job.State != jobs.StateCancelled || job.FinalizedAt == nil {
				t.Fatalf("after Cancel: state %s, finalized_at %v", job.State, job.FinalizedAt)
			}
			page, _, err := q.List(ctx, jobs.Filter{State: jobs.StateCancelled})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) != 1 || page[0].ID != ids[0] {
				t.Errorf("cancelled jobs: %+v, want only %d", page, ids[0])
			}
			if job, err = q.Retry(ctx, ids[0]); err != nil {
				t.Fatal(err)
			}
			if job.State != jobs.StateAvailable {
				t.Errorf("after Retry: state %s, want available", job.State)
			}
		})

		t.Run("retry reruns a discarded job", func(t *testing.T) {
			id, _, err := q.Enqueue(ctx, failArgs{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			worker := newQueue(t, b, reg, 2)
			waitFor(t, worker, id, jobs.StateDiscarded)
			failing.Store(false)
			if _, err := q.Retry(ctx, id); err != nil {
				t.Fatal(err)
			}
			job := waitFor(t, worker, id, jobs.StateCompleted)
			if job.Attempt != 2 || len(job.Errors) != 1 {
				t.Errorf("after retry: attempt %d, errors %q; want 2 and one error", job.Attempt, job.Errors)
			}
			// The worker ran every other job too, the retried cancelled one included.
			for _, other := range ids {
				waitFor(t, worker, other, jobs.StateCompleted)
			}
		})
	})
}

// TestStartContextEndsQueue checks that the end of Start's context stops the
// queue, whether it was cancelled or ran out of time, and that a later Stop
// returns at once.
func TestStartContextEndsQueue(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}},
	}
	forEachBackend(t, func(t *testing.T, b jobs.Backend) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				reg := jobs.NewRegistry()
				jobs.Register(reg, nopWorker[echoArgs](), nil)
				q, err := jobs.New(context.Background(), b, reg, jobs.Options{Workers: 1, Logger: testLogger(t)})
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := tt.ctx()
				defer cancel()
				if err := q.Start(ctx); err != nil {
					t.Fatal(err)
				}
				<-ctx.Done()
				time.Sleep(200 * time.Millisecond) // let the queue notice

				stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer stopCancel()
				start := time.Now()
				if err := q.Stop(stopCtx); err != nil {
					t.Fatalf("Stop after the start context ended: %v (after %s)", err, time.Since(start))
				}
			})
		}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b jobs.Backend) {
		// The backend is migrated already; again, from several callers at
		// once as workers starting together would.
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() { errs <- jobs.Migrate(context.Background(), b) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
}

func TestConcurrentFirstMigrationOnPostgres(t *testing.T) {
	b := jobs.Postgres(openPostgresPool(t))
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() { errs <- jobs.Migrate(context.Background(), b) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if _, err := jobs.New(context.Background(), b, jobs.NewRegistry(), jobs.Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestNewRejectsMisuse(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		backend func(t *testing.T) jobs.Backend
		reg     func() *jobs.Registry
		opts    jobs.Options
		wantErr string
	}{
		{
			name:    "zero backend",
			backend: func(*testing.T) jobs.Backend { return jobs.Backend{} },
			wantErr: "zero Backend",
		},
		{
			name:    "sqlite pool with several connections",
			backend: func(t *testing.T) jobs.Backend { return jobs.SQLite(openSQLiteDB(t, 4)) },
			wantErr: "SetMaxOpenConns(1)",
		},
		{
			name:    "not migrated",
			backend: func(t *testing.T) jobs.Backend { return jobs.SQLite(openSQLiteDB(t, 1)) },
			wantErr: "jobs.Migrate",
		},
		{
			name:    "negative workers",
			backend: openSQLite,
			opts:    jobs.Options{Workers: -1},
			wantErr: "negative Workers",
		},
		{
			name:    "periodic job without worker",
			backend: openSQLite,
			reg: func() *jobs.Registry {
				reg := jobs.NewRegistry()
				reg.AddPeriodic(time.Minute, otherArgs{}, nil)
				return reg
			},
			opts:    jobs.Options{Workers: 1},
			wantErr: "no registered worker",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := jobs.NewRegistry()
			if tt.reg != nil {
				reg = tt.reg()
			}
			_, err := jobs.New(ctx, tt.backend(t), reg, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRegistryPanicsOnMisuse(t *testing.T) {
	tests := []struct {
		name string
		do   func(t *testing.T, reg *jobs.Registry)
	}{
		{"kind registered twice", func(_ *testing.T, reg *jobs.Registry) {
			jobs.Register(reg, nopWorker[echoArgs](), nil)
			jobs.Register(reg, nopWorker[echoArgs](), nil)
		}},
		{"negative max attempts", func(_ *testing.T, reg *jobs.Registry) {
			jobs.Register(reg, nopWorker[echoArgs](), &jobs.KindOptions{MaxAttempts: -1})
		}},
		{"zero interval", func(_ *testing.T, reg *jobs.Registry) { reg.AddPeriodic(0, echoArgs{}, nil) }},
		{"register after New", func(t *testing.T, reg *jobs.Registry) {
			if _, err := jobs.New(context.Background(), openSQLite(t), reg, jobs.Options{}); err != nil {
				t.Fatal(err)
			}
			jobs.Register(reg, nopWorker[echoArgs](), nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tt.do(t, jobs.NewRegistry())
		})
	}
}
