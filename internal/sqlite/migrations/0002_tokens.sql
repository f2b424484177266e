-- API tokens. Only the hex SHA-256 of a token's secret is kept, never the
-- secret. Times are Unix microseconds, UTC; NULL when not set. Nothing is
-- deleted: a token is revoked.
CREATE TABLE tokens (
	id           TEXT PRIMARY KEY,
	name         TEXT NOT NULL,
	role         TEXT NOT NULL,
	hash         TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	created_by   TEXT NOT NULL,
	expires_at   INTEGER,
	revoked_at   INTEGER,
	revoked_by   TEXT,
	last_used_at INTEGER
) STRICT;
CREATE UNIQUE INDEX tokens_hash ON tokens (hash);
CREATE INDEX tokens_created ON tokens (created_at, id);
