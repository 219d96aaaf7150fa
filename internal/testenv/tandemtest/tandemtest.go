// Package tandemtest starts a whole Tandem server for integration tests —
// the same wiring as `tandem serve` — on SQLite or on a throw-away
// PostgreSQL database from testenv, and gives tests API clients for its
// users. Packages using it need `func TestMain(m *testing.M) { testenv.Main(m) }`.
package tandemtest

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/provider"

	"github.com/tandem-crm/tandem/internal/app"
	"github.com/tandem-crm/tandem/internal/config"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/testenv"
)

// Admin credentials of every test server.
const (
	AdminEmail    = "admin@example.com"
	AdminPassword = "admin-password-1"
)

// Options choose the database.
type Options struct {
	Postgres bool
	Workers  int // job workers; 0 means 2
	// Providers are registered next to the built-in ones before the
	// server starts (a test's own sync provider).
	Providers []provider.Provider
	// MailTLS, when set, is the TLS configuration the mailboxes use for
	// mail servers (a test's mail server with its own certificate
	// authority, e.g. mailserver.Server.TLSConfig). It is set before the
	// workers start, so IMAP IDLE uses it too.
	MailTLS *tls.Config
}

// Server is a running Tandem.
type Server struct {
	URL     string
	App     *app.App
	Handler http.Handler
	Admin   *Client
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	ctx := context.Background()
	cfg := &config.Config{DataDir: t.TempDir(), AdminEmail: AdminEmail, AdminPassword: AdminPassword, Workers: 2}
	if o.Postgres {
		cfg.DatabaseURL = testenv.Postgres(t)
	}
	if o.Workers > 0 {
		cfg.Workers = o.Workers
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	for _, p := range o.Providers {
		if err := a.Providers.Register(p); err != nil {
			t.Fatal(err)
		}
	}
	if o.MailTLS != nil {
		a.Mailboxes.TLS = o.MailTLS
	}
	if err := a.EnsureAdmin(ctx, io.Discard); err != nil {
		t.Fatalf("admin: %v", err)
	}
	if err := a.OpenQueue(ctx, cfg.Workers); err != nil {
		t.Fatalf("queue: %v", err)
	}
	h, err := a.Handler()
	if err != nil {
		t.Fatalf("handler: %v", err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(func() {
		hs.Close()
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Close(stopCtx)
	})
	s := &Server{URL: hs.URL, App: a, Handler: h}
	s.Admin = s.Login(t, AdminEmail, AdminPassword)
	return s
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Client calls the API as one user.
type Client struct {
	Token  string
	UserID string
	base   string
}

// Login gets an API token by password.
func (s *Server) Login(t testing.TB, email, password string) *Client {
	t.Helper()
	c := &Client{base: s.URL}
	var out struct {
		Token  string `json:"token"`
		UserID string `json:"user_id"`
	}
	c.JSON(t, "POST", "/api/v1/auth/token", map[string]string{"email": email, "password": password}, http.StatusCreated, &out)
	c.Token, c.UserID = out.Token, out.UserID
	return c
}

// NewUser creates a user through the admin API and logs them in.
func (s *Server) NewUser(t testing.TB, email string, roleIDs ...string) *Client {
	t.Helper()
	if roleIDs == nil {
		roleIDs = []string{}
	}
	s.Admin.JSON(t, "POST", "/api/v1/users", map[string]any{"email": email, "name": email, "password": "user-password-1",
		"role_ids": roleIDs}, http.StatusCreated, nil)
	return s.Login(t, email, "user-password-1")
}

// NewRole creates a role through the admin API and returns its id.
func (s *Server) NewRole(t testing.TB, name string, ops ...string) string {
	t.Helper()
	if ops == nil {
		ops = []string{}
	}
	var out struct {
		ID string `json:"id"`
	}
	s.Admin.JSON(t, "POST", "/api/v1/roles", map[string]any{"name": name, "operations": ops}, http.StatusCreated, &out)
	return out.ID
}

// Response is a raw API answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request; body may be nil, a []byte/string (sent as is) or a
// value encoded as JSON. Extra headers come in pairs.
func (c *Client) Do(t testing.TB, method, path string, body any, headers ...string) Response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// JSON sends a request, checks the status and decodes the answer into out
// (when out is not nil).
func (c *Client) JSON(t testing.TB, method, path string, body any, want int, out any) Response {
	t.Helper()
	resp := c.Do(t, method, path, body)
	if resp.Status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.Status, want, resp.Body)
	}
	if out != nil {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, resp.Body, err)
		}
	}
	return resp
}

// Anonymous is a client without credentials.
func (s *Server) Anonymous() *Client { return &Client{base: s.URL} }

// WaitJob waits until the job is in one of states, failing the test after
// 20 seconds.
func (s *Server) WaitJob(t testing.TB, id int64, states ...jobs.State) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for j, _ := s.App.Queue.Get(ctx, id); !slices.Contains(states, j.State); j, _ = s.App.Queue.Get(ctx, id) {
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s, want %v", id, j.State, states)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// JobEnded are the states of a job whose (last) attempt is over.
var JobEnded = []jobs.State{jobs.StateCompleted, jobs.StateCancelled, jobs.StateDiscarded, jobs.StateRetryable}
