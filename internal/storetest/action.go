package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

// RunActions runs the conformance suite of sextant.ActionStore. open
// returns a new, empty store for one test; it closes the store in a
// t.Cleanup.
func RunActions(t *testing.T, open func(t *testing.T) sextant.ActionStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s sextant.ActionStore)
	}{
		{"Lifecycle", testActionLifecycle},
		{"OtherArtifactsUntouched", testActionOtherArtifacts},
		{"Invalid", testActionInvalid},
		{"Filters", testActionFilters},
		{"Pagination", testActionPagination},
		{"RoundTrip", testActionRoundTrip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

var (
	imageKey = image.Key()
	redisKey = sextant.Artifact{Name: "redis:7", Repository: "redis", Tags: []string{"7"}}.Key()
)

// upgrade returns the action that upgrades pkg in the artifact key.
func upgrade(key, pkg string, score float64, p sextant.Priority) sextant.Action {
	return sextant.Action{
		ID:               sextant.ActionID(sextant.ActionUpgradePackage, key, "deb/"+pkg),
		Priority:         p,
		Score:            score,
		Title:            "Upgrade " + pkg + " to 1.0+fix1",
		Artifact:         key,
		Kind:             sextant.ActionUpgradePackage,
		Package:          pkg,
		Ecosystem:        "deb",
		InstalledVersion: "1.0",
		TargetVersion:    "1.0+fix1",
		Commands:         []string{"apt-get install --only-upgrade " + pkg + "=1.0+fix1"},
		Vulnerabilities:  []string{"CVE-2026-1000"},
		FindingIDs:       []string{"f-" + pkg},
		RiskRemoved:      score,
		Factors:          []sextant.Factor{{Name: "cvss", Value: 7.5, Weight: 1, Contribution: score}},
	}
}

func setActions(t *testing.T, s sextant.ActionStore, key, owner string, actions ...sextant.Action) sextant.ActionChanges {
	t.Helper()
	ch, err := s.SetActions(context.Background(), key, owner, actions)
	if err != nil {
		t.Fatalf("SetActions(%q) error: %v", key, err)
	}
	return ch
}

func getAction(t *testing.T, s sextant.ActionStore, id string) sextant.ActionRecord {
	t.Helper()
	rec, err := s.Action(context.Background(), id)
	if err != nil {
		t.Fatalf("Action(%q) error: %v", id, err)
	}
	return rec
}

// allActions lists every action matching filter, walking every page.
func allActions(t *testing.T, s sextant.ActionStore, filter sextant.ActionFilter) []sextant.ActionRecord {
	t.Helper()
	var out []sextant.ActionRecord
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("Actions: more than 10000 pages; the cursor does not advance")
		}
		page, err := s.Actions(context.Background(), filter)
		if err != nil {
			t.Fatalf("Actions(%+v) error: %v", filter, err)
		}
		out = append(out, page.Items...)
		if page.Next == "" {
			return out
		}
		filter.Cursor = page.Next
	}
}

func actionIDs(recs []sextant.ActionRecord) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Action.ID)
	}
	return out
}

func sortedIDs(ids ...string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

func wantChanges(t *testing.T, step string, want, got sextant.ActionChanges) {
	t.Helper()
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Errorf("%s: SetActions changes (-want +got):\n%s", step, diff)
	}
}

