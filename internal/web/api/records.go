package api

import (
	"context"
	"net/http"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// resource is what the shared handlers of a versioned record resource
// (contacts, accounts, activities, cases) need: the store's operations on
// it and its JSON form.
type resource[T any] struct {
	path    string // e.g. "/api/v1/contacts/"
	get     func(ctx context.Context, v access.Viewer, id string) (*T, error)
	create  func(ctx context.Context, v access.Viewer, rec *T) error
	update  func(ctx context.Context, v access.Viewer, rec *T, wantVersion int64) error
	remove  func(ctx context.Context, v access.Viewer, id string) error
	version func(*T) int64
	id      func(*T) string
	json    func(*T) any
}

// createRecord reads the body into in, applies it to a new record, stores
// it and answers 201 with the record as stored.
func createRecord[T, In any](a *API, rs resource[T], w http.ResponseWriter, r *http.Request, v access.Viewer, apply func(*In, *T, crm.FieldErrors)) {
	var in In
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	rec := new(T)
	fe := crm.FieldErrors{}
	apply(&in, rec, fe)
	if err := fe.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := rs.create(r.Context(), v, rec); err != nil {
		a.fail(w, r, err)
		return
	}
	rs.respond(a, w, r, v, rs.id(rec), http.StatusCreated)
}

// serveGet answers the record named by the path.
func (rs resource[T]) serveGet(a *API, w http.ResponseWriter, r *http.Request, v access.Viewer) {
	rs.respond(a, w, r, v, r.PathValue("id"), http.StatusOK)
}

// serveDelete deletes the record named by the path and answers 204.
func (rs resource[T]) serveDelete(a *API, w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if err := rs.remove(r.Context(), v, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// writePage answers a page of records in their JSON form.
func writePage[T, O any](w http.ResponseWriter, items []T, next string, out func(*T) O) {
	o := make([]O, len(items))
	for i := range items {
		o[i] = out(&items[i])
	}
	writeJSON(w, http.StatusOK, page(o, next))
}

// respond answers with the record as stored, its ETag and, for a create,
// its Location.
func (rs resource[T]) respond(a *API, w http.ResponseWriter, r *http.Request, v access.Viewer, id string, status int) {
	rec, err := rs.get(r.Context(), v, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	setETag(w, rs.version(rec))
	if status == http.StatusCreated {
		w.Header().Set("Location", rs.path+rs.id(rec))
	}
	writeJSON(w, status, rs.json(rec))
}

// patch reads the body into in, applies it to the current record and
// saves it under the version the client saw (If-Match) or, without one,
// the version just read, so a change made in between is never overwritten.
func patch[T, In any](a *API, rs resource[T], w http.ResponseWriter, r *http.Request, v access.Viewer, apply func(*In, *T, crm.FieldErrors)) {
	want, err := ifMatch(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in In
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	rec, err := rs.get(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if want == 0 {
		want = rs.version(rec)
	}
	fe := crm.FieldErrors{}
	apply(&in, rec, fe)
	if err := fe.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := rs.update(r.Context(), v, rec, want); err != nil {
		a.fail(w, r, err)
		return
	}
	rs.respond(a, w, r, v, rs.id(rec), http.StatusOK)
}

func (a *API) contacts() resource[crm.Contact] {
	return resource[crm.Contact]{path: "/api/v1/contacts/", get: a.st.GetContact, create: a.st.CreateContact,
		update: a.st.UpdateContact, remove: a.st.DeleteContact,
		version: func(c *crm.Contact) int64 { return c.Version }, id: func(c *crm.Contact) string { return c.ID },
		json: func(c *crm.Contact) any { return contactJSON(c) }}
}

func (a *API) accounts() resource[crm.Account] {
	return resource[crm.Account]{path: "/api/v1/accounts/", get: a.st.GetAccount, create: a.st.CreateAccount,
		update: a.st.UpdateAccount, remove: a.st.DeleteAccount,
		version: func(c *crm.Account) int64 { return c.Version }, id: func(c *crm.Account) string { return c.ID },
		json: func(c *crm.Account) any { return accountJSON(c) }}
}

func (a *API) activities() resource[crm.Activity] {
	return resource[crm.Activity]{path: "/api/v1/activities/", get: a.st.GetActivity, create: a.st.CreateActivity,
		update: a.st.UpdateActivity, remove: a.st.DeleteActivity,
		version: func(c *crm.Activity) int64 { return c.Version }, id: func(c *crm.Activity) string { return c.ID },
		json: func(c *crm.Activity) any { return activityJSON(c) }}
}

func (a *API) cases() resource[crm.Case] {
	return resource[crm.Case]{path: "/api/v1/cases/", get: a.st.GetCase, create: a.st.CreateCase,
		update: a.st.UpdateCase, remove: a.st.DeleteCase,
		version: func(k *crm.Case) int64 { return k.Version }, id: func(k *crm.Case) string { return k.ID },
		json: func(k *crm.Case) any { return caseJSON(k) }}
}
