package intel

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// EPSS is a set of FIRST EPSS scores, one per CVE, as published daily in the
// CSV file "#model_version:…,score_date:…" / "cve,epss,percentile" / rows.
// A nil *EPSS is an empty set: Lookup finds nothing and Len is 0.
//
// The full feed has about 300,000 rows, so scores are kept compact: each row
// is a packed CVE key and two fixed-point values, 16 bytes, in one sorted
// slice searched by bisection (see BENCHMARKS.md).
type EPSS struct {
	// ModelVersion is the model that produced the scores, such as
	// "v2025.03.14"; empty when the file has no #model_version line.
	ModelVersion string
	// ScoreDate is the day the scores are for; zero when unknown.
	ScoreDate time.Time
	// Warnings say what was odd about the file without making it unusable,
	// such as a missing #model_version line.
	Warnings []string

	rows []epssRow
	date string // ScoreDate as YYYY-MM-DD, for Lookup
}

// epssRow is one score. Values are fixed-point in units of 1e-9: unlike
// float32 this gives back exactly the decimal that was published (EPSS uses
// five decimals), at the same four bytes.
type epssRow struct {
	key              uint64
	prob, percentile uint32
}

const (
	epssScale = 1e9
	// epssMaxRows bounds memory on hostile input (a gzip bomb of rows): ten
	// times the size of today's feed.
	epssMaxRows = 5_000_000
	// epssMaxLine bounds one line; real lines are under 40 bytes.
	epssMaxLine = 64 << 10
)

// Len returns the number of CVEs scored.
func (e *EPSS) Len() int {
	if e == nil {
		return 0
	}
	return len(e.rows)
}

// Lookup returns the score of a CVE ID, matched case-insensitively and
// ignoring surrounding space. Date is the file's score date (YYYY-MM-DD), or
// empty when the file does not give one.
func (e *EPSS) Lookup(cve string) (sextant.EPSS, bool) {
	if e == nil {
		return sextant.EPSS{}, false
	}
	key, ok := cveKey(strings.TrimSpace(cve))
	if !ok {
		return sextant.EPSS{}, false
	}
	i, found := slices.BinarySearchFunc(e.rows, key, func(r epssRow, k uint64) int {
		switch {
		case r.key < k:
			return -1
		case r.key > k:
			return 1
		}
		return 0
	})
	if !found {
		return sextant.EPSS{}, false
	}
	r := e.rows[i]
	return sextant.EPSS{
		Probability: float64(r.prob) / epssScale,
		Percentile:  float64(r.percentile) / epssScale,
		Date:        e.date,
	}, true
}

