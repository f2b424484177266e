package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant/internal/fixtures"
)

// rt is where the runtime copilot's own small event files are.
const rt = "../../internal/runtime/testdata/"

type investigateDoc struct {
	Schema string `json:"schema"`
	Inputs []struct {
		Name    string `json:"name"`
		Events  int    `json:"events"`
		Skipped int    `json:"skipped"`
	} `json:"inputs"`
	Summary struct {
		Events    int            `json:"events"`
		Incidents int            `json:"incidents"`
		ByVerdict map[string]int `json:"by_verdict"`
	} `json:"summary"`
	Baseline *struct {
		Entries int `json:"entries"`
		Learned *struct {
			Added   int      `json:"added"`
			Refused []string `json:"refused"`
		} `json:"learned"`
	} `json:"baseline"`
	Incidents []struct {
		ID         string  `json:"id"`
		Verdict    string  `json:"verdict"`
		Confidence float64 `json:"confidence"`
		EventCount int     `json:"event_count"`
		Subject    struct {
			Pod string `json:"pod"`
		} `json:"subject"`
		Workload *struct {
			Ref struct {
				Kind, Namespace, Name string
			} `json:"ref"`
			Exposed bool `json:"exposed"`
		} `json:"workload"`
		Vulns *struct {
			Image    string `json:"image"`
			Findings int    `json:"findings"`
		} `json:"image_vulnerabilities"`
		Drafts []struct {
			Kind     string `json:"kind"`
			Executed bool   `json:"executed"`
			Approval string `json:"approval"`
		} `json:"drafts"`
		Narrative *struct {
			Text     string `json:"text"`
			Provider string `json:"provider"`
			Grounded bool   `json:"grounded"`
		} `json:"narrative"`
	} `json:"incidents"`
}

func decodeInvestigate(t *testing.T, out string) investigateDoc {
	t.Helper()
	var d investigateDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if d.Schema != "sextant.investigate/v1" {
		t.Fatalf("schema = %q", d.Schema)
	}
	return d
}

// TestInvestigateFixtures runs the command over the directory of real
// Falco events: every file is read (its non-JSON lines skipped with a
// warning), the events group into incidents, each with a narrative
// written offline.
func TestInvestigateFixtures(t *testing.T) {
	dir := fixtures.Dir(t, "falco", "events")
	code, out, errs := run(t, "", "investigate", "-o", "json", dir)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	d := decodeInvestigate(t, out)
	if len(d.Inputs) < 4 || d.Summary.Events == 0 || d.Summary.Incidents == 0 || len(d.Incidents) != d.Summary.Incidents {
		t.Fatalf("inputs %d, summary %+v", len(d.Inputs), d.Summary)
	}
	for _, in := range d.Inputs {
		if in.Events == 0 {
			t.Errorf("%s: no events", in.Name)
		}
	}
	if !strings.Contains(errs, "lines that are not JSON skipped") {
		t.Errorf("stderr does not warn about the skipped lines:\n%s", errs)
	}
	events := 0
	for _, inc := range d.Incidents {
		events += inc.EventCount
		if inc.Narrative == nil || inc.Narrative.Text == "" || inc.Narrative.Provider != "offline" || !inc.Narrative.Grounded {
			t.Errorf("%s: narrative %+v", inc.ID, inc.Narrative)
		}
		for _, dr := range inc.Drafts {
			if dr.Executed || dr.Approval != "required" {
				t.Errorf("%s: draft %+v", inc.ID, dr)
			}
		}
	}
	if events != d.Summary.Events {
		t.Errorf("incidents hold %d events, the summary says %d", events, d.Summary.Events)
	}
	if d.Incidents[0].Verdict != "malicious" {
		t.Errorf("first incident is %s, want the malicious ones first", d.Incidents[0].Verdict)
	}
}

