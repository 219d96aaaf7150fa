package messenger

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/emulator/loopback"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// Addr is the listen address of Start; default "127.0.0.1:0".
	Addr string
	// Now is the clock; default time.Now. Tests pass a fake clock to step
	// over the messaging windows and token lifetimes.
	Now func() time.Time
	// Seed makes identifiers, tokens and message ids reproducible.
	Seed int64

	// UserTokenLifetime is expires_in of the user access token a code is
	// exchanged for (Facebook's short-lived tokens last an hour or two);
	// default 2 hours.
	UserTokenLifetime time.Duration
	// LongLivedTokenLifetime is expires_in of a token from
	// grant_type=fb_exchange_token; default 60 days.
	LongLivedTokenLifetime time.Duration
	// CodeLifetime is how long an authorization code may be exchanged;
	// default 10 minutes.
	CodeLifetime time.Duration

	// ThreadControlExpiry: an app's control of a thread lapses after this
	// long without activity (a customer message, a send, a handover), and
	// the thread becomes idle; default 24 hours, negative means never.
	ThreadControlExpiry time.Duration

	// SendRateLimit is how many Send API calls a page may make per second
	// before it gets (#613); default 300, negative means no limit (for
	// benchmarks). SetSendRateLimit changes it while running.
	SendRateLimit int

	// DeliveryLanes is how many webhook POSTs to one app may be in flight
	// at once. Events of one thread (page and PSID) always share a lane,
	// so they arrive in order unless out-of-order delivery is switched on;
	// default 8.
	DeliveryLanes int
	// DeliveryRetries is how many times a delivery that got no 2xx answer
	// is tried again before it is given up; default 5.
	DeliveryRetries int
	// RetryBackoff is the first retry delay, doubled each time (at most
	// 30 s); default 500 ms.
	RetryBackoff time.Duration
	// DeliveryTimeout bounds one webhook POST and the verification GET;
	// default 20 s, Meta's timeout.
	DeliveryTimeout time.Duration
	// AllowHTTPCallbacks lets /{app-id}/subscriptions register http
	// callback URLs. Off by default: like Meta, the emulator takes https
	// only. Tests with a plain httptest receiver, and the standalone
	// emulator next to a local Tandem, turn it on.
	AllowHTTPCallbacks bool
	// AllowRemoteCallbacks lets callback URLs point off this machine. Off
	// by default: the emulator only calls back to loopback addresses.
	AllowRemoteCallbacks bool

	// Logf, if set, receives a line per noteworthy event (deliveries that
	// fail, verification handshakes).
	Logf func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.UserTokenLifetime == 0 {
		o.UserTokenLifetime = 2 * time.Hour
	}
	if o.LongLivedTokenLifetime == 0 {
		o.LongLivedTokenLifetime = 60 * 24 * time.Hour
	}
	if o.CodeLifetime == 0 {
		o.CodeLifetime = 10 * time.Minute
	}
	if o.ThreadControlExpiry == 0 {
		o.ThreadControlExpiry = 24 * time.Hour
	}
	if o.SendRateLimit == 0 {
		o.SendRateLimit = 300
	}
	if o.DeliveryLanes <= 0 {
		o.DeliveryLanes = 8
	}
	if o.DeliveryRetries == 0 {
		o.DeliveryRetries = 5
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = 500 * time.Millisecond
	}
	if o.DeliveryTimeout == 0 {
		o.DeliveryTimeout = 20 * time.Second
	}
}

