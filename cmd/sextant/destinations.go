package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/route"
	"github.com/sextant-dev/sextant/internal/service"
	"github.com/sextant-dev/sextant/internal/sink/github"
	"github.com/sextant-dev/sextant/internal/sink/jira"
	"github.com/sextant-dev/sextant/internal/sink/servicenow"
	"github.com/sextant-dev/sextant/internal/sink/slack"
	"github.com/sextant-dev/sextant/internal/sink/teams"
	"github.com/sextant-dev/sextant/internal/sink/webhook"
)

// approvalsConfig is the approvals: section.
type approvalsConfig struct {
	// Expiry is how long an approval request stays open.
	Expiry duration `json:"expiry"`
}

// slackInboundConfig is the slack: section: the inbound side of the
// Approve and Reject buttons.
type slackInboundConfig struct {
	SigningSecret secretRef `json:"signing_secret"`
	// Approvers maps Slack user IDs to sextant identities allowed to
	// decide; a click by anyone else is refused.
	Approvers map[string]string `json:"approvers"`
}

// destinationConfig is one entry of destinations: (docs/sinks.md).
type destinationConfig struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	When     string `json:"when"`
	Approval string `json:"approval"`
	// URL is the API base (jira, servicenow, github) or, when it holds no
	// secret, the endpoint (webhook). URLSecret is an endpoint URL that is a
	// secret itself (Teams Workflows, some webhooks).
	URL       string    `json:"url"`
	URLSecret secretRef `json:"url_secret"`
	// Token is the API token, bot token, password or signing secret.
	Token secretRef `json:"token"`
	// User is the Jira Cloud account email or the ServiceNow user.
	User            string   `json:"user"`
	Project         string   `json:"project"`
	IssueType       string   `json:"issue_type"`
	Table           string   `json:"table"`
	AssignmentGroup string   `json:"assignment_group"`
	Repo            string   `json:"repo"`
	Channel         string   `json:"channel"`
	Labels          []string `json:"labels"`
	Components      []string `json:"components"`
	Assignees       []string `json:"assignees"`
}

var destinationTypes = []string{"jira", "jira-dc", "servicenow", "github", "slack", "teams", "webhook"}

var destinationNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// validateDestinations checks the mode, the rules and every destination
// (building its client resolves its secrets), naming the field at fault.
func (c serveConfig) validateDestinations() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, sextant.Errorf(sextant.EINVALID, "config: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	if !sextant.Mode(c.Mode).Valid() {
		bad("mode", "must be observe, ticket or remediate, got %q", c.Mode)
	}
	if c.Approvals.Expiry.Duration <= 0 {
		bad("approvals.expiry", "must be positive, got %s", c.Approvals.Expiry)
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "https://") && !strings.HasPrefix(c.PublicURL, "http://") {
		bad("public_url", "must be an http(s) URL, got %q", c.PublicURL)
	}
	if len(c.Slack.Approvers) > 0 || c.Slack.SigningSecret != (secretRef{}) {
		if _, err := resolveSecret(c.Slack.SigningSecret); err != nil {
			bad("slack.signing_secret", "%v", err)
		}
	}
	seen := map[string]int{}
	for i, d := range c.Destinations {
		field := fmt.Sprintf("destinations[%d]", i)
		if !destinationNameRE.MatchString(d.Name) {
			bad(field+".name", "%q must be lower-case letters, digits, - and _", d.Name)
			continue
		}
		if j, ok := seen[d.Name]; ok {
			bad(field+".name", "%q is already the name of destinations[%d]", d.Name, j)
			continue
		}
		seen[d.Name] = i
		if _, err := route.Compile(field+".when", d.When); err != nil {
			errs = append(errs, fmt.Errorf("config: %w", err))
		}
		if _, err := route.Compile(field+".approval", d.Approval); err != nil {
			errs = append(errs, fmt.Errorf("config: %w", err))
		}
		if _, err := d.build(nil, ""); err != nil {
			bad(field, "%s", errorText(err))
		}
	}
	return errs
}

