package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

func validateRole(r *access.Role) error {
	fe := crm.FieldErrors{}
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" {
		fe.Add("name", crm.ErrRequired)
	} else if n := crm.MaxLen(crm.KindRole, "name"); len([]rune(r.Name)) > n {
		fe.Add("name", crm.TooLong(n))
	}
	if n := crm.MaxLen(crm.KindRole, "description"); len([]rune(r.Description)) > n {
		fe.Add("description", crm.TooLong(n))
	}
	for _, op := range r.Ops {
		if !access.KnownOperation(op) {
			fe.Add("operations", crm.ErrUnknownEnum)
		}
	}
	return fe.Err()
}

// SaveRole creates (empty ID) or updates a role and its operations.
func (s *Store) SaveRole(ctx context.Context, r *access.Role) error {
	if err := validateRole(r); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if r.ID == "" {
			r.ID = newID()
			r.CreatedAt = crm.Now()
			_, err = tx.ExecContext(ctx, `INSERT INTO roles (id, name, description, created_at) VALUES ($1, $2, $3, $4)`,
				r.ID, r.Name, r.Description, crm.Micros(r.CreatedAt))
		} else {
			var res sql.Result
			res, err = tx.ExecContext(ctx, `UPDATE roles SET name = $2, description = $3 WHERE id = $1`, r.ID, r.Name, r.Description)
			if err == nil {
				if n, _ := res.RowsAffected(); n == 0 {
					return ErrNotFound
				}
			}
		}
		if s.dialect.isUnique(err) {
			return &crm.ValidationError{Fields: crm.FieldErrors{"name": "error.duplicate"}}
		}
		if err != nil {
			return fmt.Errorf("save role: %w", err)
		}
		if r.Ops != nil {
			return setGrants(ctx, tx, "role", r.ID, r.Ops)
		}
		return nil
	})
}

