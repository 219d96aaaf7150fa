package ui_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/i18n"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/mail/wire"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// rawMailboxKey finds mailbox catalogue keys that reached a page
// untranslated.
var rawMailboxKey = regexp.MustCompile(`\bmail(?:box)?\.(?:error|verify|period|field|folders|grants|right|section|empty)\.[a-z_0-9.]+`)

// mailboxServer is a server whose mailbox servers are stood in for: the
// password "wrong" is refused by IMAP; the provider Corp serves corp.example.
func mailboxServer(t *testing.T) (*tandemtest.Server, string) {
	t.Helper()
	s := tandemtest.Start(t, tandemtest.Options{})
	s.App.Mailboxes.Verify = func(_ context.Context, ep mail.Endpoints) error {
		if ep.Auth.Password == "wrong-typed-pass" {
			return &mail.VerifyError{Protocol: mail.IMAP, Kind: wire.KindAuth, Err: errors.New("NO [AUTHENTICATIONFAILED]")}
		}
		return nil
	}
	var p struct {
		ID string `json:"id"`
	}
	s.Admin.JSON(t, "POST", "/api/v1/mail/providers", map[string]any{"name": "Corp", "type": "imap", "imap_host": "127.0.0.1",
		"imap_port": 1, "smtp_host": "127.0.0.1", "smtp_port": 1}, http.StatusCreated, &p)
	s.Admin.JSON(t, "POST", "/api/v1/mail/domains", map[string]string{"domain": "corp.example", "provider_id": p.ID}, http.StatusCreated, nil)
	return s, p.ID
}

func checkMailboxPage(t *testing.T, what string, p tandemtest.Page, status int) {
	t.Helper()
	wantStatus(t, what, p, status)
	noRawKeys(t, what, p.Body)
	if k := rawMailboxKey.FindString(p.Body); k != "" {
		t.Errorf("%s: untranslated %s", what, k)
	}
}

