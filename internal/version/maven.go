package version

import (
	"errors"
	"strings"

	mvnversion "github.com/masahiro331/go-mvn-version"
)

// mavenRules orders Maven artifact versions as Maven's ComparableVersion
// does, with masahiro331/go-mvn-version: qualifiers rank
// alpha < beta < milestone < rc (= cr) < snapshot < "" (= ga = final =
// release) < sp, unknown qualifiers after those, case-insensitively;
// 1.0-SNAPSHOT < 1.0 = 1.0.RELEASE = 1.0.0.Final < 1.0-sp1.
//
// The library gives every string an order; checkMaven rejects what is not a
// version: blanks, no digit at all, characters other than ASCII
// alphanumerics and . - _ +.
var mavenRules = ordered(parseMaven, func(a, b mvnversion.Version) int { return a.Compare(b) })

func parseMaven(v string) (mvnversion.Version, error) {
	if !strings.ContainsFunc(v, func(r rune) bool { return r < 0x80 && isDigit(byte(r)) }) {
		return mvnversion.Version{}, errors.New("no digit in version")
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !isAlnum(c) && c != '.' && c != '-' && c != '_' && c != '+' {
			return mvnversion.Version{}, errors.New("invalid character in version")
		}
	}
	return mvnversion.NewVersion(v)
}
