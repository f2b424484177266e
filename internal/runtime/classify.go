package runtime

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/sextant-dev/sextant/internal/source/falco"
)

// Signal is one reason behind a verdict.
type Signal struct {
	// ID names the signal (docs/runtime.md lists them).
	ID string `json:"id"`
	// Weight is the signal's strength on its own, 0 to 1.
	Weight float64 `json:"weight"`
	// Evidence says which events raised it, at most five lines.
	Evidence []string `json:"evidence"`
	// Count is how many events raised it.
	Count int `json:"count"`
}

// Signal weights. Signals combine as independent evidence: the strength
// of several is 1 − Π(1 − weight).
const (
	wCriticalPriority = 0.8
	wShellEgress      = 0.9
	wCryptoMiner      = 0.9
	wAttackTool       = 0.85
	wContainerEscape  = 0.85
	wSystemWrite      = 0.6
	wSensitiveFile    = 0.6
	wFilelessExec     = 0.6
	wMultiTactic      = 0.4
	wInteractiveShell = 0.3
	// wKnownBehaviour marks events that are explained as known, expected
	// behaviour (runc's memfd self-copy, Falco's own metrics): shown, but
	// adding nothing.
	wKnownBehaviour = 0
)

// MaliciousThreshold is the combined signal strength from which an
// incident is malicious.
const MaliciousThreshold = 0.75

// tacticWeights weigh Falco's MITRE ATT&CK tactic tags.
var tacticWeights = map[string]float64{
	"mitre_initial_access":       0.6,
	"mitre_credential_access":    0.6,
	"mitre_privilege_escalation": 0.6,
	"mitre_impact":               0.6,
	"mitre_exfiltration":         0.5,
	"mitre_command_and_control":  0.5,
	"mitre_defense_evasion":      0.5,
	"mitre_persistence":          0.5,
	"mitre_lateral_movement":     0.5,
	"mitre_collection":           0.4,
	"mitre_discovery":            0.3,
	"mitre_reconnaissance":       0.3,
	"mitre_execution":            0.2,
	"mitre_resource_development": 0.2,
}

// shells are the process names of interactive shells.
var shells = map[string]bool{
	"sh": true, "bash": true, "dash": true, "zsh": true, "ash": true, "ksh": true, "csh": true, "tcsh": true,
	"fish": true, "busybox": true, "mksh": true, "rbash": true, "rc": true,
}

// miners are crypto-miner process names; minerRE finds them and the
// Stratum protocol in command lines.
var (
	miners = map[string]bool{
		"xmrig": true, "xmr-stak": true, "minerd": true, "cpuminer": true, "cgminer": true, "bfgminer": true,
		"ethminer": true, "t-rex": true, "nbminer": true, "phoenixminer": true, "lolminer": true, "nanominer": true,
		"teamredminer": true, "gminer": true, "ccminer": true, "kdevtmpfsi": true, "kinsing": true,
	}
	minerRE = regexp.MustCompile(`(?i)stratum2?\+(?:tcp|ssl|tls)://|--donate-level|\bxmrig\b|\bcryptonight\b|\brandomx\b|\bnicehash\b|\bminexmr\b|\bsupportxmr\b|\bnanopool\b|\bmoneroocean\b`)
)

// attackTools are offensive tools by process name; attackRE finds reverse
// shells and download-and-run command lines.
var (
	attackTools = map[string]bool{
		"nmap": true, "masscan": true, "zmap": true, "hydra": true, "sqlmap": true, "nikto": true, "mimikatz": true,
		"linpeas.sh": true, "linpeas": true, "linenum.sh": true, "pspy": true, "pspy64": true, "chisel": true,
		"ngrok": true, "frpc": true, "gost": true, "deepce.sh": true, "cdk": true, "peirates": true, "botb": true,
		"kubesploit": true, "msfconsole": true, "msfvenom": true, "meterpreter": true, "sliver": true,
		"hashcat": true, "john": true, "responder": true, "crackmapexec": true, "impacket": true,
	}
	attackRE = regexp.MustCompile(`(?i)\b(?:nc|ncat|netcat|nc\.traditional|nc\.openbsd)\b[^|;&]*\s-[a-z]*[ec]\b` +
		`|/dev/(?:tcp|udp)/` +
		`|\b(?:ba|z|k|da)?sh\s+-i\b[^|;&]*[<>]&?` +
		`|\bsocat\b[^|;&]*\b(?:exec|system):` +
		`|\b(?:curl|wget)\b[^|;&]*\|\s*(?:sudo\s+)?(?:ba|z|k|da)?sh\b` +
		`|\bbase64\s+(?:-d|--decode)\b[^;&]*\|\s*(?:ba|z|k|da)?sh\b` +
		`|\b(?:python[0-9.]*|perl|ruby|php)\b[^|;&]*\bsocket\b[^|;&]*\b(?:connect|fsockopen|TCPSocket)\b` +
		`|\bmkfifo\b[^;&]*\|\s*(?:ba|z|k|da)?sh\b`)
	// escapeRuleRE finds container-escape rules by name.
	escapeRuleRE = regexp.MustCompile(`(?i)escape|release_agent|debugfs|kernel module|mount launched in privileged|privileged container device|host sensitive paths`)
	// nsenterRE finds nsenter into PID 1's namespaces: the host's.
	nsenterRE = regexp.MustCompile(`(?i)\bnsenter\b[^|;&]*(?:-t\s*1\b|--target[= ]1\b)`)
)

