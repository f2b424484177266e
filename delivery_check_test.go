package sextant

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDeliveryCursorRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)
	for _, c := range []DeliveryCursor{
		{UpdatedAt: at, ActionID: "act_1", Destination: "jira"},
		{UpdatedAt: at, ActionID: "act|2", Destination: `slack "#sec|ops"`},
		{UpdatedAt: time.Unix(0, 0).UTC(), ActionID: "a", Destination: "d"},
	} {
		got, err := ParseDeliveryCursor(c.String())
		if err != nil || !cmp.Equal(c, got) {
			t.Errorf("ParseDeliveryCursor(%+v.String()) = %+v, %v; want it back", c, got, err)
		}
	}
	for _, token := range []string{"", "!", "e30", IngestCursor{ReceivedAt: at, ID: "x"}.String()} {
		if _, err := ParseDeliveryCursor(token); ErrorCode(err) != EINVALID {
			t.Errorf("ParseDeliveryCursor(%q) error = %v, want code %q", token, err, EINVALID)
		}
	}
}

func FuzzParseDeliveryCursor(f *testing.F) {
	f.Add(DeliveryCursor{UpdatedAt: time.Unix(1, 0), ActionID: "act_1", Destination: "jira"}.String())
	f.Add("e30")
	f.Add("!")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := ParseDeliveryCursor(token)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("ParseDeliveryCursor(%q) error code %q, want %q", token, ErrorCode(err), EINVALID)
			}
			return
		}
		again, err := ParseDeliveryCursor(c.String())
		if err != nil || !cmp.Equal(c, again) {
			t.Fatalf("ParseDeliveryCursor(%+v.String()) = %+v, %v; want it back", c, again, err)
		}
	})
}

func TestCheckPreviewList(t *testing.T) {
	page := NewPreviewPage([]Preview{{ID: 9}, {ID: 7}, {ID: 4}}, 2)
	if len(page.Items) != 2 || page.Next == "" {
		t.Fatalf("NewPreviewPage of 3 for 2 = %+v, want 2 items and a next cursor", page)
	}
	limit, below, err := CheckPreviewList(2, page.Next)
	if err != nil || limit != 2 || below != 7 {
		t.Errorf("CheckPreviewList(2, %q) = %d, %d, %v; want 2, 7", page.Next, limit, below, err)
	}
	for _, cursor := range []string{"!", "MA", "LTE", "eA"} {
		if _, _, err := CheckPreviewList(0, cursor); ErrorCode(err) != EINVALID {
			t.Errorf("CheckPreviewList(0, %q) error = %v, want code %q", cursor, err, EINVALID)
		}
	}
}

func TestCheckDecidable(t *testing.T) {
	exp := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		status ApprovalStatus
		now    time.Time
		want   string
	}{
		{"pending", ApprovalPending, exp, ""},
		{"pending, late", ApprovalPending, exp.Add(time.Nanosecond), EINVALID},
		{"stored expired", ApprovalExpired, exp.Add(-time.Hour), EINVALID},
		{"approved", ApprovalApproved, exp.Add(-time.Hour), ECONFLICT},
		{"rejected, late", ApprovalRejected, exp.Add(time.Hour), ECONFLICT},
	}
	for _, tt := range tests {
		a := Approval{ID: "apr_1", Status: tt.status, ExpiresAt: exp}
		if got := ErrorCode(CheckDecidable(a, tt.now)); got != tt.want {
			t.Errorf("CheckDecidable(%s) code = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestNewMTTRs(t *testing.T) {
	p0a, p0b, p2a := MTTRKey{P0, "a"}, MTTRKey{P0, "b"}, MTTRKey{P2, "a"}
	long := 100 * 365 * 24 * time.Hour // a century: a few of them overflow a sum
	got := NewMTTRs(
		map[MTTRKey]int{p0b: 2, p2a: 0},
		map[MTTRKey][]time.Duration{
			p2a:       {3 * time.Hour, time.Hour, 2 * time.Hour, 10 * time.Hour},
			p0a:       {long, long, long + 3},
			{P3, "c"}: nil,
		})
	want := []MTTR{
		{Priority: P0, Owner: "a", Resolved: 3, Mean: long + 1, Median: long},
		{Priority: P0, Owner: "b", Open: 2},
		{Priority: P2, Owner: "a", Resolved: 4, Mean: 4 * time.Hour, Median: 150 * time.Minute},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("NewMTTRs (-want +got):\n%s", diff)
	}
	if got := NewMTTRs(nil, nil); got == nil || len(got) != 0 {
		t.Errorf("NewMTTRs(nil, nil) = %#v, want an empty, non-nil slice", got)
	}
}
