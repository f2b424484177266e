package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/intake"
	"github.com/sextant-dev/sextant/internal/k8s"
	"github.com/sextant-dev/sextant/internal/render"
	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/triage"
)

// clusterFlags select the objects a Kubernetes command looks at: manifest
// paths, or a live cluster.
type clusterFlags struct {
	kubeconfig, context string
	namespaces          []string
	backstage           []string
	nsTeams, nsEnvs     []string
}

func (f *clusterFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "read a live cluster with this kubeconfig (read-only: get and list)")
	fl.StringVar(&f.context, "context", "", "kubeconfig context to use (default: the current one)")
	fl.StringSliceVarP(&f.namespaces, "namespace", "n", nil, "limit a live scan to these namespaces (repeat or comma-separate)")
	fl.StringSliceVar(&f.backstage, "backstage", nil, "Backstage catalog-info.yaml files naming owners")
	fl.StringSliceVar(&f.nsTeams, "namespace-team", nil, "owner of a namespace's workloads, as NAMESPACE=TEAM")
	fl.StringSliceVar(&f.nsEnvs, "namespace-env", nil, "environment of a namespace's workloads, as NAMESPACE=ENV")
}

func (f *clusterFlags) live() bool { return f.kubeconfig != "" || f.context != "" }

// inventory loads the manifests named by paths, or the live cluster.
func (f *clusterFlags) inventory(ctx context.Context, paths []string) (*k8s.Inventory, error) {
	switch {
	case len(paths) > 0 && f.live():
		return nil, sextant.Errorf(sextant.EINVALID, "give manifests or --kubeconfig/--context, not both")
	case len(paths) > 0:
		return k8s.LoadFiles(paths...)
	case f.live():
		return k8s.LoadLive(ctx, k8s.LiveOptions{Kubeconfig: f.kubeconfig, Context: f.context, Namespaces: f.namespaces}, nil)
	}
	return nil, sextant.Errorf(sextant.EINVALID, "nothing to read: name manifest files or directories, or a cluster with --kubeconfig/--context")
}

// clusterContext builds the workload context of an inventory with the
// owner and environment options.
func (f *clusterFlags) clusterContext(inv *k8s.Inventory) (*k8s.Context, error) {
	opts := k8s.ContextOptions{}
	var err error
	if opts.NamespaceTeams, err = pairs("--namespace-team", f.nsTeams); err != nil {
		return nil, err
	}
	if opts.NamespaceEnvironments, err = pairs("--namespace-env", f.nsEnvs); err != nil {
		return nil, err
	}
	if len(f.backstage) > 0 {
		if opts.Backstage, err = k8s.LoadBackstage(f.backstage...); err != nil {
			return nil, err
		}
	}
	return k8s.BuildContext(inv, opts), nil
}

func pairs(flag string, vs []string) (map[string]string, error) {
	if len(vs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, v := range vs {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" || val == "" {
			return nil, sextant.Errorf(sextant.EINVALID, "%s %q: want NAMESPACE=VALUE", flag, v)
		}
		m[k] = val
	}
	return m, nil
}

func (m *Main) k8sCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "k8s",
		Short: "Kubernetes: misconfigurations with verified fixes, workload context, attack paths",
		Long: `The k8s commands read Kubernetes objects from manifests (YAML directories,
multi-document files, 'kubectl get -o yaml' Lists, rendered Helm output) or
from a live cluster (--kubeconfig/--context; only get and list are used, and
Secrets are read as metadata only).

  sextant k8s scan ./manifests/               misconfigurations, scored and ranked
  sextant k8s fix ./manifests/ -o diff         every fix as a reviewable diff
  sextant k8s paths ./manifests/               attack paths from the internet to crown jewels
  sextant triage --k8s ./manifests/ scans/     vulnerability priorities with workload context

An exception is data on the object itself:
  metadata.annotations["sextant.dev/ignore.SX-K8S-001"]: "reason=needs raw sockets; expires=2027-03-31"`,
	}
	cmd.AddCommand(m.k8sScanCommand(), m.k8sFixCommand(), m.k8sPathsCommand())
	return cmd
}

