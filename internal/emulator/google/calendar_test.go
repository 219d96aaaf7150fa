package google

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	gcal "google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // a Monday

func mkEvent(summary string, start time.Time, d time.Duration) *gcal.Event {
	s, e := timed(start, d, "Europe/Berlin")
	return &gcal.Event{Summary: summary, Start: s, End: e}
}

// listEvents runs one listing to its end; it returns the items, the number
// of pages, how many were empty, and the final sync token.
func listEvents(t *testing.T, call func(pageToken string) (*gcal.Events, error)) (items []*gcal.Event, pages, empty int, syncToken string) {
	t.Helper()
	tok := ""
	for {
		resp, err := call(tok)
		if err != nil {
			t.Fatalf("events.list: %v", err)
		}
		pages++
		if len(resp.Items) == 0 && resp.NextPageToken != "" {
			empty++
		}
		items = append(items, resp.Items...)
		if resp.NextPageToken == "" {
			if resp.NextSyncToken == "" {
				t.Fatal("last page without nextSyncToken")
			}
			return items, pages, empty, resp.NextSyncToken
		}
		if resp.NextSyncToken != "" {
			t.Fatal("nextSyncToken before the last page")
		}
		tok = resp.NextPageToken
	}
}

func TestCalendarListAndCalendars(t *testing.T) {
	e := newEnv(t)
	svc := e.calendar(alice)
	cl, err := svc.CalendarList.List().Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(cl.Items) != 1 || cl.Items[0].Id != alice || !cl.Items[0].Primary || cl.Items[0].AccessRole != "owner" || cl.NextSyncToken == "" {
		t.Fatalf("calendarList %+v", cl.Items)
	}
	c, err := svc.Calendars.Insert(&gcal.Calendar{Summary: "Work", TimeZone: "Europe/Berlin"}).Do()
	if err != nil || !strings.HasSuffix(c.Id, "@group.calendar.google.com") {
		t.Fatal(err, c)
	}
	cl2, err := svc.CalendarList.List().SyncToken(cl.NextSyncToken).Do()
	if err != nil || len(cl2.Items) != 1 || cl2.Items[0].Id != c.Id || cl2.Items[0].Primary {
		t.Fatalf("calendarList sync %v %+v", err, cl2)
	}
	if _, err := svc.Events.Insert(c.Id, mkEvent("in work", t0, time.Hour)).Do(); err != nil {
		t.Fatal(err)
	}
	ev, _ := svc.Events.List(c.Id).Do()
	if len(ev.Items) != 1 || ev.Items[0].Organizer.Email != c.Id || !ev.Items[0].Organizer.Self || ev.TimeZone != "Europe/Berlin" {
		t.Fatalf("secondary calendar events %+v", ev.Items)
	}
	prim, _ := svc.Events.List("primary").Do()
	if len(prim.Items) != 0 {
		t.Fatal("primary sees the secondary's event")
	}
	_, err = svc.Events.List("nope@example.com").Do()
	apiErr(t, err, 404)
	if err := svc.Calendars.Delete("primary").Do(); err == nil {
		t.Fatal("primary deleted")
	}
	// calendarList needs a calendar(list) scope, not calendar.events
	_, err = e.calendar(alice, ScopeCalendarEvents).CalendarList.List().Do()
	if ge := apiErr(t, err, 403); reason(ge) != "insufficientPermissions" {
		t.Fatal(ge.Body)
	}
	if _, err := e.calendar(alice, ScopeCalendarEvents).Events.List("primary").Do(); err != nil {
		t.Fatal(err)
	}
}

