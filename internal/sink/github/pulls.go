package github

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// FileEdit is one file a fix pull request changes. Edit receives the file
// as it is on the base branch and returns it as it should be; returning it
// unchanged leaves the file out of the pull request.
type FileEdit struct {
	// Path is relative to the repository root, with forward slashes.
	Path string
	Edit func(old []byte) ([]byte, error)
}

// FixPR is a pull request that carries a fix: the edited Files, committed
// on Branch (created from Base when it does not exist), proposed for Base.
type FixPR struct {
	Base   string
	Branch string
	// Title is plain text; Body is markdown sent as given (FixPRBody
	// renders sextant's). Title is also the commit message.
	Title string
	Body  string
	Files []FileEdit
}

var (
	branchName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$`)
	filePath   = regexp.MustCompile(`^[^\x00-\x1f\x7f\\:*?"<>|]{1,1000}$`)
)

// checkBranch reports whether name is a branch name git and GitHub accept
// (a subset: letters, digits and . _ / -, no "..", no empty component, not
// ending in "/", "." or ".lock").
func checkBranch(what, name string) error {
	if !branchName.MatchString(name) || strings.Contains(name, "..") || strings.Contains(name, "//") ||
		strings.Contains(name, "/.") || strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".") || strings.HasSuffix(name, ".lock") {
		return sextant.Errorf(sextant.EINVALID, "github: fix pull request: %s %q is not a branch name", what, oneLine(name))
	}
	return nil
}

// checkPath reports whether p is a relative path inside the repository.
func checkPath(p string) error {
	ok := filePath.MatchString(p) && !strings.HasPrefix(p, "/") && !strings.HasSuffix(p, "/")
	for _, seg := range strings.Split(p, "/") {
		ok = ok && seg != "" && seg != "." && seg != ".."
	}
	if !ok {
		return sextant.Errorf(sextant.EINVALID, "github: fix pull request: %q is not a file path relative to the repository root", oneLine(p))
	}
	return nil
}

func (pr FixPR) check() error {
	if err := checkBranch("base", pr.Base); err != nil {
		return err
	}
	if err := checkBranch("branch", pr.Branch); err != nil {
		return err
	}
	switch {
	case pr.Base == pr.Branch:
		return sextant.Errorf(sextant.EINVALID, "github: fix pull request: branch and base are both %q", pr.Base)
	case strings.TrimSpace(oneLine(pr.Title)) == "":
		return sextant.Errorf(sextant.EINVALID, "github: fix pull request: no title")
	case len(pr.Files) == 0:
		return sextant.Errorf(sextant.EINVALID, "github: fix pull request: no file to change")
	}
	seen := map[string]bool{}
	for _, f := range pr.Files {
		if err := checkPath(f.Path); err != nil {
			return err
		}
		if f.Edit == nil {
			return sextant.Errorf(sextant.EINVALID, "github: fix pull request: no edit for %s", f.Path)
		}
		if seen[f.Path] {
			return sextant.Errorf(sextant.EINVALID, "github: fix pull request: %s is edited twice", f.Path)
		}
		seen[f.Path] = true
	}
	return nil
}

// pull is a pull request as the client reads it.
type pull struct {
	Number  int    `json:"number"`
	HTMLURL string `json:"html_url"`
	State   string `json:"state"`
	Head    struct {
		Ref string `json:"ref"`
	} `json:"head"`
}

func (p pull) ref() sextant.TicketRef {
	return sextant.TicketRef{ExternalID: strconv.Itoa(p.Number), URL: p.HTMLURL}
}

