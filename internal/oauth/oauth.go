// Package oauth owns Tandem's OAuth 2.0 client side for external accounts
// (ARCHITECTURE: oauth/): the provider configuration built from system
// settings; the authorization-code flow with PKCE (S256) and a server-side
// state, bound to the browser session that started it and used once; the
// connection it creates or renews, its tokens sealed with package secret;
// and token sources for connectors that refresh before expiry, persist what
// they got, and turn the connection needs_reauth — that connection only —
// when the provider no longer honours the grant (invalid_grant).
//
// Tokens and client secrets are never logged.
package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
)

// Providers, and the issuers of their tokens. Microsoft issues the tokens
// of Outlook / Microsoft 365 mailboxes (a target's app, Register); its
// sync provider comes later.
const (
	ProviderGoogle    = "google"
	ProviderMicrosoft = "microsoft"
)

// IsIssuer reports whether Tandem runs OAuth flows with name's identity
// platform: the web layer accepts its callback even when no sync provider
// of that name is registered (a mailbox's consent).
func IsIssuer(name string) bool { return name == ProviderGoogle || name == ProviderMicrosoft }

// callbackPath is where an issuer sends the browser back.
func callbackPath(issuer string) string {
	if issuer == ProviderMicrosoft {
		return MicrosoftCallbackPath
	}
	return GoogleCallbackPath
}

// StateTTL is how long an authorization may take, from "Add account" to
// the provider's redirect back.
const StateTTL = 10 * time.Minute

// RefreshMargin is how long before its expiry an access token is renewed,
// so a request never leaves with a token that dies on the way.
var RefreshMargin = 3 * time.Minute

// Errors of configuration and of token sources.
var (
	// ErrSharedApp: UseSharedGoogleApp is on, and Tandem ships no shared
	// app; an administrator must turn it off and enter the company's keys.
	ErrSharedApp = errors.New("oauth: the shared Google app is selected, but Tandem ships none: turn UseSharedGoogleApp off and enter the company's client ID and secret")
	// ErrNotConfigured: the client id or secret is missing.
	ErrNotConfigured = errors.New("oauth: client ID and secret are not configured")
	// ErrNeedsReauth: the provider refused the grant; the user must connect
	// the account again. A sync run stops for that connection only.
	ErrNeedsReauth = errors.New("oauth: the account must be connected again")
)

// ReauthError is the ErrNeedsReauth of one connection, with the reason the
// provider gave. errors.Is(err, ErrNeedsReauth) holds.
type ReauthError struct {
	ConnectionID string
	Reason       string
}

func (e *ReauthError) Error() string {
	return "oauth: connection " + e.ConnectionID + " must be connected again: " + e.Reason
}

// Is makes errors.Is(err, ErrNeedsReauth) true.
func (e *ReauthError) Is(target error) bool { return target == ErrNeedsReauth }

// Service runs the flows and hands out token sources.
type Service struct {
	st  *store.Store
	set *settings.Service
	box *secret.Box
	log *slog.Logger

	// HTTPClient talks to the providers' token and user info endpoints and
	// is the base transport of Client. Set it before first use.
	HTTPClient *http.Client

	locks sync.Map // connection id → *sync.Mutex: one refresh at a time

	appsMu sync.RWMutex
	apps   map[string]AppSource // by connection provider (Register)
}

// App is an OAuth app other than the issuer's in system settings: a mail
// provider keeps its own client id and secret, and a mailbox's tokens are
// issued to it.
type App struct {
	Issuer       string // ProviderGoogle or ProviderMicrosoft
	ClientID     string
	ClientSecret string
	// Scopes are what an authorization asks for besides the identity
	// scopes (which are always asked).
	Scopes []string
}

// AppSource gives the apps of a connection provider whose connections are
// not the issuer's own sync connections (mail: "imap"). Its package
// creates those connections from a Result and keeps them; this package
// refreshes their tokens like any other (TokenSource).
type AppSource interface {
	// FlowApp is the app of an authorization begun with BeginRequest.Data.
	FlowApp(ctx context.Context, data string) (App, error)
	// ConnectionApp is the app that refreshes connection c's tokens.
	ConnectionApp(ctx context.Context, c *store.Connection) (App, error)
}

