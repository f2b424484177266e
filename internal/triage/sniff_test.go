package triage

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
)

func TestSniff(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"trivy", `{"SchemaVersion": 2, "ArtifactName": "x", "Results": []}`, FormatTrivy},
		{"trivy results first", `{"Results": [], "Foo": 1}`, FormatTrivy},
		{"trivy k8s", `{"ClusterName": "c", "Resources": []}`, FormatTrivy},
		{"trivy legacy list", `[{"Target": "x", "Vulnerabilities": []}]`, FormatTrivy},
		{"grype", `{"matches": [], "source": {}}`, FormatGrype},
		{"grype descriptor first", `{"descriptor": {"name": "grype"}, "source": {}, "matches": []}`, FormatGrype},
		{"cyclonedx", `{"$schema": "x", "bomFormat": "CycloneDX", "specVersion": "1.5"}`, FormatCycloneDX},
		{"spdx", `{"spdxVersion": "SPDX-2.3"}`, FormatSPDX},
		{"sarif", `{"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": []}`, FormatSARIF},
		{"asff", `{"Findings": []}`, FormatASFF},
		{"gitlab", `{"version": "15.0.6", "vulnerabilities": [], "remediations": [], "scan": {}}`, FormatGitLab},
		{"operator", `{"apiVersion": "aquasecurity.github.io/v1alpha1", "kind": "VulnerabilityReport"}`, FormatTrivyOperator},
		{"operator list", `{"apiVersion": "v1", "items": [], "kind": "List"}`, FormatTrivyOperator},
		{"operator dict", `{"vulnerabilityreports.aquasecurity.github.io": []}`, FormatTrivyOperator},
		{"bom", "\ufeff" + `{"matches": []}`, FormatGrype},
		{"leading space", "\n\n  " + `{"matches": []}`, FormatGrype},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Sniff(bufio.NewReaderSize(strings.NewReader(tt.in), sniffWindow))
			if err != nil || got != tt.want {
				t.Errorf("Sniff(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestSniffUnknown(t *testing.T) {
	tests := []struct {
		name, in, wantInMessage string
	}{
		{"empty", "", "empty input"},
		{"text", "hello world", `starts with "hello world"`},
		{"xml", "<?xml version='1.0'?><bom/>", "not a JSON object"},
		{"other keys", `{"foo": 1, "bar": 2}`, `"foo", "bar"`},
		{"empty object", `{}`, "no keys"},
		{"empty array", `[]`, "empty JSON array"},
		{"array of numbers", `[1,2]`, "array of"},
		{"broken", `{"matches`, "invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Sniff(bufio.NewReaderSize(strings.NewReader(tt.in), sniffWindow))
			if err == nil {
				t.Fatalf("Sniff(%q) = %q, want an error", tt.in, got)
			}
			if sextant.ErrorCode(err) != sextant.EINVALID || !strings.Contains(err.Error(), tt.wantInMessage) {
				t.Errorf("Sniff(%q) error = %q (code %s), want EINVALID containing %q", tt.in, err, sextant.ErrorCode(err), tt.wantInMessage)
			}
		})
	}
}

// TestSniffLargeFirstValue checks that a first value larger than the sniff
// window still lets the key decide.
func TestSniffLargeFirstValue(t *testing.T) {
	big := `{"matches": [` + strings.Repeat(`{"a": "`+strings.Repeat("x", 1000)+`"},`, 2000) + `{}], "source": {}}`
	got, err := Sniff(bufio.NewReaderSize(strings.NewReader(big), sniffWindow))
	if err != nil || got != FormatGrype {
		t.Errorf("Sniff(2 MB grype) = %q, %v, want %q", got, err, FormatGrype)
	}
}

func TestDecompress(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"matches": []}`))
	zw.Close()
	r, err := Decompress(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r)
	if string(b) != `{"matches": []}` {
		t.Errorf("Decompress(gzip) = %q", b)
	}
	r, err = Decompress(bufio.NewReader(strings.NewReader("plain")))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(r)
	if string(b) != "plain" {
		t.Errorf("Decompress(plain) = %q", b)
	}
	if _, err := Decompress(bufio.NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 0}))); sextant.ErrorCode(err) != sextant.EINVALID {
		t.Errorf("Decompress(broken gzip) error = %v, want EINVALID", err)
	}
}

func FuzzSniff(f *testing.F) {
	for _, s := range []string{`{"matches": []}`, `[{"Target": 1}]`, `{"bomFormat": "CycloneDX"}`, `{"runs": [], "version": "2.1.0"}`, `{`, `[`, `"x"`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := sniffBytes(b)
		if err == nil && got == "" {
			t.Fatalf("sniffBytes(%q) = \"\", nil", b)
		}
		if err != nil && sextant.ErrorCode(err) != sextant.EINVALID {
			t.Fatalf("sniffBytes(%q) error code = %s, want EINVALID", b, sextant.ErrorCode(err))
		}
	})
}
