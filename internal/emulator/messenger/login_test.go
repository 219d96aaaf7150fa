package messenger

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// consent GETs the consent page, checks it shows the scopes and pages, and
// POSTs the form back with the chosen action, pages and scopes.
func (e *env) consent(scopes string, action string, pages []string, grant []string) *http.Response {
	e.t.Helper()
	q := url.Values{"client_id": {e.app.ID}, "redirect_uri": {redirectURI}, "state": {"st-42"}, "scope": {scopes}, "response_type": {"code"}}
	resp, err := http.Get(e.url + "/v21.0/dialog/oauth?" + q.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		e.t.Fatalf("consent page: %d %s", resp.StatusCode, page)
	}
	for _, want := range append(strings.Split(scopes, ","), "Demo Shop", "Anna Admin", `id="allow"`, `id="cancel"`) {
		if !strings.Contains(string(page), want) {
			e.t.Errorf("consent page lacks %q", want)
		}
	}
	form := url.Values{"client_id": {e.app.ID}, "redirect_uri": {redirectURI}, "state": {"st-42"}, "scope": {scopes},
		"response_type": {"code"}, "action": {action}, "page": pages, "grant_scope": grant}
	resp, err = noRedirect.PostForm(e.url+"/v21.0/dialog/oauth", form)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestLoginConsentFlow(t *testing.T) {
	e := newEnv(t)
	scopes := strings.Split(allScopes, ",")

	resp := e.consent(allScopes, "allow", []string{e.pageID}, scopes)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("allow: status %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		t.Errorf("redirected to %s", got)
	}
	if loc.Query().Get("state") != "st-42" || loc.Query().Get("code") == "" || loc.Fragment != "_=_" {
		t.Fatalf("allow redirect %s", loc)
	}
	st, body, _ := e.call("GET", "oauth/access_token", url.Values{"client_id": {e.app.ID}, "client_secret": {e.app.Secret},
		"redirect_uri": {redirectURI}, "code": {loc.Query().Get("code")}}, nil)
	if st != 200 || body["token_type"] != "bearer" || body["expires_in"] != float64(7200) || body["access_token"] == "" {
		t.Fatalf("exchange: %d %v", st, body)
	}
	ut := body["access_token"].(string)
	st, me, _ := e.call("GET", "me", url.Values{"access_token": {ut}, "fields": {"id,name"}}, nil)
	if st != 200 || me["id"] != e.userID || me["name"] != "Anna Admin" {
		t.Fatalf("me: %d %v", st, me)
	}
	st, perms, _ := e.call("GET", "me/permissions", tok(ut), nil)
	if st != 200 || len(perms["data"].([]any)) != 4 { // the three asked and public_profile
		t.Fatalf("permissions: %d %v", st, perms)
	}

	// Cancel: back with Facebook's error parameters.
	resp = e.consent(allScopes, "cancel", nil, nil)
	loc, _ = url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if resp.StatusCode != http.StatusFound || q.Get("error") != "access_denied" || q.Get("error_reason") != "user_denied" ||
		q.Get("error_code") != "200" || q.Get("error_description") != "Permissions error" || q.Get("state") != "st-42" || q.Has("code") {
		t.Fatalf("cancel: %d %s", resp.StatusCode, loc)
	}
}

func TestLoginDialogRefusals(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name  string
		q     url.Values
		title string
	}{
		{"wrong redirect_uri", url.Values{"redirect_uri": {"http://evil.test/cb"}}, "URL blocked"},
		{"redirect with extra path", url.Values{"redirect_uri": {redirectURI + "/x"}}, "URL blocked"},
		{"unknown app", url.Values{"client_id": {"1234"}}, "Invalid App ID"},
		{"invalid scope", url.Values{"scope": {"pages_messaging,manage_everything"}}, "Invalid Scopes: manage_everything"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"client_id": {e.app.ID}, "redirect_uri": {redirectURI}, "state": {"s"}, "scope": {allScopes}}
			for k, v := range tc.q {
				q[k] = v
			}
			resp, err := noRedirect.Get(e.url + "/v21.0/dialog/oauth?" + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || resp.Header.Get("Location") != "" || !strings.Contains(string(page), tc.title) {
				t.Fatalf("status %d, location %q, page %s", resp.StatusCode, resp.Header.Get("Location"), page)
			}
		})
	}
}

