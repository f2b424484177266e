package sextant

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
)

// Role is what an API token may do. Roles are ordered, each allowing what
// the ones below it allow: viewer < analyst < approver < admin.
type Role string

// The roles, lowest first.
const (
	// RoleViewer reads findings, actions and the audit trail.
	RoleViewer Role = "viewer"
	// RoleAnalyst also pushes reports and changes finding statuses.
	RoleAnalyst Role = "analyst"
	// RoleApprover also approves actions.
	RoleApprover Role = "approver"
	// RoleAdmin also manages tokens and configuration.
	RoleAdmin Role = "admin"
)

// roleRank orders the roles; an unknown role has rank 0 and allows nothing.
var roleRank = map[Role]int{RoleViewer: 1, RoleAnalyst: 2, RoleApprover: 3, RoleAdmin: 4}

// ParseRole returns the role named s (case-insensitive, surrounding blanks
// ignored), or an EINVALID error for an unknown name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", Errorf(EINVALID, "unknown role %q (want viewer, analyst, approver or admin)", s)
	}
	return r, nil
}

// Valid reports whether r is one of the four roles.
func (r Role) Valid() bool { return roleRank[r] > 0 }

// Allows reports whether a token of role r may do what needs role required:
// r is required or above it. An unknown role on either side allows nothing,
// so that a typo fails closed.
func (r Role) Allows(required Role) bool {
	have, need := roleRank[r], roleRank[required]
	return have > 0 && need > 0 && have >= need
}

// TokenPrefix begins every token secret, so that a leaked token is easy to
// recognise (by secret scanners too).
const TokenPrefix = "sxt_"

// NewTokenSecret returns a new API token secret, to be shown once to whoever
// created it, and the hash to store (HashTokenSecret of the secret). The
// secret is TokenPrefix followed by 32 random bytes in unpadded base64url.
func NewTokenSecret() (secret string, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", Errorf(EINTERNAL, "new token secret: %v", err)
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashTokenSecret(secret), nil
}

// HashTokenSecret returns the hash under which a token secret is stored and
// looked up: the hex SHA-256 of the whole secret, as presented.
//
// A plain SHA-256 and not a password hash (bcrypt, argon2): a password hash
// is slow and salted to make guessing low-entropy, human-chosen secrets
// expensive, but a token secret is 256 random bits, which no guessing
// reaches, so a fast unsalted hash loses nothing — and being deterministic,
// it lets the store find a token by an indexed lookup of its hash on every
// request, without knowing its ID.
func HashTokenSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Token is an API token as the store keeps it. It never holds the secret or
// its hash: those go to TokenStore.CreateToken and TokenStore.TokenByHash
// only.
type Token struct {
	// ID identifies the token in listings and revocation; empty lets the
	// store choose one.
	ID   string `json:"id"`
	Name string `json:"name"`
	Role Role   `json:"role"`
	// CreatedAt is zero until the store sets it (to now, if the token given
	// to CreateToken had none).
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is zero for a token that does not expire; the token stops
	// working at that instant.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// RevokedAt and RevokedBy are zero while the token is not revoked.
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	RevokedBy string    `json:"revoked_by,omitempty"`
	// LastUsedAt is the last successful TokenByHash; zero if never used.
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// CreatedBy is the actor who created the token.
	CreatedBy string `json:"created_by"`
}

// Expired reports whether t has expired at now.
func (t Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// TokenStore keeps API tokens: hashed at rest, expirable, revocable, never
// deleted. internal/sqlite and internal/postgres implement it;
// storetest.RunTokens is the conformance suite both pass.
type TokenStore interface {
	// CreateToken stores tok under hash (HashTokenSecret of its secret) and
	// returns it as stored, with its ID and CreatedAt set if they were
	// empty. A bad name, role, creator or hash is EINVALID; a hash or ID
	// stored before is ECONFLICT.
	CreateToken(ctx context.Context, tok Token, hash string) (Token, error)
	// TokenByHash returns the token stored under hash and records now as
	// its LastUsedAt, unless the recorded use is less than
	// TokenUseGranularity older (so that a busy token does not cost a write
	// on every request). An unknown hash is ENOTFOUND; a revoked or expired
	// (at now) token is EUNAUTHORIZED, with a message that says which, and
	// is returned beside the error, unchanged, so that the caller can
	// audit who was refused.
	TokenByHash(ctx context.Context, hash string, now time.Time) (Token, error)
	// RevokeToken revokes the token id on behalf of actor. An unknown id is
	// ENOTFOUND; revoking a revoked token changes nothing.
	RevokeToken(ctx context.Context, id, actor string) error
	// Tokens returns every token, revoked and expired ones included, oldest
	// first.
	Tokens(ctx context.Context) ([]Token, error)
}

// CheckToken checks the arguments of TokenStore.CreateToken: a name, a valid
// role, a creator and a hash of HashTokenSecret's form. Errors are EINVALID.
func CheckToken(tok Token, hash string) error {
	if strings.TrimSpace(tok.Name) == "" {
		return Errorf(EINVALID, "a token needs a name")
	}
	if !tok.Role.Valid() {
		return Errorf(EINVALID, "token %q: unknown role %q", tok.Name, tok.Role)
	}
	if strings.TrimSpace(tok.CreatedBy) == "" {
		return Errorf(EINVALID, "token %q: a token needs a creator", tok.Name)
	}
	if !validTokenHash(hash) {
		return Errorf(EINVALID, "token %q: hash is not a hex SHA-256", tok.Name)
	}
	return nil
}

func validTokenHash(hash string) bool {
	if len(hash) != 2*sha256.Size {
		return false
	}
	for _, c := range []byte(hash) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// TokenUseGranularity is how precisely TokenStore records a token's last
// use.
const TokenUseGranularity = time.Minute

// TokenUseStale reports whether a token last used at last should have its
// use at now recorded.
func TokenUseStale(last, now time.Time) bool {
	return last.IsZero() || now.Sub(last) >= TokenUseGranularity || now.Before(last)
}

// CheckTokenUse returns the EUNAUTHORIZED error of TokenStore.TokenByHash
// for a revoked or expired token at now, or nil for a usable one.
func CheckTokenUse(tok Token, now time.Time) error {
	if !tok.RevokedAt.IsZero() {
		return Errorf(EUNAUTHORIZED, "token %q was revoked at %s", tok.Name, tok.RevokedAt.UTC().Format(time.RFC3339))
	}
	if tok.Expired(now) {
		return Errorf(EUNAUTHORIZED, "token %q expired at %s", tok.Name, tok.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// CheckTokenRevoke checks the arguments of TokenStore.RevokeToken: an ID and
// an actor that are not blank. Errors are EINVALID.
func CheckTokenRevoke(id, actor string) error {
	if strings.TrimSpace(id) == "" {
		return Errorf(EINVALID, "revoke token: no token ID")
	}
	if strings.TrimSpace(actor) == "" {
		return Errorf(EINVALID, "revoke token %q: a revocation needs an actor", id)
	}
	return nil
}
