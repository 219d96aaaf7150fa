-- The sync engine's state (package reconcile). A binding is one connection
-- × one kind of record × one remote collection; links pair a local record
-- with its remote item and keep the base for three-way merge.

CREATE TABLE sync_bindings (
    id            TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,          -- contact | event
    collection    TEXT NOT NULL,          -- remote collection id (a group, a calendar)
    remote_cursor TEXT NOT NULL DEFAULT '',
    local_cursor  BIGINT NOT NULL DEFAULT 0,
    policy        TEXT NOT NULL DEFAULT '{}',
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    last_run_at   BIGINT NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    last_stats    TEXT NOT NULL DEFAULT '{}',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX sync_bindings_key ON sync_bindings(connection_id, kind, collection);

CREATE TABLE sync_links (
    binding_id TEXT NOT NULL REFERENCES sync_bindings(id) ON DELETE CASCADE,
    local_id   TEXT NOT NULL,
    remote_id  TEXT NOT NULL DEFAULT '',  -- empty while the remote create is pending
    etag       TEXT NOT NULL DEFAULT '',
    identity   TEXT NOT NULL DEFAULT '',  -- iCalUID, vCard UID …
    marker     TEXT NOT NULL,             -- Tandem's own id stored in the remote item
    base       TEXT NOT NULL DEFAULT '',  -- the record as last synced (JSON)
    base_at    BIGINT NOT NULL DEFAULT 0,
    pending    BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (binding_id, local_id)
);
CREATE UNIQUE INDEX sync_links_remote ON sync_links(binding_id, remote_id) WHERE remote_id <> '';
CREATE UNIQUE INDEX sync_links_marker ON sync_links(binding_id, marker);
CREATE INDEX sync_links_identity ON sync_links(binding_id, identity);

-- Every change the engine applied, for "why did this change?".
CREATE TABLE sync_journal (
    seq        {{SERIAL_PK}},
    binding_id TEXT NOT NULL,
    entity     TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    remote_id  TEXT NOT NULL DEFAULT '',
    side       TEXT NOT NULL,             -- local | remote: where the change was applied
    action     TEXT NOT NULL,             -- create | update | delete | link | unlink | conflict …
    fields     TEXT NOT NULL DEFAULT '',  -- comma-separated field names
    reason     TEXT NOT NULL DEFAULT '',
    at         BIGINT NOT NULL
);
CREATE INDEX sync_journal_record ON sync_journal(record_id, seq);
CREATE INDEX sync_journal_binding ON sync_journal(binding_id, seq);