// resolveSecret reads a secret reference.
func resolveSecret(r secretRef) (string, error) {
	switch {
	case r.Env != "" && r.File != "":
		return "", fmt.Errorf("give env or file, not both")
	case r.Env != "":
		v := os.Getenv(r.Env)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is not set", r.Env)
		}
		return v, nil
	case r.File != "":
		b, err := os.ReadFile(r.File)
		if err != nil {
			return "", fmt.Errorf("read secret file: %v", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", fmt.Errorf("a secret is required: {env: NAME} or {file: PATH}")
}

// build makes the destination's client. hc nil means a client with a 30s
// timeout; approvalURL is the base of Teams' approval links.
func (d destinationConfig) build(hc *http.Client, approvalURL string) (*service.Destination, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	dest := &service.Destination{Name: d.Name}
	secret := func() (string, error) { return resolveSecret(d.Token) }
	endpoint := func() (string, error) {
		if d.URLSecret != (secretRef{}) {
			return resolveSecret(d.URLSecret)
		}
		if d.URL == "" {
			return "", fmt.Errorf("url or url_secret is required")
		}
		return d.URL, nil
	}
	switch d.Type {
	case "jira", "jira-dc":
		tok, err := secret()
		if err != nil {
			return nil, fmt.Errorf("token: %v", err)
		}
		cfg := jira.Config{Flavor: jira.Cloud, BaseURL: d.URL, Project: d.Project, IssueType: d.IssueType,
			Labels: d.Labels, Components: d.Components, Email: d.User, Token: tok}
		if d.Type == "jira-dc" {
			cfg.Flavor = jira.DataCenter
		}
		c, err := jira.New(cfg, hc)
		if err != nil {
			return nil, err
		}
		dest.Tickets, dest.Preview = c, c.Preview
	case "servicenow":
		tok, err := secret()
		if err != nil {
			return nil, fmt.Errorf("token: %v", err)
		}
		cfg := servicenow.Config{BaseURL: d.URL, Table: d.Table, AssignmentGroup: d.AssignmentGroup}
		if d.User != "" {
			cfg.Username, cfg.Password = d.User, tok
		} else {
			cfg.Token = tok
		}
		c, err := servicenow.New(cfg, hc)
		if err != nil {
			return nil, err
		}
		cfg = c.Config()
		dest.Tickets = c
		dest.Preview = func(op string, tc sextant.TicketContent, comment string) ([]byte, error) {
			switch op {
			case "create":
				return json.Marshal(servicenow.CreateRecord(cfg, tc))
			case "close":
				return json.Marshal(servicenow.CloseRecord(cfg, comment))
			case "reopen":
				return json.Marshal(servicenow.ReopenRecord(cfg, comment))
			}
			return json.Marshal(servicenow.CommentRecord(cfg, tc, comment))
		}
	case "github":
		tok, err := secret()
		if err != nil {
			return nil, fmt.Errorf("token: %v", err)
		}
		owner, repo, ok := strings.Cut(d.Repo, "/")
		if !ok {
			return nil, fmt.Errorf("repo %q: want owner/name", d.Repo)
		}
		cfg := github.Config{BaseURL: d.URL, Owner: owner, Repo: repo, Token: tok, Labels: d.Labels, Assignees: d.Assignees}
		c, err := github.New(cfg, hc)
		if err != nil {
			return nil, err
		}
		dest.Tickets = c
		dest.Preview = func(op string, tc sextant.TicketContent, comment string) ([]byte, error) {
			if op == "create" {
				return json.Marshal(github.NewIssue(cfg, tc))
			}
			return json.Marshal(map[string]string{"operation": op, "body": github.EscapeText(comment)})
		}
	case "slack":
		tok, err := secret()
		if err != nil {
			return nil, fmt.Errorf("token: %v", err)
		}
		c, err := slack.New(slack.Config{Token: tok, Channel: d.Channel, APIURL: d.URL, HTTPClient: hc})
		if err != nil {
			return nil, err
		}
		dest.Chat = c
		channel := d.Channel
		dest.Preview = func(op string, tc sextant.TicketContent, text string) ([]byte, error) {
			return json.Marshal(slack.NewMessage(channel, sextant.ChatMessage{Content: tc, Text: text}))
		}
	case "teams":
		u, err := endpoint()
		if err != nil {
			return nil, err
		}
		c, err := teams.New(teams.Config{URL: u, ApprovalURL: approvalURL, HTTPClient: hc})
		if err != nil {
			return nil, err
		}
		dest.Chat = c
		dest.Preview = func(op string, tc sextant.TicketContent, text string) ([]byte, error) {
			return json.Marshal(teams.NewPayload(sextant.ChatMessage{Content: tc, Text: text}, approvalURL))
		}
	case "webhook":
		u, err := endpoint()
		if err != nil {
			return nil, err
		}
		tok, err := secret()
		if err != nil {
			return nil, fmt.Errorf("token: %v", err)
		}
		c, err := webhook.New(webhook.Config{URL: u, Secret: tok, HTTPClient: hc})
		if err != nil {
			return nil, err
		}
		dest.Tickets = c
		dest.Preview = func(op string, tc sextant.TicketContent, comment string) ([]byte, error) {
			return json.Marshal(map[string]any{"operation": op, "action": tc.Action, "status": tc.Status, "comment": comment})
		}
	default:
		return nil, fmt.Errorf("type %q: want one of %s", d.Type, strings.Join(destinationTypes, ", "))
	}
	return dest, nil
}

// dispatcher builds the dispatcher of the configuration, or nil when no
// destination is configured.
func (c serveConfig) dispatcher(store service.DispatchStore, trail service.Auditor, thresholds route.Thresholds) (*service.Dispatcher, error) {
	if len(c.Destinations) == 0 {
		return nil, nil
	}
	approvalURL := ""
	if c.PublicURL != "" {
		approvalURL = strings.TrimSuffix(c.PublicURL, "/") + "/v1/approvals/"
	}
	d := &service.Dispatcher{
		Store:        store,
		Destinations: map[string]*service.Destination{},
		Router:       &route.Router{Thresholds: thresholds},
		Mode:         sextant.Mode(c.Mode),
		Audit:        trail,
		ApprovalTTL:  c.Approvals.Expiry.Duration,
	}
	if c.PublicURL != "" {
		base := strings.TrimSuffix(c.PublicURL, "/")
		d.Link = func(id string) string { return base + "/v1/actions/" + id }
	}
	for i, dc := range c.Destinations {
		field := fmt.Sprintf("destinations[%d]", i)
		dest, err := dc.build(nil, approvalURL)
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "config: %s: %s", field, errorText(err))
		}
		when, err := route.Compile(field+".when", dc.When)
		if err != nil {
			return nil, err
		}
		approval, err := route.Compile(field+".approval", dc.Approval)
		if err != nil {
			return nil, err
		}
		d.Destinations[dc.Name] = dest
		d.Router.Destinations = append(d.Router.Destinations, route.Destination{Name: dc.Name, When: when, Approval: approval})
	}
	return d, nil
}

