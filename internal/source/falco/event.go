package falco

import (
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// Event is one Falco alert, as Falco writes it with json_output and as
// Falcosidekick forwards it.
type Event struct {
	// UUID is set by Falcosidekick; Falco itself writes none.
	UUID     string    `json:"uuid,omitempty"`
	Time     time.Time `json:"time"`
	Rule     string    `json:"rule"`
	Priority Priority  `json:"priority"`
	// Source is the event source: "syscall", "k8s_audit", a plugin's name.
	Source   string   `json:"source,omitempty"`
	Hostname string   `json:"hostname,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	// Output is the rule's formatted output line. It embeds process
	// command lines and file paths: it is untrusted text.
	Output string `json:"output,omitempty"`
	// Fields are the output_fields, sanitised: a value Falco could not
	// fill in (null, "<NA>", "", or -1 and 4294967295 where syscalls were
	// dropped) is left out, numbers are written in decimal, and lists and
	// objects as compact JSON. Keys are trimmed of white space.
	Fields map[string]string `json:"fields,omitempty"`
	// Line is where the event starts in its input: the 1-based line for
	// JSON lines, the 1-based element index for a JSON array.
	Line int `json:"line"`
}

// Field returns the sanitised value of an output field, "" when Falco did
// not fill it in.
func (e *Event) Field(name string) string { return e.Fields[name] }

// first returns the first non-empty value among the fields.
func (e *Event) first(names ...string) string {
	for _, n := range names {
		if v := e.Fields[n]; v != "" {
			return v
		}
	}
	return ""
}

// Namespace returns the Kubernetes namespace of the event: the pod's for
// syscall events, the target's for Kubernetes audit events on a pod.
func (e *Event) Namespace() string {
	if ns := e.first("k8s.ns.name"); ns != "" {
		return ns
	}
	if e.auditPod() {
		return e.first("ka.target.namespace")
	}
	return ""
}

// Pod returns the pod's name: the one the event ran in, or the target of a
// Kubernetes audit event on a pod (exec, attach, port-forward).
func (e *Event) Pod() string {
	if p := e.first("k8s.pod.name"); p != "" {
		return p
	}
	if e.auditPod() {
		return e.first("ka.target.name")
	}
	return ""
}

func (e *Event) auditPod() bool { return e.Fields["ka.target.resource"] == "pods" }

// ContainerID returns the container's ID (short, as Falco gives it), ""
// for events on the host or without a container.
func (e *Event) ContainerID() string {
	id := e.first("container.id")
	if id == "host" {
		return ""
	}
	return id
}

// ContainerName returns the container's name; for an audit event on a
// pod, the container the exec or attach named.
func (e *Event) ContainerName() string {
	if e.Fields["container.id"] == "host" {
		// Falco names the host "host" in container.id and container.name.
		return ""
	}
	return e.first("container.name", "k8s.container.name", "ka.uri.param[container]")
}

// Image returns the container image's repository, tag and digest, as far
// as Falco knows them.
func (e *Event) Image() (repo, tag, digest string) {
	repo = e.first("container.image.repository")
	tag = e.first("container.image.tag")
	digest = e.first("container.image.digest")
	if repo == "" {
		// container.image is "repo:tag" in some Falco versions.
		if img := e.first("container.image"); img != "" {
			var d string
			repo, tag, d = sextant.SplitImageRef(img)
			if digest == "" {
				digest = d
			}
		}
	}
	return repo, tag, digest
}

// Process describes the process an event is about.
type Process struct {
	Name    string `json:"name,omitempty"`
	Exe     string `json:"exe,omitempty"`
	Cmdline string `json:"cmdline,omitempty"`
	// Parent is the parent process's name; ParentCmdline its command line.
	Parent        string `json:"parent,omitempty"`
	ParentCmdline string `json:"parent_cmdline,omitempty"`
	User          string `json:"user,omitempty"`
	UID           string `json:"uid,omitempty"`
	// TTY is the controlling terminal, "" or "0" for none.
	TTY string `json:"tty,omitempty"`
	CWD string `json:"cwd,omitempty"`
}

// Process returns the process the event is about (zero for events of other
// sources than syscalls).
func (e *Event) Process() Process {
	return Process{
		Name:          e.first("proc.name"),
		Exe:           e.first("proc.exepath", "proc.exe"),
		Cmdline:       e.first("proc.cmdline"),
		Parent:        e.first("proc.pname"),
		ParentCmdline: e.first("proc.pcmdline"),
		User:          e.first("user.name", "ka.user.name"),
		UID:           e.first("user.uid"),
		TTY:           e.first("proc.tty"),
		CWD:           e.first("proc.cwd"),
	}
}

// Connection is the network endpoint an event names.
type Connection struct {
	// Address is the remote IP address or name; Port its port (0: unknown).
	Address string `json:"address"`
	Port    int    `json:"port,omitempty"`
	Proto   string `json:"proto,omitempty"`
	// Name is the remote host name when Falco resolved it.
	Name string `json:"name,omitempty"`
}

// Connection returns the remote end of the event's network connection,
// from fd.rip/fd.rport or from fd.name ("10.0.0.5:43812->10.96.0.1:443"),
// and false when the event names none.
func (e *Event) Connection() (Connection, bool) {
	c := Connection{Proto: e.first("fd.l4proto"), Name: e.first("fd.sip.name", "fd.rip.name")}
	if ip := e.first("fd.rip", "fd.sip"); ip != "" {
		c.Address = ip
		c.Port = atoiPort(e.first("fd.rport", "fd.sport"))
		return c, true
	}
	name := e.first("fd.name")
	_, remote, ok := strings.Cut(name, "->")
	if !ok {
		return Connection{}, false
	}
	host, port := splitHostPort(remote)
	if host == "" {
		return Connection{}, false
	}
	c.Address, c.Port = host, atoiPort(port)
	return c, true
}

// File returns the file the event is about: fd.name when it is a path.
func (e *Event) File() string {
	for _, n := range []string{"fd.name", "evt.arg.pathname", "evt.arg.path", "evt.arg.name", "evt.arg.target", "fs.path.name"} {
		if v := e.Fields[n]; strings.HasPrefix(v, "/") {
			return v
		}
	}
	return ""
}

// splitHostPort splits "1.2.3.4:443" and "[::1]:443"; an IPv6 address
// without brackets keeps its last colon-separated part as the port only
// when it is numeric.
func splitHostPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i > 0 {
			return s[1:i], strings.TrimPrefix(s[i+1:], ":")
		}
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

func atoiPort(s string) int {
	n := 0
	if s == "" || len(s) > 5 {
		return 0
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0
	}
	return n
}

// MITRE returns the event's MITRE ATT&CK tags: technique IDs ("T1059",
// "T1557.002") and tactics ("mitre_execution").
func (e *Event) MITRE() []string {
	var out []string
	for _, t := range e.Tags {
		if isTechnique(t) || strings.HasPrefix(strings.ToLower(t), "mitre_") {
			out = append(out, t)
		}
	}
	return out
}

// isTechnique reports whether t is a MITRE ATT&CK technique ID: T and four
// digits, optionally a dot and three digits.
func isTechnique(t string) bool {
	if len(t) != 5 && len(t) != 9 || t[0] != 'T' {
		return false
	}
	for i := 1; i < len(t); i++ {
		c := t[i]
		if i == 5 {
			if c != '.' {
				return false
			}
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
