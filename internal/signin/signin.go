// Package signin owns password sign-in for the API (POST /api/v1/auth/token)
// and the UI's login form: it checks the password, slows guessing down with
// a back-off per account and per client address, and records every failed
// attempt where administrators see it (Administration → Sign-in failures,
// GET /api/v1/login-failures, the tandem_login_failures_total counter).
//
// # Throttling
//
// An attempt counts against two keys: the account (the email tried, whether
// or not such a user exists, so the answers tell nothing about which exist)
// and the client address. A key may fail Policy.Free times freely; the
// failure that reaches Free, and each one after it, blocks the key for a
// wait that starts at First and doubles up to Max. While either key is
// blocked, attempts are refused without checking the password (the API
// answers 429 with Retry-After, the UI says when to try again), and being
// refused does not lengthen the wait: only a checked wrong password does. A
// key with no failure for Forget starts over; a successful sign-in resets
// the account.
//
// The address limit is the strict one (5 failures, then 1 minute doubling
// to 15): it stops one client guessing, at one account or across many. The
// account limit allows more failures and waits less (10, then 30 seconds
// doubling to 5 minutes): it slows guessing spread over many addresses, yet
// one address cannot hold an account shut. Once that address is blocked it
// gets one guess per 15 minutes, which blocks the account for at most 5 of
// them, and the owner's next successful sign-in resets the account's count.
// Every wait is capped and expires, so nobody is locked out for good.
//
// An attempt is counted before its password is checked, under a row lock,
// and given back when it succeeds, so parallel attempts cannot slip past
// the limit together. The state lives in the database: limits hold across
// restarts and across processes sharing one PostgreSQL.
//
// # Client address
//
// The address is the connection's peer (http.Request.RemoteAddr); an IPv6
// address counts as its /64 network, which one client usually holds whole.
// X-Forwarded-For is not trusted, since any client can send it. Behind a
// reverse proxy every client therefore shares the proxy's address, and the
// address limit applies to all of them together.
package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/store"
)

// Reason says why a sign-in failed.
type Reason string

// Reasons of failed sign-ins; the values are stored and shown in the API.
const (
	BadPassword Reason = "bad_password"
	UnknownUser Reason = "unknown_user"
	Inactive    Reason = "inactive_user"
	Throttled   Reason = "throttled" // refused without checking the password
)

// Reasons lists every Reason.
var Reasons = []Reason{BadPassword, UnknownUser, Inactive, Throttled}

// Policy is the back-off of one kind of key.
type Policy struct {
	Free   int           // failures before the first wait
	First  time.Duration // the wait after the Free-th failure; it doubles with each further one
	Max    time.Duration // the longest wait
	Forget time.Duration // a key with no failure for this long starts over
}

// Wait is how long a key that has failed failures times is blocked.
func (p Policy) Wait(failures int) time.Duration {
	if failures < p.Free {
		return 0
	}
	d := p.First
	for i := p.Free; i < failures && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// The policies New starts with (see the package documentation).
var (
	AddressPolicy = Policy{Free: 5, First: time.Minute, Max: 15 * time.Minute, Forget: time.Hour}
	AccountPolicy = Policy{Free: 10, First: 30 * time.Second, Max: 5 * time.Minute, Forget: time.Hour}
)

// Keep is how long failed sign-ins are kept for administrators.
const Keep = 30 * 24 * time.Hour

// maxEmail bounds the email kept from an attempt (no address is longer);
// it is also the account's throttle key.
const maxEmail = 254

// Store is what sign-in needs from the database.
type Store interface {
	Authenticate(ctx context.Context, email, password string) (*access.User, error)
	UpdateLoginThrottles(ctx context.Context, keys []string, fn func([]store.LoginThrottle) []store.LoginThrottle) error
	SwapLoginThrottle(ctx context.Context, from, to store.LoginThrottle) (bool, error)
	DeleteLoginThrottle(ctx context.Context, key string) error
	AddLoginFailure(ctx context.Context, f store.LoginFailure) error
	PruneLogins(ctx context.Context, now, failedBefore, idleBefore time.Time) (int64, error)
}

// Service signs users in by password.
type Service struct {
	// Now is the clock (time.Now); tests set their own.
	Now     func() time.Time
	Address Policy
	Account Policy

	st       Store
	log      *slog.Logger
	failures *prometheus.CounterVec
}

// New returns the service with the default policies.
func New(st Store, log *slog.Logger) *Service {
	s := &Service{Now: time.Now, Address: AddressPolicy, Account: AccountPolicy, st: st, log: log,
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tandem_login_failures_total",
			Help: "Failed sign-ins (API token and UI login) by reason."}, []string{"reason"})}
	for _, r := range Reasons {
		s.failures.WithLabelValues(string(r)) // every series exists from the start
	}
	return s
}

