-- A run lease per connection, so two worker processes never sync the same
-- connection at once (the job queue coalesces runs but is not a lock).
ALTER TABLE connections ADD COLUMN run_lease_holder TEXT NOT NULL DEFAULT '';
ALTER TABLE connections ADD COLUMN run_lease_until BIGINT NOT NULL DEFAULT 0;
