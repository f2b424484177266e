package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testToken = "sxt_test-token-0123456789"

// received is one report as the fake server received it.
type received struct {
	contentType   string
	source        string
	contentLength int64
	body          []byte
}

// fakeAPI speaks the wire format of `sextant serve` for the client
// commands: it checks method, path, token and content type, and answers
// from testdata/api.
type fakeAPI struct {
	t *testing.T

	mu      sync.Mutex
	reports []received
	// ingests holds, per ingest ID, the states GET /v1/ingests/{id}
	// answers in turn; the last one repeats.
	ingests  map[string][]string
	polls    map[string]int
	queries  map[string][]url.Values // by path
	requests int
}

func newFakeAPI(t *testing.T) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, ingests: map[string][]string{}, polls: map[string]int{}, queries: map[string][]url.Values{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/reports", f.postReport)
	mux.HandleFunc("GET /v1/ingests/{id}", f.getIngest)
	mux.HandleFunc("GET /v1/findings", f.pages("findings", "cursor-2", "vulnerability", "source"))
	mux.HandleFunc("GET /v1/actions", f.pages("actions", "a-cursor-2", "kind"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		writeAPIError(w, http.StatusNotFound, "not_found", "no such endpoint")
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests++
		f.mu.Unlock()
		if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sextant"`)
			writeAPIError(w, http.StatusUnauthorized, "unauthorized", "invalid API token")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, srv
}

func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) postReport(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeAPIError(w, http.StatusBadRequest, "invalid", "read body")
		return
	}
	doc := body
	switch ct {
	case "application/json":
	case "application/gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			writeAPIError(w, http.StatusBadRequest, "invalid", "not gzip")
			return
		}
		if doc, err = io.ReadAll(zr); err != nil {
			writeAPIError(w, http.StatusBadRequest, "invalid", "bad gzip")
			return
		}
	default:
		writeAPIError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type "+ct+" is not supported")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, received{contentType: ct, source: r.URL.Query().Get("source"), contentLength: r.ContentLength, body: body})
	if bytes.Contains(doc, []byte("not a report")) {
		writeAPIError(w, http.StatusBadRequest, "invalid", `unknown format: a JSON object with top-level keys "hello"`)
		return
	}
	id := fmt.Sprintf("ing_%d", len(f.reports))
	// A grype report fails processing; anything else is done.
	if bytes.Contains(doc, []byte(`"matches"`)) {
		f.ingests[id] = []string{"queued", "processing", "failed"}
	} else {
		f.ingests[id] = []string{"processing", "done"}
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"ingest_id": id, "status": "queued", "findings": 1})
}

func (f *fakeAPI) getIngest(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f.mu.Lock()
	defer f.mu.Unlock()
	states, ok := f.ingests[id]
	if !ok {
		writeAPIError(w, http.StatusNotFound, "not_found", "no ingest "+id)
		return
	}
	st := states[min(f.polls[id], len(states)-1)]
	f.polls[id]++
	resp := map[string]any{"id": id, "source": "auto", "status": st, "findings": 0, "size": 10}
	switch st {
	case "done":
		resp["findings"] = 1
	case "failed":
		resp["error"] = "parse grype report: boom"
	}
	writeJSON(w, http.StatusOK, resp)
}

// pages serves testdata/api/{what}-1.json, then -2.json for the cursor
// that page 1 names. Like the real server, it refuses query parameters it
// does not know: the common ones and params.
func (f *fakeAPI) pages(what, cursor string, params ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		known := map[string]bool{"status": true, "priority": true, "artifact": true, "owner": true, "limit": true, "cursor": true}
		for _, k := range params {
			known[k] = true
		}
		for k := range q {
			if !known[k] {
				writeAPIError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("unknown query parameter %q", k))
				return
			}
		}
		f.mu.Lock()
		f.queries[r.URL.Path] = append(f.queries[r.URL.Path], q)
		f.mu.Unlock()
		file := ""
		switch q.Get("cursor") {
		case "":
			file = what + "-1.json"
		case cursor:
			file = what + "-2.json"
		default:
			writeAPIError(w, http.StatusBadRequest, "invalid", "invalid page cursor")
			return
		}
		b, err := os.ReadFile(filepath.Join("testdata", "api", file))
		if err != nil {
			f.t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}
}

