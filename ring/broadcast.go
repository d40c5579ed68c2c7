package ring

// The Broadcast engine (LAYOUT.md section 14): one producer, many readers,
// every reader sees every message.
//
// Invariants:
//
//   - A slot's Seq is 0 (never written), (p+1)|SeqWriting while the
//     producer writes position p into it, or p+1 once p is published. The
//     producer stores the marker before touching the payload and p+1 after
//     it, so a reader that loads p+1 before and after reading the payload
//     read the message p whole (a seqlock).
//   - The producer's Cursor only grows; every position below it is
//     published. A slot's Seq is stored before the Cursor that covers it,
//     so readers learn publication from the slot alone and touch the
//     producer's line only when they wait.
//   - The producer writes position y only while y < limit, and limit is
//     gate+slots where gate is the smallest cursor of the live lossless
//     readers it saw in its last scan of the reader table (or its own head
//     when it saw none): a lossless reader's unread messages are never
//     overwritten once the producer has seen it. Lossy readers never slow
//     the producer; they detect overwrites by the seqlock.
//   - The producer scans the table only when head reaches limit (at most
//     once a lap when no lossless reader lags): the fast path touches no
//     reader's line.

import (
	"fmt"
	"sync/atomic"

	"github.com/shmring/shmring/layout"
)

// Policy says what a broadcast reader does when it falls behind.
type Policy int

const (
	// Lossy readers never slow the producer. A lossy reader that falls a
	// whole ring behind loses messages: its next call returns a
	// *LapError (errors.Is(err, ErrLapped)) saying how many, and the
	// calls after it go on after the gap. A zero Policy (ReaderOptions
	// left unset) is taken as Lossy, and named so, though it is not equal
	// to Lossy.
	Lossy Policy = 1
	// Lossless readers gate the producer: it waits (Claim) or reports
	// ErrFull (TryClaim) rather than overwrite a message a live lossless
	// reader has not released. A lossless reader whose process dies
	// stops gating within the producer's spin, yield and one Tick.
	Lossless Policy = 2
)

// String names the policy ("lossy", "lossless"; "lossy" for the zero
// Policy, which Reader takes as Lossy).
func (p Policy) String() string {
	switch p {
	case 0, Lossy:
		return "lossy"
	case Lossless:
		return "lossless"
	}
	return fmt.Sprintf("policy(%d)", int(p))
}

// Start says where a new reader begins.
type Start int

const (
	// Oldest starts at the oldest message the ring still holds (the
	// last Slots published, or all of them on a young ring).
	//
	// A lossy reader that starts there may be overrun at once by a busy
	// producer: that is an ordinary lap, reported as ErrLapped.
	//
	// A lossless reader is not seen by the producer until its next scan
	// of the reader table, so the oldest messages may be overwritten
	// before it reads them. Until it reaches the messages published after
	// it joined it reads them as a lossy reader would, through a
	// validated copy (Receive then returns a copy, not the slot). One
	// overwritten before the reader delivered its first message moves its
	// start forward silently: no ErrLapped, no Missed. One overwritten
	// after that is a lap, as a lossy reader's: a *LapError saying how
	// many were lost, so that no hole in what it delivered goes unseen.
	// From the messages published after it joined on, it gets every
	// message, in place.
	Oldest Start = 0
	// Latest starts with the next message published after the reader
	// joined (after Reader returned, or while it was joining): every
	// message from there on reaches a lossless reader, in place, and
	// never as a lap.
	Latest Start = 1
)

// ReaderOptions choose a broadcast reader's policy and starting point.
type ReaderOptions struct {
	Policy Policy // Lossy or Lossless; zero is taken as Lossy
	Start  Start  // Oldest (the zero value) or Latest
}

// bcastWords are the producer's shared words of a broadcast ring.
type bcastWords struct {
	cursor       *atomic.Uint64 // the producer has published every position below it
	wake         *atomic.Uint32 // futex word readers sleep on
	sleepers     *atomic.Uint32 // non-zero while a reader sleeps (or is about to)
	state        *atomic.Uint32 // StateAttached, StateClosed
	epoch        *atomic.Uint32
	flags        *atomic.Uint32 // FlagReleaseStores
	gate         *atomic.Uint64 // the gate of the producer's last scan
	gateWake     *atomic.Uint32 // futex word the producer sleeps on when gated
	gateSleepers *atomic.Uint32 // non-zero while the producer sleeps gated (or is about to)
}

