package main

// `sextant ci`: the CI/CD gate. It triages this change's scan and the base
// branch's (its baseline) with the same intel, context and weights, and
// reports only the difference: the findings this change brings in, with the
// actions that fix them ranked by score, and the findings it resolves. It
// can keep one sticky comment on a GitHub pull request up to date, write
// SARIF of the new findings, and fail the build on new risk alone.
//
// The formats it writes (the sextant.ci/v1 JSON document, the
// sextant.ci-baseline/v1 baseline file, the comment's marker) are
// documented in docs/ci.md.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/intake"
	"github.com/sextant-dev/sextant/internal/render"
	"github.com/sextant-dev/sextant/internal/sink/github"
	"github.com/sextant-dev/sextant/internal/triage"
)

// Schemas of what `sextant ci` writes (docs/ci.md).
const (
	ciSchema         = "sextant.ci/v1"
	ciBaselineSchema = "sextant.ci-baseline/v1"
)

// ciCommentKey names the pull-request comment: its hidden first line is
// github.Marker(ciCommentKey) ("<!-- sextant:key=ci -->"), by which the
// next run finds the comment and updates it in place. --comment-key K makes
// it "ci:K".
const ciCommentKey = "ci"

// How findings of the change are matched with the baseline's (--match).
const (
	// matchImage: the same vulnerability (or check, or secret rule) in the
	// same package of the same image repository or artifact name, whatever
	// the package version, tag or digest: a pull request rebuilds its image
	// (a new digest, often a new tag), and a package bumped to a version that
	// is still vulnerable is not new risk.
	matchImage = "image"
	// matchPackage: as image, in any artifact.
	matchPackage = "package"
	// matchFingerprint: sextant's finding fingerprint, which covers the
	// package version and the image digest.
	matchFingerprint = "fingerprint"
)

// GitHub's limit on a comment body is 65,536 characters; the comment is
// shortened to stay well below it.
const ciCommentLimit = 60000

// ciTableRows is how many new actions the comment's table lists at most.
const ciTableRows = 50

// ciResolvedRows is how many resolved findings the comment lists at most.
const ciResolvedRows = 50

type ciFlags struct {
	// t holds the flags shared with triage: intel, context and config
	// (given to loadIntel as they are).
	t            triageFlags
	baselines    []string
	saveBaseline string
	output       string
	top          int
	sarif        string
	failOn       string
	match        string
	githubPR     int
	githubRepo   string
	githubCheck  string
	commentKey   string
	timeout      time.Duration
}

