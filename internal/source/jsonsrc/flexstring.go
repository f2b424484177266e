package jsonsrc

import (
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// FlexString is a string member that scanners write inconsistently: it
// accepts a JSON string, number or boolean (as its text, "true" or
// "false") and reads null, objects and arrays as "".
type FlexString string

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (s *FlexString) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
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
		*s = FlexString(tok.String())
	case 't':
		*s = "true"
	case 'f':
		*s = "false"
	default:
		*s = ""
	}
	return nil
}

// Float parses s as a number; ok is false when s is empty or not one.
func (s FlexString) Float() (f float64, ok bool) {
	if s == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(s), 64)
	return f, err == nil
}
