package syncer_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/connector/google"
	"github.com/tandem-crm/tandem/internal/connector/retry"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/crmsync"
	emu "github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

var emuSeeds = flag.Int("emu-seeds", 40, "seeds of TestConvergenceWithEmulator")

// wireUser is the Google account of the randomized convergence tests, and
// the address of the Tandem user who connected it.
const wireUser = "conn@example.com"

// TestConvergenceWithEmulator is the randomized convergence test on the
// real connector and the Google emulator: random edits in Tandem and in
// Google — contacts leaving the group and coming back on either side
// among them — random faults (429, 500, dropped connections, slow
// answers, expired sync tokens) and restarts; after quiet runs every
// tagged contact has exactly one Google contact in the group with equal
// fields, and no contact exists twice on either side. The
// engine-level test in package reconcile runs 200 seeds on a fake remote;
// this one proves the same on the wire. Rerun one seed with
// -run 'TestConvergenceWithEmulator/seed=N$'.
func TestConvergenceWithEmulator(t *testing.T) {
	for seed := 0; seed < *emuSeeds; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			convergeWithEmulator(t, uint64(seed))
		})
	}
}

// wireEnv is what both randomized convergence tests run on: the emulator
// with its faults on the wire, the retrying client a run uses, and a store
// (SQLite) with one user's Google connection.
type wireEnv struct {
	e    *emu.Server
	hc   *http.Client
	base string
	st   *store.Store
	v    access.Viewer
	conn *store.Connection
}

func newWireEnv(t *testing.T, seed uint64) *wireEnv {
	e := emu.New(emu.Options{Seed: int64(seed)})
	e.AddUser(wireUser, "Conn")
	e.Faults().SetRetryAfter(0)
	e.Faults().SetSlowDelay(20 * time.Millisecond)
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(func() { srv.Close(); e.Close() })
	// One retry without waiting: some faults are absorbed by the transport,
	// others reach the engine and end the run, as in production.
	hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.MintAccessToken(wireUser)}),
		Base: &retry.Transport{Attempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }}}, Timeout: 5 * time.Second}
	st := storetest.Open(t, false)
	v := storetest.User(t, st, wireUser)
	return &wireEnv{e: e, hc: hc, base: srv.URL, st: st, v: v, conn: storetest.Connection(t, st, v.UserID, "google")}
}

// settle ends the faults and runs the binding until it has nothing left
// to do; it fails the test if a quiet run errs or still changes things.
func (w *wireEnv) settle(t *testing.T, eng *reconcile.Engine, b *store.Binding, conn reconcile.Connector, local reconcile.Local) {
	t.Helper()
	ctx := context.Background()
	w.e.Faults().Reset()
	for i := 0; i < 3; i++ {
		if _, err := eng.Run(ctx, b.ID, conn, local); err != nil {
			t.Fatalf("quiet run %d: %v", i, err)
		}
	}
	if s, err := eng.Run(ctx, b.ID, conn, local); err != nil || s.LocalUpdated+s.RemoteUpdated+s.LocalCreated+s.RemoteCreated != 0 {
		t.Errorf("not quiet after convergence: %+v %v", s, err)
	}
}

