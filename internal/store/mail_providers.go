package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tandem-crm/tandem/internal/crm"
)

// MailProvider is a row of the mail provider directory. Package mail owns
// its rules (types, validation, presets, the sealing of the client
// secret); the store keeps it as given.
type MailProvider struct {
	ID           string
	Name         string
	Type         string // "imap" or "exchange"
	Preset       string // the preset it was made from, "" when typed by hand
	IMAPHost     string
	IMAPPort     int
	IMAPSecurity string
	SMTPHost     string
	SMTPPort     int
	SMTPSecurity string
	LoginFormat  string
	Auth         string
	ClientID     string
	// ClientSecret is sealed by package secret; "" when none.
	ClientSecret string
	ExchangeURL  string
	ExchangeLoad bool
	ExchangeSend bool
	CreatedAt    time.Time
	UpdatedAt    time.Time

	// Read only, filled by the reads.
	Mailboxes int // mailboxes using the provider
	Domains   int // domains mapped to it
}

// MailDomain maps an address domain to a provider.
type MailDomain struct {
	Domain       string // lower-case ASCII (IDNA A-labels)
	ProviderID   string
	ProviderName string // read only
	CreatedAt    time.Time
}

// ErrProviderInUse is a delete of a provider that mailboxes use.
var ErrProviderInUse = errors.New("mail provider in use")

// ProviderInUseError says how many mailboxes hold the provider; it is
// ErrProviderInUse.
type ProviderInUseError struct{ Mailboxes int }

func (e *ProviderInUseError) Error() string {
	return fmt.Sprintf("mail provider in use by %d mailboxes", e.Mailboxes)
}

func (e *ProviderInUseError) Is(target error) bool { return target == ErrProviderInUse }

// isForeignKey reports a foreign key violation of either database.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	var pe *pgconn.PgError
	return (errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY) ||
		(errors.As(err, &pe) && pe.Code == "23503")
}

const mailProviderColumns = `p.id, p.name, p.type, p.preset, p.imap_host, p.imap_port, p.imap_security, p.smtp_host,
	p.smtp_port, p.smtp_security, p.login_format, p.auth, p.oauth_client_id, p.oauth_client_secret, p.exchange_url,
	p.exchange_load, p.exchange_send, p.created_at, p.updated_at,
	(SELECT COUNT(*) FROM mailboxes m WHERE m.provider_id = p.id),
	(SELECT COUNT(*) FROM mail_provider_domains d WHERE d.provider_id = p.id)`

func scanMailProvider(row interface{ Scan(...any) error }) (*MailProvider, error) {
	var p MailProvider
	var created, updated int64
	if err := row.Scan(&p.ID, &p.Name, &p.Type, &p.Preset, &p.IMAPHost, &p.IMAPPort, &p.IMAPSecurity, &p.SMTPHost,
		&p.SMTPPort, &p.SMTPSecurity, &p.LoginFormat, &p.Auth, &p.ClientID, &p.ClientSecret, &p.ExchangeURL,
		&p.ExchangeLoad, &p.ExchangeSend, &created, &updated, &p.Mailboxes, &p.Domains); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = crm.FromMicros(created), crm.FromMicros(updated)
	return &p, nil
}

// duplicateName is the answer to a second provider of the same name.
func duplicateName() error {
	return &crm.ValidationError{Fields: crm.FieldErrors{"name": crm.ErrDuplicate}}
}

