package service_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/fix"
	"github.com/sextant-dev/sextant/internal/route"
	"github.com/sextant-dev/sextant/internal/service"
	"github.com/sextant-dev/sextant/internal/sink/github"
	"github.com/sextant-dev/sextant/internal/sink/github/githubtest"
	"github.com/sextant-dev/sextant/internal/udiff"
)

// githubPRs adapts github.Client to service.PullRequester, as cmd/sextant
// does.
type githubPRs struct{ c *github.Client }

func (g githubPRs) OpenPullRequest(ctx context.Context, r service.Remediation) (sextant.TicketRef, error) {
	pr := github.FixPR{Base: r.Base, Branch: r.Branch, Title: github.FixPRTitle(r.Content)}
	var paths []string
	for _, f := range r.Files {
		pr.Files = append(pr.Files, github.FileEdit(f))
		paths = append(paths, f.Path)
	}
	pr.Body = github.FixPRBody(r.Content, r.Approval, paths)
	return g.c.OpenFixPullRequest(ctx, pr)
}

const (
	ghToken  = "ghs_remediate0000000000000000000000000000"
	cartPath = "services/cart/Dockerfile"
	cartFile = `# syntax=docker/dockerfile:1
FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY cart /usr/local/bin/cart
USER 10001
CMD ["cart"]
`
	// cartFixed is cartFile as fix.DockerfileDiff edits it for the libc6
	// upgrade of trivy-two-vulns.json.
	cartFixed = `# syntax=docker/dockerfile:1
FROM debian:12
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# sextant: upgrade 1 OS package to fix 1 CVE
RUN apt-get update \
 && apt-get install -y --only-upgrade \
      libc6=2.36-9+deb12u7 \
 && rm -rf /var/lib/apt/lists/*
COPY cart /usr/local/bin/cart
USER 10001
CMD ["cart"]
`
)

// hangingTransport forwards requests; after a matching one it blocks until
// released, as a process killed between GitHub's create and its own
// record of it.
type hangingTransport struct {
	next    http.RoundTripper
	mu      sync.Mutex
	hangOn  string
	hung    chan struct{}
	release chan struct{}
}

func (h *hangingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(r)
	h.mu.Lock()
	hang := h.hangOn != "" && h.hangOn == r.Method+" "+r.URL.Path
	if hang {
		h.hangOn = ""
	}
	h.mu.Unlock()
	if hang {
		close(h.hung)
		<-h.release
	}
	return resp, err
}

type remediateEnv struct {
	dispatchEnv
	gh    *githubtest.Server
	trans *hangingTransport
}

func newRemediateEnv(t *testing.T, mode sextant.Mode, dockerfiles map[string]string) *remediateEnv {
	t.Helper()
	db := openStore(t)
	svc := newService(t, db, db)
	gh := githubtest.New(t, githubtest.Config{Owner: "shop", Repo: "platform", Token: ghToken})
	gh.AddFile("main", cartPath, cartFile)
	trans := &hangingTransport{next: gh.Client().Transport}
	c, err := github.New(github.Config{BaseURL: gh.URL(), Owner: "shop", Repo: "platform", Token: ghToken}, &http.Client{Transport: trans})
	if err != nil {
		t.Fatal(err)
	}
	d := &service.Dispatcher{
		Store:        db,
		Destinations: map[string]*service.Destination{},
		Router:       &route.Router{},
		Mode:         mode,
		Audit:        audit.NewLog(db),
		Backoff:      time.Millisecond,
		Lease:        200 * time.Millisecond,
		Remediator:   &service.Remediator{PRs: githubPRs{c}, Findings: db, Dockerfiles: dockerfiles},
		Link:         func(id string) string { return "https://sextant.example/v1/actions/" + id },
	}
	svc.Dispatch = d
	e := &remediateEnv{dispatchEnv: dispatchEnv{db: db, svc: svc, d: d}, gh: gh, trans: trans}
	body, err := os.ReadFile("../http/testdata/trivy-two-vulns.json")
	if err != nil {
		t.Fatal(err)
	}
	e.scan(t, body)
	return e
}

