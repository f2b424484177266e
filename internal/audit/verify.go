package audit

import (
	"context"
	"fmt"
	"strings"

	"github.com/sextant-dev/sextant"
)

// ProblemKind says what Verify found wrong with an entry.
type ProblemKind string

// The kinds of problem Verify reports. Each names the most likely cause;
// the message says which other causes fit the evidence.
const (
	// Edited: the entry's hash does not match its content.
	Edited ProblemKind = "edited"
	// Missing: the entry's Seq is not one more than the previous entry's,
	// so the entries between were deleted (or moved further down).
	Missing ProblemKind = "missing"
	// OutOfOrder: the entry's Seq is not greater than the previous one's:
	// a duplicated or moved entry.
	OutOfOrder ProblemKind = "out_of_order"
	// BrokenLink: the entry's PrevHash is not the previous entry's Hash: the
	// entries were reordered, or one was deleted and the later ones
	// renumbered, or the previous entry was rewritten with a new hash.
	BrokenLink ProblemKind = "broken_link"
	// AnchorMismatch: the entry at an anchored Seq has a different hash
	// from the one recorded, so the chain was rewritten up to there.
	AnchorMismatch ProblemKind = "anchor_mismatch"
	// Truncated: the log ends before an anchored Seq: its tail was removed.
	Truncated ProblemKind = "truncated"
	// TimeBackwards: the entry's Time is before the previous entry's. It
	// is a warning, not a break: clocks of several replicas can disagree.
	TimeBackwards ProblemKind = "time_backwards"
)

// Problem is one thing Verify found wrong, at the entry with Seq.
type Problem struct {
	// Seq is the Seq of the entry the problem was found at, as stored.
	Seq int64 `json:"seq"`
	// Kind classifies the problem.
	Kind ProblemKind `json:"kind"`
	// Message says what is wrong, for people.
	Message string `json:"message"`
}

// String returns the problem in the form "entry 5: edited: …".
func (p Problem) String() string {
	return fmt.Sprintf("entry %d: %s: %s", p.Seq, p.Kind, p.Message)
}

// Anchor is a (Seq, Hash) pair recorded outside the store, usually the head
// printed by an earlier `sextant audit verify`. See the package comment.
type Anchor struct {
	// Seq is the anchored entry's Seq.
	Seq int64 `json:"seq"`
	// Hash is the anchored entry's Hash.
	Hash string `json:"hash"`
}

// maxWarnings bounds VerifyResult.Warnings; WarningCount keeps counting.
const maxWarnings = 100

// VerifyResult is what Verify found.
type VerifyResult struct {
	// Checked is the number of entries read, up to and including the first
	// bad one.
	Checked int64 `json:"checked"`
	// Head is the Seq and Hash of the last entry of an intact log — the
	// value to record outside the store and pass back as an Anchor later.
	// For an empty log it is {0, AuditGenesisHash}. It is zero when Problem
	// is set.
	Head Anchor `json:"head"`
	// Problem is the first break in the chain, or nil when the log is intact.
	Problem *Problem `json:"problem,omitempty"`
	// Warnings are the first 100 non-fatal findings (TimeBackwards), in
	// log order.
	Warnings []Problem `json:"warnings,omitempty"`
	// WarningCount is the number of warnings, including those not kept.
	WarningCount int `json:"warning_count"`
}

// OK reports whether the log is intact: no Problem was found.
func (r VerifyResult) OK() bool { return r.Problem == nil }

