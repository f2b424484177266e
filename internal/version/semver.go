package version

import (
	"errors"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	npmversion "github.com/aquasecurity/go-npm-version/pkg"
)

// npmRules orders npm package versions by SemVer 2.0.0 with
// aquasecurity/go-npm-version: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0, build
// metadata ignored. Like npm's own semver.clean, a leading "v" or "=" is
// tolerated.
var npmRules = ordered(parseNPM, func(a, b npmversion.Version) int { return a.Compare(b) })

func parseNPM(v string) (npmversion.Version, error) {
	s := strings.TrimPrefix(v, "=")
	s = strings.TrimPrefix(s, "v")
	ver, err := npmversion.NewVersion(s)
	if err != nil {
		return ver, errors.New("not a semantic version")
	}
	return ver, nil
}

// cargoRules orders crate versions by SemVer 2.0.0 with Masterminds/semver,
// which also tolerates a leading "v" and short forms such as "1.2" (=
// 1.2.0). Build metadata is ignored.
var cargoRules = ordered(parseSemver, (*semver.Version).Compare)

func parseSemver(v string) (*semver.Version, error) {
	ver, err := semver.NewVersion(v)
	if err != nil {
		return nil, errors.New("not a semantic version")
	}
	return ver, nil
}

// goRules orders Go module versions, which are SemVer with a "v" prefix,
// with Masterminds/semver. Pseudo-versions need no special case: they are
// SemVer pre-releases built so that SemVer order is their time order, so
// v0.0.0-20210101000000-abcdef123456 < v0.0.1 and
// v1.2.3 < v1.2.4-0.20210101000000-abcdef123456 < v1.2.4. "+incompatible" is
// build metadata and so ignored.
//
// Go toolchain and standard-library versions, as gobinary and stdlib
// findings report them, are accepted with or without "go" or "v":
// "go1.21.3", "1.21.3", "go1.21rc2" (read as 1.21.0-rc.2, before 1.21.0).
// "go1.21" reads as 1.21.0.
var goRules = ordered(parseGo, (*semver.Version).Compare)

// goToolchainPre matches a toolchain pre-release such as 1.21rc2 or
// 1.9beta1, which is not SemVer.
var goToolchainPre = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?(alpha|beta|rc)(\d+)$`)

func parseGo(v string) (*semver.Version, error) {
	s := v
	if len(s) > 2 && s[:2] == "go" && isDigit(s[2]) {
		s = s[2:]
	}
	if m := goToolchainPre.FindStringSubmatch(s); m != nil {
		patch := m[3]
		if patch == "" {
			patch = "0"
		}
		s = m[1] + "." + m[2] + "." + patch + "-" + m[4] + "." + m[5]
	}
	ver, err := semver.NewVersion(s)
	if err != nil {
		return nil, errors.New("not a Go module or toolchain version")
	}
	return ver, nil
}
