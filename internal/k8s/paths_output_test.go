package k8s

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

// The golden files are rewritten with -update; the flag is shared with any
// other golden test of the package that registers it first.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata/")
	}
}

func pathsGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", "paths", name)
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestPathOutputsGolden(t *testing.T) {
	g := pathsGraph(t, pathsLoad(t, "testdata/paths/shop.yaml"), GraphOptions{Vulns: shopVulns})
	paths := FindPaths(g, PathOptions{})
	report := NewPathReport(g, paths)
	tests := []struct {
		golden string
		write  func(*bytes.Buffer) error
	}{
		{"shop.txt", func(b *bytes.Buffer) error { return WritePathsText(b, report) }},
		{"shop.json", func(b *bytes.Buffer) error { return WritePathsJSON(b, report) }},
		{"shop.dot", func(b *bytes.Buffer) error { return WritePathsDOT(b, g, paths) }},
		{"shop.mmd", func(b *bytes.Buffer) error { return WritePathsMermaid(b, g, paths) }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatalf("write %s: %v", tt.golden, err)
			}
			pathsGolden(t, tt.golden, b.Bytes())
		})
	}
}

func TestPathsJSONSchema(t *testing.T) {
	g := pathsGraph(t, pathsLoad(t, "testdata/paths/shop.yaml"), GraphOptions{Vulns: shopVulns})
	var b bytes.Buffer
	if err := WritePathsJSON(&b, NewPathReport(g, FindPaths(g, PathOptions{}))); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema string `json:"schema"`
		Paths  []struct {
			Target string            `json:"target"`
			Score  *float64          `json:"score"`
			Hops   []map[string]any  `json:"hops"`
			Other  map[string]string `json:"-"`
		} `json:"paths"`
		BlastRadius []map[string]any `json:"blast_radius"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if doc.Schema != "sextant.k8s.paths/v1" {
		t.Errorf("schema = %q, want sextant.k8s.paths/v1", doc.Schema)
	}
	if len(doc.Paths) == 0 || len(doc.BlastRadius) == 0 {
		t.Fatalf("paths %d, blast_radius %d: want both", len(doc.Paths), len(doc.BlastRadius))
	}
	for _, p := range doc.Paths {
		if p.Target == "" || p.Score == nil || len(p.Hops) == 0 {
			t.Errorf("path %+v lacks target, score or hops", p)
		}
		for _, h := range p.Hops {
			for _, k := range []string{"from", "to", "kind", "evidence"} {
				if s, _ := h[k].(string); s == "" {
					t.Errorf("hop %v lacks %q", h, k)
				}
			}
		}
	}
}

// pathsHostile is a manifest whose names, labels and image try to break
// out of DOT and Mermaid labels and into HTML.
const pathsHostile = `apiVersion: v1
kind: Service
metadata:
  name: "web\"]; n0 -> evil [label=\"x"
  namespace: "ns<script>alert(1)</script>"
spec:
  type: LoadBalancer
  selector: {"app": "a\"|b"}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: "vault\\N\\G%%{init}%%"
  namespace: "ns<script>alert(1)</script>"
spec:
  selector: {matchLabels: {"app": "a\"|b"}}
  template:
    metadata: {labels: {"app": "a\"|b"}}
    spec:
      containers:
      - name: "c\n}\ndigraph x {"
        image: "img\"]:1 <img src=x onerror=alert(1)> #quot; ` + "`" + `x` + "`" + `"
        securityContext: {privileged: true}`

func TestPathsEscaping(t *testing.T) {
	g := pathsGraph(t, pathsYAML(t, pathsHostile), GraphOptions{})
	paths := FindPaths(g, PathOptions{})
	if len(paths) == 0 {
		t.Fatal("no path in the hostile manifest")
	}
	t.Run("dot", func(t *testing.T) {
		var b bytes.Buffer
		if err := WritePathsDOT(&b, g, paths); err != nil {
			t.Fatal(err)
		}
		quoted := `"(?:[^"\\\n]|\\.)*"`
		node := regexp.MustCompile(`^  n\d+ \[label=` + quoted + `, shape=\w+(, style=filled, fillcolor="#f8d0d0", color="#b00000")?\];$`)
		edge := regexp.MustCompile(`^  n\d+ -> n\d+ \[label=` + quoted + `, tooltip=` + quoted + `\];$`)
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		for _, l := range lines[4 : len(lines)-1] {
			if !node.MatchString(l) && !edge.MatchString(l) {
				t.Errorf("DOT line escapes its statement: %q", l)
			}
		}
		bare := regexp.MustCompile(quoted).ReplaceAllString(b.String(), `""`)
		if strings.Count(bare, "{") != 1 || strings.Count(bare, "}") != 1 {
			t.Errorf("DOT has braces outside quoted strings:\n%s", bare)
		}
	})
	t.Run("mermaid", func(t *testing.T) {
		var b bytes.Buffer
		if err := WritePathsMermaid(&b, g, paths); err != nil {
			t.Fatal(err)
		}
		label := `"[A-Za-z0-9 _\-./:,=*+@#;]*"`
		node := regexp.MustCompile(`^  n\d+(\(\(` + label + `\)\)|\[\(` + label + `\)\]|\{\{` + label + `\}\}|>` + label + `\]|\[` + label + `\])$`)
		edge := regexp.MustCompile(`^  n\d+ -->\|` + label + `\| n\d+$`)
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if lines[0] != "flowchart LR" {
			t.Errorf("first line %q, want flowchart LR", lines[0])
		}
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "  classDef ") || strings.HasPrefix(l, "  class ") {
				continue
			}
			if !node.MatchString(l) && !edge.MatchString(l) {
				t.Errorf("Mermaid line escapes its statement: %q", l)
			}
		}
		for _, bad := range []string{"<script", "<img", "%%{"} {
			if strings.Contains(b.String(), bad) {
				t.Errorf("Mermaid output contains %q", bad)
			}
		}
	})
	t.Run("text", func(t *testing.T) {
		var b bytes.Buffer
		if err := WritePathsText(&b, NewPathReport(g, paths)); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(b.String(), "\n") {
			if strings.Contains(l, "digraph x") && !strings.Contains(l, "c}digraph x {") {
				t.Errorf("text output kept a newline from a name: %q", l)
			}
		}
	})
}

