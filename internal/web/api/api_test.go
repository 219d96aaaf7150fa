package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// eachDB runs fn against a server on SQLite and one on PostgreSQL.
func eachDB(t *testing.T, fn func(t *testing.T, s *tandemtest.Server)) {
	for _, pg := range []bool{false, true} {
		name := map[bool]string{false: "sqlite", true: "postgres"}[pg]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, tandemtest.Start(t, tandemtest.Options{Postgres: pg}))
		})
	}
}

type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

func decodeProblem(t *testing.T, r tandemtest.Response) problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, body %s", ct, r.Body)
	}
	var p problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != r.Status || p.Detail == "" {
		t.Fatalf("problem %+v for status %d", p, r.Status)
	}
	return p
}

func (p problem) fields() map[string]string {
	m := map[string]string{}
	for _, e := range p.Errors {
		m[e.Field] = e.Code
	}
	return m
}

type contact struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Emails []struct {
		Address string `json:"address"`
		Primary bool   `json:"primary"`
	} `json:"emails"`
	Tags []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"tags"`
	JobTitle string `json:"job_title"`
	Version  int64  `json:"version"`
}

type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func TestAuth(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	anon := s.Anonymous()
	for _, path := range []string{"/api/v1/contacts", "/api/v1/me", "/api/v1/settings"} {
		r := anon.Do(t, "GET", path, nil)
		if r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("GET %s without token: %d", path, r.Status)
		}
		decodeProblem(t, r)
	}
	bad := &tandemtest.Client{Token: "tnd_nope"}
	*bad = *s.Anonymous()
	bad.Token = "tnd_nope"
	if r := bad.Do(t, "GET", "/api/v1/contacts", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("bad token: %d", r.Status)
	}
	r := anon.Do(t, "POST", "/api/v1/auth/token", map[string]string{"email": tandemtest.AdminEmail, "password": "wrong"})
	if r.Status != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", r.Status)
	}
	r = anon.Do(t, "POST", "/api/v1/auth/token", `{"email":`)
	if r.Status != http.StatusBadRequest {
		t.Errorf("malformed login: %d", r.Status)
	}
	var me struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
		Ops []string `json:"effective_operations"`
	}
	s.Admin.JSON(t, "GET", "/api/v1/me", nil, 200, &me)
	if me.User.Email != tandemtest.AdminEmail || len(me.Ops) != 4 {
		t.Errorf("me = %+v", me)
	}
	// Tokens made on the profile can be listed and revoked.
	var tok struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	s.Admin.JSON(t, "POST", "/api/v1/tokens", map[string]any{"name": "ci"}, 201, &tok)
	c2 := *s.Admin
	c2.Token = tok.Token
	c2.JSON(t, "GET", "/api/v1/me", nil, 200, nil)
	s.Admin.JSON(t, "DELETE", "/api/v1/tokens/"+tok.ID, nil, 204, nil)
	c2.JSON(t, "GET", "/api/v1/me", nil, 401, nil)
}

func TestContactsCRUD(t *testing.T) {
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		a := s.Admin
		var tag struct{ ID string }
		a.JSON(t, "POST", "/api/v1/tags", map[string]any{"name": "VIP", "kind": "corporate", "color": "red"}, 201, &tag)
		var acc struct{ ID string }
		a.JSON(t, "POST", "/api/v1/accounts", map[string]any{"name": "ООО Ромашка", "website": "https://romashka.ru"}, 201, &acc)
		var c contact
		r := a.JSON(t, "POST", "/api/v1/contacts", map[string]any{
			"given_name": "Мария", "family_name": "Иванова", "job_title": "CFO", "type": "customer", "account_id": acc.ID,
			"emails": []map[string]any{{"address": "maria@romashka.ru"}, {"address": "m@home.ru", "kind": "home"}},
			"phones": []map[string]any{{"number": "+7 495 000-00-00", "kind": "work"}},
			"tags":   []any{tag.ID},
		}, 201, &c)
		if r.Header.Get("Location") != "/api/v1/contacts/"+c.ID || r.Header.Get("ETag") != `"1"` {
			t.Errorf("headers %v", r.Header)
		}
		if c.Name != "Мария Иванова" || len(c.Emails) != 2 || !c.Emails[0].Primary || len(c.Tags) != 1 || c.Tags[0].Name != "VIP" {
			t.Fatalf("created %+v", c)
		}
		var found page[contact]
		a.JSON(t, "GET", "/api/v1/contacts?q="+url.QueryEscape("МАРИЯ"), nil, 200, &found)
		if len(found.Items) != 1 || found.Items[0].ID != c.ID || found.NextCursor != nil {
			t.Fatalf("search: %+v", found)
		}
		// A stale If-Match is refused and changes nothing.
		a.JSON(t, "PATCH", "/api/v1/contacts/"+c.ID, map[string]any{"job_title": "CEO"}, 200, &c)
		if c.Version != 2 || c.JobTitle != "CEO" || len(c.Tags) != 1 {
			t.Fatalf("patched %+v", c)
		}
		r = a.Do(t, "PATCH", "/api/v1/contacts/"+c.ID, map[string]any{"job_title": "Intern"}, "If-Match", `"1"`)
		if r.Status != http.StatusPreconditionFailed {
			t.Fatalf("stale If-Match: %d", r.Status)
		}
		decodeProblem(t, r)
		a.JSON(t, "GET", "/api/v1/contacts/"+c.ID, nil, 200, &c)
		if c.JobTitle != "CEO" {
			t.Errorf("stale write applied: %q", c.JobTitle)
		}
		a.JSON(t, "PATCH", "/api/v1/contacts/"+c.ID, map[string]any{"given_name": "Marie", "tags": []any{}}, 200, &c)
		if c.Name != "Marie Иванова" || len(c.Tags) != 0 {
			t.Errorf("derived name / tags: %+v", c)
		}
		a.JSON(t, "DELETE", "/api/v1/contacts/"+c.ID, nil, 204, nil)
		decodeProblem(t, a.JSON(t, "GET", "/api/v1/contacts/"+c.ID, nil, 404, nil))
		var changes struct {
			Items []struct {
				EntityID string `json:"entity_id"`
				Op       string `json:"op"`
				Origin   string `json:"origin"`
			} `json:"items"`
		}
		a.JSON(t, "GET", "/api/v1/changes?since=0&entity=contact", nil, 200, &changes)
		var ops []string
		for _, ch := range changes.Items {
			if ch.EntityID == c.ID {
				ops = append(ops, ch.Op+"/"+ch.Origin)
			}
		}
		if fmt.Sprint(ops) != "[create/api update/api update/api delete/api]" {
			t.Errorf("change log %v", ops)
		}
	})
}

// A contact's birthday, company and addresses go in and come out as the
// document says; a list replaces all, "" clears.
func TestContactDetails(t *testing.T) {
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		a := s.Admin
		type address struct {
			Kind       string `json:"kind"`
			Street     string `json:"street"`
			City       string `json:"city"`
			Region     string `json:"region"`
			PostalCode string `json:"postal_code"`
			Country    string `json:"country"`
			Primary    bool   `json:"primary"`
		}
		var c struct {
			ID          string    `json:"id"`
			Company     string    `json:"company"`
			AccountName string    `json:"account_name"`
			Birthday    *string   `json:"birthday"`
			Addresses   []address `json:"addresses"`
		}
		var acc struct{ ID string }
		a.JSON(t, "POST", "/api/v1/accounts", map[string]any{"name": "Acme"}, 201, &acc)
		a.JSON(t, "POST", "/api/v1/contacts", map[string]any{
			"name": "Ann", "birthday": "--02-29", "company": "Acme Europe", "account_id": acc.ID,
			"addresses": []map[string]any{{"street": "Тверская ул., 1\nкв. 5", "city": "Москва", "postal_code": "125009", "country": "Россия"},
				{"kind": "home", "city": "Berlin", "primary": true}},
		}, 201, &c)
		want := []address{{Kind: "work", Street: "Тверская ул., 1\nкв. 5", City: "Москва", PostalCode: "125009", Country: "Россия"},
			{Kind: "home", City: "Berlin", Primary: true}}
		if c.Birthday == nil || *c.Birthday != "--02-29" || c.Company != "Acme Europe" || c.AccountName != "Acme" || !reflect.DeepEqual(c.Addresses, want) {
			t.Fatalf("created %+v", c)
		}
		a.JSON(t, "PATCH", "/api/v1/contacts/"+c.ID, map[string]any{"birthday": "", "company": "", "addresses": []any{}}, 200, &c)
		if c.Birthday != nil || c.Company != "" || c.AccountName != "Acme" || c.Addresses == nil || len(c.Addresses) != 0 {
			t.Fatalf("cleared %+v", c)
		}
		var raw map[string]any
		a.JSON(t, "GET", "/api/v1/contacts/"+c.ID, nil, 200, &raw)
		if b, ok := raw["birthday"]; !ok || b != nil {
			t.Errorf("birthday without one: %v (present %v), want null", b, ok)
		}
	})
}

func TestRights(t *testing.T) {
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		sales := s.NewRole(t, "Sales")
		alice := s.NewUser(t, "alice@example.com", sales)
		bob := s.NewUser(t, "bob@example.com")
		var mine struct{ ID string }
		alice.JSON(t, "POST", "/api/v1/tags", map[string]any{"name": "Мои"}, 201, &mine)
		var c contact
		alice.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Private", "tags": []any{mine.ID}}, 201, &c)
		for _, req := range []struct{ method, path string }{
			{"GET", "/api/v1/contacts/" + c.ID}, {"PATCH", "/api/v1/contacts/" + c.ID}, {"DELETE", "/api/v1/contacts/" + c.ID},
			{"GET", "/api/v1/tags/" + mine.ID}, {"PATCH", "/api/v1/tags/" + mine.ID}, {"DELETE", "/api/v1/tags/" + mine.ID},
		} {
			var body any
			if req.method == "PATCH" {
				body = map[string]any{"name": "Stolen"}
			}
			r := bob.Do(t, req.method, req.path, body)
			if r.Status != http.StatusNotFound {
				t.Errorf("bob %s %s: %d, want 404", req.method, req.path, r.Status)
			}
		}
		var list page[contact]
		bob.JSON(t, "GET", "/api/v1/contacts", nil, 200, &list)
		if len(list.Items) != 0 {
			t.Errorf("bob lists %d contacts", len(list.Items))
		}
		var tags page[struct{ ID string }]
		bob.JSON(t, "GET", "/api/v1/tags", nil, 200, &tags)
		if len(tags.Items) != 0 {
			t.Errorf("bob sees personal tags: %+v", tags.Items)
		}
		// Alice shares the contact read-only with a role Bob joins.
		alice.JSON(t, "PATCH", "/api/v1/contacts/"+c.ID, map[string]any{"access": []any{map[string]string{"role_id": sales, "level": "read"}}}, 200, nil)
		s.Admin.JSON(t, "PATCH", "/api/v1/users/"+bob.UserID, map[string]any{"role_ids": []string{sales}}, 200, nil)
		var seen contact
		bob.JSON(t, "GET", "/api/v1/contacts/"+c.ID, nil, 200, &seen)
		if len(seen.Tags) != 0 {
			t.Errorf("bob sees alice's personal tag on the card: %+v", seen.Tags)
		}
		decodeProblem(t, bob.JSON(t, "PATCH", "/api/v1/contacts/"+c.ID, map[string]any{"name": "x"}, 403, nil))
		bob.JSON(t, "DELETE", "/api/v1/contacts/"+c.ID, nil, 403, nil)
		// Administration is for administrators.
		for _, req := range []struct{ method, path string }{
			{"GET", "/api/v1/settings"}, {"PUT", "/api/v1/settings/SiteUrl"}, {"POST", "/api/v1/users"},
			{"POST", "/api/v1/roles"}, {"GET", "/api/v1/jobs"}, {"GET", "/api/v1/changes"},
		} {
			if r := bob.Do(t, req.method, req.path, map[string]any{}); r.Status != http.StatusForbidden {
				t.Errorf("bob %s %s: %d, want 403", req.method, req.path, r.Status)
			}
		}
	})
}

func TestBadInput(t *testing.T) {
	eachDB(t, testBadInput)
}

func testBadInput(t *testing.T, s *tandemtest.Server) {
	a := s.Admin
	long := strings.Repeat("я", 201)
	tests := []struct {
		name, path, body string
		field            string // expected field in errors, "" for a body-level problem
		code             string
	}{
		{"malformed", "/api/v1/contacts", `{"name": "x"`, "", "malformed_json"},
		{"not an object", "/api/v1/contacts", `[1,2]`, "body", "wrong_type"},
		{"empty body", "/api/v1/contacts", ``, "", "malformed_json"},
		{"trailing data", "/api/v1/contacts", `{"name":"x"} {"name":"y"}`, "", "malformed_json"},
		{"wrong type", "/api/v1/contacts", `{"name": 5}`, "name", "wrong_type"},
		{"wrong nested type", "/api/v1/contacts", `{"name":"x","emails":[{"address":true}]}`, "emails.address", "wrong_type"},
		{"unknown field", "/api/v1/contacts", `{"name":"x","nickname":"y"}`, "nickname", "unknown_field"},
		{"too long", "/api/v1/contacts", `{"name":"` + long + `"}`, "name", "too_long"},
		{"missing name", "/api/v1/contacts", `{"job_title":"x"}`, "name", "required_name"},
		{"bad email", "/api/v1/contacts", `{"name":"x","emails":[{"address":"not-an-email"}]}`, "emails[0].address", "invalid_email"},
		{"two primaries", "/api/v1/contacts", `{"name":"x","emails":[{"address":"a@b.c","primary":true},{"address":"d@e.f","primary":true}]}`, "emails", "one_primary"},
		{"bad type enum", "/api/v1/contacts", `{"name":"x","type":"alien"}`, "type", "unknown_value"},
		{"unknown tag", "/api/v1/contacts", `{"name":"x","tags":["nope"]}`, "tags", "not_found"},
		{"unknown account", "/api/v1/contacts", `{"name":"x","account_id":"nope"}`, "account_id", "not_found"},
		{"bad birthday", "/api/v1/contacts", `{"name":"x","birthday":"1985-02-29"}`, "birthday", "invalid_date"},
		{"birthday as vCard", "/api/v1/contacts", `{"name":"x","birthday":"--0412"}`, "birthday", "invalid_date"},
		{"empty address", "/api/v1/contacts", `{"name":"x","addresses":[{"kind":"home"}]}`, "addresses[0].street", "required_address"},
		{"bad address kind", "/api/v1/contacts", `{"name":"x","addresses":[{"city":"Москва","kind":"dacha"}]}`, "addresses[0].kind", "unknown_value"},
		{"unknown address field", "/api/v1/contacts", `{"name":"x","addresses":[{"city":"Москва","zip":"1"}]}`, "zip", "unknown_field"},
		{"long company", "/api/v1/contacts", `{"name":"x","company":"` + long + `"}`, "company", "too_long"},
		{"bad rrule", "/api/v1/activities", `{"title":"x","start":"2026-01-05T10:00:00Z","rrule":"FREQ=SOMETIMES"}`, "rrule", "invalid_rrule"},
		{"bad date", "/api/v1/activities", `{"title":"x","start":"tomorrow"}`, "start", "invalid_date"},
		{"end before start", "/api/v1/activities", `{"title":"x","start":"2026-01-05T10:00:00Z","end":"2026-01-05T09:00:00Z"}`, "end", "end_before_start"},
		{"bad time zone", "/api/v1/activities", `{"title":"x","time_zone":"Mars/Olympus"}`, "time_zone", "invalid_time_zone"},
		{"bad participant", "/api/v1/activities", `{"title":"x","participants":[{"email":"nope"}]}`, "participants[0].email", "invalid_email"},
		{"bad website", "/api/v1/accounts", `{"name":"x","website":"javascript:alert(1)"}`, "website", "invalid_url"},
		{"bad tag kind", "/api/v1/tags", `{"name":"x","kind":"secret"}`, "kind", "unknown_value"},
		{"bad group entity", "/api/v1/groups", `{"name":"x","entity":"account"}`, "entity", "unknown_value"},
		{"nul in text", "/api/v1/contacts", `{"name":"a\u0000b"}`, "name", "invalid"},
		{"nul in id", "/api/v1/contacts", `{"name":"x","tags":["\u0000"]}`, "tags[0].id", "invalid"},
		{"control character", "/api/v1/accounts", `{"name":"a\u0007b"}`, "name", "invalid"},
	}
	before := countContacts(t, a)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.Do(t, "POST", tt.path, tt.body)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			p := decodeProblem(t, r)
			if tt.field == "" {
				if p.Code != tt.code {
					t.Errorf("code %q, want %q", p.Code, tt.code)
				}
				return
			}
			if got := p.fields()[tt.field]; got != tt.code {
				t.Errorf("errors %+v: want %s=%s", p.Errors, tt.field, tt.code)
			}
			for _, e := range p.Errors {
				if e.Message == "" || strings.HasPrefix(e.Message, "error.") {
					t.Errorf("untranslated message %+v", e)
				}
			}
		})
	}
	if after := countContacts(t, a); after != before {
		t.Errorf("bad requests wrote contacts: %d → %d", before, after)
	}
	r := a.Do(t, "POST", "/api/v1/contacts", `{"name":"x"}`, "Content-Type", "text/plain")
	if r.Status != http.StatusBadRequest {
		t.Errorf("text/plain body: %d", r.Status)
	}
	r = a.Do(t, "GET", "/api/v1/contacts?limit=0", nil)
	if p := decodeProblem(t, r); p.fields()["limit"] != "out_of_range" {
		t.Errorf("limit=0: %+v", p)
	}
	for _, path := range []string{"/api/v1/contacts?cursor=%21%21", "/api/v1/contacts/%00", "/api/v1/contacts?q=%00", "/api/v1/contacts?q=%ff"} {
		if r := a.Do(t, "GET", path, nil); r.Status != 400 {
			t.Errorf("GET %s: %d", path, r.Status)
		}
	}
	// Russian users get Russian messages.
	r = a.Do(t, "POST", "/api/v1/contacts", `{"job_title":"x"}`, "Accept-Language", "ru-RU,ru;q=0.9")
	if p := decodeProblem(t, r); len(p.Errors) == 0 || !hasCyrillic(p.Errors[0].Message) {
		t.Errorf("ru message: %+v", p)
	}
}

func hasCyrillic(s string) bool {
	for _, r := range s {
		if r >= 'А' && r <= 'я' {
			return true
		}
	}
	return false
}

func countContacts(t *testing.T, c *tandemtest.Client) int {
	var p page[contact]
	c.JSON(t, "GET", "/api/v1/contacts?limit=200", nil, 200, &p)
	return len(p.Items)
}

func TestPaging(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	for i := 0; i < 25; i++ {
		s.Admin.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": fmt.Sprintf("Person %02d", i)}, 201, nil)
	}
	seen := map[string]bool{}
	path := "/api/v1/contacts?limit=10"
	for pages := 0; ; pages++ {
		var p page[contact]
		s.Admin.JSON(t, "GET", path, nil, 200, &p)
		for _, c := range p.Items {
			if seen[c.ID] {
				t.Fatalf("duplicate %s", c.Name)
			}
			seen[c.ID] = true
		}
		if p.NextCursor == nil {
			if pages != 2 {
				t.Errorf("pages %d", pages+1)
			}
			break
		}
		path = "/api/v1/contacts?limit=10&cursor=" + url.QueryEscape(*p.NextCursor)
	}
	if len(seen) != 25 {
		t.Errorf("saw %d", len(seen))
	}
}

func TestActivitiesAccountsGroups(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	a := s.Admin
	var c contact
	a.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Guest", "emails": []any{map[string]any{"address": "g@example.com"}}}, 201, &c)
	var act struct {
		ID, Start, End, RRule string
		AllDay                bool `json:"all_day"`
		ExDates               []string
		Participants          []struct {
			Email          string `json:"email"`
			ResponseStatus string `json:"response_status"`
		}
	}
	a.JSON(t, "POST", "/api/v1/activities", map[string]any{"title": "Отпуск", "type": "meeting", "all_day": true,
		"start": "2026-07-01", "end": "2026-07-15", "show_in_calendar": true, "time_zone": "Europe/Moscow",
		"rrule": "FREQ=YEARLY", "exdates": []string{"2027-07-01T00:00:00Z"},
		"participants": []any{map[string]any{"contact_id": c.ID, "email": "g@example.com", "response_status": "accepted"}}}, 201, &act)
	if act.Start != "2026-07-01" || act.End != "2026-07-15" || !act.AllDay || len(act.ExDates) != 1 || len(act.Participants) != 1 {
		t.Fatalf("activity %+v", act)
	}
	var list page[struct{ ID string }]
	a.JSON(t, "GET", "/api/v1/activities?contact_id="+c.ID, nil, 200, &list)
	if len(list.Items) != 1 {
		t.Errorf("by contact: %d", len(list.Items))
	}
	a.JSON(t, "GET", "/api/v1/activities?from=2028-07-01T00:00:00Z&to=2028-07-08T00:00:00Z", nil, 200, &list)
	if len(list.Items) != 1 {
		t.Errorf("recurring in range: %d", len(list.Items))
	}
	var g struct {
		ID          string
		MemberCount int `json:"member_count"`
	}
	a.JSON(t, "POST", "/api/v1/groups", map[string]any{"name": "Партнёры", "entity": "contact"}, 201, &g)
	a.JSON(t, "POST", "/api/v1/groups/"+g.ID+"/members", map[string]any{"ids": []string{c.ID}}, 200, &g)
	if g.MemberCount != 1 {
		t.Errorf("members %d", g.MemberCount)
	}
	var inGroup page[contact]
	a.JSON(t, "GET", "/api/v1/contacts?group_id="+g.ID, nil, 200, &inGroup)
	if len(inGroup.Items) != 1 {
		t.Errorf("group filter %d", len(inGroup.Items))
	}
	a.JSON(t, "DELETE", "/api/v1/groups/"+g.ID+"/members", map[string]any{"ids": []string{c.ID}}, 200, &g)
	if g.MemberCount != 0 {
		t.Errorf("members after remove %d", g.MemberCount)
	}
	a.JSON(t, "DELETE", "/api/v1/activities/"+act.ID, nil, 204, nil)
}

func TestAdministration(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	a := s.Admin
	var st struct {
		Value  string `json:"value"`
		IsSet  bool   `json:"is_set"`
		Secret bool   `json:"secret"`
	}
	a.JSON(t, "GET", "/api/v1/settings/SimultaneousChats", nil, 200, &st)
	if st.Value != "2" || st.IsSet {
		t.Errorf("default %+v", st)
	}
	a.JSON(t, "PUT", "/api/v1/settings/GoogleClientSecret", map[string]any{"value": "GOCSPX-very-secret"}, 200, &st)
	if !st.Secret || strings.Contains(st.Value, "very-secret") || !st.IsSet {
		t.Errorf("secret shown: %+v", st)
	}
	a.JSON(t, "PUT", "/api/v1/settings/SimultaneousChats", map[string]any{"value": 3}, 200, &st)
	if st.Value != "3" {
		t.Errorf("int setting %+v", st)
	}
	r := a.Do(t, "PUT", "/api/v1/settings/SimultaneousChats", map[string]any{"value": "many"})
	if p := decodeProblem(t, r); p.fields()["value"] != "invalid_number" {
		t.Errorf("bad int: %+v", p)
	}
	a.JSON(t, "PUT", "/api/v1/settings/NoSuchSetting", map[string]any{"value": "1"}, 404, nil)
	a.JSON(t, "GET", "/api/v1/operations", nil, 200, nil)
	var roles page[struct {
		Name       string
		Operations []string
	}]
	a.JSON(t, "GET", "/api/v1/roles", nil, 200, &roles)
	if len(roles.Items) != 1 || len(roles.Items[0].Operations) != 4 {
		t.Errorf("roles %+v", roles)
	}
	r = a.Do(t, "POST", "/api/v1/roles", map[string]any{"name": "X", "operations": []string{"CanFly"}})
	if r.Status != 400 {
		t.Errorf("unknown operation: %d", r.Status)
	}
	a.JSON(t, "GET", "/api/v1/jobs", nil, 200, nil)
	var conns page[struct{ ID string }]
	a.JSON(t, "GET", "/api/v1/connections", nil, 200, &conns)
	if len(conns.Items) != 0 {
		t.Errorf("connections %+v", conns)
	}
	a.JSON(t, "GET", "/api/v1/openapi.json", nil, 200, nil)
	for _, path := range []string{"/healthz", "/metrics"} {
		if r := s.Anonymous().Do(t, "GET", path, nil); r.Status != 200 {
			t.Errorf("%s: %d", path, r.Status)
		}
	}
	if r := s.Anonymous().Do(t, "GET", "/metrics", nil); !strings.Contains(string(r.Body), "tandem_http_requests_total") {
		t.Error("metrics lack request counter")
	}
}
