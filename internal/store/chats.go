package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tandem-crm/tandem/internal/access"
	"github.com/tandem-crm/tandem/internal/crm"
)

// Chats: what arrives, who gets it, who answers. Every step that moves a
// chat between operators is one transaction whose UPDATEs are conditional
// on the state they expect ("still queued", "still offered to me", "load
// under the cap"), so concurrent deliveries, accepts and timers cannot take
// a chat twice or push an operator over SimultaneousChats, on SQLite and on
// PostgreSQL alike.

// Chat statuses as stored.
const (
	ChatQueued    = "queued"
	ChatOffered   = "offered"
	ChatActive    = "active"
	ChatCompleted = "completed"
	ChatBot       = "bot"
)

// Errors of moving chats.
var (
	// ErrChatTaken: another operator accepted the chat first, or it moved.
	ErrChatTaken = errors.New("chat already taken")
	// ErrAtCap: the operator holds SimultaneousChats chats already.
	ErrAtCap = errors.New("operator at the simultaneous chats limit")
	// ErrOperatorInactive: an inactive operator gets no chats.
	ErrOperatorInactive = errors.New("operator inactive")
	// ErrNotQueueMember: the user does not work the chat's queue.
	ErrNotQueueMember = errors.New("not an operator of the queue")
)

// Chat is one conversation with a customer on a channel.
type Chat struct {
	ID           string
	ChannelID    string
	ChannelKind  string // read-only
	ChannelName  string // read-only
	QueueID      string
	QueueName    string // read-only
	Routing      string // read-only: the queue's
	Address      string
	CustomerID   string
	ContactID    string
	CustomerName string
	Status       string
	OperatorID   string
	OperatorName string // read-only
	OfferedAt    time.Time
	AcceptedAt   time.Time
	CompletedAt  time.Time
	LastInAt     time.Time
	LastOutAt    time.Time
	Unread       int
	CreatedAt    time.Time
	LastMessage  string // read-only: the newest message's text
}

const chatCols = `c.id, c.channel_id, ch.kind, ch.name, c.queue_id, q.name, q.routing, c.address, c.customer_id,
	COALESCE(c.contact_id, ''), c.customer_name, c.status, COALESCE(c.operator_id, ''), COALESCE(u.name, ''),
	c.offered_at, c.accepted_at, c.completed_at, c.last_in_at, c.last_out_at, c.unread, c.created_at,
	COALESCE((SELECT m.body FROM chat_messages m WHERE m.chat_id = c.id AND m.direction <> 'event' ORDER BY m.id DESC LIMIT 1), '')
	FROM chats c JOIN chat_channels ch ON ch.id = c.channel_id JOIN chat_queues q ON q.id = c.queue_id
	LEFT JOIN users u ON u.id = c.operator_id`

func scanChat(row interface{ Scan(...any) error }) (*Chat, error) {
	var c Chat
	var offered, accepted, completed, lastIn, lastOut, created int64
	if err := row.Scan(&c.ID, &c.ChannelID, &c.ChannelKind, &c.ChannelName, &c.QueueID, &c.QueueName, &c.Routing, &c.Address,
		&c.CustomerID, &c.ContactID, &c.CustomerName, &c.Status, &c.OperatorID, &c.OperatorName,
		&offered, &accepted, &completed, &lastIn, &lastOut, &c.Unread, &created, &c.LastMessage); err != nil {
		return nil, err
	}
	c.OfferedAt, c.AcceptedAt, c.CompletedAt = fromMicrosOrZero(offered), fromMicrosOrZero(accepted), fromMicrosOrZero(completed)
	c.LastInAt, c.LastOutAt, c.CreatedAt = fromMicrosOrZero(lastIn), fromMicrosOrZero(lastOut), crm.FromMicros(created)
	return &c, nil
}

func (s *Store) chats(ctx context.Context, q querier, where string, args ...any) ([]Chat, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+chatCols+` WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list chats: %w", err)
	}
	defer rows.Close()
	var out []Chat
	for rows.Next() {
		c, err := scanChat(rows)
		if err != nil {
			return nil, fmt.Errorf("scan chat: %w", err)
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// GetChat returns one chat.
func (s *Store) GetChat(ctx context.Context, id string) (*Chat, error) {
	cs, err := s.chats(ctx, s.r, `c.id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, ErrNotFound
	}
	return &cs[0], nil
}

// ChatInbound is one event from a channel about a customer.
type ChatInbound struct {
	ChannelID string
	// ExternalID is the service's id of the event (update id, mid): a
	// redelivery is stored once. Empty: not deduplicated.
	ExternalID string
	Address    string // where replies go (Telegram chat id, PSID)
	// CustomerID, CustomerName, Username: the sender as the service knows
	// them; a new one becomes a contact.
	CustomerID   string
	CustomerName string
	Username     string
	Phone        string
	Body         string
	Attachments  string // JSON
	At           time.Time
	// Direction: "in" (the customer wrote), "standby" (the customer wrote
	// while the bot holds the thread), "bot" (the bot answered).
	Direction string
}

// ChatReceipt says what ChatReceive did.
type ChatReceipt struct {
	Duplicate bool
	MessageID string
	// The chat the message went to, as the message left it.
	ChatID     string
	QueueID    string
	Routing    string // the queue's, when Opened
	Status     string
	OperatorID string
	// Opened: the message opened a new chat; Completed: the chat it
	// replaced, completed by its queue's completion timeout.
	Opened    bool
	Completed string
	// Customer: the customer has no contact yet; LinkChatCustomers
	// makes it.
	Customer *ChatCustomer
}

// ChatCustomer is a customer of a channel kind waiting for their contact.
type ChatCustomer struct {
	Kind, ExternalID      string
	Name, Username, Phone string
	OwnerID               string // the channel's owner of new contacts
}

