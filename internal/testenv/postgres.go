package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tandem-crm/tandem/internal/testenv/daemon"
)

const (
	envDatabaseURL = "TANDEM_TEST_DATABASE_URL"
	envSkipPG      = "TANDEM_TEST_SKIP_PG"

	// pgUser owns the throw-away cluster; initdb refuses to run as root.
	pgUser = "postgres"
)

var (
	pgOnce sync.Once
	pgSrv  *pgServer
	pgErr  error
)

// Postgres returns the postgres:// URL of a new, empty database that is
// dropped when the test ends. The server is the one named by
// TANDEM_TEST_DATABASE_URL or, when that is unset, a cluster this process
// starts on first use (installing Debian's postgresql package if needed) and
// Main stops.
//
// With TANDEM_TEST_SKIP_PG=1 the test is skipped. Any other failure to get a
// database fails the test: a missing server must not look like a pass.
func Postgres(t testing.TB) string {
	t.Helper()
	if os.Getenv(envSkipPG) == "1" {
		t.Skip("skipping: " + envSkipPG + "=1")
	}
	if !mainCalled.Load() {
		t.Fatal("testenv: Postgres needs the package's TestMain to call testenv.Main(m)")
	}
	srv, err := postgresServer()
	if err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}

	name, err := databaseName(t.Name())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ident := pgx.Identifier{name}.Sanitize()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE ends sessions the test left open (say, a pool it never
		// closed), which would otherwise make the drop fail.
		if err := srv.exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	return srv.databaseURL(name)
}

// databaseName derives a valid, unique database name from the test name, so
// a leftover database says which test made it.
func databaseName(testName string) (string, error) {
	var b strings.Builder
	b.WriteString("t_")
	lastUnderscore := true
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 42 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			lastUnderscore = false
		case !lastUnderscore:
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return "", fmt.Errorf("random database name: %w", err)
	}
	name := strings.TrimRight(b.String(), "_") + "_" + hex.EncodeToString(suffix[:])
	return name, nil // at most 42+1+12 bytes, under PostgreSQL's 63
}

func postgresServer() (*pgServer, error) {
	pgOnce.Do(func() {
		if raw := os.Getenv(envDatabaseURL); raw != "" {
			pgSrv, pgErr = externalServer(raw)
			return
		}
		pgSrv, pgErr = startCluster()
	})
	return pgSrv, pgErr
}

// stopPostgres stops the cluster this process started, if any. Running the
// Once here also makes a late Postgres call fail instead of starting a
// cluster nothing would stop.
func stopPostgres() error {
	pgOnce.Do(func() { pgErr = errors.New("tests have finished") })
	if pgSrv == nil {
		return nil
	}
	return pgSrv.stop()
}

// pgServer is a PostgreSQL server tests create databases on.
type pgServer struct {
	admin *url.URL // a database to run CREATE/DROP DATABASE from

	// The rest is set only for a cluster this process started.
	dir      string // holds data/, the socket and the logs
	binDir   string // /usr/lib/postgresql/<version>/bin
	runuser  string // path of runuser when running as root, else ""
	logPath  string // server log of the current start attempt
	watchdog *exec.Cmd
	lifeline *os.File // write end of the watchdog's stdin
}

func externalServer(raw string) (*pgServer, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envDatabaseURL, err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("%s: want a postgres:// URL, got scheme %q", envDatabaseURL, u.Scheme)
	}
	return &pgServer{admin: u}, nil
}

func (s *pgServer) databaseURL(name string) string {
	u := *s.admin
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}

