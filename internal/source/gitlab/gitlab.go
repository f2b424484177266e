// Package gitlab reads GitLab container-scanning reports
// (gl-container-scanning-report.json, security report schema 14 and 15, as
// GitLab's analyzer and Trivy's gitlab template write them) into sextant
// findings: one finding per vulnerabilities[] entry.
//
// The report names the image and its operating system in every
// vulnerability's location, but no image ID; findings are keyed by
// repository:tag.
package gitlab

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
const Format = "gitlab-container-scanning"

// op prefixes every error this package returns.
const op = "parse gitlab container-scanning report"

// scan is the report's scan object: who scanned, when, and whether it
// succeeded.
type scan struct {
	Analyzer  scanner `json:"analyzer"`
	Scanner   scanner `json:"scanner"`
	Type      string  `json:"type"`
	StartTime string  `json:"start_time"`
	EndTime   string  `json:"end_time"`
	Status    string  `json:"status"`
}

// scanner names the tool that produced the report.
type scanner struct {
	ID      string             `json:"id"`
	Name    string             `json:"name"`
	Version jsonsrc.FlexString `json:"version"`
}

// vulnerability is one vulnerabilities[] entry.
type vulnerability struct {
	ID          string       `json:"id"`
	Category    string       `json:"category"`
	Name        string       `json:"name"`
	Message     string       `json:"message"`
	Description string       `json:"description"`
	CVE         string       `json:"cve"`
	Severity    string       `json:"severity"`
	Solution    string       `json:"solution"`
	Scanner     *scanner     `json:"scanner"`
	Location    location     `json:"location"`
	Identifiers []identifier `json:"identifiers"`
	Links       []link       `json:"links"`
	CVSSVectors []cvssVector `json:"cvss_vectors"`
}

// location says where the vulnerable package is.
type location struct {
	Dependency struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Version string `json:"version"`
	} `json:"dependency"`
	OperatingSystem    string `json:"operating_system"`
	Image              string `json:"image"`
	DefaultBranchImage string `json:"default_branch_image"`
}

// identifier is one name of the vulnerability (CVE, GHSA, distro advisory,
// CWE).
type identifier struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Value string `json:"value"`
	URL   string `json:"url"`
}

// link is a reference URL.
type link struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// cvssVector is one entry of cvss_vectors (schema 15).
type cvssVector struct {
	Vendor string `json:"vendor"`
	Vector string `json:"vector"`
}

// Parse reads one GitLab container-scanning report from r and calls emit
// once per finding, in document order. file is the report's name for
// Source.File ("-" for stdin).
//
// The scan object, which names the scanner, may follow the
// vulnerabilities. When r is an io.ReadSeeker a first pass reads it;
// otherwise findings that precede it are held until it has been read.
func Parse(r io.Reader, file string, emit sextant.Emit) (sextant.ReportInfo, error) {
	p := &parser{file: file, emit: emit}
	p.info = sextant.ReportInfo{Format: Format, Complete: true}
	p.prescan = true
	_, err := jsonsrc.Prescan(op, r, p.walk)
	p.prescan = false
	if err != nil {
		return p.info, err
	}
	if err := p.walk(r); err != nil {
		return p.info, err
	}
	return p.info, nil
}

// parser holds the state of one Parse call.
type parser struct {
	file    string
	emit    sextant.Emit
	info    sextant.ReportInfo
	prescan bool

	scan     *scan
	source   sextant.Source
	held     []pending
	sawVulns bool
	// image is the artifact of the scanned image, once a vulnerability
	// has named it; Trivy's template names the lockfile or language
	// instead for language packages.
	image *sextant.Artifact

	// The artifact of the last image seen, reused while it repeats.
	lastImage, lastOS string
	artifact          sextant.Artifact
}

func (p *parser) warnf(format string, args ...any) {
	p.info.Warnings = append(p.info.Warnings, fmt.Sprintf(format, args...))
}

