package reconcile_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/crmsync"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// fixture is one contact binding between a real store and a memConn.
type fixture struct {
	t    testing.TB
	ctx  context.Context
	st   *store.Store
	v    access.Viewer
	tag  string
	b    *store.Binding
	conn *memConn
	// remote is what the engine syncs with: conn, or conn as a
	// BatchWriter (newBatchFixture).
	remote reconcile.Connector
	local  *crmsync.ContactsLocal
	eng    *reconcile.Engine
}

func newFixture(t testing.TB) *fixture { return newFixtureOn(t, false) }

// newFixtureOn is newFixture on SQLite or (pg) PostgreSQL.
func newFixtureOn(t testing.TB, pg bool) *fixture {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, pg)
	v := storetest.User(t, st, "owner@example.com")
	tag := &crm.Tag{Name: "Google"}
	if err := st.SaveTag(ctx, v, tag); err != nil {
		t.Fatal(err)
	}
	b := storetest.Binding(t, st, storetest.Connection(t, st, v.UserID, "test").ID, "contact", "group")
	f := &fixture{t: t, ctx: ctx, st: st, v: v, tag: tag.ID, b: b, conn: newMemConn(),
		local: &crmsync.ContactsLocal{Store: st, Viewer: v, TagID: tag.ID}}
	f.remote = f.conn
	f.eng = &reconcile.Engine{State: st}
	return f
}

// newBatchFixture is newFixture with the remote a BatchWriter taking up to
// max items per call.
func newBatchFixture(t testing.TB, max int) (*fixture, *batchConn) {
	f := newFixture(t)
	bc := &batchConn{memConn: f.conn, max: max, stale: map[string]bool{}}
	f.remote = bc
	return f, bc
}

func (f *fixture) run() reconcile.Stats {
	f.t.Helper()
	stats, err := f.eng.Run(f.ctx, f.b.ID, f.remote, f.local)
	if err != nil {
		f.t.Fatalf("run: %v", err)
	}
	return stats
}

