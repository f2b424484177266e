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

// ApprovalStore is what RunApprovals tests: approval requests, and the
// action statistics, read from actions set through the ActionStore.
type ApprovalStore interface {
	sextant.ApprovalStore
	sextant.ActionStats
	sextant.ActionStore
}

// RunApprovals runs the conformance suite of sextant.ApprovalStore and
// sextant.ActionStats.
func RunApprovals(t *testing.T, open Opener[ApprovalStore]) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ApprovalStore, c *clock)
	}{
		{"RequestAndDecide", testApprovalDecide},
		{"Expiry", testApprovalExpiry},
		{"Invalid", testApprovalInvalid},
		{"ListFilters", testApprovalFilters},
		{"ListPagination", testApprovalPagination},
		{"MTTR", testMTTR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock(t0)
			tt.fn(t, open(t, 1, c.Now)[0], c)
		})
	}
	t.Run("ConcurrentRequestsOnTwoStores", func(t *testing.T) {
		c := newClock(t0)
		stores := open(t, 2, c.Now)
		if len(stores) != 2 {
			t.Fatalf("open(2) returned %d stores, want 2", len(stores))
		}
		testApprovalConcurrentRequests(t, stores)
	})
}

// request returns an approval request of kind for actionID, made by
// sextant at the store's time, expiring at at(expires).
func request(actionID, kind string, expires int) sextant.Approval {
	return sextant.Approval{ActionID: actionID, Kind: kind, Reason: "P0 on an internet-facing image: policy holds it for review",
		RequestedBy: sextant.SystemActor, ExpiresAt: at(expires)}
}

func requestApproval(t *testing.T, s sextant.ApprovalStore, a sextant.Approval) sextant.Approval {
	t.Helper()
	got, err := s.RequestApproval(context.Background(), a)
	if err != nil {
		t.Fatalf("RequestApproval(%s %s) error: %v", a.ActionID, a.Kind, err)
	}
	return got
}

func getApproval(t *testing.T, s sextant.ApprovalStore, id string) sextant.Approval {
	t.Helper()
	a, err := s.Approval(context.Background(), id)
	if err != nil {
		t.Fatalf("Approval(%q) error: %v", id, err)
	}
	return a
}

func decide(t *testing.T, s sextant.ApprovalStore, id string, status sextant.ApprovalStatus, actor, comment string, minutes int) sextant.Approval {
	t.Helper()
	a, err := s.DecideApproval(context.Background(), id, status, actor, comment, at(minutes))
	if err != nil {
		t.Fatalf("DecideApproval(%q, %s) error: %v", id, status, err)
	}
	return a
}

