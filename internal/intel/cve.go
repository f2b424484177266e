package intel

import (
	"strconv"
	"strings"
)

// normalizeCVE returns the canonical spelling of a CVE ID: trimmed and upper
// case. It does not allocate when the ID is already canonical.
func normalizeCVE(s string) string {
	return strings.ToUpper(strings.TrimSpace(s))
}

// CVE IDs pack into a uint64 as year<<cveNumberBits | number. The CVE
// syntax allows any number of digits after the year; twelve (below 2^40) is
// far beyond any ID assigned so far (seven).
const (
	cveNumberBits = 40
	cveMaxDigits  = 12
)

// cveKey parses "CVE-YYYY-NNNN…" (case-insensitive, no surrounding space)
// into its packed form. Sequence numbers of five or more digits may not start
// with 0, as in the CVE ID syntax, so that distinct IDs never share a key.
func cveKey[T ~string | ~[]byte](s T) (uint64, bool) {
	// "CVE-" + 4-digit year + "-" + 4..12 digits
	if len(s) < 13 || len(s) > 9+cveMaxDigits {
		return 0, false
	}
	if s[0]|0x20 != 'c' || s[1]|0x20 != 'v' || s[2]|0x20 != 'e' || s[3] != '-' || s[8] != '-' {
		return 0, false
	}
	var year uint64
	for i := 4; i < 8; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		year = year*10 + uint64(c-'0')
	}
	num := s[9:]
	if len(num) > 4 && num[0] == '0' {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(num); i++ {
		c := num[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return year<<cveNumberBits | n, true
}

// cveString is the inverse of cveKey.
func cveString(key uint64) string {
	year := key >> cveNumberBits
	n := key & (1<<cveNumberBits - 1)
	num := strconv.FormatUint(n, 10)
	if len(num) < 4 {
		num = strings.Repeat("0", 4-len(num)) + num
	}
	return "CVE-" + strconv.FormatUint(year+10000, 10)[1:] + "-" + num
}
