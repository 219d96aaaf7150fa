package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/chat/chattest"
	"github.com/tandem-crm/tandem/internal/settings"
	"github.com/tandem-crm/tandem/internal/testenv/tandemtest"
)

type chatOut struct {
	ID          string  `json:"id"`
	Status      string  `json:"status"`
	QueueID     string  `json:"queue_id"`
	OperatorID  string  `json:"operator_id"`
	ContactID   string  `json:"contact_id"`
	LastMessage string  `json:"last_message"`
	AcceptBy    *string `json:"accept_by"`
	Messages    []struct {
		ID        string `json:"id"`
		Direction string `json:"direction"`
		Body      string `json:"body"`
		State     string `json:"state"`
		Error     string `json:"error"`
	} `json:"messages"`
}

type chatQueueOut struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	Routing           string `json:"routing"`
	CompletionMinutes *int   `json:"completion_minutes"`
	Members           []struct {
		Kind, ID, Name string
	} `json:"members"`
}

// TestChatAPI: the chat set-up for chat managers (403 for others), and an
// operator's day through the API: the panel, accepting (losing the race is
// 409), replying (a refused reply is 502 and stays in the history),
// completing, the status.
func TestChatAPI(t *testing.T) {
	eachDB(t, testChatAPI)
}

func testChatAPI(t *testing.T, s *tandemtest.Server) {
	ctx := context.Background()
	ad := &chattest.Adapter{}
	s.App.Chat.Use(ad)
	manager := s.NewUser(t, "manager@example.com", s.NewRole(t, "Chat managers", access.OpManageChats))
	ann := s.NewUser(t, "ann@example.com")
	bob := s.NewUser(t, "bob@example.com")
	carol := s.NewUser(t, "carol@example.com")

	// Only chat managers touch the set-up; an administrator without the
	// operation neither.
	admin := s.NewUser(t, "admin2@example.com", s.NewRole(t, "Admins", access.OpManageAdministration))
	for _, c := range []*tandemtest.Client{carol, admin} {
		for _, path := range []string{"/api/v1/chat/queues", "/api/v1/chat/channels", "/api/v1/chat/actions", "/api/v1/chat/operators"} {
			if r := c.Do(t, "GET", path, nil); r.Status != http.StatusForbidden || decodeProblem(t, r).Code != "forbidden" {
				t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
			}
		}
		if r := c.Do(t, "POST", "/api/v1/chat/queues", map[string]any{"name": "X"}); r.Status != http.StatusForbidden {
			t.Errorf("POST queue: %d", r.Status)
		}
	}

	// Queues: validation, then one "to all" with Ann and Bob.
	r := manager.Do(t, "POST", "/api/v1/chat/queues", map[string]any{"name": " ", "routing": "sideways", "completion_minutes": -5,
		"members": []map[string]any{{"kind": "user", "id": ann.UserID}}})
	if r.Status != http.StatusBadRequest {
		t.Fatalf("bad queue: %d %s", r.Status, r.Body)
	}
	if f := decodeProblem(t, r).fields(); f["name"] != "required" || f["routing"] != "unknown_value" || f["completion_minutes"] != "out_of_range" {
		t.Errorf("bad queue fields %v", f)
	}
	r = manager.Do(t, "POST", "/api/v1/chat/queues", map[string]any{"name": "Support", "members": []map[string]any{{"kind": "team", "id": "x"}}})
	if f := decodeProblem(t, r).fields(); f["members"] != "unknown_value" {
		t.Errorf("bad member: %d %v", r.Status, f)
	}
	var q chatQueueOut
	r = manager.JSON(t, "POST", "/api/v1/chat/queues", map[string]any{"name": "Support", "completion_minutes": 30,
		"members": []map[string]any{{"kind": "user", "id": ann.UserID}, {"kind": "user", "id": bob.UserID}}}, http.StatusCreated, &q)
	if r.Header.Get("Location") != "/api/v1/chat/queues/"+q.ID || q.Routing != "all" || q.CompletionMinutes == nil ||
		*q.CompletionMinutes != 30 || len(q.Members) != 2 {
		t.Errorf("created %+v at %s", q, r.Header.Get("Location"))
	}
	r = manager.Do(t, "POST", "/api/v1/chat/queues", map[string]any{"name": "Support"})
	if f := decodeProblem(t, r).fields(); f["name"] != "duplicate" {
		t.Errorf("duplicate: %d %v", r.Status, f)
	}
	manager.JSON(t, "PATCH", "/api/v1/chat/queues/"+q.ID, map[string]any{"completion_minutes": 0}, http.StatusOK, &q)
	if q.CompletionMinutes != nil || q.Name != "Support" || len(q.Members) != 2 {
		t.Errorf("patched %+v", q)
	}

	ch, err := s.App.Chat.CreateChannel(ctx, chat.NewChannel{Kind: chat.KindTelegram, ExternalID: "777", Name: "@shop_bot",
		QueueID: q.ID, ContactOwnerID: s.Admin.UserID, Secret: map[string]string{"token": "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.Chat.Receive(ctx, ch, chat.Inbound{ID: "1", Address: "c1", Text: "Where is my parcel?",
		Customer: chat.Customer{ID: "c1", Name: "Ivan"}}); err != nil {
		t.Fatal(err)
	}
	s.App.Chat.WaitRouted()

	// The panel: the chat waits for Ann and Bob, not for Carol.
	var panel page[chatOut]
	ann.JSON(t, "GET", "/api/v1/chats", nil, http.StatusOK, &panel)
	if len(panel.Items) != 1 || panel.Items[0].Status != "queued" || panel.Items[0].LastMessage != "Where is my parcel?" {
		t.Fatalf("ann's panel %+v", panel.Items)
	}
	id := panel.Items[0].ID
	carol.JSON(t, "GET", "/api/v1/chats", nil, http.StatusOK, &panel)
	if len(panel.Items) != 0 {
		t.Errorf("carol's panel %+v", panel.Items)
	}
	if r := carol.Do(t, "GET", "/api/v1/chats/"+id, nil); r.Status != http.StatusNotFound {
		t.Errorf("carol opens the chat: %d", r.Status)
	}
	if r := carol.Do(t, "POST", "/api/v1/chats/"+id+"/accept", nil); r.Status != http.StatusNotFound {
		t.Errorf("carol accepts: %d", r.Status)
	}

	// The contact's chats: for who may read the contact.
	contactID := panel0ContactID(t, ann, id)
	var history page[chatOut]
	s.Admin.JSON(t, "GET", "/api/v1/contacts/"+contactID+"/chats", nil, http.StatusOK, &history)
	if len(history.Items) != 1 || history.Items[0].ID != id {
		t.Errorf("contact's chats %+v", history.Items)
	}
	if r := carol.Do(t, "GET", "/api/v1/contacts/"+contactID+"/chats", nil); r.Status != http.StatusNotFound {
		t.Errorf("contact's chats for someone who may not read it: %d", r.Status)
	}

	var c chatOut
	ann.JSON(t, "POST", "/api/v1/chats/"+id+"/accept", nil, http.StatusOK, &c)
	if c.Status != "active" || c.OperatorID != ann.UserID || len(c.Messages) < 2 {
		t.Errorf("accepted %+v", c)
	}
	r = bob.Do(t, "POST", "/api/v1/chats/"+id+"/accept", nil)
	if r.Status != http.StatusConflict || decodeProblem(t, r).Code != "chat_taken" {
		t.Errorf("bob's accept: %d %s", r.Status, r.Body)
	}

	// Replies.
	var m struct {
		ID, Direction, Body, State string
	}
	ann.JSON(t, "POST", "/api/v1/chats/"+id+"/messages", map[string]any{"text": "It ships today."}, http.StatusCreated, &m)
	if m.State != "sent" || m.Direction != "out" || m.Body != "It ships today." {
		t.Errorf("reply %+v", m)
	}
	if r := ann.Do(t, "POST", "/api/v1/chats/"+id+"/messages", map[string]any{"text": " "}); decodeProblem(t, r).fields()["text"] != "required" {
		t.Errorf("empty reply: %d %s", r.Status, r.Body)
	}
	if r := bob.Do(t, "POST", "/api/v1/chats/"+id+"/messages", map[string]any{"text": "hi"}); r.Status != http.StatusForbidden {
		t.Errorf("bob replies: %d", r.Status)
	}
	ad.Fail(&chat.SendError{Code: "blocked", Err: errors.New("403 bot was blocked by the user")})
	r = ann.Do(t, "POST", "/api/v1/chats/"+id+"/messages", map[string]any{"text": "Hello?"})
	var sp struct {
		Status    int    `json:"status"`
		Code      string `json:"code"`
		Reason    string `json:"reason"`
		Detail    string `json:"detail"`
		MessageID string `json:"message_id"`
	}
	if r.Status != http.StatusBadGateway || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("refused reply: %d %s", r.Status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &sp); err != nil {
		t.Fatal(err)
	}
	if sp.Code != "chat_send_failed" || sp.Reason != "blocked" || sp.MessageID == "" || sp.Detail == "" || sp.Status != 502 {
		t.Errorf("refused reply problem %+v", sp)
	}
	ann.JSON(t, "GET", "/api/v1/chats/"+id, nil, http.StatusOK, &c)
	last := c.Messages[len(c.Messages)-1]
	if last.ID != sp.MessageID || last.State != "failed" || last.Error != "blocked" || last.Body != "Hello?" {
		t.Errorf("refused reply in the history %+v", last)
	}

	// Transfer needs exactly one target.
	if r := ann.Do(t, "POST", "/api/v1/chats/"+id+"/transfer", map[string]any{}); decodeProblem(t, r).fields()["operator_id"] == "" {
		t.Errorf("transfer without a target: %d %s", r.Status, r.Body)
	}
	if r := ann.Do(t, "POST", "/api/v1/chats/"+id+"/transfer", map[string]any{"queue_id": "nope"}); decodeProblem(t, r).fields()["queue_id"] != "unknown_value" {
		t.Errorf("transfer to an unknown queue: %d %s", r.Status, r.Body)
	}
	var act struct{ ID, Secret string }
	manager.JSON(t, "POST", "/api/v1/chat/actions", map[string]any{"name": "Create case", "process": "create_case"}, http.StatusCreated, &act)
	var ran struct {
		CaseID string `json:"case_id"`
	}
	ann.JSON(t, "POST", "/api/v1/chats/"+id+"/actions/"+act.ID, nil, http.StatusOK, &ran)
	if ran.CaseID == "" {
		t.Errorf("create case made no case")
	}
	if r := ann.Do(t, "POST", "/api/v1/chats/"+id+"/actions/nope", nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown action: %d %s", r.Status, r.Body)
	}

	ann.JSON(t, "POST", "/api/v1/chats/"+id+"/complete", nil, http.StatusOK, &c)
	if c.Status != "completed" {
		t.Errorf("completed %+v", c)
	}
	if r := ann.Do(t, "POST", "/api/v1/chats/"+id+"/complete", nil); r.Status != http.StatusOK {
		t.Errorf("completing again: %d", r.Status)
	}

	// Status.
	var st struct {
		Active   bool     `json:"active"`
		Load     int      `json:"load"`
		Capacity int      `json:"capacity"`
		QueueIDs []string `json:"queue_ids"`
	}
	ann.JSON(t, "PUT", "/api/v1/chat/status", map[string]any{"active": false}, http.StatusOK, &st)
	if st.Active || st.Load != 0 || st.Capacity != 2 || len(st.QueueIDs) != 1 || st.QueueIDs[0] != q.ID {
		t.Errorf("status %+v", st)
	}
	if r := ann.Do(t, "PUT", "/api/v1/chat/status", map[string]any{}); decodeProblem(t, r).fields()["active"] != "required" {
		t.Errorf("status without active: %d", r.Status)
	}

	// Channels: a channel with chats is only deactivated; the queue it
	// routes to stays.
	var chOut struct {
		ID, Name, Health string
		Active           bool
		Chats            int
	}
	manager.JSON(t, "PATCH", "/api/v1/chat/channels/"+ch.ID, map[string]any{"name": "Shop", "active": false}, http.StatusOK, &chOut)
	if chOut.Name != "Shop" || chOut.Active || chOut.Chats != 1 || chOut.Health != "ok" {
		t.Errorf("patched channel %+v", chOut)
	}
	if r := manager.Do(t, "PATCH", "/api/v1/chat/channels/"+ch.ID, map[string]any{"queue_id": "nope"}); decodeProblem(t, r).fields()["queue_id"] != "unknown_value" {
		t.Errorf("channel to an unknown queue: %d %s", r.Status, r.Body)
	}
	if r := manager.Do(t, "DELETE", "/api/v1/chat/channels/"+ch.ID, nil); r.Status != http.StatusConflict || decodeProblem(t, r).Code != "chat_channel_has_chats" {
		t.Errorf("delete channel with chats: %d %s", r.Status, r.Body)
	}
	if r := manager.Do(t, "DELETE", "/api/v1/chat/queues/"+q.ID, nil); r.Status != http.StatusConflict || decodeProblem(t, r).Code != "chat_queue_in_use" {
		t.Errorf("delete queue in use: %d %s", r.Status, r.Body)
	}

	// Actions: a webhook needs its URL and secret; the secret is shown
	// masked.
	r = manager.Do(t, "POST", "/api/v1/chat/actions", map[string]any{"name": "Notify", "process": "webhook"})
	if f := decodeProblem(t, r).fields(); f["url"] != "required" || f["secret"] != "required" {
		t.Errorf("webhook without url: %v", f)
	}
	const secret = "a-long-signing-secret-42"
	manager.JSON(t, "POST", "/api/v1/chat/actions", map[string]any{"name": "Notify", "process": "webhook", "queue_id": q.ID,
		"url": "https://example.com/hook", "secret": secret}, http.StatusCreated, &act)
	if act.Secret != settings.Mask(secret) {
		t.Errorf("secret shown as %q", act.Secret)
	}
	manager.JSON(t, "PATCH", "/api/v1/chat/actions/"+act.ID, map[string]any{"name": "Notify CRM"}, http.StatusOK, &act)
	if act.Secret != settings.Mask(secret) {
		t.Errorf("secret after a patch %q", act.Secret)
	}
	var acts page[struct{ ID, Name string }]
	manager.JSON(t, "GET", "/api/v1/chat/actions?queue_id="+q.ID, nil, http.StatusOK, &acts)
	if len(acts.Items) != 2 {
		t.Errorf("actions of the queue %+v", acts.Items)
	}
	manager.JSON(t, "DELETE", "/api/v1/chat/actions/"+act.ID, nil, http.StatusNoContent, nil)
	if r := manager.Do(t, "GET", "/api/v1/chat/actions/"+act.ID, nil); r.Status != http.StatusNotFound {
		t.Errorf("deleted action: %d", r.Status)
	}
	var ops page[struct {
		UserID string `json:"user_id"`
		Active bool   `json:"active"`
	}]
	manager.JSON(t, "GET", "/api/v1/chat/operators", nil, http.StatusOK, &ops)
	if len(ops.Items) == 0 {
		t.Error("no operators listed")
	}
}

// panel0ContactID reads the contact of chat id.
func panel0ContactID(t *testing.T, c *tandemtest.Client, id string) string {
	t.Helper()
	var out chatOut
	c.JSON(t, "GET", "/api/v1/chats/"+id, nil, http.StatusOK, &out)
	if out.ContactID == "" {
		t.Fatal("the chat has no contact")
	}
	return out.ContactID
}
