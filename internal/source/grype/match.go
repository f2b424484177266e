package grype

import (
	"fmt"
	"github.com/sextant-dev/sextant/internal/source/jsonsrc"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// match is one entry of the report's matches array, with only the fields
// sextant uses. Field shapes cover the 0.7 schema (fixedInVersion, links,
// cvssV2/cvssV3) up to the current one (fix, urls, cvss[], epss[],
// knownExploited[]).
type match struct {
	Vulnerability          vulnerability   `json:"vulnerability"`
	RelatedVulnerabilities []vulnerability `json:"relatedVulnerabilities"`
	Artifact               artifact        `json:"artifact"`
}

type vulnerability struct {
	ID          string   `json:"id"`
	DataSource  string   `json:"dataSource"`
	Namespace   string   `json:"namespace"`
	Severity    string   `json:"severity"`
	URLs        []string `json:"urls"`
	Description string   `json:"description"`
	CVSS        []cvss   `json:"cvss"`
	EPSS        []epss   `json:"epss"`
	// KnownExploited is a list of CISA KEV entries (grype with the v6
	// database); only its presence matters here.
	KnownExploited yes        `json:"knownExploited"`
	Fix            fix        `json:"fix"`
	Advisories     []advisory `json:"advisories"`

	// The 0.7 schema.
	Links          []string `json:"links"`
	FixedInVersion string   `json:"fixedInVersion"`
	CVSSV2         *oldCVSS `json:"cvssV2"`
	CVSSV3         *oldCVSS `json:"cvssV3"`
}

type cvss struct {
	Source  string `json:"source"`
	Type    string `json:"type"`
	Version string `json:"version"`
	Vector  string `json:"vector"`
	Metrics struct {
		BaseScore float64 `json:"baseScore"`
	} `json:"metrics"`
}

type oldCVSS struct {
	BaseScore float64 `json:"baseScore"`
	Vector    string  `json:"vector"`
}

type epss struct {
	CVE        string  `json:"cve"`
	EPSS       float64 `json:"epss"`
	Percentile float64 `json:"percentile"`
	Date       string  `json:"date"`
}

type fix struct {
	Versions []string `json:"versions"`
	State    string   `json:"state"`
}

type advisory struct {
	ID   string `json:"id"`
	Link string `json:"link"`
}

type artifact struct {
	Name      string     `json:"name"`
	Version   string     `json:"version"`
	Type      string     `json:"type"`
	PURL      string     `json:"purl"`
	Locations []location `json:"locations"`
	Upstreams []struct {
		Name string `json:"name"`
	} `json:"upstreams"`
	Metadata sourceHint `json:"metadata"`
}

// location is where grype found a package. Most versions write an object
// {path, layerID, annotations}; some older ones write a bare path string.
type location struct {
	Path    string
	LayerID string
	Primary bool
}

// UnmarshalJSONFrom accepts a location as a string or an object.
func (l *location) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case '"':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		l.Path = tok.String()
		return nil
	case '{':
		var o struct {
			Path        string `json:"path"`
			RealPath    string `json:"realPath"`
			LayerID     string `json:"layerID"`
			Annotations struct {
				Evidence string `json:"evidence"`
			} `json:"annotations"`
		}
		if err := json.UnmarshalDecode(dec, &o); err != nil {
			return err
		}
		l.Path, l.LayerID = o.Path, o.LayerID
		if l.Path == "" {
			l.Path = o.RealPath
		}
		l.Primary = o.Annotations.Evidence == "primary"
		return nil
	case 'n':
		_, err := dec.ReadToken()
		return err
	}
	return fmt.Errorf("location is %s, want a string or an object", jsonsrc.KindName(dec.PeekKind()))
}

// sourceHint picks the source-package name out of artifact.metadata, whose
// shape depends on the package type: older grype wrote {"Source": "krb5"}
// for Debian packages and {"sourceRpm": "…src.rpm"} for RPMs. Everything else
// is skipped without being decoded.
type sourceHint struct {
	Source    string
	SourceRPM string
}

// UnmarshalJSONFrom reads the members it knows and skips the rest.
func (h *sourceHint) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() != '{' {
		return dec.SkipValue()
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		name := tok.String()
		if dec.PeekKind() != '"' {
			if err := dec.SkipValue(); err != nil {
				return err
			}
			continue
		}
		v, err := dec.ReadToken()
		if err != nil {
			return err
		}
		switch {
		case strings.EqualFold(name, "source"):
			h.Source = v.String()
		case strings.EqualFold(name, "sourceRpm"):
			h.SourceRPM = v.String()
		}
	}
	_, err := dec.ReadToken()
	return err
}

// yes is true when a JSON value says "yes": a non-empty array or object,
// true, or a non-empty string other than "false".
type yes bool

// UnmarshalJSONFrom accepts any JSON value.
func (f *yes) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case '[':
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		n := 0
		for dec.PeekKind() != ']' {
			if err := dec.SkipValue(); err != nil {
				return err
			}
			n++
		}
		if _, err := dec.ReadToken(); err != nil {
			return err
		}
		*f = n > 0
		return nil
	case '{':
		if err := dec.SkipValue(); err != nil {
			return err
		}
		*f = true
		return nil
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	switch tok.Kind() {
	case 't':
		*f = true
	case '"':
		s := strings.TrimSpace(tok.String())
		*f = yes(s != "" && !strings.EqualFold(s, "false"))
	}
	return nil
}
