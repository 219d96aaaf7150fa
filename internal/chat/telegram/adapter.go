package telegram

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tandem-crm/tandem/internal/chat"
)

// DefaultAPIURL is Telegram's Bot API; the TelegramApiUrl setting points
// Tandem at another (a test emulator).
const DefaultAPIURL = "https://api.telegram.org"

// HookPrefix is where Telegram posts a channel's updates: HookPrefix +
// channel id, appended to SiteUrl.
const HookPrefix = "/hooks/telegram/"

// Errors of connecting a bot.
var (
	// ErrBadToken: Telegram does not know the token.
	ErrBadToken = errors.New("telegram does not accept this bot token")
	// ErrUsedElsewhere: another program receives the bot's updates.
	ErrUsedElsewhere = errors.New("this bot token is used by another program")
)

// secrets are a channel's sealed values.
type secrets struct {
	Token         string `json:"token"`
	WebhookSecret string `json:"webhook_secret"`
}

// config is a channel's plain settings.
type config struct {
	Username string `json:"username"`
}

// Adapter is the Telegram channel kind.
type Adapter struct {
	svc    *chat.Service
	http   *http.Client
	log    *slog.Logger
	holder string // this process, for poll leases
}

// New returns the adapter; svc receives what bots deliver.
func New(svc *chat.Service, log *slog.Logger) *Adapter {
	if log == nil {
		log = slog.Default()
	}
	var b [6]byte
	rand.Read(b[:])
	return &Adapter{svc: svc, log: log, holder: "tg-" + base64.RawURLEncoding.EncodeToString(b[:]),
		http: &http.Client{Timeout: pollTimeout + 15*time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second}}}
}

// Kind implements chat.Adapter.
func (a *Adapter) Kind() chat.Kind { return chat.KindTelegram }

func (a *Adapter) base(ctx context.Context) string {
	if u := a.svc.Setting(ctx, "TelegramApiUrl"); u != "" {
		return trimSlash(u)
	}
	return DefaultAPIURL
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

func (a *Adapter) client(ctx context.Context, ch *chat.Channel) (*client, secrets, error) {
	var sec secrets
	if err := json.Unmarshal(ch.Secret, &sec); err != nil || sec.Token == "" {
		return nil, sec, fmt.Errorf("telegram channel %s has no token", ch.ID)
	}
	return &client{base: a.base(ctx), token: sec.Token, http: a.http}, sec, nil
}

// Connect verifies a bot token with getMe and makes the bot a channel
// routed to queueID, its customers' contacts owned by ownerID.
// ErrBadToken when Telegram refuses the token; chat's ErrDuplicate
// (store.ErrDuplicate) when the bot is a channel already.
func (a *Adapter) Connect(ctx context.Context, token, queueID, ownerID string) (*chat.Channel, error) {
	c := &client{base: a.base(ctx), token: token, http: a.http}
	var me User
	if err := c.call(ctx, "getMe", struct{}{}, &me); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && (ae.Code == http.StatusUnauthorized || ae.Code == http.StatusNotFound) {
			return nil, ErrBadToken
		}
		return nil, fmt.Errorf("reach telegram: %w", err)
	}
	name := "@" + me.Username
	if me.Username == "" {
		name = me.FirstName
	}
	return a.svc.CreateChannel(ctx, chat.NewChannel{Kind: chat.KindTelegram, ExternalID: strconv.FormatInt(me.ID, 10),
		Name: name, QueueID: queueID, ContactOwnerID: ownerID,
		Config: config{Username: me.Username}, Secret: secrets{Token: token, WebhookSecret: randomSecret()}})
}

// randomSecret is a webhook secret_token: 1–256 of A-Z a-z 0-9 _ -.
func randomSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// hookURL is where Telegram posts a channel's updates, "" without SiteUrl
// (the channel is then polled).
func (a *Adapter) hookURL(ctx context.Context, ch *chat.Channel) string {
	site := a.svc.SiteURL(ctx)
	if site == "" {
		return ""
	}
	return site + HookPrefix + ch.ID
}

var allowedUpdates = []string{"message", "edited_message", "my_chat_member"}

// Activate registers the channel's webhook with its secret token when
// SiteUrl is set; without it, removes any webhook so the channel can be
// polled (Run polls it).
func (a *Adapter) Activate(ctx context.Context, ch *chat.Channel) error {
	c, sec, err := a.client(ctx, ch)
	if err != nil {
		return err
	}
	if url := a.hookURL(ctx, ch); url != "" {
		return c.call(ctx, "setWebhook", map[string]any{"url": url, "secret_token": sec.WebhookSecret,
			"allowed_updates": allowedUpdates, "max_connections": 40}, nil)
	}
	return c.call(ctx, "deleteWebhook", map[string]any{"drop_pending_updates": false}, nil)
}

// Deactivate removes the channel's webhook: Telegram keeps the updates
// (for a day) until the channel is switched on again.
func (a *Adapter) Deactivate(ctx context.Context, ch *chat.Channel) error {
	c, _, err := a.client(ctx, ch)
	if err != nil {
		return err
	}
	return c.call(ctx, "deleteWebhook", map[string]any{"drop_pending_updates": false}, nil)
}

