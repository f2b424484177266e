package sextant

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Store keeps findings across scans: one row per fingerprint, one
// attribution per source that reported it, a lifecycle status and the
// history of that status. Nothing is ever deleted. internal/sqlite and
// internal/postgres implement it; internal/storetest is the conformance
// suite both pass.
//
// Times are kept in UTC to the microsecond. Errors are *Error: EINVALID for
// bad arguments, ENOTFOUND for an unknown finding, ECONFLICT for a scan ID
// recorded before, EUNAVAILABLE when the database cannot be reached.
type Store interface {
	// RecordScan records one scan of one artifact by one source, with the
	// findings it reported, in one transaction:
	//   - each finding is inserted, or updated if its fingerprint is known
	//     (its data is replaced when this scan is not older than the last
	//     sighting); its attribution for scan.Source.Scanner is created or
	//     its first/last seen and scan ID are updated;
	//   - when scan.Complete, every attribution of this source to a finding
	//     of this artifact last seen before scan.ScannedAt is closed; a
	//     finding whose attributions are all closed goes from open to
	//     resolved. Partial scans close nothing;
	//   - a resolved finding seen again, by any scan newer than the one that
	//     closed its attribution, reopens.
	// Only open and resolved are changed by scans: suppressed, accepted_risk
	// and false_positive are people's decisions and stay until a person
	// changes them (their attributions still open and close).
	//
	// Every finding must belong to scan.Artifact (same Artifact.Key); a
	// finding without an ID gets its Fingerprint. Findings repeated within
	// one scan are recorded once, the last one winning.
	RecordScan(ctx context.Context, scan ScanRecord, findings []*Finding) (ScanResult, error)
	// Finding returns one finding with its attributions and status history,
	// or an ENOTFOUND error.
	Finding(ctx context.Context, id string) (FindingRecord, error)
	// Findings returns one page of the findings that match the filter,
	// highest score first (ties by ID), with their attributions but without
	// their history.
	Findings(ctx context.Context, filter FindingFilter) (Page[FindingRecord], error)
	// UpdateScores replaces the stored scores of findings by ID (after new
	// threat intelligence or new context) and returns the IDs whose value or
	// priority changed, sorted. IDs the store does not know are ignored.
	UpdateScores(ctx context.Context, scores map[string]Score) ([]string, error)
	// SetStatus changes the status of a finding and records who did it and
	// why. reason and actor are required. Setting the status a finding
	// already has changes nothing and records nothing.
	SetStatus(ctx context.Context, id string, status Status, reason, actor string) error
}

// Status is where a finding stands in its lifecycle. The values follow
// OpenVEX: resolved is "fixed", false_positive is "not_affected".
type Status string

// Finding statuses.
const (
	// StatusOpen: reported and not dealt with.
	StatusOpen Status = "open"
	// StatusResolved: no longer reported by any source that reported it,
	// after complete scans.
	StatusResolved Status = "resolved"
	// StatusSuppressed: hidden by a person, for now.
	StatusSuppressed Status = "suppressed"
	// StatusAcceptedRisk: real, and accepted by a person.
	StatusAcceptedRisk Status = "accepted_risk"
	// StatusFalsePositive: a person says the artifact is not affected.
	StatusFalsePositive Status = "false_positive"
)

// Valid reports whether s is one of the five statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusOpen, StatusResolved, StatusSuppressed, StatusAcceptedRisk, StatusFalsePositive:
		return true
	}
	return false
}

// SystemActor is the actor of status changes that sextant makes itself
// (first sighting, resolution, reopening).
const SystemActor = "sextant"

// ScanRecord describes one scan of one artifact by one source.
type ScanRecord struct {
	// ID identifies the scan (an ingest ID, say); empty lets the store
	// choose one. Recording an ID twice is an ECONFLICT error, so that a
	// retried intake is recorded once.
	ID string `json:"id"`
	// Artifact is the scanned artifact; its Key ties findings to it.
	Artifact Artifact `json:"artifact"`
	// Source is the tool that scanned; Source.Scanner names the
	// attribution and is required.
	Source Source `json:"source"`
	// ScannedAt is when the scan ran; zero means now. Scans are ordered by
	// it, not by when they are recorded.
	ScannedAt time.Time `json:"scanned_at"`
	// Complete is true when the scan covered the whole artifact
	// (ReportInfo.Complete). Only complete scans resolve findings.
	Complete bool `json:"complete"`
	// Owner is the team that owns the artifact (from its context), kept
	// with its findings for filtering; empty when unknown. Each scan
	// replaces it.
	Owner string `json:"owner,omitempty"`
	// Scores are the findings' scores by finding ID, as computed at intake.
	// A finding without one keeps its stored score (zero when new).
	Scores map[string]Score `json:"scores,omitempty"`
}

