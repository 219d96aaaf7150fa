package store

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/tandem-crm/tandem/internal/crm"
)

// A contact's birthday, company and addresses are written and read back
// by the single and the bulk create and by update, on both databases.
func TestContactDetails(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		addrs := []crm.Address{
			{Kind: "home", Street: "Тверская ул., 1\nкв. 5", City: "Москва", Region: "Москва", PostalCode: "125009", Country: "Россия"},
			{Kind: "work", City: "Berlin", Country: "Germany", Primary: true},
		}
		c := &crm.Contact{Name: "Анна", Company: "ООО Ромашка", Birthday: "--02-29", Addresses: addrs}
		if err := s.CreateContact(ctx, alice, c); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetContact(ctx, alice, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Company != "ООО Ромашка" || got.Birthday != "--02-29" || !reflect.DeepEqual(got.Addresses, addrs) {
			t.Fatalf("read back company %q birthday %q addresses %+v", got.Company, got.Birthday, got.Addresses)
		}
		if list, _, _ := s.ListContacts(ctx, alice, ContactFilter{Q: "ромашка"}); len(list) != 1 {
			t.Errorf("search by company found %d", len(list))
		}
		got.Birthday, got.Company = "1985-04-12", ""
		got.Addresses = []crm.Address{{Kind: "other", Street: "1 Main St"}}
		if err := s.UpdateContact(ctx, alice, got, got.Version); err != nil {
			t.Fatal(err)
		}
		again, _ := s.GetContact(ctx, alice, c.ID)
		want := []crm.Address{{Kind: "other", Street: "1 Main St", Primary: true}}
		if again.Company != "" || again.Birthday != "1985-04-12" || !reflect.DeepEqual(again.Addresses, want) {
			t.Fatalf("after update company %q birthday %q addresses %+v", again.Company, again.Birthday, again.Addresses)
		}
		bad := &crm.Contact{Name: "B", Birthday: "1985-02-30", Addresses: []crm.Address{{Kind: "home"}}}
		var ve *crm.ValidationError
		if err := s.CreateContact(ctx, alice, bad); !errors.As(err, &ve) || ve.Fields["birthday"] != crm.ErrDate ||
			ve.Fields["addresses[0].street"] != crm.ErrAddressRequired {
			t.Fatalf("invalid details: %v", err)
		}

		bulk := []*crm.Contact{
			{Name: "One", Company: "Globex", Birthday: "1970-01-01", Addresses: addrs},
			{Name: "Two"},
		}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.CreateContacts(ctx, alice, bulk) }); err != nil {
			t.Fatal(err)
		}
		cs, err := s.GetContacts(ctx, alice, []string{bulk[0].ID, bulk[1].ID})
		if err != nil || len(cs) != 2 {
			t.Fatalf("bulk read back %d, %v", len(cs), err)
		}
		for _, c := range cs {
			switch c.ID {
			case bulk[0].ID:
				if c.Company != "Globex" || c.Birthday != "1970-01-01" || !reflect.DeepEqual(c.Addresses, addrs) {
					t.Errorf("bulk contact %+v", c)
				}
			case bulk[1].ID:
				if c.Company != "" || c.Birthday != "" || c.Addresses != nil {
					t.Errorf("bulk contact without details %+v", c)
				}
			}
		}
	})
}

// AccountsNamed finds the accounts the viewer can read by folded name:
// the company rule's input.
func TestAccountsNamed(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		sales := mkRole(t, s, "Sales")
		alice := mkUser(t, s, "alice@example.com")
		bob := mkUser(t, s, "bob@example.com", sales)
		mk := func(name string, shared bool) string {
			a := &crm.Account{Name: name}
			if shared {
				a.Access = []crm.Grant{{RoleID: sales, Level: crm.AccessRead}}
			}
			if err := s.CreateAccount(ctx, alice, a); err != nil {
				t.Fatal(err)
			}
			return a.ID
		}
		shared := mk("Ёлка", true)
		mk("ёлка ", false)
		other := mk("Acme", true)
		for _, tt := range []struct {
			name string
			v    string
			want int
		}{{"елка", "alice", 2}, {"ЁЛКА", "bob", 1}, {"acme", "bob", 1}, {"Acme Inc", "alice", 0}} {
			v := alice
			if tt.v == "bob" {
				v = bob
			}
			ids, err := s.AccountsNamed(ctx, v, tt.name, 5)
			if err != nil || len(ids) != tt.want {
				t.Errorf("%s as %s: %v, %v; want %d", tt.name, tt.v, ids, err, tt.want)
			}
			if tt.v == "bob" && len(ids) == 1 && ids[0] != shared && ids[0] != other {
				t.Errorf("%s as bob: %v is not one bob can see", tt.name, ids)
			}
		}
	})
}

// A contact that loses its account to the account's deletion keeps the
// account's name as its company, unless it states its own.
func TestDeleteAccountKeepsCompany(t *testing.T) {
	eachDB(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		alice := mkUser(t, s, "alice@example.com")
		acc := &crm.Account{Name: "Initech"}
		if err := s.CreateAccount(ctx, alice, acc); err != nil {
			t.Fatal(err)
		}
		plain := &crm.Contact{Name: "Peter", AccountID: acc.ID}
		stated := &crm.Contact{Name: "Milton", AccountID: acc.ID, Company: "Initech Storage"}
		for _, c := range []*crm.Contact{plain, stated} {
			if err := s.CreateContact(ctx, alice, c); err != nil {
				t.Fatal(err)
			}
		}
		if got, _ := s.GetContact(ctx, alice, plain.ID); got.CompanyName() != "Initech" {
			t.Fatalf("company before delete %q", got.CompanyName())
		}
		if err := s.DeleteAccount(ctx, alice, acc.ID); err != nil {
			t.Fatal(err)
		}
		for c, want := range map[*crm.Contact]string{plain: "Initech", stated: "Initech Storage"} {
			got, err := s.GetContact(ctx, alice, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.AccountID != "" || got.Company != want || got.Version != 2 {
				t.Errorf("%s after account delete: account %q company %q version %d", got.Name, got.AccountID, got.Company, got.Version)
			}
		}
		if list, _, _ := s.ListContacts(ctx, alice, ContactFilter{Q: "initech"}); len(list) != 2 {
			t.Errorf("search by kept company found %d", len(list))
		}
	})
}
