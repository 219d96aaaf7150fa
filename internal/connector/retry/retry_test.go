package retry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestTransport(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		responses []int // status per call; 0 drops the connection
		header    string
		wantCalls int
		wantCode  int
		wantWait  time.Duration // minimum total wait
	}{
		{"429 then ok", "POST", []int{429, 200}, "3", 2, 200, 3 * time.Second},
		{"403 rate limit", "GET", []int{403, 403, 200}, "", 3, 200, 0},
		{"500 retried for GET", "GET", []int{500, 200}, "", 2, 200, 0},
		{"500 not retried for POST", "POST", []int{500, 200}, "", 1, 500, 0},
		{"gives up", "GET", []int{503, 503, 503, 503, 503, 503}, "", 5, 503, 0},
		{"plain 403", "GET", []int{-403, 200}, "", 1, 403, 0},
		{"dropped GET", "GET", []int{0, 200}, "", 2, 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				code := tt.responses[min(n, len(tt.responses)-1)]
				b, _ := io.ReadAll(r.Body)
				if r.Method == "POST" && string(b) != "payload" {
					t.Errorf("body %q on call %d", b, n)
				}
				switch {
				case code == 0:
					hj, _ := w.(http.Hijacker)
					c, _, _ := hj.Hijack()
					c.Close()
				case code == -403:
					w.WriteHeader(403)
					w.Write([]byte(`{"error":{"errors":[{"reason":"forbidden"}]}}`))
				case code == 403:
					w.WriteHeader(403)
					w.Write([]byte(`{"error":{"errors":[{"domain":"usageLimits","reason":"rateLimitExceeded"}],"code":403}}`))
				default:
					if tt.header != "" {
						w.Header().Set("Retry-After", tt.header)
					}
					w.WriteHeader(code)
				}
			}))
			defer srv.Close()
			var waited time.Duration
			tr := &Transport{Sleep: func(ctx context.Context, d time.Duration) error { waited += d; return nil }}
			req, _ := http.NewRequest(tt.method, srv.URL, strings.NewReader("payload"))
			resp, err := (&http.Client{Transport: tr}).Do(req)
			code := 0
			if err == nil {
				code = resp.StatusCode
				resp.Body.Close()
			}
			if int(calls.Load()) != tt.wantCalls || code != tt.wantCode || waited < tt.wantWait {
				t.Errorf("calls %d code %d err %v waited %v; want %d %d ≥%v", calls.Load(), code, err, waited, tt.wantCalls, tt.wantCode, tt.wantWait)
			}
		})
	}
}

// A per-minute quota's Retry-After is waited in full, beyond the backoff
// cap; one longer than MaxRetryAfter, or longer than the context's
// deadline allows, is not waited at all: the caller gets the answer.
func TestTransportRetryAfter(t *testing.T) {
	tests := []struct {
		name      string
		after     string
		transport Transport
		deadline  time.Duration // 0: none
		wantCalls int
		wantCode  int
		wantWait  time.Duration
	}{
		{"60 s over the 32 s cap", "60", Transport{}, 0, 2, 200, 60 * time.Second},
		{"within the context's deadline", "60", Transport{}, 5 * time.Minute, 2, 200, 60 * time.Second},
		{"past the context's deadline", "60", Transport{}, 10 * time.Second, 1, 429, 0},
		{"longer than MaxRetryAfter", "600", Transport{}, 0, 1, 429, 0},
		{"raised MaxRetryAfter", "600", Transport{MaxRetryAfter: time.Hour}, 0, 2, 200, 600 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					w.Header().Set("Retry-After", tt.after)
					w.WriteHeader(429)
				}
			}))
			defer srv.Close()
			var waited time.Duration
			tr := tt.transport
			tr.Sleep = func(ctx context.Context, d time.Duration) error { waited += d; return nil }
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, strings.NewReader("payload"))
			resp, err := (&http.Client{Transport: &tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if int(calls.Load()) != tt.wantCalls || resp.StatusCode != tt.wantCode || waited != tt.wantWait {
				t.Errorf("calls %d code %d waited %v; want %d %d %v", calls.Load(), resp.StatusCode, waited, tt.wantCalls, tt.wantCode, tt.wantWait)
			}
		})
	}
}

// A wait ends when the request's context does.
func TestTransportWaitEndsWithContext(t *testing.T) {
	answered := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(429)
		answered <- struct{}{}
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	done := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: &Transport{}}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-answered // the transport is waiting out the 60 s
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the wait outlived its context")
	}
}
