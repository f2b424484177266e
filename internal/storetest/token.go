package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sextant-dev/sextant"
)

// RunTokens runs the conformance suite of sextant.TokenStore. open returns a
// new, empty store for one test; it closes the store in a t.Cleanup.
func RunTokens(t *testing.T, open func(t *testing.T) sextant.TokenStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s sextant.TokenStore)
	}{
		{"CreateLookupRevoke", testTokenLifecycle},
		{"UnknownHash", testTokenUnknown},
		{"Expiry", testTokenExpiry},
		{"DuplicateHash", testTokenDuplicate},
		{"Invalid", testTokenInvalid},
		{"ListingHidesSecrets", testTokenListing},
		{"UseRecordedOncePerMinute", testTokenUseGranularity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

func newSecret(t *testing.T) (secret, hash string) {
	t.Helper()
	secret, hash, err := sextant.NewTokenSecret()
	if err != nil {
		t.Fatalf("NewTokenSecret error: %v", err)
	}
	return secret, hash
}

func createToken(t *testing.T, s sextant.TokenStore, tok sextant.Token, hash string) sextant.Token {
	t.Helper()
	got, err := s.CreateToken(context.Background(), tok, hash)
	if err != nil {
		t.Fatalf("CreateToken(%q) error: %v", tok.Name, err)
	}
	return got
}

func tokens(t *testing.T, s sextant.TokenStore) []sextant.Token {
	t.Helper()
	list, err := s.Tokens(context.Background())
	if err != nil {
		t.Fatalf("Tokens error: %v", err)
	}
	return list
}

// wantRefused checks that err is EUNAUTHORIZED with a message containing
// why.
func wantRefused(t *testing.T, call string, err error, why string) {
	t.Helper()
	wantCode(t, call, err, sextant.EUNAUTHORIZED)
	if msg := sextant.ErrorMessage(err); !strings.Contains(msg, why) {
		t.Errorf("%s error message = %q, want it to say %q", call, msg, why)
	}
}

func testTokenLifecycle(t *testing.T, s sextant.TokenStore) {
	ctx := context.Background()
	_, hash := newSecret(t)
	tok := createToken(t, s, sextant.Token{Name: "ci", Role: sextant.RoleAnalyst, CreatedBy: "alice",
		CreatedAt: t0, ExpiresAt: at(60)}, hash)
	if tok.ID == "" {
		t.Fatalf("CreateToken returned no ID")
	}
	want := sextant.Token{ID: tok.ID, Name: "ci", Role: sextant.RoleAnalyst, CreatedBy: "alice", CreatedAt: t0, ExpiresAt: at(60)}
	if diff := cmp.Diff(want, tok); diff != "" {
		t.Errorf("CreateToken mismatch (-want +got):\n%s", diff)
	}

	got, err := s.TokenByHash(ctx, hash, at(1))
	if err != nil {
		t.Fatalf("TokenByHash error: %v", err)
	}
	want.LastUsedAt = at(1)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TokenByHash mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]sextant.Token{want}, tokens(t, s)); diff != "" {
		t.Errorf("Tokens after use mismatch (-want +got):\n%s", diff)
	}

	if err := s.RevokeToken(ctx, tok.ID, "bob"); err != nil {
		t.Fatalf("RevokeToken error: %v", err)
	}
	got, err = s.TokenByHash(ctx, hash, at(2))
	wantRefused(t, "TokenByHash of a revoked token", err, "revoked")
	if got.ID != tok.ID {
		t.Errorf("TokenByHash of a revoked token returned %q, want the token %q beside the error", got.ID, tok.ID)
	}
	list := tokens(t, s)
	if len(list) != 1 || list[0].RevokedAt.IsZero() || list[0].RevokedBy != "bob" || !list[0].LastUsedAt.Equal(at(1)) {
		t.Fatalf("Tokens after revocation = %+v, want one token revoked by bob, last used at %v", list, at(1))
	}
	revokedAt := list[0].RevokedAt

	// Revoking again changes nothing.
	if err := s.RevokeToken(ctx, tok.ID, "carol"); err != nil {
		t.Errorf("RevokeToken of a revoked token error: %v", err)
	}
	if list := tokens(t, s); !list[0].RevokedAt.Equal(revokedAt) || list[0].RevokedBy != "bob" {
		t.Errorf("second revocation changed the token to %+v; want revoked at %v by bob", list[0], revokedAt)
	}
	wantCode(t, "RevokeToken(unknown)", s.RevokeToken(ctx, "tok_unknown", "bob"), sextant.ENOTFOUND)
	wantCode(t, "RevokeToken without actor", s.RevokeToken(ctx, tok.ID, " "), sextant.EINVALID)
}

