package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// ContactFilter narrows ListContacts.
type ContactFilter struct {
	Q         string // folded substring of name, emails, phones, job title
	TagID     string
	GroupID   string
	AccountID string
	OwnerID   string
	Email     string // exact address, case-insensitive
	Page
}

// CreateContact inserts c (normalized and validated by the caller's rules
// here again) owned by c.OwnerID or the viewer.
func (s *Store) CreateContact(ctx context.Context, v access.Viewer, c *crm.Contact) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.createContact(ctx, tx, v, c) })
}

// prepareNewContact normalizes and validates a contact about to be
// created and gives it its id, owner, times and first version: the same
// for one contact and for a page's bulk create.
func prepareNewContact(v access.Viewer, c *crm.Contact) error {
	c.Normalize()
	if err := c.Validate(); err != nil {
		return err
	}
	if c.OwnerID == "" {
		c.OwnerID = v.UserID
	}
	c.ID = newID()
	c.CreatedAt = crm.Now()
	c.UpdatedAt = c.CreatedAt
	c.Version = 1
	return nil
}

func (s *Store) createContact(ctx context.Context, tx querier, v access.Viewer, c *crm.Contact) error {
	if err := prepareNewContact(v, c); err != nil {
		return err
	}
	fe := crm.FieldErrors{}
	if err := s.checkRef(ctx, tx, v, "accounts", c.AccountID, "account_id", fe); err != nil {
		return err
	}
	if err := s.checkUser(ctx, tx, c.OwnerID, "owner_id", fe); err != nil {
		return err
	}
	if err := fe.Err(); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO contacts (id, name, given_name, middle_name, family_name, job_title, type,
		account_id, notes, owner_id, sort_name, search, created_at, updated_at, version, company, birthday)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, 1, $14, $15)`,
		c.ID, c.Name, c.GivenName, c.MiddleName, c.FamilyName, c.JobTitle, c.Type, nullable(c.AccountID), c.Notes,
		c.OwnerID, crm.Fold(c.Name), c.SearchText(), crm.Micros(c.CreatedAt), c.Company, c.Birthday)
	if err != nil {
		return fmt.Errorf("insert contact: %w", err)
	}
	if err := s.editPhoto(ctx, tx, c); err != nil {
		return err
	}
	return s.writeContactParts(ctx, tx, v, c, EntityContact, "create")
}

// editPhoto applies c.PhotoEdit within a write of c.
func (s *Store) editPhoto(ctx context.Context, q querier, c *crm.Contact) error {
	if c.PhotoEdit == nil {
		return nil
	}
	if _, err := s.writePhoto(ctx, q, c.ID, c.PhotoEdit); err != nil {
		return err
	}
	c.Photo = nil
	if p := c.PhotoEdit; len(p.Data) > 0 {
		c.Photo = &crm.Photo{Type: p.Type, ETag: p.ETag, UpdatedAt: p.UpdatedAt}
	}
	return nil
}

// writeContactParts replaces emails, phones, addresses, tags and grants
// and logs the change; shared by create and update.
func (s *Store) writeContactParts(ctx context.Context, tx querier, v access.Viewer, c *crm.Contact, entity, op string) error {
	if op == "update" {
		for _, q := range []string{`DELETE FROM contact_emails WHERE contact_id = $1`, `DELETE FROM contact_phones WHERE contact_id = $1`,
			`DELETE FROM contact_addresses WHERE contact_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, c.ID); err != nil {
				return fmt.Errorf("replace contact parts: %w", err)
			}
		}
	}
	for i, e := range c.Emails {
		if _, err := tx.ExecContext(ctx, `INSERT INTO contact_emails (contact_id, position, address, address_fold, kind, is_primary)
			VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, i, e.Address, crm.Fold(e.Address), e.Kind, e.Primary); err != nil {
			return fmt.Errorf("insert email: %w", err)
		}
	}
	for i, p := range c.Phones {
		if _, err := tx.ExecContext(ctx, `INSERT INTO contact_phones (contact_id, position, number, kind, is_primary)
			VALUES ($1, $2, $3, $4, $5)`, c.ID, i, p.Number, p.Kind, p.Primary); err != nil {
			return fmt.Errorf("insert phone: %w", err)
		}
	}
	for i, a := range c.Addresses {
		if _, err := tx.ExecContext(ctx, `INSERT INTO contact_addresses (contact_id, position, kind, street, city, region,
			postal_code, country, is_primary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			c.ID, i, a.Kind, a.Street, a.City, a.Region, a.PostalCode, a.Country, a.Primary); err != nil {
			return fmt.Errorf("insert address: %w", err)
		}
	}
	return s.writeRecordParts(ctx, tx, v, entity, c.ID, c.Tags, c.Access, op)
}