// slackInteractions is the handler of POST /v1/slack/interactions: it
// verifies Slack's signature and timestamp, maps the clicking user to an
// approver, and records the decision.
func slackInteractions(secret []byte, approvers map[string]string, d *service.Dispatcher) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err := slack.VerifyRequest(secret, r.Header, body, time.Now()); err != nil {
			http.Error(w, sextant.ErrorMessage(err), http.StatusUnauthorized)
			return
		}
		in, err := slack.ParseInteraction(body)
		if err != nil {
			http.Error(w, sextant.ErrorMessage(err), http.StatusBadRequest)
			return
		}
		who, ok := approvers[in.UserID]
		if !ok {
			writeSlackReply(w, fmt.Sprintf("You (%s) are not an approver in sextant.", in.UserID))
			return
		}
		status := sextant.ApprovalRejected
		if in.ActionID == slack.ActionApprove {
			status = sextant.ApprovalApproved
		}
		a, err := d.Decide(r.Context(), in.Value, status, "slack:"+who, "via Slack")
		if err != nil {
			writeSlackReply(w, "sextant could not record that: "+sextant.ErrorMessage(err))
			return
		}
		writeSlackReply(w, fmt.Sprintf("%s %s by %s.", a.ID, a.Status, who))
	})
}

// writeSlackReply answers a click with an ephemeral message.
func writeSlackReply(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"response_type": "ephemeral", "replace_original": false, "text": text})
}

// sinksTestAction is the sample action `sextant sinks test` shows.
func sinksTestAction() sextant.TicketContent {
	return sextant.TicketContent{
		Action: sextant.Action{
			ID:       sextant.ActionID(sextant.ActionUpgradePackage, "sha256:0000000000000000000000000000000000000000000000000000000000000000", "deb/libc6"),
			Priority: sextant.P1, Score: 71.2, Kind: sextant.ActionUpgradePackage,
			Title:    "Upgrade libc6 2.36-9+deb12u4 → 2.36-9+deb12u7 in registry.example/shop/cart:2.1 (fixes 2 CVEs)",
			Artifact: "registry.example/shop/cart:2.1", Package: "libc6", Ecosystem: "deb",
			InstalledVersion: "2.36-9+deb12u4", TargetVersion: "2.36-9+deb12u7",
			Commands:        []string{"apt-get update && apt-get install -y --only-upgrade libc6=2.36-9+deb12u7"},
			Vulnerabilities: []string{"CVE-2023-4911", "CVE-2024-2961"},
			Factors:         []sextant.Factor{{Name: "impact", Value: 9.8, Weight: 30, Contribution: 29.4}},
		},
		Status: sextant.ActionOpen, Findings: 2, Owner: "platform",
		Summary: "This is a sample action made by `sextant sinks test`; it is not a real finding.",
	}
}

