package msidentity

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// scopeLabels are the consent page's wording for the scopes that need it.
var scopeLabels = map[string]string{
	strings.ToLower(ScopeIMAP): "Read and write access to your mail (IMAP)",
	strings.ToLower(ScopeSMTP): "Send email as you (SMTP)",
	strings.ToLower(ScopePOP):  "Read and write access to your mail (POP)",
	"offline_access":           "Maintain access to data you have given it access to",
	"openid":                   "Sign you in",
	"profile":                  "View your basic profile",
	"email":                    "View your email address",
}

// errorPage is what Microsoft shows when it cannot send the browser back:
// "Sorry, but we're having trouble signing you in." with the AADSTS code.
func errorPage(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>Sign in to your account (emulator)</title><h1>Sign in</h1><p>Sorry, but we’re having trouble signing you in.</p><p id=\"error\">AADSTS%d: %s</p>\n",
		code, template.HTMLEscapeString(msg))
}

var consentTmpl = template.Must(template.New("consent").Funcs(template.FuncMap{
	"label": func(sc string) string { return scopeLabels[strings.ToLower(sc)] },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Permissions requested (Microsoft identity platform emulator)</title>
<style>body{font-family:sans-serif;max-width:32em;margin:3em auto}label{display:block;margin:.4em 0}button{margin-right:1em}</style>
</head><body>
<h1>Pick an account</h1>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}{{range .Users}}<label><input type="radio" name="account" value="{{.Email}}"{{if .Checked}} checked{{end}}> {{.Name}} &lt;{{.Email}}&gt;</label>
{{else}}<p>No account can sign in here.</p>
{{end}}<h2>Permissions requested</h2>
<p><b>{{.Client}}</b> (Tandem's Microsoft identity platform emulator) would like to:</p>
<ul>{{range .Scopes}}<li>{{with label .}}{{.}} ({{end}}{{.}}{{with label .}}){{end}}</li>{{end}}</ul>
<button type="submit" name="action" value="accept" id="accept">Accept</button>
<button type="submit" name="action" value="cancel" id="cancel">Cancel</button>
</form></body></html>
`))

type hiddenField struct{ Name, Value string }

type consentUser struct {
	Email, Name string
	Checked     bool
}

// handleAuthorize is /{tenant}/oauth2/v2.0/authorize: GET from the
// client's redirect, POST from the consent page.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request, tenant string) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		errorPage(w, http.StatusMethodNotAllowed, 900561, "The endpoint only accepts GET and POST requests.")
		return
	}
	if err := r.ParseForm(); err != nil {
		errorPage(w, http.StatusBadRequest, 900144, "The request is malformed: "+err.Error())
		return
	}
	p := r.Form
	fits, ok := s.tenantUsers(tenant)
	if !ok {
		errorPage(w, http.StatusBadRequest, 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	clientID := p.Get("client_id")
	s.mu.Lock()
	c := s.clients[clientID]
	s.mu.Unlock()
	if c == nil {
		errorPage(w, http.StatusBadRequest, 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant))
		return
	}
	redirect := p.Get("redirect_uri")
	if redirect == "" && len(c.redirects) == 1 {
		redirect = c.redirects[0]
	}
	if !slices.Contains(c.redirects, redirect) {
		errorPage(w, http.StatusBadRequest, 50011, fmt.Sprintf("The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.", redirect, clientID))
		return
	}
	mode := p.Get("response_mode")
	switch mode {
	case "":
		mode = "query"
	case "query", "fragment", "form_post":
	default:
		errorPage(w, http.StatusBadRequest, 900144, "The response_mode '"+mode+"' is not supported.")
		return
	}
	back := func(v url.Values) { s.redirectBack(w, r, redirect, mode, p.Get("state"), v) }
	if p.Get("response_type") != "code" {
		back(s.aadRedirectError("unsupported_response_type", 700054, "response_type '"+p.Get("response_type")+"' is not enabled for the application."))
		return
	}
	scopes := strings.Fields(p.Get("scope"))
	if len(scopes) == 0 {
		back(s.aadRedirectError("invalid_request", 900144, "The request body must contain the following parameter: 'scope'."))
		return
	}
	challenge, method := p.Get("code_challenge"), p.Get("code_challenge_method")
	if challenge != "" && method != "S256" && method != "plain" && method != "" {
		back(s.aadRedirectError("invalid_request", 501491, "Invalid code_challenge_method: "+method))
		return
	}
	if challenge != "" && method != "S256" {
		challenge = "plain:" + challenge
	}
	consentPost := r.Method == http.MethodPost && p.Get("action") != ""
	if !consentPost {
		s.mu.Lock()
		s.auths = append(s.auths, cloneValues(p))
		s.mu.Unlock()
	}

	s.mu.Lock()
	auto, deny := s.autoApprove, s.autoDeny
	s.mu.Unlock()
	account := ""
	switch {
	case deny || (consentPost && p.Get("action") != "accept"):
		back(s.aadRedirectError("access_denied", 65004, "User declined to consent to access the app."))
		return
	case auto != "":
		account = auto
	case consentPost:
		account = userKey(p.Get("account"))
	case p.Get("prompt") == "none":
		// No page may be shown: only an account already consenting to
		// everything asked, named by login_hint.
		account = userKey(p.Get("login_hint"))
		if !s.consented(clientID, account, scopes) {
			back(s.aadRedirectError("consent_required", 65001, "The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource."))
			return
		}
	default:
		s.consentPage(w, r, tenant, p, c, scopes, fits)
		return
	}
	s.mu.Lock()
	u := s.users[account]
	s.mu.Unlock()
	if u == nil {
		errorPage(w, http.StatusBadRequest, 50034, fmt.Sprintf("The user account %s does not exist in the directory. To sign into this application, the account must be added to the directory.", account))
		return
	}
	if !fits(u) {
		errorPage(w, http.StatusBadRequest, 50020, fmt.Sprintf("User account '%s' from identity provider does not exist in tenant '%s' and cannot access the application '%s' in that tenant.", u.email, tenant, clientID))
		return
	}
	code := s.issueCode(c, u, redirect, scopes, challenge, p.Get("nonce"))
	back(url.Values{"code": {code}})
}

// consented reports whether the user has an unrevoked grant to the client
// covering scopes.
func (s *Server) consented(clientID, account string, scopes []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.grantLocked(clientID, account)
	if g == nil {
		return false
	}
	for _, sc := range scopes {
		if !hasScope(g.scopes, sc) {
			return false
		}
	}
	return true
}

// grantLocked is the user's live grant to the client, or nil.
func (s *Server) grantLocked(clientID, account string) *grant {
	for _, g := range s.grants {
		if g.clientID == clientID && userKey(g.user.email) == account && !g.revoked {
			return g
		}
	}
	return nil
}

// issueCode records the consent (a revoked grant is replaced by a new one)
// and returns a code for it.
func (s *Server) issueCode(c *client, u *user, redirect string, scopes []string, challenge, nonce string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.grantLocked(c.id, userKey(u.email))
	if g == nil {
		g = &grant{clientID: c.id, user: u, issued: s.now()}
		s.grants = append(s.grants, g)
	}
	g.scopes = addScopes(g.scopes, scopes...)
	code := newToken("M.C5", 48)
	s.codes[code] = &authCode{clientID: c.id, redirectURI: redirect, user: u, scopes: slices.Clone(scopes),
		challenge: challenge, nonce: nonce, expires: s.now().Add(s.opts.AuthCodeLifetime)}
	return code
}

func (s *Server) consentPage(w http.ResponseWriter, r *http.Request, tenant string, p url.Values, c *client, scopes []string,
	fits func(*user) bool) {
	hint := userKey(p.Get("login_hint"))
	var users []consentUser
	s.mu.Lock()
	for _, k := range s.userOrder {
		if u := s.users[k]; fits(u) {
			users = append(users, consentUser{Email: u.email, Name: u.name, Checked: k == hint})
		}
	}
	s.mu.Unlock()
	if hint == "" && len(users) > 0 {
		users[0].Checked = true
	}
	keys := make([]string, 0, len(p))
	for k := range p {
		if k != "action" && k != "account" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var hidden []hiddenField
	for _, k := range keys {
		hidden = append(hidden, hiddenField{k, p.Get(k)})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	consentTmpl.Execute(w, map[string]any{"Client": c.id, "Action": "/" + tenant + "/oauth2/v2.0/authorize",
		"Hidden": hidden, "Users": users, "Scopes": scopes})
}

// aadRedirectError is an error sent back to the client's redirect URI.
func (s *Server) aadRedirectError(code string, n int, msg string) url.Values {
	ts := s.now().UTC().Format(timestampLayout)
	v := url.Values{"error": {code}, "error_description": {aadDescription(n, msg, randomGUID(), randomGUID(), ts)}}
	if code == "access_denied" {
		v.Set("error_subcode", "cancel")
	}
	return v
}

var formPostTmpl = template.Must(template.New("form_post").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Working...</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><button type="submit">Continue</button></noscript></form></body></html>
`))

// redirectBack answers the client at its redirect URI in the response
// mode asked: the query (default), the fragment, or an auto-posting form.
func (s *Server) redirectBack(w http.ResponseWriter, r *http.Request, redirect, mode, state string, v url.Values) {
	if state != "" {
		v.Set("state", state)
	}
	u, err := url.Parse(redirect)
	if err != nil {
		errorPage(w, http.StatusBadRequest, 50011, "The redirect URI is malformed.")
		return
	}
	switch mode {
	case "form_post":
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var fields []hiddenField
		for _, k := range keys {
			fields = append(fields, hiddenField{k, v.Get(k)})
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		formPostTmpl.Execute(w, map[string]any{"Action": u.String(), "Fields": fields})
		return
	case "fragment":
		u.Fragment = ""
		u.RawFragment = ""
		http.Redirect(w, r, u.String()+"#"+v.Encode(), http.StatusFound)
		return
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
