package ui_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/store"
)

// TestBrowserChatFlow drives the operator panel in Chromium: an operator
// opens /chats; a customer's message arrives (through the chat service,
// from a fake channel kind) and appears in the panel live, with the
// notification sound due; the operator accepts, replies (the channel
// sends it), sees the customer's next message arrive in the open chat
// without reloading, and completes the chat.
func TestBrowserChatFlow(t *testing.T) {
	e := startChat(t, false)
	e.s.Admin.JSON(t, "POST", "/api/v1/users", map[string]any{"email": "olga@example.com", "name": "Olga Operator",
		"password": "user-password-1", "time_zone": "UTC", "language": "en", "role_ids": []string{}}, http.StatusCreated, nil)
	olga := e.s.Login(t, "olga@example.com", "user-password-1")
	q := e.queue(t, "Support", chat.RoutingAll, olga.UserID)
	ch := e.channel(t, "@shop_bot", q)

	chrome := newChrome(t, 90*time.Second)
	step := stepper(t, chrome)
	step("sign in", signIn(e.s.URL, "olga@example.com", "user-password-1")...)
	step("open the panel",
		chromedp.Click(chromedp.CSS(`nav a[href="/chats"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-chat-section="queued"]`)),
		// A click arms the sound (browsers play none before one).
		chromedp.Click(chromedp.CSS(`#chat-status-title`)),
		chromedp.WaitReady(chromedp.CSS(`[data-chat-panel][data-chat-live]`)),
	)
	if note, err := chromedp.Run(chrome, chromedp.Evaluate[bool](`document.querySelector("[data-chat-sound-note]").hidden`)); err != nil || !note {
		t.Errorf("the sound note is still shown after a click (%v)", err)
	}

	c := e.write(t, ch, "c-ivan", "Ivan Customer", "Where is my parcel?")
	step("the chat appears live",
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`!!document.querySelector('[data-chat-section="queued"] [data-chat-id=%q]')`, c.ID),
			chromedp.WithPollingTimeout(15*time.Second)),
	)
	rings, err := chromedp.Run(chrome, chromedp.Evaluate[string](`document.querySelector("[data-chat-panel]").dataset.chatRings || "0"`))
	if err != nil || rings != "1" {
		t.Errorf("notification sound due %q times, want once (%v)", rings, err)
	}

	// A form post navigates: wait for the next page before looking at it.
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
	submit("accept", fmt.Sprintf(`[data-chat-accept=%q]`, c.ID))
	step("the chat opens",
		chromedp.WaitVisible(chromedp.ID("chat-text")),
		chromedp.WaitReady(chromedp.CSS(`[data-chat-panel][data-chat-live]`)),
	)
	step("type a reply", chromedp.SendKeys(chromedp.ID("chat-text"), "It left the warehouse today."))
	submit("send", `[data-chat-send]`)
	step("the reply shows",
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('[data-chat-history] [data-kind="operator"]')].some((m) => m.textContent.includes("It left the warehouse today."))`,
			chromedp.WithPollingTimeout(15*time.Second)),
		chromedp.WaitReady(chromedp.CSS(`[data-chat-panel][data-chat-live]`)),
	)
	if got := e.ad.Sent(); len(got) != 1 || got[0] != "c-ivan: It left the warehouse today." {
		t.Errorf("the channel sent %q", got)
	}

	// The customer answers while the operator types: the history shows it
	// and what was typed stays.
	step("start typing", chromedp.SendKeys(chromedp.ID("chat-text"), "Anything else"))
	e.write(t, ch, "c-ivan", "Ivan Customer", "Thanks! Tracking number?")
	step("the answer appears live",
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('[data-chat-history] [data-kind="customer"]')].some((m) => m.textContent.includes("Tracking number?"))`,
			chromedp.WithPollingTimeout(15*time.Second)),
	)
	if typed, err := chromedp.Run(chrome, chromedp.Evaluate[string](`document.getElementById("chat-text").value`)); err != nil || typed != "Anything else" {
		t.Errorf("the reply box holds %q after the update (%v)", typed, err)
	}

	submit("complete", `[data-chat-complete]`)
	// The flash toast fades after a few seconds: look at the lists instead.
	step("back on the panel, without the chat",
		chromedp.WaitVisible(chromedp.CSS(`[data-chat-section="mine"]`)),
		chromedp.Poll[chromedp.Void](fmt.Sprintf(`location.pathname === "/chats" && !document.querySelector('[data-chat-id=%q]')`, c.ID),
			chromedp.WithPollingTimeout(15*time.Second)),
	)
	got, err := e.s.App.Store.GetChat(e.ctx, c.ID)
	if err != nil || got.Status != store.ChatCompleted {
		t.Errorf("chat after completing: %+v %v", got, err)
	}
}
