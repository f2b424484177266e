package sextant

import (
	"testing"
	"time"
)

func TestCanonicalVulnerabilityID(t *testing.T) {
	tests := []struct {
		id      string
		aliases []string
		want    string
	}{
		{"CVE-2021-44228", nil, "CVE-2021-44228"},
		{"cve-2021-44228", nil, "CVE-2021-44228"},
		{"GHSA-jfh8-c2jp-5v3q", []string{"CVE-2021-44228"}, "CVE-2021-44228"},
		{"GHSA-x", []string{"CVE-2022-2", "CVE-2021-9"}, "CVE-2021-9"},
		{"RHSA-2023:1234", nil, "RHSA-2023:1234"},
		{"ds002", nil, "DS002"},
		{" CVE-2020-1 ", nil, "CVE-2020-1"},
	}
	for _, tt := range tests {
		if got := CanonicalVulnerabilityID(tt.id, tt.aliases); got != tt.want {
			t.Errorf("CanonicalVulnerabilityID(%q, %q) = %q, want %q", tt.id, tt.aliases, got, tt.want)
		}
	}
}

func base() *Finding {
	return &Finding{
		Kind:            KindVulnerability,
		VulnerabilityID: "CVE-2023-4863",
		Package:         Package{Ecosystem: "deb", Name: "libwebp7", Version: "1.2.4-0.2"},
		Artifact:        Artifact{Name: "web:1.4", Digest: "sha256:abc"},
		Severity:        SeverityHigh,
		Source:          Source{Scanner: "trivy", ScanTime: time.Unix(1, 0)},
	}
}

// TestFingerprintIdentity: what identifies a finding changes the fingerprint;
// what only describes it does not.
func TestFingerprintIdentity(t *testing.T) {
	ref := Fingerprint(base())
	if len(ref) != 32 {
		t.Fatalf("Fingerprint = %q, want 32 hex digits", ref)
	}
	same := map[string]func(f *Finding){
		"other scanner":      func(f *Finding) { f.Source = Source{Scanner: "grype", Version: "0.74"} },
		"other severity":     func(f *Finding) { f.Severity = SeverityCritical; f.Title = "x"; f.Description = "y" },
		"GHSA with CVE":      func(f *Finding) { f.VulnerabilityID = "GHSA-xxxx"; f.Aliases = []string{"CVE-2023-4863"} },
		"zero epoch":         func(f *Finding) { f.Package.Version = "0:1.2.4-0.2" },
		"digest case":        func(f *Finding) { f.Artifact.Digest = "SHA256:ABC" },
		"other tag name":     func(f *Finding) { f.Artifact.Name = "registry/web:latest" },
		"fixed versions":     func(f *Finding) { f.FixedVersions = []string{"1.2.4-0.2+deb12u1"} },
		"scanner's pkg type": func(f *Finding) { f.Package.Type = "debian" },
	}
	for name, mutate := range same {
		f := base()
		mutate(f)
		if got := Fingerprint(f); got != ref {
			t.Errorf("%s: Fingerprint = %s, want %s (unchanged)", name, got, ref)
		}
	}
	differ := map[string]func(f *Finding){
		"other CVE":       func(f *Finding) { f.VulnerabilityID = "CVE-2023-4864" },
		"other package":   func(f *Finding) { f.Package.Name = "libwebp6" },
		"other version":   func(f *Finding) { f.Package.Version = "1.2.4-0.3" },
		"other ecosystem": func(f *Finding) { f.Package.Ecosystem = "rpm" },
		"other image":     func(f *Finding) { f.Artifact.Digest = "sha256:def" },
		"other kind":      func(f *Finding) { f.Kind = KindMisconfiguration },
	}
	for name, mutate := range differ {
		f := base()
		mutate(f)
		if got := Fingerprint(f); got == ref {
			t.Errorf("%s: Fingerprint unchanged, want a different identity", name)
		}
	}
	// Findings without a package are told apart by location.
	a, b := base(), base()
	a.Package, b.Package = Package{}, Package{}
	a.Location, b.Location = "/app/a.js:3", "/app/b.js:3"
	if Fingerprint(a) == Fingerprint(b) {
		t.Error("two secrets at different locations share a fingerprint")
	}
}

func TestNormalizePackageName(t *testing.T) {
	tests := []struct{ eco, in, want string }{
		{"pypi", "Django_REST.framework", "django-rest-framework"},
		{"pypi", "a__b", "a-b"},
		{"npm", "@Scope/Pkg", "@Scope/Pkg"},
		{"nuget", "Newtonsoft.Json", "newtonsoft.json"},
		{"maven", "org.Apache:x", "org.Apache:x"},
	}
	for _, tt := range tests {
		if got := NormalizePackageName(tt.eco, tt.in); got != tt.want {
			t.Errorf("NormalizePackageName(%q, %q) = %q, want %q", tt.eco, tt.in, got, tt.want)
		}
	}
}

