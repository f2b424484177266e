package k8s

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// docs/k8s-checks.md has two generated sections: the check list, rendered
// from AllChecks(), and the peer coverage table, rendered from peerChecks.
// TestChecksDocUpToDate fails when either differs from the file; run
//
//	go test ./internal/k8s -run TestChecksDocUpToDate -update
//
// to rewrite them (the text outside the markers is kept).
const checksDocPath = "../../docs/k8s-checks.md"

const (
	checksDocBegin = "<!-- BEGIN GENERATED checks: go test ./internal/k8s -run TestChecksDocUpToDate -update -->"
	checksDocEnd   = "<!-- END GENERATED checks -->"
	peersDocBegin  = "<!-- BEGIN GENERATED peers: go test ./internal/k8s -run TestChecksDocUpToDate -update -->"
	peersDocEnd    = "<!-- END GENERATED peers -->"
)

// The -update flag is shared with the golden-file tests of the package.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files under testdata")
	}
}

// peerCheck is one check of a peer tool and what covers it in sextant.
type peerCheck struct {
	tool string // "kube-score", "kubesec" or "Polaris"
	id   string
	// area is the peer's concern: security, reliability, efficiency or
	// validity (the API server or the app breaks, not the security).
	area string
	// covered are the sextant checks that report the same problem; empty
	// when none does, and note then says why that is acceptable.
	covered []string
	note    string
}

// Areas of peer checks.
const (
	areaSecurity    = "security"
	areaReliability = "reliability"
	areaEfficiency  = "efficiency"
	areaValidity    = "validity"
)

