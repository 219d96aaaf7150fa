package api

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/signin"
	"github.com/tandem-crm/tandem/internal/store"
)

// Logins is password sign-in with throttling (signin.Service).
type Logins interface {
	SignIn(ctx context.Context, email, password, addr string) (*access.User, error)
}

// WithLogins sets the sign-in service token issuing uses.
func (a *API) WithLogins(l Logins) *API {
	a.logins = l
	return a
}

type loginFailureJSON struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	Email      string    `json:"email"`
	ClientAddr string    `json:"client_addr"`
	Reason     string    `json:"reason"`
}

func (a *API) listLoginFailures(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	p, err := pageParams(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	f := store.LoginFailureFilter{Email: strings.ToLower(strings.TrimSpace(q.Get("email"))), ClientAddr: q.Get("client_addr"), Reason: q.Get("reason"), Page: p}
	if f.Reason != "" && !slices.Contains(signin.Reasons, signin.Reason(f.Reason)) {
		a.fail(w, r, &decodeError{key: "error.form", fields: crm.FieldErrors{"reason": "error.unknown_value"}})
		return
	}
	fs, next, err := a.st.ListLoginFailures(r.Context(), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]loginFailureJSON, len(fs))
	for i, lf := range fs {
		out[i] = loginFailureJSON{ID: lf.ID, At: lf.At, Email: lf.Email, ClientAddr: lf.ClientAddr, Reason: lf.Reason}
	}
	writeJSON(w, http.StatusOK, page(out, next))
}
