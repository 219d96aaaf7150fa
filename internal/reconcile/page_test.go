package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// badCreates is a Local whose Create writes the record and then refuses
// items named "Bad …", so the item's savepoint must take the record back.
type badCreates struct {
	reconcile.Local
}

func (b badCreates) Create(ctx context.Context, tx *store.Tx, f reconcile.Fields) (string, error) {
	id, err := b.Local.Create(ctx, tx, f)
	if err == nil && strings.HasPrefix(f[reconcile.FieldName], "Bad") {
		return "", fmt.Errorf("refused %q", f[reconcile.FieldName])
	}
	return id, err
}

func (f *fixture) names() []string {
	f.t.Helper()
	var out []string
	for _, c := range f.contacts() {
		out = append(out, c.Name)
	}
	return out
}

// TestPageBadItemSkippedAlone: an item that fails in the middle of a page
// is rolled back alone (what it wrote before failing too), and the items
// before and after it in the same page transaction are committed.
func TestPageBadItemSkippedAlone(t *testing.T) {
	f := newFixture(t)
	f.conn.pageSize = 5
	for _, n := range []string{"Ann One", "Bob Two", "Bad Three", "Dan Four", "Eve Five"} {
		f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: n})
	}
	s, err := f.eng.Run(f.ctx, f.b.ID, f.remote, badCreates{f.local})
	if err != nil {
		t.Fatal(err)
	}
	if s.Skipped != 1 || s.LocalCreated != 4 || s.Pulled != 5 {
		t.Fatalf("stats %+v", s)
	}
	if got := strings.Join(f.names(), ","); got != "Ann One,Bob Two,Dan Four,Eve Five" {
		t.Errorf("contacts %s", got)
	}
	b, _ := f.st.GetBinding(f.ctx, f.b.ID)
	if b.RemoteCursor == "" {
		t.Error("the cursor did not move past the page")
	}
	// The bad item is not linked; the others are.
	n, _ := f.st.CountLinks(f.ctx, f.b.ID)
	if n != 4 {
		t.Errorf("%d links, want 4", n)
	}
}

// TestPageCrashReplays: a fatal error between two items of a page (a
// crash) rolls the whole page back; the next run applies it again, once.
func TestPageCrashReplays(t *testing.T) {
	f := newFixture(t)
	f.conn.pageSize = 4
	for i := range 10 {
		f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: fmt.Sprintf("Person %02d", i)})
	}
	items := 0
	errCrash := errors.New("crash inside a page")
	reconcile.SetHook(f.eng, func(ctx context.Context, point string) error {
		if point == reconcile.HookItem {
			if items++; items == 7 { // the third item of the second page
				return errCrash
			}
		}
		return nil
	})
	if _, err := f.eng.Run(f.ctx, f.b.ID, f.remote, f.local); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v", err)
	}
	// The first page committed; none of the second.
	if got := len(f.contacts()); got != 4 {
		t.Fatalf("%d contacts after the crash, want the first page's 4", got)
	}
	reconcile.SetHook(f.eng, nil)
	f.run()
	f.run()
	names := f.names()
	if len(names) != 10 {
		t.Fatalf("%d contacts after the replay: %v", len(names), names)
	}
	for i, n := range names {
		if n != fmt.Sprintf("Person %02d", i) {
			t.Errorf("contact %d is %q", i, n)
		}
	}
}

// TestPageCrashBeforeDeferredWrite: a merge whose result the remote lacks
// queues the remote write until the page commits; a crash between the
// commit and the write leaves the local change to the next run's push.
func TestPageCrashBeforeDeferredWrite(t *testing.T) {
	f := newFixture(t)
	c := f.addContact("Ann Lee", true)
	f.run()
	rid := f.link(c.ID).RemoteID
	f.edit(c, func(c *crm.Contact) { c.JobTitle = "CEO" })
	f.conn.remoteEdit(rid, reconcile.Fields{reconcile.FieldNotes: "met in Berlin"})
	errCrash := errors.New("crash after the page commit")
	reconcile.SetHook(f.eng, func(ctx context.Context, point string) error {
		if point == reconcile.HookCommitted {
			return errCrash
		}
		return nil
	})
	if _, err := f.eng.Run(f.ctx, f.b.ID, f.remote, f.local); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v", err)
	}
	if got := f.contact(c.ID); got.Notes != "met in Berlin" {
		t.Fatalf("the remote change was not applied with the page: %q", got.Notes)
	}
	if remote, _ := f.conn.Get(f.ctx, rid); remote.Fields[reconcile.FieldJobTitle] == "CEO" {
		t.Fatal("the remote write ran before the hook")
	}
	reconcile.SetHook(f.eng, nil)
	f.run()
	remote, _ := f.conn.Get(f.ctx, rid)
	if remote.Fields[reconcile.FieldJobTitle] != "CEO" || remote.Fields[reconcile.FieldNotes] != "met in Berlin" {
		t.Errorf("remote after the resume: %v", remote.Fields)
	}
	if s := f.run(); s.RemoteUpdated+s.LocalUpdated != 0 {
		t.Errorf("not converged: %+v", s)
	}
}

