package google

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	emu "github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/reconcile"
	"github.com/tandem-crm/tandem/internal/testenv"
)

// fixture is an emulator on a test clock and a connector to its group.
type fixture struct {
	t     *testing.T
	e     *emu.Server
	url   string
	clock *testenv.Clock
	group string
	waits []time.Duration // the connector's retry waits, taken on the clock
	mu    sync.Mutex
}

// newFixture starts an emulator (quotas: nil = its defaults) behind the
// handler wrap returns (nil: none) and creates the group.
func newFixture(t *testing.T, quotas *emu.Quotas, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	clock := testenv.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	e := emu.New(emu.Options{Now: clock.Now, Quotas: quotas, AccessTokenLifetime: 24 * time.Hour})
	e.AddUser(user, "Conn")
	var h http.Handler = e.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); e.Close() })
	f := &fixture{t: t, e: e, url: srv.URL, clock: clock}
	f.group = f.contacts().group
	e.ResetCounts()
	return f
}

// contacts returns a connector with its own HTTP client, built with opts;
// rate-limit waits advance the fixture's clock instead of sleeping.
func (f *fixture) contacts(opts ...ClientOption) *Contacts {
	f.t.Helper()
	ctx := context.Background()
	opts = append(opts, RetrySleep(func(ctx context.Context, d time.Duration) error {
		f.mu.Lock()
		f.waits = append(f.waits, d)
		f.mu.Unlock()
		f.clock.Advance(d)
		return nil
	}))
	hc := HTTPClient(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: f.e.MintAccessToken(user)}), opts...)
	svc, err := NewPeople(ctx, hc, FromBase(f.url))
	if err != nil {
		f.t.Fatal(err)
	}
	group := f.group
	if group == "" {
		if group, err = EnsureGroup(ctx, svc, DefaultGroupName); err != nil {
			f.t.Fatal(err)
		}
	}
	return NewContacts(svc, group)
}

func contactFields(i int) reconcile.Fields {
	return reconcile.Fields{reconcile.FieldGivenName: "Given", reconcile.FieldFamilyName: fmt.Sprint("N", i),
		reconcile.FieldName: fmt.Sprintf("Given N%d", i), reconcile.FieldEmails: fmt.Sprintf("p%d@example.com|work|primary", i)}
}

func newItems(n int) []reconcile.NewItem {
	items := make([]reconcile.NewItem, n)
	for i := range items {
		items[i] = reconcile.NewItem{Fields: contactFields(i), Marker: fmt.Sprint("tandem-m", i)}
	}
	return items
}

// createMany creates n contacts and checks every result.
func (f *fixture) createMany(c *Contacts, n int) []reconcile.Item {
	f.t.Helper()
	items := newItems(n)
	res, err := c.CreateMany(context.Background(), items)
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]reconcile.Item, n)
	for i, r := range res {
		if r.Err != nil || r.Item.Marker != items[i].Marker || !r.Item.Fields.Equal(items[i].Fields) || r.Item.Deleted {
			f.t.Fatalf("result %d: %+v %v", i, r.Item, r.Err)
		}
		out[i] = r.Item
	}
	return out
}

// CreateMany of 450 contacts is 3 batchCreateContacts requests; results
// answer the creates in order, each in the group with its marker.
func TestCreateMany(t *testing.T) {
	f := newFixture(t, nil, nil)
	c := f.contacts()
	if c.MaxBatch() != 200 {
		t.Fatalf("MaxBatch %d", c.MaxBatch())
	}
	items := f.createMany(c, 450)
	calls := f.e.Calls()
	if calls["people.batchCreateContacts"] != 3 || calls["people.createContact"] != 0 || calls["contactGroups.members.modify"] != 0 {
		t.Fatalf("calls %v", calls)
	}
	ps := f.e.People(user)
	if len(ps) != 450 {
		t.Fatalf("%d contacts in Google", len(ps))
	}
	for i, p := range ps {
		if p["resourceName"] != items[i].RemoteID || !emu.InGroup(p, f.group) {
			t.Fatalf("contact %d: %v", i, p)
		}
	}
	found, ok, err := c.FindByMarker(context.Background(), "tandem-m449")
	if err != nil || !ok || found.RemoteID != items[449].RemoteID {
		t.Fatalf("marker not stored: %v %v", ok, err)
	}
}

