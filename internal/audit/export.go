package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/sextant-dev/sextant"
)

// exportLine is one line of ExportJSONL: the format a SIEM ingests.
// Time is in sextant.AuditTimeLayout and Details in canonical form, so an
// external verifier can rebuild sextant.AuditEntry.Canonical from a line.
type exportLine struct {
	Seq      int64           `json:"seq"`
	Time     string          `json:"time"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	Subject  string          `json:"subject"`
	Details  json.RawMessage `json:"details"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
}

// ExportJSONL writes every entry of r to w, one JSON object per line, in Seq
// order, streaming:
//
//	{"seq":1,"time":"2025-08-25T09:30:00.000000000Z","actor":"alice","action":"finding.status","subject":"f-1","details":{"to":"resolved"},"prev_hash":"000…","hash":"3f2a…"}
//
// details is null when an entry has none. The hashes are exported as stored
// and not checked: run Verify for that. An entry whose details are not valid
// JSON stops the export with an EINVALID error naming it, after the entries
// before it were written.
func ExportJSONL(ctx context.Context, r Reader, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for e, err := range r.Entries(ctx) {
		if err != nil {
			return fmt.Errorf("export audit log: %w", err)
		}
		line := exportLine{
			Seq:      e.Seq,
			Time:     e.Time.UTC().Format(sextant.AuditTimeLayout),
			Actor:    e.Actor,
			Action:   e.Action,
			Subject:  e.Subject,
			Details:  json.RawMessage("null"),
			PrevHash: e.PrevHash,
			Hash:     e.Hash,
		}
		if len(e.Details) > 0 {
			d, err := sextant.CanonicalJSON(e.Details)
			if err != nil {
				bw.Flush()
				return sextant.Errorf(sextant.EINVALID, "export audit log: entry %d: details: %s", e.Seq, sextant.ErrorMessage(err))
			}
			line.Details = d
		}
		if err := enc.Encode(line); err != nil {
			return fmt.Errorf("export audit log: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export audit log: %w", err)
	}
	return nil
}
