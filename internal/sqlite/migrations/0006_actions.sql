-- Owners: the team that owns an artifact, given with each scan and kept on
-- every finding of the artifact as the owner of its latest scan (by
-- scanned_at), for filtering. '' when unknown.
ALTER TABLE scans ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE findings ADD COLUMN owner TEXT NOT NULL DEFAULT '';
CREATE INDEX findings_owner ON findings (owner, score DESC, id);

-- Actions: the units of work derived from the open findings of an
-- artifact, one row per sextant.Action ID, never deleted (an action no
-- longer derived is resolved). data is the Action as JSON; artifact, kind,
-- priority, score and findings (len(FindingIDs)) repeat it for filtering
-- and ranking. Times are Unix microseconds, UTC; resolved_at is NULL while
-- the action is open.
CREATE TABLE actions (
	id          TEXT PRIMARY KEY,
	artifact    TEXT NOT NULL,    -- Artifact.Key
	kind        TEXT NOT NULL,
	priority    INTEGER NOT NULL, -- sextant.Priority: 0 is P0
	score       REAL NOT NULL,
	status      TEXT NOT NULL,    -- open or resolved
	owner       TEXT NOT NULL,
	data        TEXT NOT NULL,
	findings    INTEGER NOT NULL,
	first_seen  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	resolved_at INTEGER
) STRICT;
CREATE INDEX actions_rank ON actions (score DESC, id);
CREATE INDEX actions_artifact ON actions (artifact, status);
