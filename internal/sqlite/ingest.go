package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

var _ sextant.IngestStore = (*DB)(nil)

const ingestColumns = `id, source, content_type, size, sha256, received_at, status, findings, error, started_at, finished_at,
	attempts, next_attempt_at`

func scanIngest(row interface{ Scan(...any) error }) (sextant.Ingest, error) {
	var (
		ing                     sextant.Ingest
		status                  string
		received                int64
		started, finished, next sql.NullInt64
	)
	if err := row.Scan(&ing.ID, &ing.Source, &ing.ContentType, &ing.Size, &ing.SHA256, &received, &status,
		&ing.Findings, &ing.Error, &started, &finished, &ing.Attempts, &next); err != nil {
		return ing, err
	}
	ing.Status, ing.ReceivedAt = sextant.IngestStatus(status), fromMicros(received)
	ing.StartedAt, ing.FinishedAt = fromNullMicros(started), fromNullMicros(finished)
	ing.NextAttemptAt = fromNullMicros(next)
	return ing, nil
}

// CreateIngest implements sextant.IngestStore.
func (db *DB) CreateIngest(ctx context.Context, ing sextant.Ingest, payload io.Reader) (sextant.Ingest, error) {
	ing, _, err := db.CreateIngestAudited(ctx, ing, payload, nil)
	return ing, err
}

// CreateIngestAudited is CreateIngest that also appends the audit entry next
// builds from the last one, in the same transaction: the intake and its
// record commit together, in one write. next nil appends nothing.
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
	ing.ReceivedAt = fromMicros(micros(ing.ReceivedAt))
	ing.Size, ing.SHA256, ing.Status = p.Size, p.SHA256, sextant.IngestQueued
	ing.Findings, ing.Error, ing.StartedAt, ing.FinishedAt = 0, "", time.Time{}, time.Time{}
	ing.Attempts, ing.NextAttemptAt = 0, time.Time{}

	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return sextant.Ingest{}, entry, fmt.Errorf("create ingest: %w", err)
	}
	defer tx.Rollback()
	// DO NOTHING on the ID, so that a duplicate is an ECONFLICT without
	// matching driver error codes.
	r, err := tx.ExecContext(ctx, `INSERT INTO ingests (id, source, content_type, size, sha256, received_at, status)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		ing.ID, ing.Source, ing.ContentType, ing.Size, ing.SHA256, micros(ing.ReceivedAt), string(ing.Status))
	if err != nil {
		return sextant.Ingest{}, entry, fmt.Errorf("create ingest: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return sextant.Ingest{}, entry, sextant.Errorf(sextant.ECONFLICT, "ingest %q already exists", ing.ID)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ingest_payloads (ingest_id, data) VALUES (?, ?)`, ing.ID, p.Data); err != nil {
		return sextant.Ingest{}, entry, fmt.Errorf("create ingest: %w", err)
	}
	if next != nil {
		if entry, err = appendNextTx(ctx, tx, next); err != nil {
			return sextant.Ingest{}, entry, err
		}
	}
	if err := tx.Commit(); err != nil {
		return sextant.Ingest{}, entry, fmt.Errorf("create ingest: %w", err)
	}
	return ing, entry, nil
}

