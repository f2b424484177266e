package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run runs the real program in-process and returns its exit code and output.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{
		Args:   args,
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errb,
		Getenv: func(k string) string {
			if k == "SEXTANT_INTEL_DIR" {
				return filepath.Join(t.TempDir(), "intel")
			}
			return ""
		},
	}
	code := m.Run(context.Background())
	return code, out.String(), errb.String()
}

const ex = "../../examples/"

var exampleArgs = []string{"--kev", ex + "intel/kev-example.json", "--epss", ex + "intel/epss-example.csv", "--context", ex + "context.yaml", ex + "reports/"}

func TestTriageExamplesTable(t *testing.T) {
	code, out, errs := run(t, "", append([]string{"triage"}, exampleArgs...)...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	for _, want := range []string{"PRI", "SCORE", "log4j-core", "docker build --pull", "npm install lodash@4.17.21", "intel: KEV example"} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("table output has colour codes though stdout is not a terminal")
	}
	// Log4Shell is KEV-listed with ransomware use: its upgrade must be P0,
	// and the first rows are P0.
	lines := strings.Split(out, "\n")
	if len(lines) < 2 || !strings.Contains(lines[1], " P0 ") {
		t.Errorf("first action = %q, want a P0", lines[1])
	}
	found := false
	for _, l := range lines {
		if strings.Contains(l, "Upgrade org.apache.logging.log4j:log4j-core 2.14.1 → 2.17.1") {
			found = true
			if !strings.Contains(l, " P0 ") {
				t.Errorf("log4j-core upgrade row = %q, want P0", l)
			}
		}
	}
	if !found {
		t.Errorf("no log4j-core upgrade to 2.17.1 (the version that fixes all four log4j CVEs):\n%s", out)
	}
}

func TestTriageJSONContract(t *testing.T) {
	code, out, errs := run(t, "", append([]string{"triage", "-o", "json"}, exampleArgs...)...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	var doc struct {
		Schema  string `json:"schema"`
		Summary struct {
			Findings, Actions int
		} `json:"summary"`
		Actions []struct {
			ID, Priority, Title, Artifact, Kind string
			Score                               float64
			Commands, Vulnerabilities           []string
			FindingIDs                          []string `json:"finding_ids"`
			Factors                             []struct {
				Name         string
				Value        any
				Weight       *float64
				Contribution *float64
			}
		} `json:"actions"`
		Findings []struct {
			ID, Vulnerability, Package, Priority string
			InstalledVersion                     string `json:"installed_version"`
			FixedVersion                         string `json:"fixed_version"`
			ActionID                             string `json:"action_id"`
			Score                                float64
			Sources                              []map[string]any
			Factors                              []map[string]any
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if doc.Schema != "sextant.triage/v1" {
		t.Errorf("schema = %q", doc.Schema)
	}
	if doc.Summary.Findings != len(doc.Findings) || doc.Summary.Actions != len(doc.Actions) {
		t.Errorf("summary %+v, but %d findings and %d actions listed", doc.Summary, len(doc.Findings), len(doc.Actions))
	}
	actionIDs := map[string]bool{}
	for i, a := range doc.Actions {
		actionIDs[a.ID] = true
		if i > 0 && a.Score > doc.Actions[i-1].Score {
			t.Errorf("actions not sorted by score at %d", i)
		}
		if a.ID == "" || a.Priority == "" || a.Title == "" || len(a.FindingIDs) == 0 || len(a.Factors) == 0 {
			t.Errorf("action %d incomplete: %+v", i, a)
		}
		for _, f := range a.Factors {
			if f.Name == "" || f.Weight == nil || f.Contribution == nil {
				t.Errorf("action %s factor incomplete: %+v", a.ID, f)
			}
		}
	}
	merged := 0
	for _, f := range doc.Findings {
		if f.ActionID == "" || !actionIDs[f.ActionID] {
			t.Errorf("finding %s (%s) has action_id %q, not one of the actions", f.ID, f.Vulnerability, f.ActionID)
		}
		if len(f.Sources) == 2 {
			merged++
		}
	}
	if merged < 3 {
		t.Errorf("%d findings attributed to both trivy and grype, want at least 3 (the examples scan one image twice)", merged)
	}
}

func TestTriageStdinAndGate(t *testing.T) {
	report, err := os.ReadFile(ex + "reports/billing-api-trivy.json")
	if err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, string(report), "triage", "--kev", ex+"intel/kev-example.json", "--fail-on", "P0", "-q", "-")
	if code != exitGate {
		t.Errorf("--fail-on P0 on Log4Shell: exit %d, want %d; stderr:\n%s", code, exitGate, errs)
	}
	code, out, _ := run(t, string(report), "triage", "--kev", ex+"intel/kev-example.json", "-q", "-")
	if code != exitOK || out != "" {
		t.Errorf("-q without gate: exit %d, output %q; want 0 and nothing", code, out)
	}
}

func TestTriageBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"truncated", []string{write("cut.json", `{"SchemaVersion": 2, "ArtifactName": "x", "Results": [{"Target": "a", "Vulnerabilities": [{"VulnerabilityID": "CVE-2021-1`)}, "cut.json"},
		{"unknown format", []string{write("odd.json", `{"hello": "world"}`)}, `unknown format: a JSON object with top-level keys "hello"`},
		{"missing file", []string{filepath.Join(dir, "nope.json")}, "no such file"},
		{"no reports in dir", []string{t.TempDir()}, "holds no report files"},
		{"no args", nil, "no reports given"},
		{"bad priority", []string{"--fail-on", "P7", write("ok.json", `{"SchemaVersion": 2, "Results": []}`)}, "unknown priority"},
		{"bad output", []string{"-o", "xml", "x"}, "unknown output format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := run(t, "", append([]string{"triage", "--no-intel"}, tt.args...)...)
			if code != exitError || !strings.Contains(errs, tt.want) {
				t.Errorf("triage %v: exit %d, stderr %q; want exit %d mentioning %q", tt.args, code, errs, exitError, tt.want)
			}
			if strings.Contains(errs, "panic") || strings.Contains(errs, "goroutine") {
				t.Errorf("triage %v panicked:\n%s", tt.args, errs)
			}
		})
	}
}

