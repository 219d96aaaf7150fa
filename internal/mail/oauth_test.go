package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/emulator/google"
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

const (
	oauthBase    = "http://127.0.0.1:9" // the request host the redirect URI is derived from
	oauthSession = "csrf-token-of-the-session"
)

// oauthEnv is mailEnv with Google: the emulator (whose tokeninfo the mail
// server's Dovecot asks), Tandem's OAuth service pointed at it, and a
// Gmail-preset provider (OAuth 2.0, keys copied from system settings)
// whose servers are the test ones.
type oauthEnv struct {
	*mailEnv
	g     *oauthtest.Google
	svc   *oauth.Service
	gmail *mail.Provider
}

func newOAuthEnv(t *testing.T, st *store.Store, srv *mailserver.Server, g *oauthtest.Google) *oauthEnv {
	t.Helper()
	ctx := context.Background()
	box, err := secret.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	set := settings.New(st, box)
	if err := g.Configure(ctx, set); err != nil {
		t.Fatal(err)
	}
	e := &oauthEnv{mailEnv: &mailEnv{st: st, srv: srv, now: t0}, g: g}
	log := slog.New(slog.NewTextHandler(t.Output(), nil))
	e.svc = oauth.New(st, set, box, log)
	e.dir = mail.New(st, box, set)
	e.mbs = mail.NewMailboxes(st, box, e.dir, log)
	e.mbs.Now = func() time.Time { return e.now }
	e.mbs.TLS = srv.TLSConfig()
	e.mbs.UseOAuth(e.svc)
	u := storetest.User(t, st, "admin@example.com")
	e.admin = access.Viewer{UserID: u.UserID, Ops: map[string]bool{access.OpManageAdministration: true}}
	p, err := e.dir.CreateFromPreset(ctx, e.admin, "gmail", mail.PresetOptions{Auth: mail.AuthOAuth2})
	if err != nil {
		t.Fatal(err)
	}
	if p.ClientID != oauthtest.ClientID || !p.HasSecret || p.Issuer() != mail.IssuerGoogle {
		t.Fatalf("gmail preset %+v", p)
	}
	imapEP, smtpEP := srv.IMAP(wire.SecurityTLS), srv.SMTP(wire.SecurityTLS)
	p.IMAP = mail.Server{Host: imapEP.Host, Port: imapEP.Port, Security: mail.SecurityTLS}
	p.SMTP = mail.Server{Host: smtpEP.Host, Port: smtpEP.Port, Security: mail.SecurityTLS}
	if err := e.dir.UpdateProvider(ctx, e.admin, p); err != nil {
		t.Fatal(err)
	}
	e.gmail = p
	return e
}

// consent runs the browser's part: Tandem's consent URL, the emulator's
// answer (approved or denied at once), the callback completed.
func (e *oauthEnv) consent(t *testing.T, v access.Viewer, address string) (*oauth.Result, url.Values, error) {
	t.Helper()
	ctx := context.Background()
	to, err := e.mbs.BeginOAuth(ctx, v, mail.NewMailbox{Address: address, ProviderID: e.gmail.ID},
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
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("consent answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	res, err := e.svc.Complete(ctx, oauth.CallbackRequest{Provider: oauth.ProviderGoogle, UserID: v.UserID, Session: oauthSession,
		Query: back.Query()})
	return res, u.Query(), err
}

