// Package runtime is sextant's runtime investigation copilot: it turns
// Falco alerts into incidents, says what each one is, and drafts what to do
// about it.
//
// Investigate groups events into incidents by the pod and container (or
// host and container) they happened in, within a sliding time window;
// enriches each with its Kubernetes workload (owner, exposure, privilege,
// NetworkPolicies) and its image's vulnerabilities; classifies it with
// deterministic, documented rules (known-benign against a learned
// baseline, malicious, suspicious or benign, with a confidence and the
// signals that drove it); drafts containment (a quarantine NetworkPolicy,
// kubectl label and cordon commands, forensic capture commands) as text
// that sextant never runs; and writes a narrative, offline by default.
//
// Decisions are made in code before any narrative is written: the words of
// a model never change a verdict, a confidence or a draft. Text from the
// events (command lines, file paths, Falco's output lines, pod
// annotations) is untrusted: it is fenced as data in prompts and grounds
// nothing. docs/runtime.md describes the rules.
package runtime

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/sextant-dev/sextant/internal/source/falco"
)

// DefaultWindow is the longest quiet gap within one incident: an event
// more than this after the previous event of the same subject starts a
// new incident.
const DefaultWindow = 10 * time.Minute

// Limits on what one incident lists, to keep outputs and prompts bounded.
// Counts always cover everything.
const (
	maxTimeline     = 50
	maxProcesses    = 25
	maxDestinations = 25
	maxFiles        = 25
	maxCmdline      = 1024
)

// Verdict is what an incident is judged to be.
type Verdict string

// The verdicts, from most to least alarming.
const (
	Malicious   Verdict = "malicious"
	Suspicious  Verdict = "suspicious"
	Benign      Verdict = "benign"
	KnownBenign Verdict = "known-benign"
)

// Rank orders verdicts: malicious highest, known-benign lowest.
func (v Verdict) Rank() int {
	switch v {
	case Malicious:
		return 3
	case Suspicious:
		return 2
	case Benign:
		return 1
	}
	return 0
}

// ParseVerdict reads a verdict's name.
func ParseVerdict(s string) (Verdict, bool) {
	switch v := Verdict(strings.ToLower(strings.TrimSpace(s))); v {
	case Malicious, Suspicious, Benign, KnownBenign:
		return v, true
	}
	return "", false
}

// Subject is what an incident happened to: a container in a pod, a
// container on a host, or a host.
type Subject struct {
	Namespace string `json:"namespace,omitempty"`
	Pod       string `json:"pod,omitempty"`
	// Container is the container's name, ContainerID its ID.
	Container   string `json:"container,omitempty"`
	ContainerID string `json:"container_id,omitempty"`
	// Image is the image reference as Falco knows it (repository:tag).
	Image string `json:"image,omitempty"`
	// Hostname is the host Falco ran on (the node, in Kubernetes).
	Hostname string `json:"hostname,omitempty"`
	// Source is the event source of incidents on a host without a
	// container ("syscall", "k8s_audit", a plugin's).
	Source string `json:"source,omitempty"`
}

// String names the subject for people: "pod shop/web-7d9-x2 container
// web", "container eventgen on host node-1", "host node-1 (k8s_audit)".
func (s Subject) String() string {
	c := s.Container
	if c == "" && s.ContainerID != "" {
		c = s.ContainerID
	}
	switch {
	case s.Pod != "" && c != "":
		return fmt.Sprintf("pod %s/%s container %s", s.Namespace, s.Pod, c)
	case s.Pod != "":
		return fmt.Sprintf("pod %s/%s", s.Namespace, s.Pod)
	case c != "" && s.Hostname != "":
		return fmt.Sprintf("container %s on host %s", c, s.Hostname)
	case c != "":
		return "container " + c
	case s.Hostname != "" && s.Source != "":
		return fmt.Sprintf("host %s (%s)", s.Hostname, s.Source)
	case s.Hostname != "":
		return "host " + s.Hostname
	case s.Source != "":
		return "unknown host (" + s.Source + ")"
	}
	return "unknown host"
}

// key is the grouping key: the pod's namespace, name and container (by
// name: a restarted container keeps its name, not its ID), or, without a
// pod, the host and container (by ID), or the host and event source.
func (s Subject) key() string {
	if s.Pod != "" {
		c := s.Container
		if c == "" {
			c = s.ContainerID
		}
		return "pod\x00" + s.Namespace + "\x00" + s.Pod + "\x00" + c
	}
	c := s.ContainerID
	if c == "" {
		c = s.Container
	}
	if c != "" {
		return "container\x00" + s.Hostname + "\x00" + c
	}
	return "host\x00" + s.Hostname + "\x00" + s.Source
}

