package k8s

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/sextant-dev/sextant/internal/fixtures"
)

// sxtObjects decodes a multi-document YAML string into objects with Raw and
// Typed set, standing in for the loader in these tests.
func sxtObjects(t testing.TB, text string) []*Object {
	t.Helper()
	var out []*Object
	for i, doc := range strings.Split(text, "\n---") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("YAMLToJSON(doc %d) = %v", i, err)
		}
		if bytes.Equal(j, []byte("null")) {
			continue
		}
		o, err := fixObject(j)
		if err != nil {
			t.Fatalf("fixObject(doc %d) = %v", i, err)
		}
		o.Source = Source{Doc: i, Item: -1}
		out = append(out, o)
	}
	return out
}

func sxtInventory(t testing.TB, text string) *Inventory {
	t.Helper()
	return &Inventory{Objects: sxtObjects(t, text)}
}

func sxtCheck(t testing.TB, id string) Check {
	t.Helper()
	for _, c := range append(RBACChecks(), NetworkChecks()...) {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %s", id)
	return Check{}
}

// sxtRun runs one check over an inventory and returns "checkID kind/ns/name"
// for each violation.
func sxtRun(inv *Inventory, c Check) []string {
	var out []string
	for _, v := range Run(inv, []Check{c}, sxtNow) {
		s := v.CheckID + " " + v.Object.String()
		if v.Suppressed != nil {
			s += " (suppressed)"
		}
		out = append(out, s)
	}
	return out
}

func TestAllChecksUniqueIDs(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range AllChecks() {
		if c.ID == "" || seen[c.ID] {
			t.Errorf("AllChecks() has empty or duplicate ID %q", c.ID)
		}
		seen[c.ID] = true
		if c.Title == "" || c.Rationale == "" || len(c.Mappings) == 0 || len(c.Kinds) == 0 || c.Run == nil {
			t.Errorf("check %s lacks a title, rationale, mapping, kinds or Run", c.ID)
		}
	}
	if n := len(RBACChecks()) + len(NetworkChecks()); len(seen) < n {
		t.Errorf("len(AllChecks()) = %d, want at least %d", len(seen), n)
	}
}

func TestRunSuppression(t *testing.T) {
	inv := sxtInventory(t, `
apiVersion: v1
kind: Service
metadata:
  name: a
  namespace: x
  annotations:
    sextant.dev/ignore.SX-K8S-201: "reason=legacy load balancer health checks; expires=2026-12-31"
spec:
  type: NodePort
---
apiVersion: v1
kind: Service
metadata:
  name: b
  namespace: x
  annotations:
    sextant.dev/ignore.SX-K8S-201: "expires=2026-12-31"
spec:
  type: NodePort
---
apiVersion: v1
kind: Service
metadata:
  name: c
  namespace: x
  annotations:
    sextant.dev/ignore.SX-K8S-201: "reason=old; expires=2026-01-31"
spec:
  type: NodePort
`)
	got := sxtRun(inv, sxtCheck(t, CheckNetNodePort))
	want := []string{"SX-K8S-201 Service/x/a (suppressed)", "SX-K8S-201 Service/x/b", "SX-K8S-201 Service/x/c"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Run(suppressions) = %v, want %v", got, want)
	}
	if len(inv.Warnings) != 2 {
		t.Errorf("Run(suppressions) warnings = %q, want 2 (no reason, expired)", inv.Warnings)
	}
}

func sxtReadFixture(t testing.TB, elem ...string) string {
	t.Helper()
	b, err := os.ReadFile(fixtures.Dir(t, elem...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sxtNow is the fixed "now" of these tests.
var sxtNow = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
