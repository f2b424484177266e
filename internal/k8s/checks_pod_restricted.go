package k8s

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/sextant-dev/sextant"
)

func checkPrivilegeEscalation() Check {
	return podCheck(Check{
		ID:       CheckPodPrivilegeEscalation,
		Title:    "Container allows privilege escalation",
		Severity: sextant.SeverityMedium,
		Rationale: "Unless allowPrivilegeEscalation is false, the no_new_privs flag is not set and a process can " +
			"gain privileges through setuid binaries or file capabilities, turning a non-root foothold into root.",
		Mappings: []string{pssRestricted + "Privilege Escalation", "CIS 5.2.6", nsaNonRoot,
			"Polaris: privilegeEscalationAllowed", "kubesec: AllowPrivilegeEscalation"},
	}, func(t *podTarget) []Violation {
		if t.windows() {
			return nil
		}
		var out []Violation
		for _, pc := range t.containers(allContainers...) {
			sc := pc.c.SecurityContext
			if sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
				continue
			}
			ev := "securityContext.allowPrivilegeEscalation unset at " + pc.path()
			if sc != nil && sc.AllowPrivilegeEscalation != nil {
				ev = "securityContext.allowPrivilegeEscalation: true at " + pc.path()
			}
			fix := &Fix{
				Ops:    pc.scOps(podKV{"allowPrivilegeEscalation", false, sc != nil && sc.AllowPrivilegeEscalation != nil}),
				Breaks: "setuid programs (sudo, su, ping in older images) no longer gain privileges.",
			}
			// The API refuses allowPrivilegeEscalation: false together with
			// privileged: true or CAP_SYS_ADMIN.
			var comp []string
			if sc != nil && podIsTrue(sc.Privileged) {
				fix.Ops = append(fix.Ops, PatchOp{Op: "replace", Path: pc.path() + "/securityContext/privileged", Value: false})
				comp = append(comp, "privileged: false")
			}
			if idx, _ := podAddedCaps(pc, func(c string) bool { return c == "SYS_ADMIN" }); len(idx) > 0 {
				fix.Ops = append(fix.Ops, podRemoveIndexes(pc.path()+"/securityContext/capabilities/add", idx)...)
				comp = append(comp, "SYS_ADMIN removed from capabilities.add")
			}
			if len(comp) > 0 {
				fix.Companion = "Also sets " + strings.Join(comp, " and ") + ": the API rejects allowPrivilegeEscalation: false on a privileged or CAP_SYS_ADMIN container."
			}
			out = append(out, t.violation(CheckPodPrivilegeEscalation, &pc,
				fmt.Sprintf("Container %q does not set allowPrivilegeEscalation: false, so its processes can gain privileges through setuid binaries.", pc.c.Name),
				ev, fix))
		}
		return out
	})
}

// podRunAsUser returns the effective runAsUser of a container (its own, else
// the pod's), or nil.
func (t *podTarget) runAsUser(pc podContainer) *int64 {
	if sc := pc.c.SecurityContext; sc != nil && sc.RunAsUser != nil {
		return sc.RunAsUser
	}
	return t.podSC().RunAsUser
}

// runAsGroup returns the effective runAsGroup of a container, or nil.
func (t *podTarget) runAsGroup(pc podContainer) *int64 {
	if sc := pc.c.SecurityContext; sc != nil && sc.RunAsGroup != nil {
		return sc.RunAsGroup
	}
	return t.podSC().RunAsGroup
}

