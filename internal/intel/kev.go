package intel

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sextant-dev/sextant"
)

// KEV is a CISA Known Exploited Vulnerabilities catalog, indexed by CVE ID.
// A nil *KEV is an empty catalog: Lookup finds nothing and Len is 0, so
// callers can go on without KEV data.
type KEV struct {
	// Title is the catalog's title as published.
	Title string
	// CatalogVersion is CISA's version string, such as "2025.08.25".
	CatalogVersion string
	// Released is the catalog's dateReleased.
	Released time.Time
	// Count is the number of entries the catalog says it holds; it may
	// differ from Len when the catalog contradicts itself (see Warnings).
	Count int
	// Warnings say what was odd about the catalog without making it
	// unusable: a count that disagrees with the entries, a CVE listed twice.
	Warnings []string

	entries []KEVEntry
	index   map[string]int32
}

// KEVEntry is one vulnerability in the KEV catalog. Every text field is
// data published by CISA and must be treated as untrusted text.
type KEVEntry struct {
	CVEID         string
	VendorProject string
	Product       string
	// Name is the catalog's vulnerabilityName.
	Name string
	// DateAdded is the day CISA added the CVE to the catalog (UTC midnight).
	DateAdded time.Time
	// DueDate is the remediation deadline for US federal agencies (UTC
	// midnight); zero when the catalog gives none.
	DueDate time.Time
	// Ransomware is true when knownRansomwareCampaignUse is "Known". Any
	// other value, including a word CISA may add later, reads as false.
	Ransomware       bool
	RequiredAction   string
	ShortDescription string
	Notes            string
	CWEs             []string
}

// Len returns the number of distinct CVEs in the catalog.
func (k *KEV) Len() int {
	if k == nil {
		return 0
	}
	return len(k.entries)
}

// Lookup returns the catalog entry for a CVE ID, matched case-insensitively
// and ignoring surrounding space.
func (k *KEV) Lookup(cve string) (KEVEntry, bool) {
	if k == nil {
		return KEVEntry{}, false
	}
	i, ok := k.index[normalizeCVE(cve)]
	if !ok {
		return KEVEntry{}, false
	}
	return k.entries[i], true
}

// Entries returns the catalog's entries in catalog order. The slice is the
// catalog's own; callers must not modify it.
func (k *KEV) Entries() []KEVEntry {
	if k == nil {
		return nil
	}
	return k.entries
}

// kevEntryJSON is the wire form of one catalog entry.
type kevEntryJSON struct {
	CVEID             string   `json:"cveID"`
	VendorProject     string   `json:"vendorProject"`
	Product           string   `json:"product"`
	VulnerabilityName string   `json:"vulnerabilityName"`
	DateAdded         string   `json:"dateAdded"`
	ShortDescription  string   `json:"shortDescription"`
	RequiredAction    string   `json:"requiredAction"`
	DueDate           string   `json:"dueDate"`
	Ransomware        string   `json:"knownRansomwareCampaignUse"`
	Notes             string   `json:"notes"`
	CWEs              []string `json:"cwes"`
}

// ReadKEV decodes a CISA KEV catalog in its JSON form. The vulnerabilities
// array is decoded one entry at a time, so the document is never held as a
// generic tree. Malformed JSON, a missing vulnerabilities array, an entry
// without a valid CVE ID or with a malformed date is an *sextant.Error with
// code EINVALID whose message gives the byte offset.
func ReadKEV(r io.Reader) (*KEV, error) {
	k := &KEV{index: make(map[string]int32)}
	dec := jsontext.NewDecoder(r)
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, kevJSONError(err, 0, "")
	}
	if tok.Kind() != '{' {
		return nil, kevErrorf(0, "catalog is %s, want an object", kindName(tok.Kind()))
	}
	haveVulns, haveCount := false, false
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil, kevJSONError(err, 0, "")
		}
		name := tok.String()
		switch name {
		case "title", "catalogVersion", "dateReleased", "count":
			v, err := dec.ReadValue()
			if err != nil {
				return nil, kevJSONError(err, 0, "")
			}
			start := dec.InputOffset() - int64(len(v))
			switch name {
			case "title":
				err = json.Unmarshal(v, &k.Title)
			case "catalogVersion":
				err = json.Unmarshal(v, &k.CatalogVersion)
			case "count":
				err = json.Unmarshal(v, &k.Count)
				haveCount = err == nil
			case "dateReleased":
				var s string
				if err = json.Unmarshal(v, &s); err == nil && s != "" {
					k.Released, err = time.Parse(time.RFC3339Nano, s)
					if err != nil {
						return nil, kevErrorf(start, "dateReleased %q is not an RFC 3339 time", s)
					}
				}
			}
			if err != nil {
				return nil, kevJSONError(err, start, name)
			}
		case "vulnerabilities":
			if haveVulns {
				return nil, kevErrorf(dec.InputOffset(), "vulnerabilities given twice")
			}
			haveVulns = true
			if err := k.readEntries(dec); err != nil {
				return nil, err
			}
		default:
			// Fields CISA may add later are not ours to reject.
			if err := dec.SkipValue(); err != nil {
				return nil, kevJSONError(err, 0, "")
			}
		}
	}
	if _, err := dec.ReadToken(); err != nil { // the closing '}'
		return nil, kevJSONError(err, 0, "")
	}
	if v, err := dec.ReadValue(); err != io.EOF {
		if err != nil {
			return nil, kevJSONError(err, 0, "")
		}
		return nil, kevErrorf(dec.InputOffset()-int64(len(v)), "unexpected data after the catalog object")
	}
	if !haveVulns {
		return nil, kevErrorf(dec.InputOffset(), "no vulnerabilities array")
	}
	if haveCount && k.Count != len(k.entries) {
		k.Warnings = append(k.Warnings, fmt.Sprintf("catalog says count %d but lists %d distinct CVEs", k.Count, len(k.entries)))
	}
	return k, nil
}

