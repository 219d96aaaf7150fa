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
  tandem bench sync  [--json] [--n N] [--small N] [--changes N] [--rounds N] [--foreign N] [--postgres URL] [--keep] [--cpuprofile FILE]

store   insert N contacts through the store, then time contact search (first
        page), contact reads by id and change-log reads, and report the
        database size. Without --postgres it uses a new SQLite file in a
        temporary folder, removed afterwards unless --keep. With --postgres,
        give it an EMPTY database: the contacts stay there.

sync    Google contact sync against the Google emulator, started in this
        process: for a binding of --small (default 1000) and one of --n
        (default 100000) contacts, seed the Google group, time the first
        import (contacts/s, peak RSS), a run with nothing to do, and
        --rounds incremental runs of --changes changes (half edited in
        Google, half in Tandem), and print the ratio of the incremental run
        times (goal: at most 1.5). Then another user makes --foreign
        (default 100000; 0: skip) change-log entries on contacts of their
        own, outside the bindings' scope, and a run of the small binding is
        timed after them. Every run is the real one (the sync service over
        OAuth, HTTP and the store). --cpuprofile writes a CPU profile of the
        big binding's incremental runs. Database as for store.
`

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return errors.New("bench: expected a subcommand: store or sync")
	}
	switch args[0] {
	case "store":
		return benchStore(ctx, args[1:], stdout, stderr)
	case "sync":
		return benchSync(ctx, args[1:], stdout, stderr)
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

	s, cleanup, err := benchDB(ctx, *pgURL, *keep, *asJSON, stdout, stderr)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := cleanup(); cerr != nil && err == nil {
			err = cerr
		}
	}()

	res, err := bench.Store(ctx, s, bench.Options{N: *n, Progress: stderr})
	if err != nil {
		return err
	}
	return printBench(stdout, *asJSON, res, res.Text)
}

// benchDB opens the benchmark's database: the PostgreSQL one at pgURL, or
// a new SQLite file in a temporary folder, removed by cleanup unless keep.
func benchDB(ctx context.Context, pgURL string, keep, asJSON bool, stdout, stderr io.Writer) (*store.Store, func() error, error) {
	opts := store.Options{DatabaseURL: pgURL}
	var dir string
	if pgURL == "" {
		var err error
		if dir, err = os.MkdirTemp("", "tandem-bench-"); err != nil {
			return nil, nil, err
		}
		opts.SQLitePath = filepath.Join(dir, "tandem.db")
	}
	s, err := store.Open(ctx, opts)
	if err != nil {
		if dir != "" {
			os.RemoveAll(dir)
		}
		return nil, nil, err
	}
	return s, func() error {
		err := s.Close()
		if dir == "" {
			return err
		}
		if keep {
			// In JSON mode stdout holds only the JSON document.
			out := stdout
			if asJSON {
				out = stderr
			}
			fmt.Fprintln(out, "kept", dir)
			return err
		}
		if rmErr := os.RemoveAll(dir); rmErr != nil && err == nil {
			err = rmErr
		}
		return err
	}, nil
}

func printBench(stdout io.Writer, asJSON bool, res any, text func(io.Writer)) error {
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	text(stdout)
	return nil
}

func benchSync(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("tandem bench sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print the result as JSON")
	n := fs.Int("n", 100000, "contacts of the big binding")
	small := fs.Int("small", 1000, "contacts of the small binding")
	changes := fs.Int("changes", 100, "changes per incremental run (half remote, half local)")
	rounds := fs.Int("rounds", 3, "timed incremental runs per binding (the median counts)")
	foreign := fs.Int("foreign", 100000, "change-log entries another user makes before the timed foreign-changes run (0: skip it)")
	pgURL := fs.String("postgres", "", "postgres:// URL of an empty database (default: a new SQLite file)")
	keep := fs.Bool("keep", false, "keep the SQLite folder and print its path")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the big binding's incremental runs to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("bench sync: unexpected argument %q", fs.Arg(0))
	}
	if *n < 1 || *small < 1 || *rounds < 1 || *changes < 2 || *foreign < 0 {
		return fmt.Errorf("bench sync: --n, --small and --rounds must be at least 1, --changes at least 2, --foreign not negative")
	}
	if *changes > min(*n, *small) {
		return fmt.Errorf("bench sync: --changes must not exceed --small and --n")
	}
	if *keep && *pgURL != "" {
		return fmt.Errorf("bench sync: --keep applies to SQLite only")
	}
	o := bench.SyncOptions{N: *n, Small: *small, Changes: *changes, Rounds: *rounds, Foreign: *foreign, Progress: stderr}
	if *foreign == 0 {
		o.Foreign = -1 // no foreign-changes run
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		o.CPUProfile = f
	}
	s, cleanup, err := benchDB(ctx, *pgURL, *keep, *asJSON, stdout, stderr)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := cleanup(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	res, err := bench.Sync(ctx, s, o)
	if err != nil {
		return err
	}
	return printBench(stdout, *asJSON, res, res.Text)
}
