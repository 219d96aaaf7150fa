package ui

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/store"
)

// The profile pages: the signed-in user's own name, language, time zone and
// password, their API tokens and their external accounts (connecting them
// over OAuth is in oauth.go).

// minUIPassword is the length asked of every new password; the catalogue's
// hint (profile.password.hint) and error (error.password_weak) promise it.
const minUIPassword = access.MinPasswordLen

// sectionTab is one tab of a section's tab bar (profile, administration).
type sectionTab struct {
	Href    string
	Label   string // catalogue key
	Current bool
}

func profileTabs(active string) []sectionTab {
	tabs := []sectionTab{
		{Href: "/profile", Label: "profile.personal.title"},
		{Href: "/profile/tokens", Label: "profile.tokens.title"},
		{Href: "/profile/accounts", Label: "profile.external.title"},
		{Href: "/profile/mailboxes", Label: "mailbox.title"},
	}
	for i := range tabs {
		tabs[i].Current = tabs[i].Href == active
	}
	return tabs
}

func (u *UI) profileRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /profile", u.authed(u.profilePage))
	mux.HandleFunc("POST /profile", u.authed(u.profileSave))
	mux.HandleFunc("POST /profile/password", u.authed(u.profilePassword))
	mux.HandleFunc("GET /profile/tokens", u.authed(u.profileTokens))
	mux.HandleFunc("POST /profile/tokens", u.authed(u.profileTokenCreate))
	mux.HandleFunc("POST /profile/tokens/{id}/delete", u.authed(u.profileTokenDelete))
	mux.HandleFunc("GET /profile/accounts", u.authed(u.profileAccounts))
	mux.HandleFunc("GET /profile/accounts/{id}", u.authed(u.profileAccount))
	mux.HandleFunc("POST /profile/accounts/{id}/delete", u.authed(u.profileAccountDelete))
	u.oauthRoutes(mux)
	u.connectPasswordRoutes(mux)
	u.mailboxRoutes(mux)
}

// profileView is the Data of profile/index.
type profileView struct {
	Tabs      []sectionTab
	Email     string
	Name      string
	Language  string
	TimeZone  string
	Languages []Option
	TimeZones []Option
}

func (u *UI) profilePage(w http.ResponseWriter, r *http.Request, c *Ctx) {
	user, err := u.st.GetUser(r.Context(), c.V.UserID)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.renderProfile(w, r, c, http.StatusOK, user, nil)
}

// renderProfile draws the profile page; with errs it is a failed submit,
// shown again with the posted values.
func (u *UI) renderProfile(w http.ResponseWriter, r *http.Request, c *Ctx, status int, user *access.User, errs map[string]string) {
	v := profileView{Tabs: profileTabs("/profile"), Email: user.Email, Name: user.Name, Language: user.Language, TimeZone: user.TimeZone}
	if errs != nil && r.PostForm.Has("time_zone") {
		v.Name, v.Language, v.TimeZone = r.PostFormValue("name"), r.PostFormValue("language"), r.PostFormValue("time_zone")
	}
	v.Languages = languageChoices()
	v.TimeZones = zoneChoices(v.TimeZone)
	p := c.Page(w, r, "profile", v)
	if errs != nil {
		p.Form, p.Errors = r.PostForm, errs
	}
	u.render(w, status, "profile/index", p)
}

func (u *UI) profileSave(w http.ResponseWriter, r *http.Request, c *Ctx) {
	user, err := u.st.GetUser(r.Context(), c.V.UserID)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		u.renderProfile(w, r, c, http.StatusUnprocessableEntity, user, map[string]string{"name": crm.ErrRequired})
		return
	}
	user.Name = name
	user.Language = r.PostFormValue("language")
	user.TimeZone = r.PostFormValue("time_zone")
	user.RoleIDs, user.Ops = nil, nil // not the user's to change
	if err := u.st.UpdateUser(r.Context(), user); err != nil {
		if fe, ok := formErrors(err); ok {
			u.renderProfile(w, r, c, http.StatusUnprocessableEntity, user, fe)
			return
		}
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/profile", Flash{Kind: FlashSuccess, Key: "flash.saved"})
}

