package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/sextant-dev/sextant"
)

// CachedExplanation returns the explanation cached under key, as JSON,
// and counts the hit; false when there is none. It implements
// explain.ExplanationStore (checked in the tests, so that the store does
// not depend on the explainer).
func (db *DB) CachedExplanation(ctx context.Context, key string) ([]byte, bool, error) {
	if strings.TrimSpace(key) == "" {
		return nil, false, sextant.Errorf(sextant.EINVALID, "cached explanation: empty key")
	}
	// The hit is counted in the statement that reads the entry: one write,
	// no read-then-write race.
	var data string
	err := db.w.QueryRowContext(ctx, `UPDATE explanations SET hits = hits + 1 WHERE key = ? RETURNING explanation`, key).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cached explanation %s: %w", key, err)
	}
	return []byte(data), true, nil
}

// CacheExplanation stores data, a JSON object, under key, replacing the
// explanation there (its hits are kept).
func (db *DB) CacheExplanation(ctx context.Context, key string, data []byte) error {
	if err := checkExplanation(key, data); err != nil {
		return err
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO explanations (key, explanation, created_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET explanation = excluded.explanation, created_at = excluded.created_at`,
		key, string(data), micros(db.Now()))
	if err != nil {
		return fmt.Errorf("cache explanation %s: %w", key, err)
	}
	return nil
}

// ExplanationStats returns the number of cached explanations and the hits
// counted on them.
func (db *DB) ExplanationStats(ctx context.Context) (entries, hits int64, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(hits), 0) FROM explanations`).Scan(&entries, &hits)
	if err != nil {
		return 0, 0, fmt.Errorf("explanation stats: %w", err)
	}
	return entries, hits, nil
}

// checkExplanation checks the arguments of CacheExplanation: a key and a
// JSON object. Errors are EINVALID.
func checkExplanation(key string, data []byte) error {
	if strings.TrimSpace(key) == "" {
		return sextant.Errorf(sextant.EINVALID, "cache explanation: empty key")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return sextant.Errorf(sextant.EINVALID, "cache explanation %s: not a JSON object", key)
	}
	return nil
}