func (m *Main) sinksCommand() *cobra.Command {
	var config, op string
	var check bool
	test := &cobra.Command{
		Use:   "test NAME",
		Short: "Print the payload a destination would receive, without sending it",
		Long: `test builds, for a sample action, the request body the configured destination
NAME would receive (op create by default; comment, close or reopen) and prints
it. Nothing is sent. With --check it also asks the destination, read-only, for
the sample's ticket: that proves the URL and the credentials work.`,
		Example: `  sextant sinks test jira-platform --config sextant.yaml
  sextant sinks test snow --op close --check`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadServeConfig(config, m.Getenv)
			if err != nil {
				return err
			}
			var dc *destinationConfig
			var names []string
			for i := range cfg.Destinations {
				names = append(names, cfg.Destinations[i].Name)
				if cfg.Destinations[i].Name == args[0] {
					dc = &cfg.Destinations[i]
				}
			}
			if dc == nil {
				return sextant.Errorf(sextant.EINVALID, "no destination %q in the configuration (have: %s)", args[0], strings.Join(names, ", "))
			}
			dest, err := dc.build(nil, strings.TrimSuffix(cfg.PublicURL, "/")+"/v1/approvals/")
			if err != nil {
				return sextant.Errorf(sextant.EINVALID, "destination %s: %s", dc.Name, errorText(err))
			}
			sample := sinksTestAction()
			comment := ""
			if op != "create" {
				comment = "Sample " + op + " comment from sextant sinks test."
			}
			body, err := dest.Preview(op, sample, comment)
			if err != nil {
				return err
			}
			var pretty bytes.Buffer
			if json.Indent(&pretty, body, "", "  ") != nil {
				pretty.Reset()
				pretty.Write(body)
			}
			fmt.Fprintln(cmd.OutOrStdout(), pretty.String())
			if check {
				if dest.Tickets == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: a chat destination has no read-only check; nothing sent\n", dc.Name)
					return nil
				}
				_, found, err := dest.Tickets.Find(cmd.Context(), sample.Action.ID)
				if err != nil {
					return fmt.Errorf("%s: check failed: %w", dc.Name, err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: reachable and the credentials work (sample ticket found: %t)\n", dc.Name, found)
			}
			return nil
		},
	}
	test.Flags().StringVar(&config, "config", "", "config file (default: $SEXTANT_CONFIG)")
	test.Flags().StringVar(&op, "op", "create", "operation to show: create, comment, close or reopen")
	test.Flags().BoolVar(&check, "check", false, "also look the sample up in the destination (read-only)")
	cmd := &cobra.Command{Use: "sinks", Short: "Try the configured destinations (Jira, ServiceNow, GitHub, Slack, Teams, webhooks)"}
	cmd.AddCommand(test)
	return cmd
}

// ---- remediate mode (docs/sinks.md, "Remediate mode") ----

// remediateConfig is the remediate: section: the GitHub repository that
// approved remediations are proposed to as pull requests, and the
// Dockerfile of each image in it.
type remediateConfig struct {
	// URL is the GitHub API root; https://api.github.com when empty.
	URL string `json:"url"`
	// Repo is the repository, owner/name.
	Repo  string    `json:"repo"`
	Token secretRef `json:"token"`
	// Base is the branch pull requests are opened against; main when
	// empty.
	Base string `json:"base"`
	// Dockerfiles maps an image repository ("registry.example/shop/cart"),
	// or an artifact exactly as scanned, to its Dockerfile's path in Repo.
	Dockerfiles map[string]string `json:"dockerfiles"`
}

func (r remediateConfig) empty() bool {
	return r.URL == "" && r.Repo == "" && r.Token == (secretRef{}) && r.Base == "" && len(r.Dockerfiles) == 0
}