func TestMailboxPages(t *testing.T) {
	s, corp := mailboxServer(t)
	ctx := context.Background()
	user := s.NewUser(t, userEmail)
	b := s.Browser(t, userEmail, userPassword)
	b.Post(t, "/language", url.Values{"lang": {"ru"}, "next": {"/profile"}})
	ru := i18n.Ru

	p := b.Get(t, "/profile/mailboxes")
	checkMailboxPage(t, "empty list", p, http.StatusOK)
	mustHave(t, "empty list", p.Body, tr(ru, "mailbox.title"), tr(ru, "mailbox.empty.title"), `href="/profile/mailboxes/new"`)
	mustHave(t, "profile tabs", b.Get(t, "/profile").Body, `href="/profile/mailboxes"`)

	// Step one asks the address; step two shows the detected provider.
	p = b.Get(t, "/profile/mailboxes/new")
	checkMailboxPage(t, "new", p, http.StatusOK)
	mustHave(t, "new", p.Body, tr(ru, "mailbox.field.address"), `method="get"`)
	mustLack(t, "new", p.Body, `name="password"`)
	p = b.Get(t, "/profile/mailboxes/new?address=julia@corp.example")
	checkMailboxPage(t, "detected", p, http.StatusOK)
	mustHave(t, "detected", p.Body, "<strong>Corp</strong>", tr(ru, "mailbox.detected"), tr(ru, "mailbox.field.password"),
		`value="julia@corp.example"`)
	mustLack(t, "detected", p.Body, `name="provider_id"`, `name="login"`, `name="shared"`)

	// A refused password: which server and why; what was typed stays but
	// the password.
	p = b.Post(t, "/profile/mailboxes/new", url.Values{"address": {"julia@corp.example"}, "password": {"wrong-typed-pass"}})
	checkMailboxPage(t, "refused", p, http.StatusUnprocessableEntity)
	mustHave(t, "refused", p.Body, tr(ru, "mail.verify.auth", "IMAP"), tr(ru, "error.mail_verify_failed"),
		`value="julia@corp.example"`, tr(ru, "mailbox.retype_password"))
	mustLack(t, "refused", p.Body, "wrong-typed-pass")

	// An unknown domain: a picker; posting without a pick asks again and
	// keeps the login typed.
	p = b.Get(t, "/profile/mailboxes/new?address=julia@home.example")
	checkMailboxPage(t, "pick", p, http.StatusOK)
	mustHave(t, "pick", p.Body, `name="provider_id"`, `<option value="`+corp+`">Corp</option>`, tr(ru, "mailbox.pick_help"), `name="login"`)
	p = b.Post(t, "/profile/mailboxes/new", url.Values{"address": {"julia@home.example"}, "login": {"julia-login"}, "password": {"secret-1"}})
	checkMailboxPage(t, "no pick", p, http.StatusUnprocessableEntity)
	mustHave(t, "no pick", p.Body, tr(ru, "error.mail_pick_provider"), `value="julia@home.example"`, `value="julia-login"`)
	mustLack(t, "no pick", p.Body, "secret-1")

	// Picked: added, with the links to load and to the settings.
	p = b.Post(t, "/profile/mailboxes/new", url.Values{"address": {"julia@home.example"}, "provider_id": {corp}, "password": {"secret-1"}})
	checkMailboxPage(t, "added", p, http.StatusOK)
	ms, err := s.App.Store.MailboxesOf(ctx, user.UserID)
	if err != nil || len(ms) != 1 {
		t.Fatalf("mailboxes %v %v", ms, err)
	}
	id := ms[0].ID
	mustHave(t, "added", p.Body, tr(ru, "mailbox.added", "julia@home.example"), `action="/profile/mailboxes/`+id+`/load"`,
		`href="/profile/mailboxes/`+id+`"`, tr(ru, "mailbox.never_loaded"), tr(ru, "connection.status.active"),
		esc(ru.N("mailbox.auto_load_every", 10)))
	if det, err := s.App.Mail.Detect(ctx, "x@home.example"); err != nil || det.ID != corp {
		t.Errorf("domain not learned: %v", err)
	}

	// Settings: Russian labels, the folders note, no shared switch without the right.
	item := "/profile/mailboxes/" + id
	p = b.Get(t, item)
	checkMailboxPage(t, "settings", p, http.StatusOK)
	mustHave(t, "settings", p.Body, tr(ru, "mailbox.field.first_load"), tr(ru, "mailbox.period.week"), tr(ru, "mailbox.folders.parent_note"),
		tr(ru, "mailbox.folders.none_yet"), tr(ru, "mailbox.field.signature"), esc(ru.N("mailbox.auto_load_every", 10)),
		`<option value="month" selected>`)
	mustLack(t, "settings", p.Body, `name="shared"`, `id="grants"`)

	// Folders from the last load, as a tree.
	if err := s.App.Store.SaveMailFolders(ctx, id, []store.MailFolder{{Name: "INBOX", Selectable: true},
		{Name: "Projects", Selectable: true}, {Name: "Projects/Alpha", Parent: "Projects", Selectable: true}}); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"first_load": {"week"}, "auto_load": {"1"}, "folders_mode": {"selected"}, "send_enabled": {"1"},
		"alias": {"Юлия Петрова"}, "signature": {`<p onclick="x()">Юлия<script>alert(1)</script></p>`}, "signature_enabled": {"1"}}
	p = b.Post(t, item, form)
	checkMailboxPage(t, "no folders", p, http.StatusUnprocessableEntity)
	mustHave(t, "no folders", p.Body, tr(ru, "mail.error.no_folders"), `value="Юлия Петрова"`, `value="selected" checked`,
		`value="Projects/Alpha"`)
	form["folders"] = []string{"Projects"}
	p = b.Post(t, item, form)
	checkMailboxPage(t, "saved", p, http.StatusOK)
	mustHave(t, "saved", p.Body, tr(ru, "flash.saved"), `value="Projects" checked`, `<option value="week" selected>`)
	mustLack(t, "saved", p.Body, `value="Projects/Alpha" checked`, "<script>alert")
	mb, _ := s.App.Store.GetMailbox(ctx, id)
	if mb.AllFolders || len(mb.Folders) != 1 || strings.Contains(mb.Signature, "script") || strings.Contains(mb.Signature, "onclick") ||
		!mb.SignatureEnabled || mb.Alias != "Юлия Петрова" || mb.Shared {
		t.Errorf("stored %+v", mb)
	}

	// Someone else's mailbox is not found.
	s.NewUser(t, "other@example.com")
	o := s.Browser(t, "other@example.com", userPassword)
	wantStatus(t, "other settings", o.Get(t, item), http.StatusNotFound)
	wantStatus(t, "other delete", o.Post(t, item+"/delete", nil), http.StatusNotFound)
	mustLack(t, "other list", o.Get(t, "/profile/mailboxes").Body, "julia@home.example")

	// Load now, then remove.
	p = b.Post(t, item+"/load", nil)
	checkMailboxPage(t, "load", p, http.StatusOK)
	mustHave(t, "load", p.Body, tr(ru, "flash.mailbox_loading"))
	p = b.Get(t, "/profile/mailboxes")
	mustHave(t, "confirm", p.Body, `data-confirm="`+tr(ru, "mailbox.confirm_delete", "julia@home.example")+`"`)
	p = b.Post(t, item+"/delete", nil)
	checkMailboxPage(t, "delete", p, http.StatusOK)
	mustHave(t, "delete", p.Body, tr(ru, "flash.mailbox_removed", "julia@home.example"), tr(ru, "mailbox.empty.title"))
}

