package messenger

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSendWindows(t *testing.T) {
	long := strings.Repeat("ж", 2000)
	for _, tc := range []struct {
		name          string
		humanAgent    bool
		after         time.Duration // since the customer's message
		body          func(psid string) map[string]any
		code, subcode int
	}{
		{name: "response inside 24 h", after: time.Hour, body: func(p string) map[string]any { return textTo(p, "RESPONSE", "hi") }},
		{name: "update inside 24 h", after: 23 * time.Hour, body: func(p string) map[string]any { return textTo(p, "UPDATE", "hi") }},
		{name: "response after 24 h", after: 25 * time.Hour, body: func(p string) map[string]any { return textTo(p, "RESPONSE", "hi") },
			code: 10, subcode: 2018278},
		{name: "update after 24 h", after: 25 * time.Hour, body: func(p string) map[string]any { return textTo(p, "UPDATE", "hi") },
			code: 10, subcode: 2018278},
		{name: "human agent on day 3 with permission", humanAgent: true, after: 72 * time.Hour, body: humanAgent},
		{name: "human agent on day 3 without permission", after: 72 * time.Hour, body: humanAgent, code: 10, subcode: 2018278},
		{name: "human agent on day 8", humanAgent: true, after: 8 * 24 * time.Hour, body: humanAgent, code: 10, subcode: 2018278},
		{name: "human agent inside 24 h without permission", after: time.Hour, body: humanAgent, code: 10},
		{name: "legacy tag refused", after: 25 * time.Hour, body: func(p string) map[string]any {
			b := textTo(p, "MESSAGE_TAG", "hi")
			b["tag"] = "ACCOUNT_UPDATE"
			return b
		}, code: 100},
		{name: "message tag without tag", after: time.Hour, body: func(p string) map[string]any { return textTo(p, "MESSAGE_TAG", "hi") }, code: 100},
		{name: "no messaging_type", after: time.Hour, body: func(p string) map[string]any { return textTo(p, "", "hi") }, code: 100},
		{name: "unknown messaging_type", after: time.Hour, body: func(p string) map[string]any { return textTo(p, "NEWS", "hi") }, code: 100},
		{name: "2000 characters", after: time.Hour, body: func(p string) map[string]any { return textTo(p, "RESPONSE", long) }},
		{name: "2001 characters", after: time.Hour, body: func(p string) map[string]any { return textTo(p, "RESPONSE", long+"!") }, code: 100},
		{name: "empty message", after: time.Hour, body: func(p string) map[string]any { return textTo(p, "RESPONSE", "") }, code: 100},
		{name: "unknown recipient", after: time.Hour, body: func(string) map[string]any { return textTo("2999", "RESPONSE", "hi") },
			code: 100, subcode: 2018001},
		{name: "no recipient", after: time.Hour, body: func(string) map[string]any {
			return map[string]any{"messaging_type": "RESPONSE", "message": map[string]string{"text": "hi"}}
		}, code: 100},
		{name: "typing_on", after: time.Hour, body: func(p string) map[string]any {
			return map[string]any{"recipient": map[string]string{"id": p}, "sender_action": "typing_on"}
		}},
		{name: "sender action with a message", after: time.Hour, body: func(p string) map[string]any {
			b := textTo(p, "RESPONSE", "hi")
			b["sender_action"] = "typing_on"
			return b
		}, code: 100, subcode: 2018014},
		{name: "sender action after 24 h", after: 25 * time.Hour, body: func(p string) map[string]any {
			return map[string]any{"recipient": map[string]string{"id": p}, "sender_action": "mark_seen"}
		}, code: 10, subcode: 2018278},
		{name: "image attachment", after: time.Hour, body: func(p string) map[string]any {
			return map[string]any{"recipient": map[string]string{"id": p}, "messaging_type": "RESPONSE",
				"message": map[string]any{"attachment": map[string]any{"type": "image", "payload": map[string]any{"url": "https://x.test/a.png"}}}}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if err := e.srv.SetHumanAgent(e.app.ID, tc.humanAgent); err != nil {
				t.Fatal(err)
			}
			pt := e.pageToken()
			psid := must(e.srv.AddCustomer(e.pageID, ""))
			must(e.srv.CustomerSays(e.pageID, psid, Inbound{Text: "hello"}))
			e.clock.Advance(tc.after)
			body := tc.body(psid)
			st, out := e.send(pt, body)
			if tc.code != 0 {
				if c, s := graphErr(out); st != 400 || c != tc.code || s != tc.subcode {
					t.Fatalf("got %d %v, want %d/%d", st, out, tc.code, tc.subcode)
				}
				if tc.subcode == 2018278 && !strings.HasPrefix(errMessage(out), "(#10) This message is sent outside of allowed window.") {
					t.Errorf("message %q", errMessage(out))
				}
				if got, _ := e.srv.Received(e.pageID, psid); len(got) != 0 {
					t.Errorf("refused message was received: %v", got)
				}
				return
			}
			if st != 200 || out["recipient_id"] != psid {
				t.Fatalf("got %d %v", st, out)
			}
			if _, ok := body["sender_action"]; ok {
				if acts, _ := e.srv.SenderActions(e.pageID, psid); len(acts) != 1 || out["message_id"] != nil {
					t.Fatalf("sender action: %v %v", acts, out)
				}
				return
			}
			m, err := e.srv.NextReceived(e.ctx, e.pageID, psid, 0)
			if err != nil || m.MID != out["message_id"] || m.AppID != e.app.ID || !strings.HasPrefix(m.MID, "m_") {
				t.Fatalf("received %+v %v (answer %v)", m, err, out)
			}
		})
	}
}