func TestEcosystem(t *testing.T) {
	tests := map[string]string{
		"debian": "deb", "ubuntu": "deb", "redhat": "rpm", "amazon": "rpm", "alpine": "apk", "wolfi": "apk",
		"node-pkg": "npm", "python-pkg": "pypi", "jar": "maven", "java-archive": "maven", "gobinary": "golang",
		"go-module": "golang", "gemspec": "gem", "rust-crate": "cargo", "dotnet-core": "nuget", "composer": "composer",
		"Something-New": "something-new",
	}
	for in, want := range tests {
		if got := Ecosystem(in); got != want {
			t.Errorf("Ecosystem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseSeverity(t *testing.T) {
	tests := []struct {
		in   string
		want Severity
		ok   bool
	}{
		{"CRITICAL", SeverityCritical, true}, {"important", SeverityHigh, true}, {"Moderate", SeverityMedium, true},
		{"negligible", SeverityNegligible, true}, {"unimportant", SeverityNegligible, true}, {"", SeverityUnknown, true},
		{"error", SeverityHigh, true}, {"note", SeverityLow, true}, {"bogus", SeverityUnknown, false},
	}
	for _, tt := range tests {
		got, ok := ParseSeverity(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseSeverity(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	for score, want := range map[float64]Severity{9.8: SeverityCritical, 7.0: SeverityHigh, 5.3: SeverityMedium, 0.1: SeverityLow, 0: SeverityUnknown} {
		if got := SeverityFromCVSS(score); got != want {
			t.Errorf("SeverityFromCVSS(%v) = %v, want %v", score, got, want)
		}
	}
}

func TestSplitImageRef(t *testing.T) {
	tests := []struct{ ref, repo, tag, digest string }{
		{"nginx:1.25", "nginx", "1.25", ""},
		{"registry:5000/team/app", "registry:5000/team/app", "", ""},
		{"registry:5000/team/app:v2@sha256:abc", "registry:5000/team/app", "v2", "sha256:abc"},
		{"app@sha256:abc", "app", "", "sha256:abc"},
	}
	for _, tt := range tests {
		repo, tag, digest := SplitImageRef(tt.ref)
		if repo != tt.repo || tag != tt.tag || digest != tt.digest {
			t.Errorf("SplitImageRef(%q) = %q, %q, %q, want %q, %q, %q", tt.ref, repo, tag, digest, tt.repo, tt.tag, tt.digest)
		}
	}
}

func TestArtifactKeyAndBaseLayers(t *testing.T) {
	a := Artifact{Name: "x", Repository: "r", Tags: []string{"1"}}
	if a.Key() != "r:1" {
		t.Errorf("Key() = %q, want r:1", a.Key())
	}
	a.Layers, a.BaseLayers = []string{"l1", "l2", "l3"}, 2
	for layer, want := range map[string]bool{"l1": true, "l2": true, "l3": false} {
		if in, known := a.InBaseImage(layer); in != want || !known {
			t.Errorf("InBaseImage(%q) = %v, %v, want %v, true", layer, in, known, want)
		}
	}
	if _, known := a.InBaseImage("other"); known {
		t.Error("InBaseImage(unknown layer) known")
	}
}

func TestPriorityAndErrors(t *testing.T) {
	for _, s := range []string{"P0", "p1", " P2 ", "P3"} {
		p, err := ParsePriority(s)
		if err != nil || p.String() == "" {
			t.Errorf("ParsePriority(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParsePriority("P4"); ErrorCode(err) != EINVALID {
		t.Errorf("ParsePriority(P4) error code = %q, want %q", ErrorCode(err), EINVALID)
	}
	var p Priority
	if err := p.UnmarshalText([]byte("P1")); err != nil || p != P1 {
		t.Errorf("UnmarshalText(P1) = %v, %v", p, err)
	}
	if ActionID(ActionUpgradePackage, "a", "deb/x") != ActionID(ActionUpgradePackage, "a", "deb/x") ||
		ActionID(ActionUpgradePackage, "a", "deb/x") == ActionID(ActionUpgradePackage, "b", "deb/x") {
		t.Error("ActionID is not a stable identity")
	}
	if got := SortStrings([]string{"b", "a", "b"}); len(got) != 2 || got[0] != "a" {
		t.Errorf("SortStrings = %v", got)
	}
}

func TestEcosystemFromVersion(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"debian security", "1.1.1n-0+deb11u3", "deb"},
		{"dfsg", "1:1.2.11.dfsg-2", "deb"},
		{"ubuntu", "2.35-0ubuntu3.1", "deb"},
		{"alpine release", "1.35.0-r29", "apk"},
		{"alpine release without digits", "1.35.0-rc", ""},
		{"rhel", "2.17-326.el7", "rpm"},
		{"amazon", "1.0.2k-24.amzn2.0.4", "rpm"},
		{"fedora", "3.1-2.fc39", "rpm"},
		{"mariner", "1.2-3.cm2", "rpm"},
		{"azure linux", "1.2-3.azl3", "rpm"},
		{"photon", "1.2-3.ph4", "rpm"},
		{"dist tag without digit", "1.0.element", ""},
		{"plain semver", "2.2.4", ""},
		{"go version", "v1.18.8", ""},
		{"debian binNMU", "8.32-4+b1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EcosystemFromVersion(tt.in); got != tt.want {
				t.Errorf("EcosystemFromVersion(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsDigest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"sha256", "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", true},
		{"upper-case hex", "sha256:9F86D081884C7D659A2FEAA0C55AD015", true},
		{"32 hex digits", "md5:0123456789abcdef0123456789abcdef", true},
		{"too short", "sha256:0123456789abcdef0123456789abcde", false},
		{"not hex", "sha256:0123456789abcdef0123456789abcdeg", false},
		{"no algorithm", ":0123456789abcdef0123456789abcdef", false},
		{"no colon", "0123456789abcdef0123456789abcdef", false},
		{"tag", "nginx:1.25", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsDigest(tt.in); got != tt.want {
				t.Errorf("IsDigest(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
