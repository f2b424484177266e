// Package trivy reads Trivy JSON reports into sextant findings.
//
// It understands every JSON shape Trivy has written:
//   - SchemaVersion 2 reports of `trivy image`, `fs`, `repo`, `rootfs`,
//     `config` and `sbom` (Results[] with Vulnerabilities, Misconfigurations
//     and Secrets, plus Metadata describing the image);
//   - `trivy k8s` reports, both the current {"ClusterName", "Resources"}
//     shape and the older summary shape with top-level Vulnerabilities and
//     Misconfigurations arrays of resources;
//   - the legacy pre-schema-2 output, a top-level array of results.
//
// Parse streams: it walks the JSON tokens down to the finding arrays and
// decodes one finding at a time, so a report of any size is read in bounded
// memory. The only buffering happens when a document puts findings before
// the metadata that identifies their artifact (never the case in Trivy's own
// output), and, for `trivy k8s` reports, within one resource.
package trivy

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/jsonsrc"
)

// Format is the name of the format this package reads, as it appears in
// sextant.Source.Format and sextant.ReportInfo.Format.
const Format = "trivy-json"

// scanner is the Source.Scanner of every finding.
const scanner = "trivy"

// errPrefix starts every error message of Parse.
const errPrefix = "parse trivy report"

// Parse reads one Trivy JSON report from r and calls emit once per finding,
// in document order. file is the report's name for Source.File ("-" for
// stdin).
//
// One finding is emitted per vulnerability, per misconfiguration whose
// Status is not PASS or EXCEPTION (those are counted in a report warning),
// and per secret. Findings of one report share the backing arrays of their
// Artifact's slices (Tags, RepoDigests, Layers); receivers must not modify
// them in place.
//
// Errors are *sextant.Error with code sextant.EINVALID naming the problem and
// its byte offset, except an error returned by emit, which is returned
// unchanged, and a failure to read r, which has code sextant.EUNAVAILABLE.
func Parse(r io.Reader, file string, emit sextant.Emit) (sextant.ReportInfo, error) {
	p := &parser{
		dec:  jsontext.NewDecoder(r, jsonsrc.Lenient),
		emit: emit,
		top:  &topInfo{},
	}
	p.src = sextant.Source{Scanner: scanner, Format: Format, File: file}
	err := p.parse()
	info := sextant.ReportInfo{
		Format:   Format,
		Source:   p.src,
		Findings: p.count,
		Complete: !p.partial,
		Warnings: p.reportWarnings(),
	}
	if err == nil && (p.top.seenName || p.top.seenMeta) {
		info.Artifacts = []sextant.Artifact{p.topArtifact()}
	}
	if err != nil {
		if p.emitErr != nil && errors.Is(err, p.emitErr) {
			return info, p.emitErr
		}
		return info, jsonsrc.Error(errPrefix, err, jsonsrc.Pos{Dec: p.dec})
	}
	return info, nil
}

// decodeOpts are the options for decoding one finding or header object:
// unknown members are ignored. Names match exactly: Trivy spells them
// consistently, and case-insensitive matching halves the decoding speed.
// (Members walked by hand, at the top level and in results and
// resources, match case-insensitively.)
var decodeOpts = jsonsrc.Lenient

// parser holds the state of one Parse call.
type parser struct {
	dec     *jsontext.Decoder
	vulns   *vulnDecoder // made at the first vulnerability
	emit    sextant.Emit
	emitErr error
	src     sextant.Source
	top     *topInfo
	count   int
	partial bool

	// pending holds findings that cannot be built yet because what
	// identifies their artifact has not been read; head is the index of
	// the first one still waiting.
	pending []item
	head    int

	passed, excepted int
	warnings         []string
	lateFields       []string
}

// topInfo is what the top level of a schema-2 report says about the scan.
type topInfo struct {
	schemaVersion    int
	seenSchema       bool
	artifactName     string
	artifactType     string
	seenName         bool
	seenType         bool
	seenMeta         bool
	meta             metadata
	legacy           bool
	legacyTarget     string
	ready            bool // findings can be built now
	done             bool // the top-level value has been read whole
	artifact         sextant.Artifact
	artifactComputed bool
	artifactWarnings []string
	seenFindingsKey  bool
}

