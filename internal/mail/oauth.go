package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail/imap"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/store"
)

// Mailboxes of OAuth 2.0 providers (apis.md §3.3): the user consents at the
// provider's issuer — Google for Gmail, the Microsoft identity platform
// for Outlook / Microsoft 365 — with the mail provider's own app, asked for
// the mail scopes only then (incremental authorization: with Google,
// include_granted_scopes, the mail scope never asked when a Google account
// is connected for contacts and calendar; with Microsoft, IMAP and SMTP's
// scopes of Exchange Online); Tandem logs in to IMAP and SMTP with XOAUTH2
// as that address before the mailbox exists. The tokens live on the
// mailbox's connection (provider "imap") in package oauth's form, and
// package oauth refreshes them — the one refresh implementation, which
// stores Microsoft's rotated refresh tokens and turns the connection
// needs_reauth when the grant is refused.

// Issuer is who issues an OAuth 2.0 provider's tokens.
type Issuer string

// Issuers, each package oauth's issuer of the same name.
const (
	IssuerGoogle    Issuer = "google"
	IssuerMicrosoft Issuer = "microsoft"
)

// Issuer is the issuer of an OAuth 2.0 provider's tokens, from the preset
// it was made from; "" for a provider with a password, or one typed by
// hand (whose issuer Tandem cannot know).
func (p *Provider) Issuer() Issuer {
	if p.Auth != AuthOAuth2 {
		return ""
	}
	if pr, ok := LookupPreset(p.Preset); ok {
		return pr.OAuthApp
	}
	return ""
}

// Errors of adding a mailbox through OAuth consent.
var (
	// ErrOAuthConsent: the provider signs in with OAuth 2.0 and Tandem can
	// run its consent: BeginOAuth (the UI's "Connect with Google").
	ErrOAuthConsent = errors.New("this mailbox connects through the provider's consent")
	// ErrOAuthOtherAccount: the user consented as another account than the
	// mailbox's address.
	ErrOAuthOtherAccount = errors.New("consent given for another account")
	// ErrOAuthScope: the user did not grant the mail scopes (Google lets
	// them untick it; a Microsoft tenant's policy may withhold them).
	ErrOAuthScope = errors.New("mail access not granted")
)

// UseOAuth lets mailboxes of OAuth 2.0 providers whose issuer is Google or
// Microsoft be added and used: svc runs their consent and refreshes their
// tokens.
func (m *Mailboxes) UseOAuth(svc *oauth.Service) {
	m.oauth = svc
	svc.Register(ConnectionProvider, oauthApps{m})
}

// oauthIssuer is the issuer in package oauth's terms and the mail scopes
// asked of it; ok is false for an issuer Tandem runs no flow with.
func oauthIssuer(i Issuer) (issuer string, scopes []string, ok bool) {
	switch i {
	case IssuerGoogle:
		return oauth.ProviderGoogle, []string{oauth.GoogleScopeMail}, true
	case IssuerMicrosoft:
		return oauth.ProviderMicrosoft, slices.Clone(oauth.MicrosoftMailScopes), true
	}
	return "", nil, false
}

// oauthReady reports whether a mailbox of p can be added by consent: an
// IMAP/SMTP provider of a known issuer (Exchange providers' transports
// come later).
func (m *Mailboxes) oauthReady(p *Provider) bool {
	_, _, ok := oauthIssuer(p.Issuer())
	return m.oauth != nil && p.Type == TypeIMAP && ok
}

// OAuthConsent reports whether a mailbox of provider p is added through
// the issuer's consent (the form then shows the issuer's connect button,
// "mailbox.connect.<issuer>").
func (m *Mailboxes) OAuthConsent(p *Provider) bool { return p.Auth == AuthOAuth2 && m.oauthReady(p) }

// oauthData is what an authorization for a mailbox carries from Begin to
// the callback (oauth_states.target_data): nothing secret.
type oauthData struct {
	ProviderID string `json:"provider_id"`
	Address    string `json:"address"`
	Shared     bool   `json:"shared,omitempty"`
	Learn      bool   `json:"learn,omitempty"`
}

// OAuthTarget names what a consent's data is about, for a message after a
// refused consent: the address and the provider the user picked ("" when
// they were detected).
func OAuthTarget(data string) (address, providerID string) {
	var d oauthData
	if json.Unmarshal([]byte(data), &d) != nil {
		return "", ""
	}
	if !d.Learn {
		return d.Address, ""
	}
	return d.Address, d.ProviderID
}

