package google

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func tokenInfo(t *testing.T, e *env, method, tok string) (int, map[string]any) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == "POST" {
		resp, err = http.PostForm(e.url+"/tokeninfo", url.Values{"access_token": {tok}})
	} else {
		resp, err = http.Get(e.url + "/oauth2/v3/tokeninfo?access_token=" + url.QueryEscape(tok))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("tokeninfo body %q: %v", b, err)
	}
	return resp.StatusCode, m
}

func TestTokenInfo(t *testing.T) {
	e := newEnv(t)
	good := e.srv.MintAccessToken(alice, ScopeMail, "email")
	noEmail := e.srv.MintAccessToken(bob, ScopeMail)

	for _, method := range []string{"GET", "POST"} {
		st, m := tokenInfo(t, e, method, good)
		if st != 200 || m["email"] != alice || m["email_verified"] != "true" || m["expires_in"] != "3599" ||
			m["scope"] != ScopeMail+" "+ScopeUserinfoEmail || m["sub"] == nil {
			t.Fatalf("%s good token: %d %v", method, st, m)
		}
		if exp := e.clock.Now().Add(3599 * time.Second).Unix(); m["exp"] != jsonInt(exp) {
			t.Errorf("exp %v, want %d", m["exp"], exp)
		}
	}
	if st, m := tokenInfo(t, e, "GET", noEmail); st != 200 || m["email"] != nil || m["scope"] != ScopeMail {
		t.Errorf("token without the email scope: %d %v", st, m)
	}
	for name, tok := range map[string]string{"unknown": "ya29.nope", "empty": ""} {
		if st, m := tokenInfo(t, e, "GET", tok); st != 400 || m["error"] != "invalid_token" {
			t.Errorf("%s token: %d %v", name, st, m)
		}
	}
	e.clock.Advance(time.Hour)
	if st, m := tokenInfo(t, e, "GET", good); st != 400 || m["error"] != "invalid_token" {
		t.Errorf("expired token: %d %v", st, m)
	}
}

// A token from the authorization code flow names its client (azp, aud),
// and revoking the grant makes it invalid.
func TestTokenInfoClientAndRevoke(t *testing.T) {
	e := newEnv(t)
	cfg := e.oauthConfig(ScopeMail, "email")
	e.srv.SetAutoApprove(alice)
	q, _, _ := e.authorize("GET", cfg.AuthCodeURL("s", oauth2.AccessTypeOffline), nil)
	tok, err := cfg.Exchange(e.ctx, q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	st, m := tokenInfo(t, e, "GET", tok.AccessToken)
	if st != 200 || m["azp"] != "client-1" || m["aud"] != "client-1" || m["email"] != alice {
		t.Fatalf("tokeninfo: %d %v", st, m)
	}
	e.srv.Revoke(alice)
	if st, _ := tokenInfo(t, e, "GET", tok.AccessToken); st != 400 {
		t.Errorf("revoked token: %d", st)
	}
}

// The consent screen names the Gmail scope in Google's words.
func TestConsentPageNamesMailScope(t *testing.T) {
	e := newEnv(t)
	cfg := e.oauthConfig(ScopeMail)
	_, st, page := e.authorize("GET", cfg.AuthCodeURL("x"), nil)
	if st != 200 || !strings.Contains(page, "Read, compose, send and permanently delete all your email from Gmail (https://mail.google.com/)") {
		t.Fatalf("consent page %d %s", st, page)
	}
}

func jsonInt(n int64) string { return strconv.FormatInt(n, 10) }
