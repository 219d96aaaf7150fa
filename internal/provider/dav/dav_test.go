package dav_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	davc "github.com/tandem-crm/tandem/internal/connector/dav"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/davserver"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is a Tandem user with an account on a real DAV server, driven
// through the public API.
type fixture struct {
	ctx    context.Context
	s      *tandemtest.Server
	srv    *davserver.Server
	api    *tandemtest.Client
	dc     *davc.Client // reads the server as another client would
	connID string
	tagID  string
	book   string // address book URL
	cal    string // calendar URL (events and tasks)
}

func onBothServers(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, kind := range []davserver.Kind{davserver.Radicale, davserver.Xandikos} {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			test(t, newFixture(t, kind))
		})
	}
}

// onBothServersAndDBs runs test on each server with Tandem on SQLite and
// on PostgreSQL.
func onBothServersAndDBs(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, kind := range []davserver.Kind{davserver.Radicale, davserver.Xandikos} {
		for _, pg := range []bool{false, true} {
			name := string(kind) + "/sqlite"
			if pg {
				name = string(kind) + "/postgres"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				test(t, newFixtureOn(t, kind, tandemtest.Options{Postgres: pg}))
			})
		}
	}
}

func newFixture(t *testing.T, kind davserver.Kind) *fixture {
	t.Helper()
	return newFixtureOn(t, kind, tandemtest.Options{})
}

// newFixtureOn is newFixture with Tandem started with o (PostgreSQL …).
func newFixtureOn(t *testing.T, kind davserver.Kind, o tandemtest.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	srv := davserver.Start(t, kind)
	book, err := srv.CreateAddressBook(ctx, "contacts", "Contacts")
	if err != nil {
		t.Fatal(err)
	}
	cal, err := srv.CreateCalendar(ctx, "work", "Work", "VEVENT", "VTODO")
	if err != nil {
		t.Fatal(err)
	}
	dc, err := davc.New(davc.Config{URL: srv.URL(), Username: srv.User(), Password: srv.Password()})
	if err != nil {
		t.Fatal(err)
	}
	s := tandemtest.Start(t, o)
	f := &fixture{ctx: ctx, s: s, srv: srv, api: s.NewUser(t, "ann@example.com"), dc: dc, book: book, cal: cal}
	var tag struct{ ID string }
	f.api.JSON(t, "POST", "/api/v1/tags", map[string]any{"name": "Address book"}, 201, &tag)
	f.tagID = tag.ID
	return f
}

type problem struct {
	Code   string
	Errors []struct{ Field, Code string }
}

func (f *fixture) connect(t *testing.T) {
	t.Helper()
	var c struct{ ID, Provider, Status string }
	f.api.JSON(t, "POST", "/api/v1/connections", map[string]any{"provider": "dav", "url": f.srv.URL(),
		"username": f.srv.User(), "password": f.srv.Password()}, http.StatusCreated, &c)
	if c.Provider != "dav" || c.Status != "active" {
		t.Fatalf("connection %+v", c)
	}
	f.connID = c.ID
}

// run runs sync now and waits for the job to end; it returns the kind's
// binding as the API shows it after the run.
func (f *fixture) run(t *testing.T, kind string) binding {
	t.Helper()
	var q struct {
		JobID int64 `json:"job_id"`
	}
	f.api.JSON(t, "POST", "/api/v1/connections/"+f.connID+"/sync", nil, http.StatusAccepted, &q)
	f.s.WaitJob(t, q.JobID, tandemtest.JobEnded...)
	var b binding
	f.api.JSON(t, "GET", "/api/v1/connections/"+f.connID+"/sync/"+kind, nil, 200, &b)
	if b.LastError != "" {
		t.Fatalf("%s run failed: %s", kind, b.LastError)
	}
	return b
}

type binding struct {
	Enabled    bool   `json:"enabled"`
	Collection string `json:"collection"`
	LastError  string `json:"last_error"`
	LastStats  stats  `json:"last_stats"`
}

type stats map[string]any

// n is a count of the run's stats.
func (s stats) n(name string) int {
	v, _ := s[name].(float64)
	return int(v)
}

