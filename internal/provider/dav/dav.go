// Package dav is CalDAV/CardDAV's registration as a sync provider (SPEC
// §6): accounts on any standards server (Nextcloud, iCloud, Fastmail,
// Radicale, Baïkal, SOGo, Xandikos …) added with an address, a user name
// and an app password, verified by discovery before they are stored; the
// address books and calendars the user picks; the connectors of contacts
// (vCard), events (VEVENT) and tasks (VTODO) over package connector/dav.
// Credentials are sealed with package secret, bound to the connection.
//
// There is no push: WebDAV push is not widely deployed, so bindings poll
// on their period, which costs one sync-collection REPORT per collection
// when nothing changed.
package dav

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	davc "github.com/tandem-crm/tandem/internal/connector/dav"
	"github.com/tandem-crm/tandem/internal/connector/retry"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/store"
)

// Name is the provider's code (connections.provider).
const Name = "dav"

// Provider is CalDAV/CardDAV.
type Provider struct {
	st  *store.Store
	box *secret.Box
	log *slog.Logger
	// Transport is the HTTP transport under the client (nil: the
	// default); tests trust a private CA through it.
	Transport http.RoundTripper
	// Retry tunes the retrying transport (nil: its defaults).
	Retry *retry.Transport
}

// New returns the provider.
func New(st *store.Store, box *secret.Box, log *slog.Logger) *Provider {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Provider{st: st, box: box, log: log}
}

var (
	_ provider.Provider         = (*Provider)(nil)
	_ provider.PasswordAccounts = (*Provider)(nil)
	_ provider.ErrorClassifier  = (*Provider)(nil)
	_ provider.CollectionLister = (*session)(nil)
)

func (*Provider) Name() string        { return Name }
func (*Provider) DisplayName() string { return "CalDAV/CardDAV" }

// Kinds: every collection is picked from what discovery finds; several
// calendars and several task lists may sync at once.
func (*Provider) Kinds() []provider.KindInfo {
	return []provider.KindInfo{
		{Kind: provider.Contact, Collection: provider.CollectionPicked},
		{Kind: provider.Event, Collection: provider.CollectionPicked, Several: true},
		{Kind: provider.Task, Collection: provider.CollectionPicked, Several: true},
	}
}

// account is what the connection's config holds (nothing secret): the
// address the user gave and where discovery found the principal, so a
// run does not look for it again.
type account struct {
	URL      string `json:"url"`
	Context  string `json:"context_url,omitempty"`
	Username string `json:"username"`
}

// sealed is the connection's credentials.
type sealed struct {
	Password string `json:"password"`
}

func credentialsAD(connID string) string { return "connection:" + connID }

// Presets fill the address of well-known services. iCloud and Fastmail
// answer discovery at their root; Nextcloud and Radicale live at the
// user's own server, so the preset shows the shape of the address.
func (*Provider) Presets() []provider.Preset {
	return []provider.Preset{
		{Code: "nextcloud", Name: "Nextcloud", URL: "https://cloud.example.com/remote.php/dav"},
		{Code: "icloud", Name: "iCloud", URL: "https://caldav.icloud.com"},
		{Code: "fastmail", Name: "Fastmail", URL: "https://carddav.fastmail.com"},
		{Code: "radicale", Name: "Radicale", URL: "https://dav.example.com/"},
	}
}

func (p *Provider) client(acc account, password string, onUnauthorized func(context.Context) error) (*davc.Client, error) {
	u := acc.URL
	if acc.Context != "" {
		u = acc.Context
	}
	return davc.New(davc.Config{URL: u, Username: acc.Username, Password: password, Transport: p.Transport,
		Retry: p.Retry, Logger: p.log, OnUnauthorized: onUnauthorized})
}

