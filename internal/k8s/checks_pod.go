package k8s

import (
	"encoding/json"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodChecks returns the pod and container checks, in ID order. They look at
// every workload kind (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
// Job, CronJob, ReplicationController, PodTemplate) through its pod spec,
// and at the containers, init containers and ephemeral containers in it
// where the setting applies to them.
//
// Together they cover every control of the Pod Security Standards (baseline
// and restricted), the CIS Kubernetes Benchmark workload controls (5.1.5,
// 5.1.6, 5.2.2–5.2.13, 5.4.1, 5.7.2–5.7.4), the pod items of the NSA/CISA
// Kubernetes Hardening Guide, and the container checks of kube-score,
// Polaris and kubesec that matter; each check's Mappings name them.
//
// Every violation carries a minimal RFC 6902 fix addressed through the
// workload's pod spec path, except where no safe automatic change exists
// (a literal secret in an env var, an image tag to pin, a namespace to
// choose): the Fix is then nil and the Message says what to do.
//
// Fixes are computed against the object as it is. Two fixes for the same
// object may both create the same missing securityContext; apply one, run
// the checks again, and apply the next (as Verify does) rather than
// concatenating their operations.
func PodChecks() []Check {
	return []Check{
		checkPrivileged(),
		checkHostPID(),
		checkHostIPC(),
		checkHostNetwork(),
		checkHostProcess(),
		checkBaselineCapabilities(),
		checkHostPathVolume(),
		checkRuntimeSocket(),
		checkHostPort(),
		checkAppArmor(),
		checkSELinux(),
		checkProcMount(),
		checkSeccompUnconfined(),
		checkSysctls(),
		checkVolumeTypes(),
		checkPrivilegeEscalation(),
		checkRunAsNonRoot(),
		checkRunAsRootUser(),
		checkSeccompMissing(),
		checkDropAll(),
		checkRestrictedCapabilities(),
		checkReadOnlyRootFS(),
		checkHighUID(),
		checkCPURequest(),
		checkMemoryRequest(),
		checkCPULimit(),
		checkMemoryLimit(),
		checkEphemeralStorage(),
		checkLivenessProbe(),
		checkReadinessProbe(),
		checkImageTag(),
		checkPullPolicy(),
		checkAutomountToken(),
		checkDefaultServiceAccount(),
		checkSensitiveEnv(),
		checkSecretEnv(),
		checkDefaultNamespace(),
		checkDuplicateEnv(),
		checkHostAliases(),
		checkReplicas(),
		checkShareProcessNamespace(),
		checkConfigMapSecret(),
	}
}

// workloadKinds is what Check.Kinds says for the pod checks.
var workloadKinds = []string{"Workload"}

// podTarget is a workload as the pod checks see it: the pod spec, the pod
// template's metadata and where both sit in the object's JSON.
type podTarget struct {
	o        *Object
	spec     *corev1.PodSpec
	meta     *metav1.ObjectMeta
	specPath string
	metaPath string
	// replicas is the controller's spec.replicas (nil when unset or the
	// kind has none); hasReplicas says whether the kind has the field.
	replicas    *int32
	hasReplicas bool
	replicasAt  string
	// ns is the namespace the object's own JSON names ("" when none).
	ns string
}

// podContainer is one container, init container or ephemeral container of
// a pod spec, with its JSON Pointer.
type podContainer struct {
	c    *corev1.Container
	list string // "containers", "initContainers" or "ephemeralContainers"
	// specPath and index locate the container; see path.
	specPath string
	index    int
}

// path returns the container's JSON Pointer, built only when a violation
// needs it.
func (pc podContainer) path() string {
	return pc.specPath + "/" + pc.list + "/" + strconv.Itoa(pc.index)
}

// container lists a podContainer may come from.
const (
	listContainers = "containers"
	listInit       = "initContainers"
	listEphemeral  = "ephemeralContainers"
)

// podTargetOf returns the pod view of a workload object, or nil when o runs
// no pods. It builds on (*Object).Workload, and reads a PodTemplate too.
func podTargetOf(o *Object) *podTarget {
	if o == nil {
		return nil
	}
	t := &podTarget{o: o, replicasAt: "/spec/replicas"}
	// The common typed kinds are read in place: Workload copies a Pod's
	// spec, and the checks resolve the target once each.
	switch w := o.Typed.(type) {
	case *corev1.Pod:
		t.spec, t.meta, t.specPath = &w.Spec, &w.ObjectMeta, "/spec"
	case *appsv1.Deployment:
		t.spec, t.meta, t.specPath = &w.Spec.Template.Spec, &w.Spec.Template.ObjectMeta, "/spec/template/spec"
	}
	if t.spec != nil {
		// Read above.
	} else if w, ok := o.Workload(); ok && w.Template != nil {
		t.spec, t.meta, t.specPath = &w.Template.Spec, &w.Template.ObjectMeta, w.SpecPath
	} else if pt := podTemplateOf(o); pt != nil {
		t.spec, t.meta, t.specPath = &pt.Template.Spec, &pt.Template.ObjectMeta, "/template/spec"
	} else {
		return nil
	}
	switch t.specPath {
	case "/spec":
		t.metaPath = "/metadata"
	case "/spec/template/spec":
		t.metaPath = "/spec/template/metadata"
	default:
		t.metaPath = strings.TrimSuffix(t.specPath, "/spec") + "/metadata"
	}
	// Workload reports replicas with the API default applied; fixes need
	// to know whether the field is there, and checks which namespace the
	// JSON itself names (the loader defaults it).
	switch w := o.Typed.(type) {
	case *appsv1.Deployment:
		t.replicas, t.hasReplicas = w.Spec.Replicas, true
	case *appsv1.StatefulSet:
		t.replicas, t.hasReplicas = w.Spec.Replicas, true
	case *appsv1.ReplicaSet:
		t.replicas, t.hasReplicas = w.Spec.Replicas, true
	case *corev1.ReplicationController:
		t.replicas, t.hasReplicas = w.Spec.Replicas, true
	case nil:
		var head struct {
			Metadata struct {
				Namespace string `json:"namespace"`
			} `json:"metadata"`
			Spec struct {
				Replicas *int32 `json:"replicas"`
			} `json:"spec"`
		}
		if json.Unmarshal(o.Raw, &head) == nil {
			t.ns, t.replicas = head.Metadata.Namespace, head.Spec.Replicas
		}
		switch o.Kind {
		case "Deployment", "StatefulSet", "ReplicaSet", "ReplicationController":
			t.hasReplicas = true
		}
	}
	if m, ok := o.Typed.(metav1.Object); ok {
		t.ns = m.GetNamespace()
	}
	return t
}

// podTemplateOf returns the object as a PodTemplate, or nil.
func podTemplateOf(o *Object) *corev1.PodTemplate {
	if pt, ok := o.Typed.(*corev1.PodTemplate); ok {
		return pt
	}
	if o.Typed != nil || o.Kind != "PodTemplate" || len(o.Raw) == 0 {
		return nil
	}
	pt := &corev1.PodTemplate{}
	if json.Unmarshal(o.Raw, pt) != nil {
		return nil
	}
	return pt
}

// windows reports whether the pod declares itself a Windows pod, which
// the restricted profile exempts from its Linux-only controls.
func (t *podTarget) windows() bool {
	return t.spec.OS != nil && t.spec.OS.Name == corev1.Windows
}

// podNoSC stands in for a missing pod security context; never modified.
var podNoSC = &corev1.PodSecurityContext{}

// podSC returns the pod-level security context, never nil.
func (t *podTarget) podSC() *corev1.PodSecurityContext {
	if t.spec.SecurityContext == nil {
		return podNoSC
	}
	return t.spec.SecurityContext
}

// isJob reports whether the workload runs to completion (Job, CronJob, or
// a Pod that never restarts), where probes and replicas do not apply.
func (t *podTarget) isJob() bool {
	switch t.o.Kind {
	case "Job", "CronJob":
		return true
	case "Pod":
		return t.spec.RestartPolicy == corev1.RestartPolicyNever || t.spec.RestartPolicy == corev1.RestartPolicyOnFailure
	}
	return false
}

// containers returns the pod's containers from the named lists, in spec
// order (containers, then init containers, then ephemeral containers).
func (t *podTarget) containers(lists ...string) []podContainer {
	out := make([]podContainer, 0, len(t.spec.Containers)+len(t.spec.InitContainers)+len(t.spec.EphemeralContainers))
	for _, l := range lists {
		switch l {
		case listContainers:
			for i := range t.spec.Containers {
				out = append(out, podContainer{c: &t.spec.Containers[i], list: l, specPath: t.specPath, index: i})
			}
		case listInit:
			for i := range t.spec.InitContainers {
				out = append(out, podContainer{c: &t.spec.InitContainers[i], list: l, specPath: t.specPath, index: i})
			}
		case listEphemeral:
			for i := range t.spec.EphemeralContainers {
				// EphemeralContainerCommon mirrors Container field by field.
				c := corev1.Container(t.spec.EphemeralContainers[i].EphemeralContainerCommon)
				out = append(out, podContainer{c: &c, list: l, specPath: t.specPath, index: i})
			}
		}
	}
	return out
}

// allContainers is every container list.
var allContainers = []string{listContainers, listInit, listEphemeral}

// runContainers is the lists whose containers can carry resources.
var runContainers = []string{listContainers, listInit}

// sidecar reports whether an init container is a restartable sidecar.
func (pc podContainer) sidecar() bool {
	return pc.list == listInit && pc.c.RestartPolicy != nil && *pc.c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// podViolation builds a violation of check id on the target; pc is nil for
// a pod-level violation.
func (t *podTarget) violation(id string, pc *podContainer, msg, evidence string, fix *Fix) Violation {
	v := Violation{CheckID: id, Object: t.o.Ref(), Message: msg, Evidence: evidence, Fix: fix}
	if pc != nil {
		v.Container = pc.c.Name
	}
	return v
}

// podCheck builds a Check over workloads whose Run resolves the pod view
// and calls run with it.
func podCheck(c Check, run func(t *podTarget) []Violation) Check {
	c.Kinds = workloadKinds
	c.Run = func(o *Object, _ *Inventory) []Violation {
		t := podTargetOf(o)
		if t == nil {
			return nil
		}
		return run(t)
	}
	return c
}

// podPointerEscape escapes one JSON Pointer reference token (RFC 6901).
func podPointerEscape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// podKV is one field to set by a fix.
type podKV struct {
	key    string
	value  any
	exists bool
}

// podSetFields returns the ops that set fields of the JSON object at path:
// one "add" of the whole object when it is missing, else a "replace" for
// each existing field and an "add" for each new one.
func podSetFields(path string, missing bool, kvs ...podKV) []PatchOp {
	if missing {
		obj := make(map[string]any, len(kvs))
		for _, kv := range kvs {
			obj[kv.key] = kv.value
		}
		return []PatchOp{{Op: "add", Path: path, Value: obj}}
	}
	ops := make([]PatchOp, 0, len(kvs))
	for _, kv := range kvs {
		op := "add"
		if kv.exists {
			op = "replace"
		}
		ops = append(ops, PatchOp{Op: op, Path: path + "/" + podPointerEscape(kv.key), Value: kv.value})
	}
	return ops
}

// scOps sets fields of a container's securityContext.
func (pc podContainer) scOps(kvs ...podKV) []PatchOp {
	return podSetFields(pc.path()+"/securityContext", pc.c.SecurityContext == nil, kvs...)
}

// podSCOps sets fields of the pod's securityContext.
func (t *podTarget) podSCOps(kvs ...podKV) []PatchOp {
	return podSetFields(t.specPath+"/securityContext", t.spec.SecurityContext == nil, kvs...)
}

// podRemoveIndexes returns "remove" ops for the given indexes of the array
// at path, highest first so that earlier removals do not shift later ones.
func podRemoveIndexes(path string, idx []int) []PatchOp {
	ops := make([]PatchOp, 0, len(idx))
	for i := len(idx) - 1; i >= 0; i-- {
		ops = append(ops, PatchOp{Op: "remove", Path: path + "/" + strconv.Itoa(idx[i])})
	}
	return ops
}

// podIsTrue reports whether a *bool is set and true.
func podIsTrue(b *bool) bool { return b != nil && *b }
