package sextant

import (
	"crypto/sha256"
	"encoding/hex"
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
