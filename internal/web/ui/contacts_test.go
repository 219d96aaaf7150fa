package ui_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// TestMain lives in main_test.go.

// crmEnv is a server with an admin signed in to the UI.
type crmEnv struct {
	s     *tandemtest.Server
	admin *tandemtest.Browser
}

func startCRM(t *testing.T) *crmEnv {
	t.Helper()
	s := tandemtest.Start(t, tandemtest.Options{})
	return &crmEnv{s: s, admin: s.Browser(t, tandemtest.AdminEmail, tandemtest.AdminPassword)}
}

const crmPassword = "user-password-1"

// newUser creates a user with a language and time zone through the admin
// API and signs them in to the UI and the API.
func (e *crmEnv) newUser(t *testing.T, email, lang, tz string) (*tandemtest.Browser, *tandemtest.Client) {
	t.Helper()
	e.s.Admin.JSON(t, "POST", "/api/v1/users", map[string]any{"email": email, "name": email, "password": crmPassword,
		"language": lang, "time_zone": tz, "role_ids": []string{}}, http.StatusCreated, nil)
	return e.s.Browser(t, email, crmPassword), e.s.Login(t, email, crmPassword)
}

// apiID creates a record through the API and returns its id.
func crmCreate(t *testing.T, c *tandemtest.Client, path string, body any) string {
	t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	c.JSON(t, "POST", path, body, http.StatusCreated, &out)
	return out.ID
}

func crmStatus(t *testing.T, p tandemtest.Page, want int) {
	t.Helper()
	if p.Status != want {
		t.Fatalf("%s: status %d, want %d\n%s", p.URL, p.Status, want, crmExcerpt(p.Body))
	}
}

func crmExcerpt(body string) string {
	if i := strings.Index(body, `<main`); i >= 0 {
		body = body[i:]
	}
	if len(body) > 3000 {
		body = body[:3000]
	}
	return body
}

func crmHas(t *testing.T, p tandemtest.Page, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.Body, w) {
			t.Errorf("%s lacks %q", p.URL, w)
		}
	}
}

func crmLacks(t *testing.T, p tandemtest.Page, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(p.Body, b) {
			t.Errorf("%s contains %q", p.URL, b)
		}
	}
}

// idFrom returns the record id of a card URL like /contacts/{id}.
func crmRecordID(t *testing.T, p tandemtest.Page, prefix string) string {
	t.Helper()
	u, err := url.Parse(p.URL)
	if err != nil || !strings.HasPrefix(u.Path, prefix) {
		t.Fatalf("landed on %s, want %s…: status %d\n%s", p.URL, prefix, p.Status, crmExcerpt(p.Body))
	}
	id := strings.TrimPrefix(u.Path, prefix)
	if id == "" || strings.Contains(id, "/") {
		t.Fatalf("no id in %s", p.URL)
	}
	return id
}

// tagID finds a tag the client can see by name.
func crmTagID(t *testing.T, c *tandemtest.Client, name string) string {
	t.Helper()
	var out struct {
		Items []struct{ ID, Name string }
	}
	c.JSON(t, "GET", "/api/v1/tags", nil, http.StatusOK, &out)
	for _, x := range out.Items {
		if x.Name == name {
			return x.ID
		}
	}
	t.Fatalf("tag %q not found", name)
	return ""
}

