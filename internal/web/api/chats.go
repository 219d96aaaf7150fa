package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
)

// Chats (SPEC §5): the caller's operator panel (the chats offered to them,
// theirs, and those waiting in their "to all" queues), one chat with its
// history, accepting, replying, completing, transferring, the caller's
// Active / Inactive status; and, for holders of CanManageChats, the chat
// set-up: queues, channels, chat actions and the operators' state.

// WithChat enables the chat routes.
func (a *API) WithChat(c *chat.Service) *API {
	a.chat = c
	return a
}

func (a *API) chatRoutes(h func(string, func(http.ResponseWriter, *http.Request, access.Viewer))) {
	h("GET /api/v1/chats", a.listChats)
	h("GET /api/v1/chats/{id}", a.getChat)
	h("POST /api/v1/chats/{id}/accept", a.acceptChat)
	h("POST /api/v1/chats/{id}/messages", a.replyChat)
	h("POST /api/v1/chats/{id}/complete", a.completeChat)
	h("POST /api/v1/chats/{id}/transfer", a.transferChat)
	h("POST /api/v1/chats/{id}/actions/{action}", a.runChatAction)
	h("GET /api/v1/contacts/{id}/chats", a.contactChats)
	h("GET /api/v1/chat/status", a.getChatStatus)
	h("PUT /api/v1/chat/status", a.putChatStatus)

	m := func(pattern string, fn func(http.ResponseWriter, *http.Request, access.Viewer)) {
		h(pattern, func(w http.ResponseWriter, r *http.Request, v access.Viewer) {
			if !v.Can(access.OpManageChats) {
				a.problem(w, r, http.StatusForbidden, "error.forbidden", nil)
				return
			}
			fn(w, r, v)
		})
	}
	m("GET /api/v1/chat/queues", a.listChatQueues)
	m("POST /api/v1/chat/queues", a.createChatQueue)
	m("GET /api/v1/chat/queues/{id}", a.getChatQueue)
	m("PATCH /api/v1/chat/queues/{id}", a.patchChatQueue)
	m("DELETE /api/v1/chat/queues/{id}", a.deleteChatQueue)
	m("GET /api/v1/chat/channels", a.listChatChannels)
	m("GET /api/v1/chat/channels/{id}", a.getChatChannel)
	m("PATCH /api/v1/chat/channels/{id}", a.patchChatChannel)
	m("DELETE /api/v1/chat/channels/{id}", a.deleteChatChannel)
	m("GET /api/v1/chat/actions", a.listChatActions)
	m("POST /api/v1/chat/actions", a.createChatAction)
	m("GET /api/v1/chat/actions/{id}", a.getChatAction)
	m("PATCH /api/v1/chat/actions/{id}", a.patchChatAction)
	m("DELETE /api/v1/chat/actions/{id}", a.deleteChatAction)
	m("GET /api/v1/chat/operators", a.listChatOperators)
}

// chatService answers 503 when the process has no chat service.
func (a *API) chatService(w http.ResponseWriter, r *http.Request) (*chat.Service, bool) {
	if a.chat == nil {
		a.problem(w, r, http.StatusServiceUnavailable, "error.internal", nil)
		return nil, false
	}
	return a.chat, true
}

