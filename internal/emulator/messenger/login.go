package messenger

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Scopes (Facebook Login permissions) the emulator knows. A page channel
// needs pages_show_list (/me/accounts), pages_manage_metadata
// (subscribed_apps) and pages_messaging (Send API, messaging webhooks).
const (
	ScopePagesMessaging      = "pages_messaging"
	ScopePagesManageMetadata = "pages_manage_metadata"
	ScopePagesShowList       = "pages_show_list"
	ScopePublicProfile       = "public_profile"
)

// knownScopes are the permissions the login dialog accepts; others get
// Facebook's "Invalid Scopes" page.
var knownScopes = []string{
	"business_management", "email", "instagram_basic", "instagram_manage_messages",
	"pages_manage_engagement", "pages_manage_metadata", "pages_manage_posts",
	"pages_messaging", "pages_messaging_subscriptions", "pages_read_engagement",
	"pages_read_user_content", "pages_show_list", "public_profile",
}

type tokKind int

const (
	tokUser tokKind = iota + 1
	tokPage
	tokApp
)

func (k tokKind) String() string {
	switch k {
	case tokUser:
		return "USER"
	case tokPage:
		return "PAGE"
	case tokApp:
		return "APP"
	}
	return "?"
}

// grant is what a user allowed an app in the login dialog.
type grant struct {
	userID, appID string
	scopes        []string
	declined      []string
	pages         []string
	revoked       bool
}

type token struct {
	value                 string
	kind                  tokKind
	appID, userID, pageID string
	grant                 *grant
	issued, expires       time.Time // expires zero: never
	longLived             bool
}

func (t *token) hasScope(sc string) bool {
	return t.grant != nil && slices.Contains(t.grant.scopes, sc)
}

// hasScope is t.hasScope for callers not holding mu (a consent may change
// the grant meanwhile).
func (s *Server) hasScope(t *token, sc string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return t.hasScope(sc)
}

type authCode struct {
	appID, redirect string
	grant           *grant
	expires         time.Time
	used            bool
}

type loginState struct {
	grants      map[string]*grant // userID|appID
	codes       map[string]*authCode
	tokens      map[string]*token
	pageTokens  map[string]string // user token|page id → page token
	signedIn    string
	autoApprove string
	autoDeny    bool
}

func (l *loginState) init() {
	l.grants = map[string]*grant{}
	l.codes = map[string]*authCode{}
	l.tokens = map[string]*token{}
	l.pageTokens = map[string]string{}
}

// SetSignedIn makes a user the one signed in to the login dialog (the
// dialog also takes ?emu_user=ID).
func (s *Server) SetSignedIn(userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[userID] == nil {
		return &adminError{404, fmt.Sprintf("emulator: no user %q", userID)}
	}
	s.login.signedIn = userID
	return nil
}

// SetAutoApprove makes the login dialog allow every request at once as the
// given user, with all the scopes asked and all the user's pages, and
// redirect back with a code instead of showing the consent page. "" turns
// it off.
func (s *Server) SetAutoApprove(userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if userID != "" && s.users[userID] == nil {
		return &adminError{404, fmt.Sprintf("emulator: no user %q", userID)}
	}
	s.login.autoApprove = userID
	if userID != "" {
		s.login.autoDeny = false
	}
	return nil
}

// SetAutoDeny makes the login dialog answer every request as if the user
// pressed Cancel.
func (s *Server) SetAutoDeny(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.login.autoDeny = on
	if on {
		s.login.autoApprove = ""
	}
}

// Revoke removes an app from a user's settings (as the user would under
// "Business integrations"): every token of that grant, page tokens
// included, then gets code 190 subcode 458.
func (s *Server) Revoke(userID, appID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.login.grants[userID+"|"+appID]; g != nil {
		s.revokeLocked(g)
	}
}

// ExpireTokens makes every user and page token issued so far expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.nowLocked().Add(-time.Second)
	for _, t := range s.login.tokens {
		if t.kind != tokApp {
			t.expires = past
		}
	}
}

