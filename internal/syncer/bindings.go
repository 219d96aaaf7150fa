package syncer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// Sync is what the web layer (the API and the UI) asks of the sync
// service, generic over providers and binding kinds. *Service implements
// it.
type Sync interface {
	// Enqueue asks for a run of a connection.
	Enqueue(ctx context.Context, connID, reason string) (int64, bool, error)
	// Preview lists what a run would do, changing nothing.
	Preview(ctx context.Context, connID string) ([]store.JournalEntry, map[string]reconcile.Stats, error)
	// Bindings returns the state of each kind the connection's provider
	// supports (none for a provider this process does not know).
	Bindings(ctx context.Context, connID string) ([]*BindingState, error)
	// Binding returns the state of one kind; a kind the provider does not
	// support is store.ErrNotFound.
	Binding(ctx context.Context, connID string, kind provider.Kind) (*BindingState, error)
	// SaveSettings validates and stores a binding's settings, creating the
	// binding on its first save (*SettingsError lists invalid fields).
	SaveSettings(ctx context.Context, v access.Viewer, connID string, kind provider.Kind, enabled bool, s Settings) error
	// Collections lists the remote collections of a kind to pick from.
	Collections(ctx context.Context, connID string, kind provider.Kind) ([]provider.Collection, error)
	// Resync syncs a binding again from a date (after an outage).
	Resync(ctx context.Context, connID string, kind provider.Kind, from string) error
}

var _ Sync = (*Service)(nil)

// BindingState is one kind of a connection as the settings show it. It is
// only read: a binding never saved is returned with its defaults and an
// empty ID, and nothing is stored until the user saves.
type BindingState struct {
	Provider    string // the provider's code
	DisplayName string // the provider's name as users see it
	Kind        provider.KindInfo
	Binding     *store.Binding // the current binding; ID "" before the first save
	Settings    Settings       // the binding's, or the defaults
	Schema      Schema
	// Off: the administrator switched the kind off for the provider.
	Off *provider.OffError
	// Push: whether changes arrive by push; nil when the provider has no
	// push for the kind.
	Push *provider.PushState
	// NeedsConsent: the account has not granted Tandem this kind (it was
	// turned on after the account connected); ConnectPath asks for it.
	NeedsConsent bool
	ConnectPath  string
}

// Saved reports whether the binding exists.
func (st *BindingState) Saved() bool { return st.Binding.ID != "" }

// ready reports whether the settings are complete enough to preview.
func (st *BindingState) ready() bool {
	if st.Off != nil {
		return false
	}
	switch cs := st.Settings.(type) {
	case *ContactSettings:
		return cs.TagID != "" && (st.Kind.Collection != provider.CollectionPicked || st.Binding.Collection != "")
	case *EventSettings:
		return cs.CalendarID != "" && st.Binding.Collection != ""
	case *TaskSettings:
		return cs.ListID != "" && st.Binding.Collection != ""
	}
	return false
}

// errNotOffered wraps store.ErrNotFound: the web layer answers 404.
func errNotOffered(err error) error { return fmt.Errorf("%w: %w", store.ErrNotFound, err) }

// connection returns a connection and its provider.
func (s *Service) connection(ctx context.Context, connID string) (*store.Connection, provider.Provider, error) {
	conn, err := s.Store.GetConnection(ctx, connID)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.Providers.Get(conn.Provider)
	if err != nil {
		return conn, nil, errNotOffered(err)
	}
	return conn, p, nil
}

// Bindings returns the state of every kind the connection's provider
// supports, in the provider's order.
func (s *Service) Bindings(ctx context.Context, connID string) ([]*BindingState, error) {
	conn, p, err := s.connection(ctx, connID)
	if errors.Is(err, provider.ErrUnknownProvider) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.bindings(ctx, conn, p)
}

