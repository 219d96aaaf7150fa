package telegram_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/chat/telegram"
	tgemu "github.com/tandem-crm/tandem/internal/emulator/telegram"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// env is a running Tandem with a Telegram emulator and one bot.
type env struct {
	srv   *tandemtest.Server
	emu   *tgemu.Server
	bot   tgemu.BotInfo
	queue *store.ChatQueue
	admin access.Viewer
	ctx   context.Context
}

func start(t *testing.T, pg, webhook bool) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	e := &env{ctx: ctx}
	e.srv = tandemtest.Start(t, tandemtest.Options{Postgres: pg})
	e.emu = tgemu.New(tgemu.Options{AllowInsecureWebhooks: true, Seed: 1})
	base, err := e.emu.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.emu.Close() })
	if e.bot, err = e.emu.CreateBot(tgemu.BotInfo{Username: "shop_bot", FirstName: "Shop"}); err != nil {
		t.Fatal(err)
	}
	set := e.srv.App.Settings
	if err := set.Put(ctx, "TelegramApiUrl", base, ""); err != nil {
		t.Fatal(err)
	}
	if webhook {
		if err := set.Put(ctx, "SiteUrl", e.srv.URL, ""); err != nil {
			t.Fatal(err)
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

// waitChat waits for the customer's open chat to have n messages, woken
// by the chat events.
func (e *env) waitChat(t *testing.T, events <-chan chat.Event, ch *chat.Channel, customer int64, n int) *store.Chat {
	t.Helper()
	st := e.srv.App.Store
	for {
		c, err := st.OpenChatAt(e.ctx, ch.ID, strconv.FormatInt(customer, 10))
		if err == nil {
			ms, err := st.ChatMessages(e.ctx, c.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			in := 0
			for _, m := range ms {
				if m.Direction == "in" {
					in++
				}
			}
			// The customer's contact follows the message (the router
			// makes it): wait for both.
			if in >= n && c.ContactID != "" {
				return c
			}
		}
		select {
		case <-events:
		case <-e.ctx.Done():
			t.Fatalf("chat of %d never got %d messages", customer, n)
		}
	}
}

func TestTelegramChannel(t *testing.T) {
	for _, tc := range []struct {
		name        string
		pg, webhook bool
	}{{"sqlite/webhook", false, true}, {"sqlite/polling", false, false}, {"postgres/webhook", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, tc.pg, tc.webhook)
			app := e.srv.App
			events, unsub := app.ChatBus.Subscribe()
			defer unsub()
			if _, err := app.Telegram.Connect(e.ctx, "1:bad", e.queue.ID, e.admin.UserID); !errors.Is(err, telegram.ErrBadToken) {
				t.Fatalf("bad token: %v", err)
			}
			ch, err := app.Telegram.Connect(e.ctx, e.bot.Token, e.queue.ID, e.admin.UserID)
			if err != nil {
				t.Fatal(err)
			}
			if ch.Name != "@shop_bot" || ch.ExternalID != strconv.FormatInt(e.bot.ID, 10) {
				t.Fatalf("channel %q %q", ch.Name, ch.ExternalID)
			}
			if _, err := app.Telegram.Connect(e.ctx, e.bot.Token, e.queue.ID, e.admin.UserID); !errors.Is(err, store.ErrDuplicate) {
				t.Fatalf("same bot twice: %v", err)
			}

			ann := tgemu.User{ID: 5551, FirstName: "Ann", LastName: "Lee", Username: "annlee"}
			if _, err := e.emu.Write(e.bot.Token, tgemu.Incoming{From: ann, Text: "Hello, is my order shipped?"}); err != nil {
				t.Fatal(err)
			}
			c := e.waitChat(t, events, ch, ann.ID, 1)
			if c.Status != store.ChatQueued || c.CustomerName != "Ann Lee" || c.ContactID == "" {
				t.Fatalf("chat %+v", c)
			}
			contact, err := app.Store.GetContact(e.ctx, e.admin, c.ContactID)
			if err != nil || contact.Name != "Ann Lee" {
				t.Fatalf("customer contact %v %v", contact, err)
			}
			if err := app.Chat.Accept(e.ctx, e.admin, c.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := app.Chat.Reply(e.ctx, e.admin, c.ID, "Yes, it left today."); err != nil {
				t.Fatal(err)
			}
			sent, err := e.emu.WaitSent(e.ctx, e.bot.Token, ann.ID, 1)
			if err != nil {
				t.Fatal(err)
			}
			if sent[0].Text != "Yes, it left today." {
				t.Fatalf("customer got %q", sent[0].Text)
			}
			// The customer answers in the same chat, and is the same contact.
			if _, err := e.emu.Write(e.bot.Token, tgemu.Incoming{From: ann, Text: "Thanks!"}); err != nil {
				t.Fatal(err)
			}
			if got := e.waitChat(t, events, ch, ann.ID, 2); got.ID != c.ID {
				t.Fatal("the answer opened another chat")
			}
			// A customer who blocked the bot: the reply fails with a reason
			// and stays in the history.
			if err := e.emu.Block(e.bot.Token, ann.ID, true); err != nil {
				t.Fatal(err)
			}
			_, err = app.Chat.Reply(e.ctx, e.admin, c.ID, "Anything else?")
			var se *chat.SendError
			if !errors.As(err, &se) || se.Code != "blocked" {
				t.Fatalf("reply to a blocked bot: %v", err)
			}
		})
	}
}

func TestTelegramHookRefusesWrongSecret(t *testing.T) {
	e := start(t, false, true)
	app := e.srv.App
	ch, err := app.Telegram.Connect(e.ctx, e.bot.Token, e.queue.ID, e.admin.UserID)
	if err != nil {
		t.Fatal(err)
	}
	update := `{"update_id":900,"message":{"message_id":1,"date":1700000000,"chat":{"id":77,"type":"private"},"from":{"id":77,"first_name":"Eve"},"text":"hi"}}`
	post := func(secret, body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+telegram.HookPrefix+ch.ID, bytes.NewBufferString(body))
		if secret != "" {
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, secret := range []string{"", "wrong-secret"} {
		if code := post(secret, update); code != http.StatusUnauthorized {
			t.Fatalf("secret %q: %d, want 401", secret, code)
		}
	}
	if _, err := app.Store.OpenChatAt(e.ctx, ch.ID, "77"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused delivery was stored: %v", err)
	}
	// The real secret: malformed updates are acknowledged and skipped,
	// a duplicate delivery is stored once.
	var sec struct {
		WebhookSecret string `json:"webhook_secret"`
	}
	full, err := app.Chat.Channel(e.ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(full.Secret, &sec); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{not json`, `{"update_id":"x"}`, `{"update_id":901,"message":{"chat":{"id":-5,"type":"group"},"from":{"id":1},"text":"x"}}`} {
		if code := post(sec.WebhookSecret, body); code != http.StatusOK {
			t.Fatalf("malformed %q: %d, want 200 (skipped)", body, code)
		}
	}
	for range 2 {
		if code := post(sec.WebhookSecret, update); code != http.StatusOK {
			t.Fatalf("delivery: %d", code)
		}
	}
	c, err := app.Store.OpenChatAt(e.ctx, ch.ID, "77")
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := app.Store.ChatMessages(e.ctx, c.ID, "")
	if len(ms) != 1 {
		t.Fatalf("%d messages after a duplicate delivery", len(ms))
	}
}

func TestTelegramTokenUsedElsewhere(t *testing.T) {
	e := start(t, false, false)
	app := e.srv.App
	ch, err := app.Telegram.Connect(e.ctx, e.bot.Token, e.queue.ID, e.admin.UserID)
	if err != nil {
		t.Fatal(err)
	}
	events, unsub := app.ChatBus.Subscribe()
	defer unsub()
	// Tandem polls the bot (no SiteUrl); another program starts polling too.
	if err := e.emu.WaitPolling(e.ctx, e.bot.Token); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.StartForeignPoller(e.bot.Token, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	defer e.emu.StopForeign(e.bot.Token)
	for {
		c, err := app.Store.ChatChannel(e.ctx, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Health == "broken" {
			if c.HealthReason == "" {
				t.Fatal("broken without a reason")
			}
			break
		}
		select {
		case <-events:
		case <-e.ctx.Done():
			t.Fatal("a token polled by another program never broke the channel")
		}
	}
}

// Setting SiteUrl while a bot is polled moves it to the webhook, without
// mistaking the 409 that ends the last poll for another program.
func TestTelegramPollingToWebhook(t *testing.T) {
	e := start(t, false, false)
	app := e.srv.App
	ch, err := app.Telegram.Connect(e.ctx, e.bot.Token, e.queue.ID, e.admin.UserID)
	if err != nil {
		t.Fatal(err)
	}
	events, unsub := app.ChatBus.Subscribe()
	defer unsub()
	if err := e.emu.WaitPolling(e.ctx, e.bot.Token); err != nil {
		t.Fatal(err)
	}
	if err := app.Settings.Put(e.ctx, "SiteUrl", e.srv.URL, ""); err != nil {
		t.Fatal(err)
	}
	bob := tgemu.User{ID: 6061, FirstName: "Bob"}
	// Until the webhook is set, a message may still be polled: write one
	// after another until one arrives through the webhook.
	for i := 0; ; i++ {
		if _, err := e.emu.Write(e.bot.Token, tgemu.Incoming{From: bob, Text: "ping " + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
		e.waitChat(t, events, ch, bob.ID, i+1)
		delivered := false
		for _, at := range e.emu.WebhookLog(e.bot.Token) {
			delivered = delivered || at.Status == http.StatusOK
		}
		if delivered {
			break
		}
		select {
		case <-e.ctx.Done():
			t.Fatal("the bot never moved to the webhook")
		case <-time.After(500 * time.Millisecond):
		}
	}
	c, err := app.Store.ChatChannel(e.ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Health != "ok" {
		t.Fatalf("channel %s (%s) after moving to the webhook", c.Health, c.HealthReason)
	}
}