// TestPageOverlayIdentity: two items of one page with one identity (a
// copy of the same event): the second matches the link the first wrote in
// the same, uncommitted page transaction, and is not imported again.
func TestPageOverlayIdentity(t *testing.T) {
	f := newFixture(t)
	f.conn.pageSize = 10
	f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: "Before"})
	f.conn.remoteAddIdentity(reconcile.Fields{reconcile.FieldName: "Twin"}, "uid-1")
	f.conn.remoteAddIdentity(reconcile.Fields{reconcile.FieldName: "Twin"}, "uid-1")
	f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: "After"})
	s := f.run()
	if s.LocalCreated != 3 || s.Skipped != 0 {
		t.Fatalf("stats %+v", s)
	}
	if got := strings.Join(f.names(), ","); got != "After,Before,Twin" {
		t.Errorf("contacts %s", got)
	}
}

// countingState counts the State calls a test is about.
type countingState struct {
	*store.Store
	liveLinks, changes int
}

func (c *countingState) LiveLinkIDs(ctx context.Context, bindingID string, fn func(localID, remoteID string) error) error {
	c.liveLinks++
	return c.Store.LiveLinkIDs(ctx, bindingID, fn)
}

func (c *countingState) Changes(ctx context.Context, since int64, entity string, limit int) ([]store.Change, error) {
	c.changes++
	return c.Store.Changes(ctx, since, entity, limit)
}

// TestUnseenSweepOnlyWithLinks: a full listing is checked against the
// links at its end, but a binding that had no links before the run (a
// first import) has nothing to check and skips the sweep.
func TestUnseenSweepOnlyWithLinks(t *testing.T) {
	f := newFixture(t)
	cs := &countingState{Store: f.st}
	f.eng.State = cs
	for i := range 5 {
		f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: fmt.Sprintf("Person %d", i)})
	}
	if s := f.run(); s.LocalCreated != 5 {
		t.Fatalf("import %+v", s)
	}
	if cs.liveLinks != 0 {
		t.Errorf("the first import swept the links %d times", cs.liveLinks)
	}
	gone := f.conn.live()[0].id
	f.conn.remoteDelete(gone)
	f.conn.gen++ // the cursor expires: a full listing, with links to check
	if s := f.run(); !s.FullListing || s.LocalRemoved != 1 {
		t.Fatalf("full listing %+v", s)
	}
	if cs.liveLinks != 1 {
		t.Errorf("the full listing swept the links %d times, want 1", cs.liveLinks)
	}
}

