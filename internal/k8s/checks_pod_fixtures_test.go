package k8s

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/sextant-dev/sextant/internal/fixtures"
)

// The -update flag rewrites golden files. Other test files of the package
// may define it too; it is looked up rather than defined twice.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata")
	}
}

func podUpdate() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return false
	}
	b, _ := g.Get().(bool)
	return b
}

// podFixtureDirs are the fixture folders the golden test runs over.
var podFixtureDirs = []string{"kubesec", "polaris", "kube-score", "kubernetes-goat", "real-world"}

// podGoldenLines runs every pod check over an inventory and returns the
// sorted "check-ID object container" lines ("-" for pod-level).
func podGoldenLines(inv *Inventory) []string {
	var out []string
	for _, o := range inv.Objects {
		for _, c := range PodChecks() {
			for _, v := range c.Run(o, inv) {
				ctr := v.Container
				if ctr == "" {
					ctr = "-"
				}
				out = append(out, fmt.Sprintf("%s\t%s\t%s", v.CheckID, v.Object, ctr))
			}
		}
	}
	sort.Strings(out)
	return out
}

func TestPodChecksGolden(t *testing.T) {
	for _, dir := range podFixtureDirs {
		for _, file := range fixtures.Files(t, "k8s", dir) {
			base := filepath.Base(file)
			name := dir + "-" + strings.TrimSuffix(base, filepath.Ext(base))
			t.Run(name, func(t *testing.T) {
				inv, err := LoadFiles(file)
				if err != nil {
					t.Fatalf("LoadFiles(%s) = %v", name, err)
				}
				var buf bytes.Buffer
				fmt.Fprintf(&buf, "# pod checks over fixtures/k8s/%s/%s: check, object, container (- for the pod)\n", dir, base)
				for _, l := range podGoldenLines(inv) {
					buf.WriteString(l + "\n")
				}
				golden := filepath.Join("testdata", "checks", name+".golden")
				if podUpdate() {
					if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("read golden %s: %v (run with -update)", golden, err)
				}
				if diff := cmp.Diff(string(want), buf.String()); diff != "" {
					t.Errorf("pod checks over %s (-want +got):\n%s", name, diff)
				}
			})
		}
	}
}

// podBaselineIDs are the checks of the Pod Security Standards' baseline
// profile.
var podBaselineIDs = []string{
	CheckPodPrivileged, CheckPodHostPID, CheckPodHostIPC, CheckPodHostNetwork, CheckPodHostProcess,
	CheckPodCapabilitiesBaseline, CheckPodHostPath, CheckPodRuntimeSocket, CheckPodHostPort, CheckPodAppArmor,
	CheckPodSELinux, CheckPodProcMount, CheckPodSeccompUnconfined, CheckPodSysctls,
}

