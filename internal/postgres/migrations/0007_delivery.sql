-- Deliveries: the outbox, one row per action and destination, never
-- deleted. pending is true while the destination is not in step with the
-- action; a pending row that is not dead may be claimed once
-- next_attempt_at has passed and no lease (lease_until) holds it.
-- claimed_at is the time given to the last claim and requeued says whether
-- the delivery was queued again since that claim, so that completing the
-- claim leaves it pending only then (whatever the clocks of the replicas
-- that queued and claimed it); queued_at is when it was last queued.
-- delivered is the action's UpdatedAt as last delivered.
CREATE TABLE deliveries (
	action_id       text COLLATE "C" NOT NULL, -- byte order, as in SQLite
	destination     text COLLATE "C" NOT NULL,
	ref_external_id text NOT NULL DEFAULT '',
	ref_url         text NOT NULL DEFAULT '',
	state           text NOT NULL DEFAULT '',
	delivered       timestamptz,
	pending         boolean NOT NULL,
	attempts        integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz,
	lease_until     timestamptz,
	last_error      text NOT NULL DEFAULT '',
	dead            boolean NOT NULL DEFAULT false,
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL,
	queued_at       timestamptz NOT NULL,
	claimed_at      timestamptz,
	requeued        boolean NOT NULL DEFAULT false,
	PRIMARY KEY (action_id, destination)
);
-- The queue: the deliveries that may be claimed, the oldest due first.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, action_id, destination) WHERE pending AND NOT dead;
-- Listing, most recently updated first.
CREATE INDEX deliveries_updated ON deliveries (updated_at, action_id, destination);

-- Previews: what observe mode would have sent, newest (highest id) first.
-- payload is the request body as the destination would have received it.
CREATE TABLE previews (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	action_id   text COLLATE "C" NOT NULL,
	destination text COLLATE "C" NOT NULL,
	operation   text NOT NULL,
	payload     bytea NOT NULL,
	created_at  timestamptz NOT NULL
);
CREATE INDEX previews_action ON previews (action_id, id);
CREATE INDEX previews_destination ON previews (destination, id);

-- Approvals: requests for a person to allow what sextant will not do on
-- its own, and their decisions. A pending request past expires_at is
-- reported as expired, and stored so at the next write that meets it. At
-- most one request per action and kind is pending.
CREATE TABLE approvals (
	id           text COLLATE "C" PRIMARY KEY,
	action_id    text COLLATE "C" NOT NULL,
	kind         text NOT NULL,    -- ticket or remediate
	reason       text NOT NULL,
	requested_by text NOT NULL,
	requested_at timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	status       text NOT NULL,    -- pending, approved, rejected or expired
	decided_by   text NOT NULL DEFAULT '',
	decided_at   timestamptz,
	comment      text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX approvals_pending ON approvals (action_id, kind) WHERE status = 'pending';
CREATE INDEX approvals_requested ON approvals (requested_at, id);
CREATE INDEX approvals_action ON approvals (action_id, requested_at, id);

-- MTTR reads the actions resolved since a time.
CREATE INDEX actions_resolved ON actions (resolved_at) WHERE resolved_at IS NOT NULL;
