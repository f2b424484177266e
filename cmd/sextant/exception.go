package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/exception"
	"github.com/sextant-dev/sextant/internal/intake"
	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/triage"
	"github.com/sextant-dev/sextant/internal/vex"
)

// exceptionFlags are the flags both exception subcommands share.
type exceptionFlags struct {
	policy      string
	reports     []string
	kev, epss   string
	intelDir    string
	noIntel     bool
	contextFile string
}

func (f *exceptionFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.policy, "policy", "", "exception policy YAML (default: the built-in policy, docs/exceptions.md)")
	fl.StringSliceVar(&f.reports, "report", nil, "scanner reports (files or directories) that report the subject: its priority, score and KEV status come from them")
	fl.StringVar(&f.kev, "kev", "", "CISA KEV catalog JSON file (default: the intel cache)")
	fl.StringVar(&f.epss, "epss", "", "FIRST EPSS scores CSV file (default: the intel cache)")
	fl.StringVar(&f.intelDir, "intel-dir", "", "threat-intel cache directory (default: $SEXTANT_INTEL_DIR or the user cache dir)")
	fl.BoolVar(&f.noIntel, "no-intel", false, "use no threat intel beyond what the reports carry")
	fl.StringVar(&f.contextFile, "context", "", "context file: where images run (see docs/scoring.md)")
}

