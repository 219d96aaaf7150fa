package chat_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/chat/chattest"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

type fixture struct {
	st    *store.Store
	svc   *chat.Service
	clock *testenv.Clock
	ad    *chattest.Adapter
	ch    *chat.Channel
	queue *store.ChatQueue
	ops   []access.Viewer
	ctx   context.Context
}

// newFixture makes a queue with routing and n operators, a channel to it
// and the service on a controlled clock.
func newFixture(t *testing.T, st *store.Store, routing chat.Routing, n int, completion int) *fixture {
	t.Helper()
	ctx := context.Background()
	box, err := secret.New(bytes.Repeat([]byte{7}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	set := settings.New(st, box)
	f := &fixture{st: st, clock: testenv.NewClock(time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)), ad: &chattest.Adapter{}, ctx: ctx}
	f.svc = chat.New(st, set, box, chat.NewLocalBus(), nil)
	f.svc.Now = f.clock.Now
	f.svc.Use(f.ad)
	admin := storetest.User(t, st, "admin@example.com")
	f.queue = &store.ChatQueue{Name: "Support", Routing: string(routing), CompletionMinutes: completion}
	for i := range n {
		v := storetest.User(t, st, fmt.Sprintf("op%02d@example.com", i))
		f.ops = append(f.ops, v)
		f.queue.Members = append(f.queue.Members, store.ChatQueueMember{Kind: "user", ID: v.UserID})
	}
	if err := st.SaveChatQueue(ctx, f.queue); err != nil {
		t.Fatal(err)
	}
	f.ch, err = f.svc.CreateChannel(ctx, chat.NewChannel{Kind: chat.KindTelegram, ExternalID: "4242", Name: "@shop_bot",
		QueueID: f.queue.ID, ContactOwnerID: admin.UserID, Secret: map[string]string{"token": "4242:secret"}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) write(t *testing.T, id, customer, text string) {
	t.Helper()
	err := f.svc.Receive(f.ctx, f.ch, chat.Inbound{ID: id, Address: customer, Text: text,
		Customer: chat.Customer{ID: customer, Name: "Customer " + customer}, At: f.clock.Now()})
	if err != nil {
		t.Fatalf("receive %s: %v", id, err)
	}
}

// burst has n new customers write at once, each opening a chat.
func (f *fixture) burst(t *testing.T, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cust := fmt.Sprintf("cust-%02d", i)
			errs <- f.svc.Receive(f.ctx, f.ch, chat.Inbound{ID: "u-" + cust, Address: cust, Text: "help",
				Customer: chat.Customer{ID: cust}, At: f.clock.Now()})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (f *fixture) open(t *testing.T, customer string) *store.Chat {
	t.Helper()
	c, err := f.st.OpenChatAt(f.ctx, f.ch.ID, customer)
	if err != nil {
		t.Fatalf("open chat of %s: %v", customer, err)
	}
	return c
}

func (f *fixture) load(t *testing.T, v access.Viewer) store.ChatOperator {
	t.Helper()
	o, err := f.st.ChatOperatorOf(f.ctx, v.UserID)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestLeastBusyOffersAndTimeout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, chat.RoutingLeastBusy, 3, 0)
		a, b, c := f.ops[0], f.ops[1], f.ops[2]

		// Three operators with nothing: the first customer goes to one of
		// them (ties broken by who took a chat longest ago, then by id).
		f.write(t, "u1", "c1", "hello")
		first := f.open(t, "c1")
		if first.Status != store.ChatOffered || first.OperatorID != a.UserID {
			t.Fatalf("first chat: %s to %s, want offered to %s", first.Status, first.OperatorID, a.UserID)
		}
		if err := f.svc.Accept(f.ctx, a, first.ID); err != nil {
			t.Fatal(err)
		}
		// b and c have no chat; a has one: the next goes to b, then c.
		f.clock.Advance(time.Second)
		f.write(t, "u2", "c2", "hi")
		if got := f.open(t, "c2"); got.OperatorID != b.UserID {
			t.Fatalf("second chat to %s, want %s (least busy)", got.OperatorID, b.UserID)
		}
		if err := f.svc.Accept(f.ctx, b, f.open(t, "c2").ID); err != nil {
			t.Fatal(err)
		}
		f.write(t, "u3", "c3", "hey")
		third := f.open(t, "c3")
		if third.OperatorID != c.UserID {
			t.Fatalf("third chat to %s, want %s", third.OperatorID, c.UserID)
		}

		// c lets it wait past the accept timeout (5 minutes by default):
		// it moves on, c becomes Inactive. a and b hold one each; a took
		// theirs longer ago, so a gets it.
		f.clock.Advance(5*time.Minute + time.Second)
		if err := f.svc.Tick(f.ctx); err != nil {
			t.Fatal(err)
		}
		moved := f.open(t, "c3")
		if moved.Status != store.ChatOffered || moved.OperatorID != a.UserID {
			t.Fatalf("after the timeout: %s to %s, want offered to %s", moved.Status, moved.OperatorID, a.UserID)
		}
		if o := f.load(t, c); o.Active || o.Load != 0 {
			t.Fatalf("operator who let it lapse: active %v load %d, want inactive with no load", o.Active, o.Load)
		}
		// a lets it lapse too, then b: nobody is left who was not offered
		// it, so it waits in the queue (never back to the same operator).
		f.clock.Advance(5*time.Minute + time.Second)
		if err := f.svc.Tick(f.ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.open(t, "c3"); got.OperatorID != b.UserID {
			t.Fatalf("second lapse: to %s, want %s", got.OperatorID, b.UserID)
		}
		f.clock.Advance(5*time.Minute + time.Second)
		if err := f.svc.Tick(f.ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.open(t, "c3"); got.Status != store.ChatQueued || got.OperatorID != "" {
			t.Fatalf("all operators lapsed: %s to %q, want queued", got.Status, got.OperatorID)
		}
		// c comes back: still never offered the same chat again.
		if err := f.svc.SetActive(f.ctx, c, true); err != nil {
			t.Fatal(err)
		}
		if got := f.open(t, "c3"); got.Status != store.ChatQueued {
			t.Fatalf("chat offered again to an operator who had it: %+v", got)
		}
		// The inactive operators' own chats stayed theirs.
		if got := f.open(t, "c1"); got.Status != store.ChatActive || got.OperatorID != a.UserID {
			t.Fatalf("a's accepted chat: %s %s", got.Status, got.OperatorID)
		}
	})
}

func TestToAllClaimRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, chat.RoutingAll, 8, 0)
		f.write(t, "u1", "c1", "who is there?")
		c := f.open(t, "c1")
		if c.Status != store.ChatQueued {
			t.Fatalf("to all: %s, want queued for everyone", c.Status)
		}
		for _, op := range f.ops {
			p, err := f.svc.Panel(f.ctx, op)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Queued) != 1 {
				t.Fatalf("%s sees %d queued chats, want 1", op.Email, len(p.Queued))
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, len(f.ops))
		start := make(chan struct{})
		for i, op := range f.ops {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = f.svc.Accept(f.ctx, op, c.ID)
			}()
		}
		close(start)
		wg.Wait()
		winners := 0
		for i, err := range errs {
			switch {
			case err == nil:
				winners++
			case errors.Is(err, store.ErrChatTaken):
			default:
				t.Errorf("operator %d: %v", i, err)
			}
		}
		if winners != 1 {
			t.Fatalf("%d operators took the chat, want exactly 1", winners)
		}
		total := 0
		for _, op := range f.ops {
			total += f.load(t, op).Load
		}
		if total != 1 {
			t.Fatalf("operators' load sums to %d, want 1", total)
		}
	})
}

