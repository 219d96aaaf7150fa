package ui

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/store"
)

// Adding an account that signs in with a server address, a user name and
// a password (provider.PasswordAccounts: CalDAV/CardDAV). One form serves
// every such provider; the provider verifies before anything is stored,
// and a refusal shows the form again with what was typed (but the
// password) and what to fix. With ?connection= the same form takes a new
// password for an account whose server refused the old one.

func (u *UI) connectPasswordRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /profile/connect/{provider}", u.authed(u.connectPasswordForm))
	mux.HandleFunc("POST /profile/connect/{provider}", u.authed(u.connectPasswordSubmit))
}

// connectPasswordPath is where the form of a password provider lives.
func connectPasswordPath(name string) string {
	return "/profile/connect/" + url.PathEscape(name)
}

type connectPasswordView struct {
	Provider   string // the provider's code
	Title      string // translated
	Action     string
	Connection string // set when a new password is given for a connection
	Presets    []Option
	Notice     string // a message key shown under the form
}

// passwordAccounts is the provider of the path, when its accounts take a
// password; 404 otherwise.
func (u *UI) passwordAccounts(w http.ResponseWriter, r *http.Request, c *Ctx) (provider.Provider, provider.PasswordAccounts, bool) {
	p, err := u.providers.Get(r.PathValue("provider"))
	pa, ok := p.(provider.PasswordAccounts)
	if err != nil || !ok {
		u.errorPage(w, r, c, http.StatusNotFound)
		return nil, nil, false
	}
	return p, pa, true
}

// reconnecting is the user's connection named by the request, if any.
func (u *UI) reconnecting(r *http.Request, c *Ctx, p provider.Provider) (*store.Connection, error) {
	id := r.FormValue("connection")
	if id == "" {
		return nil, nil
	}
	cn, err := u.st.GetUserConnection(r.Context(), c.V.UserID, id)
	if err == nil && cn.Provider != p.Name() {
		err = store.ErrNotFound
	}
	return cn, err
}

func (u *UI) connectPasswordForm(w http.ResponseWriter, r *http.Request, c *Ctx) {
	p, pa, ok := u.passwordAccounts(w, r, c)
	if !ok {
		return
	}
	cn, err := u.reconnecting(r, c, p)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	form := url.Values{}
	if cn != nil {
		cur, err := pa.CredentialsOf(r.Context(), cn)
		if err != nil {
			u.fail(w, r, c, err)
			return
		}
		form.Set("url", cur.URL)
		form.Set("username", cur.Username)
	}
	u.renderConnectPassword(w, r, c, http.StatusOK, p, pa, cn, form, nil)
}

func (u *UI) renderConnectPassword(w http.ResponseWriter, r *http.Request, c *Ctx, status int, p provider.Provider,
	pa provider.PasswordAccounts, cn *store.Connection, form url.Values, errs map[string]string) {
	v := connectPasswordView{Provider: p.Name(), Action: connectPasswordPath(p.Name()), Notice: "connect.password.polling",
		Title: c.Lang.T("connect.password.title", u.providerName(c.Lang, p.Name()))}
	if cn != nil {
		v.Connection = cn.ID
		v.Title = c.Lang.T("connect.password.reconnect_title", cn.DisplayName)
	}
	v.Presets = append(v.Presets, Option{Value: "", Key: "connect.password.preset_other"})
	for _, ps := range pa.Presets() {
		v.Presets = append(v.Presets, Option{Value: ps.URL, Label: ps.Name})
	}
	page := c.Page(w, r, "profile", v)
	form.Del("password")
	page.Form, page.Errors = form, errs
	u.render(w, status, "profile/connect_password", page)
}

func (u *UI) connectPasswordSubmit(w http.ResponseWriter, r *http.Request, c *Ctx) {
	p, pa, ok := u.passwordAccounts(w, r, c)
	if !ok {
		return
	}
	cn, err := u.reconnecting(r, c, p)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	in := provider.Credentials{URL: r.PostFormValue("url"), Username: r.PostFormValue("username"),
		Password: r.PostFormValue("password")}
	if isReview(r) { // a form kept over a sign-in: shown filled in, not sent
		u.renderConnectPassword(w, r, c, http.StatusOK, p, pa, cn, r.PostForm, map[string]string{})
		return
	}
	got, err := pa.Connect(r.Context(), c.V.UserID, in, cn)
	var ce *provider.CredentialsError
	switch {
	case errors.As(err, &ce):
		errs := map[string]string{FormError: ce.Key}
		if ce.Field != "" {
			errs[ce.Field] = ce.Key
		}
		u.renderConnectPassword(w, r, c, http.StatusUnprocessableEntity, p, pa, cn, r.PostForm, errs)
	case err != nil:
		u.fail(w, r, c, err)
	case cn != nil:
		redirect(w, r, "/profile/accounts/"+got.ID, Flash{Kind: FlashSuccess, Key: "connect.password.reconnected"})
	default:
		redirect(w, r, "/profile/accounts/"+got.ID, Flash{Kind: FlashSuccess, Key: "connect.password.connected"})
	}
}
