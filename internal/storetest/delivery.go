package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

// DeliveryStore is what RunDeliveries tests: the outbox and observe mode's
// previews.
type DeliveryStore interface {
	sextant.DeliveryStore
	sextant.PreviewStore
}

// Opener opens n stores on one new, empty database for one test, as n
// replicas or processes would share it, each with its Now set to now; it
// closes them in a t.Cleanup.
type Opener[S any] func(t *testing.T, n int, now func() time.Time) []S

// RunDeliveries runs the conformance suite of sextant.DeliveryStore and
// sextant.PreviewStore.
func RunDeliveries(t *testing.T, open Opener[DeliveryStore]) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s DeliveryStore, c *clock)
	}{
		{"Lifecycle", testDeliveryLifecycle},
		{"QueueKeepsEarlierDueTime", testDeliveryQueueAgain},
		{"QueuedAgainDuringClaim", testDeliveryRequeueDuringClaim},
		{"Lease", testDeliveryLease},
		{"StaleCompletion", testDeliveryStaleCompletion},
		{"FailDeadRevive", testDeliveryFailDead},
		{"ClaimOrderAndSkip", testDeliveryClaimOrder},
		{"Invalid", testDeliveryInvalid},
		{"ListFilters", testDeliveryFilters},
		{"ListPagination", testDeliveryPagination},
		{"Previews", testPreviews},
		{"PreviewPagination", testPreviewPagination},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock(t0)
			tt.fn(t, open(t, 1, c.Now)[0], c)
		})
	}
	t.Run("ConcurrentClaimsOnTwoStores", func(t *testing.T) {
		c := newClock(t0)
		stores := open(t, 2, c.Now)
		if len(stores) != 2 {
			t.Fatalf("open(2) returned %d stores, want 2", len(stores))
		}
		testDeliveryReplicaClaims(t, stores)
	})
}

// clock is a Now func that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(now time.Time) *clock { return &clock{now: now} }

// Now returns the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to now.
func (c *clock) Set(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = now
}

const (
	jira  = "jira"
	slack = "slack"
)

func queue(t *testing.T, s sextant.DeliveryStore, actionID, destination string, minutes int) {
	t.Helper()
	if err := s.QueueDelivery(context.Background(), actionID, destination, at(minutes)); err != nil {
		t.Fatalf("QueueDelivery(%q, %q, at(%d)) error: %v", actionID, destination, minutes, err)
	}
}

func claimDelivery(t *testing.T, s sextant.DeliveryStore, minutes int, lease time.Duration, skip ...string) (sextant.Delivery, bool) {
	t.Helper()
	d, ok, err := s.ClaimDelivery(context.Background(), at(minutes), lease, skip)
	if err != nil {
		t.Fatalf("ClaimDelivery(at(%d), %v, %q) error: %v", minutes, lease, skip, err)
	}
	return d, ok
}

// wantClaim claims at minutes and fails unless it gets the delivery of
// actionID to destination.
func wantClaim(t *testing.T, s sextant.DeliveryStore, minutes int, lease time.Duration, actionID, destination string, skip ...string) sextant.Delivery {
	t.Helper()
	d, ok := claimDelivery(t, s, minutes, lease, skip...)
	if !ok || d.ActionID != actionID || d.Destination != destination {
		t.Fatalf("ClaimDelivery(at(%d), skip %q) = %s/%s, %v; want %s/%s", minutes, skip, d.ActionID, d.Destination, ok, actionID, destination)
	}
	return d
}

// wantNoClaim fails if a claim at minutes gets anything.
func wantNoClaim(t *testing.T, s sextant.DeliveryStore, minutes int, why string, skip ...string) {
	t.Helper()
	if d, ok := claimDelivery(t, s, minutes, time.Minute, skip...); ok {
		t.Fatalf("ClaimDelivery(at(%d), skip %q) = %s/%s; want none: %s", minutes, skip, d.ActionID, d.Destination, why)
	}
}

func getDelivery(t *testing.T, s sextant.DeliveryStore, actionID, destination string) sextant.Delivery {
	t.Helper()
	d, err := s.Delivery(context.Background(), actionID, destination)
	if err != nil {
		t.Fatalf("Delivery(%q, %q) error: %v", actionID, destination, err)
	}
	return d
}