func TestEventsPagingEmptyPagesAndSync(t *testing.T) {
	e := newEnv(t)
	svc := e.calendar(alice)
	var ids []string
	for i := 0; i < 5; i++ {
		ev, err := svc.Events.Insert("primary", mkEvent(fmt.Sprint("E", i), t0.Add(time.Duration(i)*24*time.Hour), time.Hour)).Do()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.Id)
	}
	full := func(max int64) func(string) (*gcal.Events, error) {
		return func(tok string) (*gcal.Events, error) {
			return svc.Events.List("primary").MaxResults(max).PageToken(tok).Do()
		}
	}
	items, pages, empty, _ := listEvents(t, full(2))
	if len(items) != 5 || pages != 3 || empty != 0 {
		t.Fatalf("plain paging: %d items, %d pages, %d empty", len(items), pages, empty)
	}

	e.srv.SetEmptyPages(true)
	items, pages, empty, tok := listEvents(t, full(2))
	if len(items) != 5 || empty != 3 || pages != 6 {
		t.Fatalf("empty pages: %d items, %d pages, %d empty", len(items), pages, empty)
	}
	// The library's Pages helper copes too.
	n := 0
	if err := svc.Events.List("primary").MaxResults(2).Pages(e.ctx, func(p *gcal.Events) error { n += len(p.Items); return nil }); err != nil || n != 5 {
		t.Fatal(err, n)
	}
	e.srv.SetEmptyPages(false)

	// incremental: a patch, a delete, a user insert
	if _, err := svc.Events.Patch("primary", ids[1], &gcal.Event{Summary: "E1 moved"}).Do(); err != nil {
		t.Fatal(err)
	}
	if err := svc.Events.Delete("primary", ids[2]).Do(); err != nil {
		t.Fatal(err)
	}
	uid, err := e.srv.InsertEvent(alice, "primary", mkEvent("from google", t0, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	inc, _, _, tok2 := listEvents(t, func(pt string) (*gcal.Events, error) {
		return svc.Events.List("primary").SyncToken(tok).MaxResults(1).PageToken(pt).Do()
	})
	if len(inc) != 3 || inc[0].Id != ids[1] || inc[0].Summary != "E1 moved" || inc[1].Id != ids[2] ||
		inc[1].Status != "cancelled" || inc[1].Summary != "" || inc[2].Id != uid {
		t.Fatalf("incremental %v", summaries(inc))
	}
	// a full listing hides the cancelled event; showDeleted shows it
	items, _, _, _ = listEvents(t, full(100))
	if len(items) != 5 {
		t.Fatalf("after delete %d", len(items))
	}
	items, _, _, _ = listEvents(t, func(pt string) (*gcal.Events, error) {
		return svc.Events.List("primary").ShowDeleted(true).PageToken(pt).Do()
	})
	if len(items) != 6 {
		t.Fatalf("showDeleted %d", len(items))
	}
	inc, _, _, _ = listEvents(t, func(pt string) (*gcal.Events, error) {
		return svc.Events.List("primary").SyncToken(tok2).PageToken(pt).Do()
	})
	if len(inc) != 0 {
		t.Fatalf("nothing changed, got %d", len(inc))
	}
	// maxResults is capped at 2500
	if _, err := svc.Events.List("primary").MaxResults(5000).Do(); err != nil {
		t.Fatal(err)
	}
	// a page token with other parameters is refused
	first, _ := svc.Events.List("primary").MaxResults(2).Do()
	_, err = svc.Events.List("primary").MaxResults(3).PageToken(first.NextPageToken).Do()
	apiErr(t, err, 400)
}

func summaries(es []*gcal.Event) []string {
	var s []string
	for _, e := range es {
		s = append(s, e.Id+":"+e.Status+":"+e.Summary)
	}
	return s
}

func TestEventsSyncTokenRules(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.CalendarSyncTokenLifetime = 24 * time.Hour
		o.AccessTokenLifetime = 100 * time.Hour
	})
	svc := e.calendar(alice)
	if _, err := svc.Events.Insert("primary", mkEvent("x", t0, time.Hour)).Do(); err != nil {
		t.Fatal(err)
	}
	_, _, _, tok := listEvents(t, func(pt string) (*gcal.Events, error) { return svc.Events.List("primary").PageToken(pt).Do() })

	for name, call := range map[string]*gcal.EventsListCall{
		"timeMin":                 svc.Events.List("primary").TimeMin(t0.Format(time.RFC3339)),
		"timeMax":                 svc.Events.List("primary").TimeMax(t0.Format(time.RFC3339)),
		"orderBy":                 svc.Events.List("primary").OrderBy("updated"),
		"q":                       svc.Events.List("primary").Q("x"),
		"iCalUID":                 svc.Events.List("primary").ICalUID("x"),
		"privateExtendedProperty": svc.Events.List("primary").PrivateExtendedProperty("a=b"),
		"sharedExtendedProperty":  svc.Events.List("primary").SharedExtendedProperty("a=b"),
		"updatedMin":              svc.Events.List("primary").UpdatedMin(t0.Format(time.RFC3339)),
		"showDeleted=false":       svc.Events.List("primary").ShowDeleted(false),
	} {
		_, err := call.SyncToken(tok).Do()
		if ge := apiErr(t, err, 400); reason(ge) != "invalid" {
			t.Fatalf("%s: %s", name, ge.Body)
		}
	}
	// allowed companions
	if _, err := svc.Events.List("primary").SyncToken(tok).ShowDeleted(true).SingleEvents(true).MaxResults(10).Do(); err != nil {
		t.Fatal(err)
	}
	_, err := svc.Events.List("primary").OrderBy("startTime").Do()
	apiErr(t, err, 400)
	_, err = svc.Events.List("primary").TimeMin(t0.Format(time.RFC3339)).TimeMax(t0.Format(time.RFC3339)).Do()
	if ge := apiErr(t, err, 400); reason(ge) != "timeRangeEmpty" {
		t.Fatal(ge.Body)
	}

	check := func(name string, err error) {
		t.Helper()
		ge := apiErr(t, err, 410)
		if reason(ge) != "fullSyncRequired" || ge.Message != "Sync token is no longer valid, a full sync is required." ||
			!strings.Contains(ge.Body, `"domain":"calendar"`) {
			t.Fatalf("%s: %s", name, ge.Body)
		}
	}
	_, err = svc.Events.List("primary").SyncToken("garbage").Do()
	check("garbled", err)
	e.srv.ExpireSyncTokens(alice)
	_, err = svc.Events.List("primary").SyncToken(tok).Do()
	check("expired", err)
	_, _, _, tok = listEvents(t, func(pt string) (*gcal.Events, error) { return svc.Events.List("primary").PageToken(pt).Do() })
	e.srv.Faults().FailNext(1, FaultExpireSyncToken)
	_, err = svc.Events.List("primary").SyncToken(tok).Do()
	check("fault", err)
	_, _, _, tok = listEvents(t, func(pt string) (*gcal.Events, error) { return svc.Events.List("primary").PageToken(pt).Do() })
	e.clock.Advance(25 * time.Hour)
	_, err = svc.Events.List("primary").SyncToken(tok).Do()
	check("lifetime", err)
	// a token of another calendar
	c2, _ := svc.Calendars.Insert(&gcal.Calendar{Summary: "Other"}).Do()
	_, _, _, tok = listEvents(t, func(pt string) (*gcal.Events, error) { return svc.Events.List(c2.Id).PageToken(pt).Do() })
	_, err = svc.Events.List("primary").SyncToken(tok).Do()
	check("other calendar", err)
}