func (s *Service) bindings(ctx context.Context, conn *store.Connection, p provider.Provider) ([]*BindingState, error) {
	bs, err := s.Store.ListBindings(ctx, conn.ID)
	if err != nil {
		return nil, err
	}
	var out []*BindingState
	for _, k := range p.Kinds() {
		st, err := s.state(ctx, conn, p, k, bs)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Binding returns the state of one kind of a connection.
func (s *Service) Binding(ctx context.Context, connID string, kind provider.Kind) (*BindingState, error) {
	conn, p, err := s.connection(ctx, connID)
	if err != nil {
		return nil, err
	}
	info, ok := provider.Info(p, kind)
	if !ok {
		return nil, errNotOffered(fmt.Errorf("%s: %w: %q", p.Name(), provider.ErrKindNotSupported, kind))
	}
	bs, err := s.Store.ListBindings(ctx, connID)
	if err != nil {
		return nil, err
	}
	return s.state(ctx, conn, p, info, bs)
}

func (s *Service) state(ctx context.Context, conn *store.Connection, p provider.Provider, info provider.KindInfo, bs []*store.Binding) (*BindingState, error) {
	b, set, err := s.current(ctx, conn.ID, p, info.Kind, bs)
	if err != nil {
		return nil, err
	}
	schema, err := SchemaOf(info.Kind)
	if err != nil {
		return nil, err
	}
	st := &BindingState{Provider: p.Name(), DisplayName: p.DisplayName(), Kind: info, Binding: b, Settings: set, Schema: schema}
	if st.Off, err = kindOff(ctx, p, info.Kind); err != nil {
		return nil, err
	}
	if pu, ok := p.(provider.Pusher); ok {
		for _, h := range pu.Hooks() {
			if h.Kind == info.Kind {
				ps, err := pu.PushState(ctx)
				if err != nil {
					return nil, err
				}
				st.Push = &ps
				break
			}
		}
	}
	if c, ok := p.(provider.Consent); ok {
		missing, err := c.MissingConsent(ctx, conn)
		if err != nil {
			s.Log.ErrorContext(ctx, "granted scopes", "provider", p.Name(), "err", err)
		}
		for _, k := range missing {
			st.NeedsConsent = st.NeedsConsent || k == info.Kind
		}
	}
	if r, ok := p.(provider.Reconnector); ok {
		st.ConnectPath = r.ConnectPath()
	}
	return st, nil
}

// defaults are the settings of a kind never saved.
func defaults(ctx context.Context, p provider.Provider, kind provider.Kind) (Settings, error) {
	switch kind {
	case provider.Contact:
		cs := &ContactSettings{PeriodMinutes: DefaultPeriod, RemoteDelete: "keep"}
		if info, _ := provider.Info(p, kind); info.Collection == provider.CollectionNamed {
			cs.GroupName = defaultCollectionName(ctx, p, kind)
		}
		return cs, nil
	case provider.Event:
		return &EventSettings{PeriodMinutes: DefaultPeriod, ImportAs: "meeting", Current: true}, nil
	case provider.Task:
		return &TaskSettings{PeriodMinutes: DefaultPeriod, Current: true}, nil
	}
	return nil, fmt.Errorf("settings of %w %q", provider.ErrUnknownKind, kind)
}

// defaultCollectionName is the provider's name for the collection Tandem
// creates, else the product's.
func defaultCollectionName(ctx context.Context, p provider.Provider, kind provider.Kind) string {
	if n, ok := p.(provider.CollectionNamer); ok {
		if name := n.DefaultCollectionName(ctx, kind); name != "" {
			return name
		}
	}
	return "Tandem"
}

// current finds the current binding of a kind among bs, reading only. A
// contact binding is the connection's one; of the bindings of a picked
// collection (one per calendar or task list ever synced) the one marked
// current, else a blank one. With none, an unsaved binding with the
// defaults.
func (s *Service) current(ctx context.Context, connID string, p provider.Provider, kind provider.Kind, bs []*store.Binding) (*store.Binding, Settings, error) {
	var blank *store.Binding
	for _, b := range bs {
		if b.Kind != string(kind) {
			continue
		}
		set, err := DecodeSettings(kind, b.Policy)
		if err != nil {
			return nil, nil, fmt.Errorf("%s binding %s: %w", kind, b.ID, err)
		}
		ps, isPicked := set.(picked)
		switch {
		case !isPicked, ps.isCurrent():
			return b, set, nil
		case b.Collection == "" && blank == nil:
			blank = b
		}
	}
	set, err := defaults(ctx, p, kind)
	if err != nil {
		return nil, nil, err
	}
	if blank != nil {
		return blank, set, nil
	}
	return &store.Binding{ConnectionID: connID, Kind: string(kind)}, set, nil
}

// SaveSettings validates and stores a binding's settings; the binding is
// created on its first save.
func (s *Service) SaveSettings(ctx context.Context, v access.Viewer, connID string, kind provider.Kind, enabled bool, set Settings) error {
	if set == nil || set.Kind() != kind {
		return fmt.Errorf("sync: settings of another kind than %q", kind)
	}
	conn, p, err := s.connection(ctx, connID)
	if err != nil {
		return err
	}
	if _, ok := provider.Info(p, kind); !ok {
		return errNotOffered(fmt.Errorf("%s: %w: %q", p.Name(), provider.ErrKindNotSupported, kind))
	}
	switch set := set.(type) {
	case *ContactSettings:
		return s.saveContacts(ctx, v, conn, p, enabled, *set)
	case *EventSettings:
		return s.saveEvents(ctx, conn, p, enabled, *set)
	case *TaskSettings:
		return s.saveTasks(ctx, conn, p, enabled, *set)
	}
	return fmt.Errorf("sync: %w %q", provider.ErrUnknownKind, kind)
}

// checkOff adds the kind's switch to the field errors of enabling it.
func checkOff(ctx context.Context, p provider.Provider, kind provider.Kind, enabled bool, fe map[string]string) error {
	if !enabled {
		return nil
	}
	off, err := kindOff(ctx, p, kind)
	if off != nil {
		fe["enabled"] = off.Key
	}
	return err
}

// saveContacts stores contact settings. The tag must be one of the
// connection owner's personal tags.
func (s *Service) saveContacts(ctx context.Context, v access.Viewer, conn *store.Connection, p provider.Provider, enabled bool, cs ContactSettings) error {
	if cs.PeriodMinutes == 0 {
		cs.PeriodMinutes = DefaultPeriod
	}
	cs.TagID, cs.GroupName = strings.TrimSpace(cs.TagID), strings.TrimSpace(cs.GroupName)
	cs.CollectionID = strings.TrimSpace(cs.CollectionID)
	cs.RemoteDelete = cmp.Or(cs.RemoteDelete, "keep")
	info, _ := provider.Info(p, provider.Contact)
	if info.Collection == provider.CollectionNamed && cs.GroupName == "" {
		cs.GroupName = defaultCollectionName(ctx, p, provider.Contact)
	}
	fe := schemas[provider.Contact].Check(&cs, enabled)
	if info.Collection == provider.CollectionPicked && enabled && cs.CollectionID == "" {
		fe["collection_id"] = crm.ErrRequired
	}
	if cs.TagID != "" {
		t, err := s.Store.GetTag(ctx, v, cs.TagID)
		if err != nil || t.Kind != "personal" || t.OwnerID != v.UserID {
			fe["tag_id"] = "sync.error.personal_tag"
		}
	}
	if err := checkOff(ctx, p, provider.Contact, enabled, fe); err != nil {
		return err
	}
	if len(fe) > 0 {
		return &SettingsError{Fields: fe}
	}
	bs, err := s.Store.ListBindings(ctx, conn.ID)
	if err != nil {
		return err
	}
	b, old, err := s.current(ctx, conn.ID, p, provider.Contact, bs)
	if err != nil {
		return err
	}
	if prev := old.(*ContactSettings); b.ID != "" && prev.TagID != "" && prev.TagID != cs.TagID {
		// Another tag is another scope: start over from a full listing so
		// the new tag's contacts are matched before anything is created.
		if err := s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.SetCursors(ctx, b.ID, "", 0, true) }); err != nil {
			return err
		}
	}
	if info.Collection == provider.CollectionPicked && cs.CollectionID != "" && cs.CollectionID != b.Collection {
		// Another address book: unsubscribe from the one before (its
		// links go, no record is deleted), subscribe to this one afresh.
		if b.ID != "" && b.Collection != "" {
			if err := s.unsubscribe(ctx, b); err != nil {
				return err
			}
		}
		b.Collection = cs.CollectionID
	}
	b.Enabled, b.Policy = enabled, mustJSON(cs)
	err = s.Store.SaveBinding(ctx, b)
	if errors.Is(err, store.ErrDuplicate) {
		// Another request created the binding meanwhile: save over it.
		return s.saveContacts(ctx, v, conn, p, enabled, cs)
	}
	return err
}