func complete(t *testing.T, s sextant.DeliveryStore, d sextant.Delivery, claimedMinutes int) {
	t.Helper()
	if err := s.CompleteDelivery(context.Background(), d, at(claimedMinutes)); err != nil {
		t.Fatalf("CompleteDelivery(%s/%s) error: %v", d.ActionID, d.Destination, err)
	}
}

func fail(t *testing.T, s sextant.DeliveryStore, actionID, destination, errText string, nextMinutes int, dead bool) {
	t.Helper()
	if err := s.FailDelivery(context.Background(), actionID, destination, errText, at(nextMinutes), dead); err != nil {
		t.Fatalf("FailDelivery(%q, %q) error: %v", actionID, destination, err)
	}
}

func wantDelivery(t *testing.T, step string, want, got sextant.Delivery) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: Delivery (-want +got):\n%s", step, diff)
	}
}

func testDeliveryLifecycle(t *testing.T, s DeliveryStore, c *clock) {
	ctx := context.Background()
	queue(t, s, "act_1", jira, 0)
	want := sextant.Delivery{ActionID: "act_1", Destination: jira, Pending: true, NextAttemptAt: at(0), CreatedAt: t0, UpdatedAt: t0}
	wantDelivery(t, "queued", want, getDelivery(t, s, "act_1", jira))

	wantNoClaim(t, s, -1, "the delivery is due at at(0)")
	c.Set(at(1))
	d := wantClaim(t, s, 1, 5*time.Minute, "act_1", jira)
	wantDelivery(t, "claimed", want, d)
	wantNoClaim(t, s, 2, "the delivery is leased until at(6)")

	c.Set(at(2))
	d.Ref = sextant.TicketRef{ExternalID: "SEC-1", URL: "https://jira.example/browse/SEC-1"}
	d.State, d.Delivered = sextant.TicketOpen, at(-30)
	complete(t, s, d, 1)
	want = sextant.Delivery{ActionID: "act_1", Destination: jira, Ref: d.Ref, State: sextant.TicketOpen, Delivered: at(-30),
		CreatedAt: t0, UpdatedAt: at(2)}
	wantDelivery(t, "completed", want, getDelivery(t, s, "act_1", jira))
	wantNoClaim(t, s, 100, "the delivery was completed")

	// The action changes: queued again, with its ticket kept.
	c.Set(at(20))
	queue(t, s, "act_1", jira, 20)
	want.Pending, want.NextAttemptAt, want.UpdatedAt = true, at(20), at(20)
	wantDelivery(t, "queued again", want, getDelivery(t, s, "act_1", jira))
	d = wantClaim(t, s, 21, time.Minute, "act_1", jira)
	if d.Ref != want.Ref {
		t.Errorf("claimed delivery Ref = %+v, want %+v as last delivered", d.Ref, want.Ref)
	}
	d.State, d.Delivered = sextant.TicketClosed, at(19)
	c.Set(at(22))
	complete(t, s, d, 21)
	want.Pending, want.NextAttemptAt, want.State, want.Delivered, want.UpdatedAt = false, time.Time{}, sextant.TicketClosed, at(19), at(22)
	wantDelivery(t, "completed again", want, getDelivery(t, s, "act_1", jira))

	_, err := s.Delivery(ctx, "act_1", slack)
	wantCode(t, `Delivery("act_1", "slack")`, err, sextant.ENOTFOUND)
	err = s.CompleteDelivery(ctx, sextant.Delivery{ActionID: "act_nope", Destination: jira}, at(0))
	wantCode(t, "CompleteDelivery of an unknown delivery", err, sextant.ENOTFOUND)
	err = s.FailDelivery(ctx, "act_nope", jira, "boom", at(1), false)
	wantCode(t, "FailDelivery of an unknown delivery", err, sextant.ENOTFOUND)
}

