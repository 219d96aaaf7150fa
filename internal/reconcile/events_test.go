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

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.Parse(reconcile.DateLayout, s)
		if err != nil {
			panic(err)
		}
	}
	t = t.UTC()
	return &t
}

func TestEventFieldsTable(t *testing.T) {
	tests := []struct {
		name string
		a    crm.Activity
		want reconcile.Fields
	}{
		{"timed with a time zone", crm.Activity{ID: "a1", Title: "Planning", Location: "Room 1",
			Start: at("2037-03-09T09:00:00-04:00"), End: at("2037-03-09T10:30:00-04:00"), TimeZone: "America/New_York"},
			reconcile.Fields{reconcile.FieldTitle: "Planning", reconcile.FieldLocation: "Room 1", reconcile.FieldStart: "2037-03-09T13:00:00Z",
				reconcile.FieldEnd: "2037-03-09T14:30:00Z", reconcile.FieldTimeZone: "America/New_York", reconcile.FieldOrganizer: "me@x.org", reconcile.FieldTandemID: "a1"}},
		{"timed without end", crm.Activity{ID: "a2", Title: "Call", Start: at("2037-03-09T13:00:00Z")},
			reconcile.Fields{reconcile.FieldTitle: "Call", reconcile.FieldStart: "2037-03-09T13:00:00Z", reconcile.FieldEnd: "2037-03-09T13:00:00Z",
				reconcile.FieldTimeZone: "UTC", reconcile.FieldOrganizer: "me@x.org", reconcile.FieldTandemID: "a2"}},
		{"crossing midnight UTC", crm.Activity{ID: "a3", Title: "Late", Start: at("2037-03-09T23:30:00Z"),
			End: at("2037-03-10T00:30:00Z"), TimeZone: "Europe/Moscow"},
			reconcile.Fields{reconcile.FieldTitle: "Late", reconcile.FieldStart: "2037-03-09T23:30:00Z", reconcile.FieldEnd: "2037-03-10T00:30:00Z",
				reconcile.FieldTimeZone: "Europe/Moscow", reconcile.FieldOrganizer: "me@x.org", reconcile.FieldTandemID: "a3"}},
		{"all-day on the day clocks change", crm.Activity{ID: "a4", Title: "Offsite", AllDay: true,
			Start: at("2037-03-08"), End: at("2037-03-09"), TimeZone: "America/New_York"},
			reconcile.Fields{reconcile.FieldTitle: "Offsite", reconcile.FieldStart: "2037-03-08", reconcile.FieldEnd: "2037-03-09", reconcile.FieldAllDay: "true",
				reconcile.FieldOrganizer: "me@x.org", reconcile.FieldTandemID: "a4"}},
		{"multi-day all-day", crm.Activity{ID: "a5", Title: "Conference", AllDay: true,
			Start: at("2037-10-30"), End: at("2037-11-03")},
			reconcile.Fields{reconcile.FieldTitle: "Conference", reconcile.FieldStart: "2037-10-30", reconcile.FieldEnd: "2037-11-03", reconcile.FieldAllDay: "true",
				reconcile.FieldOrganizer: "me@x.org", reconcile.FieldTandemID: "a5"}},
		{"all-day without end", crm.Activity{ID: "a6", Title: "Holiday", AllDay: true, Start: at("2037-05-01")},
			reconcile.Fields{reconcile.FieldTitle: "Holiday", reconcile.FieldStart: "2037-05-01", reconcile.FieldEnd: "2037-05-02", reconcile.FieldAllDay: "true",
				reconcile.FieldOrganizer: "me@x.org", reconcile.FieldTandemID: "a6"}},
		{"recurring with exdates across DST", crm.Activity{ID: "a7", Title: "Weekly", TimeZone: "America/New_York",
			Start: at("2037-03-02T09:00:00-05:00"), End: at("2037-03-02T09:30:00-05:00"), RRule: "RRULE:FREQ=WEEKLY;BYDAY=MO",
			ExDates: []time.Time{*at("2037-11-09T09:00:00-05:00"), *at("2037-03-09T09:00:00-04:00"), *at("2037-03-09T13:00:00Z")}},
			reconcile.Fields{reconcile.FieldTitle: "Weekly", reconcile.FieldStart: "2037-03-02T14:00:00Z", reconcile.FieldEnd: "2037-03-02T14:30:00Z",
				reconcile.FieldTimeZone: "America/New_York", reconcile.FieldRRule: "FREQ=WEEKLY;BYDAY=MO",
				reconcile.FieldExDates: "2037-03-09T13:00:00Z,2037-11-09T14:00:00Z", reconcile.FieldOrganizer: "me@x.org", reconcile.FieldTandemID: "a7"}},
		{"recurring all-day with exdates", crm.Activity{ID: "a8", Title: "Sprint review", AllDay: true,
			Start: at("2037-03-06"), End: at("2037-03-07"), RRule: "FREQ=WEEKLY;COUNT=10",
			ExDates: []time.Time{*at("2037-03-20"), *at("2037-03-13")}},
			reconcile.Fields{reconcile.FieldTitle: "Sprint review", reconcile.FieldStart: "2037-03-06", reconcile.FieldEnd: "2037-03-07", reconcile.FieldAllDay: "true",
				reconcile.FieldRRule: "FREQ=WEEKLY;COUNT=10", reconcile.FieldExDates: "2037-03-13,2037-03-20", reconcile.FieldOrganizer: "me@x.org", reconcile.FieldTandemID: "a8"}},
		{"attendees canonical", crm.Activity{ID: "a9", Title: "Sync", Start: at("2037-04-01T10:00:00Z"), End: at("2037-04-01T11:00:00Z"),
			Participants: []crm.Participant{{Email: "Bob@Example.com", Name: "Bob | B"}, {Email: "ann@example.com", Name: "Анна", ResponseStatus: "accepted"},
				{ContactID: "c1"}}},
			reconcile.Fields{reconcile.FieldTitle: "Sync", reconcile.FieldStart: "2037-04-01T10:00:00Z", reconcile.FieldEnd: "2037-04-01T11:00:00Z", reconcile.FieldTimeZone: "UTC",
				reconcile.FieldAttendees: "ann@example.com|Анна|accepted\nbob@example.com|Bob \\p B|needs_action", reconcile.FieldOrganizer: "me@x.org", reconcile.FieldTandemID: "a9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			a.Normalize()
			got := reconcile.EventFields(&a, "Me@x.org")
			if !got.Equal(tt.want) {
				t.Fatalf("EventFields:\n got %v\nwant %v", got, tt.want)
			}
			// Back to an activity and out again: the same fields.
			var b crm.Activity
			if err := reconcile.ApplyEventFields(&b, got, reconcile.EventFieldNames); err != nil {
				t.Fatal(err)
			}
			b.ID = a.ID
			b.Normalize()
			if err := b.Validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			again := reconcile.EventFields(&b, "me@x.org")
			if !again.Equal(got) {
				t.Errorf("round trip:\n got %v\nwant %v", again, got)
			}
			if a.AllDay != b.AllDay || (a.Start != nil && !a.Start.Equal(*b.Start)) {
				t.Errorf("round trip changed the times: %v %v / %v %v", a.AllDay, a.Start, b.AllDay, b.Start)
			}
		})
	}
}

