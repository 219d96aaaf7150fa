package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
)

// The administration pages (SPEC §1): system settings with the OAuth app
// registration box, users, roles, the operations matrix and the job queue.
// Every page is for holders of CanManageAdministration.

// OAuth app registration (SPEC §1): the redirect paths, appended to SiteUrl,
// and the scopes an administrator registers. Registered providers with an
// OAuth app (provider.OAuthApp) say theirs; Microsoft Entra's is here
// until Microsoft is a provider: package oauth's callback and the scopes
// of its mailboxes (IMAP and SMTP, with the identity ones) are used now,
// Graph's by the sync to come.
var (
	MicrosoftRedirectPath = oauth.MicrosoftCallbackPath
	MicrosoftScopes       = append(append([]string{
		"User.Read", "Mail.ReadWrite", "Mail.Send",
		"Contacts.ReadWrite", "Calendars.ReadWrite", "Tasks.ReadWrite",
	}, oauth.MicrosoftMailScopes...), oauth.MicrosoftIdentityScopes...)
)

// maxSettingsBody bounds a settings form post. It is well above the largest
// file setting, so a too large file gets a friendly field error.
const maxSettingsBody = 8 << 20

func (u *UI) adminRoutes(mux *http.ServeMux) {
	a := u.admin
	mux.HandleFunc("GET /admin", a(u.adminOverview))
	mux.HandleFunc("GET /admin/{$}", a(u.adminOverview))
	mux.HandleFunc("GET /admin/settings", a(u.adminSettings))
	mux.HandleFunc("POST /admin/settings", limitBody(maxSettingsBody, a(u.adminSettingsSave)))
	mux.HandleFunc("GET /admin/settings/{code}/file", a(u.adminSettingFile))
	mux.HandleFunc("GET /admin/users", a(u.adminUsers))
	mux.HandleFunc("GET /admin/users/new", a(u.adminUserNew))
	mux.HandleFunc("POST /admin/users/new", a(u.adminUserCreate))
	mux.HandleFunc("GET /admin/users/{id}", a(u.adminUserEdit))
	mux.HandleFunc("POST /admin/users/{id}", a(u.adminUserSave))
	mux.HandleFunc("GET /admin/roles", a(u.adminRoles))
	mux.HandleFunc("GET /admin/roles/new", a(u.adminRoleNew))
	mux.HandleFunc("POST /admin/roles/new", a(u.adminRoleCreate))
	mux.HandleFunc("GET /admin/roles/{id}", a(u.adminRoleEdit))
	mux.HandleFunc("POST /admin/roles/{id}", a(u.adminRoleSave))
	mux.HandleFunc("POST /admin/roles/{id}/delete", a(u.adminRoleDelete))
	mux.HandleFunc("GET /admin/operations", a(u.adminOperations))
	mux.HandleFunc("GET /admin/jobs", a(u.adminJobs))
	mux.HandleFunc("POST /admin/jobs/{id}/cancel", a(u.adminJobCancel))
	mux.HandleFunc("POST /admin/jobs/{id}/retry", a(u.adminJobRetry))
	mux.HandleFunc("GET /admin/login-failures", a(u.adminLoginFailures))
}

func limitBody(n int64, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, n)
		h(w, r)
	}
}

func adminTabs(active string) []sectionTab {
	tabs := []sectionTab{
		{Href: "/admin", Label: "common.overview"},
		{Href: "/admin/settings", Label: "admin.settings.title"},
		{Href: "/admin/users", Label: "admin.users.title"},
		{Href: "/admin/roles", Label: "admin.roles.title"},
		{Href: "/admin/operations", Label: "admin.operations.title"},
		{Href: "/admin/mail/providers", Label: "admin.mail_providers.title"},
		{Href: "/admin/mail/domains", Label: "admin.mail_domains.title"},
		{Href: "/admin/jobs", Label: "admin.jobs.title"},
		{Href: "/admin/login-failures", Label: "admin.login_failures.title"},
	}
	for i := range tabs {
		tabs[i].Current = tabs[i].Href == active
	}
	return tabs
}

// ---------- overview ----------

type adminOverviewView struct {
	Tabs          []sectionTab
	Users, Roles  int
	Admins        int
	JobsAvailable bool
	FailedJobs    int  // discarded jobs on the first page
	FailedMore    bool // there are more than FailedJobs
	SiteURLUnset  bool
}

