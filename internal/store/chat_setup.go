package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tandem-crm/tandem/internal/crm"
)

// Chat set-up: queues with their operators, channels and chat actions.
// Package chat owns their rules (routing names, what a channel's config
// holds); the store keeps them as given.

// ChatQueue is a queue of chats and who works it.
type ChatQueue struct {
	ID      string
	Name    string
	Routing string // "all" or "least_busy"
	// CompletionMinutes after the last outgoing message complete a chat;
	// 0: never.
	CompletionMinutes int
	Members           []ChatQueueMember
	CreatedAt         time.Time
}

// ChatQueueMember is a user or a role working a queue.
type ChatQueueMember struct {
	Kind string // "user" or "role"
	ID   string
	Name string // read-only: the user's or the role's name
}

// ErrChatQueueInUse: a queue that channels route to cannot be deleted.
var ErrChatQueueInUse = errors.New("queue in use by a channel")

// SaveChatQueue creates q (empty ID) or replaces it with its members.
func (s *Store) SaveChatQueue(ctx context.Context, q *ChatQueue) error {
	now := crm.Micros(crm.Now())
	var minutes any
	if q.CompletionMinutes > 0 {
		minutes = q.CompletionMinutes
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if q.ID == "" {
			q.ID = newID()
			if _, err := tx.ExecContext(ctx, `INSERT INTO chat_queues (id, name, routing, completion_minutes, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $5)`, q.ID, q.Name, q.Routing, minutes, now); err != nil {
				if s.dialect.isUnique(err) {
					return ErrDuplicate
				}
				return fmt.Errorf("insert chat queue: %w", err)
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE chat_queues SET name = $2, routing = $3, completion_minutes = $4, updated_at = $5
				WHERE id = $1`, q.ID, q.Name, q.Routing, minutes, now)
			if err != nil {
				if s.dialect.isUnique(err) {
					return ErrDuplicate
				}
				return fmt.Errorf("update chat queue: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrNotFound
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM chat_queue_members WHERE queue_id = $1`, q.ID); err != nil {
				return fmt.Errorf("clear queue members: %w", err)
			}
		}
		for _, m := range q.Members {
			if _, err := tx.ExecContext(ctx, `INSERT INTO chat_queue_members (queue_id, member_kind, member_id) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, q.ID, m.Kind, m.ID); err != nil {
				return fmt.Errorf("insert queue member: %w", err)
			}
		}
		return nil
	})
}

// DeleteChatQueue deletes a queue no channel routes to; its actions go
// with it. Chats keep their history: a queue with chats is refused too.
func (s *Store) DeleteChatQueue(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var used int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM chat_channels WHERE queue_id = $1)
			+ (SELECT COUNT(*) FROM chats WHERE queue_id = $1)`, id).Scan(&used); err != nil {
			return fmt.Errorf("count queue uses: %w", err)
		}
		if used > 0 {
			return ErrChatQueueInUse
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM chat_queues WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete chat queue: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// ChatQueues lists every queue by name, with members.
func (s *Store) ChatQueues(ctx context.Context) ([]ChatQueue, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, routing, COALESCE(completion_minutes, 0), created_at FROM chat_queues ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list chat queues: %w", err)
	}
	var qs []ChatQueue
	idx := map[string]int{}
	for rows.Next() {
		var q ChatQueue
		var created int64
		if err := rows.Scan(&q.ID, &q.Name, &q.Routing, &q.CompletionMinutes, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan chat queue: %w", err)
		}
		q.CreatedAt = crm.FromMicros(created)
		idx[q.ID] = len(qs)
		qs = append(qs, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list chat queues: %w", err)
	}
	rows, err = s.r.QueryContext(ctx, `SELECT m.queue_id, m.member_kind, m.member_id, COALESCE(u.name, r.name, '')
		FROM chat_queue_members m
		LEFT JOIN users u ON m.member_kind = 'user' AND u.id = m.member_id
		LEFT JOIN roles r ON m.member_kind = 'role' AND r.id = m.member_id
		ORDER BY m.member_kind DESC, 4`)
	if err != nil {
		return nil, fmt.Errorf("list queue members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var qid string
		var m ChatQueueMember
		if err := rows.Scan(&qid, &m.Kind, &m.ID, &m.Name); err != nil {
			return nil, fmt.Errorf("scan queue member: %w", err)
		}
		if i, ok := idx[qid]; ok {
			qs[i].Members = append(qs[i].Members, m)
		}
	}
	return qs, rows.Err()
}

// ChatQueue returns one queue with its members.
func (s *Store) ChatQueue(ctx context.Context, id string) (*ChatQueue, error) {
	qs, err := s.ChatQueues(ctx)
	if err != nil {
		return nil, err
	}
	for i := range qs {
		if qs[i].ID == id {
			return &qs[i], nil
		}
	}
	return nil, ErrNotFound
}

// memberOf is the condition "user %[2]s works queue %[1]s", directly or
// through a role.
func memberOf(queueCol, userParam string) string {
	return fmt.Sprintf(`EXISTS (SELECT 1 FROM chat_queue_members qm WHERE qm.queue_id = %[1]s AND (
		(qm.member_kind = 'user' AND qm.member_id = %[2]s) OR
		(qm.member_kind = 'role' AND qm.member_id IN (SELECT role_id FROM user_roles WHERE user_id = %[2]s))))`, queueCol, userParam)
}

// ChatQueuesOf lists the ids of the queues userID works.
func (s *Store) ChatQueuesOf(ctx context.Context, userID string) ([]string, error) {
	return s.strings(ctx, `SELECT q.id FROM chat_queues q WHERE `+memberOf("q.id", "$1")+` ORDER BY q.id`, userID)
}

// ChatChannel is a Telegram bot or a Messenger page chats arrive through.
type ChatChannel struct {
	ID             string
	Kind           string // "telegram", "messenger"
	ExternalID     string // the bot's or the page's id
	Name           string
	Active         bool
	QueueID        string
	QueueName      string // read-only
	Config         string // JSON, the adapter's
	Secret         string // sealed, the adapter's
	ContactOwnerID string
	Health         string // "ok", "broken"
	HealthReason   string
	HealthAt       time.Time
	PollOffset     int64
	Chats          int // read-only: how many chats it has
	CreatedAt      time.Time
}

const (
	chatChannelCols = `c.id, c.kind, c.external_id, c.name, c.active, c.queue_id, q.name, c.config, c.secret, c.contact_owner_id,
	c.health, c.health_reason, c.health_at, c.poll_offset, (SELECT COUNT(*) FROM chats WHERE channel_id = c.id), c.created_at
	FROM chat_channels c JOIN chat_queues q ON q.id = c.queue_id`
	// chatChannelDeliveryCols leave the count of chats out: every
	// webhook delivery and reply reads its channel, and the count grows
	// with the channel's history.
	chatChannelDeliveryCols = `c.id, c.kind, c.external_id, c.name, c.active, c.queue_id, q.name, c.config, c.secret, c.contact_owner_id,
	c.health, c.health_reason, c.health_at, c.poll_offset, 0, c.created_at
	FROM chat_channels c JOIN chat_queues q ON q.id = c.queue_id`
)

func scanChatChannel(row interface{ Scan(...any) error }) (*ChatChannel, error) {
	var c ChatChannel
	var hat, created int64
	if err := row.Scan(&c.ID, &c.Kind, &c.ExternalID, &c.Name, &c.Active, &c.QueueID, &c.QueueName, &c.Config, &c.Secret,
		&c.ContactOwnerID, &c.Health, &c.HealthReason, &hat, &c.PollOffset, &c.Chats, &created); err != nil {
		return nil, err
	}
	if hat > 0 {
		c.HealthAt = crm.FromMicros(hat)
	}
	c.CreatedAt = crm.FromMicros(created)
	return &c, nil
}

// CreateChatChannel stores a new channel; ErrDuplicate when the bot or
// page already is one.
func (s *Store) CreateChatChannel(ctx context.Context, c *ChatChannel) error {
	c.ID = newID()
	c.CreatedAt = crm.Now()
	_, err := s.w.ExecContext(ctx, `INSERT INTO chat_channels (id, kind, external_id, name, active, queue_id, config, secret,
		contact_owner_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
		c.ID, c.Kind, c.ExternalID, c.Name, c.Active, c.QueueID, c.Config, c.Secret, c.ContactOwnerID, crm.Micros(c.CreatedAt))
	if err != nil {
		if s.dialect.isUnique(err) {
			return ErrDuplicate
		}
		return fmt.Errorf("insert chat channel: %w", err)
	}
	return nil
}

// UpdateChatChannel saves a channel's name, active flag, queue, config and
// secret.
func (s *Store) UpdateChatChannel(ctx context.Context, c *ChatChannel) error {
	res, err := s.w.ExecContext(ctx, `UPDATE chat_channels SET name = $2, active = $3, queue_id = $4, config = $5, secret = $6,
		contact_owner_id = $7, updated_at = $8 WHERE id = $1`,
		c.ID, c.Name, c.Active, c.QueueID, c.Config, c.Secret, c.ContactOwnerID, crm.Micros(crm.Now()))
	if err != nil {
		return fmt.Errorf("update chat channel: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ErrChannelHasChats: a channel with chats can only be deactivated.
var ErrChannelHasChats = errors.New("channel has chats")

// DeleteChatChannel deletes a channel that has no chats.
func (s *Store) DeleteChatChannel(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM chats WHERE channel_id = $1`, id).Scan(&n); err != nil {
			return fmt.Errorf("count channel chats: %w", err)
		}
		if n > 0 {
			return ErrChannelHasChats
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM chat_channels WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete chat channel: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// ChatChannel returns one channel.
func (s *Store) ChatChannel(ctx context.Context, id string) (*ChatChannel, error) {
	c, err := scanChatChannel(s.r.QueryRowContext(ctx, `SELECT `+chatChannelCols+` WHERE c.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get chat channel: %w", err)
	}
	return c, nil
}

// ChatChannelForDelivery is ChatChannel without the count of its chats
// (Chats is 0): what delivering a message needs.
func (s *Store) ChatChannelForDelivery(ctx context.Context, id string) (*ChatChannel, error) {
	c, err := scanChatChannel(s.r.QueryRowContext(ctx, `SELECT `+chatChannelDeliveryCols+` WHERE c.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get chat channel: %w", err)
	}
	return c, nil
}

// ChatChannelByExternal returns the channel of a bot or page, without the
// count of its chats (Chats is 0).
func (s *Store) ChatChannelByExternal(ctx context.Context, kind, externalID string) (*ChatChannel, error) {
	c, err := scanChatChannel(s.r.QueryRowContext(ctx, `SELECT `+chatChannelDeliveryCols+` WHERE c.kind = $1 AND c.external_id = $2`, kind, externalID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get chat channel: %w", err)
	}
	return c, nil
}

// ChatChannels lists every channel by name.
func (s *Store) ChatChannels(ctx context.Context) ([]ChatChannel, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+chatChannelCols+` ORDER BY c.name, c.id`)
	if err != nil {
		return nil, fmt.Errorf("list chat channels: %w", err)
	}
	defer rows.Close()
	var out []ChatChannel
	for rows.Next() {
		c, err := scanChatChannel(rows)
		if err != nil {
			return nil, fmt.Errorf("scan chat channel: %w", err)
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// SetChatChannelHealth records whether a channel works, and why not.
func (s *Store) SetChatChannelHealth(ctx context.Context, id, health, reason string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE chat_channels SET health = $2, health_reason = $3, health_at = $4 WHERE id = $1`,
		id, health, reason, crm.Micros(crm.Now()))
	if err != nil {
		return fmt.Errorf("set chat channel health: %w", err)
	}
	return nil
}

// SetChatPollOffset records the long-poll position after a batch was
// handled.
func (s *Store) SetChatPollOffset(ctx context.Context, id string, offset int64) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE chat_channels SET poll_offset = $2 WHERE id = $1`, id, offset); err != nil {
		return fmt.Errorf("set poll offset: %w", err)
	}
	return nil
}

// TryChatPollLease takes or renews the right to poll a channel until
// now+ttl: one poller per bot across processes.
func (s *Store) TryChatPollLease(ctx context.Context, id, holder string, ttl time.Duration) (bool, error) {
	now := time.Now()
	res, err := s.w.ExecContext(ctx, `UPDATE chat_channels SET poll_holder = $2, poll_until = $3
		WHERE id = $1 AND (poll_holder = $2 OR poll_until < $4)`, id, holder, now.Add(ttl).UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, fmt.Errorf("take poll lease: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ReleaseChatPollLease gives the poll lease back.
func (s *Store) ReleaseChatPollLease(ctx context.Context, id, holder string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE chat_channels SET poll_holder = '', poll_until = 0 WHERE id = $1 AND poll_holder = $2`, id, holder)
	if err != nil {
		return fmt.Errorf("release poll lease: %w", err)
	}
	return nil
}

// ChatAction is something an operator runs from a chat.
type ChatAction struct {
	ID        string
	Name      string
	QueueID   string // "": every queue
	QueueName string // read-only
	Process   string // "create_case", "webhook"
	URL       string
	Secret    string // sealed
}

// SaveChatAction creates (empty ID) or replaces an action.
func (s *Store) SaveChatAction(ctx context.Context, a *ChatAction) error {
	if a.ID == "" {
		a.ID = newID()
		_, err := s.w.ExecContext(ctx, `INSERT INTO chat_actions (id, name, queue_id, process, url, secret, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.ID, a.Name, nullable(a.QueueID), a.Process, a.URL, a.Secret, crm.Micros(crm.Now()))
		if err != nil {
			return fmt.Errorf("insert chat action: %w", err)
		}
		return nil
	}
	res, err := s.w.ExecContext(ctx, `UPDATE chat_actions SET name = $2, queue_id = $3, process = $4, url = $5, secret = $6 WHERE id = $1`,
		a.ID, a.Name, nullable(a.QueueID), a.Process, a.URL, a.Secret)
	if err != nil {
		return fmt.Errorf("update chat action: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteChatAction deletes an action.
func (s *Store) DeleteChatAction(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM chat_actions WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete chat action: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ChatActions lists actions; with queueID, those a chat of that queue
// offers (the queue's own and the ones for every queue).
func (s *Store) ChatActions(ctx context.Context, queueID string) ([]ChatAction, error) {
	q := `SELECT a.id, a.name, COALESCE(a.queue_id, ''), COALESCE(q.name, ''), a.process, a.url, a.secret
		FROM chat_actions a LEFT JOIN chat_queues q ON q.id = a.queue_id`
	var args []any
	if queueID != "" {
		q += ` WHERE a.queue_id IS NULL OR a.queue_id = $1`
		args = append(args, queueID)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY a.name, a.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list chat actions: %w", err)
	}
	defer rows.Close()
	var out []ChatAction
	for rows.Next() {
		var a ChatAction
		if err := rows.Scan(&a.ID, &a.Name, &a.QueueID, &a.QueueName, &a.Process, &a.URL, &a.Secret); err != nil {
			return nil, fmt.Errorf("scan chat action: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