func testApprovalDecide(t *testing.T, s ApprovalStore, c *clock) {
	ctx := context.Background()
	first := requestApproval(t, s, request("act_1", "ticket", 60))
	want := request("act_1", "ticket", 60)
	want.ID, want.RequestedAt, want.Status = first.ID, t0, sextant.ApprovalPending
	if !strings.HasPrefix(first.ID, "apr_") {
		t.Errorf("RequestApproval ID = %q, want an apr_ ID", first.ID)
	}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("RequestApproval (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, getApproval(t, s, first.ID)); diff != "" {
		t.Errorf("Approval (-want +got):\n%s", diff)
	}

	// A rescan asks again: the pending request is returned, unchanged.
	c.Set(at(5))
	again := request("act_1", "ticket", 90)
	again.Reason = "asked again"
	if got := requestApproval(t, s, again); !cmp.Equal(want, got) {
		t.Errorf("RequestApproval of a pending action and kind = %+v, want the pending request %+v", got, want)
	}
	// Another kind, or another action, is another request.
	other := requestApproval(t, s, request("act_1", "remediate", 60))
	third := requestApproval(t, s, request("act_2", "ticket", 60))
	if other.ID == first.ID || third.ID == first.ID || other.ID == third.ID {
		t.Errorf("requests of other kinds and actions have IDs %q, %q; want new IDs, not %q", other.ID, third.ID, first.ID)
	}

	got := decide(t, s, first.ID, sextant.ApprovalApproved, "alice", "ticket it", 10)
	want.Status, want.DecidedBy, want.DecidedAt, want.Comment = sextant.ApprovalApproved, "alice", at(10), "ticket it"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DecideApproval (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, getApproval(t, s, first.ID)); diff != "" {
		t.Errorf("Approval after the decision (-want +got):\n%s", diff)
	}
	for _, status := range []sextant.ApprovalStatus{sextant.ApprovalApproved, sextant.ApprovalRejected} {
		_, err := s.DecideApproval(ctx, first.ID, status, "bob", "", at(11))
		wantCode(t, "DecideApproval of a decided request, "+string(status), err, sextant.ECONFLICT)
	}
	// Past its expiry, a decided request stays as decided.
	c.Set(at(1000))
	if diff := cmp.Diff(want, getApproval(t, s, first.ID)); diff != "" {
		t.Errorf("Approval decided, after its expiry (-want +got):\n%s", diff)
	}

	// Once decided, the action and kind may be asked about again.
	next := requestApproval(t, s, request("act_1", "ticket", 2000))
	if next.ID == first.ID || next.Status != sextant.ApprovalPending || !next.RequestedAt.Equal(at(1000)) {
		t.Errorf("RequestApproval after a decision = %+v; want a new pending request at at(1000)", next)
	}
	got = decide(t, s, next.ID, sextant.ApprovalRejected, "bob", "", 1001)
	if got.Status != sextant.ApprovalRejected || got.DecidedBy != "bob" || !got.DecidedAt.Equal(at(1001)) || got.Comment != "" {
		t.Errorf("DecideApproval(rejected) = %+v; want rejected by bob at at(1001)", got)
	}
	_, err := s.DecideApproval(ctx, "apr_nope", sextant.ApprovalApproved, "alice", "", at(0))
	wantCode(t, "DecideApproval of an unknown request", err, sextant.ENOTFOUND)
	_, err = s.Approval(ctx, "apr_nope")
	wantCode(t, `Approval("apr_nope")`, err, sextant.ENOTFOUND)

	// A caller's ID is kept, and taken once.
	mine := request("act_3", "ticket", 2000)
	mine.ID = "apr_mine"
	if got := requestApproval(t, s, mine); got.ID != "apr_mine" {
		t.Errorf("RequestApproval with ID apr_mine returned ID %q", got.ID)
	}
	mine.ActionID = "act_4"
	_, err = s.RequestApproval(ctx, mine)
	wantCode(t, "RequestApproval with a taken ID", err, sextant.ECONFLICT)
}

func testApprovalExpiry(t *testing.T, s ApprovalStore, c *clock) {
	ctx := context.Background()
	a := requestApproval(t, s, request("act_1", "ticket", 30))
	c.Set(at(30))
	if got := getApproval(t, s, a.ID); got.Status != sextant.ApprovalPending {
		t.Errorf("Approval at its expiry time = %s, want pending until past it", got.Status)
	}
	c.Set(at(31))
	if got := getApproval(t, s, a.ID); got.Status != sextant.ApprovalExpired || got.DecidedBy != "" || !got.DecidedAt.IsZero() {
		t.Errorf("Approval past its expiry = %+v, want expired, undecided", got)
	}
	if got := approvalIDs(allApprovals(t, s, sextant.ApprovalFilter{Status: sextant.ApprovalPending})); len(got) != 0 {
		t.Errorf("Approvals(pending) past the expiry = %v, want none", got)
	}
	if got := allApprovals(t, s, sextant.ApprovalFilter{Status: sextant.ApprovalExpired}); len(got) != 1 || got[0].ID != a.ID || got[0].Status != sextant.ApprovalExpired {
		t.Errorf("Approvals(expired) past the expiry = %+v, want %s, expired", got, a.ID)
	}

	// A decision on time is taken, whatever the store's clock says.
	onTime := requestApproval(t, s, request("act_2", "ticket", 40))
	if got := decide(t, s, onTime.ID, sextant.ApprovalApproved, "alice", "", 40); got.Status != sextant.ApprovalApproved {
		t.Errorf("DecideApproval at the expiry time = %s, want approved", got.Status)
	}

	// A late decision is refused, and the request stays expired.
	late := requestApproval(t, s, request("act_3", "ticket", 50))
	for range 2 {
		_, err := s.DecideApproval(ctx, late.ID, sextant.ApprovalApproved, "alice", "", at(51))
		wantCode(t, "DecideApproval past the expiry", err, sextant.EINVALID)
	}
	// Even with a time before the expiry, once it is stored as expired.
	_, err := s.DecideApproval(ctx, late.ID, sextant.ApprovalApproved, "alice", "", at(49))
	wantCode(t, "DecideApproval of a request stored as expired", err, sextant.EINVALID)
	c.Set(at(20))
	if got := getApproval(t, s, late.ID); got.Status != sextant.ApprovalExpired || got.DecidedBy != "" {
		t.Errorf("Approval refused for lateness = %+v, want expired, undecided", got)
	}

	// An expired request does not hold back a new one.
	c.Set(at(100))
	renewed := requestApproval(t, s, request("act_1", "ticket", 200))
	if renewed.ID == a.ID || renewed.Status != sextant.ApprovalPending {
		t.Errorf("RequestApproval after the last one expired = %+v; want a new pending request", renewed)
	}
	c.Set(at(0))
	if got := getApproval(t, s, a.ID); got.Status != sextant.ApprovalExpired {
		t.Errorf("Approval superseded by a new request = %s, want stored as expired", got.Status)
	}
	if got := approvalIDs(allApprovals(t, s, sextant.ApprovalFilter{ActionID: "act_1", Status: sextant.ApprovalPending})); !cmp.Equal(got, []string{renewed.ID}) {
		t.Errorf("Approvals(act_1, pending) = %v, want [%s]", got, renewed.ID)
	}
}

