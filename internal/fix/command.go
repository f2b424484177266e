package fix

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sextant-dev/sextant"
)

// Command returns the exact upgrade command(s) for one package in an
// ecosystem (sextant ecosystem names or scanner words: deb, rpm, apk, npm,
// pypi, golang, maven, gem, cargo, nuget, composer). osFamily matters for
// OS packages: it is the artifact's OS family ("debian", "alpine",
// "rocky"…), optionally followed by a space and its version ("centos 7",
// "amazon 2"), which chooses between yum and dnf.
//
// It returns nil when the ecosystem has no package manager sextant knows, or
// when pkg or version contain characters the ecosystem does not allow in
// names and versions: such text could carry shell syntax, so no command is
// built from it (Plan says so in the action's notes).
func Command(ecosystem, osFamily, pkg, version string) []string {
	family, osVersion, _ := strings.Cut(strings.TrimSpace(osFamily), " ")
	r := recipeFor(sextant.Ecosystem(ecosystem), osInfo{family: family, version: strings.TrimSpace(osVersion)}, pkg, version)
	return r.commands
}

// osInfo is what the choice of an OS package manager depends on.
type osInfo struct {
	family  string
	version string
}

// recipe is how to carry out one package upgrade.
type recipe struct {
	commands []string
	// notes are alternatives and caveats for the commands.
	notes []string
	// rejected explains why no command was built; empty when there is one.
	rejected string
}

// Package managers for OS packages.
const (
	mgrApt      = "apt"
	mgrApk      = "apk"
	mgrDnf      = "dnf"
	mgrYum      = "yum"
	mgrMicrodnf = "microdnf"
	mgrTdnf     = "tdnf"
	mgrZypper   = "zypper"
)

// legal holds, per ecosystem, the shapes package names and versions must
// have before they go into a command. They are deliberately narrower than
// what a shell would accept and never allow a leading '-', which a command
// would read as an option.
var legal = map[string]struct{ name, version *regexp.Regexp }{
	// Debian policy 5.6.1/5.6.12; an ":arch" qualifier is accepted by apt.
	"deb": {regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$`), regexp.MustCompile(`^([0-9]+:)?[0-9][A-Za-z0-9.+~-]*$`)},
	"rpm": {regexp.MustCompile(`^[A-Za-z0-9_+][A-Za-z0-9._+-]*$`), regexp.MustCompile(`^([0-9]+:)?[A-Za-z0-9][A-Za-z0-9._+~^-]*$`)},
	"apk": {regexp.MustCompile(`^[A-Za-z0-9_+][A-Za-z0-9._+-]*$`), regexp.MustCompile(`^[0-9][A-Za-z0-9._-]*$`)},
	// npm: optional @scope/, then URL-safe characters (legacy names may
	// have capitals).
	"npm":    {regexp.MustCompile(`^(@[A-Za-z0-9~][A-Za-z0-9._~-]*/)?[A-Za-z0-9~][A-Za-z0-9._~-]*$`), regexp.MustCompile(`^v?[0-9][A-Za-z0-9.+-]*$`)},
	"pypi":   {regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`), regexp.MustCompile(`^v?([0-9]+!)?[0-9][A-Za-z0-9.+_-]*$`)},
	"golang": {regexp.MustCompile(`^[A-Za-z0-9_~][A-Za-z0-9._~/+-]*$`), regexp.MustCompile(`^(v|go)?[0-9][A-Za-z0-9.+-]*$`)},
	"maven":  {regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*:[A-Za-z0-9_][A-Za-z0-9._-]*$`), regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)},
	"gem":    {regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`), regexp.MustCompile(`^[0-9][A-Za-z0-9._-]*$`)},
	"cargo":  {regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`), regexp.MustCompile(`^[0-9][A-Za-z0-9.+-]*$`)},
	"nuget":  {regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`), regexp.MustCompile(`^[0-9][A-Za-z0-9.+-]*$`)},
	"composer": {regexp.MustCompile(`^[A-Za-z0-9]([_.-]?[A-Za-z0-9]+)*/[A-Za-z0-9](([_.]|-{1,2})?[A-Za-z0-9]+)*$`),
		regexp.MustCompile(`^v?[0-9][A-Za-z0-9.+-]*$`)},
}

