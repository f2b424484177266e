// Package cyclonedx reads CycloneDX JSON BOMs (spec 1.2 to 1.7) that carry a
// vulnerabilities section, as written by `trivy … --format cyclonedx`,
// `grype -o cyclonedx-json` and other tools, and turns each (vulnerability,
// affected component) pair into a sextant.Finding.
//
// The BOM is streamed: each component and each vulnerability is decoded on
// its own with the CycloneDX library's types, and only a compact index from
// bom-ref to package is kept. Vulnerabilities that come before the
// components or metadata they refer to are held until those have been read.
package cyclonedx

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/jsonsrc"
)

// Format is the ReportInfo.Format of CycloneDX JSON BOMs.
const Format = "cyclonedx-json"

// op prefixes every error this package returns.
const op = "parse cyclonedx report"

// Parse reads one CycloneDX JSON BOM from r and calls emit once per finding,
// in document order. file is the report's name for Source.File ("-" for
// stdin). A BOM without vulnerability data gives no findings and a warning
// saying to scan it first.
func Parse(r io.Reader, file string, emit sextant.Emit) (sextant.ReportInfo, error) {
	p := &parser{
		file:   file,
		emit:   emit,
		byRef:  make(map[string]sextant.Package),
		byPURL: make(map[string]sextant.Package),
	}
	p.opts = json.JoinOptions(
		jsonsrc.Lenient,
		// Nested components are indexed one at a time as they are read,
		// instead of being decoded into their parent.
		json.WithUnmarshalers(json.UnmarshalFromFunc(p.nestedComponents)),
	)
	err := p.run(r)
	info := sextant.ReportInfo{
		Format:   Format,
		Source:   p.src,
		Findings: p.count,
		Complete: !p.partial,
		Warnings: p.warnings,
	}
	if info.Source.Format == "" {
		info.Source = p.source()
	}
	return info, err
}

// parser holds the state of one Parse call.
type parser struct {
	file string
	emit sextant.Emit
	opts json.Options

	byRef  map[string]sextant.Package // bom-ref → package
	byPURL map[string]sextant.Package // purl → package, when it differs from the bom-ref
	osName string
	osVer  string

	bomFormat   string
	specVersion string
	meta        *cdx.Metadata
	// metaComponent is the BOM's subject, without nested components.
	metaComponent *cdx.Component

	haveMeta, haveComponents bool
	pending                  []cdx.Vulnerability

	ready    bool
	art      sextant.Artifact
	src      sextant.Source
	count    int
	partial  bool
	warnings []string
	seen     map[string]bool
}

func (p *parser) warn(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	if p.seen == nil {
		p.seen = make(map[string]bool)
	}
	if !p.seen[w] {
		p.seen[w] = true
		p.warnings = append(p.warnings, w)
	}
}

