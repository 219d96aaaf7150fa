package telegram

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// bot is one bot token with its update queue, delivery and chats.
type bot struct {
	token   string
	user    User
	readAll bool // can_read_all_group_messages (privacy mode off)

	q       updateQueue
	poll    *longPoll       // the getUpdates call waiting, or the foreign poller
	wh      *webhook        // nil: no webhook (getUpdates allowed)
	allowed map[string]bool // allowed_updates; nil: the default set
	whLog   []WebhookAttempt

	chats   map[int64]*chat
	buckets buckets

	nextSetWebhook  time.Time
	foreignStop     chan struct{} // the foreign poller's; nil when none runs
	foreignReceived int
}

// chat is a chat as one bot sees it.
type chat struct {
	wire       Chat
	started    bool // private: the user has written to the bot
	blocked    bool // private: the user blocked the bot
	migratedTo int64
	creator    int64
	members    map[int64]bool
	nextID     int64
	msgs       map[int64]*Message // every message of the chat, for replies and edits
	sent       []Message          // what the bot sent, oldest first
}

func (b *bot) newChat(wire Chat) *chat {
	c := &chat{wire: wire, nextID: 1, members: map[int64]bool{}, msgs: map[int64]*Message{}}
	b.chats[wire.ID] = c
	return c
}

// BotInfo describes a bot; CreateBot fills the fields left empty.
type BotInfo struct {
	// Token is "<id>:<35 characters of A-Z a-z 0-9 _ ->", the real format.
	Token     string `json:"token"`
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	// CanReadAllGroupMessages turns privacy mode off: the bot receives
	// every group message, not only commands, replies to it and mentions.
	CanReadAllGroupMessages bool `json:"can_read_all_group_messages"`
}

var tokenRE = regexp.MustCompile(`^([1-9][0-9]{0,15}):[A-Za-z0-9_-]{35}$`)

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

// CreateBot adds a bot. A token given must have the real format (and its
// id part must equal ID when both are given); otherwise one is made from
// the seed. The username defaults to tandem_<n>_bot and must end in "bot",
// as BotFather requires.
func (s *Server) CreateBot(in BotInfo) (BotInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.Token != "" {
		m := tokenRE.FindStringSubmatch(in.Token)
		if m == nil {
			return BotInfo{}, errors.New("telegram emulator: a token is <bot id>:<35 characters of A-Z a-z 0-9 _ ->")
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		if in.ID != 0 && in.ID != id {
			return BotInfo{}, fmt.Errorf("telegram emulator: token %q does not start with the bot id %d", in.Token, in.ID)
		}
		in.ID = id
	}
	s.seq++
	if in.ID == 0 {
		in.ID = 7100000000 + s.seq
	}
	if in.ID <= 0 || in.ID >= 1<<54 {
		return BotInfo{}, fmt.Errorf("telegram emulator: bad bot id %d", in.ID)
	}
	if in.Token == "" {
		var sb strings.Builder
		sb.WriteString("AA")
		for range 33 {
			sb.WriteByte(tokenAlphabet[s.rng.IntN(len(tokenAlphabet))])
		}
		in.Token = strconv.FormatInt(in.ID, 10) + ":" + sb.String()
	}
	if in.Username == "" {
		in.Username = fmt.Sprintf("tandem_%d_bot", s.seq)
	}
	if !strings.HasSuffix(strings.ToLower(in.Username), "bot") {
		return BotInfo{}, fmt.Errorf("telegram emulator: a bot's username ends in \"bot\", got %q", in.Username)
	}
	if in.FirstName == "" {
		in.FirstName = "Tandem Test Bot"
	}
	if _, ok := s.bots[in.Token]; ok {
		return BotInfo{}, errors.New("telegram emulator: the token is taken")
	}
	if _, ok := s.botIDs[in.ID]; ok {
		return BotInfo{}, fmt.Errorf("telegram emulator: bot id %d is taken", in.ID)
	}
	b := &bot{
		token:   in.Token,
		user:    User{ID: in.ID, IsBot: true, FirstName: in.FirstName, Username: in.Username},
		readAll: in.CanReadAllGroupMessages,
		chats:   map[int64]*chat{},
		buckets: newBuckets(),
	}
	s.bots[in.Token] = b
	s.botIDs[in.ID] = b
	return in, nil
}

// Bots lists the bots.
func (s *Server) Bots() []BotInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]BotInfo, 0, len(s.bots))
	for _, b := range s.bots {
		out = append(out, BotInfo{Token: b.token, ID: b.user.ID, Username: b.user.Username, FirstName: b.user.FirstName, CanReadAllGroupMessages: b.readAll})
	}
	return out
}