func (m *Main) exceptionCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exception",
		Short: "Assess exception requests against policy, and export accepted ones as OpenVEX",
		Long: `exception assesses a developer's request to accept a finding as a risk, or to
declare it not affected, until a date: the request (YAML) is checked against
an exception policy — maximum expiry per priority, required compensating
controls and evidence, severity limits for KEV-listed and P0 findings,
allowed OpenVEX justifications — with the facts (priority, score, KEV) taken
from the scans given with --report, never from the request. The verdict is
approve, route to a person, or deny, with every check's reason.

The decision is made by code. The request's free text is never read by it,
so instructions hidden in a reason change nothing. A language model, when
SEXTANT_LLM configures one, only writes the narrative around the verdict.

See docs/exceptions.md for the request and policy formats.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(m.exceptionAssessCommand(), m.exceptionVEXCommand())
	return cmd
}

func (m *Main) exceptionAssessCommand() *cobra.Command {
	var f exceptionFlags
	var output string
	cmd := &cobra.Command{
		Use:   "assess [flags] REQUEST.yaml|-",
		Short: "Assess one exception request: approve, route to a person, or deny, with reasons",
		Example: `  sextant exception assess request.yaml --report scans/
  sextant exception assess request.yaml --policy policy.yaml --report scan.json -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return sextant.Errorf(sextant.EINVALID, "unknown output format %q: want text or json", output)
			}
			pol, err := loadExceptionPolicy(f.policy)
			if err != nil {
				return err
			}
			b, err := readArg(cmd.InOrStdin(), args[0])
			if err != nil {
				return err
			}
			req, err := exception.DecodeRequest(b, args[0])
			if err != nil {
				return err
			}
			res, err := m.exceptionScans(cmd, f)
			if err != nil {
				return err
			}
			if res != nil {
				defer res.Close()
			}
			a, err := assessOne(res, req, pol, time.Now())
			if err != nil {
				return err
			}
			if err := m.narrateAssessment(cmd.Context(), &a); err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(a)
			}
			return writeAssessment(cmd.OutOrStdout(), a)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func (m *Main) exceptionVEXCommand() *cobra.Command {
	var f exceptionFlags
	var author string
	cmd := &cobra.Command{
		Use:   "vex [flags] ACCEPTED.yaml|DIR ...",
		Short: "Export accepted not_affected exceptions as an OpenVEX 0.2.0 document",
		Long: `vex writes an OpenVEX 0.2.0 document (https://openvex.dev/ns/v0.2.0) of the
accepted not_affected exceptions among the request files given (directories
are read for *.yaml, *.yml and *.json). Each request is assessed again, today,
with --policy and the scans of --report: it is exported when the policy
approves it, or routes it and the request carries an approval by one of the
policy's approvers. Expired, denied and accepted_risk requests are skipped
with a note on standard error. Products are images by digest (pkg:oci purls),
with the request's purl as subcomponent.`,
		Example: `  sextant exception vex --author "Example Security <security@example.com>" accepted/*.yaml > vex.json
  sextant exception vex --report scans/ accepted/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pol, err := loadExceptionPolicy(f.policy)
			if err != nil {
				return err
			}
			if author == "" {
				author = pol.VEXAuthor
			}
			if strings.TrimSpace(author) == "" {
				return sextant.Errorf(sextant.EINVALID, "an OpenVEX document needs an author: give --author (a person or organisation, best with an e-mail) or vex_author in the policy")
			}
			files, err := requestFiles(args)
			if err != nil {
				return err
			}
			res, err := m.exceptionScans(cmd, f)
			if err != nil {
				return err
			}
			if res != nil {
				defer res.Close()
			} else {
				fmt.Fprintln(cmd.ErrOrStderr(), "sextant: note: without --report the facts are unverified, and only requests approved by a person can be accepted")
			}
			now := time.Now()
			var as []exception.Assessment
			for _, file := range files {
				b, err := os.ReadFile(file)
				if err != nil {
					return sextant.Errorf(sextant.EINVALID, "read exception request: %v", unwrapPathError(err))
				}
				req, err := exception.DecodeRequest(b, file)
				if err != nil {
					return err
				}
				a, err := assessOne(res, req, pol, now)
				if err != nil {
					return err
				}
				as = append(as, a)
			}
			stmts, skipped, err := exception.Statements(as)
			if err != nil {
				return err
			}
			for _, s := range skipped {
				fmt.Fprintf(cmd.ErrOrStderr(), "sextant: skipped %s: %s\n", s.ID, s.Why)
			}
			if len(stmts) == 0 {
				return sextant.Errorf(sextant.EINVALID, "none of the %d request(s) is an accepted not_affected exception: nothing to export", len(files))
			}
			doc, err := vex.New(author, now, stmts)
			if err != nil {
				return err
			}
			return vex.Write(cmd.OutOrStdout(), doc)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&author, "author", "", "author of the OpenVEX document (default: the policy's vex_author)")
	return cmd
}

// loadExceptionPolicy reads a policy file, or returns the default policy.
func loadExceptionPolicy(path string) (exception.Policy, error) {
	if path == "" {
		return exception.DefaultPolicy(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return exception.Policy{}, sextant.Errorf(sextant.EINVALID, "read exception policy: %v", unwrapPathError(err))
	}
	return exception.DecodePolicy(b, path)
}

// readArg reads a file, or standard input for "-".
func readArg(stdin io.Reader, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(stdin, 1<<20+1))
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "read exception request: %v", unwrapPathError(err))
	}
	return b, nil
}

// requestFiles expands directories into their request files, sorted.
func requestFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "exception request %s: %v", a, unwrapPathError(err))
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != a && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if ext := strings.ToLower(filepath.Ext(p)); !d.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "read directory %s: %v", a, err)
		}
		if len(found) == 0 {
			return nil, sextant.Errorf(sextant.EINVALID, "directory %s holds no exception requests (*.yaml, *.yml, *.json)", a)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// exceptionScans triages the --report scans with the intel and context
// `sextant triage` would use; nil when there are none.
func (m *Main) exceptionScans(cmd *cobra.Command, f exceptionFlags) (*triage.Result, error) {
	if len(f.reports) == 0 {
		return nil, nil
	}
	inputs, err := expandInputs(f.reports)
	if err != nil {
		return nil, err
	}
	stderr := cmd.ErrOrStderr()
	warnf := func(format string, a ...any) { fmt.Fprintf(stderr, "sextant: warning: "+format+"\n", a...) }
	opts := triage.Options{Parsers: intake.Parsers(), Weights: risk.DefaultWeights()}
	if _, err := m.loadIntel(triageFlags{kev: f.kev, epss: f.epss, intelDir: f.intelDir, noIntel: f.noIntel}, &opts, warnf); err != nil {
		return nil, err
	}
	if f.contextFile != "" {
		ctxs, err := triage.LoadContexts(f.contextFile)
		if err != nil {
			return nil, err
		}
		opts.Context = ctxs.Lookup
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
			// A scan that cannot be read would leave the facts unverified
			// without saying so: it is an error here, not a warning.
			return nil, err
		}
	}
	res := eng.Finish()
	if err := res.Err(); err != nil {
		res.Close()
		return nil, err
	}
	return res, nil
}

// assessOne finds the request's facts in the scans and assesses it.
func assessOne(res *triage.Result, req exception.Request, pol exception.Policy, now time.Time) (exception.Assessment, error) {
	facts := exception.Unverified("no scan reports were given (--report)")
	if res != nil {
		var err error
		if facts, err = exception.FindFacts(res, req); err != nil {
			return exception.Assessment{}, err
		}
	}
	return exception.Assess(req, pol, facts, now), nil
}

// narrateAssessment writes the assessment's narrative: with the model
// SEXTANT_LLM configures, else the offline templates.
func (m *Main) narrateAssessment(ctx context.Context, a *exception.Assessment) error {
	e, lim, err := m.newExplainer()
	if err != nil {
		return err
	}
	n := &exception.Narrator{Provider: e.Provider, Prompts: e.Prompts, InternalDomains: e.InternalDomains, RegistryHosts: e.RegistryHosts}
	if lim != nil {
		n.Model = lim
	}
	return n.Narrate(ctx, a)
}

// writeAssessment prints an assessment for a person.
func writeAssessment(w io.Writer, a exception.Assessment) error {
	r := a.Request
	verdict := strings.ToUpper(string(a.Verdict))
	switch {
	case a.Verdict == exception.Route && a.Accepted:
		verdict += fmt.Sprintf(" to %s — approved by %s on %s: accepted", a.Approver, r.Approval.By, r.Approval.At)
	case a.Verdict == exception.Route:
		verdict += " to " + a.Approver
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Exception %s\n", r.ID)
	status := string(r.Status)
	if r.Justification != "" {
		status += " (" + string(r.Justification) + ")"
	}
	fmt.Fprintf(&b, "  asks for %s until %s, by %s\n", status, r.Expires, r.Requester)
	fmt.Fprintf(&b, "  policy %s (%s)\n\n", a.Policy.Name, a.Policy.Digest[:12])
	fmt.Fprintf(&b, "Verdict: %s\n\n", verdict)
	width := 0
	for _, x := range a.Reasons {
		width = max(width, len(x.Check))
	}
	for _, x := range a.Reasons {
		mark := "ok"
		if x.Outcome != exception.Approve {
			mark = string(x.Outcome)
		}
		fmt.Fprintf(&b, "  %-6s %-*s  %s\n", mark, width, x.Check, x.Message)
		if x.Fix != "" && x.Outcome != exception.Approve {
			fmt.Fprintf(&b, "  %-6s %-*s  → %s\n", "", width, "", x.Fix)
		}
	}
	if len(a.Facts.Findings) > 0 {
		b.WriteString("\nFindings:\n")
		for _, x := range a.Facts.Findings {
			kev := ""
			if x.KEV {
				kev = "  KEV"
			}
			pkg := x.Package
			if x.Version != "" {
				pkg += " " + x.Version
			}
			fmt.Fprintf(&b, "  %s  %5.1f  %-16s %s  %s%s\n", x.Priority, x.Score, x.Vulnerability, pkg, x.Artifact, kev)
		}
	}
	if n := a.Narrative; n != nil {
		fmt.Fprintf(&b, "\n%s\n%s\n", n.Summary, n.NextSteps)
		if n.Provider != exception.OfflineProvider {
			fmt.Fprintf(&b, "(written by %s/%s; the verdict above is the policy's)\n", n.Provider, n.Model)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
