package google

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
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
	// over token lifetimes.
	Now func() time.Time
	// Seed makes identifiers, tokens and random faults reproducible.
	Seed int64

	// AccessTokenLifetime is expires_in of issued access tokens; default 3599 s.
	AccessTokenLifetime time.Duration
	// AuthCodeLifetime is how long an authorization code may be exchanged;
	// default 10 minutes.
	AuthCodeLifetime time.Duration

	// PeopleSyncTokenLifetime: People sync tokens expire this long after
	// the full sync that started their chain; default 7 days, negative
	// means never.
	PeopleSyncTokenLifetime time.Duration
	// CalendarSyncTokenLifetime: Calendar sync tokens expire this long
	// after they were issued; default 0 means never.
	CalendarSyncTokenLifetime time.Duration

	// DefaultTimeZone of users' primary calendars; default "UTC".
	DefaultTimeZone string
	// RecurrenceHorizon bounds the expansion of endless recurring events
	// when no timeMax is given (singleEvents=true): instances up to
	// now+RecurrenceHorizon are listed. Default 2 years (730 days).
	RecurrenceHorizon time.Duration

	// PushDebounce collects changes to a calendar this long before the
	// "exists" notification goes out; default 50 ms.
	PushDebounce time.Duration
	// PushRetries is how many times a delivery answered with 500, 502,
	// 503 or 504 (or a transport error) is retried; default 3.
	PushRetries int
	// PushRetryBackoff is the first retry delay, doubled each time;
	// default 100 ms.
	PushRetryBackoff time.Duration
	// PushTimeout bounds one delivery attempt; default 5 s.
	PushTimeout time.Duration
	// AllowRemotePush lets events.watch register addresses that are not
	// on the loopback interface. Off by default: the emulator only calls
	// back to this machine.
	AllowRemotePush bool
	// AllowHTTPPush lets events.watch register http addresses. Off by
	// default: like Google, the emulator answers 400
	// push.webhookUrlNotHttps for anything but https. Tests whose
	// receiver is a plain httptest server turn it on.
	AllowHTTPPush bool

	// Quotas are the per-user per-minute quotas enforced from the start;
	// nil means DefaultQuotas, &Quotas{} none.
	Quotas *Quotas

	// Logf, if set, receives a line per noteworthy event (push deliveries).
	Logf func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AccessTokenLifetime == 0 {
		o.AccessTokenLifetime = 3599 * time.Second
	}
	if o.AuthCodeLifetime == 0 {
		o.AuthCodeLifetime = 10 * time.Minute
	}
	if o.PeopleSyncTokenLifetime == 0 {
		o.PeopleSyncTokenLifetime = 7 * 24 * time.Hour
	}
	if o.DefaultTimeZone == "" {
		o.DefaultTimeZone = "UTC"
	}
	if o.RecurrenceHorizon == 0 {
		o.RecurrenceHorizon = 730 * 24 * time.Hour
	}
	if o.PushDebounce == 0 {
		o.PushDebounce = 50 * time.Millisecond
	}
	if o.PushRetries == 0 {
		o.PushRetries = 3
	}
	if o.PushRetryBackoff == 0 {
		o.PushRetryBackoff = 100 * time.Millisecond
	}
	if o.PushTimeout == 0 {
		o.PushTimeout = 5 * time.Second
	}
}

// Server is the emulator. All methods are safe for concurrent use.
type Server struct {
	opts   Options
	secret []byte

	mu        sync.Mutex
	users     map[string]*user // lower-cased email → user
	userOrder []string
	idSeq     uint64

	oauth    oauthState
	channels map[string]*channel

	emptyPages       bool
	propagationDelay time.Duration
	quotas           Quotas
	quotaHits        map[string][]quotaHit // "user|quota" → the window's admitted requests
	quotaRefused     map[string]int

	requests map[string]int // "METHOD /path"
	calls    map[string]int // API method name
	pushLog  []PushRecord

	faults *Faults

	lst     loopback.Listener // serves Start
	closing chan struct{}
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	pushTr  *http.Transport // replaced by TrustPushCertificate; read under mu
}

