package mail

import (
	"context"
	"errors"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// Preset is a well-known provider an administrator adds in one click:
// its servers, login format, usual authentication and domains.
type Preset struct {
	Code     string // stable identifier (gmail, outlook, …)
	Provider Provider
	// Auths are the methods the service accepts; Provider.Auth is the one
	// a one-click creation uses.
	Auths   []AuthMethod
	Domains []string
	// OAuthApp is who issues an OAuth 2.0 provider's tokens, and names
	// the system settings whose app keys it takes when none are given:
	// IssuerGoogle (GoogleClientId / GoogleClientSecret) or
	// IssuerMicrosoft.
	OAuthApp Issuer
}

// NoteKey is the catalogue key of the preset's hint (what to prepare).
func (p Preset) NoteKey() string { return "mail.preset." + p.Code + ".note" }

func imapPreset(code, name, imapHost string, smtp Server, auth AuthMethod, auths []AuthMethod, app Issuer, domains ...string) Preset {
	return Preset{Code: code, Provider: Provider{Name: name, Type: TypeIMAP, Preset: code,
		IMAP: Server{Host: imapHost, Port: 993, Security: SecurityTLS}, SMTP: smtp, LoginFormat: LoginEmail, Auth: auth},
		Auths: auths, Domains: domains, OAuthApp: app}
}

var smtpTLS = func(host string) Server { return Server{Host: host, Port: 465, Security: SecurityTLS} }

// presets ship with Tandem (SPEC §2). Gmail, Yahoo, AOL and Zoho take an
// app password by default (Gmail also OAuth 2.0); Microsoft's services
// take OAuth 2.0 only, as Microsoft turned basic authentication off.
var presets = []Preset{
	imapPreset("gmail", "Gmail", "imap.gmail.com", smtpTLS("smtp.gmail.com"), AuthBasic, AuthMethods, IssuerGoogle,
		"gmail.com", "googlemail.com"),
	imapPreset("outlook", "Outlook / Microsoft 365", "outlook.office365.com",
		Server{Host: "smtp.office365.com", Port: 587, Security: SecurityStartTLS}, AuthOAuth2, []AuthMethod{AuthOAuth2}, IssuerMicrosoft,
		"outlook.com", "hotmail.com", "live.com"),
	{Code: "microsoft365", Provider: Provider{Name: "Microsoft 365 (Exchange)", Type: TypeExchange, Preset: "microsoft365",
		ExchangeURL: "https://outlook.office365.com/EWS/Exchange.asmx", ExchangeLoad: true, ExchangeSend: true,
		LoginFormat: LoginEmail, Auth: AuthOAuth2}, Auths: []AuthMethod{AuthOAuth2}, OAuthApp: IssuerMicrosoft},
	imapPreset("yahoo", "Yahoo", "imap.mail.yahoo.com", smtpTLS("smtp.mail.yahoo.com"), AuthBasic, []AuthMethod{AuthBasic}, "",
		"yahoo.com"),
	imapPreset("aol", "AOL", "imap.aol.com", smtpTLS("smtp.aol.com"), AuthBasic, []AuthMethod{AuthBasic}, "", "aol.com"),
	imapPreset("zoho", "Zoho", "imap.zoho.com", smtpTLS("smtp.zoho.com"), AuthBasic, []AuthMethod{AuthBasic}, "", "zoho.com"),
}

// Presets returns the shipped presets in display order (copies).
func Presets() []Preset {
	out := make([]Preset, len(presets))
	for i, p := range presets {
		out[i] = p
		out[i].Auths = append([]AuthMethod{}, p.Auths...)
		out[i].Domains = append([]string{}, p.Domains...)
	}
	return out
}

// PresetCodes lists the presets' codes.
func PresetCodes() []string {
	out := make([]string, len(presets))
	for i, p := range presets {
		out[i] = p.Code
	}
	return out
}

// LookupPreset finds a preset by code.
func LookupPreset(code string) (Preset, bool) {
	for _, p := range Presets() {
		if p.Code == code {
			return p, true
		}
	}
	return Preset{}, false
}

// ErrUnknownPreset is a preset code Tandem does not ship.
var ErrUnknownPreset = errors.New("unknown mail provider preset")

// PresetOptions change a one-click creation; every field is optional.
type PresetOptions struct {
	Name         string     // default: the preset's name
	Auth         AuthMethod // default: the preset's; one of its Auths
	ClientID     string
	ClientSecret string
}

// oauthSettings are the system settings of each OAuth app.
var oauthSettings = map[Issuer][2]string{
	IssuerGoogle:    {"GoogleClientId", "GoogleClientSecret"},
	IssuerMicrosoft: {"MicrosoftClientId", "MicrosoftClientSecret"},
}

// ProviderFromPreset is the provider a preset makes with o, before
// validation: an OAuth 2.0 provider without keys in o takes the system
// settings' keys of the preset's OAuth app, when they are set.
func (s *Service) ProviderFromPreset(ctx context.Context, code string, o PresetOptions) (*Provider, Preset, error) {
	pr, ok := LookupPreset(code)
	if !ok {
		return nil, Preset{}, ErrUnknownPreset
	}
	p := pr.Provider
	if o.Name != "" {
		p.Name = o.Name
	}
	if o.Auth != "" {
		p.Auth = o.Auth
	}
	p.ClientID, p.ClientSecret = o.ClientID, o.ClientSecret
	if p.Auth == AuthOAuth2 && p.ClientID == "" && p.ClientSecret == "" && s.set != nil {
		if codes, ok := oauthSettings[pr.OAuthApp]; ok {
			// Unset or unreadable settings leave the fields empty, which
			// validation then reports.
			p.ClientID, _ = s.set.Get(ctx, codes[0])
			p.ClientSecret, _ = s.set.Get(ctx, codes[1])
		}
	}
	return &p, pr, nil
}

// CreateFromPreset adds a provider from a preset, with its domains (those
// not mapped to another provider already), in one transaction. An auth
// method the preset does not offer is a validation error on "auth".
func (s *Service) CreateFromPreset(ctx context.Context, v access.Viewer, code string, o PresetOptions) (*Provider, error) {
	if err := admin(v); err != nil {
		return nil, err
	}
	p, pr, err := s.ProviderFromPreset(ctx, code, o)
	if err != nil {
		return nil, err
	}
	allowed := false
	for _, a := range pr.Auths {
		allowed = allowed || a == p.Auth
	}
	if !allowed {
		return nil, &crm.ValidationError{Fields: crm.FieldErrors{"auth": crm.ErrUnknownEnum}}
	}
	if err := s.create(ctx, v, p, pr.Domains); err != nil {
		return nil, err
	}
	return p, nil
}
