package policydraft

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant"
)

// evalFS holds the labelled cases `sextant eval` and the tests run.
//
//go:embed testdata/eval/*.yaml
var evalFS embed.FS

// Case is one labelled policy request: the text, the intent it means (or
// the error it must get), and manifests with the resources the drafted
// policy must deny and admit. Its YAML form is described in
// docs/policy-draft.md ("Evaluation").
type Case struct {
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Request     string  `json:"request"`
	Want        *Intent `json:"want,omitempty"`
	// Error, if set, is a part of the message the request must be refused
	// with.
	Error     string   `json:"error,omitempty"`
	Manifests string   `json:"manifests,omitempty"`
	Deny      []string `json:"deny,omitempty"`
	Admit     []string `json:"admit,omitempty"`
	File      string   `json:"-"`
}

// CaseResult is how a case went.
type CaseResult struct {
	Name     string   `json:"name"`
	Pass     bool     `json:"pass"`
	Source   string   `json:"source"`
	Problems []string `json:"problems,omitempty"`
	// Invented counts a model's answers rejected for made-up values.
	Invented int      `json:"invented"`
	Rejected []string `json:"rejected,omitempty"`
}

// EvalCases returns the labelled cases built into sextant.
func EvalCases() ([]Case, error) {
	sub, err := fs.Sub(evalFS, "testdata/eval")
	if err != nil {
		return nil, err
	}
	return LoadCases(sub)
}

// LoadCases reads every *.yaml file of fsys as a case, by file name.
func LoadCases(fsys fs.FS) ([]Case, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []Case
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		var c Case
		if err := yaml.UnmarshalStrict(b, &c); err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "policy case %s: %v", n, err)
		}
		c.File = n
		if c.Name == "" {
			c.Name = strings.TrimSuffix(path.Base(n), ".yaml")
		}
		if c.Request == "" || (c.Want == nil) == (c.Error == "") {
			return nil, sextant.Errorf(sextant.EINVALID, "policy case %s: needs request, and want or error", n)
		}
		out = append(out, c)
	}
	return out, nil
}

// Run reads the case's request — with the parser, or with p's model when p
// is not nil — and compares the intent with the expected one; then drafts
// the policies and checks that they deny and admit the case's resources.
func (c Case) Run(ctx context.Context, p *Proposer) (CaseResult, error) {
	res := CaseResult{Name: c.Name, Source: "parser"}
	var in Intent
	var err error
	if p == nil {
		in, err = Parse(c.Request)
	} else {
		var prop Proposal
		prop, err = p.Propose(ctx, c.Request)
		res.Source = prop.Source()
		res.Invented = prop.Invented()
		res.Rejected = prop.Rejected
		in = prop.Intent
		if err == nil {
			err = in.Validate()
		}
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	switch {
	case c.Error != "" && err == nil:
		res.Problems = append(res.Problems, fmt.Sprintf("read as %s, want an error with %q", in, c.Error))
	case c.Error != "" && p == nil && !strings.Contains(err.Error(), c.Error):
		res.Problems = append(res.Problems, fmt.Sprintf("error %q, want one with %q", firstLine(err.Error()), c.Error))
	case c.Error == "" && err != nil:
		res.Problems = append(res.Problems, "refused: "+firstLine(err.Error()))
	case c.Error == "":
		want := *c.Want
		want.Rules = slices.Clone(want.Rules)
		if err := want.Validate(); err != nil {
			return res, fmt.Errorf("policy case %s: want: %v", c.File, err)
		}
		if !reflect.DeepEqual(want, in) {
			res.Problems = append(res.Problems, fmt.Sprintf("intent %s, want %s", in, want))
		} else if problems, err := c.checkManifests(in); err != nil {
			return res, err
		} else {
			res.Problems = append(res.Problems, problems...)
		}
	}
	res.Pass = len(res.Problems) == 0
	return res, nil
}

// checkManifests drafts the policies and compares their decisions on the
// case's manifests with Deny and Admit.
func (c Case) checkManifests(in Intent) ([]string, error) {
	d, err := Generate(in, c.Request, "parser", Options{})
	if err != nil {
		return []string{"draft: " + sextant.ErrorMessage(err)}, nil
	}
	if c.Manifests == "" {
		return nil, nil
	}
	rs, _, err := ReadResources(strings.NewReader(c.Manifests), c.File)
	if err != nil {
		return nil, err
	}
	byRef := map[string]Decision{}
	for _, r := range rs {
		byRef[r.Ref] = d.Decide(r)
	}
	var problems []string
	for _, ref := range c.Deny {
		x, ok := byRef[ref]
		switch {
		case !ok:
			return nil, fmt.Errorf("policy case %s: no resource %s in the manifests", c.File, ref)
		case !x.Denied:
			problems = append(problems, fmt.Sprintf("%s admitted, want denied", ref))
		}
	}
	for _, ref := range c.Admit {
		x, ok := byRef[ref]
		switch {
		case !ok:
			return nil, fmt.Errorf("policy case %s: no resource %s in the manifests", c.File, ref)
		case x.Denied:
			problems = append(problems, fmt.Sprintf("%s denied (%s), want admitted", ref, strings.Join(x.Failures, "; ")))
		}
	}
	return problems, nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