// checkNewPassword validates a new password and its confirmation (when
// confirmField is set), adding errors to fe.
func checkNewPassword(fe crm.FieldErrors, field, password, confirmField, confirm string) {
	switch {
	case password == "":
		fe.Add(field, crm.ErrRequired)
	case len([]rune(password)) < minUIPassword || len(password) > 1024:
		fe.Add(field, "error.password_weak")
	case confirmField != "" && password != confirm:
		fe.Add(confirmField, "error.password_mismatch")
	}
}

func (u *UI) profilePassword(w http.ResponseWriter, r *http.Request, c *Ctx) {
	current := r.PostFormValue("current_password")
	fe := crm.FieldErrors{}
	if current == "" {
		fe.Add("current_password", crm.ErrRequired)
	}
	checkNewPassword(fe, "new_password", r.PostFormValue("new_password"), "confirm_password", r.PostFormValue("confirm_password"))
	if len(fe) == 0 {
		_, err := u.st.Authenticate(r.Context(), c.V.Email, current)
		switch {
		case errors.Is(err, access.ErrPassword):
			fe.Add("current_password", "error.wrong_password")
		case err != nil:
			u.fail(w, r, c, err)
			return
		}
	}
	if len(fe) > 0 {
		user, err := u.st.GetUser(r.Context(), c.V.UserID)
		if err != nil {
			u.fail(w, r, c, err)
			return
		}
		u.renderProfile(w, r, c, http.StatusUnprocessableEntity, user, fe)
		return
	}
	if err := u.st.SetPassword(r.Context(), c.V.UserID, r.PostFormValue("new_password")); err != nil {
		u.fail(w, r, c, err)
		return
	}
	// SetPassword ended every session, this one too, so that a stolen
	// session dies with the old password; this browser signs in again.
	if _, err := u.auth.Login(w, r, c.V.UserID); err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/profile", Flash{Kind: FlashSuccess, Key: "flash.password_changed"})
}

// tokensView is the Data of profile/tokens and profile/token_created.
type tokensView struct {
	Tabs    []sectionTab
	Tokens  []access.APIToken
	Expiry  []Option
	Secret  string // only on token_created
	Created *access.APIToken
}

// tokenExpiry are the lifetimes offered for a new token, in days ("" never).
var tokenExpiry = []string{"30", "90", "365", ""}

func tokenExpiryOptions() []Option {
	out := make([]Option, len(tokenExpiry))
	for i, d := range tokenExpiry {
		out[i] = Option{Value: d, Key: "profile.tokens.expiry." + cmp.Or(d, "never")}
	}
	return out
}

func (u *UI) profileTokens(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.renderTokens(w, r, c, http.StatusOK, nil)
}

func (u *UI) renderTokens(w http.ResponseWriter, r *http.Request, c *Ctx, status int, errs map[string]string) {
	ts, err := u.st.ListAPITokens(r.Context(), c.V.UserID)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	p := c.Page(w, r, "profile", tokensView{Tabs: profileTabs("/profile/tokens"), Tokens: ts, Expiry: tokenExpiryOptions()})
	if errs != nil {
		p.Form, p.Errors = r.PostForm, errs
	}
	u.render(w, status, "profile/tokens", p)
}

