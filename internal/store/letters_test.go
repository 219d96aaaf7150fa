package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

func mkMailboxOf(t *testing.T, s *Store, owner access.Viewer, address string) *Mailbox {
	t.Helper()
	ctx := context.Background()
	p := &MailProvider{Name: "IMAP " + address, Type: "imap", IMAPHost: "imap.example.test", IMAPPort: 993, IMAPSecurity: "tls",
		SMTPHost: "smtp.example.test", SMTPPort: 465, SMTPSecurity: "tls", LoginFormat: "email", Auth: "basic"}
	if err := s.CreateMailProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	c := &Connection{UserID: owner.UserID, Provider: "imap", AccountEmail: address}
	m := &Mailbox{ProviderID: p.ID, Address: address, Login: address, FirstLoad: "month", AutoLoad: true, AllFolders: true,
		SendEnabled: true, DefaultSender: true}
	if err := s.CreateMailbox(ctx, c, m, "sealed"); err != nil {
		t.Fatal(err)
	}
	return m
}

func letter(raw, subject, from string, to ...string) Letter {
	sum := sha256.Sum256([]byte(raw))
	l := Letter{Hash: hex.EncodeToString(sum[:]), Raw: []byte(raw), MessageID: subject + "@example.test", Subject: subject,
		FromEmail: from, ReceivedAt: int64(len(raw)), Addresses: []LetterAddress{{Role: "from", Email: from}}}
	for _, a := range to {
		l.Addresses = append(l.Addresses, LetterAddress{Role: "to", Email: a})
	}
	return l
}

