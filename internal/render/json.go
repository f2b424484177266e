package render

import (
	"bufio"
	"errors"
	"io"
	"runtime"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
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
		a := res.Explain(i)
		if x := o.Explanations[a.ID]; x != nil {
			value(explainedAction{Action: a, Explanation: x}, indented2)
		} else {
			value(a, indented2)
		}
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

// explainedAction is an action with its explanation, which follows the
// action's own members.
type explainedAction struct {
	sextant.Action
	Explanation *explain.Explanation `json:"explanation"`
}

// writeFindings writes the findings array's members, highest score first.
// Building a finding's view (its factors) and encoding it cost more than
// writing it, so workers (one per CPU) encode batches while this goroutine
// writes finished ones in order. At most 2×workers batches are in flight,
// which bounds memory whatever the number of findings. Every goroutine has
// exited when it returns.
func writeFindings(w io.Writer, res *triage.Result, o Options) error {
	workers := runtime.GOMAXPROCS(0)
	type job struct {
		batch triage.Batch
		buf   []byte
		done  chan struct{}
	}
	work := make(chan *job)
	inOrder := make(chan *job, 2*workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				var b []byte
				for k := range j.batch.Len() {
					f := res.BatchView(j.batch, k, false)
					if f.Priority > o.MinPriority {
						continue
					}
					b = append(b, ",\n    "...)
					b = appendFinding(b, f)
				}
				j.buf = b
				close(j.done)
			}
		}()
	}
	var produceErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(work)
		defer close(inOrder)
		produceErr = res.EachBatch(func(b triage.Batch) error {
			j := &job{batch: b, done: make(chan struct{})}
			select {
			case inOrder <- j:
			case <-stop:
				return errStopped
			}
			select {
			case work <- j:
			case <-stop:
				return errStopped
			}
			return nil
		})
	}()
	var err error
	first := true
	for j := range inOrder {
		<-j.done
		b := j.buf
		if first && len(b) > 0 {
			b = b[1:] // no comma before the first finding
			first = false
		}
		if len(b) > 0 {
			if _, err = w.Write(b); err != nil {
				break
			}
		}
	}
	close(stop)
	// Drain what the producer queued before it saw stop, so that workers
	// blocked on nothing can finish.
	for range inOrder {
	}
	wg.Wait()
	if err == nil && produceErr != nil && produceErr != errStopped {
		err = produceErr
	}
	return err
}

// errStopped ends the producer when the writer has failed.
var errStopped = errors.New("stopped")