func TestCapUnderConcurrentChats(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		for _, routing := range []chat.Routing{chat.RoutingLeastBusy, chat.RoutingAll} {
			t.Run(string(routing), func(t *testing.T) {
				st := st
				if routing == chat.RoutingAll {
					st = storetest.Open(t, st.Postgres())
				}
				f := newFixture(t, st, routing, 5, 0)
				const chats = 50
				f.burst(t, chats)
				var wg sync.WaitGroup
				errs := make(chan error, chats*len(f.ops))
				if routing == chat.RoutingAll {
					// Every operator grabs every chat at once.
					for _, op := range f.ops {
						p, err := f.svc.Panel(f.ctx, op)
						if err != nil {
							t.Fatal(err)
						}
						for _, c := range p.Queued {
							wg.Add(1)
							go func() {
								defer wg.Done()
								if err := f.svc.Accept(f.ctx, op, c.ID); err != nil && !errors.Is(err, store.ErrChatTaken) && !errors.Is(err, store.ErrAtCap) {
									errs <- err
								}
							}()
						}
					}
					wg.Wait()
				}
				close(errs)
				for err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
				held := 0
				for _, op := range f.ops {
					o := f.load(t, op)
					cs, err := f.st.OperatorChats(f.ctx, op.UserID, 2)
					if err != nil {
						t.Fatal(err)
					}
					mine := 0
					for _, c := range cs {
						if c.OperatorID == op.UserID {
							mine++
						}
					}
					if o.Load > 2 || mine > 2 || o.Load != mine {
						t.Fatalf("%s: load %d, chats %d; cap is 2", op.Email, o.Load, mine)
					}
					held += mine
				}
				if held != 10 {
					t.Fatalf("%d chats held or offered, want 10 (5 operators × 2)", held)
				}
			})
		}
	})
}