// systemDirs are the directories a container's processes should not write
// below.
var systemDirs = []string{"/etc/", "/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/usr/local/sbin/",
	"/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/boot/", "/root/.ssh/"}

// sensitiveFiles are the files whose reading steals credentials; each
// matches the whole path or, ending in "/", everything below.
var sensitiveFiles = []string{
	"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/sudoers.d/", "/etc/pam.d/", "/etc/security/opasswd",
	"/root/.ssh/", "/root/.aws/", "/root/.kube/", "/root/.docker/config.json",
	"/var/run/secrets/kubernetes.io/serviceaccount/", "/run/secrets/kubernetes.io/serviceaccount/",
	"/var/run/secrets/eks.amazonaws.com/", "/var/run/secrets/azure/", "/etc/kubernetes/pki/", "/etc/kubernetes/admin.conf",
	"/var/lib/kubelet/pki/", "/etc/ssh/ssh_host_",
}

// sensitiveSuffixRE finds credentials in any home directory.
var sensitiveSuffixRE = regexp.MustCompile(`/\.ssh/(?:id_[a-z0-9_]+|authorized_keys)$|/\.aws/credentials$|/\.kube/config$|/\.docker/config\.json$|/\.git-credentials$|/\.netrc$|^/proc/[0-9]+/environ$`)

// sensitivePattern returns the entry of sensitiveFiles (or the suffix
// pattern) a path matches.
func sensitivePattern(p string) (string, bool) {
	for _, s := range sensitiveFiles {
		if p == s || strings.HasSuffix(s, "/") && strings.HasPrefix(p, s) || strings.HasSuffix(s, "_") && strings.HasPrefix(p, s) {
			return s, true
		}
	}
	if m := sensitiveSuffixRE.FindString(p); m != "" {
		if strings.HasPrefix(m, "/proc/") {
			return "/proc/PID/environ", true
		}
		return "…" + m, true
	}
	return "", false
}

func systemDir(p string) (string, bool) {
	for _, d := range systemDirs {
		if strings.HasPrefix(p, d) {
			return d, true
		}
	}
	return "", false
}

// knownBehaviour explains events that are expected behaviour of the
// container runtime or of Falco itself.
func knownBehaviour(e *event) (string, bool) {
	if strings.HasPrefix(e.Rule, "Falco internal") || e.Source == "internal" {
		return "Falco's own metrics or status event", true
	}
	exe := e.proc.Exe
	if strings.HasPrefix(exe, "memfd:runc") && e.ContainerID() == "" && (e.proc.Name == ".runc" || e.proc.Name == "runc" || e.proc.Name == "exe" || e.proc.Name == "runc:[1:CHILD]") {
		return "runc re-executing itself from a memfd copy of its binary (its defence against CVE-2019-5736), outside any container", true
	}
	return "", false
}

// signals collects an incident's signals.
type signals struct {
	by    map[string]*Signal
	order []string
}

func (s *signals) add(id string, w float64, evidence string) {
	if s.by == nil {
		s.by = map[string]*Signal{}
	}
	sg := s.by[id]
	if sg == nil {
		sg = &Signal{ID: id, Weight: w}
		s.by[id] = sg
		s.order = append(s.order, id)
	}
	sg.Count++
	if len(sg.Evidence) < 5 && !slices.Contains(sg.Evidence, evidence) {
		sg.Evidence = append(sg.Evidence, evidence)
	}
}

// total counts the events added to any signal so far.
func (s *signals) total() int {
	n := 0
	for _, sg := range s.by {
		n += sg.Count
	}
	return n
}

