-- Omnichannel chat (issue 10): queues and their operators, channels,
-- customers, chats, their messages and chat actions. Times are micros.

CREATE TABLE chat_queues (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL UNIQUE,
    routing            TEXT NOT NULL CHECK (routing IN ('all', 'least_busy')),
    -- Minutes after the last outgoing message that complete a chat; NULL:
    -- never.
    completion_minutes INTEGER,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

-- A queue's operators: users, or every member of a role.
CREATE TABLE chat_queue_members (
    queue_id    TEXT NOT NULL REFERENCES chat_queues(id) ON DELETE CASCADE,
    member_kind TEXT NOT NULL CHECK (member_kind IN ('user', 'role')),
    member_id   TEXT NOT NULL,
    PRIMARY KEY (queue_id, member_kind, member_id)
);
CREATE INDEX chat_queue_members_member ON chat_queue_members(member_id);

-- An operator's state. load counts the chats offered to or held by the
-- operator: SimultaneousChats caps it, checked by the conditional UPDATE
-- that raises it, so the cap holds under any concurrency.
CREATE TABLE chat_operators (
    user_id       TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    load          INTEGER NOT NULL DEFAULT 0 CHECK (load >= 0),
    last_taken_at BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE chat_channels (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('telegram', 'messenger')),
    -- The bot's or the page's id at the service: one channel per bot / page.
    external_id      TEXT NOT NULL,
    name             TEXT NOT NULL,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    queue_id         TEXT NOT NULL REFERENCES chat_queues(id),
    -- The adapter's settings (JSON) and its secrets, sealed (bot token, page
    -- access token, webhook secret).
    config           TEXT NOT NULL DEFAULT '{}',
    secret           TEXT NOT NULL DEFAULT '',
    -- Who owns the contacts made for the channel's customers.
    contact_owner_id TEXT NOT NULL REFERENCES users(id),
    -- ok, or broken with the reason told to the admin (a token used
    -- elsewhere, a revoked page token).
    health           TEXT NOT NULL DEFAULT 'ok' CHECK (health IN ('ok', 'broken')),
    health_reason    TEXT NOT NULL DEFAULT '',
    health_at        BIGINT NOT NULL DEFAULT 0,
    -- The long-poll position (Telegram without SiteUrl) and which process
    -- polls, until when: one poller per bot however many processes run.
    poll_offset      BIGINT NOT NULL DEFAULT 0,
    poll_holder      TEXT NOT NULL DEFAULT '',
    poll_until       BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (kind, external_id)
);

-- A customer as the service knows them (a Telegram user id, a page-scoped
-- id), and the contact they became.
CREATE TABLE chat_customers (
    kind        TEXT NOT NULL,
    external_id TEXT NOT NULL,
    contact_id  TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    name        TEXT NOT NULL DEFAULT '',
    username    TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (kind, external_id)
);
CREATE INDEX chat_customers_contact ON chat_customers(contact_id);

CREATE TABLE chats (
    id            TEXT PRIMARY KEY,
    channel_id    TEXT NOT NULL REFERENCES chat_channels(id),
    queue_id      TEXT NOT NULL REFERENCES chat_queues(id),
    -- Where replies go at the service (a Telegram chat id, a PSID).
    address       TEXT NOT NULL,
    customer_id   TEXT NOT NULL,
    contact_id    TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    customer_name TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL CHECK (status IN ('queued', 'offered', 'active', 'completed', 'bot')),
    -- offered: to whom; active: who holds it.
    operator_id   TEXT REFERENCES users(id) ON DELETE SET NULL,
    offered_at    BIGINT NOT NULL DEFAULT 0,
    accepted_at   BIGINT NOT NULL DEFAULT 0,
    completed_at  BIGINT NOT NULL DEFAULT 0,
    last_in_at    BIGINT NOT NULL DEFAULT 0,
    last_out_at   BIGINT NOT NULL DEFAULT 0,
    -- Messages from the customer the operator has not seen.
    unread        INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- One open chat per customer and channel: two deliveries racing to open
-- one find each other here.
CREATE UNIQUE INDEX chats_open ON chats(channel_id, address) WHERE status <> 'completed';
CREATE INDEX chats_status ON chats(status, queue_id);
CREATE INDEX chats_operator ON chats(operator_id, status);
CREATE INDEX chats_contact ON chats(contact_id, created_at);

-- Who a chat was offered to under "least busy": never offered twice to
-- the same operator.
CREATE TABLE chat_offers (
    chat_id    TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    offered_at BIGINT NOT NULL,
    PRIMARY KEY (chat_id, user_id)
);

CREATE TABLE chat_messages (
    id          TEXT PRIMARY KEY,
    chat_id     TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    channel_id  TEXT NOT NULL REFERENCES chat_channels(id),
    -- in: from the customer; out: an operator's reply; bot: the external
    -- bot's reply (Messenger echo); standby: a customer message observed
    -- while the bot held the thread; event: handover, transfer, completion.
    direction   TEXT NOT NULL CHECK (direction IN ('in', 'out', 'bot', 'standby', 'event')),
    -- The service's id (Telegram update id, Messenger mid): a redelivered
    -- update is stored once.
    external_id TEXT,
    author_id   TEXT REFERENCES users(id) ON DELETE SET NULL,
    body        TEXT NOT NULL DEFAULT '',
    attachments TEXT NOT NULL DEFAULT '[]',
    -- out: pending, sent or failed (error says why).
    state       TEXT NOT NULL DEFAULT 'done' CHECK (state IN ('done', 'pending', 'sent', 'failed')),
    error       TEXT NOT NULL DEFAULT '',
    at          BIGINT NOT NULL
);
CREATE UNIQUE INDEX chat_messages_external ON chat_messages(channel_id, external_id);
CREATE INDEX chat_messages_chat ON chat_messages(chat_id, id);

CREATE TABLE chat_actions (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    -- The queue whose chats offer the action; NULL: every queue.
    queue_id   TEXT REFERENCES chat_queues(id) ON DELETE CASCADE,
    process    TEXT NOT NULL CHECK (process IN ('create_case', 'webhook')),
    url        TEXT NOT NULL DEFAULT '',
    -- Sealed key that signs the webhook's body.
    secret     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
