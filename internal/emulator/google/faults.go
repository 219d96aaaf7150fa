package google

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// FaultKind is a kind of injected failure.
type FaultKind int

const (
	// FaultRateLimit429: People answers 429 RESOURCE_EXHAUSTED (ErrorInfo
	// reason RATE_LIMIT_EXCEEDED), Calendar 429 usageLimits
	// rateLimitExceeded; both with Retry-After.
	FaultRateLimit429 FaultKind = iota + 1
	// FaultRateLimit403: 403 usageLimits rateLimitExceeded ("Rate Limit
	// Exceeded"), the Calendar style also seen from People; with
	// Retry-After.
	FaultRateLimit403
	// FaultBackend500: 500 backendError.
	FaultBackend500
	// FaultSlow: the response is delayed by the slow delay, then served.
	FaultSlow
	// FaultDrop: the connection is closed without a response.
	FaultDrop
	// FaultExpireSyncToken: a request carrying a syncToken finds it
	// expired (the user's sync tokens are invalidated): People 400
	// EXPIRED_SYNC_TOKEN, Calendar 410 fullSyncRequired. Only requests
	// with a syncToken consume it.
	FaultExpireSyncToken
)

func (k FaultKind) String() string {
	switch k {
	case FaultRateLimit429:
		return "429"
	case FaultRateLimit403:
		return "403-rateLimitExceeded"
	case FaultBackend500:
		return "500"
	case FaultSlow:
		return "slow"
	case FaultDrop:
		return "drop"
	case FaultExpireSyncToken:
		return "expire-sync-token"
	}
	return "fault(" + strconv.Itoa(int(k)) + ")"
}

// Target selects the endpoints a fault applies to.
type Target uint8

const (
	TargetPeople   Target = 1 << iota // People API (/v1/...)
	TargetCalendar                    // Calendar API (/calendar/v3/...)
	TargetOAuth                       // the token endpoint (/token)
	// TargetAPIs is People and Calendar.
	TargetAPIs = TargetPeople | TargetCalendar
)

func targetOf(a api) Target {
	switch a {
	case apiPeople:
		return TargetPeople
	case apiCalendar:
		return TargetCalendar
	case apiOAuth:
		return TargetOAuth
	}
	return 0
}

// FaultRates are per-request probabilities (0..1). RateLimit429,
// RateLimit403, Backend500, Drop and Slow are drawn together (at most one of
// them hits a request); ExpireSyncToken is drawn separately, for requests
// with a syncToken only.
type FaultRates struct {
	RateLimit429    float64
	RateLimit403    float64
	Backend500      float64
	Drop            float64
	Slow            float64
	ExpireSyncToken float64
	// Targets the rates apply to; 0 means TargetAPIs.
	Targets Target
}

type scripted struct {
	kind   FaultKind
	target Target
	n      int
}

// Faults controls failure injection. Random draws come from a generator
// seeded with Options.Seed, so a sequence of requests meets the same faults
// on every run. Safe for concurrent use.
type Faults struct {
	mu         sync.Mutex
	rng        *rand.Rand
	rates      FaultRates
	script     []scripted
	slowDelay  time.Duration
	retryAfter time.Duration
	injected   map[FaultKind]int
}

func newFaults(seed int64) *Faults {
	return &Faults{
		rng:        rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)),
		slowDelay:  2 * time.Second,
		retryAfter: time.Second,
		injected:   map[FaultKind]int{},
	}
}

// SetRates sets the per-request probabilities.
func (f *Faults) SetRates(r FaultRates) {
	f.mu.Lock()
	f.rates = r
	f.mu.Unlock()
}

// SetSlowDelay sets how long FaultSlow holds a response (default 2 s).
func (f *Faults) SetSlowDelay(d time.Duration) {
	f.mu.Lock()
	f.slowDelay = d
	f.mu.Unlock()
}

// SetRetryAfter sets the Retry-After of injected 429/403 responses
// (default 1 s; sent in whole seconds, at least 1).
func (f *Faults) SetRetryAfter(d time.Duration) {
	f.mu.Lock()
	f.retryAfter = d
	f.mu.Unlock()
}

// FailNext makes the next n People or Calendar requests fail with kind
// (for FaultExpireSyncToken: the next n requests that carry a syncToken).
// Scripted faults queue up in the order they are added and take precedence
// over the random rates.
func (f *Faults) FailNext(n int, kind FaultKind) { f.FailNextOn(TargetAPIs, n, kind) }

// FailNextOn is FailNext for the given endpoints.
func (f *Faults) FailNextOn(t Target, n int, kind FaultKind) {
	if n <= 0 {
		return
	}
	f.mu.Lock()
	f.script = append(f.script, scripted{kind: kind, target: t, n: n})
	f.mu.Unlock()
}

// Pending is the number of scripted faults not yet consumed.
func (f *Faults) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.script {
		n += s.n
	}
	return n
}

// Injected returns how many faults of each kind were injected so far.
func (f *Faults) Injected() map[FaultKind]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[FaultKind]int{}
	for k, v := range f.injected {
		m[k] = v
	}
	return m
}

// Reset clears scripted faults and rates (delays stay).
func (f *Faults) Reset() {
	f.mu.Lock()
	f.script = nil
	f.rates = FaultRates{}
	f.mu.Unlock()
}

