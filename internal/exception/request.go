package exception

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/vex"
)

// Status is the status an exception asks for, in OpenVEX's vocabulary.
type Status string

// The statuses an exception may ask for.
const (
	// AcceptedRisk: the finding is real and stays until it expires; the
	// compensating controls keep the risk acceptable meanwhile.
	AcceptedRisk Status = "accepted_risk"
	// NotAffected: the product is not affected (OpenVEX not_affected), for
	// the reason its justification label gives.
	NotAffected Status = "not_affected"
)

// Request is an exception request as a developer writes it (YAML or JSON;
// docs/exceptions.md). Everything in it is the requester's word: the
// subject is checked against the scans, the free text (reason,
// descriptions, impact statement) is never read by the decision, and the
// facts that decide (priority, score, KEV) come from the scans alone.
type Request struct {
	// ID names the request in outputs; "" gets one derived from the
	// subject (see Key).
	ID string `json:"id,omitempty"`
	// The subject: a finding (its fingerprint, as `sextant triage -o json`
	// shows it), an action (act_…), or a vulnerability in an artifact.
	Finding       string `json:"finding,omitempty"`
	Action        string `json:"action,omitempty"`
	Vulnerability string `json:"vulnerability,omitempty"`
	// Artifact is the image, best by digest
	// ("registry.example.com/shop/web@sha256:…"), or a package URL.
	Artifact string `json:"artifact,omitempty"`
	// Package narrows the subject to one package (its name); PURL names
	// it for the VEX statement's subcomponent.
	Package string `json:"package,omitempty"`
	PURL    string `json:"purl,omitempty"`

	Status Status `json:"status"`
	// Justification is the OpenVEX justification of a not_affected status.
	Justification vex.Justification `json:"justification,omitempty"`
	// ImpactStatement says in words why the product is not affected.
	ImpactStatement string `json:"impact_statement,omitempty"`
	// Reason is why the exception is asked for.
	Reason               string    `json:"reason,omitempty"`
	CompensatingControls []Control `json:"compensating_controls,omitempty"`
	// Expires is the last day the exception holds.
	Expires   Date   `json:"expires"`
	Requester string `json:"requester"`
	// Approval records the person who approved a request that was routed
	// to them. It is as trustworthy as the review of the file it is in.
	Approval *Approval `json:"approval,omitempty"`
}

// Control is one compensating control and the evidence that it is in
// place.
type Control struct {
	Description string `json:"description"`
	// Evidence are links to the proof: a ticket, a WAF rule, a dashboard.
	// One link may be written as a string.
	Evidence Links `json:"evidence,omitempty"`
}

// Approval is a person's approval of a routed request.
type Approval struct {
	By   string `json:"by"`
	At   Date   `json:"at"`
	Note string `json:"note,omitempty"`
}

// Links are URLs, written as a list or as one string.
type Links []string

// UnmarshalJSON accepts a string or a list of strings.
func (l *Links) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = Links{s}
		return nil
	}
	var xs []string
	if err := json.Unmarshal(b, &xs); err != nil {
		return fmt.Errorf("evidence: want a link or a list of links")
	}
	*l = xs
	return nil
}

// Date is a calendar day, written YYYY-MM-DD (an RFC 3339 timestamp is
// read as its UTC day).
type Date struct{ t time.Time }

// NewDate returns the UTC day of t.
func NewDate(t time.Time) Date {
	y, m, d := t.UTC().Date()
	return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// ParseDate reads YYYY-MM-DD or an RFC 3339 timestamp, of a year from
// 2000 to 9999.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	var d Date
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		d = Date{t}
	} else if t, err := time.Parse(time.RFC3339, s); err == nil {
		d = NewDate(t)
	} else {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	if y := d.t.Year(); y < 2000 || y > 9999 {
		return Date{}, fmt.Errorf("date %q: the year must be from 2000 to 9999", s)
	}
	return d, nil
}

// IsZero reports whether no date was given.
func (d Date) IsZero() bool { return d.t.IsZero() }

// Time returns the start of the day, UTC.
func (d Date) Time() time.Time { return d.t }

// String returns YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.t.IsZero() {
		return ""
	}
	return d.t.Format(time.DateOnly)
}

// DaysAfter returns the number of days from o to d.
func (d Date) DaysAfter(o Date) int {
	return int(d.t.Sub(o.t).Round(time.Hour).Hours()) / 24
}

