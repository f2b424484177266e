package main

import (
	"cmp"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/fix"
	"github.com/sextant-dev/sextant/internal/intake"
	"github.com/sextant-dev/sextant/internal/llm"
	"github.com/sextant-dev/sextant/internal/render"
	"github.com/sextant-dev/sextant/internal/triage"
)

type triageFlags struct {
	output      string
	top         int
	minPriority string
	failOn      string
	quiet       bool
	kev, epss   string
	intelDir    string
	noIntel     bool
	contextFile string
	configFile  string
	dockerfile  string
	color       string
	progress    string
	k8sPaths    []string
	cluster     clusterFlags
	explain     bool
	explainDB   explainCacheFlags
}

func (m *Main) triageCommand() *cobra.Command {
	var f triageFlags
	cmd := &cobra.Command{
		Use:   "triage [flags] REPORT|DIR|- ...",
		Short: "Rank findings from scanner reports and plan the actions that fix them",
		Long: `triage reads scanner reports, merges duplicate findings across scanners,
scores every finding 0-100 by real risk and groups the findings into actions:
the minimal package upgrade that fixes all of a package's CVEs, a base-image
rebuild when most findings come from the base image, a configuration fix, a
secret to rotate. Actions are ranked by score, highest first.

Inputs are files, directories (every *.json, *.sarif and *.gz inside, recursively)
or - for standard input. The format is detected from the content: Trivy JSON
(image, fs, repo, config, k8s), Grype JSON, CycloneDX JSON with vulnerabilities,
SARIF 2.1.0, GitLab container scanning, AWS Security Finding Format, Trivy
Operator reports; gzip-compressed files are read as they are.

Threat intel comes from --kev/--epss files or from the cache that
'sextant intel update' fills; without it triage warns and goes on with CVSS and
what the reports carry. No network is ever needed to triage.

Priorities: P0 act now, P1 this sprint, P2 plan it, P3 backlog/accept.
See docs/scoring.md for the model and docs/output.md for the JSON contract.

Exit codes: 0 ok; 1 usage or input error (a report that does not parse, a
missing file); 3 the --fail-on gate tripped.`,
		Example: `  sextant triage scans/*.json
  sextant triage -o json scans/ > plan.json
  trivy image -f json nginx:1.25 | sextant triage -
  sextant triage --fail-on P0 report.json
  sextant triage --kev kev.json --epss epss.csv.gz --context context.yaml scans/
  sextant triage --dockerfile Dockerfile -o markdown report.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.runTriage(cmd, args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table, json, markdown or sarif")
	fl.IntVar(&f.top, "top", 0, "show only the N highest-ranked actions (0: all)")
	fl.StringVar(&f.minPriority, "min-priority", "P3", "hide actions and findings below this priority (P0..P3)")
	fl.StringVar(&f.failOn, "fail-on", "", "exit with code 3 if any action is at this priority or above (P0..P3)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print nothing but errors; the exit code tells the result")
	fl.StringVar(&f.kev, "kev", "", "CISA KEV catalog JSON file (default: the intel cache)")
	fl.StringVar(&f.epss, "epss", "", "FIRST EPSS scores CSV file, plain or .gz (default: the intel cache)")
	fl.StringVar(&f.intelDir, "intel-dir", "", "threat-intel cache directory (default: $SEXTANT_INTEL_DIR or the user cache dir)")
	fl.BoolVar(&f.noIntel, "no-intel", false, "use no threat intel beyond what the reports carry")
	fl.StringVar(&f.contextFile, "context", "", "context file: where images run, exposure, privilege, owner (see docs/scoring.md)")
	fl.StringVar(&f.configFile, "config", "", "config file with a risk: section of weights (default: $SEXTANT_CONFIG)")
	fl.StringVar(&f.dockerfile, "dockerfile", "", "Dockerfile to patch: emit a unified diff applying the plan to it")
	fl.StringVar(&f.color, "color", "auto", "colour the table: auto, always or never")
	fl.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (only on a terminal, for large inputs), always or never")
	fl.StringSliceVar(&f.k8sPaths, "k8s", nil, "Kubernetes manifests (files or directories) that run the images: exposure, privilege, replicas, environment and owner feed the score")
	fl.StringVar(&f.cluster.kubeconfig, "kubeconfig", "", "take workload context from a live cluster (read-only)")
	fl.StringVar(&f.cluster.context, "kube-context", "", "kubeconfig context for --kubeconfig (default: the current one)")
	fl.BoolVar(&f.explain, "explain", false, "explain each shown action: its risk, why its priority, what to do, how to verify (offline unless SEXTANT_LLM names a provider; see docs/ai.md)")
	addExplainCacheFlags(cmd, &f.explainDB)
	return cmd
}

func (m *Main) runTriage(cmd *cobra.Command, args []string, f triageFlags) error {
	if len(args) == 0 {
		return sextant.Errorf(sextant.EINVALID, "no reports given: name files, directories or - for standard input (see 'sextant triage --help')")
	}
	switch f.output {
	case "table", "json", "markdown", "md", "sarif":
	default:
		return sextant.Errorf(sextant.EINVALID, "unknown output format %q: want table, json, markdown or sarif", f.output)
	}
	minPrio, err := sextant.ParsePriority(f.minPriority)
	if err != nil {
		return fmt.Errorf("--min-priority: %w", err)
	}
	failOn, err := parseFailOn(f.failOn)
	if err != nil {
		return err
	}
	if f.top < 0 {
		return sextant.Errorf(sextant.EINVALID, "--top must not be negative")
	}
	stderr := cmd.ErrOrStderr()
	warnf := func(format string, a ...any) {
		if !f.quiet {
			fmt.Fprintf(stderr, "sextant: warning: "+format+"\n", a...)
		}
	}

	weights, err := m.weights(f.configFile)
	if err != nil {
		return err
	}

	// The explainer's configuration is checked before any report is read:
	// a misnamed provider or a missing key fails at once.
	var (
		explainer *explain.Explainer
		model     *llm.Limited
	)
	if f.explain && !f.quiet && f.output != "sarif" {
		if explainer, model, err = m.newExplainer(); err != nil {
			return err
		}
		closeCache, err := m.openExplainCache(cmd.Context(), explainer, f.explainDB, f.intelDir, warnf)
		if err != nil {
			return err
		}
		defer closeCache()
	}

	inputs, err := expandInputs(args)
	if err != nil {
		return err
	}

	opts := triage.Options{Parsers: intake.Parsers(), Weights: weights}
	status, err := m.loadIntel(f, &opts, warnf)
	if err != nil {
		return err
	}
	var fileCtx func(sextant.Artifact) *sextant.ArtifactContext
	if f.contextFile != "" {
		ctxs, err := triage.LoadContexts(f.contextFile)
		if err != nil {
			return err
		}
		fileCtx = ctxs.Lookup
	}
	var clusterCtx func(sextant.Artifact) *sextant.ArtifactContext
	if len(f.k8sPaths) > 0 || f.cluster.live() {
		inv, err := f.cluster.inventory(cmd.Context(), f.k8sPaths)
		if err != nil {
			return err
		}
		for _, w := range inv.Warnings {
			warnf("kubernetes: %s", w)
		}
		cx, err := f.cluster.clusterContext(inv)
		if err != nil {
			return err
		}
		clusterCtx = cx.ForArtifact
	}
	// A context file speaks for the images it names; the cluster for the
	// rest.
	switch {
	case fileCtx != nil && clusterCtx != nil:
		opts.Context = func(a sextant.Artifact) *sextant.ArtifactContext {
			if c := fileCtx(a); c != nil {
				return c
			}
			return clusterCtx(a)
		}
	case fileCtx != nil:
		opts.Context = fileCtx
	case clusterCtx != nil:
		opts.Context = clusterCtx
	}

	eng := triage.New(opts)
	tuneGC(inputs)
	prog := m.newProgress(stderr, f, inputs)
	var inputErrs int
	for _, in := range inputs {
		if err := cmd.Context().Err(); err != nil {
			return err
		}
		rc, err := in.open(cmd.InOrStdin())
		if err != nil {
			inputErrs++
			prog.clear()
			fmt.Fprintf(stderr, "sextant: %s\n", errorText(err))
			continue
		}
		_, err = eng.Read(in.name, prog.wrap(in.name, rc))
		rc.Close()
		if err != nil {
			inputErrs++
			prog.clear()
			fmt.Fprintf(stderr, "sextant: %s\n", errorText(err))
		}
	}
	prog.done()
	res := eng.Finish()
	defer res.Close()
	res.Summary.Intel = status
	for _, w := range res.Warnings() {
		if w.Count > 1 {
			warnf("%s (%d times)", w.Message, w.Count)
		} else {
			warnf("%s", w.Message)
		}
	}

	ropts := render.Options{Top: f.top, MinPriority: minPrio, Version: sextantVersion()}
	if f.dockerfile != "" {
		d, err := dockerfileDiffs(f.dockerfile, res)
		if err != nil {
			return err
		}
		ropts.Diffs = d
	}
	if f.explain && !f.quiet {
		if f.output == "sarif" {
			warnf("--explain has no effect on SARIF output")
		} else {
			workers := 1
			if model != nil {
				workers = cmp.Or(model.Limits().MaxConcurrency, defaultLLMConcurrency)
			}
			if ropts.Explanations, err = m.explanations(cmd.Context(), explainer, workers, res, ropts); err != nil {
				return err
			}
		}
		if model != nil {
			fmt.Fprintf(stderr, "sextant: explain: %s %s: %s%s\n", explainer.Provider, model.Limits().Model, model.Stats(), explainCacheNote(explainer, ropts.Explanations))
		}
	}
	if !f.quiet {
		out := cmd.OutOrStdout()
		switch f.output {
		case "table":
			ropts.Color = f.color == "always" || (f.color == "auto" && m.IsTerminal(out) && m.Getenv("NO_COLOR") == "")
			ropts.Width = m.termWidth(out)
			err = render.Table(out, res, ropts)
			if err == nil {
				for _, d := range ropts.Diffs {
					_, err = fmt.Fprintf(out, "\nProposed change to %s:\n%s", d.File, d.Text)
				}
			}
		case "json":
			err = render.JSON(out, res, ropts)
		case "markdown", "md":
			err = render.Markdown(out, res, ropts)
		case "sarif":
			err = render.SARIF(out, res, ropts)
		}
		if err != nil {
			return fmt.Errorf("write %s output: %v", f.output, err)
		}
	}
	if err := res.Err(); err != nil {
		return err
	}
	if failOn != nil {
		n := 0
		for _, a := range res.Actions {
			if a.Priority <= *failOn {
				n++
			}
		}
		if n > 0 {
			return &gateError{n: n}
		}
	}
	if inputErrs > 0 {
		return sextant.Errorf(sextant.EINVALID, "%d of %d input(s) could not be read; the result above leaves them out", inputErrs, len(inputs))
	}
	return nil
}

func (m *Main) termWidth(w io.Writer) int {
	if c, err := strconv.Atoi(m.Getenv("COLUMNS")); err == nil && c > 0 {
		return c
	}
	if f, ok := w.(*os.File); ok && m.IsTerminal(w) {
		if wd, _, err := term.GetSize(int(f.Fd())); err == nil && wd > 0 {
			return wd
		}
	}
	return 0
}

// input is one report to read: a file, or standard input.
type input struct {
	name string
	size int64
}

func (in input) open(stdin io.Reader) (io.ReadCloser, error) {
	if in.name == "-" {
		return io.NopCloser(stdin), nil
	}
	f, err := os.Open(in.name)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "open report: %v", err)
	}
	return f, nil
}

// expandInputs turns arguments into reports: files as given, directories
// walked for report files, "-" for standard input.
func expandInputs(args []string) ([]input, error) {
	return expandFiles(args, fileKind{what: "report", plural: "report files (*.json, *.sarif, *.gz)", match: isReportName})
}

// fileKind says which files of a directory an argument list takes.
type fileKind struct {
	what   string // names an argument in errors: "report", "events"
	plural string // names the files a directory should hold, for errors
	match  func(name string) bool
}

// expandFiles turns arguments into inputs: files as given, directories
// walked (hidden ones skipped) for the files kind matches, in name order,
// and "-" for standard input, at most once.
func expandFiles(args []string, kind fileKind) ([]input, error) {
	var out []input
	stdin := false
	for _, a := range args {
		if a == "-" {
			if stdin {
				return nil, sextant.Errorf(sextant.EINVALID, "standard input (-) given twice")
			}
			stdin = true
			out = append(out, input{name: "-", size: -1})
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "%s %s: %v", kind.what, a, unwrapPathError(err))
		}
		if !st.IsDir() {
			out = append(out, input{name: a, size: st.Size()})
			continue
		}
		var found []input
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != a && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if kind.match(d.Name()) {
				info, err := d.Info()
				if err != nil {
					return err
				}
				found = append(found, input{name: p, size: info.Size()})
			}
			return nil
		})
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "read directory %s: %v", a, err)
		}
		if len(found) == 0 {
			return nil, sextant.Errorf(sextant.EINVALID, "directory %s holds no %s", a, kind.plural)
		}
		sort.Slice(found, func(i, j int) bool { return found[i].name < found[j].name })
		out = append(out, found...)
	}
	return out, nil
}

func isReportName(name string) bool {
	n := strings.ToLower(name)
	n = strings.TrimSuffix(n, ".gz")
	return strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".sarif")
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// dockerfileDiffs proposes the plan's changes to a Dockerfile. With several
// image artifacts in the plan, the Dockerfile is taken to build the first
// image that has OS-package actions.
func dockerfileDiffs(path string, res *triage.Result) ([]render.Diff, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "read Dockerfile: %v", err)
	}
	byArtifact := map[string][]sextant.Action{}
	var order []string
	for _, a := range res.Actions {
		if a.Kind != sextant.ActionUpgradePackage && a.Kind != sextant.ActionRebuildBase {
			continue
		}
		if a.Kind == sextant.ActionUpgradePackage && !sextant.OSEcosystem(a.Ecosystem) {
			continue
		}
		if _, ok := byArtifact[a.Artifact]; !ok {
			order = append(order, a.Artifact)
		}
		byArtifact[a.Artifact] = append(byArtifact[a.Artifact], a)
	}
	if len(order) == 0 {
		return nil, nil
	}
	art := order[0]
	text, err := fix.DockerfileDiff(path, b, byArtifact[art])
	if err != nil {
		return nil, err
	}
	if text == "" {
		return nil, nil
	}
	return []render.Diff{{Artifact: art, File: path, Text: text}}, nil
}

// largeInput is the input size from which triage trades some CPU for a
// smaller heap: a report of a gigabyte should not need one.
const largeInput = 256 << 20

// largeInputMemory is the soft memory limit for large inputs. The garbage
// collector runs at its usual pace below it and more often near it; it is
// not a hard cap (past it the program slows down, it does not fail).
const largeInputMemory = 256 << 20

// tuneGC sets a soft memory limit on large inputs, unless GOGC or
// GOMEMLIMIT says otherwise.
func tuneGC(inputs []input) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	var total int64
	for _, in := range inputs {
		total += max(in.size, 0)
	}
	if total >= largeInput {
		debug.SetMemoryLimit(largeInputMemory)
	}
}

// parseFailOn reads --fail-on: nil when not given.
func parseFailOn(s string) (*sextant.Priority, error) {
	if s == "" {
		return nil, nil
	}
	p, err := sextant.ParsePriority(s)
	if err != nil {
		return nil, fmt.Errorf("--fail-on: %w", err)
	}
	return &p, nil
}
