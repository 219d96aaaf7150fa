-- A series' extra occurrences (RFC 5545 RDATE date and date-time values),
-- their original starts in Unix microseconds separated by spaces, as
-- exdates (crm.Activity.RDates). A series may be made of them alone.
ALTER TABLE activities ADD COLUMN rdates TEXT NOT NULL DEFAULT '';
