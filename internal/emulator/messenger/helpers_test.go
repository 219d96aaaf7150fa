package messenger

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/testenv"
)

const (
	redirectURI   = "http://tandem.test/oauth/facebook/callback"
	allScopes     = "pages_show_list,pages_manage_metadata,pages_messaging"
	channelFields = "messages,messaging_postbacks,messaging_handovers,standby,message_echoes"
)

type env struct {
	t      *testing.T
	srv    *Server
	url    string
	clock  *testenv.Clock
	ctx    context.Context
	app    AppConfig // Tandem's app
	userID string
	pageID string
}

// start is the fake clock's time: after 2026-04-27, so the legacy message
// tags are refused as Meta refuses them now.
var start = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

// newEnv starts an emulator with Tandem's app (redirect URI registered),
// a user Anna who manages the page "Demo Shop", on a fake clock.
func newEnv(t *testing.T, opts ...func(*Options)) *env {
	t.Helper()
	clock := testenv.NewClock(start)
	o := Options{Now: clock.Now, Seed: 7, AllowHTTPCallbacks: true, RetryBackoff: 5 * time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	srv := New(o)
	base, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	e := &env{t: t, srv: srv, url: base, clock: clock, ctx: ctx}
	e.app = must(srv.AddApp(AppConfig{Name: "Tandem", RedirectURIs: []string{redirectURI}}))
	e.userID = must(srv.AddUser("", "Anna Admin"))
	e.pageID = must(srv.AddPage(PageConfig{Name: "Demo Shop", Admins: []string{e.userID}}))
	return e
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// call makes a Graph request; body is sent as JSON unless it is
// url.Values (a form). It returns the status and the decoded JSON.
func (e *env) call(method, path string, q url.Values, body any) (int, map[string]any, http.Header) {
	e.t.Helper()
	u := e.url + "/v21.0/" + strings.TrimPrefix(path, "/")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(raw), "application/json"
	}
	req, _ := http.NewRequestWithContext(e.ctx, method, u, rd)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		e.t.Fatalf("%s %s: not JSON (%d): %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out, resp.Header
}

// graphErr returns the code and subcode of a Graph error answer (0, 0 if
// the answer is not one).
func graphErr(body map[string]any) (int, int) {
	e, ok := body["error"].(map[string]any)
	if !ok {
		return 0, 0
	}
	code, _ := e["code"].(float64)
	sub, _ := e["error_subcode"].(float64)
	return int(code), int(sub)
}

func errMessage(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func tok(v string) url.Values { return url.Values{"access_token": {v}} }

// login runs the login dialog with auto-approval and exchanges the code;
// it returns the user access token.
func (e *env) login(scopes string) string {
	e.t.Helper()
	return e.loginAs(e.userID, scopes)
}

func (e *env) loginAs(userID, scopes string) string {
	e.t.Helper()
	if err := e.srv.SetAutoApprove(userID); err != nil {
		e.t.Fatal(err)
	}
	defer e.srv.SetAutoApprove("")
	loc := e.dialog(url.Values{"scope": {scopes}})
	code := loc.Query().Get("code")
	if code == "" {
		e.t.Fatalf("no code in %s", loc)
	}
	return e.exchange(code, redirectURI)
}

// dialog GETs the login dialog (client_id, redirect_uri and state filled
// in unless given) and returns the redirect's location.
func (e *env) dialog(q url.Values) *url.URL {
	e.t.Helper()
	for k, v := range map[string]string{"client_id": e.app.ID, "redirect_uri": redirectURI, "state": "st-1", "response_type": "code"} {
		if !q.Has(k) {
			q.Set(k, v)
		}
	}
	resp, err := noRedirect.Get(e.url + "/v21.0/dialog/oauth?" + q.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("dialog: status %d, want a redirect", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return loc
}

func (e *env) exchange(code, redirect string) string {
	e.t.Helper()
	st, body, _ := e.call("GET", "oauth/access_token", url.Values{"client_id": {e.app.ID},
		"client_secret": {e.app.Secret}, "redirect_uri": {redirect}, "code": {code}}, nil)
	if st != 200 {
		e.t.Fatalf("exchange: %d %v", st, body)
	}
	return body["access_token"].(string)
}

// pageToken logs in with every channel scope, exchanges the user token
// for a long-lived one (so the page token never expires, as a channel's
// must not) and returns the page's token from /me/accounts.
func (e *env) pageToken() string {
	e.t.Helper()
	st, long, _ := e.call("GET", "oauth/access_token", url.Values{"grant_type": {"fb_exchange_token"}, "client_id": {e.app.ID},
		"client_secret": {e.app.Secret}, "fb_exchange_token": {e.login(allScopes)}}, nil)
	if st != 200 {
		e.t.Fatalf("fb_exchange_token: %d %v", st, long)
	}
	st, body, _ := e.call("GET", "me/accounts", tok(long["access_token"].(string)), nil)
	if st != 200 {
		e.t.Fatalf("me/accounts: %d %v", st, body)
	}
	for _, row := range body["data"].([]any) {
		m := row.(map[string]any)
		if m["id"] == e.pageID {
			return m["access_token"].(string)
		}
	}
	e.t.Fatalf("page %s not in %v", e.pageID, body)
	return ""
}

// connect makes Tandem's app a webhook subscriber of the page through the
// Graph API, with rcv as callback; it returns the page token.
func (e *env) connect(rcv *receiver) string {
	e.t.Helper()
	pt := e.pageToken()
	st, body, _ := e.call("POST", e.app.ID+"/subscriptions", tok(e.app.ID+"|"+e.app.Secret), url.Values{
		"object": {"page"}, "callback_url": {rcv.url()}, "verify_token": {rcv.verifyToken}, "fields": {channelFields}})
	if st != 200 || body["success"] != true {
		e.t.Fatalf("subscriptions: %d %v", st, body)
	}
	st, body, _ = e.call("POST", e.pageID+"/subscribed_apps", url.Values{"access_token": {pt}, "subscribed_fields": {channelFields}}, nil)
	if st != 200 || body["success"] != true {
		e.t.Fatalf("subscribed_apps: %d %v", st, body)
	}
	return pt
}

// send calls the Send API with a JSON body and the page token in the query.
func (e *env) send(pt string, body map[string]any) (int, map[string]any) {
	e.t.Helper()
	st, out, _ := e.call("POST", "me/messages", tok(pt), body)
	return st, out
}

func textTo(psid, messagingType, text string) map[string]any {
	return map[string]any{"recipient": map[string]string{"id": psid}, "messaging_type": messagingType,
		"message": map[string]string{"text": text}}
}

// --- webhook receiver ------------------------------------------------------------------

type delivery struct {
	body   []byte
	sig256 string
	sig1   string
	p      struct {
		Object string `json:"object"`
		Entry  []struct {
			ID        string           `json:"id"`
			Time      int64            `json:"time"`
			Messaging []map[string]any `json:"messaging"`
			Standby   []map[string]any `json:"standby"`
		} `json:"entry"`
	}
}

// items returns the delivery's messaging and standby items in order.
func (d delivery) items() (messaging, standby []map[string]any) {
	for _, e := range d.p.Entry {
		messaging = append(messaging, e.Messaging...)
		standby = append(standby, e.Standby...)
	}
	return
}

// receiver is a webhook endpoint: it answers the verification request when
// the verify token matches, and records every POST.
type receiver struct {
	t           *testing.T
	verifyToken string
	srv         *httptest.Server
	ch          chan delivery

	mu        sync.Mutex
	failPosts int    // answer 500 to this many POSTs first
	echo      string // answer the verification with this instead of the challenge
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, verifyToken: "vt-" + t.Name(), ch: make(chan delivery, 10000)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url() string { return r.srv.URL + "/hook" }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	if req.Method == http.MethodGet {
		if q.Get("hub.mode") != "subscribe" || q.Get("hub.verify_token") != r.verifyToken {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		r.mu.Lock()
		echo := r.echo
		r.mu.Unlock()
		if echo == "" {
			echo = q.Get("hub.challenge")
		}
		io.WriteString(w, echo)
		return
	}
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	fail := r.failPosts > 0
	if fail {
		r.failPosts--
	}
	r.mu.Unlock()
	if fail {
		http.Error(w, "try later", http.StatusInternalServerError)
		return
	}
	d := delivery{body: body, sig256: req.Header.Get("X-Hub-Signature-256"), sig1: req.Header.Get("X-Hub-Signature")}
	if err := json.Unmarshal(body, &d.p); err != nil {
		r.t.Errorf("webhook body is not JSON: %s", body)
	}
	r.ch <- d
	w.WriteHeader(http.StatusOK)
}

// next waits for the next recorded POST.
func (r *receiver) next(ctx context.Context) delivery {
	r.t.Helper()
	select {
	case d := <-r.ch:
		return d
	case <-ctx.Done():
		r.t.Fatalf("no webhook delivery: %v", ctx.Err())
		return delivery{}
	}
}

// none asserts nothing more was delivered once the emulator is idle.
func (r *receiver) none(e *env) {
	r.t.Helper()
	if err := e.srv.WaitDeliveries(e.ctx); err != nil {
		r.t.Fatal(err)
	}
	select {
	case d := <-r.ch:
		r.t.Fatalf("unexpected delivery: %s", d.body)
	default:
	}
}

// nextItem waits for the next delivery and returns its only item and
// whether it came on the standby channel.
func (r *receiver) nextItem(ctx context.Context) (map[string]any, bool) {
	r.t.Helper()
	d := r.next(ctx)
	m, s := d.items()
	if len(m)+len(s) != 1 {
		r.t.Fatalf("want one event, got %s", d.body)
	}
	if len(s) == 1 {
		return s[0], true
	}
	return m[0], false
}

func get(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[p]
	}
	return v
}
