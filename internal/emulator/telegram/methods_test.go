package telegram

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTokensAndMethods(t *testing.T) {
	e := newEnv(t)
	good := e.bot.Token
	for _, tc := range []struct {
		name, path string
		code       int
		desc       string
	}{
		{"unknown bot", "/bot123456:AAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/getMe", 401, "Unauthorized"},
		{"no colon", "/bot123456/getMe", 401, "Unauthorized: invalid token specified"},
		{"leading zero", "/bot0123:abc/getMe", 401, "Unauthorized: invalid token specified"},
		{"id not a number", "/botabc:def/getMe", 401, "Unauthorized: invalid token specified"},
		{"empty token", "/bot/getMe", 404, "Not Found"},
		{"unknown method", "/bot" + good + "/getMee", 404, "Not Found"},
		{"a method we do not emulate", "/bot" + good + "/sendSticker", 404, "Not Found"},
		{"not the API", "/api/bot" + good + "/getMe", 404, "Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.url+tc.path, nil)
			r, _ := e.send(req)
			if r.OK || r.ErrorCode != tc.code || r.Description != tc.desc {
				t.Fatalf("got %+v, want %d %q", r, tc.code, tc.desc)
			}
		})
	}
	var me struct {
		User
		CanJoinGroups bool `json:"can_join_groups"`
	}
	req, _ := http.NewRequest(http.MethodGet, e.url+"/bot"+good+"/GETME", nil) // names match in any case
	r, _ := e.send(req)
	if err := json.Unmarshal(r.Result, &me); err != nil || !me.IsBot || me.ID != e.bot.ID || me.Username != "tandem_support_bot" || !me.CanJoinGroups {
		t.Fatalf("getMe: %s", r.Result)
	}
}

// Parameters arrive as a query string, a form, JSON or multipart.
func TestParameterEncodings(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.RateLimits = &RateLimits{} })
	e.write(ann, "hi")
	path := e.url + "/bot" + e.bot.Token + "/sendMessage"
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	mw.WriteField("chat_id", itoa(ann.ID))
	mw.WriteField("text", "multipart")
	mw.Close()
	for _, tc := range []struct {
		name string
		req  func() *http.Request
		text string
	}{
		{"query", func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, path+"?"+form("chat_id", itoa(ann.ID), "text", "query").Encode(), nil)
			return r
		}, "query"},
		{"form", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, path, strings.NewReader(form("chat_id", itoa(ann.ID), "text", "form").Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, "form"},
		{"json", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, path, strings.NewReader(`{"chat_id":`+itoa(ann.ID)+`,"text":"json","reply_markup":{"inline_keyboard":[[{"text":"Yes","callback_data":"y"}]]}}`))
			r.Header.Set("Content-Type", "application/json; charset=utf-8")
			return r
		}, "json"},
		{"multipart", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, path, bytes.NewReader(mp.Bytes()))
			r.Header.Set("Content-Type", mw.FormDataContentType())
			return r
		}, "multipart"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := e.send(tc.req())
			var m Message
			if !r.OK || json.Unmarshal(r.Result, &m) != nil || m.Text != tc.text || m.Chat.ID != ann.ID || m.From.ID != e.bot.ID {
				t.Fatalf("%+v %s", r, r.Result)
			}
			if tc.name == "json" && !strings.Contains(string(m.ReplyMarkup), "callback_data") {
				t.Fatalf("the inline keyboard was not echoed: %s", r.Result)
			}
		})
	}
	if sent := e.srv.Sent(e.bot.Token, ann.ID); len(sent) != 4 {
		t.Fatalf("%d sent", len(sent))
	}
	bad, _ := http.NewRequest(http.MethodPost, path, strings.NewReader(`{"chat_id":`))
	bad.Header.Set("Content-Type", "application/json")
	if r, _ := e.send(bad); r.ErrorCode != 400 {
		t.Fatalf("broken JSON: %+v", r)
	}
}