// readEntries reads the vulnerabilities array, the decoder being just before
// its opening bracket.
func (k *KEV) readEntries(dec *jsontext.Decoder) error {
	if dec.PeekKind() != '[' {
		v, err := dec.ReadValue()
		if err != nil {
			return kevJSONError(err, 0, "")
		}
		return kevErrorf(dec.InputOffset()-int64(len(v)), "vulnerabilities is %s, want an array", kindName(v.Kind()))
	}
	if _, err := dec.ReadToken(); err != nil {
		return kevJSONError(err, 0, "")
	}
	for dec.PeekKind() != ']' {
		v, err := dec.ReadValue()
		if err != nil {
			return kevJSONError(err, 0, "")
		}
		start := dec.InputOffset() - int64(len(v))
		if v.Kind() != '{' {
			return kevErrorf(start, "vulnerability entry is %s, want an object", kindName(v.Kind()))
		}
		var w kevEntryJSON
		if err := json.Unmarshal(v, &w); err != nil {
			return kevJSONError(err, start, "")
		}
		e, err := w.entry()
		if err != nil {
			return kevErrorf(start, "entry %d: %v", len(k.entries)+1, err)
		}
		if _, dup := k.index[e.CVEID]; dup {
			// A repeated CVE is CISA's slip, not a reason to lose the catalog.
			k.Warnings = append(k.Warnings, fmt.Sprintf("%s is listed twice; kept the first entry", e.CVEID))
			continue
		}
		k.index[e.CVEID] = int32(len(k.entries))
		k.entries = append(k.entries, e)
	}
	if _, err := dec.ReadToken(); err != nil {
		return kevJSONError(err, 0, "")
	}
	return nil
}

// entry validates the wire form and converts it.
func (w *kevEntryJSON) entry() (KEVEntry, error) {
	id := normalizeCVE(w.CVEID)
	if _, ok := cveKey(id); !ok {
		return KEVEntry{}, fmt.Errorf("cveID %q is not a CVE ID", w.CVEID)
	}
	added, err := parseDate(w.DateAdded)
	if err != nil || added.IsZero() {
		return KEVEntry{}, fmt.Errorf("%s: dateAdded %q is not a YYYY-MM-DD date", id, w.DateAdded)
	}
	due, err := parseDate(w.DueDate)
	if err != nil {
		return KEVEntry{}, fmt.Errorf("%s: dueDate %q is not a YYYY-MM-DD date", id, w.DueDate)
	}
	return KEVEntry{
		CVEID:            id,
		VendorProject:    w.VendorProject,
		Product:          w.Product,
		Name:             w.VulnerabilityName,
		DateAdded:        added,
		DueDate:          due,
		Ransomware:       strings.EqualFold(strings.TrimSpace(w.Ransomware), "Known"),
		RequiredAction:   w.RequiredAction,
		ShortDescription: w.ShortDescription,
		Notes:            w.Notes,
		CWEs:             w.CWEs,
	}, nil
}

// parseDate parses a YYYY-MM-DD date; the empty string is the zero time.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.DateOnly, s)
}

func kevErrorf(offset int64, format string, args ...any) error {
	return sextant.Errorf(sextant.EINVALID, "read KEV catalog: byte offset %d: %s", offset, fmt.Sprintf(format, args...))
}

// kevJSONError turns a decoder error into an EINVALID error carrying the
// absolute byte offset; base is added to offsets relative to a sub-value,
// and field, when set, names the top-level field the sub-value belongs to.
func kevJSONError(err error, base int64, field string) error {
	prefix := ""
	if field != "" {
		prefix = field + ": "
	}
	var se *jsontext.SyntacticError
	var me *json.SemanticError
	switch {
	case errors.As(err, &se):
		msg := "invalid JSON"
		if se.Err != nil {
			msg = se.Err.Error()
		}
		if se.JSONPointer != "" {
			msg += fmt.Sprintf(" (at %s)", se.JSONPointer)
		}
		return kevErrorf(base+se.ByteOffset, "%s%s", prefix, msg)
	case errors.As(err, &me):
		msg := strings.TrimPrefix(me.Error(), "json: ")
		return kevErrorf(base+me.ByteOffset, "%s%s", prefix, msg)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return kevErrorf(base, "unexpected end of input")
	}
	return sextant.Errorf(sextant.EINVALID, "read KEV catalog: %v", err)
}

// kindName names a JSON kind for messages.
func kindName(k jsontext.Kind) string {
	switch k {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "not a JSON value"
}
