package api

import (
	"net/http"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail"
)

// The mail provider directory (SPEC §2): providers, presets and domains for
// administrators; the providers to pick from and detection by address for
// everyone signed in (adding a mailbox).

// WithMail enables the mail directory routes.
func (a *API) WithMail(m *mail.Service) *API {
	a.mail = m
	return a
}

// mailService answers 503 when the process has no mail service.
func (a *API) mailService(w http.ResponseWriter, r *http.Request) (*mail.Service, bool) {
	if a.mail == nil {
		a.problem(w, r, http.StatusServiceUnavailable, "error.internal", nil)
		return nil, false
	}
	return a.mail, true
}

// mailProviderJSON is a provider as the API shows it: the client secret
// never, only whether one is stored and its mask.
type mailProviderJSON struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	Type             string    `json:"type"`
	Preset           string    `json:"preset"`
	IMAPHost         string    `json:"imap_host"`
	IMAPPort         int       `json:"imap_port"`
	IMAPSecurity     string    `json:"imap_security"`
	SMTPHost         string    `json:"smtp_host"`
	SMTPPort         int       `json:"smtp_port"`
	SMTPSecurity     string    `json:"smtp_security"`
	LoginFormat      string    `json:"login_format"`
	Auth             string    `json:"auth"`
	ClientID         string    `json:"client_id"`
	ClientSecretSet  bool      `json:"client_secret_set"`
	ClientSecretMask string    `json:"client_secret_mask"`
	ExchangeURL      string    `json:"exchange_url"`
	ExchangeLoad     bool      `json:"exchange_load"`
	ExchangeSend     bool      `json:"exchange_send"`
	MailboxCount     int       `json:"mailbox_count"`
	DomainCount      int       `json:"domain_count"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

func mailProviderOut(p *mail.Provider) mailProviderJSON {
	return mailProviderJSON{ID: p.ID, Name: p.Name, Type: string(p.Type), Preset: p.Preset,
		IMAPHost: p.IMAP.Host, IMAPPort: p.IMAP.Port, IMAPSecurity: string(p.IMAP.Security),
		SMTPHost: p.SMTP.Host, SMTPPort: p.SMTP.Port, SMTPSecurity: string(p.SMTP.Security),
		LoginFormat: string(p.LoginFormat), Auth: string(p.Auth), ClientID: p.ClientID,
		ClientSecretSet: p.HasSecret, ClientSecretMask: p.SecretMask,
		ExchangeURL: p.ExchangeURL, ExchangeLoad: p.ExchangeLoad, ExchangeSend: p.ExchangeSend,
		MailboxCount: p.Mailboxes, DomainCount: p.Domains, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

// mailProviderIn is the body of a create or a PATCH: absent fields keep
// their value (on a create, the defaults).
type mailProviderIn struct {
	Name         *string `json:"name"`
	Type         *string `json:"type"`
	IMAPHost     *string `json:"imap_host"`
	IMAPPort     *int    `json:"imap_port"`
	IMAPSecurity *string `json:"imap_security"`
	SMTPHost     *string `json:"smtp_host"`
	SMTPPort     *int    `json:"smtp_port"`
	SMTPSecurity *string `json:"smtp_security"`
	LoginFormat  *string `json:"login_format"`
	Auth         *string `json:"auth"`
	ClientID     *string `json:"client_id"`
	ClientSecret *string `json:"client_secret"`
	ExchangeURL  *string `json:"exchange_url"`
	ExchangeLoad *bool   `json:"exchange_load"`
	ExchangeSend *bool   `json:"exchange_send"`
}

func setEnum[T ~string](dst *T, src *string) {
	if src != nil {
		*dst = T(*src)
	}
}

func (in *mailProviderIn) apply(p *mail.Provider) {
	set(&p.Name, in.Name)
	setEnum(&p.Type, in.Type)
	set(&p.IMAP.Host, in.IMAPHost)
	set(&p.IMAP.Port, in.IMAPPort)
	setEnum(&p.IMAP.Security, in.IMAPSecurity)
	set(&p.SMTP.Host, in.SMTPHost)
	set(&p.SMTP.Port, in.SMTPPort)
	setEnum(&p.SMTP.Security, in.SMTPSecurity)
	setEnum(&p.LoginFormat, in.LoginFormat)
	setEnum(&p.Auth, in.Auth)
	set(&p.ClientID, in.ClientID)
	set(&p.ClientSecret, in.ClientSecret)
	set(&p.ExchangeURL, in.ExchangeURL)
	set(&p.ExchangeLoad, in.ExchangeLoad)
	set(&p.ExchangeSend, in.ExchangeSend)
}

func (a *API) listMailProviders(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailService(w, r)
	if !ok {
		return
	}
	ps, err := m.Providers(r.Context(), v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]mailProviderJSON, len(ps))
	for i, p := range ps {
		out[i] = mailProviderOut(p)
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

func (a *API) getMailProvider(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailService(w, r)
	if !ok {
		return
	}
	p, err := m.Provider(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mailProviderOut(p))
}

func (a *API) createMailProvider(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailService(w, r)
	if !ok {
		return
	}
	var in mailProviderIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	var p mail.Provider
	in.apply(&p)
	if err := m.CreateProvider(r.Context(), v, &p); err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/mail/providers/"+p.ID)
	writeJSON(w, http.StatusCreated, mailProviderOut(&p))
}

func (a *API) patchMailProvider(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailService(w, r)
	if !ok {
		return
	}
	var in mailProviderIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := m.Provider(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	in.apply(p)
	if err := m.UpdateProvider(r.Context(), v, p); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mailProviderOut(p))
}

func (a *API) deleteMailProvider(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailService(w, r)
	if !ok {
		return
	}
	if err := m.DeleteProvider(r.Context(), v, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type presetIn struct {
	Preset       string `json:"preset"`
	Name         string `json:"name"`
	Auth         string `json:"auth"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

