package syncer

import (
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/reconcile"
)

// TestProgressWriter: the first counts are saved at once, later ones at
// most once per period — the newest of them, also when no more come (a
// run waiting on a slow request) — and none after stop.
func TestProgressWriter(t *testing.T) {
	st := func(n int) reconcile.Stats { return reconcile.Stats{Pulled: n} }

	saved := make(chan int, 10)
	p := &progressWriter{every: time.Hour, save: func(s reconcile.Stats) { saved <- s.Pulled }}
	p.update(st(1))
	p.update(st(2)) // within the hour: waits
	p.stop()
	p.update(st(3))
	if got := <-saved; got != 1 || len(saved) != 0 {
		t.Errorf("saved %d then %d more, want 1 and none", got, len(saved))
	}

	saved = make(chan int, 10)
	p = &progressWriter{every: 20 * time.Millisecond, save: func(s reconcile.Stats) { saved <- s.Pulled }}
	defer p.stop()
	for n := 1; n <= 5; n++ {
		p.update(st(n))
	}
	var got []int
	timeout := time.After(10 * time.Second)
	for len(got) == 0 || got[len(got)-1] != 5 {
		select {
		case n := <-saved:
			got = append(got, n)
		case <-timeout:
			t.Fatalf("saved %v; the newest counts never were", got)
		}
	}
	if got[0] != 1 || len(got) > 5 {
		t.Errorf("saved %v", got)
	}
}