func convergeWithEmulator(t *testing.T, seed uint64) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 0x60061e))
	w := newWireEnv(t, seed)
	e, st, v := w.e, w.st, w.v
	svc, err := google.NewPeople(ctx, w.hc, google.FromBase(w.base))
	if err != nil {
		t.Fatal(err)
	}
	group, err := google.EnsureGroup(ctx, svc, google.DefaultGroupName)
	if err != nil {
		t.Fatal(err)
	}
	conn := google.NewContacts(svc, group)
	tag := &crm.Tag{Name: "Google"}
	st.SaveTag(ctx, v, tag)
	b := storetest.Binding(t, st, w.conn.ID, "contact", group)
	local := &crmsync.ContactsLocal{Store: st, Viewer: v, TagID: tag.ID}
	eng := &reconcile.Engine{State: st}
	ui := store.WithOrigin(ctx, "ui")

	var ids []string
	words := []string{"Ann", "Bob", "Вера", "Глеб", "Dan", "Ёжик"}
	word := func() string { return words[rng.IntN(len(words))] }
	member := map[string]any{"contactGroupMembership": map[string]any{"contactGroupResourceName": group}}
	faults := []emu.FaultKind{emu.FaultRateLimit429, emu.FaultRateLimit403, emu.FaultBackend500, emu.FaultDrop, emu.FaultSlow}
	for round := 0; round < 5; round++ {
		for op := 0; op < 1+rng.IntN(4); op++ {
			switch k := rng.IntN(10); k {
			case 0, 1:
				c := &crm.Contact{Name: fmt.Sprintf("%s %s %d%d", word(), word(), round, op), Emails: []crm.Email{{Address: fmt.Sprintf("p%d-%d@example.com", round, op)}}}
				if rng.IntN(4) > 0 {
					c.Tags = []crm.TagRef{{ID: tag.ID}}
				}
				if err := st.CreateContact(ui, v, c); err == nil {
					ids = append(ids, c.ID)
				}
			case 2:
				if len(ids) > 0 {
					if c, err := st.GetContact(ctx, v, ids[rng.IntN(len(ids))]); err == nil {
						c.JobTitle, c.Tags = word(), nil
						st.UpdateContact(ui, v, c, 0)
					}
				}
			case 3:
				// Leaves the group from Tandem, or comes back: any contact,
				// imported ones included.
				if all, _, _ := st.ListContacts(ctx, v, store.ContactFilter{Page: store.Page{Limit: 200}}); len(all) > 0 {
					c := &all[rng.IntN(len(all))]
					on := !hasTag(c, tag.ID)
					st.InTx(ctx, func(tx *store.Tx) error { return tx.SetTag(ui, v, store.EntityContact, c.ID, tag.ID, on) })
				}
			case 4:
				e.CreateContact(wireUser, map[string]any{"names": []any{map[string]any{"givenName": word(), "familyName": "Remote"}},
					"memberships": []any{member}})
			case 5:
				if ps := e.People(wireUser); len(ps) > 0 {
					rn := ps[rng.IntN(len(ps))]["resourceName"].(string)
					e.UpdateContact(wireUser, rn, map[string]any{"organizations": []any{map[string]any{"title": word()}}}, "organizations")
				}
			case 6:
				if ps := e.People(wireUser); len(ps) > 1 && rng.IntN(2) == 0 {
					e.DeleteContact(wireUser, ps[rng.IntN(len(ps))]["resourceName"].(string))
				}
			case 7:
				if rng.IntN(3) == 0 {
					e.ExpireSyncTokens(wireUser)
				} else {
					e.Faults().FailNext(1+rng.IntN(3), faults[rng.IntN(len(faults))])
				}
			case 8, 9:
				// Google: out of the group (8), or into it (9) — back, or
				// a contact that never was in it.
				in := map[bool][]string{}
				for _, p := range e.People(wireUser) {
					in[emu.InGroup(p, group)] = append(in[emu.InGroup(p, group)], p["resourceName"].(string))
				}
				// Never the last member: a collection emptied under its
				// links stops sync by design (ErrCollectionEmpty).
				if rns := in[k == 8]; len(rns) > 0 && (k == 9 || len(rns) > 1) {
					rn := []string{rns[rng.IntN(len(rns))]}
					if k == 8 {
						e.ModifyGroupMembers(wireUser, group, nil, rn)
					} else {
						e.ModifyGroupMembers(wireUser, group, rn, nil)
					}
				}
			}
		}
		eng.Run(ctx, b.ID, conn, local) // may fail on a fault; the next round resumes
	}
	w.settle(t, eng, b, conn, local)

	// Compare: every tagged contact ↔ exactly one group member, same fields.
	all, _, _ := st.ListContacts(ctx, v, store.ContactFilter{Page: store.Page{Limit: 200}})
	p, err := conn.List(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	remote := map[string]reconcile.Item{}
	for _, it := range p.Items {
		if !it.Deleted {
			remote[it.RemoteID] = it
		}
	}
	tagged, seen := 0, map[string]bool{}
	for i := range all {
		c := &all[i]
		l, err := st.FindLink(ctx, b.ID, "local_id", c.ID)
		if !hasTag(c, tag.ID) {
			if err == nil && !l.Dormant {
				t.Errorf("untagged %q linked, not dormant", c.Name)
			}
			continue
		}
		tagged++
		if err != nil || l.Pending || l.Dormant {
			t.Errorf("%q not linked: %+v %v", c.Name, l, err)
			continue
		}
		if seen[l.RemoteID] {
			t.Errorf("remote %s linked twice", l.RemoteID)
		}
		seen[l.RemoteID] = true
		it, ok := remote[l.RemoteID]
		if !ok {
			t.Errorf("%q linked to %s, not in the group", c.Name, l.RemoteID)
			continue
		}
		if lf := reconcile.ContactFields(c); !lf.Equal(it.Fields) {
			t.Errorf("%q differs:\n local  %v\n google %v", c.Name, lf, it.Fields)
		}
	}
	if len(remote) != tagged {
		var names []string
		for _, it := range remote {
			names = append(names, reconcile.DisplayName(it.Fields))
		}
		t.Errorf("%d group members (%s) for %d tagged contacts", len(remote), strings.Join(names, ", "), tagged)
	}
	names, live := map[string]string{}, map[string]bool{}
	for _, c := range all {
		names[c.ID] = c.Name
	}
	for _, p := range e.People(wireUser) {
		live[p["resourceName"].(string)] = true
	}
	checkNoTwins(t, st, names, live)
}

// checkNoTwins: no record exists twice on either side, in scope or not.
// The journal names every remote item a record (names: id → name) was
// ever synced with: at most one of them may be live, and a live item
// belongs to at most one record. (A record deleted in Tandem may leave its
// item behind — a contact out of the group — by design; it is not in
// names.)
func checkNoTwins(t *testing.T, st *store.Store, names map[string]string, live map[string]bool) {
	t.Helper()
	owner := map[string]string{}
	for id, name := range names {
		j, err := st.Journal(context.Background(), id, 500)
		if err != nil {
			t.Fatal(err)
		}
		mine := map[string]bool{}
		for _, e := range j {
			if live[e.RemoteID] {
				mine[e.RemoteID] = true
			}
		}
		if len(mine) > 1 {
			t.Errorf("%q has %d remote items: %v", name, len(mine), mine)
		}
		for rid := range mine {
			if other, ok := owner[rid]; ok {
				t.Errorf("remote %s belongs to %q and %q", rid, other, name)
			}
			owner[rid] = name
		}
	}
}

func hasTag(c *crm.Contact, id string) bool {
	for _, t := range c.Tags {
		if t.ID == id {
			return true
		}
	}
	return false
}
