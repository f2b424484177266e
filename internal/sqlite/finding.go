package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

// RecordScan implements sextant.Store.
func (db *DB) RecordScan(ctx context.Context, scan sextant.ScanRecord, findings []*sextant.Finding) (sextant.ScanResult, error) {
	fs, err := sextant.CheckScan(scan, findings)
	if err != nil {
		return sextant.ScanResult{}, err
	}
	now := db.Now().UTC()
	if scan.ScannedAt.IsZero() {
		scan.ScannedAt = now
	}
	if scan.ID == "" {
		scan.ID = sqlstore.NewID("scan_")
	}
	at := micros(scan.ScannedAt)
	key := scan.Artifact.Key()
	src := scan.Source.Scanner
	record, err := sqlstore.ScanJSON(scan)
	if err != nil {
		return sextant.ScanResult{}, err
	}

	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return sextant.ScanResult{}, fmt.Errorf("record scan: %w", err)
	}
	defer tx.Rollback()
	res, err := recordScan(ctx, tx, scan, fs, at, micros(now), key, src, record)
	if err != nil {
		return sextant.ScanResult{}, err
	}
	if err := tx.Commit(); err != nil {
		return sextant.ScanResult{}, fmt.Errorf("record scan: %w", err)
	}
	return res, nil
}

