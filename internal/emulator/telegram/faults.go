package telegram

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// FaultKind is a kind of injected failure.
type FaultKind int

const (
	// Fault500 answers 500 {"ok":false,"error_code":500,"description":
	// "Internal Server Error"}.
	Fault500 FaultKind = iota + 1
	// Fault502 answers 502 Bad Gateway with the HTML page of Telegram's
	// front proxy (nginx) — not JSON, as the real one when its backend
	// is down.
	Fault502
	// Fault429 answers 429 "Too Many Requests: retry after N" with
	// parameters.retry_after (SetRetryAfter; default 5).
	Fault429
	// FaultDrop closes the connection without an answer.
	FaultDrop
)

func (k FaultKind) String() string {
	switch k {
	case Fault500:
		return "500"
	case Fault502:
		return "502"
	case Fault429:
		return "429"
	case FaultDrop:
		return "drop"
	}
	return "fault(" + strconv.Itoa(int(k)) + ")"
}

// ParseFaultKind reads "500", "502", "429" or "drop".
func ParseFaultKind(s string) (FaultKind, bool) {
	for _, k := range []FaultKind{Fault500, Fault502, Fault429, FaultDrop} {
		if k.String() == s {
			return k, true
		}
	}
	return 0, false
}

type scripted struct {
	method string // lower-cased; "" any
	kind   FaultKind
	n      int
}

// Faults make Bot API calls fail on purpose. Safe for concurrent use.
type Faults struct {
	mu         sync.Mutex
	script     []scripted
	retryAfter int
	injected   map[FaultKind]int
}

func newFaults() *Faults { return &Faults{retryAfter: 5, injected: map[FaultKind]int{}} }

// FailNext makes the next n calls of method (its API name, any case; ""
// for any method) fail with kind. Scripted faults apply in the order they
// were added; they hit after the token check, before the call runs.
func (f *Faults) FailNext(method string, n int, kind FaultKind) {
	if n <= 0 {
		return
	}
	f.mu.Lock()
	f.script = append(f.script, scripted{method: strings.ToLower(method), kind: kind, n: n})
	f.mu.Unlock()
}

// SetRetryAfter sets retry_after of injected 429s, in seconds.
func (f *Faults) SetRetryAfter(seconds int) {
	f.mu.Lock()
	f.retryAfter = max(seconds, 1)
	f.mu.Unlock()
}

// Pending is the number of scripted faults not yet used.
func (f *Faults) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.script {
		n += s.n
	}
	return n
}

// Injected returns how many faults of each kind hit so far.
func (f *Faults) Injected() map[FaultKind]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[FaultKind]int, len(f.injected))
	for k, v := range f.injected {
		m[k] = v
	}
	return m
}

// Reset drops the scripted faults.
func (f *Faults) Reset() {
	f.mu.Lock()
	f.script = nil
	f.mu.Unlock()
}

func (f *Faults) pick(method string) (FaultKind, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := strings.ToLower(method)
	for i := range f.script {
		sc := &f.script[i]
		if sc.method != "" && sc.method != m {
			continue
		}
		kind := sc.kind
		sc.n--
		if sc.n == 0 {
			f.script = append(f.script[:i], f.script[i+1:]...)
		}
		f.injected[kind]++
		return kind, f.retryAfter
	}
	return 0, 0
}

const badGatewayPage = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"

// injectFault answers with a scripted fault; true means the request ends
// here.
func (s *Server) injectFault(w http.ResponseWriter, method string) bool {
	kind, retryAfter := s.faults.pick(method)
	switch kind {
	case 0:
		return false
	case Fault500:
		writeError(w, &apiError{code: 500, desc: "Internal Server Error"})
	case Fault502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte(badGatewayPage))
	case Fault429:
		writeError(w, tooManyRequests(retryAfter))
	case FaultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	}
	return true
}
