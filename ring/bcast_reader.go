package ring

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/shmring/shmring/internal/fence"
	"github.com/shmring/shmring/layout"
)

// Reader is one reader of a broadcast ring: it has its own cursor and sees
// every message from its start on. Its methods must be called from one
// goroutine at a time.
//
// A lossy reader's in-place lease (Receive, ReceiveBatch) is optimistic:
// the producer does not wait for it and may overwrite the slot while it is
// read. Release then reports a *LapError, and what was read must be
// discarded as possibly torn. Recv copies and then validates, so it never
// returns a torn message.
//
// Under the race detector a lossy reader's reads of a slot the producer
// rewrites are reported as races (they are, by design: the seqlock
// discards them). The package's -race tests therefore run lossless readers
// on heap rings, and lossy readers only in builds without it.
type Reader struct {
	_ noCopy
	r *Ring
	w bcastWords
	g slotArea
	e readerEntry

	lock     roleLock
	lossless bool
	q        uint64 // next position to deliver; the entry's cursor when nothing is leased
	// protect: a lossless reader's positions from here on are guarded by
	// the producer's gating. Below it (a joiner's first messages) they
	// are read like a lossy reader's, through a validated copy into buf.
	protect   uint64
	buf       []byte
	held      int    // messages leased
	heldBytes uint64 // their payload, for Stats
	copied    bool   // the lease is buf, not the slot
	release   bool   // cursor stores are plain release stores
	wait      WaitStrategy
	waiting   waitState // the adaptive spin's estimate; the wait in progress (wait.go)
	stats     Stats
	ctr       counters // stats in the file (counters.go)
	host      waitHost // the wait loop's host, which stores ctr when the wait sleeps
	lat       latency  // the histogram (telemetry.go)
	closed    bool
	// unguarded: the per-message calls run without the fault guard
	// (Options.Unguarded; guard.go).
	unguarded bool
	// leases counts the ends of leases (Release, Close): a ReaderBatch
	// remembers the count it was made at, and is stale once it moved on.
	leases uint64
	fw     atomic.Uint64
	// rec is a record ring's reading state (rec_bcast_reader.go); nil on
	// slot rings.
	rec *recReading
	// took, tookLen: the call in progress (Recv, Release) validated what
	// it read (a message of tookLen bytes, Recv) and moves past it; a
	// fault after that (the Ring's Close unmapped the ring under the
	// cursor store) must not undo its answer (Reader.endGuardTaken).
	took    bool
	tookLen int
}

// errPending: the reader's next position is not published yet.
var errPending = errors.New("ring: broadcast position not published yet")

// errLeaseOverrun: Messages.At found a leased message being overwritten;
// Release reports the lap.
var errLeaseOverrun = fmt.Errorf("%w: leased message overwritten; Release reports how many were missed", ErrLapped)

