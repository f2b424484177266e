package service

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fix"
	"github.com/sextant-dev/sextant/internal/udiff"
)

// RemediateDestination is the pseudo-destination remediations travel
// through the outbox by: the delivery of an action to it is the job of
// opening the action's pull request, with the outbox's lease, retries,
// backoff, dead letter and retry API. No configured destination may take
// the name.
const RemediateDestination = "remediate"

// DefaultBase is the branch remediation pull requests are opened against
// when Remediator.Base is empty.
const DefaultBase = "main"

// FileEdit is one file a remediation changes: Edit receives the file as it
// is on the base branch and returns it as it should be.
type FileEdit struct {
	Path string
	Edit func(old []byte) ([]byte, error)
}

// Remediation is an approved change, ready to be proposed as a pull
// request from Branch to Base.
type Remediation struct {
	// Content is the action as tickets show it.
	Content sextant.TicketContent
	// Approval is the approved request of kind "remediate" that allows it.
	Approval sextant.Approval
	Base     string
	Branch   string
	Files    []FileEdit
}

// PullRequester opens a remediation's pull request and returns it. It is
// idempotent per branch: called again after a failure, or after a success
// sextant did not record, it returns the pull request already opened
// rather than a second one. cmd/sextant adapts github.Client to it.
type PullRequester interface {
	OpenPullRequest(ctx context.Context, r Remediation) (sextant.TicketRef, error)
}

// FindingReader reads one finding. The remediator learns the image of an
// action (whose Artifact is the artifact's key, often a digest) from its
// findings.
type FindingReader interface {
	Finding(ctx context.Context, id string) (sextant.FindingRecord, error)
}

// Remediator turns approved actions into pull requests: the Dockerfile of
// the action's image edited as fix.DockerfileDiff proposes (an OS-package
// upgrade RUN, a newer base image). It never runs anything itself; the
// pull request is its only side effect, and people review and merge it.
//
// Kubernetes configuration fixes are not proposed yet: the actions of the
// serve pipeline do not carry the manifest path and JSON Patch that
// internal/k8s would apply (see docs/sinks.md, "Remediate mode").
type Remediator struct {
	PRs PullRequester
	// Findings reads the action's findings, for the artifact's name; nil
	// leaves only the action's Artifact (its key) to map.
	Findings FindingReader
	// Base is the branch pull requests are opened against (DefaultBase
	// when empty).
	Base string
	// Dockerfiles maps an image repository ("registry.example/shop/cart":
	// the image without tag or digest), or an artifact exactly as scanned
	// ("registry.example/shop/cart:2.1", or its key), to the path of its
	// Dockerfile in the repository.
	Dockerfiles map[string]string
}

// RemediationBranch is the branch of an action's pull request: one per
// action, so that a retry finds what an earlier attempt made.
func RemediationBranch(actionID string) string {
	return "sextant/" + actionID
}

// Dockerfile returns the path of the Dockerfile mapped to an artifact: by
// its exact name or key first, then by its image repository.
func (r *Remediator) Dockerfile(art sextant.Artifact) (string, bool) {
	var names []string
	add := func(s string) {
		if s != "" && !slices.Contains(names, s) {
			names = append(names, s)
		}
	}
	add(art.Name)
	add(art.Key())
	for _, t := range art.Tags {
		add(art.Repository + ":" + t)
	}
	add(art.Repository)
	for _, ref := range append([]string{art.Name}, art.RepoDigests...) {
		if repo, _, _ := sextant.SplitImageRef(ref); !bareDigest(ref) {
			add(repo)
		}
	}
	for _, n := range names {
		if p, ok := r.Dockerfiles[n]; ok {
			return p, true
		}
	}
	return "", false
}

// bareDigest reports whether s is a digest alone ("sha256:…"), not an
// image reference that ends in one.
func bareDigest(s string) bool {
	return sextant.IsDigest(s) && !strings.ContainsAny(s, "/@")
}

// artifact returns what is known of the action's artifact: the artifact of
// its first finding that can be read, else only its key.
func (r *Remediator) artifact(ctx context.Context, a sextant.Action) (sextant.Artifact, error) {
	if r.Findings != nil {
		for _, id := range a.FindingIDs {
			rec, err := r.Findings.Finding(ctx, id)
			if sextant.ErrorCode(err) == sextant.ENOTFOUND {
				continue
			}
			if err != nil {
				return sextant.Artifact{}, err
			}
			if rec.Finding != nil {
				return rec.Finding.Artifact, nil
			}
		}
	}
	return sextant.Artifact{Name: a.Artifact}, nil
}