// runClient runs the program against server with token.
func runClient(t *testing.T, server, token, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"SEXTANT_SERVER": server, "SEXTANT_TOKEN": token}
	m := &Main{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: envOf(env)}
	code := m.Run(context.Background())
	if token != "" && (strings.Contains(out.String(), token) || strings.Contains(errb.String(), token)) {
		t.Errorf("%v: the output shows the token", args)
	}
	return code, out.String(), errb.String()
}

const (
	trivyFile   = "testdata/push/small-trivy.json"
	grypeFile   = "testdata/push/small-grype.json.gz"
	refusedFile = "testdata/push/refused.json"
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPushQueued(t *testing.T) {
	f, srv := newFakeAPI(t)
	code, out, errs := runClient(t, srv.URL, testToken, "", "push", "--source", "trivy", trivyFile, grypeFile)
	if code != exitOK {
		t.Fatalf("push: exit %d, stderr:\n%s", code, errs)
	}
	want := trivyFile + ": queued as ing_1 (1 findings)\n" + grypeFile + ": queued as ing_2 (1 findings)\n"
	if out != want {
		t.Errorf("push output = %q, want %q", out, want)
	}
	wantReports := []received{
		{contentType: "application/json", source: "trivy", body: readFile(t, trivyFile)},
		{contentType: "application/gzip", source: "trivy", body: readFile(t, grypeFile)},
	}
	for i := range wantReports {
		wantReports[i].contentLength = int64(len(wantReports[i].body))
	}
	if diff := cmp.Diff(wantReports, f.reports, cmp.AllowUnexported(received{})); diff != "" {
		t.Errorf("reports received (-want +got):\n%s", diff)
	}
}

func TestPushStdin(t *testing.T) {
	f, srv := newFakeAPI(t)
	report := string(readFile(t, trivyFile))
	code, out, errs := runClient(t, srv.URL+"/", testToken, report, "push", "-")
	if code != exitOK || out != "stdin: queued as ing_1 (1 findings)\n" {
		t.Fatalf("push -: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if len(f.reports) != 1 || string(f.reports[0].body) != report || f.reports[0].source != "" {
		t.Fatalf("received %+v, want the report from stdin without a source", f.reports)
	}
	// Standard input has no known length: it is sent chunked.
	if f.reports[0].contentLength != -1 {
		t.Errorf("Content-Length of stdin = %d, want unknown (-1)", f.reports[0].contentLength)
	}
}

func TestPushRefusedContinues(t *testing.T) {
	f, srv := newFakeAPI(t)
	code, out, errs := runClient(t, srv.URL, testToken, "", "push", refusedFile, trivyFile)
	if code != exitError {
		t.Errorf("push with a refused report: exit %d, want %d", code, exitError)
	}
	wantErr := refusedFile + `: server refused it (HTTP 400): unknown format: a JSON object with top-level keys "hello"` + "\n"
	if !strings.HasPrefix(errs, wantErr) || !strings.Contains(errs, "1 of 2 reports refused") {
		t.Errorf("stderr = %q, want it to start %q and count the refusal", errs, wantErr)
	}
	if out != trivyFile+": queued as ing_2 (1 findings)\n" {
		t.Errorf("stdout = %q, want the second report queued", out)
	}
	if len(f.reports) != 2 {
		t.Errorf("%d reports received, want 2: a refusal must not stop the others", len(f.reports))
	}
}

func TestPushUnauthorized(t *testing.T) {
	f, srv := newFakeAPI(t)
	code, out, errs := runClient(t, srv.URL, "sxt_wrong-token", "", "push", trivyFile, grypeFile)
	if code != exitError || out != "" {
		t.Errorf("push with a wrong token: exit %d, stdout %q; want %d and nothing", code, out, exitError)
	}
	if !strings.Contains(errs, trivyFile+": server refused it (HTTP 401): invalid API token") || !strings.Contains(errs, "SEXTANT_TOKEN") {
		t.Errorf("stderr = %q, want the 401 and a hint about the token", errs)
	}
	if f.requests != 1 {
		t.Errorf("%d requests, want 1: a refused token stops the run", f.requests)
	}
}

func TestPushWait(t *testing.T) {
	f, srv := newFakeAPI(t)
	code, out, errs := runClient(t, srv.URL, testToken, "", "push", "--wait", trivyFile, grypeFile)
	if code != exitError {
		t.Errorf("push --wait with a failing ingest: exit %d, want %d", code, exitError)
	}
	wantOut := trivyFile + ": queued as ing_1 (1 findings)\n" + grypeFile + ": queued as ing_2 (1 findings)\n" + trivyFile + ": ing_1 done (1 findings)\n"
	if out != wantOut {
		t.Errorf("stdout = %q, want %q", out, wantOut)
	}
	if !strings.Contains(errs, grypeFile+": ing_2 failed: parse grype report: boom") || !strings.Contains(errs, "1 of 2 reports failed processing") {
		t.Errorf("stderr = %q, want the failure and its reason", errs)
	}
	// ing_1 answers processing then done; ing_2 queued, processing, failed.
	if f.polls["ing_1"] != 2 || f.polls["ing_2"] != 3 {
		t.Errorf("polls = %v, want ing_1 twice and ing_2 three times", f.polls)
	}

	code, _, errs = runClient(t, srv.URL, testToken, "", "push", "--wait", trivyFile)
	if code != exitOK {
		t.Errorf("push --wait of a report that is processed: exit %d, stderr %q", code, errs)
	}
}

func TestPushConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	code, out, errs := runClient(t, addr, testToken, "", "push", trivyFile, grypeFile)
	if code != exitError || out != "" {
		t.Errorf("push to a closed port: exit %d, stdout %q", code, out)
	}
	for _, want := range []string{"connection refused", "sextant serve", addr} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr = %q, want it to mention %q", errs, want)
		}
	}
	if strings.Count(errs, "connection refused") != 1 {
		t.Errorf("stderr = %q, want one message: an unreachable server stops the run", errs)
	}
}

