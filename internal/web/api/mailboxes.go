package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/store"
)

// A user's mailboxes (SPEC §2): adding one (the servers verify the login),
// its settings, the grants of a shared one, its folder tree and loading on
// demand. Every route is for any signed-in user; the mailbox service
// decides who may do what with each mailbox.

// WithMailboxes enables the mailbox routes.
func (a *API) WithMailboxes(m *mail.Mailboxes) *API {
	a.mailboxes = m
	return a
}

// mailboxService answers 503 when the process has no mailbox service.
func (a *API) mailboxService(w http.ResponseWriter, r *http.Request) (*mail.Mailboxes, bool) {
	if a.mailboxes == nil {
		a.problem(w, r, http.StatusServiceUnavailable, "error.internal", nil)
		return nil, false
	}
	return a.mailboxes, true
}

// mailboxAccessJSON is what the caller may do with a mailbox.
type mailboxAccessJSON struct {
	Owner     bool `json:"owner"`
	Read      bool `json:"read"`
	Send      bool `json:"send"`
	Configure bool `json:"configure"`
}

// mailboxJSON is a mailbox as the API shows it; its password never.
type mailboxJSON struct {
	ID               string            `json:"id"`
	Address          string            `json:"address"`
	ProviderID       string            `json:"provider_id"`
	Login            string            `json:"login"`
	OwnerID          string            `json:"owner_id"`
	Status           string            `json:"status"`
	StatusReason     string            `json:"status_reason"`
	LastLoadAt       *time.Time        `json:"last_load_at"`
	FirstLoad        string            `json:"first_load"`
	AutoLoad         bool              `json:"auto_load"`
	AllFolders       bool              `json:"all_folders"`
	Folders          []string          `json:"folders"`
	SendEnabled      bool              `json:"send_enabled"`
	DefaultSender    bool              `json:"default_sender"`
	Alias            string            `json:"alias"`
	Signature        string            `json:"signature"`
	SignatureEnabled bool              `json:"signature_enabled"`
	Shared           bool              `json:"shared"`
	Access           mailboxAccessJSON `json:"access"`
	CreatedAt        time.Time         `json:"created_at"`
	UpdatedAt        time.Time         `json:"updated_at"`
}

func mailboxOut(m *store.Mailbox, acc store.MailboxAccess) mailboxJSON {
	out := mailboxJSON{ID: m.ID, Address: m.Address, ProviderID: m.ProviderID, Login: m.Login, OwnerID: m.OwnerID,
		Status: string(m.Status), StatusReason: m.StatusReason, FirstLoad: m.FirstLoad, AutoLoad: m.AutoLoad,
		AllFolders: m.AllFolders, Folders: m.Folders, SendEnabled: m.SendEnabled, DefaultSender: m.DefaultSender,
		Alias: m.Alias, Signature: m.Signature, SignatureEnabled: m.SignatureEnabled, Shared: m.Shared,
		Access:    mailboxAccessJSON{Owner: acc.Owner, Read: acc.Read, Send: acc.Send, Configure: acc.Configure},
		CreatedAt: crm.FromMicros(m.CreatedAt), UpdatedAt: crm.FromMicros(m.UpdatedAt)}
	if out.Folders == nil {
		out.Folders = []string{}
	}
	if m.LastLoadAt > 0 {
		t := crm.FromMicros(m.LastLoadAt)
		out.LastLoadAt = &t
	}
	return out
}

// mailboxIn is the body of POST /api/v1/mailboxes.
type mailboxIn struct {
	Address    string `json:"address"`
	ProviderID string `json:"provider_id"`
	Login      string `json:"login"`
	Password   string `json:"password"`
	Shared     bool   `json:"shared"`
}

// mailboxSettingsIn is the body of a PATCH: absent fields keep their value.
type mailboxSettingsIn struct {
	FirstLoad        *string   `json:"first_load"`
	AutoLoad         *bool     `json:"auto_load"`
	AllFolders       *bool     `json:"all_folders"`
	Folders          *[]string `json:"folders"`
	SendEnabled      *bool     `json:"send_enabled"`
	DefaultSender    *bool     `json:"default_sender"`
	Alias            *string   `json:"alias"`
	Signature        *string   `json:"signature"`
	SignatureEnabled *bool     `json:"signature_enabled"`
	Shared           *bool     `json:"shared"`
}