func TestEventsWindowCarriedIntoSync(t *testing.T) {
	e := newEnv(t)
	svc := e.calendar(alice)
	in, _ := svc.Events.Insert("primary", mkEvent("in", t0.Add(2*time.Hour), time.Hour)).Do()
	if _, err := svc.Events.Insert("primary", mkEvent("before", t0.Add(-48*time.Hour), time.Hour)).Do(); err != nil {
		t.Fatal(err)
	}
	// timeMin is exclusive on the end: an event ending exactly at timeMin is out
	if _, err := svc.Events.Insert("primary", mkEvent("ends at min", t0.Add(-time.Hour), time.Hour)).Do(); err != nil {
		t.Fatal(err)
	}
	win := func(pt string) (*gcal.Events, error) {
		return svc.Events.List("primary").TimeMin(t0.Format(time.RFC3339)).TimeMax(t0.Add(7 * 24 * time.Hour).Format(time.RFC3339)).PageToken(pt).Do()
	}
	items, _, _, tok := listEvents(t, win)
	if len(items) != 1 || items[0].Id != in.Id {
		t.Fatalf("window: %v", summaries(items))
	}
	if _, err := svc.Events.Insert("primary", mkEvent("later, out", t0.Add(30*24*time.Hour), time.Hour)).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Events.Insert("primary", mkEvent("new, in", t0.Add(3*24*time.Hour), time.Hour)).Do(); err != nil {
		t.Fatal(err)
	}
	inc, _, _, _ := listEvents(t, func(pt string) (*gcal.Events, error) {
		return svc.Events.List("primary").SyncToken(tok).PageToken(pt).Do()
	})
	if len(inc) != 1 || inc[0].Summary != "new, in" {
		t.Fatalf("window kept in the token: %v", summaries(inc))
	}
}

