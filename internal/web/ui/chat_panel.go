package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

// The operator panel (SPEC §5): the chats offered to the operator, theirs,
// and those waiting in their "to all" queues, kept live by an event stream
// (chat_events.go); one chat with its history, the reply box, accept,
// complete, transfer and the chat actions. Every change is a plain form
// post answered with a redirect; static/chats.js only refreshes the lists
// and the history in place and plays the sound.

func (u *UI) chatRoutes(mux *http.ServeMux) {
	a := u.authed
	mux.HandleFunc("GET /chats", a(u.chatPanel))
	mux.HandleFunc("GET /chats/events", a(u.chatEvents))
	mux.HandleFunc("GET /chats/sound", a(u.chatSound))
	mux.HandleFunc("POST /chats/status", a(u.chatSetStatus))
	mux.HandleFunc("GET /chats/{id}", a(u.chatView))
	mux.HandleFunc("POST /chats/{id}/accept", a(u.chatAccept))
	mux.HandleFunc("POST /chats/{id}/reply", a(u.chatReply))
	mux.HandleFunc("POST /chats/{id}/complete", a(u.chatComplete))
	mux.HandleFunc("POST /chats/{id}/transfer", a(u.chatTransfer))
	mux.HandleFunc("POST /chats/{id}/actions/{action}", a(u.chatRunAction))
}

// maxReply bounds an operator's reply, in characters.
const maxReply = 4096

// chatRow is a chat in one of the panel's lists.
type chatRow struct {
	store.Chat
	Current  bool   // the chat open beside the lists
	Deadline string // offered: when the offer lapses (RFC 3339)
	Left     string // offered: the time left as "m:ss"
}

// chatPanelData is the Data of /chats and /chats/{id}.
type chatPanelData struct {
	// Operator: the viewer works a queue or holds chats; others see an
	// explanation instead of the lists.
	Operator bool
	Manager  bool
	Active   bool // the viewer's status
	Load     int
	Capacity int
	AtCap    bool
	Offered  []chatRow
	Mine     []chatRow
	Queued   []chatRow
	// AcceptMinutes is OmniChatOperatorAcceptChatTimeout.
	AcceptMinutes int
	EventsURL     string
	SoundURL      string // the uploaded sound; "" plays the built-in one
	Open          *chatViewData
}

// chatViewData is the chat open beside the lists.
type chatViewData struct {
	C         *store.Chat
	Lines     []chatLine
	CanAccept bool
	Mine      bool // the viewer holds it: reply, complete, transfer, actions
	// Mode names the controls shown: the page swaps them only when it
	// changes, so a reply being typed stays.
	Mode        string
	Actions     []store.ChatAction
	Operators   []Option
	Queues      []Option
	Draft       string // a reply that could not be sent stays in the box
	SendError   string // catalogue key of why it was not sent
	ReplyError  string // catalogue key of a problem with the reply itself
	ActionError string // catalogue key: running an action failed
}

// chatLine is one entry of a chat's history.
type chatLine struct {
	store.ChatMessage
	Kind        string // customer, operator, bot, standby, event
	EventKey    string // event: the catalogue key of its code
	EventByWhom bool   // event: its text names who did it (AuthorName)
	ErrorKey    string // a failed reply: why ("chat.send.<code>")
	Attachments []chat.Attachment
}

// chatService answers 503 when the process has no chat service.
func (u *UI) chatService(w http.ResponseWriter, r *http.Request, c *Ctx) bool {
	if u.chat == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return false
	}
	return true
}

func (u *UI) chatPanel(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if !u.chatService(w, r, c) {
		return
	}
	d, err := u.panelData(r.Context(), c, "")
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.render(w, http.StatusOK, "chat/panel", c.Page(w, r, "chats", d))
}

// acceptMinutes is OmniChatOperatorAcceptChatTimeout as the chat service
// counts it.
func (u *UI) acceptMinutes(ctx context.Context) int {
	if n := u.set.Int(ctx, "OmniChatOperatorAcceptChatTimeout"); n > 0 {
		return n
	}
	return 5
}

