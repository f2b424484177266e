package runtime

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/k8s"
)

// WorkloadInfo is what the Kubernetes manifests (or the live cluster) say
// about the workload that runs an incident's pod.
type WorkloadInfo struct {
	Ref k8s.Ref `json:"ref"`
	// Source is where the workload was read ("deploy.yaml:12").
	Source              string `json:"source,omitempty"`
	Owner               string `json:"owner,omitempty"`
	OwnerEvidence       string `json:"owner_evidence,omitempty"`
	Environment         string `json:"environment,omitempty"`
	EnvironmentEvidence string `json:"environment_evidence,omitempty"`
	Replicas            int    `json:"replicas"`
	ServiceAccount      string `json:"service_account,omitempty"`
	TokenMounted        bool   `json:"token_mounted"`
	// Exposed says whether the pods are reachable from outside the cluster;
	// Exposures say how.
	Exposed   bool     `json:"exposed"`
	Exposures []string `json:"exposures,omitempty"`
	// Privileged says whether a container can reach the node; Privileges
	// list every privileged setting.
	Privileged      bool     `json:"privileged"`
	Privileges      []string `json:"privileges,omitempty"`
	Permissions     []string `json:"permissions,omitempty"`
	CloudIdentities []string `json:"cloud_identities,omitempty"`
	// IngressPolicies and EgressPolicies are the NetworkPolicies that
	// already select the pods.
	IngressPolicies []string `json:"ingress_policies,omitempty"`
	EgressPolicies  []string `json:"egress_policies,omitempty"`
	// PodLabels are the pod template's labels, which the quarantine
	// NetworkPolicy selects on.
	PodLabels map[string]string `json:"pod_labels,omitempty"`

	// annotations are the pod template's annotations: untrusted text.
	annotations map[string]string
}

// podSuffix is the part a controller appends to its name to name its
// pods.
var podSuffix = map[string]*regexp.Regexp{
	"Deployment":            regexp.MustCompile(`^[a-z0-9]{1,10}-[a-z0-9]{5}$`),
	"StatefulSet":           regexp.MustCompile(`^[0-9]+$`),
	"DaemonSet":             regexp.MustCompile(`^[a-z0-9]{5}$`),
	"ReplicaSet":            regexp.MustCompile(`^[a-z0-9]{5}$`),
	"ReplicationController": regexp.MustCompile(`^[a-z0-9]{5}$`),
	"Job":                   regexp.MustCompile(`^[a-z0-9]{5}$`),
	"CronJob":               regexp.MustCompile(`^[0-9]+-[a-z0-9]{5}$`),
}

// findWorkload returns the workload that runs a pod: the Pod itself when
// the inventory holds it, else the controller whose name and naming
// scheme give the pod's name ("web" for "web-7d9f8c6b5-x2x4q"), the
// longest such name, preferring one that runs the image.
func findWorkload(cx *k8s.Context, ns, pod, repo string) *k8s.WorkloadContext {
	if cx == nil || pod == "" {
		return nil
	}
	if ns == "" {
		ns = "default"
	}
	if w := cx.Workload(k8s.Ref{Kind: "Pod", Namespace: ns, Name: pod}); w != nil {
		return w
	}
	var best *k8s.WorkloadContext
	bestRunsImage := false
	for _, w := range cx.Workloads() {
		if w.Namespace != ns {
			continue
		}
		re := podSuffix[w.Ref.Kind]
		if re == nil || !strings.HasPrefix(pod, w.Ref.Name+"-") || !re.MatchString(pod[len(w.Ref.Name)+1:]) {
			continue
		}
		runs := runsImage(w, repo)
		switch {
		case best == nil,
			runs && !bestRunsImage,
			runs == bestRunsImage && len(w.Ref.Name) > len(best.Ref.Name):
			best, bestRunsImage = w, runs
		}
	}
	return best
}