// Server is the emulator. All methods are safe for concurrent use.
type Server struct {
	opts   Options
	secret []byte

	// mu guards the state below (apps, users, pages, tokens, threads). It
	// is held for map work only: never across network calls.
	mu        sync.Mutex
	rng       *rand.Rand
	idSeq     uint64
	apps      map[string]*app
	appOrder  []string
	users     map[string]*user
	userOrder []string
	pages     map[string]*page
	pageOrder []string
	login     loginState
	clockSkew time.Duration
	sendLimit int
	requests  map[string]int // "METHOD /path" without the version
	faults    []fault

	traceMu  sync.Mutex
	traceRng *rand.Rand

	deliv *deliveries

	lst     loopback.Listener // serves Start
	closing chan struct{}
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New returns a Server with no apps, users or pages; add them with AddApp,
// AddUser and AddPage (or the control API).
func New(opts Options) *Server {
	opts.defaults()
	s := &Server{
		opts:      opts,
		rng:       rand.New(rand.NewPCG(uint64(opts.Seed), 0x6d657373656e6772)),
		traceRng:  rand.New(rand.NewPCG(uint64(opts.Seed), 0x7472616365)),
		apps:      map[string]*app{},
		users:     map[string]*user{},
		pages:     map[string]*page{},
		requests:  map[string]int{},
		closing:   make(chan struct{}),
		sendLimit: opts.SendRateLimit,
	}
	mac := hmac.New(sha256.New, []byte("tandem-messenger-emulator"))
	binary.Write(mac, binary.BigEndian, opts.Seed)
	s.secret = mac.Sum(nil)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.login.init()
	s.deliv = newDeliveries(s)
	return s
}

// Start listens on Options.Addr and serves in the background. It returns
// the base URL, e.g. "http://127.0.0.1:41234" (no trailing slash); it
// stands for both https://graph.facebook.com and https://www.facebook.com.
func (s *Server) Start() (string, error) {
	return s.lst.Serve(s.opts.Addr, s)
}

// URL is the base URL returned by Start ("" before Start).
func (s *Server) URL() string { return s.lst.URL() }

// Handler is the emulator's HTTP handler, for use with httptest.Server.
func (s *Server) Handler() http.Handler { return s }

// Close stops the listener (if Start was called) and the deliveries, and
// waits for those in flight to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.cancel()
	s.mu.Unlock()
	err := s.lst.Shutdown()
	s.wg.Wait()
	s.deliv.closeIdle()
	return err
}

// now is the emulator's clock: Options.Now plus the skew set by
// AdvanceClock (the standalone emulator's way to step over windows).
func (s *Server) now() time.Time {
	s.mu.Lock()
	d := s.clockSkew
	s.mu.Unlock()
	return s.opts.Now().Add(d)
}

// nowLocked is now for callers holding mu.
func (s *Server) nowLocked() time.Time { return s.opts.Now().Add(s.clockSkew) }

// AdvanceClock moves the emulator's clock on by d on top of Options.Now,
// for the standalone emulator, whose clock is the real one: a customer's
// 24-hour window can be stepped over without waiting.
func (s *Server) AdvanceClock(d time.Duration) {
	s.mu.Lock()
	s.clockSkew += d
	s.mu.Unlock()
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// --- identifiers -------------------------------------------------------------

// digitsLocked returns a numeric id of n digits not starting with 0, drawn
// from the seeded generator (callers hold mu).
func (s *Server) digitsLocked(first byte, n int) string {
	b := make([]byte, n)
	b[0] = first
	for i := 1; i < n; i++ {
		b[i] = byte('0' + s.rng.IntN(10))
	}
	return string(b)
}

// opaqueLocked returns a token-like string: prefix and n base64url
// characters of an HMAC of the seed and a counter, so values never repeat.
func (s *Server) opaqueLocked(prefix, purpose string, n int) string {
	var out strings.Builder
	out.WriteString(prefix)
	for out.Len() < len(prefix)+n {
		s.idSeq++
		mac := hmac.New(sha256.New, s.secret)
		fmt.Fprintf(mac, "%s|%d", purpose, s.idSeq)
		out.WriteString(base64.RawURLEncoding.EncodeToString(mac.Sum(nil)))
	}
	return out.String()[:len(prefix)+n]
}

// fbtraceID is the random trace id Graph errors carry.
func (s *Server) fbtraceID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
	s.traceMu.Lock()
	defer s.traceMu.Unlock()
	b := make([]byte, 23)
	b[0] = 'A'
	for i := 1; i < len(b); i++ {
		b[i] = alphabet[s.traceRng.IntN(len(alphabet))]
	}
	return string(b)
}

// --- observability -------------------------------------------------------------

// RequestCounts returns how many requests arrived per "METHOD /path" (the
// Graph path without its version, e.g. "POST /me/messages"; the control
// API is not counted).
func (s *Server) RequestCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		m[k] = v
	}
	return m
}

