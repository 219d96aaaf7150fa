package api

import (
	"errors"
	"net/http"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/store"
)

// Accounts added with a server address, a user name and a password
// (provider.PasswordAccounts: CalDAV/CardDAV), verified by the provider
// before anything is stored. OAuth accounts connect in the browser.

// WithProviders enables adding password accounts.
func (a *API) WithProviders(reg *provider.Registry) *API {
	a.providers = reg
	return a
}

type connectionIn struct {
	Provider string `json:"provider"`
	URL      string `json:"url"`
	Username string `json:"username"`
	Password string `json:"password"`
}

type credentialsIn struct {
	URL      *string `json:"url"`
	Username *string `json:"username"`
	Password string  `json:"password"`
}

// passwordProvider is the registered provider name whose accounts take a
// password; a 400 naming the field otherwise.
func (a *API) passwordProvider(w http.ResponseWriter, r *http.Request, name string) (provider.PasswordAccounts, bool) {
	if a.providers != nil {
		if p, err := a.providers.Get(name); err == nil {
			if pa, ok := p.(provider.PasswordAccounts); ok {
				return pa, true
			}
		}
	}
	a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"provider": crm.ErrUnknownEnum})
	return nil, false
}

func (a *API) createConnection(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	var in connectionIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	pa, ok := a.passwordProvider(w, r, in.Provider)
	if !ok {
		return
	}
	c, err := pa.Connect(r.Context(), v.UserID, provider.Credentials{URL: in.URL, Username: in.Username, Password: in.Password}, nil)
	if err != nil {
		a.connectFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toConnectionJSON(c))
}

// putCredentials verifies and stores new credentials of a connection (the
// password changed); the address and user name stay unless given.
func (a *API) putCredentials(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, err := a.st.GetUserConnection(r.Context(), v.UserID, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in credentialsIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	pa, ok := a.passwordProvider(w, r, c.Provider)
	if !ok {
		return
	}
	cur, err := pa.CredentialsOf(r.Context(), c)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if in.URL != nil {
		cur.URL = *in.URL
	}
	if in.Username != nil {
		cur.Username = *in.Username
	}
	cur.Password = in.Password
	c, err = pa.Connect(r.Context(), v.UserID, cur, c)
	if err != nil {
		a.connectFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toConnectionJSON(c))
}

// connectFailed answers a failed verification: what to fix, on which
// field (422: the request was well formed, the server refused it).
func (a *API) connectFailed(w http.ResponseWriter, r *http.Request, err error) {
	var ce *provider.CredentialsError
	if !errors.As(err, &ce) {
		a.fail(w, r, err)
		return
	}
	field := ce.Field
	if field == "" {
		field = "url"
	}
	a.problem(w, r, http.StatusUnprocessableEntity, ce.Key, crm.FieldErrors{field: ce.Key})
}

func (a *API) deleteConnection(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if err := a.st.DeleteConnection(r.Context(), v.UserID, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func toConnectionJSON(c *store.Connection) connectionJSON {
	out := connectionJSON{ID: c.ID, Provider: c.Provider, AccountEmail: c.AccountEmail, DisplayName: c.DisplayName,
		Status: c.Status, StatusReason: c.StatusReason, CreatedAt: crm.FromMicros(c.CreatedAt)}
	if c.LastSyncAt > 0 {
		t := crm.FromMicros(c.LastSyncAt)
		out.LastSyncAt = &t
	}
	return out
}
