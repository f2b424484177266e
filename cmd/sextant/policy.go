package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/policydraft"
)

func (m *Main) policyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Draft Kubernetes admission policies from plain language",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(m.policyDraftCommand())
	return cmd
}

func (m *Main) policyDraftCommand() *cobra.Command {
	var (
		output  string
		checks  []string
		enforce bool
	)
	cmd := &cobra.Command{
		Use:   "draft [flags] REQUEST...",
		Short: "Draft a Kyverno ClusterPolicy and a ValidatingAdmissionPolicy from a request in plain language",
		Long: `draft reads a policy request in plain English — "no container may run as root
in namespace payments" — and writes two admission policies that say the same
thing: a Kyverno ClusterPolicy and a ValidatingAdmissionPolicy with its
binding (CEL, admissionregistration.k8s.io/v1).

The request is read by deterministic rules into an intent (run as root,
privileged, privilege escalation, host network/PID/IPC, hostPath, latest tag,
resource limits, allowed registries, capabilities, read-only root
filesystem; "in namespace X", "except in X"); the policies are generated
from it by code. A request that cannot be read completely is refused, with
the list of what can be. When SEXTANT_LLM configures a model, a request the
rules cannot read is given to the model to propose an intent — which is
checked, shown, and still turned into policies by code.

Before the drafts are shown, both are parsed back and checked (the CEL is
compiled with cel-go) and the CEL policy is evaluated on built-in samples.
--check evaluates it on your manifests and lists what it would deny.
The drafts audit and warn; --enforce makes them deny.

See docs/policy-draft.md.`,
		Example: `  sextant policy draft "no container may run as root in namespace payments"
  sextant policy draft --check ./manifests "images must come from registry.example.com except in kube-system"
  sextant policy draft -o kyverno --enforce no privileged containers > policy.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch output {
			case "text", "json", "kyverno", "vap":
			default:
				return sextant.Errorf(sextant.EINVALID, "unknown output format %q: want text, json, kyverno or vap", output)
			}
			request := strings.Join(args, " ")
			d, err := policydraft.New(request, policydraft.Options{Enforce: enforce})
			if err != nil && sextant.ErrorCode(err) == sextant.EINVALID {
				d, err = m.proposeDraft(cmd, request, enforce, err)
			}
			if err != nil {
				return err
			}
			if len(checks) > 0 {
				rs, warnings, err := policydraft.LoadResources(checks...)
				if err != nil {
					return err
				}
				d.CheckResources(rs, warnings)
			}
			out := cmd.OutOrStdout()
			switch output {
			case "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(d)
			case "kyverno", "vap":
				text := d.Kyverno
				if output == "vap" {
					text = d.VAP
				}
				if _, err := io.WriteString(out, text); err != nil {
					return err
				}
				// Standard output stays one applicable manifest; the check
				// goes to standard error.
				if d.Check != nil {
					return writeCheck(cmd.ErrOrStderr(), d, "")
				}
				return nil
			}
			return writeDraft(out, d)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&output, "output", "o", "text", "output: text (both drafts and the checks, as YAML with comments), json, kyverno or vap (that draft alone)")
	fl.StringSliceVar(&checks, "check", nil, "Kubernetes manifests (files or directories) to evaluate the drafted policy on")
	fl.BoolVar(&enforce, "enforce", false, "draft policies that deny (Kyverno Enforce, binding Deny) instead of auditing and warning")
	return cmd
}

// proposeDraft asks the configured model for the intent of a request the
// parser refused; offline, the parser's refusal stands.
func (m *Main) proposeDraft(cmd *cobra.Command, request string, enforce bool, parseErr error) (*policydraft.Draft, error) {
	e, lim, err := m.newExplainer()
	if err != nil {
		return nil, err
	}
	if lim == nil {
		return nil, parseErr
	}
	p := &policydraft.Proposer{Model: lim, Provider: e.Provider, Prompts: e.Prompts, InternalDomains: e.InternalDomains, RegistryHosts: e.RegistryHosts}
	prop, err := p.Propose(cmd.Context(), request)
	if err != nil {
		return nil, fmt.Errorf("%s\n\nThe model could not read it either: %s", sextant.ErrorMessage(parseErr), firstLineOf(sextant.ErrorMessage(err)))
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "sextant: the rules did not read this request; %s proposed the intent %q: check it before applying the policies\n", prop.Source(), prop.Intent.String())
	return policydraft.Generate(prop.Intent, request, prop.Source(), policydraft.Options{Enforce: enforce})
}

func firstLineOf(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// writeDraft prints both drafts as one YAML stream, with what was
// understood and checked as comments.
func writeDraft(w io.Writer, d *policydraft.Draft) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Request: %s\n", oneLine(d.Request))
	fmt.Fprintf(&b, "# Intent:  %s (read by the %s)\n", d.Intent, d.IntentSource)
	mode := "audit and warn"
	if d.Enforce {
		mode = "deny"
	}
	fmt.Fprintf(&b, "# Mode:    %s\n", mode)
	b.WriteString("# Apply ONE of the two drafts below: the Kyverno ClusterPolicy, or the\n# ValidatingAdmissionPolicy and its binding.\n#\n")
	b.WriteString("# Self-check of the CEL policy:\n")
	for _, s := range d.SelfCheck {
		fmt.Fprintf(&b, "#   %s\n", s)
	}
	b.WriteString("\n# --- Kyverno ClusterPolicy ---\n")
	b.WriteString(d.Kyverno)
	b.WriteString("---\n# --- ValidatingAdmissionPolicy and binding ---\n")
	b.WriteString(d.VAP)
	if d.Check != nil {
		b.WriteString("\n")
		if err := writeCheck(&b, d, "# "); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCheck prints what the drafted policy would decide on the checked
// manifests, each line prefixed.
func writeCheck(w io.Writer, d *policydraft.Draft, prefix string) error {
	c := d.Check
	var b strings.Builder
	fmt.Fprintf(&b, "%sCheck: %d object(s) read, %d the policy applies to: %d would be denied, %d admitted.\n", prefix, c.Objects, c.Matched, len(c.Denied), c.Admitted)
	for _, x := range c.Denied {
		src := ""
		if x.Source != "" {
			src = " (" + x.Source + ")"
		}
		fmt.Fprintf(&b, "%s  DENY %s%s\n", prefix, x.Resource, src)
		for _, f := range x.Failures {
			fmt.Fprintf(&b, "%s       %s\n", prefix, f)
		}
		if x.Error != "" {
			fmt.Fprintf(&b, "%s       could not be evaluated (%s): with failurePolicy Fail the API server denies it\n", prefix, x.Error)
		}
	}
	for _, wn := range c.Warnings {
		fmt.Fprintf(&b, "%s  warning: %s\n", prefix, wn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