func TestContactLifecycle(t *testing.T) {
	e := startCRM(t)
	b := e.admin

	// A corporate tag, made on the tags page.
	p := b.Post(t, "/tags", url.Values{"name": {"VIP клиент"}, "kind": {"corporate"}, "color": {"green"}})
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "VIP клиент", "Created.")
	vip := crmTagID(t, e.s.Admin, "VIP клиент")

	// The form offers it, and the admin as owner.
	p = b.Get(t, "/contacts/new")
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, `name="tags" value="`+vip+`"`, `name="emails[0].address"`, `data-repeat-template`, `name="owner_id"`,
		`value="`+e.s.Admin.UserID+`" selected`)

	p = b.Post(t, "/contacts", url.Values{
		"given_name": {"Anna"}, "family_name": {"Petrova"}, "job_title": {"CFO"}, "type": {"customer"},
		"emails[0].address": {"anna@example.com"}, "emails[0].kind": {"work"}, "emails[0].primary": {"1"},
		"emails[1].address": {"anna.home@example.org"}, "emails[1].kind": {"home"},
		"emails[2].address": {""}, "emails[2].kind": {"work"}, // a blank row left in the form
		"phones[0].number": {"+7 900 123-45-67"}, "phones[0].kind": {"mobile"},
		"tags": {vip}, "owner_id": {e.s.Admin.UserID},
	})
	crmStatus(t, p, http.StatusOK)
	id := crmRecordID(t, p, "/contacts/")
	crmHas(t, p, "Contact “Anna Petrova” created.", "<h1 class=\"page-title\">Anna Petrova</h1>",
		`href="mailto:anna@example.com"`, `href="mailto:anna.home@example.org"`, `href="tel:&#43;79001234567"`, "&#43;7 900 123-45-67",
		"VIP клиент", "CFO", "Customer", "Personal")
	if strings.Count(p.Body, "mailto:") != 2 {
		t.Errorf("want exactly 2 email links, got %d", strings.Count(p.Body, "mailto:"))
	}

	// The list shows it with its primary email and tag; the tag filter finds it.
	p = b.Get(t, "/contacts?tag="+vip)
	crmHas(t, p, "Anna Petrova", "anna@example.com", "VIP клиент", `id="contact-rows"`)
	crmLacks(t, p, "anna.home@example.org")

	// Edit: the form is filled in, with the version.
	p = b.Get(t, "/contacts/"+id+"/edit")
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, `name="version" value="1"`, `value="anna.home@example.org"`, `name="given_name" value="Anna"`)

	form := url.Values{
		"version": {"1"}, "given_name": {"Anna"}, "family_name": {"Petrova-Smith"},
		"emails[0].address": {"anna@example.com"}, "emails[0].kind": {"work"}, "emails[0].primary": {"1"},
		"tags": {vip}, "owner_id": {e.s.Admin.UserID},
	}
	p = b.Post(t, "/contacts/"+id, form)
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "Anna Petrova-Smith", "Changes saved.")
	crmLacks(t, p, "anna.home@example.org")

	// The same stale version again: a conflict, shown on the form with the input kept.
	form.Set("family_name", "Stale")
	p = b.Post(t, "/contacts/"+id, form)
	crmStatus(t, p, http.StatusConflict)
	crmHas(t, p, "The record was changed by someone else", `name="family_name" value="Stale"`, `name="version" value="1"`)
	if p = b.Get(t, "/contacts/"+id); !strings.Contains(p.Body, "Anna Petrova-Smith") {
		t.Error("a stale save changed the contact")
	}

	// Remove the tag from the card, then delete the contact.
	p = b.Post(t, "/contacts/"+id+"/tags", url.Values{"remove": {vip}})
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "No tags")
	p = b.Post(t, "/contacts/"+id+"/tags", url.Values{"add": {vip}})
	crmHas(t, p, `name="remove" value="`+vip+`"`)

	p = b.Post(t, "/contacts/"+id+"/delete", nil)
	crmStatus(t, p, http.StatusOK)
	if !strings.HasSuffix(p.URL, "/contacts") {
		t.Errorf("after delete at %s", p.URL)
	}
	crmHas(t, p, "Deleted.")
	crmLacks(t, p, "Anna Petrova")
	crmStatus(t, b.Get(t, "/contacts/"+id), http.StatusNotFound)
}

func TestContactValidationKeepsInput(t *testing.T) {
	e := startCRM(t)
	p := e.admin.Post(t, "/contacts", url.Values{
		"given_name": {"Иван"}, "family_name": {"Иванов"}, "job_title": {"Инженер"},
		"emails[0].address": {"ivan@example.com"}, "emails[0].kind": {"work"},
		"emails[1].address": {"not-an-email"}, "emails[1].kind": {"home"}, "emails[1].primary": {"1"},
		"phones[0].number": {"call me"}, "phones[0].kind": {"work"},
		"owner_id": {e.s.Admin.UserID},
	})
	crmStatus(t, p, http.StatusUnprocessableEntity)
	crmHas(t, p, "Please correct the highlighted fields.",
		`name="given_name" value="Иван"`, `name="job_title" value="Инженер"`,
		`value="ivan@example.com"`, `value="not-an-email"`, `value="call me"`,
		`id="emails[1].error"`, "Enter a valid email address.",
		`id="phones[0].error"`, "Enter a valid phone number.")
	// The message sits with the row that is wrong, not the first one.
	row := regexp.MustCompile(`(?s)name="emails\[1\]\.address" value="not-an-email"[^>]*aria-invalid="true"`)
	if !row.MatchString(p.Body) {
		t.Error("the bad email row is not marked invalid")
	}
	if regexp.MustCompile(`name="emails\[0\]\.address" value="ivan@example.com"[^>]*aria-invalid`).MatchString(p.Body) {
		t.Error("the good email row is marked invalid")
	}
	// The chosen primary stays on the second row.
	if !regexp.MustCompile(`name="emails\[1\]\.primary" value="1" data-exclusive checked`).MatchString(p.Body) {
		t.Error("primary choice lost")
	}

	// A contact without any name: the message says which names will do.
	p = e.admin.Post(t, "/contacts", url.Values{"owner_id": {e.s.Admin.UserID}, "job_title": {"CEO"}})
	crmStatus(t, p, http.StatusUnprocessableEntity)
	crmHas(t, p, `class="field has-error"`, `id="f-name-error"`, "Enter a first, last or full name.", `value="CEO"`)
	crmLacks(t, p, "This field is required.")
}

