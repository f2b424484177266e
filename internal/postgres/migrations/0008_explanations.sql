-- Explanations: the explanation cache (internal/explain, Cache). key is
-- the hex SHA-256 of the provider, the model, the prompt and the redacted
-- input (explain.CacheKey); explanation is the explanation as the model
-- wrote it, with its placeholders ("[HOST_1]") and never the values
-- behind them. created_at is when it was last stored; hits counts the
-- lookups that found it.
CREATE TABLE explanations (
	key         text COLLATE "C" PRIMARY KEY, -- byte order, as in SQLite
	explanation jsonb NOT NULL,
	created_at  timestamptz NOT NULL,
	hits        bigint NOT NULL DEFAULT 0
);
