-- Cases (issue 10): a customer's request worked on to its resolution, often
-- raised from a chat. A case is a record like a contact or an account: it
-- has an owner, record access (record_access), tags (record_tags) and
-- change-log entries under the entity "case".

-- Counters hand out human numbers. Taking the next one is an UPDATE of the
-- counter's row inside the creating transaction: on PostgreSQL the row
-- lock makes concurrent creators wait until the holder commits (they then
-- read its value), on SQLite the single writer already serializes; a
-- rolled-back create gives its number back. No number is handed out twice
-- or skipped, on either database, without a dialect-specific sequence.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('case_number', 0);

-- The status and priority lists are crm.CaseStatuses and crm.CasePriorities.
CREATE TABLE cases (
    id             TEXT PRIMARY KEY,
    number         BIGINT NOT NULL UNIQUE, -- shown as CS-000123
    subject        TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL CHECK (status IN ('new', 'in_progress', 'waiting', 'resolved', 'closed')),
    priority       TEXT NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    contact_id     TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    account_id     TEXT REFERENCES accounts(id) ON DELETE SET NULL,
    -- The chat the case was created from. No foreign key: the chats table
    -- arrives in a later migration (omnichannel chat), and a case outlives
    -- its chat.
    source_chat_id TEXT,
    owner_id       TEXT NOT NULL REFERENCES users(id),
    created_by     TEXT NOT NULL REFERENCES users(id),
    sort_subject   TEXT NOT NULL, -- folded subject, for sorting by it
    search         TEXT NOT NULL, -- folded reference and subject (crm.Case.SearchText)
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    closed_at      BIGINT,        -- when it was resolved or closed; NULL while open
    version        BIGINT NOT NULL DEFAULT 1
);
-- The list sorts by number (newest first, the default, served by the
-- UNIQUE index), by last update or by subject; its filters lead with the
-- column they narrow on and go on in number order.
CREATE INDEX cases_updated ON cases(updated_at, id);
CREATE INDEX cases_subject ON cases(sort_subject, id);
CREATE INDEX cases_owner ON cases(owner_id, number);
CREATE INDEX cases_status ON cases(status, number);
CREATE INDEX cases_contact ON cases(contact_id, number);
CREATE INDEX cases_account ON cases(account_id, number);
CREATE INDEX cases_source_chat ON cases(source_chat_id);
-- Substring search, as for contacts and accounts (0002_search_indexes.sql
-- installed pg_trgm).
-- postgres: CREATE INDEX cases_search_trgm ON cases USING gin (search gin_trgm_ops);
