// Package risk computes sextant's explainable risk score: a 0–100 value per
// finding, the priority it maps to (P0 act now … P3 accept or backlog), and
// every factor that went into it, with its input, weight, contribution in
// points and evidence. The contributions add up to the value.
//
// The model, in short (docs/scoring.md has the exact formula):
//
//	base  = impact_points × I + threat_points × T × (1 − s + s × I)
//	score = base × Π context multipliers, then the KEV floor, then clamp to 100
//
// I is the impact (CVSS base score / 10, vendor rating first, else the
// severity), T the threat (KEV listing, ransomware use, EPSS, exploit
// maturity, or the prior of the finding's kind) combined as independent
// probabilities, and the multipliers are à la StackRox: fix availability,
// internet exposure, privilege, runtime-loaded package, environment and
// blast radius, each neutral (×1) when unknown.
package risk

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sextant-dev/sextant"
)

// Input is everything the score looks at for one finding.
type Input struct {
	// Severity is the normalised severity from the report; it sets the
	// impact when no usable CVSS rating exists.
	Severity sextant.Severity
	// CVSS are all ratings. The one used prefers the vendor's (source equal
	// to VendorSource), then NVD's, then any; within each, the highest
	// CVSS version, then the highest score.
	CVSS []sextant.CVSS
	// VendorSource names the distribution or vendor whose rating comes
	// first ("redhat", "debian"); it may be empty.
	VendorSource string
	// KEV is set when the vulnerability is in CISA KEV (from the catalog or
	// because the report says so); nil otherwise.
	KEV *KEVFact
	// KEVKnown is false when no KEV catalog was available at all; the kev
	// factor then says "unknown". A non-nil KEV counts whatever KEVKnown says.
	KEVKnown bool
	// EPSS is nil when unknown; Weights.EPSSUnknown is then assumed.
	EPSS *sextant.EPSS
	// FixAvailable says a fixed version exists.
	FixAvailable bool
	// ExploitMaturity is "", "poc", "functional" or "high" when a source
	// says so. When empty, the E: metric of the CVSS vectors is used.
	ExploitMaturity string
	// Kind selects the model: vulnerabilities (and the zero Kind) use KEV,
	// EPSS and exploit maturity; misconfigurations, secrets and runtime
	// events use a per-kind threat level and no EPSS.
	Kind sextant.Kind
	// RuleID is the check or rule ID of a misconfiguration or secret
	// ("private-key", "aws-access-key-id"); for secrets it is matched
	// against Weights.CredentialRules.
	RuleID string
	// Context is what is known about where the artifact runs; nil makes
	// every context factor "unknown" and neutral.
	Context *sextant.ArtifactContext
	// PackageLoaded says the context saw this package loaded at runtime.
	PackageLoaded bool
}

// KEVFact is what the CISA KEV catalog says about a listed vulnerability.
type KEVFact struct {
	// DateAdded is the catalog's dateAdded (YYYY-MM-DD).
	DateAdded string
	// Ransomware is true when knownRansomwareCampaignUse is "Known".
	Ransomware bool
}

// Factor names, in the fixed order in which Score reports them. The first
// twelve are always present; FactorKEVFloor and FactorClamp appear only when
// they change the score.
const (
	FactorImpact          = "impact"
	FactorKEV             = "kev"
	FactorKEVRansomware   = "kev_ransomware"
	FactorEPSS            = "epss"
	FactorExploitMaturity = "exploit_maturity"
	FactorKindThreat      = "kind_threat"
	FactorFixAvailable    = "fix_available"
	FactorExposure        = "internet_exposure"
	FactorPrivileged      = "privileged"
	FactorRuntimeLoaded   = "runtime_loaded"
	FactorEnvironment     = "environment"
	FactorBlastRadius     = "blast_radius"
	FactorKEVFloor        = "kev_floor"
	FactorClamp           = "clamp"
)

// unknown is the Value of a factor whose input is not known.
const unknown = "unknown"