func testDeliveryQueueAgain(t *testing.T, s DeliveryStore, c *clock) {
	queue(t, s, "act_1", jira, 10)
	for _, tc := range []struct {
		queuedAt, want int
	}{
		{20, 10}, // a later time does not put it off
		{5, 5},   // an earlier one brings it forward
		{5, 5},
	} {
		queue(t, s, "act_1", jira, tc.queuedAt)
		if got := getDelivery(t, s, "act_1", jira).NextAttemptAt; !got.Equal(at(tc.want)) {
			t.Errorf("NextAttemptAt after queuing again at at(%d) = %v, want at(%d) %v", tc.queuedAt, got, tc.want, at(tc.want))
		}
	}
	wantNoClaim(t, s, 4, "the delivery is due at at(5)")
	wantClaim(t, s, 5, time.Minute, "act_1", jira)
}

func testDeliveryRequeueDuringClaim(t *testing.T, s DeliveryStore, c *clock) {
	queue(t, s, "act_1", jira, 0)
	d := wantClaim(t, s, 1, time.Hour, "act_1", jira)
	// The action changes while the delivery is under way.
	c.Set(at(2))
	queue(t, s, "act_1", jira, 2)
	d.Ref, d.Delivered = sextant.TicketRef{ExternalID: "SEC-1"}, at(0)
	complete(t, s, d, 1)
	got := getDelivery(t, s, "act_1", jira)
	if !got.Pending || got.Ref != d.Ref || !got.Delivered.Equal(at(0)) {
		t.Errorf("Delivery after completing a claim queued again during it = %+v; want still pending, with SEC-1 delivered at at(0)", got)
	}
	// Completion ends the lease: the delivery is due again now.
	d = wantClaim(t, s, 3, time.Hour, "act_1", jira)
	d.Delivered = at(2)
	complete(t, s, d, 3)
	if got := getDelivery(t, s, "act_1", jira); got.Pending {
		t.Errorf("Delivery after completing the second claim = %+v; want not pending", got)
	}
}

func testDeliveryLease(t *testing.T, s DeliveryStore, c *clock) {
	queue(t, s, "act_1", jira, 0)
	wantClaim(t, s, 0, 10*time.Minute, "act_1", jira)
	wantNoClaim(t, s, 9, "the lease runs until at(10)")
	// The worker died: the lease passes and another claims it.
	d := wantClaim(t, s, 10, 10*time.Minute, "act_1", jira)
	wantNoClaim(t, s, 19, "the second lease runs until at(20)")
	complete(t, s, d, 10)
	if got := getDelivery(t, s, "act_1", jira); got.Pending {
		t.Errorf("Delivery after the second claim completed = %+v; want not pending", got)
	}
}

func testDeliveryStaleCompletion(t *testing.T, s DeliveryStore, c *clock) {
	queue(t, s, "act_1", jira, 0)
	slow := wantClaim(t, s, 0, time.Minute, "act_1", jira)
	fast := wantClaim(t, s, 5, time.Hour, "act_1", jira)
	// The first claimer finishes late, after its lease: what reached the
	// destination last is unknown, so the delivery stays due, and the
	// second claim keeps its lease.
	slow.Ref = sextant.TicketRef{ExternalID: "SEC-1"}
	complete(t, s, slow, 0)
	if got := getDelivery(t, s, "act_1", jira); !got.Pending || got.Ref != slow.Ref {
		t.Errorf("Delivery after a completion of an overtaken claim = %+v; want pending, Ref SEC-1", got)
	}
	wantNoClaim(t, s, 6, "the second claim's lease runs until at(65)")
	fast.Ref = sextant.TicketRef{ExternalID: "SEC-1"}
	complete(t, s, fast, 5)
	if got := getDelivery(t, s, "act_1", jira); got.Pending {
		t.Errorf("Delivery after the current claim completed = %+v; want not pending", got)
	}
}