func TestPushUsageErrors(t *testing.T) {
	_, srv := newFakeAPI(t)
	empty := filepath.Join(t.TempDir(), "empty.json")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		server string
		token  string
		args   []string
		want   string
	}{
		{"no token", srv.URL, "", []string{trivyFile}, "no API token: set SEXTANT_TOKEN"},
		{"no reports", srv.URL, testToken, nil, "no reports given"},
		{"stdin twice", srv.URL, testToken, []string{"-", "-"}, "given 2 times"},
		{"bad server URL", "ftp://example.com", testToken, []string{trivyFile}, `server URL "ftp://example.com"`},
		{"missing file", srv.URL, testToken, []string{"testdata/push/nope.json"}, "testdata/push/nope.json: open testdata/push/nope.json: no such file"},
		{"directory", srv.URL, testToken, []string{"testdata/push"}, "testdata/push: is a directory"},
		{"empty file", srv.URL, testToken, []string{empty}, empty + ": is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runClient(t, tt.server, tt.token, "", append([]string{"push"}, tt.args...)...)
			if code != exitError || !strings.Contains(errs, tt.want) {
				t.Errorf("push %v: exit %d, stderr %q; want %d mentioning %q", tt.args, code, errs, exitError, tt.want)
			}
		})
	}
}

