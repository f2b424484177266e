package service

import (
	"context"
	"fmt"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fix"
	"github.com/sextant-dev/sextant/internal/risk"
)

// deriveActions plans the actions of one artifact from its open findings
// and records them: actions keep their IDs (sextant.ActionID) across
// rescans, and those no longer derived are resolved.
func (s *Service) deriveActions(ctx context.Context, key, owner string) (sextant.ActionChanges, error) {
	var items []fix.Item
	factors := map[string][]sextant.Factor{}
	filter := sextant.FindingFilter{Artifact: key, Status: sextant.StatusOpen, Limit: sextant.MaxPageSize}
	for {
		page, err := s.Store.Findings(ctx, filter)
		if err != nil {
			return sextant.ActionChanges{}, fmt.Errorf("derive actions of %s: %w", key, err)
		}
		for _, r := range page.Items {
			items = append(items, fix.Item{Finding: r.Finding, Score: r.Score})
			factors[r.Finding.ID] = r.Score.Factors
		}
		if page.Next == "" {
			break
		}
		filter.Cursor = page.Next
	}
	weights := s.intakeOptions().Triage.Weights
	if weights.Thresholds == (risk.Thresholds{}) {
		weights = risk.DefaultWeights()
	}
	actions := fix.Plan(items, fix.Options{
		BaseImageShare: s.intakeOptions().Triage.BaseImageShare,
		Priority:       func(v float64) sextant.Priority { return risk.PriorityFor(v, weights) },
	})
	scores := make(map[string]float64, len(items))
	for _, it := range items {
		scores[it.Finding.ID] = it.Score.Value
	}
	for i := range actions {
		// An action is explained by its highest-scoring finding.
		a := &actions[i]
		top, best := "", -1.0
		for _, id := range a.FindingIDs {
			if v := scores[id]; v > best {
				top, best = id, v
			}
		}
		a.Factors = factors[top]
		a.Artifact = key
	}
	ch, err := s.Store.SetActions(ctx, key, owner, actions)
	if err != nil {
		return ch, fmt.Errorf("derive actions of %s: %w", key, err)
	}
	return ch, nil
}
