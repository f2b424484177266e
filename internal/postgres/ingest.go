package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

var _ sextant.IngestStore = (*DB)(nil)

const ingestColumns = `id, source, content_type, size, sha256, received_at, status, findings, error, started_at, finished_at,
	attempts, next_attempt_at`

func scanIngest(row pgx.Row) (sextant.Ingest, error) {
	var (
		ing                     sextant.Ingest
		status                  string
		started, finished, next *time.Time
	)
	if err := row.Scan(&ing.ID, &ing.Source, &ing.ContentType, &ing.Size, &ing.SHA256, &ing.ReceivedAt, &status,
		&ing.Findings, &ing.Error, &started, &finished, &ing.Attempts, &next); err != nil {
		return ing, err
	}
	ing.Status, ing.ReceivedAt = sextant.IngestStatus(status), ing.ReceivedAt.UTC()
	ing.StartedAt, ing.FinishedAt, ing.NextAttemptAt = fromNull(started), fromNull(finished), fromNull(next)
	return ing, nil
}

// CreateIngest implements sextant.IngestStore.
func (db *DB) CreateIngest(ctx context.Context, ing sextant.Ingest, payload io.Reader) (sextant.Ingest, error) {
	ing, _, err := db.CreateIngestAudited(ctx, ing, payload, nil)
	return ing, err
}

// CreateIngestAudited is CreateIngest that also appends the audit entry next
// builds from the last one, in the same transaction: the intake and its
// record commit together. next nil appends nothing.
func (db *DB) CreateIngestAudited(ctx context.Context, ing sextant.Ingest, payload io.Reader,
	next func(last *sextant.AuditEntry) sextant.AuditEntry) (sextant.Ingest, sextant.AuditEntry, error) {
	var entry sextant.AuditEntry
	if err := sextant.CheckIngest(ing); err != nil {
		return sextant.Ingest{}, entry, err
	}
	p, err := sqlstore.Compress(payload)
	if err != nil {
		return sextant.Ingest{}, entry, err
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
	ing.Attempts, ing.NextAttemptAt = 0, time.Time{}
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
		if next != nil {
			// The audit lock is taken last, so that it is held for the
			// shortest time.
			if entry, err = appendNextTx(ctx, tx, next); err != nil {
				return fmt.Errorf("create ingest: audit: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return sextant.Ingest{}, entry, err
	}
	return ing, entry, nil
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
	ing, err := scanIngest(db.pool.QueryRow(ctx, `UPDATE ingests
		SET status = 'processing', started_at = $1, attempts = attempts + 1, next_attempt_at = NULL
		WHERE id = (SELECT id FROM ingests
			WHERE status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= $1)
			ORDER BY received_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+ingestColumns, ts(now)))
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
	return db.updateProcessing(ctx, "finish ingest", id, `UPDATE ingests SET status = $1, findings = $2, error = $3, finished_at = $4 WHERE id = $5`,
		string(sextant.FinishedStatus(errText)), findings, errText, ts(db.Now()), id)
}

// RetryIngest implements sextant.IngestStore.
func (db *DB) RetryIngest(ctx context.Context, id, errText string, at time.Time) error {
	if err := sextant.CheckIngestRetry(id); err != nil {
		return err
	}
	return db.updateProcessing(ctx, "retry ingest", id, `UPDATE ingests
		SET status = 'queued', error = $1, started_at = NULL, next_attempt_at = $2 WHERE id = $3`,
		errText, null(at), id)
}

// updateProcessing runs update, with args, on the processing ingest id in
// one transaction, the row locked: an unknown ingest is ENOTFOUND, one that
// is not processing ECONFLICT. op names the operation in errors.
func (db *DB) updateProcessing(ctx context.Context, op, id, update string, args ...any) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM ingests WHERE id = $1 FOR UPDATE`, id).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			return sextant.Errorf(sextant.ENOTFOUND, "ingest %q not found", id)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if sextant.IngestStatus(status) != sextant.IngestProcessing {
			return sextant.Errorf(sextant.ECONFLICT, "%s %q: it is %s, not processing", op, id, status)
		}
		if _, err := tx.Exec(ctx, update, args...); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	})
}

// RequeueStale implements sextant.IngestStore.
func (db *DB) RequeueStale(ctx context.Context, startedBefore time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE ingests
		SET status = 'queued', error = $1, started_at = NULL, next_attempt_at = NULL
		WHERE status = 'processing' AND started_at < $2`,
		sqlstore.StaleText(startedBefore), ts(startedBefore))
	if err != nil {
		return 0, fmt.Errorf("requeue stale ingests: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Ingests implements sextant.IngestStore.
func (db *DB) Ingests(ctx context.Context, filter sextant.IngestFilter) (sextant.Page[sextant.Ingest], error) {
	var page sextant.Page[sextant.Ingest]
	limit, after, err := sextant.CheckIngestFilter(filter)
	if err != nil {
		return page, err
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if filter.Status != "" {
		where = append(where, "status = "+arg(string(filter.Status)))
	}
	if after != nil {
		r, id := arg(ts(after.ReceivedAt)), arg(after.ID)
		where = append(where, "(received_at < "+r+" OR (received_at = "+r+" AND id < "+id+"))")
	}
	q := `SELECT ` + ingestColumns + ` FROM ingests`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY received_at DESC, id DESC LIMIT ` + arg(limit+1)
	rows, _ := db.pool.Query(ctx, q, args...)
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sextant.Ingest, error) { return scanIngest(row) })
	if err != nil {
		return page, fmt.Errorf("list ingests: %w", err)
	}
	return sextant.NewIngestPage(items, limit), nil
}

// IngestCounts implements sextant.IngestStore.
func (db *DB) IngestCounts(ctx context.Context) (map[sextant.IngestStatus]int, error) {
	out := map[sextant.IngestStatus]int{
		sextant.IngestQueued: 0, sextant.IngestProcessing: 0, sextant.IngestDone: 0, sextant.IngestFailed: 0,
	}
	rows, _ := db.pool.Query(ctx, `SELECT status, count(*) FROM ingests GROUP BY status`)
	var (
		status string
		n      int
	)
	_, err := pgx.ForEachRow(rows, []any{&status, &n}, func() error {
		out[sextant.IngestStatus(status)] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count ingests: %w", err)
	}
	return out, nil
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
