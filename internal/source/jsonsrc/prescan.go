package jsonsrc

import (
	"io"
)

// Prescan gives a parser a first pass over r when r can go back: when r is
// an io.ReadSeeker whose position can be read, Prescan calls first(r) and
// then seeks r back to where it stood, so that the caller's second pass
// reads the same bytes. ran reports whether first was called. An error from
// first is returned unchanged; a failure to seek back is an EINVALID error
// prefixed with op.
//
// Parsers use it to read what a document says about the scan before the
// findings that come first, or to reject a malformed document before
// emitting any finding.
func Prescan(op string, r io.Reader, first func(io.Reader) error) (ran bool, err error) {
	rs, ok := r.(io.ReadSeeker)
	if !ok {
		return false, nil
	}
	start, err := rs.Seek(0, io.SeekCurrent)
	if err != nil {
		return false, nil
	}
	if err := first(rs); err != nil {
		return true, err
	}
	if _, err := rs.Seek(start, io.SeekStart); err != nil {
		return true, Invalid(op, "rewind input: %v", err)
	}
	return true, nil
}
