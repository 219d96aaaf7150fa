package oauth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

// Flow error codes: FlowError.Code. The UI shows each as the catalogue
// message "oauth.error.<code>".
const (
	CodeSharedApp     = "shared_app"     // UseSharedGoogleApp is on
	CodeNotConfigured = "not_configured" // no client id or secret
	CodeNoRedirect    = "no_redirect"    // neither SiteUrl nor a request host
	CodeBadState      = "bad_state"      // unknown, expired, used, or another session's state
	CodeAccessDenied  = "access_denied"  // the user declined on the consent screen
	CodeProvider      = "provider_error" // the provider sent back another error
	CodeInvalidGrant  = "invalid_grant"  // the code was refused (expired, reused)
	CodeNoEmail       = "no_email"       // the provider did not say which account it is
	CodeFailed        = "failed"         // the provider could not be reached, or another failure
)

// FlowError is an authorization that did not complete, told to the person
// who tried it. Detail is the provider's error code for CodeProvider (a
// short [a-z_] word, safe to show), Err the cause for the log.
type FlowError struct {
	Code   string
	Detail string
	Err    error
	// Target and Data are the authorization's (BeginRequest), once its
	// state was found: where to tell the user.
	Target, Data string
	// Issuer is the identity platform the authorization was with
	// (BeginRequest.Provider): whose name the message gives.
	Issuer string
}

func (e *FlowError) Error() string {
	s := "oauth: " + e.Code
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FlowError) Unwrap() error { return e.Err }

func flowErr(code string, err error) *FlowError { return &FlowError{Code: code, Err: err} }

// configFlowErr maps a configuration error to the flow error told to users.
func configFlowErr(err error) error {
	switch {
	case errors.Is(err, ErrSharedApp):
		return flowErr(CodeSharedApp, err)
	case errors.Is(err, ErrNotConfigured):
		return flowErr(CodeNotConfigured, err)
	}
	return flowErr(CodeFailed, err)
}

// BeginRequest starts an authorization for a signed-in user.
type BeginRequest struct {
	// Provider is the issuer: ProviderGoogle, or ProviderMicrosoft for a
	// Target whose app is Microsoft's.
	Provider string
	UserID   string
	// Session is an unguessable value of the browser session (the UI
	// passes the session's CSRF token); only its hash is stored, and the
	// callback must come with the same session.
	Session string
	// BaseURL is the scheme and host the request came in on, used for the
	// redirect URI while SiteUrl is unset.
	BaseURL string
	// LoginHint preselects the account on the provider's sign-in page
	// (reconnecting a known account).
	LoginHint string
	// Target, when set, is the connection provider the tokens are for
	// (registered with Register): the app and the scopes are its
	// AppSource's FlowApp(Data), and Complete hands the tokens back in
	// Result.Grant instead of connecting the issuer's account.
	Target string
	Data   string
}

// Begin stores a new state with its PKCE verifier (10 minutes) and returns
// the provider's authorization URL to send the browser to (authOptions):
// a refresh token asked, an S256 challenge. Errors are *FlowError.
func (s *Service) Begin(ctx context.Context, req BeginRequest) (string, error) {
	to, err := s.begin(ctx, req)
	var fe *FlowError
	if errors.As(err, &fe) {
		fe.Issuer = req.Provider
	}
	return to, err
}

func (s *Service) begin(ctx context.Context, req BeginRequest) (string, error) {
	cfg, err := s.flowConfig(ctx, req.Provider, req.Target, req.Data)
	if err != nil {
		return "", configFlowErr(err)
	}
	if req.UserID == "" || req.Session == "" {
		return "", flowErr(CodeBadState, errors.New("no user session"))
	}
	site, err := s.set.Get(ctx, "SiteUrl")
	if err != nil {
		return "", flowErr(CodeFailed, err)
	}
	redirect := redirectURL(site, req.BaseURL, callbackPath(req.Provider))
	if redirect == "" {
		return "", flowErr(CodeNoRedirect, errors.New("SiteUrl unset and no request host"))
	}
	cfg.RedirectURL = redirect
	state := randomToken()
	verifier := oauth2.GenerateVerifier()
	st := &store.OAuthState{StateHash: hash(state), UserID: req.UserID, SessionHash: hash(req.Session), Provider: req.Provider,
		RedirectURI: redirect, LoginHint: strings.TrimSpace(req.LoginHint), Target: req.Target, TargetData: req.Data,
		ExpiresAt: crm.Micros(crm.Now().Add(StateTTL))}
	st.Verifier = s.box.Seal(verifier, stateAD(st.StateHash))
	if err := s.st.CreateOAuthState(ctx, st); err != nil {
		return "", flowErr(CodeFailed, err)
	}
	return cfg.AuthCodeURL(state, authOptions(req.Provider, verifier, st.LoginHint)...), nil
}