// PageToken issues a page access token for an app without the login
// dialog, as if userID had granted the app the page with pages_messaging,
// pages_manage_metadata and pages_show_list. It never expires.
func (s *Server) PageToken(appID, userID, pageID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps[appID] == nil {
		return "", &adminError{404, fmt.Sprintf("emulator: no app %q", appID)}
	}
	p, err := s.pageLocked(pageID)
	if err != nil {
		return "", err
	}
	if _, ok := p.roles[userID]; !ok {
		return "", &adminError{400, fmt.Sprintf("emulator: user %q does not manage page %s", userID, pageID)}
	}
	g := s.grantLocked(userID, appID)
	for _, sc := range []string{ScopePagesMessaging, ScopePagesManageMetadata, ScopePagesShowList, ScopePublicProfile} {
		if !slices.Contains(g.scopes, sc) {
			g.scopes = append(g.scopes, sc)
		}
	}
	if !slices.Contains(g.pages, pageID) {
		g.pages = append(g.pages, pageID)
	}
	g.revoked = false
	v := s.opaqueLocked("EAAP", "page-token", 180)
	s.login.tokens[v] = &token{value: v, kind: tokPage, appID: appID, userID: userID, pageID: pageID,
		grant: g, issued: s.nowLocked(), longLived: true}
	return v, nil
}

// revokeLocked kills a grant: its tokens (which point to it) get 190/458,
// and a later consent starts a fresh grant with only what it asks.
func (s *Server) revokeLocked(g *grant) {
	s.login.grants[g.userID+"|"+g.appID] = &grant{userID: g.userID, appID: g.appID}
	g.revoked = true
}

func (s *Server) grantLocked(userID, appID string) *grant {
	k := userID + "|" + appID
	g := s.login.grants[k]
	if g == nil {
		g = &grant{userID: userID, appID: appID}
		s.login.grants[k] = g
	}
	return g
}

// --- authentication ---------------------------------------------------------------

// tokenOf returns the access token of a request: the access_token
// parameter, or an "Authorization: Bearer|OAuth …" header.
func (rq *request) tokenOf() string {
	if v := rq.get("access_token"); v != "" {
		return v
	}
	h := rq.r.Header.Get("Authorization")
	for _, p := range []string{"bearer ", "oauth "} {
		if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
			return strings.TrimSpace(h[len(p):])
		}
	}
	return ""
}

// auth resolves a request's access token; a wrong appsecret_proof is
// refused as Graph does.
func (s *Server) auth(rq *request) (*token, error) {
	v := rq.tokenOf()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.resolveLocked(v)
	if err != nil {
		return nil, err
	}
	if proof := rq.get("appsecret_proof"); proof != "" {
		a := s.apps[t.appID]
		mac := hmac.New(sha256.New, []byte(a.secret))
		mac.Write([]byte(v))
		want := hex.EncodeToString(mac.Sum(nil))
		if subtle.ConstantTimeCompare([]byte(strings.ToLower(proof)), []byte(want)) != 1 {
			return nil, gErr(100, 0, "Invalid appsecret_proof provided in the API argument")
		}
	}
	return t, nil
}

func (s *Server) resolveLocked(v string) (*token, *GraphError) {
	if v == "" {
		return nil, noToken()
	}
	if id, secret, ok := strings.Cut(v, "|"); ok {
		a := s.apps[id]
		if a != nil && subtle.ConstantTimeCompare([]byte(secret), []byte(a.secret)) == 1 {
			return &token{value: v, kind: tokApp, appID: id}, nil
		}
		if t := s.login.tokens[v]; t != nil && t.kind == tokApp {
			return t, nil
		}
		return nil, invalidToken(0, "Invalid OAuth access token signature.")
	}
	t := s.login.tokens[v]
	if t == nil {
		return nil, invalidToken(0, "Invalid OAuth access token - Cannot parse access token")
	}
	now := s.nowLocked()
	if !t.expires.IsZero() && !now.Before(t.expires) {
		return nil, invalidToken(463, fmt.Sprintf("Error validating access token: Session has expired on %s. The current time is %s.",
			fbTime(t.expires), fbTime(now)))
	}
	if t.grant != nil && t.grant.revoked {
		return nil, invalidToken(458, fmt.Sprintf("Error validating access token: The user has not authorized application %s.", t.appID))
	}
	return t, nil
}

