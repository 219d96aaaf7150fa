package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
)

// ConnectionStatus is a connection's health (ARCHITECTURE: connection
// health). A status other than active comes with a reason a person can
// read.
type ConnectionStatus string

// Connection statuses.
const (
	ConnectionActive      ConnectionStatus = "active"
	ConnectionNeedsReauth ConnectionStatus = "needs_reauth" // the provider refused the grant (invalid_grant): sign in again
	ConnectionDegraded    ConnectionStatus = "degraded"     // retrying after errors
	ConnectionFailed      ConnectionStatus = "failed"
)

// ConnectionStatuses lists every status, for gauges and validation.
var ConnectionStatuses = []ConnectionStatus{ConnectionActive, ConnectionNeedsReauth, ConnectionDegraded, ConnectionFailed}

// ParseConnectionStatus decodes a stored or submitted status.
func ParseConnectionStatus(s string) (ConnectionStatus, error) {
	if st := ConnectionStatus(s); slices.Contains(ConnectionStatuses, st) {
		return st, nil
	}
	return "", fmt.Errorf("connection status %q unknown", s)
}

// Connection is a user's link to an external account, as listed on the
// profile's "External accounts" page. Its credentials are not part of it:
// they are read with ConnectionCredentials, sealed.
type Connection struct {
	ID           string
	UserID       string
	Provider     string
	AccountEmail string
	DisplayName  string
	Status       ConnectionStatus
	StatusReason string
	Scopes       string // granted scopes, space-separated
	Config       string // JSON
	LastSyncAt   int64
	CreatedAt    int64
	UpdatedAt    int64
}

const connectionCols = `id, user_id, provider, account_email, display_name, status, status_reason, scopes, config,
	last_sync_at, created_at, updated_at`

func scanConnection(row interface{ Scan(...any) error }) (*Connection, error) {
	var c Connection
	var status string
	err := row.Scan(&c.ID, &c.UserID, &c.Provider, &c.AccountEmail, &c.DisplayName, &status, &c.StatusReason, &c.Scopes,
		&c.Config, &c.LastSyncAt, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if c.Status, err = ParseConnectionStatus(status); err != nil {
		return nil, fmt.Errorf("connection %s: %w", c.ID, err)
	}
	return &c, nil
}

// normalizeConnection fills defaults and folds the address, so one account
// is one connection whatever case the provider reports it in.
func normalizeConnection(c *Connection) error {
	c.AccountEmail = strings.ToLower(strings.TrimSpace(c.AccountEmail))
	if c.Status == "" {
		c.Status = ConnectionActive
	}
	if c.Config == "" {
		c.Config = "{}"
	}
	if c.UserID == "" || c.Provider == "" || !slices.Contains(ConnectionStatuses, c.Status) {
		return fmt.Errorf("connection: user, provider and a known status are required")
	}
	return nil
}

// CreateConnection stores a new connection with its sealed credentials.
// c.ID may be chosen by the caller (the credentials' associated data names
// it); it is generated when empty. ErrDuplicate: the user already has a
// connection to that account.
func (s *Store) CreateConnection(ctx context.Context, c *Connection, credentials string) error {
	if err := normalizeConnection(c); err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = newID()
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertConnection(ctx, tx, c, credentials) })
}