func testActionLifecycle(t *testing.T, s sextant.ActionStore) {
	a1 := upgrade(imageKey, "openssl", 80, sextant.P0)
	a2 := upgrade(imageKey, "zlib", 40, sextant.P2)
	a3 := upgrade(imageKey, "curl", 60, sextant.P1)

	ch := setActions(t, s, imageKey, "team-a", a1, a2)
	wantChanges(t, "first plan", sextant.ActionChanges{Opened: sortedIDs(a1.ID, a2.ID)}, ch)
	first := getAction(t, s, a1.ID)
	if diff := cmp.Diff(a1, first.Action, equateEmpty); diff != "" {
		t.Errorf("Action(a1).Action (-want +got):\n%s", diff)
	}
	if first.Status != sextant.ActionOpen || first.Findings != 1 || first.Owner != "team-a" ||
		first.FirstSeen.IsZero() || !first.UpdatedAt.Equal(first.FirstSeen) || !first.ResolvedAt.IsZero() {
		t.Errorf("Action(a1) = %+v, want open, 1 finding, owner team-a, first seen = updated, not resolved", first)
	}

	// The same plan again changes nothing.
	ch = setActions(t, s, imageKey, "team-a", a2, a1)
	wantChanges(t, "same plan", sextant.ActionChanges{}, ch)
	if got := getAction(t, s, a1.ID); !cmp.Equal(first, got) {
		t.Errorf("Action(a1) after the same plan = %+v, want %+v unchanged", got, first)
	}

	// a1's score and findings change, a2 is no longer derived, a3 is new.
	a1b := a1
	a1b.Score, a1b.RiskRemoved, a1b.FindingIDs = 85, 85, []string{"f-openssl", "f-libssl"}
	ch = setActions(t, s, imageKey, "team-a", a1b, a3)
	wantChanges(t, "second plan", sextant.ActionChanges{Opened: []string{a3.ID}, Updated: []string{a1.ID}, Resolved: []string{a2.ID}}, ch)
	got := getAction(t, s, a1.ID)
	if diff := cmp.Diff(a1b, got.Action, equateEmpty); diff != "" {
		t.Errorf("Action(a1) after an update (-want +got):\n%s", diff)
	}
	if got.Findings != 2 || !got.FirstSeen.Equal(first.FirstSeen) || got.UpdatedAt.Before(first.UpdatedAt) || got.Status != sextant.ActionOpen {
		t.Errorf("Action(a1) after an update = %+v; want 2 findings, first seen %v kept, updated no earlier than %v, open",
			got, first.FirstSeen, first.UpdatedAt)
	}
	resolved := getAction(t, s, a2.ID)
	if resolved.Status != sextant.ActionResolved || resolved.ResolvedAt.IsZero() || !cmp.Equal(a2, resolved.Action, equateEmpty) {
		t.Errorf("Action(a2) no longer derived = %+v, want resolved with a time, plan kept", resolved)
	}

	// A change of plan without a change of score is an update; a2 back is
	// a reopening.
	a3b := a3
	a3b.Notes = []string{"curl is reachable from the internet"}
	ch = setActions(t, s, imageKey, "team-a", a1b, a3b, a2)
	wantChanges(t, "third plan", sextant.ActionChanges{Updated: []string{a3.ID}, Reopened: []string{a2.ID}}, ch)
	got = getAction(t, s, a2.ID)
	if got.Status != sextant.ActionOpen || !got.ResolvedAt.IsZero() || got.FirstSeen.After(first.FirstSeen) || got.UpdatedAt.Before(resolved.UpdatedAt) {
		t.Errorf("Action(a2) derived again = %+v; want open, not resolved, first seen as first derived", got)
	}

	// A new owner alone is stored, not reported.
	ch = setActions(t, s, imageKey, "team-b", a1b, a3b, a2)
	wantChanges(t, "new owner", sextant.ActionChanges{}, ch)
	for _, id := range []string{a1.ID, a2.ID, a3.ID} {
		if got := getAction(t, s, id).Owner; got != "team-b" {
			t.Errorf("Action(%s).Owner = %q after the artifact changed hands, want team-b", id, got)
		}
	}

	// No actions: every open one is resolved, once.
	ch = setActions(t, s, imageKey, "team-b")
	wantChanges(t, "empty plan", sextant.ActionChanges{Resolved: sortedIDs(a1.ID, a2.ID, a3.ID)}, ch)
	ch = setActions(t, s, imageKey, "team-b")
	wantChanges(t, "empty plan again", sextant.ActionChanges{}, ch)
	if got := actionIDs(allActions(t, s, sextant.ActionFilter{Status: sextant.ActionResolved})); !cmp.Equal(got, []string{a1.ID, a3.ID, a2.ID}) {
		t.Errorf("resolved actions, by score = %v, want %v; nothing is deleted", got, []string{a1.ID, a3.ID, a2.ID})
	}

	_, err := s.Action(context.Background(), "act_nope")
	wantCode(t, `Action("act_nope")`, err, sextant.ENOTFOUND)
}

func testActionOtherArtifacts(t *testing.T, s sextant.ActionStore) {
	a := upgrade(imageKey, "openssl", 80, sextant.P0)
	b := upgrade(redisKey, "openssl", 80, sextant.P0)
	if a.ID == b.ID {
		t.Fatal("test setup: the same upgrade in two artifacts should have two IDs")
	}
	setActions(t, s, imageKey, "team-a", a)
	setActions(t, s, redisKey, "team-r", b)
	before := getAction(t, s, b.ID)
	ch := setActions(t, s, imageKey, "team-z")
	wantChanges(t, "empty plan of one artifact", sextant.ActionChanges{Resolved: []string{a.ID}}, ch)
	if got := getAction(t, s, b.ID); !cmp.Equal(before, got) {
		t.Errorf("action of another artifact = %+v after the first's plan emptied, want %+v untouched", got, before)
	}
}

