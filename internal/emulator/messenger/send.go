package messenger

import (
	"encoding/json"
	"errors"
	"slices"
	"time"
	"unicode/utf8"
)

// Messaging windows, after the customer's last message or postback.
const (
	StandardWindow   = 24 * time.Hour
	HumanAgentWindow = 7 * 24 * time.Hour
)

// legacyTagsEnd is when Meta stopped accepting CONFIRMED_EVENT_UPDATE,
// POST_PURCHASE_UPDATE and ACCOUNT_UPDATE (code 100 from then on).
var legacyTagsEnd = time.Date(2026, 4, 27, 0, 0, 0, 0, time.UTC)

var (
	messagingTypes = []string{"RESPONSE", "UPDATE", "MESSAGE_TAG"}
	messageTags    = []string{"CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT"}
	senderActions  = []string{"mark_seen", "typing_on", "typing_off"}
	sendAttachment = []string{"image", "audio", "video", "file", "template"}
)

// Recipient is the recipient of a Send API call.
type Recipient struct {
	ID string `json:"id"`
}

// SendRequest is the body of a Send API call (POST /me/messages).
type SendRequest struct {
	Recipient     Recipient       `json:"recipient"`
	MessagingType string          `json:"messaging_type,omitempty"`
	Tag           string          `json:"tag,omitempty"`
	Message       json.RawMessage `json:"message,omitempty"`
	SenderAction  string          `json:"sender_action,omitempty"`
}

// SendResult is the Send API's answer.
type SendResult struct {
	RecipientID string `json:"recipient_id"`
	MessageID   string `json:"message_id,omitempty"`
}

type sendMessage struct {
	Text         *string         `json:"text"`
	Attachment   json.RawMessage `json:"attachment"`
	QuickReplies json.RawMessage `json:"quick_replies"`
	Metadata     string          `json:"metadata"`
}

func windowErr() *GraphError {
	return gErr(10, 2018278, "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview")
}

func threadTakenErr() *GraphError {
	return gErr(10, 2018300, "(#10) Message failed to send because another app is controlling this thread now.")
}

// SetSendRateLimit sets how many Send API calls a page may make per second
// (on the emulator's clock) before getting (#613); n <= 0 turns the limit
// off.
func (s *Server) SetSendRateLimit(n int) {
	s.mu.Lock()
	s.sendLimit = n
	s.mu.Unlock()
}

// handleSend is POST /me/messages and /{page-id}/messages.
func (s *Server) handleSend(rq *request, node string) {
	t, err := s.auth(rq)
	if err != nil {
		rq.fail(err)
		return
	}
	if t.kind != tokPage || (node != "me" && node != t.pageID) {
		rq.fail(pageTokenRequired())
		return
	}
	if !s.hasScope(t, ScopePagesMessaging) {
		rq.fail(gErr(200, 0, "(#200) Requires pages_messaging permission to manage the object"))
		return
	}
	var req SendRequest
	if err := rq.object("recipient", &req.Recipient); err != nil && !errors.Is(err, errMissing) {
		rq.fail(err)
		return
	}
	if rq.has("message") {
		if raw, ok := rq.body["message"]; ok {
			req.Message = raw
		} else {
			req.Message = json.RawMessage(rq.get("message"))
		}
	}
	req.MessagingType = rq.get("messaging_type")
	req.Tag = rq.get("tag")
	req.SenderAction = rq.get("sender_action")
	res, err := s.send(t.pageID, t.appID, &req)
	if err != nil {
		rq.fail(err)
		return
	}
	rq.ok(res)
}

// SendAs makes an app send to a customer through the Send API's rules
// (windows, tags, thread control, rate limit) without a token: a test acts
// as another app, e.g. the external bot, or as a person answering in the
// Page Inbox (PageInboxAppID, which may use the 7-day human agent window).
func (s *Server) SendAs(pageID, appID string, req SendRequest) (SendResult, error) {
	s.mu.Lock()
	_, pageErr := s.pageLocked(pageID)
	known := s.apps[appID] != nil || appID == PageInboxAppID
	s.mu.Unlock()
	if pageErr != nil {
		return SendResult{}, pageErr
	}
	if !known {
		return SendResult{}, &adminError{404, "emulator: no app " + appID}
	}
	return s.send(pageID, appID, &req)
}

