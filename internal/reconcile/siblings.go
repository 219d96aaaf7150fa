package reconcile

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/tandem-crm/tandem/internal/store"
)

// Siblings: several collections of one kind on one account (calendars
// picked together on a CalDAV account) are each a binding of its own, with
// its links, cursors and runs, over the same records. Users move items
// between such collections on the server — to the remote a delete in one
// and a create with the same identity (UID) in another — and that must
// leave one record, synced with the item where it is now, never a deleted
// record and a new one, nor two records.
//
//   - A new item of this collection whose identity a sibling links is that
//     sibling's record: the item is linked to it here (Stats.Linked,
//     ReasonMovedHere) and merged three-way against the sibling's base, so
//     what changed on either side since survives. A sibling link that is
//     dormant (the sibling saw the item leave and kept its record) is
//     handed over: the sibling forgets it (ReasonMovedAway). A live one
//     stays: the item may be in both collections (a copy), or the
//     sibling has not listed its removal yet.
//   - An item that leaves this collection while its record has a live
//     link in a sibling is that sibling's now: the link here is forgotten
//     and the record stays.
//   - An item that leaves this collection while a sibling's collection
//     holds its identity (IdentityFinder, asked before the batch's
//     transaction) moved there before the sibling listed it: the link is
//     handed to the sibling (with no etag, so its next listing merges the
//     item against the base) and the record stays.

// Sibling is another binding of the same kind on the same account.
type Sibling struct {
	BindingID string
	// Conn is its collection. When it is an IdentityFinder, an item
	// that leaves this binding's collection is looked for there.
	Conn Connector
}

// SiblingLocal is a Local whose binding has siblings.
type SiblingLocal interface {
	BindingSiblings() []Sibling
}

// IdentityFinder is a Connector that finds an item of its collection by
// its identity (a calendar object's UID). An item found outside the
// connector's window is reported Deleted, as a listing would show it.
type IdentityFinder interface {
	FindByIdentity(ctx context.Context, identity string) (Item, bool, error)
}

// movedItem is an item gone from this collection that a sibling's
// collection holds now.
type movedItem struct {
	sib  string // the sibling's binding
	item Item
}

// siblings reads the binding's siblings from the Local.
func (r *run) siblings() {
	sl, ok := r.local.(SiblingLocal)
	if !ok {
		return
	}
	for _, s := range sl.BindingSiblings() {
		if s.BindingID != "" && s.BindingID != r.b.ID {
			r.sibs = append(r.sibs, s)
		}
	}
}

func (r *run) sibIDs() []string {
	ids := make([]string, len(r.sibs))
	for i, s := range r.sibs {
		ids[i] = s.BindingID
	}
	return ids
}

// readSiblingLinks reads, inside a batch's transaction, the siblings'
// links of the batch's identities.
func (r *run) readSiblingLinks(ctx context.Context, tx *store.Tx, identities []string) error {
	r.sibLinks = nil
	if len(r.sibs) == 0 || len(identities) == 0 {
		return nil
	}
	ls, err := tx.LinksIn(ctx, r.sibIDs(), "identity", identities)
	if err != nil {
		return err
	}
	r.sibLinks = map[string][]*store.Link{}
	for _, l := range ls {
		r.sibLinks[l.Identity] = append(r.sibLinks[l.Identity], l)
	}
	return nil
}

// siblingLink is the sibling's link an unlinked item of this collection
// stands for: a live one, else a dormant one; a pending one (a create
// under way) is none.
func (r *run) siblingLink(it Item) *store.Link {
	if it.Deleted || it.Identity == "" {
		return nil
	}
	var dormant *store.Link
	for _, l := range r.sibLinks[it.Identity] {
		switch {
		case l.Pending:
		case !l.Dormant:
			return l
		case dormant == nil:
			dormant = l
		}
	}
	return dormant
}

