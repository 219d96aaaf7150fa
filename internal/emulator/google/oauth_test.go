package google

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/option"
	"google.golang.org/api/people/v1"
)

const redirectURI = "http://127.0.0.1:9/oauth/google/callback"

func (e *env) oauthConfig(scopes ...string) *oauth2.Config {
	e.srv.AddClient("client-1", "secret-1", redirectURI)
	if len(scopes) == 0 {
		scopes = []string{ScopeContacts, ScopeCalendar, "openid", "email"}
	}
	return &oauth2.Config{ClientID: "client-1", ClientSecret: "secret-1", RedirectURL: redirectURI, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: e.url + "/o/oauth2/v2/auth", TokenURL: e.url + "/token"}}
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize follows the authorization URL once and returns the redirect's
// query (or the status and body of a page).
func (e *env) authorize(method, u string, form url.Values) (url.Values, int, string) {
	e.t.Helper()
	var resp *http.Response
	var err error
	if method == "POST" {
		resp, err = noRedirect.PostForm(u, form)
	} else {
		resp, err = noRedirect.Get(u)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusFound {
		return nil, resp.StatusCode, string(b)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirectURI) {
		e.t.Fatalf("redirect to %q", resp.Header.Get("Location"))
	}
	return loc.Query(), resp.StatusCode, ""
}

func retrieveErr(t *testing.T, err error, code string) *oauth2.RetrieveError {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want *oauth2.RetrieveError %s, got %T %v", code, err, err)
	}
	if re.ErrorCode != code {
		t.Fatalf("want %s, got %s (%s)", code, re.ErrorCode, re.Body)
	}
	return re
}

func TestOAuthCodeFlowPKCERefreshRevoke(t *testing.T) {
	e := newEnv(t)
	cfg := e.oauthConfig()
	e.srv.SetAutoApprove(alice)
	verifier := oauth2.GenerateVerifier()
	q, _, _ := e.authorize("GET", cfg.AuthCodeURL("st4te", oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(verifier)), nil)
	code := q.Get("code")
	if code == "" || q.Get("state") != "st4te" || !strings.Contains(q.Get("scope"), ScopeContacts) {
		t.Fatalf("callback %v", q)
	}
	// wrong verifier, then the right one
	_, err := cfg.Exchange(e.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	retrieveErr(t, err, "invalid_grant")
	_, err = cfg.Exchange(e.ctx, code)
	retrieveErr(t, err, "invalid_grant")
	tok, err := cfg.Exchange(e.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" ||
		time.Until(tok.Expiry) < 3500*time.Second || tok.Extra("id_token") == nil {
		t.Fatalf("token %+v", tok)
	}
	// single use
	_, err = cfg.Exchange(e.ctx, code, oauth2.VerifierOption(verifier))
	retrieveErr(t, err, "invalid_grant")

	// the token works against People, and user info gives the e-mail
	hc := cfg.Client(e.ctx, tok)
	ps, err := people.NewService(e.ctx, option.WithEndpoint(e.url+"/"), option.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps.People.Connections.List("people/me").PersonFields("names").Do(); err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(e.url + "/oauth2/v3/userinfo")
	if err != nil {
		t.Fatal(err)
	}
	var ui struct {
		Sub, Email, Name string
		EmailVerified    bool `json:"email_verified"`
	}
	json.NewDecoder(resp.Body).Decode(&ui)
	resp.Body.Close()
	if ui.Email != alice || ui.Sub == "" || !ui.EmailVerified || ui.Name != "Alice Anders" {
		t.Fatalf("userinfo %+v", ui)
	}

	// refresh: a new access token, no new refresh token (the old one is kept)
	ts := cfg.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)})
	nt, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if nt.AccessToken == tok.AccessToken || nt.RefreshToken != tok.RefreshToken {
		t.Fatalf("refreshed %+v", nt)
	}
	st, _, body := e.rawDo("POST", "/token", "", "")
	if st != 400 && st != 401 {
		t.Fatalf("empty token request: %d %s", st, body)
	}

	// a second consent without prompt=consent gives no refresh token
	q, _, _ = e.authorize("GET", cfg.AuthCodeURL("s2", oauth2.AccessTypeOffline), nil)
	t2, err := cfg.Exchange(e.ctx, q.Get("code"))
	if err != nil || t2.RefreshToken != "" {
		t.Fatalf("second consent: %v %q", err, t2.RefreshToken)
	}
	q, _, _ = e.authorize("GET", cfg.AuthCodeURL("s3", oauth2.AccessTypeOffline, oauth2.SetAuthURLParam("prompt", "consent")), nil)
	t3, err := cfg.Exchange(e.ctx, q.Get("code"))
	if err != nil || t3.RefreshToken == "" {
		t.Fatalf("prompt=consent: %v", err)
	}

	// revoke → invalid_grant on refresh, 401 on the API
	e.srv.Revoke(alice)
	_, err = cfg.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	re := retrieveErr(t, err, "invalid_grant")
	if re.ErrorDescription != "Token has been expired or revoked." || re.Response.StatusCode != 400 {
		t.Fatalf("revoked: %d %s", re.Response.StatusCode, re.Body)
	}
	ps2, _ := people.NewService(e.ctx, option.WithEndpoint(e.url+"/"),
		option.WithHTTPClient(oauth2.NewClient(e.ctx, oauth2.StaticTokenSource(nt))))
	_, err = ps2.People.Connections.List("people/me").PersonFields("names").Do()
	if ge := apiErr(t, err, 401); reason(ge) != "authError" || bodyStatus(t, ge) != "UNAUTHENTICATED" {
		t.Fatal(ge.Body)
	}
}