func TestCompletionTimeoutOpensNewChat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, chat.RoutingLeastBusy, 1, 10)
		op := f.ops[0]
		f.write(t, "u1", "c1", "my order is late")
		first := f.open(t, "c1")
		if err := f.svc.Accept(f.ctx, op, first.ID); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
		if _, err := f.svc.Reply(f.ctx, op, first.ID, "It ships today"); err != nil {
			t.Fatal(err)
		}
		if sent := f.ad.Sent(); len(sent) != 1 || sent[0] != "c1: It ships today" {
			t.Fatalf("sent %q", f.ad.Sent())
		}
		// Within the timeout the customer's answer stays in the chat.
		f.clock.Advance(9 * time.Minute)
		f.write(t, "u2", "c1", "thanks")
		if got := f.open(t, "c1"); got.ID != first.ID {
			t.Fatal("a message inside the completion timeout opened a new chat")
		}
		// The customer wrote last: the timer leaves the chat open.
		f.clock.Advance(time.Hour)
		if err := f.svc.Tick(f.ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.open(t, "c1"); got.ID != first.ID {
			t.Fatal("completed a chat whose customer wrote last")
		}
		if _, err := f.svc.Reply(f.ctx, op, first.ID, "You're welcome"); err != nil {
			t.Fatal(err)
		}
		// 10 minutes after the last reply, the next message opens a new chat
		// (the timer has not run: the delivery itself sees the timeout).
		f.clock.Advance(10 * time.Minute)
		f.write(t, "u3", "c1", "one more thing")
		second := f.open(t, "c1")
		if second.ID == first.ID {
			t.Fatal("message after the completion timeout went to the old chat")
		}
		old, err := f.st.GetChat(f.ctx, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if old.Status != store.ChatCompleted {
			t.Fatalf("old chat %s, want completed", old.Status)
		}
		// The operator's place came free: the new chat is offered to them.
		if second.Status != store.ChatOffered || second.OperatorID != op.UserID {
			t.Fatalf("new chat: %s to %s", second.Status, second.OperatorID)
		}
		// Same customer, same contact.
		if second.ContactID == "" || second.ContactID != first.ContactID {
			t.Fatalf("contacts %q and %q, want the same customer contact", first.ContactID, second.ContactID)
		}
		// The timer completes an idle chat too.
		if err := f.svc.Accept(f.ctx, op, second.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Reply(f.ctx, op, second.ID, "Sure"); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(11 * time.Minute)
		if err := f.svc.Tick(f.ctx); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.st.GetChat(f.ctx, second.ID); got.Status != store.ChatCompleted {
			t.Fatalf("idle chat after tick: %s", got.Status)
		}
		if o := f.load(t, op); o.Load != 0 {
			t.Fatalf("load %d after completion", o.Load)
		}
	})
}

func TestDuplicateDeliveryStoredOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, chat.RoutingAll, 1, 0)
		// The first update opens the chat; the second goes to it (on
		// PostgreSQL the one-statement path, which hands a redelivery
		// back to the transaction).
		for _, id := range []string{"update-7", "update-7", "update-8", "update-7", "update-8"} {
			f.write(t, id, "c1", "hello")
		}
		c := f.open(t, "c1")
		ms, err := f.st.ChatMessages(f.ctx, c.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 || c.Unread != 2 {
			t.Fatalf("%d messages, unread %d after 5 deliveries of two updates", len(ms), c.Unread)
		}
		chats, err := f.st.ListChats(f.ctx, store.ChatFilter{ContactID: c.ContactID})
		if err != nil || len(chats) != 1 {
			t.Fatalf("chats of the contact: %d, %v", len(chats), err)
		}
	})
}

func TestReplyFailureKept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, chat.RoutingAll, 2, 0)
		f.write(t, "u1", "c1", "hello")
		c := f.open(t, "c1")
		if _, err := f.svc.Reply(f.ctx, f.ops[0], c.ID, "not mine"); !errors.Is(err, store.ErrForbidden) {
			t.Fatalf("reply to a chat not held: %v, want forbidden", err)
		}
		if err := f.svc.Accept(f.ctx, f.ops[0], c.ID); err != nil {
			t.Fatal(err)
		}
		f.ad.Fail(&chat.SendError{Code: "blocked", Err: errors.New("bot was blocked by the user")})
		_, err := f.svc.Reply(f.ctx, f.ops[0], c.ID, "are you there?")
		var se *chat.SendError
		if !errors.As(err, &se) || se.Code != "blocked" {
			t.Fatalf("reply error %v, want the adapter's", err)
		}
		ms, _ := f.st.ChatMessages(f.ctx, c.ID, "")
		last := ms[len(ms)-1]
		if last.Body != "are you there?" || last.State != "failed" || last.Error != "blocked" {
			t.Fatalf("failed reply stored as %+v", last)
		}
		// Another operator cannot complete or transfer it.
		if err := f.svc.Complete(f.ctx, f.ops[1], c.ID); !errors.Is(err, store.ErrForbidden) {
			t.Fatalf("complete by another operator: %v", err)
		}
	})
}

func TestTransfer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, chat.RoutingAll, 2, 0)
		a, b := f.ops[0], f.ops[1]
		for i := range 3 {
			f.write(t, fmt.Sprint("u", i), fmt.Sprint("c", i), "hi")
		}
		for i := range 2 {
			if err := f.svc.Accept(f.ctx, b, f.open(t, fmt.Sprint("c", i)).ID); err != nil {
				t.Fatal(err)
			}
		}
		third := f.open(t, "c2")
		if err := f.svc.Accept(f.ctx, a, third.ID); err != nil {
			t.Fatal(err)
		}
		// b is at the cap: the transfer is refused and a keeps the chat.
		if err := f.svc.Transfer(f.ctx, a, third.ID, b.UserID, ""); !errors.Is(err, store.ErrAtCap) {
			t.Fatalf("transfer to an operator at the cap: %v", err)
		}
		if err := f.svc.Complete(f.ctx, b, f.open(t, "c0").ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Transfer(f.ctx, a, third.ID, b.UserID, ""); err != nil {
			t.Fatal(err)
		}
		if got := f.open(t, "c2"); got.OperatorID != b.UserID || f.load(t, a).Load != 0 || f.load(t, b).Load != 2 {
			t.Fatalf("after transfer: operator %s, loads %d/%d", got.OperatorID, f.load(t, a).Load, f.load(t, b).Load)
		}
	})
}

