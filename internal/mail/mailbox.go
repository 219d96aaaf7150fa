package mail

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/mail/imap"
	"github.com/tandem-crm/tandem/internal/mail/message"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/store"
)

// ConnectionProvider is connections.provider of an IMAP/SMTP mailbox.
const ConnectionProvider = "imap"

// Period is how far back a mailbox's first load reaches.
type Period string

// First-load periods.
const (
	PeriodDay      Period = "day"
	PeriodWeek     Period = "week"
	PeriodMonth    Period = "month"
	PeriodQuarter  Period = "quarter"
	PeriodHalfYear Period = "half_year"
	PeriodYear     Period = "year"
	PeriodAll      Period = "all"
)

// Periods lists the periods in the order the UI offers them.
var Periods = []Period{PeriodDay, PeriodWeek, PeriodMonth, PeriodQuarter, PeriodHalfYear, PeriodYear, PeriodAll}

// ParsePeriod decodes a stored or submitted period.
func ParsePeriod(s string) (Period, error) { return parseEnum(s, Periods) }

// Since is the start of the period that ends at now; zero for PeriodAll.
func (p Period) Since(now time.Time) time.Time {
	switch p {
	case PeriodDay:
		return now.AddDate(0, 0, -1)
	case PeriodWeek:
		return now.AddDate(0, 0, -7)
	case PeriodMonth:
		return now.AddDate(0, -1, 0)
	case PeriodQuarter:
		return now.AddDate(0, -3, 0)
	case PeriodHalfYear:
		return now.AddDate(0, -6, 0)
	case PeriodYear:
		return now.AddDate(-1, 0, 0)
	}
	return time.Time{}
}

// Errors of the mailbox service a user is told about.
var (
	// ErrPickProvider: the address's domain is unknown; the user picks a
	// provider (and the domain is learned).
	ErrPickProvider = errors.New("pick the mail provider of this address")
	// ErrTransportLater: Exchange / Microsoft 365 mailboxes are stored in
	// the directory, but their transport is not built yet.
	ErrTransportLater = errors.New("this provider type cannot be connected yet")
	// ErrOAuthMailbox: mailboxes of OAuth 2.0 providers connect through
	// the provider's consent, not a password.
	ErrOAuthMailbox = errors.New("this provider signs in with OAuth 2.0")
	// ErrNoRight: the viewer may not do this with the mailbox.
	ErrNoRight = errors.New("no right on this mailbox")
)

// VerifyError says which server refused a new mailbox, and how.
type VerifyError struct {
	Protocol Protocol  // IMAP or SMTP
	Kind     wire.Kind // auth, unreachable, tls, protocol
	OAuth    bool      // the login was XOAUTH2 (after a consent)
	Err      error
}

// MessageKey is the catalogue key that tells a user why; its argument is
// the protocol's name in capitals.
func (e *VerifyError) MessageKey() string {
	if e.OAuth && e.Kind == wire.KindAuth {
		return "mail.verify.auth_oauth"
	}
	return "mail.verify." + string(e.Kind)
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("verify %s: %s: %v", e.Protocol, e.Kind, e.Err)
}

func (e *VerifyError) Unwrap() error { return e.Err }

// Mailboxes is the mailbox service: adding (with a login to verify),
// settings, sharing, loading and sending.
type Mailboxes struct {
	st  *store.Store
	box *secret.Box
	dir *Service
	log *slog.Logger
	// Now is the clock (tests set it).
	Now func() time.Time
	// TLS, when set, is the TLS configuration for servers (tests trust
	// their own certificate authority with it).
	TLS *tls.Config
	// Verify checks a new mailbox's credentials against its servers; nil
	// logs in to IMAP and SMTP. Tests of the API replace it.
	Verify func(ctx context.Context, in Endpoints) error
	// Changed, when set, is told after letters were stored for a user's
	// mailbox (the panel's live updates).
	Changed func(mailboxID string)

	kept     keptConns        // the last load's IMAP connection per mailbox
	queue    *jobs.Queue      // set by Register
	interval IntervalSettings // set by Register
	oauth    *oauth.Service   // set by UseOAuth
	// loadLease overrides defaultLoadLease (tests shorten it).
	loadLease time.Duration
}

// NewMailboxes returns the mailbox service over the provider directory.
func NewMailboxes(st *store.Store, box *secret.Box, dir *Service, log *slog.Logger) *Mailboxes {
	if log == nil {
		log = slog.Default()
	}
	return &Mailboxes{st: st, box: box, dir: dir, log: log, Now: time.Now}
}

// credentials are what a mailbox's connection holds, sealed: a password,
// or package oauth's tokens (access_token, refresh_token, …), which that
// package reads and refreshes.
type credentials struct {
	Password    string `json:"password,omitempty"`
	AccessToken string `json:"access_token,omitempty"` // set: the mailbox logs in with XOAUTH2
}

