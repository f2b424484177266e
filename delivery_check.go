package sextant

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CheckDeliveryKey checks the action ID and destination that name a
// delivery in DeliveryStore's methods: neither may be blank. Errors are
// EINVALID.
func CheckDeliveryKey(actionID, destination string) error {
	if strings.TrimSpace(actionID) == "" {
		return Errorf(EINVALID, "a delivery needs an action ID")
	}
	if strings.TrimSpace(destination) == "" {
		return Errorf(EINVALID, "delivery of %q: no destination", actionID)
	}
	return nil
}

// CheckClaim checks the arguments of DeliveryStore.ClaimDelivery: a lease
// that is positive, so that a claim holds the delivery for some time.
// Errors are EINVALID.
func CheckClaim(lease time.Duration) error {
	if lease <= 0 {
		return Errorf(EINVALID, "claim delivery: lease %v is not positive", lease)
	}
	return nil
}

// DeliveryCursor is the position after which a page of deliveries sorted
// most recently updated first (UpdatedAt descending, then ActionID and
// Destination descending) continues.
type DeliveryCursor struct {
	UpdatedAt   time.Time
	ActionID    string
	Destination string
}

// String encodes the cursor as an opaque URL-safe token. UpdatedAt is kept
// to the microsecond, as the stores keep it.
func (c DeliveryCursor) String() string {
	// JSON, because a destination's name may hold any character.
	b, _ := json.Marshal(deliveryCursor{c.UpdatedAt.UnixMicro(), c.ActionID, c.Destination})
	return base64.RawURLEncoding.EncodeToString(b)
}

// deliveryCursor is the JSON inside a DeliveryCursor's token.
type deliveryCursor struct {
	UpdatedAt   int64  `json:"u"`
	ActionID    string `json:"a"`
	Destination string `json:"d"`
}

// ParseDeliveryCursor decodes a token made by DeliveryCursor.String, or
// returns an EINVALID error.
func ParseDeliveryCursor(token string) (DeliveryCursor, error) {
	bad := Errorf(EINVALID, "invalid page cursor %q", token)
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return DeliveryCursor{}, bad
	}
	var c deliveryCursor
	if err := json.Unmarshal(b, &c); err != nil || c.ActionID == "" || c.Destination == "" {
		return DeliveryCursor{}, bad
	}
	return DeliveryCursor{UpdatedAt: time.UnixMicro(c.UpdatedAt).UTC(), ActionID: c.ActionID, Destination: c.Destination}, nil
}

// CheckDeliveryFilter checks a filter as DeliveryStore.Deliveries requires
// and returns the page size to use (see PageLimit) and the position the
// page continues after, nil for the first page. Errors are EINVALID.
func CheckDeliveryFilter(filter DeliveryFilter) (limit int, after *DeliveryCursor, err error) {
	limit, err = PageLimit(filter.Limit)
	if err != nil {
		return 0, nil, err
	}
	if filter.Cursor != "" {
		c, err := ParseDeliveryCursor(filter.Cursor)
		if err != nil {
			return 0, nil, err
		}
		after = &c
	}
	return limit, after, nil
}

// NewDeliveryPage makes a page of at most limit deliveries from the
// deliveries a store read in page order, asking for limit+1 so as to know
// whether more follow. When there are more, Next continues after the last
// delivery kept.
func NewDeliveryPage(items []Delivery, limit int) Page[Delivery] {
	page := Page[Delivery]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		last := items[limit-1]
		page.Next = DeliveryCursor{UpdatedAt: last.UpdatedAt, ActionID: last.ActionID, Destination: last.Destination}.String()
	}
	return page
}

// previewOperations are the operations a Preview may record.
var previewOperations = []string{"create", "comment", "close", "reopen"}

// CheckPreview checks the argument of PreviewStore.AddPreview: an action,
// a destination, and an operation that is create, comment, close or
// reopen. The payload may be empty. Errors are EINVALID.
func CheckPreview(p Preview) error {
	if err := CheckDeliveryKey(p.ActionID, p.Destination); err != nil {
		return err
	}
	if !slices.Contains(previewOperations, p.Operation) {
		return Errorf(EINVALID, "preview of %q to %q: unknown operation %q: want create, comment, close or reopen",
			p.ActionID, p.Destination, p.Operation)
	}
	return nil
}

