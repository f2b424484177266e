package sarif

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/jsonsrc"
)

// Trivy's rule names, one per result class.
const (
	trivyOSPackage   = "OsPackageVulnerability"
	trivyLangPackage = "LanguageSpecificPackageVulnerability"
	trivyMisconfig   = "Misconfiguration"
	trivySecret      = "Secret"
	trivyLicense     = "License"
)

// grypeHelpURI is the helpUri Grype puts on every rule; it says nothing
// about the vulnerability.
const grypeHelpURI = "https://github.com/anchore/grype"

// finding builds the finding for one result.
func (rs *runState) finding(it *item, p *parser) *sextant.Finding {
	res := &it.res
	r := rs.rule(res)
	f := &sextant.Finding{Source: rs.source, Artifact: cloneArtifact(rs.artifact)}
	if rs.anonymous && rs.kind != toolGrype {
		f.Artifact = cloneArtifact(rs.anonymousArtifact(p))
	}
	if r == nil {
		switch {
		case res.RuleID != "":
			f.Warnings = append(f.Warnings, fmt.Sprintf("rule %q is not in tool.driver.rules; title, description and rule properties are missing", res.RuleID))
		case res.RuleIndex != nil:
			f.Warnings = append(f.Warnings, fmt.Sprintf("rule index %d is not in tool.driver.rules; title, description and rule properties are missing", *res.RuleIndex))
		}
	}
	switch rs.kind {
	case toolTrivy:
		rs.trivy(f, it, r)
	case toolGrype:
		rs.grype(f, it, r, p)
	case toolScout:
		rs.scout(f, it, r)
	default:
		rs.generic(f, it, r)
	}

	if res.Suppressed {
		f.Warnings = append(f.Warnings, "the scanner marked this result as suppressed")
	}
	for _, s := range res.Suppressions {
		if strings.EqualFold(s.Status, "rejected") {
			continue
		}
		w := "the scanner marked this result as suppressed"
		if s.Kind != "" {
			w += " (" + s.Kind + ")"
		}
		if s.Justification != "" {
			w += ": " + s.Justification
		}
		f.Warnings = append(f.Warnings, w)
	}
	switch res.Kind {
	case "pass", "notApplicable", "informational":
		f.Warnings = append(f.Warnings, fmt.Sprintf("SARIF result kind %q: the tool does not report this as a failure", res.Kind))
	}
	if res.BaselineState == "absent" {
		f.Warnings = append(f.Warnings, `SARIF baselineState "absent": the result is gone relative to the tool's baseline`)
	}
	if f.VulnerabilityID == "" {
		f.VulnerabilityID = "UNKNOWN"
		f.Warnings = append(f.Warnings, "the result names no rule or vulnerability")
	}
	if f.EPSS == nil && rs.epss != nil {
		if e, ok := rs.epss[sextant.CanonicalVulnerabilityID(f.VulnerabilityID, f.Aliases)]; ok {
			f.EPSS = &e
		}
	}
	return f
}

