package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
)

// LoginThrottle is the failure count of one sign-in key (an account or a
// client address). The signin package decides what the numbers mean.
type LoginThrottle struct {
	Key          string
	Failures     int
	LastFailure  time.Time // zero: none
	BlockedUntil time.Time // zero: not blocked
}

// UpdateLoginThrottles passes the throttles of keys (a zero one for a key
// never seen) to fn and saves the ones fn returns, in one transaction that
// holds those rows against concurrent attempts: on PostgreSQL the upsert
// locks them, in key order so two attempts never deadlock; SQLite has one
// writer.
func (s *Store) UpdateLoginThrottles(ctx context.Context, keys []string, fn func([]LoginThrottle) []LoginThrottle) error {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	return s.tx(ctx, func(tx *sql.Tx) error {
		ts := make([]LoginThrottle, 0, len(keys))
		for _, k := range keys {
			var t LoginThrottle
			var last, until int64
			err := tx.QueryRowContext(ctx, `INSERT INTO login_throttles (throttle_key) VALUES ($1)
				ON CONFLICT (throttle_key) DO UPDATE SET failures = login_throttles.failures
				RETURNING throttle_key, failures, last_failure, blocked_until`, k).Scan(&t.Key, &t.Failures, &last, &until)
			if err != nil {
				return fmt.Errorf("lock login throttle: %w", err)
			}
			t.LastFailure, t.BlockedUntil = fromMicrosOrZero(last), fromMicrosOrZero(until)
			ts = append(ts, t)
		}
		for _, t := range fn(ts) {
			if _, err := tx.ExecContext(ctx, `UPDATE login_throttles SET failures = $2, last_failure = $3, blocked_until = $4
				WHERE throttle_key = $1`, t.Key, t.Failures, microsOrZero(t.LastFailure), microsOrZero(t.BlockedUntil)); err != nil {
				return fmt.Errorf("save login throttle: %w", err)
			}
		}
		return nil
	})
}

// SwapLoginThrottle replaces the throttle from with to unless the row has
// changed since it was from; it reports whether it did.
func (s *Store) SwapLoginThrottle(ctx context.Context, from, to LoginThrottle) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE login_throttles SET failures = $2, last_failure = $3, blocked_until = $4
		WHERE throttle_key = $1 AND failures = $5 AND last_failure = $6 AND blocked_until = $7`,
		from.Key, to.Failures, microsOrZero(to.LastFailure), microsOrZero(to.BlockedUntil),
		from.Failures, microsOrZero(from.LastFailure), microsOrZero(from.BlockedUntil))
	if err != nil {
		return false, fmt.Errorf("restore login throttle: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteLoginThrottle forgets the failures of a key.
func (s *Store) DeleteLoginThrottle(ctx context.Context, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM login_throttles WHERE throttle_key = $1`, key); err != nil {
		return fmt.Errorf("reset login throttle: %w", err)
	}
	return nil
}

// LoginFailure is one failed sign-in.
type LoginFailure struct {
	ID         int64
	At         time.Time
	Email      string // as typed, lower-cased
	ClientAddr string
	Reason     string
}

// AddLoginFailure records a failed sign-in.
func (s *Store) AddLoginFailure(ctx context.Context, f LoginFailure) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO login_failures (at, email, client_addr, reason) VALUES ($1, $2, $3, $4)`,
		crm.Micros(f.At), f.Email, f.ClientAddr, f.Reason); err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	return nil
}

// LoginFailureFilter selects failed sign-ins; empty fields match all.
type LoginFailureFilter struct {
	Email      string
	ClientAddr string
	Reason     string
	Page
}

// ListLoginFailures returns failed sign-ins, newest first.
func (s *Store) ListLoginFailures(ctx context.Context, f LoginFailureFilter) ([]LoginFailure, string, error) {
	cur, err := decodeCursor(f.Cursor, 1)
	if err != nil {
		return nil, "", err
	}
	qb := newQuery("1 = 1")
	if f.Email != "" {
		qb.add("email = $%d", f.Email)
	}
	if f.ClientAddr != "" {
		qb.add("client_addr = $%d", f.ClientAddr)
	}
	if f.Reason != "" {
		qb.add("reason = $%d", f.Reason)
	}
	if cur != nil {
		id, err := strconv.ParseInt(cur[0], 10, 64)
		if err != nil {
			return nil, "", ErrBadCursor
		}
		qb.add("id < $%d", id)
	}
	limit := f.limit()
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, email, client_addr, reason FROM login_failures WHERE `+qb.where()+
		` ORDER BY id DESC LIMIT `+qb.arg(limit+1), qb.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list login failures: %w", err)
	}
	defer rows.Close()
	var out []LoginFailure
	for rows.Next() {
		var lf LoginFailure
		var at int64
		if err := rows.Scan(&lf.ID, &at, &lf.Email, &lf.ClientAddr, &lf.Reason); err != nil {
			return nil, "", fmt.Errorf("list login failures: %w", err)
		}
		lf.At = crm.FromMicros(at)
		out = append(out, lf)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list login failures: %w", err)
	}
	var next string
	if len(out) > limit {
		out = out[:limit]
		next = encodeCursor(strconv.FormatInt(out[limit-1].ID, 10))
	}
	return out, next, nil
}

// PruneLogins deletes the failed sign-ins recorded before failedBefore, and
// the throttles with no failure since idleBefore that block nothing at now.
func (s *Store) PruneLogins(ctx context.Context, now, failedBefore, idleBefore time.Time) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM login_failures WHERE at < $1`, crm.Micros(failedBefore))
		if err != nil {
			return fmt.Errorf("prune login failures: %w", err)
		}
		n, _ = res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_throttles WHERE last_failure < $1 AND blocked_until <= $2`,
			crm.Micros(idleBefore), crm.Micros(now)); err != nil {
			return fmt.Errorf("prune login throttles: %w", err)
		}
		return nil
	})
	return n, err
}

func microsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return crm.Micros(t)
}

func fromMicrosOrZero(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return crm.FromMicros(us)
}