// saveEvents stores calendar settings. Another calendar is unsubscribe
// then subscribe; another sync-from date lists the calendar again from
// that date (links kept: nothing is duplicated).
func (s *Service) saveEvents(ctx context.Context, conn *store.Connection, p provider.Provider, enabled bool, es EventSettings) error {
	if es.PeriodMinutes == 0 {
		es.PeriodMinutes = DefaultPeriod
	}
	es.CalendarID = strings.TrimSpace(es.CalendarID)
	es.SyncFrom = strings.TrimSpace(es.SyncFrom)
	es.ImportAs = cmp.Or(es.ImportAs, "meeting")
	fe := schemas[provider.Event].Check(&es, enabled)
	if err := checkOff(ctx, p, provider.Event, enabled, fe); err != nil {
		return err
	}
	if es.SyncFrom == "" {
		es.SyncFrom = time.Now().UTC().Format(reconcile.DateLayout)
	}
	if len(fe) > 0 {
		return &SettingsError{Fields: fe}
	}
	return s.savePicked(ctx, conn, p, enabled, &es, func(old picked) { es.ResyncFrom = old.(*EventSettings).ResyncFrom })
}

// saveTasks stores task list settings, with the calendar's rules: another
// list is unsubscribe then subscribe, another sync-from date lists it
// again from that date.
func (s *Service) saveTasks(ctx context.Context, conn *store.Connection, p provider.Provider, enabled bool, ts TaskSettings) error {
	if ts.PeriodMinutes == 0 {
		ts.PeriodMinutes = DefaultPeriod
	}
	ts.ListID = strings.TrimSpace(ts.ListID)
	ts.SyncFrom = strings.TrimSpace(ts.SyncFrom)
	fe := schemas[provider.Task].Check(&ts, enabled)
	if err := checkOff(ctx, p, provider.Task, enabled, fe); err != nil {
		return err
	}
	if ts.SyncFrom == "" {
		ts.SyncFrom = time.Now().UTC().Format(reconcile.DateLayout)
	}
	if len(fe) > 0 {
		return &SettingsError{Fields: fe}
	}
	return s.savePicked(ctx, conn, p, enabled, &ts, nil)
}