// trivy reads a result as Trivy writes it: the class in the rule name, the
// package and versions in "Key: value" lines of the message.
func (rs *runState) trivy(f *sextant.Finding, it *item, r *rule) {
	res, fl := &it.res, &it.fields
	class := ""
	if r != nil {
		class = r.Name
		f.Title = r.ShortDescription.Text
		f.Description = r.FullDescription.Text
		addReference(f, r.HelpURI)
	}
	switch {
	case it.os:
		class = trivyOSPackage
	case class == trivyOSPackage:
		// The rule was named after an OS package result of the same
		// vulnerability; this one is in a language package.
		class = trivyLangPackage
	case class == "":
		if fl.Artifact != "" && fl.Package == "" {
			class = trivyMisconfig
		} else {
			class = trivyLangPackage
		}
	}
	f.VulnerabilityID = firstOf(res.RuleID, fl.Vulnerability)
	if f.VulnerabilityID == "" && r != nil {
		f.VulnerabilityID = r.ID
	}
	addReference(f, linkURL(fl.Link))

	switch class {
	case trivyMisconfig, trivySecret, trivyLicense:
		f.Kind = sextant.KindMisconfiguration
		if class == trivySecret {
			f.Kind = sextant.KindSecret
		}
		if class == trivyLicense {
			f.Package.Name = fl.Package
			f.Warnings = append(f.Warnings, "license finding kept as a misconfiguration: sextant has no license kind")
		}
		f.Location = locationOf(res)
		if fl.Message != "" && fl.Message != f.Description {
			f.Description = joinText(fl.Message, f.Description)
		}
	default:
		if class != trivyOSPackage && class != trivyLangPackage {
			f.Warnings = append(f.Warnings, fmt.Sprintf("unknown Trivy result class %q; read as a package vulnerability", class))
		}
		f.Kind = sextant.KindVulnerability
		f.Package.Name = fl.Package
		f.Package.Version = fl.InstalledVersion
		if fl.seen&seenPackage == 0 {
			f.Warnings = append(f.Warnings, `the message has no "Package:" line`)
		}
		if fl.seen&seenInstalledVersion == 0 {
			f.Warnings = append(f.Warnings, `the message has no "Installed Version:" line`)
		}
		if class == trivyOSPackage {
			// Trivy points OS package results at the image, not a file.
			f.Package.Ecosystem = rs.osEco
			if rs.osWarning != "" {
				f.Warnings = append(f.Warnings, rs.osWarning)
			}
		} else {
			f.Package.Path = firstURI(res)
			eco := pathEcosystem(f.Package.Path)
			if eco == "" && goModule(f.Package.Name) {
				eco = "golang"
			}
			if eco == "" {
				f.Warnings = append(f.Warnings, fmt.Sprintf("cannot tell the ecosystem of package %q from its path %q", f.Package.Name, f.Package.Path))
			}
			f.Package.Ecosystem = eco
		}
		if fl.seen&seenFixedVersion == 0 {
			f.Warnings = append(f.Warnings, `the message has no "Fixed Version:" line`)
		}
		f.FixedVersions = splitList(fl.FixedVersion)
		if len(f.FixedVersions) > 0 {
			f.FixState = "fixed"
		}
		if r != nil {
			addCVSS(f, "trivy", "2.0", r.Properties.CVSSv2Vector, r.Properties.CVSSv2Score)
			addCVSS(f, "trivy", "3.0", r.Properties.CVSSv3Vector, r.Properties.CVSSv3Score)
		}
	}
	if !setSeverity(f, "trivy", fl.Severity) {
		f.Warnings = append(f.Warnings, `the message has no "Severity:" line`)
		fallbackSeverity(f, r, res)
	}
}

