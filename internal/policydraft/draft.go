// Package policydraft turns a policy written in plain English into two
// admission policies that say the same thing: a Kyverno ClusterPolicy and
// a Kubernetes ValidatingAdmissionPolicy with its binding (CEL,
// admissionregistration.k8s.io/v1).
//
// The path is deterministic from end to end. Parse reads the request into
// an Intent (rule kinds from a closed list, namespaces, registries,
// capabilities) and refuses what it does not understand, listing what it
// does. The policies are generated from the intent by code; a language
// model may propose an intent (ProposeIntent), never a policy. Before a
// draft is shown, both policies are parsed back — the Kyverno policy as
// unstructured YAML with its required keys and anchors checked, the
// ValidatingAdmissionPolicy into the k8s.io/api types with every CEL
// expression compiled by cel-go — and the CEL policy is evaluated on
// built-in samples (a compliant pod must be admitted, each rule's
// violation denied, out-of-scope namespaces left alone) and on the
// manifests the caller gives, to say which resources it would deny.
package policydraft

import (
	"fmt"
	"slices"

	"github.com/sextant-dev/sextant"
)

// Draft is a drafted pair of policies and what checking them found. Its
// JSON form is the output of `sextant policy draft -o json`
// (docs/policy-draft.md).
type Draft struct {
	// Request is the text the intent was read from.
	Request string `json:"request"`
	Intent  Intent `json:"intent"`
	// IntentSource is "parser", or the model that proposed the intent.
	IntentSource string `json:"intent_source"`
	Enforce      bool   `json:"enforce"`
	// Kyverno is the ClusterPolicy; VAP the ValidatingAdmissionPolicy and
	// its binding, as YAML.
	Kyverno string `json:"kyverno"`
	VAP     string `json:"validating_admission_policy"`
	// SelfCheck lists the built-in samples the CEL policy was checked on.
	SelfCheck []string `json:"self_check"`
	// Check is the policy's decision on the caller's manifests.
	Check *Check `json:"check,omitempty"`

	admission *Admission
}

// Check is what the ValidatingAdmissionPolicy would decide about a set of
// manifests.
type Check struct {
	// Objects counts the objects read; Matched those the policy applies
	// to; Denied those it would deny (each with its failures).
	Objects  int        `json:"objects"`
	Matched  int        `json:"matched"`
	Denied   []Decision `json:"denied"`
	Admitted int        `json:"admitted"`
	Warnings []string   `json:"warnings,omitempty"`
}

// Options configure a draft.
type Options struct {
	// Enforce makes the policies deny (Kyverno Enforce, binding Deny)
	// instead of auditing and warning.
	Enforce bool
}

// New drafts the policies of a request: Parse, then Generate.
func New(request string, opts Options) (*Draft, error) {
	in, err := Parse(request)
	if err != nil {
		return nil, err
	}
	return Generate(in, request, "parser", opts)
}

// Generate drafts the policies of an intent, parses both back and checks
// the CEL policy on the built-in samples. request and source are recorded.
// An invalid intent is EINVALID; a draft that fails its own checks is
// EINTERNAL (a bug in sextant, never shown as a policy).
func Generate(in Intent, request, source string, opts Options) (*Draft, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	ky, err := Kyverno(in, request, opts.Enforce)
	if err != nil {
		return nil, err
	}
	if err := CheckKyverno(ky, in); err != nil {
		return nil, err
	}
	vb, err := VAP(in, request, opts.Enforce)
	if err != nil {
		return nil, err
	}
	adm, err := ParseVAP(vb)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINTERNAL, "drafted %s", sextant.ErrorMessage(err))
	}
	d := &Draft{Request: request, Intent: in, IntentSource: source, Enforce: opts.Enforce, Kyverno: string(ky), VAP: string(vb), admission: adm}
	if d.SelfCheck, err = selfCheck(adm, in); err != nil {
		return nil, err
	}
	return d, nil
}

// CheckResources evaluates the drafted ValidatingAdmissionPolicy on the
// resources and records the outcome in d.Check.
func (d *Draft) CheckResources(rs []Resource, warnings []string) *Check {
	c := &Check{Objects: len(rs), Denied: []Decision{}, Warnings: warnings}
	for _, r := range rs {
		dec := d.admission.Decide(r)
		if !dec.Matched {
			continue
		}
		c.Matched++
		if dec.Denied {
			c.Denied = append(c.Denied, dec)
		} else {
			c.Admitted++
		}
	}
	d.Check = c
	return c
}

// Decide evaluates the drafted ValidatingAdmissionPolicy on one resource.
func (d *Draft) Decide(r Resource) Decision { return d.admission.Decide(r) }

