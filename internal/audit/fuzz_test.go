package audit_test

import (
	"bytes"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

// FuzzCanonicalJSON checks the canonical encoder against encoding/json:
// it never accepts what encoding/json rejects, its output is valid JSON that
// decodes to the same value as its input, and it is idempotent. Seeds are in
// testdata/fuzz/FuzzCanonicalJSON; run with
//
//	go test ./internal/audit -run '^$' -fuzz FuzzCanonicalJSON -fuzztime 1m
func FuzzCanonicalJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := sextant.CanonicalJSON(in)
		if err != nil {
			if sextant.ErrorCode(err) != sextant.EINVALID {
				t.Fatalf("CanonicalJSON(%q) error %v has code %q, want EINVALID", in, err, sextant.ErrorCode(err))
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("CanonicalJSON(%q) = %s, but encoding/json rejects the input", in, out)
		}
		if !json.Valid(out) {
			t.Fatalf("CanonicalJSON(%q) = %q, not valid JSON", in, out)
		}
		again, err := sextant.CanonicalJSON(out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("CanonicalJSON(%q) = %s, but CanonicalJSON of that = %s, %v", in, out, again, err)
		}
		// Same value: decode both with exact numbers and compare numbers by
		// value, so that 1.0 and 1 agree.
		a, errA := decodeExact(in)
		b, errB := decodeExact(out)
		if errA != nil || errB != nil {
			t.Fatalf("decode input: %v; decode output: %v", errA, errB)
		}
		if diff := cmp.Diff(a, b, cmp.Comparer(sameNumber)); diff != "" {
			t.Fatalf("CanonicalJSON(%q) = %s changed the value (-in +out):\n%s", in, out, diff)
		}
	})
}

func decodeExact(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// sameNumber compares two JSON numbers by exact value with math/big, except
// for exponents too large for big.Rat to expand quickly, which it compares
// by float64 value and by digits.
func sameNumber(x, y json.Number) bool {
	if smallExponent(string(x)) && smallExponent(string(y)) {
		rx, okx := new(big.Rat).SetString(string(x))
		ry, oky := new(big.Rat).SetString(string(y))
		return okx && oky && rx.Cmp(ry) == 0
	}
	fx, errx := strconv.ParseFloat(string(x), 64)
	fy, erry := strconv.ParseFloat(string(y), 64)
	return (errx == nil) == (erry == nil) && fx == fy && significant(string(x)) == significant(string(y))
}

func smallExponent(n string) bool {
	i := strings.IndexAny(n, "eE")
	if i < 0 {
		return true
	}
	e, err := strconv.Atoi(strings.TrimPrefix(n[i+1:], "+"))
	return err == nil && e > -2000 && e < 2000
}

// significant returns the significant digits of a number literal.
func significant(n string) string {
	if i := strings.IndexAny(n, "eE"); i >= 0 {
		n = n[:i]
	}
	n = strings.TrimLeft(strings.ReplaceAll(strings.TrimPrefix(n, "-"), ".", ""), "0")
	return strings.TrimRight(n, "0")
}
