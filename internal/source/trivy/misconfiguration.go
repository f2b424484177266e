package trivy

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sextant-dev/sextant"
)

// misconfiguration is one entry of a result's Misconfigurations
// (types.DetectedMisconfiguration).
type misconfiguration struct {
	ID            string
	AVDID         string
	Title         string
	Description   string
	Message       string
	Resolution    string
	Severity      string
	PrimaryURL    string
	References    []string
	Status        string
	Layer         layer
	CauseMetadata struct {
		Resource  string
		StartLine int
		EndLine   int
	}
}

// secret is one entry of a result's Secrets (types.DetectedSecret). The
// matched text is deliberately not read: Trivy masks it, and sextant has no
// use for it.
type secret struct {
	RuleID    string
	Category  string
	Severity  string
	Title     string
	StartLine int
	EndLine   int
	Layer     layer
}

func (p *parser) misconfigurationFinding(f *sextant.Finding, m *misconfiguration, r *result) {
	f.Kind = sextant.KindMisconfiguration
	f.VulnerabilityID = strings.TrimSpace(m.ID)
	avd := strings.TrimSpace(m.AVDID)
	switch {
	case f.VulnerabilityID == "":
		f.VulnerabilityID = avd
	case avd != "" && !strings.EqualFold(avd, f.VulnerabilityID):
		f.Aliases = []string{avd}
	}
	if f.VulnerabilityID == "" {
		f.Warnings = append(f.Warnings, "the misconfiguration has no ID")
	}
	if s := strings.ToUpper(strings.TrimSpace(m.Status)); s != "FAIL" {
		f.Warnings = append(f.Warnings, fmt.Sprintf("unknown misconfiguration status %q; kept as a failure", m.Status))
	}
	f.Title = m.Title
	f.Description = joinParagraphs(m.Description, m.Message, prefixed("Resolution: ", m.Resolution))
	f.References = references(m.PrimaryURL, m.References)
	p.severity(f, m.Severity)
	f.Package.LayerDigest, f.Package.LayerDiffID = m.Layer.Digest, m.Layer.DiffID
	if r.resource != nil {
		f.Location = r.resource.location()
		f.Artifact = r.resource.artifact()
		return
	}
	f.Location = lineLocation(r.Target, m.CauseMetadata.StartLine, m.CauseMetadata.EndLine)
	f.Artifact = p.topArtifact()
}

func (p *parser) secretFinding(f *sextant.Finding, s *secret, r *result) {
	f.Kind = sextant.KindSecret
	f.VulnerabilityID = strings.TrimSpace(s.RuleID)
	if f.VulnerabilityID == "" {
		f.Warnings = append(f.Warnings, "the secret has no RuleID")
	}
	f.Title = s.Title
	if s.Category != "" {
		f.Description = fmt.Sprintf("%s secret (%s) exposed in %s.", s.Category, s.Title, r.Target)
	}
	p.severity(f, s.Severity)
	f.Package.LayerDigest, f.Package.LayerDiffID = s.Layer.Digest, s.Layer.DiffID
	f.Location = lineLocation(r.Target, s.StartLine, s.EndLine)
	f.Artifact = p.imageArtifactFor(r, f)
}

// severity sets f.Severity from a severity word, warning about words it
// does not know.
func (p *parser) severity(f *sextant.Finding, word string) {
	s, ok := sextant.ParseSeverity(word)
	if !ok {
		f.Warnings = append(f.Warnings, fmt.Sprintf("unknown severity %q; treated as UNKNOWN", word))
	}
	f.Severity = s
}

// lineLocation returns "file:start" or "file:start-end".
func lineLocation(file string, start, end int) string {
	switch {
	case start <= 0:
		return file
	case end > start:
		return file + ":" + strconv.Itoa(start) + "-" + strconv.Itoa(end)
	}
	return file + ":" + strconv.Itoa(start)
}

func prefixed(prefix, s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return prefix + s
}

// joinParagraphs joins the non-empty strings with blank lines.
func joinParagraphs(ss ...string) string {
	var b strings.Builder
	for _, s := range ss {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(s)
	}
	return b.String()
}