// --- routing -----------------------------------------------------------------------

var versionRe = regexp.MustCompile(`^v\d+\.\d+$`)

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, AdminPrefix):
		s.serveAdmin(w, r)
		return
	case r.URL.Path == "/" || r.URL.Path == "/healthz":
		s.handleIndex(w, r)
		return
	}
	segs := splitPath(r.URL.EscapedPath())
	version := ""
	if len(segs) > 0 && versionRe.MatchString(segs[0]) {
		version, segs = segs[0], segs[1:]
	}
	if version == "" {
		version = defaultVersion
	}
	w.Header().Set("Facebook-Api-Version", version)
	path := strings.Join(segs, "/")
	s.mu.Lock()
	s.requests[r.Method+" /"+path]++
	s.mu.Unlock()

	if len(segs) == 2 && segs[0] == "dialog" && segs[1] == "oauth" {
		s.handleDialog(w, r, version)
		return
	}
	if s.injectFault(w, r, path) {
		return
	}
	rq := &request{s: s, w: w, r: r, version: version, segs: segs}
	if err := rq.parse(); err != nil {
		rq.fail(err)
		return
	}
	s.route(rq)
}

// route dispatches a Graph request by its path (version removed).
func (s *Server) route(rq *request) {
	segs, m := rq.segs, rq.r.Method
	if len(segs) == 0 {
		rq.fail(unsupported(m, ""))
		return
	}
	switch {
	case len(segs) == 2 && segs[0] == "oauth" && segs[1] == "access_token" && (m == "GET" || m == "POST"):
		s.handleAccessToken(rq)
	case len(segs) == 1 && segs[0] == "debug_token" && m == "GET":
		s.handleDebugToken(rq)
	case len(segs) == 1 && m == "GET":
		s.handleNode(rq, segs[0])
	case len(segs) == 2:
		node, edge := segs[0], segs[1]
		switch {
		case edge == "accounts" && m == "GET":
			s.handleAccounts(rq, node)
		case edge == "permissions" && (m == "GET" || m == "DELETE"):
			s.handlePermissions(rq, node)
		case edge == "messages" && m == "POST":
			s.handleSend(rq, node)
		case edge == "subscribed_apps":
			s.handleSubscribedApps(rq, node)
		case edge == "subscriptions":
			s.handleAppSubscriptions(rq, node)
		case isHandoverOp(edge) && m == "POST":
			s.handleHandover(rq, node, edge)
		case edge == "thread_owner" && m == "GET":
			s.handleThreadOwner(rq, node)
		case edge == "secondary_receivers" && m == "GET":
			s.handleSecondaryReceivers(rq, node)
		default:
			rq.fail(unsupported(m, node))
		}
	default:
		rq.fail(unsupported(m, segs[0]))
	}
}

// splitPath splits an escaped path into unescaped segments.
func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	parts := strings.Split(p, "/")
	for i, x := range parts {
		if y, err := url.PathUnescape(x); err == nil {
			parts[i] = y
		}
	}
	return parts
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		w.Write([]byte("ok\n"))
		return
	}
	var b strings.Builder
	base := "http://" + r.Host
	fmt.Fprintf(&b, "Tandem's Facebook Messenger emulator\n\nGraph API:     %s/%s/\nLogin dialog:  %s/%s/dialog/oauth\nToken:         %s/%s/oauth/access_token\nControl API:   %s%s\n\n",
		base, defaultVersion, base, defaultVersion, base, defaultVersion, base, AdminPrefix)
	s.mu.Lock()
	fmt.Fprintf(&b, "Apps:\n")
	for _, id := range s.appOrder {
		a := s.apps[id]
		fmt.Fprintf(&b, "  %s  %s  human agent: %v\n", a.id, a.name, a.humanAgent)
	}
	fmt.Fprintf(&b, "Users and their pages:\n")
	for _, id := range s.userOrder {
		u := s.users[id]
		fmt.Fprintf(&b, "  %s  %s\n", u.id, u.name)
		for _, pid := range u.pages {
			fmt.Fprintf(&b, "      page %s  %s\n", pid, s.pages[pid].name)
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, b.String())
}
