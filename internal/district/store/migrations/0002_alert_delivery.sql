-- Alerts carry what a receiver needs as JSON (data) and their webhook
-- delivery state: attempts, when the next may go, the last error, and when
-- one was delivered ('' while not yet), so a restarted sender resends only
-- what was never delivered.
ALTER TABLE alerts ADD COLUMN data TEXT NOT NULL DEFAULT '{}';
ALTER TABLE alerts ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN next_attempt_at TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN delivered_at TEXT NOT NULL DEFAULT '';
CREATE INDEX alerts_undelivered ON alerts (delivered_at, next_attempt_at, id);
