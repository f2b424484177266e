package k8s

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
	sigsjson "sigs.k8s.io/json"

	"github.com/sextant-dev/sextant"
)

// Test inputs for the pod checks live in testdata/checks/pod/<check ID>.yaml:
// objects named "fail-…" must produce violations of that check, on the
// containers listed in the annotation podWantAnnotation ("-" for a
// pod-level violation), and objects named "pass-…" none. Other objects
// (ServiceAccounts, HPAs) are context.
const podWantAnnotation = "test.sextant.dev/containers"

// podLoad reads manifests with the package's loader.
func podLoad(t testing.TB, path string) *Inventory {
	t.Helper()
	inv, err := LoadFiles(path)
	if err != nil {
		t.Fatalf("LoadFiles(%q) = %v", path, err)
	}
	return inv
}

// podContainersOf returns the sorted containers of violations, "-" for "".
func podContainersOf(vs []Violation) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		c := v.Container
		if c == "" {
			c = "-"
		}
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// podNoFixChecks are the checks for which no safe automatic fix exists:
// their violations carry a nil Fix and a Message that says so.
var podNoFixChecks = map[string]bool{
	CheckPodVolumeTypes: true, CheckPodImageTag: true, CheckPodDefaultServiceAccount: true,
	CheckPodSensitiveEnv: true, CheckPodSecretEnv: true, CheckPodDefaultNamespace: true, CheckPodConfigMapSecret: true,
}

func TestPodChecks(t *testing.T) {
	for _, c := range PodChecks() {
		t.Run(c.ID, func(t *testing.T) {
			path := filepath.Join("testdata", "checks", "pod", c.ID+".yaml")
			inv := podLoad(t, path)
			if len(inv.Warnings) > 0 {
				t.Fatalf("LoadFiles(%q) warnings = %q, want none", path, inv.Warnings)
			}
			var fails, passes int
			for _, o := range inv.Objects {
				vs := c.Run(o, inv)
				switch {
				case strings.HasPrefix(o.Name, "fail-"):
					fails++
					want := strings.Split(o.Annotations[podWantAnnotation], ",")
					sort.Strings(want)
					if diff := cmp.Diff(want, podContainersOf(vs)); diff != "" {
						t.Errorf("%s.Run(%s) containers (-want +got):\n%s", c.ID, o.Name, diff)
					}
					for _, v := range vs {
						if v.CheckID != c.ID || v.Object != o.Ref() || v.Message == "" || v.Evidence == "" {
							t.Errorf("%s.Run(%s) = %+v, want CheckID %s, Object %v, a Message and Evidence", c.ID, o.Name, v, c.ID, o.Ref())
						}
						if v.Fix == nil && !strings.Contains(strings.ToLower(v.Message), "no automatic fix") {
							t.Errorf("%s.Run(%s) Fix = nil with Message %q, want a message saying no automatic fix exists", c.ID, o.Name, v.Message)
						}
						if podNoFixChecks[c.ID] && v.Fix != nil {
							t.Errorf("%s.Run(%s) Fix = %+v, want nil", c.ID, o.Name, v.Fix)
						}
					}
				case strings.HasPrefix(o.Name, "pass-"):
					passes++
					if len(vs) > 0 {
						t.Errorf("%s.Run(%s) = %v, want no violations", c.ID, o.Name, vs)
					}
				}
			}
			if fails == 0 || passes == 0 {
				t.Errorf("%s: %d failing and %d passing objects, want at least one of each", path, fails, passes)
			}
		})
	}
}

// The controls the pod checks must cover, as they appear in Mappings.
var podRequiredMappings = []string{
	pssBaseline + "HostProcess", pssBaseline + "Host Namespaces", pssBaseline + "Privileged Containers",
	pssBaseline + "Capabilities", pssBaseline + "HostPath Volumes", pssBaseline + "Host Ports",
	pssBaseline + "AppArmor", pssBaseline + "SELinux", pssBaseline + "/proc Mount Type", pssBaseline + "Seccomp",
	pssBaseline + "Sysctls",
	pssRestricted + "Volume Types", pssRestricted + "Privilege Escalation", pssRestricted + "Running as Non-root",
	pssRestricted + "Running as Non-root user", pssRestricted + "Seccomp", pssRestricted + "Capabilities",
	"CIS 5.1.5", "CIS 5.1.6", "CIS 5.2.2", "CIS 5.2.3", "CIS 5.2.4", "CIS 5.2.5", "CIS 5.2.6", "CIS 5.2.7",
	"CIS 5.2.8", "CIS 5.2.9", "CIS 5.2.10", "CIS 5.2.11", "CIS 5.2.12", "CIS 5.2.13", "CIS 5.4.1",
	"CIS 5.7.2", "CIS 5.7.3", "CIS 5.7.4",
	nsaNonRoot, nsaImmutable, nsaPodSecurity, nsaHardening, nsaTokens, nsaImages, nsaResources, nsaSecrets,
	nsaNamespaces,
}

