package telegram

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func ids(ups []Update) []int64 {
	var out []int64
	for _, u := range ups {
		out = append(out, u.UpdateID)
	}
	return out
}

// Updates stay until getUpdates is called with an offset above them: the
// same batch comes again until then, and a higher offset confirms it.
func TestGetUpdatesOffsetConfirmsAndRedelivers(t *testing.T) {
	e := newEnv(t)
	for _, text := range []string{"one", "two", "three"} {
		e.write(ann, text)
	}
	first := e.updates(nil)
	if len(first) != 3 || first[0].Message.Text != "one" || first[2].Message.Text != "three" {
		t.Fatalf("first poll: %+v", first)
	}
	for i := 1; i < 3; i++ {
		if first[i].UpdateID != first[i-1].UpdateID+1 {
			t.Fatalf("update ids not sequential: %v", ids(first))
		}
	}
	if first[0].UpdateID < 2000001 {
		t.Errorf("first update id %d: the real queue starts at a random id above 2,000,000", first[0].UpdateID)
	}
	if again := e.updates(map[string]any{"offset": 0}); len(again) != 3 || again[0].UpdateID != first[0].UpdateID {
		t.Fatalf("unconfirmed updates were not delivered again: %v", ids(again))
	}
	// An offset equal to the last id confirms the earlier ones only.
	last := first[2].UpdateID
	if got := e.updates(map[string]any{"offset": last}); len(got) != 1 || got[0].UpdateID != last {
		t.Fatalf("offset=last: %v", ids(got))
	}
	if got := e.updates(map[string]any{"offset": last + 1}); len(got) != 0 {
		t.Fatalf("offset=last+1: %v", ids(got))
	}
	if got := e.updates(nil); len(got) != 0 {
		t.Fatalf("confirmed updates came back: %v", ids(got))
	}
	if n := e.webhookInfo().PendingUpdateCount; n != 0 {
		t.Fatalf("pending_update_count %d after confirming", n)
	}
	next := e.write(bob, "four")
	if got := e.updates(map[string]any{"offset": last + 1}); len(got) != 1 || got[0].UpdateID != last+1 || got[0].Message.MessageID != next.MessageID {
		t.Fatalf("next update: %+v", got)
	}
}

func TestGetUpdatesOffsetAndLimit(t *testing.T) {
	e := newEnv(t)
	for range 5 {
		e.write(ann, "hi")
	}
	all := e.srv.Pending(e.bot.Token)
	if len(all) != 5 {
		t.Fatalf("pending %d", len(all))
	}
	head, tail := all[0].UpdateID, all[4].UpdateID
	for _, tc := range []struct {
		name   string
		args   map[string]any
		want   []int64
		remain int // pending afterwards
	}{
		{"limit", map[string]any{"limit": 2}, []int64{head, head + 1}, 5},
		{"limit clamped to 1", map[string]any{"limit": 0}, []int64{head}, 5},
		{"offset in the middle", map[string]any{"offset": head + 3}, []int64{head + 3, tail}, 2},
		{"far-future offset reads from the head, forgets nothing", map[string]any{"offset": tail + 100}, []int64{head + 3, tail}, 2},
		{"negative offset counts from the end", map[string]any{"offset": -1}, []int64{tail}, 1},
		{"the older ones are forgotten", map[string]any{"offset": 0}, []int64{tail}, 1},
	} {
		got := ids(e.updates(tc.args))
		if len(got) != len(tc.want) || (len(got) > 0 && (got[0] != tc.want[0] || got[len(got)-1] != tc.want[len(tc.want)-1])) {
			t.Fatalf("%s: got %v, want %v", tc.name, got, tc.want)
		}
		if n := len(e.srv.Pending(e.bot.Token)); n != tc.remain {
			t.Fatalf("%s: %d pending, want %d", tc.name, n, tc.remain)
		}
	}
}

// A long poll answers as soon as an update arrives.
func TestLongPollWakesOnUpdate(t *testing.T) {
	e := newEnv(t)
	got := make(chan []Update, 1)
	go func() {
		var ups []Update
		e.call("getUpdates", map[string]any{"timeout": 50}, &ups)
		got <- ups
	}()
	if err := e.srv.WaitPolling(e.ctx, e.bot.Token); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.write(ann, "wake up")
	select {
	case ups := <-got:
		if len(ups) != 1 || ups[0].Message.Text != "wake up" {
			t.Fatalf("long poll returned %+v", ups)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("long poll took %v after the update", d)
		}
	case <-e.ctx.Done():
		t.Fatal("the long poll did not return")
	}
}

