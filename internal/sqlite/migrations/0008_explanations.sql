-- Explanations: the explanation cache (internal/explain, Cache). key is
-- the hex SHA-256 of the provider, the model, the prompt and the redacted
-- input (explain.CacheKey); explanation is the explanation as the model
-- wrote it, JSON, with its placeholders ("[HOST_1]") and never the values
-- behind them. created_at is when it was last stored, Unix microseconds,
-- UTC; hits counts the lookups that found it.
CREATE TABLE explanations (
	key         TEXT PRIMARY KEY,
	explanation TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	hits        INTEGER NOT NULL DEFAULT 0
) STRICT;
