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

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	e := newEnv(t)
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
	_, err = svc.Events.Watch("primary", &gcal.Channel{Id: "chan-2", Type: "web_hook", Address: "http://example.com/hook"}).Do()
	if ge := apiErr(t, err, 400); reason(ge) != "push.webhookUrlNotHttps" {
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
	e := newEnv(t)
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
