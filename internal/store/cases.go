package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// CaseSort orders ListCases.
type CaseSort string

// Case list orders.
const (
	CaseSortNewest  CaseSort = "newest" // by number, newest first (the default)
	CaseSortOldest  CaseSort = "oldest" // by number, oldest first
	CaseSortUpdated CaseSort = "updated"
	CaseSortSubject CaseSort = "subject"
)

// CaseSorts lists the orders in UI order.
var CaseSorts = []CaseSort{CaseSortNewest, CaseSortOldest, CaseSortUpdated, CaseSortSubject}

// ParseCaseSort reads a list order; "" is the default order.
func ParseCaseSort(s string) (CaseSort, error) {
	if s == "" {
		return CaseSortNewest, nil
	}
	for _, o := range CaseSorts {
		if string(o) == s {
			return o, nil
		}
	}
	return "", fmt.Errorf("%w: case order %q", crm.ErrUnknownValue, s)
}

// caseOrder is how a sort orders the SQL and keys its cursor.
type caseOrder struct {
	col, tie string // tie "" when col is unique
	desc     bool
	numeric  bool // the cursor's key is an integer
	key      func(k *crm.Case) string
}

var caseOrders = map[CaseSort]caseOrder{
	CaseSortNewest: {col: "k.number", desc: true, numeric: true, key: caseNumberKey},
	CaseSortOldest: {col: "k.number", numeric: true, key: caseNumberKey},
	CaseSortUpdated: {col: "k.updated_at", tie: "k.id", desc: true, numeric: true,
		key: func(k *crm.Case) string { return strconv.FormatInt(crm.Micros(k.UpdatedAt), 10) }},
	CaseSortSubject: {col: "k.sort_subject", tie: "k.id", key: func(k *crm.Case) string { return crm.Fold(k.Subject) }},
}

func caseNumberKey(k *crm.Case) string { return strconv.FormatInt(k.Number, 10) }

func (o caseOrder) orderBy() string {
	dir := ""
	if o.desc {
		dir = " DESC"
	}
	if o.tie == "" {
		return o.col + dir
	}
	return o.col + dir + ", " + o.tie + dir
}

// CaseFilter narrows ListCases and CountCases. Empty fields do not filter.
type CaseFilter struct {
	Q            string           // folded substring of the reference (CS-000123) or subject
	Statuses     []crm.CaseStatus // any of these
	Priority     crm.CasePriority // this one
	OwnerID      string           // owned by this user
	ContactID    string           // about this contact
	AccountID    string           // about this account
	SourceChatID string           // created from this chat
	TagID        string           // carrying this tag
	Sort         CaseSort         // "" is CaseSortNewest
	Page
}

// CreateCase stores a new case and gives it the next number. The viewer
// creates it and, unless OwnerID says otherwise, owns it. A case about a
// contact and no account is put on the contact's account when the viewer
// may see it, as the person's company is what the case is about.
func (s *Store) CreateCase(ctx context.Context, v access.Viewer, k *crm.Case) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.createCase(ctx, tx, v, k) })
}

// CreateCase is Store.CreateCase inside the transaction.
func (t *Tx) CreateCase(ctx context.Context, v access.Viewer, k *crm.Case) error {
	return t.s.createCase(ctx, t.q, v, k)
}

