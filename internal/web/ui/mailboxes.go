package ui

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/store"
)

// Profile → Mailboxes (SPEC §2): the user's mailboxes and the shared ones
// they hold rights on; adding one (address → provider → password, verified
// by the servers); a mailbox's settings, a shared one's grants, loading
// now and removing. The letters themselves are shown elsewhere.

func (u *UI) mailboxRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /profile/mailboxes", u.authed(u.mailboxList))
	mux.HandleFunc("GET /profile/mailboxes/new", u.authed(u.mailboxNew))
	mux.HandleFunc("POST /profile/mailboxes/new", u.authed(u.mailboxAdd))
	mux.HandleFunc("GET /profile/mailboxes/{id}", u.authed(u.mailboxSettings))
	mux.HandleFunc("POST /profile/mailboxes/{id}", u.authed(u.mailboxSave))
	mux.HandleFunc("POST /profile/mailboxes/{id}/grants", u.authed(u.mailboxGrantsSave))
	mux.HandleFunc("POST /profile/mailboxes/{id}/load", u.authed(u.mailboxLoad))
	mux.HandleFunc("POST /profile/mailboxes/{id}/delete", u.authed(u.mailboxDelete))
}

// mailboxSvc is the mailbox service, or an error page when the process
// has none.
func (u *UI) mailboxSvc(w http.ResponseWriter, r *http.Request, c *Ctx) (*mail.Mailboxes, bool) {
	if u.mailboxes == nil || u.mail == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return nil, false
	}
	return u.mailboxes, true
}

// failMailbox shows the mailbox service's refusals as error pages.
func (u *UI) failMailbox(w http.ResponseWriter, r *http.Request, c *Ctx, err error) {
	switch {
	case errors.Is(err, mail.ErrNoRight):
		u.errorPage(w, r, c, http.StatusForbidden)
	case errors.Is(err, mail.ErrNoQueue):
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
	default:
		u.fail(w, r, c, err)
	}
}

// ---------- the list ----------

type mailboxRow struct {
	ID           string
	Address      string
	Alias        string
	Shared       bool
	Owner        bool
	Rights       []string // catalogue keys of a grantee's rights
	Status       string   // a safe CSS suffix: conn-<Status>
	StatusLabel  string
	StatusReason string
	LastLoad     time.Time // zero: never
	CanConfigure bool
	Default      bool
	Reconnect    string // the consent that renews a refused grant; "" when none is needed
}

type mailboxListView struct {
	Tabs      []sectionTab
	Mailboxes []mailboxRow
	Added     *mailboxRow // just added: the message with its links
	Interval  int
}

func (u *UI) mailboxList(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailboxSvc(w, r, c)
	if !ok {
		return
	}
	ms, err := m.List(r.Context(), c.V)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v := mailboxListView{Tabs: profileTabs("/profile/mailboxes"), Interval: m.SyncInterval(r.Context())}
	added := r.URL.Query().Get("added")
	for _, mb := range ms {
		row := mailboxRow{ID: mb.ID, Address: mb.Address, Alias: mb.Alias, Shared: mb.Shared, Owner: mb.Access.Owner,
			Status: string(mb.Status), StatusLabel: c.Lang.T("connection.status." + string(mb.Status)),
			StatusReason: mb.StatusReason,
			CanConfigure: mail.CanConfigure(c.V, mb.Access), Default: mb.DefaultSender && mb.Access.Owner}
		if mb.LastLoadAt > 0 {
			row.LastLoad = crm.FromMicros(mb.LastLoadAt)
		}
		if !cssWord.MatchString(row.Status) {
			row.Status = "unknown"
		}
		if mb.Access.Owner && mb.Status == store.ConnectionNeedsReauth && u.mail != nil {
			// A refused OAuth grant is renewed by consenting again: the
			// add flow finds this mailbox and gives it the new tokens.
			if p, err := u.mail.Get(r.Context(), mb.ProviderID); err == nil && m.OAuthConsent(p) {
				row.Reconnect = mailboxAddURL(mb.Address, "")
			}
		}
		if !mb.Access.Owner {
			for _, g := range []struct {
				on  bool
				key string
			}{{mb.Access.Read, "mailbox.right.read"}, {mb.Access.Send, "mailbox.right.send"}, {mb.Access.Configure, "mailbox.right.configure"}} {
				if g.on {
					row.Rights = append(row.Rights, g.key)
				}
			}
		}
		v.Mailboxes = append(v.Mailboxes, row)
		if mb.ID == added && mb.Access.Owner {
			v.Added = &row
		}
	}
	u.render(w, http.StatusOK, "profile/mailboxes", c.Page(w, r, "profile", v))
}

