package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/testenv"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// TestLoginThrottled: after 5 failed sign-ins from one address the login
// form says when to try again (in the visitor's language) and keeps the
// email; once the wait is over the right password works. Administrators
// see the failures under Administration → Sign-in failures.
func TestLoginThrottled(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	clk := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	s.App.Logins.Now = clk.Now
	// Every browser here signs in from 127.0.0.1: the others first.
	admin := adminBrowser(t, s)
	s.NewUser(t, "olga@example.com")
	other := s.Browser(t, "olga@example.com", "user-password-1")
	s.NewUser(t, "vera@example.com")

	b := s.NewBrowser(t)
	b.Get(t, "/login?next=/calendar")
	login := func(password string) tandemtest.Page {
		return b.Post(t, "/login", url.Values{"email": {"Vera@Example.com"}, "password": {password}, "next": {"/calendar"}})
	}
	for range 5 {
		p := login("wrong-password")
		wantStatus(t, "wrong password", p, http.StatusUnauthorized)
		mustHave(t, "wrong password", p.Body, "Incorrect email or password.")
	}
	p := login("user-password-1")
	wantStatus(t, "throttled", p, http.StatusTooManyRequests)
	mustHave(t, "throttled", p.Body, "Too many failed sign-in attempts. Try again in 1 minute.",
		`name="email" value="Vera@Example.com"`, `name="next" value="/calendar"`)
	mustLack(t, "throttled", p.Body, "user-password-1", "Incorrect email or password.")

	clk.Advance(30 * time.Second)
	p = login("user-password-1")
	mustHave(t, "throttled later", p.Body, "Try again in 30 seconds.")
	b.Post(t, "/language", url.Values{"lang": {"ru"}, "next": {"/login"}})
	p = login("user-password-1")
	wantStatus(t, "throttled in Russian", p, http.StatusTooManyRequests)
	mustHave(t, "throttled in Russian", p.Body, "Слишком много неудачных попыток входа. Повторите через 30 секунд.",
		`value="Vera@Example.com"`)

	clk.Advance(30 * time.Second)
	p = login("user-password-1")
	wantStatus(t, "after the wait", p, http.StatusOK)
	if !strings.HasSuffix(p.URL, "/calendar") {
		t.Errorf("signed in at %s, want /calendar", p.URL)
	}

	p = admin.Get(t, "/admin/login-failures")
	wantStatus(t, "failures page", p, http.StatusOK)
	mustHave(t, "failures page", p.Body, "Sign-in failures", "vera@example.com", "127.0.0.1",
		`badge-gray">Wrong password`, `badge-warning">Refused: too many failures`)
	if n := strings.Count(p.Body, "<td class=\"mono\">vera@example.com</td>"); n != 8 {
		t.Errorf("failures page lists %d of vera's 8 failures", n)
	}
	p = admin.Get(t, "/admin/login-failures?reason=throttled&email=VERA@example.com")
	mustHave(t, "throttled only", p.Body, `badge-warning">Refused: too many failures`)
	mustLack(t, "throttled only", p.Body, `badge-gray">Wrong password`)
	p = admin.Get(t, "/admin/login-failures?email=nobody@example.com")
	mustHave(t, "no failures", p.Body, "No failed sign-ins")
	wantStatus(t, "bad reason", admin.Get(t, "/admin/login-failures?reason=bored"), http.StatusBadRequest)
	mustHave(t, "overview", admin.Get(t, "/admin").Body, `href="/admin/login-failures"`)
	wantStatus(t, "non-admin", other.Get(t, "/admin/login-failures"), http.StatusForbidden)
}