// LinkChatCustomers makes each customer's contact, unless another
// delivery made it meanwhile, and links it to the customer and their
// chats, a few dozen customers a transaction (one change-log append for
// them). It returns the chats that got a contact.
func (s *Store) LinkChatCustomers(ctx context.Context, cs []ChatCustomer) ([]string, error) {
	var chats []string
	for len(cs) > 0 {
		n := min(len(cs), linkBatch)
		got, err := s.linkChatCustomers(ctx, cs[:n])
		chats = append(chats, got...)
		if err != nil {
			return chats, err
		}
		cs = cs[n:]
	}
	return chats, nil
}

// linkBatch bounds the customers linked in one transaction: the chats'
// rows it updates stay locked until it commits, and messages to those
// chats wait for it.
const linkBatch = 32

func (s *Store) linkChatCustomers(ctx context.Context, cs []ChatCustomer) ([]string, error) {
	var chats []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		chats = chats[:0]
		lock := ""
		if s.Postgres() {
			lock = " FOR UPDATE"
		}
		type link struct{ kind, customer, contact string }
		var links []link
		done := map[[2]string]bool{}
		for _, cu := range cs {
			key := [2]string{cu.Kind, cu.ExternalID}
			if done[key] {
				continue
			}
			done[key] = true
			var have sql.NullString
			err := tx.QueryRowContext(ctx, `SELECT contact_id FROM chat_customers WHERE kind = $1 AND external_id = $2`+lock,
				cu.Kind, cu.ExternalID).Scan(&have)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && have.Valid) {
				continue
			}
			if err != nil {
				return fmt.Errorf("read customer: %w", err)
			}
			c := &crm.Contact{Name: cmp.Or(cu.Name, cu.Username, cu.ExternalID), Type: "customer"}
			if cu.Phone != "" {
				c.Phones = []crm.Phone{{Number: cu.Phone, Kind: "mobile", Primary: true}}
			}
			if err := s.createContact(ctx, tx, access.Viewer{UserID: cu.OwnerID}, c); err != nil {
				return fmt.Errorf("create customer contact: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE chat_customers SET contact_id = $3 WHERE kind = $1 AND external_id = $2`,
				cu.Kind, cu.ExternalID, c.ID); err != nil {
				return fmt.Errorf("link customer: %w", err)
			}
			links = append(links, link{cu.Kind, cu.ExternalID, c.ID})
		}
		// The chats last, just before the commit: their rows stay locked
		// from here to it, and their messages wait.
		for _, l := range links {
			rows, err := tx.QueryContext(ctx, `UPDATE chats SET contact_id = $3 WHERE customer_id = $2 AND contact_id IS NULL
				AND channel_id IN (SELECT id FROM chat_channels WHERE kind = $1) RETURNING id`, l.kind, l.customer, l.contact)
			if err != nil {
				return fmt.Errorf("link customer chats: %w", err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return fmt.Errorf("link customer chats: %w", err)
				}
				chats = append(chats, id)
			}
			if err := rows.Close(); err != nil {
				return fmt.Errorf("link customer chats: %w", err)
			}
		}
		return nil
	})
	return chats, err
}

// ChatReceive stores an inbound event in one transaction: the customer's
// contact (made on first contact), the open chat (a completed one's
// successor when the completion timeout has passed) and the message. A
// standby or bot event opens or keeps a chat with the bot (status "bot");
// a customer message to a chat the bot held leaves it with the bot.
func (s *Store) ChatReceive(ctx context.Context, in ChatInbound) (*ChatReceipt, error) {
	if s.Postgres() && (in.Direction == "" || in.Direction == "in") {
		if rc, err := s.chatReceiveOpen(ctx, in); rc != nil || err != nil {
			return rc, err
		}
	}
	var rc *ChatReceipt
	err := s.retryUnique(ctx, func(tx *sql.Tx) error {
		var err error
		rc, err = s.chatReceive(ctx, tx, in)
		return err
	})
	if IsDuplicateDelivery(err) {
		return &ChatReceipt{Duplicate: true}, nil
	}
	return rc, err
}

// retryUnique runs fn in a transaction, once more when it lost a race on a
// unique index (two deliveries opening the same chat or making the same
// customer on PostgreSQL): the second try finds the winner's row.
func (s *Store) retryUnique(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := s.tx(ctx, fn)
	if err != nil && s.dialect.isUnique(err) {
		err = s.tx(ctx, fn)
	}
	return err
}