// chatFail answers the errors of moving chats and of the chat set-up, and
// the rest as fail does.
func (a *API) chatFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrChatTaken):
		a.problem(w, r, http.StatusConflict, "error.chat_taken", nil)
	case errors.Is(err, store.ErrAtCap):
		a.problem(w, r, http.StatusConflict, "error.chat_at_cap", nil)
	case errors.Is(err, store.ErrOperatorInactive):
		a.problem(w, r, http.StatusConflict, "error.chat_operator_inactive", nil)
	case errors.Is(err, store.ErrNotQueueMember):
		a.problem(w, r, http.StatusForbidden, "error.chat_not_member", nil)
	case errors.Is(err, store.ErrChatQueueInUse):
		a.problem(w, r, http.StatusConflict, "error.chat_queue_in_use", nil)
	case errors.Is(err, store.ErrChannelHasChats):
		a.problem(w, r, http.StatusConflict, "error.chat_channel_has_chats", nil)
	case errors.Is(err, chat.ErrNoAdapter):
		a.problem(w, r, http.StatusServiceUnavailable, "error.chat_no_adapter", nil)
	case errors.Is(err, chat.ErrActionUnavailable):
		a.problem(w, r, http.StatusNotFound, "error.not_found", nil)
	case errors.Is(err, chat.ErrActionFailed), errors.Is(err, chat.ErrNoCases):
		a.problem(w, r, http.StatusBadGateway, "error.chat_action_failed", nil)
	default:
		a.fail(w, r, err)
	}
}

// ---------- the panel ----------

// chatJSON is a chat as the API shows it; messages only in a single chat.
type chatJSON struct {
	ID           string            `json:"id"`
	Status       string            `json:"status"`
	ChannelID    string            `json:"channel_id"`
	ChannelKind  string            `json:"channel_kind"`
	ChannelName  string            `json:"channel_name"`
	QueueID      string            `json:"queue_id"`
	QueueName    string            `json:"queue_name"`
	Routing      string            `json:"routing"`
	ContactID    string            `json:"contact_id"`
	CustomerName string            `json:"customer_name"`
	OperatorID   string            `json:"operator_id"`
	OperatorName string            `json:"operator_name"`
	Unread       int               `json:"unread"`
	LastMessage  string            `json:"last_message"`
	OfferedAt    *time.Time        `json:"offered_at"`
	AcceptBy     *time.Time        `json:"accept_by"`
	AcceptedAt   *time.Time        `json:"accepted_at"`
	CompletedAt  *time.Time        `json:"completed_at"`
	LastInAt     *time.Time        `json:"last_in_at"`
	LastOutAt    *time.Time        `json:"last_out_at"`
	CreatedAt    time.Time         `json:"created_at"`
	Messages     []chatMessageJSON `json:"messages,omitempty"`
}

// chatMessageJSON is one entry of a chat's history.
type chatMessageJSON struct {
	ID          string            `json:"id"`
	Direction   string            `json:"direction"`
	AuthorID    string            `json:"author_id"`
	AuthorName  string            `json:"author_name"`
	Body        string            `json:"body"`
	Attachments []chat.Attachment `json:"attachments"`
	State       string            `json:"state"`
	Error       string            `json:"error"`
	At          time.Time         `json:"at"`
}

func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func chatOut(c *store.Chat, acceptTimeout time.Duration) chatJSON {
	out := chatJSON{ID: c.ID, Status: c.Status, ChannelID: c.ChannelID, ChannelKind: c.ChannelKind, ChannelName: c.ChannelName,
		QueueID: c.QueueID, QueueName: c.QueueName, Routing: c.Routing, ContactID: c.ContactID, CustomerName: c.CustomerName,
		OperatorID: c.OperatorID, OperatorName: c.OperatorName, Unread: c.Unread, LastMessage: c.LastMessage,
		OfferedAt: timeOrNull(c.OfferedAt), AcceptedAt: timeOrNull(c.AcceptedAt), CompletedAt: timeOrNull(c.CompletedAt),
		LastInAt: timeOrNull(c.LastInAt), LastOutAt: timeOrNull(c.LastOutAt), CreatedAt: c.CreatedAt.UTC()}
	if c.Status == store.ChatOffered && !c.OfferedAt.IsZero() {
		out.AcceptBy = timeOrNull(c.OfferedAt.Add(acceptTimeout))
	}
	return out
}

func chatMessageOut(m store.ChatMessage) chatMessageJSON {
	out := chatMessageJSON{ID: m.ID, Direction: m.Direction, AuthorID: m.AuthorID, AuthorName: m.AuthorName, Body: m.Body,
		Attachments: []chat.Attachment{}, State: m.State, Error: m.Error, At: m.At.UTC()}
	if m.Attachments != "" && m.Attachments != "[]" {
		var as []chat.Attachment
		if err := json.Unmarshal([]byte(m.Attachments), &as); err == nil {
			out.Attachments = as
		}
	}
	return out
}

