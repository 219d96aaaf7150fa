package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/emulator/loopback"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Addr is the listen address of Start; default "127.0.0.1:0".
	Addr string
	// Now is the clock for message dates, update expiry, rate limits and
	// webhook error dates; default time.Now. Tests pass a fake clock to
	// step over the 24 hours an update is kept.
	Now func() time.Time
	// Seed makes tokens, identifiers and first update ids reproducible.
	Seed int64

	// UpdateLifetime is how long an unconfirmed update is kept; default
	// 24 h, as Telegram.
	UpdateLifetime time.Duration

	// AllowInsecureWebhooks lets setWebhook register any http or https
	// address on any port, loopback included. Off by default, the
	// emulator refuses what Telegram refuses: a non-https URL ("An HTTPS
	// URL must be provided for webhook"), a port other than 443, 80, 88
	// or 8443, and reserved addresses such as 127.0.0.1 ("IP address
	// 127.0.0.1 is reserved"). Telegram only calls public https
	// endpoints; a test's receiver is a plain http server on a random
	// loopback port, which no real setWebhook accepts — so tests (and a
	// standalone emulator next to a local Tandem) turn this on, and a
	// client meant for the real service still sees the real refusals
	// when it is off.
	AllowInsecureWebhooks bool
	// WebhookRetries is how many times a webhook delivery that failed (a
	// non-2xx answer or a transport error) is tried again before the
	// update is dropped; default 5, negative for none. Telegram retries
	// for up to the update's 24 hours; the bound lets a test see the drop.
	WebhookRetries int
	// WebhookRetryBackoff is the delay before the first retry, doubled
	// for each further one up to WebhookMaxBackoff; defaults 1 s and 60 s
	// (Telegram's first delay and ceiling). Retry delays are real time:
	// they pace real HTTP calls.
	WebhookRetryBackoff time.Duration
	WebhookMaxBackoff   time.Duration
	// WebhookTimeout bounds one delivery attempt; default 30 s.
	WebhookTimeout time.Duration

	// RateLimits are enforced from the start; nil means
	// DefaultRateLimits, &RateLimits{} none (benchmarks).
	RateLimits *RateLimits

	// Logf, if set, receives a line per noteworthy event.
	Logf func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.UpdateLifetime == 0 {
		o.UpdateLifetime = 24 * time.Hour
	}
	if o.WebhookRetries == 0 {
		o.WebhookRetries = 5
	}
	if o.WebhookRetries < 0 {
		o.WebhookRetries = 0
	}
	if o.WebhookRetryBackoff == 0 {
		o.WebhookRetryBackoff = time.Second
	}
	if o.WebhookMaxBackoff == 0 {
		o.WebhookMaxBackoff = 60 * time.Second
	}
	if o.WebhookTimeout == 0 {
		o.WebhookTimeout = 30 * time.Second
	}
}

// Server is the emulator. All methods are safe for concurrent use.
type Server struct {
	opts Options

	mu      sync.Mutex
	rng     *rand.Rand
	bots    map[string]*bot // token → bot
	botIDs  map[int64]*bot
	users   map[int64]*User // customers
	files   map[string]*storedFile
	paths   map[string]*storedFile // file_path → file
	seq     int64                  // identifiers
	limits  RateLimits
	calls   map[string]int
	changed chan struct{} // closed and replaced at every observable change

	faults *Faults

	whClient *http.Client

	lst     loopback.Listener // serves Start
	closing chan struct{}
	closed  bool
	wg      sync.WaitGroup
}

