package telegram

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// receiver is a webhook endpoint recording what it is sent.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	changed chan struct{}
	// answer decides the response; nil answers status.
	answer   func(w http.ResponseWriter, u Update)
	status   int
	inFlight atomic.Int32
	maxSeen  atomic.Int32
}

type received struct {
	u           Update
	secret      string
	contentType string
}

func newReceiver(t *testing.T, status int) *receiver {
	rc := &receiver{status: status, changed: make(chan struct{})}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rc.inFlight.Add(1)
		defer rc.inFlight.Add(-1)
		for {
			m := rc.maxSeen.Load()
			if n <= m || rc.maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		body, _ := io.ReadAll(r.Body)
		var u Update
		if err := json.Unmarshal(body, &u); err != nil || r.Method != http.MethodPost {
			t.Errorf("webhook got %s %q", r.Method, body)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, received{u: u, secret: r.Header.Get("X-Telegram-Bot-Api-Secret-Token"), contentType: r.Header.Get("Content-Type")})
		close(rc.changed)
		rc.changed = make(chan struct{})
		answer := rc.answer
		rc.mu.Unlock()
		if answer != nil {
			answer(w, u)
			return
		}
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// wait blocks until at least n requests arrived and returns them.
func (rc *receiver) wait(t *testing.T, ctx context.Context, n int) []received {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		rc.mu.Lock()
		if len(rc.got) >= n {
			out := append([]received(nil), rc.got...)
			rc.mu.Unlock()
			return out
		}
		ch := rc.changed
		rc.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("webhook: %d requests, want %d", len(rc.got), n)
		}
	}
}

func (rc *receiver) setAnswer(f func(w http.ResponseWriter, u Update)) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

// Deliveries carry the secret token header and the update as JSON, in
// order within a chat; a delivered update is no longer pending.
func TestWebhookDelivery(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, 200)
	e.write(ann, "before the webhook")
	r := e.call("setWebhook", map[string]any{"url": rcv.URL + "/hook", "secret_token": "s3cret_-X", "max_connections": 5}, nil)
	if r.Description != "Webhook was set" {
		t.Fatalf("setWebhook said %q", r.Description)
	}
	for i := range 10 {
		from := ann
		if i%2 == 1 {
			from = bob
		}
		e.write(from, "m"+itoa(int64(i)))
	}
	got := rcv.wait(t, e.ctx, 11)
	last := map[int64]int64{}
	for _, g := range got {
		if g.secret != "s3cret_-X" || g.contentType != "application/json" {
			t.Fatalf("headers: secret %q, type %q", g.secret, g.contentType)
		}
		chat := g.u.Message.Chat.ID
		if g.u.UpdateID <= last[chat] {
			t.Fatalf("chat %d: update %d after %d", chat, g.u.UpdateID, last[chat])
		}
		last[chat] = g.u.UpdateID
	}
	for _, g := range got {
		if g.u.Message.Chat.ID == ann.ID {
			if g.u.Message.Text != "before the webhook" {
				t.Fatalf("the pending update went out after newer ones of its chat: %q", g.u.Message.Text)
			}
			break
		}
	}
	e.waitUntil("nothing pending", func() bool { return e.srv.bots[e.bot.Token].q.live == 0 })
	info := e.webhookInfo()
	if info.URL != rcv.URL+"/hook" || info.MaxConnections != 5 || info.PendingUpdateCount != 0 || info.LastErrorDate != 0 || info.IPAddress != "127.0.0.1" {
		t.Fatalf("getWebhookInfo: %+v", info)
	}
	e.clock.Advance(time.Second)
	if r := e.call("setWebhook", map[string]any{"url": rcv.URL + "/hook", "secret_token": "s3cret_-X", "max_connections": 5}, nil); r.Description != "Webhook is already set" {
		t.Fatalf("same setWebhook said %q", r.Description)
	}
}

