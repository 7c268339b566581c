-- The district's first schema: boxes and their bindings, events, retained
-- status and daily reports, quarantine, alerts. Times are RFC 3339 UTC with
-- milliseconds as text (the contract's one format, which sorts as it reads).
CREATE TABLE boxes (
	box TEXT PRIMARY KEY,
	district TEXT NOT NULL,
	school TEXT NOT NULL,
	gate TEXT NOT NULL,
	first_seen TEXT NOT NULL,
	last_seq BIGINT NOT NULL DEFAULT 0,
	last_captured_at TEXT NOT NULL DEFAULT '',
	last_received_at TEXT NOT NULL DEFAULT '',
	UNIQUE (district, school, gate)
);

CREATE TABLE events (
	id TEXT PRIMARY KEY,
	box TEXT NOT NULL,
	seq BIGINT NOT NULL,
	kind TEXT NOT NULL,
	district TEXT NOT NULL,
	school TEXT NOT NULL,
	gate TEXT NOT NULL,
	captured_at TEXT NOT NULL,
	clock_synced BOOLEAN NOT NULL,
	drill BOOLEAN NOT NULL,
	hash TEXT NOT NULL,
	body TEXT NOT NULL,
	received_at TEXT NOT NULL
);
CREATE INDEX events_box_seq ON events (box, seq);
CREATE INDEX events_school_kind_captured ON events (school, kind, captured_at);

CREATE TABLE box_status (
	box TEXT PRIMARY KEY,
	state TEXT NOT NULL,
	reason TEXT NOT NULL,
	since TEXT NOT NULL,
	boot_id TEXT NOT NULL,
	version TEXT NOT NULL,
	received_at TEXT NOT NULL
);

CREATE TABLE daily_reports (
	box TEXT NOT NULL,
	day TEXT NOT NULL,
	school TEXT NOT NULL,
	id TEXT NOT NULL,
	seq BIGINT NOT NULL,
	zero BOOLEAN NOT NULL,
	late BOOLEAN NOT NULL,
	total BIGINT NOT NULL,
	pass BIGINT NOT NULL,
	flag BIGINT NOT NULL,
	retake BIGINT NOT NULL,
	invalid BIGINT NOT NULL,
	body TEXT NOT NULL,
	received_at TEXT NOT NULL,
	PRIMARY KEY (box, day)
);
CREATE INDEX daily_reports_day ON daily_reports (day, school);

CREATE TABLE quarantine (
	id {{serial}},
	topic TEXT NOT NULL,
	reason TEXT NOT NULL,
	detail TEXT NOT NULL,
	size BIGINT NOT NULL,
	payload {{bytes}} NOT NULL,
	received_at TEXT NOT NULL
);
CREATE INDEX quarantine_reason ON quarantine (reason);

CREATE TABLE alerts (
	id {{serial}},
	kind TEXT NOT NULL,
	school TEXT NOT NULL,
	box TEXT NOT NULL,
	detail TEXT NOT NULL,
	at TEXT NOT NULL,
	dedup_key TEXT NOT NULL UNIQUE
);
CREATE INDEX alerts_at ON alerts (at);
