// Package storetest opens Tandem's store for tests, on SQLite or on a
// throw-away PostgreSQL database from testenv, and makes the users,
// connections and bindings that tests below the HTTP layer start from.
// It is the one copy of that set-up; tests through HTTP use tandemtest.
// Packages using it need `func TestMain(m *testing.M) { testenv.Main(m) }`
// when they run on PostgreSQL.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
)

// Password is the password of every user made by User.
const Password = "password-123"

// Open returns a fresh, migrated store: on PostgreSQL when pg is set (the
// test is skipped when PostgreSQL cannot be had), else on a temporary
// SQLite file. It is closed when the test ends.
func Open(t testing.TB, pg bool) *store.Store {
	t.Helper()
	o := store.Options{SQLitePath: filepath.Join(t.TempDir(), "tandem.db")}
	if pg {
		o = store.Options{DatabaseURL: testenv.Postgres(t)}
	}
	st, err := store.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Each runs fn on both databases, as the subtests "sqlite" and "postgres".
func Each(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, db := range []struct {
		name string
		pg   bool
	}{{"sqlite", false}, {"postgres", true}} {
		t.Run(db.name, func(t *testing.T) { fn(t, Open(t, db.pg)) })
	}
}

// User creates an active user (named after the address, password
// Password) in the given roles and returns the viewer they act as.
func User(t testing.TB, st *store.Store, email string, roleIDs ...string) access.Viewer {
	t.Helper()
	ctx := context.Background()
	u := &access.User{Email: email, Name: email, Active: true, RoleIDs: roleIDs}
	if err := st.CreateUser(ctx, u, Password); err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	v, err := st.Viewer(ctx, u.ID)
	if err != nil {
		t.Fatalf("viewer of %s: %v", email, err)
	}
	return v
}

// Connection adds an active connection of provider for a user, without
// credentials.
func Connection(t testing.TB, st *store.Store, userID, provider string) *store.Connection {
	t.Helper()
	c := &store.Connection{UserID: userID, Provider: provider, Status: store.ConnectionActive}
	if err := st.CreateConnection(context.Background(), c, ""); err != nil {
		t.Fatalf("create connection: %v", err)
	}
	return c
}

// Binding adds an enabled binding of a connection to a remote collection.
func Binding(t testing.TB, st *store.Store, connID, kind, collection string) *store.Binding {
	t.Helper()
	b := &store.Binding{ConnectionID: connID, Kind: kind, Collection: collection, Enabled: true}
	if err := st.SaveBinding(context.Background(), b); err != nil {
		t.Fatalf("save binding: %v", err)
	}
	return b
}
