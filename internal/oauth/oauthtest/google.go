// Package oauthtest runs Tandem's OAuth tests against the Google emulator
// (internal/emulator/google) and the Microsoft identity platform emulator
// (internal/emulator/msidentity): it starts one with Tandem's test client
// registered, points Tandem's settings at it, and records what the tests
// check on the wire that the emulator does not keep: the query of each
// authorization request (login_hint, PKCE, prompt), the token grants it
// answered, and Microsoft's token requests (their scope). Hold keeps chosen
// Google requests waiting, so a test can look at a sync run in the middle.
package oauthtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/settings"
)

// The test client registered with the emulator.
const (
	ClientID     = "tandem-test.apps.googleusercontent.com"
	ClientSecret = "tandem-test-secret"
)

// Paths of the emulator's OAuth endpoints (as on Google's hosts).
const (
	AuthPath     = "/o/oauth2/v2/auth"
	TokenPath    = "/token"
	UserInfoPath = "/oauth2/v3/userinfo"
)

// Google is a running emulator. The embedded Server scripts it: AddUser,
// SetAutoApprove, SetAutoDeny, Revoke, ExpireAccessTokens …
type Google struct {
	*google.Server
	URL string

	mu        sync.Mutex
	auths     []url.Values
	refreshes int
	exchanges int
	hold      *hold
}

// hold keeps matching requests waiting until released.
type hold struct {
	match   func(*http.Request) bool
	held    chan string
	release chan struct{}
}

// New starts an emulator on a loopback port until the test ends, with the
// test client allowed to redirect to redirectURIs.
func New(t testing.TB, opts google.Options, redirectURIs ...string) *Google {
	t.Helper()
	g := &Google{Server: google.New(opts)}
	g.AddClient(ClientID, ClientSecret, redirectURIs...)
	srv := httptest.NewServer(g.record(g.Handler()))
	t.Cleanup(func() {
		srv.Close()
		g.Close()
	})
	g.URL = srv.URL
	return g
}

// Configure points Tandem's settings at the emulator and enters the test
// client's keys, with the shared app off.
func (g *Google) Configure(ctx context.Context, set *settings.Service) error {
	for _, kv := range [][2]string{
		{"UseSharedGoogleApp", "false"},
		{"CalendarIntegration", "google"},
		{"GoogleClientId", ClientID},
		{"GoogleClientSecret", ClientSecret},
		{"GoogleAuthUrl", g.URL + AuthPath},
		{"GoogleTokenUrl", g.URL + TokenPath},
		{"GoogleApiUrl", g.URL}, // People, Calendar and <GoogleApiUrl>/oauth2/v3/userinfo
	} {
		if err := set.Put(ctx, kv[0], kv[1], "test"); err != nil {
			return err
		}
	}
	return nil
}

// Hold makes the requests that match (People, Calendar or OAuth) wait
// until release is called, so a test can look at a sync run in the middle.
// Each held request's method and path ("POST /v1/people:createContact") is
// sent on held as it arrives. release lets them all go and ends the hold;
// it is safe to call more than once, and is called when the test ends.
func (g *Google) Hold(t testing.TB, match func(*http.Request) bool) (held <-chan string, release func()) {
	h := &hold{match: match, held: make(chan string, 100), release: make(chan struct{})}
	g.mu.Lock()
	g.hold = h
	g.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			g.mu.Lock()
			if g.hold == h {
				g.hold = nil
			}
			g.mu.Unlock()
			close(h.release)
		})
	}
	t.Cleanup(release)
	return h.held, release
}

// Authorizations returns the query of every authorization request so far.
func (g *Google) Authorizations() []url.Values {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]url.Values(nil), g.auths...)
}

// Refreshes counts refresh_token grants answered with a token.
func (g *Google) Refreshes() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refreshes
}

// Exchanges counts authorization codes exchanged for tokens.
func (g *Google) Exchanges() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.exchanges
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (g *Google) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		h := g.hold
		g.mu.Unlock()
		if h != nil && h.match(r) {
			select {
			case h.held <- r.Method + " " + r.URL.Path:
			default:
			}
			select {
			case <-h.release:
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case r.URL.Path == AuthPath:
			g.mu.Lock()
			g.auths = append(g.auths, r.URL.Query())
			g.mu.Unlock()
		case r.URL.Path == TokenPath && r.Method == http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			if sw.status == http.StatusOK {
				g.mu.Lock()
				switch form.Get("grant_type") {
				case "refresh_token":
					g.refreshes++
				case "authorization_code":
					g.exchanges++
				}
				g.mu.Unlock()
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}