func testTokenUnknown(t *testing.T, s sextant.TokenStore) {
	_, err := s.TokenByHash(context.Background(), sextant.HashTokenSecret("sxt_unknown"), t0)
	wantCode(t, "TokenByHash(unknown)", err, sextant.ENOTFOUND)
	if list := tokens(t, s); len(list) != 0 {
		t.Errorf("Tokens of an empty store = %+v, want none", list)
	}
}

func testTokenExpiry(t *testing.T, s sextant.TokenStore) {
	ctx := context.Background()
	_, hash := newSecret(t)
	tok := createToken(t, s, sextant.Token{Name: "short", Role: sextant.RoleViewer, CreatedBy: "alice",
		CreatedAt: t0, ExpiresAt: at(10)}, hash)
	if _, err := s.TokenByHash(ctx, hash, at(10).Add(-time.Microsecond)); err != nil {
		t.Errorf("TokenByHash just before expiry error: %v", err)
	}
	for _, now := range []time.Time{at(10), at(11)} {
		got, err := s.TokenByHash(ctx, hash, now)
		wantRefused(t, fmt.Sprintf("TokenByHash at %v, expiry %v", now, at(10)), err, "expired")
		if got.ID != tok.ID {
			t.Errorf("TokenByHash of an expired token returned %q, want the token %q beside the error", got.ID, tok.ID)
		}
	}
	if list := tokens(t, s); !list[0].LastUsedAt.Equal(at(10).Add(-time.Microsecond)) {
		t.Errorf("LastUsedAt = %v, want the last successful use %v", list[0].LastUsedAt, at(10).Add(-time.Microsecond))
	}

	_, forever := newSecret(t)
	createToken(t, s, sextant.Token{Name: "forever", Role: sextant.RoleViewer, CreatedBy: "alice", CreatedAt: t0}, forever)
	if _, err := s.TokenByHash(ctx, forever, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Errorf("TokenByHash of a token without expiry error: %v", err)
	}
}

func testTokenDuplicate(t *testing.T, s sextant.TokenStore) {
	ctx := context.Background()
	_, hash := newSecret(t)
	first := createToken(t, s, sextant.Token{Name: "one", Role: sextant.RoleAdmin, CreatedBy: "alice"}, hash)
	_, err := s.CreateToken(ctx, sextant.Token{Name: "two", Role: sextant.RoleViewer, CreatedBy: "mallory"}, hash)
	wantCode(t, "CreateToken with a stored hash", err, sextant.ECONFLICT)
	_, other := newSecret(t)
	_, err = s.CreateToken(ctx, sextant.Token{ID: first.ID, Name: "three", Role: sextant.RoleViewer, CreatedBy: "alice"}, other)
	wantCode(t, "CreateToken with a stored ID", err, sextant.ECONFLICT)
	if list := tokens(t, s); len(list) != 1 || list[0].Name != "one" || list[0].Role != sextant.RoleAdmin {
		t.Errorf("Tokens after conflicts = %+v, want the first token only", list)
	}
	got, err := s.TokenByHash(ctx, hash, t0)
	if err != nil || got.ID != first.ID || got.Role != sextant.RoleAdmin {
		t.Errorf("TokenByHash = %+v, %v; want the first token, role admin", got, err)
	}
}

