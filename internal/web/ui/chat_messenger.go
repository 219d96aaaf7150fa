package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/tandem-crm/tandem/internal/chat/messenger"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

// Connecting Facebook pages: Facebook Login with the company's app, then
// a list of the admin's pages to pick from. The login's state is a random
// value kept in a short-lived HttpOnly cookie and compared on the way
// back, and the callback itself needs the same signed-in admin: a login
// someone else started cannot land in this session. The listed pages (with
// their tokens) travel to the connect form sealed and bound to the admin
// (messenger.SealPages).

const fbStateCookie = "tandem_fb_state"

func (u *UI) messengerRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/chat/channels/new/messenger", u.channelAdmin(u.messengerNew))
	mux.HandleFunc("GET /admin/chat/channels/new/messenger/login", u.channelAdmin(u.messengerLogin))
	mux.HandleFunc("GET "+messenger.CallbackPath, u.channelAdmin(u.messengerCallback))
	mux.HandleFunc("POST /admin/chat/channels/new/messenger", u.channelAdmin(u.messengerConnect))
}

type messengerStartView struct {
	Configured  bool
	SiteURL     string
	RedirectURI string
}

func (u *UI) messengerNew(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if u.messenger == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return
	}
	ctx := r.Context()
	id, _ := u.set.Get(ctx, "MessengerAppId")
	sec, _ := u.set.Get(ctx, "MessengerAppSecret")
	v := messengerStartView{RedirectURI: u.messenger.RedirectURI(ctx)}
	v.SiteURL, _ = u.set.Get(ctx, "SiteUrl")
	v.Configured = id != "" && sec != "" && v.SiteURL != ""
	u.render(w, http.StatusOK, "admin/chat_messenger_new", c.Page(w, r, "admin", v))
}

func (u *UI) messengerLogin(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if u.messenger == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return
	}
	var b [24]byte
	rand.Read(b[:])
	state := base64.RawURLEncoding.EncodeToString(b[:])
	auth, err := u.messenger.Begin(r.Context(), state)
	if err != nil {
		redirect(w, r, "/admin/chat/channels/new/messenger", Flash{Kind: FlashError, Key: "chat.messenger.not_configured"})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: fbStateCookie, Value: state, Path: messenger.CallbackPath, MaxAge: 900,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, auth, http.StatusSeeOther)
}

type messengerPickView struct {
	Pages  []pickPage
	Pick   string // the sealed page list
	Queues []Option
}

// pickPage is a page the admin may connect.
type pickPage struct {
	ID, Name, Category string
	Checked            bool
}

func (u *UI) messengerCallback(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if u.messenger == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return
	}
	q := r.URL.Query()
	ck, err := r.Cookie(fbStateCookie)
	http.SetCookie(w, &http.Cookie{Name: fbStateCookie, Path: messenger.CallbackPath, MaxAge: -1, HttpOnly: true})
	if err != nil || q.Get("state") == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(q.Get("state"))) != 1 {
		u.errorPage(w, r, c, http.StatusBadRequest)
		return
	}
	back := "/admin/chat/channels/new/messenger"
	if q.Get("error") != "" || q.Get("code") == "" {
		redirect(w, r, back, Flash{Kind: FlashWarning, Key: "chat.messenger.denied"})
		return
	}
	pages, _, err := u.messenger.Complete(r.Context(), q.Get("code"))
	if err != nil {
		u.log.Warn("ui: facebook login", "err", err)
		redirect(w, r, back, Flash{Kind: FlashError, Key: "chat.messenger.login_failed"})
		return
	}
	if len(pages) == 0 {
		redirect(w, r, back, Flash{Kind: FlashWarning, Key: "chat.messenger.no_pages"})
		return
	}
	pick, err := u.messenger.SealPages(r.Context(), pages, c.V.UserID)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	u.renderMessengerPick(w, r, c, http.StatusOK, pages, pick, nil)
}

func (u *UI) renderMessengerPick(w http.ResponseWriter, r *http.Request, c *Ctx, status int, pages []messenger.Page, pick string, errs map[string]string) {
	qs, err := u.queueOptions(r)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	v := messengerPickView{Pick: pick, Queues: qs}
	for _, p := range pages { // no tokens: the sealed pick carries them
		v.Pages = append(v.Pages, pickPage{ID: p.ID, Name: p.Name, Category: p.Category,
			Checked: errs == nil || slices.Contains(r.PostForm["page"], p.ID)})
	}
	pg := c.Page(w, r, "admin", v)
	if errs != nil {
		pg.Errors = errs
		pg.Form = r.PostForm
	}
	u.render(w, status, "admin/chat_messenger_pages", pg)
}

func (u *UI) messengerConnect(w http.ResponseWriter, r *http.Request, c *Ctx) {
	if u.messenger == nil {
		u.errorPage(w, r, c, http.StatusServiceUnavailable)
		return
	}
	ctx := r.Context()
	sealed := r.PostFormValue("pick")
	pages, err := u.messenger.OpenPages(ctx, sealed, c.V.UserID)
	if err != nil {
		redirect(w, r, "/admin/chat/channels/new/messenger", Flash{Kind: FlashWarning, Key: "chat.messenger.pick_expired"})
		return
	}
	picked := r.PostForm["page"]
	queue := r.PostFormValue("queue_id")
	bot := strings.TrimSpace(r.PostFormValue("bot_app_id"))
	errs := map[string]string{}
	if len(picked) == 0 {
		errs[FormError] = "chat.messenger.pick_one"
	}
	if queue == "" {
		errs["queue_id"] = crm.ErrRequired
	} else if _, err := u.st.ChatQueue(ctx, queue); err != nil {
		errs["queue_id"] = "chat.channel_new.unknown_queue"
	}
	if bot != "" && strings.Trim(bot, "0123456789") != "" {
		errs["bot_app_id"] = "chat.messenger.bad_app_id"
	}
	if len(errs) > 0 {
		u.renderMessengerPick(w, r, c, http.StatusUnprocessableEntity, pages, sealed, errs)
		return
	}
	var connected, dup []string
	for _, p := range pages {
		if !slices.Contains(picked, p.ID) {
			continue
		}
		p.BotAppID = bot
		ch, err := u.messenger.ConnectPage(ctx, p, queue, c.V.UserID)
		switch {
		case errors.Is(err, store.ErrDuplicate):
			dup = append(dup, p.Name)
		case err != nil:
			u.log.Warn("ui: connect facebook page", "page", p.ID, "err", err)
			u.renderMessengerPick(w, r, c, http.StatusBadGateway, pages, sealed, map[string]string{FormError: "chat.messenger.connect_failed"})
			return
		default:
			connected = append(connected, ch.Name)
		}
	}
	var fl []Flash
	if len(connected) > 0 {
		fl = append(fl, Flash{Kind: FlashSuccess, Key: "flash.chat_channel_created", Args: []any{strings.Join(connected, ", ")}})
	}
	if len(dup) > 0 {
		fl = append(fl, Flash{Kind: FlashWarning, Key: "chat.messenger.duplicate", Args: []any{strings.Join(dup, ", ")}})
	}
	redirect(w, r, "/admin/chat/channels", fl...)
}