func (m *Main) ciCommand() *cobra.Command {
	var f ciFlags
	cmd := &cobra.Command{
		Use:   "ci [flags] REPORT|DIR|- ...",
		Short: "Compare this change's scan with the base branch's: new and resolved risk, a PR comment, a gate",
		Long: `ci triages this change's scanner reports (REPORT...) and the base branch's
(--baseline), with the same threat intel, context and weights, and reports only
the difference: the findings this change brings in, with the actions that fix
them ranked by score and their exact commands, and the findings it resolves.
Without --baseline every finding is new.

A baseline is the base branch's scanner reports (any format triage reads), a
'sextant triage -o json' document, or the file 'sextant ci --save-baseline'
wrote (small: finding identities and scores).

Findings are matched (--match) by default as the same vulnerability in the same
package of the same image repository, whatever the package version, the tag or
the digest: a pull request rebuilds its image, and a package bumped to a
version that is still vulnerable is not new risk.

--github-pr keeps one comment on the pull request (found again by a hidden
marker and updated in place on the next push). The token comes from
GITHUB_TOKEN only, the repository from --github-repo or GITHUB_REPOSITORY, the
API from GITHUB_API_URL (default https://api.github.com).

--fail-on fails the build on new risk alone: risk that is already on the base
branch never fails it.

Exit codes: 0 ok; 1 usage or input error (a report that does not parse, a
missing file, the comment could not be posted); 3 the --fail-on gate tripped.
See docs/ci.md.`,
		Example: `  sextant ci --baseline base.json report.json
  sextant ci --fail-on P0 --github-pr 123 --baseline baseline.json --sarif new.sarif report.json
  sextant ci --save-baseline baseline.json report.json      # on the base branch
  sextant ci -o markdown --baseline main-scans/ pr-scans/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return m.runCI(cmd, args, f)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVar(&f.baselines, "baseline", nil, "the base branch's scan: reports, directories, a triage -o json document or a --save-baseline file (repeatable; none: every finding is new)")
	fl.StringVar(&f.saveBaseline, "save-baseline", "", "write this change's findings as a baseline file for later runs")
	fl.StringVarP(&f.output, "output", "o", "table", "output format: table, json or markdown (the pull-request comment)")
	fl.IntVar(&f.top, "top", 10, "show the commands of the N highest-ranked new actions (0: all)")
	fl.StringVar(&f.sarif, "sarif", "", "write SARIF 2.1.0 of the new findings only to this file")
	fl.StringVar(&f.failOn, "fail-on", "", "exit with code 3 if a new action is at this priority or above (P0..P3)")
	fl.StringVar(&f.match, "match", matchImage, "how findings match the baseline's: image, package or fingerprint (see docs/ci.md)")
	fl.IntVar(&f.githubPR, "github-pr", 0, "post the comment on this GitHub pull request, updating the previous one (token: $GITHUB_TOKEN)")
	fl.StringVar(&f.githubRepo, "github-repo", "", "GitHub repository owner/name (default: $GITHUB_REPOSITORY)")
	fl.StringVar(&f.githubCheck, "github-check", "", "also create a check run of this name on the commit $GITHUB_SHA, failed when --fail-on trips, with the comment as its summary")
	fl.StringVar(&f.commentKey, "comment-key", "", "tell apart several sextant ci comments on one pull request (one per image, say)")
	fl.DurationVar(&f.timeout, "github-timeout", 30*time.Second, "time limit of each request to GitHub")
	fl.BoolVarP(&f.t.quiet, "quiet", "q", false, "print nothing but errors; the exit code tells the result")
	fl.StringVar(&f.t.kev, "kev", "", "CISA KEV catalog JSON file (default: the intel cache)")
	fl.StringVar(&f.t.epss, "epss", "", "FIRST EPSS scores CSV file, plain or .gz (default: the intel cache)")
	fl.StringVar(&f.t.intelDir, "intel-dir", "", "threat-intel cache directory (default: $SEXTANT_INTEL_DIR or the user cache dir)")
	fl.BoolVar(&f.t.noIntel, "no-intel", false, "use no threat intel beyond what the reports carry")
	fl.StringVar(&f.t.contextFile, "context", "", "context file: where images run, exposure, privilege, owner (see docs/scoring.md)")
	fl.StringVar(&f.t.configFile, "config", "", "config file with a risk: section of weights (default: $SEXTANT_CONFIG)")
	return cmd
}

// ciFinding is a finding as ci compares, lists and saves it. Its JSON names
// are those of a triage/v1 finding (docs/output.md), so that the findings of
// a `triage -o json` document decode into it as a baseline.
type ciFinding struct {
	ID               string       `json:"id"`
	Kind             sextant.Kind `json:"kind"`
	Vulnerability    string       `json:"vulnerability"`
	Title            string       `json:"title,omitempty"`
	Severity         string       `json:"severity,omitempty"`
	Package          string       `json:"package,omitempty"`
	Ecosystem        string       `json:"ecosystem,omitempty"`
	InstalledVersion string       `json:"installed_version,omitempty"`
	FixedVersion     string       `json:"fixed_version,omitempty"`
	Location         string       `json:"location,omitempty"`
	Artifact         string       `json:"artifact"`
	// Repository is the artifact as matched across rebuilds: the image
	// repository without tag or digest, else the artifact's name.
	Repository string           `json:"repository,omitempty"`
	Score      float64          `json:"score"`
	Priority   sextant.Priority `json:"priority"`
	ActionID   string           `json:"action_id,omitempty"`
}

func newCIFinding(v *triage.FindingView, repo string) ciFinding {
	return ciFinding{
		ID: v.ID, Kind: v.Kind, Vulnerability: v.Vulnerability, Title: v.Title, Severity: v.Severity,
		Package: v.Package, Ecosystem: v.Ecosystem, InstalledVersion: v.InstalledVersion, FixedVersion: v.FixedVersion,
		Location: v.Location, Artifact: v.Artifact, Repository: repo, Score: v.Score, Priority: v.Priority, ActionID: v.ActionID,
	}
}

// key returns the identity under which the finding is matched with the
// other side's.
func (f *ciFinding) key(match string) string {
	if match == matchFingerprint {
		return f.ID
	}
	var b strings.Builder
	write := func(s string) {
		b.WriteString(s)
		b.WriteByte(0)
	}
	write(string(f.Kind))
	write(strings.ToUpper(f.Vulnerability))
	if f.Package != "" {
		write(f.Ecosystem)
		write(sextant.NormalizePackageName(f.Ecosystem, f.Package))
	} else {
		// A secret or misconfiguration that moved a few lines down is
		// the same one.
		write("")
		write(stripLine(f.Location))
	}
	if match == matchImage {
		write(f.repository())
	}
	return b.String()
}

func (f *ciFinding) repository() string {
	if f.Repository != "" {
		return f.Repository
	}
	return artifactRepository(f.Artifact, "")
}

// artifactRepository names an artifact as it stays across rebuilds: its
// repository when known, else its name without tag or digest.
func artifactRepository(name, repo string) string {
	if repo != "" {
		return strings.ToLower(repo)
	}
	if sextant.IsDigest(name) {
		return strings.ToLower(name)
	}
	r, _, _ := sextant.SplitImageRef(name)
	return strings.ToLower(r)
}

// stripLine drops a trailing ":line" from a location.
func stripLine(loc string) string {
	if i := strings.LastIndex(loc, ":"); i > 0 && i < len(loc)-1 && strings.Trim(loc[i+1:], "0123456789") == "" {
		return loc[:i]
	}
	return loc
}

// ciBaseline is the file --save-baseline writes: every finding of a run,
// by identity and score.
type ciBaseline struct {
	Schema   string      `json:"schema"`
	Version  string      `json:"sextant_version,omitempty"`
	Findings []ciFinding `json:"findings"`
}

// ciNewAction is one action that fixes new findings.
type ciNewAction struct {
	// Action is the action of the change's fix plan, complete (its
	// findings include those already in the baseline).
	Action sextant.Action `json:"action"`
	// Score and Priority are those of the most urgent new finding it
	// fixes: what this change adds, and what --fail-on looks at.
	Score    float64          `json:"score"`
	Priority sextant.Priority `json:"priority"`
	// Findings are the new findings it fixes, highest score first;
	// Existing counts the findings it also fixes that the baseline has.
	Findings []ciFinding `json:"findings"`
	Existing int         `json:"existing_findings"`
	rank     int         // index in the change's Result.Actions; -1 for none
}

// ciSummary counts the comparison.
type ciSummary struct {
	Findings         int     `json:"findings"`
	BaselineFindings int     `json:"baseline_findings"`
	NewFindings      int     `json:"new_findings"`
	ResolvedFindings int     `json:"resolved_findings"`
	Unchanged        int     `json:"unchanged_findings"`
	NewActions       int     `json:"new_actions"`
	RiskAdded        float64 `json:"risk_added"`
	RiskRemoved      float64 `json:"risk_removed"`
	RiskDelta        float64 `json:"risk_delta"`
	// NewByPriority counts the new actions per priority.
	NewByPriority map[string]int `json:"new_by_priority"`
}

// ciGate is the outcome of --fail-on.
type ciGate struct {
	FailOn  sextant.Priority `json:"fail_on"`
	Actions int              `json:"actions"`
	Failed  bool             `json:"failed"`
}

// ciReport is the comparison, and the sextant.ci/v1 JSON document.
type ciReport struct {
	Schema   string         `json:"schema"`
	Version  string         `json:"sextant_version,omitempty"`
	Match    string         `json:"match"`
	Baseline ciBaselineInfo `json:"baseline"`
	Summary  ciSummary      `json:"summary"`
	Gate     *ciGate        `json:"gate,omitempty"`
	New      []ciNewAction  `json:"new"`
	Resolved []ciFinding    `json:"resolved"`
}

// ciBaselineInfo says what the comparison was against.
type ciBaselineInfo struct {
	Given   bool     `json:"given"`
	Sources []string `json:"sources"`
}

func (m *Main) runCI(cmd *cobra.Command, args []string, f ciFlags) error {
	if len(args) == 0 {
		return sextant.Errorf(sextant.EINVALID, "no reports given: name this change's scan reports, directories or - (see 'sextant ci --help')")
	}
	switch f.output {
	case "table", "json", "markdown", "md":
	default:
		return sextant.Errorf(sextant.EINVALID, "unknown output format %q: want table, json or markdown", f.output)
	}
	switch f.match {
	case matchImage, matchPackage, matchFingerprint:
	default:
		return sextant.Errorf(sextant.EINVALID, "unknown --match %q: want image, package or fingerprint", f.match)
	}
	failOn, err := parseFailOn(f.failOn)
	if err != nil {
		return err
	}
	if f.top < 0 {
		return sextant.Errorf(sextant.EINVALID, "--top must not be negative")
	}
	key := ciCommentKey
	if f.commentKey != "" {
		// The comment's marker holds ASCII letters, digits and . _ : / -
		// (at most 100 characters).
		if len(f.commentKey) > 90 || strings.ContainsFunc(f.commentKey, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("._:/-", r))
		}) {
			return sextant.Errorf(sextant.EINVALID, "--comment-key %q: use at most 90 ASCII letters, digits and . _ : / -", f.commentKey)
		}
		key += ":" + f.commentKey
	}
	// A wrong GitHub setting fails before any work, not after it.
	var gh *ciGitHub
	if f.githubPR != 0 || cmd.Flags().Changed("github-repo") {
		var err error
		if gh, err = m.ciGitHub(f); err != nil {
			return err
		}
	}

	stderr := cmd.ErrOrStderr()
	warnf := func(format string, a ...any) {
		if !f.t.quiet {
			fmt.Fprintf(stderr, "sextant: warning: "+format+"\n", a...)
		}
	}
	weights, err := m.weights(f.t.configFile)
	if err != nil {
		return err
	}
	inputs, err := expandInputs(args)
	if err != nil {
		return err
	}
	var baseInputs []input
	if len(f.baselines) > 0 {
		if baseInputs, err = expandInputs(f.baselines); err != nil {
			return fmt.Errorf("--baseline: %w", err)
		}
	}
	stdin := 0
	for _, in := range append(slices.Clone(inputs), baseInputs...) {
		if in.name == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return sextant.Errorf(sextant.EINVALID, "standard input (-) given twice")
	}

	opts := triage.Options{Parsers: intake.Parsers(), Weights: weights}
	status, err := m.loadIntel(f.t, &opts, warnf)
	if err != nil {
		return err
	}
	if f.t.contextFile != "" {
		ctxs, err := triage.LoadContexts(f.t.contextFile)
		if err != nil {
			return err
		}
		opts.Context = ctxs.Lookup
	}

	ctx := cmd.Context()
	rep := &ciReport{Schema: ciSchema, Version: sextantVersion(), Match: f.match, New: []ciNewAction{}, Resolved: []ciFinding{}}
	rep.Baseline.Given = len(baseInputs) > 0
	rep.Baseline.Sources = []string{}
	var base []ciFinding
	if len(baseInputs) > 0 {
		if base, err = readCIBaseline(ctx, opts, baseInputs, cmd.InOrStdin(), warnf); err != nil {
			return err
		}
		for _, in := range baseInputs {
			rep.Baseline.Sources = append(rep.Baseline.Sources, in.name)
		}
	}

	eng := triage.New(opts)
	if err := readCIInputs(ctx, eng, inputs, cmd.InOrStdin()); err != nil {
		return err
	}
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

	all, newIDs, err := compareCI(rep, res, base, f.match, f.saveBaseline != "")
	if err == nil {
		// The temporary storage of a very large triage failed (a full
		// disk): the comparison is incomplete, so nothing is written.
		err = res.Err()
	}
	if err != nil {
		return err
	}
	if failOn != nil {
		g := &ciGate{FailOn: *failOn}
		for _, a := range rep.New {
			if a.Priority <= *failOn {
				g.Actions++
			}
		}
		g.Failed = g.Actions > 0
		rep.Gate = g
	}

	if f.saveBaseline != "" {
		b := ciBaseline{Schema: ciBaselineSchema, Version: sextantVersion(), Findings: all}
		if b.Findings == nil {
			b.Findings = []ciFinding{}
		}
		if err := writeFileWith(f.saveBaseline, func(w io.Writer) error { return ciWriteJSON(w, b) }); err != nil {
			return fmt.Errorf("--save-baseline: %v", err)
		}
	}
	if f.sarif != "" {
		var buf bytes.Buffer
		if err := render.SARIF(&buf, res, render.Options{MinPriority: sextant.P3, Version: sextantVersion()}); err != nil {
			return fmt.Errorf("write SARIF: %v", err)
		}
		if err := writeFileWith(f.sarif, func(w io.Writer) error { return filterSARIF(w, buf.Bytes(), newIDs) }); err != nil {
			return fmt.Errorf("--sarif: %v", err)
		}
	}
	comment := ""
	if gh != nil || f.output == "markdown" || f.output == "md" {
		comment = ciMarkdown(rep, f.top)
	}
	if !f.t.quiet {
		out := cmd.OutOrStdout()
		switch f.output {
		case "table":
			err = ciTable(out, rep, f.top)
		case "json":
			err = ciWriteJSON(out, rep)
		case "markdown", "md":
			// As posted: the marker line, then the comment.
			_, err = io.WriteString(out, github.Marker(key)+"\n"+comment)
		}
		if err != nil {
			return fmt.Errorf("write %s output: %v", f.output, err)
		}
	}
	if gh != nil {
		ref, err := gh.post(ctx, key, comment)
		if err != nil {
			return err
		}
		if !f.t.quiet {
			fmt.Fprintf(stderr, "sextant: pull request comment %s\n", cmp.Or(ref.URL, ref.ExternalID))
		}
		if f.githubCheck != "" {
			sha := strings.TrimSpace(m.Getenv("GITHUB_SHA"))
			if sha == "" {
				return sextant.Errorf(sextant.EINVALID, "--github-check needs the commit: set GITHUB_SHA")
			}
			runner, ok := gh.c.(checkRunner)
			if !ok {
				return sextant.Errorf(sextant.EINVALID, "--github-check: this GitHub client cannot create check runs")
			}
			conclusion := "success"
			if rep.Gate != nil && rep.Gate.Failed {
				conclusion = "failure"
			}
			ref, err := runner.CreateCheckRun(ctx, sha, f.githubCheck, conclusion, comment, nil)
			if err != nil {
				return redactError(fmt.Errorf("check run %s on %s: %w", f.githubCheck, sha, err), gh.token)
			}
			if !f.t.quiet {
				fmt.Fprintf(stderr, "sextant: check run %s (%s)\n", cmp.Or(ref.URL, ref.ExternalID), conclusion)
			}
		}
	}
	if rep.Gate != nil && rep.Gate.Failed {
		return &gateError{n: rep.Gate.Actions}
	}
	return nil
}

// readCIInputs reads every report into eng. The first that cannot be read
// ends it: a comparison that leaves a report out would call its findings
// resolved, or new.
func readCIInputs(ctx context.Context, eng *triage.Engine, inputs []input, stdin io.Reader) error {
	for _, in := range inputs {
		if err := ctx.Err(); err != nil {
			return err
		}
		rc, err := in.open(stdin)
		if err != nil {
			return err
		}
		_, err = eng.Read(in.name, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// readCIBaseline reads the baseline's findings: scanner reports are
// triaged as the change's are (so their scores are comparable), sextant
// documents are taken as they are.
func readCIBaseline(ctx context.Context, opts triage.Options, inputs []input, stdin io.Reader, warnf func(string, ...any)) ([]ciFinding, error) {
	var out []ciFinding
	var reports []input
	for _, in := range inputs {
		fs, ok, err := readCIDocument(in, stdin)
		if err != nil {
			return nil, fmt.Errorf("--baseline: %w", err)
		}
		if ok {
			out = append(out, fs...)
			continue
		}
		reports = append(reports, in)
	}
	if len(reports) == 0 {
		return out, nil
	}
	eng := triage.New(opts)
	if err := readCIInputs(ctx, eng, reports, stdin); err != nil {
		return nil, fmt.Errorf("--baseline: %w", err)
	}
	res := eng.Finish()
	defer res.Close()
	for _, w := range res.Warnings() {
		warnf("baseline: %s", w.Message)
	}
	repos := map[string]string{}
	err := res.EachFinding(false, func(v *triage.FindingView) error {
		out = append(out, newCIFinding(v, resultRepository(res, repos, v.Artifact)))
		return nil
	})
	if err == nil {
		err = res.Err()
	}
	return out, err
}

func resultRepository(res *triage.Result, cache map[string]string, name string) string {
	if r, ok := cache[name]; ok {
		return r
	}
	a, _ := res.Artifact(name)
	r := artifactRepository(name, a.Repository)
	cache[name] = r
	return r
}

// readCIDocument reads a baseline input that is a sextant document: a
// --save-baseline file or a triage -o json document. ok is false for
// anything else (a scanner report), which the input then still holds whole
// for the engine: standard input is left unread.
func readCIDocument(in input, stdin io.Reader) (fs []ciFinding, ok bool, err error) {
	if in.name == "-" {
		// Standard input cannot be rewound: it is only ever a report.
		return nil, false, nil
	}
	rc, err := in.open(stdin)
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<16)
	dr, err := triage.Decompress(br)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", in.name, err)
	}
	hr := bufio.NewReaderSize(dr, 1<<16)
	head, _ := hr.Peek(1 << 16)
	schema := leadingSchema(head)
	switch schema {
	case ciBaselineSchema, render.Schema:
	case ciSchema:
		return nil, false, sextant.Errorf(sextant.EINVALID, "%s is a sextant ci report (%s), which holds only a difference: write a baseline with 'sextant ci --save-baseline'", in.name, ciSchema)
	default:
		return nil, false, nil
	}
	var doc struct {
		Findings []ciFinding `json:"findings"`
	}
	if err := json.NewDecoder(hr).Decode(&doc); err != nil {
		return nil, false, sextant.Errorf(sextant.EINVALID, "%s: read %s document: %v", in.name, schema, err)
	}
	return doc.Findings, true, nil
}

// leadingSchema returns the value of "schema" when it is the first member
// of the JSON object at the head of b, as sextant writes its documents.
func leadingSchema(b []byte) string {
	d := jsontext.NewDecoder(bytes.NewReader(b))
	if t, err := d.ReadToken(); err != nil || t.Kind() != '{' {
		return ""
	}
	if t, err := d.ReadToken(); err != nil || t.String() != "schema" {
		return ""
	}
	t, err := d.ReadToken()
	if err != nil || t.Kind() != '"' {
		return ""
	}
	return t.String()
}

// compareCI fills rep with the comparison of the change's result with the
// baseline's findings. It returns the IDs of the new findings and, when
// keepAll is set, every finding of the change.
func compareCI(rep *ciReport, res *triage.Result, base []ciFinding, match string, keepAll bool) (all []ciFinding, newIDs map[string]bool, err error) {
	baseKeys := make(map[string]bool, len(base))
	for i := range base {
		baseKeys[base[i].key(match)] = true
	}
	changeKeys := map[string]bool{}
	newIDs = map[string]bool{}
	actionIndex := make(map[string]int, len(res.Actions))
	for i, a := range res.Actions {
		actionIndex[a.ID] = i
	}
	byAction := map[string]*ciNewAction{}
	repos := map[string]string{}
	s := &rep.Summary
	err = res.EachFinding(false, func(v *triage.FindingView) error {
		f := newCIFinding(v, resultRepository(res, repos, v.Artifact))
		s.Findings++
		if keepAll {
			all = append(all, f)
		}
		k := f.key(match)
		changeKeys[k] = true
		if baseKeys[k] {
			s.Unchanged++
			return nil
		}
		newIDs[f.ID] = true
		s.NewFindings++
		s.RiskAdded += f.Score
		group := f.ActionID
		if group == "" {
			group = "finding:" + f.ID
		}
		na := byAction[group]
		if na == nil {
			na = &ciNewAction{rank: -1, Priority: f.Priority, Score: f.Score}
			byAction[group] = na
			if i, ok := actionIndex[f.ActionID]; ok && f.ActionID != "" {
				na.rank = i
			}
		}
		// Findings come highest score first: the first is the top one.
		na.Findings = append(na.Findings, f)
		na.Priority = min(na.Priority, f.Priority)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, na := range byAction {
		if na.rank >= 0 {
			na.Action = res.Explain(na.rank)
			na.Existing = len(na.Action.FindingIDs) - len(na.Findings)
		} else {
			// A finding the plan left without an action: it is still
			// new risk, shown by itself.
			f := na.Findings[0]
			na.Action = sextant.Action{Priority: f.Priority, Score: f.Score, Title: findingTitle(&f), Artifact: f.Artifact,
				Commands: []string{}, Vulnerabilities: []string{f.Vulnerability}, FindingIDs: []string{f.ID}}
		}
		rep.New = append(rep.New, *na)
	}
	slices.SortFunc(rep.New, func(a, b ciNewAction) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		if a.rank >= 0 && b.rank >= 0 {
			return cmp.Compare(a.rank, b.rank)
		}
		if c := cmp.Compare(b.rank, a.rank); c != 0 {
			return c
		}
		return cmp.Compare(a.Findings[0].ID, b.Findings[0].ID)
	})
	for _, f := range base {
		s.BaselineFindings++
		if !changeKeys[f.key(match)] {
			rep.Resolved = append(rep.Resolved, f)
			s.ResolvedFindings++
			s.RiskRemoved += f.Score
		}
	}
	slices.SortStableFunc(rep.Resolved, func(a, b ciFinding) int { return cmp.Compare(b.Score, a.Score) })
	s.NewActions = len(rep.New)
	s.NewByPriority = map[string]int{"P0": 0, "P1": 0, "P2": 0, "P3": 0}
	for _, a := range rep.New {
		s.NewByPriority[a.Priority.String()]++
	}
	s.RiskAdded, s.RiskRemoved = round1(s.RiskAdded), round1(s.RiskRemoved)
	s.RiskDelta = round1(s.RiskAdded - s.RiskRemoved)
	return all, newIDs, nil
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// findingTitle names a finding in one line: "CVE-… in pkg 1.2".
func findingTitle(f *ciFinding) string {
	switch {
	case f.Package != "":
		return strings.TrimSpace(fmt.Sprintf("%s in %s %s", f.Vulnerability, f.Package, f.InstalledVersion))
	case f.Location != "":
		return fmt.Sprintf("%s at %s", f.Vulnerability, f.Location)
	}
	return f.Vulnerability
}

// newFixes lists the new vulnerabilities an action fixes, briefly.
func newFixes(a *ciNewAction) string {
	var ids []string
	seen := map[string]bool{}
	for _, f := range a.Findings {
		if !seen[f.Vulnerability] {
			seen[f.Vulnerability] = true
			ids = append(ids, f.Vulnerability)
		}
	}
	s := strings.Join(ids[:min(len(ids), 3)], ", ")
	if len(ids) > 3 {
		s += fmt.Sprintf(" +%d more", len(ids)-3)
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// ciSummaryLine says the comparison in one line of Markdown.
func ciSummaryLine(rep *ciReport) string {
	s := rep.Summary
	var b strings.Builder
	if s.NewFindings == 0 {
		b.WriteString("No new risk")
	} else {
		fmt.Fprintf(&b, "**%s** in %s (risk +%.1f)", plural(s.NewFindings, "new finding", "new findings"), plural(s.NewActions, "action", "actions"), s.RiskAdded)
	}
	if s.ResolvedFindings > 0 {
		fmt.Fprintf(&b, " · **%s** (risk −%.1f)", plural(s.ResolvedFindings, "resolved", "resolved"), s.RiskRemoved)
	} else {
		b.WriteString(" · nothing resolved")
	}
	if s.NewFindings > 0 || s.ResolvedFindings > 0 {
		fmt.Fprintf(&b, " · net %+.1f", s.RiskDelta)
	}
	return b.String() + "."
}

// ciMarkdown renders the pull-request comment, without its marker line (the
// GitHub client puts it first), shortened (fewer rows, fewer commands) until
// it fits GitHub's limit.
func ciMarkdown(rep *ciReport, top int) string {
	rows, resolved := ciTableRows, ciResolvedRows
	for {
		commands := rows
		if top > 0 {
			commands = min(top, rows)
		}
		s := ciMarkdownLimited(rep, rows, commands, resolved)
		if len(s) <= ciCommentLimit || (rows <= 1 && resolved <= 1) {
			return s
		}
		rows, resolved = max(rows/2, 1), max(resolved/2, 1)
	}
}

func ciMarkdownLimited(rep *ciReport, rows, commands, resolved int) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	s := rep.Summary
	p("## sextant: security risk in this change\n\n%s\n\n", ciSummaryLine(rep))
	p("### New risk\n\n")
	if len(rep.New) == 0 {
		p("No new risk.\n")
	} else {
		p("| # | Priority | Score | Action | Fixes |\n|---:|:---:|---:|---|---|\n")
		for i, a := range rep.New[:min(rows, len(rep.New))] {
			fixes := newFixes(&a)
			if a.Existing > 0 {
				fixes += fmt.Sprintf(" (and %d existing)", a.Existing)
			}
			p("| %d | %s | %.1f | %s | %s |\n", i+1, a.Priority, a.Score, mdCell(a.Action.Title), mdCell(fixes))
		}
		if len(rep.New) > rows {
			p("\n… and %d more new actions (see the job's output).\n", len(rep.New)-rows)
		}
		for i, a := range rep.New[:min(commands, len(rep.New))] {
			p("\n#### %d. %s · %s\n\n", i+1, a.Priority, mdInline(a.Action.Title))
			if a.Action.Artifact != "" {
				p("Artifact `%s`", mdCode(a.Action.Artifact))
				if a.Action.ID != "" {
					p(" · action `%s`", a.Action.ID)
				}
				p("\n\n")
			}
			if len(a.Action.Commands) > 0 {
				p("```sh\n%s\n```\n", mdFence(strings.Join(a.Action.Commands, "\n")))
			} else if len(a.Action.Notes) == 0 {
				p("No command: no fix is available yet.\n")
			} else {
				// No command to run: the plan says what to do instead.
				for _, n := range a.Action.Notes {
					p("- %s\n", mdInline(n))
				}
			}
		}
	}
	p("\n### Resolved\n\n")
	if len(rep.Resolved) == 0 {
		p("Nothing resolved.\n")
	} else {
		for _, f := range rep.Resolved[:min(resolved, len(rep.Resolved))] {
			p("- %s %.1f · %s · `%s`\n", f.Priority, f.Score, mdInline(findingTitle(&f)), mdCode(f.Artifact))
		}
		if len(rep.Resolved) > resolved {
			p("- … and %d more\n", len(rep.Resolved)-resolved)
		}
	}
	p("\n---\n<sub>")
	if rep.Baseline.Given {
		p("Baseline: %s, matched by %s.", plural(s.BaselineFindings, "finding", "findings"), rep.Match)
	} else {
		p("No baseline given: every finding counts as new.")
	}
	if g := rep.Gate; g != nil {
		if g.Failed {
			p(" `--fail-on %s`: **failed** (%s at %s or above).", g.FailOn, plural(g.Actions, "new action", "new actions"), g.FailOn)
		} else {
			p(" `--fail-on %s`: passed.", g.FailOn)
		}
	}
	p(" sextant %s</sub>\n", mdInline(rep.Version))
	return b.String()
}

// ciTable writes the comparison for a terminal.
func ciTable(w io.Writer, rep *ciReport, top int) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	s := rep.Summary
	if len(rep.New) == 0 {
		p("No new risk.\n")
	} else {
		p("New risk: %s in %s (risk +%.1f)\n", plural(s.NewFindings, "new finding", "new findings"), plural(s.NewActions, "action", "actions"), s.RiskAdded)
		p("  %3s  %-3s  %5s  %s\n", "#", "PRI", "SCORE", "ACTION  [FIXES]")
		for i, a := range rep.New {
			p("  %3d  %-3s  %5.1f  %s  [%s]\n", i+1, a.Priority, a.Score, a.Action.Title, newFixes(&a))
			if top == 0 || i < top {
				for _, c := range a.Action.Commands {
					p("                   $ %s\n", c)
				}
			}
		}
	}
	if len(rep.Resolved) > 0 {
		p("Resolved: %s (risk −%.1f)\n", plural(s.ResolvedFindings, "finding", "findings"), s.RiskRemoved)
		for _, f := range rep.Resolved {
			p("       %-3s  %5.1f  %s (%s)\n", f.Priority, f.Score, findingTitle(&f), f.Artifact)
		}
	}
	if rep.Baseline.Given {
		p("%d findings, %d in the baseline: %d new, %d resolved, %d unchanged; net risk %+.1f (match: %s)\n",
			s.Findings, s.BaselineFindings, s.NewFindings, s.ResolvedFindings, s.Unchanged, s.RiskDelta, rep.Match)
	} else {
		p("%d findings, no baseline: every finding counts as new\n", s.Findings)
	}
	if g := rep.Gate; g != nil {
		verdict := "passed"
		if g.Failed {
			verdict = "failed"
		}
		p("--fail-on %s: %s\n", g.FailOn, verdict)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdInline neutralises Markdown and HTML in text from reports shown inline
// (as internal/render does for its Markdown).
func mdInline(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ", "<", "&lt;", ">", "&gt;", "`", "'", "[", "\\[", "]", "\\]", "*", "\\*", "_", "\\_").Replace(s)
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string { return strings.ReplaceAll(mdInline(s), "|", "\\|") }

// mdCode makes text safe inside a single-backtick span.
func mdCode(s string) string {
	return strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(s)
}

// mdFence keeps text from closing a fenced code block.
func mdFence(s string) string { return strings.ReplaceAll(s, "```", "` ` `") }

func ciWriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeFileWith writes a file through a temporary file beside it, so that
// a failed run never leaves half a file where the next step looks.
func writeFileWith(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(dirOf(path), ".sextant-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// filterSARIF writes the SARIF log b (as render.SARIF writes it) with only
// the results of the findings in keep, and the rules they use.
func filterSARIF(w io.Writer, b []byte, keep map[string]bool) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var doc map[string]any
	if err := d.Decode(&doc); err != nil {
		return fmt.Errorf("read SARIF: %v", err)
	}
	runs, _ := doc["runs"].([]any)
	for _, r := range runs {
		run, _ := r.(map[string]any)
		tool, _ := run["tool"].(map[string]any)
		driver, _ := tool["driver"].(map[string]any)
		if run == nil || driver == nil {
			return errors.New("read SARIF: a run without tool.driver")
		}
		results, _ := run["results"].([]any)
		kept := []any{}
		used := map[string]bool{}
		for _, x := range results {
			res, _ := x.(map[string]any)
			pf, _ := res["partialFingerprints"].(map[string]any)
			id, _ := pf["sextantFindingId/v1"].(string)
			if keep[id] {
				kept = append(kept, res)
				rid, _ := res["ruleId"].(string)
				used[rid] = true
			}
		}
		rules, _ := driver["rules"].([]any)
		keptRules := []any{}
		index := map[string]int{}
		for _, x := range rules {
			rule, _ := x.(map[string]any)
			if id, _ := rule["id"].(string); used[id] {
				index[id] = len(keptRules)
				keptRules = append(keptRules, rule)
			}
		}
		for _, x := range kept {
			res := x.(map[string]any)
			rid, _ := res["ruleId"].(string)
			res["ruleIndex"] = index[rid]
		}
		driver["rules"] = keptRules
		run["results"] = kept
	}
	return ciWriteJSON(w, doc)
}

// prCommenter keeps one comment, found by its marker, on a pull request.
type prCommenter interface {
	StickyComment(ctx context.Context, pr int, marker, body string) (sextant.TicketRef, error)
}

// checkRunner creates a check run on a commit (GitHub's client does).
type checkRunner interface {
	CreateCheckRun(ctx context.Context, headSHA, name, conclusion, summary string, annotations []github.Annotation) (sextant.TicketRef, error)
}

var _ checkRunner = (*github.Client)(nil)

// ciGitHub is where the comment goes, and the client that posts it.
type ciGitHub struct {
	pr    int
	token string
	c     prCommenter
}

// ciGitHub resolves the GitHub settings from the flags and the environment.
// The token comes from the environment only, and no message ever holds it.
func (m *Main) ciGitHub(f ciFlags) (*ciGitHub, error) {
	if f.githubPR <= 0 {
		return nil, sextant.Errorf(sextant.EINVALID, "--github-pr: want the pull request's number, got %d", f.githubPR)
	}
	repo := f.githubRepo
	if repo == "" {
		repo = m.Getenv("GITHUB_REPOSITORY")
	}
	owner, name, ok := strings.Cut(strings.TrimSpace(repo), "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		if repo == "" {
			return nil, sextant.Errorf(sextant.EINVALID, "--github-pr needs the repository: set --github-repo owner/name or GITHUB_REPOSITORY")
		}
		return nil, sextant.Errorf(sextant.EINVALID, "GitHub repository %q: want owner/name", repo)
	}
	token := strings.TrimSpace(m.Getenv("GITHUB_TOKEN"))
	if token == "" {
		return nil, sextant.Errorf(sextant.EINVALID, "--github-pr needs a token with permission to write pull-request comments: set GITHUB_TOKEN (in GitHub Actions: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }})")
	}
	if strings.IndexFunc(token, func(r rune) bool { return r <= ' ' || r >= unicode.MaxASCII }) >= 0 {
		return nil, sextant.Errorf(sextant.EINVALID, "GITHUB_TOKEN holds spaces or control characters")
	}
	base := cmp.Or(strings.TrimSpace(m.Getenv("GITHUB_API_URL")), "https://api.github.com")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "GITHUB_API_URL %q: want http(s)://host[/path]", base)
	}
	if f.timeout <= 0 {
		return nil, sextant.Errorf(sextant.EINVALID, "--github-timeout must be positive, got %s", f.timeout)
	}
	c, err := newPRCommenter(github.Config{BaseURL: base, Owner: owner, Repo: name, Token: token}, &http.Client{Timeout: f.timeout})
	if err != nil {
		return nil, redactError(fmt.Errorf("--github-pr: %w", err), token)
	}
	return &ciGitHub{pr: f.githubPR, token: token, c: c}, nil
}

func (g *ciGitHub) post(ctx context.Context, key, body string) (sextant.TicketRef, error) {
	ref, err := g.c.StickyComment(ctx, g.pr, key, body)
	if err != nil {
		return ref, redactError(fmt.Errorf("comment on pull request #%d: %w", g.pr, err), g.token)
	}
	return ref, nil
}

// redactError makes sure that a secret never reaches a message, whatever
// the layer below put in it.
func redactError(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	code := sextant.ErrorCode(err)
	if code == sextant.EINTERNAL {
		code = sextant.EUNAVAILABLE
	}
	return sextant.Errorf(code, "%s", strings.ReplaceAll(err.Error(), secret, "[redacted]"))
}

var _ prCommenter = (*github.Client)(nil)

// newPRCommenter builds the client that keeps the comment: GitHub's.
func newPRCommenter(cfg github.Config, hc *http.Client) (prCommenter, error) {
	c, err := github.New(cfg, hc)
	if err != nil {
		return nil, err
	}
	return c, nil
}