// Incident is a run of events on one subject with no gap longer than the
// window. Its JSON form is part of the sextant.investigate/v1 output
// (docs/runtime.md).
type Incident struct {
	// ID is stable for the same subject and first event.
	ID         string    `json:"id"`
	Subject    Subject   `json:"subject"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	EventCount int       `json:"event_count"`
	// Priority is the highest Falco priority among the events.
	Priority     falco.Priority `json:"priority"`
	Rules        []RuleCount    `json:"rules"`
	Processes    []ProcessSeen  `json:"processes,omitempty"`
	Destinations []Destination  `json:"destinations,omitempty"`
	Files        []FileSeen     `json:"files,omitempty"`
	// MITRE lists the ATT&CK techniques and tactics the rules are tagged
	// with.
	MITRE []string `json:"mitre,omitempty"`
	// Timeline is the events in order, the first 50.
	Timeline []Step `json:"timeline"`

	Workload *WorkloadInfo `json:"workload,omitempty"`
	Vulns    *ImageVulns   `json:"image_vulnerabilities,omitempty"`

	Verdict Verdict `json:"verdict"`
	// Confidence in the verdict, 0 to 1.
	Confidence float64 `json:"confidence"`
	// Severity ranks incidents of one verdict, 0 to 100.
	Severity int      `json:"severity"`
	Signals  []Signal `json:"signals"`
	// Baseline lists the baseline entries the incident's behaviour
	// matched (all of them for a known-benign incident).
	Baseline []BaselineMatch `json:"baseline,omitempty"`
	// Drafts are containment and forensic steps, as text: sextant never
	// runs them.
	Drafts    []Draft    `json:"drafts,omitempty"`
	Narrative *Narrative `json:"narrative,omitempty"`

	events []*event
}

// RuleCount is how often one rule fired in an incident.
type RuleCount struct {
	Rule     string         `json:"rule"`
	Priority falco.Priority `json:"priority"`
	Count    int            `json:"count"`
}

// ProcessSeen is one process of an incident.
type ProcessSeen struct {
	Name   string `json:"name"`
	Exe    string `json:"exe,omitempty"`
	Parent string `json:"parent,omitempty"`
	User   string `json:"user,omitempty"`
	// Cmdline is untrusted text.
	Cmdline string    `json:"cmdline,omitempty"`
	Count   int       `json:"count"`
	First   time.Time `json:"first"`
}

// Destination is one network endpoint an incident's processes reached.
type Destination struct {
	Address string `json:"address"`
	Port    int    `json:"port,omitempty"`
	Proto   string `json:"proto,omitempty"`
	Name    string `json:"name,omitempty"`
	// Scope is "public", "private" (RFC 1918, unique local, CGNAT: the
	// cluster or the organisation's network), "cluster" (a cluster DNS
	// name), "loopback" or "unknown" (a name).
	Scope string `json:"scope"`
	Count int    `json:"count"`
}

// FileSeen is one file an incident's events name.
type FileSeen struct {
	// Path is untrusted text.
	Path  string   `json:"path"`
	Write bool     `json:"write,omitempty"`
	Count int      `json:"count"`
	Rules []string `json:"rules"`
}

// Step is one event of the timeline.
type Step struct {
	Time     time.Time      `json:"time"`
	Rule     string         `json:"rule"`
	Priority falco.Priority `json:"priority"`
	Process  string         `json:"process,omitempty"`
	Parent   string         `json:"parent,omitempty"`
	User     string         `json:"user,omitempty"`
	// Cmdline and File are untrusted text.
	Cmdline     string `json:"cmdline,omitempty"`
	File        string `json:"file,omitempty"`
	Destination string `json:"destination,omitempty"`
	// Input and Line say where the event was read.
	Input string `json:"input"`
	Line  int    `json:"line"`
}

// event is one Falco event with what the rules read from it.
type event struct {
	falco.Event
	input string
	proc  falco.Process
	conn  *falco.Connection
	scope string
	file  string
	write bool
	repo  string // image repository
}

func newEvent(e falco.Event, input string) *event {
	ev := &event{Event: e, input: input, proc: e.Process(), file: e.File()}
	ev.proc.Cmdline = clip(ev.proc.Cmdline, maxCmdline)
	if c, ok := e.Connection(); ok {
		ev.conn = &c
		ev.scope = scopeOf(c)
	}
	ev.write = ev.file != "" && isWrite(&ev.Event)
	ev.repo, _, _ = e.Image()
	return ev
}

// subject returns the event's subject.
func (e *event) subject() Subject {
	s := Subject{
		Namespace:   e.Namespace(),
		Pod:         e.Pod(),
		Container:   e.ContainerName(),
		ContainerID: e.ContainerID(),
		Hostname:    e.Hostname,
	}
	if s.Hostname == "" {
		s.Hostname = e.Field("evt.hostname")
	}
	if s.Pod != "" && e.Field("k8s.pod.name") == "" {
		// A Kubernetes audit event about the pod: the host is the one
		// that ran Falco's audit plugin, not the pod's node.
		s.Hostname = ""
	}
	repo, tag, digest := e.Image()
	s.Image = imageRef(repo, tag, digest)
	if s.Pod == "" && s.Container == "" && s.ContainerID == "" {
		s.Source = e.Source
		if s.Source == "" {
			s.Source = e.Field("evt.source")
		}
	}
	return s
}

func imageRef(repo, tag, digest string) string {
	ref := repo
	if ref != "" && tag != "" {
		ref += ":" + tag
	}
	if ref != "" && digest != "" {
		ref += "@" + digest
	}
	return ref
}

// isWrite tells a write from a read: by the open flags, the syscall, or
// the rule's name.
func isWrite(e *falco.Event) bool {
	flags := e.Field("evt.arg.flags")
	if strings.Contains(flags, "O_WRONLY") || strings.Contains(flags, "O_RDWR") || strings.Contains(flags, "O_CREAT") || strings.Contains(flags, "O_TRUNC") {
		return true
	}
	switch e.Field("evt.type") {
	case "rename", "renameat", "renameat2", "unlink", "unlinkat", "symlink", "symlinkat", "link", "linkat", "mkdir", "mkdirat", "rmdir", "chmod", "fchmod", "fchmodat", "truncate", "ftruncate":
		return true
	}
	r := strings.ToLower(e.Rule)
	for _, w := range []string{"write", "modif", "creat", "delet", "remov", "rename", "symlink", "hardlink", "drop"} {
		if strings.Contains(r, w) {
			return true
		}
	}
	return false
}

// scopeOf says where a connection goes.
func scopeOf(c falco.Connection) string {
	if a, err := netip.ParseAddr(c.Address); err == nil {
		a = a.Unmap()
		switch {
		case a.IsLoopback():
			return "loopback"
		case a.IsPrivate() || a.IsLinkLocalUnicast() || cgnat.Contains(a):
			return "private"
		case a.IsUnspecified() || a.IsMulticast():
			return "unknown"
		}
		return "public"
	}
	name := strings.ToLower(strings.TrimSuffix(c.Address, "."))
	for _, suf := range []string{".svc", ".svc.cluster.local", ".cluster.local"} {
		if strings.HasSuffix(name, suf) {
			return "cluster"
		}
	}
	if name == "localhost" {
		return "loopback"
	}
	return "unknown"
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// group sorts the events by time (input order among equals) and cuts them
// into incidents.
func group(events []*event, window time.Duration) []*Incident {
	if window <= 0 {
		window = DefaultWindow
	}
	slices.SortStableFunc(events, func(a, b *event) int { return a.Time.Compare(b.Time) })
	open := map[string]*Incident{}
	var out []*Incident
	for _, e := range events {
		s := e.subject()
		k := s.key()
		inc := open[k]
		if inc == nil || e.Time.Sub(inc.End) > window || inc.End.IsZero() != e.Time.IsZero() {
			inc = &Incident{Subject: s, Start: e.Time}
			open[k] = inc
			out = append(out, inc)
		}
		inc.End = e.Time
		inc.events = append(inc.events, e)
		// A later event may know more of the subject (the image, a
		// container name): keep the first value of each field.
		fill(&inc.Subject, s)
	}
	for _, inc := range out {
		inc.summarise()
	}
	return out
}

func fill(dst *Subject, src Subject) {
	for _, p := range [...]struct {
		d *string
		s string
	}{
		{&dst.Container, src.Container}, {&dst.ContainerID, src.ContainerID}, {&dst.Image, src.Image}, {&dst.Hostname, src.Hostname},
	} {
		if *p.d == "" {
			*p.d = p.s
		}
	}
}

// summarise fills in the incident's ID and aggregates from its events.
func (inc *Incident) summarise() {
	h := sha256.New()
	h.Write([]byte("sextant.incident/v1\x00" + inc.Subject.key() + "\x00" + inc.Start.UTC().Format(time.RFC3339Nano)))
	inc.ID = "inc_" + hex.EncodeToString(h.Sum(nil)[:8])
	inc.EventCount = len(inc.events)

	rules := map[string]*RuleCount{}
	procs := map[[4]string]*ProcessSeen{}
	dests := map[string]*Destination{}
	files := map[string]*FileSeen{}
	mitre := map[string]bool{}
	for _, e := range inc.events {
		if e.Priority > inc.Priority {
			inc.Priority = e.Priority
		}
		rc := rules[e.Rule]
		if rc == nil {
			rc = &RuleCount{Rule: e.Rule, Priority: e.Priority}
			rules[e.Rule] = rc
		}
		rc.Count++
		rc.Priority = max(rc.Priority, e.Priority)
		if p := e.proc; p.Name != "" {
			k := [4]string{p.Name, p.Parent, p.Cmdline, p.User}
			ps := procs[k]
			if ps == nil {
				ps = &ProcessSeen{Name: p.Name, Exe: p.Exe, Parent: p.Parent, User: p.User, Cmdline: p.Cmdline, First: e.Time}
				procs[k] = ps
			}
			ps.Count++
		}
		if c := e.conn; c != nil {
			k := fmt.Sprintf("%s\x00%d\x00%s", c.Address, c.Port, c.Proto)
			d := dests[k]
			if d == nil {
				d = &Destination{Address: c.Address, Port: c.Port, Proto: c.Proto, Name: c.Name, Scope: e.scope}
				dests[k] = d
			}
			d.Count++
		}
		if e.file != "" {
			f := files[e.file]
			if f == nil {
				f = &FileSeen{Path: e.file}
				files[e.file] = f
			}
			f.Count++
			f.Write = f.Write || e.write
			if !slices.Contains(f.Rules, e.Rule) {
				f.Rules = append(f.Rules, e.Rule)
			}
		}
		for _, t := range e.MITRE() {
			mitre[t] = true
		}
		if len(inc.Timeline) < maxTimeline {
			st := Step{Time: e.Time, Rule: e.Rule, Priority: e.Priority, Process: e.proc.Name, Parent: e.proc.Parent,
				User: e.proc.User, Cmdline: e.proc.Cmdline, File: e.file, Input: e.input, Line: e.Line}
			if e.conn != nil {
				st.Destination = hostPort(e.conn.Address, e.conn.Port)
			}
			inc.Timeline = append(inc.Timeline, st)
		}
	}
	for _, rc := range rules {
		inc.Rules = append(inc.Rules, *rc)
	}
	slices.SortFunc(inc.Rules, func(a, b RuleCount) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), cmp.Compare(b.Count, a.Count), strings.Compare(a.Rule, b.Rule))
	})
	for _, p := range procs {
		inc.Processes = append(inc.Processes, *p)
	}
	slices.SortFunc(inc.Processes, func(a, b ProcessSeen) int {
		return cmp.Or(a.First.Compare(b.First), strings.Compare(a.Name, b.Name), strings.Compare(a.Cmdline, b.Cmdline), strings.Compare(a.Parent, b.Parent), strings.Compare(a.User, b.User))
	})
	inc.Processes = inc.Processes[:min(len(inc.Processes), maxProcesses)]
	for _, d := range dests {
		inc.Destinations = append(inc.Destinations, *d)
	}
	slices.SortFunc(inc.Destinations, func(a, b Destination) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Address, b.Address), cmp.Compare(a.Port, b.Port), strings.Compare(a.Proto, b.Proto))
	})
	inc.Destinations = inc.Destinations[:min(len(inc.Destinations), maxDestinations)]
	for _, f := range files {
		inc.Files = append(inc.Files, *f)
	}
	slices.SortFunc(inc.Files, func(a, b FileSeen) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Path, b.Path))
	})
	inc.Files = inc.Files[:min(len(inc.Files), maxFiles)]
	for t := range mitre {
		inc.MITRE = append(inc.MITRE, t)
	}
	slices.Sort(inc.MITRE)
}

func hostPort(addr string, port int) string {
	if strings.Contains(addr, ":") {
		addr = "[" + addr + "]"
	}
	if port == 0 {
		return addr
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
