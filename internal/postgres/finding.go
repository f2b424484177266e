package postgres

import (
	"context"
	"encoding/json"
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

// RecordScan implements sextant.Store.
func (db *DB) RecordScan(ctx context.Context, scan sextant.ScanRecord, findings []*sextant.Finding) (sextant.ScanResult, error) {
	fs, err := sextant.CheckScan(scan, findings)
	if err != nil {
		return sextant.ScanResult{}, err
	}
	now := ts(db.Now())
	if scan.ScannedAt.IsZero() {
		scan.ScannedAt = now
	}
	scan.ScannedAt = ts(scan.ScannedAt)
	if scan.ID == "" {
		scan.ID = sqlstore.NewID("scan_")
	}
	record, err := sqlstore.ScanJSON(scan)
	if err != nil {
		return sextant.ScanResult{}, err
	}
	var res sextant.ScanResult
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		res, err = recordScan(ctx, tx, scan, fs, now, record)
		return err
	})
	if err != nil {
		return sextant.ScanResult{}, err
	}
	return res, nil
}

func recordScan(ctx context.Context, tx pgx.Tx, scan sextant.ScanRecord, fs []*sextant.Finding,
	now time.Time, record string) (sextant.ScanResult, error) {
	key, src, at := scan.Artifact.Key(), scan.Source.Scanner, scan.ScannedAt
	res := sextant.ScanResult{ScanID: scan.ID, Findings: len(fs)}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "sextant.artifact:"+key); err != nil {
		return res, fmt.Errorf("record scan: lock artifact: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO scans (id, artifact, source, complete, scanned_at, recorded_at, findings, record, owner)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
		scan.ID, key, src, scan.Complete, at, now, len(fs), record, scan.Owner)
	if err != nil {
		return res, fmt.Errorf("record scan: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return res, sextant.Errorf(sextant.ECONFLICT, "scan %q is already recorded", scan.ID)
	}

	rows, _ := tx.Query(ctx, `SELECT id FROM findings WHERE artifact = $1`, key)
	knownIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return res, fmt.Errorf("record scan: %w", err)
	}
	known := make(map[string]bool, len(knownIDs))
	for _, id := range knownIDs {
		known[id] = true
	}

	// The artifact's findings carry the owner of its latest scan, which a
	// late older scan does not replace; this scan's row is already in.
	var owner string
	if err := tx.QueryRow(ctx, `SELECT owner FROM scans WHERE artifact = $1
		ORDER BY scanned_at DESC, recorded_at DESC, id DESC LIMIT 1`, key).Scan(&owner); err != nil {
		return res, fmt.Errorf("record scan: owner: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE findings SET owner = $1 WHERE artifact = $2 AND owner <> $1`, owner, key); err != nil {
		return res, fmt.Errorf("record scan: owner: %w", err)
	}

	const (
		insertFinding = `INSERT INTO findings
			(id, artifact, kind, vulnerability, status, score, priority, score_detail, data, first_seen, last_seen, owner)
			VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $9, $10)`
		updateFinding = `UPDATE findings SET
			data = CASE WHEN $2 >= last_seen THEN $3::jsonb ELSE data END,
			score = CASE WHEN $4 THEN $5 ELSE score END,
			priority = CASE WHEN $4 THEN $6 ELSE priority END,
			score_detail = CASE WHEN $4 THEN $7::jsonb ELSE score_detail END,
			first_seen = LEAST(first_seen, $2),
			last_seen = GREATEST(last_seen, $2)
			WHERE id = $1`
		attribute = `INSERT INTO attributions AS a (finding_id, source, first_seen, last_seen, scan_id)
			VALUES ($1, $2, $3, $3, $4)
			ON CONFLICT (finding_id, source) DO UPDATE SET
			first_seen = LEAST(a.first_seen, excluded.first_seen),
			last_seen = GREATEST(a.last_seen, excluded.last_seen),
			scan_id = CASE WHEN excluded.last_seen >= a.last_seen THEN excluded.scan_id ELSE a.scan_id END,
			closed_by = CASE WHEN a.closed_at IS NOT NULL AND excluded.last_seen > a.closed_at THEN NULL ELSE a.closed_by END,
			closed_at = CASE WHEN a.closed_at IS NOT NULL AND excluded.last_seen > a.closed_at THEN NULL ELSE a.closed_at END`
		history = `INSERT INTO status_changes
			(finding_id, from_status, to_status, reason, actor, scan_id, changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	)
	var batch pgx.Batch
	for _, f := range fs {
		row, err := sqlstore.NewRow(scan, f)
		if err != nil {
			return res, err
		}
		if known[f.ID] {
			batch.Queue(updateFinding, f.ID, at, row.Data, row.Scored, row.Score.Value, int(row.Score.Priority), row.Detail)
		} else {
			vuln := sextant.CanonicalVulnerabilityID(f.VulnerabilityID, f.Aliases)
			batch.Queue(insertFinding, f.ID, key, string(f.Kind), vuln, row.Score.Value, int(row.Score.Priority), row.Detail, row.Data, at, owner)
			batch.Queue(history, f.ID, "", string(sextant.StatusOpen), sqlstore.ReasonFirstSeen(src, scan.ID), sextant.SystemActor, scan.ID, now)
			known[f.ID] = true
			res.New++
		}
		batch.Queue(attribute, f.ID, src, at, scan.ID)
	}
	if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
		return res, fmt.Errorf("record scan: upsert findings: %w", err)
	}

	if scan.Complete {
		if _, err := tx.Exec(ctx, `UPDATE attributions SET closed_by = $1, closed_at = $2
			WHERE source = $3 AND closed_at IS NULL AND last_seen < $2
			AND finding_id IN (SELECT id FROM findings WHERE artifact = $4)`, scan.ID, at, src, key); err != nil {
			return res, fmt.Errorf("record scan: close attributions: %w", err)
		}
		res.Resolved, err = updateIDs(ctx, tx, `UPDATE findings SET status = 'resolved'
			WHERE artifact = $1 AND status = 'open' AND NOT EXISTS
			(SELECT 1 FROM attributions a WHERE a.finding_id = findings.id AND a.closed_at IS NULL)
			RETURNING id`, key)
		if err != nil {
			return res, fmt.Errorf("record scan: resolve: %w", err)
		}
		reason := sqlstore.ReasonResolved(src, scan.ID)
		if err := addHistory(ctx, tx, res.Resolved, sextant.StatusOpen, sextant.StatusResolved, reason, scan.ID, now); err != nil {
			return res, err
		}
	}
	res.Reopened, err = updateIDs(ctx, tx, `UPDATE findings SET status = 'open'
		WHERE status = 'resolved' AND id IN
		(SELECT finding_id FROM attributions WHERE scan_id = $1 AND closed_at IS NULL)
		RETURNING id`, scan.ID)
	if err != nil {
		return res, fmt.Errorf("record scan: reopen: %w", err)
	}
	reason := sqlstore.ReasonReopened(src, scan.ID)
	if err := addHistory(ctx, tx, res.Reopened, sextant.StatusResolved, sextant.StatusOpen, reason, scan.ID, now); err != nil {
		return res, err
	}
	return res, nil
}

// addHistory records the same automatic status change of several findings.
func addHistory(ctx context.Context, tx pgx.Tx, ids []string, from, to sextant.Status, reason, scanID string, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO status_changes (finding_id, from_status, to_status, reason, actor, scan_id, changed_at)
		SELECT id, $2, $3, $4, $5, $6, $7 FROM unnest($1::text[]) AS id`,
		ids, string(from), string(to), reason, sextant.SystemActor, scanID, at)
	if err != nil {
		return fmt.Errorf("record scan: status history: %w", err)
	}
	return nil
}

// updateIDs runs an UPDATE … RETURNING id and returns the IDs, sorted, or
// nil for none.
func updateIDs(ctx context.Context, tx pgx.Tx, query string, args ...any) ([]string, error) {
	rows, _ := tx.Query(ctx, query, args...)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(ids)
	return ids, nil
}

const findingColumns = `id, status, score, score_detail, data, first_seen, last_seen, owner`

func scanFinding(row pgx.Row) (sextant.FindingRecord, float64, error) {
	var (
		id, status, owner string
		score             float64
		detail, data      []byte
		first, last       time.Time
	)
	if err := row.Scan(&id, &status, &score, &detail, &data, &first, &last, &owner); err != nil {
		return sextant.FindingRecord{}, 0, err
	}
	rec, err := sqlstore.Record(id, status, detail, data)
	if err != nil {
		return rec, 0, err
	}
	rec.FirstSeen, rec.LastSeen, rec.Owner = first.UTC(), last.UTC(), owner
	return rec, score, nil
}

// Finding implements sextant.Store.
func (db *DB) Finding(ctx context.Context, id string) (sextant.FindingRecord, error) {
	// One read-only transaction, so that the finding, its attributions and
	// its history are one snapshot.
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return sextant.FindingRecord{}, fmt.Errorf("read finding: %w", err)
	}
	defer tx.Rollback(ctx)
	rec, _, err := scanFinding(tx.QueryRow(ctx, `SELECT `+findingColumns+` FROM findings WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	rows, _ := tx.Query(ctx, `SELECT from_status, to_status, reason, actor, coalesce(scan_id, ''), changed_at
		FROM status_changes WHERE finding_id = $1 ORDER BY id`, id)
	rec.History, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (sextant.StatusChange, error) {
		var (
			c        sextant.StatusChange
			from, to string
		)
		err := row.Scan(&from, &to, &c.Reason, &c.Actor, &c.ScanID, &c.At)
		c.From, c.To, c.At = sextant.Status(from), sextant.Status(to), c.At.UTC()
		return c, err
	})
	if err != nil {
		return rec, fmt.Errorf("read finding history: %w", err)
	}
	return rec, nil
}

// attributions returns the attributions of the findings ids, by finding ID,
// each sorted by source.
func attributions(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, ids []string) (map[string][]sextant.Attribution, error) {
	out := make(map[string][]sextant.Attribution, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, _ := q.Query(ctx, `SELECT finding_id, source, first_seen, last_seen, scan_id, coalesce(closed_by, ''), closed_at
		FROM attributions WHERE finding_id = ANY($1) ORDER BY finding_id, source`, ids)
	var (
		a        sextant.Attribution
		id       string
		closedAt *time.Time
	)
	_, err := pgx.ForEachRow(rows, []any{&id, &a.Source, &a.FirstSeen, &a.LastSeen, &a.ScanID, &a.ClosedBy, &closedAt}, func() error {
		a.FirstSeen, a.LastSeen, a.ClosedAt = a.FirstSeen.UTC(), a.LastSeen.UTC(), time.Time{}
		if closedAt != nil {
			a.ClosedAt = closedAt.UTC()
		}
		out[id] = append(out[id], a)
		return nil
	})
	if err != nil {
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
	if filter.Owner != "" {
		where = append(where, "owner = "+arg(filter.Owner))
	}
	if filter.Artifact != "" {
		where = append(where, "artifact = "+arg(filter.Artifact))
	}
	if filter.Vulnerability != "" {
		where = append(where, "vulnerability = "+arg(sextant.CanonicalVulnerabilityID(filter.Vulnerability, nil)))
	}
	if filter.Source != "" {
		where = append(where, "EXISTS (SELECT 1 FROM attributions a WHERE a.finding_id = findings.id AND a.source = "+arg(filter.Source)+")")
	}
	if after != nil {
		s, id := arg(after.Score), arg(after.ID)
		where = append(where, "(score < "+s+" OR (score = "+s+" AND id > "+id+"))")
	}
	q := `SELECT ` + findingColumns + ` FROM findings`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY score DESC, id LIMIT ` + arg(limit+1)

	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return page, fmt.Errorf("list findings: %w", err)
	}
	defer tx.Rollback(ctx)
	rows, _ := tx.Query(ctx, q, args...)
	var (
		items  []sextant.FindingRecord
		ids    []string
		scores []float64
	)
	for rows.Next() {
		rec, score, err := scanFinding(rows)
		if err != nil {
			rows.Close()
			return page, fmt.Errorf("list findings: %w", err)
		}
		items = append(items, rec)
		ids, scores = append(ids, rec.Finding.ID), append(scores, score)
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list findings: %w", err)
	}
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
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var from string
		err := tx.QueryRow(ctx, `SELECT status FROM findings WHERE id = $1 FOR UPDATE`, id).Scan(&from)
		if errors.Is(err, pgx.ErrNoRows) {
			return sextant.Errorf(sextant.ENOTFOUND, "finding %q not found", id)
		}
		if err != nil {
			return fmt.Errorf("set status: %w", err)
		}
		if sextant.Status(from) == status {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE findings SET status = $1 WHERE id = $2`, string(status), id); err != nil {
			return fmt.Errorf("set status: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO status_changes
			(finding_id, from_status, to_status, reason, actor, scan_id, changed_at) VALUES ($1, $2, $3, $4, $5, NULL, $6)`,
			id, from, string(status), reason, actor, ts(db.Now())); err != nil {
			return fmt.Errorf("set status: %w", err)
		}
		return nil
	})
}

// UpdateScores implements sextant.Store.
func (db *DB) UpdateScores(ctx context.Context, scores map[string]sextant.Score) ([]string, error) {
	if len(scores) == 0 {
		return nil, nil
	}
	var changed []string
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		changed = changed[:0]
		batch := &pgx.Batch{}
		ids := make([]string, 0, len(scores))
		for id, sc := range scores {
			detail, err := json.Marshal(sc)
			if err != nil {
				return err
			}
			ids = append(ids, id)
			batch.Queue(`UPDATE findings SET score = $2, priority = $3, score_detail = $4
				WHERE id = $1 AND (score != $2 OR priority != $3)`, id, sc.Value, int(sc.Priority), string(detail))
		}
		br := tx.SendBatch(ctx, batch)
		for _, id := range ids {
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return fmt.Errorf("update score of %s: %w", id, err)
			}
			if tag.RowsAffected() > 0 {
				changed = append(changed, id)
			}
		}
		return br.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("update scores: %w", err)
	}
	slices.Sort(changed)
	return changed, nil
}
