package dav

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/testenv/davserver"
)

type env struct {
	srv     *davserver.Server
	c       *Client
	ab, cal string
}

// setup starts a server of kind with an address book and a VEVENT+VTODO
// calendar, and a client for it.
func setup(t *testing.T, kind davserver.Kind) *env {
	t.Helper()
	ctx := context.Background()
	s := davserver.Start(t, kind)
	ab, err := s.CreateAddressBook(ctx, "contacts", "Contacts")
	if err != nil {
		t.Fatal(err)
	}
	cal, err := s.CreateCalendar(ctx, "work", "Work", "VEVENT", "VTODO")
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: s, c: newClient(t, s.URL(), s.User(), s.Password()), ab: ab, cal: cal}
}

func newClient(t *testing.T, u, user, pass string) *Client {
	t.Helper()
	c, err := New(Config{URL: u, Username: user, Password: pass})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// forEachServer runs f against a fresh Radicale and a fresh Xandikos, in
// parallel.
func forEachServer(t *testing.T, f func(t *testing.T, e *env)) {
	for _, kind := range davserver.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			f(t, setup(t, kind))
		})
	}
}

func vcard(uid, name string) []byte {
	return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + name + "\r\nN:" + name + ";;;;\r\n" +
		"X-TANDEM-TEST;X-UNKNOWN=kept:value\r\nEND:VCARD\r\n")
}

func vevent(uid, summary string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tandem//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T100000Z\r\nDTEND:20260105T110000Z\r\nSUMMARY:" + summary +
		"\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
}

func vtodo(uid, summary string) []byte {
	return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Tandem//test//EN\r\nBEGIN:VTODO\r\nUID:" + uid +
		"\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:" + summary + "\r\nSTATUS:NEEDS-ACTION\r\nEND:VTODO\r\nEND:VCALENDAR\r\n")
}

type kindCase struct {
	name, ctype, ext string
	kind             Kind
	col              func(e *env) string
	body             func(uid, text string) []byte
}

var kindCases = []kindCase{
	{"vcard", VCardType, ".vcf", AddressBook, func(e *env) string { return e.ab }, vcard},
	{"vevent", ICalendarType, ".ics", Calendar, func(e *env) string { return e.cal }, vevent},
	{"vtodo", ICalendarType, ".ics", Calendar, func(e *env) string { return e.cal }, vtodo},
}

func TestDiscover(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		// From the server's root and from the principal's URL.
		for _, start := range []string{e.srv.URL(), e.srv.HomeURL()} {
			c := newClient(t, start, e.srv.User(), e.srv.Password())
			acc, err := c.Discover(ctx)
			if err != nil {
				t.Fatalf("Discover(%s): %v", start, err)
			}
			if !sameCollection(acc.Principal, e.srv.HomeURL()) {
				t.Errorf("principal %s, want %s", acc.Principal, e.srv.HomeURL())
			}
			if len(acc.AddressBooks) != 1 || !sameCollection(acc.AddressBooks[0].URL, e.ab) {
				t.Fatalf("address books %+v, want %s", acc.AddressBooks, e.ab)
			}
			if len(acc.Calendars) != 1 || !sameCollection(acc.Calendars[0].URL, e.cal) {
				t.Fatalf("calendars %+v, want %s", acc.Calendars, e.cal)
			}
			ab, cal := acc.AddressBooks[0], acc.Calendars[0]
			if ab.DisplayName != "Contacts" || cal.DisplayName != "Work" {
				t.Errorf("display names %q, %q", ab.DisplayName, cal.DisplayName)
			}
			if !ab.SupportsSync || !cal.SupportsSync || ab.SyncToken == "" || cal.SyncToken == "" {
				t.Errorf("sync support: %+v %+v", ab, cal)
			}
			// Xandikos 0.2.8 keeps no component set from MKCALENDAR and
			// reports every kind it supports.
			if !cal.Supports("VEVENT") || !cal.Supports("VTODO") ||
				e.srv.Kind() == davserver.Radicale && len(cal.Components) != 2 {
				t.Errorf("components %v", cal.Components)
			}
		}
	})
}

