package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

var (
	_ audit.Appender  = (*DB)(nil)
	_ audit.Sequencer = (*DB)(nil)
	_ audit.Reader    = (*DB)(nil)
)

const auditColumns = `seq, time, actor, action, subject, details, prev_hash, hash`

func scanAuditEntry(row interface{ Scan(...any) error }) (sextant.AuditEntry, error) {
	var (
		e       sextant.AuditEntry
		at      int64
		details sql.NullString
	)
	if err := row.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Subject, &details, &e.PrevHash, &e.Hash); err != nil {
		return e, err
	}
	e.Time = fromMicros(at)
	if details.Valid {
		e.Details = json.RawMessage(details.String)
	}
	return e, nil
}

// Last implements audit.Appender: the entry with the highest Seq, or nil
// when the log is empty.
func (db *DB) Last(ctx context.Context) (*sextant.AuditEntry, error) {
	e, err := scanAuditEntry(db.r.QueryRowContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read last audit entry: %w", err)
	}
	return &e, nil
}

// Append implements audit.Appender: it stores e as given, or fails with
// ECONFLICT when an entry with e.Seq exists, in this process or another
// one. A Seq below 1 and a Time with a sub-microsecond part, which the
// store would not keep, are EINVALID.
func (db *DB) Append(ctx context.Context, e sextant.AuditEntry) error {
	if err := checkAuditEntry(e); err != nil {
		return err
	}
	var details sql.NullString
	if len(e.Details) > 0 {
		details = sql.NullString{String: string(e.Details), Valid: true}
	}
	// DO NOTHING on the primary key, so that a taken Seq is an ECONFLICT
	// without matching driver error codes.
	r, err := db.w.ExecContext(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (seq) DO NOTHING`,
		e.Seq, micros(e.Time), e.Actor, e.Action, e.Subject, details, e.PrevHash, e.Hash)
	if err != nil {
		return fmt.Errorf("append audit entry %d: %w", e.Seq, err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return sextant.Errorf(sextant.ECONFLICT, "audit entry %d already exists", e.Seq)
	}
	return nil
}

// AppendNext implements audit.Sequencer: the last entry is read and the
// next one inserted in one write transaction (BEGIN IMMEDIATE), which
// SQLite serialises across processes.
func (db *DB) AppendNext(ctx context.Context, next func(last *sextant.AuditEntry) sextant.AuditEntry) (sextant.AuditEntry, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return sextant.AuditEntry{}, fmt.Errorf("append audit entry: %w", err)
	}
	defer tx.Rollback()
	e, err := appendNextTx(ctx, tx, next)
	if err != nil {
		return sextant.AuditEntry{}, err
	}
	if err := tx.Commit(); err != nil {
		return sextant.AuditEntry{}, fmt.Errorf("append audit entry %d: %w", e.Seq, err)
	}
	return e, nil
}

// appendNextTx reads the last entry and inserts the next one in tx, a write
// transaction.
func appendNextTx(ctx context.Context, tx *sql.Tx, next func(last *sextant.AuditEntry) sextant.AuditEntry) (sextant.AuditEntry, error) {
	var last *sextant.AuditEntry
	e, err := scanAuditEntry(tx.QueryRowContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq DESC LIMIT 1`))
	switch {
	case err == nil:
		last = &e
	case !errors.Is(err, sql.ErrNoRows):
		return sextant.AuditEntry{}, fmt.Errorf("read last audit entry: %w", err)
	}
	e = next(last)
	if err := checkAuditEntry(e); err != nil {
		return sextant.AuditEntry{}, err
	}
	var details sql.NullString
	if len(e.Details) > 0 {
		details = sql.NullString{String: string(e.Details), Valid: true}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, micros(e.Time), e.Actor, e.Action, e.Subject, details, e.PrevHash, e.Hash); err != nil {
		return sextant.AuditEntry{}, fmt.Errorf("append audit entry %d: %w", e.Seq, err)
	}
	return e, nil
}

// checkAuditEntry refuses what the audit_log table cannot keep exactly.
func checkAuditEntry(e sextant.AuditEntry) error {
	if e.Seq < 1 {
		return sextant.Errorf(sextant.EINVALID, "append audit entry: seq %d is not positive", e.Seq)
	}
	if e.Time.Nanosecond()%1000 != 0 {
		return sextant.Errorf(sextant.EINVALID, "append audit entry %d: time %s has a sub-microsecond part, which the store does not keep",
			e.Seq, e.Time.UTC().Format(sextant.AuditTimeLayout))
	}
	return nil
}

// Entries implements audit.Reader: every entry in Seq order, streamed from
// one query, so one snapshot of the file, on the read pool.
func (db *DB) Entries(ctx context.Context) iter.Seq2[sextant.AuditEntry, error] {
	return func(yield func(sextant.AuditEntry, error) bool) {
		rows, err := db.r.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq`)
		if err != nil {
			yield(sextant.AuditEntry{}, fmt.Errorf("read audit log: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanAuditEntry(rows)
			if err != nil {
				yield(sextant.AuditEntry{}, fmt.Errorf("read audit log: %w", err))
				return
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(sextant.AuditEntry{}, fmt.Errorf("read audit log: %w", err))
		}
	}
}

// Ping checks that the database answers: the write connection, and a
// read of the file through the read pool.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "ping sqlite store: %v", err)
	}
	var latest string
	if err := db.r.QueryRowContext(ctx, `SELECT coalesce(max(version), '') FROM schema_migrations`).Scan(&latest); err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "ping sqlite store: %v", err)
	}
	return checkSchema(latest)
}

// checkSchema reports whether the database's newest migration is the newest
// this binary embeds: a newer one means another replica upgraded it, an
// older one that migrations did not run.
func checkSchema(latest string) error {
	ms, err := sqlstore.Migrations(migrations)
	if err != nil {
		return err
	}
	if want := ms[len(ms)-1].Version; latest != want {
		return sextant.Errorf(sextant.EUNAVAILABLE, "database schema is at %q, this sextant needs %q", latest, want)
	}
	return nil
}
