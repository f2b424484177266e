package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const k8sExample = ex + "k8s/shop.yaml"

func TestK8sScanJSON(t *testing.T) {
	code, out, errs := run(t, "", "k8s", "scan", "-o", "json", k8sExample)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep struct {
		Schema  string `json:"schema"`
		Summary struct {
			Findings, Suppressed int
		} `json:"summary"`
		Findings []struct {
			Check, Title, Severity, Priority, Message string
			Score                                     float64
			Object                                    struct{ Kind, Namespace, Name string }
			Fix                                       *struct {
				StrategicMerge json.RawMessage `json:"strategic_merge"`
				JSONPatch      []any           `json:"json_patch"`
				Kubectl        string
			}
			Suppressed *struct{ Reason string }
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if rep.Schema != "sextant.k8s/v1" || rep.Summary.Findings == 0 {
		t.Fatalf("schema %q, %d findings", rep.Schema, rep.Summary.Findings)
	}
	var sawFix, sawSuppressed bool
	for _, f := range rep.Findings {
		if f.Check == "" || f.Object.Name == "" || f.Message == "" || f.Score <= 0 {
			t.Errorf("incomplete finding %+v", f)
		}
		if f.Fix != nil && f.Fix.Kubectl != "" && len(f.Fix.JSONPatch) > 0 && len(f.Fix.StrategicMerge) > 0 {
			sawFix = true
			if !strings.HasPrefix(f.Fix.Kubectl, "kubectl patch ") {
				t.Errorf("kubectl = %q", f.Fix.Kubectl)
			}
		}
		if f.Suppressed != nil {
			sawSuppressed = true
			if f.Object.Name != "billing-api" || !strings.Contains(f.Suppressed.Reason, "mesh sidecar") {
				t.Errorf("unexpected suppression %+v on %+v", f.Suppressed, f.Object)
			}
		}
	}
	if !sawFix || !sawSuppressed || rep.Summary.Suppressed != 1 {
		t.Errorf("fix with all forms seen: %v; suppression seen: %v (%d)", sawFix, sawSuppressed, rep.Summary.Suppressed)
	}
	// The exposed production web front end outranks the internal API for
	// the same check.
	score := map[string]float64{}
	for _, f := range rep.Findings {
		if f.Check == "SX-K8S-026" {
			score[f.Object.Name] = f.Score
		}
	}
	if score["web"] <= score["billing-api"] {
		t.Errorf("no-CPU-limit score: web %v, billing-api %v; want the exposed web higher", score["web"], score["billing-api"])
	}
}

func TestK8sScanGateAndErrors(t *testing.T) {
	if code, _, _ := run(t, "", "k8s", "scan", "--fail-on", "P2", "-o", "json", k8sExample); code != exitGate {
		t.Errorf("--fail-on P2: exit %d, want %d", code, exitGate)
	}
	if code, _, _ := run(t, "", "k8s", "scan", "--fail-on", "P0", "-o", "json", k8sExample); code != exitOK {
		t.Errorf("--fail-on P0: exit %d, want %d", code, exitOK)
	}
	if code, _, errs := run(t, "", "k8s", "scan"); code != exitError || !strings.Contains(errs, "nothing to read") {
		t.Errorf("no input: exit %d, %q", code, errs)
	}
}

// TestK8sFixYAMLRescans applies every fix to a copy of the example and
// scans it again: every violation that had a verified fix must be gone, and
// the comments must still be there.
func TestK8sFixYAMLRescans(t *testing.T) {
	code, fixed, errs := run(t, "", "k8s", "fix", "-o", "yaml", k8sExample)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(fixed, "# Runs as root with a writable root file system") {
		t.Errorf("fixed file lost its comments:\n%s", fixed)
	}
	p := filepath.Join(t.TempDir(), "shop.yaml")
	if err := os.WriteFile(p, []byte(fixed), 0o600); err != nil {
		t.Fatal(err)
	}
	count := func(file string) (all, fixable int) {
		_, out, _ := run(t, "", "k8s", "scan", "-o", "json", file)
		var rep struct {
			Findings []struct {
				Fix        *struct{ Kubectl string } `json:"fix"`
				Suppressed any                       `json:"suppressed"`
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		for _, f := range rep.Findings {
			if f.Suppressed == nil {
				all++
				if f.Fix != nil {
					fixable++
				}
			}
		}
		return all, fixable
	}
	before, fixableBefore := count(k8sExample)
	after, _ := count(p)
	if fixableBefore == 0 || after > before-fixableBefore+2 {
		t.Errorf("violations: %d before (%d fixable), %d after applying the fixes", before, fixableBefore, after)
	}
	code, diff, _ := run(t, "", "k8s", "fix", k8sExample)
	if code != exitOK || !strings.HasPrefix(diff, "--- a/") || !strings.Contains(diff, "+++ b/") {
		t.Errorf("diff output (exit %d):\n%s", code, diff)
	}
}

func TestK8sPaths(t *testing.T) {
	code, out, errs := run(t, "", "k8s", "paths", k8sExample)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"internet -> Service/shop/web", "Secret/shop/orders-db-credentials", "RoleBinding shop/web-reads-secrets"} {
		if !strings.Contains(out, want) {
			t.Errorf("paths output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run(t, "", "k8s", "paths", "-o", "mermaid", k8sExample)
	if code != exitOK || !strings.HasPrefix(out, "flowchart LR") {
		t.Errorf("mermaid (exit %d):\n%s", code, out)
	}
}

// TestTriageWithK8sContext takes exposure and environment from manifests
// instead of a context file: the evidence must name the Service.
func TestTriageWithK8sContext(t *testing.T) {
	code, out, errs := run(t, "", "triage", "--no-intel", "-o", "json", "--k8s", ex+"k8s/", ex+"reports/shop-web-trivy.json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "exposed via Service web/LoadBalancer port 443") {
		t.Errorf("no exposure evidence from the manifests in:\n%.2000s", out)
	}
}
