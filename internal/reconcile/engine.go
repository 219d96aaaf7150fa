package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/tandem-crm/tandem/internal/store"
)

// LocalRecord is a local record as the engine sees it.
type LocalRecord struct {
	Exists   bool
	InScope  bool // the binding's policy: does this record sync here?
	Fields   Fields
	Modified time.Time
	// Locked names fields a remote change may not alter, with the local
	// rule that forbids it: the engine reverts such a change, on the
	// remote side too, and journals the rule.
	Locked map[string]string
}

// Local is the Tandem side of one binding. It maps records to Fields and
// applies the binding's policy: which records are in scope and what a
// remote removal means locally (delete, untag, keep). Writes happen inside
// the engine's transaction, under the binding's origin.
type Local interface {
	// Entity is the change-log entity of the records ("contact", "activity").
	Entity() string
	// Load reads one record; with a transaction, inside it, so that it
	// sees what the transaction wrote (a record created by an earlier item
	// of the same page).
	Load(ctx context.Context, tx *store.Tx, id string) (LocalRecord, error)
	// Create makes a record from a remote item; it returns the new id.
	Create(ctx context.Context, tx *store.Tx, f Fields) (string, error)
	// Update sets the named fields of a record to the values in f.
	Update(ctx context.Context, tx *store.Tx, id string, f Fields, names []string) error
	// RemoteRemoved applies the policy for an item deleted remotely or
	// gone from the collection, and says what it did ("untag", "delete", …).
	// ActionDelete means the record is gone and the engine forgets the
	// link; otherwise the link stays, dormant, for the item to come back.
	RemoteRemoved(ctx context.Context, tx *store.Tx, id string) (string, error)
	// Reenter puts a record back in the binding's scope because its item
	// came back into the collection (the policy's inverse of
	// RemoteRemoved: re-tag, show in the calendar), and says what it did;
	// "" if it changed nothing.
	Reenter(ctx context.Context, tx *store.Tx, id string) (string, error)
}

// BulkCreator is a Local that makes many records at once: the new items of
// a page (a first import is nothing else) are written in a few statements
// instead of several each. ids[i] answers fs[i]. An error fails them all;
// the engine then applies the page again item by item, each in a
// savepoint, so a bad item is skipped alone.
type BulkCreator interface {
	CreateMany(ctx context.Context, tx *store.Tx, fs []Fields) (ids []string, err error)
}

// Adopter is a Local that may find, for a new remote item, a record
// already here that the item stands for (a resubscribe: the activity whose
// id the item carries, or equal in title and times). The engine asks it
// before Create, and links such a record instead of making one: a link,
// not a create, in the journal and the counts (Stats.Linked).
type Adopter interface {
	// Adopt returns the id of the record the item stands for, or "".
	Adopt(ctx context.Context, tx *store.Tx, f Fields) (string, error)
}

// IdentityRestorer is a Connector whose Restore writes an item deleted
// for good again from its base, and which must then give it back the
// identity it had (a calendar object's UID, as read from its content):
// the engine passes the identity its link kept.
type IdentityRestorer interface {
	RestoreIdentity(ctx context.Context, remoteID, identity string, base Fields) (Item, error)
}

// ActionDelete is what RemoteRemoved returns when it deleted the record.
const ActionDelete = "delete"

// State is what the engine keeps in the store.
type State interface {
	GetBinding(ctx context.Context, id string) (*store.Binding, error)
	FindLink(ctx context.Context, bindingID, column, value string) (*store.Link, error)
	PendingLinks(ctx context.Context, bindingID string) ([]*store.Link, error)
	// HasLinks reports whether the binding has any link.
	HasLinks(ctx context.Context, bindingID string) (bool, error)
	// LiveLinkIDs streams the ids of the binding's live links (neither
	// pending nor dormant).
	LiveLinkIDs(ctx context.Context, bindingID string, fn func(localID, remoteID string) error) error
	// LinksOf reads the links of the given local ids.
	LinksOf(ctx context.Context, bindingID string, localIDs []string) (map[string]*store.Link, error)
	// LinksIn reads the links of other bindings (a binding's siblings)
	// whose column ("local_id", "identity") is among values.
	LinksIn(ctx context.Context, bindingIDs []string, column string, values []string) ([]*store.Link, error)
	// LinkedIDs reports which of localIDs have a link in the binding
	// (pending, dormant or not).
	LinkedIDs(ctx context.Context, bindingID string, localIDs []string) (map[string]bool, error)
	// LinkedLocalIDs lists the local ids of the binding's links, unless
	// there are more than limit.
	LinkedLocalIDs(ctx context.Context, bindingID string, limit int) ([]string, bool, error)
	Changes(ctx context.Context, since int64, entity string, limit int) ([]store.Change, error)
	LastChange(ctx context.Context) (int64, error)
	// ChangedAmong reports which of ids changed in (since, upto] by
	// another origin than origin.
	ChangedAmong(ctx context.Context, entity string, since, upto int64, origin string, ids []string) (map[string]bool, error)
	InTx(ctx context.Context, fn func(*store.Tx) error) error
}

// Stats counts what a run did.
type Stats struct {
	Pulled        int `json:"pulled"`
	LocalCreated  int `json:"local_created"`
	LocalUpdated  int `json:"local_updated"`
	LocalRemoved  int `json:"local_removed"`
	RemoteCreated int `json:"remote_created"`
	RemoteUpdated int `json:"remote_updated"`
	RemoteRemoved int `json:"remote_removed"`
	Conflicts     int `json:"conflicts"`
	Reverted      int `json:"reverted"` // remote changes taken back by a local rule
	// Linked counts remote items linked to a record already here instead
	// of a new one: adopted on a resubscribe (Adopter), or moved from
	// another collection of the account (Sibling).
	Linked      int  `json:"linked"`
	Skipped     int  `json:"skipped"` // items that could not be applied (logged)
	FullListing bool `json:"full_listing"`
}

// Plus sums the counts of two runs (a kind's several bindings).
func (s Stats) Plus(o Stats) Stats {
	s.Pulled += o.Pulled
	s.LocalCreated += o.LocalCreated
	s.LocalUpdated += o.LocalUpdated
	s.LocalRemoved += o.LocalRemoved
	s.RemoteCreated += o.RemoteCreated
	s.RemoteUpdated += o.RemoteUpdated
	s.RemoteRemoved += o.RemoteRemoved
	s.Conflicts += o.Conflicts
	s.Reverted += o.Reverted
	s.Linked += o.Linked
	s.Skipped += o.Skipped
	s.FullListing = s.FullListing || o.FullListing
	return s
}

