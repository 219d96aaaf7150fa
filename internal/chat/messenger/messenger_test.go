package messenger_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/chat/messenger"
	fbemu "github.com/tandem-crm/tandem/internal/emulator/messenger"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// env is a running Tandem with a Messenger emulator: the company's app,
// a page admin and one page.
type env struct {
	srv   *tandemtest.Server
	emu   *fbemu.Server
	app   fbemu.AppConfig
	user  string
	page  string
	queue *store.ChatQueue
	admin access.Viewer
	ctx   context.Context
	// skew is the emulator's clock offset from the real one (which
	// Tandem's chat service reads).
	skew atomic.Int64
}

type opts struct {
	pg, humanAgent bool
}

func start(t *testing.T, o opts) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	e := &env{ctx: ctx}
	e.srv = tandemtest.Start(t, tandemtest.Options{Postgres: o.pg})
	e.emu = fbemu.New(fbemu.Options{AllowHTTPCallbacks: true, Seed: 7,
		Now: func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }})
	base, err := e.emu.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.emu.Close() })
	if e.app, err = e.emu.AddApp(fbemu.AppConfig{Name: "Tandem CRM", HumanAgent: o.humanAgent,
		RedirectURIs: []string{e.srv.URL + messenger.CallbackPath}}); err != nil {
		t.Fatal(err)
	}
	if e.user, err = e.emu.AddUser("", "Paula Admin"); err != nil {
		t.Fatal(err)
	}
	if e.page, err = e.emu.AddPage(fbemu.PageConfig{Name: "Corner Shop", Admins: []string{e.user}}); err != nil {
		t.Fatal(err)
	}
	set := e.srv.App.Settings
	for k, v := range map[string]string{"SiteUrl": e.srv.URL, "MessengerAppId": e.app.ID, "MessengerAppSecret": e.app.Secret,
		"MessengerGraphUrl": base, "MessengerLoginUrl": base} {
		if err := set.Put(ctx, k, v, ""); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	st := e.srv.App.Store
	users, err := st.ListUsers(ctx, "")
	if err != nil || len(users) == 0 {
		t.Fatalf("users: %v", err)
	}
	if e.admin, err = st.Viewer(ctx, users[0].ID); err != nil {
		t.Fatal(err)
	}
	e.queue = &store.ChatQueue{Name: "Support", Routing: string(chat.RoutingAll),
		Members: []store.ChatQueueMember{{Kind: "user", ID: e.admin.UserID}}}
	if err := st.SaveChatQueue(ctx, e.queue); err != nil {
		t.Fatal(err)
	}
	return e
}

