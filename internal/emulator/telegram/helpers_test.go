package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/testenv"
)

// env is an emulator on a fake clock with one bot, and a Bot API client
// written with net/http, as Tandem's will be.
type env struct {
	t     *testing.T
	srv   *Server
	url   string
	clock *testenv.Clock
	ctx   context.Context
	bot   BotInfo
	hc    *http.Client
}

func newEnv(t *testing.T, opts ...func(*Options)) *env {
	t.Helper()
	clock := testenv.NewClock(time.Date(2030, 1, 15, 9, 0, 0, 0, time.UTC))
	o := Options{Now: clock.Now, Seed: 7, AllowInsecureWebhooks: true,
		WebhookRetryBackoff: time.Millisecond, WebhookMaxBackoff: 10 * time.Millisecond, WebhookTimeout: 5 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	srv := New(o)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	base, err := srv.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	b, err := srv.CreateBot(BotInfo{Username: "tandem_support_bot", FirstName: "Support"})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: srv, url: base, clock: clock, ctx: ctx, bot: b, hc: &http.Client{Timeout: 60 * time.Second}}
}

// do POSTs a JSON body to base/bot<token>/<method> and decodes the answer.
func (e *env) do(token, method string, args map[string]any) (Response, *http.Response) {
	e.t.Helper()
	body, _ := json.Marshal(args)
	req, _ := http.NewRequestWithContext(e.ctx, http.MethodPost, e.url+"/bot"+token+"/"+method, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return e.send(req)
}

func (e *env) send(req *http.Request) (Response, *http.Response) {
	e.t.Helper()
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r Response
	if err := json.Unmarshal(raw, &r); err != nil {
		e.t.Fatalf("%s: not JSON (%d): %q", req.URL.Path, resp.StatusCode, raw)
	}
	if r.OK != (resp.StatusCode == 200) || (!r.OK && r.ErrorCode != resp.StatusCode) {
		e.t.Fatalf("%s: HTTP %d with %s", req.URL.Path, resp.StatusCode, raw)
	}
	return r, resp
}

// call is do with the env's bot, and wants success; the result is decoded
// into out.
func (e *env) call(method string, args map[string]any, out any) Response {
	e.t.Helper()
	r, _ := e.do(e.bot.Token, method, args)
	if !r.OK {
		e.t.Fatalf("%s: %d %s", method, r.ErrorCode, r.Description)
	}
	if out != nil {
		if err := json.Unmarshal(r.Result, out); err != nil {
			e.t.Fatalf("%s: result %s: %v", method, r.Result, err)
		}
	}
	return r
}

// fail wants the call to fail with code and description.
func (e *env) fail(method string, args map[string]any, code int, desc string) Response {
	e.t.Helper()
	r, _ := e.do(e.bot.Token, method, args)
	if r.OK || r.ErrorCode != code || r.Description != desc {
		e.t.Fatalf("%s %v: got ok=%v %d %q, want %d %q", method, args, r.OK, r.ErrorCode, r.Description, code, desc)
	}
	return r
}

func (e *env) updates(args map[string]any) []Update {
	e.t.Helper()
	var ups []Update
	e.call("getUpdates", args, &ups)
	return ups
}

func (e *env) webhookInfo() WebhookInfo {
	e.t.Helper()
	var info WebhookInfo
	e.call("getWebhookInfo", nil, &info)
	return info
}

// write has a customer write text to the bot.
func (e *env) write(from User, text string) Message {
	e.t.Helper()
	m, err := e.srv.Write(e.bot.Token, Incoming{From: from, Text: text})
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

var (
	ann = User{ID: 1001, FirstName: "Ann", LastName: "Lee", Username: "annlee", LanguageCode: "en"}
	bob = User{ID: 1002, FirstName: "Bob", LanguageCode: "ru"}
)

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// waitUntil polls the emulator's state through its change signal.
func (e *env) waitUntil(what string, cond func() bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	defer cancel()
	if err := e.srv.waitFor(ctx, cond); err != nil {
		e.t.Fatalf("waiting for %s: %v", what, err)
	}
}
