package crmsync

import (
	"context"

	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

var (
	_ reconcile.ScopeFilter     = (*ContactsLocal)(nil)
	_ reconcile.ScopeFilter     = (*EventsLocal)(nil)
	_ reconcile.Local           = (*ContactsLocal)(nil)
	_ reconcile.ScopeCandidates = (*ContactsLocal)(nil)
	_ reconcile.BatchLoader     = (*ContactsLocal)(nil)
)

// InScopeIDs implements ScopeFilter with Load's rule (see EventsLocal and
// its inScope): the store selects the activities the user can see that
// are shown in the calendar, dated, organized by the user or owned by them
// and organized by no one or by a user without calendar sync, that are
// linked or that the binding may take up (its export scope, its
// siblings), and that are linked or may reach the sync-from date; ReachesDate then decides the
// date exactly (recurrences included) for those not linked.
func (l *EventsLocal) InScopeIDs(ctx context.Context, ids []string) (map[string]bool, error) {
	cands, err := l.Store.CalendarCandidates(ctx, l.Viewer, linkScope(l.BindingID, l.Export, l.Siblings), l.From, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(cands))
	for i := range cands {
		c := &cands[i]
		if c.Linked || reconcile.ReachesDate(&c.Activity, l.From) {
			out[c.Activity.ID] = true
		}
	}
	return out, nil
}

// readsIn is the store a Local reads through: inside the engine's
// transaction when there is one, so a read sees what the transaction
// wrote (a record an earlier item of the page created).
func readsIn(st *store.Store, tx *store.Tx) *store.Store {
	if tx != nil {
		return tx.Reads()
	}
	return st
}
