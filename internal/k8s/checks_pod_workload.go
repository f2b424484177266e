package k8s

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/sextant-dev/sextant"
)

// Placeholder sizes resource fixes set; the Breaks text says to size them.
var (
	defaultCPURequest = resource.MustParse("100m")
	defaultCPULimit   = resource.MustParse("500m")
	defaultMemRequest = resource.MustParse("128Mi")
	defaultMemLimit   = resource.MustParse("256Mi")
	defaultEphemeral  = resource.MustParse("1Gi")
)

// podResourceCheck builds the request/limit checks for one resource. A
// missing request is not reported when the limit is set: the API server
// then defaults the request to the limit.
func podResourceCheck(id, title, rationale string, sev sextant.Severity, name corev1.ResourceName, limit bool, def resource.Quantity, mappings []string) Check {
	kind := "request"
	if limit {
		kind = "limit"
	}
	return podCheck(Check{ID: id, Title: title, Severity: sev, Rationale: rationale, Mappings: mappings},
		func(t *podTarget) []Violation {
			var out []Violation
			for _, pc := range t.containers(runContainers...) {
				r := pc.c.Resources
				if _, ok := r.Limits[name]; ok {
					continue
				}
				if _, ok := r.Requests[name]; ok && !limit {
					continue
				}
				val := def
				field := "requests"
				if limit {
					field = "limits"
					// A limit below the request is invalid.
					if req, ok := r.Requests[name]; ok && req.Cmp(val) > 0 {
						val = req
					}
				}
				var ops []PatchOp
				switch {
				case r.Limits == nil && r.Requests == nil && r.Claims == nil:
					ops = []PatchOp{{Op: "add", Path: pc.path() + "/resources", Value: map[string]any{field: map[string]string{string(name): val.String()}}}}
				case (limit && r.Limits == nil) || (!limit && r.Requests == nil):
					ops = []PatchOp{{Op: "add", Path: pc.path() + "/resources/" + field, Value: map[string]string{string(name): val.String()}}}
				default:
					ops = []PatchOp{{Op: "add", Path: pc.path() + "/resources/" + field + "/" + string(name), Value: val.String()}}
				}
				out = append(out, t.violation(id, &pc,
					fmt.Sprintf("Container %q sets no %s %s.", pc.c.Name, name, kind),
					fmt.Sprintf("resources.%s.%s unset at %s", field, name, pc.path()),
					&Fix{Ops: ops, Breaks: fmt.Sprintf("%s is a placeholder: size it from observed usage.%s", val.String(), podResourceBreaks(name, limit))}))
			}
			return out
		})
}

func podResourceBreaks(name corev1.ResourceName, limit bool) string {
	switch {
	case name == corev1.ResourceMemory && limit:
		return " A memory limit below the app's peak gets it OOM-killed."
	case name == corev1.ResourceCPU && limit:
		return " A CPU limit throttles the app under load and can slow its responses."
	case name == corev1.ResourceEphemeralStorage:
		return " A pod that writes more to its container layers, logs and emptyDirs is evicted."
	}
	return " Requests above what nodes offer leave the pod Pending."
}

var resourceMappings = []string{nsaResources, "kube-score: container-resources"}

func checkCPURequest() Check {
	return podResourceCheck(CheckPodCPURequest, "Container has no CPU request",
		"Without a CPU request the scheduler places the pod blindly and the container gets the smallest CPU "+
			"share under contention.",
		sextant.SeverityLow, corev1.ResourceCPU, false, defaultCPURequest,
		append([]string{"Polaris: cpuRequestsMissing", "kubesec: RequestsCPU"}, resourceMappings...))
}

func checkMemoryRequest() Check {
	return podResourceCheck(CheckPodMemoryRequest, "Container has no memory request",
		"Without a memory request the scheduler may overcommit the node, and the pod is among the first "+
			"evicted under memory pressure.",
		sextant.SeverityLow, corev1.ResourceMemory, false, defaultMemRequest,
		append([]string{"Polaris: memoryRequestsMissing", "kubesec: RequestsMemory"}, resourceMappings...))
}

func checkCPULimit() Check {
	return podResourceCheck(CheckPodCPULimit, "Container has no CPU limit",
		"Without a CPU limit one container (or an attacker mining in it) can take every core of the node "+
			"from the others.",
		sextant.SeverityLow, corev1.ResourceCPU, true, defaultCPULimit,
		append([]string{"Polaris: cpuLimitsMissing", "kubesec: LimitsCPU"}, resourceMappings...))
}

