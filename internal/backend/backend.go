// Package backend opens sextant's database, SQLite or PostgreSQL, from the
// one string a user gives (--database, SEXTANT_DATABASE, the config file).
// It is the only package that knows both stores; everything else sees a DB.
package backend

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/sextant-dev/sextant"
	"github.com/sextant-dev/sextant/internal/audit"
	"github.com/sextant-dev/sextant/internal/postgres"
	"github.com/sextant-dev/sextant/internal/sqlite"
)

// DB is an open sextant database: the findings, actions, tokens, ingests,
// deliveries, previews, approvals and audit trail stores, on SQLite
// (*sqlite.DB) or PostgreSQL (*postgres.DB).
type DB interface {
	sextant.Store
	sextant.ActionStore
	sextant.ActionStats
	sextant.TokenStore
	sextant.IngestStore
	sextant.DeliveryStore
	sextant.PreviewStore
	sextant.ApprovalStore
	audit.Appender
	audit.Reader
	// Ping checks that the database answers and its schema is the one this
	// binary migrates to (for /readyz); failures are EUNAVAILABLE.
	Ping(ctx context.Context) error
	// Close closes the database.
	Close() error
}

var (
	_ DB = (*sqlite.DB)(nil)
	_ DB = (*postgres.DB)(nil)
)

// Open opens the database named by database and applies any pending
// migrations:
//
//   - postgres://… or postgresql://… (the scheme in any case) is a
//     PostgreSQL connection URL (see internal/postgres);
//   - anything else is the path of a SQLite file, created if it does not
//     exist; a leading "sqlite:" or "file:" is stripped, so sqlite:data.db
//     and file:/var/lib/sextant/sextant.db work. The rest is a file name,
//     not a URI: "?" and "#" are part of it.
//
// Any other URL scheme ("mysql://…") is an EINVALID error, never a file
// name. Errors name the database as Redact shows it, without a password.
func Open(ctx context.Context, database string) (DB, error) {
	kind, target, err := parse(database)
	if err != nil {
		return nil, err
	}
	switch kind {
	case kindPostgres:
		db, err := postgres.Open(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("open database %s: %w", Redact(database), err)
		}
		return db, nil
	default:
		db, err := sqlite.Open(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("open database %s: %w", target, err)
		}
		return db, nil
	}
}

// SQLitePath returns the file path that database names when it is a SQLite
// database, as Open reads it, and false when it is a PostgreSQL URL or
// invalid. Callers that must not create a database check that the file
// exists before they Open it.
func SQLitePath(database string) (string, bool) {
	kind, target, err := parse(database)
	if err != nil || kind != kindSQLite {
		return "", false
	}
	return target, true
}

type kind int

const (
	kindSQLite kind = iota
	kindPostgres
)

// parse tells which store database names and what to pass to its Open.
func parse(database string) (kind, string, error) {
	if strings.TrimSpace(database) == "" {
		return 0, "", sextant.Errorf(sextant.EINVALID, "no database given: want a SQLite file path or a postgres:// URL")
	}
	if isPostgresURL(database) {
		// pgx recognises a URL by its lowercase scheme only.
		scheme, rest, _ := strings.Cut(database, "://")
		return kindPostgres, strings.ToLower(scheme) + "://" + rest, nil
	}
	path := database
	for _, prefix := range []string{"sqlite:", "file:"} {
		if p, ok := strings.CutPrefix(database, prefix); ok {
			path = p
			break
		}
	}
	if hasURLScheme(path) {
		return 0, "", sextant.Errorf(sextant.EINVALID,
			"database %s: unsupported URL; want a postgres:// or postgresql:// URL, or a SQLite file path (sqlite:PATH)", Redact(database))
	}
	if strings.HasPrefix(path, "//") && path != database {
		return 0, "", sextant.Errorf(sextant.EINVALID, "database %s: want sqlite:PATH or file:PATH, without //", database)
	}
	if path == "" {
		return 0, "", sextant.Errorf(sextant.EINVALID, "database %s: no file path after the prefix", database)
	}
	return kindSQLite, path, nil
}

func isPostgresURL(s string) bool {
	lower := strings.ToLower(s)
	return strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://")
}

// passwordMask replaces passwords in Redact's output.
const passwordMask = "xxxxx"

// Redact returns database fit for messages and logs: a URL (postgres://,
// or any other scheme://) with its password, and any password or
// sslpassword query parameter, replaced by "xxxxx". Other values (file
// paths) are returned unchanged.
func Redact(database string) string {
	if !hasURLScheme(database) {
		return database
	}
	u, err := url.Parse(database)
	if err != nil {
		return redactUnparsed(database)
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), passwordMask)
	}
	q := u.Query()
	changed := false
	for k := range q {
		if lk := strings.ToLower(k); lk == "password" || lk == "sslpassword" {
			q[k] = []string{passwordMask}
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// hasURLScheme reports whether s starts with a URL scheme (RFC 3986: a
// letter, then letters, digits, '+', '-' or '.') and "://".
func hasURLScheme(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	if !ok || scheme == "" {
		return false
	}
	for i, c := range scheme {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// redactUnparsed masks a URL that net/url cannot parse: all of
// the user information, and everything after a password= or sslpassword=
// up to the next '&' or blank.
func redactUnparsed(database string) string {
	scheme, rest, _ := strings.Cut(database, "://")
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = passwordMask + rest[i:]
	}
	var b strings.Builder
	b.WriteString(scheme + "://")
	for {
		i := indexPasswordParam(rest)
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		b.WriteString(rest[:i] + passwordMask)
		rest = rest[i:]
		end := strings.IndexAny(rest, "& ")
		if end < 0 {
			return b.String()
		}
		rest = rest[end:]
	}
}

// indexPasswordParam returns the index just after the first "password=" or
// "sslpassword=" in s (case-insensitive), or -1.
func indexPasswordParam(s string) int {
	const p = "password="
	for i := 0; i+len(p) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(p)], p) {
			return i + len(p)
		}
	}
	return -1
}