func testActionInvalid(t *testing.T, s sextant.ActionStore) {
	ctx := context.Background()
	a := upgrade(imageKey, "openssl", 80, sextant.P0)
	b := upgrade(imageKey, "zlib", 40, sextant.P2)
	noID := b
	noID.ID = ""
	badPriority := b
	badPriority.Priority = 7
	r := upgrade(redisKey, "redis", 50, sextant.P1)
	setActions(t, s, redisKey, "", r)
	stolen := r
	stolen.Artifact = imageKey // its ID is stored under redis

	for _, tc := range []struct {
		name    string
		key     string
		actions []sextant.Action
	}{
		{"no artifact key", " ", nil},
		{"a repeated ID", imageKey, []sextant.Action{a, b, a}},
		{"an action of another artifact", imageKey, []sextant.Action{a, upgrade(redisKey, "zlib", 1, sextant.P3)}},
		{"an action without an ID", imageKey, []sextant.Action{a, noID}},
		{"priority P7", imageKey, []sextant.Action{a, badPriority}},
		{"the ID of another artifact's action", imageKey, []sextant.Action{a, stolen}},
	} {
		_, err := s.SetActions(ctx, tc.key, "team-a", tc.actions)
		wantCode(t, "SetActions with "+tc.name, err, sextant.EINVALID)
	}
	if got := actionIDs(allActions(t, s, sextant.ActionFilter{})); !cmp.Equal(got, []string{r.ID}) {
		t.Errorf("actions after refused SetActions = %v, want only %v (nothing half-done)", got, []string{r.ID})
	}
	if got := getAction(t, s, r.ID); got.Action.Artifact != redisKey || got.Status != sextant.ActionOpen {
		t.Errorf("Action(%s) = %+v after another artifact claimed its ID, want it untouched", r.ID, got)
	}
}

func testActionFilters(t *testing.T, s sextant.ActionStore) {
	ctx := context.Background()
	x1 := upgrade(imageKey, "openssl", 90, sextant.P0)
	x2 := upgrade(imageKey, "zlib", 40, sextant.P2)
	x2.Kind = sextant.ActionNoFix
	x2.ID = sextant.ActionID(sextant.ActionNoFix, imageKey, "")
	x3 := upgrade(imageKey, "", 70, sextant.P1)
	x3.Kind = sextant.ActionRebuildBase
	x3.ID = sextant.ActionID(sextant.ActionRebuildBase, imageKey, "")
	y1 := upgrade(redisKey, "redis", 60, sextant.P1)
	setActions(t, s, imageKey, "team-a", x1, x2, x3)
	setActions(t, s, imageKey, "team-a", x1, x3) // resolves x2
	setActions(t, s, redisKey, "team-b", y1)
	priority := func(p sextant.Priority) *sextant.Priority { return &p }
	for _, tc := range []struct {
		name   string
		filter sextant.ActionFilter
		want   []string // by score
	}{
		{"all", sextant.ActionFilter{}, []string{x1.ID, x3.ID, y1.ID, x2.ID}},
		{"open", sextant.ActionFilter{Status: sextant.ActionOpen}, []string{x1.ID, x3.ID, y1.ID}},
		{"resolved", sextant.ActionFilter{Status: sextant.ActionResolved}, []string{x2.ID}},
		{"P1", sextant.ActionFilter{Priority: priority(sextant.P1)}, []string{x3.ID, y1.ID}},
		{"P0", sextant.ActionFilter{Priority: priority(sextant.P0)}, []string{x1.ID}},
		{"P3", sextant.ActionFilter{Priority: priority(sextant.P3)}, nil},
		{"artifact", sextant.ActionFilter{Artifact: redisKey}, []string{y1.ID}},
		{"kind", sextant.ActionFilter{Kind: sextant.ActionUpgradePackage}, []string{x1.ID, y1.ID}},
		{"owner", sextant.ActionFilter{Owner: "team-b"}, []string{y1.ID}},
		{"combined", sextant.ActionFilter{Kind: sextant.ActionUpgradePackage, Owner: "team-a", Status: sextant.ActionOpen}, []string{x1.ID}},
		{"none", sextant.ActionFilter{Owner: "team-z"}, nil},
	} {
		if diff := cmp.Diff(tc.want, actionIDs(allActions(t, s, tc.filter)), equateEmpty); diff != "" {
			t.Errorf("Actions(%s) IDs (-want +got):\n%s", tc.name, diff)
		}
	}
	for _, tc := range []struct {
		name   string
		filter sextant.ActionFilter
	}{
		{"a bad cursor", sextant.ActionFilter{Cursor: "not a cursor!"}},
		{"limit -1", sextant.ActionFilter{Limit: -1}},
		{`status "closed"`, sextant.ActionFilter{Status: "closed"}},
		{"priority 4", sextant.ActionFilter{Priority: priority(4)}},
		{"priority -1", sextant.ActionFilter{Priority: priority(-1)}},
	} {
		_, err := s.Actions(ctx, tc.filter)
		wantCode(t, "Actions with "+tc.name, err, sextant.EINVALID)
	}
}