// ScanResult says what recording a scan changed.
type ScanResult struct {
	// ScanID is the scan's ID, chosen by the store if the record had none.
	ScanID string `json:"scan_id"`
	// Findings is how many distinct findings the scan reported; New is how
	// many of them the store had never seen.
	Findings int `json:"findings"`
	New      int `json:"new"`
	// Resolved and Reopened are the IDs of the findings this scan resolved
	// and reopened, sorted.
	Resolved []string `json:"resolved,omitempty"`
	Reopened []string `json:"reopened,omitempty"`
}

// Attribution is one source's sighting of a finding.
type Attribution struct {
	// Source is the scanner's name (Source.Scanner).
	Source    string    `json:"source"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// ScanID is the scan that saw the finding last.
	ScanID string `json:"scan_id"`
	// ClosedBy is the newer complete scan of this source that no longer
	// contained the finding; empty while the attribution is live.
	ClosedBy string    `json:"closed_by,omitempty"`
	ClosedAt time.Time `json:"closed_at,omitzero"`
}

// StatusChange is one entry of a finding's status history.
type StatusChange struct {
	// From is empty for the first entry, made when the finding is first
	// seen.
	From   Status    `json:"from,omitempty"`
	To     Status    `json:"to"`
	Reason string    `json:"reason"`
	Actor  string    `json:"actor"`
	At     time.Time `json:"at"`
	// ScanID is the scan that caused an automatic change.
	ScanID string `json:"scan_id,omitempty"`
}

// FindingRecord is a finding as the store keeps it: the data of its latest
// sighting, its score, status and sightings.
type FindingRecord struct {
	Finding   *Finding  `json:"finding"`
	Score     Score     `json:"score"`
	Status    Status    `json:"status"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Owner is the Owner of the artifact's latest scan.
	Owner string `json:"owner,omitempty"`
	// Attributions are sorted by source.
	Attributions []Attribution `json:"attributions"`
	// History is oldest first; Store.Findings leaves it nil.
	History []StatusChange `json:"history,omitempty"`
}

// FindingFilter selects findings. Zero fields match everything.
type FindingFilter struct {
	Status Status
	// Priority matches findings of this priority; nil matches all.
	Priority *Priority
	// Owner matches the Owner of the artifact's latest scan.
	Owner string
	// Artifact is an Artifact.Key.
	Artifact string
	// Source matches findings with an attribution (live or closed) from
	// this scanner.
	Source string
	// Vulnerability matches the canonical vulnerability or check ID (see
	// CanonicalVulnerabilityID), case-insensitively.
	Vulnerability string
	// Limit is the page size: 0 means DefaultPageSize, and it is capped at
	// MaxPageSize.
	Limit int
	// Cursor is Page.Next of the previous page; empty for the first.
	Cursor string
}

// Page sizes of Store listings.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// PageLimit returns the page size to use for a requested limit, or an
// EINVALID error for a negative one.
func PageLimit(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, Errorf(EINVALID, "page limit %d is negative", limit)
	case limit == 0:
		return DefaultPageSize, nil
	case limit > MaxPageSize:
		return MaxPageSize, nil
	}
	return limit, nil
}

