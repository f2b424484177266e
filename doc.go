// Package sextant is the domain vocabulary of sextant: findings, artifacts,
// packages, scores, actions and errors, with the pure functions that define
// them (fingerprints, severity normalisation, priority thresholds).
//
// It imports only the standard library. Everything that talks to the outside
// world (scanner formats, threat-intel feeds, terminals) lives under internal/
// and speaks in these types.
package sextant