func humanAgent(psid string) map[string]any {
	b := textTo(psid, "MESSAGE_TAG", "an agent answers")
	b["tag"] = "HUMAN_AGENT"
	return b
}

func TestSendForms(t *testing.T) {
	e := newEnv(t)
	pt := e.pageToken()
	psid := must(e.srv.AddCustomer(e.pageID, ""))
	must(e.srv.CustomerSays(e.pageID, psid, Inbound{Text: "hello"}))
	// Graph takes the parameters as a form with JSON values, on
	// /{page-id}/messages too.
	st, out, _ := e.call("POST", e.pageID+"/messages", nil, url.Values{"access_token": {pt},
		"recipient": {`{"id":"` + psid + `"}`}, "messaging_type": {"RESPONSE"}, "message": {`{"text":"form"}`}})
	if st != 200 || out["message_id"] == nil {
		t.Fatalf("form send: %d %v", st, out)
	}
	// A user token is no page token.
	st, out = e.send(e.login(allScopes), textTo(psid, "RESPONSE", "x"))
	if c, _ := graphErr(out); st != 400 || c != 210 {
		t.Fatalf("user token: %d %v", st, out)
	}
	// Another page's path.
	other := must(e.srv.AddPage(PageConfig{Name: "Other", Admins: []string{e.userID}}))
	st, out, _ = e.call("POST", other+"/messages", tok(pt), textTo(psid, "RESPONSE", "x"))
	if c, _ := graphErr(out); st != 400 || c != 210 {
		t.Fatalf("other page: %d %v", st, out)
	}
}

func TestSendEchoes(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t)
	pt := e.connect(r)
	psid := must(e.srv.AddCustomer(e.pageID, ""))
	must(e.srv.CustomerSays(e.pageID, psid, Inbound{Text: "hello"}))
	r.nextItem(e.ctx)
	body := textTo(psid, "RESPONSE", "Привет")
	body["message"].(map[string]string)["metadata"] = "op:42"
	st, out := e.send(pt, body)
	if st != 200 {
		t.Fatalf("%d %v", st, out)
	}
	it, standby := r.nextItem(e.ctx)
	if standby || get(it, "message", "is_echo") != true || get(it, "message", "mid") != out["message_id"] ||
		get(it, "message", "metadata") != "op:42" || get(it, "message", "text") != "Привет" ||
		get(it, "sender", "id") != e.pageID || get(it, "recipient", "id") != psid {
		t.Fatalf("echo %v", it)
	}
	if appID, ok := get(it, "message", "app_id").(float64); !ok || int64(appID) == 0 {
		t.Fatalf("echo app_id %v is not a number", get(it, "message", "app_id"))
	}
	r.none(e) // no message_deliveries subscription: no delivery event
}

func TestSendRateLimitAndFaults(t *testing.T) {
	e := newEnv(t)
	pt := e.pageToken()
	psid := must(e.srv.AddCustomer(e.pageID, ""))
	must(e.srv.CustomerSays(e.pageID, psid, Inbound{Text: "hello"}))
	e.srv.SetSendRateLimit(3)
	for i := 0; i < 3; i++ {
		if st, out := e.send(pt, textTo(psid, "RESPONSE", "x")); st != 200 {
			t.Fatalf("send %d: %d %v", i, st, out)
		}
	}
	if st, out := e.send(pt, textTo(psid, "RESPONSE", "x")); st != 400 || fst(graphErr(out)) != 613 {
		t.Fatalf("4th send in a second: %d %v", st, out)
	}
	e.clock.Advance(time.Second)
	if st, out := e.send(pt, textTo(psid, "RESPONSE", "x")); st != 200 {
		t.Fatalf("a second later: %d %v", st, out)
	}
	e.srv.SetSendRateLimit(0)

	if err := e.srv.FailNext("messages", 2, FaultTemporarySend); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		st, out := e.send(pt, textTo(psid, "RESPONSE", "x"))
		if c, s := graphErr(out); st != 500 || c != 1200 || s != 2018024 || get(out, "error", "is_transient") != true {
			t.Fatalf("faulted send %d: %d %v", i, st, out)
		}
	}
	n, _ := e.srv.Received(e.pageID, psid)
	if st, _ := e.send(pt, textTo(psid, "RESPONSE", "x")); st != 200 {
		t.Fatalf("after the faults: %d", st)
	}
	if m, _ := e.srv.Received(e.pageID, psid); len(m) != len(n)+1 {
		t.Errorf("faulted sends were recorded")
	}
	e.srv.FailNext("me/accounts", 1, FaultServerError)
	if st, out, _ := e.call("GET", "me/accounts", tok(e.login(allScopes)), nil); st != 500 || fst(graphErr(out)) != 2 {
		t.Fatalf("me/accounts fault: %d %v", st, out)
	}
}
