package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/backend"
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
	return m.explainerWith(nil)
}

// explainerWith is newExplainer with wrap, if set, put around the
// provider inside its limits, so that it sees every call made to the
// provider, each retry included.
func (m *Main) explainerWith(wrap func(explain.Model) explain.Model) (e *explain.Explainer, lim *llm.Limited, err error) {
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
	if wrap == nil {
		lim, err = c.newModel()
	} else {
		// The provider alone is a Limited that makes one attempt within
		// no limits; the limits go around the wrapper.
		bare := c
		bare.limits = llm.Limits{Provider: c.provider, Model: c.model, MaxAttempts: 1}
		var p *llm.Limited
		if p, err = bare.newModel(); err == nil {
			lim = llm.NewLimited(wrap(p), c.limits)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	e.Model, e.Provider, e.ModelName = lim, c.provider, c.model
	return e, lim, nil
}

// explainCacheFlags are triage's flags for the explanation cache.
type explainCacheFlags struct {
	file string
	off  bool
}

func addExplainCacheFlags(cmd *cobra.Command, f *explainCacheFlags) {
	fl := cmd.Flags()
	fl.StringVar(&f.file, "explain-cache", "", "with a provider, keep its explanations in this SQLite file (or postgres:// database) and reuse them while an action is unchanged (default: explanations.db beside the threat-intel cache directory)")
	fl.BoolVar(&f.off, "no-explain-cache", false, "ask the provider for every explanation, and keep none")
}

// explainCacheFile is where the explanation cache is kept unless
// --explain-cache says: explanations.db in the directory that holds the
// threat-intel cache directory (the user cache dir's sextant/, unless
// --intel-dir or SEXTANT_INTEL_DIR moves it).
func (m *Main) explainCacheFile(intelDir string) (string, error) {
	if intelDir == "" {
		intelDir = m.Getenv("SEXTANT_INTEL_DIR")
	}
	if intelDir != "" {
		return filepath.Join(filepath.Dir(filepath.Clean(intelDir)), "explanations.db"), nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", sextant.Errorf(sextant.EINVALID, "no cache directory for explanations (%v); name a file with --explain-cache, or use --no-explain-cache", err)
	}
	return filepath.Join(base, "sextant", "explanations.db"), nil
}

// openExplainCache gives e, when it has a model, the explanation cache the
// flags name, and returns the function that closes it. The offline
// templates need none: they cost less than a lookup. A cache that cannot
// be opened at its default place is a warning; one the user named is an
// error.
func (m *Main) openExplainCache(ctx context.Context, e *explain.Explainer, f explainCacheFlags, intelDir string, warnf func(string, ...any)) (func(), error) {
	noop := func() {}
	if e == nil || e.Model == nil || f.off {
		return noop, nil
	}
	path := f.file
	if path == "" {
		p, err := m.explainCacheFile(intelDir)
		if err != nil {
			warnf("%s", sextant.ErrorMessage(err))
			return noop, nil
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			warnf("explanation cache: %v; going on without it", err)
			return noop, nil
		}
		path = p
	}
	db, err := backend.Open(ctx, path)
	if err != nil {
		if f.file != "" {
			return nil, fmt.Errorf("--explain-cache: %w", err)
		}
		warnf("explanation cache unusable (%s); going on without it", errorText(err))
		return noop, nil
	}
	store, ok := db.(explain.ExplanationStore)
	if !ok {
		db.Close()
		return nil, sextant.Errorf(sextant.EINTERNAL, "explanation cache %s: the store keeps no explanations", backend.Redact(path))
	}
	c := explain.NewStoreCache(store)
	// Once: a cache that fails, fails for every action.
	var once sync.Once
	c.OnError = func(op string, err error) {
		once.Do(func() { warnf("explanation cache: %s: %s; explaining without it where it fails", op, errorText(err)) })
	}
	e.Cache = c
	return func() { db.Close() }, nil
}

// explainCacheNote is what the accounting line of triage --explain says
// about the cache, given the explanations written: "; 3 of 5 from the
// cache".
func explainCacheNote(e *explain.Explainer, xs map[string]*explain.Explanation) string {
	if e == nil || e.Cache == nil {
		return ""
	}
	n := 0
	for _, x := range xs {
		if x.Cached {
			n++
		}
	}
	return fmt.Sprintf("; %d of %d from the cache", n, len(xs))
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
