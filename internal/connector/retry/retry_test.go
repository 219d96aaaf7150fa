package retry

import (
	"context"
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