// Page is one page of a listing.
type Page[T any] struct {
	Items []T `json:"items"`
	// Next is the cursor of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

// FindingCursor is the position after which a page of findings sorted by
// score (descending) then ID (ascending) continues.
type FindingCursor struct {
	Score float64
	ID    string
}

// String encodes the cursor as an opaque URL-safe token.
func (c FindingCursor) String() string {
	s := strconv.FormatFloat(c.Score, 'g', -1, 64) + "|" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// ParseFindingCursor decodes a token made by FindingCursor.String, or
// returns an EINVALID error.
func ParseFindingCursor(token string) (FindingCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return FindingCursor{}, Errorf(EINVALID, "invalid page cursor %q", token)
	}
	score, id, ok := strings.Cut(string(b), "|")
	if !ok || id == "" {
		return FindingCursor{}, Errorf(EINVALID, "invalid page cursor %q", token)
	}
	v, err := strconv.ParseFloat(score, 64)
	if err != nil {
		return FindingCursor{}, Errorf(EINVALID, "invalid page cursor %q", token)
	}
	return FindingCursor{Score: v, ID: id}, nil
}

// CheckScan checks a scan and its findings as Store.RecordScan requires:
// a source scanner, an artifact key, and every finding of that artifact. It
// returns the distinct findings by ID, the last of a repeated ID winning, in
// order of first appearance; findings without an ID are copied and given
// their Fingerprint, so the caller's findings are never modified. Errors
// are EINVALID.
func CheckScan(scan ScanRecord, findings []*Finding) ([]*Finding, error) {
	if scan.Source.Scanner == "" {
		return nil, Errorf(EINVALID, "scan %q has no source scanner", scan.ID)
	}
	key := scan.Artifact.Key()
	if key == "" {
		return nil, Errorf(EINVALID, "scan %q has no artifact", scan.ID)
	}
	out := make([]*Finding, 0, len(findings))
	at := make(map[string]int, len(findings))
	for i, f := range findings {
		if f == nil {
			return nil, Errorf(EINVALID, "scan %q: finding %d is nil", scan.ID, i)
		}
		if k := f.Artifact.Key(); k != key {
			return nil, Errorf(EINVALID, "scan %q of %q: finding %d (%s) belongs to artifact %q", scan.ID, key, i, f.VulnerabilityID, k)
		}
		if f.ID == "" {
			c := *f
			c.ID = Fingerprint(&c)
			f = &c
		}
		if j, ok := at[f.ID]; ok {
			out[j] = f
			continue
		}
		at[f.ID] = len(out)
		out = append(out, f)
	}
	return out, nil
}

// CheckFindingFilter checks a filter as Store.Findings requires and returns
// the page size to use (see PageLimit) and the position the page continues
// after, nil for the first page. Errors are EINVALID.
func CheckFindingFilter(filter FindingFilter) (limit int, after *FindingCursor, err error) {
	limit, err = PageLimit(filter.Limit)
	if err != nil {
		return 0, nil, err
	}
	if filter.Status != "" && !filter.Status.Valid() {
		return 0, nil, Errorf(EINVALID, "unknown finding status %q", filter.Status)
	}
	if err := checkPriority(filter.Priority); err != nil {
		return 0, nil, err
	}
	if filter.Cursor != "" {
		c, err := ParseFindingCursor(filter.Cursor)
		if err != nil {
			return 0, nil, err
		}
		after = &c
	}
	return limit, after, nil
}

// checkPriority returns an EINVALID error for a priority filter outside
// P0..P3, nil for none.
func checkPriority(p *Priority) error {
	if p != nil && (*p < P0 || *p > P3) {
		return Errorf(EINVALID, "unknown priority %d: want P0, P1, P2 or P3", int(*p))
	}
	return nil
}

// NewFindingPage makes a page of at most limit records from the records a
// store read in page order, asking for limit+1 so as to know whether more
// follow, and their stored scores. When there are more, Next continues after
// the last record kept.
func NewFindingPage(items []FindingRecord, scores []float64, limit int) Page[FindingRecord] {
	page := Page[FindingRecord]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.Next = FindingCursor{Score: scores[limit-1], ID: items[limit-1].Finding.ID}.String()
	}
	return page
}

// CheckStatusChange checks the arguments of Store.SetStatus: a valid status,
// and a reason and an actor that are not blank. Errors are EINVALID.
func CheckStatusChange(status Status, reason, actor string) error {
	if !status.Valid() {
		return Errorf(EINVALID, "unknown finding status %q", status)
	}
	if strings.TrimSpace(reason) == "" {
		return Errorf(EINVALID, "a status change needs a reason")
	}
	if strings.TrimSpace(actor) == "" {
		return Errorf(EINVALID, "a status change needs an actor")
	}
	return nil
}