// authOptions are the authorization request's parameters besides the
// client's. Google: offline access (a refresh token), the consent screen
// forced (so a refresh token is issued again on a reconnect), previously
// granted scopes included. Microsoft issues a refresh token for the
// offline_access scope and includes what was consented before by itself;
// the answer comes in the query. Both: an S256 challenge, and the account
// preselected when known.
func authOptions(issuer, verifier, loginHint string) []oauth2.AuthCodeOption {
	var opts []oauth2.AuthCodeOption
	switch issuer {
	case ProviderMicrosoft:
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "query"))
	default:
		opts = append(opts, oauth2.AccessTypeOffline, oauth2.ApprovalForce, oauth2.SetAuthURLParam("include_granted_scopes", "true"))
	}
	opts = append(opts, oauth2.S256ChallengeOption(verifier))
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	return opts
}

// flowConfig is the client of an authorization: the issuer's own, or the
// target's app.
func (s *Service) flowConfig(ctx context.Context, issuer, target, data string) (*oauth2.Config, error) {
	if target == "" {
		return s.config(ctx, issuer)
	}
	src, ok := s.appSource(target)
	if !ok {
		return nil, errors.New("oauth: unknown target " + target)
	}
	app, err := src.FlowApp(ctx, data)
	if err != nil {
		return nil, err
	}
	if app.Issuer != issuer {
		return nil, fmt.Errorf("oauth: the app of %s is %s's, not %s's", target, app.Issuer, issuer)
	}
	return s.appConfig(ctx, app)
}

// CallbackRequest is the provider's redirect back to Tandem.
type CallbackRequest struct {
	Provider string
	UserID   string
	Session  string // as in BeginRequest
	Query    url.Values
}

// Result is a connected account.
type Result struct {
	Connection *store.Connection
	Created    bool // a new connection, not a renewed one
	// MissingScopes are requested scopes the user did not grant (Google
	// lets them untick some); the features that need them will fail.
	MissingScopes []string
	// OtherAccount: the user was reconnecting LoginHint but signed in to
	// another account; that one was connected, the other still waits.
	OtherAccount bool
	LoginHint    string

	// For an authorization begun with a Target, Connection is nil: Target
	// and Data are the BeginRequest's, Email the account that consented
	// and Grant its tokens, for the target's package to check and store
	// (SealGrant).
	Target, Data string
	Email        string
	Grant        *Grant
}

// Grant is the tokens of an authorization for a target, until its package
// stores them on a connection of its own.
type Grant struct{ cr credentials }

// AccessToken is the grant's access token, to log in with before the
// connection exists.
func (g *Grant) AccessToken() string { return g.cr.AccessToken }

// Scopes are the scopes the account granted.
func (g *Grant) Scopes() []string { return slices.Clone(g.cr.Scopes) }

// SealGrant returns a grant as the sealed credentials of connection
// connID, in the form TokenSource reads and refreshes.
func (s *Service) SealGrant(connID string, g *Grant) (string, error) {
	if g == nil || g.cr.AccessToken == "" {
		return "", errors.New("oauth: empty grant")
	}
	return s.seal(connID, g.cr)
}

var providerCode = regexp.MustCompile(`^[a-z_]{1,40}$`)

// Complete checks the state (known, unexpired, unused, of this user and
// session), exchanges the code with the PKCE verifier, asks the provider
// which account it is, and creates or renews the user's connection to it
// with the tokens sealed. Errors are *FlowError.
func (s *Service) Complete(ctx context.Context, req CallbackRequest) (*Result, error) {
	q := req.Query
	state := q.Get("state")
	if state == "" {
		return nil, flowErr(CodeBadState, errors.New("no state"))
	}
	st, err := s.st.TakeOAuthState(ctx, hash(state))
	if errors.Is(err, store.ErrNotFound) {
		return nil, flowErr(CodeBadState, errors.New("unknown or expired state"))
	}
	if err != nil {
		return nil, flowErr(CodeFailed, err)
	}
	if st.UserID != req.UserID || st.SessionHash != hash(req.Session) || st.Provider != req.Provider {
		return nil, flowErr(CodeBadState, errors.New("state of another user, session or provider"))
	}
	res, err := s.complete(ctx, req, st)
	var fe *FlowError
	if errors.As(err, &fe) {
		fe.Target, fe.Data, fe.Issuer = st.Target, st.TargetData, st.Provider
	}
	return res, err
}

