package ui

import (
	"context"
	"errors"
	"net/http"

	"github.com/tandem-crm/tandem/internal/oauth"
)

// Connecting external accounts over OAuth (SPEC §3). "Add Google account"
// and "Reconnect" post to /oauth/google/start, which sends the browser to
// Google; Google sends it back to the callback, which connects the account.
// Every outcome ends on the External accounts page with a message: a failed
// authorization is never an error page.

func (u *UI) oauthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /oauth/google/start", u.authed(u.oauthStart))
	mux.HandleFunc("GET "+oauth.GoogleCallbackPath, u.authed(u.oauthCallback))
}

// googleSetup tells the External accounts page whether Google accounts can
// be connected, and if not, why (Notice, a catalogue key); administrators
// get a link to the settings that fix it.
type googleSetup struct {
	Ready     bool
	Notice    string
	AdminLink bool
}

func (u *UI) googleSetup(ctx context.Context, c *Ctx) googleSetup {
	var g googleSetup
	if u.oa == nil {
		g.Notice = "profile.external.google_not_configured"
	} else {
		_, err := oauth.GoogleConfig(ctx, u.set)
		switch {
		case err == nil:
			g.Ready = true
		case errors.Is(err, oauth.ErrSharedApp):
			g.Notice = "profile.external.google_shared_app"
		case errors.Is(err, oauth.ErrNotConfigured):
			g.Notice = "profile.external.google_not_configured"
		default:
			u.log.ErrorContext(ctx, "google oauth settings", "err", err)
			g.Notice = "profile.external.google_not_configured"
		}
	}
	g.AdminLink = !g.Ready && c.V.IsAdmin()
	return g
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
	if u.oa == nil {
		redirect(w, r, "/profile/accounts", Flash{Kind: FlashError, Key: "oauth.error." + oauth.CodeNotConfigured})
		return
	}
	hint := ""
	if id := r.PostFormValue("connection"); id != "" {
		cn, err := u.st.GetUserConnection(r.Context(), c.V.UserID, id)
		if err != nil {
			u.fail(w, r, c, err)
			return
		}
		hint = cn.AccountEmail
	}
	to, err := u.oa.Begin(r.Context(), oauth.BeginRequest{Provider: oauth.ProviderGoogle, UserID: c.V.UserID, Session: c.CSRF,
		BaseURL: requestBase(r), LoginHint: hint})
	if err != nil {
		u.oauthFailed(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// oauthCallback completes an authorization when Google sends the browser
// back.
func (u *UI) oauthCallback(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if u.oa == nil {
		redirect(w, r, "/profile/accounts", Flash{Kind: FlashError, Key: "oauth.error." + oauth.CodeNotConfigured})
		return
	}
	res, err := u.oa.Complete(r.Context(), oauth.CallbackRequest{Provider: oauth.ProviderGoogle, UserID: c.V.UserID,
		Session: c.CSRF, Query: r.URL.Query()})
	if err != nil {
		u.oauthFailed(w, r, err)
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
