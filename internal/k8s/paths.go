package k8s

import (
	"container/heap"
	"math"
	"slices"
	"sort"
	"strings"
)

// PathOptions bounds FindPaths.
type PathOptions struct {
	// MaxHops is the longest path considered, in edges; 0 means 12.
	MaxHops int
	// PerTarget is how many riskiest paths are kept per target; 0 means 3.
	// The shortest path is kept besides them when it is not one of them.
	PerTarget int
	// TargetKinds are node kinds that are targets besides the crown
	// jewels; nil means DefaultTargetKinds.
	TargetKinds []NodeKind
	// Limit caps the number of paths returned (the riskiest first); 0
	// means no cap.
	Limit int
}

// DefaultTargetKinds are the node kinds FindPaths treats as targets when
// PathOptions.TargetKinds is nil: root on a node, cluster-admin and cloud
// identities are worth as much as any crown jewel.
var DefaultTargetKinds = []NodeKind{NodeHost, NodeClusterAdmin, NodeCloudIdentity}

// Path is one attack path from the internet to a target.
type Path struct {
	// Target is the ID of the target node (for a crown-jewel workload,
	// the workload even when the path ends in one of its containers).
	Target     string   `json:"target"`
	TargetKind NodeKind `json:"target_kind"`
	// CrownJewel says why the target is a crown jewel, when it is one.
	CrownJewel string `json:"crown_jewel,omitempty"`
	// Score is 100 × Likelihood, rounded to one decimal: how likely an
	// attacker on the internet walks the whole path.
	Score      float64 `json:"score"`
	Likelihood float64 `json:"likelihood"`
	// Shortest marks the path with the fewest hops to its target;
	// Riskiest marks one of the PerTarget likeliest.
	Shortest bool  `json:"shortest,omitempty"`
	Riskiest bool  `json:"riskiest,omitempty"`
	Hops     []Hop `json:"hops"`

	nodes []int
}

// Hop is one step of a path, with the evidence for it.
type Hop struct {
	From       string   `json:"from"`
	To         string   `json:"to"`
	Kind       EdgeKind `json:"kind"`
	Evidence   string   `json:"evidence"`
	Likelihood float64  `json:"likelihood"`
}

func (o PathOptions) withDefaults() PathOptions {
	if o.MaxHops <= 0 {
		o.MaxHops = 12
	}
	if o.PerTarget <= 0 {
		o.PerTarget = 3
	}
	if o.TargetKinds == nil {
		o.TargetKinds = DefaultTargetKinds
	}
	return o
}

// targets returns, per node, the target group it belongs to (-1 for none).
func (g *Graph) targets(kinds []NodeKind) []int32 {
	t := make([]int32, len(g.Nodes))
	for i, n := range g.Nodes {
		t[i] = -1
		if n.CrownJewel != "" || (n.Kind != NodeInternet && slices.Contains(kinds, n.Kind)) {
			t[i] = int32(g.index[n.Target])
		}
	}
	return t
}

// pathState is one partial path in the riskiest-path search, linked to its
// parent state.
type pathState struct {
	node, parent, edge int32
	hops               int32
	cost               float64
}

type pathHeap struct {
	idx    []int32
	states *[]pathState
}

func (h pathHeap) Len() int { return len(h.idx) }
func (h pathHeap) Less(a, b int) bool {
	sa, sb := &(*h.states)[h.idx[a]], &(*h.states)[h.idx[b]]
	if sa.cost != sb.cost {
		return sa.cost < sb.cost
	}
	if sa.hops != sb.hops {
		return sa.hops < sb.hops
	}
	return h.idx[a] < h.idx[b]
}
func (h pathHeap) Swap(a, b int) { h.idx[a], h.idx[b] = h.idx[b], h.idx[a] }
func (h *pathHeap) Push(x any)   { h.idx = append(h.idx, x.(int32)) }
func (h *pathHeap) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}

