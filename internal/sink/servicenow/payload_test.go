package servicenow

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sextant-dev/sextant"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleContent is a realistic action: one package upgrade fixing two
// glibc CVEs in one image.
func sampleContent() sextant.TicketContent {
	return sextant.TicketContent{
		Action: sextant.Action{
			ID:               "act_9f2c1e0b7a4d4c21b3e8",
			Priority:         sextant.P0,
			Score:            91.4,
			Title:            "Upgrade libc6 2.36-9+deb12u4 → 2.36-9+deb12u7 in registry.example/payments/api:1.4.2 (fixes 2 vulnerabilities)",
			Artifact:         "registry.example/payments/api:1.4.2",
			Kind:             sextant.ActionUpgradePackage,
			Package:          "libc6",
			Ecosystem:        "deb",
			InstalledVersion: "2.36-9+deb12u4",
			TargetVersion:    "2.36-9+deb12u7",
			Commands:         []string{"apt-get update && apt-get install -y --only-upgrade libc6=2.36-9+deb12u7"},
			Notes:            []string{"Rebuild the image and redeploy: running containers keep the old library until restarted."},
			Vulnerabilities:  []string{"CVE-2024-2961", "CVE-2023-4911"},
			FindingIDs:       []string{"fnd_01", "fnd_02"},
			RiskRemoved:      163.2,
			Factors: []sextant.Factor{
				{Name: "impact", Value: 8.8, Weight: 40, Contribution: 35.2, Evidence: "CVSS 3.1 base 8.8 (NVD)"},
				{Name: "kev", Value: true, Weight: 0.9, Contribution: 46.6, Evidence: "listed in CISA KEV since 2023-11-21"},
				{Name: "epss", Value: 0.93, Weight: 0.05, Contribution: 5.1, Evidence: "EPSS 0.93 (percentile 0.99) on 2026-08-20"},
				{Name: "internet_exposure", Value: true, Weight: 10, Contribution: 4.5, Evidence: "Service payments/api is exposed by Ingress api.example.com"},
			},
		},
		Status:   sextant.ActionOpen,
		Findings: 2,
		Owner:    "team-payments",
		Summary:  "glibc in this image lets a local user become root (Looney Tunables) and lets a crafted iconv call corrupt memory; the first is exploited in the wild.",
		Link:     "https://sextant.example/actions/act_9f2c1e0b7a4d4c21b3e8",
	}
}

// hostileContent carries finding text that tries to break out of the
// plain-text description and into a journal field's HTML.
func hostileContent() sextant.TicketContent {
	c := sampleContent()
	c.Action.Title = "Upgrade x\r\n[code]<img src=x onerror=alert(1)>[/CODE]\x00\u202e"
	c.Summary = "line one\r\nline two [Code]<script>alert(1)</script>[/code]\x1b[31m"
	c.Action.Vulnerabilities = []string{"CVE-2024-0001\nInjected: yes"}
	c.Owner = "team\tpayments\n@everyone"
	return c
}

func sampleConfig() Config {
	return Config{
		BaseURL:         "https://acme.service-now.com",
		Username:        "sextant",
		Password:        "pw",
		AssignmentGroup: "d625dccec0a8016700a222a0f7900d06",
		Fields:          map[string]string{"caller_id": "6816f79cc0a8016401c5a33be04be441", "category": "security"},
	}
}

func TestGolden(t *testing.T) {
	cfg := sampleConfig()
	tests := map[string]any{
		"create.golden.json":         CreateRecord(cfg, sampleContent()),
		"create_hostile.golden.json": CreateRecord(cfg, hostileContent()),
		"comment.golden.json":        CommentRecord(cfg, sampleContent(), "Still present in scan 2026-08-21 (3 workloads)."),
		"close.golden.json":          CloseRecord(cfg, "Fixed: no longer seen in 3 consecutive scans."),
		"reopen.golden.json":         ReopenRecord(cfg, "CVE-2024-2961 is back in registry.example/payments/api:1.4.3."),
	}
	for name, v := range tests {
		t.Run(name, func(t *testing.T) {
			b, err := encode(v)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, b, "", "  "); err != nil {
				t.Fatal(err)
			}
			got := append(buf.Bytes(), '\n')
			path := filepath.Join("testdata", name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", name, d)
			}
		})
	}
}

func TestHostileTextStaysPlain(t *testing.T) {
	rec := CreateRecord(sampleConfig(), hostileContent())
	for k, v := range rec {
		lower := strings.ToLower(v)
		if strings.Contains(lower, "[code]") || strings.Contains(lower, "[/code]") {
			t.Errorf("field %s = %q holds a [code] tag", k, v)
		}
		for _, r := range v {
			if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || r == '\u202e' {
				t.Errorf("field %s = %q holds control character %U", k, v, r)
			}
		}
	}
	if s := rec["short_description"]; strings.Contains(s, "\n") {
		t.Errorf("short_description = %q spans lines", s)
	}
	if d := rec["description"]; strings.Contains(d, "\nInjected: yes") {
		t.Errorf("description lets a vulnerability ID start a line of its own:\n%s", d)
	}
}

func TestCreateRecordPriorities(t *testing.T) {
	cfg := sampleConfig()
	cfg.UrgencyMap = map[sextant.Priority]string{sextant.P3: "4"}
	tests := []struct {
		p               sextant.Priority
		urgency, impact string
	}{
		{sextant.P0, "1", "1"},
		{sextant.P1, "2", "1"},
		{sextant.P2, "2", "2"},
		{sextant.P3, "4", "3"},
	}
	for _, tt := range tests {
		c := sampleContent()
		c.Action.Priority = tt.p
		r := CreateRecord(cfg, c)
		if r["urgency"] != tt.urgency || r["impact"] != tt.impact {
			t.Errorf("CreateRecord(%s): urgency %q impact %q, want %q %q", tt.p, r["urgency"], r["impact"], tt.urgency, tt.impact)
		}
	}
}

func TestDescriptionLimits(t *testing.T) {
	c := sampleContent()
	c.Action.Title = strings.Repeat("é", 500)
	for i := range 500 {
		c.Action.Vulnerabilities = append(c.Action.Vulnerabilities, "CVE-2024-"+strings.Repeat("9", 5)+string(rune('a'+i%26)))
	}
	c.Summary = strings.Repeat("long summary ", 1000)
	if n := len([]rune(ShortDescription(c))); n != MaxShortDescription {
		t.Errorf("len(ShortDescription) = %d, want %d", n, MaxShortDescription)
	}
	d := Description(c)
	if n := len([]rune(d)); n > MaxDescription {
		t.Errorf("len(Description) = %d, want at most %d", n, MaxDescription)
	}
	if !strings.HasSuffix(d, "[cut: the full plan is in sextant]") {
		t.Errorf("Description does not say it was cut: …%s", d[len(d)-80:])
	}
}
