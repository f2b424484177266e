package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

var (
	_ sextant.ApprovalStore = (*DB)(nil)
	_ sextant.ActionStats   = (*DB)(nil)
)

const approvalColumns = `id, action_id, kind, reason, requested_by, requested_at, expires_at, status, decided_by,
	decided_at, comment`

func scanApproval(row interface{ Scan(...any) error }) (sextant.Approval, error) {
	var (
		a                  sextant.Approval
		status             string
		requested, expires int64
		decided            sql.NullInt64
	)
	if err := row.Scan(&a.ID, &a.ActionID, &a.Kind, &a.Reason, &a.RequestedBy, &requested, &expires, &status,
		&a.DecidedBy, &decided, &a.Comment); err != nil {
		return a, err
	}
	a.Status, a.RequestedAt, a.ExpiresAt = sextant.ApprovalStatus(status), fromMicros(requested), fromMicros(expires)
	a.DecidedAt = fromNullMicros(decided)
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
	a.RequestedAt, a.ExpiresAt = fromMicros(micros(a.RequestedAt)), fromMicros(micros(a.ExpiresAt))
	a.Status, a.DecidedBy, a.DecidedAt, a.Comment = sextant.ApprovalPending, "", time.Time{}, ""

	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return sextant.Approval{}, fmt.Errorf("request approval: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE approvals SET status = 'expired'
		WHERE action_id = ? AND kind = ? AND status = 'pending' AND expires_at < ?`,
		a.ActionID, a.Kind, micros(a.RequestedAt)); err != nil {
		return sextant.Approval{}, fmt.Errorf("request approval: %w", err)
	}
	// DO NOTHING on the ID and on the one pending request per action and
	// kind: which of them it was is read after.
	r, err := tx.ExecContext(ctx, `INSERT INTO approvals (id, action_id, kind, reason, requested_by, requested_at, expires_at, status)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT DO NOTHING`,
		a.ID, a.ActionID, a.Kind, a.Reason, a.RequestedBy, micros(a.RequestedAt), micros(a.ExpiresAt))
	if err != nil {
		return sextant.Approval{}, fmt.Errorf("request approval: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return sextant.Approval{}, fmt.Errorf("request approval: %w", err)
	} else if n == 0 {
		a, err = scanApproval(tx.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals
			WHERE action_id = ? AND kind = ? AND status = 'pending'`, a.ActionID, a.Kind))
		if errors.Is(err, sql.ErrNoRows) {
			return sextant.Approval{}, sextant.Errorf(sextant.ECONFLICT, "approval %q already exists", a.ID)
		}
		if err != nil {
			return sextant.Approval{}, fmt.Errorf("request approval: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return sextant.Approval{}, fmt.Errorf("request approval: %w", err)
	}
	return a, nil
}

// now returns the store's time to the microsecond, as times are stored, so
// that expiry is judged alike in SQL and in Go.
func (db *DB) now() time.Time { return fromMicros(micros(db.Now())) }

// Approval implements sextant.ApprovalStore.
func (db *DB) Approval(ctx context.Context, id string) (sextant.Approval, error) {
	a, err := scanApproval(db.r.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
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
	switch filter.Status {
	case "":
	case sextant.ApprovalPending:
		where, args = append(where, "status = 'pending' AND expires_at >= ?"), append(args, micros(now))
	case sextant.ApprovalExpired:
		where, args = append(where, "(status = 'expired' OR (status = 'pending' AND expires_at < ?))"), append(args, micros(now))
	default:
		where, args = append(where, "status = ?"), append(args, string(filter.Status))
	}
	if filter.ActionID != "" {
		where, args = append(where, "action_id = ?"), append(args, filter.ActionID)
	}
	if after != nil {
		where, args = append(where, "(requested_at, id) < (?, ?)"), append(args, micros(after.RequestedAt), after.ID)
	}
	q := `SELECT ` + approvalColumns + ` FROM approvals`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY requested_at DESC, id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return page, fmt.Errorf("list approvals: %w", err)
	}
	defer rows.Close()
	var items []sextant.Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return page, fmt.Errorf("list approvals: %w", err)
		}
		if a.Expired(now) {
			a.Status = sextant.ApprovalExpired
		}
		items = append(items, a)
	}
	if err := rows.Err(); err != nil {
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
	now = fromMicros(micros(now))
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return sextant.Approval{}, fmt.Errorf("decide approval: %w", err)
	}
	defer tx.Rollback()
	a, err := scanApproval(tx.QueryRowContext(ctx, `SELECT `+approvalColumns+` FROM approvals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sextant.Approval{}, sextant.Errorf(sextant.ENOTFOUND, "approval %q not found", id)
	}
	if err != nil {
		return sextant.Approval{}, fmt.Errorf("decide approval: %w", err)
	}
	if err := sextant.CheckDecidable(a, now); err != nil {
		if a.Expired(now) {
			// The refusal stands; the expiry is recorded.
			if _, err := tx.ExecContext(ctx, `UPDATE approvals SET status = 'expired' WHERE id = ?`, id); err != nil {
				return sextant.Approval{}, fmt.Errorf("decide approval: %w", err)
			}
			if err := tx.Commit(); err != nil {
				return sextant.Approval{}, fmt.Errorf("decide approval: %w", err)
			}
		}
		return sextant.Approval{}, err
	}
	a.Status, a.DecidedBy, a.DecidedAt, a.Comment = status, actor, now, comment
	if _, err := tx.ExecContext(ctx, `UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, comment = ? WHERE id = ?`,
		string(a.Status), a.DecidedBy, micros(a.DecidedAt), a.Comment, id); err != nil {
		return sextant.Approval{}, fmt.Errorf("decide approval: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return sextant.Approval{}, fmt.Errorf("decide approval: %w", err)
	}
	return a, nil
}

// MTTR implements sextant.ActionStats, reading the resolved and the open
// actions in one snapshot.
func (db *DB) MTTR(ctx context.Context, since time.Time) ([]sextant.MTTR, error) {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("action MTTR: %w", err)
	}
	defer tx.Rollback()
	resolved := make(map[sextant.MTTRKey][]time.Duration)
	rows, err := tx.QueryContext(ctx, `SELECT priority, owner, resolved_at - first_seen FROM actions
		WHERE status = 'resolved' AND resolved_at >= ?`, micros(since))
	if err != nil {
		return nil, fmt.Errorf("action MTTR: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k  sextant.MTTRKey
			us int64
		)
		if err := rows.Scan(&k.Priority, &k.Owner, &us); err != nil {
			return nil, fmt.Errorf("action MTTR: %w", err)
		}
		resolved[k] = append(resolved[k], time.Duration(us)*time.Microsecond)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("action MTTR: %w", err)
	}
	open := make(map[sextant.MTTRKey]int)
	rows, err = tx.QueryContext(ctx, `SELECT priority, owner, count(*) FROM actions WHERE status = 'open' GROUP BY priority, owner`)
	if err != nil {
		return nil, fmt.Errorf("action MTTR: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			k sextant.MTTRKey
			n int
		)
		if err := rows.Scan(&k.Priority, &k.Owner, &n); err != nil {
			return nil, fmt.Errorf("action MTTR: %w", err)
		}
		open[k] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("action MTTR: %w", err)
	}
	return sextant.NewMTTRs(open, resolved), nil
}