// With nothing to return, a long poll ends after its timeout with an
// empty list, and a client that gives up ends it too.
func TestLongPollTimeout(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	if ups := e.updates(map[string]any{"timeout": 1}); len(ups) != 0 {
		t.Fatalf("got %v", ids(ups))
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("timeout=1 returned after %v", d)
	}
	// The client's own deadline.
	ctx, cancel := context.WithTimeout(e.ctx, 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/bot"+e.bot.Token+"/getUpdates?timeout=50", nil)
	if _, err := e.hc.Do(req); err == nil {
		t.Fatal("the request outlived its context")
	}
	e.waitUntil("the abandoned poll to end", func() bool { return e.srv.bots[e.bot.Token].poll == nil })
}

// A second getUpdates that waits ends the first with 409; the second
// keeps waiting and gets the update.
func TestConflictTerminatedByOtherGetUpdates(t *testing.T) {
	e := newEnv(t)
	first := make(chan Response, 1)
	go func() {
		r, _ := e.do(e.bot.Token, "getUpdates", map[string]any{"timeout": 50})
		first <- r
	}()
	if err := e.srv.WaitPolling(e.ctx, e.bot.Token); err != nil {
		t.Fatal(err)
	}
	e.srv.mu.Lock()
	firstPoll := e.srv.bots[e.bot.Token].poll
	e.srv.mu.Unlock()
	second := make(chan []Update, 1)
	go func() {
		var ups []Update
		e.call("getUpdates", map[string]any{"timeout": 50}, &ups)
		second <- ups
	}()
	r := <-first
	if r.OK || r.ErrorCode != 409 || r.Description != "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running" {
		t.Fatalf("first poller got %+v", r)
	}
	e.waitUntil("the second poll", func() bool {
		p := e.srv.bots[e.bot.Token].poll
		return p != nil && p != firstPoll
	})
	e.write(ann, "for the survivor")
	if ups := <-second; len(ups) != 1 || ups[0].Message.Text != "for the survivor" {
		t.Fatalf("second poller got %+v", ups)
	}
}

func TestConflictWebhookActive(t *testing.T) {
	e := newEnv(t)
	rcv := newReceiver(t, 200)
	e.call("setWebhook", map[string]any{"url": rcv.URL}, nil)
	e.fail("getUpdates", nil, 409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
	r := e.call("deleteWebhook", nil, nil)
	if r.Description != "Webhook was deleted" {
		t.Fatalf("deleteWebhook said %q", r.Description)
	}
	e.updates(nil)

	// setWebhook ends a waiting long poll.
	done := make(chan Response, 1)
	go func() {
		r, _ := e.do(e.bot.Token, "getUpdates", map[string]any{"timeout": 50})
		done <- r
	}()
	if err := e.srv.WaitPolling(e.ctx, e.bot.Token); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second) // one setWebhook a second
	e.call("setWebhook", map[string]any{"url": rcv.URL}, nil)
	if r := <-done; r.ErrorCode != 409 || r.Description != "Conflict: terminated by setWebhook request" {
		t.Fatalf("waiting poll got %+v", r)
	}
}

// Updates are kept 24 hours.
func TestUpdatesExpireAfter24h(t *testing.T) {
	e := newEnv(t)
	e.write(ann, "old")
	e.clock.Advance(23 * time.Hour)
	e.write(ann, "newer")
	e.clock.Advance(time.Hour + time.Second)
	ups := e.updates(nil)
	if len(ups) != 1 || ups[0].Message.Text != "newer" {
		t.Fatalf("after 24 h: %+v", ups)
	}
	e.clock.Advance(23 * time.Hour)
	if n := e.webhookInfo().PendingUpdateCount; n != 0 {
		t.Fatalf("pending_update_count %d after 47 h", n)
	}
	if ups := e.updates(nil); len(ups) != 0 {
		t.Fatalf("expired updates returned: %v", ids(ups))
	}
}

// allowed_updates filters what is queued from the call on; [] restores
// the default.
func TestAllowedUpdates(t *testing.T) {
	e := newEnv(t)
	m := e.write(ann, "typo")
	ups := e.updates(map[string]any{"allowed_updates": []string{"edited_message"}})
	if len(ups) != 1 {
		t.Fatalf("updates queued before the change still come: %+v", ups)
	}
	e.updates(map[string]any{"offset": ups[0].UpdateID + 1})
	if _, err := e.srv.Edit(e.bot.Token, ann.ID, m.MessageID, "fixed"); err != nil {
		t.Fatal(err)
	}
	e.write(ann, "not wanted")
	ups = e.updates(nil)
	if len(ups) != 1 || ups[0].EditedMessage == nil || ups[0].EditedMessage.Text != "fixed" || ups[0].EditedMessage.EditDate == 0 {
		t.Fatalf("with allowed_updates=[edited_message]: %+v", ups)
	}
	e.updates(map[string]any{"allowed_updates": []string{}, "offset": ups[0].UpdateID + 1})
	e.write(ann, "wanted again")
	if ups := e.updates(nil); len(ups) != 1 || ups[0].Message == nil {
		t.Fatalf("after allowed_updates=[]: %+v", ups)
	}
}

// The payloads a customer produces: text with a command entity, a reply,
// a contact, a photo and a document, an edit.
func TestCustomerMessages(t *testing.T) {
	e := newEnv(t)
	start := e.write(ann, "/start hello")
	if _, err := e.srv.Write(e.bot.Token, Incoming{From: ann, Contact: &Contact{PhoneNumber: "+15550100", FirstName: "Ann", UserID: ann.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Write(e.bot.Token, Incoming{From: ann, Text: "see above", ReplyToMessageID: start.MessageID}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Write(e.bot.Token, Incoming{From: ann, Text: "x", ReplyToMessageID: 999}); err == nil {
		t.Fatal("a reply to a missing message was accepted")
	}
	ups := e.updates(nil)
	if len(ups) != 3 {
		t.Fatalf("%d updates", len(ups))
	}
	m := ups[0].Message
	if m.Chat.Type != "private" || m.Chat.ID != ann.ID || m.From.Username != "annlee" || m.From.LanguageCode != "en" ||
		m.Date != e.clock.Now().Unix() || len(m.Entities) != 1 || m.Entities[0].Type != "bot_command" || m.Entities[0].Length != 6 {
		t.Fatalf("text message: %+v", m)
	}
	if c := ups[1].Message.Contact; c == nil || c.PhoneNumber != "+15550100" {
		t.Fatalf("contact: %+v", ups[1].Message)
	}
	if r := ups[2].Message.ReplyToMessage; r == nil || r.MessageID != start.MessageID || r.Text != "/start hello" {
		t.Fatalf("reply: %+v", ups[2].Message)
	}
	if !strings.HasPrefix(e.bot.Token, itoa(e.bot.ID)+":") || !tokenRE.MatchString(e.bot.Token) {
		t.Fatalf("token %q", e.bot.Token)
	}
}
