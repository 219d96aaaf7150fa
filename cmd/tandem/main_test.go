package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/app"
	"github.com/tandem-crm/tandem/internal/config"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

func TestMain(m *testing.M) {
	// The test binary stands in for the tandem binary when a test has a
	// command re-execute it (`tandem bench sync` runs `emulator google`
	// from os.Executable()).
	if os.Getenv(runMainEnv) == "1" {
		main()
	}
	testenv.Main(m)
}

// runMainEnv makes the test binary run main with its arguments.
const runMainEnv = "TANDEM_TEST_RUN_MAIN"

func TestCLI(t *testing.T) {
	data := t.TempDir()
	t.Setenv("TANDEM_DATA", data)
	t.Setenv("TANDEM_LOG_LEVEL", "error")
	var out, errb bytes.Buffer
	if err := run([]string{"version"}, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "tandem ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	if err := run([]string{"migrate"}, &out, &errb); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errb.String())
	}
	st, err := os.Stat(filepath.Join(data, "secret.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, st)
	}
	out.Reset()
	if err := run([]string{"user", "create", "--email", "Ann@Example.com", "--name", "Ann", "--password", "secret-pass-1", "--admin"}, &out, &errb); err != nil {
		t.Fatalf("user create: %v\n%s", err, errb.String())
	}
	if err := run([]string{"user", "create", "--email", "ann@example.com", "--password", "secret-pass-1"}, &out, &errb); err == nil {
		t.Error("duplicate user accepted")
	}
	if err := run([]string{"user", "passwd", "--email", "ann@example.com", "--password", "other-pass-2"}, &out, &errb); err != nil {
		t.Fatalf("passwd: %v", err)
	}
	if err := run([]string{"user", "passwd", "--email", "nobody@example.com", "--password", "other-pass-2"}, &out, &errb); err == nil {
		t.Error("passwd for unknown user succeeded")
	}
	s, err := store.Open(context.Background(), store.Options{SQLitePath: filepath.Join(data, "tandem.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.Authenticate(context.Background(), "ann@example.com", "other-pass-2")
	if err != nil {
		t.Fatalf("login with new password: %v", err)
	}
	v, _ := s.Viewer(context.Background(), u.ID)
	if !v.Can(access.OpManageAdministration) {
		t.Error("--admin did not grant administration")
	}
	if err := run([]string{"frobnicate"}, &out, &errb); err == nil {
		t.Error("unknown command accepted")
	}
}

func TestFirstStartAdmin(t *testing.T) {
	data := t.TempDir()
	t.Setenv("TANDEM_DATA", data)
	t.Setenv("TANDEM_LOG_LEVEL", "error")
	t.Setenv("TANDEM_ADDR", "127.0.0.1:0")
	var out, errb bytes.Buffer
	// serve runs until its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := serve(ctx, nil, &out, &errb); err != nil {
		t.Fatalf("serve: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "admin@localhost") || !strings.Contains(out.String(), "password") {
		t.Fatalf("first start did not print the admin password: %q", out.String())
	}
	out.Reset()
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := serve(ctx, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("second start printed %q", out.String())
	}
}

// TestNoDatabase: commands that only use a database refuse to run where
// there is none, name the folder, and create nothing; serve and migrate
// create it.
func TestNoDatabase(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("TANDEM_DATA", "") // the default, ./data
	t.Setenv("TANDEM_SECRET_KEY", "")
	t.Setenv("TANDEM_DATABASE_URL", "")
	t.Setenv("TANDEM_LOG_LEVEL", "error")
	abs := filepath.Join(dir, "data")
	var out, errb bytes.Buffer
	for _, args := range [][]string{
		{"sync", "list"},
		{"sync", "run", "--connection", "c1"},
		{"user", "create", "--email", "ann@example.com", "--password", "secret-pass-1"},
		{"user", "passwd", "--email", "ann@example.com", "--password", "secret-pass-1"},
		{"worker"},
	} {
		out.Reset()
		err := run(args, &out, &errb)
		want := "no Tandem database in ./data (" + abs + "); run `tandem serve` or `tandem migrate` first, or pass --data / --database-url"
		if err == nil || err.Error() != want {
			t.Errorf("%v: %v, want %q", args, err, want)
		}
		if out.Len() != 0 {
			t.Errorf("%v printed %q", args, out.String())
		}
		if _, err := os.Stat(abs); !os.IsNotExist(err) {
			t.Fatalf("%v created the data folder: %v", args, err)
		}
	}

	if err := run([]string{"migrate"}, &out, &errb); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errb.String())
	}
	out.Reset()
	if err := run([]string{"sync", "list"}, &out, &errb); err != nil || out.String() != "no connections\n" {
		t.Fatalf("sync list after migrate: %v %q", err, out.String())
	}
	if err := run([]string{"user", "create", "--email", "ann@example.com", "--password", "secret-pass-1"}, &out, &errb); err != nil {
		t.Fatalf("user create after migrate: %v", err)
	}

	// Without its key the database's secrets cannot be read: refused, and
	// no new key is made up.
	key := filepath.Join("data", "secret.key")
	if err := os.Remove(key); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"sync", "list"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), key+" does not exist") || !strings.Contains(err.Error(), "TANDEM_SECRET_KEY") {
		t.Errorf("sync list without the key: %v", err)
	}
	if _, err := os.Stat(key); !os.IsNotExist(err) {
		t.Errorf("sync list created a key: %v", err)
	}
}

