package grype

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/package-url/packageurl-go"
	"github.com/sextant-dev/sextant"
)

// finding turns one match into a finding, using the report's artifact and
// source.
func (p *parser) finding(m *match) *sextant.Finding {
	v := &m.Vulnerability
	f := &sextant.Finding{
		Kind:            sextant.KindVulnerability,
		VulnerabilityID: strings.TrimSpace(v.ID),
		Description:     v.Description,
		Artifact:        p.art,
		Source:          p.srcInfo,
	}
	// The artifact's slices are shared by every finding of the report;
	// receivers that want to change them must copy them first.

	if f.VulnerabilityID == "" {
		for _, rv := range m.RelatedVulnerabilities {
			if id := strings.TrimSpace(rv.ID); id != "" {
				f.VulnerabilityID = id
				f.Warnings = append(f.Warnings, fmt.Sprintf("match has no vulnerability id; using the related %s", id))
				break
			}
		}
		if f.VulnerabilityID == "" {
			f.Warnings = append(f.Warnings, "match has no vulnerability id")
		}
	}
	for _, rv := range m.RelatedVulnerabilities {
		id := strings.TrimSpace(rv.ID)
		if id != "" && !strings.EqualFold(id, f.VulnerabilityID) && !slices.Contains(f.Aliases, id) {
			f.Aliases = append(f.Aliases, id)
		}
		if f.Description == "" {
			f.Description = rv.Description
		}
	}

	f.References = appendRefs(f.References, v.DataSource)
	f.References = appendRefs(f.References, v.URLs...)
	f.References = appendRefs(f.References, v.Links...)
	for _, a := range v.Advisories {
		f.References = appendRefs(f.References, a.Link)
	}
	for _, rv := range m.RelatedVulnerabilities {
		f.References = appendRefs(f.References, rv.DataSource)
	}

	f.Package = p.pkg(&m.Artifact, f)

	// Fixes: fix.versions today, fixedInVersion in the 0.7 schema; either
	// may hold a comma-separated list.
	for _, fv := range v.Fix.Versions {
		f.FixedVersions = appendSplit(f.FixedVersions, fv)
	}
	f.FixedVersions = appendSplit(f.FixedVersions, v.FixedInVersion)
	f.FixState = strings.TrimSpace(v.Fix.State)
	if f.FixState == "" && v.FixedInVersion != "" && len(f.FixedVersions) > 0 {
		f.FixState = "fixed"
	}

	// Severity: the matched record's (the vendor's for distro packages),
	// then every related record's, by who gave it.
	src := recordSource(v.Namespace, v.DataSource)
	f.Severity = severity(f, v.Severity, src)
	f.Severities = addSeverity(f.Severities, src, v.Severity, f.Severity)
	for i := range m.RelatedVulnerabilities {
		rv := &m.RelatedVulnerabilities[i]
		rsrc := recordSource(rv.Namespace, rv.DataSource)
		s := severity(f, rv.Severity, rsrc)
		f.Severities = addSeverity(f.Severities, rsrc, rv.Severity, s)
	}

	f.CVSS = addCVSS(f, f.CVSS, v, src)
	for i := range m.RelatedVulnerabilities {
		rv := &m.RelatedVulnerabilities[i]
		f.CVSS = addCVSS(f, f.CVSS, rv, recordSource(rv.Namespace, rv.DataSource))
	}

	f.EPSS = bestEPSS(nil, v.EPSS)
	f.KnownExploited = bool(v.KnownExploited)
	for i := range m.RelatedVulnerabilities {
		rv := &m.RelatedVulnerabilities[i]
		f.EPSS = bestEPSS(f.EPSS, rv.EPSS)
		f.KnownExploited = f.KnownExploited || bool(rv.KnownExploited)
	}

	f.ID = sextant.Fingerprint(f)
	return f
}