func (r *Ring) bcastWords() bcastWords {
	return bcastWords{
		cursor:       r.word64(layout.BcastCursorOffset),
		wake:         r.word32(layout.BcastWakeOffset),
		sleepers:     r.word32(layout.BcastSleepersOffset),
		state:        r.word32(layout.BcastProducerStateOffset),
		epoch:        r.word32(layout.BcastProducerEpochOffset),
		flags:        r.word32(layout.BcastProducerFlagsOffset),
		gate:         r.word64(layout.BcastGateOffset),
		gateWake:     r.word32(layout.BcastGateWakeOffset),
		gateSleepers: r.word32(layout.BcastGateSleepersOffset),
	}
}

// readerEntry is one reader table entry in the mapping.
type readerEntry struct {
	cursor   *atomic.Uint64 // the reader has consumed every position below it
	state    *atomic.Uint32 // ReaderFree, ReaderAttached
	policy   *atomic.Uint32 // PolicyLossy, PolicyLossless
	inc      *atomic.Uint32 // bumped each time the entry is taken
	pid      *atomic.Uint32
	received *atomic.Uint64
	missed   *atomic.Uint64
	lockByte int64
}

func (r *Ring) readerEntry(i uint32) readerEntry {
	off := int(layout.BcastReaderOffset(i))
	return readerEntry{
		cursor:   r.word64(off + layout.ReaderCursorOffset),
		state:    r.word32(off + layout.ReaderStateOffset),
		policy:   r.word32(off + layout.ReaderPolicyOffset),
		inc:      r.word32(off + layout.ReaderIncarnationOffset),
		pid:      r.word32(off + layout.ReaderPIDOffset),
		received: r.word64(off + layout.ReaderReceivedOffset),
		missed:   r.word64(off + layout.ReaderMissedOffset),
		lockByte: int64(off + layout.ReaderLockByte),
	}
}

// Reader joins a broadcast ring as a new reader with the given policy and
// starting point. It takes a free entry of the ring's reader table (one
// whose liveness lock no live process holds: an entry left by a reader that
// died is taken over) and fails with ErrBusy when MaxReaders live readers
// hold them all, with ErrInvalid on a ring of another kind or for options
// that name no policy or start, and with ErrCorrupt when the producer's
// cursor in the mapping is not a position.
//
// Readers are independent: each sees every message from its start on (a
// lossy one minus those it was lapped over). A reader's methods must be
// called from one goroutine at a time. Close leaves the ring; Reader again
// rejoins as a new reader.
func (r *Ring) Reader(o ReaderOptions) (_ *Reader, err error) {
	if r.missing() {
		return nil, errNoRing
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	defer r.endGuard(&err, beginGuard())
	if err := r.shrunk(); err != nil { // before any lock is taken: a role on a cut file is dead
		return nil, err
	}
	if r.hdr.Kind != Broadcast {
		return nil, fmt.Errorf("%w: ring=%s kind=%v: readers are for broadcast rings", ErrInvalid, r.name, r.hdr.Kind)
	}
	if o.Policy == 0 {
		o.Policy = Lossy
	}
	if o.Policy != Lossy && o.Policy != Lossless {
		return nil, fmt.Errorf("%w: reader policy=%v", ErrInvalid, o.Policy)
	}
	if o.Start != Oldest && o.Start != Latest {
		return nil, fmt.Errorf("%w: reader start=%d", ErrInvalid, o.Start)
	}
	rd, err := newReader(r, o)
	if err != nil {
		return nil, err
	}
	r.track(rd)
	return rd, nil
}

// takeEntry locks the first reader entry no live process holds.
func (r *Ring) takeEntry() (uint32, roleLock, error) {
	n := r.hdr.MaxConsumers
	for i := uint32(0); i < n; i++ {
		l, err := r.lockAt(r.readerEntry(i).lockByte)
		if err == nil {
			return i, l, nil
		}
		if err != ErrBusy {
			return 0, l, err
		}
	}
	return 0, roleLock{}, fmt.Errorf("%w: ring=%s: all %d reader entries held by live readers", ErrBusy, r.name, n)
}