// ReadEPSS decodes a FIRST EPSS scores file, plain or gzip-compressed (told
// apart by the gzip magic bytes). Columns are found by name in the
// "cve,epss,percentile" header, and further columns are ignored. A file
// without the leading "#model_version:…,score_date:…" line is accepted with
// an empty ModelVersion, a zero ScoreDate and a warning. Any malformed row,
// a value outside [0, 1] or a CVE scored twice is an *sextant.Error with
// code EINVALID naming the line; rows are never skipped silently.
func ReadEPSS(r io.Reader) (*EPSS, error) {
	br := bufio.NewReaderSize(r, epssMaxLine)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, epssErrorf(0, "gzip: %v", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, epssMaxLine)
	}

	e := &EPSS{}
	var (
		line           int
		sawMeta        bool
		header         bool
		cveCol, pCol   int
		pctCol, needed int
		sorted         = true
		fields         [][]byte
	)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) == 0 && err == io.EOF {
			break
		}
		line++
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, epssErrorf(line, "line longer than %d bytes", epssMaxLine)
		}
		if err != nil && err != io.EOF {
			return nil, epssReadError(line, err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a BOM from a spreadsheet
		}
		switch {
		case len(bytes.TrimSpace(b)) == 0:
			// Blank lines carry nothing; the file ends with one.
		case !header && b[0] == '#':
			if !sawMeta {
				if err := e.readMeta(string(b[1:])); err != nil {
					return nil, epssErrorf(line, "%v", err)
				}
				sawMeta = true
			}
		case !header:
			fields = splitFields(b, fields)
			cveCol, pCol, pctCol = -1, -1, -1
			for i, f := range fields {
				switch strings.ToLower(string(bytes.TrimSpace(f))) {
				case "cve":
					cveCol = i
				case "epss":
					pCol = i
				case "percentile":
					pctCol = i
				}
			}
			if cveCol < 0 || pCol < 0 || pctCol < 0 {
				return nil, epssErrorf(line, "want a header naming the columns cve,epss,percentile, got %q", truncate(b))
			}
			needed = max(cveCol, pCol, pctCol) + 1
			header = true
		default:
			fields = splitFields(b, fields)
			if len(fields) < needed {
				return nil, epssErrorf(line, "%d fields, want at least %d", len(fields), needed)
			}
			key, ok := cveKey(bytes.TrimSpace(fields[cveCol]))
			if !ok {
				return nil, epssErrorf(line, "%q is not a CVE ID", truncate(fields[cveCol]))
			}
			p, err := parseUnit(fields[pCol])
			if err != nil {
				return nil, epssErrorf(line, "epss: %v", err)
			}
			pct, err := parseUnit(fields[pctCol])
			if err != nil {
				return nil, epssErrorf(line, "percentile: %v", err)
			}
			if n := len(e.rows); n > 0 && key <= e.rows[n-1].key {
				if key == e.rows[n-1].key {
					return nil, epssErrorf(line, "%s scored twice", cveString(key))
				}
				sorted = false
			}
			if len(e.rows) >= epssMaxRows {
				return nil, epssErrorf(line, "more than %d rows", epssMaxRows)
			}
			e.rows = append(e.rows, epssRow{key: key, prob: p, percentile: pct})
		}
		if err == io.EOF {
			break
		}
	}
	if !header {
		return nil, epssErrorf(line, "no cve,epss,percentile header")
	}
	if !sawMeta {
		e.Warnings = append(e.Warnings, "no #model_version line: model version and score date unknown")
	}
	if !sorted {
		// FIRST sorts by CVE text, in which CVE-2021-10000 comes before
		// CVE-2021-9999; bisection needs numeric order.
		slices.SortFunc(e.rows, func(a, b epssRow) int {
			switch {
			case a.key < b.key:
				return -1
			case a.key > b.key:
				return 1
			}
			return 0
		})
		for i := 1; i < len(e.rows); i++ {
			if e.rows[i].key == e.rows[i-1].key {
				return nil, epssErrorf(0, "%s scored twice", cveString(e.rows[i].key))
			}
		}
	}
	// append grows by up to 25% past what is needed; on 300,000 rows that
	// slack would outlive the parse, so give it back.
	if cap(e.rows)-len(e.rows) > len(e.rows)/16 {
		e.rows = slices.Clone(e.rows)
	}
	if !e.ScoreDate.IsZero() {
		e.date = e.ScoreDate.Format(time.DateOnly)
	}
	return e, nil
}

// readMeta parses the "model_version:v2025.03.14,score_date:2025-03-14T00:00:00+0000"
// comment line. Keys it does not know are ignored.
func (e *EPSS) readMeta(s string) error {
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(kv, ":")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "model_version":
			e.ModelVersion = v
		case "score_date":
			t, err := parseScoreDate(v)
			if err != nil {
				return fmt.Errorf("score_date %q is not a date", v)
			}
			e.ScoreDate = t
		}
	}
	if e.ModelVersion == "" {
		e.Warnings = append(e.Warnings, "header line has no model_version")
	}
	return nil
}

// parseScoreDate accepts FIRST's "2025-03-14T00:00:00+0000" and, for
// hand-made files, RFC 3339 or a bare date.
func parseScoreDate(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05-0700", time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q", s)
}

// parseUnit parses a probability or percentile in [0, 1] into fixed point.
func parseUnit(b []byte) (uint32, error) {
	b = bytes.TrimSpace(b)
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", truncate(b))
	}
	if !(v >= 0 && v <= 1) {
		return 0, fmt.Errorf("%q is outside [0, 1]", truncate(b))
	}
	return uint32(math.Round(v * epssScale)), nil
}

// splitFields splits a CSV line on commas into dst, reusing its storage.
// EPSS files never quote fields, so quotes get no special meaning; a quoted
// value fails the CVE or number check with a clear message instead.
func splitFields(b []byte, dst [][]byte) [][]byte {
	dst = dst[:0]
	for {
		i := bytes.IndexByte(b, ',')
		if i < 0 {
			return append(dst, b)
		}
		dst = append(dst, b[:i])
		b = b[i+1:]
	}
}

// truncate keeps error messages short when a line is garbage.
func truncate(b []byte) string {
	const n = 60
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func epssErrorf(line int, format string, args ...any) error {
	if line == 0 {
		return sextant.Errorf(sextant.EINVALID, "read EPSS scores: %s", fmt.Sprintf(format, args...))
	}
	return sextant.Errorf(sextant.EINVALID, "read EPSS scores: line %d: %s", line, fmt.Sprintf(format, args...))
}

// epssReadError reports a failure of the underlying reader; a corrupt gzip
// stream is bad input, anything else is passed on as an I/O failure.
func epssReadError(line int, err error) error {
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
		return epssErrorf(line, "gzip: %v", err)
	}
	var ce flate.CorruptInputError
	if errors.As(err, &ce) {
		return epssErrorf(line, "gzip: %v", err)
	}
	return fmt.Errorf("read EPSS scores: line %d: %w", line, err)
}