func (s *pgServer) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.admin.String())
	if err != nil {
		return fmt.Errorf("connect %s: %w", s.admin.Redacted(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql); err != nil {
		return err
	}
	return nil
}

// startCluster creates and starts a throw-away cluster: no durability (fsync,
// synchronous_commit and full_page_writes off) because tests never need to
// survive a crash, and speed matters.
func startCluster() (_ *pgServer, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute) // an install downloads
	defer cancel()

	dir, err := os.MkdirTemp("", "tandem-pg-")
	if err != nil {
		return nil, fmt.Errorf("create cluster directory: %w", err)
	}
	s := &pgServer{dir: dir}
	defer func() {
		if err != nil {
			if stopErr := s.stop(); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
		}
	}()

	if s.binDir, err = postgresBinDir(ctx, filepath.Join(dir, "install.log")); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		if s.runuser, err = exec.LookPath("runuser"); err != nil {
			return nil, fmt.Errorf("running as root needs runuser to drop to %s: %w", pgUser, err)
		}
		u, err := user.Lookup(pgUser)
		if err != nil {
			return nil, fmt.Errorf("look up user %s: %w", pgUser, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, fmt.Errorf("hand cluster directory to %s: %w", pgUser, err)
		}
	}
	if err := s.startWatchdog(); err != nil {
		return nil, err
	}

	initLog := filepath.Join(dir, "initdb.log")
	if err := s.pgTool(ctx, initLog, "initdb", "-D", s.dataDir(), "-A", "trust", "-U", pgUser,
		"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, logTail(initLog))
	}

	// The port is free when picked but another process may bind it before
	// the server does, so a bind failure gets a new port.
	for attempt := 1; ; attempt++ {
		port, err := daemon.FreePort()
		if err != nil {
			return nil, err
		}
		s.logPath = filepath.Join(dir, fmt.Sprintf("postgres-%d.log", attempt))
		err = s.start(ctx, port)
		if err == nil {
			s.admin = &url.URL{
				Scheme:   "postgres",
				User:     url.User(pgUser),
				Host:     fmt.Sprintf("127.0.0.1:%d", port),
				Path:     "/postgres",
				RawQuery: "sslmode=disable",
			}
			return s, nil
		}
		serverLog := logTail(s.logPath)
		if attempt < 3 && strings.Contains(serverLog, "Address already in use") {
			continue
		}
		return nil, fmt.Errorf("start on port %d: %w\n%s\n%s", port, err,
			logTail(filepath.Join(dir, "pg_ctl.log")), serverLog)
	}
}

func (s *pgServer) dataDir() string { return filepath.Join(s.dir, "data") }

func (s *pgServer) start(ctx context.Context, port int) error {
	// pg_ctl hands -o to a shell, hence the quoted socket directory.
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s"+
		" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
		port, shellQuote(s.dir))
	return s.pgTool(ctx, filepath.Join(s.dir, "pg_ctl.log"),
		"pg_ctl", "-D", s.dataDir(), "-l", s.logPath, "-w", "-t", "60", "-o", opts, "start")
}

// stop stops a cluster this process started and removes its directory. It is
// a no-op for an external server.
func (s *pgServer) stop() error {
	if s.dir == "" {
		return nil
	}
	// On failure the watchdog stays armed and tries again when this process
	// exits; the directory stays for it (and for a look at the logs).
	if _, err := os.Stat(filepath.Join(s.dataDir(), "postmaster.pid")); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		stopLog := filepath.Join(s.dir, "stop.log")
		if err := s.pgTool(ctx, stopLog, "pg_ctl", "-D", s.dataDir(), "-m", "immediate", "-w", "stop"); err != nil {
			return fmt.Errorf("stop postgres: %w\n%s", err, logTail(stopLog))
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("remove cluster directory: %w", err)
	}
	s.dismissWatchdog()
	return nil
}