func (s *signals) list() []Signal {
	out := make([]Signal, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.by[id])
	}
	slices.SortStableFunc(out, func(a, b Signal) int {
		return cmp.Or(cmp.Compare(b.Weight, a.Weight), strings.Compare(a.ID, b.ID))
	})
	return out
}

// strength combines the weights of the signals: 1 − Π(1 − w).
func strength(ss []Signal) float64 {
	p := 1.0
	for _, s := range ss {
		p *= 1 - s.Weight
	}
	return round2(1 - p)
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// detect computes the incident's signals from its events.
func detect(inc *Incident) (ss []Signal, explained int) {
	var s signals
	inContainer := inc.Subject.Pod != "" || inc.Subject.ContainerID != "" || inc.Subject.Container != ""
	var shellProc string
	tactics := map[string]bool{}
	for _, e := range inc.events {
		if why, ok := knownBehaviour(e); ok {
			explained++
			s.add("known_behaviour", wKnownBehaviour, why)
			continue
		}
		p := e.proc
		name := strings.ToLower(p.Name)
		// Falco's tactic tags count only for events that no behavioural
		// signal explains: a terminal shell is one piece of evidence, not
		// an interactive shell and an execution tactic besides.
		before := s.total()
		if e.Priority >= falco.PriorityCritical {
			s.add("critical_priority", wCriticalPriority, fmt.Sprintf("rule %q at priority %s", e.Rule, e.Priority))
		}
		if shells[name] || hasTag(e, "shell") {
			if shellProc == "" && p.Name != "" {
				shellProc = p.Name
			}
			if inContainer && (p.TTY != "" && p.TTY != "0" || strings.Contains(strings.ToLower(e.Rule), "terminal shell")) {
				s.add("interactive_shell", wInteractiveShell, fmt.Sprintf("%s with a terminal (rule %q)", orUnknown(p.Name), e.Rule))
			}
		}
		if e.Field("ka.target.subresource") == "exec" || e.Field("ka.target.subresource") == "attach" {
			s.add("interactive_shell", wInteractiveShell, fmt.Sprintf("kubectl %s into the pod by %s (rule %q)", e.Field("ka.target.subresource"), orUnknown(p.User), e.Rule))
		}
		if miners[name] || minerRE.MatchString(p.Cmdline) || hasTag(e, "T1496") {
			s.add("crypto_miner", wCryptoMiner, fmt.Sprintf("process %s looks like a crypto miner (rule %q)", orUnknown(p.Name), e.Rule))
		}
		if attackTools[name] || attackRE.MatchString(p.Cmdline) {
			s.add("attack_tool", wAttackTool, fmt.Sprintf("process %s runs an attack tool or reverse shell (rule %q)", orUnknown(p.Name), e.Rule))
		}
		if escapeRuleRE.MatchString(e.Rule) || hasTag(e, "T1611") || nsenterRE.MatchString(p.Cmdline) {
			s.add("container_escape", wContainerEscape, fmt.Sprintf("rule %q (process %s)", e.Rule, orUnknown(p.Name)))
		}
		if e.file != "" {
			if d, ok := systemDir(e.file); ok && e.write {
				s.add("system_write", wSystemWrite, fmt.Sprintf("write below %s by %s (rule %q)", d, orUnknown(p.Name), e.Rule))
			}
			if pat, ok := sensitivePattern(e.file); ok {
				s.add("sensitive_file", wSensitiveFile, fmt.Sprintf("%s of %s by %s (rule %q)", accessVerb(e), pat, orUnknown(p.Name), e.Rule))
			}
		}
		if strings.HasPrefix(p.Exe, "memfd:") || strings.HasPrefix(p.Exe, "/dev/shm/") {
			s.add("fileless_exec", wFilelessExec, fmt.Sprintf("%s ran from %s (rule %q)", orUnknown(p.Name), exeArea(p.Exe), e.Rule))
		}
		countTactics := s.total() == before
		for _, t := range e.Tags {
			tl := strings.ToLower(t)
			// Nor do the tags of Informational and Debug events: Falco's
			// rule authors rate those as context, not as alerts.
			if w, ok := tacticWeights[tl]; ok && w > 0 && e.Priority >= falco.PriorityNotice {
				tactics[tl] = true
				if countTactics {
					s.add("tactic:"+strings.TrimPrefix(tl, "mitre_"), w, fmt.Sprintf("rule %q", e.Rule))
				}
			}
		}
	}
	if inContainer && shellProc != "" {
		for _, d := range inc.Destinations {
			// A name that is not the cluster's counts as outside; an
			// unspecified or multicast address does not.
			if _, err := netip.ParseAddr(d.Address); d.Scope == "public" || d.Scope == "unknown" && err != nil && d.Address != "" {
				s.add("shell_egress", wShellEgress, fmt.Sprintf("shell %s in the container, and a connection to %s (%s)", shellProc, hostPort(d.Address, d.Port), d.Scope))
			}
		}
	}
	if len(tactics) >= 3 {
		names := make([]string, 0, len(tactics))
		for t := range tactics {
			names = append(names, strings.TrimPrefix(t, "mitre_"))
		}
		slices.Sort(names)
		s.add("multi_tactic", wMultiTactic, fmt.Sprintf("%d ATT&CK tactics: %s", len(names), strings.Join(names, ", ")))
	}
	return s.list(), explained
}

func accessVerb(e *event) string {
	if e.write {
		return "write or link"
	}
	return "read"
}

func exeArea(exe string) string {
	if strings.HasPrefix(exe, "memfd:") {
		return "an in-memory file (memfd)"
	}
	return "/dev/shm"
}

func hasTag(e *event, tag string) bool {
	for _, t := range e.Tags {
		if strings.EqualFold(t, tag) {
			return true
		}
	}
	return false
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown process"
	}
	return s
}

