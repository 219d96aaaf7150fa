package reconcile_test

import (
	"context"
	"errors"
	"slices"
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

// twoCalendars is one account with two calendars picked: A, the home one,
// and B, each a binding over a memConn whose created items carry a UID.
type twoCalendars struct {
	t        *testing.T
	ctx      context.Context
	st       *store.Store
	v        access.Viewer
	a, b     *store.Binding
	ca, cb   *memConn
	homeIs   string // the binding id of the home calendar
	eng      *reconcile.Engine
	from     time.Time
	lastStat map[string]reconcile.Stats
}

func newTwoCalendars(t *testing.T) *twoCalendars {
	t.Helper()
	st := storetest.Open(t, false)
	v := storetest.User(t, st, "owner@example.com")
	conn := storetest.Connection(t, st, v.UserID, "dav")
	f := &twoCalendars{t: t, ctx: context.Background(), st: st, v: v,
		a: storetest.Binding(t, st, conn.ID, "event", "cal-a"), b: storetest.Binding(t, st, conn.ID, "event", "cal-b"),
		ca: newMemConn(), cb: newMemConn(), eng: &reconcile.Engine{State: st},
		from: time.Date(2037, 3, 1, 0, 0, 0, 0, time.UTC), lastStat: map[string]reconcile.Stats{}}
	f.ca.uids, f.cb.uids = true, true
	f.homeIs = f.a.ID
	return f
}

// local is binding b's side as a run builds it: its export scope and its
// sibling with its connector.
func (f *twoCalendars) local(b *store.Binding) *crmsync.EventsLocal {
	other, conn := f.b, f.cb
	if b.ID == f.b.ID {
		other, conn = f.a, f.ca
	}
	export := crmsync.ExportOwn
	if b.ID == f.homeIs {
		export = crmsync.ExportAll
	}
	return &crmsync.EventsLocal{Store: f.st, Viewer: f.v, BindingID: b.ID, From: f.from, Export: export,
		Siblings: []reconcile.Sibling{{BindingID: other.ID, Conn: conn}}}
}

func (f *twoCalendars) conn(b *store.Binding) *memConn {
	if b.ID == f.a.ID {
		return f.ca
	}
	return f.cb
}

// run runs the bindings in the given order, as a connection's run does.
func (f *twoCalendars) run(order ...*store.Binding) {
	f.t.Helper()
	if len(order) == 0 {
		order = []*store.Binding{f.a, f.b}
	}
	for _, b := range order {
		st, err := f.eng.Run(f.ctx, b.ID, f.conn(b), f.local(b))
		if err != nil {
			f.t.Fatalf("run of %s: %v", b.Collection, err)
		}
		f.lastStat[b.ID] = st
	}
}

func (f *twoCalendars) activity(title, start string) *crm.Activity {
	f.t.Helper()
	a := &crm.Activity{Type: "meeting", Title: title, ShowInCalendar: true, Start: at(start), TimeZone: "UTC"}
	e := a.Start.Add(time.Hour)
	a.End = &e
	if err := f.st.CreateActivity(store.WithOrigin(f.ctx, "ui"), f.v, a); err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *twoCalendars) edit(id string, fn func(*crm.Activity)) {
	f.t.Helper()
	a, err := f.st.GetActivity(f.ctx, f.v, id)
	if err != nil {
		f.t.Fatal(err)
	}
	fn(a)
	a.Tags, a.Access = nil, nil
	if err := f.st.UpdateActivity(store.WithOrigin(f.ctx, "ui"), f.v, a, 0); err != nil {
		f.t.Fatal(err)
	}
}

func (f *twoCalendars) all() []crm.Activity {
	f.t.Helper()
	as, _, err := f.st.ListActivities(f.ctx, f.v, store.ActivityFilter{Page: store.Page{Limit: 200}})
	if err != nil {
		f.t.Fatal(err)
	}
	return as
}

// link is b's link of a record, or nil.
func (f *twoCalendars) link(b *store.Binding, localID string) *store.Link {
	f.t.Helper()
	l, err := f.st.FindLink(f.ctx, b.ID, "local_id", localID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return l
}

func titles(items []*memItem) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.fields[reconcile.FieldTitle])
	}
	return out
}

func event(title, start string) reconcile.Fields {
	s := *at(start)
	return reconcile.Fields{reconcile.FieldTitle: title, reconcile.FieldStart: reconcile.FormatEventTime(s, false),
		reconcile.FieldEnd: reconcile.FormatEventTime(s.Add(time.Hour), false), reconcile.FieldTimeZone: "UTC",
		reconcile.FieldOrganizer: "owner@example.com"}
}

