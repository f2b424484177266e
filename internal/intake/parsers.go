// Package intake turns one received payload (a scanner report pushed to the
// API or delivered to a webhook) into the scans sextant records: it detects
// the format, parses the report, groups its findings by artifact and
// scanner, and scores each finding as `sextant triage` would.
package intake

import (
	"github.com/sextant-dev/sextant/internal/source/asff"
	"github.com/sextant-dev/sextant/internal/source/cyclonedx"
	"github.com/sextant-dev/sextant/internal/source/gitlab"
	"github.com/sextant-dev/sextant/internal/source/grype"
	"github.com/sextant-dev/sextant/internal/source/sarif"
	"github.com/sextant-dev/sextant/internal/source/trivy"
	"github.com/sextant-dev/sextant/internal/source/trivyoperator"
	"github.com/sextant-dev/sextant/internal/triage"
)

// Parsers is the registry of report formats: the format names triage.Sniff
// returns, mapped to the package that reads each.
func Parsers() map[string]triage.Parser {
	return map[string]triage.Parser{
		triage.FormatTrivy:         trivy.Parse,
		triage.FormatTrivyOperator: trivyoperator.Parse,
		triage.FormatGrype:         grype.Parse,
		triage.FormatCycloneDX:     cyclonedx.Parse,
		triage.FormatSARIF:         sarif.Parse,
		triage.FormatGitLab:        gitlab.Parse,
		triage.FormatASFF:          asff.Parse,
	}
}
