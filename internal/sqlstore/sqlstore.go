// Package sqlstore holds what sextant's two SQL stores, internal/sqlite and
// internal/postgres, do alike without SQL: the JSON kept in a finding's data
// and score_detail columns, in a scan's record and in an action's data, the
// wording of automatic status changes and requeued ingests, row IDs, ingest
// payload compression, and the list of embedded migrations. Whatever depends
// on the SQL dialect stays in the stores.
package sqlstore

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
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

// EncodeFinding returns the JSON kept in a findings.data column.
func EncodeFinding(f *sextant.Finding) (string, error) {
	s := storedFinding{Finding: f, Severity: f.Severity}
	for _, sv := range f.Severities {
		s.Severities = append(s.Severities, sv.Severity)
	}
	b, err := json.Marshal(s)
	return string(b), err
}

// DecodeFinding reads a finding from the JSON made by EncodeFinding.
func DecodeFinding(data []byte) (*sextant.Finding, error) {
	var s storedFinding
	if err := json.Unmarshal(data, &s); err != nil || s.Finding == nil {
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

// Record makes a finding record from the id, status, score_detail and data
// columns of a findings row. The caller sets its times and attributions.
func Record(id, status string, detail, data []byte) (sextant.FindingRecord, error) {
	var rec sextant.FindingRecord
	f, err := DecodeFinding(data)
	if err != nil {
		return rec, fmt.Errorf("finding %s: %v", id, err)
	}
	if err := json.Unmarshal(detail, &rec.Score); err != nil {
		return rec, fmt.Errorf("finding %s: decode score: %v", id, err)
	}
	f.ID = id
	rec.Finding = f
	rec.Status = sextant.Status(status)
	return rec, nil
}

// Row is what a store writes for one finding of a scan.
type Row struct {
	// Data is the findings.data column (EncodeFinding).
	Data string
	// Score is the finding's score in scan.Scores, or a zero score of
	// priority P3 when the scan has none; Scored says which.
	Score  sextant.Score
	Scored bool
	// Detail is the score_detail column: Score as JSON.
	Detail string
}

// NewRow encodes one finding of a scan for writing.
func NewRow(scan sextant.ScanRecord, f *sextant.Finding) (Row, error) {
	data, err := EncodeFinding(f)
	if err != nil {
		return Row{}, fmt.Errorf("record scan: encode finding %s: %v", f.ID, err)
	}
	score, scored := scan.Scores[f.ID]
	if !scored {
		score.Priority = sextant.P3
	}
	detail, err := json.Marshal(score)
	if err != nil {
		return Row{}, fmt.Errorf("record scan: encode score of %s: %v", f.ID, err)
	}
	return Row{Data: data, Score: score, Scored: scored, Detail: string(detail)}, nil
}

// ScanJSON returns the JSON kept in a scans.record column: the scan's
// artifact and source.
func ScanJSON(scan sextant.ScanRecord) (string, error) {
	b, err := json.Marshal(struct {
		Artifact sextant.Artifact `json:"artifact"`
		Source   sextant.Source   `json:"source"`
	}{scan.Artifact, scan.Source})
	if err != nil {
		return "", fmt.Errorf("record scan: %v", err)
	}
	return string(b), nil
}

// ReasonFirstSeen is the reason recorded when a scan reports a finding for
// the first time.
func ReasonFirstSeen(source, scanID string) string {
	return fmt.Sprintf("first reported by %s in scan %s", source, scanID)
}

// ReasonResolved is the reason recorded when a complete scan resolves
// findings.
func ReasonResolved(source, scanID string) string {
	return fmt.Sprintf("absent from complete scan %s by %s, and from the latest complete scans of every other source", scanID, source)
}

// ReasonReopened is the reason recorded when a scan reports resolved
// findings again.
func ReasonReopened(source, scanID string) string {
	return fmt.Sprintf("reported again by %s in scan %s", source, scanID)
}

// NewID returns prefix followed by 24 random hex digits.
func NewID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Migration is one schema migration.
type Migration struct {
	// Version is the file name without directory and ".sql".
	Version string
	Body    string
}

// Migrations returns the migrations/*.sql files of fsys in file name order.
func Migrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Migration, 0, len(names))
	for _, name := range names {
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{
			Version: strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql"),
			Body:    string(body),
		})
	}
	return out, nil
}
