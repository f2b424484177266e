package render

import (
	"bufio"
	"io"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/triage"
)

// JSON writes the sextant.triage/v1 document (see docs/output.md). The
// header, summary and actions are indented for reading; each finding is one
// compact line, so that a million findings stay fast to write and easy to
// grep. Actions and findings are streamed one at a time, so the output may
// be far larger than memory.
func JSON(w io.Writer, res *triage.Result, o Options) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	indented := json.JoinOptions(json.Deterministic(true), jsontext.WithIndent("  "), jsontext.WithIndentPrefix("  "))
	compact := json.Deterministic(true)
	var err error
	raw := func(s string) {
		if err == nil {
			_, err = bw.WriteString(s)
		}
	}
	value := func(v any, opts json.Options) {
		if err == nil {
			err = json.MarshalWrite(bw, v, opts)
		}
	}
	member := func(name string, v any) {
		raw("  ")
		value(name, compact)
		raw(": ")
		value(v, indented)
		raw(",\n")
	}
	raw("{\n")
	member("schema", Schema)
	if o.Version != "" {
		member("sextant_version", o.Version)
	}
	member("summary", res.Summary)
	reports := res.Reports()
	if reports == nil {
		reports = []sextant.ReportInfo{}
	}
	member("reports", reports)
	warnings := res.Warnings()
	if warnings == nil {
		warnings = []triage.Warning{}
	}
	member("warnings", warnings)
	if len(o.Diffs) > 0 {
		member("diffs", o.Diffs)
	}

	// Each action is explained (its findings and factors built) as it is
	// written.
	indented2 := json.JoinOptions(json.Deterministic(true), jsontext.WithIndent("  "), jsontext.WithIndentPrefix("    "))
	raw(`  "actions": [`)
	for n, i := range actions(res, o) {
		if n > 0 {
			raw(",")
		}
		raw("\n    ")
		value(res.Explain(i), indented2)
	}
	raw("\n  ],\n")

	raw(`  "findings": [`)
	first := true
	if err == nil {
		err = res.EachFinding(false, func(f *triage.FindingView) error {
			if f.Priority > o.MinPriority {
				return nil
			}
			if !first {
				raw(",")
			}
			first = false
			raw("\n    ")
			value(f, compact)
			return err
		})
	}
	raw("\n  ]\n}\n")
	if err != nil {
		return err
	}
	return bw.Flush()
}