func TestApplyEventFieldsKeepsContactsAndRules(t *testing.T) {
	a := crm.Activity{Title: "x", Start: at("2037-04-01T10:00:00Z"), RRule: "FREQ=DAILY",
		ExDates:      []time.Time{*at("2037-04-02T10:00:00Z")},
		Participants: []crm.Participant{{Email: "Ann@example.com", ContactID: "c-ann"}, {Email: "old@example.com", ContactID: "c-old"}}}
	f := reconcile.Fields{reconcile.FieldAttendees: "ann@example.com|Ann|declined\nnew@example.com||needs_action"}
	if err := reconcile.ApplyEventFields(&a, f, []string{reconcile.FieldAttendees, reconcile.FieldRRule}); err != nil {
		t.Fatal(err)
	}
	if len(a.Participants) != 2 || a.Participants[0].ContactID != "c-ann" || a.Participants[0].ResponseStatus != "declined" ||
		a.Participants[1].ContactID != "" {
		t.Errorf("participants %+v", a.Participants)
	}
	if a.RRule != "" || a.ExDates != nil {
		t.Errorf("exdates kept without a rule: %q %v", a.RRule, a.ExDates)
	}
	if err := reconcile.ApplyEventFields(&a, reconcile.Fields{reconcile.FieldStart: "yesterday"}, []string{reconcile.FieldStart}); err == nil {
		t.Error("bad start accepted")
	}
	if err := reconcile.ApplyEventFields(&a, reconcile.Fields{reconcile.FieldTimeZone: "Mars/Olympus"}, []string{reconcile.FieldTimeZone}); err == nil {
		t.Error("bad zone accepted")
	}
}