// objects reads a collection as another client would: href → data.
func (f *fixture) objects(t *testing.T, kind davc.Kind, coll string) map[string][]byte {
	t.Helper()
	res, err := f.dc.SyncAll(f.ctx, coll, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var hrefs []string
	for _, it := range res.Changed {
		hrefs = append(hrefs, it.Href)
	}
	objs, _, err := f.dc.MultiGet(f.ctx, kind, coll, hrefs)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, o := range objs {
		out[o.Href] = o.Data
	}
	return out
}

func (f *fixture) find(t *testing.T, kind davc.Kind, coll, needle string) (string, []byte) {
	t.Helper()
	for h, d := range f.objects(t, kind, coll) {
		if bytes.Contains(d, []byte(needle)) {
			return h, d
		}
	}
	return "", nil
}

type contactJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	JobTitle string `json:"job_title"`
	Tags     []struct {
		ID string `json:"id"`
	} `json:"tags"`
	Phones []struct {
		Number string `json:"number"`
	} `json:"phones"`
	Company   string  `json:"company"`
	AccountID *string `json:"account_id"`
	Birthday  *string `json:"birthday"`
	Addresses []struct {
		Kind, Street, City, Region, Country string
		PostalCode                          string `json:"postal_code"`
		Primary                             bool
	} `json:"addresses"`
}

func (f *fixture) contacts(t *testing.T, q string) []contactJSON {
	t.Helper()
	var page struct{ Items []contactJSON }
	f.api.JSON(t, "GET", "/api/v1/contacts?limit=100&q="+q, nil, 200, &page)
	return page.Items
}

func (c contactJSON) tagged(tag string) bool {
	for _, t := range c.Tags {
		if t.ID == tag {
			return true
		}
	}
	return false
}

// A vCard from another client, with what Tandem does not model.
const carlVCard = "BEGIN:VCARD\r\n" +
	"VERSION:3.0\r\n" +
	"PRODID:-//Apple Inc.//iPhone OS 17.0//EN\r\n" +
	"UID:carl-remote-1\r\n" +
	"N:Remote;Carl;;;\r\n" +
	"FN:Carl Remote\r\n" +
	"ORG:Remote Industries;Sales\r\n" +
	"EMAIL;type=INTERNET;type=WORK;type=pref:carl@remote.example\r\n" +
	"item1.ADR;type=WORK;type=pref:;;1 Infinite Loop;Cupertino;CA;95014;USA\r\n" +
	"item1.X-ABADR:us\r\n" +
	"BDAY:1980-02-29\r\n" +
	"X-FOO;X-PARAM=1:kept as it is\r\n" +
	"PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgk\r\n" +
	" KCgkJCwwPDAsLDhIMDQ4PEBAQEAsMEhMSEBMPEBAQ/8AACwgAAQABAQERAP/EABQAAQAAAAAAAAAA\r\n" +
	"END:VCARD\r\n"

// logicalLines are the unfolded content lines of an object.
func logicalLines(b []byte) []string {
	s := strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n ", ""), "\r\n\t", "")
	return strings.Split(strings.TrimRight(s, "\r\n"), "\r\n")
}

func TestConnectErrors(t *testing.T) {
	f := newFixture(t, davserver.Radicale)
	cases := []struct {
		name, url, user, password, field, code string
	}{
		{"wrong password", f.srv.URL(), f.srv.User(), "not-the-password", "password", "dav.error.unauthorized"},
		{"not a DAV server", f.s.URL + "/login", f.srv.User(), f.srv.Password(), "url", "dav.error.not_dav"},
		{"unreachable", "http://127.0.0.1:1/", f.srv.User(), f.srv.Password(), "url", "dav.error.unreachable"},
		{"no password", f.srv.URL(), f.srv.User(), "", "password", "dav.error.password_required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.api.Do(t, "POST", "/api/v1/connections", map[string]any{"provider": "dav", "url": c.url,
				"username": c.user, "password": c.password})
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			var p problem
			if err := json.Unmarshal(r.Body, &p); err != nil {
				t.Fatal(err)
			}
			if len(p.Errors) != 1 || p.Errors[0].Field != c.field || p.Errors[0].Code != strings.TrimPrefix(c.code, "error.") {
				t.Fatalf("problem %s", r.Body)
			}
		})
	}
	var list struct{ Items []struct{ ID string } }
	f.api.JSON(t, "GET", "/api/v1/connections", nil, 200, &list)
	if len(list.Items) != 0 {
		t.Fatalf("a refused account was stored: %+v", list)
	}
	if r := f.api.Do(t, "POST", "/api/v1/connections", map[string]any{"provider": "google", "url": "x", "username": "u",
		"password": "p"}); r.Status != http.StatusBadRequest {
		t.Fatalf("an OAuth provider took a password: %d", r.Status)
	}
}

