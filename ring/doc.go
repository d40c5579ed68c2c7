// Package ring moves messages between processes on one machine through a
// ring of slots in a shared-memory file: no system call on the data path,
// no copy the caller did not ask for, and a futex sleep only when the ring
// is empty (consumer) or full (producer).
//
//	// the producer's process (error checks left out)
//	r, err := ring.Create("quotes", ring.Options{Kind: ring.SPSC, SlotSize: 256, Slots: 1 << 16})
//	p, err := r.Producer()
//	buf, err := p.Claim(ctx) // the slot itself
//	n := copy(buf, quote)
//	err = p.Commit(n)        // one store publishes it
//
//	// the consumer's process
//	r, err := ring.Open("quotes")
//	c, err := r.Consumer()
//	msg, err := c.Receive(ctx) // the message in place, until Release
//	fmt.Println(string(msg))
//	c.Release()
//
// Example (in example_test.go) is this exchange whole, run by go test.
//
// # Kinds
//
// A ring's kind is fixed at creation:
//
//   - SPSC: one producer process, one consumer process. The fastest: two
//     cursors, each side caching the other's.
//   - MPMC and MPSC: any number of producer and consumer handles, in any
//     processes, up to Options.MaxProducers and MaxConsumers; each message
//     reaches exactly one consumer. Every slot's control word records who
//     holds it, so a process that dies between claiming and publishing (or
//     receiving and releasing) leaves a slot its peers repair.
//   - Broadcast: one producer, up to Options.MaxReaders readers, each seeing
//     every message. A Lossless reader gates the producer; a Lossy one never
//     does and is told, with ErrLapped, how many messages it missed when the
//     producer overran it.
//
// # Record rings
//
// Options.Records makes an SPSC or Broadcast ring a ring of Capacity bytes
// carrying messages of any length from 0 to MaxMessage (at most
// Capacity/2), each taking a 16-byte header plus its length rounded up to
// 16. Every message is contiguous: one that does not fit before the end of
// the ring wraps whole, its header there and its bytes at the start
// (LAYOUT.md section 17):
//
//	r, err := ring.Create("cam0", ring.Options{Kind: ring.SPSC, Records: true, Capacity: 256 << 20, MaxMessage: 64 << 20})
//	buf, err := p.ClaimN(ctx, n) // exactly n contiguous bytes of the ring
//	err = p.Commit(k)            // k <= n: the record takes only k
//	msg, err := c.Receive(ctx)   // the record in place, valid until Release
//
// Every call works as on a slot ring: Send, Recv, the Try forms, contexts,
// Close, peer death, Stats, Reset and every error. ClaimN also works on slot
// rings (n <= SlotSize). A batch on a record ring: ReceiveBatch leases up to
// max published records, SendBatch sends as many messages as fit in the
// free bytes (at least one, waited for), and ClaimBatch claims one message
// of up to MaxMessage bytes (a record has no fixed size to claim many of:
// use ClaimN). On a record ring SlotSize reports MaxMessage and Slots the
// most messages it can hold (Capacity/16, all empty). A lossy reader that
// is overrun mid-record gets a *LapError with the exact count, as on a slot
// ring, never a torn record: the producer stores a tail word before it
// overwrites a byte, and the reader checks it after it reads. MPMC and MPSC
// rings carry no records (Create returns ErrInvalid): their producers claim
// slots with a CAS and their consumers repair dead peers' slots one by one,
// which a ring of bytes cannot offer; use an MPSC slot ring sized for the
// largest message, or one SPSC record ring per producer.
//
// # Invariants (SPSC)
//
//   - Cursors only grow. Position p lives in slot p & (slots-1). The producer
//     publishes positions below its cursor; the consumer frees positions
//     below its own. consumer cursor <= producer cursor <= consumer cursor +
//     slots. Any value read from the mapping that breaks this is ErrCorrupt.
//   - Each side caches the other's cursor and reloads it only when the cached
//     value runs out (the producer's "known free below", the consumer's
//     "known published below"), so the other side's cache line moves only
//     then, not on every message.
//   - A role is held by an OFD lock on one byte of the file; the kernel drops
//     it when its process dies, which is how a waiter tells ErrPeerDead
//     (within one WaitStrategy.Tick) from a slow peer.
//   - Everything read from the mapping is read once into a local and checked
//     before use: the other process may be buggy or hostile. What passes
//     the checks is taken as written: a slot's Seq forged to the very
//     position a consumer waits for makes it take the slot's stale bytes
//     for the next message, which is then lost (LAYOUT.md section 8 lets a
//     consumer trust Seq alone); ErrCorrupt comes only if a side compares
//     the cursors while they disagree.
//
// # Memory model
//
// Shared words are accessed only through sync/atomic, which is sequentially
// consistent in Go, at offsets package layout defines and checks for
// alignment. Payload bytes are ordered by the cursor store that publishes
// them (SYNC POINT: cursor). On amd64 an SPSC side's cursor store is,
// where membarrier(2) is available, a plain MOV (a release store under
// x86-TSO) instead of XCHG (broadcast and MPMC publish with XCHG and CAS);
// the StoreLoad order the futex handshake needs is then forced by the
// sleeper with membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) — see package
// fence. While the other side keeps sleeping, a side publishes with XCHG
// instead, so that the sleeper needs no membarrier (fencemode.go).
// Process-local state (cached cursors, role flags, counters) lives in
// the Go handles; no Go pointer and no process-local clock is ever stored
// in the file. The counters are copied into the file's counter area off the
// per-message path (counters.go), and latency stamps there are
// CLOCK_MONOTONIC, one clock for every process (telemetry.go).
//
// # Waiting
//
// Blocking calls take a context.Context and wait as the handle's
// WaitStrategy says: spin, then yield, then sleep on a futex. A sleeper
// announces itself in a sleepers word (a flag for SPSC and broadcast, an
// epoch and a count for MPMC) and re-checks before sleeping; the other side
// publishes first and calls FUTEX_WAKE only when that word is non-zero, so
// streaming makes no system call. A sleeper wakes at
// least once per Tick to notice a dead peer or a cancelled context. A call
// looks at its context only when it has to wait: one that finds a free
// slot or a message does its work even if the context is already done.
// The context must not be nil (context.Background() waits for ever), as
// everywhere in Go: a nil one panics when the call has to wait.
//
// # The file's edges
//
// A peer may shrink the file while it is mapped. Every exported call that
// touches the mapping runs under runtime/debug.SetPanicOnFault and turns a
// fault there into ErrTruncated (which is also ErrCorrupt); the process
// lives and Close works. The file's last unit, on a page of its own, holds
// a mark that readers check after copying a message, so a message whose
// tail a truncation zeroed is never delivered as whole (guard.go). Slices
// already handed out by Receive or Claim are the caller's risk: touching
// them after a truncation faults in the caller's code. A program built
// with -race is not protected: the race detector runs atomic operations
// where a fault cannot be recovered, so a truncation kills it. A memfd ring
// (Options.Memfd, memfd.go) cannot be shrunk: it is sealed.
//
// Ring.Close may run while other goroutines are inside calls on the ring's
// handles: it wakes those blocked waiting, lets them return ErrClosed, and
// swaps the mapping for an inaccessible reservation that is unmapped only
// once the Ring is garbage, so a late call faults into ErrClosed instead of
// touching whatever else might be mapped there. Batch views and Release
// after the end of their claim or lease return ErrStale or ErrClosed.
// Ring.Reset brings back a ring whose cursors were wrecked (for instance
// by two goroutines misusing one handle) once no process holds a role.
//
// # Misuse panics
//
// A call that breaks the handle's protocol is a bug in the calling code,
// not a condition to handle, and panics with a message naming it, as an
// index out of range does. Nothing of the ring is changed by it: the
// handle is as it was before the call. They are:
//
//   - Claim, ClaimN, ClaimBatch, Send, SendBatch or their Try forms while
//     a claim is open; Receive, Recv, ReceiveBatch or their Try forms while
//     a message or batch is held (Release it first);
//   - Commit, CommitBatch or Release with nothing claimed or held (after a
//     Close they return ErrClosed instead); Commit of a
//     ClaimBatch, or CommitBatch of a Claim or ClaimN (each claim ends with
//     its own commit, or Abort); CommitBatch of k below zero or beyond the
//     batch's length;
//   - ClaimBatch or ReceiveBatch with max below one, ClaimN of a negative
//     size;
//   - Batch.Slot, Batch.SetLen, Messages.At and ReaderBatch.At with an
//     index outside [0, Len()).
//
// Everything a peer process or the file can do is an error, never a panic.
// So is a method of a nil or zero-value handle (a Ring whose Create failed
// unread, a `var p ring.Producer`): ErrNoHandle, as a nil *os.File's
// methods return os.ErrInvalid.
//
// # Platforms
//
// Rings need Linux: futex(2) between processes, open-file-description
// locks, /dev/shm. Elsewhere the package compiles, so that a program using
// it builds everywhere, but Create, Open, OpenWith, OpenFile, RecvRing and
// Remove return ErrUnsupported. On 32-bit systems (386, arm) a ring is at most 2 GiB - 1
// bytes, the longest mapping a Go slice there can hold. On Linux, /proc
// must be mounted: a role's lock is taken on a reopening of the ring's
// file through /proc/self/fd, and a descriptor handed over (OpenFile,
// RecvRing) is named there; without it those calls return ErrUnsupported,
// saying so (Create still makes a ring, memfd or named, whose descriptor
// a process with /proc may use).
//
// # When not to use this
//
// Across machines (use a socket); for one-off requests where a pipe's few
// microseconds do not matter; between goroutines of one process (use a channel).
package ring
