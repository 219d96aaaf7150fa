package ui

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/web"
)

// A form posted after its session ended (or with a token from an older
// session) is not lost: its values wait here, in memory, under a one-time
// token kept in a cookie of the browser that posted it. After signing in,
// /resume offers them back: "Open the form" shows a record or the settings
// form filled in again, other forms get "Save now". Nothing is submitted
// without the user clicking, and that click carries the new session's CSRF
// token like any other form.
//
// Passwords and secrets are never kept: a stash holds what the page would
// show back anyway.

// resumeCookie holds the one-time token of a stashed form.
const resumeCookie = "tandem_resume"

// Bounds of the stash: how long a form waits, how many wait at once (the
// oldest goes first), and the largest form kept.
const (
	resumeTTL     = 30 * time.Minute
	resumeMax     = 500
	resumeMaxSize = 256 << 10
)

// stashedForm is a form that could not be saved.
type stashedForm struct {
	UserID string // "" when the session had ended: whoever signs in next
	Path   string // where it was posted, with its query
	Values url.Values
	At     time.Time
}

// formStash keeps forms in memory; a restart forgets them, which only
// brings back the old behaviour of losing the input.
type formStash struct {
	mu    sync.Mutex
	forms map[string]stashedForm
	now   func() time.Time
}

func newFormStash() *formStash {
	return &formStash{forms: map[string]stashedForm{}, now: time.Now}
}

func (s *formStash) put(f stashedForm) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	f.At = now
	for tok, old := range s.forms {
		if now.Sub(old.At) > resumeTTL {
			delete(s.forms, tok)
		}
	}
	for len(s.forms) >= resumeMax {
		oldest := ""
		for tok, old := range s.forms {
			if oldest == "" || old.At.Before(s.forms[oldest].At) {
				oldest = tok
			}
		}
		delete(s.forms, oldest)
	}
	tok := access.NewToken("")
	s.forms[tok] = f
	return tok
}

// take removes and returns the form stashed under tok for userID: one
// stashed for another user stays hidden (and is dropped).
func (s *formStash) take(tok, userID string) (stashedForm, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.forms[tok]
	delete(s.forms, tok)
	if !ok || s.now().Sub(f.At) > resumeTTL || (f.UserID != "" && f.UserID != userID) {
		return stashedForm{}, false
	}
	return f, true
}

// keptField reports whether a posted field is worth keeping: not the CSRF
// token, a password or a secret.
func keptField(name string) bool {
	n := strings.ToLower(name)
	return name != "csrf_token" && !strings.Contains(n, "password") && !strings.Contains(n, "secret")
}

// stashForm keeps the values of a form post that cannot be handled for
// want of a session or a valid CSRF token, and sets the cookie that finds
// them again. It keeps nothing, and reports false, for a post that is not
// a form, is too large, or carries nothing typed (a delete button).
func (u *UI) stashForm(w http.ResponseWriter, r *http.Request, userID string) bool {
	// Only a form the browser submitted: a script's request (it sends the
	// token in a header) gets its error as before.
	if r.Method != http.MethodPost || r.Header.Get("X-CSRF-Token") != "" ||
		(r.Header.Get("Sec-Fetch-Mode") != "" && r.Header.Get("Sec-Fetch-Mode") != "navigate") {
		return false
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
		return false
	}
	vals, size, typed := url.Values{}, 0, false
	for k, vs := range r.PostForm {
		if !keptField(k) {
			continue
		}
		for _, v := range vs {
			size += len(k) + len(v)
			typed = typed || v != ""
		}
		vals[k] = vs
	}
	if !typed || size > resumeMaxSize {
		return false
	}
	tok := u.kept.put(stashedForm{UserID: userID, Path: localPath(r.URL.RequestURI(), "/"), Values: vals})
	http.SetCookie(w, &http.Cookie{Name: resumeCookie, Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: int(resumeTTL / time.Second)})
	return true
}

// loginToResume answers a form posted without a session: the sign-in page,
// saying why, that comes back to /resume.
func (u *UI) loginToResume(w http.ResponseWriter, r *http.Request) {
	c := u.anonCtx(w, r)
	p := c.Page(w, r, "", loginData{Notice: "login.session_ended"})
	p.Form = url.Values{"next": {"/resume"}}
	u.render(w, http.StatusUnauthorized, "login", p)
}

// reviewPath matches the forms that can show posted values again instead
// of saving them (a post with "_review"): records and the settings.
var reviewPath = regexp.MustCompile(`^/(contacts|accounts|activities)(/[^/]+)?$|^/admin/settings$`)

// reviewField is the posted field that asks for the form filled in again.
const reviewField = "_review"

// isReview reports whether a form post only asks to be shown again.
func isReview(r *http.Request) bool { return r.PostFormValue(reviewField) != "" }

type resumeField struct{ Name, Value string }

type resumeData struct {
	Action string
	Review bool
	Fields []resumeField
}

// resumePage offers a stashed form back to the user who signed in again.
func (u *UI) resumePage(w http.ResponseWriter, r *http.Request, c *Ctx) {
	ck, err := r.Cookie(resumeCookie)
	if err != nil || ck.Value == "" {
		http.Redirect(w, r, "/contacts", http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: resumeCookie, Value: "", Path: "/", HttpOnly: true, MaxAge: -1})
	f, ok := u.kept.take(ck.Value, c.V.UserID)
	if !ok {
		http.Redirect(w, r, "/contacts", http.StatusSeeOther)
		return
	}
	path, _, _ := strings.Cut(f.Path, "?")
	d := resumeData{Action: f.Path, Review: reviewPath.MatchString(path)}
	names := make([]string, 0, len(f.Values))
	for k := range f.Values {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		for _, v := range f.Values[k] {
			d.Fields = append(d.Fields, resumeField{Name: k, Value: v})
		}
	}
	u.render(w, http.StatusOK, "resume", c.Page(w, r, "", d))
}

// lastUserCookie remembers who last signed in on this browser, so a form
// posted after the session ended is kept for that user only (signed out
// in another tab, the session row is gone and cannot say). It outlives
// sessions; a forged value only ties the forger's own form to a user who
// must then sign in to see it.
const lastUserCookie = "tandem_last_user"

func setLastUser(w http.ResponseWriter, r *http.Request, userID string) {
	http.SetCookie(w, &http.Cookie{Name: lastUserCookie, Value: userID, Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteLaxMode, MaxAge: int(2 * web.SessionTTL / time.Second)})
}

func lastUser(r *http.Request) string {
	c, err := r.Cookie(lastUserCookie)
	if err != nil {
		return ""
	}
	return c.Value
}
