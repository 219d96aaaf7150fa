package chat

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// EventType says what happened.
type EventType string

// Event types.
const (
	EventMessage     EventType = "message"     // a message was stored or its state changed
	EventOffered     EventType = "offered"     // offered to OperatorID
	EventAccepted    EventType = "accepted"    // OperatorID took it
	EventCompleted   EventType = "completed"   // over
	EventTransferred EventType = "transferred" // moved to OperatorID or QueueID
	EventExpired     EventType = "expired"     // PrevOperatorID let the offer lapse and is inactive
	EventStatus      EventType = "status"      // moved between the bot and the operators
	EventOperator    EventType = "operator"    // OperatorID's state changed
	EventChannel     EventType = "channel"     // a channel's health changed
	EventContact     EventType = "contact"     // the chat's customer got their contact
)

// Event is one change the panels hear about. It names what changed, not
// the data: a panel reads what it shows from the database, so an event
// carries no more than routing needs and stays small enough for
// PostgreSQL's NOTIFY.
type Event struct {
	Type           EventType `json:"type"`
	ChatID         string    `json:"chat,omitempty"`
	ChannelID      string    `json:"channel,omitempty"`
	QueueID        string    `json:"queue,omitempty"`
	OperatorID     string    `json:"operator,omitempty"`
	PrevOperatorID string    `json:"prev_operator,omitempty"`
	PrevQueueID    string    `json:"prev_queue,omitempty"`
	Status         Status    `json:"status,omitempty"`
	MessageID      string    `json:"message,omitempty"`
	At             time.Time `json:"at"`
}

// Concerns reports whether the event matters to operator userID who works
// queues.
func (e Event) Concerns(userID string, queues map[string]bool) bool {
	switch {
	case e.OperatorID == userID, e.PrevOperatorID == userID:
		return true
	case e.Type == EventOperator, e.Type == EventChannel:
		return false
	}
	return queues[e.QueueID] || queues[e.PrevQueueID]
}

// Bus carries events to every process's panels.
type Bus interface {
	Publish(ctx context.Context, e Event) error
	// Subscribe returns the events published from now on and the function
	// that ends the subscription. A subscriber that falls more than its
	// buffer behind gets a Lagged event and should reload.
	Subscribe() (<-chan Event, func())
}

// EventLagged tells a subscriber it missed events.
const EventLagged EventType = "lagged"

// subscriberBuffer is how far a panel may fall behind before it is told to
// reload: generous, since a panel's events are small and a burst of
// incoming chats can come in the hundreds.
const subscriberBuffer = 1024

// fanout delivers events to this process's subscribers.
type fanout struct {
	mu   sync.Mutex
	subs map[chan Event]bool // value: lagged, waiting to be told
}

func newFanout() *fanout { return &fanout{subs: map[chan Event]bool{}} }

func (f *fanout) deliver(e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch, lagged := range f.subs {
		if lagged {
			select {
			case ch <- Event{Type: EventLagged, At: e.At}:
				f.subs[ch] = false
			default:
				continue
			}
		}
		select {
		case ch <- e:
		default:
			f.subs[ch] = true
		}
	}
}

func (f *fanout) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, subscriberBuffer)
	f.mu.Lock()
	f.subs[ch] = false
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}
}

// LocalBus is the bus of a single process (SQLite: the server runs every
// part of Tandem).
type LocalBus struct{ *fanout }

// NewLocalBus returns a bus within this process.
func NewLocalBus() *LocalBus { return &LocalBus{newFanout()} }

// Publish delivers e to this process's subscribers.
func (b *LocalBus) Publish(_ context.Context, e Event) error {
	b.deliver(e)
	return nil
}

// pgChannel is the NOTIFY channel of chat events.
const pgChannel = "tandem_chat"

// PGBus carries events between processes through PostgreSQL's
// LISTEN/NOTIFY: a server process hands an event to its own panels at
// once and publishes it; every other process hears it on its listening
// connection and hands it to theirs. An operator connected to any process
// sees every event. (The publisher skips its own batches when they come
// back: its panels had them a NOTIFY round trip earlier.)
//
// Events are sent in batches: PostgreSQL serializes the commits of
// notifying transactions, so one NOTIFY per event made a queue of them
// under load (seconds at 200 chat messages a second). A sender goroutine
// takes whatever was published while the previous NOTIFY ran and sends it
// as one JSON array; an idle bus sends each event at once.
type PGBus struct {
	*fanout
	pool   *pgxpool.Pool
	log    *slog.Logger
	ready  chan struct{}
	once   sync.Once
	origin string // this bus's id in its batches

	out     chan Event
	conn    *pgxpool.Conn // the sender's, held between batches
	stop    chan struct{}
	stopped chan struct{}
	closing sync.Once
}