func TestSharedMailboxPages(t *testing.T) {
	s, _ := mailboxServer(t)
	ctx := context.Background()
	connect := s.NewRole(t, "Mail admins", access.OpConnectSharedMailbox)
	sales := s.NewRole(t, "Sales")
	owner := s.NewUser(t, "owner@example.com", connect)
	reader := s.NewUser(t, "reader@example.com", sales)
	en := i18n.En
	b := s.Browser(t, "owner@example.com", userPassword)

	p := b.Get(t, "/profile/mailboxes/new?address=sales@corp.example")
	mustHave(t, "new shared", p.Body, `name="shared"`, tr(en, "mailbox.shared_help"))
	p = b.Post(t, "/profile/mailboxes/new", url.Values{"address": {"sales@corp.example"}, "password": {"p"}, "shared": {"1"}})
	checkMailboxPage(t, "added", p, http.StatusOK)
	owned, _ := s.App.Store.MailboxesOf(ctx, owner.UserID)
	if len(owned) != 1 || !owned[0].Shared {
		t.Fatalf("owned %+v", owned)
	}
	item := "/profile/mailboxes/" + owned[0].ID
	p = b.Get(t, item)
	checkMailboxPage(t, "settings", p, http.StatusOK)
	mustHave(t, "settings", p.Body, `id="grants"`, tr(en, "mailbox.grants.title"), `value="role:`+sales+`"`,
		`value="user:`+reader.UserID+`"`, `name="shared" value="1" checked`)

	p = b.Post(t, item+"/grants", url.Values{"read": {"role:" + sales}, "send": {"user:" + reader.UserID}})
	checkMailboxPage(t, "grants", p, http.StatusOK)
	mustHave(t, "grants", p.Body, tr(en, "flash.mailbox_grants_saved"), `name="read" value="role:`+sales+`" checked`,
		`name="send" value="user:`+reader.UserID+`" checked`)
	p = b.Post(t, item+"/grants", url.Values{"read": {"user:nobody"}})
	checkMailboxPage(t, "bad grant", p, http.StatusUnprocessableEntity)

	// The reader sees it with their rights, and cannot open its settings.
	r := s.Browser(t, "reader@example.com", userPassword)
	p = r.Get(t, "/profile/mailboxes")
	checkMailboxPage(t, "reader list", p, http.StatusOK)
	mustHave(t, "reader list", p.Body, "sales@corp.example", tr(en, "mailbox.your_rights"), tr(en, "mailbox.right.read"),
		tr(en, "mailbox.right.send"))
	mustLack(t, "reader list", p.Body, `href="`+item+`"`, `action="`+item+`/delete"`, `action="`+item+`/load"`)
	wantStatus(t, "reader settings", r.Get(t, item), http.StatusForbidden)
	wantStatus(t, "reader grants", r.Post(t, item+"/grants", url.Values{"read": {"user:" + reader.UserID}}), http.StatusForbidden)
	wantStatus(t, "reader load", r.Post(t, item+"/load", nil), http.StatusForbidden)
	wantStatus(t, "reader delete", r.Post(t, item+"/delete", nil), http.StatusForbidden)

	// A grant to send puts the mailbox in the reader's mail panel, while
	// the mailbox sends at all.
	p = r.Get(t, "/mail")
	mustHave(t, "reader panel", p.Body, "sales@corp.example")
	mb, err := s.App.Store.GetMailbox(ctx, owned[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	mb.SendEnabled = false
	if err := s.App.Store.UpdateMailbox(ctx, mb); err != nil {
		t.Fatal(err)
	}
	p = r.Get(t, "/mail")
	mustLack(t, "reader panel, sending off", p.Body, "sales@corp.example")
}