func testApprovalInvalid(t *testing.T, s ApprovalStore, c *clock) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(a *sextant.Approval)
	}{
		{"no action", func(a *sextant.Approval) { a.ActionID = " " }},
		{"kind deploy", func(a *sextant.Approval) { a.Kind = "deploy" }},
		{"no kind", func(a *sextant.Approval) { a.Kind = "" }},
		{"no requester", func(a *sextant.Approval) { a.RequestedBy = "" }},
		{"no expiry", func(a *sextant.Approval) { a.ExpiresAt = time.Time{} }},
		{"an expiry before the request", func(a *sextant.Approval) { a.RequestedAt, a.ExpiresAt = at(10), at(9) }},
	} {
		a := request("act_1", "ticket", 60)
		tc.change(&a)
		_, err := s.RequestApproval(ctx, a)
		wantCode(t, "RequestApproval with "+tc.name, err, sextant.EINVALID)
	}
	a := requestApproval(t, s, request("act_1", "ticket", 60))
	for _, tc := range []struct {
		name   string
		id     string
		status sextant.ApprovalStatus
		actor  string
	}{
		{"status pending", a.ID, sextant.ApprovalPending, "alice"},
		{"status expired", a.ID, sextant.ApprovalExpired, "alice"},
		{"status maybe", a.ID, "maybe", "alice"},
		{"no actor", a.ID, sextant.ApprovalApproved, " "},
		{"no ID", "", sextant.ApprovalApproved, "alice"},
	} {
		_, err := s.DecideApproval(ctx, tc.id, tc.status, tc.actor, "", at(1))
		wantCode(t, "DecideApproval with "+tc.name, err, sextant.EINVALID)
	}
	if got := getApproval(t, s, a.ID); got.Status != sextant.ApprovalPending {
		t.Errorf("Approval after refused decisions = %s, want pending", got.Status)
	}
	for _, tc := range []struct {
		name   string
		filter sextant.ApprovalFilter
	}{
		{"limit -1", sextant.ApprovalFilter{Limit: -1}},
		{"a bad cursor", sextant.ApprovalFilter{Cursor: "not a cursor!"}},
		{`status "open"`, sextant.ApprovalFilter{Status: "open"}},
	} {
		_, err := s.Approvals(ctx, tc.filter)
		wantCode(t, "Approvals with "+tc.name, err, sextant.EINVALID)
	}
}

// allApprovals lists every approval matching filter, walking every page.
func allApprovals(t *testing.T, s sextant.ApprovalStore, filter sextant.ApprovalFilter) []sextant.Approval {
	t.Helper()
	var out []sextant.Approval
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("Approvals: more than 10000 pages; the cursor does not advance")
		}
		page, err := s.Approvals(context.Background(), filter)
		if err != nil {
			t.Fatalf("Approvals(%+v) error: %v", filter, err)
		}
		if filter.Limit > 0 && (len(page.Items) > filter.Limit || page.Next != "" && len(page.Items) != filter.Limit) {
			t.Errorf("Approvals(limit %d) returned a page of %d items, next %q", filter.Limit, len(page.Items), page.Next)
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out
		}
		filter.Cursor = page.Next
	}
}

