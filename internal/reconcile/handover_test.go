package reconcile_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/crmsync"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// handoverLocal is a contacts Local with what a handover gives a
// binding: identities its records keep (IdentityKeeper) and siblings
// (SiblingLocal).
type handoverLocal struct {
	*crmsync.ContactsLocal
	kept map[string]string
	sibs []reconcile.Sibling
}

var (
	_ reconcile.IdentityKeeper = (*handoverLocal)(nil)
	_ reconcile.SiblingLocal   = (*handoverLocal)(nil)
)

func (l *handoverLocal) KeptIdentities(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range ids {
		if k, ok := l.kept[id]; ok {
			out[id] = k
		}
	}
	return out, nil
}

func (l *handoverLocal) BindingSiblings() []reconcile.Sibling { return l.sibs }

// creatorConn is a memConn that creates items with the identity it is
// given (a CalDAV object with a UID it did not make up), and records them.
type creatorConn struct {
	*memConn
	given []string
}

var _ reconcile.IdentityCreator = (*creatorConn)(nil)

func (c *creatorConn) CreateIdentity(ctx context.Context, f reconcile.Fields, marker, identity string) (reconcile.Item, error) {
	c.given = append(c.given, identity)
	it, err := c.memConn.Create(ctx, f, marker)
	if err != nil {
		return it, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items[it.RemoteID].identity = identity
	it.Identity = identity
	return it, nil
}

// TestKeptIdentityOnCreate: a new item of a record that keeps an identity
// (handed over by a sibling left out) is created with it when the
// connector can; otherwise, and for a record keeping none, the item has
// its own (here its marker, as a UID Tandem makes up).
func TestKeptIdentityOnCreate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		creator bool // the connector is an IdentityCreator
		keeper  bool // the Local is an IdentityKeeper
		kept    bool // and the record keeps an identity
		want    string
	}{
		{"kept identity, connector can", true, true, true, "uid-kept"},
		{"kept identity, connector cannot", false, true, true, "own"},
		{"no identity kept", true, true, false, "own"},
		{"local keeps none", true, false, false, "own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			onBoth(t, func(t *testing.T, pg bool) {
				f := newFixtureOn(t, pg)
				f.conn.uids = true
				c := f.addContact("Ann Lee", true)
				cc := &creatorConn{memConn: f.conn}
				var conn reconcile.Connector = f.conn
				if tc.creator {
					conn = cc
				}
				var local reconcile.Local = f.local
				if tc.keeper {
					hl := &handoverLocal{ContactsLocal: f.local, kept: map[string]string{}}
					if tc.kept {
						hl.kept[c.ID] = "uid-kept"
					}
					local = hl
				}
				s, err := f.eng.Run(f.ctx, f.b.ID, conn, local)
				if err != nil {
					t.Fatal(err)
				}
				if s.RemoteCreated != 1 {
					t.Fatalf("stats %+v", s)
				}
				l := f.link(c.ID)
				it := f.conn.items[l.RemoteID]
				want := tc.want
				if want == "own" {
					want = l.Marker
				}
				if it.identity != want || l.Identity != want {
					t.Errorf("item identity %q, link identity %q, want %q", it.identity, l.Identity, want)
				}
				if wantGiven := tc.creator && tc.kept; wantGiven != (len(cc.given) == 1) || len(cc.given) > 1 {
					t.Errorf("CreateIdentity called with %q", cc.given)
				}
			})
		})
	}
}

// copyCase is a record linked in binding A (the one running) and in its
// sibling B under one identity, and what makes its item in A a copy or
// not.
type copyCase struct {
	name  string
	setup func(h *copyFixture)
	drop  bool
}

// copyFixture: contact rec linked in A (f.b over f.conn, item aItem) and
// in B (over cb, item bItem), both links live under identity "uid-1".
type copyFixture struct {
	*fixture
	bb           *store.Binding
	cb           *memConn
	rec          *crm.Contact
	aItem, bItem string
}

func (h *copyFixture) linkIn(b *store.Binding) *store.Link {
	h.t.Helper()
	l, err := h.st.FindLink(h.ctx, b.ID, "local_id", h.rec.ID)
	if err != nil {
		return nil
	}
	return l
}

// setLink rewrites b's link of the record with fn; memConn items are
// edited in place without touching them, so no listing reports them.
func (h *copyFixture) setLink(b *store.Binding, fn func(l *store.Link)) {
	h.t.Helper()
	l := h.linkIn(b)
	fn(l)
	if err := h.st.InTx(h.ctx, func(tx *store.Tx) error { return tx.PutLink(h.ctx, l) }); err != nil {
		h.t.Fatal(err)
	}
}