// New returns a Server with no bots; add them with CreateBot.
func New(opts Options) *Server {
	opts.defaults()
	s := &Server{
		opts:    opts,
		rng:     rand.New(rand.NewPCG(uint64(opts.Seed), 0x7e1e6a3b0c5d)),
		bots:    map[string]*bot{},
		botIDs:  map[int64]*bot{},
		users:   map[int64]*User{},
		files:   map[string]*storedFile{},
		paths:   map[string]*storedFile{},
		calls:   map[string]int{},
		changed: make(chan struct{}),
		closing: make(chan struct{}),
		faults:  newFaults(),
	}
	s.limits = DefaultRateLimits()
	if opts.RateLimits != nil {
		s.limits = *opts.RateLimits
	}
	// One keep-alive client for every webhook: up to 100 connections per
	// receiver (max_connections' ceiling), so a busy bot reuses them.
	s.whClient = &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        1000,
			MaxIdleConnsPerHost: 100,
			IdleConnTimeout:     90 * time.Second,
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s
}

// Start listens on Options.Addr and serves in the background until Close
// is called or ctx is done. It returns the base URL, e.g.
// "http://127.0.0.1:41234" (no trailing slash): the Bot API is at
// base/bot<token>/<method>.
func (s *Server) Start(ctx context.Context) (string, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return "", errors.New("telegram emulator: closed")
	}
	base, err := s.lst.Serve(s.opts.Addr, s)
	if err != nil {
		return "", fmt.Errorf("telegram emulator: %w", err)
	}
	context.AfterFunc(ctx, func() { s.Close() })
	return base, nil
}

// URL is the base URL returned by Start ("" before Start).
func (s *Server) URL() string { return s.lst.URL() }

// Handler is the emulator's HTTP handler, for use with httptest.Server.
func (s *Server) Handler() http.Handler { return s }

// Close stops the listener, webhook deliveries and foreign pollers, ends
// waiting long polls, and waits for deliveries in flight.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	for _, b := range s.bots {
		if b.wh != nil {
			b.wh.halt()
		}
		if b.foreignStop != nil {
			close(b.foreignStop)
			b.foreignStop = nil
		}
	}
	s.mu.Unlock()
	err := s.lst.Shutdown()
	s.wg.Wait()
	s.whClient.CloseIdleConnections()
	return err
}

func (s *Server) now() time.Time { return s.opts.Now() }

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// bumpLocked wakes everyone waiting in waitFor.
func (s *Server) bumpLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond (called with s.mu held) is true, ctx is done
// or the server closes.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		if cond() {
			s.mu.Unlock()
			return nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closing:
			return errors.New("telegram emulator: closed")
		}
	}
}

// Calls returns how many requests reached each Bot API method (by its
// documented name, e.g. "sendMessage"), counted after the token check;
// methods run from a webhook reply count under "webhook:<method>".
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		m[k] = v
	}
	return m
}

// Faults returns the fault-injection controls.
func (s *Server) Faults() *Faults { return s.faults }

// --- routing ---------------------------------------------------------------

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, ControlPrefix):
		s.serveControl(w, r)
	case strings.HasPrefix(p, "/file/bot"):
		s.serveFile(w, r)
	case strings.HasPrefix(p, "/bot"):
		s.serveAPI(w, r)
	case p == "/" || p == "/healthz":
		s.serveIndex(w, r)
	default:
		writeError(w, errNotFound)
	}
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if r.URL.Path == "/healthz" {
		fmt.Fprintln(w, "ok")
		return
	}
	base := "http://" + r.Host
	fmt.Fprintf(w, "Tandem's Telegram Bot API emulator\n\nBot API:  %s/bot<token>/<method>\nFiles:    %s/file/bot<token>/<file_path>\nControl:  %s%s…\n\nBots:\n", base, base, base, ControlPrefix)
	for _, b := range s.Bots() {
		fmt.Fprintf(w, "  @%s  %s\n", b.Username, b.Token)
	}
}

// apiError is a Bot API error answer.
type apiError struct {
	code       int
	desc       string
	retryAfter int
	migrateTo  int64
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.desc) }

func badRequest(desc string) *apiError { return &apiError{code: 400, desc: "Bad Request: " + desc} }

var (
	errNotFound     = &apiError{code: 404, desc: "Not Found"}
	errUnauthorized = &apiError{code: 401, desc: "Unauthorized"}
	errBadToken     = &apiError{code: 401, desc: "Unauthorized: invalid token specified"}
)

