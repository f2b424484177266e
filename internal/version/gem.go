package version

import (
	"errors"

	gemversion "github.com/aquasecurity/go-gem-version"
)

// gemRules orders RubyGems versions with aquasecurity/go-gem-version: a
// letter in any segment makes a pre-release (1.0.0.pre < 1.0.0.rc1 <
// 1.0.0), trailing zero segments do not count (1.0 = 1.0.0).
var gemRules = ordered(parseGem, func(a, b gemversion.Version) int { return a.Compare(b) })

func parseGem(v string) (gemversion.Version, error) {
	ver, err := gemversion.NewVersion(v)
	if err != nil {
		return ver, errors.New("not a RubyGems version")
	}
	return ver, nil
}
