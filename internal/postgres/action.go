package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

var _ sextant.ActionStore = (*DB)(nil)

// SetActions implements sextant.ActionStore. Calls for one artifact are
// serialised by a transaction-scoped advisory lock on its key, so that two
// replicas planning the same artifact apply their plans one after the
// other. A known action counts as updated only when its plan (the Action,
// score included) differs from the stored one, so that a rescan that
// changes nothing reports nothing; a new owner alone is stored without
// being reported. A reopened action is reported as reopened only, its plan
// replaced too.
func (db *DB) SetActions(ctx context.Context, artifactKey, owner string, actions []sextant.Action) (sextant.ActionChanges, error) {
	if err := sextant.CheckActions(artifactKey, actions); err != nil {
		return sextant.ActionChanges{}, err
	}
	data := make([]string, len(actions))
	for i, a := range actions {
		var err error
		if data[i], err = sqlstore.EncodeAction(a); err != nil {
			return sextant.ActionChanges{}, err
		}
	}
	now := ts(db.Now())
	var ch sextant.ActionChanges
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		ch, err = setActions(ctx, tx, artifactKey, owner, actions, data, now)
		return err
	})
	if err != nil {
		return sextant.ActionChanges{}, err
	}
	for _, ids := range []*[]string{&ch.Opened, &ch.Updated, &ch.Resolved, &ch.Reopened} {
		slices.Sort(*ids)
	}
	return ch, nil
}

func setActions(ctx context.Context, tx pgx.Tx, key, owner string, actions []sextant.Action, data []string,
	now time.Time) (sextant.ActionChanges, error) {
	var ch sextant.ActionChanges
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "sextant.actions:"+key); err != nil {
		return ch, fmt.Errorf("set actions: lock artifact: %w", err)
	}
	type stored struct {
		status string
		score  float64
		data   []byte
	}
	known := make(map[string]stored)
	rows, _ := tx.Query(ctx, `SELECT id, status, score, data FROM actions WHERE artifact = $1`, key)
	var (
		id string
		s  stored
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &s.status, &s.score, &s.data}, func() error {
		known[id] = stored{s.status, s.score, slices.Clone(s.data)}
		return nil
	}); err != nil {
		return ch, fmt.Errorf("set actions: %w", err)
	}

	for i, a := range actions {
		s, ok := known[a.ID]
		delete(known, a.ID)
		if !ok {
			// DO NOTHING on the ID: a row there belongs to another
			// artifact, since this one's are all known.
			tag, err := tx.Exec(ctx, `INSERT INTO actions
				(id, artifact, kind, priority, score, status, owner, data, findings, first_seen, updated_at)
				VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $9) ON CONFLICT (id) DO NOTHING`,
				a.ID, key, string(a.Kind), int(a.Priority), a.Score, owner, data[i], len(a.FindingIDs), now)
			if err != nil {
				return ch, fmt.Errorf("set actions: insert %s: %w", a.ID, err)
			}
			if tag.RowsAffected() == 0 {
				return ch, sextant.Errorf(sextant.EINVALID, "set actions of %q: action %s belongs to another artifact", key, a.ID)
			}
			ch.Opened = append(ch.Opened, a.ID)
			continue
		}
		switch {
		case s.status == string(sextant.ActionResolved):
			ch.Reopened = append(ch.Reopened, a.ID)
		case s.score != a.Score || !sqlstore.SameJSON(s.data, []byte(data[i])):
			ch.Updated = append(ch.Updated, a.ID)
		default:
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE actions SET kind = $1, priority = $2, score = $3, status = 'open',
			data = $4, findings = $5, updated_at = $6, resolved_at = NULL WHERE id = $7`,
			string(a.Kind), int(a.Priority), a.Score, data[i], len(a.FindingIDs), now, a.ID); err != nil {
			return ch, fmt.Errorf("set actions: update %s: %w", a.ID, err)
		}
	}
	// What is left of known are the artifact's actions no longer derived.
	for id, s := range known {
		if s.status == string(sextant.ActionOpen) {
			ch.Resolved = append(ch.Resolved, id)
		}
	}
	if len(ch.Resolved) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE actions SET status = 'resolved', updated_at = $1, resolved_at = $1
			WHERE id = ANY($2)`, now, ch.Resolved); err != nil {
			return ch, fmt.Errorf("set actions: resolve: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE actions SET owner = $1 WHERE artifact = $2 AND owner <> $1`, owner, key); err != nil {
		return ch, fmt.Errorf("set actions: owner: %w", err)
	}
	return ch, nil
}

const actionColumns = `id, status, score, owner, data, findings, first_seen, updated_at, resolved_at`

func scanAction(row pgx.Row) (sextant.ActionRecord, float64, error) {
	var (
		rec        sextant.ActionRecord
		id, status string
		data       []byte
		score      float64
		resolved   *time.Time
	)
	if err := row.Scan(&id, &status, &score, &rec.Owner, &data, &rec.Findings, &rec.FirstSeen, &rec.UpdatedAt, &resolved); err != nil {
		return rec, 0, err
	}
	a, err := sqlstore.DecodeAction(id, data)
	if err != nil {
		return rec, 0, err
	}
	a.ID = id
	rec.Action, rec.Status = a, sextant.ActionStatus(status)
	rec.FirstSeen, rec.UpdatedAt, rec.ResolvedAt = rec.FirstSeen.UTC(), rec.UpdatedAt.UTC(), fromNull(resolved)
	return rec, score, nil
}

// Action implements sextant.ActionStore.
func (db *DB) Action(ctx context.Context, id string) (sextant.ActionRecord, error) {
	rec, _, err := scanAction(db.pool.QueryRow(ctx, `SELECT `+actionColumns+` FROM actions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return rec, sextant.Errorf(sextant.ENOTFOUND, "action %q not found", id)
	}
	if err != nil {
		return rec, fmt.Errorf("read action: %w", err)
	}
	return rec, nil
}

// Actions implements sextant.ActionStore.
func (db *DB) Actions(ctx context.Context, filter sextant.ActionFilter) (sextant.Page[sextant.ActionRecord], error) {
	var page sextant.Page[sextant.ActionRecord]
	limit, after, err := sextant.CheckActionFilter(filter)
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
	if filter.Priority != nil {
		where = append(where, "priority = "+arg(int(*filter.Priority)))
	}
	if filter.Artifact != "" {
		where = append(where, "artifact = "+arg(filter.Artifact))
	}
	if filter.Kind != "" {
		where = append(where, "kind = "+arg(string(filter.Kind)))
	}
	if filter.Owner != "" {
		where = append(where, "owner = "+arg(filter.Owner))
	}
	if after != nil {
		s, id := arg(after.Score), arg(after.ID)
		where = append(where, "(score < "+s+" OR (score = "+s+" AND id > "+id+"))")
	}
	q := `SELECT ` + actionColumns + ` FROM actions`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY score DESC, id LIMIT ` + arg(limit+1)
	rows, _ := db.pool.Query(ctx, q, args...)
	var (
		items  []sextant.ActionRecord
		scores []float64
	)
	for rows.Next() {
		rec, score, err := scanAction(rows)
		if err != nil {
			rows.Close()
			return page, fmt.Errorf("list actions: %w", err)
		}
		items, scores = append(items, rec), append(scores, score)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list actions: %w", err)
	}
	return sextant.NewActionPage(items, scores, limit), nil
}
