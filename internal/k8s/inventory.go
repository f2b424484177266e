package k8s

import (
	"encoding/json"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// Workload returns the object as a workload when it runs pods (a Pod or a
// controller with a pod template), and false otherwise. It reads Typed, or
// decodes Raw when Typed is nil (objects built by hand). For a Pod the
// template is a copy of its metadata and spec; for a controller it points
// into Typed.
func (o *Object) Workload() (*Workload, bool) {
	if o == nil {
		return nil, false
	}
	typed := o.Typed
	if typed == nil {
		if !invWorkloadKind(o.Kind) || len(o.Raw) == 0 {
			return nil, false
		}
		typed = ldNewTyped(o.APIVersion, o.Kind)
		if typed == nil || json.Unmarshal(o.Raw, typed) != nil {
			return nil, false
		}
	}
	w := &Workload{Object: o, SpecPath: "/spec/template/spec", Replicas: 1}
	switch t := typed.(type) {
	case *corev1.Pod:
		w.Template = &corev1.PodTemplateSpec{ObjectMeta: t.ObjectMeta, Spec: t.Spec}
		w.SpecPath = "/spec"
	case *appsv1.Deployment:
		w.Template = &t.Spec.Template
		w.Replicas = invReplicas(t.Spec.Replicas)
	case *appsv1.StatefulSet:
		w.Template = &t.Spec.Template
		w.Replicas = invReplicas(t.Spec.Replicas)
	case *appsv1.DaemonSet:
		w.Template = &t.Spec.Template
	case *appsv1.ReplicaSet:
		w.Template = &t.Spec.Template
		w.Replicas = invReplicas(t.Spec.Replicas)
	case *corev1.ReplicationController:
		if t.Spec.Template == nil {
			return nil, false
		}
		w.Template = t.Spec.Template
		w.Replicas = invReplicas(t.Spec.Replicas)
	case *batchv1.Job:
		w.Template = &t.Spec.Template
	case *batchv1.CronJob:
		w.Template = &t.Spec.JobTemplate.Spec.Template
		w.SpecPath = "/spec/jobTemplate/spec/template/spec"
	default:
		return nil, false
	}
	return w, true
}

func invWorkloadKind(kind string) bool {
	switch kind {
	case "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController":
		return true
	}
	return false
}

// invReplicas is a controller's replicas, 1 when unset as the API defaults.
func invReplicas(r *int32) int {
	if r == nil {
		return 1
	}
	return int(*r)
}

// Workloads returns every workload in the inventory, in inventory order.
// In an inventory read from a live cluster that includes the ReplicaSets
// and Pods a Deployment owns; BuildContext counts each pod once, under its
// top-level controller.
func (inv *Inventory) Workloads() []*Workload {
	if inv == nil {
		return nil
	}
	var out []*Workload
	for _, o := range inv.Objects {
		if w, ok := o.Workload(); ok {
			out = append(out, w)
		}
	}
	return out
}

// Find returns the object a reference names, or nil. It scans the
// inventory; callers looking up many objects index it themselves.
func (inv *Inventory) Find(ref Ref) *Object {
	if inv == nil {
		return nil
	}
	for _, o := range inv.Objects {
		if o.Kind == ref.Kind && o.Name == ref.Name && o.Namespace == ref.Namespace {
			return o
		}
	}
	return nil
}

// Images returns the image references of every container of a pod spec:
// containers, then init containers, then ephemeral containers.
func (w *Workload) Images() []ContainerImage {
	if w == nil || w.Template == nil {
		return nil
	}
	spec := &w.Template.Spec
	out := make([]ContainerImage, 0, len(spec.Containers)+len(spec.InitContainers)+len(spec.EphemeralContainers))
	for _, c := range spec.Containers {
		out = append(out, ContainerImage{Container: c.Name, Image: c.Image})
	}
	for _, c := range spec.InitContainers {
		out = append(out, ContainerImage{Container: c.Name, Init: true, Image: c.Image})
	}
	for _, c := range spec.EphemeralContainers {
		out = append(out, ContainerImage{Container: c.Name, Ephemeral: true, Image: c.Image})
	}
	return out
}

// ContainerImage is the image one container of a workload runs.
type ContainerImage struct {
	Container string `json:"container"`
	Init      bool   `json:"init,omitempty"`
	Ephemeral bool   `json:"ephemeral,omitempty"`
	// Image is the reference as written in the spec.
	Image string `json:"image"`
}

// Route is what sextant reads of a Gateway API route (HTTPRoute,
// GRPCRoute, TLSRoute, TCPRoute, UDPRoute of gateway.networking.k8s.io):
// the Gateways it attaches to, its hostnames and the backends it sends
// traffic to. Routes have no k8s.io/api type, so Object.Typed stays nil
// and Route decodes Raw.
type Route struct {
	ParentRefs []RouteRef `json:"parentRefs,omitempty"`
	Hostnames  []string   `json:"hostnames,omitempty"`
	Backends   []RouteRef `json:"backends,omitempty"`
}

// RouteRef is a parent (Gateway) or backend (Service) reference of a
// route, with the defaults filled in: Kind "Gateway" for parents and
// "Service" for backends, Namespace the route's own.
type RouteRef struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Port is the backend port, or the listener port for a parent (0: any).
	Port int `json:"port,omitempty"`
	// SectionName names the Gateway listener (parents only).
	SectionName string `json:"sectionName,omitempty"`
}

// Route returns the object as a Gateway API route, and false when it is
// not one or does not decode.
func (o *Object) Route() (*Route, bool) {
	if o == nil || !strings.HasPrefix(o.APIVersion, "gateway.networking.k8s.io/") || !strings.HasSuffix(o.Kind, "Route") {
		return nil, false
	}
	type ref struct {
		Group       *string `json:"group"`
		Kind        *string `json:"kind"`
		Namespace   *string `json:"namespace"`
		Name        string  `json:"name"`
		Port        *int    `json:"port"`
		SectionName string  `json:"sectionName"`
	}
	var raw struct {
		Spec struct {
			ParentRefs []ref    `json:"parentRefs"`
			Hostnames  []string `json:"hostnames"`
			Rules      []struct {
				BackendRefs []ref `json:"backendRefs"`
			} `json:"rules"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(o.Raw, &raw); err != nil {
		return nil, false
	}
	conv := func(r ref, kind string) RouteRef {
		out := RouteRef{Kind: kind, Namespace: o.Namespace, Name: r.Name, SectionName: r.SectionName}
		if r.Group != nil {
			out.Group = *r.Group
		} else if kind == "Gateway" {
			out.Group = "gateway.networking.k8s.io"
		}
		if r.Kind != nil {
			out.Kind = *r.Kind
		}
		if r.Namespace != nil && *r.Namespace != "" {
			out.Namespace = *r.Namespace
		}
		if r.Port != nil {
			out.Port = *r.Port
		}
		return out
	}
	rt := &Route{Hostnames: raw.Spec.Hostnames}
	for _, p := range raw.Spec.ParentRefs {
		rt.ParentRefs = append(rt.ParentRefs, conv(p, "Gateway"))
	}
	for _, r := range raw.Spec.Rules {
		for _, b := range r.BackendRefs {
			rt.Backends = append(rt.Backends, conv(b, "Service"))
		}
	}
	return rt, true
}
