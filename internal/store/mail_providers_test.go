package store

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
)

func mkMailProvider(t *testing.T, s *Store, name string, domains ...string) *MailProvider {
	t.Helper()
	p := &MailProvider{Name: name, Type: "imap", IMAPHost: "imap.example.com", IMAPPort: 993, IMAPSecurity: "tls",
		SMTPHost: "smtp.example.com", SMTPPort: 465, SMTPSecurity: "tls", LoginFormat: "email", Auth: "basic"}
	if err := s.CreateMailProvider(context.Background(), p, domains...); err != nil {
		t.Fatalf("create provider %s: %v", name, err)
	}
	return p
}

// mkMailbox inserts a mailbox row directly: the mailboxes API comes later.
func mkMailbox(t *testing.T, s *Store, userID, providerID, address string) string {
	t.Helper()
	ctx := context.Background()
	c := &Connection{UserID: userID, Provider: "mail", AccountEmail: address}
	if err := s.CreateConnection(ctx, c, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO mailboxes (connection_id, provider_id, address, created_at) VALUES ($1, $2, $3, $4)`,
		c.ID, providerID, address, crm.Micros(crm.Now())); err != nil {
		t.Fatalf("insert mailbox: %v", err)
	}
	return c.ID
}

func fieldError(err error, field string) string {
	var ve *crm.ValidationError
	if !errors.As(err, &ve) {
		return ""
	}
	return ve.Fields[field]
}

func TestMailProviders(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		p := &MailProvider{Name: "Corp", Type: "exchange", ExchangeURL: "https://mail.corp.example/EWS/Exchange.asmx",
			ExchangeLoad: true, LoginFormat: "manual", Auth: "oauth2", ClientID: "id-1", ClientSecret: "v1:sealed"}
		if err := s.CreateMailProvider(ctx, p, "corp.example", "corp2.example"); err != nil {
			t.Fatal(err)
		}
		if p.ID == "" || p.CreatedAt.IsZero() || p.Domains != 2 {
			t.Fatalf("created %+v", p)
		}
		got, err := s.GetMailProvider(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := *p
		want.Mailboxes = 0
		if *got != want {
			t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
		}

		// Names are unique regardless of case.
		if err := s.CreateMailProvider(ctx, &MailProvider{Name: "CORP", Type: "imap"}); fieldError(err, "name") != crm.ErrDuplicate {
			t.Fatalf("second CORP: %v", err)
		}
		other := mkMailProvider(t, s, "Other", "corp.example", "other.example") // corp.example stays Corp's
		if other.Domains != 1 {
			t.Errorf("other mapped %d domains, want 1", other.Domains)
		}
		if d, err := s.GetMailDomain(ctx, "corp.example"); err != nil || d.ProviderID != p.ID || d.ProviderName != "Corp" {
			t.Errorf("corp.example → %+v, %v", d, err)
		}
		other.Name = "corp"
		if err := s.UpdateMailProvider(ctx, other); fieldError(err, "name") != crm.ErrDuplicate {
			t.Errorf("rename onto Corp: %v", err)
		}

		// Update replaces the fields.
		p.Type, p.ExchangeURL, p.ExchangeLoad = "imap", "", false
		p.IMAPHost, p.IMAPPort, p.IMAPSecurity = "imap.corp.example", 143, "starttls"
		p.Auth, p.ClientID, p.ClientSecret = "basic", "", ""
		if err := s.UpdateMailProvider(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetMailProvider(ctx, p.ID)
		if got.Type != "imap" || got.IMAPPort != 143 || got.ClientSecret != "" || got.ExchangeLoad || got.UpdatedAt.Before(got.CreatedAt) {
			t.Errorf("after update %+v", got)
		}
		if err := s.UpdateMailProvider(ctx, &MailProvider{ID: "nope", Name: "x", Type: "imap"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("update unknown: %v", err)
		}

		list, err := s.ListMailProviders(ctx)
		if err != nil || len(list) != 2 || list[0].Name != "Corp" || list[1].Name != "Other" {
			t.Fatalf("list %+v, %v", list, err)
		}
		if got, err := s.MailProviderByDomain(ctx, "other.example"); err != nil || got.ID != other.ID {
			t.Errorf("by domain: %+v, %v", got, err)
		}
		if _, err := s.MailProviderByDomain(ctx, "nowhere.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("by unknown domain: %v", err)
		}

		// Deleting takes the domains along.
		if err := s.DeleteMailProvider(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetMailDomain(ctx, "other.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("domain of a deleted provider: %v", err)
		}
		if err := s.DeleteMailProvider(ctx, other.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete twice: %v", err)
		}
	})
}

func TestMailProviderInUse(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		p := mkMailProvider(t, s, "Corp", "corp.example")
		conn := mkMailbox(t, s, alice.UserID, p.ID, "alice@corp.example")
		mkMailbox(t, s, alice.UserID, p.ID, "alice2@corp.example")

		err := s.DeleteMailProvider(ctx, p.ID)
		var inUse *ProviderInUseError
		if !errors.Is(err, ErrProviderInUse) || !errors.As(err, &inUse) || inUse.Mailboxes != 2 {
			t.Fatalf("delete in use: %v", err)
		}
		if got, err := s.GetMailProvider(ctx, p.ID); err != nil || got.Mailboxes != 2 || got.Domains != 1 {
			t.Fatalf("after a refused delete: %+v, %v", got, err)
		}
		// The key is the backstop: the row cannot go behind the check's back.
		if _, err := s.w.ExecContext(ctx, `DELETE FROM mail_providers WHERE id = $1`, p.ID); !isForeignKey(err) {
			t.Errorf("raw delete of a provider in use: %v", err)
		}
		// Without its mailboxes (a connection removed takes its mailbox) it goes.
		if err := s.DeleteConnection(ctx, alice.UserID, conn); err != nil {
			t.Fatal(err)
		}
		if _, err := s.w.ExecContext(ctx, `DELETE FROM mailboxes WHERE provider_id = $1`, p.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteMailProvider(ctx, p.ID); err != nil {
			t.Fatalf("delete unused: %v", err)
		}
	})
}

func TestMailDomains(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a := mkMailProvider(t, s, "A")
		b := mkMailProvider(t, s, "B")
		d, err := s.AddMailDomain(ctx, "a.example", a.ID)
		if err != nil || d.Domain != "a.example" || d.ProviderID != a.ID || d.ProviderName != "A" {
			t.Fatalf("add %+v, %v", d, err)
		}
		if _, err := s.AddMailDomain(ctx, "a.example", b.ID); fieldError(err, "domain") != crm.ErrDuplicate {
			t.Errorf("same domain again: %v", err)
		}
		if _, err := s.AddMailDomain(ctx, "x.example", "nope"); fieldError(err, "provider_id") != crm.ErrUnknownEnum {
			t.Errorf("unknown provider: %v", err)
		}
		if _, err := s.AddMailDomain(ctx, "b.example", b.ID); err != nil {
			t.Fatal(err)
		}
		all, err := s.ListMailDomains(ctx, "")
		if err != nil || len(all) != 2 || all[0].Domain != "a.example" || all[1].ProviderName != "B" {
			t.Fatalf("all domains %+v, %v", all, err)
		}
		if bs, _ := s.ListMailDomains(ctx, b.ID); len(bs) != 1 || bs[0].Domain != "b.example" {
			t.Errorf("B's domains %+v", bs)
		}

		// Learn: the first pick holds; again is a no-op; an unknown
		// provider is not found.
		d, err = s.LearnMailDomain(ctx, "new.example", b.ID)
		if err != nil || d.ProviderID != b.ID {
			t.Fatalf("learn %+v, %v", d, err)
		}
		for _, pick := range []string{b.ID, a.ID} {
			if d, err := s.LearnMailDomain(ctx, "new.example", pick); err != nil || d.ProviderID != b.ID {
				t.Errorf("learn again with %s: %+v, %v", pick, d, err)
			}
		}
		if _, err := s.LearnMailDomain(ctx, "ghost.example", "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("learn for an unknown provider: %v", err)
		}

		// Concurrent picks of different providers for one new domain: one
		// mapping, and every caller is told the same one.
		var wg sync.WaitGroup
		got := make([]string, 8)
		errs := make([]error, 8)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pick := a.ID
				if i%2 == 1 {
					pick = b.ID
				}
				d, err := s.LearnMailDomain(ctx, "race.example", pick)
				errs[i] = err
				if err == nil {
					got[i] = d.ProviderID
				}
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil || got[i] != got[0] {
				t.Fatalf("concurrent learn %d: %s, %v (first %s)", i, got[i], errs[i], got[0])
			}
		}

		if err := s.DeleteMailDomain(ctx, "a.example"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteMailDomain(ctx, "a.example"); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete twice: %v", err)
		}
	})
}