var cartDockerfiles = map[string]string{"registry.example/shop/cart": cartPath}

// action returns the libc6 upgrade of trivy-two-vulns.json (its other
// action is a no-fix one).
func (e *remediateEnv) action(t *testing.T) sextant.ActionRecord {
	t.Helper()
	var out []sextant.ActionRecord
	for _, rec := range openActions(t, e.db) {
		if rec.Action.Kind == sextant.ActionUpgradePackage {
			out = append(out, rec)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%d open upgrade actions, want 1", len(out))
	}
	return out[0]
}

// decide asks for a remediation of the action (as an analyst) and records
// an approver's decision on it; status "" leaves it pending.
func (e *remediateEnv) decide(t *testing.T, actionID string, status sextant.ApprovalStatus) sextant.Approval {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	a, err := e.db.RequestApproval(ctx, sextant.Approval{ActionID: actionID, Kind: "remediate", Reason: "glibc is exploited in the wild",
		RequestedBy: "token:ci", RequestedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if status == "" {
		return a
	}
	a, err = e.d.Decide(ctx, a.ID, status, "token:alice", "ok to patch")
	if err != nil {
		t.Fatalf("Decide(%s): %v", status, err)
	}
	return a
}

func (e *remediateEnv) auditCount(t *testing.T, action string) (n int, details []map[string]any) {
	t.Helper()
	for en, err := range e.db.Entries(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if en.Action == action {
			n++
			var m map[string]any
			json.Unmarshal(en.Details, &m)
			details = append(details, m)
		}
	}
	return n, details
}

func (e *remediateEnv) writes() int {
	n := 0
	for _, r := range e.gh.Requests() {
		if r.Method != http.MethodGet {
			n++
		}
	}
	return n
}

func TestRemediateOpensOnePullRequest(t *testing.T) {
	ctx := context.Background()
	e := newRemediateEnv(t, sextant.ModeRemediate, cartDockerfiles)
	rec := e.action(t)
	e.deliverAll(t, e.d)
	if n := len(e.gh.Pulls()); n != 0 {
		t.Fatalf("%d pull requests before any approval", n)
	}

	a := e.decide(t, rec.Action.ID, sextant.ApprovalApproved)
	e.deliverAll(t, e.d)
	pulls := e.gh.Pulls()
	if len(pulls) != 1 {
		t.Fatalf("%d pull requests after the approval, want 1", len(pulls))
	}
	pr := pulls[0]
	branch := service.RemediationBranch(rec.Action.ID)
	if pr.Head != branch || pr.Base != "main" || !strings.HasPrefix(pr.Title, "[sextant] Upgrade libc6") {
		t.Errorf("pull request = %+v, want %s → main titled [sextant] Upgrade libc6…", pr, branch)
	}
	for _, want := range []string{"Opened by sextant", "CVE-2024-2961", "libc6=2.36-9+deb12u7",
		"Approved by `token:alice`", a.ID, "`" + cartPath + "`", "https://sextant.example/v1/actions/" + rec.Action.ID} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("pull request body lacks %q:\n%s", want, pr.Body)
		}
	}
	if got, _ := e.gh.File(branch, cartPath); got != cartFixed {
		t.Errorf("%s on %s =\n%s\nwant\n%s", cartPath, branch, got, cartFixed)
	}
	if got, _ := e.gh.File("main", cartPath); got != cartFile {
		t.Errorf("main was changed:\n%s", got)
	}
	del, err := e.db.Delivery(ctx, rec.Action.ID, service.RemediateDestination)
	if err != nil || del.Ref.URL != "https://github.com/shop/platform/pull/1" || del.Pending || del.Dead {
		t.Errorf("remediate delivery = %+v, %v; want the pull request recorded", del, err)
	}
	n, details := e.auditCount(t, "remediate.pr")
	if n != 1 || details[0]["url"] != "https://github.com/shop/platform/pull/1" || details[0]["approval"] != a.ID || details[0]["approved_by"] != "token:alice" {
		t.Errorf("audit remediate.pr = %d %v, want one with the URL and the approval", n, details)
	}

	// Again: a retry through the outbox's API, a rescan, a reconcile. The
	// pull request is not opened again and GitHub gets no write.
	writes := e.writes()
	if err := e.db.QueueDelivery(ctx, rec.Action.ID, service.RemediateDestination, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := e.d.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	e.deliverAll(t, e.d)
	if n := len(e.gh.Pulls()); n != 1 || e.writes() != writes {
		t.Errorf("after a retry: %d pull requests and %d more writes, want 1 and none", n, e.writes()-writes)
	}
	if n, _ := e.auditCount(t, "remediate.pr"); n != 1 {
		t.Errorf("%d remediate.pr audit entries, want 1", n)
	}
}

// A sextant killed between GitHub's create and its own record of it: the
// restarted one takes the claim back after its lease and finds the pull
// request instead of opening another.
func TestRemediateCrashAfterCreate(t *testing.T) {
	e := newRemediateEnv(t, sextant.ModeRemediate, cartDockerfiles)
	rec := e.action(t)
	e.trans.hangOn = "POST /repos/shop/platform/pulls"
	e.trans.hung, e.trans.release = make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(e.trans.release) })
	e.decide(t, rec.Action.ID, sextant.ApprovalApproved)

	ctx1, kill := context.WithCancel(context.Background())
	go e.d.RunDeliveries(ctx1, time.Millisecond)
	select {
	case <-e.trans.hung:
	case <-time.After(20 * time.Second):
		t.Fatal("the first dispatcher never opened the pull request")
	}
	kill()
	if n := len(e.gh.Pulls()); n != 1 {
		t.Fatalf("%d pull requests when the first dispatcher died, want 1", n)
	}

	restarted := &service.Dispatcher{Store: e.d.Store, Destinations: e.d.Destinations, Router: e.d.Router, Mode: e.d.Mode,
		Audit: e.d.Audit, Backoff: e.d.Backoff, Lease: e.d.Lease, Remediator: e.d.Remediator}
	e.deliverAll(t, restarted)
	if n := len(e.gh.Pulls()); n != 1 {
		t.Errorf("%d pull requests after the restart, want 1", n)
	}
	del, err := e.db.Delivery(context.Background(), rec.Action.ID, service.RemediateDestination)
	if err != nil || del.Ref.ExternalID != "1" {
		t.Errorf("remediate delivery = %+v, %v; want pull request 1 recorded", del, err)
	}
}

