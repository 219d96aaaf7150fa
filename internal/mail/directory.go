package mail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
)

// ProviderType is how Tandem talks to a provider's servers.
type ProviderType string

// Provider types (SPEC §2).
const (
	TypeIMAP     ProviderType = "imap"     // IMAP to load, SMTP to send
	TypeExchange ProviderType = "exchange" // Exchange / Microsoft 365 (its transport comes later)
)

// Security is how a connection to a server is protected.
type Security string

// Connection security.
const (
	SecurityTLS      Security = "tls"      // SSL/TLS from the first byte (IMAPS 993, SMTPS 465)
	SecurityStartTLS Security = "starttls" // plain, upgraded with STARTTLS
	SecurityNone     Security = "none"     // no encryption
)

// LoginFormat is what a mailbox signs in with.
type LoginFormat string

// Login formats.
const (
	LoginManual    LoginFormat = "manual"     // entered by hand
	LoginEmail     LoginFormat = "email"      // the full address
	LoginLocalPart LoginFormat = "local_part" // the part before "@"
)

// AuthMethod is how a mailbox proves who it is.
type AuthMethod string

// Authentication methods.
const (
	AuthBasic  AuthMethod = "basic"  // user and password (or app password)
	AuthOAuth2 AuthMethod = "oauth2" // OAuth 2.0, XOAUTH2 on IMAP and SMTP
)

// The values of each enumeration in display order; the API's document and
// the forms take them from here.
var (
	ProviderTypes = []ProviderType{TypeIMAP, TypeExchange}
	Securities    = []Security{SecurityTLS, SecurityStartTLS, SecurityNone}
	LoginFormats  = []LoginFormat{LoginEmail, LoginLocalPart, LoginManual}
	AuthMethods   = []AuthMethod{AuthBasic, AuthOAuth2}
)

// ErrUnknownValue is a value outside an enumeration.
var ErrUnknownValue = errors.New("unknown value")