// UpdateMany reads the contacts it has not seen with one batchGet, never
// one read per contact; a stale etag fails only its item, and what Tandem
// does not map (the company) is kept.
func TestUpdateMany(t *testing.T) {
	f := newFixture(t, nil, nil)
	items := f.createMany(f.contacts(), 5)
	// In Google: contact 1 is edited (its etag moves), contact 2 gets a
	// company in a department, and Tandem learns contact 2's new etag and
	// company (the department is Google's alone).
	if err := f.e.UpdateContact(user, items[1].RemoteID, map[string]any{"biographies": []any{map[string]any{"value": "edited in Google"}}}, "biographies"); err != nil {
		t.Fatal(err)
	}
	if err := f.e.UpdateContact(user, items[2].RemoteID, map[string]any{"organizations": []any{map[string]any{"name": "Acme", "title": "CEO", "department": "Sales"}}}, "organizations"); err != nil {
		t.Fatal(err)
	}
	p2, _ := f.e.Person(user, items[2].RemoteID)
	items[2].ETag = p2["etag"].(string)
	items[2].Fields[reconcile.FieldCompany] = "Acme"

	c := f.contacts() // a new connector: it has seen none of them
	f.e.ResetCounts()
	changes := make([]reconcile.Change, len(items))
	for i, it := range items {
		fl := it.Fields.Clone()
		fl[reconcile.FieldJobTitle] = fmt.Sprint("Title ", i)
		changes[i] = reconcile.Change{RemoteID: it.RemoteID, ETag: it.ETag, Fields: fl}
	}
	res, err := c.UpdateMany(context.Background(), changes)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		switch {
		case i == 1:
			if !errors.Is(r.Err, reconcile.ErrPrecondition) {
				t.Fatalf("stale item: %v", r.Err)
			}
		case r.Err != nil || r.Item.Fields[reconcile.FieldJobTitle] != changes[i].Fields[reconcile.FieldJobTitle] || r.Item.ETag == changes[i].ETag:
			t.Fatalf("result %d: %+v %v", i, r.Item, r.Err)
		}
	}
	calls := f.e.Calls()
	if calls["people.getBatchGet"] != 1 || calls["people.get"] != 0 || calls["people.batchUpdateContacts"] != 1 || calls["people.updateContact"] != 0 {
		t.Fatalf("calls %v", calls)
	}
	if p, _ := f.e.Person(user, items[1].RemoteID); p["biographies"] == nil {
		t.Error("the stale update overwrote the edit in Google")
	}
	p2, _ = f.e.Person(user, items[2].RemoteID)
	if org := p2["organizations"].([]any)[0].(map[string]any); org["name"] != "Acme" || org["title"] != "Title 2" || org["department"] != "Sales" {
		t.Errorf("organization %v", org)
	}

	// Again with the etags the writes returned: the connector knows these
	// persons, so no read at all. Contact 3 is edited in Google meanwhile:
	// Google refuses the batch whole, naming it; the others go again.
	if err := f.e.UpdateContact(user, items[3].RemoteID, map[string]any{"biographies": []any{map[string]any{"value": "edited again"}}}, "biographies"); err != nil {
		t.Fatal(err)
	}
	f.e.ResetCounts()
	var again []reconcile.Change
	for i, r := range res {
		if i != 1 {
			fl := r.Item.Fields.Clone()
			fl[reconcile.FieldNotes] = "from Tandem"
			again = append(again, reconcile.Change{RemoteID: r.Item.RemoteID, ETag: r.Item.ETag, Fields: fl})
		}
	}
	res2, err := c.UpdateMany(context.Background(), again)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res2 {
		stale := again[i].RemoteID == items[3].RemoteID
		if stale != errors.Is(r.Err, reconcile.ErrPrecondition) || (!stale && (r.Err != nil || r.Item.Fields[reconcile.FieldNotes] != "from Tandem")) {
			t.Fatalf("second round, result %d: %+v %v", i, r.Item, r.Err)
		}
	}
	calls = f.e.Calls()
	if calls["people.getBatchGet"] != 0 || calls["people.get"] != 0 || calls["people.batchUpdateContacts"] != 2 || calls["people.updateContact"] != 0 {
		t.Fatalf("second round calls %v", calls)
	}
	p2, _ = f.e.Person(user, items[2].RemoteID)
	if org := p2["organizations"].([]any)[0].(map[string]any); org["name"] != "Acme" || org["department"] != "Sales" {
		t.Errorf("organization after the second round %v", org)
	}
}

