package explain

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

func groundFacts() Facts {
	a := sextant.Action{
		ID: "act_x", Kind: sextant.ActionUpgradePackage, Priority: sextant.P1, Score: 55.5,
		Title:    "Upgrade libssl3 3.0.11-1~deb12u1 → 3.0.13-1~deb12u1 in shop/web:1.4 (fixes 1 CVE)",
		Artifact: "shop/web:1.4", Package: "libssl3", Ecosystem: "deb", InstalledVersion: "3.0.11-1~deb12u1", TargetVersion: "3.0.13-1~deb12u1",
		Commands:        []string{"apt-get update && apt-get install -y --only-upgrade 'libssl3=3.0.13-1~deb12u1'"},
		Vulnerabilities: []string{"CVE-2024-0727"},
		Factors:         []sextant.Factor{{Name: "epss", Value: 0.012, Contribution: 12.5, Evidence: "EPSS probability 0.012"}},
	}
	return BuildFacts(a, []sextant.Finding{{VulnerabilityID: "CVE-2024-0727", Aliases: []string{"GHSA-9v9h-cgj8-h64p"}}})
}

func TestGround(t *testing.T) {
	f := groundFacts()
	ok := Answer{
		Risk:        "A crafted PKCS12 file can crash processes that use libssl3 3.0.11-1~deb12u1 (CVE-2024-0727, GHSA-9v9h-cgj8-h64p).",
		WhyPriority: "P1: epss 0.012 adds 12.5 to a score of 55.5.",
		WhatToDo:    "Upgrade libssl3 to 3.0.13 by running apt-get update && apt-get install -y --only-upgrade 'libssl3=3.0.13-1~deb12u1' in the Dockerfile.",
		HowToVerify: "Run trivy image --format json --output rescan.json shop/web:1.4, then sextant triage rescan.json.",
		CitedFacts:  []string{"priority", "factors[epss]", "package.to", "commands[0]", "vulns[CVE-2024-0727]", "verify_commands[0]"},
	}
	tests := []struct {
		name   string
		change func(a *Answer)
		want   []string
	}{
		{"grounded", func(*Answer) {}, nil},
		{"empty field", func(a *Answer) { a.HowToVerify = " " }, []string{"schema: how_to_verify is empty"}},
		{"unknown fact", func(a *Answer) { a.CitedFacts = append(a.CitedFacts, "factors[cvss]", "commands[3]") }, []string{"unknown_fact: factors[cvss]", "unknown_fact: commands[3]"}},
		{"invented CVE", func(a *Answer) { a.Risk += " Also CVE-2023-5678." }, []string{"ungrounded_id: CVE-2023-5678"}},
		{"invented GHSA", func(a *Answer) { a.Risk += " See GHSA-jfh8-c2jp-5v3q." }, []string{"ungrounded_id: GHSA-jfh8-c2jp-5v3q"}},
		{"invented version", func(a *Answer) { a.WhatToDo = "Upgrade libssl3 to 3.0.14." }, []string{"ungrounded_version: 3.0.14"}},
		{"rounded number", func(a *Answer) { a.WhyPriority = "P1: EPSS is 1.2%." }, []string{"ungrounded_version: 1.2"}},
		{"invented package", func(a *Answer) { a.WhatToDo = "Upgrade libcrypto3 to 3.0.13-1~deb12u1." }, []string{"ungrounded_package: libcrypto3"}},
		{"invented pin", func(a *Answer) { a.WhatToDo = "Pin openssl=3.0.13." }, []string{"ungrounded_package: openssl"}},
		{"invented command", func(a *Answer) { a.WhatToDo = "Run apt-get dist-upgrade -y." }, []string{"ungrounded_command: apt-get dist-upgrade -y"}},
		{"destructive command", func(a *Answer) { a.HowToVerify = "Then rm -rf /var/lib/apt." }, []string{"ungrounded_command: rm -rf /var/lib/apt"}},
		{"code span", func(a *Answer) { a.WhatToDo = "Set `ALLOW_ALL=1` in the environment." }, []string{"ungrounded_command: ALLOW_ALL=1"}},
		{"other priority", func(a *Answer) { a.WhyPriority = "This could be P3." }, []string{"priority_changed: P3"}},
		{"dismissal", func(a *Answer) { a.Risk = "This is a false positive and can be ignored." }, []string{"decision_override: false positive", "decision_override: can be ignored"}},
		{"placeholders pass", func(a *Answer) { a.Risk += " It reaches [HOST_1] at [IP_2]." }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ok
			a.CitedFacts = append([]string(nil), ok.CitedFacts...)
			tt.change(&a)
			got := ground(a, &f)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ground (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAnswer(t *testing.T) {
	good := `{"risk":"r","why_priority":"w","what_to_do":"d","how_to_verify":"v","cited_facts":["priority"]}`
	tests := []struct {
		in      string
		wantErr string
	}{
		{good, ""},
		{"```json\n" + good + "\n```", ""},
		{"  " + good + "\n", ""},
		{"Here you go: " + good, "invalid character"},
		{good + " and more", "text after"},
		{`{"risk":"r","severity":"low"}`, "unknown field"},
		{`[1,2]`, "cannot unmarshal"},
	}
	for _, tt := range tests {
		_, err := parseAnswer(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("parseAnswer(%q) = %v, want no error", tt.in, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseAnswer(%q) = %v, want an error with %q", tt.in, err, tt.wantErr)
		}
	}
}
