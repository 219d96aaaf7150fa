package oauth_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/oauth"
)

// TestIncrementalScopes: an authorization asks only for the scopes of the
// features that are on (never Gmail's, which only adding a mailbox asks
// for, though Tandem registers it); turning the
// calendar on makes the connection miss its scope until it is connected
// again, which asks for the calendar too and keeps the contacts granted
// before (include_granted_scopes).
func TestIncrementalScopes(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			e := setup(t, db == "postgres")
			ctx := context.Background()
			if !slices.Contains(oauth.GoogleScopes, oauth.GoogleScopeMail) {
				t.Errorf("registered scopes %v lack mail's", oauth.GoogleScopes)
			}
			if err := e.set.Put(ctx, "CalendarIntegration", "none", "test"); err != nil {
				t.Fatal(err)
			}
			lastAuth := func() url.Values {
				auths := e.g.Authorizations()
				return auths[len(auths)-1]
			}
			missing := func(scopes string) []string {
				t.Helper()
				m, err := oauth.GoogleFeaturesMissing(ctx, e.set, scopes)
				if err != nil {
					t.Fatal(err)
				}
				return m
			}

			c := e.connect(t, e.user, "").Connection
			q := lastAuth()
			if got := q.Get("scope"); got != oauth.GoogleScopeContacts+" openid email profile" || q.Get("include_granted_scopes") != "true" {
				t.Fatalf("first authorization asked for %q (include_granted_scopes=%q)", got, q.Get("include_granted_scopes"))
			}
			if strings.Contains(c.Scopes, oauth.GoogleScopeCalendar) || !strings.Contains(c.Scopes, oauth.GoogleScopeContacts) {
				t.Errorf("connection scopes %q", c.Scopes)
			}
			if m := missing(c.Scopes); len(m) != 0 {
				t.Errorf("missing with the calendar off: %v", m)
			}

			// The administrator makes Google the calendar integration.
			if err := e.set.Put(ctx, "CalendarIntegration", "google", "test"); err != nil {
				t.Fatal(err)
			}
			if m := missing(c.Scopes); !slices.Equal(m, []string{"calendar"}) {
				t.Errorf("missing with the calendar on: %v", m)
			}
			res := e.connect(t, e.user, c.AccountEmail)
			q = lastAuth()
			if got := strings.Fields(q.Get("scope")); !slices.Contains(got, oauth.GoogleScopeCalendar) || q.Get("include_granted_scopes") != "true" {
				t.Errorf("second authorization asked for %v", got)
			}
			if res.Created || res.Connection.ID != c.ID || len(res.MissingScopes) != 0 {
				t.Errorf("reconnect %+v", res)
			}
			granted := strings.Fields(res.Connection.Scopes)
			if !slices.Contains(granted, oauth.GoogleScopeCalendar) || !slices.Contains(granted, oauth.GoogleScopeContacts) {
				t.Errorf("connection scopes after the second consent %v", granted)
			}
			if m := missing(res.Connection.Scopes); len(m) != 0 {
				t.Errorf("still missing %v", m)
			}
			if g := e.g.GrantedScopes(c.AccountEmail); !slices.Contains(g, oauth.GoogleScopeCalendar) || !slices.Contains(g, oauth.GoogleScopeContacts) {
				t.Errorf("Google's grant %v", g)
			}
			if m := missing(""); m != nil {
				t.Errorf("unknown scopes reported missing: %v", m)
			}
		})
	}
}
