package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// FuzzDecode throws arbitrary bodies at the write endpoints: the answer is
// always a 2xx or a 4xx with a JSON problem, never a 500 or a panic.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"name":"x"}`, `{"name":"x","emails":[{"address":"a@b.c"}]}`, `{"title":"t","start":"2026-01-01","all_day":true}`,
		`{"name":5}`, `[]`, `null`, `{"tags":[{"id":1}]}`, `{"emails":[null]}`, `{"participants":[{}]}`, "\xff\xfe",
		`{"title":"x","start":"2026-01-05T10:00:00Z","rrule":"FREQ=DAILY;COUNT=-1"}`, `{"name":"\u0000"}`,
	} {
		f.Add("/api/v1/contacts", seed)
		f.Add("/api/v1/activities", seed)
	}
	// PostgreSQL is the stricter database (it rejects NUL and bad UTF-8 in text).
	s := tandemtest.Start(f, tandemtest.Options{Postgres: true, Workers: 1})
	f.Fuzz(func(t *testing.T, path, body string) {
		switch path {
		case "/api/v1/contacts", "/api/v1/activities", "/api/v1/accounts", "/api/v1/tags", "/api/v1/groups":
		default:
			path = "/api/v1/contacts"
		}
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.Admin.Token)
		rec := httptest.NewRecorder()
		s.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		if rec.Code >= 400 {
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") || !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("bad problem for %q: %s", body, rec.Body)
			}
		} else if rec.Code != http.StatusCreated {
			t.Fatalf("status %d", rec.Code)
		}
	})
}