func TestBotHandover(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, chat.RoutingLeastBusy, 1, 0)
		op := f.ops[0]
		// The bot holds the thread: the customer's messages arrive on
		// standby and the bot answers; no operator is involved.
		in := func(id string, dir chat.Direction, text string) {
			t.Helper()
			if err := f.svc.Receive(f.ctx, f.ch, chat.Inbound{ID: id, Address: "psid-1", Text: text, Direction: dir,
				Customer: chat.Customer{ID: "psid-1", Name: "Ann"}, At: f.clock.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		in("m1", chat.Standby, "where is my parcel?")
		in("m2", chat.FromBot, "Let me find a human")
		c := f.open(t, "psid-1")
		if c.Status != store.ChatBot || c.OperatorID != "" {
			t.Fatalf("bot-handled chat: %s %q", c.Status, c.OperatorID)
		}
		// The bot passes the thread to Tandem: routed to the operator.
		if err := f.svc.Handover(f.ctx, f.ch, "psid-1", true); err != nil {
			t.Fatal(err)
		}
		if got := f.open(t, "psid-1"); got.Status != store.ChatOffered || got.OperatorID != op.UserID {
			t.Fatalf("after pass: %s %s", got.Status, got.OperatorID)
		}
		if err := f.svc.Accept(f.ctx, op, c.ID); err != nil {
			t.Fatal(err)
		}
		// Completing gives the thread back to the bot.
		if err := f.svc.Complete(f.ctx, op, c.ID); err != nil {
			t.Fatal(err)
		}
		if rel := f.ad.Released(); len(rel) != 1 || rel[0] != "psid-1" {
			t.Fatalf("released %v", rel)
		}
		// The bot takes a thread back from an operator: the operator is freed.
		in("m3", chat.FromCustomer, "again me")
		c2 := f.open(t, "psid-1")
		if err := f.svc.Accept(f.ctx, op, c2.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Handover(f.ctx, f.ch, "psid-1", false); err != nil {
			t.Fatal(err)
		}
		if got := f.open(t, "psid-1"); got.Status != store.ChatBot || f.load(t, op).Load != 0 {
			t.Fatalf("after take: %s, load %d", got.Status, f.load(t, op).Load)
		}
	})
}

type fakeCases struct{ made []string }

func (f *fakeCases) CreateCaseFromChat(_ context.Context, v access.Viewer, chatID, contactID, subject string) (string, error) {
	f.made = append(f.made, chatID+"|"+contactID+"|"+subject+"|"+v.UserID)
	return "case-1", nil
}

func TestActions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, chat.RoutingAll, 2, 0)
		cases := &fakeCases{}
		f.svc.Cases = cases
		var got struct {
			body []byte
			sig  string
		}
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got.body, _ = io.ReadAll(r.Body)
			got.sig = r.Header.Get(chat.SignatureHeader)
			if strings.Contains(r.URL.Path, "fail") {
				w.WriteHeader(http.StatusBadGateway)
			}
		}))
		defer hook.Close()
		other := &store.ChatQueue{Name: "Other", Routing: "all"}
		if err := st.SaveChatQueue(f.ctx, other); err != nil {
			t.Fatal(err)
		}
		caseAct := &store.ChatAction{Name: "Create case", Process: "create_case"}
		hookAct := &store.ChatAction{Name: "Refund", Process: "webhook", URL: hook.URL + "/refund", QueueID: f.queue.ID}
		failAct := &store.ChatAction{Name: "Broken", Process: "webhook", URL: hook.URL + "/fail"}
		elsewhere := &store.ChatAction{Name: "Other queue", Process: "create_case", QueueID: other.ID}
		for _, a := range []*store.ChatAction{caseAct, hookAct, failAct, elsewhere} {
			secret := ""
			if a.Process == "webhook" {
				secret = "s3cret-of-the-refund-hook"
			}
			if err := f.svc.SaveAction(f.ctx, a, secret); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.svc.SaveAction(f.ctx, &store.ChatAction{Name: "x", Process: "shell"}, ""); err == nil {
			t.Fatal("an unknown process was accepted")
		}
		f.write(t, "u1", "c1", "I want a refund")
		c := f.open(t, "c1")
		op := f.ops[0]
		if err := f.svc.Accept(f.ctx, op, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RunAction(f.ctx, op, c.ID, caseAct.ID); err != nil {
			t.Fatal(err)
		}
		if want := c.ID + "|" + c.ContactID + "|I want a refund|" + op.UserID; len(cases.made) != 1 || cases.made[0] != want {
			t.Fatalf("case made %q, want %q", cases.made, want)
		}
		if _, err := f.svc.RunAction(f.ctx, op, c.ID, hookAct.ID); err != nil {
			t.Fatal(err)
		}
		mac := hmac.New(sha256.New, []byte("s3cret-of-the-refund-hook"))
		mac.Write(got.body)
		if got.sig != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			t.Fatalf("signature %q does not match the body", got.sig)
		}
		var payload map[string]string
		if err := json.Unmarshal(got.body, &payload); err != nil || payload["chat_id"] != c.ID || payload["contact_id"] != c.ContactID {
			t.Fatalf("payload %s (%v)", got.body, err)
		}
		if _, err := f.svc.RunAction(f.ctx, op, c.ID, failAct.ID); !errors.Is(err, chat.ErrActionFailed) {
			t.Fatalf("failing webhook: %v", err)
		}
		if _, err := f.svc.RunAction(f.ctx, op, c.ID, elsewhere.ID); !errors.Is(err, chat.ErrActionUnavailable) {
			t.Fatalf("another queue's action: %v", err)
		}
		outsider := storetest.User(t, st, "outsider@example.com")
		if _, err := f.svc.RunAction(f.ctx, outsider, c.ID, caseAct.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("an outsider ran an action: %v", err)
		}
	})
}