// Register makes connections of connProvider, and authorizations begun
// with BeginRequest.Target connProvider, use src's apps.
func (s *Service) Register(connProvider string, src AppSource) {
	s.appsMu.Lock()
	defer s.appsMu.Unlock()
	if s.apps == nil {
		s.apps = map[string]AppSource{}
	}
	s.apps[connProvider] = src
}

func (s *Service) appSource(connProvider string) (AppSource, bool) {
	s.appsMu.RLock()
	defer s.appsMu.RUnlock()
	src, ok := s.apps[connProvider]
	return src, ok
}

// appConfig is the client configuration of app: its keys, its issuer's
// endpoints, its scopes with the issuer's identity ones, the redirect URL
// as in GoogleConfig.
func (s *Service) appConfig(ctx context.Context, app App) (*oauth2.Config, error) {
	var ep oauth2.Endpoint
	var identity []string
	switch app.Issuer {
	case ProviderGoogle:
		e, err := Google(ctx, s.set)
		if err != nil {
			return nil, err
		}
		ep, identity = oauth2.Endpoint{AuthURL: e.AuthURL, TokenURL: e.TokenURL}, GoogleIdentityScopes
	case ProviderMicrosoft:
		e, err := Microsoft(ctx, s.set)
		if err != nil {
			return nil, err
		}
		ep, identity = oauth2.Endpoint{AuthURL: e.AuthURL, TokenURL: e.TokenURL}, MicrosoftIdentityScopes
	default:
		return nil, errors.New("oauth: unknown issuer " + app.Issuer)
	}
	if strings.TrimSpace(app.ClientID) == "" || app.ClientSecret == "" {
		return nil, ErrNotConfigured
	}
	site, err := s.set.Get(ctx, "SiteUrl")
	if err != nil {
		return nil, err
	}
	ep.AuthStyle = oauth2.AuthStyleInParams
	scopes := append(slices.Clone(app.Scopes), identity...)
	return &oauth2.Config{
		ClientID:     strings.TrimSpace(app.ClientID),
		ClientSecret: app.ClientSecret,
		Endpoint:     ep,
		RedirectURL:  redirectURL(site, "", callbackPath(app.Issuer)),
		Scopes:       scopes,
	}, nil
}

// connConfig is the client that refreshes connection c's tokens, and the
// issuer of those tokens.
func (s *Service) connConfig(ctx context.Context, c *store.Connection) (*oauth2.Config, string, error) {
	if src, ok := s.appSource(c.Provider); ok {
		app, err := src.ConnectionApp(ctx, c)
		if err != nil {
			return nil, "", err
		}
		cfg, err := s.appConfig(ctx, app)
		return cfg, app.Issuer, err
	}
	cfg, err := s.config(ctx, c.Provider)
	return cfg, c.Provider, err
}

// New returns a Service.
func New(st *store.Store, set *settings.Service, box *secret.Box, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, set: set, box: box, log: log, HTTPClient: &http.Client{Timeout: 30 * time.Second}}
}

// httpCtx carries the Service's HTTP client to golang.org/x/oauth2.
func (s *Service) httpCtx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, s.HTTPClient)
}

func (s *Service) lock(connID string) *sync.Mutex {
	m, _ := s.locks.LoadOrStore(connID, &sync.Mutex{})
	return m.(*sync.Mutex)
}

// config returns a provider's client configuration.
func (s *Service) config(ctx context.Context, provider string) (*oauth2.Config, error) {
	switch provider {
	case ProviderGoogle:
		return GoogleConfig(ctx, s.set)
	}
	return nil, errors.New("oauth: unknown provider " + provider)
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// credentialsAD binds a connection's sealed credentials to it, so they
// cannot be copied onto another connection.
func credentialsAD(connID string) string { return "connection:" + connID }

func stateAD(stateHash string) string { return "oauth_state:" + stateHash }