func checkMemoryLimit() Check {
	return podResourceCheck(CheckPodMemoryLimit, "Container has no memory limit",
		"Without a memory limit a leak or an attacker can exhaust the node's memory and get other pods "+
			"OOM-killed or evicted.",
		sextant.SeverityMedium, corev1.ResourceMemory, true, defaultMemLimit,
		append([]string{"Polaris: memoryLimitsMissing", "kubesec: LimitsMemory"}, resourceMappings...))
}

func checkEphemeralStorage() Check {
	return podResourceCheck(CheckPodEphemeralStorage, "Container has no ephemeral-storage limit",
		"Without an ephemeral-storage limit a container can fill the node's disk with logs and writable-layer "+
			"data until the kubelet evicts every pod on it.",
		sextant.SeverityLow, corev1.ResourceEphemeralStorage, true, defaultEphemeral,
		[]string{nsaResources, "kube-score: container-ephemeral-storage-request-and-limit"})
}

// podProbeCheck builds the liveness and readiness probe checks.
func podProbeCheck(id, field, title, rationale, breaks string, mappings []string, get func(*corev1.Container) *corev1.Probe) Check {
	return podCheck(Check{ID: id, Title: title, Severity: sextant.SeverityLow, Rationale: rationale, Mappings: mappings},
		func(t *podTarget) []Violation {
			// Jobs run to completion: probes do not apply.
			if t.isJob() {
				return nil
			}
			var out []Violation
			for _, pc := range t.containers(listContainers) {
				if get(pc.c) != nil {
					continue
				}
				msg := fmt.Sprintf("Container %q has no %s.", pc.c.Name, field)
				var fix *Fix
				if port, ok := podTCPPort(pc.c); ok {
					fix = &Fix{
						Ops:    []PatchOp{{Op: "add", Path: pc.path() + "/" + field, Value: map[string]any{"tcpSocket": map[string]any{"port": port}}}},
						Breaks: "A TCP check only proves the port accepts connections; prefer an HTTP or gRPC endpoint that reflects the app's health. " + breaks,
					}
				} else {
					msg += " It declares no TCP port, so no automatic fix exists: a probe on a guessed port, path or command would fail and " +
						"restart (or withhold traffic from) a healthy container. Add an httpGet, grpc or exec probe that reflects its health."
				}
				out = append(out, t.violation(id, &pc, msg, field+" unset at "+pc.path(), fix))
			}
			return out
		})
}

// podTCPPort returns the first TCP port a container declares.
func podTCPPort(c *corev1.Container) (int32, bool) {
	for _, p := range c.Ports {
		if p.ContainerPort > 0 && (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) {
			return p.ContainerPort, true
		}
	}
	return 0, false
}

func checkLivenessProbe() Check {
	return podProbeCheck(CheckPodLivenessProbe, "livenessProbe", "Container has no liveness probe",
		"Without a liveness probe a container that hangs (deadlock, exhausted pool) keeps running and keeps "+
			"receiving traffic until someone notices.",
		"A slow-starting app may be restarted before it is up: add a startupProbe or initialDelaySeconds.",
		[]string{"Polaris: livenessProbeMissing"},
		func(c *corev1.Container) *corev1.Probe { return c.LivenessProbe })
}

func checkReadinessProbe() Check {
	return podProbeCheck(CheckPodReadinessProbe, "readinessProbe", "Container has no readiness probe",
		"Without a readiness probe a pod receives traffic as soon as it starts, before it can serve, and "+
			"rolling updates can take every replica down at once.",
		"The pod receives no traffic until the port accepts connections.",
		[]string{"Polaris: readinessProbeMissing", "kube-score: pod-probes"},
		func(c *corev1.Container) *corev1.Probe { return c.ReadinessProbe })
}

// podImageRef splits an image reference into its tag and whether it is
// pinned by digest.
func podImageRef(image string) (tag string, digest bool) {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		return "", true
	}
	name := image
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		return name[i+1:], false
	}
	return "", false
}

// podMutableTag reports whether an image has no tag or the tag "latest".
func podMutableTag(image string) bool {
	tag, digest := podImageRef(strings.TrimSpace(image))
	return !digest && (tag == "" || tag == "latest")
}

