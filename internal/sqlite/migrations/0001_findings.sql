-- Findings, the scans that reported them, one attribution per source, and
-- the status history. Times are Unix microseconds, UTC. Nothing is deleted.
CREATE TABLE scans (
	id          TEXT PRIMARY KEY,
	artifact    TEXT NOT NULL,    -- Artifact.Key
	source      TEXT NOT NULL,    -- Source.Scanner
	complete    INTEGER NOT NULL, -- 0 or 1
	scanned_at  INTEGER NOT NULL,
	recorded_at INTEGER NOT NULL,
	findings    INTEGER NOT NULL,
	record      TEXT NOT NULL     -- the artifact and source as JSON
) STRICT;
CREATE INDEX scans_artifact ON scans (artifact, source, scanned_at);

CREATE TABLE findings (
	id            TEXT PRIMARY KEY, -- Fingerprint
	artifact      TEXT NOT NULL,
	kind          TEXT NOT NULL,
	vulnerability TEXT NOT NULL,    -- CanonicalVulnerabilityID
	status        TEXT NOT NULL,
	score         REAL NOT NULL,
	priority      INTEGER NOT NULL,
	score_detail  TEXT NOT NULL,    -- Score as JSON
	data          TEXT NOT NULL,    -- the latest sighting's Finding as JSON
	first_seen    INTEGER NOT NULL,
	last_seen     INTEGER NOT NULL
) STRICT;
CREATE INDEX findings_rank ON findings (score DESC, id);
CREATE INDEX findings_artifact ON findings (artifact, status);
CREATE INDEX findings_vulnerability ON findings (vulnerability);

CREATE TABLE attributions (
	finding_id TEXT NOT NULL REFERENCES findings (id),
	source     TEXT NOT NULL,
	first_seen INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	scan_id    TEXT NOT NULL REFERENCES scans (id),
	closed_by  TEXT REFERENCES scans (id),
	closed_at  INTEGER,
	PRIMARY KEY (finding_id, source)
) STRICT;
CREATE INDEX attributions_source ON attributions (source, finding_id);
CREATE INDEX attributions_scan ON attributions (scan_id);

CREATE TABLE status_changes (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	finding_id  TEXT NOT NULL REFERENCES findings (id),
	from_status TEXT NOT NULL,
	to_status   TEXT NOT NULL,
	reason      TEXT NOT NULL,
	actor       TEXT NOT NULL,
	scan_id     TEXT REFERENCES scans (id),
	changed_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX status_changes_finding ON status_changes (finding_id, id);
