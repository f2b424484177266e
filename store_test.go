package sextant

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheckFindingFilter(t *testing.T) {
	cursor := FindingCursor{Score: 7.5, ID: "f2"}
	tests := []struct {
		name      string
		filter    FindingFilter
		wantLimit int
		wantAfter *FindingCursor
		wantCode  string
	}{
		{"zero", FindingFilter{}, DefaultPageSize, nil, ""},
		{"limit", FindingFilter{Limit: 10}, 10, nil, ""},
		{"capped", FindingFilter{Limit: MaxPageSize + 1}, MaxPageSize, nil, ""},
		{"status", FindingFilter{Status: StatusSuppressed}, DefaultPageSize, nil, ""},
		{"cursor", FindingFilter{Cursor: cursor.String()}, DefaultPageSize, &cursor, ""},
		{"negative limit", FindingFilter{Limit: -1, Status: "bogus"}, 0, nil, EINVALID},
		{"unknown status", FindingFilter{Status: "bogus", Cursor: "!"}, 0, nil, EINVALID},
		{"bad cursor", FindingFilter{Cursor: "!"}, 0, nil, EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit, after, err := CheckFindingFilter(tt.filter)
			if code := ErrorCode(err); code != tt.wantCode {
				t.Fatalf("CheckFindingFilter(%+v) error = %v, want code %q", tt.filter, err, tt.wantCode)
			}
			if limit != tt.wantLimit || !cmp.Equal(after, tt.wantAfter) {
				t.Errorf("CheckFindingFilter(%+v) = %d, %+v, want %d, %+v", tt.filter, limit, after, tt.wantLimit, tt.wantAfter)
			}
		})
	}
}

func TestCheckFindingFilterErrorOrder(t *testing.T) {
	// The limit is checked first, then the status, then the cursor.
	tests := []struct {
		filter FindingFilter
		want   string
	}{
		{FindingFilter{Limit: -1, Status: "bogus", Cursor: "!"}, "page limit -1 is negative"},
		{FindingFilter{Status: "bogus", Cursor: "!"}, `unknown finding status "bogus"`},
		{FindingFilter{Cursor: "!"}, `invalid page cursor "!"`},
	}
	for _, tt := range tests {
		if _, _, err := CheckFindingFilter(tt.filter); ErrorMessage(err) != tt.want {
			t.Errorf("CheckFindingFilter(%+v) error = %v, want %q", tt.filter, err, tt.want)
		}
	}
}

func TestNewFindingPage(t *testing.T) {
	recs := func(ids ...string) []FindingRecord {
		var out []FindingRecord
		for _, id := range ids {
			out = append(out, FindingRecord{Finding: &Finding{ID: id}})
		}
		return out
	}
	tests := []struct {
		name     string
		items    []FindingRecord
		scores   []float64
		limit    int
		wantIDs  []string
		wantNext string
	}{
		{"empty", nil, nil, 2, nil, ""},
		{"short", recs("a"), []float64{9}, 2, []string{"a"}, ""},
		{"exactly full", recs("a", "b"), []float64{9, 8}, 2, []string{"a", "b"}, ""},
		{"more follow", recs("a", "b", "c"), []float64{9, 8, 8}, 2, []string{"a", "b"}, FindingCursor{Score: 8, ID: "b"}.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := NewFindingPage(tt.items, tt.scores, tt.limit)
			var ids []string
			for _, r := range page.Items {
				ids = append(ids, r.Finding.ID)
			}
			if !cmp.Equal(ids, tt.wantIDs) || page.Next != tt.wantNext {
				t.Errorf("NewFindingPage(%d items, %v, %d) = %v, next %q, want %v, next %q",
					len(tt.items), tt.scores, tt.limit, ids, page.Next, tt.wantIDs, tt.wantNext)
			}
		})
	}
}

func TestCheckStatusChange(t *testing.T) {
	tests := []struct {
		name                   string
		status                 Status
		reason, actor, wantMsg string
	}{
		{"ok", StatusAcceptedRisk, "vendor patch pending", "alice", ""},
		{"unknown status", "bogus", "", "", `unknown finding status "bogus"`},
		{"blank reason", StatusSuppressed, "  ", "alice", "a status change needs a reason"},
		{"blank actor", StatusSuppressed, "noise", "\t", "a status change needs an actor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckStatusChange(tt.status, tt.reason, tt.actor)
			if tt.wantMsg == "" {
				if err != nil {
					t.Errorf("CheckStatusChange(%q, %q, %q) = %v, want nil", tt.status, tt.reason, tt.actor, err)
				}
				return
			}
			if ErrorCode(err) != EINVALID || ErrorMessage(err) != tt.wantMsg {
				t.Errorf("CheckStatusChange(%q, %q, %q) = %v, want EINVALID %q", tt.status, tt.reason, tt.actor, err, tt.wantMsg)
			}
		})
	}
}
