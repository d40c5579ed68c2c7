// Package ringstat reads a ring file the way an operator's tool must: without
// taking a role, without writing a byte, and without trusting anything it
// finds. It is the one reader behind cmd/ringctl and package ringprom.
//
// Read opens the file read-only, checks what sits at the name (a regular
// file, its size), reads the header with pread and validates it with
// layout.Decode, maps only the control area read-only, loads the live words
// there with single atomic loads (as LAYOUT.md requires of every reader of a
// cursor), and probes each role's liveness lock with F_OFD_GETLK from a
// description that holds none, exactly as the engine's waiters do. A
// truncation under the mapping becomes a fault that the read turns into the
// state "truncated" (runtime/debug.SetPanicOnFault), never a crash.
//
// What the file does not say, a Snapshot does not claim: each role's
// counters are what its holder last stored in its counter block (every 64
// messages or MiB and on every slow path: LAYOUT.md section 16), copied here under
// the block's seqlock, and each consumer's or reader's Latency is its
// histogram, on rings created with telemetry. Role.Counters is a map on
// purpose: counters the engine adds to the file later are one more key,
// read here and shown by every tool without changing its shape.
//
// # Invariants
//
//   - Nothing here writes to a ring file or takes a lock on it: the file is
//     opened O_RDONLY and mapped PROT_READ, and F_OFD_GETLK only asks.
//   - Every value read from the file is checked before it is used; a value
//     no correct peer writes gives the state "corrupt" with a sentence
//     saying which value, and never an index outside what was read.
//   - Values read from a live ring race with its holders. Cursors are read
//     in the order that keeps the invariants a correct peer keeps (readers
//     before writers), and a check that fails is read again before the file
//     is called corrupt.
//
// # When not to use this
//
// To move messages: use package ring. This package sees a ring from outside
// and can only report what the file records.
package ringstat
