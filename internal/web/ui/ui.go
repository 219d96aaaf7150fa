package ui

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/chat/messenger"
	"github.com/tandem-crm/tandem/internal/chat/telegram"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/jobs"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/provider"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/signin"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/web"
)

// JobQueue is the part of the job queue the administration pages show.
type JobQueue interface {
	List(ctx context.Context, f jobs.Filter) ([]jobs.Job, string, error)
	Get(ctx context.Context, id int64) (jobs.Job, error)
	Cancel(ctx context.Context, id int64) (jobs.Job, error)
	Retry(ctx context.Context, id int64) (jobs.Job, error)
}

// Deps are what the UI calls.
type Deps struct {
	Store    *store.Store
	Settings *settings.Service
	Jobs     JobQueue // may be nil
	Log      *slog.Logger
	OAuth    *oauth.Service // may be nil: connecting accounts is then unavailable
	Sync     SyncService    // may be nil: sync settings are then hidden
	// Providers are the sync providers the process knows (may be nil:
	// connections then show their provider's code only).
	Providers *provider.Registry
	Mail      *mail.Service // may be nil: the mail directory pages then answer 503
	// Mailboxes may be nil: the profile's mailbox pages, letter pages and
	// sending then answer 503, and letters are shown from the store only.
	Mailboxes *mail.Mailboxes
	// LetterNews, when set, wakes the mail panel's live updates at once.
	LetterNews *mail.Broker
	// Chat may be nil: the chat pages then answer 503. ChatBus carries
	// its events to the operator panels' live updates.
	Chat      *chat.Service
	ChatBus   chat.Bus
	Telegram  *telegram.Adapter  // may be nil: adding a Telegram channel then answers 503
	Messenger *messenger.Adapter // may be nil: connecting Facebook pages then answers 503
}

// UI serves the web interface.
type UI struct {
	st   *store.Store
	set  *settings.Service
	oa   *oauth.Service
	sync SyncService
	// providers name connections' providers and where their connect flow starts.
	providers *provider.Registry
	jobs      JobQueue
	mail      *mail.Service
	mailboxes *mail.Mailboxes
	news      *mail.Broker
	chat      *chat.Service
	chatBus   chat.Bus
	telegram  *telegram.Adapter
	messenger *messenger.Adapter
	log       *slog.Logger
	r         *Renderer
	auth      *web.Auth
	kept      *formStash // forms posted after their session ended (resume.go)

	syncEventsEvery time.Duration // how often a sync's event stream polls (0: syncEventsEvery)
	mailEventsEvery time.Duration // how often the mail panel's stream polls (0: mailEventsEvery)
	streamsMu       sync.Mutex
	streamsStop     map[*http.Server]chan struct{} // closed when that server shuts down
}

// New parses the templates.
func New(d Deps) (*UI, error) {
	r, err := NewRenderer()
	if err != nil {
		return nil, err
	}
	return &UI{st: d.Store, set: d.Settings, oa: d.OAuth, sync: d.Sync, providers: d.Providers, jobs: d.Jobs, mail: d.Mail, mailboxes: d.Mailboxes, log: d.Log, r: r,
		kept: newFormStash(), news: d.LetterNews, chat: d.Chat, chatBus: d.ChatBus,
		telegram: d.Telegram, messenger: d.Messenger}, nil
}

// Ctx is what a page handler knows about the signed-in user.
type Ctx struct {
	V    access.Viewer
	CSRF string
	Lang i18n.Lang
	Loc  *time.Location
	Path string
}

// handler is a page handler for a signed-in user.
type handler func(w http.ResponseWriter, r *http.Request, c *Ctx)

// Routes registers the UI's pages. Page groups live in their own files.
func (u *UI) Routes(mux *http.ServeMux, auth *web.Auth) {
	u.auth = auth
	mux.Handle("GET /static/", StaticHandler())
	mux.HandleFunc("GET /login", u.loginForm)
	mux.HandleFunc("POST /login", u.login)
	mux.HandleFunc("POST /logout", u.logout)
	mux.HandleFunc("POST /language", u.setLanguage)
	mux.HandleFunc("GET /resume", u.authed(u.resumePage))
	mux.HandleFunc("GET /{$}", u.authed(func(w http.ResponseWriter, r *http.Request, c *Ctx) {
		http.Redirect(w, r, "/contacts", http.StatusSeeOther)
	}))
	u.crmRoutes(mux)
	u.accountRoutes(mux)
	u.caseRoutes(mux)
	u.accessRoutes(mux)
	u.syncRoutes(mux)
	u.profileRoutes(mux)
	u.adminRoutes(mux)
	u.mailAdminRoutes(mux)
	u.chatChannelAddRoutes(mux)
	u.letterRoutes(mux)
	u.chatAdminRoutes(mux)
	u.chatRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c := u.anonCtx(w, r)
		if v, sess, ok := auth.Session(r); ok {
			c = u.ctxFor(r, v, sess)
		}
		u.errorPage(w, r, c, http.StatusNotFound)
	})
}