// savePicked stores validated settings of a kind whose collection is
// picked, as the current binding of the kind. Another collection is
// unsubscribe then subscribe: the current binding's links are removed (no
// record is deleted) and it stays, not current; the chosen collection's
// binding — a new one, or the one it had before, started over — becomes
// current. Another sync-from date lists the collection again from that
// date and looks at every local change again (links stay, so this matches
// rather than duplicates). keep copies state of the current settings that
// a save does not change.
func (s *Service) savePicked(ctx context.Context, conn *store.Connection, p provider.Provider, enabled bool, set picked, keep func(old picked)) error {
	kind, coll := set.Kind(), set.collection()
	set.setCurrent(true)
	connID := conn.ID
	bs, err := s.Store.ListBindings(ctx, connID)
	if err != nil {
		return err
	}
	cur, oldSet, err := s.current(ctx, connID, p, kind, bs)
	if err != nil {
		return err
	}
	old := oldSet.(picked)
	if keep != nil {
		keep(old)
	}
	if coll == cur.Collection {
		if cur.ID != "" && old.syncFrom() != "" && old.syncFrom() != set.syncFrom() {
			if err := s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.SetCursors(ctx, cur.ID, "", 0, true) }); err != nil {
				return err
			}
		}
		cur.Enabled, cur.Policy = enabled, mustJSON(set)
		return s.Store.SaveBinding(ctx, cur)
	}

	// Another collection: unsubscribe, then subscribe.
	var target *store.Binding
	for _, b := range bs {
		if b.Kind == string(kind) && b.Collection == coll {
			target = b
		}
	}
	if cur.Collection != "" {
		if err := s.unsubscribe(ctx, cur); err != nil {
			return err
		}
	}
	switch {
	case target == nil && cur.Collection == "":
		target = cur // the blank (or unsaved) binding takes the collection
	case cur.ID != "":
		old.setCurrent(false)
		cur.Enabled, cur.Policy = false, mustJSON(old)
		if err := s.Store.SaveBinding(ctx, cur); err != nil {
			return err
		}
	}
	if target == nil {
		target = &store.Binding{ConnectionID: connID, Kind: string(kind), Collection: coll}
	} else if target.ID != "" && target != cur {
		// A collection synced before: start over, matching what is there.
		if err := s.unsubscribe(ctx, target); err != nil {
			return err
		}
	}
	target.Collection, target.Enabled, target.Policy = coll, enabled, mustJSON(set)
	return s.Store.SaveBinding(ctx, target)
}

