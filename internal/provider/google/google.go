// Package google is Google's registration as a sync provider: contacts
// (a contact group Tandem creates, package connector/google's People
// connector) and calendars (picked from the account's calendar list), the
// OAuth scopes each needs, the administrator's switch of the calendar
// integration, and push through Calendar watch channels posted to
// /hooks/google/calendar. The connectors themselves are package
// connector/google; the OAuth flow is package oauth.
package google

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	gc "github.com/tandem-crm/tandem/internal/connector/google"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
)

// Name is Google's provider code (connections.provider).
const Name = oauth.ProviderGoogle

// Tokens gives a connection's OAuth token source (oauth.Service).
type Tokens interface {
	TokenSource(ctx context.Context, connID string) oauth2.TokenSource
}

// Provider is Google.
type Provider struct {
	settings *settings.Service
	tokens   Tokens
	log      *slog.Logger
}

// New returns Google's provider: endpoints and the application name come
// from set, access tokens from tokens.
func New(set *settings.Service, tokens Tokens, log *slog.Logger) *Provider {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Provider{settings: set, tokens: tokens, log: log}
}

var (
	_ provider.Provider        = (*Provider)(nil)
	_ provider.CollectionNamer = (*Provider)(nil)
	_ provider.KindGate        = (*Provider)(nil)
	_ provider.Consent         = (*Provider)(nil)
	_ provider.Reconnector     = (*Provider)(nil)
	_ provider.ErrorClassifier = (*Provider)(nil)
	_ provider.ScopeNamer      = (*Provider)(nil)
	_ provider.Connectable     = (*Provider)(nil)
	_ provider.OAuthApp        = (*Provider)(nil)
	_ provider.SettingsNotices = (*Provider)(nil)
	_ provider.Pusher          = (*Provider)(nil)

	_ provider.CollectionLister = (*session)(nil)
	_ provider.CollectionFinder = (*session)(nil)
	_ provider.Subscriber       = (*session)(nil)
)

func (*Provider) Name() string        { return Name }
func (*Provider) DisplayName() string { return "Google" }

// Kinds: contacts go to a group Tandem creates; a calendar is picked from
// the account's list.
func (*Provider) Kinds() []provider.KindInfo {
	return []provider.KindInfo{
		{Kind: provider.Contact, Collection: provider.CollectionNamed},
		{Kind: provider.Event, Collection: provider.CollectionPicked},
	}
}

// Open builds the account's HTTP client (its token source refreshes and
// marks the connection when Google refuses) at the endpoints in effect.
func (p *Provider) Open(ctx context.Context, conn *store.Connection) (provider.Session, error) {
	ep, err := oauth.Google(ctx, p.settings)
	if err != nil {
		return nil, err
	}
	// One writer per Google account (Google asks for one user's mutations
	// to be sequential): keyed by the account's address, so two Tandem
	// connections to one account share it; the id stands in for a
	// connection that has none recorded.
	account := strings.ToLower(conn.AccountEmail)
	if account == "" {
		account = conn.ID
	}
	hc := gc.HTTPClient(ctx, p.tokens.TokenSource(ctx, conn.ID), gc.Account(account))
	return &session{hc: hc, ep: gc.Endpoints{People: ep.PeopleURL, Calendar: ep.CalendarURL}, log: p.log}, nil
}

// DefaultCollectionName names the contact group after the application
// name the administrator registered with Google (GoogleApplicationName).
func (p *Provider) DefaultCollectionName(ctx context.Context, _ provider.Kind) string {
	if v, err := p.settings.Get(ctx, "GoogleApplicationName"); err == nil && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return gc.DefaultGroupName
}

// KindOff: calendars sync with Google only while Google is the system's
// calendar integration (SPEC §4: one for the whole system, Google or
// Exchange).
func (p *Provider) KindOff(ctx context.Context, kind provider.Kind) (*provider.OffError, error) {
	if kind != provider.Event {
		return nil, nil
	}
	v, err := p.settings.Get(ctx, "CalendarIntegration")
	if err != nil || v == Name {
		return nil, err
	}
	return &provider.OffError{Provider: Name, Kind: kind, Key: "sync.error.calendar_off",
		Reason: "calendar sync with Google is off: the administrator chose another calendar integration"}, nil
}

// featureKinds maps oauth's Google features to binding kinds.
var featureKinds = map[string]provider.Kind{"contacts": provider.Contact, "calendar": provider.Event}

