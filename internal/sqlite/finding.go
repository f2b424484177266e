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
)

// storedFinding is the JSON of a findings.data column. A Finding's own JSON
// leaves out its severity levels (parsers derive them), so they are kept
// beside it and the finding reads back as it was written.
type storedFinding struct {
	Finding    *sextant.Finding   `json:"finding"`
	Severity   sextant.Severity   `json:"severity"`
	Severities []sextant.Severity `json:"severities,omitempty"`
}

func encodeFinding(f *sextant.Finding) (string, error) {
	s := storedFinding{Finding: f, Severity: f.Severity}
	for _, sv := range f.Severities {
		s.Severities = append(s.Severities, sv.Severity)
	}
	b, err := json.Marshal(s)
	return string(b), err
}

func decodeFinding(data string) (*sextant.Finding, error) {
	var s storedFinding
	if err := json.Unmarshal([]byte(data), &s); err != nil || s.Finding == nil {
		return nil, fmt.Errorf("decode stored finding: %v", err)
	}
	s.Finding.Severity = s.Severity
	for i := range s.Finding.Severities {
		if i < len(s.Severities) {
			s.Finding.Severities[i].Severity = s.Severities[i]
		}
	}
	return s.Finding, nil
}

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
		scan.ID = newID("scan_")
	}
	at := micros(scan.ScannedAt)
	key := scan.Artifact.Key()
	src := scan.Source.Scanner
	record, err := json.Marshal(struct {
		Artifact sextant.Artifact `json:"artifact"`
		Source   sextant.Source   `json:"source"`
	}{scan.Artifact, scan.Source})
	if err != nil {
		return sextant.ScanResult{}, fmt.Errorf("record scan: %v", err)
	}

	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return sextant.ScanResult{}, fmt.Errorf("record scan: %w", err)
	}
	defer tx.Rollback()
	res, err := recordScan(ctx, tx, scan, fs, at, micros(now), key, src, string(record))
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
	r, err := tx.ExecContext(ctx, `INSERT INTO scans (id, artifact, source, complete, scanned_at, recorded_at, findings, record)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		scan.ID, key, src, scan.Complete, at, now, len(fs), record)
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

	insert, err := tx.PrepareContext(ctx, `INSERT INTO findings
		(id, artifact, kind, vulnerability, status, score, priority, score_detail, data, first_seen, last_seen)
		VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?8, ?9, ?9)`)
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
		data, err := encodeFinding(f)
		if err != nil {
			return res, fmt.Errorf("record scan: encode finding %s: %v", f.ID, err)
		}
		score, hasScore := scan.Scores[f.ID]
		if !hasScore {
			score.Priority = sextant.P3
		}
		detail, err := json.Marshal(score)
		if err != nil {
			return res, fmt.Errorf("record scan: encode score of %s: %v", f.ID, err)
		}
		if known[f.ID] {
			if _, err := update.ExecContext(ctx, f.ID, at, data, hasScore, score.Value, int(score.Priority), string(detail)); err != nil {
				return res, fmt.Errorf("record scan: update finding %s: %w", f.ID, err)
			}
		} else {
			vuln := sextant.CanonicalVulnerabilityID(f.VulnerabilityID, f.Aliases)
			if _, err := insert.ExecContext(ctx, f.ID, key, string(f.Kind), vuln, score.Value, int(score.Priority), string(detail), data, at); err != nil {
				return res, fmt.Errorf("record scan: insert finding %s: %w", f.ID, err)
			}
			reason := fmt.Sprintf("first reported by %s in scan %s", src, scan.ID)
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
		reason := fmt.Sprintf("absent from complete scan %s by %s, and from the latest complete scans of every other source", scan.ID, src)
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
	reason := fmt.Sprintf("reported again by %s in scan %s", src, scan.ID)
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

const findingColumns = `id, status, score, score_detail, data, first_seen, last_seen`

func scanFinding(row interface{ Scan(...any) error }) (sextant.FindingRecord, float64, error) {
	var (
		rec          sextant.FindingRecord
		id, status   string
		score        float64
		detail, data string
		first, last  int64
	)
	if err := row.Scan(&id, &status, &score, &detail, &data, &first, &last); err != nil {
		return rec, 0, err
	}
	f, err := decodeFinding(data)
	if err != nil {
		return rec, 0, fmt.Errorf("finding %s: %v", id, err)
	}
	if err := json.Unmarshal([]byte(detail), &rec.Score); err != nil {
		return rec, 0, fmt.Errorf("finding %s: decode score: %v", id, err)
	}
	f.ID = id
	rec.Finding = f
	rec.Status = sextant.Status(status)
	rec.FirstSeen = fromMicros(first)
	rec.LastSeen = fromMicros(last)
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
	limit, err := sextant.PageLimit(filter.Limit)
	if err != nil {
		return page, err
	}
	var (
		where []string
		args  []any
	)
	if filter.Status != "" {
		if !filter.Status.Valid() {
			return page, sextant.Errorf(sextant.EINVALID, "unknown finding status %q", filter.Status)
		}
		where, args = append(where, "status = ?"), append(args, string(filter.Status))
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
	if filter.Cursor != "" {
		c, err := sextant.ParseFindingCursor(filter.Cursor)
		if err != nil {
			return page, err
		}
		where, args = append(where, "(score < ? OR (score = ? AND id > ?))"), append(args, c.Score, c.Score, c.ID)
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
		ids    []string
		scores []float64
	)
	for rows.Next() {
		rec, score, err := scanFinding(rows)
		if err != nil {
			return page, fmt.Errorf("list findings: %w", err)
		}
		page.Items = append(page.Items, rec)
		ids, scores = append(ids, rec.Finding.ID), append(scores, score)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list findings: %w", err)
	}
	rows.Close()
	if len(page.Items) > limit {
		page.Items, ids = page.Items[:limit], ids[:limit]
		page.Next = sextant.FindingCursor{Score: scores[limit-1], ID: ids[limit-1]}.String()
	}
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
	if !status.Valid() {
		return sextant.Errorf(sextant.EINVALID, "unknown finding status %q", status)
	}
	if strings.TrimSpace(reason) == "" {
		return sextant.Errorf(sextant.EINVALID, "a status change needs a reason")
	}
	if strings.TrimSpace(actor) == "" {
		return sextant.Errorf(sextant.EINVALID, "a status change needs an actor")
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
