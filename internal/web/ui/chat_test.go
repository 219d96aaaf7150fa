package ui_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/chat/chattest"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// chatEnv is a server with a fake channel kind, queues and operators.
type chatEnv struct {
	s   *tandemtest.Server
	ctx context.Context
	ad  *chattest.Adapter
	n   int // channels made
	in  int // messages delivered
}

func startChat(t *testing.T, pg bool) *chatEnv {
	t.Helper()
	s := tandemtest.Start(t, tandemtest.Options{Postgres: pg})
	e := &chatEnv{s: s, ctx: context.Background(), ad: &chattest.Adapter{}}
	s.App.Chat.Use(e.ad)
	listenChatBus(t, s)
	return e
}

// listenChatBus waits until the PostgreSQL event bus listens (the app's
// handler starts it, as in `tandem serve`).
func listenChatBus(t *testing.T, s *tandemtest.Server) {
	t.Helper()
	b, ok := s.App.ChatBus.(*chat.PGBus)
	if !ok {
		return
	}
	select {
	case <-b.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("the chat bus does not listen")
	}
}

// settle waits until the bus has delivered every event published so far
// (PostgreSQL hands notifications over asynchronously, in commit order): a
// stream opened after it hears only what happens next.
func (e *chatEnv) settle(t *testing.T) {
	t.Helper()
	events, stop := e.s.App.ChatBus.Subscribe()
	defer stop()
	mark := chat.Event{Type: "test-mark", ChatID: fmt.Sprint(time.Now().UnixNano())}
	if err := e.s.App.ChatBus.Publish(e.ctx, mark); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Type == mark.Type && ev.ChatID == mark.ChatID {
				return
			}
		case <-timeout:
			t.Fatal("the bus did not deliver its own event")
		}
	}
}

// operator makes a user and returns their id and a signed-in browser.
func (e *chatEnv) operator(t *testing.T, email string, roleIDs ...string) (string, *tandemtest.Browser) {
	t.Helper()
	c := e.s.NewUser(t, email, roleIDs...)
	return c.UserID, e.s.Browser(t, email, "user-password-1")
}

// queue makes a queue worked by users.
func (e *chatEnv) queue(t *testing.T, name string, routing chat.Routing, users ...string) *store.ChatQueue {
	t.Helper()
	q := &store.ChatQueue{Name: name, Routing: string(routing)}
	for _, u := range users {
		q.Members = append(q.Members, store.ChatQueueMember{Kind: "user", ID: u})
	}
	if err := e.s.App.Chat.SaveQueue(e.ctx, q); err != nil {
		t.Fatal(err)
	}
	return q
}

