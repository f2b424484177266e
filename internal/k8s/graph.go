package k8s

import (
	"fmt"
	"regexp"
	"sort"

	"k8s.io/apimachinery/pkg/labels"
)

// The attack graph is a directed graph of typed nodes: the internet, entry
// points (Services of type LoadBalancer/NodePort, Ingresses, Gateway API
// routes), workloads, their containers, ServiceAccounts, RBAC capabilities,
// and the targets they open: Secrets (metadata only), other workloads,
// cluster nodes, cloud identities and cluster-admin. Every edge carries its
// evidence in words and a likelihood in (0, 1] that an attacker standing on
// the edge's source takes it. FindPaths walks it from the internet to the
// crown jewels; BlastRadius walks it from one workload.

// NodeKind says what a graph node stands for.
type NodeKind string

// Node kinds.
const (
	// NodeInternet is the single source of attack paths.
	NodeInternet NodeKind = "internet"
	// NodeEntry is an entry point: a Service, Ingress or Gateway API route.
	NodeEntry NodeKind = "entry"
	// NodeWorkload is network reach to a workload's pods.
	NodeWorkload NodeKind = "workload"
	// NodeContainer is code execution in one container of a workload.
	NodeContainer NodeKind = "container"
	// NodeServiceAccount is holding a ServiceAccount's token.
	NodeServiceAccount NodeKind = "serviceaccount"
	// NodeCapability is an RBAC power (read secrets, exec, create pods,
	// escalate, impersonate) in one namespace or cluster-wide.
	NodeCapability NodeKind = "capability"
	// NodeClusterAdmin is unrestricted control of the API.
	NodeClusterAdmin NodeKind = "cluster-admin"
	// NodeSecret is a Secret (its metadata: values are never read).
	NodeSecret NodeKind = "secret"
	// NodeHost is root on a cluster node; "Node/*" stands for any node when
	// pods carry no placement.
	NodeHost NodeKind = "node"
	// NodeCloudIdentity is a cloud IAM identity bound to a ServiceAccount
	// (EKS IRSA, GKE workload identity, Azure workload identity).
	NodeCloudIdentity NodeKind = "cloud-identity"
	// NodeNetwork is the pod network: what a compromised container can
	// open connections to when NetworkPolicies do not isolate the target.
	NodeNetwork NodeKind = "network"
)

// EdgeKind says how an attacker moves along an edge.
type EdgeKind string

// Edge kinds.
const (
	EdgeExposes  EdgeKind = "exposes"  // internet → entry point or host-networked workload
	EdgeRoutes   EdgeKind = "routes"   // Ingress/route → Service
	EdgeSelects  EdgeKind = "selects"  // Service → workload
	EdgeExploits EdgeKind = "exploits" // workload → container (vulnerabilities)
	EdgeToken    EdgeKind = "token"    // container → ServiceAccount; Secret → ServiceAccount
	EdgeGrants   EdgeKind = "grants"   // ServiceAccount → capability
	EdgeAllows   EdgeKind = "allows"   // capability → capability or target
	EdgeReads    EdgeKind = "reads"    // capability → Secret
	EdgeExec     EdgeKind = "exec"     // capability → container
	EdgeEscapes  EdgeKind = "escapes"  // container → node
	EdgeControls EdgeKind = "controls" // node → container
	EdgeAssumes  EdgeKind = "assumes"  // ServiceAccount → cloud identity
	EdgeConnects EdgeKind = "connects" // container → pod network → workload
)

// VulnSummary is what the vulnerability findings say about one image, so
// that the graph can weigh how likely a container is to be exploited.
type VulnSummary struct {
	// KEV counts vulnerabilities listed in CISA KEV.
	KEV int `json:"kev,omitempty"`
	// Critical counts critical-severity vulnerabilities.
	Critical int `json:"critical,omitempty"`
	// MaxScore is the highest CVSS base score.
	MaxScore float64 `json:"max_score,omitempty"`
	// CVEs names the most important vulnerabilities, most important first;
	// the evidence quotes the first few.
	CVEs []string `json:"cves,omitempty"`
}

// GraphNode is one node of the attack graph.
type GraphNode struct {
	// ID is unique and readable: "internet", "Service/shop/web",
	// "Deployment/shop/web/containers/app", "rbac:secrets-read/shop",
	// "Node/*", "cluster-admin".
	ID   string   `json:"id"`
	Kind NodeKind `json:"kind"`
	// Object is the Kubernetes object the node stands for, when there is
	// one (for a container: its workload).
	Object *Ref `json:"object,omitempty"`
	// Container names the container of a NodeContainer.
	Container string `json:"container,omitempty"`
	// Image is the container's image.
	Image string `json:"image,omitempty"`
	// Vulns summarises the image's vulnerabilities, when given.
	Vulns *VulnSummary `json:"vulns,omitempty"`
	// CrownJewel says why the node is a crown jewel ("" when it is not).
	CrownJewel string `json:"crown_jewel,omitempty"`
	// Target is the ID of the target the node stands for in FindPaths: the
	// node's own ID, or for a crown-jewel workload's containers the
	// workload's ID.
	Target string `json:"-"`
}