// notApplicable is the Value of a factor the finding's kind does not use.
const notApplicable = "n/a"

// Score computes the explained risk score of one finding. Value is 0..100
// rounded to one decimal; Factors are in the order of the Factor constants
// and their Contributions add up to Value exactly (each contribution is the
// change of the running total rounded to one decimal). w is assumed valid
// (see Weights.Validate).
func Score(in Input, w Weights) sextant.Score {
	return score(in, w, explainFull)
}

// Brief computes the score with its factors' names, values, weights and
// contributions but without their evidence text: the form findings carry
// in bulk output, where the evidence of millions of findings would dwarf
// everything else.
func Brief(in Input, w Weights) sextant.Score {
	return score(in, w, explainNumbers)
}

// How much of the explanation score builds.
const (
	explainNone    = iota // value and priority only
	explainNumbers        // factors without evidence
	explainFull           // factors with evidence
)

// Value computes the same score and priority as Score without building the
// factors and their evidence: for ranking millions of findings, whose
// explanations are built only when shown.
func Value(in Input, w Weights) (float64, sextant.Priority) {
	s := score(in, w, explainNone)
	return s.Value, s.Priority
}

func score(in Input, w Weights, level int) sextant.Score {
	explain := level == explainFull
	s := scorer{explain: level >= explainNumbers, evidence: explain}
	if s.explain {
		s.factors = make([]sextant.Factor, 0, 14)
	}
	kind := in.Kind
	if kind == "" {
		kind = sextant.KindVulnerability
	}
	vuln := kind == sextant.KindVulnerability

	// Impact.
	I, impactValue, impactEvidence := impact(in, w, explain)
	s.add(FactorImpact, impactValue, w.ImpactPoints, w.ImpactPoints*I, impactEvidence)

	// Threat: independent sources combined as T = 1 − Π(1 − t), each
	// credited with the rise of T it causes, in a fixed order.
	g := 1 - w.ThreatImpactScaling + w.ThreatImpactScaling*I
	perThreat := w.ThreatPoints * g
	var T float64
	threat := func(name string, value any, weight, t float64, evidence string) {
		next := 1 - (1-T)*(1-t)
		if explain {
			evidence = fmt.Sprintf("%s; T %.3f → %.3f at %.1f points per unit of T", evidence, T, next, perThreat)
		}
		s.add(name, value, weight, perThreat*(next-T), evidence)
		T = next
	}
	plain := func(name string, value any, weight float64, evidence string) {
		s.add(name, value, weight, 0, evidence)
	}

	switch {
	case in.KEV != nil:
		ev := "listed in CISA KEV"
		if in.KEV.DateAdded != "" {
			ev += " since " + short(in.KEV.DateAdded)
		}
		threat(FactorKEV, true, w.KEV, w.KEV, ev)
		if in.KEV.Ransomware {
			threat(FactorKEVRansomware, true, w.KEVRansomware, w.KEVRansomware, "KEV lists known ransomware campaign use")
		} else {
			plain(FactorKEVRansomware, false, w.KEVRansomware, "no known ransomware campaign use")
		}
	case in.KEVKnown:
		plain(FactorKEV, false, w.KEV, "not listed in CISA KEV")
		plain(FactorKEVRansomware, false, w.KEVRansomware, "not KEV-listed")
	default:
		plain(FactorKEV, unknown, w.KEV, "no KEV catalog available; KEV not considered")
		plain(FactorKEVRansomware, unknown, w.KEVRansomware, "no KEV catalog available")
	}

	if vuln {
		p, value, ev := epssInput(in.EPSS, w, explain)
		threat(FactorEPSS, value, w.EPSSFloor, epssThreat(p, w.EPSSFloor), ev)
		level, ev := maturity(in)
		t := 0.0
		switch level {
		case "poc":
			t = w.ExploitMaturity.PoC
		case "functional":
			t = w.ExploitMaturity.Functional
		case "high":
			t = w.ExploitMaturity.High
		}
		if level == "" {
			plain(FactorExploitMaturity, unknown, 0, ev)
		} else {
			threat(FactorExploitMaturity, level, t, t, ev)
		}
		plain(FactorKindThreat, string(kind), 0, "vulnerabilities are scored on KEV, EPSS and exploit maturity")
	} else {
		ev := fmt.Sprintf("EPSS does not apply to %s findings", kind)
		plain(FactorEPSS, notApplicable, 0, ev)
		plain(FactorExploitMaturity, notApplicable, 0, fmt.Sprintf("exploit maturity does not apply to %s findings", kind))
		t, value, ev := kindThreat(kind, in.RuleID, w)
		threat(FactorKindThreat, value, t, t, ev)
	}

	// Multipliers, each credited with the points it adds or removes.
	if vuln {
		if in.FixAvailable {
			s.multiply(FactorFixAvailable, true, w.NoFix, 1, "a fixed version is available")
		} else {
			s.multiply(FactorFixAvailable, false, w.NoFix, w.NoFix, "no fix available yet: an upgrade cannot be done now; mitigate or accept")
		}
	} else {
		s.multiply(FactorFixAvailable, notApplicable, w.NoFix, 1, fmt.Sprintf("%s findings are fixed by changing the artifact", kind))
	}

	c := in.Context
	if c == nil {
		const ev = "no artifact context known; neutral"
		s.multiply(FactorExposure, unknown, w.Exposed, 1, ev)
		s.multiply(FactorPrivileged, unknown, w.Privileged, 1, ev)
		if vuln {
			s.multiply(FactorRuntimeLoaded, unknown, w.Loaded, 1, ev)
		} else {
			s.multiply(FactorRuntimeLoaded, notApplicable, w.Loaded, 1, fmt.Sprintf("runtime loading does not apply to %s findings", kind))
		}
		s.multiply(FactorEnvironment, unknown, w.Production, 1, ev)
		s.multiply(FactorBlastRadius, unknown, w.BlastRadiusMax, 1, ev)
	} else {
		if c.Exposed {
			s.multiply(FactorExposure, true, w.Exposed, w.Exposed, evidence(c, "exposed", "reachable from the internet"))
		} else {
			s.multiply(FactorExposure, false, w.Exposed, 1, evidence(c, "exposed", "not known to be reachable from the internet"))
		}
		if c.Privileged {
			s.multiply(FactorPrivileged, true, w.Privileged, w.Privileged, evidence(c, "privileged", "runs privileged"))
		} else {
			s.multiply(FactorPrivileged, false, w.Privileged, 1, evidence(c, "privileged", "not known to run privileged"))
		}
		switch {
		case !vuln:
			s.multiply(FactorRuntimeLoaded, notApplicable, w.Loaded, 1, fmt.Sprintf("runtime loading does not apply to %s findings", kind))
		case in.PackageLoaded:
			s.multiply(FactorRuntimeLoaded, true, w.Loaded, w.Loaded, evidence(c, "loaded_packages", "package seen loaded by a running process"))
		case len(c.LoadedPackages) > 0:
			s.multiply(FactorRuntimeLoaded, false, w.NotLoaded, w.NotLoaded, evidence(c, "loaded_packages", fmt.Sprintf("runtime data lists %d loaded packages; this one is not among them", len(c.LoadedPackages))))
		default:
			s.multiply(FactorRuntimeLoaded, unknown, w.Loaded, 1, "no runtime package data; neutral")
		}
		switch env := strings.ToLower(strings.TrimSpace(c.Environment)); env {
		case "production", "prod", "prd", "live":
			s.multiply(FactorEnvironment, env, w.Production, w.Production, evidence(c, "environment", "production environment"))
		case "development", "dev", "test", "testing", "qa", "sandbox", "ci":
			s.multiply(FactorEnvironment, env, w.NonProduction, w.NonProduction, evidence(c, "environment", "non-production environment"))
		case "":
			s.multiply(FactorEnvironment, unknown, w.Production, 1, "environment not known; neutral")
		default:
			s.multiply(FactorEnvironment, short(env), w.Production, 1, evidence(c, "environment", "neither production nor development; neutral"))
		}
		n, what := c.Replicas, "replicas"
		if n <= 0 {
			n, what = c.Workloads, "workloads"
		}
		if n <= 0 {
			s.multiply(FactorBlastRadius, unknown, w.BlastRadiusMax, 1, "workload and replica counts not known; neutral")
		} else {
			s.multiply(FactorBlastRadius, n, w.BlastRadiusMax, blastRadius(n, w),
				evidence(c, what, fmt.Sprintf("%d %s; 1 + min((n−1)/(%d−1), 1) × (%.3g − 1)", n, what, w.BlastRadiusSaturation, w.BlastRadiusMax)))
		}
	}

	if in.KEV != nil {
		floor, ev := w.KEVFloor, "KEV-listed findings score at least %v (P1 or above)"
		if in.KEV.Ransomware {
			floor, ev = w.KEVRansomwareFloor, "KEV-listed findings with ransomware use score at least %v"
		}
		if s.total < floor {
			s.add(FactorKEVFloor, floor, floor, floor-s.total, fmt.Sprintf(ev, floor))
		}
	}
	if s.total > 100 {
		s.add(FactorClamp, 100, 100, 100-s.total, "scores are capped at 100")
	}

	v := float64(s.tenths) / 10
	return sextant.Score{Value: v, Priority: PriorityFor(v, w), Factors: s.factors}
}

