-- Deliveries: the outbox, one row per action and destination, never
-- deleted. pending is 1 while the destination is not in step with the
-- action; a pending row that is not dead may be claimed once
-- next_attempt_at has passed and no lease (lease_until) holds it.
-- claimed_at is the time given to the last claim and requeued says whether
-- the delivery was queued again since that claim, so that completing the
-- claim leaves it pending only then (whatever the clocks of the replicas
-- that queued and claimed it); queued_at is when it was last queued.
-- delivered is the action's UpdatedAt as last delivered. Times are Unix
-- microseconds, UTC; NULL when not set. Booleans are 0 or 1.
CREATE TABLE deliveries (
	action_id       TEXT NOT NULL,
	destination     TEXT NOT NULL,
	ref_external_id TEXT NOT NULL DEFAULT '',
	ref_url         TEXT NOT NULL DEFAULT '',
	state           TEXT NOT NULL DEFAULT '',
	delivered       INTEGER,
	pending         INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER,
	lease_until     INTEGER,
	last_error      TEXT NOT NULL DEFAULT '',
	dead            INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	queued_at       INTEGER NOT NULL,
	claimed_at      INTEGER,
	requeued        INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (action_id, destination)
) STRICT;
-- The queue: the deliveries that may be claimed, the oldest due first.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, action_id, destination) WHERE pending = 1 AND dead = 0;
-- Listing, most recently updated first.
CREATE INDEX deliveries_updated ON deliveries (updated_at, action_id, destination);

-- Previews: what observe mode would have sent, newest (highest id) first.
-- payload is the request body as the destination would have received it.
CREATE TABLE previews (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	action_id   TEXT NOT NULL,
	destination TEXT NOT NULL,
	operation   TEXT NOT NULL,
	payload     BLOB NOT NULL,
	created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX previews_action ON previews (action_id, id);
CREATE INDEX previews_destination ON previews (destination, id);

-- Approvals: requests for a person to allow what sextant will not do on
-- its own, and their decisions. A pending request past expires_at is
-- reported as expired, and stored so at the next write that meets it. At
-- most one request per action and kind is pending.
CREATE TABLE approvals (
	id           TEXT PRIMARY KEY,
	action_id    TEXT NOT NULL,
	kind         TEXT NOT NULL,    -- ticket or remediate
	reason       TEXT NOT NULL,
	requested_by TEXT NOT NULL,
	requested_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	status       TEXT NOT NULL,    -- pending, approved, rejected or expired
	decided_by   TEXT NOT NULL DEFAULT '',
	decided_at   INTEGER,
	comment      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX approvals_pending ON approvals (action_id, kind) WHERE status = 'pending';
CREATE INDEX approvals_requested ON approvals (requested_at, id);
CREATE INDEX approvals_action ON approvals (action_id, requested_at, id);

-- MTTR reads the actions resolved since a time.
CREATE INDEX actions_resolved ON actions (resolved_at) WHERE resolved_at IS NOT NULL;
