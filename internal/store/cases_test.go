package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
)

func TestCaseCRUD(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := WithOrigin(context.Background(), "api")
		alice := mkUser(t, s, "alice@example.com")
		acc := &crm.Account{Name: "ООО Ромашка"}
		if err := s.CreateAccount(ctx, alice, acc); err != nil {
			t.Fatal(err)
		}
		c := &crm.Contact{Name: "Мария Иванова", AccountID: acc.ID}
		if err := s.CreateContact(ctx, alice, c); err != nil {
			t.Fatal(err)
		}
		tag := &crm.Tag{Name: "VIP", Kind: crm.TagCorporate}
		if err := s.SaveTag(ctx, alice, tag); err != nil {
			t.Fatal(err)
		}
		since, _ := s.LastChange(ctx)

		// The chat package's call: a case about the chat's contact.
		k := &crm.Case{Subject: " Не приходит счёт ", ContactID: c.ID, SourceChatID: "chat-1", Tags: []crm.TagRef{{ID: tag.ID}}}
		if err := s.CreateCase(ctx, alice, k); err != nil {
			t.Fatal(err)
		}
		if k.Number != 1 || k.Ref() != "CS-000001" || k.Status != crm.CaseNew || k.Priority != crm.CaseNormal ||
			k.AccountID != acc.ID || k.OwnerID != alice.UserID || k.CreatedBy != alice.UserID || k.ClosedAt != nil {
			t.Fatalf("created %+v", k)
		}
		got, err := s.GetCase(ctx, alice, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Subject != "Не приходит счёт" || got.Number != 1 || got.ContactName != "Мария Иванова" ||
			got.AccountName != "ООО Ромашка" || got.SourceChatID != "chat-1" || len(got.Tags) != 1 || got.Access == nil ||
			got.Version != 1 || !got.CreatedAt.Equal(k.CreatedAt) {
			t.Fatalf("read back %+v", got)
		}

		// Resolving stamps the closing time; closing keeps it; reopening
		// clears it. The source chat and number survive a caller that
		// does not send them.
		upd := &crm.Case{ID: k.ID, Subject: "Не приходит счёт", Status: crm.CaseResolved, Priority: crm.CaseHigh,
			ContactID: c.ID, AccountID: acc.ID, OwnerID: alice.UserID}
		if err := s.UpdateCase(ctx, alice, upd, 1); err != nil {
			t.Fatal(err)
		}
		if upd.Version != 2 || upd.ClosedAt == nil || upd.Number != 1 || upd.SourceChatID != "chat-1" || upd.CreatedBy != alice.UserID {
			t.Fatalf("resolved %+v", upd)
		}
		resolvedAt := *upd.ClosedAt
		upd.Status = crm.CaseClosed
		if err := s.UpdateCase(ctx, alice, upd, 2); err != nil {
			t.Fatal(err)
		}
		if upd.ClosedAt == nil || !upd.ClosedAt.Equal(resolvedAt) {
			t.Errorf("closing a resolved case moved its closing time: %v, was %v", upd.ClosedAt, resolvedAt)
		}
		if err := s.UpdateCase(ctx, alice, upd, 2); !errors.Is(err, ErrConflict) {
			t.Errorf("stale version: %v, want ErrConflict", err)
		}
		upd.Status = crm.CaseInProgress
		if err := s.UpdateCase(ctx, alice, upd, 0); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetCase(ctx, alice, k.ID)
		if got.ClosedAt != nil || got.Status != crm.CaseInProgress || got.Priority != crm.CaseHigh || len(got.Tags) != 1 ||
			got.Version != 4 || got.SourceChatID != "chat-1" {
			t.Errorf("reopened %+v", got)
		}
		if list, _, _ := s.ListCases(ctx, alice, CaseFilter{Q: "cs-000001"}); len(list) != 1 {
			t.Errorf("search by reference after update found %d", len(list))
		}

		// Bad input is a field error, and nothing is stored.
		var ve *crm.ValidationError
		for _, bad := range []struct {
			k     crm.Case
			field string
		}{
			{crm.Case{Subject: "x", Status: "reopened"}, "status"},
			{crm.Case{Subject: "x", Priority: "asap"}, "priority"},
			{crm.Case{Description: "no subject"}, "subject"},
			{crm.Case{Subject: "x", ContactID: "no-such-contact"}, "contact_id"},
			{crm.Case{Subject: "x", AccountID: "no-such-account"}, "account_id"},
			{crm.Case{Subject: "x", OwnerID: "no-such-user"}, "owner_id"},
			{crm.Case{Subject: "x", Tags: []crm.TagRef{{ID: "no-such-tag"}}}, "tags"},
		} {
			if err := s.CreateCase(ctx, alice, &bad.k); !errors.As(err, &ve) || ve.Fields[bad.field] == "" {
				t.Errorf("%+v: %v, want a %s error", bad.k, err, bad.field)
			}
		}
		// A rolled-back create (the tag fails after the number was taken)
		// gives its number back.
		next := &crm.Case{Subject: "Second"}
		if err := s.CreateCase(ctx, alice, next); err != nil || next.Number != 2 {
			t.Errorf("next number %d, %v; want 2", next.Number, err)
		}

		if err := s.DeleteCase(ctx, alice, k.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetCase(ctx, alice, k.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted case: %v", err)
		}
		if err := s.DeleteCase(ctx, alice, k.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleting again: %v", err)
		}
		changes, err := s.Changes(ctx, since, EntityCase, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ops []string
		for _, ch := range changes {
			if ch.EntityID == k.ID {
				ops = append(ops, ch.Op+"/"+ch.Origin)
			}
		}
		if fmt.Sprint(ops) != "[create/api update/api update/api update/api delete/api]" {
			t.Errorf("change log %v", ops)
		}
	})
}

func TestCaseRecordAccess(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		sales := mkRole(t, s, "Sales")
		alice := mkUser(t, s, "alice@example.com")
		bob := mkUser(t, s, "bob@example.com", sales)
		carol := mkUser(t, s, "carol@example.com")
		private := &crm.Contact{Name: "Private Person"}
		if err := s.CreateContact(ctx, alice, private); err != nil {
			t.Fatal(err)
		}
		k := &crm.Case{Subject: "Shared case", ContactID: private.ID, Access: []crm.Grant{{RoleID: sales, Level: crm.AccessRead}}}
		if err := s.CreateCase(ctx, alice, k); err != nil {
			t.Fatal(err)
		}

		// Carol has no access: the case does not exist for her.
		if _, err := s.GetCase(ctx, carol, k.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("carol reads: %v", err)
		}
		if list, _, _ := s.ListCases(ctx, carol, CaseFilter{}); len(list) != 0 {
			t.Errorf("carol lists %d", len(list))
		}
		if n, _ := s.CountCases(ctx, carol, CaseFilter{}); n != 0 {
			t.Errorf("carol counts %d", n)
		}
		if err := s.UpdateCase(ctx, carol, &crm.Case{ID: k.ID, Subject: "x"}, 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("carol updates: %v", err)
		}
		if err := s.DeleteCase(ctx, carol, k.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("carol deletes: %v", err)
		}
		if ok, err := s.Editable(ctx, carol, EntityCase, k.ID); ok || !errors.Is(err, ErrNotFound) {
			t.Errorf("carol editable: %v, %v", ok, err)
		}

		// Bob reads through his role, without the name of the contact
		// kept from him, and may not change it.
		got, err := s.GetCase(ctx, bob, k.ID)
		if err != nil {
			t.Fatalf("bob (read) cannot see: %v", err)
		}
		if got.ContactID != private.ID || got.ContactName != "" {
			t.Errorf("bob sees the private contact's name: %+v", got)
		}
		if ok, err := s.Editable(ctx, bob, EntityCase, k.ID); ok || err != nil {
			t.Errorf("bob (read) editable: %v, %v", ok, err)
		}
		got.Subject, got.ContactID = "Edited by Bob", ""
		if err := s.UpdateCase(ctx, bob, got, 0); !errors.Is(err, ErrForbidden) {
			t.Errorf("bob (read) updates: %v, want ErrForbidden", err)
		}
		if err := s.DeleteCase(ctx, bob, k.ID); !errors.Is(err, ErrForbidden) {
			t.Errorf("bob (read) deletes: %v, want ErrForbidden", err)
		}
		// Nor may he point a case at a contact he cannot see.
		var ve *crm.ValidationError
		if err := s.CreateCase(ctx, bob, &crm.Case{Subject: "Mine", ContactID: private.ID}); !errors.As(err, &ve) ||
			ve.Fields["contact_id"] != "error.not_found" {
			t.Errorf("invisible contact accepted: %v", err)
		}

		// With edit access he may.
		k.Access = []crm.Grant{{RoleID: sales, Level: crm.AccessEdit}}
		if err := s.UpdateCase(ctx, alice, k, 0); err != nil {
			t.Fatal(err)
		}
		// He may keep the contact he cannot see, not link it anew.
		got, _ = s.GetCase(ctx, bob, k.ID)
		got.Subject = "Edited by Bob"
		if err := s.UpdateCase(ctx, bob, got, got.Version); err != nil {
			t.Errorf("bob (edit) updates: %v", err)
		}
		if got, _ := s.GetCase(ctx, alice, k.ID); got.Subject != "Edited by Bob" || got.ContactID != private.ID || len(got.Access) != 1 {
			t.Errorf("after bob's edit %+v", got)
		}
		got.ContactID = ""
		if err := s.UpdateCase(ctx, bob, got, 0); err != nil {
			t.Fatal(err)
		}
		got.ContactID = private.ID
		if err := s.UpdateCase(ctx, bob, got, 0); !errors.As(err, &ve) || ve.Fields["contact_id"] != "error.not_found" {
			t.Errorf("bob relinks the invisible contact: %v", err)
		}
	})
}

