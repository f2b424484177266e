package k8s

import (
	"fmt"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sextant-dev/sextant"
)

// IDs of the pod and container checks. They are stable: suppressions and
// outputs name them.
const (
	CheckPodPrivileged            = "SX-K8S-001"
	CheckPodHostPID               = "SX-K8S-002"
	CheckPodHostIPC               = "SX-K8S-003"
	CheckPodHostNetwork           = "SX-K8S-004"
	CheckPodHostProcess           = "SX-K8S-005"
	CheckPodCapabilitiesBaseline  = "SX-K8S-006"
	CheckPodHostPath              = "SX-K8S-007"
	CheckPodRuntimeSocket         = "SX-K8S-008"
	CheckPodHostPort              = "SX-K8S-009"
	CheckPodAppArmor              = "SX-K8S-010"
	CheckPodSELinux               = "SX-K8S-011"
	CheckPodProcMount             = "SX-K8S-012"
	CheckPodSeccompUnconfined     = "SX-K8S-013"
	CheckPodSysctls               = "SX-K8S-014"
	CheckPodVolumeTypes           = "SX-K8S-015"
	CheckPodPrivilegeEscalation   = "SX-K8S-016"
	CheckPodRunAsNonRoot          = "SX-K8S-017"
	CheckPodRunAsRootUser         = "SX-K8S-018"
	CheckPodSeccompMissing        = "SX-K8S-019"
	CheckPodDropAll               = "SX-K8S-020"
	CheckPodCapabilitiesRestrict  = "SX-K8S-021"
	CheckPodReadOnlyRootFS        = "SX-K8S-022"
	CheckPodLowUID                = "SX-K8S-023"
	CheckPodCPURequest            = "SX-K8S-024"
	CheckPodMemoryRequest         = "SX-K8S-025"
	CheckPodCPULimit              = "SX-K8S-026"
	CheckPodMemoryLimit           = "SX-K8S-027"
	CheckPodEphemeralStorage      = "SX-K8S-028"
	CheckPodLivenessProbe         = "SX-K8S-029"
	CheckPodReadinessProbe        = "SX-K8S-030"
	CheckPodImageTag              = "SX-K8S-031"
	CheckPodPullPolicy            = "SX-K8S-032"
	CheckPodAutomountToken        = "SX-K8S-033"
	CheckPodDefaultServiceAccount = "SX-K8S-034"
	CheckPodSensitiveEnv          = "SX-K8S-035"
	CheckPodSecretEnv             = "SX-K8S-036"
	CheckPodDefaultNamespace      = "SX-K8S-037"
	CheckPodDuplicateEnv          = "SX-K8S-038"
	CheckPodHostAliases           = "SX-K8S-039"
	CheckPodReplicas              = "SX-K8S-040"
	CheckPodShareProcessNamespace = "SX-K8S-041"
)

// Mapping prefixes and the NSA/CISA Kubernetes Hardening Guide (v1.2)
// sections the pod checks implement.
const (
	pssBaseline   = "PSS baseline: "
	pssRestricted = "PSS restricted: "

	nsaNonRoot     = "NSA/CISA: Non-root containers"
	nsaImmutable   = "NSA/CISA: Immutable container file systems"
	nsaPodSecurity = "NSA/CISA: Pod security enforcement"
	nsaHardening   = "NSA/CISA: Hardening container environments (seccomp, AppArmor, SELinux)"
	nsaTokens      = "NSA/CISA: Protecting Pod service account tokens"
	nsaImages      = "NSA/CISA: Building secure container images"
	nsaResources   = "NSA/CISA: Resource policies"
	nsaNamespaces  = "NSA/CISA: Namespaces"
	nsaSecrets     = "NSA/CISA: Secrets"
)

// safeUID is the user and group ID fixes set: above 10000, so it matches no
// account on the node and passes kube-score's and kubesec's thresholds.
const safeUID = 10001