// acceptTimeout is OmniChatOperatorAcceptChatTimeout as the chat service
// counts it.
func (a *API) acceptTimeout(ctx context.Context) time.Duration {
	n := a.settings.Int(ctx, "OmniChatOperatorAcceptChatTimeout")
	if n <= 0 {
		n = 5
	}
	return time.Duration(n) * time.Minute
}

func (a *API) listChats(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.chatService(w, r)
	if !ok {
		return
	}
	p, err := c.Panel(r.Context(), v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	timeout := a.acceptTimeout(r.Context())
	var items []chatJSON
	for _, group := range [][]store.Chat{p.Offered, p.Active, p.Queued} {
		for i := range group {
			items = append(items, chatOut(&group[i], timeout))
		}
	}
	writeJSON(w, http.StatusOK, page(items, ""))
}

// writeChat answers a chat with its history as the caller sees it.
func (a *API) writeChat(w http.ResponseWriter, r *http.Request, v access.Viewer, id string, status int) {
	ch, ms, err := a.chat.Open(r.Context(), v, id)
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	out := chatOut(ch, a.acceptTimeout(r.Context()))
	out.Messages = []chatMessageJSON{}
	for _, m := range ms {
		out.Messages = append(out.Messages, chatMessageOut(m))
	}
	writeJSON(w, status, out)
}

func (a *API) getChat(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if _, ok := a.chatService(w, r); !ok {
		return
	}
	a.writeChat(w, r, v, r.PathValue("id"), http.StatusOK)
}

// visibleChat reads a chat the caller may see (404 otherwise).
func (a *API) visibleChat(ctx context.Context, v access.Viewer, id string) (*store.Chat, error) {
	ch, err := a.st.GetChat(ctx, id)
	if err != nil {
		return nil, err
	}
	ok, err := a.chat.CanSee(ctx, v, ch)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, store.ErrNotFound
	}
	return ch, nil
}

func (a *API) acceptChat(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.chatService(w, r)
	if !ok {
		return
	}
	ch, err := a.visibleChat(r.Context(), v, r.PathValue("id"))
	if err == nil {
		err = c.Accept(r.Context(), v, ch.ID)
	}
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	a.writeChat(w, r, v, ch.ID, http.StatusOK)
}

// chatReplyIn is the body of POST /api/v1/chats/{id}/messages.
type chatReplyIn struct {
	Text string `json:"text"`
}

// maxChatReply bounds a reply, in characters.
const maxChatReply = 4096

// chatSendProblem is a reply the channel's service did not deliver: it
// stays in the chat's history as failed. problem with more fields, written
// out: the OpenAPI test reads the fields of the type.
type chatSendProblem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	Reason    string `json:"reason"`
	MessageID string `json:"message_id"`
	Temporary bool   `json:"temporary"`
}

func (a *API) replyChat(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.chatService(w, r)
	if !ok {
		return
	}
	var in chatReplyIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	text := strings.TrimSpace(in.Text)
	switch {
	case text == "":
		a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"text": crm.ErrRequired})
		return
	case utf8.RuneCountInString(text) > maxChatReply:
		a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"text": crm.TooLong(maxChatReply)})
		return
	}
	ch, err := a.visibleChat(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	id, err := c.Reply(r.Context(), v, ch.ID, text)
	var se *chat.SendError
	if errors.As(err, &se) {
		l := lang(r)
		code := se.Code
		if !slices.Contains([]string{"blocked", "window_closed", "thread_owned", "rate_limited", "not_found", "failed"}, code) {
			code = "failed"
		}
		p := chatSendProblem{Type: "about:blank", Title: http.StatusText(http.StatusBadGateway), Status: http.StatusBadGateway,
			Detail: l.T("chat.send." + code), Code: "chat_send_failed", Reason: code, MessageID: id, Temporary: se.Temporary}
		w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusBadGateway)
		json.NewEncoder(w).Encode(p)
		return
	}
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	ms, err := a.st.ChatMessages(r.Context(), ch.ID, "")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	i := slices.IndexFunc(ms, func(m store.ChatMessage) bool { return m.ID == id })
	if i < 0 {
		a.fail(w, r, store.ErrNotFound)
		return
	}
	writeJSON(w, http.StatusCreated, chatMessageOut(ms[i]))
}