func TestEventsWritesAndETags(t *testing.T) {
	e := newEnv(t)
	svc := e.calendar(alice)
	ev := mkEvent("Meeting", t0, time.Hour)
	ev.Id = "tandem00001"
	ev.Description = "agenda"
	ev.Attendees = []*gcal.EventAttendee{{Email: alice}, {Email: "carol@example.net", DisplayName: "Carol"}}
	ev.ExtendedProperties = &gcal.EventExtendedProperties{Private: map[string]string{"tandemId": "act-1", "v": "1"}}
	got, err := svc.Events.Insert("primary", ev).SendUpdates("none").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.Id != "tandem00001" || got.ICalUID != "tandem00001@google.com" || got.Organizer.Email != alice || !got.Organizer.Self ||
		got.Creator.Email != alice || got.Status != "confirmed" || got.Kind != "calendar#event" ||
		got.ExtendedProperties.Private["tandemId"] != "act-1" || len(got.Attendees) != 2 || !got.Attendees[0].Self ||
		!got.Attendees[0].Organizer || got.Attendees[1].ResponseStatus != "needsAction" || got.Created == "" || got.Updated == "" {
		t.Fatalf("insert %+v", got)
	}
	if !strings.HasPrefix(got.Etag, `"`) || !strings.HasSuffix(got.Etag, `"`) {
		t.Fatalf("etag %q", got.Etag)
	}
	_, err = svc.Events.Insert("primary", ev).Do()
	if ge := apiErr(t, err, 409); reason(ge) != "duplicate" {
		t.Fatal(ge.Body)
	}
	bad := mkEvent("bad", t0, time.Hour)
	bad.Id = "UPPER_case"
	_, err = svc.Events.Insert("primary", bad).Do()
	apiErr(t, err, 400)
	_, err = svc.Events.Insert("primary", &gcal.Event{Summary: "no times"}).Do()
	apiErr(t, err, 400)
	backwards := mkEvent("backwards", t0, -time.Hour)
	_, err = svc.Events.Insert("primary", backwards).Do()
	apiErr(t, err, 400)

	// privateExtendedProperty filter
	fl, err := svc.Events.List("primary").PrivateExtendedProperty("tandemId=act-1").Do()
	if err != nil || len(fl.Items) != 1 {
		t.Fatal(err, fl)
	}
	if fl, _ := svc.Events.List("primary").PrivateExtendedProperty("tandemId=act-2").Do(); len(fl.Items) != 0 {
		t.Fatal("filter matched")
	}

	// If-None-Match → 304
	_, err = svc.Events.Get("primary", got.Id).IfNoneMatch(got.Etag).Do()
	if !googleapi.IsNotModified(err) {
		t.Fatalf("If-None-Match: %v", err)
	}

	// patch: arrays replaced whole, objects merged, If-Match honoured
	call := svc.Events.Patch("primary", got.Id, &gcal.Event{
		Attendees:          []*gcal.EventAttendee{{Email: "dave@example.org"}},
		ExtendedProperties: &gcal.EventExtendedProperties{Private: map[string]string{"v": "2"}},
	})
	call.Header().Set("If-Match", got.Etag)
	p1, err := call.Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Attendees) != 1 || p1.Attendees[0].Email != "dave@example.org" || p1.Description != "agenda" ||
		p1.ExtendedProperties.Private["tandemId"] != "act-1" || p1.ExtendedProperties.Private["v"] != "2" || p1.Etag == got.Etag {
		t.Fatalf("patch %+v", p1)
	}
	// stale If-Match → 412 with the documented body
	for name, do := range map[string]func() error{
		"patch": func() error {
			c := svc.Events.Patch("primary", got.Id, &gcal.Event{Summary: "x"})
			c.Header().Set("If-Match", got.Etag)
			_, err := c.Do()
			return err
		},
		"update": func() error {
			c := svc.Events.Update("primary", got.Id, mkEvent("x", t0, time.Hour))
			c.Header().Set("If-Match", got.Etag)
			_, err := c.Do()
			return err
		},
		"delete": func() error {
			c := svc.Events.Delete("primary", got.Id)
			c.Header().Set("If-Match", got.Etag)
			return c.Do()
		},
	} {
		ge := apiErr(t, do(), 412)
		want := `{"error":{"errors":[{"domain":"global","reason":"conditionNotMet","message":"Precondition Failed","locationType":"header","location":"If-Match"}],"code":412,"message":"Precondition Failed"}}`
		if strings.TrimSpace(ge.Body) != want {
			t.Fatalf("%s 412 body:\n%s", name, ge.Body)
		}
	}
	// update (PUT): omitted fields are cleared
	full := mkEvent("Renamed", t0.Add(time.Hour), time.Hour)
	c := svc.Events.Update("primary", got.Id, full)
	c.Header().Set("If-Match", p1.Etag)
	u1, err := c.Do()
	if err != nil {
		t.Fatal(err)
	}
	if u1.Description != "" || len(u1.Attendees) != 0 || u1.ExtendedProperties != nil || u1.Summary != "Renamed" || u1.Sequence != p1.Sequence+1 {
		t.Fatalf("update %+v", u1)
	}
	// delete → 204; again → 410 deleted
	d := svc.Events.Delete("primary", got.Id)
	d.Header().Set("If-Match", u1.Etag)
	if err := d.Do(); err != nil {
		t.Fatal(err)
	}
	err = svc.Events.Delete("primary", got.Id).Do()
	if ge := apiErr(t, err, 410); reason(ge) != "deleted" {
		t.Fatal(ge.Body)
	}
	// a deleted event still answers get, cancelled
	g, err := svc.Events.Get("primary", got.Id).Do()
	if err != nil || g.Status != "cancelled" {
		t.Fatal(err, g)
	}
	_, err = svc.Events.Get("primary", "nosuchevent").Do()
	apiErr(t, err, 404)
	// the id stays taken
	_, err = svc.Events.Insert("primary", ev).Do()
	apiErr(t, err, 409)
	// raw: status 204 with an empty body
	id2, _ := e.srv.InsertEvent(alice, "primary", mkEvent("raw", t0, time.Hour))
	st, _, body := e.rawDo("DELETE", "/calendar/v3/calendars/primary/events/"+id2, e.srv.MintAccessToken(alice), "")
	if st != http.StatusNoContent || body != "" {
		t.Fatalf("delete: %d %q", st, body)
	}
}

