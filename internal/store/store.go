// Package store owns all SQL. One set of queries runs on SQLite
// (modernc.org/sqlite, WAL, a single writer connection and a read pool) and
// on PostgreSQL (pgx in database/sql mode); the few differences live in
// dialect.go. It applies record access in its queries, keeps the change log
// of synced entities, and runs the versioned migrations at start-up.
//
// Methods that act for a user take an access.Viewer and never return a
// record that user may not see: a hidden record is ErrNotFound, a visible one
// they may not change is ErrForbidden.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Errors the web layer maps to HTTP statuses.
var (
	ErrNotFound  = errors.New("not found")
	ErrForbidden = errors.New("forbidden")
	ErrConflict  = errors.New("changed by someone else")
	ErrDuplicate = errors.New("already exists")
)

// ErrNoDatabase is Open's answer, with Options.MustExist, when there is no
// Tandem database yet: no SQLite file, or a PostgreSQL database without
// Tandem's migrations applied.
var ErrNoDatabase = errors.New("no Tandem database")

// Store is the database.
type Store struct {
	w *sql.DB // writes (SQLite: the one writer connection)
	// r reads (SQLite: a read-only pool; PostgreSQL: same as w); in a
	// transaction's read view (Tx.Reads) the transaction itself.
	r       querier
	rdb     *sql.DB // r as a pool, for Ping and Close (nil in a read view)
	dialect dialect
	pool    *pgxpool.Pool // PostgreSQL only, for the job queue
	path    string        // SQLite only
	ckpt    *checkpointer // SQLite only
	logs    *txLogs       // change-log entries of open transactions
}

// Options tune Open.
type Options struct {
	// SQLitePath is the database file when DatabaseURL is empty.
	SQLitePath string
	// DatabaseURL selects PostgreSQL.
	DatabaseURL string
	// MaxConns bounds the PostgreSQL pool (0: pgx default).
	MaxConns int32
	// WarmPool opens the whole PostgreSQL pool at start and keeps it
	// open, for a server: PostgreSQL forks a backend per connection, and
	// a burst of webhooks right after a start waited for the forks (and
	// their cold caches) — with half the pool open, a burst of 200 new
	// customers a second right after a start waited up to 1.5 s, with
	// all of it 0.5 s. Tests and one-off commands open no more than
	// they use.
	WarmPool bool
	// MustExist refuses (ErrNoDatabase) a database that Tandem has not set
	// up yet instead of creating it, and creates nothing meanwhile: for
	// commands that only use a database, so that a mistyped or missing
	// --data never leaves an empty one behind.
	MustExist bool
	// Durable makes every SQLite commit reach the disk before it returns
	// (synchronous=FULL): nothing committed is lost even to a power cut.
	// The default (NORMAL in WAL mode) survives a crash of the process
	// but may lose the last commits to a power cut; benchmarks that
	// compare with tools that fsync every write use Durable.
	Durable bool
}

// Open connects and runs migrations.
func Open(ctx context.Context, o Options) (*Store, error) {
	var s *Store
	var err error
	if o.DatabaseURL != "" {
		s, err = openPostgres(ctx, o)
	} else {
		if o.MustExist {
			// Opening the file would create it (and its folder).
			if _, err := os.Stat(o.SQLitePath); errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s does not exist", ErrNoDatabase, o.SQLitePath)
			}
		}
		s, err = openSQLite(ctx, o.SQLitePath, o.Durable)
	}
	if err != nil {
		return nil, err
	}
	if o.MustExist {
		if err := s.checkSetUp(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openSQLite(ctx context.Context, path string, durable bool) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	// busy_timeout covers the moments another process (a second worker or
	// the job queue's own connection) holds the write lock; _txlock=immediate
	// takes that lock at BEGIN so a transaction never fails half-way on
	// upgrading a read lock.
	sync := "NORMAL"
	if durable {
		sync = "FULL"
	}
	base := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(" + sync + ")"
	w, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_txlock=immediate&_pragma=cache_size(-32768)&_pragma=temp_store(2)"+
		fmt.Sprintf("&_pragma=wal_autocheckpoint(%d)&_pragma=journal_size_limit(%d)", writerAutoCheckpoint, 2*writerAutoCheckpoint*4096))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(max(4, runtime.NumCPU()))
	c, err := sql.Open("sqlite", base)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	c.SetMaxOpenConns(1)
	return &Store{w: w, r: r, rdb: r, dialect: sqliteDialect{}, path: path, ckpt: startCheckpointer(c), logs: &txLogs{}}, nil
}

// defaultMaxConns is a process's PostgreSQL pool size unless told.
const defaultMaxConns = 20

func openPostgres(ctx context.Context, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(o.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	switch {
	case o.MaxConns > 0:
		cfg.MaxConns = o.MaxConns
	case !strings.Contains(o.DatabaseURL, "pool_max_conns"):
		// pgx's default (the CPU count, at least 4) starves a server
		// process: the job queue, the chat event listener and the
		// mailboxes' work hold connections while requests and webhooks
		// wait for one. 20 per process leaves room for four processes in
		// PostgreSQL's default 100 connections; pool_max_conns in the URL
		// sets another.
		cfg.MaxConns = defaultMaxConns
	}
	if o.WarmPool && !strings.Contains(o.DatabaseURL, "pool_min_conns") {
		cfg.MinConns = cfg.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	// database/sql keeps 2 idle connections by default: under load every
	// other one went back to the pool after each query and was acquired
	// again for the next. Half the pool may stay with it; the rest is for
	// the job queue and the chat bus, which use the pool directly, and an
	// idle minute hands a connection back.
	db.SetMaxIdleConns(int(cfg.MaxConns / 2))
	db.SetConnMaxIdleTime(time.Minute)
	return &Store{w: db, r: db, rdb: db, dialect: postgresDialect{}, pool: pool, logs: &txLogs{}}, nil
}

// Close releases connections.
func (s *Store) Close() error {
	s.ckpt.close()
	errW := s.w.Close()
	if s.rdb != s.w {
		s.rdb.Close()
	}
	if s.pool != nil {
		s.pool.Close()
	}
	return errW
}

// Postgres reports whether the store runs on PostgreSQL.
func (s *Store) Postgres() bool { return s.pool != nil }

// PgxPool is the PostgreSQL pool (nil on SQLite), for the job queue.
func (s *Store) PgxPool() *pgxpool.Pool { return s.pool }

// SQLitePath is the database file (empty on PostgreSQL), for the job queue,
// which opens its own connection to it.
func (s *Store) SQLitePath() string { return s.path }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.PingContext(ctx) }

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx runs fn in a write transaction and commits when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	s.logs.open(tx)
	err = fn(tx)
	logged := s.logs.take(tx)
	if err == nil {
		err = s.appendChanges(ctx, tx, logged)
	}
	if err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// newID returns a time-ordered UUID, so new rows land at the end of indexes.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// params renders n placeholders starting at $start: "$3,$4,$5".
func params(start, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "$%d", start+i)
	}
	return b.String()
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// likePattern escapes q for LIKE … ESCAPE '\' and wraps it in %.
func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}
