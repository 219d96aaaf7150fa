package messenger

import (
	"errors"
	"net/url"
	"testing"
	"time"
)

// handoverEnv has an external bot app (Primary Receiver, subscribed
// through the Go helpers) and Tandem's app (Secondary Receiver, connected
// through the Graph API), each with a webhook receiver.
type handoverEnv struct {
	*env
	bot     AppConfig
	botHook *receiver
	tandem  *receiver
	pt      string // Tandem's page token
	psid    string
}

func newHandoverEnv(t *testing.T, withRoles bool) *handoverEnv {
	e := newEnv(t)
	h := &handoverEnv{env: e, botHook: newReceiver(t), tandem: newReceiver(t)}
	h.bot = must(e.srv.AddApp(AppConfig{Name: "Shop Bot"}))
	if err := e.srv.SubscribeApp(e.ctx, h.bot.ID, h.botHook.url(), h.botHook.verifyToken, "messages", "messaging_postbacks",
		"messaging_handovers", "standby", "message_echoes"); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SubscribePage(e.pageID, h.bot.ID, "messages", "messaging_postbacks", "messaging_handovers", "standby", "message_echoes"); err != nil {
		t.Fatal(err)
	}
	h.pt = e.connect(h.tandem)
	if withRoles {
		if err := e.srv.SetHandover(e.pageID, h.bot.ID, e.app.ID); err != nil {
			t.Fatal(err)
		}
		// Both apps learn their roles.
		it, _ := h.botHook.nextItem(e.ctx)
		if roles := get(it, "app_roles", h.bot.ID); roles == nil || roles.([]any)[0] != "primary_receiver" {
			t.Fatalf("bot app_roles %v", it)
		}
		it, _ = h.tandem.nextItem(e.ctx)
		if roles := get(it, "app_roles", e.app.ID); roles == nil || roles.([]any)[0] != "secondary_receiver" {
			t.Fatalf("tandem app_roles %v", it)
		}
	}
	h.psid = must(e.srv.AddCustomer(e.pageID, "Carla"))
	return h
}

func (h *handoverEnv) owner() string {
	h.t.Helper()
	st, body, _ := h.call("GET", "me/thread_owner", url.Values{"access_token": {h.pt}, "recipient": {h.psid}}, nil)
	if st != 200 {
		h.t.Fatalf("thread_owner: %d %v", st, body)
	}
	data := body["data"].([]any)
	if len(data) == 0 {
		return ""
	}
	return get(data[0].(map[string]any), "thread_owner", "app_id").(string)
}

func (h *handoverEnv) op(op string, body map[string]any) (int, map[string]any) {
	h.t.Helper()
	body["recipient"] = map[string]string{"id": h.psid}
	st, out, _ := h.call("POST", "me/"+op, tok(h.pt), body)
	return st, out
}

func wantGraphErr(t *testing.T, err error, code, subcode int) {
	t.Helper()
	var ge *GraphError
	if !errors.As(err, &ge) || ge.Code != code || ge.Subcode != subcode {
		t.Fatalf("got %v, want graph error %d/%d", err, code, subcode)
	}
}

