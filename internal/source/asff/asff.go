// Package asff reads AWS Security Finding Format documents (the shape AWS
// Security Hub imports and exports) into sextant findings: one finding per
// Findings[] entry. It reads what Trivy's ASFF template writes (package data
// in Resources[].Details.Other) and the standard Vulnerabilities[] block
// that Amazon Inspector findings carry in Security Hub.
//
// Amazon Inspector2's own export ({"findings": [...]}, camelCase) is a
// different format; Parse rejects it with an error that says so.
package asff

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/jsonsrc"
)

// Format is the name of the format this package reads, as it appears in
// sextant.Source.Format and sextant.ReportInfo.Format.
const Format = "asff"

// op prefixes every error this package returns.
const op = "parse asff report"

// finding is one ASFF finding; only the members sextant uses are listed.
type finding struct {
	ID                    string                        `json:"Id"`
	GeneratorID           string                        `json:"GeneratorId"`
	Types                 []string                      `json:"Types"`
	CreatedAt             string                        `json:"CreatedAt"`
	UpdatedAt             string                        `json:"UpdatedAt"`
	Severity              severity                      `json:"Severity"`
	Title                 string                        `json:"Title"`
	Description           string                        `json:"Description"`
	Remediation           remediation                   `json:"Remediation"`
	ProductFields         map[string]jsonsrc.FlexString `json:"ProductFields"`
	ProductName           string                        `json:"ProductName"`
	Resources             []resource                    `json:"Resources"`
	Vulnerabilities       []vulnerability               `json:"Vulnerabilities"`
	RecordState           string                        `json:"RecordState"`
	Workflow              struct{ Status string }       `json:"Workflow"`
	FindingProviderFields struct {
		Severity severity `json:"Severity"`
	} `json:"FindingProviderFields"`
}

// severity is an ASFF Severity object.
type severity struct {
	Label      string             `json:"Label"`
	Normalized jsonsrc.FlexString `json:"Normalized"`
	Original   jsonsrc.FlexString `json:"Original"`
}

// remediation is an ASFF Remediation object.
type remediation struct {
	Recommendation struct {
		Text string `json:"Text"`
		URL  string `json:"Url"`
	} `json:"Recommendation"`
}

// resource is one affected resource.
type resource struct {
	Type    string `json:"Type"`
	ID      string `json:"Id"`
	Details struct {
		Container struct {
			ImageName string `json:"ImageName"`
			ImageID   string `json:"ImageId"`
			Name      string `json:"Name"`
		} `json:"Container"`
		AwsEcrContainerImage struct {
			RegistryID     string   `json:"RegistryId"`
			RepositoryName string   `json:"RepositoryName"`
			ImageDigest    string   `json:"ImageDigest"`
			ImageTags      []string `json:"ImageTags"`
		} `json:"AwsEcrContainerImage"`
		// Other is a free string map; Trivy puts the package here.
		Other map[string]jsonsrc.FlexString `json:"Other"`
	} `json:"Details"`
}

// vulnerability is an ASFF Vulnerabilities[] entry.
type vulnerability struct {
	ID                     string             `json:"Id"`
	VulnerablePackages     []vulnerablePkg    `json:"VulnerablePackages"`
	Cvss                   []cvss             `json:"Cvss"`
	RelatedVulnerabilities []string           `json:"RelatedVulnerabilities"`
	Vendor                 vendor             `json:"Vendor"`
	ReferenceURLs          []string           `json:"ReferenceUrls"`
	FixAvailable           string             `json:"FixAvailable"`
	EpssScore              jsonsrc.FlexString `json:"EpssScore"`
}

// vulnerablePkg is a package affected by a vulnerability.
type vulnerablePkg struct {
	Name            string `json:"Name"`
	Version         string `json:"Version"`
	Epoch           string `json:"Epoch"`
	Release         string `json:"Release"`
	PackageManager  string `json:"PackageManager"`
	FilePath        string `json:"FilePath"`
	FixedInVersion  string `json:"FixedInVersion"`
	SourceLayerHash string `json:"SourceLayerHash"`
}