// authed wraps a page for signed-in users: others go to the login page; a
// form post must carry the session's CSRF token. A form posted without a
// session, or with a token of an older one, keeps what was typed: it is
// stashed and offered back after signing in (resume.go).
func (u *UI) authed(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, sess, ok := u.auth.Session(r)
		if !ok {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			// Whose form it was is known only from the browser's last
			// sign-in: without that, keep nothing rather than offer it to
			// whoever signs in next.
			if last := lastUser(r); last != "" && u.stashForm(w, r, last) {
				u.loginToResume(w, r)
				return
			}
			u.errorPage(w, r, u.anonCtx(w, r), http.StatusUnauthorized)
			return
		}
		c := u.ctxFor(r, v, sess)
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !validCSRF(r, sess.CSRF) {
			// A token of the right form is one an older session gave this
			// browser (signed out and in again elsewhere); anything else is
			// refused as before.
			if wellFormedToken(r.PostFormValue("csrf_token")) && u.stashForm(w, r, v.UserID) {
				http.Redirect(w, r, "/resume", http.StatusSeeOther)
				return
			}
			u.errorPage(w, r, c, http.StatusForbidden)
			return
		}
		r = r.WithContext(store.WithOrigin(access.WithViewer(r.Context(), v), "ui"))
		h(w, r, c)
	}
}

// admin wraps a page for holders of CanManageAdministration.
func (u *UI) admin(h handler) http.HandlerFunc {
	return u.authed(func(w http.ResponseWriter, r *http.Request, c *Ctx) {
		if !c.V.IsAdmin() {
			u.errorPage(w, r, c, http.StatusForbidden)
			return
		}
		h(w, r, c)
	})
}

// wellFormedToken reports whether s could be a token Tandem issued
// (access.NewToken: 32 random bytes, base64url).
func wellFormedToken(s string) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == 32
}

func validCSRF(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf_token")
	}
	return want != "" && got == want
}

func (u *UI) ctxFor(r *http.Request, v access.Viewer, sess store.Session) *Ctx {
	l, ok := i18n.Parse(v.Lang)
	if !ok {
		l = i18n.Match(r.Header.Get("Accept-Language"))
	}
	loc, err := time.LoadLocation(v.TZ)
	if err != nil {
		loc = time.UTC
	}
	return &Ctx{V: v, CSRF: sess.CSRF, Lang: l, Loc: loc, Path: r.URL.RequestURI()}
}

// Page builds the PageData of a page for c.
func (c *Ctx) Page(w http.ResponseWriter, r *http.Request, active string, data any) PageData {
	p := PageData{Lang: c.Lang, CSRF: c.CSRF, Active: active, Data: data, Loc: c.Loc, Path: c.Path, Form: r.URL.Query()}
	if c.V.UserID != "" {
		p.User = &UserView{ID: c.V.UserID, Name: c.V.Name, Email: c.V.Email, IsAdmin: c.V.IsAdmin(),
			CanManageChats: c.V.Can(access.OpManageChats)}
	}
	p.Flash = takeFlashes(w, r)
	return p
}

func (u *UI) render(w http.ResponseWriter, status int, name string, p PageData) {
	u.r.Render(w, status, name, p)
}

// BadInput answers a form post or address holding NUL characters or invalid
// UTF-8, which the server refuses before any page sees it. Browsers never
// send such bytes from our pages, so a plain error page with the way back
// (where the browser keeps what was typed) is enough.
func (u *UI) BadInput(w http.ResponseWriter, r *http.Request) {
	c := u.anonCtx(w, r)
	if v, sess, ok := u.auth.Session(r); ok {
		c = u.ctxFor(r, v, sess)
	}
	d := NewErrorData(http.StatusBadRequest)
	d.TextKey = "error.page.bad_text.text"
	u.r.Error(w, http.StatusBadRequest, c.Page(w, r, "", d))
}

func (u *UI) errorPage(w http.ResponseWriter, r *http.Request, c *Ctx, status int) {
	p := c.Page(w, r, "", NewErrorData(status))
	u.r.Error(w, status, p)
}

// fail answers a page whose store call failed: hidden records are 404,
// forbidden changes 403, anything else a logged 500.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, c *Ctx, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		u.errorPage(w, r, c, http.StatusNotFound)
	case errors.Is(err, store.ErrForbidden):
		u.errorPage(w, r, c, http.StatusForbidden)
	case errors.Is(err, store.ErrBadCursor):
		u.errorPage(w, r, c, http.StatusBadRequest)
	case errors.Is(err, context.Canceled):
	default:
		u.log.ErrorContext(r.Context(), "ui request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		u.errorPage(w, r, c, http.StatusInternalServerError)
	}
}

// formErrors extracts field errors from a validation or conflict error so a
// form can be shown again with them; ok is false for other errors.
func formErrors(err error) (map[string]string, bool) {
	var ve *crm.ValidationError
	if errors.As(err, &ve) {
		return ve.Fields, true
	}
	if errors.Is(err, store.ErrConflict) {
		return map[string]string{FormError: "error.conflict"}, true
	}
	return nil, false
}

