package chat

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/tandem-crm/tandem/internal/crm"
	"github.com/tandem-crm/tandem/internal/store"
)

// The set-up a chat manager edits (queues and chat actions), checked once
// here for the web pages and the API alike.

// Limits of the set-up's fields.
const (
	// MaxCompletionMinutes bounds a queue's completion timeout: 30 days.
	MaxCompletionMinutes = 30 * 24 * 60
	// MinActionSecret is the shortest signing secret of a webhook action.
	MinActionSecret = 16
	// MaxActionSecret and MaxActionURL bound a webhook action's fields.
	MaxActionSecret = 200
	MaxActionURL    = 2000
)

// MemberKinds are who may work a queue.
var MemberKinds = []string{"user", "role"}

// SaveQueue checks and stores a queue (a new one when q.ID is empty): a
// *crm.ValidationError names the fields at fault. The panels hear that the
// queues changed, and waiting chats are offered to new members.
func (s *Service) SaveQueue(ctx context.Context, q *store.ChatQueue) error {
	fe := crm.FieldErrors{}
	q.Name = strings.TrimSpace(q.Name)
	checkText(fe, "name", q.Name, crm.MaxShort, true)
	if _, err := ParseRouting(q.Routing); err != nil {
		fe.Add("routing", crm.ErrUnknownEnum)
	}
	if q.CompletionMinutes < 0 || q.CompletionMinutes > MaxCompletionMinutes {
		fe.Add("completion_minutes", "error.out_of_range")
	}
	if len(q.Members) > 500 {
		fe.Add("members", crm.ErrTooMany)
	}
	if len(fe) == 0 {
		members, err := s.knownMembers(ctx, q.Members)
		if err != nil {
			return err
		}
		if members == nil {
			fe.Add("members", crm.ErrUnknownEnum)
		}
		q.Members = members
	}
	if err := fe.Err(); err != nil {
		return err
	}
	err := s.st.SaveChatQueue(ctx, q)
	if errors.Is(err, store.ErrDuplicate) {
		return crm.FieldErrors{"name": crm.ErrDuplicate}.Err()
	}
	if err != nil {
		return err
	}
	s.queuesChanged(ctx)
	return nil
}

// knownMembers drops repeated members and returns nil when one names no
// user or role.
func (s *Service) knownMembers(ctx context.Context, ms []store.ChatQueueMember) ([]store.ChatQueueMember, error) {
	users, err := s.st.ListUsers(ctx, "")
	if err != nil {
		return nil, err
	}
	roles, err := s.st.ListRoles(ctx)
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, u := range users {
		known["user:"+u.ID] = true
	}
	for _, r := range roles {
		known["role:"+r.ID] = true
	}
	out := []store.ChatQueueMember{}
	seen := map[string]bool{}
	for _, m := range ms {
		k := m.Kind + ":" + m.ID
		if !known[k] {
			return nil, nil
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, store.ChatQueueMember{Kind: m.Kind, ID: m.ID})
		}
	}
	return out, nil
}

// DeleteQueue deletes a queue no channel routes to and no chat was in
// (store.ErrChatQueueInUse otherwise).
func (s *Service) DeleteQueue(ctx context.Context, id string) error {
	if err := s.st.DeleteChatQueue(ctx, id); err != nil {
		return err
	}
	s.queuesChanged(ctx)
	return nil
}

// queuesChanged tells the panels to read who works which queue again (an
// operator event naming nobody) and offers waiting chats to new members.
func (s *Service) queuesChanged(ctx context.Context) {
	s.publish(ctx, Event{Type: EventOperator})
	s.dispatch(ctx)
}

// actionAD binds a webhook action's sealed secret to the action.
func actionAD(id string) string { return "chat_action:" + id }

