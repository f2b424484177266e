package jira

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/sextant-dev/sextant"
)

// Flavor is which Jira sextant talks to: they differ in API version,
// authentication and description format.
type Flavor string

// Flavors.
const (
	// Cloud is Jira Cloud (*.atlassian.net or api.atlassian.com): REST API
	// v3, descriptions and comments in Atlassian Document Format, Basic
	// authentication with an account email and API token.
	Cloud Flavor = "cloud"
	// DataCenter is Jira Data Center or Server: REST API v2, descriptions
	// and comments in wiki markup, Bearer authentication with a personal
	// access token (Jira 8.14 and later).
	DataCenter Flavor = "datacenter"
)

// ParseFlavor parses "cloud" or "datacenter" ("server" and "dc" are taken
// as datacenter), ignoring case.
func ParseFlavor(s string) (Flavor, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "cloud":
		return Cloud, nil
	case "datacenter", "data-center", "dc", "server":
		return DataCenter, nil
	}
	return "", sextant.Errorf(sextant.EINVALID, "jira: unknown flavor %q: want cloud or datacenter", s)
}

func (f Flavor) valid() bool { return f == Cloud || f == DataCenter }

// apiPrefix is the path of the REST API under the base URL.
func (f Flavor) apiPrefix() string {
	if f == Cloud {
		return "/rest/api/3"
	}
	return "/rest/api/2"
}

// Defaults applied to the zero fields of a Config.
const (
	DefaultIssueType        = "Bug"
	DefaultCloseTransition  = "Done"
	DefaultReopenTransition = "To Do"
	// Label is the label sextant puts on every issue it creates, next to
	// the action's sextant.CorrelationKey.
	Label = "sextant"
)

// DefaultPriorityMap maps sextant priorities to the names of Jira's default
// priority scheme.
func DefaultPriorityMap() map[sextant.Priority]string {
	return map[sextant.Priority]string{
		sextant.P0: "Highest",
		sextant.P1: "High",
		sextant.P2: "Medium",
		sextant.P3: "Low",
	}
}

// Config is one Jira destination. Token is a resolved secret: Config's
// String, GoString and LogValue methods never show it, and no error of this
// package contains it.
type Config struct {
	Flavor Flavor
	// BaseURL is the site, e.g. https://example.atlassian.net,
	// https://api.atlassian.com/ex/jira/<cloudId> (Cloud scoped tokens) or
	// https://jira.corp/jira (Data Center, context path included). It must
	// be https; http is accepted for loopback hosts only (tests).
	BaseURL string
	// BrowseURL is where people open issues, BrowseURL/browse/KEY;
	// BaseURL when empty. Set it when BaseURL is the api.atlassian.com
	// gateway.
	BrowseURL string
	// Project is the project key issues are created in, e.g. "SEC".
	Project string
	// IssueType is the name of the issue type (DefaultIssueType).
	IssueType string
	// PriorityMap names the Jira priority of each sextant priority; missing
	// entries take DefaultPriorityMap's, and a priority mapped to "" is
	// not sent (for projects without the priority field).
	PriorityMap map[sextant.Priority]string
	// Labels are added to every issue, next to Label and the action's
	// correlation key. Jira labels have no spaces.
	Labels []string
	// Components are component names set on every issue.
	Components []string
	// CustomFields are extra fields set on every issue, by field ID
	// ("customfield_10042") with the value as Jira's API expects it. They
	// may not set the fields sextant owns (project, issuetype, summary,
	// description, labels, priority, components).
	CustomFields map[string]any
	// CloseTransition and ReopenTransition name the workflow transitions
	// Close and Reopen take (DefaultCloseTransition,
	// DefaultReopenTransition), matched without regard to case against the
	// transition's name, then the name of the status it leads to.
	CloseTransition  string
	ReopenTransition string
	// Email is the Atlassian account of the API token (Cloud only).
	Email string
	// Token is the Cloud API token or the Data Center personal access
	// token, resolved from its secret reference.
	Token string
}

// ownedFields are the issue fields BuildCreate sets itself.
var ownedFields = []string{"project", "issuetype", "summary", "description", "labels", "priority", "components"}

var (
	projectRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	// labelRE is what sextant accepts as a label: Jira refuses spaces,
	// and quotes or backslashes would have to be escaped in JQL.
	labelRE = regexp.MustCompile(`^[A-Za-z0-9._:+@#=/-]{1,255}$`)
)

// withDefaults returns cfg with its zero fields set to their defaults and
// its strings trimmed. The maps are copied: cfg's own are never changed.
func (cfg Config) withDefaults() Config {
	cfg.Flavor = Flavor(strings.ToLower(strings.TrimSpace(string(cfg.Flavor))))
	cfg.BaseURL = strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	cfg.BrowseURL = strings.TrimRight(strings.TrimSpace(cfg.BrowseURL), "/")
	cfg.Project = strings.TrimSpace(cfg.Project)
	cfg.IssueType = orDefault(cfg.IssueType, DefaultIssueType)
	cfg.CloseTransition = orDefault(cfg.CloseTransition, DefaultCloseTransition)
	cfg.ReopenTransition = orDefault(cfg.ReopenTransition, DefaultReopenTransition)
	cfg.Email = strings.TrimSpace(cfg.Email)
	pm := DefaultPriorityMap()
	for p, name := range cfg.PriorityMap {
		pm[p] = strings.TrimSpace(name)
	}
	cfg.PriorityMap = pm
	return cfg
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s == "" {
		return def
	}
	return s
}

