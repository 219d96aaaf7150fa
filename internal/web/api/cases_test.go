package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

type caseJSON struct {
	ID           string  `json:"id"`
	Number       string  `json:"number"`
	Subject      string  `json:"subject"`
	Status       string  `json:"status"`
	Priority     string  `json:"priority"`
	ContactID    *string `json:"contact_id"`
	ContactName  string  `json:"contact_name"`
	AccountID    *string `json:"account_id"`
	AccountName  string  `json:"account_name"`
	SourceChatID *string `json:"source_chat_id"`
	CreatedBy    string  `json:"created_by"`
	ClosedAt     *string `json:"closed_at"`
	Tags         []struct {
		ID string `json:"id"`
	} `json:"tags"`
	Version int64 `json:"version"`
}

func TestCasesCRUD(t *testing.T) {
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		a := s.Admin
		var acc, c struct{ ID string }
		a.JSON(t, "POST", "/api/v1/accounts", map[string]any{"name": "ООО Ромашка"}, 201, &acc)
		a.JSON(t, "POST", "/api/v1/contacts", map[string]any{"name": "Мария Иванова", "account_id": acc.ID}, 201, &c)

		var k caseJSON
		r := a.JSON(t, "POST", "/api/v1/cases", map[string]any{"subject": "Не приходит счёт", "contact_id": c.ID,
			"priority": "high", "source_chat_id": "chat-42"}, 201, &k)
		if r.Header.Get("Location") != "/api/v1/cases/"+k.ID || r.Header.Get("ETag") != `"1"` {
			t.Errorf("headers %v", r.Header)
		}
		if k.Number != "CS-000001" || k.Status != "new" || k.Priority != "high" || k.ContactName != "Мария Иванова" ||
			k.AccountID == nil || *k.AccountID != acc.ID || k.AccountName != "ООО Ромашка" || k.SourceChatID == nil ||
			*k.SourceChatID != "chat-42" || k.CreatedBy != a.UserID || k.ClosedAt != nil || k.Version != 1 {
			t.Fatalf("created %+v", k)
		}
		var other caseJSON
		a.JSON(t, "POST", "/api/v1/cases", map[string]any{"subject": "Другой вопрос", "status": "waiting"}, 201, &other)
		if other.Number != "CS-000002" || other.ContactID != nil || other.AccountID != nil || other.SourceChatID != nil {
			t.Errorf("second case %+v", other)
		}

		var found page[caseJSON]
		for query, want := range map[string]string{
			"q=" + url.QueryEscape("СЧЁТ"):               k.ID,
			"q=CS-000002":                                other.ID,
			"status=new":                                 k.ID,
			"status=waiting&status=resolved":             other.ID,
			"contact_id=" + c.ID:                         k.ID,
			"account_id=" + acc.ID:                       k.ID,
			"source_chat_id=chat-42":                     k.ID,
			"priority=high":                              k.ID,
			"sort=oldest&limit=1":                        k.ID,
			"sort=newest&limit=1":                        other.ID,
			"owner_id=" + a.UserID + "&sort=subject&q=в": other.ID,
		} {
			a.JSON(t, "GET", "/api/v1/cases?"+query, nil, 200, &found)
			if len(found.Items) != 1 || found.Items[0].ID != want {
				t.Errorf("GET ?%s: %+v, want %s only", query, found.Items, want)
			}
		}

		// Resolve: closed_at is stamped; a stale If-Match is refused and
		// changes nothing.
		a.JSON(t, "PATCH", "/api/v1/cases/"+k.ID, map[string]any{"status": "resolved"}, 200, &k)
		if k.Version != 2 || k.Status != "resolved" || k.ClosedAt == nil || k.Number != "CS-000001" {
			t.Fatalf("patched %+v", k)
		}
		r = a.Do(t, "PATCH", "/api/v1/cases/"+k.ID, map[string]any{"subject": "Stale"}, "If-Match", `"1"`)
		if r.Status != http.StatusPreconditionFailed || decodeProblem(t, r).Code != "conflict" {
			t.Fatalf("stale If-Match: %d %s", r.Status, r.Body)
		}
		a.JSON(t, "PATCH", "/api/v1/cases/"+k.ID, map[string]any{"status": "in_progress", "contact_id": ""}, 200, &k)
		if k.ClosedAt != nil || k.Subject != "Не приходит счёт" || k.ContactID != nil || k.AccountID == nil {
			t.Errorf("reopened %+v", k)
		}
		a.JSON(t, "DELETE", "/api/v1/cases/"+k.ID, nil, 204, nil)
		decodeProblem(t, a.JSON(t, "GET", "/api/v1/cases/"+k.ID, nil, 404, nil))
		decodeProblem(t, a.JSON(t, "DELETE", "/api/v1/cases/"+k.ID, nil, 404, nil))

		var changes struct {
			Items []struct {
				EntityID string `json:"entity_id"`
				Op       string `json:"op"`
			} `json:"items"`
		}
		a.JSON(t, "GET", "/api/v1/changes?since=0&entity=case", nil, 200, &changes)
		var ops []string
		for _, ch := range changes.Items {
			if ch.EntityID == k.ID {
				ops = append(ops, ch.Op)
			}
		}
		if fmt.Sprint(ops) != "[create update update delete]" {
			t.Errorf("change log %v", ops)
		}
	})
}

