-- The audit trail of internal/audit: one row per sextant.AuditEntry, each
-- chained to the one before it by hash. Rows are only ever inserted; the
-- primary key on seq is what stops two replicas from appending the same
-- entry number. Times keep microseconds, as internal/audit writes them.
-- details may be re-encoded by jsonb (key order, spacing): the hash covers
-- its canonical form, which re-encoding does not change. NULL means none.
--
-- The triggers refuse UPDATE, DELETE and TRUNCATE so that no code path
-- changes the trail by mistake. They do not stop the table's owner (ALTER
-- TABLE … DISABLE TRIGGER); the hash chain and anchors outside the database
-- show that. Grant sextant's role only INSERT and SELECT on audit_log where
-- the schema is owned by another role.
CREATE TABLE audit_log (
	seq       bigint PRIMARY KEY, -- AuditEntry.Seq: 1, 2, 3, …
	time      timestamptz NOT NULL,
	actor     text NOT NULL,
	action    text NOT NULL,
	subject   text NOT NULL,
	details   jsonb,
	prev_hash text NOT NULL,
	hash      text NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
