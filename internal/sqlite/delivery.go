package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

var (
	_ sextant.DeliveryStore = (*DB)(nil)
	_ sextant.PreviewStore  = (*DB)(nil)
)

const deliveryColumns = `action_id, destination, ref_external_id, ref_url, state, delivered, pending, attempts,
	next_attempt_at, last_error, dead, created_at, updated_at`

func scanDelivery(row interface{ Scan(...any) error }) (sextant.Delivery, error) {
	var (
		d                sextant.Delivery
		state            string
		delivered, next  sql.NullInt64
		created, updated int64
	)
	if err := row.Scan(&d.ActionID, &d.Destination, &d.Ref.ExternalID, &d.Ref.URL, &state, &delivered, &d.Pending,
		&d.Attempts, &next, &d.LastError, &d.Dead, &created, &updated); err != nil {
		return d, err
	}
	d.State, d.Delivered, d.NextAttemptAt = sextant.TicketState(state), fromNullMicros(delivered), fromNullMicros(next)
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return d, nil
}

// QueueDelivery implements sextant.DeliveryStore. A zero at is now.
func (db *DB) QueueDelivery(ctx context.Context, actionID, destination string, at time.Time) error {
	if err := sextant.CheckDeliveryKey(actionID, destination); err != nil {
		return err
	}
	now := db.Now()
	if at.IsZero() {
		at = now
	}
	// In an upsert's SET, the deliveries.* columns are the row before it.
	_, err := db.w.ExecContext(ctx, `INSERT INTO deliveries
		(action_id, destination, pending, next_attempt_at, created_at, updated_at, queued_at, requeued)
		VALUES (?1, ?2, 1, ?3, ?4, ?4, ?4, 1)
		ON CONFLICT (action_id, destination) DO UPDATE SET
			next_attempt_at = CASE WHEN deliveries.pending = 1 AND deliveries.dead = 0
				THEN min(coalesce(deliveries.next_attempt_at, excluded.next_attempt_at), excluded.next_attempt_at) ELSE excluded.next_attempt_at END,
			attempts = CASE WHEN deliveries.dead = 1 THEN 0 ELSE deliveries.attempts END,
			last_error = CASE WHEN deliveries.dead = 1 THEN '' ELSE deliveries.last_error END,
			pending = 1, dead = 0, requeued = 1, queued_at = excluded.queued_at, updated_at = excluded.updated_at`,
		actionID, destination, micros(at), micros(now))
	if err != nil {
		return fmt.Errorf("queue delivery: %w", err)
	}
	return nil
}

// ClaimDelivery implements sextant.DeliveryStore. The one write connection
// serialises claims in the process, and the write lock that the UPDATE
// takes before it reads serialises them across processes.
func (db *DB) ClaimDelivery(ctx context.Context, now time.Time, lease time.Duration, skip []string) (sextant.Delivery, bool, error) {
	if err := sextant.CheckClaim(lease); err != nil {
		return sextant.Delivery{}, false, err
	}
	if skip == nil {
		skip = []string{}
	}
	skipJSON, err := json.Marshal(skip)
	if err != nil {
		return sextant.Delivery{}, false, fmt.Errorf("claim delivery: %w", err)
	}
	d, err := scanDelivery(db.w.QueryRowContext(ctx, `UPDATE deliveries
		SET lease_until = ?2, claimed_at = ?1, requeued = 0
		WHERE (action_id, destination) = (SELECT action_id, destination FROM deliveries
			WHERE pending = 1 AND dead = 0 AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
				AND destination NOT IN (SELECT value FROM json_each(?3))
			ORDER BY next_attempt_at, action_id, destination LIMIT 1)
		RETURNING `+deliveryColumns, micros(now), micros(now.Add(lease)), string(skipJSON)))
	if errors.Is(err, sql.ErrNoRows) {
		return sextant.Delivery{}, false, nil
	}
	if err != nil {
		return sextant.Delivery{}, false, fmt.Errorf("claim delivery: %w", err)
	}
	return d, true, nil
}