func (s *Server) botLocked(token string) (*bot, error) {
	b, ok := s.bots[token]
	if !ok {
		return nil, &ControlError{Code: 404, Message: "no bot with that token"}
	}
	return b, nil
}

// AddUser registers a Telegram user (a customer) or updates the names of a
// known one; an ID of 0 makes a new user. The user is returned as stored.
func (s *Server) AddUser(u User) (User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUserLocked(u)
}

func (s *Server) addUserLocked(u User) (User, error) {
	if u.IsBot {
		return User{}, errors.New("telegram emulator: customers are not bots")
	}
	if u.ID < 0 || u.ID >= 1<<52 {
		return User{}, fmt.Errorf("telegram emulator: bad user id %d", u.ID)
	}
	if old, ok := s.users[u.ID]; ok && u.ID != 0 {
		if u.FirstName != "" {
			old.FirstName = u.FirstName
		}
		if u.LastName != "" {
			old.LastName = u.LastName
		}
		if u.Username != "" {
			old.Username = u.Username
		}
		if u.LanguageCode != "" {
			old.LanguageCode = u.LanguageCode
		}
		return *old, nil
	}
	if u.ID == 0 {
		s.seq++
		u.ID = 5000000000 + s.seq
	}
	if _, ok := s.botIDs[u.ID]; ok {
		return User{}, fmt.Errorf("telegram emulator: id %d is a bot's", u.ID)
	}
	if u.FirstName == "" {
		u.FirstName = "Customer"
	}
	s.users[u.ID] = &u
	return u, nil
}

