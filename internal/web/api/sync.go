package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
)

// Sync is the sync service the API drives (declared once, in syncer, for
// the API and the UI).
type Sync = syncer.Sync

// WithSync enables the sync routes.
func (a *API) WithSync(s Sync) *API {
	a.sync = s
	return a
}

// ownConnection loads a connection of the caller (others' are 404).
func (a *API) ownConnection(w http.ResponseWriter, r *http.Request, v access.Viewer) (*store.Connection, bool) {
	c, err := a.st.GetUserConnection(r.Context(), v.UserID, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return nil, false
	}
	if a.sync == nil {
		a.problem(w, r, http.StatusServiceUnavailable, "error.internal", nil)
		return nil, false
	}
	return c, true
}

func (a *API) runSync(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.ownConnection(w, r, v)
	if !ok {
		return
	}
	if dry := r.URL.Query().Get("dry_run"); dry == "true" || dry == "1" {
		a.previewSync(w, r, c)
		return
	}
	a.enqueueSync(w, r, c, "manual")
}

// enqueueSync queues a run of the connection and answers 202 with the job.
func (a *API) enqueueSync(w http.ResponseWriter, r *http.Request, c *store.Connection, reason string) {
	id, dup, err := a.sync.Enqueue(r.Context(), c.ID, reason)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"job_id": id, "already_queued": dup})
}

type contactSyncJSON struct {
	Enabled       bool            `json:"enabled"`
	TagID         string          `json:"tag_id"`
	Auto          bool            `json:"auto"`
	PeriodMinutes int             `json:"period_minutes"`
	GroupName     string          `json:"group_name"`
	Collection    string          `json:"collection"`
	LastRunAt     *time.Time      `json:"last_run_at"`
	LastError     string          `json:"last_error"`
	LastStats     json.RawMessage `json:"last_stats"`
}

type contactSyncIn struct {
	Enabled       *bool   `json:"enabled"`
	TagID         *string `json:"tag_id"`
	Auto          *bool   `json:"auto"`
	PeriodMinutes *int    `json:"period_minutes"`
	GroupName     *string `json:"group_name"`
}

// lastRun is a binding's last run for the answers: its time (nil before
// the first) and counts ({} before the first).
func lastRun(b *store.Binding) (*time.Time, json.RawMessage) {
	stats := json.RawMessage(b.LastStats)
	if len(stats) == 0 {
		stats = json.RawMessage("{}")
	}
	if b.LastRunAt.IsZero() {
		return nil, stats
	}
	at := b.LastRunAt
	return &at, stats
}

func (a *API) contactSync(w http.ResponseWriter, r *http.Request, c *store.Connection) {
	st, err := a.sync.Binding(r.Context(), c.ID, provider.Contact)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	b, cs := st.Binding, st.Settings.(*syncer.ContactSettings)
	out := contactSyncJSON{Enabled: b.Enabled, TagID: cs.TagID, Auto: cs.Auto, PeriodMinutes: cs.PeriodMinutes,
		GroupName: cs.GroupName, Collection: b.Collection, LastError: b.LastError}
	out.LastRunAt, out.LastStats = lastRun(b)
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getContactSync(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if c, ok := a.ownConnection(w, r, v); ok {
		a.contactSync(w, r, c)
	}
}

func (a *API) putContactSync(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.ownConnection(w, r, v)
	if !ok {
		return
	}
	var in contactSyncIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	st, err := a.sync.Binding(r.Context(), c.ID, provider.Contact)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	enabled, cs := st.Binding.Enabled, *st.Settings.(*syncer.ContactSettings)
	set(&enabled, in.Enabled)
	set(&cs.TagID, in.TagID)
	set(&cs.Auto, in.Auto)
	set(&cs.PeriodMinutes, in.PeriodMinutes)
	set(&cs.GroupName, in.GroupName)
	if err := a.sync.SaveSettings(r.Context(), v, c.ID, provider.Contact, enabled, &cs); err != nil {
		a.fail(w, r, err)
		return
	}
	a.contactSync(w, r, c)
}

type journalJSON struct {
	Seq       int64     `json:"seq"`
	BindingID string    `json:"binding_id"`
	RemoteID  string    `json:"remote_id"`
	Side      string    `json:"side"`
	Action    string    `json:"action"`
	Fields    []string  `json:"fields"`
	Reason    string    `json:"reason"`      // why, in the caller's language
	Code      string    `json:"reason_code"` // the stable code behind Reason (reconcile.Reason*)
	At        time.Time `json:"at,omitzero"`
	Name      string    `json:"name,omitempty"`
}

// contactJournal shows what sync did to a contact the caller may read.
func (a *API) contactJournal(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if _, err := a.st.GetContact(r.Context(), v, r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	es, err := a.st.Journal(r.Context(), r.PathValue("id"), 100)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]journalJSON, len(es))
	for i, e := range es {
		out[i] = journalJSON{Seq: e.Seq, BindingID: e.BindingID, RemoteID: e.RemoteID, Side: e.Side, Action: e.Action,
			Fields: e.Fields, Reason: reconcile.DescribeReason(lang(r), e.Entity, e.Reason),
			Code: reconcile.ReasonCode(e.Reason), At: e.At}
		if out[i].Fields == nil {
			out[i].Fields = []string{}
		}
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

type previewJSON struct {
	DryRun bool                       `json:"dry_run"`
	Items  []journalJSON              `json:"plan"`
	Stats  map[string]reconcile.Stats `json:"stats"` // by binding kind
}

// previewSync answers what a run would do on each side, changing nothing.
func (a *API) previewSync(w http.ResponseWriter, r *http.Request, c *store.Connection) {
	plan, stats, err := a.sync.Preview(r.Context(), c.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := previewJSON{DryRun: true, Items: make([]journalJSON, len(plan)), Stats: stats}
	for i, e := range plan {
		out.Items[i] = journalJSON{BindingID: e.BindingID, RemoteID: e.RemoteID, Side: e.Side, Action: e.Action,
			Fields: e.Fields, Reason: reconcile.DescribeReason(lang(r), e.Entity, e.Reason),
			Code: reconcile.ReasonCode(e.Reason), Name: e.Name}
		if out.Items[i].Fields == nil {
			out.Items[i].Fields = []string{}
		}
	}
	writeJSON(w, http.StatusOK, out)
}