// A single Update of a contact the connector has seen at that etag needs
// no read, and keeps the company.
func TestUpdateWithoutRead(t *testing.T) {
	f := newFixture(t, nil, nil)
	c := f.contacts()
	it := f.createMany(c, 1)[0]
	if err := f.e.UpdateContact(user, it.RemoteID, map[string]any{"organizations": []any{map[string]any{"name": "Acme"}}}, "organizations"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Update(context.Background(), it.RemoteID, it.ETag, it.Fields); !errors.Is(err, reconcile.ErrPrecondition) {
		t.Fatalf("stale update: %v", err)
	}
	cur, err := c.Get(context.Background(), it.RemoteID)
	if err != nil {
		t.Fatal(err)
	}
	f.e.ResetCounts()
	fl := cur.Fields.Clone()
	fl[reconcile.FieldJobTitle] = "CTO"
	up, err := c.Update(context.Background(), it.RemoteID, cur.ETag, fl)
	if err != nil || up.Fields[reconcile.FieldJobTitle] != "CTO" || up.Marker != "tandem-m0" {
		t.Fatalf("update %+v %v", up, err)
	}
	if calls := f.e.Calls(); calls["people.get"] != 0 || calls["people.updateContact"] != 1 {
		t.Fatalf("calls %v", calls)
	}
	p, _ := f.e.Person(user, it.RemoteID)
	if org := p["organizations"].([]any)[0].(map[string]any); org["name"] != "Acme" || org["title"] != "CTO" {
		t.Errorf("organization %v", org)
	}
	// Unknown to a new connector: one read, then the write.
	f.e.ResetCounts()
	if _, err := f.contacts().Update(context.Background(), it.RemoteID, up.ETag, it.Fields); err != nil {
		t.Fatal(err)
	}
	if calls := f.e.Calls(); calls["people.get"] != 1 || calls["people.updateContact"] != 1 {
		t.Fatalf("calls of a new connector %v", calls)
	}
}

// DeleteMany of 1,200 contacts leaves the group in two members:modify
// requests (1,000 + 200); a contact whose only group is Tandem's moves to
// My Contacts (one more request each way); a contact deleted in Google is
// not found.
func TestDeleteMany(t *testing.T) {
	f := newFixture(t, nil, nil)
	c := f.contacts()
	items := f.createMany(c, 1200)
	refs := make([]reconcile.Ref, len(items))
	for i, it := range items {
		refs[i] = reconcile.Ref{RemoteID: it.RemoteID, ETag: it.ETag}
	}
	f.e.ResetCounts()
	errs, err := c.DeleteMany(context.Background(), refs[:1100])
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
	}
	modifyTandem := "POST /v1/" + f.group + "/members:modify"
	if n := f.e.RequestCounts()[modifyTandem]; n != 2 {
		t.Fatalf("%d members:modify requests for 1,100 removals", n)
	}

	// Of the last 100 (and the first 1,100 again, already out): one only
	// in Tandem's group, one deleted in Google.
	only, gone := items[1150].RemoteID, items[1160].RemoteID
	if err := f.e.UpdateContact(user, only, map[string]any{"memberships": []any{map[string]any{
		"contactGroupMembership": map[string]any{"contactGroupResourceName": f.group}}}}, "memberships"); err != nil {
		t.Fatal(err)
	}
	if err := f.e.DeleteContact(user, gone); err != nil {
		t.Fatal(err)
	}
	f.e.ResetCounts()
	errs, err = c.DeleteMany(context.Background(), refs)
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if (refs[i].RemoteID == gone) != errors.Is(err, reconcile.ErrRemoteNotFound) || (refs[i].RemoteID != gone && err != nil) {
			t.Fatalf("item %d: %v", i, err)
		}
	}
	counts := f.e.RequestCounts()
	if counts[modifyTandem] != 3 || counts["POST /v1/contactGroups/myContacts/members:modify"] != 1 || f.e.Calls()["contactGroups.members.modify"] != 4 {
		t.Fatalf("requests %v", counts)
	}
	for _, p := range f.e.People(user) {
		if emu.InGroup(p, f.group) {
			t.Fatalf("still in the group: %v", p["resourceName"])
		}
		if p["resourceName"] == only && !emu.InGroup(p, myContacts) {
			t.Fatalf("not moved to My Contacts: %v", p["memberships"])
		}
	}
	if len(f.e.People(user)) != 1199 {
		t.Fatal("leaving the group deleted contacts")
	}
}

