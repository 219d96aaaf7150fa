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
	"slices"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/bench"
	"github.com/tandem-crm/tandem/internal/store"
)

const benchUsage = `Usage:
  tandem bench store [--json] [--n N] [--postgres URL] [--keep]
  tandem bench sync  [--json] [--n N] [--mid N] [--small N] [--changes N] [--rounds N] [--foreign N]
                     [--quota N] [--quota-timeout D] [--db sqlite,postgres] [--postgres URL] [--keep]
                     [--cpuprofile FILE] [--import-profile FILE]
  tandem bench mail  [--json] [--n N] [--new N] [--reps N] [--keep] [--cpuprofile FILE]
                     [--new-profile FILE]
  tandem bench dav   [--json] [--n N] [--reps N] [--noops N] [--changes N]
                     [--collections contacts,events] [--keep] [--cpuprofile PREFIX]
  tandem bench chat  [--json] [--rate N] [--seconds N] [--operators N] [--customers N]
                     [--db sqlite,postgres] [--postgres URL]

store   insert N contacts through the store, then time contact search (first
        page), contact reads by id and change-log reads, and report the
        database size. Without --postgres it uses a new SQLite file in a
        temporary folder, removed afterwards unless --keep. With --postgres,
        give it an EMPTY database: the contacts stay there.

sync    Google contact sync, Tandem's own cost. The Google emulator runs as a
        separate process (this binary's "emulator google" on a loopback
        port), seeded over its admin API, so the time, CPU and peak RSS
        measured are the sync service's and the store's. On each database
        (a new SQLite file; and, with --postgres or TANDEM_TEST_DATABASE_URL,
        a new database on that PostgreSQL server; --db chooses) it times:
        the first import of --small, --mid and --n contacts (contacts/s,
        peak RSS, CPU); for the --small and the --n binding a run with
        nothing to do and --rounds incremental runs of --changes changes
        (half edited in Google, half in Tandem) and the ratio of their
        medians (goal: at most 1.5); the small binding's run after another
        user's --foreign change-log entries (catch-up); the first export of
        --n local contacts with the emulator's quotas off; and the export
        of --quota contacts under its default quotas, against the least
        time those quotas allow (goal: at most 1.2 times it). Every run is
        the real one (the sync service over OAuth, HTTP and the store).
        --json prints one object, by database. The databases are removed
        afterwards unless --keep.

mail    Loading mail, against mbsync. A private Dovecot (IMAP on loopback,
        no TLS) holds --n messages made by the team's generator
        (python3). Alternating, --reps times each: Tandem's first load of
        the INBOX into a fresh SQLite store (wall time, messages/s, peak
        RSS and CPU of this process) and mbsync's pull of it into a fresh
        Maildir (Debian isync, FSync yes); the medians' ratio. Then, on the
        last store: three loads, each after --new appended messages (the
        median counts), loads with nothing new, and the IDLE latency (a letter APPENDed to the INBOX
        until it is on its sender's contact timeline). Needs root (Dovecot);
        dovecot-imapd and isync are installed when missing. --json prints
        one object. The work folder is removed afterwards unless --keep.

dav     CalDAV/CardDAV, against vdirsyncer. A private Radicale (its own
        process, on loopback) holds --n vCards and --n events made by the
        team's generator (python3). For each collection, alternating:
        Tandem's first sync into a fresh SQLite store (a connection made
        by the provider's Connect, the collection picked from its list;
        each run is the service's RunConnection, as a job) and vdirsyncer's
        into an empty vdir, --reps each; no-op runs (--noops, vdirsyncer's
        --reps); runs after --changes items were changed on the server by
        PUT (--reps, other items each time). Next to them the floor: the
        bare sync-collection REPORT (and multiget of the changed items) of
        the connector's own client. It prints the medians, the ratios and
        issue 11's goals (Tandem within 1.3x the floor and at least 25x
        faster than vdirsyncer for no-op and changed runs, first sync no
        slower than vdirsyncer's, peak RSS at most 150 MB), with Tandem's
        CPU and peak RSS (this process) and Radicale's CPU. radicale and
        vdirsyncer are installed when missing and root. --cpuprofile
        PREFIX writes PREFIX.<collection>.<first|noop|changed|again>.pprof of
        Tandem's first run of each. --json prints one object. The work
        folder is removed afterwards unless --keep.

chat    Chats under load through the Telegram webhook path. A Telegram
        emulator (in this process) posts --rate customer messages a second
        for --seconds to Tandem's webhook, spread over --customers
        customers, into a "least busy" queue of --operators operators, each
        signed in with a live panel (the /chats/events stream) that accepts
        what it is offered and completes it a second later. On SQLite one
        server process runs; on PostgreSQL (--postgres or
        TANDEM_TEST_DATABASE_URL; a new database, dropped afterwards) two,
        the webhook reaching one and the operators split between both. It
        reports the latency from the update's hand-over to Telegram to each
        operator's event (p50, p99, max), messages lost or duplicated, and
        how often an operator was seen above SimultaneousChats (2).
`

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, benchUsage)
		return errors.New("bench: expected a subcommand: store, sync, mail, dav or chat")
	}
	switch args[0] {
	case "store":
		return benchStore(ctx, args[1:], stdout, stderr)
	case "sync":
		return benchSync(ctx, args[1:], stdout, stderr)
	case "mail":
		return benchMail(ctx, args[1:], stdout, stderr)
	case "dav":
		return benchDav(ctx, args[1:], stdout, stderr)
	case "chat":
		return benchChat(ctx, args[1:], stdout, stderr)
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
	asJSON := fs.Bool("json", false, "print the result as one JSON object, by database")
	n := fs.Int("n", 100000, "contacts of the big import, the big binding and the export")
	mid := fs.Int("mid", 0, "contacts of the middle import, to compare peak RSS with (default 10000, or n/10 when n ≤ 10000)")
	small := fs.Int("small", 1000, "contacts of the small binding")
	changes := fs.Int("changes", 100, "changes per incremental run (half remote, half local)")
	rounds := fs.Int("rounds", 3, "timed incremental runs per binding (the median counts)")
	foreign := fs.Int("foreign", 100000, "change-log entries another user makes before the timed catch-up run (0: skip it)")
	quota := fs.Int("quota", 5000, "contacts exported under the emulator's default quotas (0: skip the quota run)")
	quotaTimeout := fs.Duration("quota-timeout", 15*time.Minute, "cut the quota run short after this long (its result then projects the rest)")
	dbs := fs.String("db", "", "databases to run on, comma-separated: sqlite, postgres (default: sqlite, and postgres when a server is given)")
	pgURL := fs.String("postgres", os.Getenv("TANDEM_TEST_DATABASE_URL"), "postgres:// URL of a server to create a fresh database on [TANDEM_TEST_DATABASE_URL]")
	keep := fs.Bool("keep", false, "keep the SQLite folder and the PostgreSQL database, and print where they are")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the big binding's incremental runs to this file (.<db> added with two databases)")
	importProfile := fs.String("import-profile", "", "write a CPU profile of the big import to this file (.<db> added with two databases)")
	exportProfile := fs.String("export-profile", "", "write a CPU profile of the first export to this file (.<db> added with two databases)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("bench sync: unexpected argument %q", fs.Arg(0))
	}
	if *n < 1 || *small < 1 || *rounds < 1 || *changes < 2 || *foreign < 0 || *mid < 0 || *quota < 0 || *quotaTimeout <= 0 {
		return fmt.Errorf("bench sync: --n, --small and --rounds must be at least 1, --changes at least 2, --foreign, --mid and --quota not negative, --quota-timeout positive")
	}
	if *changes > min(*n, *small) {
		return fmt.Errorf("bench sync: --changes must not exceed --small and --n")
	}
	which, err := benchDatabases(*dbs, *pgURL)
	if err != nil {
		return err
	}
	o := bench.SyncOptions{N: *n, Mid: *mid, Small: *small, Changes: *changes, Rounds: *rounds, Foreign: *foreign,
		Quota: *quota, QuotaTimeout: *quotaTimeout, Progress: stderr}
	if *foreign == 0 {
		o.Foreign = -1 // no catch-up run
	}
	if *quota == 0 {
		o.Quota = -1 // no quota run
	}
	// In JSON mode stdout holds only the JSON document.
	notes := stdout
	if *asJSON {
		notes = stderr
	}
	var report bench.SyncReport
	for _, db := range which {
		res, err := benchSyncOn(ctx, db, *pgURL, *keep, len(which) > 1,
			profilePaths{cpu: *cpuProfile, imp: *importProfile, exp: *exportProfile}, o, notes)
		if err != nil {
			return fmt.Errorf("bench sync on %s: %w", db, err)
		}
		if db == "postgres" {
			report.Postgres = &res
		} else {
			report.SQLite = &res
		}
	}
	return printBench(stdout, *asJSON, report, report.Text)
}