// panelData reads the viewer's panel; open is the chat shown beside it.
func (u *UI) panelData(ctx context.Context, c *Ctx, open string) (*chatPanelData, error) {
	p, err := u.chat.Panel(ctx, c.V)
	if err != nil {
		return nil, err
	}
	qs, err := u.st.ChatQueuesOf(ctx, c.V.UserID)
	if err != nil {
		return nil, err
	}
	d := &chatPanelData{Manager: c.V.Can(access.OpManageChats), Active: p.Operator.Active, Load: p.Operator.Load,
		Capacity: p.Capacity, AcceptMinutes: u.acceptMinutes(ctx), EventsURL: "/chats/events", SoundURL: u.chatSoundURL(ctx)}
	d.Operator = len(qs) > 0 || len(p.Offered)+len(p.Active)+len(p.Queued) > 0
	d.AtCap = p.Operator.Load >= p.Capacity
	if open != "" {
		d.EventsURL += "?chat=" + open
	}
	now := time.Now()
	timeout := time.Duration(d.AcceptMinutes) * time.Minute
	row := func(ch store.Chat) chatRow {
		x := chatRow{Chat: ch, Current: ch.ID == open}
		if ch.Status == store.ChatOffered && !ch.OfferedAt.IsZero() {
			end := ch.OfferedAt.Add(timeout)
			x.Deadline = end.UTC().Format(time.RFC3339)
			left := max(end.Sub(now).Round(time.Second), 0)
			x.Left = fmt.Sprintf("%d:%02d", int(left.Minutes()), int(left.Seconds())%60)
		}
		return x
	}
	for _, ch := range p.Offered {
		d.Offered = append(d.Offered, row(ch))
	}
	for _, ch := range p.Active {
		d.Mine = append(d.Mine, row(ch))
	}
	for _, ch := range p.Queued {
		d.Queued = append(d.Queued, row(ch))
	}
	return d, nil
}

func (u *UI) chatView(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if !u.chatService(w, r, c) {
		return
	}
	u.renderChat(w, r, c, http.StatusOK, &chatViewData{})
}

// renderChat draws the panel with the chat of the path open; v carries
// what a failed post keeps (a draft, an error).
func (u *UI) renderChat(w http.ResponseWriter, r *http.Request, c *Ctx, status int, v *chatViewData) {
	ctx := r.Context()
	id := r.PathValue("id")
	ch, ms, err := u.chat.Open(ctx, c.V, id)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	d, err := u.panelData(ctx, c, id)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v.C = ch
	v.Mine = ch.Status == store.ChatActive && ch.OperatorID == c.V.UserID
	switch ch.Status {
	case store.ChatOffered:
		v.CanAccept = ch.OperatorID == c.V.UserID
	case store.ChatQueued:
		if ch.Routing == string(chat.RoutingAll) {
			qs, err := u.st.ChatQueuesOf(ctx, c.V.UserID)
			if err != nil {
				u.fail(w, r, c, err)
				return
			}
			v.CanAccept = slices.Contains(qs, ch.QueueID)
		}
	}
	v.Mode = fmt.Sprintf("%s:%t:%t", ch.Status, v.Mine, v.CanAccept)
	for _, m := range ms {
		v.Lines = append(v.Lines, chatLineOf(m))
	}
	if v.Mine || d.Manager {
		if v.Actions, err = u.st.ChatActions(ctx, ch.QueueID); err != nil {
			u.fail(w, r, c, err)
			return
		}
	}
	if v.Mine {
		if err := u.transferChoices(ctx, c, v); err != nil {
			u.fail(w, r, c, err)
			return
		}
	}
	d.Open = v
	pg := c.Page(w, r, "chats", d)
	pg.Title = ch.CustomerName
	if pg.Title == "" {
		pg.Title = c.Lang.T("chat.customer_unknown")
	}
	u.render(w, status, "chat/view", pg)
}

// chatLineOf classifies a stored message for the history.
func chatLineOf(m store.ChatMessage) chatLine {
	l := chatLine{ChatMessage: m}
	switch chat.Direction(m.Direction) {
	case chat.FromCustomer:
		l.Kind = "customer"
	case chat.FromOperator:
		l.Kind = "operator"
		if m.State == "failed" {
			l.ErrorKey = sendErrorKey(m.Error)
		}
	case chat.FromBot:
		l.Kind = "bot"
	case chat.Standby:
		l.Kind = "standby"
	default:
		l.Kind = "event"
		l.EventKey, l.EventByWhom = eventKey(m.Body)
	}
	if m.Attachments != "" && m.Attachments != "[]" {
		_ = json.Unmarshal([]byte(m.Attachments), &l.Attachments) // unreadable: shown without them
	}
	return l
}

// chatEventCodes are the history codes the catalogue translates
// ("chat.event.<code>", a colon read as a dot); true: its text names who
// did it.
var chatEventCodes = map[string]bool{"accepted": true, "offer_expired": true, "transferred": true, "transferred_queue": true,
	"to_bot": false, "from_bot": false, "completed": false, "completed:operator": false, "completed:timeout": false}

