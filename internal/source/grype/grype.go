// Package grype reads Anchore Grype JSON reports (`grype -o json`), from the
// 0.7 schema to the current one, and turns each match into a
// sextant.Finding.
//
// Grype writes the matches array before the source, distro and descriptor
// objects that say which image was scanned, so a finding cannot be completed
// when its match is read. Parse handles this without holding the report in
// memory: when r can seek it skips the matches, reads the metadata and seeks
// back; otherwise it spools the raw matches to a temporary file (falling back
// to memory if no temporary file can be made) and reads them from there.
package grype

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/source/jsonsrc"
)

// Format is the ReportInfo.Format of Grype JSON reports.
const Format = "grype-json"

// op prefixes every error this package returns.
const op = "parse grype report"

// decodeOptions are lenient where leniency loses nothing (see
// jsonsrc.Lenient).
var decodeOptions = jsonsrc.Lenient

// Parse reads one Grype JSON report from r and calls emit once per finding,
// in document order. file is the report's name for Source.File ("-" for
// stdin).
func Parse(r io.Reader, file string, emit sextant.Emit) (sextant.ReportInfo, error) {
	p := &parser{file: file, emit: emit}
	err := p.run(r)
	info := sextant.ReportInfo{
		Format:   Format,
		Source:   p.source(),
		Findings: p.count,
		Complete: !p.partial,
		Warnings: p.warnings,
	}
	if err == nil && p.art.Key() != "" {
		info.Artifacts = []sextant.Artifact{p.art}
	}
	return info, err
}

// parser holds the state of one Parse call.
type parser struct {
	file string
	emit sextant.Emit

	src        *sourceDoc
	distro     *distroDoc
	descriptor *descriptorDoc

	art      sextant.Artifact
	srcInfo  sextant.Source
	count    int
	partial  bool
	warnings []string
	seen     map[string]bool // report warnings already given
}

type sourceDoc struct {
	Type   string `json:"type"`
	Target target `json:"target"`
}

// target is source.target: an object for images, a path string for
// directories and files.
type target struct {
	Path  string
	Image *imageTarget
}

type imageTarget struct {
	UserInput      string   `json:"userInput"`
	ImageID        string   `json:"imageID"`
	ManifestDigest string   `json:"manifestDigest"`
	Tags           []string `json:"tags"`
	RepoDigests    []string `json:"repoDigests"`
	Layers         []struct {
		Digest string `json:"digest"`
	} `json:"layers"`
	Path string `json:"path"`
}

// UnmarshalJSONFrom accepts a target as a string or an object.
func (t *target) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		t.Path = tok.String()
		return nil
	case '{':
		t.Image = new(imageTarget)
		return json.UnmarshalDecode(dec, t.Image)
	}
	return dec.SkipValue()
}

type distroDoc struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type descriptorDoc struct {
	Name          string `json:"name"`
	Version       string `json:"version"`
	Timestamp     string `json:"timestamp"`
	Configuration struct {
		OnlyFixed    yes `json:"only-fixed"`
		OnlyNotFixed yes `json:"only-notfixed"`
	} `json:"configuration"`
}

