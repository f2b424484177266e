package policydraft

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sextant-dev/sextant"
)

// Kind is one kind of rule a policy can hold.
type Kind string

// The rule kinds sextant drafts.
const (
	RunAsNonRoot                Kind = "run-as-non-root"
	DisallowPrivileged          Kind = "disallow-privileged"
	DisallowPrivilegeEscalation Kind = "disallow-privilege-escalation"
	DisallowHostNetwork         Kind = "disallow-host-network"
	DisallowHostPID             Kind = "disallow-host-pid"
	DisallowHostIPC             Kind = "disallow-host-ipc"
	DisallowHostPath            Kind = "disallow-host-path"
	DisallowLatestTag           Kind = "disallow-latest-tag"
	RequireResourceLimits       Kind = "require-resource-limits"
	RestrictRegistries          Kind = "restrict-registries"
	RequireDropAll              Kind = "require-drop-all"
	RestrictCapabilities        Kind = "restrict-capabilities"
	DisallowCapabilities        Kind = "disallow-capabilities"
	RequireReadOnlyRootFS       Kind = "require-read-only-root-fs"
)

// Supported describes a rule kind: what it forbids or requires, and a
// request the parser understands as it.
type Supported struct {
	Kind        Kind
	Description string
	Example     string
}

// supported lists the rule kinds in the order policies hold them.
var supported = []Supported{
	{RunAsNonRoot, "containers must not run as root (runAsNonRoot true, runAsUser not 0)", "no container may run as root"},
	{DisallowPrivileged, "no privileged containers", "disallow privileged containers"},
	{DisallowPrivilegeEscalation, "containers must set allowPrivilegeEscalation: false", "no privilege escalation"},
	{DisallowHostNetwork, "pods must not use the host's network (hostNetwork)", "no pod may use the host network"},
	{DisallowHostPID, "pods must not share the host's process namespace (hostPID)", "no host PID"},
	{DisallowHostIPC, "pods must not share the host's IPC namespace (hostIPC)", "no host IPC"},
	{DisallowHostPath, "pods must not mount hostPath volumes", "no hostPath volumes"},
	{DisallowLatestTag, "images must have a tag (or digest) other than latest", "no latest tag"},
	{RequireResourceLimits, "containers must set CPU and memory limits (or those named)", "containers must have memory limits"},
	{RestrictRegistries, "images must come from the registries named", "images must come from registry.example.com or ghcr.io/acme"},
	{RequireDropAll, "containers must drop ALL capabilities", "containers must drop all capabilities"},
	{RestrictCapabilities, "containers may add no capabilities but those named", "no capabilities may be added except NET_BIND_SERVICE"},
	{DisallowCapabilities, "containers must not add the capabilities named", "no container may add SYS_ADMIN or NET_ADMIN"},
	{RequireReadOnlyRootFS, "containers must have a read-only root filesystem", "containers must use a read-only root filesystem"},
}

// SupportedKinds returns what the parser understands, in order.
func SupportedKinds() []Supported { return slices.Clone(supported) }

// Intent is what a policy request means: the rules, and the namespaces
// they apply in. It is the structure a model may propose (as JSON, field
// names as below); the policies are always generated from it by code.
type Intent struct {
	Rules []Rule `json:"rules"`
	// Namespaces limit the policy to these namespaces; none: all.
	Namespaces []string `json:"namespaces,omitempty"`
	// ExcludeNamespaces exempt these namespaces.
	ExcludeNamespaces []string `json:"exclude_namespaces,omitempty"`
}

// Rule is one rule of an intent.
type Rule struct {
	Kind Kind `json:"kind"`
	// Registries are the allowed image prefixes (restrict-registries):
	// "registry.example.com", "ghcr.io/acme".
	Registries []string `json:"registries,omitempty"`
	// Capabilities are the capabilities allowed (restrict-capabilities)
	// or forbidden (disallow-capabilities), upper case without CAP_.
	Capabilities []string `json:"capabilities,omitempty"`
	// Resources are the resources that need limits (require-resource-
	// limits): cpu, memory.
	Resources []string `json:"resources,omitempty"`
	// Requests also requires requests for them.
	Requests bool `json:"requests,omitempty"`
}

// String describes the intent in one line: "run-as-non-root in namespace
// payments".
func (in Intent) String() string {
	var rules []string
	for _, r := range in.Rules {
		rules = append(rules, r.String())
	}
	s := strings.Join(rules, "; ")
	switch len(in.Namespaces) {
	case 0:
		s += " in every namespace"
	case 1:
		s += " in namespace " + in.Namespaces[0]
	default:
		s += " in namespaces " + strings.Join(in.Namespaces, ", ")
	}
	if len(in.ExcludeNamespaces) > 0 {
		s += " except " + strings.Join(in.ExcludeNamespaces, ", ")
	}
	return s
}

// String describes the rule: "restrict-registries (registry.example.com)".
func (r Rule) String() string {
	var args []string
	args = append(args, r.Registries...)
	args = append(args, r.Capabilities...)
	args = append(args, r.Resources...)
	if r.Requests {
		args = append(args, "with requests")
	}
	if len(args) == 0 {
		return string(r.Kind)
	}
	return string(r.Kind) + " (" + strings.Join(args, ", ") + ")"
}

