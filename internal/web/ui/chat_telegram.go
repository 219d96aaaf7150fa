package ui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat/telegram"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

// Adding chat channels (SPEC §5): a Telegram bot by its token here, a
// Facebook page through Facebook Login in chat_messenger.go. For holders
// of CanManageChats.

func (u *UI) chatChannelAddRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/chat/channels/new/telegram", u.channelAdmin(u.telegramNew))
	mux.HandleFunc("POST /admin/chat/channels/new/telegram", u.channelAdmin(u.telegramCreate))
	u.messengerRoutes(mux)
}

// channelAdmin wraps a page for users who may manage chats.
func (u *UI) channelAdmin(h handler) http.HandlerFunc {
	return u.authed(func(w http.ResponseWriter, r *http.Request, c *Ctx) {
		if !c.V.Can(access.OpManageChats) {
			u.errorPage(w, r, c, http.StatusForbidden)
			return
		}
		h(w, r, c)
	})
}

// queueOptions are the chat queues a new channel may route to.
func (u *UI) queueOptions(r *http.Request) ([]Option, error) {
	qs, err := u.st.ChatQueues(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]Option, 0, len(qs))
	for _, q := range qs {
		out = append(out, Option{Value: q.ID, Label: q.Name})
	}
	return out, nil
}

type telegramFormView struct {
	Queues []Option
}

func (u *UI) telegramNew(w http.ResponseWriter, r *http.Request, c *Ctx) {
	u.renderTelegramForm(w, r, c, http.StatusOK, nil)
}

func (u *UI) renderTelegramForm(w http.ResponseWriter, r *http.Request, c *Ctx, status int, errs map[string]string) {
	if u.telegram == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return
	}
	qs, err := u.queueOptions(r)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	pg := c.Page(w, r, "admin", telegramFormView{Queues: qs})
	if errs != nil {
		pg.Errors = errs
		pg.Form = r.PostForm
		pg.Form.Del("token") // never echoed back
	}
	u.render(w, status, "admin/chat_telegram_new", pg)
}

func (u *UI) telegramCreate(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if u.telegram == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	queue := r.PostFormValue("queue_id")
	errs := map[string]string{}
	if token == "" {
		errs["token"] = crm.ErrRequired
	}
	if queue == "" {
		errs["queue_id"] = crm.ErrRequired
	} else if _, err := u.st.ChatQueue(r.Context(), queue); err != nil {
		errs["queue_id"] = "chat.channel_new.unknown_queue"
	}
	if len(errs) > 0 {
		u.renderTelegramForm(w, r, c, http.StatusUnprocessableEntity, errs)
		return
	}
	ch, err := u.telegram.Connect(r.Context(), token, queue, c.V.UserID)
	switch {
	case errors.Is(err, telegram.ErrBadToken):
		u.renderTelegramForm(w, r, c, http.StatusUnprocessableEntity, map[string]string{"token": "chat.telegram.bad_token"})
		return
	case errors.Is(err, store.ErrDuplicate):
		u.renderTelegramForm(w, r, c, http.StatusUnprocessableEntity, map[string]string{FormError: "chat.telegram.duplicate", "token": "chat.telegram.duplicate"})
		return
	case err != nil:
		u.log.Warn("ui: connect telegram bot", "err", err)
		u.renderTelegramForm(w, r, c, http.StatusBadGateway, map[string]string{FormError: "chat.telegram.unreachable"})
		return
	}
	redirect(w, r, "/admin/chat/channels", Flash{Kind: FlashSuccess, Key: "flash.chat_channel_created", Args: []any{ch.Name}})
}
