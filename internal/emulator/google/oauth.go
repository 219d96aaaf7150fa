package google

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// OAuth scopes the emulator knows.
const (
	ScopeContacts         = "https://www.googleapis.com/auth/contacts"
	ScopeContactsReadonly = "https://www.googleapis.com/auth/contacts.readonly"
	ScopeCalendar         = "https://www.googleapis.com/auth/calendar"
	ScopeCalendarReadonly = "https://www.googleapis.com/auth/calendar.readonly"
	ScopeCalendarEvents   = "https://www.googleapis.com/auth/calendar.events"
	ScopeCalendarEventsRO = "https://www.googleapis.com/auth/calendar.events.readonly"
	ScopeCalendarList     = "https://www.googleapis.com/auth/calendar.calendarlist"
	ScopeCalendarListRO   = "https://www.googleapis.com/auth/calendar.calendarlist.readonly"
	ScopeUserinfoEmail    = "https://www.googleapis.com/auth/userinfo.email"
	ScopeUserinfoProfile  = "https://www.googleapis.com/auth/userinfo.profile"
	// ScopeMail is Gmail's IMAP/SMTP scope (XOAUTH2), restricted at Google.
	ScopeMail = "https://mail.google.com/"
)

// scopeLabels are Google's consent-screen wording for scopes that need it.
var scopeLabels = map[string]string{
	ScopeMail: "Read, compose, send and permanently delete all your email from Gmail",
}

// scopeNeed lists scopes of which any one grants access to a method.
type scopeNeed []string

var (
	needContactsRead  = scopeNeed{ScopeContacts, ScopeContactsReadonly}
	needContactsWrite = scopeNeed{ScopeContacts}
	needCalendarList  = scopeNeed{ScopeCalendar, ScopeCalendarReadonly, ScopeCalendarList, ScopeCalendarListRO}
	needCalendarWrite = scopeNeed{ScopeCalendar}
	needCalendarRead  = scopeNeed{ScopeCalendar, ScopeCalendarReadonly}
	needEventsRead    = scopeNeed{ScopeCalendar, ScopeCalendarReadonly, ScopeCalendarEvents, ScopeCalendarEventsRO}
	needEventsWrite   = scopeNeed{ScopeCalendar, ScopeCalendarEvents}
	needUserinfo      = scopeNeed{"openid", "email", "profile", ScopeUserinfoEmail, ScopeUserinfoProfile}
)

// shortScopes are the OpenID short forms Google accepts and expands.
var shortScopes = map[string]string{"email": ScopeUserinfoEmail, "profile": ScopeUserinfoProfile}

type oauthClient struct {
	id, secret string
	redirects  []string
}

type authCode struct {
	clientID, redirectURI, email string
	scopes                       []string
	challenge, method            string
	expires                      time.Time
	used                         bool
	refresh                      bool // issue a refresh token with it
	nonce                        string
}

type grant struct {
	clientID, email string
	scopes          map[string]bool
	revoked         bool
	refresh         []string // live refresh tokens, oldest first
}

type accessTok struct {
	email, clientID string
	scopes          map[string]bool
	expires         time.Time
	grant           *grant // nil for MintAccessToken
}

type refreshTok struct {
	grant  *grant
	scopes []string
}

type oauthState struct {
	clients     map[string]*oauthClient
	codes       map[string]*authCode
	access      map[string]*accessTok
	refresh     map[string]*refreshTok
	grants      []*grant
	autoApprove string
	autoDeny    bool
	n           uint64
}

func (o *oauthState) init() {
	o.clients = map[string]*oauthClient{}
	o.codes = map[string]*authCode{}
	o.access = map[string]*accessTok{}
	o.refresh = map[string]*refreshTok{}
}

// maxRefreshTokens is Google's limit of live refresh tokens per account
// and client; the oldest is revoked silently beyond it.
const maxRefreshTokens = 100

// AddClient registers an OAuth client (an app registered in Google Cloud)
// with its secret and the exact redirect URIs it may use.
func (s *Server) AddClient(id, secret string, redirectURIs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.clients[id] = &oauthClient{id: id, secret: secret, redirects: append([]string(nil), redirectURIs...)}
}

// SetAutoApprove makes the authorization endpoint approve every request at
// once as the given user, redirecting back with a code instead of showing
// the consent page. "" turns it off.
func (s *Server) SetAutoApprove(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.autoApprove = userKey(email)
	if email != "" {
		s.oauth.autoDeny = false
	}
}