// cvss is one CVSS rating.
type cvss struct {
	Version    string             `json:"Version"`
	BaseScore  jsonsrc.FlexString `json:"BaseScore"`
	BaseVector string             `json:"BaseVector"`
	Source     string             `json:"Source"`
}

// vendor is who published the vulnerability.
type vendor struct {
	Name           string `json:"Name"`
	URL            string `json:"Url"`
	VendorSeverity string `json:"VendorSeverity"`
}

// Parse reads one ASFF document from r and calls emit once per finding, in
// document order. file is the report's name for Source.File ("-" for
// stdin). The document is {"Findings": [...]} (Security Hub and Trivy's
// template) or a bare array of findings (older Trivy templates).
func Parse(r io.Reader, file string, emit sextant.Emit) (sextant.ReportInfo, error) {
	p := &parser{file: file, emit: emit}
	p.info = sextant.ReportInfo{Format: Format, Complete: true}
	w := jsonsrc.NewWalker(op, r, 0, jsonsrc.LenientAnyCase)
	switch k := w.Dec.PeekKind(); k {
	case '[':
		if err := p.walkFindings(w); err != nil {
			return p.info, err
		}
	case '{':
		if err := p.walkObject(w); err != nil {
			return p.info, err
		}
	default:
		if k == 0 && jsonsrc.Empty(w.Dec) {
			return p.info, jsonsrc.Invalid(op, "empty input")
		}
		return p.info, w.WrongKind("the document", k, "an object or array")
	}
	if p.info.Findings == 0 {
		p.warnf("the document has no findings")
	}
	return p.info, nil
}

// parser holds the state of one Parse call.
type parser struct {
	file string
	emit sextant.Emit
	info sextant.ReportInfo
}

func (p *parser) warnf(format string, args ...any) {
	p.info.Warnings = append(p.info.Warnings, fmt.Sprintf(format, args...))
}

// walkObject reads {"Findings": [...]}.
func (p *parser) walkObject(w *jsonsrc.Walker) error {
	if err := w.Open("the document", '{'); err != nil {
		return err
	}
	saw := false
	for {
		name, ok, err := w.Key()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch name {
		case "Findings":
			saw = true
			if err := p.walkFindings(w); err != nil {
				return err
			}
		case "findings":
			return sextant.Errorf(sextant.EINVALID, "%s: this looks like an Amazon Inspector2 findings export (top-level \"findings\"), not ASFF; export the findings from Security Hub instead", op)
		default:
			if err := w.Skip(); err != nil {
				return err
			}
		}
	}
	if !saw {
		return sextant.Errorf(sextant.EINVALID, "%s: no \"Findings\" member: not an ASFF document", op)
	}
	return nil
}

// walkFindings reads the findings array one element at a time.
func (p *parser) walkFindings(w *jsonsrc.Walker) error {
	if w.Dec.PeekKind() == 'n' {
		return w.Skip()
	}
	if err := w.Open(`"Findings"`, '['); err != nil {
		return err
	}
	for {
		more, err := w.More()
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
		var in finding
		if err := w.Decode(&in); err != nil {
			return err
		}
		f := p.finding(&in)
		f.ID = sextant.Fingerprint(f)
		p.info.Findings++
		if err := p.emit(f); err != nil {
			return err
		}
	}
}