func TestTriageWarnsWithoutIntel(t *testing.T) {
	code, _, errs := run(t, "", "triage", ex+"reports/shop-web-trivy.json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "no KEV catalog") || !strings.Contains(errs, "sextant intel update") {
		t.Errorf("stderr = %q, want a warning that KEV is missing and how to get it", errs)
	}
}

func TestTriageOutputs(t *testing.T) {
	for _, f := range []string{"markdown", "sarif"} {
		code, out, errs := run(t, "", append([]string{"triage", "-o", f}, exampleArgs...)...)
		if code != exitOK {
			t.Fatalf("-o %s: exit %d: %s", f, code, errs)
		}
		switch f {
		case "markdown":
			if !strings.HasPrefix(out, "## sextant triage") || !strings.Contains(out, "```sh") {
				t.Errorf("markdown output:\n%s", out)
			}
		case "sarif":
			var log struct {
				Version string `json:"version"`
				Runs    []struct {
					Results []map[string]any `json:"results"`
				} `json:"runs"`
			}
			if err := json.Unmarshal([]byte(out), &log); err != nil || log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) == 0 {
				t.Errorf("sarif output: %v %+v", err, log)
			}
		}
	}
}

func TestTriageDockerfileDiff(t *testing.T) {
	code, out, errs := run(t, "", "triage", "--no-intel", "--dockerfile", ex+"Dockerfile", ex+"reports/shop-web-trivy.json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "+++ ") || !strings.Contains(out, "@@") {
		t.Errorf("no unified diff in output:\n%s", out)
	}
}

func TestTriageProgress(t *testing.T) {
	code, _, errs := run(t, "", "triage", "--no-intel", "--progress", "always", "-q", ex+"reports/shop-web-trivy.json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	// The bar redraws four times a second; a short run may end before the
	// first draw, but it must always clear its line and never leave a
	// partial bar behind.
	if strings.Contains(errs, "reading") && !strings.HasSuffix(errs, "\r\x1b[K") {
		t.Errorf("progress output not cleared at the end: %q", errs)
	}
	code, _, errs = run(t, "", "triage", "--no-intel", "--progress", "never", ex+"reports/shop-web-trivy.json")
	if code != exitOK || strings.Contains(errs, "reading") {
		t.Errorf("--progress never: exit %d, stderr %q", code, errs)
	}
}