func (s *Server) send(pageID, appID string, req *SendRequest) (SendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pages[pageID]
	now := s.nowLocked()
	if s.sendLimit > 0 {
		cut := now.Add(-time.Second)
		i := 0
		for i < len(p.sends) && !p.sends[i].After(cut) {
			i++
		}
		p.sends = p.sends[i:]
		if len(p.sends) >= s.sendLimit {
			return SendResult{}, gErr(613, 0, "(#613) Calls to this api have exceeded the rate limit.")
		}
		p.sends = append(p.sends, now)
	}
	if req.Recipient.ID == "" {
		return SendResult{}, paramRequired("recipient")
	}
	c := p.customers[req.Recipient.ID]
	if c == nil {
		return SendResult{}, noSuchPSID()
	}
	hasMsg := len(req.Message) > 0 && string(req.Message) != "null"
	if hasMsg && req.SenderAction != "" {
		return SendResult{}, gErr(100, 2018014, "(#100) Cannot send both message and state at the same time.")
	}
	if !hasMsg && req.SenderAction == "" {
		return SendResult{}, paramRequired("message")
	}
	humanAgent := appID == PageInboxAppID || (s.apps[appID] != nil && s.apps[appID].humanAgent)
	var since time.Duration = 1<<63 - 1
	if !c.lastInbound.IsZero() {
		since = now.Sub(c.lastInbound)
	}
	owner := s.ownerLocked(c, now)

	if req.SenderAction != "" {
		if !slices.Contains(senderActions, req.SenderAction) {
			return SendResult{}, paramEnum("sender_action", req.SenderAction, senderActions)
		}
		if since > StandardWindow {
			return SendResult{}, windowErr()
		}
		if owner != "" && owner != appID {
			return SendResult{}, threadTakenErr()
		}
		c.actions = append(c.actions, req.SenderAction)
		return SendResult{RecipientID: c.psid}, nil
	}

	if req.MessagingType == "" {
		return SendResult{}, paramRequired("messaging_type")
	}
	if !slices.Contains(messagingTypes, req.MessagingType) {
		return SendResult{}, paramEnum("messaging_type", req.MessagingType, messagingTypes)
	}
	var m sendMessage
	if err := json.Unmarshal(req.Message, &m); err != nil {
		return SendResult{}, gErr(100, 0, "(#100) param message must be a JSON object")
	}
	hasAttachment := len(m.Attachment) > 0 && string(m.Attachment) != "null"
	switch {
	case (m.Text == nil || *m.Text == "") && !hasAttachment:
		return SendResult{}, gErr(100, 0, "(#100) Message cannot be empty, must provide valid attachment or text")
	case m.Text != nil && *m.Text != "" && hasAttachment:
		return SendResult{}, gErr(100, 0, "(#100) Only one of message[text] and message[attachment] may be set")
	case m.Text != nil && utf8.RuneCountInString(*m.Text) > 2000:
		return SendResult{}, gErr(100, 0, "(#100) Length of param message[text] must be less than or equal to 2000")
	case utf8.RuneCountInString(m.Metadata) > 1000:
		return SendResult{}, gErr(100, 0, "(#100) Length of param message[metadata] must be less than or equal to 1000")
	}
	if hasAttachment {
		var at struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(m.Attachment, &at); err != nil {
			return SendResult{}, gErr(100, 0, "(#100) param message[attachment] must be a JSON object")
		}
		if !slices.Contains(sendAttachment, at.Type) {
			return SendResult{}, paramEnum("message[attachment][type]", at.Type, sendAttachment)
		}
		if len(at.Payload) == 0 || string(at.Payload) == "null" {
			return SendResult{}, paramRequired("message[attachment][payload]")
		}
	}
	if len(m.QuickReplies) > 0 && string(m.QuickReplies) != "null" {
		var qr []json.RawMessage
		if err := json.Unmarshal(m.QuickReplies, &qr); err != nil {
			return SendResult{}, gErr(100, 0, "(#100) param message[quick_replies] must be an array")
		}
		if len(qr) > 13 {
			return SendResult{}, gErr(100, 0, "(#100) param message[quick_replies] must have at most 13 elements")
		}
	}
	tag := ""
	if req.MessagingType == "MESSAGE_TAG" {
		tag = req.Tag
		if tag == "" {
			return SendResult{}, paramRequired("tag")
		}
		if !slices.Contains(messageTags, tag) {
			return SendResult{}, paramEnum("tag", tag, messageTags)
		}
		if tag != "HUMAN_AGENT" && !now.Before(legacyTagsEnd) {
			return SendResult{}, gErr(100, 0, "(#100) Invalid parameter: the message tag "+tag+" is no longer supported")
		}
	}
	allowed := since <= StandardWindow
	switch {
	case tag == "HUMAN_AGENT" && !humanAgent:
		if allowed {
			return SendResult{}, gErr(10, 0, "(#10) Application does not have permission for this action")
		}
	case tag == "HUMAN_AGENT":
		allowed = allowed || since <= HumanAgentWindow
	case tag != "":
		// The legacy tags, while Meta took them, had no time limit.
		allowed = true
	}
	if !allowed {
		return SendResult{}, windowErr()
	}
	if owner != "" && owner != appID {
		return SendResult{}, threadTakenErr()
	}

	mid := s.newMidLocked()
	sent := Sent{MID: mid, AppID: appID, Metadata: m.Metadata, MessagingType: req.MessagingType, Tag: tag, At: now}
	echo := &mMessage{IsEcho: true, AppID: json.Number(appID), Metadata: m.Metadata, Mid: mid}
	if m.Text != nil {
		sent.Text, echo.Text = *m.Text, *m.Text
	}
	if hasAttachment {
		sent.Attachment = slices.Clone(m.Attachment)
		echo.Attachments = []json.RawMessage{sent.Attachment}
	}
	if len(m.QuickReplies) > 0 && string(m.QuickReplies) != "null" {
		sent.QuickReplies = slices.Clone(m.QuickReplies)
	}
	c.received = append(c.received, sent)
	close(c.notify)
	c.notify = make(chan struct{})
	if owner == appID {
		c.lastActivity = now
	}
	s.fanoutLocked(p, c, evEcho, &mItem{Sender: &idRef{p.id}, Recipient: idRef{c.psid}, Timestamp: ms(now), Message: echo})
	s.fanoutLocked(p, c, evDelivery, &mItem{Sender: &idRef{c.psid}, Recipient: idRef{p.id}, Timestamp: ms(now),
		Delivery: &mDelivery{Mids: []string{mid}, Watermark: ms(now)}})
	return SendResult{RecipientID: c.psid, MessageID: mid}, nil
}
