package oauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/oauth/oauthtest"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type env struct {
	st   *store.Store
	set  *settings.Service
	box  *secret.Box
	svc  *oauth.Service
	g    *oauthtest.Google
	user string
}

const (
	session  = "csrf-token-of-the-session"
	base     = "http://127.0.0.1:9" // the request host Begin derives the redirect URI from
	callback = base + oauth.GoogleCallbackPath
)

// setup opens a store, starts the Google emulator with Tandem's client
// registered and user@gmail.com approving, and makes a Tandem user.
func setup(t *testing.T, pg bool) *env {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, pg)
	box, err := secret.New(bytes.Repeat([]byte{3}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	set := settings.New(st, box)
	e := &env{st: st, set: set, box: box, svc: oauth.New(st, set, box, nil), g: oauthtest.New(t, google.Options{}, callback)}
	if err := e.g.Configure(ctx, set); err != nil {
		t.Fatal(err)
	}
	e.account("user@gmail.com", "Test User")
	e.user = storetest.User(t, st, "julia@example.com").UserID
	return e
}

// account makes the emulator approve the next authorizations as email.
func (e *env) account(email, name string) {
	e.g.AddUser(email, name)
	e.g.SetAutoApprove(email)
}

// creds opens a connection's stored credentials (a test may know their
// JSON shape: access_token, refresh_token, expiry).
func (e *env) creds(t *testing.T, connID string) map[string]any {
	t.Helper()
	sealed, err := e.st.ConnectionCredentials(context.Background(), connID)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := e.box.Open(sealed, "connection:"+connID)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal([]byte(plain), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// expire makes a connection's stored access token due for refresh.
func (e *env) expire(t *testing.T, connID string) {
	t.Helper()
	m := e.creds(t, connID)
	m["expiry"] = time.Now().Add(-time.Minute).Format(time.RFC3339)
	b, _ := json.Marshal(m)
	if _, err := e.st.SaveConnectionCredentials(context.Background(), connID, e.box.Seal(string(b), "connection:"+connID), ""); err != nil {
		t.Fatal(err)
	}
}

// noFollow fetches a URL without following redirects and returns Location.
func noFollow(t *testing.T, u string) *url.URL {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET %s: status %d", u, resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// connect runs the whole flow for the account the emulator approves as.
func (e *env) connect(t *testing.T, user, hint string) *oauth.Result {
	t.Helper()
	ctx := context.Background()
	auth, err := e.svc.Begin(ctx, oauth.BeginRequest{Provider: oauth.ProviderGoogle, UserID: user, Session: session,
		BaseURL: base, LoginHint: hint})
	if err != nil {
		t.Fatal(err)
	}
	back := noFollow(t, auth)
	res, err := e.svc.Complete(ctx, oauth.CallbackRequest{Provider: oauth.ProviderGoogle, UserID: user, Session: session,
		Query: back.Query()})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// connectScopes are the scopes a connection asks for with every feature
// on: all Tandem registers but mail's, which only adding a mailbox asks.
func connectScopes() []string {
	return slices.DeleteFunc(slices.Clone(oauth.GoogleScopes), func(s string) bool { return s == oauth.GoogleScopeMail })
}

func flowCode(err error) string {
	var fe *oauth.FlowError
	if errors.As(err, &fe) {
		return fe.Code
	}
	return ""
}

func TestGoogleConfig(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, false)
	box, _ := secret.New(bytes.Repeat([]byte{3}, secret.KeySize))
	set := settings.New(st, box)
	put := func(code, v string) {
		t.Helper()
		if err := set.Put(ctx, code, v, "t"); err != nil {
			t.Fatal(err)
		}
	}
	// The default: the shared app, which Tandem does not ship.
	if _, err := oauth.GoogleConfig(ctx, set); !errors.Is(err, oauth.ErrSharedApp) {
		t.Fatalf("default: %v, want ErrSharedApp", err)
	}
	put("GoogleClientId", "id")
	put("GoogleClientSecret", "secret")
	if _, err := oauth.GoogleConfig(ctx, set); !errors.Is(err, oauth.ErrSharedApp) {
		t.Fatalf("keys with the shared app on: %v, want ErrSharedApp", err)
	}
	put("UseSharedGoogleApp", "false")
	put("GoogleClientSecret", "")
	if _, err := oauth.GoogleConfig(ctx, set); !errors.Is(err, oauth.ErrNotConfigured) {
		t.Fatalf("no secret: %v, want ErrNotConfigured", err)
	}
	put("GoogleClientSecret", "secret")
	cfg, err := oauth.GoogleConfig(ctx, set)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientID != "id" || cfg.ClientSecret != "secret" || cfg.RedirectURL != "" ||
		cfg.Endpoint.AuthURL != "https://accounts.google.com/o/oauth2/v2/auth" ||
		cfg.Endpoint.TokenURL != "https://oauth2.googleapis.com/token" ||
		!slices.Equal(cfg.Scopes, []string{oauth.GoogleScopeContacts, "openid", "email", "profile"}) {
		t.Errorf("config %+v", cfg)
	}
	// The calendar's scope once Google is the calendar integration.
	put("CalendarIntegration", "google")
	if cfg, _ = oauth.GoogleConfig(ctx, set); !slices.Equal(cfg.Scopes, connectScopes()) ||
		!slices.Contains(cfg.Scopes, oauth.GoogleScopeCalendar) {
		t.Errorf("scopes with the calendar on: %v", cfg.Scopes)
	}
	put("CalendarIntegration", "none")
	put("SiteUrl", "https://crm.example.com/")
	if cfg, _ = oauth.GoogleConfig(ctx, set); cfg.RedirectURL != "https://crm.example.com/oauth/google/callback" {
		t.Errorf("redirect %q", cfg.RedirectURL)
	}

	e, err := oauth.Google(ctx, set)
	if err != nil {
		t.Fatal(err)
	}
	want := oauth.GoogleEndpoints{AuthURL: "https://accounts.google.com/o/oauth2/v2/auth", TokenURL: "https://oauth2.googleapis.com/token",
		UserInfoURL: "https://openidconnect.googleapis.com/v1/userinfo", PeopleURL: "https://people.googleapis.com/",
		CalendarURL: "https://www.googleapis.com/calendar/v3/"}
	if e != want {
		t.Errorf("real endpoints %+v", e)
	}
	put("GoogleApiUrl", "http://127.0.0.1:8085/")
	e, _ = oauth.Google(ctx, set)
	if e.PeopleURL != "http://127.0.0.1:8085/" || e.CalendarURL != "http://127.0.0.1:8085/calendar/v3/" ||
		e.UserInfoURL != "http://127.0.0.1:8085/oauth2/v3/userinfo" {
		t.Errorf("emulator endpoints %+v", e)
	}
	put("GoogleUserInfoUrl", "http://127.0.0.1:9/me")
	if e, _ = oauth.Google(ctx, set); e.UserInfoURL != "http://127.0.0.1:9/me" {
		t.Errorf("explicit user info %q", e.UserInfoURL)
	}
}

func TestFlow(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			testFlow(t, setup(t, db == "postgres"))
		})
	}
}

func testFlow(t *testing.T, e *env) {
	ctx := context.Background()
	auth, err := e.svc.Begin(ctx, oauth.BeginRequest{Provider: oauth.ProviderGoogle, UserID: e.user, Session: session,
		BaseURL: base})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(auth)
	q := u.Query()
	if !strings.HasPrefix(auth, e.g.URL+oauthtest.AuthPath+"?") || q.Get("client_id") != oauthtest.ClientID ||
		q.Get("redirect_uri") != callback || q.Get("response_type") != "code" ||
		q.Get("scope") != strings.Join(connectScopes(), " ") || q.Get("access_type") != "offline" ||
		q.Get("prompt") != "consent" || q.Get("include_granted_scopes") != "true" || q.Get("code_challenge_method") != "S256" ||
		len(q.Get("code_challenge")) != 43 || len(q.Get("state")) < 43 || q.Has("login_hint") {
		t.Fatalf("authorization URL %s", auth)
	}
	back := noFollow(t, auth)
	if back.Path != oauth.GoogleCallbackPath || back.Query().Get("state") != q.Get("state") || back.Query().Get("code") == "" {
		t.Fatalf("callback %s", back)
	}
	// The state belongs to this user and this browser session.
	other := storetest.User(t, e.st, "mallory@example.com").UserID
	cb := func(user, sess string) error {
		_, err := e.svc.Complete(ctx, oauth.CallbackRequest{Provider: oauth.ProviderGoogle, UserID: user, Session: sess, Query: back.Query()})
		return err
	}
	if err := cb(other, session); flowCode(err) != oauth.CodeBadState {
		t.Fatalf("another user's callback: %v", err)
	}
	// That attempt used the state up: it cannot be replayed by its owner either.
	if err := cb(e.user, session); flowCode(err) != oauth.CodeBadState {
		t.Fatalf("replayed state: %v", err)
	}
	if cs, _ := e.st.ListConnections(ctx, e.user); len(cs) != 0 {
		t.Fatalf("connections after bad states: %+v", cs)
	}

	e.account("Julia.Petrova@gmail.com", "Юлия Петрова")
	res := e.connect(t, e.user, "")
	c := res.Connection
	if !res.Created || c.Provider != "google" || c.AccountEmail != "julia.petrova@gmail.com" || c.DisplayName != "Юлия Петрова" ||
		c.Status != store.ConnectionActive || c.Scopes != strings.Join(connectScopes(), " ") || len(res.MissingScopes) != 0 {
		t.Fatalf("result %+v, connection %+v", res, c)
	}
	sealed, err := e.st.ConnectionCredentials(ctx, c.ID)
	if err != nil || !strings.HasPrefix(sealed, "v1:") {
		t.Fatalf("credentials %q, %v", sealed, err)
	}
	cr := e.creds(t, c.ID)
	for _, k := range []string{"access_token", "refresh_token"} {
		tok, _ := cr[k].(string)
		if len(tok) < 20 || strings.Contains(sealed, tok) || strings.Contains(sealed, tok[5:]) {
			t.Fatalf("%s %q is missing or readable in connections.credentials", k, tok)
		}
	}
	tok, err := e.svc.TokenSource(ctx, c.ID).Token()
	if err != nil || !strings.HasPrefix(tok.AccessToken, "ya29.") || tok.Expiry.IsZero() {
		t.Fatalf("token %+v, %v", tok, err)
	}
	if e.g.Refreshes() != 0 {
		t.Error("a fresh token was refreshed")
	}

	// Connecting the same account again renews the one connection.
	res2 := e.connect(t, e.user, "julia.petrova@gmail.com")
	if res2.Created || res2.Connection.ID != c.ID || res2.OtherAccount {
		t.Fatalf("reconnect %+v", res2)
	}
	auths := e.g.Authorizations()
	if got := auths[len(auths)-1].Get("login_hint"); got != "julia.petrova@gmail.com" {
		t.Errorf("login_hint %q", got)
	}
	if cs, _ := e.st.ListConnections(ctx, e.user); len(cs) != 1 {
		t.Fatalf("%d connections after reconnecting", len(cs))
	}
}

func TestFlowErrors(t *testing.T) {
	e := setup(t, false)
	ctx := context.Background()
	begin := func() url.Values {
		t.Helper()
		auth, err := e.svc.Begin(ctx, oauth.BeginRequest{Provider: oauth.ProviderGoogle, UserID: e.user, Session: session,
			BaseURL: base})
		if err != nil {
			t.Fatal(err)
		}
		return noFollow(t, auth).Query()
	}
	complete := func(q url.Values, sess string) error {
		_, err := e.svc.Complete(ctx, oauth.CallbackRequest{Provider: oauth.ProviderGoogle, UserID: e.user, Session: sess, Query: q})
		return err
	}
	// Another session of the same user.
	if err := complete(begin(), "other-session"); flowCode(err) != oauth.CodeBadState {
		t.Errorf("other session: %v", err)
	}
	// No state, an invented one.
	q := begin()
	q.Del("state")
	if err := complete(q, session); flowCode(err) != oauth.CodeBadState {
		t.Errorf("no state: %v", err)
	}
	q.Set("state", "invented")
	if err := complete(q, session); flowCode(err) != oauth.CodeBadState {
		t.Errorf("invented state: %v", err)
	}
	// The user cancels on the consent screen.
	e.g.SetAutoDeny(true)
	q = begin()
	if q.Get("error") != "access_denied" {
		t.Fatalf("emulator did not deny: %v", q)
	}
	if err := complete(q, session); flowCode(err) != oauth.CodeAccessDenied {
		t.Errorf("access denied: %v", err)
	}
	e.account("user@gmail.com", "")
	// Another provider error; its code is shown only if it is a plain word.
	q = begin()
	q.Del("code")
	q.Set("error", "admin_policy_enforced")
	var fe *oauth.FlowError
	if err := complete(q, session); !errors.As(err, &fe) || fe.Code != oauth.CodeProvider || fe.Detail != "admin_policy_enforced" {
		t.Errorf("provider error: %v", err)
	}
	q = begin()
	q.Del("code")
	q.Set("error", "<b>evil</b>")
	if err := complete(q, session); !errors.As(err, &fe) || fe.Code != oauth.CodeProvider || fe.Detail != "" {
		t.Errorf("odd provider error: %v", err)
	}
	// A code Google refuses (expired, forged).
	q = begin()
	q.Set("code", "4/forged")
	if err := complete(q, session); flowCode(err) != oauth.CodeInvalidGrant {
		t.Errorf("forged code: %v", err)
	}
	// An expired state.
	q = begin()
	expired := &store.OAuthState{StateHash: "x", UserID: e.user, SessionHash: "y", Provider: "google", Verifier: "v",
		RedirectURI: "http://127.0.0.1:9/oauth/google/callback", ExpiresAt: crm.Micros(crm.Now()) - 1}
	if err := e.st.CreateOAuthState(ctx, expired); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.TakeOAuthState(ctx, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired state taken: %v", err)
	}
	if cs, _ := e.st.ListConnections(ctx, e.user); len(cs) != 0 {
		t.Fatalf("connections after failures: %+v", cs)
	}
	// Configuration errors.
	e.set.Put(ctx, "UseSharedGoogleApp", "true", "t")
	if _, err := e.svc.Begin(ctx, oauth.BeginRequest{Provider: oauth.ProviderGoogle, UserID: e.user, Session: session,
		BaseURL: "http://x"}); flowCode(err) != oauth.CodeSharedApp {
		t.Errorf("shared app: %v", err)
	}
	if err := complete(q, session); flowCode(err) != oauth.CodeSharedApp {
		t.Errorf("shared app at the callback: %v", err)
	}
	e.set.Put(ctx, "UseSharedGoogleApp", "false", "t")
	e.set.Put(ctx, "GoogleClientId", "", "t")
	if _, err := e.svc.Begin(ctx, oauth.BeginRequest{Provider: oauth.ProviderGoogle, UserID: e.user, Session: session,
		BaseURL: "http://x"}); flowCode(err) != oauth.CodeNotConfigured {
		t.Errorf("no client id: %v", err)
	}
}

func TestTokenRefresh(t *testing.T) {
	e := setup(t, false)
	ctx := context.Background()
	c := e.connect(t, e.user, "").Connection
	refresh := e.creds(t, c.ID)["refresh_token"]
	e.expire(t, c.ID)
	before, _ := e.st.ConnectionCredentials(ctx, c.ID)

	ts := e.svc.TokenSource(ctx, c.ID)
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if e.g.Refreshes() != 1 {
		t.Fatalf("%d refreshes, want 1", e.g.Refreshes())
	}
	after, _ := e.st.ConnectionCredentials(ctx, c.ID)
	cr := e.creds(t, c.ID)
	if after == before || cr["access_token"] != tok.AccessToken {
		t.Fatal("refreshed token not stored")
	}
	// Google sent no new refresh token: the old one is kept.
	if cr["refresh_token"] != refresh {
		t.Fatalf("refresh token %v, want the old one", cr["refresh_token"])
	}
	// The stored token is reused, by this source and by a new one (a new run).
	for _, src := range []oauth2.TokenSource{ts, e.svc.TokenSource(ctx, c.ID)} {
		if t2, err := src.Token(); err != nil || t2.AccessToken != tok.AccessToken {
			t.Fatalf("reuse: %v", err)
		}
	}
	// And it works again when the next token is due.
	e.expire(t, c.ID)
	if _, err := e.svc.TokenSource(ctx, c.ID).Token(); err != nil {
		t.Fatalf("refresh with the kept refresh token: %v", err)
	}
	if e.g.Refreshes() != 2 {
		t.Fatalf("%d refreshes, want 2", e.g.Refreshes())
	}
}

// A provider that rotates refresh tokens (Google does not; Microsoft
// does): the new one is stored with the access token, or the next refresh
// would fail. A minimal token endpoint stands in for such a provider.
func TestRefreshTokenRotation(t *testing.T) {
	e := setup(t, false)
	ctx := context.Background()
	c := e.connect(t, e.user, "").Connection
	var mu sync.Mutex
	valid := map[string]bool{e.creds(t, c.ID)["refresh_token"].(string): true}
	n := 0
	rotating := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		rt := r.PostFormValue("refresh_token")
		w.Header().Set("Content-Type", "application/json")
		if r.PostFormValue("grant_type") != "refresh_token" || !valid[rt] {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_grant","error_description":"Token has been expired or revoked."}`)
			return
		}
		delete(valid, rt)
		n++
		next := fmt.Sprintf("rotated-refresh-%d", n)
		valid[next] = true
		fmt.Fprintf(w, `{"access_token":"rotated-access-%d","expires_in":3599,"refresh_token":%q,"token_type":"Bearer"}`, n, next)
	}))
	defer rotating.Close()
	if err := e.set.Put(ctx, "GoogleTokenUrl", rotating.URL, "t"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		e.expire(t, c.ID)
		tok, err := e.svc.TokenSource(ctx, c.ID).Token()
		if err != nil || tok.AccessToken != fmt.Sprintf("rotated-access-%d", i) {
			t.Fatalf("refresh %d with rotation: %v", i, err)
		}
		if got := e.creds(t, c.ID)["refresh_token"]; got != fmt.Sprintf("rotated-refresh-%d", i) {
			t.Fatalf("stored refresh token %v after refresh %d", got, i)
		}
	}
}