func checkRunAsNonRoot() Check {
	return podCheck(Check{
		ID:       CheckPodRunAsNonRoot,
		Title:    "Container may run as root",
		Severity: sextant.SeverityMedium,
		Rationale: "Without runAsNonRoot: true the kubelet starts the container as whatever user the image says, " +
			"often root; root in a container is one kernel bug or one misconfiguration away from root on the node.",
		Mappings: []string{pssRestricted + "Running as Non-root", "CIS 5.2.7", nsaNonRoot,
			"Polaris: runAsRootAllowed", "kubesec: RunAsNonRoot"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		breaks := fmt.Sprintf("The image must work as a non-root user (UID %d when it names none): files it writes must be group- or world-writable, and ports below 1024 need NET_BIND_SERVICE.", safeUID)
		companion := fmt.Sprintf("Also sets runAsUser: %d: the kubelet refuses to start a container under runAsNonRoot whose image user is root or not numeric.", safeUID)
		// An explicit runAsNonRoot: false on the pod is refused by the
		// restricted profile whatever the containers say; it is reported
		// once, for the containers that inherit it too.
		psc := t.podSC()
		podFalse := psc.RunAsNonRoot != nil && !*psc.RunAsNonRoot
		if podFalse {
			kvs := []podKV{{"runAsNonRoot", true, true}}
			fix := &Fix{Breaks: breaks}
			if u := psc.RunAsUser; (u == nil || *u == 0) && !t.windows() {
				kvs = append(kvs, podKV{"runAsUser", safeUID, u != nil})
				fix.Companion = companion
			}
			fix.Ops = t.podSCOps(kvs...)
			out = append(out, t.violation(CheckPodRunAsNonRoot, nil,
				"The pod sets runAsNonRoot: false: its containers may run as root.",
				"securityContext.runAsNonRoot: false at "+t.specPath, fix))
		}
		for _, pc := range t.containers(allContainers...) {
			sc := pc.c.SecurityContext
			own := sc != nil && sc.RunAsNonRoot != nil
			if (own && *sc.RunAsNonRoot) || (!own && (podFalse || podIsTrue(psc.RunAsNonRoot))) {
				continue
			}
			kvs := []podKV{{"runAsNonRoot", true, own}}
			fix := &Fix{Breaks: breaks}
			if u := t.runAsUser(pc); (u == nil || *u == 0) && !t.windows() {
				kvs = append(kvs, podKV{"runAsUser", safeUID, sc != nil && sc.RunAsUser != nil})
				fix.Companion = companion
			}
			fix.Ops = pc.scOps(kvs...)
			ev := "securityContext.runAsNonRoot unset at " + pc.path() + " and at " + t.specPath
			if own {
				ev = "securityContext.runAsNonRoot: false at " + pc.path()
			}
			out = append(out, t.violation(CheckPodRunAsNonRoot, &pc,
				fmt.Sprintf("Container %q may run as root: runAsNonRoot is not true for it.", pc.c.Name), ev, fix))
		}
		return out
	})
}

func checkRunAsRootUser() Check {
	return podCheck(Check{
		ID:        CheckPodRunAsRootUser,
		Title:     "Container runs as UID 0",
		Severity:  sextant.SeverityHigh,
		Rationale: "runAsUser: 0 runs the process as root explicitly, whatever the image says.",
		Mappings: []string{pssRestricted + "Running as Non-root user", "CIS 5.2.7", nsaNonRoot,
			"kube-score: container-security-context-user-group-id", "kubesec: RunAsUser"},
	}, func(t *podTarget) []Violation {
		var out []Violation
		breaks := fmt.Sprintf("The image must work as UID %d: files it writes must be writable by that user.", safeUID)
		if u := t.podSC().RunAsUser; u != nil && *u == 0 {
			out = append(out, t.violation(CheckPodRunAsRootUser, nil,
				"The pod runs its containers as UID 0 (root).",
				"securityContext.runAsUser: 0 at "+t.specPath,
				&Fix{Ops: []PatchOp{{Op: "replace", Path: t.specPath + "/securityContext/runAsUser", Value: safeUID}}, Breaks: breaks}))
		}
		for _, pc := range t.containers(allContainers...) {
			if sc := pc.c.SecurityContext; sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
				out = append(out, t.violation(CheckPodRunAsRootUser, &pc,
					fmt.Sprintf("Container %q runs as UID 0 (root).", pc.c.Name),
					"securityContext.runAsUser: 0 at "+pc.path(),
					&Fix{Ops: []PatchOp{{Op: "replace", Path: pc.path() + "/securityContext/runAsUser", Value: safeUID}}, Breaks: breaks}))
			}
		}
		return out
	})
}