// unsubscribe removes every link of a binding (no record is deleted) and
// resets its cursors, journaling each removed link.
func (s *Service) unsubscribe(ctx context.Context, b *store.Binding) error {
	links, err := s.Store.Links(ctx, b.ID)
	if err != nil {
		return err
	}
	entity, reason := store.EntityActivity, reconcile.ReasonUnsubscribed
	switch b.Kind {
	case KindContacts:
		entity, reason = store.EntityContact, reconcile.ReasonUnsubscribedContacts
	case KindTasks:
		reason = reconcile.ReasonUnsubscribedTasks
	}
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, l := range links {
			if err := tx.DeleteLink(ctx, b.ID, l.LocalID); err != nil {
				return err
			}
			if err := tx.Journal(ctx, store.JournalEntry{BindingID: b.ID, Entity: entity, RecordID: l.LocalID,
				RemoteID: l.RemoteID, Side: "local", Action: "unlink", Reason: reason}); err != nil {
				return err
			}
		}
		return tx.SetCursors(ctx, b.ID, "", 0, true)
	})
}

// Collections lists the remote collections of a kind whose collection is
// picked from the provider's list (the account's calendars).
func (s *Service) Collections(ctx context.Context, connID string, kind provider.Kind) ([]provider.Collection, error) {
	conn, p, err := s.connection(ctx, connID)
	if err != nil {
		return nil, err
	}
	if conn.Status == store.ConnectionNeedsReauth {
		return nil, oauth.ErrNeedsReauth
	}
	if info, ok := provider.Info(p, kind); !ok || info.Collection != provider.CollectionPicked {
		return nil, errNotOffered(fmt.Errorf("%s: no list of %s collections: %w", p.Name(), kind, provider.ErrKindNotSupported))
	}
	sess, err := p.Open(ctx, conn)
	if err != nil {
		return nil, err
	}
	l, ok := sess.(provider.CollectionLister)
	if !ok {
		return nil, errNotOffered(fmt.Errorf("%s: no list of %s collections: %w", p.Name(), kind, provider.ErrKindNotSupported))
	}
	return l.Collections(ctx, kind)
}

// Resync syncs the calendar again from a date, for after an outage: the
// next run lists the calendar from that date (matching what is linked, so
// nothing is created twice) and looks again at every activity changed
// since then. The sync-from date stays what it is: older items still do
// not sync.
func (s *Service) Resync(ctx context.Context, connID string, kind provider.Kind, from string) error {
	if kind != provider.Event {
		return errNotOffered(fmt.Errorf("sync again from a date: %w: %q", provider.ErrKindNotSupported, kind))
	}
	from = strings.TrimSpace(from)
	t, err := time.Parse(reconcile.DateLayout, from)
	if err != nil || t.Year() < 1900 || t.Year() > 2200 {
		return &SettingsError{Fields: map[string]string{"from": crm.ErrDate}}
	}
	st, err := s.Binding(ctx, connID, kind)
	if err != nil {
		return err
	}
	b, es := st.Binding, st.Settings.(*EventSettings)
	if b.ID == "" || b.Collection == "" || es.CalendarID == "" {
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

// Typed shortcuts for callers that know the kind (tests, the benchmark).

// ContactBinding returns the connection's contact binding and settings
// (an unsaved binding with the defaults before the first save).
func (s *Service) ContactBinding(ctx context.Context, connID string) (*store.Binding, ContactSettings, error) {
	st, err := s.Binding(ctx, connID, provider.Contact)
	if err != nil {
		return nil, ContactSettings{}, err
	}
	return st.Binding, *st.Settings.(*ContactSettings), nil
}

// SaveContactSettings is SaveSettings of the contact kind.
func (s *Service) SaveContactSettings(ctx context.Context, v access.Viewer, connID string, enabled bool, cs ContactSettings) error {
	return s.SaveSettings(ctx, v, connID, provider.Contact, enabled, &cs)
}

// EventBinding returns the connection's current calendar binding and its
// settings (an unsaved binding with the defaults before the first save).
func (s *Service) EventBinding(ctx context.Context, connID string) (*store.Binding, EventSettings, error) {
	st, err := s.Binding(ctx, connID, provider.Event)
	if err != nil {
		return nil, EventSettings{}, err
	}
	return st.Binding, *st.Settings.(*EventSettings), nil
}

// SaveEventSettings is SaveSettings of the event kind.
func (s *Service) SaveEventSettings(ctx context.Context, v access.Viewer, connID string, enabled bool, es EventSettings) error {
	return s.SaveSettings(ctx, v, connID, provider.Event, enabled, &es)
}
