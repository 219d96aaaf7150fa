package reconcile_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/crmsync"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// eachStore runs fn on a new SQLite store and on a new PostgreSQL one, in
// parallel.
func eachStore(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			fn(t, storetest.Open(t, db == "postgres"))
		})
	}
}

func scopeBinding(t *testing.T, st *store.Store, userID, kind string, enabled bool) *store.Binding {
	t.Helper()
	b := storetest.Binding(t, st, storetest.Connection(t, st, userID, "test").ID, kind, "c-"+kind)
	if !enabled {
		b.Enabled = false
		if err := st.SaveBinding(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// scopeCase is a record and whether it is in the binding's scope.
type scopeCase struct {
	name string
	id   string
	want bool
}

// checkScope asks InScopeIDs about every case at once and Load about each,
// and wants both to agree with each other and with the case.
func checkScope(t *testing.T, local interface {
	reconcile.Local
	reconcile.ScopeFilter
}, cases []scopeCase) {
	t.Helper()
	ctx := context.Background()
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = c.id
	}
	got, err := local.InScopeIDs(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		lr, err := local.Load(ctx, nil, c.id)
		if err != nil {
			t.Fatalf("%s: load: %v", c.name, err)
		}
		if lr.InScope != c.want || got[c.id] != c.want {
			t.Errorf("%s: Load says in scope %v, InScopeIDs %v; want %v", c.name, lr.InScope, got[c.id], c.want)
		}
	}
	known := map[string]bool{}
	for _, id := range ids {
		known[id] = true
	}
	for id := range got {
		if !known[id] {
			t.Errorf("InScopeIDs reports %s, not asked about", id)
		}
	}
}

// ContactsLocal.InScopeIDs decides scope exactly as Load does: the user
// can read the contact and sees the binding's tag on it.
func TestContactsInScopeIDsAgreesWithLoad(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := store.WithOrigin(context.Background(), "ui")
		role := &access.Role{Name: "Sales"}
		if err := st.SaveRole(ctx, role); err != nil {
			t.Fatal(err)
		}
		me := storetest.User(t, st, "me@example.com", role.ID)
		other := storetest.User(t, st, "other@example.com")
		mine := &crm.Tag{Name: "Google"}
		another := &crm.Tag{Name: "Friends"}
		theirs := &crm.Tag{Name: "Google"} // the other user's personal tag
		for _, tg := range []struct {
			v   access.Viewer
			tag *crm.Tag
		}{{me, mine}, {me, another}, {other, theirs}} {
			if err := st.SaveTag(ctx, tg.v, tg.tag); err != nil {
				t.Fatal(err)
			}
		}
		shared := []crm.Grant{{RoleID: role.ID, Level: crm.AccessRead}}
		add := func(v access.Viewer, c *crm.Contact) string {
			t.Helper()
			if err := st.CreateContact(ctx, v, c); err != nil {
				t.Fatal(err)
			}
			return c.ID
		}
		tags := func(ts ...*crm.Tag) []crm.TagRef {
			var out []crm.TagRef
			for _, tg := range ts {
				out = append(out, crm.TagRef{ID: tg.ID})
			}
			return out
		}
		deleted := add(me, &crm.Contact{Name: "Deleted", Tags: tags(mine)})
		if err := st.DeleteContact(ctx, me, deleted); err != nil {
			t.Fatal(err)
		}
		untagged := add(me, &crm.Contact{Name: "Untagged Later", Tags: tags(mine)})
		if err := st.InTx(ctx, func(tx *store.Tx) error {
			return tx.SetTag(ctx, me, store.EntityContact, untagged, mine.ID, false)
		}); err != nil {
			t.Fatal(err)
		}
		cases := []scopeCase{
			{"mine, tagged", add(me, &crm.Contact{Name: "Ann", Tags: tags(mine)}), true},
			{"mine, tagged with it and another", add(me, &crm.Contact{Name: "Bob", Tags: tags(another, mine)}), true},
			{"mine, untagged", add(me, &crm.Contact{Name: "Carl"}), false},
			{"mine, another tag only", add(me, &crm.Contact{Name: "Dora", Tags: tags(another)}), false},
			{"mine, the tag taken off", untagged, false},
			{"tagged, then given to another user", add(me, &crm.Contact{Name: "Eve", OwnerID: other.UserID, Tags: tags(mine)}), false},
			{"another user's, shared with me, tagged", add(me, &crm.Contact{Name: "Fred", OwnerID: other.UserID, Tags: tags(mine),
				Access: shared}), true},
			{"another user's, shared with me, untagged", add(other, &crm.Contact{Name: "Gina", Access: shared}), false},
			{"another user's, shared, with their tag", add(other, &crm.Contact{Name: "Hugo", Tags: tags(theirs), Access: shared}), false},
			{"another user's, hidden", add(other, &crm.Contact{Name: "Iris", Tags: tags(theirs)}), false},
			{"deleted", deleted, false},
			{"no such record", "no-such-contact", false},
		}
		checkScope(t, &crmsync.ContactsLocal{Store: st, Viewer: me, TagID: mine.ID}, cases)
		// Another tag is another scope.
		for i := range cases {
			cases[i].want = false
		}
		cases[1].want, cases[3].want = true, true
		checkScope(t, &crmsync.ContactsLocal{Store: st, Viewer: me, TagID: another.ID}, cases)
	})
}