// Remediation builds the pull request of an approved action without
// sending anything. Actions other than OS-package upgrades and base-image
// rebuilds, and artifacts with no Dockerfile mapped, are EINVALID.
func (r *Remediator) Remediation(ctx context.Context, c sextant.TicketContent, approval sextant.Approval) (Remediation, error) {
	a := c.Action
	switch {
	case a.Kind == sextant.ActionUpgradePackage && sextant.OSEcosystem(a.Ecosystem):
	case a.Kind == sextant.ActionRebuildBase:
	case a.Kind == sextant.ActionUpgradePackage:
		return Remediation{}, sextant.Errorf(sextant.EINVALID, "remediate %s: %s is a %s package: only OS packages and base images are remediated by a Dockerfile pull request", a.ID, a.Package, a.Ecosystem)
	default:
		return Remediation{}, sextant.Errorf(sextant.EINVALID, "remediate %s: actions of kind %s are not remediated by pull request", a.ID, a.Kind)
	}
	art, err := r.artifact(ctx, a)
	if err != nil {
		return Remediation{}, fmt.Errorf("remediate %s: read its artifact: %w", a.ID, err)
	}
	path, ok := r.Dockerfile(art)
	if !ok {
		name := art.Repository
		if name == "" {
			name, _, _ = sextant.SplitImageRef(art.Name)
			if bareDigest(art.Name) {
				name = art.Name
			}
		}
		return Remediation{}, sextant.Errorf(sextant.EINVALID, "remediate %s: no Dockerfile is mapped to %s: add it under remediate.dockerfiles", a.ID, name)
	}
	base := r.Base
	if base == "" {
		base = DefaultBase
	}
	return Remediation{
		Content:  c,
		Approval: approval,
		Base:     base,
		Branch:   RemediationBranch(a.ID),
		Files:    []FileEdit{{Path: path, Edit: dockerfileEdit(path, a)}},
	}, nil
}

// dockerfileEdit edits a Dockerfile as fix.DockerfileDiff proposes for the
// action.
func dockerfileEdit(path string, a sextant.Action) func([]byte) ([]byte, error) {
	return func(old []byte) ([]byte, error) {
		diff, err := fix.DockerfileDiff(path, old, []sextant.Action{a})
		if err != nil {
			return nil, err
		}
		if diff == "" {
			return old, nil
		}
		return applyDiff(old, diff)
	}
}

