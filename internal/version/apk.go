package version

import (
	"errors"
	"strings"
)

// apkRules orders Alpine (and Wolfi) package versions as apk-tools does:
// digit{.digit}...{letter}{_suffix{#}}...{~hash}{-r#}, so 1.2.3-r4 <
// 1.2.3-r10, 1.1.1k < 1.1.1l, _alpha < _beta < _pre < _rc < the release <
// _cvs < _svn < _git < _hg < _p.
//
// This follows the tokenizer of current apk-tools (src/version.c) rather
// than wrapping knqyf263/go-apk-version, which ports an older apk-tools and
// orders a pre-release after its release when the component before the
// suffix starts with a zero: it has 1.0_rc1 > 1.0 and 2.0_alpha > 2.0, so a
// fixed version 1.0 would look older than an installed 1.0_rc1. It also
// lacks the ~hash component. Numbers of any length compare exactly.
var apkRules = ordered(parseAPK, compareAPK)

// apk token kinds, in apk-tools' order: when two versions agree up to the
// point where one has a token the other lacks, the later kind sorts lower
// (see compareAPK).
const (
	apkInitialDigit = iota
	apkDigit
	apkLetter
	apkSuffix
	apkSuffixNo
	apkCommitHash
	apkRevisionNo
	apkEnd
)

// apk suffixes by rank; apkNoSuffix marks the release itself.
var apkSuffixes = map[string]int{"alpha": 0, "beta": 1, "pre": 2, "rc": 3, "cvs": 5, "svn": 6, "git": 7, "hg": 8, "p": 9}

const apkNoSuffix = 4

type apkToken struct {
	kind   int
	value  string // the token's text: digits, letter, suffix word or hash
	suffix int
}

func parseAPK(v string) ([]apkToken, error) {
	n := 0
	for n < len(v) && isDigit(v[n]) {
		n++
	}
	if n == 0 {
		return nil, errors.New("version does not start with a digit")
	}
	toks := []apkToken{{kind: apkInitialDigit, value: v[:n]}}
	s := v[n:]
	last := apkInitialDigit
	for s != "" {
		var t apkToken
		c := s[0]
		switch {
		case 'a' <= c && c <= 'z':
			if last > apkDigit {
				return nil, errors.New("letter out of place")
			}
			t = apkToken{kind: apkLetter, value: s[:1]}
			s = s[1:]
		case c == '.' || isDigit(c):
			if c == '.' {
				if last > apkDigit {
					return nil, errors.New("dot out of place")
				}
				s = s[1:]
			}
			switch last {
			case apkInitialDigit, apkDigit:
				t.kind = apkDigit
			case apkSuffix:
				t.kind = apkSuffixNo
			default:
				return nil, errors.New("number out of place")
			}
			t.value, s = leadingRun(s, isDigit)
			if t.value == "" {
				return nil, errors.New("missing number")
			}
		case c == '_':
			if last > apkSuffixNo {
				return nil, errors.New("suffix out of place")
			}
			t.kind = apkSuffix
			t.value, s = leadingRun(s[1:], func(c byte) bool { return 'a' <= c && c <= 'z' })
			r, ok := apkSuffixes[t.value]
			if !ok {
				return nil, errors.New("unknown suffix")
			}
			t.suffix = r
		case c == '~':
			if last >= apkCommitHash {
				return nil, errors.New("commit hash out of place")
			}
			t.kind = apkCommitHash
			t.value, s = leadingRun(s[1:], isHex)
			if t.value == "" {
				return nil, errors.New("empty commit hash")
			}
		case c == '-':
			if last >= apkRevisionNo || !strings.HasPrefix(s, "-r") {
				return nil, errors.New("revision is not -r followed by a number")
			}
			t.kind = apkRevisionNo
			t.value, s = leadingRun(s[2:], isDigit)
			if t.value == "" {
				return nil, errors.New("revision is not -r followed by a number")
			}
		default:
			return nil, errors.New("invalid character")
		}
		toks = append(toks, t)
		last = t.kind
	}
	return toks, nil
}

func compareAPK(a, b []apkToken) int {
	i := 0
	for ; i < len(a) && i < len(b) && a[i].kind == b[i].kind; i++ {
		if c := compareAPKToken(a[i], b[i]); c != 0 {
			return c
		}
	}
	ka, kb := apkEnd, apkEnd
	var ta, tb apkToken
	if i < len(a) {
		ta, ka = a[i], a[i].kind
	}
	if i < len(b) {
		tb, kb = b[i], b[i].kind
	}
	// Equal so far: the version that goes on is greater, unless what
	// follows is a pre-release suffix.
	switch {
	case ka == kb:
		return 0
	case ka == apkSuffix && ta.suffix < apkNoSuffix:
		return -1
	case kb == apkSuffix && tb.suffix < apkNoSuffix:
		return 1
	case ka > kb:
		return -1
	}
	return 1
}

func compareAPKToken(a, b apkToken) int {
	switch a.kind {
	case apkDigit:
		// As in Gentoo, a component with a leading zero compares as a
		// string: 1.01 < 1.1, 1.001 < 1.01.
		if a.value[0] == '0' || b.value[0] == '0' {
			return strings.Compare(a.value, b.value)
		}
		return cmpDigits(a.value, b.value)
	case apkInitialDigit, apkSuffixNo, apkRevisionNo:
		return cmpDigits(strings.TrimLeft(a.value, "0"), strings.TrimLeft(b.value, "0"))
	case apkSuffix:
		return sign(a.suffix - b.suffix)
	}
	return strings.Compare(a.value, b.value)
}

// leadingRun splits s after its longest prefix of bytes satisfying ok.
func leadingRun(s string, ok func(byte) bool) (run, rest string) {
	i := 0
	for i < len(s) && ok(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