// CheckPreviewList checks the paging arguments of PreviewStore.Previews and
// returns the page size to use (see PageLimit) and the ID the page
// continues below, 0 for the first page. Errors are EINVALID.
func CheckPreviewList(limit int, cursor string) (int, int64, error) {
	limit, err := PageLimit(limit)
	if err != nil {
		return 0, 0, err
	}
	if cursor == "" {
		return limit, 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, 0, Errorf(EINVALID, "invalid page cursor %q", cursor)
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || id <= 0 {
		return 0, 0, Errorf(EINVALID, "invalid page cursor %q", cursor)
	}
	return limit, id, nil
}

// NewPreviewPage makes a page of at most limit previews from the previews a
// store read newest (highest ID) first, asking for limit+1 so as to know
// whether more follow. When there are more, Next continues below the ID of
// the last preview kept.
func NewPreviewPage(items []Preview, limit int) Page[Preview] {
	page := Page[Preview]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		id := strconv.FormatInt(items[limit-1].ID, 10)
		page.Next = base64.RawURLEncoding.EncodeToString([]byte(id))
	}
	return page
}

// approvalKinds are the kinds of approval requests.
var approvalKinds = []string{"ticket", "remediate"}

// Valid reports whether s is one of the four approval statuses.
func (s ApprovalStatus) Valid() bool {
	switch s {
	case ApprovalPending, ApprovalApproved, ApprovalRejected, ApprovalExpired:
		return true
	}
	return false
}

// Expired reports whether a is a pending request past its ExpiresAt at
// now: stores report such a request as expired.
func (a Approval) Expired(now time.Time) bool {
	return a.Status == ApprovalPending && now.After(a.ExpiresAt)
}

// CheckApproval checks the argument of ApprovalStore.RequestApproval, its
// RequestedAt already set: an action, a kind of "ticket" or "remediate", a
// requester, and an ExpiresAt not before RequestedAt (which a zero
// ExpiresAt is). Errors are EINVALID.
func CheckApproval(a Approval) error {
	switch {
	case strings.TrimSpace(a.ActionID) == "":
		return Errorf(EINVALID, "an approval request needs an action ID")
	case !slices.Contains(approvalKinds, a.Kind):
		return Errorf(EINVALID, "approval request for %q: unknown kind %q: want ticket or remediate", a.ActionID, a.Kind)
	case strings.TrimSpace(a.RequestedBy) == "":
		return Errorf(EINVALID, "approval request for %q: no requester", a.ActionID)
	case a.ExpiresAt.Before(a.RequestedAt):
		return Errorf(EINVALID, "approval request for %q: expires at %v, before it is requested at %v",
			a.ActionID, a.ExpiresAt, a.RequestedAt)
	}
	return nil
}

// CheckDecision checks the arguments of ApprovalStore.DecideApproval: an
// ID, a status of approved or rejected, and an actor that is not blank.
// Errors are EINVALID.
func CheckDecision(id string, status ApprovalStatus, actor string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return Errorf(EINVALID, "decide approval: no approval ID")
	case status != ApprovalApproved && status != ApprovalRejected:
		return Errorf(EINVALID, "decide approval %q: status %q is not a decision: want approved or rejected", id, status)
	case strings.TrimSpace(actor) == "":
		return Errorf(EINVALID, "decide approval %q: no actor", id)
	}
	return nil
}

// CheckDecidable checks that a request, as stored, can be decided at now:
// one already approved or rejected is ECONFLICT; one expired (stored so, or
// pending past its ExpiresAt) is EINVALID.
func CheckDecidable(a Approval, now time.Time) error {
	switch {
	case a.Status == ApprovalExpired || a.Expired(now):
		return Errorf(EINVALID, "approval %q expired at %s", a.ID, a.ExpiresAt.Format(time.RFC3339))
	case a.Status != ApprovalPending:
		return Errorf(ECONFLICT, "approval %q is already %s by %s", a.ID, a.Status, a.DecidedBy)
	}
	return nil
}

