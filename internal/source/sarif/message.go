package sarif

import "strings"

// fields holds the "Key: value" lines that Trivy writes into result
// messages and rule help, that Docker Scout writes into result messages
// ("Package   :pkg:npm/x@1.0"), and that Grype writes into rule help. Lines
// are matched by key in any order; a line seen is recorded in seen so that a
// present-but-empty value ("Fixed Version: ") differs from a missing one.
type fields struct {
	Vulnerability    string
	Severity         string
	Package          string
	InstalledVersion string
	Version          string
	FixedVersion     string
	Link             string
	Artifact         string
	Type             string
	Message          string
	Match            string
	Location         string
	DataNamespace    string
	CVSSScore        string
	CVSSVector       string
	EPSSScore        string
	EPSSPercentile   string

	seen uint32
}

// Bits of fields.seen.
const (
	seenVulnerability uint32 = 1 << iota
	seenSeverity
	seenPackage
	seenInstalledVersion
	seenVersion
	seenFixedVersion
)

// parseFields reads the key-value lines of text. Lines it does not
// recognise are ignored, except that they continue a multi-line Message or
// Match value.
func parseFields(text string) fields {
	var f fields
	var last *string
	for text != "" {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		l := strings.TrimSpace(line)
		if l == "" {
			continue
		}
		if i := strings.IndexByte(l, ':'); i > 0 {
			if p := f.slot(strings.TrimSpace(l[:i])); p != nil {
				*p = strings.TrimSpace(l[i+1:])
				last = p
				continue
			}
		}
		// Trivy writes the identifier line without a colon:
		// "Vulnerability CVE-2023-0286", "Misconfiguration AWS-0086".
		if k, v, ok := strings.Cut(l, " "); ok {
			switch k {
			case "Vulnerability", "Misconfiguration":
				f.Vulnerability = strings.TrimSpace(v)
				f.seen |= seenVulnerability
				last = nil
				continue
			case "Secret", "License":
				if f.Vulnerability == "" {
					f.Vulnerability = strings.TrimSpace(v)
				}
				last = nil
				continue
			}
		}
		if last == &f.Message || last == &f.Match {
			*last += "\n" + l
		}
	}
	return f
}

// slot returns where the value of key goes, or nil for an unknown key.
func (f *fields) slot(key string) *string {
	switch strings.ToLower(key) {
	case "vulnerability":
		f.seen |= seenVulnerability
		return &f.Vulnerability
	case "severity":
		f.seen |= seenSeverity
		return &f.Severity
	case "package", "pkgname":
		f.seen |= seenPackage
		return &f.Package
	case "installed version":
		f.seen |= seenInstalledVersion
		return &f.InstalledVersion
	case "version":
		f.seen |= seenVersion
		return &f.Version
	case "fixed version", "fix version":
		f.seen |= seenFixedVersion
		return &f.FixedVersion
	case "link":
		return &f.Link
	case "artifact":
		return &f.Artifact
	case "type":
		return &f.Type
	case "message":
		return &f.Message
	case "match":
		return &f.Match
	case "location":
		return &f.Location
	case "data namespace":
		return &f.DataNamespace
	case "cvss score":
		return &f.CVSSScore
	case "cvss vector":
		return &f.CVSSVector
	case "epss score":
		return &f.EPSSScore
	case "epss percentile":
		return &f.EPSSPercentile
	}
	return nil
}

// linkURL returns the URL of a "[text](url)" Markdown link, or s itself when
// it is a bare URL.
func linkURL(s string) string {
	if i := strings.Index(s, "]("); i >= 0 && strings.HasSuffix(s, ")") {
		return s[i+2 : len(s)-1]
	}
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
		return s
	}
	return ""
}

// grypeMessage is what Grype says in a result message.
type grypeMessage struct {
	Severity string
	Type     string
	Name     string
	Version  string
	// Image is the user input naming the scanned image, when it was one.
	Image string
	Path  string
	ok    bool
}

// parseGrypeMessage reads the sentence Grype writes as a result message:
//
//	A high vulnerability in deb package: openssl, version 3.0.11-1~deb12u2 was found in image debian:12 at: /var/lib/dpkg/status
//
// or, before Grype 0.60,
//
//	The path /lib/apk/db/installed reports zlib at version 1.2.11-r1  which is a vulnerable (apk) package installed in the container
func parseGrypeMessage(s string) grypeMessage {
	var m grypeMessage
	if rest, ok := strings.CutPrefix(s, "A "); ok {
		sev, rest, ok1 := strings.Cut(rest, " vulnerability in ")
		typ, rest, ok2 := strings.Cut(rest, " package: ")
		i := strings.Index(rest, " was found ")
		if !ok1 || !ok2 || i < 0 {
			return m
		}
		nv, tail := rest[:i], rest[i+len(" was found "):]
		j := strings.LastIndex(nv, ", version ")
		if j < 0 {
			return m
		}
		m.Severity, m.Type = sev, typ
		m.Name, m.Version = nv[:j], strings.TrimSpace(nv[j+len(", version "):])
		if img, ok := strings.CutPrefix(tail, "in image "); ok {
			if k := strings.LastIndex(img, " at: "); k >= 0 {
				m.Image, m.Path = img[:k], img[k+len(" at: "):]
			} else {
				m.Image = img
			}
		} else if p, ok := strings.CutPrefix(tail, "at: "); ok {
			m.Path = p
		}
		m.ok = true
		return m
	}
	if rest, ok := strings.CutPrefix(s, "The path "); ok {
		path, rest, ok1 := strings.Cut(rest, " reports ")
		name, rest, ok2 := strings.Cut(rest, " at version ")
		if !ok1 || !ok2 {
			return m
		}
		version, rest, _ := strings.Cut(strings.TrimSpace(rest), " ")
		m.Path, m.Name, m.Version = path, name, version
		if _, t, ok := strings.Cut(rest, "vulnerable ("); ok {
			m.Type, _, _ = strings.Cut(t, ")")
		}
		m.ok = true
	}
	return m
}

// splitList splits a comma-separated list of versions, trimming blanks and
// dropping empty entries.
func splitList(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	var out []string
	for s != "" {
		var v string
		v, s, _ = strings.Cut(s, ",")
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
