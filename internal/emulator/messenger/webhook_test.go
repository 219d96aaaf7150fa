package messenger

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAppSubscriptionHandshake(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    func(*Options)
		prepare func(r *receiver) (callback, verify string)
		token   func(e *env) string
		code    int
		msg     string
	}{
		{name: "challenge echoed", code: 0},
		{name: "wrong verify token", prepare: func(r *receiver) (string, string) { return r.url(), "other-token" },
			code: 2200, msg: "HTTP Status Code = 403"},
		{name: "wrong challenge echoed", prepare: func(r *receiver) (string, string) {
			r.echo = "12345"
			return r.url(), r.verifyToken
		}, code: 2200, msg: "Response does not match challenge"},
		{name: "unreachable callback", prepare: func(r *receiver) (string, string) { return "http://127.0.0.1:1/hook", r.verifyToken },
			code: 2200, msg: "Couldn't connect"},
		{name: "http refused", opts: func(o *Options) { o.AllowHTTPCallbacks = false }, code: 100, msg: "https"},
		{name: "user token", token: func(e *env) string { return e.login(allScopes) }, code: 15},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []func(*Options)
			if tc.opts != nil {
				opts = append(opts, tc.opts)
			}
			e := newEnv(t, opts...)
			r := newReceiver(t)
			callback, verify := r.url(), r.verifyToken
			if tc.prepare != nil {
				callback, verify = tc.prepare(r)
			}
			token := e.app.ID + "|" + e.app.Secret
			if tc.token != nil {
				token = tc.token(e)
			}
			st, body, _ := e.call("POST", e.app.ID+"/subscriptions", tok(token), url.Values{"object": {"page"},
				"callback_url": {callback}, "verify_token": {verify}, "fields": {"messages,messaging_postbacks"}})
			_, list, _ := e.call("GET", e.app.ID+"/subscriptions", tok(e.app.ID+"|"+e.app.Secret), nil)
			if tc.code == 0 {
				if st != 200 || body["success"] != true {
					t.Fatalf("subscribe: %d %v", st, body)
				}
				subs := list["data"].([]any)
				if len(subs) != 1 || get(subs[0].(map[string]any), "callback_url") != callback || get(subs[0].(map[string]any), "object") != "page" {
					t.Fatalf("subscriptions: %v", list)
				}
				return
			}
			if c, _ := graphErr(body); st != 400 || c != tc.code || !strings.Contains(errMessage(body), tc.msg) {
				t.Fatalf("got %d %v, want code %d with %q", st, body, tc.code, tc.msg)
			}
			if len(list["data"].([]any)) != 0 {
				t.Fatalf("refused subscription is listed: %v", list)
			}
		})
	}
}

// Like Meta, the emulator calls https callbacks and checks their
// certificates.
func TestHTTPSCallbacks(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AllowHTTPCallbacks = false })
	r := newReceiver(t)
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	callback := tlsSrv.URL + "/hook"
	err := e.srv.SubscribeApp(e.ctx, e.app.ID, callback, r.verifyToken, "messages")
	wantGraphErr(t, err, 2200, 0) // an untrusted certificate
	e.srv.TrustCallbackCertificate(tlsSrv.Certificate())
	if err := e.srv.SubscribeApp(e.ctx, e.app.ID, callback, r.verifyToken, "messages"); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SubscribePage(e.pageID, e.app.ID, "messages"); err != nil {
		t.Fatal(err)
	}
	psid := must(e.srv.AddCustomer(e.pageID, ""))
	mid := must(e.srv.CustomerSays(e.pageID, psid, Inbound{Text: "over TLS"}))[0]
	if it, _ := r.nextItem(e.ctx); get(it, "message", "mid") != mid {
		t.Fatalf("got %v", it)
	}
}

func TestPageSubscribedApps(t *testing.T) {
	e := newEnv(t)
	pt := e.pageToken()
	// Lena, another admin, grants the app no pages_messaging.
	lena := must(e.srv.AddUser("", "Lena"))
	if err := e.srv.AddPageAdmin(e.pageID, lena); err != nil {
		t.Fatal(err)
	}
	limited := e.loginAs(lena, "pages_show_list,pages_manage_metadata")
	_, acc, _ := e.call("GET", "me/accounts", tok(limited), nil)
	limitedPT := acc["data"].([]any)[0].(map[string]any)["access_token"].(string)

	for _, tc := range []struct {
		name          string
		token         string
		fields        *string
		code, subcode int
	}{
		{name: "no subscribed_fields", token: pt, code: 100},
		{name: "unknown field", token: pt, fields: ptr("messages,gossip"), code: 100},
		{name: "user token", token: e.login(allScopes), fields: ptr("messages"), code: 210},
		{name: "without pages_messaging", token: limitedPT, fields: ptr("messages"), code: 200},
		{name: "fine", token: pt, fields: ptr(channelFields)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tok(tc.token)
			if tc.fields != nil {
				q.Set("subscribed_fields", *tc.fields)
			}
			st, body, _ := e.call("POST", e.pageID+"/subscribed_apps", q, nil)
			if tc.code == 0 {
				if st != 200 || body["success"] != true {
					t.Fatalf("subscribe: %d %v", st, body)
				}
				return
			}
			if c, s := graphErr(body); st != 400 || c != tc.code || s != tc.subcode {
				t.Fatalf("got %d %v, want %d/%d", st, body, tc.code, tc.subcode)
			}
		})
	}
	st, body, _ := e.call("GET", e.pageID+"/subscribed_apps", tok(pt), nil)
	apps := body["data"].([]any)
	if st != 200 || len(apps) != 1 || get(apps[0].(map[string]any), "id") != e.app.ID ||
		!slices.Equal(toStrings(get(apps[0].(map[string]any), "subscribed_fields")), strings.Split(channelFields, ",")) {
		t.Fatalf("subscribed_apps: %d %v", st, body)
	}
	if st, body, _ := e.call("DELETE", e.pageID+"/subscribed_apps", tok(pt), nil); st != 200 || body["success"] != true {
		t.Fatalf("delete: %d %v", st, body)
	}
	if _, body, _ := e.call("GET", e.pageID+"/subscribed_apps", tok(pt), nil); len(body["data"].([]any)) != 0 {
		t.Fatalf("after delete: %v", body)
	}
}