// pkg fills in the package from the match's artifact.
func (p *parser) pkg(a *artifact, f *sextant.Finding) sextant.Package {
	pk := sextant.Package{
		Type:    a.Type,
		Name:    a.Name,
		Version: a.Version,
		PURL:    a.PURL,
	}
	var purl *packageurl.PackageURL
	parsePURL := func() *packageurl.PackageURL {
		if purl == nil && a.PURL != "" {
			if u, err := packageurl.FromString(a.PURL); err == nil {
				purl = &u
			} else {
				f.Warnings = append(f.Warnings, fmt.Sprintf("artifact purl %q does not parse: %v", a.PURL, err))
				purl = &packageurl.PackageURL{}
			}
		}
		return purl
	}
	if a.Type != "" {
		pk.Ecosystem = sextant.Ecosystem(a.Type)
	} else if u := parsePURL(); u != nil && u.Type != "" {
		pk.Ecosystem = sextant.Ecosystem(u.Type)
	}
	if pk.Ecosystem == "maven" {
		// Grype names a Java package by its artifact ID alone; the PURL
		// carries the group, and other scanners say "group:artifact".
		if u := parsePURL(); u != nil && u.Type == "maven" && u.Namespace != "" && u.Name != "" {
			pk.Name = u.Namespace + ":" + u.Name
		}
	}
	if pk.Name == "" {
		if u := parsePURL(); u != nil && u.Name != "" {
			pk.Name = u.Name
		}
		if pk.Name == "" {
			f.Warnings = append(f.Warnings, "match artifact has no name")
		} else {
			f.Warnings = append(f.Warnings, "match artifact has no name; using the name in its purl")
		}
	}

	for _, u := range a.Upstreams {
		if u.Name != "" {
			pk.SourceName = u.Name
			break
		}
	}
	if pk.SourceName == "" {
		pk.SourceName = a.Metadata.Source
	}
	if pk.SourceName == "" && a.Metadata.SourceRPM != "" {
		pk.SourceName = srpmName(a.Metadata.SourceRPM)
	}
	if pk.SourceName == "" && (pk.Ecosystem == "deb" || pk.Ecosystem == "rpm" || pk.Ecosystem == "apk") && strings.Contains(a.PURL, "upstream=") {
		if u := parsePURL(); u != nil {
			up := u.Qualifiers.Map()["upstream"]
			if strings.HasSuffix(up, ".src.rpm") {
				up = srpmName(up)
			}
			up, _, _ = strings.Cut(up, "@")
			pk.SourceName = strings.TrimSpace(up)
		}
	}
	if pk.SourceName == pk.Name {
		pk.SourceName = ""
	}

	// Of the places the package was seen, the primary evidence (newer
	// grype) or else the first says where it lives and which layer added it.
	for i := range a.Locations {
		l := &a.Locations[i]
		if l.Primary {
			pk.Path, pk.LayerDiffID = l.Path, l.LayerID
			break
		}
		if i == 0 {
			pk.Path, pk.LayerDiffID = l.Path, l.LayerID
		}
	}
	return pk
}

// srpmName returns the package name of a source RPM file name
// ("tar-1.26-35.el7.src.rpm" → "tar").
func srpmName(s string) string {
	s = strings.TrimSuffix(s, ".src.rpm")
	for range 2 {
		i := strings.LastIndexByte(s, '-')
		if i <= 0 {
			return s
		}
		s = s[:i]
	}
	return s
}

// recordSource names who published a vulnerability record, in the words
// other scanners use: "nvd", "ghsa", or the distro ("debian", "redhat"…).
func recordSource(namespace, dataSource string) string {
	ns := strings.ToLower(strings.TrimSpace(namespace))
	if ns != "" {
		first, _, _ := strings.Cut(ns, ":")
		switch first {
		case "github":
			return "ghsa"
		case "nvd":
			return "nvd"
		case "rhel":
			return "redhat"
		}
		return first
	}
	if u, err := url.Parse(dataSource); err == nil && u.Host != "" {
		switch h := strings.ToLower(u.Host); {
		case strings.HasSuffix(h, "nvd.nist.gov"):
			return "nvd"
		case h == "github.com" && strings.HasPrefix(u.Path, "/advisories"):
			return "ghsa"
		}
	}
	return "grype"
}