// Metrics is the failed sign-in counter, for the server's registry.
func (s *Service) Metrics() prometheus.Collector { return s.failures }

// ThrottledError refuses an attempt without checking its password.
type ThrottledError struct {
	Until time.Time     // when attempts are checked again
	Wait  time.Duration // from the attempt until then
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins: try again in %s", e.Wait)
}

// Seconds is the wait in whole seconds, rounded up (for Retry-After).
func (e *ThrottledError) Seconds() int {
	return max(1, int((e.Wait+time.Second-1)/time.Second))
}

// SignIn checks an email and password tried from the client address addr
// (see ClientAddr). It returns the active user; an error that is
// access.ErrPassword for wrong credentials, whatever the reason; or a
// *ThrottledError while the account or the address must wait.
func (s *Service) SignIn(ctx context.Context, email, password, addr string) (*access.User, error) {
	now := s.Now().UTC()
	email = truncate(strings.ToLower(strings.TrimSpace(email)), maxEmail)
	account, address := "account:"+email, "address:"+addressKey(addr)
	policy := func(key string) Policy {
		if key == address {
			return s.Address
		}
		return s.Account
	}
	var until time.Time
	before := map[string]store.LoginThrottle{} // as if this attempt had not been made
	counted := map[string]store.LoginThrottle{}
	err := s.st.UpdateLoginThrottles(ctx, []string{account, address}, func(ts []store.LoginThrottle) []store.LoginThrottle {
		for i, t := range ts {
			if now.Sub(t.LastFailure) >= policy(t.Key).Forget && !now.Before(t.BlockedUntil) {
				ts[i] = store.LoginThrottle{Key: t.Key}
			}
			if ts[i].BlockedUntil.After(until) && now.Before(ts[i].BlockedUntil) {
				until = ts[i].BlockedUntil
			}
		}
		if !until.IsZero() {
			return nil
		}
		for i, t := range ts {
			before[t.Key] = t
			t.Failures++
			t.LastFailure = now
			if w := policy(t.Key).Wait(t.Failures); w > 0 {
				t.BlockedUntil = now.Add(w)
			}
			ts[i], counted[t.Key] = t, t
		}
		return ts
	})
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	if !until.IsZero() {
		s.record(ctx, now, email, addr, Throttled)
		return nil, &ThrottledError{Until: until, Wait: until.Sub(now)}
	}

	u, err := s.st.Authenticate(ctx, email, password)
	switch {
	case err == nil:
		// The account starts over; the address gets its attempt back
		// unless another attempt from it changed it meanwhile. A user who
		// has an account must not clear the address limit for guessing at
		// others.
		if err := s.st.DeleteLoginThrottle(ctx, account); err != nil {
			s.log.ErrorContext(ctx, "reset sign-in throttle", "err", err)
		}
		if _, err := s.st.SwapLoginThrottle(ctx, counted[address], before[address]); err != nil {
			s.log.ErrorContext(ctx, "restore sign-in throttle", "err", err)
		}
		return u, nil
	case errors.Is(err, access.ErrUnknownUser):
		s.record(ctx, now, email, addr, UnknownUser)
	case errors.Is(err, access.ErrInactive):
		s.record(ctx, now, email, addr, Inactive)
	case errors.Is(err, access.ErrPassword):
		s.record(ctx, now, email, addr, BadPassword)
	}
	return nil, err
}

// record keeps a failed attempt; a failure to write it does not change
// the answer to the attempt.
func (s *Service) record(ctx context.Context, at time.Time, email, addr string, reason Reason) {
	s.failures.WithLabelValues(string(reason)).Inc()
	if err := s.st.AddLoginFailure(ctx, store.LoginFailure{At: at, Email: email, ClientAddr: addr, Reason: string(reason)}); err != nil {
		s.log.ErrorContext(ctx, "record sign-in failure", "err", err)
	}
}

// Prune deletes failed sign-ins older than Keep and the throttles that
// have been forgotten; the hourly cleanup job runs it.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	now := s.Now().UTC()
	return s.st.PruneLogins(ctx, now, now.Add(-Keep), now.Add(-max(s.Address.Forget, s.Account.Forget)))
}

// ClientAddr is the address a request came from: its connection's peer.
// X-Forwarded-For is deliberately ignored (see the package documentation).
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// addressKey is the throttle key of a client address: IPv6 addresses by
// their /64 network.
func addressKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.WithZone("").Prefix(64)
		return p.String()
	}
	return ip.String()
}

// truncate cuts s to at most n bytes of valid UTF-8.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