// UpdateContact replaces the contact's fields. wantVersion > 0 makes the
// update conditional (ErrConflict when someone changed it meanwhile).
// Nil Tags or Access leave those as they are.
func (s *Store) UpdateContact(ctx context.Context, v access.Viewer, c *crm.Contact, wantVersion int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.updateContact(ctx, tx, v, c, wantVersion) })
}

func (s *Store) updateContact(ctx context.Context, tx querier, v access.Viewer, c *crm.Contact, wantVersion int64) error {
	c.Normalize()
	if err := c.Validate(); err != nil {
		return err
	}
	if err := s.checkEditable(ctx, tx, "contacts", c.ID, v, wantVersion); err != nil {
		return err
	}
	fe := crm.FieldErrors{}
	if err := s.checkRef(ctx, tx, v, "accounts", c.AccountID, "account_id", fe); err != nil {
		return err
	}
	if err := s.checkUser(ctx, tx, c.OwnerID, "owner_id", fe); err != nil {
		return err
	}
	if err := fe.Err(); err != nil {
		return err
	}
	c.UpdatedAt = crm.Now()
	err := tx.QueryRowContext(ctx, `UPDATE contacts SET name = $2, given_name = $3, middle_name = $4, family_name = $5,
		job_title = $6, type = $7, account_id = $8, notes = $9, owner_id = $10, sort_name = $11, search = $12,
		updated_at = $13, company = $14, birthday = $15, version = version + 1 WHERE id = $1 RETURNING version, created_at`,
		c.ID, c.Name, c.GivenName, c.MiddleName, c.FamilyName, c.JobTitle, c.Type, nullable(c.AccountID), c.Notes,
		c.OwnerID, crm.Fold(c.Name), c.SearchText(), crm.Micros(c.UpdatedAt), c.Company, c.Birthday).Scan(&c.Version, new(int64))
	if err != nil {
		return fmt.Errorf("update contact: %w", err)
	}
	if err := s.editPhoto(ctx, tx, c); err != nil {
		return err
	}
	return s.writeContactParts(ctx, tx, v, c, EntityContact, "update")
}

// DeleteContact removes a contact the viewer may edit.
func (s *Store) DeleteContact(ctx context.Context, v access.Viewer, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.deleteContact(ctx, tx, v, id) })
}

func (s *Store) deleteContact(ctx context.Context, tx querier, v access.Viewer, id string) error {
	if err := s.checkEditable(ctx, tx, "contacts", id, v, 0); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM contacts WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete contact: %w", err)
	}
	if err := deleteRecordLinks(ctx, tx, id); err != nil {
		return err
	}
	return s.logChange(ctx, tx, EntityContact, id, "delete", v.UserID)
}

// contactColumns are read FROM contactFrom. The photo is described, never
// read: its bytes stay out of every list and batch (ContactPhoto).
const contactColumns = `c.id, c.name, c.given_name, c.middle_name, c.family_name, c.job_title, c.type,
	COALESCE(c.account_id, ''), COALESCE(a.name, ''), c.notes, c.owner_id, c.created_at, c.updated_at, c.version,
	c.company, c.birthday, COALESCE(p.content_type, ''), COALESCE(p.etag, ''), COALESCE(p.updated_at, 0)`

const contactFrom = `contacts c LEFT JOIN accounts a ON a.id = c.account_id LEFT JOIN contact_photos p ON p.contact_id = c.id`

