package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sink/jira"
	"github.com/sextant-dev/sextant/internal/sink/jira/jiratest"
	"github.com/sextant-dev/sextant/internal/sink/slack/slacktest"
)

// syncBuffer is a bytes.Buffer safe for the server's log and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(http://[0-9.:]+)`)

// startServe runs `sextant serve` in-process and returns its URL.
func startServeInProcess(t *testing.T, env map[string]string, args ...string) (string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Main{
		Args:   append([]string{"serve", "--addr", "127.0.0.1:0", "--no-intel"}, args...),
		Stdin:  strings.NewReader(""),
		Stdout: io.Discard,
		Stderr: logs,
		Getenv: func(k string) string { return env[k] },
	}
	done := make(chan int, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop within 30s of its context ending")
		}
	})
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := listeningRE.FindStringSubmatch(logs.String()); m != nil {
			return m[1], logs
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d:\n%s", code, logs.String())
		default:
		}
	}
	t.Fatalf("serve did not start:\n%s", logs.String())
	return "", nil
}

func apiDo(t *testing.T, method, url, token, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func createToken(t *testing.T, db, name, role string) string {
	t.Helper()
	code, out, errs := run(t, "", "token", "create", "--name", name, "--role", role, "--database", db)
	if code != 0 {
		t.Fatalf("token create: %d %s", code, errs)
	}
	return strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
}

// The whole loop through the real server: a report comes in, P0 actions are
// ticketed in Jira at once, the rest wait for an approval that an approver
// gives with a signed Slack click, and the ticket follows.
func TestServeTicketsAndSlackApproval(t *testing.T) {
	fake := jiratest.New(t, jira.Cloud)
	slackFake := slacktest.New(t, "xoxb-test-token", "C0SEC")
	dir := t.TempDir()
	db := filepath.Join(dir, "sextant.db")
	analyst := createToken(t, db, "ci", "analyst")
	approver := createToken(t, db, "alice", "approver")
	const signing = "slack-signing-secret-test"
	cfg := fmt.Sprintf(`mode: ticket
slack:
  signing_secret: {env: SLACK_SIGNING_SECRET}
  approvers: {U0BOB: bob}
destinations:
  - name: jira
    type: jira
    approval: 'action.priority_rank > 0'
    url: %s
    user: %s
    token: {env: JIRA_TOKEN}
    project: %s
  - name: slack
    type: slack
    when: 'false'
    url: %s
    channel: C0SEC
    token: {env: SLACK_BOT_TOKEN}
`, fake.URL, jiratest.Email, jiratest.Project, slackFake.Config().APIURL)
	path := filepath.Join(dir, "sextant.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JIRA_TOKEN", jiratest.Token)
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
	t.Setenv("SLACK_SIGNING_SECRET", signing)
	url, logs := startServeInProcess(t, nil, "--database", db, "--config", path)

	report, err := os.ReadFile("../../internal/http/testdata/trivy-two-vulns.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, b := apiDo(t, "POST", url+"/v1/reports", analyst, "application/json", report); code != 202 {
		t.Fatalf("POST /v1/reports = %d %s", code, b)
	}
	// The action is not P0 here: it waits for approval, and Slack gets the
	// request with buttons.
	var approvals struct {
		Items []sextant.Approval `json:"items"`
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, b := apiDo(t, "GET", url+"/v1/approvals?status=pending", approver, "", nil)
		json.Unmarshal(b, &approvals)
		if len(approvals.Items) > 0 && len(slackFake.Messages()) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pending approval and Slack message after 30s; log:\n%s", logs.String())
		}
	}
	if n := len(fake.Issues()); n != 0 {
		t.Fatalf("%d Jira issues before any approval", n)
	}
	a := approvals.Items[0]

	// An analyst cannot approve.
	if code, _ := apiDo(t, "POST", url+"/v1/approvals/"+a.ID+"/approve", analyst, "application/json", nil); code != 403 {
		t.Errorf("analyst approving = %d, want 403", code)
	}
	// A forged Slack click is refused.
	hdr, body := slacktest.SignedInteraction([]byte("not-the-secret"), slacktest.BlockActions(slacktest.Click{UserID: "U0BOB", UserName: "bob", TeamID: "T0", ActionID: "sextant_approve", Value: a.ID, Channel: "C0SEC", MessageTS: "1.2"}), time.Now())
	req, _ := http.NewRequest("POST", url+"/v1/slack/interactions", bytes.NewReader(body))
	req.Header = hdr
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("forged Slack click = %d, want 401", resp.StatusCode)
	}
	// Bob approves in Slack.
	hdr, body = slacktest.SignedInteraction([]byte(signing), slacktest.BlockActions(slacktest.Click{UserID: "U0BOB", UserName: "bob", TeamID: "T0", ActionID: "sextant_approve", Value: a.ID, Channel: "C0SEC", MessageTS: "1.2"}), time.Now())
	req, _ = http.NewRequest("POST", url+"/v1/slack/interactions", bytes.NewReader(body))
	req.Header = hdr
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	reply, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(reply), "approved by bob") {
		t.Fatalf("Slack click = %d %s", resp.StatusCode, reply)
	}
	for deadline := time.Now().Add(30 * time.Second); len(fake.Issues()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no Jira issue 30s after the approval; log:\n%s", logs.String())
		}
	}
	is := fake.Issues()[0]
	found := false
	for _, l := range is.Labels {
		found = found || l == sextant.CorrelationKey(a.ActionID)
	}
	if len(fake.Issues()) != 1 || !found {
		t.Errorf("Jira issues = %+v, want one labelled %s", fake.Issues(), sextant.CorrelationKey(a.ActionID))
	}
	// The decision is on the audit trail, by Slack's approver.
	if code, out, errs := run(t, "", "audit", "export", "--database", db); code != 0 || !strings.Contains(out, `"actor":"slack:bob"`) || !strings.Contains(out, `"action":"ticket.create"`) {
		t.Errorf("audit export = %d %s; want slack:bob's approval and the ticket", code, errs)
	}
}