// TestHomeCalendarExport: with two calendars picked, a new activity goes
// to the home calendar only; an event imported from the other calendar
// and edited here goes back to that calendar only; another home takes
// the new activities from then on, and linked ones stay where they are.
func TestHomeCalendarExport(t *testing.T) {
	f := newTwoCalendars(t)
	planning := f.activity("Planning", "2037-03-10T10:00:00Z")
	fromB := f.cb.remoteAddIdentity(event("Dentist", "2037-03-11T09:00:00Z"), "dentist@example.org")
	f.run()

	if got := titles(f.ca.live()); len(got) != 1 || got[0] != "Planning" {
		t.Fatalf("home calendar holds %v, want the new activity alone", got)
	}
	if got := titles(f.cb.live()); len(got) != 1 || got[0] != "Dentist" {
		t.Fatalf("other calendar holds %v, want its own event alone", got)
	}
	acts := f.all()
	if len(acts) != 2 {
		t.Fatalf("%d activities, want 2", len(acts))
	}
	var dentist *crm.Activity
	for i := range acts {
		if acts[i].Title == "Dentist" {
			dentist = &acts[i]
		}
	}
	if dentist == nil || f.link(f.b, dentist.ID) == nil || f.link(f.a, dentist.ID) != nil || f.link(f.a, planning.ID) == nil {
		t.Fatal("each record should be linked in its own calendar only")
	}

	// Edited here: back to B alone.
	f.edit(dentist.ID, func(a *crm.Activity) { a.Location = "Room 7" })
	f.run()
	if it := f.cb.items[fromB]; it.fields[reconcile.FieldLocation] != "Room 7" {
		t.Errorf("B's event not updated: %v", it.fields)
	}
	if n := len(f.ca.live()); n != 1 || f.lastStat[f.a.ID].RemoteCreated+f.lastStat[f.a.ID].RemoteUpdated != 0 {
		t.Errorf("the home calendar was written: %d items, stats %+v", n, f.lastStat[f.a.ID])
	}

	// B becomes the home calendar: a new activity goes there, and the
	// records linked in A stay A's.
	f.homeIs = f.b.ID
	standup := f.activity("Standup", "2037-03-12T08:00:00Z")
	f.edit(planning.ID, func(a *crm.Activity) { a.Location = "Room 1" })
	f.run()
	if f.link(f.b, standup.ID) == nil || f.link(f.a, standup.ID) != nil {
		t.Error("a new activity did not go to the new home calendar alone")
	}
	if got := titles(f.cb.live()); len(got) != 2 {
		t.Errorf("new home holds %v", got)
	}
	if l := f.link(f.a, planning.ID); l == nil || f.ca.items[l.RemoteID].fields[reconcile.FieldLocation] != "Room 1" ||
		f.link(f.b, planning.ID) != nil {
		t.Error("an activity linked in the old home did not stay there")
	}
}

// TestItemMovedBetweenCalendars: an event moved on the server from B to
// A (deleted in B, created with its UID in A) stays one record — whichever
// calendar is listed first — merged with what changed here meanwhile, and
// synced with A from then on.
func TestItemMovedBetweenCalendars(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order func(f *twoCalendars) []*store.Binding
	}{
		{"the new calendar listed first", func(f *twoCalendars) []*store.Binding { return []*store.Binding{f.a, f.b} }},
		{"the old calendar listed first", func(f *twoCalendars) []*store.Binding { return []*store.Binding{f.b, f.a} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTwoCalendars(t)
			rid := f.cb.remoteAddIdentity(event("Review", "2037-03-11T09:00:00Z"), "review@example.org")
			f.run()
			if n := len(f.all()); n != 1 {
				t.Fatalf("%d activities after the import", n)
			}
			review := f.all()[0]
			// Meanwhile: a change here, and the event moved on the server
			// with a change of its own.
			f.edit(review.ID, func(a *crm.Activity) { a.Description = "bring the figures" })
			f.cb.remoteEdit(rid, reconcile.Fields{reconcile.FieldTitle: "Quarterly review"})
			moved := f.cb.remoteMoveTo(rid, f.ca)
			f.run(tc.order(f)...)

			acts := f.all()
			if len(acts) != 1 || acts[0].ID != review.ID {
				t.Fatalf("activities after the move: %+v", acts)
			}
			if acts[0].Title != "Quarterly review" || acts[0].Description != "bring the figures" {
				t.Errorf("merged %q / %q", acts[0].Title, acts[0].Description)
			}
			if l := f.link(f.a, review.ID); l == nil || l.RemoteID != moved || l.Dormant {
				t.Fatalf("A's link %+v, want live to %s", l, moved)
			}
			if l := f.link(f.b, review.ID); l != nil {
				t.Errorf("B still links the record: %+v", l)
			}
			if it := f.ca.items[moved]; it.fields[reconcile.FieldDescription] != "bring the figures" {
				t.Errorf("the change made here did not reach A: %v", it.fields)
			}
			var linked, created, removed int
			for _, s := range f.lastStat {
				linked, created, removed = linked+s.Linked, created+s.LocalCreated, removed+s.LocalRemoved
			}
			if linked != 1 || created != 0 || removed != 0 {
				t.Errorf("counted %d linked, %d created, %d removed", linked, created, removed)
			}
			if len(f.cb.live()) != 0 || len(f.ca.live()) != 1 {
				t.Errorf("calendars hold A %v, B %v", titles(f.ca.live()), titles(f.cb.live()))
			}
			j, err := f.st.Journal(f.ctx, review.ID, 20)
			if err != nil {
				t.Fatal(err)
			}
			reasons := map[string]bool{}
			for _, e := range j {
				reasons[e.Reason] = true
			}
			if !reasons[reconcile.ReasonMovedHere] || !reasons[reconcile.ReasonMovedAway] {
				t.Errorf("journal %+v", j)
			}

			// Quiet afterwards; and a change here goes to A alone.
			f.run()
			for id, s := range f.lastStat {
				if s.LocalCreated+s.LocalUpdated+s.LocalRemoved+s.RemoteCreated+s.RemoteUpdated+s.RemoteRemoved+s.Linked != 0 {
					t.Errorf("binding %s not quiet: %+v", id, s)
				}
			}
			f.edit(review.ID, func(a *crm.Activity) { a.Location = "Room 2" })
			f.run()
			if f.ca.items[moved].fields[reconcile.FieldLocation] != "Room 2" || len(f.cb.live()) != 0 {
				t.Error("a change after the move did not go to A alone")
			}
		})
	}
}