// TestContactsTwoWay: connect, pick the address book, contacts both ways
// with the tag rules, unknown properties kept byte for byte, a refused
// sync token reconciled without duplicates, deletes per policy.
func TestContactsTwoWay(t *testing.T) {
	onBothServers(t, func(t *testing.T, f *fixture) {
		ctx := f.ctx
		f.connect(t)
		var books struct {
			Items []struct{ ID, Summary string }
		}
		f.api.JSON(t, "GET", "/api/v1/connections/"+f.connID+"/sync/contact/collections", nil, 200, &books)
		if len(books.Items) != 1 || books.Items[0].ID != f.book || books.Items[0].Summary != "Contacts" {
			t.Fatalf("address books %+v (want %s)", books, f.book)
		}
		// Only the tagged contact goes out.
		var ann, bob contactJSON
		f.api.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Ann Local", "tags": []string{f.tagID},
			"emails": []any{map[string]any{"address": "ann.local@example.com"}}}, 201, &ann)
		f.api.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Bob Untagged"}, 201, &bob)
		// Carl's company has an account: the import links it (SPEC §3).
		var remoteInd struct{ ID string }
		f.api.JSON(t, "POST", "/api/v1/accounts", map[string]any{"name": "Remote Industries"}, 201, &remoteInd)
		carlHref := f.book + "carl-remote-1.vcf"
		if _, err := f.srv.Put(ctx, carlHref, davc.VCardType, []byte(carlVCard)); err != nil {
			t.Fatal(err)
		}
		// Enabling without an address book names the field.
		r := f.api.Do(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/contact", map[string]any{"enabled": true,
			"settings": map[string]any{"tag_id": f.tagID}})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "collection_id") {
			t.Fatalf("enable without a book: %d %s", r.Status, r.Body)
		}
		f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/contact", map[string]any{"enabled": true,
			"settings": map[string]any{"tag_id": f.tagID, "collection_id": f.book}}, 200, nil)

		b := f.run(t, "contact")
		if b.LastStats.n("local_created") != 1 || b.LastStats.n("remote_created") != 1 {
			t.Fatalf("first run %+v", b.LastStats)
		}
		objs := f.objects(t, davc.AddressBook, f.book)
		if len(objs) != 2 {
			t.Fatalf("address book holds %d objects", len(objs))
		}
		annHref, annCard := f.find(t, davc.AddressBook, f.book, "FN:Ann Local")
		if annHref == "" || !bytes.Contains(annCard, []byte("ann.local@example.com")) || !bytes.Contains(annCard, []byte("X-TANDEM-MARKER")) {
			t.Fatalf("exported card %q at %s", annCard, annHref)
		}
		carl := f.contacts(t, "carl")
		if len(carl) != 1 || carl[0].Name != "Carl Remote" || !carl[0].tagged(f.tagID) {
			t.Fatalf("imported %+v", carl)
		}
		// ORG, BDAY and ADR come in as the company (with its account), the
		// birthday and the address.
		if c := carl[0]; c.Company != "Remote Industries" || c.AccountID == nil || *c.AccountID != remoteInd.ID ||
			c.Birthday == nil || *c.Birthday != "1980-02-29" || len(c.Addresses) != 1 || c.Addresses[0].Street != "1 Infinite Loop" ||
			c.Addresses[0].City != "Cupertino" || c.Addresses[0].Region != "CA" || c.Addresses[0].PostalCode != "95014" ||
			c.Addresses[0].Country != "USA" || c.Addresses[0].Kind != "work" || !c.Addresses[0].Primary {
			t.Fatalf("imported details %+v", c)
		}

		// A local edit reaches the card; what Tandem does not model stays
		// byte for byte, as the server holds it (Radicale re-serializes
		// what it is given, Xandikos keeps it).
		before := f.objects(t, davc.AddressBook, f.book)[carlHref]
		for _, want := range []string{"ORG:", "ADR", "X-ABADR", "BDAY:", "X-FOO;X-PARAM=1:kept as it is", "PHOTO;"} {
			if !bytes.Contains(before, []byte(want)) {
				t.Fatalf("the server lost %q before Tandem wrote: %q", want, before)
			}
		}
		f.api.JSON(t, "PATCH", "/api/v1/contacts/"+carl[0].ID, map[string]any{"job_title": "Buyer"}, 200, nil)
		f.run(t, "contact")
		got := f.objects(t, davc.AddressBook, f.book)[carlHref]
		if !bytes.Contains(got, []byte("TITLE:Buyer")) {
			t.Fatalf("title not written: %q", got)
		}
		after := map[string]bool{}
		for _, l := range logicalLines(got) {
			after[l] = true
		}
		for _, l := range logicalLines(before) {
			if !after[l] && !strings.HasPrefix(l, "REV:") {
				t.Errorf("line changed or lost: %q\nbefore %q\nafter %q", l, before, got)
			}
		}

		// A remote edit comes in.
		edited := bytes.Replace(annCard, []byte("END:VCARD"), []byte("TEL;TYPE=CELL:+1 555 0100\r\nEND:VCARD"), 1)
		if _, err := f.srv.Put(ctx, annHref, davc.VCardType, edited); err != nil {
			t.Fatal(err)
		}
		f.run(t, "contact")
		if a := f.contacts(t, "ann"); len(a) != 1 || len(a[0].Phones) != 1 || a[0].Phones[0].Number != "+1 555 0100" {
			t.Fatalf("remote phone not applied: %+v", a)
		}

		// The server forgets the sync token: the next run lists everything
		// and matches it against the links, creating nothing.
		conn, err := f.s.App.Store.ListBindings(ctx, f.connID)
		if err != nil || len(conn) != 1 {
			t.Fatalf("bindings %v %v", conn, err)
		}
		if err := f.s.App.Store.InTx(ctx, func(tx *store.Tx) error {
			return tx.SetCursors(ctx, conn[0].ID, f.book+"sync/forgotten-token", 0, false)
		}); err != nil {
			t.Fatal(err)
		}
		b = f.run(t, "contact")
		if b.LastStats.n("local_created")+b.LastStats.n("remote_created") != 0 {
			t.Fatalf("after the token was refused %+v", b.LastStats)
		}
		if n := len(f.objects(t, davc.AddressBook, f.book)); n != 2 {
			t.Fatalf("address book holds %d objects after the full listing", n)
		}
		if n := len(f.contacts(t, "")); n != 3 {
			t.Fatalf("%d contacts after the full listing", n)
		}

		// Deleted in the address book: the contact stays, untagged.
		if err := f.srv.Delete(ctx, carlHref); err != nil {
			t.Fatal(err)
		}
		f.run(t, "contact")
		if c := f.contacts(t, "carl"); len(c) != 1 || c[0].tagged(f.tagID) {
			t.Fatalf("after the remote delete %+v", c)
		}
		// Untagged in Tandem: Tandem's own card leaves the address book.
		f.api.JSON(t, "PATCH", "/api/v1/contacts/"+ann.ID, map[string]any{"tags": []string{}}, 200, nil)
		f.run(t, "contact")
		if h, _ := f.find(t, davc.AddressBook, f.book, "FN:Ann Local"); h != "" {
			t.Fatalf("Tandem's card still there: %s", h)
		}
	})
}

