package version

import (
	"errors"
	"os/exec"
	"strings"
	"testing"

	debversion "github.com/knqyf263/go-deb-version"
)

// debVersions are realistic Debian and Ubuntu versions, and a few awkward
// ones, for the dpkg cross-check.
var debVersions = []string{
	"1.0", "1.0~rc1", "1.0~rc2", "1.0~~", "1.0-1", "1.0-1.1", "1.0+b1",
	"1.0a", "1.0.1", "1:0.9", "1:1.2-1", "1.3", "2:1.0",
	"2.33.1-0.1", "1:2.33.1-0.1", "2.33.1-0.1+deb10u1",
	"1.1.1n-0+deb11u4", "1.1.1n-0+deb11u5", "1.1.1w-0+deb11u1",
	"7.74.0-1.3+deb11u7", "7.74.0-1.3+deb11u10", "2.36-9+deb12u4",
	"1.2.11.dfsg-2ubuntu9.2", "1.2.11.dfsg-2ubuntu9", "1:1.2.11.dfsg-2",
	"5.15.0-91.101", "5.15.0-101.111", "3.0.2-0ubuntu1.10", "3.0.2-0ubuntu1.9",
	"1.99999999999999999998", "1.99999999999999999999",
}

// TestDebAgainstDpkg compares every pair of debVersions with the real
// dpkg --compare-versions. On Debian 12 (dpkg 1.21) all 961 pairs agree.
func TestDebAgainstDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("dpkg not installed")
	}
	if testing.Short() {
		t.Skip("runs dpkg once or twice per pair")
	}
	holds := func(a, op, b string) bool {
		err := exec.Command(dpkg, "--compare-versions", a, op, b).Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("run dpkg: %v", err)
		}
		return err == nil
	}
	agree := 0
	for _, a := range debVersions {
		for _, b := range debVersions {
			want := 1
			switch {
			case holds(a, "lt", b):
				want = -1
			case holds(a, "eq", b):
				want = 0
			}
			got, err := Compare("deb", a, b)
			if err != nil || got != want {
				t.Errorf("Compare(%q, %q, %q) = %d, %v, want %d (dpkg)", "deb", a, b, got, err, want)
				continue
			}
			agree++
		}
	}
	t.Logf("%d of %d pairs agree with dpkg", agree, len(debVersions)*len(debVersions))
}

// TestDebValidAgainstDpkg checks that what Valid rejects makes dpkg warn or
// fail, and what it accepts dpkg takes silently.
func TestDebValidAgainstDpkg(t *testing.T) {
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		t.Skip("dpkg not installed")
	}
	vs := append([]string{}, invalid["deb"][2:]...) // dpkg takes no empty argument
	vs = append(vs, debVersions...)
	for _, v := range vs {
		out, _ := exec.Command(dpkg, "--compare-versions", v, "eq", "1.0").CombinedOutput()
		dpkgOK := len(strings.TrimSpace(string(out))) == 0
		if got := Valid("deb", v); got != dpkgOK {
			t.Errorf("Valid(%q, %q) = %v, want %v (dpkg said %q)", "deb", v, got, dpkgOK, out)
		}
	}
}

// TestDebAgainstLibrary compares with knqyf263/go-deb-version wherever both
// accept the versions; the library cannot order digit runs over 19 digits.
func TestDebAgainstLibrary(t *testing.T) {
	for _, a := range debVersions[:len(debVersions)-2] {
		for _, b := range debVersions[:len(debVersions)-2] {
			if got, want, ok := debLibraryCompare(a, b); ok && got != want {
				t.Errorf("Compare(%q, %q, %q) = %d, want %d (go-deb-version)", "deb", a, b, got, want)
			}
		}
	}
}

// debLibraryCompare returns Compare's and go-deb-version's results, and
// whether both apply.
func debLibraryCompare(a, b string) (got, want int, ok bool) {
	got, err := Compare("deb", a, b)
	if err != nil {
		return 0, 0, false
	}
	va, errA := debversion.NewVersion(a)
	vb, errB := debversion.NewVersion(b)
	if errA != nil || errB != nil || longDigitRun(a) || longDigitRun(b) {
		return 0, 0, false
	}
	return got, sign(va.Compare(vb)), true
}

func longDigitRun(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
			if n > 18 {
				return true
			}
		} else {
			n = 0
		}
	}
	return false
}

// BenchmarkCompareDeb measures one comparison of two realistic Debian
// versions, the planner's hot path.
func BenchmarkCompareDeb(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compare("deb", "1:2.33.1-0.1", "1:2.33.1-0.1+deb10u1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompareDebLibrary measures the same comparison with
// knqyf263/go-deb-version, for BENCHMARKS.md.
func BenchmarkCompareDebLibrary(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		va, _ := debversion.NewVersion("1:2.33.1-0.1")
		vb, _ := debversion.NewVersion("1:2.33.1-0.1+deb10u1")
		_ = va.Compare(vb)
	}
}
