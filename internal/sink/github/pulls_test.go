package github_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sink/github"
	"github.com/sextant-dev/sextant/internal/sink/github/githubtest"
)

const (
	dockerfilePath = "services/cart/Dockerfile"
	dockerfile     = "FROM debian:12\nRUN apt-get update && apt-get install -y curl\nCMD [\"cart\"]\n"
	fixed          = "FROM debian:12\nRUN apt-get update && apt-get install -y curl\nRUN apt-get install -y --only-upgrade libc6=2.36-9+deb12u7\nCMD [\"cart\"]\n"
	branch         = "sextant/act_9f2c1e0b7a4d4c21b3e8"
)

// upgrade is an edit as the remediator makes one: deterministic, from the
// file at the base.
func upgrade(old []byte) ([]byte, error) {
	return []byte(strings.Replace(string(old), "CMD", "RUN apt-get install -y --only-upgrade libc6=2.36-9+deb12u7\nCMD", 1)), nil
}

func fixPR() github.FixPR {
	return github.FixPR{
		Base: "main", Branch: branch,
		Title: "[sextant] Upgrade libc6 in registry.example/shop/cart:2.1",
		Body:  "Opened by sextant.",
		Files: []github.FileEdit{{Path: dockerfilePath, Edit: upgrade}},
	}
}

// count counts the requests of a method and path.
func count(srv *githubtest.Server, method, path string) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

func TestOpenFixPullRequest(t *testing.T) {
	ctx := context.Background()
	srv, c := setup(t, github.Config{})
	srv.AddFile("main", dockerfilePath, dockerfile)
	srv.AddFile("main", "README.md", "cart\n")

	ref, err := c.OpenFixPullRequest(ctx, fixPR())
	if err != nil {
		t.Fatalf("OpenFixPullRequest: %v", err)
	}
	if ref.ExternalID != "1" || ref.URL != "https://github.com/acme/payments/pull/1" {
		t.Errorf("OpenFixPullRequest = %+v, want pull request 1", ref)
	}
	if got, _ := srv.File(branch, dockerfilePath); got != fixed {
		t.Errorf("%s on %s = %q, want %q", dockerfilePath, branch, got, fixed)
	}
	if got, _ := srv.File("main", dockerfilePath); got != dockerfile {
		t.Errorf("main was changed: %q", got)
	}
	if got, ok := srv.File(branch, "README.md"); !ok || got != "cart\n" {
		t.Errorf("the branch lost the base's other files: README.md = %q, %v", got, ok)
	}
	pulls := srv.Pulls()
	if len(pulls) != 1 || pulls[0].Head != branch || pulls[0].Base != "main" || pulls[0].State != "open" ||
		pulls[0].Title != fixPR().Title || pulls[0].Body != "Opened by sextant." {
		t.Errorf("pulls = %+v, want one from %s to main", pulls, branch)
	}
	for _, r := range srv.Requests() {
		switch {
		case r.Method == http.MethodGet && r.Path == "/repos/acme/payments/pulls":
			if r.Query.Get("head") != "acme:"+branch || r.Query.Get("state") != "all" {
				t.Errorf("pull look-up query %v: want head=acme:%s and state=all", r.Query, branch)
			}
		case r.Method == http.MethodGet && r.Path == "/repos/acme/payments/contents/"+dockerfilePath:
			if ref := r.Query.Get("ref"); ref != "main" && ref != branch {
				t.Errorf("contents read at ref %q", ref)
			}
		case r.Method == http.MethodPut:
			var b map[string]string
			if err := json.Unmarshal(r.Body, &b); err != nil {
				t.Fatal(err)
			}
			content, _ := base64.StdEncoding.DecodeString(b["content"])
			if b["branch"] != branch || b["sha"] == "" || b["message"] != fixPR().Title || string(content) != fixed {
				t.Errorf("PUT %s body = %s", r.Path, r.Body)
			}
		case r.Method == http.MethodPost && r.Path == "/repos/acme/payments/git/refs":
			var b map[string]string
			json.Unmarshal(r.Body, &b)
			if b["ref"] != "refs/heads/"+branch || b["sha"] != srv.Branches()["main"] {
				t.Errorf("create ref body = %s, want refs/heads/%s at main's head", r.Body, branch)
			}
		case r.Method == http.MethodPost && r.Path == "/repos/acme/payments/pulls":
			var b map[string]string
			json.Unmarshal(r.Body, &b)
			if b["head"] != branch || b["base"] != "main" || b["title"] == "" || b["body"] == "" {
				t.Errorf("create pull body = %s", r.Body)
			}
		}
	}

	// Again (a retry, or sextant lost its record): the same pull request,
	// and nothing written.
	before := len(srv.Requests())
	again, err := c.OpenFixPullRequest(ctx, fixPR())
	if err != nil || again != ref {
		t.Fatalf("OpenFixPullRequest again = %+v, %v; want %+v", again, err, ref)
	}
	for _, r := range srv.Requests()[before:] {
		if r.Method != http.MethodGet {
			t.Errorf("second OpenFixPullRequest sent %s %s", r.Method, r.Path)
		}
	}

	// A closed pull request is still the action's: no second one.
	if err := c.Close(ctx, ref, ""); err != nil {
		t.Fatal(err)
	}
	if again, err := c.OpenFixPullRequest(ctx, fixPR()); err != nil || again != ref {
		t.Errorf("OpenFixPullRequest after close = %+v, %v; want %+v", again, err, ref)
	}
	if n := len(srv.Pulls()); n != 1 {
		t.Errorf("%d pull requests, want 1", n)
	}
}

