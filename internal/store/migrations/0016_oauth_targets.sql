-- An authorization whose tokens are for another connection provider than
-- the issuer's own sync connection (issue 9: a Gmail mailbox, provider
-- "imap", consents at Google with its mail provider's app). target names
-- that connection provider ('' for the issuer's own); target_data is what
-- its package needs back at the callback (the address, the mail provider).
ALTER TABLE oauth_states ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth_states ADD COLUMN target_data TEXT NOT NULL DEFAULT '';
