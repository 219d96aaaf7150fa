-- OAuth connections (package oauth): one connection per user, provider and
-- external account, the scopes it was granted, and the authorizations in
-- flight between "Add account" and the provider's redirect back.

-- One connection per (user, provider, account). Connections without an
-- address (a CalDAV server, say) are not constrained.
CREATE UNIQUE INDEX connections_account ON connections(user_id, provider, account_email) WHERE account_email <> '';

-- The scopes the account granted, space-separated (not secret; the token
-- itself stays sealed in credentials).
ALTER TABLE connections ADD COLUMN scopes TEXT NOT NULL DEFAULT '';

-- An authorization request in flight, at most 10 minutes. Only the SHA-256
-- of the state parameter is stored; session_hash binds it to the browser
-- session that started it; the PKCE verifier is sealed by package secret.
CREATE TABLE oauth_states (
    state_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_hash TEXT NOT NULL,
    provider     TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    login_hint   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX oauth_states_expires ON oauth_states(expires_at);