// EventsLocal.InScopeIDs decides scope exactly as Load does: shown in the
// calendar, owned or organized by the user, sync following the organizer,
// linked or reaching the sync-from date (recurrences included).
func TestEventsInScopeIDsAgreesWithLoad(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := store.WithOrigin(context.Background(), "ui")
		role := &access.Role{Name: "Sales"}
		if err := st.SaveRole(ctx, role); err != nil {
			t.Fatal(err)
		}
		me := storetest.User(t, st, "me@example.com", role.ID)
		syncing := storetest.User(t, st, "syncing@example.com")       // has calendar sync
		notSyncing := storetest.User(t, st, "plain@example.com")      // has none
		disabled := storetest.User(t, st, "disabled@example.com")     // has a disabled calendar binding
		contactsOnly := storetest.User(t, st, "contacts@example.com") // syncs contacts only
		b := scopeBinding(t, st, me.UserID, "event", true)
		scopeBinding(t, st, syncing.UserID, "event", true)
		scopeBinding(t, st, disabled.UserID, "event", false)
		scopeBinding(t, st, contactsOnly.UserID, "contact", true)
		shared := []crm.Grant{{RoleID: role.ID, Level: crm.AccessRead}}

		from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		add := func(a *crm.Activity) string {
			t.Helper()
			if a.Type == "" {
				a.Type = "meeting"
			}
			if a.Title == "" {
				a.Title = "Event"
			}
			if err := st.CreateActivity(ctx, me, a); err != nil {
				t.Fatal(err)
			}
			return a.ID
		}
		link := func(id string) string {
			t.Helper()
			if err := st.InTx(ctx, func(tx *store.Tx) error {
				return tx.PutLink(ctx, &store.Link{BindingID: b.ID, LocalID: id, RemoteID: "r-" + id, Marker: "m-" + id})
			}); err != nil {
				t.Fatal(err)
			}
			return id
		}
		after, before := at("2026-03-10T10:00:00Z"), at("2026-02-10T10:00:00Z")
		afterEnd, beforeEnd := at("2026-03-10T11:00:00Z"), at("2026-02-10T11:00:00Z")
		deleted := add(&crm.Activity{ShowInCalendar: true, Start: after, End: afterEnd})
		if err := st.DeleteActivity(ctx, me, deleted); err != nil {
			t.Fatal(err)
		}
		type tc struct {
			name     string
			id       string
			withFrom bool // in scope with the sync-from date
			noFrom   bool // in scope without one
		}
		cases := []tc{
			{"mine, in the calendar, after the date", add(&crm.Activity{ShowInCalendar: true, Start: after, End: afterEnd}), true, true},
			{"mine, not in the calendar", add(&crm.Activity{Start: after, End: afterEnd}), false, false},
			{"mine, undated, not in the calendar", add(&crm.Activity{Type: "task"}), false, false},
			{"mine, before the date", add(&crm.Activity{ShowInCalendar: true, Start: before, End: beforeEnd}), false, true},
			{"mine, before the date, linked", link(add(&crm.Activity{ShowInCalendar: true, Start: before, End: beforeEnd})), true, true},
			{"mine, not in the calendar, linked", link(add(&crm.Activity{Start: after, End: afterEnd})), false, false},
			{"mine, no end, starting on the date", add(&crm.Activity{ShowInCalendar: true, Start: at("2026-03-01T00:00:00Z")}), true, true},
			{"mine, no end, starting just before", add(&crm.Activity{ShowInCalendar: true, Start: at("2026-02-28T23:59:59Z")}), false, true},
			{"mine, ending exactly on the date", add(&crm.Activity{ShowInCalendar: true, Start: at("2026-02-28T23:00:00Z"),
				End: at("2026-03-01T00:00:00Z")}), false, true},
			{"mine, spanning the date", add(&crm.Activity{ShowInCalendar: true, Start: at("2026-02-28T23:00:00Z"),
				End: at("2026-03-01T01:00:00Z")}), true, true},
			{"mine, all day on the date", add(&crm.Activity{ShowInCalendar: true, AllDay: true, Start: at("2026-03-01T00:00:00Z")}), true, true},
			{"mine, all day the day before", add(&crm.Activity{ShowInCalendar: true, AllDay: true, Start: at("2026-02-28T00:00:00Z")}), false, true},
			{"mine, a series from before, still going", add(&crm.Activity{ShowInCalendar: true, Start: before, End: beforeEnd,
				TimeZone: "Europe/Moscow", RRule: "FREQ=WEEKLY"}), true, true},
			{"mine, a series that ended before", add(&crm.Activity{ShowInCalendar: true, Start: before, End: beforeEnd,
				RRule: "FREQ=DAILY;COUNT=3"}), false, true},
			{"mine, an all-day series ending on the date", add(&crm.Activity{ShowInCalendar: true, AllDay: true,
				Start: at("2026-02-20T00:00:00Z"), RRule: "FREQ=WEEKLY;UNTIL=20260227"}), false, true},
			{"mine, a task started after the date, planned before", add(&crm.Activity{Type: "task", Status: "in_progress",
				ShowInCalendar: true, Start: before, End: beforeEnd, ActualStart: after}), false, true},
			{"mine, organized by someone outside", add(&crm.Activity{ShowInCalendar: true, Start: after, End: afterEnd,
				OrganizerEmail: "boss@outside.example"}), true, true},
			{"mine, organized by a user with calendar sync", add(&crm.Activity{ShowInCalendar: true, Start: after, End: afterEnd,
				OrganizerID: syncing.UserID}), false, false},
			{"mine, organized by a user with calendar sync, linked", link(add(&crm.Activity{ShowInCalendar: true, Start: after,
				End: afterEnd, OrganizerID: syncing.UserID})), false, false},
			{"mine, organized by a user without calendar sync", add(&crm.Activity{ShowInCalendar: true, Start: after, End: afterEnd,
				OrganizerID: notSyncing.UserID}), true, true},
			{"mine, organized by a user whose calendar binding is off", add(&crm.Activity{ShowInCalendar: true, Start: after,
				End: afterEnd, OrganizerID: disabled.UserID}), true, true},
			{"mine, organized by a user who syncs contacts only", add(&crm.Activity{ShowInCalendar: true, Start: after,
				End: afterEnd, OrganizerID: contactsOnly.UserID}), true, true},
			{"mine, organized by a user without sync, before the date", add(&crm.Activity{ShowInCalendar: true, Start: before,
				End: beforeEnd, OrganizerID: notSyncing.UserID}), false, true},
			{"another's, organized by me, shared", add(&crm.Activity{ShowInCalendar: true, Start: after, End: afterEnd,
				OwnerID: syncing.UserID, OrganizerID: me.UserID, Access: shared}), true, true},
			{"another's, organized by me, hidden from me", add(&crm.Activity{ShowInCalendar: true, Start: after, End: afterEnd,
				OwnerID: syncing.UserID, OrganizerID: me.UserID}), false, false},
			{"another's, shared, organized by no one", add(&crm.Activity{ShowInCalendar: true, Start: after, End: afterEnd,
				OwnerID: notSyncing.UserID, Access: shared}), false, false},
			{"another's, shared, organized by them", add(&crm.Activity{ShowInCalendar: true, Start: after, End: afterEnd,
				OwnerID: notSyncing.UserID, OrganizerID: notSyncing.UserID, Access: shared}), false, false},
			{"deleted", deleted, false, false},
			{"no such record", "no-such-activity", false, false},
		}
		for _, v := range []struct {
			name string
			from time.Time
		}{{"with a sync-from date", from}, {"without one", time.Time{}}} {
			t.Run(v.name, func(t *testing.T) {
				var sc []scopeCase
				for _, c := range cases {
					sc = append(sc, scopeCase{c.name, c.id, map[bool]bool{true: c.withFrom, false: c.noFrom}[!v.from.IsZero()]})
				}
				checkScope(t, &crmsync.EventsLocal{Store: st, Viewer: me, BindingID: b.ID, From: v.from}, sc)
			})
		}
	})
}