func runsImage(w *k8s.WorkloadContext, repo string) bool {
	if repo == "" {
		return false
	}
	want := normImage(repo)
	for _, ci := range w.Images {
		r, _, _ := sextant.SplitImageRef(ci.Image)
		if normImage(r) == want {
			return true
		}
	}
	return false
}

// workloadInfo describes a workload context.
func workloadInfo(w *k8s.WorkloadContext) *WorkloadInfo {
	wi := &WorkloadInfo{
		Ref: w.Ref, Owner: w.Owner, OwnerEvidence: w.OwnerEvidence, Environment: w.Environment,
		EnvironmentEvidence: w.EnvironmentEvidence, Replicas: w.Replicas, ServiceAccount: w.ServiceAccount,
		TokenMounted: w.TokenMounted, Exposed: w.Exposed(), Privileged: w.Privileged(),
	}
	if wl := w.Workload; wl != nil && wl.Object != nil {
		if s := wl.Object.Source; s.File != "" {
			wi.Source = s.File
			if s.Line > 0 {
				wi.Source += fmt.Sprintf(":%d", s.Line)
			}
		}
		if wl.Template != nil {
			wi.PodLabels = validLabels(wl.Template.Labels)
			wi.annotations = maps.Clone(wl.Template.Annotations)
		}
	}
	for _, e := range w.Exposures {
		ev := e.Evidence
		if e.Internal {
			ev += " (internal load balancer)"
		}
		wi.Exposures = append(wi.Exposures, ev)
	}
	for _, p := range w.Privileges {
		wi.Privileges = append(wi.Privileges, p.Evidence)
	}
	for _, g := range w.Grants {
		wi.Permissions = append(wi.Permissions, g.Evidence)
	}
	for _, c := range w.CloudIdentities {
		wi.CloudIdentities = append(wi.CloudIdentities, c.Evidence)
	}
	for _, r := range w.IngressPolicies {
		wi.IngressPolicies = append(wi.IngressPolicies, r.String())
	}
	for _, r := range w.EgressPolicies {
		wi.EgressPolicies = append(wi.EgressPolicies, r.String())
	}
	return wi
}

