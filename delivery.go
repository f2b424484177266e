package sextant

import (
	"context"
	"time"
)

// Mode is how far sextant acts outside itself, set per server and raised
// step by step as a team gains trust in it.
type Mode string

// Modes, in the order a team goes through them.
const (
	// ModeObserve: nothing leaves sextant; every payload that would be sent
	// is kept as a Preview.
	ModeObserve Mode = "observe"
	// ModeTicket: tickets and chat messages flow.
	ModeTicket Mode = "ticket"
	// ModeRemediate: tickets flow, and approved actions are carried out
	// (a pull request with the patch).
	ModeRemediate Mode = "remediate"
)

// Valid reports whether m is one of the three modes.
func (m Mode) Valid() bool { return m == ModeObserve || m == ModeTicket || m == ModeRemediate }

// Delivery is the job of keeping one destination in step with one action:
// the outbox row. It is created when an action routed to the destination
// changes, and done when the destination shows the action as it is now.
type Delivery struct {
	ActionID    string `json:"action_id"`
	Destination string `json:"destination"`
	// Ref is the ticket or message in the destination; empty until created.
	Ref TicketRef `json:"ref"`
	// State is the ticket's state as last delivered; empty before creation.
	State TicketState `json:"state,omitempty"`
	// Delivered is the action's UpdatedAt as last delivered; the delivery is
	// due while the action's UpdatedAt is newer (or it is queued again).
	Delivered time.Time `json:"delivered,omitzero"`
	// Pending is true while the delivery is due.
	Pending bool `json:"pending"`
	// Attempts counts the failed attempts since the last success.
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	LastError     string    `json:"last_error,omitempty"`
	// Dead is true when sextant gave up (a permanent error, or too many
	// attempts): the dead letter, visible in the API until queued again.
	Dead      bool      `json:"dead"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// DeliveryFilter selects deliveries. Zero fields match everything.
type DeliveryFilter struct {
	Destination string
	ActionID    string
	// Dead and Pending, when set, match deliveries with that value.
	Dead    *bool
	Pending *bool
	Limit   int
	Cursor  string
}

// DeliveryStore keeps the outbox. internal/sqlite and internal/postgres
// implement it.
type DeliveryStore interface {
	// QueueDelivery makes the delivery of actionID to destination due at at,
	// creating it if new; a dead delivery is revived with its attempts
	// reset. Queuing a due delivery again keeps the earlier due time.
	QueueDelivery(ctx context.Context, actionID, destination string, at time.Time) error
	// ClaimDelivery atomically takes the oldest due delivery (pending, not
	// dead, NextAttemptAt not after now) of a destination not in skip, and
	// leases it until now+lease: until then no other caller claims it. ok
	// is false when none is due.
	ClaimDelivery(ctx context.Context, now time.Time, lease time.Duration, skip []string) (d Delivery, ok bool, err error)
	// CompleteDelivery records a success: d's Ref, State and Delivered are
	// stored, attempts and error cleared; it stays pending only if it was
	// queued again after it was claimed (at claimedAt).
	CompleteDelivery(ctx context.Context, d Delivery, claimedAt time.Time) error
	// FailDelivery records a failed attempt: attempts one more, the error,
	// and either the next attempt's time or, with dead, the dead letter.
	FailDelivery(ctx context.Context, actionID, destination, errText string, next time.Time, dead bool) error
	// Delivery returns one delivery, or ENOTFOUND.
	Delivery(ctx context.Context, actionID, destination string) (Delivery, error)
	// Deliveries lists deliveries, most recently updated first.
	Deliveries(ctx context.Context, filter DeliveryFilter) (Page[Delivery], error)
}

// Preview is what would have been sent to a destination in observe mode.
type Preview struct {
	ID          int64  `json:"id"`
	ActionID    string `json:"action_id"`
	Destination string `json:"destination"`
	// Operation is create, comment, close or reopen.
	Operation string `json:"operation"`
	// Payload is the request body the destination would have received.
	Payload   []byte    `json:"payload"`
	CreatedAt time.Time `json:"created_at"`
}

// PreviewStore keeps observe mode's previews.
type PreviewStore interface {
	AddPreview(ctx context.Context, p Preview) (Preview, error)
	// Previews lists previews newest first, of one action or destination
	// or all.
	Previews(ctx context.Context, actionID, destination string, limit int, cursor string) (Page[Preview], error)
}

// ApprovalStatus is where an approval request stands.
type ApprovalStatus string

// Approval statuses.
const (
	ApprovalPending  ApprovalStatus = "pending"
	ApprovalApproved ApprovalStatus = "approved"
	ApprovalRejected ApprovalStatus = "rejected"
	ApprovalExpired  ApprovalStatus = "expired"
)

// Approval is a request for a person with the approver role to allow
// something sextant will not do on its own: ticket an action the policy
// holds back, or carry out a remediation.
type Approval struct {
	ID       string `json:"id"`
	ActionID string `json:"action_id"`
	// Kind is what is to be approved: "ticket" or "remediate".
	Kind        string         `json:"kind"`
	Reason      string         `json:"reason"`
	RequestedBy string         `json:"requested_by"`
	RequestedAt time.Time      `json:"requested_at"`
	ExpiresAt   time.Time      `json:"expires_at"`
	Status      ApprovalStatus `json:"status"`
	DecidedBy   string         `json:"decided_by,omitempty"`
	DecidedAt   time.Time      `json:"decided_at,omitzero"`
	Comment     string         `json:"comment,omitempty"`
}

// ApprovalFilter selects approvals. Zero fields match everything.
type ApprovalFilter struct {
	Status   ApprovalStatus
	ActionID string
	Limit    int
	Cursor   string
}

// ApprovalStore keeps approval requests and decisions. internal/sqlite and
// internal/postgres implement it.
type ApprovalStore interface {
	// RequestApproval stores a pending request, or returns the pending
	// request of the same action and kind if there is one (so that a
	// rescan does not ask twice).
	RequestApproval(ctx context.Context, a Approval) (Approval, error)
	// Approval returns one request, or ENOTFOUND. A pending request past
	// its ExpiresAt is returned as expired.
	Approval(ctx context.Context, id string) (Approval, error)
	// Approvals lists requests, newest first.
	Approvals(ctx context.Context, filter ApprovalFilter) (Page[Approval], error)
	// DecideApproval records a decision (approved or rejected) on a
	// pending request by actor, at now. A request already decided is
	// ECONFLICT; one past its expiry is EINVALID and becomes expired.
	DecideApproval(ctx context.Context, id string, status ApprovalStatus, actor, comment string, now time.Time) (Approval, error)
}

// MTTR is the time to resolve the actions of one priority and owner.
type MTTR struct {
	Priority Priority `json:"priority"`
	Owner    string   `json:"owner"`
	// Resolved is how many actions were resolved in the window; Open how
	// many are open now.
	Resolved int `json:"resolved"`
	Open     int `json:"open"`
	// Mean and Median are of FirstSeen → ResolvedAt over the resolved ones.
	Mean   time.Duration `json:"mean"`
	Median time.Duration `json:"median"`
}

// ActionStats measures how actions are dealt with.
type ActionStats interface {
	// MTTR returns one row per (priority, owner) with actions, of the
	// actions resolved since since (and the open ones), sorted by priority
	// then owner.
	MTTR(ctx context.Context, since time.Time) ([]MTTR, error)
}