// PriorityFor maps a score onto a priority with w.Thresholds: P0 from
// Thresholds.P0 up, P1 from Thresholds.P1, P2 from Thresholds.P2, else P3.
func PriorityFor(value float64, w Weights) sextant.Priority {
	switch {
	case value >= w.Thresholds.P0:
		return sextant.P0
	case value >= w.Thresholds.P1:
		return sextant.P1
	case value >= w.Thresholds.P2:
		return sextant.P2
	}
	return sextant.P3
}

// scorer accumulates factors. total is the exact running score; tenths is
// the running score rounded to 0.1, counted in tenths. Each factor's
// contribution is the change of the rounded running score, so the
// contributions telescope to exactly the rounded final value, and rounding
// stays monotonic.
type scorer struct {
	total    float64
	tenths   int64
	factors  []sextant.Factor
	explain  bool // build factors; off when only the value is wanted
	evidence bool // keep the factors' evidence text
}

func (s *scorer) add(name string, value any, weight, points float64, evidence string) {
	s.total += points
	t := int64(math.Round(s.total * 10))
	if !s.explain {
		s.tenths = t
		return
	}
	if !s.evidence {
		evidence = ""
	}
	s.factors = append(s.factors, sextant.Factor{
		Name:         name,
		Value:        value,
		Weight:       weight,
		Contribution: float64(t-s.tenths) / 10,
		Evidence:     evidence,
	})
	s.tenths = t
}

