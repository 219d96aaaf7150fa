package msidentity

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/emulator/loopback"
)

// Scopes of Exchange Online's mail protocols (apis.md §3.2), and the
// OpenID Connect ones.
const (
	ScopeIMAP          = "https://outlook.office.com/IMAP.AccessAsUser.All"
	ScopeSMTP          = "https://outlook.office.com/SMTP.Send"
	ScopePOP           = "https://outlook.office.com/POP.AccessAsUser.All"
	ScopeOfflineAccess = "offline_access"
)

// ConsumersTenantID is the directory of personal Microsoft accounts: the
// tid of outlook.com, hotmail.com and live.com users.
const ConsumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// DefaultTenantID is the organization's directory id when
// Options.TenantID is empty.
const DefaultTenantID = "72f988bf-0000-4000-8000-00000000e3a1"

// consumerDomains are the domains of personal Microsoft accounts.
var consumerDomains = []string{"outlook.com", "hotmail.com", "live.com", "msn.com"}

// Options configure a Server. The zero value is usable.
type Options struct {
	// Addr is the listen address of Start; default "127.0.0.1:0".
	Addr string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// TenantID is the organization's directory id (the tid of its work
	// accounts); default DefaultTenantID.
	TenantID string
	// AccessTokenLifetime is expires_in of access tokens; default 3599 s.
	AccessTokenLifetime time.Duration
	// AuthCodeLifetime is how long a code may be redeemed; default 10 min.
	AuthCodeLifetime time.Duration
	// RefreshTokenLifetime is how long a refresh token lives unused
	// (Microsoft's sliding 90 days); default 90 days.
	RefreshTokenLifetime time.Duration
	// InvalidateRotated refuses a refresh token once it was redeemed (see
	// SetInvalidateRotated).
	InvalidateRotated bool
}

func (o *Options) defaults() {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TenantID == "" {
		o.TenantID = DefaultTenantID
	}
	if o.AccessTokenLifetime == 0 {
		o.AccessTokenLifetime = 3599 * time.Second
	}
	if o.AuthCodeLifetime == 0 {
		o.AuthCodeLifetime = 10 * time.Minute
	}
	if o.RefreshTokenLifetime == 0 {
		o.RefreshTokenLifetime = 90 * 24 * time.Hour
	}
}

// Server is the emulator. All methods are safe for concurrent use.
type Server struct {
	opts Options

	mu          sync.Mutex
	clients     map[string]*client
	users       map[string]*user // lower-cased email → user
	userOrder   []string
	codes       map[string]*authCode
	access      map[string]*accessToken
	refresh     map[string]*refreshToken
	grants      []*grant
	autoApprove string
	autoDeny    bool
	invalidate  bool

	exchanges, refreshes int
	auths                []url.Values

	lst loopback.Listener // serves Start
}

type client struct {
	id, secret string
	redirects  []string
}

type user struct {
	email, name string
	oid, tid    string
}

// consumer reports a personal Microsoft account.
func (u *user) consumer() bool { return u.tid == ConsumersTenantID }

type authCode struct {
	clientID, redirectURI string
	user                  *user
	scopes                []string // as asked at the authorization endpoint
	challenge             string
	nonce                 string
	expires               time.Time
	used                  bool
}

// grant is a user's consent to a client: the scopes consented so far.
type grant struct {
	clientID string
	user     *user
	scopes   []string
	issued   time.Time
	revoked  bool
}

type accessToken struct {
	grant   *grant
	scopes  []string // one resource's
	expires time.Time
}

type refreshToken struct {
	grant    *grant
	scopes   []string // what the code asked, the default of a refresh
	issued   time.Time
	redeemed bool
}

// New returns a Server with no users or clients.
func New(opts Options) *Server {
	opts.defaults()
	return &Server{opts: opts, clients: map[string]*client{}, users: map[string]*user{}, codes: map[string]*authCode{},
		access: map[string]*accessToken{}, refresh: map[string]*refreshToken{}, invalidate: opts.InvalidateRotated}
}

// Start listens on Options.Addr and serves in the background. It returns
// the base URL (no trailing slash), Tandem's MicrosoftAuthorityUrl.
func (s *Server) Start() (string, error) {
	return s.lst.Serve(s.opts.Addr, s)
}

// URL is the base URL returned by Start ("" before Start).
func (s *Server) URL() string { return s.lst.URL() }

// Handler is the emulator's HTTP handler, for use with httptest.Server.
func (s *Server) Handler() http.Handler { return s }

// Close stops the listener started by Start.
func (s *Server) Close() error {
	return s.lst.Shutdown()
}

// TenantID is the organization's directory id.
func (s *Server) TenantID() string { return s.opts.TenantID }

func (s *Server) now() time.Time { return s.opts.Now() }

// --- control ------------------------------------------------------------------

// AddClient registers an app (an app registration in Microsoft Entra) with
// its client secret's value and the exact redirect URIs it may use.
func (s *Server) AddClient(id, secret string, redirectURIs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[id] = &client{id: id, secret: secret, redirects: slices.Clone(redirectURIs)}
}

func userKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// AddUser adds an account, or renames an existing one: a personal account
// at Microsoft's consumer domains, a work account of the organization
// otherwise. Its object id (oid) is derived from the address, so it is the
// same on every run.
func (s *Server) AddUser(email, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := userKey(email)
	if u, ok := s.users[k]; ok {
		u.name = name
		return
	}
	tid := s.opts.TenantID
	if slices.Contains(consumerDomains, domainOf(k)) {
		tid = ConsumersTenantID
	}
	s.users[k] = &user{email: strings.TrimSpace(email), name: name, oid: guid("oid:" + k), tid: tid}
	s.userOrder = append(s.userOrder, k)
}