func (u *UI) profileTokenCreate(w http.ResponseWriter, r *http.Request, c *Ctx) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	exp := r.PostFormValue("expires")
	if !slices.Contains(tokenExpiry, exp) {
		u.renderTokens(w, r, c, http.StatusUnprocessableEntity, map[string]string{"expires": crm.ErrUnknownEnum})
		return
	}
	if name == "" {
		u.renderTokens(w, r, c, http.StatusUnprocessableEntity, map[string]string{"name": crm.ErrRequired})
		return
	}
	var expires int64
	if exp != "" {
		days, _ := strconv.Atoi(exp)
		expires = crm.Micros(time.Now().AddDate(0, 0, days))
	}
	secret, tok, err := u.st.CreateAPIToken(r.Context(), c.V.UserID, name, expires)
	if err != nil {
		if fe, ok := formErrors(err); ok {
			u.renderTokens(w, r, c, http.StatusUnprocessableEntity, fe)
			return
		}
		u.fail(w, r, c, err)
		return
	}
	// The secret is shown on this answer only: it is stored hashed and is
	// never put in a redirect, cookie or log.
	p := c.Page(w, r, "profile", tokensView{Tabs: profileTabs("/profile/tokens"), Secret: secret, Created: tok})
	u.render(w, http.StatusOK, "profile/token_created", p)
}

func (u *UI) profileTokenDelete(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if err := u.st.DeleteAPIToken(r.Context(), c.V.UserID, r.PathValue("id")); err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/profile/tokens", Flash{Kind: FlashSuccess, Key: "flash.token_revoked"})
}

// connectionView is one external account on profile/accounts and
// profile/account.
type connectionView struct {
	ID           string
	ProviderCode string
	Provider     string // translated, or the raw code of an unknown provider
	AccountEmail string
	DisplayName  string
	Status       string // a safe CSS suffix: conn-<Status>
	StatusLabel  string
	StatusReason string
	LastSync     time.Time // zero: never
	Connected    time.Time
	NeedsReauth  bool
	CanReconnect bool   // the provider's flow can be started again (login hint: the address)
	ConnectPath  string // where that flow starts (POST, field "connection")
	// ReconnectLink, instead, is a page that asks the new password (GET).
	ReconnectLink string
	Scopes        []Option // granted permissions: Key for known ones, Label for others
}

type accountsView struct {
	Tabs        []sectionTab
	Connections []connectionView
	Connect     []connectSetup // providers whose accounts users add here
}

var cssWord = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

func (u *UI) profileAccounts(w http.ResponseWriter, r *http.Request, c *Ctx) {
	cs, err := u.st.ListConnections(r.Context(), c.V.UserID)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v := accountsView{Tabs: profileTabs("/profile/accounts"), Connections: make([]connectionView, 0, len(cs)),
		Connect: u.connectSetups(r.Context(), c)}
	for _, cn := range cs {
		v.Connections = append(v.Connections, u.connectionFor(c.Lang, cn))
	}
	u.render(w, http.StatusOK, "profile/accounts", c.Page(w, r, "profile", v))
}

func (u *UI) connectionFor(l i18n.Lang, cn store.Connection) connectionView {
	cv := connectionView{ID: cn.ID, ProviderCode: cn.Provider, AccountEmail: cn.AccountEmail, DisplayName: cn.DisplayName,
		StatusReason: cn.StatusReason, Provider: u.providerName(l, cn.Provider), Status: string(cn.Status),
		StatusLabel: l.T("connection.status." + string(cn.Status)),
		NeedsReauth: cn.Status == store.ConnectionNeedsReauth, Connected: crm.FromMicros(cn.CreatedAt)}
	if cn.LastSyncAt > 0 {
		cv.LastSync = crm.FromMicros(cn.LastSyncAt)
	}
	p, _ := u.providers.Get(cn.Provider)
	if rc, ok := p.(provider.Reconnector); ok {
		cv.CanReconnect, cv.ConnectPath = true, rc.ConnectPath()
	}
	if _, ok := p.(provider.PasswordAccounts); ok {
		cv.CanReconnect, cv.ReconnectLink = true, connectPasswordPath(cn.Provider)+"?connection="+url.QueryEscape(cn.ID)
	}
	names, _ := p.(provider.ScopeNamer)
	for _, sc := range strings.Fields(cn.Scopes) {
		if names != nil {
			if key, ok := names.ScopeKey(sc); ok {
				if key != "" {
					cv.Scopes = append(cv.Scopes, Option{Value: sc, Key: key})
				}
				continue
			}
		}
		cv.Scopes = append(cv.Scopes, Option{Value: sc, Label: sc})
	}
	return cv
}