// JSON renders the stats for the binding's last_stats.
func (s Stats) JSON() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Engine runs bindings.
type Engine struct {
	State State
	Log   *slog.Logger
	// PageLimit bounds the pages of one run's pull (0: no bound), so a run
	// on a huge collection yields now and then; the cursor keeps progress.
	PageLimit int
	// Retries bounds the re-merges after ErrPrecondition.
	Retries int
	// PushBatch is how many local changes a push sends together to a
	// connector that is no BatchWriter (one request each, but their links
	// in one transaction before and one after); 0: 50. A BatchWriter's
	// batches are its MaxBatch.
	PushBatch int
	// Progress, when set, is told the running counts after each batch of
	// items is handled (for a progress bar), and the final counts when the
	// run ends; it must be quick, and it is never called while the engine
	// holds a write transaction.
	Progress func(bindingID string, s Stats)

	hookFn func(ctx context.Context, point string) error // tests: see SetTestHook
}

// Points of a run where a crash must be survivable, named to a test hook.
const (
	// HookItem: before each item of a batch, inside its transaction.
	HookItem = "item"
	// HookCommitted: after a batch committed, before the remote writes it
	// queued.
	HookCommitted = "committed"
	// HookPushed: after a push batch's remote writes, before their links
	// are completed.
	HookPushed = "pushed"
)

// testHook is the process-wide hook of SetTestHook.
var testHook atomic.Pointer[func(ctx context.Context, point string) error]

// SetTestHook makes every engine in this process call fn at the points
// named by the Hook constants; an error fn returns fails the run there as
// a crash would (fn may also halt the process). For crash tests only;
// nil removes it.
func SetTestHook(fn func(ctx context.Context, point string) error) {
	if fn == nil {
		testHook.Store(nil)
		return
	}
	testHook.Store(&fn)
}

func (e *Engine) hook(ctx context.Context, point string) error {
	if e.hookFn != nil {
		return e.hookFn(ctx, point)
	}
	if fn := testHook.Load(); fn != nil {
		return (*fn)(ctx, point)
	}
	return nil
}

// OriginOf is the change-log origin of a binding's local writes.
func OriginOf(bindingID string) string { return "sync:" + bindingID }

// run is the state of one binding's run.
type run struct {
	e    *Engine
	b    *store.Binding
	conn Connector
	// window, when the connector is Windowed, bounds what a full listing
	// can be judged against.
	window Windowed
	local  Local
	stats  Stats
	dry    bool                 // a preview: every transaction rolls back
	plan   []store.JournalEntry // what a preview would have done
	// previewName names the record being handled, for the preview.
	previewName string
	// pg and after belong to the batch under way (inBatch): the links its
	// items can match, and the remote writes to run after it commits.
	pg    *pageLinks
	after []deferredWrite
	// creates holds the batch's new items while the Local is a
	// BulkCreator (nil otherwise), written together by flushCreates.
	creates *pendingCreates
	// loaded holds, while the Local is a BatchLoader, the records the
	// batch's changed items are linked to, read together before it; an
	// entry is taken once (pullItem), so a record a batch meets twice is
	// read again after the first wrote it.
	loaded map[string]LocalRecord
	// sibs are the binding's siblings (SiblingLocal); sibLinks the
	// siblings' links the batch's items can match by identity, and
	// moved the items gone from this collection that a sibling's now
	// holds (see siblings.go).
	sibs     []Sibling
	sibLinks map[string][]*store.Link
	moved    map[string]movedItem
	// carry, in a preview, holds the link changes the sibling logic
	// planned so far, in this preview and those before it (Previews).
	carry *Previews
}

// errDryRun rolls back a preview's transactions.
var errDryRun = errors.New("dry run")

