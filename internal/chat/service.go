package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
)

// Adapter connects one kind of channel: it sends operators' replies.
type Adapter interface {
	Kind() Kind
	// Send delivers out to the customer at address and returns the
	// service's id of the sent message. A *SendError says why it failed.
	Send(ctx context.Context, ch *Channel, address string, out Outgoing) (string, error)
}

// Activator is an adapter that tells its service where to deliver (a
// Telegram webhook) when a channel is switched on, and stops it when it is
// switched off or deleted.
type Activator interface {
	Activate(ctx context.Context, ch *Channel) error
	Deactivate(ctx context.Context, ch *Channel) error
}

// Releaser is an adapter whose service lets a bot hold a thread
// (Messenger's handover protocol): a completed chat's thread goes back to
// the bot.
type Releaser interface {
	Release(ctx context.Context, ch *Channel, address string) error
}

// SendError is a reply the service refused, with a reason code the UI
// translates ("chat.send.<Code>") and whether trying again could help.
type SendError struct {
	Code      string // blocked, window_closed, thread_owned, rate_limited, not_found, failed
	Temporary bool
	Err       error
}

func (e *SendError) Error() string { return "send: " + e.Code + ": " + e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// Channel is a channel as adapters see it: its secret opened.
type Channel struct {
	ID         string
	Kind       Kind
	ExternalID string
	Name       string
	Active     bool
	QueueID    string
	Config     json.RawMessage
	Secret     json.RawMessage
}

// Errors of the service, beside the store's (store.ErrChatTaken,
// store.ErrAtCap, store.ErrOperatorInactive, store.ErrNotQueueMember,
// store.ErrForbidden, store.ErrNotFound).
var (
	ErrNoAdapter       = errors.New("no adapter for the channel kind")
	ErrChannelInactive = errors.New("channel inactive")
)

// Service runs chats.
type Service struct {
	st      *store.Store
	set     *settings.Service
	box     *secret.Box
	log     *slog.Logger
	bus     Bus
	mu      sync.RWMutex
	adapter map[Kind]Adapter
	// Now is the service's clock; tests set it.
	Now func() time.Time
	// Cases creates the built-in action's case; nil: the action is
	// refused.
	Cases CaseCreator
	// HTTP posts webhook actions.
	HTTP HTTPDoer

	// channels caches channels read for delivery: every webhook request
	// reads its channel (to verify the request) and the row changes
	// rarely. This process's own changes drop the entry; another
	// process's are seen within channelMaxAge.
	chMu     sync.Mutex
	channels map[string]cachedChannel

	router *router
}

type cachedChannel struct {
	ch *Channel
	at time.Time
}

// channelMaxAge is how long a channel read for delivery is reused.
const channelMaxAge = time.Second

// New returns the chat service publishing its events on bus.
func New(st *store.Store, set *settings.Service, box *secret.Box, bus Bus, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{st: st, set: set, box: box, bus: bus, log: log, adapter: map[Kind]Adapter{}, Now: func() time.Time { return time.Now().UTC() },
		channels: map[string]cachedChannel{}, router: newRouter()}
}

// Use plugs in the adapter of a channel kind.
func (s *Service) Use(a Adapter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adapter[a.Kind()] = a
}

// Adapter returns the adapter of kind k.
func (s *Service) Adapter(k Kind) (Adapter, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.adapter[k]
	return a, ok
}

// Bus is where the service's events go.
func (s *Service) Bus() Bus { return s.bus }

func (s *Service) capacity(ctx context.Context) int {
	if n := s.set.Int(ctx, "SimultaneousChats"); n > 0 {
		return n
	}
	return 2
}

func (s *Service) acceptTimeout(ctx context.Context) time.Duration {
	n := s.set.Int(ctx, "OmniChatOperatorAcceptChatTimeout")
	if n <= 0 {
		n = 5
	}
	return time.Duration(n) * time.Minute
}

func secretAD(kind Kind, externalID string) string {
	return "chat_channel:" + string(kind) + ":" + externalID
}

// channel opens a stored channel for its adapter.
func (s *Service) channel(c *store.ChatChannel) (*Channel, error) {
	kind, err := ParseKind(c.Kind)
	if err != nil {
		return nil, err
	}
	ch := &Channel{ID: c.ID, Kind: kind, ExternalID: c.ExternalID, Name: c.Name, Active: c.Active, QueueID: c.QueueID,
		Config: json.RawMessage(c.Config)}
	if c.Secret != "" {
		plain, err := s.box.Open(c.Secret, secretAD(kind, c.ExternalID))
		if err != nil {
			return nil, fmt.Errorf("open channel secret: %w", err)
		}
		ch.Secret = json.RawMessage(plain)
	}
	return ch, nil
}

// Channel returns a channel with its secret opened, for its adapter. The
// caller may not change it (it may be shared).
func (s *Service) Channel(ctx context.Context, id string) (*Channel, error) {
	// Wall time, not s.Now: tests move the service's clock by hours.
	now := time.Now()
	s.chMu.Lock()
	c, ok := s.channels[id]
	s.chMu.Unlock()
	if ok && now.Sub(c.at) < channelMaxAge {
		return c.ch, nil
	}
	row, err := s.st.ChatChannelForDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	ch, err := s.channel(row)
	if err != nil {
		return nil, err
	}
	s.chMu.Lock()
	s.channels[id] = cachedChannel{ch: ch, at: now}
	s.chMu.Unlock()
	return ch, nil
}

// forgetChannel drops a changed channel from the cache.
func (s *Service) forgetChannel(id string) {
	s.chMu.Lock()
	delete(s.channels, id)
	s.chMu.Unlock()
}

// ChannelByExternal returns the channel of a bot or page.
func (s *Service) ChannelByExternal(ctx context.Context, kind Kind, externalID string) (*Channel, error) {
	c, err := s.st.ChatChannelByExternal(ctx, string(kind), externalID)
	if err != nil {
		return nil, err
	}
	return s.channel(c)
}

// NewChannel is a channel an adapter has verified, to be saved.
type NewChannel struct {
	Kind           Kind
	ExternalID     string
	Name           string
	QueueID        string
	ContactOwnerID string
	Config         any // JSON-encoded into the channel
	Secret         any // JSON-encoded and sealed
}

// CreateChannel saves a verified channel, active, and activates it at its
// service (a Telegram webhook). ErrDuplicate: the bot or page is a channel
// already.
func (s *Service) CreateChannel(ctx context.Context, n NewChannel) (*Channel, error) {
	a, ok := s.Adapter(n.Kind)
	if !ok {
		return nil, ErrNoAdapter
	}
	cfg, err := json.Marshal(n.Config)
	if err != nil {
		return nil, fmt.Errorf("encode channel config: %w", err)
	}
	sec, err := json.Marshal(n.Secret)
	if err != nil {
		return nil, fmt.Errorf("encode channel secret: %w", err)
	}
	row := &store.ChatChannel{Kind: string(n.Kind), ExternalID: n.ExternalID, Name: n.Name, Active: true, QueueID: n.QueueID,
		Config: string(cfg), Secret: s.box.Seal(string(sec), secretAD(n.Kind, n.ExternalID)), ContactOwnerID: n.ContactOwnerID}
	if err := s.st.CreateChatChannel(ctx, row); err != nil {
		return nil, err
	}
	ch, err := s.channel(row)
	if err != nil {
		return nil, err
	}
	if act, ok := a.(Activator); ok {
		if err := act.Activate(ctx, ch); err != nil {
			s.log.Warn("chat: activate channel", "channel", ch.ID, "err", err)
			s.MarkBroken(ctx, ch.ID, err)
		}
	}
	return ch, nil
}

// ChannelUpdate is what an admin changes on a channel.
type ChannelUpdate struct {
	Name    string
	QueueID string
	Active  bool
}

// UpdateChannel renames a channel, moves it to another queue, or switches
// it on or off (telling its service).
func (s *Service) UpdateChannel(ctx context.Context, id string, u ChannelUpdate) error {
	c, err := s.st.ChatChannel(ctx, id)
	if err != nil {
		return err
	}
	was := c.Active
	c.Name, c.QueueID, c.Active = u.Name, u.QueueID, u.Active
	defer s.forgetChannel(id)
	if err := s.st.UpdateChatChannel(ctx, c); err != nil {
		return err
	}
	if was == u.Active {
		return nil
	}
	ch, err := s.channel(c)
	if err != nil {
		return err
	}
	a, _ := s.Adapter(ch.Kind)
	act, ok := a.(Activator)
	if !ok {
		return nil
	}
	if u.Active {
		err = act.Activate(ctx, ch)
		if err != nil {
			s.MarkBroken(ctx, id, err)
		} else {
			s.markOK(ctx, id)
		}
		return nil
	}
	if err := act.Deactivate(ctx, ch); err != nil {
		s.log.Warn("chat: deactivate channel", "channel", id, "err", err)
	}
	return nil
}

// DeleteChannel deletes a channel without chats (store.ErrChannelHasChats
// otherwise: deactivate it instead).
func (s *Service) DeleteChannel(ctx context.Context, id string) error {
	c, err := s.st.ChatChannel(ctx, id)
	if err != nil {
		return err
	}
	if c.Chats > 0 {
		return store.ErrChannelHasChats
	}
	defer s.forgetChannel(id)
	if err := s.st.DeleteChatChannel(ctx, id); err != nil {
		return err
	}
	if ch, err := s.channel(c); err == nil && c.Active {
		if a, ok := s.Adapter(ch.Kind); ok {
			if act, ok := a.(Activator); ok {
				if err := act.Deactivate(ctx, ch); err != nil {
					s.log.Warn("chat: deactivate deleted channel", "channel", id, "err", err)
				}
			}
		}
	}
	return nil
}

// MarkBroken records that a channel stopped working and why (told to the
// admin on the channels page), e.g. a bot token used by another program.
func (s *Service) MarkBroken(ctx context.Context, channelID string, why error) {
	if err := s.st.SetChatChannelHealth(ctx, channelID, "broken", why.Error()); err != nil {
		s.log.Error("chat: record channel health", "channel", channelID, "err", err)
	}
	s.publish(ctx, Event{Type: EventChannel, ChannelID: channelID})
}

func (s *Service) markOK(ctx context.Context, channelID string) {
	if err := s.st.SetChatChannelHealth(ctx, channelID, "ok", ""); err != nil {
		s.log.Error("chat: record channel health", "channel", channelID, "err", err)
	}
}

// MarkHealthy records that a broken channel works again.
func (s *Service) MarkHealthy(ctx context.Context, channelID string) {
	c, err := s.st.ChatChannel(ctx, channelID)
	if err != nil || c.Health == "ok" {
		return
	}
	s.markOK(ctx, channelID)
	s.publish(ctx, Event{Type: EventChannel, ChannelID: channelID})
}

// Receive takes an inbound event of a channel: stores it once (a
// redelivery is a no-op), opens a chat for a new conversation, makes a
// contact of a new customer, routes the chat and tells the panels. An
// inactive channel's deliveries are refused.
func (s *Service) Receive(ctx context.Context, ch *Channel, in Inbound) error {
	if !ch.Active {
		return ErrChannelInactive
	}
	if in.At.IsZero() {
		in.At = s.Now()
	}
	dir := in.Direction
	if dir == "" {
		dir = FromCustomer
	}
	att := "[]"
	if len(in.Attachments) > 0 {
		b, err := json.Marshal(in.Attachments)
		if err != nil {
			return fmt.Errorf("encode attachments: %w", err)
		}
		att = string(b)
	}
	rc, err := s.st.ChatReceive(ctx, store.ChatInbound{ChannelID: ch.ID, ExternalID: in.ID, Address: in.Address,
		CustomerID: in.Customer.ID, CustomerName: in.Customer.Name, Username: in.Customer.Username, Phone: in.Customer.Phone,
		Body: in.Text, Attachments: att, At: in.At, Direction: string(dir)})
	if err != nil {
		return fmt.Errorf("receive chat message: %w", err)
	}
	if rc.Duplicate {
		return nil
	}
	if rc.Completed != "" {
		s.publish(ctx, Event{Type: EventCompleted, ChatID: rc.Completed, ChannelID: ch.ID})
	}
	s.publish(ctx, Event{Type: EventMessage, ChatID: rc.ChatID, QueueID: rc.QueueID, OperatorID: rc.OperatorID, Status: Status(rc.Status),
		MessageID: rc.MessageID, ChannelID: ch.ID, At: in.At})
	w := work{customer: rc.Customer}
	if rc.Opened && rc.Status == store.ChatQueued && Routing(rc.Routing) == RoutingLeastBusy {
		// A new chat is routed; one already waiting was, and waits for an
		// operator to free up (dispatch).
		w.route = &routeReq{chatID: rc.ChatID, queueID: rc.QueueID}
	}
	s.leave(ctx, w)
	return nil
}

// leave hands w to the router when it runs; without it (or when it is
// that far behind) the work is done here.
func (s *Service) leave(ctx context.Context, w work) {
	if w.customer == nil && w.route == nil && !w.dispatch {
		return
	}
	if s.router.running.Load() {
		s.router.add(1)
		select {
		case s.router.in <- w:
			return
		default:
			s.router.add(-1)
		}
	}
	s.doWork(ctx, []work{w})
}

// route offers a queued chat under "least busy" (through the router when
// it runs); under "to all" the message event already told every operator
// of the queue.
func (s *Service) route(ctx context.Context, chatID, queueID, routing string) {
	if Routing(routing) == RoutingLeastBusy {
		s.leave(ctx, work{route: &routeReq{chatID: chatID, queueID: queueID}})
	}
}

// Handover moves the customer's open chat at address between the bot and
// the operators: toOperators when the bot passed the thread to Tandem (the
// chat is queued and routed), otherwise the bot took it back.
func (s *Service) Handover(ctx context.Context, ch *Channel, address string, toOperators bool) error {
	c, err := s.st.OpenChatAt(ctx, ch.ID, address)
	if errors.Is(err, store.ErrNotFound) {
		return nil // nothing was said yet; the next message opens the chat
	}
	if err != nil {
		return err
	}
	now := s.Now()
	if !toOperators {
		if err := s.st.ChatToBot(ctx, c.ID, now); err != nil {
			return err
		}
		s.publish(ctx, Event{Type: EventStatus, ChatID: c.ID, QueueID: c.QueueID, OperatorID: c.OperatorID, Status: StatusBot})
		return nil
	}
	if err := s.st.ChatFromBot(ctx, c.ID, now); err != nil {
		return err
	}
	c, err = s.st.GetChat(ctx, c.ID)
	if err != nil {
		return err
	}
	s.publish(ctx, Event{Type: EventStatus, ChatID: c.ID, QueueID: c.QueueID, Status: Status(c.Status)})
	if c.Status == store.ChatQueued {
		s.route(ctx, c.ID, c.QueueID, c.Routing)
	}
	return nil
}

// Accept gives a chat to the operator v.
func (s *Service) Accept(ctx context.Context, v access.Viewer, chatID string) error {
	if err := s.st.AcceptChat(ctx, chatID, v.UserID, s.capacity(ctx), s.Now()); err != nil {
		return err
	}
	c, err := s.st.GetChat(ctx, chatID)
	if err != nil {
		return err
	}
	s.publish(ctx, Event{Type: EventAccepted, ChatID: chatID, QueueID: c.QueueID, OperatorID: v.UserID, Status: StatusActive})
	return nil
}

// Reply stores the operator's reply and sends it through the channel. The
// reply stays in the chat's history either way; a failure is recorded on
// it and returned (a *SendError).
func (s *Service) Reply(ctx context.Context, v access.Viewer, chatID, text string) (string, error) {
	c, err := s.st.GetChat(ctx, chatID)
	if err != nil {
		return "", err
	}
	if c.Status != store.ChatActive || c.OperatorID != v.UserID {
		return "", store.ErrForbidden
	}
	ch, err := s.Channel(ctx, c.ChannelID)
	if err != nil {
		return "", err
	}
	a, ok := s.Adapter(ch.Kind)
	if !ok {
		return "", ErrNoAdapter
	}
	msgID, err := s.st.AddChatReply(ctx, chatID, v.UserID, text, "", s.Now())
	if err != nil {
		return "", err
	}
	s.publish(ctx, Event{Type: EventMessage, ChatID: chatID, QueueID: c.QueueID, OperatorID: v.UserID, Status: StatusActive, MessageID: msgID})
	ext, sendErr := a.Send(ctx, ch, c.Address, Outgoing{Text: text, LastInbound: c.LastInAt})
	if sendErr != nil {
		var se *SendError
		code := "failed"
		if errors.As(sendErr, &se) {
			code = se.Code
		}
		if err := s.st.SetChatMessageFailed(ctx, msgID, code); err != nil {
			return msgID, err
		}
		s.log.Warn("chat: reply not sent", "chat", chatID, "code", code, "err", sendErr)
	} else if err := s.st.SetChatMessageSent(ctx, msgID, ext); err != nil {
		return msgID, err
	}
	s.publish(ctx, Event{Type: EventMessage, ChatID: chatID, QueueID: c.QueueID, OperatorID: v.UserID, Status: StatusActive, MessageID: msgID})
	return msgID, sendErr
}

// Complete ends the operator's chat; its thread goes back to the bot where
// the channel has one.
func (s *Service) Complete(ctx context.Context, v access.Viewer, chatID string) error {
	c, err := s.st.GetChat(ctx, chatID)
	if err != nil {
		return err
	}
	if err := s.st.CompleteChat(ctx, chatID, v.UserID, "", s.Now()); err != nil {
		return err
	}
	s.afterComplete(ctx, c)
	return nil
}

func (s *Service) afterComplete(ctx context.Context, c *store.Chat) {
	s.publish(ctx, Event{Type: EventCompleted, ChatID: c.ID, QueueID: c.QueueID, OperatorID: c.OperatorID, Status: StatusCompleted})
	if ch, err := s.Channel(ctx, c.ChannelID); err == nil {
		if a, ok := s.Adapter(ch.Kind); ok {
			if r, ok := a.(Releaser); ok {
				if err := r.Release(ctx, ch, c.Address); err != nil {
					s.log.Warn("chat: release thread", "chat", c.ID, "err", err)
				}
			}
		}
	}
	s.dispatch(ctx)
}

// Transfer hands the operator's chat to another operator (toUser) or back
// to a queue (toQueue).
func (s *Service) Transfer(ctx context.Context, v access.Viewer, chatID, toUser, toQueue string) error {
	c, err := s.st.GetChat(ctx, chatID)
	if err != nil {
		return err
	}
	if err := s.st.TransferChat(ctx, chatID, v.UserID, toUser, toQueue, s.capacity(ctx), s.Now()); err != nil {
		return err
	}
	after, err := s.st.GetChat(ctx, chatID)
	if err != nil {
		return err
	}
	s.publish(ctx, Event{Type: EventTransferred, ChatID: chatID, QueueID: after.QueueID, OperatorID: after.OperatorID,
		PrevOperatorID: v.UserID, PrevQueueID: c.QueueID, Status: Status(after.Status)})
	if after.Status == store.ChatQueued {
		s.route(ctx, after.ID, after.QueueID, after.Routing)
	}
	s.dispatch(ctx)
	return nil
}

// SetActive sets the operator Active (they get chats again) or Inactive.
func (s *Service) SetActive(ctx context.Context, v access.Viewer, active bool) error {
	if err := s.st.SetChatOperatorActive(ctx, v.UserID, active); err != nil {
		return err
	}
	s.publish(ctx, Event{Type: EventOperator, OperatorID: v.UserID})
	if active {
		s.dispatch(ctx)
	}
	return nil
}

// Panel is what an operator's panel shows.
type Panel struct {
	Operator store.ChatOperator
	Capacity int
	Offered  []store.Chat // offered to them: accept before the timeout
	Active   []store.Chat // theirs
	Queued   []store.Chat // waiting in their "to all" queues
}

// Panel returns the operator's panel.
func (s *Service) Panel(ctx context.Context, v access.Viewer) (*Panel, error) {
	capacity := s.capacity(ctx)
	op, err := s.st.ChatOperatorOf(ctx, v.UserID)
	if err != nil {
		return nil, err
	}
	cs, err := s.st.OperatorChats(ctx, v.UserID, capacity)
	if err != nil {
		return nil, err
	}
	p := &Panel{Operator: op, Capacity: capacity}
	for _, c := range cs {
		switch c.Status {
		case store.ChatOffered:
			p.Offered = append(p.Offered, c)
		case store.ChatActive:
			p.Active = append(p.Active, c)
		default:
			p.Queued = append(p.Queued, c)
		}
	}
	return p, nil
}

// CanSee reports whether v may open a chat: its operator, an operator of
// its queue, or a chat manager.
func (s *Service) CanSee(ctx context.Context, v access.Viewer, c *store.Chat) (bool, error) {
	if v.Can(access.OpManageChats) || c.OperatorID == v.UserID {
		return true, nil
	}
	qs, err := s.st.ChatQueuesOf(ctx, v.UserID)
	if err != nil {
		return false, err
	}
	for _, q := range qs {
		if q == c.QueueID {
			return true, nil
		}
	}
	return false, nil
}

// Open returns a chat with its history for v, clearing its unread count
// when v holds it.
func (s *Service) Open(ctx context.Context, v access.Viewer, chatID string) (*store.Chat, []store.ChatMessage, error) {
	c, err := s.st.GetChat(ctx, chatID)
	if err != nil {
		return nil, nil, err
	}
	ok, err := s.CanSee(ctx, v, c)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, store.ErrNotFound
	}
	ms, err := s.st.ChatMessages(ctx, chatID, "")
	if err != nil {
		return nil, nil, err
	}
	if c.OperatorID == v.UserID && c.Unread > 0 {
		if err := s.st.MarkChatRead(ctx, chatID, v.UserID); err != nil {
			return nil, nil, err
		}
	}
	return c, ms, nil
}

