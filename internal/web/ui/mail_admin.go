package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/store"
)

// Administration → Mail providers and Provider domains (SPEC §2): the
// directory a user's new mailbox is matched against. For holders of
// CanManageAdministration, like every administration page.

func (u *UI) mailAdminRoutes(mux *http.ServeMux) {
	a := u.admin
	mux.HandleFunc("GET /admin/mail/providers", a(u.adminMailProviders))
	mux.HandleFunc("GET /admin/mail/providers/new", a(u.adminMailProviderNew))
	mux.HandleFunc("POST /admin/mail/providers/new", a(u.adminMailProviderCreate))
	mux.HandleFunc("POST /admin/mail/providers/preset", a(u.adminMailProviderPreset))
	mux.HandleFunc("GET /admin/mail/providers/{id}", a(u.adminMailProviderEdit))
	mux.HandleFunc("POST /admin/mail/providers/{id}", a(u.adminMailProviderSave))
	mux.HandleFunc("POST /admin/mail/providers/{id}/delete", a(u.adminMailProviderDelete))
	mux.HandleFunc("GET /admin/mail/domains", a(u.adminMailDomains))
	mux.HandleFunc("POST /admin/mail/domains", a(u.adminMailDomainAdd))
	mux.HandleFunc("POST /admin/mail/domains/delete", a(u.adminMailDomainDelete))
}

// mailDir is the directory service, or an error page when the process has
// none.
func (u *UI) mailDir(w http.ResponseWriter, r *http.Request, c *Ctx) (*mail.Service, bool) {
	if u.mail == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return nil, false
	}
	return u.mail, true
}

// ---------- list and presets ----------

type mailPresetCard struct {
	Code     string
	Name     string
	Note     string // catalogue key
	Type     mail.ProviderType
	Auth     mail.AuthMethod
	Domains  []string
	Servers  string // "imap.gmail.com:993 · smtp.gmail.com:465", or the service address
	NeedKeys bool   // OAuth 2.0: a one-click add takes the settings' app keys
}

type mailProvidersView struct {
	Tabs      []sectionTab
	Providers []*mail.Provider
	Presets   []mailPresetCard
}

func presetCards() []mailPresetCard {
	var out []mailPresetCard
	for _, pr := range mail.Presets() {
		p := pr.Provider
		card := mailPresetCard{Code: pr.Code, Name: p.Name, Note: pr.NoteKey(), Type: p.Type, Auth: p.Auth, Domains: pr.Domains,
			NeedKeys: p.Auth == mail.AuthOAuth2}
		if p.Type == mail.TypeIMAP {
			card.Servers = p.IMAP.Addr() + " · " + p.SMTP.Addr()
		} else {
			card.Servers = p.ExchangeURL
		}
		out = append(out, card)
	}
	return out
}

func (u *UI) adminMailProviders(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailDir(w, r, c)
	if !ok {
		return
	}
	ps, err := m.Providers(r.Context(), c.V)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v := mailProvidersView{Tabs: adminTabs("/admin/mail/providers"), Providers: ps, Presets: presetCards()}
	u.render(w, http.StatusOK, "admin/mail_providers", c.Page(w, r, "admin", v))
}

// adminMailProviderPreset adds a preset in one click. When the preset
// cannot be added as it is (OAuth keys missing, the name taken), its form
// comes back filled in with the problems.
func (u *UI) adminMailProviderPreset(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailDir(w, r, c)
	if !ok {
		return
	}
	code := r.PostFormValue("preset")
	p, err := m.CreateFromPreset(r.Context(), c.V, code, mail.PresetOptions{})
	if errors.Is(err, mail.ErrUnknownPreset) {
		u.errorPage(w, r, c, http.StatusBadRequest)
		return
	}
	if err != nil {
		fe, ok := formErrors(err)
		if !ok {
			u.fail(w, r, c, err)
			return
		}
		draft, _, _ := m.ProviderFromPreset(r.Context(), code, mail.PresetOptions{})
		draft.ClientSecret = "" // the settings' secret is never put in a page
		u.renderMailProviderForm(w, r, c, http.StatusUnprocessableEntity, draft, fe, false)
		return
	}
	redirect(w, r, "/admin/mail/providers", Flash{Kind: FlashSuccess, Key: "flash.mail_provider_created", Args: []any{p.Name}})
}

// ---------- the provider form ----------

type mailProviderFormView struct {
	ID        string // "" for a new provider
	P         *mail.Provider
	Preset    string // the preset a new provider's form was filled from
	Types     []Option
	Secs      []Option
	Logins    []Option
	Auths     []Option
	Mailboxes int
	// The ports as the inputs show them ("" for none yet).
	IMAPPort, SMTPPort string
	// Retype: a secret typed into a save that failed was not kept.
	Retype bool
}