func TestSendMessageErrors(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.RateLimits = &RateLimits{} })
	first := e.write(ann, "hello")
	to := func(extra map[string]any) map[string]any {
		args := map[string]any{"chat_id": ann.ID, "text": "ok"}
		for k, v := range extra {
			args[k] = v
		}
		return args
	}
	for _, tc := range []struct {
		name string
		args map[string]any
		code int
		desc string
	}{
		{"empty text", to(map[string]any{"text": ""}), 400, "Bad Request: message text is empty"},
		{"only spaces", to(map[string]any{"text": "  \n "}), 400, "Bad Request: message text is empty"},
		{"empty after HTML", to(map[string]any{"text": "<b></b>", "parse_mode": "HTML"}), 400, "Bad Request: message text is empty"},
		{"too long", to(map[string]any{"text": strings.Repeat("я", 4097)}), 400, "Bad Request: message is too long"},
		{"no chat_id", map[string]any{"text": "x"}, 400, "Bad Request: chat_id is empty"},
		{"unknown chat", to(map[string]any{"chat_id": 424242}), 400, "Bad Request: chat not found"},
		{"username", to(map[string]any{"chat_id": "@annlee"}), 400, "Bad Request: chat not found"},
		{"bad parse_mode", to(map[string]any{"parse_mode": "BBCode"}), 400, "Bad Request: unsupported parse_mode"},
		{"unsupported tag", to(map[string]any{"text": "<foo>x</foo>", "parse_mode": "HTML"}), 400, `Bad Request: can't parse entities: Unsupported start tag "foo" at byte offset 0`},
		{"unclosed tag", to(map[string]any{"text": "a <b>bold", "parse_mode": "HTML"}), 400, `Bad Request: can't parse entities: Can't find end tag corresponding to start tag "b"`},
		{"unmatched tag", to(map[string]any{"text": "<b>x</i>", "parse_mode": "HTML"}), 400, `Bad Request: can't parse entities: Unmatched end tag at byte offset 4, expected "</b>", found "</i>"`},
		{"markdownv2 reserved", to(map[string]any{"text": "1.5", "parse_mode": "MarkdownV2"}), 400, `Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\'`},
		{"reply not found", to(map[string]any{"reply_parameters": map[string]any{"message_id": 999}}), 400, "Bad Request: message to be replied not found"},
		{"bad reply markup", to(map[string]any{"reply_markup": "{"}), 400, "Bad Request: can't parse reply keyboard markup JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) { e.fail("sendMessage", tc.args, tc.code, tc.desc) })
	}
	var m Message
	e.call("sendMessage", to(map[string]any{"text": strings.Repeat("я", 4096), "reply_parameters": map[string]any{"message_id": first.MessageID}}), &m)
	if m.ReplyToMessage == nil || m.ReplyToMessage.Text != "hello" || m.MessageID != first.MessageID+1 {
		t.Fatalf("reply: %+v", m.ReplyToMessage)
	}
	var m2 Message
	e.call("sendMessage", to(map[string]any{"reply_parameters": map[string]any{"message_id": 999, "allow_sending_without_reply": true}}), &m2)
	if m2.ReplyToMessage != nil {
		t.Fatal("allow_sending_without_reply still replied")
	}
	e.call("sendChatAction", map[string]any{"chat_id": ann.ID, "action": "typing"}, nil)
	e.fail("sendChatAction", map[string]any{"chat_id": ann.ID, "action": "dancing"}, 400, "Bad Request: wrong parameter action in request")
	var chatInfo map[string]any
	e.call("getChat", map[string]any{"chat_id": ann.ID}, &chatInfo)
	if chatInfo["type"] != "private" || chatInfo["first_name"] != "Ann" || chatInfo["max_reaction_count"] == nil {
		t.Fatalf("getChat: %v", chatInfo)
	}
}

