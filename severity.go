package sextant

import "strings"

// Severity is a normalised severity. The zero value is SeverityUnknown.
type Severity int

// Severities, lowest first.
const (
	SeverityUnknown Severity = iota
	SeverityNegligible
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// String returns the upper-case name of s, as scanners print it.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return "UNKNOWN"
	}
	return severityNames[s]
}

// ParseSeverity normalises a scanner's or vendor's severity word. Vendor
// vocabularies are mapped onto the common scale: Red Hat "important" and
// "moderate", Ubuntu "negligible", Debian "unimportant", GitHub "moderate",
// SARIF "error"/"warning"/"note". ok is false when the word is not known; the
// result is then SeverityUnknown and the caller keeps the finding with a
// warning.
func ParseSeverity(word string) (s Severity, ok bool) {
	switch strings.ToLower(strings.TrimSpace(word)) {
	case "critical", "urgent":
		return SeverityCritical, true
	case "high", "important", "error":
		return SeverityHigh, true
	case "medium", "moderate", "warning":
		return SeverityMedium, true
	case "low", "note", "minor":
		return SeverityLow, true
	case "negligible", "unimportant", "info", "informational", "none":
		return SeverityNegligible, true
	case "unknown", "":
		return SeverityUnknown, true
	}
	return SeverityUnknown, false
}

// SeverityFromCVSS maps a CVSS base score onto the qualitative scale defined
// by CVSS v3.1 and v4.0 (FIRST specification, section "Qualitative Severity
// Rating Scale").
func SeverityFromCVSS(score float64) Severity {
	switch {
	case score >= 9.0:
		return SeverityCritical
	case score >= 7.0:
		return SeverityHigh
	case score >= 4.0:
		return SeverityMedium
	case score > 0:
		return SeverityLow
	}
	return SeverityUnknown
}
