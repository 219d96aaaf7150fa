package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

func TestAccessEditor(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	team := s.NewRole(t, "Team")
	alice := s.NewUser(t, "alice@example.com")
	s.NewUser(t, "bob@example.com", team)
	var c struct{ ID string }
	alice.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Shared Person"}, 201, &c)

	ab := s.Browser(t, "alice@example.com", "user-password-1")
	bb := s.Browser(t, "bob@example.com", "user-password-1")
	if p := bb.Get(t, "/contacts/"+c.ID); p.Status != http.StatusNotFound {
		t.Fatalf("bob before sharing: %d", p.Status)
	}
	card := ab.Get(t, "/contacts/"+c.ID)
	if !strings.Contains(card.Body, `action="/contacts/`+c.ID+`/access"`) {
		t.Fatal("owner sees no access editor")
	}
	p := ab.Post(t, "/contacts/"+c.ID+"/access", url.Values{"role_id": {team}, "level": {"read"}})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Team") {
		t.Fatalf("share read: %d", p.Status)
	}
	card = bb.Get(t, "/contacts/"+c.ID)
	if card.Status != http.StatusOK || strings.Contains(card.Body, `/access"`) {
		t.Fatalf("bob (read) card: %d, editor shown: %v", card.Status, strings.Contains(card.Body, `/access"`))
	}
	if p := bb.Post(t, "/contacts/"+c.ID+"/access", url.Values{"role_id": {team}, "level": {"edit"}}); p.Status != http.StatusForbidden {
		t.Errorf("bob (read) changed access: %d", p.Status)
	}
	if p := ab.Post(t, "/contacts/"+c.ID+"/access", url.Values{"role_id": {"nope"}, "level": {"edit"}}); !strings.Contains(p.Body, "Access was not saved") {
		t.Error("unknown role accepted")
	}
	ab.Post(t, "/contacts/"+c.ID+"/access", url.Values{"role_id": {team}, "level": {"read"}, "remove": {team}})
	if p := bb.Get(t, "/contacts/"+c.ID); p.Status != http.StatusNotFound {
		t.Errorf("bob after removal: %d", p.Status)
	}
}