func fbTime(t time.Time) string { return t.UTC().Format("Monday, 02-Jan-06 15:04:05 MST") }

func (s *Server) newUserTokenLocked(g *grant, lifetime time.Duration, long bool) *token {
	now := s.nowLocked()
	v := s.opaqueLocked("EAAU", "user-token", 180)
	t := &token{value: v, kind: tokUser, appID: g.appID, userID: g.userID, grant: g,
		issued: now, expires: now.Add(lifetime), longLived: long}
	s.login.tokens[v] = t
	return t
}

// pageTokenLocked is the page token /me/accounts hands out for a user
// token: the same one on every call; it never expires when the user token
// is long-lived, and expires with it otherwise.
func (s *Server) pageTokenLocked(ut *token, pageID string) string {
	k := ut.value + "|" + pageID
	if v, ok := s.login.pageTokens[k]; ok {
		return v
	}
	v := s.opaqueLocked("EAAP", "page-token", 180)
	pt := &token{value: v, kind: tokPage, appID: ut.appID, userID: ut.userID, pageID: pageID,
		grant: ut.grant, issued: s.nowLocked(), longLived: ut.longLived}
	if !ut.longLived {
		pt.expires = ut.expires
	}
	s.login.tokens[v] = pt
	s.login.pageTokens[k] = v
	return v
}

// --- login dialog -------------------------------------------------------------------

