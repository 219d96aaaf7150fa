package chat

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/store"
)

// CaseCreator makes the built-in "Create case" action's case: a case for
// the chat's contact, linked to the chat, owned by the operator.
type CaseCreator interface {
	CreateCaseFromChat(ctx context.Context, v access.Viewer, chatID, contactID, subject string) (caseID string, err error)
}

// HTTPDoer posts a webhook action.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

// Errors of running actions.
var (
	ErrActionUnavailable = errors.New("action not available in this chat")
	ErrNoCases           = errors.New("cases are not available")
	// ErrActionFailed: the company's webhook did not accept the call.
	ErrActionFailed = errors.New("the action's webhook refused the call")
)

// SignatureHeader carries a webhook action's signature: "sha256=" and the
// hex HMAC-SHA256 of the raw body with the action's secret.
const SignatureHeader = "X-Tandem-Signature-256"

// RunAction runs an action from a chat the operator v holds (or may see,
// for a chat manager): "Create case" makes a case for the chat's contact;
// a webhook action POSTs {"action","chat_id","contact_id","operator_id",
// "at"} signed with the action's secret.
func (s *Service) RunAction(ctx context.Context, v access.Viewer, chatID, actionID string) (ActionResult, error) {
	c, err := s.st.GetChat(ctx, chatID)
	if err != nil {
		return ActionResult{}, err
	}
	ok, err := s.CanSee(ctx, v, c)
	if err != nil {
		return ActionResult{}, err
	}
	if !ok {
		return ActionResult{}, store.ErrNotFound
	}
	actions, err := s.st.ChatActions(ctx, c.QueueID)
	if err != nil {
		return ActionResult{}, err
	}
	var act *store.ChatAction
	for i := range actions {
		if actions[i].ID == actionID {
			act = &actions[i]
		}
	}
	if act == nil {
		return ActionResult{}, ErrActionUnavailable
	}
	p, err := ParseProcess(act.Process)
	if err != nil {
		return ActionResult{}, err
	}
	switch p {
	case ProcessCreateCase:
		if s.Cases == nil {
			return ActionResult{}, ErrNoCases
		}
		subject := c.LastMessage
		if r := []rune(subject); len(r) > 120 {
			subject = string(r[:120])
		}
		if subject == "" {
			subject = c.CustomerName
		}
		id, err := s.Cases.CreateCaseFromChat(ctx, v, chatID, c.ContactID, subject)
		if err != nil {
			return ActionResult{}, err
		}
		return ActionResult{CaseID: id}, nil
	default:
		return s.postAction(ctx, v, act, c)
	}
}

func (s *Service) postAction(ctx context.Context, v access.Viewer, act *store.ChatAction, c *store.Chat) (ActionResult, error) {
	body, err := json.Marshal(map[string]any{"action": act.Name, "action_id": act.ID, "chat_id": c.ID, "contact_id": c.ContactID,
		"operator_id": v.UserID, "at": s.Now().Format(time.RFC3339)})
	if err != nil {
		return ActionResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, act.URL, bytes.NewReader(body))
	if err != nil {
		return ActionResult{}, fmt.Errorf("%w: %v", ErrActionFailed, err)
	}
	req.Header.Set("Content-Type", "application/json")
	key, err := s.ActionSecret(act)
	if err != nil {
		return ActionResult{}, err
	}
	if key != "" {
		mac := hmac.New(sha256.New, []byte(key))
		mac.Write(body)
		req.Header.Set(SignatureHeader, "sha256="+hex.EncodeToString(mac.Sum(nil)))
	}
	doer := s.HTTP
	if doer == nil {
		doer = http.DefaultClient
	}
	resp, err := doer.Do(req)
	if err != nil {
		return ActionResult{}, fmt.Errorf("%w: %v", ErrActionFailed, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return ActionResult{WebhookStatus: resp.StatusCode}, fmt.Errorf("%w: status %d", ErrActionFailed, resp.StatusCode)
	}
	return ActionResult{WebhookStatus: resp.StatusCode}, nil
}