// SaveAction checks and stores a chat action (a new one when a.ID is
// empty). secret is a webhook's signing secret as typed: "" keeps the
// stored one (a new webhook action needs one); it is stored sealed. A
// *crm.ValidationError names the fields at fault.
func (s *Service) SaveAction(ctx context.Context, a *store.ChatAction, secret string) error {
	fe := crm.FieldErrors{}
	a.Name = strings.TrimSpace(a.Name)
	a.URL = strings.TrimSpace(a.URL)
	checkText(fe, "name", a.Name, crm.MaxShort, true)
	p, err := ParseProcess(a.Process)
	if err != nil {
		fe.Add("process", crm.ErrUnknownEnum)
	}
	if a.QueueID != "" {
		if _, err := s.st.ChatQueue(ctx, a.QueueID); errors.Is(err, store.ErrNotFound) {
			fe.Add("queue_id", crm.ErrUnknownEnum)
		} else if err != nil {
			return err
		}
	}
	if p == ProcessWebhook {
		switch {
		case a.URL == "":
			fe.Add("url", crm.ErrRequired)
		case utf8.RuneCountInString(a.URL) > MaxActionURL:
			fe.Add("url", crm.TooLong(MaxActionURL))
		case !webURL(a.URL):
			fe.Add("url", crm.ErrURL)
		}
		switch n := utf8.RuneCountInString(secret); {
		case n == 0 && a.Secret == "":
			fe.Add("secret", crm.ErrRequired)
		case n == 0:
		case n < MinActionSecret:
			fe.Add("secret", "error.too_short")
		case n > MaxActionSecret:
			fe.Add("secret", crm.TooLong(MaxActionSecret))
		case strings.TrimSpace(secret) != secret || !utf8.ValidString(secret):
			fe.Add("secret", crm.ErrInvalid)
		}
	} else {
		a.URL, a.Secret, secret = "", "", ""
	}
	if err := fe.Err(); err != nil {
		return err
	}
	if a.ID == "" && secret != "" {
		// The secret is sealed to the action's id, known once it is
		// stored.
		a.Secret = ""
		if err := s.st.SaveChatAction(ctx, a); err != nil {
			return err
		}
	}
	if secret != "" {
		a.Secret = s.box.Seal(secret, actionAD(a.ID))
	}
	return s.st.SaveChatAction(ctx, a)
}

// ActionSecret opens a webhook action's signing secret ("" for none).
func (s *Service) ActionSecret(a *store.ChatAction) (string, error) {
	if a.Secret == "" {
		return "", nil
	}
	plain, err := s.box.Open(a.Secret, actionAD(a.ID))
	if err != nil {
		return "", fmt.Errorf("open action secret: %w", err)
	}
	return plain, nil
}

// ActionResult is what running a chat action did, for the operator: the
// case "Create case" made, or the webhook's answer.
type ActionResult struct {
	CaseID        string // create_case: the new case
	WebhookStatus int    // webhook: the HTTP status the company's URL answered
}

func checkText(fe crm.FieldErrors, field, v string, maxLen int, required bool) {
	switch {
	case required && v == "":
		fe.Add(field, crm.ErrRequired)
	case utf8.RuneCountInString(v) > maxLen:
		fe.Add(field, crm.TooLong(maxLen))
	case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 }):
		fe.Add(field, crm.ErrInvalid)
	}
}

// webURL accepts an absolute http or https address with a host.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// SaveChannel checks an admin's change of a channel (its name, queue and
// active flag) and applies it (UpdateChannel): a *crm.ValidationError
// names the fields at fault.
func (s *Service) SaveChannel(ctx context.Context, id string, u ChannelUpdate) error {
	fe := crm.FieldErrors{}
	u.Name = strings.TrimSpace(u.Name)
	checkText(fe, "name", u.Name, crm.MaxShort, true)
	if u.QueueID == "" {
		fe.Add("queue_id", crm.ErrRequired)
	} else if _, err := s.st.ChatQueue(ctx, u.QueueID); errors.Is(err, store.ErrNotFound) {
		fe.Add("queue_id", crm.ErrUnknownEnum)
	} else if err != nil {
		return err
	}
	if err := fe.Err(); err != nil {
		return err
	}
	return s.UpdateChannel(ctx, id, u)
}
