package runtime

import (
	"context"
	"io"
	"time"

	"github.com/sextant-dev/sextant/internal/k8s"
	"github.com/sextant-dev/sextant/internal/source/falco"
)

// ReportSchema names the JSON output of an investigation.
const ReportSchema = "sextant.investigate/v1"

// Options configure an investigation.
type Options struct {
	// Window is the longest quiet gap within an incident (DefaultWindow
	// if 0).
	Window time.Duration
	// Context is the Kubernetes workload context, nil without manifests.
	Context *k8s.Context
	// Vulns are the images' vulnerabilities, nil without reports.
	Vulns *VulnIndex
	// Baseline is the learned behaviour, nil without one.
	Baseline *Baseline
	// Narrator writes the narratives; nil means the offline templates
	// with default redaction.
	Narrator *Narrator
}

// Report is the result of an investigation. Its JSON form is the
// sextant.investigate/v1 output (docs/runtime.md).
type Report struct {
	Schema string `json:"schema"`
	// Window is the grouping window ("10m0s").
	Window string       `json:"window"`
	Inputs []falco.Info `json:"inputs"`
	// Baseline says which baseline was used and what was learned, when
	// the caller fills it in.
	Baseline  *BaselineUse `json:"baseline,omitempty"`
	Summary   Summary      `json:"summary"`
	Incidents []*Incident  `json:"incidents"`
}

// BaselineUse says which baseline an investigation used.
type BaselineUse struct {
	File    string `json:"file"`
	Entries int    `json:"entries"`
	// Learned is set with --learn: what was added.
	Learned *LearnResult `json:"learned,omitempty"`
}

// Summary counts what an investigation saw and decided.
type Summary struct {
	Events    int            `json:"events"`
	Skipped   int            `json:"skipped"`
	Incidents int            `json:"incidents"`
	ByVerdict map[string]int `json:"by_verdict"`
}

// Investigation collects events from inputs and investigates them.
type Investigation struct {
	opts   Options
	events []*event
	inputs []falco.Info
}

// New returns an investigation with the given options.
func New(opts Options) *Investigation {
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	return &Investigation{opts: opts}
}

// Read parses the Falco events in r (see falco.Parse) and keeps them.
// name names the input.
func (iv *Investigation) Read(r io.Reader, name string) (falco.Info, error) {
	info, err := falco.Parse(r, name, func(e falco.Event) error {
		iv.events = append(iv.events, newEvent(e, name))
		return nil
	})
	iv.inputs = append(iv.inputs, info)
	return info, err
}

// Add keeps one event read elsewhere; input names where it came from.
func (iv *Investigation) Add(e falco.Event, input string) {
	iv.events = append(iv.events, newEvent(e, input))
}

// Finish groups the events into incidents, enriches, classifies and
// drafts each, writes their narratives and ranks them: malicious first,
// then by severity. It fails only when the narrator is misconfigured or
// ctx ends.
func (iv *Investigation) Finish(ctx context.Context) (*Report, error) {
	rep := &Report{Schema: ReportSchema, Window: iv.opts.Window.String(), Inputs: iv.inputs,
		Summary: Summary{Events: len(iv.events), ByVerdict: map[string]int{}}, Incidents: []*Incident{}}
	if rep.Inputs == nil {
		rep.Inputs = []falco.Info{}
	}
	for _, in := range iv.inputs {
		rep.Summary.Skipped += in.Skipped
	}
	narrator := iv.opts.Narrator
	if narrator == nil {
		narrator = &Narrator{}
	}
	incs := group(iv.events, iv.opts.Window)
	for _, inc := range incs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		enrich(inc, iv.opts.Context, iv.opts.Vulns)
		classify(inc, iv.opts.Baseline)
		inc.Drafts = drafts(inc)
		n, err := narrator.Narrate(ctx, inc)
		if err != nil {
			return nil, err
		}
		inc.Narrative = &n
		rep.Summary.ByVerdict[string(inc.Verdict)]++
	}
	rank(incs)
	rep.Incidents = append(rep.Incidents, incs...)
	rep.Summary.Incidents = len(incs)
	return rep, nil
}
