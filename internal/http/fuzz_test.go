package http

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

// FuzzParseSignature checks that the signature-header parser never panics,
// accepts only 32-byte values, and that whatever it accepts round-trips
// through the canonical encoding, with and without the "sha256=" prefix.
// Seeds live in testdata/fuzz/FuzzParseSignature.
func FuzzParseSignature(f *testing.F) {
	f.Fuzz(func(t *testing.T, header string, b64 bool) {
		enc := EncodingHex
		if b64 {
			enc = EncodingBase64
		}
		got, err := ParseSignature(header, enc)
		if err != nil {
			if got != nil {
				t.Fatalf("ParseSignature(%q, %s) = %x, %v: want no bytes with an error", header, enc, got, err)
			}
			if len(header) > 8 && bytes.Contains([]byte(err.Error()), []byte(header)) {
				t.Fatalf("ParseSignature(%q, %s) error repeats the header: %v", header, enc, err)
			}
			return
		}
		if len(got) != 32 {
			t.Fatalf("ParseSignature(%q, %s) = %d bytes, want 32", header, enc, len(got))
		}
		canonical := hex.EncodeToString(got)
		if b64 {
			canonical = base64.StdEncoding.EncodeToString(got)
		}
		for _, h := range []string{canonical, "sha256=" + canonical} {
			again, err := ParseSignature(h, enc)
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("ParseSignature(%q, %s) = %x, %v, want %x (from %q)", h, enc, again, err, got, header)
			}
		}
	})
}