func credentialsAD(connID string) string { return "connection:" + connID }

// Endpoints are the servers and the login of a mailbox.
type Endpoints struct {
	IMAP, SMTP wire.Endpoint
	Auth       wire.Auth
}

// NewMailbox is what a user enters to add a mailbox.
type NewMailbox struct {
	Address    string
	ProviderID string // "" to detect it from the address
	Login      string // for providers whose login is entered by hand
	Password   string
	Shared     bool
}

// LoginFor is the user name a provider's login format gives an address.
func LoginFor(f LoginFormat, address, manual string) string {
	switch f {
	case LoginLocalPart:
		local, _, _ := strings.Cut(address, "@")
		return local
	case LoginManual:
		return strings.TrimSpace(manual)
	}
	return address
}

// Add verifies a new mailbox by logging in to its servers and creates it
// with the defaults: the first load reaches back a month, new mail is
// loaded automatically, every folder, sending on; the user's first
// mailbox becomes their default sender. When the provider was picked for
// an unknown domain, the domain is learned.
func (m *Mailboxes) Add(ctx context.Context, v access.Viewer, in NewMailbox) (*store.Mailbox, error) {
	address, p, learn, err := m.resolve(ctx, v, in, true)
	if err != nil {
		return nil, err
	}
	if p.Auth == AuthOAuth2 {
		if m.oauthReady(p) {
			return nil, ErrOAuthConsent
		}
		return nil, ErrOAuthMailbox
	}
	login := LoginFor(p.LoginFormat, address, in.Login)
	if login == "" {
		return nil, &crm.ValidationError{Fields: crm.FieldErrors{"login": crm.ErrRequired}}
	}
	ep := endpoints(p, wire.Auth{Username: login, Password: in.Password})
	if err := m.verify(ctx, ep); err != nil {
		return nil, err
	}
	return m.create(ctx, v, p, address, login, in.Shared, learn, func(connID string) (string, error) {
		return m.seal(connID, credentials{Password: in.Password})
	})
}

// resolve checks what a user entered to add a mailbox and finds its
// provider (detected, or picked: learn). password: a password is required
// unless the provider signs in with OAuth 2.0.
func (m *Mailboxes) resolve(ctx context.Context, v access.Viewer, in NewMailbox, password bool) (string, *Provider, bool, error) {
	fe := crm.FieldErrors{}
	addr, err := mail.ParseAddress(strings.TrimSpace(in.Address))
	if err != nil || addr.Name != "" {
		fe["address"] = "error.invalid_email"
		if password && in.Password == "" {
			fe["password"] = crm.ErrRequired
		}
	}
	if in.Shared && !v.Can(access.OpConnectSharedMailbox) {
		fe["shared"] = "mail.error.shared_right"
	}
	if len(fe) > 0 {
		return "", nil, false, &crm.ValidationError{Fields: fe}
	}
	address := strings.ToLower(addr.Address)
	var p *Provider
	learn := false
	if in.ProviderID == "" {
		p, err = m.dir.Detect(ctx, address)
		if errors.Is(err, ErrUnknownDomain) {
			return "", nil, false, ErrPickProvider
		}
	} else {
		p, err = m.dir.Get(ctx, in.ProviderID)
		learn = true
	}
	if err != nil {
		return "", nil, false, err
	}
	if p.Type != TypeIMAP {
		return "", nil, false, ErrTransportLater
	}
	if password && p.Auth != AuthOAuth2 && in.Password == "" {
		return "", nil, false, &crm.ValidationError{Fields: crm.FieldErrors{"password": crm.ErrRequired}}
	}
	return address, p, learn, nil
}

// create stores a verified mailbox with the defaults (see Add); seal
// gives the credentials of its connection's id.
func (m *Mailboxes) create(ctx context.Context, v access.Viewer, p *Provider, address, login string, shared, learn bool,
	seal func(connID string) (string, error)) (*store.Mailbox, error) {
	if learn {
		if _, err := m.dir.Learn(ctx, address, p.ID); err != nil && !errors.Is(err, store.ErrDuplicate) {
			m.log.Warn("learn mail domain", "address", address, "err", err)
		}
	}
	existing, err := m.st.MailboxesOf(ctx, v.UserID)
	if err != nil {
		return nil, err
	}
	first := !slices.ContainsFunc(existing, func(x store.MailboxWithAccess) bool { return x.Access.Owner })
	conn := &store.Connection{ID: newConnectionID(), UserID: v.UserID, Provider: ConnectionProvider, AccountEmail: address,
		DisplayName: address, Status: store.ConnectionActive}
	mb := &store.Mailbox{ProviderID: p.ID, Address: address, Login: login, FirstLoad: string(PeriodMonth), AutoLoad: true,
		AllFolders: true, SendEnabled: true, DefaultSender: first, Shared: shared}
	sealed, err := seal(conn.ID)
	if err != nil {
		return nil, err
	}
	if err := m.st.CreateMailbox(ctx, conn, mb, sealed); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, &crm.ValidationError{Fields: crm.FieldErrors{"address": "mail.error.mailbox_exists"}}
		}
		return nil, err
	}
	m.log.Info("mailbox added", "mailbox", mb.ID, "user", v.UserID, "provider", p.ID)
	return mb, nil
}

