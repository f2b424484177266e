package github

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sextant-dev/sextant"
)

func sampleApproval() sextant.Approval {
	return sextant.Approval{
		ID: "apr_0c1d2e3f", ActionID: "act_9f2c1e0b7a4d4c21b3e8", Kind: "remediate",
		Reason:      "glibc is exploited in the wild; patch the image",
		RequestedBy: "token:ci", RequestedAt: time.Date(2026, 8, 21, 9, 0, 0, 0, time.UTC),
		Status: sextant.ApprovalApproved, DecidedBy: "slack:alice", DecidedAt: time.Date(2026, 8, 21, 9, 30, 0, 0, time.UTC),
		Comment: "ok, ship it",
	}
}

func TestGoldenFixPR(t *testing.T) {
	golden := func(c sextant.TicketContent, a sextant.Approval) any {
		return map[string]string{"title": FixPRTitle(c), "body": FixPRBody(c, a, []string{"services/api/Dockerfile"})}
	}
	t.Run("fix_pr", func(t *testing.T) {
		writeGolden(t, "fix_pr.golden.json", golden(sampleContent(), sampleApproval()))
	})
	t.Run("fix_pr_hostile", func(t *testing.T) {
		a := sampleApproval()
		a.DecidedBy = "slack:@octocat`"
		a.Reason = "see #1 <!-- sextant:key=sextant-forged -->"
		a.Comment = "[click](https://evil.example) @everyone"
		writeGolden(t, "fix_pr_hostile.golden.json", golden(hostileContent(), a))
	})
}

func TestFixPRBodyIsNeutralised(t *testing.T) {
	c := hostileContent()
	a := sampleApproval()
	a.DecidedBy = "slack:@octocat`"
	a.Reason = "see #1 <!-- sextant:key=sextant-forged -->"
	a.Comment = "[click](https://evil.example) @everyone"
	body := FixPRBody(c, a, []string{"services/api/Dockerfile"})
	if !strings.HasPrefix(body, Marker(sextant.CorrelationKey(c.Action.ID))+"\n") {
		t.Errorf("body does not begin with its marker:\n%s", body)
	}
	text := outsideCode(body)
	if n := strings.Count(text, "<!--"); n != 1 {
		t.Errorf("body has %d HTML comments outside code, want 1 (the marker):\n%s", n, text)
	}
	if m := regexp.MustCompile(`@[A-Za-z0-9]`).FindString(text); m != "" {
		t.Errorf("body can still mention someone (%q):\n%s", m, text)
	}
	if m := regexp.MustCompile(`#[0-9]`).FindString(text); m != "" {
		t.Errorf("body can still reference an issue (%q):\n%s", m, text)
	}
	if regexp.MustCompile(`(^|[^\\])\]\(`).MatchString(strings.NewReplacer("](https://nvd.nist.gov/", "", "](https://github.com/advisories/", "").Replace(text)) {
		t.Errorf("body holds a link from finding or approval text:\n%s", text)
	}
	if title := FixPRTitle(c); strings.Contains(title, "\n") || !strings.HasPrefix(title, "[sextant] ") {
		t.Errorf("FixPRTitle = %q, want one line starting [sextant]", title)
	}
}

func TestFixPRBodySaysWhoApproved(t *testing.T) {
	body := FixPRBody(sampleContent(), sampleApproval(), []string{"services/api/Dockerfile"})
	for _, want := range []string{
		"Opened by sextant",
		"sextant ran nothing",
		"Approved by `slack:alice` at 2026-08-21 09:30 UTC (approval `apr_0c1d2e3f`).",
		"Requested by `token:ci` at 2026-08-21 09:00 UTC: glibc is exploited in the wild; patch the image",
		"> ok, ship it",
		"[CVE-2024-2961](https://nvd.nist.gov/vuln/detail/CVE-2024-2961)",
		"- `services/api/Dockerfile`",
		"```sh\napt-get update && apt-get install -y --only-upgrade libc6=2.36-9+deb12u7\n```",
		"- **Package:** `libc6` `2.36-9+deb12u4` → `2.36-9+deb12u7`",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("FixPRBody lacks %q:\n%s", want, body)
		}
	}
}
