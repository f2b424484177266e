package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sink/github/githubtest"
)

func TestRemediateConfig(t *testing.T) {
	t.Setenv("SEXTANT_TEST_GH_TOKEN", "ghs_test")
	good := remediateConfig{
		Repo: "shop/platform", Token: secretRef{Env: "SEXTANT_TEST_GH_TOKEN"},
		Dockerfiles: map[string]string{"registry.example/shop/cart": "services/cart/Dockerfile"},
	}
	tests := []struct {
		name   string
		change func(c *serveConfig)
		want   string // "" for valid
	}{
		{"none", func(c *serveConfig) {}, ""},
		{"ticket mode with the section", func(c *serveConfig) { c.Mode, c.Remediate = "ticket", good }, ""},
		{"remediate mode", func(c *serveConfig) { c.Mode, c.Remediate = "remediate", good }, ""},
		{"remediate mode without the section", func(c *serveConfig) { c.Mode = "remediate" }, "config: remediate: mode remediate needs this section"},
		{"no token", func(c *serveConfig) {
			c.Remediate = good
			c.Remediate.Token = secretRef{Env: "SEXTANT_TEST_UNSET_SECRET"}
		}, "config: remediate: token: environment variable SEXTANT_TEST_UNSET_SECRET is not set"},
		{"bad repo", func(c *serveConfig) { c.Remediate = good; c.Remediate.Repo = "platform" }, `config: remediate: repo "platform": want owner/name`},
		{"plain http", func(c *serveConfig) { c.Remediate = good; c.Remediate.URL = "http://github.example" }, "plain http"},
		{"no dockerfiles", func(c *serveConfig) { c.Remediate = good; c.Remediate.Dockerfiles = nil }, "config: remediate.dockerfiles: map at least one"},
		{"path outside", func(c *serveConfig) {
			c.Remediate = good
			c.Remediate.Dockerfiles = map[string]string{"registry.example/shop/cart": "../cart/Dockerfile"}
		}, `config: remediate.dockerfiles.registry.example/shop/cart: "../cart/Dockerfile" is not a clean path`},
		{"absolute path", func(c *serveConfig) {
			c.Remediate = good
			c.Remediate.Dockerfiles = map[string]string{"x": "/Dockerfile"}
		}, "is not a clean path"},
		{"bad base", func(c *serveConfig) { c.Remediate = good; c.Remediate.Base = "main..x" }, `config: remediate.base: "main..x" is not a branch name`},
		{"reserved destination name", func(c *serveConfig) {
			c.Destinations = []destinationConfig{{Name: "remediate", Type: "webhook", URL: "https://siem.example/hook", Token: secretRef{Env: "SEXTANT_TEST_GH_TOKEN"}}}
		}, `config: destinations[0].name: "remediate" is reserved`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaultServeConfig()
			tt.change(&c)
			err := c.validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}

	// The section loads from YAML and describe prints it back.
	c, err := loadServeConfig(writeConfig(t, `
mode: remediate
remediate:
  repo: shop/platform
  token: {env: SEXTANT_TEST_GH_TOKEN}
  base: release
  dockerfiles:
    registry.example/shop/cart: services/cart/Dockerfile
    registry.example/shop/checkout: services/checkout/Dockerfile
`), envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := c.describe(&out); err != nil {
		t.Fatal(err)
	}
	back, err := loadServeConfig(writeConfig(t, out.String()), envOf(nil))
	if err != nil {
		t.Fatalf("describe output does not load: %v\n%s", err, out.String())
	}
	if back.Remediate.Repo != "shop/platform" || back.Remediate.Base != "release" || back.Remediate.Token.Env != "SEXTANT_TEST_GH_TOKEN" ||
		back.Remediate.Dockerfiles["registry.example/shop/checkout"] != "services/checkout/Dockerfile" {
		t.Errorf("remediate section after describe = %+v\n%s", back.Remediate, out.String())
	}
	if strings.Contains(out.String(), "ghs_test") {
		t.Errorf("describe shows the token:\n%s", out.String())
	}
	// An unknown key is refused with its path.
	if _, err := loadServeConfig(writeConfig(t, "remediate: {repo: a/b, dockerfile: {}}\n"), envOf(nil)); err == nil || !strings.Contains(err.Error(), "remediate.dockerfile") {
		t.Errorf("unknown key in remediate: = %v, want it named", err)
	}
}

// The whole loop through the real server, with no destination at all: a
// report comes in, an analyst asks for the remediation of its action, an
// approver approves, and one pull request with the edited Dockerfile is
// opened on GitHub.
func TestServeRemediate(t *testing.T) {
	const ghToken = "ghs_serve_remediate_0000000000000000000"
	gh := githubtest.New(t, githubtest.Config{Owner: "shop", Repo: "platform", Token: ghToken})
	gh.AddFile("main", "services/cart/Dockerfile", "FROM debian:12\nCOPY cart /cart\nCMD [\"/cart\"]\n")
	dir := t.TempDir()
	db := filepath.Join(dir, "sextant.db")
	analyst := createToken(t, db, "ci", "analyst")
	approver := createToken(t, db, "alice", "approver")
	cfg := fmt.Sprintf(`mode: remediate
remediate:
  url: %s
  repo: shop/platform
  token: {env: GITHUB_TOKEN}
  dockerfiles:
    registry.example/shop/cart: services/cart/Dockerfile
`, gh.URL())
	path := filepath.Join(dir, "sextant.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITHUB_TOKEN", ghToken)
	url, logs := startServeInProcess(t, nil, "--database", db, "--config", path)

	report, err := os.ReadFile("../../internal/http/testdata/trivy-two-vulns.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, b := apiDo(t, "POST", url+"/v1/reports", analyst, "application/json", report); code != 202 {
		t.Fatalf("POST /v1/reports = %d %s", code, b)
	}
	var actions struct {
		Items []sextant.ActionRecord `json:"items"`
	}
	var action string
	for deadline := time.Now().Add(30 * time.Second); action == ""; time.Sleep(20 * time.Millisecond) {
		_, b := apiDo(t, "GET", url+"/v1/actions?kind=upgrade-package", analyst, "", nil)
		json.Unmarshal(b, &actions)
		for _, a := range actions.Items {
			if a.Action.Kind == sextant.ActionUpgradePackage {
				action = a.Action.ID
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no upgrade action after 30s; log:\n%s", logs.String())
		}
	}
	code, b := apiDo(t, "POST", url+"/v1/actions/"+action+"/approvals", analyst, "application/json", []byte(`{"kind":"remediate","reason":"patch glibc"}`))
	if code != 201 {
		t.Fatalf("request remediation = %d %s", code, b)
	}
	var a sextant.Approval
	json.Unmarshal(b, &a)
	time.Sleep(100 * time.Millisecond)
	if n := len(gh.Pulls()); n != 0 {
		t.Fatalf("%d pull requests before the approval", n)
	}
	if code, b := apiDo(t, "POST", url+"/v1/approvals/"+a.ID+"/approve", approver, "application/json", []byte(`{"comment":"go"}`)); code != 200 {
		t.Fatalf("approve = %d %s", code, b)
	}
	for deadline := time.Now().Add(30 * time.Second); len(gh.Pulls()) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no pull request 30s after the approval; log:\n%s", logs.String())
		}
	}
	pulls := gh.Pulls()
	if len(pulls) != 1 || pulls[0].Head != "sextant/"+action || !strings.Contains(pulls[0].Body, "Approved by `token:alice`") {
		t.Errorf("pull requests = %+v", pulls)
	}
	if got, _ := gh.File("sextant/"+action, "services/cart/Dockerfile"); !strings.Contains(got, "libc6=2.36-9+deb12u7") {
		t.Errorf("Dockerfile on the branch:\n%s", got)
	}
	if code, out, errs := run(t, "", "audit", "export", "--database", db); code != 0 || !strings.Contains(out, `"action":"remediate.pr"`) || !strings.Contains(out, "https://github.com/shop/platform/pull/1") {
		t.Errorf("audit export = %d %s; want remediate.pr with the pull request's URL", code, errs)
	}
}