// walk reads the top-level object. In the first of two passes it reads
// only the scan object.
func (p *parser) walk(r io.Reader) error {
	w := jsonsrc.NewWalker(op, r, 0, jsonsrc.LenientAnyCase)
	if k := w.Dec.PeekKind(); k != '{' {
		if k == 0 && jsonsrc.Empty(w.Dec) {
			return jsonsrc.Invalid(op, "empty input")
		}
		return w.WrongKind("the document", k, "an object")
	}
	if err := w.Open("the document", '{'); err != nil {
		return err
	}
	remediations := 0
	for {
		name, ok, err := w.Key()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch {
		case name == "scan" && p.scan == nil:
			var s scan
			if err := w.Decode(&s); err != nil {
				return err
			}
			p.scan = &s
			if !p.prescan {
				if err := p.release(); err != nil {
					return err
				}
			}
		case name == "vulnerabilities" && !p.prescan:
			p.sawVulns = true
			if err := p.walkVulnerabilities(w); err != nil {
				return err
			}
		case name == "remediations" && !p.prescan && w.Dec.PeekKind() == '[':
			if err := w.Open(`"remediations"`, '['); err != nil {
				return err
			}
			for {
				more, err := w.More()
				if err != nil {
					return err
				}
				if !more {
					break
				}
				remediations++
				if err := w.Skip(); err != nil {
					return err
				}
			}
		case name == "version" && !p.prescan:
			var v jsonsrc.FlexString
			if err := w.Decode(&v); err != nil {
				return err
			}
			if v != "" && !strings.HasPrefix(string(v), "14.") && !strings.HasPrefix(string(v), "15.") {
				p.warnf("report schema version %q; read as 15.x", string(v))
			}
		default:
			if err := w.Skip(); err != nil {
				return err
			}
		}
	}
	if p.prescan {
		return nil
	}
	if !p.sawVulns {
		return sextant.Errorf(sextant.EINVALID, "%s: no \"vulnerabilities\" member: not a GitLab security report", op)
	}
	if remediations > 0 {
		p.warnf("%d remediations[] entries not used: fixed versions are read from each vulnerability's solution", remediations)
	}
	if p.scan == nil {
		p.warnf("the report has no scan object: scanner unknown")
	}
	return p.release()
}

// walkVulnerabilities reads vulnerabilities[] one element at a time.
func (p *parser) walkVulnerabilities(w *jsonsrc.Walker) error {
	if w.Dec.PeekKind() == 'n' {
		return w.Skip()
	}
	if err := w.Open(`"vulnerabilities"`, '['); err != nil {
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
		var v vulnerability
		if err := w.Decode(&v); err != nil {
			return err
		}
		f, needsImage := p.finding(&v)
		p.held = append(p.held, pending{f, needsImage})
		if err := p.drain(false); err != nil {
			return err
		}
	}
}

// pending is a finding waiting for the scan object (which names the
// scanner) or, for a language package, for the image to be named.
type pending struct {
	f          *sextant.Finding
	needsImage bool
}

// release sends every held finding: the document has been read.
func (p *parser) release() error { return p.drain(true) }

// drain sends held findings from the front while they are complete; at
// the end of the document, all of them.
func (p *parser) drain(end bool) error {
	n := 0
	for _, h := range p.held {
		if !end && (p.scan == nil || (h.needsImage && p.image == nil)) {
			break
		}
		if h.needsImage {
			if p.image != nil {
				h.f.Artifact = *p.image
				h.f.Artifact.Tags = slices.Clone(p.image.Tags)
			} else {
				h.f.Warnings = append(h.f.Warnings, "the report names no image; the finding is keyed by its language target")
			}
		}
		p.held[n] = pending{}
		n++
		if err := p.send(h.f); err != nil {
			return err
		}
	}
	p.held = p.held[:copy(p.held, p.held[n:])]
	return nil
}

// send completes a finding with its source and fingerprint and emits it.
func (p *parser) send(f *sextant.Finding) error {
	src := p.sourceFor()
	scannerID := f.Source.Scanner
	f.Source = src
	if scannerID != "" {
		f.Source.Scanner = scannerID
	}
	for i := range f.Severities {
		if f.Severities[i].Source == "" {
			f.Severities[i].Source = f.Source.Scanner
		}
	}
	f.ID = sextant.Fingerprint(f)
	p.info.Findings++
	return p.emit(f)
}

// sourceFor returns the report's source, computed once from the scan
// object.
func (p *parser) sourceFor() sextant.Source {
	if p.source.Format != "" {
		return p.source
	}
	src := sextant.Source{Scanner: "gitlab", Format: Format, File: p.file}
	if s := p.scan; s != nil {
		sc := s.Scanner
		if sc.ID == "" && sc.Name == "" {
			sc = s.Analyzer
		}
		if id := strings.ToLower(firstOf(sc.ID, sc.Name)); id != "" {
			src.Scanner = id
		}
		src.Version = string(sc.Version)
		if t := firstOf(s.StartTime, s.EndTime); t != "" {
			if ts, ok := parseTime(t); ok {
				src.ScanTime = ts
			} else {
				p.warnf("cannot read scan time %q", t)
			}
		}
		if s.Status != "" && !strings.EqualFold(s.Status, "success") {
			p.info.Complete = false
			p.warnf("scan status %q: the scan may be partial", s.Status)
		}
	}
	p.source = src
	p.info.Source = src
	return src
}

