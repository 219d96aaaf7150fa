package google

import (
	"context"
	"io"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/tandem-crm/tandem/internal/connector/retry"
)

// ClientOption configures HTTPClient.
type ClientOption func(*clientConfig)

type clientConfig struct {
	account string
	sleep   func(ctx context.Context, d time.Duration) error
}

// Account names the Google account the client acts for, by something
// stable (the connection's id or the account's e-mail). Google asks for
// one user's mutations to be sent one at a time (apis.md §1.3): every
// client of the same account in this process then sends its writes in
// turn — contacts and calendars, all bindings and jobs alike.
func Account(key string) ClientOption {
	return func(c *clientConfig) { c.account = key }
}

// RetrySleep replaces how the client waits before retrying a rate limit or
// a transient error (tests: advance a fake clock instead of sleeping).
func RetrySleep(f func(ctx context.Context, d time.Duration) error) ClientOption {
	return func(c *clientConfig) { c.sleep = f }
}

// HTTPClient wraps a token source in an HTTP client that backs off from
// rate limits and transient errors (honouring Retry-After) and, with
// Account, sends the account's writes one at a time.
func HTTPClient(ctx context.Context, ts oauth2.TokenSource, opts ...ClientOption) *http.Client {
	var cfg clientConfig
	for _, o := range opts {
		o(&cfg)
	}
	var rt http.RoundTripper = &oauth2.Transport{Source: ts, Base: &retry.Transport{Sleep: cfg.sleep}}
	if cfg.account != "" {
		rt = &serialWrites{lock: accountLock(cfg.account), base: rt}
	}
	return &http.Client{Transport: rt}
}

// accountLocks holds one lock per account key for the life of the
// process; a key is a few bytes and accounts are few.
var accountLocks sync.Map // key → chan struct{} (capacity 1)

func accountLock(key string) chan struct{} {
	l, _ := accountLocks.LoadOrStore(key, make(chan struct{}, 1))
	return l.(chan struct{})
}

// serialWrites sends one write at a time per account: a request that can
// change data (any method but GET and HEAD) holds the account's lock from
// before it is sent — retries and Retry-After waits included, since the
// quota a wait is for is the account's — until its response body is read
// or closed. Waiting for the lock ends with the request's context.
type serialWrites struct {
	lock chan struct{}
	base http.RoundTripper
}

func (t *serialWrites) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return t.base.RoundTrip(req)
	}
	select {
	case t.lock <- struct{}{}:
	case <-req.Context().Done():
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, req.Context().Err()
	}
	release := sync.OnceFunc(func() { <-t.lock })
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
	return resp, nil
}

// releasingBody lets the account's next write go once this response is
// read to its end or closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.release()
	}
	return n, err
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}