// TasksLocal.InScopeIDs decides scope exactly as Load does: a task, not
// shown in the calendar, whose responsible is the user, linked or not
// older than the sync-from date (due, else start, else creation).
func TestTasksInScopeIDsAgreesWithLoad(t *testing.T) {
	eachStore(t, func(t *testing.T, st *store.Store) {
		ctx := store.WithOrigin(context.Background(), "ui")
		role := &access.Role{Name: "Sales"}
		if err := st.SaveRole(ctx, role); err != nil {
			t.Fatal(err)
		}
		me := storetest.User(t, st, "me@example.com", role.ID)
		other := storetest.User(t, st, "other@example.com")
		b := scopeBinding(t, st, me.UserID, "task", true)
		shared := []crm.Grant{{RoleID: role.ID, Level: crm.AccessEdit}}
		// Creation is now, so the dates are relative to it.
		clock := testenv.NewClock(time.Now().UTC())
		from := clock.Now().Truncate(24*time.Hour).AddDate(0, 0, -10)
		day := func(n int, h int) *time.Time { d := from.AddDate(0, 0, n).Add(time.Duration(h) * time.Hour); return &d }
		add := func(a *crm.Activity) string {
			t.Helper()
			if a.Type == "" {
				a.Type = "task"
			}
			a.Title = "Task"
			if err := st.CreateActivity(ctx, me, a); err != nil {
				t.Fatal(err)
			}
			return a.ID
		}
		link := func(id string) string {
			t.Helper()
			if err := st.InTx(ctx, func(tx *store.Tx) error {
				return tx.PutLink(ctx, &store.Link{BindingID: b.ID, LocalID: id, RemoteID: "r-" + id, Marker: "m-" + id})
			}); err != nil {
				t.Fatal(err)
			}
			return id
		}
		deleted := add(&crm.Activity{})
		if err := st.DeleteActivity(ctx, me, deleted); err != nil {
			t.Fatal(err)
		}
		type tc struct {
			name             string
			id               string
			withFrom, noFrom bool
		}
		cases := []tc{
			{"undated, created after the date", add(&crm.Activity{}), true, true},
			{"due after the date", add(&crm.Activity{End: day(2, 9)}), true, true},
			{"due exactly on the date", add(&crm.Activity{End: day(0, 0)}), true, true},
			{"due just before the date", add(&crm.Activity{Start: day(-3, 0), End: day(-1, 23)}), false, true},
			{"due before, linked", link(add(&crm.Activity{End: day(-5, 9)})), true, true},
			{"all day, due on the date", add(&crm.Activity{AllDay: true, End: day(1, 0)}), true, true},
			{"all day, due the day before", add(&crm.Activity{AllDay: true, Start: day(-2, 0), End: day(0, 0)}), false, true},
			{"no due, starting after", add(&crm.Activity{Start: day(1, 8)}), true, true},
			{"no due, started before", add(&crm.Activity{Start: day(-1, 8)}), false, true},
			{"completed, due after", add(&crm.Activity{Status: "completed", End: day(3, 0)}), true, true},
			{"shown in the calendar", add(&crm.Activity{ShowInCalendar: true, Start: day(1, 8)}), false, false},
			{"shown in the calendar, linked", link(add(&crm.Activity{ShowInCalendar: true, Start: day(1, 8)})), false, false},
			{"a meeting, not in the calendar", add(&crm.Activity{Type: "meeting", Start: day(1, 8)}), false, false},
			{"another user's, shared with me", add(&crm.Activity{OwnerID: other.UserID, Access: shared}), false, false},
			{"another user's, hidden", add(&crm.Activity{OwnerID: other.UserID}), false, false},
			{"deleted", deleted, false, false},
			{"no such record", "no-such-activity", false, false},
		}
		for _, v := range []struct {
			name string
			from time.Time
		}{{"with a sync-from date", from}, {"without one", time.Time{}}} {
			t.Run(v.name, func(t *testing.T) {
				var sc []scopeCase
				for _, c := range cases {
					sc = append(sc, scopeCase{c.name, c.id, map[bool]bool{true: c.withFrom, false: c.noFrom}[!v.from.IsZero()]})
				}
				checkScope(t, &crmsync.TasksLocal{Store: st, Viewer: me, BindingID: b.ID, From: v.from}, sc)
			})
		}
		// An undated task created before the sync-from date is old.
		checkScope(t, &crmsync.TasksLocal{Store: st, Viewer: me, BindingID: b.ID, From: clock.Now().Add(24 * time.Hour)},
			[]scopeCase{{"undated, created before the date", cases[0].id, false}, {"linked", cases[4].id, true}})
	})
}