// TestContactsKeepForeign: a contact that was in the address book before
// stays there when it leaves the sync in Tandem, unless the binding says
// delete.
func TestContactsKeepForeign(t *testing.T) {
	f := newFixture(t, davserver.Radicale)
	f.connect(t)
	if _, err := f.srv.Put(f.ctx, f.book+"carl-remote-1.vcf", davc.VCardType, []byte(carlVCard)); err != nil {
		t.Fatal(err)
	}
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/contact", map[string]any{"enabled": true,
		"settings": map[string]any{"tag_id": f.tagID, "collection_id": f.book}}, 200, nil)
	f.run(t, "contact")
	carl := f.contacts(t, "carl")
	if len(carl) != 1 {
		t.Fatalf("imported %+v", carl)
	}
	f.api.JSON(t, "PATCH", "/api/v1/contacts/"+carl[0].ID, map[string]any{"tags": []string{}}, 200, nil)
	f.run(t, "contact")
	if n := len(f.objects(t, davc.AddressBook, f.book)); n != 1 {
		t.Fatalf("kept policy: %d objects", n)
	}
	// A full listing later does not bring the untagged contact back.
	f.run(t, "contact")
	if c := f.contacts(t, "carl"); len(c) != 1 || c[0].tagged(f.tagID) {
		t.Fatalf("came back %+v", c)
	}
	// With "delete", re-tagging then untagging removes it.
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/contact", map[string]any{
		"settings": map[string]any{"remote_delete": "delete"}}, 200, nil)
	f.api.JSON(t, "PATCH", "/api/v1/contacts/"+carl[0].ID, map[string]any{"tags": []string{f.tagID}}, 200, nil)
	f.run(t, "contact")
	f.api.JSON(t, "PATCH", "/api/v1/contacts/"+carl[0].ID, map[string]any{"tags": []string{}}, 200, nil)
	f.run(t, "contact")
	if objs := f.objects(t, davc.AddressBook, f.book); len(objs) != 0 {
		hs := make([]string, 0, len(objs))
		for h := range objs {
			hs = append(hs, h)
		}
		sort.Strings(hs)
		t.Fatalf("delete policy: still %v", hs)
	}
}

type activityJSON struct {
	ID          string   `json:"id"`
	Type        string   `json:"type"`
	Title       string   `json:"title"`
	Location    string   `json:"location"`
	Description string   `json:"description"`
	Start       *string  `json:"start"`
	End         *string  `json:"end"`
	AllDay      bool     `json:"all_day"`
	TimeZone    string   `json:"time_zone"`
	RRule       string   `json:"rrule"`
	RDates      []string `json:"rdates"`
	ExDates     []string `json:"exdates"`
	Status      string   `json:"status"`
	Priority    string   `json:"priority"`
	ActualEnd   *string  `json:"actual_end"`
	Overrides   []struct {
		RecurrenceID string `json:"recurrence_id"`
		Start        string `json:"start"`
		Title        string `json:"title"`
	} `json:"overrides"`
	ShowInCalendar bool `json:"show_in_calendar"`
}

