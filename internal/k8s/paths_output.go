package k8s

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/sextant-dev/sextant"
)

// PathsSchema names the JSON document WritePathsJSON writes:
//
//	{
//	  "schema": "sextant.k8s.paths/v1",
//	  "paths": [{
//	    "target": "Secret/shop/db",          // target node ID
//	    "target_kind": "secret",             // a NodeKind
//	    "crown_jewel": "labels match …",     // why it is a crown jewel, if it is
//	    "score": 24.3,                       // 100 × likelihood, one decimal
//	    "likelihood": 0.243,                 // product of the hops' likelihoods
//	    "shortest": true, "riskiest": true,  // why the path was kept
//	    "hops": [{"from", "to", "kind", "evidence", "likelihood"}]
//	  }],
//	  "blast_radius": [{"workload": {"kind","namespace","name"}, "found",
//	    "secrets", "namespaces", "nodes", "workloads", "service_accounts",
//	    "cluster_admin", "crown_jewels": [...], "cloud_identities": [...]}]
//	}
//
// Node IDs are readable references ("Service/shop/web",
// "Deployment/shop/web/containers/app", "rbac:secrets-read/shop", "Node/*",
// "cluster-admin", "internet"). Fields are only ever added within v1.
const PathsSchema = "sextant.k8s.paths/v1"

// PathReport is the attack-path output: the paths and the blast radius of
// the workloads they start from.
type PathReport struct {
	Schema      string   `json:"schema"`
	Paths       []Path   `json:"paths"`
	BlastRadius []Radius `json:"blast_radius"`
}

// NewPathReport assembles the report for paths found in g, with the blast
// radius of every workload a path enters from the internet side (its first
// workload), sorted by workload.
func NewPathReport(g *Graph, paths []Path) PathReport {
	r := PathReport{Schema: PathsSchema, Paths: paths, BlastRadius: []Radius{}}
	if r.Paths == nil {
		r.Paths = []Path{}
	}
	seen := map[string]bool{}
	var refs []Ref
	for _, p := range paths {
		for _, h := range p.Hops {
			n, ok := g.Node(h.To)
			if !ok || n.Kind != NodeWorkload {
				continue
			}
			if !seen[n.ID] {
				seen[n.ID] = true
				refs = append(refs, *n.Object)
			}
			break
		}
	}
	sort.Slice(refs, func(a, b int) bool { return refs[a].String() < refs[b].String() })
	for _, ref := range refs {
		r.BlastRadius = append(r.BlastRadius, BlastRadius(g, ref))
	}
	return r
}

// WritePathsJSON writes the report as indented JSON (see PathsSchema).
func WritePathsJSON(w io.Writer, r PathReport) error {
	if r.Schema == "" {
		r.Schema = PathsSchema
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write attack paths: %v", err)
	}
	return nil
}

// textSafe drops control characters (terminal escapes) from names that
// come from manifests.
func textSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}

// WritePathsText writes one block per path, each hop with its evidence,
// then the blast radius per workload.
func WritePathsText(w io.Writer, r PathReport) error {
	bw := bufio.NewWriter(w)
	if len(r.Paths) == 0 {
		fmt.Fprintln(bw, "No attack path from the internet to a target.")
	}
	for i, p := range r.Paths {
		var why []string
		if p.Riskiest {
			why = append(why, "riskiest")
		}
		if p.Shortest {
			why = append(why, "shortest")
		}
		fmt.Fprintf(bw, "Path %d to %s (%s), score %.1f, %d hops [%s]\n", i+1, textSafe(p.Target), p.TargetKind, p.Score, len(p.Hops), strings.Join(why, ", "))
		if p.CrownJewel != "" {
			fmt.Fprintf(bw, "  crown jewel: %s\n", textSafe(p.CrownJewel))
		}
		for j, h := range p.Hops {
			fmt.Fprintf(bw, "  %d. %s -> %s [%s, %.2f]\n     %s\n", j+1, textSafe(h.From), textSafe(h.To), h.Kind, h.Likelihood, textSafe(h.Evidence))
		}
		fmt.Fprintln(bw)
	}
	if len(r.BlastRadius) > 0 {
		fmt.Fprintln(bw, "Blast radius (what code execution in the workload reaches):")
	}
	for _, b := range r.BlastRadius {
		fmt.Fprintf(bw, "  %s: %d secrets, %d other namespaces, %d nodes, %d other workloads, %d service accounts",
			textSafe(b.Workload.String()), b.Secrets, b.Namespaces, b.Nodes, b.Workloads, b.ServiceAccounts)
		if b.ClusterAdmin {
			fmt.Fprint(bw, ", cluster-admin")
		}
		if len(b.CrownJewels) > 0 {
			fmt.Fprintf(bw, ", crown jewels: %s", textSafe(strings.Join(b.CrownJewels, ", ")))
		}
		if len(b.CloudIdentities) > 0 {
			fmt.Fprintf(bw, ", cloud identities: %s", textSafe(strings.Join(b.CloudIdentities, ", ")))
		}
		fmt.Fprintln(bw)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write attack paths: %v", err)
	}
	return nil
}

// pictureGraph is the union of the paths' nodes and edges, in order of
// first appearance, that DOT and Mermaid draw.
type pictureGraph struct {
	ids   []string
	index map[string]int
	edges []pictureEdge
}

type pictureEdge struct {
	from, to int
	kind     EdgeKind
	evidence string
}