type alert struct {
	Package struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"package"`
	Alerts []struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"alerts"`
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

func (p *parser) metadataRead() bool {
	return p.src != nil && p.distro != nil && p.descriptor != nil
}

func (p *parser) run(r io.Reader) error {
	start := int64(-1)
	rs, _ := r.(io.ReadSeeker)
	if rs != nil {
		if pos, err := rs.Seek(0, io.SeekCurrent); err == nil {
			start = pos
		}
	}
	dec := jsontext.NewDecoder(r, decodeOptions)
	tok, err := dec.ReadToken()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return jsonsrc.Invalid(op, "empty input")
		}
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	if tok.Kind() != '{' {
		return jsonsrc.Invalid(op, "top-level value is %s, want an object (is this a grype JSON report?)", jsonsrc.KindName(tok.Kind()))
	}

	var (
		haveMatches bool
		deferredAt  int64 = -1 // offset of a skipped matches array (seekable input)
		sp          *spool
	)
	defer func() {
		if sp != nil {
			sp.close()
		}
	}()
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
		}
		name := tok.String()
		switch name {
		case "matches":
			haveMatches = true
			switch {
			case p.metadataRead():
				p.prepare()
				if err := p.readMatches(dec, 0, "/matches"); err != nil {
					return err
				}
			case start >= 0:
				at, err := skipArray(dec)
				if err != nil {
					return err
				}
				deferredAt = at
			default:
				sp = newSpool()
				if sp.memory {
					p.warn("no temporary file could be made, so the matches were held in memory until the image metadata after them was read")
				}
				if err := sp.fill(dec); err != nil {
					return err
				}
			}
		case "source":
			p.src = new(sourceDoc)
			if err := p.decode(dec, p.src); err != nil {
				return err
			}
		case "distro":
			p.distro = new(distroDoc)
			if err := p.decode(dec, p.distro); err != nil {
				return err
			}
		case "descriptor":
			p.descriptor = new(descriptorDoc)
			if err := p.decode(dec, p.descriptor); err != nil {
				return err
			}
		case "ignoredMatches":
			n, err := countArray(dec)
			if err != nil {
				return err
			}
			if n > 0 {
				p.partial = true
				p.warn("%d matches were ignored by grype's configuration (ignore rules, --only-fixed…) and are not imported; the report is treated as partial", n)
			}
		case "alertsByPackage":
			if err := p.readAlerts(dec); err != nil {
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
	if err := jsonsrc.End(op, dec, "the report"); err != nil {
		return err
	}

	if !haveMatches {
		p.warn("report has no matches array: nothing to import (is this a grype JSON report?)")
	}
	if p.src == nil && p.descriptor == nil && !haveMatches {
		return jsonsrc.Invalid(op, "the object has no matches, source or descriptor: not a grype JSON report")
	}
	p.prepare()
	switch {
	case deferredAt >= 0:
		if _, err := rs.Seek(start+deferredAt, io.SeekStart); err != nil {
			return jsonsrc.Invalid(op, "seek back to the matches at byte %d: %v", deferredAt, err)
		}
		dec2 := jsontext.NewDecoder(rs, decodeOptions)
		return p.readMatches(dec2, deferredAt, "/matches")
	case sp != nil:
		return sp.each(func(dec *jsontext.Decoder, i int, base int64) error {
			return p.readMatch(dec, base, fmt.Sprintf("/matches/%d", i))
		})
	}
	return nil
}

// decode decodes one small value whole.
func (p *parser) decode(dec *jsontext.Decoder, v any) error {
	if err := json.UnmarshalDecode(dec, v, decodeOptions); err != nil {
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	return nil
}

// readMatches streams the matches array the decoder is positioned at. base
// is the array's offset in the document when the decoder started there.
func (p *parser) readMatches(dec *jsontext.Decoder, base int64, ptr string) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec, Base: base})
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '[':
	default:
		return jsonsrc.Invalid(op, "field %s at byte %d has the wrong type: got %s, want an array", ptr, base+dec.InputOffset()-1, jsonsrc.KindName(tok.Kind()))
	}
	prefix := ""
	if base > 0 {
		prefix = ptr
	}
	for dec.PeekKind() != ']' {
		if err := p.readMatch(dec, base, prefix); err != nil {
			return err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec, Base: base, Prefix: prefix})
	}
	return nil
}

// readMatch decodes one match, turns it into a finding and emits it.
func (p *parser) readMatch(dec *jsontext.Decoder, base int64, prefix string) error {
	var m match
	if dec.PeekKind() != '{' {
		if dec.PeekKind() == 0 {
			_, err := dec.ReadToken()
			return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec, Base: base, Prefix: prefix})
		}
		return jsonsrc.Invalid(op, "field %s at byte %d has the wrong type: got %s, want an object", prefix+pointerTail(dec), base+dec.InputOffset(), jsonsrc.KindName(dec.PeekKind()))
	}
	if err := json.UnmarshalDecode(dec, &m, decodeOptions); err != nil {
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec, Base: base, Prefix: prefix})
	}
	f := p.finding(&m)
	p.count++
	return p.emit(f)
}

// pointerTail is the JSON pointer of the next value, for errors.
func pointerTail(dec *jsontext.Decoder) string {
	ptr := string(dec.StackPointer())
	if _, n := dec.StackIndex(dec.StackDepth()); n >= 0 {
		ptr += fmt.Sprintf("/%d", n)
	}
	return ptr
}