func parseEnum[T ~string](s string, values []T) (T, error) {
	for _, v := range values {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("%w %q", ErrUnknownValue, s)
}

// ParseProviderType decodes a provider type.
func ParseProviderType(s string) (ProviderType, error) { return parseEnum(s, ProviderTypes) }

// ParseSecurity decodes a connection security.
func ParseSecurity(s string) (Security, error) { return parseEnum(s, Securities) }

// ParseLoginFormat decodes a login format.
func ParseLoginFormat(s string) (LoginFormat, error) { return parseEnum(s, LoginFormats) }

// ParseAuthMethod decodes an authentication method.
func ParseAuthMethod(s string) (AuthMethod, error) { return parseEnum(s, AuthMethods) }

// Strings returns an enumeration's values as strings.
func Strings[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// Protocol names a server of an IMAP/SMTP provider.
type Protocol string

// Protocols.
const (
	IMAP Protocol = "imap"
	SMTP Protocol = "smtp"
)

// DefaultPort is the usual port of a protocol with a security: IMAP 993
// over TLS, else 143; SMTP 465 over TLS, else 587 (submission).
func DefaultPort(p Protocol, sec Security) int {
	switch {
	case p == IMAP && sec == SecurityTLS:
		return 993
	case p == IMAP:
		return 143
	case sec == SecurityTLS:
		return 465
	default:
		return 587
	}
}

// Server is one server of an IMAP/SMTP provider.
type Server struct {
	Host     string // lower-case; IDNA A-labels for international names
	Port     int    // 0 on input means DefaultPort
	Security Security
}

// Addr is host:port.
func (s Server) Addr() string { return net.JoinHostPort(s.Host, fmt.Sprint(s.Port)) }

// Provider is one entry of the directory.
type Provider struct {
	ID          string
	Name        string
	Type        ProviderType
	Preset      string // the preset code it was made from, "" when typed by hand
	IMAP        Server // TypeIMAP only
	SMTP        Server // TypeIMAP only
	LoginFormat LoginFormat
	Auth        AuthMethod
	ClientID    string // AuthOAuth2 only
	// ClientSecret is input only: a new secret to store. Reads never fill
	// it; HasSecret and SecretMask say what is stored. Empty on an update
	// keeps the stored one.
	ClientSecret string
	HasSecret    bool
	SecretMask   string // settings.Mask of the stored secret
	ExchangeURL  string // TypeExchange only: the service address (EWS)
	ExchangeLoad bool   // TypeExchange only: load email
	ExchangeSend bool   // TypeExchange only: send email
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Mailboxes    int // mailboxes using it (read only)
	Domains      int // domains mapped to it (read only)
}

// Limits of the text fields, in characters.
const (
	MaxName     = crm.MaxShort
	MaxHost     = 253 // a DNS name
	MaxClientID = 500
	MaxSecret   = settings.MaxTextLen
	MaxURL      = 2000
)

// Message keys of the directory's own validation problems.
const (
	ErrKeyHost          = "error.invalid_host"
	ErrKeyPort          = "error.invalid_port"
	ErrKeyDomain        = "error.invalid_domain"
	ErrKeyExchangeFlags = "error.mail_exchange_flags"
)

// Normalize trims and lower-cases p's fields, fills default ports, drops
// the fields its type or authentication does not use, and checks every
// rule of SPEC §2. The error is a *crm.ValidationError keyed by the API's
// field names (imap_host, client_secret, …).
func (p *Provider) Normalize() error {
	fe := crm.FieldErrors{}
	p.Name = strings.TrimSpace(p.Name)
	text(fe, "name", p.Name, MaxName, true)
	if p.Type == "" {
		fe.Add("type", crm.ErrRequired)
	} else if _, err := ParseProviderType(string(p.Type)); err != nil {
		fe.Add("type", crm.ErrUnknownEnum)
	}
	switch p.Type {
	case TypeIMAP:
		p.server(fe, IMAP, &p.IMAP)
		p.server(fe, SMTP, &p.SMTP)
		p.ExchangeURL, p.ExchangeLoad, p.ExchangeSend = "", false, false
	case TypeExchange:
		p.IMAP, p.SMTP = Server{}, Server{}
		p.ExchangeURL = strings.TrimSpace(p.ExchangeURL)
		if p.ExchangeURL == "" {
			fe.Add("exchange_url", crm.ErrRequired)
		} else if u, err := url.Parse(p.ExchangeURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			utf8.RuneCountInString(p.ExchangeURL) > MaxURL || strings.ContainsAny(p.ExchangeURL, " \t\r\n") {
			fe.Add("exchange_url", crm.ErrURL)
		}
		if !p.ExchangeLoad && !p.ExchangeSend {
			fe.Add("exchange_load", ErrKeyExchangeFlags)
		}
	}
	if p.LoginFormat == "" {
		p.LoginFormat = LoginEmail
	}
	if _, err := ParseLoginFormat(string(p.LoginFormat)); err != nil {
		fe.Add("login_format", crm.ErrUnknownEnum)
	}
	if p.Auth == "" {
		p.Auth = AuthBasic
	}
	if _, err := ParseAuthMethod(string(p.Auth)); err != nil {
		fe.Add("auth", crm.ErrUnknownEnum)
	}
	p.ClientID = strings.TrimSpace(p.ClientID)
	p.ClientSecret = strings.TrimSpace(p.ClientSecret)
	if p.Auth == AuthOAuth2 {
		text(fe, "client_id", p.ClientID, MaxClientID, true)
		text(fe, "client_secret", p.ClientSecret, MaxSecret, !p.HasSecret)
	} else {
		// A provider without OAuth keeps no keys: a later switch back asks
		// for them again rather than revive old ones silently.
		p.ClientID, p.ClientSecret, p.HasSecret, p.SecretMask = "", "", false, ""
	}
	return fe.Err()
}

func (p *Provider) server(fe crm.FieldErrors, proto Protocol, s *Server) {
	f := string(proto) + "_"
	if s.Security == "" {
		s.Security = SecurityTLS
	}
	if _, err := ParseSecurity(string(s.Security)); err != nil {
		fe.Add(f+"security", crm.ErrUnknownEnum)
	}
	host, key := NormalizeHost(s.Host)
	s.Host = host
	if key != "" {
		fe.Add(f+"host", key)
	}
	if s.Port == 0 {
		s.Port = DefaultPort(proto, s.Security)
	}
	if s.Port < 1 || s.Port > 65535 {
		fe.Add(f+"port", ErrKeyPort)
	}
}

func text(fe crm.FieldErrors, field, v string, max int, required bool) {
	switch {
	case required && v == "":
		fe.Add(field, crm.ErrRequired)
	case utf8.RuneCountInString(v) > max:
		fe.Add(field, crm.TooLong(max))
	case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		fe.Add(field, crm.ErrInvalid)
	}
}

// NormalizeHost returns a server name in the form Tandem stores (lower
// case, IDNA A-labels) or an IP address, and an error key for a value that
// is neither ("" when required and empty gives crm.ErrRequired).
func NormalizeHost(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", crm.ErrRequired
	}
	if ip := net.ParseIP(strings.Trim(s, "[]")); ip != nil {
		return ip.String(), ""
	}
	h, err := toASCII(s)
	if err != nil {
		return s, ErrKeyHost
	}
	return h, ""
}

// Errors of the directory service.
var (
	// ErrUnknownDomain: no provider is known for an address's domain; the
	// user picks one (and Learn remembers it).
	ErrUnknownDomain = errors.New("no mail provider for this domain")
	// ErrProviderInUse: a provider mailboxes use cannot be deleted; the
	// error is a *store.ProviderInUseError with their number.
	ErrProviderInUse = store.ErrProviderInUse
)

// Settings reads system settings (settings.Service): the OAuth apps a
// preset may take its keys from.
type Settings interface {
	Get(ctx context.Context, code string) (string, error)
}

// Service is the directory of mail providers and domains. Its changes
// need the administration right; Detect, Learn and Choices serve every
// signed-in user adding a mailbox.
type Service struct {
	st  *store.Store
	box *secret.Box
	set Settings // may be nil: presets then take no keys from settings
}

// New returns the directory service.
func New(st *store.Store, box *secret.Box, set Settings) *Service {
	return &Service{st: st, box: box, set: set}
}

func admin(v access.Viewer) error {
	if !v.Can(access.OpManageAdministration) {
		return store.ErrForbidden
	}
	return nil
}

// secretAD binds a sealed client secret to its provider.
func secretAD(id string) string { return "mail_provider:" + id + ":client_secret" }

func (s *Service) fromRow(r *store.MailProvider) *Provider {
	p := &Provider{ID: r.ID, Name: r.Name, Type: ProviderType(r.Type), Preset: r.Preset,
		IMAP:        Server{Host: r.IMAPHost, Port: r.IMAPPort, Security: Security(r.IMAPSecurity)},
		SMTP:        Server{Host: r.SMTPHost, Port: r.SMTPPort, Security: Security(r.SMTPSecurity)},
		LoginFormat: LoginFormat(r.LoginFormat), Auth: AuthMethod(r.Auth), ClientID: r.ClientID,
		ExchangeURL: r.ExchangeURL, ExchangeLoad: r.ExchangeLoad, ExchangeSend: r.ExchangeSend,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Mailboxes: r.Mailboxes, Domains: r.Domains}
	if r.ClientSecret != "" {
		p.HasSecret = true
		plain, err := s.box.Open(r.ClientSecret, secretAD(r.ID))
		if err != nil {
			plain = "?" // a key changed: shown as set, never as text
		}
		p.SecretMask = settings.Mask(plain)
	}
	return p
}

// toRow builds the row of p; sealed is the stored secret to keep when p
// brings no new one.
func (s *Service) toRow(p *Provider, sealed string) *store.MailProvider {
	r := &store.MailProvider{ID: p.ID, Name: p.Name, Type: string(p.Type), Preset: p.Preset,
		IMAPHost: p.IMAP.Host, IMAPPort: p.IMAP.Port, IMAPSecurity: string(p.IMAP.Security),
		SMTPHost: p.SMTP.Host, SMTPPort: p.SMTP.Port, SMTPSecurity: string(p.SMTP.Security),
		LoginFormat: string(p.LoginFormat), Auth: string(p.Auth), ClientID: p.ClientID,
		ExchangeURL: p.ExchangeURL, ExchangeLoad: p.ExchangeLoad, ExchangeSend: p.ExchangeSend}
	switch {
	case p.Auth != AuthOAuth2:
	case p.ClientSecret != "":
		r.ClientSecret = s.box.Seal(p.ClientSecret, secretAD(p.ID))
	case p.HasSecret:
		r.ClientSecret = sealed
	}
	return r
}

// Providers lists the directory, by name.
func (s *Service) Providers(ctx context.Context, v access.Viewer) ([]*Provider, error) {
	if err := admin(v); err != nil {
		return nil, err
	}
	rows, err := s.st.ListMailProviders(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Provider, len(rows))
	for i, r := range rows {
		out[i] = s.fromRow(r)
	}
	return out, nil
}

// Provider returns one provider.
func (s *Service) Provider(ctx context.Context, v access.Viewer, id string) (*Provider, error) {
	if err := admin(v); err != nil {
		return nil, err
	}
	r, err := s.st.GetMailProvider(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.fromRow(r), nil
}

// CreateProvider validates and stores a new provider; p is updated with
// what was stored (its id, defaults, the secret's mask).
func (s *Service) CreateProvider(ctx context.Context, v access.Viewer, p *Provider) error {
	return s.create(ctx, v, p, nil)
}

func (s *Service) create(ctx context.Context, v access.Viewer, p *Provider, domains []string) error {
	if err := admin(v); err != nil {
		return err
	}
	p.HasSecret = false
	if err := p.Normalize(); err != nil {
		return err
	}
	p.ID = uuid.Must(uuid.NewV7()).String()
	r := s.toRow(p, "")
	if err := s.st.CreateMailProvider(ctx, r, domains...); err != nil {
		p.ID = ""
		return err
	}
	*p = *s.fromRow(r)
	return nil
}

// UpdateProvider validates and stores p over the provider of its id. An
// empty ClientSecret keeps the stored one (set HasSecret from a read).
func (s *Service) UpdateProvider(ctx context.Context, v access.Viewer, p *Provider) error {
	if err := admin(v); err != nil {
		return err
	}
	old, err := s.st.GetMailProvider(ctx, p.ID)
	if err != nil {
		return err
	}
	p.HasSecret = old.ClientSecret != ""
	if err := p.Normalize(); err != nil {
		return err
	}
	r := s.toRow(p, old.ClientSecret)
	r.Preset = old.Preset
	if err := s.st.UpdateMailProvider(ctx, r); err != nil {
		return err
	}
	fresh, err := s.st.GetMailProvider(ctx, p.ID)
	if err != nil {
		return err
	}
	*p = *s.fromRow(fresh)
	return nil
}

// DeleteProvider removes a provider and its domains; one that mailboxes
// use is refused with ErrProviderInUse (a *store.ProviderInUseError).
func (s *Service) DeleteProvider(ctx context.Context, v access.Viewer, id string) error {
	if err := admin(v); err != nil {
		return err
	}
	return s.st.DeleteMailProvider(ctx, id)
}

// ClientSecret opens a provider's OAuth client secret, for the transports
// and the OAuth flow of a mailbox; "" when it has none. It is never shown
// to anyone.
func (s *Service) ClientSecret(ctx context.Context, providerID string) (string, error) {
	r, err := s.st.GetMailProvider(ctx, providerID)
	if err != nil {
		return "", err
	}
	if r.ClientSecret == "" {
		return "", nil
	}
	plain, err := s.box.Open(r.ClientSecret, secretAD(r.ID))
	if err != nil {
		return "", fmt.Errorf("open client secret of mail provider %s: %w", r.ID, err)
	}
	return plain, nil
}

// Choice is a provider as a user adding a mailbox sees it: what to pick
// and what it will ask for, nothing an administrator keeps.
type Choice struct {
	ID          string
	Name        string
	Type        ProviderType
	LoginFormat LoginFormat
	Auth        AuthMethod
}

// Choices lists the providers a signed-in user may pick, by name.
func (s *Service) Choices(ctx context.Context, v access.Viewer) ([]Choice, error) {
	if v.UserID == "" {
		return nil, store.ErrForbidden
	}
	rows, err := s.st.ListMailProviders(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Choice, len(rows))
	for i, r := range rows {
		out[i] = Choice{ID: r.ID, Name: r.Name, Type: ProviderType(r.Type), LoginFormat: LoginFormat(r.LoginFormat), Auth: AuthMethod(r.Auth)}
	}
	return out, nil
}

// Get returns a provider without the access check, for the code that
// runs a mailbox (transports, the add-mailbox flow). Its secret stays
// sealed; ClientSecret opens it.
func (s *Service) Get(ctx context.Context, id string) (*Provider, error) {
	r, err := s.st.GetMailProvider(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.fromRow(r), nil
}