// pick decides the fault for one request.
func (f *Faults) pick(t Target, hasSyncToken bool) (FaultKind, time.Duration, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	kind := FaultKind(0)
	for i := range f.script {
		sc := &f.script[i]
		if sc.target&t == 0 || (sc.kind == FaultExpireSyncToken && !hasSyncToken) {
			continue
		}
		kind = sc.kind
		sc.n--
		if sc.n == 0 {
			f.script = append(f.script[:i], f.script[i+1:]...)
		}
		break
	}
	targets := f.rates.Targets
	if targets == 0 {
		targets = TargetAPIs
	}
	if kind == 0 && targets&t != 0 {
		r := f.rates
		if total := r.RateLimit429 + r.RateLimit403 + r.Backend500 + r.Drop + r.Slow; total > 0 {
			x := f.rng.Float64()
			for _, c := range []struct {
				p float64
				k FaultKind
			}{{r.RateLimit429, FaultRateLimit429}, {r.RateLimit403, FaultRateLimit403}, {r.Backend500, FaultBackend500}, {r.Drop, FaultDrop}, {r.Slow, FaultSlow}} {
				if x < c.p {
					kind = c.k
					break
				}
				x -= c.p
			}
		}
		if kind == 0 && hasSyncToken && r.ExpireSyncToken > 0 && f.rng.Float64() < r.ExpireSyncToken {
			kind = FaultExpireSyncToken
		}
	}
	if kind != 0 {
		f.injected[kind]++
	}
	return kind, f.slowDelay, f.retryAfter
}

func retryAfterSeconds(d time.Duration) string {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}

// injectFault applies a fault to a request; true means the response was
// written (or the connection dropped) and the request ends here.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, a api) bool {
	kind, slow, retry := s.faults.pick(targetOf(a), r.URL.Query().Get("syncToken") != "")
	switch kind {
	case 0:
		return false
	case FaultSlow:
		t := time.NewTimer(slow)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-s.closing:
		}
		return false
	case FaultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case FaultExpireSyncToken:
		if a == apiOAuth {
			return false
		}
		if u, ok := s.tokenUser(r); ok {
			s.ExpireSyncTokens(u)
		}
		return false
	}
	h := http.Header{}
	if kind == FaultRateLimit429 || kind == FaultRateLimit403 {
		h.Set("Retry-After", retryAfterSeconds(retry))
	}
	switch a {
	case apiPeople:
		switch kind {
		case FaultRateLimit429:
			e := peopleQuotaError("Critical read requests (Contact and Profile Reads)", "people.googleapis.com/read_requests", "ReadRequestsPerMinutePerUser")
			e.header = h
			e.write(w)
		case FaultRateLimit403:
			(&peopleErr{code: 403, status: "PERMISSION_DENIED", message: "Rate Limit Exceeded", header: h,
				errors: []errItem{{Message: "Rate Limit Exceeded", Domain: "usageLimits", Reason: "rateLimitExceeded"}}}).write(w)
		case FaultBackend500:
			(&peopleErr{code: 500, status: "INTERNAL", message: "Internal error encountered.",
				errors: []errItem{{Message: "Internal error encountered.", Domain: "global", Reason: "backendError"}}}).write(w)
		}
	case apiCalendar:
		var e *calErr
		switch kind {
		case FaultRateLimit429:
			e = cErr(429, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded")
		case FaultRateLimit403:
			e = cErr(403, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded")
		case FaultBackend500:
			e = cErr(500, "global", "backendError", "Backend Error")
		}
		e.header = h
		e.write(w)
	default:
		for k, v := range h {
			w.Header()[k] = v
		}
		switch kind {
		case FaultRateLimit429:
			oauthError(w, 429, "rate_limit_exceeded", "Rate Limit Exceeded")
		case FaultRateLimit403:
			oauthError(w, 403, "rate_limit_exceeded", "Rate Limit Exceeded")
		case FaultBackend500:
			oauthError(w, 500, "internal_failure", "Backend Error")
		}
	}
	return true
}

func (s *Server) tokenUser(r *http.Request) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.oauth.access[bearer(r)]; ok {
		return at.email, true
	}
	return "", false
}

// peopleQuotaError is the 429 RESOURCE_EXHAUSTED body of apis.md §1.5.
func peopleQuotaError(metricName, metric, limit string) *peopleErr {
	return &peopleErr{code: 429, status: "RESOURCE_EXHAUSTED",
		message: fmt.Sprintf("Quota exceeded for quota metric '%s' and limit '%s per minute per user' of service 'people.googleapis.com' for consumer 'project_number:%s'.", metricName, metricName, projectNumber),
		details: []any{
			obj{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"}, {"reason", "RATE_LIMIT_EXCEEDED"}, {"domain", "googleapis.com"},
				{"metadata", obj{{"quota_metric", metric}, {"quota_limit", limit}, {"service", "people.googleapis.com"}, {"consumer", "projects/" + projectNumber}}}},
			obj{{"@type", "type.googleapis.com/google.rpc.Help"}, {"links", []any{obj{{"description", "Request a higher quota limit."},
				{"url", "https://cloud.google.com/docs/quota#requesting_higher_quota"}}}}},
		}}
}

const projectNumber = "123456789012"