func endpoints(p *Provider, auth wire.Auth) Endpoints {
	return Endpoints{
		IMAP: wire.Endpoint{Host: p.IMAP.Host, Port: p.IMAP.Port, Security: wire.Security(p.IMAP.Security)},
		SMTP: wire.Endpoint{Host: p.SMTP.Host, Port: p.SMTP.Port, Security: wire.Security(p.SMTP.Security)},
		Auth: auth,
	}
}

func (m *Mailboxes) verify(ctx context.Context, ep Endpoints) error {
	if m.Verify != nil {
		return m.Verify(ctx, ep)
	}
	cl, err := imap.Dial(ctx, ep.IMAP, ep.Auth, m.imapOptions()...)
	if err != nil {
		return &VerifyError{Protocol: IMAP, Kind: wire.KindOf(err), Err: err}
	}
	cl.Close()
	if err := smtpVerify(ctx, ep, m.TLS); err != nil {
		return &VerifyError{Protocol: SMTP, Kind: wire.KindOf(err), Err: err}
	}
	return nil
}

func (m *Mailboxes) imapOptions() []imap.Option {
	opts := []imap.Option{imap.WithLogger(m.log)}
	if m.TLS != nil {
		opts = append(opts, imap.WithTLSConfig(m.TLS))
	}
	return opts
}

func (m *Mailboxes) seal(connID string, c credentials) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return m.box.Seal(string(b), credentialsAD(connID)), nil
}

// session is what loading and sending need of one mailbox.
type session struct {
	mb     *store.Mailbox
	p      *Provider
	ep     Endpoints
	tokens *tokens // XOAUTH2 mailboxes only
}

