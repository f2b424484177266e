package k8s

import (
	"fmt"
	"sort"
	"strings"
)

// The graph's RBAC part: the permissions of each ServiceAccount come from
// Inventory.RBAC (bindings, groups, aggregation, built-in roles); each
// capability becomes a node, and capabilities lead to their targets.

// Capability node names.
const (
	capSecretsRead = "secrets-read"
	capExec        = "exec"
	capCreatePods  = "create-pods"
	capTokenCreate = "token-create"
	capEscalate    = "escalate"
	capImpersonate = "impersonate"
	capNodesProxy  = "nodes-proxy"
	capAll         = "all"
)

// graphCaps maps the RBAC classification to capability nodes.
var graphCaps = map[Capability]string{
	CapClusterAdmin:    capAll,
	CapReadSecrets:     capSecretsRead,
	CapExec:            capExec,
	CapCreateWorkloads: capCreatePods,
	CapCreateTokens:    capTokenCreate,
	CapEscalate:        capEscalate,
	CapBind:            capEscalate,
	CapImpersonate:     capImpersonate,
	CapNodesProxy:      capNodesProxy,
}

// capNode returns the capability node for cap in ns ("" for cluster-wide).
func (b *graphBuilder) capNode(c, ns string) int {
	if c == capAll && ns == "" {
		return b.g.node("cluster-admin", NodeClusterAdmin, nil)
	}
	scope := ns
	if scope == "" {
		scope = "*"
	}
	return b.g.node("rbac:"+c+"/"+scope, NodeCapability, nil)
}

func (b *graphBuilder) rbac() {
	g := b.g
	rb := b.inv.RBAC()
	// Visit ServiceAccounts in a fixed order so the graph is deterministic.
	var sas []int
	for _, l := range b.saByNS {
		sas = append(sas, l...)
	}
	sort.Ints(sas)
	used := map[int]bool{}
	for _, sa := range sas {
		ref := g.Nodes[sa].Object
		for _, p := range rb.Permissions(ref.Namespace, ref.Name) {
			for _, c := range p.Capabilities {
				gc, ok := graphCaps[c]
				if !ok || (gc == capNodesProxy && p.Namespace != "") {
					continue
				}
				if gc == capSecretsRead && len(p.Rule.ResourceNames) > 0 {
					for _, name := range p.Rule.ResourceNames {
						if s, ok := g.index["Secret/"+orNS(p.Namespace, ref.Namespace)+"/"+name]; ok {
							g.edge(sa, s, EdgeReads, 1, p.Evidence)
						}
					}
					continue
				}
				cn := b.capNode(gc, p.Namespace)
				used[cn] = true
				g.edge(sa, cn, EdgeGrants, 1, p.Evidence)
			}
		}
	}
	// Expand capabilities to their targets; expansion may create further
	// capability nodes, so walk until none is new.
	done := map[int]bool{}
	for len(used) > 0 {
		var next []int
		for cn := range used {
			if !done[cn] {
				next = append(next, cn)
			}
		}
		used = map[int]bool{}
		sort.Ints(next)
		for _, cn := range next {
			done[cn] = true
			for _, n := range b.expandCap(cn) {
				if !done[n] {
					used[n] = true
				}
			}
		}
	}
}