// validLabels keeps the labels that are valid as a selector's: manifests
// can hold anything, and a draft must apply.
func validLabels(in map[string]string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := map[string]string{}
	for k, v := range in {
		if len(validation.IsQualifiedName(k)) == 0 && len(validation.IsValidLabelValue(v)) == 0 {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ImageVulns is what the scanner reports given with --reports say about an
// incident's image.
type ImageVulns struct {
	// Image is the artifact as the reports name it.
	Image string `json:"image"`
	// Actions and Findings count the image's fix actions and findings;
	// ByPriority counts the actions per priority.
	Actions    int            `json:"actions"`
	Findings   int            `json:"findings"`
	ByPriority map[string]int `json:"by_priority"`
	// KnownExploited lists the known-exploited vulnerabilities among the
	// top actions.
	KnownExploited []string `json:"known_exploited,omitempty"`
	// Top are the three highest-ranked actions.
	Top []VulnAction `json:"top"`
}

// VulnAction is one fix action for an image.
type VulnAction struct {
	ID       string  `json:"id"`
	Priority string  `json:"priority"`
	Score    float64 `json:"score"`
	Title    string  `json:"title"`
	// Vulnerabilities are the first five IDs it resolves;
	// VulnerabilityCount counts them all.
	Vulnerabilities    []string `json:"vulnerabilities"`
	VulnerabilityCount int      `json:"vulnerability_count"`
	// KnownExploited lists those of its vulnerabilities that are known
	// exploited (CISA KEV), when the triage had the catalog.
	KnownExploited []string `json:"known_exploited,omitempty"`
	Findings       int      `json:"findings"`
}

// VulnIndex finds the vulnerabilities of images: by digest, by
// repository and tag, and by repository alone when only one scanned
// artifact has it.
type VulnIndex struct {
	byKey map[string]*ImageVulns
	repos map[string][]*ImageVulns
}

// Add records action a of artifact art. Actions must be added in rank
// order (a triage result's order).
func (x *VulnIndex) Add(art sextant.Artifact, a VulnAction) {
	if x.byKey == nil {
		x.byKey = map[string]*ImageVulns{}
		x.repos = map[string][]*ImageVulns{}
	}
	repo := art.Repository
	if repo == "" {
		repo, _, _ = sextant.SplitImageRef(art.Name)
	}
	repo = normImage(repo)
	keys := []string{"name\x00" + art.Name}
	if art.Digest != "" {
		keys = append(keys, "digest\x00"+strings.ToLower(art.Digest))
	}
	for _, d := range art.RepoDigests {
		if _, dg, ok := strings.Cut(d, "@"); ok {
			keys = append(keys, "digest\x00"+strings.ToLower(dg))
		}
	}
	tags := art.Tags
	if _, t, _ := sextant.SplitImageRef(art.Name); t != "" && !slices.Contains(tags, t) {
		tags = append(slices.Clone(tags), t)
	}
	for _, t := range tags {
		if _, tag, _ := sextant.SplitImageRef(t); tag != "" {
			t = tag
		}
		keys = append(keys, "tag\x00"+repo+":"+t)
	}
	iv := x.byKey[keys[0]]
	if iv == nil {
		iv = &ImageVulns{Image: art.Name, ByPriority: map[string]int{}}
		if repo != "" {
			x.repos[repo] = append(x.repos[repo], iv)
		}
	}
	for _, k := range keys {
		if x.byKey[k] == nil {
			x.byKey[k] = iv
		}
	}
	iv.Actions++
	iv.Findings += a.Findings
	iv.ByPriority[a.Priority]++
	if len(iv.Top) < 3 {
		iv.Top = append(iv.Top, a)
	}
	for _, k := range a.KnownExploited {
		if !slices.Contains(iv.KnownExploited, k) {
			iv.KnownExploited = append(iv.KnownExploited, k)
		}
	}
}

// Len returns the number of images indexed.
func (x *VulnIndex) Len() int {
	if x == nil {
		return 0
	}
	n := 0
	for _, ivs := range x.repos {
		n += len(ivs)
	}
	return n
}

// Lookup returns the vulnerabilities of an image, or nil.
func (x *VulnIndex) Lookup(repo, tag, digest string) *ImageVulns {
	if x == nil || x.byKey == nil {
		return nil
	}
	if digest != "" {
		if iv := x.byKey["digest\x00"+strings.ToLower(digest)]; iv != nil {
			return iv
		}
	}
	r := normImage(repo)
	if tag != "" {
		return x.byKey["tag\x00"+r+":"+tag]
	}
	if ivs := x.repos[r]; len(ivs) == 1 {
		return ivs[0]
	}
	return nil
}

// enrich attaches the workload and image vulnerabilities to an incident.
func enrich(inc *Incident, cx *k8s.Context, vulns *VulnIndex) {
	var repo, tag, digest string
	for _, e := range inc.events {
		if r, t, d := e.Image(); r != "" {
			repo, tag, digest = r, t, d
			break
		}
	}
	if w := findWorkload(cx, inc.Subject.Namespace, inc.Subject.Pod, repo); w != nil {
		inc.Workload = workloadInfo(w)
	}
	if repo != "" {
		inc.Vulns = vulns.Lookup(repo, tag, digest)
	}
}

// rank orders incidents: by verdict, severity, confidence, then time.
func rank(incs []*Incident) {
	slices.SortStableFunc(incs, func(a, b *Incident) int {
		return cmp.Or(cmp.Compare(b.Verdict.Rank(), a.Verdict.Rank()), cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(b.Confidence, a.Confidence), a.Start.Compare(b.Start), strings.Compare(a.ID, b.ID))
	})
}