// parseTime reads GitLab's scan times, which come without a zone
// ("2021-08-25T12:20:30", UTC) or as RFC 3339.
func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// finding builds the finding for one vulnerability, without its source.
// needsImage is set when the location names a language target rather than
// the image (Trivy's template writes the first word of its target, "Node.js"
// or "var/www/composer.lock", as the image for language packages).
func (p *parser) finding(v *vulnerability) (f *sextant.Finding, needsImage bool) {
	f = &sextant.Finding{Kind: sextant.KindVulnerability}
	if v.Scanner != nil {
		f.Source.Scanner = strings.ToLower(firstOf(v.Scanner.ID, v.Scanner.Name))
	}
	f.VulnerabilityID, f.Aliases = vulnerabilityIDs(v)
	if f.VulnerabilityID == "" {
		f.VulnerabilityID = "UNKNOWN"
		f.Warnings = append(f.Warnings, "the vulnerability has no identifier, cve or id")
	}
	f.Title = firstOf(v.Name, v.Message)
	f.Description = v.Description
	for _, id := range v.Identifiers {
		addReference(f, id.URL)
	}
	for _, l := range v.Links {
		addReference(f, l.URL)
	}

	loc := &v.Location
	f.Package.Name = loc.Dependency.Package.Name
	f.Package.Version = loc.Dependency.Version
	if f.Package.Name == "" {
		f.Warnings = append(f.Warnings, "location.dependency.package.name is empty")
	}
	image := loc.Image
	if image == "" {
		image = loc.DefaultBranchImage
	}
	family, osVersion := splitOS(loc.OperatingSystem)
	if eco := targetEcosystem(image, f.Package.Name); eco != "" {
		needsImage = true
		f.Package.Ecosystem = eco
		if _, named := targetNames[image]; !named {
			f.Package.Path = image
		}
	} else {
		f.Package.Ecosystem = sextant.Ecosystem(family)
		if family == "" || !sextant.OSEcosystem(f.Package.Ecosystem) {
			if h := sextant.EcosystemFromVersion(f.Package.Version); h != "" {
				f.Package.Ecosystem = h
			} else {
				f.Package.Ecosystem = ""
				f.Warnings = append(f.Warnings, fmt.Sprintf("cannot tell the package ecosystem: operating system %q is not one sextant knows and version %q carries no distribution marker", loc.OperatingSystem, f.Package.Version))
			}
		}
	}

	f.FixedVersions = fixedVersions(v.Solution, f.Package.Name)
	if len(f.FixedVersions) > 0 {
		f.FixState = "fixed"
	} else if v.Solution != "" && !strings.EqualFold(v.Solution, "No solution provided") {
		f.Warnings = append(f.Warnings, fmt.Sprintf("cannot read a fixed version from solution %q", v.Solution))
	}

	word := strings.TrimSpace(v.Severity)
	s, ok := sextant.ParseSeverity(word)
	if !ok {
		f.Warnings = append(f.Warnings, fmt.Sprintf("unknown severity %q; kept as UNKNOWN", word))
	}
	f.Severity = s
	if word != "" {
		f.Severities = []sextant.SourcedSeverity{{Source: f.Source.Scanner, Severity: s, Text: word}}
	}
	for _, c := range v.CVSSVectors {
		if c.Vector == "" {
			continue
		}
		f.CVSS = append(f.CVSS, sextant.CVSS{Source: strings.ToLower(c.Vendor), Version: cvssVersion(c.Vector), Vector: c.Vector})
	}

	if image != p.lastImage || loc.OperatingSystem != p.lastOS || p.artifact.Name == "" {
		p.lastImage, p.lastOS = image, loc.OperatingSystem
		a := sextant.Artifact{Name: image, Type: "container_image", OSFamily: family, OSVersion: osVersion}
		repo, tag, digest := sextant.SplitImageRef(image)
		a.Repository, a.Digest = repo, digest
		if tag != "" {
			a.Tags = []string{tag}
		}
		switch {
		case image == "":
			a = sextant.Artifact{Name: p.file}
			p.warnf("a vulnerability names no image; its finding is keyed by the report name %q", p.file)
		case needsImage:
			a = sextant.Artifact{Name: image}
		}
		p.artifact = a
	}
	if !needsImage && image != "" && p.image == nil {
		a := p.artifact
		p.image = &a
	}
	f.Artifact = p.artifact
	f.Artifact.Tags = slices.Clone(p.artifact.Tags)
	return f, needsImage
}

