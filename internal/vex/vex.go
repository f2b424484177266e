// Package vex writes OpenVEX documents, version 0.2.0 of the specification
// (https://github.com/openvex/spec, context https://openvex.dev/ns/v0.2.0).
//
// A Document groups Statements, each saying what one vulnerability means
// for some products: not_affected (with a justification label and, if
// given, an impact statement), affected, fixed or under_investigation.
// New builds a document whose @id is derived from its content, and every
// document this package writes has passed Validate, which holds it to the
// specification's requirements.
package vex

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/package-url/packageurl-go"

	"github.com/sextant-dev/sextant"
)

// Context is the JSON-LD context of OpenVEX 0.2.0 documents.
const Context = "https://openvex.dev/ns/v0.2.0"

// IDPrefix starts the @id New gives a document; the rest is a SHA-256 of
// its content, as vexctl names documents.
const IDPrefix = "https://openvex.dev/docs/public/vex-"

// Status is a VEX status label.
type Status string

// The status labels of the specification.
const (
	NotAffected        Status = "not_affected"
	Affected           Status = "affected"
	Fixed              Status = "fixed"
	UnderInvestigation Status = "under_investigation"
)

// Valid reports whether s is one of the four labels.
func (s Status) Valid() bool {
	switch s {
	case NotAffected, Affected, Fixed, UnderInvestigation:
		return true
	}
	return false
}

// Justification is a machine-readable reason for a not_affected status.
type Justification string

// The justification labels of the specification (VEX Status Justifications,
// CISA, June 2022).
const (
	ComponentNotPresent                         Justification = "component_not_present"
	VulnerableCodeNotPresent                    Justification = "vulnerable_code_not_present"
	VulnerableCodeNotInExecutePath              Justification = "vulnerable_code_not_in_execute_path"
	VulnerableCodeCannotBeControlledByAdversary Justification = "vulnerable_code_cannot_be_controlled_by_adversary"
	InlineMitigationsAlreadyExist               Justification = "inline_mitigations_already_exist"
)

// Justifications returns the five labels, in the specification's order.
func Justifications() []Justification {
	return []Justification{ComponentNotPresent, VulnerableCodeNotPresent, VulnerableCodeNotInExecutePath,
		VulnerableCodeCannotBeControlledByAdversary, InlineMitigationsAlreadyExist}
}

// Valid reports whether j is one of the five labels.
func (j Justification) Valid() bool { return slices.Contains(Justifications(), j) }

// Document is an OpenVEX document.
type Document struct {
	Context     string      `json:"@context"`
	ID          string      `json:"@id"`
	Author      string      `json:"author"`
	Role        string      `json:"role,omitempty"`
	Timestamp   time.Time   `json:"timestamp"`
	LastUpdated time.Time   `json:"last_updated,omitzero"`
	Version     int         `json:"version"`
	Tooling     string      `json:"tooling,omitempty"`
	Statements  []Statement `json:"statements"`
}

// Statement is what one vulnerability means for some products.
type Statement struct {
	ID            string        `json:"@id,omitempty"`
	Vulnerability Vulnerability `json:"vulnerability"`
	// Timestamp is when the statement was known to be true; the
	// document's when zero.
	Timestamp       time.Time     `json:"timestamp,omitzero"`
	Products        []Product     `json:"products,omitempty"`
	Status          Status        `json:"status"`
	StatusNotes     string        `json:"status_notes,omitempty"`
	Justification   Justification `json:"justification,omitempty"`
	ImpactStatement string        `json:"impact_statement,omitempty"`
	ActionStatement string        `json:"action_statement,omitempty"`
}

// Vulnerability names a vulnerability.
type Vulnerability struct {
	ID      string   `json:"@id,omitempty"`
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
}

// Component identifies a piece of software: by an IRI (a purl is one), by
// identifiers ("purl", "cpe22", "cpe23") and by hashes ("sha-256" …).
type Component struct {
	ID          string            `json:"@id,omitempty"`
	Identifiers map[string]string `json:"identifiers,omitempty"`
	Hashes      map[string]string `json:"hashes,omitempty"`
}

// Product is a component a statement is about, with the subcomponents
// (packages inside an image, for instance) that carry the vulnerability.
type Product struct {
	Component
	Subcomponents []Component `json:"subcomponents,omitempty"`
}

