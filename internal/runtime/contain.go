package runtime

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// QuarantineLabel is the label the quarantine drafts put on a pod and the
// quarantine NetworkPolicy selects.
const QuarantineLabel = "sextant.dev/quarantine"

// ForensicsImage is the image of the ephemeral debug container the
// forensic drafts start.
const ForensicsImage = "busybox:1.36"

// Draft kinds.
const (
	DraftNetworkPolicy = "network-policy"
	DraftLabel         = "label"
	DraftForensics     = "forensics"
	DraftCordon        = "cordon"
	DraftPause         = "pause-container"
)

// Draft is a containment or forensic step written out for a person to
// review, approve and carry out. sextant never runs it.
type Draft struct {
	Kind  string `json:"kind"`
	Title string `json:"title"`
	// Format is "yaml" (a manifest for kubectl apply) or "shell".
	Format string `json:"format"`
	// Text starts with a comment saying that it is a draft.
	Text  string   `json:"text"`
	Notes []string `json:"notes,omitempty"`
	// Approval is always "required"; Executed always false.
	Approval string `json:"approval"`
	Executed bool   `json:"executed"`
}

var containerIDRE = regexp.MustCompile(`^[0-9a-f]{12,64}$`)

func validLabelName(s string) bool     { return s != "" && len(validation.IsDNS1123Label(s)) == 0 }
func validSubdomainName(s string) bool { return s != "" && len(validation.IsDNS1123Subdomain(s)) == 0 }

// header is the first line of every draft.
func header(inc *Incident) string {
	return fmt.Sprintf("# DRAFT by sextant for incident %s (%s): NOT EXECUTED. Review it, get it approved, then run it yourself.\n", inc.ID, inc.Verdict)
}

// drafts writes the incident's drafts. Malicious incidents get
// containment (quarantine NetworkPolicy and label, or a paused container
// outside Kubernetes), forensic capture and a node cordon; suspicious ones
// forensic capture only; benign and known-benign ones none. Names taken
// from events are used only when they are valid Kubernetes names (or
// container IDs), so that no event can put shell syntax into a command.
func drafts(inc *Incident) []Draft {
	if inc.Verdict != Malicious && inc.Verdict != Suspicious {
		return nil
	}
	s := inc.Subject
	ns := s.Namespace
	if ns == "" {
		ns = "default"
	}
	pod := s.Pod
	podOK := validSubdomainName(pod) && validLabelName(ns)
	ctr := s.Container
	if !validLabelName(ctr) {
		ctr = ""
	}
	cid := strings.ToLower(s.ContainerID)
	if !containerIDRE.MatchString(cid) {
		cid = ""
	}
	node := s.Hostname
	if !validSubdomainName(node) {
		node = ""
	}
	var out []Draft
	if inc.Verdict == Malicious {
		switch {
		case podOK:
			out = append(out, quarantinePolicy(inc, ns, pod), quarantineLabel(inc, ns, pod))
		case cid != "":
			out = append(out, pauseContainer(inc, cid))
		}
	}
	if f, ok := forensics(inc, ns, pod, podOK, ctr, cid, node); ok {
		out = append(out, f)
	}
	// A node to cordon only exists in Kubernetes: outside it, a container's
	// host is not a node.
	if inc.Verdict == Malicious && node != "" && podOK {
		out = append(out, cordon(inc, node, ns, pod))
	}
	if len(out) == 0 {
		return nil
	}
	for i := range out {
		out[i].Approval, out[i].Executed = "required", false
	}
	return out
}

// policyName is the quarantine NetworkPolicy's name for a pod.
func policyName(pod string) string {
	n := "sextant-quarantine-" + pod
	if len(n) > validation.DNS1123SubdomainMaxLength {
		n = strings.TrimRight(n[:validation.DNS1123SubdomainMaxLength], "-.")
	}
	return n
}

