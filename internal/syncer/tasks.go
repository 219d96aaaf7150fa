package syncer

import (
	"context"
	"errors"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crmsync"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// tasksParts builds the connector and local side of a to-do list binding.
func (s *Service) tasksParts(ctx context.Context, p provider.Provider, sess provider.Session, v access.Viewer, b *store.Binding) (reconcile.Connector, *crmsync.TasksLocal, error) {
	set, err := DecodeSettings(provider.Task, b.Policy)
	if err != nil {
		return nil, nil, err
	}
	ts := set.(*TaskSettings)
	if ts.ListID == "" || b.Collection == "" {
		return nil, nil, errors.New("sync: choose the task list to sync with")
	}
	if off, err := kindOff(ctx, p, provider.Task); err != nil {
		return nil, nil, err
	} else if off != nil {
		return nil, nil, off
	}
	conn, err := sess.Connector(ctx, tasksSpec(b, ts, v))
	if err != nil {
		return nil, nil, err
	}
	sibs, left, err := s.neighbours(ctx, sess, v, b)
	if err != nil {
		return nil, nil, err
	}
	return conn, &crmsync.TasksLocal{Store: s.Store, Viewer: v, BindingID: b.ID, From: ts.From(v.TZ), Export: ts.Export,
		Siblings: sibs, Left: left}, nil
}

// tasksSpec is what the connector of a to-do list binding is built from.
func tasksSpec(b *store.Binding, ts *TaskSettings, v access.Viewer) provider.BindingSpec {
	return provider.BindingSpec{Kind: provider.Task, Collection: b.Collection, From: ts.From(v.TZ), Self: v.Email, TZ: v.TZ}
}

// runTasks syncs a to-do list binding: the user's tasks outside the
// calendar with the tasks of the chosen remote list, from the sync-from
// date.
func (s *Service) runTasks(ctx context.Context, p provider.Provider, sess provider.Session, v access.Viewer, b *store.Binding) (reconcile.Stats, error) {
	conn, local, err := s.tasksParts(ctx, p, sess, v, b)
	if err != nil {
		return reconcile.Stats{}, err
	}
	return s.engine.Run(ctx, b.ID, conn, local)
}