// New returns a document of the statements by author, issued at now: one
// statement per vulnerability and status and justification with their
// products merged, in a stable order, version 1, with an @id derived from
// the author and the statements (the same statements give the same @id).
// The document is valid, or New returns why not.
func New(author string, now time.Time, statements []Statement) (Document, error) {
	d := Document{
		Context:    Context,
		Author:     strings.TrimSpace(author),
		Timestamp:  now.UTC().Truncate(time.Second),
		Version:    1,
		Tooling:    "sextant",
		Statements: merge(statements),
	}
	b, err := json.Marshal(struct {
		Author     string      `json:"author"`
		Statements []Statement `json:"statements"`
	}{d.Author, d.Statements})
	if err != nil {
		return Document{}, err
	}
	sum := sha256.Sum256(b)
	d.ID = IDPrefix + hex.EncodeToString(sum[:])
	if err := d.Validate(); err != nil {
		return Document{}, err
	}
	return d, nil
}

// merge joins statements that say the same thing about the same
// vulnerability, and sorts statements, products and subcomponents.
func merge(in []Statement) []Statement {
	var out []Statement
	for _, s := range in {
		s.Timestamp = s.Timestamp.UTC().Truncate(time.Second)
		i := slices.IndexFunc(out, func(o Statement) bool {
			return o.Vulnerability.Name == s.Vulnerability.Name && o.Status == s.Status &&
				o.Justification == s.Justification && o.ImpactStatement == s.ImpactStatement &&
				o.StatusNotes == s.StatusNotes && o.ActionStatement == s.ActionStatement
		})
		if i < 0 {
			s.Products = append([]Product(nil), s.Products...)
			s.Vulnerability.Aliases = append([]string(nil), s.Vulnerability.Aliases...)
			out = append(out, s)
			continue
		}
		o := &out[i]
		if s.Timestamp.After(o.Timestamp) {
			o.Timestamp = s.Timestamp
		}
		for _, a := range s.Vulnerability.Aliases {
			if !slices.Contains(o.Vulnerability.Aliases, a) {
				o.Vulnerability.Aliases = append(o.Vulnerability.Aliases, a)
			}
		}
		for _, p := range s.Products {
			j := slices.IndexFunc(o.Products, func(q Product) bool { return q.key() == p.key() })
			if j < 0 {
				o.Products = append(o.Products, p)
				continue
			}
			for _, c := range p.Subcomponents {
				if !slices.ContainsFunc(o.Products[j].Subcomponents, func(d Component) bool { return d.key() == c.key() }) {
					o.Products[j].Subcomponents = append(o.Products[j].Subcomponents, c)
				}
			}
		}
	}
	for i := range out {
		s := &out[i]
		slices.Sort(s.Vulnerability.Aliases)
		for j := range s.Products {
			slices.SortFunc(s.Products[j].Subcomponents, func(a, b Component) int { return strings.Compare(a.key(), b.key()) })
		}
		slices.SortFunc(s.Products, func(a, b Product) int { return strings.Compare(a.key(), b.key()) })
	}
	slices.SortStableFunc(out, func(a, b Statement) int {
		return cmp.Or(strings.Compare(a.Vulnerability.Name, b.Vulnerability.Name), strings.Compare(string(a.Status), string(b.Status)),
			strings.Compare(string(a.Justification), string(b.Justification)), strings.Compare(a.ImpactStatement, b.ImpactStatement))
	})
	return out
}

func (c Component) key() string {
	if c.ID != "" {
		return c.ID
	}
	return c.Identifiers["purl"] + "\x00" + c.Hashes["sha-256"]
}