func TestOAuthConsentPageAndErrors(t *testing.T) {
	e := newEnv(t)
	cfg := e.oauthConfig(ScopeCalendarEvents)
	authURL := cfg.AuthCodeURL("xyz", oauth2.SetAuthURLParam("login_hint", bob))
	_, st, page := e.authorize("GET", authURL, nil)
	if st != 200 || !strings.Contains(page, "Allow") || !strings.Contains(page, bob) || !strings.Contains(page, `value="bob@example.com" checked`) {
		t.Fatalf("consent page %d %s", st, page)
	}
	u, _ := url.Parse(authURL)
	form := u.Query()
	form.Set("account", bob)
	form.Set("action", "allow")
	q, _, _ := e.authorize("POST", e.url+"/o/oauth2/v2/auth", form)
	tok, err := cfg.Exchange(e.ctx, q.Get("code"))
	if err != nil || q.Get("state") != "xyz" {
		t.Fatal(err, q)
	}
	if tok.RefreshToken != "" {
		t.Fatal("refresh token without access_type=offline")
	}
	// bob's token, calendar.events only: events yes, contacts no
	hc := oauth2.NewClient(e.ctx, oauth2.StaticTokenSource(tok))
	ps, _ := people.NewService(e.ctx, option.WithEndpoint(e.url+"/"), option.WithHTTPClient(hc))
	_, err = ps.People.Connections.List("people/me").PersonFields("names").Do()
	if ge := apiErr(t, err, 403); detailReason(ge) != "ACCESS_TOKEN_SCOPE_INSUFFICIENT" {
		t.Fatal(ge.Body)
	}
	// user info needs openid/email/profile
	st, _, _ = e.rawDo("GET", "/oauth2/v3/userinfo", tok.AccessToken, "")
	if st != 401 {
		t.Fatalf("userinfo without openid: %d", st)
	}

	form.Set("action", "deny")
	q, _, _ = e.authorize("POST", e.url+"/o/oauth2/v2/auth", form)
	if q.Get("error") != "access_denied" || q.Get("state") != "xyz" || q.Get("code") != "" {
		t.Fatalf("deny %v", q)
	}
	e.srv.SetAutoDeny(true)
	q, _, _ = e.authorize("GET", authURL, nil)
	if q.Get("error") != "access_denied" {
		t.Fatalf("auto deny %v", q)
	}
	e.srv.SetAutoDeny(false)

	// unknown client, redirect mismatch: an error page, no redirect
	bad := *cfg
	bad.ClientID = "nope"
	if _, st, _ := e.authorize("GET", bad.AuthCodeURL("s"), nil); st != 401 {
		t.Fatalf("unknown client: %d", st)
	}
	bad = *cfg
	bad.RedirectURL = "http://127.0.0.1:9/evil"
	if _, st, page := e.authorize("GET", bad.AuthCodeURL("s"), nil); st != 400 || !strings.Contains(page, "redirect_uri_mismatch") {
		t.Fatalf("redirect mismatch: %d", st)
	}

	// token endpoint: wrong secret → 401 invalid_client; redirect_uri must match
	e.srv.SetAutoApprove(alice)
	q, _, _ = e.authorize("GET", cfg.AuthCodeURL("s"), nil)
	wrong := *cfg
	wrong.ClientSecret = "wrong"
	_, err = wrong.Exchange(e.ctx, q.Get("code"))
	if re := retrieveErr(t, err, "invalid_client"); re.Response.StatusCode != 401 {
		t.Fatal(re.Response.StatusCode)
	}
	other := *cfg
	other.RedirectURL = "http://127.0.0.1:9/other"
	_, err = other.Exchange(e.ctx, q.Get("code"))
	retrieveErr(t, err, "redirect_uri_mismatch")
	if _, err := cfg.Exchange(e.ctx, q.Get("code")); err != nil {
		t.Fatal(err)
	}
	// an expired code
	q, _, _ = e.authorize("GET", cfg.AuthCodeURL("s"), nil)
	e.clock.Advance(11 * time.Minute)
	_, err = cfg.Exchange(e.ctx, q.Get("code"))
	retrieveErr(t, err, "invalid_grant")
	// a garbled refresh token
	_, err = cfg.TokenSource(e.ctx, &oauth2.Token{RefreshToken: "1//garbage"}).Token()
	retrieveErr(t, err, "invalid_grant")
}

