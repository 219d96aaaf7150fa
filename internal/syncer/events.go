package syncer

import (
	"context"
	"errors"
	"fmt"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crmsync"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// eventsParts builds the connector and local side of a calendar binding.
func (s *Service) eventsParts(ctx context.Context, p provider.Provider, sess provider.Session, v access.Viewer, b *store.Binding) (reconcile.Connector, *crmsync.EventsLocal, error) {
	set, err := DecodeSettings(provider.Event, b.Policy)
	if err != nil {
		return nil, nil, err
	}
	es := set.(*EventSettings)
	if es.CalendarID == "" || b.Collection == "" {
		return nil, nil, errors.New("sync: choose the calendar to sync with")
	}
	if off, err := kindOff(ctx, p, provider.Event); err != nil {
		return nil, nil, err
	} else if off != nil {
		return nil, nil, off
	}
	conn, err := sess.Connector(ctx, eventsSpec(b, es, v))
	if err != nil {
		return nil, nil, err
	}
	sibs, left, err := s.neighbours(ctx, sess, v, b)
	if err != nil {
		return nil, nil, err
	}
	local := &crmsync.EventsLocal{Store: s.Store, Viewer: v, BindingID: b.ID, From: es.From(v.TZ), ImportAs: es.ImportAs,
		Export: es.Export, Siblings: sibs, Left: left}
	return conn, local, nil
}

// eventsSpec is what the connector of a calendar binding is built from:
// listed from the sync-from date, or a later date to sync again from.
func eventsSpec(b *store.Binding, es *EventSettings, v access.Viewer) provider.BindingSpec {
	from := es.From(v.TZ)
	if es.ResyncFrom != "" {
		if t := (EventSettings{SyncFrom: es.ResyncFrom}).From(v.TZ); t.After(from) {
			from = t
		}
	}
	return provider.BindingSpec{Kind: provider.Event, Collection: b.Collection, From: from, Self: v.Email, TZ: v.TZ}
}

// neighbours are, from one read of b's connection's bindings of its kind:
// siblings, the other current ones (the other calendars or task lists
// picked on the account), each with its collection's connector; and left,
// those whose collection was left out (not current any more), whose links
// stay after handing their records to the home one (unsubscribe).
func (s *Service) neighbours(ctx context.Context, sess provider.Session, v access.Viewer, b *store.Binding) (siblings []reconcile.Sibling, left []string, err error) {
	kind, err := provider.ParseKind(b.Kind)
	if err != nil {
		return nil, nil, err
	}
	bs, err := s.Store.ListBindings(ctx, b.ConnectionID)
	if err != nil {
		return nil, nil, err
	}
	current, err := pickedBindings(kind, bs)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range current {
		if o.ID == b.ID {
			continue
		}
		set, err := DecodeSettings(kind, o.Policy)
		if err != nil {
			return nil, nil, err
		}
		var spec provider.BindingSpec
		switch set := set.(type) {
		case *EventSettings:
			spec = eventsSpec(o, set, v)
		case *TaskSettings:
			spec = tasksSpec(o, set, v)
		}
		conn, err := sess.Connector(ctx, spec)
		if err != nil {
			return nil, nil, err
		}
		siblings = append(siblings, reconcile.Sibling{BindingID: o.ID, Conn: conn})
	}
	for _, o := range bs {
		if o.ID == b.ID || o.Kind != b.Kind || o.Collection == "" {
			continue
		}
		set, err := DecodeSettings(kind, o.Policy)
		if err != nil {
			return nil, nil, fmt.Errorf("%s binding %s: %w", kind, o.ID, err)
		}
		if ps, ok := set.(picked); ok && !ps.isCurrent() {
			left = append(left, o.ID)
		}
	}
	return siblings, left, nil
}

// runEvents syncs a calendar binding: the user's activities shown in the
// calendar with the events of the chosen remote calendar, from the
// sync-from date.
func (s *Service) runEvents(ctx context.Context, p provider.Provider, sess provider.Session, v access.Viewer, b *store.Binding) (reconcile.Stats, error) {
	conn, local, err := s.eventsParts(ctx, p, sess, v, b)
	if err != nil {
		return reconcile.Stats{}, err
	}
	if _, err := local.ApplyOrganizerRule(ctx, b.LocalCursor); err != nil {
		return reconcile.Stats{}, fmt.Errorf("organizer rule: %w", err)
	}
	done, err := DecodeSettings(provider.Event, b.Policy)
	if err != nil {
		return reconcile.Stats{}, err
	}
	stats, err := s.engine.Run(ctx, b.ID, conn, local)
	if err == nil {
		err = s.resyncDone(ctx, b.ID, done.(*EventSettings).ResyncFrom)
	}
	return stats, err
}

// resyncDone clears a resync date once a run made it, unless the user
// asked for another meanwhile.
func (s *Service) resyncDone(ctx context.Context, bindingID, done string) error {
	if done == "" {
		return nil
	}
	b, err := s.Store.GetBinding(ctx, bindingID)
	if err != nil {
		return err
	}
	set, err := DecodeSettings(provider.Event, b.Policy)
	if err != nil {
		return err
	}
	es := set.(*EventSettings)
	if es.ResyncFrom != done {
		return nil
	}
	es.ResyncFrom = ""
	b.Policy = mustJSON(es)
	return s.Store.SaveBinding(ctx, b)
}
