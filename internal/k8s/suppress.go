package k8s

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// SuppressAnnotationPrefix starts the annotation key that suppresses a check
// on an object: "sextant.dev/ignore.<CHECK-ID>". The value is a list of
// key=value pairs separated by ";":
//
//	sextant.dev/ignore.SX-K8S-001: "reason=needs raw sockets for ping; expires=2027-03-31"
//
// reason is required; expires (YYYY-MM-DD, UTC) is optional and the
// suppression stops at the end of that day. On workloads the annotation may
// sit on the object or on its pod template; the object's wins.
const SuppressAnnotationPrefix = "sextant.dev/ignore."

// Suppressed returns the suppression of checkID on the object that is in
// force at now, or nil, and warnings about suppressions that are malformed
// (no reason, a bad date, an unknown key) or expired. A suppression that
// draws a warning other than for an unknown key does not suppress.
func Suppressed(o *Object, checkID string, now time.Time) (*Suppression, []string) {
	if o == nil || checkID == "" {
		return nil, nil
	}
	return suppressedIn(o, suppressSources(o), checkID, now)
}

// suppressedIn is Suppressed with the object's annotation sets already
// read, so that Run decodes each object once, not once per check.
func suppressedIn(o *Object, srcs []suppressSource, checkID string, now time.Time) (*Suppression, []string) {
	key := SuppressAnnotationPrefix + checkID
	var warnings []string
	for _, src := range srcs {
		value, ok := src.annotations[key]
		if !ok {
			continue
		}
		s, ws := ParseSuppression(checkID, value)
		for _, w := range ws {
			warnings = append(warnings, fmt.Sprintf("%s %s annotation %s: %s", o.Ref(), src.where, key, w))
		}
		if s == nil {
			continue
		}
		if !s.Expires.IsZero() && !now.Before(s.Expires.AddDate(0, 0, 1)) {
			warnings = append(warnings, fmt.Sprintf("%s %s annotation %s: expired on %s; the check applies again",
				o.Ref(), src.where, key, s.Expires.Format(time.DateOnly)))
			continue
		}
		return s, warnings
	}
	return nil, warnings
}

type suppressSource struct {
	where       string
	annotations map[string]string
}

// suppressSources returns the annotation sets a suppression may sit in: the
// object's, then its pod template's.
func suppressSources(o *Object) []suppressSource {
	srcs := []suppressSource{{"metadata", o.Annotations}}
	if len(o.Annotations) == 0 && len(o.Raw) > 0 {
		// Objects built without the loader may carry their metadata only
		// in Raw.
		var m struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		if json.Unmarshal(o.Raw, &m) == nil {
			srcs[0].annotations = m.Metadata.Annotations
		}
	}
	if len(o.Raw) == 0 {
		return srcs
	}
	var t struct {
		Spec struct {
			Template struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			} `json:"template"`
			JobTemplate struct {
				Spec struct {
					Template struct {
						Metadata struct {
							Annotations map[string]string `json:"annotations"`
						} `json:"metadata"`
					} `json:"template"`
				} `json:"spec"`
			} `json:"jobTemplate"`
		} `json:"spec"`
	}
	if json.Unmarshal(o.Raw, &t) != nil {
		return srcs
	}
	if a := t.Spec.Template.Metadata.Annotations; len(a) > 0 {
		srcs = append(srcs, suppressSource{"pod template", a})
	}
	if a := t.Spec.JobTemplate.Spec.Template.Metadata.Annotations; len(a) > 0 {
		srcs = append(srcs, suppressSource{"pod template", a})
	}
	return srcs
}

// ParseSuppression parses the value of a suppression annotation (see
// SuppressAnnotationPrefix). It returns nil when the value does not make a
// valid suppression, and warnings saying what is wrong. Expires is the last
// day (midnight UTC at its start) on which the suppression holds.
func ParseSuppression(checkID, value string) (*Suppression, []string) {
	s := &Suppression{CheckID: checkID}
	var warnings []string
	bad := false
	for _, part := range strings.Split(value, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			warnings = append(warnings, fmt.Sprintf("%q is not key=value", part))
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		switch k {
		case "reason":
			s.Reason = v
		case "expires":
			d, err := time.Parse(time.DateOnly, v)
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("expires %q is not a date (YYYY-MM-DD)", v))
				bad = true
				continue
			}
			s.Expires = d
		default:
			warnings = append(warnings, fmt.Sprintf("unknown key %q", k))
		}
	}
	if s.Reason == "" {
		warnings = append(warnings, "no reason given (reason=…); the suppression is ignored")
		bad = true
	}
	if bad {
		return nil, warnings
	}
	return s, warnings
}
