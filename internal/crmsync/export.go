package crmsync

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// ExportScope is which of the user's records a calendar or to-do list
// binding sends to its collection. An account may sync several calendars
// (or task lists) of one kind, each a binding; exactly one of them is the
// home collection, where new records go.
type ExportScope string

const (
	// ExportAll: the home collection. Every record of the kind's scope
	// that no sibling binding holds is exported here, new ones included.
	// The default, and what a binding without siblings does.
	ExportAll ExportScope = "all"
	// ExportOwn: another collection. Only the records linked to its
	// items are in scope: it imports its items and sends their local
	// changes back to it, and exports no other record.
	ExportOwn ExportScope = "own"
)

// ParseExportScope reads an export scope; "" is ExportAll.
func ParseExportScope(s string) (ExportScope, error) {
	switch ExportScope(s) {
	case "", ExportAll:
		return ExportAll, nil
	case ExportOwn:
		return ExportOwn, nil
	}
	return "", fmt.Errorf("export scope %q unknown (want %q or %q)", s, ExportAll, ExportOwn)
}

// UnmarshalJSON reads an export scope strictly: a bad value is an error,
// never a scope silently widened to all.
func (e *ExportScope) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("export scope: %w", err)
	}
	v, err := ParseExportScope(s)
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// linkScope is the store's form of a binding's scope among its siblings.
func linkScope(bindingID string, export ExportScope, sibs []reconcile.Sibling) store.LinkScope {
	ls := store.LinkScope{BindingID: bindingID, Own: export == ExportOwn}
	for _, s := range sibs {
		ls.Siblings = append(ls.Siblings, s.BindingID)
	}
	return ls
}

// heldBySibling reports whether a sibling binding links the record (in
// any state): the record is that binding's, not the home one's to export.
func heldBySibling(ctx context.Context, st *store.Store, sibs []reconcile.Sibling, id string) (bool, error) {
	if len(sibs) == 0 {
		return false, nil
	}
	ls, err := st.LinksIn(ctx, siblingIDs(sibs), "local_id", []string{id})
	return len(ls) > 0, err
}

func siblingIDs(sibs []reconcile.Sibling) []string {
	ids := make([]string, len(sibs))
	for i, s := range sibs {
		ids[i] = s.BindingID
	}
	return ids
}

// mayTake reports whether a binding may take up a record it does not link
// (export it, adopt it for an item): the home binding, when no sibling
// holds the record.
func mayTake(ctx context.Context, st *store.Store, export ExportScope, sibs []reconcile.Sibling, id string) (bool, error) {
	if export == ExportOwn {
		return false, nil
	}
	held, err := heldBySibling(ctx, st, sibs, id)
	return !held, err
}

// keptIdentities are the identities the items of ids have in the
// account's collections left out (left: their bindings, whose links stay
// while they are not synced): a record such a collection handed to the
// home one keeps its identity there (reconcile.IdentityKeeper), so the
// event or task is one across the account's collections.
func keptIdentities(ctx context.Context, st *store.Store, left []string, ids []string) (map[string]string, error) {
	if len(left) == 0 || len(ids) == 0 {
		return nil, nil
	}
	ls, err := st.LinksIn(ctx, left, "local_id", ids)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, l := range ls {
		if l.Identity != "" && !l.Pending && !l.Dormant {
			out[l.LocalID] = l.Identity
		}
	}
	return out, nil
}
