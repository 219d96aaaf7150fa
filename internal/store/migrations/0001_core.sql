-- Core schema. Written once for SQLite and PostgreSQL: ids are text (UUIDv7),
-- times are BIGINT Unix microseconds (UTC), and the few dialect words are
-- {{placeholders}} filled in by dialect.go.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    language      TEXT NOT NULL DEFAULT '',
    time_zone     TEXT NOT NULL DEFAULT 'UTC',
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE roles (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles(role_id);

-- A system operation granted to a user or to a role.
CREATE TABLE operation_grants (
    operation    TEXT NOT NULL,
    grantee_kind TEXT NOT NULL CHECK (grantee_kind IN ('user', 'role')),
    grantee_id   TEXT NOT NULL,
    PRIMARY KEY (operation, grantee_kind, grantee_id)
);
CREATE INDEX operation_grants_grantee ON operation_grants(grantee_id);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY, -- sha256 of the cookie value
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE, -- sha256 of the token
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0,
    expires_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    type       TEXT NOT NULL DEFAULT '',
    industry   TEXT NOT NULL DEFAULT '',
    website    TEXT NOT NULL DEFAULT '',
    phone      TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    address    TEXT NOT NULL DEFAULT '',
    notes      TEXT NOT NULL DEFAULT '',
    owner_id   TEXT NOT NULL REFERENCES users(id),
    sort_name  TEXT NOT NULL,
    search     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version    BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX accounts_sort ON accounts(sort_name, id);
CREATE INDEX accounts_owner ON accounts(owner_id, sort_name, id);

CREATE TABLE contacts (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    given_name  TEXT NOT NULL DEFAULT '',
    middle_name TEXT NOT NULL DEFAULT '',
    family_name TEXT NOT NULL DEFAULT '',
    job_title   TEXT NOT NULL DEFAULT '',
    type        TEXT NOT NULL DEFAULT '',
    account_id  TEXT REFERENCES accounts(id) ON DELETE SET NULL,
    notes       TEXT NOT NULL DEFAULT '',
    owner_id    TEXT NOT NULL REFERENCES users(id),
    sort_name   TEXT NOT NULL,
    search      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    version     BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX contacts_sort ON contacts(sort_name, id);
CREATE INDEX contacts_owner ON contacts(owner_id, sort_name, id);
CREATE INDEX contacts_account ON contacts(account_id);

CREATE TABLE contact_emails (
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    address    TEXT NOT NULL,
    address_fold TEXT NOT NULL,
    kind       TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL,
    PRIMARY KEY (contact_id, position)
);
CREATE INDEX contact_emails_address ON contact_emails(address_fold);

CREATE TABLE contact_phones (
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    number     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL,
    PRIMARY KEY (contact_id, position)
);

CREATE TABLE activities (
    id               TEXT PRIMARY KEY,
    type             TEXT NOT NULL,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    location         TEXT NOT NULL DEFAULT '',
    start_at         BIGINT,
    end_at           BIGINT,
    all_day          BOOLEAN NOT NULL DEFAULT FALSE,
    time_zone        TEXT NOT NULL DEFAULT 'UTC',
    show_in_calendar BOOLEAN NOT NULL DEFAULT FALSE,
    status           TEXT NOT NULL,
    priority         TEXT NOT NULL,
    owner_id         TEXT NOT NULL REFERENCES users(id),
    author_id        TEXT NOT NULL REFERENCES users(id),
    organizer_id     TEXT REFERENCES users(id) ON DELETE SET NULL,
    organizer_email  TEXT NOT NULL DEFAULT '',
    account_id       TEXT REFERENCES accounts(id) ON DELETE SET NULL,
    contact_id       TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    rrule            TEXT NOT NULL DEFAULT '',
    exdates          TEXT NOT NULL DEFAULT '', -- space-separated Unix microseconds
    search           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    version          BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX activities_start ON activities(start_at, id);
CREATE INDEX activities_owner ON activities(owner_id, start_at);
CREATE INDEX activities_contact ON activities(contact_id);
CREATE INDEX activities_account ON activities(account_id);

CREATE TABLE activity_participants (
    activity_id     TEXT NOT NULL REFERENCES activities(id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    contact_id      TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    email           TEXT NOT NULL DEFAULT '',
    name            TEXT NOT NULL DEFAULT '',
    response_status TEXT NOT NULL,
    PRIMARY KEY (activity_id, position)
);
CREATE INDEX activity_participants_contact ON activity_participants(contact_id);

-- Roles granted read or edit on one record (contact, account, activity,
-- group). The owner always has edit.
CREATE TABLE record_access (
    record_id TEXT NOT NULL,
    role_id   TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    entity    TEXT NOT NULL,
    level     TEXT NOT NULL CHECK (level IN ('read', 'edit')),
    PRIMARY KEY (record_id, role_id)
);
CREATE INDEX record_access_role ON record_access(role_id);

CREATE TABLE tags (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    name_fold  TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('personal', 'corporate', 'public')),
    color      TEXT NOT NULL DEFAULT 'gray',
    owner_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX tags_owner ON tags(owner_id);

CREATE TABLE record_tags (
    tag_id    TEXT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    record_id TEXT NOT NULL,
    entity    TEXT NOT NULL,
    PRIMARY KEY (tag_id, record_id)
);
CREATE INDEX record_tags_record ON record_tags(record_id);

CREATE TABLE groups (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    entity     TEXT NOT NULL CHECK (entity IN ('contact', 'activity')),
    owner_id   TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version    BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    record_id TEXT NOT NULL,
    added_at  BIGINT NOT NULL,
    PRIMARY KEY (group_id, record_id)
);
CREATE INDEX group_members_record ON group_members(record_id);

-- The change log: every write to a synced entity, in commit order.
CREATE TABLE changes (
    seq       {{SERIAL_PK}},
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    op        TEXT NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    origin    TEXT NOT NULL,
    actor_id  TEXT NOT NULL DEFAULT '',
    at        BIGINT NOT NULL
);
CREATE INDEX changes_entity ON changes(entity, seq);

CREATE TABLE settings (
    code       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT ''
);

-- A user's link to one external account; filled by the integration issues.
CREATE TABLE connections (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider      TEXT NOT NULL,
    account_email TEXT NOT NULL DEFAULT '',
    display_name  TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL DEFAULT 'active',
    status_reason TEXT NOT NULL DEFAULT '',
    credentials   TEXT NOT NULL DEFAULT '', -- sealed by package secret
    config        TEXT NOT NULL DEFAULT '{}',
    last_sync_at  BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX connections_user ON connections(user_id);