func (s *Service) publish(ctx context.Context, e Event) {
	if e.At.IsZero() {
		e.At = s.Now()
	}
	if s.bus == nil {
		return
	}
	if err := s.bus.Publish(ctx, e); err != nil {
		s.log.Warn("chat: publish event", "type", e.Type, "err", err)
	}
}

// Hook is an HTTP endpoint a channel's service calls (a webhook). The
// handler verifies the request itself, before reading anything else: each
// service signs its own way.
type Hook struct {
	Pattern string // http.ServeMux pattern, e.g. "POST /hooks/telegram/{channel}"
	Handler http.Handler
}

// Hooker is an adapter with webhooks.
type Hooker interface {
	Hooks() []Hook
}

// Hooks lists the webhooks of every adapter.
func (s *Service) Hooks() []Hook {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []Hook
	for _, k := range []Kind{KindTelegram, KindMessenger} {
		if h, ok := s.adapter[k].(Hooker); ok {
			out = append(out, h.Hooks()...)
		}
	}
	return out
}

// Channels lists the channels of a kind, their secrets opened.
func (s *Service) Channels(ctx context.Context, kind Kind) ([]*Channel, error) {
	rows, err := s.st.ChatChannels(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Channel
	for i := range rows {
		if rows[i].Kind != string(kind) {
			continue
		}
		ch, err := s.channel(&rows[i])
		if err != nil {
			s.log.Error("chat: open channel", "channel", rows[i].ID, "err", err)
			continue
		}
		out = append(out, ch)
	}
	return out, nil
}

// PollOffset is where a polled channel's next batch starts.
func (s *Service) PollOffset(ctx context.Context, channelID string) (int64, error) {
	c, err := s.st.ChatChannel(ctx, channelID)
	if err != nil {
		return 0, err
	}
	return c.PollOffset, nil
}

// SetPollOffset records a polled channel's position once a batch is
// stored.
func (s *Service) SetPollOffset(ctx context.Context, channelID string, offset int64) error {
	return s.st.SetChatPollOffset(ctx, channelID, offset)
}

// TryPollLease takes or renews the right to poll a channel: one poller
// per channel across processes.
func (s *Service) TryPollLease(ctx context.Context, channelID, holder string, ttl time.Duration) (bool, error) {
	return s.st.TryChatPollLease(ctx, channelID, holder, ttl)
}

// ReleasePollLease gives a poll lease back.
func (s *Service) ReleasePollLease(ctx context.Context, channelID, holder string) error {
	return s.st.ReleaseChatPollLease(ctx, channelID, holder)
}

// SiteURL is the public address of this Tandem ("" when not set), where
// webhooks are registered.
func (s *Service) SiteURL(ctx context.Context) string {
	v, _ := s.set.Get(ctx, "SiteUrl")
	return strings.TrimRight(v, "/")
}

// Setting reads a system setting for an adapter (its service's base URL).
func (s *Service) Setting(ctx context.Context, code string) string {
	v, _ := s.set.Get(ctx, code)
	return v
}
