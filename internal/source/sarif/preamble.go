package sarif

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// skipPreamble skips lines of plain text before the JSON document (Docker
// Scout writes its progress output to stdout before the SARIF) and returns
// how many bytes it skipped and whether any of them were text rather than
// blank space. It gives up after maxPreamble bytes.
func skipPreamble(br *bufio.Reader) (skipped int64, text bool, err error) {
	const maxPreamble = 64 << 10
	for skipped < maxPreamble {
		b, err := br.Peek(1)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return skipped, text, nil
			}
			return skipped, text, err
		}
		switch b[0] {
		case '{', '[':
			return skipped, text, nil
		case ' ', '\t', '\r', '\n':
			br.ReadByte()
			skipped++
			continue
		case 0xEF: // a UTF-8 byte order mark
			if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
				br.Discard(3)
				skipped += 3
				continue
			}
		}
		if !text && !startsWithText(br) {
			return skipped, text, nil
		}
		text = true
		line, err := br.ReadSlice('\n')
		skipped += int64(len(line))
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if errors.Is(err, io.EOF) {
				return skipped, text, nil
			}
			return skipped, text, err
		}
	}
	return skipped, text, nil
}

// startsWithText reports whether the input begins with something that is
// not JSON at all (a letter or a symbol no JSON value starts with), so that
// a stray number or string still reaches the decoder and gets its error.
func startsWithText(br *bufio.Reader) bool {
	b, err := br.Peek(1)
	if err != nil {
		return false
	}
	c := b[0]
	switch {
	case c == '"' || c == '-' || (c >= '0' && c <= '9'):
		return false
	}
	if p, _ := br.Peek(5); bytes.HasPrefix(p, []byte("true")) || bytes.HasPrefix(p, []byte("false")) || bytes.HasPrefix(p, []byte("null")) {
		return false
	}
	return true
}
