package sextant

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestRoleAllows(t *testing.T) {
	roles := []Role{RoleViewer, RoleAnalyst, RoleApprover, RoleAdmin}
	for i, have := range roles {
		for j, need := range roles {
			if got, want := have.Allows(need), i >= j; got != want {
				t.Errorf("%q.Allows(%q) = %v, want %v", have, need, got, want)
			}
		}
	}
	tests := []struct {
		have, need Role
	}{
		{"", RoleViewer},
		{"root", RoleViewer},
		{"Admin", RoleViewer},
		{RoleAdmin, ""},
		{RoleAdmin, "superuser"},
	}
	for _, tt := range tests {
		if tt.have.Allows(tt.need) {
			t.Errorf("%q.Allows(%q) = true, want false: unknown roles allow nothing", tt.have, tt.need)
		}
	}
}

func TestParseRole(t *testing.T) {
	tests := []struct {
		in       string
		want     Role
		wantCode string
	}{
		{"viewer", RoleViewer, ""},
		{"analyst", RoleAnalyst, ""},
		{"approver", RoleApprover, ""},
		{"admin", RoleAdmin, ""},
		{" Admin\n", RoleAdmin, ""},
		{"", "", EINVALID},
		{"root", "", EINVALID},
		{"view", "", EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRole(tt.in)
			if got != tt.want || ErrorCode(err) != tt.wantCode {
				t.Errorf("ParseRole(%q) = %q, %v; want %q, code %q", tt.in, got, err, tt.want, tt.wantCode)
			}
		})
	}
}

func TestNewTokenSecret(t *testing.T) {
	secret, hash, err := NewTokenSecret()
	if err != nil {
		t.Fatalf("NewTokenSecret error: %v", err)
	}
	raw, ok := strings.CutPrefix(secret, TokenPrefix)
	if !ok {
		t.Fatalf("NewTokenSecret secret = %q, want prefix %q", secret, TokenPrefix)
	}
	if b, err := base64.RawURLEncoding.DecodeString(raw); err != nil || len(b) != 32 {
		t.Errorf("NewTokenSecret secret %q: %d bytes of base64url (%v), want 32", secret, len(b), err)
	}
	if hash != HashTokenSecret(secret) || !validTokenHash(hash) {
		t.Errorf("NewTokenSecret hash = %q, want HashTokenSecret(secret) = %q", hash, HashTokenSecret(secret))
	}
	if strings.Contains(hash, raw) {
		t.Errorf("hash %q contains the secret", hash)
	}
	secret2, hash2, err := NewTokenSecret()
	if err != nil || secret2 == secret || hash2 == hash {
		t.Errorf("two NewTokenSecret calls gave %q and %q (%v); want different secrets", secret, secret2, err)
	}
}

func TestCheckTokenUse(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		tok      Token
		wantCode string
		wantWord string
	}{
		{"live", Token{Name: "a"}, "", ""},
		{"not yet expired", Token{Name: "a", ExpiresAt: t0.Add(time.Second)}, "", ""},
		{"expired", Token{Name: "a", ExpiresAt: t0}, EUNAUTHORIZED, "expired"},
		{"revoked", Token{Name: "a", RevokedAt: t0.Add(-time.Hour)}, EUNAUTHORIZED, "revoked"},
		{"revoked and expired", Token{Name: "a", RevokedAt: t0, ExpiresAt: t0}, EUNAUTHORIZED, "revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckTokenUse(tt.tok, t0)
			if ErrorCode(err) != tt.wantCode || !strings.Contains(ErrorMessage(err), tt.wantWord) {
				t.Errorf("CheckTokenUse(%+v) = %v, want code %q saying %q", tt.tok, err, tt.wantCode, tt.wantWord)
			}
		})
	}
}
