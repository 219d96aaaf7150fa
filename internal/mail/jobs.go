package mail

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/store"
)

// LoadArgs is the job that loads one mailbox; one waits or runs per
// mailbox at a time.
type LoadArgs struct {
	MailboxID string `json:"mailbox_id" river:"unique"`
	Reason    string `json:"reason"` // "manual", "schedule", "idle"
}

// Kind implements river.JobArgs.
func (LoadArgs) Kind() string { return "mail.load" }

type loadWorker struct {
	river.WorkerDefaults[LoadArgs]
	m *Mailboxes
}

func (w *loadWorker) Work(ctx context.Context, j *river.Job[LoadArgs]) error {
	_, err := w.m.Load(ctx, j.Args.MailboxID)
	switch {
	case errors.Is(err, ErrBusy), errors.Is(err, ErrLeaseLost):
		// Another process loads it; this job's turn comes after.
		return river.JobSnooze(5 * time.Second)
	case wire.IsAuth(err), errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrMailboxGone):
		// The user must act (the status says so), or the mailbox is gone.
		return river.JobCancel(err)
	}
	return err
}

// Timeout lets a first load of a big mailbox finish.
func (w *loadWorker) Timeout(*river.Job[LoadArgs]) time.Duration { return time.Hour }

// scheduleArgs is the periodic job that enqueues due loads.
type scheduleArgs struct{}

func (scheduleArgs) Kind() string { return "mail.schedule" }

type scheduleWorker struct {
	river.WorkerDefaults[scheduleArgs]
	m *Mailboxes
}

func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[scheduleArgs]) error {
	return w.m.EnqueueDue(ctx, w.m.Now())
}

// IntervalSettings reads MailboxSyncInterval (settings.Service).
type IntervalSettings interface {
	Int(ctx context.Context, code string) int
}

// Register adds the mail jobs to a registry; q enqueues loads.
func (m *Mailboxes) Register(reg *jobs.Registry, q *jobs.Queue, set IntervalSettings) {
	m.queue, m.interval = q, set
	jobs.Register(reg, &loadWorker{m: m}, &jobs.KindOptions{MaxAttempts: 5})
	jobs.Register(reg, &scheduleWorker{m: m}, nil)
	reg.AddPeriodic(time.Minute, scheduleArgs{}, &river.InsertOpts{UniqueOpts: jobs.OnePerKey()})
}

// ErrNoQueue: this process has no job queue to enqueue loads on.
var ErrNoQueue = errors.New("mail: no job queue in this process")

// EnqueueLoad asks for a load of a mailbox; one already waiting absorbs it.
func (m *Mailboxes) EnqueueLoad(ctx context.Context, id, reason string) (int64, error) {
	if m.queue == nil {
		return 0, ErrNoQueue
	}
	jobID, _, err := m.queue.Enqueue(ctx, LoadArgs{MailboxID: id, Reason: reason}, &river.InsertOpts{UniqueOpts: jobs.OnePerKey()})
	return jobID, err
}

// EnqueueDue enqueues loads of the automatic mailboxes whose
// MailboxSyncInterval has passed since their last load.
func (m *Mailboxes) EnqueueDue(ctx context.Context, now time.Time) error {
	minutes := m.SyncInterval(ctx)
	due, err := m.st.AutoLoadMailboxes(ctx)
	if err != nil {
		return err
	}
	for _, d := range due {
		if now.Sub(crm.FromMicros(d.LastLoadAt)) < time.Duration(minutes)*time.Minute {
			continue
		}
		if _, err := m.EnqueueLoad(ctx, d.ID, "schedule"); err != nil {
			return err
		}
	}
	return nil
}
