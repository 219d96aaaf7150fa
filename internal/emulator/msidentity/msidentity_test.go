package msidentity_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/emulator/msidentity"
)

const (
	clientID = "0c5d1a36-7c1a-4f2e-9d3c-5b8f00a1b2c3"
	secret   = "Tandem~test~secret~value"
	redirect = "http://127.0.0.1:9/oauth/microsoft/callback"
	verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-and-some-more"
)

var mailScopes = []string{msidentity.ScopeIMAP, msidentity.ScopeSMTP, "offline_access", "openid", "email", "profile"}

// clock is a settable time for the emulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	s   *msidentity.Server
	url string
	clk *clock
}

func newEnv(t *testing.T, opts msidentity.Options) *env {
	t.Helper()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	opts.Now = clk.now
	s := msidentity.New(opts)
	s.AddClient(clientID, secret, redirect)
	s.AddUser("adele@contoso.test", "Adele Vance")
	s.AddUser("pat@outlook.com", "Pat")
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{s: s, url: srv.URL, clk: clk}
}

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authorizeURL is the authorization request Tandem sends.
func (e *env) authorizeURL(tenant string, extra url.Values) string {
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirect},
		"scope": {strings.Join(mailScopes, " ")}, "state": {"st4te"}, "response_mode": {"query"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}, "login_hint": {"adele@contoso.test"}}
	for k, v := range extra {
		q[k] = v
	}
	return e.url + "/" + tenant + "/oauth2/v2.0/authorize?" + q.Encode()
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get fetches u without following redirects.
func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := noFollow.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// back is the redirect back to the client: its query.
func back(t *testing.T, resp *http.Response, body string) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want a redirect back: %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), redirect+"?") {
		t.Fatalf("redirected to %q", resp.Header.Get("Location"))
	}
	return loc.Query()
}

// follow fetches an authorization URL and returns the query it redirects
// back with.
func follow(t *testing.T, u string) url.Values {
	t.Helper()
	resp, body := get(t, u)
	return back(t, resp, body)
}

// code runs the authorization as the auto-approved user and returns the code.
func (e *env) code(t *testing.T, email, tenant string, extra url.Values) string {
	t.Helper()
	e.s.SetAutoApprove(email)
	q := follow(t, e.authorizeURL(tenant, extra))
	if q.Get("code") == "" || q.Get("state") != "st4te" {
		t.Fatalf("authorization answered %v", q)
	}
	return q.Get("code")
}

type tokenResp struct {
	status int
	body   map[string]any
}

func (r tokenResp) str(k string) string { s, _ := r.body[k].(string); return s }

func (e *env) token(t *testing.T, tenant string, form url.Values) tokenResp {
	t.Helper()
	resp, err := http.PostForm(e.url+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := map[string]any{}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("token answer: %v", err)
	}
	return tokenResp{status: resp.StatusCode, body: m}
}

func exchange(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "client_secret": {secret},
		"code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier},
		"scope": {strings.Join(mailScopes, " ")}}
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "client_secret": {secret},
		"refresh_token": {rt}, "scope": {strings.Join(mailScopes, " ")}}
}