func (p *parser) readAlerts(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	if tok.Kind() != '[' {
		if tok.Kind() == 'n' {
			return nil
		}
		return jsonsrc.Invalid(op, "field /alertsByPackage at byte %d has the wrong type: got %s, want an array", dec.InputOffset()-1, jsonsrc.KindName(tok.Kind()))
	}
	counts := map[string]int{}
	var order []string
	for dec.PeekKind() != ']' {
		var a alert
		if err := json.UnmarshalDecode(dec, &a, decodeOptions); err != nil {
			return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
		}
		for _, al := range a.Alerts {
			msg := al.Message
			if msg == "" {
				msg = al.Type
			}
			if counts[msg] == 0 {
				order = append(order, msg)
			}
			counts[msg]++
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	for _, msg := range order {
		p.warn("grype alert for %d packages: %s", counts[msg], msg)
	}
	return nil
}

// skipArray skips the array (or null) the decoder is positioned at and
// returns the offset of its first byte.
func skipArray(dec *jsontext.Decoder) (int64, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return 0, jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	at := dec.InputOffset() - int64(len(tok.String()))
	switch tok.Kind() {
	case 'n':
		return dec.InputOffset() - 4, nil
	case '[':
		at = dec.InputOffset() - 1
	default:
		return 0, jsonsrc.Invalid(op, "field /matches at byte %d has the wrong type: got %s, want an array", at, jsonsrc.KindName(tok.Kind()))
	}
	for dec.PeekKind() != ']' {
		if err := dec.SkipValue(); err != nil {
			return 0, jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return 0, jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	return at, nil
}

// countArray skips an array (or null), counting its elements.
func countArray(dec *jsontext.Decoder) (int, error) {
	if dec.PeekKind() != '[' {
		if err := dec.SkipValue(); err != nil {
			return 0, jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
		}
		return 0, nil
	}
	if _, err := dec.ReadToken(); err != nil {
		return 0, jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	n := 0
	for dec.PeekKind() != ']' {
		if err := dec.SkipValue(); err != nil {
			return 0, jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
		}
		n++
	}
	if _, err := dec.ReadToken(); err != nil {
		return 0, jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	return n, nil
}

// prepare computes the artifact and source shared by every finding, once the
// metadata has been read (or is known to be missing).
func (p *parser) prepare() {
	if p.srcInfo.Scanner != "" {
		return
	}
	p.srcInfo = p.source()
	p.art = p.artifact()
	if p.descriptor == nil {
		p.warn("report has no descriptor: grype version and scan time unknown")
	} else {
		if p.descriptor.Configuration.OnlyFixed {
			p.partial = true
			p.warn("grype ran with only-fixed: vulnerabilities without a fix were left out; the report is treated as partial")
		}
		if p.descriptor.Configuration.OnlyNotFixed {
			p.partial = true
			p.warn("grype ran with only-notfixed: fixed vulnerabilities were left out; the report is treated as partial")
		}
	}
	if p.src == nil {
		p.warn("report has no source: the scanned artifact is unknown")
	}
	if p.art.Key() == "" {
		p.warn("the scanned artifact has no name or digest: findings cannot be told apart from those of other unnamed artifacts")
	}
}

func (p *parser) source() sextant.Source {
	s := sextant.Source{Scanner: "grype", Format: Format, File: p.file}
	if d := p.descriptor; d != nil {
		s.Version = d.Version
		if ts := strings.TrimSpace(d.Timestamp); ts != "" {
			t, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				p.warn("descriptor.timestamp %q is not an RFC 3339 time; scan time unknown", ts)
			} else {
				s.ScanTime = t
			}
		}
	}
	return s
}

func (p *parser) artifact() sextant.Artifact {
	var a sextant.Artifact
	if p.distro != nil {
		a.OSFamily, a.OSVersion = p.distro.Name, p.distro.Version
	}
	if p.src == nil {
		return a
	}
	switch t := strings.ToLower(p.src.Type); t {
	case "image":
		a.Type = "container_image"
	case "directory", "file":
		a.Type = "filesystem"
	case "sbom-file", "sbom":
		a.Type = "sbom"
	default:
		a.Type = t
	}
	img := p.src.Target.Image
	if img == nil {
		a.Name = p.src.Target.Path
		return a
	}
	a.Name = img.UserInput
	if a.Name == "" {
		a.Name = img.Path
	}
	for _, tag := range img.Tags {
		repo, t, _ := sextant.SplitImageRef(tag)
		if a.Repository == "" {
			a.Repository = repo
		}
		if repo == a.Repository && t != "" && !slices.Contains(a.Tags, t) {
			a.Tags = append(a.Tags, t)
		}
	}
	if a.Name == "" && len(img.Tags) > 0 {
		a.Name = img.Tags[0]
	}
	if a.Repository == "" && a.Type == "container_image" && a.Name != "" {
		repo, t, _ := sextant.SplitImageRef(a.Name)
		a.Repository = repo
		if t != "" {
			a.Tags = []string{t}
		}
	}
	switch {
	case sextant.IsDigest(img.ImageID):
		a.Digest = img.ImageID
	case sextant.IsDigest(img.ManifestDigest):
		a.Digest = img.ManifestDigest
		if img.ImageID != "" {
			p.warn("source.target.imageID %q is not a digest (grype scanned an SBOM?); the manifest digest identifies the image instead", img.ImageID)
		}
	}
	a.RepoDigests = append([]string(nil), img.RepoDigests...)
	for _, l := range img.Layers {
		if l.Digest == "" {
			a.Layers = nil
			break
		}
		a.Layers = append(a.Layers, l.Digest)
	}
	if a.Name == "" {
		a.Name = a.Digest
	}
	return a
}

// spool keeps the raw matches of a non-seekable report until the metadata
// after them has been read: in a temporary file, or in memory when none can
// be made.
type spool struct {
	f      *os.File
	buf    *bytes.Buffer
	w      *bufio.Writer
	memory bool
	starts []int64 // each match's offset in the original document
	ends   []int64 // each match's end offset in the spool
	size   int64
}

func newSpool() *spool {
	s := new(spool)
	f, err := os.CreateTemp("", "sextant-grype-*.json")
	if err != nil {
		s.memory = true
		s.buf = new(bytes.Buffer)
		s.w = bufio.NewWriter(s.buf)
		return s
	}
	s.f = f
	s.w = bufio.NewWriterSize(f, 256<<10)
	return s
}

// fill copies the elements of the array the decoder is positioned at.
func (s *spool) fill(dec *jsontext.Decoder) error {
	tok, err := dec.ReadToken()
	if err != nil {
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	switch tok.Kind() {
	case 'n':
		return nil
	case '[':
	default:
		return jsonsrc.Invalid(op, "field /matches at byte %d has the wrong type: got %s, want an array", dec.InputOffset()-1, jsonsrc.KindName(tok.Kind()))
	}
	for dec.PeekKind() != ']' {
		v, err := dec.ReadValue()
		if err != nil {
			return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
		}
		s.starts = append(s.starts, dec.InputOffset()-int64(len(v)))
		if _, err := s.w.Write(v); err != nil {
			return jsonsrc.Invalid(op, "spool matches to a temporary file: %v", err)
		}
		if err := s.w.WriteByte('\n'); err != nil {
			return jsonsrc.Invalid(op, "spool matches to a temporary file: %v", err)
		}
		s.size += int64(len(v)) + 1
		s.ends = append(s.ends, s.size)
	}
	if _, err := dec.ReadToken(); err != nil {
		return jsonsrc.Error(op, err, jsonsrc.Pos{Dec: dec})
	}
	if err := s.w.Flush(); err != nil {
		return jsonsrc.Invalid(op, "spool matches to a temporary file: %v", err)
	}
	return nil
}

// each decodes the spooled matches in order. fn gets a decoder positioned
// at match i and the base to add to its offsets to get document offsets.
func (s *spool) each(fn func(dec *jsontext.Decoder, i int, base int64) error) error {
	var r io.Reader
	if s.memory {
		r = bytes.NewReader(s.buf.Bytes())
	} else {
		if _, err := s.f.Seek(0, io.SeekStart); err != nil {
			return jsonsrc.Invalid(op, "read back spooled matches: %v", err)
		}
		r = bufio.NewReaderSize(s.f, 256<<10)
	}
	dec := jsontext.NewDecoder(r, decodeOptions)
	var spoolStart int64
	for i := range s.starts {
		if err := fn(dec, i, s.starts[i]-spoolStart); err != nil {
			return err
		}
		spoolStart = s.ends[i]
	}
	return nil
}

func (s *spool) close() {
	if s.f != nil {
		name := s.f.Name()
		s.f.Close()
		os.Remove(name)
	}
}
