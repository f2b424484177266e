package risk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant"
)

// Weights holds every weight and threshold of the model. It is the `risk:`
// section of sextant.yaml; the YAML/JSON key of each field is given in its
// tag, and docs/scoring.md explains how each one enters the formula.
// Omitted keys keep their DefaultWeights value.
type Weights struct {
	// ImpactPoints is how many points the impact term I (0..1) is worth:
	// the score a finding gets for what it could do if exploited, with no
	// threat evidence at all.
	ImpactPoints float64 `json:"impact_points" yaml:"impact_points"`
	// ThreatPoints is how many points the threat term T (0..1) is worth at
	// full impact.
	ThreatPoints float64 `json:"threat_points" yaml:"threat_points"`
	// ThreatImpactScaling (s, 0..1) scales threat points by impact:
	// threat points = ThreatPoints × T × (1 − s + s × I). 0 makes threat
	// independent of impact; 1 makes it proportional.
	ThreatImpactScaling float64 `json:"threat_impact_scaling" yaml:"threat_impact_scaling"`
	// SeverityImpact is the impact I used when no usable CVSS rating exists.
	SeverityImpact SeverityImpact `json:"severity_impact" yaml:"severity_impact"`

	// KEV is the threat level (0..1) of a CISA KEV listing.
	KEV float64 `json:"kev" yaml:"kev"`
	// KEVRansomware is the threat level (0..1) of a KEV listing with known
	// ransomware campaign use; it is combined after KEV.
	KEVRansomware float64 `json:"kev_ransomware" yaml:"kev_ransomware"`
	// EPSSFloor is the EPSS probability at or below which EPSS adds no
	// threat; from there to 1 the threat rises with log10 of the
	// probability (see docs/scoring.md).
	EPSSFloor float64 `json:"epss_floor" yaml:"epss_floor"`
	// EPSSUnknown is the EPSS probability assumed when none is known.
	EPSSUnknown float64 `json:"epss_unknown" yaml:"epss_unknown"`
	// ExploitMaturity is the threat level of each exploit-maturity claim.
	ExploitMaturity MaturityThreat `json:"exploit_maturity" yaml:"exploit_maturity"`

	// Misconfiguration is the threat level (0..1) of a misconfiguration
	// finding, which has no EPSS or KEV.
	Misconfiguration float64 `json:"misconfiguration" yaml:"misconfiguration"`
	// Secret is the threat level of an exposed secret of an ordinary kind.
	Secret float64 `json:"secret" yaml:"secret"`
	// SecretCredential is the threat level of an exposed private key or
	// cloud, source-control or registry credential (see CredentialRules).
	SecretCredential float64 `json:"secret_credential" yaml:"secret_credential"`
	// CredentialRules are case-insensitive substrings of a secret's rule ID
	// that mark it as a credential (SecretCredential) rather than an
	// ordinary secret.
	CredentialRules []string `json:"credential_rules" yaml:"credential_rules"`
	// Runtime is the threat level of a runtime event (an alert).
	Runtime float64 `json:"runtime" yaml:"runtime"`

	// NoFix multiplies the score of a vulnerability with no fix available
	// (0 < NoFix ≤ 1): the action is less urgent when there is nothing to
	// upgrade to. A KEV listing still sets the floor.
	NoFix float64 `json:"no_fix" yaml:"no_fix"`
	// Exposed multiplies the score when the artifact is reachable from the
	// internet (≥ 1).
	Exposed float64 `json:"exposed" yaml:"exposed"`
	// Privileged multiplies the score when the artifact runs privileged
	// (≥ 1).
	Privileged float64 `json:"privileged" yaml:"privileged"`
	// Loaded multiplies the score when the package is seen loaded by a
	// running process (≥ 1).
	Loaded float64 `json:"loaded" yaml:"loaded"`
	// NotLoaded multiplies the score when runtime data exists for the
	// artifact and the package is not among the loaded ones (0 < x ≤ 1).
	NotLoaded float64 `json:"not_loaded" yaml:"not_loaded"`
	// Production multiplies the score in a production environment (≥ 1).
	Production float64 `json:"production" yaml:"production"`
	// NonProduction multiplies the score in a development or test
	// environment (0 < x ≤ 1).
	NonProduction float64 `json:"non_production" yaml:"non_production"`
	// BlastRadiusMax is the multiplier reached at BlastRadiusSaturation
	// pods (≥ 1); one pod is neutral.
	BlastRadiusMax float64 `json:"blast_radius_max" yaml:"blast_radius_max"`
	// BlastRadiusSaturation is the pod count (replicas, else workloads) at
	// which the blast-radius multiplier stops growing (≥ 2).
	BlastRadiusSaturation int `json:"blast_radius_saturation" yaml:"blast_radius_saturation"`

	// KEVFloor is the lowest score a KEV-listed finding can get. It must be
	// at least Thresholds.P1, so that KEV-listed findings are P0 or P1.
	KEVFloor float64 `json:"kev_floor" yaml:"kev_floor"`
	// KEVRansomwareFloor is the lowest score of a KEV-listed finding with
	// known ransomware use (≥ KEVFloor).
	KEVRansomwareFloor float64 `json:"kev_ransomware_floor" yaml:"kev_ransomware_floor"`

	// Thresholds map a score onto a priority.
	Thresholds Thresholds `json:"thresholds" yaml:"thresholds"`
}

