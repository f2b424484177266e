package render

import (
	"bufio"
	"io"
	"runtime"
	"sync"

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
	if err == nil {
		err = writeFindings(bw, res, o)
	}
	raw("\n  ]\n}\n")
	if err != nil {
		return err
	}
	return bw.Flush()
}

// findingChunk is how many findings a worker encodes at a time.
const findingChunk = 2048

// writeFindings writes the findings array's members, highest score first.
// Building a finding's view (its factors) and encoding it cost more than
// writing it, so workers (one per CPU) encode chunks while this goroutine
// writes finished chunks in order. All workers exit before it returns.
func writeFindings(w io.Writer, res *triage.Result, o Options) error {
	order := res.Order()
	nchunks := (len(order) + findingChunk - 1) / findingChunk
	workers := min(runtime.GOMAXPROCS(0), max(nchunks, 1))
	type chunk struct {
		buf  []byte
		done chan struct{}
	}
	chunks := make([]chunk, nchunks)
	for i := range chunks {
		chunks[i].done = make(chan struct{})
	}
	next := make(chan int)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range next {
				var b []byte
				for _, i := range order[c*findingChunk : min((c+1)*findingChunk, len(order))] {
					f := res.View(i, false)
					if f.Priority > o.MinPriority {
						continue
					}
					b = append(b, ",\n    "...)
					b = appendFinding(b, f)
				}
				chunks[c].buf = b
				close(chunks[c].done)
			}
		}()
	}
	// At most 2×workers chunks are encoded ahead of the writer, which
	// bounds memory whatever the number of findings: the feeder takes a
	// slot per chunk, the writer frees it once the chunk is written.
	ahead := make(chan struct{}, 2*workers)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(next)
		for c := range nchunks {
			select {
			case ahead <- struct{}{}:
			case <-stop:
				return
			}
			select {
			case next <- c:
			case <-stop:
				return
			}
		}
	}()
	var err error
	first := true
	for c := range chunks {
		<-chunks[c].done
		b := chunks[c].buf
		chunks[c].buf = nil
		if first && len(b) > 0 {
			b = b[1:] // no comma before the first finding
			first = false
		}
		if len(b) > 0 {
			_, err = w.Write(b)
		}
		<-ahead
		if err != nil {
			break
		}
	}
	close(stop)
	wg.Wait()
	return err
}
