package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// txq is a write transaction as the package's helpers see it (a querier).
// Sync applies a whole page of remote items in one transaction, so the same
// few statements run thousands of times in it: on SQLite txq prepares each
// statement once per transaction (modernc re-parses an unprepared statement
// on every call). On PostgreSQL it passes through: pgx already caches
// prepared statements per connection, and an explicit prepare would cost a
// round trip to create and another to deallocate.
//
// It also remembers, for the transaction, the checks that passed (a user
// exists, a tag is visible to a viewer): inside one transaction only that
// transaction could change them, so a page of imports checks each once
// instead of once per record, and the access rules stay as they are.
type txq struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt // nil: no statement cache
	users map[string]bool      // users known to exist
	tags  map[string]bool      // viewer id + "\x00" + tag id known visible
}

// maxStmts bounds the statements one transaction keeps prepared; queries
// built with IN (…) lists of varying length beyond it run unprepared.
const maxStmts = 128

func newTxq(tx *sql.Tx, cache bool) *txq {
	q := &txq{tx: tx, users: map[string]bool{}, tags: map[string]bool{}}
	if cache {
		q.stmts = map[string]*sql.Stmt{}
	}
	return q
}

// stmt returns the prepared statement for query, or nil to run it as is.
func (q *txq) stmt(ctx context.Context, query string) *sql.Stmt {
	if q.stmts == nil {
		return nil
	}
	if st, ok := q.stmts[query]; ok {
		return st
	}
	if len(q.stmts) >= maxStmts {
		return nil
	}
	st, err := q.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil // running it unprepared reports the error
	}
	q.stmts[query] = st
	return st
}

func (q *txq) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.tx.ExecContext(ctx, query, args...)
}

func (q *txq) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.tx.QueryContext(ctx, query, args...)
}

func (q *txq) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.tx.QueryRowContext(ctx, query, args...)
}

// checked returns the transaction's memory of passed checks when q is a
// transaction (nil otherwise: every check runs).
func checked(q querier) *txq {
	t, _ := q.(*txq)
	return t
}

// Savepoint runs fn so that, when it fails, what it wrote is rolled back
// and the rest of the transaction stays: sync applies a page of items in
// one transaction and skips a bad item alone. The transaction goes on
// after a failed fn (on PostgreSQL too, where an error otherwise aborts
// it); fn's error is returned.
func (t *Tx) Savepoint(ctx context.Context, fn func() error) error {
	if _, err := t.q.ExecContext(ctx, `SAVEPOINT item`); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	mark := t.s.logs.mark(t.q.tx)
	if err := fn(); err != nil {
		// What it logged goes with it.
		t.s.logs.truncate(t.q.tx, mark)
		if _, rerr := t.q.ExecContext(ctx, `ROLLBACK TO SAVEPOINT item`); rerr != nil {
			return errors.Join(err, fmt.Errorf("rollback to savepoint: %w", rerr))
		}
		if _, rerr := t.q.ExecContext(ctx, `RELEASE SAVEPOINT item`); rerr != nil {
			return errors.Join(err, fmt.Errorf("release savepoint: %w", rerr))
		}
		return err
	}
	if _, err := t.q.ExecContext(ctx, `RELEASE SAVEPOINT item`); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// Reads is a Store whose reads run inside the transaction and so see its
// uncommitted writes (SQLite's read pool does not): for code that reads
// what the same transaction may have written, such as a second item of a
// page that matches a record the first one created. Only its read methods
// may be used: it has no connection of its own to write with (a write
// method panics), since on SQLite a second writer would wait for this
// transaction forever.
func (t *Tx) Reads() *Store {
	if t.reads == nil {
		t.reads = &Store{r: t.q, dialect: t.s.dialect, pool: t.s.pool, path: t.s.path}
	}
	return t.reads
}