// A contact's company, birthday (with or without its year) and addresses
// go through the form, show on the card in the viewer's language, fill the
// edit form, and come back as typed when they are wrong.
func TestContactDetailsForm(t *testing.T) {
	e := startCRM(t)
	b := e.admin
	p := b.Get(t, "/contacts/new")
	crmHas(t, p, `name="company" value="" maxlength="200"`, `name="birthday_day"`, `name="birthday_year"`,
		`<option value="4">April</option>`, `name="addresses[__i__].street"`, "Add address")

	p = b.Post(t, "/contacts", url.Values{
		"given_name": {"Anna"}, "owner_id": {e.s.Admin.UserID}, "company": {"Globex Europe"},
		"birthday_day": {"12"}, "birthday_month": {"4"}, "birthday_year": {""},
		"addresses[0].street": {"Unter den Linden 1\r\nHaus B"}, "addresses[0].city": {"Berlin"},
		"addresses[0].postal_code": {"10117"}, "addresses[0].country": {"Germany"}, "addresses[0].kind": {"home"},
		"addresses[1].street": {""}, "addresses[1].kind": {"work"}, // a blank row left in the form
	})
	crmStatus(t, p, http.StatusOK)
	id := crmRecordID(t, p, "/contacts/")
	crmHas(t, p, "Globex Europe", "April 12", "Unter den Linden 1\nHaus B\n10117 Berlin, Germany", "Home")
	// The list shows the company where the contact has no account.
	crmHas(t, b.Get(t, "/contacts"), "Globex Europe")

	var got struct {
		Birthday  string `json:"birthday"`
		Company   string `json:"company"`
		Addresses []struct {
			Street, Kind string
			Primary      bool
		} `json:"addresses"`
	}
	e.s.Admin.JSON(t, "GET", "/api/v1/contacts/"+id, nil, http.StatusOK, &got)
	if got.Birthday != "--04-12" || got.Company != "Globex Europe" || len(got.Addresses) != 1 ||
		got.Addresses[0].Street != "Unter den Linden 1\nHaus B" || !got.Addresses[0].Primary {
		t.Fatalf("saved %+v", got)
	}

	p = b.Get(t, "/contacts/"+id+"/edit")
	crmHas(t, p, `name="company" value="Globex Europe"`, `name="birthday_day" value="12"`, `<option value="4" selected>`,
		`name="birthday_year" value=""`, `>Unter den Linden 1`+"\n"+`Haus B</textarea>`, `name="addresses[0].city" value="Berlin"`)

	// Wrong values come back as typed, each message at its field.
	p = b.Post(t, "/contacts/"+id, url.Values{
		"version": {"1"}, "given_name": {"Anna"}, "owner_id": {e.s.Admin.UserID},
		"birthday_day": {"30"}, "birthday_month": {"2"}, "birthday_year": {"1990"},
		"addresses[0].city": {"Berlin"}, "addresses[0].postal_code": {strings.Repeat("1", 101)}, "addresses[0].kind": {"work"},
	})
	crmStatus(t, p, http.StatusUnprocessableEntity)
	crmHas(t, p, `name="birthday_day" value="30"`, `<option value="2" selected>`, `name="birthday_year" value="1990"`,
		`id="f-birthday-error"`, "Enter a valid date.", `name="addresses[0].city" value="Berlin"`,
		`id="addresses[0].postal_code.error"`, "At most 100 characters.")

	e.s.Admin.JSON(t, "PATCH", "/api/v1/contacts/"+id, map[string]any{"birthday": "1985-04-12"}, http.StatusOK, nil)
	crmHas(t, b.Get(t, "/contacts/"+id), "April 12, 1985")

	// A Russian viewer reads birthdays and labels in Russian.
	ruB, ruC := e.newUser(t, "ru@example.com", "ru", "Europe/Moscow")
	ruID := crmCreate(t, ruC, "/api/v1/contacts", map[string]any{"name": "Ольга", "birthday": "--04-12",
		"addresses": []map[string]any{{"city": "Москва", "kind": "home"}}})
	crmHas(t, ruB.Get(t, "/contacts/"+ruID), "День рождения", "12 апреля", "Адреса", "Москва", "Домашний")
	ruID = crmCreate(t, ruC, "/api/v1/contacts", map[string]any{"name": "Пётр", "birthday": "1985-04-12"})
	crmHas(t, ruB.Get(t, "/contacts/"+ruID), "12 апреля 1985 г.")
}