// peerChecks lists every check of kube-score v1.20.0 (`kube-score list`),
// every rule of kubesec v2.14.2 (`kubesec print-rules`) and every check in
// Polaris's documented check list (docs/checks/{security,reliability,
// efficiency}.md of FairwindsOps/polaris). scripts/compare-k8s-peers.sh
// checks the first two against the installed tools.
var peerChecks = []peerCheck{
	// kube-score v1.20.0, in `kube-score list` order.
	{"kube-score", "deployment-strategy", areaReliability, nil, "rollout strategy is availability, not security; not covered"},
	{"kube-score", "deployment-replicas", areaReliability, []string{CheckPodReplicas}, ""},
	{"kube-score", "ingress-targets-service", areaValidity, nil, "a dangling backend returns 503s; no privilege or exposure changes; not covered"},
	{"kube-score", "cronjob-has-deadline", areaReliability, nil, "startingDeadlineSeconds is scheduling hygiene; not covered"},
	{"kube-score", "cronjob-restartpolicy", areaValidity, nil, "the API server rejects an invalid restartPolicy; not covered"},
	{"kube-score", "container-resources", areaEfficiency, []string{CheckPodCPURequest, CheckPodMemoryRequest, CheckPodCPULimit, CheckPodMemoryLimit}, "one sextant check per resource, so a fix is one field"},
	{"kube-score", "container-resource-requests-equal-limits", areaEfficiency, nil, "optional in kube-score; Guaranteed QoS is a tuning choice; not covered"},
	{"kube-score", "container-cpu-requests-equal-limits", areaEfficiency, nil, "optional in kube-score; QoS tuning; not covered"},
	{"kube-score", "container-memory-requests-equal-limits", areaEfficiency, nil, "optional in kube-score; QoS tuning; not covered"},
	{"kube-score", "container-image-tag", areaSecurity, []string{CheckPodImageTag}, ""},
	{"kube-score", "container-image-pull-policy", areaSecurity, []string{CheckPodPullPolicy}, ""},
	{"kube-score", "container-ephemeral-storage-request-and-limit", areaEfficiency, []string{CheckPodEphemeralStorage}, "sextant asks for the limit (the DoS guard), not the request"},
	{"kube-score", "container-ephemeral-storage-request-equals-limit", areaEfficiency, nil, "optional in kube-score; QoS tuning; not covered"},
	{"kube-score", "container-ports-check", areaValidity, nil, "optional in kube-score; port names and protocols; not covered"},
	{"kube-score", "environment-variable-key-duplication", areaValidity, []string{CheckPodDuplicateEnv}, ""},
	{"kube-score", "statefulset-has-poddisruptionbudget", areaReliability, nil, "availability during node drains, not security; not covered"},
	{"kube-score", "deployment-has-poddisruptionbudget", areaReliability, nil, "availability during node drains, not security; not covered"},
	{"kube-score", "poddisruptionbudget-has-policy", areaValidity, nil, "PDB without minAvailable/maxUnavailable; availability; not covered"},
	{"kube-score", "pod-networkpolicy", areaSecurity, []string{CheckNetNoPolicy, CheckNetWorkloadNoPolicy}, "SX-K8S-203 reports a namespace with no NetworkPolicy, SX-K8S-207 each workload that no ingress policy of its namespace selects; kube-score also asks for an egress policy per pod, which sextant does not"},
	{"kube-score", "networkpolicy-targets-pod", areaSecurity, []string{CheckNetPolicyNoPods}, ""},
	{"kube-score", "pod-probes", areaReliability, []string{CheckPodReadinessProbe, CheckPodLivenessProbe}, "kube-score asks for a readiness probe only on pods behind a Service"},
	{"kube-score", "pod-probes-identical", areaReliability, nil, "identical liveness and readiness probes cause restarts under load; reliability; not covered"},
	{"kube-score", "container-security-context-user-group-id", areaSecurity, []string{CheckPodRunAsRootUser, CheckPodLowUID}, ""},
	{"kube-score", "container-security-context-privileged", areaSecurity, []string{CheckPodPrivileged}, ""},
	{"kube-score", "container-security-context-readonlyrootfilesystem", areaSecurity, []string{CheckPodReadOnlyRootFS}, ""},
	{"kube-score", "container-seccomp-profile", areaSecurity, []string{CheckPodSeccompMissing, CheckPodSeccompUnconfined}, ""},
	{"kube-score", "service-targets-pod", areaValidity, nil, "a Service selecting no pod serves nothing; no exposure; not covered"},
	{"kube-score", "service-type", areaSecurity, []string{CheckNetNodePort}, ""},
	{"kube-score", "stable-version", areaValidity, nil, "deprecated apiVersions matter for upgrades, not security; not covered"},
	{"kube-score", "deployment-has-host-podantiaffinity", areaReliability, nil, "spreading replicas over nodes is reliability, not security; not covered"},
	{"kube-score", "statefulset-has-host-podantiaffinity", areaReliability, nil, "reliability, not security; not covered"},
	{"kube-score", "deployment-targeted-by-hpa-does-not-have-replicas-configured", areaReliability, nil, "replica count fights the HPA; SX-K8S-040 skips HPA targets; not covered"},
	{"kube-score", "statefulset-has-servicename", areaValidity, nil, "StatefulSet network identity; not security; not covered"},
	{"kube-score", "deployment-pod-selector-labels-match-template-metadata-labels", areaValidity, nil, "the API server rejects the mismatch; not covered"},
	{"kube-score", "statefulset-pod-selector-labels-match-template-metadata-labels", areaValidity, nil, "the API server rejects the mismatch; not covered"},
	{"kube-score", "label-values", areaValidity, nil, "the API server rejects invalid label values; not covered"},
	{"kube-score", "horizontalpodautoscaler-has-target", areaValidity, nil, "an HPA without a target does nothing; not covered"},
	{"kube-score", "horizontalpodautoscaler-replicas", areaReliability, nil, "HPA minReplicas; reliability; not covered"},
	{"kube-score", "pod-topology-spread-constraints", areaReliability, nil, "zone spreading; reliability; not covered"},

	// kubesec v2.14.2, in `kubesec print-rules` order. Positive rules
	// ("advise") reward a hardening setting; sextant reports its absence.
	{"kubesec", "AllowPrivilegeEscalation", areaSecurity, []string{CheckPodPrivilegeEscalation}, ""},
	{"kubesec", "ApparmorAny", areaSecurity, []string{CheckPodAppArmor}, "sextant reports an AppArmor profile set to Unconfined (PSS baseline); kubesec rewards any AppArmor annotation, which runtimes apply by default anyway"},
	{"kubesec", "AutomountServiceAccountToken", areaSecurity, []string{CheckPodAutomountToken, CheckRBACAutomountToken}, ""},
	{"kubesec", "CapDropAll", areaSecurity, []string{CheckPodDropAll}, ""},
	{"kubesec", "CapDropAny", areaSecurity, []string{CheckPodDropAll}, "sextant asks for drop ALL, which implies any drop"},
	{"kubesec", "CapSysAdmin", areaSecurity, []string{CheckPodCapabilitiesBaseline, CheckPodCapabilitiesRestrict}, ""},
	{"kubesec", "DockerSock", areaSecurity, []string{CheckPodRuntimeSocket, CheckPodHostPath}, "sextant also knows containerd, CRI-O and Podman sockets"},
	{"kubesec", "HostAliases", areaSecurity, []string{CheckPodHostAliases}, ""},
	{"kubesec", "HostIPC", areaSecurity, []string{CheckPodHostIPC}, ""},
	{"kubesec", "HostNetwork", areaSecurity, []string{CheckPodHostNetwork}, ""},
	{"kubesec", "HostPID", areaSecurity, []string{CheckPodHostPID}, ""},
	{"kubesec", "LimitsCPU", areaEfficiency, []string{CheckPodCPULimit}, ""},
	{"kubesec", "LimitsMemory", areaEfficiency, []string{CheckPodMemoryLimit}, ""},
	{"kubesec", "Privileged", areaSecurity, []string{CheckPodPrivileged}, ""},
	{"kubesec", "ProcMount", areaSecurity, []string{CheckPodHostPath}, "kubesec's ProcMount is a hostPath volume of /proc (not securityContext.procMount, which is SX-K8S-012)"},
	{"kubesec", "ReadOnlyRootFilesystem", areaSecurity, []string{CheckPodReadOnlyRootFS}, ""},
	{"kubesec", "RequestsCPU", areaEfficiency, []string{CheckPodCPURequest}, ""},
	{"kubesec", "RequestsMemory", areaEfficiency, []string{CheckPodMemoryRequest}, ""},
	{"kubesec", "RunAsGroup", areaSecurity, []string{CheckPodLowUID}, ""},
	{"kubesec", "RunAsNonRoot", areaSecurity, []string{CheckPodRunAsNonRoot}, ""},
	{"kubesec", "RunAsUser", areaSecurity, []string{CheckPodLowUID, CheckPodRunAsRootUser}, ""},
	{"kubesec", "SeccompAny", areaSecurity, []string{CheckPodSeccompMissing}, "kubesec looks only at the pre-1.19 annotation; sextant reads seccompProfile and the annotations"},
	{"kubesec", "SeccompUnconfined", areaSecurity, []string{CheckPodSeccompUnconfined}, ""},
	{"kubesec", "ServiceAccountName", areaSecurity, []string{CheckPodDefaultServiceAccount}, ""},
	{"kubesec", "VolumeClaimAccessModeReadWriteOnce", areaReliability, nil, "storage access mode of StatefulSet claims; not security; not covered"},
	{"kubesec", "VolumeClaimRequestsStorage", areaEfficiency, nil, "storage sizing of StatefulSet claims; not security; not covered"},

	// Polaris, documented checks: security, then reliability, then
	// efficiency, in the order of its documentation.
	{"Polaris", "automountServiceAccountToken", areaSecurity, []string{CheckPodAutomountToken}, ""},
	{"Polaris", "hostIPCSet", areaSecurity, []string{CheckPodHostIPC}, ""},
	{"Polaris", "hostPIDSet", areaSecurity, []string{CheckPodHostPID}, ""},
	{"Polaris", "linuxHardening", areaSecurity, []string{CheckPodAppArmor, CheckPodSELinux, CheckPodSeccompUnconfined, CheckPodSeccompMissing, CheckPodDropAll}, "Polaris passes when any one of AppArmor, seccomp, SELinux or dropped capabilities is in use; sextant reports each missing or disabled control"},
	{"Polaris", "notReadOnlyRootFilesystem", areaSecurity, []string{CheckPodReadOnlyRootFS}, ""},
	{"Polaris", "privilegeEscalationAllowed", areaSecurity, []string{CheckPodPrivilegeEscalation}, ""},
	{"Polaris", "runAsRootAllowed", areaSecurity, []string{CheckPodRunAsNonRoot}, ""},
	{"Polaris", "runAsPrivileged", areaSecurity, []string{CheckPodPrivileged}, ""},
	{"Polaris", "insecureCapabilities", areaSecurity, []string{CheckPodDropAll, CheckPodCapabilitiesRestrict}, ""},
	{"Polaris", "dangerousCapabilities", areaSecurity, []string{CheckPodCapabilitiesBaseline}, ""},
	{"Polaris", "hostNetworkSet", areaSecurity, []string{CheckPodHostNetwork}, ""},
	{"Polaris", "hostPortSet", areaSecurity, []string{CheckPodHostPort}, ""},
	{"Polaris", "tlsSettingsMissing", areaSecurity, []string{CheckNetIngressTLS}, ""},
	{"Polaris", "sensitiveContainerEnvVar", areaSecurity, []string{CheckPodSensitiveEnv}, ""},
	{"Polaris", "sensitiveConfigmapContent", areaSecurity, []string{CheckPodConfigMapSecret}, "partly: sextant never reads ConfigMap data (the loader drops keys and values), so it judges by the key and ConfigMap names that workloads reference; Polaris reads the keys and values themselves"},
	{"Polaris", "missingNetworkPolicy", areaSecurity, []string{CheckNetNoPolicy, CheckNetWorkloadNoPolicy}, "per namespace (SX-K8S-203) and per workload, for ingress (SX-K8S-207)"},
	{"Polaris", "clusterrolePodExecAttach", areaSecurity, []string{CheckRBACPodExec}, ""},
	{"Polaris", "rolePodExecAttach", areaSecurity, []string{CheckRBACPodExec}, ""},
	{"Polaris", "clusterrolebindingPodExecAttach", areaSecurity, []string{CheckRBACPodExec}, "sextant reports the role that grants exec/attach, not each binding; a binding to a missing role is not reported"},
	{"Polaris", "rolebindingRolePodExecAttach", areaSecurity, []string{CheckRBACPodExec}, "reported on the Role, as above"},
	{"Polaris", "rolebindingClusterRolePodExecAttach", areaSecurity, []string{CheckRBACPodExec}, "reported on the ClusterRole, as above"},
	{"Polaris", "clusterrolebindingClusterAdmin", areaSecurity, []string{CheckRBACClusterAdmin, CheckRBACWildcard}, "cluster-admin on the binding; a custom wildcard role on the role itself"},
	{"Polaris", "rolebindingClusterAdminClusterRole", areaSecurity, []string{CheckRBACClusterAdmin, CheckRBACWildcard}, "as above"},
	{"Polaris", "rolebindingClusterAdminRole", areaSecurity, []string{CheckRBACWildcard}, "reported on the wildcard Role"},
	{"Polaris", "readinessProbeMissing", areaReliability, []string{CheckPodReadinessProbe}, ""},
	{"Polaris", "livenessProbeMissing", areaReliability, []string{CheckPodLivenessProbe}, ""},
	{"Polaris", "tagNotSpecified", areaSecurity, []string{CheckPodImageTag}, ""},
	{"Polaris", "pullPolicyNotAlways", areaSecurity, []string{CheckPodPullPolicy}, ""},
	{"Polaris", "priorityClassNotSet", areaReliability, nil, "scheduling priority; not security; not covered"},
	{"Polaris", "deploymentMissingReplicas", areaReliability, []string{CheckPodReplicas}, ""},
	{"Polaris", "missingPodDisruptionBudget", areaReliability, nil, "availability during drains; not security; not covered"},
	{"Polaris", "metadataAndNameMismatched", areaValidity, nil, "label hygiene (app.kubernetes.io/name); not covered"},
	{"Polaris", "topologySpreadConstraint", areaReliability, nil, "zone spreading; reliability; not covered"},
	{"Polaris", "cpuRequestsMissing", areaEfficiency, []string{CheckPodCPURequest}, ""},
	{"Polaris", "memoryRequestsMissing", areaEfficiency, []string{CheckPodMemoryRequest}, ""},
	{"Polaris", "cpuLimitsMissing", areaEfficiency, []string{CheckPodCPULimit}, ""},
	{"Polaris", "memoryLimitsMissing", areaEfficiency, []string{CheckPodMemoryLimit}, ""},
}

