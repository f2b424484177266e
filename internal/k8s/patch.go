package k8s

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	sigsjson "sigs.k8s.io/json"

	"github.com/sextant-dev/sextant"
)

// A Fix whose only operation is an "add" at the root path "" creates a new
// object (a default-deny NetworkPolicy for a namespace that has none) rather
// than changing the object it was reported on. RFC 6902 gives "add" at ""
// the meaning "the document becomes this value", so ApplyFix applies such a
// fix to an empty document and returns the new object; FileDiff and
// ApplyToFile append it to the file as a new YAML document; the strategic
// merge patch and kubectl patch forms do not exist for it (apply the
// manifest instead).

// CreatesObject reports whether the fix creates a new object (see above)
// instead of patching the one it was reported on.
func CreatesObject(f *Fix) bool {
	return f != nil && len(f.Ops) == 1 && f.Ops[0].Op == "add" && f.Ops[0].Path == ""
}

// ApplyFix applies the fix's JSON Patch to the object's raw JSON and returns
// the patched JSON. For a fix that creates an object it returns the new
// object.
func ApplyFix(o *Object, f *Fix) ([]byte, error) {
	if o == nil || f == nil {
		return nil, sextant.Errorf(sextant.EINVALID, "apply fix: no object or no fix")
	}
	if CreatesObject(f) {
		out, err := json.Marshal(f.Ops[0].Value)
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "apply fix to %s: encode new object: %v", o.Ref(), err)
		}
		return out, nil
	}
	return applyOps(o.Raw, f.Ops, o.Ref().String())
}

// applyOps applies JSON Patch operations to doc; what names the document in
// errors.
func applyOps(doc []byte, ops []PatchOp, what string) ([]byte, error) {
	if len(doc) == 0 {
		return nil, sextant.Errorf(sextant.EINVALID, "apply fix to %s: object has no raw JSON", what)
	}
	for _, op := range ops {
		switch op.Op {
		case "add", "remove", "replace", "move", "copy", "test":
		default:
			return nil, sextant.Errorf(sextant.EINVALID, "apply fix to %s: unknown patch operation %q", what, op.Op)
		}
	}
	pj, err := json.Marshal(ops)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "apply fix to %s: encode patch: %v", what, err)
	}
	p, err := jsonpatch.DecodePatch(pj)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "apply fix to %s: decode patch: %v", what, err)
	}
	out, err := p.ApplyWithOptions(doc, &jsonpatch.ApplyOptions{
		SupportNegativeIndices: false,
		EnsurePathExistsOnAdd:  false,
	})
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "apply fix to %s: %v", what, err)
	}
	return out, nil
}

// StrategicMergePatch returns the fix as a strategic-merge patch: the
// two-way patch from the object to the fixed object, computed with the
// patch-merge keys of the object's Go type (containers merged by name). It is
// computed by twoWayMergePatch, which follows
// k8s.io/apimachinery/pkg/util/strategicpatch.CreateTwoWayMergePatch for
// the directives sextant's fixes need (see patch_smp.go).
// Objects without a typed form (custom resources) get an RFC 7386 JSON merge
// patch instead, in which lists are replaced whole.
func StrategicMergePatch(o *Object, f *Fix) ([]byte, error) {
	if CreatesObject(f) {
		return nil, sextant.Errorf(sextant.EINVALID, "strategic merge patch for %s: the fix creates a new object; apply it as a manifest", o.Ref())
	}
	modified, err := ApplyFix(o, f)
	if err != nil {
		return nil, err
	}
	if o.Typed == nil {
		p, err := jsonpatch.CreateMergePatch(o.Raw, modified)
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "merge patch for %s: %v", o.Ref(), err)
		}
		return p, nil
	}
	p, err := twoWayMergePatch(o.Raw, modified, reflect.TypeOf(o.Typed))
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "strategic merge patch for %s: %v", o.Ref(), err)
	}
	return p, nil
}

var (
	// kubectlKindRE is what a kind may look like to be put on a command line.
	kubectlKindRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,62}$`)
	// kubectlArgRE is what a name or namespace may look like to go on a
	// command line unquoted. Kubernetes names are DNS subdomains or, for
	// RBAC objects, path segments such as "system:controller:foo".
	kubectlArgRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]*$`)
)

// KubectlPatch returns the kubectl command that applies the fix to the live
// object:
//
//	kubectl patch deployment web -n shop --type strategic -p '{"spec":…}'
//
// Object names come from untrusted files: a name or namespace that is not a
// plain Kubernetes name is single-quoted, and names with control characters
// or a leading "-" (which kubectl would read as a flag) are refused.
func KubectlPatch(o *Object, f *Fix) (string, error) {
	name, err := kubectlTarget(o)
	if err != nil {
		return "", err
	}
	p, err := StrategicMergePatch(o, f)
	if err != nil {
		return "", err
	}
	return kubectlCommand(o, name, p)
}

