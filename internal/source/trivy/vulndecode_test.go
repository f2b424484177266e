package trivy

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/source/jsonsrc"
	"github.com/sextant-dev/sextant/internal/source/sourcetest"
	"github.com/sextant-dev/sextant/internal/triage/gen/report"
)

// decodeVulnerabilityReflect is the reflection decoder that
// decodeVulnerability replaces, kept as the reference it must agree with.
func decodeVulnerabilityReflect(dec *jsontext.Decoder, v *vulnerability) error {
	return json.UnmarshalDecode(dec, v, decodeOpts)
}

// decoded is what one decoder made of a vulnerability object.
type decoded struct {
	Vuln    *vulnerability
	Finding *sextant.Finding
	Err     string // the error as Parse would report it
	Offset  int64  // where the decoder stopped
}

// decodeWith decodes b, a vulnerability object, with decode, and builds
// its finding as Parse would in an image report.
func decodeWith(b []byte, decode func(*jsontext.Decoder, *vulnerability) error) decoded {
	dec := jsontext.NewDecoder(bytes.NewReader(b), jsonsrc.Lenient)
	v := new(vulnerability)
	err := decode(dec, v)
	d := decoded{Vuln: v, Offset: dec.InputOffset()}
	if err != nil {
		d.Err = jsonsrc.Error(errPrefix, err, jsonsrc.Pos{Dec: dec}).Error()
		return d
	}
	p := &parser{
		src: sextant.Source{Scanner: scanner, Format: Format, File: "vuln.json"},
		top: &topInfo{artifactName: "repo/app:1", artifactType: "container_image", ready: true},
	}
	d.Finding = &sextant.Finding{Source: p.src}
	p.vulnerabilityFinding(d.Finding, v, &result{Target: "t", Class: "lang-pkgs"})
	d.Finding.ID = sextant.Fingerprint(d.Finding)
	return d
}

var decodedOpts = cmp.AllowUnexported(vendorSeverity{}, cvss{})

// checkSame fails t when the two decoders disagree about b.
func checkSame(t *testing.T, name string, b []byte) {
	t.Helper()
	want := decodeWith(b, decodeVulnerabilityReflect)
	got := decodeWith(b, func(dec *jsontext.Decoder, v *vulnerability) error {
		return (&vulnDecoder{dec: dec}).decodeVulnerability(v)
	})
	if want.Err != "" || got.Err != "" {
		// After an error the half-decoded value is not used.
		if got.Err != want.Err {
			t.Errorf("%s: decodeVulnerability(%q) error = %q, want %q", name, b, got.Err, want.Err)
		}
		return
	}
	if diff := cmp.Diff(want, got, decodedOpts); diff != "" {
		t.Errorf("%s: decodeVulnerability(%q) differs from the reflection decoder (-want +got):\n%s", name, b, diff)
	}
}

// vulnerabilityObjects returns every element of every array named
// Vulnerabilities (in any case, as Parse matches it) in a JSON document,
// at any depth.
func vulnerabilityObjects(t *testing.T, doc []byte) []jsontext.Value {
	t.Helper()
	var out []jsontext.Value
	var walk func(dec *jsontext.Decoder) error
	walk = func(dec *jsontext.Decoder) error {
		switch dec.PeekKind() {
		case '{':
			if _, err := dec.ReadToken(); err != nil {
				return err
			}
			for dec.PeekKind() != '}' {
				name, err := dec.ReadToken()
				if err != nil {
					return err
				}
				if strings.EqualFold(name.String(), arrVulnerabilities) && dec.PeekKind() == '[' {
					if _, err := dec.ReadToken(); err != nil {
						return err
					}
					for dec.PeekKind() != ']' {
						v, err := dec.ReadValue()
						if err != nil {
							return err
						}
						v = v.Clone()
						out = append(out, v)
						// The k8s summary shape nests results in here.
						if err := walk(jsontext.NewDecoder(bytes.NewReader(v), jsonsrc.Lenient)); err != nil {
							return err
						}
					}
					if _, err := dec.ReadToken(); err != nil {
						return err
					}
				} else if err := walk(dec); err != nil {
					return err
				}
			}
			_, err := dec.ReadToken()
			return err
		case '[':
			if _, err := dec.ReadToken(); err != nil {
				return err
			}
			for dec.PeekKind() != ']' {
				if err := walk(dec); err != nil {
					return err
				}
			}
			_, err := dec.ReadToken()
			return err
		}
		return dec.SkipValue()
	}
	if err := walk(jsontext.NewDecoder(bytes.NewReader(doc), jsonsrc.Lenient)); err != nil {
		t.Fatalf("walk: %v", err)
	}
	return out
}

