package syncer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/connector/google"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/crmsync"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// EventSettings is the policy of a calendar binding (SPEC §4 Google
// Calendar): which calendar, from which date, how often. A connection
// has a binding per calendar it ever synced; the current one is what the
// settings show and run. Choosing another calendar unsubscribes the
// current binding (its links are removed, no record is deleted) and
// subscribes the chosen one afresh: a full import and export for the
// period, matched against what is there so nothing is created twice.
type EventSettings struct {
	CalendarID    string `json:"calendar_id"`    // a Google calendar id ("primary" or from the calendar list)
	SyncFrom      string `json:"sync_from"`      // YYYY-MM-DD: older items are not synced
	Auto          bool   `json:"auto"`           // sync on a period
	PeriodMinutes int    `json:"period_minutes"` // the period when Auto
	// ImportAs is the type of activity an event from Google becomes:
	// "meeting" (the default) or "note" (the import mode that keeps
	// imported events as notes).
	ImportAs string `json:"import_as,omitempty"`
	// ResyncFrom (YYYY-MM-DD), set by Resync, makes the next run list the
	// calendar again from that date; it is cleared once a run succeeds.
	ResyncFrom string `json:"resync_from,omitempty"`
	Current    bool   `json:"current,omitempty"`
}

// ImportTypes are the activity types an imported event may become.
var ImportTypes = []string{"meeting", "note"}

// ErrCalendarOff: the administrator chose no Google calendar integration
// (setting CalendarIntegration), so calendar bindings do not run.
var ErrCalendarOff = errors.New("sync: calendar sync with Google is off: the administrator chose another calendar integration")

// CalendarOn reports whether Google is the system's calendar integration
// (SPEC §4: one integration for the whole system, Google or Exchange).
func (s *Service) CalendarOn(ctx context.Context) (bool, error) {
	v, err := s.Settings.Get(ctx, "CalendarIntegration")
	return v == "google", err
}

// CalendarInfo is one of the user's calendars.
type CalendarInfo = google.CalendarInfo

// From is the sync-from date as an instant: midnight of the date in zone
// tz (the user's; UTC when empty or unknown). Zero when no date is set.
func (es EventSettings) From(tz string) time.Time {
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		loc = time.UTC
	}
	t, err := time.ParseInLocation(reconcile.DateLayout, es.SyncFrom, loc)
	if err != nil {
		return time.Time{}
	}
	return t
}

func decodeEventSettings(policy string) (EventSettings, error) {
	var es EventSettings
	if err := decodePolicy(policy, &es); err != nil {
		return es, err
	}
	if es.ImportAs == "" {
		es.ImportAs = "meeting"
	}
	if !slices.Contains(ImportTypes, es.ImportAs) {
		return es, fmt.Errorf("binding policy: import_as %q unknown", es.ImportAs)
	}
	return es, nil
}

// EventBinding returns the connection's current calendar binding and its
// settings, creating one (disabled, no calendar) on first use.
func (s *Service) EventBinding(ctx context.Context, connID string) (*store.Binding, EventSettings, error) {
	bs, err := s.Store.ListBindings(ctx, connID)
	if err != nil {
		return nil, EventSettings{}, err
	}
	var blank *store.Binding
	for _, b := range bs {
		if b.Kind != KindEvents {
			continue
		}
		es, err := decodeEventSettings(b.Policy)
		if err != nil {
			return nil, es, fmt.Errorf("calendar binding %s: %w", b.ID, err)
		}
		if es.Current {
			return b, es, nil
		}
		if b.Collection == "" {
			blank = b
		}
	}
	es := EventSettings{PeriodMinutes: DefaultPeriod, Current: true}
	if blank != nil {
		blank.Policy = mustJSON(es)
		if err := s.Store.SaveBinding(ctx, blank); err != nil {
			return nil, es, err
		}
		return blank, es, nil
	}
	b := &store.Binding{ConnectionID: connID, Kind: KindEvents, Collection: "", Enabled: false, Policy: mustJSON(es)}
	if err := s.Store.SaveBinding(ctx, b); err != nil && !errors.Is(err, store.ErrDuplicate) {
		return nil, es, err
	}
	return s.EventBinding(ctx, connID)
}

