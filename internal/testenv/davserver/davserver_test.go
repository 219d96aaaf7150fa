package davserver

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServers starts each server, creates collections, stores an object,
// restarts the server and finds the object again; a wrong password is
// refused.
func TestServers(t *testing.T) {
	for _, kind := range Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := Start(t, kind)
			ab, err := s.CreateAddressBook(ctx, "contacts", "Contacts")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateCalendar(ctx, "work", "Work", "VEVENT", "VTODO"); err != nil {
				t.Fatal(err)
			}
			card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Ann Example\r\nN:Example;Ann;;;\r\nEND:VCARD\r\n"
			if _, err := s.Put(ctx, ab+"u1.vcf", "text/vcard", []byte(card)); err != nil {
				t.Fatal(err)
			}
			if err := s.Restart(); err != nil {
				t.Fatal(err)
			}
			if got := get(t, ab+"u1.vcf", s.User(), s.Password()); got != http.StatusOK {
				t.Fatalf("GET after restart: %d", got)
			}
			if got := get(t, ab+"u1.vcf", s.User(), "wrong"); got != http.StatusUnauthorized {
				t.Fatalf("GET with a wrong password: %d, want 401", got)
			}
		})
	}
}

func get(t *testing.T, u, user, pass string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && !strings.Contains(string(b), "Ann Example") {
		t.Fatalf("GET %s: %s", u, b)
	}
	return resp.StatusCode
}
