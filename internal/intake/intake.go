package intake

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/triage"
)

// Options configure how a payload is read and scored.
type Options struct {
	// Triage supplies the parsers, the KEV and EPSS lookups, the weights
	// and the artifact context, as for `sextant triage`. Parsers nil means
	// Parsers().
	Triage triage.Options
	// MaxFindings bounds the findings of one payload; 0 means no bound.
	MaxFindings int
	// CountOnly parses and counts without grouping or scoring: the check
	// that a payload is readable before it is acknowledged. Scans is then
	// empty.
	CountOnly bool
}

// Scan is one scan of one artifact by one scanner found in a payload,
// ready for Store.RecordScan.
type Scan struct {
	Record   sextant.ScanRecord
	Findings []*sextant.Finding
}

// Report is what one payload held.
type Report struct {
	Format string
	Info   sextant.ReportInfo
	// Scans are ordered by artifact key, then scanner.
	Scans []Scan
	// Findings is how many findings the payload held, repeats included.
	Findings int
}

// Read reads one payload (gzip-compressed or not, any format triage.Sniff
// detects), groups its findings into one scan per artifact and scanner, and
// scores each finding. name names the payload in errors. scanID prefixes the
// scans' IDs (scanID/1-…, scanID/2-… in Scans order, then a digest of what
// the scan holds), so that reading the same payload twice gives the same IDs
// and the store records it once, while a payload read again after a parser
// fix or new intel gives new IDs where its scans changed. Bad
// input is an EINVALID error that says where the payload went wrong.
func Read(name string, r io.Reader, scanID string, opts Options) (Report, error) {
	// Small payloads (webhook events) get small buffers: the sniff window
	// is a megabyte, which most payloads never fill.
	size := 1 << 20
	if l, ok := r.(interface{ Len() int }); ok && l.Len()+512 < size {
		size = l.Len() + 512
	}
	br := bufio.NewReaderSize(r, min(size, 64<<10))
	dr, err := triage.Decompress(br)
	if err != nil {
		return Report{}, fmt.Errorf("%s: %w", name, err)
	}
	if dr != io.Reader(br) {
		size = 1 << 20 // compressed: the plain size is unknown
	}
	sr := bufio.NewReaderSize(dr, size)
	format, err := triage.Sniff(sr)
	if err != nil {
		return Report{}, fmt.Errorf("%s: %w", name, err)
	}
	parsers := opts.Triage.Parsers
	if parsers == nil {
		parsers = Parsers()
	}
	parse, ok := parsers[format]
	if !ok {
		return Report{}, sextant.Errorf(sextant.EINVALID, "%s: %s reports carry no findings sextant can record", name, format)
	}
	type group struct {
		art      sextant.Artifact
		src      sextant.Source
		findings []*sextant.Finding
	}
	groups := map[[2]string]*group{}
	rep := Report{Format: format}
	info, err := parse(sr, name, func(f *sextant.Finding) error {
		rep.Findings++
		if opts.MaxFindings > 0 && rep.Findings > opts.MaxFindings {
			return sextant.Errorf(sextant.EINVALID, "%s: more than %d findings in one payload", name, opts.MaxFindings)
		}
		if opts.CountOnly {
			if f.Artifact.Key() == "" {
				return sextant.Errorf(sextant.EINVALID, "%s: findings name no artifact", name)
			}
			return nil
		}
		k := [2]string{f.Artifact.Key(), f.Source.Scanner}
		g := groups[k]
		if g == nil {
			g = &group{art: f.Artifact, src: f.Source}
			groups[k] = g
		}
		g.findings = append(g.findings, f)
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("%s: %w", name, err)
	}
	rep.Info = info
	if opts.CountOnly {
		return rep, nil
	}
	// Artifacts the report names but found nothing in are scans too: a
	// clean complete rescan resolves what was found before.
	for _, a := range info.Artifacts {
		k := [2]string{a.Key(), info.Source.Scanner}
		if k[0] == "" || k[1] == "" || groups[k] != nil {
			continue
		}
		groups[k] = &group{art: a, src: info.Source}
	}
	keys := make([][2]string, 0, len(groups))
	for k := range groups {
		if k[0] == "" {
			return Report{}, sextant.Errorf(sextant.EINVALID, "%s: findings name no artifact", name)
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return cmp.Compare(a[1], b[1])
	})
	weights := opts.Triage.Weights
	if weights.Thresholds == (risk.Thresholds{}) {
		weights = risk.DefaultWeights()
	}
	for i, k := range keys {
		g := groups[k]
		var ctx *sextant.ArtifactContext
		if opts.Triage.Context != nil {
			ctx = opts.Triage.Context(g.art)
		}
		scores := make(map[string]sextant.Score, len(g.findings))
		for _, f := range g.findings {
			if f.ID == "" {
				f.ID = sextant.Fingerprint(f)
			}
			scores[f.ID] = risk.Brief(triage.FindingInput(f, ctx, &opts.Triage), weights)
		}
		scannedAt := g.src.ScanTime
		if scannedAt.IsZero() {
			scannedAt = info.Source.ScanTime
		}
		src := g.src
		src.File = ""
		rep.Scans = append(rep.Scans, Scan{
			Record: sextant.ScanRecord{
				ID:        fmt.Sprintf("%s/%d-%s", scanID, i+1, scanDigest(k, info.Complete, scores)),
				Artifact:  g.art,
				Source:    src,
				ScannedAt: scannedAt.UTC().Truncate(time.Microsecond),
				Complete:  info.Complete,
				Scores:    scores,
			},
			Findings: g.findings,
		})
	}
	return rep, nil
}

// scanDigest is a short digest of what a scan records: its artifact and
// scanner, completeness, and every finding with its score.
func scanDigest(k [2]string, complete bool, scores map[string]sextant.Score) string {
	ids := make([]string, 0, len(scores))
	for id := range scores {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%t\x00", k[0], k[1], complete)
	for _, id := range ids {
		fmt.Fprintf(h, "%s=%g/%d\x00", id, scores[id].Value, scores[id].Priority)
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}