// Ingest implements sextant.IngestStore.
func (db *DB) Ingest(ctx context.Context, id string) (sextant.Ingest, error) {
	ing, err := scanIngest(db.r.QueryRowContext(ctx, `SELECT `+ingestColumns+` FROM ingests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
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
		purged sql.NullInt64
		data   []byte
	)
	err := db.r.QueryRowContext(ctx, `SELECT i.purged_at, p.data FROM ingests i
		LEFT JOIN ingest_payloads p ON p.ingest_id = i.id WHERE i.id = ?`, id).Scan(&purged, &data)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, sextant.Errorf(sextant.ENOTFOUND, "ingest %q not found", id)
	case err != nil:
		return nil, fmt.Errorf("read ingest payload: %w", err)
	case purged.Valid:
		return nil, sqlstore.PurgedError(id, fromMicros(purged.Int64))
	case data == nil:
		return nil, fmt.Errorf("read ingest payload: ingest %q has no payload", id)
	}
	return sqlstore.Decompress(data)
}

// ClaimIngest implements sextant.IngestStore. The one write connection
// serialises claims in the process, and the write lock that the UPDATE
// takes before it reads serialises them across processes.
func (db *DB) ClaimIngest(ctx context.Context, now time.Time) (sextant.Ingest, bool, error) {
	ing, err := scanIngest(db.w.QueryRowContext(ctx, `UPDATE ingests
		SET status = 'processing', started_at = ?1, attempts = attempts + 1, next_attempt_at = NULL
		WHERE id = (SELECT id FROM ingests
			WHERE status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
			ORDER BY received_at, id LIMIT 1)
		RETURNING `+ingestColumns, micros(now)))
	if errors.Is(err, sql.ErrNoRows) {
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
	return db.updateProcessing(ctx, "finish ingest", id, `UPDATE ingests SET status = ?, findings = ?, error = ?, finished_at = ? WHERE id = ?`,
		string(sextant.FinishedStatus(errText)), findings, errText, micros(db.Now()), id)
}

// RetryIngest implements sextant.IngestStore.
func (db *DB) RetryIngest(ctx context.Context, id, errText string, at time.Time) error {
	if err := sextant.CheckIngestRetry(id); err != nil {
		return err
	}
	return db.updateProcessing(ctx, "retry ingest", id, `UPDATE ingests
		SET status = 'queued', error = ?, started_at = NULL, next_attempt_at = ? WHERE id = ?`,
		errText, nullMicros(at), id)
}

// updateProcessing runs update, with args, on the processing ingest id in
// one transaction: an unknown ingest is ENOTFOUND, one that is not
// processing ECONFLICT. op names the operation in errors.
func (db *DB) updateProcessing(ctx context.Context, op, id, update string, args ...any) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer tx.Rollback()
	var status string
	err = tx.QueryRowContext(ctx, `SELECT status FROM ingests WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return sextant.Errorf(sextant.ENOTFOUND, "ingest %q not found", id)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if sextant.IngestStatus(status) != sextant.IngestProcessing {
		return sextant.Errorf(sextant.ECONFLICT, "%s %q: it is %s, not processing", op, id, status)
	}
	if _, err := tx.ExecContext(ctx, update, args...); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// RequeueStale implements sextant.IngestStore.
func (db *DB) RequeueStale(ctx context.Context, startedBefore time.Time) (int, error) {
	r, err := db.w.ExecContext(ctx, `UPDATE ingests
		SET status = 'queued', error = ?, started_at = NULL, next_attempt_at = NULL
		WHERE status = 'processing' AND started_at < ?`,
		sqlstore.StaleText(startedBefore), micros(startedBefore))
	if err != nil {
		return 0, fmt.Errorf("requeue stale ingests: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("requeue stale ingests: %w", err)
	}
	return int(n), nil
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
	if filter.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(filter.Status))
	}
	if after != nil {
		us := micros(after.ReceivedAt)
		where, args = append(where, "(received_at < ? OR (received_at = ? AND id < ?))"), append(args, us, us, after.ID)
	}
	q := `SELECT ` + ingestColumns + ` FROM ingests`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY received_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return page, fmt.Errorf("list ingests: %w", err)
	}
	defer rows.Close()
	var items []sextant.Ingest
	for rows.Next() {
		ing, err := scanIngest(rows)
		if err != nil {
			return page, fmt.Errorf("list ingests: %w", err)
		}
		items = append(items, ing)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list ingests: %w", err)
	}
	return sextant.NewIngestPage(items, limit), nil
}

// IngestCounts implements sextant.IngestStore.
func (db *DB) IngestCounts(ctx context.Context) (map[sextant.IngestStatus]int, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT status, count(*) FROM ingests GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count ingests: %w", err)
	}
	defer rows.Close()
	out := map[sextant.IngestStatus]int{
		sextant.IngestQueued: 0, sextant.IngestProcessing: 0, sextant.IngestDone: 0, sextant.IngestFailed: 0,
	}
	for rows.Next() {
		var (
			status string
			n      int
		)
		if err := rows.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("count ingests: %w", err)
		}
		out[sextant.IngestStatus(status)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count ingests: %w", err)
	}
	return out, nil
}

// PurgePayloads implements sextant.IngestStore.
func (db *DB) PurgePayloads(ctx context.Context, olderThan time.Time) (int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("purge ingest payloads: %w", err)
	}
	defer tx.Rollback()
	const purgeable = `status IN ('done', 'failed') AND received_at < ? AND purged_at IS NULL`
	r, err := tx.ExecContext(ctx, `DELETE FROM ingest_payloads WHERE ingest_id IN (SELECT id FROM ingests WHERE `+purgeable+`)`,
		micros(olderThan))
	if err != nil {
		return 0, fmt.Errorf("purge ingest payloads: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge ingest payloads: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE ingests SET purged_at = ? WHERE `+purgeable, micros(db.Now()), micros(olderThan)); err != nil {
		return 0, fmt.Errorf("purge ingest payloads: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("purge ingest payloads: %w", err)
	}
	return int(n), nil
}
