package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// AccountFilter narrows ListAccounts.
type AccountFilter struct {
	Q       string
	TagID   string
	OwnerID string
	Name    string // exact name, folded (for linking imported contacts)
	Page
}

// CreateAccount inserts an account owned by a.OwnerID or the viewer.
func (s *Store) CreateAccount(ctx context.Context, v access.Viewer, a *crm.Account) error {
	a.Normalize()
	if err := a.Validate(); err != nil {
		return err
	}
	if a.OwnerID == "" {
		a.OwnerID = v.UserID
	}
	a.ID, a.CreatedAt, a.Version = newID(), crm.Now(), 1
	a.UpdatedAt = a.CreatedAt
	return s.tx(ctx, func(tx *sql.Tx) error {
		fe := crm.FieldErrors{}
		if err := s.checkUser(ctx, tx, a.OwnerID, "owner_id", fe); err != nil {
			return err
		}
		if err := fe.Err(); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, name, type, industry, website, phone, email, address, notes,
			owner_id, sort_name, search, created_at, updated_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, 1)`,
			a.ID, a.Name, a.Type, a.Industry, a.Website, a.Phone, a.Email, a.Address, a.Notes, a.OwnerID,
			crm.Fold(a.Name), a.SearchText(), crm.Micros(a.CreatedAt))
		if err != nil {
			return fmt.Errorf("insert account: %w", err)
		}
		return s.writeRecordParts(ctx, tx, v, EntityAccount, a.ID, a.Tags, a.Access, "create")
	})
}

// writeRecordParts sets tags and grants and logs the change.
func (s *Store) writeRecordParts(ctx context.Context, tx querier, v access.Viewer, entity, id string, tags []crm.TagRef, grants []crm.Grant, op string) error {
	fe := crm.FieldErrors{}
	if tags != nil || op == "create" {
		if err := s.setTags(ctx, tx, v, entity, id, tags, op == "create", fe); err != nil {
			return err
		}
	}
	if err := s.setAccess(ctx, tx, entity, id, grants, fe); err != nil {
		return err
	}
	return s.logChange(ctx, tx, entity, id, op, v.UserID)
}

// UpdateAccount replaces an account's fields (see UpdateContact).
func (s *Store) UpdateAccount(ctx context.Context, v access.Viewer, a *crm.Account, wantVersion int64) error {
	a.Normalize()
	if err := a.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkEditable(ctx, tx, "accounts", a.ID, v, wantVersion); err != nil {
			return err
		}
		fe := crm.FieldErrors{}
		if err := s.checkUser(ctx, tx, a.OwnerID, "owner_id", fe); err != nil {
			return err
		}
		if err := fe.Err(); err != nil {
			return err
		}
		a.UpdatedAt = crm.Now()
		err := tx.QueryRowContext(ctx, `UPDATE accounts SET name = $2, type = $3, industry = $4, website = $5, phone = $6,
			email = $7, address = $8, notes = $9, owner_id = $10, sort_name = $11, search = $12, updated_at = $13,
			version = version + 1 WHERE id = $1 RETURNING version`,
			a.ID, a.Name, a.Type, a.Industry, a.Website, a.Phone, a.Email, a.Address, a.Notes, a.OwnerID,
			crm.Fold(a.Name), a.SearchText(), crm.Micros(a.UpdatedAt)).Scan(&a.Version)
		if err != nil {
			return fmt.Errorf("update account: %w", err)
		}
		return s.writeRecordParts(ctx, tx, v, EntityAccount, a.ID, a.Tags, a.Access, "update")
	})
}

// AccountsNamed returns up to limit ids of the accounts the viewer may
// read whose name is name, folded: what SPEC §3's company rule links an
// imported contact by.
func (s *Store) AccountsNamed(ctx context.Context, v access.Viewer, name string, limit int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT a.id FROM accounts a WHERE a.sort_name = $2 AND `+canRead("a", "$1")+
		` ORDER BY a.id LIMIT $3`, v.UserID, crm.Fold(name), limit)
	if err != nil {
		return nil, fmt.Errorf("accounts named: %w", err)
	}
	ids, err := scanRows(rows, func(r rowScanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("accounts named: %w", err)
	}
	return ids, nil
}

// DeleteAccount removes an account; its contacts stay, unlinked, and keep
// its name as their company when they stated none (crm.Contact.Company), so
// that the company they show and sync does not change.
func (s *Store) DeleteAccount(ctx context.Context, v access.Viewer, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkEditable(ctx, tx, "accounts", id, v, 0); err != nil {
			return err
		}
		var name string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM accounts WHERE id = $1`, id).Scan(&name); err != nil {
			return fmt.Errorf("read account: %w", err)
		}
		// Contacts that lose their account change too: log them for sync.
		rows, err := tx.QueryContext(ctx, `SELECT id FROM contacts WHERE account_id = $1`, id)
		if err != nil {
			return fmt.Errorf("find account contacts: %w", err)
		}
		var contactIDs []string
		for rows.Next() {
			var cid string
			if err := rows.Scan(&cid); err != nil {
				rows.Close()
				return err
			}
			contactIDs = append(contactIDs, cid)
		}
		rows.Close()
		// The search text gains the company at its end rather than where
		// crm.Contact.SearchText puts it: search matches substrings, so the
		// order does not matter, and the next save rebuilds it anyway.
		if _, err := tx.ExecContext(ctx, `UPDATE contacts SET account_id = NULL, version = version + 1, updated_at = $2,
			search = CASE WHEN company = '' THEN search || $4 ELSE search END,
			company = CASE WHEN company = '' THEN $3 ELSE company END
			WHERE account_id = $1`, id, crm.Micros(crm.Now()), name, " "+crm.Fold(name)); err != nil {
			return fmt.Errorf("unlink contacts: %w", err)
		}
		for _, cid := range contactIDs {
			if err := s.logChange(ctx, tx, EntityContact, cid, "update", v.UserID); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM accounts WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete account: %w", err)
		}
		if err := deleteRecordLinks(ctx, tx, id); err != nil {
			return err
		}
		return s.logChange(ctx, tx, EntityAccount, id, "delete", v.UserID)
	})
}

const accountColumns = `a.id, a.name, a.type, a.industry, a.website, a.phone, a.email, a.address, a.notes, a.owner_id,
	a.created_at, a.updated_at, a.version`

func scanAccount(row rowScanner) (crm.Account, error) {
	var a crm.Account
	var c, u int64
	err := row.Scan(&a.ID, &a.Name, &a.Type, &a.Industry, &a.Website, &a.Phone, &a.Email, &a.Address, &a.Notes,
		&a.OwnerID, &c, &u, &a.Version)
	a.CreatedAt, a.UpdatedAt = crm.FromMicros(c), crm.FromMicros(u)
	return a, err
}

// GetAccount returns one account the viewer may read.
func (s *Store) GetAccount(ctx context.Context, v access.Viewer, id string) (*crm.Account, error) {
	a, err := scanAccount(s.r.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts a WHERE a.id = $1 AND `+
		canRead("a", "$2"), id, v.UserID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get account: %w", err)
	}
	list := []crm.Account{a}
	if err := s.fillAccounts(ctx, v, list); err != nil {
		return nil, err
	}
	return &list[0], nil
}

