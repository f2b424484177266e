package vex

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var now = time.Date(2025, 6, 1, 12, 30, 45, 123, time.UTC)

const webRef = "registry.example.com/shop/web:1.4@sha256:3d4c5b6a79881726354453627181909a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e"

func statements(t *testing.T) []Statement {
	t.Helper()
	web, err := ImageProduct(webRef)
	if err != nil {
		t.Fatal(err)
	}
	api, err := ImageProduct("registry.example.com/billing/api@sha256:4c6e8a0b2d4f6c8e0a2b4d6f8c0e2a4b6d8f0c2e4a6b8d0f2c4e6a8b0d2f4c6e")
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := PackageComponent("pkg:npm/jsonwebtoken@8.5.1")
	if err != nil {
		t.Fatal(err)
	}
	web.Subcomponents = []Component{jwt}
	return []Statement{
		{Vulnerability: Vulnerability{Name: "CVE-2022-23540", Aliases: []string{"GHSA-qwph-4952-7xr6"}}, Timestamp: now, Products: []Product{web},
			Status: NotAffected, Justification: VulnerableCodeNotInExecutePath, ImpactStatement: "jwt.verify is always called with an explicit algorithms list."},
		{Vulnerability: Vulnerability{Name: "CVE-2023-5363"}, Timestamp: now.Add(-time.Hour), Products: []Product{api},
			Status: NotAffected, Justification: ComponentNotPresent},
		// The same statement about another product merges into the first.
		{Vulnerability: Vulnerability{Name: "CVE-2022-23540"}, Timestamp: now.Add(-time.Hour), Products: []Product{api},
			Status: NotAffected, Justification: VulnerableCodeNotInExecutePath, ImpactStatement: "jwt.verify is always called with an explicit algorithms list."},
	}
}

func TestNewGolden(t *testing.T) {
	d, err := New("Example Security <security@example.com>", now, statements(t))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, d); err != nil {
		t.Fatal(err)
	}
	golden(t, "openvex.golden.json", b.Bytes())

	// The @id follows the content: the same statements in another order
	// give the same document, and a different author another @id.
	s := statements(t)
	s[0], s[2] = s[2], s[0]
	d2, err := New("Example Security <security@example.com>", now.Add(time.Hour), s)
	if err != nil {
		t.Fatal(err)
	}
	if d2.ID != d.ID || !cmp.Equal(d2.Statements, d.Statements) {
		t.Errorf("reordered statements: @id %s, want %s; statements differ: %s", d2.ID, d.ID, cmp.Diff(d.Statements, d2.Statements))
	}
	d3, _ := New("someone else", now, statements(t))
	if d3.ID == d.ID {
		t.Errorf("another author kept @id %s", d.ID)
	}
}

// TestDocumentShape checks the written JSON against the specification's
// required fields by name, independently of the Go types.
func TestDocumentShape(t *testing.T) {
	d, err := New("security@example.com", now, statements(t))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, d); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"@context", "@id", "author", "timestamp", "version", "statements"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("document lacks %q", k)
		}
	}
	if doc["@context"] != "https://openvex.dev/ns/v0.2.0" || doc["version"] != 1.0 || doc["timestamp"] != "2025-06-01T12:30:45Z" ||
		!strings.HasPrefix(doc["@id"].(string), "https://openvex.dev/docs/public/vex-") {
		t.Errorf("document head = %v", doc)
	}
	allowed := map[string]bool{"@id": true, "version": true, "vulnerability": true, "timestamp": true, "last_updated": true, "products": true,
		"status": true, "supplier": true, "status_notes": true, "justification": true, "impact_statement": true, "action_statement": true, "action_statement_timestamp": true}
	for _, s := range doc["statements"].([]any) {
		for k := range s.(map[string]any) {
			if !allowed[k] {
				t.Errorf("statement field %q is not in the specification", k)
			}
		}
		st := s.(map[string]any)
		if st["vulnerability"].(map[string]any)["name"] == "" || st["status"] == "" || len(st["products"].([]any)) == 0 {
			t.Errorf("incomplete statement %v", st)
		}
	}
}

func TestValidate(t *testing.T) {
	good, err := New("a", now, statements(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(d *Document)
		want string
	}{
		{"context", func(d *Document) { d.Context = "https://openvex.dev/ns" }, "@context"},
		{"id", func(d *Document) { d.ID = "vex 1" }, "not an IRI"},
		{"author", func(d *Document) { d.Author = " " }, "no author"},
		{"timestamp", func(d *Document) { d.Timestamp = time.Time{} }, "no timestamp"},
		{"version", func(d *Document) { d.Version = 0 }, "version"},
		{"no statements", func(d *Document) { d.Statements = nil }, "no statements"},
		{"no name", func(d *Document) { d.Statements[0].Vulnerability.Name = "" }, "no vulnerability name"},
		{"status", func(d *Document) { d.Statements[0].Status = "accepted_risk" }, "not a VEX status"},
		{"no products", func(d *Document) { d.Statements[0].Products = nil }, "no products"},
		{"no justification", func(d *Document) { d.Statements[1].Justification = "" }, "justification or an impact statement"},
		{"bad justification", func(d *Document) { d.Statements[0].Justification = "because" }, "not a VEX justification"},
		{"justification on fixed", func(d *Document) { d.Statements[0].Status = Fixed }, "not_affected only"},
		{"affected", func(d *Document) {
			d.Statements[1].Status, d.Statements[1].Justification = Affected, ""
		}, "action statement"},
		{"anonymous product", func(d *Document) { d.Statements[0].Products = []Product{{}} }, "not identified"},
		{"identifier", func(d *Document) {
			d.Statements[0].Products = []Product{{Component: Component{Identifiers: map[string]string{"swid": "x"}}}}
		}, "unknown identifier"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := good
			d.Statements = append([]Statement(nil), good.Statements...)
			tc.edit(&d)
			err := d.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) || sextant.ErrorCode(err) != sextant.EINVALID {
				t.Errorf("Validate = %v, want EINVALID with %q", err, tc.want)
			}
		})
	}
}

func TestImageProduct(t *testing.T) {
	for _, tc := range []struct{ ref, id, err string }{
		{webRef, "pkg:oci/web@sha256:3d4c5b6a79881726354453627181909a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e?repository_url=registry.example.com%2Fshop%2Fweb&tag=1.4", ""},
		{"ghcr.io/Acme/App@sha256:3D4C5B6A79881726354453627181909A8B7C6D5E4F3A2B1C0D9E8F7A6B5C4D3E", "pkg:oci/app@sha256:3d4c5b6a79881726354453627181909a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e?repository_url=ghcr.io%2Facme%2Fapp", ""},
		{"sha256:3d4c5b6a79881726354453627181909a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e", "pkg:oci/image@sha256:3d4c5b6a79881726354453627181909a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e", ""},
		{"registry.example.com/shop/web:1.4", "", "not named by a sha256 digest"},
		{"web@sha512:abcd", "", "not named by a sha256 digest"},
	} {
		p, err := ImageProduct(tc.ref)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ImageProduct(%q) = %v, want error %q", tc.ref, err, tc.err)
			}
			continue
		}
		if err != nil || p.ID != tc.id || p.Identifiers["purl"] != tc.id || len(p.Hashes["sha-256"]) != 64 {
			t.Errorf("ImageProduct(%q) = %+v, %v; want @id %s", tc.ref, p, err, tc.id)
		}
	}
	if _, err := PackageComponent("npm/jsonwebtoken"); err == nil {
		t.Error("PackageComponent accepted a non-purl")
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", name, diff)
	}
}