// login goes through Facebook Login as the admin's browser would (the
// emulator approves at once) and returns the code it redirects with.
func (e *env) login(t *testing.T) string {
	t.Helper()
	if err := e.emu.SetAutoApprove(e.user); err != nil {
		t.Fatal(err)
	}
	auth, err := e.srv.App.Messenger.Begin(e.ctx, "state-1")
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(auth)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode/100 != 3 {
		t.Fatalf("login dialog answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !strings.HasPrefix(loc.String(), e.srv.URL+messenger.CallbackPath) || loc.Query().Get("state") != "state-1" {
		t.Fatalf("login came back to %s", loc)
	}
	return loc.Query().Get("code")
}

// connect connects the page (with botApp as its bot, if any).
func (e *env) connect(t *testing.T, botApp string) *chat.Channel {
	t.Helper()
	pages, _, err := e.srv.App.Messenger.Complete(e.ctx, e.login(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 || pages[0].ID != e.page || pages[0].AccessToken == "" {
		t.Fatalf("pages %+v", pages)
	}
	pages[0].BotAppID = botApp
	ch, err := e.srv.App.Messenger.ConnectPage(e.ctx, pages[0], e.queue.ID, e.admin.UserID)
	if err != nil {
		t.Fatal(err)
	}
	row, err := e.srv.App.Store.ChatChannel(e.ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if row.Health == "broken" {
		t.Fatalf("channel broken at once: %s", row.HealthReason)
	}
	return ch
}

// says makes the customer write and waits until Tandem has every delivery.
func (e *env) says(t *testing.T, psid, text string) {
	t.Helper()
	if _, err := e.emu.CustomerSays(e.page, psid, fbemu.Inbound{Text: text}); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
}

func (e *env) settle(t *testing.T) {
	t.Helper()
	if err := e.emu.WaitDeliveries(e.ctx); err != nil {
		t.Fatal(err)
	}
	if st := e.emu.DeliveryStats(); st.Failed > 0 {
		t.Fatalf("deliveries failed: %+v", st)
	}
}

func (e *env) openChat(t *testing.T, ch *chat.Channel, psid string) (*store.Chat, []store.ChatMessage) {
	t.Helper()
	c, err := e.srv.App.Store.OpenChatAt(e.ctx, ch.ID, psid)
	if err != nil {
		t.Fatalf("chat of %s: %v", psid, err)
	}
	// The customer's contact follows the message (the server's chat
	// router makes it): give it time to arrive.
	for deadline := time.Now().Add(10 * time.Second); c.ContactID == "" && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		if c, err = e.srv.App.Store.OpenChatAt(e.ctx, ch.ID, psid); err != nil {
			t.Fatalf("chat of %s: %v", psid, err)
		}
	}
	all, err := e.srv.App.Store.ChatMessages(e.ctx, c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var ms []store.ChatMessage // what was said, without the history events
	for _, m := range all {
		if m.Direction != string(chat.History) {
			ms = append(ms, m)
		}
	}
	return c, ms
}

func TestMessengerChannel(t *testing.T) {
	for _, tc := range []struct {
		name string
		pg   bool
	}{{"sqlite", false}, {"postgres", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, opts{pg: tc.pg})
			app := e.srv.App
			ch := e.connect(t, "")
			if ch.Name != "Corner Shop" || ch.ExternalID != e.page {
				t.Fatalf("channel %q %q", ch.Name, ch.ExternalID)
			}
			// The same page again is refused.
			pages, _, err := app.Messenger.Complete(e.ctx, e.login(t))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := app.Messenger.ConnectPage(e.ctx, pages[0], e.queue.ID, e.admin.UserID); !errors.Is(err, store.ErrDuplicate) {
				t.Fatalf("same page twice: %v", err)
			}

			psid, err := e.emu.AddCustomer(e.page, "Ann Lee")
			if err != nil {
				t.Fatal(err)
			}
			e.says(t, psid, "Hello, is my order shipped? Привет")
			c, ms := e.openChat(t, ch, psid)
			if c.Status != store.ChatQueued || len(ms) != 1 || ms[0].Body != "Hello, is my order shipped? Привет" || c.ContactID == "" {
				t.Fatalf("chat %+v messages %+v", c, ms)
			}
			// The customer's name comes from the User Profile API.
			if c.CustomerName != "Ann Lee" {
				t.Fatalf("customer named %q, want the profile's name", c.CustomerName)
			}
			if err := app.Chat.Accept(e.ctx, e.admin, c.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := app.Chat.Reply(e.ctx, e.admin, c.ID, "Yes, it left today."); err != nil {
				t.Fatal(err)
			}
			got, err := e.emu.NextReceived(e.ctx, e.page, psid, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != "Yes, it left today." || got.MessagingType != "RESPONSE" || got.AppID != e.app.ID {
				t.Fatalf("customer got %+v", got)
			}
			// Our own echo is not stored twice.
			e.settle(t)
			_, ms = e.openChat(t, ch, psid)
			if len(ms) != 2 || ms[1].Direction != string(chat.FromOperator) || ms[1].ExternalID != got.MID {
				t.Fatalf("after the reply: %+v", ms)
			}
			// A duplicated delivery is stored once.
			e.emu.SetDeliverySettings(fbemu.DeliverySettings{Duplicate: true})
			e.says(t, psid, "Thanks!")
			if _, ms = e.openChat(t, ch, psid); len(ms) != 3 {
				t.Fatalf("%d messages after a duplicated delivery", len(ms))
			}
		})
	}
}

func TestMessengerWindows(t *testing.T) {
	for _, tc := range []struct {
		name       string
		humanAgent bool
		ago        time.Duration
		wantType   string // "" when the reply fails
		wantCode   string
	}{
		{"25h with human agent", true, 25 * time.Hour, "MESSAGE_TAG", ""},
		{"25h without human agent", false, 25 * time.Hour, "", "window_closed"},
		{"8 days", true, 8 * 24 * time.Hour, "", "window_closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, opts{humanAgent: tc.humanAgent})
			app := e.srv.App
			ch := e.connect(t, "")
			psid, err := e.emu.AddCustomer(e.page, "Bob")
			if err != nil {
				t.Fatal(err)
			}
			// The customer wrote tc.ago ago on both clocks: the emulator's
			// stands that far back while they write, then catches up.
			e.skew.Store(int64(-tc.ago))
			e.says(t, psid, "Where is my parcel?")
			e.skew.Store(0)
			c, _ := e.openChat(t, ch, psid)
			if err := app.Chat.Accept(e.ctx, e.admin, c.ID); err != nil {
				t.Fatal(err)
			}
			sends := e.emu.RequestCounts()["POST /me/messages"]
			_, err = app.Chat.Reply(e.ctx, e.admin, c.ID, "Sorry for the wait.")
			if tc.wantType == "" {
				var se *chat.SendError
				if !errors.As(err, &se) || se.Code != tc.wantCode {
					t.Fatalf("reply after %s: %v, want %s", tc.ago, err, tc.wantCode)
				}
				if tc.ago > 7*24*time.Hour && e.emu.RequestCounts()["POST /me/messages"] != sends {
					t.Fatal("a reply past 7 days was sent to Facebook anyway")
				}
				if got, _ := e.emu.Received(e.page, psid); len(got) != 0 {
					t.Fatalf("customer got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.emu.NextReceived(e.ctx, e.page, psid, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got.MessagingType != tc.wantType || got.Tag != "HUMAN_AGENT" {
				t.Fatalf("sent as %s/%s", got.MessagingType, got.Tag)
			}
		})
	}
}

func TestMessengerHookRefusesUnsigned(t *testing.T) {
	e := start(t, opts{})
	ch := e.connect(t, "")
	body := `{"object":"page","entry":[{"id":"` + e.page + `","time":1,"messaging":[{"sender":{"id":"777"},"recipient":{"id":"` +
		e.page + `"},"timestamp":1,"message":{"mid":"m_forged","text":"hi"}}]}]}`
	post := func(sig string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+messenger.HookPath, strings.NewReader(body))
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(""); code != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d, want 401", code)
	}
	for _, sig := range []string{"sha256=00", "sha1=abc", "sha256=" + strings.Repeat("ab", 32), fbemu.Sign("wrong secret", []byte(body))} {
		if code := post(sig); code != http.StatusForbidden {
			t.Fatalf("signature %q: %d, want 403", sig, code)
		}
	}
	if _, err := e.srv.App.Store.OpenChatAt(e.ctx, ch.ID, "777"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused delivery was stored: %v", err)
	}
	// Signed right: stored; malformed but signed: acknowledged, skipped.
	if code := post(fbemu.Sign(e.app.Secret, []byte(body))); code != http.StatusOK {
		t.Fatalf("signed: %d", code)
	}
	if _, err := e.srv.App.Store.OpenChatAt(e.ctx, ch.ID, "777"); err != nil {
		t.Fatalf("a signed delivery: %v", err)
	}
	for _, b := range []string{`{not json`, strings.ReplaceAll(body, e.page, "999")} {
		body = b
		if code := post(fbemu.Sign(e.app.Secret, []byte(body))); code != http.StatusOK {
			t.Fatalf("malformed or not a channel %q: %d, want 200", body, code)
		}
	}

	for _, q := range []string{"hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=42", "hub.challenge=42"} {
		resp, err := http.Get(e.srv.URL + messenger.HookPath + "?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("handshake %q: %d, want 403", q, resp.StatusCode)
		}
	}
}

func TestMessengerHandover(t *testing.T) {
	e := start(t, opts{})
	app := e.srv.App
	bot, err := e.emu.AddApp(fbemu.AppConfig{Name: "Shop Bot"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.emu.SetHandover(e.page, bot.ID, e.app.ID); err != nil {
		t.Fatal(err)
	}
	ch := e.connect(t, bot.ID)
	psid, err := e.emu.AddCustomer(e.page, "Cy")
	if err != nil {
		t.Fatal(err)
	}
	// The bot holds the thread: Tandem only watches.
	e.says(t, psid, "I need a human")
	if owner, _ := e.emu.ThreadOwner(e.page, psid); owner != bot.ID {
		t.Fatalf("thread owner %q, want the bot", owner)
	}
	msg, _ := json.Marshal(map[string]string{"text": "Let me find someone."})
	if _, err := e.emu.SendAs(e.page, bot.ID, fbemu.SendRequest{Recipient: fbemu.Recipient{ID: psid}, MessagingType: "RESPONSE", Message: msg}); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	c, ms := e.openChat(t, ch, psid)
	if c.Status != store.ChatBot || c.OperatorID != "" || len(ms) != 2 ||
		ms[0].Direction != string(chat.Standby) || ms[1].Direction != string(chat.FromBot) {
		t.Fatalf("bot's chat %+v messages %+v", c, ms)
	}
	// The bot passes the thread to Tandem: the chat goes to the queue.
	if err := e.emu.PassThreadControl(e.page, bot.ID, psid, e.app.ID, "human please"); err != nil {
		t.Fatal(err)
	}
	e.settle(t)
	if c, _ = e.openChat(t, ch, psid); c.Status != store.ChatQueued {
		t.Fatalf("after the pass: %s", c.Status)
	}
	if err := app.Chat.Accept(e.ctx, e.admin, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Chat.Reply(e.ctx, e.admin, c.ID, "Hi, I am Paula."); err != nil {
		t.Fatal(err)
	}
	if err := app.Chat.Complete(e.ctx, e.admin, c.ID); err != nil {
		t.Fatal(err)
	}
	if owner, _ := e.emu.ThreadOwner(e.page, psid); owner != bot.ID {
		t.Fatalf("thread owner after completion %q, want the bot", owner)
	}
	e.settle(t)
	if _, err := app.Store.OpenChatAt(e.ctx, ch.ID, psid); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an open chat after completion: %v", err)
	}
}

func FuzzWebhook(f *testing.F) {
	f.Add([]byte(`{"object":"page","entry":[{"id":"1","time":1,"messaging":[{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1,"message":{"mid":"m_1","text":"hi","attachments":[{"type":"image","payload":{"url":"https://x/y"}}]}}]}]}`))
	f.Add([]byte(`{"object":"page","entry":[{"id":"1","standby":[{"sender":{"id":"2"},"recipient":{"id":"1"},"message":{"mid":"m_2","is_echo":true,"app_id":12345}}]}]}`))
	f.Add([]byte(`{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"pass_thread_control":{"previous_owner_app_id":null,"new_owner_app_id":"9"}}]}]}`))
	f.Add([]byte(`{"object":"page","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"take_thread_control":{"previous_owner_app_id":9,"new_owner_app_id":"8"}}]}]}`))
	f.Add([]byte(`{"object":"user"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := messenger.Parse(body)
		if err != nil {
			return
		}
		for _, ev := range evs {
			if (ev.Kind == messenger.EventMessage || ev.Kind == messenger.EventEcho) && (ev.MID == "" || ev.PSID == "") {
				t.Fatalf("a message event without a mid or sender: %+v", ev)
			}
		}
	})
}

func TestParse(t *testing.T) {
	body := `{"object":"page","entry":[{"id":"1","time":5,"messaging":[
		{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1700000000000,"message":{"mid":"m_1","text":"hi \u00e4"}},
		{"sender":{"id":"1"},"recipient":{"id":"2"},"message":{"mid":"m_2","is_echo":true,"app_id":42,"text":"bot"}},
		{"sender":{"id":"2"},"postback":{"title":"Talk to us","payload":"X","mid":"m_3"}},
		{"sender":{"id":"2"},"delivery":{"mids":["m_2"]}},
		{"sender":{"id":"2"},"pass_thread_control":{"previous_owner_app_id":null,"new_owner_app_id":"9"}}],
		"standby":[{"sender":{"id":"2"},"message":{"mid":"m_4","text":"s"}}]}]}`
	evs, err := messenger.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind    messenger.EventKind
		psid    string
		text    string
		standby bool
	}{{messenger.EventMessage, "2", "hi ä", false}, {messenger.EventEcho, "2", "bot", false}, {messenger.EventMessage, "2", "Talk to us", false},
		{messenger.EventOther, "2", "", false}, {messenger.EventPassed, "2", "", false}, {messenger.EventMessage, "2", "s", true}}
	if len(evs) != len(want) {
		t.Fatalf("%d events: %+v", len(evs), evs)
	}
	for i, w := range want {
		if ev := evs[i]; ev.Kind != w.kind || ev.PSID != w.psid || ev.Text != w.text || ev.Standby != w.standby {
			t.Errorf("event %d: %+v, want %+v", i, ev, w)
		}
	}
	if evs[1].AppID != "42" || evs[4].NewOwner != "9" || evs[4].PreviousOwner != "" || !evs[0].At.Equal(time.UnixMilli(1700000000000)) {
		t.Errorf("ids and times: %+v", evs)
	}
	for _, bad := range []string{`{not json`, `{"object":"instagram","entry":[]}`, `[]`} {
		if _, err := messenger.Parse([]byte(bad)); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

func TestMessengerSendErrorsAndSwitchingOff(t *testing.T) {
	e := start(t, opts{})
	app := e.srv.App
	ch := e.connect(t, "")
	psid, err := e.emu.AddCustomer(e.page, "Dee")
	if err != nil {
		t.Fatal(err)
	}
	e.says(t, psid, "hello")
	c, _ := e.openChat(t, ch, psid)
	if err := app.Chat.Accept(e.ctx, e.admin, c.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		fault     fbemu.FaultKind
		code      string
		temporary bool
	}{{fbemu.FaultRateLimit, "rate_limited", true}, {fbemu.FaultAppRateLimit, "rate_limited", true}, {fbemu.FaultTemporarySend, "failed", true}} {
		if err := e.emu.FailNext("messages", 1, tc.fault); err != nil {
			t.Fatal(err)
		}
		_, err := app.Chat.Reply(e.ctx, e.admin, c.ID, "one moment")
		var se *chat.SendError
		if !errors.As(err, &se) || se.Code != tc.code || se.Temporary != tc.temporary {
			t.Fatalf("fault %s: %v", tc.fault, err)
		}
	}
	// The page admin removes the app: the page token dies and the channel
	// is marked broken.
	e.emu.Revoke(e.user, e.app.ID)
	_, err = app.Chat.Reply(e.ctx, e.admin, c.ID, "still there?")
	var se *chat.SendError
	if !errors.As(err, &se) || se.Code != "failed" {
		t.Fatalf("revoked token: %v", err)
	}
	row, err := app.Store.ChatChannel(e.ctx, ch.ID)
	if err != nil || row.Health != "broken" || row.HealthReason == "" {
		t.Fatalf("channel after a revoked token: %+v %v", row, err)
	}
}

func TestMessengerSwitchOff(t *testing.T) {
	e := start(t, opts{})
	app := e.srv.App
	ch := e.connect(t, "")
	if err := app.Chat.UpdateChannel(e.ctx, ch.ID, chat.ChannelUpdate{Name: ch.Name, QueueID: ch.QueueID, Active: false}); err != nil {
		t.Fatal(err)
	}
	if n := e.emu.RequestCounts()["DELETE /"+e.page+"/subscribed_apps"]; n != 1 {
		t.Fatalf("unsubscribe calls: %d (%v)", n, e.emu.RequestCounts())
	}
	psid, err := e.emu.AddCustomer(e.page, "Eve")
	if err != nil {
		t.Fatal(err)
	}
	before := e.emu.DeliveryStats().Delivered
	e.says(t, psid, "anyone?")
	if e.emu.DeliveryStats().Delivered != before {
		t.Fatal("a switched-off page's events still reach Tandem")
	}
	if err := app.Chat.UpdateChannel(e.ctx, ch.ID, chat.ChannelUpdate{Name: ch.Name, QueueID: ch.QueueID, Active: true}); err != nil {
		t.Fatal(err)
	}
	e.says(t, psid, "hello again")
	if _, ms := e.openChat(t, ch, psid); len(ms) != 1 || ms[0].Body != "hello again" {
		t.Fatalf("after switching on: %+v", ms)
	}
}
