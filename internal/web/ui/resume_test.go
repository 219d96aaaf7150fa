package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// "Keep me signed in" starts checked however the sign-in page is reached:
// directly, or redirected there from a page with ?next=.
func TestLoginRememberDefault(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	const checked = `name="remember" value="1" checked`
	for _, path := range []string{"/login", "/login?next=" + url.QueryEscape("/contacts/new"), "/contacts/new"} {
		p := s.NewBrowser(t).Get(t, path)
		wantStatus(t, path, p, http.StatusOK)
		if !strings.Contains(p.URL, "/login") {
			t.Fatalf("%s: at %s, want the sign-in page", path, p.URL)
		}
		mustHave(t, path, p.Body, checked)
	}
	// After a failed attempt the box shows what was posted.
	b := s.NewBrowser(t)
	b.Get(t, "/login?next=%2Fcontacts")
	p := b.Post(t, "/login", url.Values{"email": {tandemtest.AdminEmail}, "password": {"wrong"}, "next": {"/contacts"}})
	wantStatus(t, "wrong password", p, http.StatusUnauthorized)
	mustLack(t, "wrong password, unchecked", p.Body, checked)
	p = b.Post(t, "/login", url.Values{"email": {tandemtest.AdminEmail}, "password": {"wrong"}, "remember": {"1"}})
	mustHave(t, "wrong password, checked", p.Body, checked)
}

// A form posted after the session ended keeps what was typed: the sign-in
// page says so, and after signing in the form comes back filled in; it is
// saved only when the user saves it.
func TestFormKeptOverSignIn(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	b := s.Browser(t, tandemtest.AdminEmail, tandemtest.AdminPassword)
	b.Get(t, "/contacts/new")
	stale := b.CSRF
	b.Post(t, "/logout", nil) // the session ends while the form is open

	typed := url.Values{"csrf_token": {stale}, "given_name": {"Кира"}, "family_name": {"Сохранова"},
		"notes": {"line one\nline two"}, "owner_id": {s.Admin.UserID}}
	p := b.Post(t, "/contacts", typed)
	wantStatus(t, "post without a session", p, http.StatusUnauthorized)
	mustHave(t, "sign-in page", p.Body, tr(i18n.En, "login.session_ended"), `name="next" value="/resume"`,
		`name="remember" value="1" checked`)
	mustLack(t, "sign-in page", p.Body, "Сохранова") // nothing typed is on a page before sign-in

	p = b.Post(t, "/login", url.Values{"email": {tandemtest.AdminEmail}, "password": {tandemtest.AdminPassword}, "next": {"/resume"}})
	wantStatus(t, "resume", p, http.StatusOK)
	if !strings.HasSuffix(p.URL, "/resume") {
		t.Fatalf("after sign-in at %s", p.URL)
	}
	mustHave(t, "resume", p.Body, tr(i18n.En, "resume.open_form"), `name="_review" value="1"`)
	mustLack(t, "resume", p.Body, stale)
	if n := countContacts(t, s); n != 0 {
		t.Fatalf("%d contacts before the user saved", n)
	}

	// "Open the form": the form filled in again, not saved yet.
	p = b.Post(t, "/contacts", pageForm(t, p.Body, "/contacts"))
	wantStatus(t, "review", p, http.StatusOK)
	mustHave(t, "review", p.Body, `name="given_name" value="Кира"`, `name="family_name" value="Сохранова"`,
		">line one\nline two</textarea>", tr(i18n.En, "resume.check_and_save"))
	if n := countContacts(t, s); n != 0 {
		t.Fatalf("%d contacts after review", n)
	}
	// Save.
	p = b.Post(t, "/contacts", pageForm(t, p.Body, "/contacts"))
	wantStatus(t, "save", p, http.StatusOK)
	mustHave(t, "save", p.Body, "Кира Сохранова")
	if n := countContacts(t, s); n != 1 {
		t.Errorf("%d contacts after saving", n)
	}
	// The kept form was for one use.
	if p := b.Get(t, "/resume"); !strings.HasSuffix(p.URL, "/contacts") {
		t.Errorf("second /resume at %s", p.URL)
	}

	// A form with a stale token in a live session (signed out and in
	// elsewhere) goes straight to the offer.
	b.Get(t, "/tags")
	p = b.Post(t, "/tags", url.Values{"csrf_token": {stale}, "name": {"Kept tag"}, "kind": {"personal"}, "color": {"blue"}})
	wantStatus(t, "stale token", p, http.StatusOK)
	mustHave(t, "stale token", p.Body, tr(i18n.En, "resume.save_now"), "Kept tag")
	p = b.Post(t, "/tags", pageForm(t, p.Body, "/tags"))
	wantStatus(t, "save tag", p, http.StatusOK)
	mustHave(t, "save tag", p.Body, tr(i18n.En, "flash.created"), "Kept tag")

	// A token Tandem never issued is refused as before: nothing is kept.
	p = b.Post(t, "/tags", url.Values{"csrf_token": {"forged"}, "name": {"Forged tag"}, "kind": {"personal"}})
	wantStatus(t, "forged token", p, http.StatusForbidden)
	mustLack(t, "forged token", b.Get(t, "/resume").Body, "Forged tag")

	// Passwords are never kept.
	b.Post(t, "/logout", nil)
	p = b.Post(t, "/profile/password", url.Values{"csrf_token": {stale}, "current_password": {"old-password-typed"},
		"new_password": {"new-password-typed"}, "name": {"x"}})
	p = b.Post(t, "/login", url.Values{"email": {tandemtest.AdminEmail}, "password": {tandemtest.AdminPassword}, "next": {"/resume"}})
	mustLack(t, "password form", p.Body, "password-typed")

	// Another user signing in on the same browser never sees a form kept
	// for the one before.
	s.NewUser(t, "next@example.com")
	b.Post(t, "/logout", nil)
	b.Post(t, "/contacts", url.Values{"csrf_token": {stale}, "given_name": {"Тайна"}, "owner_id": {s.Admin.UserID}})
	p = b.Post(t, "/login", url.Values{"email": {"next@example.com"}, "password": {"user-password-1"}, "next": {"/resume"}})
	mustLack(t, "another user", p.Body, "Тайна")
	// A browser nobody signed in on keeps nothing.
	fresh := s.NewBrowser(t)
	fresh.Get(t, "/login")
	wantStatus(t, "no last user", fresh.Post(t, "/contacts", url.Values{"csrf_token": {stale}, "given_name": {"Аноним"}}),
		http.StatusUnauthorized)
	p = fresh.Post(t, "/login", url.Values{"email": {tandemtest.AdminEmail}, "password": {tandemtest.AdminPassword}, "next": {"/resume"}})
	mustLack(t, "no last user", p.Body, "Аноним")

	// Nothing typed (a delete button): the error as before.
	b.Post(t, "/logout", nil)
	wantStatus(t, "delete without a session", b.Post(t, "/contacts/x/delete", url.Values{"csrf_token": {stale}}), http.StatusUnauthorized)
}