// CreateMailProvider stores a new provider and maps the given domains
// (already normalized) to it, in one transaction; a domain already mapped
// to another provider keeps that mapping. p.ID is kept when set (the
// client secret is sealed for its id). A name another provider has, in
// any case, is a validation error on "name".
func (s *Store) CreateMailProvider(ctx context.Context, p *MailProvider, domains ...string) error {
	if p.ID == "" {
		p.ID = newID()
	}
	p.CreatedAt = crm.Now()
	p.UpdatedAt = p.CreatedAt
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO mail_providers (id, name, name_key, type, preset, imap_host, imap_port,
			imap_security, smtp_host, smtp_port, smtp_security, login_format, auth, oauth_client_id, oauth_client_secret,
			exchange_url, exchange_load, exchange_send, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19)`,
			p.ID, p.Name, crm.Fold(p.Name), p.Type, p.Preset, p.IMAPHost, p.IMAPPort, p.IMAPSecurity, p.SMTPHost, p.SMTPPort,
			p.SMTPSecurity, p.LoginFormat, p.Auth, p.ClientID, p.ClientSecret, p.ExchangeURL, p.ExchangeLoad, p.ExchangeSend,
			crm.Micros(p.CreatedAt))
		if s.dialect.isUnique(err) {
			return duplicateName()
		}
		if err != nil {
			return fmt.Errorf("create mail provider: %w", err)
		}
		for _, d := range domains {
			res, err := tx.ExecContext(ctx, `INSERT INTO mail_provider_domains (domain, provider_id, created_at)
				VALUES ($1, $2, $3) ON CONFLICT (domain) DO NOTHING`, d, p.ID, crm.Micros(p.CreatedAt))
			if err != nil {
				return fmt.Errorf("create mail provider: domain %s: %w", d, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				p.Domains++
			}
		}
		return nil
	})
}

// UpdateMailProvider replaces a provider's fields (all but its id, preset
// and creation time).
func (s *Store) UpdateMailProvider(ctx context.Context, p *MailProvider) error {
	p.UpdatedAt = crm.Now()
	res, err := s.w.ExecContext(ctx, `UPDATE mail_providers SET name = $2, name_key = $3, type = $4, imap_host = $5,
		imap_port = $6, imap_security = $7, smtp_host = $8, smtp_port = $9, smtp_security = $10, login_format = $11,
		auth = $12, oauth_client_id = $13, oauth_client_secret = $14, exchange_url = $15, exchange_load = $16,
		exchange_send = $17, updated_at = $18 WHERE id = $1`,
		p.ID, p.Name, crm.Fold(p.Name), p.Type, p.IMAPHost, p.IMAPPort, p.IMAPSecurity, p.SMTPHost, p.SMTPPort,
		p.SMTPSecurity, p.LoginFormat, p.Auth, p.ClientID, p.ClientSecret, p.ExchangeURL, p.ExchangeLoad, p.ExchangeSend,
		crm.Micros(p.UpdatedAt))
	if s.dialect.isUnique(err) {
		return duplicateName()
	}
	if err != nil {
		return fmt.Errorf("update mail provider: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// GetMailProvider returns one provider.
func (s *Store) GetMailProvider(ctx context.Context, id string) (*MailProvider, error) {
	p, err := scanMailProvider(s.r.QueryRowContext(ctx, `SELECT `+mailProviderColumns+` FROM mail_providers p WHERE p.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get mail provider: %w", err)
	}
	return p, nil
}

