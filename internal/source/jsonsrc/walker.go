package jsonsrc

import (
	"errors"
	"io"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Walker walks a JSON document token by token and turns every failure into
// an *sextant.Error (see Error) that says where in the input it happened.
// A parser walks by hand down to the arrays of findings and decodes one
// finding at a time with Decode, so a report of any size is read in
// bounded memory.
type Walker struct {
	// Dec reads the document. Parsers may peek at it (Dec.PeekKind) to
	// choose how to walk on.
	Dec *jsontext.Decoder
	// Op prefixes every error message, such as "parse sarif report".
	Op string
	// Base is the number of input bytes skipped before the document began.
	Base int64
}

// NewWalker returns a Walker over r, whose first base bytes have already
// been read by the caller. opts are the decoder's options, json options
// included: Decode uses them too.
func NewWalker(op string, r io.Reader, base int64, opts ...jsontext.Options) *Walker {
	return &Walker{Dec: jsontext.NewDecoder(r, opts...), Op: op, Base: base}
}

// Offset returns the absolute input offset after the last token read.
func (w *Walker) Offset() int64 { return w.Base + w.Dec.InputOffset() }

// Fail translates err, returned by w.Dec or by a value decoded from it,
// with Error. It returns nil when err is nil.
func (w *Walker) Fail(err error) error {
	if err == nil {
		return nil
	}
	return Error(w.Op, err, Pos{Dec: w.Dec, Base: w.Base})
}

// WrongKind reports that the next value, named name in the message ("the
// document", `"runs"`), is of kind got where the document's structure
// requires want (in KindName's words, such as "an array"). When got hides a
// syntax error or the end of input, that error is reported instead.
func (w *Walker) WrongKind(name string, got jsontext.Kind, want string) error {
	if got == 0 || got == '}' || got == ']' {
		// PeekKind hides a syntax error; reading the token brings it out.
		_, err := w.Dec.ReadToken()
		if err == nil {
			err = errors.New("unexpected " + got.String())
		}
		return w.Fail(err)
	}
	// The value starts after the separator and blanks not yet read.
	off := w.Offset()
	for _, c := range w.Dec.UnreadBuffer() {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != ':' && c != ',' {
			break
		}
		off++
	}
	return Invalid(w.Op, "%s at byte %d: want %s, got %s", name, off, want, KindName(got))
}

// Open reads the opening delimiter of an object ('{') or array ('['), and
// reports any other value with WrongKind.
func (w *Walker) Open(name string, want jsontext.Kind) error {
	if k := w.Dec.PeekKind(); k != want {
		return w.WrongKind(name, k, KindName(want))
	}
	_, err := w.Dec.ReadToken()
	return w.Fail(err)
}

// Key reads the next member name of an object, or reports ok == false after
// consuming the closing '}'.
func (w *Walker) Key() (name string, ok bool, err error) {
	tok, err := w.Dec.ReadToken()
	if err != nil {
		return "", false, w.Fail(err)
	}
	switch tok.Kind() {
	case '}':
		return "", false, nil
	case '"':
		return tok.String(), true, nil
	}
	return "", false, Invalid(w.Op, "invalid JSON at byte %d: want a member name, got %s", w.Offset(), KindName(tok.Kind()))
}

// More reports whether an array has another element, consuming the closing
// ']' when it has not.
func (w *Walker) More() (bool, error) {
	switch w.Dec.PeekKind() {
	case ']', 0:
		// 0 hides an error; reading the token brings it out.
		_, err := w.Dec.ReadToken()
		return false, w.Fail(err)
	}
	return true, nil
}

// Skip skips the next value.
func (w *Walker) Skip() error { return w.Fail(w.Dec.SkipValue()) }

// Decode decodes the next value into v, with the decoder's options.
func (w *Walker) Decode(v any) error {
	return w.Fail(json.UnmarshalDecode(w.Dec, v))
}

// Trailing reports whether non-blank input follows the document. It never
// fails: text after the document is for a warning, not an error.
func (w *Walker) Trailing() bool {
	if w.Dec.PeekKind() != 0 {
		return true
	}
	_, err := w.Dec.ReadToken()
	return err != nil && !errors.Is(err, io.EOF)
}

// End checks that nothing but blank space follows the document dec has
// just read: other data is an EINVALID error naming the document ("the
// report") and the byte offset; a failure to read is translated by Error.
func End(op string, dec *jsontext.Decoder, document string) error {
	if _, err := dec.ReadToken(); err == nil {
		return Invalid(op, "unexpected data after %s at byte %d", document, dec.InputOffset())
	} else if !errors.Is(err, io.EOF) {
		return Error(op, err, Pos{Dec: dec})
	}
	return nil
}

// Empty reports whether the input holds nothing but blank space, which it
// reads to find out. Call it when Dec.PeekKind returns 0, before reporting
// the top-level value: empty input deserves its own message.
func Empty(dec *jsontext.Decoder) bool {
	_, err := dec.ReadToken()
	return err == io.EOF
}
