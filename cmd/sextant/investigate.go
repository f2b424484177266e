package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/intake"
	"github.com/sextant-dev/sextant/internal/llm"
	"github.com/sextant-dev/sextant/internal/runtime"
	"github.com/sextant-dev/sextant/internal/triage"
)

type investigateFlags struct {
	output   string
	k8sPaths []string
	cluster  clusterFlags
	reports  []string
	window   time.Duration
	baseline string
	learn    bool
	failOn   string
	quiet    bool
}

func (m *Main) investigateCommand() *cobra.Command {
	var f investigateFlags
	cmd := &cobra.Command{
		Use:   "investigate [flags] EVENTS|DIR|- ...",
		Short: "Group Falco alerts into incidents, classify them and draft containment",
		Long: `investigate reads Falco alerts (JSON lines as Falco writes them with
json_output, Falco's stdout with its own log lines mixed in, JSON arrays, and
Falcosidekick-forwarded events) and groups them into incidents: the events of
one container in one pod (or one container on one host) with no gap longer
than --window.

Each incident is enriched with its Kubernetes workload (--k8s manifests:
owner, exposure, privilege, NetworkPolicies) and its image's vulnerabilities
(--reports, any report 'sextant triage' reads), then classified by documented
rules: known-benign when all its behaviour is in the learned baseline
(--baseline FILE, updated with --learn), otherwise malicious, suspicious or
benign, with a confidence and the signals behind it. Malicious and
suspicious incidents get containment and forensic drafts: a quarantine
NetworkPolicy, kubectl label and cordon commands, evidence capture. They are
text: sextant never runs them, and each needs a person's approval.

Every incident gets a narrative, written offline by templates: no network.
Text from the events (command lines, file paths) is data, never instructions.
See docs/runtime.md.

Exit codes: 0 ok; 1 usage or input error; 3 the --fail-on gate tripped.`,
		Example: `  sextant investigate falco-events.json --k8s ./manifests/
  kubectl logs -n falco ds/falco | sextant investigate -
  sextant investigate --baseline baseline.json --learn quiet-week.jsonl
  sextant investigate --reports scans/ -o markdown events.jsonl
  sextant investigate --fail-on malicious events.jsonl`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.runInvestigate(cmd, args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table, json or markdown")
	fl.StringSliceVar(&f.k8sPaths, "k8s", nil, "Kubernetes manifests (files or directories): the workload, owner, exposure and privilege of each incident's pod")
	fl.StringVar(&f.cluster.kubeconfig, "kubeconfig", "", "take workload context from a live cluster (read-only)")
	fl.StringVar(&f.cluster.context, "kube-context", "", "kubeconfig context for --kubeconfig (default: the current one)")
	fl.StringSliceVar(&f.reports, "reports", nil, "scanner reports (files or directories) with the images' vulnerabilities")
	fl.DurationVar(&f.window, "window", runtime.DefaultWindow, "longest quiet gap within one incident")
	fl.StringVar(&f.baseline, "baseline", "", "baseline file of learned benign behaviour per image")
	fl.BoolVar(&f.learn, "learn", false, "add the behaviour of the incidents that are not malicious to --baseline (created if missing)")
	fl.StringVar(&f.failOn, "fail-on", "", "exit with code 3 if any incident has this verdict or a worse one: malicious or suspicious")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print nothing but errors; the exit code tells the result")
	return cmd
}

// verdictGate says that --fail-on tripped: n incidents have the verdict or
// a worse one. It unwraps to gateError, which gives the exit code.
type verdictGate struct {
	n int
	v runtime.Verdict
}

// Error says how many incidents tripped the gate.
func (g *verdictGate) Error() string {
	return fmt.Sprintf("%d incident(s) %s or worse", g.n, g.v)
}

// Unwrap gives the gateError that sets the exit code.
func (g *verdictGate) Unwrap() error { return &gateError{n: g.n} }

func (m *Main) runInvestigate(cmd *cobra.Command, args []string, f investigateFlags) error {
	if len(args) == 0 {
		return sextant.Errorf(sextant.EINVALID, "no events given: name files, directories or - for standard input (see 'sextant investigate --help')")
	}
	switch f.output {
	case "table", "json", "markdown", "md":
	default:
		return sextant.Errorf(sextant.EINVALID, "unknown output format %q: want table, json or markdown", f.output)
	}
	var failOn runtime.Verdict
	if f.failOn != "" {
		v, ok := runtime.ParseVerdict(f.failOn)
		if !ok || (v != runtime.Malicious && v != runtime.Suspicious) {
			return sextant.Errorf(sextant.EINVALID, "--fail-on %q: want malicious or suspicious", f.failOn)
		}
		failOn = v
	}
	if f.window <= 0 {
		return sextant.Errorf(sextant.EINVALID, "--window must be positive")
	}
	if f.learn && f.baseline == "" {
		return sextant.Errorf(sextant.EINVALID, "--learn needs --baseline FILE to learn into")
	}
	stderr := cmd.ErrOrStderr()
	warnf := func(format string, a ...any) {
		if !f.quiet {
			fmt.Fprintf(stderr, "sextant: warning: "+format+"\n", a...)
		}
	}
	inputs, err := expandEventInputs(args)
	if err != nil {
		return err
	}

	opts := runtime.Options{Window: f.window}
	if len(f.k8sPaths) > 0 || f.cluster.live() {
		inv, err := f.cluster.inventory(cmd.Context(), f.k8sPaths)
		if err != nil {
			return err
		}
		for _, w := range inv.Warnings {
			warnf("kubernetes: %s", w)
		}
		if opts.Context, err = f.cluster.clusterContext(inv); err != nil {
			return err
		}
	}
	if len(f.reports) > 0 {
		if opts.Vulns, err = m.imageVulns(cmd, f.reports, warnf); err != nil {
			return err
		}
	}
	var base *runtime.Baseline
	if f.baseline != "" {
		base, err = runtime.LoadBaseline(f.baseline)
		switch {
		case sextant.ErrorCode(err) == sextant.ENOTFOUND && f.learn:
			base = runtime.NewBaseline()
		case err != nil:
			return err
		}
		opts.Baseline = base
	}
	narrator, model, err := m.newNarrator()
	if err != nil {
		return err
	}
	opts.Narrator = narrator

	iv := runtime.New(opts)
	var inputErrs int
	for _, in := range inputs {
		if err := cmd.Context().Err(); err != nil {
			return err
		}
		rc, err := in.open(cmd.InOrStdin())
		if err != nil {
			inputErrs++
			fmt.Fprintf(stderr, "sextant: %s\n", errorText(err))
			continue
		}
		info, err := iv.Read(decompressed(rc), in.name)
		rc.Close()
		if err != nil {
			inputErrs++
			fmt.Fprintf(stderr, "sextant: %s\n", errorText(err))
		}
		for _, w := range info.Warnings {
			warnf("%s: %s", in.name, w)
		}
		if info.Events == 0 && err == nil {
			warnf("%s: no Falco events found", in.name)
		}
	}
	rep, err := iv.Finish(cmd.Context())
	if err != nil {
		return err
	}
	if model != nil && !f.quiet {
		fmt.Fprintf(stderr, "sextant: narratives: %s %s: %s\n", narrator.Provider, model.Limits().Model, model.Stats())
	}
	if base != nil {
		rep.Baseline = &runtime.BaselineUse{File: f.baseline, Entries: base.Entries()}
		if f.learn {
			lr := base.Learn(rep.Incidents, time.Now())
			rep.Baseline.Learned = &lr
			if err := base.Save(f.baseline); err != nil {
				return err
			}
			if len(lr.Refused) > 0 {
				warnf("--learn: %d malicious incident(s) not learned: %s", len(lr.Refused), strings.Join(lr.Refused, ", "))
			}
			if !f.quiet {
				fmt.Fprintf(stderr, "sextant: baseline %s: %d tuple(s) added, %d seen again, %d in all\n", f.baseline, lr.Added, lr.Updated, base.Entries())
			}
		}
	}
	if !f.quiet {
		out := cmd.OutOrStdout()
		switch f.output {
		case "table":
			err = runtime.WriteTable(out, rep, m.termWidth(out))
		case "json":
			err = runtime.WriteJSON(out, rep)
		case "markdown", "md":
			err = runtime.WriteMarkdown(out, rep)
		}
		if err != nil {
			return fmt.Errorf("write %s output: %v", f.output, err)
		}
	}
	if failOn != "" {
		n := 0
		for _, inc := range rep.Incidents {
			if inc.Verdict.Rank() >= failOn.Rank() {
				n++
			}
		}
		if n > 0 {
			return &verdictGate{n: n, v: failOn}
		}
	}
	if inputErrs > 0 {
		return sextant.Errorf(sextant.EINVALID, "%d of %d input(s) could not be read; the result above leaves them out", inputErrs, len(inputs))
	}
	return nil
}

// newNarrator returns the narrator: the model, provider, prompts and
// redaction of triage --explain's explainer. Without SEXTANT_LLM that is
// the offline templates, and nothing leaves the machine.
func (m *Main) newNarrator() (*runtime.Narrator, *llm.Limited, error) {
	e, lim, err := m.newExplainer()
	if err != nil {
		return nil, nil, err
	}
	n := &runtime.Narrator{Provider: e.Provider, Prompts: e.Prompts, InternalDomains: e.InternalDomains, RegistryHosts: e.RegistryHosts, MaxTokens: e.MaxTokens}
	if lim != nil {
		n.Model = lim
	}
	return n, lim, nil
}

// imageVulns triages the reports and indexes their actions by image.
func (m *Main) imageVulns(cmd *cobra.Command, paths []string, warnf func(string, ...any)) (*runtime.VulnIndex, error) {
	inputs, err := expandInputs(paths)
	if err != nil {
		return nil, err
	}
	opts := triage.Options{Parsers: intake.Parsers()}
	status, err := m.loadIntel(triageFlags{}, &opts, warnf)
	if err != nil {
		return nil, err
	}
	eng := triage.New(opts)
	for _, in := range inputs {
		rc, err := in.open(cmd.InOrStdin())
		if err != nil {
			return nil, err
		}
		_, err = eng.Read(in.name, rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("--reports: %w", err)
		}
	}
	res := eng.Finish()
	defer res.Close()
	res.Summary.Intel = status
	x := &runtime.VulnIndex{}
	for i, a := range res.Actions {
		art, ok := res.Artifact(a.Artifact)
		if !ok {
			art = sextant.Artifact{Name: a.Artifact}
		}
		ids := res.Vulnerabilities(i)
		va := runtime.VulnAction{ID: a.ID, Priority: a.Priority.String(), Score: a.Score, Title: a.Title,
			Vulnerabilities: ids[:min(5, len(ids))], VulnerabilityCount: len(ids), Findings: res.FindingCount(i)}
		// Whether a vulnerability is known exploited is a factor of the
		// action's score; build it only for the actions shown.
		if i < 200 {
			for _, fc := range res.Explain(i).Factors {
				if fc.Name == "kev" {
					if b, _ := fc.Value.(bool); b {
						va.KnownExploited = ids[:min(3, len(ids))]
					}
				}
			}
		}
		x.Add(art, va)
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	return x, nil
}

// decompressed reads gzip-compressed events as they are.
func decompressed(r io.Reader) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	dr, err := triage.Decompress(br)
	if err != nil {
		return br
	}
	return dr
}

// expandEventInputs turns arguments into event files: files as given,
// directories walked for *.json, *.jsonl, *.ndjson and *.log files (and
// their .gz), "-" for standard input.
func expandEventInputs(args []string) ([]input, error) {
	return expandFiles(args, fileKind{what: "events", plural: "event files (*.json, *.jsonl, *.ndjson, *.log, *.gz)", match: isEventName})
}

func isEventName(name string) bool {
	n := strings.TrimSuffix(strings.ToLower(name), ".gz")
	for _, ext := range []string{".json", ".jsonl", ".ndjson", ".log"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}
