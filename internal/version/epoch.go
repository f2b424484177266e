package version

import (
	"strings"

	"github.com/sextant-dev/sextant"
)

// AlignEpoch returns fixed with the installed version's epoch when the
// scanner dropped it: deb installed "1:2.33.1-0.1", fixed
// "2.33.1-0.1+deb10u1" -> "1:2.33.1-0.1+deb10u1"; same for rpm ("2:1.0-1"
// vs "1.1-1" -> "2:1.1-1"). Other ecosystems, fixed versions that carry an
// epoch, installed versions without one (or with epoch 0) and blank fixed
// versions are returned as is.
//
// Without this a fixed version would compare lower than the installed one
// (the epoch outranks everything after it) and the fix would look like a
// downgrade.
func AlignEpoch(ecosystem, installed, fixed string) string {
	switch sextant.Ecosystem(ecosystem) {
	case "deb", "rpm":
	default:
		return fixed
	}
	f := strings.TrimSpace(fixed)
	if f == "" {
		return fixed
	}
	if _, ok := epochOf(f); ok {
		return fixed
	}
	e, ok := epochOf(strings.TrimSpace(installed))
	if !ok || strings.TrimLeft(e, "0") == "" {
		return fixed
	}
	return e + ":" + f
}

// epochOf returns the epoch of a deb or rpm version: the digits before its
// first colon.
func epochOf(v string) (string, bool) {
	e, _, ok := strings.Cut(v, ":")
	if !ok || !allDigits(e) {
		return "", false
	}
	return e, true
}
