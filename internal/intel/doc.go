// Package intel reads the two public threat-intelligence feeds sextant
// scores with, CISA's Known Exploited Vulnerabilities catalog (ReadKEV) and
// FIRST's Exploit Prediction Scoring System scores (ReadEPSS), and keeps
// them fresh in an on-disk Cache updated with conditional requests.
//
// Both readers reject malformed input with an *sextant.Error of code
// EINVALID that says where the problem is (a byte offset in the KEV JSON, a
// line number in the EPSS CSV). Feed contents are data from outside and are
// never interpreted as anything else.
package intel