// DeleteRole removes a role, its memberships, grants and record access.
func (s *Store) DeleteRole(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM roles WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete role: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM operation_grants WHERE grantee_kind = 'role' AND grantee_id = $1`, id)
		return err
	})
}

// GetRole returns one role with its operations and member count.
func (s *Store) GetRole(ctx context.Context, id string) (*access.Role, error) {
	roles, err := s.listRoles(ctx, "WHERE r.id = $1", id)
	if err != nil {
		return nil, err
	}
	if len(roles) == 0 {
		return nil, ErrNotFound
	}
	return roles[0], nil
}

// ListRoles returns all roles by name.
func (s *Store) ListRoles(ctx context.Context) ([]*access.Role, error) { return s.listRoles(ctx, "") }

func (s *Store) listRoles(ctx context.Context, where string, args ...any) ([]*access.Role, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT r.id, r.name, r.description, r.created_at,
		(SELECT COUNT(*) FROM user_roles ur WHERE ur.role_id = r.id) FROM roles r `+where+` ORDER BY r.name`, args...)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	var out []*access.Role
	for rows.Next() {
		var r access.Role
		var c int64
		if err := rows.Scan(&r.ID, &r.Name, &r.Description, &c, &r.MemberCount); err != nil {
			rows.Close()
			return nil, err
		}
		r.CreatedAt = crm.FromMicros(c)
		out = append(out, &r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, r := range out {
		if r.Ops, err = s.strings(ctx, `SELECT operation FROM operation_grants WHERE grantee_kind = 'role' AND grantee_id = $1
			ORDER BY operation`, r.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Session is a logged-in browser.
type Session struct {
	UserID string
	CSRF   string
}

// CreateSession stores a new session and returns the cookie value.
func (s *Store) CreateSession(ctx context.Context, userID string, ttlMicros int64) (token string, sess Session, err error) {
	token = access.NewToken("")
	sess = Session{UserID: userID, CSRF: access.NewToken("")}
	now := crm.Micros(crm.Now())
	_, err = s.w.ExecContext(ctx, `INSERT INTO sessions (id, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		access.HashToken(token), userID, sess.CSRF, now, now+ttlMicros)
	if err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	return token, sess, nil
}

// SessionViewer returns a live session by cookie value with its user as a
// viewer, in one round trip; ErrNotFound when the session is unknown or
// expired or its user inactive.
func (s *Store) SessionViewer(ctx context.Context, token string) (access.Viewer, Session, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT s.csrf_token, `+viewerColumns+viewerFrom+`
		JOIN sessions s ON s.user_id = u.id WHERE s.id = $1 AND s.expires_at > $2 AND u.active`,
		access.HashToken(token), crm.Micros(crm.Now()))
	if err != nil {
		return access.Viewer{}, Session{}, fmt.Errorf("read session: %w", err)
	}
	v, csrf, err := scanViewer(rows)
	if err != nil {
		return access.Viewer{}, Session{}, err
	}
	return v, Session{UserID: v.UserID, CSRF: csrf}, nil
}

// DeleteSession logs a browser out; expired sessions go at the same time.
func (s *Store) DeleteSession(ctx context.Context, token string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE id = $1 OR expires_at < $2`, access.HashToken(token), crm.Micros(crm.Now()))
	return err
}

// CreateAPIToken stores a token and returns its secret, shown once.
func (s *Store) CreateAPIToken(ctx context.Context, userID, name string, expiresMicros int64) (string, *access.APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "API"
	}
	if n := crm.MaxLen(crm.KindToken, "name"); len([]rune(name)) > n {
		return "", nil, &crm.ValidationError{Fields: crm.FieldErrors{"name": crm.TooLong(n)}}
	}
	secret := access.NewToken("tnd_")
	t := &access.APIToken{ID: newID(), UserID: userID, Name: name, CreatedAt: crm.Now()}
	if expiresMicros > 0 {
		t.ExpiresAt = crm.FromMicros(expiresMicros)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO api_tokens (id, user_id, name, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, t.ID, userID, name, access.HashToken(secret), crm.Micros(t.CreatedAt), expiresMicros)
	if err != nil {
		return "", nil, fmt.Errorf("create token: %w", err)
	}
	return secret, t, nil
}

// APITokenUser resolves a bearer token to its user id.
func (s *Store) APITokenUser(ctx context.Context, secret string) (string, error) {
	var id, userID string
	var expires int64
	err := s.r.QueryRowContext(ctx, `SELECT id, user_id, expires_at FROM api_tokens WHERE token_hash = $1`,
		access.HashToken(secret)).Scan(&id, &userID, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("check token: %w", err)
	}
	now := crm.Micros(crm.Now())
	if expires > 0 && expires < now {
		return "", ErrNotFound
	}
	// Best effort: a busy writer must not fail the request.
	s.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND last_used_at < $3`, id, now, now-60_000_000)
	return userID, nil
}

// ListAPITokens returns a user's tokens (without secrets).
func (s *Store) ListAPITokens(ctx context.Context, userID string) ([]access.APIToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, user_id, name, created_at, last_used_at, expires_at FROM api_tokens
		WHERE user_id = $1 ORDER BY created_at DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []access.APIToken
	for rows.Next() {
		var t access.APIToken
		var c, l, e int64
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &c, &l, &e); err != nil {
			return nil, err
		}
		t.CreatedAt = crm.FromMicros(c)
		if l > 0 {
			t.LastUsedAt = crm.FromMicros(l)
		}
		if e > 0 {
			t.ExpiresAt = crm.FromMicros(e)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteAPIToken revokes one of the user's tokens.
func (s *Store) DeleteAPIToken(ctx context.Context, userID, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// CleanupSessions deletes expired sessions and returns how many went.
func (s *Store) CleanupSessions(ctx context.Context) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1`, crm.Micros(crm.Now()))
	if err != nil {
		return 0, fmt.Errorf("cleanup sessions: %w", err)
	}
	return res.RowsAffected()
}
