package main

import (
	"context"
	"strings"
	"sync"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/explain"
	"github.com/sextant-dev/sextant/internal/llm"
	"github.com/sextant-dev/sextant/internal/prompt"
	"github.com/sextant-dev/sextant/internal/redact"
	"github.com/sextant-dev/sextant/internal/render"
	"github.com/sextant-dev/sextant/internal/triage"
)

// maxExplainFindings bounds the findings of one action handed to the
// explainer: the facts list 20 vulnerabilities at most, and a base-image
// rebuild may resolve thousands of findings.
const maxExplainFindings = 200

// newExplainer returns the explainer triage --explain uses, with the
// provider SEXTANT_LLM configures (llm.go) within its limits; lim is nil
// for the offline templates, the default, with which nothing leaves the
// machine. Redaction is configured either way, so that explanations
// record what is withheld.
func (m *Main) newExplainer() (e *explain.Explainer, lim *llm.Limited, err error) {
	e = &explain.Explainer{
		InternalDomains: redact.ParseList(m.Getenv("SEXTANT_INTERNAL_DOMAINS")),
		RegistryHosts:   redact.ParseList(m.Getenv("SEXTANT_REGISTRY_HOSTS")),
	}
	c, err := m.llmConfig()
	if err != nil {
		return nil, nil, err
	}
	if c.provider == llmOffline {
		return e, nil, nil
	}
	if e.Prompts, err = prompt.Load(m.Getenv("SEXTANT_PROMPTS_DIR")); err != nil {
		return nil, nil, err
	}
	if lim, err = c.newModel(); err != nil {
		return nil, nil, err
	}
	e.Model, e.Provider = lim, c.provider
	return e, lim, nil
}

// explanations explains the actions the output shows (respecting --top
// and --min-priority), by action ID, with e. With a model, up to
// workers actions are explained at once (the model's concurrency limit
// holds whatever this number); the first failure stops the rest.
func (m *Main) explanations(ctx context.Context, e *explain.Explainer, workers int, res *triage.Result, o render.Options) (map[string]*explain.Explanation, error) {
	shown := render.Shown(res, o)
	if len(shown) == 0 {
		return nil, nil
	}
	findings, err := actionFindings(res, shown)
	if err != nil {
		return nil, err
	}
	if e.Model == nil || workers < 1 {
		workers = 1
	}
	// The actions are gathered here, in order; only the explaining, which
	// waits on the model, runs in parallel.
	actions := make([]sextant.Action, len(shown))
	for j, i := range shown {
		actions[j] = res.Explain(i)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		out   = make(map[string]*explain.Explanation, len(shown))
		first error
		next  = make(chan int)
		wg    sync.WaitGroup
	)
	for range min(workers, len(shown)) {
		// Each worker ends when next is closed: every action handed
		// out, or a failure.
		wg.Go(func() {
			for j := range next {
				a := actions[j]
				x, err := e.Explain(ctx, a, findings[a.ID])
				mu.Lock()
				if err != nil && first == nil {
					first = err
					cancel()
				}
				if err == nil {
					out[a.ID] = &x
				}
				mu.Unlock()
			}
		})
	}
	for j := range actions {
		if ctx.Err() != nil {
			break
		}
		next <- j
	}
	close(next)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// actionFindings collects, in one pass over the findings, those of the
// given actions, with their advisory text, as root findings.
func actionFindings(res *triage.Result, actions []int) (map[string][]sextant.Finding, error) {
	want := make(map[string]bool, len(actions))
	for _, i := range actions {
		want[res.Actions[i].ID] = true
	}
	out := map[string][]sextant.Finding{}
	err := res.EachFinding(true, func(v *triage.FindingView) error {
		if !want[v.ActionID] || len(out[v.ActionID]) >= maxExplainFindings {
			return nil
		}
		sev, _ := sextant.ParseSeverity(v.Severity)
		f := sextant.Finding{
			ID: v.ID, Kind: v.Kind, VulnerabilityID: v.Vulnerability, Aliases: v.Aliases,
			Title: v.Title, Description: v.Description, Severity: sev, Location: v.Location,
			Package: sextant.Package{Ecosystem: v.Ecosystem, Name: v.Package, Version: v.InstalledVersion},
		}
		if v.FixedVersion != "" {
			f.FixedVersions = strings.Split(v.FixedVersion, ", ")
		}
		if len(v.Sources) > 0 {
			f.Source = v.Sources[0]
		}
		if art, ok := res.Artifact(v.Artifact); ok {
			f.Artifact = art
		} else {
			f.Artifact.Name = v.Artifact
		}
		for _, x := range v.Factors {
			if b, ok := x.Value.(bool); ok && b && x.Name == "kev" {
				f.KnownExploited = true
			}
		}
		out[v.ActionID] = append(out[v.ActionID], f)
		return nil
	})
	return out, err
}
