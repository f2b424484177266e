package triage

import (
	"strings"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/risk"
)

// FindingInput builds the risk model's input for one finding exactly as the
// Engine does for its records, from the finding itself: the service scores
// findings one report at a time with it, and a finding scores the same in
// `sextant triage` and in `sextant serve`. opts supplies the KEV and EPSS
// lookups and IgnoreReportKEV; ctx may be nil.
func FindingInput(f *sextant.Finding, ctx *sextant.ArtifactContext, opts *Options) risk.Input {
	in := risk.Input{
		Severity:        f.Severity,
		CVSS:            f.CVSS,
		FixAvailable:    len(f.FixedVersions) > 0,
		ExploitMaturity: exploitMaturity(f.CVSS),
		Kind:            kinds[kindIndex(f.Kind)],
		Context:         ctx,
	}
	if in.Kind != sextant.KindVulnerability {
		in.RuleID = f.VulnerabilityID
	}
	for _, s := range f.Severities {
		if !strings.EqualFold(s.Source, "nvd") {
			in.VendorSource = s.Source
			break
		}
	}
	cve := sextant.CanonicalVulnerabilityID(f.VulnerabilityID, f.Aliases)
	if opts.KEV != nil {
		in.KEVKnown = true
		if k, ok := opts.KEV(cve); ok {
			in.KEV = &k
		}
	}
	if in.KEV == nil && f.KnownExploited && !opts.IgnoreReportKEV {
		in.KEVKnown = true
		in.KEV = &risk.KEVFact{}
	}
	if opts.EPSS != nil {
		if s, ok := opts.EPSS(cve); ok {
			in.EPSS = &s
		}
	}
	if in.EPSS == nil && f.EPSS != nil {
		e := *f.EPSS
		// The Engine keeps report scores as float32; round the same way so
		// both paths give the same score.
		e.Probability, e.Percentile = float64(float32(e.Probability)), float64(float32(e.Percentile))
		in.EPSS = &e
	}
	if ctx != nil && f.Package.Name != "" {
		for _, l := range ctx.LoadedPackages {
			if l == f.Package.Name || (f.Package.SourceName != "" && l == f.Package.SourceName) {
				in.PackageLoaded = true
				break
			}
		}
	}
	return in
}