func ptr[T any](v T) *T { return &v }

func hmacHex(secret string, body []byte, sha256Hash bool) string {
	if sha256Hash {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

func TestDeliverySignatureOverEscapedUnicode(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t)
	e.connect(r)
	psid := must(e.srv.AddCustomer(e.pageID, "Jörg"))
	text := "Grüße, ä 😀 </b> https://x.test/a"
	mids := must(e.srv.CustomerSays(e.pageID, psid, Inbound{Text: text, Attachments: nil}))
	d := r.next(e.ctx)

	if d.sig256 != hmacHex(e.app.Secret, d.body, true) || d.sig1 != hmacHex(e.app.Secret, d.body, false) {
		t.Fatalf("signatures %q %q do not match the raw body", d.sig256, d.sig1)
	}
	if d.sig256 != Sign(e.app.Secret, d.body) {
		t.Error("Sign disagrees")
	}
	for _, want := range []string{`\u00e4`, `Gr\u00fc\u00dfe`, `\ud83d\ude00`, `https:\/\/x.test\/a`, `<\/b>`} {
		if !bytes.Contains(d.body, []byte(want)) {
			t.Errorf("body lacks %s: %s", want, d.body)
		}
	}
	for _, c := range d.body {
		if c >= utf8.RuneSelf {
			t.Fatalf("body has a raw non-ASCII byte: %s", d.body)
		}
	}
	m, _ := d.items()
	if len(m) != 1 || get(m[0], "message", "text") != text || get(m[0], "message", "mid") != mids[0] ||
		get(m[0], "sender", "id") != psid || get(m[0], "recipient", "id") != e.pageID || d.p.Object != "page" || d.p.Entry[0].ID != e.pageID {
		t.Fatalf("payload %s", d.body)
	}
	// Re-serialising the parsed JSON changes the bytes, and so the HMAC:
	// a receiver must check the raw body.
	var v any
	json.Unmarshal(d.body, &v)
	again, _ := json.Marshal(v)
	if hmacHex(e.app.Secret, again, true) == d.sig256 {
		t.Error("re-serialised body has the same signature; the test proves nothing")
	}
}

func TestMetaJSON(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"ä", `"\u00e4"`},
		{"Ж", `"\u0416"`},
		{"😀", `"\ud83d\ude00"`},
		{"a/b", `"a\/b"`},
		{`<&>`, `"<&>"`},
		{"q\"\\", `"q\"\\"`},
		{"\u2028", `"\u2028"`},
	} {
		if got := string(metaJSON(tc.in)); got != tc.want {
			t.Errorf("metaJSON(%q) = %s, want %s", tc.in, got, tc.want)
		}
		var back string
		if err := json.Unmarshal(metaJSON(tc.in), &back); err != nil || back != tc.in {
			t.Errorf("%q does not round-trip: %q %v", tc.in, back, err)
		}
	}
}

func TestDeliveryBatching(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t)
	e.connect(r)
	psid := must(e.srv.AddCustomer(e.pageID, ""))
	e.srv.SetDeliverySettings(DeliverySettings{Batch: 10, Paused: true})
	mids := must(e.srv.CustomerSays(e.pageID, psid, Inbound{Text: "one"}, Inbound{Text: "two"}, Inbound{Text: "three"}))
	e.srv.CustomerPostback(e.pageID, psid, "Menu", "MENU")
	e.srv.SetDeliverySettings(DeliverySettings{Batch: 10})
	d := r.next(e.ctx)
	m, s := d.items()
	if len(d.p.Entry) != 1 || len(m) != 4 || len(s) != 0 {
		t.Fatalf("want one entry with 4 events, got %s", d.body)
	}
	for i, mid := range mids {
		if get(m[i], "message", "mid") != mid {
			t.Errorf("event %d: %v, want mid %s", i, m[i], mid)
		}
	}
	if get(m[3], "postback", "payload") != "MENU" {
		t.Errorf("postback %v", m[3])
	}
	if d.sig256 != hmacHex(e.app.Secret, d.body, true) {
		t.Error("bad signature on a batch")
	}
	r.none(e)
}

