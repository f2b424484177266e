// Package audit keeps sextant's audit trail: an append-only log of
// sextant.AuditEntry values, each chained to the one before it by a SHA-256
// hash (see sextant.AuditEntry.ComputeHash), and the tools to check and ship
// it.
//
// Log appends entries to a store through the small Appender interface;
// Verify walks a store through Reader and reports the first entry that was
// edited, deleted or moved; ExportJSONL writes the log as JSON lines for a
// SIEM. Memory is an in-memory store for tests.
//
// # What the chain can and cannot show
//
// Editing any field of an entry, deleting an entry from the middle or the
// start of the log, inserting one, or moving one is detected, and Verify names
// the first entry where the chain breaks. Two changes are not visible from
// the log alone, because what is left is a valid chain:
//
//   - removing entries from the end (the tail), and
//   - rewriting an entry and recomputing every hash after it, which anyone
//     with write access to the store and this source code can do.
//
// The remedy for both is an anchor kept outside the store: `sextant audit
// verify` prints the head (the last entry's Seq and Hash); record it
// somewhere the database's writers cannot change (a ticket, a SIEM, a signed
// commit) and pass it back to Verify as an Anchor later. Verify then reports
// a log that ends before the anchored entry, or whose entry at the anchored
// Seq has a different hash.
package audit
