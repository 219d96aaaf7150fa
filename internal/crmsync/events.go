package crmsync

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/store"
)

// EventsLocal is the Tandem side of a calendar binding (SPEC §4 Google
// Calendar and its profile rules):
//
//   - Scope: activities with show_in_calendar owned by the connection's
//     user, and those the user organizes. Sync follows the organizer: an
//     activity organized by another user who syncs a calendar is that
//     user's to export. Unlinked activities sync only if they reach the
//     sync-from date (older items are not synced); a linked one stays in
//     scope whatever its date.
//   - Import: a remote event becomes a meeting (or a note, in the import
//     mode that keeps events as notes) with show_in_calendar owned by the
//     user; attendees become participants, each linked to the
//     contact whose e-mail matches. An event carrying an activity's id, or
//     equal in title and times to an unlinked activity of the user, is
//     matched to it instead of being created again (resubscribe).
//   - Organizer rule: before export, an activity whose organizer is not
//     the user and has no calendar sync gets the user as organizer
//     (ApplyOrganizerRule).
//   - Removed remotely: the activity is deleted (journaled by the engine).
//   - Back in scope: an event back in the calendar (restored in Google)
//     whose activity was taken out of the calendar shows it there again
//     (Reenter).
//   - Several calendars (Siblings): the activities an account's other
//     calendars link are theirs. The home calendar (Export ExportAll)
//     exports the rest; another one (ExportOwn) only its own items'
//     activities. An unlinked activity is adopted only by a binding that
//     may take it up (mayTake).
type EventsLocal struct {
	Store     *store.Store
	Viewer    access.Viewer // the connection's user
	BindingID string
	From      time.Time // the sync-from date; zero: no bound
	// ImportAs is the type an imported event becomes: "meeting" (default)
	// or "note", the import mode that keeps events as notes.
	ImportAs string
	// Export is what the binding exports: ExportAll ("" too) or ExportOwn.
	Export ExportScope
	// Siblings are the account's other calendar bindings.
	Siblings []reconcile.Sibling
	// Left are the bindings of the account's calendars left out, whose
	// links stay: a record one of them handed over keeps the UID it has
	// there (KeptIdentities).
	Left []string

	syncs  map[string]bool   // users with an enabled calendar binding (per run)
	emails map[string]string // user id → e-mail
}

// Entity implements Local.
func (l *EventsLocal) Entity() string { return store.EntityActivity }

func (l *EventsLocal) reads(tx *store.Tx) *store.Store { return readsIn(l.Store, tx) }

// Load implements Local.
func (l *EventsLocal) Load(ctx context.Context, tx *store.Tx, id string) (reconcile.LocalRecord, error) {
	st := l.reads(tx)
	a, err := st.GetActivity(ctx, l.Viewer, id)
	if errors.Is(err, store.ErrNotFound) {
		return reconcile.LocalRecord{}, nil
	}
	if err != nil {
		return reconcile.LocalRecord{}, err
	}
	f, err := l.fields(ctx, st, a)
	if err != nil {
		return reconcile.LocalRecord{}, err
	}
	in, err := l.inScope(ctx, st, a)
	if err != nil {
		return reconcile.LocalRecord{}, err
	}
	locked, err := l.locked(ctx, st, a)
	if err != nil {
		return reconcile.LocalRecord{}, err
	}
	return reconcile.LocalRecord{Exists: true, InScope: in, Fields: f, Modified: a.UpdatedAt, Locked: locked}, nil
}

// (its actual start) and the end of a completed one (its actual end).
func (l *EventsLocal) locked(ctx context.Context, st *store.Store, a *crm.Activity) (map[string]string, error) {
	can, err := st.Editable(ctx, l.Viewer, store.EntityActivity, a.ID)
	if err != nil {
		return nil, err
	}
	if !can {
		m := map[string]string{}
		for _, n := range reconcile.EventFieldNames {
			m[n] = reconcile.RuleNoEdit
		}
		return m, nil
	}
	if a.Type != "task" || a.IsSeries() || a.ActualStart == nil || !slices.Contains(crm.StartedStatuses, a.Status) {
		return nil, nil
	}
	m := map[string]string{reconcile.FieldStart: reconcile.RuleActualStart, reconcile.FieldAllDay: reconcile.RuleActualStart}
	if a.Status == "completed" {
		m[reconcile.FieldEnd] = reconcile.RuleActualEnd
	}
	return m, nil
}