// chatReceive is the hot path of every channel (a webhook answers after
// it), so it keeps its round trips few: one read of the channel, its
// queue, the customer and the open chat together; the message; the chat's
// update, which returns what the receipt needs.
func (s *Store) chatReceive(ctx context.Context, tx *sql.Tx, in ChatInbound) (*ChatReceipt, error) {
	rc := &ChatReceipt{}
	msgID := newID()
	at := crm.Micros(in.At)
	var ch struct {
		kind, queue, owner, routing string
		minutes                     int
		hasCustomer                 bool
		contactID                   sql.NullString
		open                        sql.NullString
		status                      sql.NullString
		lastIn, lastOut             sql.NullInt64
	}
	err := tx.QueryRowContext(ctx, `SELECT c.kind, c.queue_id, c.contact_owner_id, q.routing, COALESCE(q.completion_minutes, 0),
		cu.external_id IS NOT NULL, cu.contact_id, o.id, o.status, o.last_in_at, o.last_out_at
		FROM chat_channels c JOIN chat_queues q ON q.id = c.queue_id
		LEFT JOIN chat_customers cu ON cu.kind = c.kind AND cu.external_id = $2
		LEFT JOIN chats o ON o.channel_id = c.id AND o.address = $3 AND o.status <> 'completed'
		WHERE c.id = $1`, in.ChannelID, in.CustomerID, in.Address).
		Scan(&ch.kind, &ch.queue, &ch.owner, &ch.routing, &ch.minutes, &ch.hasCustomer, &ch.contactID, &ch.open, &ch.status,
			&ch.lastIn, &ch.lastOut)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read channel: %w", err)
	}

	// The customer. Their contact is made after this transaction
	// (LinkChatCustomers), in batches: made here, every new customer's
	// message took the change-log lock, and a burst of new customers
	// queued on it.
	contactID := ch.contactID
	if !ch.hasCustomer {
		if _, err := tx.ExecContext(ctx, `INSERT INTO chat_customers (kind, external_id, name, username, created_at)
			VALUES ($1, $2, $3, $4, $5)`, ch.kind, in.CustomerID, in.CustomerName, in.Username, at); err != nil {
			return nil, fmt.Errorf("insert customer: %w", err)
		}
	}
	if !contactID.Valid {
		rc.Customer = &ChatCustomer{Kind: ch.kind, ExternalID: in.CustomerID, Name: in.CustomerName, Username: in.Username,
			Phone: in.Phone, OwnerID: ch.owner}
	}

	// The open chat, unless its completion timeout has passed.
	chatID := ch.open.String
	if chatID != "" && ch.minutes > 0 && ch.status.String != ChatBot && ch.lastOut.Int64 > 0 && ch.lastOut.Int64 >= ch.lastIn.Int64 &&
		ch.lastOut.Int64+int64(ch.minutes)*int64(time.Minute/time.Microsecond) <= at {
		if err := completeChat(ctx, tx, chatID, at, "timeout"); err != nil {
			return nil, err
		}
		rc.Completed = chatID
		chatID = ""
	}

	direction := in.Direction
	if direction == "" {
		direction = "in"
	}
	// Store the message first: a redelivery stops here.
	if chatID == "" {
		chatID = newID()
		status := ChatQueued
		if direction != "in" {
			status = ChatBot
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO chats (id, channel_id, queue_id, address, customer_id, contact_id, customer_name,
			status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
			chatID, in.ChannelID, ch.queue, in.Address, in.CustomerID, contactID, in.CustomerName, status, at); err != nil {
			return nil, fmt.Errorf("open chat: %w", err)
		}
		rc.Opened = true
	}
	var ext any
	if in.ExternalID != "" {
		ext = in.ExternalID
	}
	attachments := in.Attachments
	if attachments == "" {
		attachments = "[]"
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO chat_messages (id, chat_id, channel_id, direction, external_id, body, attachments, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (channel_id, external_id) DO NOTHING`,
		msgID, chatID, in.ChannelID, direction, ext, in.Body, attachments, at)
	if err != nil {
		return nil, fmt.Errorf("insert chat message: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, errDuplicateDelivery
	}
	rc.MessageID = msgID
	var op sql.NullString
	const returning = ` RETURNING queue_id, status, operator_id`
	switch direction {
	case "in", "standby":
		err = tx.QueryRowContext(ctx, `UPDATE chats SET last_in_at = $2, unread = unread + 1, updated_at = $2,
			customer_name = CASE WHEN $3 = '' THEN customer_name ELSE $3 END WHERE id = $1`+returning,
			chatID, at, in.CustomerName).Scan(&rc.QueueID, &rc.Status, &op)
	default:
		err = tx.QueryRowContext(ctx, `UPDATE chats SET last_out_at = $2, updated_at = $2 WHERE id = $1`+returning, chatID, at).
			Scan(&rc.QueueID, &rc.Status, &op)
	}
	if err != nil {
		return nil, fmt.Errorf("update chat: %w", err)
	}
	rc.ChatID, rc.OperatorID = chatID, op.String
	if rc.Opened {
		rc.Routing = ch.routing
	}
	return rc, nil
}

// chatReceiveOpen is ChatReceive's common case on PostgreSQL in one
// statement (no BEGIN and COMMIT round trips): a known customer, with
// their contact, writes to their open chat, which the completion timeout
// has not closed. It returns nil when the message is not that case — a
// new customer or chat, a customer without a contact, a timed-out chat,
// or a redelivery — and the transaction decides (and stores) it. Each
// case reads as chatReceive's checks do.
func (s *Store) chatReceiveOpen(ctx context.Context, in ChatInbound) (*ChatReceipt, error) {
	if in.ExternalID == "" {
		return nil, nil
	}
	attachments := in.Attachments
	if attachments == "" {
		attachments = "[]"
	}
	at := crm.Micros(in.At)
	rc := &ChatReceipt{MessageID: newID()}
	var op sql.NullString
	err := s.w.QueryRowContext(ctx, `WITH o AS (
			SELECT c.id FROM chats c
			JOIN chat_channels ch ON ch.id = c.channel_id
			JOIN chat_queues q ON q.id = c.queue_id
			JOIN chat_customers cu ON cu.kind = ch.kind AND cu.external_id = $3 AND cu.contact_id IS NOT NULL
			WHERE c.channel_id = $2 AND c.address = $4 AND c.status <> 'completed'
			AND NOT (COALESCE(q.completion_minutes, 0) > 0 AND c.status <> 'bot' AND COALESCE(c.last_out_at, 0) > 0
				AND c.last_out_at >= COALESCE(c.last_in_at, 0) AND c.last_out_at + q.completion_minutes * 60000000 <= $8)
		), m AS (
			INSERT INTO chat_messages (id, chat_id, channel_id, direction, external_id, body, attachments, at)
			SELECT $1, o.id, $2, 'in', $5, $6, $7, $8 FROM o
			ON CONFLICT (channel_id, external_id) DO NOTHING RETURNING chat_id
		)
		UPDATE chats SET last_in_at = $8, unread = unread + 1, updated_at = $8,
			customer_name = CASE WHEN $9 = '' THEN customer_name ELSE $9 END
		WHERE id = (SELECT chat_id FROM m) RETURNING id, queue_id, status, operator_id`,
		rc.MessageID, in.ChannelID, in.CustomerID, in.Address, in.ExternalID, in.Body, attachments, at, in.CustomerName).
		Scan(&rc.ChatID, &rc.QueueID, &rc.Status, &op)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("receive chat message: %w", err)
	}
	rc.OperatorID = op.String
	return rc, nil
}

// errDuplicateDelivery rolls back a redelivered event's transaction
// (nothing of it may stay: a customer made for it already exists).
var errDuplicateDelivery = errors.New("duplicate delivery")

// IsDuplicateDelivery reports whether ChatReceive found the event stored
// already.
func IsDuplicateDelivery(err error) bool { return errors.Is(err, errDuplicateDelivery) }

func completeChat(ctx context.Context, tx querier, chatID string, at int64, why string) error {
	var status string
	var op sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT status, operator_id FROM chats WHERE id = $1`, chatID).Scan(&status, &op); err != nil {
		return fmt.Errorf("read chat: %w", err)
	}
	if status == ChatCompleted {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE chats SET status = 'completed', completed_at = $2, updated_at = $2 WHERE id = $1`,
		chatID, at); err != nil {
		return fmt.Errorf("complete chat: %w", err)
	}
	if (status == ChatActive || status == ChatOffered) && op.Valid {
		if err := releaseLoad(ctx, tx, op.String, at); err != nil {
			return err
		}
	}
	return addChatEvent(ctx, tx, chatID, "completed:"+why, "", at)
}

func releaseLoad(ctx context.Context, tx querier, userID string, at int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE chat_operators SET load = load - 1, updated_at = $2 WHERE user_id = $1 AND load > 0`, userID, at)
	if err != nil {
		return fmt.Errorf("release operator load: %w", err)
	}
	return nil
}

// addChatEvent records something that happened to a chat (offered,
// accepted, transferred, completed) in its history; body is a code the UI
// translates, author who did it.
func addChatEvent(ctx context.Context, tx querier, chatID, code, author string, at int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO chat_messages (id, chat_id, channel_id, direction, author_id, body, at)
		SELECT $1, id, channel_id, 'event', $3, $4, $5 FROM chats WHERE id = $2`, newID(), chatID, nullable(author), code, at)
	if err != nil {
		return fmt.Errorf("insert chat event: %w", err)
	}
	return nil
}

// OfferChat offers a queued chat of a "least busy" queue to the active
// operator of its queue with the fewest chats (ties: the one who has
// waited longest since taking a chat) who is under capacity and was not
// offered it before. It returns the operator, or "" when nobody can take it
// now (the chat stays queued until someone frees up) or the chat no longer
// waits. The candidates are
// read first, outside any write: a full queue costs no write transaction,
// which matters when every completion looks at every waiting chat.
func (s *Store) OfferChat(ctx context.Context, chatID string, capacity int, now time.Time) (string, error) {
	// The chat's queue and whether it still waits, with the candidates:
	// one read. Members without an operator row yet count as active with
	// no chats.
	rows, err := s.r.QueryContext(ctx, `SELECT u.id, o.user_id IS NOT NULL FROM chats c JOIN users u ON u.active
		LEFT JOIN chat_operators o ON o.user_id = u.id
		WHERE c.id = $1 AND c.status = 'queued' AND COALESCE(o.active, TRUE) AND COALESCE(o.load, 0) < $2
		AND `+memberOf("c.queue_id", "u.id")+`
		AND NOT EXISTS (SELECT 1 FROM chat_offers f WHERE f.chat_id = c.id AND f.user_id = u.id)
		ORDER BY COALESCE(o.load, 0), COALESCE(o.last_taken_at, 0), u.id LIMIT 10`, chatID, capacity)
	if err != nil {
		return "", fmt.Errorf("find operators: %w", err)
	}
	var candidates, rowless []string
	for rows.Next() {
		var id string
		var hasRow bool
		if err := rows.Scan(&id, &hasRow); err != nil {
			rows.Close()
			return "", fmt.Errorf("find operators: %w", err)
		}
		candidates = append(candidates, id)
		if !hasRow {
			rowless = append(rowless, id)
		}
	}
	if err := rows.Close(); err != nil {
		return "", fmt.Errorf("find operators: %w", err)
	}
	if len(candidates) == 0 {
		return "", nil
	}
	var got string
	err = s.tx(ctx, func(tx *sql.Tx) error {
		got = ""
		at := crm.Micros(now)
		// The chat's row first, then the operator's: the order every
		// other move (accept, complete, transfer, expiry) takes them in,
		// so concurrent moves wait for each other instead of deadlocking.
		res, err := tx.ExecContext(ctx, `UPDATE chats SET status = 'offered', offered_at = $2, updated_at = $2
			WHERE id = $1 AND status = 'queued'`, chatID, at)
		if err != nil {
			return fmt.Errorf("offer chat: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errChatMoved // accepted or offered meanwhile
		}
		for _, op := range rowless {
			if _, err := tx.ExecContext(ctx, `INSERT INTO chat_operators (user_id, updated_at) VALUES ($1, $2)
				ON CONFLICT (user_id) DO NOTHING`, op, at); err != nil {
				return fmt.Errorf("ensure operator: %w", err)
			}
		}
		op, err := s.takeLeastBusy(ctx, tx, candidates, capacity, at)
		if err != nil || op == "" {
			return cmp.Or(err, errChatMoved) // nobody had room after all: the chat stays queued
		}
		if _, err := tx.ExecContext(ctx, `UPDATE chats SET operator_id = $2 WHERE id = $1`, chatID, op); err != nil {
			return fmt.Errorf("offer chat: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO chat_offers (chat_id, user_id, offered_at) VALUES ($1, $2, $3)`,
			chatID, op, at); err != nil {
			return fmt.Errorf("record offer: %w", err)
		}
		got = op
		return nil
	})
	if errors.Is(err, errChatMoved) {
		return "", nil
	}
	return got, err
}

