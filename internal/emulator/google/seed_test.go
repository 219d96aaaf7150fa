package google

import (
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/testenv"
	gcal "google.golang.org/api/calendar/v3"
	"google.golang.org/api/people/v1"
)

// TestEndpointContract pins the base URLs the connector passes to the
// generated clients (package doc) to the paths the emulator serves.
func TestEndpointContract(t *testing.T) {
	e := newEnv(t)
	if _, err := e.people(alice).People.Connections.List("people/me").PersonFields("names").Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.people(alice).ContactGroups.Members.Modify("contactGroups/starred", &people.ModifyContactGroupMembersRequest{}).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.calendar(alice).Events.List(alice).Do(); err != nil {
		t.Fatal(err)
	}
	if err := e.calendar(alice).Channels.Stop(&gcal.Channel{Id: "x"}).Do(); err == nil {
		t.Fatal("stop of an unknown channel")
	}
	rc := e.srv.RequestCounts()
	for _, k := range []string{
		"GET /v1/people/me/connections",
		"POST /v1/contactGroups/starred/members:modify",
		"GET /calendar/v3/calendars/" + alice + "/events",
		"POST /calendar/v3/channels/stop",
	} {
		if rc[k] != 1 {
			t.Fatalf("%s: %d (all: %v)", k, rc[k], rc)
		}
	}
	calls := e.srv.Calls()
	if calls["people.connections.list"] != 1 || calls["contactGroups.members.modify"] != 1 || calls["calendar.events.list"] != 1 {
		t.Fatalf("calls %v", calls)
	}
	e.srv.ResetCounts()
	if len(e.srv.Calls()) != 0 {
		t.Fatal("ResetCounts")
	}
}

func TestSeedDemoAndUserEdits(t *testing.T) {
	clock := testenv.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	srv := New(Options{Now: clock.Now, Seed: 1})
	defer srv.Close()
	if err := srv.SeedDemo(); err != nil {
		t.Fatal(err)
	}
	srv2 := New(Options{Now: clock.Now, Seed: 1})
	defer srv2.Close()
	srv2.SeedDemo()
	if srv.People(alice)[0]["resourceName"] != srv2.People(alice)[0]["resourceName"] {
		t.Fatal("seeded ids differ between runs")
	}
	if got := srv.Users(); len(got) != 2 || got[0] != alice {
		t.Fatalf("users %v", got)
	}
	ps := srv.People(alice)
	if len(ps) != 3 || len(srv.People(bob)) != 2 {
		t.Fatalf("contacts %d", len(ps))
	}
	evs := srv.Events(alice, "primary")
	if len(evs) != 3 {
		t.Fatalf("events %d", len(evs))
	}
	var groups []string
	for _, g := range srv.ContactGroups(alice) {
		if g["groupType"] == "USER_CONTACT_GROUP" {
			groups = append(groups, g["name"].(string))
			if len(g["memberResourceNames"].([]any)) != 1 {
				t.Fatalf("group members %v", g)
			}
		}
	}
	if len(groups) != 1 || groups[0] != "Customers" {
		t.Fatalf("groups %v", groups)
	}

	// user edits bump etags exactly like API writes
	rn := ps[0]["resourceName"].(string)
	etag := ps[0]["etag"].(string)
	if err := srv.UpdateContact(alice, rn, &people.Person{Names: []*people.Name{{GivenName: "Carlotta", FamilyName: "Castillo"}}}); err != nil {
		t.Fatal(err)
	}
	p, ok := srv.Person(alice, rn)
	if !ok || p["etag"] == etag || p["names"].([]any)[0].(map[string]any)["displayName"] != "Carlotta Castillo" {
		t.Fatalf("after edit %v", p)
	}
	if len(p["emailAddresses"].([]any)) != 1 {
		t.Fatal("unmasked field cleared")
	}
	if err := srv.UpdateContact(alice, rn, map[string]any{"photos": []any{}}, "photos"); err == nil {
		t.Fatal("photos are not writable")
	}
	if err := srv.ModifyGroupMembers(alice, "contactGroups/starred", []string{rn}, nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.DeleteContact(alice, rn); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.Person(alice, rn); ok || srv.DeleteContact(alice, rn) == nil {
		t.Fatal("deleted contact still there")
	}

	id := evs[0]["id"].(string)
	if err := srv.PatchEvent(alice, "primary", id, map[string]any{"summary": "Call (moved)"}); err != nil {
		t.Fatal(err)
	}
	ev, _ := srv.Event(alice, "primary", id)
	if ev["summary"] != "Call (moved)" || ev["etag"] == evs[0]["etag"] {
		t.Fatalf("patched %v", ev)
	}
	if err := srv.DeleteEvent(alice, "primary", id); err != nil {
		t.Fatal(err)
	}
	if ev, _ := srv.Event(alice, "primary", id); ev["status"] != "cancelled" {
		t.Fatalf("deleted %v", ev)
	}
	if len(srv.Events(alice, "primary")) != 2 {
		t.Fatal("Events lists a deleted event")
	}
	cal, err := srv.CreateCalendar(alice, "Projects", "Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.InsertEvent(alice, cal, map[string]any{"summary": "x"}); err == nil {
		t.Fatal("event without times")
	}
	if err := srv.DeleteContactGroup(alice, "contactGroups/myContacts", false); err == nil {
		t.Fatal("system group deleted")
	}
	if _, err := srv.CreateContact("nobody@example.com", map[string]any{}); err == nil {
		t.Fatal("unknown user")
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	const workers, each = 6, 10
	e.srv.Faults().SetSlowDelay(2 * time.Millisecond)
	errs := make(chan error, workers*each*3)
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func(w int) {
			defer func() { done <- struct{}{} }()
			user := alice
			if w%2 == 1 {
				user = bob
			}
			ps, cs := e.people(user), e.calendar(user)
			for i := 0; i < each; i++ {
				if _, err := ps.People.CreateContact(mkPerson("W", "X", "")).Do(); err != nil {
					errs <- err
				}
				if _, err := cs.Events.Insert("primary", mkEvent("e", t0, time.Hour)).Do(); err != nil {
					errs <- err
				}
				if _, err := cs.Events.List("primary").MaxResults(5).Do(); err != nil {
					errs <- err
				}
				e.srv.Faults().FailNext(1, FaultSlow) // exercise the fault path concurrently too
			}
		}(w)
	}
	for w := 0; w < workers; w++ {
		<-done
	}
	e.srv.Faults().Reset()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := len(e.srv.People(alice)) + len(e.srv.People(bob)); n != workers*each {
		t.Fatalf("contacts %d", n)
	}
	if n := len(e.srv.Events(alice, "primary")) + len(e.srv.Events(bob, "primary")); n != workers*each {
		t.Fatalf("events %d", n)
	}
}