// finding builds the sextant finding for one ASFF finding.
func (p *parser) finding(in *finding) *sextant.Finding {
	f := &sextant.Finding{}
	var other map[string]jsonsrc.FlexString
	var res *resource
	if len(in.Resources) > 0 {
		res = &in.Resources[0]
		other = res.Details.Other
		if len(in.Resources) > 1 {
			f.Warnings = append(f.Warnings, fmt.Sprintf("the finding lists %d resources; the artifact is the first", len(in.Resources)))
		}
	} else {
		f.Warnings = append(f.Warnings, "the finding lists no resources")
	}
	var vuln *vulnerability
	if len(in.Vulnerabilities) > 0 {
		vuln = &in.Vulnerabilities[0]
		if len(in.Vulnerabilities) > 1 {
			f.Warnings = append(f.Warnings, fmt.Sprintf("the finding lists %d vulnerabilities; only the first is read", len(in.Vulnerabilities)))
		}
	}
	f.Source = p.source(in)

	cveID := string(other["CVE ID"])
	isVuln := vuln != nil || cveID != ""
	for _, t := range in.Types {
		if strings.Contains(t, "/Vulnerabilities") {
			isVuln = true
		}
	}
	f.Title = firstOf(string(other["CVE Title"]), in.Title)
	f.Description = in.Description
	addReference(f, in.Remediation.Recommendation.URL)

	var osFamily, osVersion string
	a := p.artifact(res, &osFamily, &osVersion)
	f.Artifact = a

	if !isVuln {
		f.Kind = sextant.KindMisconfiguration
		f.VulnerabilityID = firstOf(in.GeneratorID, in.ID)
		if res != nil {
			f.Location = res.ID
		}
	} else {
		f.Kind = sextant.KindVulnerability
		generator := in.GeneratorID
		if _, after, ok := strings.Cut(generator, "/"); ok {
			generator = after // Trivy writes "Trivy/CVE-…"
		}
		if vuln != nil {
			f.VulnerabilityID = vuln.ID
			f.Aliases = slices.Clone(vuln.RelatedVulnerabilities)
		}
		f.VulnerabilityID = firstOf(f.VulnerabilityID, cveID, generator, in.ID)
		p.pkg(f, vuln, other, osFamily)
	}

	// Severity: the product's label, then the normalised 0–100 score.
	label := firstOf(in.Severity.Label, in.FindingProviderFields.Severity.Label)
	switch {
	case label != "":
		s, ok := sextant.ParseSeverity(label)
		if !ok {
			f.Warnings = append(f.Warnings, fmt.Sprintf("unknown severity %q; kept as UNKNOWN", label))
		}
		f.Severity = s
		f.Severities = append(f.Severities, sextant.SourcedSeverity{Source: f.Source.Scanner, Severity: s, Text: label})
	case in.Severity.Normalized != "":
		if n, ok := in.Severity.Normalized.Float(); ok {
			f.Severity = normalizedSeverity(n)
		} else {
			f.Warnings = append(f.Warnings, fmt.Sprintf("Severity.Normalized %q is not a number", string(in.Severity.Normalized)))
		}
	default:
		f.Warnings = append(f.Warnings, "no severity given; kept as UNKNOWN")
	}
	if vuln != nil && vuln.Vendor.VendorSeverity != "" {
		s, _ := sextant.ParseSeverity(vuln.Vendor.VendorSeverity)
		f.Severities = append(f.Severities, sextant.SourcedSeverity{Source: strings.ToLower(firstOf(vuln.Vendor.Name, "vendor")), Severity: s, Text: vuln.Vendor.VendorSeverity})
	}

	// CVSS: Trivy's NVD fields, then the standard Cvss list.
	addCVSS(f, "nvd", "3.0", string(other["NvdCvssVectorV3"]), other["NvdCvssScoreV3"])
	addCVSS(f, "nvd", "2.0", string(other["NvdCvssVectorV2"]), other["NvdCvssScoreV2"])
	if vuln != nil {
		for _, c := range vuln.Cvss {
			addCVSS(f, strings.ToLower(firstOf(c.Source, "unknown")), cvssVersionName(c.Version), c.BaseVector, c.BaseScore)
		}
		addReference(f, vuln.Vendor.URL)
		for _, u := range vuln.ReferenceURLs {
			addReference(f, u)
		}
		if e, ok := vuln.EpssScore.Float(); ok {
			f.EPSS = &sextant.EPSS{Probability: e}
		}
	}

	if strings.EqualFold(in.RecordState, "ARCHIVED") {
		f.Warnings = append(f.Warnings, "RecordState is ARCHIVED: the finding is no longer current")
	}
	if s := in.Workflow.Status; strings.EqualFold(s, "SUPPRESSED") || strings.EqualFold(s, "RESOLVED") {
		f.Warnings = append(f.Warnings, fmt.Sprintf("Workflow.Status is %s", s))
	}
	if f.VulnerabilityID == "" {
		f.VulnerabilityID = "UNKNOWN"
		f.Warnings = append(f.Warnings, "the finding has no vulnerability, generator or finding ID")
	}
	return f
}