func testTokenInvalid(t *testing.T, s sextant.TokenStore) {
	secret, hash := newSecret(t)
	ok := sextant.Token{Name: "ci", Role: sextant.RoleAnalyst, CreatedBy: "alice"}
	tests := []struct {
		name string
		tok  func(sextant.Token) sextant.Token
		hash string
	}{
		{"no name", func(tok sextant.Token) sextant.Token { tok.Name = " "; return tok }, hash},
		{"unknown role", func(tok sextant.Token) sextant.Token { tok.Role = "root"; return tok }, hash},
		{"no role", func(tok sextant.Token) sextant.Token { tok.Role = ""; return tok }, hash},
		{"no creator", func(tok sextant.Token) sextant.Token { tok.CreatedBy = ""; return tok }, hash},
		{"secret instead of hash", func(tok sextant.Token) sextant.Token { return tok }, secret},
		{"upper-case hash", func(tok sextant.Token) sextant.Token { return tok }, strings.ToUpper(hash)},
		{"empty hash", func(tok sextant.Token) sextant.Token { return tok }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateToken(context.Background(), tt.tok(ok), tt.hash)
			wantCode(t, "CreateToken", err, sextant.EINVALID)
		})
	}
	if list := tokens(t, s); len(list) != 0 {
		t.Errorf("Tokens after invalid creations = %+v, want none", list)
	}
}

func testTokenListing(t *testing.T, s sextant.TokenStore) {
	ctx := context.Background()
	var secrets, hashes, names []string
	for i, role := range []sextant.Role{sextant.RoleAdmin, sextant.RoleViewer, sextant.RoleApprover} {
		secret, hash := newSecret(t)
		name := fmt.Sprintf("token-%d", i)
		// Created newest first, to see that listing orders by CreatedAt.
		createToken(t, s, sextant.Token{Name: name, Role: role, CreatedBy: "alice", CreatedAt: at(10 - i)}, hash)
		if _, err := s.TokenByHash(ctx, hash, at(20)); err != nil {
			t.Fatalf("TokenByHash error: %v", err)
		}
		secrets, hashes, names = append(secrets, secret), append(hashes, hash), append([]string{name}, names...)
	}
	list := tokens(t, s)
	var got []string
	for _, tok := range list {
		got = append(got, tok.Name)
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("Tokens order mismatch (-want +got):\n%s", diff)
	}
	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b) + fmt.Sprintf("%+v", list)
	for i := range secrets {
		for _, s := range []string{secrets[i], hashes[i], strings.TrimPrefix(secrets[i], sextant.TokenPrefix)} {
			if strings.Contains(text, s) {
				t.Errorf("Tokens listing exposes a secret or hash %q:\n%s", s, text)
			}
		}
	}
}

// A busy token's use is recorded at most once per TokenUseGranularity.
func testTokenUseGranularity(t *testing.T, s sextant.TokenStore) {
	ctx := context.Background()
	_, hash := newSecret(t)
	createToken(t, s, sextant.Token{Name: "busy", Role: sextant.RoleViewer, CreatedBy: "alice", CreatedAt: t0}, hash)
	for _, now := range []time.Time{at(1), at(1).Add(time.Second), at(1).Add(59 * time.Second)} {
		got, err := s.TokenByHash(ctx, hash, now)
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastUsedAt.Equal(at(1)) {
			t.Errorf("TokenByHash at %v: LastUsedAt = %v, want the first use %v", now, got.LastUsedAt, at(1))
		}
	}
	if _, err := s.TokenByHash(ctx, hash, at(2)); err != nil {
		t.Fatal(err)
	}
	if list := tokens(t, s); !list[0].LastUsedAt.Equal(at(2)) {
		t.Errorf("after a use a minute later, LastUsedAt = %v, want %v", list[0].LastUsedAt, at(2))
	}
}
