package reconcile_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

var seeds = flag.Int("seeds", 200, "seeds of TestConvergence")

// TestConvergence drives random edits on both sides — contacts leaving
// the scope and coming back on either side among them — random faults
// (transient errors, expired cursors, crashes after a remote create) and
// restarts; after quiet rounds both sides must agree under the tag policy
// with nothing duplicated. Each seed runs twice: against a connector that
// writes one item per request, and ("batch-seed=N") against one that is a
// BatchWriter of 2 items a call. A failing seed reruns alone with
// -run 'TestConvergence/seed=N$' (or batch-seed=N).
func TestConvergence(t *testing.T) {
	var back reentries
	t.Cleanup(func() {
		// The random edits must reach the re-entry paths, or the test
		// proves nothing about them.
		if *seeds >= 50 && (back.local.Load() == 0 || back.remote.Load() == 0) {
			t.Errorf("no contact came back: %d re-tagged, %d restored", back.local.Load(), back.remote.Load())
		}
	})
	for seed := 0; seed < *seeds; seed++ {
		for _, batch := range []bool{false, true} {
			name := fmt.Sprintf("seed=%d", seed)
			if batch {
				name = "batch-" + name
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				converge(t, uint64(seed), batch, &back)
			})
		}
	}
}

// reentries counts contacts that came back, re-tagged here (local) or
// restored remotely (remote), over all seeds.
type reentries struct{ local, remote atomic.Int64 }

func converge(t *testing.T, seed uint64, batch bool, back *reentries) {
	rng := rand.New(rand.NewPCG(seed, 0x7a6e))
	var f *fixture
	if batch {
		f, _ = newBatchFixture(t, 2)
	} else {
		f = newFixture(t)
	}
	var locals []*crm.Contact
	words := []string{"Ann", "Bob", "Вера", "Глеб", "Dan", "Ёжик", "Eve", "Жанна"}
	word := func() string { return words[rng.IntN(len(words))] }
	for round := 0; round < 6; round++ {
		for op := 0; op < 1+rng.IntN(5); op++ {
			switch rng.IntN(11) {
			case 0, 1:
				locals = append(locals, f.addContact(fmt.Sprintf("%s %s %d-%d", word(), word(), round, op), rng.IntN(4) > 0))
			case 2:
				if c := pick(rng, locals); c != nil && exists(f, c.ID) {
					f.edit(c, func(c *crm.Contact) { c.JobTitle = word() })
				}
			case 3, 10:
				// Leaves the scope here, or comes back (an untagged one
				// half the time): any contact, imported ones included.
				pool := f.contacts()
				if out := slices.DeleteFunc(slices.Clone(pool), func(c crm.Contact) bool { return hasTag(&c, f.tag) }); len(out) > 0 && rng.IntN(2) == 0 {
					pool = out
				}
				if len(pool) > 0 {
					c := &pool[rng.IntN(len(pool))]
					f.setTag(c.ID, !hasTag(c, f.tag))
				}
			case 4:
				if c := pick(rng, locals); c != nil && exists(f, c.ID) && rng.IntN(3) == 0 {
					f.st.DeleteContact(store.WithOrigin(f.ctx, "ui"), f.v, c.ID)
				}
			case 5:
				f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: word() + " remote", reconcile.FieldJobTitle: word()})
			case 6:
				if live := f.conn.live(); len(live) > 0 {
					f.conn.remoteEdit(live[rng.IntN(len(live))].id, reconcile.Fields{reconcile.FieldJobTitle: word(), reconcile.FieldNotes: word()})
				}
			case 7:
				// Never the last one: a collection emptied under its links
				// stops sync by design (ErrCollectionEmpty).
				// Out of the collection (it can come back), or deleted
				// for good.
				if live := f.conn.live(); len(live) > 1 && rng.IntN(2) == 0 {
					id := live[rng.IntN(len(live))].id
					if rng.IntN(3) == 0 {
						f.conn.remotePurge(id)
					} else {
						f.conn.remoteDelete(id)
					}
				}
			case 8:
				switch rng.IntN(3) {
				case 0:
					f.conn.gen++ // the cursor expires
				case 1:
					f.conn.failCalls = 1 + rng.IntN(3)
				case 2:
					f.conn.failCreateAfter = f.conn.creates + 1
				}
			case 9:
				// Back into the collection: one that left it on either side.
				if gone := f.conn.gone(); len(gone) > 0 {
					f.conn.remoteRestore(gone[rng.IntN(len(gone))].id)
				}
			}
		}
		// Google shows new contacts in listings only after a while.
		f.conn.setHidden(rng.IntN(4) == 0)
		// A run may fail part-way (a fault); the next one resumes.
		f.eng.Run(f.ctx, f.b.ID, f.remote, f.local)
	}
	// Quiet: no edits, no faults.
	f.conn.failCalls, f.conn.failCreateAfter = 0, 0
	f.conn.setHidden(false)
	for i := 0; i < 3; i++ {
		if _, err := f.eng.Run(f.ctx, f.b.ID, f.remote, f.local); err != nil {
			t.Fatalf("quiet run %d: %v", i, err)
		}
	}
	checkConverged(t, f)
	back.remote.Add(int64(f.conn.restores))
	for _, c := range f.contacts() {
		j, _ := f.st.Journal(f.ctx, c.ID, 100)
		for _, e := range j {
			if e.Side == "local" && e.Action == "tag" {
				back.local.Add(1)
			}
		}
	}
}

