package google

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"

	emu "github.com/tandem-crm/tandem/internal/emulator/google"
)

// BenchmarkExport5000 exports 5,000 contacts through CreateMany, 200 at a
// time as the engine hands them over, to an emulator with its default
// quotas on the real clock, and reports the wall time against the quota
// floor (issue 8 §3: goal ≤ 1.2×). It waits out real per-minute quotas:
// about two minutes an iteration.
//
//	go test ./internal/connector/google -run - -bench Export5000 -benchtime 1x
func BenchmarkExport5000(b *testing.B) {
	for b.Loop() {
		e := emu.New(emu.Options{})
		e.AddUser(user, "Conn")
		srv := httptest.NewServer(e.Handler())
		ctx := context.Background()
		hc := HTTPClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: e.MintAccessToken(user)}), Account("bench"))
		svc, err := NewPeople(ctx, hc, FromBase(srv.URL))
		if err != nil {
			b.Fatal(err)
		}
		e.ResetCounts()
		start := time.Now()
		group, err := EnsureGroup(ctx, svc, DefaultGroupName)
		if err != nil {
			b.Fatal(err)
		}
		c := NewContacts(svc, group)
		items := newItems(5000)
		for lo := 0; lo < len(items); lo += c.MaxBatch() {
			res, err := c.CreateMany(ctx, items[lo:min(lo+c.MaxBatch(), len(items))])
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					b.Fatal(r.Err)
				}
			}
		}
		wall := time.Since(start)
		floor, err := e.QuotaFloor()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(floor.Seconds(), "floor-s")
		b.ReportMetric(wall.Seconds()/floor.Seconds(), "wall/floor")
		b.ReportMetric(float64(e.QuotaRefusals()["peopleCriticalWrites"]), "429s")
		srv.Close()
		e.Close()
	}
}
