package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/chat/chattest"
	"github.com/tandem-crm/tandem/internal/emulator/google"
	"github.com/tandem-crm/tandem/internal/mail"
	"github.com/tandem-crm/tandem/internal/oauth"
	"github.com/tandem-crm/tandem/internal/oauth/oauthtest"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

// replacement is U+FFFD as encoding/json writes it: what invalid UTF-8
// became when it was silently rewritten and stored.
var replacement = []byte("\uFFFD")

// TestInvalidUTF8EveryBody sends text that is not UTF-8 in a field of the
// body of every operation that takes one: each answers 400 naming the
// field, and nothing is stored. The same body with valid text is then
// accepted, so the field is one the endpoint takes. The list of operations
// is checked against the OpenAPI document (itself checked against the
// router), so a new endpoint with a body fails here until it has a case.
func TestInvalidUTF8EveryBody(t *testing.T) {
	eachDB(t, func(t *testing.T, s *tandemtest.Server) {
		ctx := context.Background()
		a := s.Admin
		g := oauthtest.New(t, google.Options{}, s.URL+oauth.GoogleCallbackPath)
		if err := g.Configure(ctx, s.App.Settings); err != nil {
			t.Fatal(err)
		}
		g.AddUser("utf8@gmail.com", "UTF-8")
		g.SetAutoApprove("utf8@gmail.com")
		calendar, err := g.CreateCalendar("utf8@gmail.com", "Work", "UTC")
		if err != nil {
			t.Fatal(err)
		}
		s.Browser(t, tandemtest.AdminEmail, tandemtest.AdminPassword).Post(t, "/oauth/google/start", nil)
		conns, err := s.App.Store.ListConnections(ctx, a.UserID)
		if err != nil || len(conns) != 1 {
			t.Fatalf("connections %v %v", conns, err)
		}
		conn := "/api/v1/connections/" + conns[0].ID

		id := func(method, path, body string) string {
			var out struct{ ID string }
			a.JSON(t, method, path, body, http.StatusCreated, &out)
			return out.ID
		}
		contact := id("POST", "/api/v1/contacts", `{"name":"Fixture"}`)
		account := id("POST", "/api/v1/accounts", `{"name":"Fixture"}`)
		activity := id("POST", "/api/v1/activities", `{"title":"Fixture"}`)
		kase := id("POST", "/api/v1/cases", `{"subject":"Fixture"}`)
		tag := id("POST", "/api/v1/tags", `{"name":"Fixture"}`)
		group := id("POST", "/api/v1/groups", `{"name":"Fixture","entity":"contact"}`)
		user := id("POST", "/api/v1/users", `{"email":"fixture@example.com","password":"user-password-1"}`)
		role := id("POST", "/api/v1/roles", `{"name":"Fixture","operations":[]}`)
		from := time.Now().UTC().AddDate(0, -1, 0).Format("2006-01-02")
		provider := id("POST", "/api/v1/mail/providers", `{"name":"Fixture","type":"imap","imap_host":"imap.f.example","smtp_host":"smtp.f.example"}`)
		s.App.Mailboxes.Verify = func(context.Context, mail.Endpoints) error { return nil } // no servers here
		mailbox := id("POST", "/api/v1/mailboxes", `{"address":"fixture@f.example","provider_id":"`+provider+`","password":"p","shared":true}`)
		// A chat the admin holds, on a channel of a fake kind.
		s.App.Chat.Use(&chattest.Adapter{})
		queue := id("POST", "/api/v1/chat/queues", `{"name":"Fixture","members":[{"kind":"user","id":"`+a.UserID+`"}]}`)
		otherQueue := id("POST", "/api/v1/chat/queues", `{"name":"Fixture 2"}`)
		chatAction := id("POST", "/api/v1/chat/actions", `{"name":"Fixture","process":"create_case"}`)
		channel, err := s.App.Chat.CreateChannel(ctx, chat.NewChannel{Kind: chat.KindTelegram, ExternalID: "1", Name: "Fixture",
			QueueID: queue, ContactOwnerID: a.UserID, Secret: map[string]string{"token": "t"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.App.Chat.Receive(ctx, channel, chat.Inbound{ID: "1", Address: "c1", Text: "hi", Customer: chat.Customer{ID: "c1"}}); err != nil {
			t.Fatal(err)
		}
		s.App.Chat.WaitRouted()
		open, err := s.App.Store.OpenChatAt(ctx, channel.ID, "c1")
		if err != nil {
			t.Fatal(err)
		}
		a.JSON(t, "POST", "/api/v1/chats/"+open.ID+"/accept", nil, http.StatusOK, nil)
		chatPath := "/api/v1/chats/" + open.ID

		// body holds %s where the text goes: valid, or valid with bytes
		// that are not UTF-8 appended. read is what would show a stored
		// change.
		tests := []struct {
			op, path, body, valid, field string
			want                         int // status of the valid body
			read                         string
		}{
			{"POST /api/v1/auth/token", "/api/v1/auth/token",
				`{"email":"` + tandemtest.AdminEmail + `","password":"` + tandemtest.AdminPassword + `","name":"%s"}`,
				"Zqx token", "name", 201, "/api/v1/tokens"},
			{"POST /api/v1/tokens", "/api/v1/tokens", `{"name":"%s"}`, "Zqx token", "name", 201, "/api/v1/tokens"},
			{"POST /api/v1/contacts", "/api/v1/contacts", `{"name":"x","phones":[{"number":"+1 555 0100"},{"number":"%s"}]}`,
				"+1 555 0101", "phones[1].number", 201, "/api/v1/contacts"},
			{"PATCH /api/v1/contacts/{id}", "/api/v1/contacts/" + contact, `{"name":"%s"}`, "Zqx name", "name", 200,
				"/api/v1/contacts/" + contact},
			{"POST /api/v1/accounts", "/api/v1/accounts", `{"name":"%s"}`, "Zqx name", "name", 201, "/api/v1/accounts"},
			{"PATCH /api/v1/accounts/{id}", "/api/v1/accounts/" + account, `{"name":"%s"}`, "Zqx name", "name", 200,
				"/api/v1/accounts/" + account},
			{"POST /api/v1/activities", "/api/v1/activities", `{"title":"%s"}`, "Zqx title", "title", 201, "/api/v1/activities"},
			{"PATCH /api/v1/activities/{id}", "/api/v1/activities/" + activity, `{"location":"%s"}`, "Zqx place", "location", 200,
				"/api/v1/activities/" + activity},
			{"POST /api/v1/cases", "/api/v1/cases", `{"subject":"%s"}`, "Zqx subject", "subject", 201, "/api/v1/cases"},
			{"PATCH /api/v1/cases/{id}", "/api/v1/cases/" + kase, `{"description":"%s"}`, "Zqx text", "description", 200,
				"/api/v1/cases/" + kase},
			{"POST /api/v1/tags", "/api/v1/tags", `{"name":"%s"}`, "Zqx name", "name", 201, "/api/v1/tags"},
			{"PATCH /api/v1/tags/{id}", "/api/v1/tags/" + tag, `{"name":"%s"}`, "Zqx other", "name", 200, "/api/v1/tags"},
			{"POST /api/v1/groups", "/api/v1/groups", `{"name":"%s","entity":"contact"}`, "Zqx name", "name", 201, "/api/v1/groups"},
			{"PATCH /api/v1/groups/{id}", "/api/v1/groups/" + group, `{"name":"%s"}`, "Zqx other", "name", 200, "/api/v1/groups"},
			{"POST /api/v1/groups/{id}/members", "/api/v1/groups/" + group + "/members", `{"ids":["%s"]}`, contact, "ids[0]", 200,
				"/api/v1/groups/" + group},
			{"DELETE /api/v1/groups/{id}/members", "/api/v1/groups/" + group + "/members", `{"ids":["%s"]}`, contact, "ids[0]", 200,
				"/api/v1/groups/" + group},
			{"POST /api/v1/users", "/api/v1/users", `{"email":"new@example.com","password":"user-password-1","name":"%s"}`,
				"Zqx name", "name", 201, "/api/v1/users"},
			{"PATCH /api/v1/users/{id}", "/api/v1/users/" + user, `{"name":"%s"}`, "Zqx name", "name", 200, "/api/v1/users/" + user},
			{"POST /api/v1/roles", "/api/v1/roles", `{"name":"%s","operations":[]}`, "Zqx name", "name", 201, "/api/v1/roles"},
			{"PATCH /api/v1/roles/{id}", "/api/v1/roles/" + role, `{"description":"%s"}`, "Zqx text", "description", 200,
				"/api/v1/roles/" + role},
			{"PUT /api/v1/settings/{code}", "/api/v1/settings/GoogleApplicationName", `{"value":"%s"}`, "Zqx app", "value", 200,
				"/api/v1/settings/GoogleApplicationName"},
			{"PUT /api/v1/connections/{id}/contacts", conn + "/contacts", `{"group_name":"%s"}`, "Zqx group", "group_name", 200,
				conn + "/contacts"},
			{"PUT /api/v1/connections/{id}/calendar", conn + "/calendar", `{"enabled":true,"calendar_id":"%s"}`, calendar,
				"calendar_id", 200, conn + "/calendar"},
			{"PUT /api/v1/connections/{id}/sync/{kind}", conn + "/sync/contact", `{"settings":{"group_name":"%s"}}`,
				"Zqx group 2", "settings.group_name", 200, conn + "/sync/contact"},
			{"POST /api/v1/mail/providers", "/api/v1/mail/providers",
				`{"name":"%s","type":"imap","imap_host":"imap.z.example","smtp_host":"smtp.z.example"}`, "Zqx mail", "name", 201,
				"/api/v1/mail/providers"},
			{"PATCH /api/v1/mail/providers/{id}", "/api/v1/mail/providers/" + provider, `{"name":"%s"}`, "Zqx mail 2", "name", 200,
				"/api/v1/mail/providers/" + provider},
			{"POST /api/v1/mail/providers/from-preset", "/api/v1/mail/providers/from-preset", `{"preset":"yahoo","name":"%s"}`,
				"Zqx Yahoo", "name", 201, "/api/v1/mail/providers"},
			{"POST /api/v1/mail/domains", "/api/v1/mail/domains", `{"domain":"%s","provider_id":"` + provider + `"}`, "zqx.example",
				"domain", 201, "/api/v1/mail/domains"},
			{"POST /api/v1/mailboxes", "/api/v1/mailboxes", `{"address":"%s","provider_id":"` + provider + `","password":"p"}`,
				"zqx@f.example", "address", 201, "/api/v1/mailboxes"},
			{"PATCH /api/v1/mailboxes/{id}", "/api/v1/mailboxes/" + mailbox, `{"alias":"%s"}`, "Zqx alias", "alias", 200,
				"/api/v1/mailboxes/" + mailbox},
			{"PUT /api/v1/mailboxes/{id}/grants", "/api/v1/mailboxes/" + mailbox + "/grants",
				`{"grants":[{"grantee_kind":"user","grantee_id":"%s","read":true}]}`, user, "grants[0].grantee_id", 200,
				"/api/v1/mailboxes/" + mailbox + "/grants"},
			// Sending needs a mail server (tested end to end elsewhere): here the
			// valid text still fails validation, as the admin has no mailbox.
			{"POST /api/v1/letters", "/api/v1/letters", `{"mailbox_id":"none","to":["x@example.com"],"subject":"%s"}`, "Zqx subject",
				"subject", 400, "/api/v1/letters"},
			// Password accounts: no DAV server here, so the valid text is
			// refused by the verification (unreachable), the Google
			// connection's by its provider (no password accounts).
			{"POST /api/v1/connections", "/api/v1/connections",
				`{"provider":"dav","url":"http://127.0.0.1:1/","username":"%s","password":"p"}`, "Zqx user", "username", 422,
				"/api/v1/connections"},
			{"PUT /api/v1/connections/{id}/credentials", conn + "/credentials", `{"password":"%s"}`, "Zqx pass", "password", 400,
				"/api/v1/connections"},
			{"POST /api/v1/connections/{id}/calendar/resync", conn + "/calendar/resync", `{"from":"%s"}`, from, "from", 202,
				conn + "/calendar"},
			{"POST /api/v1/chat/queues", "/api/v1/chat/queues", `{"name":"%s"}`, "Zqx queue", "name", 201, "/api/v1/chat/queues"},
			{"PATCH /api/v1/chat/queues/{id}", "/api/v1/chat/queues/" + otherQueue, `{"name":"%s"}`, "Zqx queue 2", "name", 200,
				"/api/v1/chat/queues/" + otherQueue},
			{"PATCH /api/v1/chat/channels/{id}", "/api/v1/chat/channels/" + channel.ID, `{"name":"%s"}`, "Zqx bot", "name", 200,
				"/api/v1/chat/channels/" + channel.ID},
			{"POST /api/v1/chat/actions", "/api/v1/chat/actions", `{"name":"%s","process":"create_case"}`, "Zqx action", "name", 201,
				"/api/v1/chat/actions"},
			{"PATCH /api/v1/chat/actions/{id}", "/api/v1/chat/actions/" + chatAction, `{"name":"%s"}`, "Zqx action 2", "name", 200,
				"/api/v1/chat/actions/" + chatAction},
			{"POST /api/v1/chats/{id}/messages", chatPath + "/messages", `{"text":"%s"}`, "Zqx reply", "text", 201, chatPath},
			{"POST /api/v1/chats/{id}/transfer", chatPath + "/transfer", `{"queue_id":"%s"}`, otherQueue, "queue_id", 204, chatPath},
			// The status takes no text: the bad bytes go in a field the
			// decoder refuses anyway.
			{"PUT /api/v1/chat/status", "/api/v1/chat/status", `{"active":true,"note":"%s"}`, "Zqx", "note", 400, "/api/v1/chat/status"},
		}

		var covered []string
		for _, tt := range tests {
			covered = append(covered, tt.op)
			t.Run(tt.op, func(t *testing.T) {
				before := snapshot(t, a, tt.read)
				bad := fmt.Sprintf(tt.body, tt.valid+"\xff\xfe")
				r := a.Do(t, methodOf(tt.op), tt.path, bad)
				if r.Status != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
				}
				if p := decodeProblem(t, r); p.fields()[tt.field] != "invalid_utf8" || len(p.Errors) != 1 {
					t.Errorf("errors %+v, want %s=invalid_utf8", p.Errors, tt.field)
				}
				if after := snapshot(t, a, tt.read); !bytes.Equal(after, before) {
					t.Errorf("GET %s changed:\n%s\n→\n%s", tt.read, before, after)
				}
				if r := a.Do(t, methodOf(tt.op), tt.path, fmt.Sprintf(tt.body, tt.valid)); r.Status != tt.want {
					t.Fatalf("valid text: status %d, want %d: %s", r.Status, tt.want, r.Body)
				}
			})
		}

		// Every operation with a JSON request body has a case (a photo's
		// body is an image: bytes, not text).
		var doc struct {
			Paths map[string]map[string]struct {
				RequestBody *struct {
					Content map[string]json.RawMessage `json:"content"`
				} `json:"requestBody"`
			} `json:"paths"`
		}
		a.JSON(t, "GET", "/api/v1/openapi.json", nil, http.StatusOK, &doc)
		for path, item := range doc.Paths {
			for method, o := range item {
				key := strings.ToUpper(method) + " " + path
				if o.RequestBody == nil {
					continue
				}
				if _, text := o.RequestBody.Content["application/json"]; text && !slices.Contains(covered, key) {
					t.Errorf("%s takes a body but has no invalid UTF-8 case", key)
				}
			}
		}
	})
}

// TestInvalidUTF8Where checks the path named for bad text in various
// places of a body, and that nothing is stored for any of them.
func TestInvalidUTF8Where(t *testing.T) {
	s := tandemtest.Start(t, tandemtest.Options{})
	a := s.Admin
	before := snapshot(t, a, "/api/v1/contacts")
	tests := []struct {
		name, body, field string
		headers           []string
	}{
		{"top-level field", "{\"name\":\"Bad \xff\xfe name\"}", "name", nil},
		{"nested field", "{\"name\":\"x\",\"emails\":[{\"address\":\"a@example.com\"},{\"address\":\"b\xc3@example.com\"}]}",
			"emails[1].address", nil},
		{"truncated sequence at the end of a string", "{\"name\":\"x\",\"job_title\":\"\xe2\x82\"}", "job_title", nil},
		{"after other values", "{\"name\":\"x\",\"emails\":[{\"address\":\"a@example.com\",\"primary\":true}],\"phones\":[],\"notes\":\"\xed\xa0\x80\"}",
			"notes", nil},
		{"lone high surrogate escape", `{"name":"Bad \ud800 name"}`, "name", nil},
		{"lone low surrogate escape", `{"name":"x","job_title":"\uDC00"}`, "job_title", nil},
		{"high surrogate escape at the end", `{"name":"x\ud83d"}`, "name", nil},
		{"key", "{\"na\xffme\":\"x\"}", "body", nil},
		{"outside any string", "{\"name\":\"x\"}\xff", "body", nil},
		{"the whole body", "\xff\xfe", "body", nil},
		{"body sent as a form (curl -d)", "{\"name\":\"Bad \xff name\"}", "name",
			[]string{"Content-Type", "application/x-www-form-urlencoded"}},
		{"Russian message", "{\"name\":\"Bad \xff name\"}", "name", []string{"Accept-Language", "ru"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.Do(t, "POST", "/api/v1/contacts", tt.body, tt.headers...)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Status, r.Body)
			}
			p := decodeProblem(t, r)
			if p.fields()[tt.field] != "invalid_utf8" || len(p.Errors) != 1 {
				t.Fatalf("errors %+v, want %s=invalid_utf8", p.Errors, tt.field)
			}
			msg := p.Errors[0].Message
			if msg == "" || strings.HasPrefix(msg, "error.") || slices.Contains(tt.headers, "ru") != hasCyrillic(msg) {
				t.Errorf("message %q", msg)
			}
		})
	}
	if after := snapshot(t, a, "/api/v1/contacts"); !bytes.Equal(after, before) {
		t.Errorf("contacts changed:\n%s\n→\n%s", before, after)
	}
	// Valid surrogate pairs and a U+FFFD the client meant are text.
	var c contact
	a.JSON(t, "POST", "/api/v1/contacts", `{"name":"Emoji \ud83d\ude00 \ufffd \\ud800"}`, http.StatusCreated, &c)
	if c.Name != "Emoji 😀 \uFFFD \\ud800" {
		t.Errorf("name %q", c.Name)
	}
	// A body sent as a form is read as JSON (the body is not eaten by form
	// parsing on the way).
	r := a.Do(t, "POST", "/api/v1/contacts", `{"name":"Sent by curl"}`, "Content-Type", "application/x-www-form-urlencoded")
	if r.Status != http.StatusCreated {
		t.Errorf("form-typed JSON body: %d %s", r.Status, r.Body)
	}
}

func methodOf(op string) string { m, _, _ := strings.Cut(op, " "); return m }

// snapshot reads path as the admin, leaving out last_used_at (which the
// reads themselves move), and fails if any text in it is U+FFFD.
func snapshot(t *testing.T, c *tandemtest.Client, path string) []byte {
	t.Helper()
	var v any
	c.JSON(t, "GET", path, nil, http.StatusOK, &v)
	var drop func(v any)
	drop = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "last_used_at")
			for _, e := range v {
				drop(e)
			}
		case []any:
			for _, e := range v {
				drop(e)
			}
		}
	}
	drop(v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, replacement) || bytes.Contains(b, []byte(`\ufffd`)) {
		t.Errorf("GET %s holds U+FFFD: %s", path, b)
	}
	return b
}
