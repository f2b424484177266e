package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

var (
	_ sextant.ApprovalStore = (*DB)(nil)
	_ sextant.ActionStats   = (*DB)(nil)
)

const approvalColumns = `id, action_id, kind, reason, requested_by, requested_at, expires_at, status, decided_by,
	decided_at, comment`

func scanApproval(row pgx.Row) (sextant.Approval, error) {
	var (
		a       sextant.Approval
		status  string
		decided *time.Time
	)
	if err := row.Scan(&a.ID, &a.ActionID, &a.Kind, &a.Reason, &a.RequestedBy, &a.RequestedAt, &a.ExpiresAt, &status,
		&a.DecidedBy, &decided, &a.Comment); err != nil {
		return a, err
	}
	a.Status, a.RequestedAt, a.ExpiresAt = sextant.ApprovalStatus(status), a.RequestedAt.UTC(), a.ExpiresAt.UTC()
	a.DecidedAt = fromNull(decided)
	return a, nil
}

// RequestApproval implements sextant.ApprovalStore. A zero RequestedAt is
// now; an empty ID lets the store choose one, and an ID stored before is
// ECONFLICT. The status and decision of a are ignored. A pending request of
// the same action and kind that has expired by RequestedAt is stored as
// expired and a new one made.
func (db *DB) RequestApproval(ctx context.Context, a sextant.Approval) (sextant.Approval, error) {
	if a.RequestedAt.IsZero() {
		a.RequestedAt = db.Now()
	}
	if err := sextant.CheckApproval(a); err != nil {
		return sextant.Approval{}, err
	}
	if a.ID == "" {
		a.ID = sqlstore.NewID("apr_")
	}
	a.RequestedAt, a.ExpiresAt = ts(a.RequestedAt), ts(a.ExpiresAt)
	a.Status, a.DecidedBy, a.DecidedAt, a.Comment = sextant.ApprovalPending, "", time.Time{}, ""
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE approvals SET status = 'expired'
			WHERE action_id = $1 AND kind = $2 AND status = 'pending' AND expires_at < $3`,
			a.ActionID, a.Kind, a.RequestedAt); err != nil {
			return fmt.Errorf("request approval: %w", err)
		}
		// DO NOTHING on the ID and on the one pending request per action
		// and kind: which of them it was is read after. A concurrent
		// request of the same action and kind waits here for the other's
		// commit, and then reads its request.
		tag, err := tx.Exec(ctx, `INSERT INTO approvals (id, action_id, kind, reason, requested_by, requested_at, expires_at, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending') ON CONFLICT DO NOTHING`,
			a.ID, a.ActionID, a.Kind, a.Reason, a.RequestedBy, a.RequestedAt, a.ExpiresAt)
		if err != nil {
			return fmt.Errorf("request approval: %w", err)
		}
		if tag.RowsAffected() > 0 {
			return nil
		}
		a, err = scanApproval(tx.QueryRow(ctx, `SELECT `+approvalColumns+` FROM approvals
			WHERE action_id = $1 AND kind = $2 AND status = 'pending'`, a.ActionID, a.Kind))
		if errors.Is(err, pgx.ErrNoRows) {
			return sextant.Errorf(sextant.ECONFLICT, "approval %q already exists", a.ID)
		}
		if err != nil {
			return fmt.Errorf("request approval: %w", err)
		}
		return nil
	})
	if err != nil {
		return sextant.Approval{}, err
	}
	return a, nil
}

// now returns the store's time to the microsecond, as times are stored, so
// that expiry is judged alike in SQL and in Go.
func (db *DB) now() time.Time { return ts(db.Now()) }