// A value over its limit is reported on its own field, with the limit, and
// every input with a crm limit carries it as maxlength.
func TestContactLimits(t *testing.T) {
	e := startCRM(t)
	long := strings.Repeat("я", 10000)
	p := e.admin.Post(t, "/contacts", url.Values{"owner_id": {e.s.Admin.UserID}, "given_name": {long}})
	crmStatus(t, p, http.StatusUnprocessableEntity)
	crmHas(t, p, `id="f-given_name-error"`, "At most 100 characters.", `value="`+long+`"`)
	crmLacks(t, p, `id="f-name-error"`)
	if n := strings.Count(p.Body, `class="field-error"`); n != 1 {
		t.Errorf("%d field errors, want 1", n)
	}

	ru, _ := e.newUser(t, "ru@example.com", "ru", "Europe/Moscow")
	p = ru.Post(t, "/contacts", url.Values{"owner_id": {e.s.Admin.UserID}, "given_name": {"Анна"}, "name": {long}})
	crmStatus(t, p, http.StatusUnprocessableEntity)
	crmHas(t, p, `id="f-name-error"`, "Не более 200 символов.")
	crmLacks(t, p, `id="f-given_name-error"`)

	for path, want := range map[string][]string{
		"/contacts/new": {`name="given_name" value="" maxlength="100"`, `name="family_name" value="" maxlength="100"`,
			`name="middle_name" value="" maxlength="100"`, `name="name" value="" maxlength="200"`,
			`name="job_title" value="" maxlength="200"`, `name="notes" rows="4" maxlength="20000"`,
			`name="emails[0].address" value="" maxlength="254"`, `name="phones[0].number" value="" maxlength="100"`},
		"/accounts/new": {`name="name" value="" maxlength="200"`, `name="industry" value="" maxlength="100"`,
			`name="website" value="" maxlength="200"`, `name="email" value="" maxlength="254"`, `name="phone" value="" maxlength="100"`,
			`name="address" rows="2" maxlength="400"`, `name="notes" rows="4" maxlength="20000"`},
		"/activities/new": {`name="title" value="" maxlength="200"`, `name="location" value="" maxlength="200"`,
			`name="rrule" value="" maxlength="500"`, `name="description" rows="4" maxlength="20000"`,
			`name="participants[0].email" value="" maxlength="254"`},
		"/tags":           {`name="name" value="" maxlength="100"`},
		"/groups":         {`name="name" value="" maxlength="200"`},
		"/profile/tokens": {`name="name" value="" maxlength="100"`},
	} {
		crmHas(t, e.admin.Get(t, path), want...)
	}
}

func TestContactSearchCyrillic(t *testing.T) {
	e := startCRM(t)
	for _, name := range []string{"Пётр Ёлкин", "Анна Смирнова", "John Smith"} {
		parts := strings.Fields(name)
		crmCreate(t, e.s.Admin, "/api/v1/contacts", map[string]any{"given_name": parts[0], "family_name": parts[1]})
	}
	for _, q := range []string{"ЁЛКИН", "елкин", "пЁтР", "ЛКИ"} {
		p := e.admin.Get(t, "/contacts?q="+url.QueryEscape(q))
		crmStatus(t, p, http.StatusOK)
		crmHas(t, p, "Пётр Ёлкин", `value="`+q+`"`)
		crmLacks(t, p, "Анна Смирнова", "John Smith")
	}
	p := e.admin.Get(t, "/contacts?q="+url.QueryEscape("СМИРНОВА"))
	crmHas(t, p, "Анна Смирнова")
	crmLacks(t, p, "Пётр Ёлкин")
	p = e.admin.Get(t, "/contacts?q=nobody-matches")
	crmHas(t, p, "Nothing found", "Nothing matches “nobody-matches”.")
}