func scanContact(rows rowScanner) (crm.Contact, error) {
	var c crm.Contact
	var created, updated, photoAt int64
	var photoType, photoETag string
	err := rows.Scan(&c.ID, &c.Name, &c.GivenName, &c.MiddleName, &c.FamilyName, &c.JobTitle, &c.Type,
		&c.AccountID, &c.AccountName, &c.Notes, &c.OwnerID, &created, &updated, &c.Version, &c.Company, &c.Birthday,
		&photoType, &photoETag, &photoAt)
	c.CreatedAt, c.UpdatedAt = crm.FromMicros(created), crm.FromMicros(updated)
	if photoETag != "" {
		c.Photo = &crm.Photo{Type: photoType, ETag: photoETag, UpdatedAt: crm.FromMicros(photoAt)}
	}
	return c, err
}

// GetContact returns one contact the viewer may read, with its parts.
func (s *Store) GetContact(ctx context.Context, v access.Viewer, id string) (*crm.Contact, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+contactColumns+` FROM `+contactFrom+`
		WHERE c.id = $1 AND `+canRead("c", "$2"), id, v.UserID)
	c, err := scanContact(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get contact: %w", err)
	}
	list := []crm.Contact{c}
	if err := s.fillContacts(ctx, v, list); err != nil {
		return nil, err
	}
	return &list[0], nil
}

