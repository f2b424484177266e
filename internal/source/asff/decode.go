package asff

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant"
)

// op prefixes every error this package returns.
const op = "parse asff report"

// decodeOptions tolerate what real scanners write: duplicate names, invalid
// UTF-8 in free text, and member names in another case.
var decodeOptions = json.JoinOptions(
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
	json.MatchCaseInsensitiveNames(true),
)

// walker walks a JSON document token by token and turns every failure into
// an *sextant.Error that says where in the input it happened.
type walker struct {
	dec *jsontext.Decoder
	// base is the number of bytes skipped before the JSON document began.
	base int64
}

// offset returns the absolute input offset after the last token read.
func (w *walker) offset() int64 { return w.base + w.dec.InputOffset() }

// fail translates a decoding error into an EINVALID error.
func (w *walker) fail(err error) error {
	if err == nil {
		return nil
	}
	var se *sextant.Error
	if errors.As(err, &se) {
		return err
	}
	var sem *json.SemanticError
	if errors.As(err, &sem) {
		off := w.base + sem.ByteOffset
		field := string(sem.JSONPointer)
		if field == "" {
			field = string(w.dec.StackPointer())
		}
		what := "has the wrong type"
		if sem.JSONKind != 0 && sem.GoType != nil {
			what = fmt.Sprintf("has the wrong type: got JSON %s, want %s", kindName(sem.JSONKind), goKind(sem.GoType.Kind().String()))
		} else if sem.Err != nil {
			what = "is invalid: " + sem.Err.Error()
		}
		return sextant.Errorf(sextant.EINVALID, "%s: field %q at byte %d %s", op, field, off, what)
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		off := w.base + syn.ByteOffset
		if errors.Is(syn.Err, io.ErrUnexpectedEOF) {
			return sextant.Errorf(sextant.EINVALID, "%s: unexpected end of input at byte %d (truncated file?)", op, off)
		}
		return sextant.Errorf(sextant.EINVALID, "%s: invalid JSON at byte %d: %v", op, off, syn.Err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return sextant.Errorf(sextant.EINVALID, "%s: unexpected end of input at byte %d (truncated file?)", op, w.offset())
	}
	return sextant.Errorf(sextant.EINVALID, "%s: read input at byte %d: %v", op, w.offset(), err)
}

// kindName names a JSON kind for error messages.
func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	}
	return k.String()
}

// goKind names the JSON type a Go kind expects.
func goKind(k string) string {
	switch k {
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "int", "int64", "uint", "uint64", "float64", "float32", "int32":
		return "number"
	case "bool":
		return "boolean"
	}
	return k
}

// wrongKind reports a value of the wrong JSON kind where the document's
// structure requires another.
func (w *walker) wrongKind(name string, got jsontext.Kind, want string) error {
	if got == 0 || got == '}' || got == ']' {
		// PeekKind hides a syntax error; reading the token brings it out.
		_, err := w.dec.ReadToken()
		if err == nil {
			err = errors.New("unexpected " + got.String())
		}
		return w.fail(err)
	}
	// The value starts after the separator and blanks not yet read.
	off := w.offset()
	for _, c := range w.dec.UnreadBuffer() {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ':' && c != ',' {
			break
		}
		off++
	}
	return sextant.Errorf(sextant.EINVALID, "%s: %s at byte %d: want %s, got %s", op, name, off, want, kindName(got))
}

// open reads the opening delimiter of an object ('{') or array ('[').
func (w *walker) open(name string, want jsontext.Kind) error {
	if k := w.dec.PeekKind(); k != want {
		return w.wrongKind(name, k, kindName(want))
	}
	_, err := w.dec.ReadToken()
	return w.fail(err)
}

// key reads the next member name of an object, or reports ok=false after
// consuming the closing '}'.
func (w *walker) key() (name string, ok bool, err error) {
	tok, err := w.dec.ReadToken()
	if err != nil {
		return "", false, w.fail(err)
	}
	switch tok.Kind() {
	case '}':
		return "", false, nil
	case '"':
		return tok.String(), true, nil
	}
	return "", false, sextant.Errorf(sextant.EINVALID, "%s: invalid JSON at byte %d: want a member name, got %s", op, w.offset(), kindName(tok.Kind()))
}

// more reports whether an array has another element, consuming the
// closing ']' when it has not.
func (w *walker) more() (bool, error) {
	if w.dec.PeekKind() == ']' {
		_, err := w.dec.ReadToken()
		return false, w.fail(err)
	}
	if w.dec.PeekKind() == 0 {
		_, err := w.dec.ReadToken()
		return false, w.fail(err)
	}
	return true, nil
}

// skip skips the next value.
func (w *walker) skip() error { return w.fail(w.dec.SkipValue()) }

// decode decodes the next value into v.
func (w *walker) decode(v any) error {
	return w.fail(json.UnmarshalDecode(w.dec, v))
}

// flexString accepts a JSON string, number or boolean (scanners disagree
// on which they write for scores) and ignores objects and arrays.
type flexString string

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (s *flexString) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case '{', '[':
		*s = ""
		return dec.SkipValue()
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case '"', '0':
		*s = flexString(tok.String())
	case 't':
		*s = "true"
	case 'f':
		*s = "false"
	default:
		*s = ""
	}
	return nil
}

// float parses s as a number; ok is false when it is empty or not one.
func (s flexString) float() (float64, bool) {
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(s), 64)
	return f, err == nil
}