func (s *Store) createCase(ctx context.Context, tx querier, v access.Viewer, k *crm.Case) error {
	k.Normalize()
	if err := k.Validate(); err != nil {
		return err
	}
	if k.OwnerID == "" {
		k.OwnerID = v.UserID
	}
	k.CreatedBy = v.UserID
	k.ID, k.CreatedAt, k.Version = newID(), crm.Now(), 1
	k.UpdatedAt = k.CreatedAt
	k.ClosedAt = nil
	if k.Status.Done() {
		k.ClosedAt = &k.CreatedAt
	}
	if err := s.checkCaseRefs(ctx, tx, v, k, nil); err != nil {
		return err
	}
	if k.AccountID == "" && k.ContactID != "" {
		err := tx.QueryRowContext(ctx, `SELECT a.id FROM contacts c JOIN accounts a ON a.id = c.account_id
			WHERE c.id = $2 AND `+canRead("a", "$1"), v.UserID, k.ContactID).Scan(&k.AccountID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("contact's account: %w", err)
		}
	}
	// Last, so the counter's row stays locked (PostgreSQL) for as short a
	// time as the transaction allows.
	if err := tx.QueryRowContext(ctx, `UPDATE counters SET value = value + 1 WHERE name = 'case_number' RETURNING value`).
		Scan(&k.Number); err != nil {
		return fmt.Errorf("next case number: %w", err)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO cases (id, number, subject, description, status, priority, contact_id,
		account_id, source_chat_id, owner_id, created_by, sort_subject, search, created_at, updated_at, closed_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15, 1)`,
		k.ID, k.Number, k.Subject, k.Description, string(k.Status), string(k.Priority), nullable(k.ContactID),
		nullable(k.AccountID), nullable(k.SourceChatID), k.OwnerID, k.CreatedBy, crm.Fold(k.Subject), k.SearchText(),
		crm.Micros(k.CreatedAt), microsPtr(k.ClosedAt))
	if err != nil {
		return fmt.Errorf("insert case: %w", err)
	}
	return s.writeRecordParts(ctx, tx, v, EntityCase, k.ID, k.Tags, k.Access, "create")
}

// checkCaseRefs reports a contact or account the viewer cannot see, and an
// owner who does not exist, as field errors. A link the case already has
// (old, on an update) is kept without a check: someone may edit a case
// whose contact is kept from them, just not link a case to it.
func (s *Store) checkCaseRefs(ctx context.Context, tx querier, v access.Viewer, k, old *crm.Case) error {
	fe := crm.FieldErrors{}
	if old == nil || k.ContactID != old.ContactID {
		if err := s.checkRef(ctx, tx, v, "contacts", k.ContactID, "contact_id", fe); err != nil {
			return err
		}
	}
	if old == nil || k.AccountID != old.AccountID {
		if err := s.checkRef(ctx, tx, v, "accounts", k.AccountID, "account_id", fe); err != nil {
			return err
		}
	}
	if err := s.checkUser(ctx, tx, k.OwnerID, "owner_id", fe); err != nil {
		return err
	}
	return fe.Err()
}

// UpdateCase replaces a case's fields (see UpdateContact). Its number,
// author and source chat never change, and ClosedAt follows the status
// (see crm.Case); the stored values are read back into k.
func (s *Store) UpdateCase(ctx context.Context, v access.Viewer, k *crm.Case, wantVersion int64) error {
	k.Normalize()
	if err := k.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkEditable(ctx, tx, "cases", k.ID, v, wantVersion); err != nil {
			return err
		}
		// The search text holds the number, which the caller may not know.
		var old crm.Case
		if err := tx.QueryRowContext(ctx, `SELECT number, COALESCE(contact_id, ''), COALESCE(account_id, '')
			FROM cases WHERE id = $1`, k.ID).Scan(&k.Number, &old.ContactID, &old.AccountID); err != nil {
			return fmt.Errorf("update case: %w", err)
		}
		if err := s.checkCaseRefs(ctx, tx, v, k, &old); err != nil {
			return err
		}
		k.UpdatedAt = crm.Now()
		var created int64
		var closed sql.NullInt64
		var chat sql.NullString
		// SET expressions see the row as it was: a case that was already
		// done keeps its closing time.
		err := tx.QueryRowContext(ctx, `UPDATE cases SET subject = $2, description = $3, status = $4, priority = $5,
			contact_id = $6, account_id = $7, owner_id = $8, sort_subject = $9, search = $10, updated_at = $11,
			closed_at = CASE WHEN $12 THEN COALESCE(closed_at, $11) END, version = version + 1
			WHERE id = $1 RETURNING version, created_by, created_at, closed_at, source_chat_id`,
			k.ID, k.Subject, k.Description, string(k.Status), string(k.Priority), nullable(k.ContactID),
			nullable(k.AccountID), k.OwnerID, crm.Fold(k.Subject), k.SearchText(), crm.Micros(k.UpdatedAt), k.Status.Done()).
			Scan(&k.Version, &k.CreatedBy, &created, &closed, &chat)
		if err != nil {
			return fmt.Errorf("update case: %w", err)
		}
		k.CreatedAt, k.ClosedAt, k.SourceChatID = crm.FromMicros(created), timePtr(closed), chat.String
		return s.writeRecordParts(ctx, tx, v, EntityCase, k.ID, k.Tags, k.Access, "update")
	})
}

// DeleteCase removes a case the viewer may edit.
func (s *Store) DeleteCase(ctx context.Context, v access.Viewer, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkEditable(ctx, tx, "cases", id, v, 0); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM cases WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete case: %w", err)
		}
		if err := deleteRecordLinks(ctx, tx, id); err != nil {
			return err
		}
		return s.logChange(ctx, tx, EntityCase, id, "delete", v.UserID)
	})
}

// caseFrom selects cases as k with the names of their contact and account,
// joined only where the viewer ($1) may read those, so a case shared with
// someone does not show them the name of a contact kept from them.
var caseFrom = `SELECT k.id, k.number, k.subject, k.description, k.status, k.priority, COALESCE(k.contact_id, ''),
	COALESCE(c.name, ''), COALESCE(k.account_id, ''), COALESCE(a.name, ''), COALESCE(k.source_chat_id, ''), k.owner_id,
	k.created_by, k.created_at, k.updated_at, k.closed_at, k.version
	FROM cases k LEFT JOIN contacts c ON c.id = k.contact_id AND ` + canRead("c", "$1") + `
	LEFT JOIN accounts a ON a.id = k.account_id AND ` + canRead("a", "$1")

func scanCase(row rowScanner) (crm.Case, error) {
	var k crm.Case
	var status, priority string
	var created, updated int64
	var closed sql.NullInt64
	err := row.Scan(&k.ID, &k.Number, &k.Subject, &k.Description, &status, &priority, &k.ContactID, &k.ContactName,
		&k.AccountID, &k.AccountName, &k.SourceChatID, &k.OwnerID, &k.CreatedBy, &created, &updated, &closed, &k.Version)
	k.Status, k.Priority = crm.CaseStatus(status), crm.CasePriority(priority)
	k.CreatedAt, k.UpdatedAt, k.ClosedAt = crm.FromMicros(created), crm.FromMicros(updated), timePtr(closed)
	return k, err
}

// GetCase returns one case the viewer may read.
func (s *Store) GetCase(ctx context.Context, v access.Viewer, id string) (*crm.Case, error) {
	k, err := scanCase(s.r.QueryRowContext(ctx, caseFrom+` WHERE k.id = $2 AND `+canRead("k", "$1"), v.UserID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get case: %w", err)
	}
	list := []crm.Case{k}
	if err := s.fillCases(ctx, v, list); err != nil {
		return nil, err
	}
	return &list[0], nil
}

// caseWhere is the condition of f for the viewer, whose id is $1.
func caseWhere(v access.Viewer, f CaseFilter) *query {
	qb := newQuery(canRead("k", "$1"), v.UserID)
	if q := crm.Fold(f.Q); q != "" {
		qb.add(`k.search LIKE $%d ESCAPE '\'`, likePattern(q))
	}
	if len(f.Statuses) > 0 {
		start := len(qb.args) + 1
		for _, st := range f.Statuses {
			qb.args = append(qb.args, string(st))
		}
		qb.conds = append(qb.conds, "k.status IN ("+params(start, len(f.Statuses))+")")
	}
	for _, c := range []struct{ col, val string }{{"k.priority", string(f.Priority)}, {"k.owner_id", f.OwnerID},
		{"k.contact_id", f.ContactID}, {"k.account_id", f.AccountID}, {"k.source_chat_id", f.SourceChatID}} {
		if c.val != "" {
			qb.add(c.col+` = $%d`, c.val)
		}
	}
	if f.TagID != "" {
		qb.add(`EXISTS (SELECT 1 FROM record_tags rt JOIN tags t ON t.id = rt.tag_id WHERE rt.record_id = k.id
			AND rt.tag_id = $%d AND `+tagVisibleFor("$1")+`)`, f.TagID)
	}
	return qb
}