func approvalIDs(as []sextant.Approval) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func testApprovalFilters(t *testing.T, s ApprovalStore, c *clock) {
	made := map[string]string{} // name → ID
	for i, r := range []struct {
		name, action, kind string
		expires            int
	}{
		{"a1-ticket", "act_1", "ticket", 100},
		{"a1-remediate", "act_1", "remediate", 100},
		{"a2-ticket", "act_2", "ticket", 10}, // expires
		{"a3-ticket", "act_3", "ticket", 100},
		{"a4-remediate", "act_4", "remediate", 100},
	} {
		c.Set(at(i))
		made[r.name] = requestApproval(t, s, request(r.action, r.kind, r.expires)).ID
	}
	decide(t, s, made["a1-ticket"], sextant.ApprovalApproved, "alice", "", 5)
	decide(t, s, made["a3-ticket"], sextant.ApprovalRejected, "bob", "not now", 6)
	c.Set(at(11))
	ids := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, made[n])
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		filter sextant.ApprovalFilter
		want   []string
	}{
		{"all", sextant.ApprovalFilter{}, ids("a4-remediate", "a3-ticket", "a2-ticket", "a1-remediate", "a1-ticket")},
		{"pending", sextant.ApprovalFilter{Status: sextant.ApprovalPending}, ids("a4-remediate", "a1-remediate")},
		{"approved", sextant.ApprovalFilter{Status: sextant.ApprovalApproved}, ids("a1-ticket")},
		{"rejected", sextant.ApprovalFilter{Status: sextant.ApprovalRejected}, ids("a3-ticket")},
		{"expired", sextant.ApprovalFilter{Status: sextant.ApprovalExpired}, ids("a2-ticket")},
		{"of an action", sextant.ApprovalFilter{ActionID: "act_1"}, ids("a1-remediate", "a1-ticket")},
		{"of an action, pending", sextant.ApprovalFilter{ActionID: "act_1", Status: sextant.ApprovalPending}, ids("a1-remediate")},
		{"none", sextant.ApprovalFilter{ActionID: "act_9"}, nil},
	} {
		got := allApprovals(t, s, tc.filter)
		if diff := cmp.Diff(tc.want, approvalIDs(got), equateEmpty); diff != "" {
			t.Errorf("Approvals(%s), newest first (-want +got):\n%s", tc.name, diff)
		}
		for _, a := range got {
			if a.ID == made["a2-ticket"] && a.Status != sextant.ApprovalExpired {
				t.Errorf("Approvals(%s) lists the expired request as %s", tc.name, a.Status)
			}
		}
	}
}

func testApprovalPagination(t *testing.T, s ApprovalStore, c *clock) {
	type made struct {
		minute int
		id     string
	}
	var want []made
	for i := range 17 {
		// Several requests per time, with IDs out of order, so that the
		// ID order within a time is exercised.
		m := made{minute: i / 3, id: fmt.Sprintf("apr_%02d", i*5%17)}
		c.Set(at(m.minute))
		a := request(fmt.Sprintf("act_%02d", i), "ticket", 1000)
		a.ID = m.id
		requestApproval(t, s, a)
		want = append(want, m)
	}
	slices.SortFunc(want, func(a, b made) int {
		if a.minute != b.minute {
			return b.minute - a.minute
		}
		return strings.Compare(b.id, a.id)
	})
	var wantIDs []string
	for _, m := range want {
		wantIDs = append(wantIDs, m.id)
	}
	for _, limit := range []int{0, 1, 3, 4, 17, 100} {
		got := approvalIDs(allApprovals(t, s, sextant.ApprovalFilter{Limit: limit}))
		if diff := cmp.Diff(wantIDs, got); diff != "" {
			t.Errorf("approvals paged by %d, newest first, then by ID descending (-want +got):\n%s", limit, diff)
		}
	}
}