// severity normalises a severity word, warning on one it does not know.
func severity(f *sextant.Finding, word, src string) sextant.Severity {
	s, ok := sextant.ParseSeverity(word)
	if !ok {
		f.Warnings = append(f.Warnings, fmt.Sprintf("unknown severity %q from %s; kept as UNKNOWN", word, src))
	}
	return s
}

func addSeverity(list []sextant.SourcedSeverity, src, word string, s sextant.Severity) []sextant.SourcedSeverity {
	word = strings.TrimSpace(word)
	if word == "" {
		return list
	}
	for _, x := range list {
		if x.Source == src && strings.EqualFold(x.Text, word) {
			return list
		}
	}
	return append(list, sextant.SourcedSeverity{Source: src, Severity: s, Text: word})
}

// addCVSS appends a record's CVSS ratings: cvss[] today, cvssV2/cvssV3 in
// the 0.7 schema.
func addCVSS(f *sextant.Finding, list []sextant.CVSS, v *vulnerability, src string) []sextant.CVSS {
	add := func(source, version, vector string, score float64) {
		ver, ok := cvssVersion(version, vector)
		if !ok {
			f.Warnings = append(f.Warnings, fmt.Sprintf("CVSS version %q of %s rating is not one sextant knows; kept as given", version, source))
		}
		c := sextant.CVSS{Source: source, Version: ver, Vector: strings.TrimSpace(vector), Score: score}
		for _, x := range list {
			if x == c {
				return
			}
		}
		list = append(list, c)
	}
	for _, c := range v.CVSS {
		s := strings.TrimSpace(c.Source)
		if s == "" {
			s = src
		}
		add(s, c.Version, c.Vector, c.Metrics.BaseScore)
	}
	if c := v.CVSSV2; c != nil && (c.Vector != "" || c.BaseScore != 0) {
		add(src, "2.0", c.Vector, c.BaseScore)
	}
	if c := v.CVSSV3; c != nil && (c.Vector != "" || c.BaseScore != 0) {
		add(src, "", c.Vector, c.BaseScore)
	}
	return list
}

// cvssVersion normalises a CVSS version to "2.0", "3.0", "3.1" or "4.0",
// reading it from the vector when the version is missing.
func cvssVersion(version, vector string) (string, bool) {
	switch strings.TrimSpace(version) {
	case "2", "2.0":
		return "2.0", true
	case "3", "3.0":
		return "3.0", true
	case "3.1":
		return "3.1", true
	case "4", "4.0":
		return "4.0", true
	case "":
		vector = strings.TrimSpace(vector)
		switch {
		case strings.HasPrefix(vector, "CVSS:3.0/"):
			return "3.0", true
		case strings.HasPrefix(vector, "CVSS:3.1/"):
			return "3.1", true
		case strings.HasPrefix(vector, "CVSS:4.0/"):
			return "4.0", true
		case strings.HasPrefix(vector, "AV:") || strings.HasPrefix(vector, "(AV:"):
			return "2.0", true
		}
		return "", vector == ""
	}
	return strings.TrimSpace(version), false
}

// bestEPSS returns the highest-probability rating among cur and list.
func bestEPSS(cur *sextant.EPSS, list []epss) *sextant.EPSS {
	for _, e := range list {
		if cur == nil || e.EPSS > cur.Probability {
			cur = &sextant.EPSS{Probability: e.EPSS, Percentile: e.Percentile, Date: e.Date}
		}
	}
	return cur
}

// appendSplit appends the trimmed, non-empty items of a comma-separated
// list, skipping duplicates.
func appendSplit(list []string, s string) []string {
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item != "" && !slices.Contains(list, item) {
			list = append(list, item)
		}
	}
	return list
}

func appendRefs(list []string, refs ...string) []string {
	for _, r := range refs {
		r = strings.TrimSpace(r)
		if r != "" && !slices.Contains(list, r) {
			list = append(list, r)
		}
	}
	return list
}
