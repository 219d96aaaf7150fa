package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
)

// The generic binding routes, one set for every provider and kind:
//
//	GET  /api/v1/connections/{id}/sync/{kind}              the binding's settings, schema and state
//	PUT  /api/v1/connections/{id}/sync/{kind}              change them ({"enabled", "settings": {…}})
//	GET  /api/v1/connections/{id}/sync/{kind}/collections  the remote collections to pick from
//
// A kind the connection's provider does not sync is 404. The older
// per-kind routes (/contacts, /calendar, /calendars) stay as they are.

type bindingSyncJSON struct {
	Kind           provider.Kind           `json:"kind"`
	Provider       string                  `json:"provider"`
	CollectionMode provider.CollectionMode `json:"collection_mode"`
	Several        bool                    `json:"several"`
	Picked         []pickedJSON            `json:"picked"`
	Saved          bool                    `json:"saved"`
	Enabled        bool                    `json:"enabled"`
	Settings       map[string]any          `json:"settings"`
	Schema         syncer.Schema           `json:"schema"`
	Collection     string                  `json:"collection"`
	Off            *string                 `json:"off"` // why the kind is off system-wide
	Push           *pushJSON               `json:"push"`
	NeedsConsent   bool                    `json:"needs_consent"`
	LastRunAt      *time.Time              `json:"last_run_at"`
	LastError      string                  `json:"last_error"`
	LastStats      json.RawMessage         `json:"last_stats"`
}

// pickedJSON is one collection that syncs, with its binding's last run.
type pickedJSON struct {
	Collection string          `json:"collection"`
	Home       bool            `json:"home"`
	LastRunAt  *time.Time      `json:"last_run_at"`
	LastError  string          `json:"last_error"`
	LastStats  json.RawMessage `json:"last_stats"`
}

type bindingSyncIn struct {
	Enabled  *bool           `json:"enabled"`
	Settings json.RawMessage `json:"settings"`
}

// bindingKind reads the {kind} of the path; one Tandem does not know is 404.
func (a *API) bindingKind(w http.ResponseWriter, r *http.Request) (provider.Kind, bool) {
	k, err := provider.ParseKind(r.PathValue("kind"))
	if err != nil {
		a.problem(w, r, http.StatusNotFound, "error.not_found", nil)
		return "", false
	}
	return k, true
}

func (a *API) bindingSync(w http.ResponseWriter, r *http.Request, c *store.Connection, kind provider.Kind) {
	st, err := a.sync.Binding(r.Context(), c.ID, kind)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	b := st.Binding
	out := bindingSyncJSON{Kind: kind, Provider: st.Provider, CollectionMode: st.Kind.Collection, Saved: st.Saved(),
		Enabled: b.Enabled, Settings: syncer.SettingsFields(st.Settings), Schema: st.Schema, Collection: b.Collection,
		NeedsConsent: st.NeedsConsent, LastError: b.LastError}
	out.LastRunAt, out.LastStats = lastRun(b)
	out.Several, out.Picked = st.Kind.Several, []pickedJSON{}
	for i, pb := range st.Picked {
		pj := pickedJSON{Collection: pb.Collection, Home: i == 0, LastError: pb.LastError}
		pj.LastRunAt, pj.LastStats = lastRun(pb)
		out.Picked = append(out.Picked, pj)
	}
	if st.Off != nil {
		out.Off = &st.Off.Reason
	}
	if st.Push != nil {
		out.Push = &pushJSON{On: st.Push.On, Reason: st.Push.Off}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getBindingSync(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.ownConnection(w, r, v)
	if !ok {
		return
	}
	if kind, ok := a.bindingKind(w, r); ok {
		a.bindingSync(w, r, c, kind)
	}
}

func (a *API) putBindingSync(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.ownConnection(w, r, v)
	if !ok {
		return
	}
	kind, ok := a.bindingKind(w, r)
	if !ok {
		return
	}
	var in bindingSyncIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	st, err := a.sync.Binding(r.Context(), c.ID, kind)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	enabled, set := st.Binding.Enabled, st.Settings
	if in.Enabled != nil {
		enabled = *in.Enabled
	}
	if len(in.Settings) > 0 && string(in.Settings) != "null" {
		if set, err = syncer.PatchSettings(set, in.Settings); err != nil {
			a.fail(w, r, &decodeError{key: "error.form", fields: crm.FieldErrors{"settings": "error.invalid"}})
			return
		}
	}
	if err := a.sync.SaveSettings(r.Context(), v, c.ID, kind, enabled, set); err != nil {
		a.fail(w, r, err)
		return
	}
	a.bindingSync(w, r, c, kind)
}

func (a *API) listBindingCollections(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.ownConnection(w, r, v)
	if !ok {
		return
	}
	kind, ok := a.bindingKind(w, r)
	if !ok {
		return
	}
	cs, err := a.sync.Collections(r.Context(), c.ID, kind)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(cs, ""))
}