// benchDatabases is the list of databases --db names, or the default:
// SQLite, and PostgreSQL when a server URL is known.
func benchDatabases(list, pgURL string) ([]string, error) {
	if list == "" {
		if pgURL != "" {
			return []string{"sqlite", "postgres"}, nil
		}
		return []string{"sqlite"}, nil
	}
	var out []string
	for _, db := range strings.Split(list, ",") {
		switch db = strings.TrimSpace(db); db {
		case "sqlite", "postgres":
			if slices.Contains(out, db) {
				continue
			}
			if db == "postgres" && pgURL == "" {
				return nil, errors.New("bench sync: postgres needs a server: --postgres URL or TANDEM_TEST_DATABASE_URL")
			}
			out = append(out, db)
		default:
			return nil, fmt.Errorf("bench sync: --db: unknown database %q (sqlite, postgres)", db)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("bench sync: --db names no database")
	}
	return out, nil
}

// benchSyncOn runs the sync benchmark on a fresh database of kind db: a
// new SQLite file in a temporary folder, or a new database on the
// PostgreSQL server at pgURL; both are removed afterwards unless keep.
// profilePaths names the files the CPU profiles of the sync benchmark's
// phases go to; an empty path takes none.
type profilePaths struct{ cpu, imp, exp string }

func benchSyncOn(ctx context.Context, db, pgURL string, keep, suffix bool, profiles profilePaths,
	o bench.SyncOptions, notes io.Writer) (_ bench.SyncResult, err error) {
	opts := store.Options{}
	if db == "postgres" {
		dbURL, drop, err := bench.FreshPostgres(ctx, pgURL)
		if err != nil {
			return bench.SyncResult{}, err
		}
		opts.DatabaseURL = dbURL
		defer func() {
			if keep {
				fmt.Fprintln(notes, "kept", dbURL)
				return
			}
			if derr := drop(context.WithoutCancel(ctx)); derr != nil && err == nil {
				err = derr
			}
		}()
	} else {
		dir, err := os.MkdirTemp("", "tandem-bench-")
		if err != nil {
			return bench.SyncResult{}, err
		}
		opts.SQLitePath = filepath.Join(dir, "tandem.db")
		defer func() {
			if keep {
				fmt.Fprintln(notes, "kept", dir)
				return
			}
			if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
				err = rerr
			}
		}()
	}
	s, err := store.Open(ctx, opts)
	if err != nil {
		return bench.SyncResult{}, err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	for _, p := range []struct {
		path string
		to   *io.Writer
	}{{profiles.cpu, &o.CPUProfile}, {profiles.imp, &o.ImportProfile}, {profiles.exp, &o.ExportProfile}} {
		if p.path == "" {
			continue
		}
		name := p.path
		if suffix {
			name += "." + db
		}
		f, err := os.Create(name)
		if err != nil {
			return bench.SyncResult{}, err
		}
		defer f.Close()
		*p.to = f
	}
	return bench.Sync(ctx, s, o)
}

func benchMail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tandem bench mail", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	n := fs.Int("n", 10000, "messages in the INBOX")
	newN := fs.Int("new", 100, "messages appended before the incremental load")
	reps := fs.Int("reps", 3, "timed first loads of each of Tandem and mbsync (the medians count)")
	keep := fs.Bool("keep", false, "keep the work folder (Tandem's databases, mbsync's Maildirs) and print where it is")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of Tandem's first timed first load to this file")
	newProfile := fs.String("new-profile", "", "write a CPU profile of the load of the --new appended messages to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("bench mail: unexpected argument %q", fs.Arg(0))
	}
	if *n < 1 || *newN < 1 || *reps < 1 {
		return fmt.Errorf("bench mail: --n, --new and --reps must be at least 1")
	}
	o := bench.MailOptions{N: *n, New: *newN, Reps: *reps, Keep: *keep, Progress: stderr}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		o.CPUProfile = f
	}
	if *newProfile != "" {
		f, err := os.Create(*newProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		o.NewProfile = f
	}
	res, err := bench.Mail(ctx, o)
	if err != nil {
		return fmt.Errorf("bench mail: %w", err)
	}
	if *keep && *asJSON {
		fmt.Fprintln(stderr, "kept", res.Path)
	}
	return printBench(stdout, *asJSON, res, res.Text)
}

