-- A binding's run in progress, for live views in any process: when it
-- started, and its running counts (reconcile.Stats as JSON; '' when no run
-- is under way), written by the running process now and then.
ALTER TABLE sync_bindings ADD COLUMN run_started_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sync_bindings ADD COLUMN run_progress TEXT NOT NULL DEFAULT '';
