package sextant

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// AuditGenesisHash is the PrevHash of the first entry of an audit log: 64
// zeros, the hex form of a SHA-256 no input produces in practice.
const AuditGenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// AuditTimeLayout is the layout of AuditEntry.Time in the canonical encoding
// and in exports: RFC 3339 in UTC with always nine fractional digits, e.g.
// "2025-08-25T09:30:00.123456000Z".
const AuditTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// auditEncodingVersion is the first element of every canonical encoding, so
// that a future change of the encoding cannot produce a hash that an old
// entry also produces.
const auditEncodingVersion = "sextant.audit.v1"

// AuditEntry is one record of the audit trail: who did what to which thing,
// when, chained to the entry before it by hash. Entries are written once by
// internal/audit and never changed; see ComputeHash for what the hash covers.
type AuditEntry struct {
	// Seq is the entry's position in the log: 1 for the first entry, then
	// each entry's Seq is one more than the previous one's. A gap means an
	// entry was deleted.
	Seq int64 `json:"seq"`
	// Time is when the entry was appended. It is covered by the hash as UTC
	// with nanoseconds (AuditTimeLayout); the monotonic clock reading and the
	// location are not part of the record.
	Time time.Time `json:"time"`
	// Actor is who did it: a user, an API token's name, or "system" for
	// sextant's own workers.
	Actor string `json:"actor"`
	// Action is what was done, as a dotted verb such as "finding.status" or
	// "token.create".
	Action string `json:"action"`
	// Subject is what it was done to: a finding, action, token or ingest ID.
	// It may be empty for actions without one.
	Subject string `json:"subject"`
	// Details is any further data as a JSON value. It is covered by the hash
	// in its canonical form (CanonicalJSON), so a store may re-encode it
	// (PostgreSQL jsonb reorders keys and drops whitespace) without changing
	// the hash. Empty Details mean JSON null.
	Details json.RawMessage `json:"details,omitempty"`
	// PrevHash is the Hash of the entry before this one, or AuditGenesisHash
	// for the first entry.
	PrevHash string `json:"prev_hash"`
	// Hash is ComputeHash() as it was when the entry was appended: lowercase
	// hex SHA-256.
	Hash string `json:"hash"`
}

// Canonical returns the bytes ComputeHash hashes. They are the canonical JSON
// array (see CanonicalJSON for how strings and numbers are written, and note
// there is no whitespace):
//
//	["sextant.audit.v1",Seq,Time,Actor,Action,Subject,Details,PrevHash]
//
// Seq is a JSON integer; Time is a string in AuditTimeLayout after conversion
// to UTC; Actor, Action, Subject and PrevHash are strings; Details is the
// canonical form of the Details value, or null when Details is empty. For
// example:
//
//	["sextant.audit.v1",1,"2025-08-25T09:30:00.000000000Z","alice","finding.status","f-1",{"from":"open","to":"resolved"},"0000…0000"]
//
// Strings are written byte for byte apart from the escapes CanonicalJSON
// uses; a string that is not valid UTF-8 keeps its invalid bytes, so no two
// different entries share an encoding. Canonical fails only when Details is
// not valid JSON (see CanonicalJSON).
func (e *AuditEntry) Canonical() ([]byte, error) {
	b := make([]byte, 0, 160+len(e.Actor)+len(e.Action)+len(e.Subject)+len(e.Details))
	b = append(b, `["`...)
	b = append(b, auditEncodingVersion...)
	b = append(b, `",`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, ',', '"')
	b = e.Time.UTC().AppendFormat(b, AuditTimeLayout)
	b = append(b, '"', ',')
	b = appendCanonicalString(b, e.Actor)
	b = append(b, ',')
	b = appendCanonicalString(b, e.Action)
	b = append(b, ',')
	b = appendCanonicalString(b, e.Subject)
	b = append(b, ',')
	if len(e.Details) == 0 {
		b = append(b, "null"...)
	} else {
		var err error
		if b, err = AppendCanonicalJSON(b, e.Details); err != nil {
			return nil, err
		}
	}
	b = append(b, ',')
	b = appendCanonicalString(b, e.PrevHash)
	b = append(b, ']')
	return b, nil
}

