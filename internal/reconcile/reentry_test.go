package reconcile_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// TestReentry: a contact that leaves the binding's scope on one side and
// comes back on either side is the same record and the same remote item
// again, with what changed on each side while it was out merged against
// the kept base, and the journal saying why.
func TestReentry(t *testing.T) {
	for _, tc := range []struct {
		name        string
		leaveRemote bool // left the remote collection, else untagged here
		backRemote  bool // put back into the remote collection, else tagged here
		side        string
		action      string
	}{
		{"untagged, tagged again", false, false, "remote", "restore"},
		{"untagged, back in the group", false, true, "local", "tag"},
		{"left the group, back in it", true, true, "local", "tag"},
		{"left the group, tagged again", true, false, "remote", "restore"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ann := f.addContact("Ann Lee", true)
			f.run()
			rid := f.link(ann.ID).RemoteID
			if tc.leaveRemote {
				f.conn.remoteDelete(rid)
			} else {
				f.setTag(ann.ID, false)
			}
			f.run()
			if got := f.contact(ann.ID); hasTag(got, f.tag) || len(f.conn.live()) != 0 || !f.link(ann.ID).Dormant {
				t.Fatalf("after leaving: tagged %v, remote %d, link %+v", hasTag(got, f.tag), len(f.conn.live()), f.link(ann.ID))
			}
			// While out of scope: a change on each side, and a quiet run.
			f.conn.remoteEdit(rid, reconcile.Fields{reconcile.FieldNotes: "remote note"})
			f.edit(ann, func(c *crm.Contact) { c.JobTitle = "CTO" })
			if s := f.run(); s.LocalUpdated+s.RemoteUpdated+s.RemoteCreated+s.LocalCreated != 0 {
				t.Fatalf("out of scope, yet synced: %+v", s)
			}
			if tc.backRemote {
				f.conn.remoteRestore(rid)
			} else {
				f.setTag(ann.ID, true)
			}
			f.run()

			if all := f.contacts(); len(all) != 1 || all[0].ID != ann.ID {
				t.Fatalf("contacts %d, want the original only", len(all))
			}
			got := f.contact(ann.ID)
			live := f.conn.live()
			if !hasTag(got, f.tag) || len(live) != 1 || live[0].id != rid || f.conn.creates != 1 {
				t.Fatalf("after coming back: tagged %v, remote %v, creates %d", hasTag(got, f.tag), live, f.conn.creates)
			}
			if got.JobTitle != "CTO" || got.Notes != "remote note" || !reconcile.ContactFields(got).Equal(live[0].fields) {
				t.Errorf("merge: local %v, remote %v", reconcile.ContactFields(got), live[0].fields)
			}
			if l := f.link(ann.ID); l.Dormant || l.RemoteID != rid {
				t.Errorf("link %+v", l)
			}
			j, _ := f.st.Journal(f.ctx, ann.ID, 10)
			found := false
			for _, e := range j {
				found = found || e.Side == tc.side && e.Action == tc.action && (e.Reason == reconcile.ReasonBackRemotely || e.Reason == reconcile.ReasonBackLocally)
			}
			if !found {
				t.Errorf("no %s %s in the journal: %+v", tc.side, tc.action, j)
			}
			if s := f.run(); s.LocalUpdated+s.RemoteUpdated+s.RemoteCreated+s.LocalCreated != 0 {
				t.Errorf("not quiet: %+v", s)
			}
		})
	}
}

