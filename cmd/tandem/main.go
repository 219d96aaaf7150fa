// Command tandem is the Tandem server: the web UI and REST API, the job
// workers, and the administration commands.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // time zones must work on hosts without /usr/share/zoneinfo

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/app"
	"github.com/tandem-crm/tandem/internal/config"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/store"
)

const usage = `Tandem — CRM integration server

Usage:
  tandem serve    [flags]   run the web UI and API (and, on SQLite, the job workers)
  tandem worker   [flags] [--metrics-addr ADDR]   run job workers only (PostgreSQL deployments)
  tandem migrate  [flags]   apply database migrations and exit
  tandem user create --email E [--name N] [--password P] [--admin]
  tandem user passwd --email E [--password P]
  tandem sync run --connection ID [--json]   run a connection's sync now, in the foreground
  tandem sync list                           connections and bindings with their last runs
  tandem bench store|sync [--json] [--n N] [--postgres URL] [--keep]
  tandem bench mail [--json] [--n N] [--new N] [--reps N] [--keep] [--cpuprofile FILE]
  tandem bench dav  [--json] [--n N] [--reps N] [--keep] [--cpuprofile PREFIX]
  tandem emulator google [--addr ADDR] [--auto-approve EMAIL]   a loopback Google for trying Tandem
  tandem demo [--addr ADDR] [--emulator-addr ADDR] [--keep]    try Tandem: demo data, Google connected and syncing
  tandem version

Common flags (environment in brackets):
  --addr ADDR           listen address [TANDEM_ADDR] (default 127.0.0.1:8080)
  --data DIR            data folder [TANDEM_DATA] (default ./data)
  --database-url URL    postgres:// URL; empty means SQLite [TANDEM_DATABASE_URL]
  --workers N           job workers in this process
  --log-level LEVEL     debug, info, warn, error [TANDEM_LOG_LEVEL]
Also: TANDEM_SECRET_KEY, TANDEM_ADMIN_EMAIL, TANDEM_ADMIN_PASSWORD.
Only serve and migrate create the database (and the data folder and key);
the other commands refuse to run without one.
`

func main() {
	os.Exit(exitStatus(run(os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

// exitStatus reports a command's error and gives the process status.
// flag.ErrHelp means -h or --help was asked for and the flag set printed
// its usage: a success.
func exitStatus(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "tandem:", err)
	return 1
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("expected a command")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "worker":
		return worker(ctx, args[1:], stderr)
	case "migrate":
		return migrate(ctx, args[1:], stderr)
	case "user":
		return userCmd(ctx, args[1:], stdout, stderr)
	case "sync":
		return syncCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "emulator":
		return emulatorCmd(ctx, args[1:], stdout, stderr)
	case "demo":
		return demoCmd(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "tandem", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			return bi.Main.Version
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if dirty {
				rev += "-dirty"
			}
			return "dev-" + rev
		}
	}
	return "dev"
}

// setup parses common flags and opens the app.
func setup(ctx context.Context, name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (*app.App, *config.Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet("tandem "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	if extra != nil {
		extra(fs)
	}
	cfg, err := config.Load(fs, args)
	if err != nil {
		return nil, nil, fs, err
	}
	log := newLogger(cfg.LogLevel, stderr)
	slog.SetDefault(log)
	cfg.MustExist = !createsDatabase(name)
	cfg.Serving = name == "serve"
	a, err := app.Open(ctx, cfg, log)
	switch {
	case errors.Is(err, store.ErrNoDatabase):
		return nil, nil, fs, noDatabase(cfg)
	case cfg.MustExist && errors.Is(err, secret.ErrNoKey):
		return nil, nil, fs, fmt.Errorf("%w; pass the server's key in TANDEM_SECRET_KEY or --data with the folder that holds secret.key "+
			"(a new key could not read the secrets in the database)", err)
	case err != nil:
		return nil, nil, fs, err
	}
	return a, cfg, fs, nil
}

// createsDatabase tells the commands that set up a database (and the data
// folder and key) on purpose. Every other command refuses to run without
// one: run in the wrong folder, it would otherwise leave an empty ./data
// behind and report on that. (bench and emulator do not use setup: they
// make their own temporary databases or none.)
func createsDatabase(command string) bool {
	switch command {
	case "serve", "migrate", "demo":
		return true
	}
	return false
}

func noDatabase(cfg *config.Config) error {
	if cfg.Postgres() {
		where := "the PostgreSQL database"
		if u, err := url.Parse(cfg.DatabaseURL); err == nil {
			where = u.Redacted()
		}
		return fmt.Errorf("no Tandem database at %s (no migrations applied); run `tandem serve` or `tandem migrate` "+
			"with this --database-url first, or pass the right one", where)
	}
	abs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		abs = cfg.DataDir
	}
	return fmt.Errorf("no Tandem database in %s (%s); run `tandem serve` or `tandem migrate` first, or pass --data / --database-url",
		cfg.DataDir, abs)
}

func newLogger(level string, w io.Writer) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func workersSet(fs *flag.FlagSet) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "workers" {
			set = true
		}
	})
	return set
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	a, cfg, fs, err := setup(ctx, "serve", args, stderr, nil)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	if err := a.EnsureAdmin(ctx, stdout); err != nil {
		return err
	}
	// On SQLite the server is the whole deployment, so it runs the jobs; on
	// PostgreSQL workers usually run as separate `tandem worker` processes.
	workers := cfg.Workers
	if a.Store.Postgres() && !workersSet(fs) {
		workers = 0
	}
	if err := a.OpenQueue(ctx, workers); err != nil {
		return err
	}
	ln, err := app.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	db := "sqlite " + cfg.SQLitePath()
	if a.Store.Postgres() {
		db = "postgres"
	}
	a.Log.Info("tandem listening", "url", "http://"+ln.Addr().String(), "database", db, "workers", workers, "version", version())
	if addr := os.Getenv("TANDEM_PPROF_ADDR"); addr != "" {
		// Go's profiler, for measuring a running server; never on by
		// default, and only where the operator points it (a loopback
		// address).
		go func() {
			if err := http.ListenAndServe(addr, pprofMux()); err != nil {
				a.Log.Warn("pprof listener", "addr", addr, "err", err)
			}
		}()
	}
	return a.Serve(ctx, ln)
}