func (s *scorer) multiply(name string, value any, weight, m float64, evidence string) {
	if m != 1 && s.evidence {
		evidence = fmt.Sprintf("%s; ×%.4g", evidence, m)
	}
	s.add(name, value, weight, s.total*(m-1), evidence)
}

// impact returns I in 0..1 with the factor's value and evidence.
func impact(in Input, w Weights, explain bool) (float64, any, string) {
	if c, why, ok := chooseCVSS(in.CVSS, in.VendorSource); ok {
		if !explain {
			return c.Score / 10, c.Score, ""
		}
		ev := fmt.Sprintf("CVSS %s base score %.1f from %s (%s)", c.Version, c.Score, short(c.Source), why)
		if c.Version == "" {
			ev = fmt.Sprintf("CVSS base score %.1f from %s (%s)", c.Score, short(c.Source), why)
		}
		return c.Score / 10, c.Score, ev + "; I = score/10"
	}
	si := w.SeverityImpact
	var I float64
	switch in.Severity {
	case sextant.SeverityCritical:
		I = si.Critical
	case sextant.SeverityHigh:
		I = si.High
	case sextant.SeverityMedium:
		I = si.Medium
	case sextant.SeverityLow:
		I = si.Low
	case sextant.SeverityNegligible:
		I = si.Negligible
	default:
		I = si.Unknown
	}
	return I, in.Severity.String(), fmt.Sprintf("no usable CVSS rating; severity %s → I = %.3g", in.Severity, I)
}