func TestCasesBadInput(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	a := s.Admin
	var k caseJSON
	a.JSON(t, "POST", "/api/v1/cases", map[string]any{"subject": "Exists", "source_chat_id": "chat-1"}, 201, &k)
	long := strings.Repeat("я", 201)
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		field, code              string
	}{
		{"unknown status", "POST", "/api/v1/cases", `{"subject":"x","status":"reopened"}`, 400, "status", "unknown_value"},
		{"unknown priority", "POST", "/api/v1/cases", `{"subject":"x","priority":"asap"}`, 400, "priority", "unknown_value"},
		{"missing subject", "POST", "/api/v1/cases", `{"description":"x"}`, 400, "subject", "required"},
		{"blank subject", "POST", "/api/v1/cases", `{"subject":"  "}`, 400, "subject", "required"},
		{"long subject", "POST", "/api/v1/cases", `{"subject":"` + long + `"}`, 400, "subject", "too_long"},
		{"bad contact id", "POST", "/api/v1/cases", `{"subject":"x","contact_id":"nope"}`, 400, "contact_id", "not_found"},
		{"bad account id", "POST", "/api/v1/cases", `{"subject":"x","account_id":"nope"}`, 400, "account_id", "not_found"},
		{"bad owner", "POST", "/api/v1/cases", `{"subject":"x","owner_id":"nope"}`, 400, "owner_id", "not_found"},
		{"wrong type", "POST", "/api/v1/cases", `{"subject":"x","status":1}`, 400, "status", "wrong_type"},
		{"unknown field", "POST", "/api/v1/cases", `{"subject":"x","number":"CS-000009"}`, 400, "number", "unknown_field"},
		{"patch unknown status", "PATCH", "/api/v1/cases/" + k.ID, `{"status":"done"}`, 400, "status", "unknown_value"},
		{"patch source chat", "PATCH", "/api/v1/cases/" + k.ID, `{"source_chat_id":"chat-2"}`, 400, "source_chat_id", "read_only"},
		{"wrong version", "PATCH", "/api/v1/cases/" + k.ID, `{"subject":"y"}`, 412, "", "conflict"},
		{"malformed If-Match", "PATCH", "/api/v1/cases/" + k.ID, `{"subject":"y"}`, 400, "If-Match", "invalid"},
		{"filter unknown status", "GET", "/api/v1/cases?status=open", ``, 400, "status", "unknown_value"},
		{"filter unknown priority", "GET", "/api/v1/cases?priority=asap", ``, 400, "priority", "unknown_value"},
		{"unknown sort", "GET", "/api/v1/cases?sort=priority", ``, 400, "sort", "unknown_value"},
		{"bad cursor", "GET", "/api/v1/cases?cursor=%21%21", ``, 400, "cursor", "invalid"},
		{"text cursor of a numeric order", "GET", "/api/v1/cases?cursor=eAB5", ``, 400, "cursor", "invalid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			switch tt.name {
			case "wrong version":
				headers = []string{"If-Match", `"7"`}
			case "malformed If-Match":
				headers = []string{"If-Match", `"seven"`}
			}
			var body any
			if tt.body != "" {
				body = tt.body
			}
			r := a.Do(t, tt.method, tt.path, body, headers...)
			if r.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tt.status, r.Body)
			}
			p := decodeProblem(t, r)
			if tt.field == "" {
				if p.Code != tt.code {
					t.Errorf("code %q, want %q", p.Code, tt.code)
				}
				return
			}
			if p.Code != "form" || p.fields()[tt.field] != tt.code {
				t.Errorf("problem %+v: want %s=%s", p, tt.field, tt.code)
			}
			for _, e := range p.Errors {
				if e.Message == "" || strings.HasPrefix(e.Message, "error.") {
					t.Errorf("untranslated message %+v", e)
				}
			}
		})
	}
	// Nothing was stored, the case is unchanged, and no number was used.
	var list page[caseJSON]
	a.JSON(t, "GET", "/api/v1/cases", nil, 200, &list)
	if len(list.Items) != 1 || list.Items[0].Subject != "Exists" || list.Items[0].Version != 1 {
		t.Errorf("after bad requests: %+v", list.Items)
	}
	var next caseJSON
	a.JSON(t, "POST", "/api/v1/cases", map[string]any{"subject": "Next"}, 201, &next)
	if next.Number != "CS-000002" {
		t.Errorf("next number %s", next.Number)
	}
	// Russian callers get Russian messages.
	r := a.Do(t, "POST", "/api/v1/cases", `{"status":"reopened"}`, "Accept-Language", "ru")
	if p := decodeProblem(t, r); p.fields()["status"] != "unknown_value" || !hasCyrillic(p.Errors[0].Message) {
		t.Errorf("ru problem %+v", p)
	}
}