func (l *EventsLocal) fields(ctx context.Context, st *store.Store, a *crm.Activity) (reconcile.Fields, error) {
	org, err := l.organizerEmail(ctx, st, a)
	if err != nil {
		return nil, err
	}
	c := *a
	c.Participants = make([]crm.Participant, 0, len(a.Participants))
	for _, p := range a.Participants {
		if p.Email == "" && p.ContactID != "" {
			ct, err := st.GetContact(ctx, l.Viewer, p.ContactID)
			if err == nil {
				p.Email = ct.PrimaryEmail()
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		c.Participants = append(c.Participants, p)
	}
	return reconcile.EventFields(&c, org), nil
}

// organizerEmail is the address that stands for an activity's organizer:
// the organizing user's, else organizer_email, else the syncing user's
// (an activity without an organizer is organized by whoever syncs it).
func (l *EventsLocal) organizerEmail(ctx context.Context, st *store.Store, a *crm.Activity) (string, error) {
	switch {
	case a.OrganizerID == l.Viewer.UserID:
		return l.Viewer.Email, nil
	case a.OrganizerID != "":
		return l.userEmail(ctx, st, a.OrganizerID)
	case a.OrganizerEmail != "":
		return a.OrganizerEmail, nil
	}
	return l.Viewer.Email, nil
}

func (l *EventsLocal) userEmail(ctx context.Context, st *store.Store, id string) (string, error) {
	if e, ok := l.emails[id]; ok {
		return e, nil
	}
	u, err := st.GetUser(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	e := ""
	if u != nil {
		e = u.Email
	}
	if l.emails == nil {
		l.emails = map[string]string{}
	}
	l.emails[id] = e
	return e, nil
}

// HasCalendarSync reports whether a user has calendar sync set up: an
// enabled event binding on one of their connections.
func (l *EventsLocal) HasCalendarSync(ctx context.Context, userID string) (bool, error) {
	if v, ok := l.syncs[userID]; ok {
		return v, nil
	}
	conns, err := l.Store.ListConnections(ctx, userID)
	if err != nil {
		return false, err
	}
	found := false
	for _, c := range conns {
		bs, err := l.Store.ListBindings(ctx, c.ID)
		if err != nil {
			return false, err
		}
		for _, b := range bs {
			if b.Kind == "event" && b.Enabled {
				found = true
			}
		}
	}
	if l.syncs == nil {
		l.syncs = map[string]bool{}
	}
	l.syncs[userID] = found
	return found, nil
}

func (l *EventsLocal) linked(ctx context.Context, st *store.Store, id string) (bool, error) {
	_, err := st.FindLink(ctx, l.BindingID, "local_id", id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (l *EventsLocal) inScope(ctx context.Context, st *store.Store, a *crm.Activity) (bool, error) {
	if !a.ShowInCalendar || a.Start == nil {
		return false, nil
	}
	if a.OrganizerID != l.Viewer.UserID {
		if a.OwnerID != l.Viewer.UserID {
			return false, nil
		}
		if a.OrganizerID != "" {
			// Sync follows the organizer.
			syncs, err := l.HasCalendarSync(ctx, a.OrganizerID)
			if err != nil || syncs {
				return false, err
			}
		}
	}
	linked, err := l.linked(ctx, st, a.ID)
	if err != nil || linked {
		return linked, err
	}
	if ok, err := mayTake(ctx, st, l.Export, l.Siblings, a.ID); err != nil || !ok {
		return false, err
	}
	return reconcile.ReachesDate(a, l.From), nil
}

// BindingSiblings implements reconcile.SiblingLocal.
func (l *EventsLocal) BindingSiblings() []reconcile.Sibling { return l.Siblings }

// Create implements Local: a meeting shown in the calendar, owned by the
// user.
func (l *EventsLocal) Create(ctx context.Context, tx *store.Tx, f reconcile.Fields) (string, error) {
	st := l.reads(tx)
	typ := l.ImportAs
	if typ == "" {
		typ = "meeting"
	}
	a := &crm.Activity{Type: typ, ShowInCalendar: true, OwnerID: l.Viewer.UserID, TimeZone: "UTC"}
	if err := reconcile.ApplyEventFields(a, f, reconcile.EventFieldNames); err != nil {
		return "", err
	}
	if err := l.applyOrganizer(ctx, st, a, f[reconcile.FieldOrganizer]); err != nil {
		return "", err
	}
	if err := l.matchContacts(ctx, st, a); err != nil {
		return "", err
	}
	if err := tx.CreateActivity(ctx, l.Viewer, a); err != nil {
		return "", err
	}
	return a.ID, nil
}

// Adopt implements reconcile.Adopter: an unlinked activity of the user
// that a remote item stands for (see EventsLocal), by the activity id the
// item carries, else by equal title and times; "" when there is none.
// One an account's other calendar links is that calendar's.
func (l *EventsLocal) Adopt(ctx context.Context, tx *store.Tx, f reconcile.Fields) (string, error) {
	st := l.reads(tx)
	usable := func(a *crm.Activity) (bool, error) {
		if a.OwnerID != l.Viewer.UserID && a.OrganizerID != l.Viewer.UserID {
			return false, nil
		}
		linked, err := l.linked(ctx, st, a.ID)
		if err != nil || linked {
			return false, err
		}
		held, err := heldBySibling(ctx, st, l.Siblings, a.ID)
		return !held, err
	}
	if id := f[reconcile.FieldTandemID]; id != "" {
		a, err := st.GetActivity(ctx, l.Viewer, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		if err == nil {
			ok, err := usable(a)
			if err != nil {
				return "", err
			}
			if ok {
				return a.ID, nil
			}
		}
	}
	start, _, err := reconcile.ParseEventTime(f[reconcile.FieldStart])
	if err != nil || f[reconcile.FieldTitle] == "" {
		return "", nil
	}
	// By the planned start alone (an index lookup): a calendar range
	// (From, To) would also hold every series begun before it, a query
	// that grows with the calendar, once per imported event.
	yes := true
	cands, _, err := st.ListActivities(ctx, l.Viewer, store.ActivityFilter{OwnerID: l.Viewer.UserID,
		ShowInCalendar: &yes, StartsFrom: start, StartsBefore: start.Add(time.Second), Page: store.Page{Limit: 200}})
	if err != nil {
		return "", err
	}
	for i := range cands {
		a := &cands[i]
		if a.Start == nil || strings.TrimSpace(a.Title) != strings.TrimSpace(f[reconcile.FieldTitle]) {
			continue
		}
		af := reconcile.EventFields(a, "")
		if af[reconcile.FieldStart] != f[reconcile.FieldStart] || af[reconcile.FieldEnd] != f[reconcile.FieldEnd] || af[reconcile.FieldAllDay] != f[reconcile.FieldAllDay] {
			continue
		}
		ok, err := usable(a)
		if err != nil {
			return "", err
		}
		if ok {
			return a.ID, nil
		}
	}
	return "", nil
}

// applyOrganizer sets the organizer from an e-mail: the user's own
// address makes the user the organizer; another keeps the organizing user
// whose address it is, else becomes organizer_email.
func (l *EventsLocal) applyOrganizer(ctx context.Context, st *store.Store, a *crm.Activity, email string) error {
	email = strings.TrimSpace(email)
	if email == "" {
		return nil
	}
	if strings.EqualFold(email, l.Viewer.Email) {
		a.OrganizerID, a.OrganizerEmail = l.Viewer.UserID, l.Viewer.Email
		return nil
	}
	if a.OrganizerID != "" {
		cur, err := l.userEmail(ctx, st, a.OrganizerID)
		if err != nil {
			return err
		}
		if strings.EqualFold(cur, email) {
			return nil
		}
	}
	a.OrganizerID, a.OrganizerEmail = "", email
	return nil
}

// matchContacts links participants without a contact to the contact the
// user can see whose e-mail matches.
func (l *EventsLocal) matchContacts(ctx context.Context, st *store.Store, a *crm.Activity) error {
	for i := range a.Participants {
		p := &a.Participants[i]
		if p.ContactID != "" || p.Email == "" {
			continue
		}
		cs, _, err := st.ListContacts(ctx, l.Viewer, store.ContactFilter{Email: p.Email, Page: store.Page{Limit: 1}})
		if err != nil {
			return err
		}
		if len(cs) > 0 {
			p.ContactID = cs[0].ID
		}
	}
	return nil
}

// Update implements Local.
func (l *EventsLocal) Update(ctx context.Context, tx *store.Tx, id string, f reconcile.Fields, names []string) error {
	st := l.reads(tx)
	a, err := st.GetActivity(ctx, l.Viewer, id)
	if err != nil {
		return err
	}
	if err := reconcile.ApplyEventFields(a, f, names); err != nil {
		return err
	}
	for _, n := range names {
		switch n {
		case reconcile.FieldOrganizer:
			if err := l.applyOrganizer(ctx, st, a, f[reconcile.FieldOrganizer]); err != nil {
				return err
			}
		case reconcile.FieldAttendees:
			if err := l.matchContacts(ctx, st, a); err != nil {
				return err
			}
		}
	}
	a.Tags, a.Access = nil, nil // leave as they are
	return tx.UpdateActivity(ctx, l.Viewer, a, a.Version)
}

// RemoteRemoved implements Local: an event deleted remotely deletes the
// activity (the engine journals it).
//
// An activity the user may not edit stays: a calendar must not delete
// what Tandem does not let its user delete (it is exported again with its
// next change).
func (l *EventsLocal) RemoteRemoved(ctx context.Context, tx *store.Tx, id string) (string, error) {
	st := l.reads(tx)
	if can, err := st.Editable(ctx, l.Viewer, store.EntityActivity, id); err != nil || !can {
		return "keep", err
	}
	if err := tx.DeleteActivity(ctx, l.Viewer, id); err != nil {
		return "", err
	}
	return reconcile.ActionDelete, nil
}

// Reenter implements Local: an activity whose event is back in the
// calendar is shown in the calendar again.
func (l *EventsLocal) Reenter(ctx context.Context, tx *store.Tx, id string) (string, error) {
	st := l.reads(tx)
	a, err := st.GetActivity(ctx, l.Viewer, id)
	if err != nil || a.ShowInCalendar {
		return "", err
	}
	a.ShowInCalendar = true
	a.Tags, a.Access = nil, nil // leave as they are
	if err := tx.UpdateActivity(ctx, l.Viewer, a, a.Version); err != nil {
		return "", err
	}
	return "show", nil
}

// ApplyOrganizerRule runs before a binding's run over the activities
// changed since its local cursor (since): an activity about to be
// exported — in scope, not linked yet — whose organizer is not the user
// and has no calendar sync (another user without it, or an outside
// address) gets the user as organizer (SPEC §4: "the participant who ran
// the sync becomes the organizer"). The write carries the binding's origin
// and is journaled; the change that put the activity in scope still makes
// the push export it. It returns how many activities it changed.
func (l *EventsLocal) ApplyOrganizerRule(ctx context.Context, since int64) (int, error) {
	origin := reconcile.OriginOf(l.BindingID)
	ctx = store.WithOrigin(ctx, origin)
	seen := map[string]bool{}
	changed := 0
	for {
		chs, err := l.Store.Changes(ctx, since, store.EntityActivity, 1000)
		if err != nil {
			return changed, err
		}
		if len(chs) == 0 {
			return changed, nil
		}
		// Only activities in the binding's scope can need the rule; ask
		// for them in one query rather than reading every changed record
		// (the change log holds every user's changes).
		var ids []string
		for _, ch := range chs {
			if ch.Origin != origin && ch.Op != "delete" && !seen[ch.EntityID] {
				seen[ch.EntityID] = true
				ids = append(ids, ch.EntityID)
			}
		}
		since = chs[len(chs)-1].Seq
		in, err := l.InScopeIDs(ctx, ids)
		if err != nil {
			return changed, err
		}
		for _, id := range ids {
			if !in[id] {
				continue
			}
			ok, err := l.organizerRule(ctx, id)
			if err != nil {
				return changed, err
			}
			if ok {
				changed++
			}
		}
	}
}

func (l *EventsLocal) organizerRule(ctx context.Context, id string) (bool, error) {
	st := l.Store
	a, err := st.GetActivity(ctx, l.Viewer, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	me := l.Viewer.UserID
	if !a.ShowInCalendar || a.Start == nil || a.OwnerID != me || a.OrganizerID == me {
		return false, nil
	}
	if a.OrganizerID == "" && (a.OrganizerEmail == "" || strings.EqualFold(a.OrganizerEmail, l.Viewer.Email)) {
		return false, nil // already the user's (no organizer means whoever syncs)
	}
	if a.OrganizerID != "" {
		syncs, err := l.HasCalendarSync(ctx, a.OrganizerID)
		if err != nil || syncs {
			return false, err // sync follows the organizer
		}
	}
	if linked, err := l.linked(ctx, st, id); err != nil || linked {
		return false, err
	}
	if ok, err := mayTake(ctx, st, l.Export, l.Siblings, id); err != nil || !ok {
		return false, err
	}
	if !reconcile.ReachesDate(a, l.From) {
		return false, nil
	}
	prev, err := l.organizerEmail(ctx, st, a)
	if err != nil {
		return false, err
	}
	a.OrganizerID, a.OrganizerEmail = me, l.Viewer.Email
	a.Tags, a.Access = nil, nil
	err = l.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateActivity(ctx, l.Viewer, a, a.Version); err != nil {
			return err
		}
		return tx.Journal(ctx, store.JournalEntry{BindingID: l.BindingID, Entity: store.EntityActivity, RecordID: id,
			Side: "local", Action: "update", Fields: []string{reconcile.FieldOrganizer},
			Reason: reconcile.OrganizerReplaced(prev)})
	})
	if err != nil {
		return false, err
	}
	return true, nil
}

var (
	_ reconcile.Local          = (*EventsLocal)(nil)
	_ reconcile.Adopter        = (*EventsLocal)(nil)
	_ reconcile.IdentityKeeper = (*EventsLocal)(nil)
	_ reconcile.SiblingLocal   = (*EventsLocal)(nil)
)

// KeptIdentities implements reconcile.IdentityKeeper (see Left).
func (l *EventsLocal) KeptIdentities(ctx context.Context, ids []string) (map[string]string, error) {
	return keptIdentities(ctx, l.Store, l.Left, ids)
}
