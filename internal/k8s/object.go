// Package k8s understands Kubernetes objects for sextant: an inventory read
// from manifests or a live cluster, the workload context that feeds the risk
// score, misconfiguration checks with verified fixes, and attack paths.
//
// Objects keep the typed form from k8s.io/api for the kinds sextant reasons
// about, and their raw JSON for everything else and for patches.
package k8s

import (
	corev1 "k8s.io/api/core/v1"
)

// Source says where an object came from.
type Source struct {
	// File is the manifest file ("" for a live cluster).
	File string `json:"file,omitempty"`
	// Doc is the 0-based index of the YAML document within the file; items
	// of a List share the List's document and have Item set.
	Doc int `json:"doc,omitempty"`
	// Item is the 0-based index within a List document, -1 otherwise.
	Item int `json:"item,omitempty"`
	// Line is the 1-based line where the document starts in File.
	Line int `json:"line,omitempty"`
	// Template is the chart template a rendered Helm document came from,
	// as its "# Source: chart/templates/x.yaml" comment names it.
	Template string `json:"template,omitempty"`
	// Cluster names the cluster (kubeconfig context) for live objects.
	Cluster string `json:"cluster,omitempty"`
}

// Object is one Kubernetes object.
type Object struct {
	APIVersion  string            `json:"apiVersion"`
	Kind        string            `json:"kind"`
	Namespace   string            `json:"namespace,omitempty"`
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Raw is the object as JSON, exactly as read (after YAML → JSON).
	Raw []byte `json:"-"`
	// Typed is the decoded object for the kinds sextant reasons about, as a
	// pointer to its k8s.io/api type (*corev1.Pod, *appsv1.Deployment,
	// *rbacv1.ClusterRole, *networkingv1.Ingress …); nil for other kinds.
	Typed  any    `json:"-"`
	Source Source `json:"source"`
}

// Ref is how outputs name an object.
type Ref struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// Ref returns the object's reference.
func (o *Object) Ref() Ref { return Ref{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name} }

// String returns "kind/namespace/name" (or "kind/name" when cluster-scoped).
func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Workload is an object that runs pods: a Pod, or a controller with a pod
// template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
// ReplicationController).
type Workload struct {
	Object *Object
	// Template is the pod template (for a Pod: its metadata and spec).
	Template *corev1.PodTemplateSpec
	// SpecPath is the JSON Pointer (RFC 6901) of the pod spec within the
	// object: "/spec" for a Pod, "/spec/template/spec" for most
	// controllers, "/spec/jobTemplate/spec/template/spec" for a CronJob.
	// Fixes address containers through it.
	SpecPath string
	// Replicas is the desired pod count (1 for a Pod or Job, the
	// controller's replicas otherwise; DaemonSets count 1 per node and
	// report 1 here).
	Replicas int
}

// Inventory is a set of objects from one cluster or one set of manifests.
type Inventory struct {
	Objects []*Object
	// Cluster names the cluster, when known.
	Cluster string
	// Warnings say what could not be read and why (file, document, line).
	Warnings []string
}
