-- Contact photos (issue 11: a vCard's PHOTO maps to them). One per
-- contact, apart from the contacts row so that lists and sync's batch
-- reads never carry the bytes unless asked. content_type is what the
-- bytes sniff as (crm.PhotoTypes); etag is the hex SHA-256 of data, which
-- HTTP caches and sync compare.
CREATE TABLE contact_photos (
    contact_id   TEXT PRIMARY KEY REFERENCES contacts(id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    etag         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
-- sqlite: data BLOB NOT NULL
-- postgres: data BYTEA NOT NULL
);
