package mail_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/store"
	"github.com/tandem-crm/tandem/internal/testenv/mailserver"
	"github.com/tandem-crm/tandem/internal/testenv/storetest"
)

// TestSharedMailboxRights: the shared-mailbox rights at the service, with
// real servers so that what is allowed really goes out. A "read" grantee
// may not send from the mailbox (it is not among their senders and Send
// refuses it), change its settings, load it, see or change its grants, or
// remove it; a configure grant without CanManageSharedMailboxSync
// configures nothing; a user without CanConnectSharedMailbox cannot add
// or turn a mailbox shared, nor grant on it. A "send" grantee (through a
// role) sends, but not once the mailbox's sending is off; un-sharing the
// mailbox ends every grant.
func TestSharedMailboxRights(t *testing.T) {
	srv := mailserver.Start(t, mailserver.Options{})
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e := newMailEnv(t, st, srv)
		e.now = time.Now() // the server dates what it receives now
		db := t.Name()[len("TestSharedMailboxRights/"):]
		salesAddr, plainAddr, clientAddr := "sales-"+db+"@"+srv.Domain(), "plain-"+db+"@"+srv.Domain(), "client-"+db+"@"+srv.Domain()
		srv.AddUser(t, salesAddr, "sales-pass")
		srv.AddUser(t, plainAddr, "plain-pass")
		srv.AddUser(t, clientAddr, "client-pass")

		role := func(name string, ops ...string) string {
			r := &access.Role{Name: name, Ops: ops}
			if err := st.SaveRole(ctx, r); err != nil {
				t.Fatal(err)
			}
			return r.ID
		}
		connect, sellers := role("Mail admins", access.OpConnectSharedMailbox), role("Sellers")
		owner := storetest.User(t, st, "owner@example.com", connect)
		reader := storetest.User(t, st, "reader@example.com")
		seller := storetest.User(t, st, "seller@example.com", sellers)
		confNoOp := storetest.User(t, st, "confnoop@example.com")
		plain := storetest.User(t, st, "plain@example.com")

		// Without CanConnectSharedMailbox: no shared mailbox, neither when
		// adding nor later, and no grants.
		var ve *crm.ValidationError
		if _, err := e.mbs.Add(ctx, plain, mail.NewMailbox{Address: plainAddr, ProviderID: e.provider.ID, Password: "plain-pass",
			Shared: true}); !errors.As(err, &ve) || ve.Fields["shared"] != "mail.error.shared_right" {
			t.Fatalf("a shared mailbox added without the operation: %v", err)
		}
		own, err := e.mbs.Add(ctx, plain, mail.NewMailbox{Address: plainAddr, ProviderID: e.provider.ID, Password: "plain-pass"})
		if err != nil {
			t.Fatal(err)
		}
		set := mail.MailboxSettings{FirstLoad: mail.PeriodWeek, AutoLoad: true, AllFolders: true, SendEnabled: true, Shared: true}
		if _, err := e.mbs.UpdateSettings(ctx, plain, own.ID, set); !errors.As(err, &ve) || ve.Fields["shared"] != "mail.error.shared_right" {
			t.Fatalf("turned shared without the operation: %v", err)
		}
		if mb, _ := st.GetMailbox(ctx, own.ID); mb.Shared {
			t.Fatal("the mailbox is shared after a refused change")
		}
		if err := e.mbs.SetGrants(ctx, plain, own.ID, []store.MailboxGrant{{GranteeKind: "user", GranteeID: reader.UserID, Read: true}}); !errors.Is(err, mail.ErrNoRight) {
			t.Fatalf("grants without the operation: %v", err)
		}

		shared, err := e.mbs.Add(ctx, owner, mail.NewMailbox{Address: salesAddr, ProviderID: e.provider.ID, Password: "sales-pass", Shared: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.mbs.SetGrants(ctx, owner, shared.ID, []store.MailboxGrant{
			{GranteeKind: "user", GranteeID: reader.UserID, Read: true},
			{GranteeKind: "role", GranteeID: sellers, Send: true},
			{GranteeKind: "user", GranteeID: confNoOp.UserID, Read: true, Configure: true},
		}); err != nil {
			t.Fatal(err)
		}

		// "read": not a sender, and Send refuses the mailbox before any
		// server is asked.
		senders, err := e.mbs.Senders(ctx, reader)
		if err != nil || len(senders) != 0 {
			t.Fatalf("reader's senders %+v, %v", senders, err)
		}
		_, err = e.mbs.Send(ctx, reader, mail.Outgoing{MailboxID: shared.ID, To: []string{clientAddr}, Subject: "from the reader", HTML: "<p>x</p>"})
		if !errors.As(err, &ve) || ve.Fields["mailbox_id"] == "" {
			t.Fatalf("the reader sent from the shared mailbox: %v", err)
		}
		settings := mail.MailboxSettings{FirstLoad: mail.PeriodWeek, AutoLoad: true, AllFolders: true, SendEnabled: true, Shared: true,
			Alias: "Hijacked"}
		for _, v := range []struct {
			name string
			who  access.Viewer
		}{{"reader", reader}, {"configurer without the operation", confNoOp}, {"sender", seller}} {
			if _, err := e.mbs.UpdateSettings(ctx, v.who, shared.ID, settings); !errors.Is(err, mail.ErrNoRight) {
				t.Errorf("%s changed the settings: %v", v.name, err)
			}
			if _, err := e.mbs.LoadNow(ctx, v.who, shared.ID); !errors.Is(err, mail.ErrNoRight) {
				t.Errorf("%s loads the mailbox: %v", v.name, err)
			}
			if _, err := e.mbs.Folders(ctx, v.who, shared.ID); !errors.Is(err, mail.ErrNoRight) {
				t.Errorf("%s reads the folders: %v", v.name, err)
			}
			if _, err := e.mbs.Grants(ctx, v.who, shared.ID); !errors.Is(err, mail.ErrNoRight) {
				t.Errorf("%s reads the grants: %v", v.name, err)
			}
			if err := e.mbs.SetGrants(ctx, v.who, shared.ID, nil); !errors.Is(err, mail.ErrNoRight) {
				t.Errorf("%s changes the grants: %v", v.name, err)
			}
			if err := e.mbs.Delete(ctx, v.who, shared.ID); !errors.Is(err, mail.ErrNoRight) {
				t.Errorf("%s removed the mailbox: %v", v.name, err)
			}
		}
		if mb, _ := st.GetMailbox(ctx, shared.ID); mb.Alias != "" {
			t.Errorf("alias %q after refused changes", mb.Alias)
		}
		// Someone without any grant does not even see it.
		if _, err := e.mbs.Get(ctx, plain, shared.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a stranger sees the mailbox: %v", err)
		}

		// "send" through a role: a sender, and the letter goes out from the
		// shared address.
		senders, err = e.mbs.Senders(ctx, seller)
		if err != nil || len(senders) != 1 || senders[0].ID != shared.ID {
			t.Fatalf("seller's senders %+v, %v", senders, err)
		}
		if _, err := e.mbs.Send(ctx, seller, mail.Outgoing{MailboxID: shared.ID, To: []string{clientAddr}, Subject: "from the seller",
			HTML: "<p>Offer</p>"}); err != nil {
			t.Fatal(err)
		}
		srv.WaitCount(t, clientAddr, "INBOX", 1)
		hdr := srv.Doveadm(t, "fetch", "-u", clientAddr, "hdr", "mailbox", "INBOX")
		if !strings.Contains(hdr, "from the seller") || strings.Contains(hdr, "from the reader") || !strings.Contains(hdr, salesAddr) {
			t.Errorf("client's INBOX:\n%s", hdr)
		}

		// With sending turned off for the mailbox, the seller cannot send
		// from it either.
		noSend := mail.MailboxSettings{FirstLoad: mail.PeriodWeek, AutoLoad: true, AllFolders: true, Shared: true}
		if _, err := e.mbs.UpdateSettings(ctx, owner, shared.ID, noSend); err != nil {
			t.Fatal(err)
		}
		if senders, _ := e.mbs.Senders(ctx, seller); len(senders) != 0 {
			t.Errorf("a mailbox with sending off is among the seller's senders")
		}
		if _, err := e.mbs.Send(ctx, seller, mail.Outgoing{MailboxID: shared.ID, To: []string{clientAddr}, Subject: "off", HTML: "x"}); !errors.As(err, &ve) || ve.Fields["mailbox_id"] == "" {
			t.Errorf("the seller sent from a mailbox with sending off: %v", err)
		}

		// Un-sharing it ends the grants: the grantees lose the mailbox.
		unshare := mail.MailboxSettings{FirstLoad: mail.PeriodWeek, AutoLoad: true, AllFolders: true, SendEnabled: true}
		if _, err := e.mbs.UpdateSettings(ctx, owner, shared.ID, unshare); err != nil {
			t.Fatal(err)
		}
		for _, v := range []access.Viewer{reader, seller, confNoOp} {
			if _, err := e.mbs.Get(ctx, v, shared.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s still has the un-shared mailbox: %v", v.UserID, err)
			}
		}
		if senders, _ := e.mbs.Senders(ctx, seller); len(senders) != 0 {
			t.Errorf("the un-shared mailbox is still among the seller's senders")
		}
		if _, err := e.mbs.Send(ctx, seller, mail.Outgoing{MailboxID: shared.ID, To: []string{clientAddr}, Subject: "after", HTML: "x"}); err == nil {
			t.Error("the seller sent from the un-shared mailbox")
		}
	})
}
