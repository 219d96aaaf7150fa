package ui

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/syncer"
)

// Sync pages: a connection's contact sync settings, "Run sync now", the
// dry-run preview, and the journal on contact cards.

// SyncService is the sync service the UI drives (declared once, in
// syncer, for the API and the UI).
type SyncService = syncer.Sync

// Each kind a connection's provider supports has its card, drawn by the
// kind's template (partials/sync.html); the provider shows only as data:
// its display name in the labels, the path that asks it for consent.

// bindingCard is what every kind's card shows of its binding.
type bindingCard struct {
	Available bool                // the connection's provider syncs the kind, in this process
	Provider  string              // the provider's display name
	Off       bool                // the administrator switched the kind off for the provider
	OffKey    string              // what the card says about it
	Push      *provider.PushState // nil: the provider has no push for the kind
	Enabled   bool
	LastRun   time.Time
	LastError string
	Stats     reconcile.Stats
	Preview   []store.JournalEntry // after "Preview": the kind's part
	Previewed bool
	Errors    map[string]string
	// NeedsConsent: the account did not grant Tandem the kind (turned on
	// after it connected); ConnectPath asks for it.
	NeedsConsent bool
	ConnectPath  string
}

func newBindingCard(st *syncer.BindingState) bindingCard {
	b := st.Binding
	c := bindingCard{Available: true, Provider: st.DisplayName, Push: st.Push, Enabled: b.Enabled, LastRun: b.LastRunAt,
		LastError: b.LastError, NeedsConsent: st.NeedsConsent, ConnectPath: st.ConnectPath}
	json.Unmarshal([]byte(b.LastStats), &c.Stats)
	if st.Off != nil {
		c.Off, c.OffKey = true, st.Off.Key
	}
	return c
}

// pickedCards are the collections of a kind that sync, where a provider
// takes several (each a binding with its own last run), the home one
// first.
type pickedCards struct {
	Several bool
	Picked  []pickedRow
}

// pickedRow is one collection that syncs.
type pickedRow struct {
	ID, Name  string
	Home      bool
	LastRun   time.Time
	LastError string
	Stats     reconcile.Stats
}

// pickChoice is a collection of the account's list as the card offers
// it: whether it syncs, whether it is the home one.
type pickChoice struct {
	ID, Name       string
	Primary        bool
	Picked, IsHome bool
}

func newPickedCards(st *syncer.BindingState, list []provider.Collection) pickedCards {
	pc := pickedCards{Several: st.Kind.Several}
	for i, b := range st.Picked {
		row := pickedRow{ID: b.Collection, Name: collectionName(list, b.Collection), Home: i == 0, LastRun: b.LastRunAt,
			LastError: b.LastError}
		json.Unmarshal([]byte(b.LastStats), &row.Stats)
		pc.Picked = append(pc.Picked, row)
	}
	return pc
}

// collectionName is a collection's name in the list, else its id.
func collectionName(list []provider.Collection, id string) string {
	for _, c := range list {
		if c.ID == id {
			return c.Name
		}
	}
	return id
}

// choices are the account's collections with the picked ones and the
// home one marked; a picked one the list no longer shows stays.
func choices(list []provider.Collection, picked []string, home string) []pickChoice {
	var out []pickChoice
	seen := map[string]bool{}
	for _, c := range list {
		seen[c.ID] = true
		out = append(out, pickChoice{ID: c.ID, Name: c.Name, Primary: c.Primary, Picked: slices.Contains(picked, c.ID) || c.ID == home,
			IsHome: c.ID == home})
	}
	for _, id := range picked {
		if !seen[id] {
			out = append(out, pickChoice{ID: id, Name: id, Picked: true, IsHome: id == home})
		}
	}
	return out
}

// calendarSyncView is the calendar (event kind) card of a connection page.
type calendarSyncView struct {
	bindingCard
	pickedCards
	Settings    syncer.EventSettings
	ImportTypes []string
	Today       string // the default date to sync again from
	Calendars   []provider.Collection
	CalendarErr string // the calendar list could not be read
}

// Choices are the calendars to pick from (a provider that takes several).
func (v calendarSyncView) Choices() []pickChoice {
	return choices(v.Calendars, v.Settings.CalendarIDs, v.Settings.CalendarID)
}

