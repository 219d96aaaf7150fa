package msidentity

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// aadError is an error of the token endpoint: an OAuth error code and an
// AADSTS number with its message.
type aadError struct {
	status int
	err    string
	code   int
	msg    string
}

// timestampLayout is how Microsoft writes the time of an error.
const timestampLayout = "2006-01-02 15:04:05Z"

// aadDescription is error_description: the AADSTS message followed by the
// trace and correlation ids and the time, as Microsoft writes them.
func aadDescription(code int, msg, trace, corr, ts string) string {
	return fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", code, msg, trace, corr, ts)
}

// tokenError writes Microsoft's JSON error of the token endpoint.
func (s *Server) tokenError(w http.ResponseWriter, status int, errCode string, code int, msg string) {
	trace, corr := randomGUID(), randomGUID()
	ts := s.now().UTC().Format(timestampLayout)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]any{
		"error":             errCode,
		"error_description": aadDescription(code, msg, trace, corr, ts),
		"error_codes":       []int{code},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", code),
	})
}

func (s *Server) writeAAD(w http.ResponseWriter, e *aadError) {
	s.tokenError(w, e.status, e.err, e.code, e.msg)
}

// handleToken is /{tenant}/oauth2/v2.0/token.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodPost {
		s.tokenError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a "+r.Method+" request.")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.tokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body is malformed: "+err.Error())
		return
	}
	if _, ok := s.tenantUsers(tenant); !ok {
		s.tokenError(w, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	p := r.PostForm
	clientID, secret := p.Get("client_id"), p.Get("client_secret")
	if id, sec, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(id)
		sec, _ = url.QueryUnescape(sec)
		clientID, secret = id, sec
	}
	if clientID == "" {
		s.tokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[clientID]
	switch {
	case c == nil:
		s.tokenError(w, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant))
		return
	case secret == "":
		s.tokenError(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	case subtle.ConstantTimeCompare([]byte(secret), []byte(c.secret)) != 1:
		s.tokenError(w, http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID))
		return
	}
	asked := strings.Fields(p.Get("scope"))
	switch p.Get("grant_type") {
	case "authorization_code":
		s.redeemCode(w, r, c, p, asked)
	case "refresh_token":
		s.redeemRefresh(w, r, c, p, asked)
	case "":
		s.tokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	default:
		s.tokenError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '"+p.Get("grant_type")+"'.")
	}
}

