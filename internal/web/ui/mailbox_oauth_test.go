package ui_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/oauth/oauthtest"
)

// A Gmail mailbox through the add form: "Connect with Google" instead of
// the password, the whole redirect chain (browser → Tandem → the Google
// emulator, approving or denying at once → Tandem's callback), the
// servers verified with the consent's token (stood in for here; the real
// Dovecot is in package mail's tests); the API points to the same form.
func TestMailboxConsent(t *testing.T) {
	s, _ := mailboxServer(t)
	ctx := context.Background()
	g := oauthtest.New(t, google.Options{}, s.URL+oauth.GoogleCallbackPath)
	if err := g.Configure(ctx, s.App.Settings); err != nil {
		t.Fatal(err)
	}
	var verified []string
	s.App.Mailboxes.Verify = func(ctx context.Context, ep mail.Endpoints) error {
		if !ep.Auth.OAuth() {
			return errors.New("not XOAUTH2")
		}
		tok, err := ep.Auth.Token(ctx)
		if err != nil || tok == "" {
			return errors.New("no token")
		}
		verified = append(verified, ep.Auth.Username)
		if ep.Auth.Username == "refused@gmail.com" {
			return &mail.VerifyError{Protocol: mail.SMTP, Kind: "auth", Err: errors.New("535")}
		}
		return nil
	}
	var p struct {
		ID string `json:"id"`
	}
	s.Admin.JSON(t, "POST", "/api/v1/mail/providers/from-preset", map[string]string{"preset": "gmail", "auth": "oauth2"},
		http.StatusCreated, &p)
	user := s.NewUser(t, userEmail)
	b := s.Browser(t, userEmail, userPassword)
	en := i18n.En

	page := b.Get(t, "/profile/mailboxes/new?address=julia@gmail.com")
	checkMailboxPage(t, "gmail form", page, http.StatusOK)
	mustHave(t, "gmail form", page.Body, tr(en, "mailbox.connect.google"), `name="consent"`)
	mustLack(t, "gmail form", page.Body, `name="password"`, tr(en, "error.mail_oauth_mailbox"))

	g.AddUser("julia@gmail.com", "Julia")
	g.SetAutoApprove("julia@gmail.com")
	page = b.Post(t, "/profile/mailboxes/new", url.Values{"address": {"julia@gmail.com"}, "consent": {"1"}})
	checkMailboxPage(t, "connected", page, http.StatusOK)
	if !strings.Contains(page.URL, "/profile/mailboxes?added=") {
		t.Fatalf("ended at %s", page.URL)
	}
	mustHave(t, "connected", page.Body, tr(en, "mailbox.added", "julia@gmail.com"))
	auths := g.Authorizations()
	if q := auths[len(auths)-1]; q.Get("scope") != google.ScopeMail+" openid email profile" || q.Get("login_hint") != "julia@gmail.com" {
		t.Errorf("authorization %v", q)
	}
	if len(verified) != 1 || verified[0] != "julia@gmail.com" {
		t.Errorf("verified %v", verified)
	}
	ms, err := s.App.Store.MailboxesOf(ctx, user.UserID)
	if err != nil || len(ms) != 1 || ms[0].Address != "julia@gmail.com" || ms[0].ProviderID != p.ID {
		t.Fatalf("mailboxes %+v %v", ms, err)
	}

	// The servers refuse the token: which server, on the form.
	g.AddUser("refused@gmail.com", "R")
	g.SetAutoApprove("refused@gmail.com")
	page = b.Post(t, "/profile/mailboxes/new", url.Values{"address": {"refused@gmail.com"}, "consent": {"1"}})
	checkMailboxPage(t, "refused", page, http.StatusOK)
	mustHave(t, "refused", page.Body, tr(en, "mail.verify.auth_oauth", "SMTP"), `value="refused@gmail.com"`)

	// Consent refused.
	g.SetAutoDeny(true)
	page = b.Post(t, "/profile/mailboxes/new", url.Values{"address": {"other@gmail.com"}, "consent": {"1"}})
	checkMailboxPage(t, "denied", page, http.StatusOK)
	if !strings.Contains(page.URL, "/profile/mailboxes/new?address=other%40gmail.com") {
		t.Errorf("denied: ended at %s", page.URL)
	}
	mustHave(t, "denied", page.Body, tr(en, "mail.oauth.consent_refused"))

	// The API: no password to give; the problem says where to consent.
	var prob struct {
		Code       string `json:"code"`
		ConsentURL string `json:"consent_url"`
	}
	user.JSON(t, "POST", "/api/v1/mailboxes", map[string]string{"address": "ann@gmail.com"}, http.StatusUnprocessableEntity, &prob)
	if prob.Code != "mail_oauth_consent" || prob.ConsentURL != s.URL+"/profile/mailboxes/new?address=ann%40gmail.com" {
		t.Errorf("API problem %+v", prob)
	}
}