func (f *fixture) activities(t *testing.T) map[string]activityJSON {
	t.Helper()
	var page struct{ Items []activityJSON }
	f.api.JSON(t, "GET", "/api/v1/activities?limit=100", nil, 200, &page)
	out := map[string]activityJSON{}
	for _, a := range page.Items {
		out[a.Title] = a
	}
	return out
}

// weekAhead is a Monday at least two weeks from now, in zone: the test's
// dates come from the clock, never literals near today.
func weekAhead(zone *time.Location) time.Time {
	d := time.Now().In(zone).AddDate(0, 0, 14)
	for d.Weekday() != time.Monday {
		d = d.AddDate(0, 0, 1)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, zone)
}

func icsLocal(t time.Time) string { return t.Format("20060102T150405") }
func icsDate(t time.Time) string  { return t.Format("20060102") }

// seriesICS is a weekly series in Moscow time with a removed occurrence
// (EXDATE), a moved one and a cancelled one (RECURRENCE-ID overrides), an
// alarm and a property Tandem does not model.
func seriesICS(mon time.Time) string {
	at := func(week, hour, min int) string {
		return icsLocal(mon.AddDate(0, 0, 7*week).Add(time.Duration(hour)*time.Hour + time.Duration(min)*time.Minute))
	}
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tandem tests//EN\r\n" +
		"BEGIN:VTIMEZONE\r\nTZID:Europe/Moscow\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nTZNAME:MSK\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" +
		"BEGIN:VEVENT\r\nUID:standup-1\r\nDTSTAMP:20200101T000000Z\r\n" +
		"DTSTART;TZID=Europe/Moscow:" + at(0, 10, 0) + "\r\nDTEND;TZID=Europe/Moscow:" + at(0, 10, 30) + "\r\n" +
		"RRULE:FREQ=WEEKLY;COUNT=6\r\nEXDATE;TZID=Europe/Moscow:" + at(1, 10, 0) + "\r\n" +
		"SUMMARY:Standup\r\nX-FOO;X-PARAM=1:kept\r\n" +
		"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT10M\r\nDESCRIPTION:Reminder\r\nEND:VALARM\r\n" +
		"END:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:standup-1\r\nDTSTAMP:20200101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Moscow:" + at(2, 10, 0) + "\r\n" +
		"DTSTART;TZID=Europe/Moscow:" + at(2, 12, 0) + "\r\nDTEND;TZID=Europe/Moscow:" + at(2, 12, 30) + "\r\nSUMMARY:Standup (moved)\r\nEND:VEVENT\r\n" +
		"BEGIN:VEVENT\r\nUID:standup-1\r\nDTSTAMP:20200101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Moscow:" + at(3, 10, 0) + "\r\n" +
		"DTSTART;TZID=Europe/Moscow:" + at(3, 10, 0) + "\r\nDTEND;TZID=Europe/Moscow:" + at(3, 10, 30) + "\r\nSTATUS:CANCELLED\r\nSUMMARY:Standup\r\nEND:VEVENT\r\n" +
		"END:VCALENDAR\r\n"
}

func allDayICS(day time.Time) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tandem tests//EN\r\nBEGIN:VEVENT\r\nUID:offsite-1\r\nDTSTAMP:20200101T000000Z\r\n" +
		"DTSTART;VALUE=DATE:" + icsDate(day) + "\r\nDTEND;VALUE=DATE:" + icsDate(day.AddDate(0, 0, 2)) + "\r\nSUMMARY:Offsite\r\n" +
		"END:VEVENT\r\nEND:VCALENDAR\r\n"
}

func todoICS(uid, summary, extra string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tandem tests//EN\r\nBEGIN:VTODO\r\nUID:" + uid + "\r\nDTSTAMP:20200101T000000Z\r\n" +
		"SUMMARY:" + summary + "\r\n" + extra + "END:VTODO\r\nEND:VCALENDAR\r\n"
}