func checkPrivileged() Check {
	return podCheck(Check{
		ID:       CheckPodPrivileged,
		Title:    "Privileged container",
		Severity: sextant.SeverityCritical,
		Rationale: "A privileged container has every capability, every host device and no seccomp or AppArmor " +
			"confinement: root in it is root on the node, and escaping takes one mount command.",
		Mappings: []string{pssBaseline + "Privileged Containers", "CIS 5.2.2", nsaPodSecurity,
			"Polaris: runAsPrivileged", "kube-score: container-security-context-privileged", "kubesec: Privileged"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		for _, pc := range t.containers(allContainers...) {
			if sc := pc.c.SecurityContext; sc != nil && podIsTrue(sc.Privileged) {
				out = append(out, t.violation(CheckPodPrivileged, &pc,
					fmt.Sprintf("Container %q runs privileged: it can take over the node. Remove privileged and add only the capabilities it needs.", pc.c.Name),
					fmt.Sprintf("securityContext.privileged: true at %s", pc.path()),
					&Fix{
						Ops:    []PatchOp{{Op: "replace", Path: pc.path() + "/securityContext/privileged", Value: false}},
						Breaks: "The container loses access to host devices and kernel settings; node agents (CNI, storage, monitoring) may need specific capabilities or a suppression instead.",
					}))
			}
		}
		return out
	})
}

// podHostNamespaceCheck builds the hostPID/hostIPC/hostNetwork checks.
func podHostNamespaceCheck(id, field, title, rationale, cis, breaks string, sev sextant.Severity, polaris, kubesec string, get func(*corev1.PodSpec) bool) Check {
	return podCheck(Check{
		ID: id, Title: title, Severity: sev, Rationale: rationale,
		Mappings: []string{pssBaseline + "Host Namespaces", cis, nsaPodSecurity, "Polaris: " + polaris, "kubesec: " + kubesec},
	}, func(t *podTarget) []Violation {
		if !get(t.spec) {
			return nil
		}
		return []Violation{t.violation(id, nil,
			fmt.Sprintf("The pod shares the node's %s namespace (%s: true). Remove it unless the workload is a node agent that needs it.", strings.TrimPrefix(field, "host"), field),
			fmt.Sprintf("%s: true at %s", field, t.specPath),
			&Fix{Ops: []PatchOp{{Op: "replace", Path: t.specPath + "/" + field, Value: false}}, Breaks: breaks})}
	})
}

func checkHostPID() Check {
	return podHostNamespaceCheck(CheckPodHostPID, "hostPID", "Pod shares the host PID namespace",
		"With the host PID namespace a container sees every process on the node, can read their environment and "+
			"/proc/<pid>/root (other pods' secrets), and, as root, signal or ptrace them.",
		"CIS 5.2.3", "Tools that inspect or signal host processes (monitoring agents, debuggers) no longer see them.",
		sextant.SeverityHigh, "hostPIDSet", "HostPID", func(s *corev1.PodSpec) bool { return s.HostPID })
}

func checkHostIPC() Check {
	return podHostNamespaceCheck(CheckPodHostIPC, "hostIPC", "Pod shares the host IPC namespace",
		"With the host IPC namespace a container can read and write the shared memory and message queues of "+
			"every process on the node.",
		"CIS 5.2.4", "Software that exchanges shared memory with host processes stops working.",
		sextant.SeverityHigh, "hostIPCSet", "HostIPC", func(s *corev1.PodSpec) bool { return s.HostIPC })
}

func checkHostNetwork() Check {
	return podHostNamespaceCheck(CheckPodHostNetwork, "hostNetwork", "Pod uses the host network",
		"With the host network a container binds the node's interfaces, sniffs its traffic, reaches services "+
			"listening on localhost (kubelet, cloud metadata) and bypasses NetworkPolicies.",
		"CIS 5.2.5", "The pod gets its own IP: it no longer listens on the node's addresses; clients must reach it through a Service.",
		sextant.SeverityHigh, "hostNetworkSet", "HostNetwork", func(s *corev1.PodSpec) bool { return s.HostNetwork })
}

func checkHostProcess() Check {
	return podCheck(Check{
		ID:       CheckPodHostProcess,
		Title:    "Windows HostProcess container",
		Severity: sextant.SeverityCritical,
		Rationale: "A Windows HostProcess container runs directly on the node as a host process, with the node's " +
			"file system and network: it is the Windows equivalent of a privileged container.",
		Mappings: []string{pssBaseline + "HostProcess", "CIS 5.2.11", nsaPodSecurity},
	}, func(t *podTarget) []Violation {
		var out []Violation
		breaks := "The workload no longer runs as a host process; node management tasks it performs stop working."
		if sc := t.spec.SecurityContext; sc != nil && sc.WindowsOptions != nil && podIsTrue(sc.WindowsOptions.HostProcess) {
			p := t.specPath + "/securityContext/windowsOptions/hostProcess"
			out = append(out, t.violation(CheckPodHostProcess, nil,
				"The pod runs its containers as Windows HostProcess containers, with full access to the node.",
				"securityContext.windowsOptions.hostProcess: true at "+t.specPath,
				&Fix{Ops: []PatchOp{{Op: "replace", Path: p, Value: false}}, Breaks: breaks}))
		}
		for _, pc := range t.containers(allContainers...) {
			if sc := pc.c.SecurityContext; sc != nil && sc.WindowsOptions != nil && podIsTrue(sc.WindowsOptions.HostProcess) {
				out = append(out, t.violation(CheckPodHostProcess, &pc,
					fmt.Sprintf("Container %q is a Windows HostProcess container, with full access to the node.", pc.c.Name),
					"securityContext.windowsOptions.hostProcess: true at "+pc.path(),
					&Fix{Ops: []PatchOp{{Op: "replace", Path: pc.path() + "/securityContext/windowsOptions/hostProcess", Value: false}}, Breaks: breaks}))
			}
		}
		return out
	})
}

// baselineCaps are the capabilities the baseline profile allows to add
// (the container runtimes' default set).
var baselineCaps = map[string]bool{
	"AUDIT_WRITE": true, "CHOWN": true, "DAC_OVERRIDE": true, "FOWNER": true, "FSETID": true, "KILL": true,
	"MKNOD": true, "NET_BIND_SERVICE": true, "SETFCAP": true, "SETGID": true, "SETPCAP": true, "SETUID": true,
	"SYS_CHROOT": true,
}

// podCapName normalises a capability name: upper case, without "CAP_".
func podCapName(c corev1.Capability) string {
	return strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(string(c))), "CAP_")
}

