package messenger

import (
	"fmt"
	"net/http"
	"strings"
)

// FaultKind is a kind of injected Graph failure.
type FaultKind string

const (
	// FaultServerError: HTTP 500, code 2 "An unexpected error has
	// occurred. Please retry your request later." (is_transient).
	FaultServerError FaultKind = "500"
	// FaultTemporarySend: HTTP 500, code 1200 subcode 2018024, the Send
	// API's temporary failure (retry).
	FaultTemporarySend FaultKind = "1200"
	// FaultRateLimit: HTTP 400, code 613 "Calls to this api have exceeded
	// the rate limit."
	FaultRateLimit FaultKind = "613"
	// FaultAppRateLimit: HTTP 400, code 4 "Application request limit
	// reached".
	FaultAppRateLimit FaultKind = "4"
	// FaultDrop: the connection is closed without an answer.
	FaultDrop FaultKind = "drop"
)

type fault struct {
	path string
	kind FaultKind
	n    int
}

// FailNext makes the next n Graph calls whose path (without the version)
// is path, or ends in "/"+path, fail with kind: FailNext("messages", 2,
// FaultTemporarySend) fails the next two sends through /me/messages or
// /{page-id}/messages. Scripted faults queue up in the order they are
// added. The login dialog is never failed.
func (s *Server) FailNext(path string, n int, kind FaultKind) error {
	switch kind {
	case FaultServerError, FaultTemporarySend, FaultRateLimit, FaultAppRateLimit, FaultDrop:
	default:
		return fmt.Errorf("emulator: unknown fault kind %q", kind)
	}
	if n <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{path: strings.Trim(path, "/"), kind: kind, n: n})
	return nil
}

// ClearFaults drops the scripted faults not yet used.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// injectFault answers the request with the first scripted fault for its
// path, if any.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, path string) bool {
	s.mu.Lock()
	var kind FaultKind
	for i := range s.faults {
		f := &s.faults[i]
		if path == f.path || strings.HasSuffix(path, "/"+f.path) {
			kind = f.kind
			f.n--
			if f.n == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			break
		}
	}
	s.mu.Unlock()
	var e *GraphError
	switch kind {
	case "":
		return false
	case FaultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case FaultServerError:
		e = &GraphError{Status: 500, Message: "An unexpected error has occurred. Please retry your request later.", Type: "OAuthException", Code: 2, Transient: true}
	case FaultTemporarySend:
		e = &GraphError{Status: 500, Message: "(#1200) Temporary send message failure. Please try again later", Type: "OAuthException", Code: 1200, Subcode: 2018024, Transient: true}
	case FaultRateLimit:
		e = gErr(613, 0, "(#613) Calls to this api have exceeded the rate limit.")
	case FaultAppRateLimit:
		e = gErr(4, 0, "(#4) Application request limit reached")
		e.Transient = true
	}
	e.write(w, s.fbtraceID())
	return true
}
