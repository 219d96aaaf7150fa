package jobs_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandem-crm/tandem/internal/jobs"
)

// tickArgs stands for a scheduler's tick: a kind enqueued on a period.
type tickArgs struct {
	Fail bool `json:"fail"`
}

func (tickArgs) Kind() string { return "test_tick" }

func tickWorker() river.Worker[tickArgs] {
	return river.WorkFunc(func(_ context.Context, j *river.Job[tickArgs]) error {
		if j.Args.Fail {
			return errors.New("tick failed")
		}
		return nil
	})
}

// TestRetryRefusesWhatNeedsNoRetry: a failed, discarded or cancelled job
// can be retried and a waiting one run now; a completed, running or
// available one is refused and left as it is.
func TestRetryRefusesWhatNeedsNoRetry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b jobs.Backend) {
		ctx := context.Background()
		reg := jobs.NewRegistry()
		jobs.Register(reg, nopWorker[echoArgs](), nil)
		jobs.Register(reg, tickWorker(), &jobs.KindOptions{MaxAttempts: 1})
		q := newQueue(t, b, reg, 0) // insert-only: jobs stay where we put them
		enqueue := func(args river.JobArgs, opts *river.InsertOpts) int64 {
			t.Helper()
			id, _, err := q.Enqueue(ctx, args, opts)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		// A worker completes one job and discards another, then stops.
		worker := newQueue(t, b, reg, 1)
		completed := enqueue(tickArgs{}, nil)
		discarded := enqueue(tickArgs{Fail: true}, nil)
		waitFor(t, worker, completed, jobs.StateCompleted)
		waitFor(t, worker, discarded, jobs.StateDiscarded)
		if err := worker.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		available := enqueue(echoArgs{N: 1}, nil)
		scheduled := enqueue(echoArgs{N: 2}, &river.InsertOpts{ScheduledAt: time.Now().Add(24 * time.Hour)})
		cancelled := enqueue(echoArgs{N: 3}, &river.InsertOpts{ScheduledAt: time.Now().Add(24 * time.Hour)})
		if _, err := q.Cancel(ctx, cancelled); err != nil {
			t.Fatal(err)
		}

		for _, tt := range []struct {
			name  string
			id    int64
			ok    bool
			after jobs.State
		}{
			{"available", available, false, jobs.StateAvailable},
			{"completed", completed, false, jobs.StateCompleted},
			{"scheduled: runs now", scheduled, true, jobs.StateAvailable},
			{"cancelled", cancelled, true, jobs.StateAvailable},
			{"discarded", discarded, true, jobs.StateAvailable},
		} {
			t.Run(tt.name, func(t *testing.T) {
				j, err := q.Retry(ctx, tt.id)
				if tt.ok != (err == nil) || (!tt.ok && !errors.Is(err, jobs.ErrNotRetryable)) {
					t.Fatalf("Retry: %v, want ok %v", err, tt.ok)
				}
				if got, _ := q.Get(ctx, tt.id); got.State != tt.after || j.State != tt.after {
					t.Errorf("after Retry: %s (returned %s), want %s", got.State, j.State, tt.after)
				}
			})
		}
		if jobs.Retryable(jobs.StateRunning) {
			t.Error("a running job is retryable")
		}
	})
}

// TestListHidesTicks: with HideTicks the completed runs of periodic kinds
// are left out; a failed tick and other kinds' jobs stay.
func TestListHidesTicks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b jobs.Backend) {
		ctx := context.Background()
		reg := jobs.NewRegistry()
		jobs.Register(reg, nopWorker[echoArgs](), nil)
		jobs.Register(reg, tickWorker(), &jobs.KindOptions{MaxAttempts: 1})
		reg.AddPeriodic(time.Hour, tickArgs{}, nil)
		q := newQueue(t, b, reg, 1)
		var ticks []int64
		for range 3 {
			id, _, err := q.Enqueue(ctx, tickArgs{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ticks = append(ticks, id)
		}
		failed, _, err := q.Enqueue(ctx, tickArgs{Fail: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		other, _, err := q.Enqueue(ctx, echoArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ticks {
			waitFor(t, q, id, jobs.StateCompleted)
		}
		waitFor(t, q, failed, jobs.StateDiscarded)
		waitFor(t, q, other, jobs.StateCompleted)

		ids := func(f jobs.Filter) []int64 {
			t.Helper()
			js, _, err := q.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, j := range js {
				out = append(out, j.ID)
			}
			slices.Sort(out)
			return out
		}
		if got, want := ids(jobs.Filter{HideTicks: true}), []int64{failed, other}; !slices.Equal(got, want) {
			t.Errorf("ticks hidden: %v, want %v", got, want)
		}
		if got := ids(jobs.Filter{HideTicks: true, Kind: "test_tick"}); !slices.Equal(got, []int64{failed}) {
			t.Errorf("ticks hidden, by kind: %v, want [%d]", got, failed)
		}
		if got := ids(jobs.Filter{}); len(got) != 5 {
			t.Errorf("all jobs: %v, want 5", got)
		}
	})
}
