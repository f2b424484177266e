package version

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sextant-dev/sextant"
)

// compareCase says that Compare(eco, a, b) is want (and so Compare(eco, b,
// a) is -want).
type compareCase struct {
	eco, a, b string
	want      int
}

var compareCases = []compareCase{
	// deb (dpkg)
	{"deb", "1.0", "1.0", 0},
	{"deb", "1.0~rc1", "1.0", -1},
	{"deb", "1.0~rc1", "1.0~rc2", -1},
	{"deb", "1.0~~", "1.0~", -1},
	{"deb", "1.0~", "1.0", -1},
	{"deb", "1:1.2-1", "1.3", 1},
	{"deb", "0:1.3", "1.3", 0},
	{"deb", "1:2.33.1-0.1", "2.33.1-0.1+deb10u1", 1},
	{"deb", "2.33.1-0.1", "2.33.1-0.1+deb10u1", -1},
	{"deb", "1.1.1n-0+deb11u4", "1.1.1n-0+deb11u5", -1},
	{"deb", "1.1.1n-0+deb11u5", "1.1.1w-0+deb11u1", -1},
	{"deb", "7.74.0-1.3+deb11u7", "7.74.0-1.3+deb11u10", -1},
	{"deb", "1.0-1", "1.0-1ubuntu0.1", -1},
	{"deb", "1.0-0ubuntu1", "1.0-1", -1},
	{"deb", "1.0a", "1.0", 1},
	{"deb", "1.0a", "1.0.1", -1}, // letters sort before other characters
	{"deb", "1.0+b1", "1.0", 1},
	{"deb", "1.0+b1", "1.0.1", -1},
	{"deb", "1.0-1", "1.0-1.1", -1},
	{"deb", "2.0", "10.0", -1},
	{"deb", "1.00", "1.0", 0},
	{"deb", "1.99999999999999999998", "1.99999999999999999999", -1},
	{"deb", "1:2:3", "1:2:4", -1},
	{"deb", "1.0-a-1", "1.0-a", 1}, // the last hyphen separates the revision
	// rpm
	{"rpm", "1.0", "1.0", 0},
	{"rpm", "1.0", "2.0", -1},
	{"rpm", "2.0.1", "2.0", 1},
	{"rpm", "2.0.1a", "2.0.1", 1},
	{"rpm", "5.5p1", "5.5p10", -1},
	{"rpm", "10xyz", "10.1xyz", -1},
	{"rpm", "1.0~rc1", "1.0", -1},
	{"rpm", "1.0~rc1~git123", "1.0~rc1", -1},
	{"rpm", "1.0^", "1.0", 1},
	{"rpm", "1.0^git1", "1.0", 1},
	{"rpm", "1.0^git1", "1.01", -1},
	{"rpm", "1.0^20160101", "1.0.1", -1},
	{"rpm", "1.0^20160101^git1", "1.0^20160101", 1},
	{"rpm", "1.0~rc1^git1", "1.0~rc1", 1},
	{"rpm", "2:1.0-1", "1.1-1", 1},
	{"rpm", "0:1.0-1", "1.0-1", 0},
	{"rpm", "1.0-1.el7", "1.0-1.el7_9", -1},
	{"rpm", "3.2.3-47.el7", "3.2.3-47.el7_9.1", -1},
	{"rpm", "1.8.3.1-14.el7", "1.8.3.1-14.el7_2.1", -1},
	{"rpm", "1:1.0.2k-19.el7", "1:1.0.2k-26.el7_9", -1},
	{"rpm", "2.17-324.el7_9", "2.17-325.el7_9", -1},
	{"rpm", "1.0-1", "1.0", 1},
	// apk
	{"apk", "1.2.3-r4", "1.2.3-r4", 0},
	{"apk", "1.2.3-r4", "1.2.3-r10", -1},
	{"apk", "1.2.3", "1.2.3-r0", -1},
	{"apk", "1.0_rc1", "1.0", -1},
	{"apk", "2.0_alpha", "2.0", -1},
	{"apk", "1.0_p1", "1.0", 1},
	{"apk", "1.0_alpha", "1.0_beta", -1},
	{"apk", "1.0_beta2", "1.0_pre1", -1},
	{"apk", "1.0_rc1", "1.0_rc2", -1},
	{"apk", "1.0_rc", "1.0_rc1", -1},
	{"apk", "1.1.1k", "1.1.1l", -1},
	{"apk", "1.1.1k-r0", "1.1.1", 1},
	{"apk", "1.1.1k", "1.1.2", -1},
	{"apk", "3.0.8-r0", "3.0.10-r0", -1},
	{"apk", "1.36.1-r2", "1.36.1-r15", -1},
	{"apk", "1.0_git20230101", "1.0", 1},
	{"apk", "1.0~abc123", "1.0", 1},
	{"apk", "1.0~abc123", "1.0-r1", 1}, // as apk-tools: a hash outranks a revision
	// npm
	{"npm", "1.0.0-alpha", "1.0.0", -1},
	{"npm", "1.0.0-alpha", "1.0.0-alpha.1", -1},
	{"npm", "1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
	{"npm", "1.0.0-beta.2", "1.0.0-beta.11", -1},
	{"npm", "1.0.0-rc.1", "1.0.0", -1},
	{"npm", "1.0.0+build.1", "1.0.0", 0},
	{"npm", "v1.0.0", "1.0.0", 0},
	{"npm", "=1.2.3", "1.2.4", -1},
	{"npm", "4.17.20", "4.17.21", -1},
	{"npm", "10.0.0", "9.99.99", 1},
	// cargo
	{"cargo", "1.0.0-alpha", "1.0.0", -1},
	{"cargo", "1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
	{"cargo", "1.0.0+build5", "1.0.0", 0},
	{"cargo", "v1.2.3", "1.2.3", 0},
	{"cargo", "0.10.0", "0.9.9", 1},
	{"cargo", "1.2", "1.2.0", 0},
	{"cargo", "0.38.0", "0.38.1", -1},
	{"cargo", "1.0.0-rc.9", "1.0.0-rc.10", -1},
	// golang
	{"golang", "v1.2.3", "v1.2.4", -1},
	{"golang", "v1.2.3", "1.2.3", 0},
	{"golang", "v2.0.0+incompatible", "v2.0.0", 0},
	{"golang", "v2.0.1+incompatible", "v2.0.0", 1},
	{"golang", "v0.0.0-20210101000000-abcdef123456", "v0.0.1", -1},
	{"golang", "v0.0.0-20210101000000-abcdef123456", "v0.0.0-20220101000000-123456abcdef", -1},
	{"golang", "v1.2.4-0.20210101000000-abcdef123456", "v1.2.3", 1},
	{"golang", "v1.2.4-0.20210101000000-abcdef123456", "v1.2.4", -1},
	{"golang", "v1.2.4-0.20210101000000-abcdef123456", "v1.2.4-rc.1", -1},
	{"golang", "v1.2.4-pre.0.20210101000000-abcdef123456", "v1.2.4-pre", 1},
	{"golang", "go1.21.3", "1.21.3", 0},
	{"golang", "go1.21.3", "v1.21.3", 0},
	{"golang", "1.21.3", "1.21.10", -1},
	{"golang", "go1.21rc2", "go1.21.0", -1},
	{"golang", "go1.21rc2", "go1.21rc10", -1},
	{"golang", "go1.9beta1", "go1.9rc1", -1},
	{"golang", "go1.20", "1.20.0", 0},
	{"golang", "1.20.14", "go1.21rc1", -1},
	// pypi
	{"pypi", "1.0rc1", "1.0", -1},
	{"pypi", "1.0a1", "1.0b1", -1},
	{"pypi", "1.0.dev1", "1.0a1", -1},
	{"pypi", "1.0.post1", "1.0", 1},
	{"pypi", "1!1.0", "2.0", 1},
	{"pypi", "1.0+local", "1.0", 1},
	{"pypi", "1.0", "1.0.0", 0},
	{"pypi", "1.0RC1", "1.0rc1", 0},
	{"pypi", "2.31.0", "2.4.0", 1},
	{"pypi", "v1.0", "1.0", 0},
	// maven
	{"maven", "1.0-SNAPSHOT", "1.0", -1},
	{"maven", "1.0.RELEASE", "1.0", 0},
	{"maven", "2.0.0.Final", "2.0.0", 0},
	{"maven", "1.0-alpha1", "1.0-beta1", -1},
	{"maven", "1.0-beta1", "1.0-milestone1", -1},
	{"maven", "1.0-milestone1", "1.0-rc1", -1},
	{"maven", "1.0-rc1", "1.0-SNAPSHOT", -1},
	{"maven", "1.0-CR1", "1.0-rc1", 0},
	{"maven", "1.0", "1.0-sp1", -1},
	{"maven", "1.0-ga", "1.0", 0},
	{"maven", "2.15.0", "2.17.1", -1},
	{"maven", "5.3.18", "5.3.9", 1},
	{"maven", "31.1-jre", "31.1-android", 1},
	{"maven", "1.0.0.Beta1", "1.0.0.Final", -1},
	// gem
	{"gem", "1.0.0.pre", "1.0.0", -1},
	{"gem", "1.0.0.pre", "1.0.0.rc1", -1},
	{"gem", "1.0.0-beta", "1.0.0", -1},
	{"gem", "1.0", "1.0.0", 0},
	{"gem", "1.13.10", "1.13.9", 1},
	{"gem", "6.1.7.3", "6.1.7.10", -1},
	{"gem", "2.0.0.rc1", "2.0.0.rc2", -1},
	{"gem", "1.0.0.a", "1.0.0.b", -1},
	// nuget
	{"nuget", "1.2.3.4", "1.2.3", 1},
	{"nuget", "1.2.3.0", "1.2.3", 0},
	{"nuget", "1.0", "1.0.0.0", 0},
	{"nuget", "1.0.0-Beta", "1.0.0-beta", 0},
	{"nuget", "1.0.0-beta", "1.0.0", -1},
	{"nuget", "1.0.0-beta.2", "1.0.0-beta.10", -1},
	{"nuget", "1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
	{"nuget", "1.0.0-alpha", "1.0.0-alpha.1", -1},
	{"nuget", "1.0.0+build", "1.0.0", 0},
	{"nuget", "01.2.3", "1.2.3", 0},
	{"nuget", "13.0.1", "13.0.3", -1},
	{"nuget", "4.7.2.1", "4.7.10", -1},
	// composer
	{"composer", "v1.2.3", "1.2.3", 0},
	{"composer", "1.2", "1.2.0.0", 0},
	{"composer", "1.0.0-beta", "1.0.0", -1},
	{"composer", "1.0.0-beta1", "1.0.0-beta2", -1},
	{"composer", "1.0.0-beta", "1.0.0-beta1", -1},
	{"composer", "1.0.0-alpha3", "1.0.0-beta1", -1},
	{"composer", "1.0.0-RC1", "1.0.0-beta2", 1},
	{"composer", "1.0.0-rc1", "1.0.0-RC1", 0},
	{"composer", "1.0.0-RC2", "1.0.0", -1},
	{"composer", "1.0.0-p1", "1.0.0", 1},
	{"composer", "1.0.0-pl1", "1.0.0-patch1", 0},
	{"composer", "1.0.0-p1", "1.0.1", -1},
	{"composer", "1.0.0-dev", "1.0.0-alpha", -1},
	{"composer", "1.0.0-beta2-dev", "1.0.0-beta2", -1},
	{"composer", "1.0.0-beta2-dev", "1.0.0-beta1", 1},
	{"composer", "1.0.0-stable", "1.0.0", 0},
	{"composer", "1.0.0+build.5", "1.0.0", 0},
	{"composer", "1.0.0b2", "1.0.0-beta.2", 0},
	{"composer", "5.4.10", "5.4.9", 1},
	{"composer", "2021.01.15", "2021.02.01", -1},
	// generic
	{"generic", "1.2.10", "1.2.9", 1},
	{"generic", "1.2", "1.2.0", 0},
	{"generic", "v1.2.3", "1.2.3", 0},
	{"generic", "1.2.3-beta", "1.2.3", -1},
	{"generic", "abc10", "abc9", 1},
	{"generic", "r100", "r99", 1},
	{"generic", "abc", "abd", -1},
	{"generic", "", "1", -1},
	{"generic", "", "", 0},
	{"conan", "1.2.11", "1.2.13", -1},
	{"", "5.15.0-91", "5.15.0-101", -1}, // hashicorp: numeric pre-releases compare as numbers
}

func TestCompare(t *testing.T) {
	for _, c := range compareCases {
		t.Run(c.eco+"/"+c.a+"_vs_"+c.b, func(t *testing.T) {
			got, err := Compare(c.eco, c.a, c.b)
			if err != nil || got != c.want {
				t.Errorf("Compare(%q, %q, %q) = %d, %v, want %d", c.eco, c.a, c.b, got, err, c.want)
			}
			got, err = Compare(c.eco, c.b, c.a)
			if err != nil || got != -c.want {
				t.Errorf("Compare(%q, %q, %q) = %d, %v, want %d", c.eco, c.b, c.a, got, err, -c.want)
			}
		})
	}
}

// TestCompareCovers checks that the table has at least eight cases for every
// ecosystem with dedicated rules.
func TestCompareCovers(t *testing.T) {
	n := map[string]int{}
	for _, c := range compareCases {
		n[c.eco]++
	}
	for _, e := range Ecosystems() {
		if n[e] < 8 {
			t.Errorf("compareCases has %d cases for %q, want at least 8", n[e], e)
		}
	}
}

func TestCompareScannerWords(t *testing.T) {
	for _, c := range []compareCase{
		{"debian", "1.0~rc1", "1.0", -1},
		{"ubuntu", "1:1.0", "2.0", 1},
		{"redhat", "1.0^git1", "1.0", 1},
		{"alpine", "1.0_rc1", "1.0", -1},
		{"node-pkg", "1.0.0-alpha", "1.0.0", -1},
		{"gobinary", "go1.21.3", "1.21.4", -1},
		{"jar", "1.0-SNAPSHOT", "1.0", -1},
		{" DEB ", "1.0", "1.0~", 1},
	} {
		got, err := Compare(c.eco, c.a, c.b)
		if err != nil || got != c.want {
			t.Errorf("Compare(%q, %q, %q) = %d, %v, want %d", c.eco, c.a, c.b, got, err, c.want)
		}
	}
}

func TestCompareTrimsSpace(t *testing.T) {
	got, err := Compare("deb", " 1.0-1\n", "\t1.0-2")
	if err != nil || got != -1 {
		t.Errorf("Compare(%q, %q, %q) = %d, %v, want -1", "deb", " 1.0-1\n", "\t1.0-2", got, err)
	}
}

// invalid lists versions that do not parse, by ecosystem.
var invalid = map[string][]string{
	"deb":      {"", " ", "a1.0", "1.0-", "-1", ":1.0", "x:1.0", "1:", "1.0 1", "1.0_1", "1.0é", "1.0-1!", "99999999999:1.0"},
	"rpm":      {"", "x:1.0", "1.0-", "-1", "1.0-1-1", "1.0 1", "1.0/1", "99999999999:1.0", "1:"},
	"apk":      {"", "a", "1.0-1", "1.0-r", "1.0_foo", "1.0_", "1.0A", "1.0ab", "1..0", "1.0.", "1.0~", "1.0~xyz", "1.0-r1-r2", "1.0 1"},
	"npm":      {"", "1", "1.0", "1.0.0.0", "01.0.0", "1.0.0-", "1.0.0+", "x.y.z", "latest", "^1.0.0", "1.0.0 - 2.0.0"},
	"cargo":    {"", "x", "1.0.0.0", "1.0.0-", "1.0.0-a..b", "1.0.0+", "*", "^1.0"},
	"golang":   {"", "x", "v1.2.3.4", "v1.2.3-", "latest", "gox", "go1.21x1", "master"},
	"pypi":     {"", "x", "1.0-foo-bar", "1..0", "1.0+", "1.0+a+b", "dev"},
	"maven":    {"", "SNAPSHOT", "LATEST", "1.0 1", "1.0/1", "1.0é", "${project.version}"},
	"gem":      {"", "x", "1.0 1", "1..0", "1.0.", "-1", ">= 1.0"},
	"nuget":    {"", "x", "1.2.3.4.5", "1.0.0-", "1.0.0-a..b", "1.0.0+", "1..0", "1.0-b_c", "[1.0,2.0)"},
	"composer": {"", "x", "1.0.0+", "dev-master", "dev-main", "1.x-dev", "1.0.0-foo", "1.2.3.4.5", "*", "^1.0", "1.0-beta.x"},
}

func TestCompareInvalid(t *testing.T) {
	for eco, vs := range invalid {
		for _, v := range vs {
			for _, pair := range [][2]string{{v, "1.0.0"}, {"1.0.0", v}} {
				got, err := Compare(eco, pair[0], pair[1])
				if err == nil {
					t.Errorf("Compare(%q, %q, %q) = %d, nil, want error", eco, pair[0], pair[1], got)
					continue
				}
				if code := sextant.ErrorCode(err); code != sextant.EINVALID {
					t.Errorf("Compare(%q, %q, %q) error code = %q, want %q", eco, pair[0], pair[1], code, sextant.EINVALID)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "compare "+eco+" versions: ") {
					t.Errorf("Compare(%q, %q, %q) error = %q, want prefix %q", eco, pair[0], pair[1], msg, "compare "+eco+" versions: ")
				}
				if strings.TrimSpace(v) != "" && !strings.Contains(msg, strings.TrimSpace(v)) {
					t.Errorf("Compare(%q, %q, %q) error = %q, does not name %q", eco, pair[0], pair[1], msg, v)
				}
			}
		}
	}
}

func TestValid(t *testing.T) {
	for eco, vs := range invalid {
		for _, v := range vs {
			if Valid(eco, v) {
				t.Errorf("Valid(%q, %q) = true, want false", eco, v)
			}
		}
	}
	for _, c := range compareCases {
		want := c.eco != "generic" && c.eco != "" || c.a != ""
		if got := Valid(c.eco, c.a); got != want {
			t.Errorf("Valid(%q, %q) = %v, want %v", c.eco, c.a, got, want)
		}
	}
	for _, v := range []string{"anything at all", "!!", "1.0 beta"} {
		if !Valid("generic", v) {
			t.Errorf("Valid(%q, %q) = false, want true", "generic", v)
		}
	}
}

func TestMax(t *testing.T) {
	for _, c := range []struct {
		eco  string
		vs   []string
		want string
	}{
		{"deb", []string{"1.0~rc1", "1:0.9", "1.0"}, "1:0.9"},
		{"deb", []string{"2.33.1-0.1+deb10u1", "2.33.1-0.1+deb10u2", "2.33.1-0.1"}, "2.33.1-0.1+deb10u2"},
		{"rpm", []string{"1.0-1.el7", "1.0-1.el7_9", "1.0~rc1-1"}, "1.0-1.el7_9"},
		{"apk", []string{"1.0", "1.0_rc1", "1.0-r1"}, "1.0-r1"},
		{"npm", []string{"1.0.0", "1.0.0-rc.1", "0.9.9"}, "1.0.0"},
		{"golang", []string{"v0.0.0-20210101000000-abcdef123456", "v0.0.1", "v0.0.1-0.20220101000000-abcdef123456"}, "v0.0.1"},
		{"pypi", []string{"1.0", "1.0.post1", "1.0rc1"}, "1.0.post1"},
		{"maven", []string{"1.0", "1.0-SNAPSHOT", "1.0.RELEASE"}, "1.0"}, // equal: the first wins
		{"nuget", []string{"1.0.0-beta", "1.0"}, "1.0"},
		{"composer", []string{"1.0.0-p1", "1.0.0", "1.0.0-RC1"}, "1.0.0-p1"},
		{"generic", []string{"r9", "r10", ""}, "r10"},
		{"deb", []string{" 1.0 "}, " 1.0 "},
	} {
		got, err := Max(c.eco, c.vs...)
		if err != nil || got != c.want {
			t.Errorf("Max(%q, %q) = %q, %v, want %q", c.eco, c.vs, got, err, c.want)
		}
	}
}

func TestMaxInvalid(t *testing.T) {
	for _, c := range []struct {
		eco     string
		vs      []string
		wantMsg string
	}{
		{"deb", nil, "max deb version: no versions"},
		{"deb", []string{"a1"}, `max deb version: invalid version "a1": upstream version does not start with a digit`},
		{"npm", []string{"1.0.0", "2.0.0", "x"}, `max npm version: invalid version "x": not a semantic version`},
		{"rpm", []string{"1.0", " "}, "max rpm version: empty version"},
		{"generic", nil, "max generic version: no versions"},
	} {
		_, err := Max(c.eco, c.vs...)
		if err == nil || err.Error() != c.wantMsg || sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("Max(%q, %q) error = %v (code %q), want %q (code %q)", c.eco, c.vs, err, sextant.ErrorCode(err), c.wantMsg, sextant.EINVALID)
		}
	}
}

func TestCompareErrorMessage(t *testing.T) {
	_, err := Compare("deb", "1.0", "1.0-")
	want := `compare deb versions: invalid version "1.0-": revision is empty`
	if err == nil || err.Error() != want {
		t.Errorf("Compare(%q, %q, %q) error = %v, want %q", "deb", "1.0", "1.0-", err, want)
	}
	_, err = Compare("pypi", "", "1.0")
	want = "compare pypi versions: empty version"
	if err == nil || err.Error() != want {
		t.Errorf("Compare(%q, %q, %q) error = %v, want %q", "pypi", "", "1.0", err, want)
	}
}

func TestEcosystems(t *testing.T) {
	want := []string{"apk", "cargo", "composer", "deb", "gem", "golang", "maven", "npm", "nuget", "pypi", "rpm"}
	if diff := cmp.Diff(want, Ecosystems()); diff != "" {
		t.Errorf("Ecosystems() mismatch (-want +got):\n%s", diff)
	}
	for _, e := range Ecosystems() {
		if sextant.Ecosystem(e) != e {
			t.Errorf("sextant.Ecosystem(%q) = %q, want it unchanged", e, sextant.Ecosystem(e))
		}
	}
}

func TestAlignEpoch(t *testing.T) {
	for _, c := range []struct {
		eco, installed, fixed, want string
	}{
		{"deb", "1:2.33.1-0.1", "2.33.1-0.1+deb10u1", "1:2.33.1-0.1+deb10u1"},
		{"debian", "1:2.33.1-0.1", "2.33.1-0.1+deb10u1", "1:2.33.1-0.1+deb10u1"},
		{"rpm", "2:1.0-1", "1.1-1", "2:1.1-1"},
		{"deb", "1:2.33.1-0.1", "2:2.34", "2:2.34"}, // fixed has an epoch
		{"deb", "1:2.33.1-0.1", "0:2.34", "0:2.34"}, // even epoch 0
		{"deb", "2.33.1-0.1", "2.33.1-0.1+deb10u1", "2.33.1-0.1+deb10u1"},
		{"rpm", "0:1.0-1", "1.1-1", "1.1-1"}, // epoch 0 changes nothing
		{"deb", "1:2.33.1-0.1", "", ""},      // no fixed version
		{"deb", "1:2.33.1-0.1", " 2.34 ", "1:2.34"},
		{"npm", "1:1.0.0", "1.0.1", "1.0.1"}, // other ecosystems as is
		{"apk", "1:1.0", "1.1", "1.1"},
		{"deb", "x:1.0", "1.1", "1.1"}, // installed epoch not a number
	} {
		if got := AlignEpoch(c.eco, c.installed, c.fixed); got != c.want {
			t.Errorf("AlignEpoch(%q, %q, %q) = %q, want %q", c.eco, c.installed, c.fixed, got, c.want)
		}
	}
}

// TestAlignEpochPreventsDowngrade shows why AlignEpoch exists: without it a
// fix looks older than what is installed.
func TestAlignEpochPreventsDowngrade(t *testing.T) {
	installed, fixed := "1:2.33.1-0.1", "2.33.1-0.1+deb10u1"
	if got, _ := Compare("deb", fixed, installed); got != -1 {
		t.Errorf("Compare(%q, %q, %q) = %d, want -1", "deb", fixed, installed, got)
	}
	aligned := AlignEpoch("deb", installed, fixed)
	if got, _ := Compare("deb", aligned, installed); got != 1 {
		t.Errorf("Compare(%q, %q, %q) = %d, want 1", "deb", aligned, installed, got)
	}
}
