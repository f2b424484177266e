package sqlstore

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

func TestFindingRoundTrip(t *testing.T) {
	f := &sextant.Finding{
		ID:              "f1",
		VulnerabilityID: "CVE-2024-1",
		Severity:        sextant.SeverityHigh,
		Severities: []sextant.SourcedSeverity{
			{Source: "nvd", Severity: sextant.SeverityCritical, Text: "CRITICAL"},
			{Source: "vendor", Severity: sextant.SeverityHigh, Text: "important"},
		},
	}
	score := sextant.Score{Value: 7.5, Priority: sextant.P1}
	scan := sextant.ScanRecord{Scores: map[string]sextant.Score{"f1": score}}
	row, err := NewRow(scan, f)
	if err != nil {
		t.Fatalf("NewRow: %v", err)
	}
	rec, err := Record("f1", "open", []byte(row.Detail), []byte(row.Data))
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	if diff := cmp.Diff(f, rec.Finding); diff != "" {
		t.Errorf("Record(NewRow(f)).Finding (-want +got):\n%s", diff)
	}
	if rec.Status != sextant.StatusOpen || !cmp.Equal(rec.Score, score) {
		t.Errorf("Record(NewRow(f)) status %q, score %+v, want open, %+v", rec.Status, rec.Score, score)
	}
}

func TestRecordErrors(t *testing.T) {
	tests := []struct {
		name, detail, data, want string
	}{
		{"bad data", `{}`, `{`, "finding f1: decode stored finding: unexpected end of JSON input"},
		{"no finding", `{}`, `{}`, "finding f1: decode stored finding: <nil>"},
		{"bad score", `[`, `{"finding":{}}`, "finding f1: decode score: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Record("f1", "open", []byte(tt.detail), []byte(tt.data))
			if err == nil || err.Error() != tt.want {
				t.Errorf("Record(%q, %q) = %v, want %q", tt.detail, tt.data, err, tt.want)
			}
		})
	}
}

func TestNewRow(t *testing.T) {
	scored := sextant.Score{Value: 9, Priority: sextant.P1}
	scan := sextant.ScanRecord{Scores: map[string]sextant.Score{"a": scored}}
	tests := []struct {
		id         string
		wantScore  sextant.Score
		wantScored bool
	}{
		{"a", scored, true},
		{"b", sextant.Score{Priority: sextant.P3}, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			row, err := NewRow(scan, &sextant.Finding{ID: tt.id})
			if err != nil {
				t.Fatalf("NewRow(%q): %v", tt.id, err)
			}
			if !cmp.Equal(row.Score, tt.wantScore) || row.Scored != tt.wantScored || row.Data == "" || row.Detail == "" {
				t.Errorf("NewRow(%q) = %+v, want score %+v, scored %v", tt.id, row, tt.wantScore, tt.wantScored)
			}
		})
	}
}

func TestMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/0002_b.sql": {Data: []byte("B")},
		"migrations/0001_a.sql": {Data: []byte("A")},
		"migrations/README":     {Data: []byte("not a migration")},
	}
	got, err := Migrations(fsys)
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	want := []Migration{{"0001_a", "A"}, {"0002_b", "B"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Migrations (-want +got):\n%s", diff)
	}
}

func TestActionRoundTrip(t *testing.T) {
	a := sextant.Action{
		ID: "act_1", Priority: sextant.P1, Score: 61.25, Title: "Upgrade openssl", Artifact: "img",
		Kind: sextant.ActionUpgradePackage, Package: "deb/openssl", Commands: []string{"apt-get install openssl"},
		FindingIDs: []string{"f1"}, RiskRemoved: 61.25,
		Factors: []sextant.Factor{{Name: "kev", Value: true, Weight: 30, Contribution: 30}},
	}
	data, err := EncodeAction(a)
	if err != nil {
		t.Fatalf("EncodeAction: %v", err)
	}
	got, err := DecodeAction("act_1", []byte(data))
	if err != nil {
		t.Fatalf("DecodeAction: %v", err)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("DecodeAction(EncodeAction(a)) (-want +got):\n%s", diff)
	}
	if _, err := DecodeAction("act_1", []byte("{")); err == nil {
		t.Errorf("DecodeAction of truncated JSON: no error")
	}
}

func TestSameJSON(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":[true,"x"]}`, `{"a":1,"b":[true,"x"]}`, true},
		{`{"a":1,"b":[true,"x"]}`, `{"b": [true, "x"], "a": 1.0}`, true},
		{`{"a":1}`, `{"a":2}`, false},
		{`{"a":1}`, `{"a":1,"b":null}`, false},
		{`[1,2]`, `[2,1]`, false},
		{`{`, `{`, true},
		{`{`, `{}`, false},
	}
	for _, tt := range tests {
		if got := SameJSON([]byte(tt.a), []byte(tt.b)); got != tt.want {
			t.Errorf("SameJSON(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
