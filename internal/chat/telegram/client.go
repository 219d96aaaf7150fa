// Package telegram is the Telegram channel of omnichannel chat: a bot,
// known by its token, whose private chats become Tandem chats. It speaks
// the Bot API over net/http (apis.md §6): getMe to verify a token,
// setWebhook with a secret token when SiteUrl is set (the hook checks
// X-Telegram-Bot-Api-Secret-Token before reading the body) and getUpdates
// long polling otherwise, sendMessage for operators' replies. A token that
// another program uses (a 409 conflict, a webhook that is not Tandem's)
// breaks the channel and the admin is told.
package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// APIError is a Bot API refusal: {"ok":false,"error_code":…}.
type APIError struct {
	Code        int
	Description string
	RetryAfter  int   // seconds, on 429
	MigrateTo   int64 // a group upgraded to this supergroup id
}

func (e *APIError) Error() string {
	return fmt.Sprintf("telegram: %d %s", e.Code, e.Description)
}

// client calls one bot's Bot API methods.
type client struct {
	base  string // e.g. https://api.telegram.org
	token string
	http  *http.Client
}

type envelope struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter      int   `json:"retry_after"`
		MigrateToChatID int64 `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

// call POSTs params as JSON to method and decodes the result into out.
func (c *client) call(ctx context.Context, method string, params, out any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("encode %s: %w", method, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/bot"+c.token+"/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		// The URL holds the token: never let it reach a log.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap()
		}
		return fmt.Errorf("%s: %w", method, redact(err, c.token))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", method, err)
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return &APIError{Code: resp.StatusCode, Description: "not a Bot API answer: " + http.StatusText(resp.StatusCode)}
	}
	if !env.OK {
		return &APIError{Code: env.ErrorCode, Description: env.Description, RetryAfter: env.Parameters.RetryAfter,
			MigrateTo: env.Parameters.MigrateToChatID}
	}
	if out != nil {
		if err := json.Unmarshal(env.Result, out); err != nil {
			return fmt.Errorf("%s: decode result: %w", method, err)
		}
	}
	return nil
}

// redact removes the token from an error's text.
func redact(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "<token>"))
}

// User is a Telegram user.
type User struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

// Name is the user's full name.
func (u User) Name() string { return strings.TrimSpace(u.FirstName + " " + u.LastName) }

type chatRef struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

type photoSize struct {
	FileID   string `json:"file_id"`
	FileSize int64  `json:"file_size"`
	Width    int    `json:"width"`
}

type document struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name"`
	FileSize int64  `json:"file_size"`
}

type contact struct {
	PhoneNumber string `json:"phone_number"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	UserID      int64  `json:"user_id"`
}

// Message is the part of a Bot API Message a chat needs.
type Message struct {
	MessageID int64       `json:"message_id"`
	From      *User       `json:"from"`
	Date      int64       `json:"date"`
	Chat      chatRef     `json:"chat"`
	Text      string      `json:"text"`
	Caption   string      `json:"caption"`
	Photo     []photoSize `json:"photo"`
	Document  *document   `json:"document"`
	Contact   *contact    `json:"contact"`
}

type chatMemberUpdated struct {
	Chat          chatRef `json:"chat"`
	From          User    `json:"from"`
	Date          int64   `json:"date"`
	NewChatMember struct {
		Status string `json:"status"`
	} `json:"new_chat_member"`
}

// Update is one Bot API update.
type Update struct {
	UpdateID      int64              `json:"update_id"`
	Message       *Message           `json:"message"`
	EditedMessage *Message           `json:"edited_message"`
	MyChatMember  *chatMemberUpdated `json:"my_chat_member"`
}

type webhookInfo struct {
	URL                  string `json:"url"`
	PendingUpdateCount   int    `json:"pending_update_count"`
	LastErrorMessage     string `json:"last_error_message"`
	LastErrorDate        int64  `json:"last_error_date"`
	HasCustomCertificate bool   `json:"has_custom_certificate"`
}

// pollTimeout is getUpdates' long-poll wait; the HTTP client waits longer.
const pollTimeout = 25 * time.Second