func (u *UI) calendarSyncView(ctx context.Context, connID string, st *syncer.BindingState) calendarSyncView {
	v := calendarSyncView{bindingCard: newBindingCard(st), Settings: *st.Settings.(*syncer.EventSettings),
		ImportTypes: syncer.ImportTypes, Today: time.Now().Format("2006-01-02")}
	var err error
	if v.Calendars, err = u.sync.Collections(ctx, connID, provider.Event); err != nil {
		v.CalendarErr = err.Error()
	}
	v.pickedCards = newPickedCards(st, v.Calendars)
	return v
}

func (u *UI) saveCalendarSync(w http.ResponseWriter, r *http.Request, c *Ctx) {
	cn, ok := u.ownConnection(w, r, c)
	if !ok {
		return
	}
	period, _ := strconv.Atoi(r.PostFormValue("period_minutes"))
	// calendar_id is the calendar (the home one where several sync: a
	// radio button next to each calendar's box, calendar_ids).
	es := syncer.EventSettings{CalendarID: r.PostFormValue("calendar_id"), CalendarIDs: r.PostForm["calendar_ids"],
		SyncFrom: r.PostFormValue("sync_from"), Auto: r.PostFormValue("auto") != "", PeriodMinutes: period,
		ImportAs: r.PostFormValue("import_as")}
	enabled := r.PostFormValue("enabled") != ""
	err := u.sync.SaveSettings(r.Context(), c.V, cn.ID, provider.Event, enabled, &es)
	var se *syncer.SettingsError
	if errors.As(err, &se) {
		u.renderAccountWith(w, r, c, cn, http.StatusUnprocessableEntity, nil, func(v *calendarSyncView) {
			v.Errors, v.Settings, v.Enabled = se.Fields, es, enabled
		})
		return
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/profile/accounts/"+cn.ID, Flash{Kind: FlashSuccess, Key: "sync.saved"})
}

// taskSyncView is the to-do list (task kind) card of a connection page.
type taskSyncView struct {
	bindingCard
	pickedCards
	Settings syncer.TaskSettings
	Lists    []provider.Collection
	ListErr  string // the list of task lists could not be read
}

// Choices are the task lists to pick from (a provider that takes several).
func (v taskSyncView) Choices() []pickChoice {
	return choices(v.Lists, v.Settings.ListIDs, v.Settings.ListID)
}

func (u *UI) taskSyncView(ctx context.Context, connID string, st *syncer.BindingState) taskSyncView {
	v := taskSyncView{bindingCard: newBindingCard(st), Settings: *st.Settings.(*syncer.TaskSettings)}
	var err error
	if v.Lists, err = u.sync.Collections(ctx, connID, provider.Task); err != nil {
		v.ListErr = err.Error()
	}
	v.pickedCards = newPickedCards(st, v.Lists)
	return v
}

func (u *UI) saveTaskSync(w http.ResponseWriter, r *http.Request, c *Ctx) {
	cn, ok := u.ownConnection(w, r, c)
	if !ok {
		return
	}
	period, _ := strconv.Atoi(r.PostFormValue("period_minutes"))
	ts := syncer.TaskSettings{ListID: r.PostFormValue("list_id"), ListIDs: r.PostForm["list_ids"],
		SyncFrom: r.PostFormValue("sync_from"), Auto: r.PostFormValue("auto") != "", PeriodMinutes: period}
	enabled := r.PostFormValue("enabled") != ""
	err := u.sync.SaveSettings(r.Context(), c.V, cn.ID, provider.Task, enabled, &ts)
	var se *syncer.SettingsError
	if errors.As(err, &se) {
		u.renderAccountEdit(w, r, c, cn, http.StatusUnprocessableEntity, accountEdits{tasks: func(v *taskSyncView) {
			v.Errors, v.Settings, v.Enabled = se.Fields, ts, enabled
		}})
		return
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/profile/accounts/"+cn.ID, Flash{Kind: FlashSuccess, Key: "sync.saved"})
}

// contactSyncView is the contact kind's card of a connection page.
type contactSyncView struct {
	bindingCard
	// Named: Tandem creates the remote collection under a name the user
	// may change (GroupName).
	Named bool
	// Picked: the user picks the address book from Collections.
	Picked        bool
	Collections   []provider.Collection
	CollectionErr string // the list could not be read
	Settings      syncer.ContactSettings
	Tags          []crm.Tag // the user's personal tags
}

func (u *UI) contactSyncView(ctx context.Context, c *Ctx, st *syncer.BindingState) contactSyncView {
	v := contactSyncView{bindingCard: newBindingCard(st), Settings: *st.Settings.(*syncer.ContactSettings),
		Named: st.Kind.Collection == provider.CollectionNamed}
	v.Tags, _ = u.st.ListTags(ctx, c.V, crm.TagPersonal)
	if st.Kind.Collection == provider.CollectionPicked {
		v.Picked = true
		var err error
		if v.Collections, err = u.sync.Collections(ctx, st.Binding.ConnectionID, provider.Contact); err != nil {
			v.CollectionErr = err.Error()
		}
	}
	return v
}

func (u *UI) syncRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /profile/accounts/{id}/contacts", u.authed(u.saveContactSync))
	mux.HandleFunc("POST /profile/accounts/{id}/calendar", u.authed(u.saveCalendarSync))
	mux.HandleFunc("POST /profile/accounts/{id}/calendar/resync", u.authed(u.resyncCalendar))
	mux.HandleFunc("POST /profile/accounts/{id}/tasks", u.authed(u.saveTaskSync))
	mux.HandleFunc("POST /profile/accounts/{id}/sync", u.authed(u.runSyncNow))
	mux.HandleFunc("GET /profile/accounts/{id}/sync/events", u.authed(u.syncEvents))
	mux.HandleFunc("POST /profile/accounts/{id}/preview", u.authed(u.previewSync))
	mux.HandleFunc("POST /contacts/sync", u.authed(u.syncContactsNow))
}

// ownConnection loads one of the viewer's connections (404 otherwise).
func (u *UI) ownConnection(w http.ResponseWriter, r *http.Request, c *Ctx) (*store.Connection, bool) {
	cn, err := u.st.GetUserConnection(r.Context(), c.V.UserID, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return nil, false
	}
	if u.sync == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return nil, false
	}
	return cn, true
}

