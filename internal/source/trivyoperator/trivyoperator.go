// Package trivyoperator reads the custom resources Trivy Operator writes
// into a cluster, as `kubectl get -o json` prints them, into sextant
// findings.
//
// It accepts one resource, a `kind: List` (or any object with items), a
// top-level array of resources, and a dict of lists keyed by resource type
// (as some exporters write them). It reads:
//   - VulnerabilityReport, ClusterVulnerabilityReport and
//     ImageVulnerabilityReport: one finding per vulnerability, in the image;
//   - ConfigAuditReport, RbacAssessmentReport, InfraAssessmentReport and
//     their Cluster… variants: one finding per failed check (success
//     false), in the Kubernetes resource; passed checks are counted in a
//     report warning;
//   - ExposedSecretReport: one finding per secret, in the image;
//   - ClusterComplianceReport: one misconfiguration finding per control
//     that has failures (totalFail > 0 in the summary report, or a failed
//     check in the detail report), attributed to the cluster; passing
//     controls are counted in a report warning.
//
// SbomReports carry no findings and are counted in a report warning. Other
// kinds are skipped with a warning.
//
// Lists are streamed: one resource is decoded at a time.
package trivyoperator

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/jsonsrc"
)

// Format is the name of the format this package reads, as it appears in
// sextant.Source.Format and sextant.ReportInfo.Format.
const Format = "trivy-operator"

// scanner is the Source.Scanner of every finding.
const scanner = "trivy-operator"

const errPrefix = "parse trivy-operator report"

// Parse reads Trivy Operator resources from r and calls emit once per
// finding, in document order. file is the report's name for Source.File
// ("-" for stdin).
//
// Errors are *sextant.Error with code sextant.EINVALID naming the problem and
// its byte offset, except an error returned by emit, which is returned
// unchanged, and a failure to read r, which has code sextant.EUNAVAILABLE.
func Parse(r io.Reader, file string, emit sextant.Emit) (sextant.ReportInfo, error) {
	p := &parser{
		dec:  jsontext.NewDecoder(r, jsonsrc.Lenient),
		emit: emit,
		src:  sextant.Source{Scanner: scanner, Format: Format, File: file},
	}
	err := p.parse()
	info := sextant.ReportInfo{
		Format:   Format,
		Source:   p.src,
		Findings: p.count,
		Complete: true,
		Warnings: p.reportWarnings(),
	}
	if p.src.Version == "" && p.firstVersion != "" {
		info.Source.Version = p.firstVersion
	}
	info.Source.ScanTime = p.firstTime.Time
	if err != nil {
		if p.emitErr != nil && errors.Is(err, p.emitErr) {
			return info, p.emitErr
		}
		return info, jsonsrc.Error(errPrefix, err, jsonsrc.Pos{Dec: p.dec})
	}
	return info, nil
}

var decodeOpts = jsonsrc.LenientAnyCase

type parser struct {
	dec     *jsontext.Decoder
	emit    sextant.Emit
	emitErr error
	src     sextant.Source
	count   int

	firstVersion string
	firstTime    timeValue

	objects        int
	passedChecks   int
	passedControls int
	sboms          int
	skipped        map[string]int
	warnings       []string
}

func (p *parser) parse() error {
	switch k := p.dec.PeekKind(); k {
	case '[':
		return p.array("the top-level array")
	case '{':
		return p.topObject()
	case jsontext.KindInvalid:
		_, err := p.dec.ReadToken()
		if err == io.EOF {
			return sextant.Errorf(sextant.EINVALID, "%s: empty input", errPrefix)
		}
		return err
	default:
		return sextant.Errorf(sextant.EINVALID, "%s: top-level value at byte %d is %s, want an object or an array",
			errPrefix, p.dec.InputOffset(), jsonsrc.KindName(k))
	}
}

// topObject walks a top-level object: one resource, a List (items), or a
// dict of lists.
func (p *parser) topObject() error {
	if _, err := p.dec.ReadToken(); err != nil {
		return err
	}
	var top object
	for p.dec.PeekKind() != '}' {
		tok, err := p.dec.ReadToken()
		if err != nil {
			return err
		}
		name := tok.String()
		switch strings.ToLower(name) {
		case "apiversion":
			err = p.decode(&top.APIVersion)
		case "kind":
			err = p.decode(&top.Kind)
		case "metadata":
			err = p.decode(&top.Metadata)
		case "report":
			err = p.decode(&top.Report)
		case "status":
			err = p.decode(&top.Status)
		case "spec":
			err = p.decode(&top.Spec)
		case "items":
			err = p.array(name)
		default:
			// A dict of lists: {"vulnerabilityreports.aquasecurity.github.io": [...]}.
			if p.dec.PeekKind() == '[' {
				err = p.array(name)
			} else {
				err = p.dec.SkipValue()
			}
		}
		if err != nil {
			return err
		}
	}
	if _, err := p.dec.ReadToken(); err != nil {
		return err
	}
	if top.Report != nil || top.Status != nil || (top.Kind != "" && !strings.HasSuffix(top.Kind, "List")) {
		return p.handle(&top)
	}
	return nil
}

