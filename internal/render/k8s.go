package render

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant/internal/k8s"
)

// k8sShown returns the unsuppressed findings that pass the filters, in
// rank order.
func k8sShown(rep k8s.ScanReport, o Options) []k8s.ScanFinding {
	var out []k8s.ScanFinding
	for _, f := range rep.Findings {
		if f.Suppressed != nil || f.Priority > o.MinPriority {
			continue
		}
		out = append(out, f)
		if o.Top > 0 && len(out) == o.Top {
			break
		}
	}
	return out
}

// K8sTable writes a Kubernetes scan as a terminal table: each violation
// with its priority, score, object and message, and the kubectl command
// that fixes it. Of a scan with deferred fix forms, it derives those of the
// violations shown.
func K8sTable(w io.Writer, rep k8s.ScanReport, o Options) error {
	bw := &errWriter{w: w}
	shown := k8sShown(rep, o)
	k8s.DeriveFixForms(shown)
	if len(shown) == 0 {
		bw.printf("No violations at %s or above.\n", o.MinPriority)
	} else {
		bw.printf("%3s  %-3s  %5s  %-11s  %-40s  %s\n", "#", "PRI", "SCORE", "CHECK", "OBJECT", "PROBLEM")
		for i, f := range shown {
			obj := f.Object.String()
			if f.Container != "" {
				obj += " [" + f.Container + "]"
			}
			msg := f.Message
			if o.Width > 0 {
				msg = truncate(msg, max(20, o.Width-68))
			}
			bw.printf("%3d  %s  %5.1f  %-11s  %-40s  %s\n", i+1, f.Priority, f.Score, f.Check, truncate(obj, 40), msg)
			if f.Fix != nil && f.Fix.Kubectl != "" {
				bw.printf("%s$ %s\n", strings.Repeat(" ", 18), f.Fix.Kubectl)
			}
		}
	}
	s := rep.Summary
	bw.printf("\n%d objects, %d workloads, %d checks → %d violations (P0 %d, P1 %d, P2 %d, P3 %d), %d suppressed by annotation\n",
		s.Objects, s.Workloads, s.Checks, s.Findings, s.ByPriority["P0"], s.ByPriority["P1"], s.ByPriority["P2"], s.ByPriority["P3"], s.Suppressed)
	return bw.err
}

// K8sJSON writes the sextant.k8s/v1 document (docs/output.md), with every
// fix in all its forms (deriving those a scan deferred). The findings of a
// large scan are encoded in parallel (see k8sWriteFindings); the bytes are
// those WriteIndentedJSON writes.
func K8sJSON(w io.Writer, rep k8s.ScanReport) error {
	k8s.DeriveFixForms(rep.Findings)
	if len(rep.Findings) < k8sJSONChunk {
		return WriteIndentedJSON(w, rep)
	}
	// The document without its findings, split where they go.
	head := rep
	head.Findings = []k8s.ScanFinding{}
	var doc bytes.Buffer
	if err := WriteIndentedJSON(&doc, head); err != nil {
		return err
	}
	const slot = "\n  \"findings\": []"
	i := bytes.Index(doc.Bytes(), []byte(slot))
	if i < 0 {
		// Not the layout expected: no shortcut.
		return WriteIndentedJSON(w, rep)
	}
	i += len(slot) - 1 // at the "]"
	if _, err := w.Write(doc.Bytes()[:i]); err != nil {
		return err
	}
	if err := k8sWriteFindings(w, rep.Findings); err != nil {
		return err
	}
	_, err := w.Write(doc.Bytes()[i:])
	return err
}

// k8sJSONChunk is how many findings one encoding job takes.
const k8sJSONChunk = 512

// k8sWriteFindings writes the elements of the findings array, indented as
// in the whole document, with a bounded pool of encoders (one per CPU).
// Chunks are encoded ahead of the writer by at most two per encoder and
// written in order; the pool exits when the chunks run out or the writer
// fails, and k8sWriteFindings returns after it has.
func k8sWriteFindings(w io.Writer, fs []k8s.ScanFinding) error {
	type result struct {
		b   []byte
		buf *bytes.Buffer // b's buffer, to go back to free once written
		err error
	}
	type chunk struct {
		lo, hi int
		out    chan result // buffered: the encoder never waits
	}
	workers := runtime.GOMAXPROCS(0)
	jobs := make(chan chunk)
	pending := make(chan chunk, 2*workers)
	// Chunks in flight (pending, being encoded, being written) reuse these
	// buffers rather than leave tens of megabytes to the collector.
	free := make(chan *bytes.Buffer, 3*workers+1)
	for range cap(free) {
		free <- new(bytes.Buffer)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				// The chunk as an array one level up ("[\n    {…},\n    {…}\n  ]"),
				// so that its elements are indented as at depth 2.
				buf := <-free
				buf.Reset()
				err := json.MarshalWrite(buf, fs[c.lo:c.hi], json.Deterministic(true), jsontext.WithIndent("  "), jsontext.WithIndentPrefix("  "))
				b := buf.Bytes()
				if err == nil && !(bytes.HasPrefix(b, []byte("[\n")) && bytes.HasSuffix(b, []byte("\n  ]"))) {
					err = fmt.Errorf("encode findings: unexpected layout")
				}
				if err == nil {
					// ",\n    {…},\n    {…}": the elements after a comma.
					b[0] = ','
					b = b[:len(b)-len("\n  ]")]
				}
				c.out <- result{b, buf, err}
			}
		}()
	}
	go func() {
		// Feeds the pool in order; stops early when the writer has failed.
		defer close(jobs)
		defer close(pending)
		for lo := 0; lo < len(fs); lo += k8sJSONChunk {
			c := chunk{lo: lo, hi: min(lo+k8sJSONChunk, len(fs)), out: make(chan result, 1)}
			select {
			case pending <- c:
			case <-done:
				return
			}
			select {
			case jobs <- c:
			case <-done:
				return
			}
		}
	}()
	var err error
	first := true
	for c := range pending {
		r := <-c.out
		if r.err != nil {
			err = r.err
			free <- r.buf
			break
		}
		b := r.b
		if first {
			// The first element follows "[" without a comma.
			b = b[1:]
			first = false
		}
		_, err = w.Write(b)
		free <- r.buf
		if err != nil {
			break
		}
	}
	close(done)
	for range pending {
		// Drains the feeder so that it sees done and exits.
	}
	wg.Wait()
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n  ")
	return err
}

