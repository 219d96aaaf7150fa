package api

import (
	"net/http"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

type tagFull struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Color     string    `json:"color"`
	OwnerID   string    `json:"owner_id"`
	CreatedAt time.Time `json:"created_at"`
}

type tagWrite struct {
	Name  *string `json:"name"`
	Kind  *string `json:"kind"`
	Color *string `json:"color"`
}

func tagJSON(t *crm.Tag) tagFull {
	return tagFull{ID: t.ID, Name: t.Name, Kind: t.Kind, Color: t.Color, OwnerID: t.OwnerID, CreatedAt: t.CreatedAt}
}

func (a *API) listTags(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	tags, err := a.st.ListTags(r.Context(), v, r.URL.Query().Get("kind"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]tagFull, len(tags))
	for i := range tags {
		out[i] = tagJSON(&tags[i])
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

func (a *API) createTag(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	var in tagWrite
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	t := &crm.Tag{}
	set(&t.Name, in.Name)
	set(&t.Kind, in.Kind)
	set(&t.Color, in.Color)
	if err := a.st.SaveTag(r.Context(), v, t); err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/tags/"+t.ID)
	writeJSON(w, http.StatusCreated, tagJSON(t))
}

func (a *API) getTag(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	t, err := a.st.GetTag(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tagJSON(t))
}

func (a *API) patchTag(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	var in tagWrite
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	t, err := a.st.GetTag(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if in.Kind != nil && *in.Kind != t.Kind {
		a.fail(w, r, &crm.ValidationError{Fields: crm.FieldErrors{"kind": "error.read_only"}})
		return
	}
	set(&t.Name, in.Name)
	set(&t.Color, in.Color)
	if err := a.st.SaveTag(r.Context(), v, t); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tagJSON(t))
}

func (a *API) deleteTag(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if err := a.st.DeleteTag(r.Context(), v, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type groupOut struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Entity      string      `json:"entity"`
	OwnerID     string      `json:"owner_id"`
	MemberCount int         `json:"member_count"`
	Access      []grantJSON `json:"access"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

type groupIn struct {
	Name   *string      `json:"name"`
	Entity *string      `json:"entity"`
	Access *[]grantJSON `json:"access"`
}

func groupJSON(g *crm.Group) groupOut {
	return groupOut{ID: g.ID, Name: g.Name, Entity: g.Entity, OwnerID: g.OwnerID, MemberCount: g.MemberCount,
		Access: grantsOut(g.Access), CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	gs, err := a.st.ListGroups(r.Context(), v, r.URL.Query().Get("entity"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]groupOut, len(gs))
	for i := range gs {
		out[i] = groupJSON(&gs[i])
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	var in groupIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	g := &crm.Group{}
	set(&g.Name, in.Name)
	set(&g.Entity, in.Entity)
	if in.Access != nil {
		g.Access = grantsIn(in.Access)
	}
	if err := a.st.SaveGroup(r.Context(), v, g); err != nil {
		a.fail(w, r, err)
		return
	}
	a.respondGroup(w, r, v, g.ID, http.StatusCreated)
}

func (a *API) respondGroup(w http.ResponseWriter, r *http.Request, v access.Viewer, id string, status int) {
	g, err := a.st.GetGroup(r.Context(), v, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/groups/"+g.ID)
	}
	writeJSON(w, status, groupJSON(g))
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.respondGroup(w, r, v, r.PathValue("id"), http.StatusOK)
}

func (a *API) patchGroup(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	var in groupIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	g, err := a.st.GetGroup(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if in.Entity != nil && *in.Entity != g.Entity {
		a.fail(w, r, &crm.ValidationError{Fields: crm.FieldErrors{"entity": "error.read_only"}})
		return
	}
	set(&g.Name, in.Name)
	g.Access = nil
	if in.Access != nil {
		g.Access = grantsIn(in.Access)
	}
	if err := a.st.SaveGroup(r.Context(), v, g); err != nil {
		a.fail(w, r, err)
		return
	}
	a.respondGroup(w, r, v, g.ID, http.StatusOK)
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if err := a.st.DeleteGroup(r.Context(), v, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type membersIn struct {
	IDs []string `json:"ids"`
}

func (a *API) addMembers(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.changeMembers(w, r, v, true)
}

func (a *API) removeMembers(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	a.changeMembers(w, r, v, false)
}

func (a *API) changeMembers(w http.ResponseWriter, r *http.Request, v access.Viewer, add bool) {
	var in membersIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if len(in.IDs) == 0 {
		a.fail(w, r, &crm.ValidationError{Fields: crm.FieldErrors{"ids": crm.ErrRequired}})
		return
	}
	var err error
	if add {
		err = a.st.AddGroupMembers(r.Context(), v, r.PathValue("id"), in.IDs)
	} else {
		err = a.st.RemoveGroupMembers(r.Context(), v, r.PathValue("id"), in.IDs)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.respondGroup(w, r, v, r.PathValue("id"), http.StatusOK)
}