// maxNotify keeps a batch under PostgreSQL's 8000-byte payload limit.
const maxNotify = 7000

// pgBatch is one NOTIFY's payload: the events of one bus, in order.
type pgBatch struct {
	From   string            `json:"from"`
	Events []json.RawMessage `json:"events"`
}

// NewPGBus returns a bus over pool; Listen must run for events to arrive,
// and Close ends its sender.
func NewPGBus(pool *pgxpool.Pool, log *slog.Logger) *PGBus {
	if log == nil {
		log = slog.Default()
	}
	b := &PGBus{fanout: newFanout(), pool: pool, log: log, ready: make(chan struct{}), origin: rand.Text(),
		out: make(chan Event, 4096), stop: make(chan struct{}), stopped: make(chan struct{})}
	go b.send()
	return b
}

// Ready is closed once the bus first listens: events published before
// that are not heard by this process.
func (b *PGBus) Ready() <-chan struct{} { return b.ready }

// Publish delivers e to this process's subscribers and queues it for
// every other process listening; it waits only when the queue is full (the
// database is that far behind).
func (b *PGBus) Publish(ctx context.Context, e Event) error {
	b.deliver(e)
	select {
	case b.out <- e:
		return nil
	case <-b.stop:
		return errors.New("chat bus closed")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close sends what is queued and stops the sender.
func (b *PGBus) Close() {
	b.closing.Do(func() { close(b.stop) })
	<-b.stopped
}

// notify sends one NOTIFY on the sender's own connection: taken from the
// pool per batch, it waited behind every request of a busy process for a
// free one, and every event with it.
func (b *PGBus) notify(ctx context.Context, payload string) error {
	if b.conn == nil {
		c, err := b.pool.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("acquire: %w", err)
		}
		b.conn = c
	}
	if _, err := b.conn.Exec(ctx, "SELECT pg_notify($1, $2)", pgChannel, payload); err != nil {
		// The connection may be broken: give it back closed, take
		// another next time.
		b.conn.Conn().Close(context.WithoutCancel(ctx))
		b.conn.Release()
		b.conn = nil
		return err
	}
	return nil
}

func (b *PGBus) send() {
	defer close(b.stopped)
	defer func() {
		if b.conn != nil {
			b.conn.Release()
		}
	}()
	var batch []json.RawMessage
	empty := len(`{"from":"","events":[]}`) + len(b.origin)
	size := empty
	flush := func() {
		if len(batch) == 0 {
			return
		}
		payload, _ := json.Marshal(pgBatch{From: b.origin, Events: batch})
		batch, size = batch[:0], empty
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.notify(ctx, string(payload)); err != nil {
			b.log.Warn("chat: notify", "err", err)
			// Other processes missed these (this one had them); they learn
			// of it from their own failures, or not at all — their panels
			// also re-read on reconnect.
		}
	}
	add := func(e Event) {
		raw, err := json.Marshal(e)
		if err != nil {
			return
		}
		if size+len(raw)+1 > maxNotify {
			flush()
		}
		batch = append(batch, raw)
		size += len(raw) + 1
	}
	for {
		select {
		case e := <-b.out:
			add(e)
			// Take what else is waiting, then send it all at once.
			for more := true; more; {
				select {
				case e := <-b.out:
					add(e)
				default:
					more = false
				}
			}
			flush()
		case <-b.stop:
			for more := true; more; {
				select {
				case e := <-b.out:
					add(e)
				default:
					more = false
				}
			}
			flush()
			return
		}
	}
}

// Listen holds a connection listening for events until ctx ends,
// reconnecting after a failure; subscribers are told they lagged after a
// reconnect, since notifications sent meanwhile are lost.
func (b *PGBus) Listen(ctx context.Context) error {
	for {
		err := b.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		b.log.Warn("chat: event listener lost its connection", "err", err)
		b.deliver(Event{Type: EventLagged, At: time.Now()})
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func (b *PGBus) listen(ctx context.Context) error {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+pgChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	b.once.Do(func() { close(b.ready) })
	defer func() {
		// The connection returns to the pool: stop listening on it (a
		// background context, since ctx may be over).
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "UNLISTEN "+pgChannel); err != nil {
			conn.Conn().Close(uctx)
		}
	}()
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if strings.HasPrefix(n.Payload, `{"from":"`+b.origin+`"`) {
			continue // this bus's own batch, delivered when published
		}
		var batch struct {
			From   string  `json:"from"`
			Events []Event `json:"events"`
		}
		if err := json.Unmarshal([]byte(n.Payload), &batch); err != nil {
			b.log.Warn("chat: bad event payload", "err", err)
			continue
		}
		for _, e := range batch.Events {
			b.deliver(e)
		}
	}
}