func TestHandoverPassTakeAndStandby(t *testing.T) {
	h := newHandoverEnv(t, true)
	e := h.env

	// The customer writes: the Primary Receiver takes the idle thread;
	// Tandem watches on standby.
	mid := must(e.srv.CustomerSays(e.pageID, h.psid, Inbound{Text: "I need a human"}))[0]
	it, standby := h.botHook.nextItem(e.ctx)
	if standby || get(it, "message", "mid") != mid {
		t.Fatalf("bot got %v (standby %v)", it, standby)
	}
	it, standby = h.tandem.nextItem(e.ctx)
	if !standby || get(it, "message", "mid") != mid {
		t.Fatalf("tandem got %v (standby %v)", it, standby)
	}
	if h.owner() != h.bot.ID {
		t.Fatalf("owner %q, want the bot", h.owner())
	}
	st, out := e.send(h.pt, textTo(h.psid, "RESPONSE", "operator here"))
	if c, s := graphErr(out); st != 400 || c != 10 || s != 2018300 ||
		errMessage(out) != "(#10) Message failed to send because another app is controlling this thread now." {
		t.Fatalf("send by the secondary: %d %v", st, out)
	}
	// A postback reaches the standby channel without its payload.
	must(e.srv.CustomerPostback(e.pageID, h.psid, "Talk to us", "HUMAN"))
	it, _ = h.botHook.nextItem(e.ctx)
	if get(it, "postback", "payload") != "HUMAN" {
		t.Fatalf("bot postback %v", it)
	}
	it, standby = h.tandem.nextItem(e.ctx)
	if !standby || get(it, "postback", "title") != "Talk to us" || get(it, "postback", "payload") != nil {
		t.Fatalf("standby postback %v", it)
	}
	// The bot's own send is echoed: to itself on messaging, to Tandem on
	// standby.
	if _, err := e.srv.SendAs(e.pageID, h.bot.ID, SendRequest{Recipient: Recipient{h.psid}, MessagingType: "RESPONSE",
		Message: []byte(`{"text":"Passing you to a person"}`)}); err != nil {
		t.Fatal(err)
	}
	if it, standby := h.botHook.nextItem(e.ctx); standby || get(it, "message", "is_echo") != true {
		t.Fatalf("bot echo %v", it)
	}
	if it, standby := h.tandem.nextItem(e.ctx); !standby || get(it, "message", "is_echo") != true {
		t.Fatalf("tandem standby echo %v", it)
	}
	// The standby channel carries the delivery receipts too.
	if it, standby := h.tandem.nextItem(e.ctx); !standby || get(it, "delivery") == nil {
		t.Fatalf("tandem standby delivery %v", it)
	}

	// The bot passes the thread to Tandem.
	if err := e.srv.PassThreadControl(e.pageID, h.bot.ID, h.psid, e.app.ID, "escalated"); err != nil {
		t.Fatal(err)
	}
	it, _ = h.tandem.nextItem(e.ctx)
	if get(it, "pass_thread_control", "new_owner_app_id") != e.app.ID || get(it, "pass_thread_control", "previous_owner_app_id") != h.bot.ID ||
		get(it, "pass_thread_control", "metadata") != "escalated" || get(it, "sender", "id") != h.psid {
		t.Fatalf("pass event %v", it)
	}
	if h.owner() != e.app.ID {
		t.Fatalf("owner %q after pass", h.owner())
	}
	mid = must(e.srv.CustomerSays(e.pageID, h.psid, Inbound{Text: "hello?"}))[0]
	if it, standby := h.tandem.nextItem(e.ctx); standby || get(it, "message", "mid") != mid {
		t.Fatalf("tandem after pass %v (standby %v)", it, standby)
	}
	h.botHook.next(e.ctx) // bot: standby
	if st, out := e.send(h.pt, textTo(h.psid, "RESPONSE", "operator here")); st != 200 {
		t.Fatalf("send by the owner: %d %v", st, out)
	}
	if it, standby := h.tandem.nextItem(e.ctx); standby || get(it, "message", "is_echo") != true {
		t.Fatalf("tandem echo %v", it)
	}
	h.botHook.next(e.ctx) // standby echo
	h.botHook.next(e.ctx) // standby delivery
	_, err := e.srv.SendAs(e.pageID, h.bot.ID, SendRequest{Recipient: Recipient{h.psid}, MessagingType: "RESPONSE",
		Message: []byte(`{"text":"bot again"}`)})
	wantGraphErr(t, err, 10, 2018300)

	// The bot, the Primary Receiver, takes the thread back.
	if err := e.srv.TakeThreadControl(e.pageID, h.bot.ID, h.psid, "bot resumes"); err != nil {
		t.Fatal(err)
	}
	it, _ = h.tandem.nextItem(e.ctx)
	if get(it, "take_thread_control", "previous_owner_app_id") != e.app.ID || get(it, "take_thread_control", "new_owner_app_id") != h.bot.ID ||
		get(it, "take_thread_control", "metadata") != "bot resumes" {
		t.Fatalf("take event %v", it)
	}
	// Now Tandem may only ask.
	if st, out := h.op(OpTake, map[string]any{}); st != 400 || fst(graphErr(out)) != 100 {
		t.Fatalf("take by the secondary: %d %v", st, out)
	}
	if st, out := h.op(OpRelease, map[string]any{}); st != 400 || fst(graphErr(out)) != 100 {
		t.Fatalf("release by a non-owner: %d %v", st, out)
	}
	if st, out := h.op(OpPass, map[string]any{"target_app_id": h.bot.ID}); st != 400 || fst(graphErr(out)) != 100 {
		t.Fatalf("pass by a non-owner: %d %v", st, out)
	}
	if st, out := h.op(OpRequest, map[string]any{"metadata": "customer asked for a person"}); st != 200 || out["success"] != true {
		t.Fatalf("request: %d %v", st, out)
	}
	it, _ = h.botHook.nextItem(e.ctx)
	if get(it, "request_thread_control", "requested_owner_app_id") != e.app.ID ||
		get(it, "request_thread_control", "metadata") != "customer asked for a person" {
		t.Fatalf("request event %v", it)
	}
	// The bot releases; the thread is idle and any app may send.
	if err := e.srv.ReleaseThreadControl(e.pageID, h.bot.ID, h.psid); err != nil {
		t.Fatal(err)
	}
	if h.owner() != "" {
		t.Fatalf("owner %q after release", h.owner())
	}
	if st, out := e.send(h.pt, textTo(h.psid, "RESPONSE", "idle thread")); st != 200 {
		t.Fatalf("send in an idle thread: %d %v", st, out)
	}
	// Tandem takes the idle thread, then passes it back to the Primary
	// without naming it.
	if st, out := h.op(OpTake, map[string]any{"metadata": "mine"}); st != 200 {
		t.Fatalf("take an idle thread: %d %v", st, out)
	}
	if h.owner() != e.app.ID {
		t.Fatalf("owner %q after take", h.owner())
	}
	// The idle send was echoed to both on messaging[]; taking an idle
	// thread notifies nobody.
	for _, r := range []*receiver{h.tandem, h.botHook} {
		if it, standby := r.nextItem(e.ctx); standby || get(it, "message", "text") != "idle thread" {
			t.Fatalf("idle echo %v (standby %v)", it, standby)
		}
	}
	h.tandem.none(e)
	h.botHook.none(e)
	if st, out := h.op(OpPass, map[string]any{"metadata": "back to you"}); st != 200 {
		t.Fatalf("pass back: %d %v", st, out)
	}
	it, _ = h.botHook.nextItem(e.ctx)
	if get(it, "pass_thread_control", "new_owner_app_id") != h.bot.ID || get(it, "pass_thread_control", "previous_owner_app_id") != e.app.ID {
		t.Fatalf("pass back event %v", it)
	}
	// Control lapses after 24 h without activity.
	e.clock.Advance(25 * time.Hour)
	if h.owner() != "" {
		t.Fatalf("owner %q after 25 h", h.owner())
	}
}

