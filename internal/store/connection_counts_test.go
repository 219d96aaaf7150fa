package store

import (
	"context"
	"slices"
	"testing"
)

func TestCountConnections(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if got, err := s.CountConnections(ctx); err != nil || len(got) != 0 {
			t.Fatalf("no connections: %v %v", got, err)
		}
		alice := mkUser(t, s, "alice@example.com")
		for i, st := range []ConnectionStatus{ConnectionActive, ConnectionActive, ConnectionNeedsReauth, ConnectionDegraded} {
			c := &Connection{UserID: alice.UserID, Provider: "google", AccountEmail: string(rune('a'+i)) + "@gmail.com"}
			if err := s.CreateConnection(ctx, c, ""); err != nil {
				t.Fatal(err)
			}
			if err := s.UpdateConnectionStatus(ctx, c.ID, st, "why"); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateConnection(ctx, &Connection{UserID: alice.UserID, Provider: "dav", Status: ConnectionFailed}, ""); err != nil {
			t.Fatal(err)
		}
		got, err := s.CountConnections(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []ConnectionCount{
			{"dav", ConnectionActive, 0}, {"dav", ConnectionNeedsReauth, 0}, {"dav", ConnectionDegraded, 0}, {"dav", ConnectionFailed, 1},
			{"google", ConnectionActive, 2}, {"google", ConnectionNeedsReauth, 1}, {"google", ConnectionDegraded, 1}, {"google", ConnectionFailed, 0},
		}
		if !slices.Equal(got, want) {
			t.Errorf("counts\n got %v\nwant %v", got, want)
		}
	})
}