// chooseCVSS picks the rating the impact uses: the vendor's, then NVD's,
// then any; within a rank the highest version, then the highest score.
// Ratings outside (0, 10] are ignored.
func chooseCVSS(ratings []sextant.CVSS, vendor string) (sextant.CVSS, string, bool) {
	rank := func(c sextant.CVSS) int {
		switch {
		case vendor != "" && strings.EqualFold(strings.TrimSpace(c.Source), strings.TrimSpace(vendor)):
			return 0
		case isNVD(c.Source):
			return 1
		}
		return 2
	}
	var best sextant.CVSS
	found := false
	for _, c := range ratings {
		if math.IsNaN(c.Score) || c.Score <= 0 || c.Score > 10 {
			continue
		}
		if !found {
			best, found = c, true
			continue
		}
		rb, rc := rank(best), rank(c)
		vb, vc := cvssVersion(best), cvssVersion(c)
		if rc < rb || rc == rb && (vc > vb || vc == vb && c.Score > best.Score) {
			best = c
		}
	}
	why := [...]string{"vendor rating", "NVD rating", "other source"}
	return best, why[rank(best)], found
}

func isNVD(source string) bool {
	s := strings.ToLower(strings.TrimSpace(source))
	return s == "nvd" || strings.Contains(s, "nvd.nist.gov") || s == "nvd@nist.gov"
}

// cvssVersion returns the rating's CVSS version as a number, from Version
// or else from the vector's "CVSS:x.y/" prefix; 0 when unknown.
func cvssVersion(c sextant.CVSS) float64 {
	v := c.Version
	if v == "" {
		if rest, ok := strings.CutPrefix(c.Vector, "CVSS:"); ok {
			v, _, _ = strings.Cut(rest, "/")
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return 0
	}
	return f
}

// epssInput returns the probability to use, the factor's value and evidence.
func epssInput(e *sextant.EPSS, w Weights, explain bool) (float64, any, string) {
	if e == nil || math.IsNaN(e.Probability) {
		if !explain {
			return w.EPSSUnknown, unknown, ""
		}
		return w.EPSSUnknown, unknown, fmt.Sprintf("no EPSS score known; assumed probability %.3g", w.EPSSUnknown)
	}
	p := min(max(e.Probability, 0), 1)
	if !explain {
		return p, p, ""
	}
	ev := fmt.Sprintf("EPSS probability %.4g", p)
	if e.Percentile > 0 {
		ev += fmt.Sprintf(" (percentile %.5g)", e.Percentile)
	}
	if e.Date != "" {
		ev += " on " + short(e.Date)
	}
	return p, p, ev
}

// epssThreat maps an EPSS probability onto a threat level: 0 up to floor,
// then log10(p/floor)/log10(1/floor), reaching 1 at p = 1. EPSS values are
// spread over orders of magnitude, so the logarithm separates 1% from 10%
// as clearly as 10% from 100%.
func epssThreat(p, floor float64) float64 {
	if p <= floor {
		return 0
	}
	return min(math.Log10(p/floor)/math.Log10(1/floor), 1)
}

// maturity returns the exploit-maturity level ("", "poc", "functional",
// "high") and its evidence: the input's word, else the highest E: claim in
// the CVSS vectors.
func maturity(in Input) (string, string) {
	if in.ExploitMaturity != "" {
		if l := maturityWord(in.ExploitMaturity); l != "" {
			return l, fmt.Sprintf("source reports exploit maturity %q", short(in.ExploitMaturity))
		}
		if l, ev := maturityFromVectors(in.CVSS); l != "" {
			return l, ev
		}
		return "", fmt.Sprintf("exploit maturity %q not recognised or unproven; no threat added", short(in.ExploitMaturity))
	}
	if l, ev := maturityFromVectors(in.CVSS); l != "" {
		return l, ev
	}
	return "", "no exploit-maturity claim"
}

var maturityRank = map[string]int{"": 0, "poc": 1, "functional": 2, "high": 3}

func maturityWord(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "poc", "p", "proof-of-concept", "proof_of_concept", "proof of concept":
		return "poc"
	case "functional", "f":
		return "functional"
	case "high", "h", "attacked", "a", "active":
		return "high"
	}
	return ""
}