// An event deleted in one calendar and found in no other is deleted here,
// as with a single calendar.
func TestItemDeletedWithSiblings(t *testing.T) {
	f := newTwoCalendars(t)
	rid := f.cb.remoteAddIdentity(event("Lunch", "2037-03-11T12:00:00Z"), "lunch@example.org")
	f.run()
	f.cb.remoteDelete(rid)
	f.run(f.b, f.a)
	if n := len(f.all()); n != 0 || f.lastStat[f.b.ID].LocalRemoved != 1 {
		t.Fatalf("%d activities, stats %+v", n, f.lastStat[f.b.ID])
	}
}

// TestAdoptedIsLinked: an item that stands for a record already here (a
// resubscribe: same title and times) is linked, not created: counted and
// journaled as such.
func TestAdoptedIsLinked(t *testing.T) {
	f := newEventFixture(t)
	a := f.activity(&crm.Activity{Title: "Planning", ShowInCalendar: true, Start: at("2037-03-10T10:00:00Z"),
		End: at("2037-03-10T11:00:00Z"), TimeZone: "UTC"})
	f.run()
	if err := f.st.InTx(f.ctx, func(tx *store.Tx) error { return tx.DeleteLink(f.ctx, f.b.ID, a.ID) }); err != nil {
		t.Fatal(err)
	}
	if err := f.st.InTx(f.ctx, func(tx *store.Tx) error { return tx.SetCursors(f.ctx, f.b.ID, "", 0, true) }); err != nil {
		t.Fatal(err)
	}
	s := f.run()
	if s.Linked != 1 || s.LocalCreated != 0 || s.RemoteCreated != 0 || len(f.all()) != 1 {
		t.Fatalf("stats %+v, %d activities", s, len(f.all()))
	}
	j, err := f.st.Journal(f.ctx, a.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(j) != 1 || j[0].Action != "link" || j[0].Reason != reconcile.ReasonAdopted {
		t.Errorf("journal %+v", j)
	}
}

// identityConn records the identities the engine restores items with.
type identityConn struct {
	*memConn
	restored []string
}

func (c *identityConn) RestoreIdentity(ctx context.Context, id, identity string, base reconcile.Fields) (reconcile.Item, error) {
	c.restored = append(c.restored, identity)
	return c.memConn.Restore(ctx, id, base)
}

// TestRestoreWithIdentity: an item put back into its collection is
// restored with the identity its link kept from the item's content.
func TestRestoreWithIdentity(t *testing.T) {
	f := newFixture(t)
	ic := &identityConn{memConn: f.conn}
	f.remote = ic
	rid := f.conn.remoteAddIdentity(reconcile.Fields{reconcile.FieldName: "Ann Lee", reconcile.FieldGivenName: "Ann",
		reconcile.FieldFamilyName: "Lee"}, "urn:uuid:ann-from-content")
	f.run()
	id := f.localOf(rid)
	f.setTag(id, true) // imported contacts carry the tag; make sure
	f.setTag(id, false)
	f.run()
	if !f.link(id).Dormant {
		t.Fatal("the link is not dormant after the contact left")
	}
	f.setTag(id, true)
	f.run()
	if len(ic.restored) != 1 || ic.restored[0] != "urn:uuid:ann-from-content" {
		t.Fatalf("restored with %q", ic.restored)
	}
}

// TestPreviewOfAMove: the preview of an account's two calendars, after an
// event moved on the server from one to the other, plans what the run
// then does — one link in the calendar it came to, one unlink in the one
// it left, one record linked, nothing created or removed — whichever
// calendar is previewed first, and changes nothing itself. Each calendar
// previewed alone, from the stored links, would plan the move twice.
func TestPreviewOfAMove(t *testing.T) {
	type entry struct{ binding, record, side, action, fields, reason string }
	for _, tc := range []struct {
		name  string
		order func(f *twoCalendars) []*store.Binding
	}{
		{"the new calendar first", func(f *twoCalendars) []*store.Binding { return []*store.Binding{f.a, f.b} }},
		{"the old calendar first", func(f *twoCalendars) []*store.Binding { return []*store.Binding{f.b, f.a} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newTwoCalendars(t)
			rid := f.cb.remoteAddIdentity(event("Review", "2037-03-11T09:00:00Z"), "review@example.org")
			f.run()
			review := f.all()[0]
			f.edit(review.ID, func(a *crm.Activity) { a.Description = "bring the figures" })
			f.cb.remoteEdit(rid, reconcile.Fields{reconcile.FieldTitle: "Quarterly review"})
			f.cb.remoteMoveTo(rid, f.ca)
			seen, err := f.st.Journal(f.ctx, review.ID, 50)
			if err != nil {
				t.Fatal(err)
			}

			previews := f.eng.Previews()
			var planned []entry
			var linked int
			for _, b := range tc.order(f) {
				plan, st, err := previews.Preview(f.ctx, b.ID, f.conn(b), f.local(b))
				if err != nil {
					t.Fatal(err)
				}
				linked += st.Linked
				if st.LocalCreated+st.LocalRemoved+st.RemoteCreated+st.RemoteRemoved != 0 {
					t.Errorf("the preview of %s plans a create or a removal: %+v", b.Collection, st)
				}
				for _, e := range plan {
					planned = append(planned, entry{e.BindingID, e.RecordID, e.Side, e.Action, strings.Join(e.Fields, ","), e.Reason})
					if e.Name == "" {
						t.Errorf("planned entry named %q", e.Name)
					}
				}
			}
			sortEntries := func(es []entry) {
				slices.SortFunc(es, func(x, y entry) int {
					return strings.Compare(x.binding+x.side+x.action+x.fields, y.binding+y.side+y.action+y.fields)
				})
			}
			sortEntries(planned)
			moves := 0
			for _, e := range planned {
				switch {
				case e.action == "link" && e.binding == f.a.ID && e.reason == reconcile.ReasonMovedHere,
					e.action == "unlink" && e.binding == f.b.ID && e.reason == reconcile.ReasonMovedAway:
					moves++
				case e.action == "create", e.action == "delete", e.action == "link", e.action == "unlink":
					t.Errorf("planned %+v", e)
				}
			}
			if moves != 2 || linked != 1 {
				t.Fatalf("planned %+v (linked %d), want the record linked in A and unlinked in B once", planned, linked)
			}
			// Nothing changed: the links and the journal are as they were.
			if l := f.link(f.b, review.ID); l == nil || l.RemoteID != rid {
				t.Fatalf("B's link after the preview: %+v", l)
			}
			if l := f.link(f.a, review.ID); l != nil {
				t.Fatalf("A links the record after the preview: %+v", l)
			}
			if j, err := f.st.Journal(f.ctx, review.ID, 50); err != nil || len(j) != len(seen) {
				t.Fatalf("the journal grew: %d entries, had %d (%v)", len(j), len(seen), err)
			}

			// The run does what was planned.
			f.run(tc.order(f)...)
			j, err := f.st.Journal(f.ctx, review.ID, 50)
			if err != nil {
				t.Fatal(err)
			}
			var done []entry
			for _, e := range j[:len(j)-len(seen)] {
				done = append(done, entry{e.BindingID, e.RecordID, e.Side, e.Action, strings.Join(e.Fields, ","), e.Reason})
			}
			sortEntries(done)
			if !slices.Equal(done, planned) {
				t.Errorf("the run did %+v, the preview planned %+v", done, planned)
			}
		})
	}
}