func TestReachesDate(t *testing.T) {
	from := *at("2037-03-01T00:00:00Z")
	tests := []struct {
		name string
		a    crm.Activity
		want bool
	}{
		{"after", crm.Activity{Start: at("2037-03-05T10:00:00Z")}, true},
		{"on the date", crm.Activity{Start: at("2037-03-01T00:00:00Z")}, true},
		{"before", crm.Activity{Start: at("2037-02-20T10:00:00Z"), End: at("2037-02-20T11:00:00Z")}, false},
		{"ends after", crm.Activity{Start: at("2037-02-28T23:00:00Z"), End: at("2037-03-01T01:00:00Z")}, true},
		{"all-day the day before", crm.Activity{AllDay: true, Start: at("2037-02-28"), End: at("2037-03-01")}, false},
		{"endless series begun before", crm.Activity{Start: at("2037-01-05T14:00:00Z"), End: at("2037-01-05T15:00:00Z"),
			TimeZone: "America/New_York", RRule: "FREQ=WEEKLY"}, true},
		{"series ended before", crm.Activity{Start: at("2037-01-05T14:00:00Z"), End: at("2037-01-05T15:00:00Z"),
			TimeZone: "America/New_York", RRule: "FREQ=WEEKLY;UNTIL=20370201T000000Z"}, false},
		{"series whose last occurrence spans the date", crm.Activity{Start: at("2037-02-27T23:00:00Z"), End: at("2037-02-28T01:30:00Z"),
			RRule: "FREQ=DAILY;COUNT=2"}, true},
		{"undated", crm.Activity{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reconcile.ReachesDate(&tt.a, from); got != tt.want {
				t.Errorf("ReachesDate = %v", got)
			}
			// The same rule on the synced form; what has no dates cannot
			// be judged and counts as inside a window.
			want := tt.want || tt.a.Start == nil
			if got := reconcile.EventReachesDate(reconcile.EventFields(&tt.a, ""), from); got != want {
				t.Errorf("EventReachesDate = %v", got)
			}
		})
	}
}

// eventFixture is a calendar binding between a real store and a memConn.
type eventFixture struct {
	t     *testing.T
	ctx   context.Context
	st    *store.Store
	v     access.Viewer
	b     *store.Binding
	conn  *memConn
	local *crmsync.EventsLocal
	eng   *reconcile.Engine
	from  time.Time
}

func newEventFixture(t *testing.T) *eventFixture {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, false)
	v := storetest.User(t, st, "owner@example.com")
	b := storetest.Binding(t, st, storetest.Connection(t, st, v.UserID, "test").ID, "event", "cal")
	from := time.Date(2037, 3, 1, 0, 0, 0, 0, time.UTC)
	f := &eventFixture{t: t, ctx: ctx, st: st, v: v, b: b, conn: newMemConn(), from: from,
		local: &crmsync.EventsLocal{Store: st, Viewer: v, BindingID: b.ID, From: from}}
	f.eng = &reconcile.Engine{State: st}
	return f
}

func (f *eventFixture) run() reconcile.Stats {
	f.t.Helper()
	// A new run sees bindings as they are now, as each run's new Local does.
	f.local = &crmsync.EventsLocal{Store: f.st, Viewer: f.v, BindingID: f.b.ID, From: f.from, ImportAs: f.local.ImportAs}
	if _, err := f.local.ApplyOrganizerRule(f.ctx, f.binding().LocalCursor); err != nil {
		f.t.Fatal(err)
	}
	stats, err := f.eng.Run(f.ctx, f.b.ID, f.conn, f.local)
	if err != nil {
		f.t.Fatalf("run: %v", err)
	}
	return stats
}