// SaveEventSettings validates and stores the calendar settings. Another
// calendar is unsubscribe then subscribe; another sync-from date lists the
// calendar again from that date (links kept: nothing is duplicated).
func (s *Service) SaveEventSettings(ctx context.Context, v access.Viewer, connID string, enabled bool, es EventSettings) error {
	if es.PeriodMinutes == 0 {
		es.PeriodMinutes = DefaultPeriod
	}
	es.CalendarID = strings.TrimSpace(es.CalendarID)
	es.SyncFrom = strings.TrimSpace(es.SyncFrom)
	fe := map[string]string{}
	if es.PeriodMinutes < 5 || es.PeriodMinutes > 1440 {
		fe["period_minutes"] = "error.out_of_range"
	}
	if enabled && es.CalendarID == "" {
		fe["calendar_id"] = "error.required"
	}
	if len(es.CalendarID) > 1024 {
		fe["calendar_id"] = crm.TooLong(1024)
	}
	if es.ImportAs == "" {
		es.ImportAs = "meeting"
	}
	if !slices.Contains(ImportTypes, es.ImportAs) {
		fe["import_as"] = crm.ErrUnknownEnum
	}
	if enabled {
		on, err := s.CalendarOn(ctx)
		if err != nil {
			return err
		}
		if !on {
			fe["enabled"] = "sync.error.calendar_off"
		}
	}
	if es.SyncFrom == "" {
		es.SyncFrom = time.Now().UTC().Format(reconcile.DateLayout)
	} else if t, err := time.Parse(reconcile.DateLayout, es.SyncFrom); err != nil || t.Year() < 1900 || t.Year() > 2200 {
		fe["sync_from"] = crm.ErrDate
	}
	if len(fe) > 0 {
		return &SettingsError{Fields: fe}
	}
	es.Current = true
	cur, old, err := s.EventBinding(ctx, connID)
	if err != nil {
		return err
	}
	es.ResyncFrom = old.ResyncFrom
	if es.CalendarID == cur.Collection {
		if old.SyncFrom != "" && old.SyncFrom != es.SyncFrom {
			// Another period: list the calendar again from the new date and
			// look at every local change again; links stay, so this
			// matches rather than duplicates.
			if err := s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.SetCursors(ctx, cur.ID, "", 0, true) }); err != nil {
				return err
			}
		}
		cur.Enabled, cur.Policy = enabled, mustJSON(es)
		return s.Store.SaveBinding(ctx, cur)
	}

	// Another calendar: unsubscribe, then subscribe.
	bs, err := s.Store.ListBindings(ctx, connID)
	if err != nil {
		return err
	}
	var target *store.Binding
	for _, b := range bs {
		if b.Kind == KindEvents && b.Collection == es.CalendarID {
			target = b
		}
	}
	if cur.Collection != "" {
		if err := s.unsubscribe(ctx, cur); err != nil {
			return err
		}
	}
	if target == nil && cur.Collection == "" {
		target = cur // the blank binding takes the calendar
	} else {
		old.Current = false
		cur.Enabled, cur.Policy = false, mustJSON(old)
		if err := s.Store.SaveBinding(ctx, cur); err != nil {
			return err
		}
	}
	if target == nil {
		target = &store.Binding{ConnectionID: connID, Kind: KindEvents, Collection: es.CalendarID}
	} else if target.ID != "" && target != cur {
		// A calendar synced before: start over, matching what is there.
		if err := s.unsubscribe(ctx, target); err != nil {
			return err
		}
	}
	target.Collection, target.Enabled, target.Policy = es.CalendarID, enabled, mustJSON(es)
	return s.Store.SaveBinding(ctx, target)
}

// unsubscribe removes every link of a binding (no record is deleted) and
// resets its cursors, journaling each removed link.
func (s *Service) unsubscribe(ctx context.Context, b *store.Binding) error {
	links, err := s.Store.Links(ctx, b.ID)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, l := range links {
			if err := tx.DeleteLink(ctx, b.ID, l.LocalID); err != nil {
				return err
			}
			if err := tx.Journal(ctx, store.JournalEntry{BindingID: b.ID, Entity: store.EntityActivity, RecordID: l.LocalID,
				RemoteID: l.RemoteID, Side: "local", Action: "unlink", Reason: reconcile.ReasonUnsubscribed}); err != nil {
				return err
			}
		}
		return tx.SetCursors(ctx, b.ID, "", 0, true)
	})
}