func checkImageTag() Check {
	return podCheck(Check{
		ID:       CheckPodImageTag,
		Title:    "Image has no tag or uses latest",
		Severity: sextant.SeverityMedium,
		Rationale: "An untagged or :latest image changes under the workload: nodes run different code, a " +
			"rollback restores nothing, and a compromised registry push is picked up silently.",
		Mappings: []string{nsaImages, "Polaris: tagNotSpecified", "kube-score: container-image-tag"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		for _, pc := range t.containers(allContainers...) {
			if !podMutableTag(pc.c.Image) {
				continue
			}
			out = append(out, t.violation(CheckPodImageTag, &pc,
				fmt.Sprintf("Container %q uses image %q without a fixed version. Pin it to a version tag or, better, a digest (image@sha256:…); no automatic fix exists because the version must be chosen.", pc.c.Name, pc.c.Image),
				fmt.Sprintf("image: %q at %s", pc.c.Image, pc.path()), nil))
		}
		return out
	})
}

func checkPullPolicy() Check {
	return podCheck(Check{
		ID:       CheckPodPullPolicy,
		Title:    "imagePullPolicy is not Always",
		Severity: sextant.SeverityLow,
		Rationale: "With IfNotPresent or Never a node reuses whatever image it cached under the tag: pods of one " +
			"workload run different code, and any pod on the node can use a private image without the pull " +
			"secret. Images pinned by digest are exempt.",
		Mappings: []string{nsaImages, "Polaris: pullPolicyNotAlways", "kube-score: container-image-pull-policy"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		for _, pc := range t.containers(allContainers...) {
			_, digest := podImageRef(pc.c.Image)
			policy := pc.c.ImagePullPolicy
			effective := policy
			if effective == "" {
				// The API server's default.
				effective = corev1.PullIfNotPresent
				if podMutableTag(pc.c.Image) {
					effective = corev1.PullAlways
				}
			}
			if digest || effective == corev1.PullAlways {
				continue
			}
			op := "add"
			if policy != "" {
				op = "replace"
			}
			out = append(out, t.violation(CheckPodPullPolicy, &pc,
				fmt.Sprintf("Container %q pulls image %q with policy %s: nodes may run a stale or unauthorised copy.", pc.c.Name, pc.c.Image, effective),
				fmt.Sprintf("imagePullPolicy: %s at %s", effective, pc.path()),
				&Fix{Ops: []PatchOp{{Op: op, Path: pc.path() + "/imagePullPolicy", Value: string(corev1.PullAlways)}},
					Breaks: "Every container start contacts the registry: starts fail while it is unreachable."}))
		}
		return out
	})
}

// podServiceAccount returns the service account the pod runs as.
func (t *podTarget) serviceAccount() string {
	if t.spec.ServiceAccountName != "" {
		return t.spec.ServiceAccountName
	}
	if t.spec.DeprecatedServiceAccount != "" {
		return t.spec.DeprecatedServiceAccount
	}
	return "default"
}

// saAutomount returns the automountServiceAccountToken of the pod's
// ServiceAccount when the inventory holds it.
func (t *podTarget) saAutomount(inv *Inventory) *bool {
	return podIndexOf(inv).sa[Ref{Kind: "ServiceAccount", Namespace: t.o.Namespace, Name: t.serviceAccount()}]
}

func checkAutomountToken() Check {
	c := Check{
		ID:       CheckPodAutomountToken,
		Title:    "Service account token is mounted automatically",
		Severity: sextant.SeverityMedium,
		Rationale: "Every pod gets an API token for its ServiceAccount unless told otherwise; most applications " +
			"never call the Kubernetes API, and the token is then only useful to an attacker who gets in.",
		Mappings: []string{"CIS 5.1.6", nsaTokens, "Polaris: automountServiceAccountToken",
			"kubesec: AutomountServiceAccountToken"},
		Kinds: workloadKinds,
	}
	c.Run = func(o *Object, inv *Inventory) []Violation {
		t := podTargetOf(o)
		if t == nil {
			return nil
		}
		own := t.spec.AutomountServiceAccountToken
		if own != nil && !*own {
			return nil
		}
		if own == nil {
			if sa := t.saAutomount(inv); sa != nil && !*sa {
				return nil
			}
		}
		op, ev := "add", "automountServiceAccountToken unset at "+t.specPath
		if own != nil {
			op, ev = "replace", "automountServiceAccountToken: true at "+t.specPath
		}
		return []Violation{t.violation(CheckPodAutomountToken, nil,
			fmt.Sprintf("The pod mounts the API token of ServiceAccount %q. Set automountServiceAccountToken: false unless it calls the Kubernetes API.", t.serviceAccount()),
			ev,
			&Fix{Ops: []PatchOp{{Op: op, Path: t.specPath + "/automountServiceAccountToken", Value: false}},
				Breaks: "The app can no longer call the Kubernetes API with its ServiceAccount token; if it does (operators, controllers), keep the token and suppress this check with the reason."})}
	}
	return c
}

func checkDefaultServiceAccount() Check {
	return podCheck(Check{
		ID:       CheckPodDefaultServiceAccount,
		Title:    "Pod runs as the default ServiceAccount",
		Severity: sextant.SeverityLow,
		Rationale: "Every pod that names no ServiceAccount shares the namespace's default one: a permission " +
			"granted to one of them is granted to all, and their API identities cannot be told apart.",
		Mappings: []string{"CIS 5.1.5", nsaTokens, "kubesec: ServiceAccountName"},
	}, func(t *podTarget) []Violation {
		if t.serviceAccount() != "default" {
			return nil
		}
		// Without a token the identity is not usable from the pod.
		if a := t.spec.AutomountServiceAccountToken; a != nil && !*a {
			return nil
		}
		return []Violation{t.violation(CheckPodDefaultServiceAccount, nil,
			"The pod runs as the namespace's default ServiceAccount with its token mounted. Create a dedicated ServiceAccount and set serviceAccountName; no automatic fix exists because the account must be created first.",
			"serviceAccountName unset or \"default\" at "+t.specPath, nil)}
	})
}

// Values that are secrets whatever the variable is called.
var secretValuePatterns = regexp.MustCompile(`(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA)[A-Z0-9]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----|gh[pousr]_[A-Za-z0-9]{36}|xox[baprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,}|glpat-[A-Za-z0-9_-]{20}`)

// Words that make a variable name sensitive, and last words that make it
// a reference to a secret rather than one (TOKEN_FILE, PASSWORD_PATH).
var (
	sensitiveWords = map[string]bool{
		"password": true, "passwd": true, "pwd": true, "pass": true, "secret": true, "token": true,
		"apikey": true, "credential": true, "credentials": true, "privatekey": true, "passphrase": true,
	}
	referenceWords = map[string]bool{
		"file": true, "path": true, "dir": true, "url": true, "uri": true, "host": true, "port": true,
		"endpoint": true, "enabled": true, "enable": true, "name": true, "id": true, "type": true, "length": true,
		"size": true, "ttl": true, "timeout": true, "header": true, "field": true, "ref": true, "issuer": true,
		"audience": true, "algorithm": true, "mode": true, "version": true, "expiry": true, "expiration": true,
		"duration": true, "location": true, "namespace": true, "policy": true, "secs": true, "seconds": true,
	}
)

// podEnvWords splits a variable name into lower-case words at
// non-alphanumerics and camel-case boundaries.
func podEnvWords(name string) []string {
	var words []string
	var cur []rune
	rs := []rune(name)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			if len(cur) > 0 {
				words = append(words, strings.ToLower(string(cur)))
				cur = cur[:0]
			}
			continue
		}
		if unicode.IsUpper(r) && i > 0 && unicode.IsLower(rs[i-1]) && len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
		cur = append(cur, r)
	}
	if len(cur) > 0 {
		words = append(words, strings.ToLower(string(cur)))
	}
	return words
}

