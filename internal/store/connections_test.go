package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
)

func TestConnections(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		bob := mkUser(t, s, "bob@example.com")

		c := &Connection{UserID: alice.UserID, Provider: "google", AccountEmail: " Alice@Gmail.com ", DisplayName: "Alice"}
		if err := s.CreateConnection(ctx, c, "v1:sealed-1"); err != nil {
			t.Fatal(err)
		}
		if c.ID == "" || c.AccountEmail != "alice@gmail.com" || c.Status != ConnectionActive || c.CreatedAt == 0 {
			t.Fatalf("created %+v", c)
		}
		dup := &Connection{UserID: alice.UserID, Provider: "google", AccountEmail: "alice@gmail.com"}
		if err := s.CreateConnection(ctx, dup, ""); !errors.Is(err, ErrDuplicate) {
			t.Fatalf("second connection to one account: %v", err)
		}
		// Another user may connect the same account; accounts without an
		// address are not constrained.
		if err := s.CreateConnection(ctx, &Connection{UserID: bob.UserID, Provider: "google", AccountEmail: "alice@gmail.com"}, ""); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if err := s.CreateConnection(ctx, &Connection{UserID: alice.UserID, Provider: "dav"}, ""); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateConnection(ctx, &Connection{UserID: alice.UserID, Provider: "google", Status: "bogus"}, ""); err == nil {
			t.Fatal("unknown status accepted")
		}

		list, err := s.ListConnections(ctx, alice.UserID)
		if err != nil || len(list) != 3 || list[0].ID != c.ID || list[0].Config != "{}" {
			t.Fatalf("list %+v, %v", list, err)
		}
		if _, err := s.GetUserConnection(ctx, bob.UserID, c.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bob reads alice's connection: %v", err)
		}
		if got, err := s.GetUserConnection(ctx, alice.UserID, c.ID); err != nil || got.DisplayName != "Alice" {
			t.Fatalf("get own %+v, %v", got, err)
		}
		if _, err := s.GetConnection(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("get unknown: %v", err)
		}

		// Credentials: plain and compare-and-swap writes.
		if v, _ := s.ConnectionCredentials(ctx, c.ID); v != "v1:sealed-1" {
			t.Fatalf("credentials %q", v)
		}
		if ok, err := s.SaveConnectionCredentials(ctx, c.ID, "v1:sealed-2", "v1:sealed-1"); !ok || err != nil {
			t.Fatalf("swap: %v %v", ok, err)
		}
		if ok, err := s.SaveConnectionCredentials(ctx, c.ID, "v1:sealed-3", "v1:sealed-1"); ok || err != nil {
			t.Fatalf("stale swap: %v %v", ok, err)
		}
		if _, err := s.SaveConnectionCredentials(ctx, "nope", "x", ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("save unknown: %v", err)
		}

		// Health. A stale refresh does not undo a reconnect.
		if ok, _ := s.MarkConnectionNeedsReauth(ctx, c.ID, "v1:sealed-1", "revoked"); ok {
			t.Fatal("marked with stale credentials")
		}
		if ok, _ := s.MarkConnectionNeedsReauth(ctx, c.ID, "v1:sealed-2", "Token has been expired or revoked."); !ok {
			t.Fatal("not marked")
		}
		got, _ := s.GetConnection(ctx, c.ID)
		if got.Status != ConnectionNeedsReauth || got.StatusReason != "Token has been expired or revoked." {
			t.Fatalf("status %q %q", got.Status, got.StatusReason)
		}
		if err := s.UpdateConnectionStatus(ctx, c.ID, ConnectionDegraded, "429"); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateConnectionStatus(ctx, c.ID, "synced", ""); err == nil {
			t.Fatal("unknown status accepted")
		}
		at := crm.Now().Add(-time.Minute)
		if err := s.SetConnectionLastSync(ctx, c.ID, at); err != nil {
			t.Fatal(err)
		}

		// Upsert: a renewed authorization of the same account.
		up := &Connection{UserID: alice.UserID, Provider: "google", AccountEmail: "ALICE@gmail.com", Scopes: "a b"}
		created, err := s.UpsertConnection(ctx, up, func(id string) string { return "v1:for-" + id })
		if err != nil || created || up.ID != c.ID || up.DisplayName != "Alice" || up.LastSyncAt != crm.Micros(at) {
			t.Fatalf("upsert existing: %v %v %+v", created, err, up)
		}
		got, _ = s.GetConnection(ctx, c.ID)
		if got.Status != ConnectionActive || got.StatusReason != "" || got.Scopes != "a b" {
			t.Fatalf("after upsert %+v", got)
		}
		if v, _ := s.ConnectionCredentials(ctx, c.ID); v != "v1:for-"+c.ID {
			t.Fatalf("credentials after upsert %q", v)
		}
		// Concurrent first connections of a new account make one connection.
		var wg sync.WaitGroup
		ids := make([]string, 4)
		for i := range ids {
			wg.Go(func() {
				n := &Connection{UserID: alice.UserID, Provider: "google", AccountEmail: "new@gmail.com"}
				if _, err := s.UpsertConnection(ctx, n, func(id string) string { return "v1:" + id }); err != nil {
					t.Error(err)
				}
				ids[i] = n.ID
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("concurrent upserts made %v", ids)
			}
		}
		if v, _ := s.ConnectionCredentials(ctx, ids[0]); v != "v1:"+ids[0] {
			t.Fatalf("credentials bound to %q", v)
		}

		// Delete: own only; bindings and links go, contacts stay.
		v := alice
		contact := &crm.Contact{GivenName: "Kept"}
		if err := s.CreateContact(WithOrigin(ctx, "test"), v, contact); err != nil {
			t.Fatal(err)
		}
		now := crm.Micros(crm.Now())
		if _, err := s.w.ExecContext(ctx, `INSERT INTO sync_bindings (id, connection_id, kind, collection, created_at, updated_at)
			VALUES ('b1', $1, 'contact', 'contactGroups/tandem', $2, $2)`, c.ID, now); err != nil {
			t.Fatal(err)
		}
		if _, err := s.w.ExecContext(ctx, `INSERT INTO sync_links (binding_id, local_id, remote_id, marker)
			VALUES ('b1', $1, 'people/c1', 'm1')`, contact.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteConnection(ctx, bob.UserID, c.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bob deletes alice's connection: %v", err)
		}
		if err := s.DeleteConnection(ctx, alice.UserID, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetConnection(ctx, c.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted connection: %v", err)
		}
		var n int
		s.r.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM sync_bindings) + (SELECT COUNT(*) FROM sync_links)`).Scan(&n)
		if n != 0 {
			t.Errorf("%d bindings and links left", n)
		}
		if _, err := s.GetContact(ctx, v, contact.ID); err != nil {
			t.Errorf("contact after removing the connection: %v", err)
		}
	})
}

func TestOAuthStates(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		mk := func(hash string, expires time.Time) {
			t.Helper()
			st := &OAuthState{StateHash: hash, UserID: alice.UserID, SessionHash: "s", Provider: "google", Verifier: "v1:x",
				RedirectURI: "http://127.0.0.1/oauth/google/callback", LoginHint: "a@gmail.com", ExpiresAt: crm.Micros(expires)}
			if err := s.CreateOAuthState(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
		mk("live", time.Now().Add(10*time.Minute))
		got, err := s.TakeOAuthState(ctx, "live")
		if err != nil || got.UserID != alice.UserID || got.LoginHint != "a@gmail.com" || got.Verifier != "v1:x" {
			t.Fatalf("take %+v, %v", got, err)
		}
		if _, err := s.TakeOAuthState(ctx, "live"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second take: %v", err)
		}
		mk("old", time.Now().Add(-time.Second))
		if _, err := s.TakeOAuthState(ctx, "old"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("expired take: %v", err)
		}
		// Expired states are purged when new ones are made.
		mk("old2", time.Now().Add(-time.Second))
		mk("new", time.Now().Add(time.Minute))
		var n int
		s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM oauth_states`).Scan(&n)
		if n != 1 {
			t.Errorf("%d states, want 1", n)
		}
	})
}