func (p *parser) run(r io.Reader) error {
	dec := jsontext.NewDecoder(r, p.opts)
	tok, err := dec.ReadToken()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return jsonsrc.Invalid(op, "empty input")
		}
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	if tok.Kind() != '{' {
		return jsonsrc.Invalid(op, "top-level value is %s, want an object (is this a CycloneDX JSON BOM?)", jsonsrc.KindName(tok.Kind()))
	}
	vulnSection := -1 // -1: absent, else the number of vulnerabilities
	var sawSPDX bool
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
		}
		switch name := tok.String(); name {
		case "bomFormat", "specVersion":
			if dec.PeekKind() != '"' {
				return jsonsrc.Invalid(op, "field /%s at byte %d has the wrong type: got %s, want a string", name, dec.InputOffset(), jsonsrc.KindName(dec.PeekKind()))
			}
			v, err := dec.ReadToken()
			if err != nil {
				return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
			}
			if name == "bomFormat" {
				p.bomFormat = v.String()
				if p.bomFormat != "CycloneDX" {
					return jsonsrc.Invalid(op, "bomFormat is %q, want \"CycloneDX\"", p.bomFormat)
				}
			} else {
				p.specVersion = v.String()
			}
		case "spdxVersion":
			sawSPDX = true
			if err := dec.SkipValue(); err != nil {
				return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
			}
		case "metadata":
			var m cdx.Metadata
			if err := json.UnmarshalDecode(dec, &m, p.opts); err != nil {
				return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
			}
			p.meta = &m
			if m.Component != nil {
				c := *m.Component
				c.Components = nil
				p.metaComponent = &c
				p.addComponent(&c)
			}
			p.haveMeta = true
		case "components":
			if err := p.eachElement(dec, "/components", func() error {
				var c cdx.Component
				if err := json.UnmarshalDecode(dec, &c, p.opts); err != nil {
					return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
				}
				p.addComponent(&c)
				return nil
			}); err != nil {
				return err
			}
			p.haveComponents = true
		case "vulnerabilities":
			vulnSection = 0
			if err := p.eachElement(dec, "/vulnerabilities", func() error {
				vulnSection++
				var v cdx.Vulnerability
				if err := json.UnmarshalDecode(dec, &v, p.opts); err != nil {
					return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
				}
				if p.haveMeta && p.haveComponents {
					return p.vulnerability(&v)
				}
				p.pending = append(p.pending, v)
				return nil
			}); err != nil {
				return err
			}
		default:
			if err := dec.SkipValue(); err != nil {
				return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
			}
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	if err := jsonsrc.End(op, dec, "the BOM"); err != nil {
		return err
	}

	if p.bomFormat == "" {
		if sawSPDX {
			return jsonsrc.Invalid(op, "this is an SPDX document, not a CycloneDX BOM")
		}
		if p.specVersion == "" && !p.haveMeta && !p.haveComponents && vulnSection < 0 {
			return jsonsrc.Invalid(op, "the object has no bomFormat, specVersion, metadata, components or vulnerabilities: not a CycloneDX BOM")
		}
		p.warn("BOM has no bomFormat; read as CycloneDX")
	}
	switch p.specVersion {
	case "1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7":
	case "":
		p.warn("BOM has no specVersion")
	default:
		p.warn("CycloneDX specVersion %q is not one sextant knows (1.2 to 1.7); read it anyway", p.specVersion)
	}

	for i := range p.pending {
		if err := p.vulnerability(&p.pending[i]); err != nil {
			return err
		}
		p.pending[i] = cdx.Vulnerability{}
	}
	p.pending = nil

	p.prepare()
	switch {
	case vulnSection < 0:
		p.partial = true
		p.warn("the SBOM has no vulnerability data (no vulnerabilities section), so it gives no findings: scan it first, e.g. `trivy sbom %s -f json` or `grype sbom:%s -o json`, and import that report", p.fileHint(), p.fileHint())
	case vulnSection == 0:
		p.partial = true
		p.warn("the BOM's vulnerabilities section is empty: either the scan found nothing or the tool wrote an SBOM without scanning (trivy does this); it is treated as partial so that it resolves nothing; to be sure, scan it: `trivy sbom %s -f json`", p.fileHint())
	}
	return nil
}

func (p *parser) fileHint() string {
	if p.file == "" || p.file == "-" {
		return "FILE"
	}
	return p.file
}

