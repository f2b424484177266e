package triage

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant"
)

// Format names returned by Sniff. They match the Format constants of the
// parser packages, which cmd/sextant wires to these names.
const (
	FormatTrivy         = "trivy-json"
	FormatTrivyOperator = "trivy-operator"
	FormatGrype         = "grype-json"
	FormatCycloneDX     = "cyclonedx-json"
	FormatSARIF         = "sarif"
	FormatGitLab        = "gitlab-container-scanning"
	FormatASFF          = "asff"
	FormatSPDX          = "spdx-json"
)

// sniffWindow is how much of the head of a report Sniff looks at. Every
// format it knows announces itself in its first top-level keys, well within
// this.
const sniffWindow = 1 << 20

// Decompress returns a reader that undoes gzip compression when r starts with
// the gzip magic bytes, and r's bytes unchanged otherwise.
func Decompress(r *bufio.Reader) (io.Reader, error) {
	head, _ := r.Peek(2)
	if len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "read gzip stream: %v", err)
		}
		return zr, nil
	}
	return r, nil
}

// Sniff detects the format of the report at the head of r without consuming
// it: r must be a *bufio.Reader of at least sniffWindow bytes. It looks only
// at the first top-level keys (and the apiVersion of Kubernetes objects). An
// unknown format is an EINVALID error that names what was seen.
func Sniff(r *bufio.Reader) (string, error) {
	head, err := r.Peek(sniffWindow)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return "", sextant.Errorf(sextant.EINVALID, "read report: %v", err)
	}
	return sniffBytes(head)
}

func sniffBytes(head []byte) (string, error) {
	whole := len(head) < sniffWindow
	trimmed := bytes.TrimLeft(head, " \t\r\n\ufeff")
	trimmed = bytes.TrimPrefix(trimmed, []byte("\xef\xbb\xbf"))
	if len(trimmed) == 0 {
		return "", sextant.Errorf(sextant.EINVALID, "empty input: expected a JSON scanner report (Trivy, Grype, CycloneDX, SARIF, …)")
	}
	switch trimmed[0] {
	case '[':
		return sniffArray(trimmed)
	case '{':
	default:
		return "", sextant.Errorf(sextant.EINVALID, "unknown format: input starts with %q, not a JSON object; sextant reads JSON reports from Trivy, Grype, CycloneDX, SARIF, GitLab, ASFF and Trivy Operator", preview(trimmed))
	}
	dec := jsontext.NewDecoder(bytes.NewReader(trimmed))
	if _, err := dec.ReadToken(); err != nil {
		return "", sextant.Errorf(sextant.EINVALID, "unknown format: invalid JSON at byte %d: %v", dec.InputOffset(), err)
	}
	// The whole input is in the window when it is shorter than the window:
	// then a syntax error is the input's, not the window's edge.
	var keys []string
	var apiVersion, kind string
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			if whole {
				return "", sextant.Errorf(sextant.EINVALID, "unknown format: invalid JSON at byte %d: %v", dec.InputOffset(), err)
			}
			break
		}
		key := tok.String()
		keys = append(keys, key)
		switch key {
		case "apiVersion", "kind":
			v, err := dec.ReadToken()
			if err != nil {
				break
			}
			if key == "apiVersion" {
				apiVersion = v.String()
			} else {
				kind = v.String()
			}
		default:
			if err := dec.SkipValue(); err != nil {
				// The value runs past the window (or is broken): decide on
				// the keys seen so far.
				goto decide
			}
		}
		if f := decide(keys, apiVersion, kind); f != "" {
			return f, nil
		}
	}
decide:
	if f := decide(keys, apiVersion, kind); f != "" {
		return f, nil
	}
	if len(keys) == 0 {
		return "", sextant.Errorf(sextant.EINVALID, "unknown format: a JSON object with no keys")
	}
	return "", sextant.Errorf(sextant.EINVALID, "unknown format: a JSON object with top-level keys %s; sextant reads Trivy JSON, Grype JSON, CycloneDX JSON with vulnerabilities, SARIF 2.1.0, GitLab container scanning, ASFF and Trivy Operator reports", quoteKeys(keys))
}

// decide maps the top-level keys seen so far to a format, or "" when they do
// not yet tell.
func decide(keys []string, apiVersion, kind string) string {
	has := func(k string) bool {
		for _, x := range keys {
			if x == k {
				return true
			}
		}
		return false
	}
	switch {
	case strings.Contains(apiVersion, "aquasecurity.github.io"):
		return FormatTrivyOperator
	case kind == "List" && has("items"):
		return FormatTrivyOperator
	case has("bomFormat"):
		return FormatCycloneDX
	case has("spdxVersion"), has("SPDXID"):
		return FormatSPDX
	case has("SchemaVersion"), has("ArtifactName"), has("ClusterName"):
		return FormatTrivy
	case has("matches"), has("descriptor") && has("source"):
		return FormatGrype
	case has("runs") && (has("version") || has("$schema")):
		return FormatSARIF
	case has("Findings"):
		return FormatASFF
	case has("vulnerabilities") && (has("scan") || has("remediations")):
		return FormatGitLab
	}
	for _, k := range keys {
		if strings.HasSuffix(k, ".aquasecurity.github.io") {
			return FormatTrivyOperator
		}
	}
	// Keys that tell only once the whole head has been read.
	if has("runs") {
		return FormatSARIF
	}
	if has("Results") {
		return FormatTrivy
	}
	if has("vulnerabilities") && has("version") {
		return FormatGitLab
	}
	return ""
}

// sniffArray recognises the top-level JSON arrays sextant reads: Trivy's
// legacy (pre-schema-2) list of results, and lists of Trivy Operator objects.
func sniffArray(b []byte) (string, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(b))
	if _, err := dec.ReadToken(); err != nil {
		return "", sextant.Errorf(sextant.EINVALID, "unknown format: invalid JSON at byte %d: %v", dec.InputOffset(), err)
	}
	if dec.PeekKind() == ']' {
		return "", sextant.Errorf(sextant.EINVALID, "unknown format: an empty JSON array")
	}
	if dec.PeekKind() != '{' {
		return "", sextant.Errorf(sextant.EINVALID, "unknown format: a JSON array of %v values", dec.PeekKind())
	}
	dec.ReadToken()
	var keys []string
	var apiVersion string
	for dec.PeekKind() == '"' {
		tok, err := dec.ReadToken()
		if err != nil {
			break
		}
		keys = append(keys, tok.String())
		if tok.String() == "apiVersion" {
			if v, err := dec.ReadToken(); err == nil {
				apiVersion = v.String()
			}
			continue
		}
		if err := dec.SkipValue(); err != nil {
			break
		}
	}
	for _, k := range keys {
		if k == "Target" {
			return FormatTrivy, nil
		}
	}
	if strings.Contains(apiVersion, "aquasecurity.github.io") {
		return FormatTrivyOperator, nil
	}
	return "", sextant.Errorf(sextant.EINVALID, "unknown format: a JSON array of objects with keys %s", quoteKeys(keys))
}

func quoteKeys(keys []string) string {
	if len(keys) > 8 {
		keys = append(keys[:8:8], "…")
	}
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(q, ", ")
}

func preview(b []byte) string {
	if len(b) > 24 {
		b = b[:24]
	}
	return string(b)
}