// CompleteDelivery implements sextant.DeliveryStore. A completion whose
// claimedAt is not that of the delivery's last claim (its lease ran out
// and another caller claimed it since) records d but leaves the delivery
// due and the other claim's lease in place: what reached the destination
// last is not known, so it is synced once more.
func (db *DB) CompleteDelivery(ctx context.Context, d sextant.Delivery, claimedAt time.Time) error {
	if err := sextant.CheckDeliveryKey(d.ActionID, d.Destination); err != nil {
		return err
	}
	return db.updateDelivery(ctx, "complete delivery", d.ActionID, d.Destination, func(row deliveryRow) deliveryRow {
		ours := row.claimedAt.Valid && row.claimedAt.Int64 == micros(claimedAt)
		row.pending = true
		if ours {
			row.pending, row.leaseUntil = row.requeued, sql.NullInt64{}
		}
		row.next = dueAt(row.pending, row.next, claimedAt, db.Now)
		row.ref, row.state, row.delivered = d.Ref, d.State, nullMicros(d.Delivered)
		row.attempts, row.lastError, row.dead = 0, "", false
		return row
	})
}

// FailDelivery implements sextant.DeliveryStore. The delivery stays
// pending; a zero next is now. Only QueueDelivery revives a dead delivery.
func (db *DB) FailDelivery(ctx context.Context, actionID, destination, errText string, next time.Time, dead bool) error {
	if err := sextant.CheckDeliveryKey(actionID, destination); err != nil {
		return err
	}
	return db.updateDelivery(ctx, "fail delivery", actionID, destination, func(row deliveryRow) deliveryRow {
		row.attempts++
		row.lastError, row.dead, row.pending, row.leaseUntil = errText, row.dead || dead, true, sql.NullInt64{}
		row.next = dueAt(true, nullMicros(next), next, db.Now)
		if row.dead {
			row.next = sql.NullInt64{}
		}
		return row
	})
}

// dueAt returns the next_attempt_at of a delivery: NULL when it is not
// pending, next if set, else at (or now when at is zero), so that a pending
// delivery always has a due time.
func dueAt(pending bool, next sql.NullInt64, at time.Time, now func() time.Time) sql.NullInt64 {
	switch {
	case !pending:
		return sql.NullInt64{}
	case next.Valid:
		return next
	case at.IsZero():
		at = now()
	}
	return nullMicros(at)
}

// deliveryRow is what CompleteDelivery and FailDelivery change in a
// deliveries row.
type deliveryRow struct {
	ref                         sextant.TicketRef
	state                       sextant.TicketState
	delivered, next, leaseUntil sql.NullInt64
	claimedAt                   sql.NullInt64
	pending, dead, requeued     bool
	attempts                    int
	lastError                   string
}

// updateDelivery reads a delivery, changes it with change and writes it
// back, in one transaction: an unknown delivery is ENOTFOUND. op names the
// operation in errors.
func (db *DB) updateDelivery(ctx context.Context, op, actionID, destination string, change func(deliveryRow) deliveryRow) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer tx.Rollback()
	var (
		row   deliveryRow
		state string
	)
	err = tx.QueryRowContext(ctx, `SELECT ref_external_id, ref_url, state, delivered, next_attempt_at, lease_until,
		claimed_at, pending, dead, requeued, attempts, last_error
		FROM deliveries WHERE action_id = ? AND destination = ?`, actionID, destination).Scan(
		&row.ref.ExternalID, &row.ref.URL, &state, &row.delivered, &row.next, &row.leaseUntil,
		&row.claimedAt, &row.pending, &row.dead, &row.requeued, &row.attempts, &row.lastError)
	if errors.Is(err, sql.ErrNoRows) {
		return sextant.Errorf(sextant.ENOTFOUND, "delivery of %q to %q not found", actionID, destination)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	row.state = sextant.TicketState(state)
	row = change(row)
	if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET ref_external_id = ?, ref_url = ?, state = ?, delivered = ?,
		next_attempt_at = ?, lease_until = ?, pending = ?, dead = ?, attempts = ?, last_error = ?, updated_at = ?
		WHERE action_id = ? AND destination = ?`,
		row.ref.ExternalID, row.ref.URL, string(row.state), row.delivered, row.next, row.leaseUntil,
		row.pending, row.dead, row.attempts, row.lastError, micros(db.Now()), actionID, destination); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// Delivery implements sextant.DeliveryStore.
func (db *DB) Delivery(ctx context.Context, actionID, destination string) (sextant.Delivery, error) {
	d, err := scanDelivery(db.r.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE action_id = ? AND destination = ?`, actionID, destination))
	if errors.Is(err, sql.ErrNoRows) {
		return sextant.Delivery{}, sextant.Errorf(sextant.ENOTFOUND, "delivery of %q to %q not found", actionID, destination)
	}
	if err != nil {
		return sextant.Delivery{}, fmt.Errorf("read delivery: %w", err)
	}
	return d, nil
}