// 429 with retry_after when the bot sends faster than a chat or the
// whole bot may.
func TestRateLimits(t *testing.T) {
	e := newEnv(t)
	e.write(ann, "hi")
	send := func() Response {
		r, _ := e.do(e.bot.Token, "sendMessage", map[string]any{"chat_id": ann.ID, "text": "reply"})
		return r
	}
	for i := range 3 { // the burst
		if r := send(); !r.OK {
			t.Fatalf("send %d: %+v", i, r)
		}
	}
	r, resp := e.do(e.bot.Token, "sendMessage", map[string]any{"chat_id": ann.ID, "text": "reply"})
	if r.OK || r.ErrorCode != 429 || r.Description != "Too Many Requests: retry after 1" || r.Parameters == nil ||
		r.Parameters.RetryAfter != 1 || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("4th send at once: %+v %+v", r, r.Parameters)
	}
	e.clock.Advance(time.Second)
	if r := send(); !r.OK {
		t.Fatalf("a second later: %+v", r)
	}
	if n := len(e.srv.Sent(e.bot.Token, ann.ID)); n != 4 {
		t.Fatalf("%d messages went out, want 4 (the refused one is not sent)", n)
	}

	// Overall: 30 a second across chats.
	e.srv.SetRateLimits(RateLimits{Global: 30, GlobalBurst: 30})
	for i := range 31 {
		u := User{ID: int64(3000 + i), FirstName: "C"}
		e.write(u, "hi")
		r, _ := e.do(e.bot.Token, "sendMessage", map[string]any{"chat_id": u.ID, "text": "reply"})
		if i < 30 && !r.OK || i == 30 && r.ErrorCode != 429 {
			t.Fatalf("send %d overall: %+v", i, r)
		}
	}

	// A group: 20 a minute.
	e.srv.SetRateLimits(RateLimits{PerGroupPerMinute: 20})
	g, err := e.srv.CreateGroup(e.bot.Token, "Support", ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if r, _ := e.do(e.bot.Token, "sendMessage", map[string]any{"chat_id": g.ID, "text": "x"}); !r.OK {
			t.Fatalf("group send %d: %+v", i, r)
		}
	}
	r, _ = e.do(e.bot.Token, "sendMessage", map[string]any{"chat_id": g.ID, "text": "x"})
	if r.ErrorCode != 429 || r.Parameters.RetryAfter != 3 {
		t.Fatalf("21st group send: %+v %+v", r, r.Parameters)
	}
}

func TestBlockedUser(t *testing.T) {
	e := newEnv(t)
	e.write(ann, "hi")
	if err := e.srv.Block(e.bot.Token, ann.ID, true); err != nil {
		t.Fatal(err)
	}
	e.fail("sendMessage", map[string]any{"chat_id": ann.ID, "text": "anyone?"}, 403, "Forbidden: bot was blocked by the user")
	e.fail("sendChatAction", map[string]any{"chat_id": ann.ID, "action": "typing"}, 403, "Forbidden: bot was blocked by the user")
	ups := e.updates(nil)
	if len(ups) != 2 || ups[1].MyChatMember == nil || ups[1].MyChatMember.NewChatMember.Status != "kicked" ||
		ups[1].MyChatMember.OldChatMember.Status != "member" || ups[1].MyChatMember.NewChatMember.User.ID != e.bot.ID {
		t.Fatalf("updates: %+v", ups)
	}
	// Writing again restarts the bot.
	e.write(ann, "I'm back")
	ups = e.updates(map[string]any{"offset": ups[1].UpdateID + 1})
	if len(ups) != 2 || ups[0].MyChatMember == nil || ups[0].MyChatMember.NewChatMember.Status != "member" || ups[1].Message.Text != "I'm back" {
		t.Fatalf("after writing again: %+v", ups)
	}
	e.call("sendMessage", map[string]any{"chat_id": ann.ID, "text": "welcome back"}, nil)
	// A user the bot only met in a group cannot be written to first.
	g, _ := e.srv.CreateGroup(e.bot.Token, "Team", ann.ID)
	if _, err := e.srv.Write(e.bot.Token, Incoming{From: bob, ChatID: g.ID, Text: "/help"}); err != nil {
		t.Fatal(err)
	}
	e.fail("sendMessage", map[string]any{"chat_id": bob.ID, "text": "psst"}, 403, "Forbidden: bot can't initiate conversation with a user")
}

