package telegram

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
)

const (
	maxTextLen    = 4096 // UTF-16 code units after entity parsing
	maxCaptionLen = 1024
)

func (s *Server) getMe(_ context.Context, b *bot, _ *params) (result, *apiError) {
	s.mu.Lock()
	u, readAll := b.user, b.readAll
	s.mu.Unlock()
	return result{v: struct {
		User
		CanJoinGroups           bool `json:"can_join_groups"`
		CanReadAllGroupMessages bool `json:"can_read_all_group_messages"`
		SupportsInlineQueries   bool `json:"supports_inline_queries"`
		CanConnectToBusiness    bool `json:"can_connect_to_business"`
		HasMainWebApp           bool `json:"has_main_web_app"`
	}{User: u, CanJoinGroups: true, CanReadAllGroupMessages: readAll}}, nil
}

// resolveChatLocked finds the chat a method names, with the real errors:
// an unknown chat, an upgraded group (migrate_to_chat_id) and, for
// sending, a user who blocked the bot or never started it.
func (s *Server) resolveChatLocked(b *bot, raw string, sending bool) (*chat, *apiError) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, badRequest("chat_id is empty")
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, badRequest("chat not found") // @username: no chat here has a public username
	}
	c := b.chats[id]
	if c == nil {
		if sending && s.knownMemberLocked(b, id) {
			return nil, &apiError{code: 403, desc: "Forbidden: bot can't initiate conversation with a user"}
		}
		return nil, badRequest("chat not found")
	}
	if c.migratedTo != 0 {
		return nil, &apiError{code: 400, desc: "Bad Request: group chat was upgraded to a supergroup chat", migrateTo: c.migratedTo}
	}
	if sending && c.blocked {
		return nil, &apiError{code: 403, desc: "Forbidden: bot was blocked by the user"}
	}
	return c, nil
}

// knownMemberLocked: the bot met the user in one of its groups.
func (s *Server) knownMemberLocked(b *bot, userID int64) bool {
	if userID <= 0 {
		return false
	}
	for _, c := range b.chats {
		if c.members[userID] {
			return true
		}
	}
	return false
}

// replyLocked reads reply_parameters (or the older reply_to_message_id).
func (s *Server) replyLocked(c *chat, p *params) (*Message, *apiError) {
	var rp struct {
		MessageID                int64 `json:"message_id"`
		AllowSendingWithoutReply bool  `json:"allow_sending_without_reply"`
	}
	if raw := strings.TrimSpace(p.str("reply_parameters")); raw != "" {
		if err := json.Unmarshal([]byte(raw), &rp); err != nil {
			return nil, badRequest("can't parse reply parameters JSON object")
		}
	} else {
		rp.MessageID = p.int("reply_to_message_id", 0, 0, 1<<53)
		rp.AllowSendingWithoutReply = p.bool("allow_sending_without_reply")
	}
	if rp.MessageID <= 0 {
		return nil, nil
	}
	if m, ok := c.msgs[rp.MessageID]; ok {
		return shallow(m), nil
	}
	if rp.AllowSendingWithoutReply {
		return nil, nil
	}
	return nil, badRequest("message to be replied not found")
}

