package sextant

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"time"
)

// Kind says what sort of problem a finding describes.
type Kind string

// Finding kinds. Runtime events (Falco and CNAPP alerts) and compliance
// results join later; the model leaves room for them.
const (
	KindVulnerability    Kind = "vulnerability"
	KindMisconfiguration Kind = "misconfiguration"
	KindSecret           Kind = "secret"
	KindRuntime          Kind = "runtime"
)

// Finding is one problem in one artifact, as reported by one or more sources.
// Parsers fill in what their format carries and leave the rest zero; they
// never drop a finding because a field is odd, they append to Warnings.
type Finding struct {
	// ID is the finding's fingerprint; see Fingerprint.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`

	// VulnerabilityID is the identifier the source used first: a CVE, GHSA,
	// distro advisory (RHSA, DSA, ALAS…), or for misconfigurations and
	// secrets the check or rule ID.
	VulnerabilityID string `json:"vulnerability"`
	// Aliases are the other identifiers of the same vulnerability.
	Aliases []string `json:"aliases,omitempty"`

	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	References  []string `json:"references,omitempty"`

	Package Package `json:"package"`
	// FixedVersions are the versions the source says fix the problem, in the
	// package's own version syntax, as reported (possibly without epoch).
	FixedVersions []string `json:"fixed_versions,omitempty"`
	// FixState is the source's word on fix availability: "fixed",
	// "not-fixed", "wont-fix", "affected", "will_not_fix", "unknown"…
	FixState string `json:"fix_state,omitempty"`

	// Severity is the normalised severity, the vendor's when it has one.
	Severity Severity `json:"-"`
	// Severities lists every severity the source gave, by who gave it.
	Severities []SourcedSeverity `json:"severities,omitempty"`
	CVSS       []CVSS            `json:"cvss,omitempty"`
	// EPSS carries exploit-prediction values embedded in the report itself
	// (Grype does this); threat intel loaded separately takes precedence.
	EPSS *EPSS `json:"epss,omitempty"`
	// KnownExploited is set when the report itself says the vulnerability
	// is in CISA KEV (Grype's "knownExploited").
	KnownExploited bool `json:"known_exploited,omitempty"`

	// Location says where a misconfiguration or secret sits: a file and
	// line, or a Kubernetes resource.
	Location string `json:"location,omitempty"`

	Artifact Artifact `json:"artifact"`
	Source   Source   `json:"source"`

	// Warnings say what was odd about the input for this finding.
	Warnings []string `json:"warnings,omitempty"`
}

// SourcedSeverity is a severity as one party (vendor, NVD, GHSA) rated it.
type SourcedSeverity struct {
	Source   string   `json:"source"`
	Severity Severity `json:"-"`
	Text     string   `json:"severity"`
}

// CVSS is one CVSS rating of a vulnerability.
type CVSS struct {
	// Source is who computed it: "nvd", "redhat", "ghsa", a CNA email…
	Source string `json:"source"`
	// Version is "2.0", "3.0", "3.1" or "4.0".
	Version string  `json:"version"`
	Vector  string  `json:"vector,omitempty"`
	Score   float64 `json:"score"`
}

// EPSS is a FIRST EPSS rating: the probability of exploitation activity in
// the next 30 days and its percentile among all scored CVEs.
type EPSS struct {
	Probability float64 `json:"probability"`
	Percentile  float64 `json:"percentile"`
	Date        string  `json:"date,omitempty"`
}

