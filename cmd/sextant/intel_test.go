package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIntelUpdateFromMirror runs `intel update` against a mirror serving the
// example feeds, then triages with the cache it filled.
func TestIntelUpdateFromMirror(t *testing.T) {
	kev, err := os.ReadFile(ex + "intel/kev-example.json")
	if err != nil {
		t.Fatal(err)
	}
	epss, err := os.ReadFile(ex + "intel/epss-example.csv")
	if err != nil {
		t.Fatal(err)
	}
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits[r.URL.Path]++
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		switch r.URL.Path {
		case "/kev.json":
			w.Write(kev)
		case "/epss.csv":
			w.Write(epss)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "intel")
	env := map[string]string{"SEXTANT_INTEL_DIR": dir, "SEXTANT_KEV_URL": srv.URL + "/kev.json", "SEXTANT_EPSS_URL": srv.URL + "/epss.csv"}
	runEnv := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		m := &Main{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
		return m.Run(context.Background()), out.String(), errb.String()
	}
	code, out, errs := runEnv("intel", "update")
	if code != exitOK || !strings.Contains(out, "KEV  updated") || !strings.Contains(out, "EPSS updated") {
		t.Fatalf("intel update: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = runEnv("intel", "update")
	if code != exitOK || !strings.Contains(out, "already current") {
		t.Errorf("second update: exit %d, want 'already current':\n%s", code, out)
	}
	code, out, errs = runEnv("triage", ex+"reports/billing-api-trivy.json")
	if code != exitOK || !strings.Contains(out, "intel: KEV example") || strings.Contains(errs, "no KEV catalog") {
		t.Errorf("triage with the cache: exit %d\n%s\n%s", code, out, errs)
	}
	if hits["/kev.json"] != 2 || hits["/epss.csv"] != 2 {
		t.Errorf("mirror hits = %v, want 2 each", hits)
	}
}