// inTx runs fn in a store transaction; in a preview it rolls back, after
// the sibling link changes planned so far are made in it again.
func (r *run) inTx(ctx context.Context, fn func(*store.Tx) error) error {
	if !r.dry {
		return r.e.State.InTx(ctx, fn)
	}
	err := r.e.State.InTx(ctx, func(tx *store.Tx) error {
		if err := r.replayCarried(ctx, tx); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		return errDryRun
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	return err
}

// Preview runs a binding without changing anything on either side and
// returns what a run would do, as journal entries. Reads are real; remote
// writes are simulated and local ones rolled back.
func (e *Engine) Preview(ctx context.Context, bindingID string, conn Connector, local Local) ([]store.JournalEntry, Stats, error) {
	return e.Previews().Preview(ctx, bindingID, conn, local)
}

func (e *Engine) preview(ctx context.Context, carry *Previews, bindingID string, conn Connector, local Local) ([]store.JournalEntry, Stats, error) {
	b, err := e.State.GetBinding(ctx, bindingID)
	if err != nil {
		return nil, Stats{}, err
	}
	ctx = store.WithOrigin(ctx, OriginOf(b.ID))
	r := &run{e: e, b: b, conn: dryConn{conn}, local: local, dry: true, carry: carry}
	r.window, _ = conn.(Windowed)
	r.siblings()
	if err := r.pull(ctx); err != nil {
		return r.plan, r.stats, fmt.Errorf("pull: %w", err)
	}
	if err := r.push(ctx); err != nil {
		return r.plan, r.stats, fmt.Errorf("push: %w", err)
	}
	return r.plan, r.stats, nil
}

// dryConn reads through to the connector and simulates its writes.
type dryConn struct{ Connector }

func (d dryConn) Create(ctx context.Context, f Fields, marker string) (Item, error) {
	return Item{RemoteID: "new:" + marker, ETag: "preview", Marker: marker, Fields: f}, nil
}

func (d dryConn) Update(ctx context.Context, id, etag string, f Fields) (Item, error) {
	return Item{RemoteID: id, ETag: etag, Fields: f}, nil
}

func (d dryConn) Delete(ctx context.Context, id, etag string) error { return nil }

func (d dryConn) Restore(ctx context.Context, id string, base Fields) (Item, error) {
	return Item{RemoteID: id, ETag: "preview", Fields: base}, nil
}

// Run syncs a binding once: pull, then push. ctx must carry the binding's
// origin (store.WithOrigin(ctx, OriginOf(id))) so local writes are not
// echoed; Run sets it when missing.
func (e *Engine) Run(ctx context.Context, bindingID string, conn Connector, local Local) (Stats, error) {
	b, err := e.State.GetBinding(ctx, bindingID)
	if err != nil {
		return Stats{}, err
	}
	ctx = store.WithOrigin(ctx, OriginOf(b.ID))
	r := &run{e: e, b: b, conn: conn, local: local}
	r.window, _ = conn.(Windowed)
	r.siblings()
	// The last report is the run's result, so whoever shows progress ends
	// on the counts Run returns.
	defer r.progress()
	if err := r.pull(ctx); err != nil {
		return r.stats, fmt.Errorf("pull: %w", err)
	}
	if err := r.push(ctx); err != nil {
		return r.stats, fmt.Errorf("push: %w", err)
	}
	return r.stats, nil
}

func (r *run) progress() {
	if r.e.Progress != nil {
		r.e.Progress(r.b.ID, r.stats)
	}
}

func (r *run) log() *slog.Logger {
	if r.e.Log != nil {
		return r.e.Log.With("binding", r.b.ID)
	}
	return slog.Default().With("binding", r.b.ID)
}

// pull applies remote changes since the remote cursor, a page at a time:
// each page in one transaction (applyItems), the next page fetched while
// the current one is written, nothing kept across pages but the ids a full
// listing saw (and those only when the binding had links to check).
func (r *run) pull(ctx context.Context) error {
	cursor := r.b.RemoteCursor
	full := cursor == ""
	for {
		err := r.listing(ctx, cursor, full)
		if errors.Is(err, ErrCursorExpired) && cursor != "" {
			// Safe cursors: list everything and reconcile it against the
			// links; matching by link and etag keeps this from importing
			// anything twice.
			r.log().Info("remote cursor expired; listing the whole collection")
			cursor, full = "", true
			r.stats.FullListing = true
			continue
		}
		return err
	}
}

// fetched is one page of a listing, or why there is none.
type fetched struct {
	p   Page
	err error
}

// fetch lists pages from cursor in a goroutine, one page ahead of the
// consumer: the next page is on its way while the current one is written.
// It stops after the last page, an error, or when ctx ends.
func (r *run) fetch(ctx context.Context, cursor string) <-chan fetched {
	ch := make(chan fetched, 1)
	go func() {
		defer close(ch)
		page := ""
		for {
			p, err := r.conn.List(ctx, cursor, page)
			select {
			case ch <- fetched{p, err}:
			case <-ctx.Done():
				return
			}
			if err != nil || p.NextPage == "" {
				return
			}
			page = p.NextPage
		}
	}()
	return ch
}

// listing applies one listing from cursor ("" for a full one).
func (r *run) listing(ctx context.Context, cursor string, full bool) error {
	// A full listing is checked against the links at its end (which are
	// missing from it?); a binding without links has nothing to check, and
	// a first import keeps no list of what it saw.
	var seen map[string]struct{}
	if full {
		has, err := r.e.State.HasLinks(ctx, r.b.ID)
		if err != nil {
			return err
		}
		if has {
			seen = map[string]struct{}{}
		}
	}
	lctx, cancel := context.WithCancel(ctx)
	pages := r.fetch(lctx, cursor)
	defer func() {
		cancel()
		for range pages { // the fetcher has ended when the channel closes
		}
	}()
	listed := 0 // items in the collection a full listing showed
	for n := 0; ; n++ {
		f, ok := <-pages
		if !ok {
			return ctx.Err() // the fetcher stops early only when ctx ends
		}
		if f.err != nil {
			return f.err
		}
		p := f.p
		if full {
			for _, it := range p.Items {
				if !it.Deleted {
					listed++
					if seen != nil {
						seen[it.RemoteID] = struct{}{}
					}
				}
			}
		}
		if full && p.NextPage == "" && listed == 0 {
			// Before applying the last page of a full listing, check the
			// whole listing is plausible.
			if err := r.checkNotEmptied(ctx); err != nil {
				return err
			}
		}
		if err := r.applyItems(ctx, p.Items, true); err != nil {
			return err
		}
		if p.NextPage != "" {
			if r.e.PageLimit > 0 && n+1 >= r.e.PageLimit && !full {
				// Keep the cursor: the next run re-reads from it; items
				// already applied are skipped by etag.
				return nil
			}
			continue
		}
		if seen != nil {
			if err := r.removeUnseen(ctx, seen); err != nil {
				return err
			}
		}
		return r.inTx(ctx, func(tx *store.Tx) error {
			return tx.SetCursors(ctx, r.b.ID, p.NextCursor, 0, false)
		})
	}
}

// isFatal tells errors that must stop the run (auth, rate limits after
// retries, the store) from per-item problems.
func isFatal(err error) bool {
	var ie *ItemError
	return !errors.As(err, &ie)
}

// ItemError is a problem with one item (bad data, a local validation
// error): the item is skipped and the run goes on.
type ItemError struct{ Err error }

func (e *ItemError) Error() string { return "item: " + e.Err.Error() }
func (e *ItemError) Unwrap() error { return e.Err }

// checkNotEmptied stops a run whose full listing showed nothing while live
// links exist that the listing should have shown.
func (r *run) checkNotEmptied(ctx context.Context) error {
	errFound := errors.New("found")
	err := r.e.State.LiveLinkIDs(ctx, r.b.ID, func(localID, _ string) error {
		if r.window == nil {
			return errFound
		}
		l, err := r.e.State.FindLink(ctx, r.b.ID, "local_id", localID)
		if err != nil {
			return err
		}
		if r.listable(l) {
			return errFound
		}
		return nil
	})
	if errors.Is(err, errFound) {
		return ErrCollectionEmpty
	}
	return err
}

// listable reports whether a full listing would show the item of a link.
func (r *run) listable(l *store.Link) bool {
	return r.window == nil || r.window.Covers(decodeFields(l.Base))
}

// removeUnseen handles links whose remote item a full listing did not
// show: it was deleted while the cursor was expired. It streams the live
// links' ids and reads in full only the few links not seen.
func (r *run) removeUnseen(ctx context.Context, seen map[string]struct{}) error {
	var unseen []string
	err := r.e.State.LiveLinkIDs(ctx, r.b.ID, func(localID, remoteID string) error {
		if _, ok := seen[remoteID]; !ok {
			unseen = append(unseen, localID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range unseen {
		l, err := r.e.State.FindLink(ctx, r.b.ID, "local_id", id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if l.Pending || l.Dormant || !r.listable(l) {
			continue
		}
		// Listings lag behind writes (Google: minutes), so confirm the
		// item is really gone before acting on its absence.
		it, err := r.conn.Get(ctx, l.RemoteID)
		if err == nil && !it.Deleted {
			continue
		}
		if err != nil && !errors.Is(err, ErrRemoteNotFound) {
			return err
		}
		if err := r.remoteRemoved(ctx, l, ReasonGoneRemotely); err != nil {
			return err
		}
	}
	return nil
}

// pageLinks holds the links a batch of remote items can match, read in one
// query per kind of key at the start of the batch's transaction, and kept
// current as the batch writes links: a second item matching a link the
// first one wrote (by marker or identity) finds it, as it would in the
// store. Changes made by an item that is rolled back are undone.
type pageLinks struct {
	byLocal                        map[string]*store.Link
	byRemote, byMarker, byIdentity map[string]string // → local id
	undo                           []pageUndo
}

type pageUndo struct {
	localID string
	prev    *store.Link // nil: there was no link
}

func newPageLinks(links []*store.Link) *pageLinks {
	p := &pageLinks{byLocal: map[string]*store.Link{}, byRemote: map[string]string{}, byMarker: map[string]string{},
		byIdentity: map[string]string{}}
	for _, l := range links {
		p.set(l)
	}
	return p
}

// find matches an item to a link by remote id, then marker, then identity.
func (p *pageLinks) find(it Item) *store.Link {
	for _, k := range []struct {
		m   map[string]string
		key string
	}{{p.byRemote, it.RemoteID}, {p.byMarker, it.Marker}, {p.byIdentity, it.Identity}} {
		if k.key == "" {
			continue
		}
		if id, ok := k.m[k.key]; ok {
			return p.byLocal[id]
		}
	}
	return nil
}

func (p *pageLinks) put(l *store.Link) {
	p.undo = append(p.undo, pageUndo{l.LocalID, p.byLocal[l.LocalID]})
	c := *l
	p.set(&c)
}

func (p *pageLinks) del(localID string) {
	p.undo = append(p.undo, pageUndo{localID, p.byLocal[localID]})
	p.unset(localID)
}

// commit keeps an item's changes; rollback undoes them.
func (p *pageLinks) commit() { p.undo = p.undo[:0] }

func (p *pageLinks) rollback() {
	for i := len(p.undo) - 1; i >= 0; i-- {
		u := p.undo[i]
		if u.prev == nil {
			p.unset(u.localID)
		} else {
			p.set(u.prev)
		}
	}
	p.undo = p.undo[:0]
}

func (p *pageLinks) set(l *store.Link) {
	p.unset(l.LocalID)
	p.byLocal[l.LocalID] = l
	if l.RemoteID != "" {
		p.byRemote[l.RemoteID] = l.LocalID
	}
	if l.Marker != "" {
		p.byMarker[l.Marker] = l.LocalID
	}
	if _, taken := p.byIdentity[l.Identity]; l.Identity != "" && !taken {
		p.byIdentity[l.Identity] = l.LocalID
	}
}

func (p *pageLinks) unset(localID string) {
	old := p.byLocal[localID]
	if old == nil {
		return
	}
	delete(p.byLocal, localID)
	for _, k := range []struct {
		m   map[string]string
		key string
	}{{p.byRemote, old.RemoteID}, {p.byMarker, old.Marker}, {p.byIdentity, old.Identity}} {
		if k.key != "" && k.m[k.key] == localID {
			delete(k.m, k.key)
		}
	}
	if old.Identity != "" && p.byIdentity[old.Identity] == "" {
		// Another link may share the identity.
		for id, l := range p.byLocal {
			if l.Identity == old.Identity {
				p.byIdentity[l.Identity] = id
				break
			}
		}
	}
}

// applyItems applies remote items (a page of a listing, or what the remote
// made of our own write) in one transaction, so that an item that fails on
// its own (an *ItemError) is rolled back and skipped, and the others
// commit together. Any other error rolls back the whole batch and stops
// the run; the cursor has not moved, so the next run applies the batch
// again, and what was applied before is skipped by etag.
//
// Items are applied first without savepoints, which cost (on SQLite a copy
// of every page an item touches, on PostgreSQL two round trips an item);
// when one fails on its own, the batch is rolled back and applied again
// with a savepoint per item, the bad item rolled back alone.
//
// Remote writes the items call for (a merge whose result the remote lacks)
// run after the commit, not while the transaction holds SQLite's single
// writer: until each succeeds the link's base stays what the remote holds,
// so a crash in between leaves a local change that the next push sends.
func (r *run) applyItems(ctx context.Context, items []Item, pulled bool) error {
	if len(items) == 0 {
		return nil
	}
	if err := r.lookForMoves(ctx, items); err != nil {
		return err
	}
	stats, planned, carried := r.stats, len(r.plan), r.carried()
	err := r.applyItemsOnce(ctx, items, pulled, false)
	if errors.Is(err, errItemFailed) {
		r.stats, r.plan = stats, r.plan[:planned]
		r.uncarry(carried)
		err = r.applyItemsOnce(ctx, items, pulled, true)
	}
	return err
}

// errItemFailed rolls back a batch applied without savepoints in which an
// item failed on its own.
var errItemFailed = errors.New("an item of the batch failed")

func (r *run) applyItemsOnce(ctx context.Context, items []Item, pulled, guarded bool) error {
	return r.inBatch(ctx, func(tx *store.Tx) error {
		var remoteIDs, markers, identities []string
		for _, it := range items {
			remoteIDs = append(remoteIDs, it.RemoteID)
			if it.Marker != "" {
				markers = append(markers, it.Marker)
			}
			if it.Identity != "" {
				identities = append(identities, it.Identity)
			}
		}
		links, err := tx.LinksMatching(ctx, r.b.ID, remoteIDs, markers, identities)
		if err != nil {
			return err
		}
		r.pg = newPageLinks(links)
		if err := r.readSiblingLinks(ctx, tx, identities); err != nil {
			return err
		}
		if err := r.preload(ctx, tx, items); err != nil {
			return err
		}
		defer func() { r.loaded = nil }()
		// New items are written together when the Local can, except on
		// the guarded retry (each item alone in its savepoint), in a
		// preview (whose plan names each record as it goes), and when
		// the Local adopts records (each new item may be one).
		_, adopts := r.local.(Adopter)
		if _, ok := r.local.(BulkCreator); ok && !guarded && !r.dry && !adopts {
			r.creates = newPendingCreates()
			defer func() { r.creates = nil }()
		}
		unguarded := func(err error) error {
			r.pg.commit()
			if err != nil && ctx.Err() == nil && !isFatal(err) {
				return errItemFailed
			}
			return err
		}
		for _, it := range items {
			if pulled {
				r.stats.Pulled++
			}
			if err := r.e.hook(ctx, HookItem); err != nil {
				return err
			}
			if !guarded {
				if r.creates.holds(it) {
					// It may match one of them: the page's links must
					// show them first.
					if err := unguarded(r.flushCreates(ctx, tx)); err != nil {
						return err
					}
				}
				if err := unguarded(r.pullItem(ctx, tx, it)); err != nil {
					return err
				}
				continue
			}
			queued, carried := len(r.after), r.carried()
			err := tx.Savepoint(ctx, func() error { return r.pullItem(ctx, tx, it) })
			if err == nil {
				r.pg.commit()
				continue
			}
			r.pg.rollback()
			r.after = r.after[:queued]
			r.uncarry(carried)
			if ctx.Err() != nil || isFatal(err) {
				return err
			}
			// One bad item must not stop the binding: log and skip.
			r.stats.Skipped++
			r.log().Warn("remote item skipped", "remote_id", it.RemoteID, "err", err)
		}
		if !guarded {
			return unguarded(r.flushCreates(ctx, tx))
		}
		return nil
	})
}

// pendingCreates are new items of a batch waiting to be written together,
// with the keys a later item of the batch could match them by.
type pendingCreates struct {
	items                    []Item
	remote, marker, identity map[string]bool
}

func newPendingCreates() *pendingCreates {
	return &pendingCreates{remote: map[string]bool{}, marker: map[string]bool{}, identity: map[string]bool{}}
}

func (p *pendingCreates) add(it Item) {
	p.items = append(p.items, it)
	for _, k := range []struct {
		m   map[string]bool
		key string
	}{{p.remote, it.RemoteID}, {p.marker, it.Marker}, {p.identity, it.Identity}} {
		if k.key != "" {
			k.m[k.key] = true
		}
	}
}

// holds reports whether it could match a pending item's link (by remote
// id, marker or identity, as pageLinks.find matches).
func (p *pendingCreates) holds(it Item) bool {
	if p == nil || len(p.items) == 0 {
		return false
	}
	return it.RemoteID != "" && p.remote[it.RemoteID] || it.Marker != "" && p.marker[it.Marker] ||
		it.Identity != "" && p.identity[it.Identity]
}

// flushCreates writes the batch's pending new items as importItem does
// each, in a few statements: the records (BulkCreator), their links and
// journal entries; the batch's links then show them.
func (r *run) flushCreates(ctx context.Context, tx *store.Tx) error {
	p := r.creates
	if p == nil || len(p.items) == 0 {
		return nil
	}
	items := p.items
	*p = *newPendingCreates()
	fs := make([]Fields, len(items))
	for i, it := range items {
		fs[i] = it.Fields
	}
	ids, err := r.local.(BulkCreator).CreateMany(ctx, tx, fs)
	if err != nil {
		return &ItemError{Err: err}
	}
	if len(ids) != len(items) {
		return fmt.Errorf("create many: %d ids for %d records", len(ids), len(items))
	}
	links := make([]*store.Link, len(items))
	entries := make([]store.JournalEntry, len(items))
	now := time.Now()
	for i, it := range items {
		marker := it.Marker
		if marker == "" {
			marker = newMarker()
		}
		links[i] = &store.Link{BindingID: r.b.ID, LocalID: ids[i], RemoteID: it.RemoteID, ETag: it.ETag,
			Identity: it.Identity, Marker: marker, Base: encodeFields(it.Fields), BaseAt: now}
		entries[i] = store.JournalEntry{BindingID: r.b.ID, Entity: r.local.Entity(), RecordID: ids[i],
			RemoteID: it.RemoteID, Side: "local", Action: "create", Fields: names(it.Fields), Reason: ReasonCreatedRemotely}
	}
	if err := tx.PutLinks(ctx, links); err != nil {
		return err
	}
	if err := tx.JournalMany(ctx, entries); err != nil {
		return err
	}
	for _, l := range links {
		r.pg.put(l)
	}
	r.stats.LocalCreated += len(items)
	return nil
}

// inBatch runs fn in one transaction with the batch's links (r.pg, empty
// until fn loads some) and its queue of remote writes (r.after), then runs
// the queued writes once the transaction has committed.
func (r *run) inBatch(ctx context.Context, fn func(tx *store.Tx) error) error {
	var after []deferredWrite
	err := r.inTx(ctx, func(tx *store.Tx) error {
		r.pg, r.after = newPageLinks(nil), nil
		defer func() { r.pg = nil }()
		if err := fn(tx); err != nil {
			return err
		}
		after = r.after
		return nil
	})
	r.after = nil
	if err != nil {
		return err
	}
	r.progress()
	if len(after) == 0 {
		return nil
	}
	if err := r.e.hook(ctx, HookCommitted); err != nil {
		return err
	}
	for _, w := range after {
		if err := r.updateRemote(ctx, w.link, w.fields, w.conflicts); err != nil {
			if ctx.Err() != nil || isFatal(err) {
				return err
			}
			r.stats.Skipped++
			r.log().Warn("remote item not updated", "remote_id", w.link.RemoteID, "err", err)
		}
	}
	return nil
}

// deferredWrite is a remote update a batch of items called for, run after
// the batch commits.
type deferredWrite struct {
	link      *store.Link
	fields    Fields
	conflicts []string
}

// putLink writes a link in the batch's transaction and keeps the batch's
// links current.
func (r *run) putLink(ctx context.Context, tx *store.Tx, l *store.Link) error {
	if err := tx.PutLink(ctx, l); err != nil {
		return err
	}
	if r.pg != nil {
		r.pg.put(l)
	}
	return nil
}

func (r *run) deleteLink(ctx context.Context, tx *store.Tx, localID string) error {
	if err := tx.DeleteLink(ctx, r.b.ID, localID); err != nil {
		return err
	}
	if r.pg != nil {
		r.pg.del(localID)
	}
	return nil
}

// pullItem applies one remote item inside its batch's transaction.
func (r *run) pullItem(ctx context.Context, tx *store.Tx, it Item) error {
	r.previewName = DisplayName(it.Fields)
	link := r.pg.find(it)
	if r.dry && r.previewName == "" && link != nil {
		// A deleted item comes without content (a CalDAV listing):
		// the preview names it as it was last synced.
		r.previewName = DisplayName(decodeFields(link.Base))
	}
	if it.Problem != "" {
		return r.unreadable(ctx, tx, link, it)
	}
	if link != nil && link.Dormant {
		if it.Deleted || link.RemoteID != it.RemoteID {
			return nil // still out of the collection (or another item)
		}
		if it.ETag != "" && it.ETag == link.ETag {
			// Left in place when its record left (a policy that keeps
			// items Tandem did not create) and unchanged since: a full
			// listing showing it is no coming back.
			return nil
		}
		return r.reenterLocal(ctx, tx, link, it)
	}
	if it.Deleted {
		if link == nil || link.RemoteID != it.RemoteID {
			return nil
		}
		return r.remoteRemovedTx(ctx, tx, link, ReasonRemovedRemotely)
	}
	if link == nil {
		if sl := r.siblingLink(it); sl != nil {
			return r.joinSibling(ctx, tx, sl, it)
		}
		return r.newItem(ctx, tx, it)
	}
	if link.RemoteID == it.RemoteID && link.ETag == it.ETag && !link.Pending {
		return nil // unchanged, or our own write coming back
	}
	lr, ok := r.loaded[link.LocalID]
	if ok {
		delete(r.loaded, link.LocalID)
	} else {
		var err error
		if lr, err = r.local.Load(ctx, tx, link.LocalID); err != nil {
			return err
		}
	}
	if !lr.Exists {
		// Deleted here; the push phase removes it remotely.
		return nil
	}
	if link.RemoteID != it.RemoteID && link.RemoteID != "" {
		// Matched by identity to a different remote item: keep the first.
		return nil
	}
	return r.merge(ctx, tx, link, lr, it)
}

// preload reads together, when the Local is a BatchLoader, the records
// that the batch's changed items are linked to (those pullItem merges),
// instead of one Load each.
func (r *run) preload(ctx context.Context, tx *store.Tx, items []Item) error {
	bl, ok := r.local.(BatchLoader)
	if !ok {
		return nil
	}
	var ids []string
	for _, it := range items {
		l := r.pg.find(it)
		if l == nil || l.Dormant || it.Deleted || it.Problem != "" ||
			l.RemoteID == it.RemoteID && l.ETag == it.ETag && !l.Pending {
			continue
		}
		ids = append(ids, l.LocalID)
	}
	if len(ids) < 2 {
		return nil
	}
	var err error
	r.loaded, err = bl.LoadMany(ctx, tx, ids)
	return err
}

// newItem imports an item no link matches, or keeps it for the batch's
// bulk create.
func (r *run) newItem(ctx context.Context, tx *store.Tx, it Item) error {
	if r.creates != nil {
		r.creates.add(it)
		return nil
	}
	return r.importItem(ctx, tx, it, "")
}

// unreadable skips an item the connector could not read: one bad object
// must not stop the binding, and its link keeps the last good state.
func (r *run) unreadable(ctx context.Context, tx *store.Tx, link *store.Link, it Item) error {
	r.stats.Skipped++
	r.log().Warn("remote item unreadable; skipped", "remote_id", it.RemoteID, "problem", it.Problem)
	if link == nil || link.LocalID == "" {
		return nil
	}
	return r.journal(ctx, tx, link.LocalID, it.RemoteID, "remote", "skip", nil, Unreadable(it.Problem))
}

// reenterLocal handles an item back in the collection whose link is
// dormant: the record is put back in scope and merged against the kept
// base; a record deleted meanwhile makes the item a new record.
func (r *run) reenterLocal(ctx context.Context, tx *store.Tx, link *store.Link, it Item) error {
	lr, err := r.local.Load(ctx, tx, link.LocalID)
	if err != nil {
		return err
	}
	if !lr.Exists {
		return r.importItem(ctx, tx, it, link.LocalID)
	}
	if !lr.InScope {
		action, err := r.local.Reenter(ctx, tx, link.LocalID)
		if err != nil {
			return &ItemError{Err: err}
		}
		if action == "" {
			return nil
		}
		r.stats.LocalUpdated++
		if err := r.journal(ctx, tx, link.LocalID, it.RemoteID, "local", action, nil, ReasonBackRemotely); err != nil {
			return err
		}
		// Read inside the transaction: it sees the change just made.
		if lr, err = r.local.Load(ctx, tx, link.LocalID); err != nil {
			return err
		}
		if !lr.InScope {
			// The policy keeps it out for another reason: the link stays
			// dormant.
			return nil
		}
	}
	return r.merge(ctx, tx, link, lr, it)
}

// merge merges a remote item with its linked record three-way against the
// link's base, applies the result locally, makes the link live, and queues
// the remote write when the remote side lacks local changes.
func (r *run) merge(ctx context.Context, tx *store.Tx, link *store.Link, lr LocalRecord, it Item) error {
	it = carry(it, lr.Fields)
	base := decodeFields(link.Base)
	merged, toLocal, toRemote, conflicts := Merge(base, lr.Fields, it.Fields, lr.Modified, it.Modified)
	if len(conflicts) > 0 {
		r.stats.Conflicts++
	}
	toLocal, toRemote, reverted, why := revertLocked(lr, merged, toLocal, toRemote)
	stored := merged
	if onlyRideAlong(toRemote) {
		// Nothing the remote side lacks is worth a write of its own: the
		// base keeps what the remote holds, so the fields go out with the
		// next write that carries a real change.
		stored = maps.Clone(merged)
		for _, k := range toRemote {
			setField(stored, k, it.Fields[k])
		}
		toRemote = nil
	}
	nl := *link
	nl.RemoteID, nl.ETag, nl.Pending, nl.Dormant = it.RemoteID, it.ETag, false, false
	if nl.Identity == "" {
		nl.Identity = it.Identity
	}
	nl.Base, nl.BaseAt = encodeFields(stored), time.Now()
	if len(toRemote) > 0 {
		// The remote side lacks local changes: the base must stay what the
		// remote holds until the push succeeds.
		nl.Base = encodeFields(it.Fields)
	}
	if len(reverted) > 0 {
		r.stats.Reverted++
		if err := r.journal(ctx, tx, link.LocalID, it.RemoteID, "remote", "revert", reverted, why); err != nil {
			return err
		}
	}
	if len(toLocal) > 0 {
		if err := r.local.Update(ctx, tx, link.LocalID, merged, toLocal); err != nil {
			return &ItemError{Err: err}
		}
		r.stats.LocalUpdated++
		reason := ReasonChangedRemotely
		if len(conflicts) > 0 {
			reason = Conflict(conflicts)
		}
		if err := r.journal(ctx, tx, link.LocalID, it.RemoteID, "local", "update", toLocal, reason); err != nil {
			return err
		}
	}
	if err := r.putLink(ctx, tx, &nl); err != nil {
		return err
	}
	if len(toRemote) > 0 {
		r.after = append(r.after, deferredWrite{link: &nl, fields: merged, conflicts: conflicts})
		if !r.dry {
			// The write runs after the commit. Should it never happen (a
			// crash, the server down), the record must still reach the
			// remote side: a change under another origin than the
			// binding's is one its next push does not skip. Once the
			// write succeeds, that push finds the record equal to its
			// base and does nothing.
			if err := tx.NoteChange(store.WithOrigin(ctx, pendingOrigin(r.b.ID)), r.local.Entity(), link.LocalID); err != nil {
				return err
			}
		}
	}
	return nil
}

// rideAlong are the fields that are not worth a remote write of their
// own: the marker an imported item gets (tandem_id) would otherwise cost
// one write per item at its first remote change. They are written with
// the next real change; until then a resubscribe finds the record by its
// content (the Locals' adopt) instead.
var rideAlong = map[string]bool{FieldTandemID: true}

// onlyRideAlong reports whether names is non-empty and all ride-along.
func onlyRideAlong(names []string) bool {
	for _, k := range names {
		if !rideAlong[k] {
			return false
		}
	}
	return len(names) > 0
}

// sameButRideAlong reports whether local differs from base in no field
// but ride-along ones.
func sameButRideAlong(local, base Fields) bool {
	return local.Equal(base) || onlyRideAlong(changedNames(base, local))
}

func setField(f Fields, k, v string) {
	if v == "" {
		delete(f, k)
		return
	}
	f[k] = v
}

// withPayloads fills the blob fields of a link's base, which keeps their
// heads alone, from the local record: an item written again from its base
// (Restore) needs the photo itself. When the record's photo is another
// one, that one is the best there is: the item then holds what the record
// does, and the merge that follows finds nothing to change.
func withPayloads(base, local Fields) Fields {
	for k := range blobFields {
		if v, ok := base[k]; ok && v == blobHead(v) {
			setField(base, k, local[k])
		}
	}
	return base
}

// pendingOrigin is the change-log origin of a remote write a binding
// owes: not its own origin, so its push does not skip it.
func pendingOrigin(bindingID string) string { return "sync-pending:" + bindingID }

// revertLocked takes back remote changes to locked fields: the merged
// record keeps the local value, which then goes to the remote side too.
// It returns the new field lists, the reverted fields and why.
func revertLocked(lr LocalRecord, merged Fields, toLocal, toRemote []string) (local, remote, reverted []string, why string) {
	if len(lr.Locked) == 0 {
		return toLocal, toRemote, nil, ""
	}
	var reasons []string
	for _, k := range toLocal {
		reason, locked := lr.Locked[k]
		if !locked {
			local = append(local, k)
			continue
		}
		if v := lr.Fields[k]; v != "" {
			merged[k] = v
		} else {
			delete(merged, k)
		}
		reverted = append(reverted, k)
		if !slices.Contains(toRemote, k) {
			toRemote = append(toRemote, k)
		}
		if !slices.Contains(reasons, reason) {
			reasons = append(reasons, reason)
		}
	}
	return local, toRemote, reverted, joinReasons(reasons)
}

// importItem makes a record of a remote item; replaces names a record
// deleted while its link was dormant, whose link the new one replaces.
func (r *run) importItem(ctx context.Context, tx *store.Tx, it Item, replaces string) error {
	if replaces != "" {
		if err := r.deleteLink(ctx, tx, replaces); err != nil {
			return err
		}
	}
	id, action, reason := "", "create", ReasonCreatedRemotely
	if ad, ok := r.local.(Adopter); ok {
		var err error
		if id, err = ad.Adopt(ctx, tx, it.Fields); err != nil {
			return &ItemError{Err: err}
		}
	}
	if id != "" {
		// A record already here: linked, not created.
		action, reason = "link", ReasonAdopted
		r.stats.Linked++
	} else {
		var err error
		if id, err = r.local.Create(ctx, tx, it.Fields); err != nil {
			return &ItemError{Err: err}
		}
		r.stats.LocalCreated++
		if replaces != "" {
			reason = ReasonBackRemotelyRecordDeleted
		}
	}
	marker := it.Marker
	if marker == "" {
		marker = newMarker()
	}
	if err := r.putLink(ctx, tx, &store.Link{BindingID: r.b.ID, LocalID: id, RemoteID: it.RemoteID, ETag: it.ETag,
		Identity: it.Identity, Marker: marker, Base: encodeFields(it.Fields), BaseAt: time.Now()}); err != nil {
		return err
	}
	var fields []string
	if action == "create" {
		fields = names(it.Fields)
	}
	return r.journal(ctx, tx, id, it.RemoteID, "local", action, fields, reason)
}

// remoteRemoved applies the Local's policy for an item gone from the
// collection in a transaction of its own.
func (r *run) remoteRemoved(ctx context.Context, l *store.Link, reason string) error {
	if err := r.lookForMove(ctx, l); err != nil {
		return err
	}
	return r.inTx(ctx, func(tx *store.Tx) error { return r.remoteRemovedTx(ctx, tx, l, reason) })
}

// remoteRemovedTx applies the Local's policy for an item gone from the
// collection; the link stays, dormant, unless the record went too.
func (r *run) remoteRemovedTx(ctx context.Context, tx *store.Tx, l *store.Link, reason string) error {
	if moved, err := r.movedAway(ctx, tx, l); err != nil || moved {
		return err
	}
	action, err := r.local.RemoteRemoved(ctx, tx, l.LocalID)
	gone := errors.Is(err, store.ErrNotFound)
	if err != nil && !gone {
		return &ItemError{Err: err}
	}
	if err := r.unlink(ctx, tx, l, gone || action == ActionDelete); err != nil {
		return err
	}
	r.stats.LocalRemoved++
	return r.journal(ctx, tx, l.LocalID, l.RemoteID, "local", action, nil, reason)
}

// createRemote commits a pending link with a marker, then creates the
// remote item, then completes the link: a crash in between leaves a
// pending link that finishPending resolves by marker.
func (r *run) createRemote(ctx context.Context, id string, f Fields, marker, identity string) error {
	if marker == "" {
		marker = newMarker()
		pending := &store.Link{BindingID: r.b.ID, LocalID: id, Marker: marker, Identity: identity, Base: encodeFields(f),
			Pending: true}
		if err := r.inTx(ctx, func(tx *store.Tx) error { return tx.PutLink(ctx, pending) }); err != nil {
			return err
		}
	}
	it, err := createItem(ctx, r.conn, f, marker, identity)
	if err != nil {
		return err
	}
	err = r.inTx(ctx, func(tx *store.Tx) error {
		r.stats.RemoteCreated++
		if err := tx.PutLink(ctx, &store.Link{BindingID: r.b.ID, LocalID: id, RemoteID: it.RemoteID, ETag: r.etagUnless(f, it),
			Identity: it.Identity, Marker: marker, Base: encodeFields(f), BaseAt: time.Now()}); err != nil {
			return err
		}
		return r.journal(ctx, tx, id, it.RemoteID, "remote", "create", names(f), ReasonCreatedLocally)
	})
	if err != nil {
		return err
	}
	return r.absorb(ctx, f, it)
}

// etagUnless is the etag to keep after writing f: the item's, unless the
// remote changed what we sent (it normalizes: Google splits a full name
// into parts), in which case no etag, so absorb merges the difference.
func (r *run) etagUnless(f Fields, it Item) string {
	if !changedInWrite(f, it) {
		return it.ETag
	}
	return ""
}

// changedInWrite reports whether it, the item as a write of f left it,
// reads otherwise than f (the fields it does not carry aside).
func changedInWrite(f Fields, it Item) bool {
	return it.Fields != nil && !carry(it, f).Fields.Equal(f)
}

// absorb takes what the remote changed in a write we made back into the
// local record, so both sides agree without another round trip.
func (r *run) absorb(ctx context.Context, sent Fields, it Item) error {
	if !changedInWrite(sent, it) {
		return nil
	}
	return r.applyItems(ctx, []Item{it}, false)
}

func (r *run) finishPending(ctx context.Context, link *store.Link, lr LocalRecord) error {
	it, found, err := r.conn.FindByMarker(ctx, link.Marker)
	if err != nil {
		return err
	}
	if !found {
		if !lr.Exists || !lr.InScope {
			return r.inTx(ctx, func(tx *store.Tx) error { return tx.DeleteLink(ctx, r.b.ID, link.LocalID) })
		}
		return r.createRemote(ctx, link.LocalID, lr.Fields, link.Marker, link.Identity)
	}
	// The item may have changed remotely since our create: link it with an
	// unknown etag so the merge below (or a later pull) compares it with
	// the base — what the create sent.
	nl := *link
	nl.RemoteID, nl.ETag, nl.Identity, nl.Pending, nl.BaseAt = it.RemoteID, "", it.Identity, false, time.Now()
	if err := r.inTx(ctx, func(tx *store.Tx) error {
		if err := tx.PutLink(ctx, &nl); err != nil {
			return err
		}
		return r.journal(ctx, tx, link.LocalID, it.RemoteID, "remote", "link", nil, ReasonFoundByMarker)
	}); err != nil {
		return err
	}
	if !lr.Exists || !lr.InScope {
		return r.removeRemote(ctx, &nl, lr.Exists)
	}
	return r.applyItems(ctx, []Item{it}, false)
}

// updateRemote writes f to the linked item with its etag; on a precondition
// failure it re-reads, re-merges (applying remote changes locally) and
// tries again.
func (r *run) updateRemote(ctx context.Context, link *store.Link, f Fields, conflicts []string) (err error) {
	retries := r.e.Retries
	if retries <= 0 {
		retries = 3
	}
	cur := *link
	for attempt := 0; ; attempt++ {
		it, err := r.conn.Update(ctx, cur.RemoteID, cur.ETag, f)
		if errors.Is(err, ErrRemoteNotFound) {
			return r.remoteRemoved(ctx, &cur, ReasonRemovedRemotely)
		}
		if errors.Is(err, ErrPrecondition) && attempt < retries {
			remote, gerr := r.conn.Get(ctx, cur.RemoteID)
			if errors.Is(gerr, ErrRemoteNotFound) {
				return r.remoteRemoved(ctx, &cur, ReasonRemovedRemotely)
			}
			if gerr != nil {
				return gerr
			}
			lr, lerr := r.local.Load(ctx, nil, cur.LocalID)
			if lerr != nil {
				return lerr
			}
			remote = carry(remote, lr.Fields)
			merged, toLocal, toRemote, cs := Merge(decodeFields(cur.Base), lr.Fields, remote.Fields, lr.Modified, remote.Modified)
			toLocal, _, reverted, why := revertLocked(lr, merged, toLocal, toRemote)
			if len(reverted) > 0 {
				if err := r.inTx(ctx, func(tx *store.Tx) error {
					r.stats.Reverted++
					return r.journal(ctx, tx, cur.LocalID, cur.RemoteID, "remote", "revert", reverted, why)
				}); err != nil {
					return err
				}
			}
			if len(toLocal) > 0 {
				if err := r.inTx(ctx, func(tx *store.Tx) error {
					if err := r.local.Update(ctx, tx, cur.LocalID, merged, toLocal); err != nil {
						return &ItemError{Err: err}
					}
					r.stats.LocalUpdated++
					return r.journal(ctx, tx, cur.LocalID, cur.RemoteID, "local", "update", toLocal, ReasonChangedDuringWrite)
				}); err != nil {
					return err
				}
			}
			conflicts = append(conflicts, cs...)
			cur.ETag, cur.Base, f = remote.ETag, encodeFields(remote.Fields), merged
			continue
		}
		if err != nil {
			return err
		}
		changed := changedNames(decodeFields(cur.Base), f)
		defer func() {
			if err == nil {
				err = r.absorb(ctx, f, it)
			}
		}()
		return r.inTx(ctx, func(tx *store.Tx) error {
			r.stats.RemoteUpdated++
			nl := cur
			nl.ETag, nl.Base, nl.BaseAt = r.etagUnless(f, it), encodeFields(f), time.Now()
			if err := tx.PutLink(ctx, &nl); err != nil {
				return err
			}
			reason := ReasonChangedLocally
			if len(conflicts) > 0 {
				reason = Conflict(conflicts)
			}
			return r.journal(ctx, tx, cur.LocalID, cur.RemoteID, "remote", "update", changed, reason)
		})
	}
}

func (r *run) removeRemote(ctx context.Context, link *store.Link, stillExists bool) error {
	err := r.conn.Delete(ctx, link.RemoteID, link.ETag)
	if errors.Is(err, ErrPrecondition) {
		// Changed remotely since we saw it: still remove (the local side
		// decided), but with the current etag.
		it, gerr := r.conn.Get(ctx, link.RemoteID)
		if gerr == nil {
			err = r.conn.Delete(ctx, link.RemoteID, it.ETag)
		} else {
			err = gerr
		}
	}
	kept := errors.Is(err, ErrKept)
	if err != nil && !kept && !errors.Is(err, ErrRemoteNotFound) {
		return err
	}
	reason := ReasonDeletedLocally
	if stillExists {
		reason = ReasonOutOfScope
	}
	return r.inTx(ctx, func(tx *store.Tx) error {
		action := "remove"
		if kept {
			action = "keep"
		} else {
			r.stats.RemoteRemoved++
		}
		if err := r.unlink(ctx, tx, link, !stillExists && !kept); err != nil {
			return err
		}
		return r.journal(ctx, tx, link.LocalID, link.RemoteID, "remote", action, nil, reason)
	})
}

// unlink ends a link whose record or item left: forgotten when the record
// is gone, else kept dormant with its base (see the package doc).
func (r *run) unlink(ctx context.Context, tx *store.Tx, l *store.Link, recordGone bool) error {
	if recordGone {
		return r.deleteLink(ctx, tx, l.LocalID)
	}
	nl := *l
	nl.Dormant = true
	return r.putLink(ctx, tx, &nl)
}

// restoreRemote handles a record back in scope whose link is dormant: its
// item is put back into the collection and merged against the kept base;
// an item gone for good makes a new one.
func (r *run) restoreRemote(ctx context.Context, link *store.Link, lr LocalRecord) error {
	var it Item
	var err error
	base := withPayloads(decodeFields(link.Base), lr.Fields)
	if ir, ok := r.conn.(IdentityRestorer); ok && link.Identity != "" {
		it, err = ir.RestoreIdentity(ctx, link.RemoteID, link.Identity, base)
	} else {
		it, err = r.conn.Restore(ctx, link.RemoteID, base)
	}
	if errors.Is(err, ErrRemoteNotFound) {
		if err := r.inTx(ctx, func(tx *store.Tx) error {
			if err := tx.DeleteLink(ctx, r.b.ID, link.LocalID); err != nil {
				return err
			}
			return r.journal(ctx, tx, link.LocalID, link.RemoteID, "remote", "unlink", nil,
				ReasonBackLocallyRemoteGone)
		}); err != nil {
			return err
		}
		return r.createRemote(ctx, link.LocalID, lr.Fields, "", "")
	}
	if err != nil {
		return err
	}
	if it.Deleted {
		return &ItemError{Err: fmt.Errorf("remote item %s restored but still not in the collection", link.RemoteID)}
	}
	return r.inBatch(ctx, func(tx *store.Tx) error {
		r.stats.RemoteUpdated++
		if err := r.journal(ctx, tx, link.LocalID, it.RemoteID, "remote", "restore", nil, ReasonBackLocally); err != nil {
			return err
		}
		return r.merge(ctx, tx, link, lr, it)
	})
}

func (r *run) journal(ctx context.Context, tx *store.Tx, localID, remoteID, side, action string, fields []string, reason string) error {
	e := store.JournalEntry{BindingID: r.b.ID, Entity: r.local.Entity(), RecordID: localID, RemoteID: remoteID,
		Side: side, Action: action, Fields: fields, Reason: reason}
	if r.dry {
		e.Name = r.previewName
		r.plan = append(r.plan, e)
		return nil
	}
	return tx.Journal(ctx, e)
}

func names(f Fields) []string {
	out := make([]string, 0, len(f))
	for k := range f {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func changedNames(a, b Fields) []string {
	var out []string
	for _, k := range names(unionFields(a, b)) {
		if !sameValue(k, a[k], b[k]) {
			out = append(out, k)
		}
	}
	return out
}

func unionFields(a, b Fields) Fields {
	u := a.Clone()
	for k, v := range b {
		u[k] = v
	}
	return u
}

// DisplayName is a record's name for people: its name or title field, or
// its name parts.
func DisplayName(f Fields) string {
	for _, k := range []string{FieldName, "title"} {
		if f[k] != "" {
			return f[k]
		}
	}
	return strings.TrimSpace(f[FieldGivenName] + " " + f[FieldFamilyName])
}

// newMarker is Tandem's id for a remote item it creates.
func newMarker() string { return "tandem-" + uuid.Must(uuid.NewV7()).String() }
