package reconcile_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/crmsync"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// singleLocal hides ContactsLocal's CreateMany: the engine creates each
// record alone.
type singleLocal struct{ reconcile.Local }

// bulkLocal is ContactsLocal counting the records of each CreateMany call;
// with bad set, Create and CreateMany write and then refuse items named
// "Bad …", as badCreates does.
type bulkLocal struct {
	*crmsync.ContactsLocal
	bad   bool
	calls []int
}

func (b *bulkLocal) Create(ctx context.Context, tx *store.Tx, f reconcile.Fields) (string, error) {
	id, err := b.ContactsLocal.Create(ctx, tx, f)
	if err == nil && b.bad && strings.HasPrefix(f[reconcile.FieldName], "Bad") {
		return "", fmt.Errorf("refused %q", f[reconcile.FieldName])
	}
	return id, err
}

func (b *bulkLocal) CreateMany(ctx context.Context, tx *store.Tx, fs []reconcile.Fields) ([]string, error) {
	b.calls = append(b.calls, len(fs))
	ids, err := b.ContactsLocal.CreateMany(ctx, tx, fs)
	for _, f := range fs {
		if err == nil && b.bad && strings.HasPrefix(f[reconcile.FieldName], "Bad") {
			return nil, fmt.Errorf("refused %q", f[reconcile.FieldName])
		}
	}
	return ids, err
}

// onBoth runs fn on SQLite and PostgreSQL (skipped without one).
func onBoth(t *testing.T, fn func(t *testing.T, pg bool)) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) { fn(t, pg) })
	}
}

// TestPageBadItemSkippedAloneBulk: a page's new items are created in one
// CreateMany; when it fails, the page is applied again item by item, each
// in a savepoint, and only the bad item is skipped.
func TestPageBadItemSkippedAloneBulk(t *testing.T) {
	onBoth(t, func(t *testing.T, pg bool) {
		f := newFixtureOn(t, pg)
		f.conn.pageSize = 5
		for _, n := range []string{"Ann One", "Bob Two", "Bad Three", "Dan Four", "Eve Five"} {
			f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: n})
		}
		local := &bulkLocal{ContactsLocal: f.local, bad: true}
		s, err := f.eng.Run(f.ctx, f.b.ID, f.remote, local)
		if err != nil {
			t.Fatal(err)
		}
		if s.Skipped != 1 || s.LocalCreated != 4 || s.Pulled != 5 {
			t.Fatalf("stats %+v", s)
		}
		if !slices.Equal(local.calls, []int{5}) {
			t.Errorf("CreateMany calls %v, want one of 5 (then the retry item by item)", local.calls)
		}
		if got := strings.Join(f.names(), ","); got != "Ann One,Bob Two,Dan Four,Eve Five" {
			t.Errorf("contacts %s", got)
		}
		if n, _ := f.st.CountLinks(f.ctx, f.b.ID); n != 4 {
			t.Errorf("%d links, want 4", n)
		}
		// The next page goes in bulk again.
		f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: "Fay Six"})
		f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: "Gus Seven"})
		local.calls = nil
		if s, err := f.eng.Run(f.ctx, f.b.ID, f.remote, local); err != nil || s.LocalCreated != 2 {
			t.Fatalf("second run %+v, %v", s, err)
		}
		if !slices.Equal(local.calls, []int{2}) {
			t.Errorf("CreateMany calls %v, want [2]", local.calls)
		}
	})
}

// TestBulkCreatesAsSingle: records, their parts, change-log entries, links
// and journal entries written in bulk are those the single path writes.
func TestBulkCreatesAsSingle(t *testing.T) {
	onBoth(t, func(t *testing.T, pg bool) {
		load := func(bulk bool) ([]string, *fixture) {
			f := newFixtureOn(t, pg)
			f.conn.pageSize = 3
			for i := range 7 {
				fs := benchFields(i)
				fs[reconcile.FieldNotes] = fmt.Sprintf("note %d", i)
				if i%2 == 0 {
					fs[reconcile.FieldEmails] += fmt.Sprintf("\nother%d@example.com|home", i)
					fs[reconcile.FieldMiddleName] = "M"
				}
				if i == 3 {
					delete(fs, reconcile.FieldPhones)
				}
				id := f.conn.remoteAddIdentity(fs, fmt.Sprintf("uid-%d", i))
				if i == 5 {
					f.conn.items[id].marker = "tandem-from-elsewhere"
				}
			}
			var local reconcile.Local = singleLocal{f.local}
			bl := &bulkLocal{ContactsLocal: f.local}
			if bulk {
				local = bl
			}
			s, err := f.eng.Run(f.ctx, f.b.ID, f.remote, local)
			if err != nil || s.LocalCreated != 7 {
				t.Fatalf("bulk %v: %+v, %v", bulk, s, err)
			}
			if bulk && !slices.Equal(bl.calls, []int{3, 3, 1}) {
				t.Errorf("CreateMany calls %v, want [3 3 1]", bl.calls)
			}
			return describe(t, f), f
		}
		single, _ := load(false)
		bulk, f := load(true)
		if !slices.Equal(single, bulk) {
			t.Errorf("bulk rows differ from single ones:\nsingle:\n%s\nbulk:\n%s", strings.Join(single, "\n"),
				strings.Join(bulk, "\n"))
		}
		// The search text is the single path's too.
		found, _, err := f.st.ListContacts(f.ctx, f.v, store.ContactFilter{Q: "other4@example"})
		if err != nil || len(found) != 1 || found[0].GivenName != "Given4" {
			t.Errorf("search found %v, %v", found, err)
		}
		// A run after the import changes nothing.
		if s := f.run(); s.LocalCreated+s.LocalUpdated+s.RemoteCreated+s.RemoteUpdated != 0 {
			t.Errorf("second run %+v", s)
		}
	})
}