func (m *Mailboxes) open(ctx context.Context, id string) (*session, error) {
	mb, err := m.st.GetMailbox(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := m.dir.Get(ctx, mb.ProviderID)
	if err != nil {
		return nil, err
	}
	sealed, err := m.st.ConnectionCredentials(ctx, id)
	if err != nil {
		return nil, err
	}
	plain, err := m.box.Open(sealed, credentialsAD(id))
	if err != nil {
		return nil, fmt.Errorf("open mailbox credentials: %w", err)
	}
	var c credentials
	if err := json.Unmarshal([]byte(plain), &c); err != nil {
		return nil, fmt.Errorf("mailbox credentials: %w", err)
	}
	if c.AccessToken != "" {
		if m.oauth == nil {
			return nil, fmt.Errorf("mailbox %s signs in with OAuth 2.0, and this process has no OAuth service", id)
		}
		t := &tokens{svc: m.oauth, id: id}
		return &session{mb: mb, p: p, ep: endpoints(p, wire.Auth{Username: mb.Login, Token: t.token}), tokens: t}, nil
	}
	return &session{mb: mb, p: p, ep: endpoints(p, wire.Auth{Username: mb.Login, Password: c.Password})}, nil
}

// access returns the viewer's mailbox and rights; ErrNotFound when they
// have none, so others' mailboxes stay unseen.
func (m *Mailboxes) access(ctx context.Context, v access.Viewer, id string) (*store.Mailbox, store.MailboxAccess, error) {
	mb, acc, err := m.st.MailboxAccessOf(ctx, v.UserID, id)
	if err != nil {
		return nil, acc, err
	}
	if !acc.Any() {
		return nil, acc, store.ErrNotFound
	}
	return mb, acc, nil
}

// List returns the mailboxes the viewer owns or holds rights on.
func (m *Mailboxes) List(ctx context.Context, v access.Viewer) ([]store.MailboxWithAccess, error) {
	return m.st.MailboxesOf(ctx, v.UserID)
}

// Get returns one of the viewer's mailboxes with their rights on it.
func (m *Mailboxes) Get(ctx context.Context, v access.Viewer, id string) (*store.MailboxWithAccess, error) {
	mb, acc, err := m.access(ctx, v, id)
	if err != nil {
		return nil, err
	}
	return &store.MailboxWithAccess{Mailbox: *mb, Access: acc}, nil
}

// CanConfigure reports whether the viewer may change the mailbox's
// settings (and load it on demand): its owner, or a grantee with the
// configure right who also holds the operation for configuring shared
// mailboxes.
func CanConfigure(v access.Viewer, acc store.MailboxAccess) bool {
	return acc.Owner || (acc.Configure && v.Can(access.OpManageSharedMailboxSync))
}

// MailboxSettings are what a mailbox's settings page changes.
type MailboxSettings struct {
	FirstLoad        Period
	AutoLoad         bool
	AllFolders       bool
	Folders          []string
	SendEnabled      bool
	DefaultSender    bool
	Alias            string
	Signature        string // HTML; sanitized on save
	SignatureEnabled bool
	Shared           bool
}

// MaxSignature bounds a signature's HTML, images included.
const MaxSignature = 512 << 10

// UpdateSettings saves a mailbox's settings. The signature is sanitized;
// turning a mailbox shared needs the shared-mailbox operation.
func (m *Mailboxes) UpdateSettings(ctx context.Context, v access.Viewer, id string, s MailboxSettings) (*store.Mailbox, error) {
	mb, acc, err := m.access(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if !CanConfigure(v, acc) {
		return nil, ErrNoRight
	}
	fe := crm.FieldErrors{}
	if _, err := ParsePeriod(string(s.FirstLoad)); err != nil {
		fe["first_load"] = crm.ErrUnknownEnum
	}
	if len(s.Alias) > crm.MaxShort {
		fe["alias"] = crm.ErrTooLong
	}
	if len(s.Signature) > MaxSignature {
		fe["signature"] = crm.ErrTooLong
	}
	if !s.AllFolders && len(s.Folders) == 0 {
		fe["folders"] = "mail.error.no_folders"
	}
	if s.Shared != mb.Shared && !(acc.Owner && v.Can(access.OpConnectSharedMailbox)) {
		fe["shared"] = "mail.error.shared_right"
	}
	if s.DefaultSender && !acc.Owner {
		// A default sender is the owner's choice among their mailboxes.
		s.DefaultSender = mb.DefaultSender
	}
	if len(fe) > 0 {
		return nil, &crm.ValidationError{Fields: fe}
	}
	mb.FirstLoad, mb.AutoLoad, mb.AllFolders = string(s.FirstLoad), s.AutoLoad, s.AllFolders
	mb.Folders = nil
	if !s.AllFolders {
		mb.Folders = dedupeStrings(s.Folders)
	}
	mb.SendEnabled, mb.DefaultSender = s.SendEnabled, s.DefaultSender && s.SendEnabled
	mb.Alias = strings.TrimSpace(s.Alias)
	mb.Signature, mb.SignatureEnabled = message.SanitizeHTML(s.Signature), s.SignatureEnabled
	mb.Shared = s.Shared
	if err := m.st.UpdateMailbox(ctx, mb); err != nil {
		return nil, err
	}
	return mb, nil
}

func dedupeStrings(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Grants returns a shared mailbox's grants (owner and configurers).
func (m *Mailboxes) Grants(ctx context.Context, v access.Viewer, id string) ([]store.MailboxGrant, error) {
	_, acc, err := m.access(ctx, v, id)
	if err != nil {
		return nil, err
	}
	if !CanConfigure(v, acc) {
		return nil, ErrNoRight
	}
	return m.st.MailboxGrants(ctx, id)
}

// SetGrants replaces a shared mailbox's grants. Only a shared mailbox has
// them, and only its owner holding the shared-mailbox operation, or a
// configurer, sets them.
func (m *Mailboxes) SetGrants(ctx context.Context, v access.Viewer, id string, grants []store.MailboxGrant) error {
	mb, acc, err := m.access(ctx, v, id)
	if err != nil {
		return err
	}
	if !(acc.Owner && v.Can(access.OpConnectSharedMailbox)) && !(acc.Configure && v.Can(access.OpManageSharedMailboxSync)) {
		return ErrNoRight
	}
	if !mb.Shared {
		return &crm.ValidationError{Fields: crm.FieldErrors{"shared": "mail.error.not_shared"}}
	}
	for _, g := range grants {
		if g.GranteeKind != "user" && g.GranteeKind != "role" {
			return &crm.ValidationError{Fields: crm.FieldErrors{"grantee_kind": crm.ErrUnknownEnum}}
		}
		if g.GranteeKind == "user" && g.GranteeID == mb.OwnerID {
			return &crm.ValidationError{Fields: crm.FieldErrors{"grantee_id": "mail.error.grant_owner"}}
		}
	}
	return m.st.SetMailboxGrants(ctx, id, grants)
}

// Delete removes a mailbox (its owner only). Its letters stay on the
// records' timelines only while another mailbox holds them.
func (m *Mailboxes) Delete(ctx context.Context, v access.Viewer, id string) error {
	_, acc, err := m.access(ctx, v, id)
	if err != nil {
		return err
	}
	if !acc.Owner {
		return ErrNoRight
	}
	return m.st.DeleteConnection(ctx, v.UserID, id)
}
