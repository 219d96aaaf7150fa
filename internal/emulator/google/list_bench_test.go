package google

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// BenchmarkListPage measures one connections.list page of 100 in the
// middle of a listing (and one page of an incremental listing) at 1k and
// 100k contacts: the page's cost must not grow with the number of
// contacts (issue 8: a listing used to sort everyone on every page).
func BenchmarkListPage(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		s := New(Options{Seed: 1, Quotas: &Quotas{}})
		s.AddUser(alice, "")
		s.mu.Lock()
		u := s.users[alice]
		var ids []*person
		for i := range n {
			p, e := s.createPersonLocked(u, map[string]json.RawMessage{"names": rawJSON([]any{map[string]any{"givenName": fmt.Sprint("G", i)}})})
			if e != nil {
				b.Fatal(e.message)
			}
			ids = append(ids, p)
		}
		s.mu.Unlock()
		tok := s.MintAccessToken(alice)
		h := s.Handler()
		get := func(q url.Values) map[string]any {
			r := httptest.NewRequest("GET", "/v1/people/me/connections?"+q.Encode(), nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("list: %d %s", w.Code, w.Body)
			}
			var m map[string]any
			json.Unmarshal(w.Body.Bytes(), &m)
			return m
		}
		q := url.Values{"personFields": {"names,metadata"}, "pageSize": {"100"}, "requestSyncToken": {"true"}}
		// The page token of the page in the middle of the listing.
		first := get(q)
		mid := q
		for range n / 200 {
			mid = url.Values{"personFields": q["personFields"], "pageSize": q["pageSize"], "requestSyncToken": q["requestSyncToken"], "pageToken": {first["nextPageToken"].(string)}}
			first = get(mid)
		}
		b.Run(fmt.Sprintf("full/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				get(mid)
			}
		})
		// An incremental listing of the last 100 changes.
		s.mu.Lock()
		st := s.encodeCursor(cursor{Kind: "ps", User: u.email, Gen: u.gen, Pos: ids[n-101].seq, Origin: s.now().Unix(), Hash: hashStrings("metadata,names", "")})
		s.mu.Unlock()
		inc := url.Values{"personFields": q["personFields"], "pageSize": q["pageSize"], "syncToken": {st}}
		b.Run(fmt.Sprintf("incremental/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if m := get(inc); len(m["connections"].([]any)) != 100 {
					b.Fatalf("incremental page of %d", len(m["connections"].([]any)))
				}
			}
		})
		s.Close()
	}
}

// BenchmarkEventsPage is BenchmarkListPage for events.list: a page of 250
// in the middle of a calendar of 1k and 100k events.
func BenchmarkEventsPage(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		s := New(Options{Seed: 1, Quotas: &Quotas{}})
		s.AddUser(alice, "")
		for i := range n {
			start := fmt.Sprintf("2026-03-%02dT%02d:00:00Z", 1+i%28, i%24)
			if _, err := s.InsertEvent(alice, "primary", map[string]any{"summary": fmt.Sprint("E", i),
				"start": map[string]any{"dateTime": start}, "end": map[string]any{"dateTime": start}}); err != nil {
				b.Fatal(err)
			}
		}
		tok := s.MintAccessToken(alice)
		h := s.Handler()
		get := func(q url.Values) map[string]any {
			r := httptest.NewRequest("GET", "/calendar/v3/calendars/primary/events?"+q.Encode(), nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("list: %d %s", w.Code, w.Body)
			}
			var m map[string]any
			json.Unmarshal(w.Body.Bytes(), &m)
			return m
		}
		q := url.Values{"maxResults": {"250"}}
		page := get(q)
		for range n / 500 {
			q = url.Values{"maxResults": {"250"}, "pageToken": {page["nextPageToken"].(string)}}
			page = get(q)
		}
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if m := get(q); len(m["items"].([]any)) != 250 {
					b.Fatalf("page of %d", len(m["items"].([]any)))
				}
			}
		})
		s.Close()
	}
}