func newReader(r *Ring, o ReaderOptions) (*Reader, error) {
	idx, lock, err := r.takeEntry()
	if err != nil {
		return nil, err
	}
	rd := &Reader{
		unguarded: r.unguarded,
		r:         r,
		w:         r.bcastWords(),
		g:         r.slotArea(),
		e:         r.readerEntry(idx),
		lock:      lock,
		lossless:  o.Policy == Lossless,
		release:   r.releaseStores(),
		wait:      DefaultWait,
	}
	e := rd.e
	// The entry is ours (its lock is held); whatever a dead or hostile
	// holder left in it is overwritten. The incarnation goes first: the
	// producer's dead-reader mark is keyed by it.
	inc := e.inc.Add(1)
	rd.ctr.start(r, layout.BcastReaderBlock(idx), inc, rd.release)
	rd.host = waitHost{r: r, ctr: &rd.ctr, st: &rd.stats}
	rd.lat.startLatency(r, idx, inc, rd.release)
	e.pid.Store(pid)
	e.received.Store(0)
	e.missed.Store(0)
	p0 := rd.w.cursor.Load()
	if p0&layout.SeqWriting != 0 {
		return nil, rd.abandon(r.corrupt("broadcast cursor=%#x is no position", p0))
	}
	q := p0
	if o.Start == Oldest {
		q = p0 - min(p0, rd.g.slots)
	}
	if r.hdr.Records {
		if q, err = rd.recJoin(o.Start, p0); err != nil {
			return nil, rd.abandon(err)
		}
	}
	e.cursor.Store(q)
	e.policy.Store(uint32(o.Policy))
	atStep(stepJoining)
	// SYNC POINT: joining. The entry is visible to every producer scan
	// that starts after this swap (a full barrier); the cursor loaded
	// after it bounds what scans that missed it let the producer
	// overwrite: positions below p. See bcastProducer.scan.
	e.state.Swap(layout.ReaderAttached)
	p := rd.w.cursor.Load()
	if p < p0 || p&layout.SeqWriting != 0 || rd.rec != nil && !aligned(p) {
		return nil, rd.abandon(r.corrupt("broadcast cursor went from %d to %d", p0, p))
	}
	if o.Start == Latest {
		// From P on every position is protected (a scan that missed the
		// entry lets the producer overwrite only below P), so a Latest
		// reader starts there and never reads what it must validate:
		// between P0 and P the producer may be a lap ahead, or (records)
		// have moved RecTail past records it has not overwritten yet.
		q = p
		if rd.rec != nil {
			rd.rec.seq, rd.rec.avail = rd.seqAt(p), p // as recJoin
		}
		e.cursor.Store(q) // a cursor only grows: P >= P0
	}
	rd.q, rd.protect = q, p
	return rd, nil
}

// abandon gives the entry back after a failed join.
func (rd *Reader) abandon(err error) error {
	rd.e.state.Store(layout.ReaderFree)
	rd.r.unlockAt(rd.e.lockByte, rd.lock)
	return err
}

// validate reports whether the slot still holds position q after the
// reader read it: the seqlock's second load.
//
// SYNC POINT: seqlock open (the reader's half). The payload loads must be
// ordered before this load (loadFence); a marker here means they may have
// read the next message's bytes.
func (rd *Reader) validate(q uint64) bool {
	loadFence(&rd.fw)
	return rd.g.seq(q).Load() == q+1
}

// peek makes position q readable: its length, read once and
// bounds-checked. errPending when it is not published yet; a *LapError
// when a lossy reader was overrun (it has moved on); ErrCorrupt for values
// no producer writes.
func (rd *Reader) peek() (uint32, error) {
	for {
		q := rd.q
		s := rd.g.seq(q).Load() // SYNC POINT: seqlock close (the reader's half)
		if s != q+1 {
			switch rd.g.classify(s, q) {
			case seqPending:
				return 0, errPending
			case seqBogus:
				return 0, rd.r.corrupt("broadcast slot seq=%#x at position=%d", s, q)
			}
			if err := rd.overrun(); err != nil {
				return 0, err
			}
			continue // a lossless joiner moved its start forward
		}
		n := rd.g.length(q).Load()
		if n > rd.g.slotSize {
			if rd.g.seq(q).Load() != q+1 {
				continue // overwritten while we looked: the loop reports it
			}
			return 0, rd.g.badLength(rd.r, q, n)
		}
		return n, nil
	}
}

// overrun moves the reader past position q, which the producer overwrote,
// to a quarter of a ring after the oldest position the ring holds (its
// cursor minus slots), or to q+1 if that is further. Resuming at the very
// oldest would leave a reader that fell behind a one-message head start
// before the producer laps it again; the quarter ring is its headroom.
// A lossy reader gets a
// *LapError with the count, and so does a lossless joiner still reading
// below protect once it has delivered a message (a hole in what it
// delivered must not go unnoticed); before that it moves on silently (its
// start moved, see joinerStart); a lossless reader overrun past protect
// can only be the work of a corrupt mapping, and gets ErrCorrupt carrying
// the *LapError.
func (rd *Reader) overrun() error {
	q := rd.q
	p := rd.w.cursor.Load() // SYNC POINT: broadcast cursor: every position below p was published
	if p&layout.SeqWriting != 0 {
		return rd.r.corrupt("broadcast cursor=%#x is no position", p)
	}
	nq := q + 1
	if oldest := p - min(p, rd.g.slots); oldest+rd.resyncMargin() > nq {
		nq = min(oldest+rd.resyncMargin(), max(p, q+1)) // never past what was published
	}
	rd.q = nq
	missed := nq - q
	if rd.joinerStart(q) {
		rd.storeCursor()
		return nil
	}
	rd.stats.Lapped++
	rd.stats.Missed += missed
	fence.Store64(rd.e.missed, rd.stats.Missed, rd.release)
	rd.storeCursor()
	rd.ctr.flush(&rd.stats)
	return rd.lapped(q, missed)
}

