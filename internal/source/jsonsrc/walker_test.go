package jsonsrc

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

// walkAll walks any document with the Walker's methods and returns what it
// saw, one line a value, or the first error.
func walkAll(w *Walker) (string, error) {
	var b strings.Builder
	var walk func(depth int) error
	walk = func(depth int) error {
		switch k := w.Dec.PeekKind(); k {
		case '{':
			if err := w.Open("an object", '{'); err != nil {
				return err
			}
			for {
				name, ok, err := w.Key()
				if err != nil || !ok {
					return err
				}
				b.WriteString(strings.Repeat(" ", depth) + name + "\n")
				if depth >= 2 {
					if err := w.Skip(); err != nil {
						return err
					}
					continue
				}
				if err := walk(depth + 1); err != nil {
					return err
				}
			}
		case '[':
			if err := w.Open("an array", '['); err != nil {
				return err
			}
			for {
				more, err := w.More()
				if err != nil || !more {
					return err
				}
				if err := walk(depth + 1); err != nil {
					return err
				}
			}
		default:
			var s FlexString
			if err := w.Decode(&s); err != nil {
				return err
			}
			b.WriteString(strings.Repeat(" ", depth) + "=" + string(s) + "\n")
			return nil
		}
	}
	err := walk(0)
	return b.String(), err
}

func TestWalker(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		base int64
		want string
		err  string
	}{
		{"object", `{"a": [1, "x", true, null], "b": {"c": {"d": 1}}}`, 0, "a\n  =1\n  =x\n  =true\n  =\nb\n c\n  d\n", ""},
		{"base offset", `{"a": [}`, 5, "a\n", "parse test report: invalid JSON at byte 12: invalid character '}' at start of value"},
		{"truncated", `{"a": [1, 2`, 0, "a\n =1\n =2\n", "parse test report: unexpected end of input at byte 11 (truncated file?)"},
		{"number as member name", `{"a": 1, 2: 3}`, 0, "a\n=1\n", "parse test report: invalid JSON at byte 9: object member name must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWalker(testOp, strings.NewReader(tt.doc), tt.base, Lenient)
			got, err := walkAll(w)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || sextant.ErrorCode(err) != sextant.EINVALID) {
				t.Fatalf("walk(%q) error = %v, want %q", tt.doc, err, tt.err)
			}
			if strings.TrimSpace(got) != strings.TrimSpace(tt.want) && tt.err == "" {
				t.Errorf("walk(%q) =\n%s\nwant\n%s", tt.doc, got, tt.want)
			}
		})
	}
}

func TestWalkerWrongKind(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"string for array", `{"runs":  "x"}`, `parse test report: "runs" at byte 10: want an array, got a string`},
		{"number for array", `{"runs":5}`, `parse test report: "runs" at byte 8: want an array, got a number`},
		{"hidden syntax error", `{"runs":}`, "parse test report: invalid JSON at byte 8"},
		{"end of input", `{"runs":`, "parse test report: unexpected end of input at byte 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWalker(testOp, strings.NewReader(tt.doc), 0)
			if err := w.Open("the document", '{'); err != nil {
				t.Fatal(err)
			}
			if _, _, err := w.Key(); err != nil {
				t.Fatal(err)
			}
			err := w.Open(`"runs"`, '[')
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || sextant.ErrorCode(err) != sextant.EINVALID {
				t.Errorf("Open(%q) error = %v, want one starting %q", tt.doc, err, tt.want)
			}
		})
	}
}

func TestWalkerKeyWantsName(t *testing.T) {
	w := NewWalker(testOp, strings.NewReader(`[1]`), 0)
	if err := w.Open("doc", '['); err != nil {
		t.Fatal(err)
	}
	_, _, err := w.Key()
	want := "parse test report: invalid JSON at byte 2: want a member name, got a number"
	if err == nil || err.Error() != want {
		t.Errorf("Key() in an array = %v, want %q", err, want)
	}
}

func TestWalkerOffset(t *testing.T) {
	tests := []struct {
		base   int64
		tokens int
		want   int64
	}{
		{0, 0, 0}, {0, 2, 4}, {100, 2, 104}, {100, 3, 107},
	}
	for _, tt := range tests {
		w := NewWalker(testOp, strings.NewReader(`{"a": 1}`), tt.base)
		for range tt.tokens {
			w.Dec.ReadToken()
		}
		if got := w.Offset(); got != tt.want {
			t.Errorf("Offset() after %d tokens, base %d = %d, want %d", tt.tokens, tt.base, got, tt.want)
		}
	}
}

func TestWalkerFail(t *testing.T) {
	w := NewWalker(testOp, strings.NewReader(`{}`), 3)
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{io.ErrUnexpectedEOF, "parse test report: unexpected end of input at byte 3 (truncated file?)"},
		{sextant.Errorf(sextant.ECONFLICT, "kept"), "kept"},
	}
	for _, tt := range tests {
		got := w.Fail(tt.err)
		if (got == nil) != (tt.want == "") || got != nil && got.Error() != tt.want {
			t.Errorf("Fail(%v) = %v, want %q", tt.err, got, tt.want)
		}
	}
}

