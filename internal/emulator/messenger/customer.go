package messenger

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Attachment is a file a customer sends.
type Attachment struct {
	Type string `json:"type"` // image, video, audio or file
	URL  string `json:"url"`
}

// Inbound is a message a customer writes to a page.
type Inbound struct {
	Text        string       `json:"text,omitempty"`
	Attachments []Attachment `json:"attachments,omitempty"`
	// ReplyTo is the mid of the message the customer replies to.
	ReplyTo string `json:"reply_to,omitempty"`
	// QuickReply is the payload of the quick reply the customer tapped.
	QuickReply string `json:"quick_reply,omitempty"`
}

// Sent is a message a page sent to a customer through the Send API.
type Sent struct {
	MID           string          `json:"mid"`
	AppID         string          `json:"app_id"`
	Text          string          `json:"text,omitempty"`
	Attachment    json.RawMessage `json:"attachment,omitempty"`
	QuickReplies  json.RawMessage `json:"quick_replies,omitempty"`
	Metadata      string          `json:"metadata,omitempty"`
	MessagingType string          `json:"messaging_type"`
	Tag           string          `json:"tag,omitempty"`
	At            time.Time       `json:"at"`
}

var attachmentTypes = []string{"image", "video", "audio", "file"}

func ms(t time.Time) int64 { return t.UnixMilli() }

func (s *Server) newMidLocked() string { return s.opaqueLocked("m_", "mid", 86) }

// ownerLocked applies the expiry of thread control and returns the
// thread's owner ("" while idle).
func (s *Server) ownerLocked(c *customer, now time.Time) string {
	if c.owner != "" && s.opts.ThreadControlExpiry > 0 && now.Sub(c.lastActivity) >= s.opts.ThreadControlExpiry {
		c.owner = ""
	}
	return c.owner
}

// inboundLocked records that the customer wrote: the windows restart, and
// an idle thread goes to the page's Primary Receiver if it has one.
func (s *Server) inboundLocked(p *page, c *customer, now time.Time) {
	if s.ownerLocked(c, now) == "" && p.primary != "" {
		c.owner = p.primary
	}
	c.lastInbound = now
	c.lastActivity = now
}

// CustomerSays makes a customer write messages to a page; they are
// delivered to the subscribed apps (all of one call in one go, so a
// batching setting can put them in one POST). It returns their mids.
func (s *Server) CustomerSays(pageID, psid string, msgs ...Inbound) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, c, err := s.customerLocked(pageID, psid)
	if err != nil {
		return nil, err
	}
	for _, m := range msgs {
		if m.Text == "" && len(m.Attachments) == 0 {
			return nil, &adminError{400, "emulator: a message needs text or attachments"}
		}
		for _, a := range m.Attachments {
			if !slices.Contains(attachmentTypes, a.Type) {
				return nil, &adminError{400, fmt.Sprintf("emulator: attachment type %q is not one of %v", a.Type, attachmentTypes)}
			}
		}
	}
	now := s.nowLocked()
	mids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		s.inboundLocked(p, c, now)
		msg := &mMessage{Mid: s.newMidLocked(), Text: m.Text}
		for _, a := range m.Attachments {
			raw, _ := json.Marshal(map[string]any{"type": a.Type, "payload": map[string]string{"url": a.URL}})
			msg.Attachments = append(msg.Attachments, raw)
		}
		if m.QuickReply != "" {
			msg.QuickReply = &payloadRef{Payload: m.QuickReply}
		}
		if m.ReplyTo != "" {
			msg.ReplyTo = &midRef{Mid: m.ReplyTo}
		}
		s.fanoutLocked(p, c, evMessage, &mItem{Sender: &idRef{psid}, Recipient: idRef{p.id}, Timestamp: ms(now), Message: msg})
		mids = append(mids, msg.Mid)
	}
	return mids, nil
}

// CustomerPostback makes a customer tap a postback button (or a persistent
// menu item). Apps on the standby channel get it without the payload.
func (s *Server) CustomerPostback(pageID, psid, title, payload string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, c, err := s.customerLocked(pageID, psid)
	if err != nil {
		return "", err
	}
	if payload == "" {
		return "", &adminError{400, "emulator: a postback needs a payload"}
	}
	now := s.nowLocked()
	s.inboundLocked(p, c, now)
	mid := s.newMidLocked()
	s.fanoutLocked(p, c, evPostback, &mItem{Sender: &idRef{psid}, Recipient: idRef{p.id}, Timestamp: ms(now),
		Postback: &mPostback{Title: title, Payload: payload, Mid: mid}})
	return mid, nil
}

// CustomerReads makes a customer read the thread: a message_reads event
// with the current time as watermark.
func (s *Server) CustomerReads(pageID, psid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, c, err := s.customerLocked(pageID, psid)
	if err != nil {
		return err
	}
	now := s.nowLocked()
	s.ownerLocked(c, now)
	s.fanoutLocked(p, c, evRead, &mItem{Sender: &idRef{psid}, Recipient: idRef{p.id}, Timestamp: ms(now),
		Read: &mRead{Watermark: ms(now)}})
	return nil
}

// Received returns the messages a customer received from the page, oldest
// first.
func (s *Server) Received(pageID, psid string) ([]Sent, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, c, err := s.customerLocked(pageID, psid)
	if err != nil {
		return nil, err
	}
	return slices.Clone(c.received), nil
}

// SenderActions returns the sender actions (typing_on, mark_seen, …) a
// customer's thread got, oldest first.
func (s *Server) SenderActions(pageID, psid string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, c, err := s.customerLocked(pageID, psid)
	if err != nil {
		return nil, err
	}
	return slices.Clone(c.actions), nil
}

// NextReceived waits until the customer has received more than n messages
// and returns message n (0-based), or ctx's error.
func (s *Server) NextReceived(ctx context.Context, pageID, psid string, n int) (Sent, error) {
	if n < 0 {
		return Sent{}, &adminError{400, "emulator: negative message index"}
	}
	for {
		s.mu.Lock()
		_, c, err := s.customerLocked(pageID, psid)
		if err != nil {
			s.mu.Unlock()
			return Sent{}, err
		}
		if len(c.received) > n {
			m := c.received[n]
			s.mu.Unlock()
			return m, nil
		}
		ch := c.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Sent{}, ctx.Err()
		}
	}
}
