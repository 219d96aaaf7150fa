-- Mailboxes and letters (issue 9). A mailbox is a connection (its
-- credentials sealed there) with a row in mailboxes (0014); these columns
-- are its settings.
ALTER TABLE mailboxes ADD COLUMN login TEXT NOT NULL DEFAULT '';
ALTER TABLE mailboxes ADD COLUMN first_load TEXT NOT NULL DEFAULT 'month';
ALTER TABLE mailboxes ADD COLUMN auto_load BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE mailboxes ADD COLUMN all_folders BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE mailboxes ADD COLUMN folders TEXT NOT NULL DEFAULT '[]';
ALTER TABLE mailboxes ADD COLUMN send_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE mailboxes ADD COLUMN default_sender BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE mailboxes ADD COLUMN alias TEXT NOT NULL DEFAULT '';
ALTER TABLE mailboxes ADD COLUMN signature TEXT NOT NULL DEFAULT '';
ALTER TABLE mailboxes ADD COLUMN signature_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE mailboxes ADD COLUMN shared BOOLEAN NOT NULL DEFAULT FALSE;
-- The first load's lower bound (micros): set once, so a later change of
-- first_load does not reload or drop anything.
ALTER TABLE mailboxes ADD COLUMN loaded_since BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
-- The process holding the mailbox's IMAP IDLE connection, until when: one
-- per mailbox however many workers run.
ALTER TABLE mailboxes ADD COLUMN idle_holder TEXT NOT NULL DEFAULT '';
ALTER TABLE mailboxes ADD COLUMN idle_until BIGINT NOT NULL DEFAULT 0;

-- Who may use a shared mailbox besides its owner: a user or a role, with
-- any of three rights.
CREATE TABLE mailbox_grants (
    mailbox_id    TEXT NOT NULL REFERENCES mailboxes(connection_id) ON DELETE CASCADE,
    grantee_kind  TEXT NOT NULL CHECK (grantee_kind IN ('user', 'role')),
    grantee_id    TEXT NOT NULL,
    can_read      BOOLEAN NOT NULL DEFAULT FALSE,
    can_send      BOOLEAN NOT NULL DEFAULT FALSE,
    can_configure BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (mailbox_id, grantee_kind, grantee_id)
);
CREATE INDEX mailbox_grants_grantee ON mailbox_grants(grantee_id);

-- A mailbox's folders as last listed, with each one's IMAP cursor:
-- UIDVALIDITY, UIDNEXT and HIGHESTMODSEQ as of the last load.
CREATE TABLE mail_folders (
    mailbox_id     TEXT NOT NULL REFERENCES mailboxes(connection_id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    parent         TEXT NOT NULL DEFAULT '',
    special        TEXT NOT NULL DEFAULT '',
    selectable     BOOLEAN NOT NULL DEFAULT TRUE,
    uid_validity   BIGINT NOT NULL DEFAULT 0,
    uid_next       BIGINT NOT NULL DEFAULT 0,
    highest_modseq BIGINT NOT NULL DEFAULT 0,
    loaded_at      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (mailbox_id, name)
);

-- Raw letters exactly as received, stored once by content (sha256).
CREATE TABLE mail_blobs (
    hash TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
-- sqlite: data BLOB NOT NULL
-- postgres: data BYTEA NOT NULL
);

-- A letter, once whatever folders and mailboxes hold it (hash), with what
-- lists and threads need. thread_id is the id of the first letter of its
-- thread Tandem saw.
CREATE TABLE mail_messages (
    id              TEXT PRIMARY KEY,
    hash            TEXT NOT NULL UNIQUE REFERENCES mail_blobs(hash),
    message_id      TEXT NOT NULL DEFAULT '',
    thread_id       TEXT NOT NULL,
    in_reply_to     TEXT NOT NULL DEFAULT '',
    subject         TEXT NOT NULL DEFAULT '',
    snippet         TEXT NOT NULL DEFAULT '',
    from_name       TEXT NOT NULL DEFAULT '',
    from_email      TEXT NOT NULL DEFAULT '',
    sent_at         BIGINT NOT NULL DEFAULT 0,
    received_at     BIGINT NOT NULL,
    size            BIGINT NOT NULL,
    has_attachments BOOLEAN NOT NULL DEFAULT FALSE,
    warnings        TEXT NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL
);
CREATE INDEX mail_messages_message_id ON mail_messages(message_id);
CREATE INDEX mail_messages_thread ON mail_messages(thread_id);

-- Where a letter sits: one row per mailbox, folder and UID.
CREATE TABLE mail_locations (
    mailbox_id   TEXT NOT NULL REFERENCES mailboxes(connection_id) ON DELETE CASCADE,
    folder       TEXT NOT NULL,
    uid_validity BIGINT NOT NULL,
    uid          BIGINT NOT NULL,
    message_id   TEXT NOT NULL REFERENCES mail_messages(id) ON DELETE CASCADE,
    seen         BOOLEAN NOT NULL DEFAULT FALSE,
    flags        TEXT NOT NULL DEFAULT '',
    received_at  BIGINT NOT NULL,
    PRIMARY KEY (mailbox_id, folder, uid_validity, uid)
);
CREATE INDEX mail_locations_message ON mail_locations(message_id);
CREATE INDEX mail_locations_mailbox ON mail_locations(mailbox_id, received_at);

-- Every address of a letter (folded), by role: the contacts and accounts
-- a letter belongs to are found through these at read time, so a contact
-- added or edited later sees its old letters.
CREATE TABLE mail_addresses (
    message_id TEXT NOT NULL REFERENCES mail_messages(id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    position   INTEGER NOT NULL,
    email      TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (message_id, role, position)
);
CREATE INDEX mail_addresses_email ON mail_addresses(email, message_id);

-- Attachments as the parser found them; their bytes are in the raw letter.
CREATE TABLE mail_attachments (
    message_id   TEXT NOT NULL REFERENCES mail_messages(id) ON DELETE CASCADE,
    position     INTEGER NOT NULL,
    filename     TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT '',
    content_id   TEXT NOT NULL DEFAULT '',
    inline       BOOLEAN NOT NULL DEFAULT FALSE,
    size         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (message_id, position)
);
