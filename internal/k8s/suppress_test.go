package k8s

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSuppressed(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	tests := []struct {
		name     string
		yaml     string
		now      string
		want     *Suppression
		warnings int
	}{
		{"reason and expiry", `
apiVersion: v1
kind: Service
metadata:
  name: s
  annotations: {sextant.dev/ignore.SX-K8S-201: "reason=legacy; expires=2026-03-31"}`, "2026-03-31",
			&Suppression{CheckID: "SX-K8S-201", Reason: "legacy", Expires: day("2026-03-31")}, 0},
		{"expired the day after", `
apiVersion: v1
kind: Service
metadata:
  name: s
  annotations: {sextant.dev/ignore.SX-K8S-201: "reason=legacy; expires=2026-03-31"}`, "2026-04-01", nil, 1},
		{"no expiry", `
apiVersion: v1
kind: Service
metadata:
  name: s
  annotations: {sextant.dev/ignore.SX-K8S-201: " Reason = needs it "}`, "2030-01-01",
			&Suppression{CheckID: "SX-K8S-201", Reason: "needs it"}, 0},
		{"no reason", `
apiVersion: v1
kind: Service
metadata:
  name: s
  annotations: {sextant.dev/ignore.SX-K8S-201: "expires=2027-01-01"}`, "2026-01-01", nil, 1},
		{"bad date", `
apiVersion: v1
kind: Service
metadata:
  name: s
  annotations: {sextant.dev/ignore.SX-K8S-201: "reason=x; expires=31/03/2027"}`, "2026-01-01", nil, 1},
		{"unknown key still suppresses", `
apiVersion: v1
kind: Service
metadata:
  name: s
  annotations: {sextant.dev/ignore.SX-K8S-201: "reason=x; owner=me"}`, "2026-01-01",
			&Suppression{CheckID: "SX-K8S-201", Reason: "x"}, 1},
		{"other check", `
apiVersion: v1
kind: Service
metadata:
  name: s
  annotations: {sextant.dev/ignore.SX-K8S-202: "reason=x"}`, "2026-01-01", nil, 0},
		{"pod template", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec:
  template:
    metadata:
      annotations: {sextant.dev/ignore.SX-K8S-201: "reason=from template"}`, "2026-01-01",
			&Suppression{CheckID: "SX-K8S-201", Reason: "from template"}, 0},
		{"cronjob template", `
apiVersion: batch/v1
kind: CronJob
metadata: {name: d}
spec:
  jobTemplate:
    spec:
      template:
        metadata:
          annotations: {sextant.dev/ignore.SX-K8S-201: "reason=cron"}`, "2026-01-01",
			&Suppression{CheckID: "SX-K8S-201", Reason: "cron"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := sxtObjects(t, tt.yaml)[0]
			got, warnings := Suppressed(o, "SX-K8S-201", day(tt.now))
			if diff := cmp.Diff(tt.want, got); diff != "" || len(warnings) != tt.warnings {
				t.Errorf("Suppressed(%s) = %+v, %q, want %+v and %d warnings", tt.name, got, warnings, tt.want, tt.warnings)
			}
		})
	}
}

func FuzzParseSuppression(f *testing.F) {
	f.Add("reason=needs raw sockets; expires=2027-03-31")
	f.Add("expires=2027-02-30;;reason=")
	f.Add("=;=;reason==x")
	f.Fuzz(func(t *testing.T, value string) {
		s, warnings := ParseSuppression("SX-K8S-001", value)
		if s == nil && len(warnings) == 0 {
			t.Errorf("ParseSuppression(%q) = nil without a warning", value)
		}
		if s != nil && s.Reason == "" {
			t.Errorf("ParseSuppression(%q) = %+v, want a reason", value, s)
		}
	})
}
