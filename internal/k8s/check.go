package k8s

import (
	"time"

	"github.com/sextant-dev/sextant"
)

// Check is one misconfiguration check. Checks are pure: they look at one
// object (with the inventory for context) and report violations; each
// violation carries the fix that makes it pass.
type Check struct {
	// ID is stable and used in suppressions and outputs ("SX-K8S-001"…).
	ID        string
	Title     string
	Severity  sextant.Severity
	Rationale string
	// Mappings name the controls the check implements, e.g.
	// "PSS baseline: Privileged Containers", "CIS 5.2.1",
	// "NSA/CISA: Non-root containers".
	Mappings []string
	// Kinds lists the object kinds the check looks at ("Workload" for any
	// workload kind).
	Kinds []string
	// Run reports the check's violations on one object.
	Run func(o *Object, inv *Inventory) []Violation
}

// Violation is one failed check on one object (and container, if it is a
// container-level check).
type Violation struct {
	CheckID   string
	Object    Ref
	Container string
	// Message says what is wrong in this object, in plain words.
	Message string
	// Evidence is the offending value and where it is ("securityContext.
	// privileged: true at /spec/template/spec/containers/0").
	Evidence string
	// Fix is the minimal change that makes the check pass, or nil when no
	// safe automatic fix exists (the Message then says what to do).
	Fix *Fix
	// Suppressed is set when an annotation suppresses the check on the
	// object (see Suppression).
	Suppressed *Suppression
}

// Fix is a minimal change to one object, expressed as an RFC 6902 JSON
// Patch against the object's JSON. The strategic-merge patch, the kubectl
// command and the unified diff are all derived from it.
type Fix struct {
	// Ops are the JSON Patch operations, in order.
	Ops []PatchOp
	// Breaks says when the fix may break the application, in plain words
	// ("the app must not write outside /tmp"); "" when it is safe.
	Breaks string
	// Companion explains any companion change the Ops include (an emptyDir
	// for /tmp with readOnlyRootFilesystem; a runAsUser with runAsNonRoot).
	Companion string
}

// PatchOp is one RFC 6902 operation. Value is any JSON-marshalable value.
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// Suppression is an exception recorded on the object itself, as data:
//
//	metadata:
//	  annotations:
//	    sextant.dev/ignore.SX-K8S-001: "reason=needs raw sockets for ping; expires=2027-03-31"
//
// A suppression without a reason is ignored (and warned about); an expired
// one no longer suppresses.
type Suppression struct {
	CheckID string
	Reason  string
	Expires time.Time
}
