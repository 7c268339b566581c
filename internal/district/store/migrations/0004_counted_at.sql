-- The time an event counts at (the day its reading is counted on, the
-- window the screen reads cases and health by): its captured_at, or its
-- received_at when captured_at is further than the ingester's clock skew
-- from it (a box whose clock is a year off). Events stored before this
-- migration count at their captured_at, as they did.
ALTER TABLE events ADD COLUMN counted_at TEXT NOT NULL DEFAULT '';
UPDATE events SET counted_at = captured_at;
DROP INDEX events_school_kind_captured;
CREATE INDEX events_school_kind_counted ON events (school, kind, counted_at);
