package messenger

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// ctl calls the control API and decodes the JSON answer.
func ctl(t *testing.T, base, method, path string, in any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if in != nil {
		raw, _ := json.Marshal(in)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, base+AdminPrefix+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func ctlOK(t *testing.T, base, method, path string, in any) map[string]any {
	t.Helper()
	st, out := ctl(t, base, method, path, in)
	if st != 200 {
		t.Fatalf("%s %s: %d %v", method, path, st, out)
	}
	return out
}

// TestStandaloneControlRoundTrip drives a started emulator over HTTP only,
// as `tandem emulator messenger` is used: seed, log in, subscribe, play a
// customer, answer, read what the customer received.
func TestStandaloneControlRoundTrip(t *testing.T) {
	srv := New(Options{Seed: 3, AllowHTTPCallbacks: true, RetryBackoff: 5 * time.Millisecond})
	base, err := srv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	app := ctlOK(t, base, "POST", "apps", map[string]any{"name": "Tandem", "human_agent": true, "redirect_uris": []string{redirectURI}})
	appID, secret := app["id"].(string), app["secret"].(string)
	user := ctlOK(t, base, "POST", "users", map[string]any{"name": "Anna"})["id"].(string)
	pageID := ctlOK(t, base, "POST", "pages", map[string]any{"name": "Demo Shop", "admins": []string{user}})["id"].(string)
	psid := ctlOK(t, base, "POST", "customers", map[string]any{"page": pageID, "name": "Carla"})["psid"].(string)
	ctlOK(t, base, "POST", "auto-approve", map[string]any{"user": user})
	if st, out := ctl(t, base, "POST", "pages", map[string]any{"name": "x", "admins": []string{"999"}}); st != 404 || out["error"] == nil {
		t.Fatalf("unknown admin: %d %v", st, out)
	}
	if st, _ := ctl(t, base, "GET", "nothing", nil); st != 404 {
		t.Fatalf("unknown endpoint: %d", st)
	}
	if resp, err := http.Get(base + "/"); err != nil {
		t.Fatal(err)
	} else {
		index, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(index), "page "+pageID+"  Demo Shop") || !strings.Contains(string(index), appID+"  Tandem") {
			t.Fatalf("index page %s", index)
		}
	}

	// Facebook Login through the Graph endpoints.
	e := &env{t: t, srv: srv, url: base, ctx: ctx, app: AppConfig{ID: appID, Secret: secret}, userID: user, pageID: pageID}
	loc := e.dialog(url.Values{"scope": {allScopes}})
	ut := e.exchange(loc.Query().Get("code"), redirectURI)
	_, long, _ := e.call("GET", "oauth/access_token", url.Values{"grant_type": {"fb_exchange_token"}, "client_id": {appID},
		"client_secret": {secret}, "fb_exchange_token": {ut}}, nil)
	_, acc, _ := e.call("GET", "me/accounts", tok(long["access_token"].(string)), nil)
	pt := acc["data"].([]any)[0].(map[string]any)["access_token"].(string)

	r := newReceiver(t)
	st, body, _ := e.call("POST", appID+"/subscriptions", tok(appID+"|"+secret), url.Values{"object": {"page"},
		"callback_url": {r.url()}, "verify_token": {r.verifyToken}, "fields": {"messages,message_echoes"}})
	if st != 200 {
		t.Fatalf("subscriptions: %d %v", st, body)
	}
	if st, body, _ := e.call("POST", pageID+"/subscribed_apps", url.Values{"access_token": {pt}, "subscribed_fields": {"messages,message_echoes"}}, nil); st != 200 {
		t.Fatalf("subscribed_apps: %d %v", st, body)
	}

	// The customer writes; the webhook gets it.
	mids := ctlOK(t, base, "POST", "customers/messages", map[string]any{"page": pageID, "psid": psid, "text": "Hallo ä",
		"attachments": []map[string]string{{"type": "image", "url": "https://x.test/p.jpg"}}})["mids"].([]any)
	it, _ := r.nextItem(ctx)
	if get(it, "message", "mid") != mids[0] || get(it, "message", "text") != "Hallo ä" {
		t.Fatalf("delivered %v", it)
	}
	if atts, _ := get(it, "message", "attachments").([]any); len(atts) != 1 || get(atts[0].(map[string]any), "payload", "url") != "https://x.test/p.jpg" {
		t.Fatalf("attachments %v", it)
	}

	// Nothing received yet: waiting for message 0 times out with 408.
	if st, _ := ctl(t, base, "GET", "customers/next?"+url.Values{"page": {pageID}, "psid": {psid}, "index": {"0"}, "timeout": {"20ms"}}.Encode(), nil); st != 408 {
		t.Fatalf("next before any send: %d", st)
	}
	// The page answers through the Send API; the control API sees it.
	waited := make(chan map[string]any, 1)
	go func() {
		var out map[string]any
		resp, err := http.Get(base + AdminPrefix + "customers/next?" + url.Values{"page": {pageID}, "psid": {psid}, "index": {"0"}}.Encode())
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
		}
		waited <- out
	}()
	st, sent := e.send(pt, textTo(psid, "RESPONSE", "Hi Carla"))
	if st != 200 {
		t.Fatalf("send: %d %v", st, sent)
	}
	if got := <-waited; got["mid"] != sent["message_id"] || got["text"] != "Hi Carla" || got["app_id"] != appID {
		t.Fatalf("customers/next %v, sent %v", got, sent)
	}
	if rec := ctlOK(t, base, "GET", "customers/received?"+url.Values{"page": {pageID}, "psid": {psid}}.Encode(), nil); len(rec["messages"].([]any)) != 1 {
		t.Fatalf("received %v", rec)
	}
	if stats := ctlOK(t, base, "POST", "deliveries/wait?timeout=5s", nil); stats["delivered"] != float64(2) || stats["pending"] != float64(0) {
		t.Fatalf("stats %v", stats)
	}
	if log := ctlOK(t, base, "GET", "deliveries/log", nil); !strings.Contains(log["deliveries"].([]any)[0].(map[string]any)["body"].(string), `Hallo \u00e4`) {
		t.Fatalf("log %v", log)
	}

	// Faults, the clock and the window over HTTP.
	ctlOK(t, base, "POST", "faults", map[string]any{"path": "messages", "n": 1, "kind": "1200"})
	if st, out := e.send(pt, textTo(psid, "RESPONSE", "x")); st != 500 || fst(graphErr(out)) != 1200 {
		t.Fatalf("faulted send: %d %v", st, out)
	}
	ctlOK(t, base, "POST", "clock/advance", map[string]any{"duration": "25h"})
	if st, out := e.send(pt, textTo(psid, "RESPONSE", "late")); st != 400 || fst(graphErr(out)) != 10 {
		t.Fatalf("send after 25 h: %d %v", st, out)
	}
	human := textTo(psid, "MESSAGE_TAG", "an agent")
	human["tag"] = "HUMAN_AGENT"
	if st, out := e.send(pt, human); st != 200 {
		t.Fatalf("human agent send: %d %v", st, out)
	}

	// Act as an external bot over HTTP: roles, sends, handover.
	bot := ctlOK(t, base, "POST", "apps", map[string]any{"name": "Bot"})["id"].(string)
	ctlOK(t, base, "PUT", "handover", map[string]any{"page": pageID, "primary": bot, "secondary": []string{appID}})
	ctlOK(t, base, "POST", "customers/messages", map[string]any{"page": pageID, "psid": psid, "messages": []map[string]string{{"text": "bot?"}}})
	if owner := ctlOK(t, base, "GET", "thread-owner?"+url.Values{"page": {pageID}, "psid": {psid}}.Encode(), nil); owner["app_id"] != bot {
		t.Fatalf("owner %v", owner)
	}
	if out := ctlOK(t, base, "POST", "send", map[string]any{"page": pageID, "app": bot, "recipient": map[string]string{"id": psid},
		"messaging_type": "RESPONSE", "message": map[string]string{"text": "I am the bot"}}); out["message_id"] == nil {
		t.Fatalf("bot send %v", out)
	}
	if st, out := ctl(t, base, "POST", "send", map[string]any{"page": pageID, "app": appID, "recipient": map[string]string{"id": psid},
		"messaging_type": "RESPONSE", "message": map[string]string{"text": "me too"}}); st != 400 || fst(graphErr(out)) != 10 {
		t.Fatalf("send as the secondary: %d %v", st, out)
	}
	ctlOK(t, base, "POST", "handover/pass_thread_control", map[string]any{"page": pageID, "app": bot, "psid": psid, "target_app_id": appID})
	if st, out := e.send(pt, textTo(psid, "RESPONSE", "operator")); st != 200 {
		t.Fatalf("send after pass: %d %v", st, out)
	}
	if counts := ctlOK(t, base, "GET", "requests", nil); counts["POST /me/messages"] == nil {
		t.Fatalf("request counts %v", counts)
	}
}