func testActionPagination(t *testing.T, s sextant.ActionStore) {
	ctx := context.Background()
	var actions []sextant.Action
	for i := range 23 {
		// Scores with ties, so that the ID order within a score is exercised.
		actions = append(actions, upgrade(imageKey, fmt.Sprintf("pkg%d", i), float64(i%5)*12.5, sextant.Priority(3-i%4)))
	}
	setActions(t, s, imageKey, "team-a", actions...)
	var want []string
	for _, a := range actions {
		want = append(want, a.ID)
	}
	score := map[string]float64{}
	for _, a := range actions {
		score[a.ID] = a.Score
	}
	slices.SortFunc(want, func(a, b string) int {
		if score[a] != score[b] {
			if score[a] > score[b] {
				return -1
			}
			return 1
		}
		if a < b {
			return -1
		}
		return 1
	})
	for _, limit := range []int{1, 5, 7, 23, 100} {
		var got []string
		filter := sextant.ActionFilter{Limit: limit}
		for pages := 0; ; pages++ {
			page, err := s.Actions(ctx, filter)
			if err != nil {
				t.Fatalf("Actions(limit %d) error: %v", limit, err)
			}
			if len(page.Items) > limit || (page.Next != "" && len(page.Items) != limit) {
				t.Errorf("Actions(limit %d) returned a page of %d items, next %q", limit, len(page.Items), page.Next)
			}
			got = append(got, actionIDs(page.Items)...)
			if page.Next == "" || pages > len(actions) {
				break
			}
			filter.Cursor = page.Next
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("actions paged by %d, in order (-want +got):\n%s", limit, diff)
		}
	}
}

func testActionRoundTrip(t *testing.T, s sextant.ActionStore) {
	// Every field set; factor values of each JSON type they hold.
	a := sextant.Action{
		ID:               sextant.ActionID(sextant.ActionUpgradePackage, imageKey, "npm/lodash"),
		Priority:         sextant.P1,
		Score:            61.37,
		Title:            `Upgrade lodash to 4.17.21 ("prototype pollution" — 3 findings)`,
		Artifact:         imageKey,
		Kind:             sextant.ActionUpgradePackage,
		Package:          "lodash",
		Ecosystem:        "npm",
		InstalledVersion: "4.17.15",
		TargetVersion:    "4.17.21",
		Commands:         []string{"npm install lodash@4.17.21", "npm audit --omit=dev"},
		Notes:            []string{"lodash is a transitive dependency of express-utils.", "Rebuild the image."},
		Vulnerabilities:  []string{"CVE-2020-8203", "CVE-2021-23337", "GHSA-35jh-r3h4-6jhm"},
		FindingIDs:       []string{"f1", "f2", "f3"},
		RiskRemoved:      143.5,
		Factors: []sextant.Factor{
			{Name: "kev", Value: true, Weight: 30, Contribution: 30, Evidence: "in CISA KEV since 2024-01-02"},
			{Name: "epss", Value: 0.97125, Weight: 20, Contribution: 19.425, Evidence: "FIRST EPSS 2026-03-01"},
			{Name: "exposure", Value: "internet", Weight: 10, Contribution: 10},
			{Name: "fix_available", Value: nil, Weight: -2.5, Contribution: -2.5},
		},
	}
	setActions(t, s, imageKey, "team-ü", a)
	rec := getAction(t, s, a.ID)
	if diff := cmp.Diff(a, rec.Action); diff != "" {
		t.Errorf("Action(%s).Action after a round trip (-want +got):\n%s", a.ID, diff)
	}
	if rec.Owner != "team-ü" || rec.Findings != 3 {
		t.Errorf("Action(%s) owner %q, %d findings; want team-ü, 3", a.ID, rec.Owner, rec.Findings)
	}
	listed := allActions(t, s, sextant.ActionFilter{})
	if len(listed) != 1 || !cmp.Equal(rec, listed[0]) {
		t.Errorf("Actions() = %+v, want [%+v] as Action returns it", listed, rec)
	}
	// Reading back and setting again is no change.
	wantChanges(t, "the plan read back", sextant.ActionChanges{}, setActions(t, s, imageKey, "team-ü", rec.Action))
}