// Under a quota of one batch a minute, CreateMany meets 429s; the client
// waits the Retry-After Google gives (on the test's clock) and the batch
// completes.
func TestCreateManyUnderQuota(t *testing.T) {
	q := emu.DefaultQuotas()
	q.PeopleCriticalWrites = 6 // one batch create (6 units) a minute
	f := newFixture(t, &q, nil)
	c := f.contacts()
	start := f.clock.Now()
	f.createMany(c, 450)
	if n := f.e.Calls()["people.batchCreateContacts"]; n != 3 {
		t.Fatalf("%d batch creates", n)
	}
	if r := f.e.QuotaRefusals(); r["peopleCriticalWrites"] != 2 {
		t.Fatalf("refusals %v", r)
	}
	if len(f.waits) != 2 || f.waits[0] != time.Minute || f.waits[1] != time.Minute {
		t.Fatalf("waits %v, want two of Retry-After: 60", f.waits)
	}
	floor, err := q.Floor(f.e.Calls())
	if err != nil || floor != 2*time.Minute || f.clock.Now().Sub(start) != floor {
		t.Fatalf("took %v on the clock; floor %v %v", f.clock.Now().Sub(start), floor, err)
	}
}

// The writes of one Google account are sent one at a time, from any
// number of connectors and goroutines, when their clients name the
// account; without it they overlap.
func TestWritesOfOneAccountAreSequential(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opts    func(i int) []ClientOption
		overlap bool
	}{
		{"one account", func(int) []ClientOption { return []ClientOption{Account("conn-1")} }, false},
		{"unnamed", func(int) []ClientOption { return nil }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			inFlight, overlapped := 0, false
			arrival := make(chan struct{}) // closed when the next write arrives
			// Each write waits a little for another to arrive, so writes
			// sent together are seen together.
			wrap := func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodGet {
						h.ServeHTTP(w, r)
						return
					}
					mu.Lock()
					inFlight++
					if inFlight > 1 {
						overlapped = true
					}
					close(arrival)
					next := make(chan struct{})
					arrival = next
					mu.Unlock()
					select {
					case <-next:
					case <-time.After(50 * time.Millisecond):
					}
					h.ServeHTTP(w, r)
					mu.Lock()
					inFlight--
					mu.Unlock()
				})
			}
			q := emu.Quotas{} // the point here is overlap, not quotas
			f := newFixture(t, &q, wrap)
			var wg sync.WaitGroup
			errs := make(chan error, 2)
			for i := range 2 {
				c := f.contacts(tt.opts(i)...)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range 5 {
						if _, err := c.CreateMany(context.Background(), newItems(3)); err != nil {
							errs <- err
							return
						}
						if _, err := c.Create(context.Background(), contactFields(j), fmt.Sprint("single-", i, "-", j)); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if overlapped != tt.overlap {
				t.Fatalf("overlapping writes: %v, want %v", overlapped, tt.overlap)
			}
		})
	}
}

// Waiting for the account's turn ends with the request's context.
func TestAccountLockHonoursContext(t *testing.T) {
	lock := accountLock(t.Name())
	lock <- struct{}{} // another write of the account is under way
	defer func() { <-lock }()
	tr := &serialWrites{lock: lock, base: http.DefaultTransport}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://127.0.0.1:1/", nil)
	if _, err := tr.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}
