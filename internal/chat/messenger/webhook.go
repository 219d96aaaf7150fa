package messenger

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/chat"
	"github.com/tandem-crm/tandem/internal/store"
)

// maxDelivery bounds a delivery's body: a batch of events is a few
// kilobytes, attachments come as URLs.
const maxDelivery = 1 << 20

// Hooks implements chat.Hooker: one address for every page of the app.
func (a *Adapter) Hooks() []chat.Hook {
	return []chat.Hook{
		{Pattern: "GET " + HookPath, Handler: http.HandlerFunc(a.verify)},
		{Pattern: "POST " + HookPath, Handler: http.HandlerFunc(a.hook)},
	}
}

// verify answers Meta's subscription handshake: the raw challenge for
// our verify token, 403 otherwise.
func (a *Adapter) verify(w http.ResponseWriter, r *http.Request) {
	p, err := a.app(r.Context())
	q := r.URL.Query()
	if err != nil || q.Get("hub.mode") != "subscribe" ||
		subtle.ConstantTimeCompare([]byte(q.Get("hub.verify_token")), []byte(p.verifyToken())) != 1 {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, q.Get("hub.challenge"))
}

// CheckSignature reports whether header (X-Hub-Signature-256) is
// "sha256=" + the hex HMAC-SHA256 of body under secret.
func CheckSignature(secret string, body []byte, header string) bool {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// hook takes one delivery. The body is read whole (bounded) and its
// signature checked over the exact bytes before anything is parsed: 401
// without a signature, 403 with a wrong one, nothing stored. A malformed
// payload is logged and acknowledged (Meta would only send it again); a
// failure on Tandem's side answers 500 so Meta retries (the mids make the
// retry harmless).
func (a *Adapter) hook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDelivery))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	sig := r.Header.Get("X-Hub-Signature-256")
	if sig == "" {
		http.Error(w, "no signature", http.StatusUnauthorized)
		return
	}
	p, err := a.app(ctx)
	if err != nil || !CheckSignature(p.secret, body, sig) {
		http.Error(w, "wrong signature", http.StatusForbidden)
		return
	}
	evs, err := Parse(body)
	if err != nil {
		a.log.WarnContext(ctx, "messenger: malformed delivery skipped", "err", err)
		w.WriteHeader(http.StatusOK)
		return
	}
	for _, ev := range evs {
		if err := a.handle(ctx, p, ev); err != nil {
			a.log.ErrorContext(ctx, "messenger: event not stored", "page", ev.PageID, "err", err)
			http.Error(w, "try again", http.StatusInternalServerError)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// EventKind is what a webhook event is, as far as chats care.
type EventKind int

// Event kinds.
const (
	EventMessage EventKind = iota // a customer's message or postback
	EventEcho                     // a message the page sent (by some app)
	EventPassed                   // pass_thread_control
	EventTaken                    // take_thread_control
	EventOther                    // deliveries, reads, requests…: nothing for chats
)

// Event is one entry of a delivery's messaging[] or standby[].
type Event struct {
	Kind    EventKind
	PageID  string
	PSID    string // the customer
	Standby bool   // under standby[]: the app does not own the thread
	MID     string
	Text    string
	At      time.Time
	// Attachments of a message.
	Attachments []chat.Attachment
	// AppID: the app that sent an echo.
	AppID string
	// PreviousOwner and NewOwner of a handover.
	PreviousOwner, NewOwner string
}

type wireDelivery struct {
	Object string      `json:"object"`
	Entry  []wireEntry `json:"entry"`
}

type wireEntry struct {
	ID        string          `json:"id"`
	Messaging []wireMessaging `json:"messaging"`
	Standby   []wireMessaging `json:"standby"`
}

type wireMessaging struct {
	Sender    struct{ ID string } `json:"sender"`
	Recipient struct{ ID string } `json:"recipient"`
	Timestamp int64               `json:"timestamp"`
	Message   *struct {
		MID         string      `json:"mid"`
		Text        string      `json:"text"`
		IsEcho      bool        `json:"is_echo"`
		AppID       json.Number `json:"app_id"`
		Attachments []struct {
			Type    string `json:"type"`
			Payload struct {
				URL string `json:"url"`
			} `json:"payload"`
		} `json:"attachments"`
	} `json:"message"`
	Postback *struct {
		Title string `json:"title"`
		MID   string `json:"mid"`
	} `json:"postback"`
	Pass *struct {
		Previous json.Number `json:"previous_owner_app_id"`
		New      json.Number `json:"new_owner_app_id"`
	} `json:"pass_thread_control"`
	Take *struct {
		Previous json.Number `json:"previous_owner_app_id"`
		New      json.Number `json:"new_owner_app_id"`
	} `json:"take_thread_control"`
}

// Parse decodes a delivery into its events, in order. Ids come as strings
// or numbers (app ids are numbers in echoes); events a chat has no use for
// are EventOther.
func Parse(body []byte) ([]Event, error) {
	var d wireDelivery
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("decode delivery: %w", err)
	}
	if d.Object != "page" {
		return nil, fmt.Errorf("delivery of object %q", d.Object)
	}
	var out []Event
	for _, e := range d.Entry {
		for i, list := range [][]wireMessaging{e.Messaging, e.Standby} {
			for _, m := range list {
				out = append(out, event(e.ID, i == 1, m))
			}
		}
	}
	return out, nil
}

func event(pageID string, standby bool, m wireMessaging) Event {
	ev := Event{Kind: EventOther, PageID: pageID, PSID: m.Sender.ID, Standby: standby}
	if m.Timestamp > 0 {
		ev.At = time.UnixMilli(m.Timestamp).UTC()
	}
	switch {
	case m.Message != nil && m.Message.IsEcho:
		ev.Kind, ev.PSID, ev.MID, ev.Text, ev.AppID = EventEcho, m.Recipient.ID, m.Message.MID, m.Message.Text, m.Message.AppID.String()
	case m.Message != nil:
		ev.Kind, ev.MID, ev.Text = EventMessage, m.Message.MID, m.Message.Text
	case m.Postback != nil:
		ev.Kind, ev.MID, ev.Text = EventMessage, m.Postback.MID, m.Postback.Title
	case m.Pass != nil:
		ev.Kind, ev.PreviousOwner, ev.NewOwner = EventPassed, m.Pass.Previous.String(), m.Pass.New.String()
	case m.Take != nil:
		ev.Kind, ev.PreviousOwner, ev.NewOwner = EventTaken, m.Take.Previous.String(), m.Take.New.String()
	}
	if m.Message != nil {
		for _, at := range m.Message.Attachments {
			if at.Payload.URL != "" {
				ev.Attachments = append(ev.Attachments, chat.Attachment{Kind: attachmentKind(at.Type), Ref: at.Payload.URL})
			}
		}
	}
	if (ev.Kind == EventMessage || ev.Kind == EventEcho) && (ev.MID == "" || ev.PSID == "") {
		ev.Kind = EventOther // nothing to dedupe by or answer to
	}
	return ev
}

func attachmentKind(t string) string {
	switch t {
	case "image":
		return "photo"
	case "audio", "video":
		return t
	}
	return "file"
}

// handle gives one event to the chat service.
func (a *Adapter) handle(ctx context.Context, p app, ev Event) error {
	if ev.Kind == EventOther {
		return nil
	}
	ch, err := a.svc.ChannelByExternal(ctx, chat.KindMessenger, ev.PageID)
	if errors.Is(err, store.ErrNotFound) {
		a.log.InfoContext(ctx, "messenger: event of a page that is not a channel", "page", ev.PageID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("find the page's channel: %w", err)
	}
	if !ch.Active {
		return nil
	}
	var in chat.Inbound
	switch ev.Kind {
	case EventEcho:
		if ev.AppID == p.id {
			return nil // Tandem's own send, stored when it was made
		}
		in = chat.Inbound{Direction: chat.FromBot}
	case EventMessage:
		in = chat.Inbound{Direction: chat.FromCustomer}
		if ev.Standby {
			in.Direction = chat.Standby
		}
	case EventPassed:
		switch {
		case ev.NewOwner == p.id:
			return a.svc.Handover(ctx, ch, ev.PSID, true)
		case ev.PreviousOwner == p.id:
			return a.svc.Handover(ctx, ch, ev.PSID, false)
		}
		return nil
	case EventTaken:
		if ev.PreviousOwner == p.id && ev.NewOwner != p.id {
			return a.svc.Handover(ctx, ch, ev.PSID, false)
		}
		return nil
	}
	in.ID, in.Address, in.Text, in.Attachments, in.At = ev.MID, ev.PSID, ev.Text, ev.Attachments, ev.At
	in.Customer = chat.Customer{ID: ev.PSID, Name: "Messenger user"}
	if in.Direction != chat.FromBot {
		if name := a.customerName(ctx, ch, ev.PSID); name != "" {
			in.Customer.Name = name
		}
	}
	err = a.svc.Receive(ctx, ch, in)
	if errors.Is(err, chat.ErrChannelInactive) {
		return nil
	}
	return err
}