func TestRemediateNeedsApprovalAndMode(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		mode   sextant.Mode
		status sextant.ApprovalStatus
	}{
		{"pending approval", sextant.ModeRemediate, ""},
		{"rejected", sextant.ModeRemediate, sextant.ApprovalRejected},
		{"observe mode", sextant.ModeObserve, sextant.ApprovalApproved},
		{"ticket mode", sextant.ModeTicket, sextant.ApprovalApproved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRemediateEnv(t, tt.mode, cartDockerfiles)
			rec := e.action(t)
			e.decide(t, rec.Action.ID, tt.status)
			if err := e.d.Reconcile(ctx); err != nil {
				t.Fatal(err)
			}
			e.deliverAll(t, e.d)
			if n := len(e.gh.Pulls()); n != 0 || e.writes() != 0 {
				t.Fatalf("%d pull requests and %d writes to GitHub, want none", n, e.writes())
			}
			// Even a delivery queued by hand (the retry API) opens nothing.
			if err := e.db.QueueDelivery(ctx, rec.Action.ID, service.RemediateDestination, time.Now()); err != nil {
				t.Fatal(err)
			}
			e.deliverAll(t, e.d)
			if n := len(e.gh.Pulls()); n != 0 || e.writes() != 0 {
				t.Fatalf("after a hand-queued delivery: %d pull requests and %d writes, want none", n, e.writes())
			}
			if n, _ := e.auditCount(t, "remediate.pr"); n != 0 {
				t.Errorf("%d remediate.pr audit entries, want none", n)
			}
			// An approved remediation waits for remediate mode, and
			// follows when the server is switched to it.
			if tt.status == sextant.ApprovalApproved {
				e.d.Mode = sextant.ModeRemediate
				if err := e.d.Reconcile(ctx); err != nil {
					t.Fatal(err)
				}
				e.deliverAll(t, e.d)
				if n := len(e.gh.Pulls()); n != 1 {
					t.Errorf("after switching to remediate mode: %d pull requests, want 1", n)
				}
			}
		})
	}
}