func errorPage(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>%s</title><h1>%s</h1><p>%s</p>\n",
		template.HTMLEscapeString(title), template.HTMLEscapeString(title), template.HTMLEscapeString(detail))
}

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in With Facebook (emulator)</title>
<style>body{font-family:sans-serif;max-width:34em;margin:3em auto}label{display:block;margin:.3em 0}button{margin-right:1em}fieldset{margin:1em 0}</style>
</head><body>
<h1>{{.App}} is requesting access to:</h1>
<p>Continue as <b>{{.User}}</b>{{if .Others}} · not you? {{range .Others}}<a href="{{.Href}}">{{.Name}}</a> {{end}}{{end}}</p>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<fieldset><legend>Permissions</legend>
{{range .Scopes}}<label><input type="checkbox" name="grant_scope" value="{{.}}" checked> {{.}}</label>
{{end}}</fieldset>
<fieldset><legend>Pages {{.App}} may use</legend>
{{range .Pages}}<label><input type="checkbox" name="page" value="{{.ID}}" checked> {{.Name}} ({{.ID}})</label>
{{else}}<p>{{.User}} manages no pages.</p>
{{end}}</fieldset>
<button type="submit" name="action" value="allow" id="allow">Allow</button>
<button type="submit" name="action" value="cancel" id="cancel">Cancel</button>
</form></body></html>
`))

type hiddenField struct{ Name, Value string }
type pageChoice struct{ ID, Name string }
type userLink struct{ Name, Href string }

// splitScopes reads Facebook's scope parameter: comma-separated (spaces
// are accepted too).
func splitScopes(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func (s *Server) handleDialog(w http.ResponseWriter, r *http.Request, version string) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		errorPage(w, http.StatusMethodNotAllowed, "Error", "GET or POST only")
		return
	}
	if err := r.ParseForm(); err != nil {
		errorPage(w, 400, "Error", err.Error())
		return
	}
	p := r.Form
	s.mu.Lock()
	a := s.apps[p.Get("client_id")]
	var redirects []string
	if a != nil {
		redirects = a.redirects
	}
	s.mu.Unlock()
	if a == nil {
		errorPage(w, 400, "Invalid App ID", "The provided app ID does not look like a valid app ID.")
		return
	}
	redirect := p.Get("redirect_uri")
	if redirect == "" || !slices.Contains(redirects, redirect) {
		errorPage(w, 400, "URL blocked", "This redirect failed because the redirect URI is not whitelisted in the app's Client OAuth Settings. Make sure Client and Web OAuth Login are on and add all your app domains as Valid OAuth Redirect URIs.")
		return
	}
	if rt := p.Get("response_type"); rt != "" && rt != "code" {
		errorPage(w, 400, "Unsupported response_type", "The emulator implements response_type=code only, got "+rt+".")
		return
	}
	scopes := splitScopes(p.Get("scope"))
	var invalid []string
	for _, sc := range scopes {
		if !slices.Contains(knownScopes, sc) {
			invalid = append(invalid, sc)
		}
	}
	if len(invalid) > 0 {
		errorPage(w, 400, "Invalid Scopes: "+strings.Join(invalid, ", "),
			"This message is only shown to developers. Users of your app will ignore these permissions if present. Please read the documentation for valid permissions at: https://developers.facebook.com/docs/facebook-login/permissions")
		return
	}
	state := p.Get("state")

	s.mu.Lock()
	userID := p.Get("emu_user")
	auto, deny := s.login.autoApprove, s.login.autoDeny
	if auto != "" {
		userID = auto
	}
	if userID == "" {
		userID = s.login.signedIn
	}
	if userID == "" && len(s.userOrder) > 0 {
		userID = s.userOrder[0]
	}
	u := s.users[userID]
	var userPages []pageChoice
	var others []userLink
	if u != nil {
		for _, id := range u.pages {
			userPages = append(userPages, pageChoice{ID: id, Name: s.pages[id].name})
		}
		for _, id := range s.userOrder {
			if id != userID {
				q := cloneValues(p)
				q.Set("emu_user", id)
				q.Del("action")
				others = append(others, userLink{Name: s.users[id].name, Href: r.URL.Path + "?" + q.Encode()})
			}
		}
	}
	s.mu.Unlock()
	if u == nil {
		errorPage(w, 400, "Not signed in", "The emulator has no user to sign in: add one (POST "+AdminPrefix+"users).")
		return
	}

	var granted, pages []string
	switch {
	case deny:
		denyBack(w, r, redirect, state)
		return
	case auto != "":
		granted = scopes
		for _, pc := range userPages {
			pages = append(pages, pc.ID)
		}
	case r.Method == http.MethodPost && p.Get("action") != "":
		if p.Get("action") != "allow" {
			denyBack(w, r, redirect, state)
			return
		}
		for _, sc := range p["grant_scope"] {
			if slices.Contains(scopes, sc) {
				granted = append(granted, sc)
			}
		}
		for _, id := range p["page"] {
			if slices.ContainsFunc(userPages, func(pc pageChoice) bool { return pc.ID == id }) {
				pages = append(pages, id)
			}
		}
	default:
		var hidden []hiddenField
		for _, k := range []string{"client_id", "redirect_uri", "state", "scope", "response_type", "emu_user"} {
			if k == "emu_user" {
				hidden = append(hidden, hiddenField{k, userID})
			} else if p.Has(k) {
				hidden = append(hidden, hiddenField{k, p.Get(k)})
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		consentTmpl.Execute(w, map[string]any{
			"App": a.name, "User": u.name, "Others": others, "Action": r.URL.Path,
			"Hidden": hidden, "Scopes": scopes, "Pages": userPages,
		})
		return
	}

	s.mu.Lock()
	g := s.grantLocked(userID, a.id)
	g.revoked = false
	for _, sc := range append([]string{ScopePublicProfile}, granted...) {
		if !slices.Contains(g.scopes, sc) {
			g.scopes = append(g.scopes, sc)
		}
		g.declined = slices.DeleteFunc(g.declined, func(x string) bool { return x == sc })
	}
	for _, sc := range scopes {
		if !slices.Contains(granted, sc) {
			g.scopes = slices.DeleteFunc(g.scopes, func(x string) bool { return x == sc })
			if !slices.Contains(g.declined, sc) {
				g.declined = append(g.declined, sc)
			}
		}
	}
	// The page selection of this consent replaces the one before, as
	// "Edit settings" in Facebook's dialog does.
	g.pages = pages
	code := s.opaqueLocked("AQ", "code", 120)
	s.login.codes[code] = &authCode{appID: a.id, redirect: redirect, grant: g, expires: s.nowLocked().Add(s.opts.CodeLifetime)}
	s.mu.Unlock()
	redirectBack(w, r, redirect, url.Values{"code": {code}, "state": {state}})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, x := range v {
		out[k] = append([]string(nil), x...)
	}
	return out
}

func denyBack(w http.ResponseWriter, r *http.Request, redirect, state string) {
	redirectBack(w, r, redirect, url.Values{"error": {"access_denied"}, "error_code": {"200"},
		"error_description": {"Permissions error"}, "error_reason": {"user_denied"}, "state": {state}})
}

// redirectBack sends the browser to the redirect URI with params added to
// its query and Facebook's "#_=_" fragment.
func redirectBack(w http.ResponseWriter, r *http.Request, redirect string, params url.Values) {
	u, err := url.Parse(redirect)
	if err != nil {
		errorPage(w, 400, "Error", "bad redirect_uri")
		return
	}
	q := u.Query()
	for k, v := range params {
		if len(v) == 1 && v[0] == "" && k == "state" {
			continue
		}
		q[k] = v
	}
	u.RawQuery = q.Encode()
	u.Fragment = "_=_"
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// --- token endpoint ---------------------------------------------------------------------

func (s *Server) handleAccessToken(rq *request) {
	clientID := rq.get("client_id")
	if clientID == "" {
		rq.fail(gErr(101, 0, "Missing client_id parameter."))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[clientID]
	if a == nil {
		rq.fail(gErr(101, 0, "Error validating application. Invalid application ID."))
		return
	}
	secretOK := subtle.ConstantTimeCompare([]byte(rq.get("client_secret")), []byte(a.secret)) == 1
	switch gt := rq.get("grant_type"); gt {
	case "client_credentials":
		if !secretOK {
			rq.fail(gErr(1, 0, "Error validating client secret."))
			return
		}
		v := a.id + "|" + s.opaqueLocked("", "app-token", 27)
		s.login.tokens[v] = &token{value: v, kind: tokApp, appID: a.id, issued: s.nowLocked()}
		rq.ok(map[string]any{"access_token": v, "token_type": "bearer"})
	case "fb_exchange_token":
		if !secretOK {
			rq.fail(gErr(1, 0, "Error validating client secret."))
			return
		}
		t, err := s.resolveLocked(rq.get("fb_exchange_token"))
		if err != nil {
			rq.fail(err)
			return
		}
		if t.kind != tokUser || t.appID != a.id {
			rq.fail(invalidToken(0, "Invalid OAuth access token - Cannot parse access token"))
			return
		}
		nt := s.newUserTokenLocked(t.grant, s.opts.LongLivedTokenLifetime, true)
		rq.ok(map[string]any{"access_token": nt.value, "token_type": "bearer",
			"expires_in": int64(s.opts.LongLivedTokenLifetime / time.Second)})
	case "", "authorization_code":
		redirect := rq.get("redirect_uri")
		if !rq.has("redirect_uri") {
			rq.fail(gErr(191, 0, "Missing redirect_uri parameter."))
			return
		}
		if !secretOK {
			rq.fail(gErr(1, 0, "Error validating client secret."))
			return
		}
		code := rq.get("code")
		c := s.login.codes[code]
		switch {
		case code == "" || c == nil || c.appID != a.id:
			rq.fail(gErr(100, 0, "Invalid verification code format."))
			return
		case c.used:
			e := gErr(100, 36009, "This authorization code has been used.")
			e.AuthHeader = `OAuth "Facebook Platform" "invalid_code" "This authorization code has been used."`
			rq.fail(e)
			return
		case !s.nowLocked().Before(c.expires):
			e := gErr(100, 36007, "This authorization code has expired.")
			e.AuthHeader = `OAuth "Facebook Platform" "invalid_code" "This authorization code has expired."`
			rq.fail(e)
			return
		case redirect != c.redirect:
			rq.fail(gErr(100, 36008, "Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request"))
			return
		}
		c.used = true
		t := s.newUserTokenLocked(c.grant, s.opts.UserTokenLifetime, false)
		rq.ok(map[string]any{"access_token": t.value, "token_type": "bearer",
			"expires_in": int64(s.opts.UserTokenLifetime / time.Second)})
	default:
		rq.fail(paramEnum("grant_type", gt, []string{"authorization_code", "client_credentials", "fb_exchange_token"}))
	}
}

// --- nodes ---------------------------------------------------------------------------------

// fieldsOf reads ?fields=, or the defaults.
func fieldsOf(rq *request, def ...string) []string {
	f := rq.list("fields")
	if len(f) == 0 {
		return def
	}
	return f
}

func pick(nodeType string, all map[string]any, fields []string) (map[string]any, *GraphError) {
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		v, ok := all[f]
		if !ok {
			return nil, gErr(100, 0, fmt.Sprintf("(#100) Tried accessing nonexisting field (%s) on node type (%s)", f, nodeType))
		}
		if v != nil {
			out[f] = v
		}
	}
	return out, nil
}

func (s *Server) handleNode(rq *request, node string) {
	t, err := s.auth(rq)
	if err != nil {
		rq.fail(err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if node == "me" {
		switch t.kind {
		case tokUser:
			node = t.userID
		case tokPage:
			node = t.pageID
		default:
			rq.fail(noToken())
			return
		}
	}
	var out map[string]any
	var gerr *GraphError
	switch {
	case s.pages[node] != nil:
		p := s.pages[node]
		out, gerr = pick("Page", map[string]any{"id": p.id, "name": p.name, "category": p.category,
			"link": "https://www.facebook.com/" + p.id}, fieldsOf(rq, "name", "id"))
	case s.users[node] != nil && t.kind == tokUser && t.userID == node:
		u := s.users[node]
		first, last, _ := strings.Cut(u.name, " ")
		out, gerr = pick("User", map[string]any{"id": u.id, "name": u.name, "first_name": first, "last_name": last},
			fieldsOf(rq, "name", "id"))
	case t.kind == tokPage && s.pages[t.pageID] != nil && s.pages[t.pageID].customers[node] != nil:
		// The User Profile API: a page asks about a customer who wrote
		// to it (a PSID is page-scoped: another page's token gets the
		// unknown-node error below).
		c := s.pages[t.pageID].customers[node]
		first, last, _ := strings.Cut(c.name, " ")
		out, gerr = pick("User", map[string]any{"id": c.psid, "name": c.name, "first_name": first, "last_name": last,
			"profile_pic": "https://platform-lookaside.fbsbx.com/platform/profilepic/?psid=" + c.psid},
			fieldsOf(rq, "first_name", "last_name", "profile_pic", "id"))
	case s.apps[node] != nil:
		a := s.apps[node]
		out, gerr = pick("Application", map[string]any{"id": a.id, "name": a.name,
			"link": "https://www.facebook.com/games/?app_id=" + a.id, "category": "Business"}, fieldsOf(rq, "name", "id"))
	default:
		gerr = unsupported("GET", node)
	}
	if gerr != nil {
		rq.fail(gerr)
		return
	}
	rq.ok(out)
}

// handleAccounts is GET /me/accounts: the pages the user granted the app,
// each with its page access token.
func (s *Server) handleAccounts(rq *request, node string) {
	t, err := s.auth(rq)
	if err != nil {
		rq.fail(err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case t.kind == tokPage:
		rq.fail(gErr(100, 0, "(#100) Tried accessing nonexisting field (accounts) on node type (Page)"))
		return
	case t.kind != tokUser:
		rq.fail(noToken())
		return
	case node != "me" && node != t.userID:
		rq.fail(unsupported("GET", node))
		return
	}
	u := s.users[t.userID]
	var ids []string
	if t.hasScope(ScopePagesShowList) {
		for _, id := range u.pages {
			if slices.Contains(t.grant.pages, id) {
				if _, ok := s.pages[id].roles[u.id]; ok {
					ids = append(ids, id)
				}
			}
		}
	}
	limit := 25
	if v, err := strconv.Atoi(rq.get("limit")); err == nil && v > 0 {
		limit = min(v, 100)
	}
	start := 0
	if after := rq.get("after"); after != "" {
		b, _ := base64.RawURLEncoding.DecodeString(after)
		i := slices.Index(ids, string(b))
		if i < 0 {
			rq.fail(gErr(100, 0, "(#100) Invalid cursor"))
			return
		}
		start = i + 1
	}
	end := min(start+limit, len(ids))
	fields := fieldsOf(rq, "access_token", "category", "category_list", "name", "id", "tasks")
	data := []map[string]any{}
	for _, id := range ids[start:end] {
		p := s.pages[id]
		row, gerr := pick("Page", map[string]any{
			"access_token":  s.pageTokenLocked(t, id),
			"category":      p.category,
			"category_list": []map[string]string{{"id": categoryID(p.category), "name": p.category}},
			"name":          p.name,
			"id":            p.id,
			"tasks":         p.roles[u.id],
		}, fields)
		if gerr != nil {
			rq.fail(gerr)
			return
		}
		data = append(data, row)
	}
	out := map[string]any{"data": data}
	if len(data) > 0 {
		cur := func(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }
		paging := map[string]any{"cursors": map[string]string{"before": cur(ids[start]), "after": cur(ids[end-1])}}
		if end < len(ids) {
			q := rq.r.URL.Query()
			q.Set("after", cur(ids[end-1]))
			q.Set("limit", strconv.Itoa(limit))
			paging["next"] = "http://" + rq.r.Host + rq.r.URL.Path + "?" + q.Encode()
		}
		out["paging"] = paging
	}
	rq.ok(out)
}

func categoryID(name string) string {
	mac := hmac.New(sha256.New, []byte("category"))
	mac.Write([]byte(name))
	sum := mac.Sum(nil)
	var n uint64
	for _, c := range sum[:8] {
		n = n<<8 | uint64(c)
	}
	return strconv.FormatUint(100000000000000+n%900000000000000, 10)
}

// handlePermissions is GET and DELETE /me/permissions.
func (s *Server) handlePermissions(rq *request, node string) {
	t, err := s.auth(rq)
	if err != nil {
		rq.fail(err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.kind != tokUser || (node != "me" && node != t.userID) {
		rq.fail(unsupported(rq.r.Method, node))
		return
	}
	if rq.r.Method == http.MethodDelete {
		s.revokeLocked(t.grant)
		rq.ok(map[string]bool{"success": true})
		return
	}
	data := []map[string]string{}
	for _, sc := range t.grant.scopes {
		data = append(data, map[string]string{"permission": sc, "status": "granted"})
	}
	for _, sc := range t.grant.declined {
		data = append(data, map[string]string{"permission": sc, "status": "declined"})
	}
	rq.ok(map[string]any{"data": data})
}

// handleDebugToken is GET /debug_token?input_token=…, called with an app
// token (or a token of the same app).
func (s *Server) handleDebugToken(rq *request) {
	caller, err := s.auth(rq)
	if err != nil {
		rq.fail(err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	input := rq.get("input_token")
	if input == "" {
		rq.fail(paramRequired("input_token"))
		return
	}
	it, gerr := s.resolveLocked(input)
	if gerr != nil {
		rq.ok(map[string]any{"data": map[string]any{
			"error":    map[string]any{"code": gerr.Code, "subcode": gerr.Subcode, "message": gerr.Message},
			"is_valid": false, "scopes": []string{}}})
		return
	}
	if it.appID != caller.appID {
		rq.fail(gErr(100, 0, "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app"))
		return
	}
	a := s.apps[it.appID]
	d := map[string]any{"app_id": a.id, "type": it.kind.String(), "application": a.name, "is_valid": true,
		"expires_at": 0, "scopes": []string{}}
	if !it.expires.IsZero() {
		d["expires_at"] = it.expires.Unix()
	}
	if !it.issued.IsZero() && it.kind != tokApp {
		d["issued_at"] = it.issued.Unix()
		d["data_access_expires_at"] = it.issued.Add(90 * 24 * time.Hour).Unix()
	}
	if it.grant != nil {
		d["user_id"] = it.userID
		d["scopes"] = it.grant.scopes
		var gs []map[string]any
		for _, sc := range it.grant.scopes {
			row := map[string]any{"scope": sc}
			if strings.HasPrefix(sc, "pages_") {
				row["target_ids"] = it.grant.pages
			}
			gs = append(gs, row)
		}
		d["granular_scopes"] = gs
	}
	if it.kind == tokPage {
		d["profile_id"] = it.pageID
	}
	rq.ok(map[string]any{"data": d})
}
