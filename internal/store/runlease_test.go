package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
)

// leaseState reads a connection's lease as stored.
func leaseState(t *testing.T, s *Store, connID string) (holder string, until time.Time) {
	t.Helper()
	var us int64
	if err := s.r.QueryRowContext(context.Background(), `SELECT run_lease_holder, run_lease_until FROM connections WHERE id = $1`,
		connID).Scan(&holder, &us); err != nil {
		t.Fatal(err)
	}
	return holder, crm.FromMicros(us)
}

// A run renews its lease only while it still holds it: renewing extends
// the holder's lease (even one that ran out unnoticed), and fails once
// another holder has taken it or it was given back.
func TestRenewRunLease(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		c := &Connection{UserID: alice.UserID, Provider: "google", AccountEmail: "alice@gmail.com"}
		if err := s.CreateConnection(ctx, c, ""); err != nil {
			t.Fatal(err)
		}
		try := func(holder string, ttl time.Duration, want bool) {
			t.Helper()
			if ok, err := s.TryRunLease(ctx, c.ID, holder, ttl); err != nil || ok != want {
				t.Fatalf("TryRunLease(%s, %v) = %v, %v; want %v", holder, ttl, ok, err, want)
			}
		}
		renew := func(holder string, ttl time.Duration, want bool) {
			t.Helper()
			if ok, err := s.RenewRunLease(ctx, c.ID, holder, ttl); err != nil || ok != want {
				t.Fatalf("RenewRunLease(%s, %v) = %v, %v; want %v", holder, ttl, ok, err, want)
			}
		}

		// The holder renews: the lease lasts ttl from the renewal.
		try("run-a", time.Minute, true)
		_, first := leaseState(t, s, c.ID)
		before := time.Now()
		renew("run-a", time.Hour, true)
		if h, until := leaseState(t, s, c.ID); h != "run-a" || until.Before(before.Add(time.Hour-time.Second)) || !until.After(first) {
			t.Fatalf("after renewal: %q until %v (taken until %v)", h, until, first)
		}

		// Another holder can neither renew nor take it; the lease stays.
		renew("run-b", time.Hour, false)
		try("run-b", time.Minute, false)
		if h, _ := leaseState(t, s, c.ID); h != "run-a" {
			t.Fatalf("holder %q after another's renewal", h)
		}
		renew("", time.Hour, false)

		// Run out, but nobody took it: still the holder's to renew.
		try("run-a", -time.Second, true)
		renew("run-a", time.Minute, true)
		try("run-b", time.Minute, false)

		// Run out and taken by another holder: the old holder has lost it.
		try("run-a", -time.Second, true)
		try("run-b", time.Minute, true)
		renew("run-a", time.Hour, false)
		if h, until := leaseState(t, s, c.ID); h != "run-b" || until.After(time.Now().Add(2*time.Minute)) {
			t.Fatalf("after the old holder's renewal: %q until %v", h, until)
		}
		renew("run-b", time.Minute, true)

		// Given back: nobody renews it.
		if err := s.ReleaseRunLease(ctx, c.ID, "run-b"); err != nil {
			t.Fatal(err)
		}
		renew("run-b", time.Minute, false)
		try("run-a", time.Minute, true)

		// Renewing another connection's lease does nothing.
		other := &Connection{UserID: alice.UserID, Provider: "google", AccountEmail: "other@gmail.com"}
		if err := s.CreateConnection(ctx, other, ""); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.RenewRunLease(ctx, other.ID, "run-a", time.Minute); ok || err != nil {
			t.Fatalf("renewed a lease never taken: %v %v", ok, err)
		}
	})
}

// LinkedIDs answers for any number of ids (in chunks), pending links
// included, one binding only.
func TestLinkedIDs(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		c := &Connection{UserID: alice.UserID, Provider: "google", AccountEmail: "alice@gmail.com"}
		if err := s.CreateConnection(ctx, c, ""); err != nil {
			t.Fatal(err)
		}
		b1 := &Binding{ConnectionID: c.ID, Kind: "contact", Collection: "g1"}
		b2 := &Binding{ConnectionID: c.ID, Kind: "contact", Collection: "g2"}
		for _, b := range []*Binding{b1, b2} {
			if err := s.SaveBinding(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		var ids []string
		want := map[string]bool{}
		err := s.InTx(ctx, func(tx *Tx) error {
			for i := range 2500 {
				id := fmt.Sprintf("local-%04d", i)
				ids = append(ids, id)
				switch i % 5 {
				case 0:
					want[id] = true
					if err := tx.PutLink(ctx, &Link{BindingID: b1.ID, LocalID: id, RemoteID: "r" + id, Marker: "m" + id}); err != nil {
						return err
					}
				case 1:
					want[id] = true
					if err := tx.PutLink(ctx, &Link{BindingID: b1.ID, LocalID: id, Marker: "m" + id, Pending: true}); err != nil {
						return err
					}
				case 2:
					if err := tx.PutLink(ctx, &Link{BindingID: b2.ID, LocalID: id, RemoteID: "r" + id, Marker: "m" + id}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ids[0], "", "not-a-record") // duplicates and strangers are harmless
		got, err := s.LinkedIDs(ctx, b1.ID, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("%d linked, want %d", len(got), len(want))
		}
		for id := range want {
			if !got[id] {
				t.Errorf("%s not reported linked", id)
			}
		}
		if got, err := s.LinkedIDs(ctx, b1.ID, nil); err != nil || len(got) != 0 {
			t.Errorf("no ids: %v %v", got, err)
		}
	})
}

// EndRunLease gives the lease back and records the run's end in one
// write; only the holder's end counts, and an empty end keeps the health.
func TestEndRunLease(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		c := &Connection{UserID: alice.UserID, Provider: "imap", AccountEmail: "alice@example.com"}
		if err := s.CreateConnection(ctx, c, ""); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.TryRunLease(ctx, c.ID, "a", time.Minute); err != nil || !ok {
			t.Fatalf("take: %v, %v", ok, err)
		}
		// Not the holder: nothing happens.
		if err := s.EndRunLease(ctx, c.ID, "b", RunEnd{Status: ConnectionFailed, Reason: "x"}); err != nil {
			t.Fatal(err)
		}
		if h, _ := leaseState(t, s, c.ID); h != "a" {
			t.Fatalf("holder %q after another's end", h)
		}
		at := time.Date(2021, 3, 10, 12, 0, 0, 0, time.UTC)
		if err := s.EndRunLease(ctx, c.ID, "a", RunEnd{LastSync: at, Status: ConnectionDegraded, Reason: "server unreachable"}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetConnection(ctx, c.ID)
		if err != nil || got.Status != ConnectionDegraded || got.StatusReason != "server unreachable" || got.LastSyncAt != crm.Micros(at) {
			t.Fatalf("after end: %+v, %v", got, err)
		}
		if h, _ := leaseState(t, s, c.ID); h != "" {
			t.Fatalf("lease still held by %q", h)
		}
		// An empty end (a cancelled run) keeps health and time.
		if ok, _ := s.TryRunLease(ctx, c.ID, "c", time.Minute); !ok {
			t.Fatal("lease not free after its end")
		}
		if err := s.EndRunLease(ctx, c.ID, "c", RunEnd{}); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetConnection(ctx, c.ID); got.Status != ConnectionDegraded || got.LastSyncAt != crm.Micros(at) {
			t.Fatalf("an empty end changed the connection: %+v", got)
		}
	})
}