// GetContacts returns the contacts among ids the viewer may read, with
// their parts, in one query per 1,000 ids and part; ids they may not read
// or that do not exist are left out.
func (s *Store) GetContacts(ctx context.Context, v access.Viewer, ids []string) ([]crm.Contact, error) {
	var out []crm.Contact
	err := inChunks(ids, func(ids []string) error {
		rows, err := s.r.QueryContext(ctx, `SELECT `+contactColumns+` FROM `+contactFrom+`
			WHERE c.id IN (`+params(2, len(ids))+`) AND `+canRead("c", "$1"), append([]any{v.UserID}, anySlice(ids)...)...)
		if err != nil {
			return fmt.Errorf("get contacts: %w", err)
		}
		var cs []crm.Contact
		for rows.Next() {
			c, err := scanContact(rows)
			if err != nil {
				rows.Close()
				return err
			}
			cs = append(cs, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := s.fillContacts(ctx, v, cs); err != nil {
			return err
		}
		out = append(out, cs...)
		return nil
	})
	return out, err
}

// ListContacts returns a page of contacts the viewer may read, ordered by
// name, and the cursor of the next page ("" at the end).
func (s *Store) ListContacts(ctx context.Context, v access.Viewer, f ContactFilter) ([]crm.Contact, string, error) {
	cur, err := decodeCursor(f.Cursor, 2)
	if err != nil {
		return nil, "", err
	}
	qb := newQuery(canRead("c", "$1"), v.UserID)
	if q := crm.Fold(f.Q); q != "" {
		qb.add(`c.search LIKE $%d ESCAPE '\'`, likePattern(q))
	}
	if f.TagID != "" {
		qb.add(`EXISTS (SELECT 1 FROM record_tags rt JOIN tags t ON t.id = rt.tag_id WHERE rt.record_id = c.id
			AND rt.tag_id = $%d AND `+tagVisibleFor("$1")+`)`, f.TagID)
	}
	if f.GroupID != "" {
		qb.add(`EXISTS (SELECT 1 FROM group_members gm WHERE gm.record_id = c.id AND gm.group_id = $%d)`, f.GroupID)
	}
	if f.AccountID != "" {
		qb.add(`c.account_id = $%d`, f.AccountID)
	}
	if f.OwnerID != "" {
		qb.add(`c.owner_id = $%d`, f.OwnerID)
	}
	if f.Email != "" {
		qb.add(`EXISTS (SELECT 1 FROM contact_emails ce WHERE ce.contact_id = c.id AND ce.address_fold = $%d)`, crm.Fold(f.Email))
	}
	qb.after("c.sort_name", "c.id", cur)
	limit := f.limit()
	rows, err := s.r.QueryContext(ctx, `SELECT `+contactColumns+` FROM `+contactFrom+`
		WHERE `+qb.where()+` ORDER BY c.sort_name, c.id LIMIT `+qb.arg(limit+1), qb.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list contacts: %w", err)
	}
	out, err := scanRows(rows, scanContact)
	if err != nil {
		return nil, "", fmt.Errorf("list contacts: %w", err)
	}
	out, next := pageOf(out, limit, func(c *crm.Contact) []string { return []string{crm.Fold(c.Name), c.ID} })
	return out, next, s.fillContacts(ctx, v, out)
}

func tagVisibleFor(userParam string) string {
	return `(t.kind <> 'personal' OR t.owner_id = ` + userParam + `)`
}

func joinAnd(conds []string) string {
	out := ""
	for i, c := range conds {
		if i > 0 {
			out += " AND "
		}
		out += c
	}
	return out
}

// fillContacts loads emails, phones, addresses, tags and grants for a page
// in five queries, whatever the page size.
func (s *Store) fillContacts(ctx context.Context, v access.Viewer, cs []crm.Contact) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]string, len(cs))
	idx := map[string]int{}
	for i, c := range cs {
		ids[i] = c.ID
		idx[c.ID] = i
	}
	rows, err := s.r.QueryContext(ctx, `SELECT contact_id, address, kind, is_primary FROM contact_emails
		WHERE contact_id IN (`+params(1, len(ids))+`) ORDER BY contact_id, position`, anySlice(ids)...)
	if err != nil {
		return fmt.Errorf("load emails: %w", err)
	}
	for rows.Next() {
		var id string
		var e crm.Email
		if err := rows.Scan(&id, &e.Address, &e.Kind, &e.Primary); err != nil {
			rows.Close()
			return err
		}
		cs[idx[id]].Emails = append(cs[idx[id]].Emails, e)
	}
	rows.Close()
	rows, err = s.r.QueryContext(ctx, `SELECT contact_id, number, kind, is_primary FROM contact_phones
		WHERE contact_id IN (`+params(1, len(ids))+`) ORDER BY contact_id, position`, anySlice(ids)...)
	if err != nil {
		return fmt.Errorf("load phones: %w", err)
	}
	for rows.Next() {
		var id string
		var p crm.Phone
		if err := rows.Scan(&id, &p.Number, &p.Kind, &p.Primary); err != nil {
			rows.Close()
			return err
		}
		cs[idx[id]].Phones = append(cs[idx[id]].Phones, p)
	}
	rows.Close()
	rows, err = s.r.QueryContext(ctx, `SELECT contact_id, kind, street, city, region, postal_code, country, is_primary
		FROM contact_addresses WHERE contact_id IN (`+params(1, len(ids))+`) ORDER BY contact_id, position`, anySlice(ids)...)
	if err != nil {
		return fmt.Errorf("load addresses: %w", err)
	}
	for rows.Next() {
		var id string
		var a crm.Address
		if err := rows.Scan(&id, &a.Kind, &a.Street, &a.City, &a.Region, &a.PostalCode, &a.Country, &a.Primary); err != nil {
			rows.Close()
			return err
		}
		cs[idx[id]].Addresses = append(cs[idx[id]].Addresses, a)
	}
	rows.Close()
	sh, err := s.loadShared(ctx, v, ids)
	if err != nil {
		return err
	}
	for i := range cs {
		cs[i].Tags, cs[i].Access = sh.of(cs[i].ID)
	}
	return nil
}

// nullable maps "" to SQL NULL for optional references.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// checkUser verifies that a user id exists.
func (s *Store) checkUser(ctx context.Context, q querier, id, field string, fe crm.FieldErrors) error {
	if id == "" {
		return nil
	}
	known := checked(q)
	if known != nil && known.users[id] {
		return nil
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE id = $1`, id).Scan(&n); err != nil {
		return fmt.Errorf("check user: %w", err)
	}
	if n == 0 {
		fe.Add(field, "error.not_found")
	} else if known != nil {
		known.users[id] = true
	}
	return nil
}
