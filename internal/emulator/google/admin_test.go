package google

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// TestAdmin drives the admin API as `tandem bench sync` does from another
// process, and checks each call against the in-process view.
func TestAdmin(t *testing.T) {
	e := newEnv(t)
	call := func(method, path string, body any, want int) map[string]any {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequestWithContext(e.ctx, method, e.url+path, rd)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		if resp.StatusCode != want {
			t.Fatalf("%s %s: status %d, want %d: %v", method, path, resp.StatusCode, want, out)
		}
		return out
	}
	const carol = "carol@example.com"
	call("POST", "/emulator/users", map[string]string{"email": carol, "name": "Carol"}, 200)
	if got := e.srv.Users(); len(got) != 3 || got[2] != carol {
		t.Fatalf("users %v", got)
	}
	g := call("POST", "/emulator/groups", map[string]string{"user": carol, "name": "Tandem"}, 200)["resourceName"].(string)
	person := func(given string) map[string]any {
		return map[string]any{"names": []any{map[string]any{"givenName": given}},
			"memberships": []any{map[string]any{"contactGroupMembership": map[string]any{"contactGroupResourceName": g}}}}
	}
	rns := call("POST", "/emulator/contacts", map[string]any{"user": carol, "persons": []any{person("A"), person("B"), person("C")}}, 200)["resourceNames"].([]any)
	if len(rns) != 3 || len(e.srv.People(carol)) != 3 {
		t.Fatalf("created %v; people %d", rns, len(e.srv.People(carol)))
	}
	if _, err := e.srv.CreateContact(carol, map[string]any{"names": []any{map[string]any{"givenName": "Outside"}}}); err != nil {
		t.Fatal(err)
	}
	if n := call("GET", "/emulator/contacts:count?user="+carol+"&group="+g, nil, 200)["count"]; n != 3.0 {
		t.Errorf("count in group %v, want 3", n)
	}
	if n := call("GET", "/emulator/contacts:count?user="+carol, nil, 200)["count"]; n != 4.0 {
		t.Errorf("count %v, want 4", n)
	}
	call("POST", "/emulator/contacts:update", map[string]any{"user": carol, "updates": []any{map[string]any{
		"resourceName": rns[1], "person": map[string]any{"organizations": []any{map[string]any{"title": "Boss"}}},
		"fields": []string{"organizations"}}}}, 200)
	p, _ := e.srv.Person(carol, rns[1].(string))
	if orgs, _ := p["organizations"].([]any); len(orgs) != 1 || orgs[0].(map[string]any)["title"] != "Boss" {
		t.Errorf("updated person %v", p)
	}
	call("POST", "/emulator/contacts:update", map[string]any{"user": carol, "updates": []any{map[string]any{
		"resourceName": "people/c0", "person": map[string]any{}, "fields": []string{"organizations"}}}}, 404)

	// The quota endpoints still answer beside these.
	q := map[string]any{"peopleCriticalWrites": 7.0}
	call("PUT", "/emulator/quotas", q, 200)
	if got := call("GET", "/emulator/quotas", nil, 200); got["peopleCriticalWrites"] != 7.0 {
		t.Errorf("quotas %v", got)
	}

	call("POST", "/emulator/auto-approve", map[string]string{"email": carol}, 200)
	if e.srv.oauth.autoApprove != carol {
		t.Errorf("auto-approve %q", e.srv.oauth.autoApprove)
	}
	if calls := call("GET", "/emulator/calls", nil, 200); len(calls) != 0 {
		t.Errorf("admin calls were counted as API calls: %v", calls)
	}
	call("POST", "/emulator/contacts", map[string]any{"user": "nobody@example.com", "persons": []any{person("X")}}, 400)
	call("POST", "/emulator/users", map[string]any{"email": carol, "bogus": 1}, 400)
	call("GET", "/emulator/nothing", nil, 404)
}