// TestEventsTwoWay: a series with a removed, a moved and a cancelled
// occurrence, an all-day event and a time zone come in; a meeting goes
// out; edits go both ways keeping the alarm and unknown properties; a
// task in the same calendar is not an event.
func TestEventsTwoWay(t *testing.T) {
	onBothServers(t, func(t *testing.T, f *fixture) {
		ctx := f.ctx
		msk, err := time.LoadLocation("Europe/Moscow")
		if err != nil {
			t.Fatal(err)
		}
		mon := weekAhead(msk)
		put := func(name, body string) string {
			t.Helper()
			if _, err := f.srv.Put(ctx, f.cal+name, davc.ICalendarType, []byte(body)); err != nil {
				t.Fatal(err)
			}
			return f.cal + name
		}
		standupHref := put("standup-1.ics", seriesICS(mon))
		put("offsite-1.ics", allDayICS(mon.AddDate(0, 0, 2)))
		put("todo-1.ics", todoICS("todo-1", "Write report", ""))
		planStart := time.Date(mon.Year(), mon.Month(), mon.Day()+1, 9, 0, 0, 0, time.UTC)
		var planning activityJSON
		f.api.JSON(t, "POST", "/api/v1/activities", map[string]any{"type": "meeting", "title": "Planning", "show_in_calendar": true,
			"start": planStart.Format(time.RFC3339), "end": planStart.Add(time.Hour).Format(time.RFC3339)}, 201, &planning)

		f.connect(t)
		var cals struct{ Items []struct{ ID string } }
		f.api.JSON(t, "GET", "/api/v1/connections/"+f.connID+"/sync/event/collections", nil, 200, &cals)
		if len(cals.Items) != 1 || cals.Items[0].ID != f.cal {
			t.Fatalf("calendars %+v", cals)
		}
		f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/event", map[string]any{"enabled": true,
			"settings": map[string]any{"calendar_id": f.cal, "sync_from": time.Now().UTC().Format("2006-01-02")}}, 200, nil)
		b := f.run(t, "event")
		if b.LastStats.n("local_created") != 2 || b.LastStats.n("remote_created") != 1 {
			t.Fatalf("first run %+v", b.LastStats)
		}
		acts := f.activities(t)
		if _, ok := acts["Write report"]; ok {
			t.Fatal("a task was imported as an event")
		}
		s := acts["Standup"]
		utc := func(week, hour int) string {
			return mon.AddDate(0, 0, 7*week).Add(time.Duration(hour) * time.Hour).UTC().Format(time.RFC3339)
		}
		if s.RRule != "FREQ=WEEKLY;COUNT=6" || s.TimeZone != "Europe/Moscow" || s.Start == nil || *s.Start != utc(0, 10) {
			t.Fatalf("series %+v", s)
		}
		sort.Strings(s.ExDates)
		if len(s.ExDates) != 2 || s.ExDates[0] != utc(1, 10) || s.ExDates[1] != utc(3, 10) {
			t.Fatalf("removed occurrences %v, want %s and %s", s.ExDates, utc(1, 10), utc(3, 10))
		}
		if len(s.Overrides) != 1 || s.Overrides[0].RecurrenceID != utc(2, 10) || s.Overrides[0].Start != utc(2, 12) ||
			s.Overrides[0].Title != "Standup (moved)" {
			t.Fatalf("moved occurrence %+v", s.Overrides)
		}
		o := acts["Offsite"]
		if !o.AllDay || o.Start == nil || *o.Start != mon.AddDate(0, 0, 2).Format("2006-01-02") {
			t.Fatalf("all-day %+v", o)
		}
		planHref, plan := f.find(t, davc.Calendar, f.cal, "SUMMARY:Planning")
		if planHref == "" || !bytes.Contains(plan, []byte("BEGIN:VEVENT")) {
			t.Fatalf("exported meeting %q", plan)
		}

		// A local edit of the series keeps its alarm, unknown property and
		// the moved occurrence.
		f.api.JSON(t, "PATCH", "/api/v1/activities/"+s.ID, map[string]any{"title": "Daily standup"}, 200, nil)
		f.run(t, "event")
		got := f.objects(t, davc.Calendar, f.cal)[standupHref]
		for _, want := range []string{"SUMMARY:Daily standup", "BEGIN:VALARM", "TRIGGER:-PT10M", "X-FOO;X-PARAM=1:kept", "SUMMARY:Standup (moved)", "RRULE:FREQ=WEEKLY;COUNT=6"} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("after the local edit %q is missing: %q", want, got)
			}
		}
		// A remote edit comes back.
		edited := bytes.Replace(plan, []byte("SUMMARY:Planning"), []byte("SUMMARY:Planning (room 4)"), 1)
		if _, err := f.srv.Put(ctx, planHref, davc.ICalendarType, edited); err != nil {
			t.Fatal(err)
		}
		f.run(t, "event")
		if _, ok := f.activities(t)["Planning (room 4)"]; !ok {
			t.Fatalf("remote edit not applied: %v", f.activities(t))
		}
		// Deleted in Tandem: gone from the calendar.
		f.api.JSON(t, "DELETE", "/api/v1/activities/"+planning.ID, nil, 204, nil)
		f.run(t, "event")
		if h, _ := f.find(t, davc.Calendar, f.cal, "SUMMARY:Planning"); h != "" {
			t.Fatalf("deleted meeting still in the calendar at %s", h)
		}
		// Resubscribe: unsubscribing and subscribing again matches what is
		// there, creating nothing.
		f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/event", map[string]any{"enabled": false,
			"settings": map[string]any{"calendar_id": ""}}, 200, nil)
		f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/event", map[string]any{"enabled": true,
			"settings": map[string]any{"calendar_id": f.cal}}, 200, nil)
		b = f.run(t, "event")
		// Both events are matched to their activities (linked, not
		// created), nothing new is made on either side.
		if b.LastStats.n("remote_created") != 0 || len(f.objects(t, davc.Calendar, f.cal)) != 3 {
			t.Fatalf("resubscribe created remotely %+v", b.LastStats)
		}
		if b.LastStats.n("linked") != 2 || b.LastStats.n("local_created") != 0 {
			t.Fatalf("resubscribe counted %+v, want 2 linked and none created", b.LastStats)
		}
		var all struct{ Items []activityJSON }
		f.api.JSON(t, "GET", "/api/v1/activities?limit=100", nil, 200, &all)
		if len(all.Items) != 2 {
			t.Fatalf("%d activities after resubscribing: %+v", len(all.Items), all.Items)
		}
	})
}

