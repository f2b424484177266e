// Package jsonsrc holds what the report parsers share: streaming JSON
// walking with go-json-experiment's jsontext, and the translation of decoder
// errors into sextant errors that name the byte offset and the field.
//
// It is a helper library, not an adapter: the parsers under
// internal/source import it, and it imports only the root package and the
// JSON library.
package jsonsrc

import (
	"errors"
	"io"
	"reflect"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant"
)

// Lenient are the decoding options every parser starts from: duplicate
// member names and invalid UTF-8 (replaced by U+FFFD) do not stop a parse.
// Unknown members are ignored, as they are by default.
var Lenient = json.JoinOptions(
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
)

// LenientAnyCase is Lenient, and member names match Go fields whatever
// their case ("findings" for "Findings"): for formats whose writers
// disagree on case.
var LenientAnyCase = json.JoinOptions(Lenient, json.MatchCaseInsensitiveNames(true))

// Pos says where a decoder reads within the whole input, so that an error
// can name the absolute byte offset and JSON pointer.
type Pos struct {
	// Dec is the decoder that failed, or nil. Its input offset is reported
	// when the error carries none, and its stack pointer names the field
	// when the error names none.
	Dec *jsontext.Decoder
	// Base is the number of input bytes before Dec's first byte (skipped
	// text, or the position a decoder was started at after a seek).
	Base int64
	// Prefix is the JSON pointer of the value Dec started at, "" when Dec
	// reads the whole document.
	Prefix string
}

// Offset returns the absolute input offset after the last token p.Dec read.
func (p Pos) Offset() int64 {
	if p.Dec == nil {
		return p.Base
	}
	return p.Base + p.Dec.InputOffset()
}

// Error translates err, returned while decoding at p, into an
// *sextant.Error whose message starts with op (such as "parse sarif
// report") and names the byte offset and, for a value of the wrong type,
// the field as a JSON pointer:
//
//	parse grype report: field /matches/0/vulnerability/id at byte 38 has the wrong type: got a number, want a string
//	parse grype report: unexpected end of input at byte 45 (truncated file?)
//	parse grype report: invalid JSON at byte 13: invalid character '}' at start of value
//
// Malformed input has code sextant.EINVALID. An error that is already an
// *sextant.Error (one returned by emit, say) is returned unchanged, and an
// error that is not the decoder's (a failure to read the input) has code
// sextant.EUNAVAILABLE. Error returns nil when err is nil.
func Error(op string, err error, p Pos) error {
	if err == nil {
		return nil
	}
	var se *sextant.Error
	if errors.As(err, &se) {
		return err
	}
	var sem *json.SemanticError
	var syn *jsontext.SyntacticError
	switch {
	case errors.As(err, &sem):
		off := p.Base + sem.ByteOffset
		if errors.Is(sem.Err, io.ErrUnexpectedEOF) {
			return truncated(op, off)
		}
		field := p.field(string(sem.JSONPointer))
		if sem.Err != nil {
			return sextant.Errorf(sextant.EINVALID, "%s: field %s at byte %d: %v", op, field, off, sem.Err)
		}
		return sextant.Errorf(sextant.EINVALID, "%s: field %s at byte %d has the wrong type: got %s, want %s",
			op, field, off, KindName(sem.JSONKind), TypeName(sem.GoType))
	case errors.As(err, &syn):
		off := p.Base + syn.ByteOffset
		if errors.Is(syn.Err, io.ErrUnexpectedEOF) {
			return truncated(op, off)
		}
		return sextant.Errorf(sextant.EINVALID, "%s: invalid JSON at byte %d: %v", op, off, syn.Err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return truncated(op, p.Offset())
	case errors.Is(err, io.EOF):
		return sextant.Errorf(sextant.EINVALID, "%s: unexpected end of input at byte %d (empty or truncated file?)", op, p.Offset())
	}
	return sextant.Errorf(sextant.EUNAVAILABLE, "%s: read input at byte %d: %v", op, p.Offset(), err)
}

// Invalid returns an EINVALID error whose message is op, a colon and the
// formatted text: the errors a parser finds in a well-formed document.
func Invalid(op, format string, args ...any) error {
	return sextant.Errorf(sextant.EINVALID, op+": "+format, args...)
}

func truncated(op string, off int64) error {
	return sextant.Errorf(sextant.EINVALID, "%s: unexpected end of input at byte %d (truncated file?)", op, off)
}

// field names the value an error is about: p.Prefix and ptr, or where the
// decoder stands when the error names no value, or "/" for the document.
func (p Pos) field(ptr string) string {
	if ptr == "" && p.Dec != nil {
		ptr = string(p.Dec.StackPointer())
	}
	if f := p.Prefix + ptr; f != "" {
		return f
	}
	return "/"
}

// KindName names a JSON kind in error messages: "null", "a boolean",
// "a string", "a number", "an object" or "an array".
func KindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "an unexpected value"
}

// TypeName names the JSON value a Go type is decoded from, in the words of
// KindName: "a string" for a string, "an object" for a struct or map, and
// so on; "another type" when t is nil.
func TypeName(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Pointer:
		return TypeName(t.Elem())
	}
	return "a " + t.String()
}
