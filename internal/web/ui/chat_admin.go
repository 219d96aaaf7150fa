package ui

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
)

// Administration → Chats (SPEC §5): queues and who works them, channels
// (their queue, active flag and health), chat actions and the operators'
// state. For holders of CanManageChats. Adding a Telegram bot or
// connecting Facebook pages is each channel kind's own flow, at
// chatChannelNewPaths.

// chatChannelNewPaths are where a channel kind's "add" flow starts; the
// channels page links to them.
var chatChannelNewPaths = []struct{ Kind, Path string }{
	{string(chat.KindTelegram), "/admin/chat/channels/new/telegram"},
	{string(chat.KindMessenger), "/admin/chat/channels/new/messenger"},
}

func (u *UI) chatAdminRoutes(mux *http.ServeMux) {
	m := u.chatManager
	mux.HandleFunc("GET /admin/chat", m(func(w http.ResponseWriter, r *http.Request, c *Ctx) {
		http.Redirect(w, r, "/admin/chat/queues", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /admin/chat/queues", m(u.chatQueues))
	mux.HandleFunc("GET /admin/chat/queues/new", m(u.chatQueueNew))
	mux.HandleFunc("POST /admin/chat/queues/new", m(u.chatQueueCreate))
	mux.HandleFunc("GET /admin/chat/queues/{id}", m(u.chatQueueEdit))
	mux.HandleFunc("POST /admin/chat/queues/{id}", m(u.chatQueueSave))
	mux.HandleFunc("POST /admin/chat/queues/{id}/delete", m(u.chatQueueDelete))
	mux.HandleFunc("GET /admin/chat/channels", m(u.chatChannels))
	mux.HandleFunc("GET /admin/chat/channels/{id}", m(u.chatChannelEdit))
	mux.HandleFunc("POST /admin/chat/channels/{id}", m(u.chatChannelSave))
	mux.HandleFunc("POST /admin/chat/channels/{id}/delete", m(u.chatChannelDelete))
	mux.HandleFunc("GET /admin/chat/actions", m(u.chatActions))
	mux.HandleFunc("GET /admin/chat/actions/new", m(u.chatActionNew))
	mux.HandleFunc("POST /admin/chat/actions/new", m(u.chatActionCreate))
	mux.HandleFunc("GET /admin/chat/actions/{id}", m(u.chatActionEdit))
	mux.HandleFunc("POST /admin/chat/actions/{id}", m(u.chatActionSave))
	mux.HandleFunc("POST /admin/chat/actions/{id}/delete", m(u.chatActionDelete))
	mux.HandleFunc("GET /admin/chat/operators", m(u.chatOperators))
}

// chatManager wraps a page for holders of CanManageChats; without a chat
// service the pages answer 503.
func (u *UI) chatManager(h handler) http.HandlerFunc {
	return u.authed(func(w http.ResponseWriter, r *http.Request, c *Ctx) {
		if !c.V.Can(access.OpManageChats) {
			u.errorPage(w, r, c, http.StatusForbidden)
			return
		}
		if u.chat == nil {
			u.errorPage(w, r, c, http.StatusServiceUnavailable)
			return
		}
		h(w, r, c)
	})
}

func chatAdminTabs(active string) []sectionTab {
	tabs := []sectionTab{
		{Href: "/admin/chat/queues", Label: "chat.admin.queues.title"},
		{Href: "/admin/chat/channels", Label: "chat.admin.channels.title"},
		{Href: "/admin/chat/actions", Label: "chat.admin.actions.title"},
		{Href: "/admin/chat/operators", Label: "chat.admin.operators.title"},
	}
	for i := range tabs {
		tabs[i].Current = tabs[i].Href == active
	}
	return tabs
}

// ---------- queues ----------

type chatQueuesView struct {
	Tabs   []sectionTab
	Queues []store.ChatQueue
}

func (u *UI) chatQueues(w http.ResponseWriter, r *http.Request, c *Ctx) {
	qs, err := u.st.ChatQueues(r.Context())
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.render(w, http.StatusOK, "admin/chat_queues", c.Page(w, r, "chat_admin", chatQueuesView{Tabs: chatAdminTabs("/admin/chat/queues"), Queues: qs}))
}

// chatMemberOption is a user or role the queue form offers.
type chatMemberOption struct {
	Value   string // "user:<id>" or "role:<id>"
	Label   string
	Checked bool
}

type chatQueueFormView struct {
	Q        *store.ChatQueue
	Minutes  string // the completion timeout as the input shows it
	Routings []Option
	Users    []chatMemberOption
	Roles    []chatMemberOption
}

func (u *UI) chatQueueNew(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.renderChatQueueForm(w, r, c, http.StatusOK, &store.ChatQueue{Routing: string(chat.RoutingAll)}, "", nil)
}

func (u *UI) chatQueueEdit(w http.ResponseWriter, r *http.Request, c *Ctx) {
	q, err := u.st.ChatQueue(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.renderChatQueueForm(w, r, c, http.StatusOK, q, minutesValue(q.CompletionMinutes), nil)
}

func minutesValue(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// renderChatQueueForm draws the queue form from q; after a failed save q
// holds what was posted and errs the problems.
func (u *UI) renderChatQueueForm(w http.ResponseWriter, r *http.Request, c *Ctx, status int, q *store.ChatQueue, minutes string,
	errs map[string]string) {
	ctx := r.Context()
	users, err := u.st.ListUsers(ctx, "")
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	roles, err := u.st.ListRoles(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	member := map[string]bool{}
	for _, m := range q.Members {
		member[m.Kind+":"+m.ID] = true
	}
	v := chatQueueFormView{Q: q, Minutes: minutes,
		Routings: enumOptions("chat.routing", []string{string(chat.RoutingAll), string(chat.RoutingLeastBusy)})}
	for _, x := range users {
		k := "user:" + x.ID
		if x.Active || member[k] {
			v.Users = append(v.Users, chatMemberOption{Value: k, Label: x.Name, Checked: member[k]})
		}
	}
	for _, x := range roles {
		k := "role:" + x.ID
		v.Roles = append(v.Roles, chatMemberOption{Value: k, Label: x.Name, Checked: member[k]})
	}
	u.formPage(w, r, c, status, "chat_admin", "admin/chat_queue", v, errs)
}

// chatQueueFromForm applies the posted fields to q; a timeout that is not
// a number is a field error (empty: never).
func chatQueueFromForm(r *http.Request, q *store.ChatQueue) (minutes string, fe crm.FieldErrors) {
	fe = crm.FieldErrors{}
	q.Name = r.PostFormValue("name")
	q.Routing = r.PostFormValue("routing")
	minutes = strings.TrimSpace(r.PostFormValue("completion_minutes"))
	q.CompletionMinutes = 0
	if minutes != "" {
		n, err := strconv.Atoi(minutes)
		if err != nil {
			fe.Add("completion_minutes", "error.invalid_number")
		} else {
			q.CompletionMinutes = n
			if n <= 0 {
				fe.Add("completion_minutes", "error.out_of_range")
			}
		}
	}
	q.Members = nil
	for _, v := range r.PostForm["members"] {
		kind, id, _ := strings.Cut(v, ":")
		q.Members = append(q.Members, store.ChatQueueMember{Kind: kind, ID: id})
	}
	return minutes, fe
}

func (u *UI) chatQueueCreate(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.saveChatQueue(w, r, c, &store.ChatQueue{})
}

func (u *UI) chatQueueSave(w http.ResponseWriter, r *http.Request, c *Ctx) {
	q, err := u.st.ChatQueue(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.saveChatQueue(w, r, c, q)
}

func (u *UI) saveChatQueue(w http.ResponseWriter, r *http.Request, c *Ctx, q *store.ChatQueue) {
	isNew := q.ID == ""
	minutes, fe := chatQueueFromForm(r, q)
	if isReview(r) {
		u.renderChatQueueForm(w, r, c, http.StatusOK, q, minutes, map[string]string{})
		return
	}
	if len(fe) == 0 {
		err := u.chat.SaveQueue(r.Context(), q)
		if err != nil {
			var ok bool
			if fe, ok = formErrors(err); !ok {
				u.fail(w, r, c, err)
				return
			}
		}
	}
	if len(fe) > 0 {
		if isNew {
			q.ID = ""
		}
		u.renderChatQueueForm(w, r, c, http.StatusUnprocessableEntity, q, minutes, fe)
		return
	}
	if isNew {
		redirect(w, r, "/admin/chat/queues", Flash{Kind: FlashSuccess, Key: "chat.admin.queues.created", Args: []any{q.Name}})
		return
	}
	redirect(w, r, "/admin/chat/queues/"+q.ID, Flash{Kind: FlashSuccess, Key: "flash.saved"})
}

func (u *UI) chatQueueDelete(w http.ResponseWriter, r *http.Request, c *Ctx) {
	q, err := u.st.ChatQueue(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	err = u.chat.DeleteQueue(r.Context(), q.ID)
	if errors.Is(err, store.ErrChatQueueInUse) {
		redirect(w, r, "/admin/chat/queues/"+q.ID, Flash{Kind: FlashError, Key: "chat.admin.queues.in_use", Args: []any{q.Name}})
		return
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/admin/chat/queues", Flash{Kind: FlashSuccess, Key: "chat.admin.queues.deleted", Args: []any{q.Name}})
}

// ---------- channels ----------

type chatChannelsView struct {
	Tabs     []sectionTab
	Channels []store.ChatChannel
	Broken   []store.ChatChannel
	NewPaths []struct{ Kind, Path string }
	NoQueues bool // a channel needs a queue: create one first
}

func (u *UI) chatChannels(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ctx := r.Context()
	chs, err := u.st.ChatChannels(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	qs, err := u.st.ChatQueues(ctx)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v := chatChannelsView{Tabs: chatAdminTabs("/admin/chat/channels"), Channels: chs, NewPaths: chatChannelNewPaths, NoQueues: len(qs) == 0}
	for _, ch := range chs {
		if ch.Health == "broken" {
			v.Broken = append(v.Broken, ch)
		}
	}
	u.render(w, http.StatusOK, "admin/chat_channels", c.Page(w, r, "chat_admin", v))
}

type chatChannelFormView struct {
	Ch     *store.ChatChannel
	Queues []Option
}

func (u *UI) chatChannelEdit(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ch, err := u.st.ChatChannel(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.renderChatChannelForm(w, r, c, http.StatusOK, ch, nil)
}

func (u *UI) renderChatChannelForm(w http.ResponseWriter, r *http.Request, c *Ctx, status int, ch *store.ChatChannel, errs map[string]string) {
	qs, err := u.st.ChatQueues(r.Context())
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v := chatChannelFormView{Ch: ch}
	for _, q := range qs {
		v.Queues = append(v.Queues, Option{Value: q.ID, Label: q.Name})
	}
	u.formPage(w, r, c, status, "chat_admin", "admin/chat_channel", v, errs)
}

func (u *UI) chatChannelSave(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ch, err := u.st.ChatChannel(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	ch.Name, ch.QueueID, ch.Active = r.PostFormValue("name"), r.PostFormValue("queue_id"), r.PostFormValue("active") != ""
	if isReview(r) {
		u.renderChatChannelForm(w, r, c, http.StatusOK, ch, map[string]string{})
		return
	}
	err = u.chat.SaveChannel(r.Context(), ch.ID, chat.ChannelUpdate{Name: ch.Name, QueueID: ch.QueueID, Active: ch.Active})
	if err != nil {
		fe, ok := formErrors(err)
		if !ok {
			u.fail(w, r, c, err)
			return
		}
		u.renderChatChannelForm(w, r, c, http.StatusUnprocessableEntity, ch, fe)
		return
	}
	redirect(w, r, "/admin/chat/channels", Flash{Kind: FlashSuccess, Key: "flash.saved"})
}

func (u *UI) chatChannelDelete(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ch, err := u.st.ChatChannel(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	err = u.chat.DeleteChannel(r.Context(), ch.ID)
	if errors.Is(err, store.ErrChannelHasChats) {
		redirect(w, r, "/admin/chat/channels/"+ch.ID, Flash{Kind: FlashError, Key: "chat.admin.channels.has_chats"})
		return
	}
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/admin/chat/channels", Flash{Kind: FlashSuccess, Key: "chat.admin.channels.deleted", Args: []any{ch.Name}})
}

// ---------- actions ----------

type chatActionsView struct {
	Tabs    []sectionTab
	Actions []store.ChatAction
}

func (u *UI) chatActions(w http.ResponseWriter, r *http.Request, c *Ctx) {
	as, err := u.st.ChatActions(r.Context(), "")
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.render(w, http.StatusOK, "admin/chat_actions", c.Page(w, r, "chat_admin", chatActionsView{Tabs: chatAdminTabs("/admin/chat/actions"), Actions: as}))
}

type chatActionFormView struct {
	A         *store.ChatAction
	Queues    []Option
	Processes []Option
	// Masked is the stored signing secret as the page shows it.
	Masked string
	// Retype: a secret typed into a save that failed was not kept.
	Retype    bool
	MinSecret int
}

func (u *UI) chatActionNew(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.renderChatActionForm(w, r, c, http.StatusOK, &store.ChatAction{Process: string(chat.ProcessCreateCase)}, nil, false)
}

func (u *UI) chatActionEdit(w http.ResponseWriter, r *http.Request, c *Ctx) {
	a, err := u.chatAction(r)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.renderChatActionForm(w, r, c, http.StatusOK, a, nil, false)
}

// chatAction reads the action of the request's path.
func (u *UI) chatAction(r *http.Request) (*store.ChatAction, error) {
	as, err := u.st.ChatActions(r.Context(), "")
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(as, func(a store.ChatAction) bool { return a.ID == r.PathValue("id") })
	if i < 0 {
		return nil, store.ErrNotFound
	}
	return &as[i], nil
}

func (u *UI) renderChatActionForm(w http.ResponseWriter, r *http.Request, c *Ctx, status int, a *store.ChatAction,
	errs map[string]string, retype bool) {
	qs, err := u.st.ChatQueues(r.Context())
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v := chatActionFormView{A: a, Retype: retype, MinSecret: chat.MinActionSecret,
		Processes: enumOptions("chat.process", []string{string(chat.ProcessCreateCase), string(chat.ProcessWebhook)})}
	for _, q := range qs {
		v.Queues = append(v.Queues, Option{Value: q.ID, Label: q.Name})
	}
	if a.Secret != "" {
		plain, err := u.chat.ActionSecret(a)
		if err != nil {
			u.log.WarnContext(r.Context(), "chat action secret unreadable", "action", a.ID, "err", err)
		}
		v.Masked = settings.Mask(plain)
		if plain == "" {
			v.Masked = "••••••"
		}
	}
	u.formPage(w, r, c, status, "chat_admin", "admin/chat_action", v, errs)
}

func (u *UI) chatActionCreate(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.saveChatAction(w, r, c, &store.ChatAction{})
}

func (u *UI) chatActionSave(w http.ResponseWriter, r *http.Request, c *Ctx) {
	a, err := u.chatAction(r)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.saveChatAction(w, r, c, a)
}

func (u *UI) saveChatAction(w http.ResponseWriter, r *http.Request, c *Ctx, a *store.ChatAction) {
	isNew := a.ID == ""
	a.Name, a.QueueID, a.Process, a.URL = r.PostFormValue("name"), r.PostFormValue("queue_id"), r.PostFormValue("process"), r.PostFormValue("url")
	secret := r.PostFormValue("secret")
	typed := secret != ""
	if isReview(r) {
		u.renderChatActionForm(w, r, c, http.StatusOK, a, map[string]string{}, typed)
		return
	}
	stored := a.Secret
	if err := u.chat.SaveAction(r.Context(), a, secret); err != nil {
		fe, ok := formErrors(err)
		if !ok {
			u.fail(w, r, c, err)
			return
		}
		if isNew {
			a.ID = ""
		}
		a.Secret = stored
		u.renderChatActionForm(w, r, c, http.StatusUnprocessableEntity, a, fe, typed && fe["secret"] == "")
		return
	}
	if isNew {
		redirect(w, r, "/admin/chat/actions", Flash{Kind: FlashSuccess, Key: "chat.admin.actions.created", Args: []any{a.Name}})
		return
	}
	redirect(w, r, "/admin/chat/actions/"+a.ID, Flash{Kind: FlashSuccess, Key: "flash.saved"})
}

func (u *UI) chatActionDelete(w http.ResponseWriter, r *http.Request, c *Ctx) {
	a, err := u.chatAction(r)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	if err := u.st.DeleteChatAction(r.Context(), a.ID); err != nil {
		u.fail(w, r, c, err)
		return
	}
	redirect(w, r, "/admin/chat/actions", Flash{Kind: FlashSuccess, Key: "chat.admin.actions.deleted", Args: []any{a.Name}})
}

// ---------- operators ----------

type chatOperatorsView struct {
	Tabs      []sectionTab
	Operators []store.ChatOperator
	Capacity  int
}

func (u *UI) chatOperators(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ops, err := u.st.ChatOperators(r.Context())
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v := chatOperatorsView{Tabs: chatAdminTabs("/admin/chat/operators"), Operators: ops, Capacity: u.chatCapacity(r)}
	u.render(w, http.StatusOK, "admin/chat_operators", c.Page(w, r, "chat_admin", v))
}

// chatCapacity is SimultaneousChats, as the chat service counts it.
func (u *UI) chatCapacity(r *http.Request) int {
	if n := u.set.Int(r.Context(), "SimultaneousChats"); n > 0 {
		return n
	}
	return 2
}
