package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// ActivityFilter narrows ListActivities. From/To select activities that
// overlap [From, To) — what a calendar view needs; recurring series whose
// first occurrence starts before To are included so the view can expand them.
type ActivityFilter struct {
	Q              string
	Type           string
	Status         string
	OwnerID        string
	ContactID      string // the contact the activity is about, or a participant
	AccountID      string
	TagID          string
	GroupID        string
	ShowInCalendar *bool
	From, To       time.Time
	// StartsFrom and StartsBefore bound the planned start itself (either
	// may be zero): unlike From and To, no series or moved occurrence
	// reaching into the range, so a lookup by start time uses the index.
	StartsFrom, StartsBefore time.Time
	Page
}

// CreateActivity inserts an activity; the viewer is its author and, unless
// set, its owner.
func (s *Store) CreateActivity(ctx context.Context, v access.Viewer, a *crm.Activity) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.createActivity(ctx, tx, v, a) })
}

func (s *Store) createActivity(ctx context.Context, tx querier, v access.Viewer, a *crm.Activity) error {
	a.Normalize()
	if err := a.Validate(); err != nil {
		return err
	}
	if a.OwnerID == "" {
		a.OwnerID = v.UserID
	}
	a.AuthorID = v.UserID
	a.ID, a.CreatedAt, a.Version = newID(), crm.Now(), 1
	a.UpdatedAt = a.CreatedAt
	if err := s.checkActivityRefs(ctx, tx, v, a); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO activities (id, type, title, description, location, start_at, end_at, all_day,
		time_zone, show_in_calendar, status, priority, owner_id, author_id, organizer_id, organizer_email, account_id,
		contact_id, rrule, exdates, search, created_at, updated_at, version, overrides, actual_start, actual_end, rdates)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22, 1,
		$23, $24, $25, $26)`,
		a.ID, a.Type, a.Title, a.Description, a.Location, microsPtr(a.Start), microsPtr(a.End), a.AllDay, a.TimeZone,
		a.ShowInCalendar, a.Status, a.Priority, a.OwnerID, a.AuthorID, nullable(a.OrganizerID), a.OrganizerEmail,
		nullable(a.AccountID), nullable(a.ContactID), a.RRule, encodeTimes(a.ExDates), a.SearchText(), crm.Micros(a.CreatedAt),
		encodeOverrides(a.Overrides), microsPtr(a.ActualStart), microsPtr(a.ActualEnd), encodeTimes(a.RDates))
	if err != nil {
		return fmt.Errorf("insert activity: %w", err)
	}
	return s.writeActivityParts(ctx, tx, v, a, "create")
}

func (s *Store) checkActivityRefs(ctx context.Context, tx querier, v access.Viewer, a *crm.Activity) error {
	fe := crm.FieldErrors{}
	if err := s.checkRef(ctx, tx, v, "accounts", a.AccountID, "account_id", fe); err != nil {
		return err
	}
	if err := s.checkRef(ctx, tx, v, "contacts", a.ContactID, "contact_id", fe); err != nil {
		return err
	}
	if err := s.checkUser(ctx, tx, a.OwnerID, "owner_id", fe); err != nil {
		return err
	}
	if err := s.checkUser(ctx, tx, a.OrganizerID, "organizer_id", fe); err != nil {
		return err
	}
	for i, p := range a.Participants {
		if err := s.checkRef(ctx, tx, v, "contacts", p.ContactID, fmt.Sprintf("participants[%d].contact_id", i), fe); err != nil {
			return err
		}
	}
	return fe.Err()
}

func (s *Store) writeActivityParts(ctx context.Context, tx querier, v access.Viewer, a *crm.Activity, op string) error {
	if op == "update" {
		if _, err := tx.ExecContext(ctx, `DELETE FROM activity_participants WHERE activity_id = $1`, a.ID); err != nil {
			return fmt.Errorf("replace participants: %w", err)
		}
	}
	for i, p := range a.Participants {
		if _, err := tx.ExecContext(ctx, `INSERT INTO activity_participants (activity_id, position, contact_id, email, name, response_status)
			VALUES ($1, $2, $3, $4, $5, $6)`, a.ID, i, nullable(p.ContactID), p.Email, p.Name, p.ResponseStatus); err != nil {
			return fmt.Errorf("insert participant: %w", err)
		}
	}
	return s.writeRecordParts(ctx, tx, v, EntityActivity, a.ID, a.Tags, a.Access, op)
}

// UpdateActivity replaces an activity's fields (see UpdateContact). The
// author never changes.
func (s *Store) UpdateActivity(ctx context.Context, v access.Viewer, a *crm.Activity, wantVersion int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.updateActivity(ctx, tx, v, a, wantVersion) })
}

func (s *Store) updateActivity(ctx context.Context, tx querier, v access.Viewer, a *crm.Activity, wantVersion int64) error {
	a.Normalize()
	if err := a.Validate(); err != nil {
		return err
	}
	if err := s.checkEditable(ctx, tx, "activities", a.ID, v, wantVersion); err != nil {
		return err
	}
	if err := s.checkActivityRefs(ctx, tx, v, a); err != nil {
		return err
	}
	a.UpdatedAt = crm.Now()
	err := tx.QueryRowContext(ctx, `UPDATE activities SET type = $2, title = $3, description = $4, location = $5,
		start_at = $6, end_at = $7, all_day = $8, time_zone = $9, show_in_calendar = $10, status = $11, priority = $12,
		owner_id = $13, organizer_id = $14, organizer_email = $15, account_id = $16, contact_id = $17, rrule = $18,
		exdates = $19, search = $20, updated_at = $21, overrides = $22, actual_start = $23, actual_end = $24,
		rdates = $25, version = version + 1 WHERE id = $1 RETURNING version, author_id`,
		a.ID, a.Type, a.Title, a.Description, a.Location, microsPtr(a.Start), microsPtr(a.End), a.AllDay, a.TimeZone,
		a.ShowInCalendar, a.Status, a.Priority, a.OwnerID, nullable(a.OrganizerID), a.OrganizerEmail,
		nullable(a.AccountID), nullable(a.ContactID), a.RRule, encodeTimes(a.ExDates), a.SearchText(),
		crm.Micros(a.UpdatedAt), encodeOverrides(a.Overrides), microsPtr(a.ActualStart), microsPtr(a.ActualEnd),
		encodeTimes(a.RDates)).Scan(&a.Version, &a.AuthorID)
	if err != nil {
		return fmt.Errorf("update activity: %w", err)
	}
	return s.writeActivityParts(ctx, tx, v, a, "update")
}

// DeleteActivity removes an activity the viewer may edit.
func (s *Store) DeleteActivity(ctx context.Context, v access.Viewer, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.deleteActivity(ctx, tx, v, id) })
}

func (s *Store) deleteActivity(ctx context.Context, tx querier, v access.Viewer, id string) error {
	if err := s.checkEditable(ctx, tx, "activities", id, v, 0); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM activities WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete activity: %w", err)
	}
	if err := deleteRecordLinks(ctx, tx, id); err != nil {
		return err
	}
	return s.logChange(ctx, tx, EntityActivity, id, "delete", v.UserID)
}

const activityColumns = `a.id, a.type, a.title, a.description, a.location, a.start_at, a.end_at, a.all_day, a.time_zone,
	a.show_in_calendar, a.status, a.priority, a.owner_id, a.author_id, COALESCE(a.organizer_id, ''), a.organizer_email,
	COALESCE(a.account_id, ''), COALESCE(a.contact_id, ''), a.rrule, a.exdates, a.created_at, a.updated_at, a.version,
	a.overrides, a.actual_start, a.actual_end, a.rdates`

func scanActivity(row interface{ Scan(...any) error }) (crm.Activity, error) {
	var a crm.Activity
	var start, end, actualStart, actualEnd sql.NullInt64
	var exdates, overrides, rdates string
	var c, u int64
	err := row.Scan(&a.ID, &a.Type, &a.Title, &a.Description, &a.Location, &start, &end, &a.AllDay, &a.TimeZone,
		&a.ShowInCalendar, &a.Status, &a.Priority, &a.OwnerID, &a.AuthorID, &a.OrganizerID, &a.OrganizerEmail,
		&a.AccountID, &a.ContactID, &a.RRule, &exdates, &c, &u, &a.Version, &overrides, &actualStart, &actualEnd, &rdates)
	if err != nil {
		return a, err
	}
	a.Start, a.End = timePtr(start), timePtr(end)
	a.ActualStart, a.ActualEnd = timePtr(actualStart), timePtr(actualEnd)
	if a.Overrides, err = decodeOverrides(overrides); err != nil {
		return a, fmt.Errorf("activity %s: %w", a.ID, err)
	}
	a.ExDates = decodeTimes(exdates)
	a.RDates = decodeTimes(rdates)
	a.CreatedAt, a.UpdatedAt = crm.FromMicros(c), crm.FromMicros(u)
	return a, nil
}

// GetActivity returns one activity the viewer may read.
func (s *Store) GetActivity(ctx context.Context, v access.Viewer, id string) (*crm.Activity, error) {
	a, err := scanActivity(s.r.QueryRowContext(ctx, `SELECT `+activityColumns+` FROM activities a WHERE a.id = $1 AND `+
		canRead("a", "$2"), id, v.UserID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get activity: %w", err)
	}
	list := []crm.Activity{a}
	if err := s.fillActivities(ctx, v, list); err != nil {
		return nil, err
	}
	return &list[0], nil
}

// ListActivities returns a page ordered by start (undated last), then id.
func (s *Store) ListActivities(ctx context.Context, v access.Viewer, f ActivityFilter) ([]crm.Activity, string, error) {
	cur, err := decodeCursor(f.Cursor, 2)
	if err != nil {
		return nil, "", err
	}
	qb := newQuery(canRead("a", "$1"), v.UserID)
	if q := crm.Fold(f.Q); q != "" {
		qb.add(`a.search LIKE $%d ESCAPE '\'`, likePattern(q))
	}
	for _, c := range []struct{ col, val string }{{"a.type", f.Type}, {"a.status", f.Status}, {"a.owner_id", f.OwnerID},
		{"a.account_id", f.AccountID}} {
		if c.val != "" {
			qb.add(c.col+` = $%d`, c.val)
		}
	}
	if f.ContactID != "" {
		qb.add(`(a.contact_id = $%[1]d OR EXISTS (SELECT 1 FROM activity_participants ap WHERE ap.activity_id = a.id
			AND ap.contact_id = $%[1]d))`, f.ContactID)
	}
	if f.TagID != "" {
		qb.add(`EXISTS (SELECT 1 FROM record_tags rt JOIN tags t ON t.id = rt.tag_id WHERE rt.record_id = a.id
			AND rt.tag_id = $%d AND `+tagVisibleFor("$1")+`)`, f.TagID)
	}
	if f.GroupID != "" {
		qb.add(`EXISTS (SELECT 1 FROM group_members gm WHERE gm.record_id = a.id AND gm.group_id = $%d)`, f.GroupID)
	}
	if f.ShowInCalendar != nil {
		qb.add(`a.show_in_calendar = $%d`, *f.ShowInCalendar)
	}
	// A range holds what a calendar shows in it: the planned dates, a
	// started task's actual dates (crm.Activity.CalendarSpan), and a
	// series' occurrences, which overrides may move before its start.
	if !f.To.IsZero() {
		qb.add(`(a.start_at < $%[1]d OR a.actual_start < $%[1]d OR a.overrides <> '')`, crm.Micros(f.To))
	}
	if !f.From.IsZero() {
		qb.add(`(a.rrule <> '' OR a.rdates <> '' OR COALESCE(a.end_at, a.start_at) >= $%[1]d OR COALESCE(a.actual_end, a.actual_start) >= $%[1]d)`,
			crm.Micros(f.From))
	}
	if !f.StartsFrom.IsZero() {
		qb.add(`a.start_at >= $%d`, crm.Micros(f.StartsFrom))
	}
	if !f.StartsBefore.IsZero() {
		qb.add(`a.start_at < $%d`, crm.Micros(f.StartsBefore))
	}
	// Undated activities sort last: their key is the largest int64.
	const sortKey = `COALESCE(a.start_at, 9223372036854775807)`
	if cur != nil {
		k, err := strconv.ParseInt(cur[0], 10, 64)
		if err != nil {
			return nil, "", ErrBadCursor
		}
		ka, ida := qb.arg(k), qb.arg(cur[1])
		qb.conds = append(qb.conds, fmt.Sprintf("(%[1]s > %[2]s OR (%[1]s = %[2]s AND a.id > %[3]s))", sortKey, ka, ida))
	}
	limit := f.limit()
	rows, err := s.r.QueryContext(ctx, `SELECT `+activityColumns+` FROM activities a WHERE `+qb.where()+
		` ORDER BY `+sortKey+`, a.id LIMIT `+qb.arg(limit+1), qb.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list activities: %w", err)
	}
	var out []crm.Activity
	for rows.Next() {
		a, err := scanActivity(rows)
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	var next string
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		key := int64(9223372036854775807)
		if last.Start != nil {
			key = crm.Micros(*last.Start)
		}
		next = encodeCursor(strconv.FormatInt(key, 10), last.ID)
	}
	return out, next, s.fillActivities(ctx, v, out)
}