func testDeliveryFailDead(t *testing.T, s DeliveryStore, c *clock) {
	queue(t, s, "act_1", jira, 0)
	wantClaim(t, s, 0, time.Hour, "act_1", jira)
	c.Set(at(1))
	fail(t, s, "act_1", jira, "jira: 503 Service Unavailable", 5, false)
	want := sextant.Delivery{ActionID: "act_1", Destination: jira, Pending: true, Attempts: 1, NextAttemptAt: at(5),
		LastError: "jira: 503 Service Unavailable", CreatedAt: t0, UpdatedAt: at(1)}
	wantDelivery(t, "failed", want, getDelivery(t, s, "act_1", jira))
	// A failure ends the lease; the next attempt waits for its time.
	wantNoClaim(t, s, 4, "the next attempt is at at(5)")
	wantClaim(t, s, 5, time.Hour, "act_1", jira)
	c.Set(at(6))
	fail(t, s, "act_1", jira, "jira: 400 field 'priority' is invalid", 1000, true)
	want.Attempts, want.NextAttemptAt, want.LastError, want.Dead, want.UpdatedAt = 2, time.Time{}, "jira: 400 field 'priority' is invalid", true, at(6)
	wantDelivery(t, "dead", want, getDelivery(t, s, "act_1", jira))
	wantNoClaim(t, s, 2000, "the delivery is dead")
	dead := true
	page, err := s.Deliveries(context.Background(), sextant.DeliveryFilter{Dead: &dead})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]sextant.Delivery{want}, page.Items); diff != "" {
		t.Errorf("Deliveries(dead) (-want +got):\n%s", diff)
	}

	// Queued again (the action changed, or a person asked): revived.
	c.Set(at(30))
	queue(t, s, "act_1", jira, 30)
	want = sextant.Delivery{ActionID: "act_1", Destination: jira, Pending: true, NextAttemptAt: at(30), CreatedAt: t0, UpdatedAt: at(30)}
	wantDelivery(t, "revived", want, getDelivery(t, s, "act_1", jira))
	d := wantClaim(t, s, 30, time.Hour, "act_1", jira)
	fail(t, s, "act_1", jira, "timeout", 31, false)
	d = wantClaim(t, s, 31, time.Hour, "act_1", jira)
	d.Ref = sextant.TicketRef{ExternalID: "SEC-9"}
	c.Set(at(32))
	complete(t, s, d, 31)
	want = sextant.Delivery{ActionID: "act_1", Destination: jira, Ref: d.Ref, CreatedAt: t0, UpdatedAt: at(32)}
	wantDelivery(t, "completed after a failure", want, getDelivery(t, s, "act_1", jira))
}

func testDeliveryClaimOrder(t *testing.T, s DeliveryStore, c *clock) {
	queue(t, s, "act_1", jira, 3)
	queue(t, s, "act_2", slack, 1)
	queue(t, s, "act_3", jira, 2)
	queue(t, s, "act_4", "servicenow", 50)
	wantClaim(t, s, 10, time.Hour, "act_3", jira, slack)
	wantClaim(t, s, 10, time.Hour, "act_2", slack, jira)
	wantNoClaim(t, s, 10, "jira is skipped and the rest is leased or not due", jira)
	wantNoClaim(t, s, 10, "jira and slack are skipped", jira, slack, "servicenow")
	wantClaim(t, s, 10, time.Hour, "act_1", jira)
	wantNoClaim(t, s, 10, "all due deliveries are leased")
	wantClaim(t, s, 50, time.Hour, "act_4", "servicenow")
}

