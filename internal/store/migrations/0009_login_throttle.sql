-- Sign-in throttling (internal/signin): the failure count of each account
-- (by email tried) and each client address, and the failed sign-ins an
-- administrator sees. Both are pruned by the hourly cleanup job.
CREATE TABLE login_throttles (
    throttle_key  TEXT PRIMARY KEY,    -- "account:<email>" or "address:<ip>"
    failures      INTEGER NOT NULL DEFAULT 0,
    last_failure  BIGINT NOT NULL DEFAULT 0,
    blocked_until BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE login_failures (
    id          {{SERIAL_PK}},
    at          BIGINT NOT NULL,
    email       TEXT NOT NULL,         -- as typed, lower-cased
    client_addr TEXT NOT NULL,
    reason      TEXT NOT NULL          -- signin.Reason
);
CREATE INDEX login_failures_at ON login_failures(at);
