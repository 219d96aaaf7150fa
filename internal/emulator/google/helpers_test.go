package google

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/testenv"
	"golang.org/x/oauth2"
	gcal "google.golang.org/api/calendar/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/api/people/v1"
)

const (
	alice = "alice@example.com"
	bob   = "bob@example.com"
)

type env struct {
	t     *testing.T
	srv   *Server
	url   string
	clock *testenv.Clock
	ctx   context.Context
}

// newEnv starts an emulator with alice and bob on a fake clock set to
// 2026-03-02 09:00 UTC.
func newEnv(t *testing.T, opts ...func(*Options)) *env {
	t.Helper()
	clock := testenv.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	o := Options{Now: clock.Now, Seed: 42, PushDebounce: 10 * time.Millisecond, PushRetryBackoff: 10 * time.Millisecond}
	for _, f := range opts {
		f(&o)
	}
	srv := New(o)
	srv.AddUser(alice, "Alice Anders")
	srv.AddUser(bob, "Bob Brandt")
	url, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return &env{t: t, srv: srv, url: url, clock: clock, ctx: ctx}
}

func (e *env) httpClient(email string, scopes ...string) *http.Client {
	tok := e.srv.MintAccessToken(email, scopes...)
	return oauth2.NewClient(e.ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: tok, TokenType: "Bearer"}))
}

func (e *env) people(email string, scopes ...string) *people.Service {
	e.t.Helper()
	svc, err := people.NewService(e.ctx, option.WithEndpoint(e.url+"/"), option.WithHTTPClient(e.httpClient(email, scopes...)))
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

func (e *env) calendar(email string, scopes ...string) *gcal.Service {
	e.t.Helper()
	svc, err := gcal.NewService(e.ctx, option.WithEndpoint(e.url+"/calendar/v3/"), option.WithHTTPClient(e.httpClient(email, scopes...)))
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// apiErr asserts err is a *googleapi.Error with the code.
func apiErr(t *testing.T, err error, code int) *googleapi.Error {
	t.Helper()
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		t.Fatalf("want *googleapi.Error %d, got %T %v", code, err, err)
	}
	if ge.Code != code {
		t.Fatalf("want HTTP %d, got %d: %s", code, ge.Code, ge.Body)
	}
	return ge
}

// reason returns errors[0].reason of a googleapi.Error.
func reason(ge *googleapi.Error) string {
	if len(ge.Errors) == 0 {
		return ""
	}
	return ge.Errors[0].Reason
}

// bodyStatus returns error.status of the raw body (People style).
func bodyStatus(t *testing.T, ge *googleapi.Error) string {
	t.Helper()
	var b struct {
		Error struct {
			Status string `json:"status"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(ge.Body), &b); err != nil {
		t.Fatalf("body %q: %v", ge.Body, err)
	}
	return b.Error.Status
}

// detailReason returns details[i].reason of the ErrorInfo detail.
func detailReason(ge *googleapi.Error) string {
	for _, d := range ge.Details {
		if m, ok := d.(map[string]any); ok && m["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
			r, _ := m["reason"].(string)
			return r
		}
	}
	return ""
}

// rawDo sends a request with a bearer token and returns status and body.
func (e *env) rawDo(method, path, token string, body string, hdr ...string) (int, http.Header, string) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func mkPerson(given, family, email string) *people.Person {
	p := &people.Person{Names: []*people.Name{{GivenName: given, FamilyName: family}}}
	if email != "" {
		p.EmailAddresses = []*people.EmailAddress{{Value: email, Type: "work"}}
	}
	return p
}

func timed(start time.Time, d time.Duration, tz string) (*gcal.EventDateTime, *gcal.EventDateTime) {
	loc, _ := time.LoadLocation(tz)
	return &gcal.EventDateTime{DateTime: start.In(loc).Format(time.RFC3339), TimeZone: tz},
		&gcal.EventDateTime{DateTime: start.Add(d).In(loc).Format(time.RFC3339), TimeZone: tz}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

type gcalService = gcal.Service

func newCalendarService(e *env, accessToken string) (*gcal.Service, error) {
	hc := oauth2.NewClient(e.ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"}))
	return gcal.NewService(e.ctx, option.WithEndpoint(e.url+"/calendar/v3/"), option.WithHTTPClient(hc))
}