// Users lists the accounts' addresses in the order they were added.
func (s *Server) Users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.userOrder))
	for i, k := range s.userOrder {
		out[i] = s.users[k].email
	}
	return out
}

// ObjectID is a user's oid ("" for an unknown address).
func (s *Server) ObjectID(email string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[userKey(email)]; u != nil {
		return u.oid
	}
	return ""
}

// SetAutoApprove makes the authorization endpoint sign in as the given
// user and accept at once, without the consent page. "" turns it off.
func (s *Server) SetAutoApprove(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.autoApprove = userKey(email)
	if email != "" {
		s.autoDeny = false
	}
}

// SetAutoDeny makes the authorization endpoint answer as if the user
// pressed Cancel (error=access_denied).
func (s *Server) SetAutoDeny(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.autoDeny = on
	if on {
		s.autoApprove = ""
	}
}

// SetInvalidateRotated makes a redeemed refresh token unusable (on), or
// keep working as Microsoft's do (off).
func (s *Server) SetInvalidateRotated(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidate = on
}

// Revoke ends every grant of a user (as "revoke sessions" or a password
// reset does): their refresh tokens get invalid_grant AADSTS50173 and their
// access tokens are refused, as continuous access evaluation does in
// Exchange Online.
func (s *Server) Revoke(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := userKey(email)
	for _, g := range s.grants {
		if userKey(g.user.email) == k {
			g.revoked = true
		}
	}
}

// ExpireAccessTokens makes every access token issued so far expired.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.access {
		a.expires = time.Time{}
	}
}

// Exchanges counts authorization codes redeemed for tokens.
func (s *Server) Exchanges() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exchanges
}

// Refreshes counts refresh_token grants answered with tokens.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// Authorizations returns the query of every authorization request so far
// (the consent page's own posts are not counted).
func (s *Server) Authorizations() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.auths)
}

// --- routing ----------------------------------------------------------------------

const controlPrefix = "/emulator/"

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/" || p == "/healthz":
		s.handleIndex(w, r)
		return
	case p == controlPrefix+"tokeninfo":
		s.handleTokenInfo(w, r)
		return
	case strings.HasPrefix(p, controlPrefix):
		s.serveControl(w, r)
		return
	}
	tenant, rest, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	if !ok || tenant == "" {
		http.NotFound(w, r)
		return
	}
	switch rest {
	case "oauth2/v2.0/authorize":
		s.handleAuthorize(w, r, tenant)
	case "oauth2/v2.0/token":
		s.handleToken(w, r, tenant)
	case "v2.0/.well-known/openid-configuration":
		s.handleDiscovery(w, r, tenant)
	default:
		http.NotFound(w, r)
	}
}

// baseOf is the emulator's address as the request reached it: the issuer
// of its tokens is base/{tid}/v2.0, as Microsoft's is
// https://login.microsoftonline.com/{tid}/v2.0.
func baseOf(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		w.Write([]byte("ok\n"))
		return
	}
	base := baseOf(r)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "Tandem's Microsoft identity platform emulator\n\nAuthority:   %s\nAuthorize:   %s/common/oauth2/v2.0/authorize\nToken:       %s/common/oauth2/v2.0/token\nTenant:      %s\nToken info:  %s/emulator/tokeninfo?access_token= (for test mail servers; not Microsoft's)\n\nUsers:\n",
		base, base, base, s.opts.TenantID, base)
	for _, e := range s.Users() {
		fmt.Fprintf(w, "  %s\n", e)
	}
}

// tenantUsers reports whether the tenant segment names a directory the
// emulator serves, and which accounts sign in there.
func (s *Server) tenantUsers(tenant string) (func(*user) bool, bool) {
	t := strings.ToLower(tenant)
	switch t {
	case "common":
		return func(*user) bool { return true }, true
	case "organizations":
		return func(u *user) bool { return !u.consumer() }, true
	case "consumers", ConsumersTenantID:
		return (*user).consumer, true
	case strings.ToLower(s.opts.TenantID):
		return func(u *user) bool { return !u.consumer() }, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if !u.consumer() && domainOf(userKey(u.email)) == t {
			return func(u *user) bool { return !u.consumer() }, true
		}
	}
	return nil, false
}

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request, tenant string) {
	if _, ok := s.tenantUsers(tenant); !ok {
		s.tokenError(w, http.StatusBadRequest, "invalid_tenant", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	base := baseOf(r) + "/" + tenant
	// The issuer of a tenant-independent authority is a template, as
	// Microsoft's; a directory's own is base/{tid}/v2.0.
	iss := baseOf(r) + "/{tenantid}/v2.0"
	switch t := strings.ToLower(tenant); {
	case t == "consumers" || t == ConsumersTenantID:
		iss = baseOf(r) + "/" + ConsumersTenantID + "/v2.0"
	case t != "common" && t != "organizations":
		iss = baseOf(r) + "/" + s.opts.TenantID + "/v2.0"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"id_token_signing_alg_values_supported": []string{"HS256"},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "nbf", "name", "preferred_username", "email",
			"oid", "tid", "nonce", "ver"},
	})
}

// --- helpers -------------------------------------------------------------------

func domainOf(email string) string {
	_, d, _ := strings.Cut(email, "@")
	return d
}

// guid is a stable version-4-shaped GUID derived from seed.
func guid(seed string) string {
	b := sha256.Sum256([]byte(seed))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// randomGUID is a fresh version 4 GUID (trace and correlation ids).
func randomGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newToken is an opaque token with a recognisable prefix.
func newToken(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}