func newPicture(paths []Path) *pictureGraph {
	pg := &pictureGraph{index: map[string]int{}}
	id := func(s string) int {
		if i, ok := pg.index[s]; ok {
			return i
		}
		pg.ids = append(pg.ids, s)
		pg.index[s] = len(pg.ids) - 1
		return len(pg.ids) - 1
	}
	seen := map[[2]int]bool{}
	for _, p := range paths {
		for _, h := range p.Hops {
			f, t := id(h.From), id(h.To)
			if seen[[2]int{f, t}] {
				continue
			}
			seen[[2]int{f, t}] = true
			pg.edges = append(pg.edges, pictureEdge{from: f, to: t, kind: h.Kind, evidence: h.Evidence})
		}
	}
	return pg
}

func (pg *pictureGraph) node(g *Graph, i int) GraphNode {
	if g != nil {
		if n, ok := g.Node(pg.ids[i]); ok {
			return n
		}
	}
	return GraphNode{ID: pg.ids[i]}
}

// dotQuote returns s as a DOT double-quoted string. Backslashes are doubled
// so that names cannot smuggle label escapes (\N, \G, \l) in; control
// characters become spaces.
func dotQuote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, "?") {
		switch {
		case r == '"':
			sb.WriteString(`\"`)
		case r == '\\':
			sb.WriteString(`\\`)
		case r == '\n':
			sb.WriteString(`\n`)
		case unicode.IsControl(r):
			sb.WriteByte(' ')
		default:
			sb.WriteRune(r)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

var dotShapes = map[NodeKind]string{
	NodeInternet:       "doublecircle",
	NodeEntry:          "cds",
	NodeWorkload:       "box",
	NodeContainer:      "component",
	NodeServiceAccount: "note",
	NodeCapability:     "hexagon",
	NodeClusterAdmin:   "doubleoctagon",
	NodeSecret:         "cylinder",
	NodeHost:           "box3d",
	NodeCloudIdentity:  "house",
	NodeNetwork:        "ellipse",
}

// WritePathsDOT draws the paths as a Graphviz digraph. Node kinds and crown
// jewels come from g (which may be nil); every name is quoted and escaped,
// and the evidence rides along as the edge tooltip.
func WritePathsDOT(w io.Writer, g *Graph, paths []Path) error {
	pg := newPicture(paths)
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "digraph attack_paths {")
	fmt.Fprintln(bw, `  rankdir=LR;`)
	fmt.Fprintln(bw, `  node [fontname="Helvetica", fontsize=10];`)
	fmt.Fprintln(bw, `  edge [fontname="Helvetica", fontsize=9];`)
	for i := range pg.ids {
		n := pg.node(g, i)
		shape := dotShapes[n.Kind]
		if shape == "" {
			shape = "box"
		}
		extra := ""
		if n.CrownJewel != "" {
			extra = `, style=filled, fillcolor="#f8d0d0", color="#b00000"`
		}
		fmt.Fprintf(bw, "  n%d [label=%s, shape=%s%s];\n", i, dotQuote(pg.ids[i]), shape, extra)
	}
	for _, e := range pg.edges {
		fmt.Fprintf(bw, "  n%d -> n%d [label=%s, tooltip=%s];\n", e.from, e.to, dotQuote(string(e.kind)), dotQuote(e.evidence))
	}
	fmt.Fprintln(bw, "}")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write attack paths as DOT: %v", err)
	}
	return nil
}

// mermaidText returns s safe inside a quoted Mermaid label: every character
// outside a small safe set becomes a numeric entity (#34; for a quote), so
// names cannot close the label, start markup or inject HTML.
func mermaidText(s string) string {
	var sb strings.Builder
	for _, r := range strings.ToValidUTF8(s, "?") {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			strings.ContainsRune(" _-./:,=*+@", r):
			sb.WriteRune(r)
		default:
			sb.WriteString("#" + strconv.Itoa(int(r)) + ";")
		}
	}
	return sb.String()
}

// WritePathsMermaid draws the paths as a Mermaid flowchart (flowchart LR),
// crown jewels highlighted. Labels are entity-escaped.
func WritePathsMermaid(w io.Writer, g *Graph, paths []Path) error {
	pg := newPicture(paths)
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "flowchart LR")
	var jewels []string
	for i := range pg.ids {
		n := pg.node(g, i)
		open, close := `["`, `"]`
		switch n.Kind {
		case NodeInternet:
			open, close = `(("`, `"))`
		case NodeSecret:
			open, close = `[("`, `")]`
		case NodeHost, NodeClusterAdmin:
			open, close = `{{"`, `"}}`
		case NodeCapability:
			open, close = `>"`, `"]`
		}
		fmt.Fprintf(bw, "  n%d%s%s%s\n", i, open, mermaidText(pg.ids[i]), close)
		if n.CrownJewel != "" {
			jewels = append(jewels, "n"+strconv.Itoa(i))
		}
	}
	for _, e := range pg.edges {
		fmt.Fprintf(bw, "  n%d -->|\"%s\"| n%d\n", e.from, mermaidText(string(e.kind)), e.to)
	}
	if len(jewels) > 0 {
		fmt.Fprintln(bw, "  classDef jewel fill:#f8d0d0,stroke:#b00000")
		fmt.Fprintf(bw, "  class %s jewel\n", strings.Join(jewels, ","))
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write attack paths as Mermaid: %v", err)
	}
	return nil
}

// RenderSVG turns DOT into SVG with the Graphviz dot binary. It returns an
// ENOTFOUND *sextant.Error when dot is not installed, so callers can skip
// the picture and say why.
func RenderSVG(ctx context.Context, dot []byte) ([]byte, error) {
	bin, err := exec.LookPath("dot")
	if err != nil {
		return nil, sextant.Errorf(sextant.ENOTFOUND, "render SVG: Graphviz dot is not installed")
	}
	cmd := exec.CommandContext(ctx, bin, "-Tsvg")
	cmd.Stdin = bytes.NewReader(dot)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("render SVG: dot: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out.Bytes(), nil
}
