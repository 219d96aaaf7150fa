package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

// recordPages are the form pages that contacts, accounts and activities
// share: new, create, edit, update and delete. They are one piece so that
// the rules a user relies on — the input kept on an error, 422 for bad
// fields and 409 for a stale version, the same redirects and messages —
// cannot drift apart between the kinds. What differs stays with each kind:
// the list and the card, the form (F) and its view model (D), and how the
// form becomes a record (T).
//
// Access is the store's: a record the viewer cannot read is not found
// (404), one it may only read cannot be changed or deleted (403).
type recordPages[T, F, D any] struct {
	u       *UI
	kind    string // URL prefix, nav item and template folder, e.g. "contacts"
	created string // flash after a create; its argument is the record's name

	get    func(ctx context.Context, v access.Viewer, id string) (*T, error)
	create func(ctx context.Context, v access.Viewer, rec *T) error
	update func(ctx context.Context, v access.Viewer, rec *T, wantVersion int64) error
	remove func(ctx context.Context, v access.Viewer, id string) error
	ref    func(rec *T) (id, name string)

	blank    func(r *http.Request, c *Ctx) F // the new form, preset from the query string
	formOf   func(rec *T) F
	parse    func(r *http.Request, c *Ctx) F // the posted form; its ID is the path's, empty on a create
	record   func(f F, old *T) (*T, error)   // old is nil on a create; an error holds inputs the form could not read
	formData func(ctx context.Context, c *Ctx, f F, isNew bool) (D, error)

	// errorAlias shows a field's error again under another input that
	// edits the same value (activities: start and start_date).
	errorAlias map[string]string
}

func (p *recordPages[T, F, D]) handleNew(w http.ResponseWriter, r *http.Request, c *Ctx) {
	p.showForm(w, r, c, p.blank(r, c), true)
}

func (p *recordPages[T, F, D]) handleEdit(w http.ResponseWriter, r *http.Request, c *Ctx) {
	rec, err := p.get(r.Context(), c.V, r.PathValue("id"))
	if err != nil {
		p.u.fail(w, r, c, err)
		return
	}
	p.showForm(w, r, c, p.formOf(rec), false)
}

func (p *recordPages[T, F, D]) showForm(w http.ResponseWriter, r *http.Request, c *Ctx, f F, isNew bool) {
	d, err := p.formData(r.Context(), c, f, isNew)
	if err != nil {
		p.u.fail(w, r, c, err)
		return
	}
	p.u.formPage(w, r, c, http.StatusOK, p.kind, p.kind+"/form", d, nil)
}

func (p *recordPages[T, F, D]) handleCreate(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if isReview(r) { // a form kept over a sign-in, shown again before it is saved
		p.showForm(w, r, c, p.parse(r, c), true)
		return
	}
	p.save(w, r, c, p.parse(r, c), nil)
}

// handleUpdate reads the record first so that one the viewer cannot see is
// a 404 page rather than a form with errors.
func (p *recordPages[T, F, D]) handleUpdate(w http.ResponseWriter, r *http.Request, c *Ctx) {
	old, err := p.get(r.Context(), c.V, r.PathValue("id"))
	if err != nil {
		p.u.fail(w, r, c, err)
		return
	}
	if isReview(r) {
		p.showForm(w, r, c, p.parse(r, c), false)
		return
	}
	p.save(w, r, c, p.parse(r, c), old)
}

func (p *recordPages[T, F, D]) handleDelete(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if err := p.remove(r.Context(), c.V, r.PathValue("id")); err != nil {
		p.u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/"+p.kind, Flash{Kind: FlashSuccess, Key: "flash.deleted"})
}

// save stores the form as a new record (old == nil) or over old, and
// answers: the card on success, else the form again with the user's input
// and the errors.
func (p *recordPages[T, F, D]) save(w http.ResponseWriter, r *http.Request, c *Ctx, f F, old *T) {
	ctx := r.Context()
	rec, err := p.record(f, old)
	if err == nil {
		if old == nil {
			err = p.create(ctx, c.V, rec)
		} else {
			// The version the form was filled from, not the current one:
			// a change saved since then is a conflict, never overwritten.
			err = p.update(ctx, c.V, rec, formVersion(r))
		}
	}
	if err == nil {
		id, name := p.ref(rec)
		flash := Flash{Kind: FlashSuccess, Key: "flash.saved"}
		if old == nil {
			flash = Flash{Kind: FlashSuccess, Key: p.created, Args: []any{name}}
		}
		redirect(w, r, "/"+p.kind+"/"+id, flash)
		return
	}
	errs, ok := formErrors(err)
	if !ok {
		p.u.fail(w, r, c, err)
		return
	}
	for from, to := range p.errorAlias {
		if e, ok := errs[from]; ok {
			errs[to] = e
		}
	}
	d, derr := p.formData(ctx, c, f, old == nil)
	if derr != nil {
		p.u.fail(w, r, c, derr)
		return
	}
	status := http.StatusUnprocessableEntity
	if errors.Is(err, store.ErrConflict) {
		status = http.StatusConflict
	}
	p.u.formPage(w, r, c, status, p.kind, p.kind+"/form", d, errs)
}

// formFailure reports the inputs a form could not read (fe) together with
// what the record's own rules find wrong in the rest, so the user fixes
// everything in one round; nil when every input was read.
func formFailure(fe crm.FieldErrors, rec interface {
	Normalize()
	Validate() error
}) error {
	if len(fe) == 0 {
		return nil
	}
	rec.Normalize()
	if verr, ok := formErrors(rec.Validate()); ok {
		for k, v := range verr {
			fe.Add(k, v)
		}
	}
	return fe.Err()
}

// listQuery reads the search text and the page of a list's query string,
// so that every list trims the search and pages alike.
func listQuery(q url.Values) (string, store.Page) {
	return strings.TrimSpace(q.Get("q")), store.Page{Limit: listLimit, Cursor: q.Get("cursor")}
}