// TestOAuthMailbox: a Gmail-preset mailbox added through Google's consent
// (the mail scope asked then, and only then), loaded over XOAUTH2 IMAP and
// sending over XOAUTH2 SMTP against Dovecot's oauth2 passdb, which asks the
// emulator's tokeninfo; a token the server refuses is renewed; a revoked
// grant turns the mailbox needs_reauth and a new consent brings it back;
// a refused consent and another account are told apart.
func TestOAuthMailbox(t *testing.T) {
	g := oauthtest.New(t, google.Options{}, oauthBase+oauth.GoogleCallbackPath)
	srv := mailserver.Start(t, mailserver.Options{OAuth: &mailserver.OAuth{TokenInfoURL: g.URL + "/tokeninfo?access_token=",
		Scope: google.ScopeMail}})
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newOAuthEnv(t, st, srv, g)
		db := t.Name()[len("TestOAuthMailbox/"):]
		address := "alice-" + db + "@" + srv.Domain()
		srv.AddUser(t, address, "unused-password")
		g.AddUser(address, "Alice")
		g.SetAutoApprove(address)
		alice := storetest.User(t, st, address)

		// The password path points to the consent.
		if _, err := e.mbs.Add(ctx, alice, mail.NewMailbox{Address: address, ProviderID: e.gmail.ID}); !errors.Is(err, mail.ErrOAuthConsent) {
			t.Fatalf("Add of an OAuth mailbox: %v", err)
		}

		res, q, err := e.consent(t, alice, address)
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Get("scope"); got != google.ScopeMail+" openid email profile" || q.Get("include_granted_scopes") != "true" ||
			q.Get("login_hint") != address || q.Get("client_id") != oauthtest.ClientID || q.Get("access_type") != "offline" {
			t.Fatalf("authorization asked %v", q)
		}
		if res.Connection != nil || res.Target != mail.ConnectionProvider || res.Email != address {
			t.Fatalf("result %+v", res)
		}
		mb, err := e.mbs.CompleteOAuth(ctx, alice, res)
		if err != nil {
			t.Fatalf("%v\n%s", err, srv.Logs())
		}
		if !mb.DefaultSender || !mb.AllFolders || !mb.AutoLoad || mb.FirstLoad != "month" || mb.Login != address {
			t.Fatalf("defaults %+v", mb)
		}
		cs, err := st.ListConnections(ctx, alice.UserID)
		if err != nil || len(cs) != 1 || cs[0].Provider != mail.ConnectionProvider {
			t.Fatalf("connections %+v, %v (a consent for a mailbox connects no Google account)", cs, err)
		}
		if p, err := e.dir.Detect(ctx, "someone@"+srv.Domain()); err != nil || p.ID != e.gmail.ID {
			t.Fatalf("domain not learned: %v", err)
		}

		// Loading over XOAUTH2.
		srv.Append(t, address, "INBOX", raw("Ivan <ivan@example.org>", address, "oauth-"+db, "hello"), t0.AddDate(0, 0, -2))
		stats, err := e.mbs.Load(ctx, mb.ID)
		if err != nil || stats.Stored != 1 {
			t.Fatalf("load: %+v, %v\n%s", stats, err, srv.Logs())
		}

		// Sending over XOAUTH2 SMTP, to itself: it arrives in Dovecot.
		if _, err := e.mbs.Send(ctx, alice, mail.Outgoing{MailboxID: mb.ID, To: []string{address}, Subject: "sent-" + db,
			HTML: "<p>over XOAUTH2</p>"}); err != nil {
			t.Fatalf("send: %v\n%s", err, srv.Logs())
		}
		srv.WaitCount(t, address, "INBOX", 2)

		// Google ends the access token early: the server refuses it, the
		// next load renews it once and goes on.
		before := g.Refreshes()
		g.ExpireAccessTokens()
		if _, err := e.mbs.Load(ctx, mb.ID); err != nil {
			t.Fatalf("load after expiry: %v", err)
		}
		if n := g.Refreshes() - before; n != 1 {
			t.Errorf("%d refreshes after expiry, want 1", n)
		}
		if _, err := e.mbs.Load(ctx, mb.ID); err != nil || g.Refreshes()-before != 1 {
			t.Errorf("load with the renewed token: %v (refreshes %d)", err, g.Refreshes()-before)
		}
		got, _ := e.mbs.Get(ctx, alice, mb.ID)
		if got.Status != store.ConnectionActive {
			t.Errorf("status after a renewed token %q %q", got.Status, got.StatusReason)
		}

		// The user revokes Tandem's access: needs_reauth, loads stop.
		g.Revoke(address)
		_, err = e.mbs.Load(ctx, mb.ID)
		if !errors.Is(err, oauth.ErrNeedsReauth) || !wire.IsAuth(err) {
			t.Fatalf("load after revoke: %v", err)
		}
		got, _ = e.mbs.Get(ctx, alice, mb.ID)
		if got.Status != store.ConnectionNeedsReauth || !strings.HasPrefix(got.StatusReason, "OAuth: ") {
			t.Fatalf("status after revoke %q %q", got.Status, got.StatusReason)
		}
		refreshes := g.Refreshes()
		if _, err := e.mbs.Load(ctx, mb.ID); !errors.Is(err, oauth.ErrNeedsReauth) || g.Refreshes() != refreshes {
			t.Errorf("second load after revoke: %v", err)
		}
		if _, err := e.mbs.Send(ctx, alice, mail.Outgoing{MailboxID: mb.ID, To: []string{address}, Subject: "x"}); !errors.Is(err, oauth.ErrNeedsReauth) {
			t.Errorf("send after revoke: %v", err)
		}
		due, err := st.AutoLoadMailboxes(ctx)
		if err != nil || slices.ContainsFunc(due, func(d store.DueMailbox) bool { return d.ID == mb.ID }) {
			t.Errorf("a needs_reauth mailbox is still loaded on schedule: %v", err)
		}

		// Consenting again renews the same mailbox.
		res, _, err = e.consent(t, alice, address)
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.mbs.CompleteOAuth(ctx, alice, res)
		if err != nil || again.ID != mb.ID || again.Status != store.ConnectionActive {
			t.Fatalf("reconnect: %+v, %v", again, err)
		}
		if _, err := e.mbs.Load(ctx, mb.ID); err != nil {
			t.Fatalf("load after reconnect: %v", err)
		}

		// The user refuses on the consent screen.
		g.SetAutoDeny(true)
		_, _, err = e.consent(t, alice, address)
		var fe *oauth.FlowError
		if !errors.As(err, &fe) || fe.Code != oauth.CodeAccessDenied || fe.Target != mail.ConnectionProvider {
			t.Fatalf("denied consent: %v", err)
		}
		if a, _ := mail.OAuthTarget(fe.Data); a != address {
			t.Errorf("denied consent's address %q", a)
		}
		g.SetAutoDeny(false)

		// Consent given as another Google account than the address.
		other := "bob-" + db + "@" + srv.Domain()
		g.AddUser(other, "Bob")
		g.SetAutoApprove(other)
		res, _, err = e.consent(t, alice, address)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.mbs.CompleteOAuth(ctx, alice, res); !errors.Is(err, mail.ErrOAuthOtherAccount) {
			t.Fatalf("another account: %v", err)
		}
	})
}