// ChatOperatorsOverCap counts operators holding (offered or active) more
// than capacity chats, or whose load says so.
func (s *Store) ChatOperatorsOverCap(ctx context.Context, capacity int) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM (
		SELECT operator_id FROM chats WHERE status IN ('offered', 'active') AND operator_id IS NOT NULL
		GROUP BY operator_id HAVING COUNT(*) > $1
		UNION SELECT user_id FROM chat_operators WHERE load > $1) x`, capacity).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("operators over capacity: %w", err)
	}
	return n, nil
}

// ChatQueueHasRoom reports whether an active operator of the queue is
// under capacity.
func (s *Store) ChatQueueHasRoom(ctx context.Context, queueID string, capacity int) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users u LEFT JOIN chat_operators o ON o.user_id = u.id
		WHERE u.active AND COALESCE(o.active, TRUE) AND COALESCE(o.load, 0) < $2 AND `+memberOf("$1", "u.id"), queueID, capacity).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("queue room: %w", err)
	}
	return n > 0, nil
}

// errChatMoved rolls back an offer that cannot be made: the chat left the
// queue meanwhile, or every candidate filled up.
var errChatMoved = errors.New("chat moved")

// takeLeastBusy raises the load of the least busy of the candidates with
// room and returns them, "" when none has: the pick and the cap's check
// are one conditional UPDATE. On PostgreSQL concurrent offers (every one
// of which ranks the same operator first) would queue on that operator's
// row, each holding its chat's row meanwhile, and messages to those chats
// would wait behind the queue: so an operator another offer has locked is
// skipped, and only when every candidate is locked does the offer wait
// for the best one. On SQLite the one writer serializes offers anyway.
func (s *Store) takeLeastBusy(ctx context.Context, tx *sql.Tx, candidates []string, capacity int, at int64) (string, error) {
	pick := `SELECT user_id FROM chat_operators WHERE user_id IN (` + params(3, len(candidates)) + `) AND active AND load < $1
		ORDER BY load, COALESCE(last_taken_at, 0), user_id LIMIT 1`
	args := append([]any{capacity, at}, anySlice(candidates)...)
	locks := []string{""}
	if s.Postgres() {
		locks = []string{" FOR UPDATE SKIP LOCKED", " FOR UPDATE"}
	}
	for _, lock := range locks {
		var op string
		err := tx.QueryRowContext(ctx, `UPDATE chat_operators SET load = load + 1, updated_at = $2
			WHERE user_id = (`+pick+lock+`) AND active AND load < $1 RETURNING user_id`, args...).Scan(&op)
		if err == nil {
			return op, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", fmt.Errorf("take operator: %w", err)
		}
	}
	return "", nil
}