// selfCheck evaluates the policy on samples made from the intent: a
// compliant pod (also as a Deployment and a CronJob) must be admitted,
// each rule's violation denied by that rule, and a violation outside the
// policy's namespaces left alone.
func selfCheck(a *Admission, in Intent) ([]string, error) {
	fail := func(format string, args ...any) error {
		return sextant.Errorf(sextant.EINTERNAL, "drafted policy fails its self-check: "+format, args...)
	}
	inNS, outNS := sampleNamespaces(in)
	var done []string
	for _, wrap := range []string{"Pod", "Deployment", "CronJob"} {
		good := sample(wrap, "compliant", inNS, compliantSpec(in))
		if d := a.Decide(good); !d.Matched || d.Denied {
			return nil, fail("a compliant %s is not admitted: %v %s", wrap, d.Failures, d.Error)
		}
		for _, s := range allSpecs(in) {
			spec := compliantSpec(in)
			violate(s.name, in, spec)
			bad := sample(wrap, s.name, inNS, spec)
			d := a.Decide(bad)
			if !d.Denied || !slices.ContainsFunc(d.Failures, func(m string) bool { return len(m) > len(s.name) && m[:len(s.name)+1] == s.name+":" }) {
				return nil, fail("a %s violating %s is not denied by it: %v %s", wrap, s.name, d.Failures, d.Error)
			}
			if wrap == "Pod" {
				done = append(done, fmt.Sprintf("Pod violating %s in namespace %s: denied", s.name, inNS))
			}
			if outNS != "" {
				if d := a.Decide(sample(wrap, s.name, outNS, spec)); d.Denied {
					return nil, fail("a %s violating %s in namespace %s, outside the policy, is denied", wrap, s.name, outNS)
				}
			}
		}
	}
	done = append([]string{fmt.Sprintf("compliant Pod, Deployment and CronJob in namespace %s: admitted", inNS)}, done...)
	if outNS != "" {
		done = append(done, fmt.Sprintf("violations in namespace %s (outside the policy): not matched", outNS))
	}
	return done, nil
}

// sampleNamespaces returns a namespace the policy applies in, and one it
// does not ("" when it applies everywhere).
func sampleNamespaces(in Intent) (inside, outside string) {
	inside = "sextant-check"
	for slices.Contains(in.ExcludeNamespaces, inside) {
		inside += "-x"
	}
	switch {
	case len(in.Namespaces) > 0:
		inside = in.Namespaces[0]
		outside = "sextant-elsewhere"
		for slices.Contains(in.Namespaces, outside) {
			outside += "-x"
		}
	case len(in.ExcludeNamespaces) > 0:
		outside = in.ExcludeNamespaces[0]
	}
	return inside, outside
}

// sample wraps a pod spec in an object of the given kind.
func sample(kind, name, ns string, spec map[string]any) Resource {
	meta := map[string]any{"name": name, "namespace": ns}
	var obj map[string]any
	switch kind {
	case "Pod":
		obj = map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
	case "Deployment":
		obj = map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": map[string]any{
			"replicas": int64(1), "template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": name}}, "spec": spec}}}
	case "CronJob":
		obj = map[string]any{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta, "spec": map[string]any{
			"schedule": "0 * * * *", "jobTemplate": map[string]any{"spec": map[string]any{"template": map[string]any{"spec": spec}}}}}
	}
	return Resource{Ref: kind + "/" + ns + "/" + name, APIVersion: obj["apiVersion"].(string), Kind: kind, Namespace: ns, Object: obj}
}

// compliantSpec returns a pod spec that meets every rule the intent can
// hold.
func compliantSpec(in Intent) map[string]any {
	registry := "registry.example.com"
	for _, r := range in.Rules {
		if r.Kind == RestrictRegistries {
			registry = r.Registries[0]
		}
	}
	container := map[string]any{
		"name":  "app",
		"image": registry + "/app:1.0",
		"securityContext": map[string]any{
			"runAsNonRoot": true, "runAsUser": int64(10001), "privileged": false, "allowPrivilegeEscalation": false,
			"readOnlyRootFilesystem": true, "capabilities": map[string]any{"drop": []any{"ALL"}},
		},
		"resources": map[string]any{
			"limits":   map[string]any{"cpu": "500m", "memory": "256Mi"},
			"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
		},
	}
	return map[string]any{
		"securityContext": map[string]any{"runAsNonRoot": true, "runAsUser": int64(10001)},
		"containers":      []any{container},
	}
}

// violate changes a compliant pod spec so that it breaks the named rule.
func violate(rule string, in Intent, spec map[string]any) {
	c := spec["containers"].([]any)[0].(map[string]any)
	sc := c["securityContext"].(map[string]any)
	image := c["image"].(string)
	switch rule {
	case "run-as-non-root":
		delete(sc, "runAsNonRoot")
		delete(spec["securityContext"].(map[string]any), "runAsNonRoot")
	case "run-as-non-root-user":
		sc["runAsUser"] = int64(0)
	case "privileged-containers":
		sc["privileged"] = true
	case "privilege-escalation":
		sc["allowPrivilegeEscalation"] = true
	case "host-network":
		spec["hostNetwork"] = true
	case "host-pid":
		spec["hostPID"] = true
	case "host-ipc":
		spec["hostIPC"] = true
	case "host-path":
		spec["volumes"] = []any{map[string]any{"name": "docker", "hostPath": map[string]any{"path": "/var/run/docker.sock"}}}
	case "require-image-tag":
		c["image"] = image[:len(image)-len(":1.0")]
	case "disallow-latest-tag":
		c["image"] = image[:len(image)-len(":1.0")] + ":latest"
	case "require-limits":
		for _, r := range in.Rules {
			if r.Kind == RequireResourceLimits {
				delete(c["resources"].(map[string]any)["limits"].(map[string]any), r.Resources[0])
			}
		}
	case "allowed-registries":
		c["image"] = "untrusted.example.net/app:1.0"
	case "drop-all-capabilities":
		delete(sc, "capabilities")
	case "restrict-added-capabilities", "disallow-capabilities":
		add := "SYS_ADMIN"
		for _, r := range in.Rules {
			switch {
			case r.Kind == DisallowCapabilities:
				add = r.Capabilities[0]
			case r.Kind == RestrictCapabilities:
				for _, name := range capabilities {
					if name != "ALL" && !slices.Contains(r.Capabilities, name) {
						add = name
						break
					}
				}
			}
		}
		sc["capabilities"] = map[string]any{"drop": []any{"ALL"}, "add": []any{add}}
	case "read-only-root-filesystem":
		sc["readOnlyRootFilesystem"] = false
	}
}
