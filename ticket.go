package sextant

import (
	"context"
	"strings"
	"time"
)

// TicketRef identifies a ticket (or chat message) in one destination.
type TicketRef struct {
	// ExternalID is the destination's identifier: a Jira issue key, a
	// ServiceNow sys_id, a GitHub issue number, a Slack channel+ts.
	ExternalID string `json:"external_id"`
	// URL is where a person opens it; it may be empty.
	URL string `json:"url,omitempty"`
}

// TicketContent is what sextant asks a destination to show for one action.
// Every fact in it comes from the action (the deterministic fix plan); the
// Summary may come from the AI layer, and is plain text.
type TicketContent struct {
	Action   Action       `json:"action"`
	Status   ActionStatus `json:"status"`
	Findings int          `json:"findings"`
	Owner    string       `json:"owner,omitempty"`
	// Summary is a plain-language explanation of the risk; empty when none.
	Summary string `json:"summary,omitempty"`
	// Link is the action's page in sextant, if the server has a public URL.
	Link string `json:"link,omitempty"`
}

// CorrelationKey is the key a ticket carries so that it can be found again
// in its destination (a Jira label, a ServiceNow correlation_id, a GitHub
// label, a webhook-id): "sextant-" and the hex of the action ID. It is at
// most 40 characters, with no spaces.
func CorrelationKey(actionID string) string {
	return "sextant-" + strings.TrimPrefix(actionID, "act_")
}

// TicketSink is one destination that tracks actions as tickets (Jira,
// ServiceNow, GitHub Issues, a generic webhook). Each internal/sink package
// implements it as a pure payload builder plus a transport; transports map
// the destination's failures to error codes at their edge: 400/422
// EINVALID, 401/403 EUNAUTHORIZED, 404 ENOTFOUND, 409 ECONFLICT, 429
// ERATELIMITED and 5xx or network failures EUNAVAILABLE, with
// Error.RetryAfter set when the destination said how long to wait.
type TicketSink interface {
	// Find looks the action's ticket up by its CorrelationKey, so that a
	// create interrupted between "sent" and "recorded" is not repeated.
	// ok is false when the destination has none.
	Find(ctx context.Context, actionID string) (ref TicketRef, ok bool, err error)
	// Create opens a ticket for the action.
	Create(ctx context.Context, c TicketContent) (TicketRef, error)
	// Comment adds a comment (the delta of a rescan) to the ticket, with
	// its content as it is now.
	Comment(ctx context.Context, ref TicketRef, c TicketContent, comment string) error
	// Close resolves the ticket with a comment; Reopen reopens it.
	Close(ctx context.Context, ref TicketRef, comment string) error
	Reopen(ctx context.Context, ref TicketRef, comment string) error
}

// ChatMessage is a message about an action to a chat destination (Slack,
// Teams), optionally asking an approver to decide on an approval.
type ChatMessage struct {
	Content TicketContent `json:"content"`
	// Text is the headline, plain text.
	Text string `json:"text"`
	// ApprovalID, when set, adds Approve and Reject buttons carrying it.
	ApprovalID string `json:"approval_id,omitempty"`
	// Decided, when set, replaces the buttons with who decided what.
	Decided string `json:"decided,omitempty"`
}

// ChatSink posts and updates messages (Slack, Microsoft Teams).
type ChatSink interface {
	Post(ctx context.Context, m ChatMessage) (TicketRef, error)
	// Update replaces a posted message (after a decision); destinations
	// that cannot update post a new message instead.
	Update(ctx context.Context, ref TicketRef, m ChatMessage) (TicketRef, error)
}

// TicketState is whether a ticket is open or closed in its destination, as
// sextant last left it.
type TicketState string

// Ticket states.
const (
	TicketOpen   TicketState = "open"
	TicketClosed TicketState = "closed"
)

// Ticket links an action to its ticket in one destination: one per action
// per destination.
type Ticket struct {
	ActionID    string      `json:"action_id"`
	Destination string      `json:"destination"`
	Ref         TicketRef   `json:"ref"`
	State       TicketState `json:"state"`
	CreatedAt   time.Time   `json:"created_at"`
	UpdatedAt   time.Time   `json:"updated_at"`
}

type deliveryKeyCtx struct{}

// WithDeliveryKey returns a context carrying the identity of one delivery
// (the outbox row and the action version it delivers), which sinks that
// send idempotency keys (the signed webhook's webhook-id) derive them from:
// retries of one delivery share a key, two deliveries never do.
func WithDeliveryKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, deliveryKeyCtx{}, key)
}

// DeliveryKey returns the key WithDeliveryKey put in ctx, or "".
func DeliveryKey(ctx context.Context) string {
	k, _ := ctx.Value(deliveryKeyCtx{}).(string)
	return k
}