// TestPodChecksFixtureNames asserts what the fixtures' names promise: a
// "success"/"all-ok"/"hardened" manifest passes the checks it is named
// for, and a "failure"/"score-0"/"privileged" one fails the check it is
// named after.
func TestPodChecksFixtureNames(t *testing.T) {
	kubeScoreOK := []string{CheckPodPrivileged, CheckPodReadOnlyRootFS, CheckPodLowUID, CheckPodCPURequest,
		CheckPodMemoryRequest, CheckPodCPULimit, CheckPodMemoryLimit, CheckPodReadinessProbe, CheckPodImageTag,
		CheckPodPullPolicy, CheckPodLivenessProbe}
	tests := []struct {
		file     string
		want     []string // checks that must report
		wantNone []string // checks that must stay quiet
	}{
		// Passing fixtures.
		{"polaris/runAsPrivileged-success.yaml", nil, []string{CheckPodPrivileged}},
		{"polaris/linuxHardening-success-seccomp.yaml", nil, []string{CheckPodSeccompMissing, CheckPodSeccompUnconfined, CheckPodAppArmor, CheckPodSELinux}},
		{"polaris/sensitiveEnvVar-valueFrom-success.yaml", nil, []string{CheckPodSensitiveEnv}},
		{"kube-score/all-ok.yaml", nil, append(append([]string{}, kubeScoreOK...), podBaselineIDs...)},
		{"kube-score/pod-security-context-all-good.yaml", nil, append([]string{CheckPodPrivileged, CheckPodReadOnlyRootFS, CheckPodLowUID, CheckPodRunAsRootUser}, podBaselineIDs...)},
		{"kubesec/score-5-pod-hardened-serviceaccount.yml", nil, append([]string{CheckPodAutomountToken, CheckPodDefaultServiceAccount,
			CheckPodRunAsNonRoot, CheckPodReadOnlyRootFS, CheckPodRunAsRootUser}, podBaselineIDs...)},
		// Failing fixtures, each for what it is named after.
		{"polaris/dangerousCapabilities-failure-ALL.yaml", []string{CheckPodCapabilitiesBaseline}, nil},
		{"polaris/hostPIDSet-failure.yaml", []string{CheckPodHostPID}, nil},
		{"polaris/linuxHardening-failure.yaml", []string{CheckPodSeccompMissing, CheckPodDropAll}, nil},
		{"polaris/notReadOnlyRootFilesystem-failure.yaml", []string{CheckPodReadOnlyRootFS}, nil},
		{"polaris/runAsPrivileged-failure.yaml", []string{CheckPodPrivileged}, nil},
		{"polaris/sensitiveEnvVar-aws-secret-failure.yaml", []string{CheckPodSensitiveEnv}, nil},
		{"kube-score/pod-security-context-privileged.yaml", []string{CheckPodPrivileged}, nil},
		{"kube-score/pod-image-latest-tag.yaml", []string{CheckPodImageTag}, nil},
		{"kube-score/pod-resources-none.yaml", []string{CheckPodCPURequest, CheckPodMemoryRequest, CheckPodCPULimit, CheckPodMemoryLimit}, nil},
		{"kube-score/pod-security-context-none.yaml", []string{CheckPodReadOnlyRootFS, CheckPodLowUID, CheckPodRunAsNonRoot}, []string{CheckPodPrivileged}},
		{"kubesec/score-0-cap-sys-admin.yml", []string{CheckPodCapabilitiesBaseline}, nil},
		{"kubesec/score-0-daemonset-host-network.yml", []string{CheckPodHostNetwork}, nil},
		{"kubesec/score-0-daemonset-host-pid.yml", []string{CheckPodHostPID}, nil},
		{"kubesec/score-0-daemonset-mount-docker-socket.yml", []string{CheckPodRuntimeSocket, CheckPodHostPath}, nil},
		{"kubesec/score-0-daemonset-privileged.yml", []string{CheckPodPrivileged, CheckPodRuntimeSocket, CheckPodHostPID, CheckPodHostNetwork, CheckPodSensitiveEnv}, nil},
		{"kubesec/score-0-dep-seccomp-unconfined.yml", []string{CheckPodSeccompUnconfined}, []string{CheckPodSeccompMissing}},
		{"kubesec/allowPrivilegeEscalation.yaml", []string{CheckPodPrivilegeEscalation, CheckPodHostPath}, nil},
		{"kubesec/score-1-prod-dump.yaml", []string{CheckPodPrivileged, CheckPodCapabilitiesBaseline, CheckPodDefaultNamespace}, nil},
		{"kubernetes-goat/health-check-deployment.yaml", []string{CheckPodPrivileged, CheckPodRuntimeSocket}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			inv, err := LoadFiles(fixtures.Dir(t, "k8s", tt.file))
			if err != nil {
				t.Fatalf("LoadFiles(%s) = %v", tt.file, err)
			}
			got := map[string]int{}
			for _, o := range inv.Objects {
				for _, c := range PodChecks() {
					got[c.ID] += len(c.Run(o, inv))
				}
			}
			for _, id := range tt.want {
				if got[id] == 0 {
					t.Errorf("pod checks over %s: %s reported %d times, want at least once", tt.file, id, got[id])
				}
			}
			for _, id := range tt.wantNone {
				if got[id] != 0 {
					t.Errorf("pod checks over %s: %s reported %d times, want none", tt.file, id, got[id])
				}
			}
		})
	}
}