// Connect verifies the credentials by discovery and stores the account.
func (p *Provider) Connect(ctx context.Context, userID string, in provider.Credentials, conn *store.Connection) (*store.Connection, error) {
	in.URL, in.Username = strings.TrimSpace(in.URL), strings.TrimSpace(in.Username)
	switch {
	case in.URL == "":
		return nil, &provider.CredentialsError{Key: "dav.error.url_required", Field: "url", Err: errors.New("no server address")}
	case in.Username == "":
		return nil, &provider.CredentialsError{Key: "dav.error.username_required", Field: "username", Err: errors.New("no user name")}
	case in.Password == "":
		return nil, &provider.CredentialsError{Key: "dav.error.password_required", Field: "password", Err: errors.New("no password")}
	}
	acc := account{URL: in.URL, Username: in.Username}
	c, err := p.client(acc, in.Password, nil)
	if err != nil {
		return nil, &provider.CredentialsError{Key: "dav.error.bad_url", Field: "url", Err: err}
	}
	found, err := c.Discover(ctx)
	var nc *davc.NoCollectionsError
	switch {
	case errors.As(err, &nc) && len(nc.Account.AddressBooks)+len(nc.Account.Calendars) > 0:
		// One kind is missing: the account still syncs the other, and
		// its card says what is missing.
		found = nc.Account
	case err != nil:
		return nil, connectError(err)
	}
	acc.Context = found.ContextURL
	cfg, _ := json.Marshal(acc)
	secretJSON, _ := json.Marshal(sealed{Password: in.Password})
	host := hostOf(found.ContextURL)
	if conn != nil {
		if conn.UserID != userID || conn.Provider != Name {
			return nil, store.ErrNotFound
		}
		seal := p.box.Seal(string(secretJSON), credentialsAD(conn.ID))
		if err := p.st.UpdateConnectionAccount(ctx, conn.ID, string(cfg), seal); err != nil {
			return nil, err
		}
		return p.st.GetConnection(ctx, conn.ID)
	}
	nc2 := &store.Connection{UserID: userID, Provider: Name, DisplayName: in.Username + " @ " + host, Config: string(cfg)}
	if strings.Contains(in.Username, "@") {
		nc2.AccountEmail = in.Username
	} else {
		nc2.AccountEmail = in.Username + "@" + host
	}
	created, err := p.st.UpsertConnection(ctx, nc2, func(id string) string {
		return p.box.Seal(string(secretJSON), credentialsAD(id))
	})
	if err != nil {
		return nil, err
	}
	if !created {
		// The same account again: UpsertConnection took the new password;
		// the address may have changed too.
		if err := p.st.UpdateConnectionAccount(ctx, nc2.ID, string(cfg), ""); err != nil {
			return nil, err
		}
	}
	return p.st.GetConnection(ctx, nc2.ID)
}

// connectError says what the user can do about a failed discovery.
func connectError(err error) error {
	var (
		ne net.Error
		ue *url.Error
		nc *davc.NoCollectionsError
	)
	switch {
	case errors.Is(err, davc.ErrUnauthorized):
		return &provider.CredentialsError{Key: "dav.error.unauthorized", Field: "password", Err: err}
	case errors.Is(err, davc.ErrTLS):
		return &provider.CredentialsError{Key: "dav.error.tls", Field: "url", Err: err}
	case errors.Is(err, davc.ErrNotDAV), errors.Is(err, davc.ErrNotFound):
		return &provider.CredentialsError{Key: "dav.error.not_dav", Field: "url", Err: err}
	case errors.As(err, &nc):
		return &provider.CredentialsError{Key: "dav.error.no_collections", Field: "url", Err: err}
	case errors.As(err, &ne), errors.As(err, &ue):
		return &provider.CredentialsError{Key: "dav.error.unreachable", Field: "url", Err: err}
	}
	return err
}

func hostOf(u string) string {
	if pu, err := url.Parse(u); err == nil && pu.Host != "" {
		return pu.Host
	}
	return u
}

func (p *Provider) accountOf(conn *store.Connection) (account, error) {
	var acc account
	if err := json.Unmarshal([]byte(conn.Config), &acc); err != nil {
		return account{}, fmt.Errorf("dav: connection %s: config: %w", conn.ID, err)
	}
	return acc, nil
}

// CredentialsOf: the address and the user name; the password stays sealed.
func (p *Provider) CredentialsOf(_ context.Context, conn *store.Connection) (provider.Credentials, error) {
	acc, err := p.accountOf(conn)
	return provider.Credentials{URL: acc.URL, Username: acc.Username}, err
}