func (m *Main) k8sScanCommand() *cobra.Command {
	var cf clusterFlags
	var output, failOn, minPriority, configFile string
	var top int
	cmd := &cobra.Command{
		Use:   "scan [flags] [MANIFEST|DIR ...]",
		Short: "Check workloads, RBAC and network objects; rank violations by risk with their fixes",
		Long: `scan runs every check (Pod Security Standards baseline and restricted, CIS
Kubernetes Benchmark section 5, NSA/CISA hardening, and the reliability checks
of kube-score and Polaris) and scores each violation with the same model as
vulnerabilities: exposure, privilege and environment of the workload count.
Each violation carries its fix as a strategic-merge patch, a JSON patch and a
kubectl command.

Exit codes: 0 ok; 1 usage or input error; 3 the --fail-on gate tripped
(suppressed violations never count).`,
		Example: `  sextant k8s scan ./manifests/
  sextant k8s scan --kubeconfig ~/.kube/config --context prod -o json
  sextant k8s scan --fail-on P1 deploy.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			minPrio, err := sextant.ParsePriority(minPriority)
			if err != nil {
				return fmt.Errorf("--min-priority: %w", err)
			}
			w, err := m.weights(configFile)
			if err != nil {
				return err
			}
			inv, err := cf.inventory(cmd.Context(), args)
			if err != nil {
				return err
			}
			cx, err := cf.clusterContext(inv)
			if err != nil {
				return err
			}
			// The renderers derive the fix forms of what they show.
			rep := k8s.ScanWithOptions(inv, cx, k8s.AllChecks(), w, time.Now(), k8s.ScanOptions{DeferFixForms: true})
			for _, wn := range rep.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "sextant: warning: %s\n", wn)
			}
			out := cmd.OutOrStdout()
			ro := render.Options{Top: top, MinPriority: minPrio, Version: sextantVersion(), Width: m.termWidth(out)}
			switch output {
			case "table":
				err = render.K8sTable(out, rep, ro)
			case "json":
				err = render.K8sJSON(out, rep)
			case "markdown", "md":
				err = render.K8sMarkdown(out, rep, ro)
			case "sarif":
				err = render.K8sSARIF(out, rep, ro)
			default:
				return sextant.Errorf(sextant.EINVALID, "unknown output format %q: want table, json, markdown or sarif", output)
			}
			if err != nil {
				return err
			}
			return gate(failOn, func(p sextant.Priority) int {
				n := 0
				for _, f := range rep.Findings {
					if f.Suppressed == nil && f.Priority <= p {
						n++
					}
				}
				return n
			})
		},
	}
	cf.register(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&output, "output", "o", "table", "output format: table, json, markdown or sarif")
	fl.StringVar(&failOn, "fail-on", "", "exit with code 3 if any violation is at this priority or above (P0..P3)")
	fl.StringVar(&minPriority, "min-priority", "P3", "hide violations below this priority")
	fl.IntVar(&top, "top", 0, "show only the N highest-ranked violations (0: all)")
	fl.StringVar(&configFile, "config", "", "config file with a risk: section of weights (default: $SEXTANT_CONFIG)")
	return cmd
}

// gate returns a gateError when count(p) > 0 for the --fail-on priority.
func gate(failOn string, count func(sextant.Priority) int) error {
	if failOn == "" {
		return nil
	}
	p, err := sextant.ParsePriority(failOn)
	if err != nil {
		return fmt.Errorf("--fail-on: %w", err)
	}
	if n := count(p); n > 0 {
		return &gateError{n: n}
	}
	return nil
}

func (m *Main) weights(configFile string) (risk.Weights, error) {
	if configFile == "" {
		configFile = m.Getenv("SEXTANT_CONFIG")
	}
	if configFile == "" {
		return risk.DefaultWeights(), nil
	}
	return risk.LoadWeights(configFile)
}

func (m *Main) k8sFixCommand() *cobra.Command {
	var output string
	var write bool
	cmd := &cobra.Command{
		Use:   "fix [flags] MANIFEST|DIR ...",
		Short: "Apply the fix of every violation to manifest files, keeping comments and order",
		Long: `fix computes the minimal fix of every (unsuppressed) violation that has a
safe automatic one, verifies it (the patched object still decodes strictly and
the check passes), and applies it to the YAML text itself: comments, key order,
quoting and the other documents stay as they are.

  -o diff    a unified diff of every file (git apply / patch -p1)   [default]
  -o yaml    the fixed manifests (one file; or use --write for many)
  -o patch   the patches alone: JSON patch, strategic-merge patch, kubectl command

Fixes that may break an application say so (on stderr); read them before applying.`,
		Example: `  sextant k8s fix ./manifests/ -o diff > fixes.patch && git apply fixes.patch
  sextant k8s fix deploy.yaml -o yaml
  sextant k8s fix --write ./manifests/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "diff", "yaml", "patch":
			default:
				return sextant.Errorf(sextant.EINVALID, "unknown output format %q: want diff, yaml or patch", output)
			}
			inv, err := k8s.LoadFiles(args...)
			if err != nil {
				return err
			}
			errw := cmd.ErrOrStderr()
			for _, wn := range inv.Warnings {
				fmt.Fprintf(errw, "sextant: warning: %s\n", wn)
			}
			checks := map[string]k8s.Check{}
			for _, c := range k8s.AllChecks() {
				checks[c.ID] = c
			}
			objects := map[k8s.Ref]*k8s.Object{}
			for _, o := range inv.Objects {
				objects[o.Ref()] = o
			}
			byFile := map[string][]k8s.ObjectFix{}
			var files []string
			out := cmd.OutOrStdout()
			for _, v := range k8s.Run(inv, k8s.AllChecks(), time.Now()) {
				o := objects[v.Object]
				if v.Fix == nil || v.Suppressed != nil || o == nil || o.Source.File == "" {
					continue
				}
				if err := k8s.Verify(o, v.Fix, checks[v.CheckID]); err != nil {
					fmt.Fprintf(errw, "sextant: warning: %s on %s: fix not applied, it did not verify: %v\n", v.CheckID, v.Object, err)
					continue
				}
				if v.Fix.Breaks != "" {
					fmt.Fprintf(errw, "sextant: note: %s on %s may break the application: %s\n", v.CheckID, v.Object, v.Fix.Breaks)
				}
				if output == "patch" {
					f := k8s.Scan(&k8s.Inventory{Objects: []*k8s.Object{o}}, nil, []k8s.Check{checks[v.CheckID]}, risk.DefaultWeights(), time.Now())
					for _, sf := range f.Findings {
						if sf.Fix != nil && sf.Container == v.Container {
							fmt.Fprintf(out, "# %s %s %s\n", v.CheckID, v.Object, v.Message)
							if sf.Fix.Kubectl != "" {
								fmt.Fprintf(out, "%s\n", sf.Fix.Kubectl)
							}
							if err := render.WriteIndentedJSON(out, sf.Fix); err != nil {
								return err
							}
							break
						}
					}
					continue
				}
				if _, ok := byFile[o.Source.File]; !ok {
					files = append(files, o.Source.File)
				}
				byFile[o.Source.File] = append(byFile[o.Source.File], k8s.ObjectFix{Object: o, Fix: v.Fix})
			}
			if output == "patch" {
				return nil
			}
			if output == "yaml" && len(files) > 1 && !write {
				return sextant.Errorf(sextant.EINVALID, "-o yaml prints one file; %d files have fixes: name one, or use --write to fix them in place", len(files))
			}
			for _, file := range files {
				content, err := os.ReadFile(file)
				if err != nil {
					return sextant.Errorf(sextant.EINVALID, "read %s: %v", file, err)
				}
				switch {
				case write:
					fixed, err := k8s.ApplyToFile(content, byFile[file])
					if err != nil {
						return fmt.Errorf("%s: %w", file, err)
					}
					if err := writeFileAtomic(file, fixed); err != nil {
						return err
					}
					fmt.Fprintf(errw, "fixed %s (%d fixes)\n", file, len(byFile[file]))
				case output == "yaml":
					fixed, err := k8s.ApplyToFile(content, byFile[file])
					if err != nil {
						return fmt.Errorf("%s: %w", file, err)
					}
					if _, err := out.Write(fixed); err != nil {
						return err
					}
				default:
					d, err := k8s.FileDiff(file, content, byFile[file])
					if err != nil {
						return fmt.Errorf("%s: %w", file, err)
					}
					if _, err := io.WriteString(out, d); err != nil {
						return err
					}
				}
			}
			if len(files) == 0 {
				fmt.Fprintln(errw, "sextant: nothing to fix automatically")
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "diff", "output: diff, yaml or patch")
	cmd.Flags().BoolVar(&write, "write", false, "fix the files in place")
	return cmd
}

