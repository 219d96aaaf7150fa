package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tandem-crm/tandem/internal/bench"
	"github.com/tandem-crm/tandem/internal/store"
)

const benchUsage = `Usage:
  tandem bench store [--json] [--n N] [--postgres URL] [--keep]

store   insert N contacts through the store, then time contact search (first
        page), contact reads by id and change-log reads, and report the
        database size. Without --postgres it uses a new SQLite file in a
        temporary folder, removed afterwards unless --keep. With --postgres,
        give it an EMPTY database: the contacts stay there.
`

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return errors.New("bench: expected a subcommand: store")
	}
	switch args[0] {
	case "store":
		return benchStore(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, benchUsage)
		return nil
	default:
		fmt.Fprint(stderr, benchUsage)
		return fmt.Errorf("bench: unknown subcommand %q", args[0])
	}
}

func benchStore(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("tandem bench store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print the result as JSON")
	n := fs.Int("n", 100000, "contacts to insert")
	pgURL := fs.String("postgres", "", "postgres:// URL of an empty database (default: a new SQLite file)")
	keep := fs.Bool("keep", false, "keep the SQLite folder and print its path")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("bench store: unexpected argument %q", fs.Arg(0))
	}
	if *n < 1 {
		return fmt.Errorf("bench store: --n must be at least 1")
	}
	if *keep && *pgURL != "" {
		return fmt.Errorf("bench store: --keep applies to SQLite only")
	}

	opts := store.Options{DatabaseURL: *pgURL}
	if *pgURL == "" {
		dir, err := os.MkdirTemp("", "tandem-bench-")
		if err != nil {
			return err
		}
		if *keep {
			// In JSON mode stdout holds only the JSON document.
			out := stdout
			if *asJSON {
				out = stderr
			}
			defer fmt.Fprintln(out, "kept", dir)
		} else {
			defer func() {
				if rmErr := os.RemoveAll(dir); rmErr != nil && err == nil {
					err = rmErr
				}
			}()
		}
		opts.SQLitePath = filepath.Join(dir, "tandem.db")
	}
	s, err := store.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Close()

	res, err := bench.Store(ctx, s, bench.Options{N: *n, Progress: stderr})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	res.Text(stdout)
	return nil
}