// Validate checks the document against the OpenVEX 0.2.0 specification:
// the required document fields, at least one statement, and for each
// statement a vulnerability name, a status label, a product that is
// identified, a justification label or an impact statement when
// not_affected, an action statement when affected, and timestamps. Errors
// are EINVALID.
func (d Document) Validate() error {
	bad := func(format string, a ...any) error {
		return sextant.Errorf(sextant.EINVALID, "openvex document: "+format, a...)
	}
	switch {
	case d.Context != Context:
		return bad("@context is %q, want %q", d.Context, Context)
	case !isIRI(d.ID):
		return bad("@id %q is not an IRI", d.ID)
	case strings.TrimSpace(d.Author) == "":
		return bad("no author")
	case d.Timestamp.IsZero():
		return bad("no timestamp")
	case d.Version < 1:
		return bad("version must be 1 or more")
	case len(d.Statements) == 0:
		return bad("no statements")
	}
	for i, s := range d.Statements {
		at := func(format string, a ...any) error {
			return bad("statement %d (%s): "+format, append([]any{i, s.Vulnerability.Name}, a...)...)
		}
		switch {
		case strings.TrimSpace(s.Vulnerability.Name) == "":
			return bad("statement %d: no vulnerability name", i)
		case !s.Status.Valid():
			return at("status %q is not a VEX status", s.Status)
		case len(s.Products) == 0:
			return at("no products")
		case s.Status == NotAffected && s.Justification == "" && strings.TrimSpace(s.ImpactStatement) == "":
			return at("not_affected needs a justification or an impact statement")
		case s.Justification != "" && !s.Justification.Valid():
			return at("justification %q is not a VEX justification", s.Justification)
		case s.Justification != "" && s.Status != NotAffected:
			return at("a justification goes with not_affected only")
		case s.Status == Affected && strings.TrimSpace(s.ActionStatement) == "":
			return at("affected needs an action statement")
		case s.ID != "" && !isIRI(s.ID):
			return at("@id %q is not an IRI", s.ID)
		}
		for _, p := range s.Products {
			for _, c := range append([]Component{p.Component}, p.Subcomponents...) {
				if c.ID == "" && len(c.Identifiers) == 0 && len(c.Hashes) == 0 {
					return at("a product or subcomponent is not identified")
				}
				if c.ID != "" && !isIRI(c.ID) {
					return at("component @id %q is not an IRI", c.ID)
				}
				for k := range c.Identifiers {
					if k != "purl" && k != "cpe22" && k != "cpe23" {
						return at("unknown identifier type %q", k)
					}
				}
			}
		}
	}
	return nil
}

// isIRI reports whether s is an absolute IRI: a scheme, then something.
func isIRI(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && len(s) > len(u.Scheme)+1 && !strings.ContainsAny(s, " \t\n")
}

// Write writes the document as indented JSON, after validating it.
func Write(w io.Writer, d Document) error {
	if err := d.Validate(); err != nil {
		return err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// ImageProduct returns the product of a container image named by digest:
// "registry.example.com/shop/web@sha256:…" (a tag before the digest is
// kept as a qualifier) or a bare "sha256:…" digest. Its @id is an OCI
// package URL, pkg:oci/web@sha256%3A…?repository_url=registry.example.com/shop/web,
// and its sha-256 hash is the digest. A reference without a digest is
// EINVALID: a tag can be moved, and a statement must name what it is
// about.
func ImageProduct(ref string) (Product, error) {
	ref = strings.TrimSpace(ref)
	repo, tag, digest := sextant.SplitImageRef(ref)
	if digest == "" && sextant.IsDigest(ref) {
		repo, tag, digest = "", "", ref
	}
	alg, hexDigest, _ := strings.Cut(strings.ToLower(digest), ":")
	if alg != "sha256" || !sextant.IsDigest(digest) || len(hexDigest) != 64 {
		return Product{}, sextant.Errorf(sextant.EINVALID, "image %q is not named by a sha256 digest (registry/repo@sha256:…)", ref)
	}
	name := repo
	if i := strings.LastIndex(repo, "/"); i >= 0 {
		name = repo[i+1:]
	}
	if name == "" {
		// A bare digest: the purl needs a name, and the digest is all there is.
		name = "image"
	}
	var q packageurl.Qualifiers
	if strings.Contains(repo, "/") {
		q = append(q, packageurl.Qualifier{Key: "repository_url", Value: strings.ToLower(repo)})
	}
	if tag != "" {
		q = append(q, packageurl.Qualifier{Key: "tag", Value: tag})
	}
	purl := packageurl.NewPackageURL("oci", "", strings.ToLower(name), alg+":"+hexDigest, q, "").ToString()
	return Product{Component: Component{
		ID:          purl,
		Identifiers: map[string]string{"purl": purl},
		Hashes:      map[string]string{"sha-256": hexDigest},
	}}, nil
}

// PackageComponent returns the component a package URL names, after
// checking it parses.
func PackageComponent(purl string) (Component, error) {
	p, err := packageurl.FromString(strings.TrimSpace(purl))
	if err != nil {
		return Component{}, sextant.Errorf(sextant.EINVALID, "package URL %q: %v", purl, err)
	}
	s := p.ToString()
	return Component{ID: s, Identifiers: map[string]string{"purl": s}}, nil
}

// String returns "vulnerability status (justification)" for messages.
func (s Statement) String() string {
	out := fmt.Sprintf("%s %s", s.Vulnerability.Name, s.Status)
	if s.Justification != "" {
		out += " (" + string(s.Justification) + ")"
	}
	return out
}
