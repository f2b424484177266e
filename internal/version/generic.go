package version

import goversion "github.com/hashicorp/go-version"

// genericRules order versions of ecosystems without dedicated rules. Two
// versions that hashicorp/go-version parses (1.2.3, v1.2, 1.2.3-beta.1,
// 1.2.3.4) compare by its rules; any other pair compares in natural order,
// so that comparison never fails: runs of digits compare as numbers, other
// runs byte by byte, a digit run before a non-digit run, a prefix before
// the longer string.
//
// Mixing the two orders can make the generic order non-transitive across
// versions some of which parse and some of which do not; it is a last
// resort for ecosystems without rules.
var genericRules = rules{
	check:   func(string) error { return nil },
	compare: compareGeneric,
	total:   true,
}

func compareGeneric(a, b string) (int, error) {
	va, errA := goversion.NewVersion(a)
	vb, errB := goversion.NewVersion(b)
	if errA == nil && errB == nil {
		return va.Compare(vb), nil
	}
	return naturalCompare(a, b), nil
}

// naturalCompare compares a and b in natural order (see genericRules).
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		ra, restA := nextRun(a)
		rb, restB := nextRun(b)
		if c := cmpIdentifier(ra, rb); c != 0 {
			return c
		}
		a, b = restA, restB
	}
	return sign(len(a) - len(b))
}

// nextRun splits s, which is not empty, after its leading run of digits or
// of non-digits.
func nextRun(s string) (run, rest string) {
	d := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == d {
		i++
	}
	return s[:i], s[i:]
}
