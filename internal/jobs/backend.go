package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// Backend is the database the queue lives in. Build it with SQLite or
// Postgres; the zero value is not usable.
type Backend struct {
	sqlite *sql.DB
	pg     *pgxpool.Pool
}

// SQLite returns a backend on an SQLite database opened with
// modernc.org/sqlite.
//
// River runs several operations concurrently, and SQLite allows one writer at
// a time, so db must be limited to one connection (db.SetMaxOpenConns(1)):
// with more, River's own statements fail with SQLITE_BUSY. New and Migrate
// refuse any other pool. Open the file in WAL mode with a busy timeout and
// immediate transactions, so that other connections to the same file (the
// store's) wait for the write lock instead of failing, for example:
//
//	file:/var/lib/tandem/tandem.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate
//
// The caller owns db and closes it after the queue has stopped.
func SQLite(db *sql.DB) Backend { return Backend{sqlite: db} }

// Postgres returns a backend on a PostgreSQL pool. River keeps one connection
// for LISTEN and uses the others for fetching and completing jobs, and Migrate
// holds one for its lock while migrating on another, so the pool needs at
// least two. The caller owns pool and closes it after the queue has
// stopped.
func Postgres(pool *pgxpool.Pool) Backend { return Backend{pg: pool} }

// String names the database, for logs.
func (b Backend) String() string {
	switch {
	case b.sqlite != nil:
		return "sqlite"
	case b.pg != nil:
		return "postgres"
	default:
		return "none"
	}
}

func (b Backend) check() error {
	switch {
	case b.sqlite != nil:
		if n := b.sqlite.Stats().MaxOpenConnections; n != 1 {
			return fmt.Errorf("sqlite pool allows %d open connections; River needs SetMaxOpenConns(1)", n)
		}
		return nil
	case b.pg != nil:
		return nil
	default:
		return errors.New("zero Backend; use jobs.SQLite or jobs.Postgres")
	}
}

// migrateLockKey is the PostgreSQL advisory lock that serializes Migrate
// across processes ("tandemjb" in ASCII).
const migrateLockKey int64 = 0x74616e64656d6a62

// Migrate brings River's tables up to date. It is idempotent and safe to call
// at every start; on PostgreSQL concurrent callers (several workers starting
// at once) take turns, since River's migrator does not lock.
func Migrate(ctx context.Context, b Backend) error {
	if err := b.check(); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	var err error
	switch {
	case b.sqlite != nil:
		// One process owns an SQLite file's schema (the server), so no lock.
		err = migrate(ctx, riversqlite.New(b.sqlite))
	default:
		err = migratePostgres(ctx, b.pg)
	}
	if err != nil {
		return fmt.Errorf("jobs: migrate %s: %w", b, err)
	}
	return nil
}

// migrateMu lets one Migrate of this process at a time wait for the
// PostgreSQL lock. Each waiter holds a pool connection, and the holder needs
// another one to migrate: several waiters in one process could take every
// connection of the pool and deadlock.
var migrateMu sync.Mutex

func migratePostgres(ctx context.Context, pool *pgxpool.Pool) error {
	migrateMu.Lock()
	defer migrateMu.Unlock()

	// A transaction-scoped lock on a connection of its own: it is released
	// however the migration ends, even if this connection breaks, and never
	// goes back to the pool still held. The migration itself runs on other
	// connections, each River migration in its own transaction.
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin lock transaction: %w", err)
	}
	// The transaction writes nothing; rolling it back only releases the lock.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	return migrate(ctx, riverpgxv5.New(pool))
}

func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.Default()})
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return err
	}
	return nil
}
