package sextant

// ReportInfo summarises one parsed report. Parsers return it alongside the
// findings they emitted.
type ReportInfo struct {
	// Format is the detected format: "trivy-json", "grype-json",
	// "cyclonedx-json", "sarif", …
	Format string `json:"format"`
	Source Source `json:"source"`
	// Findings is how many findings were emitted.
	Findings int `json:"findings"`
	// Complete is false when the report says it covers only part of the
	// artifact (a filtered or partial scan). Partial scans never resolve
	// findings.
	Complete bool `json:"complete"`
	// Artifacts are the artifacts the report says it scanned, findings or
	// not, when the format names them (Trivy and Grype image and
	// filesystem reports). A complete scan of an artifact that found
	// nothing resolves what was found in it before only when the artifact
	// is named here.
	Artifacts []Artifact `json:"artifacts,omitempty"`
	// Warnings are report-level oddities (unknown schema version, an
	// empty report, a section that was skipped and why).
	Warnings []string `json:"warnings,omitempty"`
}

// Emit receives one finding from a parser. Parsers allocate a new Finding for
// each call; the receiver may keep it. Returning an error stops the parse and
// the parser returns that error.
type Emit func(*Finding) error
