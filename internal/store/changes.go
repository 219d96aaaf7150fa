package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
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

// The change log's order is commit order: a reader that has seen seq N
// never misses a smaller seq committed later. On PostgreSQL that takes a
// lock held from the moment a seq is drawn until commit, so transactions
// that log changes commit one at a time. Held from the first logged
// change, it made every record-writing transaction wait for the whole of
// the one before it (a chat message that creates its customer's contact
// held it through five more statements, and under load webhook handlers
// queued on it for seconds). So a transaction's entries wait in memory
// and are appended as its last statement, the lock taken by that same
// statement: it is held for one statement and the commit.

// pendingChange is a change-log entry waiting for its transaction's commit.
type pendingChange struct {
	entity, id, op, origin, actor string
	at                            int64
}

// txLogs holds, per open write transaction, the change-log entries it
// will append just before it commits.
type txLogs struct {
	mu sync.Mutex
	m  map[*sql.Tx][]pendingChange
}

func (l *txLogs) open(tx *sql.Tx) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[*sql.Tx][]pendingChange{}
	}
	l.m[tx] = nil
}

// take ends tx's buffer and returns what it held.
func (l *txLogs) take(tx *sql.Tx) []pendingChange {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.m[tx]
	delete(l.m, tx)
	return p
}

// add buffers entries for tx; false when tx is not one the store opened.
func (l *txLogs) add(tx *sql.Tx, p ...pendingChange) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	buf, ok := l.m[tx]
	if !ok {
		return false
	}
	l.m[tx] = append(buf, p...)
	return true
}

// mark returns how many entries tx holds, for truncate.
func (l *txLogs) mark(tx *sql.Tx) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m[tx])
}

// truncate drops what tx logged after mark: a rolled-back savepoint's.
func (l *txLogs) truncate(tx *sql.Tx, mark int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if buf, ok := l.m[tx]; ok && len(buf) > mark {
		l.m[tx] = buf[:mark]
	}
}

// sqlTx is the transaction under q, nil when q is not one.
func sqlTx(q querier) *sql.Tx {
	switch t := q.(type) {
	case *sql.Tx:
		return t
	case *txq:
		return t.tx
	}
	return nil
}

// logChange records a change to append to the change log when the
// writing transaction commits.
func (s *Store) logChange(ctx context.Context, tx querier, entity, id, op, actor string) error {
	return s.logChanges(ctx, tx, entity, []string{id}, op, actor)
}

// logChanges is logChange for many records; the entries take the order of
// ids.
func (s *Store) logChanges(ctx context.Context, tx querier, entity string, ids []string, op, actor string) error {
	if len(ids) == 0 {
		return nil
	}
	origin, at := OriginOf(ctx), crm.Micros(crm.Now())
	p := make([]pendingChange, len(ids))
	for i, id := range ids {
		p[i] = pendingChange{entity: entity, id: id, op: op, origin: origin, actor: actor, at: at}
	}
	if t := sqlTx(tx); t != nil && s.logs.add(t, p...) {
		return nil
	}
	return s.appendChanges(ctx, tx, p) // not a transaction of Store.tx
}

// appendChanges writes entries to the change log, under the lock on
// PostgreSQL (taken in the same statement, so the seqs are drawn under it).
func (s *Store) appendChanges(ctx context.Context, q querier, p []pendingChange) error {
	const width = 6
	for len(p) > 0 {
		n := min(len(p), bulkRows)
		args := make([]any, 0, n*width+1)
		for _, c := range p[:n] {
			args = append(args, c.entity, c.id, c.op, c.origin, c.actor, c.at)
		}
		var query string
		if s.Postgres() {
			args = append(args, lockKeyChanges)
			// Each row joins the lock's one row, so the lock is taken
			// before any row (and its seq) reaches the INSERT.
			query = `WITH l AS (SELECT pg_advisory_xact_lock($` + strconv.Itoa(n*width+1) + `))
				INSERT INTO changes (entity, entity_id, op, origin, actor_id, at)
				SELECT v.entity, v.entity_id, v.op, v.origin, v.actor_id, v.at FROM (VALUES ` + typedValues(n) + `)
				AS v(entity, entity_id, op, origin, actor_id, at) CROSS JOIN l`
		} else {
			query = `INSERT INTO changes (entity, entity_id, op, origin, actor_id, at) VALUES ` + valuesList(true, width, n)
		}
		if _, err := q.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("append change log: %w", err)
		}
		p = p[n:]
	}
	return nil
}

// typedValues renders n rows of change-log values with their types
// ($N in a VALUES list is otherwise text).
func typedValues(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		k := i * 6
		fmt.Fprintf(&b, "($%d::text,$%d::text,$%d::text,$%d::text,$%d::text,$%d::bigint)", k+1, k+2, k+3, k+4, k+5, k+6)
	}
	return b.String()
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
