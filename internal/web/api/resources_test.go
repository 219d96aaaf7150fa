package api_test

import (
	"net/http"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// Every record resource follows the same access rules: invisible records
// are 404 for every verb, read access allows GET only (403 for changes),
// the owner may change and delete.
func TestEveryResourceAccess(t *testing.T) {
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		team := s.NewRole(t, "Team")
		alice := s.NewUser(t, "alice@example.com")
		bob := s.NewUser(t, "bob@example.com", team)
		share := map[string]any{"access": []any{map[string]string{"role_id": team, "level": "read"}}}
		resources := []struct {
			path          string
			create, patch map[string]any
		}{
			{"/api/v1/contacts", map[string]any{"name": "C"}, map[string]any{"job_title": "CEO"}},
			{"/api/v1/accounts", map[string]any{"name": "A"}, map[string]any{"industry": "Retail"}},
			{"/api/v1/activities", map[string]any{"title": "T", "start": "2026-05-01T09:00:00Z", "end": "2026-05-01T10:00:00Z"}, map[string]any{"status": "completed"}},
			{"/api/v1/groups", map[string]any{"name": "G", "entity": "contact"}, map[string]any{"name": "G2"}},
		}
		for _, res := range resources {
			t.Run(res.path[len("/api/v1/"):], func(t *testing.T) {
				var rec struct{ ID string }
				alice.JSON(t, "POST", res.path, res.create, http.StatusCreated, &rec)
				item := res.path + "/" + rec.ID
				for _, m := range []string{"GET", "PATCH", "DELETE"} {
					if r := bob.Do(t, m, item, res.patch); r.Status != http.StatusNotFound {
						t.Errorf("bob %s without access: %d", m, r.Status)
					}
				}
				alice.JSON(t, "PATCH", item, share, http.StatusOK, nil)
				bob.JSON(t, "GET", item, nil, http.StatusOK, nil)
				bob.JSON(t, "PATCH", item, res.patch, http.StatusForbidden, nil)
				bob.JSON(t, "DELETE", item, nil, http.StatusForbidden, nil)
				alice.JSON(t, "PATCH", item, res.patch, http.StatusOK, nil)
				alice.JSON(t, "DELETE", item, nil, http.StatusNoContent, nil)
				alice.JSON(t, "GET", item, nil, http.StatusNotFound, nil)
			})
		}
	})
}

func TestTagsRolesUsersLifecycle(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	a := s.Admin
	var tag struct{ ID, Name, Kind, Color string }
	a.JSON(t, "POST", "/api/v1/tags", map[string]any{"name": "Lead"}, 201, &tag)
	if tag.Kind != "personal" || tag.Color != "gray" {
		t.Errorf("tag defaults %+v", tag)
	}
	a.JSON(t, "PATCH", "/api/v1/tags/"+tag.ID, map[string]any{"name": "Hot lead", "color": "orange"}, 200, &tag)
	if tag.Name != "Hot lead" || tag.Color != "orange" {
		t.Errorf("patched tag %+v", tag)
	}
	a.JSON(t, "PATCH", "/api/v1/tags/"+tag.ID, map[string]any{"kind": "public"}, 400, nil)
	a.JSON(t, "DELETE", "/api/v1/tags/"+tag.ID, nil, 204, nil)
	a.JSON(t, "GET", "/api/v1/tags/"+tag.ID, nil, 404, nil)

	var role struct {
		ID         string
		Operations []string
	}
	a.JSON(t, "POST", "/api/v1/roles", map[string]any{"name": "Operators", "operations": []string{"CanManageChats"}}, 201, &role)
	a.JSON(t, "PATCH", "/api/v1/roles/"+role.ID, map[string]any{"operations": []string{"CanManageChats", "CanConnectSharedMailbox"}}, 200, &role)
	if len(role.Operations) != 2 {
		t.Errorf("role ops %v", role.Operations)
	}
	op := s.NewUser(t, "op@example.com", role.ID)
	var me struct {
		Ops []string `json:"effective_operations"`
	}
	op.JSON(t, "GET", "/api/v1/me", nil, 200, &me)
	if len(me.Ops) != 2 {
		t.Errorf("operations through role: %v", me.Ops)
	}
	a.JSON(t, "POST", "/api/v1/users", map[string]any{"email": "op@example.com", "password": "long-enough-1"}, 400, nil)
	a.JSON(t, "POST", "/api/v1/users", map[string]any{"email": "new@example.com", "password": "short"}, 400, nil)
	a.JSON(t, "PATCH", "/api/v1/users/"+op.UserID, map[string]any{"active": false}, 200, nil)
	op.JSON(t, "GET", "/api/v1/me", nil, 401, nil)
	a.JSON(t, "PATCH", "/api/v1/users/"+a.UserID, map[string]any{"active": false}, 400, nil)
	a.JSON(t, "DELETE", "/api/v1/roles/"+role.ID, nil, 204, nil)
	a.JSON(t, "GET", "/api/v1/roles/"+role.ID, nil, 404, nil)
}
