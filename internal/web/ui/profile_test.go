package ui_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

const (
	userEmail    = "user@example.com"
	userPassword = "user-password-1" // what tandemtest.NewUser sets
)

func TestProfileLanguageAndZone(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	c := s.NewUser(t, userEmail)
	b := s.Browser(t, userEmail, userPassword)

	p := b.Get(t, "/profile")
	wantStatus(t, "profile", p, http.StatusOK)
	mustHave(t, "profile", p.Body, `<html lang="en">`, tr(i18n.En, "profile.language.browser"), `value="Europe/Moscow"`,
		`name="current_password"`, `value="`+userEmail+`"`)

	p = b.Post(t, "/profile", url.Values{"name": {"Юлия"}, "language": {"ru"}, "time_zone": {"Europe/Moscow"}})
	wantStatus(t, "save", p, http.StatusOK)
	mustHave(t, "in Russian", p.Body, `<html lang="ru">`, tr(i18n.Ru, "profile.title"), tr(i18n.Ru, "flash.saved"),
		`<option value="ru" selected>`, `<option value="Europe/Moscow" selected>`)
	noRawKeys(t, "ru profile", p.Body)
	u, _ := s.App.Store.GetUser(ctx, c.UserID)
	if u.Name != "Юлия" || u.Language != "ru" || u.TimeZone != "Europe/Moscow" {
		t.Errorf("saved %+v", u)
	}
	// Every page follows, not only the profile.
	mustHave(t, "tokens in Russian", b.Get(t, "/profile/tokens").Body, tr(i18n.Ru, "profile.tokens.title"), `<html lang="ru">`)

	// Bad values come back inline and change nothing.
	p = b.Post(t, "/profile", url.Values{"name": {"Юлия"}, "language": {"ru"}, "time_zone": {"Mars/Olympus"}})
	wantStatus(t, "bad zone", p, http.StatusUnprocessableEntity)
	mustHave(t, "bad zone", p.Body, tr(i18n.Ru, "error.invalid_time_zone"))
	p = b.Post(t, "/profile", url.Values{"name": {"  "}, "language": {"ru"}, "time_zone": {"UTC"}})
	wantStatus(t, "no name", p, http.StatusUnprocessableEntity)
	mustHave(t, "no name", p.Body, tr(i18n.Ru, "error.required"), `id="f-name-error"`)
	p = b.Post(t, "/profile", url.Values{"name": {"Юлия"}, "language": {"de"}, "time_zone": {"UTC"}})
	wantStatus(t, "bad language", p, http.StatusUnprocessableEntity)
	if u, _ := s.App.Store.GetUser(ctx, c.UserID); u.TimeZone != "Europe/Moscow" || u.Language != "ru" {
		t.Errorf("bad posts changed %+v", u)
	}

	// Back to the browser's language.
	p = b.Post(t, "/profile", url.Values{"name": {"Юлия"}, "language": {""}, "time_zone": {"Europe/Moscow"}})
	mustHave(t, "browser default", p.Body, `<html lang="en">`, tr(i18n.En, "flash.saved"))
}

func TestProfilePassword(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	s.NewUser(t, userEmail)
	b := s.Browser(t, userEmail, userPassword)
	other := s.Browser(t, userEmail, userPassword) // another device
	b.Get(t, "/profile")
	const newPassword = "a-much-better-passphrase"

	for _, c := range []struct {
		form url.Values
		key  string
		id   string
	}{
		{url.Values{"current_password": {"wrong-password-1"}, "new_password": {newPassword}, "confirm_password": {newPassword}},
			"error.wrong_password", "f-current_password-error"},
		{url.Values{"current_password": {userPassword}, "new_password": {newPassword}, "confirm_password": {"something-else"}},
			"error.password_mismatch", "f-confirm_password-error"},
		{url.Values{"current_password": {userPassword}, "new_password": {"short"}, "confirm_password": {"short"}},
			"error.password_weak", "f-new_password-error"},
		{url.Values{"new_password": {newPassword}, "confirm_password": {newPassword}}, "error.required", "f-current_password-error"},
	} {
		p := b.Post(t, "/profile/password", c.form)
		wantStatus(t, c.key, p, http.StatusUnprocessableEntity)
		mustHave(t, c.key, p.Body, tr(i18n.En, c.key), `id="`+c.id+`"`)
		mustLack(t, c.key, p.Body, newPassword, userPassword) // passwords are never echoed
	}

	p := b.Post(t, "/profile/password", url.Values{"current_password": {userPassword}, "new_password": {newPassword}, "confirm_password": {newPassword}})
	wantStatus(t, "change", p, http.StatusOK)
	if !strings.HasSuffix(p.URL, "/profile") {
		t.Fatalf("after the change at %s", p.URL)
	}
	mustHave(t, "change", p.Body, tr(i18n.En, "flash.password_changed"))
	// Still signed in here, with a working CSRF token…
	p = b.Get(t, "/profile/tokens")
	if p.Status != http.StatusOK || strings.Contains(p.URL, "/login") {
		t.Fatalf("signed out by the change: %d at %s", p.Status, p.URL)
	}
	wantStatus(t, "post after change", b.Post(t, "/profile/tokens", url.Values{"name": {"after"}, "expires": {"30"}}), http.StatusOK)
	// …but signed out on the other device.
	if p := other.Get(t, "/profile"); !strings.Contains(p.URL, "/login") {
		t.Errorf("other session survived: at %s", p.URL)
	}
	// The old password stops working, the new one works.
	nb := s.NewBrowser(t)
	nb.Get(t, "/login")
	if p := nb.Post(t, "/login", url.Values{"email": {userEmail}, "password": {userPassword}}); !strings.Contains(p.URL, "/login") {
		t.Errorf("old password still signs in: %s", p.URL)
	}
	s.Browser(t, userEmail, newPassword)
}