// SeverityImpact is the impact (0..1) given to each normalised severity
// when a finding has no usable CVSS rating. Values must not decrease from
// Negligible to Critical.
type SeverityImpact struct {
	Critical   float64 `json:"critical" yaml:"critical"`
	High       float64 `json:"high" yaml:"high"`
	Medium     float64 `json:"medium" yaml:"medium"`
	Low        float64 `json:"low" yaml:"low"`
	Negligible float64 `json:"negligible" yaml:"negligible"`
	// Unknown is used when the severity is unknown.
	Unknown float64 `json:"unknown" yaml:"unknown"`
}

// MaturityThreat is the threat level (0..1) of each exploit-maturity
// claim, as CVSS v3 E: (P, F, H) and v4 E: (P, A) express them. Values
// must not decrease from PoC to High.
type MaturityThreat struct {
	PoC        float64 `json:"poc" yaml:"poc"`
	Functional float64 `json:"functional" yaml:"functional"`
	High       float64 `json:"high" yaml:"high"`
}

// Thresholds are the lowest scores of P0, P1 and P2; anything lower is P3.
// They must satisfy 0 < P2 < P1 < P0 ≤ 100 and have at most one decimal,
// like scores.
type Thresholds struct {
	P0 float64 `json:"p0" yaml:"p0"`
	P1 float64 `json:"p1" yaml:"p1"`
	P2 float64 `json:"p2" yaml:"p2"`
}

// DefaultWeights returns the weights sextant ships with. They were set so
// that, on typical container-image reports, P0+P1 stay a small share of the
// findings (a HIGH with EPSS below 1% and no context lands in P2 or P3) while
// KEV-listed and likely-exploited findings rise to the top; docs/scoring.md
// lists them with their rationale.
func DefaultWeights() Weights {
	return Weights{
		ImpactPoints:        30,
		ThreatPoints:        60,
		ThreatImpactScaling: 0.5,
		SeverityImpact: SeverityImpact{
			Critical:   0.95,
			High:       0.8,
			Medium:     0.55,
			Low:        0.3,
			Negligible: 0.1,
			Unknown:    0.5,
		},
		KEV:           0.85,
		KEVRansomware: 1,
		EPSSFloor:     0.001,
		EPSSUnknown:   0.005,
		ExploitMaturity: MaturityThreat{
			PoC:        0.25,
			Functional: 0.5,
			High:       0.75,
		},
		Misconfiguration: 0.4,
		Secret:           0.6,
		SecretCredential: 0.95,
		CredentialRules: []string{
			"private-key", "private_key", "privatekey", "ssh-key",
			"aws-access-key", "aws-secret", "gcp", "google", "azure",
			"alibaba", "digitalocean", "github", "gitlab", "dockerconfig",
			"kubeconfig",
		},
		Runtime:               0.7,
		NoFix:                 0.9,
		Exposed:               1.25,
		Privileged:            1.15,
		Loaded:                1.25,
		NotLoaded:             0.8,
		Production:            1.1,
		NonProduction:         0.9,
		BlastRadiusMax:        1.2,
		BlastRadiusSaturation: 50,
		KEVFloor:              50,
		KEVRansomwareFloor:    70,
		Thresholds:            Thresholds{P0: 70, P1: 50, P2: 25},
	}
}

