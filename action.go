package sextant

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// ActionKind says what sort of work an action is.
type ActionKind string

// Action kinds.
const (
	// ActionUpgradePackage upgrades one package in one artifact.
	ActionUpgradePackage ActionKind = "upgrade-package"
	// ActionRebuildBase rebuilds or bumps the base image, fixing every OS
	// package finding that comes from its layers.
	ActionRebuildBase ActionKind = "rebuild-base-image"
	// ActionNoFix groups findings that have no fix yet: mitigate, or record
	// an exception.
	ActionNoFix ActionKind = "no-fix-available"
	// ActionFixConfig fixes a misconfiguration.
	ActionFixConfig ActionKind = "fix-configuration"
	// ActionRemoveSecret removes and rotates an exposed secret.
	ActionRemoveSecret ActionKind = "remove-secret"
)

// Action is the unit people work on: one change that resolves one or more
// findings. Tickets, approvals and explanations are per action.
type Action struct {
	ID       string     `json:"id"`
	Priority Priority   `json:"priority"`
	Score    float64    `json:"score"`
	Title    string     `json:"title"`
	Artifact string     `json:"artifact"`
	Kind     ActionKind `json:"kind"`
	// Package and TargetVersion are set for package upgrades.
	Package          string `json:"package,omitempty"`
	Ecosystem        string `json:"ecosystem,omitempty"`
	InstalledVersion string `json:"installed_version,omitempty"`
	TargetVersion    string `json:"target_version,omitempty"`
	// Commands are exact, copy-pasteable commands that carry out the action.
	Commands []string `json:"commands"`
	// Notes are caveats and mitigation hints in plain language.
	Notes           []string `json:"notes,omitempty"`
	Vulnerabilities []string `json:"vulnerabilities"`
	FindingIDs      []string `json:"finding_ids"`
	// RiskRemoved is the sum of the scores of the findings the action
	// resolves; actions are ranked by Score, then by RiskRemoved.
	RiskRemoved float64  `json:"risk_removed"`
	Factors     []Factor `json:"factors"`
}

// ActionID returns the stable identity of an action: the same kind of work
// on the same subject in the same artifact keeps its ID across rescans, so
// tickets and approvals follow it. subject is the package (ecosystem/name)
// for upgrades, the check ID for configuration fixes, "" for a base image.
func ActionID(kind ActionKind, artifactKey, subject string) string {
	h := sha256.New()
	for _, s := range []string{"sextant.action/v1", string(kind), artifactKey, subject} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "act_" + hex.EncodeToString(h.Sum(nil)[:10])
}

// ActionStatus is where an action stands: open while any finding it fixes
// is open, resolved when none is.
type ActionStatus string

// Action statuses.
const (
	ActionOpen     ActionStatus = "open"
	ActionResolved ActionStatus = "resolved"
)

// Valid reports whether s is open or resolved.
func (s ActionStatus) Valid() bool { return s == ActionOpen || s == ActionResolved }

