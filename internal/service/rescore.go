package service

import (
	"context"
	"fmt"
	"slices"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/risk"
	"github.com/sextant-dev/sextant/internal/triage"
)

// RescoreResult says what Rescore changed.
type RescoreResult struct {
	// Findings is how many findings were scored again; Changed how many
	// changed value or priority; Artifacts how many artifacts had their
	// actions derived again.
	Findings, Changed, Artifacts int
}

// Rescore scores every finding that is not resolved again with the current
// intake options (threat intelligence, context, weights), stores the scores
// that changed and re-derives the actions of the artifacts they belong to.
// The server runs it at start (the context file may have changed) and after
// each intel refresh.
func (s *Service) Rescore(ctx context.Context, actor string) (RescoreResult, error) {
	var res RescoreResult
	opts := s.intakeOptions()
	weights := opts.Triage.Weights
	if weights.Thresholds == (risk.Thresholds{}) {
		weights = risk.DefaultWeights()
	}
	changed := map[string]sextant.Score{}
	owners := map[string]string{}
	artifactOf := map[string]string{}
	for _, st := range []sextant.Status{sextant.StatusOpen, sextant.StatusSuppressed, sextant.StatusAcceptedRisk, sextant.StatusFalsePositive} {
		filter := sextant.FindingFilter{Status: st, Limit: sextant.MaxPageSize}
		for {
			page, err := s.Store.Findings(ctx, filter)
			if err != nil {
				return res, fmt.Errorf("rescore: %w", err)
			}
			for _, r := range page.Items {
				res.Findings++
				f := r.Finding
				var c *sextant.ArtifactContext
				if opts.Triage.Context != nil {
					c = opts.Triage.Context(f.Artifact)
				}
				sc := risk.Brief(triage.FindingInput(f, c, &opts.Triage), weights)
				if sc.Value != r.Score.Value || sc.Priority != r.Score.Priority {
					changed[f.ID] = sc
					key := f.Artifact.Key()
					artifactOf[f.ID] = key
					owners[key] = r.Owner
				}
			}
			if page.Next == "" {
				break
			}
			filter.Cursor = page.Next
		}
	}
	if len(changed) == 0 {
		return res, nil
	}
	ids, err := s.Store.UpdateScores(ctx, changed)
	if err != nil {
		return res, fmt.Errorf("rescore: %w", err)
	}
	res.Changed = len(ids)
	var keys []string
	for _, id := range ids {
		if k := artifactOf[id]; !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		ch, err := s.deriveActions(ctx, k, owners[k])
		if err != nil {
			return res, err
		}
		s.dispatch(ctx, ch)
	}
	res.Artifacts = len(keys)
	s.audit(ctx, actor, "findings.rescore", "", map[string]any{"findings": res.Findings, "changed": res.Changed, "artifacts": res.Artifacts})
	return res, nil
}
