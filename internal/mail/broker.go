package mail

import "sync"

// Broker passes "letters were stored for mailbox X" to the panels open in
// this process (their event streams). It is in-process only: letters
// stored by another process (a `tandem worker`) reach the panels through
// their periodic look at the database instead.
type Broker struct {
	mu   sync.Mutex
	subs map[chan string]struct{}
}

// NewBroker returns an empty broker.
func NewBroker() *Broker { return &Broker{subs: map[chan string]struct{}{}} }

// Publish tells every subscriber that mailboxID changed. A subscriber
// that has not read its previous news is not waited for: one pending
// notice is enough to refresh a list.
func (b *Broker) Publish(mailboxID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- mailboxID:
		default:
		}
	}
}

// Subscribe returns a channel of changed mailbox ids and the function
// that ends the subscription.
func (b *Broker) Subscribe() (<-chan string, func()) {
	ch := make(chan string, 1)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}