// TestReentryAfterDeletes: what cannot come back does not. A contact
// deleted here while out of scope keeps its link as a tombstone, and its
// remote item coming back is a new contact; a remote item deleted for
// good makes a contact tagged again create a new one.
func TestReentryAfterDeletes(t *testing.T) {
	f := newFixture(t)
	ann := f.addContact("Ann Lee", true)
	bob := f.addContact("Bob Ray", true)
	f.run()
	annRemote, bobRemote := f.link(ann.ID).RemoteID, f.link(bob.ID).RemoteID
	f.setTag(ann.ID, false)
	f.conn.remoteDelete(bobRemote)
	f.run()
	if err := f.st.DeleteContact(f.ui(), f.v, ann.ID); err != nil {
		t.Fatal(err)
	}
	f.conn.remotePurge(bobRemote)
	f.run()
	if l, err := f.st.FindLink(f.ctx, f.b.ID, "local_id", ann.ID); err != nil || !l.Dormant {
		t.Errorf("the link of a contact deleted while out of scope is no tombstone: %+v %v", l, err)
	}

	f.conn.remoteRestore(annRemote)
	f.setTag(bob.ID, true)
	f.run()
	all := f.contacts()
	if len(all) != 2 {
		t.Fatalf("%d contacts, want Bob and Ann again", len(all))
	}
	for _, c := range all {
		l := f.link(c.ID)
		switch c.Name {
		case "Ann Lee":
			if c.ID == ann.ID || l.RemoteID != annRemote || !hasTag(&c, f.tag) {
				t.Errorf("Ann back: %s linked to %s", c.ID, l.RemoteID)
			}
		case "Bob Ray":
			if c.ID != bob.ID || l.RemoteID == bobRemote || l.Dormant {
				t.Errorf("Bob back: link %+v", l)
			}
			j, _ := f.st.Journal(f.ctx, bob.ID, 3)
			if len(j) < 2 || j[0].Action != "create" || j[1].Action != "unlink" || j[1].Reason != reconcile.ReasonBackLocallyRemoteGone {
				t.Errorf("Bob's journal %+v", j)
			}
		}
	}
	if live := f.conn.live(); len(live) != 2 || f.conn.creates != 3 {
		t.Errorf("remote %d items after %d creates, want 2 after 3", len(live), f.conn.creates)
	}
}

// TestDormantLinksAndFullListings: a full listing judges only live links:
// an empty collection whose records all left it is no emptied collection,
// and a dormant link's item missing from the listing is not removed again.
func TestDormantLinksAndFullListings(t *testing.T) {
	f := newFixture(t)
	ann := f.addContact("Ann Lee", true)
	f.run()
	f.setTag(ann.ID, false)
	f.run()
	f.conn.gen++ // the cursor expires
	s := f.run()
	if !s.FullListing || s.LocalRemoved+s.RemoteRemoved != 0 {
		t.Errorf("full listing %+v", s)
	}
	if !f.link(ann.ID).Dormant {
		t.Error("dormant link lost in a full listing")
	}
}

// TestReentryPreview: a preview of a run with items coming back on both
// sides plans the re-tag and the restore and does neither.
func TestReentryPreview(t *testing.T) {
	f := newFixture(t)
	ann := f.addContact("Ann Lee", true)
	bob := f.addContact("Bob Ray", true)
	f.run()
	annRemote := f.link(ann.ID).RemoteID
	f.conn.remoteDelete(annRemote)
	f.setTag(bob.ID, false)
	f.run()
	f.conn.remoteRestore(annRemote)
	f.setTag(bob.ID, true)
	plan, _, err := f.eng.Preview(f.ctx, f.b.ID, f.conn, f.local)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range plan {
		got = append(got, e.Side+" "+e.Action+" "+e.Name)
	}
	if s := strings.Join(got, "; "); !strings.Contains(s, "local tag Ann Lee") || !strings.Contains(s, "remote restore Bob Ray") {
		t.Errorf("plan %s", s)
	}
	if hasTag(f.contact(ann.ID), f.tag) || len(f.conn.live()) != 1 || f.conn.restores != 0 {
		t.Error("the preview changed something")
	}
	if !f.link(ann.ID).Dormant || !f.link(bob.ID).Dormant {
		t.Error("the preview woke a link")
	}
}

func (f *fixture) ui() context.Context { return store.WithOrigin(f.ctx, "ui") }

func (f *fixture) setTag(id string, on bool) {
	f.t.Helper()
	if err := f.st.InTx(f.ctx, func(tx *store.Tx) error {
		return tx.SetTag(f.ui(), f.v, store.EntityContact, id, f.tag, on)
	}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) contacts() []crm.Contact {
	f.t.Helper()
	all, _, err := f.st.ListContacts(f.ctx, f.v, store.ContactFilter{Page: store.Page{Limit: 200}})
	if err != nil {
		f.t.Fatal(err)
	}
	return all
}
