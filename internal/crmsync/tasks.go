package crmsync

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// TasksLocal is the Tandem side of a to-do list binding (SPEC §4: an
// activity shown in the calendar is exported as a meeting, without it as a
// task; only tasks whose responsible is the user):
//
//   - Scope: activities of type task, not shown in the calendar, whose
//     responsible (owner) is the connection's user. Unlinked tasks sync
//     only if they are not older than the sync-from date: due on or after
//     it (an all-day task on its last day), else planned to start on or
//     after it, else — undated — created on or after it
//     (reconcile.TaskReachesDate). A linked task stays in scope whatever
//     its dates. A task put into the calendar, given to someone else or
//     turned into another type leaves the list (its item is removed, the
//     link kept dormant).
//   - Fields: reconcile.TaskFields — the planned dates, not the actual
//     ones; the status in the list's coarser vocabulary, mapped back
//     without losing "ready for review" (reconcile.ApplyTaskStatus); the
//     completion time as the actual end.
//   - Import: a remote task becomes a task of the user, not shown in the
//     calendar, in the user's time zone. A task carrying an activity's id
//     (tandem_id), or equal in title and dates to an unlinked task of the
//     user, is matched to it instead of being created again (resubscribe).
//   - Removed remotely: the task is deleted (journaled by the engine), as a
//     calendar binding deletes an event's activity; one the user may not
//     edit stays.
//   - Locked: every field of a task the user may only read (RuleNoEdit).
//     The calendar's rules on actual dates do not apply here: a to-do list
//     holds the planned start, not the actual one, and its completion time
//     is the completion itself, entered on either side — reopening a task
//     there must clear it here.
//   - Back in scope: a task whose item is back in the list while the task
//     is shown in the calendar is taken out of the calendar (Reenter).
//   - Several lists (Siblings), as for calendars: the home list (Export
//     ExportAll) exports the tasks no other list of the account links;
//     another one (ExportOwn) only its own items' tasks.
type TasksLocal struct {
	Store     *store.Store
	Viewer    access.Viewer // the connection's user: the responsible of the tasks
	BindingID string
	From      time.Time // the sync-from date; zero: no bound
	// Export is what the binding exports: ExportAll ("" too) or ExportOwn.
	Export ExportScope
	// Siblings are the account's other task list bindings.
	Siblings []reconcile.Sibling
	// Left are the bindings of the account's task lists left out, as for
	// calendars (EventsLocal.Left).
	Left []string
}

var (
	_ reconcile.Local          = (*TasksLocal)(nil)
	_ reconcile.ScopeFilter    = (*TasksLocal)(nil)
	_ reconcile.Adopter        = (*TasksLocal)(nil)
	_ reconcile.SiblingLocal   = (*TasksLocal)(nil)
	_ reconcile.IdentityKeeper = (*TasksLocal)(nil)
)

// BindingSiblings implements reconcile.SiblingLocal.
func (l *TasksLocal) BindingSiblings() []reconcile.Sibling { return l.Siblings }

// Entity implements Local.
func (l *TasksLocal) Entity() string { return store.EntityActivity }

func (l *TasksLocal) reads(tx *store.Tx) *store.Store { return readsIn(l.Store, tx) }

// Load implements Local.
func (l *TasksLocal) Load(ctx context.Context, tx *store.Tx, id string) (reconcile.LocalRecord, error) {
	st := l.reads(tx)
	a, err := st.GetActivity(ctx, l.Viewer, id)
	if errors.Is(err, store.ErrNotFound) {
		return reconcile.LocalRecord{}, nil
	}
	if err != nil {
		return reconcile.LocalRecord{}, err
	}
	in, err := l.inScope(ctx, st, a)
	if err != nil {
		return reconcile.LocalRecord{}, err
	}
	rec := reconcile.LocalRecord{Exists: true, InScope: in, Fields: reconcile.TaskFields(a), Modified: a.UpdatedAt}
	can, err := st.Editable(ctx, l.Viewer, store.EntityActivity, a.ID)
	if err != nil {
		return reconcile.LocalRecord{}, err
	}
	if !can {
		rec.Locked = map[string]string{}
		for _, n := range reconcile.TaskFieldNames {
			rec.Locked[n] = reconcile.RuleNoEdit
		}
	}
	return rec, nil
}

// isTask reports whether a is of the kind a to-do list holds for the user,
// dates aside.
func (l *TasksLocal) isTask(a *crm.Activity) bool {
	return a.Type == "task" && !a.ShowInCalendar && a.OwnerID == l.Viewer.UserID
}

func (l *TasksLocal) inScope(ctx context.Context, st *store.Store, a *crm.Activity) (bool, error) {
	if !l.isTask(a) {
		return false, nil
	}
	linked, err := l.linked(ctx, st, a.ID)
	if err != nil || linked {
		return linked, err
	}
	if ok, err := mayTake(ctx, st, l.Export, l.Siblings, a.ID); err != nil || !ok {
		return false, err
	}
	return reconcile.TaskReachesDate(a, l.From), nil
}

