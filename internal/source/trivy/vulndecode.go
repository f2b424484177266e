package trivy

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// This file decodes Vulnerabilities elements by hand. Reflection-based
// json.UnmarshalDecode of the vulnerability struct was about three quarters
// of Parse's time on large reports; walking the tokens with a switch on the
// member names does the same work without it.
//
// The result, and every error, must be what
// json.UnmarshalDecode(dec, v, decodeOpts) gives: names match exactly
// (decodeOpts does not fold case), unknown members are skipped, null sets
// a member to its zero value, a repeated member is decoded again over the
// first. Wherever a value has a shape other than the one Trivy writes
// (a number where a string belongs, say), the decoder hands that value to
// json.UnmarshalDecode, at the same decoder position, so that the error
// (message, JSON pointer and byte offset) is the reflection path's own.
// VendorSeverity and CVSS go through json.UnmarshalDecode too: their
// UnmarshalJSONFrom methods are already hand-written, and the json package
// gives their errors a position that only it can compute.
//
// TestVulnerabilityDecoders and FuzzVulnerabilityDecoders hold the two
// paths to the same results. A field added to vulnerability needs a case
// here.

// vulnDecoder decodes Vulnerabilities elements from dec.
type vulnDecoder struct {
	dec *jsontext.Decoder
	// strings interns short strings as the json package does: a finding's
	// severity, status, package, version and layer repeat from one
	// vulnerability to the next.
	strings stringCache
}

// decodeVulnerability decodes the next JSON value into v.
func (d *vulnDecoder) decodeVulnerability(v *vulnerability) error {
	dec := d.dec
	if dec.PeekKind() != '{' {
		return json.UnmarshalDecode(dec, v, decodeOpts)
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadValue()
		if err != nil {
			return err
		}
		switch string(memberName(name)) {
		case "VulnerabilityID":
			err = d.decodeString(&v.VulnerabilityID)
		case "VendorIDs":
			err = d.decodeStrings(&v.VendorIDs)
		case "PkgName":
			err = d.decodeString(&v.PkgName)
		case "PkgPath":
			err = d.decodeString(&v.PkgPath)
		case "PkgIdentifier":
			err = d.decodePkgIdentifier(&v.PkgIdentifier)
		case "InstalledVersion":
			err = d.decodeString(&v.InstalledVersion)
		case "FixedVersion":
			err = d.decodeString(&v.FixedVersion)
		case "Status":
			err = d.decodeString(&v.Status)
		case "SrcName":
			err = d.decodeString(&v.SrcName)
		case "Layer":
			err = d.decodeLayer(&v.Layer)
		case "SeveritySource":
			err = d.decodeString(&v.SeveritySource)
		case "PrimaryURL":
			err = d.decodeString(&v.PrimaryURL)
		case "Title":
			err = d.decodeString(&v.Title)
		case "Description":
			err = d.decodeString(&v.Description)
		case "Severity":
			err = d.decodeString(&v.Severity)
		case "VendorSeverity":
			err = json.UnmarshalDecode(dec, &v.VendorSeverity, decodeOpts)
		case "CVSS":
			err = json.UnmarshalDecode(dec, &v.CVSS, decodeOpts)
		case "References":
			err = d.decodeStrings(&v.References)
		default:
			// DataSource, CweIDs, dates and the rest: not read.
			err = dec.SkipValue()
		}
		if err != nil {
			return err
		}
	}
	_, err := dec.ReadToken()
	return err
}

// decodePkgIdentifier decodes a PkgIdentifier object, merging into id as
// the json package merges into a struct.
func (d *vulnDecoder) decodePkgIdentifier(id *struct{ PURL string }) error {
	return d.decodeObject(id, func() { *id = struct{ PURL string }{} }, func(name []byte) error {
		if string(name) == "PURL" {
			return d.decodeString(&id.PURL)
		}
		return d.dec.SkipValue()
	})
}

// decodeLayer decodes a Layer object, merging into l as the json package
// merges into a struct.
func (d *vulnDecoder) decodeLayer(l *layer) error {
	return d.decodeObject(l, func() { *l = layer{} }, func(name []byte) error {
		switch string(name) {
		case "Digest":
			return d.decodeString(&l.Digest)
		case "DiffID":
			return d.decodeString(&l.DiffID)
		}
		return d.dec.SkipValue()
	})
}

