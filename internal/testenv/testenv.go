// Package testenv is Tandem's one integration test harness: it starts the real
// servers that integration tests run against and hands each test a fresh,
// isolated resource on them.
//
// It owns the lifecycle of those servers. Today that is PostgreSQL: one
// throw-away cluster per test process (or the server named by
// TANDEM_TEST_DATABASE_URL, which scripts/test starts once for a whole run),
// and one new database per test. Later servers (Dovecot, Radicale, the
// emulators) belong here too.
//
// A package that uses testenv must call Main from its TestMain, so the servers
// it started are stopped when the tests end:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Environment:
//
//	TANDEM_TEST_DATABASE_URL  postgres:// URL of a running server to create test databases on
//	TANDEM_TEST_SKIP_PG=1     skip tests that need PostgreSQL instead of starting a cluster
package testenv

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv/daemon"
)

// mainCalled records that the package's TestMain went through Main, so the
// servers started for it are stopped at the end of the run.
var mainCalled atomic.Bool

// Main runs the tests, stops every server testenv started for this process and
// exits with the tests' status. Call it from TestMain.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if err := stopPostgres(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another
// process may take it before the caller binds it, so servers started on it
// should retry on "address already in use".
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := daemon.FreePort()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return port
}

const modulePath = "github.com/tandem-crm/tandem"

// RepoRoot returns the directory holding Tandem's go.mod. Tests run in their
// package directory, so it walks up from there; it panics if the module
// cannot be found, since no test can run meaningfully without it.
func RepoRoot() string { return repoRoot() }

var repoRoot = sync.OnceValue(func() string {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	// Fall back to this source file's location, for binaries run from
	// elsewhere (it is absent when built with -trimpath).
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if isModuleRoot(dir) {
				return dir
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	panic("testenv: cannot find the directory holding go.mod of " + modulePath)
})

func isModuleRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if mod, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(mod), `"`) == modulePath
		}
	}
	return false
}
