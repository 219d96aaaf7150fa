package oauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/emulator/msidentity"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/oauth/oauthtest"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// testTarget is a connection provider whose tokens are a Microsoft app's,
// as package mail's mailboxes are: the flow hands the grant back, the test
// keeps it on a connection of its own.
const testTarget = "testmail"

type msApps struct{ id, secret string }

func (a msApps) app() oauth.App {
	return oauth.App{Issuer: oauth.ProviderMicrosoft, ClientID: a.id, ClientSecret: a.secret, Scopes: oauth.MicrosoftMailScopes}
}

func (a msApps) FlowApp(context.Context, string) (oauth.App, error) { return a.app(), nil }

func (a msApps) ConnectionApp(context.Context, *store.Connection) (oauth.App, error) {
	return a.app(), nil
}

type msEnv struct {
	st   *store.Store
	set  *settings.Service
	box  *secret.Box
	svc  *oauth.Service
	m    *oauthtest.Microsoft
	user string
}

const msCallback = base + oauth.MicrosoftCallbackPath

func setupMicrosoft(t *testing.T, st *store.Store, opts msidentity.Options) *msEnv {
	t.Helper()
	ctx := context.Background()
	if st == nil {
		st = storetest.Open(t, false)
	}
	box, err := secret.New(bytes.Repeat([]byte{5}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	set := settings.New(st, box)
	e := &msEnv{st: st, set: set, box: box, svc: oauth.New(st, set, box, nil), m: oauthtest.NewMicrosoft(t, opts, msCallback)}
	if err := e.m.Configure(ctx, set); err != nil {
		t.Fatal(err)
	}
	e.svc.Register(testTarget, msApps{oauthtest.MicrosoftClientID, oauthtest.MicrosoftClientSecret})
	e.user = storetest.User(t, st, "julia@example.com").UserID
	return e
}

// consent runs Begin, the emulator's answer and Complete; it returns the
// authorization URL's query too.
func (e *msEnv) consent(t *testing.T, hint string) (*oauth.Result, url.Values, error) {
	t.Helper()
	ctx := context.Background()
	auth, err := e.svc.Begin(ctx, oauth.BeginRequest{Provider: oauth.ProviderMicrosoft, UserID: e.user, Session: session,
		BaseURL: base, LoginHint: hint, Target: testTarget, Data: `{"x":1}`})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(auth)
	if err != nil {
		t.Fatal(err)
	}
	back := noFollow(t, auth)
	res, err := e.svc.Complete(ctx, oauth.CallbackRequest{Provider: oauth.ProviderMicrosoft, UserID: e.user, Session: session,
		Query: back.Query()})
	return res, u.Query(), err
}

// keep stores a grant on a new connection of the test target, as package
// mail does for a mailbox.
func (e *msEnv) keep(t *testing.T, res *oauth.Result) *store.Connection {
	t.Helper()
	c := &store.Connection{UserID: e.user, Provider: testTarget, AccountEmail: res.Email}
	var sealErr error
	if _, err := e.st.UpsertConnection(context.Background(), c, func(id string) string {
		s, err := e.svc.SealGrant(id, res.Grant)
		sealErr = err
		return s
	}); err != nil || sealErr != nil {
		t.Fatal(err, sealErr)
	}
	return c
}

func (e *msEnv) creds(t *testing.T, connID string) map[string]any {
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

// refreshWith redeems a refresh token at the emulator directly.
func (e *msEnv) refreshWith(t *testing.T, rt string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(e.m.URL+"/common/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"},
		"client_id": {oauthtest.MicrosoftClientID}, "client_secret": {oauthtest.MicrosoftClientSecret}, "refresh_token": {rt}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Error
}

// The Microsoft identity platform as an issuer: the authorization asks
// Microsoft's way for the mail scopes, the code is exchanged with PKCE and
// the scopes named, and the account is the id_token's.
func TestMicrosoftFlow(t *testing.T) {
	e := setupMicrosoft(t, nil, msidentity.Options{})
	e.m.AddUser("adele@contoso.test", "Adele Vance")
	e.m.SetAutoApprove("adele@contoso.test")
	res, q, err := e.consent(t, "adele@contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	wantScope := oauth.MicrosoftScopeIMAP + " " + oauth.MicrosoftScopeSMTP + " offline_access openid email profile"
	if q.Get("scope") != wantScope || q.Get("client_id") != oauthtest.MicrosoftClientID || q.Get("redirect_uri") != msCallback ||
		q.Get("response_type") != "code" || q.Get("response_mode") != "query" || q.Get("code_challenge_method") != "S256" ||
		q.Get("login_hint") != "adele@contoso.test" {
		t.Errorf("authorization asked %v", q)
	}
	for _, k := range []string{"access_type", "include_granted_scopes", "prompt"} {
		if q.Has(k) {
			t.Errorf("authorization has Google's %s", k)
		}
	}
	if auths := e.m.Authorizations(); len(auths) != 1 {
		t.Errorf("authorizations %v", auths)
	}
	if res.Email != "adele@contoso.test" || res.Target != testTarget || res.Data != `{"x":1}` || res.Connection != nil ||
		len(res.MissingScopes) != 0 || res.Grant.AccessToken() == "" {
		t.Fatalf("result %+v", res)
	}
	if sc := res.Grant.Scopes(); strings.Join(sc, " ") != oauth.MicrosoftScopeIMAP+" "+oauth.MicrosoftScopeSMTP {
		t.Errorf("granted %v", sc)
	}
	reqs := e.m.TokenRequests()
	if len(reqs) != 1 || reqs[0].Get("grant_type") != "authorization_code" || reqs[0].Get("scope") != wantScope ||
		reqs[0].Get("code_verifier") == "" {
		t.Errorf("code exchange %v", reqs)
	}

	// The user cancels on the consent page.
	e.m.SetAutoDeny(true)
	_, _, err = e.consent(t, "adele@contoso.test")
	var fe *oauth.FlowError
	if !errors.As(err, &fe) || fe.Code != oauth.CodeAccessDenied || fe.Issuer != oauth.ProviderMicrosoft || fe.Target != testTarget {
		t.Fatalf("denied: %v", err)
	}
	e.m.SetAutoDeny(false)

	// A secret that no longer matches the app's (rotated in Entra).
	e.svc.Register(testTarget, msApps{oauthtest.MicrosoftClientID, "an-old-secret"})
	e.m.SetAutoApprove("adele@contoso.test")
	_, _, err = e.consent(t, "")
	if !errors.As(err, &fe) || fe.Code != oauth.CodeFailed || !strings.Contains(err.Error(), "invalid_client") ||
		!strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("bad secret: %v", err)
	}

	// Without keys, nothing starts.
	e.svc.Register(testTarget, msApps{oauthtest.MicrosoftClientID, ""})
	_, err = e.svc.Begin(context.Background(), oauth.BeginRequest{Provider: oauth.ProviderMicrosoft, UserID: e.user,
		Session: session, BaseURL: base, Target: testTarget})
	if !errors.As(err, &fe) || fe.Code != oauth.CodeNotConfigured || fe.Issuer != oauth.ProviderMicrosoft {
		t.Fatalf("no secret: %v", err)
	}
}

// A personal account signs in at the consumers tenant; the account's
// address is still the id_token's.
func TestMicrosoftTenant(t *testing.T) {
	e := setupMicrosoft(t, nil, msidentity.Options{})
	ctx := context.Background()
	if err := e.set.Put(ctx, "MicrosoftTenantId", "consumers", "t"); err != nil {
		t.Fatal(err)
	}
	ep, err := oauth.Microsoft(ctx, e.set)
	if err != nil || ep.AuthURL != e.m.URL+"/consumers/oauth2/v2.0/authorize" || ep.TokenURL != e.m.URL+"/consumers/oauth2/v2.0/token" {
		t.Fatalf("endpoints %+v %v", ep, err)
	}
	e.m.AddUser("pat@outlook.com", "Pat")
	e.m.SetAutoApprove("pat@outlook.com")
	res, q, err := e.consent(t, "")
	if err != nil || res.Email != "pat@outlook.com" || q.Has("login_hint") {
		t.Fatalf("personal account: %+v %v %v", res, q, err)
	}
	// The settings' defaults are Microsoft's own host and common.
	if err := e.set.Put(ctx, "MicrosoftAuthorityUrl", "", "t"); err != nil {
		t.Fatal(err)
	}
	if err := e.set.Put(ctx, "MicrosoftTenantId", "", "t"); err != nil {
		t.Fatal(err)
	}
	if ep, _ := oauth.Microsoft(ctx, e.set); ep.AuthURL != "https://login.microsoftonline.com/common/oauth2/v2.0/authorize" {
		t.Errorf("default endpoints %+v", ep)
	}
}

// Microsoft rotates refresh tokens: each refresh's new one is stored, and
// the emulator, told to refuse a used one, proves the old is never sent
// again. Each refresh names the resource's scopes.
func TestMicrosoftRefreshRotation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := setupMicrosoft(t, st, msidentity.Options{InvalidateRotated: true})
		ctx := context.Background()
		e.m.AddUser("adele@contoso.test", "Adele")
		e.m.SetAutoApprove("adele@contoso.test")
		res, _, err := e.consent(t, "")
		if err != nil {
			t.Fatal(err)
		}
		c := e.keep(t, res)
		rt := e.creds(t, c.ID)["refresh_token"].(string)
		access := res.Grant.AccessToken()
		for i := 1; i <= 3; i++ {
			e.m.ExpireAccessTokens()
			n := len(e.m.TokenRequests())
			tok, err := e.svc.Refresh(ctx, c.ID, access)
			if err != nil {
				t.Fatalf("refresh %d: %v", i, err)
			}
			if reqs := e.m.TokenRequests()[n:]; len(reqs) != 1 || reqs[0].Get("grant_type") != "refresh_token" ||
				reqs[0].Get("refresh_token") != rt ||
				reqs[0].Get("scope") != oauth.MicrosoftScopeIMAP+" "+oauth.MicrosoftScopeSMTP+" offline_access openid email profile" {
				t.Errorf("refresh %d asked %v", i, reqs)
			}
			next := e.creds(t, c.ID)["refresh_token"].(string)
			if tok.AccessToken == access || next == rt || next == "" {
				t.Fatalf("refresh %d: access %v, refresh token rotated %v", i, tok.AccessToken != access, next != rt)
			}
			if status, code := e.refreshWith(t, rt); status != 400 || code != "invalid_grant" {
				t.Errorf("refresh %d: the old refresh token still works (%d %s)", i, status, code)
			}
			rt, access = next, tok.AccessToken
		}
		if n := e.m.Refreshes(); n != 3 {
			t.Errorf("refreshes %d, want 3", n)
		}
		// The token source reuses the stored token until it is due.
		tok, err := e.svc.TokenSource(ctx, c.ID).Token()
		if err != nil || tok.AccessToken != access || e.m.Refreshes() != 3 {
			t.Errorf("token source: %v (refreshes %d)", err, e.m.Refreshes())
		}
	})
}