func TestPodChecksMetadata(t *testing.T) {
	idRE := regexp.MustCompile(`^SX-K8S-0[0-9][0-9]$`)
	seen := map[string]bool{}
	mapped := map[string]bool{}
	checks := PodChecks()
	if len(checks) < 30 {
		t.Errorf("len(PodChecks()) = %d, want at least 30", len(checks))
	}
	for i, c := range checks {
		if !idRE.MatchString(c.ID) || seen[c.ID] {
			t.Errorf("PodChecks()[%d].ID = %q, want a unique SX-K8S-0xx", i, c.ID)
		}
		seen[c.ID] = true
		if i > 0 && c.ID <= checks[i-1].ID {
			t.Errorf("PodChecks()[%d].ID = %q after %q, want ID order", i, c.ID, checks[i-1].ID)
		}
		if c.Title == "" || c.Rationale == "" || len(c.Mappings) == 0 || c.Run == nil {
			t.Errorf("PodChecks()[%d] (%s) = %+v, want a title, rationale, mappings and Run", i, c.ID, c)
		}
		if c.Severity <= sextant.SeverityNegligible || c.Severity > sextant.SeverityCritical {
			t.Errorf("PodChecks()[%d] (%s).Severity = %v, want LOW to CRITICAL", i, c.ID, c.Severity)
		}
		if diff := cmp.Diff([]string{"Workload"}, c.Kinds); diff != "" {
			t.Errorf("PodChecks()[%d] (%s).Kinds (-want +got):\n%s", i, c.ID, diff)
		}
		for _, m := range c.Mappings {
			mapped[m] = true
		}
	}
	for _, m := range podRequiredMappings {
		if !mapped[m] {
			t.Errorf("PodChecks() mappings lack %q, want every PSS control, CIS workload control and NSA/CISA pod item covered", m)
		}
	}
}

func TestPodChecksIgnoreOtherObjects(t *testing.T) {
	objs := []*Object{
		nil,
		{Kind: "Service", Name: "s", Raw: []byte(`{"apiVersion":"v1","kind":"Service"}`)},
		{Kind: "Pod", Name: "broken", Raw: []byte(`{"spec":{"containers":"nope"}}`)},
		{Kind: "Deployment", Name: "empty"},
		{Kind: "Pod", Name: "wrong-typed", Typed: &sextant.Error{}},
		{Kind: "ReplicationController", Name: "no-template", Raw: []byte(`{"apiVersion":"v1","kind":"ReplicationController","spec":{}}`)},
	}
	for _, o := range objs {
		for _, c := range PodChecks() {
			if vs := c.Run(o, nil); len(vs) != 0 {
				t.Errorf("%s.Run(%v) = %v, want none", c.ID, o, vs)
			}
		}
	}
}

// podApplyFix applies a fix with evanphx/json-patch to the object's raw
// JSON and decodes the result strictly into the object's typed form. The
// object itself is not changed.
func podApplyFix(o *Object, f *Fix) (*Object, error) {
	for _, op := range f.Ops {
		switch op.Op {
		case "add", "replace", "remove":
		default:
			return nil, fmt.Errorf("op %q at %s: want add, replace or remove", op.Op, op.Path)
		}
		if !strings.HasPrefix(op.Path, "/spec/") && !strings.HasPrefix(op.Path, "/metadata/") && !strings.HasPrefix(op.Path, "/template/") {
			return nil, fmt.Errorf("op %s at %q: outside the object's spec and metadata", op.Op, op.Path)
		}
	}
	ops, err := json.Marshal(f.Ops)
	if err != nil {
		return nil, err
	}
	patch, err := jsonpatch.DecodePatch(ops)
	if err != nil {
		return nil, fmt.Errorf("decode patch %s: %v", ops, err)
	}
	out, err := patch.Apply(o.Raw)
	if err != nil {
		return nil, fmt.Errorf("apply %s: %v", ops, err)
	}
	p := *o
	p.Raw = out
	if o.Typed != nil {
		typed := reflect.New(reflect.TypeOf(o.Typed).Elem()).Interface()
		strict, err := sigsjson.UnmarshalStrict(out, typed)
		if err == nil && len(strict) > 0 {
			err = errors.Join(strict...)
		}
		if err != nil {
			return nil, fmt.Errorf("patched object does not decode strictly after %s: %v", ops, err)
		}
		p.Typed = typed
	}
	return &p, nil
}