func TestCreateCaseFromChat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, chat.RoutingAll, 1, 0)
		f.svc.Cases = chat.StoreCases{St: st}
		act := &store.ChatAction{Name: "Create case", Process: "create_case"}
		if err := f.svc.SaveAction(f.ctx, act, ""); err != nil {
			t.Fatal(err)
		}
		f.write(t, "u1", "c1", "The parcel arrived broken")
		c := f.open(t, "c1")
		op := f.ops[0]
		if err := f.svc.Accept(f.ctx, op, c.ID); err != nil {
			t.Fatal(err)
		}
		res, err := f.svc.RunAction(f.ctx, op, c.ID, act.ID)
		if err != nil {
			t.Fatal(err)
		}
		cases, _, err := st.ListCases(f.ctx, op, store.CaseFilter{SourceChatID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(cases) != 1 || cases[0].ID != res.CaseID || cases[0].Subject != "The parcel arrived broken" ||
			cases[0].ContactID != c.ContactID || cases[0].OwnerID != op.UserID {
			t.Fatalf("cases of the chat: %+v", cases)
		}
	})
}

// A chat every operator let lapse waits at the head of the queue; chats
// behind it are still offered when an operator frees up.
func TestDispatchPastAStuckChat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, chat.RoutingLeastBusy, 1, 0)
		op := f.ops[0]
		f.write(t, "u0", "stuck", "first")
		f.clock.Advance(5*time.Minute + time.Second)
		if err := f.svc.Tick(f.ctx); err != nil { // op lets it lapse: it waits, op is inactive
			t.Fatal(err)
		}
		if err := f.svc.SetActive(f.ctx, op, true); err != nil {
			t.Fatal(err)
		}
		for _, cust := range []string{"a", "b"} {
			f.write(t, "u-"+cust, cust, "hi")
			if err := f.svc.Accept(f.ctx, op, f.open(t, cust).ID); err != nil {
				t.Fatal(err)
			}
		}
		f.write(t, "u-c", "c", "waiting") // op is at the cap: c waits behind stuck
		if got := f.open(t, "c"); got.Status != store.ChatQueued {
			t.Fatalf("c: %s, want queued", got.Status)
		}
		if err := f.svc.Complete(f.ctx, op, f.open(t, "a").ID); err != nil {
			t.Fatal(err)
		}
		if got := f.open(t, "c"); got.Status != store.ChatOffered || got.OperatorID != op.UserID {
			t.Fatalf("the chat behind the stuck one: %s to %q", got.Status, got.OperatorID)
		}
		if got := f.open(t, "stuck"); got.Status != store.ChatQueued {
			t.Fatalf("the stuck chat went back to who let it lapse: %s", got.Status)
		}
	})
}