// A revoked grant: invalid_grant with AADSTS50173 turns that connection
// needs_reauth with Microsoft's first line as the reason; nothing is asked
// again; a new consent brings it back.
func TestMicrosoftInvalidGrant(t *testing.T) {
	e := setupMicrosoft(t, nil, msidentity.Options{})
	ctx := context.Background()
	e.m.AddUser("adele@contoso.test", "Adele")
	e.m.AddUser("megan@contoso.test", "Megan")
	e.m.SetAutoApprove("adele@contoso.test")
	res, _, err := e.consent(t, "")
	if err != nil {
		t.Fatal(err)
	}
	revoked := e.keep(t, res)
	e.m.SetAutoApprove("megan@contoso.test")
	res2, _, err := e.consent(t, "")
	if err != nil {
		t.Fatal(err)
	}
	kept := e.keep(t, res2)

	e.m.Revoke("adele@contoso.test")
	_, err = e.svc.Refresh(ctx, revoked.ID, res.Grant.AccessToken())
	var re *oauth.ReauthError
	if !errors.Is(err, oauth.ErrNeedsReauth) || !errors.As(err, &re) || re.ConnectionID != revoked.ID {
		t.Fatalf("revoked grant: %v", err)
	}
	got, _ := e.st.GetConnection(ctx, revoked.ID)
	if got.Status != store.ConnectionNeedsReauth || !strings.HasPrefix(got.StatusReason, "AADSTS50173: ") ||
		strings.Contains(got.StatusReason, "Trace ID") {
		t.Fatalf("status %q reason %q", got.Status, got.StatusReason)
	}
	n := len(e.m.TokenRequests())
	if _, err := e.svc.TokenSource(ctx, revoked.ID).Token(); !errors.Is(err, oauth.ErrNeedsReauth) || len(e.m.TokenRequests()) != n {
		t.Errorf("a needs_reauth connection: %v (asked again: %v)", err, len(e.m.TokenRequests()) != n)
	}
	if _, err := e.svc.Refresh(ctx, kept.ID, res2.Grant.AccessToken()); err != nil {
		t.Errorf("the other account: %v", err)
	}
	if k, _ := e.st.GetConnection(ctx, kept.ID); k.Status != store.ConnectionActive {
		t.Errorf("other connection %q", k.Status)
	}
	// Consenting again; the target stores the new grant (as mail's renew).
	e.m.SetAutoApprove("adele@contoso.test")
	res, _, err = e.consent(t, "adele@contoso.test")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := e.svc.SealGrant(revoked.ID, res.Grant)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SaveConnectionCredentials(ctx, revoked.ID, sealed, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.st.UpdateConnectionStatus(ctx, revoked.ID, store.ConnectionActive, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Refresh(ctx, revoked.ID, res.Grant.AccessToken()); err != nil {
		t.Errorf("after a new consent: %v", err)
	}
}