// kubectlTarget checks the object's kind and returns its name ready for the
// command line.
func kubectlTarget(o *Object) (string, error) {
	if o == nil {
		return "", sextant.Errorf(sextant.EINVALID, "kubectl patch: no object")
	}
	if !kubectlKindRE.MatchString(o.Kind) {
		return "", sextant.Errorf(sextant.EINVALID, "kubectl patch: kind %q is not a plain kind name", o.Kind)
	}
	return kubectlArg("name", o.Name)
}

// kubectlCommand returns the kubectl command that applies patch p to the
// object; name is the object's name from kubectlTarget.
func kubectlCommand(o *Object, name string, p []byte) (string, error) {
	typ := "strategic"
	if o.Typed == nil {
		typ = "merge"
	}
	var b strings.Builder
	b.Grow(len("kubectl patch ") + len(o.Kind) + len(name) + len(o.Namespace) + len(p) + 40)
	b.WriteString("kubectl patch ")
	b.WriteString(strings.ToLower(o.Kind))
	b.WriteByte(' ')
	b.WriteString(name)
	if o.Namespace != "" {
		ns, err := kubectlArg("namespace", o.Namespace)
		if err != nil {
			return "", err
		}
		b.WriteString(" -n ")
		b.WriteString(ns)
	}
	b.WriteString(" --type ")
	b.WriteString(typ)
	b.WriteString(" -p ")
	b.WriteString(kubectlQuote(string(p)))
	return b.String(), nil
}

// kubectlArg returns s ready for a POSIX shell command line, or an error when
// s cannot be a Kubernetes name at all.
func kubectlArg(what, s string) (string, error) {
	if s == "" {
		return "", sextant.Errorf(sextant.EINVALID, "kubectl patch: empty %s", what)
	}
	if strings.HasPrefix(s, "-") {
		return "", sextant.Errorf(sextant.EINVALID, "kubectl patch: %s %q starts with '-'", what, s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", sextant.Errorf(sextant.EINVALID, "kubectl patch: %s %q has control characters", what, s)
		}
	}
	if kubectlArgRE.MatchString(s) {
		return s, nil
	}
	return kubectlQuote(s), nil
}

// kubectlQuote single-quotes s for a POSIX shell.
func kubectlQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Verify checks that a fix does what it claims: it applies the fix, decodes
// the result strictly into the object's Go type (an unknown or misspelt field
// is an error), and runs the check again on the patched object. It returns
// an error when the fix does not apply, the result no longer decodes, or the
// check still reports the violation the fix was for. A fix that creates an
// object is verified by checking the original object again with the new one
// beside it.
func Verify(o *Object, f *Fix, check Check) error {
	return verify(o, f, check, nil)
}

// verify is Verify with an inventory as the check's context; the patched
// object replaces the original in it.
func verify(o *Object, f *Fix, check Check, inv *Inventory) error {
	if check.Run == nil {
		return sextant.Errorf(sextant.EINVALID, "verify %s: check %s has no Run", o.Ref(), check.ID)
	}
	out, err := ApplyFix(o, f)
	if err != nil {
		return err
	}
	if CreatesObject(f) {
		created, err := fixObject(out)
		if err != nil {
			return sextant.Errorf(sextant.EINVALID, "verify %s: new object: %v", o.Ref(), err)
		}
		if err := fixDecodeStrict(out, created.Typed); err != nil {
			return sextant.Errorf(sextant.EINVALID, "verify %s: new %s does not decode: %v", o.Ref(), created.Kind, err)
		}
		ctx := fixInventory(inv, o, o, created)
		if vs := check.Run(o, ctx); len(vs) > 0 {
			return sextant.Errorf(sextant.EINVALID, "verify %s: check %s still fails with the new %s: %s", o.Ref(), check.ID, created.Ref(), vs[0].Message)
		}
		return nil
	}
	patched, err := fixObject(out)
	if err != nil {
		return sextant.Errorf(sextant.EINVALID, "verify %s: patched object does not decode: %v", o.Ref(), err)
	}
	if o.Typed != nil {
		typed := reflect.New(reflect.TypeOf(o.Typed).Elem()).Interface()
		if err := fixDecodeStrict(out, typed); err != nil {
			return sextant.Errorf(sextant.EINVALID, "verify %s: patched object does not decode: %v", o.Ref(), err)
		}
		patched.Typed = typed
	}
	patched.Source = o.Source
	before := check.Run(o, fixInventory(inv, o, o))
	after := check.Run(patched, fixInventory(inv, o, patched))
	// The fix is for one violation; others of the same check on other
	// containers may remain. It must remove at least one, and not add any.
	if len(after) >= len(before) {
		msg := "no violation to fix"
		if len(after) > 0 {
			msg = after[0].Message
		}
		return sextant.Errorf(sextant.EINVALID, "verify %s: check %s still fails after the fix: %s", o.Ref(), check.ID, msg)
	}
	return nil
}

