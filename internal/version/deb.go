package version

import (
	"errors"
	"strconv"
	"strings"
)

// debRules orders Debian package versions ([epoch:]upstream[-revision],
// deb-version(7)) exactly as dpkg does.
//
// This is a port of dpkg's parseversion and verrevcmp (lib/dpkg/parsehelp.c
// and version.c) rather than a wrapper of knqyf263/go-deb-version, for three
// reasons: the comparison sits on the planner's hot path and the library
// takes about 1.8µs and 22 allocations per comparison (regular expressions
// and reflect.DeepEqual) against well under 100ns and none here; the library
// reads digit runs into an int, so runs longer than 19 digits compare equal;
// and it accepts an empty revision ("1.0-") that dpkg rejects. The library
// remains the oracle of the differential fuzz test, and the real dpkg binary
// that of TestDebAgainstDpkg.
var debRules = rules{check: checkDeb, compare: compareDeb}

// debVersion is a Debian version split into its parts. The parts are
// substrings of the input, so parsing does not allocate.
type debVersion struct {
	epoch    int
	upstream string
	revision string
}

// parseDeb splits v the way dpkg does and applies its syntax rules: what
// dpkg rejects outright (an empty revision, a non-numeric epoch) and what it
// only warns about (a version not starting with a digit, characters outside
// Debian Policy 5.6.12) are both errors here, since either means the input
// is not a Debian version.
func parseDeb(v string) (debVersion, error) {
	var d debVersion
	if v == "" {
		return d, errors.New("empty version")
	}
	if strings.ContainsFunc(v, isSpace) {
		return d, errors.New("version has embedded spaces")
	}
	rest := v
	if i := strings.IndexByte(v, ':'); i >= 0 {
		e := v[:i]
		if e == "" {
			return d, errors.New("epoch is empty")
		}
		if !allDigits(e) {
			return d, errors.New("epoch is not a number")
		}
		n, err := strconv.ParseInt(e, 10, 32)
		if err != nil {
			return d, errors.New("epoch is too big")
		}
		d.epoch = int(n)
		rest = v[i+1:]
		if rest == "" {
			return d, errors.New("nothing after colon")
		}
	}
	d.upstream = rest
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		d.upstream, d.revision = rest[:i], rest[i+1:]
		if d.revision == "" {
			return d, errors.New("revision is empty")
		}
	}
	if d.upstream == "" {
		return d, errors.New("upstream version is empty")
	}
	if !isDigit(d.upstream[0]) {
		return d, errors.New("upstream version does not start with a digit")
	}
	for i := 0; i < len(d.upstream); i++ {
		if c := d.upstream[i]; !isAlnum(c) && c != '.' && c != '-' && c != '+' && c != '~' && c != ':' {
			return d, errors.New("invalid character in upstream version")
		}
	}
	for i := 0; i < len(d.revision); i++ {
		if c := d.revision[i]; !isAlnum(c) && c != '.' && c != '+' && c != '~' {
			return d, errors.New("invalid character in revision")
		}
	}
	return d, nil
}

func checkDeb(v string) error {
	_, err := parseDeb(v)
	return err
}

func compareDeb(a, b string) (int, error) {
	da, err := parseDeb(a)
	if err != nil {
		return 0, &badVersion{a, err}
	}
	db, err := parseDeb(b)
	if err != nil {
		return 0, &badVersion{b, err}
	}
	if da.epoch != db.epoch {
		if da.epoch < db.epoch {
			return -1, nil
		}
		return 1, nil
	}
	if c := verrevcmp(da.upstream, db.upstream); c != 0 {
		return sign(c), nil
	}
	return sign(verrevcmp(da.revision, db.revision)), nil
}

// debOrder is dpkg's order(): the weight of a character in a non-digit run.
// Digits and the end of the string weigh 0, a tilde sorts before everything
// (even the end), letters before other characters.
func debOrder(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	}
	return int(c) + 256
}

// verrevcmp compares an upstream version or a revision as dpkg does:
// alternating runs of non-digits (by debOrder) and digits (numerically, of
// any length).
func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := debOrder(a, i), debOrder(b, j)
			if ac != bc {
				return ac - bc
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		firstDiff := 0
		for i < len(a) && j < len(b) && isDigit(a[i]) && isDigit(b[j]) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if firstDiff != 0 {
			return firstDiff
		}
	}
	return 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool { return isDigit(c) || isAlpha(c) }
func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}