func TestCasesRights(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	sales := s.NewRole(t, "Sales")
	alice := s.NewUser(t, "alice@example.com", sales)
	bob := s.NewUser(t, "bob@example.com")
	var k caseJSON
	alice.JSON(t, "POST", "/api/v1/cases", map[string]any{"subject": "Alice's case"}, 201, &k)
	for _, method := range []string{"GET", "PATCH", "DELETE"} {
		var body any
		if method == "PATCH" {
			body = map[string]any{"subject": "Stolen"}
		}
		if r := bob.Do(t, method, "/api/v1/cases/"+k.ID, body); r.Status != http.StatusNotFound {
			t.Errorf("bob %s: %d, want 404", method, r.Status)
		}
	}
	var list page[caseJSON]
	bob.JSON(t, "GET", "/api/v1/cases", nil, 200, &list)
	if len(list.Items) != 0 {
		t.Errorf("bob lists %d cases", len(list.Items))
	}
	alice.JSON(t, "PATCH", "/api/v1/cases/"+k.ID, map[string]any{"access": []any{map[string]string{"role_id": sales, "level": "read"}}}, 200, nil)
	s.Admin.JSON(t, "PATCH", "/api/v1/users/"+bob.UserID, map[string]any{"role_ids": []string{sales}}, 200, nil)
	bob.JSON(t, "GET", "/api/v1/cases/"+k.ID, nil, 200, nil)
	decodeProblem(t, bob.JSON(t, "PATCH", "/api/v1/cases/"+k.ID, map[string]any{"subject": "x"}, 403, nil))
	decodeProblem(t, bob.JSON(t, "DELETE", "/api/v1/cases/"+k.ID, nil, 403, nil))
}

func TestCasesPaging(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	for i := range 25 {
		s.Admin.JSON(t, "POST", "/api/v1/cases", map[string]any{"subject": fmt.Sprintf("Case %02d", i)}, 201, nil)
	}
	for _, sort := range []string{"newest", "oldest", "updated", "subject"} {
		seen := map[string]bool{}
		path := "/api/v1/cases?limit=10&sort=" + sort
		for pages := 1; ; pages++ {
			var p page[caseJSON]
			s.Admin.JSON(t, "GET", path, nil, 200, &p)
			for _, k := range p.Items {
				if seen[k.ID] {
					t.Fatalf("%s: %s twice", sort, k.Number)
				}
				seen[k.ID] = true
			}
			if p.NextCursor == nil {
				if pages != 3 {
					t.Errorf("%s: %d pages", sort, pages)
				}
				break
			}
			path = "/api/v1/cases?limit=10&sort=" + sort + "&cursor=" + url.QueryEscape(*p.NextCursor)
		}
		if len(seen) != 25 {
			t.Errorf("%s: saw %d", sort, len(seen))
		}
	}
}
