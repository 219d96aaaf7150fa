package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/jobs"
)

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