// grype reads a result as Grype writes it: the package in the message
// sentence, the vulnerability, fix and link in the rule help text, the
// package URL in the rule properties.
func (rs *runState) grype(f *sextant.Finding, it *item, r *rule, p *parser) {
	res := &it.res
	m := parseGrypeMessage(res.Message.Text)
	var hf fields
	if r != nil {
		hf = parseFields(r.Help.Text)
		f.Title = r.ShortDescription.Text
		f.Description = r.FullDescription.Text
		if r.HelpURI != grypeHelpURI {
			addReference(f, r.HelpURI)
		}
	}
	addReference(f, linkURL(hf.Link))
	f.Kind = sextant.KindVulnerability
	if !m.ok {
		f.Warnings = append(f.Warnings, fmt.Sprintf("cannot read the package from the message %q", truncate(res.Message.Text, 120)))
	}
	pk := &f.Package
	pk.Type = firstOf(m.Type, hf.Type)
	pk.Ecosystem = sextant.Ecosystem(pk.Type)
	pk.Name = firstOf(m.Name, hf.Package)
	pk.Version = firstOf(m.Version, hf.Version)
	f.VulnerabilityID = hf.Vulnerability
	if f.VulnerabilityID == "" {
		// The rule ID is "<vulnerability>-<package name>".
		f.VulnerabilityID = res.RuleID
		if pk.Name != "" {
			f.VulnerabilityID = strings.TrimSuffix(res.RuleID, "-"+pk.Name)
		}
	}
	if r != nil {
		for _, u := range r.Properties.Purls {
			// The rule is shared by every version of the package; take
			// the package URL of this one.
			var pp sextant.Package
			if !purlPackage(u, &pp) || (pk.Version != "" && pp.Version != pk.Version && purlVersion(u) != pk.Version) {
				continue
			}
			pk.PURL = u
			if pp.Ecosystem == "maven" || pk.Name == "" {
				// Grype names Java packages by artifact ID alone.
				pk.Name = pp.Name
			}
			if pk.Ecosystem == "" {
				pk.Ecosystem = pp.Ecosystem
			}
			break
		}
	}
	if len(res.Locations) > 0 {
		if ll := res.Locations[0].LogicalLocations; len(ll) > 0 {
			pk.Path = ll[0].Name
			pk.LayerDiffID = grypeLayer(ll[0].FullyQualifiedName)
		}
	}
	if pk.Path == "" {
		pk.Path = firstOf(m.Path, hf.Location)
	}
	f.FixedVersions = splitList(hf.FixedVersion)
	if len(f.FixedVersions) > 0 {
		f.FixState = "fixed"
	}
	if !setSeverity(f, "grype", m.Severity) && !setSeverity(f, "grype", hf.Severity) {
		fallbackSeverity(f, r, res)
	}
	if m.Image != "" {
		f.Artifact = grypeArtifact(m.Image)
	} else {
		f.Artifact = cloneArtifact(rs.anonymousArtifact(p))
	}
}

// grypeLayer returns the layer in Grype's logical location name
// "<image>@<layer>:/<path>".
func grypeLayer(fqn string) string {
	head, _, ok := strings.Cut(fqn, ":/")
	if !ok {
		return ""
	}
	i := strings.LastIndex(head, "@")
	if i < 0 {
		return ""
	}
	layer := head[i+1:]
	if !strings.Contains(layer, ":") {
		return ""
	}
	return layer
}

// grypeArtifact is the image Grype names in its messages (the user input).
func grypeArtifact(image string) sextant.Artifact {
	a := sextant.Artifact{Name: image, Type: "container_image"}
	repo, tag, digest := sextant.SplitImageRef(image)
	a.Repository, a.Digest = repo, digest
	if tag != "" {
		a.Tags = []string{tag}
	}
	return a
}

// scout reads a result as Docker Scout writes it: "Key   :value" lines in
// the message with the package as a package URL.
func (rs *runState) scout(f *sextant.Finding, it *item, r *rule) {
	res, fl := &it.res, &it.fields
	f.Kind = sextant.KindVulnerability
	f.VulnerabilityID = firstOf(fl.Vulnerability, res.RuleID)
	if r != nil {
		if f.VulnerabilityID == "" {
			f.VulnerabilityID = r.ID
		}
		f.Title = r.ShortDescription.Text
		f.Description = firstOf(r.FullDescription.Text, strings.TrimSpace(r.Help.Text))
		addReference(f, r.HelpURI)
	}
	switch {
	case fl.Package != "":
		if !purlPackage(fl.Package, &f.Package) {
			f.Package.Name = fl.Package
			f.Warnings = append(f.Warnings, fmt.Sprintf("package %q is not a package URL; ecosystem and version unknown", fl.Package))
		}
	case r != nil && len(r.Properties.Purls) == 1:
		purlPackage(r.Properties.Purls[0], &f.Package)
		f.Warnings = append(f.Warnings, `the message has no "Package" line; package taken from the rule`)
	default:
		f.Warnings = append(f.Warnings, `the message has no "Package" line`)
	}
	f.Package.Path = firstURI(res)
	if len(res.Locations) > 1 {
		f.Warnings = append(f.Warnings, fmt.Sprintf("the package was found at %d paths; Path holds the first", len(res.Locations)))
	}
	fixed := fl.FixedVersion
	if fl.seen&seenFixedVersion == 0 && r != nil {
		fixed = string(r.Properties.FixedVersion)
	}
	if strings.EqualFold(strings.TrimSpace(fixed), "not fixed") {
		f.FixState = "not-fixed"
	} else if f.FixedVersions = splitList(fixed); len(f.FixedVersions) > 0 {
		f.FixState = "fixed"
	}
	if !setSeverity(f, "docker-scout", fl.Severity) {
		fallbackSeverity(f, r, res)
	}
	if fl.CVSSScore != "" || fl.CVSSVector != "" {
		addCVSS(f, "docker-scout", "3.0", fl.CVSSVector, jsonsrc.FlexString(fl.CVSSScore))
	} else if r != nil {
		addCVSS(f, "docker-scout", "3.0", r.Properties.CVSSv3Vector, r.Properties.CVSSv3)
	}
	if fl.EPSSScore != "" {
		prob, err1 := strconv.ParseFloat(fl.EPSSScore, 64)
		pct, err2 := strconv.ParseFloat(fl.EPSSPercentile, 64)
		if err1 == nil && err2 == nil {
			f.EPSS = &sextant.EPSS{Probability: prob, Percentile: pct}
		} else {
			f.Warnings = append(f.Warnings, fmt.Sprintf("cannot read EPSS score %q / percentile %q", fl.EPSSScore, fl.EPSSPercentile))
		}
	}
}

