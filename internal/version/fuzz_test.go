package version

import (
	"slices"
	"testing"
)

// fuzzOrder runs the properties every ecosystem's order must have on a, b
// and c: no panic; an error exactly when a version is not Valid; -1, 0 or
// +1; reflexive, antisymmetric and, but for nonTransitive, transitive; Max
// returns one of its arguments, none greater.
func fuzzOrder(f *testing.F, eco string) {
	for _, c := range compareCases {
		if c.eco == eco {
			f.Add(c.a, c.b, c.a+"1")
		}
	}
	for _, v := range invalid[eco] {
		f.Add(v, "1.0", "1.0.0")
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ab, err := Compare(eco, a, b)
		if wantErr := !Valid(eco, a) || !Valid(eco, b); (err != nil) != wantErr && eco != "generic" {
			t.Fatalf("Compare(%q, %q, %q) error = %v, want error %v", eco, a, b, err, wantErr)
		}
		if err != nil {
			return
		}
		if ab < -1 || ab > 1 {
			t.Fatalf("Compare(%q, %q, %q) = %d, want -1, 0 or 1", eco, a, b, ab)
		}
		if aa, err := Compare(eco, a, a); aa != 0 || err != nil {
			t.Fatalf("Compare(%q, %q, %q) = %d, %v, want 0", eco, a, a, aa, err)
		}
		if ba, err := Compare(eco, b, a); ba != -ab || err != nil {
			t.Fatalf("Compare(%q, %q, %q) = %d, %v, want %d", eco, b, a, ba, err, -ab)
		}
		if eco == "deb" {
			if got, want, ok := debLibraryCompare(a, b); ok && got != want {
				t.Fatalf("Compare(%q, %q, %q) = %d, want %d (go-deb-version)", eco, a, b, got, want)
			}
		}
		bc, err := Compare(eco, b, c)
		if err != nil {
			return
		}
		ac, err := Compare(eco, a, c)
		if err != nil {
			t.Fatalf("Compare(%q, %q, %q) error = %v, want none", eco, a, c, err)
		}
		if nonTransitive[eco] {
			return
		}
		if ab <= 0 && bc <= 0 && ac > 0 {
			t.Fatalf("Compare(%q, …): %q <= %q <= %q but Compare(%q, %q) = %d", eco, a, b, c, a, c, ac)
		}
		m, err := Max(eco, a, b, c)
		if err != nil || !slices.Contains([]string{a, b, c}, m) {
			t.Fatalf("Max(%q, %q, %q, %q) = %q, %v, want one of them", eco, a, b, c, m, err)
		}
		for _, v := range []string{a, b, c} {
			if got, _ := Compare(eco, m, v); got < 0 {
				t.Fatalf("Max(%q, %q, %q, %q) = %q, less than %q", eco, a, b, c, m, v)
			}
		}
	})
}

// nonTransitive lists the orders known not to be transitive on all inputs:
// generic mixes two orders (see genericRules), and Maven's, like Maven's own
// ComparableVersion, is not on odd mixes of qualifiers and zero padding
// (testdata/fuzz/FuzzMaven/5e5ccd520a631d9d: "1.0.0.A0001" <= "1.000.FinAl"
// <= "1C0" yet "1.0.0.A0001" > "1C0").
var nonTransitive = map[string]bool{"generic": true, "maven": true}

func FuzzDeb(f *testing.F)      { fuzzOrder(f, "deb") }
func FuzzRPM(f *testing.F)      { fuzzOrder(f, "rpm") }
func FuzzAPK(f *testing.F)      { fuzzOrder(f, "apk") }
func FuzzNPM(f *testing.F)      { fuzzOrder(f, "npm") }
func FuzzCargo(f *testing.F)    { fuzzOrder(f, "cargo") }
func FuzzGo(f *testing.F)       { fuzzOrder(f, "golang") }
func FuzzPyPI(f *testing.F)     { fuzzOrder(f, "pypi") }
func FuzzMaven(f *testing.F)    { fuzzOrder(f, "maven") }
func FuzzGem(f *testing.F)      { fuzzOrder(f, "gem") }
func FuzzNuGet(f *testing.F)    { fuzzOrder(f, "nuget") }
func FuzzComposer(f *testing.F) { fuzzOrder(f, "composer") }
func FuzzGeneric(f *testing.F)  { fuzzOrder(f, "generic") }

// FuzzAlignEpoch checks that AlignEpoch never panics, leaves fixed alone
// when it carries an epoch, and never makes a valid fixed version invalid.
func FuzzAlignEpoch(f *testing.F) {
	f.Add("deb", "1:2.33.1-0.1", "2.33.1-0.1+deb10u1")
	f.Add("rpm", "2:1.0-1", "1.1-1")
	f.Add("deb", "1:1.0", "2:1.0")
	f.Add("npm", "1:1.0.0", "1.0.1")
	f.Fuzz(func(t *testing.T, eco, installed, fixed string) {
		got := AlignEpoch(eco, installed, fixed)
		if _, ok := epochOf(fixed); ok && got != fixed {
			t.Fatalf("AlignEpoch(%q, %q, %q) = %q, want fixed unchanged", eco, installed, fixed, got)
		}
		if Valid(eco, fixed) && Valid(eco, installed) && !Valid(eco, got) {
			t.Fatalf("AlignEpoch(%q, %q, %q) = %q, not valid", eco, installed, fixed, got)
		}
	})
}
