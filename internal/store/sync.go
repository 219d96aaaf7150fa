package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// Binding is one connection × one kind × one remote collection, with the
// engine's two cursors.
type Binding struct {
	ID           string
	ConnectionID string
	Kind         string // "contact", "event" or "task"
	Collection   string
	RemoteCursor string
	LocalCursor  int64
	Policy       string // JSON, interpreted by the engine
	Enabled      bool
	LastRunAt    time.Time
	LastError    string
	LastStats    string // JSON
	// The run under way: when it started and its running counts (JSON);
	// RunProgress is "" while no run is under way.
	RunStartedAt time.Time
	RunProgress  string
}

// Link pairs a local record with its remote item in one binding.
type Link struct {
	BindingID string
	LocalID   string
	RemoteID  string // "" while a remote create is pending
	ETag      string
	Identity  string
	Marker    string
	Base      string // the record as last synced, JSON
	BaseAt    time.Time
	Pending   bool
	// Dormant: the record or the item left the binding's scope. The link
	// is kept so that either side coming back finds the other.
	Dormant bool
}

// JournalEntry is one change the engine applied.
type JournalEntry struct {
	Seq       int64
	BindingID string
	Entity    string
	RecordID  string
	RemoteID  string
	Side      string
	Action    string
	Fields    []string
	Reason    string
	At        time.Time
	Name      string // the record's name; previews only (not stored)
}

