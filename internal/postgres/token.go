package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

var _ sextant.TokenStore = (*DB)(nil)

const tokenColumns = `id, name, role, created_at, created_by, expires_at, revoked_at, revoked_by, last_used_at`

func scanToken(row pgx.Row) (sextant.Token, error) {
	var (
		t                          sextant.Token
		role                       string
		expires, revoked, lastUsed *time.Time
		revokedBy                  *string
	)
	if err := row.Scan(&t.ID, &t.Name, &role, &t.CreatedAt, &t.CreatedBy, &expires, &revoked, &revokedBy, &lastUsed); err != nil {
		return t, err
	}
	t.Role, t.CreatedAt = sextant.Role(role), t.CreatedAt.UTC()
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromNull(expires), fromNull(revoked), fromNull(lastUsed)
	if revokedBy != nil {
		t.RevokedBy = *revokedBy
	}
	return t, nil
}

// null is ts(t), or NULL for the zero time.
func null(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := ts(t)
	return &v
}

func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// CreateToken implements sextant.TokenStore.
func (db *DB) CreateToken(ctx context.Context, tok sextant.Token, hash string) (sextant.Token, error) {
	if err := sextant.CheckToken(tok, hash); err != nil {
		return sextant.Token{}, err
	}
	if tok.ID == "" {
		tok.ID = sqlstore.NewID("tok_")
	}
	if tok.CreatedAt.IsZero() {
		tok.CreatedAt = db.Now()
	}
	// Times read back as the store keeps them.
	tok.CreatedAt = ts(tok.CreatedAt)
	tok.ExpiresAt = fromNull(null(tok.ExpiresAt))
	tok.RevokedAt, tok.RevokedBy, tok.LastUsedAt = time.Time{}, "", time.Time{}
	// DO NOTHING on the ID or the hash index, so that a duplicate is an
	// ECONFLICT without matching driver error codes.
	tag, err := db.pool.Exec(ctx, `INSERT INTO tokens (id, name, role, hash, created_at, created_by, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		tok.ID, tok.Name, string(tok.Role), hash, tok.CreatedAt, tok.CreatedBy, null(tok.ExpiresAt))
	if err != nil {
		return sextant.Token{}, fmt.Errorf("create token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return sextant.Token{}, sextant.Errorf(sextant.ECONFLICT, "token %q: a token with this ID or secret already exists", tok.Name)
	}
	return tok, nil
}

// TokenByHash implements sextant.TokenStore.
func (db *DB) TokenByHash(ctx context.Context, hash string, now time.Time) (sextant.Token, error) {
	// Most requests read only: the use is recorded at most once a minute.
	tok, err := scanToken(db.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`, hash))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return sextant.Token{}, sextant.Errorf(sextant.ENOTFOUND, "unknown token")
	case err != nil:
		return sextant.Token{}, fmt.Errorf("look up token: %w", err)
	}
	if err := sextant.CheckTokenUse(tok, now); err != nil {
		return tok, err
	}
	if !sextant.TokenUseStale(tok.LastUsedAt, now) {
		return tok, nil
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var err error
		tok, err = scanToken(tx.QueryRow(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = $1 FOR UPDATE`, hash))
		if errors.Is(err, pgx.ErrNoRows) {
			return sextant.Errorf(sextant.ENOTFOUND, "unknown token")
		}
		if err != nil {
			return fmt.Errorf("look up token: %w", err)
		}
		if err := sextant.CheckTokenUse(tok, now); err != nil {
			return err
		}
		tok.LastUsedAt = ts(now)
		if _, err := tx.Exec(ctx, `UPDATE tokens SET last_used_at = $1 WHERE id = $2`, tok.LastUsedAt, tok.ID); err != nil {
			return fmt.Errorf("look up token: %w", err)
		}
		return nil
	})
	if sextant.ErrorCode(err) == sextant.EUNAUTHORIZED {
		return tok, err
	}
	if err != nil {
		return sextant.Token{}, err
	}
	return tok, nil
}

// RevokeToken implements sextant.TokenStore.
func (db *DB) RevokeToken(ctx context.Context, id, actor string) error {
	if err := sextant.CheckTokenRevoke(id, actor); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM tokens WHERE id = $1`, id).Scan(&n); err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if n == 0 {
			return sextant.Errorf(sextant.ENOTFOUND, "token %q not found", id)
		}
		if _, err := tx.Exec(ctx, `UPDATE tokens SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL`,
			ts(db.Now()), actor, id); err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		return nil
	})
}

// Tokens implements sextant.TokenStore.
func (db *DB) Tokens(ctx context.Context) ([]sextant.Token, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sextant.Token, error) { return scanToken(row) })
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}
