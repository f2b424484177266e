package version

import (
	"errors"
	"strconv"
	"strings"

	rpmversion "github.com/knqyf263/go-rpm-version"
)

// rpmRules orders RPM versions ([epoch:]version[-release], a missing epoch
// being 0) as rpmvercmp does, tilde and caret included, with
// knqyf263/go-rpm-version. The library accepts any string, so checkRPM
// applies rpm's syntax rules first.
var rpmRules = ordered(parseRPM, func(a, b rpmversion.Version) int { return a.Compare(b) })

func parseRPM(v string) (rpmversion.Version, error) {
	if err := checkRPM(v); err != nil {
		return rpmversion.Version{}, err
	}
	return rpmversion.NewVersion(v), nil
}

// checkRPM enforces what rpmbuild accepts in an EVR: a numeric epoch that
// fits in an int, a non-empty version and release, no second hyphen, and
// only alphanumerics and . _ + ~ ^ in version and release.
func checkRPM(v string) error {
	if v == "" {
		return errors.New("empty version")
	}
	rest := v
	if i := strings.IndexByte(v, ':'); i >= 0 {
		e := v[:i]
		if !allDigits(e) {
			return errors.New("epoch is not a number")
		}
		if _, err := strconv.ParseInt(e, 10, 32); err != nil {
			return errors.New("epoch is too big")
		}
		rest = v[i+1:]
	}
	ver, rel, hasRel := strings.Cut(rest, "-")
	if ver == "" {
		return errors.New("version is empty")
	}
	if hasRel && rel == "" {
		return errors.New("release is empty")
	}
	for _, part := range []string{ver, rel} {
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !isAlnum(c) && c != '.' && c != '_' && c != '+' && c != '~' && c != '^' {
				if c == '-' {
					return errors.New("more than one hyphen")
				}
				return errors.New("invalid character " + strconv.QuoteRune(rune(c)))
			}
		}
	}
	return nil
}
