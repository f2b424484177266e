//go:build unix

package main

// The tests of this file run `sextant serve` as real processes, built once
// per test run, and kill them: the queue's promises (a 202 means the payload
// will be processed; processing it again changes nothing; replicas share the
// work and one audit chain) only show across the death of a process, not of
// a goroutine.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to inspect the store
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/fixtures"
	"github.com/sextant-dev/sextant/internal/intake"
	"github.com/sextant-dev/sextant/internal/service"
)

// shortLeaseConfig makes an ingest abandoned by a killed server come back
// within seconds.
const shortLeaseConfig = "testdata/serve-short-lease.yaml"

// procBin is the sextant binary the tests run, built on first use.
var procBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// TestMain removes the binary built for the process tests once they are
// done.
func TestMain(m *testing.M) {
	code := m.Run()
	if procBin.dir != "" {
		os.RemoveAll(procBin.dir)
	}
	os.Exit(code)
}

// sextantBinary builds this package's program once per test run and returns
// its path.
func sextantBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds sextant and runs it as processes: skipped with -short")
	}
	procBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "sextant-serve-test-")
		if err != nil {
			procBin.err = err
			return
		}
		procBin.dir = dir
		path := filepath.Join(dir, "sextant")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", path, ".").CombinedOutput()
		if err != nil {
			procBin.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		procBin.path = path
	})
	if procBin.err != nil {
		t.Fatalf("build sextant: %v", procBin.err)
	}
	return procBin.path
}

// procDB is one test's database, as the processes and the test reach it.
type procDB struct {
	arg    string   // the --database argument
	env    []string // extra environment of the processes (PGPASSWORD)
	driver string   // database/sql driver and DSN, to inspect the store
	dsn    string
}

// sqliteDB returns a fresh SQLite database file in a temporary directory.
func sqliteDB(t *testing.T) procDB {
	path := filepath.Join(t.TempDir(), "sextant.db")
	return procDB{arg: path, driver: "sqlite", dsn: "file:" + path + "?_pragma=busy_timeout(10000)"}
}

// postgresDB creates a fresh database on the test PostgreSQL server
// (SEXTANT_TEST_POSTGRES, else the machine's), dropped when the test ends.
// When the server cannot be reached the test skips, except under CI=true,
// where it fails.
func postgresDB(t *testing.T) procDB {
	t.Helper()
	dsn := os.Getenv("SEXTANT_TEST_POSTGRES")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err == nil {
		if err = conn.Ping(ctx); err != nil {
			conn.Close(ctx)
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s unreachable (%v); CI must run the replica tests on PostgreSQL: start it or set SEXTANT_TEST_POSTGRES", dsn, err)
		}
		t.Skipf("PostgreSQL at %s unreachable (%v): skipping; set SEXTANT_TEST_POSTGRES", dsn, err)
	}
	defer conn.Close(context.Background())
	var b [6]byte
	rand.Read(b[:])
	name := "sextant_proc_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		// FORCE: a killed server's sessions may linger a moment.
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		t.Fatalf("SEXTANT_TEST_POSTGRES must be a postgres:// URL, got %q", dsn)
	}
	u.Path = "/" + name
	db := procDB{driver: "pgx", dsn: u.String()}
	// sextant refuses a database URL that holds a password: hand it over
	// the way libpq would read it.
	if pw, ok := u.User.Password(); ok {
		db.env = append(db.env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	db.arg = u.String()
	return db
}

// procEnv is the environment of the processes: the test's, without any
// SEXTANT_* setting that would change what they do.
func procEnv(t *testing.T, db procDB) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SEXTANT_") {
			env = append(env, kv)
		}
	}
	env = append(env, "SEXTANT_INTEL_DIR="+filepath.Join(t.TempDir(), "intel"))
	return append(env, db.env...)
}

