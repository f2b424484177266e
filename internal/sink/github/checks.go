package github

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sextant-dev/sextant"
)

// Annotation levels.
const (
	LevelNotice  = "notice"
	LevelWarning = "warning"
	LevelFailure = "failure"
)

// MaxAnnotations is how many annotations GitHub takes in one request; the
// rest go in follow-up updates, where they accumulate.
const MaxAnnotations = 50

// Annotation marks lines of a file in a check run.
type Annotation struct {
	// Path is the file, relative to the repository root.
	Path string `json:"path"`
	// StartLine and EndLine are the lines, from 1; EndLine 0 means
	// StartLine.
	StartLine int `json:"start_line"`
	EndLine   int `json:"end_line"`
	// Level is LevelNotice, LevelWarning or LevelFailure; LevelWarning
	// when empty.
	Level string `json:"annotation_level"`
	// Title, Message and RawDetails are plain text; Message is required.
	Title      string `json:"title,omitempty"`
	Message    string `json:"message"`
	RawDetails string `json:"raw_details,omitempty"`
}

// CheckRunRequest is the body of a check-run create or update.
type CheckRunRequest struct {
	Name        string       `json:"name,omitempty"`
	HeadSHA     string       `json:"head_sha,omitempty"`
	Status      string       `json:"status,omitempty"`
	Conclusion  string       `json:"conclusion,omitempty"`
	CompletedAt string       `json:"completed_at,omitempty"`
	Output      *CheckOutput `json:"output,omitempty"`
}

// CheckOutput is a check run's report: a title, a markdown summary and
// annotations.
type CheckOutput struct {
	Title       string       `json:"title"`
	Summary     string       `json:"summary"`
	Annotations []Annotation `json:"annotations,omitempty"`
}

// Conclusions a completed check run may have.
var conclusions = map[string]bool{
	"success": true, "failure": true, "neutral": true, "cancelled": true,
	"skipped": true, "timed_out": true, "action_required": true,
}

var headSHA = regexp.MustCompile(`^[0-9a-fA-F]{40}([0-9a-fA-F]{24})?$`)

// Limits of check-run text, in characters.
const (
	maxCheckTitle  = 255
	maxAnnotation  = 65535
	maxCheckSuffix = "…"
)

// NewCheckRun builds the requests that record a completed check run on
// commit sha: the create, with the first MaxAnnotations annotations, and
// one update per further batch. The output title is the first line of
// summary (name when it is empty); summary is markdown, sent as given,
// cut to MaxBody. Errors (a bad SHA, name, conclusion or annotation) are
// EINVALID.
func NewCheckRun(sha, name, conclusion, summary string, annotations []Annotation, completedAt time.Time) (CheckRunRequest, []CheckRunRequest, error) {
	invalid := func(format string, args ...any) (CheckRunRequest, []CheckRunRequest, error) {
		return CheckRunRequest{}, nil, sextant.Errorf(sextant.EINVALID, "github: check run: "+format, args...)
	}
	switch {
	case !headSHA.MatchString(sha):
		return invalid("head SHA %q is not a commit SHA", oneLine(sha))
	case oneLine(name) == "" || oneLine(name) != name:
		return invalid("name %q is empty or spans lines", oneLine(name))
	case !conclusions[conclusion]:
		return invalid("conclusion %q: want success, failure, neutral, cancelled, skipped, timed_out or action_required", oneLine(conclusion))
	}
	batch := make([]Annotation, len(annotations))
	for i, a := range annotations {
		if a.Level == "" {
			a.Level = LevelWarning
		}
		if a.EndLine == 0 {
			a.EndLine = a.StartLine
		}
		a.Path = oneLine(a.Path)
		switch {
		case a.Path == "" || strings.HasPrefix(a.Path, "/"):
			return invalid("annotation %d: path %q is not relative to the repository", i, a.Path)
		case a.StartLine < 1 || a.EndLine < a.StartLine:
			return invalid("annotation %d (%s): lines %d-%d", i, a.Path, a.StartLine, a.EndLine)
		case a.Level != LevelNotice && a.Level != LevelWarning && a.Level != LevelFailure:
			return invalid("annotation %d (%s): level %q: want notice, warning or failure", i, a.Path, oneLine(a.Level))
		case strings.TrimSpace(a.Message) == "":
			return invalid("annotation %d (%s): no message", i, a.Path)
		}
		a.Title = truncate(oneLine(a.Title), maxCheckTitle, maxCheckSuffix)
		a.Message = truncate(clean(a.Message), maxAnnotation, maxCheckSuffix)
		a.RawDetails = truncate(clean(a.RawDetails), maxAnnotation, maxCheckSuffix)
		batch[i] = a
	}
	title, _, _ := strings.Cut(strings.TrimSpace(summary), "\n")
	title = oneLine(strings.TrimLeft(title, "# "))
	if title == "" {
		title = name
	}
	out := CheckOutput{Title: truncate(title, maxCheckTitle, maxCheckSuffix), Summary: truncate(summary, MaxBody, "\n\n… (cut)")}
	if out.Summary == "" {
		out.Summary = out.Title
	}
	first := out
	first.Annotations = batch[:min(len(batch), MaxAnnotations)]
	create := CheckRunRequest{
		Name:        name,
		HeadSHA:     sha,
		Status:      "completed",
		Conclusion:  conclusion,
		CompletedAt: completedAt.UTC().Format(time.RFC3339),
		Output:      &first,
	}
	var updates []CheckRunRequest
	for i := MaxAnnotations; i < len(batch); i += MaxAnnotations {
		o := out
		o.Annotations = batch[i:min(len(batch), i+MaxAnnotations)]
		updates = append(updates, CheckRunRequest{Output: &o})
	}
	return create, updates, nil
}

// CreateCheckRun records a completed check run on commit headSHA
// (NewCheckRun): one create, then one update per further batch of
// MaxAnnotations annotations. Only a GitHub App installation token may
// create check runs; any other token gets EUNAUTHORIZED. When an update
// fails, the reference of the check run already created comes back with
// the error.
func (c *Client) CreateCheckRun(ctx context.Context, headSHA, name, conclusion, summary string, annotations []Annotation) (sextant.TicketRef, error) {
	create, updates, err := NewCheckRun(headSHA, name, conclusion, summary, annotations, c.Now())
	if err != nil {
		return sextant.TicketRef{}, err
	}
	op := fmt.Sprintf("github: create check run %s on %s", name, headSHA)
	var run struct {
		ID      int64  `json:"id"`
		HTMLURL string `json:"html_url"`
	}
	if _, err := c.do(ctx, op, http.MethodPost, c.url(c.repoPath("/check-runs"), nil), create, &run); err != nil {
		return sextant.TicketRef{}, err
	}
	if run.ID <= 0 {
		return sextant.TicketRef{}, sextant.Errorf(sextant.EUNAVAILABLE, "%s: GitHub answered without a check run id", op)
	}
	ref := sextant.TicketRef{ExternalID: strconv.FormatInt(run.ID, 10), URL: run.HTMLURL}
	for i, u := range updates {
		op := fmt.Sprintf("github: add annotations %d-%d to check run %d", (i+1)*MaxAnnotations+1, (i+1)*MaxAnnotations+len(u.Output.Annotations), run.ID)
		if _, err := c.do(ctx, op, http.MethodPatch, c.url(c.repoPath("/check-runs/"+ref.ExternalID), nil), u, nil); err != nil {
			return ref, err
		}
	}
	return ref, nil
}