func TestEventsRecurringAndExceptions(t *testing.T) {
	e := newEnv(t)
	svc := e.calendar(alice)
	series := mkEvent("Weekly", time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC), time.Hour) // Tue 10:00 Berlin
	series.Recurrence = []string{"RRULE:FREQ=WEEKLY;COUNT=5"}
	m, err := svc.Events.Insert("primary", series).Do()
	if err != nil {
		t.Fatal(err)
	}
	noTZ := &gcal.Event{Summary: "no tz", Recurrence: []string{"RRULE:FREQ=DAILY"},
		Start: &gcal.EventDateTime{DateTime: "2026-03-03T10:00:00+01:00"}, End: &gcal.EventDateTime{DateTime: "2026-03-03T11:00:00+01:00"}}
	_, err = svc.Events.Insert("primary", noTZ).Do()
	apiErr(t, err, 400)
	dt := mkEvent("dtstart", t0, time.Hour)
	dt.Recurrence = []string{"DTSTART:20260303T100000Z", "RRULE:FREQ=DAILY"}
	_, err = svc.Events.Insert("primary", dt).Do()
	apiErr(t, err, 400)

	single := func(showDeleted bool) []*gcal.Event {
		items, _, _, _ := listEvents(t, func(pt string) (*gcal.Events, error) {
			return svc.Events.List("primary").SingleEvents(true).OrderBy("startTime").ShowDeleted(showDeleted).PageToken(pt).Do()
		})
		return items
	}
	inst := single(false)
	if len(inst) != 5 {
		t.Fatalf("instances %v", summaries(inst))
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for i, x := range inst {
		want := m.Id + "_" + time.Date(2026, 3, 3+7*i, 10, 0, 0, 0, berlin).UTC().Format("20060102T150405Z")
		if x.Id != want || x.RecurringEventId != m.Id || x.OriginalStartTime == nil || x.OriginalStartTime.DateTime != x.Start.DateTime ||
			len(x.Recurrence) != 0 || x.ICalUID != m.ICalUID || x.Start.TimeZone != "Europe/Berlin" {
			t.Fatalf("instance %d: %+v", i, x)
		}
	}
	// DST: 10:00 Berlin stays 10:00 local after the switch on 29 March
	if inst[4].Start.DateTime != "2026-03-31T10:00:00+02:00" {
		t.Fatalf("DST: %s", inst[4].Start.DateTime)
	}
	_, _, _, tok := listEvents(t, func(pt string) (*gcal.Events, error) { return svc.Events.List("primary").PageToken(pt).Do() })

	// modify the 2nd instance, cancel the 3rd
	mod, err := svc.Events.Patch("primary", inst[1].Id, &gcal.Event{Summary: "Weekly (moved)"}).Do()
	if err != nil {
		t.Fatal(err)
	}
	if mod.RecurringEventId != m.Id || mod.OriginalStartTime.DateTime != inst[1].Start.DateTime || mod.Id != inst[1].Id {
		t.Fatalf("exception %+v", mod)
	}
	if err := svc.Events.Delete("primary", inst[2].Id).Do(); err != nil {
		t.Fatal(err)
	}
	err = svc.Events.Delete("primary", inst[2].Id).Do()
	apiErr(t, err, 410)
	_, err = svc.Events.Patch("primary", m.Id+"_20260304T090000Z", &gcal.Event{Summary: "not an instance"}).Do()
	apiErr(t, err, 404)

	inst = single(false)
	if len(inst) != 4 || inst[1].Summary != "Weekly (moved)" || inst[2].Id != m.Id+"_20260324T090000Z" {
		t.Fatalf("after exceptions %v", summaries(inst))
	}
	inst = single(true)
	if len(inst) != 5 || inst[2].Status != "cancelled" || inst[2].RecurringEventId != m.Id || inst[2].OriginalStartTime == nil {
		t.Fatalf("showDeleted %v", summaries(inst))
	}
	// without singleEvents: the master and the (visible) exceptions
	all, _ := svc.Events.List("primary").Do()
	if len(all.Items) != 2 || all.Items[0].Id != m.Id || len(all.Items[0].Recurrence) != 1 || all.Items[1].Id != mod.Id {
		t.Fatalf("masters %v", summaries(all.Items))
	}
	all, _ = svc.Events.List("primary").ShowDeleted(true).Do()
	if len(all.Items) != 3 {
		t.Fatalf("masters+deleted %v", summaries(all.Items))
	}
	// the incremental sync reports both exceptions
	inc, _, _, tok2 := listEvents(t, func(pt string) (*gcal.Events, error) {
		return svc.Events.List("primary").SyncToken(tok).PageToken(pt).Do()
	})
	if len(inc) != 2 || inc[0].Id != mod.Id || inc[1].Status != "cancelled" || inc[1].RecurringEventId != m.Id {
		t.Fatalf("incremental %v", summaries(inc))
	}
	// instances endpoint and a window
	is, err := svc.Events.Instances("primary", m.Id).Do()
	if err != nil || len(is.Items) != 4 {
		t.Fatal(err, is)
	}
	win, _ := svc.Events.List("primary").SingleEvents(true).TimeMin("2026-03-10T00:00:00Z").TimeMax("2026-03-24T00:00:00Z").Do()
	if len(win.Items) != 1 || win.Items[0].Id != mod.Id {
		t.Fatalf("window %v", summaries(win.Items))
	}
	// deleting the series cancels everything
	if err := svc.Events.Delete("primary", m.Id).Do(); err != nil {
		t.Fatal(err)
	}
	inc, _, _, _ = listEvents(t, func(pt string) (*gcal.Events, error) {
		return svc.Events.List("primary").SyncToken(tok2).PageToken(pt).Do()
	})
	ids := map[string]string{}
	for _, x := range inc {
		ids[x.Id] = x.Status
	}
	if ids[m.Id] != "cancelled" || ids[mod.Id] != "cancelled" || len(inc) != 3 {
		t.Fatalf("series delete %v", summaries(inc))
	}
	if left := single(false); len(left) != 0 {
		t.Fatalf("left %v", summaries(left))
	}
}