// writeFileAtomic replaces a file by renaming a complete copy over it, so an
// interrupted write never leaves half a manifest.
func writeFileAtomic(path string, b []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return sextant.Errorf(sextant.EINVALID, "write %s: %v", path, err)
	}
	tmp, err := os.CreateTemp(dirOf(path), ".sextant-*")
	if err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "write %s: %v", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return sextant.Errorf(sextant.EUNAVAILABLE, "write %s: %v", path, err)
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return sextant.Errorf(sextant.EUNAVAILABLE, "write %s: %v", path, err)
	}
	if err := tmp.Close(); err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "write %s: %v", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return sextant.Errorf(sextant.EUNAVAILABLE, "write %s: %v", path, err)
	}
	return nil
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1]
	}
	return "."
}

func (m *Main) k8sPathsCommand() *cobra.Command {
	var cf clusterFlags
	var output, reports string
	var limit int
	cmd := &cobra.Command{
		Use:   "paths [flags] [MANIFEST|DIR ...]",
		Short: "Attack paths from the internet to crown jewels, and each workload's blast radius",
		Long: `paths builds a graph from internet entry points (LoadBalancer and NodePort
Services, Ingresses, Gateway routes, host networking) through workloads and
their containers (with their vulnerabilities, from --reports), service
accounts and RBAC, to secrets, nodes (privileged or hostPath escapes), cloud
identities and crown jewels (databases, vaults, and anything labelled
sextant.dev/crown-jewel=true), and prints the likeliest and shortest paths,
each hop with its evidence.

  -o text | json | dot | mermaid | svg (svg needs Graphviz's dot)`,
		Example: `  sextant k8s paths ./manifests/
  sextant k8s paths --kubeconfig ~/.kube/config --reports scans/ -o mermaid
  sextant k8s paths ./manifests/ -o dot | dot -Tsvg > paths.svg`,
		RunE: func(cmd *cobra.Command, args []string) error {
			inv, err := cf.inventory(cmd.Context(), args)
			if err != nil {
				return err
			}
			opts := k8s.GraphOptions{}
			if reports != "" {
				if opts.Vulns, err = m.vulnSummaries(reports); err != nil {
					return err
				}
			}
			g, err := k8s.BuildGraph(inv, opts)
			if err != nil {
				return err
			}
			paths := k8s.FindPaths(g, k8s.PathOptions{Limit: limit})
			out := cmd.OutOrStdout()
			switch output {
			case "text":
				return k8s.WritePathsText(out, k8s.NewPathReport(g, paths))
			case "json":
				return k8s.WritePathsJSON(out, k8s.NewPathReport(g, paths))
			case "dot":
				return k8s.WritePathsDOT(out, g, paths)
			case "mermaid":
				return k8s.WritePathsMermaid(out, g, paths)
			case "svg":
				var dot bytes.Buffer
				if err := k8s.WritePathsDOT(&dot, g, paths); err != nil {
					return err
				}
				svg, err := k8s.RenderSVG(cmd.Context(), dot.Bytes())
				if err != nil {
					return err
				}
				_, err = out.Write(svg)
				return err
			}
			return sextant.Errorf(sextant.EINVALID, "unknown output format %q: want text, json, dot, mermaid or svg", output)
		},
	}
	cf.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output: text, json, dot, mermaid or svg")
	cmd.Flags().StringVar(&reports, "reports", "", "scanner reports (file or directory) whose vulnerabilities weigh the paths")
	cmd.Flags().IntVar(&limit, "limit", 20, "show at most N paths, likeliest first (0: all)")
	return cmd
}

