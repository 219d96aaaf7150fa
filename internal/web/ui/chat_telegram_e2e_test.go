package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandem-crm/tandem/internal/chat"
	tgemu "github.com/tandem-crm/tandem/internal/emulator/telegram"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// TestBrowserTelegramChat is a chat end to end through the real Telegram
// channel: a customer writes to the bot in the Telegram emulator, which
// posts the update to Tandem's webhook; the "least busy" queue offers the
// chat to the operator, who accepts it in the panel in Chromium and
// replies; the customer's Telegram receives the reply. Then the queue's
// completion timeout passes (on the emulator's clock, which dates the
// customer's messages) and the customer's next message opens a new chat,
// offered again.
func TestBrowserTelegramChat(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := tandemtest.Start(t, tandemtest.Options{})
	clock := testenv.NewClock(time.Now().UTC())
	emu := tgemu.New(tgemu.Options{AllowInsecureWebhooks: true, Now: clock.Now, Seed: 7})
	base, err := emu.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	bot, err := emu.CreateBot(tgemu.BotInfo{Username: "shop_bot", FirstName: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	for code, v := range map[string]string{"TelegramApiUrl": base, "SiteUrl": s.URL} {
		if err := s.App.Settings.Put(ctx, code, v, ""); err != nil {
			t.Fatal(err)
		}
	}
	s.Admin.JSON(t, "POST", "/api/v1/users", map[string]any{"email": "olga@example.com", "name": "Olga Operator",
		"password": "user-password-1", "time_zone": "UTC", "language": "en", "role_ids": []string{}}, http.StatusCreated, nil)
	olga := s.Login(t, "olga@example.com", "user-password-1")
	q := &store.ChatQueue{Name: "Support", Routing: string(chat.RoutingLeastBusy), CompletionMinutes: 10,
		Members: []store.ChatQueueMember{{Kind: "user", ID: olga.UserID}}}
	if err := s.App.Chat.SaveQueue(ctx, q); err != nil {
		t.Fatal(err)
	}
	ch, err := s.App.Telegram.Connect(ctx, bot.Token, q.ID, olga.UserID)
	if err != nil {
		t.Fatal(err)
	}

	chrome := newChrome(t, 100*time.Second)
	step := stepper(t, chrome)
	step("sign in", signIn(s.URL, "olga@example.com", "user-password-1")...)
	step("open the panel",
		chromedp.Click(chromedp.CSS(`nav a[href="/chats"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-chat-section="offered"]`)),
		chromedp.WaitReady(chromedp.CSS(`[data-chat-panel][data-chat-live]`)),
	)

	ivan := tgemu.User{ID: 4401, FirstName: "Ivan", LastName: "Petrov", Username: "ivanp"}
	if _, err := emu.Write(bot.Token, tgemu.Incoming{From: ivan, Text: "Where is my parcel?"}); err != nil {
		t.Fatal(err)
	}
	first := waitOpenChat(ctx, t, s, ch.ID, ivan.ID, "")
	step("the chat is offered live",
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`!!document.querySelector('[data-chat-section="offered"] [data-chat-accept=%q]')`, first),
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	submit := func(what, sel string) {
		t.Helper()
		resp, err := chromedp.RunResponse(chrome, chromedp.Click(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.Status != http.StatusOK {
			t.Fatalf("%s: status %d at %s", what, resp.Status, resp.URL)
		}
	}
	submit("accept", fmt.Sprintf(`[data-chat-accept=%q]`, first))
	step("the chat opens", chromedp.WaitVisible(chromedp.ID("chat-text")))
	step("type a reply", chromedp.SendKeys(chromedp.ID("chat-text"), "It left the warehouse today."))
	submit("send", `[data-chat-send]`)
	sent, err := emu.WaitSent(ctx, bot.Token, ivan.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if sent[0].Text != "It left the warehouse today." {
		t.Fatalf("Ivan's Telegram got %q", sent[0].Text)
	}

	// The completion timeout (10 minutes after the last reply) passes
	// before Ivan writes again: a new chat, offered to Olga again.
	clock.Advance(11 * time.Minute)
	if _, err := emu.Write(bot.Token, tgemu.Incoming{From: ivan, Text: "One more question"}); err != nil {
		t.Fatal(err)
	}
	second := waitOpenChat(ctx, t, s, ch.ID, ivan.ID, first)
	// The server's router offers the new chat after the message: the
	// panel is opened once it has, so the page does not change under
	// the check.
	waitChat(ctx, t, s, "the new chat offered", func() bool {
		c, err := s.App.Store.GetChat(ctx, second)
		return err == nil && c.Status == store.ChatOffered
	})
	old, err := s.App.Store.GetChat(ctx, first)
	if err != nil || old.Status != store.ChatCompleted {
		t.Fatalf("the first chat after the timeout: %+v %v", old, err)
	}
	step("back on the panel, the new chat is offered",
		chromedp.Navigate(s.URL+"/chats"),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`!!document.querySelector('[data-chat-section="offered"] [data-chat-accept=%q]')`, second),
			chromedp.WithPollingTimeout(20*time.Second)),
	)
	nc, err := s.App.Store.GetChat(ctx, second)
	if err != nil || nc.ContactID != old.ContactID || nc.CustomerName != "Ivan Petrov" {
		t.Fatalf("the new chat %+v (%v), want the same customer contact", nc, err)
	}
}

// waitOpenChat waits, woken by the chat events, until the customer has an
// open chat other than not, and returns its id.
func waitOpenChat(ctx context.Context, t *testing.T, s *tandemtest.Server, channelID string, customer int64, not string) string {
	t.Helper()
	var id string
	waitChat(ctx, t, s, fmt.Sprintf("a new chat of customer %d", customer), func() bool {
		c, err := s.App.Store.OpenChatAt(ctx, channelID, strconv.FormatInt(customer, 10))
		if err == nil && c.ID != not {
			id = c.ID
		}
		return id != ""
	})
	return id
}

// waitChat waits, woken by the chat events, until done holds.
func waitChat(ctx context.Context, t *testing.T, s *tandemtest.Server, what string, done func() bool) {
	t.Helper()
	events, stop := s.App.ChatBus.Subscribe()
	defer stop()
	for !done() {
		select {
		case <-events:
		case <-time.After(time.Second):
		case <-ctx.Done():
			t.Fatalf("never: %s", what)
		}
	}
}