// ListAccounts returns a page of accounts by name.
func (s *Store) ListAccounts(ctx context.Context, v access.Viewer, f AccountFilter) ([]crm.Account, string, error) {
	cur, err := decodeCursor(f.Cursor, 2)
	if err != nil {
		return nil, "", err
	}
	qb := newQuery(canRead("a", "$1"), v.UserID)
	if q := crm.Fold(f.Q); q != "" {
		qb.add(`a.search LIKE $%d ESCAPE '\'`, likePattern(q))
	}
	if f.Name != "" {
		qb.add(`a.sort_name = $%d`, crm.Fold(f.Name))
	}
	if f.TagID != "" {
		qb.add(`EXISTS (SELECT 1 FROM record_tags rt JOIN tags t ON t.id = rt.tag_id WHERE rt.record_id = a.id
			AND rt.tag_id = $%d AND `+tagVisibleFor("$1")+`)`, f.TagID)
	}
	if f.OwnerID != "" {
		qb.add(`a.owner_id = $%d`, f.OwnerID)
	}
	qb.after("a.sort_name", "a.id", cur)
	limit := f.limit()
	rows, err := s.r.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts a WHERE `+qb.where()+
		` ORDER BY a.sort_name, a.id LIMIT `+qb.arg(limit+1), qb.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list accounts: %w", err)
	}
	out, err := scanRows(rows, scanAccount)
	if err != nil {
		return nil, "", fmt.Errorf("list accounts: %w", err)
	}
	out, next := pageOf(out, limit, func(a *crm.Account) []string { return []string{crm.Fold(a.Name), a.ID} })
	return out, next, s.fillAccounts(ctx, v, out)
}

func (s *Store) fillAccounts(ctx context.Context, v access.Viewer, as []crm.Account) error {
	return fillShared(ctx, s, v, as, func(a *crm.Account) (string, *[]crm.TagRef, *[]crm.Grant) { return a.ID, &a.Tags, &a.Access })
}

// query builds a WHERE clause with numbered parameters.
type query struct {
	conds []string
	args  []any
}

func newQuery(first string, args ...any) *query { return &query{conds: []string{first}, args: args} }

// add appends a condition whose one %d is the number of val's parameter.
func (q *query) add(cond string, val any) {
	q.args = append(q.args, val)
	q.conds = append(q.conds, fmt.Sprintf(cond, len(q.args)))
}

// arg appends a value and returns its placeholder.
func (q *query) arg(val any) string {
	q.args = append(q.args, val)
	return fmt.Sprintf("$%d", len(q.args))
}

// after adds the keyset condition for a (sort key, id) cursor.
func (q *query) after(sortCol, idCol string, cur []string) {
	if cur == nil {
		return
	}
	q.afterKey(sortCol, idCol, cur[0], cur[1], false)
}

// afterKey adds the keyset condition of the rows after (key, id) in a list
// ordered by sortCol, then idCol, both ascending or both descending
// (desc). An empty idCol means sortCol is unique: the key alone decides.
func (q *query) afterKey(sortCol, idCol string, key any, id string, desc bool) {
	op := ">"
	if desc {
		op = "<"
	}
	k := q.arg(key)
	if idCol == "" {
		q.conds = append(q.conds, fmt.Sprintf("%s %s %s", sortCol, op, k))
		return
	}
	i := q.arg(id)
	q.conds = append(q.conds, fmt.Sprintf("(%[1]s %[5]s %[2]s OR (%[1]s = %[2]s AND %[3]s %[5]s %[4]s))", sortCol, k, idCol, i, op))
}

func (q *query) where() string { return joinAnd(q.conds) }