func TestCaseFilters(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		team := mkRole(t, s, "Team")
		alice := mkUser(t, s, "alice@example.com", team)
		bob := mkUser(t, s, "bob@example.com")
		acc := &crm.Account{Name: "Acme"}
		s.CreateAccount(ctx, alice, acc)
		anna := &crm.Contact{Name: "Anna"}
		s.CreateContact(ctx, alice, anna)
		tag := &crm.Tag{Name: "Escalated"}
		s.SaveTag(ctx, alice, tag)
		mk := func(k crm.Case) *crm.Case {
			t.Helper()
			if err := s.CreateCase(ctx, alice, &k); err != nil {
				t.Fatal(err)
			}
			return &k
		}
		login := mk(crm.Case{Subject: "Не могу войти", ContactID: anna.ID, Priority: crm.CaseUrgent, SourceChatID: "chat-7"})
		invoice := mk(crm.Case{Subject: "Invoice is wrong", AccountID: acc.ID, Status: crm.CaseWaiting, OwnerID: bob.UserID,
			Access: []crm.Grant{{RoleID: team, Level: crm.AccessRead}}}) // alice reads it through her role
		done := mk(crm.Case{Subject: "Ёлка пришла сломанной", Status: crm.CaseClosed, Tags: []crm.TagRef{{ID: tag.ID}}})

		ids := func(ks []crm.Case) []string {
			var out []string
			for _, k := range ks {
				out = append(out, k.Subject)
			}
			return out
		}
		for _, tt := range []struct {
			name string
			f    CaseFilter
			want []*crm.Case // in the default order: newest first
		}{
			{"all", CaseFilter{}, []*crm.Case{done, invoice, login}},
			{"open", CaseFilter{Statuses: crm.OpenCaseStatuses}, []*crm.Case{invoice, login}},
			{"one status", CaseFilter{Statuses: []crm.CaseStatus{crm.CaseClosed}}, []*crm.Case{done}},
			{"priority", CaseFilter{Priority: crm.CaseUrgent}, []*crm.Case{login}},
			{"owner", CaseFilter{OwnerID: bob.UserID}, []*crm.Case{invoice}},
			{"contact", CaseFilter{ContactID: anna.ID}, []*crm.Case{login}},
			{"account", CaseFilter{AccountID: acc.ID}, []*crm.Case{invoice}},
			{"source chat", CaseFilter{SourceChatID: "chat-7"}, []*crm.Case{login}},
			{"tag", CaseFilter{TagID: tag.ID}, []*crm.Case{done}},
			{"cyrillic search", CaseFilter{Q: "ВОЙТИ"}, []*crm.Case{login}},
			{"ё folds to е", CaseFilter{Q: "елка"}, []*crm.Case{done}},
			{"reference", CaseFilter{Q: invoice.Ref()}, []*crm.Case{invoice}},
			{"number digits", CaseFilter{Q: "000003"}, []*crm.Case{done}},
			{"combined", CaseFilter{Statuses: crm.OpenCaseStatuses, Q: "invoice"}, []*crm.Case{invoice}},
			{"no match", CaseFilter{Q: "%"}, nil},
			{"oldest", CaseFilter{Sort: CaseSortOldest}, []*crm.Case{login, invoice, done}},
			{"subject", CaseFilter{Sort: CaseSortSubject}, []*crm.Case{invoice, done, login}}, // i < е < н
		} {
			list, next, err := s.ListCases(ctx, alice, tt.f)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			var want []string
			for _, k := range tt.want {
				want = append(want, k.Subject)
			}
			if got := ids(list); !slices.Equal(got, want) || next != "" {
				t.Errorf("%s: %q (next %q), want %q", tt.name, got, next, want)
			}
			if n, err := s.CountCases(ctx, alice, tt.f); err != nil || n != len(tt.want) {
				t.Errorf("%s: count %d, %v; want %d", tt.name, n, err, len(tt.want))
			}
		}
		// The contact's card lists its cases, with the total.
		of, total, err := s.CasesOfContact(ctx, alice, anna.ID, 10)
		if err != nil || len(of) != 1 || total != 1 || of[0].ID != login.ID {
			t.Errorf("cases of contact: %d of %d, %v", len(of), total, err)
		}
		if _, _, err := s.ListCases(ctx, alice, CaseFilter{Sort: "priority"}); !errors.Is(err, crm.ErrUnknownValue) {
			t.Errorf("unknown order: %v", err)
		}
	})
}