func TestOAuthRevokeEndpointAndExpiry(t *testing.T) {
	e := newEnv(t)
	cfg := e.oauthConfig()
	e.srv.SetAutoApprove(alice)
	verifier := oauth2.GenerateVerifier()
	q, _, _ := e.authorize("GET", cfg.AuthCodeURL("s", oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(verifier)), nil)
	tok, err := cfg.Exchange(e.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	cal := e.calendarWith(tok.AccessToken)
	if _, err := cal.Events.List("primary").Do(); err != nil {
		t.Fatal(err)
	}
	// access tokens expire
	e.srv.ExpireAccessTokens()
	_, err = cal.Events.List("primary").Do()
	if ge := apiErr(t, err, 401); reason(ge) != "authError" || ge.Message != "Invalid Credentials" {
		t.Fatal(ge.Body)
	}
	nt, err := cfg.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.calendarWith(nt.AccessToken).Events.List("primary").Do(); err != nil {
		t.Fatal(err)
	}
	// access tokens also expire with the clock
	e.clock.Advance(time.Hour)
	_, err = e.calendarWith(nt.AccessToken).Events.List("primary").Do()
	apiErr(t, err, 401)

	// POST /revoke with the refresh token revokes the grant
	resp, err := http.PostForm(e.url+"/revoke", url.Values{"token": {tok.RefreshToken}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(err, resp.StatusCode)
	}
	resp.Body.Close()
	_, err = cfg.TokenSource(e.ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	retrieveErr(t, err, "invalid_grant")
	resp, _ = http.PostForm(e.url+"/revoke", url.Values{"token": {tok.RefreshToken}})
	if resp.StatusCode != 400 {
		t.Fatalf("revoke twice: %d", resp.StatusCode)
	}
	resp.Body.Close()
	// no token at all
	st, _, body := e.rawDo("GET", "/calendar/v3/calendars/primary/events", "", "")
	if st != 401 || !strings.Contains(body, `"reason":"authError"`) {
		t.Fatalf("no token: %d %s", st, body)
	}
}

func (e *env) calendarWith(accessToken string) *gcalService {
	e.t.Helper()
	svc, err := newCalendarService(e, accessToken)
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// TestOAuthIncrementalScopes: a second authorization with
// include_granted_scopes=true gets a token covering both consents; the
// grant lists every scope until it is revoked.
func TestOAuthIncrementalScopes(t *testing.T) {
	e := newEnv(t)
	e.srv.SetAutoApprove(alice)
	exchange := func(cfg *oauth2.Config, opts ...oauth2.AuthCodeOption) *oauth2.Token {
		t.Helper()
		q, _, body := e.authorize("GET", cfg.AuthCodeURL("st", append(opts, oauth2.AccessTypeOffline)...), nil)
		tok, err := cfg.Exchange(e.ctx, q.Get("code"))
		if err != nil {
			t.Fatalf("%v %s", err, body)
		}
		return tok
	}
	exchange(e.oauthConfig(ScopeContacts, "openid", "email"))
	if got := e.srv.GrantedScopes(alice); strings.Join(got, " ") != "email "+ScopeContacts+" openid" {
		t.Fatalf("after the first consent: %v", got)
	}
	// Without include_granted_scopes the new token covers only what it asked.
	tok := exchange(e.oauthConfig(ScopeCalendar))
	if sc, _ := tok.Extra("scope").(string); sc != ScopeCalendar {
		t.Errorf("token scope %q", sc)
	}
	if _, err := e.calendarWith(tok.AccessToken).CalendarList.List().Do(); err != nil {
		t.Errorf("calendar with its own scope: %v", err)
	}
	ps, _ := people.NewService(e.ctx, option.WithEndpoint(e.url+"/"),
		option.WithHTTPClient(oauth2.NewClient(e.ctx, oauth2.StaticTokenSource(tok))))
	if _, err := ps.People.Connections.List("people/me").PersonFields("names").Do(); err == nil {
		t.Error("a calendar-only token reads contacts")
	}
	// With it, the token covers both consents.
	tok = exchange(e.oauthConfig(ScopeCalendar), oauth2.SetAuthURLParam("include_granted_scopes", "true"))
	sc, _ := tok.Extra("scope").(string)
	for _, want := range []string{ScopeCalendar, ScopeContacts, "openid"} {
		if !strings.Contains(" "+sc+" ", " "+want+" ") {
			t.Errorf("incremental token scope %q lacks %s", sc, want)
		}
	}
	if got := e.srv.GrantedScopes(alice); len(got) != 4 {
		t.Errorf("granted %v", got)
	}
	e.srv.Revoke(alice)
	if got := e.srv.GrantedScopes(alice); len(got) != 0 {
		t.Errorf("after revoking: %v", got)
	}
}
