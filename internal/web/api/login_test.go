package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// signIn asks for a token as a client at addr would (the server sees the
// request's RemoteAddr).
func signIn(t *testing.T, s *tandemtest.Server, addr, email, password string) tandemtest.Response {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	req := httptest.NewRequest("POST", "/api/v1/auth/token", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = addr
	rec := httptest.NewRecorder()
	s.Handler.ServeHTTP(rec, req)
	return tandemtest.Response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

// retryAfter checks that r refuses an attempt for too many failures and
// returns its Retry-After.
func retryAfter(t *testing.T, r tandemtest.Response) time.Duration {
	t.Helper()
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", r.Status, r.Body)
	}
	if p := decodeProblem(t, r); p.Code != "too_many_sign_ins" {
		t.Errorf("problem %+v", p)
	}
	n, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	return time.Duration(n) * time.Second
}

func wantStatus(t *testing.T, r tandemtest.Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
}

// TestLoginThrottling drives the sign-in back-off with a clock the test
// controls. The policy: 5 failures from an address, then 1 minute doubling
// to 15; 10 at an account, then 30 seconds doubling to 5 minutes.
func TestLoginThrottling(t *testing.T) {
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		clk := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
		s.App.Logins.Now = clk.Now
		const pw, wrong = "user-password-1", "wrong-password-1"
		users := map[string]*tandemtest.Client{}
		for _, u := range []string{"ann", "bob", "cat", "dan", "eve", "fay", "gus"} {
			users[u] = s.NewUser(t, u+"@example.com")
		}

		t.Run("address: refused after 5 failures, right password too, until the wait is over", func(t *testing.T) {
			const addr = "203.0.113.1:40000"
			for range 5 {
				wantStatus(t, signIn(t, s, addr, "ann@example.com", wrong), http.StatusUnauthorized)
			}
			if d := retryAfter(t, signIn(t, s, addr, "ann@example.com", pw)); d != time.Minute {
				t.Errorf("Retry-After %s, want 1m", d)
			}
			clk.Advance(59 * time.Second)
			if d := retryAfter(t, signIn(t, s, addr, "ann@example.com", pw)); d != time.Second {
				t.Errorf("Retry-After %s a second before the end, want 1s", d)
			}
			clk.Advance(time.Second)
			wantStatus(t, signIn(t, s, addr, "ann@example.com", pw), http.StatusCreated)
			// The success does not clear the address: its next failure
			// waits twice as long.
			wantStatus(t, signIn(t, s, addr, "ann@example.com", wrong), http.StatusUnauthorized)
			if d := retryAfter(t, signIn(t, s, addr, "ann@example.com", pw)); d != 2*time.Minute {
				t.Errorf("Retry-After %s after the 6th failure, want 2m", d)
			}
		})

		t.Run("address: the wait doubles up to 15 minutes and always ends", func(t *testing.T) {
			const addr = "203.0.113.2:40000"
			for n := 1; n <= 13; n++ {
				// Guessing across accounts counts against the address.
				wantStatus(t, signIn(t, s, addr, fmt.Sprintf("nobody%d@example.com", n), wrong), http.StatusUnauthorized)
				if n < 5 {
					continue
				}
				want := min(time.Minute<<(n-5), 15*time.Minute)
				if d := retryAfter(t, signIn(t, s, addr, "bob@example.com", pw)); d != want {
					t.Errorf("after %d failures: Retry-After %s, want %s", n, d, want)
				}
				clk.Advance(want)
			}
			wantStatus(t, signIn(t, s, addr, "bob@example.com", pw), http.StatusCreated)
		})

		t.Run("a flood from one address does not block the account from another", func(t *testing.T) {
			const flood = "203.0.113.3:40000"
			refused := 0
			for range 30 {
				if signIn(t, s, flood, "cat@example.com", wrong).Status == http.StatusTooManyRequests {
					refused++
				}
			}
			if refused != 25 {
				t.Errorf("%d of 30 refused, want 25", refused)
			}
			wantStatus(t, signIn(t, s, "198.51.100.3:40000", "cat@example.com", pw), http.StatusCreated)
		})

		t.Run("a long flood from one address holds the account for at most 5 minutes at a time", func(t *testing.T) {
			const flood, owner = "203.0.113.4:40000", "198.51.100.4:40000"
			for checked := 0; checked < 20; {
				r := signIn(t, s, flood, "gus@example.com", wrong)
				if r.Status == http.StatusTooManyRequests {
					clk.Advance(retryAfter(t, r))
					continue
				}
				wantStatus(t, r, http.StatusUnauthorized)
				checked++
			}
			// Right after the flood's latest guess the account waits its
			// cap, the flooding address three times as long.
			if d := retryAfter(t, signIn(t, s, owner, "gus@example.com", pw)); d != 5*time.Minute {
				t.Errorf("account Retry-After %s, want 5m", d)
			}
			if d := retryAfter(t, signIn(t, s, flood, "gus@example.com", pw)); d != 15*time.Minute {
				t.Errorf("flooding address Retry-After %s, want 15m", d)
			}
			clk.Advance(5 * time.Minute)
			wantStatus(t, signIn(t, s, owner, "gus@example.com", pw), http.StatusCreated)
			retryAfter(t, signIn(t, s, flood, "gus@example.com", pw))
		})

		t.Run("account: guessing from many addresses blocks it briefly; success resets it", func(t *testing.T) {
			for i := range 10 {
				wantStatus(t, signIn(t, s, fmt.Sprintf("198.51.100.%d:1", 10+i), "dan@example.com", wrong), http.StatusUnauthorized)
			}
			fresh := "198.51.100.99:1"
			if d := retryAfter(t, signIn(t, s, fresh, "dan@example.com", pw)); d != 30*time.Second {
				t.Errorf("account Retry-After %s, want 30s", d)
			}
			// Another account from the same addresses is not affected.
			wantStatus(t, signIn(t, s, "198.51.100.10:1", "eve@example.com", pw), http.StatusCreated)
			clk.Advance(30 * time.Second)
			wantStatus(t, signIn(t, s, fresh, "dan@example.com", pw), http.StatusCreated)
			// Counting starts over: 9 more failures block nothing.
			for i := range 9 {
				wantStatus(t, signIn(t, s, fmt.Sprintf("198.51.100.%d:1", 30+i), "dan@example.com", wrong), http.StatusUnauthorized)
			}
			wantStatus(t, signIn(t, s, fresh, "dan@example.com", pw), http.StatusCreated)
		})

		t.Run("a quiet hour forgets failures", func(t *testing.T) {
			const addr = "203.0.113.5:40000"
			for range 4 {
				wantStatus(t, signIn(t, s, addr, "nobody@example.com", wrong), http.StatusUnauthorized)
			}
			clk.Advance(time.Hour)
			for range 4 {
				wantStatus(t, signIn(t, s, addr, "nobody@example.com", wrong), http.StatusUnauthorized)
			}
			wantStatus(t, signIn(t, s, addr, "fay@example.com", pw), http.StatusCreated)
		})

		t.Run("IPv6 addresses count by /64", func(t *testing.T) {
			for i := range 5 {
				wantStatus(t, signIn(t, s, fmt.Sprintf("[2001:db8:5::%x]:1", i+1), "nobody6@example.com", wrong), http.StatusUnauthorized)
			}
			retryAfter(t, signIn(t, s, "[2001:db8:5::ffff]:1", "fay@example.com", pw))
			wantStatus(t, signIn(t, s, "[2001:db8:6::1]:1", "fay@example.com", pw), http.StatusCreated)
		})

		t.Run("parallel attempts cannot slip past the limit together", func(t *testing.T) {
			const addr = "203.0.113.7:40000"
			var wg sync.WaitGroup
			statuses := make([]int, 20)
			for i := range statuses {
				wg.Go(func() { statuses[i] = signIn(t, s, addr, fmt.Sprintf("par%d@example.com", i), wrong).Status })
			}
			wg.Wait()
			checked := 0
			for _, st := range statuses {
				if st == http.StatusUnauthorized {
					checked++
				}
			}
			if checked != 5 {
				t.Errorf("%d of 20 parallel attempts checked, want 5: %v", checked, statuses)
			}
		})

		// Failures are recorded for administrators, by reason.
		s.Admin.JSON(t, "PATCH", "/api/v1/users/"+users["fay"].UserID, map[string]any{"active": false}, http.StatusOK, nil)
		wantStatus(t, signIn(t, s, "203.0.113.8:1", "FAY@example.com ", pw), http.StatusUnauthorized)
		type failure struct {
			ID         int64     `json:"id"`
			At         time.Time `json:"at"`
			Email      string    `json:"email"`
			ClientAddr string    `json:"client_addr"`
			Reason     string    `json:"reason"`
		}
		var got page[failure]
		s.Admin.JSON(t, "GET", "/api/v1/login-failures?limit=1", nil, http.StatusOK, &got)
		if len(got.Items) != 1 || got.NextCursor == nil || got.Items[0] != (failure{ID: got.Items[0].ID, At: clk.Now(),
			Email: "fay@example.com", ClientAddr: "203.0.113.8", Reason: "inactive_user"}) {
			t.Errorf("newest failure %+v", got)
		}
		count := func(query string) map[string]int {
			n := map[string]int{}
			path := "/api/v1/login-failures?limit=200&" + query
			for {
				var p page[failure]
				s.Admin.JSON(t, "GET", path, nil, http.StatusOK, &p)
				for _, f := range p.Items {
					n[f.Reason]++
				}
				if p.NextCursor == nil {
					return n
				}
				path = "/api/v1/login-failures?limit=200&" + query + "&cursor=" + url.QueryEscape(*p.NextCursor)
			}
		}
		if n := count("email=CAT@example.com"); n["bad_password"] != 5 || n["throttled"] != 25 || len(n) != 2 {
			t.Errorf("cat's failures %v", n)
		}
		if n := count("reason=unknown_user&client_addr=203.0.113.2"); n["unknown_user"] != 13 || len(n) != 1 {
			t.Errorf("unknown users from 203.0.113.2: %v", n)
		}
		if p := decodeProblem(t, s.Admin.Do(t, "GET", "/api/v1/login-failures?reason=bored", nil)); p.fields()["reason"] != "unknown_value" {
			t.Errorf("bad reason filter: %+v", p)
		}
		decodeProblem(t, users["ann"].JSON(t, "GET", "/api/v1/login-failures", nil, http.StatusForbidden, nil))

		metrics := string(s.Anonymous().Do(t, "GET", "/metrics", nil).Body)
		for reason, n := range count("") {
			if line := fmt.Sprintf("tandem_login_failures_total{reason=%q} %d\n", reason, n); !strings.Contains(metrics, line) {
				t.Errorf("metrics lack %q", line)
			}
		}

		// The record is pruned after 30 days; throttles once forgotten.
		clk.Advance(30*24*time.Hour + time.Second)
		if n, err := s.App.Logins.Prune(context.Background()); err != nil || n == 0 {
			t.Fatalf("prune: %d, %v", n, err)
		}
		if n := count(""); len(n) != 0 {
			t.Errorf("after 30 days: %v", n)
		}
	})
}
