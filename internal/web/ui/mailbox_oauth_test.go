package ui_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/emulator/msidentity"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/oauth/oauthtest"
	"github.com/tandem-crm/tandem/internal/store"
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

	// The grant is refused later (needs_reauth): the list offers to
	// reconnect, and consenting again renews the same mailbox.
	if err := s.App.Store.UpdateConnectionStatus(ctx, ms[0].ID, store.ConnectionNeedsReauth, "invalid_grant"); err != nil {
		t.Fatal(err)
	}
	page = b.Get(t, "/profile/mailboxes")
	mustHave(t, "needs reauth", page.Body, `href="/profile/mailboxes/new?address=julia%40gmail.com" data-reconnect`, tr(en, "mailbox.reconnect"))
	page = b.Post(t, "/profile/mailboxes/new", url.Values{"address": {"julia@gmail.com"}, "consent": {"1"}})
	checkMailboxPage(t, "reconnected", page, http.StatusOK)
	mustLack(t, "reconnected", page.Body, "data-reconnect")
	if again, _ := s.App.Store.MailboxesOf(ctx, user.UserID); len(again) != 1 || again[0].ID != ms[0].ID || again[0].Status != store.ConnectionActive {
		t.Fatalf("after reconnecting: %+v", again)
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

// An Outlook mailbox through the add form: the button names Microsoft
// (the issuer from the catalogue), the chain goes through the Microsoft
// identity platform emulator and back to Tandem's Microsoft callback,
// which no sync provider registers; refusals are told in Microsoft's
// words.
func TestMailboxConsentMicrosoft(t *testing.T) {
	s, _ := mailboxServer(t)
	ctx := context.Background()
	ms := oauthtest.NewMicrosoft(t, msidentity.Options{}, s.URL+oauth.MicrosoftCallbackPath)
	if err := ms.Configure(ctx, s.App.Settings); err != nil {
		t.Fatal(err)
	}
	var verified []string
	s.App.Mailboxes.Verify = func(ctx context.Context, ep mail.Endpoints) error {
		tok, err := ep.Auth.Token(ctx)
		if !ep.Auth.OAuth() || err != nil || tok == "" {
			return errors.New("no XOAUTH2 token")
		}
		verified = append(verified, ep.Auth.Username)
		if ep.Auth.Username == "refused@outlook.com" {
			return &mail.VerifyError{Protocol: mail.SMTP, Kind: "auth", Err: errors.New("535 5.7.139")}
		}
		return nil
	}
	var p struct {
		ID       string `json:"id"`
		ClientID string `json:"client_id"`
	}
	s.Admin.JSON(t, "POST", "/api/v1/mail/providers/from-preset", map[string]string{"preset": "outlook"}, http.StatusCreated, &p)
	if p.ClientID != oauthtest.MicrosoftClientID {
		t.Fatalf("outlook preset's app %q", p.ClientID)
	}
	user := s.NewUser(t, userEmail)
	b := s.Browser(t, userEmail, userPassword)
	en := i18n.En

	page := b.Get(t, "/profile/mailboxes/new?address=pat@outlook.com")
	checkMailboxPage(t, "outlook form", page, http.StatusOK)
	mustHave(t, "outlook form", page.Body, tr(en, "mailbox.connect.microsoft"), tr(en, "mailbox.consent_help.microsoft"), `name="consent"`)
	mustLack(t, "outlook form", page.Body, `name="password"`, tr(en, "mailbox.connect.google"))

	ms.AddUser("pat@outlook.com", "Pat")
	ms.SetAutoApprove("pat@outlook.com")
	page = b.Post(t, "/profile/mailboxes/new", url.Values{"address": {"pat@outlook.com"}, "consent": {"1"}})
	checkMailboxPage(t, "connected", page, http.StatusOK)
	if !strings.Contains(page.URL, "/profile/mailboxes?added=") {
		t.Fatalf("ended at %s", page.URL)
	}
	mustHave(t, "connected", page.Body, tr(en, "mailbox.added", "pat@outlook.com"))
	auths := ms.Authorizations()
	if q := auths[len(auths)-1]; q.Get("scope") != msidentity.ScopeIMAP+" "+msidentity.ScopeSMTP+" offline_access openid email profile" ||
		q.Get("login_hint") != "pat@outlook.com" || q.Get("redirect_uri") != s.URL+oauth.MicrosoftCallbackPath {
		t.Errorf("authorization %v", q)
	}
	if len(verified) != 1 || verified[0] != "pat@outlook.com" {
		t.Errorf("verified %v", verified)
	}
	ms2, err := s.App.Store.MailboxesOf(ctx, user.UserID)
	if err != nil || len(ms2) != 1 || ms2[0].Address != "pat@outlook.com" || ms2[0].ProviderID != p.ID {
		t.Fatalf("mailboxes %+v %v", ms2, err)
	}

	// The servers refuse the token: which server, in Microsoft's words.
	ms.AddUser("refused@outlook.com", "R")
	ms.SetAutoApprove("refused@outlook.com")
	page = b.Post(t, "/profile/mailboxes/new", url.Values{"address": {"refused@outlook.com"}, "consent": {"1"}})
	checkMailboxPage(t, "refused", page, http.StatusOK)
	mustHave(t, "refused", page.Body, tr(en, "mail.verify.auth_oauth.microsoft", "SMTP"), `value="refused@outlook.com"`)

	// Consent given as another account.
	ms.AddUser("someone@outlook.com", "S")
	ms.SetAutoApprove("someone@outlook.com")
	page = b.Post(t, "/profile/mailboxes/new", url.Values{"address": {"ann@outlook.com"}, "consent": {"1"}})
	checkMailboxPage(t, "other account", page, http.StatusOK)
	mustHave(t, "other account", page.Body, tr(en, "mail.oauth.other_account.microsoft", "someone@outlook.com", "ann@outlook.com"))

	// Consent refused.
	ms.SetAutoDeny(true)
	page = b.Post(t, "/profile/mailboxes/new", url.Values{"address": {"other@outlook.com"}, "consent": {"1"}})
	checkMailboxPage(t, "denied", page, http.StatusOK)
	if !strings.Contains(page.URL, "/profile/mailboxes/new?address=other%40outlook.com") {
		t.Errorf("denied: ended at %s", page.URL)
	}
	mustHave(t, "denied", page.Body, tr(en, "mail.oauth.consent_refused.microsoft"))

	// Tandem's Microsoft callback takes no sync account: a callback
	// without a state of this session is refused with a message.
	page = b.Get(t, oauth.MicrosoftCallbackPath+"?code=x&state=forged")
	wantStatus(t, "forged", page, http.StatusOK)
	mustHave(t, "forged", page.Body, tr(en, "oauth.error.bad_state"))
}
