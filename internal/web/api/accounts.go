package api

import (
	"net/http"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

type accountIn struct {
	Name     *string      `json:"name"`
	Type     *string      `json:"type"`
	Industry *string      `json:"industry"`
	Website  *string      `json:"website"`
	Phone    *string      `json:"phone"`
	Email    *string      `json:"email"`
	Address  *string      `json:"address"`
	Notes    *string      `json:"notes"`
	OwnerID  *string      `json:"owner_id"`
	Tags     *[]tagIn     `json:"tags"`
	Access   *[]grantJSON `json:"access"`
}

func (in *accountIn) apply(a *crm.Account) {
	set(&a.Name, in.Name)
	set(&a.Type, in.Type)
	set(&a.Industry, in.Industry)
	set(&a.Website, in.Website)
	set(&a.Phone, in.Phone)
	set(&a.Email, in.Email)
	set(&a.Address, in.Address)
	set(&a.Notes, in.Notes)
	set(&a.OwnerID, in.OwnerID)
	a.Tags, a.Access = nil, nil
	if in.Tags != nil {
		a.Tags = tagRefs(in.Tags)
	}
	if in.Access != nil {
		a.Access = grantsIn(in.Access)
	}
}

type accountOut struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Type      string      `json:"type"`
	Industry  string      `json:"industry"`
	Website   string      `json:"website"`
	Phone     string      `json:"phone"`
	Email     string      `json:"email"`
	Address   string      `json:"address"`
	Notes     string      `json:"notes"`
	Tags      []tagOut    `json:"tags"`
	Access    []grantJSON `json:"access"`
	OwnerID   string      `json:"owner_id"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
	Version   int64       `json:"version"`
}

func accountJSON(a *crm.Account) accountOut {
	return accountOut{ID: a.ID, Name: a.Name, Type: a.Type, Industry: a.Industry, Website: a.Website, Phone: a.Phone,
		Email: a.Email, Address: a.Address, Notes: a.Notes, Tags: tagsOut(a.Tags), Access: grantsOut(a.Access),
		OwnerID: a.OwnerID, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt, Version: a.Version}
}

func (a *API) listAccounts(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	p, err := pageParams(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	items, next, err := a.st.ListAccounts(r.Context(), v, store.AccountFilter{Q: q.Get("q"), TagID: q.Get("tag_id"),
		OwnerID: q.Get("owner_id"), Page: p})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writePage(w, items, next, accountJSON)
}

func (a *API) createAccount(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	createRecord(a, a.accounts(), w, r, v, func(in *accountIn, acc *crm.Account, _ crm.FieldErrors) { in.apply(acc) })
}

func (a *API) getAccount(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.accounts().serveGet(a, w, r, v)
}

func (a *API) patchAccount(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	patch(a, a.accounts(), w, r, v, func(in *accountIn, acc *crm.Account, _ crm.FieldErrors) { in.apply(acc) })
}

func (a *API) deleteAccount(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.accounts().serveDelete(a, w, r, v)
}