// Every order pages through all cases once, in order, whatever the page
// boundaries; ties of the sort key are broken by id.
func TestCasePaging(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		c := &crm.Contact{Name: "Many"}
		s.CreateContact(ctx, alice, c)
		for i := range 115 {
			// 40 distinct subjects: ties span page boundaries.
			if err := s.CreateCase(ctx, alice, &crm.Case{Subject: fmt.Sprintf("Case %02d", i%40), ContactID: c.ID}); err != nil {
				t.Fatal(err)
			}
		}
		for _, sort := range CaseSorts {
			seen := map[string]bool{}
			var keys []crm.Case
			cursor, pages := "", 0
			for {
				list, next, err := s.ListCases(ctx, alice, CaseFilter{ContactID: c.ID, Sort: sort, Page: Page{Limit: 50, Cursor: cursor}})
				if err != nil {
					t.Fatalf("%s: %v", sort, err)
				}
				pages++
				for _, k := range list {
					if seen[k.ID] {
						t.Fatalf("%s: %s on two pages", sort, k.Ref())
					}
					seen[k.ID] = true
				}
				keys = append(keys, list...)
				if next == "" {
					break
				}
				cursor = next
			}
			if len(seen) != 115 || pages != 3 {
				t.Errorf("%s: %d cases in %d pages", sort, len(seen), pages)
			}
			if !slices.IsSortedFunc(keys, func(a, b crm.Case) int { return compareCases(sort, &a, &b) }) {
				t.Errorf("%s: out of order", sort)
			}
		}
		if _, total, err := s.CasesOfContact(ctx, alice, c.ID, 20); total != 115 || err != nil {
			t.Errorf("total %d, %v", total, err)
		}
		if _, _, err := s.ListCases(ctx, alice, CaseFilter{Page: Page{Cursor: "!!"}}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("bad cursor: %v", err)
		}
		if _, _, err := s.ListCases(ctx, alice, CaseFilter{Page: Page{Cursor: encodeCursor("x", "y")}}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("text key for a numeric order: %v", err)
		}
	})
}

