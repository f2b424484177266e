package policydraft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/sextant-dev/sextant/internal/k8s"
)

// Resource is a Kubernetes object a draft is checked against.
type Resource struct {
	// Ref is "Kind/namespace/name".
	Ref        string
	APIVersion string
	Kind       string
	Namespace  string
	// Object is the object as JSON decodes it, integers as int64, with
	// its namespace set.
	Object map[string]any
	// Source is "file:line".
	Source string
}

// LoadResources reads the Kubernetes manifests under paths (files and
// directories, as `sextant k8s scan` reads them) into resources. Documents
// that are not Kubernetes objects are skipped with a warning.
func LoadResources(paths ...string) ([]Resource, []string, error) {
	inv, err := k8s.LoadFiles(paths...)
	if err != nil {
		return nil, nil, err
	}
	rs, warnings := fromInventory(inv)
	return rs, warnings, nil
}

// ReadResources reads manifests from r (name names it in warnings).
func ReadResources(r io.Reader, name string) ([]Resource, []string, error) {
	inv, err := k8s.LoadReader(r, name)
	if err != nil {
		return nil, nil, err
	}
	rs, warnings := fromInventory(inv)
	return rs, warnings, nil
}

func fromInventory(inv *k8s.Inventory) ([]Resource, []string) {
	var out []Resource
	warnings := append([]string(nil), inv.Warnings...)
	for _, o := range inv.Objects {
		r, err := NewResource(o.Raw)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("%s:%d: %v", o.Source.File, o.Source.Line, err))
			continue
		}
		if r.Namespace == "" && o.Namespace != "" {
			// As `kubectl apply` without -n would put it.
			r.Namespace = o.Namespace
			setNamespace(r.Object, r.Namespace)
			r.Ref = o.Ref().String()
		}
		if o.Source.File != "" {
			r.Source = fmt.Sprintf("%s:%d", o.Source.File, o.Source.Line)
		}
		out = append(out, r)
	}
	return out, warnings
}

// NewResource decodes one object from JSON.
func NewResource(raw []byte) (Resource, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Resource{}, fmt.Errorf("decode object: %v", err)
	}
	obj, ok := numbers(v).(map[string]any)
	if !ok {
		return Resource{}, fmt.Errorf("not an object")
	}
	r := Resource{Object: obj}
	r.APIVersion, _ = obj["apiVersion"].(string)
	r.Kind, _ = obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	r.Namespace, _ = meta["namespace"].(string)
	if r.Kind == "" || r.APIVersion == "" {
		return Resource{}, fmt.Errorf("no apiVersion or kind")
	}
	r.Ref = r.Kind + "/" + name
	if r.Namespace != "" {
		r.Ref = r.Kind + "/" + r.Namespace + "/" + name
	}
	return r, nil
}

func setNamespace(obj map[string]any, ns string) {
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	meta["namespace"] = ns
}

// numbers turns JSON numbers into int64 when they are integers, float64
// otherwise, as Kubernetes' CEL sees integer fields.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}