func (u *UI) adminOverview(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	dir, err := u.loadDirectory(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v := adminOverviewView{Tabs: adminTabs("/admin"), Users: len(dir.users), Roles: len(dir.roles), JobsAvailable: u.jobs != nil}
	for _, usr := range dir.users {
		if dir.effective(usr)[access.OpManageAdministration] {
			v.Admins++
		}
	}
	if site, err := u.set.Get(ctx, "SiteUrl"); err == nil && site == "" {
		v.SiteURLUnset = true
	}
	if u.jobs != nil {
		js, next, err := u.jobs.List(ctx, jobs.Filter{State: jobs.StateDiscarded, Limit: 100})
		if err == nil {
			v.FailedJobs, v.FailedMore = len(js), next != ""
		}
	}
	u.render(w, http.StatusOK, "admin/index", c.Page(w, r, "admin", v))
}

// ---------- settings ----------

// settingField is one setting on the settings page. Value never holds a
// secret: secrets show Masked only.
type settingField struct {
	Code      string
	Type      string
	Value     string // the input's value (not for secrets and files)
	Checked   bool   // bool settings
	Masked    string // secrets: the masked stored value; files: the file name
	IsSet     bool
	Default   string
	Min       int
	Max       int
	Options   []Option
	Accept    string
	MaxSizeMB float64
	FileURL   string // files: where the stored file is served
	MaxLen    int    // text, URL and secret inputs
	// Retype says a secret or file the admin gave in a save that failed
	// was not kept: the page never echoes a secret, nor can it keep a file.
	Retype bool
}

type settingGroup struct {
	Name    string
	Fields  []settingField
	Warning string              // catalogue key of a notice about the group's values
	Push    *provider.PushState // a provider's group: set while its push is off
}

type oauthBox struct {
	Provider    string // catalogue key
	RedirectURI string // "" while SiteUrl is unset
	Scopes      []string
	ScopeList   string // space-separated, as consoles accept them
	ConsoleURL  string
}

type settingsView struct {
	Tabs    []sectionTab
	Groups  []settingGroup
	SiteURL string
	OAuth   []oauthBox
	Files   bool // some setting is a file: the form is multipart
}

// redirectURI is <SiteUrl><path>, "" while SiteUrl is unset.
func redirectURI(siteURL, path string) string {
	if siteURL == "" {
		return ""
	}
	return siteURL + path
}

func (u *UI) adminSettings(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.renderSettings(w, r, c, http.StatusOK, nil)
}

// renderSettings draws the settings page: one form for every group, so
// that one save keeps all of them. After a failed save, errs holds the
// field errors and every posted field shows what was posted; nothing was
// stored.
func (u *UI) renderSettings(w http.ResponseWriter, r *http.Request, c *Ctx, status int, errs map[string]string) {
	ctx := r.Context()
	entries, err := u.set.List(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v := settingsView{Tabs: adminTabs("/admin/settings")}
	byGroup := map[string]*settingGroup{}
	for _, g := range settings.Groups() {
		v.Groups = append(v.Groups, settingGroup{Name: g})
	}
	for i := range v.Groups {
		byGroup[v.Groups[i].Name] = &v.Groups[i]
	}
	values := map[string]string{}
	for _, e := range entries {
		values[e.Code] = e.Value
		f := settingField{Code: e.Code, Type: e.Type, IsSet: e.IsSet, Default: e.Default, Min: e.Min, Max: e.Max,
			Accept: e.Accept, MaxSizeMB: float64(e.MaxSize) / (1 << 20), MaxLen: settings.MaxTextLen}
		switch e.Type {
		case settings.TypeSecret:
			f.Masked = e.Value
		case settings.TypeFile:
			if e.IsSet {
				f.Masked = e.Value
				f.FileURL = u.settingFileURL(ctx, e.Code)
			}
		case settings.TypeBool:
			f.Checked, _ = strconv.ParseBool(e.Value)
		default:
			f.Value = e.Value
		}
		for _, o := range e.Options {
			f.Options = append(f.Options, Option{Value: o, Key: "setting." + e.Code + "." + o})
		}
		if errs != nil && posted(r, e.Code) {
			// Show what was submitted, so a typo can be corrected.
			switch e.Type {
			case settings.TypeBool:
				f.Checked = checked(r, e.Code)
			case settings.TypeSecret:
				f.Retype = errs[e.Code] == "" && strings.TrimSpace(r.PostFormValue(e.Code)) != ""
			case settings.TypeFile:
				f.Retype = errs[e.Code] == "" && uploaded(r, e.Code)
			default:
				f.Value = r.PostFormValue(e.Code)
			}
		}
		g := byGroup[e.Group]
		g.Fields = append(g.Fields, f)
		if e.Type == settings.TypeFile {
			v.Files = true
		}
	}
	v.SiteURL = strings.TrimRight(values["SiteUrl"], "/")
	for _, p := range u.providers.All() {
		if n, ok := p.(provider.SettingsNotices); ok {
			if g := byGroup[n.SettingsGroup()]; g != nil {
				g.Warning, g.Push = n.SettingsNotice(values)
			}
		}
		if a, ok := p.(provider.OAuthApp); ok {
			reg := a.OAuthRegistration()
			v.OAuth = append(v.OAuth, oauthBox{Provider: "provider." + p.Name(), Scopes: reg.Scopes,
				ConsoleURL: reg.ConsoleURL, RedirectURI: redirectURI(v.SiteURL, reg.CallbackPath)})
		}
	}
	v.OAuth = append(v.OAuth, oauthBox{Provider: "provider.microsoft", Scopes: MicrosoftScopes,
		ConsoleURL:  "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationsListBlade",
		RedirectURI: redirectURI(v.SiteURL, MicrosoftRedirectPath)})
	for i := range v.OAuth {
		v.OAuth[i].ScopeList = strings.Join(v.OAuth[i].Scopes, " ")
	}
	p := c.Page(w, r, "admin", v)
	if errs != nil {
		p.Errors = errs
	}
	if r.Method == http.MethodPost && isReview(r) {
		p.Flash = append(p.Flash, Flash{Kind: FlashWarning, Key: "resume.check_and_save"})
	}
	u.render(w, status, "admin/settings", p)
}

// settingFileURL is the address of a file setting's content, versioned by
// its hash so a new upload is never served from a cache.
func (u *UI) settingFileURL(ctx context.Context, code string) string {
	raw, err := u.set.Get(ctx, code)
	if err != nil || raw == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(raw))
	return "/admin/settings/" + code + "/file?v=" + hex.EncodeToString(sum[:6])
}

// settingChange is one value to store; "" resets to the default.
type settingChange struct{ code, raw string }

// posted reports whether the settings form carried a setting at all. Only
// those are saved: a post that leaves one out changes nothing of it. A
// checkbox is sent only when ticked, so the form pairs each with a hidden
// input of the same name.
func posted(r *http.Request, code string) bool {
	if r.PostForm.Has(code) || r.PostForm.Has(code+"_clear") {
		return true
	}
	return uploaded(r, code)
}

// checked reads a checkbox sent with its hidden partner: ticked when one of
// the values is set.
func checked(r *http.Request, code string) bool {
	return slices.ContainsFunc(r.PostForm[code], func(v string) bool { return v != "" && v != "0" })
}

func uploaded(r *http.Request, code string) bool {
	return r.MultipartForm != nil && len(r.MultipartForm.File[code]) > 0 && r.MultipartForm.File[code][0].Size > 0
}

// adminSettingsSave stores every setting the form carries, all or nothing:
// with one bad value none is stored, and the page comes back with all that
// was typed.
func (u *UI) adminSettingsSave(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	if err := r.ParseMultipartForm(maxSettingsBody); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		u.errorPage(w, r, c, http.StatusBadRequest)
		return
	}
	if isReview(r) { // a form kept over a sign-in: shown filled in, not saved
		u.renderSettings(w, r, c, http.StatusOK, map[string]string{})
		return
	}
	entries, err := u.set.List(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	current := map[string]settings.Entry{}
	for _, e := range entries {
		current[e.Code] = e
	}
	errs := map[string]string{}
	var changes []settingChange
	for _, d := range settings.Registry {
		if !posted(r, d.Code) {
			continue
		}
		e := current[d.Code]
		clear := r.PostFormValue(d.Code+"_clear") != ""
		switch d.Type {
		case settings.TypeSecret:
			raw := strings.TrimSpace(r.PostFormValue(d.Code))
			switch {
			case clear:
				if e.IsSet {
					changes = append(changes, settingChange{d.Code, ""})
				}
			case raw != "": // empty keeps the stored secret
				if _, key := d.Normalize(raw); key != "" {
					errs[d.Code] = key
				} else {
					changes = append(changes, settingChange{d.Code, raw})
				}
			}
		case settings.TypeFile:
			if clear {
				if e.IsSet {
					changes = append(changes, settingChange{d.Code, ""})
				}
				continue
			}
			raw, key := uploadedSetting(r, d)
			switch {
			case key != "":
				errs[d.Code] = key
			case raw != "":
				changes = append(changes, settingChange{d.Code, raw})
			}
		case settings.TypeBool:
			val := strconv.FormatBool(checked(r, d.Code))
			if val != e.Value {
				changes = append(changes, settingChange{d.Code, val})
			}
		default:
			raw := strings.TrimSpace(r.PostFormValue(d.Code))
			if raw == "" {
				if e.IsSet {
					changes = append(changes, settingChange{d.Code, ""})
				}
				continue
			}
			norm, key := d.Normalize(raw)
			switch {
			case key != "":
				errs[d.Code] = key
			case norm == e.Value: // unchanged (a default stays a default)
			default:
				changes = append(changes, settingChange{d.Code, raw})
			}
		}
	}
	if len(errs) > 0 {
		u.renderSettings(w, r, c, http.StatusUnprocessableEntity, errs)
		return
	}
	for _, ch := range changes {
		if err := u.set.Put(ctx, ch.code, ch.raw, c.V.UserID); err != nil {
			var ie *settings.InvalidError
			if errors.As(err, &ie) {
				u.renderSettings(w, r, c, http.StatusUnprocessableEntity, map[string]string{ch.code: ie.Key})
				return
			}
			u.fail(w, r, c, err)
			return
		}
	}
	redirect(w, r, "/admin/settings", Flash{Kind: FlashSuccess, Key: "flash.saved"})
}

// uploadedSetting reads a file setting's upload: "" when none was chosen,
// else the raw value to store, or an error key.
func uploadedSetting(r *http.Request, d settings.Def) (raw, errKey string) {
	file, hdr, err := r.FormFile(d.Code)
	if errors.Is(err, http.ErrMissingFile) || errors.Is(err, http.ErrNotMultipart) {
		return "", ""
	}
	if err != nil {
		return "", "error.invalid"
	}
	defer file.Close()
	if hdr.Size > int64(d.MaxSize) {
		return "", "error.too_large"
	}
	data, err := io.ReadAll(io.LimitReader(file, int64(d.MaxSize)+1))
	if err != nil {
		return "", "error.invalid"
	}
	if len(data) > d.MaxSize {
		return "", "error.too_large"
	}
	if len(data) == 0 {
		return "", "error.invalid"
	}
	if !acceptedType(hdr, data, d.Accept) {
		return "", "error.wrong_file_type"
	}
	mt, _, _ := mime.ParseMediaType(hdr.Header.Get("Content-Type"))
	name := strings.TrimSpace(filepath.Base(strings.ReplaceAll(hdr.Filename, "\\", "/")))
	if name == "" || name == "." || name == "/" || !utf8.ValidString(name) {
		name = "upload"
	}
	if r := []rune(name); len(r) > 200 {
		name = string(r[len(r)-200:])
	}
	raw = settings.EncodeFile(name, mt, data)
	if _, key := d.Normalize(raw); key != "" {
		return "", key
	}
	return raw, ""
}

// acceptedType checks an upload's declared type against accept (a prefix
// such as "audio/") and that its bytes are not plainly something else: no
// audio file sniffs as text, HTML or an image.
func acceptedType(hdr *multipart.FileHeader, data []byte, accept string) bool {
	mt, _, err := mime.ParseMediaType(hdr.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, accept) {
		return false
	}
	sniffed := http.DetectContentType(data)
	for _, bad := range []string{"text/", "image/", "application/pdf", "application/zip", "application/x-gzip"} {
		if strings.HasPrefix(sniffed, bad) {
			return false
		}
	}
	return true
}

// adminSettingFile serves a file setting (the notification sound preview).
func (u *UI) adminSettingFile(w http.ResponseWriter, r *http.Request, c *Ctx) {
	d, ok := settings.Lookup(r.PathValue("code"))
	if !ok || d.Type != settings.TypeFile {
		u.errorPage(w, r, c, http.StatusNotFound)
		return
	}
	raw, err := u.set.Get(r.Context(), d.Code)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	f, err := settings.DecodeFile(raw)
	if raw == "" || err != nil {
		u.errorPage(w, r, c, http.StatusNotFound)
		return
	}
	ct, _, err := mime.ParseMediaType(f.ContentType)
	if err != nil || !strings.HasPrefix(ct, d.Accept) {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": f.Name}))
	h.Set("Cache-Control", "private, max-age=86400") // the URL carries the content's hash
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.Data))
}

