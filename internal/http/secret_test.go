package http

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sextant-dev/sextant"
)

func TestSecretRefResolve(t *testing.T) {
	dir := t.TempDir()
	withNL := filepath.Join(dir, "token")
	if err := os.WriteFile(withNL, []byte("s3cr3t\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SEXTANT_TEST_SET", " spaced ")
	t.Setenv("SEXTANT_TEST_EMPTY", "")
	os.Unsetenv("SEXTANT_TEST_UNSET")

	tests := []struct {
		name    string
		ref     SecretRef
		want    string
		wantErr string // substring; "" means success
	}{
		{"env", SecretRef{Env: "SEXTANT_TEST_SET"}, " spaced ", ""},
		{"env unset", SecretRef{Env: "SEXTANT_TEST_UNSET"}, "", "environment variable SEXTANT_TEST_UNSET is not set"},
		{"env empty", SecretRef{Env: "SEXTANT_TEST_EMPTY"}, "", "environment variable SEXTANT_TEST_EMPTY is empty"},
		{"file trims newline", SecretRef{File: withNL}, "s3cr3t", ""},
		{"file empty", SecretRef{File: empty}, "", "file " + empty + " is empty"},
		{"file missing", SecretRef{File: filepath.Join(dir, "nope")}, "", filepath.Join(dir, "nope")},
		{"both", SecretRef{Env: "SEXTANT_TEST_SET", File: withNL}, "", "use one"},
		{"neither", SecretRef{}, "", "no environment variable or file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.ref.Resolve()
			if tt.wantErr == "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("Resolve(%+v) = %q, %v, want %q, nil", tt.ref, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Resolve(%+v) error = %v, want one containing %q", tt.ref, err, tt.wantErr)
			}
			if code := sextant.ErrorCode(err); code != sextant.EINVALID {
				t.Errorf("Resolve(%+v) code = %q, want %q", tt.ref, code, sextant.EINVALID)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "spaced") {
				t.Errorf("Resolve(%+v) error leaks the secret: %v", tt.ref, err)
			}
		})
	}
}
