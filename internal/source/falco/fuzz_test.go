package falco

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
)

// FuzzParse holds Parse to its contract on any input: no panic, every
// emitted event has a rule, Info counts what was emitted, the only errors
// are EINVALID (a broken array) ones, and reading the input in small
// pieces gives the same result.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"mixed.log", "array.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var rules []string
		info, err := Parse(bytes.NewReader(data), "fuzz", func(e Event) error {
			if e.Rule == "" {
				t.Fatalf("event without a rule at line %d", e.Line)
			}
			for k, v := range e.Fields {
				if v == "" || v == "<NA>" || droppedNumbers[v] {
					t.Fatalf("field %s = %q not sanitised", k, v)
				}
			}
			rules = append(rules, e.Rule)
			return nil
		})
		if err != nil && sextant.ErrorCode(err) != sextant.EINVALID {
			t.Fatalf("Parse error %v has code %s, want invalid", err, sextant.ErrorCode(err))
		}
		if info.Events != len(rules) {
			t.Fatalf("info.Events = %d, emitted %d", info.Events, len(rules))
		}
		if len(info.Warnings) > MaxWarnings {
			t.Fatalf("%d warnings, more than %d", len(info.Warnings), MaxWarnings)
		}
		var again []string
		_, err2 := Parse(sourcetest.OnlyReader(&oneByte{data}), "fuzz", func(e Event) error {
			again = append(again, e.Rule)
			return nil
		})
		if (err == nil) != (err2 == nil) || len(again) != len(rules) {
			t.Fatalf("parse = %d events, %v; byte by byte = %d, %v", len(rules), err, len(again), err2)
		}
	})
}

// oneByte reads one byte at a time.
type oneByte struct{ b []byte }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(o.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = o.b[0]
	o.b = o.b[1:]
	return 1, nil
}