func benchDav(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tandem bench dav", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	n := fs.Int("n", 10000, "vCards in the address book and events in the calendar")
	reps := fs.Int("reps", 3, "first syncs and changed runs of each client (the medians count)")
	noops := fs.Int("noops", 5, "no-op runs of Tandem and of the floor (vdirsyncer's: --reps)")
	changes := fs.Int("changes", 100, "items changed on the server before each changed run")
	colls := fs.String("collections", "contacts,events", "collections to measure, in order: contacts, events")
	keep := fs.Bool("keep", false, "keep the work folder (Radicale's storage, Tandem's databases, vdirsyncer's vdirs) and print where it is")
	cpuProfile := fs.String("cpuprofile", "", "write CPU profiles of Tandem's first run of each phase to PREFIX.<collection>.<first|noop|changed|again>.pprof")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("bench dav: unexpected argument %q", fs.Arg(0))
	}
	if *n < 1 || *reps < 1 || *noops < 1 || *changes < 1 {
		return fmt.Errorf("bench dav: --n, --reps, --noops and --changes must be at least 1")
	}
	if *reps**changes > *n {
		return fmt.Errorf("bench dav: --reps times --changes must not exceed --n (each changed run changes other items)")
	}
	o := bench.DavOptions{N: *n, Reps: *reps, Noops: *noops, Changes: *changes, Keep: *keep, CPUProfile: *cpuProfile,
		Progress: stderr}
	for _, c := range strings.Split(*colls, ",") {
		if c = strings.TrimSpace(c); c != "" {
			o.Collections = append(o.Collections, c)
		}
	}
	if len(o.Collections) == 0 {
		return errors.New("bench dav: --collections names none")
	}
	res, err := bench.Dav(ctx, o)
	if err != nil {
		return fmt.Errorf("bench dav: %w", err)
	}
	if *keep && *asJSON {
		fmt.Fprintln(stderr, "kept", res.Path)
	}
	return printBench(stdout, *asJSON, res, res.Text)
}

