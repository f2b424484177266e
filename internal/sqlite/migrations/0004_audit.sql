-- The audit trail of internal/audit: one row per sextant.AuditEntry, each
-- chained to the one before it by hash. Rows are only ever inserted. Time is
-- Unix microseconds, UTC (internal/audit truncates entry times to the
-- microsecond, so it round-trips exactly); details is the canonical JSON of
-- the entry's details, NULL when it has none.
--
-- The triggers refuse UPDATE and DELETE so that no code path changes the
-- trail by mistake. They do not stop someone who can write the file (they can
-- drop them); the hash chain and anchors outside the database show that.
CREATE TABLE audit_log (
	seq       INTEGER PRIMARY KEY, -- AuditEntry.Seq: 1, 2, 3, …
	time      INTEGER NOT NULL,
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	subject   TEXT NOT NULL,
	details   TEXT,
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
) STRICT;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused');
END;