func pick(rng *rand.Rand, cs []*crm.Contact) *crm.Contact {
	if len(cs) == 0 {
		return nil
	}
	return cs[rng.IntN(len(cs))]
}

func exists(f *fixture, id string) bool {
	_, err := f.st.GetContact(f.ctx, f.v, id)
	return err == nil
}

// checkConverged: every tagged contact has exactly one remote item with
// equal fields, every remote item is one tagged contact, links are whole;
// an untagged contact is linked only dormant.
func checkConverged(t *testing.T, f *fixture) {
	t.Helper()
	all, _, err := f.st.ListContacts(f.ctx, f.v, store.ContactFilter{Page: store.Page{Limit: 200}})
	if err != nil {
		t.Fatal(err)
	}
	remote := map[string]*memItem{}
	for _, it := range f.conn.live() {
		remote[it.id] = it
	}
	linkedRemote := map[string]string{}
	tagged := 0
	for i := range all {
		c := &all[i]
		l, err := f.st.FindLink(f.ctx, f.b.ID, "local_id", c.ID)
		if !hasTag(c, f.tag) {
			if err == nil && !l.Dormant {
				t.Errorf("untagged %q linked, not dormant", c.Name)
			}
			continue
		}
		tagged++
		if err != nil {
			t.Errorf("tagged %q not linked: %v", c.Name, err)
			continue
		}
		if l.Pending || l.Dormant {
			t.Errorf("%q: link still pending or dormant: %+v", c.Name, l)
		}
		if other, dup := linkedRemote[l.RemoteID]; dup {
			t.Errorf("remote %s linked to %s and %s", l.RemoteID, other, c.ID)
		}
		linkedRemote[l.RemoteID] = c.ID
		it := remote[l.RemoteID]
		if it == nil {
			t.Errorf("%q linked to missing remote %s", c.Name, l.RemoteID)
			continue
		}
		if lf := reconcile.ContactFields(c); !lf.Equal(it.fields) {
			t.Errorf("%q differs:\n local  %v\n remote %v\n link %+v", c.Name, lf, it.fields, l)
			j, _ := f.st.Journal(f.ctx, c.ID, 50)
			for _, e := range j {
				t.Logf("  journal %d %s %s %v %s", e.Seq, e.Side, e.Action, e.Fields, e.Reason)
			}
		}
	}
	if len(remote) != tagged {
		t.Errorf("%d remote items for %d tagged contacts", len(remote), tagged)
	}
	// No twins, in scope or not: the journal names every remote item a
	// contact was ever synced with; at most one may still be live, and a
	// live one belongs to one contact only.
	owner := map[string]string{}
	for _, c := range all {
		j, _ := f.st.Journal(f.ctx, c.ID, 500)
		mine := map[string]bool{}
		for _, e := range j {
			if remote[e.RemoteID] != nil {
				mine[e.RemoteID] = true
			}
		}
		if len(mine) > 1 {
			t.Errorf("%q has %d live remote items", c.Name, len(mine))
		}
		for id := range mine {
			if other, dup := owner[id]; dup {
				t.Errorf("remote %s belongs to %s and %s", id, other, c.ID)
			}
			owner[id] = c.ID
		}
	}
	for id := range remote {
		if _, ok := linkedRemote[id]; !ok {
			t.Errorf("remote %s (%v) not linked", id, remote[id].fields)
		}
	}
}
