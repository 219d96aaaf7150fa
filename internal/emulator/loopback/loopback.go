// Package loopback serves an emulator's handler on a local address: the
// listening, the base URL and the stop that every emulator needs, so each
// emulator package keeps only its service's behaviour.
package loopback

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Listener serves one handler; its zero value is ready to use.
type Listener struct {
	mu   sync.Mutex
	hs   *http.Server
	base string
}

// ErrStarted: Serve was called twice.
var ErrStarted = errors.New("emulator already serving")

// Serve listens on addr ("127.0.0.1:0" for any free port) and serves h in
// the background. It returns the base URL, e.g. "http://127.0.0.1:41234"
// (no trailing slash).
func (l *Listener) Serve(addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	l.mu.Lock()
	if l.hs != nil {
		l.mu.Unlock()
		ln.Close()
		return "", ErrStarted
	}
	l.base = "http://" + ln.Addr().String()
	l.hs = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	hs, base := l.hs, l.base
	l.mu.Unlock()
	go hs.Serve(ln)
	return base, nil
}

// URL is the base URL Serve returned ("" before).
func (l *Listener) URL() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.base
}

// Shutdown stops serving: requests in flight get two seconds, then their
// connections are closed. It does nothing when Serve was not called.
func (l *Listener) Shutdown() error {
	l.mu.Lock()
	hs := l.hs
	l.mu.Unlock()
	if hs == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		hs.Close()
		return err
	}
	return nil
}