// podAddedCaps returns the indexes and names of the added capabilities of
// a container for which keep returns false.
func podAddedCaps(pc podContainer, bad func(string) bool) (idx []int, names []string) {
	sc := pc.c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		return nil, nil
	}
	for i, c := range sc.Capabilities.Add {
		if bad(podCapName(c)) {
			idx = append(idx, i)
			names = append(names, string(c))
		}
	}
	return idx, names
}

func checkBaselineCapabilities() Check {
	return podCheck(Check{
		ID:       CheckPodCapabilitiesBaseline,
		Title:    "Container adds dangerous capabilities",
		Severity: sextant.SeverityHigh,
		Rationale: "Capabilities beyond the runtime's default set (SYS_ADMIN, NET_ADMIN, NET_RAW, SYS_PTRACE, " +
			"SYS_MODULE, ALL …) give root in the container kernel powers that lead to node escape, traffic " +
			"spoofing or reading other processes' memory.",
		Mappings: []string{pssBaseline + "Capabilities", "CIS 5.2.8", "CIS 5.2.9", nsaPodSecurity,
			"Polaris: dangerousCapabilities", "kubesec: CapSysAdmin"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		for _, pc := range t.containers(allContainers...) {
			idx, names := podAddedCaps(pc, func(c string) bool { return !baselineCaps[c] })
			if len(idx) == 0 {
				continue
			}
			out = append(out, t.violation(CheckPodCapabilitiesBaseline, &pc,
				fmt.Sprintf("Container %q adds %s, beyond the baseline set. Remove them; if one is truly needed, record a suppression with the reason.", pc.c.Name, strings.Join(names, ", ")),
				fmt.Sprintf("securityContext.capabilities.add: [%s] at %s", strings.Join(names, ", "), pc.path()),
				&Fix{
					Ops:    podRemoveIndexes(pc.path()+"/securityContext/capabilities/add", idx),
					Breaks: "The process can no longer use " + strings.Join(names, ", ") + " (e.g. network administration, mounts, raw sockets for ping).",
				}))
		}
		return out
	})
}

// podMounts returns, for each container that mounts volume name, the
// container and the indexes of its mounts of it.
func (t *podTarget) podMounts(name string) (pcs []podContainer, idx [][]int) {
	for _, pc := range t.containers(allContainers...) {
		var is []int
		for i, m := range pc.c.VolumeMounts {
			if m.Name == name {
				is = append(is, i)
			}
		}
		if len(is) > 0 {
			pcs = append(pcs, pc)
			idx = append(idx, is)
		}
	}
	return pcs, idx
}

func podContainerNames(pcs []podContainer) string {
	names := make([]string, len(pcs))
	for i, pc := range pcs {
		names[i] = strconv.Quote(pc.c.Name)
	}
	return strings.Join(names, ", ")
}

func checkHostPathVolume() Check {
	return podCheck(Check{
		ID:       CheckPodHostPath,
		Title:    "Pod mounts a hostPath volume",
		Severity: sextant.SeverityHigh,
		Rationale: "A hostPath volume exposes the node's file system to the pod: with write access to the " +
			"wrong directory (/etc, /var/lib/kubelet, /root, a runtime socket) a container owns the node; even " +
			"read access leaks other pods' secrets and credentials.",
		Mappings: []string{pssBaseline + "HostPath Volumes", pssRestricted + "Volume Types", "CIS 5.2.12", nsaPodSecurity},
	}, func(t *podTarget) []Violation {
		var out []Violation
		for i, v := range t.spec.Volumes {
			if v.HostPath == nil {
				continue
			}
			pcs, _ := t.podMounts(v.Name)
			used := "no container mounts it"
			if len(pcs) > 0 {
				used = "mounted by " + podContainerNames(pcs)
			}
			p := fmt.Sprintf("%s/volumes/%d", t.specPath, i)
			out = append(out, t.violation(CheckPodHostPath, nil,
				fmt.Sprintf("Volume %q mounts the node's %s (%s). Use an emptyDir, a PersistentVolumeClaim or a CSI volume instead.", v.Name, v.HostPath.Path, used),
				fmt.Sprintf("volumes[%d].hostPath.path: %s at %s", i, v.HostPath.Path, p),
				&Fix{
					Ops:    []PatchOp{{Op: "replace", Path: p, Value: map[string]any{"name": v.Name, "emptyDir": map[string]any{}}}},
					Breaks: fmt.Sprintf("The containers no longer see the node's %s, only an empty pod-local directory; node agents (log collectors, CSI/CNI plugins) that need host files should keep it read-only and record a suppression.", v.HostPath.Path),
				}))
		}
		return out
	})
}

// runtimeSockets are the container runtime API sockets on a node.
var runtimeSockets = []string{
	"/var/run/docker.sock", "/run/docker.sock",
	"/var/run/containerd/containerd.sock", "/run/containerd/containerd.sock",
	"/var/run/crio/crio.sock", "/run/crio/crio.sock",
	"/var/run/cri-dockerd.sock", "/run/cri-dockerd.sock",
	"/var/run/dockershim.sock", "/run/dockershim.sock",
	"/var/run/podman/podman.sock", "/run/podman/podman.sock",
	"/var/run/k3s/containerd/containerd.sock", "/run/k3s/containerd/containerd.sock",
}

// podRuntimeSocket returns the runtime socket a host path exposes: the
// socket itself, or a directory that contains one.
func podRuntimeSocket(p string) (string, bool) {
	if p == "" {
		return "", false
	}
	p = path.Clean("/" + p)
	for _, s := range runtimeSockets {
		if p == s || p == "/" || strings.HasPrefix(s, p+"/") {
			return s, true
		}
	}
	return "", false
}

func checkRuntimeSocket() Check {
	return podCheck(Check{
		ID:       CheckPodRuntimeSocket,
		Title:    "Container mounts the container runtime socket",
		Severity: sextant.SeverityCritical,
		Rationale: "Whoever can talk to the Docker, containerd or CRI-O socket can start a privileged container " +
			"on the node with its root file system mounted: the socket is root on the node.",
		Mappings: []string{pssBaseline + "HostPath Volumes", "CIS 5.2.12", nsaPodSecurity, "kubesec: DockerSock"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		for vi, v := range t.spec.Volumes {
			if v.HostPath == nil {
				continue
			}
			sock, ok := podRuntimeSocket(v.HostPath.Path)
			if !ok {
				continue
			}
			pcs, idx := t.podMounts(v.Name)
			for k, pc := range pcs {
				ops := podRemoveIndexes(pc.path()+"/volumeMounts", idx[k])
				if len(pcs) == 1 {
					// Nothing else mounts the volume: remove it too.
					ops = append(ops, PatchOp{Op: "remove", Path: fmt.Sprintf("%s/volumes/%d", t.specPath, vi)})
				}
				out = append(out, t.violation(CheckPodRuntimeSocket, &pc,
					fmt.Sprintf("Container %q mounts the node's container runtime socket (%s) through volume %q: it can start privileged containers on the node. Use a rootless builder (BuildKit rootless, kaniko) or a narrow API proxy instead.", pc.c.Name, sock, v.Name),
					fmt.Sprintf("volumes[%d].hostPath.path: %s mounted at %s/volumeMounts", vi, v.HostPath.Path, pc.path()),
					&Fix{
						Ops:    ops,
						Breaks: "The container can no longer build, list or start containers through the node's runtime.",
					}))
			}
		}
		return out
	})
}

func checkHostPort() Check {
	return podCheck(Check{
		ID:       CheckPodHostPort,
		Title:    "Container binds a host port",
		Severity: sextant.SeverityMedium,
		Rationale: "A hostPort opens a port on the node's own address, outside NetworkPolicies and Services, and " +
			"ties the pod to nodes where the port is free.",
		Mappings: []string{pssBaseline + "Host Ports", "CIS 5.2.13", nsaPodSecurity, "Polaris: hostPortSet"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		for _, pc := range t.containers(runContainers...) {
			var ops []PatchOp
			var ports []string
			for j, p := range pc.c.Ports {
				if p.HostPort != 0 {
					ops = append(ops, PatchOp{Op: "remove", Path: fmt.Sprintf("%s/ports/%d/hostPort", pc.path(), j)})
					ports = append(ports, strconv.Itoa(int(p.HostPort)))
				}
			}
			if len(ops) == 0 {
				continue
			}
			out = append(out, t.violation(CheckPodHostPort, &pc,
				fmt.Sprintf("Container %q binds host port %s on the node. Expose it through a Service instead.", pc.c.Name, strings.Join(ports, ", ")),
				fmt.Sprintf("ports[].hostPort: %s at %s", strings.Join(ports, ", "), pc.path()),
				&Fix{Ops: ops, Breaks: "The port is no longer reachable on the node's address; clients must use a Service (NodePort or LoadBalancer if it must be external)."}))
		}
		return out
	})
}

// AppArmor annotation (deprecated since 1.30 but still honoured).
const appArmorAnnotation = "container.apparmor.security.beta.kubernetes.io/"

func podAppArmorOK(p *corev1.AppArmorProfile) bool {
	return p == nil || p.Type == corev1.AppArmorProfileTypeRuntimeDefault || p.Type == corev1.AppArmorProfileTypeLocalhost
}

func checkAppArmor() Check {
	return podCheck(Check{
		ID:       CheckPodAppArmor,
		Title:    "AppArmor profile disabled",
		Severity: sextant.SeverityMedium,
		Rationale: "AppArmor confines what a container's processes may touch (mounts, /proc and /sys writes, " +
			"raw sockets); an Unconfined profile removes that layer of defence against breakouts.",
		Mappings: []string{pssBaseline + "AppArmor", nsaHardening, "Polaris: linuxHardening", "kubesec: ApparmorAny"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		def := map[string]any{"type": string(corev1.AppArmorProfileTypeRuntimeDefault)}
		breaks := "The runtime's default AppArmor profile blocks mounts and writes to parts of /proc and /sys; a workload that relies on them fails."
		if sc := t.spec.SecurityContext; sc != nil && !podAppArmorOK(sc.AppArmorProfile) {
			out = append(out, t.violation(CheckPodAppArmor, nil,
				fmt.Sprintf("The pod sets AppArmor profile %q. Use RuntimeDefault or a Localhost profile.", sc.AppArmorProfile.Type),
				fmt.Sprintf("securityContext.appArmorProfile.type: %s at %s", sc.AppArmorProfile.Type, t.specPath),
				&Fix{Ops: []PatchOp{{Op: "replace", Path: t.specPath + "/securityContext/appArmorProfile", Value: def}}, Breaks: breaks}))
		}
		for _, pc := range t.containers(allContainers...) {
			if sc := pc.c.SecurityContext; sc != nil && !podAppArmorOK(sc.AppArmorProfile) {
				out = append(out, t.violation(CheckPodAppArmor, &pc,
					fmt.Sprintf("Container %q sets AppArmor profile %q. Use RuntimeDefault or a Localhost profile.", pc.c.Name, sc.AppArmorProfile.Type),
					fmt.Sprintf("securityContext.appArmorProfile.type: %s at %s", sc.AppArmorProfile.Type, pc.path()),
					&Fix{Ops: []PatchOp{{Op: "replace", Path: pc.path() + "/securityContext/appArmorProfile", Value: def}}, Breaks: breaks}))
			}
		}
		keys := make([]string, 0, len(t.meta.Annotations))
		for k := range t.meta.Annotations {
			if strings.HasPrefix(k, appArmorAnnotation) {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := t.meta.Annotations[k]
			if v == "runtime/default" || strings.HasPrefix(v, "localhost/") {
				continue
			}
			name := strings.TrimPrefix(k, appArmorAnnotation)
			out = append(out, Violation{
				CheckID: CheckPodAppArmor, Object: t.o.Ref(), Container: name,
				Message:  fmt.Sprintf("Container %q runs with AppArmor profile %q (annotation). Use runtime/default or a localhost/ profile.", name, v),
				Evidence: fmt.Sprintf("annotation %s: %s at %s", k, v, t.metaPath),
				Fix: &Fix{Ops: []PatchOp{{Op: "replace", Path: t.metaPath + "/annotations/" + podPointerEscape(k), Value: "runtime/default"}},
					Breaks: breaks},
			})
		}
		return out
	})
}

// selinuxTypes are the SELinux types the baseline profile allows.
var selinuxTypes = map[string]bool{"": true, "container_t": true, "container_init_t": true, "container_kvm_t": true, "container_engine_t": true}

// podSELinuxOps returns the remove ops for the disallowed fields of opts at
// path, and what they were.
func podSELinuxOps(opts *corev1.SELinuxOptions, p string) (ops []PatchOp, what []string) {
	if opts == nil {
		return nil, nil
	}
	if !selinuxTypes[opts.Type] {
		ops = append(ops, PatchOp{Op: "remove", Path: p + "/type"})
		what = append(what, "type "+opts.Type)
	}
	if opts.User != "" {
		ops = append(ops, PatchOp{Op: "remove", Path: p + "/user"})
		what = append(what, "user "+opts.User)
	}
	if opts.Role != "" {
		ops = append(ops, PatchOp{Op: "remove", Path: p + "/role"})
		what = append(what, "role "+opts.Role)
	}
	return ops, what
}

func checkSELinux() Check {
	return podCheck(Check{
		ID:       CheckPodSELinux,
		Title:    "Custom SELinux user, role or type",
		Severity: sextant.SeverityMedium,
		Rationale: "Setting a custom SELinux user or role, or a type other than the container types, can lift " +
			"the SELinux confinement that keeps a container away from host files and other containers.",
		Mappings: []string{pssBaseline + "SELinux", nsaHardening, "Polaris: linuxHardening"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		breaks := "The process runs with the runtime's default SELinux label; files relabelled for the custom label may become unreadable."
		if sc := t.spec.SecurityContext; sc != nil {
			if ops, what := podSELinuxOps(sc.SELinuxOptions, t.specPath+"/securityContext/seLinuxOptions"); len(ops) > 0 {
				out = append(out, t.violation(CheckPodSELinux, nil,
					fmt.Sprintf("The pod sets SELinux %s. Leave user and role unset and use a container type.", strings.Join(what, ", ")),
					fmt.Sprintf("securityContext.seLinuxOptions (%s) at %s", strings.Join(what, ", "), t.specPath),
					&Fix{Ops: ops, Breaks: breaks}))
			}
		}
		for _, pc := range t.containers(allContainers...) {
			if sc := pc.c.SecurityContext; sc != nil {
				if ops, what := podSELinuxOps(sc.SELinuxOptions, pc.path()+"/securityContext/seLinuxOptions"); len(ops) > 0 {
					out = append(out, t.violation(CheckPodSELinux, &pc,
						fmt.Sprintf("Container %q sets SELinux %s. Leave user and role unset and use a container type.", pc.c.Name, strings.Join(what, ", ")),
						fmt.Sprintf("securityContext.seLinuxOptions (%s) at %s", strings.Join(what, ", "), pc.path()),
						&Fix{Ops: ops, Breaks: breaks}))
				}
			}
		}
		return out
	})
}

func checkProcMount() Check {
	return podCheck(Check{
		ID:       CheckPodProcMount,
		Title:    "Container unmasks /proc",
		Severity: sextant.SeverityHigh,
		Rationale: "procMount: Unmasked exposes the parts of /proc the runtime normally masks (kcore, " +
			"sysrq-trigger, kernel tunables), which help an attacker escape or crash the node.",
		Mappings: []string{pssBaseline + "/proc Mount Type", nsaPodSecurity},
	}, func(t *podTarget) []Violation {
		var out []Violation
		for _, pc := range t.containers(allContainers...) {
			sc := pc.c.SecurityContext
			if sc == nil || sc.ProcMount == nil || *sc.ProcMount == corev1.DefaultProcMount {
				continue
			}
			out = append(out, t.violation(CheckPodProcMount, &pc,
				fmt.Sprintf("Container %q mounts /proc %s. Use the Default (masked) /proc.", pc.c.Name, *sc.ProcMount),
				fmt.Sprintf("securityContext.procMount: %s at %s", *sc.ProcMount, pc.path()),
				&Fix{Ops: []PatchOp{{Op: "replace", Path: pc.path() + "/securityContext/procMount", Value: string(corev1.DefaultProcMount)}},
					Breaks: "Nested container runtimes (running containers inside this one) need an unmasked /proc and stop working."}))
		}
		return out
	})
}

func checkSeccompUnconfined() Check {
	return podCheck(Check{
		ID:       CheckPodSeccompUnconfined,
		Title:    "Seccomp explicitly disabled",
		Severity: sextant.SeverityHigh,
		Rationale: "An Unconfined seccomp profile lets the container call every system call, including the " +
			"rarely used ones behind most kernel privilege-escalation exploits (unshare, keyctl, bpf, userfaultfd).",
		Mappings: []string{pssBaseline + "Seccomp", pssRestricted + "Seccomp", "CIS 5.7.2", nsaHardening,
			"kubesec: SeccompUnconfined", "Polaris: linuxHardening"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		def := map[string]any{"type": string(corev1.SeccompProfileTypeRuntimeDefault)}
		breaks := "System calls outside the runtime's default profile (mount, unshare, ptrace, keyctl …) fail with EPERM."
		if sc := t.spec.SecurityContext; sc != nil && sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
			out = append(out, t.violation(CheckPodSeccompUnconfined, nil,
				"The pod disables seccomp (Unconfined). Use RuntimeDefault or a Localhost profile.",
				"securityContext.seccompProfile.type: Unconfined at "+t.specPath,
				&Fix{Ops: []PatchOp{{Op: "replace", Path: t.specPath + "/securityContext/seccompProfile", Value: def}}, Breaks: breaks}))
		}
		for _, pc := range t.containers(allContainers...) {
			if sc := pc.c.SecurityContext; sc != nil && sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
				out = append(out, t.violation(CheckPodSeccompUnconfined, &pc,
					fmt.Sprintf("Container %q disables seccomp (Unconfined). Use RuntimeDefault or a Localhost profile.", pc.c.Name),
					"securityContext.seccompProfile.type: Unconfined at "+pc.path(),
					&Fix{Ops: []PatchOp{{Op: "replace", Path: pc.path() + "/securityContext/seccompProfile", Value: def}}, Breaks: breaks}))
			}
		}
		return out
	})
}

// safeSysctls are the sysctls the baseline profile allows: namespaced and
// isolated from other pods and the node.
var safeSysctls = map[string]bool{
	"kernel.shm_rmid_forced": true, "net.ipv4.ip_local_port_range": true, "net.ipv4.ip_unprivileged_port_start": true,
	"net.ipv4.tcp_syncookies": true, "net.ipv4.ping_group_range": true, "net.ipv4.ip_local_reserved_ports": true,
	"net.ipv4.tcp_keepalive_time": true, "net.ipv4.tcp_fin_timeout": true, "net.ipv4.tcp_keepalive_intvl": true,
	"net.ipv4.tcp_keepalive_probes": true,
}

func checkSysctls() Check {
	return podCheck(Check{
		ID:       CheckPodSysctls,
		Title:    "Pod sets unsafe sysctls",
		Severity: sextant.SeverityMedium,
		Rationale: "Sysctls outside the safe set are not isolated per pod: they change the kernel for every pod " +
			"on the node or let one pod starve the others.",
		Mappings: []string{pssBaseline + "Sysctls", nsaPodSecurity},
	}, func(t *podTarget) []Violation {
		sc := t.spec.SecurityContext
		if sc == nil {
			return nil
		}
		var idx []int
		var names []string
		for i, s := range sc.Sysctls {
			// The kernel accepts "/" as well as "." as the separator.
			if !safeSysctls[strings.ReplaceAll(s.Name, "/", ".")] {
				idx = append(idx, i)
				names = append(names, s.Name)
			}
		}
		if len(idx) == 0 {
			return nil
		}
		return []Violation{t.violation(CheckPodSysctls, nil,
			fmt.Sprintf("The pod sets sysctls outside the safe set: %s. Set them on the nodes that need them instead.", strings.Join(names, ", ")),
			fmt.Sprintf("securityContext.sysctls: %s at %s", strings.Join(names, ", "), t.specPath),
			&Fix{Ops: podRemoveIndexes(t.specPath+"/securityContext/sysctls", idx),
				Breaks: "The kernel keeps its defaults for " + strings.Join(names, ", ") + "; tune them on dedicated nodes if the workload needs them."})}
	})
}

// restrictedVolumes are the volume types the restricted profile allows.
var restrictedVolumes = map[string]bool{
	"configMap": true, "csi": true, "downwardAPI": true, "emptyDir": true, "ephemeral": true,
	"persistentVolumeClaim": true, "projected": true, "secret": true,
}

// podVolumeType returns the JSON name of the volume's source.
func podVolumeType(v *corev1.Volume) string {
	rv := reflect.ValueOf(&v.VolumeSource).Elem()
	rt := rv.Type()
	for i := 0; i < rv.NumField(); i++ {
		if f := rv.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			return name
		}
	}
	return ""
}

func checkVolumeTypes() Check {
	return podCheck(Check{
		ID:       CheckPodVolumeTypes,
		Title:    "Pod uses a volume type outside the restricted set",
		Severity: sextant.SeverityLow,
		Rationale: "In-tree volume types such as nfs, iscsi, rbd, cephfs or gitRepo are mounted by the kubelet " +
			"with node credentials and have a history of node escapes (gitRepo: CVE-2024-10220); the restricted " +
			"profile allows only volumes that go through a PersistentVolumeClaim, CSI or the pod's own data.",
		Mappings: []string{pssRestricted + "Volume Types", nsaPodSecurity},
	}, func(t *podTarget) []Violation {
		var out []Violation
		for i := range t.spec.Volumes {
			v := &t.spec.Volumes[i]
			typ := podVolumeType(v)
			// hostPath is CheckPodHostPath's; an empty source defaults to emptyDir.
			if typ == "" || typ == "hostPath" || restrictedVolumes[typ] {
				continue
			}
			out = append(out, t.violation(CheckPodVolumeTypes, nil,
				fmt.Sprintf("Volume %q is of type %s, outside the restricted set. Mount the storage through a PersistentVolumeClaim (or a CSI volume) instead; no automatic fix exists because the claim and its StorageClass must be created.", v.Name, typ),
				fmt.Sprintf("volumes[%d].%s at %s/volumes/%d", i, typ, t.specPath, i),
				nil))
		}
		return out
	})
}