// item is one decoded finding waiting to be built: exactly one of vuln,
// misconf and secret is set.
type item struct {
	res     *result
	vuln    *vulnerability
	misconf *misconfiguration
	secret  *secret
}

// parse reads the one top-level JSON value.
func (p *parser) parse() error {
	switch k := p.dec.PeekKind(); k {
	case '{':
		if err := p.topObject(); err != nil {
			return err
		}
	case '[':
		p.top.legacy = true
		if err := p.legacyList(); err != nil {
			return err
		}
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
	p.top.done = true
	p.top.ready = true
	if err := p.flush(); err != nil {
		return err
	}
	// Anything after the report is not ours to judge, but say so.
	if _, err := p.dec.ReadToken(); err != io.EOF {
		p.warnf("data after the report at byte %d was ignored", p.dec.InputOffset())
	}
	return nil
}

// topObject walks a schema-2 report or a `trivy k8s` report.
func (p *parser) topObject() error {
	if _, err := p.dec.ReadToken(); err != nil {
		return err
	}
	for p.dec.PeekKind() != '}' {
		name, err := p.readName()
		if err != nil {
			return err
		}
		if err := p.topMember(name); err != nil {
			return err
		}
	}
	_, err := p.dec.ReadToken()
	return err
}

func (p *parser) topMember(name string) error {
	t := p.top
	switch {
	case strings.EqualFold(name, "SchemaVersion"):
		var v int
		if err := p.decode(&v); err != nil {
			return err
		}
		t.schemaVersion, t.seenSchema = v, true
		return nil
	case strings.EqualFold(name, "Trivy"):
		var v struct{ Version string }
		if err := p.decode(&v); err != nil {
			return err
		}
		p.src.Version = v.Version
		p.late(name)
		return nil
	case strings.EqualFold(name, "CreatedAt"):
		var s string
		if err := p.decode(&s); err != nil {
			return err
		}
		if s != "" {
			ts, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				p.warnf("CreatedAt %q is not an RFC 3339 time; scan time left unset", s)
			} else {
				p.src.ScanTime = ts
			}
		}
		p.late(name)
		return nil
	case strings.EqualFold(name, "ArtifactName"):
		if err := p.decode(&t.artifactName); err != nil {
			return err
		}
		t.seenName = true
		p.topChanged(name)
		return nil
	case strings.EqualFold(name, "ArtifactType"):
		if err := p.decode(&t.artifactType); err != nil {
			return err
		}
		t.seenType = true
		p.topChanged(name)
		return nil
	case strings.EqualFold(name, "Metadata"):
		if err := p.decode(&t.meta); err != nil {
			return err
		}
		t.seenMeta = true
		p.topChanged(name)
		return nil
	case strings.EqualFold(name, "Results"):
		t.seenFindingsKey = true
		return p.results(nil)
	case strings.EqualFold(name, "ClusterName"):
		var s string
		if err := p.decode(&s); err != nil {
			return err
		}
		t.artifactName, t.seenName = s, true
		return nil
	case strings.EqualFold(name, "Resources"), strings.EqualFold(name, "Findings"),
		strings.EqualFold(name, "Vulnerabilities"), strings.EqualFold(name, "Misconfigurations"):
		t.seenFindingsKey = true
		return p.resources(name)
	}
	return p.dec.SkipValue()
}

// topChanged records that a field identifying the artifact was read, and
// whether findings can now be built without it changing again.
func (p *parser) topChanged(name string) {
	t := p.top
	t.artifactComputed = false
	p.late(name)
	// Trivy writes ArtifactName, ArtifactType and Metadata (when it has
	// any) before Results. Until those are read, findings wait.
	if t.seenMeta || (t.seenName && t.seenType && !imageLike(t.artifactType)) {
		t.ready = true
	}
}

// late notes a top-level field that arrived after findings were emitted
// with what was known before it.
func (p *parser) late(name string) {
	if p.count > 0 {
		p.lateFields = append(p.lateFields, name)
	}
}

// imageLike reports whether an artifact type carries image identity in
// Metadata.
func imageLike(artifactType string) bool {
	switch artifactType {
	case "filesystem", "repository", "aws_account", "azure_account":
		return false
	}
	return true
}

// legacyList walks the pre-schema-2 output: an array of results.
func (p *parser) legacyList() error {
	p.warnf("legacy Trivy JSON (a top-level array of results, before SchemaVersion 2)")
	return p.results(nil)
}

