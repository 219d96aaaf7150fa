package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// ValidateUser checks the fields of a user an administrator edits.
func ValidateUser(u *access.User) error {
	fe := crm.FieldErrors{}
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	u.Name = strings.TrimSpace(u.Name)
	if !crm.ValidEmail(u.Email) {
		fe.Add("email", crm.ErrEmail)
	}
	if u.Name == "" {
		u.Name = u.Email
	}
	if n := crm.MaxLen(crm.KindUser, "name"); len([]rune(u.Name)) > n {
		fe.Add("name", crm.TooLong(n))
	}
	if u.Language != "" && u.Language != "en" && u.Language != "ru" {
		fe.Add("language", crm.ErrUnknownEnum)
	}
	if u.TimeZone == "" {
		u.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(u.TimeZone); err != nil {
		fe.Add("time_zone", crm.ErrTimeZone)
	}
	for _, op := range u.Ops {
		if !access.KnownOperation(op) {
			fe.Add("operations", crm.ErrUnknownEnum)
		}
	}
	return fe.Err()
}

// CreateUser inserts a user with a password (hashed here).
func (s *Store) CreateUser(ctx context.Context, u *access.User, password string) error {
	if err := ValidateUser(u); err != nil {
		return err
	}
	hash, err := access.HashPassword(password)
	if err != nil {
		return &crm.ValidationError{Fields: crm.FieldErrors{"password": "error.password_weak"}}
	}
	u.ID = newID()
	u.CreatedAt = crm.Now()
	u.UpdatedAt = u.CreatedAt
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, password_hash, language, time_zone, active, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`, u.ID, u.Email, u.Name, hash, u.Language, u.TimeZone, u.Active, crm.Micros(u.CreatedAt))
		if s.dialect.isUnique(err) {
			return &crm.ValidationError{Fields: crm.FieldErrors{"email": "error.duplicate"}}
		}
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		return s.writeUserLinks(ctx, tx, u)
	})
}

func (s *Store) writeUserLinks(ctx context.Context, tx *sql.Tx, u *access.User) error {
	if u.RoleIDs != nil {
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_roles WHERE user_id = $1`, u.ID); err != nil {
			return fmt.Errorf("clear roles: %w", err)
		}
		for _, r := range dedupe(u.RoleIDs) {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM roles WHERE id = $1`, r).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				return &crm.ValidationError{Fields: crm.FieldErrors{"roles": "error.not_found"}}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_roles (user_id, role_id) VALUES ($1, $2)`, u.ID, r); err != nil {
				return fmt.Errorf("add role: %w", err)
			}
		}
	}
	if u.Ops != nil {
		return setGrants(ctx, tx, "user", u.ID, u.Ops)
	}
	return nil
}

func setGrants(ctx context.Context, tx *sql.Tx, kind, id string, ops []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM operation_grants WHERE grantee_kind = $1 AND grantee_id = $2`, kind, id); err != nil {
		return fmt.Errorf("clear operations: %w", err)
	}
	for _, op := range dedupe(ops) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO operation_grants (operation, grantee_kind, grantee_id) VALUES ($1, $2, $3)`,
			op, kind, id); err != nil {
			return fmt.Errorf("grant operation: %w", err)
		}
	}
	return nil
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// UpdateUser saves profile fields, roles and direct operations (nil slices
// are left as they are).
func (s *Store) UpdateUser(ctx context.Context, u *access.User) error {
	if err := ValidateUser(u); err != nil {
		return err
	}
	u.UpdatedAt = crm.Now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET email = $2, name = $3, language = $4, time_zone = $5, active = $6,
			updated_at = $7 WHERE id = $1`, u.ID, u.Email, u.Name, u.Language, u.TimeZone, u.Active, crm.Micros(u.UpdatedAt))
		if s.dialect.isUnique(err) {
			return &crm.ValidationError{Fields: crm.FieldErrors{"email": "error.duplicate"}}
		}
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if !u.Active {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
				return err
			}
		}
		return s.writeUserLinks(ctx, tx, u)
	})
}

// SetPassword replaces a user's password and ends their other sessions.
func (s *Store) SetPassword(ctx context.Context, userID, password string) error {
	hash, err := access.HashPassword(password)
	if err != nil {
		return &crm.ValidationError{Fields: crm.FieldErrors{"password": "error.password_weak"}}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1`, userID, hash, crm.Micros(crm.Now()))
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		return err
	})
}