func (s *Store) insertConnection(ctx context.Context, tx *sql.Tx, c *Connection, credentials string) error {
	now := crm.Micros(crm.Now())
	c.CreatedAt, c.UpdatedAt = now, now
	_, err := tx.ExecContext(ctx, `INSERT INTO connections (id, user_id, provider, account_email, display_name, status,
		status_reason, scopes, credentials, config, last_sync_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.ID, c.UserID, c.Provider, c.AccountEmail, c.DisplayName, c.Status, c.StatusReason, c.Scopes, credentials, c.Config,
		c.LastSyncAt, now, now)
	if s.dialect.isUnique(err) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("create connection: %w", err)
	}
	return nil
}

// UpsertConnection connects an account after a successful authorization:
// the user's existing connection to (provider, account) gets the new
// credentials, display name and scopes and turns active again; otherwise a
// new one is created. seal is called with the connection's id (existing or
// new) and returns the sealed credentials, so they are bound to that id.
// On return c holds the stored connection.
func (s *Store) UpsertConnection(ctx context.Context, c *Connection, seal func(id string) string) (created bool, err error) {
	c.Status, c.StatusReason = ConnectionActive, ""
	if err := normalizeConnection(c); err != nil {
		return false, err
	}
	for attempt := 0; ; attempt++ {
		err = s.tx(ctx, func(tx *sql.Tx) error {
			old, err := scanConnection(tx.QueryRowContext(ctx, `SELECT `+connectionCols+` FROM connections
				WHERE user_id = $1 AND provider = $2 AND account_email = $3`, c.UserID, c.Provider, c.AccountEmail))
			if errors.Is(err, ErrNotFound) {
				if c.ID == "" {
					c.ID = newID()
				}
				created = true
				return s.insertConnection(ctx, tx, c, seal(c.ID))
			}
			if err != nil {
				return fmt.Errorf("upsert connection: %w", err)
			}
			created = false
			now := crm.Micros(crm.Now())
			if c.DisplayName == "" {
				c.DisplayName = old.DisplayName
			}
			_, err = tx.ExecContext(ctx, `UPDATE connections SET display_name = $1, status = $2, status_reason = '', scopes = $3,
				credentials = $4, updated_at = $5 WHERE id = $6`, c.DisplayName, ConnectionActive, c.Scopes, seal(old.ID), now, old.ID)
			if err != nil {
				return fmt.Errorf("upsert connection: %w", err)
			}
			c.ID, c.Config, c.LastSyncAt, c.CreatedAt, c.UpdatedAt = old.ID, old.Config, old.LastSyncAt, old.CreatedAt, now
			return nil
		})
		// Two callbacks for the same new account at once: the loser finds
		// the winner's row on the second pass.
		if errors.Is(err, ErrDuplicate) && attempt == 0 {
			c.ID = ""
			continue
		}
		return created, err
	}
}

// GetConnection returns any connection by id, for the sync engine and the
// token source; pages use GetUserConnection.
func (s *Store) GetConnection(ctx context.Context, id string) (*Connection, error) {
	c, err := scanConnection(s.r.QueryRowContext(ctx, `SELECT `+connectionCols+` FROM connections WHERE id = $1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("get connection: %w", err)
	}
	return c, err
}

// GetUserConnection returns one of a user's connections; another user's is
// ErrNotFound.
func (s *Store) GetUserConnection(ctx context.Context, userID, id string) (*Connection, error) {
	c, err := scanConnection(s.r.QueryRowContext(ctx, `SELECT `+connectionCols+` FROM connections WHERE id = $1 AND user_id = $2`,
		id, userID))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("get connection: %w", err)
	}
	return c, err
}

// ListConnections returns a user's connections, oldest first.
func (s *Store) ListConnections(ctx context.Context, userID string) ([]Connection, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+connectionCols+` FROM connections WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	defer rows.Close()
	out := []Connection{}
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// ConnectionCredentials returns a connection's credentials as stored
// (sealed by package secret; "" when it has none).
func (s *Store) ConnectionCredentials(ctx context.Context, id string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT credentials FROM connections WHERE id = $1`, id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("connection credentials: %w", err)
	}
	return v, nil
}

// SaveConnectionCredentials replaces a connection's sealed credentials.
// With ifCurrent set, only when they still equal it (what the caller read):
// false means someone stored others in the meantime (a reconnect, another
// process's refresh) and nothing was written.
func (s *Store) SaveConnectionCredentials(ctx context.Context, id, sealed, ifCurrent string) (bool, error) {
	q := `UPDATE connections SET credentials = $1, updated_at = $2 WHERE id = $3`
	args := []any{sealed, crm.Micros(crm.Now()), id}
	if ifCurrent != "" {
		q += ` AND credentials = $4`
		args = append(args, ifCurrent)
	}
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("save credentials: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 0 && ifCurrent == "" {
		return false, ErrNotFound
	}
	return n > 0, nil
}

