package syncer_test

import (
	"context"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// TestGoogleContactReentry: a contact that leaves the Tandem group (untagged
// or deleted in Tandem, or taken out of the group in Google) and is put back
// on either side is the same contact on both sides again — found by its
// link, re-tagged and merged — never a second one.
func TestGoogleContactReentry(t *testing.T) {
	onBothDatabases(t, testGoogleContactReentry)
}

func testGoogleContactReentry(t *testing.T, pg bool) {
	f := connectGoogle(t, tandemtest.Options{Postgres: pg})
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/contacts", map[string]any{"enabled": true, "tag_id": f.tagID}, 200, nil)
	ids := map[string]string{}
	for _, n := range []string{"Ann Lee", "Bob Stone", "Cara Diaz", "Dan Ford", "Fay Wong"} {
		ids[n] = f.contact(t, n, true)
	}
	group := f.sync(t).Collection
	// One more that the user made in Google: imported, its Google contact
	// carries no Tandem marker.
	eve, err := f.g.CreateContact(googleUser, map[string]any{
		"names":       []any{map[string]any{"givenName": "Eve", "familyName": "Adams"}},
		"memberships": []any{map[string]any{"contactGroupMembership": map[string]any{"contactGroupResourceName": group}}}})
	if err != nil {
		t.Fatal(err)
	}
	f.sync(t)
	ids["Eve Adams"] = f.byName(t, "Eve Adams")[0].ID
	remote := map[string]string{} // name → resource name
	for rn, p := range f.groupMembers(t, group) {
		remote[displayName(p)] = rn
	}
	if len(remote) != 6 || remote["Eve Adams"] != eve {
		t.Fatalf("group after the first runs: %v", remote)
	}
	people := len(f.g.People(googleUser))
	setTag := func(name string, on bool) {
		t.Helper()
		tags := []string{}
		if on {
			tags = append(tags, f.tagID)
		}
		f.api.JSON(t, "PATCH", "/api/v1/contacts/"+ids[name], map[string]any{"tags": tags}, 200, nil)
	}
	regroup := func(name string, in bool) {
		t.Helper()
		var add, remove []string
		if in {
			add = []string{remote[name]}
		} else {
			remove = []string{remote[name]}
		}
		if err := f.g.ModifyGroupMembers(googleUser, group, add, remove); err != nil {
			t.Fatal(err)
		}
	}

	// Leaving: untagged in Tandem (Eve, imported, and Bob), deleted in
	// Tandem (Cara), taken out of the group in Google (Ann, Dan), deleted
	// in Google (Fay).
	setTag("Eve Adams", false)
	setTag("Bob Stone", false)
	f.api.JSON(t, "DELETE", "/api/v1/contacts/"+ids["Cara Diaz"], nil, 204, nil)
	regroup("Ann Lee", false)
	regroup("Dan Ford", false)
	if err := f.g.DeleteContact(googleUser, remote["Fay Wong"]); err != nil {
		t.Fatal(err)
	}
	people--
	f.sync(t)
	if m := f.groupMembers(t, group); len(m) != 0 {
		t.Fatalf("group after leaving: %d members", len(m))
	}
	for _, n := range []string{"Ann Lee", "Dan Ford", "Fay Wong"} {
		if c := f.get(t, n); c.tagged(f.tagID) {
			t.Errorf("%s still tagged after leaving the group", n)
		}
	}
	// Changes on both sides while out of scope.
	if err := f.g.UpdateContact(googleUser, remote["Eve Adams"], map[string]any{
		"organizations": []any{map[string]any{"title": "CTO"}}}, "organizations"); err != nil {
		t.Fatal(err)
	}
	f.api.JSON(t, "PATCH", "/api/v1/contacts/"+ids["Eve Adams"], map[string]any{"phones": []any{map[string]any{"number": "+1 555 0100"}}}, 200, nil)
	f.sync(t)

	// Back in the group in Google: Eve (untagged here), Cara (deleted
	// here), Ann (left in Google). Back in scope in Tandem: Bob (untagged
	// here), Dan (left in Google) and Fay (deleted in Google, so she is
	// created there again).
	regroup("Eve Adams", true)
	regroup("Cara Diaz", true)
	regroup("Ann Lee", true)
	setTag("Bob Stone", true)
	setTag("Dan Ford", true)
	setTag("Fay Wong", true)
	f.sync(t)

	if n := len(f.g.People(googleUser)); n != people+1 {
		t.Errorf("Google has %d contacts, want %d: a contact was created again", n, people+1)
	}
	members := f.groupMembers(t, group)
	if len(members) != 6 {
		t.Errorf("group has %d members, want 6", len(members))
	}
	for rn, p := range members {
		if displayName(p) == "Fay Wong" && rn != remote["Fay Wong"] {
			remote["Fay Wong"] = rn // her new Google contact
		}
	}
	for _, n := range []string{"Ann Lee", "Bob Stone", "Cara Diaz", "Dan Ford", "Eve Adams", "Fay Wong"} {
		cs := f.byName(t, n)
		if len(cs) != 1 {
			t.Errorf("%d Tandem contacts named %s", len(cs), n)
			continue
		}
		if !cs[0].tagged(f.tagID) {
			t.Errorf("%s not tagged", n)
		}
		if n != "Cara Diaz" && cs[0].ID != ids[n] {
			t.Errorf("%s is a new contact, not the original", n)
		}
		if members[remote[n]] == nil {
			t.Errorf("%s: its Google contact %s is not back in the group", n, remote[n])
		}
	}
	// Cara was deleted in Tandem (contacts are deleted for good): her
	// Google contact comes back as a new Tandem contact.
	if cs := f.byName(t, "Cara Diaz"); len(cs) == 1 && cs[0].ID == ids["Cara Diaz"] {
		t.Error("a deleted contact came back with its old id")
	}
	// Eve: both sides' changes made while out of scope are merged.
	e := f.get(t, "Eve Adams")
	if e.JobTitle != "CTO" || len(e.Phones) != 1 || e.Phones[0].Number != "+1 555 0100" {
		t.Errorf("Eve after re-entry: %+v", e)
	}
	p, _ := f.g.Person(googleUser, remote["Eve Adams"])
	if ph, _ := p["phoneNumbers"].([]any); len(ph) != 1 {
		t.Errorf("Eve in Google after re-entry: %v", p["phoneNumbers"])
	}
	// The journal says why the contact is tagged again.
	var journal struct {
		Items []struct {
			Side, Action string
			ReasonCode   string `json:"reason_code"`
		}
	}
	f.api.JSON(t, "GET", "/api/v1/contacts/"+ids["Ann Lee"]+"/journal", nil, 200, &journal)
	if len(journal.Items) == 0 || journal.Items[0].Side != "local" || journal.Items[0].Action != "tag" ||
		journal.Items[0].ReasonCode != reconcile.ReasonBackRemotely {
		t.Errorf("Ann's journal %+v", journal.Items)
	}
	f.api.JSON(t, "GET", "/api/v1/contacts/"+ids["Dan Ford"]+"/journal", nil, 200, &journal)
	if len(journal.Items) == 0 || journal.Items[0].Side != "remote" || journal.Items[0].Action != "restore" {
		t.Errorf("Dan's journal %+v", journal.Items)
	}

	f.api.JSON(t, "GET", "/api/v1/contacts/"+ids["Fay Wong"]+"/journal", nil, 200, &journal)
	if len(journal.Items) < 2 || journal.Items[0].Action != "create" || journal.Items[1].Action != "unlink" ||
		journal.Items[1].ReasonCode != reconcile.ReasonBackLocallyRemoteGone {
		t.Errorf("Fay's journal %+v", journal.Items)
	}

	// Quiet afterwards.
	st := f.sync(t)
	for _, k := range []string{"local_created", "local_updated", "remote_created", "remote_updated"} {
		if n, _ := st.LastStats[k].(float64); n != 0 {
			t.Errorf("quiet run: %s = %v", k, n)
		}
	}
}

// byName lists the contacts with exactly this name.
func (f *googleFixture) byName(t *testing.T, name string) []apiContact {
	t.Helper()
	var all struct{ Items []apiContact }
	f.api.JSON(t, "GET", "/api/v1/contacts?limit=200", nil, 200, &all)
	var out []apiContact
	for _, c := range all.Items {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// get is the one contact with this name.
func (f *googleFixture) get(t *testing.T, name string) apiContact {
	t.Helper()
	cs := f.byName(t, name)
	if len(cs) != 1 {
		t.Fatalf("%d contacts named %s", len(cs), name)
	}
	return cs[0]
}

// TestGoogleCalendarReentry: an event that leaves the binding's scope and
// comes back, on either side, is the same event and the same activity
// again: shown in the calendar again in Tandem (its Google event is
// restored, not created anew), restored in Google (the activity is found
// by its link), moved before the sync-from date and back (on both sides).
func TestGoogleCalendarReentry(t *testing.T) {
	onBothDatabases(t, testGoogleCalendarReentry)
}

func testGoogleCalendarReentry(t *testing.T, pg bool) {
	f := connectCalendar(t, pg)
	// Dates relative to today: the test means the same whenever it runs.
	today := time.Now().UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -7)
	at := func(days, hour int) time.Time { return today.AddDate(0, 0, days).Add(time.Duration(hour) * time.Hour) }
	rfc := func(t time.Time) string { return t.Format(time.RFC3339) }
	meeting := func(title string, start time.Time, extra map[string]any) string {
		body := map[string]any{"type": "meeting", "title": title, "show_in_calendar": true, "start": rfc(start),
			"end": rfc(start.Add(time.Hour)), "time_zone": "Europe/Moscow"}
		for k, v := range extra {
			body[k] = v
		}
		return f.activity(t, body)
	}
	ids := map[string]string{}
	ids["Review"] = meeting("Review", at(3, 9), nil)
	ids["Call"] = meeting("Call", at(4, 9), nil)
	ids["Planning"] = meeting("Planning", at(5, 9), nil)
	daily := at(6, 8)
	moved := daily.AddDate(0, 0, 2)
	ids["Daily"] = meeting("Daily", daily, map[string]any{"rrule": "FREQ=DAILY;COUNT=5", "overrides": []any{map[string]any{
		"recurrence_id": rfc(moved), "start": rfc(moved.Add(2 * time.Hour)), "end": rfc(moved.Add(3 * time.Hour)), "title": "Daily (late)"}}})
	insert := func(title string, start time.Time) string {
		t.Helper()
		id, err := f.g.InsertEvent(googleUser, f.work, map[string]any{"summary": title,
			"start": map[string]any{"dateTime": rfc(start)}, "end": map[string]any{"dateTime": rfc(start.Add(time.Hour))}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	lunch := insert("Lunch", at(3, 12))
	retro := insert("Retro", at(4, 12))
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/calendar", map[string]any{"enabled": true, "calendar_id": f.work,
		"sync_from": from.Format("2006-01-02")}, 200, nil)
	f.sync(t)
	evs := f.events(t, f.work)
	remote := map[string]string{}
	for title, ev := range evs {
		remote[title] = ev["id"].(string)
	}
	if len(f.activities(t)) != 6 || remote["Review"] == "" || remote["Daily"] == "" || remote["Daily (late)"] == "" {
		t.Fatalf("first run: events %v", keys(evs))
	}
	ids["Lunch"], ids["Retro"] = f.activities(t)["Lunch"].ID, f.activities(t)["Retro"].ID
	show := func(title string, on bool) {
		t.Helper()
		f.api.JSON(t, "PATCH", "/api/v1/activities/"+ids[title], map[string]any{"show_in_calendar": on}, 200, nil)
	}
	undelete := func(title string) {
		t.Helper()
		if err := f.g.PatchEvent(googleUser, f.work, remote[title], map[string]any{"status": "confirmed"}); err != nil {
			t.Fatal(err)
		}
	}

	// Leaving: Review, Daily and Call are taken out of the calendar in
	// Tandem; Lunch is deleted in Google; Planning is moved before the
	// sync-from date in Tandem, Retro in Google.
	show("Review", false)
	show("Daily", false)
	show("Call", false)
	if err := f.g.DeleteEvent(googleUser, f.work, lunch); err != nil {
		t.Fatal(err)
	}
	f.api.JSON(t, "PATCH", "/api/v1/activities/"+ids["Planning"], map[string]any{"start": rfc(from.AddDate(0, 0, -3)),
		"end": rfc(from.AddDate(0, 0, -3).Add(time.Hour))}, 200, nil)
	old := from.AddDate(0, 0, -2)
	if err := f.g.PatchEvent(googleUser, f.work, retro, map[string]any{"start": map[string]any{"dateTime": rfc(old)},
		"end": map[string]any{"dateTime": rfc(old.Add(time.Hour))}}); err != nil {
		t.Fatal(err)
	}
	f.sync(t)
	evs = f.events(t, f.work)
	for _, title := range []string{"Review", "Daily", "Call", "Lunch"} {
		if evs[title] != nil {
			t.Errorf("%s still in Google after leaving", title)
		}
	}
	if a := f.activities(t); a["Lunch"].ID != "" || a["Review"].ShowInCalendar {
		t.Fatalf("after leaving: %+v", a)
	}

	// Coming back: shown in the calendar again in Tandem (Review, Daily),
	// restored in Google (Lunch, deleted here; Call, out of the calendar
	// here), moved back after the sync-from date on each side.
	show("Review", true)
	show("Daily", true)
	undelete("Lunch")
	undelete("Call")
	f.api.JSON(t, "PATCH", "/api/v1/activities/"+ids["Planning"], map[string]any{"start": rfc(at(5, 9)), "end": rfc(at(5, 10))}, 200, nil)
	if err := f.g.PatchEvent(googleUser, f.work, retro, map[string]any{"start": map[string]any{"dateTime": rfc(at(4, 12))},
		"end": map[string]any{"dateTime": rfc(at(4, 13))}}); err != nil {
		t.Fatal(err)
	}
	f.sync(t)

	evs = f.events(t, f.work) // fails on two events with one title
	acts := f.activities(t)   // fails on two activities with one title
	if len(evs) != 7 || len(acts) != 6 {
		t.Errorf("after coming back: %d events %v, %d activities", len(evs), keys(evs), len(acts))
	}
	for _, title := range []string{"Review", "Daily", "Daily (late)", "Call", "Planning", "Retro", "Lunch"} {
		if ev := evs[title]; ev == nil || ev["id"] != remote[title] {
			t.Errorf("%s: Google event %v, want the original %s", title, ev["id"], remote[title])
		}
	}
	for _, title := range []string{"Review", "Daily", "Call", "Planning", "Retro"} {
		if a := acts[title]; a.ID != ids[title] || !a.ShowInCalendar {
			t.Errorf("%s: activity %+v, want the original %s shown in the calendar", title, a, ids[title])
		}
	}
	// Lunch was deleted here (activities are deleted for good): its
	// Google event comes back as a new activity.
	if a := acts["Lunch"]; a.ID == "" || a.ID == ids["Lunch"] {
		t.Errorf("Lunch after its event came back: %+v", a)
	}
	if a := acts["Retro"]; a.Start != rfc(at(4, 12)) {
		t.Errorf("Retro at %s, want %s", a.Start, rfc(at(4, 12)))
	}
	journal, _ := f.s.App.Store.Journal(context.Background(), ids["Call"], 5)
	if len(journal) == 0 || journal[0].Side != "local" || journal[0].Reason != reconcile.ReasonBackRemotely {
		t.Errorf("Call's journal %+v", journal)
	}

	st := f.sync(t)
	for _, k := range []string{"local_created", "local_updated", "remote_created", "remote_updated"} {
		if n, _ := st.LastStats[k].(float64); n != 0 {
			t.Errorf("quiet run: %s = %v", k, n)
		}
	}
}