// countingLocal counts Load calls of a ContactsLocal and is a ScopeFilter
// through it.
type countingLocal struct {
	*crmsync.ContactsLocal
	loads map[string]int
}

func (c *countingLocal) Load(ctx context.Context, tx *store.Tx, id string) (reconcile.LocalRecord, error) {
	c.loads[id]++
	return c.ContactsLocal.Load(ctx, tx, id)
}

func (c *countingLocal) LoadMany(ctx context.Context, tx *store.Tx, ids []string) (map[string]reconcile.LocalRecord, error) {
	for _, id := range ids {
		c.loads[id]++
	}
	return c.ContactsLocal.LoadMany(ctx, tx, ids)
}

// plainLocal counts Load calls of any Local and hides its ScopeFilter.
type plainLocal struct {
	reconcile.Local
	loads map[string]int
}

func (p *plainLocal) Load(ctx context.Context, tx *store.Tx, id string) (reconcile.LocalRecord, error) {
	p.loads[id]++
	return p.Local.Load(ctx, tx, id)
}

func loaded(m map[string]int) []string {
	var out []string
	for id := range m {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// The push phase looks only at records linked in the binding or in its
// scope: other users' changes in the shared change log, and the user's own
// contacts outside the tag, are not loaded one by one. A linked contact
// that left the scope is still removed remotely, a changed linked one
// updated, and one that entered the scope created.
func TestPushSkipsRecordsNeitherLinkedNorInScope(t *testing.T) {
	f := newFixture(t)
	ann := f.addContact("Ann Lee", true)
	bob := f.addContact("Bob Stone", true)
	if s := f.run(); s.RemoteCreated != 2 {
		t.Fatalf("first run %+v", s)
	}

	// The shared change log fills with what the binding has no business
	// with: another user's contacts, and the user's own untagged ones.
	ctx := store.WithOrigin(f.ctx, "ui")
	other := storetest.User(t, f.st, "other@example.com")
	theirTag := &crm.Tag{Name: "Google"}
	if err := f.st.SaveTag(ctx, other, theirTag); err != nil {
		t.Fatal(err)
	}
	foreign := map[string]bool{}
	for i := range 1200 { // more than one batch of the change log
		c := &crm.Contact{Name: fmt.Sprintf("Other %d", i), Tags: []crm.TagRef{{ID: theirTag.ID}}}
		if err := f.st.CreateContact(ctx, other, c); err != nil {
			t.Fatal(err)
		}
		foreign[c.ID] = true
	}
	for i := range 5 {
		c := f.addContact(fmt.Sprintf("Untagged %d", i), false)
		f.edit(c, func(c *crm.Contact) { c.JobTitle = "Edited" })
		foreign[c.ID] = true
	}
	// And what it must push: Ann leaves the scope, Bob changes, Carol
	// enters it.
	if err := f.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.SetTag(ctx, f.v, store.EntityContact, ann.ID, f.tag, false)
	}); err != nil {
		t.Fatal(err)
	}
	f.edit(bob, func(c *crm.Contact) { c.JobTitle = "Engineer" })
	carol := f.addContact("Carol King", true)

	local := &countingLocal{ContactsLocal: f.local, loads: map[string]int{}}
	s, err := f.eng.Run(f.ctx, f.b.ID, f.conn, local)
	if err != nil {
		t.Fatal(err)
	}
	if s.RemoteRemoved != 1 || s.RemoteUpdated != 1 || s.RemoteCreated != 1 || s.Skipped != 0 {
		t.Fatalf("run %+v", s)
	}
	for id := range local.loads {
		if foreign[id] {
			t.Errorf("loaded %s, neither linked nor in scope", id)
		}
	}
	if got, want := loaded(local.loads), loaded(map[string]int{ann.ID: 1, bob.ID: 1, carol.ID: 1}); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("loaded %v, want %v", got, want)
	}
	if len(f.conn.live()) != 2 {
		t.Errorf("remote has %d items, want Bob and Carol", len(f.conn.live()))
	}
	if l, err := f.st.FindLink(f.ctx, f.b.ID, "local_id", ann.ID); err != nil || !l.Dormant {
		t.Errorf("Ann's link %+v %v, want it dormant", l, err)
	}
	if b, _ := f.st.GetBinding(f.ctx, f.b.ID); b.LocalCursor == 0 {
		t.Error("local cursor not advanced")
	}

	// A Local without ScopeFilter is asked about every changed record, as
	// before, and the outcome is the same.
	for i := range 3 {
		c := &crm.Contact{Name: fmt.Sprintf("Other again %d", i)}
		if err := f.st.CreateContact(ctx, other, c); err != nil {
			t.Fatal(err)
		}
	}
	f.edit(bob, func(c *crm.Contact) { c.JobTitle = "Lead Engineer" })
	plain := &plainLocal{Local: f.local, loads: map[string]int{}}
	s, err = f.eng.Run(f.ctx, f.b.ID, f.conn, plain)
	if err != nil {
		t.Fatal(err)
	}
	if s.RemoteUpdated != 1 || s.RemoteCreated+s.RemoteRemoved != 0 || len(plain.loads) != 4 {
		t.Errorf("without ScopeFilter: %+v, loaded %v", s, loaded(plain.loads))
	}
}