// ListCases returns a page of the cases the viewer may read in f's order,
// and the cursor of the next page ("" at the end).
func (s *Store) ListCases(ctx context.Context, v access.Viewer, f CaseFilter) ([]crm.Case, string, error) {
	sort, err := ParseCaseSort(string(f.Sort))
	if err != nil {
		return nil, "", err
	}
	ord := caseOrders[sort]
	cur, err := decodeCursor(f.Cursor, 2)
	if err != nil {
		return nil, "", err
	}
	qb := caseWhere(v, f)
	if cur != nil {
		var key any = cur[0]
		if ord.numeric {
			n, err := strconv.ParseInt(cur[0], 10, 64)
			if err != nil {
				return nil, "", ErrBadCursor
			}
			key = n
		}
		qb.afterKey(ord.col, ord.tie, key, cur[1], ord.desc)
	}
	limit := f.limit()
	rows, err := s.r.QueryContext(ctx, caseFrom+` WHERE `+qb.where()+` ORDER BY `+ord.orderBy()+` LIMIT `+qb.arg(limit+1),
		qb.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list cases: %w", err)
	}
	out, err := scanRows(rows, scanCase)
	if err != nil {
		return nil, "", fmt.Errorf("list cases: %w", err)
	}
	out, next := pageOf(out, limit, func(k *crm.Case) []string { return []string{ord.key(k), k.ID} })
	return out, next, s.fillCases(ctx, v, out)
}