// Send implements chat.Adapter with sendMessage. A short 429 is waited out
// once; a group upgraded to a supergroup is followed to its new id.
func (a *Adapter) Send(ctx context.Context, ch *chat.Channel, address string, out chat.Outgoing) (string, error) {
	c, _, err := a.client(ctx, ch)
	if err != nil {
		return "", err
	}
	var m Message
	for attempt := 0; ; attempt++ {
		err = c.call(ctx, "sendMessage", map[string]any{"chat_id": address, "text": out.Text}, &m)
		var ae *APIError
		if err == nil || !errors.As(err, &ae) || attempt > 0 {
			break
		}
		if ae.MigrateTo != 0 {
			address = strconv.FormatInt(ae.MigrateTo, 10)
			continue
		}
		if ae.Code == http.StatusTooManyRequests && ae.RetryAfter > 0 && ae.RetryAfter <= 3 {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(time.Duration(ae.RetryAfter) * time.Second):
			}
			continue
		}
		break
	}
	if err != nil {
		return "", sendError(err)
	}
	return strconv.FormatInt(m.Chat.ID, 10) + ":" + strconv.FormatInt(m.MessageID, 10), nil
}

// sendError names a refusal for the operator.
func sendError(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return &chat.SendError{Code: "failed", Temporary: true, Err: err}
	}
	switch {
	case ae.Code == http.StatusForbidden:
		return &chat.SendError{Code: "blocked", Err: err}
	case ae.Code == http.StatusTooManyRequests:
		return &chat.SendError{Code: "rate_limited", Temporary: true, Err: err}
	case ae.Code == http.StatusBadRequest && ae.Description == "Bad Request: chat not found":
		return &chat.SendError{Code: "not_found", Err: err}
	}
	return &chat.SendError{Code: "failed", Temporary: ae.Code >= 500, Err: err}
}

// Hooks implements chat.Hooker.
func (a *Adapter) Hooks() []chat.Hook {
	return []chat.Hook{{Pattern: "POST " + HookPrefix + "{channel}", Handler: http.HandlerFunc(a.hook)}}
}

// maxUpdate bounds an update's body; Telegram's are a few kilobytes.
const maxUpdate = 1 << 20

// hook takes one webhook delivery. The secret token is checked before the
// body is read (401 for a wrong one, nothing stored); a malformed update
// is logged and acknowledged (Telegram would only send it again); a
// failure on Tandem's side answers 500 so Telegram retries.
func (a *Adapter) hook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ch, err := a.svc.Channel(ctx, r.PathValue("channel"))
	if err != nil || ch.Kind != chat.KindTelegram {
		http.Error(w, "unknown channel", http.StatusNotFound)
		return
	}
	var sec secrets
	if err := json.Unmarshal(ch.Secret, &sec); err != nil || sec.WebhookSecret == "" {
		http.Error(w, "unknown channel", http.StatusNotFound)
		return
	}
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(sec.WebhookSecret)) != 1 {
		http.Error(w, "wrong secret token", http.StatusUnauthorized)
		return
	}
	if !ch.Active {
		w.WriteHeader(http.StatusOK) // switched off: not kept, not retried
		return
	}
	var u Update
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxUpdate)).Decode(&u); err != nil {
		a.log.WarnContext(ctx, "telegram: malformed update skipped", "channel", ch.ID, "err", err)
		w.WriteHeader(http.StatusOK)
		return
	}
	if err := a.handle(ctx, ch, u); err != nil {
		a.log.ErrorContext(ctx, "telegram: update not stored", "channel", ch.ID, "update", u.UpdateID, "err", err)
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handle gives an update to the chat service.
func (a *Adapter) handle(ctx context.Context, ch *chat.Channel, u Update) error {
	in, ok, why := Inbound(u)
	if !ok {
		if why != "" {
			a.log.InfoContext(ctx, "telegram: update skipped", "channel", ch.ID, "update", u.UpdateID, "why", why)
		}
		return nil
	}
	err := a.svc.Receive(ctx, ch, in)
	if errors.Is(err, chat.ErrChannelInactive) {
		return nil
	}
	return err
}

// Inbound turns an update into a chat event: messages in private chats
// (a customer writing to the bot). Other updates are not chats: ok is
// false, why says why when it is worth a log line ("" for the ones that
// are simply not for chats, like the bot's membership changes).
func Inbound(u Update) (in chat.Inbound, ok bool, why string) {
	m := u.Message
	if m == nil {
		m = u.EditedMessage
	}
	if m == nil {
		return in, false, ""
	}
	if m.Chat.Type != "private" {
		return in, false, "not a private chat"
	}
	if m.From == nil || m.From.ID == 0 {
		return in, false, "no sender"
	}
	if m.Chat.ID == 0 {
		return in, false, "no chat id"
	}
	in = chat.Inbound{
		ID:       strconv.FormatInt(u.UpdateID, 10),
		Address:  strconv.FormatInt(m.Chat.ID, 10),
		Customer: chat.Customer{ID: strconv.FormatInt(m.From.ID, 10), Name: m.From.Name(), Username: m.From.Username},
		Text:     m.Text,
	}
	if m.Date > 0 {
		in.At = time.Unix(m.Date, 0).UTC()
	}
	if in.Text == "" {
		in.Text = m.Caption
	}
	if len(m.Photo) > 0 {
		best := m.Photo[0]
		for _, p := range m.Photo[1:] {
			if p.Width > best.Width {
				best = p
			}
		}
		in.Attachments = append(in.Attachments, chat.Attachment{Kind: "photo", Ref: best.FileID, Size: best.FileSize})
	}
	if d := m.Document; d != nil && d.FileID != "" {
		in.Attachments = append(in.Attachments, chat.Attachment{Kind: "document", Ref: d.FileID, Name: d.FileName, Size: d.FileSize})
	}
	if c := m.Contact; c != nil {
		if c.UserID == m.From.ID {
			in.Customer.Phone = c.PhoneNumber
		}
		if in.Text == "" {
			in.Text = fmt.Sprintf("%s %s %s", c.FirstName, c.LastName, c.PhoneNumber)
		}
	}
	return in, true, ""
}