// ComputeHash returns the lowercase hex SHA-256 of the entry's canonical
// encoding (Canonical), which includes PrevHash and so chains the entry to
// the one before it. The stored Hash field is not part of its input.
//
// An entry whose Details are not valid JSON has no hash: ComputeHash returns
// "" for it, which never equals a stored Hash written by internal/audit.
func (e *AuditEntry) ComputeHash() string {
	b, err := e.Canonical()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// maxCanonicalDepth bounds the nesting of arrays and objects CanonicalJSON
// accepts, so a hostile value cannot exhaust the stack.
const maxCanonicalDepth = 1000

// maxCanonicalExponent bounds the exponent of a number CanonicalJSON accepts.
const maxCanonicalExponent = 1_000_000_000

// CanonicalJSON returns the canonical encoding of the single JSON value in
// data. Two encodings of the same value get the same canonical form, and the
// canonical form of a canonical form is itself. The rules, close to RFC 8785
// (JCS) but lossless for numbers:
//
//   - No whitespace outside strings.
//   - Object members sorted by key, comparing the keys' UTF-8 bytes; a
//     duplicate key is an error (parsers disagree on which one wins).
//   - Strings: the decoded text written as UTF-8; only '"', '\\' and the
//     control characters below U+0020 are escaped, as \b \t \n \f \r where
//     those exist and as \u00xx (lowercase hex) otherwise. Invalid UTF-8 and
//     unpaired surrogate escapes are errors. Unicode normalisation is not
//     applied: "é" and "e\u0301" stay different.
//   - Numbers are written by exact decimal value, never through float64:
//     with digits d (no leading or trailing zeros, k of them) and the decimal
//     point after position p, the value is written as d followed by p-k
//     zeros when k ≤ p ≤ 21, as d with a point inserted when 0 < p ≤ 21, as
//     "0." followed by -p zeros and d when -6 < p ≤ 0, and otherwise as
//     d₁[.d₂…dₖ]e±(p-1). Zero, including -0, is "0". This is ECMAScript's
//     Number::toString applied to the exact digits, so for any number a
//     float64 represents exactly and prints in at most 17 digits it matches
//     JCS and Go's encoding/json. 1.0, 1e0 and 10E-1 are all "1".
//   - true, false and null as themselves.
//
// Nesting deeper than 1000 and exponents beyond ±10⁹ are errors. Errors are
// *Error with code EINVALID.
func CanonicalJSON(data []byte) ([]byte, error) {
	return AppendCanonicalJSON(nil, data)
}

// AppendCanonicalJSON appends the canonical encoding of the JSON value in
// data to dst, as CanonicalJSON does. On error it returns dst as it was.
func AppendCanonicalJSON(dst, data []byte) ([]byte, error) {
	p := canonParser{data: data}
	p.skipSpace()
	if p.i == len(p.data) {
		return dst, Errorf(EINVALID, "canonical JSON: empty input")
	}
	n := len(dst)
	out, err := p.value(dst, 0)
	if err != nil {
		return dst[:n], err
	}
	p.skipSpace()
	if p.i != len(p.data) {
		return dst[:n], p.errorf("unexpected data after the JSON value")
	}
	return out, nil
}

// canonParser reads one JSON value from data and writes its canonical form.
type canonParser struct {
	data []byte
	i    int
}

func (p *canonParser) errorf(format string, args ...any) *Error {
	return Errorf(EINVALID, "canonical JSON: offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *canonParser) skipSpace() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *canonParser) literal(dst []byte, word string) ([]byte, error) {
	if !bytes.HasPrefix(p.data[p.i:], []byte(word)) {
		return dst, p.errorf("invalid literal")
	}
	p.i += len(word)
	return append(dst, word...), nil
}

func (p *canonParser) value(dst []byte, depth int) ([]byte, error) {
	if p.i >= len(p.data) {
		return dst, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.object(dst, depth+1)
	case c == '[':
		return p.array(dst, depth+1)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return dst, err
		}
		return appendCanonicalString(dst, s), nil
	case c == 't':
		return p.literal(dst, "true")
	case c == 'f':
		return p.literal(dst, "false")
	case c == 'n':
		return p.literal(dst, "null")
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number(dst)
	default:
		return dst, p.errorf("unexpected character %q", c)
	}
}

func (p *canonParser) array(dst []byte, depth int) ([]byte, error) {
	if depth > maxCanonicalDepth {
		return dst, p.errorf("nested deeper than %d", maxCanonicalDepth)
	}
	p.i++ // '['
	dst = append(dst, '[')
	p.skipSpace()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		return append(dst, ']'), nil
	}
	for {
		var err error
		p.skipSpace()
		if dst, err = p.value(dst, depth); err != nil {
			return dst, err
		}
		p.skipSpace()
		if p.i >= len(p.data) {
			return dst, p.errorf("unterminated array")
		}
		switch p.data[p.i] {
		case ',':
			p.i++
			dst = append(dst, ',')
		case ']':
			p.i++
			return append(dst, ']'), nil
		default:
			return dst, p.errorf("want ',' or ']' in array")
		}
	}
}

