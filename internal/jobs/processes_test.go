package jobs_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/testenv"
)

// The helper process reads its orders from these variables.
const (
	envHelper   = "TANDEM_JOBS_HELPER_PROCESS"
	envHelperDB = "TANDEM_JOBS_HELPER_DATABASE_URL"
)

// recordArgs is a job that records which process ran it.
type recordArgs struct {
	N int `json:"n"`
}

func (recordArgs) Kind() string { return "test_record" }

// TestTwoWorkerProcessesShareQueue runs two worker processes against one
// PostgreSQL queue, as two `tandem worker` machines would, and checks that
// each of 1,000 jobs ran exactly once and that both processes took part.
func TestTwoWorkerProcessesShareQueue(t *testing.T) {
	const total = 1000
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	dbURL := testenv.Postgres(t)
	pool := newPool(t, dbURL)
	b := jobs.Postgres(pool)
	migrate(t, b)
	// No UNIQUE(n): a job that ran twice must show up as two rows.
	for _, ddl := range []string{
		"CREATE TABLE job_runs (n int NOT NULL, proc text NOT NULL)",
		"CREATE TABLE workers_ready (proc text NOT NULL)",
	} {
		if _, err := pool.Exec(ctx, ddl); err != nil {
			t.Fatal(err)
		}
	}

	procs := []*helperProcess{startHelper(ctx, t, dbURL, "a"), startHelper(ctx, t, dbURL, "b")}
	waitUntil(ctx, t, pool, procs, "both workers ready", "SELECT count(*) FROM workers_ready", len(procs))

	// Jobs go in through an insert-only queue, as from `tandem serve`.
	reg := jobs.NewRegistry()
	jobs.Register(reg, river.WorkFunc(func(context.Context, *river.Job[recordArgs]) error {
		return fmt.Errorf("the parent process runs no jobs")
	}), nil)
	q, err := jobs.New(ctx, b, reg, jobs.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for n := range total {
		if _, _, err := q.Enqueue(ctx, recordArgs{N: n}, nil); err != nil {
			t.Fatal(err)
		}
	}
	enqueued := time.Since(start)
	waitUntil(ctx, t, pool, procs, "all jobs completed", "SELECT count(*) FROM river_job WHERE state = 'completed'", total)
	t.Logf("enqueued %d jobs in %s, all completed after %s", total, enqueued.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	for _, p := range procs {
		if err := p.stop(ctx); err != nil {
			t.Fatalf("worker %s: %v\n%s", p.tag, err, p.output())
		}
	}

	var rows, distinct int
	if err := pool.QueryRow(ctx, "SELECT count(*), count(DISTINCT n) FROM job_runs").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != total || distinct != total {
		t.Errorf("job_runs has %d rows for %d distinct jobs, want %d and %d: some job ran twice or never", rows, distinct, total, total)
	}
	perProc := map[string]int{}
	r, err := pool.Query(ctx, "SELECT proc, count(*) FROM job_runs GROUP BY proc")
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var proc string
		var n int
		if err := r.Scan(&proc, &n); err != nil {
			t.Fatal(err)
		}
		perProc[proc] = n
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("jobs per process: %v", perProc)
	for _, p := range procs {
		if perProc[p.tag] == 0 {
			t.Errorf("worker %s ran no job: %v", p.tag, perProc)
		}
	}
}

// TestHelperWorkerProcess is not a test: it is the worker process that
// TestTwoWorkerProcessesShareQueue starts by running this test binary again.
// It works jobs until its stdin closes.
func TestHelperWorkerProcess(t *testing.T) {
	tag := os.Getenv(envHelper)
	if tag == "" {
		t.Skip("helper process for TestTwoWorkerProcessesShareQueue")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv(envHelperDB))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	reg := jobs.NewRegistry()
	jobs.Register(reg, river.WorkFunc(func(ctx context.Context, job *river.Job[recordArgs]) error {
		// A little work per job keeps one process from draining the queue
		// alone before the other fetches.
		time.Sleep(2 * time.Millisecond)
		_, err := pool.Exec(ctx, "INSERT INTO job_runs (n, proc) VALUES ($1, $2)", job.Args.N, tag)
		return err
	}), nil)
	q, err := jobs.New(ctx, jobs.Postgres(pool), reg, jobs.Options{Workers: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO workers_ready (proc) VALUES ($1)", tag); err != nil {
		t.Fatal(err)
	}

	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it, or dies

	stopCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := q.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
}

type helperProcess struct {
	tag    string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *lockedBuffer
	exited chan struct{} // closed once the process has been waited for
	err    error         // its exit status, set before exited is closed
}

// startHelper starts a worker process. The test's context kills it on
// timeout, and the test's cleanup kills it if the test failed before stopping
// it.
func startHelper(ctx context.Context, t *testing.T, dbURL, tag string) *helperProcess {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperWorkerProcess$", "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), envHelper+"="+tag, envHelperDB+"="+dbURL)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &helperProcess{tag: tag, cmd: cmd, stdin: stdin, out: out, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill() // fails harmlessly if it is gone already
		<-p.exited
	})
	return p
}

// stop closes the worker's stdin, which makes it stop gracefully, and waits
// for it to exit.
func (p *helperProcess) stop(ctx context.Context) error {
	p.stdin.Close()
	select {
	case <-p.exited:
		return p.err
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("did not stop: %w", ctx.Err())
	}
}

func (p *helperProcess) output() string { return p.out.String() }

// waitUntil polls a count query until it reaches want, failing with the
// workers' output if a worker exits or ctx ends first.
func waitUntil(ctx context.Context, t *testing.T, pool *pgxpool.Pool, procs []*helperProcess, what, query string, want int) {
	t.Helper()
	logs := func() string {
		var b strings.Builder
		for _, p := range procs {
			fmt.Fprintf(&b, "--- worker %s ---\n%s\n", p.tag, p.output())
		}
		return b.String()
	}
	for {
		var got int
		if err := pool.QueryRow(ctx, query).Scan(&got); err != nil && ctx.Err() == nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got >= want {
			return
		}
		for _, p := range procs {
			select {
			case <-p.exited:
				t.Fatalf("waiting for %s (%d of %d): worker %s exited: %v\n%s", what, got, want, p.tag, p.err, logs())
			default:
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %d of %d at the time limit\n%s", what, got, want, logs())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