// array streams an array of resources, decoding one at a time.
func (p *parser) array(what string) error {
	tok, err := p.dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '[' {
		return sextant.Errorf(sextant.EINVALID, "%s: %s is %s, want an array", errPrefix, what, jsonsrc.KindName(tok.Kind()))
	}
	for p.dec.PeekKind() != ']' {
		off := p.dec.InputOffset()
		if p.dec.PeekKind() == 'n' {
			if _, err := p.dec.ReadToken(); err != nil {
				return err
			}
			p.warnf("a null entry of %s at byte %d was skipped", what, off)
			continue
		}
		var o object
		if err := p.decode(&o); err != nil {
			return err
		}
		if err := p.handle(&o); err != nil {
			return err
		}
	}
	_, err = p.dec.ReadToken()
	return err
}

func (p *parser) decode(v any) error {
	return json.UnmarshalDecode(p.dec, v, decodeOpts)
}

// handle emits the findings of one resource (and of the items of a nested
// List).
func (p *parser) handle(o *object) error {
	for i := range o.Items {
		if err := p.handle(&o.Items[i]); err != nil {
			return err
		}
	}
	if len(o.Items) > 0 && o.Report == nil && o.Status == nil {
		return nil
	}
	p.objects++
	kind := strings.ToLower(o.Kind)
	if kind == "" && o.Report != nil {
		// kubectl always writes kind; guess from the content otherwise.
		switch {
		case len(o.Report.Vulnerabilities) > 0:
			kind = "vulnerabilityreport"
		case len(o.Report.Checks) > 0:
			kind = "configauditreport"
		case len(o.Report.Secrets) > 0:
			kind = "exposedsecretreport"
		}
		if kind != "" {
			p.warnf("resource %q has no kind; read as a %s from its content", o.Metadata.Name, kind)
		}
	}
	switch kind {
	case "vulnerabilityreport", "clustervulnerabilityreport", "imagevulnerabilityreport":
		return p.vulnerabilities(o)
	case "configauditreport", "clusterconfigauditreport", "rbacassessmentreport", "clusterrbacassessmentreport",
		"infraassessmentreport", "clusterinfraassessmentreport":
		return p.checks(o)
	case "exposedsecretreport":
		return p.secrets(o)
	case "clustercompliancereport":
		return p.compliance(o)
	case "sbomreport", "clustersbomreport":
		p.sboms++
		return nil
	}
	if p.skipped == nil {
		p.skipped = map[string]int{}
	}
	p.skipped[o.Kind]++
	return nil
}

// finish fingerprints and emits a finding.
func (p *parser) finish(f *sextant.Finding) error {
	f.ID = sextant.Fingerprint(f)
	p.count++
	if err := p.emit(f); err != nil {
		p.emitErr = err
		return err
	}
	return nil
}

// source returns the Source of findings from report data.
func (p *parser) source(scannerVersion string, ts timeValue) sextant.Source {
	s := p.src
	s.Version = scannerVersion
	s.ScanTime = ts.Time
	if p.firstVersion == "" {
		p.firstVersion = scannerVersion
	}
	if p.firstTime.IsZero() {
		p.firstTime = ts
	}
	return s
}

func (p *parser) warnf(format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

func (p *parser) reportWarnings() []string {
	w := p.warnings
	if p.passedChecks > 0 {
		w = append(w, fmt.Sprintf("%d checks passed (success true); they are not findings", p.passedChecks))
	}
	if p.passedControls > 0 {
		w = append(w, fmt.Sprintf("%d compliance controls had no failures; they are not findings", p.passedControls))
	}
	if p.sboms > 0 {
		w = append(w, fmt.Sprintf("%d SBOM reports carry no findings and were skipped", p.sboms))
	}
	for _, kind := range slices.Sorted(maps.Keys(p.skipped)) {
		name := kind
		if name == "" {
			name = "(no kind)"
		}
		w = append(w, fmt.Sprintf("%d resources of kind %s are not Trivy Operator reports this parser reads; skipped", p.skipped[kind], name))
	}
	if p.objects == 0 {
		w = append(w, "the document holds no Trivy Operator resources")
	} else if p.count == 0 {
		w = append(w, "the report contains no findings")
	}
	return w
}