// A failing receiver gets the update again a bounded number of times,
// then it is dropped; getWebhookInfo reports the error and the count.
func TestWebhookRetryThenDrop(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.WebhookRetries = 2 })
	rcv := newReceiver(t, http.StatusInternalServerError)
	e.call("setWebhook", map[string]any{"url": rcv.URL}, nil)
	e.write(ann, "doomed")
	got := rcv.wait(t, e.ctx, 3)
	if got[0].u.UpdateID != got[2].u.UpdateID {
		t.Fatalf("retries of different updates: %v %v", got[0].u.UpdateID, got[2].u.UpdateID)
	}
	e.waitUntil("the drop", func() bool {
		log := e.srv.bots[e.bot.Token].whLog
		return len(log) == 3 && log[2].Dropped
	})
	info := e.webhookInfo()
	if info.PendingUpdateCount != 0 || info.LastErrorMessage != "Wrong response from the webhook: 500 Internal Server Error" ||
		info.LastErrorDate != e.clock.Now().Unix() {
		t.Fatalf("getWebhookInfo after the drop: %+v", info)
	}
	// No fourth try.
	e.write(ann, "next")
	if got := rcv.wait(t, e.ctx, 4); got[3].u.Message.Text != "next" {
		t.Fatalf("4th request: %+v", got[3].u)
	}
	log := e.srv.WebhookLog(e.bot.Token)
	if log[0].Attempt != 1 || log[2].Attempt != 3 || log[0].Status != 500 {
		t.Fatalf("log: %+v", log)
	}
}

// An update counts as pending while its delivery is in flight or
// failing; one that fails and then succeeds is not lost.
func TestWebhookPendingCountAndRecovery(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, 200)
	release := make(chan struct{})
	var calls atomic.Int32
	rcv.setAnswer(func(w http.ResponseWriter, u Update) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		<-release
		w.WriteHeader(http.StatusOK)
	})
	e.call("setWebhook", map[string]any{"url": rcv.URL}, nil)
	e.write(ann, "flaky")
	rcv.wait(t, e.ctx, 2) // the failed try and the held retry
	if info := e.webhookInfo(); info.PendingUpdateCount != 1 || !strings.HasPrefix(info.LastErrorMessage, "Wrong response from the webhook: 502") {
		t.Fatalf("during the retry: %+v", info)
	}
	close(release)
	e.waitUntil("delivery", func() bool { return e.srv.bots[e.bot.Token].q.live == 0 })
}

// At most max_connections requests are in flight, and one chat's updates
// go one at a time.
func TestWebhookMaxConnections(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.RateLimits = &RateLimits{} })
	rcv := newReceiver(t, 200)
	gate := make(chan struct{})
	rcv.setAnswer(func(w http.ResponseWriter, u Update) { <-gate })
	e.call("setWebhook", map[string]any{"url": rcv.URL, "max_connections": 2}, nil)
	for i := range 6 {
		e.write(User{ID: int64(2000 + i), FirstName: "C"}, "hello")
	}
	rcv.wait(t, e.ctx, 2)
	if n := rcv.inFlight.Load(); n != 2 {
		t.Fatalf("%d requests in flight with max_connections=2", n)
	}
	close(gate)
	rcv.wait(t, e.ctx, 6)
	if m := rcv.maxSeen.Load(); m > 2 {
		t.Fatalf("saw %d concurrent requests", m)
	}

	// One chat: serial even with connections to spare.
	e.waitUntil("nothing pending", func() bool { return e.srv.bots[e.bot.Token].q.live == 0 })
	e.clock.Advance(time.Second)
	rcv2 := newReceiver(t, 200)
	gate2 := make(chan struct{})
	rcv2.setAnswer(func(w http.ResponseWriter, u Update) { <-gate2 })
	e.call("setWebhook", map[string]any{"url": rcv2.URL, "max_connections": 10}, nil)
	for range 3 {
		e.write(ann, "same chat")
	}
	rcv2.wait(t, e.ctx, 1)
	e.waitUntil("the first delivery to be in flight", func() bool { return e.srv.bots[e.bot.Token].wh.inFlight == 1 })
	if n := rcv2.inFlight.Load(); n != 1 {
		t.Fatalf("%d requests of one chat in flight", n)
	}
	close(gate2)
	got := rcv2.wait(t, e.ctx, 3)
	if got[0].u.UpdateID >= got[1].u.UpdateID || got[1].u.UpdateID >= got[2].u.UpdateID {
		t.Fatalf("one chat out of order: %d %d %d", got[0].u.UpdateID, got[1].u.UpdateID, got[2].u.UpdateID)
	}
	if m := rcv2.maxSeen.Load(); m != 1 {
		t.Fatalf("saw %d concurrent requests of one chat", m)
	}
}