// TestNoDatabasePostgres: an empty PostgreSQL database is refused the
// same way, until migrate sets it up.
func TestNoDatabasePostgres(t *testing.T) {
	dbURL := testenv.Postgres(t)
	t.Chdir(t.TempDir())
	t.Setenv("TANDEM_DATA", "")
	t.Setenv("TANDEM_DATABASE_URL", dbURL)
	t.Setenv("TANDEM_SECRET_KEY", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32)))
	t.Setenv("TANDEM_LOG_LEVEL", "error")
	var out, errb bytes.Buffer
	for _, args := range [][]string{{"sync", "list"}, {"user", "create", "--email", "ann@example.com", "--password", "secret-pass-1"}} {
		err := run(args, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), "no Tandem database at postgres://") ||
			!strings.Contains(err.Error(), "(no migrations applied); run `tandem serve` or `tandem migrate`") {
			t.Errorf("%v: %v", args, err)
		}
	}
	if _, err := os.Stat("data"); !os.IsNotExist(err) {
		t.Errorf("a data folder was created: %v", err)
	}
	if err := run([]string{"migrate"}, &out, &errb); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errb.String())
	}
	out.Reset()
	if err := run([]string{"sync", "list"}, &out, &errb); err != nil || out.String() != "no connections\n" {
		t.Fatalf("sync list after migrate: %v %q", err, out.String())
	}
}

// TestWorkerMetrics: a worker started with --metrics-addr serves the sync
// runs it ran; the database-wide gauges are left to the server.
func TestWorkerMetrics(t *testing.T) {
	data := t.TempDir()
	t.Setenv("TANDEM_DATA", data)
	t.Setenv("TANDEM_LOG_LEVEL", "error")
	ctx := context.Background()
	var out, errb bytes.Buffer
	if err := run([]string{"migrate"}, &out, &errb); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errb.String())
	}
	// A run for the worker: of a connection that needs a new sign-in, so
	// it fails at once, without Google.
	a, err := app.Open(ctx, &config.Config{DataDir: data}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ann := storetest.User(t, a.Store, "ann@example.com")
	conn := &store.Connection{UserID: ann.UserID, Provider: "google", AccountEmail: "ann@gmail.com", Status: store.ConnectionNeedsReauth}
	if err := a.Store.CreateConnection(ctx, conn, ""); err != nil {
		t.Fatal(err)
	}
	if err := a.OpenQueue(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Sync.Enqueue(ctx, conn.ID, "manual"); err != nil {
		t.Fatal(err)
	}
	a.Close(ctx)

	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- worker(wctx, []string{"--workers", "1", "--metrics-addr", addr}, io.Discard) }()
	var sc tandemtest.Scrape
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		sc, err = tandemtest.ParseScrape(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := sc.Value("tandem_sync_runs_total", "provider", "google", "kind", "connection", "result", "error"); ok {
			break
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("worker: %v", err)
	}
	if n, _ := sc.Value("tandem_sync_errors_total", "provider", "google", "kind", "connection", "error", "needs_reauth"); n != 1 {
		t.Errorf("worker's needs_reauth runs: %v", n)
	}
	if _, ok := sc["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
	if _, ok := sc["tandem_jobs"]; ok {
		t.Error("a worker reports the queue's gauge")
	}
}
