package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// Record access: the owner, or a member of a role granted read (or edit) on
// the record. These fragments take the viewer's id as the given parameter.
func canRead(alias, userParam string) string {
	return fmt.Sprintf(`(%[1]s.owner_id = %[2]s OR EXISTS (SELECT 1 FROM record_access ra
		JOIN user_roles ur ON ur.role_id = ra.role_id WHERE ra.record_id = %[1]s.id AND ur.user_id = %[2]s))`, alias, userParam)
}

func canEdit(alias, userParam string) string {
	return fmt.Sprintf(`(%[1]s.owner_id = %[2]s OR EXISTS (SELECT 1 FROM record_access ra
		JOIN user_roles ur ON ur.role_id = ra.role_id WHERE ra.record_id = %[1]s.id AND ur.user_id = %[2]s
		AND ra.level = 'edit'))`, alias, userParam)
}

// checkEditable returns nil when the viewer may edit the record in table,
// ErrNotFound when they cannot even see it, ErrForbidden otherwise. It also
// checks the expected version when want > 0.
func (s *Store) checkEditable(ctx context.Context, q querier, table, id string, v access.Viewer, want int64) error {
	var readable, editable bool
	var version int64
	err := q.QueryRowContext(ctx, `SELECT `+canRead("t", "$2")+`, `+canEdit("t", "$2")+`, t.version FROM `+table+` t WHERE t.id = $1`,
		id, v.UserID).Scan(&readable, &editable, &version)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !readable) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("check access: %w", err)
	}
	if !editable {
		return ErrForbidden
	}
	if want > 0 && version != want {
		return ErrConflict
	}
	return nil
}

// tagVisible is the tag-visibility rule: personal tags belong to their owner.
var tagVisible = tagVisibleFor("$1")

// setTags replaces the viewer-visible tags of a record. Tags the viewer
// cannot see (other users' personal tags) are left untouched, so one user's
// edit never strips another user's private labels. fresh says the record
// was just created: it has no tags to clear.
func (s *Store) setTags(ctx context.Context, tx querier, v access.Viewer, entity, recordID string, tags []crm.TagRef, fresh bool, fe crm.FieldErrors) error {
	ids := make([]string, 0, len(tags))
	seen := map[string]bool{}
	for _, t := range tags {
		if !seen[t.ID] {
			seen[t.ID] = true
			ids = append(ids, t.ID)
		}
	}
	if err := checkTagsVisible(ctx, tx, v, ids, fe); err != nil {
		return err
	}
	if !fresh {
		if _, err := tx.ExecContext(ctx, `DELETE FROM record_tags WHERE record_id = $2 AND tag_id IN
			(SELECT t.id FROM tags t WHERE `+tagVisible+`)`, v.UserID, recordID); err != nil {
			return fmt.Errorf("clear tags: %w", err)
		}
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO record_tags (tag_id, record_id, entity) VALUES ($1, $2, $3)`,
			id, recordID, entity); err != nil {
			return fmt.Errorf("add tag: %w", err)
		}
	}
	return nil
}

// checkTagsVisible fails with a field error unless the viewer sees every
// tag of ids (distinct); a transaction remembers the tags that passed.
func checkTagsVisible(ctx context.Context, tx querier, v access.Viewer, ids []string, fe crm.FieldErrors) error {
	known := checked(tx)
	unchecked := ids
	if known != nil {
		unchecked = nil
		for _, id := range ids {
			if !known.tags[v.UserID+"\x00"+id] {
				unchecked = append(unchecked, id)
			}
		}
	}
	if len(unchecked) == 0 {
		return nil
	}
	args := append([]any{v.UserID}, anySlice(unchecked)...)
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tags t WHERE `+tagVisible+` AND t.id IN (`+params(2, len(unchecked))+`)`,
		args...).Scan(&n); err != nil {
		return fmt.Errorf("check tags: %w", err)
	}
	if n != len(unchecked) {
		fe.Add("tags", "error.not_found")
		return fe.Err()
	}
	if known != nil {
		for _, id := range unchecked {
			known.tags[v.UserID+"\x00"+id] = true
		}
	}
	return nil
}

// loadTags returns the viewer-visible tags of records by record id.
func (s *Store) loadTags(ctx context.Context, q querier, v access.Viewer, ids []string) (map[string][]crm.TagRef, error) {
	out := map[string][]crm.TagRef{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT rt.record_id, t.id, t.name, t.kind, t.color FROM record_tags rt
		JOIN tags t ON t.id = rt.tag_id WHERE `+tagVisible+` AND rt.record_id IN (`+params(2, len(ids))+`)
		ORDER BY t.name_fold, t.id`, append([]any{v.UserID}, anySlice(ids)...)...)
	if err != nil {
		return nil, fmt.Errorf("load tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rid string
		var t crm.TagRef
		if err := rows.Scan(&rid, &t.ID, &t.Name, &t.Kind, &t.Color); err != nil {
			return nil, err
		}
		out[rid] = append(out[rid], t)
	}
	return out, rows.Err()
}

// setAccess replaces a record's role grants; nil leaves them as they are.
func (s *Store) setAccess(ctx context.Context, tx querier, entity, recordID string, grants []crm.Grant, fe crm.FieldErrors) error {
	if grants == nil {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM record_access WHERE record_id = $1`, recordID); err != nil {
		return fmt.Errorf("clear access: %w", err)
	}
	for i, g := range grants {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM roles WHERE id = $1`, g.RoleID).Scan(&n); err != nil {
			return fmt.Errorf("check role: %w", err)
		}
		if n == 0 {
			fe.Add(fmt.Sprintf("access[%d].role_id", i), "error.not_found")
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO record_access (record_id, role_id, entity, level) VALUES ($1, $2, $3, $4)`,
			recordID, g.RoleID, entity, g.Level); err != nil {
			return fmt.Errorf("grant access: %w", err)
		}
	}
	return fe.Err()
}