func testDeliveryInvalid(t *testing.T, s DeliveryStore, c *clock) {
	ctx := context.Background()
	for _, tc := range []struct{ action, destination string }{{"", jira}, {" ", jira}, {"act_1", ""}, {"act_1", "  "}} {
		err := s.QueueDelivery(ctx, tc.action, tc.destination, at(0))
		wantCode(t, fmt.Sprintf("QueueDelivery(%q, %q)", tc.action, tc.destination), err, sextant.EINVALID)
		err = s.FailDelivery(ctx, tc.action, tc.destination, "x", at(0), false)
		wantCode(t, fmt.Sprintf("FailDelivery(%q, %q)", tc.action, tc.destination), err, sextant.EINVALID)
		err = s.CompleteDelivery(ctx, sextant.Delivery{ActionID: tc.action, Destination: tc.destination}, at(0))
		wantCode(t, fmt.Sprintf("CompleteDelivery(%q, %q)", tc.action, tc.destination), err, sextant.EINVALID)
	}
	for _, lease := range []time.Duration{0, -time.Second} {
		_, _, err := s.ClaimDelivery(ctx, at(0), lease, nil)
		wantCode(t, fmt.Sprintf("ClaimDelivery with lease %v", lease), err, sextant.EINVALID)
	}
	for _, tc := range []struct {
		name   string
		filter sextant.DeliveryFilter
	}{
		{"limit -1", sextant.DeliveryFilter{Limit: -1}},
		{"a bad cursor", sextant.DeliveryFilter{Cursor: "not a cursor!"}},
		{"another listing's cursor", sextant.DeliveryFilter{Cursor: sextant.IngestCursor{ReceivedAt: t0, ID: "x"}.String()}},
	} {
		_, err := s.Deliveries(ctx, tc.filter)
		wantCode(t, "Deliveries with "+tc.name, err, sextant.EINVALID)
	}
	for _, p := range []sextant.Preview{
		{Destination: jira, Operation: "create"},
		{ActionID: "act_1", Operation: "create"},
		{ActionID: "act_1", Destination: jira},
		{ActionID: "act_1", Destination: jira, Operation: "delete"},
	} {
		_, err := s.AddPreview(ctx, p)
		wantCode(t, fmt.Sprintf("AddPreview(%+v)", p), err, sextant.EINVALID)
	}
	for _, tc := range []struct {
		limit  int
		cursor string
	}{{-1, ""}, {0, "not a cursor!"}, {0, "MA"}} {
		_, err := s.Previews(ctx, "", "", tc.limit, tc.cursor)
		wantCode(t, fmt.Sprintf("Previews(limit %d, cursor %q)", tc.limit, tc.cursor), err, sextant.EINVALID)
	}
}

// allDeliveries lists every delivery matching filter, walking every page.
func allDeliveries(t *testing.T, s sextant.DeliveryStore, filter sextant.DeliveryFilter) []sextant.Delivery {
	t.Helper()
	var out []sextant.Delivery
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("Deliveries: more than 10000 pages; the cursor does not advance")
		}
		page, err := s.Deliveries(context.Background(), filter)
		if err != nil {
			t.Fatalf("Deliveries(%+v) error: %v", filter, err)
		}
		if filter.Limit > 0 && (len(page.Items) > filter.Limit || page.Next != "" && len(page.Items) != filter.Limit) {
			t.Errorf("Deliveries(limit %d) returned a page of %d items, next %q", filter.Limit, len(page.Items), page.Next)
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out
		}
		filter.Cursor = page.Next
	}
}

func deliveryKeys(ds []sextant.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.ActionID+"/"+d.Destination)
	}
	return out
}

func testDeliveryFilters(t *testing.T, s DeliveryStore, c *clock) {
	// Updated at at(1) .. at(4), in this order.
	c.Set(at(1))
	queue(t, s, "act_1", jira, 0)
	c.Set(at(2))
	queue(t, s, "act_1", slack, 0)
	c.Set(at(3))
	queue(t, s, "act_2", jira, 0)
	d := wantClaim(t, s, 0, time.Hour, "act_1", jira)
	c.Set(at(4))
	complete(t, s, d, 0)
	c.Set(at(5))
	wantClaim(t, s, 0, time.Hour, "act_1", slack)
	fail(t, s, "act_1", slack, "invalid_auth", 0, true)
	yes, no := true, false
	for _, tc := range []struct {
		name   string
		filter sextant.DeliveryFilter
		want   []string
	}{
		{"all", sextant.DeliveryFilter{}, []string{"act_1/slack", "act_1/jira", "act_2/jira"}},
		{"destination", sextant.DeliveryFilter{Destination: jira}, []string{"act_1/jira", "act_2/jira"}},
		{"action", sextant.DeliveryFilter{ActionID: "act_1"}, []string{"act_1/slack", "act_1/jira"}},
		{"dead", sextant.DeliveryFilter{Dead: &yes}, []string{"act_1/slack"}},
		{"alive", sextant.DeliveryFilter{Dead: &no}, []string{"act_1/jira", "act_2/jira"}},
		{"pending", sextant.DeliveryFilter{Pending: &yes}, []string{"act_1/slack", "act_2/jira"}},
		{"done", sextant.DeliveryFilter{Pending: &no}, []string{"act_1/jira"}},
		{"pending and alive", sextant.DeliveryFilter{Pending: &yes, Dead: &no}, []string{"act_2/jira"}},
		{"combined", sextant.DeliveryFilter{ActionID: "act_1", Destination: jira, Pending: &no}, []string{"act_1/jira"}},
		{"none", sextant.DeliveryFilter{Destination: "teams"}, nil},
	} {
		if diff := cmp.Diff(tc.want, deliveryKeys(allDeliveries(t, s, tc.filter)), equateEmpty); diff != "" {
			t.Errorf("Deliveries(%s), most recently updated first (-want +got):\n%s", tc.name, diff)
		}
	}
}