// decodeObject walks a small nested object member by member with member,
// which decodes or skips each value. null resets the target (reset); any
// other shape goes to the reflection decoder, which produces its error.
// The member name is passed as bytes: converting it to a string before the
// call would allocate for every member.
func (d *vulnDecoder) decodeObject(target any, reset func(), member func(name []byte) error) error {
	dec := d.dec
	switch dec.PeekKind() {
	case 'n':
		reset()
		_, err := dec.ReadToken()
		return err
	case '{':
	default:
		return json.UnmarshalDecode(dec, target, decodeOpts)
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadValue()
		if err != nil {
			return err
		}
		if err := member(memberName(name)); err != nil {
			return err
		}
	}
	_, err := dec.ReadToken()
	return err
}

// decodeString decodes a string or null into s.
func (d *vulnDecoder) decodeString(s *string) error {
	dec := d.dec
	switch dec.PeekKind() {
	case '"':
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		*s = d.strings.make(raw)
		return nil
	case 'n':
		*s = ""
		_, err := dec.ReadToken()
		return err
	}
	return json.UnmarshalDecode(dec, s, decodeOpts)
}

// decodeStrings decodes an array of strings (or null) into ss. Like the
// json package, it reuses ss's backing array and gives an empty array as
// an empty, non-nil slice.
func (d *vulnDecoder) decodeStrings(ss *[]string) error {
	dec := d.dec
	switch dec.PeekKind() {
	case 'n':
		*ss = nil
		_, err := dec.ReadToken()
		return err
	case '[':
	default:
		return json.UnmarshalDecode(dec, ss, decodeOpts)
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	out := (*ss)[:0]
	for dec.PeekKind() != ']' {
		out = append(out, "")
		if err := d.decodeString(&out[len(out)-1]); err != nil {
			*ss = out
			return err
		}
	}
	if len(out) == 0 {
		out = []string{}
	}
	*ss = out
	_, err := dec.ReadToken()
	return err
}

// memberName returns an object member name read with ReadValue, unquoted.
// Names without escapes (Trivy's, always) are returned in place, so that
// a switch on string(memberName(raw)) does not allocate. A name that is not
// valid UTF-8 cannot be one of the names looked for, whatever replaces its
// invalid bytes.
func memberName(raw jsontext.Value) []byte {
	if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1]
	}
	b, _ := jsontext.AppendUnquote(nil, raw)
	return b
}

// stringCache interns strings of 2 to 256 bytes, the last one seen per
// slot of a hash of their ends (the json package's own string cache).
type stringCache [256]string

// make returns the string a JSON string literal read with ReadValue
// stands for, unquoted as the json package unquotes it: invalid UTF-8 is
// replaced with U+FFFD.
func (c *stringCache) make(raw jsontext.Value) string {
	b := raw[1 : len(raw)-1]
	if bytes.IndexByte(b, '\\') >= 0 || !utf8.Valid(b) {
		b, _ = jsontext.AppendUnquote(nil, raw)
	}
	if len(b) < 2 || len(b) > 256 {
		return string(b)
	}
	var h uint32
	switch {
	case len(b) >= 8:
		lo := binary.LittleEndian.Uint64(b[:8])
		hi := binary.LittleEndian.Uint64(b[len(b)-8:])
		h = hash64(uint32(lo), uint32(lo>>32)) ^ hash64(uint32(hi), uint32(hi>>32))
	case len(b) >= 4:
		h = hash64(binary.LittleEndian.Uint32(b[:4]), binary.LittleEndian.Uint32(b[len(b)-4:]))
	default:
		h = hash64(uint32(binary.LittleEndian.Uint16(b[:2])), uint32(binary.LittleEndian.Uint16(b[len(b)-2:])))
	}
	i := h % uint32(len(c))
	if s := c[i]; s == string(b) {
		return s
	}
	s := string(b)
	c[i] = s
	return s
}

// hash64 mixes two words as XXH32 does, without the final avalanche.
func hash64(lo, hi uint32) uint32 {
	const (
		prime3 = 0xc2b2ae3d
		prime4 = 0x27d4eb2f
		prime5 = 0x165667b1
	)
	h := prime5 + uint32(8)
	h += lo * prime3
	h = bits.RotateLeft32(h, 17) * prime4
	h += hi * prime3
	h = bits.RotateLeft32(h, 17) * prime4
	return h
}
