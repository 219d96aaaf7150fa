package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// State is where a job is in its life.
type State string

// The states, as River names them.
const (
	StatePending   State = "pending"   // inserted on hold; never run until made available
	StateScheduled State = "scheduled" // waits for its ScheduledAt
	StateAvailable State = "available" // ready; the next free worker takes it
	StateRunning   State = "running"
	StateRetryable State = "retryable" // failed; runs again at ScheduledAt
	StateCompleted State = "completed"
	StateCancelled State = "cancelled"
	StateDiscarded State = "discarded" // failed MaxAttempts times
)

var states = []State{
	StatePending, StateScheduled, StateAvailable, StateRunning,
	StateRetryable, StateCompleted, StateCancelled, StateDiscarded,
}

// Job is a job as the UI and API show it.
type Job struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Queue       string          `json:"queue"`
	State       State           `json:"state"`
	Attempt     int             `json:"attempt"` // runs so far, including a current one
	MaxAttempts int             `json:"max_attempts"`
	Errors      []string        `json:"errors"` // one per failed attempt, oldest first
	Args        json.RawMessage `json:"args"`
	CreatedAt   time.Time       `json:"created_at"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	AttemptedAt *time.Time      `json:"attempted_at,omitempty"` // start of the latest attempt
	FinalizedAt *time.Time      `json:"finalized_at,omitempty"` // completed, cancelled or discarded
}

func jobFromRow(r *rivertype.JobRow) Job {
	errs := make([]string, len(r.Errors))
	for i, e := range r.Errors {
		errs[i] = e.Error
	}
	return Job{
		ID:          r.ID,
		Kind:        r.Kind,
		Queue:       r.Queue,
		State:       State(r.State),
		Attempt:     r.Attempt,
		MaxAttempts: r.MaxAttempts,
		Errors:      errs,
		Args:        json.RawMessage(slices.Clone(r.EncodedArgs)),
		CreatedAt:   r.CreatedAt,
		ScheduledAt: r.ScheduledAt,
		AttemptedAt: r.AttemptedAt,
		FinalizedAt: r.FinalizedAt,
	}
}

var (
	// ErrNotFound means no job has the given id (it may have been cleaned
	// up: completed jobs are deleted after a day, discarded ones after a
	// week).
	ErrNotFound = errors.New("job not found")

	// ErrInvalidFilter means a Filter field is out of range.
	ErrInvalidFilter = errors.New("invalid job filter")

	// ErrNotRetryable means Retry was asked of a job that has completed,
	// is running or is about to run.
	ErrNotRetryable = errors.New("job cannot be retried")
)

// Retryable reports whether Retry accepts a job in state s: a failed,
// discarded or cancelled job runs again, a waiting (scheduled or pending)
// one runs now. A completed job did its work, and a running or available
// one is already under way.
func Retryable(s State) bool {
	switch s {
	case StateRetryable, StateDiscarded, StateCancelled, StateScheduled, StatePending:
		return true
	}
	return false
}

// Filter selects jobs for List. The zero value lists the newest jobs of
// every state and kind.
type Filter struct {
	State State  // "" for any
	Kind  string // "" for any
	// HideTicks leaves out the completed runs of periodic jobs (the
	// scheduler's ticks, such as sync.schedule every minute); failed ones
	// still show.
	HideTicks bool
	Limit     int    // page size; 0 means DefaultListLimit, at most MaxListLimit
	Cursor    string // "" for the first page, else the cursor List returned
}

// Page sizes of List.
const (
	DefaultListLimit = 50   // when Filter.Limit is 0
	MaxListLimit     = 1000 // the largest Filter.Limit accepted
)

// List returns a page of jobs, newest first, and the cursor of the next page
// ("" on the last). Cursors are opaque; they stay valid while jobs come and
// go, since a page continues below the last id seen.
func (q *Queue) List(ctx context.Context, f Filter) ([]Job, string, error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultListLimit
	case limit < 0 || limit > MaxListLimit:
		return nil, "", fmt.Errorf("jobs: list: %w: limit %d not in 1..%d", ErrInvalidFilter, limit, MaxListLimit)
	}
	// One extra row tells whether another page follows.
	params := river.NewJobListParams().OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit + 1)
	if f.State != "" {
		if !slices.Contains(states, f.State) {
			return nil, "", fmt.Errorf("jobs: list: %w: unknown state %q", ErrInvalidFilter, f.State)
		}
		params = params.States(rivertype.JobState(f.State))
	}
	if f.Kind != "" {
		params = params.Kinds(f.Kind)
	}
	if f.HideTicks && len(q.periodicKinds) > 0 {
		names := make([]string, len(q.periodicKinds))
		args := river.NamedArgs{}
		for i, k := range q.periodicKinds {
			names[i] = "@tick_kind_" + strconv.Itoa(i)
			args[names[i][1:]] = k
		}
		params = params.Where("NOT (state = 'completed' AND kind IN ("+strings.Join(names, ", ")+"))", args)
	}
	if f.Cursor != "" {
		after, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || after <= 0 {
			return nil, "", fmt.Errorf("jobs: list: %w: bad cursor %q", ErrInvalidFilter, f.Cursor)
		}
		// Ordered by id alone, River's cursor needs only the id.
		params = params.After(river.JobListCursorFromJob(&rivertype.JobRow{ID: after}))
	}

	res, err := q.client.JobList(ctx, params)
	if err != nil {
		return nil, "", fmt.Errorf("jobs: list: %w", err)
	}
	rows := res.Jobs
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		next = strconv.FormatInt(rows[limit-1].ID, 10)
	}
	jobs := make([]Job, len(rows))
	for i, r := range rows {
		jobs[i] = jobFromRow(r)
	}
	return jobs, next, nil
}

// Get returns one job, or an error wrapping ErrNotFound.
func (q *Queue) Get(ctx context.Context, id int64) (Job, error) {
	row, err := q.client.JobGet(ctx, id)
	return jobResult("get", id, row, err)
}

// Cancel cancels a job. A waiting job is cancelled at once and never runs. A
// running job's context is cancelled, and the job ends cancelled if its
// worker then returns an error (it may still complete). A finished job is
// returned unchanged.
func (q *Queue) Cancel(ctx context.Context, id int64) (Job, error) {
	row, err := q.client.JobCancel(ctx, id)
	return jobResult("cancel", id, row, err)
}

// Retry makes a failed, discarded or cancelled job available to run again
// now (a discarded one gets one more attempt), and a waiting one available
// at once. A job in another state is refused with ErrNotRetryable, and
// returned unchanged.
func (q *Queue) Retry(ctx context.Context, id int64) (Job, error) {
	j, err := q.Get(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if !Retryable(j.State) {
		return j, fmt.Errorf("jobs: retry %d: %w: it is %s", id, ErrNotRetryable, j.State)
	}
	// The job may change state between the look and the retry (a failed
	// one that its backoff just ran): River then retries it as it found it,
	// which at worst runs a job once more.
	row, err := q.client.JobRetry(ctx, id)
	return jobResult("retry", id, row, err)
}

func jobResult(op string, id int64, row *rivertype.JobRow, err error) (Job, error) {
	switch {
	case errors.Is(err, rivertype.ErrNotFound):
		return Job{}, fmt.Errorf("jobs: %s %d: %w", op, id, ErrNotFound)
	case err != nil:
		return Job{}, fmt.Errorf("jobs: %s %d: %w", op, id, err)
	}
	return jobFromRow(row), nil
}