func tooManyRequests(retryAfter int) *apiError {
	if retryAfter < 1 {
		retryAfter = 1
	}
	return &apiError{code: 429, desc: "Too Many Requests: retry after " + strconv.Itoa(retryAfter), retryAfter: retryAfter}
}

func conflict(desc string) *apiError { return &apiError{code: 409, desc: desc} }

const (
	conflictWebhookActive = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
	conflictOtherPoller   = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
	conflictSetWebhook    = "Conflict: terminated by setWebhook request"
)

func writeError(w http.ResponseWriter, e *apiError) {
	resp := Response{OK: false, ErrorCode: e.code, Description: e.desc}
	if e.retryAfter > 0 || e.migrateTo != 0 {
		resp.Parameters = &ResponseParameters{RetryAfter: e.retryAfter, MigrateToChatID: e.migrateTo}
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSON(w, e.code, resp)
}

// result is a successful answer; description is set by setWebhook and
// deleteWebhook ("Webhook was set", …).
type result struct {
	v           any
	description string
}

func writeResult(w http.ResponseWriter, res result) {
	raw, err := json.Marshal(res.v)
	if err != nil {
		writeError(w, &apiError{code: 500, desc: "Internal Server Error"})
		return
	}
	writeJSON(w, http.StatusOK, Response{OK: true, Result: raw, Description: res.description})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// checkToken tells apart, as the real server does, a token that cannot be
// one (401 "Unauthorized: invalid token specified"), a well-formed token
// of no bot (401 "Unauthorized") and a bot's token.
func (s *Server) checkToken(token string) (*bot, *apiError) {
	if token == "" {
		return nil, errNotFound
	}
	colon := strings.IndexByte(token, ':')
	if token[0] == '0' || len(token) > 80 || strings.ContainsRune(token, '/') || colon < 0 {
		return nil, errBadToken
	}
	id, err := strconv.ParseInt(token[:colon], 10, 64)
	if err != nil || id <= 0 || id >= 1<<54 {
		return nil, errBadToken
	}
	s.mu.Lock()
	b := s.bots[token]
	s.mu.Unlock()
	if b == nil {
		return nil, errUnauthorized
	}
	return b, nil
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/bot")
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		writeError(w, errNotFound)
		return
	}
	token, method := rest[:slash], rest[slash+1:]
	method = strings.TrimPrefix(method, "test/") // the test environment's path
	b, aerr := s.checkToken(token)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	m, ok := methods[strings.ToLower(method)]
	if !ok {
		writeError(w, errNotFound)
		return
	}
	s.mu.Lock()
	s.calls[m.name]++
	s.mu.Unlock()
	if s.injectFault(w, m.name) {
		return
	}
	p, aerr := readParams(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if m.name == "getUpdates" {
		s.getUpdates(w, r, b, p)
		return
	}
	res, aerr := m.h(s, r.Context(), b, p)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeResult(w, res)
}

// method is a Bot API method.
type method struct {
	name string
	h    func(s *Server, ctx context.Context, b *bot, p *params) (result, *apiError)
}

// methods are the emulated Bot API methods by lower-cased name (the real
// server matches names case-insensitively). Any other name answers 404
// Not Found, as an unknown method does.
var methods map[string]method

func init() {
	methods = map[string]method{}
	for _, m := range []method{
		{"getMe", (*Server).getMe},
		{"getUpdates", nil}, // served by getUpdates: it may wait
		{"setWebhook", (*Server).setWebhook},
		{"deleteWebhook", (*Server).deleteWebhook},
		{"getWebhookInfo", (*Server).getWebhookInfo},
		{"sendMessage", (*Server).sendMessage},
		{"sendPhoto", (*Server).sendPhoto},
		{"sendDocument", (*Server).sendDocument},
		{"sendChatAction", (*Server).sendChatAction},
		{"getFile", (*Server).getFile},
		{"getChat", (*Server).getChat},
	} {
		methods[strings.ToLower(m.name)] = m
	}
}