func compareCases(sort CaseSort, a, b *crm.Case) int {
	switch sort {
	case CaseSortOldest:
		return int(a.Number - b.Number)
	case CaseSortUpdated:
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return -cmpString(a.ID, b.ID)
	case CaseSortSubject:
		if c := cmpString(crm.Fold(a.Subject), crm.Fold(b.Subject)); c != 0 {
			return c
		}
		return cmpString(a.ID, b.ID)
	default:
		return int(b.Number - a.Number)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Deleting a contact or an account keeps its cases, unlinked.
func TestCaseOnDeleteSetNull(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		acc := &crm.Account{Name: "Acme"}
		s.CreateAccount(ctx, alice, acc)
		c := &crm.Contact{Name: "Leaving", AccountID: acc.ID}
		s.CreateContact(ctx, alice, c)
		k := &crm.Case{Subject: "Stays", ContactID: c.ID}
		if err := s.CreateCase(ctx, alice, k); err != nil {
			t.Fatal(err)
		}
		if k.AccountID != acc.ID {
			t.Fatalf("account not taken from the contact: %q", k.AccountID)
		}
		if err := s.DeleteContact(ctx, alice, c.ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetCase(ctx, alice, k.ID)
		if err != nil || got.ContactID != "" || got.ContactName != "" || got.AccountID != acc.ID {
			t.Fatalf("after contact delete: %+v, %v", got, err)
		}
		if err := s.DeleteAccount(ctx, alice, acc.ID); err != nil {
			t.Fatal(err)
		}
		got, err = s.GetCase(ctx, alice, k.ID)
		if err != nil || got.AccountID != "" || got.Subject != "Stays" {
			t.Fatalf("after account delete: %+v, %v", got, err)
		}
		// It can still be saved.
		if err := s.UpdateCase(ctx, alice, got, got.Version); err != nil {
			t.Errorf("update after unlinking: %v", err)
		}
	})
}

// Concurrent creates get distinct numbers with no gaps, on both databases.
func TestCaseNumbersConcurrent(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		const n = 40
		nums := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k := &crm.Case{Subject: fmt.Sprintf("Parallel %d", i)}
				errs[i] = s.CreateCase(ctx, alice, k)
				nums[i] = k.Number
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		slices.Sort(nums)
		for i, got := range nums {
			if got != int64(i+1) {
				t.Fatalf("numbers %v, want 1..%d", nums, n)
			}
		}
	})
}