// redeemCode answers grant_type=authorization_code; s.mu is held.
func (s *Server) redeemCode(w http.ResponseWriter, r *http.Request, c *client, p url.Values, asked []string) {
	code := s.codes[p.Get("code")]
	now := s.now()
	switch {
	case p.Get("code") == "":
		s.tokenError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'code'.")
		return
	case code == nil:
		s.tokenError(w, 400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		return
	case code.used:
		s.tokenError(w, 400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
		return
	case !now.Before(code.expires):
		s.tokenError(w, 400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
		return
	case code.clientID != c.id:
		s.tokenError(w, 400, "invalid_grant", 70000, "The provided grant is invalid or malformed: the code was issued to another application.")
		return
	case p.Get("redirect_uri") != code.redirectURI:
		s.tokenError(w, 400, "invalid_grant", 500112, fmt.Sprintf("The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", p.Get("redirect_uri"), code.redirectURI))
		return
	}
	// From here on the code is spent, even when the exchange fails: a
	// guessed verifier gets one try, and a second try needs a new
	// authorization.
	code.used = true
	if code.challenge != "" {
		v := p.Get("code_verifier")
		if v == "" {
			s.tokenError(w, 400, "invalid_request", 50148, "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.")
			return
		}
		want := "plain:" + v
		if !strings.HasPrefix(code.challenge, "plain:") {
			sum := sha256.Sum256([]byte(v))
			want = base64.RawURLEncoding.EncodeToString(sum[:])
		}
		if !validVerifier(v) || subtle.ConstantTimeCompare([]byte(want), []byte(code.challenge)) != 1 {
			s.tokenError(w, 400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
			return
		}
	}
	g := s.grantLocked(c.id, userKey(code.user.email))
	if g == nil {
		s.tokenError(w, 400, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
		return
	}
	ts, aerr := pickScopes(asked, code.scopes, g.scopes)
	if aerr != nil {
		s.writeAAD(w, aerr)
		return
	}
	s.exchanges++
	offline := hasScope(code.scopes, ScopeOfflineAccess)
	s.writeTokens(w, r, c, g, ts, code.scopes, offline, code.nonce)
}

// redeemRefresh answers grant_type=refresh_token; s.mu is held.
func (s *Server) redeemRefresh(w http.ResponseWriter, r *http.Request, c *client, p url.Values, asked []string) {
	raw := p.Get("refresh_token")
	rt := s.refresh[raw]
	now := s.now()
	switch {
	case raw == "":
		s.tokenError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.")
		return
	case rt == nil:
		s.tokenError(w, 400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		return
	case rt.grant.clientID != c.id:
		s.tokenError(w, 400, "invalid_grant", 70000, "The provided grant is invalid or malformed: the refresh token was issued to another application.")
		return
	case rt.grant.revoked:
		s.tokenError(w, 400, "invalid_grant", 50173, fmt.Sprintf("The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.",
			rt.grant.issued.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
		return
	case !now.Before(rt.issued.Add(s.opts.RefreshTokenLifetime)):
		s.tokenError(w, 400, "invalid_grant", 700082, fmt.Sprintf("The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.",
			rt.issued.UTC().Format(time.RFC3339), s.opts.RefreshTokenLifetime))
		return
	case rt.redeemed && s.invalidate:
		s.tokenError(w, 400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
		return
	}
	ts, aerr := pickScopes(asked, rt.scopes, rt.grant.scopes)
	if aerr != nil {
		s.writeAAD(w, aerr)
		return
	}
	rt.redeemed = true
	s.refreshes++
	s.writeTokens(w, r, c, rt.grant, ts, rt.scopes, true, "")
}

// writeTokens answers a token request: an access token for the resource,
// a new refresh token when offline (rotation: one per use), an id_token
// when openid was asked. s.mu is held.
func (s *Server) writeTokens(w http.ResponseWriter, r *http.Request, c *client, g *grant, ts tokenScopes, defScopes []string,
	offline bool, nonce string) {
	now := s.now()
	at := newToken("EwB", 96)
	scopes := ts.scopes
	if ts.resource == "" {
		scopes = ts.oidc
	}
	s.access[at] = &accessToken{grant: g, scopes: scopes, expires: now.Add(s.opts.AccessTokenLifetime)}
	life := int(s.opts.AccessTokenLifetime / time.Second)
	resp := map[string]any{"token_type": "Bearer", "scope": ts.granted(), "expires_in": life, "ext_expires_in": life,
		"access_token": at}
	if offline {
		rt := newToken("M.C5_BAY.0.U.-", 160)
		s.refresh[rt] = &refreshToken{grant: g, scopes: defScopes, issued: now}
		resp["refresh_token"] = rt
	}
	if ts.has("openid") {
		resp["id_token"] = s.idToken(baseOf(r), c, g.user, ts, nonce)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// idToken is a v2.0 id_token of the user for the client, signed HS256
// with the client's secret (see the package documentation).
func (s *Server) idToken(base string, c *client, u *user, ts tokenScopes, nonce string) string {
	now := s.now()
	claims := map[string]any{
		"ver": "2.0", "iss": base + "/" + u.tid + "/v2.0", "aud": c.id, "tid": u.tid, "oid": u.oid,
		"sub": pairwiseSub(c.id, u.oid), "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
	}
	if ts.has("profile") {
		claims["name"] = u.name
		claims["preferred_username"] = u.email
	}
	if ts.has("email") {
		claims["email"] = u.email
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	h, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "HS256", "kid": "emulator"})
	b, _ := json.Marshal(claims)
	msg := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, []byte(c.secret))
	m.Write([]byte(msg))
	return msg + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// pairwiseSub is the user's subject for one app: Microsoft's sub differs
// per application, a 43-character base64url string.
func pairwiseSub(clientID, oid string) string {
	sum := sha256.Sum256([]byte("sub:" + clientID + ":" + oid))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