func TestEventsAllDayRecurringAndSingleEventsSync(t *testing.T) {
	e := newEnv(t)
	svc := e.calendar(alice)
	ad := &gcal.Event{Summary: "Holiday", Start: &gcal.EventDateTime{Date: "2026-03-05"}, End: &gcal.EventDateTime{Date: "2026-03-06"},
		Recurrence: []string{"RRULE:FREQ=DAILY;COUNT=4", "EXDATE;VALUE=DATE:20260306"}}
	m, err := svc.Events.Insert("primary", ad).Do()
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, tok := listEvents(t, func(pt string) (*gcal.Events, error) {
		return svc.Events.List("primary").SingleEvents(true).PageToken(pt).Do()
	})
	ls, _ := svc.Events.List("primary").SingleEvents(true).OrderBy("startTime").Do()
	var ids []string
	for _, x := range ls.Items {
		ids = append(ids, strings.TrimPrefix(x.Id, m.Id+"_")+"/"+x.Start.Date+"/"+x.End.Date)
	}
	if strings.Join(ids, ",") != "20260305/2026-03-05/2026-03-06,20260307/2026-03-07/2026-03-08,20260308/2026-03-08/2026-03-09" {
		t.Fatalf("all-day instances %v", ids)
	}
	// a change to the series shows its instances in a singleEvents sync
	if _, err := svc.Events.Patch("primary", m.Id, &gcal.Event{Summary: "Holidays"}).Do(); err != nil {
		t.Fatal(err)
	}
	inc, _, _, _ := listEvents(t, func(pt string) (*gcal.Events, error) {
		return svc.Events.List("primary").SyncToken(tok).SingleEvents(true).PageToken(pt).Do()
	})
	if len(inc) != 3 || inc[0].Summary != "Holidays" || inc[0].RecurringEventId != m.Id {
		t.Fatalf("singleEvents sync %v", summaries(inc))
	}
	// orderBy startTime across events
	if _, err := svc.Events.Insert("primary", mkEvent("early", time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC), time.Hour)).Do(); err != nil {
		t.Fatal(err)
	}
	ls, _ = svc.Events.List("primary").SingleEvents(true).OrderBy("startTime").Do()
	if ls.Items[0].Summary != "early" {
		t.Fatalf("order %v", summaries(ls.Items))
	}
	var starts []string
	for _, x := range ls.Items {
		starts = append(starts, x.Start.Date+x.Start.DateTime)
	}
	if !sort.StringsAreSorted(starts) {
		t.Fatalf("not sorted %v", starts)
	}
}
