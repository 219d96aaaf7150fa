package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// "Keep me signed in" starts checked however the sign-in page is reached:
// directly, or redirected there from a page with ?next=.
func TestLoginRememberDefault(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	const checked = `name="remember" value="1" checked`
	for _, path := range []string{"/login", "/login?next=" + url.QueryEscape("/contacts/new"), "/contacts/new"} {
		p := s.NewBrowser(t).Get(t, path)
		wantStatus(t, path, p, http.StatusOK)
		if !strings.Contains(p.URL, "/login") {
			t.Fatalf("%s: at %s, want the sign-in page", path, p.URL)
		}
		mustHave(t, path, p.Body, checked)
	}
	// After a failed attempt the box shows what was posted.
	b := s.NewBrowser(t)
	b.Get(t, "/login?next=%2Fcontacts")
	p := b.Post(t, "/login", url.Values{"email": {tandemtest.AdminEmail}, "password": {"wrong"}, "next": {"/contacts"}})
	wantStatus(t, "wrong password", p, http.StatusUnauthorized)
	mustLack(t, "wrong password, unchecked", p.Body, checked)
	p = b.Post(t, "/login", url.Values{"email": {tandemtest.AdminEmail}, "password": {"wrong"}, "remember": {"1"}})
	mustHave(t, "wrong password, checked", p.Body, checked)
}