// GraphEdge is one directed edge of the attack graph.
type GraphEdge struct {
	From, To int
	Kind     EdgeKind
	// Evidence says in words why the edge exists, naming the objects and
	// fields ("Service shop/web type LoadBalancer port 443 selects app=web").
	Evidence string
	// Likelihood in (0, 1] is how likely an attacker on From reaches To.
	Likelihood float64
}

// Graph is the attack graph of one inventory. Build it with BuildGraph.
type Graph struct {
	Nodes []GraphNode
	Edges []GraphEdge
	// out lists, per node, the indexes of its outgoing edges, sorted by the
	// destination's ID so that every walk is deterministic.
	out   [][]int32
	index map[string]int
	// workloadContainers lists, per workload node, its container nodes.
	workloadContainers map[int][]int
}

// Node returns the node with the given ID.
func (g *Graph) Node(id string) (GraphNode, bool) {
	i, ok := g.index[id]
	if !ok {
		return GraphNode{}, false
	}
	return g.Nodes[i], true
}

// Out returns the edges leaving the node with the given ID, in
// deterministic order.
func (g *Graph) Out(id string) []GraphEdge {
	i, ok := g.index[id]
	if !ok {
		return nil
	}
	out := make([]GraphEdge, 0, len(g.out[i]))
	for _, e := range g.out[i] {
		out = append(out, g.Edges[e])
	}
	return out
}

func (g *Graph) node(id string, kind NodeKind, obj *Ref) int {
	if i, ok := g.index[id]; ok {
		return i
	}
	g.Nodes = append(g.Nodes, GraphNode{ID: id, Kind: kind, Object: obj, Target: id})
	i := len(g.Nodes) - 1
	g.index[id] = i
	return i
}

func (g *Graph) edge(from, to int, kind EdgeKind, p float64, evidence string) {
	if from == to {
		return
	}
	g.Edges = append(g.Edges, GraphEdge{From: from, To: to, Kind: kind, Likelihood: p, Evidence: evidence})
}

// finish builds the sorted adjacency lists, keeping only the likeliest of
// parallel edges between the same two nodes.
func (g *Graph) finish() {
	sort.SliceStable(g.Edges, func(a, b int) bool {
		ea, eb := g.Edges[a], g.Edges[b]
		if ea.From != eb.From {
			return ea.From < eb.From
		}
		if ea.To != eb.To {
			return g.Nodes[ea.To].ID < g.Nodes[eb.To].ID
		}
		if ea.Likelihood != eb.Likelihood {
			return ea.Likelihood > eb.Likelihood
		}
		return ea.Evidence < eb.Evidence
	})
	kept := g.Edges[:0]
	for i, e := range g.Edges {
		if i > 0 && e.From == g.Edges[i-1].From && e.To == g.Edges[i-1].To {
			continue
		}
		kept = append(kept, e)
	}
	g.Edges = kept
	g.out = make([][]int32, len(g.Nodes))
	for i, e := range g.Edges {
		g.out[e.From] = append(g.out[e.From], int32(i))
	}
}

// CrownJewels says which objects are the targets worth protecting. An
// object is a crown jewel when its labels match one of Selectors or its name
// matches Names. Workloads and Secrets can be crown jewels.
type CrownJewels struct {
	// Selectors are label selectors in kubectl syntax
	// ("app.kubernetes.io/component in (database, vault)").
	Selectors []string
	// Names is a regular expression matched against object names.
	Names string
}

// DefaultCrownJewels are the crown jewels used when GraphOptions leaves
// them unset: databases, vaults and anything labelled as a crown jewel.
var DefaultCrownJewels = CrownJewels{
	Selectors: []string{
		"app.kubernetes.io/component in (database, vault)",
		"sextant.dev/crown-jewel=true",
	},
	Names: `postgres|mysql|mariadb|mongo|redis|vault|etcd`,
}

type crownMatcher struct {
	selectors []labels.Selector
	texts     []string
	names     *regexp.Regexp
}

func (c CrownJewels) compile() (*crownMatcher, error) {
	m := &crownMatcher{}
	for _, s := range c.Selectors {
		sel, err := labels.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("crown jewel selector %q: %v", s, err)
		}
		m.selectors = append(m.selectors, sel)
		m.texts = append(m.texts, s)
	}
	if c.Names != "" {
		re, err := regexp.Compile(c.Names)
		if err != nil {
			return nil, fmt.Errorf("crown jewel names %q: %v", c.Names, err)
		}
		m.names = re
	}
	return m, nil
}

// match says why an object with these labels and name is a crown jewel, or
// "" when it is not.
func (m *crownMatcher) match(lbls map[string]string, name string) string {
	if len(lbls) > 0 {
		set := labels.Set(lbls)
		for i, s := range m.selectors {
			if s.Matches(set) {
				return "labels match " + m.texts[i]
			}
		}
	}
	if m.names != nil && m.names.MatchString(name) {
		return "name matches " + m.names.String()
	}
	return ""
}