// WriteIndentedJSON writes v as indented JSON and a newline.
func WriteIndentedJSON(w io.Writer, v any) error {
	if err := json.MarshalWrite(w, v, json.Deterministic(true), jsontext.WithIndent("  ")); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// K8sMarkdown writes a Kubernetes scan as Markdown for a ticket or a pull
// request: a table of violations, then each with its fix. Of a scan with
// deferred fix forms, it derives those of the violations shown.
func K8sMarkdown(w io.Writer, rep k8s.ScanReport, o Options) error {
	bw := &errWriter{w: w}
	s := rep.Summary
	bw.printf("## sextant k8s scan\n\n%d objects → **%d violations** (P0 %d · P1 %d · P2 %d · P3 %d), %d suppressed.\n\n",
		s.Objects, s.Findings, s.ByPriority["P0"], s.ByPriority["P1"], s.ByPriority["P2"], s.ByPriority["P3"], s.Suppressed)
	shown := k8sShown(rep, o)
	k8s.DeriveFixForms(shown)
	if len(shown) == 0 {
		return bw.err
	}
	bw.printf("| # | Priority | Score | Check | Object | Problem |\n|---:|:---:|---:|---|---|---|\n")
	for i, f := range shown {
		bw.printf("| %d | %s | %.1f | %s | `%s` | %s |\n", i+1, f.Priority, f.Score, f.Check, code(f.Object.String()), cell(f.Message))
	}
	for i, f := range shown {
		if f.Fix == nil {
			continue
		}
		bw.printf("\n### %d. %s on `%s`\n\n%s\n\n", i+1, inline(f.Title), code(f.Object.String()), inline(f.Message))
		if f.Fix.Kubectl != "" {
			bw.printf("```sh\n%s\n```\n\n", fence(f.Fix.Kubectl))
		}
		if f.Fix.Breaks != "" {
			bw.printf("- May break: %s\n", inline(f.Fix.Breaks))
		}
		if f.Fix.Companion != "" {
			bw.printf("- Also changes: %s\n", inline(f.Fix.Companion))
		}
	}
	return bw.err
}

// K8sSARIF writes a Kubernetes scan as SARIF 2.1.0: one rule per check, one
// result per violation, located in its manifest file and line.
func K8sSARIF(w io.Writer, rep k8s.ScanReport, o Options) error {
	var rules []map[string]any
	ruleIndex := map[string]int{}
	results := []map[string]any{}
	for _, f := range k8sShown(rep, o) {
		idx, ok := ruleIndex[f.Check]
		if !ok {
			rules = append(rules, map[string]any{
				"id": f.Check, "name": f.Check,
				"shortDescription": map[string]any{"text": f.Title},
				"properties":       map[string]any{"tags": append([]string{"security", "kubernetes"}, f.Mappings...), "security-severity": fmt.Sprintf("%.1f", f.Score/10)},
			})
			idx = len(rules) - 1
			ruleIndex[f.Check] = idx
		}
		uri := f.Source.File
		if uri == "" {
			uri = f.Object.String()
		}
		line := max(f.Source.Line, 1)
		results = append(results, map[string]any{
			"ruleId": f.Check, "ruleIndex": idx, "level": level(f.Priority),
			"message": map[string]any{"text": fmt.Sprintf("%s %s: %s", f.Priority, f.Object, f.Message)},
			"locations": []any{map[string]any{"physicalLocation": map[string]any{
				"artifactLocation": map[string]any{"uri": sarifURI(uri)},
				"region":           map[string]any{"startLine": line},
			}}},
			"properties": map[string]any{"sextant-score": f.Score, "sextant-priority": f.Priority.String()},
		})
	}
	if rules == nil {
		rules = []map[string]any{}
	}
	log := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool":    map[string]any{"driver": map[string]any{"name": "sextant", "informationUri": "https://github.com/sextant-dev/sextant", "version": versionOr(o.Version), "rules": rules}},
			"results": results,
		}},
	}
	return WriteIndentedJSON(w, log)
}
