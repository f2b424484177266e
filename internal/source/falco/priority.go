package falco

import (
	"fmt"
	"strings"
)

// Priority is a Falco rule priority, from Debug to Emergency (syslog's
// levels). The zero value is PriorityUnknown.
type Priority int

// The Falco priorities, lowest first.
const (
	PriorityUnknown Priority = iota
	PriorityDebug
	PriorityInformational
	PriorityNotice
	PriorityWarning
	PriorityError
	PriorityCritical
	PriorityAlert
	PriorityEmergency
)

var priorityNames = [...]string{"Unknown", "Debug", "Informational", "Notice", "Warning", "Error", "Critical", "Alert", "Emergency"}

// String returns the priority as Falco writes it ("Warning").
func (p Priority) String() string {
	if p < 0 || int(p) >= len(priorityNames) {
		return fmt.Sprintf("Priority(%d)", int(p))
	}
	return priorityNames[p]
}

// ParsePriority reads a priority as Falco and its rules files write it, in
// any case, with the short forms Falco accepts ("info", "warn", "crit",
// "err", "emerg"). It returns PriorityUnknown and false for anything else.
func ParsePriority(s string) (Priority, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "emergency", "emerg":
		return PriorityEmergency, true
	case "alert":
		return PriorityAlert, true
	case "critical", "crit":
		return PriorityCritical, true
	case "error", "err":
		return PriorityError, true
	case "warning", "warn":
		return PriorityWarning, true
	case "notice":
		return PriorityNotice, true
	case "informational", "info":
		return PriorityInformational, true
	case "debug":
		return PriorityDebug, true
	}
	return PriorityUnknown, false
}

// MarshalText writes the priority's name.
func (p Priority) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a priority's name; an unknown word is
// PriorityUnknown, not an error.
func (p *Priority) UnmarshalText(b []byte) error {
	*p, _ = ParsePriority(string(b))
	return nil
}
