package k8s

import (
	"slices"
	"time"
)

// AllChecks returns every misconfiguration check: the pod and container
// checks, then RBAC, then network. IDs are unique across them.
func AllChecks() []Check {
	var out []Check
	out = append(out, PodChecks()...)
	out = append(out, RBACChecks()...)
	out = append(out, NetworkChecks()...)
	return out
}

// Run runs the checks on every object of the inventory they apply to (by
// Kinds; "Workload" matches every kind that runs pods) and returns the
// violations in inventory order, then check order. A violation that an
// annotation suppresses at now is kept, with Suppressed set, so that outputs
// can show exceptions as data; callers filter on it. Warnings about
// malformed or expired suppressions are appended to inv.Warnings, once each.
func Run(inv *Inventory, checks []Check, now time.Time) []Violation {
	if inv == nil {
		return nil
	}
	var out []Violation
	seen := map[string]bool{}
	for _, w := range inv.Warnings {
		seen[w] = true
	}
	for _, o := range inv.Objects {
		if o == nil {
			continue
		}
		var srcs []suppressSource // read at the first violation
		for _, c := range checks {
			if c.Run == nil || !checkApplies(c, o) {
				continue
			}
			vs := c.Run(o, inv)
			if len(vs) == 0 {
				continue
			}
			if srcs == nil {
				srcs = suppressSources(o)
			}
			s, warnings := suppressedIn(o, srcs, c.ID, now)
			for _, w := range warnings {
				if !seen[w] {
					seen[w] = true
					inv.Warnings = append(inv.Warnings, w)
				}
			}
			for i := range vs {
				if vs[i].CheckID == "" {
					vs[i].CheckID = c.ID
				}
				vs[i].Suppressed = s
			}
			out = append(out, vs...)
		}
	}
	return out
}

// checkApplies reports whether a check looks at the object's kind.
func checkApplies(c Check, o *Object) bool {
	if len(c.Kinds) == 0 || slices.Contains(c.Kinds, o.Kind) {
		return true
	}
	return slices.Contains(c.Kinds, "Workload") && (chkIsWorkload(o) || o.Kind == "PodTemplate")
}
