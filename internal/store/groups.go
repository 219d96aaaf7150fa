package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// Groups follow record access like the records they hold: the owner and
// roles granted read or edit.

// SaveGroup creates (empty ID) or renames a group. Its entity is fixed.
func (s *Store) SaveGroup(ctx context.Context, v access.Viewer, g *crm.Group) error {
	g.Normalize()
	if err := g.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := crm.Now()
		if g.ID == "" {
			g.ID, g.OwnerID, g.CreatedAt, g.UpdatedAt = newID(), v.UserID, now, now
			if _, err := tx.ExecContext(ctx, `INSERT INTO groups (id, name, entity, owner_id, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $5)`, g.ID, g.Name, g.Entity, g.OwnerID, crm.Micros(now)); err != nil {
				return fmt.Errorf("insert group: %w", err)
			}
		} else {
			if err := s.checkEditable(ctx, tx, "groups", g.ID, v, 0); err != nil {
				return err
			}
			g.UpdatedAt = now
			if err := tx.QueryRowContext(ctx, `UPDATE groups SET name = $2, updated_at = $3, version = version + 1 WHERE id = $1 RETURNING entity, owner_id`,
				g.ID, g.Name, crm.Micros(now)).Scan(&g.Entity, &g.OwnerID); err != nil {
				return fmt.Errorf("update group: %w", err)
			}
		}
		return s.setAccess(ctx, tx, "group", g.ID, g.Access, crm.FieldErrors{})
	})
}

// DeleteGroup removes a group; its members stay.
func (s *Store) DeleteGroup(ctx context.Context, v access.Viewer, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkEditable(ctx, tx, "groups", id, v, 0); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM groups WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM record_access WHERE record_id = $1`, id)
		return err
	})
}

// GetGroup returns a group the viewer may read.
func (s *Store) GetGroup(ctx context.Context, v access.Viewer, id string) (*crm.Group, error) {
	gs, err := s.listGroups(ctx, v, "AND g.id = $2", id)
	if err != nil {
		return nil, err
	}
	if len(gs) == 0 {
		return nil, ErrNotFound
	}
	return &gs[0], nil
}

// ListGroups returns the groups of one entity ("" for all) the viewer may read.
func (s *Store) ListGroups(ctx context.Context, v access.Viewer, entity string) ([]crm.Group, error) {
	return s.listGroups(ctx, v, "AND ($2 = '' OR g.entity = $2)", entity)
}

func (s *Store) listGroups(ctx context.Context, v access.Viewer, cond string, arg string) ([]crm.Group, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT g.id, g.name, g.entity, g.owner_id, g.created_at, g.updated_at,
		(SELECT COUNT(*) FROM group_members gm WHERE gm.group_id = g.id) FROM groups g
		WHERE `+canRead("g", "$1")+` `+cond+` ORDER BY g.name, g.id`, v.UserID, arg)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	out := []crm.Group{}
	for rows.Next() {
		var g crm.Group
		var c, u int64
		if err := rows.Scan(&g.ID, &g.Name, &g.Entity, &g.OwnerID, &c, &u, &g.MemberCount); err != nil {
			rows.Close()
			return nil, err
		}
		g.CreatedAt, g.UpdatedAt = crm.FromMicros(c), crm.FromMicros(u)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ids := make([]string, len(out))
	for i := range out {
		ids[i] = out[i].ID
	}
	grants, err := s.loadAccess(ctx, s.r, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Access = grants[out[i].ID]
		if out[i].Access == nil {
			out[i].Access = []crm.Grant{}
		}
	}
	return out, nil
}

// AddGroupMembers puts records the viewer may read into a group the viewer
// may edit. Records already in it are skipped.
func (s *Store) AddGroupMembers(ctx context.Context, v access.Viewer, groupID string, recordIDs []string) error {
	return s.changeMembers(ctx, v, groupID, recordIDs, true)
}

// RemoveGroupMembers takes records out of a group the viewer may edit.
func (s *Store) RemoveGroupMembers(ctx context.Context, v access.Viewer, groupID string, recordIDs []string) error {
	return s.changeMembers(ctx, v, groupID, recordIDs, false)
}

func (s *Store) changeMembers(ctx context.Context, v access.Viewer, groupID string, recordIDs []string, add bool) error {
	if len(recordIDs) > 1000 {
		return &crm.ValidationError{Fields: crm.FieldErrors{"ids": crm.ErrTooMany}}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkEditable(ctx, tx, "groups", groupID, v, 0); err != nil {
			return err
		}
		var entity string
		if err := tx.QueryRowContext(ctx, `SELECT entity FROM groups WHERE id = $1`, groupID).Scan(&entity); err != nil {
			return fmt.Errorf("get group: %w", err)
		}
		table := map[string]string{crm.GroupContacts: "contacts", crm.GroupActivities: "activities"}[entity]
		fe := crm.FieldErrors{}
		for i, id := range dedupe(recordIDs) {
			if !add {
				if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = $1 AND record_id = $2`, groupID, id); err != nil {
					return fmt.Errorf("remove member: %w", err)
				}
				continue
			}
			if err := s.checkRef(ctx, tx, v, table, id, fmt.Sprintf("ids[%d]", i), fe); err != nil {
				return err
			}
			if len(fe) > 0 {
				continue
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM group_members WHERE group_id = $1 AND record_id = $2`,
				groupID, id).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, record_id, added_at) VALUES ($1, $2, $3)`,
					groupID, id, crm.Micros(crm.Now())); err != nil {
					return fmt.Errorf("add member: %w", err)
				}
			}
		}
		return fe.Err()
	})
}

// GroupsOf returns the groups (visible to the viewer) a record is in.
func (s *Store) GroupsOf(ctx context.Context, v access.Viewer, recordID string) ([]crm.Group, error) {
	return s.listGroups(ctx, v, "AND g.id IN (SELECT group_id FROM group_members WHERE record_id = $2)", recordID)
}