// MailboxSettingsOf are a mailbox's current settings, what a PATCH starts
// from.
func mailboxSettingsOf(m *store.Mailbox) mail.MailboxSettings {
	return mail.MailboxSettings{FirstLoad: mail.Period(m.FirstLoad), AutoLoad: m.AutoLoad, AllFolders: m.AllFolders,
		Folders: m.Folders, SendEnabled: m.SendEnabled, DefaultSender: m.DefaultSender, Alias: m.Alias,
		Signature: m.Signature, SignatureEnabled: m.SignatureEnabled, Shared: m.Shared}
}

func (in *mailboxSettingsIn) apply(s *mail.MailboxSettings) {
	setEnum(&s.FirstLoad, in.FirstLoad)
	set(&s.AutoLoad, in.AutoLoad)
	set(&s.AllFolders, in.AllFolders)
	set(&s.Folders, in.Folders)
	set(&s.SendEnabled, in.SendEnabled)
	set(&s.DefaultSender, in.DefaultSender)
	set(&s.Alias, in.Alias)
	set(&s.Signature, in.Signature)
	set(&s.SignatureEnabled, in.SignatureEnabled)
	set(&s.Shared, in.Shared)
}

// mailboxProblem is a problem with what a user adding a mailbox needs to
// know: the providers to pick from, or which server refused and how.
// It is problem with more fields, written out: the OpenAPI test reads
// the fields of the type.
type mailboxProblem struct {
	Type     string           `json:"type"`
	Title    string           `json:"title"`
	Status   int              `json:"status"`
	Detail   string           `json:"detail"`
	Code     string           `json:"code"`
	Domain   string           `json:"domain,omitempty"`
	Choices  []mailChoiceJSON `json:"choices,omitempty"`
	Protocol string           `json:"protocol,omitempty"`
	Kind     string           `json:"kind,omitempty"`
	// ConsentURL (mail_oauth_consent) is Tandem's add-mailbox page for the
	// address: the consent is bound to a browser session, so the user
	// opens it signed in and presses the connect button.
	ConsentURL string `json:"consent_url,omitempty"`
}

func writeProblem(w http.ResponseWriter, p any) {
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnprocessableEntity)
	json.NewEncoder(w).Encode(p)
}

// VerifyMessageKey is the catalogue key that tells a user why a new
// mailbox's server refused it; its argument is the protocol's name.
func VerifyMessageKey(e *mail.VerifyError) string { return e.MessageKey() }

func unprocessable(r *http.Request, key string) mailboxProblem {
	return mailboxProblem{Type: "about:blank", Title: http.StatusText(http.StatusUnprocessableEntity),
		Status: http.StatusUnprocessableEntity, Detail: lang(r).T(key), Code: strings.TrimPrefix(key, "error.")}
}

// pickProvider answers an address of an unknown domain with the providers
// to pick from; adding the mailbox again with provider_id learns the domain.
func (a *API) pickProvider(w http.ResponseWriter, r *http.Request, v access.Viewer, address string) {
	p := unprocessable(r, "error.mail_pick_provider")
	if domain, key := mail.AddressDomain(address); key == "" {
		p.Domain = mail.DisplayDomain(domain)
	}
	p.Choices = []mailChoiceJSON{}
	if a.mail != nil {
		cs, err := a.mail.Choices(r.Context(), v)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		for _, c := range cs {
			p.Choices = append(p.Choices, mailChoiceJSON{ID: c.ID, Name: c.Name, Type: string(c.Type),
				LoginFormat: string(c.LoginFormat), Auth: string(c.Auth)})
		}
	}
	writeProblem(w, p)
}

// failMailbox answers the mailbox service's own errors and leaves the rest
// to fail. providerGiven: an unknown provider is then the body's mistake.
func (a *API) failMailbox(w http.ResponseWriter, r *http.Request, err error, providerGiven bool) {
	var ve *mail.VerifyError
	l := lang(r)
	switch {
	case errors.As(err, &ve):
		p := unprocessable(r, "error.mail_verify_failed")
		p.Detail = l.T(VerifyMessageKey(ve), strings.ToUpper(string(ve.Protocol)))
		p.Protocol, p.Kind = string(ve.Protocol), string(ve.Kind)
		writeProblem(w, p)
	case errors.Is(err, mail.ErrTransportLater):
		writeProblem(w, unprocessable(r, "error.mail_transport_later"))
	case errors.Is(err, mail.ErrOAuthMailbox):
		writeProblem(w, unprocessable(r, "error.mail_oauth_mailbox"))
	case errors.Is(err, mail.ErrNoRight):
		a.problem(w, r, http.StatusForbidden, "error.forbidden", nil)
	case errors.Is(err, mail.ErrNoQueue):
		a.problem(w, r, http.StatusServiceUnavailable, "error.internal", nil)
	case providerGiven && errors.Is(err, store.ErrNotFound):
		a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"provider_id": crm.ErrUnknownEnum})
	case errors.Is(err, store.ErrDuplicate):
		a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"grants": "error.duplicate"})
	default:
		a.fail(w, r, err)
	}
}