// TestVulnerabilityDecoders decodes every vulnerability object of every
// Trivy fixture with both decoders.
func TestVulnerabilityDecoders(t *testing.T) {
	dir := fixtures.Dir(t, "trivy")
	total, files := 0, 0
	for _, path := range fixtures.Files(t, "trivy") {
		if !strings.HasSuffix(path, ".json") && !strings.HasSuffix(path, ".json.gz") {
			continue
		}
		b := sourcetest.Read(t, path)
		if !jsontext.Value(b).IsValid(jsonsrc.Lenient) {
			continue
		}
		files++
		name := strings.TrimPrefix(path, dir+"/")
		for _, v := range vulnerabilityObjects(t, b) {
			checkSame(t, name, v)
			total++
		}
	}
	if total == 0 {
		t.Fatal("no vulnerability objects found in the fixtures")
	}
	t.Logf("%d vulnerability objects in %d files decoded alike", total, files)
}

// vulnerabilityCases are shapes the fixtures do not have: wrong types,
// nulls, repeated and case-changed names, escapes, syntax errors.
var vulnerabilityCases = []string{
	`{}`,
	`null`,
	`"x"`,
	`[]`,
	``,
	`{"VulnerabilityID":"CVE-1","PkgName":"a","InstalledVersion":"1","FixedVersion":"2, 3","Status":"fixed","Severity":"HIGH"}`,
	`{"VulnerabilityID":5}`,
	`{"Severity":true}`,
	`{"Title":{"a":1}}`,
	`{"Description":["x"]}`,
	`{"VendorIDs":"CVE-1"}`,
	`{"VendorIDs":["CVE-1",null,7]}`,
	`{"VendorIDs":[{}]}`,
	`{"VendorIDs":[]}`,
	`{"VendorIDs":null,"References":[]}`,
	`{"References":["a","b"],"References":["c"]}`,
	`{"PkgName":"a","PkgName":null}`,
	`{"vulnerabilityid":"CVE-1","PKGNAME":"a","Severity":"LOW"}`,
	`{"Vulnerability\u0049D":"CVE-\u00e9","Pkg\u004eame":"a\"b"}`,
	`{"PkgIdentifier":{"PURL":"pkg:maven/g/a@1"},"PkgIdentifier":{"UID":"x"}}`,
	`{"PkgIdentifier":{"PURL":"pkg:npm/a@1"},"PkgIdentifier":null}`,
	`{"PkgIdentifier":"pkg:npm/a@1"}`,
	`{"PkgIdentifier":{"PURL":1}}`,
	`{"PkgIdentifier":{"purl":"x"}}`,
	`{"Layer":{"Digest":"sha256:a","DiffID":"sha256:b"},"Layer":{"DiffID":"sha256:c"}}`,
	`{"Layer":[]}`,
	`{"Layer":{"DiffID":false}}`,
	`{"Layer":null}`,
	`{"VendorSeverity":{"nvd":3,"ghsa":9},"VendorSeverity":{"redhat":1}}`,
	`{"VendorSeverity":{"nvd":"x"}}`,
	`{"VendorSeverity":[]}`,
	`{"VendorSeverity":null}`,
	`{"CVSS":{"nvd":{"V3Score":"high"}}}`,
	`{"CVSS":{"nvd":{"V2Vector":"AV:N","V2Score":5,"V3Vector":null,"V40Score":1e999}}}`,
	`{"CVSS":{"nvd":{"V3Vector":"CVSS:3.0/AV:N","V3Score":7.5}},"CVSS":{"redhat":{"v3score":1}}}`,
	`{"CVSS":"x"}`,
	`{"DataSource":{"ID":"debian","Name":"x"},"CweIDs":["CWE-1"],"PublishedDate":"2024-01-01T00:00:00Z","Unknown":{"a":[1,{"b":null}]}}`,
	`{"Severity":"HIGH"`,
	`{"Severity":"HIGH",}`,
	`{"Severity" "HIGH"}`,
	`{"Severity":"HIGH"}}`,
	`{"Severity":"HIGH"} trailing`,
	`{"References":["a",]}`,
	`{"References":["a"`,
	`{5:1}`,
	"{\"Title\":\"caf\xe9\",\"Pkg\xffName\":\"x\"}",
	`{"Title":"\ud800"}`,
	`{"VulnerabilityID":"CVE-1", "Severity": 5, "Title": }`,
}

func TestVulnerabilityDecoderCases(t *testing.T) {
	for _, c := range vulnerabilityCases {
		checkSame(t, "case", []byte(c))
	}
}

// FuzzVulnerabilityDecoders feeds the same bytes to both decoders: they
// must agree on the result, on the error message and on where they stop.
func FuzzVulnerabilityDecoders(f *testing.F) {
	for _, c := range vulnerabilityCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSame(t, "fuzz", b)
	})
}

// BenchmarkParseGenerated measures Parse on the generator's `trivy k8s`
// report of 100,000 findings (about 100 MB), the input BENCHMARKS.md
// measures end to end.
func BenchmarkParseGenerated(b *testing.B) {
	const n = 100000
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := report.Write(w, n, 500, 1); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	doc := buf.Bytes()
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		info, err := Parse(bytes.NewReader(doc), "bench", func(*sextant.Finding) error { return nil })
		if err != nil || info.Findings != n {
			b.Fatalf("Parse = %d findings, %v", info.Findings, err)
		}
	}
}
