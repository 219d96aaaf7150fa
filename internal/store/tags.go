package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// SaveTag creates (empty ID) or renames/recolours a tag. Personal tags are
// changed by their owner only; corporate and public tags by their owner or
// an administrator. A tag's kind is fixed once created, because changing a
// shared tag to personal would silently hide it from everyone else.
func (s *Store) SaveTag(ctx context.Context, v access.Viewer, t *crm.Tag) error {
	t.Normalize()
	if err := t.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if t.ID != "" {
			old, err := s.getTag(ctx, tx, v, t.ID)
			if err != nil {
				return err
			}
			if !canChangeTag(v, old) {
				return ErrForbidden
			}
			t.Kind, t.OwnerID, t.CreatedAt = old.Kind, old.OwnerID, old.CreatedAt
		}
		// Names are unique among the tags a user sees together: one's own
		// personal tags and all shared ones.
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tags t WHERE t.name_fold = $2 AND t.id <> $3 AND
			((t.kind = 'personal' AND t.owner_id = $1 AND $4 = 'personal') OR (t.kind <> 'personal' AND $4 <> 'personal'))`,
			v.UserID, crm.Fold(t.Name), t.ID, t.Kind).Scan(&n); err != nil {
			return fmt.Errorf("check tag name: %w", err)
		}
		if n > 0 {
			return &crm.ValidationError{Fields: crm.FieldErrors{"name": "error.duplicate"}}
		}
		if t.ID == "" {
			t.ID, t.OwnerID, t.CreatedAt = newID(), v.UserID, crm.Now()
			_, err := tx.ExecContext(ctx, `INSERT INTO tags (id, name, name_fold, kind, color, owner_id, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, t.ID, t.Name, crm.Fold(t.Name), t.Kind, t.Color, t.OwnerID, crm.Micros(t.CreatedAt))
			if err != nil {
				return fmt.Errorf("insert tag: %w", err)
			}
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE tags SET name = $2, name_fold = $3, color = $4 WHERE id = $1`,
			t.ID, t.Name, crm.Fold(t.Name), t.Color)
		if err != nil {
			return fmt.Errorf("update tag: %w", err)
		}
		return nil
	})
}

func canChangeTag(v access.Viewer, t *crm.Tag) bool {
	return t.OwnerID == v.UserID || (t.Kind != crm.TagPersonal && v.IsAdmin())
}

// DeleteTag removes a tag from every record. Records that carried it are
// logged as changed, since a tag can decide what sync exports.
func (s *Store) DeleteTag(ctx context.Context, v access.Viewer, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		t, err := s.getTag(ctx, tx, v, id)
		if err != nil {
			return err
		}
		if !canChangeTag(v, t) {
			return ErrForbidden
		}
		rows, err := tx.QueryContext(ctx, `SELECT record_id, entity FROM record_tags WHERE tag_id = $1`, id)
		if err != nil {
			return fmt.Errorf("find tagged records: %w", err)
		}
		type rec struct{ id, entity string }
		var recs []rec
		for rows.Next() {
			var r rec
			if err := rows.Scan(&r.id, &r.entity); err != nil {
				rows.Close()
				return err
			}
			recs = append(recs, r)
		}
		rows.Close()
		if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete tag: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM record_tags WHERE tag_id = $1`, id); err != nil {
			return fmt.Errorf("delete tag links: %w", err)
		}
		for _, r := range recs {
			if err := s.logChange(ctx, tx, r.entity, r.id, "update", v.UserID); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetTag returns a tag the viewer may see.
func (s *Store) GetTag(ctx context.Context, v access.Viewer, id string) (*crm.Tag, error) {
	return s.getTag(ctx, s.r, v, id)
}

func (s *Store) getTag(ctx context.Context, q querier, v access.Viewer, id string) (*crm.Tag, error) {
	var t crm.Tag
	var c int64
	err := q.QueryRowContext(ctx, `SELECT t.id, t.name, t.kind, t.color, t.owner_id, t.created_at FROM tags t
		WHERE t.id = $2 AND `+tagVisible, v.UserID, id).Scan(&t.ID, &t.Name, &t.Kind, &t.Color, &t.OwnerID, &c)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get tag: %w", err)
	}
	t.CreatedAt = crm.FromMicros(c)
	return &t, nil
}

// ListTags returns the tags the viewer may see, optionally of one kind.
func (s *Store) ListTags(ctx context.Context, v access.Viewer, kind string) ([]crm.Tag, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT t.id, t.name, t.kind, t.color, t.owner_id, t.created_at FROM tags t
		WHERE `+tagVisible+` AND ($2 = '' OR t.kind = $2) ORDER BY t.name_fold, t.id`, v.UserID, kind)
	if err != nil {
		return nil, fmt.Errorf("list tags: %w", err)
	}
	defer rows.Close()
	out := []crm.Tag{}
	for rows.Next() {
		var t crm.Tag
		var c int64
		if err := rows.Scan(&t.ID, &t.Name, &t.Kind, &t.Color, &t.OwnerID, &c); err != nil {
			return nil, err
		}
		t.CreatedAt = crm.FromMicros(c)
		out = append(out, t)
	}
	return out, rows.Err()
}

// EnsurePersonalTags returns the viewer's personal tags named names, by
// folded name, creating the ones they do not have: sync maps a remote
// contact's categories to them. Names are matched as SaveTag keeps them
// unique (folded); a new tag takes the first spelling given.
func (t *Tx) EnsurePersonalTags(ctx context.Context, v access.Viewer, names []string) (map[string]string, error) {
	out := map[string]string{}
	var folds []string
	want := map[string]string{} // fold → spelling
	for _, n := range names {
		tag := crm.Tag{Name: n}
		tag.Normalize()
		if err := tag.Validate(); err != nil {
			return nil, err
		}
		f := crm.Fold(tag.Name)
		if _, ok := want[f]; !ok {
			want[f] = tag.Name
			folds = append(folds, f)
		}
	}
	if len(folds) == 0 {
		return out, nil
	}
	err := inChunks(folds, func(chunk []string) error {
		rows, err := t.q.QueryContext(ctx, `SELECT id, name_fold FROM tags WHERE kind = 'personal' AND owner_id = $1
			AND name_fold IN (`+params(2, len(chunk))+`)`, append([]any{v.UserID}, anySlice(chunk)...)...)
		if err != nil {
			return fmt.Errorf("find personal tags: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id, f string
			if err := rows.Scan(&id, &f); err != nil {
				return err
			}
			out[f] = id
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	for _, f := range folds {
		if out[f] != "" {
			continue
		}
		tag := crm.Tag{Name: want[f], Kind: crm.TagPersonal}
		tag.Normalize()
		tag.ID, tag.OwnerID, tag.CreatedAt = newID(), v.UserID, crm.Now()
		if _, err := t.q.ExecContext(ctx, `INSERT INTO tags (id, name, name_fold, kind, color, owner_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, tag.ID, tag.Name, f, tag.Kind, tag.Color, tag.OwnerID,
			crm.Micros(tag.CreatedAt)); err != nil {
			return nil, fmt.Errorf("create personal tag: %w", err)
		}
		out[f] = tag.ID
	}
	return out, nil
}
