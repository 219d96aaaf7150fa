package testenv

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestPostgresGivesIsolatedDatabasesAndDropsThem(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var (
		name  string
		connA *pgx.Conn // closed only after the inner test's cleanup dropped its database
	)
	defer func() {
		if connA != nil {
			connA.Close(context.Background())
		}
	}()
	t.Run("inner", func(t *testing.T) {
		a, b := Postgres(t), Postgres(t)
		if a == b {
			t.Fatalf("two calls gave the same database %s", a)
		}
		var err error
		if connA, err = pgx.Connect(ctx, a); err != nil {
			t.Fatal(err)
		}
		connB := connect(ctx, t, b)
		if _, err := connA.Exec(ctx, "CREATE TABLE only_in_a (id int)"); err != nil {
			t.Fatal(err)
		}
		var n int
		err = connB.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'").Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatal("a table created in one database is visible in the other")
		}
		if err := connA.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() {
		return
	}

	srv, err := postgresServer()
	if err != nil {
		t.Fatal(err)
	}
	admin := connect(ctx, t, srv.admin.String())
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test ended, though a session was open", name)
	}
}

func TestPostgresSkipsWhenAskedTo(t *testing.T) {
	t.Setenv(envSkipPG, "1")
	skipped := false
	t.Run("inner", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Postgres(t)
	})
	if !skipped {
		t.Fatal("Postgres did not skip with " + envSkipPG + "=1")
	}
}

func TestDatabaseName(t *testing.T) {
	tests := []string{
		"TestX",
		"TestSomething/sub_test/with spaces & symbols",
		strings.Repeat("VeryLongTestName", 20),
	}
	for _, testName := range tests {
		name, err := databaseName(testName)
		if err != nil {
			t.Fatal(err)
		}
		if len(name) > 63 {
			t.Errorf("databaseName(%q) = %q: longer than 63 bytes", testName, name)
		}
		for _, r := range name {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
				t.Errorf("databaseName(%q) = %q: invalid character %q", testName, name, r)
			}
		}
		other, _ := databaseName(testName)
		if other == name {
			t.Errorf("databaseName(%q) gave %q twice", testName, name)
		}
	}
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("port %d is not free: %v", port, err)
	}
	l.Close()
}

func TestRepoRoot(t *testing.T) {
	root := RepoRoot()
	if _, err := os.Stat(filepath.Join(root, "internal", "testenv", "testenv.go")); err != nil {
		t.Fatalf("RepoRoot() = %s, which does not hold this package: %v", root, err)
	}
}

func connect(ctx context.Context, t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
