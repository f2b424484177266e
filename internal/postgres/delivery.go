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
)

var (
	_ sextant.DeliveryStore = (*DB)(nil)
	_ sextant.PreviewStore  = (*DB)(nil)
)

const deliveryColumns = `action_id, destination, ref_external_id, ref_url, state, delivered, pending, attempts,
	next_attempt_at, last_error, dead, created_at, updated_at`

func scanDelivery(row pgx.Row) (sextant.Delivery, error) {
	var (
		d               sextant.Delivery
		state           string
		delivered, next *time.Time
	)
	if err := row.Scan(&d.ActionID, &d.Destination, &d.Ref.ExternalID, &d.Ref.URL, &state, &delivered, &d.Pending,
		&d.Attempts, &next, &d.LastError, &d.Dead, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return d, err
	}
	d.State, d.Delivered, d.NextAttemptAt = sextant.TicketState(state), fromNull(delivered), fromNull(next)
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
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
	_, err := db.pool.Exec(ctx, `INSERT INTO deliveries
		(action_id, destination, pending, next_attempt_at, created_at, updated_at, queued_at, requeued)
		VALUES ($1, $2, true, $3, $4, $4, $4, true)
		ON CONFLICT (action_id, destination) DO UPDATE SET
			next_attempt_at = CASE WHEN deliveries.pending AND NOT deliveries.dead
				THEN LEAST(deliveries.next_attempt_at, excluded.next_attempt_at) ELSE excluded.next_attempt_at END,
			attempts = CASE WHEN deliveries.dead THEN 0 ELSE deliveries.attempts END,
			last_error = CASE WHEN deliveries.dead THEN '' ELSE deliveries.last_error END,
			pending = true, dead = false, requeued = true, queued_at = excluded.queued_at, updated_at = excluded.updated_at`,
		actionID, destination, ts(at), ts(now))
	if err != nil {
		return fmt.Errorf("queue delivery: %w", err)
	}
	return nil
}