// SetAutoDeny makes the authorization endpoint answer every request as if
// the user pressed Cancel (error=access_denied).
func (s *Server) SetAutoDeny(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauth.autoDeny = on
	if on {
		s.oauth.autoApprove = ""
	}
}

// Revoke revokes every grant of a user (as the user would in their Google
// account's security page): refresh tokens get invalid_grant, access tokens
// 401.
func (s *Server) Revoke(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := userKey(email)
	for _, g := range s.oauth.grants {
		if g.email == k {
			s.revokeGrantLocked(g)
		}
	}
	for t, a := range s.oauth.access {
		if a.email == k {
			delete(s.oauth.access, t)
		}
	}
}

// GrantedScopes lists, sorted, the scopes a user has granted to apps and
// not revoked, as their Google account's third-party access page shows
// them: an authorization adds its scopes to what the app was granted
// before (and a token asked with include_granted_scopes=true covers them
// all).
func (s *Server) GrantedScopes(email string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := userKey(email)
	var out []string
	for _, g := range s.oauth.grants {
		if g.email != k || g.revoked {
			continue
		}
		for sc := range g.scopes {
			if !contains(out, sc) {
				out = append(out, sc)
			}
		}
	}
	sort.Strings(out)
	return out
}

// ExpireAccessTokens makes every access token issued so far expired.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.oauth.access {
		a.expires = time.Time{}
	}
}

// MintAccessToken issues an access token for a user without the OAuth
// dance (for tests of the APIs). Without scopes it grants contacts and
// calendar. The token expires after Options.AccessTokenLifetime.
func (s *Server) MintAccessToken(email string, scopes ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(scopes) == 0 {
		scopes = []string{ScopeContacts, ScopeCalendar, "openid", "email", "profile"}
	}
	return s.newAccessLocked(userKey(email), "", scopes, nil)
}

func (s *Server) newTokenLocked(prefix, purpose string) string {
	s.oauth.n++
	return prefix + base64.RawURLEncoding.EncodeToString(s.idBytes(purpose, s.oauth.n)) +
		base64.RawURLEncoding.EncodeToString(s.idBytes(purpose+"2", s.oauth.n))[:10]
}

func (s *Server) newAccessLocked(email, clientID string, scopes []string, g *grant) string {
	t := s.newTokenLocked("ya29.a0", "access")
	sc := map[string]bool{}
	for _, x := range scopes {
		sc[x] = true
		if long, ok := shortScopes[x]; ok {
			sc[long] = true
		}
	}
	s.oauth.access[t] = &accessTok{email: email, clientID: clientID, scopes: sc,
		expires: s.now().Add(s.opts.AccessTokenLifetime), grant: g}
	return t
}

func (s *Server) revokeGrantLocked(g *grant) {
	g.revoked = true
	for _, rt := range g.refresh {
		delete(s.oauth.refresh, rt)
	}
	g.refresh = nil
}

// --- API authentication --------------------------------------------------------

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return r.URL.Query().Get("access_token")
}