// replyMarkup checks reply_markup and returns what a sent message echoes:
// an inline keyboard only.
func replyMarkup(p *params) (json.RawMessage, *apiError) {
	raw := strings.TrimSpace(p.str("reply_markup"))
	if raw == "" {
		return nil, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	if kb, ok := obj["inline_keyboard"]; ok {
		var rows [][]json.RawMessage
		if err := json.Unmarshal(kb, &rows); err != nil {
			return nil, badRequest("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array")
		}
		out, _ := json.Marshal(map[string]json.RawMessage{"inline_keyboard": kb})
		return out, nil
	}
	return nil, nil
}

// formatted reads a text or caption with its parse_mode or entities;
// parse_mode wins when both are given, as in the real server.
func formatted(text, parseMode, entities string) (string, []MessageEntity, *apiError) {
	mode := strings.ToLower(strings.TrimSpace(parseMode))
	var ents []MessageEntity
	var err error
	switch mode {
	case "", "none":
		if raw := strings.TrimSpace(entities); raw != "" {
			if json.Unmarshal([]byte(raw), &ents) != nil {
				return "", nil, badRequest("can't parse entities JSON object")
			}
		}
	case "html":
		text, ents, err = parseHTML(text)
	case "markdownv2":
		text, ents, err = parseMarkdownV2(text)
	case "markdown":
		text, ents, err = parseMarkdown(text)
	default:
		return "", nil, badRequest("unsupported parse_mode")
	}
	if err != nil {
		return "", nil, badRequest("can't parse entities: " + err.Error())
	}
	text, ents = trimFormatted(text, ents)
	return text, ents, nil
}

// newSentLocked stores a message from the bot in the chat.
func (s *Server) newSentLocked(b *bot, c *chat, m *Message) {
	bu := b.user
	m.MessageID = c.nextID
	m.From = &bu
	m.Chat = c.wire
	m.Date = s.now().Unix()
	c.nextID++
	c.msgs[m.MessageID] = m
	c.sent = append(c.sent, *m)
	s.bumpLocked()
}

func (s *Server) sendMessage(_ context.Context, b *bot, p *params) (result, *apiError) {
	text := p.str("text")
	if text == "" {
		return result{}, badRequest("message text is empty")
	}
	text, ents, aerr := formatted(text, p.str("parse_mode"), p.str("entities"))
	if aerr != nil {
		return result{}, aerr
	}
	if text == "" {
		return result{}, badRequest("message text is empty")
	}
	markup, aerr := replyMarkup(p)
	if aerr != nil {
		return result{}, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.resolveChatLocked(b, p.str("chat_id"), true)
	if aerr != nil {
		return result{}, aerr
	}
	reply, aerr := s.replyLocked(c, p)
	if aerr != nil {
		return result{}, aerr
	}
	if utf16Len(text) > maxTextLen {
		return result{}, badRequest("message is too long")
	}
	if aerr := s.rateLimitLocked(b, c); aerr != nil {
		return result{}, aerr
	}
	m := &Message{Text: text, Entities: ents, ReplyToMessage: reply, ReplyMarkup: markup}
	s.newSentLocked(b, c, m)
	return result{v: m}, nil
}

func (s *Server) sendPhoto(_ context.Context, b *bot, p *params) (result, *apiError) {
	return s.sendMedia(b, p, "photo")
}

func (s *Server) sendDocument(_ context.Context, b *bot, p *params) (result, *apiError) {
	return s.sendMedia(b, p, "document")
}

func (s *Server) sendMedia(b *bot, p *params, kind string) (result, *apiError) {
	up, existing, aerr := s.inputFile(p, kind, kind)
	if aerr != nil {
		return result{}, aerr
	}
	caption, ents, aerr := formatted(p.str("caption"), p.str("parse_mode"), p.str("caption_entities"))
	if aerr != nil {
		return result{}, aerr
	}
	markup, aerr := replyMarkup(p)
	if aerr != nil {
		return result{}, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.resolveChatLocked(b, p.str("chat_id"), true)
	if aerr != nil {
		return result{}, aerr
	}
	reply, aerr := s.replyLocked(c, p)
	if aerr != nil {
		return result{}, aerr
	}
	if utf16Len(caption) > maxCaptionLen {
		return result{}, badRequest("message caption is too long")
	}
	if aerr := s.rateLimitLocked(b, c); aerr != nil {
		return result{}, aerr
	}
	m := &Message{Caption: caption, CaptionEntities: ents, ReplyToMessage: reply, ReplyMarkup: markup}
	switch {
	case kind == "photo" && existing != nil:
		m.Photo = append([]PhotoSize(nil), existing.sizes...)
	case kind == "photo":
		sizes, err := s.storePhotoLocked(&Upload{Data: up.data})
		if err != nil {
			return result{}, badRequest("IMAGE_PROCESS_FAILED")
		}
		m.Photo = sizes
	case existing != nil:
		m.Document = &Document{FileID: existing.id, FileUniqueID: existing.uniqueID, FileName: existing.name, MimeType: existing.mime, FileSize: len(existing.data)}
	default:
		doc, err := s.storeDocumentLocked(&Upload{FileName: up.name, MimeType: up.mimeType, Data: up.data})
		if err != nil {
			return result{}, badRequest("file must be non-empty")
		}
		m.Document = doc
	}
	s.newSentLocked(b, c, m)
	return result{v: m}, nil
}

var chatActions = map[string]bool{"typing": true, "upload_photo": true, "record_video": true, "upload_video": true,
	"record_voice": true, "upload_voice": true, "upload_document": true, "choose_sticker": true,
	"find_location": true, "record_video_note": true, "upload_video_note": true}

func (s *Server) sendChatAction(_ context.Context, b *bot, p *params) (result, *apiError) {
	if !chatActions[strings.ToLower(strings.TrimSpace(p.str("action")))] {
		return result{}, badRequest("wrong parameter action in request")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, aerr := s.resolveChatLocked(b, p.str("chat_id"), true); aerr != nil {
		return result{}, aerr
	}
	return result{v: true}, nil
}

// chatFullInfo is getChat's result.
type chatFullInfo struct {
	Chat
	AccentColorID    int      `json:"accent_color_id"`
	MaxReactionCount int      `json:"max_reaction_count"`
	ActiveUsernames  []string `json:"active_usernames,omitempty"`
}

func (s *Server) getChat(_ context.Context, b *bot, p *params) (result, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, aerr := s.resolveChatLocked(b, p.str("chat_id"), false)
	if aerr != nil {
		return result{}, aerr
	}
	info := chatFullInfo{Chat: c.wire, AccentColorID: int(abs(c.wire.ID) % 7), MaxReactionCount: 11}
	if c.wire.Username != "" {
		info.ActiveUsernames = []string{c.wire.Username}
	}
	return result{v: info}, nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
