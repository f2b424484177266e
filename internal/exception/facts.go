package exception

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/triage"
)

// Facts are what the scans say about a request's subject. Only they decide
// the priority and KEV status an assessment uses; the request says nothing
// about them.
type Facts struct {
	// Verified is true when the subject was found in the scans.
	Verified bool `json:"verified"`
	// Note says why the facts are not verified.
	Note string `json:"note,omitempty"`
	// Findings are the subject's findings, highest score first.
	Findings []Finding `json:"findings"`
}

// Finding is one finding of the subject, as triage scored it.
type Finding struct {
	ID            string   `json:"id"`
	Vulnerability string   `json:"vulnerability"`
	Aliases       []string `json:"aliases,omitempty"`
	Package       string   `json:"package,omitempty"`
	Version       string   `json:"version,omitempty"`
	Ecosystem     string   `json:"ecosystem,omitempty"`
	Artifact      string   `json:"artifact"`
	// Digest is the image by its manifest digest, as a registry serves it
	// ("registry/repo@sha256:…"), when the scan says; ImageID is the image
	// (config) digest.
	Digest   string           `json:"digest,omitempty"`
	ImageID  string           `json:"image_id,omitempty"`
	Score    float64          `json:"score"`
	Priority sextant.Priority `json:"priority"`
	KEV      bool             `json:"kev"`
	Action   string           `json:"action,omitempty"`
}

// Worst returns the most urgent priority, the highest score and whether
// any finding is KEV-listed; ok is false when there are no findings.
func (f Facts) Worst() (prio sextant.Priority, score float64, kev, ok bool) {
	prio = sextant.P3
	for _, x := range f.Findings {
		prio = min(prio, x.Priority)
		score = max(score, x.Score)
		kev = kev || x.KEV
	}
	return prio, score, kev, len(f.Findings) > 0
}

// Unverified returns the facts of a subject the scans did not confirm.
func Unverified(note string) Facts { return Facts{Note: note, Findings: []Finding{}} }

// FindFacts looks the request's subject up in a triage result: a finding
// by its ID, an action's findings, or a vulnerability (by ID or alias) in
// an artifact (by digest, repository:tag or name), narrowed to a package
// when the request names one. Nothing found gives unverified facts.
func FindFacts(res *triage.Result, r Request) (Facts, error) {
	var found []Finding
	err := res.EachFinding(false, func(v *triage.FindingView) error {
		art, ok := res.Artifact(v.Artifact)
		if !ok {
			art = sextant.Artifact{Name: v.Artifact}
		}
		if !r.matches(v, art) {
			return nil
		}
		f := Finding{
			ID: v.ID, Vulnerability: v.Vulnerability, Aliases: v.Aliases,
			Package: v.Package, Version: v.InstalledVersion, Ecosystem: v.Ecosystem,
			Artifact: v.Artifact, Digest: repoDigest(art), ImageID: art.Digest,
			Score: v.Score, Priority: v.Priority, Action: v.ActionID,
		}
		for _, x := range v.Factors {
			if b, ok := x.Value.(bool); ok && b && x.Name == "kev" {
				f.KEV = true
			}
		}
		found = append(found, f)
		return nil
	})
	if err != nil {
		return Facts{}, err
	}
	if len(found) == 0 {
		return Unverified(fmt.Sprintf("%s was not found in the %d report(s) given", r.Key(), len(res.Reports()))), nil
	}
	slices.SortStableFunc(found, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), strings.Compare(a.ID, b.ID))
	})
	return Facts{Verified: true, Findings: found}, nil
}

// matches reports whether a finding is the request's subject.
func (r Request) matches(v *triage.FindingView, art sextant.Artifact) bool {
	switch {
	case r.Finding != "":
		if !strings.EqualFold(v.ID, r.Finding) {
			return false
		}
	case r.Action != "":
		if v.ActionID != r.Action {
			return false
		}
	default:
		if !strings.EqualFold(v.Vulnerability, r.Vulnerability) && !slices.ContainsFunc(v.Aliases, func(a string) bool { return strings.EqualFold(a, r.Vulnerability) }) {
			return false
		}
	}
	if r.Vulnerability != "" && (r.Finding != "" || r.Action != "") &&
		!strings.EqualFold(v.Vulnerability, r.Vulnerability) && !slices.ContainsFunc(v.Aliases, func(a string) bool { return strings.EqualFold(a, r.Vulnerability) }) {
		return false
	}
	if r.Artifact != "" && !MatchArtifact(r.Artifact, art) {
		return false
	}
	if r.Package != "" && !strings.EqualFold(v.Package, r.Package) {
		return false
	}
	return true
}

// MatchArtifact reports whether ref names the artifact: by digest (its
// image ID or one of its repository digests; "repo@sha256:…", "sha256:…"
// or an OCI package URL), else by repository and tag, else by name.
func MatchArtifact(ref string, a sextant.Artifact) bool {
	ref = strings.TrimSpace(ref)
	digest := ""
	var repo, tag string
	switch {
	case strings.HasPrefix(ref, "pkg:oci/"):
		// pkg:oci/name@sha256%3A…?repository_url=…
		rest := strings.TrimPrefix(ref, "pkg:oci/")
		rest, _, _ = strings.Cut(rest, "?")
		if _, v, ok := strings.Cut(rest, "@"); ok {
			digest, _ = url.PathUnescape(v)
		}
	case !strings.ContainsAny(ref, "/@") && sextant.IsDigest(ref):
		digest = ref
	default:
		repo, tag, digest = sextant.SplitImageRef(ref)
	}
	if digest != "" {
		digest = strings.ToLower(digest)
		if strings.ToLower(a.Digest) == digest {
			return true
		}
		for _, rd := range a.RepoDigests {
			if _, d, ok := strings.Cut(rd, "@"); ok && strings.ToLower(d) == digest {
				return true
			}
		}
		return false
	}
	if ref == a.Name {
		return true
	}
	if repo != "" && tag != "" && strings.EqualFold(repo, a.Repository) && slices.Contains(a.Tags, tag) {
		return true
	}
	return false
}

// repoDigest returns the image's repository digest ("registry/repo@sha256:…",
// what a registry serves and an OCI package URL names), or "".
func repoDigest(a sextant.Artifact) string {
	for _, rd := range a.RepoDigests {
		if strings.Contains(rd, "@sha256:") {
			return rd
		}
	}
	return ""
}