// sensitiveEnvName reports whether a variable name says it holds a secret.
func sensitiveEnvName(name string) bool {
	w := podEnvWords(name)
	if len(w) == 0 || referenceWords[w[len(w)-1]] {
		return false
	}
	for i, x := range w {
		if sensitiveWords[x] {
			return true
		}
		if x == "key" && (i == len(w)-1 || i > 0 && (w[i-1] == "api" || w[i-1] == "access" || w[i-1] == "private" || w[i-1] == "secret")) {
			return true
		}
	}
	return false
}

// podEnvRef matches values that only reference other variables: $(VAR).
var podEnvRef = regexp.MustCompile(`^(\$\([A-Za-z_][A-Za-z0-9_.-]*\))+$`)

func checkSensitiveEnv() Check {
	return podCheck(Check{
		ID:       CheckPodSensitiveEnv,
		Title:    "Secret in a literal environment variable",
		Severity: sextant.SeverityHigh,
		Rationale: "A password, token or key written as an env value sits in the manifest, in Git, in the API " +
			"object readable by anyone who can get the workload, and in every copy of them; it cannot be rotated " +
			"without a redeploy.",
		Mappings: []string{"CIS 5.4.1", nsaSecrets, "Polaris: sensitiveContainerEnvVar"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		for _, pc := range t.containers(allContainers...) {
			var names []string
			for _, e := range pc.c.Env {
				if e.ValueFrom != nil || strings.TrimSpace(e.Value) == "" || podEnvRef.MatchString(e.Value) {
					continue
				}
				if sensitiveEnvName(e.Name) || secretValuePatterns.MatchString(e.Value) {
					names = append(names, e.Name)
				}
			}
			if len(names) == 0 {
				continue
			}
			// The evidence names the variables, never their values.
			out = append(out, t.violation(CheckPodSensitiveEnv, &pc,
				fmt.Sprintf("Container %q sets %s as literal values. Move them into a Secret and reference it with valueFrom.secretKeyRef (or mount it as a file), then rotate them: they have been exposed. No automatic fix exists because the Secret must be created.", pc.c.Name, strings.Join(names, ", ")),
				fmt.Sprintf("env %s with literal values (not shown) at %s/env", strings.Join(names, ", "), pc.path()), nil))
		}
		return out
	})
}

func checkSecretEnv() Check {
	return podCheck(Check{
		ID:       CheckPodSecretEnv,
		Title:    "Secret exposed as environment variables",
		Severity: sextant.SeverityLow,
		Rationale: "Environment variables leak: into crash reports and logs, to child processes, through " +
			"/proc/<pid>/environ; a Secret mounted as files does not, and is updated in place when rotated.",
		Mappings: []string{"CIS 5.4.1", nsaSecrets},
	}, func(t *podTarget) []Violation {
		var out []Violation
		for _, pc := range t.containers(allContainers...) {
			var refs []string
			for _, e := range pc.c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					refs = append(refs, fmt.Sprintf("%s (secret %s)", e.Name, e.ValueFrom.SecretKeyRef.Name))
				}
			}
			for _, e := range pc.c.EnvFrom {
				if e.SecretRef != nil {
					refs = append(refs, "envFrom secret "+e.SecretRef.Name)
				}
			}
			if len(refs) == 0 {
				continue
			}
			out = append(out, t.violation(CheckPodSecretEnv, &pc,
				fmt.Sprintf("Container %q reads Secrets through environment variables: %s. Prefer mounting the Secret as a volume; no automatic fix exists because the app must read files instead.", pc.c.Name, strings.Join(refs, ", ")),
				fmt.Sprintf("env from secrets at %s", pc.path()), nil))
		}
		return out
	})
}

