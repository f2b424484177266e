-- Findings, the scans that reported them, one attribution per source, and
-- the status history. Nothing is deleted.
CREATE TABLE scans (
	id          text PRIMARY KEY,
	artifact    text NOT NULL,    -- Artifact.Key
	source      text NOT NULL,    -- Source.Scanner
	complete    boolean NOT NULL,
	scanned_at  timestamptz NOT NULL,
	recorded_at timestamptz NOT NULL,
	findings    integer NOT NULL,
	record      jsonb NOT NULL    -- the artifact and source
);
CREATE INDEX scans_artifact ON scans (artifact, source, scanned_at);

CREATE TABLE findings (
	id            text COLLATE "C" PRIMARY KEY, -- Fingerprint; byte order, as in SQLite
	artifact      text NOT NULL,
	kind          text NOT NULL,
	vulnerability text NOT NULL,    -- CanonicalVulnerabilityID
	status        text NOT NULL,
	score         double precision NOT NULL,
	priority      integer NOT NULL,
	score_detail  jsonb NOT NULL,   -- Score
	data          jsonb NOT NULL,   -- the latest sighting's Finding
	first_seen    timestamptz NOT NULL,
	last_seen     timestamptz NOT NULL
);
CREATE INDEX findings_rank ON findings (score DESC, id);
CREATE INDEX findings_artifact ON findings (artifact, status);
CREATE INDEX findings_vulnerability ON findings (vulnerability);

CREATE TABLE attributions (
	finding_id text COLLATE "C" NOT NULL REFERENCES findings (id),
	source     text COLLATE "C" NOT NULL,
	first_seen timestamptz NOT NULL,
	last_seen  timestamptz NOT NULL,
	scan_id    text NOT NULL REFERENCES scans (id),
	closed_by  text REFERENCES scans (id),
	closed_at  timestamptz,
	PRIMARY KEY (finding_id, source)
);
CREATE INDEX attributions_source ON attributions (source, finding_id);
CREATE INDEX attributions_scan ON attributions (scan_id);

CREATE TABLE status_changes (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	finding_id  text NOT NULL REFERENCES findings (id),
	from_status text NOT NULL,
	to_status   text NOT NULL,
	reason      text NOT NULL,
	actor       text NOT NULL,
	scan_id     text REFERENCES scans (id),
	changed_at  timestamptz NOT NULL
);
CREATE INDEX status_changes_finding ON status_changes (finding_id, id);
