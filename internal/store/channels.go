package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
)

// Channel is a push channel of a binding.
type Channel struct {
	ID         string
	BindingID  string
	ResourceID string
	TokenHash  string
	ExpiresAt  time.Time
	CreatedAt  time.Time
}

// SaveChannel records a new channel.
func (s *Store) SaveChannel(ctx context.Context, c *Channel) error {
	c.CreatedAt = crm.Now()
	_, err := s.w.ExecContext(ctx, `INSERT INTO sync_channels (id, binding_id, resource_id, token_hash, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, c.BindingID, c.ResourceID, c.TokenHash, crm.Micros(c.ExpiresAt), crm.Micros(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("save channel: %w", err)
	}
	return nil
}

const channelColumns = `id, binding_id, resource_id, token_hash, expires_at, created_at`

func scanChannel(row interface{ Scan(...any) error }) (*Channel, error) {
	var c Channel
	var exp, created int64
	if err := row.Scan(&c.ID, &c.BindingID, &c.ResourceID, &c.TokenHash, &exp, &created); err != nil {
		return nil, err
	}
	c.ExpiresAt, c.CreatedAt = crm.FromMicros(exp), crm.FromMicros(created)
	return &c, nil
}

// GetChannel returns a channel by id.
func (s *Store) GetChannel(ctx context.Context, id string) (*Channel, error) {
	c, err := scanChannel(s.r.QueryRowContext(ctx, `SELECT `+channelColumns+` FROM sync_channels WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get channel: %w", err)
	}
	return c, nil
}

// Channels returns a binding's channels, newest first.
func (s *Store) Channels(ctx context.Context, bindingID string) ([]*Channel, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+channelColumns+` FROM sync_channels WHERE binding_id = $1
		ORDER BY expires_at DESC`, bindingID)
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	defer rows.Close()
	var out []*Channel
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteChannel forgets a channel.
func (s *Store) DeleteChannel(ctx context.Context, id string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM sync_channels WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete channel: %w", err)
	}
	return nil
}

// SetChannelResource records what the remote answered to the watch.
func (s *Store) SetChannelResource(ctx context.Context, id, resourceID string, expires time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE sync_channels SET resource_id = $2, expires_at = $3 WHERE id = $1`,
		id, resourceID, crm.Micros(expires))
	if err != nil {
		return fmt.Errorf("set channel resource: %w", err)
	}
	return nil
}
