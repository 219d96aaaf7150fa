package syncer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/oauth/oauthtest"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const googleUser = "julia@gmail.com"

// googleFixture is a Tandem user with a Google account connected through
// the real OAuth flow against the emulator.
type googleFixture struct {
	s      *tandemtest.Server
	g      *oauthtest.Google
	api    *tandemtest.Client
	connID string
	tagID  string
}

// onBothDatabases runs test on SQLite and on PostgreSQL, in parallel.
func onBothDatabases(t *testing.T, test func(t *testing.T, pg bool)) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			test(t, pg)
		})
	}
}

func connectGoogle(t *testing.T, o tandemtest.Options) *googleFixture {
	t.Helper()
	s := tandemtest.Start(t, o)
	g := oauthtest.New(t, google.Options{}, s.URL+oauth.GoogleCallbackPath)
	if err := g.Configure(context.Background(), s.App.Settings); err != nil {
		t.Fatal(err)
	}
	g.AddUser(googleUser, "Julia")
	g.SetAutoApprove(googleUser)
	api := s.NewUser(t, "julia@example.com")
	b := s.Browser(t, "julia@example.com", "user-password-1")
	if p := b.Post(t, "/oauth/google/start", nil); p.Status != http.StatusOK {
		t.Fatalf("connect: %d", p.Status)
	}
	var conns struct {
		Items []struct{ ID, Status string }
	}
	api.JSON(t, "GET", "/api/v1/connections", nil, 200, &conns)
	if len(conns.Items) != 1 || conns.Items[0].Status != "active" {
		t.Fatalf("connections %+v", conns)
	}
	var tag struct{ ID string }
	api.JSON(t, "POST", "/api/v1/tags", map[string]any{"name": "Google"}, 201, &tag)
	return &googleFixture{s: s, g: g, api: api, connID: conns.Items[0].ID, tagID: tag.ID}
}

type syncState struct {
	Enabled    bool            `json:"enabled"`
	Collection string          `json:"collection"`
	LastRunAt  *time.Time      `json:"last_run_at"`
	LastError  string          `json:"last_error"`
	LastStats  map[string]any  `json:"last_stats"`
	Raw        json.RawMessage `json:"-"`
}

