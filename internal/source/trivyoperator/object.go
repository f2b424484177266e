package trivyoperator

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/package-url/packageurl-go"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/jsonsrc"
)

// object is one Trivy Operator custom resource, or a List of them.
type object struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   objectMeta        `json:"metadata"`
	Report     *report           `json:"report"`
	Status     *complianceStatus `json:"status"`
	Spec       *complianceSpec   `json:"spec"`
	Items      []object          `json:"items"`
}

type objectMeta struct {
	Name            string            `json:"name"`
	Namespace       string            `json:"namespace"`
	Labels          map[string]string `json:"labels"`
	OwnerReferences []struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	} `json:"ownerReferences"`
}

// report is the report member shared by the report kinds.
type report struct {
	UpdateTimestamp timeValue `json:"updateTimestamp"`
	Scanner         struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"scanner"`
	Registry struct {
		Server string `json:"server"`
	} `json:"registry"`
	Artifact struct {
		Repository string `json:"repository"`
		Digest     string `json:"digest"`
		Tag        string `json:"tag"`
	} `json:"artifact"`
	OS struct {
		Family string `json:"family"`
		Name   string `json:"name"`
	} `json:"os"`
	Vulnerabilities []vulnerability `json:"vulnerabilities"`
	Checks          []check         `json:"checks"`
	Secrets         []secret        `json:"secrets"`
}

// timeValue is a timestamp that does not fail the parse when it is not
// RFC 3339 (kubectl exports edited by hand carry "2021-1-1T10:10:10Z").
type timeValue struct {
	time.Time
	bad string
}

// UnmarshalJSONFrom reads a timestamp string, keeping an unreadable one
// aside for a warning.
func (t *timeValue) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '"':
	default:
		return fmt.Errorf("a timestamp is %s, want a string", jsonsrc.KindName(tok.Kind()))
	}
	s := tok.String()
	if ts, err := time.Parse(time.RFC3339Nano, s); err == nil {
		t.Time = ts
	} else if s != "" {
		t.bad = s
	}
	return nil
}

// warnings returns a finding warning when the timestamp was unreadable.
func (t timeValue) warnings() []string {
	if t.bad == "" {
		return nil
	}
	return []string{fmt.Sprintf("updateTimestamp %q is not an RFC 3339 time; scan time left unset", t.bad)}
}

// workload returns the Kubernetes resource a report is about: from Trivy
// Operator's labels, else the owner reference, else the report itself.
func (m *objectMeta) workload() (namespace, kind, name string) {
	l := m.Labels
	namespace, kind, name = l["trivy-operator.resource.namespace"], l["trivy-operator.resource.kind"], l["trivy-operator.resource.name"]
	if kind != "" && name != "" {
		return namespace, kind, name
	}
	if len(m.OwnerReferences) > 0 {
		return m.Namespace, m.OwnerReferences[0].Kind, m.OwnerReferences[0].Name
	}
	return m.Namespace, "", m.Name
}

// location names a workload "namespace/Kind/name", as the trivy package
// does for `trivy k8s` reports.
func (m *objectMeta) location() string {
	ns, kind, name := m.workload()
	var parts []string
	for _, s := range []string{ns, kind, name} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "/")
}

// imageArtifact returns the image a vulnerability or secret report is
// about. Trivy Operator gives the registry, repository, tag and manifest
// digest, not the image ID. Docker Hub references are shortened the way
// Trivy prints them ("nginx:alpine"), so that names match `trivy image`.
func (r *report) imageArtifact() sextant.Artifact {
	a := r.Artifact
	repo := a.Repository
	switch server := strings.TrimSpace(r.Registry.Server); server {
	case "", "index.docker.io", "docker.io", "registry-1.docker.io":
		repo = strings.TrimPrefix(repo, "library/")
	default:
		repo = server + "/" + repo
	}
	out := sextant.Artifact{Type: "container_image", Repository: repo, OSFamily: r.OS.Family, OSVersion: r.OS.Name, Digest: a.Digest}
	out.Name = repo
	if a.Tag != "" {
		out.Name += ":" + a.Tag
		out.Tags = []string{a.Tag}
	} else if a.Digest != "" {
		out.Name += "@" + a.Digest
	}
	if a.Digest != "" {
		out.RepoDigests = []string{repo + "@" + a.Digest}
	}
	return out
}

// vulnerability is one entry of a VulnerabilityReport
// (v1alpha1.Vulnerability).
type vulnerability struct {
	VulnerabilityID  string               `json:"vulnerabilityID"`
	Resource         string               `json:"resource"`
	InstalledVersion string               `json:"installedVersion"`
	FixedVersion     string               `json:"fixedVersion"`
	Severity         string               `json:"severity"`
	Title            string               `json:"title"`
	Description      string               `json:"description"`
	CVSSSource       string               `json:"cvsssource"`
	PrimaryLink      string               `json:"primaryLink"`
	Links            []string             `json:"links"`
	Score            *float64             `json:"score"`
	Target           string               `json:"target"`
	CVSS             map[string]cvssEntry `json:"cvss"`
	Class            string               `json:"class"`
	PackageType      string               `json:"packageType"`
	PkgPath          string               `json:"packagePath"`
	PkgPURL          string               `json:"packagePURL"`
}

type cvssEntry struct {
	V2Vector  *string  `json:"V2Vector"`
	V3Vector  *string  `json:"V3Vector"`
	V40Vector *string  `json:"V40Vector"`
	V2Score   *float64 `json:"V2Score"`
	V3Score   *float64 `json:"V3Score"`
	V40Score  *float64 `json:"V40Score"`
}

func (p *parser) vulnerabilities(o *object) error {
	r := o.Report
	if r == nil {
		p.warnf("%s %q has no report", o.Kind, o.Metadata.Name)
		return nil
	}
	art := r.imageArtifact()
	src := p.source(r.Scanner.Version, r.UpdateTimestamp)
	reportWarn := r.UpdateTimestamp.warnings()
	for i := range r.Vulnerabilities {
		v := &r.Vulnerabilities[i]
		f := &sextant.Finding{
			Kind:            sextant.KindVulnerability,
			VulnerabilityID: strings.TrimSpace(v.VulnerabilityID),
			Title:           v.Title,
			Description:     v.Description,
			References:      references(v.PrimaryLink, v.Links),
			Artifact:        art,
			Source:          src,
			Warnings:        slices.Clone(reportWarn),
		}
		if f.VulnerabilityID == "" {
			f.Warnings = append(f.Warnings, "the vulnerability has no vulnerabilityID")
		}
		typ := v.PackageType
		if typ == "" && v.Class == "os-pkgs" {
			typ = r.OS.Family
		}
		pkg := sextant.Package{Type: typ, Ecosystem: sextant.Ecosystem(typ), Name: v.Resource, Version: v.InstalledVersion, PURL: v.PkgPURL, Path: v.PkgPath}
		if pkg.Ecosystem == "" && pkg.PURL != "" {
			if t, _, ok := strings.Cut(strings.TrimPrefix(pkg.PURL, "pkg:"), "/"); ok {
				pkg.Ecosystem = sextant.Ecosystem(t)
			}
		}
		if pkg.Ecosystem == "" {
			f.Warnings = append(f.Warnings, "the report gives no packageType, class or PURL; package ecosystem unknown")
		}
		if pkg.Ecosystem == "maven" && !strings.Contains(pkg.Name, ":") && pkg.PURL != "" {
			if u, err := packageurl.FromString(pkg.PURL); err == nil && u.Namespace != "" {
				pkg.Name = u.Namespace + ":" + u.Name
			}
		}
		f.Package = pkg
		f.FixedVersions = splitVersions(v.FixedVersion)
		if len(f.FixedVersions) > 0 {
			// Trivy Operator keeps no fix status; a fixed version means fixed.
			f.FixState = "fixed"
		}
		severity(f, v.Severity)
		f.CVSS = cvssList(v)
		if err := p.finish(f); err != nil {
			return err
		}
	}
	return nil
}

// cvssList returns the CVSS ratings of a vulnerability, sources in
// alphabetical order; a bare score is kept with the cvsssource.
func cvssList(v *vulnerability) []sextant.CVSS {
	var out []sextant.CVSS
	sources := make([]string, 0, len(v.CVSS))
	for s := range v.CVSS {
		sources = append(sources, s)
	}
	slices.Sort(sources)
	for _, s := range sources {
		c := v.CVSS[s]
		if c.V2Vector != nil || c.V2Score != nil {
			out = append(out, sextant.CVSS{Source: s, Version: "2.0", Vector: deref(c.V2Vector), Score: derefF(c.V2Score)})
		}
		if c.V3Vector != nil || c.V3Score != nil {
			vec := deref(c.V3Vector)
			ver := "3.1"
			if strings.HasPrefix(vec, "CVSS:3.0/") {
				ver = "3.0"
			}
			out = append(out, sextant.CVSS{Source: s, Version: ver, Vector: vec, Score: derefF(c.V3Score)})
		}
		if c.V40Vector != nil || c.V40Score != nil {
			out = append(out, sextant.CVSS{Source: s, Version: "4.0", Vector: deref(c.V40Vector), Score: derefF(c.V40Score)})
		}
	}
	if len(out) == 0 && v.Score != nil {
		// The operator's score is the V3 base score of cvsssource.
		src := v.CVSSSource
		if src == "" {
			src = "unknown"
		}
		out = append(out, sextant.CVSS{Source: src, Version: "3.1", Score: *v.Score})
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefF(f *float64) float64 {
	if f == nil {
		return 0
	}
	return *f
}

// check is one entry of a ConfigAuditReport (and the RBAC and infra
// assessment reports).
type check struct {
	CheckID     string   `json:"checkID"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Severity    string   `json:"severity"`
	Category    string   `json:"category"`
	Messages    []string `json:"messages"`
	Remediation string   `json:"remediation"`
	Success     bool     `json:"success"`
}