// checkLegal returns why name or version cannot go into a command, or "".
func checkLegal(eco, name, version string) string {
	l, ok := legal[eco]
	if !ok {
		return ""
	}
	if !l.name.MatchString(name) {
		return fmt.Sprintf("package name %s has characters that are not legal in %s package names; no command was generated from it (check the report it came from)", quoteForNote(name), eco)
	}
	if !l.version.MatchString(version) {
		return fmt.Sprintf("version %s is not a legal %s version; no command was generated from it (check the report it came from)", quoteForNote(version), eco)
	}
	return ""
}

// quoteForNote renders untrusted text for a note: Go-quoted, so control
// characters and newlines are visible, and cut to a readable length.
func quoteForNote(s string) string {
	const max = 80
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}

// recipeFor builds the upgrade recipe for package name at version in a
// sextant ecosystem.
func recipeFor(eco string, os osInfo, name, version string) recipe {
	name, version = strings.TrimSpace(name), strings.TrimSpace(version)
	if name == "" || version == "" {
		return recipe{rejected: "the package name or target version is empty"}
	}
	if eco == "golang" && isGoStdlib(name) {
		return goStdlibRecipe(version)
	}
	if why := checkLegal(eco, name, version); why != "" {
		return recipe{rejected: why}
	}
	q := shellQuote
	switch eco {
	case "deb":
		return recipe{commands: []string{upgradeLine(mgrApt, []string{osSpec(mgrApt, name, version)}, false)}}
	case "apk":
		return recipe{
			commands: []string{upgradeLine(mgrApk, []string{osSpec(mgrApk, name, version)}, false)},
			notes:    []string{"apk: '>=' is used rather than '=' because Alpine mirrors keep only the newest build of each package in a branch, so an exact pin stops resolving once a newer revision ships."},
		}
	case "rpm":
		return rpmRecipe(os, name, version)
	case "npm":
		spec := q(name + "@" + version)
		return recipe{
			commands: []string{"npm install " + spec},
			notes: []string{
				"With yarn: yarn add " + spec + "; with pnpm: pnpm add " + spec + ".",
				fmt.Sprintf(`If %s is a transitive dependency, pin it in package.json instead: "overrides": {%q: %q} (yarn: "resolutions", pnpm: "pnpm.overrides"), then reinstall.`, name, name, version),
			},
		}
	case "pypi":
		v := strings.TrimPrefix(version, "v")
		return recipe{
			commands: []string{"pip install " + q(name+">="+v)},
			notes: []string{
				"With Poetry: poetry add " + q(name+"@^"+v) + "; also raise the pin in requirements files or constraints so the next build keeps it.",
			},
		}
	case "golang":
		v := "v" + strings.TrimPrefix(version, "v")
		return recipe{commands: []string{"go get " + q(name+"@"+v) + " && go mod tidy"}}
	case "maven":
		group, artifact, _ := strings.Cut(name, ":")
		pom := "<dependencyManagement>\n  <dependencies>\n    <dependency>\n" +
			"      <groupId>" + group + "</groupId>\n" +
			"      <artifactId>" + artifact + "</artifactId>\n" +
			"      <version>" + version + "</version>\n" +
			"    </dependency>\n  </dependencies>\n</dependencyManagement>"
		gradle := "dependencies {\n  constraints {\n    implementation(\"" + name + ":" + version + "\")\n  }\n}"
		return recipe{
			commands: []string{pom, gradle},
			notes:    []string{"Maven: merge the <dependencyManagement> snippet into pom.xml; Gradle: add the constraints block to build.gradle(.kts). Both also pin the version when it comes in transitively."},
		}
	case "gem":
		return recipe{
			commands: []string{"bundle update " + q(name) + " --conservative"},
			notes:    []string{fmt.Sprintf("If the Gemfile holds %s below %s, change its line to: gem '%s', '>= %s'", name, version, name, version)},
		}
	case "cargo":
		return recipe{commands: []string{"cargo update -p " + q(name) + " --precise " + q(version)}}
	case "nuget":
		return recipe{
			commands: []string{"dotnet add package " + q(name) + " --version " + q(version)},
			notes:    []string{"For a transitive dependency, this adds a direct PackageReference that lifts it; with central package management, set <PackageVersion> in Directory.Packages.props instead."},
		}
	case "composer":
		v := strings.TrimPrefix(version, "v")
		return recipe{
			commands: []string{"composer require " + q(name+":^"+v)},
			notes:    []string{"For a transitive dependency, run composer update " + q(name) + " --with-dependencies after allowing " + v + " in the constraints of the package that requires it."},
		}
	}
	return recipe{rejected: fmt.Sprintf("sextant knows no package manager for ecosystem %s: upgrade %s to %s by hand", quoteForNote(eco), quoteForNote(name), quoteForNote(version))}
}