func (a *API) completeChat(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.chatService(w, r)
	if !ok {
		return
	}
	ch, err := a.visibleChat(r.Context(), v, r.PathValue("id"))
	if err == nil {
		err = c.Complete(r.Context(), v, ch.ID)
	}
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	a.writeChat(w, r, v, ch.ID, http.StatusOK)
}

// chatTransferIn is the body of POST /api/v1/chats/{id}/transfer: one of
// the two.
type chatTransferIn struct {
	OperatorID string `json:"operator_id"`
	QueueID    string `json:"queue_id"`
}

func (a *API) transferChat(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.chatService(w, r)
	if !ok {
		return
	}
	var in chatTransferIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	switch {
	case (in.OperatorID == "") == (in.QueueID == ""):
		a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"operator_id": "error.chat_transfer_target"})
		return
	case in.OperatorID == v.UserID:
		a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"operator_id": crm.ErrInvalid})
		return
	}
	ch, err := a.visibleChat(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	err = c.Transfer(r.Context(), v, ch.ID, in.OperatorID, in.QueueID)
	if errors.Is(err, store.ErrNotFound) {
		field := "operator_id"
		if in.QueueID != "" {
			field = "queue_id"
		}
		a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{field: crm.ErrUnknownEnum})
		return
	}
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// contactChats lists a contact's chats, newest first, for those who may
// read the contact (opening one follows the chat's own rule).
func (a *API) contactChats(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if _, ok := a.chatService(w, r); !ok {
		return
	}
	ctx := r.Context()
	x, err := a.st.GetContact(ctx, v, r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	cs, err := a.st.ListChats(ctx, store.ChatFilter{ContactID: x.ID, Limit: maxContactChats})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	timeout := a.acceptTimeout(ctx)
	out := make([]chatJSON, 0, len(cs))
	for i := range cs {
		out = append(out, chatOut(&cs[i], timeout))
	}
	writeJSON(w, http.StatusOK, page(out, ""))
}

// maxContactChats bounds a contact's chat list.
const maxContactChats = 200

// chatActionResultJSON is what running a chat action did.
type chatActionResultJSON struct {
	CaseID        string `json:"case_id"`
	WebhookStatus int    `json:"webhook_status"`
}

func (a *API) runChatAction(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.chatService(w, r)
	if !ok {
		return
	}
	ch, err := a.visibleChat(r.Context(), v, r.PathValue("id"))
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	as, err := a.st.ChatActions(r.Context(), ch.QueueID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !slices.ContainsFunc(as, func(x store.ChatAction) bool { return x.ID == r.PathValue("action") }) {
		a.problem(w, r, http.StatusNotFound, "error.not_found", nil)
		return
	}
	res, err := c.RunAction(r.Context(), v, ch.ID, r.PathValue("action"))
	if err != nil {
		a.chatFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, chatActionResultJSON{CaseID: res.CaseID, WebhookStatus: res.WebhookStatus})
}

// chatStatusJSON is the caller's state as an operator.
type chatStatusJSON struct {
	Active   bool     `json:"active"`
	Load     int      `json:"load"`
	Capacity int      `json:"capacity"`
	QueueIDs []string `json:"queue_ids"`
}

// chatStatusIn is the body of PUT /api/v1/chat/status.
type chatStatusIn struct {
	Active *bool `json:"active"`
}

func (a *API) writeChatStatus(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	p, err := a.chat.Panel(r.Context(), v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	qs, err := a.st.ChatQueuesOf(r.Context(), v.UserID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if qs == nil {
		qs = []string{}
	}
	writeJSON(w, http.StatusOK, chatStatusJSON{Active: p.Operator.Active, Load: p.Operator.Load, Capacity: p.Capacity, QueueIDs: qs})
}

func (a *API) getChatStatus(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	if _, ok := a.chatService(w, r); !ok {
		return
	}
	a.writeChatStatus(w, r, v)
}

func (a *API) putChatStatus(w http.ResponseWriter, r *http.Request, v access.Viewer) {
	c, ok := a.chatService(w, r)
	if !ok {
		return
	}
	var in chatStatusIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	if in.Active == nil {
		a.problem(w, r, http.StatusBadRequest, "error.form", crm.FieldErrors{"active": crm.ErrRequired})
		return
	}
	if err := c.SetActive(r.Context(), v, *in.Active); err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeChatStatus(w, r, v)
}

// ---------- queues ----------

// chatMemberJSON is a user or role working a queue.
type chatMemberJSON struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name,omitempty"` // read-only
}

// chatQueueJSON is a queue as the API shows it.
type chatQueueJSON struct {
	ID                string           `json:"id"`
	Name              string           `json:"name"`
	Routing           string           `json:"routing"`
	CompletionMinutes *int             `json:"completion_minutes"`
	Members           []chatMemberJSON `json:"members"`
	CreatedAt         time.Time        `json:"created_at"`
}

// chatQueueIn is the body of POST and PATCH: absent (or null) fields keep
// their value; completion_minutes 0 means never.
type chatQueueIn struct {
	Name              *string           `json:"name"`
	Routing           *string           `json:"routing"`
	CompletionMinutes *int              `json:"completion_minutes"`
	Members           *[]chatMemberJSON `json:"members"`
}

func chatQueueOut(q *store.ChatQueue) chatQueueJSON {
	out := chatQueueJSON{ID: q.ID, Name: q.Name, Routing: q.Routing, Members: []chatMemberJSON{}, CreatedAt: q.CreatedAt.UTC()}
	if q.CompletionMinutes > 0 {
		n := q.CompletionMinutes
		out.CompletionMinutes = &n
	}
	for _, m := range q.Members {
		out.Members = append(out.Members, chatMemberJSON{Kind: m.Kind, ID: m.ID, Name: m.Name})
	}
	return out
}

// apply sets the fields present on q; SaveQueue checks them.
func (in *chatQueueIn) apply(q *store.ChatQueue) {
	set(&q.Name, in.Name)
	set(&q.Routing, in.Routing)
	if in.CompletionMinutes != nil {
		q.CompletionMinutes = *in.CompletionMinutes
	}
	if in.Members != nil {
		q.Members = nil
		for _, m := range *in.Members {
			q.Members = append(q.Members, store.ChatQueueMember{Kind: m.Kind, ID: m.ID})
		}
	}
}

func (a *API) listChatQueues(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	serveChatList(a, w, r, a.st.ChatQueues, chatQueueOut)
}

func (a *API) getChatQueue(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	serveChatItem(a, w, r, a.st.ChatQueue, chatQueueOut)
}

func (a *API) createChatQueue(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	a.saveChatQueue(w, r, &store.ChatQueue{Routing: string(chat.RoutingAll)}, http.StatusCreated)
}

func (a *API) patchChatQueue(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	if _, ok := a.chatService(w, r); !ok {
		return
	}
	q, err := a.st.ChatQueue(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.saveChatQueue(w, r, q, http.StatusOK)
}

func (a *API) saveChatQueue(w http.ResponseWriter, r *http.Request, q *store.ChatQueue, status int) {
	c, ok := a.chatService(w, r)
	if !ok {
		return
	}
	var in chatQueueIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	in.apply(q)
	if err := c.SaveQueue(r.Context(), q); err != nil {
		a.chatFail(w, r, err)
		return
	}
	saved, err := a.st.ChatQueue(r.Context(), q.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/chat/queues/"+q.ID)
	}
	writeJSON(w, status, chatQueueOut(saved))
}

func (a *API) deleteChatQueue(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	c, ok := a.chatService(w, r)
	if !ok {
		return
	}
	if err := c.DeleteQueue(r.Context(), r.PathValue("id")); err != nil {
		a.chatFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---------- channels ----------

// chatChannelJSON is a channel as the API shows it; its secret never.
type chatChannelJSON struct {
	ID           string     `json:"id"`
	Kind         string     `json:"kind"`
	ExternalID   string     `json:"external_id"`
	Name         string     `json:"name"`
	Active       bool       `json:"active"`
	QueueID      string     `json:"queue_id"`
	QueueName    string     `json:"queue_name"`
	Health       string     `json:"health"`
	HealthReason string     `json:"health_reason"`
	HealthAt     *time.Time `json:"health_at"`
	Chats        int        `json:"chats"`
	CreatedAt    time.Time  `json:"created_at"`
}

// chatChannelIn is the body of PATCH: absent fields keep their value.
type chatChannelIn struct {
	Name    *string `json:"name"`
	QueueID *string `json:"queue_id"`
	Active  *bool   `json:"active"`
}

func chatChannelOut(c *store.ChatChannel) chatChannelJSON {
	return chatChannelJSON{ID: c.ID, Kind: c.Kind, ExternalID: c.ExternalID, Name: c.Name, Active: c.Active, QueueID: c.QueueID,
		QueueName: c.QueueName, Health: c.Health, HealthReason: c.HealthReason, HealthAt: timeOrNull(c.HealthAt), Chats: c.Chats,
		CreatedAt: c.CreatedAt.UTC()}
}

func (a *API) listChatChannels(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	serveChatList(a, w, r, a.st.ChatChannels, chatChannelOut)
}

func (a *API) getChatChannel(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	serveChatItem(a, w, r, a.st.ChatChannel, chatChannelOut)
}

func (a *API) patchChatChannel(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	c, ok := a.chatService(w, r)
	if !ok {
		return
	}
	ch, err := a.st.ChatChannel(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var in chatChannelIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	u := chat.ChannelUpdate{Name: ch.Name, QueueID: ch.QueueID, Active: ch.Active}
	set(&u.Name, in.Name)
	set(&u.QueueID, in.QueueID)
	set(&u.Active, in.Active)
	if err := c.SaveChannel(r.Context(), ch.ID, u); err != nil {
		a.chatFail(w, r, err)
		return
	}
	if ch, err = a.st.ChatChannel(r.Context(), ch.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, chatChannelOut(ch))
}

func (a *API) deleteChatChannel(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	c, ok := a.chatService(w, r)
	if !ok {
		return
	}
	if err := c.DeleteChannel(r.Context(), r.PathValue("id")); err != nil {
		a.chatFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---------- actions ----------

// chatActionJSON is a chat action; its signing secret only masked.
type chatActionJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	QueueID   string `json:"queue_id"`
	QueueName string `json:"queue_name"`
	Process   string `json:"process"`
	URL       string `json:"url"`
	Secret    string `json:"secret"`
}

// chatActionIn is the body of POST and PATCH: absent fields keep their
// value; secret empty or absent keeps the stored one.
type chatActionIn struct {
	Name    *string `json:"name"`
	QueueID *string `json:"queue_id"`
	Process *string `json:"process"`
	URL     *string `json:"url"`
	Secret  *string `json:"secret"`
}

func (a *API) chatActionOut(ctx context.Context, x *store.ChatAction) chatActionJSON {
	out := chatActionJSON{ID: x.ID, Name: x.Name, QueueID: x.QueueID, QueueName: x.QueueName, Process: x.Process, URL: x.URL}
	if x.Secret != "" {
		plain, err := a.chat.ActionSecret(x)
		if err != nil {
			a.log.WarnContext(ctx, "chat action secret unreadable", "action", x.ID, "err", err)
		}
		out.Secret = settings.Mask(plain)
		if out.Secret == "" {
			out.Secret = "••••••"
		}
	}
	return out
}

// chatActionByID reads one action.
func (a *API) chatActionByID(ctx context.Context, id string) (*store.ChatAction, error) {
	as, err := a.st.ChatActions(ctx, "")
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(as, func(x store.ChatAction) bool { return x.ID == id })
	if i < 0 {
		return nil, store.ErrNotFound
	}
	return &as[i], nil
}

func (a *API) listChatActions(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	list := func(ctx context.Context) ([]store.ChatAction, error) {
		return a.st.ChatActions(ctx, r.URL.Query().Get("queue_id"))
	}
	serveChatList(a, w, r, list, func(x *store.ChatAction) chatActionJSON { return a.chatActionOut(r.Context(), x) })
}

func (a *API) getChatAction(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	serveChatItem(a, w, r, a.chatActionByID, func(x *store.ChatAction) chatActionJSON { return a.chatActionOut(r.Context(), x) })
}

func (a *API) createChatAction(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	a.saveChatAction(w, r, &store.ChatAction{}, http.StatusCreated)
}

func (a *API) patchChatAction(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	if _, ok := a.chatService(w, r); !ok {
		return
	}
	x, err := a.chatActionByID(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.saveChatAction(w, r, x, http.StatusOK)
}

func (a *API) saveChatAction(w http.ResponseWriter, r *http.Request, x *store.ChatAction, status int) {
	c, ok := a.chatService(w, r)
	if !ok {
		return
	}
	var in chatActionIn
	if err := decode(r, &in); err != nil {
		a.fail(w, r, err)
		return
	}
	set(&x.Name, in.Name)
	set(&x.QueueID, in.QueueID)
	set(&x.Process, in.Process)
	set(&x.URL, in.URL)
	secret := ""
	set(&secret, in.Secret)
	if err := c.SaveAction(r.Context(), x, secret); err != nil {
		a.chatFail(w, r, err)
		return
	}
	saved, err := a.chatActionByID(r.Context(), x.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/chat/actions/"+x.ID)
	}
	writeJSON(w, status, a.chatActionOut(r.Context(), saved))
}

func (a *API) deleteChatAction(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	if _, ok := a.chatService(w, r); !ok {
		return
	}
	if err := a.st.DeleteChatAction(r.Context(), r.PathValue("id")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---------- operators ----------

// chatOperatorJSON is an operator's state.
type chatOperatorJSON struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	Active bool   `json:"active"`
	Load   int    `json:"load"`
}

func (a *API) listChatOperators(w http.ResponseWriter, r *http.Request, _ access.Viewer) {
	serveChatList(a, w, r, a.st.ChatOperators, func(o *store.ChatOperator) chatOperatorJSON {
		return chatOperatorJSON{UserID: o.UserID, Name: o.Name, Active: o.Active, Load: o.Load}
	})
}

// serveChatList answers a chat manager's list of set-up items (queues,
// channels, actions, operators) as one page.
func serveChatList[T, J any](a *API, w http.ResponseWriter, r *http.Request, list func(context.Context) ([]T, error), out func(*T) J) {
	if _, ok := a.chatService(w, r); !ok {
		return
	}
	items, err := list(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	js := make([]J, 0, len(items))
	for i := range items {
		js = append(js, out(&items[i]))
	}
	writeJSON(w, http.StatusOK, page(js, ""))
}

// serveChatItem answers one set-up item by the id in the path.
func serveChatItem[T, J any](a *API, w http.ResponseWriter, r *http.Request, get func(context.Context, string) (*T, error), out func(*T) J) {
	if _, ok := a.chatService(w, r); !ok {
		return
	}
	x, err := get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out(x))
}
