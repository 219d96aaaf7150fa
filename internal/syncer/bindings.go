package syncer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/crmsync"
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
	Binding     *store.Binding // the current binding (the home one); ID "" before the first save
	Settings    Settings       // the binding's, or the defaults; the picked collections too
	// Picked are the current bindings of a kind whose collections are
	// picked (one per picked calendar or task list), the home one
	// first; none before one is picked.
	Picked []*store.Binding
	Schema Schema
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
	if ps, ok := set.(picked); ok {
		if st.Picked, err = pickedBindings(info.Kind, bs); err != nil {
			return nil, err
		}
		var colls []string
		for _, pb := range st.Picked {
			colls = append(colls, pb.Collection)
		}
		ps.setCollections(colls)
	}
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
// collection (one per calendar or task list ever synced) the home one of
// those marked current, else a blank one. With none, an unsaved binding
// with the defaults.
func (s *Service) current(ctx context.Context, connID string, p provider.Provider, kind provider.Kind, bs []*store.Binding) (*store.Binding, Settings, error) {
	var blank, first *store.Binding
	var firstSet Settings
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
		case !isPicked, ps.isCurrent() && ps.export() != crmsync.ExportOwn:
			return b, set, nil
		case ps.isCurrent() && first == nil:
			first, firstSet = b, set
		case b.Collection == "" && blank == nil:
			blank = b
		}
	}
	if first != nil {
		return first, firstSet, nil
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
			if err := s.unsubscribe(ctx, b, false); err != nil {
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
	return s.savePicked(ctx, conn, p, enabled, &es)
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
	return s.savePicked(ctx, conn, p, enabled, &ts)
}

// savePicked stores validated settings of a kind whose collection is
// picked. Each picked collection has a current binding with the settings;
// the one named by the settings' collection is the home one (export all),
// the others export only their own items. A collection no longer picked
// is unsubscribed: its binding's links are removed (no record is deleted)
// and it stays, not current. A collection picked anew gets a new binding,
// or the one it had before, started over. A change of home is a change of
// export scope alone: linked records stay where they are. Another
// sync-from date lists each collection again from that date and looks at
// every local change again (links stay, so this matches rather than
// duplicates). With no collection, the settings wait on a blank binding.
func (s *Service) savePicked(ctx context.Context, conn *store.Connection, p provider.Provider, enabled bool, set picked) error {
	kind := set.Kind()
	info, _ := provider.Info(p, kind)
	home, picks, err := picksOf(set, info.Several)
	if err != nil {
		return err
	}
	set.setCollection(home)
	set.setCollections(nil)
	set.setCurrent(true)
	bs, err := s.Store.ListBindings(ctx, conn.ID)
	if err != nil {
		return err
	}
	type known struct {
		b   *store.Binding
		set picked
	}
	byColl := map[string]known{}
	var blank *known
	for _, b := range bs {
		if b.Kind != string(kind) {
			continue
		}
		st, err := DecodeSettings(kind, b.Policy)
		if err != nil {
			return fmt.Errorf("%s binding %s: %w", kind, b.ID, err)
		}
		k := known{b, st.(picked)}
		switch {
		case b.Collection != "":
			byColl[b.Collection] = k
		case blank == nil || k.set.isCurrent():
			blank = &k
		}
	}
	// Unpicked: unsubscribe, not current any more; its records go to the
	// home collection, if one still syncs.
	for _, k := range byColl {
		if !k.set.isCurrent() || slices.Contains(picks, k.b.Collection) {
			continue
		}
		if err := s.unsubscribe(ctx, k.b, len(picks) > 0); err != nil {
			return err
		}
		k.set.setCurrent(false)
		k.b.Enabled, k.b.Policy = false, mustJSON(k.set)
		if err := s.Store.SaveBinding(ctx, k.b); err != nil {
			return err
		}
	}
	for _, coll := range picks {
		ns := set.clone()
		ns.setCollection(coll)
		ns.setExport(crmsync.ExportOwn)
		if coll == home {
			ns.setExport(crmsync.ExportAll)
		}
		k, had := byColl[coll]
		switch {
		case !had && blank != nil:
			// The blank binding (never run) takes the collection.
			k, blank = *blank, nil
			k.b.Collection = coll
		case !had:
			k.b = &store.Binding{ConnectionID: conn.ID, Kind: string(kind), Collection: coll}
		case !k.set.isCurrent():
			// A collection synced before: one that handed its records to
			// the home one takes them back; another starts over, matching
			// what is there.
			back, err := s.resubscribe(ctx, k.b)
			if err != nil {
				return err
			}
			if !back {
				if err := s.unsubscribe(ctx, k.b, false); err != nil {
					return err
				}
				break
			}
			if k.set.syncFrom() != "" && k.set.syncFrom() != ns.syncFrom() {
				if err := s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.SetCursors(ctx, k.b.ID, "", 0, true) }); err != nil {
					return err
				}
			}
		case k.set.syncFrom() != "" && k.set.syncFrom() != ns.syncFrom():
			if err := s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.SetCursors(ctx, k.b.ID, "", 0, true) }); err != nil {
				return err
			}
		}
		if k.set != nil {
			ns.carry(k.set)
		}
		k.b.Enabled, k.b.Policy = enabled, mustJSON(ns)
		if err := s.Store.SaveBinding(ctx, k.b); err != nil {
			return err
		}
	}
	switch {
	case len(picks) == 0:
		// No collection: the settings wait on a blank binding.
		if blank == nil {
			blank = &known{b: &store.Binding{ConnectionID: conn.ID, Kind: string(kind)}}
		}
		ns := set.clone()
		ns.setExport(crmsync.ExportAll)
		blank.b.Enabled, blank.b.Policy = enabled, mustJSON(ns)
		return s.Store.SaveBinding(ctx, blank.b)
	case blank != nil && blank.set.isCurrent():
		// A collection is picked now: the blank binding is current no more.
		blank.set.setCurrent(false)
		blank.b.Enabled, blank.b.Policy = false, mustJSON(blank.set)
		return s.Store.SaveBinding(ctx, blank.b)
	}
	return nil
}