// wantAAD checks Microsoft's error shape: the error, the AADSTS number
// in the description and error_codes, the trace, correlation and time.
func wantAAD(t *testing.T, what string, r tokenResp, status int, errCode string, aadsts int) {
	t.Helper()
	if r.status != status || r.str("error") != errCode {
		t.Fatalf("%s: %d %v, want %d %s", what, r.status, r.body, status, errCode)
	}
	desc := r.str("error_description")
	codes, _ := r.body["error_codes"].([]any)
	if !strings.HasPrefix(desc, "AADSTS"+itoa(aadsts)+": ") || !strings.Contains(desc, "\r\nTrace ID: "+r.str("trace_id")) ||
		!strings.Contains(desc, "\r\nCorrelation ID: "+r.str("correlation_id")) || len(codes) != 1 || codes[0] != float64(aadsts) {
		t.Errorf("%s: error body %v", what, r.body)
	}
	if _, err := time.Parse("2006-01-02 15:04:05Z", r.str("timestamp")); err != nil || len(r.str("trace_id")) != 36 {
		t.Errorf("%s: timestamp %q trace %q", what, r.str("timestamp"), r.str("trace_id"))
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// claims decodes a JWT's payload, checking it has three parts.
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || parts[2] == "" {
		t.Fatalf("not a JWT: %q", jwt)
	}
	var h map[string]any
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &h) != nil || h["typ"] != "JWT" || h["alg"] == "" {
		t.Fatalf("JWT header %s: %v", hb, err)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (e *env) tokenInfo(t *testing.T, at string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(e.url + "/emulator/tokeninfo?access_token=" + url.QueryEscape(at))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := map[string]string{}
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// The whole flow with PKCE: the code for the mail scopes, the tokens, the
// id_token naming the account, the token information a mail server reads.
func TestAuthorizeToken(t *testing.T) {
	e := newEnv(t, msidentity.Options{})
	code := e.code(t, "adele@contoso.test", "common", nil)
	r := e.token(t, "common", exchange(code))
	if r.status != 200 || r.str("token_type") != "Bearer" || r.str("access_token") == "" || r.str("refresh_token") == "" ||
		r.body["expires_in"] != float64(3599) || r.body["ext_expires_in"] != float64(3599) {
		t.Fatalf("tokens %d %v", r.status, r.body)
	}
	if r.str("scope") != msidentity.ScopeIMAP+" "+msidentity.ScopeSMTP {
		t.Errorf("scope %q: one resource's scopes", r.str("scope"))
	}
	c := claims(t, r.str("id_token"))
	if c["preferred_username"] != "adele@contoso.test" || c["email"] != "adele@contoso.test" || c["name"] != "Adele Vance" ||
		c["aud"] != clientID || c["tid"] != msidentity.DefaultTenantID || c["oid"] != e.s.ObjectID("adele@contoso.test") ||
		c["iss"] != e.url+"/"+msidentity.DefaultTenantID+"/v2.0" || c["ver"] != "2.0" {
		t.Errorf("id_token claims %v", c)
	}
	if exp, _ := c["exp"].(float64); int64(exp) <= e.clk.now().Unix() {
		t.Errorf("id_token exp %v", c["exp"])
	}
	status, info := e.tokenInfo(t, r.str("access_token"))
	if status != 200 || info["email"] != "adele@contoso.test" || info["scope"] != msidentity.ScopeIMAP+" "+msidentity.ScopeSMTP ||
		info["aud"] != clientID || info["expires_in"] != "3599" {
		t.Errorf("token info %d %v", status, info)
	}
	if e.s.Exchanges() != 1 {
		t.Errorf("exchanges %d", e.s.Exchanges())
	}
	// Without openid, no id_token; without offline_access, no refresh token.
	code = e.code(t, "adele@contoso.test", "organizations", url.Values{"scope": {msidentity.ScopeIMAP}})
	f := exchange(code)
	f.Del("scope")
	r = e.token(t, "organizations", f)
	if r.status != 200 || r.str("id_token") != "" || r.str("refresh_token") != "" || r.str("scope") != msidentity.ScopeIMAP+" "+msidentity.ScopeSMTP {
		t.Errorf("IMAP only: %v", r.body)
	}
	if got := e.s.Authorizations(); len(got) != 2 || got[0].Get("login_hint") != "adele@contoso.test" {
		t.Errorf("authorizations %v", got)
	}
}

// PKCE and codes: a wrong or missing verifier, a reused code, an expired
// one, another redirect URI.
func TestCodeErrors(t *testing.T) {
	e := newEnv(t, msidentity.Options{})
	code := e.code(t, "adele@contoso.test", "common", nil)
	f := exchange(code)
	f.Set("code_verifier", strings.Repeat("x", 43))
	wantAAD(t, "wrong verifier", e.token(t, "common", f), 400, "invalid_grant", 501481)
	// The code is spent by the failed try, as at Microsoft.
	wantAAD(t, "code after a failed exchange", e.token(t, "common", exchange(code)), 400, "invalid_grant", 54005)

	code = e.code(t, "adele@contoso.test", "common", nil)
	f = exchange(code)
	f.Del("code_verifier")
	wantAAD(t, "no verifier", e.token(t, "common", f), 400, "invalid_request", 50148)

	code = e.code(t, "adele@contoso.test", "common", nil)
	if r := e.token(t, "common", exchange(code)); r.status != 200 {
		t.Fatalf("exchange: %v", r.body)
	}
	wantAAD(t, "reused code", e.token(t, "common", exchange(code)), 400, "invalid_grant", 54005)

	code = e.code(t, "adele@contoso.test", "common", nil)
	e.clk.add(11 * time.Minute)
	wantAAD(t, "expired code", e.token(t, "common", exchange(code)), 400, "invalid_grant", 70008)

	code = e.code(t, "adele@contoso.test", "common", nil)
	f = exchange(code)
	f.Set("redirect_uri", "http://127.0.0.1:9/elsewhere")
	wantAAD(t, "other redirect", e.token(t, "common", f), 400, "invalid_grant", 500112)

	wantAAD(t, "garbled code", e.token(t, "common", exchange("not-a-code")), 400, "invalid_grant", 9002313)
}

// The client's credentials at the token endpoint, and an unknown client or
// redirect URI at the authorization endpoint.
func TestClients(t *testing.T) {
	e := newEnv(t, msidentity.Options{})
	code := e.code(t, "adele@contoso.test", "common", nil)
	f := exchange(code)
	f.Set("client_secret", "the-secret-id-not-its-value")
	wantAAD(t, "bad secret", e.token(t, "common", f), 401, "invalid_client", 7000215)
	f.Del("client_secret")
	wantAAD(t, "no secret", e.token(t, "common", f), 401, "invalid_client", 7000218)
	f = exchange(code)
	f.Set("client_id", "11111111-2222-4333-8444-555555555555")
	wantAAD(t, "unknown client", e.token(t, "common", f), 400, "unauthorized_client", 700016)
	// The code survived the refused requests.
	if r := e.token(t, "common", exchange(code)); r.status != 200 {
		t.Errorf("exchange after refused clients: %v", r.body)
	}
	// Basic authentication works as well as the body.
	code = e.code(t, "adele@contoso.test", "common", nil)
	f = exchange(code)
	f.Del("client_secret")
	req, _ := http.NewRequest("POST", e.url+"/common/oauth2/v2.0/token", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("basic auth: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	for _, c := range []struct {
		name   string
		tenant string
		extra  url.Values
		aadsts string
	}{
		{"unknown client", "common", url.Values{"client_id": {"11111111-2222-4333-8444-555555555555"}}, "AADSTS700016"},
		{"unregistered redirect", "common", url.Values{"redirect_uri": {"https://evil.example/cb"}}, "AADSTS50011"},
		{"unknown tenant", "fabrikam.example", nil, "AADSTS90002"},
		{"unknown tenant id", "00000000-1111-4222-8333-444444444444", nil, "AADSTS90002"},
	} {
		e.s.SetAutoApprove("adele@contoso.test")
		resp, body := get(t, e.authorizeURL(c.tenant, c.extra))
		if resp.StatusCode != 400 || !strings.Contains(body, c.aadsts+": ") || resp.Header.Get("Location") != "" {
			t.Errorf("%s: %d %s", c.name, resp.StatusCode, body)
		}
	}
}

// Tenants: who may sign in where.
func TestTenants(t *testing.T) {
	e := newEnv(t, msidentity.Options{})
	for _, c := range []struct {
		email, tenant string
		ok            bool
	}{
		{"adele@contoso.test", "common", true},
		{"adele@contoso.test", "organizations", true},
		{"adele@contoso.test", msidentity.DefaultTenantID, true},
		{"adele@contoso.test", "contoso.test", true},
		{"adele@contoso.test", "consumers", false},
		{"pat@outlook.com", "common", true},
		{"pat@outlook.com", "consumers", true},
		{"pat@outlook.com", "organizations", false},
	} {
		e.s.SetAutoApprove(c.email)
		resp, body := get(t, e.authorizeURL(c.tenant, nil))
		if got := resp.StatusCode == http.StatusFound; got != c.ok {
			t.Errorf("%s at %s: %d %s", c.email, c.tenant, resp.StatusCode, body)
		}
		if !c.ok && !strings.Contains(body, "AADSTS50020") {
			t.Errorf("%s at %s: %s", c.email, c.tenant, body)
		}
	}
	code := e.code(t, "pat@outlook.com", "consumers", nil)
	r := e.token(t, "consumers", exchange(code))
	if c := claims(t, r.str("id_token")); c["tid"] != msidentity.ConsumersTenantID || c["preferred_username"] != "pat@outlook.com" {
		t.Errorf("personal account's claims %v", c)
	}
}

// The consent page: the accounts, the permissions, Accept and Cancel.
func TestConsentPage(t *testing.T) {
	e := newEnv(t, msidentity.Options{})
	resp, body := get(t, e.authorizeURL("common", nil))
	if resp.StatusCode != 200 {
		t.Fatalf("consent page %d", resp.StatusCode)
	}
	for _, want := range []string{`value="adele@contoso.test" checked`, `value="pat@outlook.com"`, `id="accept"`, `id="cancel"`,
		msidentity.ScopeIMAP, msidentity.ScopeSMTP, `action="/common/oauth2/v2.0/authorize"`} {
		if !strings.Contains(body, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	u, _ := url.Parse(e.authorizeURL("common", nil))
	post := func(action string) url.Values {
		f := u.Query()
		f.Set("action", action)
		f.Set("account", "adele@contoso.test")
		r, err := noFollow.PostForm(e.url+u.Path, f)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		return back(t, r, string(b))
	}
	q := post("cancel")
	if q.Get("error") != "access_denied" || !strings.HasPrefix(q.Get("error_description"), "AADSTS65004: ") ||
		q.Get("state") != "st4te" || q.Get("code") != "" {
		t.Errorf("cancel: %v", q)
	}
	q = post("accept")
	if q.Get("code") == "" || q.Get("state") != "st4te" {
		t.Fatalf("accept: %v", q)
	}
	if r := e.token(t, "common", exchange(q.Get("code"))); r.status != 200 {
		t.Errorf("exchange of the accepted code: %v", r.body)
	}
	if n := len(e.s.Authorizations()); n != 1 {
		t.Errorf("%d authorizations recorded, want the first GET only", n)
	}
	// Denied at once (SetAutoDeny).
	e.s.SetAutoDeny(true)
	q = follow(t, e.authorizeURL("common", nil))
	if q.Get("error") != "access_denied" {
		t.Errorf("auto deny: %v", q)
	}
	// response_mode=form_post: a page that posts the code back.
	e.s.SetAutoApprove("adele@contoso.test")
	resp, body = get(t, e.authorizeURL("common", url.Values{"response_mode": {"form_post"}}))
	if resp.StatusCode != 200 || !strings.Contains(body, `action="`+redirect+`"`) || !strings.Contains(body, `name="code"`) {
		t.Errorf("form_post: %d %s", resp.StatusCode, body)
	}
}

// Refresh tokens rotate: each refresh answers a new one; the old keeps
// working unless the emulator is told to invalidate redeemed ones.
func TestRefreshRotation(t *testing.T) {
	e := newEnv(t, msidentity.Options{})
	r := e.token(t, "common", exchange(e.code(t, "adele@contoso.test", "common", nil)))
	rt0 := r.str("refresh_token")
	r1 := e.token(t, "common", refreshForm(rt0))
	rt1 := r1.str("refresh_token")
	if r1.status != 200 || rt1 == "" || rt1 == rt0 || r1.str("access_token") == r.str("access_token") || r1.str("id_token") == "" {
		t.Fatalf("refresh: %v", r1.body)
	}
	// Microsoft does not revoke the old one: it still works.
	if again := e.token(t, "common", refreshForm(rt0)); again.status != 200 {
		t.Errorf("old refresh token by default: %v", again.body)
	}
	e.s.SetInvalidateRotated(true)
	r2 := e.token(t, "common", refreshForm(rt1))
	if r2.status != 200 {
		t.Fatalf("refresh with the newest: %v", r2.body)
	}
	wantAAD(t, "rotated-out refresh token", e.token(t, "common", refreshForm(rt1)), 400, "invalid_grant", 70008)
	if r3 := e.token(t, "common", refreshForm(r2.str("refresh_token"))); r3.status != 200 {
		t.Errorf("the newest still works: %v", r3.body)
	}
	if n := e.s.Refreshes(); n != 4 {
		t.Errorf("refreshes %d, want 4", n)
	}
	// A refresh without scope gets the authorization's resource.
	f := refreshForm(e.token(t, "common", exchange(e.code(t, "adele@contoso.test", "common", nil))).str("refresh_token"))
	f.Del("scope")
	if r := e.token(t, "common", f); r.status != 200 || r.str("scope") != msidentity.ScopeIMAP+" "+msidentity.ScopeSMTP {
		t.Errorf("refresh without scope: %v", r.body)
	}
	// Sliding lifetime: unused for 90 days, it expires.
	rt := e.token(t, "common", exchange(e.code(t, "adele@contoso.test", "common", nil))).str("refresh_token")
	e.clk.add(90*24*time.Hour + time.Second)
	wantAAD(t, "inactive refresh token", e.token(t, "common", refreshForm(rt)), 400, "invalid_grant", 700082)
}

// One resource per access token; only consented scopes.
func TestScopes(t *testing.T) {
	e := newEnv(t, msidentity.Options{})
	code := e.code(t, "adele@contoso.test", "common", url.Values{"scope": {msidentity.ScopeIMAP + " Mail.Read offline_access openid"}})
	f := exchange(code)
	f.Set("scope", msidentity.ScopeIMAP+" Mail.Read")
	wantAAD(t, "two resources", e.token(t, "common", f), 400, "invalid_scope", 28000)

	code = e.code(t, "adele@contoso.test", "common", url.Values{"scope": {msidentity.ScopeIMAP + " Mail.Read offline_access openid"}})
	f = exchange(code)
	f.Del("scope")
	r := e.token(t, "common", f)
	if r.status != 200 || r.str("scope") != msidentity.ScopeIMAP {
		t.Fatalf("first resource: %v", r.body)
	}
	// The same refresh token redeemed for the other resource.
	g := refreshForm(r.str("refresh_token"))
	g.Set("scope", "Mail.Read offline_access")
	if r := e.token(t, "common", g); r.status != 200 || r.str("scope") != "https://graph.microsoft.com/Mail.Read" {
		t.Errorf("Graph from the same grant: %v", r.body)
	}
	g = refreshForm(r.str("refresh_token"))
	g.Set("scope", msidentity.ScopePOP)
	wantAAD(t, "unconsented scope", e.token(t, "common", g), 400, "invalid_grant", 65001)
}

// Revoking a user's grants: refresh tokens and access tokens stop; a new
// consent works again. Expiring access tokens leaves the grants alone.
func TestRevokeAndExpire(t *testing.T) {
	e := newEnv(t, msidentity.Options{})
	r := e.token(t, "common", exchange(e.code(t, "adele@contoso.test", "common", nil)))
	other := e.token(t, "common", exchange(e.code(t, "pat@outlook.com", "common", nil)))

	e.s.ExpireAccessTokens()
	if status, _ := e.tokenInfo(t, r.str("access_token")); status != 400 {
		t.Errorf("expired token's info: %d", status)
	}
	r = e.token(t, "common", refreshForm(r.str("refresh_token")))
	if status, _ := e.tokenInfo(t, r.str("access_token")); r.status != 200 || status != 200 {
		t.Fatalf("after expiry: %v %d", r.body, status)
	}

	e.s.Revoke("Adele@Contoso.test")
	wantAAD(t, "revoked grant", e.token(t, "common", refreshForm(r.str("refresh_token"))), 400, "invalid_grant", 50173)
	if status, info := e.tokenInfo(t, r.str("access_token")); status != 400 || info["error"] != "invalid_token" {
		t.Errorf("revoked access token's info: %d %v", status, info)
	}
	if r := e.token(t, "common", refreshForm(other.str("refresh_token"))); r.status != 200 {
		t.Errorf("another user's grant: %v", r.body)
	}
	if r := e.token(t, "common", exchange(e.code(t, "adele@contoso.test", "common", nil))); r.status != 200 {
		t.Errorf("consent after revoke: %v", r.body)
	}
	if status, _ := e.tokenInfo(t, "garbage"); status != 400 {
		t.Errorf("unknown token's info: %d", status)
	}
}

// prompt=none: a code without a page when everything was consented.
func TestPromptNone(t *testing.T) {
	e := newEnv(t, msidentity.Options{})
	q := follow(t, e.authorizeURL("common", url.Values{"prompt": {"none"}}))
	if q.Get("error") != "consent_required" {
		t.Errorf("before consent: %v", q)
	}
	e.code(t, "adele@contoso.test", "common", nil)
	e.s.SetAutoApprove("")
	q = follow(t, e.authorizeURL("common", url.Values{"prompt": {"none"}}))
	if q.Get("code") == "" {
		t.Errorf("after consent: %v", q)
	}
}

// The control API does what the Go methods do.
func TestControl(t *testing.T) {
	e := newEnv(t, msidentity.Options{})
	post := func(path, body string, want int) {
		t.Helper()
		resp, err := http.Post(e.url+"/emulator/"+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("POST %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	post("users", `{"email":"megan@contoso.test","name":"Megan"}`, 200)
	post("users", `{"name":"nobody"}`, 400)
	post("nothing", `{}`, 404)
	if !slices.Contains(e.s.Users(), "megan@contoso.test") {
		t.Fatalf("users %v", e.s.Users())
	}
	post("auto-approve", `{"email":"megan@contoso.test"}`, 200)
	q := follow(t, e.authorizeURL("common", nil))
	r := e.token(t, "common", exchange(q.Get("code")))
	if c := claims(t, r.str("id_token")); c["email"] != "megan@contoso.test" {
		t.Fatalf("auto-approved as %v", c["email"])
	}
	post("expire-access-tokens", `{}`, 200)
	if status, _ := e.tokenInfo(t, r.str("access_token")); status != 400 {
		t.Error("expire-access-tokens")
	}
	post("invalidate-rotated", `{"on":true}`, 200)
	rt := r.str("refresh_token")
	e.token(t, "common", refreshForm(rt))
	wantAAD(t, "after invalidate-rotated", e.token(t, "common", refreshForm(rt)), 400, "invalid_grant", 70008)
	post("revoke", `{"email":"megan@contoso.test"}`, 200)
	post("auto-deny", `{"on":true}`, 200)
	if q := follow(t, e.authorizeURL("common", nil)); q.Get("error") != "access_denied" {
		t.Errorf("auto-deny: %v", q)
	}
	resp, body := get(t, e.url+"/contoso.test/v2.0/.well-known/openid-configuration")
	if resp.StatusCode != 200 || !strings.Contains(body, `"token_endpoint":"`+e.url+`/contoso.test/oauth2/v2.0/token"`) ||
		!strings.Contains(body, `"issuer":"`+e.url+"/"+msidentity.DefaultTenantID+`/v2.0"`) {
		t.Errorf("discovery: %d %s", resp.StatusCode, body)
	}
}
