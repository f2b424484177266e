package k8s

import (
	"encoding/json"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/sextant-dev/sextant"
)

// Backstage annotations that tie a catalog entity to Kubernetes workloads.
const (
	BackstageKubernetesID        = "backstage.io/kubernetes-id"
	BackstageKubernetesSelector  = "backstage.io/kubernetes-label-selector"
	BackstageKubernetesNamespace = "backstage.io/kubernetes-namespace"
)

// BackstageEntity is what sextant reads of a Backstage catalog entity
// (catalog-info.yaml): who owns it and which workloads it describes.
type BackstageEntity struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Owner is spec.owner as written ("team-payments", "group:default/sre").
	Owner string `json:"owner,omitempty"`
	// Lifecycle is spec.lifecycle ("production", "experimental"…).
	Lifecycle string `json:"lifecycle,omitempty"`
	// KubernetesID is the backstage.io/kubernetes-id annotation, matched
	// against the workload label of the same key.
	KubernetesID string `json:"kubernetes_id,omitempty"`
	// Selector is the backstage.io/kubernetes-label-selector annotation,
	// matched against the workload's and its pod template's labels.
	Selector string `json:"selector,omitempty"`
	// Namespace is the backstage.io/kubernetes-namespace annotation: when
	// set, only workloads of that namespace match.
	Namespace string `json:"namespace,omitempty"`
	// Source is "file:line" of the entity.
	Source string `json:"source,omitempty"`

	sel labels.Selector
}

// Matches reports whether the entity describes the workload o (whose pod
// template has labels podLabels): by kubernetes-id label, else by label
// selector, within the entity's namespace when it names one.
func (e *BackstageEntity) Matches(o *Object, podLabels map[string]string) bool {
	if e.Namespace != "" && e.Namespace != o.Namespace {
		return false
	}
	if e.KubernetesID != "" {
		return o.Labels[BackstageKubernetesID] == e.KubernetesID || podLabels[BackstageKubernetesID] == e.KubernetesID
	}
	if e.Selector == "" {
		return false
	}
	sel := e.sel
	if sel == nil {
		var err error
		if sel, err = labels.Parse(e.Selector); err != nil {
			return false
		}
	}
	return !sel.Empty() && (sel.Matches(labels.Set(o.Labels)) || sel.Matches(labels.Set(podLabels)))
}

// LoadBackstage reads Backstage catalog files (catalog-info.yaml; a
// directory is walked like LoadFiles) and returns the entities that name
// Kubernetes workloads (kubernetes-id or label selector). Unlike
// manifests, a catalog the user names must read cleanly: a document that
// does not parse, or a label selector that does not, is an EINVALID error
// naming the file and line.
func LoadBackstage(paths ...string) ([]BackstageEntity, error) {
	inv, err := LoadFiles(paths...)
	if err != nil {
		return nil, err
	}
	for _, w := range inv.Warnings {
		// Documents that are not entities (no apiVersion/kind) are
		// errors too: a catalog holds nothing else.
		return nil, sextant.Errorf(sextant.EINVALID, "load Backstage catalog: %s", w)
	}
	var out []BackstageEntity
	for _, o := range inv.Objects {
		if !strings.HasPrefix(o.APIVersion, "backstage.io/") {
			continue
		}
		var spec struct {
			Spec struct {
				Owner     any `json:"owner"`
				Lifecycle any `json:"lifecycle"`
			} `json:"spec"`
		}
		_ = json.Unmarshal(o.Raw, &spec) // the head decoded; odd specs leave fields empty
		e := BackstageEntity{
			Kind: o.Kind, Name: o.Name,
			Owner:        bsString(spec.Spec.Owner),
			Lifecycle:    bsString(spec.Spec.Lifecycle),
			KubernetesID: strings.TrimSpace(o.Annotations[BackstageKubernetesID]),
			Selector:     strings.TrimSpace(o.Annotations[BackstageKubernetesSelector]),
			Namespace:    strings.TrimSpace(o.Annotations[BackstageKubernetesNamespace]),
			Source:       o.Source.File + ":" + strconv.Itoa(o.Source.Line),
		}
		if e.KubernetesID == "" && e.Selector == "" {
			continue
		}
		if e.Selector != "" {
			sel, err := labels.Parse(e.Selector)
			if err != nil {
				return nil, sextant.Errorf(sextant.EINVALID, "load Backstage catalog: %s: %s %s: annotation %s: %v", e.Source, e.Kind, e.Name, BackstageKubernetesSelector, err)
			}
			e.sel = sel
		}
		out = append(out, e)
	}
	return out, nil
}

func bsString(v any) string {
	if s, ok := v.(string); ok {
		return strings.TrimSpace(s)
	}
	return ""
}