func (s *Store) fillActivities(ctx context.Context, v access.Viewer, as []crm.Activity) error {
	if len(as) == 0 {
		return nil
	}
	ids := make([]string, len(as))
	idx := map[string]int{}
	for i := range as {
		ids[i] = as[i].ID
		idx[as[i].ID] = i
		as[i].Participants = []crm.Participant{}
	}
	rows, err := s.r.QueryContext(ctx, `SELECT activity_id, COALESCE(contact_id, ''), email, name, response_status
		FROM activity_participants WHERE activity_id IN (`+params(1, len(ids))+`) ORDER BY activity_id, position`, anySlice(ids)...)
	if err != nil {
		return fmt.Errorf("load participants: %w", err)
	}
	for rows.Next() {
		var id string
		var p crm.Participant
		if err := rows.Scan(&id, &p.ContactID, &p.Email, &p.Name, &p.ResponseStatus); err != nil {
			rows.Close()
			return err
		}
		as[idx[id]].Participants = append(as[idx[id]].Participants, p)
	}
	rows.Close()
	sh, err := s.loadShared(ctx, v, ids)
	if err != nil {
		return err
	}
	for i := range as {
		as[i].Tags, as[i].Access = sh.of(as[i].ID)
	}
	return nil
}

func microsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return crm.Micros(*t)
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := crm.FromMicros(v.Int64)
	return &t
}