func orNS(ns, def string) string {
	if ns == "" {
		return def
	}
	return ns
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys(m map[string][]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// expandCap adds the edges out of a capability node and returns the
// capability nodes it leads to.
func (b *graphBuilder) expandCap(cn int) []int {
	g := b.g
	id := g.Nodes[cn].ID
	if id == "cluster-admin" {
		var out []int
		for _, c := range []string{capSecretsRead, capExec, capCreatePods, capNodesProxy} {
			n := b.capNode(c, "")
			g.edge(cn, n, EdgeAllows, 1, "cluster-admin may do anything, including "+c)
			out = append(out, n)
		}
		return out
	}
	c, scope, _ := strings.Cut(strings.TrimPrefix(id, "rbac:"), "/")
	if scope == "*" {
		switch c {
		case capEscalate, capImpersonate:
			n := b.capNode(capAll, "")
			why := "may bind or escalate to any ClusterRole, including cluster-admin"
			if c == capImpersonate {
				why = "may impersonate any user or group, including system:masters"
			}
			g.edge(cn, n, EdgeAllows, pEscalate, why)
			return []int{n}
		case capNodesProxy:
			g.edge(cn, b.hostAny(), EdgeAllows, pNodesProxy, "nodes/proxy reaches the kubelet API, which runs commands in any pod on the node")
			return nil
		}
		// Cluster-wide: the same power in every namespace that holds
		// something it applies to.
		var nss []string
		switch c {
		case capSecretsRead:
			nss = sortedKeys(b.secretsByNS)
		case capExec:
			nss = sortedKeys(b.contByNS)
		default:
			nss = sortedKeys(b.saByNS)
		}
		var out []int
		for _, ns := range nss {
			n := b.capNode(c, ns)
			g.edge(cn, n, EdgeAllows, 1, c+" cluster-wide includes namespace "+orDefault(ns))
			out = append(out, n)
		}
		if c == capCreatePods {
			b.createPodNode(cn, "")
		}
		return out
	}
	ns := scope
	switch c {
	case capSecretsRead:
		for _, s := range b.secretsByNS[ns] {
			g.edge(cn, s, EdgeReads, 1, "may get Secret "+nsName(*g.Nodes[s].Object)+" (values included)")
		}
	case capExec:
		for _, ct := range b.contByNS[ns] {
			n := g.Nodes[ct]
			g.edge(cn, ct, EdgeExec, pExec, fmt.Sprintf("may exec into container %s of %s %s", n.Container, n.Object.Kind, nsName(*n.Object)))
		}
	case capCreatePods:
		for _, sa := range b.saByNS[ns] {
			g.edge(cn, sa, EdgeAllows, pCreatePodAsSA, "may create a pod that runs as ServiceAccount "+nsName(*g.Nodes[sa].Object))
		}
		n := b.capNode(capSecretsRead, ns)
		g.edge(cn, n, EdgeAllows, pCreatePodAsSA, "may create a pod that mounts any Secret of namespace "+orDefault(ns))
		b.createPodNode(cn, ns)
		return []int{n}
	case capTokenCreate, capImpersonate:
		for _, sa := range b.saByNS[ns] {
			g.edge(cn, sa, EdgeAllows, pTokenCreate, "may obtain a token for ServiceAccount "+nsName(*g.Nodes[sa].Object))
		}
	case capEscalate, capAll:
		var out []int
		for _, c2 := range []string{capSecretsRead, capExec, capCreatePods, capTokenCreate} {
			n := b.capNode(c2, ns)
			why := "all verbs on all resources in namespace " + orDefault(ns)
			p := 1.0
			if c == capEscalate {
				why, p = "may bind itself any role in namespace "+orDefault(ns), pEscalate
			}
			g.edge(cn, n, EdgeAllows, p, why)
			out = append(out, n)
		}
		return out
	}
	return nil
}

// createPodNode adds the escape a pod creator has: a privileged pod with the
// host's root mounted, unless Pod Security admission enforces baseline or
// restricted in the namespace.
func (b *graphBuilder) createPodNode(cn int, ns string) {
	if ns != "" {
		if lvl := b.nsLabels[ns]["pod-security.kubernetes.io/enforce"]; lvl == "baseline" || lvl == "restricted" {
			return
		}
	}
	where := "namespace " + orDefault(ns)
	if ns == "" {
		where = "any namespace"
	}
	b.g.edge(cn, b.hostAny(), EdgeEscapes, pCreatePodNode,
		"may create a privileged pod with hostPath / in "+where+" (no Pod Security enforce label baseline/restricted)")
}

// nsName returns "namespace/name", or "name" for a cluster-scoped object.
func nsName(r Ref) string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}