// pkg fills the package, fixed versions and fix state from the standard
// VulnerablePackages, else from Trivy's Details.Other.
func (p *parser) pkg(f *sextant.Finding, vuln *vulnerability, other map[string]jsonsrc.FlexString, osFamily string) {
	if vuln != nil && len(vuln.VulnerablePackages) > 0 {
		vp := vuln.VulnerablePackages[0]
		if len(vuln.VulnerablePackages) > 1 {
			f.Warnings = append(f.Warnings, fmt.Sprintf("the vulnerability lists %d packages; only the first is read", len(vuln.VulnerablePackages)))
		}
		v := vp.Version
		if vp.Release != "" {
			v += "-" + vp.Release
		}
		if vp.Epoch != "" && vp.Epoch != "0" {
			v = vp.Epoch + ":" + v
		}
		f.Package = sextant.Package{Name: vp.Name, Version: v, Type: vp.PackageManager, Path: vp.FilePath, LayerDigest: vp.SourceLayerHash}
		f.Package.Ecosystem = managerEcosystem(vp.PackageManager, v, osFamily)
		if fixed := strings.TrimSpace(vp.FixedInVersion); fixed != "" && !strings.EqualFold(fixed, "NotAvailable") {
			f.FixedVersions = splitList(fixed)
		}
		switch strings.ToUpper(vuln.FixAvailable) {
		case "YES":
			f.FixState = "fixed"
		case "NO":
			f.FixState = "not-fixed"
		case "PARTIAL":
			f.FixState = "partial"
		}
	} else {
		f.Package.Name = string(other["PkgName"])
		f.Package.Version = string(other["Installed Package"])
		for _, k := range []string{"PkgName", "Installed Package"} {
			if _, ok := other[k]; !ok {
				f.Warnings = append(f.Warnings, fmt.Sprintf("Resources[0].Details.Other has no %q", k))
			}
		}
		f.FixedVersions = splitList(string(other["Patched Package"]))
		f.Package.Ecosystem = sextant.Ecosystem(osFamily)
		if !sextant.OSEcosystem(f.Package.Ecosystem) {
			f.Package.Ecosystem = sextant.EcosystemFromVersion(f.Package.Version)
		}
		if f.Package.Ecosystem == "" && f.Package.Name != "" {
			f.Warnings = append(f.Warnings, fmt.Sprintf("cannot tell the ecosystem of package %q: the resource names no known OS and the version carries no distribution marker", f.Package.Name))
		}
	}
	if len(f.FixedVersions) > 0 && f.FixState == "" {
		f.FixState = "fixed"
	}
}

// managerEcosystem maps an ASFF PackageManager onto an ecosystem; OS
// packages take it from the version or the resource's OS.
func managerEcosystem(manager, version, osFamily string) string {
	switch strings.ToUpper(manager) {
	case "OS", "":
		if eco := sextant.Ecosystem(osFamily); sextant.OSEcosystem(eco) {
			return eco
		}
		return sextant.EcosystemFromVersion(version)
	case "JAR", "POM", "GRADLE":
		return "maven"
	case "NPM", "NODEPKG", "YARN", "PNPM":
		return "npm"
	case "PYTHONPKG", "PIP", "PIPENV", "POETRY":
		return "pypi"
	case "GOBINARY", "GOMOD":
		return "golang"
	case "GEMSPEC", "BUNDLER":
		return "gem"
	case "NUGET", "DOTNET_CORE":
		return "nuget"
	case "CARGO":
		return "cargo"
	case "COMPOSER":
		return "composer"
	}
	return sextant.Ecosystem(manager)
}

