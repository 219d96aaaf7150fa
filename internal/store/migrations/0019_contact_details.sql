-- Contact details (issue 11, mapping without loss): a birthday, the
-- company as the contact states it, and postal addresses, so that what a
-- vCard or a Google contact carries survives a sync round trip.

-- The company text is kept apart from account_id: an imported company no
-- account matches is still the contact's company (crm.Contact.Company).
ALTER TABLE contacts ADD COLUMN company TEXT NOT NULL DEFAULT '';
-- "YYYY-MM-DD", or "--MM-DD" when the year is unknown; '' for none.
ALTER TABLE contacts ADD COLUMN birthday TEXT NOT NULL DEFAULT '';

-- The kinds are crm.AddressKinds. Ordered like contact_emails.
CREATE TABLE contact_addresses (
    contact_id  TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    street      TEXT NOT NULL DEFAULT '',
    city        TEXT NOT NULL DEFAULT '',
    region      TEXT NOT NULL DEFAULT '',
    postal_code TEXT NOT NULL DEFAULT '',
    country     TEXT NOT NULL DEFAULT '',
    is_primary  BOOLEAN NOT NULL,
    PRIMARY KEY (contact_id, position)
);
