-- API tokens. Only the hex SHA-256 of a token's secret is kept, never the
-- secret. Nothing is deleted: a token is revoked.
CREATE TABLE tokens (
	id           text COLLATE "C" PRIMARY KEY,
	name         text NOT NULL,
	role         text NOT NULL,
	hash         text NOT NULL,
	created_at   timestamptz NOT NULL,
	created_by   text NOT NULL,
	expires_at   timestamptz,
	revoked_at   timestamptz,
	revoked_by   text,
	last_used_at timestamptz
);
CREATE UNIQUE INDEX tokens_hash ON tokens (hash);
CREATE INDEX tokens_created ON tokens (created_at, id);
