package render

import (
	"io"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/triage"
)

// JSON writes the sextant.triage/v1 document (see docs/output.md). Findings
// are streamed one at a time, so the output may be far larger than memory.
func JSON(w io.Writer, res *triage.Result, o Options) error {
	enc := jsontext.NewEncoder(w, jsontext.WithIndent("  "), jsontext.WithIndentPrefix(""))
	opts := json.JoinOptions(json.Deterministic(true), json.FormatNilSliceAsNull(false))
	put := func(name string, v any) error {
		if err := enc.WriteToken(jsontext.String(name)); err != nil {
			return err
		}
		return json.MarshalEncode(enc, v, opts)
	}
	if err := enc.WriteToken(jsontext.BeginObject); err != nil {
		return err
	}
	if err := put("schema", Schema); err != nil {
		return err
	}
	if o.Version != "" {
		if err := put("sextant_version", o.Version); err != nil {
			return err
		}
	}
	if err := put("summary", res.Summary); err != nil {
		return err
	}
	reports := res.Reports()
	if reports == nil {
		reports = []sextant.ReportInfo{}
	}
	if err := put("reports", reports); err != nil {
		return err
	}
	warnings := res.Warnings()
	if warnings == nil {
		warnings = []triage.Warning{}
	}
	if err := put("warnings", warnings); err != nil {
		return err
	}
	// Actions are streamed too: each is explained (its factors built) as
	// it is written.
	if err := enc.WriteToken(jsontext.String("actions")); err != nil {
		return err
	}
	if err := enc.WriteToken(jsontext.BeginArray); err != nil {
		return err
	}
	for _, i := range actions(res, o) {
		if err := json.MarshalEncode(enc, res.Explain(i), opts); err != nil {
			return err
		}
	}
	if err := enc.WriteToken(jsontext.EndArray); err != nil {
		return err
	}
	if len(o.Diffs) > 0 {
		if err := put("diffs", o.Diffs); err != nil {
			return err
		}
	}
	if err := enc.WriteToken(jsontext.String("findings")); err != nil {
		return err
	}
	if err := enc.WriteToken(jsontext.BeginArray); err != nil {
		return err
	}
	err := res.EachFinding(false, func(f *triage.FindingView) error {
		if f.Priority > o.MinPriority {
			return nil
		}
		return json.MarshalEncode(enc, f, opts)
	})
	if err != nil {
		return err
	}
	if err := enc.WriteToken(jsontext.EndArray); err != nil {
		return err
	}
	return enc.WriteToken(jsontext.EndObject)
}
