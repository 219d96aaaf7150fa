package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
)

// Subscription kinds: how a subscription's notifications arrive.
const (
	SubscriptionWebhook = "webhook" // the remote posts to a hook (Google channels, Graph subscriptions)
	SubscriptionStream  = "stream"  // a worker holds a connection open (IMAP IDLE)
)

// Subscription is a push subscription of a binding: the remote tells
// Tandem of changes in the binding's collection. A binding has one, or two
// while a renewal overlaps the old one.
type Subscription struct {
	ID         string // Tandem's id, which notifications carry
	BindingID  string
	Kind       string // SubscriptionWebhook or SubscriptionStream
	ResourceID string // the remote's id of what is watched
	SecretHash string // sha256 of the secret notifications carry
	ExpiresAt  time.Time
	CreatedAt  time.Time
}

// SaveSubscription records a new subscription.
func (s *Store) SaveSubscription(ctx context.Context, c *Subscription) error {
	c.CreatedAt = crm.Now()
	if c.Kind == "" {
		c.Kind = SubscriptionWebhook
	}
	var exp int64
	if !c.ExpiresAt.IsZero() {
		exp = crm.Micros(c.ExpiresAt)
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO sync_subscriptions (id, binding_id, kind, resource_id, secret_hash,
		expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		c.ID, c.BindingID, c.Kind, c.ResourceID, c.SecretHash, exp, crm.Micros(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("save subscription: %w", err)
	}
	return nil
}

const subscriptionColumns = `id, binding_id, kind, resource_id, secret_hash, expires_at, created_at`

func scanSubscription(row interface{ Scan(...any) error }) (*Subscription, error) {
	var c Subscription
	var exp, created int64
	if err := row.Scan(&c.ID, &c.BindingID, &c.Kind, &c.ResourceID, &c.SecretHash, &exp, &created); err != nil {
		return nil, err
	}
	if exp > 0 {
		c.ExpiresAt = crm.FromMicros(exp)
	}
	c.CreatedAt = crm.FromMicros(created)
	return &c, nil
}

// GetSubscription returns a subscription by id.
func (s *Store) GetSubscription(ctx context.Context, id string) (*Subscription, error) {
	c, err := scanSubscription(s.r.QueryRowContext(ctx, `SELECT `+subscriptionColumns+` FROM sync_subscriptions WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get subscription: %w", err)
	}
	return c, nil
}

// Subscriptions returns a binding's subscriptions, the one that lasts
// longest first (no expiry before any expiry).
func (s *Store) Subscriptions(ctx context.Context, bindingID string) ([]*Subscription, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+subscriptionColumns+` FROM sync_subscriptions WHERE binding_id = $1
		ORDER BY CASE WHEN expires_at = 0 THEN 0 ELSE 1 END, expires_at DESC`, bindingID)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	defer rows.Close()
	var out []*Subscription
	for rows.Next() {
		c, err := scanSubscription(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteSubscription forgets a subscription.
func (s *Store) DeleteSubscription(ctx context.Context, id string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM sync_subscriptions WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete subscription: %w", err)
	}
	return nil
}

// SetSubscriptionResource records what the remote answered to the
// subscription (zero expires: no expiry).
func (s *Store) SetSubscriptionResource(ctx context.Context, id, resourceID string, expires time.Time) error {
	var exp int64
	if !expires.IsZero() {
		exp = crm.Micros(expires)
	}
	_, err := s.w.ExecContext(ctx, `UPDATE sync_subscriptions SET resource_id = $2, expires_at = $3 WHERE id = $1`,
		id, resourceID, exp)
	if err != nil {
		return fmt.Errorf("set subscription resource: %w", err)
	}
	return nil
}