func TestFindingsListTable(t *testing.T) {
	f, srv := newFakeAPI(t)
	code, out, errs := runClient(t, srv.URL, testToken, "", "findings", "list", "--all",
		"--status", "open", "--priority", "p0", "--artifact", "registry.example.com/billing/api:2.3",
		"--vulnerability", "CVE-2021-44228", "--source", "trivy", "--owner", "team-billing", "--limit", "1")
	if code != exitOK {
		t.Fatalf("findings list: exit %d, stderr:\n%s", code, errs)
	}
	filters := url.Values{"status": {"open"}, "priority": {"P0"}, "artifact": {"registry.example.com/billing/api:2.3"},
		"vulnerability": {"CVE-2021-44228"}, "source": {"trivy"}, "owner": {"team-billing"}, "limit": {"1"}}
	second := url.Values{"cursor": {"cursor-2"}}
	for k, v := range filters {
		second[k] = v
	}
	if diff := cmp.Diff([]url.Values{filters, second}, f.queries["/v1/findings"]); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("table has %d lines, want a header and 2 rows:\n%s", len(lines), out)
	}
	if got := strings.Fields(lines[0]); !cmp.Equal(got, []string{"PRIORITY", "SCORE", "STATUS", "VULNERABILITY", "PACKAGE", "VERSION", "ARTIFACT", "SOURCES"}) {
		t.Errorf("header = %q", lines[0])
	}
	for i, want := range [][]string{
		{"P0", "96.5", "open", "CVE-2021-44228", "org.apache.logging.log4j:log4j-core", "2.14.1", "registry.example.com/billing/api:2.3", "grype,trivy"},
		{"P2", "41.2", "accepted_risk", "CVE-2023-5678", "libcrypto3", "3.1.4-r1", "registry.example.com/demo/app:1.0", "trivy"},
	} {
		if got := strings.Fields(lines[i+1]); !cmp.Equal(got, want) {
			t.Errorf("row %d = %q, want %q", i, got, want)
		}
	}
	if errs != "" {
		t.Errorf("stderr = %q, want nothing", errs)
	}
}

func TestFindingsListJSON(t *testing.T) {
	f, srv := newFakeAPI(t)
	code, out, errs := runClient(t, srv.URL, testToken, "", "findings", "list", "--all", "-o", "json")
	if code != exitOK {
		t.Fatalf("findings list -o json: exit %d, stderr:\n%s", code, errs)
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatalf("output is not a JSON array: %v\n%s", err, out)
	}
	if len(items) != 2 || len(f.queries["/v1/findings"]) != 2 {
		t.Fatalf("%d items from %d requests, want 2 from 2", len(items), len(f.queries["/v1/findings"]))
	}
	// Records pass through whole, fields unknown to this client included.
	if _, ok := items[0]["finding"].(map[string]any)["added_by_a_newer_server"]; !ok {
		t.Errorf("first item lost a field the client does not know:\n%s", out)
	}
	if items[1]["status"] != "accepted_risk" {
		t.Errorf("second item status = %v", items[1]["status"])
	}
}

func TestFindingsListOnePage(t *testing.T) {
	f, srv := newFakeAPI(t)
	code, out, errs := runClient(t, srv.URL, testToken, "", "findings", "list", "-o", "json")
	if code != exitOK || len(f.queries["/v1/findings"]) != 1 {
		t.Fatalf("findings list: exit %d after %d requests, stderr %q; want 0 after 1", code, len(f.queries["/v1/findings"]), errs)
	}
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(out), &items); err != nil || len(items) != 1 {
		t.Errorf("output = %q (%v), want one item", out, err)
	}
	if !strings.Contains(errs, "more findings follow: use --all") {
		t.Errorf("stderr = %q, want a note that more pages follow", errs)
	}
}