// classify sets the incident's signals, verdict, confidence and severity.
// The rules, in order:
//
//  1. every event is known behaviour: benign, confidence 0.7;
//  2. combined strength ≥ MaliciousThreshold: malicious, confidence the
//     strength;
//  3. every event's behaviour tuple is in the baseline: known-benign,
//     confidence 0.9;
//  4. any signal, or an event at Notice or above (or of an unknown
//     priority): suspicious, confidence 0.5 + 0.4 × strength / threshold;
//  5. otherwise (Informational and Debug events, no signal): benign,
//     confidence 0.6.
func classify(inc *Incident, b *Baseline) {
	ss, explained := detect(inc)
	inc.Signals = ss
	st := strength(ss)
	var matches []BaselineMatch
	covered := false
	if b != nil {
		matches, covered = b.match(inc)
	}
	inc.Baseline = matches
	notable := false
	for _, e := range inc.events {
		if _, ok := knownBehaviour(e); !ok && (e.Priority >= falco.PriorityNotice || e.Priority == falco.PriorityUnknown) {
			notable = true
		}
	}
	switch {
	case explained == len(inc.events):
		inc.Verdict, inc.Confidence = Benign, 0.7
	case st >= MaliciousThreshold:
		inc.Verdict, inc.Confidence = Malicious, st
	case covered:
		inc.Verdict, inc.Confidence = KnownBenign, 0.9
	case st > 0 || notable:
		inc.Verdict, inc.Confidence = Suspicious, round2(0.5+0.4*st/MaliciousThreshold)
	default:
		inc.Verdict, inc.Confidence = Benign, 0.6
	}
	inc.Severity = severity(inc, st)
}

// priorityBase is the severity a Falco priority gives on its own.
var priorityBase = map[falco.Priority]int{
	falco.PriorityEmergency: 95, falco.PriorityAlert: 90, falco.PriorityCritical: 80, falco.PriorityError: 65,
	falco.PriorityWarning: 50, falco.PriorityNotice: 35, falco.PriorityInformational: 15, falco.PriorityDebug: 5,
	falco.PriorityUnknown: 30,
}

// severity ranks incidents within a verdict: the highest priority or the
// signal strength, raised by the workload's exposure, privilege,
// production environment and known-exploited image vulnerabilities.
// Benign and known-benign incidents stay at 10 or below.
func severity(inc *Incident, st float64) int {
	p := falco.PriorityUnknown
	for _, e := range inc.events {
		if _, ok := knownBehaviour(e); !ok {
			p = max(p, e.Priority)
		}
	}
	sev := max(priorityBase[p], int(math.Round(st*100)))
	if w := inc.Workload; w != nil {
		if w.Exposed {
			sev += 10
		}
		if w.Privileged {
			sev += 10
		}
		if w.Environment == "production" {
			sev += 5
		}
	}
	if v := inc.Vulns; v != nil && len(v.KnownExploited) > 0 {
		sev += 5
	}
	sev = min(sev, 100)
	if inc.Verdict == Benign || inc.Verdict == KnownBenign {
		sev = min(sev, 10)
	}
	return sev
}