// Resync syncs the calendar again from a date, for after an outage: the
// next run lists the calendar from that date (matching what is linked, so
// nothing is created twice) and looks again at every activity changed
// since then. The sync-from date stays what it is: older items still do
// not sync.
func (s *Service) Resync(ctx context.Context, connID, from string) error {
	from = strings.TrimSpace(from)
	t, err := time.Parse(reconcile.DateLayout, from)
	if err != nil || t.Year() < 1900 || t.Year() > 2200 {
		return &SettingsError{Fields: map[string]string{"from": crm.ErrDate}}
	}
	b, es, err := s.EventBinding(ctx, connID)
	if err != nil {
		return err
	}
	if b.Collection == "" || es.CalendarID == "" {
		return &SettingsError{Fields: map[string]string{"calendar_id": "error.required"}}
	}
	seq, err := s.Store.SeqBefore(ctx, t)
	if err != nil {
		return err
	}
	es.ResyncFrom = from
	b.Policy = mustJSON(es)
	if err := s.Store.SaveBinding(ctx, b); err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.SetCursors(ctx, b.ID, "", seq, true) })
}

// eventsParts builds the connector and local side of a calendar binding.
func (s *Service) eventsParts(ctx context.Context, v access.Viewer, b *store.Binding, hc *http.Client, ep google.Endpoints) (reconcile.Connector, *crmsync.EventsLocal, error) {
	es, err := decodeEventSettings(b.Policy)
	if err != nil {
		return nil, nil, err
	}
	if es.CalendarID == "" || b.Collection == "" {
		return nil, nil, errors.New("sync: choose the Google calendar to sync with")
	}
	on, err := s.CalendarOn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !on {
		return nil, nil, ErrCalendarOff
	}
	svc, err := google.NewCalendarService(ctx, hc, ep)
	if err != nil {
		return nil, nil, err
	}
	from := es.From(v.TZ)
	listFrom := from
	if es.ResyncFrom != "" {
		if t := (EventSettings{SyncFrom: es.ResyncFrom}).From(v.TZ); t.After(from) {
			listFrom = t
		}
	}
	conn := google.NewCalendar(svc, b.Collection, google.CalendarOptions{From: listFrom, Self: v.Email, Log: s.Log})
	local := &crmsync.EventsLocal{Store: s.Store, Viewer: v, BindingID: b.ID, From: from, ImportAs: es.ImportAs}
	return conn, local, nil
}

// runEvents syncs a calendar binding: the user's activities shown in the
// calendar with the events of the chosen Google calendar, from the
// sync-from date.
func (s *Service) runEvents(ctx context.Context, v access.Viewer, b *store.Binding, hc *http.Client, ep google.Endpoints) (reconcile.Stats, error) {
	conn, local, err := s.eventsParts(ctx, v, b, hc, ep)
	if err != nil {
		return reconcile.Stats{}, err
	}
	if _, err := local.ApplyOrganizerRule(ctx, b.LocalCursor); err != nil {
		return reconcile.Stats{}, fmt.Errorf("organizer rule: %w", err)
	}
	done, err := decodeEventSettings(b.Policy)
	if err != nil {
		return reconcile.Stats{}, err
	}
	stats, err := s.engine.Run(ctx, b.ID, conn, local)
	if err == nil {
		err = s.resyncDone(ctx, b.ID, done.ResyncFrom)
	}
	return stats, err
}

// resyncDone clears a resync date once a run made it, unless the user
// asked for another meanwhile.
func (s *Service) resyncDone(ctx context.Context, bindingID, done string) error {
	if done == "" {
		return nil
	}
	b, err := s.Store.GetBinding(ctx, bindingID)
	if err != nil {
		return err
	}
	es, err := decodeEventSettings(b.Policy)
	if err != nil {
		return err
	}
	if es.ResyncFrom != done {
		return nil
	}
	es.ResyncFrom = ""
	b.Policy = mustJSON(es)
	return s.Store.SaveBinding(ctx, b)
}

// Calendars lists the calendars of a connection's Google account, for
// choosing the one to sync.
func (s *Service) Calendars(ctx context.Context, connID string) ([]CalendarInfo, error) {
	conn, err := s.Store.GetConnection(ctx, connID)
	if err != nil {
		return nil, err
	}
	if conn.Status == store.ConnectionNeedsReauth {
		return nil, oauth.ErrNeedsReauth
	}
	if conn.Provider != "google" {
		return nil, fmt.Errorf("sync: provider %q has no Google calendars", conn.Provider)
	}
	ep, err := oauth.Google(ctx, s.Settings)
	if err != nil {
		return nil, err
	}
	hc := google.HTTPClient(ctx, s.Tokens.TokenSource(ctx, connID), google.Account(connID))
	svc, err := google.NewCalendarService(ctx, hc, google.Endpoints{People: ep.PeopleURL, Calendar: ep.CalendarURL})
	if err != nil {
		return nil, err
	}
	return google.ListCalendars(ctx, svc)
}
