package ui_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// rawMailKey finds the mail directory's catalogue keys that reached a page
// untranslated (noRawKeys covers the admin.* ones).
var rawMailKey = regexp.MustCompile(`\bmail\.(?:type|security|login_format|auth|preset)\.[a-z_0-9.]+`)

func adminMail(t *testing.T, s *tandemtest.Server) *mail.Service {
	t.Helper()
	if s.App.Mail == nil {
		t.Fatal("the app has no mail service")
	}
	return s.App.Mail
}

func TestAdminMailProviderPages(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	m := adminMail(t, s)
	adm, err := s.App.Store.Viewer(ctx, s.Admin.UserID)
	if err != nil {
		t.Fatal(err)
	}
	gmail, err := m.CreateFromPreset(ctx, adm, "gmail", mail.PresetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []i18n.Lang{i18n.En, i18n.Ru} {
		b := adminBrowser(t, s)
		b.Post(t, "/language", url.Values{"lang": {l.String()}, "next": {"/admin"}})
		for _, path := range []string{"/admin", "/admin/mail/providers", "/admin/mail/providers/new", "/admin/mail/providers/new?preset=outlook",
			"/admin/mail/providers/" + gmail.ID, "/admin/mail/domains"} {
			p := b.Get(t, path)
			wantStatus(t, l.String()+" "+path, p, http.StatusOK)
			noRawKeys(t, l.String()+" "+path, p.Body)
			if k := rawMailKey.FindString(p.Body); k != "" {
				t.Errorf("%s %s: untranslated %s", l, path, k)
			}
		}
		p := b.Get(t, "/admin/mail/providers/new")
		mustHave(t, l.String()+" form", p.Body, tr(l, "admin.mail_providers.field.host"), tr(l, "admin.mail_providers.imap"),
			tr(l, "mail.login_format.local_part"), tr(l, "mail.security.starttls"), tr(l, "mail.auth.oauth2"), "mail.js")
	}
	p := adminBrowser(t, s).Get(t, "/admin/mail/providers")
	mustHave(t, "list", p.Body, "Gmail", "imap.gmail.com:993 · smtp.gmail.com:465", `value="yahoo"`, tr(i18n.Ru, "mail.preset.zoho.note")) // the loop left the admin in Russian
}

func TestAdminMailProviderForm(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	b := adminBrowser(t, s)
	b.Post(t, "/language", url.Values{"lang": {"ru"}, "next": {"/admin"}})
	ru := i18n.Ru

	// A failed save keeps what was typed, except the secret, and says what is wrong.
	bad := url.Values{"name": {"Корп почта"}, "type": {"imap"}, "imap_host": {"bad host!"}, "imap_security": {"starttls"},
		"imap_port": {"14x"}, "smtp_host": {""}, "smtp_security": {"tls"}, "login_format": {"local_part"}, "auth": {"oauth2"},
		"client_id": {"corp-client"}, "client_secret": {"typed-secret-never-shown"}}
	p := b.Post(t, "/admin/mail/providers/new", bad)
	wantStatus(t, "bad", p, http.StatusUnprocessableEntity)
	mustHave(t, "bad", p.Body, `value="Корп почта"`, `value="bad host!"`, `value="14x"`, `value="corp-client"`,
		`<option value="starttls" selected>`, `<option value="local_part" selected>`, `<option value="oauth2" selected>`,
		tr(ru, "error.invalid_host"), tr(ru, "error.invalid_number"), tr(ru, "error.required"), tr(ru, "admin.settings.secret_retype"))
	mustLack(t, "bad", p.Body, "typed-secret-never-shown")
	if ps, _ := s.App.Store.ListMailProviders(ctx); len(ps) != 0 {
		t.Fatalf("a failed save stored %d providers", len(ps))
	}

	// Empty ports take the defaults of their security on the server too.
	good := url.Values{"name": {"Corp"}, "type": {"imap"}, "imap_host": {"imap.corp.example"}, "imap_security": {"starttls"},
		"imap_port": {""}, "smtp_host": {"smtp.corp.example"}, "smtp_security": {"tls"}, "smtp_port": {""},
		"login_format": {"email"}, "auth": {"oauth2"}, "client_id": {"corp-client"}, "client_secret": {"corp-secret-42"}}
	p = b.Post(t, "/admin/mail/providers/new", good)
	wantStatus(t, "create", p, http.StatusOK)
	mustHave(t, "create", p.Body, tr(ru, "flash.mail_provider_created", "Corp"))
	ps, _ := s.App.Store.ListMailProviders(ctx)
	if len(ps) != 1 || ps[0].IMAPPort != 143 || ps[0].SMTPPort != 465 || ps[0].ClientSecret == "" || strings.Contains(ps[0].ClientSecret, "corp-secret") {
		t.Fatalf("stored %+v", ps)
	}
	id := ps[0].ID
	p = b.Get(t, "/admin/mail/providers/"+id)
	mustHave(t, "edit", p.Body, "••••••42", `value="143"`)
	mustLack(t, "edit", p.Body, "corp-secret-42")

	// Saving without a secret keeps the stored one.
	good.Set("name", "Corp mail")
	good.Set("client_secret", "")
	p = b.Post(t, "/admin/mail/providers/"+id, good)
	wantStatus(t, "save", p, http.StatusOK)
	if sec, _ := s.App.Mail.ClientSecret(ctx, id); sec != "corp-secret-42" {
		t.Errorf("secret after a save without one: %q", sec)
	}

	// One click: Gmail is added; Outlook without Microsoft keys comes back
	// as its form, filled in, asking for them.
	p = b.Post(t, "/admin/mail/providers/preset", url.Values{"preset": {"gmail"}})
	wantStatus(t, "gmail", p, http.StatusOK)
	mustHave(t, "gmail", p.Body, tr(ru, "flash.mail_provider_created", "Gmail"))
	p = b.Post(t, "/admin/mail/providers/preset", url.Values{"preset": {"outlook"}})
	wantStatus(t, "outlook", p, http.StatusUnprocessableEntity)
	mustHave(t, "outlook", p.Body, `value="outlook.office365.com"`, `value="587"`, `value="outlook"`, `id="f-client_id-error"`)

	// A provider in use cannot be deleted; the page says why.
	conn := &store.Connection{UserID: s.Admin.UserID, Provider: "mail", AccountEmail: "admin@corp.example"}
	if err := s.App.Store.CreateConnection(ctx, conn, ""); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+s.App.Store.SQLitePath()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO mailboxes (connection_id, provider_id, address, created_at) VALUES (?, ?, ?, ?)`,
		conn.ID, id, "admin@corp.example", crm.Micros(crm.Now())); err != nil {
		t.Fatal(err)
	}
	p = b.Post(t, "/admin/mail/providers/"+id+"/delete", nil)
	wantStatus(t, "delete in use", p, http.StatusOK)
	if !strings.HasSuffix(p.URL, "/admin/mail/providers/"+id) {
		t.Errorf("after a refused delete at %s", p.URL)
	}
	mustHave(t, "delete in use", p.Body, tr(ru, "admin.mail_providers.error.in_use", "Corp mail", "1"), "Используется 1 почтовым ящиком")
	if _, err := s.App.Store.GetMailProvider(ctx, id); err != nil {
		t.Fatalf("provider in use deleted: %v", err)
	}
}

func TestAdminMailDomains(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	ctx := context.Background()
	b := adminBrowser(t, s)
	p := b.Get(t, "/admin/mail/domains")
	mustHave(t, "no providers", p.Body, tr(i18n.En, "admin.mail_domains.no_providers"))
	b.Post(t, "/admin/mail/providers/preset", url.Values{"preset": {"yahoo"}})
	ps, _ := s.App.Store.ListMailProviders(ctx)
	yahoo := ps[0].ID

	p = b.Post(t, "/admin/mail/domains", url.Values{"domain": {"Почта.РФ"}, "provider_id": {yahoo}})
	wantStatus(t, "add", p, http.StatusOK)
	mustHave(t, "add", p.Body, "почта.рф", "xn--80a1acny.xn--p1ai", "yahoo.com", tr(i18n.En, "flash.mail_domain_added", "почта.рф", "Yahoo"))
	p = b.Post(t, "/admin/mail/domains", url.Values{"domain": {"YAHOO.com"}, "provider_id": {yahoo}})
	wantStatus(t, "duplicate", p, http.StatusUnprocessableEntity)
	mustHave(t, "duplicate", p.Body, `value="YAHOO.com"`, tr(i18n.En, "error.duplicate"))
	p = b.Post(t, "/admin/mail/domains", url.Values{"domain": {"not a domain"}, "provider_id": {yahoo}})
	mustHave(t, "bad", p.Body, tr(i18n.En, "error.invalid_domain"), `value="not a domain"`)

	p = b.Post(t, "/admin/mail/domains/delete", url.Values{"domain": {"xn--80a1acny.xn--p1ai"}})
	wantStatus(t, "delete", p, http.StatusOK)
	if _, err := s.App.Store.GetMailDomain(ctx, "xn--80a1acny.xn--p1ai"); err == nil {
		t.Error("domain still there")
	}
}

func TestAdminMailForbiddenToOthers(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	role := s.NewRole(t, "Mailers", access.OpConnectSharedMailbox)
	s.NewUser(t, "user@example.com", role)
	b := s.Browser(t, "user@example.com", "user-password-1")
	for _, path := range []string{"/admin/mail/providers", "/admin/mail/providers/new", "/admin/mail/domains"} {
		wantStatus(t, "GET "+path, b.Get(t, path), http.StatusForbidden)
	}
	for path, form := range map[string]url.Values{
		"/admin/mail/providers/new":    {"name": {"X"}, "type": {"imap"}, "imap_host": {"i.x.example"}, "smtp_host": {"s.x.example"}},
		"/admin/mail/providers/preset": {"preset": {"gmail"}},
		"/admin/mail/domains":          {"domain": {"x.example"}, "provider_id": {"x"}},
	} {
		wantStatus(t, "POST "+path, b.Post(t, path, form), http.StatusForbidden)
	}
	if ps, _ := s.App.Store.ListMailProviders(context.Background()); len(ps) != 0 {
		t.Errorf("refused posts stored %d providers", len(ps))
	}
}
