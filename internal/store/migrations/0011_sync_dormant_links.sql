-- A dormant link pairs a record and an item that left the binding's scope
-- (untagged, taken out of the calendar, removed from the remote group): it
-- keeps the pair and the base so that either coming back finds the other
-- instead of creating a second one (package reconcile).
ALTER TABLE sync_links ADD COLUMN dormant BOOLEAN NOT NULL DEFAULT FALSE;
