package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/sqlite"
)

// runAdminCmd runs the real program in-process with the given environment
// and returns its exit code and output.
func runAdminCmd(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	m := &Main{Args: args, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }}
	return m.Run(context.Background()), out.String(), errb.String()
}

// auditDB returns the path of a new SQLite database holding n audit
// entries, and the entries.
func auditDB(t *testing.T, n int) (string, []sextant.AuditEntry) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sextant.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l := audit.NewLog(db)
	var es []sextant.AuditEntry
	for i := 1; i <= n; i++ {
		e, err := l.Append(ctx, "cli:alice", "finding.status", fmt.Sprintf("f-%d", i), map[string]any{"to": "resolved", "n": i})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	return path, es
}

// tamperSQL runs statements on the SQLite file at path directly, past the
// triggers that keep audit_log append-only, as someone with write access to
// the file could.
func tamperSQL(t *testing.T, path string, statements ...string) {
	t.Helper()
	conn, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, s := range append([]string{`DROP TRIGGER IF EXISTS audit_log_no_update`, `DROP TRIGGER IF EXISTS audit_log_no_delete`}, statements...) {
		if _, err := conn.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestAuditVerify(t *testing.T) {
	path, es := auditDB(t, 5)
	head := es[4]
	want := fmt.Sprintf("audit trail intact: 5 entries, last seq 5, head hash %s\n", head.Hash)

	code, out, errs := runAdminCmd(t, nil, "audit", "verify", "--database", path)
	if code != exitOK || out != want {
		t.Fatalf("audit verify: exit %d, stdout %q, want %d and %q; stderr:\n%s", code, out, exitOK, want, errs)
	}
	code, out, _ = runAdminCmd(t, map[string]string{"SEXTANT_DATABASE": path}, "audit", "verify",
		"--anchor", fmt.Sprintf("5:%s", head.Hash), "--anchor", fmt.Sprintf("2:%s", strings.ToUpper(es[1].Hash)))
	if code != exitOK || out != want {
		t.Errorf("audit verify with SEXTANT_DATABASE and anchors: exit %d, stdout %q", code, out)
	}
	for _, bad := range []string{"5", "x:" + head.Hash, "0:" + head.Hash, "5:abc"} {
		if code, _, errs := runAdminCmd(t, nil, "audit", "verify", "--database", path, "--anchor", bad); code != exitError || !strings.Contains(errs, "anchor") {
			t.Errorf("audit verify --anchor %q: exit %d, stderr %q; want %d naming the anchor", bad, code, errs, exitError)
		}
	}

	tests := []struct {
		name       string
		tamper     []string
		anchorHead bool
		want       []string
	}{
		{"edit an actor", []string{`UPDATE audit_log SET actor = 'mallory' WHERE seq = 3`}, false,
			[]string{"audit trail broken: entry 3: edited:", "changed after it was written"}},
		{"edit details", []string{`UPDATE audit_log SET details = '{"n":2,"to":"false_positive"}' WHERE seq = 2`}, false,
			[]string{"entry 2: edited:"}},
		{"delete a middle row", []string{`DELETE FROM audit_log WHERE seq = 3`}, false,
			[]string{"entry 4: missing:", "entry 3 was deleted or moved"}},
		{"swap two rows", []string{
			`UPDATE audit_log SET seq = 100 WHERE seq = 2`, `UPDATE audit_log SET seq = 2 WHERE seq = 3`, `UPDATE audit_log SET seq = 3 WHERE seq = 100`},
			false, []string{"entry 2: edited:"}},
		{"delete the last row, head anchored", []string{`DELETE FROM audit_log WHERE seq = 5`},
			true, []string{"entry 5: truncated:", "tail was removed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, es := auditDB(t, 5)
			args := []string{"audit", "verify", "--database", path}
			if tt.anchorHead {
				args = append(args, "--anchor", fmt.Sprintf("5:%s", es[4].Hash))
			}
			tamperSQL(t, path, tt.tamper...)
			code, out, errs := runAdminCmd(t, nil, args...)
			if code != exitError || out != "" {
				t.Errorf("audit verify after %s: exit %d, stdout %q; want %d and nothing", tt.name, code, out, exitError)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs, w) {
					t.Errorf("audit verify after %s: stderr %q lacks %q", tt.name, errs, w)
				}
			}
		})
	}
}

func TestAuditMissingDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.db")
	for _, args := range [][]string{{"audit", "verify"}, {"audit", "export"}} {
		code, _, errs := runAdminCmd(t, map[string]string{"SEXTANT_DATABASE": path}, args...)
		if code != exitError || !strings.Contains(errs, "does not exist") {
			t.Errorf("%s on a missing database: exit %d, stderr %q; want %d saying it does not exist", strings.Join(args, " "), code, errs, exitError)
		}
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("audit commands created %s", path)
	}
	code, _, errs := runAdminCmd(t, nil, "audit", "verify", "--database", "mysql://root:hunter2@db/sextant")
	if code != exitError || strings.Contains(errs, "hunter2") || !strings.Contains(errs, "unsupported") {
		t.Errorf("audit verify on a mysql:// URL: exit %d, stderr %q; want %d, unsupported, no password", code, errs, exitError)
	}
}

func TestAuditExport(t *testing.T) {
	path, es := auditDB(t, 4)
	check := func(name, jsonl string) {
		t.Helper()
		sc := bufio.NewScanner(strings.NewReader(jsonl))
		var n int
		for sc.Scan() {
			var line struct {
				Seq      int64           `json:"seq"`
				Actor    string          `json:"actor"`
				Details  json.RawMessage `json:"details"`
				PrevHash string          `json:"prev_hash"`
				Hash     string          `json:"hash"`
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("%s: line %d is not JSON: %v", name, n+1, err)
			}
			e := es[n]
			if line.Seq != e.Seq || line.Actor != e.Actor || line.Hash != e.Hash || line.PrevHash != e.PrevHash || string(line.Details) != string(e.Details) {
				t.Errorf("%s: line %d = %+v, want entry %+v", name, n+1, line, e)
			}
			n++
		}
		if n != len(es) {
			t.Errorf("%s: %d lines, want %d", name, n, len(es))
		}
	}
	code, out, errs := runAdminCmd(t, map[string]string{"SEXTANT_DATABASE": path}, "audit", "export")
	if code != exitOK {
		t.Fatalf("audit export: exit %d, stderr:\n%s", code, errs)
	}
	check("stdout", out)

	file := filepath.Join(t.TempDir(), "audit.jsonl")
	code, out, errs = runAdminCmd(t, nil, "audit", "export", "--database", path, "-o", file)
	if code != exitOK || out != "" {
		t.Fatalf("audit export -o: exit %d, stdout %q, stderr:\n%s", code, out, errs)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	check(file, string(b))
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".audit.jsonl.*")); len(left) != 0 {
		t.Errorf("temporary files left beside the export: %v", left)
	}
}