// joinerStart: an overrun at q only moves a lossless joiner's start (Oldest
// says so): it reads below protect, where the producer may not have seen
// it yet, and has delivered nothing since it joined.
func (rd *Reader) joinerStart(q uint64) bool {
	return rd.lossless && q < rd.protect && rd.stats.Messages == 0
}

// lapped is the error of an overrun at q that lost missed messages: a
// *LapError, which for a lossless reader past protect (which the producer
// waits for) says the mapping is corrupt.
func (rd *Reader) lapped(q, missed uint64) error {
	lap := &LapError{Missed: missed}
	if rd.lossless && q >= rd.protect {
		if rd.r.closing.Load() { // Close freed the reader's entry: the producer went on
			return rd.r.errClosedDuringCall()
		}
		return fmt.Errorf("%w: ring=%s lossless reader overrun at position=%d: %w", ErrCorrupt, rd.r.name, q, lap)
	}
	return lap
}

// resyncMargin is how far past the oldest retained position a lapped
// reader resumes: a quarter ring, at least one (the oldest slot is the one
// the producer writes next).
func (rd *Reader) resyncMargin() uint64 { return max(1, rd.g.slots/4) }

// storeCursor publishes the reader's progress and, for a lossless reader,
// wakes the producer if it sleeps gated.
//
// SYNC POINT: reader cursor. The slot reads before it are ordered before
// it; the producer's scan loads it, then writes slots below cursor+slots.
// Dekker pair with the producer's gate sleep: "store cursor, then load
// GateSleepers" against "set GateSleepers, barrier, rescan".
func (rd *Reader) storeCursor() {
	fence.Store64(rd.e.cursor, rd.q, rd.release)
	atStep(stepAfterRelease)
	fence.Store64(rd.e.received, rd.stats.Messages, rd.release)
	if rd.lossless {
		if rd.w.gateSleepers.Load() != 0 {
			rd.wakeProducer()
		}
		if rd.buf != nil && rd.q >= rd.protect {
			rd.buf = nil // joined: every later lease is in place
		}
	}
}

// Close leaves the ring: the entry is free for another reader and a
// lossless reader stops gating the producer. Close is idempotent; the
// reader's calls return ErrClosed afterwards. A loss not reported yet (see
// Lag) is not counted. It is one of the reader's calls: it must not run
// while another goroutine is inside one (a blocked Recv stays blocked); end
// such a call with its context, or with the Ring's Close.
func (rd *Reader) Close() (err error) {
	if rd.missing() {
		return errNoReader
	}
	defer rd.r.endGuard(&err, beginGuard())
	if rd.closed {
		return nil
	}
	rd.ctr.flush(&rd.stats)
	rd.closed = true
	rd.held, rd.buf = 0, nil
	if rd.rec != nil {
		rd.rec.spans = rd.rec.spans[:0]
	}
	rd.leases++
	defer rd.r.untrack(rd)
	defer func() { err = errors.Join(err, rd.r.unlockAt(rd.e.lockByte, rd.lock)) }() // even after a fault below
	rd.e.state.Swap(layout.ReaderFree)                                               // full barrier: before the sleepers load
	if rd.w.gateSleepers.Load() != 0 {
		rd.wakeProducer() // it may be waiting for this reader
	}
	return nil
}
