package oauth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// microsoftAccount reads the account from the id_token and refuses one
// that is not for this app, not from the authority, or expired.
func TestMicrosoftAccount(t *testing.T) {
	const (
		authority = "https://login.microsoftonline.com"
		app       = "app-id"
		tid       = "72f988bf-0000-4000-8000-00000000e3a1"
	)
	now := time.Now()
	jwt := func(claims map[string]any) string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"RS256"}`))
		b, _ := json.Marshal(claims)
		return h + "." + base64.RawURLEncoding.EncodeToString(b) + ".c2lnbmF0dXJl"
	}
	good := func() map[string]any {
		return map[string]any{"aud": app, "iss": authority + "/" + tid + "/v2.0", "tid": tid, "oid": "oid-1",
			"exp": now.Add(time.Hour).Unix(), "preferred_username": "Adele@Contoso.com", "email": "adele.vance@contoso.com",
			"name": "Adele Vance"}
	}
	// with changes claims k, v, …: a nil v removes the claim.
	with := func(kv ...any) map[string]any {
		c := good()
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(c, kv[i].(string))
			} else {
				c[kv[i].(string)] = kv[i+1]
			}
		}
		return c
	}
	for _, c := range []struct {
		name   string
		token  string
		email  string
		errHas string
	}{
		{"preferred_username", jwt(good()), "Adele@Contoso.com", ""},
		{"email when the sign-in name is no address", jwt(with("preferred_username", "+15550100")), "adele.vance@contoso.com", ""},
		{"email without preferred_username", jwt(with("preferred_username", nil)), "adele.vance@contoso.com", ""},
		{"no address at all", jwt(with("email", nil, "preferred_username", "+15550100")), "", ""},
		{"another app", jwt(with("aud", "other-app")), "", "audience"},
		{"another authority", jwt(with("iss", "https://evil.example/"+tid+"/v2.0")), "", "issuer"},
		{"another tenant's issuer", jwt(with("iss", authority+"/other/v2.0")), "", "issuer"},
		{"expired", jwt(with("exp", now.Add(-time.Hour).Unix())), "", "expired"},
		{"no id_token", "", "", "no id_token"},
		{"not a JWT", "abc.def", "", "not a JWT"},
		{"bad payload", "e30.!!!.x", "", "id_token"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok := (&oauth2.Token{AccessToken: "a"}).WithExtra(map[string]any{"id_token": c.token})
			u, err := microsoftAccount(tok, app, authority, now)
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) {
					t.Fatalf("err %v, want %q", err, c.errHas)
				}
				return
			}
			if err != nil || u.Email != c.email || u.Sub != "oid-1" {
				t.Fatalf("account %+v, %v; want %q", u, err, c.email)
			}
		})
	}
}