// quarantinePolicy drafts a NetworkPolicy that denies all ingress and all
// egress, DNS included, to the pod once it carries the quarantine label.
// It selects the workload's pod labels too, when the manifests give them,
// so that it can only ever select pods of that workload.
func quarantinePolicy(inc *Incident, ns, pod string) Draft {
	sel := map[string]string{}
	if inc.Workload != nil {
		for k, v := range inc.Workload.PodLabels {
			sel[k] = v
		}
	}
	sel[QuarantineLabel] = "true"
	np := networkingv1.NetworkPolicy{
		TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      policyName(pod),
			Namespace: ns,
			Labels:    map[string]string{"app.kubernetes.io/managed-by": "sextant"},
			Annotations: map[string]string{
				"sextant.dev/incident": inc.ID,
				"sextant.dev/pod":      pod,
				"sextant.dev/draft":    "review and approve before applying",
			},
		},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: sel},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			// No ingress and no egress rules: nothing is allowed.
		},
	}
	b, err := yaml.Marshal(np)
	if err != nil {
		// A NetworkPolicy built above always marshals.
		panic(err)
	}
	text := header(inc) +
		fmt.Sprintf("# Apply with: kubectl apply -f %s.yaml — then label the pod (next draft).\n", policyName(pod)) +
		strings.Replace(string(b), "  creationTimestamp: null\n", "", 1)
	notes := []string{
		"Denies all ingress and all egress of the pod, DNS included: a compromised pod can tunnel data through DNS, and forensic capture does not need the pod's network.",
		"It selects only pods that carry the " + QuarantineLabel + "=true label, so applying it changes nothing until the pod is labelled.",
		"NetworkPolicies add up: a policy that already allows traffic to or from the pod keeps allowing it. Isolation also needs a CNI plugin that enforces NetworkPolicy.",
	}
	if w := inc.Workload; w != nil && len(w.IngressPolicies)+len(w.EgressPolicies) > 0 {
		var ps []string
		ps = append(ps, w.IngressPolicies...)
		for _, p := range w.EgressPolicies {
			if !slices.Contains(ps, p) {
				ps = append(ps, p)
			}
		}
		notes = append(notes, "These policies already select the pod and keep allowing what they allow: "+strings.Join(ps, ", ")+".")
	}
	if inc.Workload == nil {
		notes = append(notes, "No manifest was given for this pod, so the policy selects on the quarantine label alone.")
	}
	return Draft{Kind: DraftNetworkPolicy, Title: "Quarantine NetworkPolicy " + ns + "/" + policyName(pod), Format: "yaml", Text: text, Notes: notes}
}

func quarantineLabel(inc *Incident, ns, pod string) Draft {
	text := header(inc) +
		fmt.Sprintf("kubectl -n %s label pod %s %s=true --overwrite\n", ns, pod, QuarantineLabel) +
		"# To lift the quarantine after the investigation:\n" +
		fmt.Sprintf("# kubectl -n %s label pod %s %s-\n", ns, pod, QuarantineLabel)
	return Draft{
		Kind: DraftLabel, Title: "Label pod " + ns + "/" + pod + " for quarantine", Format: "shell", Text: text,
		Notes: []string{
			"Isolates the pod once the quarantine NetworkPolicy is applied; the pod keeps running, so its memory and files stay available for forensics.",
			"The pod's controller does not replace it: the label does not change the pod's owner or its other labels.",
		},
	}
}

func pauseContainer(inc *Incident, cid string) Draft {
	text := header(inc) +
		"# On the host, as root: freeze every process of the container without killing it.\n" +
		fmt.Sprintf("docker pause %s\n", cid) +
		"# With containerd and no Docker, find the full ID with crictl ps and run:\n" +
		fmt.Sprintf("# ctr -n k8s.io task pause <full ID of %s>\n", cid)
	return Draft{
		Kind: DraftPause, Title: "Freeze container " + cid, Format: "shell", Text: text,
		Notes: []string{"Pausing keeps memory and files for forensics; docker unpause undoes it. Stopping or removing the container would destroy that evidence."},
	}
}