// ActionRecord is an action as the store keeps it: the plan derived from the
// open findings of its artifact at the last scan, and its lifecycle. Its
// JSON is an item of GET /v1/actions.
type ActionRecord struct {
	Action Action       `json:"action"`
	Status ActionStatus `json:"status"`
	// Findings is len(Action.FindingIDs).
	Findings int    `json:"findings"`
	Owner    string `json:"owner,omitempty"`
	// FirstSeen is when the action was first derived, UpdatedAt when it
	// last changed, ResolvedAt when it was resolved (zero while open).
	FirstSeen  time.Time `json:"first_seen"`
	UpdatedAt  time.Time `json:"updated_at"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
}

// ActionFilter selects actions. Zero fields match everything.
type ActionFilter struct {
	Status   ActionStatus
	Priority *Priority
	// Artifact is an Artifact.Key.
	Artifact string
	Kind     ActionKind
	Owner    string
	// Limit is the page size (see PageLimit); Cursor is Page.Next of the
	// previous page.
	Limit  int
	Cursor string
}

// ActionChanges says what ActionStore.SetActions changed, by action ID,
// each sorted.
type ActionChanges struct {
	Opened   []string `json:"opened,omitempty"`
	Updated  []string `json:"updated,omitempty"`
	Resolved []string `json:"resolved,omitempty"`
	Reopened []string `json:"reopened,omitempty"`
}

// ActionStore keeps the actions derived from open findings. Actions keep
// their IDs (ActionID) across rescans and are never deleted: an action that
// is no longer derived is resolved, and reopens if it is derived again.
// internal/sqlite and internal/postgres implement it.
type ActionStore interface {
	// SetActions records the actions derived from the open findings of one
	// artifact (every action's Artifact is artifactKey): actions not seen
	// before are opened, known ones updated (their plan replaced, FirstSeen
	// kept), open actions of the artifact missing from actions resolved,
	// and resolved ones present again reopened. owner is the artifact's
	// owner. Actions with the same ID repeated are EINVALID.
	SetActions(ctx context.Context, artifactKey, owner string, actions []Action) (ActionChanges, error)
	// Action returns one action, or an ENOTFOUND error.
	Action(ctx context.Context, id string) (ActionRecord, error)
	// Actions returns one page of the actions that match the filter,
	// highest score first (ties by ID), as Store.Findings pages findings.
	Actions(ctx context.Context, filter ActionFilter) (Page[ActionRecord], error)
}

// CheckActions checks the arguments of ActionStore.SetActions: an artifact
// key, and actions that each have an ID, belong to that artifact, have a
// priority of P0..P3 and appear once. Errors are EINVALID.
func CheckActions(artifactKey string, actions []Action) error {
	if strings.TrimSpace(artifactKey) == "" {
		return Errorf(EINVALID, "set actions: no artifact key")
	}
	seen := make(map[string]bool, len(actions))
	for i, a := range actions {
		switch {
		case strings.TrimSpace(a.ID) == "":
			return Errorf(EINVALID, "set actions of %q: action %d (%s) has no ID", artifactKey, i, a.Title)
		case a.Artifact != artifactKey:
			return Errorf(EINVALID, "set actions of %q: action %s belongs to artifact %q", artifactKey, a.ID, a.Artifact)
		case seen[a.ID]:
			return Errorf(EINVALID, "set actions of %q: action %s is repeated", artifactKey, a.ID)
		}
		if err := checkPriority(&a.Priority); err != nil {
			return Errorf(EINVALID, "set actions of %q: action %s: %s", artifactKey, a.ID, ErrorMessage(err))
		}
		seen[a.ID] = true
	}
	return nil
}

// CheckActionFilter checks a filter as ActionStore.Actions requires and
// returns the page size to use (see PageLimit) and the position the page
// continues after (actions are paged as findings are, by score and ID), nil
// for the first page. Errors are EINVALID.
func CheckActionFilter(filter ActionFilter) (limit int, after *FindingCursor, err error) {
	limit, err = PageLimit(filter.Limit)
	if err != nil {
		return 0, nil, err
	}
	if filter.Status != "" && !filter.Status.Valid() {
		return 0, nil, Errorf(EINVALID, "unknown action status %q", filter.Status)
	}
	if err := checkPriority(filter.Priority); err != nil {
		return 0, nil, err
	}
	if filter.Cursor != "" {
		c, err := ParseFindingCursor(filter.Cursor)
		if err != nil {
			return 0, nil, err
		}
		after = &c
	}
	return limit, after, nil
}

// NewActionPage makes a page of at most limit records from the records a
// store read in page order, asking for limit+1 so as to know whether more
// follow, and their stored scores. When there are more, Next continues after
// the last record kept.
func NewActionPage(items []ActionRecord, scores []float64, limit int) Page[ActionRecord] {
	page := Page[ActionRecord]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.Next = FindingCursor{Score: scores[limit-1], ID: items[limit-1].Action.ID}.String()
	}
	return page
}