func TestCodeExchangeRefusals(t *testing.T) {
	for _, tc := range []struct {
		name          string
		prepare       func(e *env)
		redirect      string
		secret        string
		reuse         bool
		code, subcode int
	}{
		{name: "reused code", reuse: true, code: 100, subcode: 36009},
		{name: "other redirect_uri", redirect: "http://tandem.test/other", code: 100, subcode: 36008},
		{name: "bad secret", secret: "nope", code: 1},
		{name: "expired code", prepare: func(e *env) { e.clock.Advance(11 * time.Minute) }, code: 100, subcode: 36007},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.srv.SetAutoApprove(e.userID)
			code := e.dialog(url.Values{"scope": {allScopes}}).Query().Get("code")
			if tc.prepare != nil {
				tc.prepare(e)
			}
			if tc.reuse {
				e.exchange(code, redirectURI)
			}
			redirect, secret := redirectURI, e.app.Secret
			if tc.redirect != "" {
				redirect = tc.redirect
			}
			if tc.secret != "" {
				secret = tc.secret
			}
			st, body, _ := e.call("GET", "oauth/access_token", url.Values{"client_id": {e.app.ID}, "client_secret": {secret},
				"redirect_uri": {redirect}, "code": {code}}, nil)
			if c, s := graphErr(body); st != 400 || c != tc.code || s != tc.subcode || get(body, "error", "type") != "OAuthException" || get(body, "error", "fbtrace_id") == nil {
				t.Fatalf("got %d %v, want code %d/%d", st, body, tc.code, tc.subcode)
			}
		})
	}
}

func TestAutoDeny(t *testing.T) {
	e := newEnv(t)
	e.srv.SetAutoDeny(true)
	loc := e.dialog(url.Values{"scope": {allScopes}})
	if loc.Query().Get("error") != "access_denied" || loc.Query().Get("error_reason") != "user_denied" {
		t.Fatalf("auto-deny redirect %s", loc)
	}
}

func TestMeAccountsPageTokens(t *testing.T) {
	e := newEnv(t)
	second := must(e.srv.AddPage(PageConfig{Name: "Second Shop", Admins: []string{e.userID}}))
	other := must(e.srv.AddUser("", "Olga Other"))
	must(e.srv.AddPage(PageConfig{Name: "Olga's Page", Admins: []string{other}}))

	// The consent grants only the second page.
	resp := e.consent(allScopes, "allow", []string{second}, strings.Split(allScopes, ","))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	ut := e.exchange(loc.Query().Get("code"), redirectURI)
	st, body, _ := e.call("GET", "me/accounts", tok(ut), nil)
	data, _ := body["data"].([]any)
	if st != 200 || len(data) != 1 {
		t.Fatalf("accounts: %d %v", st, body)
	}
	row := data[0].(map[string]any)
	if row["id"] != second || row["name"] != "Second Shop" || row["access_token"] == "" || row["category"] == "" ||
		!slices.Contains(toStrings(row["tasks"]), "MESSAGING") || get(body, "paging", "cursors", "after") == nil {
		t.Fatalf("account row %v", body)
	}
	pt := row["access_token"].(string)
	st, me, _ := e.call("GET", "me", tok(pt), nil)
	if st != 200 || me["id"] != second || me["name"] != "Second Shop" {
		t.Fatalf("me with the page token: %d %v", st, me)
	}
	// Same token on every call.
	_, again, _ := e.call("GET", "me/accounts", tok(ut), nil)
	if get(again["data"].([]any)[0].(map[string]any), "access_token") != pt {
		t.Error("page token changed between calls")
	}

	// Both pages, one per page of results.
	ut2 := e.login(allScopes)
	st, body, _ = e.call("GET", "me/accounts", url.Values{"access_token": {ut2}, "limit": {"1"}, "fields": {"id,name"}}, nil)
	next, _ := get(body, "paging", "next").(string)
	if st != 200 || len(body["data"].([]any)) != 1 || next == "" || get(body["data"].([]any)[0].(map[string]any), "access_token") != nil {
		t.Fatalf("first page: %d %v", st, body)
	}
	nu, _ := url.Parse(next)
	st, body, _ = e.call("GET", "me/accounts", nu.Query(), nil)
	if st != 200 || len(body["data"].([]any)) != 1 || get(body, "paging", "next") != nil {
		t.Fatalf("second page: %d %v", st, body)
	}

	// A short-lived user token's page token expires with it; a long-lived
	// one's never does.
	st, long, _ := e.call("GET", "oauth/access_token", url.Values{"grant_type": {"fb_exchange_token"}, "client_id": {e.app.ID},
		"client_secret": {e.app.Secret}, "fb_exchange_token": {ut2}}, nil)
	if st != 200 || long["expires_in"] != float64(60*24*3600) {
		t.Fatalf("fb_exchange_token: %d %v", st, long)
	}
	_, body, _ = e.call("GET", "me/accounts", tok(long["access_token"].(string)), nil)
	longPT := body["data"].([]any)[0].(map[string]any)["access_token"].(string)
	_, body, _ = e.call("GET", "me/accounts", tok(ut2), nil)
	shortPT := body["data"].([]any)[0].(map[string]any)["access_token"].(string)
	e.clock.Advance(3 * time.Hour)
	if st, body, _ := e.call("GET", "me", tok(shortPT), nil); st != 400 || fst(graphErr(body)) != 190 {
		t.Errorf("short-lived page token after 3 h: %d %v", st, body)
	}
	e.clock.Advance(90 * 24 * time.Hour)
	if st, body, _ := e.call("GET", "me", tok(longPT), nil); st != 200 {
		t.Errorf("long-lived page token after 90 days: %d %v", st, body)
	}

	// debug_token describes the page token.
	st, dbg, _ := e.call("GET", "debug_token", url.Values{"input_token": {longPT}, "access_token": {e.app.ID + "|" + e.app.Secret}}, nil)
	if st != 200 || get(dbg, "data", "type") != "PAGE" || get(dbg, "data", "is_valid") != true || get(dbg, "data", "profile_id") == nil ||
		get(dbg, "data", "expires_at") != float64(0) {
		t.Fatalf("debug_token: %d %v", st, dbg)
	}

	// Removed from the user's settings and authorized anew without
	// pages_show_list, the app lists no pages (and old tokens are dead).
	e.srv.Revoke(e.userID, e.app.ID)
	if st, body, _ := e.call("GET", "me", tok(longPT), nil); st != 400 || fst(graphErr(body)) != 190 {
		t.Errorf("page token after revoke: %d %v", st, body)
	}
	ut3 := e.login("pages_messaging")
	st, body, _ = e.call("GET", "me/accounts", tok(ut3), nil)
	if st != 200 || len(body["data"].([]any)) != 0 {
		t.Fatalf("accounts without pages_show_list: %d %v", st, body)
	}
}