func TestDiscoverErrors(t *testing.T) {
	ctx := context.Background()
	for _, kind := range davserver.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := davserver.Start(t, kind)
			// Wrong password.
			_, err := newClient(t, s.URL(), s.User(), "wrong").Discover(ctx)
			if !errors.Is(err, ErrUnauthorized) {
				t.Fatalf("wrong password: %v, want ErrUnauthorized", err)
			}
			if strings.Contains(fmt.Sprint(err), s.Password()) {
				t.Fatal("the error shows the password")
			}
			// No collections yet.
			acc, err := newClient(t, s.URL(), s.User(), s.Password()).Discover(ctx)
			var nc *NoCollectionsError
			if !errors.Is(err, ErrNoAddressBook) || !errors.Is(err, ErrNoCalendar) || !errors.As(err, &nc) || acc == nil {
				t.Fatalf("empty account: %v, want ErrNoAddressBook and ErrNoCalendar", err)
			}
			if acc.AddressBookHome == "" || acc.CalendarHome == "" {
				t.Errorf("home sets not found: %+v", acc)
			}
			// A calendar only: the address book is missing, the calendar found.
			if _, err := s.CreateCalendar(ctx, "cal", "Cal", "VEVENT"); err != nil {
				t.Fatal(err)
			}
			acc, err = newClient(t, s.URL(), s.User(), s.Password()).Discover(ctx)
			if !errors.Is(err, ErrNoAddressBook) || errors.Is(err, ErrNoCalendar) || len(acc.Calendars) != 1 {
				t.Fatalf("calendar only: %v, %+v", err, acc)
			}
		})
	}
	t.Run("not DAV", func(t *testing.T) {
		web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>a web site</html>")
		}))
		defer web.Close()
		_, err := newClient(t, web.URL, "u", "p").Discover(ctx)
		if !errors.Is(err, ErrNotDAV) {
			t.Fatalf("a web site: %v, want ErrNotDAV", err)
		}
	})
	t.Run("TLS", func(t *testing.T) {
		tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
		tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
		tlsSrv.StartTLS()
		defer tlsSrv.Close()
		_, err := newClient(t, tlsSrv.URL, "u", "p").Discover(ctx)
		if !errors.Is(err, ErrTLS) {
			t.Fatalf("untrusted certificate: %v, want ErrTLS", err)
		}
	})
}

func TestWritePreconditions(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, kc := range kindCases {
			href := kc.col(e) + "pre-" + kc.name + kc.ext
			etag, err := e.c.Create(ctx, href, kc.ctype, kc.body("pre-"+kc.name, "One"))
			if err != nil || etag == "" {
				t.Fatalf("%s: create: %q, %v", kc.name, etag, err)
			}
			if _, err := e.c.Create(ctx, href, kc.ctype, kc.body("pre-"+kc.name, "Again")); !errors.Is(err, ErrPrecondition) {
				t.Fatalf("%s: create over an existing object: %v, want ErrPrecondition", kc.name, err)
			}
			etag2, err := e.c.Update(ctx, href, etag, kc.ctype, kc.body("pre-"+kc.name, "Two"))
			if err != nil || etag2 == "" || etag2 == etag {
				t.Fatalf("%s: update: %q (was %q), %v", kc.name, etag2, etag, err)
			}
			// The stale etag: another client's write in between.
			if _, err := e.c.Update(ctx, href, etag, kc.ctype, kc.body("pre-"+kc.name, "Lost")); !errors.Is(err, ErrPrecondition) {
				t.Fatalf("%s: update with a stale etag: %v, want ErrPrecondition", kc.name, err)
			}
			if err := e.c.Delete(ctx, href, etag); !errors.Is(err, ErrPrecondition) {
				t.Fatalf("%s: delete with a stale etag: %v, want ErrPrecondition", kc.name, err)
			}
			got, err := e.c.Get(ctx, href)
			if err != nil || !strings.Contains(string(got.Data), "Two") || got.ETag != etag2 {
				t.Fatalf("%s: after the refused writes: %+v, %v", kc.name, got, err)
			}
			if err := e.c.Delete(ctx, href, etag2); err != nil {
				t.Fatalf("%s: delete: %v", kc.name, err)
			}
			if _, err := e.c.Get(ctx, href); !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s: get after delete: %v, want ErrNotFound", kc.name, err)
			}
		}
	})
}

func hrefs(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, hrefPath(it.Href))
	}
	sort.Strings(out)
	return out
}