// FindPaths returns attack paths from the internet to every target: for
// each target its PerTarget riskiest paths (highest product of edge
// likelihoods) and its shortest path (fewest hops, found breadth-first),
// each at most MaxHops long and without repeated nodes. Paths are ordered
// by score, then length, then target and nodes, so the result is the same
// for the same graph.
//
// The riskiest search lets each node settle at most PerTarget times (the
// k-shortest-walks bound), so its cost is O(PerTarget · E · log E) and it
// may miss a path that only differs from better ones early on.
func FindPaths(g *Graph, opts PathOptions) []Path {
	if g == nil {
		return nil
	}
	start, ok := g.index["internet"]
	if !ok {
		return nil
	}
	opts = opts.withDefaults()
	if opts.PerTarget > math.MaxUint8 {
		opts.PerTarget = math.MaxUint8
	}
	target := g.targets(opts.TargetKinds)
	found := map[string]*Path{}
	var order []*Path
	add := func(nodes []int, edges []int32, shortest bool) {
		key := nodesKey(nodes)
		if p, ok := found[key]; ok {
			p.Shortest = p.Shortest || shortest
			return
		}
		p := g.makePath(nodes, edges)
		p.Shortest, p.Riskiest = shortest, !shortest
		found[key] = p
		order = append(order, p)
	}

	// Riskiest: best-first on −log(likelihood).
	k := opts.PerTarget
	pops := make([]uint8, len(g.Nodes))
	perTarget := map[int32]int{}
	states := []pathState{{node: int32(start), parent: -1, edge: -1}}
	h := &pathHeap{idx: []int32{0}, states: &states}
	for h.Len() > 0 {
		si := heap.Pop(h).(int32)
		s := states[si]
		if int(pops[s.node]) >= k {
			continue
		}
		pops[s.node]++
		if t := target[s.node]; t >= 0 && s.parent >= 0 && perTarget[t] < k && !reachedBefore(states, s.parent, target, t) {
			perTarget[t]++
			nodes, edges := unwind(states, si)
			add(nodes, edges, false)
		}
		if int(s.hops) >= opts.MaxHops {
			continue
		}
		for _, ei := range g.out[s.node] {
			e := &g.Edges[ei]
			if int(pops[e.To]) >= k || onChain(states, si, int32(e.To)) {
				continue
			}
			states = append(states, pathState{node: int32(e.To), parent: si, edge: ei, hops: s.hops + 1, cost: s.cost - math.Log(e.Likelihood)})
			heap.Push(h, int32(len(states)-1))
		}
	}

	// Shortest: breadth-first from the internet.
	n := len(g.Nodes)
	dist := make([]int32, n)
	via := make([]int32, n)
	for i := range dist {
		dist[i] = -1
	}
	dist[start] = 0
	queue := []int{start}
	best := map[int32]int{}
	var bestOrder []int32
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		if t := target[u]; t >= 0 && u != start {
			if _, ok := best[t]; !ok {
				best[t] = u
				bestOrder = append(bestOrder, t)
			}
		}
		if int(dist[u]) >= opts.MaxHops {
			continue
		}
		for _, ei := range g.out[u] {
			v := g.Edges[ei].To
			if dist[v] < 0 {
				dist[v] = dist[u] + 1
				via[v] = ei
				queue = append(queue, v)
			}
		}
	}
	for _, t := range bestOrder {
		var nodes []int
		var edges []int32
		for v := best[t]; v != start; v = g.Edges[via[v]].From {
			nodes = append(nodes, v)
			edges = append(edges, via[v])
		}
		nodes = append(nodes, start)
		reverse(nodes)
		reverse(edges)
		// A breadth-first path may pass another node of the same target
		// group first; cut it there.
		for i, v := range nodes[1:] {
			if target[v] == t {
				nodes, edges = nodes[:i+2], edges[:i+1]
				break
			}
		}
		add(nodes, edges, true)
	}

	out := make([]Path, 0, len(order))
	for _, p := range order {
		out = append(out, *p)
	}
	sort.SliceStable(out, func(a, b int) bool {
		pa, pb := &out[a], &out[b]
		if pa.Score != pb.Score {
			return pa.Score > pb.Score
		}
		if len(pa.Hops) != len(pb.Hops) {
			return len(pa.Hops) < len(pb.Hops)
		}
		if pa.Target != pb.Target {
			return pa.Target < pb.Target
		}
		return hopsKey(pa.Hops) < hopsKey(pb.Hops)
	})
	if opts.Limit > 0 && len(out) > opts.Limit {
		out = out[:opts.Limit]
	}
	return out
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

func onChain(states []pathState, si, node int32) bool {
	for ; si >= 0; si = states[si].parent {
		if states[si].node == node {
			return true
		}
	}
	return false
}

// reachedBefore says whether the chain ending at si already passed a node
// of target group t, so that a path to a crown-jewel workload does not go
// on into its own containers.
func reachedBefore(states []pathState, si int32, target []int32, t int32) bool {
	for ; si >= 0; si = states[si].parent {
		if target[states[si].node] == t {
			return true
		}
	}
	return false
}

func unwind(states []pathState, si int32) ([]int, []int32) {
	var nodes []int
	var edges []int32
	for ; si >= 0; si = states[si].parent {
		nodes = append(nodes, int(states[si].node))
		if states[si].edge >= 0 {
			edges = append(edges, states[si].edge)
		}
	}
	reverse(nodes)
	reverse(edges)
	return nodes, edges
}