func countContacts(t *testing.T, s *tandemtest.Server) int {
	t.Helper()
	var out struct {
		Items []struct{} `json:"items"`
	}
	s.Admin.JSON(t, "GET", "/api/v1/contacts", nil, http.StatusOK, &out)
	return len(out.Items)
}

// The settings page (a multipart form) comes back filled in as well.
func TestSettingsKeptOverSignIn(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	up := newUploader(t, s, tandemtest.AdminEmail, tandemtest.AdminPassword)
	up.get(t, "/admin/settings")
	resp, err := up.hc.PostForm(s.URL+"/logout", url.Values{"csrf_token": {up.csrf}})
	if err != nil {
		t.Fatal(err)
	}
	up.read(t, resp)
	status, body := up.upload(t, "/admin/settings", map[string]string{"CalendarIntegration": "google",
		"GoogleClientId": "kept-client-id", "GoogleClientSecret": "never-kept-secret"}, "", "", "", nil)
	if status != http.StatusUnauthorized || !strings.Contains(body, tr(i18n.En, "login.session_ended")) {
		t.Fatalf("post without a session: %d", status)
	}
	resp, err = up.hc.PostForm(s.URL+"/login", url.Values{"email": {tandemtest.AdminEmail},
		"password": {tandemtest.AdminPassword}, "next": {"/resume"}, "csrf_token": {up.csrf}})
	if err != nil {
		t.Fatal(err)
	}
	_, body = up.read(t, resp)
	mustLack(t, "resume", body, "never-kept-secret")
	resp, err = up.hc.PostForm(s.URL+"/admin/settings", pageForm(t, body, "/admin/settings"))
	if err != nil {
		t.Fatal(err)
	}
	status, body = up.read(t, resp)
	if status != http.StatusOK {
		t.Fatalf("review: %d", status)
	}
	mustHave(t, "review", body, `<option value="google" selected>`, `value="kept-client-id"`, tr(i18n.En, "resume.check_and_save"))
	if got, _ := s.App.Settings.Get(context.Background(), "CalendarIntegration"); got != "none" {
		t.Errorf("CalendarIntegration = %q before the user saved", got)
	}
}