// maturityFromVectors reads the E: (Exploit Code Maturity, v4 Exploit
// Maturity) metric of every vector and returns the highest claim.
func maturityFromVectors(ratings []sextant.CVSS) (string, string) {
	best, ev := "", ""
	for _, c := range ratings {
		v4 := strings.HasPrefix(c.Vector, "CVSS:4") || strings.HasPrefix(c.Version, "4")
		for part := range strings.SplitSeq(c.Vector, "/") {
			val, ok := strings.CutPrefix(part, "E:")
			if !ok {
				continue
			}
			var l string
			switch {
			case v4 && val == "A":
				l = "high"
			case v4 && val == "P":
				l = "poc"
			case !v4 && val == "H":
				l = "high"
			case !v4 && val == "F":
				l = "functional"
			case !v4 && (val == "P" || val == "POC"):
				l = "poc"
			}
			if maturityRank[l] > maturityRank[best] {
				best, ev = l, fmt.Sprintf("CVSS vector from %s has E:%s", short(c.Source), val)
			}
		}
	}
	return best, ev
}

// kindThreat returns the threat level of a non-vulnerability finding.
func kindThreat(kind sextant.Kind, ruleID string, w Weights) (float64, any, string) {
	switch kind {
	case sextant.KindSecret:
		r := strings.ToLower(ruleID)
		for _, pat := range w.CredentialRules {
			if pat = strings.ToLower(strings.TrimSpace(pat)); pat != "" && strings.Contains(r, pat) {
				return w.SecretCredential, "secret:credential",
					fmt.Sprintf("secret rule %q is a private key or cloud/source-control credential (matches %q)", short(ruleID), pat)
			}
		}
		return w.Secret, "secret", fmt.Sprintf("exposed secret (rule %q)", short(ruleID))
	case sextant.KindRuntime:
		return w.Runtime, string(kind), "runtime event: activity observed on a running workload"
	}
	return w.Misconfiguration, string(kind), fmt.Sprintf("%s finding: threat level of the kind", kind)
}

// blastRadius is 1 + min((n−1)/(saturation−1), 1) × (max − 1).
func blastRadius(n int, w Weights) float64 {
	frac := min(float64(n-1)/float64(w.BlastRadiusSaturation-1), 1)
	return 1 + frac*(w.BlastRadiusMax-1)
}

// evidence prefers the context's own evidence for a field (by its JSON or
// Go name) and falls back to a description.
func evidence(c *sextant.ArtifactContext, field, fallback string) string {
	goName := map[string]string{
		"exposed": "Exposed", "privileged": "Privileged", "loaded_packages": "LoadedPackages",
		"environment": "Environment", "replicas": "Replicas", "workloads": "Workloads",
	}[field]
	for _, k := range []string{field, goName} {
		if e, ok := c.Evidence[k]; ok && e != "" {
			return fallback + " (" + short(e) + ")"
		}
	}
	return fallback
}

// short keeps untrusted text from reports to a displayable length.
func short(s string) string {
	const n = 80
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