func recordScan(ctx context.Context, tx *sql.Tx, scan sextant.ScanRecord, fs []*sextant.Finding,
	at, now int64, key, src, record string) (sextant.ScanResult, error) {
	res := sextant.ScanResult{ScanID: scan.ID, Findings: len(fs)}
	r, err := tx.ExecContext(ctx, `INSERT INTO scans (id, artifact, source, complete, scanned_at, recorded_at, findings, record, owner)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		scan.ID, key, src, scan.Complete, at, now, len(fs), record, scan.Owner)
	if err != nil {
		return res, fmt.Errorf("record scan: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return res, sextant.Errorf(sextant.ECONFLICT, "scan %q is already recorded", scan.ID)
	}

	known := make(map[string]bool)
	rows, err := tx.QueryContext(ctx, `SELECT id FROM findings WHERE artifact = ?`, key)
	if err != nil {
		return res, fmt.Errorf("record scan: %w", err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return res, fmt.Errorf("record scan: %w", err)
		}
		known[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("record scan: %w", err)
	}

	// The artifact's findings carry the owner of its latest scan, which a
	// late older scan does not replace; this scan's row is already in.
	var owner string
	if err := tx.QueryRowContext(ctx, `SELECT owner FROM scans WHERE artifact = ?
		ORDER BY scanned_at DESC, recorded_at DESC, id DESC LIMIT 1`, key).Scan(&owner); err != nil {
		return res, fmt.Errorf("record scan: owner: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE findings SET owner = ?1 WHERE artifact = ?2 AND owner <> ?1`, owner, key); err != nil {
		return res, fmt.Errorf("record scan: owner: %w", err)
	}

	insert, err := tx.PrepareContext(ctx, `INSERT INTO findings
		(id, artifact, kind, vulnerability, status, score, priority, score_detail, data, first_seen, last_seen, owner)
		VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?8, ?9, ?9, ?10)`)
	if err != nil {
		return res, fmt.Errorf("record scan: %w", err)
	}
	defer insert.Close()
	update, err := tx.PrepareContext(ctx, `UPDATE findings SET
		data = CASE WHEN ?2 >= last_seen THEN ?3 ELSE data END,
		score = CASE WHEN ?4 THEN ?5 ELSE score END,
		priority = CASE WHEN ?4 THEN ?6 ELSE priority END,
		score_detail = CASE WHEN ?4 THEN ?7 ELSE score_detail END,
		first_seen = min(first_seen, ?2),
		last_seen = max(last_seen, ?2)
		WHERE id = ?1`)
	if err != nil {
		return res, fmt.Errorf("record scan: %w", err)
	}
	defer update.Close()
	attribute, err := tx.PrepareContext(ctx, `INSERT INTO attributions (finding_id, source, first_seen, last_seen, scan_id)
		VALUES (?1, ?2, ?3, ?3, ?4)
		ON CONFLICT (finding_id, source) DO UPDATE SET
		first_seen = min(first_seen, excluded.first_seen),
		last_seen = max(last_seen, excluded.last_seen),
		scan_id = CASE WHEN excluded.last_seen >= last_seen THEN excluded.scan_id ELSE scan_id END,
		closed_by = CASE WHEN closed_at IS NOT NULL AND excluded.last_seen > closed_at THEN NULL ELSE closed_by END,
		closed_at = CASE WHEN closed_at IS NOT NULL AND excluded.last_seen > closed_at THEN NULL ELSE closed_at END`)
	if err != nil {
		return res, fmt.Errorf("record scan: %w", err)
	}
	defer attribute.Close()
	history, err := tx.PrepareContext(ctx, `INSERT INTO status_changes
		(finding_id, from_status, to_status, reason, actor, scan_id, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return res, fmt.Errorf("record scan: %w", err)
	}
	defer history.Close()

	for _, f := range fs {
		row, err := sqlstore.NewRow(scan, f)
		if err != nil {
			return res, err
		}
		if known[f.ID] {
			if _, err := update.ExecContext(ctx, f.ID, at, row.Data, row.Scored, row.Score.Value, int(row.Score.Priority), row.Detail); err != nil {
				return res, fmt.Errorf("record scan: update finding %s: %w", f.ID, err)
			}
		} else {
			vuln := sextant.CanonicalVulnerabilityID(f.VulnerabilityID, f.Aliases)
			if _, err := insert.ExecContext(ctx, f.ID, key, string(f.Kind), vuln, row.Score.Value, int(row.Score.Priority), row.Detail, row.Data, at, owner); err != nil {
				return res, fmt.Errorf("record scan: insert finding %s: %w", f.ID, err)
			}
			reason := sqlstore.ReasonFirstSeen(src, scan.ID)
			if _, err := history.ExecContext(ctx, f.ID, "", string(sextant.StatusOpen), reason, sextant.SystemActor, scan.ID, now); err != nil {
				return res, fmt.Errorf("record scan: %w", err)
			}
			known[f.ID] = true
			res.New++
		}
		if _, err := attribute.ExecContext(ctx, f.ID, src, at, scan.ID); err != nil {
			return res, fmt.Errorf("record scan: attribute finding %s: %w", f.ID, err)
		}
	}

	if scan.Complete {
		if _, err := tx.ExecContext(ctx, `UPDATE attributions SET closed_by = ?1, closed_at = ?2
			WHERE source = ?3 AND closed_at IS NULL AND last_seen < ?2
			AND finding_id IN (SELECT id FROM findings WHERE artifact = ?4)`, scan.ID, at, src, key); err != nil {
			return res, fmt.Errorf("record scan: close attributions: %w", err)
		}
		res.Resolved, err = updateIDs(ctx, tx, `UPDATE findings SET status = 'resolved'
			WHERE artifact = ? AND status = 'open' AND NOT EXISTS
			(SELECT 1 FROM attributions a WHERE a.finding_id = findings.id AND a.closed_at IS NULL)
			RETURNING id`, key)
		if err != nil {
			return res, fmt.Errorf("record scan: resolve: %w", err)
		}
		reason := sqlstore.ReasonResolved(src, scan.ID)
		for _, id := range res.Resolved {
			if _, err := history.ExecContext(ctx, id, string(sextant.StatusOpen), string(sextant.StatusResolved), reason, sextant.SystemActor, scan.ID, now); err != nil {
				return res, fmt.Errorf("record scan: %w", err)
			}
		}
	}
	res.Reopened, err = updateIDs(ctx, tx, `UPDATE findings SET status = 'open'
		WHERE status = 'resolved' AND id IN
		(SELECT finding_id FROM attributions WHERE scan_id = ? AND closed_at IS NULL)
		RETURNING id`, scan.ID)
	if err != nil {
		return res, fmt.Errorf("record scan: reopen: %w", err)
	}
	reason := sqlstore.ReasonReopened(src, scan.ID)
	for _, id := range res.Reopened {
		if _, err := history.ExecContext(ctx, id, string(sextant.StatusResolved), string(sextant.StatusOpen), reason, sextant.SystemActor, scan.ID, now); err != nil {
			return res, fmt.Errorf("record scan: %w", err)
		}
	}
	return res, nil
}

// updateIDs runs an UPDATE … RETURNING id and returns the IDs, sorted, or
// nil for none.
func updateIDs(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, rows.Err()
}

const findingColumns = `id, status, score, score_detail, data, first_seen, last_seen, owner`

func scanFinding(row interface{ Scan(...any) error }) (sextant.FindingRecord, float64, error) {
	var (
		id, status, owner string
		score             float64
		detail, data      string
		first, last       int64
	)
	if err := row.Scan(&id, &status, &score, &detail, &data, &first, &last, &owner); err != nil {
		return sextant.FindingRecord{}, 0, err
	}
	rec, err := sqlstore.Record(id, status, []byte(detail), []byte(data))
	if err != nil {
		return rec, 0, err
	}
	rec.FirstSeen = fromMicros(first)
	rec.LastSeen = fromMicros(last)
	rec.Owner = owner
	return rec, score, nil
}

// Finding implements sextant.Store.
func (db *DB) Finding(ctx context.Context, id string) (sextant.FindingRecord, error) {
	// One read transaction, so that the finding, its attributions and its
	// history are one snapshot.
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return sextant.FindingRecord{}, fmt.Errorf("read finding: %w", err)
	}
	defer tx.Rollback()
	rec, _, err := scanFinding(tx.QueryRowContext(ctx, `SELECT `+findingColumns+` FROM findings WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return rec, sextant.Errorf(sextant.ENOTFOUND, "finding %q not found", id)
	}
	if err != nil {
		return rec, fmt.Errorf("read finding: %w", err)
	}
	attrs, err := attributions(ctx, tx, []string{id})
	if err != nil {
		return rec, err
	}
	rec.Attributions = attrs[id]
	rows, err := tx.QueryContext(ctx, `SELECT from_status, to_status, reason, actor, scan_id, changed_at
		FROM status_changes WHERE finding_id = ? ORDER BY id`, id)
	if err != nil {
		return rec, fmt.Errorf("read finding history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			c        sextant.StatusChange
			from, to string
			scanID   sql.NullString
			changed  int64
		)
		if err := rows.Scan(&from, &to, &c.Reason, &c.Actor, &scanID, &changed); err != nil {
			return rec, fmt.Errorf("read finding history: %w", err)
		}
		c.From, c.To, c.ScanID, c.At = sextant.Status(from), sextant.Status(to), scanID.String, fromMicros(changed)
		rec.History = append(rec.History, c)
	}
	if err := rows.Err(); err != nil {
		return rec, fmt.Errorf("read finding history: %w", err)
	}
	return rec, nil
}