func (l *TasksLocal) linked(ctx context.Context, st *store.Store, id string) (bool, error) {
	_, err := st.FindLink(ctx, l.BindingID, "local_id", id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// InScopeIDs implements ScopeFilter with Load's rule: the store selects
// the user's tasks outside the calendar that are linked or may reach the
// sync-from date, and TaskReachesDate decides the date exactly.
func (l *TasksLocal) InScopeIDs(ctx context.Context, ids []string) (map[string]bool, error) {
	cands, err := l.Store.TaskCandidates(ctx, l.Viewer, linkScope(l.BindingID, l.Export, l.Siblings), l.From, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(cands))
	for i := range cands {
		c := &cands[i]
		if c.Linked || reconcile.TaskReachesDate(&c.Activity, l.From) {
			out[c.Activity.ID] = true
		}
	}
	return out, nil
}

// Create implements Local: a task of the user outside the calendar.
func (l *TasksLocal) Create(ctx context.Context, tx *store.Tx, f reconcile.Fields) (string, error) {
	tz := "UTC"
	if _, err := time.LoadLocation(l.Viewer.TZ); err == nil && l.Viewer.TZ != "" {
		tz = l.Viewer.TZ
	}
	a := &crm.Activity{Type: "task", OwnerID: l.Viewer.UserID, Status: "not_started", Priority: "normal", TimeZone: tz}
	if err := reconcile.ApplyTaskFields(a, f, reconcile.TaskFieldNames); err != nil {
		return "", err
	}
	if err := tx.CreateActivity(ctx, l.Viewer, a); err != nil {
		return "", err
	}
	return a.ID, nil
}

// Adopt implements reconcile.Adopter: an unlinked activity of the user
// that a remote task stands for, by the activity id the item carries,
// else a task outside the calendar with the same title and dates; "" when
// there is none. One an account's other list links is that list's.
func (l *TasksLocal) Adopt(ctx context.Context, tx *store.Tx, f reconcile.Fields) (string, error) {
	st := l.reads(tx)
	usable := func(a *crm.Activity) (bool, error) {
		if a.OwnerID != l.Viewer.UserID {
			return false, nil
		}
		linked, err := l.linked(ctx, st, a.ID)
		if err != nil || linked {
			return false, err
		}
		held, err := heldBySibling(ctx, st, l.Siblings, a.ID)
		return !held, err
	}
	if id := f[reconcile.FieldTandemID]; id != "" {
		a, err := st.GetActivity(ctx, l.Viewer, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if err == nil {
			ok, err := usable(a)
			if err != nil {
				return "", err
			}
			if ok {
				return a.ID, nil
			}
		}
	}
	title := strings.TrimSpace(f[reconcile.FieldTitle])
	if title == "" {
		return "", nil
	}
	no := false
	cands, _, err := st.ListActivities(ctx, l.Viewer, store.ActivityFilter{Type: "task", OwnerID: l.Viewer.UserID,
		ShowInCalendar: &no, Q: title, Page: store.Page{Limit: 200}})
	if err != nil {
		return "", err
	}
	for i := range cands {
		a := &cands[i]
		if strings.TrimSpace(a.Title) != title {
			continue
		}
		af := reconcile.TaskFields(a)
		if af[reconcile.FieldStart] != f[reconcile.FieldStart] || af[reconcile.FieldDue] != f[reconcile.FieldDue] ||
			af[reconcile.FieldAllDay] != f[reconcile.FieldAllDay] {
			continue
		}
		ok, err := usable(a)
		if err != nil {
			return "", err
		}
		if ok {
			return a.ID, nil
		}
	}
	return "", nil
}

// Update implements Local.
func (l *TasksLocal) Update(ctx context.Context, tx *store.Tx, id string, f reconcile.Fields, names []string) error {
	a, err := l.reads(tx).GetActivity(ctx, l.Viewer, id)
	if err != nil {
		return err
	}
	if err := reconcile.ApplyTaskFields(a, f, names); err != nil {
		return err
	}
	a.Tags, a.Access = nil, nil // leave as they are
	return tx.UpdateActivity(ctx, l.Viewer, a, a.Version)
}

// RemoteRemoved implements Local: a task deleted in the list deletes the
// activity (the engine journals it). One the user may not edit stays: a
// list must not delete what Tandem does not let its user delete.
func (l *TasksLocal) RemoteRemoved(ctx context.Context, tx *store.Tx, id string) (string, error) {
	if can, err := l.reads(tx).Editable(ctx, l.Viewer, store.EntityActivity, id); err != nil || !can {
		return "keep", err
	}
	if err := tx.DeleteActivity(ctx, l.Viewer, id); err != nil {
		return "", err
	}
	return reconcile.ActionDelete, nil
}

// Reenter implements Local: a task whose item is back in the list while it
// is shown in the calendar is taken out of the calendar. A task given to
// someone else, or no longer a task, stays out (the link stays dormant).
func (l *TasksLocal) Reenter(ctx context.Context, tx *store.Tx, id string) (string, error) {
	a, err := l.reads(tx).GetActivity(ctx, l.Viewer, id)
	if err != nil || a.Type != "task" || a.OwnerID != l.Viewer.UserID || !a.ShowInCalendar {
		return "", err
	}
	a.ShowInCalendar = false
	a.Tags, a.Access = nil, nil // leave as they are
	if err := tx.UpdateActivity(ctx, l.Viewer, a, a.Version); err != nil {
		return "", err
	}
	return "hide", nil
}

// KeptIdentities implements reconcile.IdentityKeeper (see Left).
func (l *TasksLocal) KeptIdentities(ctx context.Context, ids []string) (map[string]string, error) {
	return keptIdentities(ctx, l.Store, l.Left, ids)
}