func TestContactsPaging(t *testing.T) {
	e := startCRM(t)
	for i := range 53 {
		crmCreate(t, e.s.Admin, "/api/v1/contacts", map[string]any{"name": fmt.Sprintf("Person %02d", i)})
	}
	p := e.admin.Get(t, "/contacts")
	crmHas(t, p, "Person 00", "Person 49", "Load more", `data-load-more-target="#contact-rows"`)
	crmLacks(t, p, "Person 50")
	next := regexp.MustCompile(`href="(\?cursor=[^"]+)" rel="next"`).FindStringSubmatch(p.Body)
	if next == nil {
		t.Fatal("no next link")
	}
	p = e.admin.Get(t, "/contacts"+html.UnescapeString(next[1]))
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "Person 50", "Person 52")
	crmLacks(t, p, "Person 49", "Load more")
}

func TestContactAccessAndPersonalTags(t *testing.T) {
	e := startCRM(t)
	// The admin's personal tag and a private contact carrying it.
	crmStatus(t, e.admin.Post(t, "/tags", url.Values{"name": {"Мой секрет"}, "kind": {"personal"}, "color": {"red"}}), http.StatusOK)
	secret := crmTagID(t, e.s.Admin, "Мой секрет")
	id := crmCreate(t, e.s.Admin, "/api/v1/contacts", map[string]any{"name": "Тайный Контакт", "tags": []string{secret}})

	other, _ := e.newUser(t, "bob@example.com", "en", "UTC")
	crmStatus(t, other.Get(t, "/contacts/"+id), http.StatusNotFound)
	crmStatus(t, other.Get(t, "/contacts/"+id+"/edit"), http.StatusNotFound)
	crmStatus(t, other.Post(t, "/contacts/"+id, url.Values{"name": {"x"}}), http.StatusNotFound)
	crmStatus(t, other.Post(t, "/contacts/"+id+"/delete", nil), http.StatusNotFound)
	for _, path := range []string{"/contacts", "/contacts?q=" + url.QueryEscape("тайный"), "/contacts/new", "/tags"} {
		p := other.Get(t, path)
		crmStatus(t, p, http.StatusOK)
		crmLacks(t, p, "Тайный Контакт", "Мой секрет", secret)
	}
	// Bob's own personal tag is offered to him, not to the admin.
	crmStatus(t, other.Post(t, "/tags", url.Values{"name": {"Bob only"}, "kind": {"personal"}, "color": {"blue"}}), http.StatusOK)
	crmHas(t, other.Get(t, "/contacts/new"), "Bob only")
	p := e.admin.Get(t, "/contacts/new")
	crmHas(t, p, "Мой секрет")
	crmLacks(t, p, "Bob only")
	// The admin still sees everything of theirs.
	crmHas(t, e.admin.Get(t, "/contacts/"+id), "Тайный Контакт", "Мой секрет")
}

