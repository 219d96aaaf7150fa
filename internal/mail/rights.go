package mail

import (
	"context"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/store"
)

// What a viewer may do with a mailbox, for the API and the UI to show
// only what the service will accept.

// CanGrant reports whether the viewer may change a shared mailbox's
// grants: its owner holding the shared-mailbox operation, or a configurer
// holding the operation for configuring shared mailboxes.
func CanGrant(v access.Viewer, acc store.MailboxAccess) bool {
	return (acc.Owner && v.Can(access.OpConnectSharedMailbox)) || (acc.Configure && v.Can(access.OpManageSharedMailboxSync))
}

// Folders returns the mailbox's folder tree as its last load read it, for
// those who configure it.
func (m *Mailboxes) Folders(ctx context.Context, v access.Viewer, id string) ([]store.MailFolder, error) {
	_, acc, err := m.access(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if !CanConfigure(v, acc) {
		return nil, ErrNoRight
	}
	return m.st.MailFolders(ctx, id)
}

// LoadNow enqueues a load of the viewer's mailbox (owner or configurer).
func (m *Mailboxes) LoadNow(ctx context.Context, v access.Viewer, id string) (int64, error) {
	_, acc, err := m.access(ctx, v, id)
	if err != nil {
		return 0, err
	}
	if !CanConfigure(v, acc) {
		return 0, ErrNoRight
	}
	return m.EnqueueLoad(ctx, id, "manual")
}

// SetQueue gives the service the job queue loads are enqueued on, when
// the queue is made after Register (the app opens it last).
func (m *Mailboxes) SetQueue(q *jobs.Queue) { m.queue = q }

// SyncInterval is MailboxSyncInterval in minutes, as EnqueueDue uses it.
func (m *Mailboxes) SyncInterval(ctx context.Context) int {
	if m.interval != nil {
		if n := m.interval.Int(ctx, "MailboxSyncInterval"); n > 0 {
			return n
		}
	}
	return 10
}