// OAuthBegin is where the consent starts for one browser session.
type OAuthBegin struct {
	Session string // the browser session's unguessable value (oauth.BeginRequest)
	BaseURL string // the request's scheme and host, while SiteUrl is unset
}

// BeginOAuth checks a new mailbox like Add and returns the issuer's
// consent URL: the identity scopes and the mail scopes only, the address
// preselected, the mail provider's app. Errors are Add's (ErrOAuthMailbox
// for a provider whose consent Tandem cannot run) or an *oauth.FlowError.
func (m *Mailboxes) BeginOAuth(ctx context.Context, v access.Viewer, in NewMailbox, b OAuthBegin) (string, error) {
	address, p, learn, err := m.resolve(ctx, v, in, false)
	if err != nil {
		return "", err
	}
	if !m.OAuthConsent(p) {
		if p.Auth == AuthOAuth2 {
			return "", ErrOAuthMailbox
		}
		return "", &crm.ValidationError{Fields: crm.FieldErrors{"password": crm.ErrRequired}}
	}
	data, err := json.Marshal(oauthData{ProviderID: p.ID, Address: address, Shared: in.Shared, Learn: learn})
	if err != nil {
		return "", err
	}
	issuer, _, _ := oauthIssuer(p.Issuer())
	return m.oauth.Begin(ctx, oauth.BeginRequest{Provider: issuer, UserID: v.UserID, Session: b.Session,
		BaseURL: b.BaseURL, LoginHint: address, Target: ConnectionProvider, Data: string(data)})
}

// CompleteOAuth finishes adding a mailbox from a completed consent
// (oauth.Service.Complete with Target ConnectionProvider): the account must
// be the address's and have granted the mail scopes; Tandem logs in to IMAP
// and SMTP with XOAUTH2 (a *VerifyError says which server refused, and
// how); then the mailbox is created with Add's defaults, its connection
// holding the tokens. A mailbox of the user's with that address gets the
// new tokens instead and is active again (reconnecting after
// needs_reauth).
func (m *Mailboxes) CompleteOAuth(ctx context.Context, v access.Viewer, res *oauth.Result) (*store.Mailbox, error) {
	if m.oauth == nil {
		return nil, ErrOAuthMailbox
	}
	if res == nil || res.Target != ConnectionProvider || res.Grant == nil {
		return nil, errors.New("mail: not a mailbox's consent")
	}
	var d oauthData
	if err := json.Unmarshal([]byte(res.Data), &d); err != nil {
		return nil, fmt.Errorf("mail: consent data: %w", err)
	}
	if d.Shared && !v.Can(access.OpConnectSharedMailbox) {
		return nil, &crm.ValidationError{Fields: crm.FieldErrors{"shared": "mail.error.shared_right"}}
	}
	if !strings.EqualFold(res.Email, d.Address) {
		return nil, fmt.Errorf("%w: %s, not %s", ErrOAuthOtherAccount, res.Email, d.Address)
	}
	if len(res.MissingScopes) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrOAuthScope, strings.Join(res.MissingScopes, " "))
	}
	p, err := m.dir.Get(ctx, d.ProviderID)
	if err != nil {
		return nil, err
	}
	if !m.OAuthConsent(p) {
		return nil, ErrOAuthMailbox
	}
	access := res.Grant.AccessToken()
	ep := endpoints(p, wire.Auth{Username: d.Address, Token: func(context.Context) (string, error) { return access, nil }})
	if err := m.verify(ctx, ep); err != nil {
		var ve *VerifyError
		if errors.As(err, &ve) {
			ve.OAuth = true
		}
		return nil, err
	}
	seal := func(connID string) (string, error) { return m.oauth.SealGrant(connID, res.Grant) }
	if mb, err := m.renew(ctx, v, p, d.Address, seal); mb != nil || err != nil {
		return mb, err
	}
	return m.create(ctx, v, p, d.Address, d.Address, d.Shared, d.Learn, seal)
}