// podDecodesStrictly reports whether an object's raw JSON decodes into its
// typed form without unknown or duplicate fields.
func podDecodesStrictly(o *Object) bool {
	if o.Typed == nil {
		return false
	}
	typed := reflect.New(reflect.TypeOf(o.Typed).Elem()).Interface()
	strict, err := sigsjson.UnmarshalStrict(o.Raw, typed)
	return err == nil && len(strict) == 0
}

// podVerifyFixes applies the fixes of check c to o one at a time, running
// the check again after each, as a user fixing one violation after another
// would. Every fix must apply, leave an object that decodes strictly (when
// the original did), and remove the violation it was for without adding
// any; at the end only violations without a fix may remain.
func podVerifyFixes(t *testing.T, c Check, o *Object, inv *Inventory) {
	t.Helper()
	strict := podDecodesStrictly(o)
	raw := string(o.Raw)
	cur := o
	for round := 0; ; round++ {
		ctx := fixInventory(inv, o, cur)
		vs := c.Run(cur, ctx)
		var v *Violation
		for i := range vs {
			if vs[i].Fix != nil {
				v = &vs[i]
				break
			}
		}
		if v == nil {
			break
		}
		if round > 50 {
			t.Fatalf("%s on %s: still %d violations after %d fixes", c.ID, o.Ref(), len(vs), round)
		}
		var next *Object
		var err error
		if strict {
			next, err = podApplyFix(cur, v.Fix)
		} else {
			// The original carries unknown fields: check the patch applies
			// and decodes, leniently.
			lenient := *cur
			lenient.Typed = nil
			next, err = podApplyFix(&lenient, v.Fix)
			if err == nil && o.Typed != nil {
				next.Typed = reflect.New(reflect.TypeOf(o.Typed).Elem()).Interface()
				err = json.Unmarshal(next.Raw, next.Typed)
			}
		}
		if err != nil {
			t.Fatalf("%s fix for %s container %q: %v", c.ID, o.Ref(), v.Container, err)
		}
		after := c.Run(next, fixInventory(inv, o, next))
		if len(after) >= len(vs) {
			t.Fatalf("%s fix %+v on %s: %d violations before, %d after, want fewer", c.ID, v.Fix.Ops, o.Ref(), len(vs), len(after))
		}
		for _, a := range after {
			if a.Container == v.Container && a.Evidence == v.Evidence {
				t.Fatalf("%s fix %+v on %s: violation %q remains", c.ID, v.Fix.Ops, o.Ref(), a.Evidence)
			}
		}
		cur = next
	}
	if string(o.Raw) != raw {
		t.Errorf("%s: fixing %s changed the original object's Raw", c.ID, o.Ref())
	}
}

func TestPodCheckFixes(t *testing.T) {
	for _, c := range PodChecks() {
		t.Run(c.ID, func(t *testing.T) {
			inv := podLoad(t, filepath.Join("testdata", "checks", "pod", c.ID+".yaml"))
			fixed := 0
			for _, o := range inv.Objects {
				if !strings.HasPrefix(o.Name, "fail-") {
					continue
				}
				for _, v := range c.Run(o, inv) {
					if v.Fix == nil {
						continue
					}
					fixed++
					// The product's own verification agrees.
					if err := verify(o, v.Fix, c, inv); err != nil {
						t.Errorf("verify(%s, fix for %q, %s) = %v, want nil", o.Ref(), v.Container, c.ID, err)
					}
				}
				podVerifyFixes(t, c, o, inv)
			}
			if fixed == 0 && !podNoFixChecks[c.ID] {
				t.Errorf("%s: no violation in its test inputs has a fix, want at least one", c.ID)
			}
		})
	}
}

