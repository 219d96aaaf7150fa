package dav_test

import (
	"bytes"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	davc "github.com/tandem-crm/tandem/internal/connector/dav"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/davserver"
)

// reviewICS is a weekly review in Moscow time with extra dates (RDATE): a
// date-time with its TZID and, with period, a period Tandem does not
// model (Radicale refuses PERIOD RDATEs on PUT: 'tuple' object has no
// attribute 'year').
func reviewICS(mon time.Time, period bool) string {
	at := func(days, hour int) string {
		return icsLocal(mon.AddDate(0, 0, days).Add(time.Duration(hour) * time.Hour))
	}
	p := ""
	if period {
		day := mon.AddDate(0, 0, 4).UTC().Format("20060102")
		p = "RDATE;VALUE=PERIOD:" + day + "T090000Z/" + day + "T110000Z\r\n"
	}
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tandem tests//EN\r\n" +
		"BEGIN:VTIMEZONE\r\nTZID:Europe/Moscow\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nTZNAME:MSK\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" +
		"BEGIN:VEVENT\r\nUID:review-1\r\nDTSTAMP:20200101T000000Z\r\n" +
		"DTSTART;TZID=Europe/Moscow:" + at(0, 15) + "\r\nDTEND;TZID=Europe/Moscow:" + at(0, 16) + "\r\n" +
		"RRULE:FREQ=WEEKLY;COUNT=3\r\nRDATE;TZID=Europe/Moscow:" + at(3, 15) + "\r\n" +
		p +
		"SUMMARY:Review\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

// inventoryICS is an all-day event with extra dates and no rule.
func inventoryICS(day time.Time) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tandem tests//EN\r\nBEGIN:VEVENT\r\nUID:inventory-1\r\nDTSTAMP:20200101T000000Z\r\n" +
		"DTSTART;VALUE=DATE:" + icsDate(day) + "\r\nDTEND;VALUE=DATE:" + icsDate(day.AddDate(0, 0, 1)) + "\r\n" +
		"RDATE;VALUE=DATE:" + icsDate(day.AddDate(0, 0, 7)) + "," + icsDate(day.AddDate(0, 0, 14)) + "\r\n" +
		"SUMMARY:Inventory\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

// TestSeveralCalendars: two calendars of one account sync at once, each
// a binding: new activities go to the home calendar only, an event of the
// other one edited here goes back there only, an event moved between
// them on the server stays one activity, the home moves, a calendar left
// out is unsubscribed. The other calendar's series keep their extra dates
// (RDATE, with a TZID or as dates) both ways, and a PERIOD RDATE stays
// byte for byte.
func TestSeveralCalendars(t *testing.T) {
	onBothServers(t, func(t *testing.T, f *fixture) {
		ctx := f.ctx
		personal, err := f.srv.CreateCalendar(ctx, "personal", "Personal", "VEVENT")
		if err != nil {
			t.Fatal(err)
		}
		msk, err := time.LoadLocation("Europe/Moscow")
		if err != nil {
			t.Fatal(err)
		}
		mon := weekAhead(msk)
		put := func(href, body string) {
			t.Helper()
			if _, err := f.srv.Put(ctx, href, davc.ICalendarType, []byte(body)); err != nil {
				t.Fatal(err)
			}
		}
		dentistHref := personal + "dentist-1.ics"
		put(dentistHref, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tandem tests//EN\r\nBEGIN:VEVENT\r\nUID:dentist-1\r\n"+
			"DTSTAMP:20200101T000000Z\r\nDTSTART:"+mon.AddDate(0, 0, 1).UTC().Format("20060102")+"T080000Z\r\nDTEND:"+
			mon.AddDate(0, 0, 1).UTC().Format("20060102")+"T090000Z\r\nSUMMARY:Dentist\r\nX-CLIENT:kept\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
		reviewHref := personal + "review-1.ics"
		period := f.srv.Kind() == davserver.Xandikos
		put(reviewHref, reviewICS(mon, period))
		put(personal+"inventory-1.ics", inventoryICS(mon.AddDate(0, 0, 2)))
		planStart := time.Date(mon.Year(), mon.Month(), mon.Day()+1, 12, 0, 0, 0, time.UTC)
		f.api.JSON(t, "POST", "/api/v1/activities", map[string]any{"type": "meeting", "title": "Planning", "show_in_calendar": true,
			"start": planStart.Format(time.RFC3339), "end": planStart.Add(time.Hour).Format(time.RFC3339)}, 201, nil)

		f.connect(t)
		var cals struct{ Items []struct{ ID string } }
		f.api.JSON(t, "GET", "/api/v1/connections/"+f.connID+"/sync/event/collections", nil, 200, &cals)
		if len(cals.Items) != 2 {
			t.Fatalf("calendars %+v", cals)
		}
		pick := func(home string, picks ...string) { t.Helper(); f.pickCalendars(t, home, picks...) }
		pick(f.cal, f.cal, personal)
		f.run(t, "event")

		titles := func(coll string) []string { t.Helper(); return f.summaries(t, coll) }
		if got := titles(f.cal); !slices.Equal(got, []string{"Planning"}) {
			t.Fatalf("home calendar holds %v", got)
		}
		if got := titles(personal); !slices.Equal(got, []string{"Dentist", "Inventory", "Review"}) {
			t.Fatalf("other calendar holds %v", got)
		}
		acts := f.activities(t)
		// The extra dates came in: the Thursday at 15:00 Moscow time, and
		// the inventory's two dates; the period is not among them.
		if r := acts["Review"]; len(r.RDates) != 1 || r.RDates[0] != mon.AddDate(0, 0, 3).Add(15*time.Hour).UTC().Format(time.RFC3339) {
			t.Fatalf("review %+v", r)
		}
		if inv := acts["Inventory"]; len(inv.RDates) != 2 || !inv.AllDay {
			t.Fatalf("inventory %+v", inv)
		}

		// Edited here: back to its own calendar only, its property kept.
		f.api.JSON(t, "PATCH", "/api/v1/activities/"+acts["Dentist"].ID, map[string]any{"location": "Room 7"}, 200, nil)
		f.run(t, "event")
		dentist := f.objects(t, davc.Calendar, personal)[dentistHref]
		if !bytes.Contains(dentist, []byte("LOCATION:Room 7")) || !bytes.Contains(dentist, []byte("X-CLIENT:kept")) {
			t.Fatalf("the edit did not reach its calendar: %q", dentist)
		}
		if got := titles(f.cal); !slices.Equal(got, []string{"Planning"}) {
			t.Fatalf("home calendar holds %v after the edit", got)
		}

		// An extra date added here is written in the series' zone; the
		// lines that held stay as they were, the period byte for byte.
		before := f.objects(t, davc.Calendar, personal)[reviewHref]
		extra := mon.AddDate(0, 0, 5).Add(15 * time.Hour)
		f.api.JSON(t, "PATCH", "/api/v1/activities/"+acts["Review"].ID, map[string]any{"rdates": []string{
			acts["Review"].RDates[0], extra.UTC().Format(time.RFC3339)}}, 200, nil)
		f.run(t, "event")
		after := f.objects(t, davc.Calendar, personal)[reviewHref]
		for _, l := range logicalLines(before) {
			if strings.HasPrefix(l, "RDATE") && !bytes.Contains(after, []byte(l+"\r\n")) {
				t.Errorf("RDATE line %q changed: %q", l, after)
			}
		}
		if period && !bytes.Contains(after, []byte("RDATE;VALUE=PERIOD:")) {
			t.Errorf("the period went: %q", after)
		}
		if !bytes.Contains(after, []byte("RDATE;TZID=Europe/Moscow:"+icsLocal(extra)+"\r\n")) {
			t.Errorf("the new extra date is not in the series' zone: %q", after)
		}
		if r := f.activities(t)["Review"]; len(r.RDates) != 2 {
			t.Errorf("after the round trip the review has %v", r.RDates)
		}

		// Moved on the server to the home calendar: the same activity.
		if _, err := f.srv.Put(ctx, f.cal+"dentist-1.ics", davc.ICalendarType, dentist); err != nil {
			t.Fatal(err)
		}
		if err := f.srv.Delete(ctx, dentistHref); err != nil {
			t.Fatal(err)
		}
		// The preview shows one activity moving, as the run then does:
		// linked where it went, unlinked where it left, nothing else.
		var preview struct {
			Plan []struct {
				Action, Name string
				Code         string `json:"reason_code"`
			}
			Stats map[string]stats
		}
		f.api.JSON(t, "POST", "/api/v1/connections/"+f.connID+"/sync?dry_run=true", nil, http.StatusOK, &preview)
		var planned []string
		for _, e := range preview.Plan {
			planned = append(planned, e.Action+" "+e.Code+" "+e.Name)
		}
		slices.Sort(planned)
		if want := []string{"link moved_here Dentist", "unlink moved_away Dentist"}; !slices.Equal(planned, want) ||
			preview.Stats["event"].n("linked") != 1 {
			t.Fatalf("the preview of the move plans %q (stats %v), want %q", planned, preview.Stats["event"], want)
		}
		f.run(t, "event")
		acts2 := f.activities(t)
		if len(acts2) != 4 || acts2["Dentist"].ID != acts["Dentist"].ID {
			t.Fatalf("after the move: %+v", acts2)
		}
		f.api.JSON(t, "PATCH", "/api/v1/activities/"+acts["Dentist"].ID, map[string]any{"location": "Room 8"}, 200, nil)
		f.run(t, "event")
		if d := f.objects(t, davc.Calendar, f.cal)[f.cal+"dentist-1.ics"]; !bytes.Contains(d, []byte("LOCATION:Room 8")) {
			t.Fatalf("a change after the move did not reach the calendar it moved to: %q", d)
		}
		if got := titles(personal); slices.Contains(got, "Dentist") {
			t.Fatalf("the moved event is back in its old calendar: %v", got)
		}

		// Another home calendar takes new activities; the others stay.
		pick(personal, f.cal, personal)
		standup := mon.AddDate(0, 0, 2).Add(7 * time.Hour)
		f.api.JSON(t, "POST", "/api/v1/activities", map[string]any{"type": "meeting", "title": "Standup", "show_in_calendar": true,
			"start": standup.Format(time.RFC3339), "end": standup.Add(time.Hour).Format(time.RFC3339)}, 201, nil)
		f.run(t, "event")
		if got := titles(personal); !slices.Contains(got, "Standup") || slices.Contains(titles(f.cal), "Standup") {
			t.Fatalf("the new activity went to %v / %v", got, titles(f.cal))
		}
		if got := titles(f.cal); !slices.Contains(got, "Planning") || !slices.Contains(got, "Dentist") {
			t.Fatalf("the old home calendar lost %v", got)
		}

		// Left out: unsubscribed, nothing deleted anywhere.
		pick(personal, personal)
		f.run(t, "event")
		if n := len(f.activities(t)); n != 5 || len(titles(f.cal)) != 2 {
			t.Fatalf("unpicking deleted something: %d activities, calendar %v", n, titles(f.cal))
		}
	})
}

// pickCalendars picks calendars to sync, home the home one, from today.
func (f *fixture) pickCalendars(t *testing.T, home string, colls ...string) {
	t.Helper()
	f.pick(t, eventPicks, home, colls...)
}

// summaries are the titles of a calendar's events, sorted.
func (f *fixture) summaries(t *testing.T, coll string) []string {
	t.Helper()
	return f.values(t, coll, "SUMMARY")
}

// values are the values of a property in a calendar's objects, sorted.
func (f *fixture) values(t *testing.T, coll, prop string) []string {
	t.Helper()
	var out []string
	for _, d := range f.objects(t, davc.Calendar, coll) {
		for _, l := range logicalLines(d) {
			if v, ok := strings.CutPrefix(l, prop+":"); ok {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestUntickedCalendarGoesHome: the events of a calendar left out reach
// the home calendar at its next run, none of them edited; the calendar
// left out keeps its events as they were, no activity is deleted or
// doubled, and a later run sends nothing again. On both servers and
// both databases.
func TestUntickedCalendarGoesHome(t *testing.T) {
	onBothServersAndDBs(t, testUntickedCalendarGoesHome)
}

func testUntickedCalendarGoesHome(t *testing.T, f *fixture) {
	ctx := f.ctx
	personal, err := f.srv.CreateCalendar(ctx, "personal", "Personal", "VEVENT")
	if err != nil {
		t.Fatal(err)
	}
	day := weekAhead(time.UTC).AddDate(0, 0, 1)
	event := func(uid, title string, hour int) []byte {
		at := day.Add(time.Duration(hour) * time.Hour).Format("20060102T150405Z")
		end := day.Add(time.Duration(hour+1) * time.Hour).Format("20060102T150405Z")
		return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tandem tests//EN\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\n" +
			"DTSTAMP:20200101T000000Z\r\nDTSTART:" + at + "\r\nDTEND:" + end + "\r\nSUMMARY:" + title + "\r\n" +
			"X-CLIENT:kept\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	}
	for _, e := range []struct {
		uid, title string
		hour       int
	}{{"dentist-1", "Dentist", 8}, {"gym-1", "Gym", 18}} {
		if _, err := f.srv.Put(ctx, personal+e.uid+".ics", davc.ICalendarType, event(e.uid, e.title, e.hour)); err != nil {
			t.Fatal(err)
		}
	}
	f.connect(t)
	f.pickCalendars(t, f.cal, f.cal, personal)
	f.run(t, "event")
	acts := f.activities(t)
	if len(acts) != 2 || acts["Dentist"].ID == "" || acts["Gym"].ID == "" || len(f.summaries(t, f.cal)) != 0 {
		t.Fatalf("after the first run: activities %v, home calendar %v", acts, f.summaries(t, f.cal))
	}
	before := f.objects(t, davc.Calendar, personal)

	// Left out: the binding's links go at once, the activities say where
	// they go; nothing is written anywhere before the next run.
	f.pickCalendars(t, f.cal, f.cal)
	j, err := f.s.App.Store.Journal(ctx, acts["Dentist"].ID, 20)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(j, func(e store.JournalEntry) bool {
		return e.Action == "unlink" && e.Reason == reconcile.ReasonUnsubscribed+";"+reconcile.ReasonToHome
	}) {
		t.Errorf("the activity's history after leaving its calendar out: %+v", j)
	}
	if got := f.summaries(t, f.cal); len(got) != 0 {
		t.Fatalf("the home calendar was written before its run: %v", got)
	}

	// The home calendar's next run takes them, none edited.
	b := f.run(t, "event")
	if got := f.summaries(t, f.cal); !slices.Equal(got, []string{"Dentist", "Gym"}) {
		t.Fatalf("home calendar after its run: %v", got)
	}
	if n := b.LastStats.n("remote_created"); n != 2 {
		t.Errorf("the home calendar's run created %d events, want 2", n)
	}
	after := f.objects(t, davc.Calendar, personal)
	if len(after) != len(before) {
		t.Fatalf("the calendar left out holds %d events, had %d", len(after), len(before))
	}
	for href, data := range before {
		if !bytes.Equal(after[href], data) {
			t.Errorf("%s changed in the calendar left out: %q", href, after[href])
		}
	}
	if got := f.activities(t); len(got) != 2 || got["Dentist"].ID != acts["Dentist"].ID || got["Gym"].ID != acts["Gym"].ID {
		t.Fatalf("activities after the run: %v", got)
	}
	// Handed over once: the next run sends nothing.
	b = f.run(t, "event")
	if n := b.LastStats.n("remote_created") + b.LastStats.n("remote_updated") + b.LastStats.n("local_created"); n != 0 {
		t.Errorf("a later run wrote again: %v", b.LastStats)
	}
	if got := f.summaries(t, f.cal); len(got) != 2 {
		t.Errorf("home calendar after another run: %v", got)
	}
}

// TestRetickedCalendarTakesBack: a calendar left out and ticked again
// takes back the events it handed to the home calendar. The home
// calendar's copies carry the events' own UIDs; once the calendar syncs
// again they are removed from the home calendar, no activity is doubled
// or deleted, the untouched event's object stays byte for byte, an edit
// made here before the home calendar's run and one made after it both
// survive and reach the event's own calendar, the preview of that run
// plans what the run then does, and a later run writes nothing. On both
// servers and both databases.
func TestRetickedCalendarTakesBack(t *testing.T) {
	onBothServersAndDBs(t, func(t *testing.T, f *fixture) { testRetickTakesBack(t, f, eventPicks) })
}

// TestRetickedListTakesBack is the same for task lists: the tasks of a
// list left out go to the home list and come back when it is ticked again.
func TestRetickedListTakesBack(t *testing.T) {
	onBothServers(t, func(t *testing.T, f *fixture) { testRetickTakesBack(t, f, taskPicks) })
}

// picks is how a kind's binding picks several collections and what its
// objects look like.
type picks struct {
	kind   string // the binding's kind
	comp   string // the collection's component
	home   string // the setting naming the home collection
	many   string // the setting naming every collection that syncs
	object func(uid, title string, at time.Time) []byte
}

var eventPicks = picks{kind: "event", comp: "VEVENT", home: "calendar_id", many: "calendar_ids",
	object: func(uid, title string, at time.Time) []byte {
		return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tandem tests//EN\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\n" +
			"DTSTAMP:20200101T000000Z\r\nDTSTART:" + at.Format("20060102T150405Z") + "\r\nDTEND:" +
			at.Add(time.Hour).Format("20060102T150405Z") + "\r\nSUMMARY:" + title + "\r\n" +
			"X-CLIENT:kept\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	}}

var taskPicks = picks{kind: "task", comp: "VTODO", home: "list_id", many: "list_ids",
	object: func(uid, title string, at time.Time) []byte {
		return []byte(todoICS(uid, title, "DTSTART:"+at.Format("20060102T150405Z")+"\r\nDUE:"+
			at.Add(time.Hour).Format("20060102T150405Z")+"\r\nX-CLIENT:kept\r\n"))
	}}

// pick picks p's collections to sync, home the home one, from today.
func (f *fixture) pick(t *testing.T, p picks, home string, colls ...string) {
	t.Helper()
	var b struct {
		Several bool
		Picked  []struct {
			Collection string
			Home       bool
		}
	}
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/"+p.kind, map[string]any{"enabled": true,
		"settings": map[string]any{p.home: home, p.many: colls,
			"sync_from": time.Now().UTC().Format("2006-01-02")}}, http.StatusOK, &b)
	if !b.Several || len(b.Picked) != len(colls) || b.Picked[0].Collection != home || !b.Picked[0].Home {
		t.Fatalf("picked %+v, want %v with %s home", b, colls, home)
	}
}

func testRetickTakesBack(t *testing.T, f *fixture, p picks) {
	ctx := f.ctx
	personal, err := f.srv.CreateCalendar(ctx, "personal", "Personal", p.comp)
	if err != nil {
		t.Fatal(err)
	}
	day := weekAhead(time.UTC).AddDate(0, 0, 1)
	items := []struct {
		uid, title string
		hour       int
	}{{"dentist-1", "Dentist", 8}, {"groceries-1", "Groceries", 12}, {"gym-1", "Gym", 18}}
	for _, e := range items {
		at := day.Add(time.Duration(e.hour) * time.Hour)
		if _, err := f.srv.Put(ctx, personal+e.uid+".ics", davc.ICalendarType, p.object(e.uid, e.title, at)); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		t.Helper()
		var page struct{ Items []activityJSON }
		f.api.JSON(t, "GET", "/api/v1/activities?limit=100", nil, 200, &page)
		return len(page.Items)
	}
	f.connect(t)
	f.pick(t, p, f.cal, f.cal, personal)
	f.run(t, p.kind)
	acts := f.activities(t)
	if count() != 3 || len(f.summaries(t, f.cal)) != 0 {
		t.Fatalf("after the first run: activities %v, home %v", acts, f.summaries(t, f.cal))
	}
	for _, e := range items {
		if a := acts[e.title]; p.kind == "task" && a.Type != "task" {
			t.Fatalf("%s came in as %+v", e.title, a)
		}
	}

	// Left out; Dentist edited here before the home collection's run, Gym
	// after it.
	f.pick(t, p, f.cal, f.cal)
	f.api.JSON(t, "PATCH", "/api/v1/activities/"+acts["Dentist"].ID, map[string]any{"description": "Room 7"}, 200, nil)
	f.run(t, p.kind)
	if got, want := f.values(t, f.cal, "UID"), []string{"dentist-1", "groceries-1", "gym-1"}; !slices.Equal(got, want) {
		t.Fatalf("the home copies have UIDs %v, want the items' own %v", got, want)
	}
	if _, d := f.find(t, davc.Calendar, f.cal, "SUMMARY:Dentist"); !bytes.Contains(d, []byte("DESCRIPTION:Room 7")) {
		t.Fatalf("the home copy lacks the edit made before it: %q", d)
	}
	f.api.JSON(t, "PATCH", "/api/v1/activities/"+acts["Gym"].ID, map[string]any{"description": "Hall B"}, 200, nil)
	f.run(t, p.kind)
	before := f.objects(t, davc.Calendar, personal)
	copies := f.objects(t, davc.Calendar, f.cal)

	// Ticked again. The preview plans what the run will do and changes
	// nothing: the home collection keeps its copies, the journal does not
	// grow.
	f.pick(t, p, f.cal, f.cal, personal)
	byID := map[string]string{}
	seen := map[string]int{}
	for _, e := range items {
		id := acts[e.title].ID
		byID[id] = e.title
		j, err := f.s.App.Store.Journal(ctx, id, 50)
		if err != nil {
			t.Fatal(err)
		}
		seen[id] = len(j)
	}
	var preview struct {
		Plan []struct {
			BindingID string `json:"binding_id"`
			Side      string
			Action    string
			Fields    []string
			Code      string `json:"reason_code"`
			Name      string
		}
	}
	f.api.JSON(t, "POST", "/api/v1/connections/"+f.connID+"/sync?dry_run=true", nil, http.StatusOK, &preview)
	var planned []string
	for _, e := range preview.Plan {
		planned = append(planned, strings.Join([]string{e.Name, e.BindingID, e.Side, e.Action, strings.Join(e.Fields, ","), e.Code}, " "))
	}
	slices.Sort(planned)
	if !maps.EqualFunc(f.objects(t, davc.Calendar, f.cal), copies, bytes.Equal) ||
		!maps.EqualFunc(f.objects(t, davc.Calendar, personal), before, bytes.Equal) {
		t.Fatal("the preview wrote to the server")
	}
	for id, n := range seen {
		if j, err := f.s.App.Store.Journal(ctx, id, 50); err != nil || len(j) != n {
			t.Fatalf("the preview wrote %s's history: %d entries, had %d (%v)", byID[id], len(j), n, err)
		}
	}

	// The run does what was planned: the copies go, the items are their
	// own collection's again.
	f.run(t, p.kind)
	var done []string
	removed := 0
	for id, n := range seen {
		j, err := f.s.App.Store.Journal(ctx, id, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range j[:len(j)-n] {
			if e.Action == "remove" && e.Reason == reconcile.ReasonCopyRemoved {
				removed++
			}
			done = append(done, strings.Join([]string{byID[id], e.BindingID, e.Side, e.Action, strings.Join(e.Fields, ","), e.Reason}, " "))
		}
	}
	slices.Sort(done)
	if !slices.Equal(planned, done) {
		t.Errorf("the preview planned\n%s\nthe run did\n%s", strings.Join(planned, "\n"), strings.Join(done, "\n"))
	}
	if removed != 3 {
		t.Errorf("the run removed %d copies, want 3: %q", removed, done)
	}
	if n := count(); n != 3 {
		t.Fatalf("%d activities after ticking again, want 3: %v", n, f.activities(t))
	}
	got := f.activities(t)
	for _, e := range items {
		if got[e.title].ID != acts[e.title].ID {
			t.Errorf("%s is another activity now: %+v", e.title, got[e.title])
		}
	}
	if got["Dentist"].Description != "Room 7" || got["Gym"].Description != "Hall B" {
		t.Errorf("the edits did not survive: Dentist %q, Gym %q", got["Dentist"].Description, got["Gym"].Description)
	}
	if h := f.objects(t, davc.Calendar, f.cal); len(h) != 0 {
		t.Errorf("the home collection still holds copies: %v", f.summaries(t, f.cal))
	}
	after := f.objects(t, davc.Calendar, personal)
	if len(after) != 3 {
		t.Fatalf("the collection holds %v", f.summaries(t, personal))
	}
	if href := personal + "groceries-1.ics"; !bytes.Equal(after[href], before[href]) {
		t.Errorf("the untouched item changed: %q, was %q", after[href], before[href])
	}
	for uid, desc := range map[string]string{"dentist-1": "DESCRIPTION:Room 7", "gym-1": "DESCRIPTION:Hall B"} {
		d := after[personal+uid+".ics"]
		if !bytes.Contains(d, []byte(desc)) || !bytes.Contains(d, []byte("X-CLIENT:kept")) || !bytes.Contains(d, []byte("UID:"+uid)) {
			t.Errorf("%s in its own collection: %q, want %s and its own properties", uid, d, desc)
		}
	}
	j, err := f.s.App.Store.Journal(ctx, acts["Groceries"].ID, 30)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(j, func(e store.JournalEntry) bool { return e.Action == "link" && e.Reason == reconcile.ReasonResubscribed }) {
		t.Errorf("Groceries' history: %+v", j)
	}

	// Settled: a further run writes nothing.
	b := f.run(t, p.kind)
	for _, k := range []string{"remote_created", "remote_updated", "remote_removed", "local_created", "local_updated", "local_removed"} {
		if n := b.LastStats.n(k); n != 0 {
			t.Errorf("a later run: %s %d (%v)", k, n, b.LastStats)
		}
	}
	if !maps.EqualFunc(f.objects(t, davc.Calendar, personal), after, bytes.Equal) || count() != 3 {
		t.Errorf("a later run changed the collection or the activities")
	}
}