// TestTasksTwoWay: to-dos of a calendar and Tandem's tasks outside the
// calendar sync both ways: status (ready for review kept), due, priority
// and completion; percent complete and alarms stay; events in the same
// calendar are not tasks.
func TestTasksTwoWay(t *testing.T) {
	onBothServers(t, func(t *testing.T, f *fixture) {
		ctx := f.ctx
		due := weekAhead(time.UTC).AddDate(0, 0, 3)
		put := func(name, body string) string {
			t.Helper()
			if _, err := f.srv.Put(ctx, f.cal+name, davc.ICalendarType, []byte(body)); err != nil {
				t.Fatal(err)
			}
			return f.cal + name
		}
		reportHref := put("report.ics", todoICS("report-1", "Write report", "DUE;VALUE=DATE:"+icsDate(due)+"\r\n"+
			"PRIORITY:1\r\nSTATUS:IN-PROCESS\r\nPERCENT-COMPLETE:40\r\nX-APPLE-SORT-ORDER:7\r\n"+
			"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT1H\r\nDESCRIPTION:Report\r\nEND:VALARM\r\n"))
		put("standup-1.ics", seriesICS(weekAhead(time.UTC)))
		var call activityJSON
		f.api.JSON(t, "POST", "/api/v1/activities", map[string]any{"type": "task", "title": "Call the bank",
			"start": due.Format(time.RFC3339), "end": due.Add(time.Hour).Format(time.RFC3339), "priority": "low"}, 201, &call)
		f.api.JSON(t, "POST", "/api/v1/activities", map[string]any{"type": "meeting", "title": "In the calendar",
			"show_in_calendar": true, "start": due.Format(time.RFC3339)}, 201, nil)

		f.connect(t)
		var lists struct{ Items []struct{ ID string } }
		f.api.JSON(t, "GET", "/api/v1/connections/"+f.connID+"/sync/task/collections", nil, 200, &lists)
		if len(lists.Items) != 1 || lists.Items[0].ID != f.cal {
			t.Fatalf("task lists %+v", lists)
		}
		f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/task", map[string]any{"enabled": true,
			"settings": map[string]any{"list_id": f.cal, "sync_from": time.Now().UTC().Format("2006-01-02")}}, 200, nil)
		b := f.run(t, "task")
		if b.LastStats.n("local_created") != 1 || b.LastStats.n("remote_created") != 1 {
			t.Fatalf("first run %+v", b.LastStats)
		}
		acts := f.activities(t)
		if _, ok := acts["Standup"]; ok {
			t.Fatal("an event was imported as a task")
		}
		r := acts["Write report"]
		if r.Type != "task" || r.ShowInCalendar || r.Status != "in_progress" || r.Priority != "high" {
			t.Fatalf("imported task %+v", r)
		}
		callHref, callObj := f.find(t, davc.Calendar, f.cal, "SUMMARY:Call the bank")
		if callHref == "" || !bytes.Contains(callObj, []byte("BEGIN:VTODO")) || !bytes.Contains(callObj, []byte("DUE")) {
			t.Fatalf("exported task %q", callObj)
		}
		if h, _ := f.find(t, davc.Calendar, f.cal, "SUMMARY:In the calendar"); h != "" {
			t.Fatal("a calendar activity went out as a task")
		}

		// Ready for review in Tandem is IN-PROCESS there, and stays ready
		// for review after the round trip.
		f.api.JSON(t, "PATCH", "/api/v1/activities/"+r.ID, map[string]any{"status": "ready_for_review"}, 200, nil)
		f.run(t, "task")
		f.run(t, "task")
		if got := f.activities(t)["Write report"]; got.Status != "ready_for_review" {
			t.Fatalf("status after the round trip %q", got.Status)
		}
		// Completed there: completed here, with the completion time.
		report := f.objects(t, davc.Calendar, f.cal)[reportHref]
		done := bytes.Replace(report, []byte("STATUS:IN-PROCESS"), []byte("STATUS:COMPLETED\r\nCOMPLETED:"+
			due.Add(-24*time.Hour).Format("20060102T150405Z")), 1)
		if bytes.Equal(done, report) {
			t.Fatalf("no status to change in %q", report)
		}
		if _, err := f.srv.Put(ctx, reportHref, davc.ICalendarType, done); err != nil {
			t.Fatal(err)
		}
		f.run(t, "task")
		got := f.activities(t)["Write report"]
		if got.Status != "completed" || got.ActualEnd == nil || *got.ActualEnd != due.Add(-24*time.Hour).Format("2006-01-02") {
			// An all-day task's dates are dates on the wire.
			t.Fatalf("completed remotely: %+v (actual end %v)", got, deref(got.ActualEnd))
		}
		// Completed here: COMPLETED there, percent complete 100, the alarm
		// and the unknown property kept.
		f.api.JSON(t, "PATCH", "/api/v1/activities/"+call.ID, map[string]any{"status": "completed"}, 200, nil)
		f.run(t, "task")
		callObj = f.objects(t, davc.Calendar, f.cal)[callHref]
		if !bytes.Contains(callObj, []byte("STATUS:COMPLETED")) || !bytes.Contains(callObj, []byte("COMPLETED:")) {
			t.Fatalf("completion not written: %q", callObj)
		}
		report = f.objects(t, davc.Calendar, f.cal)[reportHref]
		for _, want := range []string{"X-APPLE-SORT-ORDER:7", "BEGIN:VALARM", "TRIGGER:-PT1H"} {
			if !bytes.Contains(report, []byte(want)) {
				t.Errorf("%q lost: %q", want, report)
			}
		}
		// Deleted there: deleted here.
		if err := f.srv.Delete(ctx, callHref); err != nil {
			t.Fatal(err)
		}
		f.run(t, "task")
		if _, ok := f.activities(t)["Call the bank"]; ok {
			t.Fatal("a task deleted in the list is still here")
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestKeptCardStaysDeletedAfterFullListing: a contact deleted in Tandem
// whose vCard the keep policy leaves in the address book stays deleted
// when a later run lists the address book whole (the server forgot the
// sync token): the connector's Delete answers reconcile.ErrKept, and the
// link stays as the deleted record's tombstone (also when the contact had
// left the binding before it was deleted), so the unchanged vCard is no
// new item.
func TestKeptCardStaysDeletedAfterFullListing(t *testing.T) {
	for _, untagFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "deleted", true: "untagged then deleted"}[untagFirst], func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, davserver.Radicale)
			f.connect(t)
			if _, err := f.srv.Put(f.ctx, f.book+"carl-remote-1.vcf", davc.VCardType, []byte(carlVCard)); err != nil {
				t.Fatal(err)
			}
			f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/sync/contact", map[string]any{"enabled": true,
				"settings": map[string]any{"tag_id": f.tagID, "collection_id": f.book}}, 200, nil)
			f.run(t, "contact")
			carl := f.contacts(t, "carl")
			if len(carl) != 1 {
				t.Fatalf("imported %+v", carl)
			}
			if untagFirst {
				f.api.JSON(t, "PATCH", "/api/v1/contacts/"+carl[0].ID, map[string]any{"tags": []string{}}, 200, nil)
				f.run(t, "contact")
			}
			f.api.JSON(t, "DELETE", "/api/v1/contacts/"+carl[0].ID, nil, 204, nil)
			f.run(t, "contact")
			if n := len(f.objects(t, davc.AddressBook, f.book)); n != 1 {
				t.Fatalf("keep policy: %d objects", n)
			}
			// The server forgets its tokens; the address book changes.
			if err := f.srv.ForgetSyncTokens(f.book); err != nil {
				t.Fatal(err)
			}
			dora := strings.ReplaceAll(strings.ReplaceAll(carlVCard, "carl-remote-1", "dora-remote-1"), "Carl", "Dora")
			if _, err := f.srv.Put(f.ctx, f.book+"dora-remote-1.vcf", davc.VCardType, []byte(dora)); err != nil {
				t.Fatal(err)
			}
			if b := f.run(t, "contact"); b.LastStats["full_listing"] != true {
				t.Fatalf("no full listing: %+v", b.LastStats)
			}
			for _, c := range f.contacts(t, "") {
				if c.Name == "Carl Remote" {
					t.Errorf("the deleted contact came back: %+v", c)
				}
			}
		})
	}
}