// validateRemediate checks the remediate: section (building its client
// resolves its token), that remediate mode has one, and that no
// destination takes the name of remediations in the outbox.
func (c serveConfig) validateRemediate() []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, sextant.Errorf(sextant.EINVALID, "config: %s: %s", field, fmt.Sprintf(format, args...)))
	}
	for i, d := range c.Destinations {
		if d.Name == service.RemediateDestination {
			bad(fmt.Sprintf("destinations[%d].name", i), "%q is reserved for remediate mode's pull requests", d.Name)
		}
	}
	if c.Remediate.empty() {
		if c.Mode == string(sextant.ModeRemediate) {
			bad("remediate", "mode remediate needs this section: the repository (repo, token) and the Dockerfile of each image (dockerfiles)")
		}
		return errs
	}
	if _, err := c.Remediate.remediator(nil, nil); err != nil {
		bad("remediate", "%s", errorText(err))
	}
	if len(c.Remediate.Dockerfiles) == 0 {
		bad("remediate.dockerfiles", "map at least one image repository to its Dockerfile")
	}
	for image, p := range c.Remediate.Dockerfiles {
		switch {
		case strings.TrimSpace(image) == "":
			bad("remediate.dockerfiles", "an empty image name")
		case p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../"):
			bad("remediate.dockerfiles."+image, "%q is not a clean path relative to the repository root", p)
		}
	}
	if b := c.Remediate.Base; b != "" && (strings.ContainsAny(b, " \t\r\n~^:?*[\\") || strings.Contains(b, "..")) {
		bad("remediate.base", "%q is not a branch name", b)
	}
	return errs
}

// remediator builds the remediator of the section. hc nil means a client
// with a 30s timeout.
func (r remediateConfig) remediator(hc *http.Client, findings service.FindingReader) (*service.Remediator, error) {
	tok, err := resolveSecret(r.Token)
	if err != nil {
		return nil, fmt.Errorf("token: %v", err)
	}
	owner, repo, ok := strings.Cut(r.Repo, "/")
	if !ok {
		return nil, fmt.Errorf("repo %q: want owner/name", r.Repo)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	c, err := github.New(github.Config{BaseURL: r.URL, Owner: owner, Repo: repo, Token: tok}, hc)
	if err != nil {
		return nil, err
	}
	return &service.Remediator{PRs: githubPullRequests{c}, Findings: findings, Base: r.Base, Dockerfiles: maps.Clone(r.Dockerfiles)}, nil
}

// wireRemediate gives the dispatcher the remediator of the remediate:
// section, making a dispatcher for it when no destination is configured
// (d nil). Without the section, d is returned as it is.
func (c serveConfig) wireRemediate(d *service.Dispatcher, store service.DispatchStore, findings service.FindingReader, trail service.Auditor) (*service.Dispatcher, error) {
	if c.Remediate.empty() {
		return d, nil
	}
	rem, err := c.Remediate.remediator(nil, findings)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "config: remediate: %s", errorText(err))
	}
	if d == nil {
		d = &service.Dispatcher{
			Store:        store,
			Destinations: map[string]*service.Destination{},
			Router:       &route.Router{},
			Mode:         sextant.Mode(c.Mode),
			Audit:        trail,
			ApprovalTTL:  c.Approvals.Expiry.Duration,
		}
		if c.PublicURL != "" {
			base := strings.TrimSuffix(c.PublicURL, "/")
			d.Link = func(id string) string { return base + "/v1/actions/" + id }
		}
	}
	if _, ok := d.Destinations[service.RemediateDestination]; ok {
		return nil, sextant.Errorf(sextant.EINVALID, "config: a destination is named %q, which remediate mode reserves", service.RemediateDestination)
	}
	d.Remediator = rem
	return d, nil
}

// githubPullRequests opens remediation pull requests on GitHub: the
// service's remediation in the github package's words.
type githubPullRequests struct{ c *github.Client }

var _ service.PullRequester = githubPullRequests{}

func (g githubPullRequests) OpenPullRequest(ctx context.Context, r service.Remediation) (sextant.TicketRef, error) {
	pr := github.FixPR{Base: r.Base, Branch: r.Branch, Title: github.FixPRTitle(r.Content)}
	paths := make([]string, 0, len(r.Files))
	for _, f := range r.Files {
		pr.Files = append(pr.Files, github.FileEdit(f))
		paths = append(paths, f.Path)
	}
	pr.Body = github.FixPRBody(r.Content, r.Approval, paths)
	return g.c.OpenFixPullRequest(ctx, pr)
}