func (a *API) createMailProviderFromPreset(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailService(w, r)
	if !ok {
		return
	}
	var in presetIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.Preset == "" {
		a.fail(w, r, &crm.ValidationError{Fields: crm.FieldErrors{"preset": crm.ErrRequired}})
		return
	}
	p, err := m.CreateFromPreset(r.Context(), v, in.Preset, mail.PresetOptions{Name: in.Name, Auth: mail.AuthMethod(in.Auth),
		ClientID: in.ClientID, ClientSecret: in.ClientSecret})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/mail/providers/"+p.ID)
	writeJSON(w, http.StatusCreated, mailProviderOut(p))
}

type mailPresetJSON struct {
	Code         string   `json:"code"`
	Name         string   `json:"name"`
	Note         string   `json:"note"`
	Type         string   `json:"type"`
	IMAPHost     string   `json:"imap_host"`
	IMAPPort     int      `json:"imap_port"`
	IMAPSecurity string   `json:"imap_security"`
	SMTPHost     string   `json:"smtp_host"`
	SMTPPort     int      `json:"smtp_port"`
	SMTPSecurity string   `json:"smtp_security"`
	LoginFormat  string   `json:"login_format"`
	Auth         string   `json:"auth"`
	AuthMethods  []string `json:"auth_methods"`
	ExchangeURL  string   `json:"exchange_url"`
	ExchangeLoad bool     `json:"exchange_load"`
	ExchangeSend bool     `json:"exchange_send"`
	Domains      []string `json:"domains"`
}

func (a *API) listMailPresets(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	l := lang(r)
	var out []mailPresetJSON
	for _, pr := range mail.Presets() {
		p := pr.Provider
		domains := pr.Domains
		if domains == nil {
			domains = []string{}
		}
		out = append(out, mailPresetJSON{Code: pr.Code, Name: p.Name, Note: l.T(pr.NoteKey()), Type: string(p.Type),
			IMAPHost: p.IMAP.Host, IMAPPort: p.IMAP.Port, IMAPSecurity: string(p.IMAP.Security),
			SMTPHost: p.SMTP.Host, SMTPPort: p.SMTP.Port, SMTPSecurity: string(p.SMTP.Security),
			LoginFormat: string(p.LoginFormat), Auth: string(p.Auth), AuthMethods: mail.Strings(pr.Auths),
			ExchangeURL: p.ExchangeURL, ExchangeLoad: p.ExchangeLoad, ExchangeSend: p.ExchangeSend, Domains: domains})
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

type mailChoiceJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Type        string `json:"type"`
	LoginFormat string `json:"login_format"`
	Auth        string `json:"auth"`
}

func (a *API) listMailProviderChoices(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailService(w, r)
	if !ok {
		return
	}
	cs, err := m.Choices(r.Context(), v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]mailChoiceJSON, len(cs))
	for i, c := range cs {
		out[i] = mailChoiceJSON{ID: c.ID, Name: c.Name, Type: string(c.Type), LoginFormat: string(c.LoginFormat), Auth: string(c.Auth)}
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

type mailDetectJSON struct {
	Domain   string          `json:"domain"`
	Provider *mailChoiceJSON `json:"provider"`
}

// detectMailProvider answers the provider of an address's domain, or a
// null provider when the directory knows none (the user then picks one).
func (a *API) detectMailProvider(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailService(w, r)
	if !ok {
		return
	}
	address := r.URL.Query().Get("address")
	domain, key := mail.AddressDomain(address)
	if key != "" {
		a.fail(w, r, &decodeError{key: "error.form", fields: crm.FieldErrors{"address": key}})
		return
	}
	out := mailDetectJSON{Domain: mail.DisplayDomain(domain)}
	p, err := m.Detect(r.Context(), address)
	switch {
	case err == nil:
		out.Provider = &mailChoiceJSON{ID: p.ID, Name: p.Name, Type: string(p.Type), LoginFormat: string(p.LoginFormat), Auth: string(p.Auth)}
	case err != mail.ErrUnknownDomain:
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

type mailDomainJSON struct {
	Domain       string    `json:"domain"`
	Display      string    `json:"display"`
	ProviderID   string    `json:"provider_id"`
	ProviderName string    `json:"provider_name"`
	CreatedAt    time.Time `json:"created_at"`
}

func mailDomainOut(d *mail.Domain) mailDomainJSON {
	return mailDomainJSON{Domain: d.Domain, Display: d.Display, ProviderID: d.ProviderID, ProviderName: d.ProviderName, CreatedAt: d.CreatedAt}
}

func (a *API) listMailDomains(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailService(w, r)
	if !ok {
		return
	}
	ds, err := m.Domains(r.Context(), v, r.URL.Query().Get("provider_id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]mailDomainJSON, len(ds))
	for i, d := range ds {
		out[i] = mailDomainOut(d)
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

type mailDomainIn struct {
	Domain     string `json:"domain"`
	ProviderID string `json:"provider_id"`
}

func (a *API) createMailDomain(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailService(w, r)
	if !ok {
		return
	}
	var in mailDomainIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := m.AddDomain(r.Context(), v, in.Domain, in.ProviderID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/mail/domains/"+d.Domain)
	writeJSON(w, http.StatusCreated, mailDomainOut(d))
}

func (a *API) deleteMailDomain(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailService(w, r)
	if !ok {
		return
	}
	if err := m.DeleteDomain(r.Context(), v, r.PathValue("domain")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
