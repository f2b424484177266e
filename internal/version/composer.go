package version

import (
	"errors"
	"regexp"
	"strings"
)

// composerRules orders Composer (Packagist) package versions as Composer
// does: it normalises a version with the rules of Composer's
// VersionParser::normalize and compares the results with the rules of PHP's
// version_compare, which is what Composer's Comparator calls. It is written
// here because no library in use covers Composer.
//
// So "v1.2" = "1.2.0.0"; dev < alpha (a) < beta (b) < RC < the release <
// patch (p, pl); "1.0.0-beta2-dev" < "1.0.0-beta2"; build metadata after "+"
// is ignored. Branches ("dev-main", "1.x-dev") name no fixed point in the
// order and are rejected.
var composerRules = ordered(parseComposer, compareComposer)

const composerModifier = `[._-]?(?:(stable|beta|b|rc|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?$`

var (
	composerClassic = regexp.MustCompile(`^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?` + composerModifier)
	composerDate    = regexp.MustCompile(`^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})` + composerModifier)
	nonDigits       = regexp.MustCompile(`\D+`)
	digitRuns       = regexp.MustCompile(`\d+`)
)

// composerToken is one part of a normalised version as version_compare
// sees it: a number (digits without leading zeros) or a special form with
// its rank.
type composerToken struct {
	num  string
	rank int // for special forms; numbers rank as "#"
	word bool
}

// PHP version_compare's special forms, by rank; numbers rank as "#" (4).
var phpForms = map[string]int{"dev": 0, "alpha": 1, "beta": 2, "rc": 3, "patch": 5}

const phpNumberRank = 4

func parseComposer(v string) ([]composerToken, error) {
	s := strings.ToLower(v)
	// Build metadata goes, as in Composer, when there is some.
	if i := strings.IndexByte(s, '+'); i > 0 && i < len(s)-1 {
		s = s[:i]
	}
	var nums []string
	var m []string
	if m = composerClassic.FindStringSubmatch(s); m != nil {
		nums = []string{m[1], "0", "0", "0"}
		for i := 2; i <= 4; i++ {
			if m[i] != "" {
				nums[i-1] = m[i][1:]
			}
		}
		m = m[5:]
	} else if m = composerDate.FindStringSubmatch(s); m != nil {
		nums = nonDigits.Split(m[1], -1)
		m = m[2:]
	} else {
		if strings.HasPrefix(s, "dev-") || strings.HasSuffix(s, "dev") {
			return nil, errors.New("a branch, not a version")
		}
		return nil, errors.New("not a Composer version")
	}
	var toks []composerToken
	for _, n := range nums {
		toks = append(toks, composerToken{num: strings.TrimLeft(n, "0")})
	}
	stability, stabilityNums, dev := m[0], m[1], m[2] != ""
	switch stability {
	case "", "stable":
		if stability == "stable" {
			dev = false // Composer drops "-dev" after "stable"
		}
	default:
		toks = append(toks, composerToken{word: true, rank: phpForms[expandStability(stability)]})
		for _, n := range digitRuns.FindAllString(stabilityNums, -1) {
			toks = append(toks, composerToken{num: strings.TrimLeft(n, "0")})
		}
	}
	if dev {
		toks = append(toks, composerToken{word: true, rank: phpForms["dev"]})
	}
	return toks, nil
}

// expandStability is Composer's VersionParser::expandStability.
func expandStability(s string) string {
	switch s {
	case "a":
		return "alpha"
	case "b":
		return "beta"
	case "p", "pl":
		return "patch"
	}
	return s
}

// compareComposer is PHP's php_version_compare on canonical token lists.
func compareComposer(a, b []composerToken) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		var c int
		switch {
		case !x.word && !y.word:
			c = cmpDigits(x.num, y.num)
		default:
			c = sign(x.phpRank() - y.phpRank())
		}
		if c != 0 {
			return c
		}
	}
	// The longer version wins if it goes on with a number; if it goes on
	// with a special form, that form is compared with a number.
	switch {
	case len(a) > len(b):
		if !a[len(b)].word {
			return 1
		}
		return sign(a[len(b)].rank - phpNumberRank)
	case len(b) > len(a):
		if !b[len(a)].word {
			return -1
		}
		return sign(phpNumberRank - b[len(a)].rank)
	}
	return 0
}

func (t composerToken) phpRank() int {
	if t.word {
		return t.rank
	}
	return phpNumberRank
}