// ClaimDelivery implements sextant.DeliveryStore. SKIP LOCKED lets
// concurrent claimers, on any replica, each take a different delivery
// instead of waiting for, then colliding on, the same one; a row another
// claimer has just leased is checked again once its lock is released, and
// passed over.
func (db *DB) ClaimDelivery(ctx context.Context, now time.Time, lease time.Duration, skip []string) (sextant.Delivery, bool, error) {
	if err := sextant.CheckClaim(lease); err != nil {
		return sextant.Delivery{}, false, err
	}
	if skip == nil {
		// <> ALL(NULL) matches nothing.
		skip = []string{}
	}
	d, err := scanDelivery(db.pool.QueryRow(ctx, `UPDATE deliveries
		SET lease_until = $2, claimed_at = $1, requeued = false
		WHERE (action_id, destination) = (SELECT action_id, destination FROM deliveries
			WHERE pending AND NOT dead AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
				AND destination <> ALL($3)
			ORDER BY next_attempt_at, action_id, destination LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+deliveryColumns, ts(now), ts(now.Add(lease)), skip))
	if errors.Is(err, pgx.ErrNoRows) {
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
		ours := row.claimedAt != nil && row.claimedAt.Equal(ts(claimedAt))
		row.pending = true
		if ours {
			row.pending, row.leaseUntil = row.requeued, nil
		}
		row.next = dueAt(row.pending, row.next, claimedAt, db.Now)
		row.ref, row.state, row.delivered = d.Ref, d.State, null(d.Delivered)
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
		row.lastError, row.dead, row.pending, row.leaseUntil = errText, row.dead || dead, true, nil
		row.next = dueAt(true, null(next), next, db.Now)
		if row.dead {
			row.next = nil
		}
		return row
	})
}

// dueAt returns the next_attempt_at of a delivery: NULL when it is not
// pending, next if set, else at (or now when at is zero), so that a pending
// delivery always has a due time.
func dueAt(pending bool, next *time.Time, at time.Time, now func() time.Time) *time.Time {
	switch {
	case !pending:
		return nil
	case next != nil:
		return next
	case at.IsZero():
		at = now()
	}
	return null(at)
}

// deliveryRow is what CompleteDelivery and FailDelivery change in a
// deliveries row.
type deliveryRow struct {
	ref                         sextant.TicketRef
	state                       sextant.TicketState
	delivered, next, leaseUntil *time.Time
	claimedAt                   *time.Time
	pending, dead, requeued     bool
	attempts                    int
	lastError                   string
}

// updateDelivery reads a delivery, its row locked, changes it with change
// and writes it back, in one transaction: an unknown delivery is
// ENOTFOUND. op names the operation in errors.
func (db *DB) updateDelivery(ctx context.Context, op, actionID, destination string, change func(deliveryRow) deliveryRow) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var (
			row   deliveryRow
			state string
		)
		err := tx.QueryRow(ctx, `SELECT ref_external_id, ref_url, state, delivered, next_attempt_at, lease_until,
			claimed_at, pending, dead, requeued, attempts, last_error
			FROM deliveries WHERE action_id = $1 AND destination = $2 FOR UPDATE`, actionID, destination).Scan(
			&row.ref.ExternalID, &row.ref.URL, &state, &row.delivered, &row.next, &row.leaseUntil,
			&row.claimedAt, &row.pending, &row.dead, &row.requeued, &row.attempts, &row.lastError)
		if errors.Is(err, pgx.ErrNoRows) {
			return sextant.Errorf(sextant.ENOTFOUND, "delivery of %q to %q not found", actionID, destination)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		row.state = sextant.TicketState(state)
		row = change(row)
		if _, err := tx.Exec(ctx, `UPDATE deliveries SET ref_external_id = $1, ref_url = $2, state = $3, delivered = $4,
			next_attempt_at = $5, lease_until = $6, pending = $7, dead = $8, attempts = $9, last_error = $10, updated_at = $11
			WHERE action_id = $12 AND destination = $13`,
			row.ref.ExternalID, row.ref.URL, string(row.state), row.delivered, row.next, row.leaseUntil,
			row.pending, row.dead, row.attempts, row.lastError, ts(db.Now()), actionID, destination); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	})
}

// Delivery implements sextant.DeliveryStore.
func (db *DB) Delivery(ctx context.Context, actionID, destination string) (sextant.Delivery, error) {
	d, err := scanDelivery(db.pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries
		WHERE action_id = $1 AND destination = $2`, actionID, destination))
	if errors.Is(err, pgx.ErrNoRows) {
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
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if filter.Destination != "" {
		where = append(where, "destination = "+arg(filter.Destination))
	}
	if filter.ActionID != "" {
		where = append(where, "action_id = "+arg(filter.ActionID))
	}
	if filter.Dead != nil {
		where = append(where, "dead = "+arg(*filter.Dead))
	}
	if filter.Pending != nil {
		where = append(where, "pending = "+arg(*filter.Pending))
	}
	if after != nil {
		where = append(where, "(updated_at, action_id, destination) < ("+
			arg(ts(after.UpdatedAt))+", "+arg(after.ActionID)+", "+arg(after.Destination)+")")
	}
	q := `SELECT ` + deliveryColumns + ` FROM deliveries`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY updated_at DESC, action_id DESC, destination DESC LIMIT ` + arg(limit+1)
	rows, _ := db.pool.Query(ctx, q, args...)
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sextant.Delivery, error) { return scanDelivery(row) })
	if err != nil {
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
	p.CreatedAt = ts(p.CreatedAt)
	if p.Payload == nil {
		p.Payload = []byte{}
	}
	err := db.pool.QueryRow(ctx, `INSERT INTO previews (action_id, destination, operation, payload, created_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		p.ActionID, p.Destination, p.Operation, p.Payload, p.CreatedAt).Scan(&p.ID)
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
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if actionID != "" {
		where = append(where, "action_id = "+arg(actionID))
	}
	if destination != "" {
		where = append(where, "destination = "+arg(destination))
	}
	if below > 0 {
		where = append(where, "id < "+arg(below))
	}
	q := `SELECT id, action_id, destination, operation, payload, created_at FROM previews`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ` + arg(limit+1)
	rows, _ := db.pool.Query(ctx, q, args...)
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sextant.Preview, error) {
		var p sextant.Preview
		err := row.Scan(&p.ID, &p.ActionID, &p.Destination, &p.Operation, &p.Payload, &p.CreatedAt)
		p.CreatedAt = p.CreatedAt.UTC()
		return p, err
	})
	if err != nil {
		return page, fmt.Errorf("list previews: %w", err)
	}
	return sextant.NewPreviewPage(items, limit), nil
}
