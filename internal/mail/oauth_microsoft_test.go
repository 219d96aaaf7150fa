package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/emulator/msidentity"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/oauth/oauthtest"
	"github.com/tandem-crm/tandem/internal/secret"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// outlookEnv is mailEnv with the Microsoft identity platform emulator
// (whose token information stand-in the mail server's Dovecot asks, as
// Exchange Online checks its tokens itself), Tandem's OAuth service
// pointed at it, and an Outlook-preset provider (OAuth 2.0, keys copied
// from the Microsoft settings) whose servers are the test ones: IMAP over
// TLS, SMTP with STARTTLS as smtp.office365.com:587.
type outlookEnv struct {
	*mailEnv
	ms      *oauthtest.Microsoft
	box     *secret.Box
	svc     *oauth.Service
	outlook *mail.Provider
}

func newOutlookEnv(t *testing.T, st *store.Store, srv *mailserver.Server, ms *oauthtest.Microsoft) *outlookEnv {
	t.Helper()
	ctx := context.Background()
	box, err := secret.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	set := settings.New(st, box)
	if err := ms.Configure(ctx, set); err != nil {
		t.Fatal(err)
	}
	e := &outlookEnv{mailEnv: &mailEnv{st: st, srv: srv, now: t0}, ms: ms, box: box}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	e.svc = oauth.New(st, set, box, log)
	e.dir = mail.New(st, box, set)
	e.mbs = mail.NewMailboxes(st, box, e.dir, log)
	e.mbs.Now = func() time.Time { return e.now }
	e.mbs.TLS = srv.TLSConfig()
	e.mbs.UseOAuth(e.svc)
	u := storetest.User(t, st, "admin@example.com")
	e.admin = access.Viewer{UserID: u.UserID, Ops: map[string]bool{access.OpManageAdministration: true}}
	p, err := e.dir.CreateFromPreset(ctx, e.admin, "outlook", mail.PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Auth != mail.AuthOAuth2 || p.ClientID != oauthtest.MicrosoftClientID || !p.HasSecret || p.Issuer() != mail.IssuerMicrosoft {
		t.Fatalf("outlook preset %+v", p)
	}
	imapEP, smtpEP := srv.IMAP(wire.SecurityTLS), srv.SMTP(wire.SecuritySTARTTLS)
	p.IMAP = mail.Server{Host: imapEP.Host, Port: imapEP.Port, Security: mail.SecurityTLS}
	p.SMTP = mail.Server{Host: smtpEP.Host, Port: smtpEP.Port, Security: mail.SecurityStartTLS}
	if err := e.dir.UpdateProvider(ctx, e.admin, p); err != nil {
		t.Fatal(err)
	}
	e.outlook = p
	return e
}

// consent runs the browser's part against the Microsoft emulator.
func (e *outlookEnv) consent(t *testing.T, v access.Viewer, address string) (*oauth.Result, url.Values, error) {
	t.Helper()
	ctx := context.Background()
	to, err := e.mbs.BeginOAuth(ctx, v, mail.NewMailbox{Address: address, ProviderID: e.outlook.ID},
		mail.OAuthBegin{Session: oauthSession, BaseURL: oauthBase})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(to)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || !strings.HasPrefix(back.String(), oauthBase+oauth.MicrosoftCallbackPath) {
		t.Fatalf("consent answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	res, err := e.svc.Complete(ctx, oauth.CallbackRequest{Provider: oauth.ProviderMicrosoft, UserID: v.UserID, Session: oauthSession,
		Query: back.Query()})
	return res, u.Query(), err
}

// refreshToken is the refresh token stored on a mailbox's connection.
func (e *outlookEnv) refreshToken(t *testing.T, id string) string {
	t.Helper()
	sealed, err := e.st.ConnectionCredentials(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := e.box.Open(sealed, "connection:"+id)
	if err != nil {
		t.Fatal(err)
	}
	var cr struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(plain), &cr); err != nil || cr.RefreshToken == "" {
		t.Fatalf("credentials: %v", err)
	}
	return cr.RefreshToken
}

// refused reports whether the emulator refuses a refresh token.
func (e *outlookEnv) refused(t *testing.T, rt string) bool {
	t.Helper()
	resp, err := http.PostForm(e.ms.URL+"/common/oauth2/v2.0/token", url.Values{"grant_type": {"refresh_token"},
		"client_id": {oauthtest.MicrosoftClientID}, "client_secret": {oauthtest.MicrosoftClientSecret}, "refresh_token": {rt}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode == http.StatusBadRequest && body.Error == "invalid_grant"
}

// TestOutlookOAuthMailbox: an Outlook / Microsoft 365 mailbox added
// through the Microsoft identity platform's consent (IMAP and SMTP's
// scopes asked then, with the mail provider's app), a letter delivered by
// Postfix loaded over XOAUTH2 IMAP, one sent over XOAUTH2 SMTP with
// STARTTLS, against Dovecot's oauth2 passdb asking the emulator; an access
// token ended early is renewed with a rotated refresh token (the emulator
// refusing the old one), and loading goes on; a revoked grant turns the
// mailbox needs_reauth, and a new consent brings it back.
func TestOutlookOAuthMailbox(t *testing.T) {
	ms := oauthtest.NewMicrosoft(t, msidentity.Options{InvalidateRotated: true}, oauthBase+oauth.MicrosoftCallbackPath)
	srv := mailserver.Start(t, mailserver.Options{
		OAuth:          &mailserver.OAuth{TokenInfoURL: ms.URL + "/emulator/tokeninfo?access_token=", Scope: msidentity.ScopeIMAP},
		IMAPCapability: mailserver.CapabilityNoCondStore, // Microsoft 365's IMAP offers no CONDSTORE
	})
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newOutlookEnv(t, st, srv, ms)
		db := t.Name()[len("TestOutlookOAuthMailbox/"):]
		address := "adele-" + db + "@" + srv.Domain()
		srv.AddUser(t, address, "unused-password")
		ms.AddUser(address, "Adele Vance")
		ms.SetAutoApprove(address)
		adele := storetest.User(t, st, address)

		if !e.mbs.OAuthConsent(e.outlook) {
			t.Fatal("an Outlook provider does not connect through consent")
		}
		if _, err := e.mbs.Add(ctx, adele, mail.NewMailbox{Address: address, ProviderID: e.outlook.ID}); !errors.Is(err, mail.ErrOAuthConsent) {
			t.Fatalf("Add of an Outlook mailbox: %v", err)
		}

		res, q, err := e.consent(t, adele, address)
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Get("scope"); got != msidentity.ScopeIMAP+" "+msidentity.ScopeSMTP+" offline_access openid email profile" ||
			q.Get("login_hint") != address || q.Get("client_id") != oauthtest.MicrosoftClientID || q.Has("include_granted_scopes") {
			t.Fatalf("authorization asked %v", q)
		}
		if res.Connection != nil || res.Target != mail.ConnectionProvider || res.Email != address {
			t.Fatalf("result %+v", res)
		}
		mb, err := e.mbs.CompleteOAuth(ctx, adele, res)
		if err != nil {
			t.Fatalf("%v\n%s", err, srv.Logs())
		}
		if mb.Login != address || !mb.DefaultSender || mb.ProviderID != e.outlook.ID {
			t.Fatalf("mailbox %+v", mb)
		}
		cs, err := st.ListConnections(ctx, adele.UserID)
		if err != nil || len(cs) != 1 || cs[0].Provider != mail.ConnectionProvider {
			t.Fatalf("connections %+v, %v", cs, err)
		}

		// A letter delivered by Postfix, loaded over XOAUTH2.
		srv.Deliver(t, "ivan@example.org", []string{address}, raw("Ivan <ivan@example.org>", address, "outlook-"+db, "hello"))
		stats, err := e.mbs.Load(ctx, mb.ID)
		if err != nil || stats.Stored != 1 {
			t.Fatalf("load: %+v, %v\n%s", stats, err, srv.Logs())
		}

		// Sent over XOAUTH2 SMTP (STARTTLS), to itself: it arrives.
		if _, err := e.mbs.Send(ctx, adele, mail.Outgoing{MailboxID: mb.ID, To: []string{address}, Subject: "sent-" + db,
			HTML: "<p>over XOAUTH2</p>"}); err != nil {
			t.Fatalf("send: %v\n%s", err, srv.Logs())
		}
		srv.WaitCount(t, address, "INBOX", 2)

		// Microsoft ends the access token early: the server refuses it; the
		// next load renews it once, storing the rotated refresh token — the
		// emulator refuses the old one from now on — and goes on.
		rt0 := e.refreshToken(t, mb.ID)
		before := ms.Refreshes()
		ms.ExpireAccessTokens()
		srv.Deliver(t, "ivan@example.org", []string{address}, raw("Ivan <ivan@example.org>", address, "after-expiry-"+db, "again"))
		stats, err = e.mbs.Load(ctx, mb.ID)
		if err != nil || stats.Stored < 1 {
			t.Fatalf("load after expiry: %+v, %v", stats, err)
		}
		if n := ms.Refreshes() - before; n != 1 {
			t.Errorf("%d refreshes after expiry, want 1", n)
		}
		rt1 := e.refreshToken(t, mb.ID)
		if rt1 == rt0 || !e.refused(t, rt0) {
			t.Fatalf("refresh token not rotated (new %v, old refused %v)", rt1 != rt0, e.refused(t, rt0))
		}
		if _, err := e.mbs.Load(ctx, mb.ID); err != nil || ms.Refreshes()-before != 1 {
			t.Errorf("load with the renewed token: %v (refreshes %d)", err, ms.Refreshes()-before)
		}
		// And again: the newest refresh token is the one used.
		ms.ExpireAccessTokens()
		if _, err := e.mbs.Load(ctx, mb.ID); err != nil || ms.Refreshes()-before != 2 {
			t.Fatalf("second renewal: %v (refreshes %d)", err, ms.Refreshes()-before)
		}
		if e.refreshToken(t, mb.ID) == rt1 || !e.refused(t, rt1) {
			t.Error("second refresh token not rotated")
		}
		got, _ := e.mbs.Get(ctx, adele, mb.ID)
		if got.Status != store.ConnectionActive {
			t.Errorf("status after renewed tokens %q %q", got.Status, got.StatusReason)
		}

		// The user's sessions are revoked: needs_reauth, loads and sends stop.
		ms.Revoke(address)
		_, err = e.mbs.Load(ctx, mb.ID)
		if !errors.Is(err, oauth.ErrNeedsReauth) || !wire.IsAuth(err) {
			t.Fatalf("load after revoke: %v", err)
		}
		got, _ = e.mbs.Get(ctx, adele, mb.ID)
		if got.Status != store.ConnectionNeedsReauth || !strings.HasPrefix(got.StatusReason, "OAuth: AADSTS50173: ") ||
			strings.Contains(got.StatusReason, "Trace ID") {
			t.Fatalf("status after revoke %q %q", got.Status, got.StatusReason)
		}
		if _, err := e.mbs.Send(ctx, adele, mail.Outgoing{MailboxID: mb.ID, To: []string{address}, Subject: "x"}); !errors.Is(err, oauth.ErrNeedsReauth) {
			t.Errorf("send after revoke: %v", err)
		}

		// Consenting again renews the same mailbox.
		res, _, err = e.consent(t, adele, address)
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.mbs.CompleteOAuth(ctx, adele, res)
		if err != nil || again.ID != mb.ID || again.Status != store.ConnectionActive {
			t.Fatalf("reconnect: %+v, %v", again, err)
		}
		if _, err := e.mbs.Load(ctx, mb.ID); err != nil {
			t.Fatalf("load after reconnect: %v", err)
		}

		// Consent as another account of the directory than the address.
		other := "megan-" + db + "@" + srv.Domain()
		ms.AddUser(other, "Megan")
		ms.SetAutoApprove(other)
		res, _, err = e.consent(t, adele, address)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.mbs.CompleteOAuth(ctx, adele, res); !errors.Is(err, mail.ErrOAuthOtherAccount) {
			t.Fatalf("another account: %v", err)
		}
	})
}
