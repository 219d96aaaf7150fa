package chat

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tandem-crm/tandem/internal/store"
)

// The router offers new chats off the path of the delivery that opened
// them. A webhook answers once the message is stored and announced; its
// chat's offer follows in this process's router goroutine. Offered from
// each delivery's own request, a burst of new chats (every customer new
// after a start) read the same operators as free and queued in the
// database on those operators' rows, each holding a connection and a
// webhook slot, and later messages waited seconds behind them. The
// router takes what has arrived in a batch, offers one chat at a time
// (each sees the last one's result) and, once a queue has nobody free,
// leaves that queue's other new chats waiting: dispatch offers them when
// someone frees up, as it does for every waiting chat. A chat whose
// process stops before its offer waits likewise, until the next dispatch
// (at the latest the tick).

// routeReq is a new chat to offer.
type routeReq struct{ chatID, queueID string }

// work is what a delivery leaves to the router: a chat to offer, a
// customer whose contact to make, or both; or a pass over every waiting
// chat (someone freed up).
type work struct {
	route    *routeReq
	customer *store.ChatCustomer
	dispatch bool
}

// routerBatch bounds the chats the router takes at once.
const routerBatch = 256

type router struct {
	in      chan work
	running atomic.Bool

	mu      sync.Mutex
	pending int        // handed in and not yet done
	idle    *sync.Cond // signalled when pending drops to 0
}

func newRouter() *router {
	r := &router{in: make(chan work, 4*routerBatch)}
	r.idle = sync.NewCond(&r.mu)
	return r
}

func (r *router) add(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending += n
	if r.pending == 0 {
		r.idle.Broadcast()
	}
}

// WaitRouted waits until the work deliveries handed to the router so far
// is done (their contacts made, their chats offered): for tests, and for
// a process about to stop.
func (s *Service) WaitRouted() {
	r := s.router
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.pending > 0 {
		r.idle.Wait()
	}
}

// RunRouter offers new chats until ctx ends. Without it running, a
// delivery offers its own chat before it returns (tests, and processes
// that only run jobs).
func (s *Service) RunRouter(ctx context.Context) {
	if !s.router.running.CompareAndSwap(false, true) {
		return // one per service
	}
	defer s.router.running.Store(false)
	for {
		var batch []work
		select {
		case <-ctx.Done():
			return
		case r := <-s.router.in:
			batch = append(batch, r)
		}
		for more := true; more && len(batch) < routerBatch; {
			select {
			case r := <-s.router.in:
				batch = append(batch, r)
			default:
				more = false
			}
		}
		s.doWork(ctx, batch)
		s.router.add(-len(batch))
	}
}

// doWork makes the batch's customers' contacts, then offers its chats.
func (s *Service) doWork(ctx context.Context, batch []work) {
	var customers []store.ChatCustomer
	var routes []routeReq
	dispatch := false
	for _, w := range batch {
		if w.customer != nil {
			customers = append(customers, *w.customer)
		}
		if w.route != nil {
			routes = append(routes, *w.route)
		}
		dispatch = dispatch || w.dispatch
	}
	s.linkCustomers(ctx, customers)
	if dispatch {
		// The pass offers the new chats too, oldest first.
		s.dispatchNow(ctx)
		return
	}
	s.offerInOrder(ctx, routes)
}

// linkCustomers makes customers' contacts and tells the panels of their
// chats.
func (s *Service) linkCustomers(ctx context.Context, customers []store.ChatCustomer) {
	if len(customers) == 0 {
		return
	}
	chats, err := s.st.LinkChatCustomers(ctx, customers)
	if err != nil {
		// They stay without a contact until their next message.
		s.log.Error("chat: make customers' contacts", "customers", len(customers), "err", err)
		return
	}
	for _, id := range chats {
		s.publish(ctx, Event{Type: EventContact, ChatID: id})
	}
}

// offerInOrder offers queued chats in the order given. Once nobody of a
// queue has room, that queue's later chats are not tried: they wait, as
// they would have.
func (s *Service) offerInOrder(ctx context.Context, chats []routeReq) {
	capacity := s.capacity(ctx)
	full := map[string]bool{}
	for _, r := range chats {
		if full[r.queueID] {
			continue
		}
		op, err := s.offerNow(ctx, r.chatID, r.queueID, capacity)
		if err != nil {
			s.log.Error("chat: offer new chat", "chat", r.chatID, "err", err)
			continue
		}
		if op == "" {
			// Nobody for this chat: the queue is full, or everyone with
			// room already let this chat lapse.
			room, err := s.st.ChatQueueHasRoom(ctx, r.queueID, capacity)
			if err != nil {
				s.log.Error("chat: queue room", "queue", r.queueID, "err", err)
				continue
			}
			full[r.queueID] = !room
		}
	}
}

// offerNow offers a queued chat and tells the panels; "" when nobody can
// take it now.
func (s *Service) offerNow(ctx context.Context, chatID, queueID string, capacity int) (string, error) {
	op, err := s.st.OfferChat(ctx, chatID, capacity, s.Now())
	if err != nil {
		return "", fmt.Errorf("offer chat: %w", err)
	}
	if op != "" {
		s.publish(ctx, Event{Type: EventOffered, ChatID: chatID, QueueID: queueID, OperatorID: op, Status: StatusOffered})
	}
	return op, nil
}