func TestGroupsAndTagsPages(t *testing.T) {
	e := startCRM(t)
	b := e.admin
	id := crmCreate(t, e.s.Admin, "/api/v1/contacts", map[string]any{"name": "Grouped Person"})
	p := b.Post(t, "/groups", url.Values{"name": {"Newsletter"}, "entity": {"contact"}})
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, "Newsletter", "Created.")
	var gs struct {
		Items []struct{ ID, Name string }
	}
	e.s.Admin.JSON(t, "GET", "/api/v1/groups", nil, http.StatusOK, &gs)
	if len(gs.Items) != 1 {
		t.Fatalf("groups: %+v", gs)
	}
	gid := gs.Items[0].ID
	p = b.Post(t, "/contacts/"+id+"/groups", url.Values{"add": {gid}})
	crmHas(t, p, `href="/contacts?group=`+gid+`"`, `name="remove" value="`+gid+`"`)
	p = b.Get(t, "/contacts?group="+gid)
	crmHas(t, p, "Grouped Person")
	p = b.Post(t, "/groups/"+gid, url.Values{"name": {"Рассылка"}})
	crmHas(t, p, "Рассылка", "Changes saved.")
	p = b.Post(t, "/contacts/"+id+"/groups", url.Values{"remove": {gid}})
	crmHas(t, p, "Not in any group.")
	p = b.Post(t, "/groups/"+gid+"/delete", nil)
	crmHas(t, p, "Deleted.")
	crmLacks(t, p, "Рассылка")

	// Tags: a duplicate name is refused inline; rename; delete.
	crmStatus(t, b.Post(t, "/tags", url.Values{"name": {"Partner"}, "kind": {"corporate"}, "color": {"blue"}}), http.StatusOK)
	p = b.Post(t, "/tags", url.Values{"name": {"partner"}, "kind": {"public"}, "color": {"red"}})
	crmStatus(t, p, http.StatusUnprocessableEntity)
	crmHas(t, p, "This value is already in use.", `name="name" value="partner"`)
	tid := crmTagID(t, e.s.Admin, "Partner")
	p = b.Post(t, "/tags/"+tid, url.Values{"name": {"Партнёр"}, "color": {"purple"}})
	crmHas(t, p, "Партнёр", "tag-purple")
	p = b.Post(t, "/tags/"+tid+"/delete", nil)
	crmLacks(t, p, "Партнёр")
}

func TestAccountCardListsContacts(t *testing.T) {
	e := startCRM(t)
	b := e.admin
	p := b.Post(t, "/accounts", url.Values{"name": {"ООО «Ромашка»"}, "type": {"customer"}, "industry": {"Retail"},
		"website": {"romashka.example"}, "email": {"bad email"}, "owner_id": {e.s.Admin.UserID}})
	crmStatus(t, p, http.StatusUnprocessableEntity)
	crmHas(t, p, "Enter a valid email address.", `value="ООО «Ромашка»"`)

	p = b.Post(t, "/accounts", url.Values{"name": {"ООО «Ромашка»"}, "type": {"customer"}, "industry": {"Retail"},
		"website": {"romashka.example"}, "owner_id": {e.s.Admin.UserID}})
	crmStatus(t, p, http.StatusOK)
	aid := crmRecordID(t, p, "/accounts/")
	crmHas(t, p, "ООО «Ромашка»", "No contacts are linked to this account.", `href="https://romashka.example"`)

	// The new-contact link preselects the account.
	p = b.Get(t, "/contacts/new?account_id="+aid)
	crmHas(t, p, `<option value="`+aid+`" selected>ООО «Ромашка»</option>`)
	p = b.Post(t, "/contacts", url.Values{"given_name": {"Ольга"}, "family_name": {"Кузнецова"}, "account_id": {aid},
		"emails[0].address": {"olga@romashka.example"}, "owner_id": {e.s.Admin.UserID}})
	cid := crmRecordID(t, p, "/contacts/")
	crmHas(t, p, `href="/accounts/`+aid+`"`)
	crmCreate(t, e.s.Admin, "/api/v1/contacts", map[string]any{"name": "Not Linked"})

	p = b.Get(t, "/accounts/"+aid)
	crmStatus(t, p, http.StatusOK)
	crmHas(t, p, `href="/contacts/`+cid+`"`, "Ольга Кузнецова", "olga@romashka.example")
	crmLacks(t, p, "Not Linked", "No contacts are linked")

	p = b.Get(t, "/accounts?q="+url.QueryEscape("РОМАШ"))
	crmHas(t, p, "ООО «Ромашка»")
	p = b.Get(t, "/accounts?q=zzz")
	crmHas(t, p, "No account matches “zzz”.")

	// Edit with a stale version, then delete: the contact stays, unlinked.
	p = b.Post(t, "/accounts/"+aid, url.Values{"version": {"1"}, "name": {"Romashka LLC"}, "owner_id": {e.s.Admin.UserID}})
	crmHas(t, p, "Romashka LLC")
	p = b.Post(t, "/accounts/"+aid, url.Values{"version": {"1"}, "name": {"Stale"}, "owner_id": {e.s.Admin.UserID}})
	crmStatus(t, p, http.StatusConflict)
	p = b.Post(t, "/accounts/"+aid+"/delete", nil)
	crmHas(t, p, "Deleted.")
	p = b.Get(t, "/contacts/"+cid)
	crmHas(t, p, "Ольга Кузнецова", "No account")
}