type canonMember struct {
	key        string
	start, end int // the canonical value in the object's scratch buffer
}

func (p *canonParser) object(dst []byte, depth int) ([]byte, error) {
	if depth > maxCanonicalDepth {
		return dst, p.errorf("nested deeper than %d", maxCanonicalDepth)
	}
	p.i++ // '{'
	p.skipSpace()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		return append(dst, '{', '}'), nil
	}
	// Values are encoded into a scratch buffer first because members are
	// written in key order, not input order.
	var (
		buf     []byte
		members []canonMember
	)
	for {
		p.skipSpace()
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return dst, p.errorf("want a string key in object")
		}
		key, err := p.str()
		if err != nil {
			return dst, err
		}
		p.skipSpace()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return dst, p.errorf("want ':' after object key")
		}
		p.i++
		p.skipSpace()
		start := len(buf)
		if buf, err = p.value(buf, depth); err != nil {
			return dst, err
		}
		members = append(members, canonMember{key: key, start: start, end: len(buf)})
		p.skipSpace()
		if p.i >= len(p.data) {
			return dst, p.errorf("unterminated object")
		}
		if p.data[p.i] == ',' {
			p.i++
			continue
		}
		if p.data[p.i] == '}' {
			p.i++
			break
		}
		return dst, p.errorf("want ',' or '}' in object")
	}
	slices.SortFunc(members, func(a, b canonMember) int { return strings.Compare(a.key, b.key) })
	dst = append(dst, '{')
	for i, m := range members {
		if i > 0 {
			if m.key == members[i-1].key {
				return dst, p.errorf("duplicate object key %q", m.key)
			}
			dst = append(dst, ',')
		}
		dst = appendCanonicalString(dst, m.key)
		dst = append(dst, ':')
		dst = append(dst, buf[m.start:m.end]...)
	}
	return append(dst, '}'), nil
}

// str reads a JSON string starting at its opening quote and returns the
// decoded text.
func (p *canonParser) str() (string, error) {
	p.i++ // opening quote
	start := p.i
	// Fast path: no escapes and plain ASCII or valid UTF-8.
	for p.i < len(p.data) {
		c := p.data[p.i]
		if c == '"' {
			s := p.data[start:p.i]
			p.i++
			return string(s), nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		p.i++
	}
	b := append([]byte(nil), p.data[start:p.i]...)
	for {
		if p.i >= len(p.data) {
			return "", p.errorf("unterminated string")
		}
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return string(b), nil
		case c == '\\':
			r, err := p.escape()
			if err != nil {
				return "", err
			}
			b = utf8.AppendRune(b, r)
		case c < 0x20:
			return "", p.errorf("control character %#x in string", c)
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.data[p.i:])
			if r == utf8.RuneError && size == 1 {
				return "", p.errorf("invalid UTF-8 in string")
			}
			b = append(b, p.data[p.i:p.i+size]...)
			p.i += size
		}
	}
}