// Deliveries implements sextant.DeliveryStore.
func (db *DB) Deliveries(ctx context.Context, filter sextant.DeliveryFilter) (sextant.Page[sextant.Delivery], error) {
	var page sextant.Page[sextant.Delivery]
	limit, after, err := sextant.CheckDeliveryFilter(filter)
	if err != nil {
		return page, err
	}
	var (
		where []string
		args  []any
	)
	if filter.Destination != "" {
		where, args = append(where, "destination = ?"), append(args, filter.Destination)
	}
	if filter.ActionID != "" {
		where, args = append(where, "action_id = ?"), append(args, filter.ActionID)
	}
	if filter.Dead != nil {
		where, args = append(where, "dead = ?"), append(args, *filter.Dead)
	}
	if filter.Pending != nil {
		where, args = append(where, "pending = ?"), append(args, *filter.Pending)
	}
	if after != nil {
		where = append(where, "(updated_at, action_id, destination) < (?, ?, ?)")
		args = append(args, micros(after.UpdatedAt), after.ActionID, after.Destination)
	}
	q := `SELECT ` + deliveryColumns + ` FROM deliveries`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY updated_at DESC, action_id DESC, destination DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return page, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	var items []sextant.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return page, fmt.Errorf("list deliveries: %w", err)
		}
		items = append(items, d)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list deliveries: %w", err)
	}
	return sextant.NewDeliveryPage(items, limit), nil
}

// AddPreview implements sextant.PreviewStore: the store chooses the ID; a
// zero CreatedAt is now.
func (db *DB) AddPreview(ctx context.Context, p sextant.Preview) (sextant.Preview, error) {
	if err := sextant.CheckPreview(p); err != nil {
		return sextant.Preview{}, err
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = db.Now()
	}
	p.CreatedAt = fromMicros(micros(p.CreatedAt))
	if p.Payload == nil {
		p.Payload = []byte{}
	}
	err := db.w.QueryRowContext(ctx, `INSERT INTO previews (action_id, destination, operation, payload, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`,
		p.ActionID, p.Destination, p.Operation, p.Payload, micros(p.CreatedAt)).Scan(&p.ID)
	if err != nil {
		return sextant.Preview{}, fmt.Errorf("add preview: %w", err)
	}
	return p, nil
}

// Previews implements sextant.PreviewStore. Both actionID and destination
// may be given, to match previews of both.
func (db *DB) Previews(ctx context.Context, actionID, destination string, limit int, cursor string) (sextant.Page[sextant.Preview], error) {
	var page sextant.Page[sextant.Preview]
	limit, below, err := sextant.CheckPreviewList(limit, cursor)
	if err != nil {
		return page, err
	}
	var (
		where []string
		args  []any
	)
	if actionID != "" {
		where, args = append(where, "action_id = ?"), append(args, actionID)
	}
	if destination != "" {
		where, args = append(where, "destination = ?"), append(args, destination)
	}
	if below > 0 {
		where, args = append(where, "id < ?"), append(args, below)
	}
	q := `SELECT id, action_id, destination, operation, payload, created_at FROM previews`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return page, fmt.Errorf("list previews: %w", err)
	}
	defer rows.Close()
	var items []sextant.Preview
	for rows.Next() {
		var (
			p       sextant.Preview
			created int64
		)
		if err := rows.Scan(&p.ID, &p.ActionID, &p.Destination, &p.Operation, &p.Payload, &created); err != nil {
			return page, fmt.Errorf("list previews: %w", err)
		}
		p.CreatedAt = fromMicros(created)
		items = append(items, p)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list previews: %w", err)
	}
	return sextant.NewPreviewPage(items, limit), nil
}