// A 2xx answer that is a method call is run.
func TestWebhookReplyMethod(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, 200)
	rcv.setAnswer(func(w http.ResponseWriter, u Update) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"method": "sendMessage", "chat_id": u.Message.Chat.ID, "text": "<b>pong</b>", "parse_mode": "HTML"})
	})
	e.call("setWebhook", map[string]any{"url": rcv.URL}, nil)
	e.write(ann, "ping")
	sent, err := e.srv.WaitSent(e.ctx, e.bot.Token, ann.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if sent[0].Text != "pong" || len(sent[0].Entities) != 1 || sent[0].Entities[0].Type != "bold" || sent[0].From.ID != e.bot.ID {
		t.Fatalf("sent %+v", sent[0])
	}
	e.waitUntil("the log", func() bool {
		log := e.srv.bots[e.bot.Token].whLog
		return len(log) == 1 && log[0].ReplyMethod == "sendMessage"
	})
	if n := e.srv.Calls()["webhook:sendMessage"]; n != 1 {
		t.Fatalf("calls: %v", e.srv.Calls())
	}
}

func TestDropPendingUpdates(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		e.write(ann, "stale")
	}
	rcv := newReceiver(t, 200)
	e.call("setWebhook", map[string]any{"url": rcv.URL, "drop_pending_updates": true}, nil)
	if n := e.webhookInfo().PendingUpdateCount; n != 0 {
		t.Fatalf("pending %d after drop_pending_updates", n)
	}
	e.write(ann, "fresh")
	got := rcv.wait(t, e.ctx, 1)
	if got[0].u.Message.Text != "fresh" {
		t.Fatalf("delivered %q", got[0].u.Message.Text)
	}
	// deleteWebhook with drop_pending_updates, when nothing is set.
	e.call("deleteWebhook", nil, nil)
	e.write(ann, "stale again")
	if r := e.call("deleteWebhook", map[string]any{"drop_pending_updates": true}, nil); r.Description != "Webhook is already deleted" {
		t.Fatalf("deleteWebhook said %q", r.Description)
	}
	if ups := e.updates(nil); len(ups) != 0 {
		t.Fatalf("dropped updates came back: %v", ids(ups))
	}
}

func TestSetWebhookChecks(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AllowInsecureWebhooks = false })
	for _, tc := range []struct {
		name string
		args map[string]any
		desc string
	}{
		{"http", map[string]any{"url": "http://93.184.215.14/hook"}, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"},
		{"port", map[string]any{"url": "https://93.184.215.14:8080/hook"}, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"},
		{"loopback", map[string]any{"url": "https://127.0.0.1/hook"}, "Bad Request: bad webhook: IP address 127.0.0.1 is reserved"},
		{"private", map[string]any{"url": "https://10.1.2.3:8443/hook"}, "Bad Request: bad webhook: IP address 10.1.2.3 is reserved"},
		{"ipv6", map[string]any{"url": "https://[2001:4860::1]/hook"}, "Bad Request: bad webhook: IPv6-only addresses are not allowed"},
		{"scheme", map[string]any{"url": "ftp://93.184.215.14/"}, "Bad Request: invalid webhook URL specified"},
		{"secret charset", map[string]any{"url": "https://93.184.215.14/", "secret_token": "a b"}, "Bad Request: secret token contains unallowed characters"},
		{"secret base64", map[string]any{"url": "https://93.184.215.14/", "secret_token": "abc+/="}, "Bad Request: secret token contains unallowed characters"},
		{"secret length", map[string]any{"url": "https://93.184.215.14/", "secret_token": strings.Repeat("a", 257)}, "Bad Request: secret token is too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Advance(time.Second)
			e.fail("setWebhook", tc.args, 400, tc.desc)
		})
	}
	e.clock.Advance(time.Second)
	e.call("setWebhook", map[string]any{"url": "https://93.184.215.14:8443/hook", "secret_token": strings.Repeat("a", 256), "max_connections": 1000}, nil)
	if info := e.webhookInfo(); info.MaxConnections != 100 || info.IPAddress != "93.184.215.14" {
		t.Fatalf("max_connections is clamped to 100: %+v", info)
	}
	// One setWebhook a second.
	r := e.fail("setWebhook", map[string]any{"url": "https://93.184.215.14:88/"}, 429, "Too Many Requests: retry after 1")
	if r.Parameters == nil || r.Parameters.RetryAfter != 1 {
		t.Fatalf("parameters: %+v", r.Parameters)
	}
	e.call("deleteWebhook", nil, nil)
}