// MissingConsent names the kinds that are on but whose scopes the
// connection was not granted (a feature turned on after it connected).
func (p *Provider) MissingConsent(ctx context.Context, conn *store.Connection) ([]provider.Kind, error) {
	names, err := oauth.GoogleFeaturesMissing(ctx, p.settings, conn.Scopes)
	var out []provider.Kind
	for _, n := range names {
		if k, ok := featureKinds[n]; ok {
			out = append(out, k)
		}
	}
	return out, err
}

// ConnectSetup: accounts connect once the company's Google app is set up
// (its keys entered, the shared app off).
func (p *Provider) ConnectSetup(ctx context.Context) (string, error) {
	_, err := oauth.GoogleConfig(ctx, p.settings)
	switch {
	case err == nil:
		return "", nil
	case errors.Is(err, oauth.ErrSharedApp):
		return "profile.external.google_shared_app", nil
	case errors.Is(err, oauth.ErrNotConfigured):
		return "profile.external.google_not_configured", nil
	}
	return "profile.external.google_not_configured", err
}

// OAuthRegistration: the redirect URI and scopes to register in Google
// Cloud.
func (*Provider) OAuthRegistration() provider.OAuthRegistration {
	return provider.OAuthRegistration{CallbackPath: oauth.GoogleCallbackPath, Scopes: oauth.GoogleScopes,
		ConsoleURL: "https://console.cloud.google.com/apis/credentials"}
}

// SettingsGroup is the administration page's Google section.
func (*Provider) SettingsGroup() string { return "google" }

// SettingsNotice warns that the company's keys are ignored while the
// shared app is on, and that calendar push is off while Google is the
// calendar integration without an https push address.
func (*Provider) SettingsNotice(values map[string]string) (string, *provider.PushState) {
	warning := ""
	if values["UseSharedGoogleApp"] == "true" && values["GoogleClientId"] != "" {
		warning = "admin.settings.google_shared_warning"
	}
	if values["CalendarIntegration"] == Name {
		if push := PushStateOf(values["GooglePushServiceUrl"], values["SiteUrl"]); !push.On {
			return warning, &push
		}
	}
	return warning, nil
}

// ConnectPath starts Google's OAuth flow (a new sign-in or more scopes;
// the earlier grants are kept).
func (*Provider) ConnectPath() string { return "/oauth/google/start" }

// scopeKeys name the granted permissions shown on an account's page; ""
// hides the OpenID ones, which only say who the account is.
var scopeKeys = map[string]string{
	oauth.GoogleScopeContacts:  "oauth.scope.contacts",
	oauth.GoogleScopeCalendar:  "oauth.scope.calendar",
	"https://mail.google.com/": "oauth.scope.mail",
	"openid":                   "",
	"email":                    "",
	"profile":                  "",
	"https://www.googleapis.com/auth/userinfo.email":   "",
	"https://www.googleapis.com/auth/userinfo.profile": "",
}

func (*Provider) ScopeKey(scope string) (string, bool) {
	k, ok := scopeKeys[scope]
	return k, ok
}

func (*Provider) RateLimited(err error) bool { return gc.RateLimited(err) }
func (*Provider) RemoteError(err error) bool { return gc.RemoteError(err) }

type session struct {
	hc  *http.Client
	ep  gc.Endpoints
	log *slog.Logger
}

func (s *session) Connector(ctx context.Context, b provider.BindingSpec) (reconcile.Connector, error) {
	switch b.Kind {
	case provider.Contact:
		svc, err := gc.NewPeople(ctx, s.hc, s.ep)
		if err != nil {
			return nil, err
		}
		return gc.NewContacts(svc, b.Collection), nil
	case provider.Event:
		svc, err := gc.NewCalendarService(ctx, s.hc, s.ep)
		if err != nil {
			return nil, err
		}
		return gc.NewCalendar(svc, b.Collection, gc.CalendarOptions{From: b.From, Self: b.Self, Log: s.log}), nil
	}
	return nil, fmt.Errorf("google: %w: %q", provider.ErrKindNotSupported, b.Kind)
}

// Collections lists the account's calendars, primary first.
func (s *session) Collections(ctx context.Context, kind provider.Kind) ([]provider.Collection, error) {
	if kind != provider.Event {
		return nil, fmt.Errorf("google: no list of %s collections: %w", kind, provider.ErrKindNotSupported)
	}
	svc, err := gc.NewCalendarService(ctx, s.hc, s.ep)
	if err != nil {
		return nil, err
	}
	cs, err := gc.ListCalendars(ctx, svc)
	if err != nil {
		return nil, err
	}
	out := make([]provider.Collection, len(cs))
	for i, c := range cs {
		out[i] = provider.Collection{ID: c.ID, Name: c.Summary, TimeZone: c.TimeZone, Primary: c.Primary, AccessRole: c.AccessRole}
	}
	return out, nil
}

