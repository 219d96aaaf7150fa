package reconcile

import (
	"context"
	"errors"

	"github.com/tandem-crm/tandem/internal/store"
)

// Handing over between siblings: a calendar (or task list) left out of an
// account's several keeps its links, inert, and its records go to the
// home collection, which exports them as new items (the syncer's
// unsubscribe). Ticked again, that collection takes them back. Two rules
// keep this from doubling anything:
//
//   - One identity: the home binding gives such a record's new item the
//     identity (UID) its item has in the collection left out
//     (IdentityKeeper, IdentityCreator), so the event stays one event for
//     the account's clients and for the sibling logic, which matches
//     items across collections by identity.
//   - The copy goes: once the collection syncs again, its link (kept, with
//     its base) makes its item the record's again, and an item of another
//     binding that Tandem created under the same identity while the
//     record was handed over is a copy (dropCopies): it is removed from
//     that collection and its link forgotten. The record stays. Only an
//     item Tandem created is removed, never one a user put there, and only
//     while the original is still in its collection: a copy whose
//     original is gone is the record's only item.

// IdentityKeeper is a Local whose records may have an identity already
// that their new items must take: an event handed over by a calendar of
// the account left out keeps the UID it has there.
type IdentityKeeper interface {
	// KeptIdentities returns, for those of ids that have one, the
	// identity a new item of the record takes.
	KeptIdentities(ctx context.Context, ids []string) (map[string]string, error)
}

// IdentityCreator is a Connector that can create an item with a given
// identity (a calendar object with a UID it did not make up).
type IdentityCreator interface {
	CreateIdentity(ctx context.Context, f Fields, marker, identity string) (Item, error)
}

// keptIdentities asks the Local which of ids keep an identity.
func (r *run) keptIdentities(ctx context.Context, ids []string) (map[string]string, error) {
	k, ok := r.local.(IdentityKeeper)
	if !ok || len(ids) == 0 {
		return nil, nil
	}
	return k.KeptIdentities(ctx, ids)
}

// createItem creates an item, with identity when one is given and the
// connector can.
func createItem(ctx context.Context, c Connector, f Fields, marker, identity string) (Item, error) {
	if ic, ok := c.(IdentityCreator); ok && identity != "" {
		return ic.CreateIdentity(ctx, f, marker, identity)
	}
	return c.Create(ctx, f, marker)
}

// dropCopies removes, from a push batch, the records whose item here is
// a copy Tandem made while a sibling's collection was left out, now that
// it syncs again (see above); it returns the rest. A copy is an item
// Tandem created (it carries this link's marker) under an identity it
// did not make (not its marker: a handed-over one) that a sibling links,
// live, to the same record, and whose item there is still in its
// collection.
func (r *run) dropCopies(ctx context.Context, recs []pushRec) ([]pushRec, error) {
	if len(r.sibs) == 0 {
		return recs, nil
	}
	var ids []string
	for _, rec := range recs {
		if l := rec.link; l != nil && !l.Pending && !l.Dormant && l.Identity != "" && l.Identity != l.Marker && rec.lr.Exists {
			ids = append(ids, rec.id)
		}
	}
	if len(ids) == 0 {
		return recs, nil
	}
	sls, err := r.e.State.LinksIn(ctx, r.sibIDs(), "local_id", ids)
	if err != nil {
		return nil, err
	}
	kept := recs[:0:0]
	for _, rec := range recs {
		var orig *store.Link
		for _, sl := range sls {
			if rec.link != nil && sl.LocalID == rec.id && sl.Identity == rec.link.Identity && !sl.Pending && !sl.Dormant {
				orig = sl
			}
		}
		if orig == nil {
			kept = append(kept, rec)
			continue
		}
		dropped, err := r.dropCopy(ctx, rec.link, orig)
		if err := r.skip(rec.id, err); err != nil {
			return nil, err
		}
		if !dropped {
			kept = append(kept, rec)
		}
	}
	return kept, nil
}

// dropCopy removes the item of l, a copy of the item orig links in a
// sibling's collection, if Tandem made it and the original is there.
func (r *run) dropCopy(ctx context.Context, l, orig *store.Link) (bool, error) {
	var sib Connector
	for _, s := range r.sibs {
		if s.BindingID == orig.BindingID {
			sib = s.Conn
		}
	}
	if sib == nil {
		return false, nil
	}
	o, err := sib.Get(ctx, orig.RemoteID)
	if errors.Is(err, ErrRemoteNotFound) || err == nil && o.Deleted {
		return false, nil // the copy is all there is
	}
	if err != nil {
		return false, err
	}
	it, err := r.conn.Get(ctx, l.RemoteID)
	switch {
	case errors.Is(err, ErrRemoteNotFound), err == nil && it.Deleted:
		// Gone already: only the link is left to forget.
	case err != nil:
		return false, err
	case it.Marker == "" || it.Marker != l.Marker:
		return false, nil // not Tandem's: a user's copy stays
	default:
		err := r.conn.Delete(ctx, l.RemoteID, it.ETag)
		if err != nil && !errors.Is(err, ErrRemoteNotFound) {
			return false, err
		}
	}
	r.previewName = DisplayName(decodeFields(l.Base))
	err = r.inTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteLink(ctx, r.b.ID, l.LocalID); err != nil {
			return err
		}
		r.stats.RemoteRemoved++
		return r.journal(ctx, tx, l.LocalID, l.RemoteID, "remote", "remove", nil, ReasonCopyRemoved)
	})
	return err == nil, err
}
