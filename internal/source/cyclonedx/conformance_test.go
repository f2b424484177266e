package cyclonedx

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
)

// countIn counts findings the way this package defines them, with a plain
// encoding/json decode: one per affects entry of each vulnerability, and one
// for a vulnerability that lists none. ok is false when the document has no
// vulnerabilities section.
func countIn(t testing.TB, b []byte) (n int, ok bool) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	vs, ok := doc["vulnerabilities"].([]any)
	for _, v := range vs {
		aff, _ := v.(map[string]any)["affects"].([]any)
		n += max(1, len(aff))
	}
	return n, ok
}

func cdxFixtures(t *testing.T) map[string][]byte {
	t.Helper()
	files := fixtures.Files(t, "sbom")
	files = append(files, filepath.Join(fixtures.Dir(t, "trivy", "golden"), "npm-cyclonedx.json"))
	out := map[string][]byte{}
	for _, p := range files {
		if !strings.HasSuffix(p, ".json") && !strings.HasSuffix(p, ".json.gz") {
			continue
		}
		b := sourcetest.Read(t, p)
		var head struct {
			BOMFormat string `json:"bomFormat"`
		}
		if json.Unmarshal(b, &head) != nil || head.BOMFormat != "CycloneDX" {
			continue
		}
		out[filepath.Base(p)] = b
	}
	if len(out) < 7 {
		t.Fatalf("found %d CycloneDX fixtures, want at least 7", len(out))
	}
	return out
}

func TestConformance(t *testing.T) {
	for name, b := range cdxFixtures(t) {
		t.Run(name, func(t *testing.T) {
			want, hasSection := countIn(t, b)
			got, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(b), name)
			if len(got) != want || info.Findings != want {
				t.Errorf("Parse(%q) emitted %d findings, info says %d, want %d", name, len(got), info.Findings, want)
			}
			if info.Format != Format || info.Source.Scanner == "cyclonedx" || info.Source.Version == "" {
				t.Errorf("Parse(%q) info = %+v, want format %q and the tool that wrote it", name, info, Format)
			}
			if want == 0 {
				// No vulnerability data: a warning says to scan first, and
				// the report resolves nothing.
				if info.Complete || len(info.Warnings) == 0 || !strings.Contains(strings.Join(info.Warnings, "\n"), "trivy sbom") {
					t.Errorf("Parse(%q) (section present: %v) info = %+v, want incomplete with a warning to scan it first", name, hasSection, info)
				}
			}
			for i, f := range got {
				if f.ID == "" || f.VulnerabilityID == "" || f.Artifact.Key() == "" || f.Package.Name == "" {
					t.Fatalf("Parse(%q) finding %d = id %q, vulnerability %q, artifact key %q, package %q; want all set", name, i, f.ID, f.VulnerabilityID, f.Artifact.Key(), f.Package.Name)
				}
			}
			again, _ := sourcetest.ParseAll(t, Parse, bytes.NewReader(b), name)
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("Parse(%q) differs between two parses:\n%s", name, diff)
			}
		})
	}
}

// TestHandChecked compares the one real fixture with vulnerabilities with
// what the file says, and the image identity of the Trivy SBOMs with their
// ImageID property.
func TestHandChecked(t *testing.T) {
	all := cdxFixtures(t)
	got, info := sourcetest.ParseAll(t, Parse, bytes.NewReader(all["npm-cyclonedx.json"]), "npm-cyclonedx.json")
	if len(got) != 1 {
		t.Fatalf("Parse(npm-cyclonedx.json) = %d findings, want 1", len(got))
	}
	f := got[0]
	want := sextant.Package{Ecosystem: "npm", Type: "npm", Name: "jquery", Version: "3.3.9", PURL: "pkg:npm/jquery@3.3.9"}
	if diff := cmp.Diff(want, f.Package); diff != "" {
		t.Errorf("Parse(npm-cyclonedx.json) package (-want +got):\n%s", diff)
	}
	if f.VulnerabilityID != "CVE-2019-11358" || f.Severity != sextant.SeverityMedium || !info.Complete {
		t.Errorf("Parse(npm-cyclonedx.json) = %s %v (complete %v), want CVE-2019-11358 MEDIUM, complete", f.VulnerabilityID, f.Severity, info.Complete)
	}
	if diff := cmp.Diff([]string{"3.4.0"}, f.FixedVersions); diff != "" || f.FixState != "fixed" {
		t.Errorf("Parse(npm-cyclonedx.json) fixed versions %q state %q, want [3.4.0] fixed", f.FixedVersions, f.FixState)
	}
	if diff := cmp.Diff([]string{"GHSA-6c3j-c64m-qhgq"}, f.Aliases); diff != "" {
		t.Errorf("Parse(npm-cyclonedx.json) aliases (-want +got):\n%s", diff)
	}
	wantCVSS := []sextant.CVSS{
		{Source: "nvd", Version: "2.0", Vector: "AV:N/AC:M/Au:N/C:N/I:P/A:N", Score: 4.3},
		{Source: "nvd", Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", Score: 6.1},
		{Source: "redhat", Version: "3.0", Vector: "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:L/A:L", Score: 5.6},
	}
	if diff := cmp.Diff(wantCVSS, f.CVSS); diff != "" {
		t.Errorf("Parse(npm-cyclonedx.json) CVSS (-want +got):\n%s", diff)
	}
	if len(f.Severities) != 10 {
		t.Errorf("Parse(npm-cyclonedx.json) has %d severities, want 10 (11 ratings, nvd twice as medium)", len(f.Severities))
	}

	// The Trivy SBOMs name their image by its config digest, as Trivy's JSON
	// report does.
	for name, id := range map[string]string{
		"alpine_3.17.cdx.json":                           "sha256:775f483016a7d128be2a6c6978785619990f9ac24abb5ff1868222020118b279",
		"cyclonedx-1.7-trivy-tasklist-backend-node.json": "sha256:a82fa3f927dcd0cabba25f194b2c6548a790c17a1a9ff69ff2f9decd6cda8fa6",
	} {
		var artKey string
		_, err := Parse(bytes.NewReader(injectVuln(t, all[name])), name, func(f *sextant.Finding) error {
			artKey = f.Artifact.Key()
			return nil
		})
		if err != nil || artKey != id {
			t.Errorf("Parse(%q with one vulnerability) artifact key = %q, %v; want %q", name, artKey, err, id)
		}
	}
}

// injectVuln adds a vulnerability affecting the first component to a BOM
// that has none, so that its artifact can be seen on a finding.
func injectVuln(t *testing.T, b []byte) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	comps, _ := doc["components"].([]any)
	if len(comps) == 0 {
		t.Fatal("BOM has no components")
	}
	ref := comps[0].(map[string]any)["bom-ref"]
	doc["vulnerabilities"] = []any{map[string]any{"id": "CVE-2000-0001", "affects": []any{map[string]any{"ref": ref}}}}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