func TestFindingsListErrors(t *testing.T) {
	f, srv := newFakeAPI(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--priority", "P7"}, "--priority: unknown priority"},
		{[]string{"--status", "closed"}, `--status: unknown status "closed"`},
		{[]string{"-o", "xml"}, `unknown output format "xml"`},
		{[]string{"--limit", "-1"}, "--limit must not be negative"},
	} {
		code, _, errs := runClient(t, srv.URL, testToken, "", append([]string{"findings", "list"}, tt.args...)...)
		if code != exitError || !strings.Contains(errs, tt.want) {
			t.Errorf("findings list %v: exit %d, stderr %q; want %d mentioning %q", tt.args, code, errs, exitError, tt.want)
		}
	}
	if f.requests != 0 {
		t.Errorf("%d requests for bad flags, want none", f.requests)
	}
	code, out, errs := runClient(t, srv.URL, "sxt_wrong", "", "findings", "list")
	if code != exitError || out != "" || !strings.Contains(errs, "list findings: server refused it (HTTP 401): invalid API token") {
		t.Errorf("findings list with a wrong token: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestFindingsListCleansControlCharacters(t *testing.T) {
	if got := clean("CVE-1\x1b[31m\tred\n"); got != "CVE-1 [31m red " {
		t.Errorf("clean = %q, want control characters replaced by spaces", got)
	}
	var b bytes.Buffer
	if err := writeTable(&b, []string{"A", "B"}, [][]string{{"x\ty", ""}}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "A    B\nx y  -\n" {
		t.Errorf("writeTable = %q", got)
	}
}

func TestActionsListTable(t *testing.T) {
	f, srv := newFakeAPI(t)
	code, out, errs := runClient(t, srv.URL, testToken, "", "actions", "list", "--all", "--status", "open", "--priority", "P0",
		"--artifact", "registry.example.com/billing/api:2.3", "--kind", "upgrade-package", "--owner", "team-billing", "--limit", "1")
	if code != exitOK {
		t.Fatalf("actions list: exit %d, stderr:\n%s", code, errs)
	}
	filters := url.Values{"status": {"open"}, "priority": {"P0"}, "artifact": {"registry.example.com/billing/api:2.3"},
		"kind": {"upgrade-package"}, "owner": {"team-billing"}, "limit": {"1"}}
	second := url.Values{"cursor": {"a-cursor-2"}}
	for k, v := range filters {
		second[k] = v
	}
	want := []url.Values{filters, second}
	if diff := cmp.Diff(want, f.queries["/v1/actions"]); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("table has %d lines, want 3:\n%s", len(lines), out)
	}
	if got := strings.Fields(lines[0]); !cmp.Equal(got, []string{"PRIORITY", "SCORE", "KIND", "TITLE", "FINDINGS", "ARTIFACT"}) {
		t.Errorf("header = %q", lines[0])
	}
	for i, want := range []string{
		"P0 96.5 upgrade-package Upgrade org.apache.logging.log4j:log4j-core 2.14.1 → 2.17.1 2 registry.example.com/billing/api:2.3",
		"P3 12.0 rebuild-base-image Rebuild registry.example.com/demo/app:1.0 on a current base image 1 registry.example.com/demo/app:1.0",
	} {
		if got := strings.Join(strings.Fields(lines[i+1]), " "); got != want {
			t.Errorf("row %d = %q, want %q", i, got, want)
		}
	}
	// Actions are open or resolved, and GET /v1/actions filters neither by
	// vulnerability nor by source.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--status", "suppressed"}, `--status: unknown status "suppressed": want open or resolved`},
		{[]string{"--vulnerability", "CVE-2021-44228"}, "unknown flag: --vulnerability"},
		{[]string{"--source", "trivy"}, "unknown flag: --source"},
	} {
		code, _, errs = runClient(t, srv.URL, testToken, "", append([]string{"actions", "list"}, tt.args...)...)
		if code != exitError || !strings.Contains(errs, tt.want) {
			t.Errorf("actions list %v: exit %d, stderr %q; want %q", tt.args, code, errs, tt.want)
		}
	}
}

func TestActionsListJSON(t *testing.T) {
	_, srv := newFakeAPI(t)
	code, out, errs := runClient(t, srv.URL, testToken, "", "actions", "list", "--all", "-o", "json")
	if code != exitOK {
		t.Fatalf("actions list -o json: exit %d, stderr:\n%s", code, errs)
	}
	var items []struct {
		Action   struct{ ID string }
		Findings int
		Ticket   map[string]any
	}
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		t.Fatalf("output is not a JSON array: %v\n%s", err, out)
	}
	if len(items) != 2 || items[0].Action.ID != "act_1" || items[0].Findings != 2 || items[0].Ticket["key"] != "SEC-1" || items[1].Action.ID != "act_2" {
		t.Errorf("items = %+v", items)
	}
}