func (f *fixture) addContact(name string, tagged bool) *crm.Contact {
	f.t.Helper()
	c := &crm.Contact{Name: name, Emails: []crm.Email{{Address: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"}}}
	if tagged {
		c.Tags = []crm.TagRef{{ID: f.tag}}
	}
	if err := f.st.CreateContact(store.WithOrigin(f.ctx, "ui"), f.v, c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) contact(id string) *crm.Contact {
	f.t.Helper()
	c, err := f.st.GetContact(f.ctx, f.v, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) link(localID string) *store.Link {
	f.t.Helper()
	l, err := f.st.FindLink(f.ctx, f.b.ID, "local_id", localID)
	if err != nil {
		f.t.Fatalf("link of %s: %v", localID, err)
	}
	return l
}

// localOf is the record linked to a remote item ("" if none).
func (f *fixture) localOf(remoteID string) string {
	f.t.Helper()
	l, err := f.st.FindLink(f.ctx, f.b.ID, "remote_id", remoteID)
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return l.LocalID
}

func (f *fixture) edit(c *crm.Contact, fn func(*crm.Contact)) {
	f.t.Helper()
	c = f.contact(c.ID)
	fn(c)
	c.Tags = nil
	if err := f.st.UpdateContact(store.WithOrigin(f.ctx, "ui"), f.v, c, 0); err != nil {
		f.t.Fatal(err)
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

func TestExportImportAndNoEcho(t *testing.T) {
	f := newFixture(t)
	ann := f.addContact("Ann Lee", true)
	f.addContact("Not Synced", false)
	remoteID := f.conn.remoteAdd(reconcile.Fields{reconcile.FieldGivenName: "Пётр", reconcile.FieldFamilyName: "Ёлкин", reconcile.FieldEmails: "p@example.ru|work|primary"})

	s := f.run()
	if s.RemoteCreated != 1 || s.LocalCreated != 1 {
		t.Fatalf("first run %+v", s)
	}
	if got := len(f.conn.live()); got != 2 {
		t.Fatalf("remote has %d items", got)
	}
	l := f.link(ann.ID)
	if l.Pending || l.RemoteID == "" {
		t.Fatalf("link %+v", l)
	}
	imported, _, _ := f.st.ListContacts(f.ctx, f.v, store.ContactFilter{Q: "ёлкин"})
	if len(imported) != 1 || !hasTag(&imported[0], f.tag) || imported[0].PrimaryEmail() != "p@example.ru" {
		t.Fatalf("imported %+v", imported)
	}
	if f.link(imported[0].ID).RemoteID != remoteID {
		t.Error("import not linked")
	}
	// A second run has nothing to do: our writes do not come back.
	s = f.run()
	if s.LocalUpdated+s.RemoteUpdated+s.RemoteCreated+s.LocalCreated != 0 {
		t.Fatalf("echo: %+v", s)
	}
	if f.conn.updates != 0 {
		t.Errorf("remote updated %d times", f.conn.updates)
	}
}

// An item the connector cannot read is skipped and journalled on its
// record; the rest of the run goes on, the record keeps its values, and
// once the item is readable again it syncs as usual.
func TestUnreadableItemSkipped(t *testing.T) {
	f := newFixture(t)
	bad := f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: "Bad Later"})
	f.run()
	local := f.localOf(bad)
	f.conn.remoteBreak(bad, "vcard: line 3: no colon")
	fresh := f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: "Fresh One"})
	s := f.run()
	if s.Skipped != 1 || s.LocalCreated != 1 {
		t.Fatalf("run %+v", s)
	}
	if f.localOf(fresh) == "" {
		t.Fatal("the good item was not imported")
	}
	c, err := f.st.GetContact(f.ctx, f.v, local)
	if err != nil || c.Name != "Bad Later" {
		t.Fatalf("record %+v %v", c, err)
	}
	js, err := f.st.Journal(f.ctx, local, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(js) == 0 || js[0].Action != "skip" || !strings.HasPrefix(js[0].Reason, reconcile.ReasonUnreadable+":vcard: line 3") {
		t.Fatalf("journal %+v", js)
	}
	f.conn.remoteBreak(bad, "")
	f.conn.remoteEdit(bad, reconcile.Fields{reconcile.FieldName: "Good Again"})
	f.run()
	if c, _ := f.st.GetContact(f.ctx, f.v, local); c.Name != "Good Again" {
		t.Fatalf("after repair %+v", c)
	}
}

func TestFieldMergeAndConflicts(t *testing.T) {
	f := newFixture(t)
	c := f.addContact("Ann Lee", true)
	f.run()
	rid := f.link(c.ID).RemoteID

	// Different fields on each side: both survive.
	f.edit(c, func(c *crm.Contact) { c.JobTitle = "CEO" })
	f.conn.remoteEdit(rid, reconcile.Fields{reconcile.FieldPhones: "+7 495 000-00-00|mobile|primary"})
	f.run()
	got := f.contact(c.ID)
	remote, _ := f.conn.Get(f.ctx, rid)
	if got.JobTitle != "CEO" || got.PrimaryPhone() != "+7 495 000-00-00" {
		t.Errorf("local after merge: %q %q", got.JobTitle, got.PrimaryPhone())
	}
	if remote.Fields[reconcile.FieldJobTitle] != "CEO" || remote.Fields[reconcile.FieldPhones] == "" {
		t.Errorf("remote after merge: %v", remote.Fields)
	}

	// The same field on both sides: the later change wins, and the journal
	// says why.
	f.edit(c, func(c *crm.Contact) { c.JobTitle = "Local title" })
	time.Sleep(5 * time.Millisecond)
	f.conn.remoteEdit(rid, reconcile.Fields{reconcile.FieldJobTitle: "Remote title"})
	s := f.run()
	if s.Conflicts != 1 {
		t.Errorf("conflicts %d", s.Conflicts)
	}
	if got := f.contact(c.ID).JobTitle; got != "Remote title" {
		t.Errorf("later remote change lost: %q", got)
	}
	j, _ := f.st.Journal(f.ctx, c.ID, 10)
	if len(j) == 0 || j[0].Reason != reconcile.Conflict([]string{reconcile.FieldJobTitle}) {
		t.Errorf("journal %+v", j)
	}
	f.conn.remoteEdit(rid, reconcile.Fields{reconcile.FieldJobTitle: "Older remote"})
	time.Sleep(5 * time.Millisecond)
	f.edit(c, func(c *crm.Contact) { c.JobTitle = "Newer local" })
	f.run()
	if remote, _ := f.conn.Get(f.ctx, rid); remote.Fields[reconcile.FieldJobTitle] != "Newer local" {
		t.Errorf("later local change lost: %v", remote.Fields)
	}
}

func TestDeletesFollowPolicy(t *testing.T) {
	f := newFixture(t)
	a := f.addContact("Ann Lee", true)
	b := f.addContact("Bob Ray", true)
	c := f.addContact("Cid Moe", true)
	f.run()
	// Deleted remotely: the contact stays, untagged.
	f.conn.remoteDelete(f.link(a.ID).RemoteID)
	f.run()
	if got := f.contact(a.ID); hasTag(got, f.tag) {
		t.Error("remote delete did not untag")
	}
	if l := f.link(a.ID); !l.Dormant {
		t.Error("link not dormant after remote delete")
	}
	// Untagged here: removed remotely. Deleted here: removed remotely.
	bRemote, cRemote := f.link(b.ID).RemoteID, f.link(c.ID).RemoteID
	f.edit(b, func(x *crm.Contact) {})
	if err := f.st.InTx(f.ctx, func(tx *store.Tx) error {
		return tx.SetTag(store.WithOrigin(f.ctx, "ui"), f.v, store.EntityContact, b.ID, f.tag, false)
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.DeleteContact(store.WithOrigin(f.ctx, "ui"), f.v, c.ID); err != nil {
		t.Fatal(err)
	}
	s := f.run()
	if s.RemoteRemoved != 2 {
		t.Fatalf("remote removals %+v", s)
	}
	for _, id := range []string{bRemote, cRemote} {
		if _, err := f.conn.Get(f.ctx, id); !errors.Is(err, reconcile.ErrRemoteNotFound) {
			t.Errorf("%s still remote", id)
		}
	}
	// The untag from the remote delete was not pushed back as a change.
	if f.conn.deletes != 2 {
		t.Errorf("deletes %d", f.conn.deletes)
	}
	// Untagged: the link stays, dormant. Deleted: forgotten.
	if l := f.link(b.ID); !l.Dormant {
		t.Error("link of an untagged contact not dormant")
	}
	if _, err := f.st.FindLink(f.ctx, f.b.ID, "local_id", c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Error("link of a deleted contact kept")
	}
}

func TestPreconditionRemerge(t *testing.T) {
	f := newFixture(t)
	c := f.addContact("Ann Lee", true)
	f.run()
	f.edit(c, func(c *crm.Contact) { c.JobTitle = "CTO" })
	f.conn.preconditionNext = true // a remote edit lands between our read and our write
	f.run()
	rid := f.link(c.ID).RemoteID
	remote, _ := f.conn.Get(f.ctx, rid)
	local := f.contact(c.ID)
	if remote.Fields[reconcile.FieldJobTitle] != "CTO" || remote.Fields[reconcile.FieldNotes] != "edited remotely meanwhile" {
		t.Errorf("remote %v", remote.Fields)
	}
	if local.Notes != "edited remotely meanwhile" || local.JobTitle != "CTO" {
		t.Errorf("local %q %q", local.Notes, local.JobTitle)
	}
	if f.link(c.ID).ETag != remote.ETag {
		t.Error("link etag stale")
	}
}

func TestCrashAfterRemoteCreate(t *testing.T) {
	for _, hidden := range []bool{false, true} {
		t.Run(map[bool]string{false: "seen by the next pull", true: "found by marker"}[hidden], func(t *testing.T) {
			testCrashAfterRemoteCreate(t, hidden)
		})
	}
}

func testCrashAfterRemoteCreate(t *testing.T, hidden bool) {
	f := newFixture(t)
	c := f.addContact("Ann Lee", true)
	f.conn.failCreateAfter = 1
	f.conn.setHidden(hidden)
	if _, err := f.eng.Run(f.ctx, f.b.ID, f.remote, f.local); !errors.Is(err, errCrash) {
		t.Fatalf("run: %v", err)
	}
	if l := f.link(c.ID); !l.Pending {
		t.Fatal("no pending link after the crash")
	}
	f.run()
	f.run()
	if n := len(f.conn.live()); n != 1 {
		t.Fatalf("%d remote items after resume, want 1", n)
	}
	if l := f.link(c.ID); l.Pending || l.RemoteID == "" {
		t.Errorf("link not completed: %+v", l)
	}
}

func TestExpiredCursorFullReconcile(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"A One", "B Two", "C Three", "D Four"} {
		f.addContact(n, true)
	}
	f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: "Remote One"})
	f.run()
	contacts, _, _ := f.st.ListContacts(f.ctx, f.v, store.ContactFilter{})
	gone := f.link(contacts[0].ID).RemoteID
	f.conn.remoteDelete(gone)
	f.conn.gen++ // the cursor expires
	s := f.run()
	if !s.FullListing || s.LocalCreated != 0 || s.RemoteCreated != 0 {
		t.Fatalf("full reconcile %+v", s)
	}
	if n := len(f.conn.live()); n != 4 {
		t.Errorf("remote items %d", n)
	}
	after, _, _ := f.st.ListContacts(f.ctx, f.v, store.ContactFilter{})
	if len(after) != 5 {
		t.Errorf("local contacts %d, want 5 (no re-import)", len(after))
	}
	if hasTag(f.contact(contacts[0].ID), f.tag) {
		t.Error("item deleted while the cursor was expired was not untagged")
	}
}

func TestEmptiedCollectionStops(t *testing.T) {
	f := newFixture(t)
	a := f.addContact("Ann Lee", true)
	f.addContact("Bob Ray", true)
	f.run()
	for _, it := range f.conn.live() {
		f.conn.remoteDelete(it.id)
	}
	f.conn.gen++
	if _, err := f.eng.Run(f.ctx, f.b.ID, f.remote, f.local); !errors.Is(err, reconcile.ErrCollectionEmpty) {
		t.Fatalf("run: %v, want reconcile.ErrCollectionEmpty", err)
	}
	if !hasTag(f.contact(a.ID), f.tag) {
		t.Error("contacts were untagged")
	}
}

// windowConn is a memConn whose full listings show only the items its
// window covers, as a calendar listed from a date does.
type windowConn struct {
	*memConn
	covers func(reconcile.Fields) bool
	gets   int
}

func (w *windowConn) Covers(f reconcile.Fields) bool { return w.covers(f) }

func (w *windowConn) List(ctx context.Context, cursor, page string) (reconcile.Page, error) {
	p, err := w.memConn.List(ctx, cursor, page)
	if err != nil || cursor != "" {
		return p, err
	}
	items := p.Items[:0]
	for _, it := range p.Items {
		if w.covers(it.Fields) {
			items = append(items, it)
		}
	}
	p.Items = items
	return p, nil
}

func (w *windowConn) Get(ctx context.Context, id string) (reconcile.Item, error) {
	w.gets++
	return w.memConn.Get(ctx, id)
}

// TestWindowedListingJudgedInsideWindow: a full listing bounded to a
// window (sync again from a date after which nothing remains) must not
// look like an emptied collection because of links outside the window,
// and must not act on their absence; the guard still holds inside it.
func TestWindowedListingJudgedInsideWindow(t *testing.T) {
	for _, tc := range []struct {
		name      string
		deleteNew bool // delete every remote item inside the window
		wantErr   error
	}{
		{name: "nothing inside the window"},
		{name: "everything inside the window deleted", deleteNew: true, wantErr: reconcile.ErrCollectionEmpty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			old := []*crm.Contact{f.addContact("Old One", true), f.addContact("Old Two", true)}
			w := &windowConn{memConn: f.conn, covers: func(reconcile.Fields) bool { return true }}
			if _, err := f.eng.Run(f.ctx, f.b.ID, w, f.local); err != nil {
				t.Fatal(err)
			}
			if tc.deleteNew {
				fresh := f.addContact("New One", true)
				if _, err := f.eng.Run(f.ctx, f.b.ID, w, f.local); err != nil {
					t.Fatal(err)
				}
				f.conn.remoteDelete(f.link(fresh.ID).RemoteID)
			}
			// From now on the window covers only "New …" items; a full
			// listing (the cursor expired) shows none.
			w.covers = func(fl reconcile.Fields) bool { return strings.HasPrefix(fl[reconcile.FieldName], "New") }
			f.conn.gen++
			w.gets = 0
			_, err := f.eng.Run(f.ctx, f.b.ID, w, f.local)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("run: %v, want %v", err, tc.wantErr)
			}
			for _, c := range old {
				if !hasTag(f.contact(c.ID), f.tag) || f.link(c.ID) == nil {
					t.Errorf("%s lost its tag or link", c.Name)
				}
			}
			if w.gets != 0 && tc.wantErr == nil {
				t.Errorf("%d gets for items outside the window", w.gets)
			}
		})
	}
}

func TestMergeTable(t *testing.T) {
	early, late := time.Unix(100, 0), time.Unix(200, 0)
	tests := []struct {
		name                string
		base, local, remote reconcile.Fields
		localAt, remoteAt   time.Time
		want                reconcile.Fields
		toLocal, toRemote   string
		conflicts           string
	}{
		{"nothing changed", reconcile.Fields{"a": "1"}, reconcile.Fields{"a": "1"}, reconcile.Fields{"a": "1"}, early, late, reconcile.Fields{"a": "1"}, "", "", ""},
		{"local only", reconcile.Fields{"a": "1"}, reconcile.Fields{"a": "2"}, reconcile.Fields{"a": "1"}, early, late, reconcile.Fields{"a": "2"}, "", "a", ""},
		{"remote only", reconcile.Fields{"a": "1"}, reconcile.Fields{"a": "1"}, reconcile.Fields{"a": "3"}, late, early, reconcile.Fields{"a": "3"}, "a", "", ""},
		{"both same", reconcile.Fields{"a": "1"}, reconcile.Fields{"a": "2"}, reconcile.Fields{"a": "2"}, early, late, reconcile.Fields{"a": "2"}, "", "", ""},
		{"conflict remote later", reconcile.Fields{"a": "1"}, reconcile.Fields{"a": "2"}, reconcile.Fields{"a": "3"}, early, late, reconcile.Fields{"a": "3"}, "a", "", "a"},
		{"conflict local later", reconcile.Fields{"a": "1"}, reconcile.Fields{"a": "2"}, reconcile.Fields{"a": "3"}, late, early, reconcile.Fields{"a": "2"}, "", "a", "a"},
		{"tie goes local", reconcile.Fields{"a": "1"}, reconcile.Fields{"a": "2"}, reconcile.Fields{"a": "3"}, early, early, reconcile.Fields{"a": "2"}, "", "a", "a"},
		{"different fields", reconcile.Fields{}, reconcile.Fields{"a": "1"}, reconcile.Fields{"b": "2"}, early, late, reconcile.Fields{"a": "1", "b": "2"}, "b", "a", ""},
		{"remote cleared", reconcile.Fields{"a": "1"}, reconcile.Fields{"a": "1"}, reconcile.Fields{}, early, late, reconcile.Fields{}, "a", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, tl, tr, c := reconcile.Merge(tt.base, tt.local, tt.remote, tt.localAt, tt.remoteAt)
			if !m.Equal(tt.want) || strings.Join(tl, ",") != tt.toLocal || strings.Join(tr, ",") != tt.toRemote || strings.Join(c, ",") != tt.conflicts {
				t.Errorf("Merge = %v, toLocal %v, toRemote %v, conflicts %v", m, tl, tr, c)
			}
		})
	}
}