// providerName is a provider's name as users see it: the catalogue's
// (provider.<code>, also for providers to come), else the registered
// provider's display name, else the code.
func (u *UI) providerName(l i18n.Lang, code string) string {
	if key := "provider." + code; l.Has(key) {
		return l.T(key)
	}
	if p, err := u.providers.Get(code); err == nil {
		return p.DisplayName()
	}
	return code
}

// accountView is the Data of profile/account: one connection. The sync
// engine's settings for it join this page.
type accountView struct {
	Tabs         []sectionTab
	Connection   connectionView
	ContactSync  contactSyncView
	CalendarSync calendarSyncView
	TaskSync     taskSyncView
	// SyncEvents is the event stream of a run the page follows live
	// ("Run sync now" adds ?run=<job>).
	SyncEvents string
}

func (u *UI) profileAccount(w http.ResponseWriter, r *http.Request, c *Ctx) {
	cn, err := u.st.GetUserConnection(r.Context(), c.V.UserID, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.renderAccount(w, r, c, cn, http.StatusOK, nil)
}

// renderAccount draws a connection's page; edit adjusts the contact sync
// card (errors, a preview) before drawing.
func (u *UI) renderAccount(w http.ResponseWriter, r *http.Request, c *Ctx, cn *store.Connection, status int, edit func(*contactSyncView)) {
	u.renderAccountWith(w, r, c, cn, status, edit, nil)
}

// renderAccountWith also lets the calendar card be adjusted.
func (u *UI) renderAccountWith(w http.ResponseWriter, r *http.Request, c *Ctx, cn *store.Connection, status int,
	editContacts func(*contactSyncView), editCalendar func(*calendarSyncView)) {
	u.renderAccountEdit(w, r, c, cn, status, accountEdits{contacts: editContacts, calendar: editCalendar})
}

// accountEdits adjust the sync cards of a connection's page before it is
// drawn (errors, a preview); nil leaves a card as it is.
type accountEdits struct {
	contacts func(*contactSyncView)
	calendar func(*calendarSyncView)
	tasks    func(*taskSyncView)
}

// renderAccountEdit draws a connection's page: a card for each kind the
// connection's provider syncs, adjusted by edit.
func (u *UI) renderAccountEdit(w http.ResponseWriter, r *http.Request, c *Ctx, cn *store.Connection, status int, edit accountEdits) {
	v := accountView{Tabs: profileTabs("/profile/accounts"), Connection: u.connectionFor(c.Lang, *cn)}
	if u.sync != nil {
		states, err := u.sync.Bindings(r.Context(), cn.ID)
		if err != nil {
			u.log.ErrorContext(r.Context(), "sync bindings", "connection", cn.ID, "err", err)
		}
		for _, st := range states {
			switch st.Kind.Kind {
			case provider.Contact:
				v.ContactSync = u.contactSyncView(r.Context(), c, st)
			case provider.Event:
				v.CalendarSync = u.calendarSyncView(r.Context(), cn.ID, st)
			case provider.Task:
				v.TaskSync = u.taskSyncView(r.Context(), cn.ID, st)
			}
		}
	}
	if job, err := strconv.ParseInt(r.URL.Query().Get("run"), 10, 64); err == nil && job > 0 && u.jobs != nil {
		v.SyncEvents = "/profile/accounts/" + cn.ID + "/sync/events?job=" + strconv.FormatInt(job, 10)
	}
	if edit.contacts != nil && v.ContactSync.Available {
		edit.contacts(&v.ContactSync)
	}
	if edit.calendar != nil && v.CalendarSync.Available {
		edit.calendar(&v.CalendarSync)
	}
	if edit.tasks != nil && v.TaskSync.Available {
		edit.tasks(&v.TaskSync)
	}
	u.render(w, status, "profile/account", c.Page(w, r, "profile", v))
}

// profileAccountDelete removes a connection: its sync bindings and links go
// with it, the CRM records it synced stay.
func (u *UI) profileAccountDelete(w http.ResponseWriter, r *http.Request, c *Ctx) {
	cn, err := u.st.GetUserConnection(r.Context(), c.V.UserID, r.PathValue("id"))
	if err == nil {
		err = u.st.DeleteConnection(r.Context(), c.V.UserID, cn.ID)
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/profile/accounts", Flash{Kind: FlashSuccess, Key: "flash.connection_removed", Args: []any{cmp.Or(cn.AccountEmail, cn.DisplayName, cn.Provider)}})
}

// languageChoices are the interface languages a user may pick; "" follows
// the browser.
func languageChoices() []Option {
	out := []Option{{Value: "", Key: "profile.language.browser"}}
	for _, l := range i18n.Supported() {
		out = append(out, Option{Value: l.String(), Label: l.Name()})
	}
	return out
}

// commonZones are the time zones offered in selects: every Russian zone and
// the main ones elsewhere. A user's zone outside the list is added to it.
var commonZones = []string{
	"UTC",
	"Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Europe/Volgograd", "Asia/Yekaterinburg", "Asia/Omsk",
	"Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok", "Asia/Magadan",
	"Asia/Kamchatka",
	"Europe/London", "Europe/Lisbon", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Rome", "Europe/Amsterdam",
	"Europe/Warsaw", "Europe/Prague", "Europe/Vienna", "Europe/Stockholm", "Europe/Helsinki", "Europe/Riga",
	"Europe/Vilnius", "Europe/Tallinn", "Europe/Kyiv", "Europe/Minsk", "Europe/Chisinau", "Europe/Athens",
	"Europe/Bucharest", "Europe/Sofia", "Europe/Istanbul", "Europe/Belgrade",
	"Asia/Tbilisi", "Asia/Yerevan", "Asia/Baku", "Asia/Almaty", "Asia/Tashkent", "Asia/Bishkek", "Asia/Dushanbe",
	"Asia/Ashgabat", "Asia/Dubai", "Asia/Jerusalem", "Asia/Kolkata", "Asia/Bangkok", "Asia/Shanghai",
	"Asia/Hong_Kong", "Asia/Singapore", "Asia/Tokyo", "Asia/Seoul", "Australia/Perth", "Australia/Sydney",
	"Pacific/Auckland", "Africa/Cairo", "Africa/Johannesburg", "Africa/Lagos",
	"America/St_Johns", "America/Halifax", "America/New_York", "America/Chicago", "America/Denver",
	"America/Phoenix", "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Mexico_City",
	"America/Bogota", "America/Lima", "America/Santiago", "America/Sao_Paulo", "America/Argentina/Buenos_Aires",
}

// zoneChoices lists the time zones for a select, ordered by their offset
// now, labelled "(UTC+03:00) Europe/Moscow"; current is included even when
// it is not one of commonZones.
func zoneChoices(current string) []Option {
	names := slices.Clone(commonZones)
	if current != "" && !slices.Contains(names, current) {
		if _, err := time.LoadLocation(current); err == nil {
			names = append(names, current)
		}
	}
	type zone struct {
		name   string
		offset int
	}
	now := time.Now()
	zones := make([]zone, 0, len(names))
	for _, n := range names {
		loc, err := time.LoadLocation(n)
		if err != nil {
			continue // a host without this zone in its tzdata
		}
		_, off := now.In(loc).Zone()
		zones = append(zones, zone{n, off})
	}
	slices.SortStableFunc(zones, func(a, b zone) int {
		if a.offset != b.offset {
			return a.offset - b.offset
		}
		return strings.Compare(a.name, b.name)
	})
	out := make([]Option, len(zones))
	for i, z := range zones {
		sign, off := '+', z.offset
		if off < 0 {
			sign, off = '-', -off
		}
		out[i] = Option{Value: z.name, Label: fmt.Sprintf("(UTC%c%02d:%02d) %s", sign, off/3600, off%3600/60, strings.ReplaceAll(z.name, "_", " "))}
	}
	return out
}