// Name returns the name of the policies drafted from the intent:
// "sextant-" and the rule kinds, shortened with a digest when long.
func (in Intent) Name() string {
	var kinds []string
	for _, r := range in.Rules {
		kinds = append(kinds, string(r.Kind))
	}
	name := "sextant-" + strings.Join(kinds, "-")
	if len(in.Namespaces) == 1 {
		name += "-" + in.Namespaces[0]
	}
	if len(name) > 55 {
		name = fmt.Sprintf("sextant-%s-%s", kinds[0], shortDigest(in.String()))
		if len(name) > 55 {
			name = "sextant-policy-" + shortDigest(in.String())
		}
	}
	return name
}

var (
	dnsLabelRE = regexp.MustCompile(`^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$`)
	// registryRE is an image prefix: a host (with a dot or a port, or
	// localhost), then optional path segments.
	registryRE = regexp.MustCompile(`^(?:localhost(?::\d+)?|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+(?::\d+)?)(?:/[a-z0-9][a-z0-9._-]*)*$`)
)

// Validate checks an intent, however it was made (the parser, a model, a
// file): known rule kinds, each once, with the arguments their kind needs
// and no others, valid namespace names, registry prefixes and capability
// names. It normalises capabilities (upper case, no CAP_) and sorts
// lists. Errors are EINVALID.
func (in *Intent) Validate() error {
	bad := func(format string, a ...any) error {
		return sextant.Errorf(sextant.EINVALID, "policy intent: "+format, a...)
	}
	if len(in.Rules) == 0 {
		return bad("no rules")
	}
	seen := map[Kind]bool{}
	for i := range in.Rules {
		r := &in.Rules[i]
		if !slices.ContainsFunc(supported, func(s Supported) bool { return s.Kind == r.Kind }) {
			return bad("unknown rule kind %q", r.Kind)
		}
		if seen[r.Kind] {
			return bad("rule %s appears twice", r.Kind)
		}
		seen[r.Kind] = true
		if r.Kind != RestrictRegistries && len(r.Registries) > 0 {
			return bad("%s takes no registries", r.Kind)
		}
		if r.Kind != RestrictCapabilities && r.Kind != DisallowCapabilities && len(r.Capabilities) > 0 {
			return bad("%s takes no capabilities", r.Kind)
		}
		if r.Kind != RequireResourceLimits && (len(r.Resources) > 0 || r.Requests) {
			return bad("%s takes no resources", r.Kind)
		}
		switch r.Kind {
		case RestrictRegistries:
			if len(r.Registries) == 0 {
				return bad("restrict-registries needs the allowed registries")
			}
			for j, reg := range r.Registries {
				reg = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(reg)), "/")
				if !registryRE.MatchString(reg) {
					return bad("%q is not a registry (host[:port][/path])", r.Registries[j])
				}
				r.Registries[j] = reg
			}
		case RestrictCapabilities, DisallowCapabilities:
			if r.Kind == DisallowCapabilities && len(r.Capabilities) == 0 {
				return bad("disallow-capabilities needs the capabilities to forbid")
			}
			for j, c := range r.Capabilities {
				c = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(c)), "CAP_")
				if !slices.Contains(capabilities, c) {
					return bad("%q is not a Linux capability", r.Capabilities[j])
				}
				r.Capabilities[j] = c
			}
		case RequireResourceLimits:
			if len(r.Resources) == 0 {
				r.Resources = []string{"cpu", "memory"}
			}
			for j, res := range r.Resources {
				res = strings.ToLower(strings.TrimSpace(res))
				if res != "cpu" && res != "memory" {
					return bad("resource %q: want cpu or memory", r.Resources[j])
				}
				r.Resources[j] = res
			}
		}
		r.Registries = sortedUnique(r.Registries)
		r.Capabilities = sortedUnique(r.Capabilities)
		r.Resources = sortedUnique(r.Resources)
	}
	if seen[RestrictCapabilities] && seen[DisallowCapabilities] {
		return bad("restrict-capabilities (an allow list) and disallow-capabilities (a deny list) together: keep one")
	}
	slices.SortStableFunc(in.Rules, func(a, b Rule) int { return kindIndex(a.Kind) - kindIndex(b.Kind) })
	for _, list := range []*[]string{&in.Namespaces, &in.ExcludeNamespaces} {
		for j, ns := range *list {
			ns = strings.ToLower(strings.TrimSpace(ns))
			if !dnsLabelRE.MatchString(ns) {
				return bad("%q is not a namespace name", (*list)[j])
			}
			(*list)[j] = ns
		}
		*list = sortedUnique(*list)
	}
	for _, ns := range in.ExcludeNamespaces {
		if slices.Contains(in.Namespaces, ns) {
			return bad("namespace %s is both included and excluded", ns)
		}
	}
	if len(in.Namespaces) > 0 && len(in.ExcludeNamespaces) > 0 {
		// Exclusions only matter outside an explicit list; dropping them
		// keeps the policies simple and says the same.
		in.ExcludeNamespaces = nil
	}
	return nil
}

func kindIndex(k Kind) int {
	return slices.IndexFunc(supported, func(s Supported) bool { return s.Kind == k })
}

func sortedUnique(xs []string) []string {
	if len(xs) == 0 {
		return nil
	}
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}

// capabilities are the Linux capabilities, without CAP_.
var capabilities = []string{
	"AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND", "BPF", "CHECKPOINT_RESTORE", "CHOWN",
	"DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE",
	"LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_BROADCAST",
	"NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYSLOG", "SYS_ADMIN", "SYS_BOOT",
	"SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO", "SYS_RESOURCE",
	"SYS_TIME", "SYS_TTY_CONFIG", "WAKE_ALARM", "ALL",
}