// TestPodFixDetails pins the exact operations of the fixes whose shape
// matters: creating a missing securityContext as a whole object, replacing
// a field that exists, and the companion changes.
func TestPodFixDetails(t *testing.T) {
	tests := []struct {
		check, file, object, container string
		want                           Fix
	}{
		{CheckPodPrivilegeEscalation, "SX-K8S-016", "fail-escalation", "app", Fix{
			Ops:    []PatchOp{{Op: "add", Path: "/spec/containers/0/securityContext", Value: map[string]any{"allowPrivilegeEscalation": false}}},
			Breaks: "setuid programs (sudo, su, ping in older images) no longer gain privileges.",
		}},
		{CheckPodPrivilegeEscalation, "SX-K8S-016", "fail-escalation", "init", Fix{
			Ops:    []PatchOp{{Op: "replace", Path: "/spec/initContainers/0/securityContext/allowPrivilegeEscalation", Value: false}},
			Breaks: "setuid programs (sudo, su, ping in older images) no longer gain privileges.",
		}},
		{CheckPodPrivilegeEscalation, "SX-K8S-016", "fail-escalation", "sysadmin", Fix{
			Ops: []PatchOp{
				{Op: "add", Path: "/spec/containers/2/securityContext/allowPrivilegeEscalation", Value: false},
				{Op: "remove", Path: "/spec/containers/2/securityContext/capabilities/add/0"},
			},
			Breaks:    "setuid programs (sudo, su, ping in older images) no longer gain privileges.",
			Companion: "Also sets SYS_ADMIN removed from capabilities.add: the API rejects allowPrivilegeEscalation: false on a privileged or CAP_SYS_ADMIN container.",
		}},
		{CheckPodRunAsNonRoot, "SX-K8S-017", "fail-root", "app", Fix{
			Ops: []PatchOp{{Op: "add", Path: "/spec/template/spec/containers/0/securityContext",
				Value: map[string]any{"runAsNonRoot": true, "runAsUser": safeUID}}},
			Breaks:    "The image must work as a non-root user (UID 10001 when it names none): files it writes must be group- or world-writable, and ports below 1024 need NET_BIND_SERVICE.",
			Companion: "Also sets runAsUser: 10001: the kubelet refuses to start a container under runAsNonRoot whose image user is root or not numeric.",
		}},
		{CheckPodRunAsNonRoot, "SX-K8S-017", "fail-root", "explicit", Fix{
			Ops:    []PatchOp{{Op: "replace", Path: "/spec/template/spec/containers/1/securityContext/runAsNonRoot", Value: true}},
			Breaks: "The image must work as a non-root user (UID 10001 when it names none): files it writes must be group- or world-writable, and ports below 1024 need NET_BIND_SERVICE.",
		}},
		{CheckPodRunAsNonRoot, "SX-K8S-017", "fail-root", "uid0", Fix{
			Ops: []PatchOp{
				{Op: "add", Path: "/spec/template/spec/containers/2/securityContext/runAsNonRoot", Value: true},
				{Op: "replace", Path: "/spec/template/spec/containers/2/securityContext/runAsUser", Value: safeUID},
			},
			Breaks:    "The image must work as a non-root user (UID 10001 when it names none): files it writes must be group- or world-writable, and ports below 1024 need NET_BIND_SERVICE.",
			Companion: "Also sets runAsUser: 10001: the kubelet refuses to start a container under runAsNonRoot whose image user is root or not numeric.",
		}},
		{CheckPodRunAsNonRoot, "SX-K8S-017", "fail-pod-level-false", "", Fix{
			Ops: []PatchOp{
				{Op: "replace", Path: "/spec/securityContext/runAsNonRoot", Value: true},
				{Op: "add", Path: "/spec/securityContext/runAsUser", Value: safeUID},
			},
			Breaks:    "The image must work as a non-root user (UID 10001 when it names none): files it writes must be group- or world-writable, and ports below 1024 need NET_BIND_SERVICE.",
			Companion: "Also sets runAsUser: 10001: the kubelet refuses to start a container under runAsNonRoot whose image user is root or not numeric.",
		}},
		{CheckPodReadOnlyRootFS, "SX-K8S-022", "fail-no-volumes", "app", Fix{
			Ops: []PatchOp{
				{Op: "add", Path: "/spec/containers/0/securityContext/readOnlyRootFilesystem", Value: true},
				{Op: "add", Path: "/spec/volumes", Value: []any{map[string]any{"name": "tmp", "emptyDir": map[string]any{}}}},
				{Op: "add", Path: "/spec/containers/0/volumeMounts", Value: []any{map[string]any{"name": "tmp", "mountPath": "/tmp"}}},
			},
			Breaks:    "The app can no longer write to its image's file system: writes outside /tmp and its volumes (caches, pid files, logs under /var) fail; mount an emptyDir where it writes.",
			Companion: "Adds an emptyDir volume \"tmp\" mounted at /tmp, so that temporary files still work.",
		}},
		{CheckPodReadOnlyRootFS, "SX-K8S-022", "fail-writable", "app", Fix{
			Ops: []PatchOp{
				{Op: "add", Path: "/spec/template/spec/containers/0/securityContext", Value: map[string]any{"readOnlyRootFilesystem": true}},
				{Op: "add", Path: "/spec/template/spec/volumes/-", Value: map[string]any{"name": "tmp-2", "emptyDir": map[string]any{}}},
				{Op: "add", Path: "/spec/template/spec/containers/0/volumeMounts", Value: []any{map[string]any{"name": "tmp-2", "mountPath": "/tmp"}}},
			},
			Breaks:    "The app can no longer write to its image's file system: writes outside /tmp and its volumes (caches, pid files, logs under /var) fail; mount an emptyDir where it writes.",
			Companion: "Adds an emptyDir volume \"tmp\" mounted at /tmp, so that temporary files still work.",
		}},
		{CheckPodReadOnlyRootFS, "SX-K8S-022", "fail-writable", "mounted", Fix{
			Ops:    []PatchOp{{Op: "add", Path: "/spec/template/spec/containers/2/securityContext", Value: map[string]any{"readOnlyRootFilesystem": true}}},
			Breaks: "The app can no longer write to its image's file system: writes outside /tmp and its volumes (caches, pid files, logs under /var) fail; mount an emptyDir where it writes.",
		}},
		{CheckPodSeccompMissing, "SX-K8S-019", "fail-no-seccomp", "", Fix{
			Ops:    []PatchOp{{Op: "add", Path: "/spec/template/spec/securityContext/seccompProfile", Value: map[string]any{"type": "RuntimeDefault"}}},
			Breaks: "System calls outside the runtime's default profile (mount, unshare, ptrace, keyctl …) fail with EPERM.",
		}},
		{CheckPodDropAll, "SX-K8S-020", "fail-no-drop", "lower", Fix{
			Ops:    []PatchOp{{Op: "replace", Path: "/spec/containers/4/securityContext/capabilities/drop/0", Value: "ALL"}},
			Breaks: "The process loses the runtime's default capabilities (CHOWN, SETUID, SETGID, NET_RAW, NET_BIND_SERVICE …): images that switch users or chown files at start-up fail, and binding a port below 1024 needs NET_BIND_SERVICE added back.",
		}},
		{CheckPodDropAll, "SX-K8S-020", "fail-no-drop", "app", Fix{
			Ops:    []PatchOp{{Op: "add", Path: "/spec/containers/0/securityContext", Value: map[string]any{"capabilities": map[string]any{"drop": []string{"ALL"}}}}},
			Breaks: "The process loses the runtime's default capabilities (CHOWN, SETUID, SETGID, NET_RAW, NET_BIND_SERVICE …): images that switch users or chown files at start-up fail, and binding a port below 1024 needs NET_BIND_SERVICE added back. This container declares port 80: add NET_BIND_SERVICE to capabilities.add, or move to a port of 1024 or more.",
		}},
		{CheckPodRuntimeSocket, "SX-K8S-008", "fail-docker-sock", "agent", Fix{
			Ops:    []PatchOp{{Op: "remove", Path: "/spec/template/spec/containers/0/volumeMounts/0"}},
			Breaks: "The container can no longer build, list or start containers through the node's runtime.",
		}},
		{CheckPodRuntimeSocket, "SX-K8S-008", "fail-containerd-dir", "app", Fix{
			Ops: []PatchOp{
				{Op: "remove", Path: "/spec/containers/0/volumeMounts/0"},
				{Op: "remove", Path: "/spec/volumes/0"},
			},
			Breaks: "The container can no longer build, list or start containers through the node's runtime.",
		}},
		{CheckPodCPULimit, "SX-K8S-026", "fail-no-cpu-limits", "other", Fix{
			Ops:    []PatchOp{{Op: "add", Path: "/spec/template/spec/containers/2/resources/limits/cpu", Value: "2"}},
			Breaks: "2 is a placeholder: size it from observed usage. A CPU limit throttles the app under load and can slow its responses.",
		}},
		{CheckPodSysctls, "SX-K8S-014", "fail-sysctls", "", Fix{
			Ops: []PatchOp{
				{Op: "remove", Path: "/spec/securityContext/sysctls/2"},
				{Op: "remove", Path: "/spec/securityContext/sysctls/0"},
			},
			Breaks: "The kernel keeps its defaults for net.core.somaxconn, kernel/msgmax; tune them on dedicated nodes if the workload needs them.",
		}},
		{CheckPodAppArmor, "SX-K8S-010", "fail-apparmor", "sidecar", Fix{
			Ops:    []PatchOp{{Op: "replace", Path: "/spec/template/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1sidecar", Value: "runtime/default"}},
			Breaks: "The runtime's default AppArmor profile blocks mounts and writes to parts of /proc and /sys; a workload that relies on them fails.",
		}},
		{CheckPodLivenessProbe, "SX-K8S-029", "fail-no-livenessProbe", "web", Fix{
			Ops:    []PatchOp{{Op: "add", Path: "/spec/template/spec/containers/0/livenessProbe", Value: map[string]any{"tcpSocket": map[string]any{"port": int32(8080)}}}},
			Breaks: "A TCP check only proves the port accepts connections; prefer an HTTP or gRPC endpoint that reflects the app's health. A slow-starting app may be restarted before it is up: add a startupProbe or initialDelaySeconds.",
		}},
		{CheckPodDuplicateEnv, "SX-K8S-038", "fail-duplicate-env", "app", Fix{
			Ops: []PatchOp{{Op: "remove", Path: "/spec/containers/0/env/2"}, {Op: "remove", Path: "/spec/containers/0/env/0"}},
		}},
	}
	checks := map[string]Check{}
	for _, c := range PodChecks() {
		checks[c.ID] = c
	}
	for _, tt := range tests {
		t.Run(tt.check+"/"+tt.object+"/"+tt.container, func(t *testing.T) {
			inv := podLoad(t, filepath.Join("testdata", "checks", "pod", tt.file+".yaml"))
			var got *Fix
			for _, o := range inv.Objects {
				if o.Name != tt.object {
					continue
				}
				for _, v := range checks[tt.check].Run(o, inv) {
					if v.Container == tt.container {
						got = v.Fix
					}
				}
			}
			if got == nil {
				t.Fatalf("%s.Run(%s) has no fix for container %q", tt.check, tt.object, tt.container)
			}
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("%s.Run(%s) fix for %q (-want +got):\n%s", tt.check, tt.object, tt.container, diff)
			}
		})
	}
}

