package sarif

// The types below mirror the parts of SARIF 2.1.0 (OASIS, "Static Analysis
// Results Interchange Format Version 2.1.0") that carry findings, plus the
// property bags Trivy, Grype and Docker Scout fill. Everything else in a
// document is skipped.

import "github.com/sextant-dev/sextant/internal/source/jsonsrc"

// tool is run.tool.
type tool struct {
	Driver     component   `json:"driver"`
	Extensions []component `json:"extensions"`
}

// component is a toolComponent: the driver or an extension.
type component struct {
	Name            string             `json:"name"`
	FullName        string             `json:"fullName"`
	Version         jsonsrc.FlexString `json:"version"`
	SemanticVersion string             `json:"semanticVersion"`
	Rules           []rule             `json:"rules"`
}

// rule is a reportingDescriptor.
type rule struct {
	ID                   string       `json:"id"`
	Name                 string       `json:"name"`
	ShortDescription     multiformat  `json:"shortDescription"`
	FullDescription      multiformat  `json:"fullDescription"`
	Help                 multiformat  `json:"help"`
	HelpURI              string       `json:"helpUri"`
	DefaultConfiguration ruleConfig   `json:"defaultConfiguration"`
	Properties           ruleProperty `json:"properties"`
}

// multiformat is a multiformatMessageString.
type multiformat struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

// ruleConfig is a reportingConfiguration.
type ruleConfig struct {
	Level string `json:"level"`
}

// ruleProperty is the rule property bag as Trivy, Grype, Docker Scout and
// GitHub code scanning use it.
type ruleProperty struct {
	SecuritySeverity jsonsrc.FlexString   `json:"security-severity"`
	Tags             []jsonsrc.FlexString `json:"tags"`
	Purls            []string             `json:"purls"`
	// Trivy: the CVSS of the severity source.
	CVSSv2Score  jsonsrc.FlexString `json:"cvssv2_score"`
	CVSSv2Vector string             `json:"cvssv2_vector"`
	CVSSv3Score  jsonsrc.FlexString `json:"cvssv3_baseScore"`
	// CVSSv3Vector also matches Docker Scout's "cvssV3_vector".
	CVSSv3Vector string `json:"cvssv3_vector"`
	// Docker Scout.
	CVSSv3         jsonsrc.FlexString `json:"cvssV3"`
	CVSSv3Severity string             `json:"cvssV3_severity"`
	FixedVersion   jsonsrc.FlexString `json:"fixed_version"`
}

// result is one SARIF result: one finding.
type result struct {
	RuleID        string        `json:"ruleId"`
	RuleIndex     *int          `json:"ruleIndex"`
	Rule          *ruleRef      `json:"rule"`
	Kind          string        `json:"kind"`
	Level         string        `json:"level"`
	Message       message       `json:"message"`
	Locations     []location    `json:"locations"`
	Suppressions  []suppression `json:"suppressions"`
	BaselineState string        `json:"baselineState"`
	// Suppressed is Trivy's own flag (not in the SARIF schema) for results
	// it was told to ignore.
	Suppressed bool           `json:"suppressed"`
	Properties resultProperty `json:"properties"`
}

// ruleRef is a reportingDescriptorReference.
type ruleRef struct {
	ID    string `json:"id"`
	Index *int   `json:"index"`
}

// message is a SARIF message; only plain text is used.
type message struct {
	Text string `json:"text"`
}

// location is a SARIF location.
type location struct {
	PhysicalLocation physicalLocation  `json:"physicalLocation"`
	LogicalLocations []logicalLocation `json:"logicalLocations"`
}

// physicalLocation is a file and region.
type physicalLocation struct {
	ArtifactLocation artifactLocation `json:"artifactLocation"`
	Region           region           `json:"region"`
}

// artifactLocation is a URI, possibly relative to a base ID.
type artifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId"`
}

// region is the part of a file a result points at.
type region struct {
	StartLine int `json:"startLine"`
	EndLine   int `json:"endLine"`
}

// logicalLocation names a location without a file; Grype writes
// "image@layer:/path" into fullyQualifiedName.
type logicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
}

// suppression says a result was suppressed, and how.
type suppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

// resultProperty is the result property bag; some writers put the package
// URL there.
type resultProperty struct {
	PURL jsonsrc.FlexString `json:"purl"`
}

// invocation is the part of run.invocations used: whether the scan
// succeeded, and when it ran.
type invocation struct {
	ExecutionSuccessful *bool  `json:"executionSuccessful"`
	StartTimeUTC        string `json:"startTimeUtc"`
	EndTimeUTC          string `json:"endTimeUtc"`
}

// runProperty is the run property bag. Trivy writes the image identity
// here (after the results); the Dimpact image-scanner pipeline whose
// reports are in the fixtures adds scan time and EPSS scores.
type runProperty struct {
	ImageName           string      `json:"imageName"`
	ImageID             string      `json:"imageID"`
	RepoDigests         []string    `json:"repoDigests"`
	RepoTags            []string    `json:"repoTags"`
	ScanTimestamp       string      `json:"scanTimestamp"`
	EPSSScores          []epssScore `json:"epssScores"`
	EPSSEnhancementDate string      `json:"epssEnhancementDate"`
}

// epssScore is one entry of runProperty.EPSSScores.
type epssScore struct {
	CVE        string             `json:"cve"`
	EPSS       jsonsrc.FlexString `json:"epss"`
	Percentile jsonsrc.FlexString `json:"percentile"`
}
