package sarif

import (
	"path"
	"strings"

	"github.com/package-url/packageurl-go"

	"github.com/sextant-dev/sextant"
)

// versionHint guesses the OS package ecosystem from a version string's
// distribution markers: those of sextant.EcosystemFromVersion, and also
// RHEL module dist tags (".module+el8") and Debian binNMU revisions ("+b1").
// It returns "" when the version says nothing.
func versionHint(v string) string {
	if h := sextant.EcosystemFromVersion(v); h != "" {
		return h
	}
	if i := strings.Index(v, ".module+el"); i >= 0 {
		if rest := v[i+len(".module+el"):]; rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			return "rpm"
		}
	}
	// A binNMU: "+b" and one or more digits after the last "+b".
	if i := strings.LastIndex(v, "+b"); i > 0 {
		if n := v[i+2:]; n != "" && strings.Trim(n, "0123456789") == "" {
			return "deb"
		}
	}
	return ""
}

// distroWords maps a distribution word found in an image name to its OS
// family.
var distroWords = map[string]string{
	"alpine": "alpine", "wolfi": "wolfi", "chainguard": "chainguard",
	"debian": "debian", "buster": "debian", "bullseye": "debian", "bookworm": "debian", "trixie": "debian", "stretch": "debian",
	"ubuntu": "ubuntu", "bionic": "ubuntu", "focal": "ubuntu", "jammy": "ubuntu", "noble": "ubuntu", "xenial": "ubuntu",
	"centos": "centos", "rhel": "redhat", "ubi": "redhat", "fedora": "fedora", "rocky": "rocky", "rockylinux": "rocky",
	"alma": "alma", "almalinux": "alma", "amazonlinux": "amazon", "oraclelinux": "oracle", "photon": "photon",
	"mariner": "cbl-mariner", "azurelinux": "azurelinux", "opensuse": "opensuse", "sles": "sles",
}

// imageDistro looks for a distribution word in an image name or tag
// ("bitnami/redis:7.0.5-debian-11-r25", "alpine-310.tar.gz") and returns
// the OS family it names, or "".
func imageDistro(name string) string {
	name = strings.ToLower(name)
	for name != "" {
		i := 0
		for i < len(name) && (name[i] < 'a' || name[i] > 'z') {
			i++
		}
		j := i
		for j < len(name) && name[j] >= 'a' && name[j] <= 'z' {
			j++
		}
		if fam, ok := distroWords[name[i:j]]; ok {
			return fam
		}
		name = name[j:]
	}
	return ""
}

// pathEcosystem guesses the ecosystem of a language package from the file
// Trivy found it in. It returns "" when the path says nothing.
func pathEcosystem(p string) string {
	base := path.Base(p)
	lower := strings.ToLower(base)
	switch lower {
	case "package.json", "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock", "npm-shrinkwrap.json":
		return "npm"
	case "pom.xml", "gradle.lockfile", "build.sbt.lock":
		return "maven"
	case "go.mod", "go.sum":
		return "golang"
	case "requirements.txt", "pipfile.lock", "poetry.lock", "uv.lock", "metadata", "pkg-info", "setup.py", "pyproject.toml":
		return "pypi"
	case "gemfile.lock":
		return "gem"
	case "cargo.lock":
		return "cargo"
	case "composer.lock", "installed.json":
		return "composer"
	case "packages.lock.json", "packages.config", "packages.props", "directory.packages.props":
		return "nuget"
	case "conan.lock":
		return "conan"
	case "mix.lock":
		return "hex"
	case "pubspec.lock":
		return "pub"
	case "podfile.lock":
		return "cocoapods"
	case "package.resolved":
		return "swift"
	}
	switch path.Ext(lower) {
	case ".jar", ".war", ".ear", ".par", ".hpi", ".jpi":
		return "maven"
	case ".gemspec":
		return "gem"
	case ".nuspec":
		return "nuget"
	}
	switch {
	case strings.HasSuffix(lower, ".deps.json"):
		return "nuget"
	case strings.Contains(p, "/node_modules/") || strings.HasPrefix(p, "node_modules/"):
		return "npm"
	case strings.Contains(p, "site-packages/") || strings.Contains(p, "dist-packages/") ||
		strings.Contains(p, ".dist-info/") || strings.Contains(p, ".egg-info"):
		return "pypi"
	}
	return ""
}

// goModule reports whether a package found in a binary is a Go module:
// the standard library, or a module path whose first element is a host.
func goModule(name string) bool {
	if name == "stdlib" {
		return true
	}
	host, _, ok := strings.Cut(name, "/")
	return ok && strings.Contains(host, ".")
}

// purlPackage fills a package from a package URL. Names follow the
// ecosystem's own spelling: Maven "group:artifact", npm "@scope/name", Go
// and Composer "namespace/name". An RPM epoch qualifier is put back in
// front of the version.
func purlPackage(s string, p *sextant.Package) bool {
	u, err := packageurl.FromString(s)
	if err != nil || u.Name == "" {
		return false
	}
	p.PURL = s
	p.Type = u.Type
	p.Ecosystem = sextant.Ecosystem(u.Type)
	p.Name = u.Name
	if u.Namespace != "" {
		switch u.Type {
		case "maven":
			p.Name = u.Namespace + ":" + u.Name
		case "npm", "golang", "composer", "github", "swift", "cocoapods", "generic", "conan", "hex":
			p.Name = u.Namespace + "/" + u.Name
		}
	}
	p.Version = u.Version
	if epoch := u.Qualifiers.Map()["epoch"]; epoch != "" && epoch != "0" && u.Version != "" && !strings.Contains(u.Version, ":") {
		p.Version = epoch + ":" + u.Version
	}
	return true
}

// purlVersion returns the version of a package URL, or "".
func purlVersion(s string) string {
	u, err := packageurl.FromString(s)
	if err != nil {
		return ""
	}
	return u.Version
}