// renew gives the user's own mailbox of address at p new tokens and makes
// it active again; nil, nil when they have none.
func (m *Mailboxes) renew(ctx context.Context, v access.Viewer, p *Provider, address string,
	seal func(connID string) (string, error)) (*store.Mailbox, error) {
	mine, err := m.st.MailboxesOf(ctx, v.UserID)
	if err != nil {
		return nil, err
	}
	for _, x := range mine {
		if !x.Access.Owner || x.Address != address || x.ProviderID != p.ID {
			continue
		}
		sealed, err := seal(x.ID)
		if err != nil {
			return nil, err
		}
		if _, err := m.st.SaveConnectionCredentials(ctx, x.ID, sealed, ""); err != nil {
			return nil, err
		}
		if err := m.st.UpdateConnectionStatus(ctx, x.ID, store.ConnectionActive, ""); err != nil {
			return nil, err
		}
		m.log.Info("mailbox reconnected", "mailbox", x.ID, "user", v.UserID)
		return m.st.GetMailbox(ctx, x.ID)
	}
	return nil, nil
}

// oauthApps gives package oauth the app of a mailbox's provider: its
// issuer, its own client id and secret (copied from system settings by the
// preset, or entered by the administrator) and the mail scopes.
type oauthApps struct{ m *Mailboxes }

func (a oauthApps) FlowApp(ctx context.Context, data string) (oauth.App, error) {
	var d oauthData
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return oauth.App{}, fmt.Errorf("mail: consent data: %w", err)
	}
	return a.app(ctx, d.ProviderID)
}

func (a oauthApps) ConnectionApp(ctx context.Context, c *store.Connection) (oauth.App, error) {
	mb, err := a.m.st.GetMailbox(ctx, c.ID)
	if err != nil {
		return oauth.App{}, err
	}
	return a.app(ctx, mb.ProviderID)
}

func (a oauthApps) app(ctx context.Context, providerID string) (oauth.App, error) {
	p, err := a.m.dir.Get(ctx, providerID)
	if err != nil {
		return oauth.App{}, err
	}
	issuer, scopes, ok := oauthIssuer(p.Issuer())
	if !ok {
		return oauth.App{}, fmt.Errorf("mail: provider %s has no OAuth app Tandem can use", providerID)
	}
	secret, err := a.m.dir.ClientSecret(ctx, providerID)
	if err != nil {
		return oauth.App{}, err
	}
	if p.ClientID == "" || secret == "" {
		return oauth.App{}, oauth.ErrNotConfigured
	}
	return oauth.App{Issuer: issuer, ClientID: p.ClientID, ClientSecret: secret, Scopes: scopes}, nil
}

// tokens hand a mailbox session's XOAUTH2 logins their access tokens from
// package oauth, and remember the last one, so a login refused with it
// can have it renewed (withToken).
type tokens struct {
	svc *oauth.Service
	id  string

	mu   sync.Mutex
	last string
}

func (t *tokens) token(ctx context.Context) (string, error) {
	tok, err := t.svc.TokenSource(ctx, t.id).Token()
	if err != nil {
		return "", tokenErr(err)
	}
	t.mu.Lock()
	t.last = tok.AccessToken
	t.mu.Unlock()
	return tok.AccessToken, nil
}

// tokenErr gives a token failure its wire kind: a grant the issuer refused
// is a refused login (the user must consent again); anything else (the
// token endpoint unreachable or failing) is retried later.
func tokenErr(err error) error {
	if errors.Is(err, oauth.ErrNeedsReauth) {
		return wire.AuthError(err)
	}
	return &wire.Error{Kind: wire.KindUnreachable, Err: fmt.Errorf("oauth token: %w", err)}
}

// withToken runs f, a login to one of the mailbox's servers and what
// follows; when the server refuses an XOAUTH2 token Tandem still thought
// good (revoked, or expired before its time), the token is renewed once
// and f runs again.
func (m *Mailboxes) withToken(ctx context.Context, s *session, f func() error) error {
	err := f()
	if err == nil || s.tokens == nil || !wire.IsAuth(err) || errors.Is(err, oauth.ErrNeedsReauth) {
		return err
	}
	s.tokens.mu.Lock()
	stale := s.tokens.last
	s.tokens.mu.Unlock()
	if stale == "" {
		return err
	}
	m.log.InfoContext(ctx, "xoauth2 token refused, renewing it", "mailbox", s.mb.ID)
	if _, rerr := m.oauth.Refresh(ctx, s.mb.ID, stale); rerr != nil {
		return tokenErr(rerr)
	}
	return f()
}

// dialIMAP logs in to the mailbox's IMAP server.
func (m *Mailboxes) dialIMAP(ctx context.Context, s *session) (*imap.Client, error) {
	var cl *imap.Client
	err := m.withToken(ctx, s, func() error {
		var err error
		cl, err = imap.Dial(ctx, s.ep.IMAP, s.ep.Auth, m.imapOptions()...)
		return err
	})
	return cl, err
}