func newCopyFixture(t *testing.T, pg bool) *copyFixture {
	t.Helper()
	f := newFixtureOn(t, pg)
	f.conn.uids = true
	h := &copyFixture{fixture: f, cb: newMemConn(),
		bb: storetest.Binding(t, f.st, f.b.ConnectionID, "contact", "group-b")}
	h.cb.uids = true
	h.rec = f.addContact("Ann Lee", true)
	// Each binding exports the record on its own first.
	f.run()
	if _, err := f.eng.Run(f.ctx, h.bb.ID, h.cb, f.local); err != nil {
		t.Fatal(err)
	}
	h.aItem, h.bItem = h.linkIn(f.b).RemoteID, h.linkIn(h.bb).RemoteID
	// Then the handover: A's item took B's identity.
	for _, b := range []*store.Binding{f.b, h.bb} {
		h.setLink(b, func(l *store.Link) { l.Identity = "uid-1" })
	}
	f.conn.items[h.aItem].identity = "uid-1"
	h.cb.items[h.bItem].identity = "uid-1"
	return h
}

// TestHandoverCopyDropped: when A pushes a record whose item there is a copy
// Tandem made of the item its sibling B links (A's marker, a handed-over
// identity, B's link live under that identity, B's item still there),
// the copy is deleted and A's link forgotten, journaled as
// ReasonCopyRemoved; the record and B's link and item stay. Any of those
// conditions unmet, the item is A's to keep and update.
func TestHandoverCopyDropped(t *testing.T) {
	for _, tc := range []copyCase{
		{"a copy", func(h *copyFixture) {}, true},
		{"a user's copy (another marker)", func(h *copyFixture) { h.conn.items[h.aItem].marker = "someone-else" }, false},
		{"a user's copy (no marker)", func(h *copyFixture) { h.conn.items[h.aItem].marker = "" }, false},
		{"the original is gone", func(h *copyFixture) { h.cb.remoteDelete(h.bItem) }, false},
		{"the sibling link is dormant", func(h *copyFixture) { h.setLink(h.bb, func(l *store.Link) { l.Dormant = true }) }, false},
		{"the sibling link is pending", func(h *copyFixture) { h.setLink(h.bb, func(l *store.Link) { l.Pending = true }) }, false},
		{"the sibling links another identity", func(h *copyFixture) {
			h.setLink(h.bb, func(l *store.Link) { l.Identity = "uid-2" })
		}, false},
		{"the identity is the marker", func(h *copyFixture) {
			m := h.linkIn(h.b).Marker
			for _, b := range []*store.Binding{h.b, h.bb} {
				h.setLink(b, func(l *store.Link) { l.Identity = m })
			}
			h.conn.items[h.aItem].identity = m
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			onBoth(t, func(t *testing.T, pg bool) {
				h := newCopyFixture(t, pg)
				tc.setup(h)
				bBefore := *h.linkIn(h.bb)
				h.edit(h.rec, func(c *crm.Contact) { c.Notes = "met at the fair" })
				local := &handoverLocal{ContactsLocal: h.local,
					sibs: []reconcile.Sibling{{BindingID: h.bb.ID, Conn: h.cb}}}
				s, err := h.eng.Run(h.ctx, h.b.ID, h.conn, local)
				if err != nil {
					t.Fatal(err)
				}
				if s.Skipped != 0 {
					t.Errorf("%d records skipped", s.Skipped)
				}

				j, err := h.st.Journal(h.ctx, h.rec.ID, 50)
				if err != nil {
					t.Fatal(err)
				}
				removed := slices.ContainsFunc(j, func(e store.JournalEntry) bool {
					return e.BindingID == h.b.ID && e.Reason == reconcile.ReasonCopyRemoved &&
						e.Side == "remote" && e.Action == "remove" && e.RemoteID == h.aItem
				})
				aLink, aLive := h.linkIn(h.b), !h.conn.items[h.aItem].deleted
				if tc.drop {
					if aLive || aLink != nil || !removed || s.RemoteRemoved != 1 || s.RemoteUpdated != 0 {
						t.Fatalf("copy not dropped: item live %v, link %+v, journaled %v, stats %+v", aLive, aLink, removed, s)
					}
				} else {
					if !aLive || aLink == nil || aLink.RemoteID != h.aItem || removed || s.RemoteRemoved != 0 {
						t.Fatalf("item dropped: item live %v, link %+v, journaled %v, stats %+v", aLive, aLink, removed, s)
					}
					if got := h.conn.items[h.aItem].fields[reconcile.FieldNotes]; got != "met at the fair" || s.RemoteUpdated != 1 {
						t.Errorf("A's item not updated: notes %q, stats %+v", got, s)
					}
				}
				// The record and the sibling are untouched either way.
				if c := h.contact(h.rec.ID); c.Notes != "met at the fair" || c.Name != "Ann Lee" {
					t.Errorf("record changed: %+v", c)
				}
				if bl := h.linkIn(h.bb); bl == nil || *bl != bBefore {
					t.Errorf("B's link %+v, was %+v", bl, bBefore)
				}
				if h.cb.deletes+h.cb.updates+h.cb.creates != 1 { // its own first export
					t.Errorf("B's collection written: %d deletes, %d updates, %d creates", h.cb.deletes, h.cb.updates, h.cb.creates)
				}
			})
		})
	}
}