func TestGroupUpgradeMigrates(t *testing.T) {
	e := newEnv(t)
	for _, u := range []User{ann, bob} {
		if _, err := e.srv.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	g, err := e.srv.CreateGroup(e.bot.Token, "Customers", ann.ID, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g.ID >= 0 || g.Type != "group" {
		t.Fatalf("group %+v", g)
	}
	// Privacy mode: plain chatter is not delivered, commands and mentions are.
	for _, text := range []string{"chatter", "/price", "hey @tandem_support_bot"} {
		if _, err := e.srv.Write(e.bot.Token, Incoming{From: bob, ChatID: g.ID, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	sg, err := e.srv.UpgradeGroup(e.bot.Token, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(itoa(sg.ID), "-100") || sg.Type != "supergroup" {
		t.Fatalf("supergroup %+v", sg)
	}
	r := e.fail("sendMessage", map[string]any{"chat_id": g.ID, "text": "hello"}, 400, "Bad Request: group chat was upgraded to a supergroup chat")
	if r.Parameters == nil || r.Parameters.MigrateToChatID != sg.ID {
		t.Fatalf("parameters %+v", r.Parameters)
	}
	e.call("sendMessage", map[string]any{"chat_id": sg.ID, "text": "hello"}, nil)
	var texts []string
	var to, from int64
	for _, u := range e.updates(nil) {
		switch {
		case u.MyChatMember != nil:
			texts = append(texts, "member:"+u.MyChatMember.NewChatMember.Status)
		case u.Message.GroupChatCreated:
			texts = append(texts, "created")
		case u.Message.MigrateToChatID != 0:
			to = u.Message.MigrateToChatID
		case u.Message.MigrateFromChatID != 0:
			from = u.Message.MigrateFromChatID
		default:
			texts = append(texts, u.Message.Text)
		}
	}
	if strings.Join(texts, "|") != "member:member|created|/price|hey @tandem_support_bot" || to != sg.ID || from != g.ID {
		t.Fatalf("updates %q, migrate_to %d, migrate_from %d", texts, to, from)
	}
}

func pngBytes(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(1, 1, color.White)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFiles(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.RateLimits = &RateLimits{} })
	pic := pngBytes(t, 1000, 20)
	pm, err := e.srv.Write(e.bot.Token, Incoming{From: ann, Photo: &Upload{Data: pic}, Caption: "my receipt"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pm.Photo); n != 4 || pm.Photo[3].Width != 1000 || pm.Photo[0].Width != 90 || pm.Caption != "my receipt" {
		t.Fatalf("photo sizes %+v", pm.Photo)
	}
	dm, err := e.srv.Write(e.bot.Token, Incoming{From: ann, Document: &Upload{FileName: "contract.pdf", Data: []byte("%PDF-1.4 …")}})
	if err != nil {
		t.Fatal(err)
	}
	if dm.Document.MimeType != "application/pdf" || dm.Document.FileSize != len("%PDF-1.4 …") {
		t.Fatalf("document %+v", dm.Document)
	}
	download := func(fileID string) []byte {
		var f File
		e.call("getFile", map[string]any{"file_id": fileID}, &f)
		resp, err := http.Get(e.url + "/file/bot" + e.bot.Token + "/" + f.FilePath)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("download %s: %d %s", f.FilePath, resp.StatusCode, data)
		}
		return data
	}
	if !bytes.Equal(download(pm.Photo[3].FileID), pic) || string(download(dm.Document.FileID)) != "%PDF-1.4 …" {
		t.Fatal("downloads differ from uploads")
	}
	e.fail("getFile", map[string]any{"file_id": "nope"}, 400, "Bad Request: invalid file_id")
	if resp, err := http.Get(e.url + "/file/bot" + e.bot.Token + "/photos/missing.jpg"); err != nil || resp.StatusCode != 404 {
		t.Fatalf("missing file: %v %v", resp, err)
	}

	// The bot sends a photo by upload and again by file_id, and a document.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("chat_id", itoa(ann.ID))
	mw.WriteField("caption", "<i>here</i>")
	mw.WriteField("parse_mode", "HTML")
	fw, _ := mw.CreateFormFile("photo", "reply.png")
	fw.Write(pngBytes(t, 200, 100))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/bot"+e.bot.Token+"/sendPhoto", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	r, _ := e.send(req)
	var sent Message
	if !r.OK || json.Unmarshal(r.Result, &sent) != nil || len(sent.Photo) != 2 || sent.Caption != "here" || sent.CaptionEntities[0].Type != "italic" {
		t.Fatalf("sendPhoto upload: %+v %s", r, r.Result)
	}
	var again Message
	e.call("sendPhoto", map[string]any{"chat_id": ann.ID, "photo": pm.Photo[3].FileID}, &again)
	if again.Photo[len(again.Photo)-1].FileID != pm.Photo[3].FileID {
		t.Fatalf("sendPhoto by file_id: %+v", again.Photo)
	}
	var doc Message
	e.call("sendDocument", map[string]any{"chat_id": ann.ID, "document": dm.Document.FileID}, &doc)
	if doc.Document == nil || doc.Document.FileName != "contract.pdf" {
		t.Fatalf("sendDocument: %+v", doc)
	}
	e.fail("sendPhoto", map[string]any{"chat_id": ann.ID, "photo": dm.Document.FileID}, 400, "Bad Request: type of file mismatch")
	e.fail("sendPhoto", map[string]any{"chat_id": ann.ID, "photo": "AgACunknown"}, 400, "Bad Request: wrong file identifier/HTTP URL specified")
	e.fail("sendDocument", map[string]any{"chat_id": ann.ID}, 400, "Bad Request: there is no document in the request")
	if n := len(e.srv.Sent(e.bot.Token, ann.ID)); n != 3 {
		t.Fatalf("%d sent", n)
	}
}

func TestFaults(t *testing.T) {
	e := newEnv(t)
	e.write(ann, "hi")
	e.srv.Faults().FailNext("sendMessage", 1, Fault500)
	e.srv.Faults().FailNext("sendmessage", 1, Fault502)
	e.srv.Faults().FailNext("", 1, Fault429)
	args := map[string]any{"chat_id": ann.ID, "text": "x"}
	e.fail("sendMessage", args, 500, "Internal Server Error")
	e.fail("getMe", nil, 429, "Too Many Requests: retry after 5") // the method-less fault waited behind the others
	resp, err := http.Post(e.url+"/bot"+e.bot.Token+"/sendMessage", "application/json", strings.NewReader(`{"chat_id":1001,"text":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 502 || !strings.Contains(string(page), "502 Bad Gateway") {
		t.Fatalf("502: %d %q", resp.StatusCode, page)
	}
	e.call("sendMessage", args, nil)
	if e.srv.Faults().Pending() != 0 || e.srv.Faults().Injected()[Fault502] != 1 {
		t.Fatalf("faults: %d pending, %v", e.srv.Faults().Pending(), e.srv.Faults().Injected())
	}
}

// Another program using the token: its polls end Tandem's with 409 and
// take the updates; its webhook blocks getUpdates and shows in
// getWebhookInfo.
func TestTokenUsedElsewhere(t *testing.T) {
	e := newEnv(t)
	done := make(chan Response, 1)
	go func() {
		r, _ := e.do(e.bot.Token, "getUpdates", map[string]any{"timeout": 50})
		done <- r
	}()
	if err := e.srv.WaitPolling(e.ctx, e.bot.Token); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.ForeignPoll(e.bot.Token); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.ErrorCode != 409 || !strings.HasPrefix(r.Description, "Conflict: terminated by other getUpdates request") {
		t.Fatalf("Tandem's poll: %+v", r)
	}
	e.write(ann, "to whom?")
	if ups := e.updates(nil); len(ups) != 0 || e.srv.ForeignReceived(e.bot.Token) != 1 {
		t.Fatalf("the other poller did not take the update: %v, %d", ids(ups), e.srv.ForeignReceived(e.bot.Token))
	}
	if err := e.srv.StopForeign(e.bot.Token); err != nil {
		t.Fatal(err)
	}

	if err := e.srv.SetForeignWebhook(e.bot.Token, "https://elsewhere.example/hook"); err != nil {
		t.Fatal(err)
	}
	if info := e.webhookInfo(); info.URL != "https://elsewhere.example/hook" {
		t.Fatalf("getWebhookInfo: %+v", info)
	}
	e.fail("getUpdates", nil, 409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
	e.write(ann, "lost")
	if e.srv.ForeignReceived(e.bot.Token) != 2 {
		t.Fatalf("foreign received %d", e.srv.ForeignReceived(e.bot.Token))
	}
	e.call("deleteWebhook", nil, nil)
	e.write(ann, "mine")
	if ups := e.updates(nil); len(ups) != 1 || ups[0].Message.Text != "mine" {
		t.Fatalf("after taking the token back: %+v", ups)
	}
}