func nodesKey(nodes []int) string {
	var sb strings.Builder
	for _, n := range nodes {
		sb.WriteString(itoa(n))
		sb.WriteByte(',')
	}
	return sb.String()
}

// hopsKey orders paths with equal score, length and target by their nodes'
// IDs, which do not depend on the order objects were read in.
func hopsKey(hops []Hop) string {
	var sb strings.Builder
	for _, h := range hops {
		sb.WriteString(h.To)
		sb.WriteByte(0)
	}
	return sb.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func (g *Graph) makePath(nodes []int, edges []int32) *Path {
	last := g.Nodes[nodes[len(nodes)-1]]
	tgt := g.Nodes[g.index[last.Target]]
	p := &Path{Target: tgt.ID, TargetKind: tgt.Kind, CrownJewel: tgt.CrownJewel, Likelihood: 1, nodes: nodes}
	for _, ei := range edges {
		e := g.Edges[ei]
		p.Likelihood *= e.Likelihood
		p.Hops = append(p.Hops, Hop{From: g.Nodes[e.From].ID, To: g.Nodes[e.To].ID, Kind: e.Kind, Evidence: e.Evidence, Likelihood: e.Likelihood})
	}
	p.Likelihood = math.Round(p.Likelihood*1e6) / 1e6
	p.Score = math.Round(p.Likelihood*1000) / 10
	return p
}

// Radius is the blast radius of one workload: what an attacker who runs
// code in its containers can reach.
type Radius struct {
	Workload Ref `json:"workload"`
	// Found is false when the graph has no such workload.
	Found bool `json:"found"`
	// Secrets counts the Secrets it can read.
	Secrets int `json:"secrets"`
	// Namespaces counts the namespaces other than its own where it runs
	// code in a container, reads a Secret or holds a ServiceAccount.
	Namespaces int `json:"namespaces"`
	// Nodes counts the cluster nodes it gets root on; "Node/*" (any node)
	// counts once.
	Nodes int `json:"nodes"`
	// Workloads counts the other workloads it runs code in.
	Workloads int `json:"workloads"`
	// ServiceAccounts counts the ServiceAccounts whose power it holds.
	ServiceAccounts int `json:"service_accounts"`
	// ClusterAdmin is set when it reaches cluster-admin.
	ClusterAdmin bool `json:"cluster_admin,omitempty"`
	// CrownJewels and CloudIdentities name what it reaches, sorted.
	CrownJewels     []string `json:"crown_jewels,omitempty"`
	CloudIdentities []string `json:"cloud_identities,omitempty"`
}

// BlastRadius returns what an attacker who runs code in the workload's
// containers can reach, walking every edge of the graph (lateral movement
// over the pod network included when the graph has it).
func BlastRadius(g *Graph, workload Ref) Radius {
	r := Radius{Workload: workload}
	if g == nil {
		return r
	}
	w, ok := g.index[workload.String()]
	if !ok || g.Nodes[w].Kind != NodeWorkload {
		return r
	}
	r.Found = true
	seen := make([]bool, len(g.Nodes))
	queue := append([]int(nil), g.workloadContainers[w]...)
	for _, c := range queue {
		seen[c] = true
	}
	seen[w] = true
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, ei := range g.out[u] {
			if v := g.Edges[ei].To; !seen[v] {
				seen[v] = true
				queue = append(queue, v)
			}
		}
	}
	nss := map[string]bool{}
	workloads := map[string]bool{}
	jewels := map[string]bool{}
	for i, ok := range seen {
		if !ok {
			continue
		}
		n := g.Nodes[i]
		if n.CrownJewel != "" && n.Target != g.Nodes[w].ID {
			jewels[n.Target] = true
		}
		switch n.Kind {
		case NodeSecret:
			r.Secrets++
		case NodeHost:
			r.Nodes++
		case NodeClusterAdmin:
			r.ClusterAdmin = true
		case NodeCloudIdentity:
			r.CloudIdentities = append(r.CloudIdentities, n.ID)
		case NodeServiceAccount:
			r.ServiceAccounts++
		case NodeContainer:
			if n.Object.String() != workload.String() {
				workloads[n.Object.String()] = true
			}
		}
		if n.Object != nil && n.Kind != NodeWorkload && n.Kind != NodeEntry && n.Object.Namespace != workload.Namespace {
			nss[n.Object.Namespace] = true
		}
	}
	r.Namespaces = len(nss)
	r.Workloads = len(workloads)
	for j := range jewels {
		r.CrownJewels = append(r.CrownJewels, j)
	}
	sort.Strings(r.CrownJewels)
	sort.Strings(r.CloudIdentities)
	return r
}
