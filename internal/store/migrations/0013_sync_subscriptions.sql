-- Push subscriptions of every provider (issue 8): Google's watch channels
-- become one kind of subscription. kind is how notifications arrive:
-- 'webhook' (Google channels, Microsoft Graph subscriptions) or 'stream'
-- (a connection a worker holds open, IMAP IDLE); expires_at 0 means no
-- expiry. secret_hash is the sha256 of the secret notifications carry
-- (Google's channel token, Graph's clientState); resource_id is the
-- remote's id of what is watched.
ALTER TABLE sync_channels RENAME TO sync_subscriptions;
ALTER TABLE sync_subscriptions RENAME COLUMN token_hash TO secret_hash;
ALTER TABLE sync_subscriptions ADD COLUMN kind TEXT NOT NULL DEFAULT 'webhook';
DROP INDEX sync_channels_binding;
CREATE INDEX sync_subscriptions_binding ON sync_subscriptions(binding_id);