// picksOf reads the home collection and the picked ones from settings: no
// home is no collection; a home alone is that one; several must name the
// home among them, and a provider must take several.
func picksOf(set picked, several bool) (home string, picks []string, err error) {
	home = strings.TrimSpace(set.collection())
	if home == "" {
		return "", nil, nil
	}
	for _, c := range set.collections() {
		if c = strings.TrimSpace(c); c != "" && !slices.Contains(picks, c) {
			picks = append(picks, c)
		}
	}
	homeField := map[provider.Kind]string{provider.Event: "calendar_id", provider.Task: "list_id"}[set.Kind()]
	switch {
	case len(picks) == 0, !several && len(picks) == 1:
		// One collection, the one named. (A provider that takes one at
		// a time shows the one before among the picks: the new choice
		// replaces it.)
		return home, []string{home}, nil
	case !several:
		return "", nil, &SettingsError{Fields: map[string]string{set.collectionsField(): "sync.error.one_collection"}}
	case !slices.Contains(picks, home):
		return "", nil, &SettingsError{Fields: map[string]string{homeField: "sync.error.home_not_picked"}}
	}
	return home, picks, nil
}

// pickedBindings are the current bindings of a picked kind with a
// collection, the home one first.
func pickedBindings(kind provider.Kind, bs []*store.Binding) ([]*store.Binding, error) {
	var out []*store.Binding
	for _, b := range bs {
		if b.Kind != string(kind) || b.Collection == "" {
			continue
		}
		set, err := DecodeSettings(kind, b.Policy)
		if err != nil {
			return nil, fmt.Errorf("%s binding %s: %w", kind, b.ID, err)
		}
		ps, ok := set.(picked)
		if !ok || !ps.isCurrent() {
			continue
		}
		if ps.export() == crmsync.ExportOwn {
			out = append(out, b)
		} else {
			out = append([]*store.Binding{b}, out...)
		}
	}
	return out, nil
}