// channel makes a channel of the fake kind into queue q.
func (e *chatEnv) channel(t *testing.T, name string, q *store.ChatQueue) *chat.Channel {
	t.Helper()
	e.n++
	ch, err := e.s.App.Chat.CreateChannel(e.ctx, chat.NewChannel{Kind: chat.KindTelegram, ExternalID: fmt.Sprint(1000 + e.n),
		Name: name, QueueID: q.ID, ContactOwnerID: e.s.Admin.UserID, Secret: map[string]string{"token": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// write delivers a customer's message; it returns their open chat.
func (e *chatEnv) write(t *testing.T, ch *chat.Channel, customer, name, text string) *store.Chat {
	t.Helper()
	e.in++
	err := e.s.App.Chat.Receive(e.ctx, ch, chat.Inbound{ID: fmt.Sprint("u", e.in), Address: customer, Text: text,
		Customer: chat.Customer{ID: customer, Name: name}})
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	e.s.App.Chat.WaitRouted() // its contact and its offer
	c, err := e.s.App.Store.OpenChatAt(e.ctx, ch.ID, customer)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// section returns the part of a panel page holding one of its lists.
func section(t *testing.T, body, name string) string {
	t.Helper()
	i := strings.Index(body, `data-chat-section="`+name+`"`)
	if i < 0 {
		t.Fatalf("no %s section", name)
	}
	rest := body[i:]
	if j := strings.Index(rest, "</section>"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

func chatManagerRole(t *testing.T, s *tandemtest.Server) string {
	return s.NewRole(t, "Chat managers", access.OpManageChats)
}

// ---------- administration ----------

func TestChatAdminNeedsCanManageChats(t *testing.T) {
	e := startChat(t, false)
	_, plain := e.operator(t, "plain@example.com")
	_, manager := e.operator(t, "manager@example.com", chatManagerRole(t, e.s))
	// An administrator, but without CanManageChats.
	_, admin := e.operator(t, "admin2@example.com", e.s.NewRole(t, "Admins", access.OpManageAdministration))
	q := e.queue(t, "Support", chat.RoutingAll)
	ch := e.channel(t, "@shop_bot", q)
	act := &store.ChatAction{Name: "Create case", Process: string(chat.ProcessCreateCase)}
	if err := e.s.App.Chat.SaveAction(e.ctx, act, ""); err != nil {
		t.Fatal(err)
	}
	gets := []string{"/admin/chat", "/admin/chat/queues", "/admin/chat/queues/new", "/admin/chat/queues/" + q.ID,
		"/admin/chat/channels", "/admin/chat/channels/" + ch.ID, "/admin/chat/actions", "/admin/chat/actions/new",
		"/admin/chat/actions/" + act.ID, "/admin/chat/operators"}
	posts := map[string]url.Values{
		"/admin/chat/queues/new":                    {"name": {"Hacked"}, "routing": {"all"}},
		"/admin/chat/queues/" + q.ID:                {"name": {"Hacked"}, "routing": {"all"}},
		"/admin/chat/queues/" + q.ID + "/delete":    nil,
		"/admin/chat/channels/" + ch.ID:             {"name": {"Hacked"}, "queue_id": {q.ID}},
		"/admin/chat/channels/" + ch.ID + "/delete": nil,
		"/admin/chat/actions/new":                   {"name": {"Hacked"}, "process": {"create_case"}},
		"/admin/chat/actions/" + act.ID:             {"name": {"Hacked"}, "process": {"create_case"}},
		"/admin/chat/actions/" + act.ID + "/delete": nil,
	}
	for who, b := range map[string]*tandemtest.Browser{"plain user": plain, "administrator": admin} {
		home := b.Get(t, "/chats")
		mustLack(t, who+" shell", home.Body, `href="/admin/chat/queues"`)
		for _, path := range gets {
			p := b.Get(t, path)
			wantStatus(t, who+" GET "+path, p, http.StatusForbidden)
			mustHave(t, who+" GET "+path, p.Body, tr(i18n.En, "error.page.403.title"))
		}
		for path, form := range posts {
			// Post sets the browser's token in the values: a copy each.
			wantStatus(t, who+" POST "+path, b.Post(t, path, maps.Clone(form)), http.StatusForbidden)
		}
	}
	if got, _ := e.s.App.Store.ChatQueue(e.ctx, q.ID); got == nil || got.Name != "Support" {
		t.Errorf("queue changed by refused posts: %+v", got)
	}
	if got, _ := e.s.App.Store.ChatChannel(e.ctx, ch.ID); got == nil || got.Name != "@shop_bot" {
		t.Errorf("channel changed by refused posts: %+v", got)
	}
	for _, l := range []i18n.Lang{i18n.En, i18n.Ru} {
		manager.Post(t, "/language", url.Values{"lang": {l.String()}, "next": {"/profile"}})
		home := manager.Get(t, "/profile")
		mustHave(t, "manager shell", home.Body, `href="/admin/chat/queues"`)
		for _, path := range gets {
			p := manager.Get(t, path)
			wantStatus(t, "manager "+l.String()+" GET "+path, p, http.StatusOK)
			noChatKeys(t, "manager "+l.String()+" GET "+path, p.Body)
		}
	}
}

// rawChatKey finds chat catalogue keys that reached a page untranslated.
var rawChatKey = regexp.MustCompile(`\b(?:chat|nav|error)\.[a-z_]+(?:\.[a-z_]+)*\b`)

func noChatKeys(t *testing.T, what, body string) {
	t.Helper()
	noRawKeys(t, what, body)
	if m := rawChatKey.FindAllString(body, 5); m != nil {
		t.Errorf("%s: untranslated keys %v", what, m)
	}
}

func TestChatQueueForm(t *testing.T) {
	e := startChat(t, false)
	ann, _ := e.operator(t, "ann@example.com")
	_, b := e.operator(t, "manager@example.com", chatManagerRole(t, e.s))

	// Bad input comes back with the problems and what was typed.
	p := b.Post(t, "/admin/chat/queues/new", url.Values{"name": {"  "}, "routing": {"least_busy"},
		"completion_minutes": {"soon"}, "members": {"user:" + ann}})
	wantStatus(t, "bad queue", p, http.StatusUnprocessableEntity)
	mustHave(t, "bad queue", p.Body, tr(i18n.En, "error.form"), tr(i18n.En, "error.invalid_number"), `value="soon"`,
		`value="user:`+ann+`" checked`, `value="least_busy" checked`)
	p = b.Post(t, "/admin/chat/queues/new", url.Values{"name": {""}, "routing": {"least_busy"}, "completion_minutes": {"15"}})
	wantStatus(t, "nameless queue", p, http.StatusUnprocessableEntity)
	mustHave(t, "nameless queue", p.Body, tr(i18n.En, "error.required"), `value="15"`)
	p = b.Post(t, "/admin/chat/queues/new", url.Values{"name": {"Sales"}, "routing": {"sideways"}})
	wantStatus(t, "unknown routing", p, http.StatusUnprocessableEntity)
	p = b.Post(t, "/admin/chat/queues/new", url.Values{"name": {"Sales"}, "routing": {"all"}, "members": {"user:nobody"}})
	wantStatus(t, "unknown member", p, http.StatusUnprocessableEntity)
	if qs, _ := e.s.App.Store.ChatQueues(e.ctx); len(qs) != 0 {
		t.Fatalf("refused forms stored queues: %+v", qs)
	}

	p = b.Post(t, "/admin/chat/queues/new", url.Values{"name": {"Sales"}, "routing": {"least_busy"},
		"completion_minutes": {"30"}, "members": {"user:" + ann}})
	wantStatus(t, "create", p, http.StatusOK)
	mustHave(t, "queue list", p.Body, tr(i18n.En, "chat.admin.queues.created", "Sales"), "Sales",
		tr(i18n.En, "chat.routing.least_busy"), "ann@example.com")
	qs, _ := e.s.App.Store.ChatQueues(e.ctx)
	if len(qs) != 1 || qs[0].CompletionMinutes != 30 || qs[0].Routing != "least_busy" || len(qs[0].Members) != 1 {
		t.Fatalf("stored %+v", qs)
	}
	q := qs[0]
	p = b.Post(t, "/admin/chat/queues/new", url.Values{"name": {"Sales"}, "routing": {"all"}})
	wantStatus(t, "duplicate", p, http.StatusUnprocessableEntity)
	mustHave(t, "duplicate", p.Body, tr(i18n.En, "error.duplicate"))

	// Edit: "to all", never completes, no members.
	p = b.Post(t, "/admin/chat/queues/"+q.ID, url.Values{"name": {"Sales desk"}, "routing": {"all"}, "completion_minutes": {""}})
	wantStatus(t, "edit", p, http.StatusOK)
	got, _ := e.s.App.Store.ChatQueue(e.ctx, q.ID)
	if got.Name != "Sales desk" || got.Routing != "all" || got.CompletionMinutes != 0 || len(got.Members) != 0 {
		t.Errorf("edited %+v", got)
	}

	// A queue a channel routes to is not deleted; an unused one is.
	e.channel(t, "@sales_bot", got)
	p = b.Post(t, "/admin/chat/queues/"+q.ID+"/delete", nil)
	mustHave(t, "delete in use", p.Body, tr(i18n.En, "chat.admin.queues.in_use", "Sales desk"))
	if _, err := e.s.App.Store.ChatQueue(e.ctx, q.ID); err != nil {
		t.Errorf("queue in use deleted: %v", err)
	}
	spare := e.queue(t, "Spare", chat.RoutingAll)
	p = b.Post(t, "/admin/chat/queues/"+spare.ID+"/delete", nil)
	mustHave(t, "delete", p.Body, tr(i18n.En, "chat.admin.queues.deleted", "Spare"))
	if _, err := e.s.App.Store.ChatQueue(e.ctx, spare.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unused queue not deleted: %v", err)
	}
}

func TestChatChannelAdmin(t *testing.T) {
	e := startChat(t, false)
	_, b := e.operator(t, "manager@example.com", chatManagerRole(t, e.s))
	q := e.queue(t, "Support", chat.RoutingAll)
	other := e.queue(t, "Sales", chat.RoutingAll)
	busy := e.channel(t, "@busy_bot", q)
	idle := e.channel(t, "@idle_bot", q)
	e.write(t, busy, "c1", "Olga", "hello")
	const reason = "this bot token is used by another program (getUpdates conflict)"
	e.s.App.Chat.MarkBroken(e.ctx, idle.ID, errors.New(reason))

	p := b.Get(t, "/admin/chat/channels")
	wantStatus(t, "channels", p, http.StatusOK)
	mustHave(t, "channels", p.Body, "@busy_bot", "@idle_bot", `data-channel-broken="`+idle.ID+`"`, esc(reason),
		tr(i18n.En, "chat.admin.channels.broken", "@idle_bot"), `href="/admin/chat/channels/new/telegram"`,
		`href="/admin/chat/channels/new/messenger"`)
	mustLack(t, "channels", p.Body, `data-channel-broken="`+busy.ID+`"`)

	// Rename, move and switch off.
	p = b.Post(t, "/admin/chat/channels/"+busy.ID, url.Values{"name": {"Shop"}, "queue_id": {other.ID}})
	wantStatus(t, "edit", p, http.StatusOK)
	got, _ := e.s.App.Store.ChatChannel(e.ctx, busy.ID)
	if got.Name != "Shop" || got.QueueID != other.ID || got.Active {
		t.Errorf("edited channel %+v", got)
	}
	p = b.Post(t, "/admin/chat/channels/"+busy.ID, url.Values{"name": {""}, "queue_id": {"nope"}, "active": {"1"}})
	wantStatus(t, "bad edit", p, http.StatusUnprocessableEntity)
	mustHave(t, "bad edit", p.Body, tr(i18n.En, "error.required"), tr(i18n.En, "error.unknown_value"))

	// A channel with chats is only deactivated.
	p = b.Post(t, "/admin/chat/channels/"+busy.ID+"/delete", nil)
	mustHave(t, "delete with chats", p.Body, tr(i18n.En, "chat.admin.channels.has_chats"))
	if _, err := e.s.App.Store.ChatChannel(e.ctx, busy.ID); err != nil {
		t.Errorf("channel with chats deleted: %v", err)
	}
	p = b.Post(t, "/admin/chat/channels/"+idle.ID+"/delete", nil)
	mustHave(t, "delete", p.Body, tr(i18n.En, "chat.admin.channels.deleted", "@idle_bot"))
	if _, err := e.s.App.Store.ChatChannel(e.ctx, idle.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("channel without chats kept: %v", err)
	}
}

func TestChatActionsAdmin(t *testing.T) {
	e := startChat(t, false)
	_, b := e.operator(t, "manager@example.com", chatManagerRole(t, e.s))
	q := e.queue(t, "Support", chat.RoutingAll)
	const secret = "a-long-signing-secret-42"

	for _, c := range []struct {
		form url.Values
		want []string
	}{
		{url.Values{"name": {"Notify"}, "process": {"webhook"}}, []string{tr(i18n.En, "error.required")}},
		{url.Values{"name": {"Notify"}, "process": {"webhook"}, "url": {"ftp://example.com/x"}, "secret": {secret}},
			[]string{tr(i18n.En, "error.invalid_url"), tr(i18n.En, "admin.settings.secret_retype")}},
		{url.Values{"name": {"Notify"}, "process": {"webhook"}, "url": {"https://example.com/hook"}, "secret": {"short"}},
			[]string{tr(i18n.En, "error.too_short")}},
		{url.Values{"name": {"Notify"}, "process": {"teleport"}}, []string{tr(i18n.En, "error.unknown_value")}},
	} {
		p := b.Post(t, "/admin/chat/actions/new", c.form)
		wantStatus(t, "bad action", p, http.StatusUnprocessableEntity)
		mustHave(t, "bad action", p.Body, c.want...)
		mustLack(t, "bad action", p.Body, secret)
	}
	p := b.Post(t, "/admin/chat/actions/new", url.Values{"name": {"Notify CRM"}, "queue_id": {q.ID}, "process": {"webhook"},
		"url": {"https://example.com/hook"}, "secret": {secret}})
	wantStatus(t, "create", p, http.StatusOK)
	mustHave(t, "actions", p.Body, "Notify CRM", "Support", "https://example.com/hook")
	as, _ := e.s.App.Store.ChatActions(e.ctx, "")
	if len(as) != 1 || as[0].Secret == "" || strings.Contains(as[0].Secret, secret) {
		t.Fatalf("stored %+v", as)
	}
	a := as[0]
	if got, err := e.s.App.Chat.ActionSecret(&a); err != nil || got != secret {
		t.Fatalf("secret %q %v", got, err)
	}
	p = b.Get(t, "/admin/chat/actions/"+a.ID)
	mustHave(t, "edit page", p.Body, settings.Mask(secret))
	mustLack(t, "edit page", p.Body, secret)

	// An empty secret keeps the stored one.
	b.Post(t, "/admin/chat/actions/"+a.ID, url.Values{"name": {"Notify CRM"}, "queue_id": {""}, "process": {"webhook"},
		"url": {"https://example.com/hook2"}})
	as, _ = e.s.App.Store.ChatActions(e.ctx, "")
	if got, _ := e.s.App.Chat.ActionSecret(&as[0]); got != secret || as[0].URL != "https://example.com/hook2" || as[0].QueueID != "" {
		t.Errorf("after edit: %+v, secret %q", as[0], got)
	}
	// "Create case" keeps no URL or secret.
	b.Post(t, "/admin/chat/actions/"+a.ID, url.Values{"name": {"Case"}, "process": {"create_case"}, "url": {"https://x"}})
	as, _ = e.s.App.Store.ChatActions(e.ctx, "")
	if as[0].Process != "create_case" || as[0].URL != "" || as[0].Secret != "" {
		t.Errorf("create_case action %+v", as[0])
	}
	p = b.Post(t, "/admin/chat/actions/"+a.ID+"/delete", nil)
	mustHave(t, "delete", p.Body, tr(i18n.En, "chat.admin.actions.deleted", "Case"))
	if as, _ := e.s.App.Store.ChatActions(e.ctx, ""); len(as) != 0 {
		t.Errorf("not deleted: %+v", as)
	}
}

// ---------- the operator panel ----------

// TestChatPanel: who sees which chat where, accepting (and losing the
// race), the cap note, replying (a refused reply keeps its text),
// completing, transferring, and the chat on the contact's card.
func TestChatPanel(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			testChatPanel(t, startChat(t, pg))
		})
	}
}

func testChatPanel(t *testing.T, e *chatEnv) {
	if err := e.s.App.Settings.Put(e.ctx, "SimultaneousChats", "1", e.s.Admin.UserID); err != nil {
		t.Fatal(err)
	}
	ann, annB := e.operator(t, "ann@example.com")
	bob, bobB := e.operator(t, "bob@example.com")
	cid, cidB := e.operator(t, "cid@example.com")
	_, dan := e.operator(t, "dan@example.com")
	all := e.queue(t, "Support", chat.RoutingAll, ann, bob)
	least := e.queue(t, "Sales", chat.RoutingLeastBusy, cid)
	support := e.channel(t, "@support_bot", all)
	sales := e.channel(t, "@sales_bot", least)

	olga := e.write(t, support, "c-olga", "Olga Petrova", "My order is late")
	pavel := e.write(t, sales, "c-pavel", "Pavel", "How much is it?")

	for who, b := range map[string]*tandemtest.Browser{"ann": annB, "bob": bobB} {
		p := b.Get(t, "/chats")
		wantStatus(t, who, p, http.StatusOK)
		mustHave(t, who+" queued", section(t, p.Body, "queued"), "Olga Petrova", "My order is late", `data-chat-accept="`+olga.ID+`"`)
		mustLack(t, who, p.Body, "Pavel")
	}
	p := cidB.Get(t, "/chats")
	offered := section(t, p.Body, "offered")
	mustHave(t, "cid offered", offered, "Pavel", `data-chat-accept="`+pavel.ID+`"`, `data-deadline="`)
	if !regexp.MustCompile(`data-deadline="[^"]+"[^>]*>[45]:[0-5]\d<`).MatchString(offered) {
		t.Errorf("no time left to accept in %s", offered)
	}
	mustLack(t, "cid", p.Body, "Olga")
	p = dan.Get(t, "/chats")
	mustHave(t, "non-operator", p.Body, "data-chat-not-operator", tr(i18n.En, "chat.panel.not_operator"))
	mustLack(t, "non-operator", p.Body, "Olga", "Pavel")
	wantStatus(t, "non-operator opens a chat", dan.Get(t, "/chats/"+olga.ID), http.StatusNotFound)
	wantStatus(t, "non-operator accepts", dan.Post(t, "/chats/"+olga.ID+"/accept", nil), http.StatusNotFound)

	// Ann accepts; Bob, a moment late, is told.
	p = annB.Post(t, "/chats/"+olga.ID+"/accept", nil)
	wantStatus(t, "accept", p, http.StatusOK)
	mustHave(t, "ann's chat", p.Body, `data-chat-reply`, "My order is late", tr(i18n.En, "chat.event.accepted", "ann@example.com"))
	mustHave(t, "ann mine", section(t, p.Body, "mine"), "Olga Petrova")
	mustHave(t, "ann at cap", p.Body, "data-chat-at-cap", esc(i18n.En.N("chat.panel.at_cap", 1, 1)))
	p = bobB.Post(t, "/chats/"+olga.ID+"/accept", nil)
	mustHave(t, "bob too late", p.Body, tr(i18n.En, "chat.error.taken"))
	mustLack(t, "bob too late", p.Body, "data-chat-reply")
	mustLack(t, "bob's queue", section(t, bobB.Get(t, "/chats").Body, "queued"), "Olga")

	// A new customer message shows as unread on Ann's list.
	e.write(t, support, "c-olga", "Olga Petrova", "Hello?")
	mine := section(t, annB.Get(t, "/chats").Body, "mine")
	mustHave(t, "unread", mine, `data-chat-unread="1"`)

	// Replies: sent, then refused (the text stays in the box).
	p = annB.Post(t, "/chats/"+olga.ID+"/reply", url.Values{"text": {"It ships today."}})
	wantStatus(t, "reply", p, http.StatusOK)
	mustHave(t, "reply", p.Body, "It ships today.")
	mustLack(t, "read", section(t, p.Body, "mine"), "data-chat-unread")
	if got := e.ad.Sent(); len(got) != 1 || got[0] != "c-olga: It ships today." {
		t.Errorf("sent %q", got)
	}
	e.ad.Fail(&chat.SendError{Code: "window_closed", Err: errors.New("outside the 24-hour window")})
	p = annB.Post(t, "/chats/"+olga.ID+"/reply", url.Values{"text": {"Are you there?"}})
	wantStatus(t, "refused reply", p, http.StatusBadGateway)
	mustHave(t, "refused reply", p.Body, "data-chat-send-error", tr(i18n.En, "chat.send.window_closed"),
		`>Are you there?</textarea>`, "data-msg-error")
	e.ad.Fail(nil)
	p = annB.Post(t, "/chats/"+olga.ID+"/reply", url.Values{"text": {"  "}})
	wantStatus(t, "empty reply", p, http.StatusUnprocessableEntity)
	mustHave(t, "empty reply", p.Body, tr(i18n.En, "error.required"))
	wantStatus(t, "bob replies", bobB.Post(t, "/chats/"+olga.ID+"/reply", url.Values{"text": {"hi"}}), http.StatusForbidden)

	// The chat is on Olga's contact card, for those who may see it.
	p = adminBrowser(t, e.s).Get(t, "/contacts/"+olga.ContactID)
	mustHave(t, "contact card", p.Body, "data-contact-chats", `href="/chats/`+olga.ID+`"`, "@support_bot",
		tr(i18n.En, "chat.status.active"))

	// Cid accepts Pavel's chat and hands it to Ann, who is at her cap;
	// then back to the queue.
	cidB.Post(t, "/chats/"+pavel.ID+"/accept", nil)
	p = cidB.Post(t, "/chats/"+pavel.ID+"/transfer", url.Values{"to": {"user:" + ann}})
	mustHave(t, "transfer to a full operator", p.Body, tr(i18n.En, "chat.error.transfer_at_cap"))
	p = cidB.Post(t, "/chats/"+pavel.ID+"/transfer", url.Values{"to": {"queue:" + all.ID}})
	mustHave(t, "transfer to a queue", p.Body, tr(i18n.En, "chat.flash.transferred", "Pavel"))
	mustHave(t, "bob sees it waiting", section(t, bobB.Get(t, "/chats").Body, "queued"), "Pavel")

	// Ann completes: the chat leaves her list and she sees waiting chats
	// again.
	p = annB.Post(t, "/chats/"+olga.ID+"/complete", nil)
	wantStatus(t, "complete", p, http.StatusOK)
	mustHave(t, "complete", p.Body, tr(i18n.En, "chat.flash.completed", "Olga Petrova"))
	mustLack(t, "after complete", section(t, p.Body, "mine"), "Olga")
	mustHave(t, "after complete", section(t, p.Body, "queued"), "Pavel")
	p = annB.Get(t, "/chats/"+olga.ID)
	mustHave(t, "completed chat", p.Body, "data-chat-closed", tr(i18n.En, "chat.event.completed.operator"))

	// Status: Inactive, then Active again.
	p = cidB.Post(t, "/chats/status", url.Values{"active": {"0"}})
	mustHave(t, "inactive", p.Body, `data-chat-status="inactive"`, tr(i18n.En, "chat.flash.inactive"))
	if o, _ := e.s.App.Store.ChatOperatorOf(e.ctx, cid); o.Active {
		t.Error("still active")
	}
	p = cidB.Post(t, "/chats/status", url.Values{"active": {"1"}})
	mustHave(t, "active", p.Body, `data-chat-status="active"`)
}

func TestChatPanelRussian(t *testing.T) {
	e := startChat(t, false)
	ann, b := e.operator(t, "ann@example.com", chatManagerRole(t, e.s))
	q := e.queue(t, "Поддержка", chat.RoutingAll, ann)
	ch := e.channel(t, "@support_bot", q)
	c := e.write(t, ch, "c1", "Ольга", "Здравствуйте")
	b.Post(t, "/language", url.Values{"lang": {"ru"}, "next": {"/chats"}})
	p := b.Get(t, "/chats")
	wantStatus(t, "panel", p, http.StatusOK)
	mustHave(t, "panel", p.Body, `<html lang="ru">`, "Ждут в моих очередях", "Мои активные чаты", "Предложены мне", "Ольга",
		tr(i18n.Ru, "chat.panel.sound_note"))
	noChatKeys(t, "ru panel", p.Body)
	p = b.Post(t, "/chats/"+c.ID+"/accept", nil)
	mustHave(t, "ru chat", p.Body, tr(i18n.Ru, "chat.event.accepted", "ann@example.com"), tr(i18n.Ru, "chat.send"))
	noChatKeys(t, "ru chat", p.Body)
	if got := i18n.Ru.N("chat.panel.at_cap", 2, 2); !strings.Contains(got, "2 из 2 чатов") {
		t.Errorf("Russian cap note %q", got)
	}
	if got := i18n.Ru.N("chat.count", 21); got != "21 чат" {
		t.Errorf("Russian plural %q", got)
	}
}

// TestChatSound: the uploaded notification sound is served to operators
// and its address given to the panel; without one, the panel plays its
// own tone.
func TestChatSound(t *testing.T) {
	e := startChat(t, false)
	ann, b := e.operator(t, "ann@example.com")
	e.queue(t, "Support", chat.RoutingAll, ann)
	p := b.Get(t, "/chats")
	mustHave(t, "no sound", p.Body, `data-chat-sound=""`)
	wantStatus(t, "no sound file", b.Get(t, "/chats/sound"), http.StatusNotFound)

	mp3 := append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), make([]byte, 512)...)
	if err := e.s.App.Settings.Put(e.ctx, "OmniChatNotificationSound", settings.EncodeFile("ding.mp3", "audio/mpeg", mp3), e.s.Admin.UserID); err != nil {
		t.Fatal(err)
	}
	p = b.Get(t, "/chats")
	src := regexpFind(t, p.Body, `data-chat-sound="(/chats/sound\?v=[0-9a-f]+)"`)
	resp := b.Open(t, src)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/mpeg" {
		t.Errorf("sound: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestChatActionRun: Run makes the built-in action's case, linked to the
// chat; an unknown action is not found.
func TestChatActionRun(t *testing.T) {
	e := startChat(t, false)
	ann, b := e.operator(t, "ann@example.com")
	q := e.queue(t, "Support", chat.RoutingAll, ann)
	ch := e.channel(t, "@support_bot", q)
	act := &store.ChatAction{Name: "Create case", Process: string(chat.ProcessCreateCase)}
	if err := e.s.App.Chat.SaveAction(e.ctx, act, ""); err != nil {
		t.Fatal(err)
	}
	c := e.write(t, ch, "c1", "Olga", "hi")
	p := b.Post(t, "/chats/"+c.ID+"/accept", nil)
	mustHave(t, "actions", p.Body, `data-chat-run="`+act.ID+`"`, "Create case")
	p = b.Post(t, "/chats/"+c.ID+"/actions/"+act.ID, nil)
	wantStatus(t, "run", p, http.StatusOK)
	viewer, err := e.s.App.Store.Viewer(e.ctx, ann)
	if err != nil {
		t.Fatal(err)
	}
	cases, _, err := e.s.App.Store.ListCases(e.ctx, viewer, store.CaseFilter{SourceChatID: c.ID})
	if err != nil || len(cases) != 1 || cases[0].ContactID != c.ContactID {
		t.Fatalf("cases of the chat %+v (%v)", cases, err)
	}
	wantStatus(t, "unknown action", b.Post(t, "/chats/"+c.ID+"/actions/nope", nil), http.StatusNotFound)
}

// ---------- live updates ----------

// chatSSE is one event of /chats/events.
type chatSSE struct {
	Name  string
	Event chat.Event
}

func readChatEvents(t *testing.T, resp *http.Response) <-chan chatSSE {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, ct)
	}
	out := make(chan chatSSE, 100)
	opened := make(chan struct{})
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var ev chatSSE
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == ": open":
				close(opened)
			case strings.HasPrefix(line, "event: "):
				ev.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.Event); err != nil {
					t.Errorf("event data %q: %v", line, err)
				}
			case line == "" && ev.Name != "":
				out <- ev
				ev = chatSSE{}
			}
		}
	}()
	select {
	case <-opened:
	case <-time.After(20 * time.Second):
		t.Fatal("the stream did not open")
	}
	return out
}