func TestOperatorsOverCapCounts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, chat.RoutingAll, 1, 0)
		for _, cust := range []string{"a", "b"} {
			f.write(t, "u-"+cust, cust, "hi")
			if err := f.svc.Accept(f.ctx, f.ops[0], f.open(t, cust).ID); err != nil {
				t.Fatal(err)
			}
		}
		for capacity, want := range map[int]int{2: 0, 1: 1} {
			if n, err := st.ChatOperatorsOverCap(f.ctx, capacity); err != nil || n != want {
				t.Fatalf("over a cap of %d: %d (%v), want %d", capacity, n, err, want)
			}
		}
	})
}

// A channel read for delivery is cached, and this process's own change
// drops it: a webhook right after switching a channel off sees it off.
func TestChannelCacheDroppedOnChange(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, chat.RoutingLeastBusy, 1, 0)
		ch, err := f.svc.Channel(f.ctx, f.ch.ID)
		if err != nil || !ch.Active {
			t.Fatalf("channel: %+v, %v", ch, err)
		}
		if err := f.svc.UpdateChannel(f.ctx, f.ch.ID, chat.ChannelUpdate{Name: ch.Name, QueueID: ch.QueueID, Active: false}); err != nil {
			t.Fatal(err)
		}
		ch, err = f.svc.Channel(f.ctx, f.ch.ID)
		if err != nil || ch.Active {
			t.Fatalf("after switching off: active %v, %v", ch.Active, err)
		}
		if err := f.svc.Receive(f.ctx, ch, chat.Inbound{ID: "x1", Address: "c1", Text: "hi",
			Customer: chat.Customer{ID: "c1"}, At: f.clock.Now()}); !errors.Is(err, chat.ErrChannelInactive) {
			t.Fatalf("delivery to a switched-off channel: %v", err)
		}
	})
}

// With the router running, a burst of new chats is offered off the
// deliveries' path: every operator ends with exactly their cap, nobody
// above it, the rest wait queued, and each offer was announced.
func TestRouterOffersABurst(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		f := newFixture(t, st, chat.RoutingLeastBusy, 5, 0)
		events, stop := f.svc.Bus().Subscribe()
		defer stop()
		ctx, cancel := context.WithCancel(f.ctx)
		routed := make(chan struct{})
		go func() { defer close(routed); f.svc.RunRouter(ctx) }()
		defer func() { cancel(); <-routed }()
		for wait := time.After(10 * time.Second); !chat.RouterRunning(f.svc); {
			select {
			case <-wait:
				t.Fatal("router did not start")
			case <-time.After(time.Millisecond):
			}
		}
		const chats = 40
		f.burst(t, chats)
		offered := map[string]bool{}
		deadline := time.After(30 * time.Second)
		for len(offered) < 10 {
			select {
			case e := <-events:
				if e.Type == chat.EventOffered {
					if offered[e.ChatID] {
						t.Fatalf("chat %s offered twice", e.ChatID)
					}
					offered[e.ChatID] = true
				}
			case <-deadline:
				t.Fatalf("%d offers announced, want 10 (5 operators × 2)", len(offered))
			}
		}
		for _, op := range f.ops {
			if o := f.load(t, op); o.Load != 2 {
				t.Fatalf("%s: load %d, want the cap 2", op.Email, o.Load)
			}
		}
		queued, err := f.st.QueuedChats(f.ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(queued) != chats-10 {
			t.Fatalf("%d chats queued, want %d", len(queued), chats-10)
		}
		// Every customer got their contact, made by the router in
		// batches, linked to their chat.
		f.svc.WaitRouted()
		for i := range chats {
			c := f.open(t, fmt.Sprintf("cust-%02d", i))
			if c.ContactID == "" {
				t.Fatalf("chat of cust-%02d has no contact", i)
			}
		}
	})
}
