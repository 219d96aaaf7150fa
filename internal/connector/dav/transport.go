package dav

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

type condKey struct{}

type condition struct {
	ifMatch     string // an ETag, quoted
	ifNoneMatch bool   // If-None-Match: *
}

// withIfMatch makes the request carry If-Match: etag. go-webdav has no way
// to send conditional headers, so they travel in the context to the
// transport, which works for the library's requests and ours alike.
func withIfMatch(ctx context.Context, etag string) context.Context {
	return context.WithValue(ctx, condKey{}, condition{ifMatch: quoteETag(etag)})
}

// withIfNoneMatch makes the request carry If-None-Match: * (create only).
func withIfNoneMatch(ctx context.Context) context.Context {
	return context.WithValue(ctx, condKey{}, condition{ifNoneMatch: true})
}

// quoteETag re-adds the quotes go-webdav strips (an unquoted If-Match never
// matches); weak and already-quoted tags are left as they are.
func quoteETag(etag string) string {
	if etag == "" || strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, `W/"`) {
		return etag
	}
	return `"` + etag + `"`
}

// transport adds Basic auth and the context's preconditions to every
// request and turns the answers a caller must tell apart into typed errors:
// 401 → ErrUnauthorized, 412 on a conditional request → ErrPrecondition,
// TLS failures → ErrTLS. The password is never logged.
type transport struct {
	base           http.RoundTripper
	user, password string
	log            *slog.Logger
	onUnauthorized func(context.Context) error
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.SetBasicAuth(t.user, t.password)
	cond, _ := req.Context().Value(condKey{}).(condition)
	if cond.ifMatch != "" {
		r.Header.Set("If-Match", cond.ifMatch)
	}
	if cond.ifNoneMatch {
		r.Header.Set("If-None-Match", "*")
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		if isTLS(err) {
			return nil, fmt.Errorf("%w: %w", ErrTLS, err)
		}
		return nil, err
	}
	t.log.LogAttrs(req.Context(), slog.LevelDebug, "dav request", slog.String("method", req.Method),
		slog.String("url", req.URL.Redacted()), slog.Int("status", resp.StatusCode), slog.Duration("took", time.Since(start)))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		drain(resp)
		if t.onUnauthorized != nil && req.Context().Value(asideKey{}) == nil {
			return nil, errors.Join(ErrUnauthorized, t.onUnauthorized(req.Context()))
		}
		return nil, ErrUnauthorized
	case resp.StatusCode == http.StatusPreconditionFailed && (cond.ifMatch != "" || cond.ifNoneMatch):
		drain(resp)
		return nil, ErrPrecondition
	}
	return resp, nil
}

// asideKey marks a request that is not the account's DAV work (a photo
// link): its 401 says nothing about the account's credentials.
type asideKey struct{}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
