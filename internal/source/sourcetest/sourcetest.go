// Package sourcetest holds the helpers the report parsers' tests share:
// reading a fixture (gunzipped when it ends in .gz), running a Parse into a
// slice, comparing output with a golden file under testdata/ (rewritten by
// go test -update), and checking the errors a parser returns.
//
// It is imported from _test.go files only.
package sourcetest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

// Update is the -update flag of every parser's tests: with it, Golden
// rewrites the golden files instead of comparing with them.
var Update = flag.Bool("update", false, "rewrite the golden files in testdata")

// ParseFunc is the signature of every parser's Parse.
type ParseFunc func(r io.Reader, file string, emit sextant.Emit) (sextant.ReportInfo, error)

// Read returns the bytes of the file at path, gunzipped when its name ends
// in .gz (as the CLI reads it). It fails tb when the file cannot be read.
func Read(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("gunzip %s: %v", path, err)
	}
	if b, err = io.ReadAll(zr); err != nil {
		tb.Fatalf("gunzip %s: %v", path, err)
	}
	return b
}

// Collect runs parse over r and returns the findings it emitted, in order,
// with the report info and error.
func Collect(parse ParseFunc, r io.Reader, file string) ([]*sextant.Finding, sextant.ReportInfo, error) {
	var out []*sextant.Finding
	info, err := parse(r, file, func(f *sextant.Finding) error {
		out = append(out, f)
		return nil
	})
	return out, info, err
}

// ParseAll is Collect that fails tb when parse returns an error.
func ParseAll(tb testing.TB, parse ParseFunc, r io.Reader, file string) ([]*sextant.Finding, sextant.ReportInfo) {
	tb.Helper()
	out, info, err := Collect(parse, r, file)
	if err != nil {
		tb.Fatalf("Parse(%q) error: %v", file, err)
	}
	return out, info
}

// Golden compares got with the golden file at path and reports a diff on
// tb; with -update it writes got to path instead.
func Golden(tb testing.TB, path string, got []byte) {
	tb.Helper()
	if *Update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		tb.Errorf("Parse output differs from %s (-want +got):\n%s", path, diff)
	}
}

// GoldenJSON is Golden for v as encoding/json writes it, indented by two
// spaces and ending in a newline.
func GoldenJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	Golden(tb, path, append(got, '\n'))
}

// CheckInvalid fails tb unless err is an *sextant.Error with code
// sextant.EINVALID whose message starts with op and a colon and contains
// want. what names the input in the failure message.
func CheckInvalid(tb testing.TB, what string, err error, op, want string) {
	tb.Helper()
	if err == nil || sextant.ErrorCode(err) != sextant.EINVALID ||
		!strings.HasPrefix(err.Error(), op+": ") || !strings.Contains(err.Error(), want) {
		tb.Fatalf("Parse(%q) error = %v (code %q), want an EINVALID error prefixed %q containing %q",
			what, err, sextant.ErrorCode(err), op, want)
	}
}

// OnlyReader hides every method of r but Read, so that a parser takes its
// path for input that cannot seek (stdin, a pipe).
func OnlyReader(r io.Reader) io.Reader { return onlyReader{r} }

type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(b []byte) (int, error) { return o.r.Read(b) }

// AnyContains reports whether one of ss contains sub, as a warning list
// is searched for the warning a test expects.
func AnyContains(ss []string, sub string) bool {
	for _, s := range ss {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