// ListMailProviders returns every provider by name; the directory is
// small (a few dozen at most).
func (s *Store) ListMailProviders(ctx context.Context) ([]*MailProvider, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+mailProviderColumns+` FROM mail_providers p ORDER BY p.name_key, p.id`)
	if err != nil {
		return nil, fmt.Errorf("list mail providers: %w", err)
	}
	defer rows.Close()
	var out []*MailProvider
	for rows.Next() {
		p, err := scanMailProvider(rows)
		if err != nil {
			return nil, fmt.Errorf("list mail providers: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeleteMailProvider removes a provider and its domains, unless mailboxes
// use it: then nothing changes and the error is a *ProviderInUseError
// (ErrProviderInUse). The check and the delete are one transaction; a
// mailbox added by a transaction the check could not see is refused by
// the foreign key, with the same error.
func (s *Store) DeleteMailProvider(ctx context.Context, id string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// On PostgreSQL the row lock makes a concurrent mailbox insert (whose
		// key check locks the row too) wait for this transaction or go first.
		lock := ""
		if s.Postgres() {
			lock = " FOR UPDATE"
		}
		var got string
		err := tx.QueryRowContext(ctx, `SELECT id FROM mail_providers WHERE id = $1`+lock, id).Scan(&got)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("delete mail provider: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mailboxes WHERE provider_id = $1`, id).Scan(&n); err != nil {
			return fmt.Errorf("delete mail provider: %w", err)
		}
		if n > 0 {
			return &ProviderInUseError{Mailboxes: n}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mail_providers WHERE id = $1`, id); err != nil {
			return err
		}
		return nil
	})
	if isForeignKey(err) {
		return &ProviderInUseError{Mailboxes: 1}
	}
	return err
}

const mailDomainColumns = `d.domain, d.provider_id, p.name, d.created_at`

func scanMailDomain(row interface{ Scan(...any) error }) (*MailDomain, error) {
	var d MailDomain
	var created int64
	if err := row.Scan(&d.Domain, &d.ProviderID, &d.ProviderName, &created); err != nil {
		return nil, err
	}
	d.CreatedAt = crm.FromMicros(created)
	return &d, nil
}

// ListMailDomains returns the domains of a provider, or of all providers
// when providerID is "", by domain.
func (s *Store) ListMailDomains(ctx context.Context, providerID string) ([]*MailDomain, error) {
	q := `SELECT ` + mailDomainColumns + ` FROM mail_provider_domains d JOIN mail_providers p ON p.id = d.provider_id`
	var args []any
	if providerID != "" {
		q += ` WHERE d.provider_id = $1`
		args = append(args, providerID)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY d.domain`, args...)
	if err != nil {
		return nil, fmt.Errorf("list mail domains: %w", err)
	}
	defer rows.Close()
	var out []*MailDomain
	for rows.Next() {
		d, err := scanMailDomain(rows)
		if err != nil {
			return nil, fmt.Errorf("list mail domains: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// GetMailDomain returns the mapping of one domain (already normalized).
func (s *Store) GetMailDomain(ctx context.Context, domain string) (*MailDomain, error) {
	return s.getMailDomain(ctx, s.r, domain)
}

func (s *Store) getMailDomain(ctx context.Context, q querier, domain string) (*MailDomain, error) {
	d, err := scanMailDomain(q.QueryRowContext(ctx, `SELECT `+mailDomainColumns+` FROM mail_provider_domains d
		JOIN mail_providers p ON p.id = d.provider_id WHERE d.domain = $1`, domain))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get mail domain: %w", err)
	}
	return d, nil
}

// MailProviderByDomain returns the provider a domain (already normalized)
// maps to.
func (s *Store) MailProviderByDomain(ctx context.Context, domain string) (*MailProvider, error) {
	p, err := scanMailProvider(s.r.QueryRowContext(ctx, `SELECT `+mailProviderColumns+` FROM mail_providers p
		JOIN mail_provider_domains dd ON dd.provider_id = p.id WHERE dd.domain = $1`, domain))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("provider by domain: %w", err)
	}
	return p, nil
}

// AddMailDomain maps a domain (already normalized) to a provider. A domain
// already mapped is a validation error on "domain", an unknown provider
// one on "provider_id".
func (s *Store) AddMailDomain(ctx context.Context, domain, providerID string) (*MailDomain, error) {
	var out *MailDomain
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM mail_providers WHERE id = $1`, providerID).Scan(&n); err != nil {
			return fmt.Errorf("add mail domain: %w", err)
		}
		if n == 0 {
			return &crm.ValidationError{Fields: crm.FieldErrors{"provider_id": crm.ErrUnknownEnum}}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO mail_provider_domains (domain, provider_id, created_at) VALUES ($1, $2, $3)`,
			domain, providerID, crm.Micros(crm.Now()))
		if s.dialect.isUnique(err) {
			return &crm.ValidationError{Fields: crm.FieldErrors{"domain": crm.ErrDuplicate}}
		}
		if err != nil {
			return fmt.Errorf("add mail domain: %w", err)
		}
		out, err = s.getMailDomain(ctx, tx, domain)
		return err
	})
	return out, err
}

// LearnMailDomain maps a domain (already normalized) to a provider unless
// it is mapped already, and returns the mapping that holds: the one made
// now, or the earlier one (when another pick won a race, or the domain was
// known). It is idempotent and safe to call concurrently.
func (s *Store) LearnMailDomain(ctx context.Context, domain, providerID string) (*MailDomain, error) {
	var out *MailDomain
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO mail_provider_domains (domain, provider_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (domain) DO NOTHING`, domain, providerID, crm.Micros(crm.Now()))
		if isForeignKey(err) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("learn mail domain: %w", err)
		}
		out, err = s.getMailDomain(ctx, tx, domain)
		return err
	})
	return out, err
}

// DeleteMailDomain removes a domain's mapping.
func (s *Store) DeleteMailDomain(ctx context.Context, domain string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM mail_provider_domains WHERE domain = $1`, domain)
	if err != nil {
		return fmt.Errorf("delete mail domain: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
