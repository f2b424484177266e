// Package version orders package versions the way each ecosystem's own
// package manager does: dpkg for deb, rpm for rpm, apk-tools for apk, npm and
// Cargo SemVer, Go module versions, PEP 440, Maven, RubyGems, NuGet and
// Composer. The fix planner uses it to find the least version that fixes every
// vulnerability of a package and to make sure a suggested version is never a
// downgrade.
//
// Each ecosystem wraps the library Trivy uses for it where one exists; NuGet
// and Composer are written here because no listed library fits them.
// Ecosystems without dedicated rules fall back to a generic order that never
// fails (see Compare).
package version

import (
	"slices"
	"strconv"
	"strings"

	"github.com/sextant-dev/sextant"
)

// rules is one ecosystem's version syntax and order.
type rules struct {
	// check returns an error when v does not parse; v is never blank.
	check func(v string) error
	// compare orders a and b, which are never blank. Its error is a
	// *badVersion naming the version that did not parse.
	compare func(a, b string) (int, error)
	// total is set when every string, even a blank one, has a place in
	// the order, so that compare never fails.
	total bool
}

// badVersion says which version did not parse, and why.
type badVersion struct {
	version string
	err     error
}

func (e *badVersion) Error() string {
	return "invalid version " + strconv.Quote(e.version) + ": " + e.err.Error()
}

// ordered builds rules from a parser and a comparison of parsed versions.
func ordered[V any](parse func(string) (V, error), cmp func(V, V) int) rules {
	return rules{
		check: func(v string) error {
			_, err := parse(v)
			return err
		},
		compare: func(a, b string) (int, error) {
			va, err := parse(a)
			if err != nil {
				return 0, &badVersion{a, err}
			}
			vb, err := parse(b)
			if err != nil {
				return 0, &badVersion{b, err}
			}
			return sign(cmp(va, vb)), nil
		},
	}
}

// byEcosystem holds the ecosystems with dedicated rules, by sextant
// ecosystem name.
var byEcosystem = map[string]rules{
	"deb":      debRules,
	"rpm":      rpmRules,
	"apk":      apkRules,
	"npm":      npmRules,
	"cargo":    cargoRules,
	"golang":   goRules,
	"pypi":     pypiRules,
	"maven":    mavenRules,
	"gem":      gemRules,
	"nuget":    nugetRules,
	"composer": composerRules,
}

// Ecosystems returns the sorted names of the ecosystems that have dedicated
// ordering rules. Versions of any other ecosystem are ordered generically.
func Ecosystems() []string {
	names := make([]string, 0, len(byEcosystem))
	for name := range byEcosystem {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// lookup returns the canonical ecosystem name and its rules. Scanner words
// such as "debian" or "node-pkg" are accepted through sextant.Ecosystem.
func lookup(ecosystem string) (string, rules) {
	name := sextant.Ecosystem(ecosystem)
	if r, ok := byEcosystem[name]; ok {
		return name, r
	}
	if name == "" {
		name = "generic"
	}
	return name, genericRules
}

// Compare compares versions a and b of a package in ecosystem (sextant
// ecosystem names: deb, rpm, apk, npm, golang, pypi, maven, gem, cargo,
// nuget, composer, and anything else = generic). It returns -1, 0 or +1, or
// an error naming the version that does not parse.
//
// Surrounding white space is ignored. A blank version is an error in every
// ecosystem except the generic one, whose order never fails: it uses
// hashicorp/go-version when both versions parse there and a natural-order
// string comparison otherwise.
func Compare(ecosystem, a, b string) (int, error) {
	name, r := lookup(ecosystem)
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if !r.total {
		for _, v := range []string{a, b} {
			if v == "" {
				return 0, sextant.Errorf(sextant.EINVALID, "compare %s versions: empty version", name)
			}
		}
	}
	c, err := r.compare(a, b)
	if err != nil {
		return 0, sextant.Errorf(sextant.EINVALID, "compare %s versions: %v", name, err)
	}
	return c, nil
}

// Valid reports whether v parses in the ecosystem. Blank versions are never
// valid; in the generic ecosystem every other version is.
func Valid(ecosystem, v string) bool {
	_, r := lookup(ecosystem)
	v = strings.TrimSpace(v)
	return v != "" && r.check(v) == nil
}

// Max returns the greatest of vs under the ecosystem's order (error if any
// does not parse, or if vs is empty). Of equal versions ("1.0" and "1.0.0"
// in some ecosystems) the first is returned, exactly as given.
func Max(ecosystem string, vs ...string) (string, error) {
	name, r := lookup(ecosystem)
	if len(vs) == 0 {
		return "", sextant.Errorf(sextant.EINVALID, "max %s version: no versions", name)
	}
	if !r.total {
		for _, v := range vs {
			if strings.TrimSpace(v) == "" {
				return "", sextant.Errorf(sextant.EINVALID, "max %s version: empty version", name)
			}
			if err := r.check(strings.TrimSpace(v)); err != nil {
				return "", sextant.Errorf(sextant.EINVALID, "max %s version: %v", name, &badVersion{strings.TrimSpace(v), err})
			}
		}
	}
	best := vs[0]
	for _, v := range vs[1:] {
		c, err := r.compare(strings.TrimSpace(v), strings.TrimSpace(best))
		if err != nil { // checked above; kept so that a bug shows as an error
			return "", sextant.Errorf(sextant.EINVALID, "max %s version: %v", name, err)
		}
		if c > 0 {
			best = v
		}
	}
	return best, nil
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}