func checkDefaultNamespace() Check {
	return podCheck(Check{
		ID:       CheckPodDefaultNamespace,
		Title:    "Workload in the default namespace",
		Severity: sextant.SeverityLow,
		Rationale: "The default namespace is where everything lands by accident: policies, quotas and RBAC " +
			"scoped to an application's namespace do not apply there.",
		Mappings: []string{"CIS 5.7.1", "CIS 5.7.4", nsaNamespaces},
	}, func(t *podTarget) []Violation {
		// The loader fills in "default" for manifests that name no
		// namespace; only an explicit one is reported.
		if t.objNamespace() != "default" {
			return nil
		}
		return []Violation{t.violation(CheckPodDefaultNamespace, nil,
			"The workload is in the default namespace. Move it into a namespace of its own; no automatic fix exists because the namespace must be chosen and created.",
			"metadata.namespace: default at /metadata", nil)}
	})
}

// objNamespace returns the namespace the object's own JSON names.
func (t *podTarget) objNamespace() string {
	return t.ns
}

func checkDuplicateEnv() Check {
	return podCheck(Check{
		ID:       CheckPodDuplicateEnv,
		Title:    "Environment variable defined twice",
		Severity: sextant.SeverityLow,
		Rationale: "When a variable is defined twice the last definition silently wins, and strategic-merge " +
			"patches (kubectl apply) merge env by name and can drop or reorder the duplicates.",
		Mappings: []string{"kube-score: environment-variable-key-duplication"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		for _, pc := range t.containers(allContainers...) {
			last := map[string]int{}
			for i, e := range pc.c.Env {
				last[e.Name] = i
			}
			var idx []int
			var names []string
			for i, e := range pc.c.Env {
				if last[e.Name] != i {
					idx = append(idx, i)
					names = append(names, e.Name)
				}
			}
			if len(idx) == 0 {
				continue
			}
			out = append(out, t.violation(CheckPodDuplicateEnv, &pc,
				fmt.Sprintf("Container %q defines %s more than once; only the last definition takes effect.", pc.c.Name, strings.Join(names, ", ")),
				fmt.Sprintf("env %s repeated at %s/env", strings.Join(names, ", "), pc.path()),
				&Fix{Ops: podRemoveIndexes(pc.path()+"/env", idx)}))
		}
		return out
	})
}

func checkHostAliases() Check {
	return podCheck(Check{
		ID:       CheckPodHostAliases,
		Title:    "Pod overrides name resolution with hostAliases",
		Severity: sextant.SeverityLow,
		Rationale: "hostAliases write fixed entries into the pod's /etc/hosts: they bypass cluster DNS and its " +
			"policies, and quietly redirect traffic when an address changes.",
		Mappings: []string{"kubesec: HostAliases"},
	}, func(t *podTarget) []Violation {
		if len(t.spec.HostAliases) == 0 {
			return nil
		}
		return []Violation{t.violation(CheckPodHostAliases, nil,
			"The pod pins host names to addresses in /etc/hosts. Publish them through DNS (a Service or ExternalName) instead.",
			fmt.Sprintf("hostAliases (%d entries) at %s", len(t.spec.HostAliases), t.specPath),
			&Fix{Ops: []PatchOp{{Op: "remove", Path: t.specPath + "/hostAliases"}},
				Breaks: "The names resolve through cluster DNS instead; make sure it knows them."})}
	})
}

func checkReplicas() Check {
	c := Check{
		ID:        CheckPodReplicas,
		Title:     "Workload runs a single replica",
		Severity:  sextant.SeverityLow,
		Rationale: "With one replica every node drain, eviction or crash is an outage.",
		Mappings:  []string{"Polaris: deploymentMissingReplicas", "kube-score: deployment-replicas"},
		Kinds:     workloadKinds,
	}
	c.Run = func(o *Object, inv *Inventory) []Violation {
		t := podTargetOf(o)
		if t == nil || !t.hasReplicas || t.o.Kind == "ReplicaSet" {
			return nil
		}
		if t.replicas != nil && *t.replicas != 1 {
			return nil
		}
		if podScaledByHPA(t.o, inv) {
			return nil
		}
		op, ev := "add", "spec.replicas unset (1) at /spec"
		if t.replicas != nil {
			op, ev = "replace", "spec.replicas: 1 at /spec"
		}
		return []Violation{t.violation(CheckPodReplicas, nil,
			fmt.Sprintf("%s %s runs one replica: any node drain or crash takes it down.", t.o.Kind, t.o.Name),
			ev,
			&Fix{Ops: []PatchOp{{Op: op, Path: t.replicasAt, Value: 2}},
				Breaks: "Doubles the pods' resource use; an app that is not safe to run twice (leader-only, local state) needs leader election or a suppression."})}
	}
	return c
}

// podScaledByHPA reports whether a HorizontalPodAutoscaler in the
// inventory targets the object (it then owns the replica count).
func podScaledByHPA(o *Object, inv *Inventory) bool {
	return podIndexOf(inv).hpa[o.Ref()]
}

func checkShareProcessNamespace() Check {
	return podCheck(Check{
		ID:       CheckPodShareProcessNamespace,
		Title:    "Containers share one process namespace",
		Severity: sextant.SeverityLow,
		Rationale: "With a shared process namespace every container sees the others' processes and can read " +
			"their files and environment through /proc/<pid>/root and /proc/<pid>/environ, sidecar credentials " +
			"included.",
		Mappings: []string{nsaPodSecurity},
	}, func(t *podTarget) []Violation {
		if !podIsTrue(t.spec.ShareProcessNamespace) {
			return nil
		}
		return []Violation{t.violation(CheckPodShareProcessNamespace, nil,
			"The pod's containers share one process namespace and can read each other's files and secrets.",
			"shareProcessNamespace: true at "+t.specPath,
			&Fix{Ops: []PatchOp{{Op: "replace", Path: t.specPath + "/shareProcessNamespace", Value: false}},
				Breaks: "Sidecars that signal or inspect the main process (reloaders, debuggers) no longer see it."})}
	})
}