func worker(ctx context.Context, args []string, stderr io.Writer) error {
	var metricsAddr string
	a, cfg, _, err := setup(ctx, "worker", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&metricsAddr, "metrics-addr", "", "serve Prometheus metrics of this worker's sync runs at http://ADDR/metrics (default: none)")
	})
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	if cfg.Workers < 1 {
		return fmt.Errorf("worker needs --workers of at least 1")
	}
	if !a.Store.Postgres() {
		a.Log.Warn("running a separate worker on SQLite: it shares the file with the server, which already runs jobs")
	}
	if metricsAddr != "" {
		// Listen before the queue starts, so a taken port fails the start.
		h, err := a.MetricsHandler()
		if err != nil {
			return err
		}
		ln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return fmt.Errorf("metrics listen: %w", err)
		}
		msrv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		defer msrv.Close()
		go func() {
			if err := msrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.Log.Error("metrics server", "err", err)
			}
		}()
		a.Log.Info("worker metrics", "url", "http://"+ln.Addr().String()+"/metrics")
	}
	if err := a.OpenQueue(ctx, cfg.Workers); err != nil {
		return err
	}
	a.Log.Info("worker running", "workers", cfg.Workers, "version", version())
	<-ctx.Done()
	a.Log.Info("worker stopping")
	return nil
}

func migrate(ctx context.Context, args []string, stderr io.Writer) error {
	a, _, _, err := setup(ctx, "migrate", args, stderr, nil)
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	if err := a.OpenQueue(ctx, 0); err != nil {
		return err
	}
	v, err := a.Store.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	a.Log.Info("database is up to date", "schema_version", v)
	return nil
}

func userCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if len(args) == 0 || (args[0] != "create" && args[0] != "passwd") {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("user: expected create or passwd")
	}
	var email, name, password string
	var admin bool
	a, _, _, err := setup(ctx, "user "+args[0], args[1:], stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "user's email (login)")
		fs.StringVar(&name, "name", "", "display name")
		fs.StringVar(&password, "password", "", "password (read from standard input when empty)")
		fs.BoolVar(&admin, "admin", false, "grant "+access.OpManageAdministration)
	})
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	if email == "" {
		return fmt.Errorf("--email is required")
	}
	if password == "" {
		fmt.Fprint(stderr, "Password: ")
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read password: %w", err)
		}
		password = strings.TrimRight(line, "\r\n")
	}
	if args[0] == "passwd" {
		users, err := a.Store.ListUsers(ctx, "")
		if err != nil {
			return err
		}
		for _, u := range users {
			if strings.EqualFold(u.Email, email) {
				if err := a.Store.SetPassword(ctx, u.ID, password); err != nil {
					return err
				}
				fmt.Fprintln(stdout, "password changed for", u.Email)
				return nil
			}
		}
		return fmt.Errorf("no user with email %s", email)
	}
	u := &access.User{Email: email, Name: name, Active: true}
	if admin {
		u.Ops = []string{access.OpManageAdministration}
	}
	if err := a.Store.CreateUser(ctx, u, password); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "created user", u.Email, u.ID)
	return nil
}

// pprofMux serves net/http/pprof's handlers.
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