// Open unseals the password and builds the account's client. A 401 from
// then on marks the connection: the user must type the new password.
func (p *Provider) Open(ctx context.Context, conn *store.Connection) (provider.Session, error) {
	acc, err := p.accountOf(conn)
	if err != nil {
		return nil, err
	}
	sealedNow, err := p.st.ConnectionCredentials(ctx, conn.ID)
	if err != nil {
		return nil, err
	}
	plain, err := p.box.Open(sealedNow, credentialsAD(conn.ID))
	if err != nil {
		return nil, fmt.Errorf("dav: connection %s: credentials: %w", conn.ID, err)
	}
	var sec sealed
	if err := json.Unmarshal([]byte(plain), &sec); err != nil {
		return nil, fmt.Errorf("dav: connection %s: credentials: %w", conn.ID, err)
	}
	refused := func(ctx context.Context) error {
		if _, err := p.st.MarkConnectionNeedsReauth(context.WithoutCancel(ctx), conn.ID, sealedNow,
			"the server refused the user name or app password"); err != nil {
			p.log.WarnContext(ctx, "dav: mark connection", "connection", conn.ID, "err", err)
		}
		return oauth.ErrNeedsReauth
	}
	c, err := p.client(acc, sec.Password, refused)
	if err != nil {
		return nil, err
	}
	return &session{c: c, log: p.log}, nil
}

// RateLimited: the server still asked to slow down after the retries.
func (*Provider) RateLimited(err error) bool {
	var se *davc.StatusError
	return errors.As(err, &se) && (se.Code == http.StatusTooManyRequests || se.Code == http.StatusServiceUnavailable)
}

// RemoteError: anything the server or the way to it said.
func (*Provider) RemoteError(err error) bool {
	var se *davc.StatusError
	var ne net.Error
	return errors.As(err, &se) || errors.As(err, &ne) || errors.Is(err, davc.ErrTLS)
}

type session struct {
	c   *davc.Client
	log *slog.Logger
}

// component is the calendar component a kind syncs.
func component(kind provider.Kind) string {
	if kind == provider.Event {
		return "VEVENT"
	}
	return "VTODO"
}

func (s *session) Connector(_ context.Context, b provider.BindingSpec) (reconcile.Connector, error) {
	opt := davc.CollectionOptions{Log: s.log}
	// Floating times and unknown zones are the owner's.
	zone := time.UTC
	if loc, err := crm.LoadZone(b.TZ); err == nil {
		zone = loc
	}
	switch b.Kind {
	case provider.Contact:
		opt.Kind, opt.Codec, opt.KeepForeign = davc.AddressBook, &davc.VCardCodec{}, !b.DeleteForeign
	case provider.Event:
		opt.Kind, opt.Component, opt.Codec = davc.Calendar, "VEVENT", &davc.EventCodec{Zone: zone, Self: b.Self}
		if from := b.From; !from.IsZero() {
			opt.Window = func(f reconcile.Fields) bool { return reconcile.EventReachesDate(f, from) }
		}
	case provider.Task:
		opt.Kind, opt.Component, opt.Codec = davc.Calendar, "VTODO", &davc.TaskCodec{Zone: zone}
		if from := b.From; !from.IsZero() {
			opt.Window = func(f reconcile.Fields) bool { return reconcile.TaskItemReachesDate(f, from) }
		}
	default:
		return nil, fmt.Errorf("dav: %w: %q", provider.ErrKindNotSupported, b.Kind)
	}
	return s.c.NewCollection(b.Collection, opt), nil
}

// Collections lists the address books, or the calendars that take the
// kind's component, as discovery finds them now.
func (s *session) Collections(ctx context.Context, kind provider.Kind) ([]provider.Collection, error) {
	acc, err := s.c.Discover(ctx)
	var nc *davc.NoCollectionsError
	if errors.As(err, &nc) {
		acc, err = nc.Account, nil
	}
	if err != nil {
		return nil, err
	}
	var cs []davc.Collection
	switch kind {
	case provider.Contact:
		cs = acc.AddressBooks
	case provider.Event, provider.Task:
		for _, c := range acc.Calendars {
			if c.Supports(component(kind)) {
				cs = append(cs, c)
			}
		}
	default:
		return nil, fmt.Errorf("dav: %w: %q", provider.ErrKindNotSupported, kind)
	}
	out := make([]provider.Collection, len(cs))
	for i, c := range cs {
		name := c.DisplayName
		if name == "" {
			name = strings.TrimSuffix(c.URL, "/")
			name = name[strings.LastIndexByte(name, '/')+1:]
		}
		out[i] = provider.Collection{ID: c.URL, Name: name, Primary: i == 0, AccessRole: "owner"}
	}
	return out, nil
}