// ---------- adding ----------

// mailboxAddView is the Data of profile/mailbox_new. Without an address
// only the address is asked; with one the provider is detected (or picked)
// and the password asked.
type mailboxAddView struct {
	Tabs      []sectionTab
	Address   string
	Detected  *mail.Provider // the provider of the address's domain
	Choices   []Option       // when the domain is unknown
	Pick      bool
	Manual    bool // the login is entered by hand
	LoginAsk  bool // show the login field
	CanShare  bool
	Verify    string // why the servers refused, translated
	OAuthNote bool
	// Consent: the detected provider signs in through its issuer's consent
	// (a connect button instead of the password); ConsentKey names the
	// button ("mailbox.connect.<issuer>"), ConsentHelp explains it.
	Consent     bool
	ConsentKey  string
	ConsentHelp string
}

func (u *UI) mailboxNew(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if _, ok := u.mailboxSvc(w, r, c); !ok {
		return
	}
	address := strings.TrimSpace(r.URL.Query().Get("address"))
	var errs map[string]string
	if address != "" {
		if _, key := mail.AddressDomain(address); key != "" {
			errs = map[string]string{"address": key}
		}
	}
	u.renderMailboxAdd(w, r, c, http.StatusOK, address, r.URL.Query().Get("provider_id"), errs, "")
}

// renderMailboxAdd draws the add form for address; provider is the one
// picked (if any). With errs it is a failed submit, shown again with what
// was posted except the password.
func (u *UI) renderMailboxAdd(w http.ResponseWriter, r *http.Request, c *Ctx, status int, address, provider string,
	errs map[string]string, verify string) {
	ctx := r.Context()
	v := mailboxAddView{Tabs: profileTabs("/profile/mailboxes"), CanShare: c.V.Can(access.OpConnectSharedMailbox), Verify: verify}
	if address != "" && (errs == nil || errs["address"] == "") {
		v.Address = address
		p, err := u.mail.Detect(ctx, address)
		switch {
		case err == nil:
			v.Detected = p
		case errors.Is(err, mail.ErrUnknownDomain):
			v.Pick = true
		default:
			u.fail(w, r, c, err)
			return
		}
	}
	if v.Pick || provider != "" {
		v.Pick = true
		cs, err := u.mail.Choices(ctx, c.V)
		if err != nil {
			u.fail(w, r, c, err)
			return
		}
		for _, ch := range cs {
			v.Choices = append(v.Choices, Option{Value: ch.ID, Label: ch.Name})
			if ch.ID == provider && ch.LoginFormat == mail.LoginManual {
				v.Manual = true
			}
		}
		// Which provider will be picked is not known yet: the login is
		// asked, for the providers that want it.
		v.LoginAsk = true
	}
	if v.Detected != nil {
		v.Consent = u.mailboxes.OAuthConsent(v.Detected)
		v.ConsentKey = "mailbox.connect." + string(v.Detected.Issuer())
		v.ConsentHelp = issuerKey(c, "mailbox.consent_help", string(v.Detected.Issuer()))
		v.Manual = v.Detected.LoginFormat == mail.LoginManual && !v.Consent
		v.LoginAsk = v.Manual
		v.OAuthNote = !v.Consent && (v.Detected.Auth == mail.AuthOAuth2 || v.Detected.Type != mail.TypeIMAP)
	}
	if errs != nil && errs["login"] != "" {
		v.LoginAsk = true
	}
	p := c.Page(w, r, "profile", v)
	if errs != nil {
		p.Errors = errs
		if r.Method == http.MethodPost {
			p.Form = r.PostForm
		} else {
			p.Form = url.Values{"address": {address}}
		}
	}
	u.render(w, status, "profile/mailbox_new", p)
}

