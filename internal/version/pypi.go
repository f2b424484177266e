package version

import (
	"errors"

	pep440 "github.com/aquasecurity/go-pep440-version"
)

// pypiRules orders Python package versions by PEP 440 with
// aquasecurity/go-pep440-version: epochs (1!1.0), pre-releases
// (1.0rc1 < 1.0), post-releases (1.0.post1 > 1.0), dev releases and local
// versions (1.0+ubuntu1 > 1.0).
var pypiRules = ordered(parsePyPI, func(a, b pep440.Version) int { return a.Compare(b) })

func parsePyPI(v string) (pep440.Version, error) {
	ver, err := pep440.Parse(v)
	if err != nil {
		return ver, errors.New("not a PEP 440 version")
	}
	return ver, nil
}