// fixInventory returns a copy of inv (which may be nil) in which old is
// replaced by repl[0] and the rest of repl is added.
func fixInventory(inv *Inventory, old *Object, repl ...*Object) *Inventory {
	out := &Inventory{}
	if inv != nil {
		out.Cluster = inv.Cluster
		for _, x := range inv.Objects {
			if x != old {
				out.Objects = append(out.Objects, x)
			}
		}
	}
	out.Objects = append(out.Objects, repl...)
	return out
}

// fixDecodeStrict decodes JSON into v, refusing unknown and duplicate fields.
func fixDecodeStrict(data []byte, v any) error {
	if v == nil {
		return nil
	}
	strict, err := sigsjson.UnmarshalStrict(data, v)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		return errors.Join(strict...)
	}
	return nil
}

// fixObject builds an Object from its JSON, with the metadata fields
// filled in and Typed set for the kinds sextant knows (see fixTyped).
func fixObject(data []byte) (*Object, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name        string            `json:"name"`
			Namespace   string            `json:"namespace"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("decode object: %v", err)
	}
	o := &Object{
		APIVersion:  head.APIVersion,
		Kind:        head.Kind,
		Namespace:   head.Metadata.Namespace,
		Name:        head.Metadata.Name,
		Labels:      head.Metadata.Labels,
		Annotations: head.Metadata.Annotations,
		Raw:         data,
		Source:      Source{Item: -1},
	}
	if t := fixTyped(head.APIVersion, head.Kind); t != nil {
		if err := json.Unmarshal(data, t); err != nil {
			return nil, fmt.Errorf("decode %s: %v", head.Kind, err)
		}
		o.Typed = t
	}
	return o, nil
}

// fixTyped returns a new zero value of the k8s.io/api type for an
// apiVersion and kind, as a pointer, or nil for kinds sextant does not
// decode.
func fixTyped(apiVersion, kind string) any {
	group := ""
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		group = apiVersion[:i]
	}
	switch group + "/" + kind {
	case "/Pod":
		return &corev1.Pod{}
	case "/Service":
		return &corev1.Service{}
	case "/ServiceAccount":
		return &corev1.ServiceAccount{}
	case "/Namespace":
		return &corev1.Namespace{}
	case "/ReplicationController":
		return &corev1.ReplicationController{}
	case "apps/Deployment":
		return &appsv1.Deployment{}
	case "apps/StatefulSet":
		return &appsv1.StatefulSet{}
	case "apps/DaemonSet":
		return &appsv1.DaemonSet{}
	case "apps/ReplicaSet":
		return &appsv1.ReplicaSet{}
	case "batch/Job":
		return &batchv1.Job{}
	case "batch/CronJob":
		return &batchv1.CronJob{}
	case "rbac.authorization.k8s.io/Role":
		return &rbacv1.Role{}
	case "rbac.authorization.k8s.io/ClusterRole":
		return &rbacv1.ClusterRole{}
	case "rbac.authorization.k8s.io/RoleBinding":
		return &rbacv1.RoleBinding{}
	case "rbac.authorization.k8s.io/ClusterRoleBinding":
		return &rbacv1.ClusterRoleBinding{}
	case "networking.k8s.io/NetworkPolicy":
		return &networkingv1.NetworkPolicy{}
	case "networking.k8s.io/Ingress":
		return &networkingv1.Ingress{}
	}
	return nil
}

// checkTyped returns the object's typed form as a *T: o.Typed when it is
// one, else a fresh decode of o.Raw (objects built without the loader), else
// nil.
func checkTyped[T any](o *Object) *T {
	if t, ok := o.Typed.(*T); ok {
		return t
	}
	if o.Typed != nil || len(o.Raw) == 0 {
		return nil
	}
	t := fixTyped(o.APIVersion, o.Kind)
	if _, ok := t.(*T); !ok {
		return nil
	}
	if err := json.Unmarshal(o.Raw, t); err != nil {
		return nil
	}
	return t.(*T)
}