func testDeliveryPagination(t *testing.T, s DeliveryStore, c *clock) {
	for i := range 23 {
		// Several deliveries per update time, so that the order by action
		// and destination within a time is exercised.
		c.Set(at(i / 4))
		queue(t, s, fmt.Sprintf("act_%02d", i*7%23), []string{jira, slack, "teams"}[i%3], 0)
	}
	all := allDeliveries(t, s, sextant.DeliveryFilter{Limit: 1000})
	if len(all) != 23 {
		t.Fatalf("Deliveries() returned %d deliveries, want 23", len(all))
	}
	sorted := slices.IsSortedFunc(all, func(a, b sextant.Delivery) int {
		if n := b.UpdatedAt.Compare(a.UpdatedAt); n != 0 {
			return n
		}
		if n := strings.Compare(b.ActionID, a.ActionID); n != 0 {
			return n
		}
		return strings.Compare(b.Destination, a.Destination)
	})
	if !sorted {
		t.Errorf("Deliveries() = %v; want most recently updated first, then by action and destination descending", deliveryKeys(all))
	}
	want := deliveryKeys(all)
	for _, limit := range []int{1, 4, 5, 23, 100} {
		got := deliveryKeys(allDeliveries(t, s, sextant.DeliveryFilter{Limit: limit}))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("deliveries paged by %d, in order (-want +got):\n%s", limit, diff)
		}
	}
}