func nextChatEvent(t *testing.T, events <-chan chatSSE, what string) chatSSE {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatalf("the stream ended before %s", what)
		}
		return ev
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s in 20 s", what)
	}
	return chatSSE{}
}

// TestChatEvents: a new chat reaches the stream of an operator of its
// queue at once and not a non-member's; the open chat's stream hears its
// replies. Through the real service and, on PostgreSQL, LISTEN/NOTIFY.
func TestChatEvents(t *testing.T) {
	for _, pg := range []bool{false, true} {
		t.Run(map[bool]string{false: "sqlite", true: "postgres"}[pg], func(t *testing.T) {
			t.Parallel()
			e := startChat(t, pg)
			ann, annB := e.operator(t, "ann@example.com")
			dan, danB := e.operator(t, "dan@example.com")
			q := e.queue(t, "Support", chat.RoutingAll, ann)
			ch := e.channel(t, "@support_bot", q)

			e.settle(t)
			annEvents := readChatEvents(t, annB.Open(t, "/chats/events"))
			danEvents := readChatEvents(t, danB.Open(t, "/chats/events"))
			c := e.write(t, ch, "c1", "Olga", "hello")
			ev := nextChatEvent(t, annEvents, "the new chat")
			if ev.Name != "panel" || ev.Event.ChatID != c.ID || ev.Event.Type != chat.EventMessage || ev.Event.QueueID != q.ID {
				t.Errorf("ann's event %+v", ev)
			}
			// Dan's own status change is the first thing his stream says:
			// the chat never reached it.
			danB.Post(t, "/chats/status", url.Values{"active": {"0"}})
			ev = nextChatEvent(t, danEvents, "dan's status")
			if ev.Name != "panel" || ev.Event.Type != chat.EventOperator || ev.Event.OperatorID != dan {
				t.Errorf("dan's first event %+v, want his own status", ev)
			}

			// A member added to the queue hears its chats from then on.
			q.Members = append(q.Members, store.ChatQueueMember{Kind: "user", ID: dan})
			if err := e.s.App.Chat.SaveQueue(e.ctx, q); err != nil {
				t.Fatal(err)
			}
			if ev = nextChatEvent(t, danEvents, "the queue change"); ev.Event.Type != chat.EventOperator {
				t.Errorf("dan's event %+v, want the queues' change", ev)
			}
			e.write(t, ch, "c1", "Olga", "anyone?")
			if ev = nextChatEvent(t, danEvents, "the queue's chat"); ev.Event.ChatID != c.ID {
				t.Errorf("dan's event %+v, want the chat", ev)
			}

			// The open chat's stream names its events "chat".
			annB.Post(t, "/chats/"+c.ID+"/accept", nil)
			e.settle(t)
			open := readChatEvents(t, annB.Open(t, "/chats/events?chat="+c.ID))
			annB.Post(t, "/chats/"+c.ID+"/reply", url.Values{"text": {"Hi Olga"}})
			ev = nextChatEvent(t, open, "the reply")
			if ev.Name != "chat" || ev.Event.ChatID != c.ID || ev.Event.Type != chat.EventMessage {
				t.Errorf("open chat's event %+v", ev)
			}
			wantStatus(t, "someone else's chat stream", danB.Get(t, "/chats/events?chat=nope"), http.StatusNotFound)
		})
	}
}
