package service

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/route"
)

// DispatchStore is what the dispatcher keeps its state in.
type DispatchStore interface {
	sextant.ActionStore
	sextant.DeliveryStore
	sextant.PreviewStore
	sextant.ApprovalStore
}

// Destination is one configured place actions go: a ticket system or a chat.
// Exactly one of Tickets and Chat is set.
type Destination struct {
	Name    string
	Tickets sextant.TicketSink
	Chat    sextant.ChatSink
	// Preview builds the request body the destination would receive for an
	// operation (create, comment, close, reopen, post, update), for
	// observe mode and `sextant sinks test`.
	Preview func(op string, c sextant.TicketContent, comment string) ([]byte, error)
}

// Dispatcher keeps destinations in step with actions: it routes changed
// actions (CEL rules), asks for approvals where the policy says so, and
// delivers through the outbox (sextant.DeliveryStore) with retries,
// backoff honouring Retry-After, a circuit breaker per destination and a
// dead letter. In observe mode nothing leaves sextant: each payload is kept
// as a preview.
type Dispatcher struct {
	Store        DispatchStore
	Destinations map[string]*Destination
	Router       *route.Router
	Mode         sextant.Mode
	Audit        Auditor
	Logger       *slog.Logger
	// Summary explains an action in plain text for tickets; nil leaves
	// tickets with the facts only.
	Summary func(ctx context.Context, a sextant.ActionRecord) string
	// Link returns the action's page in sextant; nil for none.
	Link func(actionID string) string
	Now  func() time.Time
	// Remediator opens the pull requests of approved remediations in
	// ModeRemediate (remediate.go); nil for none.
	Remediator *Remediator

	// MaxAttempts before a delivery is dead (0: 8); Backoff is the base of
	// the exponential backoff (0: 2s); Lease bounds one delivery attempt
	// (0: 2m); ApprovalTTL is how long an approval request stays open (0:
	// 72h).
	MaxAttempts int
	Backoff     time.Duration
	Lease       time.Duration
	ApprovalTTL time.Duration
	// BreakerThreshold consecutive failures of a destination open its
	// circuit for BreakerCooldown (0: 5 and 30s).
	BreakerThreshold int
	BreakerCooldown  time.Duration

	mu       sync.Mutex
	breakers map[string]*breaker
}

type breaker struct {
	failures  int
	openUntil time.Time
}

func (d *Dispatcher) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dispatcher) log() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (d *Dispatcher) audit(ctx context.Context, actor, action, subject string, details any) {
	if d.Audit == nil {
		return
	}
	if _, err := d.Audit.Append(ctx, actor, action, subject, details); err != nil {
		d.log().Error("audit append failed", "action", action, "err", err)
	}
}

// Changed routes the actions a scan or a status change touched and queues
// their deliveries, or asks for approval first where the policy says so.
func (d *Dispatcher) Changed(ctx context.Context, ch sextant.ActionChanges) error {
	ids := slices.Concat(ch.Opened, ch.Updated, ch.Reopened, ch.Resolved)
	slices.Sort(ids)
	for _, id := range slices.Compact(ids) {
		if err := d.reconcileAction(ctx, id, false); err != nil {
			return err
		}
	}
	return nil
}

