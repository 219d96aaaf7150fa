package syncer_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/syncer"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// gate holds the next Google API request until released, so a test can
// keep a run going as long as it likes.
type gate struct {
	mu      sync.Mutex
	armed   bool
	held    chan struct{} // closed when a request is held
	release chan struct{} // close to let it through
}

// arm makes the next request wait; it returns the channel closed once it
// does.
func (g *gate) arm() (held <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.held, g.release = true, make(chan struct{}), make(chan struct{})
	return g.held
}

func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.release != nil {
		close(g.release)
		g.release = nil
	}
	g.armed = false
}

// wait holds r if the gate is armed; false when the caller gave up.
func (g *gate) wait(r *http.Request) bool {
	g.mu.Lock()
	if !g.armed {
		g.mu.Unlock()
		return true
	}
	g.armed = false
	held, release := g.held, g.release
	g.mu.Unlock()
	close(held)
	select {
	case <-release:
		return true
	case <-r.Context().Done(): // the run gave up
		return false
	}
}

// gated points the connection's Google API at a proxy through g.
func gated(t *testing.T, f *googleFixture) *gate {
	t.Helper()
	g := &gate{}
	target, _ := url.Parse(f.g.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.wait(r) {
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(proxy.Close)
	t.Cleanup(g.open) // runs first: a held request must not block Close
	if err := f.s.App.Settings.Put(context.Background(), "GoogleApiUrl", proxy.URL, "test"); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestRunLease(t *testing.T) {
	onBothDatabases(t, testRunLease)
}

// testRunLease: a run's lease on its connection is short and renewed while
// the run goes on. A lease left by a killed process blocks the connection
// only until it expires; a long run keeps its lease; a run whose lease was
// taken over stops.
func testRunLease(t *testing.T, pg bool) {
	ctx := context.Background()
	f := connectGoogle(t, tandemtest.Options{Postgres: pg})
	f.contact(t, "Ann Lee", true)
	f.api.JSON(t, "PUT", "/api/v1/connections/"+f.connID+"/contacts", map[string]any{"enabled": true, "tag_id": f.tagID}, 200, nil)
	g := gated(t, f)
	svc, st := f.s.App.Sync, f.s.App.Store
	// Another process's attempt to take the connection.
	otherTakes := func() bool {
		t.Helper()
		ok, err := st.TryRunLease(ctx, f.connID, "another-process", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			st.ReleaseRunLease(ctx, f.connID, "another-process")
		}
		return ok
	}

	// A process killed during a run leaves its lease: the connection is
	// busy until the lease expires, then runs.
	svc.LeaseTTL, svc.LeaseRenew = 300*time.Millisecond, 50*time.Millisecond
	const deadTTL = 400 * time.Millisecond
	taken := time.Now()
	if ok, err := st.TryRunLease(ctx, f.connID, "killed-process", deadTTL); !ok || err != nil {
		t.Fatalf("take the lease: %v %v", ok, err)
	}
	busy := 0
	for {
		res, err := svc.RunConnection(ctx, f.connID)
		if errors.Is(err, syncer.ErrBusy) {
			busy++
			if time.Since(taken) > 5*time.Second {
				t.Fatal("the dead process's lease never expired")
			}
			time.Sleep(25 * time.Millisecond)
			continue
		}
		if err != nil {
			t.Fatalf("run after the lease expired: %v", err)
		}
		if el := time.Since(taken); el < deadTTL {
			t.Fatalf("ran %v after the dead process took a %v lease", el, deadTTL)
		}
		if s := res.Stats[syncer.KindContacts]; s.RemoteCreated != 1 {
			t.Fatalf("run %+v", s)
		}
		break
	}
	if busy == 0 {
		t.Fatal("the dead process's lease did not block the connection")
	}
	if !otherTakes() {
		t.Fatal("the lease was not released after the run")
	}

	// A run longer than the lease keeps it: another process cannot take
	// the connection during the run, however long it takes.
	held := g.arm()
	type result struct {
		res syncer.Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := svc.RunConnection(ctx, f.connID)
		done <- result{res, err}
	}()
	select {
	case <-held:
	case r := <-done:
		t.Fatalf("the run ended without calling Google: %+v", r)
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not call Google")
	}
	for end := time.Now().Add(4 * svc.LeaseTTL); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if otherTakes() {
			t.Fatal("another process took the lease of a running run")
		}
	}
	g.open()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("the long run: %v", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the long run did not finish")
	}
	if !otherTakes() {
		t.Fatal("the lease was not released after the long run")
	}

	// A run that cannot renew in time (renewing less often than the
	// lease lasts stands for a process stalled that long) and finds its
	// lease taken over stops instead of running beside the new holder.
	svc.LeaseTTL, svc.LeaseRenew = 150*time.Millisecond, 600*time.Millisecond
	held = g.arm()
	started := time.Now()
	go func() {
		res, err := svc.RunConnection(ctx, f.connID)
		done <- result{res, err}
	}()
	<-held
	time.Sleep(time.Until(started.Add(200 * time.Millisecond)))
	if ok, err := st.TryRunLease(ctx, f.connID, "new-holder", time.Minute); !ok || err != nil {
		t.Fatalf("take over the expired lease: %v %v", ok, err)
	}
	select {
	case r := <-done:
		if !errors.Is(r.err, syncer.ErrLeaseLost) {
			t.Fatalf("the run that lost its lease: %v, want ErrLeaseLost", r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run that lost its lease did not stop")
	}
	// The new holder keeps the lease: the old run neither released nor
	// renewed it.
	if otherTakes() {
		t.Fatal("the lease of the new holder was lost")
	}
	if _, err := svc.RunConnection(ctx, f.connID); !errors.Is(err, syncer.ErrBusy) {
		t.Fatalf("a run while the new holder holds the lease: %v", err)
	}
	if err := st.ReleaseRunLease(ctx, f.connID, "new-holder"); err != nil {
		t.Fatal(err)
	}
}