// joinSibling links a new item of this collection to the record a
// sibling links to the same identity, and merges them.
func (r *run) joinSibling(ctx context.Context, tx *store.Tx, sl *store.Link, it Item) error {
	own, err := tx.FindLink(ctx, r.b.ID, "local_id", sl.LocalID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if own != nil {
		// The record has an item here already: this one is another.
		return r.newItem(ctx, tx, it)
	}
	lr, err := r.local.Load(ctx, tx, sl.LocalID)
	if err != nil {
		return err
	}
	if !lr.Exists {
		return r.newItem(ctx, tx, it)
	}
	if sl.Dormant {
		if err := r.forgetSibling(ctx, tx, sl); err != nil {
			return err
		}
	}
	marker := it.Marker
	if marker == "" {
		marker = newMarker()
	}
	// No etag: the merge below compares the item with the sibling's base.
	nl := &store.Link{BindingID: r.b.ID, LocalID: sl.LocalID, RemoteID: it.RemoteID, Identity: it.Identity,
		Marker: marker, Base: sl.Base, BaseAt: time.Now()}
	if err := r.putLink(ctx, tx, nl); err != nil {
		return err
	}
	r.carryPut(nl)
	r.stats.Linked++
	if err := r.journal(ctx, tx, sl.LocalID, it.RemoteID, "local", "link", nil, ReasonMovedHere); err != nil {
		return err
	}
	return r.reenterLocal(ctx, tx, nl, it)
}

// forgetSibling removes a sibling's dormant link whose item moved here.
func (r *run) forgetSibling(ctx context.Context, tx *store.Tx, sl *store.Link) error {
	if err := tx.DeleteLink(ctx, sl.BindingID, sl.LocalID); err != nil {
		return err
	}
	r.carryDelete(sl.BindingID, sl.LocalID)
	kept := r.sibLinks[sl.Identity][:0:0]
	for _, l := range r.sibLinks[sl.Identity] {
		if l != sl {
			kept = append(kept, l)
		}
	}
	r.sibLinks[sl.Identity] = kept
	return r.journalIn(ctx, tx, sl.BindingID, sl.LocalID, sl.RemoteID, "unlink", ReasonMovedAway)
}

// lookForMoves asks the siblings, before a batch's transaction, about the
// batch's items that left this collection.
func (r *run) lookForMoves(ctx context.Context, items []Item) error {
	if len(r.sibs) == 0 {
		return nil
	}
	for _, it := range items {
		if !it.Deleted {
			continue
		}
		l, err := r.e.State.FindLink(ctx, r.b.ID, "remote_id", it.RemoteID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := r.lookForMove(ctx, l); err != nil {
			return err
		}
	}
	return nil
}

// lookForMove notes whether a sibling's collection holds the item of l,
// which left this collection. A record a sibling links already needs no
// look: movedAway finds its link.
func (r *run) lookForMove(ctx context.Context, l *store.Link) error {
	if len(r.sibs) == 0 || l.Identity == "" || l.Pending || l.Dormant {
		return nil
	}
	if _, done := r.moved[l.RemoteID]; done {
		return nil
	}
	ls, err := r.e.State.LinksIn(ctx, r.sibIDs(), "local_id", []string{l.LocalID})
	if err != nil {
		return err
	}
	for _, sl := range ls {
		if !sl.Dormant && !sl.Pending {
			return nil
		}
	}
	for _, s := range r.sibs {
		f, ok := s.Conn.(IdentityFinder)
		if !ok {
			continue
		}
		it, found, err := f.FindByIdentity(ctx, l.Identity)
		if err != nil {
			return err
		}
		if found && !it.Deleted {
			if r.moved == nil {
				r.moved = map[string]movedItem{}
			}
			r.moved[l.RemoteID] = movedItem{sib: s.BindingID, item: it}
			return nil
		}
	}
	return nil
}

// movedAway handles, inside the transaction, an item that left this
// collection for a sibling's: it reports whether it did (then the record
// stays and the link here is gone).
func (r *run) movedAway(ctx context.Context, tx *store.Tx, l *store.Link) (bool, error) {
	if len(r.sibs) == 0 || l.Pending || l.Dormant {
		return false, nil
	}
	ls, err := tx.LinksIn(ctx, r.sibIDs(), "local_id", []string{l.LocalID})
	if err != nil {
		return false, err
	}
	for _, sl := range ls {
		if !sl.Dormant && !sl.Pending {
			// The sibling listed the item first: the record is synced there.
			return true, r.leave(ctx, tx, l)
		}
	}
	m, ok := r.moved[l.RemoteID]
	if !ok {
		return false, nil
	}
	taken, err := tx.FindLink(ctx, m.sib, "remote_id", m.item.RemoteID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	if taken != nil {
		return false, nil // that item is another record's there
	}
	// Handed to the sibling, with no etag: its next listing shows the
	// item and merges it against the base instead of importing it.
	handed := &store.Link{BindingID: m.sib, LocalID: l.LocalID, RemoteID: m.item.RemoteID,
		Identity: l.Identity, Marker: l.Marker, Base: l.Base, BaseAt: time.Now()}
	if err := tx.PutLink(ctx, handed); err != nil {
		return false, err
	}
	r.carryPut(handed)
	if err := r.journalIn(ctx, tx, m.sib, l.LocalID, m.item.RemoteID, "link", ReasonMovedHere); err != nil {
		return false, err
	}
	r.stats.Linked++
	return true, r.leave(ctx, tx, l)
}

// leave forgets this binding's link of an item that moved to a sibling.
func (r *run) leave(ctx context.Context, tx *store.Tx, l *store.Link) error {
	if err := r.deleteLink(ctx, tx, l.LocalID); err != nil {
		return err
	}
	r.carryDelete(r.b.ID, l.LocalID)
	return r.journal(ctx, tx, l.LocalID, l.RemoteID, "local", "unlink", nil, ReasonMovedAway)
}

// journalIn records an entry of another binding (a sibling's), or in a
// preview plans it.
func (r *run) journalIn(ctx context.Context, tx *store.Tx, bindingID, localID, remoteID, action, reason string) error {
	e := store.JournalEntry{BindingID: bindingID, Entity: r.local.Entity(), RecordID: localID, RemoteID: remoteID,
		Side: "local", Action: action, Reason: reason}
	if r.dry {
		e.Name = r.previewName
		r.plan = append(r.plan, e)
		return nil
	}
	return tx.Journal(ctx, e)
}

// Previews previews several bindings of a connection (a kind's calendars
// picked together) as a run of them goes: one after another, each seeing
// what the sibling logic did before it. A preview writes nothing, so each
// binding's alone would start from the stored links, and an item moved
// from one calendar to another would be planned as a move by both — the
// binding it left handing the record over, the one it came to taking it
// up: one record linked twice, where the run, whichever binding it lists
// first, links it once and unlinks it once. So the link changes the
// sibling logic plans (a link handed over or taken up, a link left or
// forgotten) are kept here, and every transaction of the previews after —
// of the same binding or a sibling, each rolled back — makes them again
// before its work, as the run would find them committed; the push leaves
// out the records they concern (notCarried). A preview of one binding is
// Previews of one.
type Previews struct {
	e     *Engine
	links []carriedLink
}

// carriedLink is a link change a preview planned: put, or when put is
// nil, the link of (bindingID, localID) removed.
type carriedLink struct {
	put                *store.Link
	bindingID, localID string
}

// Previews starts previews of several bindings; it uses the engine as it
// is now.
func (e *Engine) Previews() *Previews { return &Previews{e: e} }

// Preview is Engine.Preview of one binding, after the previews before it.
func (p *Previews) Preview(ctx context.Context, bindingID string, conn Connector, local Local) ([]store.JournalEntry, Stats, error) {
	return p.e.preview(ctx, p, bindingID, conn, local)
}

// carryPut keeps, in a preview, a link the sibling logic put (a copy:
// the run may change the one it holds).
func (r *run) carryPut(l *store.Link) {
	if r.dry && r.carry != nil {
		c := *l
		r.carry.links = append(r.carry.links, carriedLink{put: &c, bindingID: c.BindingID, localID: c.LocalID})
	}
}

// carryDelete keeps, in a preview, a link the sibling logic removed.
func (r *run) carryDelete(bindingID, localID string) {
	if r.dry && r.carry != nil {
		r.carry.links = append(r.carry.links, carriedLink{bindingID: bindingID, localID: localID})
	}
}

// carried marks how many link changes are kept, for uncarry.
func (r *run) carried() int {
	if r.carry == nil {
		return 0
	}
	return len(r.carry.links)
}

// uncarry forgets the link changes kept after mark: those of items rolled
// back (a batch applied again, an item skipped).
func (r *run) uncarry(mark int) {
	if r.carry != nil && len(r.carry.links) > mark {
		r.carry.links = r.carry.links[:mark]
	}
}

// notCarried leaves out of a preview's push the records whose link here
// the sibling logic changed. Their pull planned all there is: a record
// taken up here was merged with its item (the remote write planned with
// it), and one whose item left is the sibling's now, which a run's push
// of this binding does not send (not linked here, and held by the
// sibling). The push's reads (links, scope) see the stored links, not
// the ones the preview changed, and would plan a write to an item that
// left.
func (r *run) notCarried(ids []string) []string {
	if !r.dry || r.carry == nil || len(r.carry.links) == 0 {
		return ids
	}
	changed := map[string]bool{}
	for _, c := range r.carry.links {
		if c.bindingID == r.b.ID {
			changed[c.localID] = true
		}
	}
	if len(changed) == 0 {
		return ids
	}
	kept := ids[:0:0]
	for _, id := range ids {
		if !changed[id] {
			kept = append(kept, id)
		}
	}
	return kept
}

// replayCarried makes again, in a preview's transaction, the kept link
// changes of this binding and its siblings. One that no longer fits what
// is stored (a run committed meanwhile and linked that item to another
// record) is left out: the preview goes on without it.
func (r *run) replayCarried(ctx context.Context, tx *store.Tx) error {
	if r.carry == nil {
		return nil
	}
	for _, c := range r.carry.links {
		if c.bindingID != r.b.ID && !slices.ContainsFunc(r.sibs, func(s Sibling) bool { return s.BindingID == c.bindingID }) {
			continue
		}
		err := tx.Savepoint(ctx, func() error {
			if c.put != nil {
				return tx.PutLink(ctx, c.put)
			}
			return tx.DeleteLink(ctx, c.bindingID, c.localID)
		})
		if err != nil && !errors.Is(err, store.ErrDuplicate) {
			return err
		}
	}
	return nil
}