// Reconcile walks every action and queues what is out of step: open actions
// routed to a destination that has no ticket yet (as after a crash between
// the action's change and its queuing, or after observe mode is left) or an
// older one, and resolved actions whose ticket is still open. The server
// runs it at start and every hour.
func (d *Dispatcher) Reconcile(ctx context.Context) error {
	filter := sextant.ActionFilter{Limit: sextant.MaxPageSize}
	for {
		page, err := d.Store.Actions(ctx, filter)
		if err != nil {
			return fmt.Errorf("reconcile deliveries: %w", err)
		}
		for _, a := range page.Items {
			if err := d.reconcileAction(ctx, a.Action.ID, true); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		filter.Cursor = page.Next
	}
}

// reconcileAction routes one action and queues the deliveries it needs. With
// onlyStale, a delivery already in step is left alone.
func (d *Dispatcher) reconcileAction(ctx context.Context, id string, onlyStale bool) error {
	rec, err := d.Store.Action(ctx, id)
	if err != nil {
		return fmt.Errorf("dispatch %s: %w", id, err)
	}
	now := d.now()
	if rec.Status == sextant.ActionResolved {
		// Close what was opened, wherever it was opened, whatever the
		// routing says now.
		for name := range d.Destinations {
			del, err := d.Store.Delivery(ctx, id, name)
			if sextant.ErrorCode(err) == sextant.ENOTFOUND {
				continue
			}
			if err != nil {
				return err
			}
			if del.Ref.ExternalID == "" || (del.State == sextant.TicketClosed && onlyStale) {
				continue
			}
			if err := d.Store.QueueDelivery(ctx, id, name, now); err != nil {
				return err
			}
		}
		return nil
	}
	if err := d.queueRemediation(ctx, rec); err != nil {
		return err
	}
	decisions, err := d.Router.Route(rec)
	if err != nil {
		d.log().Warn("routing failed; the action is not sent anywhere", "action", id, "err", err)
		return nil
	}
	var held []string
	for _, dec := range decisions {
		if _, ok := d.Destinations[dec.Destination]; !ok {
			continue
		}
		if dec.NeedsApproval {
			ok, err := d.approved(ctx, id, "ticket")
			if err != nil {
				return err
			}
			if !ok {
				held = append(held, dec.Destination)
				continue
			}
		}
		if onlyStale {
			del, err := d.Store.Delivery(ctx, id, dec.Destination)
			switch {
			case err == nil:
				inStep := !del.Pending && !del.Dead && !del.Delivered.Before(rec.UpdatedAt) &&
					(del.Ref.ExternalID != "" || d.Mode == sextant.ModeObserve)
				if inStep || del.Dead {
					continue
				}
			case sextant.ErrorCode(err) != sextant.ENOTFOUND:
				return err
			}
		}
		if err := d.Store.QueueDelivery(ctx, id, dec.Destination, now); err != nil {
			return err
		}
	}
	if len(held) > 0 {
		if err := d.requestApproval(ctx, rec, held); err != nil {
			return err
		}
	}
	return nil
}

// approved reports whether an approval of kind for the action was granted.
func (d *Dispatcher) approved(ctx context.Context, actionID, kind string) (bool, error) {
	page, err := d.Store.Approvals(ctx, sextant.ApprovalFilter{ActionID: actionID, Status: sextant.ApprovalApproved, Limit: sextant.MaxPageSize})
	if err != nil {
		return false, err
	}
	for _, a := range page.Items {
		if a.Kind == kind {
			return true, nil
		}
	}
	return false, nil
}

func (d *Dispatcher) approvalTTL() time.Duration {
	if d.ApprovalTTL > 0 {
		return d.ApprovalTTL
	}
	return 72 * time.Hour
}

// requestApproval asks for an approval to ticket the action (once: a
// pending request is reused) and posts it to the chat destinations.
func (d *Dispatcher) requestApproval(ctx context.Context, rec sextant.ActionRecord, held []string) error {
	now := d.now()
	a, err := d.Store.RequestApproval(ctx, sextant.Approval{
		ActionID:    rec.Action.ID,
		Kind:        "ticket",
		Reason:      "the approval policy holds " + strings.Join(held, ", ") + " back for " + rec.Action.Priority.String() + " actions",
		RequestedBy: sextant.SystemActor,
		RequestedAt: now,
		ExpiresAt:   now.Add(d.approvalTTL()),
	})
	if err != nil {
		return fmt.Errorf("request approval for %s: %w", rec.Action.ID, err)
	}
	if a.RequestedAt.Equal(now) {
		d.audit(ctx, sextant.SystemActor, "approval.request", a.ID, map[string]any{"action": rec.Action.ID, "kind": a.Kind, "destinations": held})
	}
	for name, dest := range d.Destinations {
		if dest.Chat != nil {
			if err := d.Store.QueueDelivery(ctx, rec.Action.ID, name, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// Decide records an approver's decision on an approval and, when it lets
// an action be ticketed (or, in remediate mode, remediated), queues its
// deliveries. An approver cannot decide on their own request.
func (d *Dispatcher) Decide(ctx context.Context, id string, status sextant.ApprovalStatus, actor, comment string) (sextant.Approval, error) {
	a, err := d.Store.Approval(ctx, id)
	if err != nil {
		return a, err
	}
	if a.RequestedBy == actor {
		return a, sextant.Errorf(EFORBIDDEN, "%s cannot decide on their own request %s", actor, id)
	}
	a, err = d.Store.DecideApproval(ctx, id, status, actor, comment, d.now())
	if err != nil {
		return a, err
	}
	d.audit(ctx, actor, "approval."+string(status), id, map[string]any{"action": a.ActionID, "kind": a.Kind, "comment": comment})
	// The chat messages show the decision; the tickets follow.
	if err := d.reconcileAction(ctx, a.ActionID, false); err != nil {
		return a, err
	}
	for name, dest := range d.Destinations {
		if dest.Chat != nil {
			if err := d.Store.QueueDelivery(ctx, a.ActionID, name, d.now()); err != nil {
				return a, err
			}
		}
	}
	return a, nil
}

// EFORBIDDEN is the code of a decision a person may not make (deciding on
// their own request). The HTTP layer answers it 403.
const EFORBIDDEN = "forbidden"

// RunDeliveries delivers due deliveries until ctx is done, on one loop per
// replica (destinations rate-limit; more parallelism buys little), letting
// the delivery in hand finish.
func (d *Dispatcher) RunDeliveries(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = time.Second
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		work := context.WithoutCancel(ctx)
		claimedAt := d.now()
		del, ok, err := d.Store.ClaimDelivery(work, claimedAt, d.lease(), d.openCircuits())
		if err != nil {
			d.log().Error("claim delivery", "err", err)
		}
		if ok {
			d.deliverOne(work, del, claimedAt)
			continue
		}
		timer.Reset(poll)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
	}
}

func (d *Dispatcher) lease() time.Duration {
	if d.Lease > 0 {
		return d.Lease
	}
	return 2 * time.Minute
}

func (d *Dispatcher) openCircuits() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	now := d.now()
	for name, b := range d.breakers {
		if now.Before(b.openUntil) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// outcome feeds a destination's circuit breaker.
func (d *Dispatcher) outcome(dest string, failed bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.breakers == nil {
		d.breakers = map[string]*breaker{}
	}
	b := d.breakers[dest]
	if b == nil {
		b = &breaker{}
		d.breakers[dest] = b
	}
	if !failed {
		b.failures = 0
		return
	}
	b.failures++
	threshold, cooldown := d.BreakerThreshold, d.BreakerCooldown
	if threshold <= 0 {
		threshold = 5
	}
	if cooldown <= 0 {
		cooldown = 30 * time.Second
	}
	if b.failures >= threshold {
		b.openUntil = d.now().Add(cooldown)
		d.log().Warn("destination failing: circuit open", "destination", dest, "failures", b.failures, "until", b.openUntil)
	}
}

// deliverOne brings one destination in step with one action.
func (d *Dispatcher) deliverOne(ctx context.Context, del sextant.Delivery, claimedAt time.Time) {
	if del.Destination == RemediateDestination && d.Remediator != nil {
		d.deliverRemediation(ctx, del, claimedAt)
		return
	}
	dest, ok := d.Destinations[del.Destination]
	if !ok {
		d.fail(ctx, del, sextant.Errorf(sextant.EINVALID, "destination %q is no longer configured", del.Destination))
		return
	}
	rec, err := d.Store.Action(ctx, del.ActionID)
	if err != nil {
		d.fail(ctx, del, err)
		return
	}
	content := sextant.TicketContent{Action: rec.Action, Status: rec.Status, Findings: rec.Findings, Owner: rec.Owner}
	if d.Summary != nil {
		content.Summary = d.Summary(ctx, rec)
	}
	if d.Link != nil {
		content.Link = d.Link(rec.Action.ID)
	}
	var op string
	if dest.Chat != nil {
		op, err = d.deliverChat(ctx, dest, &del, rec, content)
	} else {
		op, err = d.deliverTicket(ctx, dest, &del, rec, content)
	}
	if err != nil {
		d.outcome(del.Destination, true)
		d.fail(ctx, del, err)
		return
	}
	d.outcome(del.Destination, false)
	del.Delivered = rec.UpdatedAt
	if err := d.Store.CompleteDelivery(ctx, del, claimedAt); err != nil {
		d.log().Error("complete delivery", "action", del.ActionID, "destination", del.Destination, "err", err)
		return
	}
	if op != "" {
		d.log().Info("delivered", "action", del.ActionID, "destination", del.Destination, "operation", op, "ref", del.Ref.ExternalID, "mode", d.Mode)
	}
}

// observe records what would have been sent.
func (d *Dispatcher) observe(ctx context.Context, dest *Destination, del *sextant.Delivery, op string, c sextant.TicketContent, comment string) error {
	var payload []byte
	if dest.Preview != nil {
		b, err := dest.Preview(op, c, comment)
		if err != nil {
			return err
		}
		payload = b
	}
	// Previews name ticket operations; a chat post creates, an update
	// comments.
	pop := map[string]string{"post": "create", "update": "comment"}[op]
	if pop == "" {
		pop = op
	}
	p, err := d.Store.AddPreview(ctx, sextant.Preview{ActionID: del.ActionID, Destination: del.Destination, Operation: pop, Payload: payload, CreatedAt: d.now()})
	if err != nil {
		return err
	}
	d.audit(ctx, sextant.SystemActor, "ticket.preview", del.ActionID, map[string]any{"destination": del.Destination, "operation": op, "preview": p.ID})
	return nil
}

func (d *Dispatcher) deliverTicket(ctx context.Context, dest *Destination, del *sextant.Delivery, rec sextant.ActionRecord, c sextant.TicketContent) (string, error) {
	sink := dest.Tickets
	open := rec.Status == sextant.ActionOpen
	var op, comment string
	switch {
	case open && del.Ref.ExternalID == "":
		op = "create"
	case open && del.State == sextant.TicketClosed:
		op, comment = "reopen", fmt.Sprintf("Reopened by sextant: %s came back (%d findings, score %.1f, %s).", vulnWords(rec.Action.Vulnerabilities), rec.Findings, rec.Action.Score, rec.Action.Priority)
	case open:
		op, comment = "comment", updateComment(rec)
	case !open && del.Ref.ExternalID != "" && del.State != sextant.TicketClosed:
		op, comment = "close", fmt.Sprintf("Resolved: a newer complete scan no longer reports %s. Closed by sextant.", vulnWords(rec.Action.Vulnerabilities))
	default:
		return "", nil // resolved and never opened, or already closed
	}
	if d.Mode == sextant.ModeObserve {
		if err := d.observe(ctx, dest, del, op, c, comment); err != nil {
			return "", err
		}
		return "preview:" + op, nil
	}
	// Retries of this delivery of this version of the action share an
	// idempotency key; the next change gets another.
	ctx = sextant.WithDeliveryKey(ctx, fmt.Sprintf("%s/%s/%s/%d", del.Destination, rec.Action.ID, op, rec.UpdatedAt.UnixMicro()))
	switch op {
	case "create":
		// Look up before creating: a crash between the destination's
		// create and our record of it must not make a second ticket.
		ref, found, err := sink.Find(ctx, rec.Action.ID)
		if err != nil {
			return "", err
		}
		if !found {
			if ref, err = sink.Create(ctx, c); err != nil {
				return "", err
			}
		}
		del.Ref, del.State = ref, sextant.TicketOpen
		d.audit(ctx, sextant.SystemActor, "ticket.create", rec.Action.ID, map[string]any{"destination": del.Destination, "ref": ref.ExternalID, "url": ref.URL, "found_existing": found})
	case "reopen":
		if err := sink.Reopen(ctx, del.Ref, comment); err != nil {
			return "", err
		}
		del.State = sextant.TicketOpen
		d.audit(ctx, sextant.SystemActor, "ticket.reopen", rec.Action.ID, map[string]any{"destination": del.Destination, "ref": del.Ref.ExternalID})
	case "comment":
		if err := sink.Comment(ctx, del.Ref, c, comment); err != nil {
			return "", err
		}
		d.audit(ctx, sextant.SystemActor, "ticket.comment", rec.Action.ID, map[string]any{"destination": del.Destination, "ref": del.Ref.ExternalID})
	case "close":
		if err := sink.Close(ctx, del.Ref, comment); err != nil {
			return "", err
		}
		del.State = sextant.TicketClosed
		d.audit(ctx, sextant.SystemActor, "ticket.close", rec.Action.ID, map[string]any{"destination": del.Destination, "ref": del.Ref.ExternalID})
	}
	return op, nil
}

func (d *Dispatcher) deliverChat(ctx context.Context, dest *Destination, del *sextant.Delivery, rec sextant.ActionRecord, c sextant.TicketContent) (string, error) {
	msg := sextant.ChatMessage{Content: c, Text: fmt.Sprintf("%s %s (score %.1f)", rec.Action.Priority, rec.Action.Title, rec.Action.Score)}
	page, err := d.Store.Approvals(ctx, sextant.ApprovalFilter{ActionID: rec.Action.ID, Limit: 10})
	if err != nil {
		return "", err
	}
	for _, a := range page.Items {
		switch a.Status {
		case sextant.ApprovalPending:
			if msg.ApprovalID == "" {
				msg.ApprovalID = a.ID
				msg.Text = "Approval needed: " + msg.Text
			}
		case sextant.ApprovalApproved, sextant.ApprovalRejected:
			if msg.Decided == "" && msg.ApprovalID == "" {
				msg.Decided = fmt.Sprintf("%s by %s", a.Status, a.DecidedBy)
			}
		}
	}
	if rec.Status == sextant.ActionResolved {
		if del.Ref.ExternalID == "" {
			return "", nil
		}
		msg.Text = "Resolved: " + msg.Text
	}
	op := "post"
	if del.Ref.ExternalID != "" {
		op = "update"
	}
	if d.Mode == sextant.ModeObserve {
		if err := d.observe(ctx, dest, del, op, c, msg.Text); err != nil {
			return "", err
		}
		return "preview:" + op, nil
	}
	var ref sextant.TicketRef
	if op == "post" {
		ref, err = dest.Chat.Post(ctx, msg)
	} else {
		ref, err = dest.Chat.Update(ctx, del.Ref, msg)
	}
	if err != nil {
		return "", err
	}
	del.Ref, del.State = ref, sextant.TicketOpen
	if rec.Status == sextant.ActionResolved {
		del.State = sextant.TicketClosed
	}
	d.audit(ctx, sextant.SystemActor, "message."+op, rec.Action.ID, map[string]any{"destination": del.Destination, "ref": ref.ExternalID, "approval": msg.ApprovalID})
	return op, nil
}

// fail records a failed attempt: retried with backoff (at least what the
// destination asked for) while the error is transient and attempts remain,
// dead otherwise.
func (d *Dispatcher) fail(ctx context.Context, del sextant.Delivery, err error) {
	maxAttempts := d.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 8
	}
	code := sextant.ErrorCode(err)
	transient := code == sextant.ERATELIMITED || code == sextant.EUNAVAILABLE || code == sextant.EINTERNAL
	attempt := del.Attempts + 1
	dead := !transient || attempt >= maxAttempts
	wait := d.backoff(attempt)
	if ra := sextant.ErrorRetryAfter(err); ra > wait {
		wait = ra
	}
	next := d.now().Add(wait)
	msg := sextant.ErrorMessage(err)
	if code == sextant.EINTERNAL {
		msg = err.Error()
	}
	if ferr := d.Store.FailDelivery(ctx, del.ActionID, del.Destination, msg, next, dead); ferr != nil {
		d.log().Error("record delivery failure", "action", del.ActionID, "destination", del.Destination, "err", ferr)
		return
	}
	if dead {
		d.log().Warn("delivery dead-lettered", "action", del.ActionID, "destination", del.Destination, "attempts", attempt, "err", msg)
		d.audit(ctx, sextant.SystemActor, "delivery.dead", del.ActionID, map[string]any{"destination": del.Destination, "attempts": attempt, "error": msg})
		return
	}
	d.log().Warn("delivery failed; will retry", "action", del.ActionID, "destination", del.Destination, "attempt", attempt, "next", next, "err", msg)
}

func (d *Dispatcher) backoff(attempt int) time.Duration {
	base := d.Backoff
	if base <= 0 {
		base = 2 * time.Second
	}
	w := base
	for i := 1; i < attempt && w < time.Hour; i++ {
		w *= 2
	}
	w = min(w, time.Hour)
	return w + time.Duration(rand.Int64N(int64(w)/4+1))
}

func vulnWords(vulns []string) string {
	switch len(vulns) {
	case 0:
		return "its findings"
	case 1, 2, 3:
		return strings.Join(vulns, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(vulns[:3], ", "), len(vulns)-3)
}

// updateComment describes an action as a rescan left it.
func updateComment(rec sextant.ActionRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Updated by sextant after a rescan: %d finding(s) still open, score %.1f (%s).", rec.Findings, rec.Action.Score, rec.Action.Priority)
	if len(rec.Action.Vulnerabilities) > 0 {
		fmt.Fprintf(&b, " Still open: %s.", vulnWords(rec.Action.Vulnerabilities))
	}
	if rec.Action.TargetVersion != "" {
		fmt.Fprintf(&b, " Fix: upgrade %s to %s.", rec.Action.Package, rec.Action.TargetVersion)
	}
	return b.String()
}