// applyDiff applies a unified diff, as udiff.Unified writes one, to the
// text it was made from. Every context and removed line must match: a diff
// that does not fit is EINTERNAL, never applied in part.
func applyDiff(old []byte, diff string) ([]byte, error) {
	bad := func(format string, args ...any) error {
		return sextant.Errorf(sextant.EINTERNAL, "apply diff: "+format, args...)
	}
	src := udiff.Lines(string(old))
	dl := udiff.Lines(diff)
	out := make([]string, 0, len(src)+8)
	pos := 0
	i := 0
	for i < len(dl) && !strings.HasPrefix(dl[i], "@@ ") {
		i++
	}
	for i < len(dl) {
		start, n, err := hunkStart(dl[i])
		if err != nil {
			return nil, bad("%v", err)
		}
		i++
		// "-0,0" inserts before the first line; "-s,0" after line s.
		at := start - 1
		if n == 0 {
			at = start
		}
		if at < pos || at > len(src) {
			return nil, bad("hunk at line %d is out of order or past the end", start)
		}
		out = append(out, src[pos:at]...)
		pos = at
		for i < len(dl) && !strings.HasPrefix(dl[i], "@@ ") {
			line := dl[i]
			i++
			if line == "" || line[0] == '\\' {
				continue
			}
			kind, text := line[0], line[1:]
			if i < len(dl) && strings.HasPrefix(dl[i], `\`) {
				text = strings.TrimSuffix(text, "\n") // "\ No newline at end of file"
			}
			switch kind {
			case ' ', '-':
				if pos >= len(src) || src[pos] != text {
					return nil, bad("line %d does not match the diff", pos+1)
				}
				if kind == ' ' {
					out = append(out, text)
				}
				pos++
			case '+':
				out = append(out, text)
			default:
				return nil, bad("unexpected line %q", strings.TrimSpace(line))
			}
		}
	}
	out = append(out, src[pos:]...)
	return []byte(strings.Join(out, "")), nil
}

// hunkStart reads the old file's start line and line count of a hunk
// header "@@ -s,n +s,n @@".
func hunkStart(h string) (start, n int, err error) {
	f := strings.Fields(h)
	if len(f) < 3 || !strings.HasPrefix(f[1], "-") {
		return 0, 0, fmt.Errorf("bad hunk header %q", strings.TrimSpace(h))
	}
	s, c, ok := strings.Cut(f[1][1:], ",")
	n = 1
	if ok {
		if n, err = strconv.Atoi(c); err != nil {
			return 0, 0, fmt.Errorf("bad hunk header %q", strings.TrimSpace(h))
		}
	}
	if start, err = strconv.Atoi(s); err != nil || start < 0 || n < 0 {
		return 0, 0, fmt.Errorf("bad hunk header %q", strings.TrimSpace(h))
	}
	return start, n, nil
}

// remediationApproval returns the newest decided approval of kind
// "remediate" of the action; ok only when it approves. A later rejection
// overrides an earlier approval.
func (d *Dispatcher) remediationApproval(ctx context.Context, actionID string) (sextant.Approval, bool, error) {
	filter := sextant.ApprovalFilter{ActionID: actionID, Limit: sextant.MaxPageSize}
	for {
		page, err := d.Store.Approvals(ctx, filter)
		if err != nil {
			return sextant.Approval{}, false, err
		}
		for _, a := range page.Items {
			if a.Kind != "remediate" {
				continue
			}
			switch a.Status {
			case sextant.ApprovalApproved:
				return a, true, nil
			case sextant.ApprovalRejected:
				return a, false, nil
			}
		}
		if page.Next == "" {
			return sextant.Approval{}, false, nil
		}
		filter.Cursor = page.Next
	}
}

// queueRemediation queues the remediation of an open action whose
// remediation is approved, in remediate mode, unless its pull request is
// opened, it is queued already or it is in the dead letter (retried by
// hand).
func (d *Dispatcher) queueRemediation(ctx context.Context, rec sextant.ActionRecord) error {
	if d.Remediator == nil || d.Mode != sextant.ModeRemediate || rec.Status != sextant.ActionOpen {
		return nil
	}
	if _, ok, err := d.remediationApproval(ctx, rec.Action.ID); err != nil || !ok {
		return err
	}
	del, err := d.Store.Delivery(ctx, rec.Action.ID, RemediateDestination)
	switch {
	case err == nil:
		if del.Ref.ExternalID != "" || del.Pending || del.Dead {
			return nil
		}
	case sextant.ErrorCode(err) != sextant.ENOTFOUND:
		return err
	}
	return d.Store.QueueDelivery(ctx, rec.Action.ID, RemediateDestination, d.now())
}

// deliverRemediation opens the pull request of one claimed remediation,
// with the outcome recorded as any delivery's.
func (d *Dispatcher) deliverRemediation(ctx context.Context, del sextant.Delivery, claimedAt time.Time) {
	rec, err := d.Store.Action(ctx, del.ActionID)
	if err != nil {
		d.fail(ctx, del, err)
		return
	}
	op, err := d.remediate(ctx, &del, rec)
	if err != nil {
		d.outcome(del.Destination, true)
		d.fail(ctx, del, err)
		return
	}
	d.outcome(del.Destination, false)
	del.Delivered = rec.UpdatedAt
	if err := d.Store.CompleteDelivery(ctx, del, claimedAt); err != nil {
		d.log().Error("complete delivery", "action", del.ActionID, "destination", del.Destination, "err", err)
		return
	}
	if op != "" {
		d.log().Info("remediation proposed", "action", del.ActionID, "pull_request", del.Ref.URL)
	}
}

// remediate opens the action's pull request, once. Out of remediate mode,
// for a resolved action, or without an approval in force, it does nothing
// (Reconcile queues it again when that changes); the approval is checked
// here, not only when queuing, because the outbox's retry API can queue
// any delivery.
func (d *Dispatcher) remediate(ctx context.Context, del *sextant.Delivery, rec sextant.ActionRecord) (string, error) {
	switch {
	case del.Ref.ExternalID != "":
		return "", nil // one pull request per action
	case d.Mode != sextant.ModeRemediate:
		d.log().Info("remediation waits for remediate mode", "action", rec.Action.ID, "mode", d.Mode)
		return "", nil
	case rec.Status != sextant.ActionOpen:
		return "", nil
	}
	approval, ok, err := d.remediationApproval(ctx, rec.Action.ID)
	if err != nil || !ok {
		return "", err
	}
	content := sextant.TicketContent{Action: rec.Action, Status: rec.Status, Findings: rec.Findings, Owner: rec.Owner}
	if d.Summary != nil {
		content.Summary = d.Summary(ctx, rec)
	}
	if d.Link != nil {
		content.Link = d.Link(rec.Action.ID)
	}
	r, err := d.Remediator.Remediation(ctx, content, approval)
	if err != nil {
		return "", err
	}
	ref, err := d.Remediator.PRs.OpenPullRequest(ctx, r)
	if err != nil {
		return "", err
	}
	del.Ref, del.State = ref, sextant.TicketOpen
	files := make([]string, len(r.Files))
	for i, f := range r.Files {
		files[i] = f.Path
	}
	d.audit(ctx, sextant.SystemActor, "remediate.pr", rec.Action.ID, map[string]any{
		"ref": ref.ExternalID, "url": ref.URL, "branch": r.Branch, "base": r.Base, "files": files,
		"approval": approval.ID, "approved_by": approval.DecidedBy,
	})
	return "pull-request", nil
}
