package jobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandem-crm/tandem/internal/jobs"
)

func TestCounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b jobs.Backend) {
		ctx := context.Background()
		release := make(chan struct{})
		defer close(release)
		reg := jobs.NewRegistry()
		jobs.Register(reg, river.WorkFunc(func(ctx context.Context, _ *river.Job[echoArgs]) error {
			<-release
			return nil
		}), nil)
		jobs.Register(reg, river.WorkFunc(func(context.Context, *river.Job[failArgs]) error {
			return errors.New("always fails")
		}), &jobs.KindOptions{MaxAttempts: 1})
		jobs.Register(reg, nopWorker[otherArgs](), nil)
		q := newQueue(t, b, reg, 2)

		running, _, err := q.Enqueue(ctx, echoArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		failed, _, err := q.Enqueue(ctx, failArgs{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, _, err := q.Enqueue(ctx, otherArgs{}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, q, running, jobs.StateRunning)
		waitFor(t, q, failed, jobs.StateDiscarded)

		counts, err := q.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, c := range counts {
			got[c.Kind+"/"+string(c.State)] = c.N
		}
		if len(counts) != 3*len(jobs.CountedStates) || len(got) != len(counts) {
			t.Errorf("%d counts, want every kind in every state once: %v", len(counts), counts)
		}
		want := map[string]int{"test_echo/running": 1, "test_fail/discarded": 1, "test_other/scheduled": 2}
		for _, kind := range []string{"test_echo", "test_fail", "test_other"} {
			for _, s := range jobs.CountedStates {
				k := kind + "/" + string(s)
				if n, ok := got[k]; !ok || n != want[k] {
					t.Errorf("%s: %d (present %v), want %d", k, n, ok, want[k])
				}
			}
		}
	})
}