// peerDocCorpus holds objects that make each RBAC and network check report
// a violation, so that the check list can say whether it has an autofix.
// The pod checks use their test inputs, testdata/checks/pod/<ID>.yaml.
const peerDocCorpus = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: too-much}
rules:
- {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
- {apiGroups: [""], resources: [configmaps], verbs: ["*"]}
- {apiGroups: [""], resources: [secrets], verbs: [list]}
- {apiGroups: [""], resources: [pods/exec, pods], verbs: [create]}
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [escalate, bind]}
- {apiGroups: [""], resources: [nodes/proxy], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: admins}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: User, name: alice}, {kind: Group, name: system:authenticated}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: default-sa, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: default}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: unused, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
---
apiVersion: v1
kind: Service
metadata: {name: node-port, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: public, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  externalIPs: [203.0.113.10]
  ports: [{port: 443}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: stale, namespace: other}
spec:
  podSelector: {matchLabels: {app: gone}}
  policyTypes: [Ingress]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: other}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: "nginx:1.27"}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules:
  - host: shop.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: public, port: {number: 443}}}}]}
`

// peerDocFixFacts says, from violations on real inputs, whether a check
// proposes a fix ("yes", "no" or "partly") and what its first fix may break.
func peerDocFixFacts(t *testing.T, c Check, corpus *Inventory) (autofix, breaks string) {
	t.Helper()
	inv := corpus
	if p := filepath.Join("testdata", "checks", "pod", c.ID+".yaml"); peerFileExists(p) {
		var err error
		if inv, err = LoadFiles(p); err != nil {
			t.Fatalf("LoadFiles(%s) = %v", p, err)
		}
	}
	var with, without int
	for _, o := range inv.Objects {
		if !checkApplies(c, o) || strings.HasPrefix(o.Name, "pass-") {
			continue
		}
		for _, v := range c.Run(o, inv) {
			if v.Fix == nil {
				without++
				continue
			}
			with++
			if breaks == "" {
				breaks = v.Fix.Breaks
				if v.Fix.Companion != "" {
					if breaks != "" && !strings.HasSuffix(breaks, ".") {
						breaks += "."
					}
					breaks = strings.TrimSpace(breaks + " Companion change: " + v.Fix.Companion)
				}
			}
		}
	}
	switch {
	case with+without == 0:
		t.Errorf("check %s reports nothing on its test inputs or peerDocCorpus; add an object that fails it", c.ID)
		return "?", ""
	case without == 0:
		autofix = "yes"
	case with == 0:
		autofix = "no"
	default:
		autofix = "partly"
	}
	return autofix, breaks
}

func peerFileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// peerMDCell makes s safe inside a Markdown table cell.
func peerMDCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

// peerRenderChecksDoc renders the check list.
func peerRenderChecksDoc(t *testing.T) string {
	corpus, err := LoadReader(strings.NewReader(peerDocCorpus), "peer-doc-corpus.yaml")
	if err != nil || len(corpus.Warnings) > 0 {
		t.Fatalf("LoadReader(peerDocCorpus) = %v, warnings %q", err, corpus.Warnings)
	}
	checks := AllChecks()
	var b strings.Builder
	fmt.Fprintf(&b, "%d checks: %d on pods and their controllers, %d on RBAC, %d on network objects.\n\n",
		len(checks), len(PodChecks()), len(RBACChecks()), len(NetworkChecks()))
	b.WriteString("| ID | Title | Severity | Kinds | PSS | CIS 5.x | NSA/CISA | Peers and other | Autofix | May break / companion change |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range checks {
		var pss, cis, nsa, other []string
		for _, m := range c.Mappings {
			switch {
			case strings.HasPrefix(m, "PSS "):
				pss = append(pss, strings.TrimPrefix(m, "PSS "))
			case strings.HasPrefix(m, "CIS "):
				cis = append(cis, strings.TrimPrefix(m, "CIS "))
			case strings.HasPrefix(m, "NSA/CISA: "):
				nsa = append(nsa, strings.TrimPrefix(m, "NSA/CISA: "))
			default:
				other = append(other, m)
			}
		}
		autofix, breaks := peerDocFixFacts(t, c, corpus)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			c.ID, peerMDCell(c.Title), c.Severity, strings.Join(c.Kinds, ", "),
			peerMDCell(strings.Join(pss, "; ")), peerMDCell(strings.Join(cis, "; ")), peerMDCell(strings.Join(nsa, "; ")),
			peerMDCell(strings.Join(other, "; ")), autofix, peerMDCell(breaks))
	}
	return b.String()
}

// peerRenderPeersDoc renders the peer coverage summary and table.
func peerRenderPeersDoc() string {
	var b strings.Builder
	type tally struct{ total, covered, securityUncovered int }
	counts := map[string]*tally{}
	var tools []string
	for _, p := range peerChecks {
		if counts[p.tool] == nil {
			counts[p.tool] = &tally{}
			tools = append(tools, p.tool)
		}
		tl := counts[p.tool]
		tl.total++
		if len(p.covered) > 0 {
			tl.covered++
		} else if p.area == areaSecurity {
			tl.securityUncovered++
		}
	}
	b.WriteString("| peer | checks | covered by sextant | not covered | of those, security |\n|---|---|---|---|---|\n")
	for _, tool := range tools {
		tl := counts[tool]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d |\n", tool, tl.total, tl.covered, tl.total-tl.covered, tl.securityUncovered)
	}
	b.WriteString("\n| peer | check | area | sextant | note |\n|---|---|---|---|---|\n")
	for _, p := range peerChecks {
		cov := "—"
		if len(p.covered) > 0 {
			cov = strings.Join(p.covered, ", ")
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", p.tool, p.id, p.area, cov, peerMDCell(p.note))
	}
	return b.String()
}

// peerReplaceSection returns doc with the text between begin and end replaced.
func peerReplaceSection(doc, begin, end, body string) (string, bool) {
	i := strings.Index(doc, begin)
	j := strings.Index(doc, end)
	if i < 0 || j < i {
		return doc, false
	}
	return doc[:i+len(begin)] + "\n" + body + doc[j:], true
}

func TestChecksDocUpToDate(t *testing.T) {
	raw, err := os.ReadFile(checksDocPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	want, ok := peerReplaceSection(doc, checksDocBegin, checksDocEnd, peerRenderChecksDoc(t))
	if !ok {
		t.Fatalf("%s lacks the markers %q … %q", checksDocPath, checksDocBegin, checksDocEnd)
	}
	if want, ok = peerReplaceSection(want, peersDocBegin, peersDocEnd, peerRenderPeersDoc()); !ok {
		t.Fatalf("%s lacks the markers %q … %q", checksDocPath, peersDocBegin, peersDocEnd)
	}
	if want == doc {
		return
	}
	if peerDocUpdate() {
		if err := os.WriteFile(checksDocPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", checksDocPath)
		return
	}
	t.Errorf("%s is out of date; run: go test ./internal/k8s -run TestChecksDocUpToDate -update", checksDocPath)
}

// TestPeerChecks keeps the peer table honest: every sextant ID it names
// exists, every uncovered peer check says why, and every peer a check's
// Mappings name lists that check.
func TestPeerChecks(t *testing.T) {
	ids := map[string]bool{}
	for _, c := range AllChecks() {
		ids[c.ID] = true
	}
	rows := map[string]*peerCheck{}
	for i := range peerChecks {
		p := &peerChecks[i]
		key := p.tool + ": " + p.id
		if rows[key] != nil {
			t.Errorf("peerChecks lists %s twice", key)
		}
		rows[key] = p
		switch p.area {
		case areaSecurity, areaReliability, areaEfficiency, areaValidity:
		default:
			t.Errorf("%s: area %q", key, p.area)
		}
		if len(p.covered) == 0 && p.note == "" {
			t.Errorf("%s is not covered and has no note saying why", key)
		}
		for _, id := range p.covered {
			if !ids[id] {
				t.Errorf("%s names %s, which is not in AllChecks()", key, id)
			}
		}
	}
	for _, c := range AllChecks() {
		for _, m := range c.Mappings {
			tool, id, ok := strings.Cut(m, ": ")
			if !ok || (tool != "kube-score" && tool != "kubesec" && tool != "Polaris") {
				continue
			}
			p := rows[tool+": "+id]
			if p == nil {
				// The table lists every documented check of the three
				// peers: a mapping to anything else names a check the
				// peer does not document, and cannot be compared.
				t.Errorf("%s maps to %q, which is not in the peer table (not a documented check of %s)", c.ID, m, tool)
				continue
			}
			if !slices.Contains(p.covered, c.ID) {
				t.Errorf("%s maps to %q, but the peer table does not list %s for it", c.ID, m, c.ID)
			}
		}
	}
}

// peerDocUpdate reports whether -update was given.
func peerDocUpdate() bool {
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