// Validate reports every out-of-range weight in one *sextant.Error with
// code EINVALID, naming each field by its key in the `risk:` section.
func (w Weights) Validate() error {
	var bad []string
	check := func(ok bool, key, format string, args ...any) {
		if !ok {
			bad = append(bad, "risk."+key+": "+fmt.Sprintf(format, args...))
		}
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	unit := func(key string, v float64) {
		check(finite(v) && v >= 0 && v <= 1, key, "must be between 0 and 1, got %v", v)
	}
	boost := func(key string, v float64) {
		check(finite(v) && v >= 1 && v <= 10, key, "must be a multiplier between 1 and 10, got %v", v)
	}
	damp := func(key string, v float64) {
		check(finite(v) && v > 0 && v <= 1, key, "must be a multiplier above 0 and at most 1, got %v", v)
	}
	points := func(key string, v float64) {
		check(finite(v) && v >= 0 && v <= 100, key, "must be between 0 and 100 points, got %v", v)
	}
	oneDecimal := func(key string, v float64) {
		check(math.Abs(v*10-math.Round(v*10)) < 1e-9, key, "must have at most one decimal, like scores, got %v", v)
	}

	points("impact_points", w.ImpactPoints)
	points("threat_points", w.ThreatPoints)
	check(w.ImpactPoints+w.ThreatPoints > 0, "threat_points", "impact_points and threat_points must not both be 0")
	unit("threat_impact_scaling", w.ThreatImpactScaling)

	si := w.SeverityImpact
	for _, f := range []struct {
		key string
		v   float64
	}{
		{"critical", si.Critical}, {"high", si.High}, {"medium", si.Medium},
		{"low", si.Low}, {"negligible", si.Negligible}, {"unknown", si.Unknown},
	} {
		unit("severity_impact."+f.key, f.v)
	}
	check(si.Negligible <= si.Low && si.Low <= si.Medium && si.Medium <= si.High && si.High <= si.Critical,
		"severity_impact", "must not decrease from negligible to critical, got %v", si)

	unit("kev", w.KEV)
	unit("kev_ransomware", w.KEVRansomware)
	check(finite(w.EPSSFloor) && w.EPSSFloor > 0 && w.EPSSFloor < 1, "epss_floor", "must be a probability above 0 and below 1, got %v", w.EPSSFloor)
	unit("epss_unknown", w.EPSSUnknown)
	m := w.ExploitMaturity
	unit("exploit_maturity.poc", m.PoC)
	unit("exploit_maturity.functional", m.Functional)
	unit("exploit_maturity.high", m.High)
	check(m.PoC <= m.Functional && m.Functional <= m.High, "exploit_maturity", "must not decrease from poc to high, got %v", m)

	unit("misconfiguration", w.Misconfiguration)
	unit("secret", w.Secret)
	unit("secret_credential", w.SecretCredential)
	for i, r := range w.CredentialRules {
		check(strings.TrimSpace(r) != "", fmt.Sprintf("credential_rules[%d]", i), "must not be empty")
	}
	unit("runtime", w.Runtime)

	damp("no_fix", w.NoFix)
	boost("exposed", w.Exposed)
	boost("privileged", w.Privileged)
	boost("loaded", w.Loaded)
	damp("not_loaded", w.NotLoaded)
	boost("production", w.Production)
	damp("non_production", w.NonProduction)
	boost("blast_radius_max", w.BlastRadiusMax)
	check(w.BlastRadiusSaturation >= 2, "blast_radius_saturation", "must be at least 2 pods, got %d", w.BlastRadiusSaturation)

	t := w.Thresholds
	points("thresholds.p0", t.P0)
	points("thresholds.p1", t.P1)
	points("thresholds.p2", t.P2)
	oneDecimal("thresholds.p0", t.P0)
	oneDecimal("thresholds.p1", t.P1)
	oneDecimal("thresholds.p2", t.P2)
	check(t.P2 > 0 && t.P2 < t.P1 && t.P1 < t.P0, "thresholds", "must satisfy 0 < p2 < p1 < p0, got p0=%v p1=%v p2=%v", t.P0, t.P1, t.P2)

	points("kev_floor", w.KEVFloor)
	points("kev_ransomware_floor", w.KEVRansomwareFloor)
	oneDecimal("kev_floor", w.KEVFloor)
	oneDecimal("kev_ransomware_floor", w.KEVRansomwareFloor)
	check(w.KEVFloor >= t.P1, "kev_floor", "must be at least thresholds.p1 (%v) so that KEV-listed findings are P0 or P1, got %v", t.P1, w.KEVFloor)
	check(w.KEVRansomwareFloor >= w.KEVFloor, "kev_ransomware_floor", "must be at least kev_floor (%v), got %v", w.KEVFloor, w.KEVRansomwareFloor)

	if len(bad) > 0 {
		return sextant.Errorf(sextant.EINVALID, "invalid risk weights: %s", strings.Join(bad, "; "))
	}
	return nil
}

// LoadWeights reads the `risk:` section of a sextant configuration file
// (YAML or JSON). Other top-level sections are left to their owners. A file
// without a `risk:` section yields DefaultWeights; keys the section omits
// keep their default. Unknown keys inside the section, wrong types and
// out-of-range values are *sextant.Error EINVALID naming the key; a missing
// file is ENOTFOUND.
func LoadWeights(path string) (Weights, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Weights{}, sextant.Errorf(sextant.ENOTFOUND, "load risk weights: config file %s not found", path)
		}
		return Weights{}, sextant.Errorf(sextant.EINVALID, "load risk weights: %v", err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return Weights{}, sextant.Errorf(sextant.EINVALID, "load risk weights from %s: %v", path, err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(js, &doc); err != nil {
		return Weights{}, sextant.Errorf(sextant.EINVALID, "load risk weights from %s: the file must be a mapping of sections: %v", path, err)
	}
	section, ok := doc["risk"]
	if !ok {
		return DefaultWeights(), nil
	}
	w, err := ParseWeights(section)
	if err != nil {
		return Weights{}, sextant.Errorf(sextant.EINVALID, "%s: %s", path, sextant.ErrorMessage(err))
	}
	return w, nil
}

// ParseWeights decodes the contents of a `risk:` section (YAML or JSON)
// over DefaultWeights and validates the result. A caller that decodes the
// whole configuration itself can keep the section as raw bytes and pass it
// here. Errors are *sextant.Error EINVALID naming the key.
func ParseWeights(data []byte) (Weights, error) {
	w := DefaultWeights()
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return Weights{}, sextant.Errorf(sextant.EINVALID, "parse risk weights: %v", err)
	}
	js = bytes.TrimSpace(js)
	if len(js) == 0 || string(js) == "null" {
		return w, nil
	}
	var generic any
	if err := json.Unmarshal(js, &generic); err != nil {
		return Weights{}, sextant.Errorf(sextant.EINVALID, "parse risk weights: %v", err)
	}
	if _, ok := generic.(map[string]any); !ok {
		return Weights{}, sextant.Errorf(sextant.EINVALID, "parse risk weights: risk: must be a mapping of keys to values")
	}
	if unknown := unknownKeys(generic, reflect.TypeFor[Weights](), "risk"); len(unknown) > 0 {
		return Weights{}, sextant.Errorf(sextant.EINVALID, "parse risk weights: unknown key(s) %s", strings.Join(unknown, ", "))
	}
	if err := json.Unmarshal(js, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Weights{}, sextant.Errorf(sextant.EINVALID, "parse risk weights: risk.%s: want %v, got %s", te.Field, te.Type, te.Value)
		}
		return Weights{}, sextant.Errorf(sextant.EINVALID, "parse risk weights: %v", err)
	}
	if err := w.Validate(); err != nil {
		return Weights{}, err
	}
	return w, nil
}

// unknownKeys returns the dotted paths of the keys in v that have no field
// in t, sorted. It descends into nested structs only.
func unknownKeys(v any, t reflect.Type, path string) []string {
	m, ok := v.(map[string]any)
	if !ok || t.Kind() != reflect.Struct {
		return nil
	}
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		fields[name] = f.Type
	}
	var out []string
	for k, sub := range m {
		ft, ok := fields[k]
		if !ok {
			out = append(out, path+"."+k)
			continue
		}
		out = append(out, unknownKeys(sub, ft, path+"."+k)...)
	}
	sort.Strings(out)
	return out
}
