-- The intake queue's retries: attempts counts the claims of an ingest;
-- next_attempt_at (Unix microseconds, UTC) is when an ingest put back in the
-- queue after a transient failure may be claimed again, NULL for now.
ALTER TABLE ingests ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ingests ADD COLUMN next_attempt_at INTEGER;
-- The queue, oldest first; next_attempt_at is in the index so that a claim
-- skips the ingests not yet due without reading their rows. Listing by
-- status walks it backwards.
DROP INDEX ingests_queue;
CREATE INDEX ingests_queue ON ingests (status, received_at, id, next_attempt_at);
-- Listing every ingest, newest first.
CREATE INDEX ingests_received ON ingests (received_at, id);