// New returns a Server with no users; add them with AddUser.
func New(opts Options) *Server {
	opts.defaults()
	s := &Server{
		opts:         opts,
		users:        map[string]*user{},
		channels:     map[string]*channel{},
		quotaHits:    map[string][]quotaHit{},
		quotaRefused: map[string]int{},
		requests:     map[string]int{},
		calls:        map[string]int{},
		closing:      make(chan struct{}),
		pushTr:       newPushTransport(nil),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.secret = s.idBytes("secret", 0)
	s.oauth.init()
	s.faults = newFaults(opts.Seed)
	s.quotas = DefaultQuotas()
	if opts.Quotas != nil {
		s.quotas = *opts.Quotas
	}
	return s
}

// Start listens on Options.Addr and serves in the background. It returns
// the base URL, e.g. "http://127.0.0.1:41234" (no trailing slash).
func (s *Server) Start() (string, error) {
	return s.lst.Serve(s.opts.Addr, s)
}

// URL is the base URL returned by Start ("" before Start).
func (s *Server) URL() string { return s.lst.URL() }

// Handler is the emulator's HTTP handler, for use with httptest.Server.
func (s *Server) Handler() http.Handler { return s }

// Close stops the listener (if Start was called) and all push channels,
// and waits for deliveries in flight to end.
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
	s.mu.Lock()
	tr := s.pushTr
	s.mu.Unlock()
	tr.CloseIdleConnections()
	return err
}

func (s *Server) now() time.Time { return s.opts.Now() }

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

// --- users -----------------------------------------------------------------

type changeMark struct {
	seq int64
	at  time.Time
}

type user struct {
	email   string
	name    string
	sub     string
	seq     int64     // monotonic change counter
	last    time.Time // time of the last change (strictly increasing)
	changes []changeMark
	gen     int64 // sync-token generation; ExpireSyncTokens bumps it

	persons map[string]*person
	// personOrder lists persons by change position (connections.list's
	// order); livePersons counts those not deleted.
	personOrder seqIndex[*person]
	livePersons int
	groups      map[string]*group
	calendars   map[string]*calendar
	calOrder    []string
	profileSeq  int64
}

// tick advances the user's change counter; the returned time is strictly
// later than the previous change's, so `updated` orders like the counter.
func (s *Server) tick(u *user) (int64, time.Time) {
	u.seq++
	t := s.now().UTC().Truncate(time.Millisecond)
	if !t.After(u.last) {
		t = u.last.Add(time.Millisecond)
	}
	u.last = t
	u.changes = append(u.changes, changeMark{u.seq, t})
	return u.seq, t
}

// settledSeq is the highest change position older than the People
// propagation delay.
func (s *Server) settledSeq(u *user) int64 {
	if s.propagationDelay <= 0 {
		return u.seq
	}
	cut := s.now().Add(-s.propagationDelay)
	i := sort.Search(len(u.changes), func(i int) bool { return u.changes[i].at.After(cut) })
	if i == 0 {
		return 0
	}
	return u.changes[i-1].seq
}

func userKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// AddUser adds a Google account with its primary calendar and the system
// contact groups. Adding an existing user changes only its name.
func (s *Server) AddUser(email, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUserLocked(email, name)
}

func (s *Server) addUserLocked(email, name string) *user {
	k := userKey(email)
	if u, ok := s.users[k]; ok {
		if name != "" {
			u.name = name
		}
		return u
	}
	if name == "" {
		name = strings.SplitN(email, "@", 2)[0]
	}
	s.idSeq++
	sub := fmt.Sprintf("1%020d", uint64FromBytes(s.idBytes("sub", s.idSeq))%10000000000000000000)
	u := &user{
		email:     k,
		name:      name,
		sub:       sub,
		persons:   map[string]*person{},
		groups:    map[string]*group{},
		calendars: map[string]*calendar{},
	}
	s.users[k] = u
	s.userOrder = append(s.userOrder, k)
	for _, g := range systemGroups {
		seq, t := s.tick(u)
		u.groups[g.id] = &group{id: g.id, name: g.id, formatted: g.formatted, system: true, seq: seq, updated: t}
	}
	seq, t := s.tick(u)
	u.calendars[k] = &calendar{id: k, summary: k, timeZone: s.opts.DefaultTimeZone, primary: true,
		seq: seq, updated: t, events: map[string]*event{}}
	u.calOrder = append(u.calOrder, k)
	return u
}

func uint64FromBytes(b []byte) uint64 {
	var n uint64
	for _, c := range b[:8] {
		n = n<<8 | uint64(c)
	}
	return n
}

// Users lists the accounts' emails in the order they were added.
func (s *Server) Users() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.userOrder...)
}

func (s *Server) userLocked(email string) (*user, error) {
	u, ok := s.users[userKey(email)]
	if !ok {
		return nil, fmt.Errorf("emulator: no user %q", email)
	}
	return u, nil
}

// ExpireSyncTokens invalidates every People, contact-group, calendar-list
// and Calendar sync token (and page token of an incremental listing) of a
// user: People answers 400 EXPIRED_SYNC_TOKEN, Calendar 410
// fullSyncRequired.
func (s *Server) ExpireSyncTokens(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[userKey(email)]; ok {
		u.gen++
	}
}

// SetEmptyPages makes events.list return, before every page with items, a
// page with no items that still carries a nextPageToken (as Google may).
func (s *Server) SetEmptyPages(on bool) {
	s.mu.Lock()
	s.emptyPages = on
	s.mu.Unlock()
}

