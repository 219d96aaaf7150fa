package google

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// obj is a JSON object that keeps its keys in insertion order, so the
// emulator's responses read like Google's (resourceName, etag, metadata, …).
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (o *obj) add(k string, v any) { *o = append(*o, kv{k, v}) }

// raw is shorthand for json.RawMessage of a literal.
func rawJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func rfc3339(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func rfc3339Nano(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// writeJSON writes v with Google's content type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(b)
	w.Write([]byte("\n"))
}

// --- error bodies ---------------------------------------------------------

// errItem is one entry of the legacy "errors" array.
type errItem struct {
	Message      string `json:"message,omitempty"`
	Domain       string `json:"domain,omitempty"`
	Reason       string `json:"reason,omitempty"`
	LocationType string `json:"locationType,omitempty"`
	Location     string `json:"location,omitempty"`
}

// peopleErr is an error in the People API (google.rpc.Status) style.
type peopleErr struct {
	code    int
	status  string
	message string
	errors  []errItem
	details []any
	header  http.Header
}

func (e *peopleErr) write(w http.ResponseWriter) {
	o := obj{{"code", e.code}, {"message", e.message}}
	if len(e.errors) > 0 {
		o.add("errors", e.errors)
	}
	o.add("status", e.status)
	if len(e.details) > 0 {
		o.add("details", e.details)
	}
	for k, vs := range e.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	writeJSON(w, e.code, obj{{"error", o}})
}

func pInvalid(msg string) *peopleErr {
	return &peopleErr{code: 400, status: "INVALID_ARGUMENT", message: msg,
		errors: []errItem{{Message: msg, Domain: "global", Reason: "badRequest"}}}
}

func pNotFound() *peopleErr {
	return &peopleErr{code: 404, status: "NOT_FOUND", message: "Requested entity was not found.",
		errors: []errItem{{Message: "Requested entity was not found.", Domain: "global", Reason: "notFound"}}}
}

func pFailedPrecondition(msg string) *peopleErr {
	return &peopleErr{code: 400, status: "FAILED_PRECONDITION", message: msg,
		errors: []errItem{{Message: msg, Domain: "global", Reason: "failedPrecondition"}}}
}

// pExpiredSyncToken is the observed wire shape of an expired People sync
// token (apis.md §1.2).
func pExpiredSyncToken() *peopleErr {
	return &peopleErr{code: 400, status: "FAILED_PRECONDITION",
		message: "Sync token is expired. Clear local cache and retry call without the sync token.",
		details: []any{obj{
			{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
			{"reason", "EXPIRED_SYNC_TOKEN"},
			{"domain", "people.googleapis.com"},
		}}}
}

// calErr is an error in the Calendar v3 (legacy JSON) style.
type calErr struct {
	code    int
	message string
	errors  []errItem
	header  http.Header
}

func (e *calErr) write(w http.ResponseWriter) {
	for k, vs := range e.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	items := make([]obj, len(e.errors))
	for i, it := range e.errors {
		o := obj{{"domain", it.Domain}, {"reason", it.Reason}, {"message", it.Message}}
		if it.LocationType != "" {
			o.add("locationType", it.LocationType)
			o.add("location", it.Location)
		}
		items[i] = o
	}
	writeJSON(w, e.code, obj{{"error", obj{{"errors", items}, {"code", e.code}, {"message", e.message}}}})
}

func cErr(code int, domain, reason, msg string) *calErr {
	return &calErr{code: code, message: msg, errors: []errItem{{Domain: domain, Reason: reason, Message: msg}}}
}

func cInvalid(msg string) *calErr       { return cErr(400, "global", "invalid", msg) }
func cBadRequest(msg string) *calErr    { return cErr(400, "global", "badRequest", msg) }
func cNotFound() *calErr                { return cErr(404, "global", "notFound", "Not Found") }
func cRequired(msg string) *calErr      { return cErr(400, "global", "required", msg) }
func cInvalidParam(name string) *calErr { return cInvalidLoc("Invalid value for: "+name, name) }
func cTimeRangeEmpty() *calErr {
	return cErr(400, "calendar", "timeRangeEmpty", "The specified time range is empty.")
}
func cDeleted() *calErr { return cErr(410, "global", "deleted", "Resource has been deleted") }
func cDuplicate() *calErr {
	return cErr(409, "global", "duplicate", "The requested identifier already exists.")
}
func cInvalidLoc(msg, loc string) *calErr {
	return &calErr{code: 400, message: msg, errors: []errItem{{Domain: "global", Reason: "invalid", Message: msg, LocationType: "parameter", Location: loc}}}
}

// cFullSyncRequired is the documented 410 body (apis.md §2.1).
func cFullSyncRequired() *calErr {
	msg := "Sync token is no longer valid, a full sync is required."
	return &calErr{code: 410, message: msg, errors: []errItem{{Domain: "calendar", Reason: "fullSyncRequired",
		Message: msg, LocationType: "parameter", Location: "syncToken"}}}
}

// cConditionNotMet is the documented 412 body (apis.md §2.3).
func cConditionNotMet() *calErr {
	return &calErr{code: 412, message: "Precondition Failed", errors: []errItem{{Domain: "global",
		Reason: "conditionNotMet", Message: "Precondition Failed", LocationType: "header", Location: "If-Match"}}}
}

// --- opaque tokens ----------------------------------------------------------

// cursor is the content of every page token and sync token the emulator
// hands out. It is serialised as JSON, signed with the server's secret and
// base64url-encoded, so a garbled or foreign token is recognised.
type cursor struct {
	Kind   string  `json:"k"`           // pp/ps people page/sync, gp/gs groups, ep/es events, lp/ls calendarList
	User   string  `json:"u"`           // user key
	Gen    int64   `json:"g,omitempty"` // sync-token generation of the user
	Pos    int64   `json:"p,omitempty"` // sync: position; page: snapshot position
	From   int64   `json:"f,omitempty"` // page of an incremental listing: the sync position it started from
	Origin int64   `json:"o,omitempty"` // unix seconds: People: the full sync that started the chain; Calendar: issue time
	Hash   string  `json:"h,omitempty"` // binding of the request parameters
	C1     int64   `json:"a,omitempty"` // paging cursor: last key returned
	C2     string  `json:"b,omitempty"`
	Cal    string  `json:"c,omitempty"`
	Win    *window `json:"w,omitempty"` // Calendar: filters of the full sync, carried into incremental syncs
	Empty  bool    `json:"e,omitempty"` // EmptyPages: the empty page for this cursor was served
	Inc    bool    `json:"i,omitempty"` // page of an incremental listing
	Sync   string  `json:"s,omitempty"` // page of a listing that will end with a sync token: binding of that token
	Total  int64   `json:"t,omitempty"` // page of an incremental People listing: its totalItems
}

func (s *Server) encodeCursor(c cursor) string {
	b, _ := json.Marshal(c)
	m := hmac.New(sha256.New, s.secret)
	m.Write(b)
	b = append(b, m.Sum(nil)[:8]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

var errGarbled = errors.New("garbled token")

func (s *Server) decodeCursor(tok, kind string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 9 {
		return c, errGarbled
	}
	body, sum := b[:len(b)-8], b[len(b)-8:]
	m := hmac.New(sha256.New, s.secret)
	m.Write(body)
	if !hmac.Equal(sum, m.Sum(nil)[:8]) {
		return c, errGarbled
	}
	if err := json.Unmarshal(body, &c); err != nil || c.Kind != kind {
		return c, errGarbled
	}
	return c, nil
}

// systemParams are the standard query parameters of every Google API; they
// do not take part in the page-token binding.
var systemParams = map[string]bool{
	"alt": true, "prettyPrint": true, "fields": true, "key": true, "access_token": true,
	"quotaUser": true, "$.xgafv": true, "callback": true, "upload_protocol": true,
	"uploadType": true, "oauth_token": true, "userIp": true,
}

// paramHash binds a page token to the request's other parameters.
func paramHash(q url.Values, skip ...string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if systemParams[k] || k == "pageToken" || contains(skip, k) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		io.WriteString(h, k+"="+strings.Join(vs, "\x00")+"\x01")
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
}

func hashStrings(ss ...string) string {
	h := sha256.New()
	for _, s := range ss {
		io.WriteString(h, s+"\x00")
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// --- deterministic identifiers ---------------------------------------------

// idBytes derives 16 pseudo-random bytes from the server seed, a purpose and
// a counter, so identifiers are stable across runs with the same seed.
func (s *Server) idBytes(purpose string, n uint64) []byte {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(s.opts.Seed))
	h.Write(b[:])
	io.WriteString(h, purpose)
	binary.BigEndian.PutUint64(b[:], n)
	h.Write(b[:])
	return h.Sum(nil)[:16]
}

const base32hexLower = "0123456789abcdefghijklmnopqrstuv"

func base32hex(b []byte) string {
	var sb strings.Builder
	var acc uint32
	bits := 0
	for _, c := range b {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			sb.WriteByte(base32hexLower[(acc>>uint(bits))&31])
		}
	}
	if bits > 0 {
		sb.WriteByte(base32hexLower[(acc<<uint(5-bits))&31])
	}
	return sb.String()
}

func readBody(r *http.Request, max int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, max))
}

// queryBool parses a boolean query parameter; ok is false when absent.
func queryBool(q url.Values, name string) (val, present bool, err error) {
	v := q.Get(name)
	if v == "" {
		return false, false, nil
	}
	switch strings.ToLower(v) {
	case "true", "1":
		return true, true, nil
	case "false", "0":
		return false, true, nil
	}
	return false, true, errors.New("bad boolean")
}
