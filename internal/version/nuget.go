package version

import (
	"errors"
	"strings"
)

// nugetRules orders NuGet package versions as NuGet's VersionComparer does.
// It is written here because no library in use covers NuGet: versions have
// one to four numeric parts (1.2.3.4; missing parts are 0, leading zeros
// are allowed), SemVer 2.0.0 pre-release labels compared
// case-insensitively (1.0.0-Beta = 1.0.0-beta), numeric labels numerically
// and below alphanumeric ones, and build metadata ignored. A leading "v" is
// tolerated.
var nugetRules = ordered(parseNuGet, compareNuGet)

type nugetVersion struct {
	parts [4]string // digits without leading zeros; "" is 0
	pre   []string  // pre-release labels, lower case
}

func parseNuGet(v string) (nugetVersion, error) {
	var n nugetVersion
	s := strings.TrimPrefix(strings.TrimPrefix(v, "v"), "V")
	s, meta, hasMeta := strings.Cut(s, "+")
	if hasMeta && !validLabels(meta) {
		return n, errors.New("invalid build metadata")
	}
	s, pre, hasPre := strings.Cut(s, "-")
	if hasPre {
		if !validLabels(pre) {
			return n, errors.New("invalid pre-release label")
		}
		n.pre = strings.Split(strings.ToLower(pre), ".")
	}
	nums := strings.Split(s, ".")
	if len(nums) > 4 {
		return n, errors.New("more than four numeric parts")
	}
	for i, p := range nums {
		if !allDigits(p) {
			return n, errors.New("numeric part is not a number")
		}
		n.parts[i] = strings.TrimLeft(p, "0")
	}
	return n, nil
}

// validLabels reports whether s is dot-separated non-empty labels of ASCII
// alphanumerics and hyphens. Pre-release labels may hold hyphens too
// (1.0.0-beta-1), as the first hyphen alone separates them.
func validLabels(s string) bool {
	for _, l := range strings.Split(s, ".") {
		if l == "" {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

func compareNuGet(a, b nugetVersion) int {
	for i := range a.parts {
		if c := cmpDigits(a.parts[i], b.parts[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(a.pre) == 0 && len(b.pre) == 0:
		return 0
	case len(a.pre) == 0:
		return 1
	case len(b.pre) == 0:
		return -1
	}
	for i := 0; i < len(a.pre) && i < len(b.pre); i++ {
		if c := cmpIdentifier(a.pre[i], b.pre[i]); c != 0 {
			return c
		}
	}
	return sign(len(a.pre) - len(b.pre))
}

// cmpIdentifier orders two identifiers as SemVer orders pre-release
// identifiers: all-digit ones numerically (leading zeros aside) and before
// the others, which compare byte by byte.
func cmpIdentifier(x, y string) int {
	xn, yn := allDigits(x), allDigits(y)
	switch {
	case xn && yn:
		return cmpDigits(strings.TrimLeft(x, "0"), strings.TrimLeft(y, "0"))
	case xn:
		return -1
	case yn:
		return 1
	}
	return strings.Compare(x, y)
}

// cmpDigits compares two decimal numbers of any length written without
// leading zeros ("" is zero).
func cmpDigits(a, b string) int {
	if len(a) != len(b) {
		return sign(len(a) - len(b))
	}
	return strings.Compare(a, b)
}