func (p *parser) checks(o *object) error {
	r := o.Report
	if r == nil {
		p.warnf("%s %q has no report", o.Kind, o.Metadata.Name)
		return nil
	}
	loc := o.Metadata.location()
	art := sextant.Artifact{Name: loc, Type: "kubernetes"}
	src := p.source(r.Scanner.Version, r.UpdateTimestamp)
	for i := range r.Checks {
		c := &r.Checks[i]
		if c.Success {
			p.passedChecks++
			continue
		}
		f := &sextant.Finding{
			Kind:            sextant.KindMisconfiguration,
			VulnerabilityID: strings.TrimSpace(c.CheckID),
			Title:           c.Title,
			Description:     joinParagraphs(c.Description, strings.Join(c.Messages, "\n"), prefixed("Remediation: ", c.Remediation)),
			Location:        loc,
			Artifact:        art,
			Source:          src,
			Warnings:        r.UpdateTimestamp.warnings(),
		}
		if f.VulnerabilityID == "" {
			f.Warnings = append(f.Warnings, "the check has no checkID")
		}
		severity(f, c.Severity)
		if err := p.finish(f); err != nil {
			return err
		}
	}
	return nil
}

// secret is one entry of an ExposedSecretReport. The masked match is not
// read.
type secret struct {
	Target   string `json:"target"`
	RuleID   string `json:"ruleID"`
	Title    string `json:"title"`
	Category string `json:"category"`
	Severity string `json:"severity"`
}

