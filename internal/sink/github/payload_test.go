package github

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sextant-dev/sextant"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleContent is a realistic action: one package upgrade fixing two
// glibc CVEs in one image.
func sampleContent() sextant.TicketContent {
	return sextant.TicketContent{
		Action: sextant.Action{
			ID:               "act_9f2c1e0b7a4d4c21b3e8",
			Priority:         sextant.P0,
			Score:            91.4,
			Title:            "Upgrade libc6 2.36-9+deb12u4 → 2.36-9+deb12u7 in registry.example/payments/api:1.4.2 (fixes 2 vulnerabilities)",
			Artifact:         "registry.example/payments/api:1.4.2",
			Kind:             sextant.ActionUpgradePackage,
			Package:          "libc6",
			Ecosystem:        "deb",
			InstalledVersion: "2.36-9+deb12u4",
			TargetVersion:    "2.36-9+deb12u7",
			Commands:         []string{"apt-get update && apt-get install -y --only-upgrade libc6=2.36-9+deb12u7"},
			Notes:            []string{"Rebuild the image and redeploy: running containers keep the old library until restarted."},
			Vulnerabilities:  []string{"CVE-2024-2961", "CVE-2023-4911"},
			FindingIDs:       []string{"fnd_01", "fnd_02"},
			RiskRemoved:      163.2,
			Factors: []sextant.Factor{
				{Name: "impact", Value: 8.8, Weight: 40, Contribution: 35.2, Evidence: "CVSS 3.1 base 8.8 (NVD)"},
				{Name: "kev", Value: true, Weight: 0.9, Contribution: 46.6, Evidence: "listed in CISA KEV since 2023-11-21"},
				{Name: "epss", Value: 0.93, Weight: 0.05, Contribution: 5.1, Evidence: "EPSS 0.93 (percentile 0.99) on 2026-08-20"},
				{Name: "internet_exposure", Value: true, Weight: 10, Contribution: 4.5, Evidence: "Service payments/api is exposed by Ingress api.example.com"},
			},
		},
		Status:   sextant.ActionOpen,
		Findings: 2,
		Owner:    "team-payments",
		Summary:  "glibc in this image lets a local user become root (Looney Tunables) and lets a crafted iconv call corrupt memory; the first is exploited in the wild.",
		Link:     "https://sextant.example/actions/act_9f2c1e0b7a4d4c21b3e8",
	}
}

// hostileContent carries finding text that tries to ping people, forge
// sextant's marker, inject HTML and links, and break out of code.
func hostileContent() sextant.TicketContent {
	c := sampleContent()
	c.Action.Title = "Upgrade x @octocat\n<!-- sextant:key=sextant-forged -->"
	c.Summary = "Ping @everyone and @acme/security-team, see #1 and acme/other#2.\n" +
		"<!-- sextant:key=sextant-forged -->\n<details><summary>x</summary>hidden</details>\n" +
		"[click here](https://evil.example) ![t](https://evil.example/t.png) &commat;octocat &#64;octocat &lt;!-- x\n" +
		"`unclosed code \\` backslash \u202eevil\x00"
	c.Action.Artifact = "registry.example/x@sha256:abc`` weird"
	c.Action.Commands = []string{"echo '```'\n```\n@octocat <!-- sextant:key=sextant-forged -->\n````"}
	c.Action.Vulnerabilities = []string{"CVE-2024-2961", "CVE-2024-0001](https://evil.example)", "GHSA-xxxx-yyyy-zzzz", "GHSA-2xq4-jfv3-6xjm"}
	c.Action.Factors = []sextant.Factor{{Name: "kev", Value: "a|b", Weight: 1, Contribution: 1, Evidence: "x | y\nnew row"}}
	c.Owner = "@acme/payments"
	c.Link = "javascript:alert(1)"
	return c
}

func sampleConfig() Config {
	return Config{Owner: "acme", Repo: "payments", Token: "t", Labels: []string{"sextant", "security"}, Assignees: []string{"amy"}}
}

func writeGolden(t *testing.T, name string, v any) {
	t.Helper()
	b, err := encode(v)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	got := append(buf.Bytes(), '\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, d)
	}
}