func TestHandoverRefusals(t *testing.T) {
	h := newHandoverEnv(t, true)
	e := h.env
	stranger := must(e.srv.AddApp(AppConfig{Name: "Stranger"}))
	must(e.srv.CustomerSays(e.pageID, h.psid, Inbound{Text: "hi"}))
	for _, tc := range []struct {
		name          string
		run           func() error
		code, subcode int
	}{
		{"app outside the roles", func() error { return e.srv.TakeThreadControl(e.pageID, stranger.ID, h.psid, "") }, 10, 2018171},
		{"pass to a stranger", func() error { return e.srv.PassThreadControl(e.pageID, h.bot.ID, h.psid, stranger.ID, "") }, 100, 2018164},
		{"primary passes without target", func() error { return e.srv.PassThreadControl(e.pageID, h.bot.ID, h.psid, "", "") }, 100, 0},
		{"unknown customer", func() error { return e.srv.TakeThreadControl(e.pageID, h.bot.ID, "2000", "") }, 100, 2018001},
	} {
		t.Run(tc.name, func(t *testing.T) { wantGraphErr(t, tc.run(), tc.code, tc.subcode) })
	}
	// The Page Inbox is always a valid target; while it owns the thread
	// both apps are on standby.
	if err := e.srv.PassThreadControl(e.pageID, h.bot.ID, h.psid, PageInboxAppID, ""); err != nil {
		t.Fatal(err)
	}
	h.botHook.next(e.ctx) // the bot's own first message
	h.tandem.next(e.ctx)
	must(e.srv.CustomerSays(e.pageID, h.psid, Inbound{Text: "anyone?"}))
	if _, standby := h.botHook.nextItem(e.ctx); !standby {
		t.Error("bot not on standby while the inbox owns the thread")
	}
	if _, standby := h.tandem.nextItem(e.ctx); !standby {
		t.Error("tandem not on standby while the inbox owns the thread")
	}
	// secondary_receivers: the primary sees all, a secondary only itself.
	st, body, _ := e.call("GET", "me/secondary_receivers", tok(h.pt), nil)
	if data := body["data"].([]any); st != 200 || len(data) != 1 || get(data[0].(map[string]any), "id") != e.app.ID {
		t.Fatalf("secondary_receivers: %d %v", st, body)
	}
}

func TestIdleThreadsWithoutRoles(t *testing.T) {
	h := newHandoverEnv(t, false)
	e := h.env
	// No roles: both apps get the message on messaging[] and may answer.
	mid := must(e.srv.CustomerSays(e.pageID, h.psid, Inbound{Text: "hi all"}))[0]
	for _, r := range []*receiver{h.botHook, h.tandem} {
		if it, standby := r.nextItem(e.ctx); standby || get(it, "message", "mid") != mid {
			t.Fatalf("idle delivery %v (standby %v)", it, standby)
		}
	}
	if h.owner() != "" {
		t.Fatalf("owner %q, want idle", h.owner())
	}
	// Tandem takes the thread: the bot drops to standby and may not send.
	if st, out := h.op(OpTake, map[string]any{}); st != 200 {
		t.Fatalf("take: %d %v", st, out)
	}
	must(e.srv.CustomerSays(e.pageID, h.psid, Inbound{Text: "still there?"}))
	if _, standby := h.tandem.nextItem(e.ctx); standby {
		t.Error("owner on standby")
	}
	if _, standby := h.botHook.nextItem(e.ctx); !standby {
		t.Error("non-owner not on standby")
	}
	_, err := e.srv.SendAs(e.pageID, h.bot.ID, SendRequest{Recipient: Recipient{h.psid}, MessagingType: "RESPONSE", Message: []byte(`{"text":"x"}`)})
	wantGraphErr(t, err, 10, 2018300)
}