func paths(hs []string) []string {
	var out []string
	for _, h := range hs {
		out = append(out, hrefPath(h))
	}
	sort.Strings(out)
	return out
}

func TestSyncCollection(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for _, kc := range []kindCase{kindCases[0], kindCases[1]} {
			col := kc.col(e)
			h := func(i int) string { return col + fmt.Sprintf("s%d", i) + kc.ext }
			for i := range 4 {
				if _, err := e.c.Create(ctx, h(i), kc.ctype, kc.body(fmt.Sprintf("s%d", i), "v1")); err != nil {
					t.Fatal(err)
				}
			}
			first, err := e.c.SyncAll(ctx, col, "", 0)
			if err != nil {
				t.Fatalf("%s: initial sync: %v", kc.name, err)
			}
			if got := hrefs(first.Changed); len(got) != 4 || len(first.Deleted) != 0 {
				t.Fatalf("%s: initial sync: %v, deleted %v", kc.name, got, first.Deleted)
			}
			// Another client changes s1, deletes s2 and adds s9.
			if _, err := e.srv.Put(ctx, h(1), kc.ctype, kc.body("s1", "v2")); err != nil {
				t.Fatal(err)
			}
			if err := e.srv.Delete(ctx, h(2)); err != nil {
				t.Fatal(err)
			}
			if _, err := e.srv.Put(ctx, h(9), kc.ctype, kc.body("s9", "v1")); err != nil {
				t.Fatal(err)
			}
			next, err := e.c.SyncAll(ctx, col, first.Token, 0)
			if err != nil {
				t.Fatalf("%s: sync: %v", kc.name, err)
			}
			if got, want := hrefs(next.Changed), paths([]string{h(1), h(9)}); !slices.Equal(got, want) {
				t.Errorf("%s: changed %v, want %v", kc.name, got, want)
			}
			if got, want := paths(next.Deleted), paths([]string{h(2)}); !slices.Equal(got, want) {
				t.Errorf("%s: deleted %v, want %v", kc.name, got, want)
			}
			if next.Token == first.Token {
				t.Errorf("%s: the token did not move", kc.name)
			}
			noop, err := e.c.SyncCollection(ctx, col, next.Token, 0)
			if err != nil || len(noop.Changed) != 0 || len(noop.Deleted) != 0 {
				t.Fatalf("%s: no-op sync: %+v, %v", kc.name, noop, err)
			}
			// The etag from sync is the one an update must match.
			for _, it := range next.Changed {
				if _, err := e.c.Update(ctx, it.Href, it.ETag, kc.ctype, kc.body(strings.TrimSuffix(it.Href[strings.LastIndex(it.Href, "/")+1:], kc.ext), "v3")); err != nil {
					t.Fatalf("%s: update with the synced etag: %v", kc.name, err)
				}
			}
			// Bad tokens: garbled, and well-formed for this server but unknown.
			for _, bad := range []string{"garbled-token", mangle(next.Token)} {
				if _, err := e.c.SyncCollection(ctx, col, bad, 0); !errors.Is(err, ErrInvalidSyncToken) {
					t.Fatalf("%s: token %q: %v, want ErrInvalidSyncToken", kc.name, bad, err)
				}
			}
		}
	})
}

// mangle changes the last hex digit of a token.
func mangle(tok string) string {
	last := tok[len(tok)-1]
	r := byte('0')
	if last == '0' {
		r = '1'
	}
	return tok[:len(tok)-1] + string(r)
}

