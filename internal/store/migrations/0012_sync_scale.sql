-- A push far behind the shared change log (a small binding after another
-- user's thousands of changes) asks the log only about the records it can
-- care about — its links and the records its scope may take in — instead
-- of reading every entry since its cursor (package reconcile, push).
CREATE INDEX changes_record ON changes(entity_id, seq);