// ---------- users, roles, operations ----------

// directory is every user (with roles and direct operations) and role; the
// users, roles and operations pages all need the whole picture, and users
// and roles are few.
type directory struct {
	users []*access.User
	roles []*access.Role
	role  map[string]*access.Role
}

func (u *UI) loadDirectory(ctx context.Context) (*directory, error) {
	list, err := u.st.ListUsers(ctx, "")
	if err != nil {
		return nil, err
	}
	d := &directory{role: map[string]*access.Role{}}
	for _, usr := range list {
		full, err := u.st.GetUser(ctx, usr.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		d.users = append(d.users, full)
	}
	if d.roles, err = u.st.ListRoles(ctx); err != nil {
		return nil, err
	}
	for _, rl := range d.roles {
		d.role[rl.ID] = rl
	}
	return d, nil
}

// effective is the set of operations a user holds, directly or by role.
func (d *directory) effective(usr *access.User) map[string]bool {
	return effectiveOps(usr.Ops, usr.RoleIDs, d.role)
}

func effectiveOps(direct, roleIDs []string, roles map[string]*access.Role) map[string]bool {
	out := map[string]bool{}
	for _, op := range direct {
		out[op] = true
	}
	for _, id := range roleIDs {
		if rl := roles[id]; rl != nil {
			for _, op := range rl.Ops {
				out[op] = true
			}
		}
	}
	return out
}

type ref struct{ ID, Name string }

type userRow struct {
	User    *access.User
	Roles   []ref
	IsAdmin bool
}

type usersView struct {
	Tabs  []sectionTab
	Rows  []userRow
	Query string
}

func (u *UI) adminUsers(w http.ResponseWriter, r *http.Request, c *Ctx) {
	dir, err := u.loadDirectory(r.Context())
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	fq := crm.Fold(q)
	v := usersView{Tabs: adminTabs("/admin/users"), Query: q, Rows: []userRow{}}
	for _, usr := range dir.users {
		if fq != "" && !strings.Contains(crm.Fold(usr.Name+" "+usr.Email), fq) {
			continue
		}
		row := userRow{User: usr, IsAdmin: dir.effective(usr)[access.OpManageAdministration]}
		for _, id := range usr.RoleIDs {
			if rl := dir.role[id]; rl != nil {
				row.Roles = append(row.Roles, ref{rl.ID, rl.Name})
			}
		}
		v.Rows = append(v.Rows, row)
	}
	u.render(w, http.StatusOK, "admin/users", c.Page(w, r, "admin", v))
}

// checkItem is one checkbox of a list (roles, operations).
type checkItem struct {
	Value   string
	Label   string // literal text
	Key     string // catalogue key, used when set
	Help    string // catalogue key
	Checked bool
	Via     []string // role names that also grant this operation
}

type userFormView struct {
	ID        string // "" for a new user
	IsSelf    bool
	Name      string
	Email     string
	Language  string
	TimeZone  string
	Active    bool
	Created   time.Time
	Roles     []checkItem
	Ops       []checkItem
	Languages []Option
	TimeZones []Option
}

func (u *UI) adminUserNew(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.renderUserForm(w, r, c, http.StatusOK, &access.User{Active: true, TimeZone: c.V.TZ}, nil)
}

func (u *UI) adminUserEdit(w http.ResponseWriter, r *http.Request, c *Ctx) {
	usr, err := u.st.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.renderUserForm(w, r, c, http.StatusOK, usr, nil)
}

// renderUserForm draws the new/edit user page from usr (already holding
// the posted values after a failed save, with errs).
func (u *UI) renderUserForm(w http.ResponseWriter, r *http.Request, c *Ctx, status int, usr *access.User, errs map[string]string) {
	ctx := r.Context()
	roles, err := u.st.ListRoles(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v := userFormView{ID: usr.ID, IsSelf: usr.ID != "" && usr.ID == c.V.UserID,
		Name: usr.Name, Email: usr.Email, Language: usr.Language, TimeZone: usr.TimeZone, Active: usr.Active,
		Created: usr.CreatedAt, Languages: languageChoices(), TimeZones: zoneChoices(usr.TimeZone)}
	for _, rl := range roles {
		v.Roles = append(v.Roles, checkItem{Value: rl.ID, Label: rl.Name, Checked: slices.Contains(usr.RoleIDs, rl.ID)})
	}
	for _, op := range access.Operations {
		it := checkItem{Value: op, Key: "operation." + op, Help: "operation." + op + ".description", Checked: slices.Contains(usr.Ops, op)}
		for _, rl := range roles {
			if slices.Contains(usr.RoleIDs, rl.ID) && slices.Contains(rl.Ops, op) {
				it.Via = append(it.Via, rl.Name)
			}
		}
		v.Ops = append(v.Ops, it)
	}
	p := c.Page(w, r, "admin", v)
	if errs != nil {
		p.Form, p.Errors = r.PostForm, errs
	}
	u.render(w, status, "admin/user", p)
}

// userFromForm applies the posted fields to usr.
func userFromForm(r *http.Request, usr *access.User) {
	usr.Name = strings.TrimSpace(r.PostFormValue("name"))
	usr.Email = strings.TrimSpace(r.PostFormValue("email"))
	usr.Language = r.PostFormValue("language")
	usr.TimeZone = r.PostFormValue("time_zone")
	usr.Active = r.PostFormValue("active") != ""
	usr.RoleIDs = append([]string{}, r.PostForm["roles"]...) // empty, not nil: none checked clears them
	usr.Ops = append([]string{}, r.PostForm["operations"]...)
}

func (u *UI) adminUserCreate(w http.ResponseWriter, r *http.Request, c *Ctx) {
	usr := &access.User{}
	userFromForm(r, usr)
	password := r.PostFormValue("password")
	fe := crm.FieldErrors{}
	checkNewPassword(fe, "password", password, "", "")
	if usr.Name == "" {
		fe.Add("name", crm.ErrRequired)
	}
	if err := store.ValidateUser(usr); err != nil {
		if ve, ok := formErrors(err); ok {
			for k, v := range ve {
				fe.Add(k, v)
			}
		}
	}
	if len(fe) == 0 {
		err := u.st.CreateUser(r.Context(), usr, password)
		if err != nil {
			ve, ok := formErrors(err)
			if !ok {
				u.fail(w, r, c, err)
				return
			}
			fe = ve
		}
	}
	if len(fe) > 0 {
		usr.ID = ""
		u.renderUserForm(w, r, c, http.StatusUnprocessableEntity, usr, fe)
		return
	}
	redirect(w, r, "/admin/users", Flash{Kind: FlashSuccess, Key: "flash.user_created", Args: []any{usr.Name}})
}

func (u *UI) adminUserSave(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	usr, err := u.st.GetUser(ctx, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	userFromForm(r, usr)
	password := r.PostFormValue("password")
	fe := crm.FieldErrors{}
	if password != "" {
		checkNewPassword(fe, "password", password, "", "")
	}
	if usr.Name == "" {
		fe.Add("name", crm.ErrRequired)
	}
	self := usr.ID == c.V.UserID
	if self && !usr.Active {
		// An administrator locking themselves out is never what they meant.
		fe.Add("active", "admin.users.error.self_deactivate")
	}
	if self {
		roles, err := u.st.ListRoles(ctx)
		if err != nil {
			u.fail(w, r, c, err)
			return
		}
		byID := map[string]*access.Role{}
		for _, rl := range roles {
			byID[rl.ID] = rl
		}
		if !effectiveOps(usr.Ops, usr.RoleIDs, byID)[access.OpManageAdministration] {
			fe.Add("operations", "admin.users.error.self_admin")
		}
	}
	if len(fe) == 0 {
		if err := u.st.UpdateUser(ctx, usr); err != nil {
			ve, ok := formErrors(err)
			if !ok {
				u.fail(w, r, c, err)
				return
			}
			fe = ve
		}
	}
	if len(fe) > 0 {
		u.renderUserForm(w, r, c, http.StatusUnprocessableEntity, usr, fe)
		return
	}
	if password != "" {
		if err := u.st.SetPassword(ctx, usr.ID, password); err != nil {
			u.fail(w, r, c, err)
			return
		}
		if self { // SetPassword ended this session too
			if _, err := u.auth.Login(w, r, usr.ID); err != nil {
				u.fail(w, r, c, err)
				return
			}
		}
	}
	redirect(w, r, "/admin/users/"+usr.ID, Flash{Kind: FlashSuccess, Key: "flash.saved"})
}

type rolesView struct {
	Tabs  []sectionTab
	Roles []*access.Role
}

func (u *UI) adminRoles(w http.ResponseWriter, r *http.Request, c *Ctx) {
	roles, err := u.st.ListRoles(r.Context())
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.render(w, http.StatusOK, "admin/roles", c.Page(w, r, "admin", rolesView{Tabs: adminTabs("/admin/roles"), Roles: roles}))
}

type roleFormView struct {
	ID          string
	Name        string
	Description string
	Ops         []checkItem
	Members     []ref
}

func (u *UI) adminRoleNew(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.renderRoleForm(w, r, c, http.StatusOK, &access.Role{}, nil)
}

func (u *UI) adminRoleEdit(w http.ResponseWriter, r *http.Request, c *Ctx) {
	rl, err := u.st.GetRole(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.renderRoleForm(w, r, c, http.StatusOK, rl, nil)
}

func (u *UI) renderRoleForm(w http.ResponseWriter, r *http.Request, c *Ctx, status int, rl *access.Role, errs map[string]string) {
	v := roleFormView{ID: rl.ID, Name: rl.Name, Description: rl.Description}
	for _, op := range access.Operations {
		v.Ops = append(v.Ops, checkItem{Value: op, Key: "operation." + op, Help: "operation." + op + ".description", Checked: slices.Contains(rl.Ops, op)})
	}
	if rl.ID != "" {
		dir, err := u.loadDirectory(r.Context())
		if err != nil {
			u.fail(w, r, c, err)
			return
		}
		for _, usr := range dir.users {
			if slices.Contains(usr.RoleIDs, rl.ID) {
				v.Members = append(v.Members, ref{usr.ID, usr.Name})
			}
		}
	}
	p := c.Page(w, r, "admin", v)
	if errs != nil {
		p.Form, p.Errors = r.PostForm, errs
	}
	u.render(w, status, "admin/role", p)
}

func (u *UI) saveRole(w http.ResponseWriter, r *http.Request, c *Ctx, rl *access.Role) {
	rl.Name = strings.TrimSpace(r.PostFormValue("name"))
	rl.Description = strings.TrimSpace(r.PostFormValue("description"))
	rl.Ops = append([]string{}, r.PostForm["operations"]...)
	isNew := rl.ID == ""
	if err := u.st.SaveRole(r.Context(), rl); err != nil {
		fe, ok := formErrors(err)
		if !ok {
			u.fail(w, r, c, err)
			return
		}
		if isNew {
			rl.ID = ""
		}
		u.renderRoleForm(w, r, c, http.StatusUnprocessableEntity, rl, fe)
		return
	}
	if isNew {
		redirect(w, r, "/admin/roles", Flash{Kind: FlashSuccess, Key: "flash.role_created", Args: []any{rl.Name}})
		return
	}
	redirect(w, r, "/admin/roles/"+rl.ID, Flash{Kind: FlashSuccess, Key: "flash.saved"})
}

func (u *UI) adminRoleCreate(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.saveRole(w, r, c, &access.Role{})
}

func (u *UI) adminRoleSave(w http.ResponseWriter, r *http.Request, c *Ctx) {
	rl, err := u.st.GetRole(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.saveRole(w, r, c, rl)
}

func (u *UI) adminRoleDelete(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	rl, err := u.st.GetRole(ctx, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	// Deleting the role must not take the administration right from the
	// administrator doing it.
	if slices.Contains(rl.Ops, access.OpManageAdministration) {
		dir, err := u.loadDirectory(ctx)
		if err != nil {
			u.fail(w, r, c, err)
			return
		}
		delete(dir.role, rl.ID)
		for _, usr := range dir.users {
			if usr.ID == c.V.UserID && !dir.effective(usr)[access.OpManageAdministration] {
				redirect(w, r, "/admin/roles/"+rl.ID, Flash{Kind: FlashError, Key: "admin.roles.error.self_admin"})
				return
			}
		}
	}
	if err := u.st.DeleteRole(ctx, rl.ID); err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/admin/roles", Flash{Kind: FlashSuccess, Key: "flash.role_deleted", Args: []any{rl.Name}})
}

// opRow is one operation of the matrix.
type opRow struct {
	Code    string
	Users   []ref // granted directly
	Roles   []ref // granted to these roles
	Holders int   // users holding it in effect, directly or by role
}

type operationsView struct {
	Tabs []sectionTab
	Rows []opRow
}

func (u *UI) adminOperations(w http.ResponseWriter, r *http.Request, c *Ctx) {
	dir, err := u.loadDirectory(r.Context())
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v := operationsView{Tabs: adminTabs("/admin/operations")}
	for _, op := range access.Operations {
		row := opRow{Code: op}
		for _, usr := range dir.users {
			if slices.Contains(usr.Ops, op) {
				row.Users = append(row.Users, ref{usr.ID, usr.Name})
			}
			if usr.Active && dir.effective(usr)[op] {
				row.Holders++
			}
		}
		for _, rl := range dir.roles {
			if slices.Contains(rl.Ops, op) {
				row.Roles = append(row.Roles, ref{rl.ID, rl.Name})
			}
		}
		v.Rows = append(v.Rows, row)
	}
	u.render(w, http.StatusOK, "admin/operations", c.Page(w, r, "admin", v))
}

// ---------- jobs ----------

var jobStates = []jobs.State{jobs.StateRunning, jobs.StateAvailable, jobs.StateScheduled, jobs.StateRetryable,
	jobs.StatePending, jobs.StateCompleted, jobs.StateDiscarded, jobs.StateCancelled}

type jobRow struct {
	jobs.Job
	LastError  string
	CanCancel  bool
	CanRetry   bool
	RetryLabel string // catalogue key
}

type jobsView struct {
	Tabs      []sectionTab
	Available bool
	States    []sectionTab
	State     string
	Kind      string
	Ticks     bool // the scheduler's ticks are shown too
	Jobs      []jobRow
	Next      string
	Back      string // this page's address, where actions return to
}

func (u *UI) adminJobs(w http.ResponseWriter, r *http.Request, c *Ctx) {
	q := r.URL.Query()
	v := jobsView{Tabs: adminTabs("/admin/jobs"), Available: u.jobs != nil, State: q.Get("state"),
		Kind: strings.TrimSpace(q.Get("kind")), Ticks: q.Get("ticks") != "", Jobs: []jobRow{}}
	tabQuery := func(state string) string {
		s, _ := query(q, "state", state, "cursor", "")
		return "/admin/jobs" + s
	}
	v.States = append(v.States, sectionTab{Href: tabQuery(""), Label: "common.all", Current: v.State == ""})
	for _, s := range jobStates {
		v.States = append(v.States, sectionTab{Href: tabQuery(string(s)), Label: "admin.jobs.state." + string(s), Current: v.State == string(s)})
	}
	back, _ := query(q, "cursor", "")
	v.Back = "/admin/jobs" + back
	if u.jobs != nil {
		list, next, err := u.jobs.List(r.Context(), jobs.Filter{State: jobs.State(v.State), Kind: v.Kind, HideTicks: !v.Ticks,
			Cursor: q.Get("cursor")})
		if errors.Is(err, jobs.ErrInvalidFilter) {
			u.errorPage(w, r, c, http.StatusBadRequest)
			return
		}
		if err != nil {
			u.fail(w, r, c, err)
			return
		}
		v.Next = next
		for _, j := range list {
			row := jobRow{Job: j}
			if n := len(j.Errors); n > 0 {
				row.LastError = j.Errors[n-1]
			}
			// Retry runs a failed, discarded or cancelled job again; for a
			// waiting one it is "run now". A completed job did its work.
			row.CanRetry = jobs.Retryable(j.State)
			switch j.State {
			case jobs.StateRetryable, jobs.StateDiscarded, jobs.StateCancelled:
				row.RetryLabel = "action.retry"
			case jobs.StateScheduled, jobs.StatePending:
				row.RetryLabel = "action.run_now"
			}
			row.CanCancel = j.State != jobs.StateCompleted && j.State != jobs.StateCancelled && j.State != jobs.StateDiscarded
			if !cssWord.MatchString(string(row.State)) {
				row.State = "unknown"
			}
			v.Jobs = append(v.Jobs, row)
		}
	}
	u.render(w, http.StatusOK, "admin/jobs", c.Page(w, r, "admin", v))
}

func (u *UI) adminJobCancel(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.jobAction(w, r, c, JobQueue.Cancel, "flash.job_cancelled")
}

func (u *UI) adminJobRetry(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.jobAction(w, r, c, JobQueue.Retry, "flash.job_retried")
}

func (u *UI) jobAction(w http.ResponseWriter, r *http.Request, c *Ctx, fn func(JobQueue, context.Context, int64) (jobs.Job, error), flash string) {
	if u.jobs == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		u.errorPage(w, r, c, http.StatusNotFound)
		return
	}
	back := localPath(r.PostFormValue("next"), "/admin/jobs")
	if !strings.HasPrefix(back, "/admin/jobs") {
		back = "/admin/jobs"
	}
	if j, err := fn(u.jobs, r.Context(), id); err != nil {
		switch {
		case errors.Is(err, jobs.ErrNotFound):
			u.errorPage(w, r, c, http.StatusNotFound)
		case errors.Is(err, jobs.ErrNotRetryable):
			redirect(w, r, back, Flash{Kind: FlashError, Key: "flash.job_not_retryable",
				Args: []any{strconv.FormatInt(id, 10), c.Lang.T("admin.jobs.state." + string(j.State))}})
		default:
			u.fail(w, r, c, err)
		}
		return
	}
	redirect(w, r, back, Flash{Kind: FlashSuccess, Key: flash, Args: []any{strconv.FormatInt(id, 10)}}) // args survive the cookie as strings
}
