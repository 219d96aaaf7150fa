package ui_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// TestCalendarConsentLater: an account connected while Google was not the
// calendar integration granted contacts only (Gmail was never asked for);
// once the calendar is turned on its card asks for access, and granting it
// keeps the contacts (incremental authorization).
func TestCalendarConsentLater(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	g, _, b, page := connectGoogle(t, s, "later@gmail.com", "Later", "later@example.com", func() {
		if err := s.App.Settings.Put(ctx, "CalendarIntegration", "none", "test"); err != nil {
			t.Fatal(err)
		}
	})
	if got := g.GrantedScopes("later@gmail.com"); slices.Contains(got, oauth.GoogleScopeCalendar) || slices.ContainsFunc(got,
		func(s string) bool { return strings.Contains(s, "mail.google.com") }) {
		t.Fatalf("granted %v with the calendar off", got)
	}
	connID := strings.TrimPrefix(page, "/profile/accounts/")
	p := b.Get(t, page)
	mustLack(t, "calendar off", p.Body, "data-needs-consent")

	if err := s.App.Settings.Put(ctx, "CalendarIntegration", "google", "test"); err != nil {
		t.Fatal(err)
	}
	p = b.Get(t, page)
	mustHave(t, "calendar on", p.Body, "data-needs-consent", tr(i18n.En, "sync.calendar.needs_consent", "Google"),
		`<input type="hidden" name="connection" value="`+connID+`">`, tr(i18n.En, "sync.grant_access", "Google"))
	mustLack(t, "calendar on", p.Body, tr(i18n.En, "sync.contacts.needs_consent", "Google"))
	b.Post(t, "/language", url.Values{"lang": {"ru"}, "next": {page}})
	p = b.Get(t, page)
	mustHave(t, "ru", p.Body, tr(i18n.Ru, "sync.calendar.needs_consent", "Google"), tr(i18n.Ru, "sync.grant_access", "Google"))
	noRawKeys(t, "ru", p.Body)
	b.Post(t, "/language", url.Values{"lang": {"en"}, "next": {page}})

	p = b.Post(t, "/oauth/google/start", url.Values{"connection": {connID}})
	mustHave(t, "granted", p.Body, tr(i18n.En, "oauth.connected", "later@gmail.com"))
	got := g.GrantedScopes("later@gmail.com")
	if !slices.Contains(got, oauth.GoogleScopeCalendar) || !slices.Contains(got, oauth.GoogleScopeContacts) {
		t.Errorf("granted %v", got)
	}
	mustLack(t, "granted", b.Get(t, page).Body, "data-needs-consent")
	if cn, _ := s.App.Store.GetConnection(ctx, connID); !strings.Contains(cn.Scopes, oauth.GoogleScopeCalendar) {
		t.Errorf("connection scopes %q", cn.Scopes)
	}
}