// takeLoad raises an active operator's load if it is under capacity: the
// one place the cap is enforced, as a conditional UPDATE, so two
// transactions cannot both take the last place.
func takeLoad(ctx context.Context, tx querier, userID string, capacity int, at int64) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE chat_operators SET load = load + 1, updated_at = $3
		WHERE user_id = $1 AND active AND load < $2`, userID, capacity, at)
	if err != nil {
		return false, fmt.Errorf("take operator load: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// AcceptChat gives the chat to userID: a chat offered to them, or a
// queued chat of a "to all" queue they work (the first to accept wins:
// ErrChatTaken for the others). ErrAtCap when they hold SimultaneousChats
// chats, ErrOperatorInactive when inactive.
func (s *Store) AcceptChat(ctx context.Context, chatID, userID string, capacity int, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		at := crm.Micros(now)
		var status, routing, queueID string
		var op sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT c.status, c.operator_id, q.routing, c.queue_id FROM chats c
			JOIN chat_queues q ON q.id = c.queue_id WHERE c.id = $1`, chatID).Scan(&status, &op, &routing, &queueID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read chat: %w", err)
		}
		switch {
		case status == ChatOffered && op.String == userID:
			res, err := tx.ExecContext(ctx, `UPDATE chats SET status = 'active', accepted_at = $3, unread = unread, updated_at = $3
				WHERE id = $1 AND status = 'offered' AND operator_id = $2`, chatID, userID, at)
			if err != nil {
				return fmt.Errorf("accept chat: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrChatTaken
			}
		case status == ChatQueued && routing == "all":
			var member bool
			if err := tx.QueryRowContext(ctx, `SELECT `+memberOf("$1", "$2"), queueID, userID).Scan(&member); err != nil {
				return fmt.Errorf("check queue member: %w", err)
			}
			if !member {
				return ErrNotQueueMember
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO chat_operators (user_id, updated_at) VALUES ($1, $2)
				ON CONFLICT (user_id) DO NOTHING`, userID, at); err != nil {
				return fmt.Errorf("ensure operator: %w", err)
			}
			res, err := tx.ExecContext(ctx, `UPDATE chats SET status = 'active', operator_id = $2, accepted_at = $3, updated_at = $3
				WHERE id = $1 AND status = 'queued'`, chatID, userID, at)
			if err != nil {
				return fmt.Errorf("accept chat: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrChatTaken
			}
			ok, err := takeLoad(ctx, tx, userID, capacity, at)
			if err != nil {
				return err
			}
			if !ok {
				var active bool
				if err := tx.QueryRowContext(ctx, `SELECT active FROM chat_operators WHERE user_id = $1`, userID).Scan(&active); err != nil {
					return fmt.Errorf("read operator: %w", err)
				}
				if !active {
					return ErrOperatorInactive
				}
				return ErrAtCap
			}
		default:
			return ErrChatTaken
		}
		if _, err := tx.ExecContext(ctx, `UPDATE chat_operators SET last_taken_at = $2 WHERE user_id = $1`, userID, at); err != nil {
			return fmt.Errorf("record take: %w", err)
		}
		return addChatEvent(ctx, tx, chatID, "accepted", userID, at)
	})
}

// ExpiredOffer is an offer not accepted in time.
type ExpiredOffer struct{ ChatID, OperatorID string }

// ExpireChatOffers takes back the offers made before deadline: each chat
// returns to its queue (to be offered to the next operator) and the
// operator who let it wait becomes inactive.
func (s *Store) ExpireChatOffers(ctx context.Context, deadline, now time.Time) ([]ExpiredOffer, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, operator_id FROM chats WHERE status = 'offered' AND offered_at <= $1 ORDER BY offered_at`,
		crm.Micros(deadline))
	if err != nil {
		return nil, fmt.Errorf("find expired offers: %w", err)
	}
	var due []ExpiredOffer
	for rows.Next() {
		var e ExpiredOffer
		if err := rows.Scan(&e.ChatID, &e.OperatorID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan offer: %w", err)
		}
		due = append(due, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var done []ExpiredOffer
	for _, e := range due {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			at := crm.Micros(now)
			res, err := tx.ExecContext(ctx, `UPDATE chats SET status = 'queued', operator_id = NULL, offered_at = 0, updated_at = $3
				WHERE id = $1 AND status = 'offered' AND operator_id = $2 AND offered_at <= $4`, e.ChatID, e.OperatorID, at, crm.Micros(deadline))
			if err != nil {
				return fmt.Errorf("take back offer: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil // accepted meanwhile
			}
			if _, err := tx.ExecContext(ctx, `UPDATE chat_operators SET load = CASE WHEN load > 0 THEN load - 1 ELSE 0 END,
				active = FALSE, updated_at = $2 WHERE user_id = $1`, e.OperatorID, at); err != nil {
				return fmt.Errorf("deactivate operator: %w", err)
			}
			done = append(done, e)
			return addChatEvent(ctx, tx, e.ChatID, "offer_expired", e.OperatorID, at)
		})
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// QueuedChat is a chat waiting in a "least busy" queue.
type QueuedChat struct{ ID, QueueID string }

// QueuedChats lists the queued chats of "least busy" queues, oldest first:
// the ones waiting for an operator to free up.
func (s *Store) QueuedChats(ctx context.Context, limit int) ([]QueuedChat, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT c.id, c.queue_id FROM chats c JOIN chat_queues q ON q.id = c.queue_id
		WHERE c.status = 'queued' AND q.routing = 'least_busy' ORDER BY c.created_at LIMIT `+fmt.Sprint(limit))
	if err != nil {
		return nil, fmt.Errorf("list queued chats: %w", err)
	}
	defer rows.Close()
	var out []QueuedChat
	for rows.Next() {
		var q QueuedChat
		if err := rows.Scan(&q.ID, &q.QueueID); err != nil {
			return nil, fmt.Errorf("scan queued chat: %w", err)
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// IdleChats lists the open chats whose queue's completion timeout has
// passed since the last outgoing message (and the customer has not
// written since).
func (s *Store) IdleChats(ctx context.Context, now time.Time) ([]string, error) {
	return s.strings(ctx, `SELECT c.id FROM chats c JOIN chat_queues q ON q.id = c.queue_id
		WHERE c.status IN ('queued', 'offered', 'active') AND q.completion_minutes IS NOT NULL
		AND c.last_out_at > 0 AND c.last_out_at >= c.last_in_at
		AND c.last_out_at + q.completion_minutes * 60000000 <= $1 ORDER BY c.last_out_at`, crm.Micros(now))
}

// CompleteChat completes a chat. by is the operator completing it ("" for
// a timer: why then says which). An operator may complete only a chat they
// hold.
func (s *Store) CompleteChat(ctx context.Context, chatID, by, why string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var status string
		var op sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT status, operator_id FROM chats WHERE id = $1`, chatID).Scan(&status, &op)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("read chat: %w", err)
		}
		if status == ChatCompleted {
			return nil
		}
		if by != "" && (status != ChatActive || op.String != by) {
			return ErrForbidden
		}
		if by != "" {
			why = "operator"
		}
		return completeChat(ctx, tx, chatID, crm.Micros(now), why)
	})
}

