package google

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	gcal "google.golang.org/api/calendar/v3"
)

type hookReq struct {
	method string
	header http.Header
	body   string
	status int
}

// receiver is a push endpoint that can answer 503 a number of times.
type receiver struct {
	mu   sync.Mutex
	reqs []hookReq
	fail int
	*httptest.Server
}

// newReceiver starts a plain http receiver: the emulator must be started
// with AllowHTTPPush to call it.
func newReceiver(t *testing.T) *receiver { return startReceiver(t, httptest.NewServer) }

// newTLSReceiver starts an https receiver with httptest's certificate.
func newTLSReceiver(t *testing.T) *receiver { return startReceiver(t, httptest.NewTLSServer) }

// allowHTTPPush is the option of tests whose receiver is plain http.
func allowHTTPPush(o *Options) { o.AllowHTTPPush = true }

func startReceiver(t *testing.T, start func(http.Handler) *httptest.Server) *receiver {
	rc := &receiver{}
	rc.Server = start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		st := http.StatusOK
		if rc.fail > 0 {
			rc.fail--
			st = http.StatusServiceUnavailable
		}
		rc.reqs = append(rc.reqs, hookReq{r.Method, r.Header.Clone(), string(b), st})
		rc.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []hookReq {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookReq(nil), rc.reqs...)
}

