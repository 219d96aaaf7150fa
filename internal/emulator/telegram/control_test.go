package telegram

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// control calls the control API as another process would.
func (e *env) control(method, path string, body any, want int, out any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequestWithContext(e.ctx, method, e.url+ControlPrefix+path, rd)
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %s: %v", method, path, raw, err)
		}
	}
}

// The standalone emulator is driven over HTTP only: a bot, a customer who
// writes, the bot's reply read back, a block, a fault, a group upgrade,
// limits and a foreign webhook.
func TestControlHTTPRoundTrip(t *testing.T) {
	e := newEnv(t)
	var b BotInfo
	e.control("POST", "bots", map[string]any{"username": "shop_bot", "first_name": "Shop"}, 200, &b)
	if !tokenRE.MatchString(b.Token) || b.Username != "shop_bot" {
		t.Fatalf("bot %+v", b)
	}
	e.bot = b
	var m Message
	e.control("POST", "bots/"+b.Token+"/messages", map[string]any{"from": map[string]any{"id": 77, "first_name": "Zoe", "language_code": "ru"}, "text": "привет"}, 200, &m)
	ups := e.updates(nil)
	if len(ups) != 1 || ups[0].Message.Text != "привет" || ups[0].Message.From.ID != 77 {
		t.Fatalf("updates %+v", ups)
	}
	var pending []Update
	e.control("GET", "bots/"+b.Token+"/updates", nil, 200, &pending)
	if len(pending) != 1 {
		t.Fatalf("pending %+v", pending)
	}
	e.call("sendMessage", map[string]any{"chat_id": 77, "text": "Здравствуйте!"}, nil)
	var sent []Message
	e.control("GET", "bots/"+b.Token+"/chats/77/sent?count=1", nil, 200, &sent)
	if len(sent) != 1 || sent[0].Text != "Здравствуйте!" {
		t.Fatalf("sent %+v", sent)
	}
	e.control("GET", "bots/"+b.Token+"/chats/77/sent?count=2&timeout_ms=20", nil, http.StatusRequestTimeout, nil)

	e.control("POST", "bots/"+b.Token+"/users/77/block", map[string]any{"blocked": true}, 200, nil)
	e.fail("sendMessage", map[string]any{"chat_id": 77, "text": "?"}, 403, "Forbidden: bot was blocked by the user")
	e.control("POST", "bots/"+b.Token+"/users/77/block", map[string]any{"blocked": false}, 200, nil)

	e.control("POST", "faults", map[string]any{"method": "getMe", "count": 1, "kind": "500"}, 200, nil)
	e.fail("getMe", nil, 500, "Internal Server Error")

	var photo Message
	e.control("POST", "bots/"+b.Token+"/messages", map[string]any{"from": map[string]any{"id": 77}, "photo": map[string]any{"width": 100, "height": 50}, "caption": "scan"}, 200, &photo)
	if len(photo.Photo) != 2 || photo.Photo[1].Width != 100 {
		t.Fatalf("photo %+v", photo.Photo)
	}
	var edited Message
	e.control("POST", "bots/"+b.Token+"/edits", map[string]any{"chat_id": 77, "message_id": m.MessageID, "text": "привет!"}, 200, &edited)
	if edited.EditDate == 0 {
		t.Fatalf("edit %+v", edited)
	}

	var g, sg Chat
	e.control("POST", "bots/"+b.Token+"/groups", map[string]any{"title": "Team", "members": []int64{77}}, 200, &g)
	e.control("POST", "bots/"+b.Token+"/groups/"+itoa(g.ID)+"/upgrade", nil, 200, &sg)
	r := e.fail("sendMessage", map[string]any{"chat_id": g.ID, "text": "x"}, 400, "Bad Request: group chat was upgraded to a supergroup chat")
	if r.Parameters.MigrateToChatID != sg.ID {
		t.Fatalf("migrate_to_chat_id %d, want %d", r.Parameters.MigrateToChatID, sg.ID)
	}

	var lim RateLimits
	e.control("PUT", "rate-limits", map[string]any{"perChat": 0}, 200, &lim)
	if lim.PerChat != 0 || lim.Global != 30 {
		t.Fatalf("limits %+v", lim)
	}

	e.control("PUT", "bots/"+b.Token+"/foreign", map[string]any{"webhook_url": "https://other.example/tg"}, 200, nil)
	var info WebhookInfo
	e.control("GET", "bots/"+b.Token+"/webhook", nil, 200, &info)
	if info.URL != "https://other.example/tg" {
		t.Fatalf("webhook %+v", info)
	}
	e.control("DELETE", "bots/"+b.Token+"/foreign", nil, 200, nil)

	var calls map[string]int
	e.control("GET", "calls", nil, 200, &calls)
	if calls["sendMessage"] < 3 || calls["getUpdates"] != 1 {
		t.Fatalf("calls %v", calls)
	}

	var errBody map[string]string
	e.control("POST", "bots/1:"+strings.Repeat("x", 35)+"/messages", map[string]any{"text": "x"}, 404, &errBody)
	if errBody["error"] == "" {
		t.Fatalf("error body %v", errBody)
	}
	e.control("POST", "bots/"+b.Token+"/messages", map[string]any{"txt": "typo"}, 400, nil)
	e.control("POST", "bots/"+b.Token+"/messages", map[string]any{"from": map[string]any{"id": 77}}, 400, nil)
	e.control("GET", "nothing-here", nil, 404, nil)
}
