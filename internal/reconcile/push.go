package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tandem-crm/tandem/internal/store"
)

// push sends local changes since the local cursor, and finishes remote
// creates a crash left pending. Changes go in batches (pushBatch): the
// records of a batch are read together, and their plain creates, updates
// and removals are written to the remote in batches (BatchWriter, or one
// request each) with one transaction before and one after.
func (r *run) push(ctx context.Context) error {
	pending, err := r.e.State.PendingLinks(ctx, r.b.ID)
	if err != nil {
		return err
	}
	for _, l := range pending {
		if err := r.pushRecord(ctx, l.LocalID); err != nil {
			return err
		}
	}
	since := r.b.LocalCursor
	origin := OriginOf(r.b.ID)
	if done, err := r.catchUp(ctx, since, origin); err != nil || done {
		return err
	}
	for {
		changes, err := r.e.State.Changes(ctx, since, r.local.Entity(), 1000)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		seen := map[string]bool{}
		ids := make([]string, 0, len(changes))
		for _, ch := range changes {
			since = ch.Seq
			if ch.Origin == origin || seen[ch.EntityID] {
				continue // our own write (no echo), or already taken
			}
			seen[ch.EntityID] = true
			ids = append(ids, ch.EntityID)
		}
		if err := r.pushIDs(ctx, ids); err != nil {
			return err
		}
		if err := r.inTx(ctx, func(tx *store.Tx) error { return tx.SetCursors(ctx, r.b.ID, "", since, false) }); err != nil {
			return err
		}
	}
}

// ScopeCandidates is a ScopeFilter that can also name, in one cheap query,
// a superset of the records in its scope (for contacts: those carrying the
// binding's tag, whoever may see them). With it, a push far behind the
// shared change log — a small binding after another user's thousands of
// changes — asks the log only about those records and the binding's linked
// ones, instead of reading every entry since its cursor. The records it
// names are then judged by InScopeIDs as any others.
type ScopeCandidates interface {
	ScopeFilter
	// ScopeCandidates returns ids of records that may be in scope — every
	// record in scope among them — or ok false when there are more than
	// limit.
	ScopeCandidates(ctx context.Context, limit int) (ids []string, ok bool, err error)
}

// catchUpMin is how far behind the end of the change log a push must be
// before it asks the log about its records rather than reading it.
const catchUpMin = 5000

// catchUp pushes, when the binding is far behind the change log and has
// few records it can care about, the changes of those records only, and
// moves the local cursor to the end of the log. It reports whether it did.
// Entries of other records need nothing pushed: a record neither linked
// nor a candidate of the scope is not in the binding's scope.
func (r *run) catchUp(ctx context.Context, since int64, origin string) (bool, error) {
	sc, ok := r.local.(ScopeCandidates)
	if !ok {
		return false, nil
	}
	last, err := r.e.State.LastChange(ctx)
	if err != nil {
		return false, err
	}
	behind := last - since
	if behind < catchUpMin {
		return false, nil
	}
	// An index look-up per record costs about what reading a few log
	// entries does: ask about the records only when they are fewer than
	// half the entries.
	limit := int(behind / 2)
	linked, ok, err := r.e.State.LinkedLocalIDs(ctx, r.b.ID, limit)
	if err != nil || !ok {
		return false, err
	}
	cands, ok, err := sc.ScopeCandidates(ctx, limit-len(linked))
	if err != nil || !ok {
		return false, err
	}
	ids := append(linked, cands...)
	changed, err := r.e.State.ChangedAmong(ctx, r.local.Entity(), since, last, origin, ids)
	if err != nil {
		return false, err
	}
	seen := map[string]bool{}
	todo := make([]string, 0, len(changed))
	for _, id := range ids {
		if changed[id] && !seen[id] {
			seen[id] = true
			todo = append(todo, id)
		}
	}
	for len(todo) > 0 {
		n := min(len(todo), 1000)
		if err := r.pushIDs(ctx, todo[:n]); err != nil {
			return true, err
		}
		todo = todo[n:]
	}
	return true, r.inTx(ctx, func(tx *store.Tx) error { return tx.SetCursors(ctx, r.b.ID, "", last, false) })
}