func TestRemediateUnmappedArtifactIsDead(t *testing.T) {
	ctx := context.Background()
	e := newRemediateEnv(t, sextant.ModeRemediate, map[string]string{"registry.example/shop/checkout": "services/checkout/Dockerfile"})
	rec := e.action(t)
	e.decide(t, rec.Action.ID, sextant.ApprovalApproved)
	e.deliverAll(t, e.d)
	if n := len(e.gh.Pulls()); n != 0 {
		t.Fatalf("%d pull requests for an unmapped artifact", n)
	}
	del, err := e.db.Delivery(ctx, rec.Action.ID, service.RemediateDestination)
	if err != nil {
		t.Fatal(err)
	}
	want := "no Dockerfile is mapped to registry.example/shop/cart: add it under remediate.dockerfiles"
	if !del.Dead || del.Attempts != 1 || !strings.Contains(del.LastError, want) {
		t.Errorf("delivery = dead %v after %d attempts, error %q; want dead at once with %q", del.Dead, del.Attempts, del.LastError, want)
	}
	if n, _ := e.auditCount(t, "delivery.dead"); n != 1 {
		t.Errorf("%d delivery.dead audit entries, want 1", n)
	}
}

func TestRemediationKinds(t *testing.T) {
	r := &service.Remediator{Dockerfiles: cartDockerfiles}
	base := sextant.Action{ID: "act_1", Artifact: "registry.example/shop/cart@sha256:" + strings.Repeat("a", 64)}
	tests := []struct {
		name   string
		change func(*sextant.Action)
		want   string // "" for no error
	}{
		{"os package", func(a *sextant.Action) { a.Kind, a.Ecosystem, a.Package = sextant.ActionUpgradePackage, "deb", "libc6" }, ""},
		{"base image", func(a *sextant.Action) { a.Kind = sextant.ActionRebuildBase }, ""},
		{"npm package", func(a *sextant.Action) {
			a.Kind, a.Ecosystem, a.Package = sextant.ActionUpgradePackage, "npm", "lodash"
		}, "only OS packages and base images"},
		{"configuration", func(a *sextant.Action) { a.Kind = sextant.ActionFixConfig }, "not remediated by pull request"},
		{"no fix", func(a *sextant.Action) { a.Kind = sextant.ActionNoFix }, "not remediated by pull request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base
			tt.change(&a)
			got, err := r.Remediation(context.Background(), sextant.TicketContent{Action: a}, sextant.Approval{})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Remediation(%s) error = %v", tt.name, err)
			case tt.want != "" && (sextant.ErrorCode(err) != sextant.EINVALID || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Remediation(%s) error = %v, want EINVALID with %q", tt.name, err, tt.want)
			case tt.want == "" && (got.Base != "main" || got.Branch != "sextant/act_1" || len(got.Files) != 1 || got.Files[0].Path != cartPath):
				t.Errorf("Remediation(%s) = %+v", tt.name, got)
			}
		})
	}
	// An exact artifact name wins over its repository; a digest is no
	// repository.
	r.Dockerfiles["registry.example/shop/cart:legacy"] = "legacy/Dockerfile"
	r.Dockerfiles["sha256"] = "wrong/Dockerfile"
	for _, tt := range []struct {
		art  sextant.Artifact
		want string
	}{
		{sextant.Artifact{Name: "registry.example/shop/cart:legacy"}, "legacy/Dockerfile"},
		{sextant.Artifact{Name: "registry.example/shop/cart:2.1"}, cartPath},
		{sextant.Artifact{Name: "registry.example/shop/cart@sha256:" + strings.Repeat("b", 64)}, cartPath},
		{sextant.Artifact{Name: "cart", Repository: "registry.example/shop/cart", Tags: []string{"legacy"}, Digest: "sha256:" + strings.Repeat("c", 64)}, "legacy/Dockerfile"},
		{sextant.Artifact{Name: "sha256:" + strings.Repeat("d", 64)}, ""},
		{sextant.Artifact{Name: "x", RepoDigests: []string{"registry.example/shop/cart@sha256:" + strings.Repeat("e", 64)}}, cartPath},
	} {
		if p, _ := r.Dockerfile(tt.art); p != tt.want {
			t.Errorf("Dockerfile(%+v) = %q, want %q", tt.art, p, tt.want)
		}
	}
}