// readName reads an object member name.
func (p *parser) readName() (string, error) {
	tok, err := p.dec.ReadToken()
	if err != nil {
		return "", err
	}
	return tok.String(), nil
}

// decode decodes the next value into v.
func (p *parser) decode(v any) error {
	return json.UnmarshalDecode(p.dec, v, decodeOpts)
}

// expect reads the opening delimiter of an array or object, or a null
// (reported as ok == false). Anything else is an error naming the member.
func (p *parser) expect(kind jsontext.Kind, what string) (ok bool, err error) {
	k := p.dec.PeekKind()
	switch k {
	case kind:
		_, err := p.dec.ReadToken()
		return err == nil, err
	case 'n':
		_, err := p.dec.ReadToken()
		return false, err
	case jsontext.KindInvalid, '}', ']':
		// Let the decoder describe the syntax error.
		_, err := p.dec.ReadToken()
		if err == io.EOF || err == nil {
			err = io.ErrUnexpectedEOF
		}
		return false, err
	}
	return false, sextant.Errorf(sextant.EINVALID, "%s: %s at byte %d is %s, want %s",
		errPrefix, what, p.dec.InputOffset(), jsonsrc.KindName(k), jsonsrc.KindName(kind))
}

// add builds and emits a decoded finding now if everything it needs is
// known, else queues it.
func (p *parser) add(it item) error {
	if p.head == len(p.pending) && p.canBuild(it) {
		return p.build(it)
	}
	p.pending = append(p.pending, it)
	return nil
}

// flush builds and emits the queued findings that can now be built, in
// order.
func (p *parser) flush() error {
	for p.head < len(p.pending) && p.canBuild(p.pending[p.head]) {
		it := p.pending[p.head]
		p.pending[p.head] = item{}
		p.head++
		if err := p.build(it); err != nil {
			return err
		}
	}
	if p.head == len(p.pending) {
		p.pending, p.head = p.pending[:0], 0
	}
	return nil
}

func (p *parser) canBuild(it item) bool {
	r := it.res
	if r.resource != nil {
		return r.resource.done
	}
	if !r.done && !(r.seenTarget && r.seenType) {
		return false
	}
	if p.top.legacy {
		return p.top.legacyTarget != "" || p.top.done
	}
	return p.top.ready
}

// build turns a decoded finding into a sextant.Finding and emits it.
func (p *parser) build(it item) error {
	f := &sextant.Finding{Source: p.src}
	switch {
	case it.vuln != nil:
		p.vulnerabilityFinding(f, it.vuln, it.res)
	case it.misconf != nil:
		p.misconfigurationFinding(f, it.misconf, it.res)
	default:
		p.secretFinding(f, it.secret, it.res)
	}
	f.ID = sextant.Fingerprint(f)
	p.count++
	if err := p.emit(f); err != nil {
		p.emitErr = err
		return err
	}
	return nil
}

func (p *parser) warnf(format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

// reportWarnings returns the report-level warnings gathered during the
// parse.
func (p *parser) reportWarnings() []string {
	w := p.warnings
	t := p.top
	if t.seenSchema && t.schemaVersion != 2 {
		w = append(w, fmt.Sprintf("unknown SchemaVersion %d (this parser knows 2); read as version 2", t.schemaVersion))
	}
	if t.seenMeta && t.meta.OS != nil && t.meta.OS.EOSL {
		w = append(w, fmt.Sprintf("the operating system %s %s is end-of-life: it no longer receives security fixes",
			t.meta.OS.Family, t.meta.OS.Name))
	}
	w = append(w, t.artifactWarnings...)
	if p.passed+p.excepted > 0 {
		w = append(w, fmt.Sprintf("%d misconfiguration checks passed (PASS) and %d were excepted (EXCEPTION); they are not findings",
			p.passed, p.excepted))
	}
	if len(p.lateFields) > 0 {
		w = append(w, fmt.Sprintf("top-level fields %s came after findings that were already emitted without them",
			strings.Join(p.lateFields, ", ")))
	}
	if !t.legacy && !t.seenFindingsKey {
		w = append(w, "the document has no Results, Resources, Vulnerabilities or Misconfigurations member: it may not be a Trivy JSON report")
	}
	if p.count == 0 {
		w = append(w, "the report contains no findings")
	}
	return w
}