// flaky is a transport that can fail requests before or after the server
// handles them.
type flaky struct {
	mu   sync.Mutex
	next http.RoundTripper
	// before fails the next request matching it without sending it;
	// after sends it and then loses the answer (a crash or a cut
	// connection between GitHub's create and sextant's record).
	before, after string
	// hide answers the next matching request with an empty list, as if
	// GitHub had not seen a write yet.
	hide string
}

func (f *flaky) RoundTrip(r *http.Request) (*http.Response, error) {
	key := r.Method + " " + r.URL.Path
	f.mu.Lock()
	before, after, hide := f.before == key, f.after == key, f.hide == key
	if before {
		f.before = ""
	}
	if after {
		f.after = ""
	}
	if hide {
		f.hide = ""
	}
	f.mu.Unlock()
	switch {
	case before:
		return nil, errors.New("connection reset by peer")
	case hide:
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader("[]")), Request: r}, nil
	}
	resp, err := f.next.RoundTrip(r)
	if after && err == nil {
		resp.Body.Close()
		return nil, errors.New("connection reset by peer")
	}
	return resp, err
}

func flakyClient(t *testing.T, srv *githubtest.Server) (*github.Client, *flaky) {
	t.Helper()
	f := &flaky{next: srv.Client().Transport}
	c, err := github.New(github.Config{BaseURL: srv.URL(), Owner: "acme", Repo: "payments", Token: token}, &http.Client{Transport: f})
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

func TestOpenFixPullRequestRetries(t *testing.T) {
	ctx := context.Background()
	const pulls = "/repos/acme/payments/pulls"

	t.Run("create failed: the branch is reused", func(t *testing.T) {
		srv := githubtest.New(t, githubtest.Config{Owner: "acme", Repo: "payments", Token: token})
		srv.AddFile("main", dockerfilePath, dockerfile)
		c, f := flakyClient(t, srv)
		f.before = "POST " + pulls
		if _, err := c.OpenFixPullRequest(ctx, fixPR()); sextant.ErrorCode(err) != sextant.EUNAVAILABLE {
			t.Fatalf("OpenFixPullRequest with the create cut = %v, want EUNAVAILABLE", err)
		}
		ref, err := c.OpenFixPullRequest(ctx, fixPR())
		if err != nil || ref.ExternalID != "1" {
			t.Fatalf("retry = %+v, %v", ref, err)
		}
		if n := count(srv, http.MethodPost, "/repos/acme/payments/git/refs"); n != 1 {
			t.Errorf("%d branch creates, want 1", n)
		}
		if n := count(srv, http.MethodPut, "/repos/acme/payments/contents/"+dockerfilePath); n != 1 {
			t.Errorf("%d file writes, want 1 (the retry finds the edit on the branch)", n)
		}
	})

	t.Run("created but the answer lost", func(t *testing.T) {
		srv := githubtest.New(t, githubtest.Config{Owner: "acme", Repo: "payments", Token: token})
		srv.AddFile("main", dockerfilePath, dockerfile)
		c, f := flakyClient(t, srv)
		f.after = "POST " + pulls
		if _, err := c.OpenFixPullRequest(ctx, fixPR()); err == nil {
			t.Fatal("OpenFixPullRequest with the answer lost succeeded")
		}
		ref, err := c.OpenFixPullRequest(ctx, fixPR())
		if err != nil || ref.ExternalID != "1" || len(srv.Pulls()) != 1 {
			t.Fatalf("retry = %+v, %v with %d pull requests; want the one pull request", ref, err, len(srv.Pulls()))
		}
		if n := count(srv, http.MethodPost, pulls); n != 1 {
			t.Errorf("%d pull request creates, want 1", n)
		}
	})

	t.Run("another replica won the race", func(t *testing.T) {
		srv := githubtest.New(t, githubtest.Config{Owner: "acme", Repo: "payments", Token: token})
		srv.AddFile("main", dockerfilePath, dockerfile)
		c, f := flakyClient(t, srv)
		first, err := c.OpenFixPullRequest(ctx, fixPR())
		if err != nil {
			t.Fatal(err)
		}
		f.hide = "GET " + pulls
		ref, err := c.OpenFixPullRequest(ctx, fixPR())
		if err != nil || ref != first || len(srv.Pulls()) != 1 {
			t.Fatalf("OpenFixPullRequest after a stale look-up = %+v, %v with %d pull requests; want %+v", ref, err, len(srv.Pulls()), first)
		}
	})

	t.Run("rate limited", func(t *testing.T) {
		srv, c := setup(t, github.Config{})
		srv.AddFile("main", dockerfilePath, dockerfile)
		srv.FailNext(1, http.StatusForbidden, http.Header{"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1787307000"}})
		_, err := c.OpenFixPullRequest(ctx, fixPR())
		if sextant.ErrorCode(err) != sextant.ERATELIMITED || sextant.ErrorRetryAfter(err) <= 0 {
			t.Fatalf("OpenFixPullRequest rate limited = %v (retry after %v), want ERATELIMITED with a wait", err, sextant.ErrorRetryAfter(err))
		}
		if _, err := c.OpenFixPullRequest(ctx, fixPR()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOpenFixPullRequestErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(*github.FixPR)
		code   string
		text   string
	}{
		{"bad branch", func(p *github.FixPR) { p.Branch = "sextant/../main" }, sextant.EINVALID, "not a branch name"},
		{"same branch", func(p *github.FixPR) { p.Branch = "main" }, sextant.EINVALID, "both"},
		{"no files", func(p *github.FixPR) { p.Files = nil }, sextant.EINVALID, "no file"},
		{"path outside", func(p *github.FixPR) { p.Files[0].Path = "../etc/passwd" }, sextant.EINVALID, "not a file path"},
		{"absolute path", func(p *github.FixPR) { p.Files[0].Path = "/Dockerfile" }, sextant.EINVALID, "not a file path"},
		{"no title", func(p *github.FixPR) { p.Title = " \n" }, sextant.EINVALID, "no title"},
		{"missing file", func(p *github.FixPR) { p.Files[0].Path = "services/other/Dockerfile" }, sextant.ENOTFOUND, "HTTP 404"},
		{"missing base", func(p *github.FixPR) { p.Base = "develop" }, sextant.ENOTFOUND, "HTTP 404"},
		{"a directory", func(p *github.FixPR) { p.Files[0].Path = "services/cart" }, sextant.EINVALID, "is not a file"},
		{"nothing changes", func(p *github.FixPR) {
			p.Files[0].Edit = func(old []byte) ([]byte, error) { return old, nil }
		}, sextant.EINVALID, "nothing to propose"},
		{"edit fails", func(p *github.FixPR) {
			p.Files[0].Edit = func(old []byte) ([]byte, error) {
				return nil, sextant.Errorf(sextant.EINVALID, "dockerfile diff: the final stage is built FROM scratch")
			}
		}, sextant.EINVALID, "edit services/cart/Dockerfile: dockerfile diff: the final stage is built FROM scratch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := setup(t, github.Config{})
			srv.AddFile("main", dockerfilePath, dockerfile)
			pr := fixPR()
			tt.change(&pr)
			_, err := c.OpenFixPullRequest(ctx, pr)
			if sextant.ErrorCode(err) != tt.code || !strings.Contains(sextant.ErrorMessage(err), tt.text) {
				t.Fatalf("OpenFixPullRequest(%s) = %v (%s), want %s containing %q", tt.name, err, sextant.ErrorCode(err), tt.code, tt.text)
			}
			if len(srv.Pulls()) != 0 || len(srv.Branches()) != 1 {
				t.Errorf("OpenFixPullRequest(%s) left %d pull requests and branches %v", tt.name, len(srv.Pulls()), srv.Branches())
			}
		})
	}
}