// AddDays returns the day n days after d.
func (d Date) AddDays(n int) Date { return Date{d.t.AddDate(0, 0, n)} }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a date string.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a date, YYYY-MM-DD")
	}
	if s == "" {
		*d = Date{}
		return nil
	}
	x, err := ParseDate(s)
	if err != nil {
		return err
	}
	*d = x
	return nil
}

// maxRequestBytes bounds a request file.
const maxRequestBytes = 1 << 20

// DecodeRequest reads one exception request from YAML or JSON. Unknown
// fields, a status other than accepted_risk or not_affected, a justification
// that is not an OpenVEX label, a date that is not a date, a request
// without a subject (finding, action, or vulnerability with artifact),
// without an expiry date or without a requester are EINVALID, with name
// (the file) in the message. Whether the request is complete enough to be
// approved is for Assess to say.
func DecodeRequest(b []byte, name string) (Request, error) {
	bad := func(format string, a ...any) error {
		return sextant.Errorf(sextant.EINVALID, "exception request %s: "+format, append([]any{name}, a...)...)
	}
	if len(b) > maxRequestBytes {
		return Request{}, bad("larger than %d bytes", maxRequestBytes)
	}
	var r Request
	if err := yaml.UnmarshalStrict(b, &r); err != nil {
		return Request{}, bad("%s", cleanYAMLError(err))
	}
	r.trim()
	switch {
	case r.Status != AcceptedRisk && r.Status != NotAffected:
		return Request{}, bad("status %q: want accepted_risk or not_affected", r.Status)
	case r.Justification != "" && !r.Justification.Valid():
		return Request{}, bad("justification %q is not an OpenVEX justification (want one of %s)", r.Justification, justificationList())
	case r.Justification != "" && r.Status != NotAffected:
		return Request{}, bad("a justification goes with status not_affected only")
	case r.Finding == "" && r.Action == "" && r.Vulnerability == "":
		return Request{}, bad("no subject: give finding, action, or vulnerability with artifact")
	case r.Finding == "" && r.Action == "" && r.Artifact == "":
		return Request{}, bad("vulnerability %s needs the artifact it is in", r.Vulnerability)
	case r.Expires.IsZero():
		return Request{}, bad("no expires date (YYYY-MM-DD)")
	case r.Requester == "":
		return Request{}, bad("no requester")
	case r.Approval != nil && r.Approval.By == "":
		return Request{}, bad("approval without by")
	}
	for i, c := range r.CompensatingControls {
		if c.Description == "" {
			return Request{}, bad("compensating control %d has no description", i+1)
		}
	}
	if r.ID == "" {
		r.ID = r.Key()
	}
	return r, nil
}

func (r *Request) trim() {
	for _, p := range []*string{&r.ID, &r.Finding, &r.Action, &r.Vulnerability, &r.Artifact, &r.Package, &r.PURL, &r.ImpactStatement, &r.Reason, &r.Requester} {
		*p = strings.TrimSpace(*p)
	}
	r.Vulnerability = strings.ToUpper(r.Vulnerability)
	if len(r.CompensatingControls) == 0 {
		r.CompensatingControls = nil
	}
	for i := range r.CompensatingControls {
		c := &r.CompensatingControls[i]
		c.Description = strings.TrimSpace(c.Description)
		var links Links
		for _, l := range c.Evidence {
			if l = strings.TrimSpace(l); l != "" {
				links = append(links, l)
			}
		}
		c.Evidence = links
	}
	if r.Approval != nil {
		r.Approval.By = strings.TrimSpace(r.Approval.By)
	}
}

// Key returns a readable identity of the request's subject:
// "CVE-2023-45853 in registry.example.com/shop/web@sha256:…",
// "finding 534fdb…", "action act_…".
func (r Request) Key() string {
	switch {
	case r.Finding != "":
		return "finding " + r.Finding
	case r.Action != "":
		return "action " + r.Action
	}
	s := r.Vulnerability + " in " + r.Artifact
	if r.Package != "" {
		s += " (" + r.Package + ")"
	}
	return s
}

func justificationList() string {
	var s []string
	for _, j := range vex.Justifications() {
		s = append(s, string(j))
	}
	return strings.Join(s, ", ")
}

// cleanYAMLError drops the decoder's layers of prefixes.
func cleanYAMLError(err error) string {
	s := err.Error()
	for _, p := range []string{"error unmarshaling JSON: ", "while decoding JSON: ", "error converting YAML to JSON: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}
