package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
)

// Entities recorded in the change log.
const (
	EntityContact  = "contact"
	EntityAccount  = "account"
	EntityActivity = "activity"
	EntityCase     = "case"
)

// entityTables maps the record entities to their tables.
var entityTables = map[string]string{EntityContact: "contacts", EntityAccount: "accounts", EntityActivity: "activities",
	EntityCase: "cases"}

// Change is one change-log entry.
type Change struct {
	Seq      int64
	Entity   string
	EntityID string
	Op       string
	Origin   string
	ActorID  string
	At       time.Time
}

type originKey struct{}

// WithOrigin marks writes made with ctx as coming from origin ("api", "ui",
// or a sync binding such as "sync:<id>"), so sync can skip its own echoes.
func WithOrigin(ctx context.Context, origin string) context.Context {
	return context.WithValue(ctx, originKey{}, origin)
}

// OriginOf returns the origin set by WithOrigin, or "app".
func OriginOf(ctx context.Context) string {
	if o, ok := ctx.Value(originKey{}).(string); ok && o != "" {
		return o
	}
	return "app"
}

// logChange appends to the change log inside the writing transaction.
func (s *Store) logChange(ctx context.Context, tx querier, entity, id, op, actor string) error {
	if err := s.lockChangeLog(ctx, tx); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO changes (entity, entity_id, op, origin, actor_id, at)
		VALUES ($1, $2, $3, $4, $5, $6)`, entity, id, op, OriginOf(ctx), actor, crm.Micros(crm.Now()))
	if err != nil {
		return fmt.Errorf("append change log: %w", err)
	}
	return nil
}

// lockChangeLog takes the change-log lock, held until commit: a
// transaction takes it once.
func (s *Store) lockChangeLog(ctx context.Context, tx querier) error {
	known := checked(tx)
	if known != nil && known.changesLocked {
		return nil
	}
	if err := s.dialect.lockChanges(ctx, tx); err != nil {
		return fmt.Errorf("lock change log: %w", err)
	}
	if known != nil {
		known.changesLocked = true
	}
	return nil
}

// logChanges is logChange for many records, in multi-row statements; the
// entries take the order of ids.
func (s *Store) logChanges(ctx context.Context, tx querier, entity string, ids []string, op, actor string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.lockChangeLog(ctx, tx); err != nil {
		return err
	}
	origin := OriginOf(ctx)
	args := make([]any, 0, len(ids)*6)
	for _, id := range ids {
		args = append(args, entity, id, op, origin, actor, crm.Micros(crm.Now()))
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO changes (entity, entity_id, op, origin, actor_id, at)`, 6, args); err != nil {
		return fmt.Errorf("append change log: %w", err)
	}
	return nil
}

// SeqBefore is the change-log position just before the first change made
// at or after t: reading from it sees every change since t.
func (s *Store) SeqBefore(ctx context.Context, t time.Time) (int64, error) {
	var seq int64
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MIN(seq), 0) FROM changes WHERE at >= $1`, crm.Micros(t)).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("change log position: %w", err)
	}
	if seq == 0 { // nothing since t: the end of the log
		err = s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM changes`).Scan(&seq)
		if err != nil {
			return 0, fmt.Errorf("change log position: %w", err)
		}
		return seq, nil
	}
	return seq - 1, nil
}

// Changes returns up to limit entries with seq > since, oldest first.
// An empty entity means all entities.
func (s *Store) Changes(ctx context.Context, since int64, entity string, limit int) ([]Change, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, entity, entity_id, op, origin, actor_id, at FROM changes
		WHERE seq > $1 AND ($2 = '' OR entity = $2) ORDER BY seq LIMIT $3`, since, entity, limit)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var at int64
		if err := rows.Scan(&c.Seq, &c.Entity, &c.EntityID, &c.Op, &c.Origin, &c.ActorID, &at); err != nil {
			return nil, err
		}
		c.At = crm.FromMicros(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// LastChange is the newest sequence number (0 when empty).
func (s *Store) LastChange(ctx context.Context) (int64, error) {
	var v sql.NullInt64
	err := s.r.QueryRowContext(ctx, "SELECT MAX(seq) FROM changes").Scan(&v)
	return v.Int64, err
}

// ChangedAmong reports which of ids have a change-log entry of entity with
// since < seq <= upto whose origin is not origin (the asking binding's own
// writes are not its to push): one index look-up per id, one query per
// 1,000 ids, however long the log is between since and upto.
func (s *Store) ChangedAmong(ctx context.Context, entity string, since, upto int64, origin string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if !s.Postgres() {
		err := inChunks(ids, func(ids []string) error {
			// "?", not "$N": SQLite looks each "$N" up among the
			// parameters before it, quadratic in their number. Without
			// statistics SQLite picks changes(entity, seq) and walks every
			// entry between the bounds once per chunk (9 s of a 100k
			// first export); each id's own entries are a few index steps.
			rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT entity_id FROM changes INDEXED BY changes_record WHERE entity_id IN (`+
				strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",")+`) AND seq > ? AND seq <= ? AND entity = ? AND origin <> ?`,
				append(anySlice(ids), since, upto, entity, origin)...)
			if err != nil {
				return fmt.Errorf("changed records: %w", err)
			}
			return collectIDs(rows, out)
		})
		return out, err
	}
	// PostgreSQL: a cached generic plan of this statement, made without the
	// values, walked the log by seq between the bounds (5 s a chunk at
	// 200k entries, a first export of 100k contacts taking minutes);
	// planned for the values at hand it looks each id up in
	// changes(entity_id, seq). SET LOCAL needs a transaction (on PostgreSQL
	// reads and writes share the pool).
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
			return fmt.Errorf("changed records: %w", err)
		}
		return inChunks(ids, func(ids []string) error {
			rows, err := tx.QueryContext(ctx, `SELECT DISTINCT entity_id FROM changes WHERE entity_id = ANY($5)
				AND seq > $1 AND seq <= $2 AND entity = $3 AND origin <> $4`, since, upto, entity, origin, ids)
			if err != nil {
				return fmt.Errorf("changed records: %w", err)
			}
			return collectIDs(rows, out)
		})
	})
	return out, err
}