// checkPayload checks what the payload builders need: a flavor, a project,
// labels Jira accepts and custom fields that leave sextant's own alone. cfg
// has its defaults applied.
func (cfg Config) checkPayload() error {
	if !cfg.Flavor.valid() {
		return sextant.Errorf(sextant.EINVALID, "jira: unknown flavor %q: want cloud or datacenter", cfg.Flavor)
	}
	if !projectRE.MatchString(cfg.Project) {
		return sextant.Errorf(sextant.EINVALID, "jira: project key %q: want letters, digits and underscores, starting with a letter", cfg.Project)
	}
	for _, l := range cfg.Labels {
		if !labelRE.MatchString(l) {
			return sextant.Errorf(sextant.EINVALID, "jira: label %q: want 1 to 255 letters, digits or ._:+@#=/- (no spaces or quotes)", l)
		}
	}
	for _, c := range cfg.Components {
		if strings.TrimSpace(c) == "" {
			return sextant.Errorf(sextant.EINVALID, "jira: empty component name")
		}
	}
	for k := range cfg.CustomFields {
		if strings.TrimSpace(k) == "" {
			return sextant.Errorf(sextant.EINVALID, "jira: custom field with an empty ID")
		}
		if slices.Contains(ownedFields, k) {
			return sextant.Errorf(sextant.EINVALID, "jira: custom field %q is set by sextant itself", k)
		}
	}
	for p := range cfg.PriorityMap {
		if p < sextant.P0 || p > sextant.P3 {
			return sextant.Errorf(sextant.EINVALID, "jira: priority map: unknown priority %s", p)
		}
	}
	return nil
}

// check checks all of cfg for the client: the payload's needs, a base URL
// it may send a token to, and credentials. cfg has its defaults applied.
func (cfg Config) check() error {
	if err := cfg.checkPayload(); err != nil {
		return err
	}
	if err := checkURL(cfg.BaseURL); err != nil {
		return sextant.Errorf(sextant.EINVALID, "jira: base URL: %s", sextant.ErrorMessage(err))
	}
	if cfg.BrowseURL != "" {
		if err := checkURL(cfg.BrowseURL); err != nil {
			return sextant.Errorf(sextant.EINVALID, "jira: browse URL: %s", sextant.ErrorMessage(err))
		}
	}
	if cfg.Token == "" {
		return sextant.Errorf(sextant.EINVALID, "jira: no token")
	}
	if strings.ContainsAny(cfg.Token, "\r\n") {
		return sextant.Errorf(sextant.EINVALID, "jira: the token holds a line break")
	}
	if cfg.Flavor == Cloud && cfg.Email == "" {
		return sextant.Errorf(sextant.EINVALID, "jira: Jira Cloud needs the email of the token's account")
	}
	return nil
}

// checkURL accepts an https URL, or an http one on a loopback host, with no
// user info, query or fragment: the token must not travel in clear text.
func checkURL(s string) error {
	if s == "" {
		return sextant.Errorf(sextant.EINVALID, "empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return sextant.Errorf(sextant.EINVALID, "%q is not a URL", s)
	}
	switch {
	case u.Host == "":
		return sextant.Errorf(sextant.EINVALID, "%q has no host", s)
	case u.User != nil:
		return sextant.Errorf(sextant.EINVALID, "%s holds user info: put credentials in email and token", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		return sextant.Errorf(sextant.EINVALID, "%q has a query or fragment", s)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return sextant.Errorf(sextant.EINVALID, "%q is http: the token would travel in clear text; use https", s)
	}
	return sextant.Errorf(sextant.EINVALID, "%q: want an https URL", s)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String describes cfg without its token.
func (cfg Config) String() string {
	return fmt.Sprintf("jira.Config{Flavor: %s, BaseURL: %s, Project: %s, Email: %s, Token: %s}",
		cfg.Flavor, cfg.BaseURL, cfg.Project, cfg.Email, redacted(cfg.Token))
}

// GoString is String, so that %#v does not show the token either.
func (cfg Config) GoString() string { return cfg.String() }

// LogValue implements slog.LogValuer without the token.
func (cfg Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("flavor", string(cfg.Flavor)),
		slog.String("base_url", cfg.BaseURL),
		slog.String("project", cfg.Project),
		slog.String("email", cfg.Email),
		slog.String("token", redacted(cfg.Token)),
	)
}

func redacted(secret string) string {
	if secret == "" {
		return ""
	}
	return "[REDACTED]"
}
