package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

var _ sextant.IngestStore = (*DB)(nil)

const ingestColumns = `id, source, content_type, size, sha256, received_at, status, findings, error, started_at, finished_at`

func scanIngest(row pgx.Row) (sextant.Ingest, error) {
	var (
		ing               sextant.Ingest
		status            string
		started, finished *time.Time
	)
	if err := row.Scan(&ing.ID, &ing.Source, &ing.ContentType, &ing.Size, &ing.SHA256, &ing.ReceivedAt, &status,
		&ing.Findings, &ing.Error, &started, &finished); err != nil {
		return ing, err
	}
	ing.Status, ing.ReceivedAt = sextant.IngestStatus(status), ing.ReceivedAt.UTC()
	ing.StartedAt, ing.FinishedAt = fromNull(started), fromNull(finished)
	return ing, nil
}

// CreateIngest implements sextant.IngestStore.
func (db *DB) CreateIngest(ctx context.Context, ing sextant.Ingest, payload io.Reader) (sextant.Ingest, error) {
	if err := sextant.CheckIngest(ing); err != nil {
		return sextant.Ingest{}, err
	}
	p, err := sqlstore.Compress(payload)
	if err != nil {
		return sextant.Ingest{}, err
	}
	if ing.ID == "" {
		ing.ID = sqlstore.NewID("ing_")
	}
	if ing.ReceivedAt.IsZero() {
		ing.ReceivedAt = db.Now()
	}
	ing.ReceivedAt = ts(ing.ReceivedAt)
	ing.Size, ing.SHA256, ing.Status = p.Size, p.SHA256, sextant.IngestQueued
	ing.Findings, ing.Error, ing.StartedAt, ing.FinishedAt = 0, "", time.Time{}, time.Time{}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// DO NOTHING on the ID, so that a duplicate is an ECONFLICT
		// without matching driver error codes.
		tag, err := tx.Exec(ctx, `INSERT INTO ingests (id, source, content_type, size, sha256, received_at, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
			ing.ID, ing.Source, ing.ContentType, ing.Size, ing.SHA256, ing.ReceivedAt, string(ing.Status))
		if err != nil {
			return fmt.Errorf("create ingest: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return sextant.Errorf(sextant.ECONFLICT, "ingest %q already exists", ing.ID)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO ingest_payloads (ingest_id, data) VALUES ($1, $2)`, ing.ID, p.Data); err != nil {
			return fmt.Errorf("create ingest: %w", err)
		}
		return nil
	})
	if err != nil {
		return sextant.Ingest{}, err
	}
	return ing, nil
}

// Ingest implements sextant.IngestStore.
func (db *DB) Ingest(ctx context.Context, id string) (sextant.Ingest, error) {
	ing, err := scanIngest(db.pool.QueryRow(ctx, `SELECT `+ingestColumns+` FROM ingests WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return sextant.Ingest{}, sextant.Errorf(sextant.ENOTFOUND, "ingest %q not found", id)
	}
	if err != nil {
		return sextant.Ingest{}, fmt.Errorf("get ingest: %w", err)
	}
	return ing, nil
}

// IngestPayload implements sextant.IngestStore.
func (db *DB) IngestPayload(ctx context.Context, id string) (io.ReadCloser, error) {
	var (
		purged *time.Time
		data   []byte
	)
	err := db.pool.QueryRow(ctx, `SELECT i.purged_at, p.data FROM ingests i
		LEFT JOIN ingest_payloads p ON p.ingest_id = i.id WHERE i.id = $1`, id).Scan(&purged, &data)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, sextant.Errorf(sextant.ENOTFOUND, "ingest %q not found", id)
	case err != nil:
		return nil, fmt.Errorf("read ingest payload: %w", err)
	case purged != nil:
		return nil, sqlstore.PurgedError(id, *purged)
	case data == nil:
		return nil, fmt.Errorf("read ingest payload: ingest %q has no payload", id)
	}
	return sqlstore.Decompress(data)
}

// ClaimIngest implements sextant.IngestStore. SKIP LOCKED lets concurrent
// claimers, on any replica, each take a different ingest instead of
// waiting for, then colliding on, the same one.
func (db *DB) ClaimIngest(ctx context.Context, now time.Time) (sextant.Ingest, bool, error) {
	ing, err := scanIngest(db.pool.QueryRow(ctx, `UPDATE ingests SET status = $1, started_at = $2
		WHERE id = (SELECT id FROM ingests WHERE status = $3 ORDER BY received_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+ingestColumns,
		string(sextant.IngestProcessing), ts(now), string(sextant.IngestQueued)))
	if errors.Is(err, pgx.ErrNoRows) {
		return sextant.Ingest{}, false, nil
	}
	if err != nil {
		return sextant.Ingest{}, false, fmt.Errorf("claim ingest: %w", err)
	}
	return ing, true, nil
}

// FinishIngest implements sextant.IngestStore.
func (db *DB) FinishIngest(ctx context.Context, id string, findings int, errText string) error {
	if err := sextant.CheckIngestFinish(id, findings); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM ingests WHERE id = $1 FOR UPDATE`, id).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return sextant.Errorf(sextant.ENOTFOUND, "ingest %q not found", id)
		}
		if err != nil {
			return fmt.Errorf("finish ingest: %w", err)
		}
		if sextant.IngestStatus(status) != sextant.IngestProcessing {
			return sextant.Errorf(sextant.ECONFLICT, "finish ingest %q: it is %s, not processing", id, status)
		}
		if _, err := tx.Exec(ctx, `UPDATE ingests SET status = $1, findings = $2, error = $3, finished_at = $4 WHERE id = $5`,
			string(sextant.FinishedStatus(errText)), findings, errText, ts(db.Now()), id); err != nil {
			return fmt.Errorf("finish ingest: %w", err)
		}
		return nil
	})
}

// PurgePayloads implements sextant.IngestStore.
func (db *DB) PurgePayloads(ctx context.Context, olderThan time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `WITH purged AS (
			UPDATE ingests SET purged_at = $1
			WHERE status IN ('done', 'failed') AND received_at < $2 AND purged_at IS NULL
			RETURNING id)
		DELETE FROM ingest_payloads WHERE ingest_id IN (SELECT id FROM purged)`,
		ts(db.Now()), ts(olderThan))
	if err != nil {
		return 0, fmt.Errorf("purge ingest payloads: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
