package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/sqlstore"
)

var _ sextant.TokenStore = (*DB)(nil)

const tokenColumns = `id, name, role, created_at, created_by, expires_at, revoked_at, revoked_by, last_used_at`

func scanToken(row interface{ Scan(...any) error }) (sextant.Token, error) {
	var (
		t                          sextant.Token
		role                       string
		created                    int64
		expires, revoked, lastUsed sql.NullInt64
		revokedBy                  sql.NullString
	)
	if err := row.Scan(&t.ID, &t.Name, &role, &created, &t.CreatedBy, &expires, &revoked, &revokedBy, &lastUsed); err != nil {
		return t, err
	}
	t.Role, t.CreatedAt, t.RevokedBy = sextant.Role(role), fromMicros(created), revokedBy.String
	t.ExpiresAt, t.RevokedAt, t.LastUsedAt = fromNullMicros(expires), fromNullMicros(revoked), fromNullMicros(lastUsed)
	return t, nil
}

// nullMicros is micros(t), or NULL for the zero time.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

func fromNullMicros(us sql.NullInt64) time.Time {
	if !us.Valid {
		return time.Time{}
	}
	return fromMicros(us.Int64)
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
	tok.CreatedAt = fromMicros(micros(tok.CreatedAt))
	tok.ExpiresAt = fromNullMicros(nullMicros(tok.ExpiresAt))
	tok.RevokedAt, tok.RevokedBy, tok.LastUsedAt = time.Time{}, "", time.Time{}
	// DO NOTHING on the ID or the hash index, so that a duplicate is an
	// ECONFLICT without matching driver error codes.
	r, err := db.w.ExecContext(ctx, `INSERT INTO tokens (id, name, role, hash, created_at, created_by, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		tok.ID, tok.Name, string(tok.Role), hash, micros(tok.CreatedAt), tok.CreatedBy, nullMicros(tok.ExpiresAt))
	if err != nil {
		return sextant.Token{}, fmt.Errorf("create token: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return sextant.Token{}, sextant.Errorf(sextant.ECONFLICT, "token %q: a token with this ID or secret already exists", tok.Name)
	}
	return tok, nil
}

// TokenByHash implements sextant.TokenStore.
func (db *DB) TokenByHash(ctx context.Context, hash string, now time.Time) (sextant.Token, error) {
	// Most requests read only: the use is recorded at most once a minute.
	tok, err := scanToken(db.r.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	switch {
	case errors.Is(err, sql.ErrNoRows):
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
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return sextant.Token{}, fmt.Errorf("look up token: %w", err)
	}
	defer tx.Rollback()
	tok, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return sextant.Token{}, sextant.Errorf(sextant.ENOTFOUND, "unknown token")
	}
	if err != nil {
		return sextant.Token{}, fmt.Errorf("look up token: %w", err)
	}
	if err := sextant.CheckTokenUse(tok, now); err != nil {
		return tok, err
	}
	tok.LastUsedAt = fromMicros(micros(now))
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, micros(now), tok.ID); err != nil {
		return sextant.Token{}, fmt.Errorf("look up token: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return sextant.Token{}, fmt.Errorf("look up token: %w", err)
	}
	return tok, nil
}

// RevokeToken implements sextant.TokenStore.
func (db *DB) RevokeToken(ctx context.Context, id, actor string) error {
	if err := sextant.CheckTokenRevoke(id, actor); err != nil {
		return err
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM tokens WHERE id = ?`, id).Scan(&n); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if n == 0 {
		return sextant.Errorf(sextant.ENOTFOUND, "token %q not found", id)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL`,
		micros(db.Now()), actor, id); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// Tokens implements sextant.TokenStore.
func (db *DB) Tokens(ctx context.Context) ([]sextant.Token, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []sextant.Token
	for rows.Next() {
		tok, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		out = append(out, tok)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}
