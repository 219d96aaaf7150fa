// Package crashtest kills sync runs the way a crash would: a test starts
// a child process of its own test binary that opens Tandem on the test's
// database and runs one connection, and kills it with SIGKILL — at a
// random moment, or once the engine reached a named crash point
// (reconcile.HookItem, HookCommitted, HookPushed) where the child halts
// and waits for the kill. The parent then expires the run lease the dead
// child held and goes on.
//
// The child is a test of the same package that calls Helper first:
//
//	func TestXHelperProcess(t *testing.T) {
//		cfg, connID := crashtest.Helper(t, "TestX")
//		a, err := app.Open(ctx, cfg, …)
//		…
//		crashtest.Ready()
//		res, err := a.Sync.RunConnection(ctx, connID)
//		…
//		crashtest.Done(res.Stats)
//	}
//
// and the parent starts it with Start(t, "TestXHelperProcess", Env(cfg,
// connID)) (plus Halt(point, n) to stop it at a crash point).
package crashtest

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/tandem-crm/tandem/internal/config"
	"github.com/tandem-crm/tandem/internal/reconcile"
)

// The parent hands the child its database, key and connection in these
// variables.
const (
	envHelper   = "TANDEM_CRASH_HELPER"
	envData     = "TANDEM_CRASH_DATA"
	envKey      = "TANDEM_CRASH_KEY"
	envDatabase = "TANDEM_CRASH_DATABASE"
	envConn     = "TANDEM_CRASH_CONNECTION"
	// envHalt ("point:n") makes the child stop at the n-th time the engine
	// passes a crash point, say so and wait there for the parent's
	// SIGKILL.
	envHalt = "TANDEM_CRASH_HALT"
)

// What the child prints on its standard output.
const (
	readyLine  = "crash-helper: running"
	doneLine   = "crash-helper: done "
	haltedLine = "crash-helper: halted at "
)

// Env is the environment of a child that runs connection connID on the
// database and key of cfg; extra ("NAME=value") entries are added as they
// are.
func Env(cfg *config.Config, connID string, extra ...string) []string {
	env := append(os.Environ(), envHelper+"=1", envData+"="+cfg.DataDir, envKey+"="+cfg.SecretKey,
		envDatabase+"="+cfg.DatabaseURL, envConn+"="+connID)
	return append(env, extra...)
}

// Halt is the environment entry that makes the child halt the n-th time
// (from 1) the engine passes point, until it is killed.
func Halt(point string, n int) string { return envHalt + "=" + point + ":" + strconv.Itoa(n) }

// Helper is the child's side: outside a child process it skips the test
// (parent names the test that starts it); inside, it installs the halt
// point the parent asked for and returns the configuration to open the
// app with and the connection to run.
func Helper(t *testing.T, parent string) (*config.Config, string) {
	t.Helper()
	if os.Getenv(envHelper) != "1" {
		t.Skipf("the child process of %s", parent)
	}
	if at := os.Getenv(envHalt); at != "" {
		point, nth, _ := strings.Cut(at, ":")
		want, err := strconv.ParseInt(nth, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", envHalt, at, err)
		}
		var seen atomic.Int64
		reconcile.SetTestHook(func(ctx context.Context, p string) error {
			if p == point && seen.Add(1) == want {
				fmt.Println(haltedLine + at)
				time.Sleep(time.Hour) // the parent kills the process here
			}
			return nil
		})
	}
	cfg := &config.Config{DataDir: os.Getenv(envData), SecretKey: os.Getenv(envKey), DatabaseURL: os.Getenv(envDatabase)}
	return cfg, os.Getenv(envConn)
}

// Ready tells the parent the child starts its run now.
func Ready() { fmt.Println(readyLine) }

// Done tells the parent the run ended, with what it did (as JSON).
func Done(stats any) {
	js, _ := json.Marshal(stats)
	fmt.Println(doneLine + string(js))
}

// Child is a running child process.
type Child struct {
	cmd    *exec.Cmd
	ready  chan struct{} // closed when it starts the run (or ends)
	halted chan struct{} // closed when it halted at its crash point
	exit   chan struct{} // closed when it has ended
	err    error         // of Wait

	mu  sync.Mutex
	out strings.Builder
}

// Start runs the test binary's test named test as a child with env.
func Start(t testing.TB, test string, env []string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = env
	c := &Child{cmd: cmd, ready: make(chan struct{}), halted: make(chan struct{}), exit: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &lockedWriter{c}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		var once, halt sync.Once
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.out.WriteString(line + "\n")
			c.mu.Unlock()
			if line == readyLine {
				once.Do(func() { close(c.ready) })
			}
			if strings.HasPrefix(line, haltedLine) {
				halt.Do(func() { close(c.halted) })
			}
		}
		io.Copy(io.Discard, stdout)
		once.Do(func() { close(c.ready) })
		c.err = cmd.Wait()
		close(c.exit)
	}()
	return c
}

type lockedWriter struct{ c *Child }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.out.Write(p)
}

// KillAfter kills the child with SIGKILL d after it started its run and
// reports whether it did (false: the child ended first).
func (c *Child) KillAfter(d time.Duration) bool {
	select {
	case <-c.ready:
	case <-time.After(time.Minute):
	}
	select {
	case <-c.exit:
		return false
	case <-time.After(d):
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exit
	return !c.OK()
}

// KillWhenHalted kills the child with SIGKILL once it halted at its crash
// point, and reports whether it did halt (false: it ended, or did not get
// there within two minutes).
func (c *Child) KillWhenHalted() bool {
	select {
	case <-c.halted:
	case <-c.exit:
		return false
	case <-time.After(2 * time.Minute):
		c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.exit
		return false
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exit
	return true
}

// Wait waits d at most for the child to end on its own, then stops it;
// it reports whether the child ended on its own. A child that overstays
// gets SIGQUIT first, so its goroutines' stacks (written to stderr) are
// in Output to tell where it was stuck.
func (c *Child) Wait(d time.Duration) bool {
	select {
	case <-c.exit:
		return true
	case <-time.After(d):
	}
	c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.exit:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Signal(syscall.SIGKILL)
		<-c.exit
	}
	return false
}

// OK reports whether the child ended its run and exited cleanly.
func (c *Child) OK() bool { return c.err == nil && strings.Contains(c.Output(), doneLine) }

// Output is what the child printed so far.
func (c *Child) Output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

// Stats is what the child passed to Done, or "".
func (c *Child) Stats() string {
	out := c.Output()
	if i := strings.Index(out, doneLine); i >= 0 {
		s, _, _ := strings.Cut(out[i+len(doneLine):], "\n")
		return s
	}
	return ""
}

// OpenRaw opens cfg's database for the few reads and writes a test does
// behind the store's back.
func OpenRaw(t testing.TB, cfg *config.Config) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if cfg.Postgres() {
		db, err = sql.Open("pgx", cfg.DatabaseURL)
	} else {
		db, err = sql.Open("sqlite", "file:"+cfg.SQLitePath()+"?_pragma=busy_timeout(10000)")
	}
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// ExpireLease ends the run lease a killed child held on a connection: in
// production it expires syncer.DefaultLeaseTTL (2 minutes) after its last
// renewal.
func ExpireLease(t testing.TB, db *sql.DB, connID string) {
	t.Helper()
	if _, err := db.Exec(`UPDATE connections SET run_lease_holder = '', run_lease_until = 0 WHERE id = $1`, connID); err != nil {
		t.Fatal(err)
	}
}