// TestPodFixesOnFixtures applies every fix of every pod check to every
// workload of the fixtures, one after another, and checks each one.
func TestPodFixesOnFixtures(t *testing.T) {
	for _, dir := range podFixtureDirs {
		for _, file := range fixtures.Files(t, "k8s", dir) {
			inv, err := LoadFiles(file)
			if err != nil {
				t.Fatalf("LoadFiles(%s) = %v", file, err)
			}
			for _, o := range inv.Objects {
				if _, ok := o.Workload(); !ok {
					continue
				}
				for _, c := range PodChecks() {
					t.Run(dir+"/"+filepath.Base(file)+"/"+o.Name+"/"+c.ID, func(t *testing.T) {
						podVerifyFixes(t, c, o, inv)
					})
				}
			}
		}
	}
}

// FuzzPodChecks runs every pod check, and applies every fix, over
// arbitrary manifests: no input may make them panic.
func FuzzPodChecks(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "checks", "pod", "*.yaml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"securityContext":{"capabilities":{"drop":null}}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := LoadReader(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			return
		}
		for _, o := range inv.Objects {
			for _, c := range PodChecks() {
				for _, v := range c.Run(o, inv) {
					if v.Fix != nil {
						// A fix may fail to apply to a nonsensical object; it
						// must not panic.
						_, _ = podApplyFix(o, v.Fix)
					}
				}
			}
		}
	})
}

// podBenchObjects generates n workloads of varied kinds and settings, as
// the loader would produce them (Raw and Typed).
func podBenchObjects(tb testing.TB, n int) []*Object {
	tb.Helper()
	out := make([]*Object, 0, n)
	yes, no := true, false
	uid := int64(0)
	for i := 0; i < n; i++ {
		c := corev1.Container{
			Name:  "app",
			Image: fmt.Sprintf("registry.example.com/team/app-%d:1.%d", i%50, i%7),
			Ports: []corev1.ContainerPort{{ContainerPort: int32(8000 + i%100)}},
			Env:   []corev1.EnvVar{{Name: "MODE", Value: "prod"}, {Name: "DB_PASSWORD", Value: "x"}},
		}
		switch i % 4 {
		case 0:
			c.SecurityContext = &corev1.SecurityContext{Privileged: &yes, RunAsUser: &uid}
		case 1:
			c.SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
				Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
			c.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("1Gi")}
		case 2:
			c.Image = "nginx"
		}
		spec := corev1.PodSpec{Containers: []corev1.Container{c, {Name: "sidecar", Image: "envoy:1.30"}},
			HostNetwork: i%10 == 0,
			Volumes:     []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}}
		meta := metav1.ObjectMeta{Name: fmt.Sprintf("w-%d", i), Namespace: fmt.Sprintf("ns-%d", i%20)}
		tmpl := corev1.PodTemplateSpec{Spec: spec}
		var typed any
		switch i % 3 {
		case 0:
			typed = &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: meta, Spec: spec}
		case 1:
			typed = &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta,
				Spec: appsv1.DeploymentSpec{Template: tmpl}}
		default:
			typed = &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"}, ObjectMeta: meta,
				Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}}}
		}
		raw, err := json.Marshal(typed)
		if err != nil {
			tb.Fatal(err)
		}
		o := fixObjectOrFail(tb, raw)
		o.Typed = typed
		out = append(out, o)
	}
	return out
}

func fixObjectOrFail(tb testing.TB, raw []byte) *Object {
	tb.Helper()
	var head struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		tb.Fatal(err)
	}
	return &Object{APIVersion: head.APIVersion, Kind: head.Kind, Name: head.Metadata.Name,
		Namespace: head.Metadata.Namespace, Raw: raw, Source: Source{Item: -1}}
}

// BenchmarkPodChecks runs every pod check over 10,000 generated workloads
// and reports the time per object.
func BenchmarkPodChecks(b *testing.B) {
	const n = 10000
	objs := podBenchObjects(b, n)
	inv := &Inventory{Objects: objs}
	checks := PodChecks()
	b.ReportAllocs()
	b.ResetTimer()
	violations, rounds := 0, 0
	for b.Loop() {
		violations = 0
		rounds++
		for _, o := range objs {
			for _, c := range checks {
				violations += len(c.Run(o, inv))
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rounds*n), "ns/object")
	b.ReportMetric(float64(violations)/n, "violations/object")
}