// TestBatchedPush: with a BatchWriter the push sends creates, updates and
// removals in calls of at most MaxBatch items; an item that changed
// remotely meanwhile (a per-item precondition failure) is re-read,
// re-merged and written alone, the rest of its batch written with it.
func TestBatchedPush(t *testing.T) {
	f, bc := newBatchFixture(t, 3)
	var cs []*crm.Contact
	for i := range 10 {
		cs = append(cs, f.addContact(fmt.Sprintf("Person %02d", i), true))
	}
	s := f.run()
	if s.RemoteCreated != 10 || len(f.conn.live()) != 10 {
		t.Fatalf("export %+v, %d remote", s, len(f.conn.live()))
	}
	checkCalls := func(what string, want int) {
		t.Helper()
		sum := 0
		for _, n := range bc.calls {
			if n > 3 || n == 0 {
				t.Errorf("%s: a call with %d items (calls %v)", what, n, bc.calls)
			}
			sum += n
		}
		if sum != want {
			t.Errorf("%s: %d items in calls %v, want %d", what, sum, bc.calls, want)
		}
		bc.calls = nil
	}
	checkCalls("creates", 10)

	for _, c := range cs[:5] {
		f.edit(c, func(c *crm.Contact) { c.JobTitle = "Edited" })
	}
	stale := f.link(cs[1].ID).RemoteID
	bc.stale[stale] = true
	updatesBefore := f.conn.updates
	s = f.run()
	if s.RemoteUpdated != 5 || s.LocalUpdated != 1 {
		t.Errorf("updates %+v", s)
	}
	checkCalls("updates", 5)
	if n := f.conn.updates - updatesBefore; n != 5 {
		t.Errorf("%d remote updates, want 5 (4 batched, the stale one once more)", n)
	}
	remote, _ := f.conn.Get(f.ctx, stale)
	if remote.Fields[reconcile.FieldJobTitle] != "Edited" || remote.Fields[reconcile.FieldNotes] != "edited remotely meanwhile" {
		t.Errorf("stale item after the re-merge: %v", remote.Fields)
	}
	if got := f.contact(cs[1].ID); got.Notes != "edited remotely meanwhile" {
		t.Errorf("the remote edit did not reach the contact: %q", got.Notes)
	}

	for _, c := range cs[5:] {
		if err := f.st.DeleteContact(f.ui(), f.v, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if s := f.run(); s.RemoteRemoved != 5 {
		t.Errorf("removals %+v", s)
	}
	checkCalls("removals", 5)
	if n := len(f.conn.live()); n != 5 {
		t.Errorf("%d remote items, want 5", n)
	}
	if s := f.run(); s.RemoteCreated+s.RemoteUpdated+s.RemoteRemoved+s.LocalUpdated != 0 {
		t.Errorf("not converged: %+v", s)
	}
}

// TestBatchedCreateCrash: a crash after a batch of creates reached the
// remote but before their links were completed leaves pending links with
// markers, and the next run finds the items by them: no duplicates.
func TestBatchedCreateCrash(t *testing.T) {
	for _, hidden := range []bool{false, true} {
		t.Run(map[bool]string{false: "seen by the next pull", true: "found by marker"}[hidden], func(t *testing.T) {
			f, _ := newBatchFixture(t, 4)
			for i := range 6 {
				f.addContact(fmt.Sprintf("Person %02d", i), true)
			}
			errCrash := errors.New("crash after the remote writes")
			reconcile.SetHook(f.eng, func(ctx context.Context, point string) error {
				if point == reconcile.HookPushed {
					return errCrash
				}
				return nil
			})
			f.conn.setHidden(hidden)
			if _, err := f.eng.Run(f.ctx, f.b.ID, f.remote, f.local); !errors.Is(err, errCrash) {
				t.Fatalf("run: %v", err)
			}
			if n := len(f.conn.live()); n != 4 {
				t.Fatalf("%d remote items after the crash, want the first batch's 4", n)
			}
			reconcile.SetHook(f.eng, nil)
			f.run()
			f.conn.setHidden(false)
			f.run()
			if n := len(f.conn.live()); n != 6 {
				t.Errorf("%d remote items after the resume, want 6", n)
			}
			checkConverged(t, f)
		})
	}
}

// TestCatchUpAsksOnlyAboutItsRecords: a small binding far behind the
// shared change log (another user's thousands of changes) does not read
// the log: it asks it about its linked and tagged contacts only, pushes
// what changed among them, and moves its cursor to the end of the log.
func TestCatchUpAsksOnlyAboutItsRecords(t *testing.T) {
	f := newFixture(t)
	cs := &countingState{Store: f.st}
	f.eng.State = cs
	mine := f.addContact("Ann Lee", true)
	f.run()
	other := storetest.User(t, f.st, "other@example.com")
	add := func(first, n int) {
		err := f.st.InTx(f.ui(), func(tx *store.Tx) error {
			for i := first; i < first+n; i++ {
				if err := tx.CreateContact(f.ui(), other, &crm.Contact{Name: fmt.Sprintf("Other %05d", i)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	add(0, 3000)
	f.edit(mine, func(c *crm.Contact) { c.JobTitle = "Edited among others' changes" })
	tagged := f.addContact("Bob Ray", true) // new in scope: created remotely
	add(3000, 3000)
	cs.changes = 0
	s := f.run()
	if s.RemoteUpdated != 1 || s.RemoteCreated != 1 {
		t.Errorf("catch-up run %+v", s)
	}
	if cs.changes != 0 {
		t.Errorf("the catch-up read the change log %d times", cs.changes)
	}
	remote, _ := f.conn.Get(f.ctx, f.link(mine.ID).RemoteID)
	if remote.Fields[reconcile.FieldJobTitle] != "Edited among others' changes" {
		t.Errorf("the edit was not pushed: %v", remote.Fields)
	}
	if l := f.link(tagged.ID); l.Pending || l.RemoteID == "" {
		t.Errorf("the new contact was not created remotely: %+v", l)
	}
	last, _ := f.st.LastChange(f.ctx)
	if b, _ := f.st.GetBinding(f.ctx, f.b.ID); b.LocalCursor != last {
		t.Errorf("local cursor %d, want the end of the log %d", b.LocalCursor, last)
	}
	if s := f.run(); s.RemoteUpdated+s.RemoteCreated != 0 {
		t.Errorf("a run after the catch-up pushed again: %+v", s)
	}
}
