package slack_test

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
	"github.com/sextant-dev/sextant/internal/sink/slack"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

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
		Summary:  "CVE-2023-4911 (Looney Tunables) lets a local user become root through GLIBC_TUNABLES; it is in CISA's KEV catalog. The image runs in production behind the public ingress.",
		Link:     "https://sextant.example/actions/" + id,
	}
}

func sample() sextant.ChatMessage {
	return sextant.ChatMessage{Content: sampleContent(), Text: "P0: upgrade libc6 in payments/api (2 CVEs, 1 in KEV)"}
}

// hostile is an action whose scanner-supplied text tries to mention
// everyone, forge links, leave the code block and reorder characters.
func hostile() sextant.ChatMessage {
	m := sample()
	a := &m.Content.Action
	a.Title = "Upgrade <!channel> <https://evil.example/login|click here> & *urgent* in <@U0BOSS>"
	a.Package = "libc6<!here>"
	a.Commands = []string{"echo ```\n<https://evil.example|x> && rm -rf /tmp/\u202eexe.txt"}
	a.Vulnerabilities = []string{"CVE-2024-2961", "CVE-2024-2961|<https://evil.example>", "GHSA-xxxx-<!everyone>"}
	a.Notes = []string{"see <https://evil.example|the fix> &amp; <!subteam^S0ALL>"}
	m.Content.Owner = "<@U0BOSS>"
	m.Content.Summary = "Click <https://evil.example/reset|here> to fix.\nPing <!channel>."
	m.Text = "P0: <!channel> look"
	m.ApprovalID = "apr_5e1f0c8a"
	return m
}

func TestNewMessageGolden(t *testing.T) {
	approval := sample()
	approval.ApprovalID = "apr_5e1f0c8a"
	decided := approval
	decided.Decided = "Approved by @amy (U0AMY) at 2026-08-21 10:04 UTC"
	resolved := sample()
	resolved.Content.Status = sextant.ActionResolved
	resolved.Content.Link = ""
	resolved.Content.Owner = ""
	resolved.Text = ""
	tests := []struct {
		name string
		m    sextant.ChatMessage
	}{
		{"post", sample()},
		{"approval", approval},
		{"decided", decided},
		{"resolved", resolved},
		{"hostile", hostile()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := marshalIndent(t, slack.NewMessage("C0123SEC", tt.m))
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

// TestNewMessageEscapes checks, beyond the golden file, that no text sextant
// did not write itself reaches Slack with a control character in it.
func TestNewMessageEscapes(t *testing.T) {
	msg := slack.NewMessage("C0123SEC", hostile())
	var texts []string
	texts = append(texts, msg.Text)
	for _, b := range msg.Blocks {
		if b.Text != nil {
			texts = append(texts, b.Text.Text)
		}
		for _, f := range b.Fields {
			texts = append(texts, f.Text)
		}
		for _, e := range b.Elements {
			if t, ok := e.(*slack.Text); ok {
				texts = append(texts, t.Text)
			}
		}
	}
	for _, s := range texts {
		for _, bad := range []string{"<!", "<@", "<https://evil", "\u202e", "```\n<"} {
			if strings.Contains(s, bad) {
				t.Errorf("NewMessage(hostile) text %q contains %q", s, bad)
			}
		}
		// The only links are sextant's own: the action page and advisories.
		for rest := s; ; {
			i := strings.Index(rest, "<")
			if i < 0 {
				break
			}
			rest = rest[i+1:]
			if !strings.HasPrefix(rest, "https://sextant.example/") && !strings.HasPrefix(rest, "https://nvd.nist.gov/vuln/detail/CVE-") {
				t.Errorf("NewMessage(hostile) text %q opens a link or mention at %q", s, rest)
			}
		}
	}
	for _, b := range msg.Blocks {
		if b.Type == "section" && b.Text != nil && strings.HasPrefix(b.Text.Text, "*Fix*") {
			if n := strings.Count(b.Text.Text, "```"); n != 2 {
				t.Errorf("fix block %q has %d code fences, want 2", b.Text.Text, n)
			}
		}
	}
}

func TestNewMessageButtons(t *testing.T) {
	tests := []struct {
		name       string
		approval   string
		decided    string
		wantAction bool
		wantCtx    bool
	}{
		{"no approval", "", "", false, false},
		{"approval", "apr_1", "", true, false},
		{"decided", "apr_1", "Rejected by @amy", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sample()
			m.ApprovalID, m.Decided = tt.approval, tt.decided
			msg := slack.NewMessage("C1", m)
			var gotAction, gotCtx bool
			for _, b := range msg.Blocks {
				switch b.Type {
				case "actions":
					gotAction = true
					want := []any{
						slack.Button{Type: "button", ActionID: slack.ActionApprove, Style: "primary", Value: tt.approval},
						slack.Button{Type: "button", ActionID: slack.ActionReject, Style: "danger", Value: tt.approval},
					}
					ignore := cmp.FilterPath(func(p cmp.Path) bool {
						f := p.Last().String()
						return f == ".Text" || f == ".Confirm"
					}, cmp.Ignore())
					if diff := cmp.Diff(want, b.Elements, ignore); diff != "" {
						t.Errorf("buttons differ (-want +got):\n%s", diff)
					}
				case "context":
					gotCtx = true
				}
			}
			if gotAction != tt.wantAction || gotCtx != tt.wantCtx {
				t.Errorf("NewMessage(approval %q, decided %q): actions block %v, context block %v; want %v, %v", tt.approval, tt.decided, gotAction, gotCtx, tt.wantAction, tt.wantCtx)
			}
			if msg.Metadata.EventPayload.Key != sextant.CorrelationKey(m.Content.Action.ID) {
				t.Errorf("metadata key = %q, want %q", msg.Metadata.EventPayload.Key, sextant.CorrelationKey(m.Content.Action.ID))
			}
		})
	}
}