// authorize checks the Bearer token of an API request; on failure it has
// written the API's error.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, a api, need scopeNeed) (*user, bool) {
	tok := bearer(r)
	s.mu.Lock()
	at, ok := s.oauth.access[tok]
	valid := ok && tok != "" && s.now().Before(at.expires) && (at.grant == nil || !at.grant.revoked)
	var u *user
	if valid {
		u = s.users[at.email]
		valid = u != nil
	}
	hasScope := false
	if valid {
		for _, sc := range need {
			if at.scopes[sc] {
				hasScope = true
				break
			}
		}
	}
	s.mu.Unlock()
	if !valid {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		reason := "ACCESS_TOKEN_TYPE_UNSUPPORTED"
		msg := "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
		if tok == "" {
			reason = "CREDENTIALS_MISSING"
			msg = "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
		} else if ok {
			reason = "ACCESS_TOKEN_EXPIRED"
		}
		switch a {
		case apiPeople:
			(&peopleErr{code: 401, status: "UNAUTHENTICATED", message: msg,
				errors: []errItem{{Message: "Invalid Credentials", Domain: "global", Reason: "authError", Location: "Authorization", LocationType: "header"}},
				details: []any{obj{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"}, {"reason", reason},
					{"domain", "googleapis.com"}, {"metadata", obj{{"service", "people.googleapis.com"}}}}},
			}).write(w)
		default:
			(&calErr{code: 401, message: "Invalid Credentials", errors: []errItem{{Domain: "global", Reason: "authError",
				Message: "Invalid Credentials", LocationType: "header", Location: "Authorization"}}}).write(w)
		}
		return nil, false
	}
	if !hasScope {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="%s"`, strings.Join(need, " ")))
		switch a {
		case apiPeople:
			(&peopleErr{code: 403, status: "PERMISSION_DENIED", message: "Request had insufficient authentication scopes.",
				errors: []errItem{{Message: "Insufficient Permission", Domain: "global", Reason: "insufficientPermissions"}},
				details: []any{obj{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"}, {"reason", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"},
					{"domain", "googleapis.com"}, {"metadata", obj{{"service", "people.googleapis.com"}}}}},
			}).write(w)
		default:
			msg := "Insufficient Permission: Request had insufficient authentication scopes."
			cErr(403, "global", "insufficientPermissions", msg).write(w)
		}
		return nil, false
	}
	return u, true
}

// --- authorization endpoint ------------------------------------------------------

func errorPage(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>Error %d (%s)</title><h1>Access blocked: authorization error</h1><p>Error %d: %s</p><p>%s</p>\n",
		status, template.HTMLEscapeString(code), status, template.HTMLEscapeString(code), template.HTMLEscapeString(detail))
}

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - Google Accounts (emulator)</title>
<style>body{font-family:sans-serif;max-width:32em;margin:3em auto}label{display:block;margin:.4em 0}button{margin-right:1em}</style>
</head><body>
<h1>Choose an account</h1>
<p>to continue to <b>{{.Client}}</b> (Tandem's Google emulator)</p>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}{{range .Users}}<label><input type="radio" name="account" value="{{.Email}}"{{if .Checked}} checked{{end}}> {{.Name}} &lt;{{.Email}}&gt;</label>
{{end}}<p>{{.Client}} wants to:</p><ul>{{range .Scopes}}<li>{{with index $.Labels .}}{{.}} ({{end}}{{.}}{{with index $.Labels .}}){{end}}</li>{{end}}</ul>
<button type="submit" name="action" value="allow" id="allow">Allow</button>
<button type="submit" name="action" value="deny" id="deny">Cancel</button>
</form></body></html>
`))

type hiddenField struct{ Name, Value string }

type consentUser struct {
	Email, Name string
	Checked     bool
}

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		errorPage(w, http.StatusMethodNotAllowed, "invalid_request", "GET or POST only")
		return
	}
	if err := r.ParseForm(); err != nil {
		errorPage(w, 400, "invalid_request", err.Error())
		return
	}
	p := r.Form
	clientID := p.Get("client_id")
	redirect := p.Get("redirect_uri")
	s.mu.Lock()
	c := s.oauth.clients[clientID]
	s.mu.Unlock()
	if c == nil {
		errorPage(w, 401, "invalid_client", "The OAuth client was not found.")
		return
	}
	if !contains(c.redirects, redirect) {
		errorPage(w, 400, "redirect_uri_mismatch", "You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. redirect_uri="+redirect)
		return
	}
	if p.Get("response_type") != "code" {
		redirectBack(w, r, redirect, url.Values{"error": {"unsupported_response_type"}, "state": {p.Get("state")}})
		return
	}
	scopes := strings.Fields(p.Get("scope"))
	if len(scopes) == 0 {
		errorPage(w, 400, "invalid_request", "Missing required parameter: scope")
		return
	}
	method := p.Get("code_challenge_method")
	if p.Get("code_challenge") != "" {
		if method == "" {
			method = "plain"
		}
		if method != "S256" && method != "plain" {
			errorPage(w, 400, "invalid_request", "Invalid code_challenge_method")
			return
		}
	}

	s.mu.Lock()
	auto, deny := s.oauth.autoApprove, s.oauth.autoDeny
	s.mu.Unlock()
	account := ""
	switch {
	case deny:
		redirectBack(w, r, redirect, url.Values{"error": {"access_denied"}, "state": {p.Get("state")}})
		return
	case auto != "":
		account = auto
	case r.Method == http.MethodPost && p.Get("action") != "":
		if p.Get("action") != "allow" {
			redirectBack(w, r, redirect, url.Values{"error": {"access_denied"}, "state": {p.Get("state")}})
			return
		}
		account = userKey(p.Get("account"))
	default:
		s.consentPage(w, r, p, c, scopes)
		return
	}
	code, err := s.issueCode(p, clientID, redirect, account, scopes, method)
	if err != nil {
		errorPage(w, 400, "invalid_request", err.Error())
		return
	}
	redirectBack(w, r, redirect, url.Values{"code": {code}, "state": {p.Get("state")}, "scope": {strings.Join(scopes, " ")}})
}