// TransferChat moves a chat the operator from holds to operator to (who
// must be active and under capacity) or, with toQueue, back to a queue.
func (s *Store) TransferChat(ctx context.Context, chatID, from, to, toQueue string, capacity int, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		at := crm.Micros(now)
		res, err := tx.ExecContext(ctx, `UPDATE chats SET updated_at = $3 WHERE id = $1 AND status = 'active' AND operator_id = $2`,
			chatID, from, at)
		if err != nil {
			return fmt.Errorf("check chat: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrForbidden
		}
		if toQueue != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE chats SET status = 'queued', operator_id = NULL, queue_id = $2, accepted_at = 0
				WHERE id = $1`, chatID, toQueue); err != nil {
				if isForeignKey(err) {
					return ErrNotFound
				}
				return fmt.Errorf("transfer chat: %w", err)
			}
			if err := releaseLoad(ctx, tx, from, at); err != nil {
				return err
			}
			return addChatEvent(ctx, tx, chatID, "transferred_queue", from, at)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO chat_operators (user_id, updated_at) SELECT id, CAST($2 AS BIGINT) FROM users WHERE id = $1 AND active
			ON CONFLICT (user_id) DO NOTHING`, to, at); err != nil {
			return fmt.Errorf("ensure operator: %w", err)
		}
		ok, err := takeLoad(ctx, tx, to, capacity, at)
		if err != nil {
			return err
		}
		if !ok {
			var active bool
			err := tx.QueryRowContext(ctx, `SELECT active FROM chat_operators WHERE user_id = $1`, to).Scan(&active)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			if err == nil && !active {
				return ErrOperatorInactive
			}
			return ErrAtCap
		}
		if _, err := tx.ExecContext(ctx, `UPDATE chats SET operator_id = $2, accepted_at = $3 WHERE id = $1`, chatID, to, at); err != nil {
			return fmt.Errorf("transfer chat: %w", err)
		}
		if err := releaseLoad(ctx, tx, from, at); err != nil {
			return err
		}
		return addChatEvent(ctx, tx, chatID, "transferred", from, at)
	})
}