func TestEscapers(t *testing.T) {
	tests := []struct {
		in, dot, mermaid string
	}{
		{`plain-name.v1`, `"plain-name.v1"`, `plain-name.v1`},
		{`a"b`, `"a\"b"`, `a#34;b`},
		{`a\Nb`, `"a\\Nb"`, `a#92;Nb`},
		{"a\nb\x1b[31m", `"a\nb [31m"`, `a#10;b#27;#91;31m`},
		{`<b>|x</b>`, `"<b>|x</b>"`, `#60;b#62;#124;x#60;/b#62;`},
		{"\xff", `"?"`, `#63;`},
	}
	for _, tt := range tests {
		if got := dotQuote(tt.in); got != tt.dot {
			t.Errorf("dotQuote(%q) = %s, want %s", tt.in, got, tt.dot)
		}
		if got := mermaidText(tt.in); got != tt.mermaid {
			t.Errorf("mermaidText(%q) = %s, want %s", tt.in, got, tt.mermaid)
		}
	}
}

func TestRenderSVG(t *testing.T) {
	g := pathsGraph(t, pathsLoad(t, "testdata/paths/shop.yaml"), GraphOptions{Vulns: shopVulns})
	var dot bytes.Buffer
	if err := WritePathsDOT(&dot, g, FindPaths(g, PathOptions{})); err != nil {
		t.Fatal(err)
	}
	svg, err := RenderSVG(context.Background(), dot.Bytes())
	if _, lookErr := exec.LookPath("dot"); lookErr != nil {
		if code := sextant.ErrorCode(err); code != sextant.ENOTFOUND {
			t.Fatalf("RenderSVG without dot: error code %q (%v), want %q", code, err, sextant.ENOTFOUND)
		}
		t.Skip("Graphviz dot not installed: SVG rendering not exercised")
	}
	if err != nil {
		t.Fatalf("RenderSVG: %v", err)
	}
	if !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("db-credentials")) {
		t.Errorf("RenderSVG output is not an SVG of the paths: %.200s", svg)
	}
}
