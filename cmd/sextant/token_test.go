package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/sqlite"
)

// tokenAudit returns the audit entries of the SQLite database at path.
func tokenAudit(t *testing.T, path string) []sextant.AuditEntry {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []sextant.AuditEntry
	for e, err := range db.Entries(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestTokenLifecycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sextant.db")
	env := map[string]string{"SEXTANT_DATABASE": path}
	before := time.Now()

	code, out, errs := runAdminCmd(t, env, "token", "create", "--name", "ci-upload", "--role", "Analyst")
	if code != exitOK {
		t.Fatalf("token create: exit %d, stderr:\n%s", code, errs)
	}
	secret := strings.TrimSuffix(out, "\n")
	if !strings.HasPrefix(secret, sextant.TokenPrefix) || strings.ContainsAny(secret, " \n") {
		t.Fatalf("token create stdout = %q, want the secret alone on one line", out)
	}
	for _, w := range []string{"shown only once", "role analyst", "tok_", "expires "} {
		if !strings.Contains(errs, w) {
			t.Errorf("token create stderr %q lacks %q", errs, w)
		}
	}
	if strings.Contains(errs, secret) {
		t.Errorf("token create printed the secret on stderr too")
	}

	// The store knows the token by the secret's hash.
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := db.TokenByHash(context.Background(), sextant.HashTokenSecret(secret), time.Now())
	db.Close()
	if err != nil {
		t.Fatalf("TokenByHash(the printed secret) error: %v", err)
	}
	if tok.Name != "ci-upload" || tok.Role != sextant.RoleAnalyst || !strings.HasPrefix(tok.CreatedBy, "cli") {
		t.Errorf("stored token = %+v, want ci-upload, analyst, created by cli:…", tok)
	}
	if exp := before.Add(720 * time.Hour); tok.ExpiresAt.Before(exp.Add(-time.Second)) || tok.ExpiresAt.After(time.Now().Add(720*time.Hour)) {
		t.Errorf("token expires at %v, want 720h from its creation (about %v)", tok.ExpiresAt, exp)
	}

	code, out, errs = runAdminCmd(t, env, "token", "create", "--name", "forever", "--role", "admin", "--expires", "0")
	if code != exitOK || !strings.Contains(errs, "never expires") {
		t.Fatalf("token create --expires 0: exit %d, stderr:\n%s", code, errs)
	}
	secret2 := strings.TrimSpace(out)

	code, out, errs = runAdminCmd(t, env, "token", "list")
	if code != exitOK {
		t.Fatalf("token list: exit %d, stderr:\n%s", code, errs)
	}
	for _, w := range []string{"ID", "LAST USED", "REVOKED", tok.ID, "ci-upload", "analyst", "forever", "admin", "never"} {
		if !strings.Contains(out, w) {
			t.Errorf("token list lacks %q:\n%s", w, out)
		}
	}
	code, jsonOut, errs := runAdminCmd(t, env, "token", "list", "-o", "json")
	if code != exitOK {
		t.Fatalf("token list -o json: exit %d, stderr:\n%s", code, errs)
	}
	var listed []sextant.Token
	if err := json.Unmarshal([]byte(jsonOut), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("token list -o json = %s (%v), want two tokens", jsonOut, err)
	}
	for _, s := range []string{secret, secret2} {
		if strings.Contains(out+jsonOut, s) || strings.Contains(out+jsonOut, sextant.HashTokenSecret(s)) {
			t.Errorf("token list shows a secret or its hash")
		}
	}

	code, out, errs = runAdminCmd(t, env, "token", "revoke", tok.ID)
	if code != exitOK || !strings.Contains(out, "revoked token "+tok.ID) {
		t.Fatalf("token revoke: exit %d, stdout %q, stderr:\n%s", code, out, errs)
	}
	code, _, errs = runAdminCmd(t, env, "token", "revoke", tok.ID)
	if code != exitOK || !strings.Contains(errs, "already revoked") {
		t.Errorf("second token revoke: exit %d, stderr %q; want %d, already revoked", code, errs, exitOK)
	}
	code, _, errs = runAdminCmd(t, env, "token", "revoke", "tok_unknown")
	if code != exitError || !strings.Contains(errs, "not found") {
		t.Errorf("token revoke of an unknown ID: exit %d, stderr %q; want %d, not found", code, errs, exitError)
	}
	code, out, _ = runAdminCmd(t, env, "token", "list", "-o", "json")
	if err := json.Unmarshal([]byte(out), &listed); code != exitOK || err != nil || listed[0].RevokedAt.IsZero() || !strings.HasPrefix(listed[0].RevokedBy, "cli") {
		t.Errorf("token list after revoke: exit %d, %+v; want %s revoked by cli:…", code, listed, tok.ID)
	}

	// Create, create, revoke: three audit entries, none with a secret or
	// a hash; the second revocation and the unknown ID changed nothing.
	es := tokenAudit(t, path)
	type want struct{ action, subject, name, role string }
	wants := []want{{"token.create", tok.ID, "ci-upload", "analyst"}, {"token.create", listed[1].ID, "forever", "admin"}, {"token.revoke", tok.ID, "ci-upload", "analyst"}}
	if len(es) != len(wants) {
		t.Fatalf("audit trail has %d entries, want %d: %+v", len(es), len(wants), es)
	}
	for i, w := range wants {
		e := es[i]
		var d struct {
			Name      string     `json:"name"`
			Role      string     `json:"role"`
			ExpiresAt *time.Time `json:"expires_at"`
		}
		if err := json.Unmarshal(e.Details, &d); err != nil {
			t.Fatalf("entry %d details %s: %v", e.Seq, e.Details, err)
		}
		if e.Action != w.action || e.Subject != w.subject || d.Name != w.name || d.Role != w.role || !strings.HasPrefix(e.Actor, "cli") {
			t.Errorf("entry %d = %s by %s on %s %s, want %s on %s with name %s, role %s", e.Seq, e.Action, e.Actor, e.Subject, e.Details, w.action, w.subject, w.name, w.role)
		}
		if (d.ExpiresAt == nil) != (w.name == "forever") {
			t.Errorf("entry %d expires_at = %v; want null only for the token that never expires", e.Seq, d.ExpiresAt)
		}
		for _, s := range []string{secret, secret2} {
			if strings.Contains(string(e.Details), s) || strings.Contains(string(e.Details), sextant.HashTokenSecret(s)) {
				t.Errorf("entry %d details %s hold a secret or its hash", e.Seq, e.Details)
			}
		}
	}
	code, out, errs = runAdminCmd(t, env, "audit", "verify")
	if code != exitOK || !strings.Contains(out, "intact: 3 entries") {
		t.Errorf("audit verify after token commands: exit %d, %q %q", code, out, errs)
	}
}

func TestTokenCreateInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sextant.db")
	env := map[string]string{"SEXTANT_DATABASE": path}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--name", "x", "--role", "root"}, "unknown role"},
		{[]string{"--name", " ", "--role", "viewer"}, "needs a name"},
		{[]string{"--role", "viewer"}, "name"},
		{[]string{"--name", "x"}, "role"},
		{[]string{"--name", "x", "--role", "viewer", "--expires", "-1h"}, "negative"},
		{[]string{"--name", "x", "--role", "viewer", "--expires", "30d"}, "expires"},
	}
	for _, tt := range tests {
		code, out, errs := runAdminCmd(t, env, append([]string{"token", "create"}, tt.args...)...)
		if code != exitError || out != "" || !strings.Contains(errs, tt.want) {
			t.Errorf("token create %v: exit %d, stdout %q, stderr %q; want %d, nothing, %q", tt.args, code, out, errs, exitError, tt.want)
		}
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("invalid token create commands created the database")
	}
	code, _, errs := runAdminCmd(t, env, "token", "list")
	if code != exitError || !strings.Contains(errs, "does not exist") {
		t.Errorf("token list without a database: exit %d, stderr %q", code, errs)
	}
}

// TestTokenCreateNeedsAudit: a token whose creation cannot be recorded in
// the audit trail is revoked and its secret never shown.
func TestTokenCreateNeedsAudit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sextant.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	// An audit trail that refuses inserts.
	tamperSQL(t, path, `CREATE TRIGGER audit_log_no_insert BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'read-only'); END`)
	code, out, errs := runAdminCmd(t, map[string]string{"SEXTANT_DATABASE": path}, "token", "create", "--name", "x", "--role", "admin")
	if code != exitError || out != "" || !strings.Contains(errs, "not issued") {
		t.Fatalf("token create with a failing audit trail: exit %d, stdout %q, stderr %q; want %d, no secret, not issued", code, out, errs, exitError)
	}
	db, err = sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	toks, err := db.Tokens(context.Background())
	if err != nil || len(toks) != 1 || toks[0].RevokedAt.IsZero() {
		t.Errorf("tokens after a failed create = %+v, %v; want one, revoked", toks, err)
	}
	if res, err := audit.Verify(context.Background(), db); err != nil || res.Checked != 0 {
		t.Errorf("audit trail after a failed create = %+v, %v; want empty", res, err)
	}
}