// eventKey is the catalogue key of a history code and whether its text
// names who did it; an unknown code has no key and shows as it is.
func eventKey(code string) (string, bool) {
	byWhom, ok := chatEventCodes[code]
	if !ok {
		if !strings.HasPrefix(code, "completed:") {
			return "", false
		}
		code = "completed"
	}
	return "chat.event." + strings.ReplaceAll(code, ":", "."), byWhom
}

// sendCodes are the reasons a reply was not sent (chat.SendError.Code).
var sendCodes = []string{"blocked", "window_closed", "thread_owned", "rate_limited", "not_found", "failed"}

func sendErrorKey(code string) string {
	if !slices.Contains(sendCodes, code) {
		code = "failed"
	}
	return "chat.send." + code
}

// transferChoices lists whom the viewer may hand their chat to: the other
// operators (with their state) and the queues.
func (u *UI) transferChoices(ctx context.Context, c *Ctx, v *chatViewData) error {
	ops, err := u.st.ChatOperators(ctx)
	if err != nil {
		return err
	}
	qs, err := u.st.ChatQueues(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{c.V.UserID: true}
	for _, o := range ops {
		if seen[o.UserID] {
			continue
		}
		seen[o.UserID] = true
		label := o.Name
		if !o.Active {
			label += " · " + c.Lang.T("chat.operator.inactive")
		}
		v.Operators = append(v.Operators, Option{Value: "user:" + o.UserID, Label: label})
	}
	// Members named in queues who have not worked a chat yet.
	for _, q := range qs {
		v.Queues = append(v.Queues, Option{Value: "queue:" + q.ID, Label: q.Name})
		for _, m := range q.Members {
			if m.Kind == "user" && !seen[m.ID] {
				seen[m.ID] = true
				v.Operators = append(v.Operators, Option{Value: "user:" + m.ID, Label: m.Name})
			}
		}
	}
	return nil
}

// visibleChat reads the chat of the path if the viewer may see it (404
// otherwise, as Open answers).
func (u *UI) visibleChat(ctx context.Context, c *Ctx, id string) (*store.Chat, error) {
	ch, err := u.st.GetChat(ctx, id)
	if err != nil {
		return nil, err
	}
	ok, err := u.chat.CanSee(ctx, c.V, ch)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, store.ErrNotFound
	}
	return ch, nil
}

// chatMoveError is the message of a refused accept or transfer.
func chatMoveError(err error) (string, bool) {
	switch {
	case errors.Is(err, store.ErrChatTaken):
		return "chat.error.taken", true
	case errors.Is(err, store.ErrAtCap):
		return "chat.error.at_cap", true
	case errors.Is(err, store.ErrOperatorInactive):
		return "chat.error.inactive", true
	case errors.Is(err, store.ErrNotQueueMember):
		return "chat.error.not_member", true
	case errors.Is(err, store.ErrForbidden):
		return "chat.error.not_yours", true
	}
	return "", false
}

