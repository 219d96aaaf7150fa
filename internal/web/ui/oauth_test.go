package ui_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	googleprov "github.com/tandem-crm/tandem/internal/provider/google"

	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/oauth/oauthtest"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// The External accounts page connects Google accounts through the whole
// redirect chain — browser → Tandem → Google (the emulator, approving at
// once) → Tandem's callback — and shows their health.
func TestGoogleAccounts(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	// Access tokens live a minute, inside the refresh margin: every sync
	// run refreshes them.
	g := oauthtest.New(t, google.Options{AccessTokenLifetime: time.Minute}, s.URL+oauth.GoogleCallbackPath)
	approve := func(email, name string) {
		g.AddUser(email, name)
		g.SetAutoApprove(email)
	}
	api := s.NewUser(t, userEmail)
	b := s.Browser(t, userEmail, userPassword)
	accounts := func() []store.Connection {
		t.Helper()
		cs, err := s.App.Store.ListConnections(ctx, api.UserID)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	onAccounts := func(what string, p tandemtest.Page) {
		t.Helper()
		wantStatus(t, what, p, http.StatusOK)
		if !strings.HasSuffix(p.URL, "/profile/accounts") {
			t.Fatalf("%s: ended at %s", what, p.URL)
		}
	}

	// While the shared app is selected (the default) nothing can be
	// connected, and the page says why; administrators get a link.
	p := b.Get(t, "/profile/accounts")
	mustHave(t, "shared app", p.Body, tr(i18n.En, "profile.external.google_shared_app"))
	mustLack(t, "shared app", p.Body, `action="/oauth/google/start"`, `href="/admin/settings"`)
	p = b.Post(t, "/oauth/google/start", nil)
	onAccounts("start with the shared app", p)
	mustHave(t, "start with the shared app", p.Body, tr(i18n.En, "oauth.error.shared_app"))
	p = adminBrowser(t, s).Get(t, "/profile/accounts")
	mustHave(t, "admin", p.Body, tr(i18n.En, "profile.external.google_shared_app"), `href="/admin/settings"`)
	s.App.Settings.Put(ctx, "UseSharedGoogleApp", "false", "t")
	if p = b.Get(t, "/profile/accounts"); !strings.Contains(p.Body, tr(i18n.En, "profile.external.google_not_configured")) {
		t.Error("no notice without keys")
	}

	if err := g.Configure(ctx, s.App.Settings); err != nil {
		t.Fatal(err)
	}
	p = b.Get(t, "/profile/accounts")
	mustHave(t, "configured", p.Body, `<form method="post" action="/oauth/google/start">`, tr(i18n.En, "profile.external.add_google"))
	mustLack(t, "configured", p.Body, `id="google-setup"`)

	// Connect.
	approve("julia@gmail.com", "Julia")
	p = b.Post(t, "/oauth/google/start", nil)
	onAccounts("connect", p)
	mustHave(t, "connect", p.Body, tr(i18n.En, "oauth.connected", "julia@gmail.com"), `class="badge conn-active"`)
	cs := accounts()
	if len(cs) != 1 || cs[0].AccountEmail != "julia@gmail.com" || cs[0].Status != store.ConnectionActive {
		t.Fatalf("connections %+v", cs)
	}
	work := cs[0].ID
	// SiteUrl is unset: the redirect URI comes from the request's host.
	if got := g.Authorizations()[0].Get("redirect_uri"); got != s.URL+oauth.GoogleCallbackPath {
		t.Errorf("redirect_uri %q", got)
	}
	// The tokens are sealed: the raw column holds none of them.
	db, err := sql.Open("sqlite", s.App.Store.SQLitePath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var raw string
	if err := db.QueryRow(`SELECT credentials FROM connections WHERE id = ?`, work).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, "v1:") {
		t.Errorf("credentials not sealed: %.12q…", raw)
	}
	plain, err := s.App.Box.Open(raw, "connection:"+work)
	if err != nil {
		t.Fatal(err)
	}
	var cr struct {
		Access  string `json:"access_token"`
		Refresh string `json:"refresh_token"`
	}
	json.Unmarshal([]byte(plain), &cr)
	if cr.Access == "" || cr.Refresh == "" || strings.Contains(raw, cr.Access) || strings.Contains(raw, cr.Refresh) {
		t.Fatal("tokens missing, or readable in connections.credentials")
	}

	// A sync run refreshes the token and stores it.
	if _, err := s.App.OAuth.TokenSource(ctx, work).Token(); err != nil {
		t.Fatal(err)
	}
	var after string
	db.QueryRow(`SELECT credentials FROM connections WHERE id = ?`, work).Scan(&after)
	if g.Refreshes() != 1 || after == raw {
		t.Errorf("refresh: %d refreshes, stored: %v", g.Refreshes(), after != raw)
	}

	// A forged or replayed callback, and a cancelled consent: a message,
	// no new connection, never an error page.
	p = b.Get(t, oauth.GoogleCallbackPath+"?code=4/forged&state=forged")
	onAccounts("forged state", p)
	mustHave(t, "forged state", p.Body, tr(i18n.En, "oauth.error.bad_state"))
	g.SetAutoDeny(true)
	p = b.Post(t, "/oauth/google/start", nil)
	onAccounts("access denied", p)
	mustHave(t, "access denied", p.Body, tr(i18n.En, "oauth.error.access_denied"))
	mustLack(t, "access denied", p.Body, tr(i18n.En, "oauth.connected", "julia@gmail.com"))
	if n := len(accounts()); n != 1 {
		t.Fatalf("%d connections after failures", n)
	}

	// A second account; then Google revokes the first.
	approve("home@gmail.com", "Home")
	onAccounts("second account", b.Post(t, "/oauth/google/start", nil))
	cs = accounts()
	if len(cs) != 2 {
		t.Fatalf("%d connections", len(cs))
	}
	home := cs[1].ID
	g.Revoke("julia@gmail.com")
	if _, err := s.App.OAuth.TokenSource(ctx, work).Token(); !errors.Is(err, oauth.ErrNeedsReauth) {
		t.Fatalf("revoked account: %v", err)
	}
	if _, err := s.App.OAuth.TokenSource(ctx, home).Token(); err != nil {
		t.Fatalf("other account: %v", err)
	}
	p = b.Get(t, "/profile/accounts")
	mustHave(t, "needs reauth", p.Body, `class="badge conn-needs_reauth"`, tr(i18n.En, "profile.external.reauth"),
		"Token has been expired or revoked.", `<input type="hidden" name="connection" value="`+work+`">`, `class="badge conn-active"`)
	if n := strings.Count(p.Body, `name="connection"`); n != 1 {
		t.Errorf("%d reconnect buttons, want 1", n)
	}
	if c, _ := s.App.Store.GetConnection(ctx, home); c.Status != store.ConnectionActive {
		t.Errorf("other account %q", c.Status)
	}
	p = b.Get(t, "/profile/accounts/"+work)
	wantStatus(t, "account page", p, http.StatusOK)
	mustHave(t, "account page", p.Body, "julia@gmail.com", tr(i18n.En, "profile.external.reauth"), tr(i18n.En, "action.reconnect"),
		`action="/profile/accounts/`+work+`/delete"`, tr(i18n.En, "oauth.scope.contacts"), tr(i18n.En, "oauth.scope.calendar"))

	// Reconnect: Google preselects the account; the connection is active again.
	approve("julia@gmail.com", "Julia")
	p = b.Post(t, "/oauth/google/start", url.Values{"connection": {work}})
	onAccounts("reconnect", p)
	mustHave(t, "reconnect", p.Body, tr(i18n.En, "oauth.connected", "julia@gmail.com"))
	mustLack(t, "reconnect", p.Body, `class="badge conn-needs_reauth"`)
	auths := g.Authorizations()
	if hint := auths[len(auths)-1].Get("login_hint"); hint != "julia@gmail.com" {
		t.Errorf("login_hint %q", hint)
	}
	if cs = accounts(); len(cs) != 2 || cs[0].ID != work || cs[0].Status != store.ConnectionActive {
		t.Fatalf("after reconnect %+v", cs)
	}

	// Another user can neither see, reconnect nor remove it.
	s.NewUser(t, "other@example.com")
	ob := s.Browser(t, "other@example.com", userPassword)
	ob.Get(t, "/profile/accounts")
	wantStatus(t, "other's account page", ob.Get(t, "/profile/accounts/"+work), http.StatusNotFound)
	wantStatus(t, "other's remove", ob.Post(t, "/profile/accounts/"+work+"/delete", nil), http.StatusNotFound)
	wantStatus(t, "other's reconnect", ob.Post(t, "/oauth/google/start", url.Values{"connection": {work}}), http.StatusNotFound)
	// Without the CSRF token nothing happens either.
	wantStatus(t, "remove without csrf", b.Post(t, "/profile/accounts/"+work+"/delete", url.Values{"csrf_token": {"forged"}}),
		http.StatusForbidden)
	wantStatus(t, "start without csrf", b.Post(t, "/oauth/google/start", url.Values{"csrf_token": {"forged"}}), http.StatusForbidden)
	if n := len(accounts()); n != 2 {
		t.Fatalf("%d connections", n)
	}

	// Remove: the connection goes, the user's contacts stay.
	var contact struct {
		ID string `json:"id"`
	}
	api.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Synced Person"}, http.StatusCreated, &contact)
	b.Get(t, "/profile/accounts")
	p = b.Post(t, "/profile/accounts/"+work+"/delete", nil)
	onAccounts("remove", p)
	mustHave(t, "remove", p.Body, tr(i18n.En, "flash.connection_removed", "julia@gmail.com"))
	if _, err := s.App.Store.GetConnection(ctx, work); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed connection: %v", err)
	}
	api.JSON(t, "GET", "/api/v1/contacts/"+contact.ID, nil, http.StatusOK, nil)
	var list struct {
		Items []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"items"`
	}
	api.JSON(t, "GET", "/api/v1/connections", nil, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID != home || list.Items[0].Status != "active" {
		t.Errorf("API connections %+v", list.Items)
	}
	wantStatus(t, "removed account page", b.Get(t, "/profile/accounts/"+work), http.StatusNotFound)
}

// The settings page lists the endpoint settings with the Google group.
func TestGoogleEndpointSettings(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	p := adminBrowser(t, s).Get(t, "/admin/settings")
	for _, code := range []string{"GoogleAuthUrl", "GoogleTokenUrl", "GoogleUserInfoUrl", "GoogleApiUrl"} {
		if !regexp.MustCompile(`name="` + code + `"`).MatchString(p.Body) {
			t.Errorf("settings page lacks %s", code)
		}
	}
}

// Messages built in Go from flow error codes exist in every language.
func TestOAuthCatalogueKeys(t *testing.T) {
	keys := []string{"oauth.connected", "oauth.other_account", "oauth.missing_scopes", "oauth.error.provider_error_code",
		"profile.external.google_shared_app", "profile.external.google_not_configured"}
	for _, code := range []string{oauth.CodeSharedApp, oauth.CodeNotConfigured, oauth.CodeNoRedirect, oauth.CodeBadState,
		oauth.CodeAccessDenied, oauth.CodeProvider, oauth.CodeInvalidGrant, oauth.CodeNoEmail, oauth.CodeFailed} {
		keys = append(keys, "oauth.error."+code)
	}
	for _, k := range keys {
		for _, l := range i18n.Supported() {
			if !l.Has(k) {
				t.Errorf("%s catalogue lacks %q", l, k)
			}
		}
	}
	// The admin page shows the callback the flow uses.
	if reg := googleprov.New(nil, nil, nil).OAuthRegistration(); reg.CallbackPath != oauth.GoogleCallbackPath {
		t.Errorf("callback %q, admin page shows %q", oauth.GoogleCallbackPath, reg.CallbackPath)
	}
}