func TestWatchPushNotifications(t *testing.T) {
	e := newEnv(t, allowHTTPPush)
	svc := e.calendar(alice)
	rc := newReceiver(t)

	ch, err := svc.Events.Watch("primary", &gcal.Channel{Id: "chan-1", Type: "web_hook", Address: rc.URL + "/hooks/google",
		Token: "secret-token", Params: map[string]string{"ttl": "3600"}}).Do()
	if err != nil {
		t.Fatal(err)
	}
	wantExp := e.clock.Now().Add(time.Hour)
	if ch.Kind != "api#channel" || ch.Id != "chan-1" || ch.ResourceId == "" || ch.ResourceUri == "" || ch.Token != "secret-token" ||
		ch.Expiration != wantExp.UnixMilli() {
		t.Fatalf("channel %+v", ch)
	}
	waitFor(t, "sync", func() bool { return len(rc.got()) >= 1 })
	first := rc.got()[0]
	h := first.header
	if first.method != "POST" || first.body != "" || h.Get("X-Goog-Resource-State") != "sync" || h.Get("X-Goog-Message-Number") != "1" ||
		h.Get("X-Goog-Channel-ID") != "chan-1" || h.Get("X-Goog-Channel-Token") != "secret-token" ||
		h.Get("X-Goog-Resource-ID") != ch.ResourceId || h.Get("X-Goog-Resource-URI") != ch.ResourceUri {
		t.Fatalf("sync notification %+v", first)
	}
	exp, err := time.Parse(http.TimeFormat, h.Get("X-Goog-Channel-Expiration"))
	if err != nil || !exp.Equal(wantExp.Truncate(time.Second)) {
		t.Fatalf("expiration header %q", h.Get("X-Goog-Channel-Expiration"))
	}

	// a burst of changes → "exists" (debounced)
	for i := 0; i < 3; i++ {
		if _, err := svc.Events.Insert("primary", mkEvent("e", t0, time.Hour)).Do(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "exists", func() bool { return len(rc.got()) >= 2 })
	time.Sleep(50 * time.Millisecond)
	got := rc.got()
	for i, r := range got[1:] {
		if r.header.Get("X-Goog-Resource-State") != "exists" || r.header.Get("X-Goog-Message-Number") != strconv.Itoa(i+2) {
			t.Fatalf("notification %d: %v", i+2, r.header)
		}
	}
	n := len(got)

	// 503 is retried with the same message number; a user edit in Google notifies too
	rc.mu.Lock()
	rc.fail = 2
	rc.mu.Unlock()
	if _, err := e.srv.InsertEvent(alice, "primary", mkEvent("from google", t0, time.Hour)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "retries", func() bool { return len(rc.got()) >= n+3 })
	got = rc.got()
	num := strconv.Itoa(n + 1)
	for i, r := range got[n : n+3] {
		if r.header.Get("X-Goog-Message-Number") != num || (i < 2) != (r.status == 503) {
			t.Fatalf("retry %d: %s status %d", i, r.header.Get("X-Goog-Message-Number"), r.status)
		}
	}
	var attempts []int
	waitFor(t, "push log", func() bool {
		attempts = nil
		for _, pr := range e.srv.PushLog() {
			if strconv.FormatInt(pr.MessageNumber, 10) == num {
				attempts = append(attempts, pr.Attempt)
			}
		}
		return len(attempts) >= 3
	})
	if len(attempts) != 3 || attempts[2] != 3 {
		t.Fatalf("push log attempts %v", attempts)
	}

	// another calendar's changes do not notify this channel
	c2, _ := svc.Calendars.Insert(&gcal.Calendar{Summary: "Other"}).Do()
	if _, err := svc.Events.Insert(c2.Id, mkEvent("elsewhere", t0, time.Hour)).Do(); err != nil {
		t.Fatal(err)
	}
	// channel rules
	_, err = svc.Events.Watch("primary", &gcal.Channel{Id: "chan-1", Type: "web_hook", Address: rc.URL}).Do()
	apiErr(t, err, 400)
	_, err = svc.Events.Watch("primary", &gcal.Channel{Id: "chan-2", Type: "web_hook", Address: "https://example.com/hook"}).Do()
	if ge := apiErr(t, err, 400); reason(ge) != "push.webhookUrlUnauthorized" {
		t.Fatal(ge.Body)
	}
	_, err = svc.Events.Watch("primary", &gcal.Channel{Id: "chan-3", Type: "email", Address: rc.URL}).Do()
	apiErr(t, err, 400)

	// channels.stop: unknown → 404; then no more notifications
	err = svc.Channels.Stop(&gcal.Channel{Id: "nope", ResourceId: ch.ResourceId}).Do()
	apiErr(t, err, 404)
	err = e.calendar(bob).Channels.Stop(&gcal.Channel{Id: "chan-1", ResourceId: ch.ResourceId}).Do()
	apiErr(t, err, 404)
	if err := svc.Channels.Stop(&gcal.Channel{Id: "chan-1", ResourceId: ch.ResourceId}).Do(); err != nil {
		t.Fatal(err)
	}
	before := len(rc.got())
	if _, err := svc.Events.Insert("primary", mkEvent("after stop", t0, time.Hour)).Do(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if len(rc.got()) != before || len(e.srv.Channels()) != 0 {
		t.Fatalf("notified after stop: %d → %d", before, len(rc.got()))
	}
}

func TestWatchExpiryAndCalendarDelete(t *testing.T) {
	e := newEnv(t, allowHTTPPush)
	svc := e.calendar(alice)
	rc := newReceiver(t)
	if _, err := svc.Events.Watch("primary", &gcal.Channel{Id: "short", Type: "webhook", Address: rc.URL,
		Params: map[string]string{"ttl": "60"}}).Do(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "sync", func() bool { return len(rc.got()) == 1 })
	if rc.got()[0].header.Get("X-Goog-Channel-Token") != "" {
		t.Fatal("token header without a token")
	}
	e.clock.Advance(2 * time.Minute)
	if _, err := svc.Events.Insert("primary", mkEvent("late", t0, time.Hour)).Do(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "channel expiry", func() bool { return len(e.srv.Channels()) == 0 })
	if len(rc.got()) != 1 {
		t.Fatalf("expired channel notified: %d", len(rc.got()))
	}
}

// Google delivers only to https addresses with a valid certificate: an
// http address is refused at events.watch unless the emulator was started
// with AllowHTTPPush, and an https receiver must present a certificate the
// emulator trusts.
func TestWatchHTTPSOnly(t *testing.T) {
	for _, c := range []struct {
		name    string
		opts    []func(*Options)
		tls     bool
		trust   bool
		refused string // the watch's error reason; "" when the channel opens
		status  int    // of the first delivery; 0: a transport error
	}{
		{name: "http refused by default", refused: "push.webhookUrlNotHttps"},
		{name: "http allowed by the option", opts: []func(*Options){allowHTTPPush}, status: 200},
		{name: "https with a trusted certificate", tls: true, trust: true, status: 200},
		{name: "https with an unknown certificate", tls: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.opts...)
			svc := e.calendar(alice)
			rc := newReceiver(t)
			if c.tls {
				rc = newTLSReceiver(t)
			}
			if c.trust {
				e.srv.TrustPushCertificate(rc.Certificate())
			}
			addr := rc.URL + "/hooks/google/calendar"
			_, err := svc.Events.Watch("primary", &gcal.Channel{Id: "chan", Type: "web_hook", Address: addr, Token: "tok"}).Do()
			if c.refused != "" {
				ge := apiErr(t, err, 400)
				if reason(ge) != c.refused || ge.Message != "WebHook callback must be HTTPS: "+addr {
					t.Fatalf("refusal %d %q %q", ge.Code, reason(ge), ge.Message)
				}
				if len(e.srv.Channels()) != 0 {
					t.Fatalf("channel opened: %+v", e.srv.Channels())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "first delivery", func() bool { return len(e.srv.PushLog()) > 0 })
			first := e.srv.PushLog()[0]
			if first.State != "sync" || first.Status != c.status || (c.status == 0) != (first.Err != "") {
				t.Fatalf("first delivery %+v", first)
			}
			want := 0
			if c.status != 0 {
				want = 1
			}
			if got := len(rc.got()); got != want {
				t.Fatalf("receiver got %d requests", got)
			}
		})
	}
}