// escape reads one escape sequence starting at its backslash.
func (p *canonParser) escape() (rune, error) {
	if p.i+1 >= len(p.data) {
		return 0, p.errorf("unterminated escape")
	}
	c := p.data[p.i+1]
	p.i += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return 0, p.errorf(`invalid \u escape`)
		}
		if !utf16.IsSurrogate(r) {
			return r, nil
		}
		if r < 0xdc00 && p.i+1 < len(p.data) && p.data[p.i] == '\\' && p.data[p.i+1] == 'u' {
			p.i += 2
			r2, ok := p.hex4()
			if ok {
				if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
					return d, nil
				}
			}
		}
		return 0, p.errorf("unpaired surrogate in string")
	default:
		return 0, p.errorf("invalid escape %q", c)
	}
}

func (p *canonParser) hex4() (rune, bool) {
	if p.i+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.i : p.i+4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}

// number reads a JSON number and writes it by exact value; see CanonicalJSON.
func (p *canonParser) number(dst []byte) ([]byte, error) {
	neg := false
	if p.data[p.i] == '-' {
		neg = true
		p.i++
	}
	intStart := p.i
	switch {
	case p.i < len(p.data) && p.data[p.i] == '0':
		p.i++
	case p.i < len(p.data) && '1' <= p.data[p.i] && p.data[p.i] <= '9':
		for p.i < len(p.data) && isDigit(p.data[p.i]) {
			p.i++
		}
	default:
		return dst, p.errorf("invalid number")
	}
	intDigits := p.data[intStart:p.i]
	var fracDigits []byte
	if p.i < len(p.data) && p.data[p.i] == '.' {
		p.i++
		fracStart := p.i
		for p.i < len(p.data) && isDigit(p.data[p.i]) {
			p.i++
		}
		if p.i == fracStart {
			return dst, p.errorf("invalid number: no digits after '.'")
		}
		fracDigits = p.data[fracStart:p.i]
	}
	exp := 0
	if p.i < len(p.data) && (p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		p.i++
		expNeg := false
		if p.i < len(p.data) && (p.data[p.i] == '+' || p.data[p.i] == '-') {
			expNeg = p.data[p.i] == '-'
			p.i++
		}
		expStart := p.i
		for p.i < len(p.data) && isDigit(p.data[p.i]) {
			if exp = exp*10 + int(p.data[p.i]-'0'); exp > maxCanonicalExponent {
				return dst, p.errorf("number exponent out of range")
			}
			p.i++
		}
		if p.i == expStart {
			return dst, p.errorf("invalid number: no digits in exponent")
		}
		if expNeg {
			exp = -exp
		}
	}

	// The value is digits × 10^exp with digits = intDigits+fracDigits.
	digits := make([]byte, 0, len(intDigits)+len(fracDigits))
	digits = append(digits, intDigits...)
	digits = append(digits, fracDigits...)
	exp -= len(fracDigits)
	lead := 0
	for lead < len(digits) && digits[lead] == '0' {
		lead++
	}
	digits = digits[lead:]
	if len(digits) == 0 {
		return append(dst, '0'), nil
	}
	for digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	if neg {
		dst = append(dst, '-')
	}
	k := len(digits)
	point := k + exp // digits before the decimal point
	switch {
	case k <= point && point <= 21:
		dst = append(dst, digits...)
		for range point - k {
			dst = append(dst, '0')
		}
	case 0 < point && point <= 21:
		dst = append(dst, digits[:point]...)
		dst = append(dst, '.')
		dst = append(dst, digits[point:]...)
	case -6 < point && point <= 0:
		dst = append(dst, '0', '.')
		for range -point {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if point-1 > 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(point-1), 10)
	}
	return dst, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// appendCanonicalString writes s as a canonical JSON string. Bytes that are
// not valid UTF-8 are written as they are, which keeps the encoding
// one-to-one for any Go string.
func appendCanonicalString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