func TestSensitiveEnvName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"DB_PASSWORD", true}, {"password", true}, {"AWS_SECRET_ACCESS_KEY", true}, {"ACCESS_KEY", true},
		{"stripeApiKey", true}, {"GITHUB_TOKEN", true}, {"db-pass", true}, {"CLIENT_SECRET", true},
		{"PRIVATE_KEY", true}, {"API_KEY", true},
		{"DB_PASSWORD_FILE", false}, {"TOKEN_URL", false}, {"SECRET_NAME", false}, {"AWS_ACCESS_KEY_ID", false},
		{"KEY_PATH", false}, {"MONKEY", false}, {"BYPASS_CACHE", false}, {"KEYCLOAK_REALM", false}, {"", false},
		{"PUBLIC_KEY_ID", false}, {"COLLECTOR_PORT", false},
	}
	for _, tt := range tests {
		if got := sensitiveEnvName(tt.name); got != tt.want {
			t.Errorf("sensitiveEnvName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPodImageRef(t *testing.T) {
	tests := []struct {
		image   string
		mutable bool
	}{
		{"nginx", true}, {"nginx:latest", true}, {"foo/bar:latest", true}, {"localhost:5000/app", true},
		{"", true}, {"nginx:1.27", false}, {"localhost:5000/app:v2", false},
		{"nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31", false},
		{"nginx:latest@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31", false},
	}
	for _, tt := range tests {
		if got := podMutableTag(tt.image); got != tt.mutable {
			t.Errorf("podMutableTag(%q) = %v, want %v", tt.image, got, tt.mutable)
		}
	}
}

func TestPodRuntimeSocket(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/var/run/docker.sock", true}, {"/run/containerd/containerd.sock", true}, {"/var/run/", true},
		{"/var/run/crio/crio.sock", true}, {"//var//run/docker.sock", true}, {"/", true},
		{"/var/lib/docker/containers", false}, {"/var/log", false}, {"", false}, {"/run/secrets", false},
	}
	for _, tt := range tests {
		if _, got := podRuntimeSocket(tt.path); got != tt.want {
			t.Errorf("podRuntimeSocket(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