func TestInvestigateK8sReportsGate(t *testing.T) {
	args := []string{"investigate", "--k8s", ex + "k8s/", "--reports", ex + "reports/"}
	code, out, errs := run(t, "", append(args, "-o", "json", rt+"shell-egress.jsonl")...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	d := decodeInvestigate(t, out)
	inc := d.Incidents[0]
	if inc.Verdict != "malicious" || inc.Workload == nil || inc.Workload.Ref.Kind != "Deployment" || inc.Workload.Ref.Name != "web" || !inc.Workload.Exposed {
		t.Errorf("incident = %+v", inc)
	}
	if inc.Vulns == nil || inc.Vulns.Image != "registry.example.com/shop/web:1.4" || inc.Vulns.Findings == 0 {
		t.Errorf("image vulnerabilities = %+v", inc.Vulns)
	}
	if len(inc.Drafts) != 4 {
		t.Errorf("%d drafts, want 4", len(inc.Drafts))
	}

	code, out, errs = run(t, "", append(args, "--fail-on", "malicious", rt+"shell-egress.jsonl")...)
	if code != exitGate || !strings.Contains(errs, "1 incident(s) malicious or worse") {
		t.Errorf("--fail-on malicious: exit %d, stderr:\n%s", code, errs)
	}
	if !strings.Contains(out, "#1  MALICIOUS") || !strings.Contains(out, "kubectl -n shop label pod web-7d9f8c6b5-x2x4q sextant.dev/quarantine=true") ||
		!strings.Contains(out, "NOT executed") {
		t.Errorf("table output:\n%s", out)
	}
	code, _, errs = run(t, "", "investigate", "--fail-on", "malicious", rt+"api-discovery.jsonl")
	if code != exitOK {
		t.Errorf("--fail-on malicious with a suspicious incident: exit %d, stderr:\n%s", code, errs)
	}
	code, _, _ = run(t, "", "investigate", "--fail-on", "suspicious", rt+"api-discovery.jsonl")
	if code != exitGate {
		t.Errorf("--fail-on suspicious with a suspicious incident: exit %d, want %d", code, exitGate)
	}
}

func TestInvestigateLearn(t *testing.T) {
	base := filepath.Join(t.TempDir(), "baseline.json")
	code, out, errs := run(t, "", "investigate", "--baseline", base, "--learn", "-o", "json", rt+"backup-routine.jsonl", rt+"shell-egress.jsonl")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, errs)
	}
	d := decodeInvestigate(t, out)
	if d.Baseline == nil || d.Baseline.Learned == nil || d.Baseline.Learned.Added != 2 || len(d.Baseline.Learned.Refused) != 1 {
		t.Fatalf("baseline = %+v", d.Baseline)
	}
	if !strings.Contains(errs, "malicious incident(s) not learned") || !strings.Contains(errs, "2 tuple(s) added") {
		t.Errorf("stderr:\n%s", errs)
	}
	if _, err := os.Stat(base); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, "", "investigate", "--baseline", base, "-o", "markdown", rt+"backup-routine-again.jsonl")
	if code != exitOK || !strings.Contains(out, "## 1. KNOWN-BENIGN") || !strings.Contains(out, "learned baseline of image registry.example.com/ops/backup") {
		t.Errorf("second run: exit %d\n%s%s", code, out, errs)
	}
}

func TestInvestigateStdinAndUsage(t *testing.T) {
	b, err := os.ReadFile(rt + "api-discovery.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "Falco starting\n"+string(b), "investigate", "-")
	if code != exitOK || !strings.Contains(out, "#1  SUSPICIOUS") || !strings.Contains(errs, "-: line 1: not JSON, skipped") {
		t.Errorf("stdin: exit %d\n%s%s", code, out, errs)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"investigate"}, "no events given"},
		{[]string{"investigate", "--learn", rt + "api-discovery.jsonl"}, "--learn needs --baseline"},
		{[]string{"investigate", "-o", "sarif", rt + "api-discovery.jsonl"}, "unknown output format"},
		{[]string{"investigate", "--fail-on", "benign", rt + "api-discovery.jsonl"}, "want malicious or suspicious"},
		{[]string{"investigate", "--window", "0s", rt + "api-discovery.jsonl"}, "--window must be positive"},
		{[]string{"investigate", "--baseline", filepath.Join(t.TempDir(), "none.json"), rt + "api-discovery.jsonl"}, "create it with --learn"},
		{[]string{"investigate", "no-such-file.jsonl"}, "no-such-file.jsonl"},
	} {
		code, _, errs := run(t, "", tc.args...)
		if code != exitError || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errs, exitError, tc.want)
		}
	}
}
