package jsonsrc

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant"
)

const testOp = "parse test report"

// decodeErr decodes doc into v and returns the decoder and its error.
func decodeErr(doc string, v any) (*jsontext.Decoder, error) {
	dec := jsontext.NewDecoder(strings.NewReader(doc), Lenient)
	return dec, json.UnmarshalDecode(dec, v)
}

func TestError(t *testing.T) {
	type doc struct {
		Runs []struct {
			ID string `json:"id"`
		} `json:"runs"`
		Score float64 `json:"score"`
	}
	emitErr := sextant.Errorf(sextant.ECONFLICT, "emit failed")
	tests := []struct {
		name     string
		doc      string
		base     int64
		prefix   string
		err      error // used instead of decoding doc when set
		wantCode string
		want     string
	}{
		{"wrong type", `{"runs":[{"id":5}]}`, 0, "", nil, sextant.EINVALID,
			"parse test report: field /runs/0/id at byte 15 has the wrong type: got a number, want a string"},
		{"wrong type with base and prefix", `{"runs":[{"id":5}]}`, 100, "/matches/3", nil, sextant.EINVALID,
			"parse test report: field /matches/3/runs/0/id at byte 115 has the wrong type: got a number, want a string"},
		{"object for array", `{"runs":{}}`, 0, "", nil, sextant.EINVALID,
			"parse test report: field /runs at byte 8 has the wrong type: got an object, want an array"},
		{"string for number", `{"score":"high"}`, 0, "", nil, sextant.EINVALID,
			"parse test report: field /score at byte 9 has the wrong type: got a string, want a number"},
		{"truncated", `{"runs":[{"id":"a"`, 0, "", nil, sextant.EINVALID,
			"parse test report: unexpected end of input at byte 18 (truncated file?)"},
		{"syntax", `{"runs":[}`, 7, "", nil, sextant.EINVALID,
			"parse test report: invalid JSON at byte 16: invalid character '}' at start of value"},
		{"empty", ``, 0, "", nil, sextant.EINVALID,
			"parse test report: unexpected end of input at byte 0 (empty or truncated file?)"},
		{"plain EOF", `{}`, 0, "", io.EOF, sextant.EINVALID,
			"parse test report: unexpected end of input at byte 2 (empty or truncated file?)"},
		{"read failure", `{}`, 0, "", errors.New("disk on fire"), sextant.EUNAVAILABLE,
			"parse test report: read input at byte 2: disk on fire"},
		{"sextant error unchanged", `{}`, 0, "", emitErr, sextant.ECONFLICT, "emit failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v doc
			dec, err := decodeErr(tt.doc, &v)
			if tt.err != nil {
				err = tt.err
			}
			got := Error(testOp, err, Pos{Dec: dec, Base: tt.base, Prefix: tt.prefix})
			if got == nil || got.Error() != tt.want || sextant.ErrorCode(got) != tt.wantCode {
				t.Errorf("Error(%q) = %v (code %q), want %q (code %q)", tt.doc, got, sextant.ErrorCode(got), tt.want, tt.wantCode)
			}
		})
	}
	if err := Error(testOp, nil, Pos{}); err != nil {
		t.Errorf("Error(nil) = %v, want nil", err)
	}
	if err := Error(testOp, emitErr, Pos{}); err != emitErr {
		t.Errorf("Error(%v) = %v, want it unchanged", emitErr, err)
	}
}

func TestPosOffset(t *testing.T) {
	dec := jsontext.NewDecoder(strings.NewReader(`{"a": 1}`))
	dec.ReadToken()
	dec.ReadToken()
	tests := []struct {
		name string
		pos  Pos
		want int64
	}{
		{"no decoder", Pos{Base: 7}, 7},
		{"decoder", Pos{Dec: dec}, 4},
		{"decoder and base", Pos{Dec: dec, Base: 10}, 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.pos.Offset(); got != tt.want {
				t.Errorf("Pos.Offset() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		format string
		args   []any
		want   string
	}{
		{"empty input", nil, "parse test report: empty input"},
		{"%s at byte %d", []any{"runs", 9}, "parse test report: runs at byte 9"},
	}
	for _, tt := range tests {
		err := Invalid(testOp, tt.format, tt.args...)
		if err.Error() != tt.want || sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("Invalid(%q, %q) = %v (code %q), want %q (EINVALID)", tt.format, tt.args, err, sextant.ErrorCode(err), tt.want)
		}
	}
}

func TestKindName(t *testing.T) {
	tests := []struct {
		kind jsontext.Kind
		want string
	}{
		{'n', "null"}, {'t', "a boolean"}, {'f', "a boolean"}, {'"', "a string"},
		{'0', "a number"}, {'{', "an object"}, {'[', "an array"}, {0, "an unexpected value"},
	}
	for _, tt := range tests {
		if got := KindName(tt.kind); got != tt.want {
			t.Errorf("KindName(%v) = %q, want %q", tt.kind, got, tt.want)
		}
	}
}

func TestTypeName(t *testing.T) {
	type named string
	tests := []struct {
		typ  reflect.Type
		want string
	}{
		{nil, "another type"},
		{reflect.TypeFor[string](), "a string"},
		{reflect.TypeFor[named](), "a string"},
		{reflect.TypeFor[bool](), "a boolean"},
		{reflect.TypeFor[int](), "a number"},
		{reflect.TypeFor[uint8](), "a number"},
		{reflect.TypeFor[float64](), "a number"},
		{reflect.TypeFor[[]string](), "an array"},
		{reflect.TypeFor[[2]int](), "an array"},
		{reflect.TypeFor[struct{}](), "an object"},
		{reflect.TypeFor[map[string]int](), "an object"},
		{reflect.TypeFor[*int](), "a number"},
		{reflect.TypeFor[chan int](), "a chan int"},
	}
	for _, tt := range tests {
		if got := TypeName(tt.typ); got != tt.want {
			t.Errorf("TypeName(%v) = %q, want %q", tt.typ, got, tt.want)
		}
	}
}