func fst(a, _ int) int { return a }

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestInvalidTokens(t *testing.T) {
	e := newEnv(t)
	ut := e.login(allScopes)
	expired := e.login(allScopes)
	e.srv.ExpireTokens()
	ut = e.login(allScopes) // a fresh one after the expiry
	revokedApp := must(e.srv.AddApp(AppConfig{Name: "Gone", RedirectURIs: []string{redirectURI}}))
	revoked, err := e.srv.PageToken(revokedApp.ID, e.userID, e.pageID)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Revoke(e.userID, revokedApp.ID)

	for _, tc := range []struct {
		name          string
		token         string
		code, subcode int
		header        string
	}{
		{"garbage", "EAAnotatoken", 190, 0, "invalid_token"},
		{"missing", "", 2500, 0, "invalid_request"},
		{"expired", expired, 190, 463, "invalid_token"},
		{"revoked", revoked, 190, 458, "invalid_token"},
		{"bad app secret", e.app.ID + "|wrong", 190, 0, "invalid_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{}
			if tc.token != "" {
				q.Set("access_token", tc.token)
			}
			st, body, h := e.call("GET", "me", q, nil)
			c, s := graphErr(body)
			if st != 400 || c != tc.code || s != tc.subcode || !strings.Contains(h.Get("WWW-Authenticate"), tc.header) {
				t.Fatalf("got %d %v (%s), want %d/%d", st, body, h.Get("WWW-Authenticate"), tc.code, tc.subcode)
			}
		})
	}
	if st, _, _ := e.call("GET", "me", tok(ut), nil); st != 200 {
		t.Errorf("fresh token refused: %d", st)
	}
	// An Authorization header works as well as the parameter.
	req, _ := http.NewRequest("GET", e.url+"/v21.0/me", nil)
	req.Header.Set("Authorization", "Bearer "+ut)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("bearer header: %d", resp.StatusCode)
	}
	// DELETE /me/permissions removes the app: the token dies with 458.
	if st, body, _ := e.call("DELETE", "me/permissions", tok(ut), nil); st != 200 || body["success"] != true {
		t.Fatalf("delete permissions: %d %v", st, body)
	}
	if st, body, _ := e.call("GET", "me", tok(ut), nil); st != 400 || fst(graphErr(body)) != 190 || get(body, "error", "error_subcode") != float64(458) {
		t.Fatalf("token after the app was removed: %d %v", st, body)
	}
}