func testApprovalConcurrentRequests(t *testing.T, stores []ApprovalStore) {
	const requests = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ids  = map[string]int{}
		errs = make(chan error, requests)
	)
	for i := range requests {
		wg.Go(func() {
			a, err := stores[i%len(stores)].RequestApproval(context.Background(), request("act_1", "remediate", 60))
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			ids[a.ID]++
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent RequestApproval error: %v", err)
	}
	if len(ids) != 1 {
		t.Errorf("%d concurrent RequestApproval of one action and kind on %d stores returned IDs %v; want one request", requests, len(stores), ids)
	}
	if got := allApprovals(t, stores[0], sextant.ApprovalFilter{}); len(got) != 1 {
		t.Errorf("Approvals() after concurrent requests = %v, want one request", approvalIDs(got))
	}
}

func testMTTR(t *testing.T, s ApprovalStore, c *clock) {
	ctx := context.Background()
	h := func(hours float64) time.Time { return t0.Add(time.Duration(hours * float64(time.Hour))) }
	nginxKey := sextant.Artifact{Name: "nginx:1.27", Repository: "nginx", Tags: []string{"1.27"}}.Key()
	a1 := upgrade(imageKey, "openssl", 90, sextant.P0)
	a2 := upgrade(imageKey, "zlib", 85, sextant.P0)
	a3 := upgrade(imageKey, "curl", 60, sextant.P1)
	a4 := upgrade(imageKey, "glibc", 80, sextant.P0)
	b1 := upgrade(redisKey, "redis", 90, sextant.P0)
	b2 := upgrade(redisKey, "jemalloc", 88, sextant.P0)
	b3 := upgrade(redisKey, "lua", 30, sextant.P2)
	old := upgrade(nginxKey, "nginx", 95, sextant.P0)

	if got, err := s.MTTR(ctx, time.Time{}); err != nil || len(got) != 0 {
		t.Errorf("MTTR() of no actions = %+v, %v; want no rows", got, err)
	}
	for _, step := range []struct {
		hours   float64
		key     string
		owner   string
		actions []sextant.Action
	}{
		// Resolved a day before the window: 1h.
		{-48, nginxKey, "team-a", []sextant.Action{old}},
		{-47, nginxKey, "team-a", nil},
		{0, imageKey, "team-a", []sextant.Action{a1, a2, a3, a4}},
		{1, imageKey, "team-a", []sextant.Action{a1, a2, a3}}, // a4 resolved, 1h
		{1, redisKey, "team-b", []sextant.Action{b1, b2, b3}},
		{2, imageKey, "team-a", []sextant.Action{a2, a3}},     // a1: 2h
		{2.5, redisKey, "team-b", []sextant.Action{b1, b2}},   // b3: 1h30m
		{3, imageKey, "team-a", []sextant.Action{a2, a3, a4}}, // a4 reopens, first seen kept
		{4, redisKey, "team-b", []sextant.Action{b2}},         // b1: 3h
		{5, imageKey, "team-a", []sextant.Action{a3, a4}},     // a2: 5h
		{7, imageKey, "team-a", []sextant.Action{a3}},         // a4: 7h
	} {
		c.Set(h(step.hours))
		setActions(t, s, step.key, step.owner, step.actions...)
	}
	c.Set(h(8))
	for _, tc := range []struct {
		name  string
		since time.Time
		want  []sextant.MTTR
	}{
		{"since a day before", h(-24), []sextant.MTTR{
			{Priority: sextant.P0, Owner: "team-a", Resolved: 3, Mean: 4*time.Hour + 40*time.Minute, Median: 5 * time.Hour},
			{Priority: sextant.P0, Owner: "team-b", Resolved: 1, Open: 1, Mean: 3 * time.Hour, Median: 3 * time.Hour},
			{Priority: sextant.P1, Owner: "team-a", Open: 1},
			{Priority: sextant.P2, Owner: "team-b", Resolved: 1, Mean: 90 * time.Minute, Median: 90 * time.Minute},
		}},
		{"since ever", time.Time{}, []sextant.MTTR{
			// 1h, 2h, 5h and 7h: the median of an even count is the mean
			// of the middle two.
			{Priority: sextant.P0, Owner: "team-a", Resolved: 4, Mean: 3*time.Hour + 45*time.Minute, Median: 3*time.Hour + 30*time.Minute},
			{Priority: sextant.P0, Owner: "team-b", Resolved: 1, Open: 1, Mean: 3 * time.Hour, Median: 3 * time.Hour},
			{Priority: sextant.P1, Owner: "team-a", Open: 1},
			{Priority: sextant.P2, Owner: "team-b", Resolved: 1, Mean: 90 * time.Minute, Median: 90 * time.Minute},
		}},
		{"since the fourth hour, inclusive", h(4), []sextant.MTTR{
			{Priority: sextant.P0, Owner: "team-a", Resolved: 2, Mean: 6 * time.Hour, Median: 6 * time.Hour},
			{Priority: sextant.P0, Owner: "team-b", Resolved: 1, Open: 1, Mean: 3 * time.Hour, Median: 3 * time.Hour},
			{Priority: sextant.P1, Owner: "team-a", Open: 1},
		}},
		{"since now", h(8), []sextant.MTTR{
			{Priority: sextant.P0, Owner: "team-b", Open: 1},
			{Priority: sextant.P1, Owner: "team-a", Open: 1},
		}},
	} {
		got, err := s.MTTR(ctx, tc.since)
		if err != nil {
			t.Fatalf("MTTR(%s) error: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("MTTR(%s) (-want +got):\n%s", tc.name, diff)
		}
	}
}