func TestWalkerTrailing(t *testing.T) {
	tests := []struct {
		doc  string
		want bool
	}{
		{`{}`, false}, {"{} \n\t", false}, {`{} {}`, true}, {`{} x`, true}, {`{}]`, true},
	}
	for _, tt := range tests {
		w := NewWalker(testOp, strings.NewReader(tt.doc), 0)
		if err := w.Skip(); err != nil {
			t.Fatal(err)
		}
		if got := w.Trailing(); got != tt.want {
			t.Errorf("Trailing() after %q = %v, want %v", tt.doc, got, tt.want)
		}
	}
}

func TestEnd(t *testing.T) {
	tests := []struct {
		doc, wantCode, wantMsg string
	}{
		{`{}`, "", ""},
		{"{} \n\t", "", ""},
		{`{} {}`, sextant.EINVALID, testOp + ": unexpected data after the report at byte 4"},
		{`{}]`, sextant.EINVALID, ""},
	}
	for _, tt := range tests {
		dec := jsontext.NewDecoder(strings.NewReader(tt.doc))
		if err := dec.SkipValue(); err != nil {
			t.Fatal(err)
		}
		err := End(testOp, dec, "the report")
		if code := sextant.ErrorCode(err); code != tt.wantCode {
			t.Errorf("End after %q = %v, want code %q", tt.doc, err, tt.wantCode)
		}
		if tt.wantMsg != "" && sextant.ErrorMessage(err) != tt.wantMsg {
			t.Errorf("End after %q = %q, want %q", tt.doc, sextant.ErrorMessage(err), tt.wantMsg)
		}
	}
}

func TestEmpty(t *testing.T) {
	tests := []struct {
		doc  string
		want bool
	}{
		{"", true}, {" \n\t ", true}, {"x", false}, {"}", false},
	}
	for _, tt := range tests {
		dec := jsontext.NewDecoder(strings.NewReader(tt.doc))
		if got := Empty(dec); got != tt.want {
			t.Errorf("Empty(%q) = %v, want %v", tt.doc, got, tt.want)
		}
	}
}

func TestFlexString(t *testing.T) {
	tests := []struct {
		doc   string
		want  FlexString
		float float64
		ok    bool
	}{
		{`"7.5"`, "7.5", 7.5, true},
		{`7.5`, "7.5", 7.5, true},
		{`true`, "true", 0, false},
		{`false`, "false", 0, false},
		{`null`, "", 0, false},
		{`{"a":1}`, "", 0, false},
		{`[1,2]`, "", 0, false},
		{`"high"`, "high", 0, false},
	}
	for _, tt := range tests {
		var v struct{ S FlexString }
		w := NewWalker(testOp, strings.NewReader(`{"S":`+tt.doc+`}`), 0)
		if err := w.Decode(&v); err != nil {
			t.Fatalf("Decode(%s) error: %v", tt.doc, err)
		}
		f, ok := v.S.Float()
		if v.S != tt.want || f != tt.float || ok != tt.ok {
			t.Errorf("FlexString from %s = %q, Float() = %v, %v; want %q, %v, %v", tt.doc, v.S, f, ok, tt.want, tt.float, tt.ok)
		}
	}
}

type seekFailer struct {
	io.ReadSeeker
	calls int
}

func (s *seekFailer) Seek(off int64, whence int) (int64, error) {
	s.calls++
	if s.calls > 1 {
		return 0, errors.New("no going back")
	}
	return s.ReadSeeker.Seek(off, whence)
}

func TestPrescan(t *testing.T) {
	firstErr := errors.New("first failed")
	tests := []struct {
		name    string
		r       func() io.Reader
		first   error
		wantRan bool
		wantErr string
	}{
		{"seeker", func() io.Reader { return bytes.NewReader([]byte("abc")) }, nil, true, ""},
		{"stream", func() io.Reader { return io.MultiReader(strings.NewReader("abc")) }, nil, false, ""},
		{"first fails", func() io.Reader { return strings.NewReader("abc") }, firstErr, true, "first failed"},
		{"cannot rewind", func() io.Reader { return &seekFailer{ReadSeeker: strings.NewReader("abc")} }, nil, true, "parse test report: rewind input: no going back"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r()
			var seen []byte
			ran, err := Prescan(testOp, r, func(r io.Reader) error {
				seen, _ = io.ReadAll(r)
				return tt.first
			})
			if ran != tt.wantRan || (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr {
				t.Fatalf("Prescan = %v, %v; want %v, %q", ran, err, tt.wantRan, tt.wantErr)
			}
			if !ran || err != nil {
				return
			}
			again, _ := io.ReadAll(r)
			if diff := cmp.Diff(string(seen), string(again)); diff != "" || string(seen) != "abc" {
				t.Errorf("Prescan first pass read %q, second %q; want both %q", seen, again, "abc")
			}
		})
	}
}
