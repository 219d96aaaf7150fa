package messenger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// defaultVersion is the Graph version assumed for unversioned paths and
// shown in the index.
const defaultVersion = "v21.0"

// GraphError is a Graph API error as Graph answers it: an HTTP status and
// {"error":{"message","type","code","error_subcode","fbtrace_id"}}. The Go
// helpers of this package return it too, so a test acting as another app
// sees the same refusals as an HTTP client.
type GraphError struct {
	Status  int    // HTTP status, 400 mostly
	Message string // as Graph words it, e.g. "(#10) This message is sent outside of allowed window. …"
	Type    string // "OAuthException" mostly
	Code    int
	Subcode int // error_subcode; 0 = none
	// Transient sets is_transient, as Graph does on its retryable errors.
	Transient bool
	// AuthHeader is the WWW-Authenticate value Graph sends with token
	// errors ("" = none).
	AuthHeader string
}

func (e *GraphError) Error() string {
	if e.Subcode != 0 {
		return fmt.Sprintf("graph error %d/%d: %s", e.Code, e.Subcode, e.Message)
	}
	return fmt.Sprintf("graph error %d: %s", e.Code, e.Message)
}

func (e *GraphError) write(w http.ResponseWriter, trace string) {
	if e.AuthHeader != "" {
		w.Header().Set("WWW-Authenticate", e.AuthHeader)
	}
	body := map[string]any{
		"message":    e.Message,
		"type":       e.Type,
		"code":       e.Code,
		"fbtrace_id": trace,
	}
	if e.Subcode != 0 {
		body["error_subcode"] = e.Subcode
	}
	if e.Transient {
		body["is_transient"] = true
	}
	w.Header().Set("X-Fb-Trace-Id", trace)
	writeJSON(w, e.Status, map[string]any{"error": body})
}

func gErr(code, subcode int, msg string) *GraphError {
	return &GraphError{Status: http.StatusBadRequest, Message: msg, Type: "OAuthException", Code: code, Subcode: subcode}
}

// invalidToken is Graph's code 190 with its WWW-Authenticate header.
func invalidToken(subcode int, msg string) *GraphError {
	e := gErr(190, subcode, msg)
	e.AuthHeader = `OAuth "Facebook Platform" "invalid_token" "` + msg + `"`
	return e
}

func noToken() *GraphError {
	msg := "An active access token must be used to query information about the current user."
	e := gErr(2500, 0, msg)
	e.AuthHeader = `OAuth "Facebook Platform" "invalid_request" "` + msg + `"`
	return e
}

func unsupported(method, node string) *GraphError {
	verb := strings.ToLower(method)
	e := gErr(100, 33, fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api", verb, node))
	e.Type = "GraphMethodException"
	return e
}

func paramRequired(name string) *GraphError {
	return gErr(100, 0, "(#100) The parameter "+name+" is required")
}

func paramEnum(name, got string, allowed []string) *GraphError {
	return gErr(100, 0, fmt.Sprintf("(#100) Param %s must be one of {%s} - got %q", name, strings.Join(allowed, ", "), got))
}

func pageTokenRequired() *GraphError {
	return gErr(210, 0, "(#210) A page access token is required to request this resource.")
}

func noSuchPSID() *GraphError { return gErr(100, 2018001, "(#100) No matching user found") }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// request is one Graph call with its parameters: Graph takes them from
// the query string, a form body or a JSON body alike, and nested values
// (recipient, message) as JSON strings in the query or form.
type request struct {
	s       *Server
	w       http.ResponseWriter
	r       *http.Request
	version string
	segs    []string
	params  url.Values
	body    map[string]json.RawMessage
}

const maxBody = 1 << 20

func (rq *request) parse() error {
	rq.params = rq.r.URL.Query()
	if rq.r.Body == nil || rq.r.Method == http.MethodGet {
		return nil
	}
	raw, err := io.ReadAll(io.LimitReader(rq.r.Body, maxBody+1))
	if err != nil {
		return gErr(100, 0, "(#100) Could not read the request body")
	}
	if len(raw) > maxBody {
		return gErr(100, 0, "(#100) The request body is too large")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	ct, _, _ := mime.ParseMediaType(rq.r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		if err := json.Unmarshal(raw, &rq.body); err != nil {
			return gErr(100, 0, "(#100) Invalid JSON in the request body: "+err.Error())
		}
	case "application/x-www-form-urlencoded", "":
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return gErr(100, 0, "(#100) Invalid form body")
		}
		for k, v := range form {
			rq.params[k] = append(rq.params[k], v...)
		}
	default:
		return gErr(100, 0, "(#100) Unsupported Content-Type "+ct)
	}
	return nil
}

// has reports whether the parameter was given at all.
func (rq *request) has(name string) bool {
	if _, ok := rq.body[name]; ok {
		return true
	}
	_, ok := rq.params[name]
	return ok
}

// get returns a parameter as a string: a JSON string unquoted, another
// JSON value as its text.
func (rq *request) get(name string) string {
	if raw, ok := rq.body[name]; ok {
		var str string
		if json.Unmarshal(raw, &str) == nil {
			return str
		}
		if string(raw) == "null" {
			return ""
		}
		return string(raw)
	}
	return rq.params.Get(name)
}

// object decodes a nested parameter: a JSON value in a JSON body, or a
// JSON string in the query or form.
func (rq *request) object(name string, v any) error {
	var raw []byte
	if b, ok := rq.body[name]; ok {
		raw = b
	} else if rq.params.Has(name) {
		raw = []byte(rq.params.Get(name))
	} else {
		return errMissing
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return gErr(100, 0, fmt.Sprintf("(#100) param %s must be a JSON object", name))
	}
	return nil
}

var errMissing = errors.New("missing")

// list returns a parameter given as "a,b,c" or a JSON array.
func (rq *request) list(name string) []string {
	var out []string
	if raw, ok := rq.body[name]; ok {
		if json.Unmarshal(raw, &out) == nil {
			return out
		}
	}
	v := strings.TrimSpace(rq.get(name))
	if strings.HasPrefix(v, "[") {
		if json.Unmarshal([]byte(v), &out) == nil {
			return out
		}
	}
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (rq *request) fail(err error) {
	var ge *GraphError
	if !errors.As(err, &ge) {
		ge = &GraphError{Status: 500, Message: "An unexpected error has occurred. Please retry your request later.", Type: "OAuthException", Code: 2, Transient: true}
	}
	ge.write(rq.w, rq.s.fbtraceID())
}

func (rq *request) ok(v any) { writeJSON(rq.w, http.StatusOK, v) }
