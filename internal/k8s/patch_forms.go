package k8s

import (
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"sync"
)

// A scan of 10,000 objects reports some 40,000 violations, nearly all with
// a fix, and StrategicMergePatch works from bytes: it applies the JSON
// patch to the object's raw JSON (decoding it), then decodes the original
// and the result again to diff them. The functions here derive the same
// forms, byte for byte, with the object decoded once for all of its
// violations: the JSON patch is applied to the decoded tree copy-on-write,
// so the result shares every untouched subtree with the original and the
// diff skips them by identity. Anything the tree path does not handle
// exactly as github.com/evanphx/json-patch does (escapes it cannot be sure
// of, errors, objects without a Go type) goes the byte path, whose answer
// is the reference.

// fixBase is an object's raw JSON decoded once, shared by the fix forms of
// all its violations. It is never modified after newFixBase, so workers may
// read it at the same time.
type fixBase struct {
	o *Object
	// values is the worker's cache of decoded operation values.
	values opValues
	// doc is the decoded Raw, nil when the tree path does not apply (no
	// raw JSON, not a JSON object, no Go type).
	doc map[string]any
	// t is the struct type whose tags drive the strategic merge patch.
	t reflect.Type
}

func newFixBase(o *Object) *fixBase {
	b := &fixBase{o: o}
	if o.Typed == nil || len(o.Raw) == 0 {
		return b
	}
	var doc map[string]any
	if err := json.Unmarshal(o.Raw, &doc); err != nil || doc == nil {
		return b
	}
	b.doc, b.t = doc, smpStruct(reflect.TypeOf(o.Typed))
	return b
}

// strategicMergePatch returns StrategicMergePatch(b.o, f).
func (b *fixBase) strategicMergePatch(f *Fix) ([]byte, error) {
	if b.doc != nil && !CreatesObject(f) {
		if m, ok := applyOpsTreeCached(b.doc, f.Ops, b.values); ok {
			if p, err := json.Marshal(smpDiffMaps(b.doc, m, b.t)); err == nil {
				return p, nil
			}
		}
	}
	return StrategicMergePatch(b.o, f)
}

// derive fills in the forms of sf, a ScanFix of f on b's object, as
// fixForms does; forms that cannot be derived are left out.
func (b *fixBase) derive(sf *ScanFix, f *Fix) {
	if CreatesObject(f) {
		if nb, err := json.Marshal(f.Ops[0].Value); err == nil {
			sf.NewObject = nb
		}
		return
	}
	p, err := b.strategicMergePatch(f)
	if err != nil {
		// KubectlPatch fails whenever the patch does.
		return
	}
	sf.StrategicMerge = p
	if name, err := kubectlTarget(b.o); err == nil {
		if k, err := kubectlCommand(b.o, name, p); err == nil {
			sf.Kubectl = k
		}
	}
}

// DeriveFixForms derives the strategic-merge patch and kubectl command of
// the fixes of fs that a scan with DeferFixForms left underived (and does
// nothing for the others), so that an output pays only for the findings it
// shows. The work runs on a bounded pool of goroutines, one per CPU, each
// taking every fix of one object at a time; DeriveFixForms returns when
// the pool has drained its queue and exited. Each result is written to its
// own finding, so the output does not depend on scheduling. It must not be
// called concurrently on findings of the same report.
func DeriveFixForms(fs []ScanFinding) {
	type job struct {
		o   *Object
		fix []*ScanFix
	}
	var jobs []job
	byObject := map[*Object]int{}
	for i := range fs {
		sf := fs[i].Fix
		if sf == nil || sf.pending == nil {
			continue
		}
		o := sf.pending.o
		j, ok := byObject[o]
		if !ok {
			j = len(jobs)
			byObject[o] = j
			jobs = append(jobs, job{o: o})
		}
		if jobs[j].fix == nil || !containsFix(jobs[j].fix, sf) {
			jobs[j].fix = append(jobs[j].fix, sf)
		}
	}
	run := func(j job, values opValues) {
		b := newFixBase(j.o)
		b.values = values
		for _, sf := range j.fix {
			b.derive(sf, sf.pending.f)
			sf.pending = nil
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	if workers <= 1 {
		values := opValues{}
		for _, j := range jobs {
			run(j, values)
		}
		return
	}
	queue := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			values := opValues{}
			// Exits when the queue is closed and drained.
			for j := range queue {
				run(j, values)
			}
		}()
	}
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	wg.Wait()
}

// containsFix reports whether sf is in list: findings copied from one
// another share their ScanFix, which must be derived once.
func containsFix(list []*ScanFix, sf *ScanFix) bool {
	for _, x := range list {
		if x == sf {
			return true
		}
	}
	return false
}

