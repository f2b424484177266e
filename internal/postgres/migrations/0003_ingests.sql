-- Ingests: received payloads and the jobs of processing them (the row is
-- the job: committing it enqueues it). Payloads are kept gzip-compressed in
-- their own table, so that retention can drop them and keep the rows;
-- purged_at records when it did.
CREATE TABLE ingests (
	id           text COLLATE "C" PRIMARY KEY,
	source       text NOT NULL,
	content_type text NOT NULL,
	size         bigint NOT NULL,
	sha256       text NOT NULL,
	received_at  timestamptz NOT NULL,
	status       text NOT NULL,
	findings     integer NOT NULL DEFAULT 0,
	error        text NOT NULL DEFAULT '',
	started_at   timestamptz,
	finished_at  timestamptz,
	purged_at    timestamptz
);
-- The queue: the oldest queued ingest first.
CREATE INDEX ingests_queue ON ingests (status, received_at, id);
CREATE TABLE ingest_payloads (
	ingest_id text COLLATE "C" PRIMARY KEY REFERENCES ingests (id),
	data      bytea NOT NULL
);
