// Package retry owns how connectors back off from remote services: an
// http.RoundTripper that retries rate limits (429, 403 rateLimitExceeded /
// userRateLimitExceeded) and server errors with truncated exponential
// backoff and jitter, honouring Retry-After. It retries what cannot have
// taken effect twice: rate limits for every method, server errors and
// dropped connections only for methods that are safe to repeat. Waits end
// with the request's context, and a wait the context's deadline cannot
// cover is not begun: the caller gets the answer at once.
package retry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Transport retries requests on rate limits and transient failures.
type Transport struct {
	Base http.RoundTripper
	// Attempts bounds tries per request (default 5).
	Attempts int
	// BaseDelay is the first backoff (default 1 s); MaxDelay caps the
	// exponential backoff (default 32 s).
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After honoured (default 2 min):
	// a per-minute quota asks for up to 60 s, more than MaxDelay, and
	// waiting less than asked only meets the limit again. An answer asking
	// for longer is returned as it is.
	MaxRetryAfter time.Duration
	// Sleep waits; tests replace it. It must return early when ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

func sleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	attempts := t.Attempts
	if attempts <= 0 {
		attempts = 5
	}
	baseDelay, maxDelay := t.BaseDelay, t.MaxDelay
	if baseDelay <= 0 {
		baseDelay = time.Second
	}
	if maxDelay <= 0 {
		maxDelay = 32 * time.Second
	}
	maxAfter := t.MaxRetryAfter
	if maxAfter <= 0 {
		maxAfter = 2 * time.Minute
	}
	wait := t.Sleep
	if wait == nil {
		wait = sleep
	}
	idempotent := req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == http.MethodPut ||
		req.Method == http.MethodDelete || req.Method == http.MethodOptions ||
		// A conditional write cannot apply twice: the second sees a new etag.
		req.Header.Get("If-Match") != ""
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 {
			r = req.Clone(req.Context())
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := t.base().RoundTrip(r)
		retryable, after := false, time.Duration(0)
		switch {
		case err != nil:
			retryable = idempotent && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
		case resp.StatusCode == http.StatusTooManyRequests:
			retryable, after = true, retryAfter(resp)
		case resp.StatusCode == http.StatusForbidden:
			retryable = isRateLimit403(resp)
			after = retryAfter(resp)
		case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
			retryable, after = idempotent, retryAfter(resp)
		}
		if !retryable || attempt >= attempts || (req.Body != nil && req.GetBody == nil && attempt == 1 && req.ContentLength != 0) ||
			after > maxAfter {
			return resp, err
		}
		d := max(backoff(attempt, baseDelay, maxDelay), after)
		if dl, ok := req.Context().Deadline(); ok && time.Until(dl) < d {
			return resp, err // the caller cannot wait that long
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if err := wait(req.Context(), d); err != nil {
			return nil, err
		}
	}
}

// backoff is min(base·2^(n-1), max) plus up to a second of jitter.
func backoff(attempt int, base, max time.Duration) time.Duration {
	d := base << (attempt - 1)
	if d > max || d <= 0 {
		d = max
	}
	return d + time.Duration(rand.Int64N(int64(time.Second)))
}

func retryAfter(resp *http.Response) time.Duration {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// isRateLimit403 tells Google's 403 rate limits from real permission
// errors by the error reason; the body is restored for the caller.
func isRateLimit403(resp *http.Response) bool {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return false
	}
	return bytes.Contains(body, []byte(`"rateLimitExceeded"`)) || bytes.Contains(body, []byte(`"userRateLimitExceeded"`)) ||
		bytes.Contains(body, []byte(`"RATE_LIMIT_EXCEEDED"`))
}
