package audit

import (
	"context"
	"iter"
	"slices"
	"sync"

	"github.com/sextant-dev/sextant"
)

var (
	_ Appender = (*Memory)(nil)
	_ Reader   = (*Memory)(nil)
)

// Memory is an audit store in memory, for tests. The zero value is an empty
// log ready to use; it is safe for concurrent use.
type Memory struct {
	mu      sync.RWMutex
	entries []sextant.AuditEntry
}

// Last returns the last entry stored, or nil when there is none.
func (m *Memory) Last(ctx context.Context) (*sextant.AuditEntry, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.entries) == 0 {
		return nil, nil
	}
	e := m.entries[len(m.entries)-1]
	return &e, nil
}

// Append stores a copy of e. It fails with sextant.ECONFLICT unless e.Seq
// is greater than the last entry's, as a primary key on Seq would in a
// database.
func (m *Memory) Append(ctx context.Context, e sextant.AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.entries); n > 0 && e.Seq <= m.entries[n-1].Seq {
		return sextant.Errorf(sextant.ECONFLICT, "audit entry %d already exists", e.Seq)
	}
	e.Details = slices.Clone(e.Details)
	m.entries = append(m.entries, e)
	return nil
}

// Entries yields the stored entries in the order they are held, which is
// Seq order unless Tamper changed it.
func (m *Memory) Entries(ctx context.Context) iter.Seq2[sextant.AuditEntry, error] {
	return func(yield func(sextant.AuditEntry, error) bool) {
		// The lock is taken per entry so that a slow consumer (an export to
		// a network writer) does not block appends.
		for i := 0; ; i++ {
			if i%1024 == 0 {
				if err := ctx.Err(); err != nil {
					yield(sextant.AuditEntry{}, err)
					return
				}
			}
			m.mu.RLock()
			if i >= len(m.entries) {
				m.mu.RUnlock()
				return
			}
			e := m.entries[i]
			m.mu.RUnlock()
			if !yield(e, nil) {
				return
			}
		}
	}
}

// Tamper replaces the stored entries with what f returns when given them.
// It lets tests play someone with write access to the database: edit a
// field, delete, insert or reorder rows. The slice order is the order
// Entries yields.
func (m *Memory) Tamper(f func([]sextant.AuditEntry) []sextant.AuditEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = f(m.entries)
}