// attributions returns the attributions of the findings ids, by finding ID,
// each sorted by source.
func attributions(ctx context.Context, tx *sql.Tx, ids []string) (map[string][]sextant.Attribution, error) {
	out := make(map[string][]sextant.Attribution, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	q := `SELECT finding_id, source, first_seen, last_seen, scan_id, closed_by, closed_at FROM attributions
		WHERE finding_id IN (?` + strings.Repeat(", ?", len(ids)-1) + `) ORDER BY finding_id, source`
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read attributions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a           sextant.Attribution
			id          string
			first, last int64
			closedBy    sql.NullString
			closedAt    sql.NullInt64
		)
		if err := rows.Scan(&id, &a.Source, &first, &last, &a.ScanID, &closedBy, &closedAt); err != nil {
			return nil, fmt.Errorf("read attributions: %w", err)
		}
		a.FirstSeen, a.LastSeen, a.ClosedBy = fromMicros(first), fromMicros(last), closedBy.String
		if closedAt.Valid {
			a.ClosedAt = fromMicros(closedAt.Int64)
		}
		out[id] = append(out[id], a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read attributions: %w", err)
	}
	return out, nil
}

// Findings implements sextant.Store.
func (db *DB) Findings(ctx context.Context, filter sextant.FindingFilter) (sextant.Page[sextant.FindingRecord], error) {
	var page sextant.Page[sextant.FindingRecord]
	limit, after, err := sextant.CheckFindingFilter(filter)
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
	if filter.Owner != "" {
		where, args = append(where, "owner = ?"), append(args, filter.Owner)
	}
	if filter.Artifact != "" {
		where, args = append(where, "artifact = ?"), append(args, filter.Artifact)
	}
	if filter.Vulnerability != "" {
		where, args = append(where, "vulnerability = ?"), append(args, sextant.CanonicalVulnerabilityID(filter.Vulnerability, nil))
	}
	if filter.Source != "" {
		where = append(where, "EXISTS (SELECT 1 FROM attributions a WHERE a.finding_id = findings.id AND a.source = ?)")
		args = append(args, filter.Source)
	}
	if after != nil {
		where, args = append(where, "(score < ? OR (score = ? AND id > ?))"), append(args, after.Score, after.Score, after.ID)
	}
	q := `SELECT ` + findingColumns + ` FROM findings`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY score DESC, id LIMIT ?`
	args = append(args, limit+1)
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return page, fmt.Errorf("list findings: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return page, fmt.Errorf("list findings: %w", err)
	}
	defer rows.Close()
	var (
		items  []sextant.FindingRecord
		ids    []string
		scores []float64
	)
	for rows.Next() {
		rec, score, err := scanFinding(rows)
		if err != nil {
			return page, fmt.Errorf("list findings: %w", err)
		}
		items = append(items, rec)
		ids, scores = append(ids, rec.Finding.ID), append(scores, score)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list findings: %w", err)
	}
	rows.Close()
	page = sextant.NewFindingPage(items, scores, limit)
	ids = ids[:len(page.Items)]
	attrs, err := attributions(ctx, tx, ids)
	if err != nil {
		return page, err
	}
	for i := range page.Items {
		page.Items[i].Attributions = attrs[page.Items[i].Finding.ID]
	}
	return page, nil
}

// SetStatus implements sextant.Store.
func (db *DB) SetStatus(ctx context.Context, id string, status sextant.Status, reason, actor string) error {
	if err := sextant.CheckStatusChange(status, reason, actor); err != nil {
		return err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set status: %w", err)
	}
	defer tx.Rollback()
	var from string
	err = tx.QueryRowContext(ctx, `SELECT status FROM findings WHERE id = ?`, id).Scan(&from)
	if errors.Is(err, sql.ErrNoRows) {
		return sextant.Errorf(sextant.ENOTFOUND, "finding %q not found", id)
	}
	if err != nil {
		return fmt.Errorf("set status: %w", err)
	}
	if sextant.Status(from) == status {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE findings SET status = ? WHERE id = ?`, string(status), id); err != nil {
		return fmt.Errorf("set status: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO status_changes
		(finding_id, from_status, to_status, reason, actor, scan_id, changed_at) VALUES (?, ?, ?, ?, ?, NULL, ?)`,
		id, from, string(status), reason, actor, micros(db.Now())); err != nil {
		return fmt.Errorf("set status: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set status: %w", err)
	}
	return nil
}

// UpdateScores implements sextant.Store.
func (db *DB) UpdateScores(ctx context.Context, scores map[string]sextant.Score) ([]string, error) {
	if len(scores) == 0 {
		return nil, nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("update scores: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `UPDATE findings SET score = ?2, priority = ?3, score_detail = ?4
		WHERE id = ?1 AND (score != ?2 OR priority != ?3)`)
	if err != nil {
		return nil, fmt.Errorf("update scores: %w", err)
	}
	defer stmt.Close()
	var changed []string
	for id, sc := range scores {
		detail, err := json.Marshal(sc)
		if err != nil {
			return nil, fmt.Errorf("update scores: %w", err)
		}
		r, err := stmt.ExecContext(ctx, id, sc.Value, int(sc.Priority), string(detail))
		if err != nil {
			return nil, fmt.Errorf("update score of %s: %w", id, err)
		}
		if n, err := r.RowsAffected(); err == nil && n > 0 {
			changed = append(changed, id)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("update scores: %w", err)
	}
	slices.Sort(changed)
	return changed, nil
}
