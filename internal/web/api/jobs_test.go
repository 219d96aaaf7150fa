package api_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// cleanupJob enqueues the app's housekeeping kind, which has a worker.
type cleanupJob struct{}

func (cleanupJob) Kind() string { return "maintenance.cleanup" }

// TestRetryJob: a completed job is not retried (409 job_not_retryable, the
// job left as it was); a cancelled one is.
func TestRetryJob(t *testing.T) {
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		ctx := context.Background()
		done, _, err := s.App.Queue.Enqueue(ctx, cleanupJob{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.WaitJob(t, done, jobs.StateCompleted)
		r := s.Admin.Do(t, "POST", "/api/v1/jobs/"+strconv.FormatInt(done, 10)+"/retry", nil)
		if p := decodeProblem(t, r); r.Status != http.StatusConflict || p.Code != "job_not_retryable" {
			t.Errorf("retry of a completed job: %d %+v", r.Status, p)
		}
		if j, _ := s.App.Queue.Get(ctx, done); j.State != jobs.StateCompleted {
			t.Errorf("the completed job is now %s", j.State)
		}

		later, _, err := s.App.Queue.Enqueue(ctx, cleanupJob{}, &river.InsertOpts{ScheduledAt: time.Now().Add(24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		id := strconv.FormatInt(later, 10)
		s.Admin.JSON(t, "POST", "/api/v1/jobs/"+id+"/cancel", nil, http.StatusOK, nil)
		var j jobs.Job
		s.Admin.JSON(t, "POST", "/api/v1/jobs/"+id+"/retry", nil, http.StatusOK, &j)
		if j.State == jobs.StateCancelled {
			t.Errorf("the cancelled job is still %s", j.State)
		}
	})
}