// startWatchdog starts a small shell that blocks reading a pipe whose only
// writer is this process. If the process dies without Main — a panic, a test
// timeout, SIGKILL — the read returns, and the shell stops the cluster and
// removes its directory. pg_ctl puts the server in a session of its own, so
// without this a crashed test run would leave it running. The watchdog has
// its own session too, so a signal to the test's process group does not kill
// it first. Its second pass catches an initdb or pg_ctl start that was still
// running when the process died.
func (s *pgServer) startWatchdog() error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("watchdog pipe: %w", err)
	}
	defer r.Close()
	stop := s.toolArgv("pg_ctl", "-D", s.dataDir(), "-m", "immediate", "-w", "stop")
	const script = `read -r _
"$@" >/dev/null 2>&1; rm -rf -- "$0"
sleep 3
"$@" >/dev/null 2>&1; rm -rf -- "$0"`
	args := append([]string{"-c", script, s.dir}, stop...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start watchdog: %w", err)
	}
	s.watchdog, s.lifeline = cmd, w
	return nil
}

// dismissWatchdog ends the watchdog without letting it act, once stop has
// done its work.
func (s *pgServer) dismissWatchdog() {
	if s.watchdog == nil {
		return
	}
	// Setsid made the shell a process group leader: this kills it and
	// anything it runs.
	_ = syscall.Kill(-s.watchdog.Process.Pid, syscall.SIGKILL)
	s.lifeline.Close()
	_ = s.watchdog.Wait() // "signal: killed", as intended
	s.watchdog = nil
}

// toolArgv is the command line that runs a PostgreSQL program as pgUser.
func (s *pgServer) toolArgv(tool string, args ...string) []string {
	argv := []string{filepath.Join(s.binDir, tool)}
	if s.runuser != "" {
		argv = append([]string{s.runuser, "-u", pgUser, "--"}, argv...)
	}
	return append(argv, args...)
}

// pgTool runs a PostgreSQL program with stdin from /dev/null and its output
// in logPath. A file, not a pipe: the server pg_ctl starts would inherit a
// pipe and keep it open, and the wait for its end would never return.
func (s *pgServer) pgTool(ctx context.Context, logPath, tool string, args ...string) error {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logFile.Close()
	argv := s.toolArgv(tool, args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = s.dir // the postgres user may not be allowed into our working directory
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", tool, err)
	}
	return nil
}

// postgresBinDir returns the bin directory of the newest installed
// PostgreSQL, installing Debian's postgresql package first if there is none.
func postgresBinDir(ctx context.Context, logPath string) (string, error) {
	if dir := newestPostgresBinDir(); dir != "" {
		return dir, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("no /usr/lib/postgresql/*/bin/initdb, and only root can install the postgresql package; install it or set %s", envDatabaseURL)
	}
	if err := installPostgres(ctx, logPath); err != nil {
		return "", err
	}
	if dir := newestPostgresBinDir(); dir != "" {
		return dir, nil
	}
	return "", errors.New("postgresql package installed but no /usr/lib/postgresql/*/bin/initdb")
}

func newestPostgresBinDir() string {
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	best, bestVersion := "", -1.0
	for _, m := range matches {
		bin := filepath.Dir(m)
		version, err := strconv.ParseFloat(filepath.Base(filepath.Dir(bin)), 64)
		if err != nil || version <= bestVersion {
			continue
		}
		if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
			continue
		}
		best, bestVersion = bin, version
	}
	return best
}

func installPostgres(ctx context.Context, logPath string) error {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open install log: %w", err)
	}
	defer logFile.Close()
	// The lock timeout lets concurrent installs (another test package, another
	// session) wait for each other instead of failing.
	for _, args := range [][]string{
		{"-o", "DPkg::Lock::Timeout=300", "update"},
		{"-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends", "postgresql"},
	} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout = logFile
		cmd.Stderr = logFile
		cmd.WaitDelay = 10 * time.Second
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", args[len(args)-1], err, logTail(logPath))
		}
	}
	return nil
}

// logTail returns the last few lines of a log for an error message.
func logTail(path string) string {
	const limit = 4096
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(data) > limit {
		data = data[len(data)-limit:]
		if i := strings.IndexByte(string(data), '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return fmt.Sprintf("--- %s ---\n%s", filepath.Base(path), strings.TrimRight(string(data), "\n"))
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