// artifact reads the image from the first resource: Trivy's
// Container.ImageName "name (alpine 3.10.2)", or an ECR image.
func (p *parser) artifact(res *resource, osFamily, osVersion *string) sextant.Artifact {
	if res == nil {
		return sextant.Artifact{Name: p.file}
	}
	d := &res.Details
	if ecr := d.AwsEcrContainerImage; ecr.RepositoryName != "" || ecr.ImageDigest != "" {
		a := sextant.Artifact{Name: ecr.RepositoryName, Type: "container_image", Repository: ecr.RepositoryName, Digest: ecr.ImageDigest, Tags: slices.Clone(ecr.ImageTags)}
		if len(a.Tags) > 0 {
			a.Name += ":" + a.Tags[0]
		}
		return a
	}
	name := firstOf(d.Container.ImageName, d.Container.Name, res.ID)
	// Trivy appends the OS to its target: "alpine:3.10 (alpine 3.10.2)".
	if i := strings.LastIndex(name, " ("); i > 0 && strings.HasSuffix(name, ")") {
		os := name[i+2 : len(name)-1]
		name = name[:i]
		fam, ver, _ := strings.Cut(os, " ")
		*osFamily, *osVersion = strings.ToLower(fam), ver
	}
	a := sextant.Artifact{Name: name, Type: "container_image", OSFamily: *osFamily, OSVersion: *osVersion}
	if !strings.EqualFold(res.Type, "Container") && res.Type != "" {
		a.Type = res.Type
	}
	repo, tag, digest := sextant.SplitImageRef(name)
	a.Repository = repo
	if tag != "" {
		a.Tags = []string{tag}
	}
	a.Digest = firstOf(d.Container.ImageID, digest)
	return a
}

// source says who produced the finding: the product name, else the
// generator prefix.
func (p *parser) source(in *finding) sextant.Source {
	src := sextant.Source{Format: Format, File: p.file}
	name := firstOf(string(in.ProductFields["Product Name"]), string(in.ProductFields["aws/securityhub/ProductName"]), in.ProductName)
	if name == "" {
		name, _, _ = strings.Cut(in.GeneratorID, "/")
	}
	src.Scanner = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), " ", "-"))
	if src.Scanner == "" {
		src.Scanner = "unknown"
	}
	if t := firstOf(in.UpdatedAt, in.CreatedAt); t != "" {
		if ts, err := time.Parse(time.RFC3339Nano, t); err == nil {
			src.ScanTime = ts.UTC()
		}
	}
	if p.info.Source.Scanner == "" {
		p.info.Source = src
	}
	return src
}

// normalizedSeverity maps ASFF's 0–100 Severity.Normalized onto the scale
// the ASFF documentation gives for Label.
func normalizedSeverity(n float64) sextant.Severity {
	switch {
	case n >= 90:
		return sextant.SeverityCritical
	case n >= 70:
		return sextant.SeverityHigh
	case n >= 40:
		return sextant.SeverityMedium
	case n >= 1:
		return sextant.SeverityLow
	}
	return sextant.SeverityNegligible
}

// addCVSS appends a CVSS rating when there is a vector or a score.
func addCVSS(f *sextant.Finding, source, def, vector string, score jsonsrc.FlexString) {
	s, ok := score.Float()
	if vector == "" && !ok {
		return
	}
	if score != "" && !ok {
		f.Warnings = append(f.Warnings, fmt.Sprintf("CVSS score %q is not a number", string(score)))
	}
	f.CVSS = append(f.CVSS, sextant.CVSS{Source: source, Version: cvssVersion(vector, def), Vector: vector, Score: s})
}

// cvssVersion returns the CVSS version of a vector, or def.
func cvssVersion(vector, def string) string {
	if v, ok := strings.CutPrefix(vector, "CVSS:"); ok {
		ver, _, _ := strings.Cut(v, "/")
		return cvssVersionName(ver)
	}
	if strings.Contains(vector, "Au:") {
		return "2.0"
	}
	return def
}

// cvssVersionName spells a CVSS version as sextant does ("3" → "3.0").
func cvssVersionName(v string) string {
	v = strings.TrimPrefix(strings.TrimSpace(v), "V")
	if len(v) == 1 {
		return v + ".0"
	}
	return v
}

// splitList splits a comma-separated list, trimming blanks.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// addReference appends a URL to the finding's references once.
func addReference(f *sextant.Finding, u string) {
	u = strings.TrimSpace(u)
	if u == "" || slices.Contains(f.References, u) {
		return
	}
	f.References = append(f.References, u)
}

// firstOf returns the first non-empty string.
func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
