package grype

import (
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/sextant-dev/sextant"
)

const op = "parse grype report"

// invalid returns an EINVALID error prefixed with the operation.
func invalid(format string, args ...any) error {
	return sextant.Errorf(sextant.EINVALID, op+": "+format, args...)
}

// decodeError translates an error from the JSON decoder into an
// *sextant.Error that says what went wrong and where. base is added to the
// decoder's byte offsets (non-zero when the decoder started mid-document) and
// prefix is prepended to its JSON pointers. fallback is the offset to report
// when the error carries none.
func decodeError(err error, base int64, prefix string, fallback int64) error {
	var se *json.SemanticError
	var syn *jsontext.SyntacticError
	switch {
	case errors.As(err, &se):
		where := prefix + string(se.JSONPointer)
		if where == "" {
			where = "/"
		}
		if errors.Is(se.Err, io.ErrUnexpectedEOF) {
			return invalid("unexpected end of input at byte %d (truncated file?)", base+se.ByteOffset)
		}
		if se.Err != nil {
			return invalid("field %s at byte %d: %v", where, base+se.ByteOffset, se.Err)
		}
		return invalid("field %s at byte %d has the wrong type: got %s, want %s", where, base+se.ByteOffset, kindName(se.JSONKind), typeName(se))
	case errors.As(err, &syn):
		if errors.Is(syn.Err, io.ErrUnexpectedEOF) {
			return invalid("unexpected end of input at byte %d (truncated file?)", base+syn.ByteOffset)
		}
		return invalid("invalid JSON at byte %d: %v", base+syn.ByteOffset, syn.Err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("unexpected end of input at byte %d (truncated file?)", base+fallback)
	case errors.Is(err, io.EOF):
		return invalid("unexpected end of input at byte %d (empty or truncated file?)", base+fallback)
	}
	var e *sextant.Error
	if errors.As(err, &e) {
		return err
	}
	return invalid("read input at byte %d: %v", base+fallback, err)
}

func kindName(k jsontext.Kind) string {
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

func typeName(se *json.SemanticError) string {
	if se.GoType == nil {
		return "another type"
	}
	switch s := se.GoType.String(); s {
	case "string":
		return "a string"
	case "float64", "float32", "int", "int64":
		return "a number"
	case "bool":
		return "a boolean"
	default:
		if k := se.GoType.Kind().String(); k == "slice" {
			return "an array"
		} else if k == "struct" || k == "map" {
			return "an object"
		}
		return fmt.Sprintf("a %s", s)
	}
}