func (u *UI) adminMailProviderNew(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailDir(w, r, c)
	if !ok {
		return
	}
	p := &mail.Provider{Type: mail.TypeIMAP, IMAP: mail.Server{Port: 993, Security: mail.SecurityTLS},
		SMTP: mail.Server{Port: 465, Security: mail.SecurityTLS}, LoginFormat: mail.LoginEmail, Auth: mail.AuthBasic}
	if code := r.URL.Query().Get("preset"); code != "" {
		draft, _, err := m.ProviderFromPreset(r.Context(), code, mail.PresetOptions{})
		if err != nil {
			u.errorPage(w, r, c, http.StatusNotFound)
			return
		}
		draft.ClientSecret = ""
		p = draft
	}
	u.renderMailProviderForm(w, r, c, http.StatusOK, p, nil, false)
}

func (u *UI) adminMailProviderEdit(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailDir(w, r, c)
	if !ok {
		return
	}
	p, err := m.Provider(r.Context(), c.V, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.renderMailProviderForm(w, r, c, http.StatusOK, p, nil, false)
}

// renderMailProviderForm draws the form from p; after a failed save errs
// holds the problems and the fields show what was posted (never a secret).
func (u *UI) renderMailProviderForm(w http.ResponseWriter, r *http.Request, c *Ctx, status int, p *mail.Provider,
	errs map[string]string, retype bool) {
	v := mailProviderFormView{ID: p.ID, P: p, Preset: p.Preset, Mailboxes: p.Mailboxes, Retype: retype,
		IMAPPort: portValue(p.IMAP.Port), SMTPPort: portValue(p.SMTP.Port),
		Types:  enumOptions("mail.type", mail.Strings(mail.ProviderTypes)),
		Secs:   enumOptions("mail.security", mail.Strings(mail.Securities)),
		Logins: enumOptions("mail.login_format", mail.Strings(mail.LoginFormats)),
		Auths:  enumOptions("mail.auth", mail.Strings(mail.AuthMethods))}
	pg := c.Page(w, r, "admin", v)
	if errs != nil {
		pg.Errors = errs
		if r.Method == http.MethodPost && r.PostForm.Has("name") {
			pg.Form = r.PostForm
		} else {
			pg.Form = providerValues(p)
		}
	}
	u.render(w, status, "admin/mail_provider", pg)
}

// providerValues are p's fields as the form posts them, for a form shown
// with errors that was not posted (a preset added in one click).
func providerValues(p *mail.Provider) url.Values {
	port := portValue
	check := func(b bool) string {
		if b {
			return "1"
		}
		return ""
	}
	return url.Values{"name": {p.Name}, "type": {string(p.Type)}, "imap_host": {p.IMAP.Host}, "imap_port": {port(p.IMAP.Port)},
		"imap_security": {string(p.IMAP.Security)}, "smtp_host": {p.SMTP.Host}, "smtp_port": {port(p.SMTP.Port)},
		"smtp_security": {string(p.SMTP.Security)}, "login_format": {string(p.LoginFormat)}, "auth": {string(p.Auth)},
		"client_id": {p.ClientID}, "exchange_url": {p.ExchangeURL}, "exchange_load": {check(p.ExchangeLoad)},
		"exchange_send": {check(p.ExchangeSend)}, "preset": {p.Preset}}
}

func portValue(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// providerFromForm applies the posted fields to p; a port that is not a
// number is a field error (an empty one takes the default by security).
func providerFromForm(r *http.Request, p *mail.Provider) crm.FieldErrors {
	fe := crm.FieldErrors{}
	port := func(field string) int {
		s := strings.TrimSpace(r.PostFormValue(field))
		if s == "" {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			fe.Add(field, "error.invalid_number")
			return 0
		}
		return n
	}
	p.Name = r.PostFormValue("name")
	p.Type = mail.ProviderType(r.PostFormValue("type"))
	p.IMAP = mail.Server{Host: r.PostFormValue("imap_host"), Port: port("imap_port"), Security: mail.Security(r.PostFormValue("imap_security"))}
	p.SMTP = mail.Server{Host: r.PostFormValue("smtp_host"), Port: port("smtp_port"), Security: mail.Security(r.PostFormValue("smtp_security"))}
	p.LoginFormat = mail.LoginFormat(r.PostFormValue("login_format"))
	p.Auth = mail.AuthMethod(r.PostFormValue("auth"))
	p.ClientID = r.PostFormValue("client_id")
	p.ClientSecret = r.PostFormValue("client_secret")
	p.ExchangeURL = r.PostFormValue("exchange_url")
	p.ExchangeLoad = r.PostFormValue("exchange_load") != ""
	p.ExchangeSend = r.PostFormValue("exchange_send") != ""
	if p.Preset == "" {
		if _, ok := mail.LookupPreset(r.PostFormValue("preset")); ok {
			p.Preset = r.PostFormValue("preset")
		}
	}
	return fe
}

func (u *UI) adminMailProviderCreate(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.saveMailProvider(w, r, c, &mail.Provider{})
}

func (u *UI) adminMailProviderSave(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailDir(w, r, c)
	if !ok {
		return
	}
	p, err := m.Provider(r.Context(), c.V, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.saveMailProvider(w, r, c, p)
}

func (u *UI) saveMailProvider(w http.ResponseWriter, r *http.Request, c *Ctx, p *mail.Provider) {
	m, ok := u.mailDir(w, r, c)
	if !ok {
		return
	}
	isNew := p.ID == ""
	fe := providerFromForm(r, p)
	typed := strings.TrimSpace(p.ClientSecret) != ""
	if isReview(r) { // a form kept over a sign-in: shown filled in, not saved
		u.renderMailProviderForm(w, r, c, http.StatusOK, p, map[string]string{}, typed)
		return
	}
	if len(fe) > 0 {
		// Report the other fields' problems with the form's own at once.
		if more, ok := formErrors(p.Normalize()); ok {
			for k, v := range more {
				fe.Add(k, v)
			}
		}
	} else {
		var err error
		if isNew {
			err = m.CreateProvider(r.Context(), c.V, p)
		} else {
			err = m.UpdateProvider(r.Context(), c.V, p)
		}
		if err != nil {
			if fe, ok = formErrors(err); !ok {
				u.fail(w, r, c, err)
				return
			}
		}
	}
	if len(fe) > 0 {
		if isNew {
			p.ID = ""
		}
		u.renderMailProviderForm(w, r, c, http.StatusUnprocessableEntity, p, fe, typed && fe["client_secret"] == "")
		return
	}
	if isNew {
		redirect(w, r, "/admin/mail/providers", Flash{Kind: FlashSuccess, Key: "flash.mail_provider_created", Args: []any{p.Name}})
		return
	}
	redirect(w, r, "/admin/mail/providers/"+p.ID, Flash{Kind: FlashSuccess, Key: "flash.saved"})
}

func (u *UI) adminMailProviderDelete(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailDir(w, r, c)
	if !ok {
		return
	}
	p, err := m.Provider(r.Context(), c.V, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	err = m.DeleteProvider(r.Context(), c.V, p.ID)
	var inUse *store.ProviderInUseError
	if errors.As(err, &inUse) {
		redirect(w, r, "/admin/mail/providers/"+p.ID, Flash{Kind: FlashError, Key: "admin.mail_providers.error.in_use",
			Args: []any{p.Name, strconv.Itoa(inUse.Mailboxes)}})
		return
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/admin/mail/providers", Flash{Kind: FlashSuccess, Key: "flash.mail_provider_deleted", Args: []any{p.Name}})
}

// ---------- domains ----------

type mailDomainsView struct {
	Tabs      []sectionTab
	Domains   []*mail.Domain
	Providers []Option
}

func (u *UI) adminMailDomains(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.renderMailDomains(w, r, c, http.StatusOK, nil)
}

func (u *UI) renderMailDomains(w http.ResponseWriter, r *http.Request, c *Ctx, status int, errs map[string]string) {
	m, ok := u.mailDir(w, r, c)
	if !ok {
		return
	}
	ds, err := m.Domains(r.Context(), c.V, "")
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	ps, err := m.Providers(r.Context(), c.V)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v := mailDomainsView{Tabs: adminTabs("/admin/mail/domains"), Domains: ds}
	for _, p := range ps {
		v.Providers = append(v.Providers, Option{Value: p.ID, Label: p.Name})
	}
	pg := c.Page(w, r, "admin", v)
	if errs != nil {
		pg.Form, pg.Errors = r.PostForm, errs
	}
	u.render(w, status, "admin/mail_domains", pg)
}

func (u *UI) adminMailDomainAdd(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailDir(w, r, c)
	if !ok {
		return
	}
	if isReview(r) {
		u.renderMailDomains(w, r, c, http.StatusOK, map[string]string{})
		return
	}
	d, err := m.AddDomain(r.Context(), c.V, r.PostFormValue("domain"), r.PostFormValue("provider_id"))
	if err != nil {
		fe, ok := formErrors(err)
		if !ok {
			u.fail(w, r, c, err)
			return
		}
		u.renderMailDomains(w, r, c, http.StatusUnprocessableEntity, fe)
		return
	}
	redirect(w, r, "/admin/mail/domains", Flash{Kind: FlashSuccess, Key: "flash.mail_domain_added", Args: []any{d.Display, d.ProviderName}})
}

func (u *UI) adminMailDomainDelete(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailDir(w, r, c)
	if !ok {
		return
	}
	domain := r.PostFormValue("domain")
	if err := m.DeleteDomain(r.Context(), c.V, domain); err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/admin/mail/domains", Flash{Kind: FlashSuccess, Key: "flash.mail_domain_deleted", Args: []any{mail.DisplayDomain(domain)}})
}
