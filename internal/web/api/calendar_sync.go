package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
)

type calendarSyncJSON struct {
	Enabled       bool            `json:"enabled"`
	CalendarID    string          `json:"calendar_id"`
	SyncFrom      string          `json:"sync_from"`
	Auto          bool            `json:"auto"`
	PeriodMinutes int             `json:"period_minutes"`
	ImportAs      string          `json:"import_as"`
	ResyncFrom    *string         `json:"resync_from"`
	Collection    string          `json:"collection"`
	LastRunAt     *time.Time      `json:"last_run_at"`
	LastError     string          `json:"last_error"`
	LastStats     json.RawMessage `json:"last_stats"`
	Push          pushJSON        `json:"push"`
}

// pushJSON says whether calendar changes arrive by push.
type pushJSON struct {
	On     bool             `json:"on"`
	Reason provider.PushOff `json:"reason,omitempty"` // why not
}

type calendarSyncIn struct {
	Enabled       *bool   `json:"enabled"`
	CalendarID    *string `json:"calendar_id"`
	SyncFrom      *string `json:"sync_from"`
	Auto          *bool   `json:"auto"`
	PeriodMinutes *int    `json:"period_minutes"`
	ImportAs      *string `json:"import_as"`
}

func (a *API) calendarSync(w http.ResponseWriter, r *http.Request, c *store.Connection) {
	st, err := a.sync.Binding(r.Context(), c.ID, provider.Event)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	b, es := st.Binding, st.Settings.(*syncer.EventSettings)
	out := calendarSyncJSON{Enabled: b.Enabled, CalendarID: es.CalendarID, SyncFrom: es.SyncFrom, Auto: es.Auto,
		PeriodMinutes: es.PeriodMinutes, ImportAs: es.ImportAs, ResyncFrom: optional(es.ResyncFrom), Collection: b.Collection,
		LastError: b.LastError}
	out.LastRunAt, out.LastStats = lastRun(b)
	if st.Push != nil {
		out.Push = pushJSON{On: st.Push.On, Reason: st.Push.Off}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getCalendarSync(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if c, ok := a.ownConnection(w, r, v); ok {
		a.calendarSync(w, r, c)
	}
}

func (a *API) putCalendarSync(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.ownConnection(w, r, v)
	if !ok {
		return
	}
	var in calendarSyncIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	st, err := a.sync.Binding(r.Context(), c.ID, provider.Event)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	enabled, es := st.Binding.Enabled, *st.Settings.(*syncer.EventSettings)
	set(&enabled, in.Enabled)
	set(&es.CalendarID, in.CalendarID)
	set(&es.SyncFrom, in.SyncFrom)
	set(&es.Auto, in.Auto)
	set(&es.PeriodMinutes, in.PeriodMinutes)
	set(&es.ImportAs, in.ImportAs)
	if err := a.sync.SaveSettings(r.Context(), v, c.ID, provider.Event, enabled, &es); err != nil {
		a.fail(w, r, err)
		return
	}
	a.calendarSync(w, r, c)
}

// listCalendars lists the calendars of the connection's account.
func (a *API) listCalendars(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.ownConnection(w, r, v)
	if !ok {
		return
	}
	cs, err := a.sync.Collections(r.Context(), c.ID, provider.Event)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(cs, ""))
}

// resyncCalendar syncs the calendar again from a date (after an outage)
// and queues the run.
func (a *API) resyncCalendar(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.ownConnection(w, r, v)
	if !ok {
		return
	}
	var in struct {
		From string `json:"from"`
	}
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.sync.Resync(r.Context(), c.ID, provider.Event, in.From); err != nil {
		a.fail(w, r, err)
		return
	}
	a.enqueueSync(w, r, c, "resync")
}