// ApprovalCursor is the position after which a page of approvals sorted
// newest first (RequestedAt descending, then ID descending) continues.
type ApprovalCursor struct {
	RequestedAt time.Time
	ID          string
}

// String encodes the cursor as an opaque URL-safe token. RequestedAt is
// kept to the microsecond, as the stores keep it.
func (c ApprovalCursor) String() string {
	return IngestCursor{ReceivedAt: c.RequestedAt, ID: c.ID}.String()
}

// ParseApprovalCursor decodes a token made by ApprovalCursor.String, or
// returns an EINVALID error.
func ParseApprovalCursor(token string) (ApprovalCursor, error) {
	// The same encoding as ingests': a time to the microsecond and an ID.
	c, err := ParseIngestCursor(token)
	return ApprovalCursor{RequestedAt: c.ReceivedAt, ID: c.ID}, err
}

// CheckApprovalFilter checks a filter as ApprovalStore.Approvals requires
// and returns the page size to use (see PageLimit) and the position the
// page continues after, nil for the first page. Errors are EINVALID.
func CheckApprovalFilter(filter ApprovalFilter) (limit int, after *ApprovalCursor, err error) {
	limit, err = PageLimit(filter.Limit)
	if err != nil {
		return 0, nil, err
	}
	if filter.Status != "" && !filter.Status.Valid() {
		return 0, nil, Errorf(EINVALID, "unknown approval status %q", filter.Status)
	}
	if filter.Cursor != "" {
		c, err := ParseApprovalCursor(filter.Cursor)
		if err != nil {
			return 0, nil, err
		}
		after = &c
	}
	return limit, after, nil
}

// NewApprovalPage makes a page of at most limit approvals from the
// approvals a store read in page order, asking for limit+1 so as to know
// whether more follow. When there are more, Next continues after the last
// approval kept.
func NewApprovalPage(items []Approval, limit int) Page[Approval] {
	page := Page[Approval]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		last := items[limit-1]
		page.Next = ApprovalCursor{RequestedAt: last.RequestedAt, ID: last.ID}.String()
	}
	return page
}

// MTTRKey is the group of one MTTR row.
type MTTRKey struct {
	Priority Priority
	Owner    string
}

// NewMTTRs makes the rows of ActionStats.MTTR from the number of open
// actions and the times to resolve (FirstSeen → ResolvedAt) of the actions
// resolved in the window, by group: one row per group with either, sorted
// by priority then owner. The mean is exact to the nanosecond (rounded
// down); the median of an even number of times is the mean of the middle
// two.
func NewMTTRs(open map[MTTRKey]int, resolved map[MTTRKey][]time.Duration) []MTTR {
	var keys []MTTRKey
	for k, n := range open {
		if n > 0 {
			keys = append(keys, k)
		}
	}
	for k, ds := range resolved {
		if open[k] == 0 && len(ds) > 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b MTTRKey) int {
		if a.Priority != b.Priority {
			return int(a.Priority) - int(b.Priority)
		}
		return strings.Compare(a.Owner, b.Owner)
	})
	out := make([]MTTR, 0, len(keys))
	for _, k := range keys {
		ds := slices.Clone(resolved[k])
		row := MTTR{Priority: k.Priority, Owner: k.Owner, Resolved: len(ds), Open: open[k]}
		if n := len(ds); n > 0 {
			slices.Sort(ds)
			// Sum the quotients and the remainders apart, so that many
			// long times do not overflow.
			var q, r time.Duration
			for _, d := range ds {
				q += d / time.Duration(n)
				r += d % time.Duration(n)
			}
			row.Mean = q + r/time.Duration(n)
			row.Median = ds[n/2]
			if n%2 == 0 {
				row.Median = ds[n/2-1] + (ds[n/2]-ds[n/2-1])/2
			}
		}
		out = append(out, row)
	}
	return out
}
