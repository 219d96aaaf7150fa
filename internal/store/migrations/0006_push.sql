-- Push channels (Google Calendar events.watch): one or two per binding
-- while a renewal overlaps the old channel.
CREATE TABLE sync_channels (
    id          TEXT PRIMARY KEY,   -- the channel id Tandem chose
    binding_id  TEXT NOT NULL REFERENCES sync_bindings(id) ON DELETE CASCADE,
    resource_id TEXT NOT NULL DEFAULT '',
    token_hash  TEXT NOT NULL,      -- sha256 of the channel token
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX sync_channels_binding ON sync_channels(binding_id);