// SetPeoplePropagationDelay hides People changes younger than d from
// incremental connections.list results (they show up in a later sync);
// 0 turns it off (the default).
func (s *Server) SetPeoplePropagationDelay(d time.Duration) {
	s.mu.Lock()
	s.propagationDelay = d
	s.mu.Unlock()
}

// Faults returns the fault-injection controls.
func (s *Server) Faults() *Faults { return s.faults }

// --- observability -----------------------------------------------------------

// RequestCounts returns how many requests arrived per "METHOD /path" (the
// path as sent, without the query).
func (s *Server) RequestCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		m[k] = v
	}
	return m
}

// Calls returns how many requests reached each API method, by Google's
// method name ("people.connections.list", "calendar.events.patch",
// "oauth.token", …), counted after authentication and fault injection.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		m[k] = v
	}
	return m
}

// ResetCounts clears RequestCounts and Calls.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	s.requests = map[string]int{}
	s.calls = map[string]int{}
	s.mu.Unlock()
}

// --- routing -------------------------------------------------------------------

// api is the family a request belongs to, for auth, faults and error style.
type api int

const (
	apiNone api = iota
	apiPeople
	apiCalendar
	apiOAuth
)

// route is a matched API method.
type route struct {
	api    api
	name   string // e.g. "people.connections.list"
	scopes scopeNeed
	h      func(w http.ResponseWriter, r *http.Request, u *user, segs []string)
	segs   []string
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.Method+" "+r.URL.Path]++
	s.mu.Unlock()

	segs := splitPath(r.URL.EscapedPath())
	switch {
	case r.URL.Path == "/o/oauth2/v2/auth" || r.URL.Path == "/o/oauth2/auth":
		s.countCall("oauth.authorize")
		s.handleAuthorize(w, r)
		return
	case r.URL.Path == "/token" || r.URL.Path == "/o/oauth2/token" || r.URL.Path == "/oauth2/v4/token":
		if s.injectFault(w, r, apiOAuth) {
			return
		}
		s.countCall("oauth.token")
		s.handleToken(w, r)
		return
	case r.URL.Path == "/revoke" || r.URL.Path == "/o/oauth2/revoke":
		s.countCall("oauth.revoke")
		s.handleRevoke(w, r)
		return
	case r.URL.Path == "/tokeninfo" || r.URL.Path == "/oauth2/v3/tokeninfo":
		s.countCall("oauth.tokeninfo")
		s.handleTokenInfo(w, r)
		return
	case r.URL.Path == "/oauth2/v3/userinfo" || r.URL.Path == "/v1/userinfo" || r.URL.Path == "/oauth2/v2/userinfo":
		s.countCall("oauth.userinfo")
		s.handleUserinfo(w, r)
		return
	case strings.HasPrefix(r.URL.Path, adminPrefix):
		s.serveAdmin(w, r)
		return
	case r.URL.Path == "/" || r.URL.Path == "/healthz":
		s.handleIndex(w, r)
		return
	}

	var rt *route
	var a api
	switch {
	case len(segs) >= 1 && segs[0] == "v1":
		a = apiPeople
		rt = s.peopleRoute(r.Method, segs[1:])
	case len(segs) >= 2 && segs[0] == "calendar" && segs[1] == "v3":
		a = apiCalendar
		rt = s.calendarRoute(r.Method, segs[2:])
	default:
		http.NotFound(w, r)
		return
	}
	if rt == nil {
		if a == apiPeople {
			(&peopleErr{code: 404, status: "NOT_FOUND", message: "Method not found."}).write(w)
		} else {
			cErr(404, "global", "notFound", "Not Found").write(w)
		}
		return
	}
	u, ok := s.authorize(w, r, a, rt.scopes)
	if !ok {
		return
	}
	if s.injectFault(w, r, a) {
		return
	}
	if s.checkQuota(w, r, a, rt.name, u) {
		return
	}
	s.countCall(rt.name)
	rt.h(w, r, u, rt.segs)
}

func (s *Server) countCall(name string) {
	s.mu.Lock()
	s.calls[name]++
	s.mu.Unlock()
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
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	base := "http://" + r.Host
	fmt.Fprintf(w, "Tandem's Google emulator\n\nPeople API:    %s/\nCalendar API:  %s/calendar/v3/\nAuthorize:     %s/o/oauth2/v2/auth\nToken:         %s/token\nRevoke:        %s/revoke\nUser info:     %s/oauth2/v3/userinfo\nToken info:    %s/tokeninfo\n\nUsers:\n",
		base, base, base, base, base, base, base)
	for _, e := range s.Users() {
		fmt.Fprintf(w, "  %s\n", e)
	}
}
