package render

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/triage"
)

// appendFinding appends f as one compact JSON object, exactly the members
// and omissions that marshalling triage.FindingView with its struct tags
// gives (TestAppendFindingMatchesMarshal holds the two together). It exists
// because reflection-based marshalling of millions of findings cost more
// than parsing them.
func appendFinding(b []byte, f *triage.FindingView) []byte {
	b = append(b, '{')
	b = member(b, "id", f.ID, false)
	b = member(b, "kind", string(f.Kind), true)
	b = member(b, "vulnerability", f.Vulnerability, true)
	if len(f.Aliases) > 0 {
		b = append(b, `,"aliases":[`...)
		for i, a := range f.Aliases {
			if i > 0 {
				b = append(b, ',')
			}
			b = quote(b, a)
		}
		b = append(b, ']')
	}
	b = optional(b, "title", f.Title)
	b = member(b, "severity", f.Severity, true)
	b = optional(b, "package", f.Package)
	b = optional(b, "ecosystem", f.Ecosystem)
	b = optional(b, "installed_version", f.InstalledVersion)
	b = optional(b, "fixed_version", f.FixedVersion)
	b = optional(b, "location", f.Location)
	b = member(b, "artifact", f.Artifact, true)
	b = append(b, `,"score":`...)
	b = appendNumber(b, f.Score)
	b = append(b, `,"priority":"`...)
	b = append(b, f.Priority.String()...)
	b = append(b, `","factors":[`...)
	for i := range f.Factors {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFactor(b, &f.Factors[i])
	}
	b = append(b, ']')
	b = optional(b, "action_id", f.ActionID)
	b = append(b, `,"sources":[`...)
	for i := range f.Sources {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSource(b, &f.Sources[i])
	}
	return append(b, "]}"...)
}

func appendFactor(b []byte, f *sextant.Factor) []byte {
	b = append(b, '{')
	b = member(b, "name", f.Name, false)
	b = append(b, `,"value":`...)
	switch v := f.Value.(type) {
	case nil:
		b = append(b, "null"...)
	case bool:
		b = strconv.AppendBool(b, v)
	case string:
		b = quote(b, v)
	case float64:
		b = appendNumber(b, v)
	case int:
		b = strconv.AppendInt(b, int64(v), 10)
	default:
		// Types the risk model does not use today: the general path.
		if raw, err := json.Marshal(v, json.Deterministic(true)); err == nil {
			b = append(b, raw...)
		} else {
			b = append(b, "null"...)
		}
	}
	b = append(b, `,"weight":`...)
	b = appendNumber(b, f.Weight)
	b = append(b, `,"contribution":`...)
	b = appendNumber(b, f.Contribution)
	b = optional(b, "evidence", f.Evidence)
	return append(b, '}')
}

func appendSource(b []byte, s *sextant.Source) []byte {
	b = append(b, '{')
	b = member(b, "scanner", s.Scanner, false)
	b = optional(b, "version", s.Version)
	if !s.ScanTime.IsZero() {
		b = append(b, `,"scan_time":"`...)
		b = s.ScanTime.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = optional(b, "format", s.Format)
	b = optional(b, "file", s.File)
	return append(b, '}')
}

func member(b []byte, name, value string, comma bool) []byte {
	if comma {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, `":`...)
	return quote(b, value)
}

func optional(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	return member(b, name, value, true)
}

// quote appends s as a JSON string. Text from reports that is not valid
// UTF-8 has the bad bytes replaced, rather than failing the whole output.
func quote(b []byte, s string) []byte {
	out, err := jsontext.AppendQuote(b, s)
	if err != nil {
		out, _ = jsontext.AppendQuote(b, strings.ToValidUTF8(s, "\uFFFD"))
	}
	return out
}

// appendNumber formats a float the way JSON encoders do (ECMAScript
// number-to-string: plain notation between 1e-6 and 1e21).
func appendNumber(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(b, v, 'e', -1, 64)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}