// targetNames maps the language targets Trivy reports packages of an
// image under to their ecosystems.
var targetNames = map[string]string{
	"Node.js": "npm", "Python": "pypi", "Java": "maven", "Ruby": "gem", "PHP": "composer",
	"Rust": "cargo", ".NET": "nuget", "Dart": "pub", "Elixir": "hex", "Swift": "swift", "Conan": "conan",
}

// targetEcosystem reports the ecosystem when image is a Trivy language
// target rather than an image: a language name, a lock file, or a Go
// binary holding Go modules. It returns "" for an image.
func targetEcosystem(image, pkg string) string {
	if eco, ok := targetNames[image]; ok {
		return eco
	}
	if image == "" || strings.Contains(image, "@") {
		return ""
	}
	base := image[strings.LastIndex(image, "/")+1:]
	switch strings.ToLower(base) {
	case "package.json", "package-lock.json", "yarn.lock", "pnpm-lock.yaml":
		return "npm"
	case "composer.lock", "installed.json":
		return "composer"
	case "gemfile.lock":
		return "gem"
	case "go.mod", "go.sum":
		return "golang"
	case "cargo.lock":
		return "cargo"
	case "requirements.txt", "pipfile.lock", "poetry.lock", "uv.lock":
		return "pypi"
	case "pom.xml", "gradle.lockfile":
		return "maven"
	case "packages.lock.json", "packages.config":
		return "nuget"
	}
	switch {
	case strings.HasSuffix(base, ".jar") || strings.HasSuffix(base, ".war"):
		return "maven"
	case strings.HasSuffix(base, ".deps.json"):
		return "nuget"
	case strings.HasSuffix(base, ".gemspec"):
		return "gem"
	}
	// A Go binary: a path without a tag holding Go modules.
	if !strings.Contains(base, ":") && strings.Contains(image, "/") {
		if host, _, ok := strings.Cut(pkg, "/"); pkg == "stdlib" || ok && strings.Contains(host, ".") {
			return "golang"
		}
	}
	return ""
}

// vulnerabilityIDs picks the identifier to use and the aliases: a CVE
// first, then a GHSA, then the first identifier, then the deprecated cve
// field, then id. CWE and OWASP identifiers are categories, not aliases.
func vulnerabilityIDs(v *vulnerability) (string, []string) {
	var ids []string
	for _, rank := range []string{"cve", "ghsa", ""} {
		for _, id := range v.Identifiers {
			t := strings.ToLower(id.Type)
			if t == "cwe" || t == "owasp" {
				continue
			}
			if (rank == "" || t == rank) && id.Value != "" && !slices.Contains(ids, id.Value) {
				ids = append(ids, id.Value)
			}
		}
	}
	if c := v.CVE; c != "" {
		// Old analyzers wrote "debian:10:libc6:CVE-2020-1751".
		if i := strings.LastIndex(c, ":"); i >= 0 {
			c = c[i+1:]
		}
		if c != "" && !slices.Contains(ids, c) {
			ids = append(ids, c)
		}
	}
	if len(ids) == 0 {
		return v.ID, nil
	}
	return ids[0], ids[1:]
}

// fixedVersions reads the versions out of a solution "Upgrade pkg to 1.2,
// 1.3".
func fixedVersions(solution, pkg string) []string {
	s := strings.TrimSpace(solution)
	rest, ok := strings.CutPrefix(s, "Upgrade ")
	if !ok {
		return nil
	}
	i := strings.LastIndex(rest, " to ")
	if i < 0 {
		return nil
	}
	if name := rest[:i]; pkg != "" && name != pkg {
		return nil
	}
	var out []string
	for _, v := range strings.Split(rest[i+len(" to "):], ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// splitOS splits "alpine 3.10.2", "debian:11" or "Unknown" into a family
// and version.
func splitOS(s string) (family, version string) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "unknown") {
		return "", ""
	}
	i := strings.IndexAny(s, " :")
	if i < 0 {
		return strings.ToLower(s), ""
	}
	return strings.ToLower(s[:i]), strings.TrimSpace(s[i+1:])
}

// cvssVersion returns the CVSS version of a vector.
func cvssVersion(vector string) string {
	if v, ok := strings.CutPrefix(vector, "CVSS:"); ok {
		ver, _, _ := strings.Cut(v, "/")
		if len(ver) == 1 {
			ver += ".0"
		}
		return ver
	}
	return "2.0"
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
