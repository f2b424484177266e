package sextant

import (
	"fmt"
	"strings"
)

// Priority ranks what to do: P0 act now, P1 this sprint, P2 plan, P3
// accept or backlog.
type Priority int

// Priorities, most urgent first.
const (
	P0 Priority = iota
	P1
	P2
	P3
)

// String returns "P0".."P3".
func (p Priority) String() string { return fmt.Sprintf("P%d", int(p)) }

// MarshalText encodes a priority as "P0".."P3".
func (p Priority) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText decodes "P0".."P3".
func (p *Priority) UnmarshalText(b []byte) error {
	q, err := ParsePriority(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// ParsePriority parses "P0".."P3" (case-insensitive).
func ParsePriority(s string) (Priority, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "P0":
		return P0, nil
	case "P1":
		return P1, nil
	case "P2":
		return P2, nil
	case "P3":
		return P3, nil
	}
	return P3, Errorf(EINVALID, "unknown priority %q: want P0, P1, P2 or P3", s)
}

// Factor is one term of a risk score, shown to the user as it was computed.
type Factor struct {
	// Name identifies the factor: "kev", "epss", "cvss", "fix_available"…
	Name string `json:"name"`
	// Value is the factor's input as observed (a probability, a CVSS score,
	// true/false).
	Value any `json:"value"`
	// Weight is the configured weight of the factor.
	Weight float64 `json:"weight"`
	// Contribution is what the factor added to (or, if negative, removed
	// from) the score, in score points.
	Contribution float64 `json:"contribution"`
	// Evidence says in words where the value came from.
	Evidence string `json:"evidence,omitempty"`
}

// Score is an explained risk score, 0 to 100.
type Score struct {
	Value    float64  `json:"score"`
	Priority Priority `json:"priority"`
	Factors  []Factor `json:"factors"`
}