// forensics drafts the commands that capture the evidence: the pod's spec
// and logs, the processes' /proc data through an ephemeral debug
// container, and the container runtime's view on the node.
func forensics(inc *Incident, ns, pod string, podOK bool, ctr, cid, node string) (Draft, bool) {
	var b strings.Builder
	b.WriteString(header(inc))
	var notes []string
	if podOK {
		p := pod
		fmt.Fprintf(&b, "mkdir -p %s-evidence && cd %s-evidence\n", p, p)
		fmt.Fprintf(&b, "kubectl -n %s get pod %s -o yaml > pod.yaml\n", ns, p)
		fmt.Fprintf(&b, "kubectl -n %s describe pod %s > describe.txt\n", ns, p)
		fmt.Fprintf(&b, "kubectl -n %s get events --field-selector involvedObject.name=%s -o yaml > events.yaml\n", ns, p)
		if ctr != "" {
			fmt.Fprintf(&b, "kubectl -n %s logs %s -c %s --timestamps > logs.txt\n", ns, p, ctr)
			fmt.Fprintf(&b, "kubectl -n %s logs %s -c %s --timestamps --previous > logs-previous.txt\n", ns, p, ctr)
			b.WriteString("# An ephemeral container that shares the target container's process namespace:\n")
			fmt.Fprintf(&b, "kubectl -n %s debug %s --image=%s --target=%s --profile=general --container=sextant-forensics -- sleep 86400\n", ns, p, ForensicsImage, ctr)
			fmt.Fprintf(&b, "kubectl -n %s exec %s -c sextant-forensics -- ps -o pid,ppid,user,args > ps.txt\n", ns, p)
			fmt.Fprintf(&b, "kubectl -n %s exec %s -c sextant-forensics -- sh -c %s\n", ns, p, shellQuote(procCapture))
			fmt.Fprintf(&b, "kubectl -n %s cp -c sextant-forensics %s:/tmp/proc-evidence.tgz ./proc-evidence.tgz\n", ns, p)
			notes = append(notes,
				"The debug container runs "+ForensicsImage+" with the general profile (SYS_PTRACE) and reads the processes through /proc: nothing is run inside the suspect container, whose binaries may be tampered with.",
				"An ephemeral container cannot be removed; it stays until the pod is deleted.",
				"proc-evidence.tgz holds the processes' environment variables, which may include secrets: keep it where only the responders can read it.")
		} else {
			fmt.Fprintf(&b, "kubectl -n %s logs %s --all-containers --timestamps > logs.txt\n", ns, p)
			notes = append(notes, "The events do not name a valid container, so the /proc capture through a debug container is left out: add --target=CONTAINER to run it.")
		}
	}
	if cid != "" {
		if node != "" {
			fmt.Fprintf(&b, "# On node %s, as root:\n", node)
		} else {
			b.WriteString("# On the node that runs the container, as root:\n")
		}
		fmt.Fprintf(&b, "crictl inspect %s > container-%s.json\n", cid, cid)
		fmt.Fprintf(&b, "crictl logs %s > container-%s.log 2>&1\n", cid, cid)
		if !podOK {
			b.WriteString("# Or, with Docker:\n")
			fmt.Fprintf(&b, "# docker inspect %s > container-%s.json; docker logs --timestamps %s > container-%s.log 2>&1\n", cid, cid, cid, cid)
		}
	}
	if !podOK && cid == "" {
		return Draft{}, false
	}
	return Draft{Kind: DraftForensics, Title: "Capture forensic evidence of " + inc.Subject.String(), Format: "shell", Text: b.String(), Notes: notes}, true
}

// procCapture runs in the debug container: it copies each process's
// command line, environment, status, memory map, open files and the
// network tables, and packs them for kubectl cp.
const procCapture = `mkdir -p /tmp/ev && for p in /proc/[0-9]*; do n=${p#/proc/}; for f in cmdline environ status maps mountinfo; do cat $p/$f > /tmp/ev/$n.$f 2>/dev/null; done; ls -l $p/exe $p/cwd $p/fd > /tmp/ev/$n.links 2>&1; done; cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 > /tmp/ev/net.txt 2>/dev/null; tar czf /tmp/proc-evidence.tgz -C /tmp ev`

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func cordon(inc *Incident, node, ns, pod string) Draft {
	var b strings.Builder
	b.WriteString(header(inc))
	b.WriteString("# The node comes from Falco's hostname; check that it is the pod's node first:\n")
	fmt.Fprintf(&b, "#   kubectl -n %s get pod %s -o jsonpath='{.spec.nodeName}'\n", ns, pod)
	fmt.Fprintf(&b, "kubectl cordon %s\n", node)
	return Draft{
		Kind: DraftCordon, Title: "Cordon node " + node, Format: "shell", Text: b.String(),
		Notes: []string{
			"Cordoning stops new pods from being scheduled on the node; running pods stay, evidence included.",
			"Drain the node (kubectl drain) only after the forensic capture: draining deletes the suspect pod.",
		},
	}
}