// applyOpsTree applies ops to doc, a decoded JSON object, without changing
// it: the containers on each operation's path are copied, all else is
// shared. It returns false for anything it does not treat exactly as
// applyOps does — an operation other than add, remove and replace, a
// missing value, a path with an empty or non-canonical token, a path that
// does not exist — and the caller then takes the byte path, which has the
// reference answer (often an error).
func applyOpsTree(doc map[string]any, ops []PatchOp) (map[string]any, bool) {
	return applyOpsTreeCached(doc, ops, nil)
}

// opValues maps the JSON encoding of a patch operation's value to the value
// decoded. Decoded values are shared, never changed (treeApply copies
// before it writes), so one worker may reuse them for all its fixes.
type opValues map[string]any

// applyOpsTreeCached is applyOpsTree with a cache of decoded values (nil
// for none).
func applyOpsTreeCached(doc map[string]any, ops []PatchOp, cache opValues) (map[string]any, bool) {
	var root any = doc
	for _, op := range ops {
		var val any
		switch op.Op {
		case "add", "replace":
			if op.Value == nil {
				return nil, false
			}
			// The value as the byte path sees it: encoded, then decoded
			// with the rest of the document.
			vb, err := json.Marshal(op.Value)
			if err != nil {
				return nil, false
			}
			var ok bool
			if val, ok = cache[string(vb)]; !ok {
				if err := json.Unmarshal(vb, &val); err != nil {
					return nil, false
				}
				if cache != nil && len(cache) < 4096 {
					cache[string(vb)] = val
				}
			}
			if val == nil {
				return nil, false
			}
		case "remove":
		default:
			return nil, false
		}
		toks, ok := pointerTokens(op.Path)
		if !ok {
			return nil, false
		}
		if root, ok = treeApply(root, toks, op.Op, val); !ok {
			return nil, false
		}
	}
	m, ok := root.(map[string]any)
	return m, ok
}

// pointerTokens splits a JSON Pointer into its decoded tokens; it refuses
// the root pointer and empty tokens, which the byte path gives meanings of
// its own.
func pointerTokens(p string) ([]string, bool) {
	if !strings.HasPrefix(p, "/") {
		return nil, false
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		if t == "" {
			return nil, false
		}
		if strings.IndexByte(t, '~') >= 0 {
			toks[i] = rfc6901Unescape.Replace(t)
		}
	}
	return toks, true
}

// rfc6901Unescape decodes a JSON Pointer token as evanphx/json-patch does.
var rfc6901Unescape = strings.NewReplacer("~1", "/", "~0", "~")

// treeApply returns a copy of node with the operation applied at toks;
// node itself is left unchanged.
func treeApply(node any, toks []string, op string, val any) (any, bool) {
	key := toks[0]
	switch n := node.(type) {
	case map[string]any:
		cur, exists := n[key]
		if len(toks) > 1 {
			if !exists {
				return nil, false
			}
			child, ok := treeApply(cur, toks[1:], op, val)
			if !ok {
				return nil, false
			}
			c := copyMap(n, 0)
			c[key] = child
			return c, true
		}
		switch op {
		case "add":
			c := copyMap(n, 1)
			c[key] = val
			return c, true
		case "replace":
			if !exists {
				return nil, false
			}
			c := copyMap(n, 0)
			c[key] = val
			return c, true
		case "remove":
			if !exists {
				return nil, false
			}
			c := copyMap(n, 0)
			delete(c, key)
			return c, true
		}
	case []any:
		if len(toks) == 1 && op == "add" && key == "-" {
			c := make([]any, len(n), len(n)+1)
			copy(c, n)
			return append(c, val), true
		}
		i, ok := arrayIndex(key)
		if !ok {
			return nil, false
		}
		if len(toks) > 1 {
			if i >= len(n) {
				return nil, false
			}
			child, ok := treeApply(n[i], toks[1:], op, val)
			if !ok {
				return nil, false
			}
			c := append([]any(nil), n...)
			c[i] = child
			return c, true
		}
		switch op {
		case "add":
			if i > len(n) {
				return nil, false
			}
			c := make([]any, 0, len(n)+1)
			c = append(c, n[:i]...)
			c = append(c, val)
			return append(c, n[i:]...), true
		case "replace":
			if i >= len(n) {
				return nil, false
			}
			c := append([]any(nil), n...)
			c[i] = val
			return c, true
		case "remove":
			if i >= len(n) {
				return nil, false
			}
			c := make([]any, 0, len(n)-1)
			c = append(c, n[:i]...)
			return append(c, n[i+1:]...), true
		}
	}
	return nil, false
}

// arrayIndex parses a canonical array index: decimal digits without a sign
// or a leading zero.
func arrayIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func copyMap(m map[string]any, extra int) map[string]any {
	c := make(map[string]any, len(m)+extra)
	for k, v := range m {
		c[k] = v
	}
	return c
}