// TestOAuthVerify: a consent whose token the servers refuse (Dovecot asks
// for a scope the token lacks) is reported like a wrong password: which
// server, which kind; no mailbox is made.
func TestOAuthVerify(t *testing.T) {
	g := oauthtest.New(t, google.Options{}, oauthBase+oauth.GoogleCallbackPath)
	srv := mailserver.Start(t, mailserver.Options{OAuth: &mailserver.OAuth{TokenInfoURL: g.URL + "/tokeninfo?access_token=",
		Scope: google.ScopeContacts}})
	st := storetest.Open(t, false)
	ctx := context.Background()
	e := newOAuthEnv(t, st, srv, g)
	address := "carol@" + srv.Domain()
	srv.AddUser(t, address, "unused-password")
	g.AddUser(address, "Carol")
	g.SetAutoApprove(address)
	carol := storetest.User(t, st, address)
	res, _, err := e.consent(t, carol, address)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.mbs.CompleteOAuth(ctx, carol, res)
	var ve *mail.VerifyError
	if !errors.As(err, &ve) || ve.Protocol != mail.IMAP || ve.Kind != wire.KindAuth {
		t.Fatalf("refused token: %v", err)
	}
	if ms, _ := e.mbs.List(ctx, carol); len(ms) != 0 {
		t.Errorf("a refused mailbox was made: %+v", ms)
	}
}
