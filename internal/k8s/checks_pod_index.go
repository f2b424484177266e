package k8s

import (
	"encoding/json"
	"sync"

	corev1 "k8s.io/api/core/v1"
)

// podIndex is what the pod checks look up in an inventory: ServiceAccounts'
// automountServiceAccountToken and the targets of HorizontalPodAutoscalers.
// Scanning the inventory for each workload would make a scan quadratic.
type podIndex struct {
	sa  map[Ref]*bool
	hpa map[Ref]bool
}

// podIndexCache keeps the index of the last inventory the checks saw: Run
// goes through one inventory object by object, so one entry is enough. The
// key includes the object count and the first and last objects, so that an
// inventory changed in place is indexed again.
var podIndexCache struct {
	mu          sync.Mutex
	inv         *Inventory
	n           int
	first, last *Object
	idx         *podIndex
}

var podEmptyIndex = &podIndex{}

// podIndexOf returns the index of inv, building it when needed.
func podIndexOf(inv *Inventory) *podIndex {
	if inv == nil || len(inv.Objects) == 0 {
		return podEmptyIndex
	}
	n, first, last := len(inv.Objects), inv.Objects[0], inv.Objects[len(inv.Objects)-1]
	c := &podIndexCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inv == inv && c.n == n && c.first == first && c.last == last {
		return c.idx
	}
	idx := &podIndex{sa: map[Ref]*bool{}, hpa: map[Ref]bool{}}
	for _, o := range inv.Objects {
		if o == nil {
			continue
		}
		switch o.Kind {
		case "ServiceAccount":
			if sa, ok := o.Typed.(*corev1.ServiceAccount); ok {
				idx.sa[o.Ref()] = sa.AutomountServiceAccountToken
				continue
			}
			var sa corev1.ServiceAccount
			if json.Unmarshal(o.Raw, &sa) == nil {
				idx.sa[o.Ref()] = sa.AutomountServiceAccountToken
			}
		case "HorizontalPodAutoscaler":
			var hpa struct {
				Spec struct {
					ScaleTargetRef struct {
						Kind string `json:"kind"`
						Name string `json:"name"`
					} `json:"scaleTargetRef"`
				} `json:"spec"`
			}
			if json.Unmarshal(o.Raw, &hpa) == nil && hpa.Spec.ScaleTargetRef.Name != "" {
				idx.hpa[Ref{Kind: hpa.Spec.ScaleTargetRef.Kind, Namespace: o.Namespace, Name: hpa.Spec.ScaleTargetRef.Name}] = true
			}
		}
	}
	c.inv, c.n, c.first, c.last, c.idx = inv, n, first, last, idx
	return idx
}