// sync runs sync now through the API and waits for the run to finish.
func (f *googleFixture) sync(t *testing.T) syncState {
	t.Helper()
	asked := time.Now()
	var q struct {
		JobID int64 `json:"job_id"`
	}
	f.api.JSON(t, "POST", "/api/v1/connections/"+f.connID+"/sync", nil, http.StatusAccepted, &q)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var st syncState
		f.api.JSON(t, "GET", "/api/v1/connections/"+f.connID+"/contacts", nil, 200, &st)
		if st.LastRunAt != nil && st.LastRunAt.After(asked) {
			// The connection's health and push channels are settled after
			// the binding's run is recorded: wait for the job's end.
			f.s.WaitJob(t, q.JobID, tandemtest.JobEnded...)
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
	var st syncState
	f.api.JSON(t, "GET", "/api/v1/connections/"+f.connID+"/contacts", nil, 200, &st)
	r := f.s.Admin.Do(t, "GET", "/api/v1/jobs?kind=sync.run&limit=2", nil)
	t.Fatalf("sync run did not finish (asked %v, now %+v); jobs: %.600s", asked, st, r.Body)
	return syncState{}
}

func (f *googleFixture) contact(t *testing.T, name string, tagged bool) string {
	t.Helper()
	body := map[string]any{"name": name, "emails": []any{map[string]any{"address": strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"}}}
	if tagged {
		body["tags"] = []string{f.tagID}
	}
	var c struct{ ID string }
	f.api.JSON(t, "POST", "/api/v1/contacts", body, 201, &c)
	return c.ID
}

func (f *googleFixture) groupMembers(t *testing.T, group string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, p := range f.g.People(googleUser) {
		ms, _ := p["memberships"].([]any)
		for _, m := range ms {
			cg, _ := m.(map[string]any)["contactGroupMembership"].(map[string]any)
			if cg["contactGroupResourceName"] == group {
				out[p["resourceName"].(string)] = p
			}
		}
	}
	return out
}

func displayName(p map[string]any) string {
	ns, _ := p["names"].([]any)
	if len(ns) == 0 {
		return ""
	}
	n := ns[0].(map[string]any)
	if v, _ := n["unstructuredName"].(string); v != "" {
		return v
	}
	v, _ := n["displayName"].(string)
	return v
}

type apiContact struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	JobTitle string `json:"job_title"`
	Phones   []struct {
		Number string `json:"number"`
	} `json:"phones"`
	Tags []struct {
		ID string `json:"id"`
	} `json:"tags"`
}

func (c apiContact) tagged(id string) bool {
	for _, t := range c.Tags {
		if t.ID == id {
			return true
		}
	}
	return false
}

func TestGoogleContactsEndToEnd(t *testing.T) {
	onBothDatabases(t, testGoogleContacts)
}

func testGoogleContacts(t *testing.T, pg bool) {
	f := connectGoogle(t, tandemtest.Options{Postgres: pg})
	ann := f.contact(t, "Ann Lee", true)
	f.contact(t, "Иван Петров", true)
	f.contact(t, "Not Synced", false)
	// A tag of someone else's, or a shared one, cannot be chosen.
	var shared struct{ ID string }
	f.api.JSON(t, "POST", "/api/v1/tags", map[string]any{"name": "Shared", "kind": "corporate"}, 201, &shared)
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/contacts", map[string]any{"enabled": true, "tag_id": shared.ID}, 400, nil)
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/contacts", map[string]any{"enabled": true, "tag_id": f.tagID}, 200, nil)

	// A dry run lists what the first sync would do and changes nothing.
	var preview struct {
		DryRun bool `json:"dry_run"`
		Plan   []struct{ Side, Action, Name string }
	}
	f.api.JSON(t, "POST", "/api/v1/connections/"+f.connID+"/sync?dry_run=true", nil, 200, &preview)
	var planned []string
	for _, e := range preview.Plan {
		planned = append(planned, e.Side+" "+e.Action+" "+e.Name)
	}
	if !preview.DryRun || len(planned) != 2 || !strings.Contains(strings.Join(planned, ";"), "remote create Ann Lee") {
		t.Fatalf("preview %v", planned)
	}
	for _, g := range f.g.ContactGroups(googleUser) {
		if g["name"] == "Tandem" {
			t.Fatal("preview created the group")
		}
	}
	if n := len(f.g.People(googleUser)); n != 0 {
		t.Fatalf("preview wrote %d people to Google", n)
	}
	if links, _ := f.s.App.Store.CountLinks(context.Background(), bindingID(t, f)); links != 0 {
		t.Fatalf("preview left %d links", links)
	}

	// The first run creates the group and exports the tagged contacts.
	st := f.sync(t)
	if st.LastError != "" || !strings.HasPrefix(st.Collection, "contactGroups/") {
		t.Fatalf("first run: %+v", st)
	}
	var groupNames []string
	for _, g := range f.g.ContactGroups(googleUser) {
		groupNames = append(groupNames, fmt.Sprint(g["name"]))
	}
	if !strings.Contains(strings.Join(groupNames, ","), "Tandem") {
		t.Fatalf("groups %v", groupNames)
	}
	members := f.groupMembers(t, st.Collection)
	if len(members) != 2 {
		t.Fatalf("group has %d members", len(members))
	}
	var annRemote string
	for rn, p := range members {
		if displayName(p) == "Ann Lee" {
			annRemote = rn
		}
	}
	if annRemote == "" {
		t.Fatalf("Ann not exported: %v", members)
	}

	// A contact the user puts into the group in Google is imported, tagged.
	if _, err := f.g.CreateContact(googleUser, map[string]any{
		"names":          []any{map[string]any{"givenName": "Пётр", "familyName": "Ёлкин"}},
		"emailAddresses": []any{map[string]any{"value": "petr@example.ru"}},
		"memberships":    []any{map[string]any{"contactGroupMembership": map[string]any{"contactGroupResourceName": st.Collection}}},
	}); err != nil {
		t.Fatal(err)
	}
	// Fields changed on one side only are kept from both sides.
	if err := f.g.UpdateContact(googleUser, annRemote, map[string]any{
		"phoneNumbers": []any{map[string]any{"value": "+7 495 111-22-33", "type": "mobile"}}}, "phoneNumbers"); err != nil {
		t.Fatal(err)
	}
	f.api.JSON(t, "PATCH", "/api/v1/contacts/"+ann, map[string]any{"job_title": "CEO"}, 200, nil)
	if st := f.sync(t); st.LastError != "" {
		t.Fatalf("second run: %+v", st)
	}
	var list struct{ Items []apiContact }
	f.api.JSON(t, "GET", "/api/v1/contacts?q=%D0%81%D0%BB%D0%BA%D0%B8%D0%BD", nil, 200, &list)
	if len(list.Items) != 1 || !list.Items[0].tagged(f.tagID) {
		t.Fatalf("import: %+v", list.Items)
	}
	var a apiContact
	f.api.JSON(t, "GET", "/api/v1/contacts/"+ann, nil, 200, &a)
	if a.JobTitle != "CEO" || len(a.Phones) != 1 || a.Phones[0].Number != "+7 495 111-22-33" {
		t.Errorf("merge locally: %+v", a)
	}
	p, _ := f.g.Person(googleUser, annRemote)
	if orgs, _ := p["organizations"].([]any); len(orgs) == 0 || orgs[0].(map[string]any)["title"] != "CEO" {
		t.Errorf("merge remotely: %v", p["organizations"])
	}

	// No echo: a run with nothing new changes nothing.
	st = f.sync(t)
	for _, k := range []string{"local_created", "local_updated", "remote_created", "remote_updated"} {
		if n, _ := st.LastStats[k].(float64); n != 0 {
			t.Errorf("quiet run: %s = %v", k, n)
		}
	}

	// Deleted in Google: the contact stays here, untagged.
	if err := f.g.DeleteContact(googleUser, annRemote); err != nil {
		t.Fatal(err)
	}
	f.sync(t)
	f.api.JSON(t, "GET", "/api/v1/contacts/"+ann, nil, 200, &a)
	if a.tagged(f.tagID) {
		t.Error("Google delete did not untag")
	}
	var journal struct {
		Items []struct{ Side, Action, Reason string }
	}
	f.api.JSON(t, "GET", "/api/v1/contacts/"+ann+"/journal", nil, 200, &journal)
	if len(journal.Items) < 2 || journal.Items[0].Action != "untag" {
		t.Errorf("journal %+v", journal.Items)
	}

	// Deleted in Tandem: the Google contact stays, out of the group.
	f.api.JSON(t, "GET", "/api/v1/contacts?q=%D0%B8%D0%B2%D0%B0%D0%BD", nil, 200, &list)
	ivan := list.Items[0].ID
	f.api.JSON(t, "DELETE", "/api/v1/contacts/"+ivan, nil, 204, nil)
	before := len(f.g.People(googleUser))
	f.sync(t)
	if got := len(f.groupMembers(t, st.Collection)); got != 1 {
		t.Errorf("group members after local delete: %d", got)
	}
	if len(f.g.People(googleUser)) != before {
		t.Error("Google contact deleted instead of leaving the group")
	}

	// An expired sync token means a full listing, not a re-import.
	f.g.ExpireSyncTokens(googleUser)
	st = f.sync(t)
	if st.LastError != "" || st.LastStats["full_listing"] != true {
		t.Fatalf("after expiry: %+v", st)
	}
	var all struct{ Items []apiContact }
	f.api.JSON(t, "GET", "/api/v1/contacts", nil, 200, &all)
	if len(all.Items) != 3 { // Ann, Not Synced, Пётр
		t.Errorf("contacts after full listing: %d", len(all.Items))
	}
	if got := len(f.groupMembers(t, st.Collection)); got != 1 {
		t.Errorf("group members after full listing: %d", got)
	}
	links, _ := f.s.App.Store.CountLinks(context.Background(), bindingID(t, f))
	if links != 1 {
		t.Errorf("links %d", links)
	}
}

func bindingID(t *testing.T, f *googleFixture) string {
	bs, err := f.s.App.Store.ListBindings(context.Background(), f.connID)
	if err != nil || len(bs) == 0 {
		t.Fatalf("bindings %v %v", bs, err)
	}
	return bs[0].ID
}

var _ = store.ErrNotFound

// detailContact is a contact's details as the API shows them.
type detailContact struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Company     string  `json:"company"`
	AccountID   *string `json:"account_id"`
	AccountName string  `json:"account_name"`
	Birthday    *string `json:"birthday"`
	Addresses   []struct {
		Kind, Street, City, Country string
		PostalCode                  string `json:"postal_code"`
		Primary                     bool
	} `json:"addresses"`
}

// A contact's birthday, addresses and company go to Google and come back;
// a contact imported from Google is linked to an account by the company
// rule (SPEC §3): the one account of its company's name the user can see,
// none when there is none or several, the company's name kept either way.
func TestGoogleContactDetails(t *testing.T) {
	onBothDatabases(t, testGoogleContactDetails)
}

func testGoogleContactDetails(t *testing.T, pg bool) {
	f := connectGoogle(t, tandemtest.Options{Postgres: pg})
	account := func(c *tandemtest.Client, name string) string {
		var a struct{ ID string }
		c.JSON(t, "POST", "/api/v1/accounts", map[string]any{"name": name}, 201, &a)
		return a.ID
	}
	acme := account(f.api, "Acme")
	globex := account(f.api, "Globex")
	account(f.s.Admin, "GLOBEX") // the admin's, which Julia cannot see
	account(f.api, "Initech")
	account(f.api, "initech")
	account(f.s.Admin, "Umbrella")

	var ann detailContact
	f.api.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Ann Lee", "account_id": acme, "birthday": "--04-12",
		"addresses": []map[string]any{{"street": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117",
			"country": "Germany", "kind": "home"}},
		"tags": []string{f.tagID}}, 201, &ann)
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/contacts", map[string]any{"enabled": true, "tag_id": f.tagID}, 200, nil)
	st := f.sync(t)
	if st.LastError != "" {
		t.Fatalf("first run: %+v", st)
	}
	var annRemote string
	for rn, p := range f.groupMembers(t, st.Collection) {
		if displayName(p) == "Ann Lee" {
			annRemote = rn
		}
	}
	p, _ := f.g.Person(googleUser, annRemote)
	orgs, _ := p["organizations"].([]any)
	bdays, _ := p["birthdays"].([]any)
	addrs, _ := p["addresses"].([]any)
	if len(orgs) != 1 || orgs[0].(map[string]any)["name"] != "Acme" || len(bdays) != 1 ||
		fmt.Sprint(bdays[0].(map[string]any)["date"]) != "map[day:12 month:4]" || len(addrs) != 1 ||
		addrs[0].(map[string]any)["city"] != "Berlin" || addrs[0].(map[string]any)["type"] != "home" {
		t.Fatalf("exported %v %v %v", orgs, bdays, addrs)
	}

	member := []any{map[string]any{"contactGroupMembership": map[string]any{"contactGroupResourceName": st.Collection}}}
	for name, company := range map[string]string{"Bob": "Globex", "Carl": "Initech", "Dora": "Umbrella", "Eve": "Nowhere Ltd"} {
		if _, err := f.g.CreateContact(googleUser, map[string]any{
			"names":         []any{map[string]any{"givenName": name}},
			"organizations": []any{map[string]any{"name": company, "title": "Buyer"}},
			"birthdays":     []any{map[string]any{"date": map[string]any{"year": 1990, "month": 1, "day": 31}}},
			"addresses":     []any{map[string]any{"streetAddress": "1 Main St", "city": "Springfield", "type": "work"}},
			"memberships":   member,
		}); err != nil {
			t.Fatal(err)
		}
	}
	// Ann moves house in Google.
	if err := f.g.UpdateContact(googleUser, annRemote, map[string]any{"addresses": []any{map[string]any{
		"streetAddress": "Unter den Linden 1", "city": "Potsdam", "postalCode": "10117", "country": "Germany", "type": "home"}}},
		"addresses"); err != nil {
		t.Fatal(err)
	}
	if st := f.sync(t); st.LastError != "" {
		t.Fatalf("second run: %+v", st)
	}
	var list struct{ Items []detailContact }
	f.api.JSON(t, "GET", "/api/v1/contacts", nil, 200, &list)
	byName := map[string]detailContact{}
	for _, c := range list.Items {
		byName[c.Name] = c
	}
	for name, want := range map[string]struct{ company, account string }{
		"Bob": {"Globex", globex}, "Carl": {"Initech", ""}, "Dora": {"Umbrella", ""}, "Eve": {"Nowhere Ltd", ""},
	} {
		c, ok := byName[name]
		switch {
		case !ok:
			t.Errorf("%s not imported", name)
		case c.Company != want.company || (c.AccountID == nil) != (want.account == "") || c.AccountID != nil && *c.AccountID != want.account:
			t.Errorf("%s: company %q account %v, want %q %q", name, c.Company, c.AccountID, want.company, want.account)
		case c.Birthday == nil || *c.Birthday != "1990-01-31" || len(c.Addresses) != 1 || c.Addresses[0].City != "Springfield" ||
			c.Addresses[0].Kind != "work":
			t.Errorf("%s: birthday %v addresses %+v", name, c.Birthday, c.Addresses)
		}
	}
	f.api.JSON(t, "GET", "/api/v1/contacts/"+ann.ID, nil, 200, &ann)
	if len(ann.Addresses) != 1 || ann.Addresses[0].City != "Potsdam" || ann.AccountID == nil || *ann.AccountID != acme ||
		ann.Company != "" || ann.Birthday == nil || *ann.Birthday != "--04-12" {
		t.Errorf("Ann after the Google edit: %+v", ann)
	}

	// Bob changes company in Google: the link follows it; no echo after.
	bob := byName["Bob"]
	var bobRemote string
	for rn, p := range f.groupMembers(t, st.Collection) {
		if displayName(p) == "Bob" {
			bobRemote = rn
		}
	}
	if err := f.g.UpdateContact(googleUser, bobRemote, map[string]any{"organizations": []any{map[string]any{"name": "ACME", "title": "Buyer"}}},
		"organizations"); err != nil {
		t.Fatal(err)
	}
	f.sync(t)
	f.api.JSON(t, "GET", "/api/v1/contacts/"+bob.ID, nil, 200, &bob)
	if bob.Company != "ACME" || bob.AccountID == nil || *bob.AccountID != acme {
		t.Errorf("Bob after moving: company %q account %v", bob.Company, bob.AccountID)
	}
	st = f.sync(t)
	for _, k := range []string{"local_created", "local_updated", "remote_created", "remote_updated"} {
		if n, _ := st.LastStats[k].(float64); n != 0 {
			t.Errorf("quiet run: %s = %v", k, n)
		}
	}
}
