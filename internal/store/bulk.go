package store

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// bulkRows bounds the rows of one multi-row INSERT. Both databases take far
// more parameters than a statement of it needs (SQLite 32,766, PostgreSQL
// 65,535; the widest row here has 17 columns); a fixed bound keeps the
// statement texts few, so SQLite's per-transaction statement cache and
// pgx's per-connection one reuse them page after page.
const bulkRows = 500

// valuesLists caches the "($1,$2),($3,$4)…" text of a multi-row VALUES
// list by placeholder style, width and rows: building thousands of
// placeholders per statement would cost more than the statement's own
// preparation.
var valuesLists sync.Map // valuesKey → string

type valuesKey struct {
	anon        bool
	width, rows int
}

// valuesList renders rows of width placeholders. anon renders them as
// "?": SQLite takes "$N" for a named parameter and looks each one up in a
// list of the names seen so far, so preparing and binding a statement of
// thousands of them costs time quadratic in their number.
func valuesList(anon bool, width, rows int) string {
	key := valuesKey{anon, width, rows}
	if s, ok := valuesLists.Load(key); ok {
		return s.(string)
	}
	var b strings.Builder
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", width), ",") + ")"
	for r := range rows {
		if r > 0 {
			b.WriteByte(',')
		}
		if anon {
			b.WriteString(row)
		} else {
			b.WriteString("(" + params(r*width+1, width) + ")")
		}
	}
	s := b.String()
	valuesLists.Store(key, s)
	return s
}

// insertRows runs head (an "INSERT INTO t (cols)") with args as rows of
// width values, in statements of at most bulkRows rows.
func (s *Store) insertRows(ctx context.Context, q querier, head string, width int, args []any) error {
	return s.insertRowsThen(ctx, q, head, "", width, args)
}

// insertRowsThen is insertRows with tail (an ON CONFLICT clause, without
// parameters) after the values.
func (s *Store) insertRowsThen(ctx context.Context, q querier, head, tail string, width int, args []any) error {
	anon := s.dialect.name() == "sqlite"
	for len(args) > 0 {
		n := min(len(args)/width, bulkRows)
		if _, err := q.ExecContext(ctx, head+" VALUES "+valuesList(anon, width, n)+tail, args[:n*width]...); err != nil {
			return err
		}
		args = args[n*width:]
	}
	return nil
}

// CreateContacts is CreateContact for many contacts, in a few multi-row
// statements per table instead of several statements per contact: for a
// sync's page of new records. The rows are those CreateContact writes,
// with the same checks (run once per distinct owner, account and tag); an
// error fails them all, leaving the transaction for the caller to roll
// back (on PostgreSQL a failed statement aborts it).
func (t *Tx) CreateContacts(ctx context.Context, v access.Viewer, cs []*crm.Contact) error {
	return t.s.createContacts(ctx, t.q, v, cs)
}

func (s *Store) createContacts(ctx context.Context, q querier, v access.Viewer, cs []*crm.Contact) error {
	fe := crm.FieldErrors{}
	var tagIDs []string
	tagSeen := map[string]bool{}
	for _, c := range cs {
		if err := prepareNewContact(v, c); err != nil {
			return err
		}
		if err := s.checkRef(ctx, q, v, "accounts", c.AccountID, "account_id", fe); err != nil {
			return err
		}
		if err := s.checkUser(ctx, q, c.OwnerID, "owner_id", fe); err != nil {
			return err
		}
		if err := fe.Err(); err != nil {
			return err
		}
		for _, t := range c.Tags {
			if !tagSeen[t.ID] {
				tagSeen[t.ID] = true
				tagIDs = append(tagIDs, t.ID)
			}
		}
	}
	if err := checkTagsVisible(ctx, q, v, tagIDs, fe); err != nil {
		return err
	}
	rows := make([]any, 0, len(cs)*17)
	var emails, phones, addresses, tags []any
	for _, c := range cs {
		rows = append(rows, c.ID, c.Name, c.GivenName, c.MiddleName, c.FamilyName, c.JobTitle, c.Type,
			nullable(c.AccountID), c.Notes, c.OwnerID, crm.Fold(c.Name), c.SearchText(), crm.Micros(c.CreatedAt),
			crm.Micros(c.UpdatedAt), c.Version, c.Company, c.Birthday)
		for i, e := range c.Emails {
			emails = append(emails, c.ID, i, e.Address, crm.Fold(e.Address), e.Kind, e.Primary)
		}
		for i, p := range c.Phones {
			phones = append(phones, c.ID, i, p.Number, p.Kind, p.Primary)
		}
		for i, a := range c.Addresses {
			addresses = append(addresses, c.ID, i, a.Kind, a.Street, a.City, a.Region, a.PostalCode, a.Country, a.Primary)
		}
		seen := map[string]bool{}
		for _, t := range c.Tags {
			if !seen[t.ID] {
				seen[t.ID] = true
				tags = append(tags, t.ID, c.ID, EntityContact)
			}
		}
	}
	if err := s.insertRows(ctx, q, `INSERT INTO contacts (id, name, given_name, middle_name, family_name, job_title, type,
		account_id, notes, owner_id, sort_name, search, created_at, updated_at, version, company, birthday)`, 17, rows); err != nil {
		return fmt.Errorf("insert contacts: %w", err)
	}
	if err := s.insertPhotos(ctx, q, cs); err != nil {
		return err
	}
	if err := s.insertRows(ctx, q, `INSERT INTO contact_emails (contact_id, position, address, address_fold, kind, is_primary)`,
		6, emails); err != nil {
		return fmt.Errorf("insert emails: %w", err)
	}
	if err := s.insertRows(ctx, q, `INSERT INTO contact_phones (contact_id, position, number, kind, is_primary)`,
		5, phones); err != nil {
		return fmt.Errorf("insert phones: %w", err)
	}
	if err := s.insertRows(ctx, q, `INSERT INTO contact_addresses (contact_id, position, kind, street, city, region,
		postal_code, country, is_primary)`, 9, addresses); err != nil {
		return fmt.Errorf("insert addresses: %w", err)
	}
	if err := s.insertRows(ctx, q, `INSERT INTO record_tags (tag_id, record_id, entity)`, 3, tags); err != nil {
		return fmt.Errorf("add tags: %w", err)
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		if c.Access != nil {
			if err := s.setAccess(ctx, q, EntityContact, c.ID, c.Access, fe); err != nil {
				return err
			}
		}
		ids[i] = c.ID
	}
	return s.logChanges(ctx, q, EntityContact, ids, "create", v.UserID)
}
