package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sextant-dev/sextant"
)

// Appender is the storage a Log writes to.
//
// A store that is shared by several processes (PostgreSQL with N replicas)
// must make Append fail with a sextant.ECONFLICT error when an entry with the
// same Seq already exists — a primary key on Seq does it — so that two
// writers who read the same Last never both succeed. An Appender may be
// bound to a database transaction, so that the audit entry commits with the
// change it records.
type Appender interface {
	// Last returns the entry with the highest Seq, or nil when the log is
	// empty.
	Last(ctx context.Context) (*sextant.AuditEntry, error)
	// Append stores e exactly as given. It fails with sextant.ECONFLICT when
	// e.Seq is already taken.
	Append(ctx context.Context, e sextant.AuditEntry) error
}

// Sequencer is an optional capability of an Appender: AppendNext reads the
// last entry and stores the entry next builds from it in one atomic step (a
// transaction that holds the log's lock), so that writers in other
// processes never race for the same Seq. Log.Append uses it when the store
// has it.
type Sequencer interface {
	AppendNext(ctx context.Context, next func(last *sextant.AuditEntry) sextant.AuditEntry) (sextant.AuditEntry, error)
}

// Reader is the storage Verify and ExportJSONL read from.
type Reader interface {
	// Entries yields every entry in Seq order (ORDER BY seq), stopping at
	// the first error, which it yields with a zero entry. The entries yielded
	// may share memory with the store and must not be modified.
	Entries(ctx context.Context) iter.Seq2[sextant.AuditEntry, error]
}

// appendAttempts bounds how often Log.Append retries after another process
// took the Seq it meant to use.
const appendAttempts = 5

// Log appends entries to the audit trail. It is safe for concurrent use:
// appends through one Log are serialised, and appends from other processes
// to the same store are resolved by the store's ECONFLICT (see Appender).
type Log struct {
	// Store is where entries go.
	Store Appender
	// Now returns the time recorded in each entry. NewLog sets it to
	// time.Now; nil also means time.Now.
	Now func() time.Time

	mu sync.Mutex
}

// NewLog returns a Log that appends to store and takes times from the
// system clock.
func NewLog(store Appender) *Log {
	return &Log{Store: store, Now: time.Now}
}

// Append records that actor did action to subject, with details marshalled
// to JSON (a json.RawMessage is used as it is; nil means no details). It
// assigns the entry's Seq, Time, PrevHash and Hash, stores it, and returns it.
//
// Time is truncated to microseconds, the precision PostgreSQL's timestamptz
// keeps, so that a store never changes a hashed value by rounding it.
// Details are stored in canonical form (sextant.CanonicalJSON).
//
// actor and action must be non-empty; actor, action and subject must be
// valid UTF-8. Failures are *sextant.Error: EINVALID for bad arguments,
// ECONFLICT when other writers kept taking the next Seq, or the store's error.
func (l *Log) Append(ctx context.Context, actor, action, subject string, details any) (sextant.AuditEntry, error) {
	build, err := l.Next(actor, action, subject, details)
	if err != nil {
		return sextant.AuditEntry{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if sq, ok := l.Store.(Sequencer); ok {
		e, err := sq.AppendNext(ctx, build)
		if err != nil {
			return sextant.AuditEntry{}, fmt.Errorf("audit append: %w", err)
		}
		return e, nil
	}
	for attempt := 1; ; attempt++ {
		last, err := l.Store.Last(ctx)
		if err != nil {
			return sextant.AuditEntry{}, fmt.Errorf("audit append: read last entry: %w", err)
		}
		e := build(last)
		err = l.Store.Append(ctx, e)
		if err == nil {
			return e, nil
		}
		if sextant.ErrorCode(err) != sextant.ECONFLICT || attempt == appendAttempts {
			return sextant.AuditEntry{}, fmt.Errorf("audit append: %w", err)
		}
	}
}

// Next checks an entry's arguments as Append does and returns the function
// that makes the entry from the last one (nil for the first), for a store
// that appends it within a transaction of its own (the intake of a payload
// and its audit entry commit together).
func (l *Log) Next(actor, action, subject string, details any) (func(last *sextant.AuditEntry) sextant.AuditEntry, error) {
	if actor == "" || action == "" {
		return nil, sextant.Errorf(sextant.EINVALID, "audit append: actor and action are required")
	}
	for _, s := range []string{actor, action, subject} {
		if !utf8.ValidString(s) {
			return nil, sextant.Errorf(sextant.EINVALID, "audit append: %q is not valid UTF-8", s)
		}
	}
	raw, err := canonicalDetails(details)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}

	build := func(last *sextant.AuditEntry) sextant.AuditEntry {
		e := sextant.AuditEntry{
			Seq:      1,
			Time:     now().UTC().Truncate(time.Microsecond),
			Actor:    actor,
			Action:   action,
			Subject:  subject,
			Details:  raw,
			PrevHash: sextant.AuditGenesisHash,
		}
		if last != nil {
			e.Seq = last.Seq + 1
			e.PrevHash = last.Hash
		}
		e.Hash = e.ComputeHash()
		return e
	}
	return build, nil
}

// canonicalDetails turns Append's details argument into canonical JSON.
func canonicalDetails(details any) (json.RawMessage, error) {
	var raw []byte
	switch d := details.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if len(d) == 0 {
			return nil, nil
		}
		raw = d
	default:
		b, err := json.Marshal(d)
		if err != nil {
			return nil, sextant.Errorf(sextant.EINVALID, "audit append: details: %v", err)
		}
		raw = b
	}
	c, err := sextant.CanonicalJSON(raw)
	if err != nil {
		return nil, sextant.Errorf(sextant.EINVALID, "audit append: details: %s", sextant.ErrorMessage(err))
	}
	return c, nil
}