func TestLetters(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		bob := mkUser(t, s, "bob@example.com")
		carol := mkUser(t, s, "carol@example.com")
		mb := mkMailboxOf(t, s, alice, "alice@example.com")
		second := mkMailboxOf(t, s, alice, "sales@example.com")

		got, err := s.GetMailbox(ctx, mb.ID)
		if err != nil || got.OwnerID != alice.UserID || !got.AllFolders || got.Folders == nil || got.DefaultSender {
			// The second mailbox took the default sender over.
			t.Fatalf("mailbox %+v, %v", got, err)
		}

		acct := &crm.Account{Name: "Acme", Email: "Office@Acme.example"}
		if err := s.CreateAccount(ctx, alice, acct); err != nil {
			t.Fatal(err)
		}
		ivan := &crm.Contact{Name: "Ivan", AccountID: acct.ID, Emails: []crm.Email{{Address: "Ivan@Acme.example", Kind: "work", Primary: true}}}
		if err := s.CreateContact(ctx, alice, ivan); err != nil {
			t.Fatal(err)
		}

		l1 := letter("raw one", "one", "ivan@acme.example", "alice@example.com")
		l1.UID = 1
		l2 := letter("raw two", "two", "alice@example.com", "OFFICE@acme.example")
		l2.UID, l2.Seen = 2, true
		l2.InReplyTo = l1.MessageID
		cur := FolderCursor{UIDValidity: 7, UIDNext: 3}
		n, err := s.SaveLetters(ctx, mb.ID, "INBOX", cur, []Letter{l1, l2})
		if err != nil || n != 2 {
			t.Fatalf("save: %d, %v", n, err)
		}
		// The same letter in another folder and in another mailbox: one
		// letter, three locations.
		l1b := l1
		l1b.UID = 40
		if n, err := s.SaveLetters(ctx, mb.ID, "Archive", FolderCursor{UIDValidity: 9, UIDNext: 41}, []Letter{l1b}); err != nil || n != 0 {
			t.Fatalf("second folder: %d, %v", n, err)
		}
		if n, err := s.SaveLetters(ctx, second.ID, "INBOX", FolderCursor{UIDValidity: 1, UIDNext: 2}, []Letter{l1}); err != nil || n != 0 {
			t.Fatalf("second mailbox: %d, %v", n, err)
		}
		if letters, locs, err := s.CountLetters(ctx, mb.ID); err != nil || letters != 2 || locs != 3 {
			t.Fatalf("count %d letters, %d locations, %v", letters, locs, err)
		}
		folders, err := s.MailFolders(ctx, mb.ID)
		if err != nil || len(folders) != 2 || folders[1].Name != "INBOX" || folders[1].UIDValidity != 7 || folders[1].UIDNext != 3 {
			t.Fatalf("folders %+v, %v", folders, err)
		}

		// The contact sees the letter it sent; the account sees both (one
		// through its contact, one through its own address).
		onContact, err := s.LettersOfRecord(ctx, alice.UserID, "contact", ivan.ID, LetterCursor{}, 10)
		if err != nil || len(onContact) != 1 || onContact[0].Subject != "one" || onContact[0].Seen {
			t.Fatalf("contact letters %+v, %v", onContact, err)
		}
		onAccount, err := s.LettersOfRecord(ctx, alice.UserID, "account", acct.ID, LetterCursor{}, 10)
		if err != nil || len(onAccount) != 2 || onAccount[0].Subject != "two" || !onAccount[0].Seen {
			t.Fatalf("account letters %+v, %v", onAccount, err)
		}
		if onAccount[0].ThreadID != onAccount[1].ThreadID {
			t.Fatalf("a reply is not in its letter's thread: %+v", onAccount)
		}
		page2, err := s.LettersOfRecord(ctx, alice.UserID, "account", acct.ID,
			LetterCursor{ReceivedAt: onAccount[0].ReceivedAt, ID: onAccount[0].ID}, 10)
		if err != nil || len(page2) != 1 || page2[0].Subject != "one" {
			t.Fatalf("second page %+v, %v", page2, err)
		}

		// Bob sees nothing until the mailbox is shared with him; "read"
		// shows letters on timelines, not in his panel; "send" does both.
		if l, _ := s.LettersOfRecord(ctx, bob.UserID, "account", acct.ID, LetterCursor{}, 10); len(l) != 0 {
			t.Fatalf("bob sees %+v", l)
		}
		if _, err := s.GetLetter(ctx, bob.UserID, onAccount[0].ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("bob reads a letter: %v", err)
		}
		role := &access.Role{Name: "Sales"}
		if err := s.SaveRole(ctx, role); err != nil {
			t.Fatal(err)
		}
		if err := s.SetMailboxGrants(ctx, mb.ID, []MailboxGrant{{GranteeKind: "user", GranteeID: bob.UserID, Read: true},
			{GranteeKind: "role", GranteeID: role.ID, Send: true}}); err != nil {
			t.Fatal(err)
		}
		if l, _ := s.LettersOfRecord(ctx, bob.UserID, "account", acct.ID, LetterCursor{}, 10); len(l) != 2 {
			t.Fatalf("bob with read sees %d letters", len(l))
		}
		if l, _ := s.LettersOfUser(ctx, bob.UserID, "", LetterCursor{}, 10); len(l) != 0 {
			t.Fatalf("read puts letters in bob's panel: %+v", l)
		}
		if _, acc, err := s.MailboxAccessOf(ctx, bob.UserID, mb.ID); err != nil || acc.Owner || !acc.Read || acc.Send {
			t.Fatalf("bob's access %+v, %v", acc, err)
		}
		if l, _ := s.LettersOfUser(ctx, carol.UserID, "", LetterCursor{}, 10); len(l) != 0 {
			t.Fatalf("carol sees %+v", l)
		}
		dave := mkUser(t, s, "dave@example.com", role.ID)
		if l, _ := s.LettersOfUser(ctx, dave.UserID, mb.ID, LetterCursor{}, 10); len(l) != 2 {
			t.Fatalf("dave (send through a role) sees %d letters in his panel", len(l))
		}
		if list, err := s.MailboxesOf(ctx, dave.UserID); err != nil || len(list) != 1 || !list[0].Access.Send {
			t.Fatalf("dave's mailboxes %+v, %v", list, err)
		}
		unread, err := s.UnreadCounts(ctx, alice.UserID)
		if err != nil || unread[mb.ID] != 1 || unread[second.ID] != 1 {
			t.Fatalf("unread %v, %v", unread, err)
		}
		grants, err := s.MailboxGrants(ctx, mb.ID)
		if err != nil || len(grants) != 2 || grants[0].GranteeKind != "user" || grants[1].GranteeName != "Sales" {
			t.Fatalf("grants %+v, %v", grants, err)
		}
		if err := s.SetMailboxGrants(ctx, mb.ID, []MailboxGrant{{GranteeKind: "user", GranteeID: "nobody", Read: true}}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("grant to nobody: %v", err)
		}

		d, err := s.GetLetter(ctx, alice.UserID, onContact[0].ID)
		if err != nil || len(d.Addresses) != 2 || len(d.MailboxIDs) != 2 {
			t.Fatalf("letter %+v, %v", d, err)
		}
		if raw, err := s.LetterRaw(ctx, d.Hash); err != nil || string(raw) != "raw one" {
			t.Fatalf("raw %q, %v", raw, err)
		}

		// A new UIDVALIDITY: the old UIDs go, the letters stay, and loading
		// the folder again adds no letter.
		if err := s.ResetMailFolder(ctx, mb.ID, "INBOX", 8); err != nil {
			t.Fatal(err)
		}
		if uids, err := s.MailUIDs(ctx, mb.ID, "INBOX", 7); err != nil || len(uids) != 0 {
			t.Fatalf("old uids %v, %v", uids, err)
		}
		l1.UID = 100
		if n, err := s.SaveLetters(ctx, mb.ID, "INBOX", FolderCursor{UIDValidity: 8, UIDNext: 101}, []Letter{l1}); err != nil || n != 0 {
			t.Fatalf("reload after reset: %d, %v", n, err)
		}
		// Deleting the mailbox's connection deletes its settings and
		// locations; a load finishing after that stores nothing.
		if err := s.DeleteConnection(ctx, alice.UserID, second.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SaveLetters(ctx, second.ID, "INBOX", cur, []Letter{l2}); !errors.Is(err, ErrMailboxGone) {
			t.Fatalf("save into a deleted mailbox: %v", err)
		}
		// Letters no mailbox holds any more (the deleted one's, and "two",
		// whose old UID went with the new UIDVALIDITY and was not loaded
		// again here) go with the hourly prune; those still held stay.
		only := letter("raw only in second", "only", "x@example.org")
		third := mkMailboxOf(t, s, alice, "third@example.com")
		if _, err := s.SaveLetters(ctx, third.ID, "INBOX", cur, []Letter{only}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteConnection(ctx, alice.UserID, third.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := s.PruneLetters(ctx); err != nil || n != 2 {
			t.Fatalf("pruned %d, %v", n, err)
		}
		if _, err := s.LetterRaw(ctx, only.Hash); !errors.Is(err, ErrNotFound) {
			t.Fatalf("raw of a pruned letter kept: %v", err)
		}
		if _, err := s.LetterRaw(ctx, l1.Hash); err != nil {
			t.Fatalf("raw of a held letter pruned: %v", err)
		}
	})
}