const userColumns = `id, email, name, language, time_zone, active, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (*access.User, error) {
	var u access.User
	var c, up int64
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Language, &u.TimeZone, &u.Active, &c, &up); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = crm.FromMicros(c), crm.FromMicros(up)
	return &u, nil
}

// GetUser returns a user with roles and direct operations.
func (s *Store) GetUser(ctx context.Context, id string) (*access.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	if u.RoleIDs, err = s.strings(ctx, `SELECT role_id FROM user_roles WHERE user_id = $1 ORDER BY role_id`, id); err != nil {
		return nil, err
	}
	if u.Ops, err = s.strings(ctx, `SELECT operation FROM operation_grants WHERE grantee_kind = 'user' AND grantee_id = $1 ORDER BY operation`, id); err != nil {
		return nil, err
	}
	return u, nil
}

// ListUsers returns users ordered by name; q filters by name or email.
func (s *Store) ListUsers(ctx context.Context, q string) ([]*access.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	fq := crm.Fold(q)
	var out []*access.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		// Users are few; folding in Go keeps Cyrillic matching identical on
		// both databases.
		if fq == "" || strings.Contains(crm.Fold(u.Name+" "+u.Email), fq) {
			out = append(out, u)
		}
	}
	return out, rows.Err()
}

// CountUsers is used at first start to decide whether to create an admin.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// Authenticate checks an email and password and returns the active user.
// Every failure is access.ErrPassword; ErrUnknownUser and ErrInactive
// also say why.
func (s *Store) Authenticate(ctx context.Context, email, password string) (*access.User, error) {
	var id, hash string
	var active bool
	err := s.r.QueryRowContext(ctx, `SELECT id, password_hash, active FROM users WHERE email = $1`,
		strings.ToLower(strings.TrimSpace(email))).Scan(&id, &hash, &active)
	if errors.Is(err, sql.ErrNoRows) {
		// Spend the same time as a real check so response times do not tell
		// which emails exist.
		access.CheckPassword(dummyHash, password)
		return nil, access.ErrUnknownUser
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if err := access.CheckPassword(hash, password); err != nil {
		return nil, access.ErrPassword
	}
	if !active {
		return nil, access.ErrInactive
	}
	return s.GetUser(ctx, id)
}

var dummyHash, _ = access.HashPassword("dummy-password-for-timing")

// Viewer loads what a request needs to act as the user: operations from
// direct grants and from roles.
func (s *Store) Viewer(ctx context.Context, userID string) (access.Viewer, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT '', `+viewerColumns+viewerFrom+` WHERE u.id = $1 AND u.active`, userID)
	if err != nil {
		return access.Viewer{}, fmt.Errorf("read viewer: %w", err)
	}
	v, _, err := scanViewer(rows)
	return v, err
}

// viewerColumns and viewerFrom read an active user with every operation
// granted to them, directly or through a role, in one round trip (it runs
// on every request): one row per grant, or one with a NULL operation.
const (
	viewerColumns = `u.id, u.email, u.name, u.language, u.time_zone, g.operation`
	viewerFrom    = ` FROM users u LEFT JOIN operation_grants g ON (g.grantee_kind = 'user' AND g.grantee_id = u.id)
		OR (g.grantee_kind = 'role' AND g.grantee_id IN (SELECT role_id FROM user_roles WHERE user_id = u.id))`
)

// scanViewer reads viewerColumns' rows, each preceded by one more string
// column (the session's CSRF token, or empty). No row: ErrNotFound.
func scanViewer(rows *sql.Rows) (access.Viewer, string, error) {
	defer rows.Close()
	var v access.Viewer
	var extra string
	for rows.Next() {
		var op sql.NullString
		if err := rows.Scan(&extra, &v.UserID, &v.Email, &v.Name, &v.Lang, &v.TZ, &op); err != nil {
			return access.Viewer{}, "", fmt.Errorf("scan viewer: %w", err)
		}
		if v.Ops == nil {
			v.Ops = map[string]bool{}
		}
		if op.Valid {
			v.Ops[op.String] = true
		}
	}
	if err := rows.Err(); err != nil {
		return access.Viewer{}, "", fmt.Errorf("read viewer: %w", err)
	}
	if v.Ops == nil {
		return access.Viewer{}, "", ErrNotFound
	}
	return v, extra, nil
}

func (s *Store) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