// pushIDs pushes the records changed by others among ids (distinct), those
// the binding can care about, in batches.
func (r *run) pushIDs(ctx context.Context, ids []string) error {
	ids = r.notCarried(ids)
	wanted, err := r.wanted(ctx, ids)
	if err != nil {
		return err
	}
	if wanted != nil {
		kept := ids[:0:0]
		for _, id := range ids {
			if wanted[id] {
				kept = append(kept, id)
			}
		}
		ids = kept // neither linked nor in scope: nothing to push
	}
	bw := r.batchWriter()
	for len(ids) > 0 {
		n := min(len(ids), bw.MaxBatch())
		if err := r.pushBatch(ctx, bw, ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
		r.progress()
	}
	return nil
}

// BatchLoader is a Local that reads many records in a few queries: the
// push reads a batch of changed records with it, and the pull the records
// a page's changed items are linked to (in the page's transaction, tx;
// nil outside one). LoadMany must answer for every id as Load would (a
// record that is gone: Exists false).
type BatchLoader interface {
	LoadMany(ctx context.Context, tx *store.Tx, ids []string) (map[string]LocalRecord, error)
}

// batchWriter is the connector's BatchWriter, or one that writes an item
// per request.
func (r *run) batchWriter() BatchWriter {
	if bw, ok := r.conn.(BatchWriter); ok && bw.MaxBatch() > 0 {
		return bw
	}
	n := r.e.PushBatch
	if n <= 0 {
		n = 50
	}
	return singleWriter{c: r.conn, n: n}
}

// pushRec is one record of a push batch.
type pushRec struct {
	id   string
	link *store.Link // nil: not linked
	lr   LocalRecord
}

// pushBatch pushes a batch of records: it reads their links in one query,
// sends plain creates, updates and removals through bw, and handles the
// rest (pending, dormant links) one at a time.
func (r *run) pushBatch(ctx context.Context, bw BatchWriter, ids []string) error {
	links, err := r.e.State.LinksOf(ctx, r.b.ID, ids)
	if err != nil {
		return err
	}
	var many map[string]LocalRecord
	if bl, ok := r.local.(BatchLoader); ok {
		if many, err = bl.LoadMany(ctx, nil, ids); err != nil {
			return err
		}
	}
	var creates, updates, removes, singles, skipped []pushRec
	for _, id := range ids {
		lr, ok := many[id]
		if !ok {
			if lr, err = r.local.Load(ctx, nil, id); err != nil {
				if err := r.skip(id, err); err != nil {
					return err
				}
				continue
			}
		}
		rec := pushRec{id: id, link: links[id], lr: lr}
		switch l := rec.link; {
		case l == nil && lr.Exists && lr.InScope:
			creates = append(creates, rec)
		case l == nil:
		case l.Dormant || l.Pending:
			singles = append(singles, rec)
		case !lr.Exists || !lr.InScope:
			removes = append(removes, rec)
		case sameButRideAlong(lr.Fields, decodeFields(l.Base)):
			skipped = append(skipped, rec)
		default:
			updates = append(updates, rec)
		}
	}
	if updates, err = r.dropCopies(ctx, updates); err != nil {
		return err
	}
	if len(skipped) > 0 {
		// Unchanged since their last sync, but one may be a copy to drop.
		if _, err := r.dropCopies(ctx, skipped); err != nil {
			return err
		}
	}
	for _, rec := range singles {
		if err := r.skip(rec.id, r.pushOne(ctx, rec.id, rec.link, rec.lr)); err != nil {
			return err
		}
	}
	if err := r.createMany(ctx, bw, creates); err != nil {
		return err
	}
	if err := r.updateMany(ctx, bw, updates); err != nil {
		return err
	}
	return r.removeMany(ctx, bw, removes)
}

// skip lets a record's per-item error pass (counted and logged) and
// returns any other.
func (r *run) skip(id string, err error) error {
	if err == nil {
		return nil
	}
	if isFatal(err) {
		return err
	}
	r.stats.Skipped++
	r.log().Warn("local record not pushed", "id", id, "err", err)
	return nil
}

// createMany creates remote items for records without a link: their
// pending links, each with a new marker, commit in one transaction before
// the remote call, so that a crash after it finds the items by marker
// instead of creating them again; the finished links and the journal
// commit in one transaction after it. A create refused on its own is
// retried as a single create (finishPending: found by marker, or created).
func (r *run) createMany(ctx context.Context, bw BatchWriter, recs []pushRec) error {
	if len(recs) == 0 {
		return nil
	}
	ids := make([]string, len(recs))
	for i, rec := range recs {
		ids[i] = rec.id
	}
	kept, err := r.keptIdentities(ctx, ids)
	if err != nil {
		return err
	}
	pending := make([]*store.Link, len(recs))
	items := make([]NewItem, len(recs))
	for i, rec := range recs {
		// The pending link keeps the identity too: a create a crash
		// interrupted is made again with it (finishPending).
		marker := newMarker()
		pending[i] = &store.Link{BindingID: r.b.ID, LocalID: rec.id, Marker: marker, Identity: kept[rec.id],
			Base: encodeFields(rec.lr.Fields), Pending: true}
		items[i] = NewItem{Fields: rec.lr.Fields, Marker: marker, Identity: kept[rec.id]}
	}
	if err := r.inTx(ctx, func(tx *store.Tx) error { return tx.PutLinks(ctx, pending) }); err != nil {
		return err
	}
	results, callErr := bw.CreateMany(ctx, items)
	if callErr == nil && len(results) != len(items) {
		return fmt.Errorf("create many: %d answers for %d items", len(results), len(items))
	}
	if err := r.e.hook(ctx, HookPushed); err != nil {
		return err
	}
	var absorb []Item
	var retry []int
	err = r.inTx(ctx, func(tx *store.Tx) error {
		absorb, retry = nil, nil
		var links []*store.Link
		var entries []store.JournalEntry
		for i, res := range results {
			if res.Err != nil {
				retry = append(retry, i)
				continue
			}
			f, it := recs[i].lr.Fields, res.Item
			r.stats.RemoteCreated++
			links = append(links, &store.Link{BindingID: r.b.ID, LocalID: recs[i].id, RemoteID: it.RemoteID,
				ETag: r.etagUnless(f, it), Identity: it.Identity, Marker: items[i].Marker, Base: encodeFields(f),
				BaseAt: time.Now()})
			entries = append(entries, r.entry(f, recs[i].id, it.RemoteID, "remote", "create", names(f), ReasonCreatedLocally))
			if changedInWrite(f, it) {
				absorb = append(absorb, it)
			}
		}
		if err := tx.PutLinks(ctx, links); err != nil {
			return err
		}
		return r.journalMany(ctx, tx, entries)
	})
	if err != nil {
		return err
	}
	if callErr != nil {
		return callErr
	}
	for _, i := range retry {
		r.previewName = DisplayName(recs[i].lr.Fields)
		if err := r.skip(recs[i].id, r.finishPending(ctx, pending[i], recs[i].lr)); err != nil {
			return err
		}
	}
	// What the remote changed in what we sent (absorb).
	return r.applyItems(ctx, absorb, false)
}

// updateMany sends local changes of linked records, each with its etag;
// the links and the journal commit in one transaction after. An item that
// changed remotely meanwhile (ErrPrecondition) or went (ErrRemoteNotFound)
// takes the single path: re-read, re-merge and retry, or removal here.
func (r *run) updateMany(ctx context.Context, bw BatchWriter, recs []pushRec) error {
	if len(recs) == 0 {
		return nil
	}
	changes := make([]Change, len(recs))
	for i, rec := range recs {
		changes[i] = Change{RemoteID: rec.link.RemoteID, ETag: rec.link.ETag, Fields: rec.lr.Fields}
	}
	results, callErr := bw.UpdateMany(ctx, changes)
	if callErr == nil && len(results) != len(changes) {
		return fmt.Errorf("update many: %d answers for %d items", len(results), len(changes))
	}
	if err := r.e.hook(ctx, HookPushed); err != nil {
		return err
	}
	var absorb []Item
	var retry []int
	err := r.inTx(ctx, func(tx *store.Tx) error {
		absorb, retry = nil, nil
		var links []*store.Link
		var entries []store.JournalEntry
		for i, res := range results {
			if res.Err != nil {
				retry = append(retry, i)
				continue
			}
			f, it, link := recs[i].lr.Fields, res.Item, recs[i].link
			r.stats.RemoteUpdated++
			nl := *link
			nl.ETag, nl.Base, nl.BaseAt = r.etagUnless(f, it), encodeFields(f), time.Now()
			links = append(links, &nl)
			entries = append(entries, r.entry(f, link.LocalID, link.RemoteID, "remote", "update",
				changedNames(decodeFields(link.Base), f), ReasonChangedLocally))
			if changedInWrite(f, it) {
				absorb = append(absorb, it)
			}
		}
		if err := tx.PutLinks(ctx, links); err != nil {
			return err
		}
		return r.journalMany(ctx, tx, entries)
	})
	if err != nil {
		return err
	}
	if callErr != nil {
		return callErr
	}
	for _, i := range retry {
		r.previewName = DisplayName(recs[i].lr.Fields)
		if err := r.skip(recs[i].id, r.updateRemote(ctx, recs[i].link, recs[i].lr.Fields, nil)); err != nil {
			return err
		}
	}
	return r.applyItems(ctx, absorb, false)
}

// removeMany removes the items of records deleted here or out of scope;
// the links (forgotten, or dormant for a record that stays) and the
// journal commit in one transaction after. An item that changed remotely
// meanwhile takes the single path (removed with its current etag).
func (r *run) removeMany(ctx context.Context, bw BatchWriter, recs []pushRec) error {
	if len(recs) == 0 {
		return nil
	}
	refs := make([]Ref, len(recs))
	for i, rec := range recs {
		refs[i] = Ref{RemoteID: rec.link.RemoteID, ETag: rec.link.ETag}
	}
	errs, callErr := bw.DeleteMany(ctx, refs)
	if callErr == nil && len(errs) != len(refs) {
		return fmt.Errorf("delete many: %d answers for %d items", len(errs), len(refs))
	}
	if err := r.e.hook(ctx, HookPushed); err != nil {
		return err
	}
	var retry []int
	err := r.inTx(ctx, func(tx *store.Tx) error {
		retry = nil
		for i, e := range errs {
			kept := errors.Is(e, ErrKept)
			if e != nil && !kept && !errors.Is(e, ErrRemoteNotFound) {
				retry = append(retry, i)
				continue
			}
			rec := recs[i]
			action := "remove"
			if kept {
				action = "keep"
			} else {
				r.stats.RemoteRemoved++
			}
			r.previewName = DisplayName(rec.lr.Fields)
			if err := r.unlink(ctx, tx, rec.link, !rec.lr.Exists && !kept); err != nil {
				return err
			}
			reason := ReasonDeletedLocally
			if rec.lr.Exists {
				reason = ReasonOutOfScope
			}
			if err := r.journal(ctx, tx, rec.id, rec.link.RemoteID, "remote", action, nil, reason); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if callErr != nil {
		return callErr
	}
	for _, i := range retry {
		if err := r.skip(recs[i].id, r.removeRemote(ctx, recs[i].link, recs[i].lr.Exists)); err != nil {
			return err
		}
	}
	return nil
}

// singleWriter writes a batch one item per request, for a connector that
// is no BatchWriter, so the push has one path. Unlike a BatchWriter's, a
// failed request other than ErrPrecondition or ErrRemoteNotFound ends the
// batch: the answers so far come back with that error, as the single
// write's error always stopped the run.
type singleWriter struct {
	c Connector
	n int
}

func (w singleWriter) MaxBatch() int { return w.n }

func (w singleWriter) CreateMany(ctx context.Context, creates []NewItem) ([]Result, error) {
	out := make([]Result, 0, len(creates))
	for _, c := range creates {
		it, err := createItem(ctx, w.c, c.Fields, c.Marker, c.Identity)
		if err != nil {
			return out, err
		}
		out = append(out, Result{Item: it})
	}
	return out, nil
}

func (w singleWriter) UpdateMany(ctx context.Context, updates []Change) ([]Result, error) {
	out := make([]Result, 0, len(updates))
	for _, u := range updates {
		it, err := w.c.Update(ctx, u.RemoteID, u.ETag, u.Fields)
		if err != nil && !errors.Is(err, ErrPrecondition) && !errors.Is(err, ErrRemoteNotFound) {
			return out, err
		}
		out = append(out, Result{Item: it, Err: err})
	}
	return out, nil
}

func (w singleWriter) DeleteMany(ctx context.Context, items []Ref) ([]error, error) {
	out := make([]error, 0, len(items))
	for _, it := range items {
		err := w.c.Delete(ctx, it.RemoteID, it.ETag)
		if err != nil && !errors.Is(err, ErrPrecondition) && !errors.Is(err, ErrRemoteNotFound) && !errors.Is(err, ErrKept) {
			return out, err
		}
		out = append(out, err)
	}
	return out, nil
}

// pushRecord pushes one record on the single path.
func (r *run) pushRecord(ctx context.Context, id string) error {
	link, err := r.e.State.FindLink(ctx, r.b.ID, "local_id", id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if errors.Is(err, store.ErrNotFound) {
		link = nil
	}
	lr, err := r.local.Load(ctx, nil, id)
	if err != nil {
		return err
	}
	return r.pushOne(ctx, id, link, lr)
}

// pushOne decides what a record's change means remotely and does it, one
// request at a time.
func (r *run) pushOne(ctx context.Context, id string, link *store.Link, lr LocalRecord) error {
	r.previewName = DisplayName(lr.Fields)
	switch {
	case link == nil && lr.Exists && lr.InScope:
		kept, err := r.keptIdentities(ctx, []string{id})
		if err != nil {
			return err
		}
		return r.createRemote(ctx, id, lr.Fields, "", kept[id])
	case link == nil:
		return nil
	case link.Dormant && !lr.Exists:
		// Deleted while out of scope: nothing remote to do. The link stays
		// as the record's tombstone: an item the policy kept in place
		// (ErrKept) is then no new item to a full listing while it stays
		// unchanged; one that comes back changed is a new record, as it
		// would be without the link.
		return nil
	case link.Dormant && lr.InScope:
		return r.restoreRemote(ctx, link, lr)
	case link.Dormant:
		return nil
	case link.Pending:
		return r.finishPending(ctx, link, lr)
	case !lr.Exists || !lr.InScope:
		return r.removeRemote(ctx, link, lr.Exists)
	}
	if sameButRideAlong(lr.Fields, decodeFields(link.Base)) {
		return nil
	}
	return r.updateRemote(ctx, link, lr.Fields, nil)
}

// entry is a journal entry of the binding about a record last synced as f.
func (r *run) entry(f Fields, localID, remoteID, side, action string, fields []string, reason string) store.JournalEntry {
	return store.JournalEntry{BindingID: r.b.ID, Entity: r.local.Entity(), RecordID: localID, RemoteID: remoteID,
		Side: side, Action: action, Fields: fields, Reason: reason, Name: DisplayName(f)}
}

// journalMany records entries, or in a preview plans them.
func (r *run) journalMany(ctx context.Context, tx *store.Tx, es []store.JournalEntry) error {
	if r.dry {
		r.plan = append(r.plan, es...)
		return nil
	}
	return tx.JournalMany(ctx, es)
}
