package chat_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// Events published on one PostgreSQL bus reach a second bus on the same
// database (another process), all of them, in order, also in a burst
// that goes out in batches.
func TestPGBusBetweenProcesses(t *testing.T) {
	st := storetest.Open(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub := chat.NewPGBus(st.PgxPool(), nil)
	sub := chat.NewPGBus(st.PgxPool(), nil)
	defer pub.Close()
	defer sub.Close()
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); sub.Listen(lctx) }()
	defer func() { stop(); <-done }()
	select {
	case <-sub.Ready():
	case <-ctx.Done():
		t.Fatal("the bus does not listen")
	}
	events, unsub := sub.Subscribe()
	defer unsub()
	const n = 500
	for i := range n {
		if err := pub.Publish(ctx, chat.Event{Type: chat.EventMessage, ChatID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		select {
		case e := <-events:
			if e.ChatID != fmt.Sprint(i) {
				t.Fatalf("event %d is %q: out of order or lost", i, e.ChatID)
			}
		case <-ctx.Done():
			t.Fatalf("only %d of %d events arrived", i, n)
		}
	}
}
