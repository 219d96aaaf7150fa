package dav_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

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

func newFixture(t *testing.T, kind davserver.Kind) *fixture {
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
	s := tandemtest.Start(t, tandemtest.Options{})
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