// named checks that kind has named collections (contact groups).
func named(kind provider.Kind) error {
	if kind != provider.Contact {
		return fmt.Errorf("google: no named %s collections: %w", kind, provider.ErrKindNotSupported)
	}
	return nil
}

// FindCollection looks the contact group up by name.
func (s *session) FindCollection(ctx context.Context, kind provider.Kind, name string) (string, bool, error) {
	if err := named(kind); err != nil {
		return "", false, err
	}
	svc, err := gc.NewPeople(ctx, s.hc, s.ep)
	if err != nil {
		return "", false, err
	}
	return gc.FindGroup(ctx, svc, name)
}

// EnsureCollection finds the contact group, creating it when missing.
func (s *session) EnsureCollection(ctx context.Context, kind provider.Kind, name string) (string, error) {
	if err := named(kind); err != nil {
		return "", err
	}
	svc, err := gc.NewPeople(ctx, s.hc, s.ep)
	if err != nil {
		return "", err
	}
	return gc.EnsureGroup(ctx, svc, name)
}

// Push: Calendar watch channels. Google delivers notifications only to
// https addresses with a valid certificate, so with any other address
// Tandem opens no channel (it would never hear from it). Channels live a
// week.

// HookPath is where Google posts calendar notifications: channels opened
// by earlier versions point here, so it never changes.
const HookPath = "/hooks/google/calendar"

// ChannelTTL is how long a watch channel lives.
const ChannelTTL = 7 * 24 * time.Hour

// PushState decides from the settings GooglePushServiceUrl (where the
// company publishes the hook, if not at the UI's address) and SiteUrl.
func (p *Provider) PushState(ctx context.Context) (provider.PushState, error) {
	var v [2]string
	for i, code := range []string{"GooglePushServiceUrl", "SiteUrl"} {
		var err error
		if v[i], err = p.settings.Get(ctx, code); err != nil {
			return provider.PushState{}, err
		}
	}
	return PushStateOf(v[0], v[1]), nil
}

// PushStateOf is PushState from the two settings' values.
func PushStateOf(pushServiceURL, siteURL string) provider.PushState {
	addr := strings.TrimRight(strings.TrimSpace(pushServiceURL), "/")
	if addr == "" {
		addr = strings.TrimRight(strings.TrimSpace(siteURL), "/")
	}
	if addr == "" {
		return provider.PushState{Off: provider.PushNoAddress}
	}
	u, err := url.Parse(addr)
	if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" {
		return provider.PushState{Off: provider.PushNotHTTPS, Address: addr}
	}
	return provider.PushState{On: true, Address: addr}
}

// Hooks: calendar notifications.
func (*Provider) Hooks() []provider.Hook {
	return []provider.Hook{{Kind: provider.Event, Path: HookPath, Label: "google_calendar", TTL: ChannelTTL,
		Parse: parseCalendarNotification}}
}

// parseCalendarNotification reads Google's notification: an empty body
// and X-Goog-* headers; the first message of a channel has the state
// "sync".
func parseCalendarNotification(r *http.Request) (provider.Notification, error) {
	id := r.Header.Get("X-Goog-Channel-ID")
	token := r.Header.Get("X-Goog-Channel-Token")
	state := r.Header.Get("X-Goog-Resource-State")
	if id == "" || state == "" || len(id) > 200 || len(token) > 200 {
		return provider.Notification{}, provider.ErrMalformed
	}
	return provider.Notification{SubscriptionID: id, Secret: token, Ping: state == "sync", Detail: state}, nil
}

// Subscribe opens a watch channel on the calendar's events.
func (s *session) Subscribe(ctx context.Context, req provider.SubscribeRequest) (provider.Subscribed, error) {
	if req.Kind != provider.Event {
		return provider.Subscribed{}, fmt.Errorf("google: no push for %s: %w", req.Kind, provider.ErrKindNotSupported)
	}
	svc, err := gc.NewCalendarService(ctx, s.hc, s.ep)
	if err != nil {
		return provider.Subscribed{}, err
	}
	rid, exp, err := gc.WatchEvents(ctx, svc, req.Collection, req.ID, req.Callback, req.Secret, req.TTL)
	return provider.Subscribed{ResourceID: rid, ExpiresAt: exp}, err
}

// Unsubscribe stops a watch channel.
func (s *session) Unsubscribe(ctx context.Context, sub provider.Subscription) error {
	svc, err := gc.NewCalendarService(ctx, s.hc, s.ep)
	if err != nil {
		return err
	}
	return gc.StopChannel(ctx, svc, sub.ID, sub.ResourceID)
}