// pageLocal counts how a ContactsLocal is read inside the pull's
// transactions: one record at a time, or a page's together.
type pageLocal struct {
	*crmsync.ContactsLocal
	single, batches, batched int
}

func (p *pageLocal) Load(ctx context.Context, tx *store.Tx, id string) (reconcile.LocalRecord, error) {
	if tx != nil {
		p.single++
	}
	return p.ContactsLocal.Load(ctx, tx, id)
}

func (p *pageLocal) LoadMany(ctx context.Context, tx *store.Tx, ids []string) (map[string]reconcile.LocalRecord, error) {
	if tx != nil {
		p.batches++
		p.batched += len(ids)
	}
	return p.ContactsLocal.LoadMany(ctx, tx, ids)
}

// The records a page's changed items are linked to are read together,
// once per page, and merged as before: each remote change comes in, and a
// change made here to another field survives and goes out. On both
// databases.
func TestPullReadsPageTogether(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			f := newFixtureOn(t, pg)
			var cs []*crm.Contact
			for i := range 5 {
				cs = append(cs, f.addContact(fmt.Sprintf("Person %d", i), true))
			}
			if s := f.run(); s.RemoteCreated != 5 {
				t.Fatalf("first run %+v", s)
			}
			for i, c := range cs {
				f.conn.remoteEdit(f.link(c.ID).RemoteID, reconcile.Fields{reconcile.FieldJobTitle: fmt.Sprintf("Title %d", i)})
			}
			f.edit(cs[0], func(c *crm.Contact) { c.Notes = "met at the fair" })
			local := &pageLocal{ContactsLocal: f.local}
			s, err := f.eng.Run(f.ctx, f.b.ID, f.remote, local)
			if err != nil {
				t.Fatal(err)
			}
			// The remote lists 3 items a page: pages of 3 and 2.
			if local.single != 0 || local.batches != 2 || local.batched != 5 {
				t.Errorf("read %d records one by one and %d in %d pages, want 5 in 2", local.single, local.batched, local.batches)
			}
			if s.LocalUpdated != 5 || s.RemoteUpdated != 1 || s.Conflicts != 0 {
				t.Errorf("run %+v", s)
			}
			for i, c := range cs {
				if got := f.contact(c.ID).JobTitle; got != fmt.Sprintf("Title %d", i) {
					t.Errorf("%s: job title %q", c.Name, got)
				}
			}
			if got := f.contact(cs[0].ID).Notes; got != "met at the fair" {
				t.Errorf("the note made here is %q", got)
			}
			if got := f.conn.items[f.link(cs[0].ID).RemoteID].fields[reconcile.FieldNotes]; got != "met at the fair" {
				t.Errorf("the note made here reached the remote as %q", got)
			}
		})
	}
}
