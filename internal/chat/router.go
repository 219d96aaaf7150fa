package chat

import (
	"context"
	"fmt"
	"sync/atomic"
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

// routerBatch bounds the chats the router takes at once.
const routerBatch = 256

type router struct {
	in      chan routeReq
	running atomic.Bool
}

func newRouter() *router { return &router{in: make(chan routeReq, 4*routerBatch)} }

// RunRouter offers new chats until ctx ends. Without it running, a
// delivery offers its own chat before it returns (tests, and processes
// that only run jobs).
func (s *Service) RunRouter(ctx context.Context) {
	if !s.router.running.CompareAndSwap(false, true) {
		return // one per service
	}
	defer s.router.running.Store(false)
	for {
		var batch []routeReq
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
		s.offerInOrder(ctx, batch)
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