func (f *eventFixture) binding() *store.Binding {
	b, err := f.st.GetBinding(f.ctx, f.b.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *eventFixture) activity(a *crm.Activity) *crm.Activity {
	f.t.Helper()
	if a.Type == "" {
		a.Type = "meeting"
	}
	if err := f.st.CreateActivity(store.WithOrigin(f.ctx, "ui"), f.v, a); err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *eventFixture) get(id string) *crm.Activity {
	f.t.Helper()
	a, err := f.st.GetActivity(f.ctx, f.v, id)
	if err != nil {
		f.t.Fatalf("activity %s: %v", id, err)
	}
	return a
}

func (f *eventFixture) remoteOf(localID string) *memItem {
	f.t.Helper()
	l, err := f.st.FindLink(f.ctx, f.b.ID, "local_id", localID)
	if err != nil {
		f.t.Fatalf("link of %s: %v", localID, err)
	}
	return f.conn.items[l.RemoteID]
}

func (f *eventFixture) all() []crm.Activity {
	f.t.Helper()
	as, _, err := f.st.ListActivities(f.ctx, f.v, store.ActivityFilter{Page: store.Page{Limit: 200}})
	if err != nil {
		f.t.Fatal(err)
	}
	return as
}

func TestEventsExportImportScope(t *testing.T) {
	f := newEventFixture(t)
	ann := &crm.Contact{Name: "Ann Lee", Emails: []crm.Email{{Address: "ann@example.com"}}}
	if err := f.st.CreateContact(f.ctx, f.v, ann); err != nil {
		t.Fatal(err)
	}
	shown := f.activity(&crm.Activity{Title: "Shown", ShowInCalendar: true, Start: at("2037-03-10T10:00:00Z"),
		End: at("2037-03-10T11:00:00Z"), TimeZone: "Europe/Moscow"})
	f.activity(&crm.Activity{Title: "Not shown", Start: at("2037-03-10T10:00:00Z")})
	f.activity(&crm.Activity{Title: "Too old", ShowInCalendar: true, Start: at("2037-02-10T10:00:00Z")})
	f.conn.remoteAdd(reconcile.Fields{reconcile.FieldTitle: "From Google", reconcile.FieldStart: "2037-03-12T09:00:00Z", reconcile.FieldEnd: "2037-03-12T10:00:00Z",
		reconcile.FieldTimeZone: "UTC", reconcile.FieldOrganizer: "owner@example.com",
		reconcile.FieldAttendees: "ann@example.com|Ann|accepted\nstranger@example.org||needs_action"})

	s := f.run()
	if s.RemoteCreated != 1 || s.LocalCreated != 1 {
		t.Fatalf("first run %+v", s)
	}
	if got := f.remoteOf(shown.ID).fields; got[reconcile.FieldTitle] != "Shown" || got[reconcile.FieldTimeZone] != "Europe/Moscow" ||
		got[reconcile.FieldTandemID] != shown.ID || got[reconcile.FieldOrganizer] != "owner@example.com" {
		t.Errorf("exported %v", got)
	}
	var imp *crm.Activity
	for _, a := range f.all() {
		if a.Title == "From Google" {
			imp = f.get(a.ID)
		}
	}
	if imp == nil || imp.Type != "meeting" || !imp.ShowInCalendar || imp.OwnerID != f.v.UserID || imp.OrganizerID != f.v.UserID {
		t.Fatalf("imported %+v", imp)
	}
	if len(imp.Participants) != 2 || imp.Participants[0].ContactID != ann.ID || imp.Participants[0].ResponseStatus != "accepted" ||
		imp.Participants[1].ContactID != "" || imp.Participants[1].Email != "stranger@example.org" {
		t.Errorf("participants %+v", imp.Participants)
	}
	if s := f.run(); s.RemoteCreated+s.RemoteUpdated+s.LocalCreated+s.LocalUpdated != 0 {
		t.Errorf("echo %+v", s)
	}

	// Deleted in Google: the activity is deleted, and the journal says so.
	f.conn.remoteDelete(f.remoteOf(imp.ID).id)
	f.run()
	if _, err := f.st.GetActivity(f.ctx, f.v, imp.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("remote delete kept the activity: %v", err)
	}
	j, _ := f.st.Journal(f.ctx, imp.ID, 5)
	if len(j) == 0 || j[0].Action != "delete" {
		t.Errorf("journal %+v", j)
	}
	// show_in_calendar off: removed from the calendar, kept here.
	a := f.get(shown.ID)
	a.ShowInCalendar, a.Tags, a.Access = false, nil, nil
	if err := f.st.UpdateActivity(store.WithOrigin(f.ctx, "ui"), f.v, a, 0); err != nil {
		t.Fatal(err)
	}
	if s := f.run(); s.RemoteRemoved != 1 {
		t.Errorf("unshown %+v", s)
	}
}

func TestEventsOrganizerRule(t *testing.T) {
	f := newEventFixture(t)
	// Bob is another user without calendar sync; Cid has it.
	bob, cid := storetest.User(t, f.st, "bob@example.com"), storetest.User(t, f.st, "cid@example.com")
	storetest.Binding(t, f.st, storetest.Connection(t, f.st, cid.UserID, "test").ID, "event", "c")
	byBob := f.activity(&crm.Activity{Title: "Bob's", ShowInCalendar: true, Start: at("2037-03-10T10:00:00Z"), OrganizerID: bob.UserID})
	byCid := f.activity(&crm.Activity{Title: "Cid's", ShowInCalendar: true, Start: at("2037-03-10T12:00:00Z"), OrganizerID: cid.UserID})
	outside := f.activity(&crm.Activity{Title: "Outside", ShowInCalendar: true, Start: at("2037-03-10T14:00:00Z"),
		OrganizerEmail: "boss@partner.example"})
	s := f.run()
	if s.RemoteCreated != 2 {
		t.Fatalf("run %+v", s)
	}
	for _, a := range []*crm.Activity{byBob, outside} {
		got := f.get(a.ID)
		if got.OrganizerID != f.v.UserID {
			t.Errorf("%s: organizer %q %q, want the syncing user", a.Title, got.OrganizerID, got.OrganizerEmail)
		}
		if f.remoteOf(a.ID).fields[reconcile.FieldOrganizer] != "owner@example.com" {
			t.Errorf("%s exported with organizer %v", a.Title, f.remoteOf(a.ID).fields)
		}
		j, _ := f.st.Journal(f.ctx, a.ID, 5)
		found := false
		for _, e := range j {
			found = found || strings.HasPrefix(e.Reason, reconcile.ReasonOrganizerReplaced+":")
		}
		if !found {
			t.Errorf("%s: journal %+v", a.Title, j)
		}
	}
	// Sync follows the organizer: Cid syncs, so Cid's meeting is not ours to export.
	if got := f.get(byCid.ID); got.OrganizerID != cid.UserID {
		t.Errorf("organizer with sync replaced: %+v", got)
	}
	if _, err := f.st.FindLink(f.ctx, f.b.ID, "local_id", byCid.ID); !errors.Is(err, store.ErrNotFound) {
		t.Error("meeting of an organizer with sync exported")
	}
	// The organizer's later change reaches Google.
	a := f.get(byBob.ID)
	a.Title, a.Tags, a.Access = "Bob's, moved", nil, nil
	a.Start = at("2037-03-11T10:00:00Z")
	if err := f.st.UpdateActivity(store.WithOrigin(f.ctx, "ui"), f.v, a, 0); err != nil {
		t.Fatal(err)
	}
	f.run()
	if got := f.remoteOf(byBob.ID).fields; got[reconcile.FieldTitle] != "Bob's, moved" || got[reconcile.FieldStart] != "2037-03-11T10:00:00Z" {
		t.Errorf("change not pushed: %v", got)
	}
}

func TestEventsResubscribeNoDuplicates(t *testing.T) {
	f := newEventFixture(t)
	f.activity(&crm.Activity{Title: "Ours", ShowInCalendar: true, Start: at("2037-03-10T10:00:00Z"), End: at("2037-03-10T11:00:00Z")})
	f.conn.remoteAdd(reconcile.Fields{reconcile.FieldTitle: "Theirs", reconcile.FieldStart: "2037-03-12T09:00:00Z", reconcile.FieldEnd: "2037-03-12T10:00:00Z",
		reconcile.FieldTimeZone: "UTC", reconcile.FieldOrganizer: "owner@example.com"})
	f.run()
	// Unsubscribe: every link goes, no record; subscribing again lists both
	// sides from scratch.
	links, _ := f.st.Links(f.ctx, f.b.ID)
	if err := f.st.InTx(f.ctx, func(tx *store.Tx) error {
		for _, l := range links {
			if err := tx.DeleteLink(f.ctx, f.b.ID, l.LocalID); err != nil {
				return err
			}
		}
		return tx.SetCursors(f.ctx, f.b.ID, "", 0, true)
	}); err != nil {
		t.Fatal(err)
	}
	f.conn.gen++
	s := f.run()
	if n := len(f.all()); n != 2 {
		t.Errorf("%d activities after resubscribe, want 2 (%+v)", n, s)
	}
	if n := len(f.conn.live()); n != 2 {
		t.Errorf("%d remote events after resubscribe, want 2 (%+v)", n, s)
	}
	if links, _ := f.st.Links(f.ctx, f.b.ID); len(links) != 2 {
		t.Errorf("%d links", len(links))
	}
}