// isGoStdlib reports whether a Go "module" is the standard library, which
// is fixed by rebuilding with a newer Go toolchain rather than go get.
func isGoStdlib(name string) bool {
	switch name {
	case "stdlib", "std", "go", "toolchain":
		return true
	}
	return false
}

var goVersionRe = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?((rc|beta)[0-9]+)?$`)

// goRelease turns "v1.22.4", "go1.22.4" or "1.22.4" into "1.22.4", and a
// bare "1.22" (Go 1.21 or later) into its first release "1.22.0".
func goRelease(v string) (string, bool) {
	v = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(v), "go"), "v")
	if !goVersionRe.MatchString(v) {
		return "", false
	}
	if strings.Count(v, ".") == 1 && !strings.ContainsAny(v, "rb") {
		if minor, err := strconv.Atoi(v[strings.Index(v, ".")+1:]); err == nil && minor >= 21 && strings.HasPrefix(v, "1.") {
			v += ".0"
		}
	}
	return v, true
}

func goStdlibRecipe(version string) recipe {
	v, ok := goRelease(version)
	if !ok {
		return recipe{rejected: fmt.Sprintf("Go version %s is not a Go release; no command was generated from it", quoteForNote(version))}
	}
	return recipe{
		commands: []string{"go mod edit -toolchain=go" + v},
		notes:    []string{fmt.Sprintf("Rebuild with Go %s or later: the standard library is compiled into the binary. The toolchain line makes go 1.21+ fetch Go %s; in a Dockerfile, bump the build stage to golang:%s.", v, v, v)},
	}
}

// osManager is the package manager of an OS ecosystem on an OS.
func osManager(eco string, os osInfo) string {
	switch eco {
	case "deb":
		return mgrApt
	case "apk":
		return mgrApk
	case "rpm":
		return rpmManager(os)
	}
	return ""
}

// osSpec names one package at one version the way mgr accepts it, unquoted.
//   - apt: name=version, epoch included (apt needs it to find the version).
//   - apk: name>=version, a world constraint: Alpine mirrors keep only the
//     newest build in a branch, so an exact pin stops resolving later.
//   - dnf: name-[epoch:]version-release, the NEVR form dnf parses; a zero
//     epoch is left out.
//   - yum: name-version-release, which yum matches whatever the epoch.
//   - zypper: name>=version.
//   - tdnf and microdnf: the name only, which upgrades to the newest build
//     in the repositories; their handling of versioned specs differs
//     between releases, and the newest build is at least the target once
//     the fix has shipped.
func osSpec(mgr, name, version string) string {
	switch mgr {
	case mgrApt:
		return name + "=" + version
	case mgrApk, mgrZypper:
		return name + ">=" + version
	case mgrTdnf, mgrMicrodnf:
		return name
	}
	epoch, rest := splitEpoch(version)
	if mgr == mgrYum || strings.Trim(epoch, "0") == "" {
		return name + "-" + rest
	}
	return name + "-" + epoch + ":" + rest
}

// upgradeLine is the shell command with which mgr upgrades packages to the
// given specs (as osSpec returns them; they are quoted here). With cleanup,
// it also drops the package cache, as a Dockerfile RUN should.
func upgradeLine(mgr string, specs []string, cleanup bool) string {
	prefix, suffix := upgradeParts(mgr, cleanup)
	var b strings.Builder
	b.WriteString(prefix)
	for _, s := range specs {
		b.WriteByte(' ')
		b.WriteString(shellQuote(s))
	}
	if suffix != "" {
		b.WriteByte(' ')
		b.WriteString(suffix)
	}
	return b.String()
}

// upgradeParts returns what goes before and after the package specs.
func upgradeParts(mgr string, cleanup bool) (prefix, suffix string) {
	var clean string
	switch mgr {
	case mgrApt:
		prefix, clean = "apt-get update && apt-get install -y --only-upgrade", "&& rm -rf /var/lib/apt/lists/*"
	case mgrApk:
		prefix = "apk add --no-cache"
	case mgrYum:
		prefix, clean = "yum update -y", "&& yum clean all"
	case mgrMicrodnf:
		prefix, clean = "microdnf upgrade -y", "&& microdnf clean all"
	case mgrTdnf:
		prefix, clean = "tdnf upgrade -y", "&& tdnf clean all"
	case mgrZypper:
		prefix, clean = "zypper --non-interactive install", "&& zypper clean --all"
	default:
		prefix, clean = "dnf upgrade -y", "&& dnf clean all"
	}
	if cleanup {
		suffix = clean
	}
	return prefix, suffix
}

func rpmRecipe(os osInfo, name, version string) recipe {
	mgr := rpmManager(os)
	r := recipe{commands: []string{upgradeLine(mgr, []string{osSpec(mgr, name, version)}, false)}}
	switch mgr {
	case mgrYum:
		if e, _ := splitEpoch(version); strings.Trim(e, "0") != "" {
			r.notes = append(r.notes, fmt.Sprintf("yum matches name-version-release, so the epoch %s: is left out of the package spec; the version installed is still %s.", e, version))
		}
	case mgrTdnf:
		r.notes = append(r.notes, fmt.Sprintf("tdnf upgrades to the newest %s in the configured repositories; confirm afterwards that it is at least %s (rpm -q %s).", name, version, name))
	case mgrDnf:
		if os.version == "" {
			r.notes = append(r.notes, "On EL7 and Amazon Linux 2 use yum instead: "+upgradeLine(mgrYum, []string{osSpec(mgrYum, name, version)}, false)+".")
		}
		r.notes = append(r.notes, fmt.Sprintf("On ubi-minimal images, which ship microdnf instead of dnf: %s (it takes the newest build; confirm it is at least %s).", upgradeLine(mgrMicrodnf, []string{osSpec(mgrMicrodnf, name, version)}, false), version))
	}
	return r
}

// shellQuote returns s as one POSIX shell word: unchanged when it has only
// characters no shell treats specially, else single-quoted.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("@%+=:,./_-", c) >= 0) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// rpmManager chooses the package manager of an RPM-based OS.
func rpmManager(os osInfo) string {
	major := leadingInt(os.version)
	switch strings.ToLower(os.family) {
	case "amazon", "amzn", "amazonlinux":
		// Amazon Linux 1 (2018.03) and 2 use yum; 2023 uses dnf.
		if major == 2 || (major >= 2000 && major < 2023) {
			return mgrYum
		}
		return mgrDnf
	case "redhat", "rhel", "centos", "rocky", "alma", "almalinux", "oracle", "ol":
		if major > 0 && major <= 7 {
			return mgrYum
		}
		return mgrDnf
	case "cbl-mariner", "mariner", "azurelinux", "photon":
		return mgrTdnf
	case "suse", "sles", "opensuse", "opensuse-leap", "opensuse.leap", "opensuse.tumbleweed", "suse linux enterprise server":
		return mgrZypper
	}
	return mgrDnf
}

// leadingInt parses the digits at the start of s ("2 (Karoo)" → 2), or 0.
func leadingInt(s string) int {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(s[:end])
	return n
}

// splitEpoch splits "1:2.3-4" into "1" and "2.3-4".
func splitEpoch(v string) (epoch, rest string) {
	if i := strings.IndexByte(v, ':'); i > 0 && strings.Trim(v[:i], "0123456789") == "" {
		return v[:i], v[i+1:]
	}
	return "", v
}