// Approval implements sextant.ApprovalStore.
func (db *DB) Approval(ctx context.Context, id string) (sextant.Approval, error) {
	a, err := scanApproval(db.pool.QueryRow(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return sextant.Approval{}, sextant.Errorf(sextant.ENOTFOUND, "approval %q not found", id)
	}
	if err != nil {
		return sextant.Approval{}, fmt.Errorf("read approval: %w", err)
	}
	if a.Expired(db.now()) {
		a.Status = sextant.ApprovalExpired
	}
	return a, nil
}

// Approvals implements sextant.ApprovalStore. A pending request past its
// expiry is listed, and filtered, as expired.
func (db *DB) Approvals(ctx context.Context, filter sextant.ApprovalFilter) (sextant.Page[sextant.Approval], error) {
	var page sextant.Page[sextant.Approval]
	limit, after, err := sextant.CheckApprovalFilter(filter)
	if err != nil {
		return page, err
	}
	now := db.now()
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch filter.Status {
	case "":
	case sextant.ApprovalPending:
		where = append(where, "status = 'pending' AND expires_at >= "+arg(now))
	case sextant.ApprovalExpired:
		where = append(where, "(status = 'expired' OR (status = 'pending' AND expires_at < "+arg(now)+"))")
	default:
		where = append(where, "status = "+arg(string(filter.Status)))
	}
	if filter.ActionID != "" {
		where = append(where, "action_id = "+arg(filter.ActionID))
	}
	if after != nil {
		where = append(where, "(requested_at, id) < ("+arg(ts(after.RequestedAt))+", "+arg(after.ID)+")")
	}
	q := `SELECT ` + approvalColumns + ` FROM approvals`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY requested_at DESC, id DESC LIMIT ` + arg(limit+1)
	rows, _ := db.pool.Query(ctx, q, args...)
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sextant.Approval, error) {
		a, err := scanApproval(row)
		if a.Expired(now) {
			a.Status = sextant.ApprovalExpired
		}
		return a, err
	})
	if err != nil {
		return page, fmt.Errorf("list approvals: %w", err)
	}
	return sextant.NewApprovalPage(items, limit), nil
}

// DecideApproval implements sextant.ApprovalStore. A zero now is the
// store's time. A request stored as expired is EINVALID too.
func (db *DB) DecideApproval(ctx context.Context, id string, status sextant.ApprovalStatus, actor, comment string, now time.Time) (sextant.Approval, error) {
	if err := sextant.CheckDecision(id, status, actor); err != nil {
		return sextant.Approval{}, err
	}
	if now.IsZero() {
		now = db.Now()
	}
	now = ts(now)
	var (
		a       sextant.Approval
		refusal error
	)
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		a, err = scanApproval(tx.QueryRow(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return sextant.Errorf(sextant.ENOTFOUND, "approval %q not found", id)
		}
		if err != nil {
			return fmt.Errorf("decide approval: %w", err)
		}
		if refusal = sextant.CheckDecidable(a, now); refusal != nil {
			if a.Expired(now) {
				// The refusal stands; the expiry is recorded, so the
				// transaction commits.
				if _, err := tx.Exec(ctx, `UPDATE approvals SET status = 'expired' WHERE id = $1`, id); err != nil {
					return fmt.Errorf("decide approval: %w", err)
				}
			}
			return nil
		}
		a.Status, a.DecidedBy, a.DecidedAt, a.Comment = status, actor, now, comment
		if _, err := tx.Exec(ctx, `UPDATE approvals SET status = $1, decided_by = $2, decided_at = $3, comment = $4 WHERE id = $5`,
			string(a.Status), a.DecidedBy, a.DecidedAt, a.Comment, id); err != nil {
			return fmt.Errorf("decide approval: %w", err)
		}
		return nil
	})
	if err == nil {
		err = refusal
	}
	if err != nil {
		return sextant.Approval{}, err
	}
	return a, nil
}

// MTTR implements sextant.ActionStats, reading the resolved and the open
// actions in one snapshot.
func (db *DB) MTTR(ctx context.Context, since time.Time) ([]sextant.MTTR, error) {
	open := make(map[sextant.MTTRKey]int)
	resolved := make(map[sextant.MTTRKey][]time.Duration)
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var (
			k     sextant.MTTRKey
			first time.Time
			done  time.Time
		)
		rows, _ := tx.Query(ctx, `SELECT priority, owner, first_seen, resolved_at FROM actions
			WHERE status = 'resolved' AND resolved_at >= $1`, ts(since))
		if _, err := pgx.ForEachRow(rows, []any{&k.Priority, &k.Owner, &first, &done}, func() error {
			resolved[k] = append(resolved[k], done.Sub(first))
			return nil
		}); err != nil {
			return err
		}
		var n int
		rows, _ = tx.Query(ctx, `SELECT priority, owner, count(*) FROM actions WHERE status = 'open' GROUP BY priority, owner`)
		_, err := pgx.ForEachRow(rows, []any{&k.Priority, &k.Owner, &n}, func() error {
			open[k] = n
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("action MTTR: %w", err)
	}
	return sextant.NewMTTRs(open, resolved), nil
}