func encodeTimes(ts []time.Time) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = strconv.FormatInt(crm.Micros(t), 10)
	}
	return strings.Join(parts, " ")
}

// storedOccurrence is the column form of an override: times in Unix
// microseconds, like every other time the store keeps.
type storedOccurrence struct {
	RecurrenceID int64  `json:"rid"`
	Start        int64  `json:"start"`
	End          int64  `json:"end"`
	Title        string `json:"title,omitempty"`
	Description  string `json:"description,omitempty"`
	Location     string `json:"location,omitempty"`
}

func encodeOverrides(os []crm.Occurrence) string {
	if len(os) == 0 {
		return ""
	}
	out := make([]storedOccurrence, len(os))
	for i, o := range os {
		out[i] = storedOccurrence{crm.Micros(o.RecurrenceID), crm.Micros(o.Start), crm.Micros(o.End), o.Title, o.Description, o.Location}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func decodeOverrides(s string) ([]crm.Occurrence, error) {
	if s == "" {
		return nil, nil
	}
	var in []storedOccurrence
	if err := json.Unmarshal([]byte(s), &in); err != nil {
		return nil, fmt.Errorf("decode overrides: %w", err)
	}
	out := make([]crm.Occurrence, len(in))
	for i, o := range in {
		out[i] = crm.Occurrence{RecurrenceID: crm.FromMicros(o.RecurrenceID), Start: crm.FromMicros(o.Start),
			End: crm.FromMicros(o.End), Title: o.Title, Description: o.Description, Location: o.Location}
	}
	return out, nil
}

func decodeTimes(s string) []time.Time {
	var out []time.Time
	for _, f := range strings.Fields(s) {
		if us, err := strconv.ParseInt(f, 10, 64); err == nil {
			out = append(out, crm.FromMicros(us))
		}
	}
	return out
}