// fill stores n objects in col with 8 writers; it returns their hrefs.
func fill(t testing.TB, e *env, kc kindCase, col, prefix string, n int) []string {
	t.Helper()
	ctx := context.Background()
	out := make([]string, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		out[i] = col + fmt.Sprintf("%s%04d", prefix, i) + kc.ext
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := e.srv.Put(ctx, out[i], kc.ctype, kc.body(fmt.Sprintf("%s%04d", prefix, i), fmt.Sprintf("Item %d", i))); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMultiGetAndListing(t *testing.T) {
	forEachServer(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		// 250 vCards (three multiget batches); fewer events, to keep the
		// package fast (Xandikos commits every PUT to git).
		for _, tc := range []struct {
			kc kindCase
			n  int
		}{{kindCases[0], 250}, {kindCases[1], 120}} {
			kc, n := tc.kc, tc.n
			col := kc.col(e)
			all := fill(t, e, kc, col, "m", n)
			gone := col + "never-there" + kc.ext
			objs, missing, err := e.c.MultiGet(ctx, kc.kind, col, append(slices.Clone(all), gone))
			if err != nil {
				t.Fatalf("%s: multiget: %v", kc.name, err)
			}
			if len(objs) != n || len(missing) != 1 || hrefPath(missing[0]) != hrefPath(gone) {
				t.Fatalf("%s: multiget: %d objects, missing %v", kc.name, len(objs), missing)
			}
			for _, o := range objs {
				var i int
				if _, err := fmt.Sscanf(o.Href[strings.LastIndex(o.Href, "/")+1:], "m%04d", &i); err != nil {
					t.Fatalf("%s: href %s", kc.name, o.Href)
				}
				if !strings.Contains(string(o.Data), fmt.Sprintf("Item %d\r\n", i)) || o.ETag == "" {
					t.Fatalf("%s: %s: etag %q data %q", kc.name, o.Href, o.ETag, o.Data)
				}
				if kc.kind == AddressBook && !strings.Contains(string(o.Data), "X-TANDEM-TEST;X-UNKNOWN=kept:value") {
					t.Fatalf("%s: unknown property lost: %q", kc.name, o.Data)
				}
			}
			// The fallback: the etag listing agrees with sync-collection.
			listed, err := e.c.ListETags(ctx, col)
			if err != nil {
				t.Fatalf("%s: listing: %v", kc.name, err)
			}
			synced, err := e.c.SyncAll(ctx, col, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(listed) != n || !slices.Equal(itemSet(listed), itemSet(synced.Changed)) {
				t.Fatalf("%s: listing %d items, sync %d; differ", kc.name, len(listed), len(synced.Changed))
			}
			// The ctag (or sync token) tells a change without listing.
			before, err := e.c.CollectionState(ctx, col)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.srv.Put(ctx, all[0], kc.ctype, kc.body("m0000", "changed")); err != nil {
				t.Fatal(err)
			}
			after, err := e.c.CollectionState(ctx, col)
			if err != nil {
				t.Fatal(err)
			}
			if before.CTag+before.SyncToken == "" || before.CTag+before.SyncToken == after.CTag+after.SyncToken {
				t.Fatalf("%s: collection state did not move: %+v → %+v", kc.name, before, after)
			}
		}
	})
}

func itemSet(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, hrefPath(it.Href)+" "+it.ETag)
	}
	sort.Strings(out)
	return out
}

// TestMeasureNoopSync times a no-op sync-collection on a 1,000-item
// collection; it runs only with TANDEM_DAV_MEASURE=1 (filling takes a
// while) and logs the figures.
func TestMeasureNoopSync(t *testing.T) {
	if os.Getenv("TANDEM_DAV_MEASURE") != "1" {
		t.Skip("set TANDEM_DAV_MEASURE=1 to measure")
	}
	for _, kind := range davserver.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			e := setup(t, kind)
			ctx := context.Background()
			for _, kc := range []kindCase{kindCases[0], kindCases[1]} {
				col := kc.col(e)
				fill(t, e, kc, col, "n", 1000)
				first, err := e.c.SyncAll(ctx, col, "", 0)
				if err != nil || len(first.Changed) != 1000 {
					t.Fatalf("initial sync: %v", err)
				}
				var ds []time.Duration
				for range 7 {
					start := time.Now()
					res, err := e.c.SyncCollection(ctx, col, first.Token, 0)
					ds = append(ds, time.Since(start))
					if err != nil || len(res.Changed)+len(res.Deleted) != 0 {
						t.Fatalf("no-op sync: %+v %v", res, err)
					}
				}
				slices.Sort(ds)
				start := time.Now()
				if _, err := e.c.ListETags(ctx, col); err != nil {
					t.Fatal(err)
				}
				list := time.Since(start)
				t.Logf("%s %s 1000 items: no-op sync-collection median %v (min %v, max %v); etag listing %v",
					kind, kc.name, ds[len(ds)/2], ds[0], ds[len(ds)-1], list)
			}
		})
	}
}
