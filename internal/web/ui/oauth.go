package ui

import (
	"context"
	"errors"
	"net/http"

	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/store"
)

// Connecting external accounts over OAuth (SPEC §3). "Add … account" and
// "Reconnect" post to /oauth/{provider}/start (the provider's ConnectPath),
// which sends the browser to the provider; the provider sends it back to
// /oauth/{provider}/callback, which connects the account. Every outcome
// ends on the External accounts page with a message: a failed
// authorization is never an error page.

func (u *UI) oauthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /oauth/{provider}/start", u.authed(u.oauthStart))
	mux.HandleFunc("GET /oauth/{provider}/callback", u.authed(u.oauthCallback))
}

// oauthProvider is the registered provider of the path whose accounts
// connect over OAuth; 404 otherwise.
func (u *UI) oauthProvider(w http.ResponseWriter, r *http.Request, c *Ctx) (string, bool) {
	p, err := u.providers.Get(r.PathValue("provider"))
	if _, ok := p.(provider.OAuthApp); err != nil || !ok {
		u.errorPage(w, r, c, http.StatusNotFound)
		return "", false
	}
	return p.Name(), true
}

// connectSetup tells the External accounts page whether accounts of one
// provider can be connected, and if not, why (Notice, a catalogue key);
// administrators get a link to the settings that fix it.
type connectSetup struct {
	Code      string // the provider's code
	Label     string // the "Add … account" button
	Path      string // where the flow starts
	Ready     bool
	Notice    string
	AdminLink bool
	// Form: the flow starts with Tandem's own form (a GET of Path), not
	// by POSTing to the provider's flow.
	Form bool
}

// connectSetups are the providers whose accounts users add themselves.
func (u *UI) connectSetups(ctx context.Context, c *Ctx) []connectSetup {
	var out []connectSetup
	for _, p := range u.providers.All() {
		if _, ok := p.(provider.PasswordAccounts); ok {
			out = append(out, connectSetup{Code: p.Name(), Path: connectPasswordPath(p.Name()), Ready: true, Form: true,
				Label: c.Lang.T("profile.external.add", u.providerName(c.Lang, p.Name()))})
			continue
		}
		cp, ok := p.(provider.Connectable)
		if !ok {
			continue
		}
		g := connectSetup{Code: p.Name(), Path: cp.ConnectPath(), Label: c.Lang.T("profile.external.add", p.DisplayName())}
		if key := "profile.external.add_" + p.Name(); c.Lang.Has(key) {
			g.Label = c.Lang.T(key)
		}
		notice, err := cp.ConnectSetup(ctx)
		if err != nil {
			u.log.ErrorContext(ctx, "connect setup", "provider", p.Name(), "err", err)
		}
		if u.oa == nil && notice == "" {
			notice = "oauth.error." + oauth.CodeNotConfigured
		}
		g.Ready, g.Notice = notice == "", notice
		g.AdminLink = !g.Ready && c.V.IsAdmin()
		out = append(out, g)
	}
	return out
}

// requestBase is the scheme and host a request came in on: the redirect
// URI's base while SiteUrl is unset (fine on loopback; behind a proxy that
// terminates TLS, SiteUrl must be set).
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// oauthStart begins an authorization: a new account, or with "connection"
// set, the user's own connection again (its address preselected).
func (u *UI) oauthStart(w http.ResponseWriter, r *http.Request, c *Ctx) {
	name, ok := u.oauthProvider(w, r, c)
	if !ok {
		return
	}
	if u.oa == nil {
		redirect(w, r, "/profile/accounts", Flash{Kind: FlashError, Key: "oauth.error." + oauth.CodeNotConfigured})
		return
	}
	hint := ""
	if id := r.PostFormValue("connection"); id != "" {
		cn, err := u.st.GetUserConnection(r.Context(), c.V.UserID, id)
		if err == nil && cn.Provider != name {
			err = store.ErrNotFound
		}
		if err != nil {
			u.fail(w, r, c, err)
			return
		}
		hint = cn.AccountEmail
	}
	to, err := u.oa.Begin(r.Context(), oauth.BeginRequest{Provider: name, UserID: c.V.UserID, Session: c.CSRF,
		BaseURL: requestBase(r), LoginHint: hint})
	if err != nil {
		u.oauthFailed(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// oauthCallback completes an authorization when the provider sends the
// browser back. Besides the registered providers' paths, it answers an
// issuer's (oauth.IsIssuer) whose only flows are a target's, such as a
// mailbox's consent: Complete refuses a state begun for another path.
func (u *UI) oauthCallback(w http.ResponseWriter, r *http.Request, c *Ctx) {
	name := r.PathValue("provider")
	if !oauth.IsIssuer(name) {
		var ok bool
		if name, ok = u.oauthProvider(w, r, c); !ok {
			return
		}
	}
	if u.oa == nil {
		redirect(w, r, "/profile/accounts", Flash{Kind: FlashError, Key: "oauth.error." + oauth.CodeNotConfigured})
		return
	}
	res, err := u.oa.Complete(r.Context(), oauth.CallbackRequest{Provider: name, UserID: c.V.UserID,
		Session: c.CSRF, Query: r.URL.Query()})
	var fe *oauth.FlowError
	switch {
	case errors.As(err, &fe) && fe.Target == mail.ConnectionProvider:
		address, provider := mail.OAuthTarget(fe.Data)
		u.mailboxOAuthFailed(w, r, c, err, address, provider)
		return
	case err != nil:
		u.oauthFailed(w, r, err)
		return
	case res.Target == mail.ConnectionProvider:
		u.mailboxConsent(w, r, c, res, name)
		return
	case res.Connection == nil:
		u.oauthFailed(w, r, errors.New("oauth: a target's grant with no one to take it"))
		return
	}
	email := res.Connection.AccountEmail
	flashes := []Flash{{Kind: FlashSuccess, Key: "oauth.connected", Args: []any{email}}}
	if res.OtherAccount {
		flashes = append(flashes, Flash{Kind: FlashWarning, Key: "oauth.other_account", Args: []any{email, res.LoginHint}})
	}
	if len(res.MissingScopes) > 0 {
		flashes = append(flashes, Flash{Kind: FlashWarning, Key: "oauth.missing_scopes"})
	}
	redirect(w, r, "/profile/accounts", flashes...)
}

// oauthFailed tells the user why an authorization did not complete.
func (u *UI) oauthFailed(w http.ResponseWriter, r *http.Request, err error) {
	f := Flash{Kind: FlashError, Key: "oauth.error." + oauth.CodeFailed}
	var fe *oauth.FlowError
	if errors.As(err, &fe) {
		f.Key = "oauth.error." + fe.Code
		if fe.Code == oauth.CodeProvider && fe.Detail != "" {
			f.Key, f.Args = "oauth.error.provider_error_code", []any{fe.Detail}
		}
	}
	if fe == nil || fe.Code == oauth.CodeFailed || fe.Code == oauth.CodeNoRedirect {
		u.log.ErrorContext(r.Context(), "oauth flow failed", "path", r.URL.Path, "err", err)
	} else {
		u.log.InfoContext(r.Context(), "oauth flow refused", "code", fe.Code, "detail", fe.Detail)
	}
	redirect(w, r, "/profile/accounts", f)
}