// runSextant runs a sextant command to its end and returns its exit code and
// output.
func runSextant(t *testing.T, db procDB, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sextantBinary(t), args...)
	cmd.Env = procEnv(t, db)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("run sextant %s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// analystToken creates an analyst API token with the CLI and returns its
// secret.
func analystToken(t *testing.T, db procDB) string {
	t.Helper()
	code, out, errs := runSextant(t, db, "token", "create", "--name", "loader", "--role", "analyst", "--database", db.arg)
	secret, _, _ := strings.Cut(out, "\n")
	if code != 0 || secret == "" {
		t.Fatalf("sextant token create: exit %d, stdout %q, stderr:\n%s", code, out, errs)
	}
	return strings.TrimSpace(secret)
}

// auditVerify checks the audit trail with `sextant audit verify`.
func auditVerify(t *testing.T, db procDB) {
	t.Helper()
	if code, out, errs := runSextant(t, db, "audit", "verify", "--database", db.arg); code != 0 {
		t.Errorf("sextant audit verify: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}

// procLog collects a process's output and spots the line that says where
// the server listens.
type procLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	url   string
	ready chan struct{}
}

var listeningLine = regexp.MustCompile(`msg=listening addr=(http://\S+)\s`)

func (l *procLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if l.url == "" {
		if m := listeningLine.FindSubmatch(l.buf.Bytes()); m != nil {
			l.url = string(m[1])
			close(l.ready)
		}
	}
	return len(p), nil
}

func (l *procLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// serveProc is one running `sextant serve`.
type serveProc struct {
	name string
	URL  string
	cmd  *exec.Cmd
	log  *procLog
	done chan struct{} // closed once the process has exited
}

// startServe starts `sextant serve` on db with workers workers and the
// config file config ("" for none), waits until it listens, and kills it
// when the test ends.
func startServe(t *testing.T, name string, db procDB, config string, workers int) *serveProc {
	t.Helper()
	args := []string{"serve", "--database", db.arg, "--addr", "127.0.0.1:0", "--workers", strconv.Itoa(workers),
		"--no-intel", "--log-format", "text", "--log-level", "info"}
	if config != "" {
		args = append(args, "--config", config)
	}
	p := &serveProc{name: name, log: &procLog{ready: make(chan struct{})}, done: make(chan struct{})}
	p.cmd = exec.Command(sextantBinary(t), args...)
	p.cmd.Env = procEnv(t, db)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("%s output (the last 6 KB):\n%s", name, logTail(p.log.String(), 6<<10))
		}
	})
	select {
	case <-p.log.ready:
		p.log.mu.Lock()
		p.URL = p.log.url
		p.log.mu.Unlock()
	case <-p.done:
		t.Fatalf("%s exited (%v) before it listened:\n%s", name, p.cmd.ProcessState, p.log)
	case <-time.After(time.Minute):
		p.kill()
		t.Fatalf("%s did not listen within a minute:\n%s", name, p.log)
	}
	return p
}

// kill kills the process with SIGKILL, if it still runs, and waits for it.
func (p *serveProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop sends SIGTERM and returns the exit code; it fails the test when the
// process has not exited within limit (and then kills it).
func (p *serveProc) stop(t *testing.T, limit time.Duration) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM %s: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(limit):
		p.kill()
		t.Fatalf("%s did not exit within %s of SIGTERM", p.name, limit)
	}
	return p.cmd.ProcessState.ExitCode()
}

// processed counts the ingests the server's log says it processed.
func (p *serveProc) processed() int {
	return strings.Count(p.log.String(), `msg="ingest processed"`)
}

func logTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// procHTTP is the tests' API client.
var procHTTP = &http.Client{Timeout: 2 * time.Minute}

// apiStatusError is a response other than the one expected.
type apiStatusError struct {
	status int
	body   string
}

func (e *apiStatusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

// apiCall sends a request to the API and decodes the answer into v; an
// answer of another status than want is an *apiStatusError.
func apiCall(method, u, token string, body []byte, want int, v any) error {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := procHTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return &apiStatusError{resp.StatusCode, strings.TrimSpace(string(b))}
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s %s: %v", method, u, err)
	}
	return nil
}

// postReport posts a report: a Receipt once it is committed, an error
// otherwise (the server refused it, or died).
func postReport(base, token string, body []byte) (service.Receipt, error) {
	var rec service.Receipt
	err := apiCall("POST", base+"/v1/reports", token, body, http.StatusAccepted, &rec)
	return rec, err
}

