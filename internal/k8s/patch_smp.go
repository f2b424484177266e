package k8s

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// twoWayMergePatch computes a Kubernetes strategic-merge patch that turns
// original into modified, reading patch strategies and merge keys from the
// struct tags of t (a k8s.io/api type, or a pointer to one), as
// strategicpatch.CreateTwoWayMergePatch does:
//
//   - maps are diffed key by key; a removed key becomes null;
//   - lists tagged patchStrategy "merge" with a patchMergeKey carry only the
//     added or changed elements (changed ones reduced to their changed
//     fields plus the merge key) and {"<key>": v, "$patch": "delete"} for
//     removed ones;
//   - merge lists of scalars carry the added values and a
//     "$deleteFromPrimitiveList/<field>" list for removed ones;
//   - every other list is replaced whole.
//
// Like the library it adds a "$setElementOrder/<field>" directive to every
// merge list it changes, so that new elements land where the fix put them;
// it does not emit "$retainKeys".
//
// The library itself is not used because importing it pulls modules that
// are not (yet) in go.mod.
func twoWayMergePatch(original, modified []byte, t reflect.Type) ([]byte, error) {
	var o, m map[string]any
	if err := json.Unmarshal(original, &o); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(modified, &m); err != nil {
		return nil, err
	}
	return json.Marshal(smpDiffMaps(o, m, smpStruct(t)))
}

// smpStruct returns t with pointers removed, or nil when it is not a
// struct.
func smpStruct(t reflect.Type) reflect.Type {
	for t != nil && (t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map) {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	return t
}

// smpField describes the field named by a JSON key in a struct type.
type smpField struct {
	typ      reflect.Type // element type after pointers, slices and maps
	strategy string
	mergeKey string
	found    bool // the key names a field of the type
}

// smpFields caches smpLookup: a scan asks the same few types for the same
// few keys for every fix.
var smpFields sync.Map // smpFieldKey → smpField

type smpFieldKey struct {
	t   reflect.Type
	key string
}

// smpLookup finds the field with JSON name key in struct type t, looking
// into embedded (inline) structs.
func smpLookup(t reflect.Type, key string) smpField {
	if t == nil {
		return smpField{}
	}
	k := smpFieldKey{t, key}
	if f, ok := smpFields.Load(k); ok {
		return f.(smpField)
	}
	f := smpLookupUncached(t, key)
	if f.found {
		// Only fields of Go types are kept, so that keys from the
		// documents do not grow the cache.
		smpFields.Store(k, f)
	}
	return f
}

func smpLookupUncached(t reflect.Type, key string) smpField {
	if t == nil {
		return smpField{}
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && (name == "" || strings.Contains(opts, "inline")) {
			if r := smpLookupUncached(smpStruct(f.Type), key); r.typ != nil || r.strategy != "" {
				return r
			}
			continue
		}
		if name != key {
			continue
		}
		return smpField{
			typ:      smpStruct(f.Type),
			strategy: f.Tag.Get("patchStrategy"),
			mergeKey: f.Tag.Get("patchMergeKey"),
			found:    true,
		}
	}
	return smpField{}
}

func smpDiffMaps(o, m map[string]any, t reflect.Type) map[string]any {
	patch := map[string]any{}
	for k, mv := range m {
		ov, ok := o[k]
		if !ok {
			patch[k] = mv
			continue
		}
		if smpEqual(ov, mv) {
			continue
		}
		f := smpLookup(t, k)
		switch mvv := mv.(type) {
		case map[string]any:
			if ovv, ok := ov.(map[string]any); ok {
				if sub := smpDiffMaps(ovv, mvv, f.typ); len(sub) > 0 {
					patch[k] = sub
				}
				continue
			}
		case []any:
			if ovv, ok := ov.([]any); ok && strings.Contains(f.strategy, "merge") {
				smpDiffLists(patch, k, ovv, mvv, f)
				continue
			}
		}
		patch[k] = mv
	}
	for k := range o {
		if _, ok := m[k]; !ok {
			patch[k] = nil
		}
	}
	return patch
}

// smpDiffLists writes the patch for a merge list into patch.
func smpDiffLists(patch map[string]any, k string, o, m []any, f smpField) {
	if f.mergeKey == "" {
		// A merge list of scalars.
		var added, removed []any
		for _, v := range m {
			if !smpContains(o, v) {
				added = append(added, v)
			}
		}
		for _, v := range o {
			if !smpContains(m, v) {
				removed = append(removed, v)
			}
		}
		if len(added) > 0 {
			patch[k] = added
		}
		if len(removed) > 0 {
			patch["$deleteFromPrimitiveList/"+k] = removed
		}
		if len(added)+len(removed) > 0 {
			patch["$setElementOrder/"+k] = m
		}
		return
	}
	keyOf := func(v any) (any, bool) {
		mv, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		kv, ok := mv[f.mergeKey]
		return kv, ok
	}
	find := func(list []any, kv any) map[string]any {
		for _, v := range list {
			if x, ok := keyOf(v); ok && smpEqual(x, kv) {
				return v.(map[string]any)
			}
		}
		return nil
	}
	var out []any
	for _, mv := range m {
		kv, ok := keyOf(mv)
		if !ok {
			// Not mergeable: send the whole list, as the library does for
			// elements without their key.
			patch[k] = m
			return
		}
		ov := find(o, kv)
		if ov == nil {
			out = append(out, mv)
			continue
		}
		if sub := smpDiffMaps(ov, mv.(map[string]any), f.typ); len(sub) > 0 {
			sub[f.mergeKey] = kv
			out = append(out, sub)
		}
	}
	for _, ov := range o {
		kv, ok := keyOf(ov)
		if ok && find(m, kv) == nil {
			out = append(out, map[string]any{f.mergeKey: kv, "$patch": "delete"})
		}
	}
	if len(out) > 0 {
		patch[k] = out
		order := make([]any, len(m))
		for i, mv := range m {
			kv, _ := keyOf(mv)
			order[i] = map[string]any{f.mergeKey: kv}
		}
		patch["$setElementOrder/"+k] = order
	}
}

// smpEqual reports whether two decoded JSON values are equal, as
// reflect.DeepEqual does, but returns at once for maps and lists that are
// the same: the patched tree shares every subtree the fix did not touch
// with the original (see applyOpsTree).
func smpEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || (a == nil) != (b == nil) || len(a) != len(b) {
			return false
		}
		if len(a) == 0 || reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer() {
			return true
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !smpEqual(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || (a == nil) != (b == nil) || len(a) != len(b) {
			return false
		}
		if len(a) == 0 || &a[0] == &b[0] {
			return true
		}
		for i := range a {
			if !smpEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	case string:
		b, ok := b.(string)
		return ok && a == b
	case float64:
		b, ok := b.(float64)
		return ok && a == b
	case bool:
		b, ok := b.(bool)
		return ok && a == b
	case nil:
		return b == nil
	}
	return reflect.DeepEqual(a, b)
}

func smpContains(list []any, v any) bool {
	for _, x := range list {
		if smpEqual(x, v) {
			return true
		}
	}
	return false
}