func TestDeliveryDuplicatesAndOrder(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t)
	e.connect(r)
	psid := must(e.srv.AddCustomer(e.pageID, ""))

	e.srv.SetDeliverySettings(DeliverySettings{Duplicate: true})
	mid := must(e.srv.CustomerSays(e.pageID, psid, Inbound{Text: "twice"}))[0]
	a, b := r.next(e.ctx), r.next(e.ctx)
	if !bytes.Equal(a.body, b.body) || !bytes.Contains(a.body, []byte(mid)) {
		t.Fatalf("duplicates differ:\n%s\n%s", a.body, b.body)
	}
	r.none(e)
	var dup int
	for _, rec := range e.srv.Deliveries() {
		if rec.Duplicate {
			dup++
		}
	}
	if dup != 1 {
		t.Errorf("%d duplicate records, want 1", dup)
	}

	e.srv.SetDeliverySettings(DeliverySettings{OutOfOrder: true, Paused: true})
	mids := must(e.srv.CustomerSays(e.pageID, psid, Inbound{Text: "1"}, Inbound{Text: "2"}, Inbound{Text: "3"}))
	e.srv.SetDeliverySettings(DeliverySettings{OutOfOrder: true})
	var got []string
	for range mids {
		it, _ := r.nextItem(e.ctx)
		got = append(got, get(it, "message", "mid").(string))
	}
	slices.Reverse(mids)
	if !slices.Equal(got, mids) {
		t.Fatalf("out-of-order delivery %v, want %v", got, mids)
	}
}

func TestDeliveryRetries(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t)
	e.connect(r)
	psid := must(e.srv.AddCustomer(e.pageID, ""))
	r.mu.Lock()
	r.failPosts = 2
	r.mu.Unlock()
	mid := must(e.srv.CustomerSays(e.pageID, psid, Inbound{Text: "retry me"}))[0]
	it, _ := r.nextItem(e.ctx)
	if get(it, "message", "mid") != mid {
		t.Fatalf("got %v", it)
	}
	if err := e.srv.WaitDeliveries(e.ctx); err != nil {
		t.Fatal(err)
	}
	var statuses []int
	for _, rec := range e.srv.Deliveries() {
		statuses = append(statuses, rec.Status)
	}
	if !slices.Equal(statuses, []int{500, 500, 200}) {
		t.Fatalf("attempt statuses %v", statuses)
	}
	if st := e.srv.DeliveryStats(); st.Delivered != 1 || st.Attempts != 3 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFieldsMustBeOnBothLevels(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t)
	pt := e.pageToken()
	// The app subscription lacks messaging_postbacks; the page has it.
	if err := e.srv.SubscribeApp(e.ctx, e.app.ID, r.url(), r.verifyToken, "messages"); err != nil {
		t.Fatal(err)
	}
	st, body, _ := e.call("POST", e.pageID+"/subscribed_apps", url.Values{"access_token": {pt}, "subscribed_fields": {"messages,messaging_postbacks"}}, nil)
	if st != 200 {
		t.Fatalf("%d %v", st, body)
	}
	psid := must(e.srv.AddCustomer(e.pageID, ""))
	e.srv.CustomerPostback(e.pageID, psid, "Start", "START")
	mid := must(e.srv.CustomerSays(e.pageID, psid, Inbound{Text: "hi"}))[0]
	it, _ := r.nextItem(e.ctx)
	if get(it, "message", "mid") != mid {
		t.Fatalf("got %v; the postback should not have come", it)
	}
	r.none(e)
}

// TestDeliveryThroughput measures how fast events reach a receiver: 1,000
// customer messages over 100 threads.
func TestDeliveryThroughput(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t)
	e.connect(r)
	const threads, per = 100, 10
	psids := make([]string, threads)
	for i := range psids {
		psids[i] = must(e.srv.AddCustomer(e.pageID, ""))
	}
	began := time.Now()
	for j := 0; j < per; j++ {
		for _, p := range psids {
			must(e.srv.CustomerSays(e.pageID, p, Inbound{Text: fmt.Sprintf("message %d", j)}))
		}
	}
	seen := map[string]int{}
	for n := 0; n < threads*per; n++ {
		it, _ := r.nextItem(e.ctx)
		sender := get(it, "sender", "id").(string)
		want := fmt.Sprintf("message %d", seen[sender])
		if got := get(it, "message", "text"); got != want {
			t.Fatalf("thread %s: got %v, want %q (order within a thread)", sender, got, want)
		}
		seen[sender]++
	}
	rate := float64(threads*per) / time.Since(began).Seconds()
	t.Logf("%d events in %v: %.0f events/s", threads*per, time.Since(began).Round(time.Millisecond), rate)
	if rate < 300 && !raceEnabled {
		t.Errorf("%.0f events/s, want at least 300", rate)
	}
}
