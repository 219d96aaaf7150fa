package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
)

// FreshPostgres creates a new, empty database on the PostgreSQL server
// serverURL points at (any database of it the user may connect to, with
// the right to create databases) and returns its URL, so every benchmark
// run starts from nothing; drop removes it.
func FreshPostgres(ctx context.Context, serverURL string) (dbURL string, drop func(context.Context) error, err error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, fmt.Errorf("want a postgres:// URL, got %q", serverURL)
	}
	var suffix [6]byte
	rand.Read(suffix[:])
	name := "tandem_bench_" + hex.EncodeToString(suffix[:])
	ident := pgx.Identifier{name}.Sanitize()
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, serverURL)
		if err != nil {
			return fmt.Errorf("connect %s: %w", u.Redacted(), err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	db := *u
	db.Path, db.RawPath = "/"+name, ""
	return db.String(), func(ctx context.Context) error {
		// FORCE ends sessions left open, which would make the drop fail.
		if err := exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}, nil
}