// generic reads a result from any other SARIF producer: the rule ID is the
// check or vulnerability, the location is where it is.
func (rs *runState) generic(f *sextant.Finding, it *item, r *rule) {
	res := &it.res
	f.VulnerabilityID = res.RuleID
	var tags []string
	if r != nil {
		if f.VulnerabilityID == "" {
			f.VulnerabilityID = r.ID
		}
		f.Title = firstOf(r.ShortDescription.Text, r.Name)
		f.Description = firstOf(r.FullDescription.Text, r.Help.Text)
		addReference(f, r.HelpURI)
		for _, t := range r.Properties.Tags {
			tags = append(tags, strings.ToLower(string(t)))
		}
	}
	if f.Title == "" {
		f.Title, _, _ = strings.Cut(res.Message.Text, "\n")
	}
	if f.Description == "" {
		f.Description = res.Message.Text
	}
	upper := strings.ToUpper(f.VulnerabilityID)
	switch {
	case slices.Contains(tags, "secret") || slices.Contains(tags, "secrets"):
		f.Kind = sextant.KindSecret
	case slices.Contains(tags, "vulnerability") || strings.HasPrefix(upper, "CVE-") || strings.HasPrefix(upper, "GHSA-"):
		f.Kind = sextant.KindVulnerability
	default:
		f.Kind = sextant.KindMisconfiguration
	}
	f.Location = locationOf(res)
	purl := string(res.Properties.PURL)
	if purl == "" && r != nil && len(r.Properties.Purls) == 1 {
		purl = r.Properties.Purls[0]
	}
	if purl != "" {
		if purlPackage(purl, &f.Package) {
			f.Package.Path = firstURI(res)
		} else {
			f.Warnings = append(f.Warnings, fmt.Sprintf("cannot read package URL %q", purl))
		}
	}
	level := firstOf(res.Level)
	if level == "" && r != nil {
		level = r.DefaultConfiguration.Level
	}
	if level != "" {
		f.Severities = append(f.Severities, sextant.SourcedSeverity{Source: rs.scanner(), Text: level})
	}
	fallbackSeverity(f, r, res)
	if n := len(f.Severities); n > 0 {
		f.Severities[n-1].Severity, _ = sextant.ParseSeverity(level)
	}
}

// cloneArtifact copies an artifact so that findings share no slices.
func cloneArtifact(a sextant.Artifact) sextant.Artifact {
	a.Tags = slices.Clone(a.Tags)
	a.RepoDigests = slices.Clone(a.RepoDigests)
	a.Layers = slices.Clone(a.Layers)
	return a
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

// joinText joins two paragraphs, skipping empty ones.
func joinText(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n\n" + b
}

// truncate shortens s to at most n bytes for a warning.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