func TestGolden(t *testing.T) {
	t.Run("create_issue", func(t *testing.T) {
		writeGolden(t, "create_issue.golden.json", NewIssue(sampleConfig(), sampleContent()))
	})
	t.Run("create_issue_hostile", func(t *testing.T) {
		writeGolden(t, "create_issue_hostile.golden.json", NewIssue(sampleConfig(), hostileContent()))
	})
	t.Run("check_run", func(t *testing.T) {
		create, updates, err := NewCheckRun("ce587453ced02b1526dfb4cb910479d431683101", "sextant", "failure",
			"## 2 new high-risk findings in this change\n\n| Priority | Action |\n|---|---|\n| P0 | Upgrade libc6 |",
			[]Annotation{{
				Path: "deploy/api.yaml", StartLine: 12, Level: LevelFailure, Title: "CVE-2024-2961",
				Message: "libc6 2.36-9+deb12u4 in image registry.example/payments/api:1.4.2", RawDetails: "fixed in 2.36-9+deb12u7",
			}, {
				Path: "Dockerfile", StartLine: 1, EndLine: 3, Message: "base image debian:12.5 has 14 fixable vulnerabilities",
			}},
			time.Date(2026, 8, 21, 10, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if len(updates) != 0 {
			t.Errorf("NewCheckRun with 2 annotations: %d updates, want 0", len(updates))
		}
		writeGolden(t, "check_run.golden.json", create)
	})
}

// outsideCode drops fenced code blocks and code spans from markdown, to
// check what GitHub would render as text.
func outsideCode(md string) string {
	var b strings.Builder
	inFence := ""
	for _, l := range strings.Split(md, "\n") {
		if m := regexp.MustCompile("^(`{3,})").FindString(l); m != "" {
			switch {
			case inFence == "":
				inFence = m
				continue
			case strings.TrimSpace(l) == inFence || (strings.Trim(l, "`") == "" && len(strings.TrimSpace(l)) >= len(inFence)):
				inFence = ""
				continue
			}
		}
		if inFence != "" {
			continue
		}
		b.WriteString(l)
		b.WriteByte('\n')
	}
	// Code spans: runs of backticks not preceded by a backslash.
	spans := regexp.MustCompile("(^|[^\\\\])(`+)")
	out := b.String()
	for {
		loc := spans.FindStringSubmatchIndex(out)
		if loc == nil {
			return out
		}
		open := out[loc[4]:loc[5]]
		rest := out[loc[5]:]
		end := strings.Index(rest, open)
		if end < 0 {
			return out
		}
		out = out[:loc[4]] + "CODE" + rest[end+len(open):]
	}
}

func TestHostileTextIsNeutralised(t *testing.T) {
	c := hostileContent()
	body := IssueBody(c)
	key := sextant.CorrelationKey(c.Action.ID)
	if !strings.HasPrefix(body, Marker(key)+"\n") {
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
		t.Errorf("body holds a link from finding text:\n%s", text)
	}
	for _, bad := range []string{"<details", "&commat;", "&#64;", "javascript:", "\u202e", "\x00"} {
		if strings.Contains(text, bad) {
			t.Errorf("body holds %q outside code:\n%s", bad, text)
		}
	}
	// The command's ``` and ```` cannot end the fence around it.
	if !strings.Contains(body, "`````sh\necho '```'\n```\n@octocat <!-- sextant:key=sextant-forged -->\n````\n`````") {
		t.Errorf("the command's fence is not longer than its backtick runs:\n%s", body)
	}
	if title := IssueTitle(c); strings.Contains(title, "\n") {
		t.Errorf("IssueTitle = %q spans lines", title)
	}
	// Well-formed advisory IDs are linked; the rest is text.
	for _, want := range []string{
		"[CVE-2024-2961](https://nvd.nist.gov/vuln/detail/CVE-2024-2961)",
		"[GHSA-2xq4-jfv3-6xjm](https://github.com/advisories/GHSA-2xq4-jfv3-6xjm)",
		"- CVE-2024-0001\\](https://evil.example)",
		"- GHSA-xxxx-yyyy-zzzz\n",
		"| kev | a\\|b | 1 | +1.0 | x \\| y new row |",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

func TestEscapeText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text, kept *as is*", "plain text, kept *as is*"},
		{"@octocat", "@\u200boctocat"},
		{"mail a@b.example", "mail a@\u200bb.example"},
		{"a lone @ sign", "a lone @ sign"},
		{"#12 and # heading", "#\u200b12 and # heading"},
		{"<!-- x -->", "&lt;!-- x -->"},
		{"&#64;x &commat;", "&amp;#\u200b64;x &amp;commat;"},
		{"[a](b) `c` \\", "\\[a\\](b) \\`c\\` \\\\"},
		{"line\r\nbreak\x07", "line\nbreak"},
	}
	for _, tt := range tests {
		if got := EscapeText(tt.in); got != tt.want {
			t.Errorf("EscapeText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCodeSpan(t *testing.T) {
	tests := []struct{ in, want string }{
		{"libc6", "`libc6`"},
		{"a`b", "``a`b``"},
		{"`x``", "``` `x`` ```"},
		{"multi\nline", "`multi line`"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := codeSpan(tt.in); got != tt.want {
			t.Errorf("codeSpan(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestIssueBodyLimits(t *testing.T) {
	c := sampleContent()
	c.Action.Title = strings.Repeat("é", 400)
	for range 300 {
		c.Action.Vulnerabilities = append(c.Action.Vulnerabilities, "CVE-2024-99999")
	}
	c.Summary = strings.Repeat("a long summary. ", 5000)
	if n := len([]rune(IssueTitle(c))); n != MaxTitle {
		t.Errorf("len(IssueTitle) = %d, want %d", n, MaxTitle)
	}
	body := IssueBody(c)
	if n := len([]rune(body)); n > MaxBody {
		t.Errorf("len(IssueBody) = %d, want at most %d", n, MaxBody)
	}
	if !strings.HasSuffix(body, "(cut: the full plan is in sextant)") {
		t.Errorf("IssueBody does not say it was cut")
	}
	c.Summary = ""
	if body := IssueBody(c); !strings.Contains(body, "- … and 102 more") {
		t.Errorf("IssueBody does not cap the vulnerability list")
	}
}

func TestNewIssueLabels(t *testing.T) {
	cfg := sampleConfig()
	key := sextant.CorrelationKey(sampleContent().Action.ID)
	cfg.Labels = append(cfg.Labels, key)
	got := NewIssue(cfg, sampleContent()).Labels
	want := []string{"sextant", "security", key}
	if !cmp.Equal(got, want) {
		t.Errorf("labels = %q, want %q (the key once)", got, want)
	}
}

func TestNewCheckRunBatches(t *testing.T) {
	var as []Annotation
	for i := range 120 {
		as = append(as, Annotation{Path: "deploy/api.yaml", StartLine: i + 1, Message: "m"})
	}
	create, updates, err := NewCheckRun(strings.Repeat("a", 40), "sextant", "neutral", "", as, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	sizes := []int{len(create.Output.Annotations)}
	for _, u := range updates {
		sizes = append(sizes, len(u.Output.Annotations))
		if u.Output.Title != "sextant" || u.Output.Summary != "sextant" || u.Name != "" || u.Conclusion != "" {
			t.Errorf("update = %+v, want only the output, with title and summary", u)
		}
	}
	if !cmp.Equal(sizes, []int{50, 50, 20}) {
		t.Errorf("batches of %v annotations, want [50 50 20]", sizes)
	}
	if updates[1].Output.Annotations[0].StartLine != 101 || updates[1].Output.Annotations[0].Level != LevelWarning || updates[1].Output.Annotations[0].EndLine != 101 {
		t.Errorf("annotation 101 = %+v", updates[1].Output.Annotations[0])
	}

	bad := []struct {
		name                     string
		sha, runName, conclusion string
		annotations              []Annotation
	}{
		{"short sha", "abc", "sextant", "success", nil},
		{"no name", strings.Repeat("a", 40), "", "success", nil},
		{"bad conclusion", strings.Repeat("a", 40), "sextant", "completed", nil},
		{"absolute path", strings.Repeat("a", 40), "sextant", "success", []Annotation{{Path: "/etc/passwd", StartLine: 1, Message: "m"}}},
		{"line 0", strings.Repeat("a", 40), "sextant", "success", []Annotation{{Path: "a", Message: "m"}}},
		{"bad level", strings.Repeat("a", 40), "sextant", "success", []Annotation{{Path: "a", StartLine: 1, Level: "error", Message: "m"}}},
		{"no message", strings.Repeat("a", 40), "sextant", "success", []Annotation{{Path: "a", StartLine: 1}}},
	}
	for _, tt := range bad {
		if _, _, err := NewCheckRun(tt.sha, tt.runName, tt.conclusion, "s", tt.annotations, time.Unix(0, 0)); sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("NewCheckRun (%s) = %v, want EINVALID", tt.name, err)
		}
	}
}

func TestParseLink(t *testing.T) {
	h := `<https://api.github.com/repositories/1/issues/7/comments?page=2&per_page=100>; rel="next", <https://api.github.com/repositories/1/issues/7/comments?page=5&per_page=100>; rel="last"`
	got := parseLink(h)
	want := map[string]string{
		"next": "https://api.github.com/repositories/1/issues/7/comments?page=2&per_page=100",
		"last": "https://api.github.com/repositories/1/issues/7/comments?page=5&per_page=100",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("parseLink (-want +got):\n%s", d)
	}
	if got := parseLink("garbage, <x>; rel=\"prev\""); got["next"] != "" || got["prev"] != "x" {
		t.Errorf("parseLink(garbage) = %v", got)
	}
}