// SaveBinding creates (empty ID) or updates a binding's definition.
func (s *Store) SaveBinding(ctx context.Context, b *Binding) error {
	now := crm.Micros(crm.Now())
	if b.Policy == "" {
		b.Policy = "{}"
	}
	if b.ID == "" {
		b.ID = newID()
		_, err := s.w.ExecContext(ctx, `INSERT INTO sync_bindings (id, connection_id, kind, collection, policy, enabled,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
			b.ID, b.ConnectionID, b.Kind, b.Collection, b.Policy, b.Enabled, now)
		if s.dialect.isUnique(err) {
			return ErrDuplicate
		}
		if err != nil {
			return fmt.Errorf("create binding: %w", err)
		}
		return nil
	}
	res, err := s.w.ExecContext(ctx, `UPDATE sync_bindings SET collection = $2, policy = $3, enabled = $4, updated_at = $5
		WHERE id = $1`, b.ID, b.Collection, b.Policy, b.Enabled, now)
	if err != nil {
		return fmt.Errorf("update binding: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

const bindingColumns = `id, connection_id, kind, collection, remote_cursor, local_cursor, policy, enabled, last_run_at,
	last_error, last_stats, run_started_at, run_progress`

func scanBinding(row interface{ Scan(...any) error }) (*Binding, error) {
	var b Binding
	var last, started int64
	if err := row.Scan(&b.ID, &b.ConnectionID, &b.Kind, &b.Collection, &b.RemoteCursor, &b.LocalCursor, &b.Policy,
		&b.Enabled, &last, &b.LastError, &b.LastStats, &started, &b.RunProgress); err != nil {
		return nil, err
	}
	if last > 0 {
		b.LastRunAt = crm.FromMicros(last)
	}
	if started > 0 {
		b.RunStartedAt = crm.FromMicros(started)
	}
	return &b, nil
}

// GetBinding returns one binding.
func (s *Store) GetBinding(ctx context.Context, id string) (*Binding, error) {
	b, err := scanBinding(s.r.QueryRowContext(ctx, `SELECT `+bindingColumns+` FROM sync_bindings WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get binding: %w", err)
	}
	return b, nil
}

// ListBindings returns a connection's bindings.
func (s *Store) ListBindings(ctx context.Context, connectionID string) ([]*Binding, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+bindingColumns+` FROM sync_bindings WHERE connection_id = $1
		ORDER BY kind, collection`, connectionID)
	if err != nil {
		return nil, fmt.Errorf("list bindings: %w", err)
	}
	defer rows.Close()
	var out []*Binding
	for rows.Next() {
		b, err := scanBinding(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// StartRun marks a binding's run as under way, with no counts yet.
func (s *Store) StartRun(ctx context.Context, bindingID string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE sync_bindings SET run_started_at = $2, run_progress = '{}' WHERE id = $1`,
		bindingID, crm.Micros(crm.Now()))
	if err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	return nil
}

// SaveRunProgress stores the running counts (JSON) of a binding's run
// under way.
func (s *Store) SaveRunProgress(ctx context.Context, bindingID, stats string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE sync_bindings SET run_progress = $2 WHERE id = $1 AND run_progress <> ''`,
		bindingID, stats)
	if err != nil {
		return fmt.Errorf("save run progress: %w", err)
	}
	return nil
}

// FinishRun records the outcome of a sync run; the run is no longer under
// way.
func (s *Store) FinishRun(ctx context.Context, bindingID, stats string, runErr error) error {
	msg := ""
	if runErr != nil {
		msg = runErr.Error()
	}
	_, err := s.w.ExecContext(ctx, `UPDATE sync_bindings SET last_run_at = $2, last_error = $3, last_stats = $4,
		run_progress = '' WHERE id = $1`,
		bindingID, crm.Micros(crm.Now()), msg, stats)
	if err != nil {
		return fmt.Errorf("finish run: %w", err)
	}
	return nil
}

const linkColumns = `binding_id, local_id, remote_id, etag, identity, marker, base, base_at, pending, dormant`

func scanLink(row interface{ Scan(...any) error }) (*Link, error) {
	var l Link
	var at int64
	if err := row.Scan(&l.BindingID, &l.LocalID, &l.RemoteID, &l.ETag, &l.Identity, &l.Marker, &l.Base, &at, &l.Pending, &l.Dormant); err != nil {
		return nil, err
	}
	if at > 0 {
		l.BaseAt = crm.FromMicros(at)
	}
	return &l, nil
}

// FindLink returns the link of a binding whose column ("local_id",
// "remote_id", "marker" or "identity") equals value, or ErrNotFound.
func (s *Store) FindLink(ctx context.Context, bindingID, column, value string) (*Link, error) {
	switch column {
	case "local_id", "remote_id", "marker", "identity":
	default:
		return nil, fmt.Errorf("find link: bad column %q", column)
	}
	if value == "" {
		return nil, ErrNotFound
	}
	// The remote_id index is partial (remote_id <> ''); SQLite uses it only
	// when the query repeats that condition.
	extra := ""
	if column == "remote_id" {
		extra = ` AND remote_id <> ''`
	}
	l, err := scanLink(s.r.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM sync_links WHERE binding_id = $1 AND `+
		column+` = $2`+extra+` LIMIT 1`, bindingID, value))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find link: %w", err)
	}
	return l, nil
}

// Links returns every link of a binding (for a full reconcile).
func (s *Store) Links(ctx context.Context, bindingID string) ([]*Link, error) {
	return s.links(ctx, `binding_id = $1 ORDER BY local_id`, bindingID)
}

// PendingLinks returns a binding's links whose remote create has not been
// confirmed (a crash between the create and its link).
func (s *Store) PendingLinks(ctx context.Context, bindingID string) ([]*Link, error) {
	return s.links(ctx, `binding_id = $1 AND pending`, bindingID)
}

func (s *Store) links(ctx context.Context, where string, args ...any) ([]*Link, error) {
	return s.linksWith(ctx, s.r, where, args...)
}

func (s *Store) linksWith(ctx context.Context, q querier, where string, args ...any) ([]*Link, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+linkColumns+` FROM sync_links WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	defer rows.Close()
	var out []*Link
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// HasLinks reports whether a binding has any link at all.
func (s *Store) HasLinks(ctx context.Context, bindingID string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM sync_links WHERE binding_id = $1 LIMIT 1) x`,
		bindingID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("has links: %w", err)
	}
	return n > 0, nil
}

// LiveLinkIDs calls fn with the local and remote id of each live link of a
// binding (neither pending nor dormant), streaming: nothing but one row is
// held, whatever the binding's size. fn must not use the store's writer
// (on SQLite the rows hold a read connection, not the writer, so it may
// read).
func (s *Store) LiveLinkIDs(ctx context.Context, bindingID string, fn func(localID, remoteID string) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT local_id, remote_id FROM sync_links WHERE binding_id = $1
		AND NOT pending AND NOT dormant`, bindingID)
	if err != nil {
		return fmt.Errorf("live links: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l, r string
		if err := rows.Scan(&l, &r); err != nil {
			return err
		}
		if err := fn(l, r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// LinkedLocalIDs returns the local ids of a binding's links (pending,
// dormant or not), or ok false when there are more than limit.
func (s *Store) LinkedLocalIDs(ctx context.Context, bindingID string, limit int) (ids []string, ok bool, err error) {
	return s.idsUpTo(ctx, limit, `SELECT local_id FROM sync_links WHERE binding_id = $1 LIMIT $2`, bindingID, limit+1)
}

// TaggedIDs returns the ids of the records of entity carrying tagID
// (whoever may see them), or ok false when there are more than limit.
func (s *Store) TaggedIDs(ctx context.Context, entity, tagID string, limit int) (ids []string, ok bool, err error) {
	return s.idsUpTo(ctx, limit, `SELECT record_id FROM record_tags WHERE tag_id = $1 AND entity = $2 LIMIT $3`,
		tagID, entity, limit+1)
}

func (s *Store) idsUpTo(ctx context.Context, limit int, query string, args ...any) ([]string, bool, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list ids: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, false, err
		}
		if len(out) == limit {
			return nil, false, nil
		}
		out = append(out, id)
	}
	return out, true, rows.Err()
}

// LinkedIDs reports which of localIDs have a link (pending, dormant or
// not) in a binding: one query per 1,000 ids.
func (s *Store) LinkedIDs(ctx context.Context, bindingID string, localIDs []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := inChunks(localIDs, func(ids []string) error {
		rows, err := s.r.QueryContext(ctx, `SELECT local_id FROM sync_links WHERE binding_id = $1 AND local_id IN (`+
			params(2, len(ids))+`)`, append([]any{bindingID}, anySlice(ids)...)...)
		if err != nil {
			return fmt.Errorf("linked ids: %w", err)
		}
		return collectIDs(rows, out)
	})
	return out, err
}

// TaggedContactIDs reports which of ids are contacts the viewer may read
// that carry tagID among the tags visible to the viewer: the scope of a
// contact binding (crmsync.ContactsLocal), as GetContact and its tags
// decide it for one contact. One query per 1,000 ids.
func (s *Store) TaggedContactIDs(ctx context.Context, v access.Viewer, tagID string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if tagID == "" {
		return out, nil
	}
	err := inChunks(ids, func(ids []string) error {
		// Driven by the tag's rows for the ids (one look-up each in
		// record_tags' key), whatever the planner believes of the tag's
		// size: PostgreSQL with stale statistics otherwise walks every
		// record carrying the tag and tests it against the list.
		rows, err := s.r.QueryContext(ctx, `SELECT c.id FROM record_tags rt JOIN tags t ON t.id = rt.tag_id
			JOIN contacts c ON c.id = rt.record_id WHERE rt.tag_id = $2 AND rt.record_id IN (`+params(3, len(ids))+`)
			AND `+tagVisibleFor("$1")+` AND `+canRead("c", "$1"),
			append([]any{v.UserID, tagID}, anySlice(ids)...)...)
		if err != nil {
			return fmt.Errorf("tagged contacts: %w", err)
		}
		return collectIDs(rows, out)
	})
	return out, err
}

// CalendarCandidate is an activity that passes the stored part of a
// calendar binding's scope (see CalendarCandidates), with what the rest of
// the decision needs.
type CalendarCandidate struct {
	// Activity has only ID, Start, End, AllDay, TimeZone, RRule and
	// RDates set: what reconcile.ReachesDate reads.
	Activity crm.Activity
	// Linked: the activity has a link in the binding (pending, dormant or
	// not).
	Linked bool
}

// LinkScope is which records a binding may take up beyond its own: those
// linked in BindingID always; with Own nothing else; otherwise none linked
// in any of Siblings (the other collections of its kind on the account,
// which hold their own records).
type LinkScope struct {
	BindingID string
	Siblings  []string
	Own       bool
}

// cond is the condition of the scope on activity a, given linked, the
// expression "a is linked in the binding"; it adds its parameters to args.
func (ls LinkScope) cond(linked string, args *[]any) string {
	if ls.Own {
		return ` AND ` + linked
	}
	if len(ls.Siblings) == 0 {
		return ""
	}
	*args = append(*args, anySlice(ls.Siblings)...)
	return ` AND (` + linked + ` OR NOT EXISTS (SELECT 1 FROM sync_links sl WHERE sl.local_id = a.id AND sl.binding_id IN (` +
		params(len(*args)-len(ls.Siblings)+1, len(ls.Siblings)) + `)))`
}

// CalendarCandidates returns those of ids that are activities the viewer
// may read, shown in the calendar and dated, and either organized by the
// viewer or owned by them with no organizing user or one without calendar
// sync (no enabled event binding on any of their connections), within ls.
// With a non-zero from, only those linked in the binding, or with a start
// on or after from, or an end (else the start) after it, or a recurrence —
// the caller expands recurrences (reconcile.ReachesDate). This is the
// scope of a calendar binding (crmsync.EventsLocal) as far as SQL can tell
// it. One query per 1,000 ids.
func (s *Store) CalendarCandidates(ctx context.Context, v access.Viewer, ls LinkScope, from time.Time, ids []string) ([]CalendarCandidate, error) {
	const linked = `EXISTS (SELECT 1 FROM sync_links l WHERE l.binding_id = $2 AND l.local_id = a.id)`
	var out []CalendarCandidate
	err := inChunks(ids, func(ids []string) error {
		args := append([]any{v.UserID, ls.BindingID}, anySlice(ids)...)
		date := ""
		if !from.IsZero() {
			args = append(args, crm.Micros(from))
			n := fmt.Sprintf("$%d", len(args))
			date = ` AND (` + linked + ` OR a.start_at >= ` + n + ` OR COALESCE(a.end_at, a.start_at) > ` + n + ` OR a.rrule <> '' OR a.rdates <> '')`
		}
		date += ls.cond(linked, &args)
		rows, err := s.r.QueryContext(ctx, `SELECT a.id, a.start_at, a.end_at, a.all_day, a.time_zone, a.rrule, a.rdates, `+linked+`
			FROM activities a WHERE a.id IN (`+params(3, len(ids))+`) AND `+canRead("a", "$1")+`
			AND a.show_in_calendar AND a.start_at IS NOT NULL
			AND (a.organizer_id = $1 OR (a.owner_id = $1 AND (COALESCE(a.organizer_id, '') = '' OR NOT EXISTS (
				SELECT 1 FROM connections cn JOIN sync_bindings sb ON sb.connection_id = cn.id
				WHERE cn.user_id = a.organizer_id AND sb.kind = 'event' AND sb.enabled))))`+date, args...)
		if err != nil {
			return fmt.Errorf("calendar candidates: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c CalendarCandidate
			var start, end sql.NullInt64
			var rdates string
			if err := rows.Scan(&c.Activity.ID, &start, &end, &c.Activity.AllDay, &c.Activity.TimeZone, &c.Activity.RRule,
				&rdates, &c.Linked); err != nil {
				return err
			}
			c.Activity.Start, c.Activity.End = timePtr(start), timePtr(end)
			c.Activity.RDates = decodeTimes(rdates)
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// TaskCandidate is an activity that passes the stored part of a task
// binding's scope (see TaskCandidates).
type TaskCandidate struct {
	// Activity has only ID, Start, End, AllDay and CreatedAt set: what
	// reconcile.TaskReachesDate reads.
	Activity crm.Activity
	// Linked: the activity has a link in the binding.
	Linked bool
}

// TaskCandidates returns those of ids that are tasks the viewer may read,
// owned by (responsible: the viewer) and not shown in the calendar, within
// ls. With a non-zero from, only those linked in the binding or whose due
// time, else start, else creation is no more than a day before from — the
// caller decides the date exactly (reconcile.TaskReachesDate: an all-day
// due counts from its last day). This is the scope of a task binding
// (crmsync.TasksLocal) as far as SQL can tell it. One query per 1,000 ids.
func (s *Store) TaskCandidates(ctx context.Context, v access.Viewer, ls LinkScope, from time.Time, ids []string) ([]TaskCandidate, error) {
	const linked = `EXISTS (SELECT 1 FROM sync_links l WHERE l.binding_id = $2 AND l.local_id = a.id)`
	var out []TaskCandidate
	err := inChunks(ids, func(ids []string) error {
		args := append([]any{v.UserID, ls.BindingID}, anySlice(ids)...)
		date := ""
		if !from.IsZero() {
			args = append(args, crm.Micros(from.Add(-24*time.Hour)))
			date = fmt.Sprintf(` AND (`+linked+` OR COALESCE(a.end_at, a.start_at, a.created_at) >= $%d)`, len(args))
		}
		date += ls.cond(linked, &args)
		rows, err := s.r.QueryContext(ctx, `SELECT a.id, a.start_at, a.end_at, a.all_day, a.created_at, `+linked+`
			FROM activities a WHERE a.id IN (`+params(3, len(ids))+`) AND `+canRead("a", "$1")+`
			AND a.type = 'task' AND NOT a.show_in_calendar AND a.owner_id = $1`+date, args...)
		if err != nil {
			return fmt.Errorf("task candidates: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c TaskCandidate
			var start, end sql.NullInt64
			var created int64
			if err := rows.Scan(&c.Activity.ID, &start, &end, &c.Activity.AllDay, &created, &c.Linked); err != nil {
				return err
			}
			c.Activity.Start, c.Activity.End = timePtr(start), timePtr(end)
			c.Activity.CreatedAt = crm.FromMicros(created)
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// idChunk bounds the ids of one IN (…) list, well under both databases'
// limits on parameters.
const idChunk = 1000

// inChunks calls fn with the distinct non-empty ids, at most idChunk at a
// time.
func inChunks(ids []string, fn func([]string) error) error {
	seen := make(map[string]bool, len(ids))
	chunk := make([]string, 0, min(len(ids), idChunk))
	for _, id := range ids {
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		chunk = append(chunk, id)
		if len(chunk) == idChunk {
			if err := fn(chunk); err != nil {
				return err
			}
			chunk = chunk[:0]
		}
	}
	if len(chunk) > 0 {
		return fn(chunk)
	}
	return nil
}

// collectIDs adds the first column of every row to out and closes rows.
func collectIDs(rows *sql.Rows, out map[string]bool) error {
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		out[id] = true
	}
	return rows.Err()
}

// CountLinks returns how many records a binding links now: dormant links
// (records or items out of scope) are not counted.
func (s *Store) CountLinks(ctx context.Context, bindingID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sync_links WHERE binding_id = $1 AND NOT dormant`, bindingID).Scan(&n)
	return n, err
}

// Journal returns the newest journal entries of a record, newest first.
func (s *Store) Journal(ctx context.Context, recordID string, limit int) ([]JournalEntry, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, binding_id, entity, record_id, remote_id, side, action, fields, reason, at
		FROM sync_journal WHERE record_id = $1 ORDER BY seq DESC LIMIT $2`, recordID, limit)
	if err != nil {
		return nil, fmt.Errorf("read journal: %w", err)
	}
	defer rows.Close()
	var out []JournalEntry
	for rows.Next() {
		var e JournalEntry
		var fields string
		var at int64
		if err := rows.Scan(&e.Seq, &e.BindingID, &e.Entity, &e.RecordID, &e.RemoteID, &e.Side, &e.Action, &fields, &e.Reason, &at); err != nil {
			return nil, err
		}
		if fields != "" {
			e.Fields = strings.Split(fields, ",")
		}
		e.At = crm.FromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Tx is a write transaction in which the sync engine applies a change to a
// record together with its link, cursor and journal entry, so a crash never
// leaves one without the other.
type Tx struct {
	s     *Store
	q     *txq
	reads *Store // Reads, made on first use
}

// InTx runs fn in one write transaction.
func (s *Store) InTx(ctx context.Context, fn func(*Tx) error) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return fn(&Tx{s: s, q: newTxq(tx, s.dialect.name() == "sqlite")})
	})
}

// CreateContact is Store.CreateContact inside the transaction.
func (t *Tx) CreateContact(ctx context.Context, v access.Viewer, c *crm.Contact) error {
	return t.s.createContact(ctx, t.q, v, c)
}

// UpdateContact is Store.UpdateContact inside the transaction.
func (t *Tx) UpdateContact(ctx context.Context, v access.Viewer, c *crm.Contact, wantVersion int64) error {
	return t.s.updateContact(ctx, t.q, v, c, wantVersion)
}

// DeleteContact is Store.DeleteContact inside the transaction.
func (t *Tx) DeleteContact(ctx context.Context, v access.Viewer, id string) error {
	return t.s.deleteContact(ctx, t.q, v, id)
}

// CreateActivity is Store.CreateActivity inside the transaction.
func (t *Tx) CreateActivity(ctx context.Context, v access.Viewer, a *crm.Activity) error {
	return t.s.createActivity(ctx, t.q, v, a)
}

// UpdateActivity is Store.UpdateActivity inside the transaction.
func (t *Tx) UpdateActivity(ctx context.Context, v access.Viewer, a *crm.Activity, wantVersion int64) error {
	return t.s.updateActivity(ctx, t.q, v, a, wantVersion)
}

// DeleteActivity is Store.DeleteActivity inside the transaction.
func (t *Tx) DeleteActivity(ctx context.Context, v access.Viewer, id string) error {
	return t.s.deleteActivity(ctx, t.q, v, id)
}

// SetTag puts a visible tag on a record or takes it off, logging the
// record as changed when anything changed.
func (t *Tx) SetTag(ctx context.Context, v access.Viewer, entity, recordID, tagID string, on bool) error {
	table := entityTables[entity]
	if table == "" {
		return fmt.Errorf("set tag: unknown entity %q", entity)
	}
	if err := t.s.checkEditable(ctx, t.q, table, recordID, v, 0); err != nil {
		return err
	}
	if _, err := t.s.getTag(ctx, t.q, v, tagID); err != nil {
		return err
	}
	var res sql.Result
	var err error
	if on {
		res, err = t.q.ExecContext(ctx, `INSERT INTO record_tags (tag_id, record_id, entity) SELECT $1, $2, $3
			WHERE NOT EXISTS (SELECT 1 FROM record_tags WHERE tag_id = $1 AND record_id = $2)`, tagID, recordID, entity)
	} else {
		res, err = t.q.ExecContext(ctx, `DELETE FROM record_tags WHERE tag_id = $1 AND record_id = $2`, tagID, recordID)
	}
	if err != nil {
		return fmt.Errorf("set tag: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	if _, err := t.q.ExecContext(ctx, `UPDATE `+table+` SET version = version + 1, updated_at = $2 WHERE id = $1`,
		recordID, crm.Micros(crm.Now())); err != nil {
		return fmt.Errorf("set tag: %w", err)
	}
	return t.s.logChange(ctx, t.q, entity, recordID, "update", v.UserID)
}

// PutLink inserts or replaces a link, in one statement (an upsert on the
// link's key).
func (t *Tx) PutLink(ctx context.Context, l *Link) error {
	var at int64
	if !l.BaseAt.IsZero() {
		at = crm.Micros(l.BaseAt)
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO sync_links (binding_id, local_id, remote_id, etag, identity, marker, base,
		base_at, pending, dormant) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (binding_id, local_id) DO UPDATE SET remote_id = excluded.remote_id, etag = excluded.etag,
		identity = excluded.identity, marker = excluded.marker, base = excluded.base, base_at = excluded.base_at,
		pending = excluded.pending, dormant = excluded.dormant`,
		l.BindingID, l.LocalID, l.RemoteID, l.ETag, l.Identity, l.Marker, l.Base, at, l.Pending, l.Dormant)
	if t.s.dialect.isUnique(err) {
		return fmt.Errorf("put link: remote item or marker already linked: %w", ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("put link: %w", err)
	}
	return nil
}

// PutLinks is PutLink for many links (distinct local ids), in one
// statement per bulkRows.
func (t *Tx) PutLinks(ctx context.Context, ls []*Link) error {
	args := make([]any, 0, len(ls)*10)
	for _, l := range ls {
		var at int64
		if !l.BaseAt.IsZero() {
			at = crm.Micros(l.BaseAt)
		}
		args = append(args, l.BindingID, l.LocalID, l.RemoteID, l.ETag, l.Identity, l.Marker, l.Base, at, l.Pending, l.Dormant)
	}
	err := t.s.insertRowsThen(ctx, t.q, `INSERT INTO sync_links (binding_id, local_id, remote_id, etag, identity, marker, base,
		base_at, pending, dormant)`, `
		ON CONFLICT (binding_id, local_id) DO UPDATE SET remote_id = excluded.remote_id, etag = excluded.etag,
		identity = excluded.identity, marker = excluded.marker, base = excluded.base, base_at = excluded.base_at,
		pending = excluded.pending, dormant = excluded.dormant`, 10, args)
	if t.s.dialect.isUnique(err) {
		return fmt.Errorf("put links: remote item or marker already linked: %w", ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("put links: %w", err)
	}
	return nil
}

// JournalMany is Journal for many entries, in one statement per bulkRows.
func (t *Tx) JournalMany(ctx context.Context, es []JournalEntry) error {
	at := crm.Micros(crm.Now())
	args := make([]any, 0, len(es)*9)
	for _, e := range es {
		args = append(args, e.BindingID, e.Entity, e.RecordID, e.RemoteID, e.Side, e.Action, strings.Join(e.Fields, ","),
			e.Reason, at)
	}
	if err := t.s.insertRows(ctx, t.q, `INSERT INTO sync_journal (binding_id, entity, record_id, remote_id, side, action,
		fields, reason, at)`, 9, args); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// LinksMatching returns, read inside the transaction, the links of a
// binding whose remote id, marker or identity is among the given ones: the
// links a page of remote items can match, in one query per list (per 1,000
// values).
func (t *Tx) LinksMatching(ctx context.Context, bindingID string, remoteIDs, markers, identities []string) ([]*Link, error) {
	pg := t.s.dialect.name() == "postgres"
	if pg {
		// pgx prepares these queries once per connection, and after five
		// runs PostgreSQL may keep a generic plan made while the links
		// table was small: during a first import of 100k items that plan
		// (a scan of the binding's links) cost a second a page at 40k
		// links. Planning each run for the values at hand picks the
		// indexes. SET LOCAL lasts until the transaction ends, which the
		// page's inserts do not mind: their plans are trivial.
		if _, err := t.q.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
			return nil, fmt.Errorf("links matching: %w", err)
		}
	}
	var out []*Link
	for _, k := range []struct {
		col, extra string
		vals       []string
	}{{"remote_id", ` AND remote_id <> ''`, remoteIDs}, {"marker", "", markers}, {"identity", "", identities}} {
		// The remote_id index is partial (remote_id <> ''): both databases
		// use it only when the query repeats that condition.
		err := inChunks(k.vals, func(vals []string) error {
			var ls []*Link
			var err error
			if pg {
				// One array parameter: one statement text, cheap to plan.
				ls, err = t.s.linksWith(ctx, t.q, `binding_id = $1 AND `+k.col+` = ANY($2)`+k.extra, bindingID, vals)
			} else {
				// "?", not "$N": SQLite looks each "$N" up among the
				// parameters before it, quadratic in their number.
				ls, err = t.s.linksWith(ctx, t.q, `binding_id = ? AND `+k.col+` IN (`+
					strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")+`)`+k.extra,
					append([]any{bindingID}, anySlice(vals)...)...)
			}
			out = append(out, ls...)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LinksIn returns the links of any of bindingIDs whose column
// ("local_id" or "identity") is among values: what other bindings of a
// connection hold of the same records or items (several calendars on
// one account). One query per 1,000 values.
func (s *Store) LinksIn(ctx context.Context, bindingIDs []string, column string, values []string) ([]*Link, error) {
	return s.linksIn(ctx, s.r, bindingIDs, column, values)
}

// LinksIn is Store.LinksIn read inside the transaction.
func (t *Tx) LinksIn(ctx context.Context, bindingIDs []string, column string, values []string) ([]*Link, error) {
	return t.s.linksIn(ctx, t.q, bindingIDs, column, values)
}

func (s *Store) linksIn(ctx context.Context, q querier, bindingIDs []string, column string, values []string) ([]*Link, error) {
	switch column {
	case "local_id", "identity":
	default:
		return nil, fmt.Errorf("links in: bad column %q", column)
	}
	if len(bindingIDs) == 0 {
		return nil, nil
	}
	var out []*Link
	for _, b := range bindingIDs {
		// One binding at a time: each look-up is an index seek on
		// (binding_id, local_id) or (binding_id, identity).
		err := inChunks(values, func(vals []string) error {
			ls, err := s.linksWith(ctx, q, `binding_id = $1 AND `+column+` IN (`+params(2, len(vals))+`)`,
				append([]any{b}, anySlice(vals)...)...)
			out = append(out, ls...)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LinksOf returns, read inside the transaction, the links of a binding for
// the given local ids, by local id.
func (t *Tx) LinksOf(ctx context.Context, bindingID string, localIDs []string) (map[string]*Link, error) {
	return t.s.linksOf(ctx, t.q, bindingID, localIDs)
}

func (s *Store) linksOf(ctx context.Context, q querier, bindingID string, localIDs []string) (map[string]*Link, error) {
	out := make(map[string]*Link, len(localIDs))
	err := inChunks(localIDs, func(ids []string) error {
		ls, err := s.linksWith(ctx, q, `binding_id = $1 AND local_id IN (`+params(2, len(ids))+`)`,
			append([]any{bindingID}, anySlice(ids)...)...)
		for _, l := range ls {
			out[l.LocalID] = l
		}
		return err
	})
	return out, err
}

// LinksOf returns the links of a binding for the given local ids, by local
// id.
func (s *Store) LinksOf(ctx context.Context, bindingID string, localIDs []string) (map[string]*Link, error) {
	return s.linksOf(ctx, s.r, bindingID, localIDs)
}

// FindLink is Store.FindLink inside the transaction.
func (t *Tx) FindLink(ctx context.Context, bindingID, column, value string) (*Link, error) {
	return t.Reads().FindLink(ctx, bindingID, column, value)
}

// NoteChange appends an update of a record to the change log, under the
// context's origin, without writing the record: a sync notes that a
// record still owes the remote side a change.
func (t *Tx) NoteChange(ctx context.Context, entity, id string) error {
	return t.s.logChange(ctx, t.q, entity, id, "update", "")
}

// DeleteLink removes a link.
func (t *Tx) DeleteLink(ctx context.Context, bindingID, localID string) error {
	_, err := t.q.ExecContext(ctx, `DELETE FROM sync_links WHERE binding_id = $1 AND local_id = $2`, bindingID, localID)
	if err != nil {
		return fmt.Errorf("delete link: %w", err)
	}
	return nil
}

// SetCursors stores a binding's cursors; an empty remote cursor or a zero
// local one leaves that cursor as it is unless reset is set.
func (t *Tx) SetCursors(ctx context.Context, bindingID, remote string, local int64, reset bool) error {
	_, err := t.q.ExecContext(ctx, `UPDATE sync_bindings SET
		remote_cursor = CASE WHEN $2 <> '' OR $4 THEN $2 ELSE remote_cursor END,
		local_cursor = CASE WHEN $3 > 0 OR $4 THEN $3 ELSE local_cursor END WHERE id = $1`, bindingID, remote, local, reset)
	if err != nil {
		return fmt.Errorf("set cursors: %w", err)
	}
	return nil
}

// Journal records one applied change.
func (t *Tx) Journal(ctx context.Context, e JournalEntry) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO sync_journal (binding_id, entity, record_id, remote_id, side, action, fields,
		reason, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, e.BindingID, e.Entity, e.RecordID, e.RemoteID, e.Side,
		e.Action, strings.Join(e.Fields, ","), e.Reason, crm.Micros(crm.Now()))
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// DueBindings returns the enabled bindings of active or degraded
// connections, for the scheduler to pick the ones whose period passed.
func (s *Store) DueBindings(ctx context.Context) ([]*Binding, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+prefixed("b.", bindingColumns)+` FROM sync_bindings b
		JOIN connections c ON c.id = b.connection_id WHERE b.enabled AND c.status IN ('active', 'degraded')
		ORDER BY b.last_run_at`)
	if err != nil {
		return nil, fmt.Errorf("due bindings: %w", err)
	}
	defer rows.Close()
	var out []*Binding
	for rows.Next() {
		b, err := scanBinding(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// TryRunLease takes a connection's run lease for holder until ttl from now
// if it is free, expired, or already the holder's.
func (s *Store) TryRunLease(ctx context.Context, connID, holder string, ttl time.Duration) (bool, error) {
	now := crm.Now()
	res, err := s.w.ExecContext(ctx, `UPDATE connections SET run_lease_holder = $2, run_lease_until = $3
		WHERE id = $1 AND (run_lease_until < $4 OR run_lease_holder = $2)`,
		connID, holder, crm.Micros(now.Add(ttl)), crm.Micros(now))
	if err != nil {
		return false, fmt.Errorf("run lease: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// RenewRunLease extends holder's lease on a connection to ttl from now. It
// extends only while holder still holds it (even if it ran out meanwhile,
// no one else took it), and reports false when someone else has it or it
// was released: the caller has lost the lease and must stop.
func (s *Store) RenewRunLease(ctx context.Context, connID, holder string, ttl time.Duration) (bool, error) {
	if holder == "" {
		return false, nil
	}
	res, err := s.w.ExecContext(ctx, `UPDATE connections SET run_lease_until = $3 WHERE id = $1 AND run_lease_holder = $2`,
		connID, holder, crm.Micros(crm.Now().Add(ttl)))
	if err != nil {
		return false, fmt.Errorf("renew run lease: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseRunLease gives the lease back.
func (s *Store) ReleaseRunLease(ctx context.Context, connID, holder string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE connections SET run_lease_holder = '', run_lease_until = 0
		WHERE id = $1 AND run_lease_holder = $2`, connID, holder)
	if err != nil {
		return fmt.Errorf("release run lease: %w", err)
	}
	return nil
}

// RunEnd is what a finished run records on its connection when it gives
// the lease back: its time (LastSync, 0 to keep the last) and its health
// (Status "" to keep it).
type RunEnd struct {
	LastSync time.Time
	Status   ConnectionStatus
	Reason   string
}

// EndRunLease gives holder's lease back and records the run's end, in one
// write: a run that changed nothing then costs two writes (lease taken,
// lease given back), each a commit that SQLite may fsync.
func (s *Store) EndRunLease(ctx context.Context, connID, holder string, end RunEnd) error {
	var last int64
	if !end.LastSync.IsZero() {
		last = crm.Micros(end.LastSync)
	}
	reason := end.Reason
	if end.Status == ConnectionActive {
		reason = ""
	}
	if r := []rune(reason); len(r) > 500 {
		reason = string(r[:500])
	}
	if end.Status != "" && !slices.Contains(ConnectionStatuses, end.Status) {
		return fmt.Errorf("connection status %q unknown", end.Status)
	}
	_, err := s.w.ExecContext(ctx, `UPDATE connections SET run_lease_holder = '', run_lease_until = 0,
		last_sync_at = CASE WHEN CAST($3 AS BIGINT) > 0 THEN CAST($3 AS BIGINT) ELSE last_sync_at END,
		status = CASE WHEN CAST($4 AS TEXT) = '' THEN status ELSE CAST($4 AS TEXT) END,
		status_reason = CASE WHEN CAST($4 AS TEXT) = '' THEN status_reason ELSE CAST($5 AS TEXT) END,
		updated_at = CASE WHEN CAST($4 AS TEXT) = '' OR (status = CAST($4 AS TEXT) AND status_reason = CAST($5 AS TEXT))
			THEN updated_at ELSE CAST($6 AS BIGINT) END
		WHERE id = $1 AND run_lease_holder = $2`,
		connID, holder, last, string(end.Status), reason, crm.Micros(crm.Now()))
	if err != nil {
		return fmt.Errorf("end run lease: %w", err)
	}
	return nil
}
