package chat

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/tandem-crm/tandem/internal/jobs"
)

// TickInterval is how often the chat timers run. Accept and completion
// timeouts are counted in minutes, so a chat moves at most this late.
const TickInterval = 10 * time.Second

// Tick runs the chat timers once at the service's clock: offers not
// accepted within OmniChatOperatorAcceptChatTimeout go to the next
// operator (the one who let them lapse becomes Inactive), chats idle for
// their queue's completion timeout are completed, and queued chats are
// offered to operators who freed up.
func (s *Service) Tick(ctx context.Context) error {
	now := s.Now()
	expired, err := s.st.ExpireChatOffers(ctx, now.Add(-s.acceptTimeout(ctx)), now)
	for _, e := range expired {
		s.publish(ctx, Event{Type: EventExpired, ChatID: e.ChatID, PrevOperatorID: e.OperatorID, Status: StatusQueued})
		s.publish(ctx, Event{Type: EventOperator, OperatorID: e.OperatorID})
	}
	if err != nil {
		return fmt.Errorf("expire offers: %w", err)
	}
	idle, err := s.st.IdleChats(ctx, now)
	if err != nil {
		return fmt.Errorf("find idle chats: %w", err)
	}
	for _, id := range idle {
		c, err := s.st.GetChat(ctx, id)
		if err != nil {
			return err
		}
		if err := s.st.CompleteChat(ctx, id, "", "timeout", now); err != nil {
			return fmt.Errorf("complete idle chat: %w", err)
		}
		s.afterComplete(ctx, c)
	}
	s.dispatchNow(ctx)
	return nil
}

// dispatch offers waiting "least busy" chats (through the router when it
// runs: the completions of a busy second then make one pass, not one
// each, side by side).
func (s *Service) dispatch(ctx context.Context) { s.leave(ctx, work{dispatch: true}) }

// dispatchNow offers waiting "least busy" chats, oldest first. Once no
// operator of a queue has room, its later chats are not tried in this
// pass (every completion runs one, over every waiting chat).
func (s *Service) dispatchNow(ctx context.Context) {
	waiting, err := s.st.QueuedChats(ctx, 200)
	if err != nil {
		s.log.Error("chat: list queued chats", "err", err)
		return
	}
	reqs := make([]routeReq, len(waiting))
	for i, c := range waiting {
		reqs[i] = routeReq{chatID: c.ID, queueID: c.QueueID}
	}
	s.offerInOrder(ctx, reqs)
}

type tickArgs struct{}

func (tickArgs) Kind() string { return "chat.tick" }

type tickWorker struct {
	river.WorkerDefaults[tickArgs]
	s *Service
}

func (w *tickWorker) Work(ctx context.Context, _ *river.Job[tickArgs]) error { return w.s.Tick(ctx) }

// Register adds the chat timers to the job registry: one tick at a time
// across every process.
func (s *Service) Register(r *jobs.Registry) {
	jobs.Register(r, &tickWorker{s: s}, &jobs.KindOptions{MaxAttempts: 1})
	r.AddPeriodic(TickInterval, tickArgs{}, &river.InsertOpts{UniqueOpts: jobs.OnePerKey()})
}
