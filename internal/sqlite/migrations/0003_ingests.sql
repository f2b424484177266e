-- Ingests: received payloads and the jobs of processing them (the row is
-- the job: committing it enqueues it). Payloads are kept gzip-compressed in
-- their own table, so that retention can drop them and keep the rows;
-- purged_at records when it did. Times are Unix microseconds, UTC; NULL
-- when not set.
CREATE TABLE ingests (
	id           TEXT PRIMARY KEY,
	source       TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size         INTEGER NOT NULL,
	sha256       TEXT NOT NULL,
	received_at  INTEGER NOT NULL,
	status       TEXT NOT NULL,
	findings     INTEGER NOT NULL DEFAULT 0,
	error        TEXT NOT NULL DEFAULT '',
	started_at   INTEGER,
	finished_at  INTEGER,
	purged_at    INTEGER
) STRICT;
-- The queue: the oldest queued ingest first.
CREATE INDEX ingests_queue ON ingests (status, received_at, id);
CREATE TABLE ingest_payloads (
	ingest_id TEXT PRIMARY KEY REFERENCES ingests (id),
	data      BLOB NOT NULL
) STRICT;
