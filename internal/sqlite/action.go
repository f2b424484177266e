package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

var _ sextant.ActionStore = (*DB)(nil)

// SetActions implements sextant.ActionStore. A known action counts as
// updated only when its plan (the Action, score included) differs from the
// stored one, so that a rescan that changes nothing reports nothing; a new
// owner alone is stored without being reported. A reopened action is
// reported as reopened only, its plan replaced too.
func (db *DB) SetActions(ctx context.Context, artifactKey, owner string, actions []sextant.Action) (sextant.ActionChanges, error) {
	var ch sextant.ActionChanges
	if err := sextant.CheckActions(artifactKey, actions); err != nil {
		return ch, err
	}
	data := make([]string, len(actions))
	for i, a := range actions {
		var err error
		if data[i], err = sqlstore.EncodeAction(a); err != nil {
			return ch, err
		}
	}
	now := micros(db.Now())

	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return ch, fmt.Errorf("set actions: %w", err)
	}
	defer tx.Rollback()
	type stored struct {
		status string
		score  float64
		data   string
	}
	known := make(map[string]stored)
	rows, err := tx.QueryContext(ctx, `SELECT id, status, score, data FROM actions WHERE artifact = ?`, artifactKey)
	if err != nil {
		return ch, fmt.Errorf("set actions: %w", err)
	}
	for rows.Next() {
		var (
			id string
			s  stored
		)
		if err := rows.Scan(&id, &s.status, &s.score, &s.data); err != nil {
			rows.Close()
			return ch, fmt.Errorf("set actions: %w", err)
		}
		known[id] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return ch, fmt.Errorf("set actions: %w", err)
	}

	for i, a := range actions {
		s, ok := known[a.ID]
		delete(known, a.ID)
		if !ok {
			// DO NOTHING on the ID: a row there belongs to another
			// artifact, since this one's are all known.
			r, err := tx.ExecContext(ctx, `INSERT INTO actions
				(id, artifact, kind, priority, score, status, owner, data, findings, first_seen, updated_at)
				VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6, ?7, ?8, ?9, ?9) ON CONFLICT (id) DO NOTHING`,
				a.ID, artifactKey, string(a.Kind), int(a.Priority), a.Score, owner, data[i], len(a.FindingIDs), now)
			if err != nil {
				return ch, fmt.Errorf("set actions: insert %s: %w", a.ID, err)
			}
			if n, err := r.RowsAffected(); err != nil || n == 0 {
				return ch, sextant.Errorf(sextant.EINVALID, "set actions of %q: action %s belongs to another artifact", artifactKey, a.ID)
			}
			ch.Opened = append(ch.Opened, a.ID)
			continue
		}
		switch {
		case s.status == string(sextant.ActionResolved):
			ch.Reopened = append(ch.Reopened, a.ID)
		case s.score != a.Score || !sqlstore.SameJSON([]byte(s.data), []byte(data[i])):
			ch.Updated = append(ch.Updated, a.ID)
		default:
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE actions SET kind = ?, priority = ?, score = ?, status = 'open',
			data = ?, findings = ?, updated_at = ?, resolved_at = NULL WHERE id = ?`,
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
	for _, id := range ch.Resolved {
		if _, err := tx.ExecContext(ctx, `UPDATE actions SET status = 'resolved', updated_at = ?1, resolved_at = ?1 WHERE id = ?2`,
			now, id); err != nil {
			return ch, fmt.Errorf("set actions: resolve %s: %w", id, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE actions SET owner = ?1 WHERE artifact = ?2 AND owner <> ?1`, owner, artifactKey); err != nil {
		return ch, fmt.Errorf("set actions: owner: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return ch, fmt.Errorf("set actions: %w", err)
	}
	for _, ids := range []*[]string{&ch.Opened, &ch.Updated, &ch.Resolved, &ch.Reopened} {
		slices.Sort(*ids)
	}
	return ch, nil
}

const actionColumns = `id, status, score, owner, data, findings, first_seen, updated_at, resolved_at`

func scanAction(row interface{ Scan(...any) error }) (sextant.ActionRecord, float64, error) {
	var (
		rec              sextant.ActionRecord
		id, status, data string
		score            float64
		first, updated   int64
		resolved         sql.NullInt64
	)
	if err := row.Scan(&id, &status, &score, &rec.Owner, &data, &rec.Findings, &first, &updated, &resolved); err != nil {
		return rec, 0, err
	}
	a, err := sqlstore.DecodeAction(id, []byte(data))
	if err != nil {
		return rec, 0, err
	}
	a.ID = id
	rec.Action, rec.Status = a, sextant.ActionStatus(status)
	rec.FirstSeen, rec.UpdatedAt, rec.ResolvedAt = fromMicros(first), fromMicros(updated), fromNullMicros(resolved)
	return rec, score, nil
}

// Action implements sextant.ActionStore.
func (db *DB) Action(ctx context.Context, id string) (sextant.ActionRecord, error) {
	rec, _, err := scanAction(db.r.QueryRowContext(ctx, `SELECT `+actionColumns+` FROM actions WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
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
	if filter.Status != "" {
		where, args = append(where, "status = ?"), append(args, string(filter.Status))
	}
	if filter.Priority != nil {
		where, args = append(where, "priority = ?"), append(args, int(*filter.Priority))
	}
	if filter.Artifact != "" {
		where, args = append(where, "artifact = ?"), append(args, filter.Artifact)
	}
	if filter.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, string(filter.Kind))
	}
	if filter.Owner != "" {
		where, args = append(where, "owner = ?"), append(args, filter.Owner)
	}
	if after != nil {
		where, args = append(where, "(score < ? OR (score = ? AND id > ?))"), append(args, after.Score, after.Score, after.ID)
	}
	q := `SELECT ` + actionColumns + ` FROM actions`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY score DESC, id LIMIT ?`
	args = append(args, limit+1)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return page, fmt.Errorf("list actions: %w", err)
	}
	defer rows.Close()
	var (
		items  []sextant.ActionRecord
		scores []float64
	)
	for rows.Next() {
		rec, score, err := scanAction(rows)
		if err != nil {
			return page, fmt.Errorf("list actions: %w", err)
		}
		items, scores = append(items, rec), append(scores, score)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list actions: %w", err)
	}
	return sextant.NewActionPage(items, scores, limit), nil
}
