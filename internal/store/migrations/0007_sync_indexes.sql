-- Pending links are looked up at the start of every push; keep that cheap
-- however many links a binding has (measured with tandem bench sync).
CREATE INDEX sync_links_pending ON sync_links(binding_id) WHERE pending;