// OpenFixPullRequest opens a pull request from pr.Branch to pr.Base that
// carries pr's file edits, and returns its number and URL. It is
// idempotent, so that the outbox can retry it and a crash between
// GitHub's create and sextant's record of it does no harm:
//
//   - a pull request from the branch, in any state, is looked up first and
//     returned if there is one (closed and merged ones too: one pull
//     request per branch, ever);
//   - the branch is created from the base's head unless it exists;
//   - each file is read at the base and edited, and written to the branch
//     (one commit each) only when the branch does not hold the edited text
//     already;
//   - a create that races with another is answered with the winner.
//
// Edits that leave every file as it is at the base are EINVALID: there
// would be nothing to review. An Edit's error is returned with its code.
// The token needs contents and pull requests write access.
func (c *Client) OpenFixPullRequest(ctx context.Context, pr FixPR) (sextant.TicketRef, error) {
	if err := pr.check(); err != nil {
		return sextant.TicketRef{}, err
	}
	op := "github: fix pull request from " + pr.Branch
	if ref, ok, err := c.findPull(ctx, op, pr.Branch); err != nil || ok {
		return ref, err
	}
	type change struct {
		path    string
		content []byte
	}
	var changes []change
	for _, f := range pr.Files {
		old, _, err := c.readFile(ctx, op, f.Path, pr.Base)
		if err != nil {
			return sextant.TicketRef{}, err
		}
		next, err := f.Edit(bytes.Clone(old))
		if err != nil {
			return sextant.TicketRef{}, &sextant.Error{Code: sextant.ErrorCode(err), Message: fmt.Sprintf("%s: edit %s: %v", op, f.Path, err)}
		}
		if !bytes.Equal(old, next) {
			changes = append(changes, change{f.Path, next})
		}
	}
	if len(changes) == 0 {
		return sextant.TicketRef{}, sextant.Errorf(sextant.EINVALID, "%s: the edits leave every file as it is on %s: nothing to propose", op, pr.Base)
	}
	if err := c.ensureBranch(ctx, op, pr.Branch, pr.Base); err != nil {
		return sextant.TicketRef{}, err
	}
	message := truncate(oneLine(pr.Title), 200, "…")
	for _, ch := range changes {
		cur, sha, err := c.readFile(ctx, op, ch.path, pr.Branch)
		switch {
		case err == nil && bytes.Equal(cur, ch.content):
			continue // written by an earlier attempt
		case err != nil && sextant.ErrorCode(err) != sextant.ENOTFOUND:
			return sextant.TicketRef{}, err
		}
		body := map[string]string{
			"message": message,
			"content": base64.StdEncoding.EncodeToString(ch.content),
			"branch":  pr.Branch,
		}
		if sha != "" {
			body["sha"] = sha
		}
		if _, err := c.do(ctx, op, http.MethodPut, c.url(c.repoPath("/contents/"+ch.path), nil), body, nil); err != nil {
			return sextant.TicketRef{}, err
		}
	}
	req := map[string]any{
		"title": truncate(neutraliseRefs(oneLine(pr.Title)), MaxTitle, "…"),
		"head":  pr.Branch,
		"base":  pr.Base,
		"body":  truncate(pr.Body, MaxBody, "\n\n… (cut)"),
	}
	var got pull
	if _, err := c.do(ctx, op, http.MethodPost, c.url(c.repoPath("/pulls"), nil), req, &got); err != nil {
		// "A pull request already exists": another replica got there
		// first.
		if sextant.ErrorCode(err) == sextant.EINVALID {
			if ref, ok, ferr := c.findPull(ctx, op, pr.Branch); ferr == nil && ok {
				return ref, nil
			}
		}
		return sextant.TicketRef{}, err
	}
	if got.Number <= 0 {
		return sextant.TicketRef{}, sextant.Errorf(sextant.EUNAVAILABLE, "%s: GitHub answered without a pull request number", op)
	}
	return got.ref(), nil
}