func TestConcurrentRefresh(t *testing.T) {
	e := setup(t, false)
	ctx := context.Background()
	c := e.connect(t, e.user, "").Connection
	e.expire(t, c.ID)
	var wg sync.WaitGroup
	toks := make([]string, 8)
	for i := range toks {
		wg.Go(func() {
			tok, err := e.svc.TokenSource(ctx, c.ID).Token()
			if err != nil {
				t.Error(err)
				return
			}
			toks[i] = tok.AccessToken
		})
	}
	wg.Wait()
	if n := e.g.Refreshes(); n != 1 {
		t.Errorf("%d refreshes for 8 concurrent runs, want 1", n)
	}
	for _, tok := range toks {
		if tok != toks[0] {
			t.Errorf("runs got different tokens")
		}
	}
}

func TestInvalidGrant(t *testing.T) {
	e := setup(t, false)
	ctx := context.Background()
	e.account("work@gmail.com", "Work")
	revoked := e.connect(t, e.user, "").Connection
	e.account("home@gmail.com", "Home")
	kept := e.connect(t, e.user, "").Connection
	e.expire(t, revoked.ID)
	e.expire(t, kept.ID)

	e.g.Revoke("work@gmail.com")
	_, err := e.svc.TokenSource(ctx, revoked.ID).Token()
	var re *oauth.ReauthError
	if !errors.Is(err, oauth.ErrNeedsReauth) || !errors.As(err, &re) || re.ConnectionID != revoked.ID {
		t.Fatalf("revoked grant: %v", err)
	}
	got, _ := e.st.GetConnection(ctx, revoked.ID)
	if got.Status != store.ConnectionNeedsReauth || got.StatusReason != "Token has been expired or revoked." {
		t.Fatalf("status %q reason %q", got.Status, got.StatusReason)
	}
	// Not retried: the next run stops at once, without asking Google.
	calls := e.g.Calls()["oauth.token"]
	if _, err := e.svc.Client(ctx, revoked.ID).Get(e.g.URL + oauthtest.UserInfoPath); !errors.Is(err, oauth.ErrNeedsReauth) {
		t.Fatalf("client of a needs_reauth connection: %v", err)
	}
	if e.g.Calls()["oauth.token"] != calls {
		t.Error("a needs_reauth connection asked for a token")
	}
	// The other account keeps working.
	n := e.g.Refreshes()
	resp, err := e.svc.Client(ctx, kept.ID).Get(e.g.URL + oauthtest.UserInfoPath)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("other connection: %v", err)
	}
	resp.Body.Close()
	if e.g.Refreshes() != n+1 {
		t.Errorf("refreshes %d, want %d", e.g.Refreshes(), n+1)
	}
	if k, _ := e.st.GetConnection(ctx, kept.ID); k.Status != store.ConnectionActive {
		t.Errorf("other connection %q", k.Status)
	}
	// Reconnecting makes it active again.
	e.account("work@gmail.com", "Work")
	res := e.connect(t, e.user, "work@gmail.com")
	if res.Connection.ID != revoked.ID || res.Connection.Status != store.ConnectionActive {
		t.Fatalf("reconnect %+v", res.Connection)
	}
	e.expire(t, revoked.ID)
	if _, err := e.svc.TokenSource(ctx, revoked.ID).Token(); err != nil {
		t.Fatal(err)
	}
	// Signing in to another account than the one being reconnected.
	e.account("someone.else@gmail.com", "")
	if res := e.connect(t, e.user, "work@gmail.com"); !res.OtherAccount || !res.Created {
		t.Errorf("other account %+v", res)
	}
}
