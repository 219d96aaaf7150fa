-- Mail (issue 9): the administrator's directory of mail providers and the
-- domains that map to them, and the mailboxes that use them. A mailbox is a
-- connection; the table here is its minimal form (later migrations extend
-- it). mailboxes.provider_id has no ON DELETE: a provider in use cannot be
-- deleted (the store checks first and says so; the key is the backstop).
-- oauth_client_secret is sealed by package secret.
CREATE TABLE mail_providers (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    name_key            TEXT NOT NULL UNIQUE, -- the name folded, for uniqueness regardless of case
    type                TEXT NOT NULL CHECK (type IN ('imap', 'exchange')),
    preset              TEXT NOT NULL DEFAULT '',
    imap_host           TEXT NOT NULL DEFAULT '',
    imap_port           INTEGER NOT NULL DEFAULT 0,
    imap_security       TEXT NOT NULL DEFAULT '',
    smtp_host           TEXT NOT NULL DEFAULT '',
    smtp_port           INTEGER NOT NULL DEFAULT 0,
    smtp_security       TEXT NOT NULL DEFAULT '',
    login_format        TEXT NOT NULL DEFAULT 'email',
    auth                TEXT NOT NULL DEFAULT 'basic',
    oauth_client_id     TEXT NOT NULL DEFAULT '',
    oauth_client_secret TEXT NOT NULL DEFAULT '',
    exchange_url        TEXT NOT NULL DEFAULT '',
    exchange_load       BOOLEAN NOT NULL DEFAULT FALSE,
    exchange_send       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

-- domain is lower-case ASCII (IDNA A-labels for international names).
CREATE TABLE mail_provider_domains (
    domain      TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES mail_providers(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL
);
CREATE INDEX mail_provider_domains_provider ON mail_provider_domains(provider_id);

CREATE TABLE mailboxes (
    connection_id TEXT PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
    provider_id   TEXT NOT NULL REFERENCES mail_providers(id),
    address       TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX mailboxes_provider ON mailboxes(provider_id);
