package ui

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

// The access editor on record cards: who besides the owner may read or
// edit a contact, account, activity or case (roles with a level).

// grantView is one line of a record's access list.
type grantView struct {
	RoleID string
	Role   string
	Level  string
}

// accessView is what the "access_editor" partial shows.
type accessView struct {
	Action  string // POST target, e.g. /contacts/<id>/access
	Grants  []grantView
	Roles   []Option // every role, for the add row
	CanEdit bool
}

// entityOf maps a card's path prefix to the change-log entity.
var entityOf = map[string]string{"/contacts/": store.EntityContact, "/accounts/": store.EntityAccount,
	"/activities/": store.EntityActivity, "/cases/": store.EntityCase}

func (u *UI) accessView(ctx context.Context, c *Ctx, recordPath string, gs []crm.Grant) accessView {
	av := accessView{Action: recordPath + "/access"}
	names := map[string]string{}
	if roles, err := u.st.ListRoles(ctx); err == nil {
		for _, r := range roles {
			names[r.ID] = r.Name
			av.Roles = append(av.Roles, Option{Value: r.ID, Label: r.Name})
		}
	}
	for _, g := range gs {
		n := names[g.RoleID]
		if n == "" {
			n = g.RoleID
		}
		av.Grants = append(av.Grants, grantView{RoleID: g.RoleID, Role: n, Level: g.Level})
	}
	for prefix, entity := range entityOf {
		if id, ok := strings.CutPrefix(recordPath, prefix); ok {
			av.CanEdit, _ = u.st.Editable(ctx, c.V, entity, id)
		}
	}
	return av
}

func (u *UI) accessRoutes(mux *http.ServeMux) {
	for prefix := range entityOf {
		mux.HandleFunc("POST "+prefix+"{id}/access", u.authed(u.saveAccess(prefix)))
	}
}

// saveAccess replaces a record's grants with the submitted rows (role_id
// and level pairs; rows with a "remove" mark or no role are dropped).
func (u *UI) saveAccess(prefix string) handler {
	return func(w http.ResponseWriter, r *http.Request, c *Ctx) {
		id := r.PathValue("id")
		back := prefix + id
		roles, levels, removed := r.PostForm["role_id"], r.PostForm["level"], r.PostForm["remove"]
		grants := []crm.Grant{}
		for i, role := range roles {
			if role == "" || i >= len(levels) || contains(removed, role) {
				continue
			}
			grants = append(grants, crm.Grant{RoleID: role, Level: levels[i]})
		}
		fe := crm.FieldErrors{}
		crm.ValidateGrants(fe, grants)
		if len(fe) > 0 {
			redirect(w, r, back, Flash{Kind: FlashError, Key: "access.invalid"})
			return
		}
		err := u.setGrants(r.Context(), c.V, entityOf[prefix], id, grants)
		if _, isForm := formErrors(err); isForm {
			redirect(w, r, back, Flash{Kind: FlashError, Key: "access.invalid"})
			return
		}
		if err != nil {
			u.fail(w, r, c, err)
			return
		}
		redirect(w, r, back, Flash{Kind: FlashSuccess, Key: "access.saved"})
	}
}

// setGrants replaces a record's grants, leaving the rest of it (tags
// included) as it is.
func (u *UI) setGrants(ctx context.Context, v access.Viewer, entity, id string, grants []crm.Grant) error {
	switch entity {
	case store.EntityContact:
		return regrant(ctx, v, id, u.st.GetContact, u.st.UpdateContact, func(x *crm.Contact) int64 {
			x.Tags, x.Access = nil, grants
			return x.Version
		})
	case store.EntityAccount:
		return regrant(ctx, v, id, u.st.GetAccount, u.st.UpdateAccount, func(x *crm.Account) int64 {
			x.Tags, x.Access = nil, grants
			return x.Version
		})
	case store.EntityActivity:
		return regrant(ctx, v, id, u.st.GetActivity, u.st.UpdateActivity, func(x *crm.Activity) int64 {
			x.Tags, x.Access = nil, grants
			return x.Version
		})
	case store.EntityCase:
		return regrant(ctx, v, id, u.st.GetCase, u.st.UpdateCase, func(x *crm.Case) int64 {
			x.Tags, x.Access = nil, grants
			return x.Version
		})
	}
	return fmt.Errorf("set grants: unknown entity %q", entity)
}

// regrant reads a record, lets set put the new grants on it and saves it
// under the version read (set returns it).
func regrant[T any](ctx context.Context, v access.Viewer, id string, get func(context.Context, access.Viewer, string) (*T, error),
	update func(context.Context, access.Viewer, *T, int64) error, set func(*T) int64) error {
	rec, err := get(ctx, v, id)
	if err != nil {
		return err
	}
	return update(ctx, v, rec, set(rec))
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