func TestListEncoding(t *testing.T) {
	es := []crm.Email{{Address: "b@x.y", Kind: "home"}, {Address: "a|b@x.y", Kind: "work", Primary: true}}
	enc := reconcile.EncodeEmails(es)
	if !strings.HasPrefix(enc, `a\pb@x.y|work|primary`) {
		t.Fatalf("encoded %q", enc)
	}
	dec := reconcile.DecodeEmails(enc)
	if len(dec) != 2 || dec[0].Address != "a|b@x.y" || !dec[0].Primary || dec[1].Kind != "home" {
		t.Errorf("decoded %+v", dec)
	}
}

func TestAddressEncoding(t *testing.T) {
	tests := []struct {
		name string
		in   []crm.Address
		enc  string
	}{
		{"none", nil, ""},
		{"primary first, parts escaped", []crm.Address{
			{Kind: "home", City: "Москва"},
			{Kind: "work", Street: "1 Main St\nSuite 2|B", City: `C:\x`, Region: "CA", PostalCode: "94043", Country: "USA", Primary: true},
		}, `1 Main St\nSuite 2\pB|C:\\x|CA|94043|USA|work|primary` + "\n" + `|Москва||||home|`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := reconcile.EncodeAddresses(tt.in)
			if enc != tt.enc {
				t.Fatalf("encoded %q, want %q", enc, tt.enc)
			}
			dec := reconcile.DecodeAddresses(enc)
			if len(dec) != len(tt.in) {
				t.Fatalf("decoded %+v", dec)
			}
			// Decoding gives the list primary first; encoding it again is
			// the same string.
			if again := reconcile.EncodeAddresses(dec); again != enc {
				t.Errorf("re-encoded %q, want %q", again, enc)
			}
			if len(dec) == 2 && (dec[0] != tt.in[1] || dec[1] != tt.in[0]) {
				t.Errorf("decoded %+v", dec)
			}
		})
	}
}