func benchChat(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tandem bench chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchUsage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, "print one JSON object")
	rate := fs.Int("rate", 200, "incoming messages a second")
	seconds := fs.Int("seconds", 60, "how long messages come")
	operators := fs.Int("operators", 20, "operators with a live panel")
	customers := fs.Int("customers", 400, "customers the messages are spread over")
	warmup := fs.Duration("warmup", 5*time.Second, "other customers write this long first, not measured (0: the servers start cold into the measured burst)")
	hold := fs.Duration("hold", 10*time.Second, "how long an operator keeps a chat before completing it (1s: the stress setting)")
	dbs := fs.String("db", "", "databases to run on: sqlite, postgres (default: sqlite, and postgres when a URL is known)")
	pg := fs.String("postgres", os.Getenv("TANDEM_TEST_DATABASE_URL"), "PostgreSQL server URL for the postgres run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("bench chat: unexpected argument %q", fs.Arg(0))
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o := bench.ChatOptions{Rate: *rate, Duration: time.Duration(*seconds) * time.Second, Operators: *operators,
		Customers: *customers, Hold: *hold, Warmup: *warmup, Postgres: *pg, Serve: []string{exe, "serve"}, Progress: stderr}
	if *dbs != "" {
		o.DBs = strings.Split(*dbs, ",")
	}
	res, err := bench.Chat(ctx, o)
	if err != nil {
		return fmt.Errorf("bench chat: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	for _, r := range []struct {
		name string
		run  *bench.ChatRun
	}{{"sqlite", res.SQLite}, {"postgres", res.Postgres}} {
		if r.run == nil {
			continue
		}
		fmt.Fprintf(stdout, "%s (%d server process(es), %d operators): %d sent, %d stored; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms; lost %d, duplicated %d, cap exceeded %d; %d chats accepted, %d completed\n",
			r.name, r.run.Servers, r.run.Operators, r.run.Sent, r.run.Stored, r.run.LatencyMS.P50, r.run.LatencyMS.P99, r.run.LatencyMS.Max,
			r.run.Lost, r.run.Duplicated, r.run.CapExceeded, r.run.Accepted, r.run.Completed)
	}
	return nil
}