// findPull looks up the pull requests, in any state, whose head is branch
// in this repository: the open one if there is one, else the newest.
func (c *Client) findPull(ctx context.Context, op, branch string) (sextant.TicketRef, bool, error) {
	q := url.Values{"head": {c.cfg.Owner + ":" + branch}, "state": {"all"}, "per_page": {"100"}}
	var list []pull
	if _, err := c.do(ctx, op, http.MethodGet, c.url(c.repoPath("/pulls"), q), nil, &list); err != nil {
		return sextant.TicketRef{}, false, err
	}
	var best *pull
	for i := range list {
		p := &list[i]
		// GitHub ignores a head filter it cannot read and lists every
		// pull request: keep only the branch's.
		if p.Number <= 0 || p.Head.Ref != branch {
			continue
		}
		if best == nil || (p.State == "open" && best.State != "open") || (p.State == best.State && p.Number > best.Number) {
			best = p
		}
	}
	if best == nil {
		return sextant.TicketRef{}, false, nil
	}
	return best.ref(), true, nil
}

// contentFile is a file as the contents API returns it.
type contentFile struct {
	Type     string `json:"type"`
	Encoding string `json:"encoding"`
	Content  string `json:"content"`
	SHA      string `json:"sha"`
}

// readFile reads a file on a branch: its content and blob SHA. A missing
// file (or branch) is ENOTFOUND.
func (c *Client) readFile(ctx context.Context, op, path, branch string) ([]byte, string, error) {
	var raw json.RawMessage
	if _, err := c.do(ctx, op, http.MethodGet, c.url(c.repoPath("/contents/"+path), url.Values{"ref": {branch}}), nil, &raw); err != nil {
		return nil, "", err
	}
	var f contentFile
	if err := json.Unmarshal(raw, &f); err != nil || f.Type != "file" {
		return nil, "", sextant.Errorf(sextant.EINVALID, "%s: %s on %s is not a file", op, path, branch)
	}
	if f.Encoding != "base64" {
		// Files over 1 MB come without their content.
		return nil, "", sextant.Errorf(sextant.EINVALID, "%s: %s on %s is too large for the contents API", op, path, branch)
	}
	b, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\n", "", "\r", "").Replace(f.Content))
	if err != nil {
		return nil, "", sextant.Errorf(sextant.EUNAVAILABLE, "%s: %s on %s: content is not base64", op, path, branch)
	}
	return b, f.SHA, nil
}

// gitRef is a git reference as the API returns it.
type gitRef struct {
	Ref    string `json:"ref"`
	Object struct {
		SHA string `json:"sha"`
	} `json:"object"`
}

// ensureBranch creates branch from base's head unless it exists.
func (c *Client) ensureBranch(ctx context.Context, op, branch, base string) error {
	exists := func() (bool, error) {
		var r gitRef
		_, err := c.do(ctx, op, http.MethodGet, c.url(c.repoPath("/git/ref/heads/"+branch), nil), nil, &r)
		if sextant.ErrorCode(err) == sextant.ENOTFOUND {
			return false, nil
		}
		return err == nil, err
	}
	if ok, err := exists(); err != nil || ok {
		return err
	}
	var head gitRef
	if _, err := c.do(ctx, op, http.MethodGet, c.url(c.repoPath("/git/ref/heads/"+base), nil), nil, &head); err != nil {
		return err
	}
	if head.Object.SHA == "" {
		return sextant.Errorf(sextant.EUNAVAILABLE, "%s: GitHub answered without the head of %s", op, base)
	}
	_, err := c.do(ctx, op, http.MethodPost, c.url(c.repoPath("/git/refs"), nil),
		map[string]string{"ref": "refs/heads/" + branch, "sha": head.Object.SHA}, nil)
	if sextant.ErrorCode(err) == sextant.EINVALID {
		// "Reference already exists": made meanwhile by another attempt.
		if ok, ferr := exists(); ferr == nil && ok {
			return nil
		}
	}
	return err
}

// FixPRTitle is a remediation pull request's title: "[sextant] " and the
// action's title, on one line, cut to MaxTitle characters.
func FixPRTitle(c sextant.TicketContent) string {
	t := oneLine(c.Action.Title)
	if t == "" {
		t = "Remediate " + oneLine(c.Action.ID)
	}
	return truncate(neutraliseRefs("[sextant] "+t), MaxTitle, "…")
}