// CountCases counts the cases of f the viewer may read (f's paging and
// order are ignored).
func (s *Store) CountCases(ctx context.Context, v access.Viewer, f CaseFilter) (int, error) {
	qb := caseWhere(v, f)
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM cases k WHERE `+qb.where(), qb.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count cases: %w", err)
	}
	return n, nil
}

// CasesOfContact returns the newest cases about a contact, up to limit,
// and how many the viewer may read in all: what the contact card shows.
func (s *Store) CasesOfContact(ctx context.Context, v access.Viewer, contactID string, limit int) ([]crm.Case, int, error) {
	return s.casesOf(ctx, v, CaseFilter{ContactID: contactID, Page: Page{Limit: limit}})
}

// CasesOfAccount is CasesOfContact for an account's card.
func (s *Store) CasesOfAccount(ctx context.Context, v access.Viewer, accountID string, limit int) ([]crm.Case, int, error) {
	return s.casesOf(ctx, v, CaseFilter{AccountID: accountID, Page: Page{Limit: limit}})
}

func (s *Store) casesOf(ctx context.Context, v access.Viewer, f CaseFilter) ([]crm.Case, int, error) {
	list, next, err := s.ListCases(ctx, v, f)
	if err != nil {
		return nil, 0, err
	}
	if next == "" { // all of them are here
		return list, len(list), nil
	}
	n, err := s.CountCases(ctx, v, f)
	return list, n, err
}

func (s *Store) fillCases(ctx context.Context, v access.Viewer, ks []crm.Case) error {
	return fillShared(ctx, s, v, ks, func(k *crm.Case) (string, *[]crm.TagRef, *[]crm.Grant) { return k.ID, &k.Tags, &k.Access })
}