// describe renders what an import wrote, per contact, without what differs
// between two fixtures (ids, times, the binding's id).
func describe(t *testing.T, f *fixture) []string {
	t.Helper()
	changes, err := f.st.Changes(f.ctx, 0, store.EntityContact, 1000)
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string][]string{}
	for _, c := range changes {
		origin := strings.Replace(c.Origin, f.b.ID, "<binding>", 1)
		logged[c.EntityID] = append(logged[c.EntityID], fmt.Sprintf("%s %s actor-is-owner=%v", c.Op, origin,
			c.ActorID == f.v.UserID))
	}
	var out []string
	for _, c := range f.contacts() {
		var tags []string
		for _, tg := range c.Tags {
			tags = append(tags, tg.Name)
		}
		out = append(out, fmt.Sprintf("contact %q %q %q %q %q %q type=%q owner-is-viewer=%v v%d created=updated:%v emails=%v phones=%v tags=%v access=%v",
			c.Name, c.GivenName, c.MiddleName, c.FamilyName, c.JobTitle, c.Notes, c.Type, c.OwnerID == f.v.UserID, c.Version,
			c.CreatedAt.Equal(c.UpdatedAt), c.Emails, c.Phones, tags, c.Access))
		out = append(out, "  changes "+strings.Join(logged[c.ID], "; "))
		l := f.link(c.ID)
		marker := l.Marker
		if strings.HasPrefix(marker, "tandem-") && marker != "tandem-from-elsewhere" {
			marker = "tandem-<new>"
		}
		out = append(out, fmt.Sprintf("  link %s %s %s %s pending=%v dormant=%v base-at-set=%v base=%s", l.RemoteID, l.ETag,
			l.Identity, marker, l.Pending, l.Dormant, !l.BaseAt.IsZero(), l.Base))
		js, err := f.st.Journal(f.ctx, c.ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range js {
			out = append(out, fmt.Sprintf("  journal %s %s %s %s %v %s", j.Entity, j.RemoteID, j.Side, j.Action, j.Fields, j.Reason))
		}
	}
	return out
}

// pagesConn lists fixed items as one page, then nothing.
type pagesConn struct {
	*memConn
	items []reconcile.Item
}

func (p *pagesConn) List(ctx context.Context, cursor, page string) (reconcile.Page, error) {
	if cursor != "" {
		return reconcile.Page{NextCursor: "done"}, nil
	}
	return reconcile.Page{Items: p.items, NextCursor: "done"}, nil
}

// TestBulkPageOverlay: items of one page that match new items before them
// (by marker, identity or remote id) see them as the single path does:
// nothing is created twice, and a later deletion finds the record.
func TestBulkPageOverlay(t *testing.T) {
	item := func(id, name, marker, identity string) reconcile.Item {
		return reconcile.Item{RemoteID: id, ETag: "e-" + id, Marker: marker, Identity: identity,
			Fields: reconcile.Fields{reconcile.FieldName: name}}
	}
	items := []reconcile.Item{
		item("r1", "Ann", "tandem-m1", ""),
		item("r2", "Bob", "", "uid-1"),
		item("r3", "Ann copy", "tandem-m1", ""), // Ann's marker
		item("r4", "Cid", "", ""),
		item("r5", "Bob copy", "", "uid-1"), // Bob's identity
		{RemoteID: "r4", Deleted: true},     // Cid, gone again
		item("r6", "Dee", "", ""),
		item("r2", "Bob renamed", "", "uid-1"), // Bob changed: a later etag
	}
	items[len(items)-1].ETag = "e-r2-2"
	onBoth(t, func(t *testing.T, pg bool) {
		run := func(bulk bool) (reconcile.Stats, string) {
			f := newFixtureOn(t, pg)
			var local reconcile.Local = singleLocal{f.local}
			if bulk {
				local = &bulkLocal{ContactsLocal: f.local}
			}
			s, err := f.eng.Run(f.ctx, f.b.ID, &pagesConn{memConn: f.conn, items: items}, local)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range f.contacts() {
				got = append(got, fmt.Sprintf("%s tagged=%v", c.Name, len(c.Tags) > 0))
			}
			return s, strings.Join(got, ", ")
		}
		ss, single := run(false)
		bs, bulk := run(true)
		if ss != bs || single != bulk {
			t.Errorf("single %+v %s\nbulk   %+v %s", ss, single, bs, bulk)
		}
		if want := "Ann tagged=true, Bob renamed tagged=true, Cid tagged=false, Dee tagged=true"; bulk != want {
			t.Errorf("contacts %s, want %s", bulk, want)
		}
	})
}