// complete is Complete once the state is known to be the caller's.
func (s *Service) complete(ctx context.Context, req CallbackRequest, st *store.OAuthState) (*Result, error) {
	q := req.Query
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			return nil, flowErr(CodeAccessDenied, nil)
		}
		fe := flowErr(CodeProvider, errors.New("provider error"))
		if providerCode.MatchString(e) {
			fe.Detail = e
		}
		return nil, fe
	}
	code := q.Get("code")
	if code == "" {
		return nil, flowErr(CodeProvider, errors.New("no code"))
	}
	verifier, err := s.box.Open(st.Verifier, stateAD(st.StateHash))
	if err != nil {
		return nil, flowErr(CodeFailed, err)
	}
	cfg, err := s.flowConfig(ctx, req.Provider, st.Target, st.TargetData)
	if err != nil {
		return nil, configFlowErr(err)
	}
	cfg.RedirectURL = st.RedirectURI
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(verifier)}
	if req.Provider == ProviderMicrosoft {
		// Each token request names its resource's scopes (apis.md §3.2).
		opts = append(opts, oauth2.SetAuthURLParam("scope", strings.Join(cfg.Scopes, " ")))
	}
	tok, err := cfg.Exchange(s.httpCtx(ctx), code, opts...)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			return nil, flowErr(CodeInvalidGrant, retrieveErr(re))
		}
		if errors.As(err, &re) {
			err = retrieveErr(re)
		}
		return nil, flowErr(CodeFailed, fmt.Errorf("exchange code: %w", err))
	}
	info, err := s.userInfo(ctx, req.Provider, cfg, tok)
	if err != nil {
		return nil, flowErr(CodeFailed, fmt.Errorf("user info: %w", err))
	}
	email := strings.ToLower(strings.TrimSpace(info.Email))
	if email == "" {
		return nil, flowErr(CodeNoEmail, errors.New("no email in user info"))
	}
	granted := cfg.Scopes
	if sc, ok := tok.Extra("scope").(string); ok && strings.TrimSpace(sc) != "" {
		granted = strings.Fields(sc)
	}
	res := &Result{LoginHint: st.LoginHint}
	for _, sc := range cfg.Scopes {
		if !identityScope(sc) && !slices.Contains(granted, sc) {
			res.MissingScopes = append(res.MissingScopes, sc)
		}
	}
	res.OtherAccount = st.LoginHint != "" && !strings.EqualFold(st.LoginHint, email)
	cr := credentials{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.TokenType,
		Expiry: tok.Expiry, Scopes: granted}
	if st.Target != "" {
		res.Target, res.Data, res.Email, res.Grant = st.Target, st.TargetData, email, &Grant{cr: cr}
		s.log.InfoContext(ctx, "oauth grant for a target", "provider", req.Provider, "target", st.Target, "user", req.UserID)
		return res, nil
	}
	if cr.RefreshToken == "" {
		// Not expected with prompt=consent; keep the refresh token of the
		// connection being renewed, if there is one.
		cr.RefreshToken = s.previousRefreshToken(ctx, req.UserID, req.Provider, email)
	}
	c := &store.Connection{UserID: req.UserID, Provider: req.Provider, AccountEmail: email, DisplayName: info.Name,
		Scopes: strings.Join(granted, " ")}
	var sealErr error
	res.Created, err = s.st.UpsertConnection(ctx, c, func(id string) string {
		sealed, err := s.seal(id, cr)
		sealErr = err
		return sealed
	})
	if err == nil {
		err = sealErr
	}
	if err != nil {
		return nil, flowErr(CodeFailed, err)
	}
	res.Connection = c
	s.log.InfoContext(ctx, "oauth account connected", "provider", req.Provider, "connection", c.ID, "user", req.UserID,
		"created", res.Created)
	return res, nil
}

// previousRefreshToken is the refresh token of the user's connection to
// (provider, email), or "".
func (s *Service) previousRefreshToken(ctx context.Context, userID, provider, email string) string {
	cs, err := s.st.ListConnections(ctx, userID)
	if err != nil {
		return ""
	}
	for _, c := range cs {
		if c.Provider == provider && c.AccountEmail == email {
			sealed, err := s.st.ConnectionCredentials(ctx, c.ID)
			if err != nil {
				return ""
			}
			cr, err := s.open(c.ID, sealed)
			if err != nil {
				return ""
			}
			return cr.RefreshToken
		}
	}
	return ""
}

// userInfo is the OpenID Connect user info of the account a token is for:
// Google's user info endpoint, Microsoft's id_token.
type userInfo struct {
	Sub   string `json:"sub"`
	Email string `json:"email"`
	Name  string `json:"name"`
}

func (s *Service) userInfo(ctx context.Context, provider string, cfg *oauth2.Config, tok *oauth2.Token) (*userInfo, error) {
	if provider == ProviderMicrosoft {
		e, err := Microsoft(ctx, s.set)
		if err != nil {
			return nil, err
		}
		return microsoftAccount(tok, cfg.ClientID, e.Authority, time.Now())
	}
	if provider != ProviderGoogle {
		return nil, errors.New("oauth: unknown provider " + provider)
	}
	e, err := Google(ctx, s.set)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.UserInfoURL, nil)
	if err != nil {
		return nil, err
	}
	tok.SetAuthHeader(req)
	req.Header.Set("Accept", "application/json")
	resp, err := s.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	var u userInfo
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &u, nil
}

// retrieveErr keeps the parts of a token endpoint error that are safe to
// log: the status and the RFC 6749 error code and description (never the
// request, which carries the client secret and the code).
func retrieveErr(re *oauth2.RetrieveError) error {
	status := ""
	if re.Response != nil {
		status = re.Response.Status
	}
	if re.ErrorCode == "" {
		return fmt.Errorf("token endpoint answered %s", status)
	}
	return fmt.Errorf("token endpoint answered %s: %s %q", status, re.ErrorCode, re.ErrorDescription)
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("oauth: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
