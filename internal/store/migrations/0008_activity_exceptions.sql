-- Occurrences of a series changed on their own (JSON list, see
-- encodeOverrides), and a task's actual dates (Unix microseconds).
ALTER TABLE activities ADD COLUMN overrides TEXT NOT NULL DEFAULT '';
ALTER TABLE activities ADD COLUMN actual_start BIGINT;
ALTER TABLE activities ADD COLUMN actual_end BIGINT;
