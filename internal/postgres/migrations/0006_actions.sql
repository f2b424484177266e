-- Owners: the team that owns an artifact, given with each scan and kept on
-- every finding of the artifact as the owner of its latest scan (by
-- scanned_at), for filtering. '' when unknown.
ALTER TABLE scans ADD COLUMN owner text NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN owner text NOT NULL DEFAULT '';
CREATE INDEX findings_owner ON findings (owner, score DESC, id);

-- Actions: the units of work derived from the open findings of an
-- artifact, one row per sextant.Action ID, never deleted (an action no
-- longer derived is resolved). data is the Action; artifact, kind,
-- priority, score and findings (len(FindingIDs)) repeat it for filtering
-- and ranking. resolved_at is NULL while the action is open.
CREATE TABLE actions (
	id          text COLLATE "C" PRIMARY KEY, -- byte order, as in SQLite
	artifact    text NOT NULL,    -- Artifact.Key
	kind        text NOT NULL,
	priority    integer NOT NULL, -- sextant.Priority: 0 is P0
	score       double precision NOT NULL,
	status      text NOT NULL,    -- open or resolved
	owner       text NOT NULL,
	data        jsonb NOT NULL,
	findings    integer NOT NULL,
	first_seen  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	resolved_at timestamptz
);
CREATE INDEX actions_rank ON actions (score DESC, id);
CREATE INDEX actions_artifact ON actions (artifact, status);