// ContactFields shows the account's name as the company when the contact
// states none, and applying the fields gives back what they say.
func TestContactFieldsDetails(t *testing.T) {
	c := &crm.Contact{Name: "Ann", AccountID: "a1", AccountName: "Acme", Birthday: "--04-12",
		Addresses: []crm.Address{{Kind: "home", City: "Berlin", Primary: true}}}
	f := reconcile.ContactFields(c)
	if f[reconcile.FieldCompany] != "Acme" || f[reconcile.FieldBirthday] != "--04-12" || f[reconcile.FieldAddresses] != "|Berlin||||home|primary" {
		t.Fatalf("fields %v", f)
	}
	c.Company = "Acme Europe"
	if got := reconcile.ContactFields(c)[reconcile.FieldCompany]; got != "Acme Europe" {
		t.Errorf("stated company: %q", got)
	}
	var back crm.Contact
	reconcile.ApplyContactFields(&back, f, reconcile.ContactFieldNames)
	if back.Company != "Acme" || back.AccountID != "" || back.Birthday != "--04-12" || len(back.Addresses) != 1 || back.Addresses[0].City != "Berlin" {
		t.Errorf("applied %+v", back)
	}
	if _, ok := reconcile.ContactFields(&crm.Contact{Name: "Bob"})[reconcile.FieldCompany]; ok {
		t.Error("an empty company is a field")
	}
}