// vulnSummaries triages reports and summarises each image's
// vulnerabilities for the attack-path graph.
func (m *Main) vulnSummaries(path string) (map[string]k8s.VulnSummary, error) {
	inputs, err := expandInputs([]string{path})
	if err != nil {
		return nil, err
	}
	opts := triage.Options{Parsers: intake.Parsers(), Weights: risk.DefaultWeights()}
	if _, err := m.loadIntel(triageFlags{}, &opts, func(string, ...any) {}); err != nil {
		return nil, err
	}
	eng := triage.New(opts)
	for _, in := range inputs {
		rc, err := in.open(nil)
		if err != nil {
			return nil, err
		}
		_, err = eng.Read(in.name, rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
	}
	res := eng.Finish()
	defer res.Close()
	out := map[string]k8s.VulnSummary{}
	err = res.EachFinding(false, func(f *triage.FindingView) error {
		if f.Kind != sextant.KindVulnerability {
			return nil
		}
		s := out[f.Artifact]
		if f.Severity == "CRITICAL" {
			s.Critical++
		}
		for _, fc := range f.Factors {
			if fc.Name == risk.FactorKEV && fc.Value == true {
				s.KEV++
			}
			if fc.Name == risk.FactorImpact {
				if v, ok := fc.Value.(float64); ok && v > s.MaxScore {
					s.MaxScore = v
				}
			}
		}
		if len(s.CVEs) < 5 {
			s.CVEs = append(s.CVEs, f.Vulnerability)
		}
		out[f.Artifact] = s
		return nil
	})
	return out, err
}