// The Dockerfile edit is exactly fix.DockerfileDiff's proposal, on every
// Dockerfile of fix's golden tests (CRLF, no final newline, escape
// directive, multi-stage, heredocs).
func TestRemediationEditIsTheDiff(t *testing.T) {
	upgrade := func(eco, pkg, target string) sextant.Action {
		return sextant.Action{ID: "act_1", Kind: sextant.ActionUpgradePackage, Artifact: "app:1", Ecosystem: eco, Package: pkg,
			TargetVersion: target, Commands: fix.Command(eco, "", pkg, target), Vulnerabilities: []string{"CVE-2024-0001"}}
	}
	rebuild := sextant.Action{ID: "act_2", Kind: sextant.ActionRebuildBase, Artifact: "app:1", TargetVersion: "debian:12.6-slim", FindingIDs: []string{"f1"}}
	files, err := filepath.Glob(filepath.Join("..", "fix", "testdata", "dockerfile", "*.Dockerfile"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Dockerfiles in fix's testdata: %v", err)
	}
	extra := map[string]string{
		"no-final-newline": "FROM debian:12\nCMD [\"app\"]",
		"crlf-no-newline":  "FROM debian:12\r\nRUN apt-get update && apt-get install -y curl\r\nCMD [\"app\"]",
		"only-from":        "FROM debian:12",
	}
	inputs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(f)] = b
	}
	for name, s := range extra {
		inputs[name] = []byte(s)
	}
	r := &service.Remediator{Dockerfiles: map[string]string{"app": "Dockerfile"}}
	for name, src := range inputs {
		actions := []sextant.Action{rebuild, upgrade("deb", "libc6", "2.36-9+deb12u7")}
		switch {
		case strings.Contains(name, "alpine"):
			actions[1] = upgrade("apk", "libcrypto3", "3.1.4-r5")
		case strings.Contains(name, "ubi") || strings.Contains(name, "centos"):
			actions[1] = upgrade("rpm", "openssl-libs", "1:3.0.7-25.el9_3")
		}
		for _, a := range actions {
			t.Run(name+"/"+string(a.Kind), func(t *testing.T) {
				rem, err := r.Remediation(context.Background(), sextant.TicketContent{Action: a}, sextant.Approval{})
				if err != nil {
					t.Fatal(err)
				}
				diff, err := fix.DockerfileDiff("Dockerfile", src, []sextant.Action{a})
				if err != nil {
					t.Skipf("DockerfileDiff refuses it: %v", err)
				}
				got, err := rem.Files[0].Edit(src)
				if err != nil {
					t.Fatalf("Edit(%s): %v\n%s", name, err, diff)
				}
				if re := udiff.Unified("a/Dockerfile", "b/Dockerfile", udiff.Lines(string(src)), udiff.Lines(string(got))); re != diff {
					t.Errorf("Edit(%s) differs from DockerfileDiff:\n%s\nwant\n%s", name, re, diff)
				}
			})
		}
	}
}