// Package is the software component a finding is about.
type Package struct {
	// Ecosystem is the normalised package type (see Ecosystem): deb, rpm,
	// apk, npm, pypi, maven, golang, gem, cargo, nuget, composer…
	Ecosystem string `json:"ecosystem,omitempty"`
	// Type is the scanner's own word for the type ("debian", "jar",
	// "java-archive", "node-pkg"…), kept for display.
	Type    string `json:"type,omitempty"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
	// SourceName is the source package (Debian source, RPM SRPM) when it
	// differs from Name.
	SourceName string `json:"source_name,omitempty"`
	PURL       string `json:"purl,omitempty"`
	// Path is where the package was found in the artifact (a lock file, a
	// JAR, a binary).
	Path string `json:"path,omitempty"`
	// LayerDigest and LayerDiffID identify the image layer that added it.
	LayerDigest string `json:"layer_digest,omitempty"`
	LayerDiffID string `json:"layer_diff_id,omitempty"`
}

// Source says which tool reported a finding, and when.
type Source struct {
	Scanner  string    `json:"scanner"`
	Version  string    `json:"version,omitempty"`
	ScanTime time.Time `json:"scan_time,omitzero"`
	// Format is the report format it came in: trivy-json, grype-json,
	// cyclonedx, sarif…
	Format string `json:"format,omitempty"`
	// File is the report's name as given to sextant ("-" for stdin).
	File string `json:"file,omitempty"`
}

// CanonicalVulnerabilityID returns the identifier that names a vulnerability
// across sources: the ID itself when it is a CVE, else the lowest CVE among
// the aliases, else the ID upper-cased. Trivy reports CVE-2023-1234 where
// Grype reports GHSA-xxxx with that CVE as a related vulnerability; both map
// to the CVE.
func CanonicalVulnerabilityID(id string, aliases []string) string {
	id = strings.TrimSpace(id)
	if isCVE(id) {
		return strings.ToUpper(id)
	}
	best := ""
	for _, a := range aliases {
		a = strings.ToUpper(strings.TrimSpace(a))
		if isCVE(a) && (best == "" || a < best) {
			best = a
		}
	}
	if best != "" {
		return best
	}
	return strings.ToUpper(id)
}

func isCVE(id string) bool {
	return len(id) > 4 && strings.EqualFold(id[:4], "CVE-")
}

// Fingerprint returns the stable identity of a finding: the same problem in
// the same package version of the same artifact gets the same fingerprint,
// whichever scanner reported it and whenever. It covers
//   - the kind,
//   - the canonical vulnerability ID (see CanonicalVulnerabilityID) or the
//     check/rule ID,
//   - the package ecosystem, normalised name and version without a zero epoch
//     (or, for findings without a package, the location),
//   - the artifact key (see Artifact.Key).
//
// Descriptions, severities, scores and scan times are deliberately left out:
// they change between scans and sources without changing what the problem is.
func Fingerprint(f *Finding) string {
	h := sha256.New()
	write := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	write("sextant.finding/v1")
	write(string(f.Kind))
	write(CanonicalVulnerabilityID(f.VulnerabilityID, f.Aliases))
	if f.Package.Name != "" {
		write(f.Package.Ecosystem)
		write(NormalizePackageName(f.Package.Ecosystem, f.Package.Name))
		write(stripZeroEpoch(f.Package.Version))
	} else {
		write("")
		write(f.Location)
		write("")
	}
	write(f.Artifact.Key())
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// stripZeroEpoch drops an explicit "0:" epoch, which dpkg and rpm treat as no
// epoch; scanners disagree on whether to print it.
func stripZeroEpoch(v string) string {
	return strings.TrimPrefix(v, "0:")
}

// NormalizePackageName returns the form of a package name under which an
// ecosystem considers two names equal: PEP 503 for Python (lower case, runs
// of -_. folded to -), lower case for NuGet, Composer and Go-independent
// ecosystems that are case-insensitive.
func NormalizePackageName(ecosystem, name string) string {
	switch ecosystem {
	case "pypi":
		name = strings.ToLower(name)
		var b strings.Builder
		dash := false
		for _, r := range name {
			if r == '-' || r == '_' || r == '.' {
				if !dash {
					b.WriteByte('-')
				}
				dash = true
				continue
			}
			dash = false
			b.WriteRune(r)
		}
		return b.String()
	case "nuget", "composer", "deb", "apk":
		return strings.ToLower(name)
	}
	return name
}

// Ecosystem maps a scanner's package-type word onto sextant's ecosystem
// names, which follow PURL types. Unknown words are returned lower-cased so
// that nothing is lost.
func Ecosystem(scannerType string) string {
	t := strings.ToLower(strings.TrimSpace(scannerType))
	switch t {
	case "deb", "debian", "ubuntu", "dpkg", "distroless":
		return "deb"
	case "rpm", "redhat", "centos", "rocky", "alma", "almalinux", "amazon", "oracle", "fedora",
		"photon", "suse", "opensuse", "opensuse-leap", "opensuse.leap", "opensuse.tumbleweed",
		"sles", "suse linux enterprise server", "cbl-mariner", "azurelinux", "mariner", "amazonlinux", "rhel", "ol":
		return "rpm"
	case "apk", "alpine", "wolfi", "chainguard", "minimos":
		return "apk"
	case "npm", "node-pkg", "yarn", "pnpm", "bun", "javascript", "node":
		return "npm"
	case "pypi", "python", "python-pkg", "pip", "pipenv", "poetry", "uv", "conda-pkg", "wheel", "egg":
		return "pypi"
	case "maven", "jar", "java", "java-archive", "gradle", "pom", "sbt", "jenkins-plugin":
		return "maven"
	case "golang", "go", "gomod", "gobinary", "go-module":
		return "golang"
	case "gem", "gemspec", "bundler", "ruby", "rubygems":
		return "gem"
	case "cargo", "rust", "rust-crate", "rustbinary", "rust-binary":
		return "cargo"
	case "nuget", "dotnet", "dotnet-core", "dotnet-deps", "packages-props":
		return "nuget"
	case "composer", "php", "php-composer", "php-pecl-pkg":
		return "composer"
	case "conan":
		return "conan"
	case "hex", "mix", "elixir", "erlang-otp", "beam":
		return "hex"
	case "pub", "dart":
		return "pub"
	case "swift", "cocoapods":
		return t
	case "binary", "linux-kernel", "kernel":
		return "generic"
	}
	return t
}

// OSEcosystem reports whether packages of the ecosystem belong to the
// operating system (and so usually to the base image).
func OSEcosystem(ecosystem string) bool {
	switch ecosystem {
	case "deb", "rpm", "apk":
		return true
	}
	return false
}

// EcosystemFromVersion guesses the OS package ecosystem ("deb", "apk" or
// "rpm") from a version string's distribution markers: Debian and Ubuntu
// revisions ("+deb11u1", "dfsg", "ubuntu"), Alpine's "-rN" release suffix,
// and RPM dist tags (".el8", ".amzn2", ".fc39", ".cm2", ".azl3", ".ph4"). It
// returns "" when the version says nothing.
func EcosystemFromVersion(v string) string {
	switch {
	case v == "":
		return ""
	case strings.Contains(v, "deb") || strings.Contains(v, "ubuntu") || strings.Contains(v, "dfsg"):
		return "deb"
	}
	if i := strings.LastIndex(v, "-r"); i > 0 && allDigits(v[i+2:]) {
		return "apk"
	}
	for _, tag := range [...]string{".el", ".amzn", ".fc", ".cm", ".azl", ".ph"} {
		if i := strings.Index(v, tag); i >= 0 {
			if rest := v[i+len(tag):]; rest != "" && rest[0] >= '0' && rest[0] <= '9' {
				return "rpm"
			}
		}
	}
	return ""
}

// allDigits reports whether s is one or more ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// SortStrings returns a sorted copy of ss without duplicates.
func SortStrings(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := append([]string(nil), ss...)
	sort.Strings(out)
	n := 1
	for i := 1; i < len(out); i++ {
		if out[i] != out[n-1] {
			out[n] = out[i]
			n++
		}
	}
	return out[:n]
}