// unsubscribe removes every link of a binding (no record is deleted) and
// resets its cursors, journaling each removed link. With toHome (a
// calendar or task list left out while another one is home), the records
// it synced go to the home collection at the home binding's next run, and
// its live links stay, for it to take them back when it is ticked again
// (resubscribe).
//
// They are handed over by a change-log entry for each, in the same
// transaction as the unlinking. The home binding exports every record no
// other binding holds, but it finds them among the records changed after
// its local cursor: one this binding synced and nobody edited since would
// wait for its next edit. An entry (an update under an origin of its own,
// which no binding skips as its echo) puts the record before the home
// binding's next push as an edit would, so the same rules decide: its
// scope (the sync-from date, the organizer, a sibling that links it
// still), the organizer rule, and the home binding's own retries. In one
// transaction with the unlinking, a crash cannot leave records that no
// collection will ever take. Whichever binding is home when the next push
// runs takes them. Nothing is deleted: the items stay in this collection
// and the records in Tandem. A dormant link's item was removed from this
// collection on purpose: its link goes and its record is not sent
// anywhere.
//
// The live links kept are inert while the binding is not current: it is
// no sibling of the others (siblings), so they do not hold its records
// from the home one, and it does not run. They keep what ticking the
// collection again needs to neither import its items a second time nor
// lose what changed on either side meanwhile: which record each item is
// and its base for the three-way merge. They also give the home
// collection's new item of a record the UID it has here (Left,
// KeptIdentities), so the event stays one event across the account's
// calendars, and its copy is known as one when this collection syncs
// again (reconcile's dropCopies). The cursors stay too: ticked again,
// the binding lists what changed in its collection and pushes what
// changed here since it left.
func (s *Service) unsubscribe(ctx context.Context, b *store.Binding, toHome bool) error {
	links, err := s.Store.Links(ctx, b.ID)
	if err != nil {
		return err
	}
	entity, reason := unsubscribeReason(b)
	noted := store.WithOrigin(ctx, handOverOrigin(b.ID))
	return s.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, l := range links {
			handed := toHome && !l.Dormant && !l.Pending
			why := reason
			if handed {
				if err := tx.NoteChange(noted, entity, l.LocalID); err != nil {
					return err
				}
				why += ";" + reconcile.ReasonToHome
			} else if err := tx.DeleteLink(ctx, b.ID, l.LocalID); err != nil {
				return err
			}
			if err := tx.Journal(ctx, store.JournalEntry{BindingID: b.ID, Entity: entity, RecordID: l.LocalID,
				RemoteID: l.RemoteID, Side: "local", Action: "unlink", Reason: why}); err != nil {
				return err
			}
		}
		if toHome {
			return nil
		}
		return tx.SetCursors(ctx, b.ID, "", 0, true)
	})
}

// unsubscribeReason is the change-log entity of a binding's records and
// the journal's reason for its unsubscribe.
func unsubscribeReason(b *store.Binding) (entity, reason string) {
	entity, reason = store.EntityActivity, reconcile.ReasonUnsubscribed
	switch b.Kind {
	case KindContacts:
		entity, reason = store.EntityContact, reconcile.ReasonUnsubscribedContacts
	case KindTasks:
		reason = reconcile.ReasonUnsubscribedTasks
	}
	return entity, reason
}

// resubscribe takes back, when a calendar or task list left out is ticked
// again, the records it handed to the home one (unsubscribe toHome): its
// kept links are live again as they were, and each record is noted in the
// change log (an origin of its own), so that the next push of the home
// binding finds its copy there and removes it (reconcile's dropCopies:
// only an item Tandem created, while this collection still holds the
// original), and this binding's push sends what changed here since it
// left; its listing, from its kept cursor, brings what changed in its
// collection, merged against the kept bases. It reports whether the
// binding had links to take back; one without starts over.
func (s *Service) resubscribe(ctx context.Context, b *store.Binding) (bool, error) {
	links, err := s.Store.Links(ctx, b.ID)
	if err != nil || len(links) == 0 {
		return false, err
	}
	entity, _ := unsubscribeReason(b)
	noted := store.WithOrigin(ctx, backOrigin(b.ID))
	return true, s.Store.InTx(ctx, func(tx *store.Tx) error {
		for _, l := range links {
			if l.Dormant || l.Pending {
				continue
			}
			if err := tx.NoteChange(noted, entity, l.LocalID); err != nil {
				return err
			}
			if err := tx.Journal(ctx, store.JournalEntry{BindingID: b.ID, Entity: entity, RecordID: l.LocalID,
				RemoteID: l.RemoteID, Side: "local", Action: "link", Reason: reconcile.ReasonResubscribed}); err != nil {
				return err
			}
		}
		return nil
	})
}

// backOrigin is the change-log origin of the entries by which a binding
// ticked again takes its records back.
func backOrigin(bindingID string) string { return "sync-resubscribed:" + bindingID }

// handOverOrigin is the change-log origin of the entries by which an
// unsubscribed binding hands its records to the home one.
func handOverOrigin(bindingID string) string { return "sync-unsubscribed:" + bindingID }

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
	if len(st.Picked) == 0 {
		return &SettingsError{Fields: map[string]string{"calendar_id": "error.required"}}
	}
	seq, err := s.Store.SeqBefore(ctx, t)
	if err != nil {
		return err
	}
	// Every calendar that syncs, each with its own settings.
	for _, b := range st.Picked {
		set, err := DecodeSettings(kind, b.Policy)
		if err != nil {
			return err
		}
		es := set.(*EventSettings)
		es.ResyncFrom = from
		b.Policy = mustJSON(es)
		if err := s.Store.SaveBinding(ctx, b); err != nil {
			return err
		}
		if err := s.Store.InTx(ctx, func(tx *store.Tx) error { return tx.SetCursors(ctx, b.ID, "", seq, true) }); err != nil {
			return err
		}
	}
	return nil
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