func checkSeccompMissing() Check {
	return podCheck(Check{
		ID:       CheckPodSeccompMissing,
		Title:    "No seccomp profile (RuntimeDefault) set",
		Severity: sextant.SeverityLow,
		Rationale: "Unless a profile is set, the kubelet runs containers Unconfined (the SeccompDefault " +
			"feature is off by default): every system call is allowed, including those behind most kernel exploits.",
		Mappings: []string{pssRestricted + "Seccomp", "CIS 5.7.2", "CIS 5.7.3", nsaHardening,
			"Polaris: linuxHardening", "kube-score: container-seccomp-profile", "kubesec: SeccompAny"},
	}, func(t *podTarget) []Violation {
		if t.windows() || t.podSC().SeccompProfile != nil {
			return nil
		}
		var missing []podContainer
		for _, pc := range t.containers(allContainers...) {
			if sc := pc.c.SecurityContext; sc == nil || sc.SeccompProfile == nil {
				missing = append(missing, pc)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		return []Violation{t.violation(CheckPodSeccompMissing, nil,
			fmt.Sprintf("No seccomp profile applies to %s: they run Unconfined. Set seccompProfile RuntimeDefault for the pod.", podContainerNames(missing)),
			"securityContext.seccompProfile unset at "+t.specPath+" and at "+missing[0].path(),
			&Fix{
				Ops:    t.podSCOps(podKV{"seccompProfile", map[string]any{"type": string(corev1.SeccompProfileTypeRuntimeDefault)}, false}),
				Breaks: "System calls outside the runtime's default profile (mount, unshare, ptrace, keyctl …) fail with EPERM.",
			})}
	})
}

// podDropsAll reports whether a container drops ALL capabilities, and the
// index of a lower-case "all" entry (which the Pod Security admission does
// not accept) or -1.
func podDropsAll(pc podContainer) (ok bool, lower int) {
	lower = -1
	sc := pc.c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		return false, lower
	}
	for i, c := range sc.Capabilities.Drop {
		if c == "ALL" {
			return true, -1
		}
		if lower < 0 && strings.EqualFold(strings.TrimSpace(string(c)), "all") {
			lower = i
		}
	}
	return false, lower
}

// podLowPorts returns the container ports below 1024.
func podLowPorts(c *corev1.Container) []string {
	var out []string
	for _, p := range c.Ports {
		if p.ContainerPort > 0 && p.ContainerPort < 1024 {
			out = append(out, strconv.Itoa(int(p.ContainerPort)))
		}
	}
	return out
}

func checkDropAll() Check {
	return podCheck(Check{
		ID:       CheckPodDropAll,
		Title:    "Container does not drop all capabilities",
		Severity: sextant.SeverityMedium,
		Rationale: "The runtime's default capabilities include NET_RAW (ARP and DNS spoofing inside the node " +
			"network), DAC_OVERRIDE, SETUID and others an application rarely needs; dropping ALL and adding back " +
			"only what is needed shrinks what an attacker in the container can do.",
		Mappings: []string{pssRestricted + "Capabilities", "CIS 5.2.8", "CIS 5.2.10", nsaPodSecurity,
			"Polaris: insecureCapabilities", "kubesec: CapDropAll", "kubesec: CapDropAny"},
	}, func(t *podTarget) []Violation {
		if t.windows() {
			return nil
		}
		var out []Violation
		for _, pc := range t.containers(allContainers...) {
			ok, lower := podDropsAll(pc)
			if ok {
				continue
			}
			sc := pc.c.SecurityContext
			capsPath := pc.path() + "/securityContext/capabilities"
			var ops []PatchOp
			ev := "securityContext.capabilities.drop does not contain ALL at " + pc.path()
			switch {
			case lower >= 0:
				ops = []PatchOp{{Op: "replace", Path: fmt.Sprintf("%s/drop/%d", capsPath, lower), Value: "ALL"}}
				ev = fmt.Sprintf("securityContext.capabilities.drop[%d]: %s (lower case) at %s", lower, sc.Capabilities.Drop[lower], pc.path())
			case sc == nil:
				ops = pc.scOps(podKV{"capabilities", map[string]any{"drop": []string{"ALL"}}, false})
			case sc.Capabilities == nil:
				ops = []PatchOp{{Op: "add", Path: capsPath, Value: map[string]any{"drop": []string{"ALL"}}}}
			case sc.Capabilities.Drop == nil:
				ops = []PatchOp{{Op: "add", Path: capsPath + "/drop", Value: []string{"ALL"}}}
			default:
				ops = []PatchOp{{Op: "add", Path: capsPath + "/drop/-", Value: "ALL"}}
			}
			breaks := "The process loses the runtime's default capabilities (CHOWN, SETUID, SETGID, NET_RAW, NET_BIND_SERVICE …): images that switch users or chown files at start-up fail, and binding a port below 1024 needs NET_BIND_SERVICE added back."
			if low := podLowPorts(pc.c); len(low) > 0 {
				breaks += " This container declares port " + strings.Join(low, ", ") + ": add NET_BIND_SERVICE to capabilities.add, or move to a port of 1024 or more."
			}
			out = append(out, t.violation(CheckPodDropAll, &pc,
				fmt.Sprintf("Container %q keeps the runtime's default capabilities (including NET_RAW). Drop ALL and add back only what it needs.", pc.c.Name),
				ev, &Fix{Ops: ops, Breaks: breaks}))
		}
		return out
	})
}

func checkRestrictedCapabilities() Check {
	return podCheck(Check{
		ID:       CheckPodCapabilitiesRestrict,
		Title:    "Container adds capabilities other than NET_BIND_SERVICE",
		Severity: sextant.SeverityLow,
		Rationale: "The restricted profile allows adding back only NET_BIND_SERVICE; capabilities such as " +
			"CHOWN, DAC_OVERRIDE, SETUID or SETGID let a process ignore file permissions or change identity.",
		Mappings: []string{pssRestricted + "Capabilities", "CIS 5.2.9", nsaPodSecurity, "Polaris: insecureCapabilities"},
	}, func(t *podTarget) []Violation {
		if t.windows() {
			return nil
		}
		var out []Violation
		for _, pc := range t.containers(allContainers...) {
			// Capabilities outside the baseline set are CheckPodCapabilitiesBaseline's.
			idx, names := podAddedCaps(pc, func(c string) bool { return baselineCaps[c] && c != "NET_BIND_SERVICE" })
			if len(idx) == 0 {
				continue
			}
			out = append(out, t.violation(CheckPodCapabilitiesRestrict, &pc,
				fmt.Sprintf("Container %q adds %s; the restricted profile allows only NET_BIND_SERVICE.", pc.c.Name, strings.Join(names, ", ")),
				fmt.Sprintf("securityContext.capabilities.add: [%s] at %s", strings.Join(names, ", "), pc.path()),
				&Fix{Ops: podRemoveIndexes(pc.path()+"/securityContext/capabilities/add", idx),
					Breaks: "The process can no longer use " + strings.Join(names, ", ") + ": start-up scripts that chown files or switch users fail; do that in the image instead."}))
		}
		return out
	})
}

// tmpVolume is the name fixes give the emptyDir they mount at /tmp.
const tmpVolume = "tmp"

func checkReadOnlyRootFS() Check {
	return podCheck(Check{
		ID:       CheckPodReadOnlyRootFS,
		Title:    "Container root file system is writable",
		Severity: sextant.SeverityLow,
		Rationale: "A writable root file system lets an attacker drop tools, modify binaries and persist in the " +
			"container; an immutable one forces writes into declared volumes.",
		Mappings: []string{nsaImmutable, "CIS 5.7.3", "Polaris: notReadOnlyRootFilesystem",
			"kube-score: container-security-context-readonlyrootfilesystem", "kubesec: ReadOnlyRootFilesystem"},
	}, func(t *podTarget) []Violation {
		if t.windows() {
			return nil
		}
		var out []Violation
		for _, pc := range t.containers(runContainers...) {
			sc := pc.c.SecurityContext
			if sc != nil && podIsTrue(sc.ReadOnlyRootFilesystem) {
				continue
			}
			ops := pc.scOps(podKV{"readOnlyRootFilesystem", true, sc != nil && sc.ReadOnlyRootFilesystem != nil})
			fix := &Fix{Breaks: "The app can no longer write to its image's file system: writes outside /tmp and its volumes (caches, pid files, logs under /var) fail; mount an emptyDir where it writes."}
			if !podMountsAt(pc.c, "/tmp") {
				ops = append(ops, t.tmpOps(pc)...)
				fix.Companion = "Adds an emptyDir volume \"" + tmpVolume + "\" mounted at /tmp, so that temporary files still work."
			}
			fix.Ops = ops
			out = append(out, t.violation(CheckPodReadOnlyRootFS, &pc,
				fmt.Sprintf("Container %q can write to its root file system. Set readOnlyRootFilesystem: true and mount volumes where it writes.", pc.c.Name),
				"securityContext.readOnlyRootFilesystem not true at "+pc.path(), fix))
		}
		return out
	})
}

// podMountsAt reports whether a container mounts a volume at dir.
func podMountsAt(c *corev1.Container, dir string) bool {
	for _, m := range c.VolumeMounts {
		if strings.TrimRight(m.MountPath, "/") == dir {
			return true
		}
	}
	return false
}

// tmpOps returns the ops that mount an emptyDir at /tmp in the container,
// adding the volume unless an emptyDir of that name exists.
func (t *podTarget) tmpOps(pc podContainer) []PatchOp {
	name, exists := tmpVolume, false
	for n := 1; ; n++ {
		taken := false
		for _, v := range t.spec.Volumes {
			if v.Name == name {
				taken = true
				exists = v.EmptyDir != nil
			}
		}
		if !taken || exists {
			break
		}
		name = tmpVolume + "-" + strconv.Itoa(n+1)
	}
	var ops []PatchOp
	if !exists {
		vol := map[string]any{"name": name, "emptyDir": map[string]any{}}
		if t.spec.Volumes == nil {
			ops = append(ops, PatchOp{Op: "add", Path: t.specPath + "/volumes", Value: []any{vol}})
		} else {
			ops = append(ops, PatchOp{Op: "add", Path: t.specPath + "/volumes/-", Value: vol})
		}
	}
	mount := map[string]any{"name": name, "mountPath": "/tmp"}
	if pc.c.VolumeMounts == nil {
		ops = append(ops, PatchOp{Op: "add", Path: pc.path() + "/volumeMounts", Value: []any{mount}})
	} else {
		ops = append(ops, PatchOp{Op: "add", Path: pc.path() + "/volumeMounts/-", Value: mount})
	}
	return ops
}

func checkHighUID() Check {
	return podCheck(Check{
		ID:       CheckPodLowUID,
		Title:    "Container runs with a low or unset user/group ID",
		Severity: sextant.SeverityLow,
		Rationale: "A UID or GID below 10000 (or the image's, when unset) may match a privileged account on " +
			"the node; after a container escape the process then has that account's access to host files.",
		Mappings: []string{nsaNonRoot, "kube-score: container-security-context-user-group-id",
			"kubesec: RunAsUser", "kubesec: RunAsGroup"},
	}, func(t *podTarget) []Violation {
		if t.windows() {
			return nil
		}
		var out []Violation
		for _, pc := range t.containers(runContainers...) {
			sc := pc.c.SecurityContext
			var kvs []podKV
			var what []string
			if u := t.runAsUser(pc); u == nil || *u < 10000 {
				kvs = append(kvs, podKV{"runAsUser", safeUID, sc != nil && sc.RunAsUser != nil})
				what = append(what, "runAsUser "+podIDString(u))
			}
			if g := t.runAsGroup(pc); g == nil || *g < 10000 {
				kvs = append(kvs, podKV{"runAsGroup", safeUID, sc != nil && sc.RunAsGroup != nil})
				what = append(what, "runAsGroup "+podIDString(g))
			}
			if len(kvs) == 0 {
				continue
			}
			out = append(out, t.violation(CheckPodLowUID, &pc,
				fmt.Sprintf("Container %q runs with %s; use IDs of 10000 or more.", pc.c.Name, strings.Join(what, " and ")),
				strings.Join(what, ", ")+" at "+pc.path(),
				&Fix{Ops: pc.scOps(kvs...), Breaks: fmt.Sprintf("The image must work as UID/GID %d: files it reads and writes must be accessible to that user or group.", safeUID)}))
		}
		return out
	})
}

func podIDString(p *int64) string {
	if p == nil {
		return "unset"
	}
	return strconv.FormatInt(*p, 10)
}