func TestPreviewChangesNothing(t *testing.T) {
	f := newFixture(t)
	ann := f.addContact("Ann Lee", true)
	f.addContact("Bob Ray", true)
	f.conn.remoteAdd(reconcile.Fields{reconcile.FieldName: "Remote Person"})
	before, _, _ := f.st.ListContacts(f.ctx, f.v, store.ContactFilter{})
	plan, stats, err := f.eng.Preview(f.ctx, f.b.ID, f.conn, f.local)
	if err != nil {
		t.Fatal(err)
	}
	creates := map[string]int{}
	for _, e := range plan {
		creates[e.Side+" "+e.Action]++
	}
	if creates["remote create"] != 2 || creates["local create"] != 1 || stats.RemoteCreated != 2 {
		t.Fatalf("plan %v stats %+v", creates, stats)
	}
	after, _, _ := f.st.ListContacts(f.ctx, f.v, store.ContactFilter{})
	if len(after) != len(before) || len(f.conn.live()) != 1 {
		t.Fatalf("preview wrote: %d→%d local, %d remote", len(before), len(after), len(f.conn.live()))
	}
	if _, err := f.st.FindLink(f.ctx, f.b.ID, "local_id", ann.ID); !errors.Is(err, store.ErrNotFound) {
		t.Error("preview left a link")
	}
	b, _ := f.st.GetBinding(f.ctx, f.b.ID)
	if b.RemoteCursor != "" || b.LocalCursor != 0 {
		t.Errorf("preview moved cursors: %+v", b)
	}
	// The real run then does what the preview said.
	s := f.run()
	if s.RemoteCreated != 2 || s.LocalCreated != 1 {
		t.Errorf("run after preview %+v", s)
	}
}
