package triage_test

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/triage"
	"github.com/sextant-dev/sextant/internal/version"
)

// TestDebianTargetsAgreeWithDpkg plans the real Debian and Ubuntu reports
// and checks every suggested package version with the real dpkg: it must be
// greater than the installed version and at least every fixed version of
// every CVE the action claims to fix (with the epoch the scanner may have
// dropped put back). A downgrade or an uninstallable version fails.
func TestDebianTargetsAgreeWithDpkg(t *testing.T) {
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg not installed: this test checks versions against the real dpkg")
	}
	reports := [][]string{
		{"trivy", "real", "trivy-image-juice-shop-v19.0.0-debian12-node-secrets.json"},
		{"trivy", "more", "trivy-0.69.3-nginx-latest-debian13.json"},
		{"trivy", "more", "trivy-legacy-2020-problematic-project-debian10.2-python.json"},
		{"trivy", "more", "trivy-nowasp-mutillidae-ubuntu14.04.json"},
		{"trivy", "dd", "trivy-image-debian-10.json"},
		{"trivy", "golden", "debian-buster.json"},
		{"trivy", "golden", "debian-stretch.json"},
		{"trivy", "golden", "ubuntu-18.04.json"},
		{"grype", "dd-grype-defectdojo-django-1.13.1-debian10.json"},
		{"grype", "more", "grype-0.110.0-nginx-latest-debian13-epss.json"},
		{"grype", "more", "grype-0.97.1-my-app-debian12-python-epss.json"},
		{"sarif", "trivy-0.64.0-sarif-bitnami-redis-7.0.5-debian11.sarif.json"},
	}
	type check struct{ a, op, b, why string }
	var checks []check
	epochDropped := 0
	for _, rp := range reports {
		path := fixtures.Dir(t, rp...)
		// BaseImageShare above 1 turns base-image grouping off, so that
		// every OS package gets its own upgrade with a version to check.
		e := triage.New(triage.Options{Parsers: parsers(), Weights: risk.DefaultWeights(), BaseImageShare: 2})
		readFile(t, e, path)
		res := e.Finish()
		targets := map[string]sextant.Action{}
		for _, a := range res.Actions {
			if a.Kind == sextant.ActionUpgradePackage && a.Ecosystem == "deb" {
				targets[a.ID] = a
			}
		}
		if len(targets) == 0 {
			// Some images (nginx on Debian 13) have only unfixed CVEs.
			t.Logf("%s: no Debian package upgrades planned", rp[len(rp)-1])
			continue
		}
		res.EachFinding(false, func(v *triage.FindingView) error {
			a, ok := targets[v.ActionID]
			if !ok {
				return nil
			}
			where := fmt.Sprintf("%s: %s %s in action %q", rp[len(rp)-1], v.Vulnerability, v.Package, a.Title)
			checks = append(checks, check{a.TargetVersion, "gt", v.InstalledVersion, where + " (target above installed)"})
			for _, fx := range strings.Split(v.FixedVersion, ", ") {
				if fx == "" {
					continue
				}
				aligned := version.AlignEpoch("deb", v.InstalledVersion, fx)
				if aligned != fx {
					epochDropped++
				}
				c, err := version.Compare("deb", aligned, v.InstalledVersion)
				if err != nil || c <= 0 {
					// A fixed version at or below the installed one is a
					// fix for another release line; the planner skips it.
					continue
				}
				checks = append(checks, check{a.TargetVersion, "ge", aligned, where + " (target at least fixed " + fx + ")"})
			}
			return nil
		})
	}
	if len(checks) < 200 {
		t.Fatalf("only %d version checks: the reports should yield hundreds", len(checks))
	}
	var script bytes.Buffer
	for i, c := range checks {
		fmt.Fprintf(&script, "dpkg --compare-versions %s %s %s || echo %d\n", shq(c.a), c.op, shq(c.b), i)
	}
	out, err := exec.Command("sh", "-c", script.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg: %v\n%s", err, out)
	}
	failed := strings.Fields(string(out))
	for _, f := range failed {
		var i int
		if _, err := fmt.Sscan(f, &i); err != nil || i >= len(checks) {
			t.Errorf("dpkg said: %s", out)
			break
		}
		c := checks[i]
		t.Errorf("dpkg --compare-versions %s %s %s is false: %s", c.a, c.op, c.b, c.why)
	}
	t.Logf("%d dpkg checks, %d failed; %d fixed versions had their epoch restored", len(checks), len(failed), epochDropped)
}

func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestRPMTargetsNeverDowngrade plans the real Red Hat family reports and
// checks every suggested version with the rpm ordering (no rpm binary
// here): above the installed version, at least every fixed version the
// action claims, with a dropped epoch put back.
func TestRPMTargetsNeverDowngrade(t *testing.T) {
	reports := [][]string{
		{"trivy", "real", "trivy-image-ubi7-7.6-1000vulns.json"},
		{"trivy", "golden", "centos-7.json"},
		{"trivy", "golden", "amazon-2.json"},
		{"trivy", "golden", "almalinux-8.json"},
		{"trivy", "golden", "ubi-7-comprehensive.json"},
		{"grype", "real-grype-ubi7-7.6.json.gz"},
		{"grype", "dd-grype-kafka-connect-rhel8.7.json"},
	}
	checked := 0
	for _, rp := range reports {
		e := triage.New(triage.Options{Parsers: parsers(), Weights: risk.DefaultWeights(), BaseImageShare: 2})
		readFile(t, e, fixtures.Dir(t, rp...))
		res := e.Finish()
		targets := map[string]sextant.Action{}
		for _, a := range res.Actions {
			if a.Kind == sextant.ActionUpgradePackage && a.Ecosystem == "rpm" {
				targets[a.ID] = a
			}
		}
		res.EachFinding(false, func(v *triage.FindingView) error {
			a, ok := targets[v.ActionID]
			if !ok {
				return nil
			}
			if c, err := version.Compare("rpm", a.TargetVersion, v.InstalledVersion); err != nil || c <= 0 {
				t.Errorf("%s: %s %s: target %s is not above installed %s (%v)", rp[len(rp)-1], v.Vulnerability, v.Package, a.TargetVersion, v.InstalledVersion, err)
			}
			checked++
			for _, fx := range strings.Split(v.FixedVersion, ", ") {
				if fx == "" {
					continue
				}
				aligned := version.AlignEpoch("rpm", v.InstalledVersion, fx)
				if c, err := version.Compare("rpm", aligned, v.InstalledVersion); err != nil || c <= 0 {
					continue // a fix for another release line
				}
				if c, err := version.Compare("rpm", a.TargetVersion, aligned); err != nil || c < 0 {
					t.Errorf("%s: %s %s: target %s is below fixed %s (%v)", rp[len(rp)-1], v.Vulnerability, v.Package, a.TargetVersion, aligned, err)
				}
				checked++
			}
			return nil
		})
		res.Close()
	}
	if checked < 100 {
		t.Fatalf("only %d rpm version checks: the reports should yield hundreds", checked)
	}
	t.Logf("%d rpm version checks", checked)
}