// loadAccess returns role grants by record id.
func (s *Store) loadAccess(ctx context.Context, q querier, ids []string) (map[string][]crm.Grant, error) {
	out := map[string][]crm.Grant{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT record_id, role_id, level FROM record_access WHERE record_id IN (`+
		params(1, len(ids))+`) ORDER BY role_id`, anySlice(ids)...)
	if err != nil {
		return nil, fmt.Errorf("load access: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rid string
		var g crm.Grant
		if err := rows.Scan(&rid, &g.RoleID, &g.Level); err != nil {
			return nil, err
		}
		out[rid] = append(out[rid], g)
	}
	return out, rows.Err()
}

// deleteRecordLinks removes what points at a deleted record without a
// foreign key (tags, groups and grants are shared across entities).
func deleteRecordLinks(ctx context.Context, tx querier, id string) error {
	for _, q := range []string{
		`DELETE FROM record_tags WHERE record_id = $1`,
		`DELETE FROM group_members WHERE record_id = $1`,
		`DELETE FROM record_access WHERE record_id = $1`,
	} {
		if _, err := tx.ExecContext(ctx, q, id); err != nil {
			return fmt.Errorf("delete record links: %w", err)
		}
	}
	return nil
}

// checkRef verifies that an optional reference (account, contact) is
// visible to the viewer; an invisible one is reported as not found.
func (s *Store) checkRef(ctx context.Context, q querier, v access.Viewer, table, id, field string, fe crm.FieldErrors) error {
	if id == "" {
		return nil
	}
	var ok bool
	err := q.QueryRowContext(ctx, `SELECT `+canRead("t", "$2")+` FROM `+table+` t WHERE t.id = $1`, id, v.UserID).Scan(&ok)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !ok) {
		fe.Add(field, "error.not_found")
		return nil
	}
	return err
}

// Page is a keyset-paged list request. Cursor is opaque to clients.
type Page struct {
	Limit  int
	Cursor string
}

func (p Page) limit() int {
	if p.Limit <= 0 {
		return 50
	}
	return min(p.Limit, 200)
}

// ErrBadCursor is a malformed paging cursor.
var ErrBadCursor = errors.New("invalid cursor")

// encodeCursor/decodeCursor carry the sort key and id of the last row.
func encodeCursor(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "\x00")))
}

func decodeCursor(c string, n int) ([]string, error) {
	if c == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, ErrBadCursor
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != n {
		return nil, ErrBadCursor
	}
	return parts, nil
}

// shared holds what every record kind carries besides its own columns.
type shared struct {
	tags   map[string][]crm.TagRef
	grants map[string][]crm.Grant
}

// loadShared loads the viewer-visible tags and the grants of a page.
func (s *Store) loadShared(ctx context.Context, v access.Viewer, ids []string) (shared, error) {
	tags, err := s.loadTags(ctx, s.r, v, ids)
	if err != nil {
		return shared{}, err
	}
	grants, err := s.loadAccess(ctx, s.r, ids)
	if err != nil {
		return shared{}, err
	}
	return shared{tags: tags, grants: grants}, nil
}

// fillShared loads the tags and grants of a page of records; parts names
// a record's id and where its tags and grants go.
func fillShared[T any](ctx context.Context, s *Store, v access.Viewer, recs []T,
	parts func(*T) (id string, tags *[]crm.TagRef, grants *[]crm.Grant)) error {
	ids := make([]string, len(recs))
	for i := range recs {
		ids[i], _, _ = parts(&recs[i])
	}
	sh, err := s.loadShared(ctx, v, ids)
	if err != nil {
		return err
	}
	for i := range recs {
		id, tags, grants := parts(&recs[i])
		*tags, *grants = sh.of(id)
	}
	return nil
}

// of returns a record's tags and grants (never nil grants, so the API shows []).
func (sh shared) of(id string) ([]crm.TagRef, []crm.Grant) {
	g := sh.grants[id]
	if g == nil {
		g = []crm.Grant{}
	}
	return sh.tags[id], g
}

// Editable reports whether the viewer may change a record of entity
// ("contact", "account", "activity", "case", "group"); ErrNotFound when they
// cannot see it.
func (s *Store) Editable(ctx context.Context, v access.Viewer, entity, id string) (bool, error) {
	table, ok := entityTables[entity]
	if entity == "group" {
		table, ok = "groups", true
	}
	if !ok {
		return false, fmt.Errorf("editable: unknown entity %q", entity)
	}
	switch err := s.checkEditable(ctx, s.r, table, id, v, 0); {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrForbidden):
		return false, nil
	default:
		return false, err
	}
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

// scanRows reads every row with scan and closes rows.
func scanRows[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// pageOf cuts a list read with one row more than limit down to limit and
// returns the cursor of the next page, made of the last row's sort key and
// id by cursor; "" when there is no next page.
func pageOf[T any](rows []T, limit int, cursor func(last *T) []string) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, encodeCursor(cursor(&rows[limit-1])...)
}