func (u *UI) saveContactSync(w http.ResponseWriter, r *http.Request, c *Ctx) {
	cn, ok := u.ownConnection(w, r, c)
	if !ok {
		return
	}
	period, _ := strconv.Atoi(r.PostFormValue("period_minutes"))
	cs := syncer.ContactSettings{TagID: r.PostFormValue("tag_id"), Auto: r.PostFormValue("auto") != "",
		PeriodMinutes: period, GroupName: r.PostFormValue("group_name"), CollectionID: r.PostFormValue("collection_id"),
		RemoteDelete: r.PostFormValue("remote_delete")}
	err := u.sync.SaveSettings(r.Context(), c.V, cn.ID, provider.Contact, r.PostFormValue("enabled") != "", &cs)
	var se *syncer.SettingsError
	if errors.As(err, &se) {
		u.renderAccount(w, r, c, cn, http.StatusUnprocessableEntity, func(v *contactSyncView) {
			v.Errors, v.Settings, v.Enabled = se.Fields, cs, r.PostFormValue("enabled") != ""
		})
		return
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/profile/accounts/"+cn.ID, Flash{Kind: FlashSuccess, Key: "sync.saved"})
}

func (u *UI) runSyncNow(w http.ResponseWriter, r *http.Request, c *Ctx) {
	cn, ok := u.ownConnection(w, r, c)
	if !ok {
		return
	}
	job, _, err := u.sync.Enqueue(r.Context(), cn.ID, "manual")
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	// The page follows the run live (sync_events.go).
	redirect(w, r, runPage(cn.ID, job), Flash{Kind: FlashInfo, Key: "sync.started"})
}

func (u *UI) previewSync(w http.ResponseWriter, r *http.Request, c *Ctx) {
	cn, ok := u.ownConnection(w, r, c)
	if !ok {
		return
	}
	plan, _, err := u.sync.Preview(r.Context(), cn.ID)
	if err != nil {
		redirect(w, r, "/profile/accounts/"+cn.ID, Flash{Kind: FlashError, Key: "sync.preview_failed", Args: []any{err.Error()}})
		return
	}
	// One preview covers every binding; each card shows its own part, by
	// the kind of the entry's binding.
	kinds := map[string]provider.Kind{}
	if states, err := u.sync.Bindings(r.Context(), cn.ID); err == nil {
		for _, st := range states {
			if st.Saved() { // a preview runs saved bindings only
				kinds[st.Binding.ID] = st.Kind.Kind
			}
			for _, b := range st.Picked {
				kinds[b.ID] = st.Kind.Kind
			}
		}
	}
	byKind := map[provider.Kind][]store.JournalEntry{}
	for _, e := range plan {
		byKind[kinds[e.BindingID]] = append(byKind[kinds[e.BindingID]], e)
	}
	u.renderAccountEdit(w, r, c, cn, http.StatusOK, accountEdits{
		contacts: func(v *contactSyncView) { v.Preview, v.Previewed = byKind[provider.Contact], true },
		calendar: func(v *calendarSyncView) { v.Preview, v.Previewed = byKind[provider.Event], true },
		tasks:    func(v *taskSyncView) { v.Preview, v.Previewed = byKind[provider.Task], true }})
}

// resyncCalendar syncs the calendar again from a chosen date (after an
// outage) and queues the run.
func (u *UI) resyncCalendar(w http.ResponseWriter, r *http.Request, c *Ctx) {
	cn, ok := u.ownConnection(w, r, c)
	if !ok {
		return
	}
	from := r.PostFormValue("from")
	err := u.sync.Resync(r.Context(), cn.ID, provider.Event, from)
	var se *syncer.SettingsError
	if errors.As(err, &se) {
		u.renderAccountWith(w, r, c, cn, http.StatusUnprocessableEntity, nil, func(v *calendarSyncView) {
			v.Errors, v.Today = se.Fields, from
		})
		return
	}
	var job int64
	if err == nil {
		job, _, err = u.sync.Enqueue(r.Context(), cn.ID, "resync")
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, runPage(cn.ID, job), Flash{Kind: FlashInfo, Key: "sync.calendar.resync_queued", Args: []any{from}})
}

// runPage is a connection's page following the run of job.
func runPage(connID string, job int64) string {
	return "/profile/accounts/" + connID + "?run=" + strconv.FormatInt(job, 10)
}

// syncContactsNow is "Run sync now" on the contacts page: every one of the
// user's connections with contact sync on.
func (u *UI) syncContactsNow(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if u.sync == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return
	}
	conns, err := u.st.ListConnections(r.Context(), c.V.UserID)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	n, last, job := 0, "", int64(0)
	for _, cn := range conns {
		if st, err := u.sync.Binding(r.Context(), cn.ID, provider.Contact); err == nil && st.Binding.Enabled {
			if job, _, err = u.sync.Enqueue(r.Context(), cn.ID, "manual"); err != nil {
				u.fail(w, r, c, err)
				return
			}
			n, last = n+1, cn.ID
		}
	}
	switch n {
	case 0:
		redirect(w, r, "/profile/accounts", Flash{Kind: FlashInfo, Key: "sync.none_enabled"})
	case 1: // its page follows the run
		redirect(w, r, runPage(last, job), Flash{Kind: FlashInfo, Key: "sync.started"})
	default:
		redirect(w, r, "/contacts", Flash{Kind: FlashInfo, Key: "sync.queued"})
	}
}

// journalRow is one line of a record's sync history, in the viewer's
// words: fields as the forms label them, the reason translated.
type journalRow struct {
	At     time.Time
	Side   string
	Action string
	Fields []string
	Reason string
}

func (u *UI) journalRows(ctx context.Context, l i18n.Lang, recordID string) []journalRow {
	es, err := u.st.Journal(ctx, recordID, 20)
	if err != nil {
		u.log.ErrorContext(ctx, "read journal", "err", err)
		return nil
	}
	out := make([]journalRow, len(es))
	for i, e := range es {
		row := journalRow{At: e.At, Side: e.Side, Action: e.Action, Reason: reconcile.DescribeReason(l, e.Entity, e.Reason)}
		for _, f := range e.Fields {
			row.Fields = append(row.Fields, reconcile.FieldLabel(l, e.Entity, f))
		}
		out[i] = row
	}
	return out
}
