package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// Contact photos: one per contact, in a table of their own so that no
// list or batch read carries the bytes unless it asks (ContactPhoto,
// ContactPhotos). Access is the contact's: reading the photo needs read
// access to the contact, changing it edit access. A change of the photo
// is a change of the contact: its version and updated_at move on and the
// change log records it, so sync sends it.

// SetContactPhoto replaces the contact's photo with data (checked by
// crm.NewPhoto: a refused one is a *crm.ValidationError on "photo").
// wantVersion > 0 makes it conditional, as for UpdateContact. The same
// photo again changes nothing.
func (s *Store) SetContactPhoto(ctx context.Context, v access.Viewer, id string, data []byte, wantVersion int64) (*crm.Photo, error) {
	p, err := crm.NewPhoto(data)
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkEditable(ctx, tx, "contacts", id, v, wantVersion); err != nil {
			return err
		}
		changed, err := s.writePhoto(ctx, tx, id, p)
		if err != nil || !changed {
			return err
		}
		return s.contactTouched(ctx, tx, v, id)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// DeleteContactPhoto removes the contact's photo; a contact without one
// is left as it is.
func (s *Store) DeleteContactPhoto(ctx context.Context, v access.Viewer, id string, wantVersion int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkEditable(ctx, tx, "contacts", id, v, wantVersion); err != nil {
			return err
		}
		changed, err := s.writePhoto(ctx, tx, id, &crm.Photo{})
		if err != nil || !changed {
			return err
		}
		return s.contactTouched(ctx, tx, v, id)
	})
}

// contactTouched records a change of a contact made apart from its row.
func (s *Store) contactTouched(ctx context.Context, q querier, v access.Viewer, id string) error {
	if _, err := q.ExecContext(ctx, `UPDATE contacts SET version = version + 1, updated_at = $2 WHERE id = $1`,
		id, crm.Micros(crm.Now())); err != nil {
		return fmt.Errorf("touch contact: %w", err)
	}
	return s.logChange(ctx, q, EntityContact, id, "update", v.UserID)
}

// writePhoto makes edit the contact's photo (crm.Contact.PhotoEdit: one
// without Data removes it) and reports whether anything changed. edit
// gets the photo's type, etag and time.
func (s *Store) writePhoto(ctx context.Context, q querier, id string, edit *crm.Photo) (bool, error) {
	if len(edit.Data) == 0 {
		res, err := q.ExecContext(ctx, `DELETE FROM contact_photos WHERE contact_id = $1`, id)
		if err != nil {
			return false, fmt.Errorf("delete contact photo: %w", err)
		}
		n, _ := res.RowsAffected()
		return n > 0, nil
	}
	p, err := crm.NewPhoto(edit.Data)
	if err != nil {
		return false, err
	}
	p.UpdatedAt = crm.Now()
	*edit = *p
	var old string
	err = q.QueryRowContext(ctx, `SELECT etag FROM contact_photos WHERE contact_id = $1`, id).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("read contact photo: %w", err)
	}
	if old == p.ETag {
		return false, nil
	}
	_, err = q.ExecContext(ctx, `INSERT INTO contact_photos (contact_id, content_type, etag, size, updated_at, data)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (contact_id) DO UPDATE SET content_type = excluded.content_type,
		etag = excluded.etag, size = excluded.size, updated_at = excluded.updated_at, data = excluded.data`,
		id, p.Type, p.ETag, len(p.Data), crm.Micros(p.UpdatedAt), p.Data)
	if err != nil {
		return false, fmt.Errorf("write contact photo: %w", err)
	}
	return true, nil
}

// insertPhotos writes the photos of contacts just created (PhotoEdit), in
// multi-row statements.
func (s *Store) insertPhotos(ctx context.Context, q querier, cs []*crm.Contact) error {
	var rows []any
	for _, c := range cs {
		if c.PhotoEdit == nil || len(c.PhotoEdit.Data) == 0 {
			continue
		}
		p, err := crm.NewPhoto(c.PhotoEdit.Data)
		if err != nil {
			return err
		}
		p.UpdatedAt = c.CreatedAt
		*c.PhotoEdit = *p
		rows = append(rows, c.ID, p.Type, p.ETag, len(p.Data), crm.Micros(p.UpdatedAt), p.Data)
	}
	if len(rows) == 0 {
		return nil
	}
	if err := s.insertRows(ctx, q, `INSERT INTO contact_photos (contact_id, content_type, etag, size, updated_at, data)`,
		6, rows); err != nil {
		return fmt.Errorf("insert contact photos: %w", err)
	}
	return nil
}

// ContactPhoto returns the photo, with its bytes, of a contact the viewer
// may read; ErrNotFound when there is none (or no such contact for them).
func (s *Store) ContactPhoto(ctx context.Context, v access.Viewer, id string) (*crm.Photo, error) {
	var p crm.Photo
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT p.content_type, p.etag, p.updated_at, p.data FROM contact_photos p
		JOIN contacts c ON c.id = p.contact_id WHERE p.contact_id = $1 AND `+canRead("c", "$2"), id, v.UserID).
		Scan(&p.Type, &p.ETag, &at, &p.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get contact photo: %w", err)
	}
	p.UpdatedAt = crm.FromMicros(at)
	return &p, nil
}

// ContactPhotos returns the photos, with their bytes, of the contacts
// among ids the viewer may read, by contact id: for sync, which maps them
// to the remote side.
func (s *Store) ContactPhotos(ctx context.Context, v access.Viewer, ids []string) (map[string]*crm.Photo, error) {
	out := map[string]*crm.Photo{}
	err := inChunks(ids, func(ids []string) error {
		rows, err := s.r.QueryContext(ctx, `SELECT p.contact_id, p.content_type, p.etag, p.updated_at, p.data
			FROM contact_photos p JOIN contacts c ON c.id = p.contact_id
			WHERE p.contact_id IN (`+params(2, len(ids))+`) AND `+canRead("c", "$1"), append([]any{v.UserID}, anySlice(ids)...)...)
		if err != nil {
			return fmt.Errorf("get contact photos: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var p crm.Photo
			var at int64
			if err := rows.Scan(&id, &p.Type, &p.ETag, &at, &p.Data); err != nil {
				return err
			}
			p.UpdatedAt = crm.FromMicros(at)
			out[id] = &p
		}
		return rows.Err()
	})
	return out, err
}
