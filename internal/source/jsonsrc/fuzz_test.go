package jsonsrc

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"

	"github.com/sextant-dev/sextant"
)

// FuzzWalk walks arbitrary input with a Walker and decodes it into a typed
// value, and checks that every failure is translated: an EINVALID
// *sextant.Error prefixed with the operation that names a byte offset
// within the input (shifted by the base).
func FuzzWalk(f *testing.F) {
	f.Add([]byte(`{"runs":[{"id":"a","score":1.5,"tags":["x"]}]}`), uint16(0))
	f.Add([]byte(`{"runs":{}}`), uint16(3))
	f.Fuzz(func(t *testing.T, data []byte, base16 uint16) {
		base := int64(base16)
		check := func(what string, err error) {
			t.Helper()
			if err == nil {
				return
			}
			msg := err.Error()
			if sextant.ErrorCode(err) != sextant.EINVALID || !strings.HasPrefix(msg, testOp+": ") {
				t.Fatalf("%s error %q (code %q), want an EINVALID error prefixed %q", what, msg, sextant.ErrorCode(err), testOp)
			}
			_, rest, ok := strings.Cut(msg, " at byte ")
			if !ok {
				t.Fatalf("%s error %q names no byte offset", what, msg)
			}
			end := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
			if end < 0 {
				end = len(rest)
			}
			off, err := strconv.ParseInt(rest[:end], 10, 64)
			if err != nil || off < base || off > base+int64(len(data)) {
				t.Fatalf("%s error %q: offset outside [%d, %d]", what, msg, base, base+int64(len(data)))
			}
		}
		_, err := walkAll(NewWalker(testOp, bytes.NewReader(data), base, Lenient))
		check("walk", err)

		var v struct {
			Runs []struct {
				ID    string     `json:"id"`
				Score FlexString `json:"score"`
				Tags  []string   `json:"tags"`
			} `json:"runs"`
			N map[string]int `json:"n"`
		}
		w := NewWalker(testOp, bytes.NewReader(data), base, Lenient, json.MatchCaseInsensitiveNames(true))
		check("decode", w.Decode(&v))
	})
}