// FixPRBody is a remediation pull request's markdown: the hidden Marker
// of the action, a line saying sextant opened it and ran nothing, the
// facts of the action, the vulnerabilities it fixes, the files changed,
// the fix commands, and who approved the remediation and when. Text from
// findings and from people is escaped as in IssueBody.
func FixPRBody(c sextant.TicketContent, approval sextant.Approval, files []string) string {
	a := c.Action
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, format, args...)
		b.WriteByte('\n')
	}
	line("%s", Marker(sextant.CorrelationKey(a.ID)))
	line("Opened by sextant for the approved remediation of action %s. sextant ran nothing: this pull request is the only change it made. Review it, let CI build it, and merge it when it passes.", codeSpan(a.ID))
	line("")
	head := fmt.Sprintf("**%s** · risk score **%s**/100", a.Priority, num(a.Score))
	if a.Kind != "" {
		head += " · " + EscapeText(oneLine(string(a.Kind)))
	}
	line("%s", head)
	line("")
	if a.Artifact != "" {
		line("- **Artifact:** %s", codeSpan(a.Artifact))
	}
	if a.Package != "" {
		p := codeSpan(a.Package)
		if a.InstalledVersion != "" && a.TargetVersion != "" {
			p += " " + codeSpan(a.InstalledVersion) + " → " + codeSpan(a.TargetVersion)
		}
		line("- **Package:** %s", p)
	} else if a.Kind == sextant.ActionRebuildBase && a.TargetVersion != "" {
		line("- **New base image:** %s", codeSpan(a.TargetVersion))
	}
	if c.Owner != "" {
		line("- **Owner:** %s", EscapeText(oneLine(c.Owner)))
	}
	if c.Findings > 0 {
		line("- **Findings:** %d", c.Findings)
	}
	if len(a.Vulnerabilities) > 0 {
		line("")
		line("### Vulnerabilities (%d)", len(a.Vulnerabilities))
		line("")
		for i, v := range a.Vulnerabilities {
			if i == maxVulnerabilities {
				line("- … and %d more", len(a.Vulnerabilities)-i)
				break
			}
			line("- %s", vulnerability(v))
		}
	}
	if len(files) > 0 {
		line("")
		line("### Changed files")
		line("")
		for _, f := range files {
			line("- %s", codeSpan(f))
		}
	}
	if len(a.Commands) > 0 {
		line("")
		line("### Commands")
		line("")
		line("The change carries out what the fix plan says:")
		for _, cmd := range a.Commands {
			line("")
			line("%s", fence(cmd, "sh"))
		}
	}
	line("")
	line("### Approval")
	line("")
	if approval.DecidedBy != "" {
		line("Approved by %s at %s (approval %s).", codeSpan(approval.DecidedBy), when(approval.DecidedAt), codeSpan(approval.ID))
	} else {
		line("Approval %s.", codeSpan(approval.ID))
	}
	if approval.RequestedBy != "" {
		req := fmt.Sprintf("Requested by %s at %s", codeSpan(approval.RequestedBy), when(approval.RequestedAt))
		if r := strings.TrimSpace(oneLine(approval.Reason)); r != "" {
			req += ": " + EscapeText(r)
		}
		line("%s", req)
	}
	if cm := strings.TrimSpace(oneLine(approval.Comment)); cm != "" {
		line("")
		line("> %s", EscapeText(cm))
	}
	if u := link(c.Link); u != "" {
		line("")
		line("[Open in sextant](%s)", u)
	}
	line("")
	line("<sub>Opened by sextant (action %s). sextant opens one pull request per action and does not push to this branch again.</sub>", codeSpan(a.ID))
	return truncate(strings.TrimRight(b.String(), "\n"), MaxBody, "\n\n… (cut: the full plan is in sextant)")
}

// when formats a time for a body, in UTC to the minute.
func when(t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