// Verify walks the log in r from its first entry and checks, for each entry:
// that its Seq is one more than the previous one's (1 for the first), that
// its Hash is what ComputeHash gives for its content, that its PrevHash is
// the previous entry's Hash (AuditGenesisHash for the first), and that its
// Time does not go backwards (a warning only). It stops at the first break
// and reports it in VerifyResult.Problem; anchors, if given, are checked
// too. See the package comment for what a chain cannot show on its own.
//
// A broken log is a result, not an error: the error is for failures to read
// (the store's error, wrapped) and invalid anchors (EINVALID).
func Verify(ctx context.Context, r Reader, anchors ...Anchor) (VerifyResult, error) {
	want := make(map[int64]string, len(anchors))
	for _, a := range anchors {
		if a.Seq < 1 || !isHash(a.Hash) {
			return VerifyResult{}, sextant.Errorf(sextant.EINVALID, "verify audit log: invalid anchor %d:%q: want a Seq ≥ 1 and a 64-digit lowercase hex hash", a.Seq, a.Hash)
		}
		if h, ok := want[a.Seq]; ok && h != a.Hash {
			return VerifyResult{}, sextant.Errorf(sextant.EINVALID, "verify audit log: two different anchors for entry %d", a.Seq)
		}
		want[a.Seq] = a.Hash
	}

	var (
		res  VerifyResult
		prev = sextant.AuditEntry{Hash: sextant.AuditGenesisHash}
	)
	for e, err := range r.Entries(ctx) {
		if err != nil {
			return VerifyResult{}, fmt.Errorf("verify audit log: %w", err)
		}
		res.Checked++
		if p := check(&prev, &e); p != nil {
			res.Problem = p
			return res, nil
		}
		if h, ok := want[e.Seq]; ok {
			if h != e.Hash {
				res.Problem = &Problem{Seq: e.Seq, Kind: AnchorMismatch, Message: fmt.Sprintf(
					"hash %s, but %s was recorded for this entry: the log was rewritten up to here and its hashes recomputed", short(e.Hash), short(h))}
				return res, nil
			}
			delete(want, e.Seq)
		}
		if res.Checked > 1 && e.Time.Before(prev.Time) {
			res.WarningCount++
			if len(res.Warnings) < maxWarnings {
				res.Warnings = append(res.Warnings, Problem{Seq: e.Seq, Kind: TimeBackwards, Message: fmt.Sprintf(
					"time %s is before entry %d's %s", e.Time.UTC().Format(sextant.AuditTimeLayout), prev.Seq, prev.Time.UTC().Format(sextant.AuditTimeLayout))})
			}
		}
		prev = e
	}
	if len(want) > 0 {
		// Anchors left over lie beyond the head of an otherwise intact log.
		var first int64
		for s := range want {
			if first == 0 || s < first {
				first = s
			}
		}
		res.Problem = &Problem{Seq: first, Kind: Truncated, Message: fmt.Sprintf(
			"entry %d was anchored but the log ends at entry %d: its tail was removed", first, prev.Seq)}
		return res, nil
	}
	res.Head = Anchor{Seq: prev.Seq, Hash: prev.Hash}
	return res, nil
}

// check compares e with the entry before it (prev has Seq 0 and the genesis
// hash before the first entry) and returns the first problem, if any.
func check(prev, e *sextant.AuditEntry) *Problem {
	wantSeq := prev.Seq + 1
	switch {
	case e.Seq > wantSeq && prev.Seq == 0:
		return &Problem{Seq: e.Seq, Kind: Missing, Message: fmt.Sprintf(
			"the log starts at entry %d: %s deleted", e.Seq, seqRange(1, e.Seq-1))}
	case e.Seq > wantSeq:
		return &Problem{Seq: e.Seq, Kind: Missing, Message: fmt.Sprintf(
			"entry %d follows entry %d: %s deleted or moved", e.Seq, prev.Seq, seqRange(wantSeq, e.Seq-1))}
	case e.Seq < wantSeq && prev.Seq == 0:
		return &Problem{Seq: e.Seq, Kind: OutOfOrder, Message: fmt.Sprintf(
			"the log starts at entry %d: the first entry must be 1", e.Seq)}
	case e.Seq < wantSeq:
		return &Problem{Seq: e.Seq, Kind: OutOfOrder, Message: fmt.Sprintf(
			"entry %d follows entry %d: entries were duplicated or reordered", e.Seq, prev.Seq)}
	}
	if got := e.ComputeHash(); got != e.Hash {
		msg := fmt.Sprintf("content hashes to %s but the stored hash is %s: the entry was changed after it was written", short(got), short(e.Hash))
		if got == "" {
			msg = "its details are not valid JSON: the entry was changed after it was written"
		}
		return &Problem{Seq: e.Seq, Kind: Edited, Message: msg}
	}
	if e.PrevHash != prev.Hash {
		what := fmt.Sprintf("entry %d's hash %s", prev.Seq, short(prev.Hash))
		if prev.Seq == 0 {
			what = "the genesis hash"
		}
		return &Problem{Seq: e.Seq, Kind: BrokenLink, Message: fmt.Sprintf(
			"prev_hash %s is not %s: entries were reordered, deleted and renumbered, or the entry before was rewritten", short(e.PrevHash), what)}
	}
	return nil
}

func seqRange(from, to int64) string {
	if from == to {
		return fmt.Sprintf("entry %d was", from)
	}
	return fmt.Sprintf("entries %d to %d were", from, to)
}

// short abbreviates a hash for messages; 16 hex digits still identify it.
func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	if h == "" {
		return `""`
	}
	return h
}

func isHash(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}