// Upload is a file a customer sends (in Incoming) — raw bytes, base64 in
// the control API's JSON.
type Upload struct {
	FileName string `json:"file_name,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	Data     []byte `json:"data,omitempty"`
	// Width and Height of a photo without Data: a JPEG of that size
	// (default 640×480) is made.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
}

// Incoming is a message a customer writes to a bot.
type Incoming struct {
	// From is the customer; an unknown one is registered (AddUser).
	From User `json:"from"`
	// ChatID is 0 for the private chat with From, or a group's id.
	ChatID int64 `json:"chat_id,omitempty"`
	// Exactly one of Text, Photo, Document and Contact.
	Text     string          `json:"text,omitempty"`
	Entities []MessageEntity `json:"entities,omitempty"`
	Photo    *Upload         `json:"photo,omitempty"`
	Document *Upload         `json:"document,omitempty"`
	Contact  *Contact        `json:"contact,omitempty"`
	// Caption of a photo or document.
	Caption string `json:"caption,omitempty"`
	// ReplyToMessageID makes the message a reply to one of the chat.
	ReplyToMessageID int64  `json:"reply_to_message_id,omitempty"`
	MediaGroupID     string `json:"media_group_id,omitempty"`
}

// Write has a customer write to a bot: the message is stored and becomes a
// "message" update (unless allowed_updates leaves messages out, or privacy
// mode hides a group message from the bot). A customer who had blocked the
// bot unblocks it first, as Telegram's "Restart" does (a my_chat_member
// update). It returns the message as the bot receives it.
func (s *Server) Write(token string, in Incoming) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.botLocked(token)
	if err != nil {
		return Message{}, err
	}
	n := 0
	for _, set := range []bool{in.Text != "", in.Photo != nil, in.Document != nil, in.Contact != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return Message{}, errors.New("telegram emulator: a message has exactly one of text, photo, document and contact")
	}
	if len(in.Text) > 0 && utf16Len(in.Text) > maxTextLen {
		return Message{}, errors.New("telegram emulator: text longer than 4096 characters")
	}
	u, err := s.addUserLocked(in.From)
	if err != nil {
		return Message{}, err
	}
	now := s.now()
	var c *chat
	if in.ChatID == 0 || in.ChatID == u.ID {
		c = b.chats[u.ID]
		if c == nil {
			c = b.newChat(Chat{ID: u.ID, Type: "private", FirstName: u.FirstName, LastName: u.LastName, Username: u.Username})
		}
		c.wire.FirstName, c.wire.LastName, c.wire.Username = u.FirstName, u.LastName, u.Username
		c.started = true
		if c.blocked {
			c.blocked = false
			s.memberUpdateLocked(b, c, u, "kicked", "member", now)
		}
	} else {
		c = b.chats[in.ChatID]
		if c == nil || c.wire.Type == "private" {
			return Message{}, &ControlError{Code: 404, Message: fmt.Sprintf("the bot has no group %d", in.ChatID)}
		}
		if c.migratedTo != 0 {
			return Message{}, fmt.Errorf("telegram emulator: group %d was upgraded to supergroup %d", in.ChatID, c.migratedTo)
		}
		c.members[u.ID] = true
	}
	m := &Message{MessageID: c.nextID, From: &u, Chat: c.wire, Date: now.Unix(), MediaGroupID: in.MediaGroupID}
	if in.ReplyToMessageID != 0 {
		orig, ok := c.msgs[in.ReplyToMessageID]
		if !ok {
			return Message{}, fmt.Errorf("telegram emulator: no message %d in chat %d", in.ReplyToMessageID, c.wire.ID)
		}
		m.ReplyToMessage = shallow(orig)
	}
	switch {
	case in.Text != "":
		m.Text = in.Text
		m.Entities = in.Entities
		if m.Entities == nil {
			m.Entities = commandEntity(in.Text)
		}
	case in.Contact != nil:
		ct := *in.Contact
		if ct.PhoneNumber == "" || ct.FirstName == "" {
			return Message{}, errors.New("telegram emulator: a contact needs phone_number and first_name")
		}
		m.Contact = &ct
	case in.Photo != nil:
		sizes, err := s.storePhotoLocked(in.Photo)
		if err != nil {
			return Message{}, err
		}
		m.Photo = sizes
		m.Caption = in.Caption
	case in.Document != nil:
		doc, err := s.storeDocumentLocked(in.Document)
		if err != nil {
			return Message{}, err
		}
		m.Document = doc
		m.Caption = in.Caption
	}
	c.nextID++
	c.msgs[m.MessageID] = m
	if s.botSeesLocked(b, c, m) {
		s.enqueueLocked(b, "message", Update{Message: m}, chatKey{chat: c.wire.ID})
	}
	s.bumpLocked()
	return *m, nil
}

// botSeesLocked applies privacy mode: in groups a bot that cannot read
// all messages gets commands, replies to its own messages and mentions of
// it only (service messages always).
func (s *Server) botSeesLocked(b *bot, c *chat, m *Message) bool {
	if c.wire.Type == "private" || b.readAll {
		return true
	}
	text := m.Text + m.Caption
	if strings.HasPrefix(text, "/") {
		return true
	}
	if m.ReplyToMessage != nil && m.ReplyToMessage.From != nil && m.ReplyToMessage.From.ID == b.user.ID {
		return true
	}
	return strings.Contains(strings.ToLower(text), "@"+strings.ToLower(b.user.Username))
}

// commandEntity marks a leading /command as Telegram's clients do.
func commandEntity(text string) []MessageEntity {
	if !strings.HasPrefix(text, "/") || len(text) < 2 {
		return nil
	}
	end := strings.IndexAny(text, " \n\t")
	if end < 0 {
		end = len(text)
	}
	return []MessageEntity{{Type: "bot_command", Offset: 0, Length: utf16Len(text[:end])}}
}

// shallow copies a message for reply_to_message, which Telegram does not
// nest further.
func shallow(m *Message) *Message {
	c := *m
	c.ReplyToMessage = nil
	return &c
}

// Edit has a customer edit the text of a message they wrote: an
// edited_message update with edit_date.
func (s *Server) Edit(token string, chatID, messageID int64, text string) (Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.botLocked(token)
	if err != nil {
		return Message{}, err
	}
	c := b.chats[chatID]
	if c == nil {
		return Message{}, &ControlError{Code: 404, Message: fmt.Sprintf("the bot has no chat %d", chatID)}
	}
	m, ok := c.msgs[messageID]
	if !ok || m.From == nil || m.From.IsBot || m.Text == "" {
		return Message{}, &ControlError{Code: 404, Message: fmt.Sprintf("no text message %d a customer wrote in chat %d", messageID, chatID)}
	}
	if text == "" || utf16Len(text) > maxTextLen {
		return Message{}, errors.New("telegram emulator: an edit needs 1–4096 characters of text")
	}
	m.Text = text
	m.Entities = commandEntity(text)
	m.EditDate = s.now().Unix()
	if s.botSeesLocked(b, c, m) {
		e := *m
		s.enqueueLocked(b, "edited_message", Update{EditedMessage: &e}, chatKey{chat: chatID})
	}
	s.bumpLocked()
	return *m, nil
}

// CreateGroup makes a group with the bot and the given customers; the
// first member is its creator. The bot receives my_chat_member (it was
// added) and the group_chat_created service message.
func (s *Server) CreateGroup(token, title string, members ...int64) (Chat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.botLocked(token)
	if err != nil {
		return Chat{}, err
	}
	if title == "" || len(members) == 0 {
		return Chat{}, errors.New("telegram emulator: a group needs a title and a member who creates it")
	}
	for _, id := range members {
		if _, ok := s.users[id]; !ok {
			return Chat{}, &ControlError{Code: 404, Message: fmt.Sprintf("no user %d", id)}
		}
	}
	s.seq++
	c := b.newChat(Chat{ID: -(4200000000 + s.seq), Type: "group", Title: title})
	c.creator = members[0]
	for _, id := range members {
		c.members[id] = true
	}
	creator := *s.users[members[0]]
	now := s.now()
	s.memberUpdateLocked(b, c, creator, "left", "member", now)
	s.serviceMessageLocked(b, c, creator, now, func(m *Message) { m.GroupChatCreated = true })
	s.bumpLocked()
	return c.wire, nil
}

// UpgradeGroup turns a group into a supergroup with a new "-100…" id. The
// old id is dead from then on: sending to it answers 400 with
// parameters.migrate_to_chat_id. The bot receives the two service
// messages, migrate_to_chat_id in the old chat and migrate_from_chat_id in
// the new one.
func (s *Server) UpgradeGroup(token string, chatID int64) (Chat, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.botLocked(token)
	if err != nil {
		return Chat{}, err
	}
	old := b.chats[chatID]
	if old == nil || old.wire.Type != "group" || old.migratedTo != 0 {
		return Chat{}, &ControlError{Code: 404, Message: fmt.Sprintf("the bot has no live group %d", chatID)}
	}
	s.seq++
	nc := b.newChat(Chat{ID: -(1000000000000 + 2200000000 + s.seq), Type: "supergroup", Title: old.wire.Title})
	nc.creator = old.creator
	for id := range old.members {
		nc.members[id] = true
	}
	old.migratedTo = nc.wire.ID
	creator := *s.users[old.creator]
	now := s.now()
	s.serviceMessageLocked(b, old, creator, now, func(m *Message) { m.MigrateToChatID = nc.wire.ID })
	s.serviceMessageLocked(b, nc, creator, now, func(m *Message) { m.MigrateFromChatID = chatID })
	s.bumpLocked()
	return nc.wire, nil
}

func (s *Server) serviceMessageLocked(b *bot, c *chat, from User, now time.Time, set func(*Message)) {
	m := &Message{MessageID: c.nextID, From: &from, Chat: c.wire, Date: now.Unix()}
	set(m)
	c.nextID++
	c.msgs[m.MessageID] = m
	s.enqueueLocked(b, "message", Update{Message: m}, chatKey{chat: c.wire.ID})
}

func (s *Server) memberUpdateLocked(b *bot, c *chat, from User, oldStatus, newStatus string, now time.Time) {
	s.enqueueLocked(b, "my_chat_member", Update{MyChatMember: &ChatMemberUpdated{
		Chat: c.wire, From: from, Date: now.Unix(),
		OldChatMember: ChatMember{Status: oldStatus, User: b.user},
		NewChatMember: ChatMember{Status: newStatus, User: b.user},
	}}, chatKey{chat: c.wire.ID})
}

// Block has a customer block (or unblock) the bot in their private chat:
// sends to them answer 403 "Forbidden: bot was blocked by the user", and
// the bot receives a my_chat_member update (member → kicked, or back).
func (s *Server) Block(token string, userID int64, blocked bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.botLocked(token)
	if err != nil {
		return err
	}
	c := b.chats[userID]
	if c == nil || c.wire.Type != "private" {
		return &ControlError{Code: 404, Message: fmt.Sprintf("user %d never wrote to the bot", userID)}
	}
	if c.blocked == blocked {
		return nil
	}
	c.blocked = blocked
	u := *s.users[userID]
	if blocked {
		s.memberUpdateLocked(b, c, u, "member", "kicked", s.now())
	} else {
		s.memberUpdateLocked(b, c, u, "kicked", "member", s.now())
	}
	s.bumpLocked()
	return nil
}

// Sent returns the messages the bot sent to a chat, oldest first.
func (s *Server) Sent(token string, chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bots[token]
	if b == nil || b.chats[chatID] == nil {
		return nil
	}
	return append([]Message(nil), b.chats[chatID].sent...)
}

// WaitSent blocks until the bot has sent at least n messages to the chat
// (counting from the start), then returns them all; ctx bounds the wait.
func (s *Server) WaitSent(ctx context.Context, token string, chatID int64, n int) ([]Message, error) {
	var out []Message
	err := s.waitFor(ctx, func() bool {
		b := s.bots[token]
		if b == nil || b.chats[chatID] == nil || len(b.chats[chatID].sent) < n {
			return false
		}
		out = append([]Message(nil), b.chats[chatID].sent...)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("telegram emulator: waiting for %d sent messages in chat %d: %w", n, chatID, err)
	}
	return out, nil
}

// WaitPolling blocks until a getUpdates call of the bot (not a foreign
// poller) is waiting for updates.
func (s *Server) WaitPolling(ctx context.Context, token string) error {
	return s.waitFor(ctx, func() bool {
		b := s.bots[token]
		return b != nil && b.poll != nil && !b.poll.foreign
	})
}
