// Package chattest is a channel kind for tests: it records what operators
// send and what is handed back to a bot, and refuses replies on demand.
package chattest

import (
	"context"
	"fmt"
	"sync"

	"github.com/tandem-crm/tandem/internal/chat"
)

// Adapter is a chat.Adapter and chat.Releaser whose service is the test.
// It plays the Telegram kind, so a test's channels are Telegram ones.
type Adapter struct {
	mu       sync.Mutex
	sent     []string
	released []string
	fail     error
}

// Kind implements chat.Adapter.
func (a *Adapter) Kind() chat.Kind { return chat.KindTelegram }

// Send records "address: text", or returns the error set by Fail.
func (a *Adapter) Send(_ context.Context, _ *chat.Channel, address string, out chat.Outgoing) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return "", a.fail
	}
	a.sent = append(a.sent, address+": "+out.Text)
	return fmt.Sprintf("sent-%d", len(a.sent)), nil
}

// Release records the address whose thread went back to the bot.
func (a *Adapter) Release(_ context.Context, _ *chat.Channel, address string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.released = append(a.released, address)
	return nil
}

// Fail makes the following sends fail with err (nil: succeed again).
func (a *Adapter) Fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail = err
}

// Sent lists what was sent, "address: text", in order.
func (a *Adapter) Sent() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.sent...)
}

// Released lists the addresses handed back to the bot, in order.
func (a *Adapter) Released() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.released...)
}