// redirect sends the browser on with optional flash messages.
func redirect(w http.ResponseWriter, r *http.Request, to string, flashes ...Flash) {
	if len(flashes) > 0 {
		b, _ := json.Marshal(flashes)
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/",
			HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 60})
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

const flashCookie = "tandem_flash"

// takeFlashes reads and clears the flash cookie.
func takeFlashes(w http.ResponseWriter, r *http.Request) []Flash {
	c, err := r.Cookie(flashCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return nil
	}
	var fs []Flash
	if json.Unmarshal(b, &fs) != nil || len(fs) > 5 {
		return nil
	}
	return fs
}

// localPath accepts only a path on this site, so "next" parameters cannot
// redirect elsewhere.
func localPath(s, def string) string {
	if s == "" || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
		return def
	}
	return s
}

// Anonymous pages (login) use a double-submit CSRF cookie, since there is
// no session yet; cross-origin posts are also refused by the server's
// cross-origin protection.
const anonCSRFCookie = "tandem_csrf"

func (u *UI) anonCtx(w http.ResponseWriter, r *http.Request) *Ctx {
	tok := ""
	if c, err := r.Cookie(anonCSRFCookie); err == nil && len(c.Value) >= 32 {
		tok = c.Value
	} else {
		tok = access.NewToken("")
		http.SetCookie(w, &http.Cookie{Name: anonCSRFCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	l := i18n.Match(r.Header.Get("Accept-Language"))
	if c, err := r.Cookie("tandem_lang"); err == nil {
		if pl, ok := i18n.Parse(c.Value); ok {
			l = pl
		}
	}
	return &Ctx{CSRF: tok, Lang: l, Loc: time.UTC, Path: r.URL.RequestURI()}
}

func (u *UI) loginForm(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := u.auth.Session(r); ok {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next"), "/contacts"), http.StatusSeeOther)
		return
	}
	c := u.anonCtx(w, r)
	u.render(w, http.StatusOK, "login", c.Page(w, r, "", nil))
}

// loginData is the Data of the sign-in page.
type loginData struct {
	Notice string // catalogue key of a notice above the form
	// RetrySeconds, after an attempt refused for too many failures, says
	// when to try again.
	RetrySeconds int
	RetryMinutes int // RetrySeconds rounded up
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	c := u.anonCtx(w, r)
	if err := r.ParseForm(); err != nil || !validCSRF(r, c.CSRF) {
		u.errorPage(w, r, c, http.StatusForbidden)
		return
	}
	user, err := u.auth.SignIn(r, r.PostFormValue("email"), r.PostFormValue("password"))
	if err != nil {
		p := c.Page(w, r, "", nil)
		p.Form = r.PostForm
		var wait *signin.ThrottledError
		if errors.As(err, &wait) {
			s := wait.Seconds()
			w.Header().Set("Retry-After", strconv.Itoa(s))
			p.Data = loginData{RetrySeconds: s, RetryMinutes: (s + 59) / 60}
			u.render(w, http.StatusTooManyRequests, "login", p)
			return
		}
		if !errors.Is(err, access.ErrPassword) {
			u.log.ErrorContext(r.Context(), "login failed", "err", err)
		}
		p.Errors = map[string]string{FormError: "login.failed"}
		u.render(w, http.StatusUnauthorized, "login", p)
		return
	}
	if _, err := u.auth.Login(w, r, user.ID); err != nil {
		u.fail(w, r, c, err)
		return
	}
	setLastUser(w, r, user.ID)
	redirect(w, r, localPath(r.PostFormValue("next"), "/contacts"))
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	if _, sess, ok := u.auth.Session(r); ok && !validCSRF(r, sess.CSRF) {
		u.errorPage(w, r, u.anonCtx(w, r), http.StatusForbidden)
		return
	}
	u.auth.Logout(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setLanguage stores the language on the profile, or in a cookie before
// sign-in.
func (u *UI) setLanguage(w http.ResponseWriter, r *http.Request) {
	l, ok := i18n.Parse(r.PostFormValue("lang"))
	next := localPath(r.PostFormValue("next"), "/")
	v, sess, signedIn := u.auth.Session(r)
	if !signedIn {
		c := u.anonCtx(w, r)
		if !ok || !validCSRF(r, c.CSRF) {
			u.errorPage(w, r, c, http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "tandem_lang", Value: string(l), Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	c := u.ctxFor(r, v, sess)
	if !ok || !validCSRF(r, sess.CSRF) {
		u.errorPage(w, r, c, http.StatusBadRequest)
		return
	}
	user, err := u.st.GetUser(r.Context(), v.UserID)
	if err != nil {
		u.fail(w, r, c, err)
		return
	}
	user.Language = string(l)
	user.RoleIDs, user.Ops = nil, nil // leave as they are
	if err := u.st.UpdateUser(r.Context(), user); err != nil {
		u.fail(w, r, c, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