func (a *API) listMailboxes(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailboxService(w, r)
	if !ok {
		return
	}
	ms, err := m.List(r.Context(), v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]mailboxJSON, len(ms))
	for i := range ms {
		out[i] = mailboxOut(&ms[i].Mailbox, ms[i].Access)
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

func (a *API) createMailbox(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailboxService(w, r)
	if !ok {
		return
	}
	var in mailboxIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	mb, err := m.Add(r.Context(), v, mail.NewMailbox{Address: in.Address, ProviderID: in.ProviderID, Login: in.Login,
		Password: in.Password, Shared: in.Shared})
	if err != nil {
		if errors.Is(err, mail.ErrPickProvider) {
			a.pickProvider(w, r, v, in.Address)
			return
		}
		if errors.Is(err, mail.ErrOAuthConsent) {
			a.oauthConsent(w, r, in)
			return
		}
		a.failMailbox(w, r, err, in.ProviderID != "")
		return
	}
	w.Header().Set("Location", "/api/v1/mailboxes/"+mb.ID)
	writeJSON(w, http.StatusCreated, mailboxOut(mb, store.MailboxAccess{Owner: true}))
}

func (a *API) getMailbox(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailboxService(w, r)
	if !ok {
		return
	}
	mb, err := m.Get(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.failMailbox(w, r, err, false)
		return
	}
	writeJSON(w, http.StatusOK, mailboxOut(&mb.Mailbox, mb.Access))
}

func (a *API) patchMailbox(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailboxService(w, r)
	if !ok {
		return
	}
	var in mailboxSettingsIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	cur, err := m.Get(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.failMailbox(w, r, err, false)
		return
	}
	s := mailboxSettingsOf(&cur.Mailbox)
	in.apply(&s)
	mb, err := m.UpdateSettings(r.Context(), v, cur.ID, s)
	if err != nil {
		a.failMailbox(w, r, err, false)
		return
	}
	writeJSON(w, http.StatusOK, mailboxOut(mb, cur.Access))
}

func (a *API) deleteMailbox(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailboxService(w, r)
	if !ok {
		return
	}
	if err := m.Delete(r.Context(), v, r.PathValue("id")); err != nil {
		a.failMailbox(w, r, err, false)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// mailboxGrantJSON is one user's or role's rights on a shared mailbox.
type mailboxGrantJSON struct {
	GranteeKind string `json:"grantee_kind"`
	GranteeID   string `json:"grantee_id"`
	GranteeName string `json:"grantee_name"`
	Read        bool   `json:"read"`
	Send        bool   `json:"send"`
	Configure   bool   `json:"configure"`
}

// mailboxGrantIn is one entry of PUT …/grants.
type mailboxGrantIn struct {
	GranteeKind string `json:"grantee_kind"`
	GranteeID   string `json:"grantee_id"`
	Read        bool   `json:"read"`
	Send        bool   `json:"send"`
	Configure   bool   `json:"configure"`
}

// maxMailboxGrants bounds one PUT of grants.
const maxMailboxGrants = 500

type mailboxGrantsIn struct {
	Grants []mailboxGrantIn `json:"grants"`
}

func (a *API) getMailboxGrants(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailboxService(w, r)
	if !ok {
		return
	}
	gs, err := m.Grants(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.failMailbox(w, r, err, false)
		return
	}
	a.writeGrants(w, gs)
}

func (a *API) writeGrants(w http.ResponseWriter, gs []store.MailboxGrant) {
	out := make([]mailboxGrantJSON, len(gs))
	for i, g := range gs {
		out[i] = mailboxGrantJSON{GranteeKind: g.GranteeKind, GranteeID: g.GranteeID, GranteeName: g.GranteeName,
			Read: g.Read, Send: g.Send, Configure: g.Configure}
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

func (a *API) putMailboxGrants(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailboxService(w, r)
	if !ok {
		return
	}
	var in mailboxGrantsIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if len(in.Grants) > maxMailboxGrants {
		a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"grants": crm.ErrTooMany})
		return
	}
	id := r.PathValue("id")
	grants := make([]store.MailboxGrant, len(in.Grants))
	for i, g := range in.Grants {
		grants[i] = store.MailboxGrant{GranteeKind: g.GranteeKind, GranteeID: g.GranteeID, Read: g.Read, Send: g.Send, Configure: g.Configure}
	}
	if err := m.SetGrants(r.Context(), v, id, grants); err != nil {
		// The mailbox was found (SetGrants checks it first): a grantee was not.
		if errors.Is(err, store.ErrNotFound) {
			if _, gerr := m.Get(r.Context(), v, id); gerr == nil {
				a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"grantee_id": "error.not_found"})
				return
			}
		}
		a.failMailbox(w, r, err, false)
		return
	}
	gs, err := m.Grants(r.Context(), v, id)
	if err != nil {
		a.failMailbox(w, r, err, false)
		return
	}
	a.writeGrants(w, gs)
}

// mailFolderJSON is one folder of a mailbox's tree.
type mailFolderJSON struct {
	Name       string           `json:"name"`
	Parent     string           `json:"parent"`
	Special    string           `json:"special"`
	Selectable bool             `json:"selectable"`
	Selected   bool             `json:"selected"`
	Children   []mailFolderJSON `json:"children"`
}

// folderTree nests folders under their parents, in name order; a folder
// whose parent is not listed is a root.
func folderTree(fs []store.MailFolder, selected func(string) bool) []mailFolderJSON {
	known := map[string]bool{}
	kids := map[string][]store.MailFolder{}
	for _, f := range fs {
		known[f.Name] = true
	}
	for _, f := range fs {
		parent := f.Parent
		if !known[parent] || parent == f.Name {
			parent = ""
		}
		kids[parent] = append(kids[parent], f)
	}
	var build func(parent string, depth int) []mailFolderJSON
	build = func(parent string, depth int) []mailFolderJSON {
		out := []mailFolderJSON{}
		if depth > 64 { // a cycle in what a server said
			return out
		}
		for _, f := range kids[parent] {
			out = append(out, mailFolderJSON{Name: f.Name, Parent: f.Parent, Special: f.Special, Selectable: f.Selectable,
				Selected: selected(f.Name), Children: build(f.Name, depth+1)})
		}
		return out
	}
	return build("", 0)
}

func (a *API) listMailboxFolders(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailboxService(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	fs, err := m.Folders(r.Context(), v, id)
	if err != nil {
		a.failMailbox(w, r, err, false)
		return
	}
	mb, err := m.Get(r.Context(), v, id)
	if err != nil {
		a.failMailbox(w, r, err, false)
		return
	}
	sel := map[string]bool{}
	for _, f := range mb.Folders {
		sel[f] = true
	}
	writeJSON(w, http.StatusOK, page(folderTree(fs, func(name string) bool { return mb.AllFolders || sel[name] }), ""))
}

type loadJobJSON struct {
	JobID int64 `json:"job_id"`
}

func (a *API) loadMailbox(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	m, ok := a.mailboxService(w, r)
	if !ok {
		return
	}
	id, err := m.LoadNow(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.failMailbox(w, r, err, false)
		return
	}
	writeJSON(w, http.StatusAccepted, loadJobJSON{JobID: id})
}

// oauthConsent answers an address whose provider signs in through its
// issuer's consent with where the user gives it: Tandem's add-mailbox page for the
// address (SiteUrl, or the request's host while it is unset).
func (a *API) oauthConsent(w http.ResponseWriter, r *http.Request, in mailboxIn) {
	p := unprocessable(r, "error.mail_oauth_consent")
	base := ""
	if a.settings != nil {
		site, err := a.settings.Get(r.Context(), "SiteUrl")
		if err != nil {
			a.fail(w, r, err)
			return
		}
		base = strings.TrimRight(strings.TrimSpace(site), "/")
	}
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	q := url.Values{"address": {strings.TrimSpace(in.Address)}}
	if in.ProviderID != "" {
		q.Set("provider_id", in.ProviderID)
	}
	p.ConsentURL = base + "/profile/mailboxes/new?" + q.Encode()
	writeProblem(w, p)
}