func (u *UI) chatAccept(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if !u.chatService(w, r, c) {
		return
	}
	ch, err := u.visibleChat(r.Context(), c, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	err = u.chat.Accept(r.Context(), c.V, ch.ID)
	if key, ok := chatMoveError(err); ok {
		redirect(w, r, "/chats/"+ch.ID, Flash{Kind: FlashError, Key: key})
		return
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/chats/"+ch.ID)
}

func (u *UI) chatReply(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if !u.chatService(w, r, c) {
		return
	}
	ctx := r.Context()
	ch, err := u.visibleChat(ctx, c, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	text := strings.TrimSpace(r.PostFormValue("text"))
	v := &chatViewData{Draft: r.PostFormValue("text")}
	if isReview(r) {
		u.renderChat(w, r, c, http.StatusOK, v)
		return
	}
	switch {
	case text == "":
		v.ReplyError = crm.ErrRequired
	case utf8.RuneCountInString(text) > maxReply:
		v.ReplyError = crm.TooLong(maxReply)
	}
	if v.ReplyError != "" {
		u.renderChat(w, r, c, http.StatusUnprocessableEntity, v)
		return
	}
	_, err = u.chat.Reply(ctx, c.V, ch.ID, text)
	var se *chat.SendError
	switch {
	case errors.As(err, &se):
		u.log.WarnContext(ctx, "chat reply not sent", "chat", ch.ID, "code", se.Code)
		v.SendError = sendErrorKey(se.Code)
		u.renderChat(w, r, c, http.StatusBadGateway, v)
		return
	case errors.Is(err, store.ErrForbidden):
		v.SendError = "chat.error.not_yours"
		u.renderChat(w, r, c, http.StatusForbidden, v)
		return
	case errors.Is(err, chat.ErrNoAdapter):
		v.SendError = "chat.send.no_adapter"
		u.renderChat(w, r, c, http.StatusServiceUnavailable, v)
		return
	case err != nil:
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/chats/"+ch.ID)
}

func (u *UI) chatComplete(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if !u.chatService(w, r, c) {
		return
	}
	ch, err := u.visibleChat(r.Context(), c, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	err = u.chat.Complete(r.Context(), c.V, ch.ID)
	if key, ok := chatMoveError(err); ok {
		redirect(w, r, "/chats/"+ch.ID, Flash{Kind: FlashError, Key: key})
		return
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/chats", Flash{Kind: FlashSuccess, Key: "chat.flash.completed", Args: []any{ch.CustomerName}})
}

func (u *UI) chatTransfer(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if !u.chatService(w, r, c) {
		return
	}
	ch, err := u.visibleChat(r.Context(), c, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	kind, to, _ := strings.Cut(r.PostFormValue("to"), ":")
	var toUser, toQueue string
	switch {
	case kind == "user" && to != "" && to != c.V.UserID:
		toUser = to
	case kind == "queue" && to != "":
		toQueue = to
	default:
		redirect(w, r, "/chats/"+ch.ID, Flash{Kind: FlashError, Key: "chat.error.transfer_to"})
		return
	}
	err = u.chat.Transfer(r.Context(), c.V, ch.ID, toUser, toQueue)
	key, refused := chatMoveError(err)
	switch {
	case refused && toUser != "" && (key == "chat.error.at_cap" || key == "chat.error.inactive"):
		// The cap and the status are the other operator's here.
		redirect(w, r, "/chats/"+ch.ID, Flash{Kind: FlashError, Key: strings.Replace(key, "chat.error.", "chat.error.transfer_", 1)})
		return
	case refused:
		redirect(w, r, "/chats/"+ch.ID, Flash{Kind: FlashError, Key: key})
		return
	case errors.Is(err, store.ErrNotFound):
		redirect(w, r, "/chats/"+ch.ID, Flash{Kind: FlashError, Key: "chat.error.transfer_to"})
		return
	case err != nil:
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/chats", Flash{Kind: FlashSuccess, Key: "chat.flash.transferred", Args: []any{ch.CustomerName}})
}

func (u *UI) chatSetStatus(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if !u.chatService(w, r, c) {
		return
	}
	active := r.PostFormValue("active") == "1"
	if err := u.chat.SetActive(r.Context(), c.V, active); err != nil {
		u.fail(w, r, c, err)
		return
	}
	key := "chat.flash.inactive"
	if active {
		key = "chat.flash.active"
	}
	redirect(w, r, localPath(r.PostFormValue("next"), "/chats"), Flash{Kind: FlashSuccess, Key: key})
}

func (u *UI) chatRunAction(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if !u.chatService(w, r, c) {
		return
	}
	ctx := r.Context()
	ch, err := u.visibleChat(ctx, c, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	as, err := u.st.ChatActions(ctx, ch.QueueID)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	i := slices.IndexFunc(as, func(a store.ChatAction) bool { return a.ID == r.PathValue("action") })
	if i < 0 {
		u.errorPage(w, r, c, http.StatusNotFound)
		return
	}
	res, err := u.chat.RunAction(ctx, c.V, ch.ID, as[i].ID)
	if key, refused := chatMoveError(err); refused {
		redirect(w, r, "/chats/"+ch.ID, Flash{Kind: FlashError, Key: key})
		return
	}
	if err != nil {
		u.log.WarnContext(ctx, "chat action failed", "chat", ch.ID, "action", as[i].ID, "err", err)
		u.renderChat(w, r, c, http.StatusBadGateway, &chatViewData{ActionError: "chat.action.failed"})
		return
	}
	if res.CaseID != "" {
		redirect(w, r, "/chats/"+ch.ID, Flash{Kind: FlashSuccess, Key: "chat.action.case_created", Args: []any{as[i].Name}})
		return
	}
	redirect(w, r, "/chats/"+ch.ID, Flash{Kind: FlashSuccess, Key: "chat.action.done", Args: []any{as[i].Name}})
}
