package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// TestInvalidTextInForms posts forms (and opens addresses) holding bytes
// that are not UTF-8 or NUL characters: the answer is a 400 page in the
// user's language saying what is wrong, and nothing is stored.
func TestInvalidTextInForms(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	en := s.Browser(t, tandemtest.AdminEmail, tandemtest.AdminPassword)
	ruUser := s.NewUser(t, "ru@example.com")
	s.Admin.JSON(t, "PATCH", "/api/v1/users/"+ruUser.UserID, map[string]any{"language": "ru"}, http.StatusOK, nil)
	ru := s.Browser(t, "ru@example.com", "user-password-1")
	anon := s.NewBrowser(t)
	anon.Get(t, "/login")

	const (
		enText = "not valid text"
		ruText = "не являются допустимым текстом"
	)
	tests := []struct {
		name string
		b    *tandemtest.Browser
		do   func(b *tandemtest.Browser) tandemtest.Page
		want string
	}{
		{"form post", en, func(b *tandemtest.Browser) tandemtest.Page {
			b.Get(t, "/contacts/new")
			return b.Post(t, "/contacts", url.Values{"given_name": {"Bad \xff\xfe name"}})
		}, enText},
		{"NUL in a form post", en, func(b *tandemtest.Browser) tandemtest.Page {
			b.Get(t, "/contacts/new")
			return b.Post(t, "/contacts", url.Values{"given_name": {"Bad \x00 name"}})
		}, enText},
		{"form post in Russian", ru, func(b *tandemtest.Browser) tandemtest.Page {
			b.Get(t, "/contacts/new")
			return b.Post(t, "/contacts", url.Values{"given_name": {"Bad \xff name"}})
		}, ruText},
		{"address", en, func(b *tandemtest.Browser) tandemtest.Page { return b.Get(t, "/contacts?q=%ff") }, enText},
		{"sign-in form", anon, func(b *tandemtest.Browser) tandemtest.Page {
			return b.Post(t, "/login", url.Values{"email": {"a\xff@example.com"}, "password": {"x"}})
		}, enText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.do(tt.b)
			if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, tt.want) {
				t.Fatalf("status %d, want 400 with %q:\n%s", p.Status, tt.want, p.Body)
			}
			if !strings.Contains(p.Body, "data-history-back") {
				t.Error("no way back to the form")
			}
		})
	}
	for _, c := range []*tandemtest.Client{s.Admin, ruUser} {
		var list struct{ Items []struct{ Name string } }
		c.JSON(t, "GET", "/api/v1/contacts", nil, http.StatusOK, &list)
		if len(list.Items) != 0 {
			t.Errorf("stored %+v", list.Items)
		}
	}
}
