package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

var (
	_ audit.Appender  = (*DB)(nil)
	_ audit.Sequencer = (*DB)(nil)
	_ audit.Reader    = (*DB)(nil)
)

// auditLock is the advisory lock key held while appending to the audit log,
// so that replicas append one at a time instead of racing for a Seq.
const auditLock int64 = 0x73787461756474 // "sxtaudt"

const auditColumns = `seq, time, actor, action, subject, details, prev_hash, hash`

func scanAuditEntry(row pgx.Row) (sextant.AuditEntry, error) {
	var (
		e       sextant.AuditEntry
		details []byte
	)
	if err := row.Scan(&e.Seq, &e.Time, &e.Actor, &e.Action, &e.Subject, &details, &e.PrevHash, &e.Hash); err != nil {
		return e, err
	}
	e.Time = e.Time.UTC()
	if details != nil {
		// jsonb gives the value back in its own spacing and key order;
		// return the canonical form that was appended. The hash does not
		// depend on which.
		if c, err := sextant.CanonicalJSON(details); err == nil {
			details = c
		}
		e.Details = json.RawMessage(details)
	}
	return e, nil
}

// Last implements audit.Appender: the entry with the highest Seq, or nil
// when the log is empty.
func (db *DB) Last(ctx context.Context) (*sextant.AuditEntry, error) {
	e, err := scanAuditEntry(db.pool.QueryRow(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq DESC LIMIT 1`))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read last audit entry: %w", err)
	}
	return &e, nil
}

// Append implements audit.Appender: it stores e as given, or fails with
// ECONFLICT when an entry with e.Seq exists, appended by this replica or
// another one (or being appended in a transaction that then commits). A
// Seq below 1 and a Time with a sub-microsecond part, which timestamptz
// would round, are EINVALID.
func (db *DB) Append(ctx context.Context, e sextant.AuditEntry) error {
	if e.Seq < 1 {
		return sextant.Errorf(sextant.EINVALID, "append audit entry: seq %d is not positive", e.Seq)
	}
	if e.Time.Nanosecond()%1000 != 0 {
		return sextant.Errorf(sextant.EINVALID, "append audit entry %d: time %s has a sub-microsecond part, which the store does not keep",
			e.Seq, e.Time.UTC().Format(sextant.AuditTimeLayout))
	}
	var details *string
	if len(e.Details) > 0 {
		s := string(e.Details)
		details = &s
	}
	// DO NOTHING on the primary key, so that a taken Seq is an ECONFLICT
	// without matching driver error codes, and without aborting a
	// surrounding transaction.
	tag, err := db.pool.Exec(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (seq) DO NOTHING`,
		e.Seq, e.Time.UTC(), e.Actor, e.Action, e.Subject, details, e.PrevHash, e.Hash)
	if err != nil {
		return fmt.Errorf("append audit entry %d: %w", e.Seq, err)
	}
	if tag.RowsAffected() == 0 {
		return sextant.Errorf(sextant.ECONFLICT, "audit entry %d already exists", e.Seq)
	}
	return nil
}

// AppendNext implements audit.Sequencer: under a transaction-scoped
// advisory lock, the last entry is read and the next one inserted, so that
// appends from every replica form one chain without conflicts.
func (db *DB) AppendNext(ctx context.Context, next func(last *sextant.AuditEntry) sextant.AuditEntry) (sextant.AuditEntry, error) {
	var out sextant.AuditEntry
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		out, err = appendNextTx(ctx, tx, next)
		return err
	})
	if err != nil {
		if sextant.ErrorCode(err) == sextant.EINVALID {
			return sextant.AuditEntry{}, err
		}
		return sextant.AuditEntry{}, fmt.Errorf("append audit entry: %w", err)
	}
	return out, nil
}

// appendNextTx takes the audit log's lock for the rest of tx, reads the last
// entry and inserts the next one.
func appendNextTx(ctx context.Context, tx pgx.Tx, next func(last *sextant.AuditEntry) sextant.AuditEntry) (sextant.AuditEntry, error) {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, auditLock); err != nil {
		return sextant.AuditEntry{}, err
	}
	var last *sextant.AuditEntry
	e, err := scanAuditEntry(tx.QueryRow(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq DESC LIMIT 1`))
	switch {
	case err == nil:
		last = &e
	case !errors.Is(err, pgx.ErrNoRows):
		return sextant.AuditEntry{}, err
	}
	e = next(last)
	if e.Seq < 1 || e.Time.Nanosecond()%1000 != 0 {
		return sextant.AuditEntry{}, sextant.Errorf(sextant.EINVALID, "append audit entry %d: bad seq or sub-microsecond time", e.Seq)
	}
	var details *string
	if len(e.Details) > 0 {
		s := string(e.Details)
		details = &s
	}
	if _, err := tx.Exec(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		e.Seq, e.Time.UTC(), e.Actor, e.Action, e.Subject, details, e.PrevHash, e.Hash); err != nil {
		return sextant.AuditEntry{}, err
	}
	return e, nil
}

// Entries implements audit.Reader: every entry in Seq order, streamed from
// one query (one snapshot) as the rows arrive.
func (db *DB) Entries(ctx context.Context) iter.Seq2[sextant.AuditEntry, error] {
	return func(yield func(sextant.AuditEntry, error) bool) {
		rows, err := db.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log ORDER BY seq`)
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

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "ping postgres store: %v", err)
	}
	var latest string
	if err := db.pool.QueryRow(ctx, `SELECT coalesce(max(version), '') FROM schema_migrations`).Scan(&latest); err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "ping postgres store: %v", err)
	}
	ms, err := sqlstore.Migrations(migrations)
	if err != nil {
		return err
	}
	if want := ms[len(ms)-1].Version; latest != want {
		return sextant.Errorf(sextant.EUNAVAILABLE, "database schema is at %q, this sextant needs %q", latest, want)
	}
	return nil
}