func (p *parser) secrets(o *object) error {
	r := o.Report
	if r == nil {
		p.warnf("%s %q has no report", o.Kind, o.Metadata.Name)
		return nil
	}
	art := r.imageArtifact()
	src := p.source(r.Scanner.Version, r.UpdateTimestamp)
	for i := range r.Secrets {
		s := &r.Secrets[i]
		f := &sextant.Finding{
			Kind:            sextant.KindSecret,
			VulnerabilityID: strings.TrimSpace(s.RuleID),
			Title:           s.Title,
			Location:        s.Target,
			Artifact:        art,
			Source:          src,
			Warnings:        r.UpdateTimestamp.warnings(),
		}
		if s.Category != "" {
			f.Description = fmt.Sprintf("%s secret (%s) exposed in %s.", s.Category, s.Title, s.Target)
		}
		if f.VulnerabilityID == "" {
			f.Warnings = append(f.Warnings, "the secret has no ruleID")
		}
		severity(f, s.Severity)
		if err := p.finish(f); err != nil {
			return err
		}
	}
	return nil
}

// severity sets f.Severity from a severity word, warning about words it
// does not know.
func severity(f *sextant.Finding, word string) {
	s, ok := sextant.ParseSeverity(word)
	if !ok {
		f.Warnings = append(f.Warnings, fmt.Sprintf("unknown severity %q; treated as UNKNOWN", word))
	}
	f.Severity = s
}

// splitVersions splits a comma-separated fixedVersion.
func splitVersions(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// references returns the primary link followed by the other links, without
// duplicates.
func references(primary string, links []string) []string {
	var out []string
	if primary != "" {
		out = append(out, primary)
	}
	for _, l := range links {
		if l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

func prefixed(prefix, s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return prefix + s
}

// joinParagraphs joins the non-empty strings with blank lines.
func joinParagraphs(ss ...string) string {
	var parts []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "\n\n")
}