func redirectBack(w http.ResponseWriter, r *http.Request, redirect string, v url.Values) {
	u, err := url.Parse(redirect)
	if err != nil {
		errorPage(w, 400, "invalid_request", "bad redirect_uri")
		return
	}
	q := u.Query()
	for k, vs := range v {
		if len(vs) == 1 && vs[0] == "" && k == "state" {
			continue
		}
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Server) consentPage(w http.ResponseWriter, r *http.Request, p url.Values, c *oauthClient, scopes []string) {
	hint := userKey(p.Get("login_hint"))
	var users []consentUser
	s.mu.Lock()
	for i, k := range s.userOrder {
		u := s.users[k]
		users = append(users, consentUser{Email: u.email, Name: u.name, Checked: k == hint || (hint == "" && i == 0)})
	}
	s.mu.Unlock()
	var hidden []hiddenField
	keys := make([]string, 0, len(p))
	for k := range p {
		if k != "action" && k != "account" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		hidden = append(hidden, hiddenField{k, p.Get(k)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	consentTmpl.Execute(w, map[string]any{"Client": c.id, "Action": "/o/oauth2/v2/auth", "Hidden": hidden, "Users": users, "Scopes": scopes, "Labels": scopeLabels})
}

// issueCode records an approved authorization and returns its code.
func (s *Server) issueCode(p url.Values, clientID, redirect, email string, scopes []string, method string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[email]; !ok {
		return "", fmt.Errorf("no such account %q", email)
	}
	var g *grant
	for _, x := range s.oauth.grants {
		if x.clientID == clientID && x.email == email && !x.revoked {
			g = x
		}
	}
	first := g == nil
	if first {
		g = &grant{clientID: clientID, email: email, scopes: map[string]bool{}}
		s.oauth.grants = append(s.oauth.grants, g)
	}
	codeScopes := append([]string(nil), scopes...)
	if p.Get("include_granted_scopes") == "true" {
		for sc := range g.scopes {
			if !contains(codeScopes, sc) {
				codeScopes = append(codeScopes, sc)
			}
		}
		sort.Strings(codeScopes[len(scopes):])
	}
	for _, sc := range scopes {
		g.scopes[sc] = true
	}
	offline := p.Get("access_type") == "offline"
	consent := strings.Contains(" "+p.Get("prompt")+" ", " consent ")
	code := s.newTokenLocked("4/0", "code")
	s.oauth.codes[code] = &authCode{clientID: clientID, redirectURI: redirect, email: email, scopes: codeScopes,
		challenge: p.Get("code_challenge"), method: method, expires: s.now().Add(s.opts.AuthCodeLifetime),
		refresh: offline && (first || consent || len(g.refresh) == 0), nonce: p.Get("nonce")}
	return code, nil
}

// --- token endpoint ----------------------------------------------------------------

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, obj{{"error", code}, {"error_description", desc}})
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		oauthError(w, 405, "invalid_request", "POST only")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request", err.Error())
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
		oauthError(w, 400, "invalid_request", "Could not determine client ID from request.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.oauth.clients[clientID]
	if c == nil {
		oauthError(w, 401, "invalid_client", "The OAuth client was not found.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(c.secret)) != 1 {
		oauthError(w, 401, "invalid_client", "Unauthorized")
		return
	}
	switch p.Get("grant_type") {
	case "authorization_code":
		code := s.oauth.codes[p.Get("code")]
		switch {
		case code == nil:
			oauthError(w, 400, "invalid_grant", "Malformed auth code.")
			return
		case code.used || !s.now().Before(code.expires):
			oauthError(w, 400, "invalid_grant", "Bad Request")
			return
		case code.clientID != clientID:
			oauthError(w, 400, "invalid_grant", "Bad Request")
			return
		case p.Get("redirect_uri") != code.redirectURI:
			oauthError(w, 400, "redirect_uri_mismatch", "Bad Request")
			return
		}
		if code.challenge != "" {
			v := p.Get("code_verifier")
			if v == "" {
				oauthError(w, 400, "invalid_grant", "Missing code verifier.")
				return
			}
			want := v
			if code.method == "S256" {
				sum := sha256.Sum256([]byte(v))
				want = base64.RawURLEncoding.EncodeToString(sum[:])
			}
			if !validVerifier(v) || want != code.challenge {
				oauthError(w, 400, "invalid_grant", "Invalid code verifier.")
				return
			}
		}
		var g *grant
		for _, x := range s.oauth.grants {
			if x.clientID == clientID && x.email == code.email && !x.revoked {
				g = x
			}
		}
		if g == nil { // revoked between consent and exchange
			oauthError(w, 400, "invalid_grant", "Token has been expired or revoked.")
			return
		}
		code.used = true
		resp := obj{{"access_token", s.newAccessLocked(code.email, clientID, code.scopes, g)},
			{"expires_in", int(s.opts.AccessTokenLifetime / time.Second)}}
		if code.refresh {
			rt := s.newTokenLocked("1//0", "refresh")
			s.oauth.refresh[rt] = &refreshTok{grant: g, scopes: code.scopes}
			g.refresh = append(g.refresh, rt)
			if len(g.refresh) > maxRefreshTokens {
				delete(s.oauth.refresh, g.refresh[0])
				g.refresh = g.refresh[1:]
			}
			resp.add("refresh_token", rt)
		}
		resp.add("scope", strings.Join(code.scopes, " "))
		resp.add("token_type", "Bearer")
		if contains(code.scopes, "openid") {
			resp.add("id_token", s.idToken(c, code.email, code.scopes, code.nonce))
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, 200, resp)
	case "refresh_token":
		rt := s.oauth.refresh[p.Get("refresh_token")]
		if rt == nil || rt.grant.revoked {
			oauthError(w, 400, "invalid_grant", "Token has been expired or revoked.")
			return
		}
		if rt.grant.clientID != clientID {
			oauthError(w, 401, "unauthorized_client", "Unauthorized")
			return
		}
		g := rt.grant
		resp := obj{{"access_token", s.newAccessLocked(g.email, clientID, rt.scopes, g)},
			{"expires_in", int(s.opts.AccessTokenLifetime / time.Second)},
			{"scope", strings.Join(rt.scopes, " ")}, {"token_type", "Bearer"}}
		if contains(rt.scopes, "openid") {
			resp.add("id_token", s.idToken(c, g.email, rt.scopes, ""))
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, 200, resp)
	default:
		oauthError(w, 400, "unsupported_grant_type", "Invalid grant_type: "+p.Get("grant_type"))
	}
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

// idToken is a JWT shaped like Google's; it is signed with HS256 and the
// client secret (Google signs RS256 with its published keys), so it is for
// reading claims, not for verification.
func (s *Server) idToken(c *oauthClient, email string, scopes []string, nonce string) string {
	u := s.users[email]
	now := s.now()
	claims := obj{{"iss", "https://accounts.google.com"}, {"azp", c.id}, {"aud", c.id}, {"sub", u.sub}}
	if contains(scopes, "email") || contains(scopes, ScopeUserinfoEmail) {
		claims.add("email", u.email)
		claims.add("email_verified", true)
	}
	if contains(scopes, "profile") || contains(scopes, ScopeUserinfoProfile) {
		claims.add("name", u.name)
	}
	if nonce != "" {
		claims.add("nonce", nonce)
	}
	claims.add("iat", now.Unix())
	claims.add("exp", now.Add(time.Hour).Unix())
	h, _ := json.Marshal(obj{{"alg", "HS256"}, {"kid", "emulator"}, {"typ", "JWT"}})
	b, _ := json.Marshal(claims)
	msg := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, []byte(c.secret))
	m.Write([]byte(msg))
	return msg + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// --- revoke and userinfo -------------------------------------------------------------

func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request", err.Error())
		return
	}
	tok := r.Form.Get("token")
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt, ok := s.oauth.refresh[tok]; ok {
		s.revokeGrantLocked(rt.grant)
		writeJSON(w, 200, obj{})
		return
	}
	if at, ok := s.oauth.access[tok]; ok {
		if at.grant != nil {
			s.revokeGrantLocked(at.grant)
		}
		delete(s.oauth.access, tok)
		writeJSON(w, 200, obj{})
		return
	}
	oauthError(w, 400, "invalid_token", "Token expired or revoked")
}

// handleUserinfo serves the OpenID Connect user info: it needs a token
// with openid, email or profile.
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	tok := bearer(r)
	s.mu.Lock()
	at, ok := s.oauth.access[tok]
	var u *user
	if ok && s.now().Before(at.expires) && (at.grant == nil || !at.grant.revoked) {
		for _, sc := range needUserinfo {
			if at.scopes[sc] {
				u = s.users[at.email]
				break
			}
		}
	}
	var resp obj
	if u != nil {
		resp = obj{{"sub", u.sub}, {"name", u.name}, {"email", u.email}, {"email_verified", true}}
	}
	s.mu.Unlock()
	if u == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		oauthError(w, 401, "invalid_request", "Invalid Credentials")
		return
	}
	writeJSON(w, 200, resp)
}