func (u *UI) mailboxAdd(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailboxSvc(w, r, c)
	if !ok {
		return
	}
	in := mail.NewMailbox{Address: strings.TrimSpace(r.PostFormValue("address")), ProviderID: r.PostFormValue("provider_id"),
		Login: r.PostFormValue("login"), Password: r.PostFormValue("password"), Shared: r.PostFormValue("shared") != ""}
	if isReview(r) { // a form kept over a sign-in: shown filled in, not sent
		u.renderMailboxAdd(w, r, c, http.StatusOK, in.Address, in.ProviderID, map[string]string{}, "")
		return
	}
	var mb *store.Mailbox
	err := mail.ErrOAuthConsent
	if r.PostFormValue("consent") == "" {
		mb, err = m.Add(r.Context(), c.V, in)
	}
	if errors.Is(err, mail.ErrOAuthConsent) {
		// The connect button, or a picked provider that consents: off to
		// the issuer, back at its OAuth callback.
		to, err := m.BeginOAuth(r.Context(), c.V, in, mail.OAuthBegin{Session: c.CSRF, BaseURL: requestBase(r)})
		if err == nil {
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		var fe *oauth.FlowError
		if errors.As(err, &fe) {
			u.mailboxOAuthFailed(w, r, c, err, in.Address, in.ProviderID)
			return
		}
		u.mailboxAddFailed(w, r, c, in, err)
		return
	}
	if err == nil {
		redirect(w, r, "/profile/mailboxes?added="+url.QueryEscape(mb.ID), Flash{Kind: FlashSuccess, Key: "flash.mailbox_added", Args: []any{mb.Address}})
		return
	}
	u.mailboxAddFailed(w, r, c, in, err)
}

// mailboxAddFailed shows the add form again with why the mailbox was not
// added.
func (u *UI) mailboxAddFailed(w http.ResponseWriter, r *http.Request, c *Ctx, in mail.NewMailbox, err error) {
	var ve *mail.VerifyError
	switch {
	case errors.As(err, &ve):
		msg := c.Lang.T("mail.verify."+string(ve.Kind), strings.ToUpper(string(ve.Protocol)))
		u.renderMailboxAdd(w, r, c, http.StatusUnprocessableEntity, in.Address, in.ProviderID,
			map[string]string{FormError: "error.mail_verify_failed", "password": "mailbox.retype_password"}, msg)
	case errors.Is(err, mail.ErrPickProvider):
		u.renderMailboxAdd(w, r, c, http.StatusUnprocessableEntity, in.Address, in.ProviderID,
			map[string]string{FormError: "error.mail_pick_provider", "provider_id": crm.ErrRequired}, "")
	case errors.Is(err, mail.ErrOAuthMailbox), errors.Is(err, mail.ErrTransportLater):
		key := "error.mail_oauth_mailbox"
		if errors.Is(err, mail.ErrTransportLater) {
			key = "error.mail_transport_later"
		}
		u.renderMailboxAdd(w, r, c, http.StatusUnprocessableEntity, in.Address, in.ProviderID, map[string]string{FormError: key}, "")
	case in.ProviderID != "" && errors.Is(err, store.ErrNotFound):
		u.renderMailboxAdd(w, r, c, http.StatusUnprocessableEntity, in.Address, "", map[string]string{"provider_id": crm.ErrUnknownEnum}, "")
	default:
		fe, ok := formErrors(err)
		if !ok {
			u.fail(w, r, c, err)
			return
		}
		u.renderMailboxAdd(w, r, c, http.StatusUnprocessableEntity, in.Address, in.ProviderID, fe, "")
	}
}

// ---------- settings ----------

// folderRow is one folder of the checkbox tree, indented by Depth.
type folderRow struct {
	Name       string
	Label      string // the last part of the name
	Depth      int
	Selectable bool
	Checked    bool
}

// grantRow is one user or role of the grants editor.
type grantRow struct {
	Key                   string // "user:<id>" or "role:<id>"
	Name                  string
	Role                  bool
	Read, Send, Configure bool
}

type mailboxSettingsView struct {
	Tabs      []sectionTab
	M         store.MailboxWithAccess
	Periods   []Option
	Folders   []folderRow
	Selected  []string // the folders selected, as saved or posted
	Interval  int
	CanShare  bool // may turn shared on or off
	CanGrant  bool
	Grants    []grantRow
	GrantErrs map[string]string
	Owner     bool
	Signature string
	LastLoad  time.Time // zero: never
}

func (u *UI) mailboxSettings(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.renderMailboxSettings(w, r, c, http.StatusOK, nil, nil)
}

func (u *UI) renderMailboxSettings(w http.ResponseWriter, r *http.Request, c *Ctx, status int, errs, grantErrs map[string]string) {
	m, ok := u.mailboxSvc(w, r, c)
	if !ok {
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	mb, err := m.Get(ctx, c.V, id)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	if !mail.CanConfigure(c.V, mb.Access) {
		u.errorPage(w, r, c, http.StatusForbidden)
		return
	}
	fs, err := m.Folders(ctx, c.V, id)
	if err != nil {
		u.failMailbox(w, r, c, err)
		return
	}
	v := mailboxSettingsView{Tabs: profileTabs("/profile/mailboxes"), M: *mb, Interval: m.SyncInterval(ctx),
		Periods:  enumOptions("mailbox.period", mail.Strings(mail.Periods)),
		CanShare: mb.Access.Owner && c.V.Can(access.OpConnectSharedMailbox), CanGrant: mb.Shared && mail.CanGrant(c.V, mb.Access),
		Owner: mb.Access.Owner, Signature: mb.Signature, Selected: mb.Folders, GrantErrs: grantErrs}
	if mb.LastLoadAt > 0 {
		v.LastLoad = crm.FromMicros(mb.LastLoadAt)
	}
	if errs != nil && r.PostForm.Has("first_load") {
		v.Selected = r.PostForm["folders"]
	}
	v.Folders = folderRows(fs, v.Selected)
	if v.CanGrant {
		if v.Grants, err = u.grantRows(r, c, mb, grantErrs != nil); err != nil {
			u.failMailbox(w, r, c, err)
			return
		}
	}
	p := c.Page(w, r, "profile", v)
	if errs != nil {
		p.Form, p.Errors = r.PostForm, errs
	}
	u.render(w, status, "profile/mailbox", p)
}

// folderRows orders the folders as a tree: each after its parent, one
// level deeper.
func folderRows(fs []store.MailFolder, selected []string) []folderRow {
	known := map[string]bool{}
	for _, f := range fs {
		known[f.Name] = true
	}
	kids := map[string][]store.MailFolder{}
	for _, f := range fs {
		parent := f.Parent
		if !known[parent] || parent == f.Name {
			parent = ""
		}
		kids[parent] = append(kids[parent], f)
	}
	var out []folderRow
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		if depth > 32 {
			return
		}
		for _, f := range kids[parent] {
			label := f.Name
			if f.Parent != "" && strings.HasPrefix(f.Name, f.Parent) && len(f.Name) > len(f.Parent)+1 {
				label = f.Name[len(f.Parent)+1:]
			}
			out = append(out, folderRow{Name: f.Name, Label: label, Depth: depth, Selectable: f.Selectable,
				Checked: slices.Contains(selected, f.Name)})
			walk(f.Name, depth+1)
		}
	}
	walk("", 0)
	return out
}

// grantRows lists every role, then every active user but the owner, with
// their rights: as posted after a failed save, else as stored.
func (u *UI) grantRows(r *http.Request, c *Ctx, mb *store.MailboxWithAccess, posted bool) ([]grantRow, error) {
	ctx := r.Context()
	gs, err := u.mailboxes.Grants(ctx, c.V, mb.ID)
	if err != nil {
		return nil, err
	}
	have := map[string]store.MailboxGrant{}
	for _, g := range gs {
		have[g.GranteeKind+":"+g.GranteeID] = g
	}
	roles, err := u.st.ListRoles(ctx)
	if err != nil {
		return nil, err
	}
	users, err := u.st.ListUsers(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []grantRow
	add := func(key, name string, role bool) {
		g := have[key]
		row := grantRow{Key: key, Name: name, Role: role, Read: g.Read, Send: g.Send, Configure: g.Configure}
		if posted {
			row.Read = slices.Contains(r.PostForm["read"], key)
			row.Send = slices.Contains(r.PostForm["send"], key)
			row.Configure = slices.Contains(r.PostForm["configure"], key)
		}
		out = append(out, row)
	}
	for _, ro := range roles {
		add("role:"+ro.ID, ro.Name, true)
	}
	for _, us := range users {
		if us.ID == mb.OwnerID || (!us.Active && have["user:"+us.ID] == (store.MailboxGrant{})) {
			continue
		}
		add("user:"+us.ID, cmp.Or(us.Name, us.Email), false)
	}
	return out, nil
}

// settingsFromForm reads the settings form.
func settingsFromForm(r *http.Request) mail.MailboxSettings {
	on := func(name string) bool { return r.PostFormValue(name) != "" }
	return mail.MailboxSettings{FirstLoad: mail.Period(r.PostFormValue("first_load")), AutoLoad: on("auto_load"),
		AllFolders: r.PostFormValue("folders_mode") != "selected", Folders: r.PostForm["folders"],
		SendEnabled: on("send_enabled"), DefaultSender: on("default_sender"), Alias: r.PostFormValue("alias"),
		Signature: r.PostFormValue("signature"), SignatureEnabled: on("signature_enabled"), Shared: on("shared")}
}

func (u *UI) mailboxSave(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailboxSvc(w, r, c)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if isReview(r) {
		u.renderMailboxSettings(w, r, c, http.StatusOK, map[string]string{}, nil)
		return
	}
	s := settingsFromForm(r)
	if !r.PostForm.Has("shared_shown") {
		// The checkbox was not offered: keep the mailbox as it is.
		cur, err := m.Get(r.Context(), c.V, id)
		if err != nil {
			u.fail(w, r, c, err)
			return
		}
		s.Shared = cur.Shared
	}
	if _, err := m.UpdateSettings(r.Context(), c.V, id, s); err != nil {
		if fe, ok := formErrors(err); ok {
			u.renderMailboxSettings(w, r, c, http.StatusUnprocessableEntity, fe, nil)
			return
		}
		u.failMailbox(w, r, c, err)
		return
	}
	redirect(w, r, "/profile/mailboxes/"+id, Flash{Kind: FlashSuccess, Key: "flash.saved"})
}

func (u *UI) mailboxGrantsSave(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailboxSvc(w, r, c)
	if !ok {
		return
	}
	id := r.PathValue("id")
	byKey := map[string]*store.MailboxGrant{}
	var keys []string
	for _, right := range []string{"read", "send", "configure"} {
		for _, key := range r.PostForm[right] {
			kind, gid, _ := strings.Cut(key, ":")
			g := byKey[key]
			if g == nil {
				g = &store.MailboxGrant{GranteeKind: kind, GranteeID: gid}
				byKey[key] = g
				keys = append(keys, key)
			}
			switch right {
			case "read":
				g.Read = true
			case "send":
				g.Send = true
			case "configure":
				g.Configure = true
			}
		}
	}
	grants := make([]store.MailboxGrant, 0, len(keys))
	for _, k := range keys {
		grants = append(grants, *byKey[k])
	}
	err := m.SetGrants(r.Context(), c.V, id, grants)
	if err != nil {
		fe, ok := formErrors(err)
		if !ok && errors.Is(err, store.ErrNotFound) {
			if _, gerr := m.Get(r.Context(), c.V, id); gerr == nil {
				fe, ok = map[string]string{FormError: "error.not_found"}, true
			}
		}
		if ok {
			if fe[FormError] == "" {
				for _, k := range fe {
					fe[FormError] = k
					break
				}
			}
			u.renderMailboxSettings(w, r, c, http.StatusUnprocessableEntity, nil, fe)
			return
		}
		u.failMailbox(w, r, c, err)
		return
	}
	redirect(w, r, "/profile/mailboxes/"+id+"#grants", Flash{Kind: FlashSuccess, Key: "flash.mailbox_grants_saved"})
}

func (u *UI) mailboxLoad(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailboxSvc(w, r, c)
	if !ok {
		return
	}
	if _, err := m.LoadNow(r.Context(), c.V, r.PathValue("id")); err != nil {
		u.failMailbox(w, r, c, err)
		return
	}
	redirect(w, r, "/profile/mailboxes", Flash{Kind: FlashSuccess, Key: "flash.mailbox_loading"})
}

func (u *UI) mailboxDelete(w http.ResponseWriter, r *http.Request, c *Ctx) {
	m, ok := u.mailboxSvc(w, r, c)
	if !ok {
		return
	}
	id := r.PathValue("id")
	mb, err := m.Get(r.Context(), c.V, id)
	if err == nil {
		err = m.Delete(r.Context(), c.V, id)
	}
	if err != nil {
		u.failMailbox(w, r, c, err)
		return
	}
	redirect(w, r, "/profile/mailboxes", Flash{Kind: FlashSuccess, Key: "flash.mailbox_removed", Args: []any{mb.Address}})
}

// ---------- consent (OAuth 2.0 providers) ----------

// mailboxAddURL is the add form for an address (and a picked provider).
func mailboxAddURL(address, providerID string) string {
	q := url.Values{}
	if address != "" {
		q.Set("address", address)
	}
	if providerID != "" {
		q.Set("provider_id", providerID)
	}
	if len(q) == 0 {
		return "/profile/mailboxes/new"
	}
	return "/profile/mailboxes/new?" + q.Encode()
}

// mailboxConsent finishes adding a mailbox when the issuer sends the browser
// back from its consent (oauthCallback's part for mailboxes): the servers
// verify the login, as with a password, and a refusal says which server
// and why on the add form, in the issuer's words (issuerKey).
func (u *UI) mailboxConsent(w http.ResponseWriter, r *http.Request, c *Ctx, res *oauth.Result, issuer string) {
	m, ok := u.mailboxSvc(w, r, c)
	if !ok {
		return
	}
	address, provider := mail.OAuthTarget(res.Data)
	mb, err := m.CompleteOAuth(r.Context(), c.V, res)
	if err == nil {
		redirect(w, r, "/profile/mailboxes?added="+url.QueryEscape(mb.ID), Flash{Kind: FlashSuccess, Key: "flash.mailbox_added", Args: []any{mb.Address}})
		return
	}
	f := Flash{Kind: FlashError, Key: issuerKey(c, "mail.oauth.failed", issuer)}
	var ve *mail.VerifyError
	switch {
	case errors.As(err, &ve):
		f.Key, f.Args = issuerKey(c, ve.MessageKey(), issuer), []any{strings.ToUpper(string(ve.Protocol))}
	case errors.Is(err, mail.ErrOAuthOtherAccount):
		f.Key, f.Args = issuerKey(c, "mail.oauth.other_account", issuer), []any{res.Email, address}
	case errors.Is(err, mail.ErrOAuthScope):
		f.Key = issuerKey(c, "mail.oauth.scope_missing", issuer)
	default:
		if fe, ok := formErrors(err); ok && fe["shared"] != "" {
			f.Key = fe["shared"]
		} else {
			u.log.ErrorContext(r.Context(), "mailbox consent", "err", err)
		}
	}
	redirect(w, r, mailboxAddURL(address, provider), f)
}

// mailboxOAuthFailed tells the user why a mailbox's consent did not start
// or complete, back on the add form.
func (u *UI) mailboxOAuthFailed(w http.ResponseWriter, r *http.Request, c *Ctx, err error, address, provider string) {
	f := Flash{Kind: FlashError, Key: "oauth.error." + oauth.CodeFailed}
	var fe *oauth.FlowError
	if errors.As(err, &fe) {
		f.Key = "oauth.error." + fe.Code
		switch {
		case fe.Code == oauth.CodeAccessDenied:
			f.Key = "mail.oauth.consent_refused"
		case fe.Code == oauth.CodeProvider && fe.Detail != "":
			f.Key, f.Args = "oauth.error.provider_error_code", []any{fe.Detail}
		}
		f.Key = issuerKey(c, f.Key, fe.Issuer)
	}
	if fe == nil || fe.Code == oauth.CodeFailed || fe.Code == oauth.CodeNoRedirect {
		u.log.ErrorContext(r.Context(), "mailbox consent failed", "err", err)
	}
	redirect(w, r, mailboxAddURL(address, provider), f)
}

// issuerKey is key's wording for one issuer ("<key>.<issuer>") when the
// catalogue has it, key otherwise: the unsuffixed messages name the issuer
// sync accounts connect with.
func issuerKey(c *Ctx, key, issuer string) string {
	if issuer != "" && c.Lang.Has(key+"."+issuer) {
		return key + "." + issuer
	}
	return key
}