// eachElement calls fn once per element of the array the decoder is
// positioned at; a null array has no elements.
func (p *parser) eachElement(dec *jsontext.Decoder, ptr string, fn func() error) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '[':
	default:
		return jsonsrc.Invalid(op, "field %s at byte %d has the wrong type: got %s, want an array", ptr, dec.InputOffset()-1, jsonsrc.KindName(tok.Kind()))
	}
	for dec.PeekKind() != ']' {
		if k := dec.PeekKind(); k != '{' {
			if k == 0 {
				_, err := dec.ReadToken()
				return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
			}
			_, n := dec.StackIndex(dec.StackDepth())
			return jsonsrc.Invalid(op, "field %s/%d at byte %d has the wrong type: got %s, want an object", ptr, n, dec.InputOffset(), jsonsrc.KindName(k))
		}
		if err := fn(); err != nil {
			return err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	return nil
}

// nestedComponents decodes a components array inside a component: each
// child is indexed as soon as it is read and none is kept in its parent.
func (p *parser) nestedComponents(dec *jsontext.Decoder, v *[]cdx.Component) error {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		return err
	case '[':
	default:
		return fmt.Errorf("components is %s, want an array", jsonsrc.KindName(dec.PeekKind()))
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != ']' {
		var c cdx.Component
		if err := json.UnmarshalDecode(dec, &c, p.opts); err != nil {
			return err
		}
		p.addComponent(&c)
	}
	_, err := dec.ReadToken()
	return err
}

// prepare computes the artifact and source shared by every finding, once.
func (p *parser) prepare() {
	if p.ready {
		return
	}
	p.ready = true
	p.src = p.source()
	p.art = p.artifact()
	if p.art.Key() == "" {
		p.warn("the BOM does not name its subject (metadata.component): findings cannot be told apart from those of other unnamed artifacts")
	}
}

func (p *parser) source() sextant.Source {
	s := sextant.Source{Scanner: "cyclonedx", Format: Format, File: p.file}
	if p.meta == nil {
		return s
	}
	if ts := strings.TrimSpace(p.meta.Timestamp); ts != "" {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			s.ScanTime = t
		} else {
			p.warn("metadata.timestamp %q is not an RFC 3339 time; scan time unknown", ts)
		}
	}
	// The tool that wrote the BOM; a vulnerability scanner among several
	// tools is the one that matters.
	type tool struct{ name, version string }
	var tools []tool
	if tc := p.meta.Tools; tc != nil {
		if tc.Components != nil {
			for _, c := range *tc.Components {
				tools = append(tools, tool{c.Name, c.Version})
			}
		}
		if tc.Tools != nil {
			for _, t := range *tc.Tools {
				tools = append(tools, tool{t.Name, t.Version})
			}
		}
		if tc.Services != nil {
			for _, sv := range *tc.Services {
				tools = append(tools, tool{sv.Name, sv.Version})
			}
		}
	}
	best := -1
	for i, t := range tools {
		n := strings.ToLower(strings.TrimSpace(t.name))
		if n == "" {
			continue
		}
		if best < 0 {
			best = i
		}
		if n == "trivy" || n == "grype" {
			best = i
			break
		}
	}
	if best >= 0 {
		s.Scanner = strings.ToLower(strings.TrimSpace(tools[best].name))
		s.Version = tools[best].version
	}
	return s
}

func (p *parser) artifact() sextant.Artifact {
	a := sextant.Artifact{OSFamily: p.osName, OSVersion: p.osVer}
	c := p.metaComponent
	if c == nil {
		return a
	}
	switch c.Type {
	case cdx.ComponentTypeContainer:
		a.Type = "container_image"
	case cdx.ComponentTypeApplication, cdx.ComponentTypeFile:
		a.Type = "filesystem"
	default:
		a.Type = string(c.Type)
	}
	var imageID string
	var repoTags []string
	for _, pr := range props(c) {
		switch pr.Name {
		case "aquasecurity:trivy:ImageID":
			imageID = pr.Value
		case "aquasecurity:trivy:RepoDigest":
			if pr.Value != "" && !slices.Contains(a.RepoDigests, pr.Value) {
				a.RepoDigests = append(a.RepoDigests, pr.Value)
			}
		case "aquasecurity:trivy:RepoTag":
			repoTags = append(repoTags, pr.Value)
		}
	}
	a.Name = c.Name
	if c.Group != "" && !strings.HasPrefix(c.Name, c.Group) {
		a.Name = c.Group + "/" + c.Name
	}
	if a.Type == "container_image" && c.Version != "" && !strings.Contains(a.Name, c.Version) {
		// Syft names an image by repository and puts the tag (or digest)
		// in the version.
		if strings.Contains(c.Version, ":") {
			a.Name += "@" + c.Version
		} else {
			a.Name += ":" + c.Version
		}
	}
	for _, tag := range repoTags {
		repo, t, _ := sextant.SplitImageRef(tag)
		if a.Repository == "" {
			a.Repository = repo
		}
		if repo == a.Repository && t != "" && !slices.Contains(a.Tags, t) {
			a.Tags = append(a.Tags, t)
		}
	}
	if a.Repository == "" && a.Type == "container_image" {
		repo, t, _ := sextant.SplitImageRef(a.Name)
		a.Repository = repo
		if t != "" {
			a.Tags = []string{t}
		}
	}
	switch {
	case sextant.IsDigest(imageID):
		a.Digest = imageID
	case a.Type == "container_image" && sextant.IsDigest(purlVersion(c.PackageURL)):
		// An OCI PURL's version is the image's manifest digest.
		a.Digest = purlVersion(c.PackageURL)
	case a.Type == "container_image" && sextant.IsDigest(c.Version):
		a.Digest = c.Version
	}
	return a
}

func props(c *cdx.Component) []cdx.Property {
	if c.Properties == nil {
		return nil
	}
	return *c.Properties
}
