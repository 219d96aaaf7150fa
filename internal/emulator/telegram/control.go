package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ControlPrefix is the path prefix of the emulator's own API: JSON over
// HTTP doing what this package's Go methods do, for tests in another
// process and for `tandem emulator telegram`. It is not part of the Bot
// API and needs no token. The endpoints are listed in the package
// documentation.
const ControlPrefix = "/emulator/"

// ControlError is an error of the control API, with its HTTP status.
type ControlError struct {
	Code    int
	Message string
}

func (e *ControlError) Error() string { return "telegram emulator: " + e.Message }

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, ControlPrefix), "/"), "/")
	out, err := s.control(r, segs)
	if err != nil {
		code := http.StatusBadRequest
		var ce *ControlError
		if errors.As(err, &ce) {
			code = ce.Code
		}
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, out)
}

var errNoRoute = &ControlError{Code: 404, Message: "no such control endpoint"}

func (s *Server) control(r *http.Request, segs []string) (any, error) {
	route := r.Method + " " + strings.Join(segs, "/")
	switch route {
	case "POST bots":
		var in BotInfo
		if err := decodeControl(r, &in); err != nil {
			return nil, err
		}
		return s.CreateBot(in)
	case "GET bots":
		return s.Bots(), nil
	case "POST users":
		var in User
		if err := decodeControl(r, &in); err != nil {
			return nil, err
		}
		return s.AddUser(in)
	case "POST faults":
		var in struct {
			Method     string `json:"method"`
			Count      int    `json:"count"`
			Kind       string `json:"kind"`
			RetryAfter int    `json:"retry_after"`
		}
		if err := decodeControl(r, &in); err != nil {
			return nil, err
		}
		kind, ok := ParseFaultKind(in.Kind)
		if !ok || in.Count <= 0 {
			return nil, errors.New(`telegram emulator: want {"method","count">0,"kind":"500|502|429|drop"}`)
		}
		if in.RetryAfter > 0 {
			s.faults.SetRetryAfter(in.RetryAfter)
		}
		s.faults.FailNext(in.Method, in.Count, kind)
		return map[string]int{"pending": s.faults.Pending()}, nil
	case "DELETE faults":
		s.faults.Reset()
		return map[string]int{"pending": 0}, nil
	case "GET faults":
		inj := map[string]int{}
		for k, v := range s.faults.Injected() {
			inj[k.String()] = v
		}
		return map[string]any{"pending": s.faults.Pending(), "injected": inj}, nil
	case "GET rate-limits":
		return s.RateLimits(), nil
	case "PUT rate-limits":
		l := s.RateLimits()
		if err := decodeControl(r, &l); err != nil {
			return nil, err
		}
		if l.PerChat < 0 || l.PerChatBurst < 0 || l.PerGroupPerMinute < 0 || l.Global < 0 || l.GlobalBurst < 0 {
			return nil, errors.New("telegram emulator: rate limits cannot be negative (0 turns one off)")
		}
		s.SetRateLimits(l)
		return l, nil
	case "GET calls":
		return s.Calls(), nil
	}
	if len(segs) < 3 || segs[0] != "bots" {
		return nil, errNoRoute
	}
	token, rest := segs[1], segs[2:]
	s.mu.Lock()
	_, err := s.botLocked(token)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	switch r.Method + " " + strings.Join(rest, "/") {
	case "POST messages":
		var in Incoming
		if err := decodeControl(r, &in); err != nil {
			return nil, err
		}
		return s.Write(token, in)
	case "POST edits":
		var in struct {
			ChatID    int64  `json:"chat_id"`
			MessageID int64  `json:"message_id"`
			Text      string `json:"text"`
		}
		if err := decodeControl(r, &in); err != nil {
			return nil, err
		}
		return s.Edit(token, in.ChatID, in.MessageID, in.Text)
	case "POST groups":
		var in struct {
			Title   string  `json:"title"`
			Members []int64 `json:"members"`
		}
		if err := decodeControl(r, &in); err != nil {
			return nil, err
		}
		return s.CreateGroup(token, in.Title, in.Members...)
	case "GET updates":
		return nonNil(s.Pending(token)), nil
	case "GET webhook":
		return s.webhookInfo(token)
	case "GET webhook-log":
		return nonNil(s.WebhookLog(token)), nil
	case "PUT foreign":
		var in struct {
			WebhookURL     string `json:"webhook_url"`
			PollIntervalMs int    `json:"poll_interval_ms"`
		}
		if err := decodeControl(r, &in); err != nil {
			return nil, err
		}
		if (in.WebhookURL == "") == (in.PollIntervalMs <= 0) {
			return nil, errors.New(`telegram emulator: want {"webhook_url"} or {"poll_interval_ms"}`)
		}
		if in.WebhookURL != "" {
			err = s.SetForeignWebhook(token, in.WebhookURL)
		} else {
			err = s.StartForeignPoller(token, time.Duration(in.PollIntervalMs)*time.Millisecond)
		}
		if err != nil {
			return nil, err
		}
		return map[string]int{"received": s.ForeignReceived(token)}, nil
	case "POST foreign/poll":
		if err := s.ForeignPoll(token); err != nil {
			return nil, err
		}
		return map[string]int{"received": s.ForeignReceived(token)}, nil
	case "GET foreign":
		return map[string]int{"received": s.ForeignReceived(token)}, nil
	case "DELETE foreign":
		if err := s.StopForeign(token); err != nil {
			return nil, err
		}
		return map[string]int{"received": s.ForeignReceived(token)}, nil
	}
	// bots/{token}/groups/{id}/upgrade, users/{id}/block, chats/{id}/sent
	if len(rest) == 3 {
		id, err := strconv.ParseInt(rest[1], 10, 64)
		if err != nil {
			return nil, errNoRoute
		}
		switch r.Method + " " + rest[0] + "/" + rest[2] {
		case "POST groups/upgrade":
			return s.UpgradeGroup(token, id)
		case "POST users/block":
			in := struct {
				Blocked *bool `json:"blocked"`
			}{}
			if err := decodeControl(r, &in); err != nil {
				return nil, err
			}
			if in.Blocked == nil {
				return nil, errors.New(`telegram emulator: want {"blocked":true|false}`)
			}
			if err := s.Block(token, id, *in.Blocked); err != nil {
				return nil, err
			}
			return map[string]bool{"blocked": *in.Blocked}, nil
		case "GET chats/sent":
			return s.controlSent(r, token, id)
		}
	}
	return nil, errNoRoute
}

// controlSent answers GET …/chats/{id}/sent: the messages the bot sent to
// the chat; with ?count=N it waits (up to ?timeout_ms=, default 10 s) until
// there are at least N.
func (s *Server) controlSent(r *http.Request, token string, chatID int64) (any, error) {
	q := r.URL.Query()
	n, _ := strconv.Atoi(q.Get("count"))
	if n <= 0 {
		return nonNil(s.Sent(token, chatID)), nil
	}
	wait := 10 * time.Second
	if ms, err := strconv.Atoi(q.Get("timeout_ms")); err == nil && ms > 0 {
		wait = time.Duration(ms) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	msgs, err := s.WaitSent(ctx, token, chatID, n)
	if err != nil {
		return nil, &ControlError{Code: http.StatusRequestTimeout, Message: err.Error()}
	}
	return msgs, nil
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func decodeControl(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxUploadSize*2))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &ControlError{Code: http.StatusBadRequest, Message: "bad request body: " + err.Error()}
	}
	return nil
}