// ChatToBot hands a chat to the external bot (it took the thread):
// whoever held it is freed.
func (s *Store) ChatToBot(ctx context.Context, chatID string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		at := crm.Micros(now)
		var status string
		var op sql.NullString
		if err := tx.QueryRowContext(ctx, `SELECT status, operator_id FROM chats WHERE id = $1`, chatID).Scan(&status, &op); err != nil {
			return fmt.Errorf("read chat: %w", err)
		}
		if status == ChatBot || status == ChatCompleted {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE chats SET status = 'bot', operator_id = NULL, updated_at = $2 WHERE id = $1`, chatID, at); err != nil {
			return fmt.Errorf("chat to bot: %w", err)
		}
		if (status == ChatActive || status == ChatOffered) && op.Valid {
			if err := releaseLoad(ctx, tx, op.String, at); err != nil {
				return err
			}
		}
		return addChatEvent(ctx, tx, chatID, "to_bot", "", at)
	})
}

// ChatFromBot puts a chat the bot held into its queue (the bot passed the
// thread to Tandem); the caller routes it.
func (s *Store) ChatFromBot(ctx context.Context, chatID string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		at := crm.Micros(now)
		res, err := tx.ExecContext(ctx, `UPDATE chats SET status = 'queued', updated_at = $2 WHERE id = $1 AND status = 'bot'`, chatID, at)
		if err != nil {
			return fmt.Errorf("chat from bot: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return addChatEvent(ctx, tx, chatID, "from_bot", "", at)
	})
}

// OpenChatAt returns the open chat of a customer address on a channel.
func (s *Store) OpenChatAt(ctx context.Context, channelID, address string) (*Chat, error) {
	cs, err := s.chats(ctx, s.r, `c.channel_id = $1 AND c.address = $2 AND c.status <> 'completed'`, channelID, address)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, ErrNotFound
	}
	return &cs[0], nil
}

// ChatOperator is an operator's state.
type ChatOperator struct {
	UserID string
	Name   string
	Active bool
	Load   int
}

// ChatOperatorOf returns userID's operator state (active with no load
// for a user who has none yet).
func (s *Store) ChatOperatorOf(ctx context.Context, userID string) (ChatOperator, error) {
	o := ChatOperator{UserID: userID, Active: true}
	err := s.r.QueryRowContext(ctx, `SELECT active, load FROM chat_operators WHERE user_id = $1`, userID).Scan(&o.Active, &o.Load)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("read operator: %w", err)
	}
	return o, nil
}

// ChatOperators lists the operators of every queue with their state.
func (s *Store) ChatOperators(ctx context.Context) ([]ChatOperator, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT o.user_id, u.name, o.active, o.load FROM chat_operators o
		JOIN users u ON u.id = o.user_id ORDER BY u.name, o.user_id`)
	if err != nil {
		return nil, fmt.Errorf("list operators: %w", err)
	}
	defer rows.Close()
	var out []ChatOperator
	for rows.Next() {
		var o ChatOperator
		if err := rows.Scan(&o.UserID, &o.Name, &o.Active, &o.Load); err != nil {
			return nil, fmt.Errorf("scan operator: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// SetChatOperatorActive sets an operator Active or Inactive.
func (s *Store) SetChatOperatorActive(ctx context.Context, userID string, active bool) error {
	at := crm.Micros(crm.Now())
	_, err := s.w.ExecContext(ctx, `INSERT INTO chat_operators (user_id, active, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET active = excluded.active, updated_at = excluded.updated_at`, userID, active, at)
	if err != nil {
		return fmt.Errorf("set operator status: %w", err)
	}
	return nil
}

// OperatorChats lists what an operator's panel shows: the chats they hold
// or are offered, and the queued chats of their "to all" queues (only
// while they are active and under capacity: at the cap they see no new
// chats).
func (s *Store) OperatorChats(ctx context.Context, userID string, capacity int) ([]Chat, error) {
	// Two index lookups, not one condition with OR: that read every
	// queued chat (a backlog of least-busy chats too) to find the few
	// of "to all" queues.
	return s.chats(ctx, s.r, `c.id IN (
			SELECT id FROM chats WHERE operator_id = $1 AND status IN ('active', 'offered')
			UNION ALL
			SELECT id FROM chats WHERE status = 'queued' AND queue_id IN (
				SELECT q2.id FROM chat_queues q2 WHERE q2.routing = 'all' AND `+memberOf("q2.id", "$1")+`)
			AND NOT EXISTS (SELECT 1 FROM chat_operators o WHERE o.user_id = $1 AND (NOT o.active OR o.load >= $2)))
		ORDER BY c.created_at, c.id`, userID, capacity)
}

// ChatFilter selects chats for the chat list (supervisors, timelines).
type ChatFilter struct {
	ContactID string
	Status    string
	Limit     int
}

// ListChats lists chats, newest first.
func (s *Store) ListChats(ctx context.Context, f ChatFilter) ([]Chat, error) {
	conds := []string{"1 = 1"}
	var args []any
	if f.ContactID != "" {
		args = append(args, f.ContactID)
		conds = append(conds, fmt.Sprintf("c.contact_id = $%d", len(args)))
	}
	if f.Status != "" {
		args = append(args, f.Status)
		conds = append(conds, fmt.Sprintf("c.status = $%d", len(args)))
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	return s.chats(ctx, s.r, strings.Join(conds, " AND ")+fmt.Sprintf(" ORDER BY c.created_at DESC, c.id DESC LIMIT %d", limit), args...)
}

// ChatMessage is one entry of a chat's history.
type ChatMessage struct {
	ID          string
	ChatID      string
	Direction   string
	ExternalID  string
	AuthorID    string
	AuthorName  string
	Body        string
	Attachments string
	State       string
	Error       string
	At          time.Time
}

// ChatMessages lists a chat's history in order; after (a message id)
// gives only the newer ones.
func (s *Store) ChatMessages(ctx context.Context, chatID, after string) ([]ChatMessage, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT m.id, m.chat_id, m.direction, COALESCE(m.external_id, ''), COALESCE(m.author_id, ''),
		COALESCE(u.name, ''), m.body, m.attachments, m.state, m.error, m.at
		FROM chat_messages m LEFT JOIN users u ON u.id = m.author_id WHERE m.chat_id = $1 AND m.id > $2 ORDER BY m.id`, chatID, after)
	if err != nil {
		return nil, fmt.Errorf("list chat messages: %w", err)
	}
	defer rows.Close()
	var out []ChatMessage
	for rows.Next() {
		var m ChatMessage
		var at int64
		if err := rows.Scan(&m.ID, &m.ChatID, &m.Direction, &m.ExternalID, &m.AuthorID, &m.AuthorName, &m.Body, &m.Attachments,
			&m.State, &m.Error, &at); err != nil {
			return nil, fmt.Errorf("scan chat message: %w", err)
		}
		m.At = crm.FromMicros(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// AddChatReply stores an operator's reply as pending, before it is sent:
// only the operator holding the chat may reply.
func (s *Store) AddChatReply(ctx context.Context, chatID, authorID, body, attachments string, now time.Time) (string, error) {
	id := newID()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		at := crm.Micros(now)
		res, err := tx.ExecContext(ctx, `UPDATE chats SET last_out_at = $3, unread = 0, updated_at = $3
			WHERE id = $1 AND status = 'active' AND operator_id = $2`, chatID, authorID, at)
		if err != nil {
			return fmt.Errorf("update chat: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrForbidden
		}
		if attachments == "" {
			attachments = "[]"
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO chat_messages (id, chat_id, channel_id, direction, author_id, body, attachments, state, at)
			SELECT $1, id, channel_id, 'out', $3, $4, $5, 'pending', $6 FROM chats WHERE id = $2`, id, chatID, authorID, body, attachments, at)
		if err != nil {
			return fmt.Errorf("insert reply: %w", err)
		}
		return nil
	})
	return id, err
}

// SetChatMessageSent records the service's id of a sent reply.
func (s *Store) SetChatMessageSent(ctx context.Context, id, externalID string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE chat_messages SET state = 'sent', external_id = $2, error = '' WHERE id = $1`, id, nullable(externalID))
	if err != nil {
		if s.dialect.isUnique(err) { // the echo of the send arrived first and was stored as a bot message
			_, err = s.w.ExecContext(ctx, `UPDATE chat_messages SET state = 'sent', error = '' WHERE id = $1`, id)
		}
		if err != nil {
			return fmt.Errorf("mark reply sent: %w", err)
		}
	}
	return nil
}

// SetChatMessageFailed records why a reply could not be sent.
func (s *Store) SetChatMessageFailed(ctx context.Context, id, reason string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE chat_messages SET state = 'failed', error = $2 WHERE id = $1`, id, reason)
	if err != nil {
		return fmt.Errorf("mark reply failed: %w", err)
	}
	return nil
}

// MarkChatRead clears a chat's unread count for the operator holding it.
func (s *Store) MarkChatRead(ctx context.Context, chatID, userID string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE chats SET unread = 0 WHERE id = $1 AND operator_id = $2 AND unread > 0`, chatID, userID)
	if err != nil {
		return fmt.Errorf("mark chat read: %w", err)
	}
	return nil
}

// ChatHasMessage reports whether a channel already stored the event with
// the service's id (a sent reply's echo).
func (s *Store) ChatHasMessage(ctx context.Context, channelID, externalID string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM chat_messages WHERE channel_id = $1 AND external_id = $2`, channelID, externalID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("find chat message: %w", err)
	}
	return n > 0, nil
}

// ChannelMessage is a message by the channel's own id for it.
type ChannelMessage struct {
	ID, ExternalID, Body string
}

// ChannelMessages lists a channel's messages of one direction, oldest
// first: what a channel delivered, for checks across all its chats.
func (s *Store) ChannelMessages(ctx context.Context, channelID, direction string) ([]ChannelMessage, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, COALESCE(external_id, ''), body FROM chat_messages
		WHERE channel_id = $1 AND direction = $2 ORDER BY id`, channelID, direction)
	if err != nil {
		return nil, fmt.Errorf("list channel messages: %w", err)
	}
	defer rows.Close()
	var out []ChannelMessage
	for rows.Next() {
		var m ChannelMessage
		if err := rows.Scan(&m.ID, &m.ExternalID, &m.Body); err != nil {
			return nil, fmt.Errorf("scan channel message: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
