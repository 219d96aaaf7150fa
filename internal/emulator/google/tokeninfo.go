package google

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// handleTokenInfo serves Google's token information endpoint
// (GET or POST https://oauth2.googleapis.com/tokeninfo?access_token=…, also
// /oauth2/v3/tokeninfo), which mail servers such as Dovecot's oauth2 passdb
// use to check an XOAUTH2 token. As Google, every value is a string; email
// and email_verified are there only when the token has the email scope;
// an unknown, expired or revoked token gets 400 invalid_token.
func (s *Server) handleTokenInfo(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "GET or POST only")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request", err.Error())
		return
	}
	tok := r.Form.Get("access_token")
	s.mu.Lock()
	defer s.mu.Unlock()
	at, ok := s.oauth.access[tok]
	now := s.now()
	if tok == "" || !ok || !now.Before(at.expires) || (at.grant != nil && at.grant.revoked) {
		oauthError(w, 400, "invalid_token", "Invalid Value")
		return
	}
	var scopes []string
	for sc := range at.scopes {
		if _, short := shortScopes[sc]; !short {
			scopes = append(scopes, sc)
		}
	}
	sort.Strings(scopes)
	resp := obj{}
	if at.clientID != "" {
		resp = append(resp, kv{"azp", at.clientID}, kv{"aud", at.clientID})
	}
	if u := s.users[at.email]; u != nil {
		resp = append(resp, kv{"sub", u.sub})
	}
	resp = append(resp, kv{"scope", strings.Join(scopes, " ")},
		kv{"exp", strconv.FormatInt(at.expires.Unix(), 10)},
		kv{"expires_in", strconv.FormatInt(int64(at.expires.Sub(now).Seconds()), 10)})
	if at.scopes[ScopeUserinfoEmail] {
		resp = append(resp, kv{"email", at.email}, kv{"email_verified", "true"})
	}
	writeJSON(w, 200, resp)
}
