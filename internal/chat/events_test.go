package chat_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// Events published on one PostgreSQL bus reach a second bus on the same
// database (another process), all of them, in order, also in a burst
// that goes out in batches; the publisher's own subscribers have each
// exactly once (at once, not again when its NOTIFY comes back).
func TestPGBusBetweenProcesses(t *testing.T) {
	st := storetest.Open(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub := chat.NewPGBus(st.PgxPool(), nil)
	sub := chat.NewPGBus(st.PgxPool(), nil)
	defer pub.Close()
	defer sub.Close()
	lctx, stop := context.WithCancel(ctx)
	var done sync.WaitGroup
	for _, b := range []*chat.PGBus{pub, sub} {
		done.Go(func() { b.Listen(lctx) })
		select {
		case <-b.Ready():
		case <-ctx.Done():
			t.Fatal("the bus does not listen")
		}
	}
	defer func() { stop(); done.Wait() }()
	events, unsub := sub.Subscribe()
	defer unsub()
	own, unsubOwn := pub.Subscribe()
	defer unsubOwn()
	const n = 500
	for i := range n {
		if err := pub.Publish(ctx, chat.Event{Type: chat.EventMessage, ChatID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, ch := range []<-chan chat.Event{own, events} {
		for i := range n {
			select {
			case e := <-ch:
				if e.ChatID != fmt.Sprint(i) {
					t.Fatalf("event %d is %q: out of order or lost", i, e.ChatID)
				}
			case <-ctx.Done():
				t.Fatalf("only %d of %d events arrived", i, n)
			}
		}
	}
	// The other process has had every batch, so the publisher's listener
	// had its own before this one: it must be the next event.
	if err := sub.Publish(ctx, chat.Event{Type: chat.EventMessage, ChatID: "from the other process"}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-own:
		if e.ChatID != "from the other process" {
			t.Fatalf("the publisher had its own event %q twice", e.ChatID)
		}
	case <-ctx.Done():
		t.Fatal("the other process's event never arrived")
	}
}