// UpdateConnectionAccount stores a connection's account settings (config)
// after the user verified them again, with new sealed credentials unless
// sealed is "", and turns it active: whatever made it fail was just fixed.
func (s *Store) UpdateConnectionAccount(ctx context.Context, id, config, sealed string) error {
	q := `UPDATE connections SET config = $1, status = $2, status_reason = '', updated_at = $3`
	args := []any{config, ConnectionActive, crm.Micros(crm.Now()), id}
	if sealed != "" {
		q += `, credentials = $5`
		args = append(args, sealed)
	}
	res, err := s.w.ExecContext(ctx, q+` WHERE id = $4`, args...)
	if err != nil {
		return fmt.Errorf("update connection: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// UpdateConnectionStatus sets a connection's health and its reason.
func (s *Store) UpdateConnectionStatus(ctx context.Context, id string, status ConnectionStatus, reason string) error {
	_, err := s.setConnectionStatus(ctx, id, status, reason, "")
	return err
}

// MarkConnectionNeedsReauth turns a connection needs_reauth unless its
// credentials changed since the caller read them (sealedSeen): a refresh
// that failed with an old grant must not undo a reconnect made meanwhile.
// It reports whether the status was set.
func (s *Store) MarkConnectionNeedsReauth(ctx context.Context, id, sealedSeen, reason string) (bool, error) {
	return s.setConnectionStatus(ctx, id, ConnectionNeedsReauth, reason, sealedSeen)
}

func (s *Store) setConnectionStatus(ctx context.Context, id string, status ConnectionStatus, reason, ifCredentials string) (bool, error) {
	if !slices.Contains(ConnectionStatuses, status) {
		return false, fmt.Errorf("connection status %q unknown", status)
	}
	if status == ConnectionActive {
		reason = ""
	}
	if r := []rune(reason); len(r) > 500 {
		reason = string(r[:500])
	}
	q := `UPDATE connections SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4`
	args := []any{status, reason, crm.Micros(crm.Now()), id}
	if ifCredentials != "" {
		q += ` AND credentials = $5`
		args = append(args, ifCredentials)
	}
	res, err := s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("connection status: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if n == 0 && ifCredentials == "" {
		return false, ErrNotFound
	}
	return n > 0, nil
}

// SetConnectionLastSync records when a sync run of the connection finished.
func (s *Store) SetConnectionLastSync(ctx context.Context, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE connections SET last_sync_at = $1 WHERE id = $2`, crm.Micros(at), id)
	if err != nil {
		return fmt.Errorf("connection last sync: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteConnection removes one of a user's connections and, by the foreign
// keys' ON DELETE CASCADE, its sync bindings and their links. CRM records
// are never touched. Another user's connection is ErrNotFound.
func (s *Store) DeleteConnection(ctx context.Context, userID, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM connections WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return fmt.Errorf("delete connection: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// OAuthState is an authorization request in flight (package oauth).
type OAuthState struct {
	StateHash   string // SHA-256 of the state parameter
	UserID      string
	SessionHash string // binds it to the browser session that started it
	Provider    string
	Verifier    string // the PKCE verifier, sealed
	RedirectURI string
	LoginHint   string
	// Target is the connection provider the tokens are for when it is not
	// Provider's own ("imap" for a mailbox); TargetData is what the target
	// needs back at the callback.
	Target     string
	TargetData string
	CreatedAt  int64
	ExpiresAt  int64
}

// CreateOAuthState stores an authorization request; expired ones go at
// the same time.
func (s *Store) CreateOAuthState(ctx context.Context, st *OAuthState) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := crm.Micros(crm.Now())
		if _, err := tx.ExecContext(ctx, `DELETE FROM oauth_states WHERE expires_at < $1`, now); err != nil {
			return fmt.Errorf("purge oauth states: %w", err)
		}
		st.CreatedAt = now
		_, err := tx.ExecContext(ctx, `INSERT INTO oauth_states (state_hash, user_id, session_hash, provider, verifier,
			redirect_uri, login_hint, target, target_data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			st.StateHash, st.UserID, st.SessionHash, st.Provider, st.Verifier, st.RedirectURI, st.LoginHint, st.Target, st.TargetData,
			now, st.ExpiresAt)
		if err != nil {
			return fmt.Errorf("create oauth state: %w", err)
		}
		return nil
	})
}

// TakeOAuthState removes and returns an authorization request, so a state
// is used once. An unknown or expired one is ErrNotFound.
func (s *Store) TakeOAuthState(ctx context.Context, stateHash string) (*OAuthState, error) {
	var st OAuthState
	err := s.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT state_hash, user_id, session_hash, provider, verifier, redirect_uri, login_hint,
			target, target_data, created_at, expires_at FROM oauth_states WHERE state_hash = $1`, stateHash).Scan(&st.StateHash,
			&st.UserID, &st.SessionHash, &st.Provider, &st.Verifier, &st.RedirectURI, &st.LoginHint, &st.Target, &st.TargetData,
			&st.CreatedAt, &st.ExpiresAt)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("take oauth state: %w", err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM oauth_states WHERE state_hash = $1`, stateHash)
		return err
	})
	if err != nil {
		return nil, err
	}
	if st.ExpiresAt < crm.Micros(crm.Now()) {
		return nil, ErrNotFound
	}
	return &st, nil
}