func testDeliveryReplicaClaims(t *testing.T, stores []DeliveryStore) {
	ctx := context.Background()
	const deliveries, workersPerStore = 40, 3
	for i := range deliveries {
		queue(t, stores[i%2], fmt.Sprintf("act_%02d", i/2), []string{jira, slack}[i%2], i%10)
	}
	var (
		mu      sync.Mutex
		claimed = map[string]int{}
		wg      sync.WaitGroup
		errs    = make(chan error, len(stores)*workersPerStore)
	)
	for _, s := range stores {
		for range workersPerStore {
			wg.Go(func() {
				for {
					d, ok, err := s.ClaimDelivery(ctx, at(100), time.Hour, nil)
					if err != nil {
						errs <- fmt.Errorf("ClaimDelivery: %w", err)
						return
					}
					if !ok {
						return
					}
					mu.Lock()
					claimed[d.ActionID+"/"+d.Destination]++
					mu.Unlock()
					d.Ref = sextant.TicketRef{ExternalID: "T-" + d.ActionID}
					if err := s.CompleteDelivery(ctx, d, at(100)); err != nil {
						errs <- fmt.Errorf("CompleteDelivery(%s/%s): %w", d.ActionID, d.Destination, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := map[string]int{}
	for i := range deliveries {
		want[fmt.Sprintf("act_%02d/%s", i/2, []string{jira, slack}[i%2])] = 1
	}
	if diff := cmp.Diff(want, claimed); diff != "" {
		t.Errorf("times each delivery was claimed by %d workers on %d stores (-want +got):\n%s", workersPerStore*len(stores), len(stores), diff)
	}
	yes := true
	if left := allDeliveries(t, stores[1], sextant.DeliveryFilter{Pending: &yes}); len(left) != 0 {
		t.Errorf("pending deliveries after the workers drained the outbox: %v, want none", deliveryKeys(left))
	}
}

func addPreview(t *testing.T, s sextant.PreviewStore, p sextant.Preview) sextant.Preview {
	t.Helper()
	got, err := s.AddPreview(context.Background(), p)
	if err != nil {
		t.Fatalf("AddPreview(%s/%s %s) error: %v", p.ActionID, p.Destination, p.Operation, err)
	}
	return got
}

func previews(t *testing.T, s sextant.PreviewStore, actionID, destination string, limit int) []sextant.Preview {
	t.Helper()
	var (
		out    []sextant.Preview
		cursor string
	)
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("Previews: more than 10000 pages; the cursor does not advance")
		}
		page, err := s.Previews(context.Background(), actionID, destination, limit, cursor)
		if err != nil {
			t.Fatalf("Previews(%q, %q, %d, %q) error: %v", actionID, destination, limit, cursor, err)
		}
		if limit > 0 && (len(page.Items) > limit || page.Next != "" && len(page.Items) != limit) {
			t.Errorf("Previews(limit %d) returned a page of %d items, next %q", limit, len(page.Items), page.Next)
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
}

func testPreviews(t *testing.T, s DeliveryStore, c *clock) {
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	c.Set(at(1))
	p1 := addPreview(t, s, sextant.Preview{ActionID: "act_1", Destination: jira, Operation: "create",
		Payload: []byte(`{"fields":{"summary":"Upgrade openssl — \"now\"","labels":["sextant-1"]}}`)})
	c.Set(at(2))
	p2 := addPreview(t, s, sextant.Preview{ActionID: "act_1", Destination: slack, Operation: "create", Payload: binary})
	p3 := addPreview(t, s, sextant.Preview{ActionID: "act_2", Destination: jira, Operation: "comment",
		Payload: []byte("line one\r\nline two\x00"), CreatedAt: at(10).Add(123456789 * time.Nanosecond)})
	p4 := addPreview(t, s, sextant.Preview{ActionID: "act_1", Destination: jira, Operation: "close"})

	if p1.ID <= 0 || p2.ID <= p1.ID || p3.ID <= p2.ID || p4.ID <= p3.ID {
		t.Errorf("AddPreview IDs = %d, %d, %d, %d; want positive and increasing", p1.ID, p2.ID, p3.ID, p4.ID)
	}
	if !p1.CreatedAt.Equal(at(1)) || !p3.CreatedAt.Equal(at(10).Add(123456*time.Microsecond)) {
		t.Errorf("AddPreview CreatedAt = %v, %v; want the store's time at(1) and the given time to the microsecond", p1.CreatedAt, p3.CreatedAt)
	}
	opts := cmp.Options{equateEmpty}
	for _, tc := range []struct {
		name, action, destination string
		want                      []sextant.Preview
	}{
		{"all", "", "", []sextant.Preview{p4, p3, p2, p1}},
		{"of an action", "act_1", "", []sextant.Preview{p4, p2, p1}},
		{"to a destination", "", jira, []sextant.Preview{p4, p3, p1}},
		{"of an action to a destination", "act_1", jira, []sextant.Preview{p4, p1}},
		{"none", "act_9", "", nil},
	} {
		if diff := cmp.Diff(tc.want, previews(t, s, tc.action, tc.destination, 0), opts); diff != "" {
			t.Errorf("Previews(%s), newest first (-want +got):\n%s", tc.name, diff)
		}
	}
	got := previews(t, s, "act_1", slack, 0)
	if len(got) != 1 || string(got[0].Payload) != string(binary) {
		t.Errorf("Previews(act_1, slack) = %+v; want the one preview with its 256 bytes back unchanged", got)
	}
}

func testPreviewPagination(t *testing.T, s DeliveryStore, c *clock) {
	var want []int64
	for i := range 11 {
		p := addPreview(t, s, sextant.Preview{ActionID: fmt.Sprintf("act_%d", i%3), Destination: jira, Operation: "comment",
			Payload: []byte{byte(i)}})
		want = append([]int64{p.ID}, want...)
	}
	for _, limit := range []int{1, 3, 11, 50} {
		var got []int64
		for _, p := range previews(t, s, "", "", limit) {
			got = append(got, p.ID)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("preview IDs paged by %d (-want +got):\n%s", limit, diff)
		}
	}
}
