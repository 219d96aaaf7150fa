package reconcile

import (
	"context"
)

// ScopeFilter is what a Local may offer so the push phase need not load
// every changed record. The change log is shared by all users and all
// bindings, so most of what a binding reads there is other people's
// records, which are neither linked nor in its scope: pushing them does
// nothing, but finding that out one record at a time (a link look-up and
// a Load each) made a small binding's run as slow as the whole company's
// activity. The policy stays in the Local: InScopeIDs must agree with
// Load(id).InScope for every id (false for records that do not exist or
// the binding's user cannot see) as of the moment it is called.
type ScopeFilter interface {
	// InScopeIDs reports which of ids are in the binding's scope now, in
	// about one query per batch.
	InScopeIDs(ctx context.Context, ids []string) (map[string]bool, error)
}

// wanted tells which of ids (distinct records changed by others) the push
// must look at: those linked in the binding (a change may have to be sent,
// or the record left the scope and must be removed remotely) and those in
// its scope (a change to send, or a record to create remotely). Others
// have nothing to push. It returns nil — look at every record — when the
// Local is not a ScopeFilter.
func (r *run) wanted(ctx context.Context, ids []string) (map[string]bool, error) {
	sf, ok := r.local.(ScopeFilter)
	if !ok {
		return nil, nil
	}
	wanted := map[string]bool{}
	if len(ids) == 0 {
		return wanted, nil
	}
	linked, err := r.e.State.LinkedIDs(ctx, r.b.ID, ids)
	if err != nil {
		return nil, err
	}
	in, err := sf.InScopeIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, m := range []map[string]bool{linked, in} {
		for id, yes := range m {
			if yes {
				wanted[id] = true
			}
		}
	}
	return wanted, nil
}