var tokenSecret = regexp.MustCompile(`tnd_[A-Za-z0-9_-]{20,}`)

func TestProfileTokens(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	s.NewUser(t, userEmail)
	b := s.Browser(t, userEmail, userPassword)

	p := b.Get(t, "/profile/tokens")
	wantStatus(t, "tokens", p, http.StatusOK)
	mustLack(t, "tokens", p.Body, "tnd_", "Nightly export")

	p = b.Post(t, "/profile/tokens", url.Values{"name": {"Nightly export"}, "expires": {"30"}})
	wantStatus(t, "create", p, http.StatusOK)
	secret := tokenSecret.FindString(p.Body)
	if secret == "" {
		t.Fatal("the new token's secret is not shown")
	}
	mustHave(t, "created", p.Body, tr(i18n.En, "profile.tokens.copy_hint"), `data-copy-target="#token-secret"`, "Nightly export",
		esc(i18n.En.FormatDate(time.Now().AddDate(0, 0, 30))))
	if n := strings.Count(p.Body, secret); n != 1 {
		t.Errorf("secret shown %d times", n)
	}

	me := func() int {
		req, _ := http.NewRequest("GET", s.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := me(); st != http.StatusOK {
		t.Fatalf("new token: /api/v1/me %d", st)
	}

	// Only once: the list shows the token, never its secret.
	p = b.Get(t, "/profile/tokens")
	mustHave(t, "list", p.Body, "Nightly export", tr(i18n.En, "confirm.revoke_token"))
	mustLack(t, "list", p.Body, secret, "tnd_")
	m := regexp.MustCompile(`action="/profile/tokens/([^/"]+)/delete"`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatal("no revoke form")
	}

	// Nobody else can revoke it.
	s.NewUser(t, "mallory@example.com")
	mb := s.Browser(t, "mallory@example.com", userPassword)
	wantStatus(t, "other's revoke", mb.Post(t, "/profile/tokens/"+m[1]+"/delete", nil), http.StatusNotFound)
	if st := me(); st != http.StatusOK {
		t.Fatalf("token revoked by another user: %d", st)
	}

	p = b.Post(t, "/profile/tokens/"+m[1]+"/delete", nil)
	wantStatus(t, "revoke", p, http.StatusOK)
	mustHave(t, "revoke", p.Body, tr(i18n.En, "flash.token_revoked"))
	mustLack(t, "revoke", p.Body, "Nightly export")
	if st := me(); st != http.StatusUnauthorized {
		t.Errorf("revoked token: /api/v1/me %d", st)
	}

	// Bad forms.
	wantStatus(t, "no name", b.Post(t, "/profile/tokens", url.Values{"name": {""}, "expires": {"30"}}), http.StatusUnprocessableEntity)
	wantStatus(t, "bad expiry", b.Post(t, "/profile/tokens", url.Values{"name": {"x"}, "expires": {"7"}}), http.StatusUnprocessableEntity)
	p = b.Post(t, "/profile/tokens", url.Values{"name": {"forever"}, "expires": {""}})
	mustHave(t, "never expires", p.Body, tr(i18n.En, "profile.tokens.never_expires"))
}

func TestProfileExternalAccounts(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	c := s.NewUser(t, userEmail)
	b := s.Browser(t, userEmail, userPassword)

	p := b.Get(t, "/profile/accounts")
	wantStatus(t, "accounts", p, http.StatusOK)
	// Until an administrator sets up the company's Google app, the add
	// button is disabled and says why.
	mustHave(t, "empty", p.Body, tr(i18n.En, "profile.external.empty.title"), tr(i18n.En, "profile.external.empty.explain"),
		tr(i18n.En, "profile.external.coming_soon"), tr(i18n.En, "profile.external.add_google"),
		tr(i18n.En, "profile.external.google_shared_app"))
	if !regexp.MustCompile(`<button type="button" class="btn btn-primary" disabled[^>]*>`).MatchString(p.Body) {
		t.Error("the add button is not disabled")
	}
	mustLack(t, "empty", p.Body, `class="badge conn-`)

	// A connection made by a later integration shows up with its state.
	db, err := sql.Open("sqlite", s.App.Store.SQLitePath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := crm.Micros(crm.Now())
	_, err = db.Exec(`INSERT INTO connections (id, user_id, provider, account_email, status, status_reason, last_sync_at, created_at, updated_at)
		VALUES ('c1', ?, 'google', 'julia@gmail.com', 'needs_reauth', 'Token expired', ?, ?, ?),
		       ('c2', ?, 'imap', 'julia@example.com', 'active', '', 0, ?, ?)`, c.UserID, now, now, now, c.UserID, now+1, now+1)
	if err != nil {
		t.Fatal(err)
	}
	p = b.Get(t, "/profile/accounts")
	mustHave(t, "connections", p.Body, "julia@gmail.com", tr(i18n.En, "provider.google"), `class="badge conn-needs_reauth"`,
		tr(i18n.En, "connection.status.needs_reauth"), "Token expired", "julia@example.com", `class="badge conn-active"`,
		tr(i18n.En, "profile.external.never_synced"), tr(i18n.En, "profile.external.reauth"),
		`<input type="hidden" name="connection" value="c1">`, `href="/profile/accounts/c1"`, `href="/profile/accounts/c2"`,
		`action="/profile/accounts/c2/delete"`)
	mustLack(t, "connections", p.Body, tr(i18n.En, "profile.external.empty.title"), `name="connection" value="c2"`)
	// Other users do not see them.
	s.NewUser(t, "other@example.com")
	mustLack(t, "other user", s.Browser(t, "other@example.com", userPassword).Get(t, "/profile/accounts").Body, "julia@gmail.com")
}

func TestFormsNeedCSRF(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	c := s.NewUser(t, userEmail)
	b := s.Browser(t, userEmail, userPassword)
	a := adminBrowser(t, s)
	tokens, _ := s.App.Store.ListAPITokens(ctx, c.UserID)
	roles, _ := s.App.Store.ListRoles(ctx)
	for _, token := range []string{"", "forged-token"} {
		p := b.Post(t, "/profile", url.Values{"csrf_token": {token}, "name": {"Hacked"}, "language": {"ru"}, "time_zone": {"UTC"}})
		wantStatus(t, "profile without csrf", p, http.StatusForbidden)
		p = b.Post(t, "/profile/tokens", url.Values{"csrf_token": {token}, "name": {"x"}, "expires": {"30"}})
		wantStatus(t, "token without csrf", p, http.StatusForbidden)
		p = b.Post(t, "/profile/password", url.Values{"csrf_token": {token}, "current_password": {userPassword},
			"new_password": {"hacked-password-1"}, "confirm_password": {"hacked-password-1"}})
		wantStatus(t, "password without csrf", p, http.StatusForbidden)
		p = a.Post(t, "/admin/settings", url.Values{"csrf_token": {token}, "group": {"mail"}, "MailboxSyncInterval": {"77"}})
		wantStatus(t, "settings without csrf", p, http.StatusForbidden)
		p = a.Post(t, "/admin/roles/new", url.Values{"csrf_token": {token}, "name": {"Forged"}})
		wantStatus(t, "role without csrf", p, http.StatusForbidden)
	}
	if u, _ := s.App.Store.GetUser(ctx, c.UserID); u.Name == "Hacked" {
		t.Error("profile changed without CSRF token")
	}
	if ts, _ := s.App.Store.ListAPITokens(ctx, c.UserID); len(ts) != len(tokens) {
		t.Error("token made without CSRF token")
	}
	if n := s.App.Settings.Int(ctx, "MailboxSyncInterval"); n != 10 {
		t.Error("setting changed without CSRF token")
	}
	if rs, _ := s.App.Store.ListRoles(ctx); len(rs) != len(roles) {
		t.Error("role made without CSRF token")
	}
	s.Browser(t, userEmail, userPassword) // password unchanged
	// Signed out, a profile post is refused too, and pages send to sign-in.
	nb := s.NewBrowser(t)
	if p := nb.Get(t, "/admin/settings"); !strings.Contains(p.URL, "/login?next=%2Fadmin%2Fsettings") {
		t.Errorf("signed out: at %s", p.URL)
	}
	wantStatus(t, "signed out post", nb.Post(t, "/profile", url.Values{"name": {"x"}}), http.StatusUnauthorized)
}