// listAllPages reads every page of a listing.
func listAllPages[T any](t *testing.T, base, path, token string) []T {
	t.Helper()
	var all []T
	cursor := ""
	for {
		q := url.Values{"limit": {strconv.Itoa(sextant.MaxPageSize)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page sextant.Page[T]
		if err := apiCall("GET", base+path+"?"+q.Encode(), token, nil, http.StatusOK, &page); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			return all
		}
		cursor = page.Next
	}
}

// listedFinding is what the tests read of an entry of GET /v1/findings.
type listedFinding struct {
	Finding struct {
		ID string `json:"id"`
	} `json:"finding"`
	Attributions []struct {
		Source string `json:"source"`
		ScanID string `json:"scan_id"`
	} `json:"attributions"`
}

// waitDone polls until every ingest of ids is done and the queue is empty,
// and returns the ingests. An ingest that failed, or one still pending
// after limit, fails the test.
func waitDone(t *testing.T, base, token string, ids []string, limit time.Duration) map[string]sextant.Ingest {
	t.Helper()
	got := make(map[string]sextant.Ingest, len(ids))
	deadline := time.Now().Add(limit)
	for {
		pending := 0
		for _, id := range ids {
			if got[id].Status == sextant.IngestDone {
				continue
			}
			var ing sextant.Ingest
			if err := apiCall("GET", base+"/v1/ingests/"+id, token, nil, http.StatusOK, &ing); err != nil {
				t.Fatalf("GET /v1/ingests/%s: %v", id, err)
			}
			got[id] = ing
			switch ing.Status {
			case sextant.IngestFailed:
				t.Fatalf("ingest %s failed after %d attempts: %s", id, ing.Attempts, ing.Error)
			case sextant.IngestDone:
			default:
				pending++
			}
		}
		var q, p sextant.Page[sextant.Ingest]
		errq := apiCall("GET", base+"/v1/ingests?status=queued", token, nil, http.StatusOK, &q)
		errp := apiCall("GET", base+"/v1/ingests?status=processing", token, nil, http.StatusOK, &p)
		if errq != nil || errp != nil {
			t.Fatalf("list pending ingests: %v, %v", errq, errp)
		}
		// Ingests queued or processing, among ids or not.
		others := len(q.Items) + len(p.Items)
		if pending == 0 && others == 0 {
			return got
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, id := range ids {
				ing := got[id]
				fmt.Fprintf(&b, "\n  %s %s attempts=%d error=%q", id, ing.Status, ing.Attempts, ing.Error)
			}
			t.Fatalf("ingests not all done within %s (%d queued or processing in all):%s", limit, others, b.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// servePayload is one distinct report the tests post.
type servePayload struct {
	name string
	body []byte
	sha  string // of body, as GET /v1/ingests shows it
}

// reportVariant returns a copy of the Trivy or Grype JSON report raw that is a
// distinct payload: a scan taken seq minutes after a fixed time and, when
// art > 0, of another image (its digests rewritten), so that each variant is
// a scan of its own and art picks the artifact.
func reportVariant(raw []byte, seq, art int) ([]byte, error) {
	at := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC).Add(time.Duration(seq) * time.Minute).Format(time.RFC3339Nano)
	digest := func(d string) string {
		if art == 0 {
			return d
		}
		sum := sha256.Sum256(fmt.Appendf(nil, "%s/variant-%d", d, art))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	repoDigests := func(v any) any {
		l, _ := v.([]any)
		out := make([]any, 0, len(l))
		for _, x := range l {
			s, _ := x.(string)
			repo, _, d := sextant.SplitImageRef(s)
			out = append(out, repo+"@"+digest(d))
		}
		return out
	}
	suffix := func(v any) any {
		s, _ := v.(string)
		if art == 0 || s == "" {
			return v
		}
		return fmt.Sprintf("%s-v%d", s, art)
	}
	members, err := jsonMembers(raw)
	if err != nil {
		return nil, err
	}
	set := map[string]func(old json.RawMessage) (any, error){}
	if _, grype := members["matches"]; grype {
		set["descriptor"] = editObject(func(m map[string]any) { m["timestamp"] = at })
		if art > 0 {
			set["source"] = editObject(func(m map[string]any) {
				tg, _ := m["target"].(map[string]any)
				if tg == nil {
					return
				}
				for _, k := range []string{"imageID", "manifestDigest"} {
					if s, ok := tg[k].(string); ok && s != "" {
						tg[k] = digest(s)
					}
				}
				tg["repoDigests"] = repoDigests(tg["repoDigests"])
				tg["userInput"] = suffix(tg["userInput"])
			})
		}
	} else {
		set["CreatedAt"] = func(json.RawMessage) (any, error) { return at, nil }
		if art > 0 {
			set["ArtifactName"] = func(old json.RawMessage) (any, error) {
				var s string
				err := json.Unmarshal(old, &s)
				return suffix(s), err
			}
			set["Metadata"] = editObject(func(m map[string]any) {
				if s, ok := m["ImageID"].(string); ok && s != "" {
					m["ImageID"] = digest(s)
				}
				m["RepoDigests"] = repoDigests(m["RepoDigests"])
			})
		}
	}
	return rewriteObject(raw, set)
}

// jsonMembers returns the members of the JSON object raw, undecoded.
func jsonMembers(raw []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// editObject returns a rewriteObject edit that decodes a member's object,
// lets edit change it, and encodes it again.
func editObject(edit func(map[string]any)) func(json.RawMessage) (any, error) {
	return func(old json.RawMessage) (any, error) {
		m := map[string]any{}
		if old != nil {
			dec := json.NewDecoder(bytes.NewReader(old))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				return nil, err
			}
		}
		edit(m)
		return m, nil
	}
}

// rewriteObject rewrites the top-level members of the JSON object raw that
// set names with what set returns for their old value (nil when absent),
// keeping the members in their order: the parsers read reports as streams,
// and some formats are told apart by their first keys. Members set names
// but raw lacks come first.
func rewriteObject(raw []byte, set map[string]func(old json.RawMessage) (any, error)) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	type member struct {
		key string
		val json.RawMessage
	}
	var members []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		members = append(members, member{key, v})
		seen[key] = true
	}
	var missing []member
	for k := range set {
		if !seen[k] {
			missing = append(missing, member{key: k})
		}
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i].key < missing[j].key })
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range append(missing, members...) {
		val := m.val
		if f, ok := set[m.key]; ok {
			v, err := f(m.val)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", m.key, err)
			}
			if val, err = json.Marshal(v); err != nil {
				return nil, err
			}
		}
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(m.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// servePayloads returns n distinct variants of the fixture reports files,
// starting at sequence number first: payload i is a variant of
// files[i%len(files)], on one of arts artifacts per file.
func servePayloads(t *testing.T, files []string, first, n, arts int) []servePayload {
	t.Helper()
	raws := make([][]byte, len(files))
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		raws[i] = b
	}
	out := make([]servePayload, 0, n)
	for seq := first; seq < first+n; seq++ {
		k := seq % len(files)
		round := seq / len(files)
		body, err := reportVariant(raws[k], seq, round%arts)
		if err != nil {
			t.Fatalf("variant of %s: %v", files[k], err)
		}
		sum := sha256.Sum256(body)
		out = append(out, servePayload{
			name: fmt.Sprintf("%s#%d", filepath.Base(files[k]), seq),
			body: body,
			sha:  hex.EncodeToString(sum[:]),
		})
	}
	return out
}

// servedAck is a payload the server acknowledged.
type servedAck struct {
	payload int // index in the payloads posted
	rec     service.Receipt
}

// storeCheck is what checkStore learnt, for the tests' own assertions.
type storeCheck struct {
	ingests  map[string]sextant.Ingest // by ID
	payload  map[string]int            // ingest ID → index in the payloads
	processN map[string]int            // ingest ID → ingest.process audit entries
}

// checkStore checks, once every ingest is done, that the server srv, on db,
// holds each payload of ps that it took exactly once, each scan once, and
// the findings of those payloads, each once with one attribution per
// source; that each acknowledged payload is among them, with the findings
// its receipt announced; and that the audit trail shows each ingest
// received and processed. It stops srv (which must then exit 0) before it
// reads the database.
func checkStore(t *testing.T, srv *serveProc, token string, db procDB, ps []servePayload, acks []servedAck) storeCheck {
	t.Helper()
	ingests := listAllPages[sextant.Ingest](t, srv.URL, "/v1/ingests", token)
	bySHA := make(map[string]int, len(ps))
	for i, p := range ps {
		if _, dup := bySHA[p.sha]; dup {
			t.Fatalf("payloads %s and %s are the same bytes", ps[bySHA[p.sha]].name, p.name)
		}
		bySHA[p.sha] = i
	}
	c := storeCheck{ingests: map[string]sextant.Ingest{}, payload: map[string]int{}, processN: map[string]int{}}
	stored := map[int]string{}
	for _, ing := range ingests {
		c.ingests[ing.ID] = ing
		i, ok := bySHA[ing.SHA256]
		if !ok {
			t.Errorf("ingest %s holds a payload (sha256 %s) that was never posted", ing.ID, ing.SHA256)
			continue
		}
		if other, dup := stored[i]; dup {
			t.Errorf("payload %s is stored twice: ingests %s and %s", ps[i].name, other, ing.ID)
		}
		stored[i] = ing.ID
		c.payload[ing.ID] = i
		if ing.Status != sextant.IngestDone {
			t.Errorf("ingest %s (%s) is %s, want done", ing.ID, ps[i].name, ing.Status)
		}
	}
	for _, a := range acks {
		ing, ok := c.ingests[a.rec.IngestID]
		switch {
		case !ok:
			t.Errorf("ingest %s (%s) was acknowledged but is lost", a.rec.IngestID, ps[a.payload].name)
		case c.payload[ing.ID] != a.payload:
			t.Errorf("ingest %s holds %s, want %s", ing.ID, ps[c.payload[ing.ID]].name, ps[a.payload].name)
		case ing.Findings != a.rec.Findings:
			t.Errorf("ingest %s (%s) has %d findings, its receipt announced %d", ing.ID, ps[a.payload].name, ing.Findings, a.rec.Findings)
		}
	}

	// What the store must hold, from reading the same payloads the way
	// the server does.
	wantIDs := map[string]bool{}
	wantScans := map[string]int{}
	for id, i := range c.payload {
		rep, err := intake.Read(ps[i].name, bytes.NewReader(ps[i].body), id, intake.Options{})
		if err != nil {
			t.Fatalf("read %s: %v", ps[i].name, err)
		}
		if got := c.ingests[id].Findings; got != rep.Findings {
			t.Errorf("ingest %s (%s) has %d findings, want %d", id, ps[i].name, got, rep.Findings)
		}
		wantScans[id] = len(rep.Scans)
		for _, sc := range rep.Scans {
			for _, f := range sc.Findings {
				wantIDs[f.ID] = true
			}
		}
	}

	listed := listAllPages[listedFinding](t, srv.URL, "/v1/findings", token)
	gotIDs := map[string]bool{}
	for _, f := range listed {
		id := f.Finding.ID
		if gotIDs[id] {
			t.Errorf("finding %s is listed twice", id)
		}
		gotIDs[id] = true
		sources := map[string]bool{}
		for _, a := range f.Attributions {
			if sources[a.Source] {
				t.Errorf("finding %s has two attributions from %s", id, a.Source)
			}
			sources[a.Source] = true
			if ingest, _, _ := strings.Cut(a.ScanID, "/"); c.ingests[ingest].ID == "" {
				t.Errorf("finding %s is attributed to scan %s of no known ingest", id, a.ScanID)
			}
		}
		if len(f.Attributions) == 0 {
			t.Errorf("finding %s has no attribution", id)
		}
	}
	if missing, extra := missingKeys(wantIDs, gotIDs), missingKeys(gotIDs, wantIDs); len(missing)+len(extra) > 0 {
		t.Errorf("GET /v1/findings lists %d distinct findings, want %d: %d missing (e.g. %v), %d unexpected (e.g. %v)",
			len(gotIDs), len(wantIDs), len(missing), firstN(missing, 3), len(extra), firstN(extra, 3))
	}

	if code := srv.stop(t, time.Minute); code != 0 {
		t.Errorf("%s exited %d after SIGTERM, want 0", srv.name, code)
	}
	sqlDB, err := sql.Open(db.driver, db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	var total, distinct int
	if err := sqlDB.QueryRow(`SELECT count(*), count(DISTINCT id) FROM scans`).Scan(&total, &distinct); err != nil {
		t.Fatalf("count scans: %v", err)
	}
	if total != distinct {
		t.Errorf("scans: %d rows, %d distinct IDs", total, distinct)
	}
	gotScans := map[string]int{}
	for _, id := range queryStrings(t, sqlDB, `SELECT id FROM scans`) {
		ingest, _, _ := strings.Cut(id, "/")
		gotScans[ingest]++
	}
	for id, n := range wantScans {
		if gotScans[id] != n {
			t.Errorf("ingest %s (%s): %d scans recorded, want %d", id, ps[c.payload[id]].name, gotScans[id], n)
		}
	}
	for id, n := range gotScans {
		if _, ok := wantScans[id]; !ok {
			t.Errorf("%d scans recorded for %s, which is no ingest", n, id)
		}
	}

	receiveN := map[string]int{}
	rows, err := sqlDB.Query(`SELECT action, subject, count(*) FROM audit_log
		WHERE action IN ('ingest.receive', 'ingest.process') GROUP BY action, subject`)
	if err != nil {
		t.Fatalf("read audit log: %v", err)
	}
	for rows.Next() {
		var action, subject string
		var n int
		if err := rows.Scan(&action, &subject, &n); err != nil {
			t.Fatal(err)
		}
		if action == "ingest.process" {
			c.processN[subject] = n
		} else {
			receiveN[subject] = n
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	acked := map[string]bool{}
	for _, a := range acks {
		acked[a.rec.IngestID] = true
	}
	unreceived := 0
	for id := range c.ingests {
		// The entry is appended before the ingest is marked done: a crash
		// in between means processing it again, and a second entry.
		if c.processN[id] < 1 {
			t.Errorf("ingest %s (%s) is done but has no ingest.process audit entry", id, ps[c.payload[id]].name)
		}
		// A receipt is answered only after its entry is appended; a post
		// cut off between the commit of its payload and the entry leaves
		// an ingest the trail does not show received.
		if n := receiveN[id]; n > 1 || acked[id] && n != 1 {
			t.Errorf("ingest %s has %d ingest.receive audit entries, want 1", id, n)
		} else if n == 0 {
			unreceived++
		}
	}
	if unreceived > 0 {
		t.Logf("%d ingests committed by posts the kill cut off have no ingest.receive audit entry", unreceived)
	}
	return c
}

func queryStrings(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// missingKeys returns the keys of a that b lacks, sorted.
func missingKeys(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func firstN(s []string, n int) []string { return s[:min(n, len(s))] }

// crashFixtures are real Trivy and Grype reports, one large, two of the
// same image (so that findings carry two sources).
func crashFixtures(t *testing.T) []string {
	return []string{
		fixtures.Dir(t, "trivy", "real", "trivy-image-ubi7-7.6-1000vulns.json"),
		fixtures.Dir(t, "trivy", "real", "trivy-image-juice-shop-v19.0.0-debian12-node-secrets.json"),
		fixtures.Dir(t, "grype", "real-grype-juice-shop-v19.0.0.json"),
		fixtures.Dir(t, "trivy", "real", "trivy-image-ecr-alpine3.19-node.json"),
		fixtures.Dir(t, "grype", "dd-grype-busybox-epss-risk.json"),
		fixtures.Dir(t, "grype", "grype-chainguard-ruby-wolfi.json"),
	}
}

// TestServeCrashRecovery kills -9 a server while reports are being posted
// and processed, restarts it on the same database, and checks that every
// acknowledged payload is processed, none twice in effect, and the audit
// trail intact.
func TestServeCrashRecovery(t *testing.T) {
	sextantBinary(t) // build (or skip) first
	t.Run("SQLite", func(t *testing.T) { testCrashRecovery(t, sqliteDB(t)) })
	t.Run("PostgreSQL", func(t *testing.T) { testCrashRecovery(t, postgresDB(t)) })
}

func testCrashRecovery(t *testing.T, db procDB) {
	const (
		posters   = 8
		killAfter = 30 // acknowledged posts before the kill
		before    = 60 // payloads available before the kill
		after     = 6  // payloads posted after the restart
	)
	files := crashFixtures(t)
	token := analystToken(t, db)
	ps := servePayloads(t, files, 0, before+after, 2)

	srv := startServe(t, "server", db, shortLeaseConfig, 2)
	var (
		mu       sync.Mutex
		acks     []servedAck
		cut      int // posts the kill cut off
		next     atomic.Int64
		killed   atomic.Bool
		enough   = make(chan struct{})
		wg       sync.WaitGroup
		finished = make(chan struct{})
	)
	for range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !killed.Load() {
				i := int(next.Add(1)) - 1
				if i >= before {
					return
				}
				rec, err := postReport(srv.URL, token, ps[i].body)
				mu.Lock()
				switch {
				case err == nil:
					acks = append(acks, servedAck{i, rec})
					if len(acks) == killAfter {
						close(enough)
					}
				case killed.Load():
					cut++
				default:
					t.Errorf("POST %s while the server runs: %v", ps[i].name, err)
				}
				mu.Unlock()
			}
		}()
	}
	go func() { wg.Wait(); close(finished) }()
	var failure string
	select {
	case <-enough:
	case <-finished:
		failure = fmt.Sprintf("all %d posts ended before %d were acknowledged", before, killAfter)
	case <-time.After(5 * time.Minute):
		failure = fmt.Sprintf("fewer than %d posts acknowledged within 5 minutes", killAfter)
	}
	killed.Store(true)
	srv.kill()
	<-finished // the posters report to t: they must be done before it ends
	if failure != "" {
		t.Fatal(failure)
	}
	mu.Lock()
	t.Logf("killed the server after %d acknowledged posts (%d processed by then); %d posts cut off",
		len(acks), srv.processed(), cut)
	mu.Unlock()

	srv = startServe(t, "restarted server", db, shortLeaseConfig, 2)
	for i := before; i < before+after; i++ {
		rec, err := postReport(srv.URL, token, ps[i].body)
		if err != nil {
			t.Fatalf("POST %s after the restart: %v", ps[i].name, err)
		}
		acks = append(acks, servedAck{i, rec})
	}
	ids := make([]string, len(acks))
	for i, a := range acks {
		ids[i] = a.rec.IngestID
	}
	waitDone(t, srv.URL, token, ids, 5*time.Minute)

	c := checkStore(t, srv, token, db, ps, acks)
	again, retried := 0, 0
	for id, ing := range c.ingests {
		if c.processN[id] > 1 {
			again++
		}
		if ing.Attempts > 1 {
			retried++
		}
	}
	t.Logf("%d ingests (%d acknowledged, %d committed though their post was cut off); %d claimed more than once, %d processed more than once",
		len(c.ingests), len(acks), len(c.ingests)-len(acks), retried, again)
	auditVerify(t, db)
}

// TestServeTwoReplicas runs two servers on one PostgreSQL database and
// checks that they share the queue without doing any job twice and append
// to one intact audit chain.
func TestServeTwoReplicas(t *testing.T) {
	sextantBinary(t) // build (or skip) first
	const n = 40
	db := postgresDB(t)
	files := []string{
		fixtures.Dir(t, "trivy", "real", "trivy-image-ecr-alpine3.19-node.json"),
		fixtures.Dir(t, "grype", "grype-chainguard-ruby-wolfi.json"),
		fixtures.Dir(t, "grype", "dd-grype-busybox-epss-risk.json"),
		fixtures.Dir(t, "trivy", "golden", "alpine-3.10.json"),
	}
	token := analystToken(t, db)
	ps := servePayloads(t, files, 0, n, 3)
	// The default lease: no one dies here, so no job may be taken back.
	servers := []*serveProc{startServe(t, "replica A", db, "", 2), startServe(t, "replica B", db, "", 2)}

	acks := make([]servedAck, n)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 4 {
				rec, err := postReport(servers[i%2].URL, token, ps[i].body)
				if err != nil {
					t.Errorf("POST %s to %s: %v", ps[i].name, servers[i%2].name, err)
					continue
				}
				acks[i] = servedAck{i, rec}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ids := make([]string, n)
	for i, a := range acks {
		ids[i] = a.rec.IngestID
	}
	waitDone(t, servers[0].URL, token, ids, 3*time.Minute)
	byA, byB := servers[0].processed(), servers[1].processed()

	// checkStore stops the replica it reads through; stop the other first
	// so that the database is still when it is inspected.
	if code := servers[1].stop(t, time.Minute); code != 0 {
		t.Errorf("%s exited %d after SIGTERM, want 0", servers[1].name, code)
	}
	c := checkStore(t, servers[0], token, db, ps, acks)
	for _, id := range ids {
		if ing := c.ingests[id]; ing.Attempts != 1 {
			t.Errorf("ingest %s (%s): attempts = %d, want 1: no server died, so no job may run twice", id, ps[c.payload[id]].name, ing.Attempts)
		}
		if c.processN[id] != 1 {
			t.Errorf("ingest %s (%s): %d ingest.process audit entries, want 1", id, ps[c.payload[id]].name, c.processN[id])
		}
	}
	if byA+byB != n {
		t.Errorf("the replicas logged %d+%d processed ingests, want %d in all", byA, byB, n)
	}
	if byA == 0 || byB == 0 {
		// Possible on a loaded machine: one replica may win every claim.
		t.Logf("one replica did all the work: A processed %d, B %d", byA, byB)
	} else {
		t.Logf("replica A processed %d ingests, replica B %d", byA, byB)
	}
	auditVerify(t, db)
}

// TestServeGracefulShutdown stops a server with SIGTERM right after large
// reports are acknowledged: it must exit 0 having finished the jobs in hand,
// and every report be processed, before the exit or after a restart.
func TestServeGracefulShutdown(t *testing.T) {
	sextantBinary(t) // build (or skip) first
	// More payloads than workers: some are still queued at the signal.
	const n = 4
	db := sqliteDB(t)
	ps := servePayloads(t, []string{fixtures.Dir(t, "trivy", "real", "trivy-image-ubi7-7.6-1000vulns.json")}, 0, n, 2)
	token := analystToken(t, db)
	srv := startServe(t, "server", db, shortLeaseConfig, 2)
	acks := make([]servedAck, n)
	var wg sync.WaitGroup
	for i := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec, err := postReport(srv.URL, token, ps[i].body)
			if err != nil {
				t.Errorf("POST %s: %v", ps[i].name, err)
			}
			acks[i] = servedAck{i, rec}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// The config's shutdown_timeout is 20s; allow for a loaded machine.
	if code := srv.stop(t, time.Minute); code != 0 {
		t.Fatalf("server exited %d after SIGTERM, want 0", code)
	}
	if out := srv.log.String(); !strings.Contains(out, "msg=stopped") {
		t.Errorf("server log lacks the line saying it stopped:\n%s", out)
	}
	sqlDB, err := sql.Open(db.driver, db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	if ids := queryStrings(t, sqlDB, `SELECT id FROM ingests WHERE status = 'processing'`); len(ids) > 0 {
		t.Errorf("ingests %v left processing by a graceful shutdown: the jobs in hand must be finished", ids)
	}
	sqlDB.Close()
	before := srv.processed()

	srv = startServe(t, "restarted server", db, shortLeaseConfig, 2)
	ids := make([]string, n)
	for i, a := range acks {
		ids[i] = a.rec.IngestID
	}
	waitDone(t, srv.URL, token, ids, 2*time.Minute)
	after := srv.processed()
	checkStore(t, srv, token, db, ps, acks)
	t.Logf("%d ingests finished before the exit, %d after the restart", before, after)
	auditVerify(t, db)
}
