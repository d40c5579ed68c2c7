package natsbridge

import (
	"context"
	"errors"

	"github.com/shmring/shmring/ring"
)

// source is the ring end an Out bridge reads: a consumer of an SPSC, MPSC
// or MPMC ring, or a broadcast reader. next takes a batch out of the ring
// and returns copies of its messages, in an arena the source owns (the
// bridge never publishes from the ring's memory: guard.go says why). A
// lossless source leases the batch: its messages stay in the ring until
// release, so a bridge that cannot deliver them holds the ring and its
// producer sees back-pressure, and a bridge that dies leaves them to the
// next reader.
type source interface {
	// next waits for at least one message and returns up to limit, which
	// must not exceed what the arena fits (arenaFits). missed is how many
	// messages the ring overwrote before them (lossy readers only). The
	// messages stay valid until the next call of next.
	next(ctx context.Context, limit int) (msgs [][]byte, missed uint64, err error)
	// release ends the lease of the last batch.
	release()
	close() error
}

// openSource takes the role an Out bridge reads r with; its arena has
// arenaBytes (or one slot).
func openSource(r *ring.Ring, ro ring.ReaderOptions, arenaBytes int) (source, error) {
	a := newArena(r.SlotSize(), arenaBytes)
	if r.Kind() == ring.Broadcast && ro.Policy == ring.Lossy {
		rd, err := r.Reader(ro)
		if err != nil {
			return nil, err
		}
		return &copyReaderSource{rd: rd, slot: r.SlotSize(), arena: a}, nil
	}
	end, err := mapEndMark(r)
	if err != nil {
		return nil, err
	}
	if r.Kind() != ring.Broadcast {
		c, err := r.Consumer()
		if err != nil {
			end.close()
			return nil, err
		}
		return &leaseSource[ring.Messages, *ring.Consumer]{l: c, name: r.Name(), end: end, arena: a}, nil
	}
	rd, err := r.Reader(ro)
	if err != nil {
		end.close()
		return nil, err
	}
	return &leaseSource[ring.ReaderBatch, *ring.Reader]{l: rd, name: r.Name(), end: end, arena: a}, nil
}

// arena holds the copies of one batch back to back.
type arena struct {
	buf  []byte
	off  int
	msgs [][]byte
}

// An arena bounds the bytes of one batch of copies: a batch of large
// frames is cut short rather than take batch × slot size.
const (
	// coreArena is for core NATS, where a batch's copies are done with
	// once nc.Publish has copied them again into its write buffer: small
	// enough that they are still in the L1 cache then. At 4 KiB that is
	// 0.90 of nats.go's own rate, against 0.86 with a 1 MiB arena
	// (BENCHMARKS.md 8.1).
	coreArena = 16 << 10
	// ackedArena is for JetStream, where a batch is kept until the stream
	// has acknowledged all of it: a few acknowledgements' round trips per
	// megabyte.
	ackedArena = 1 << 20
)

func newArena(slot, bytes int) arena { return arena{buf: make([]byte, max(bytes, slot))} }

// arenaFits is how many messages of up to slot bytes an arena of bytes
// always holds.
func arenaFits(slot, bytes int) int { return max(1, bytes/slot) }

func (a *arena) reset() { a.off, a.msgs = 0, a.msgs[:0] }

// free is the arena's unused rest; keep makes its first n bytes the next
// message.
func (a *arena) free() []byte { return a.buf[a.off:] }

func (a *arena) keep(n int) {
	a.msgs = append(a.msgs, a.buf[a.off:a.off+n:a.off+n])
	a.off += n
}

// leasedBatch is a batch a source leased in place: ring.Messages or
// ring.ReaderBatch.
type leasedBatch interface {
	Len() int
	At(i int) ([]byte, error)
}

// lessee is the role a lossless source leases batches with: a
// *ring.Consumer or a lossless *ring.Reader.
type lessee[B leasedBatch] interface {
	ReceiveBatch(ctx context.Context, max int) (B, error)
	Release() error
	Close() error
}

// leaseSource leases batches from a consumer or a lossless broadcast
// reader (whose producer does not overwrite a lease) and copies them out.
type leaseSource[B leasedBatch, L lessee[B]] struct {
	l     L
	name  string
	end   *endMark
	arena arena
}

// A lossless reader that joined at ring.Oldest reads as a lossy one until
// it reaches the messages published after it joined, and may be lapped
// there (a restarted bridge on a busy ring): the lap is counted as missed,
// as a lossy source's, and it goes on after the gap.
func (s *leaseSource[B, L]) next(ctx context.Context, limit int) ([][]byte, uint64, error) {
	var missed uint64
	for {
		b, err := s.l.ReceiveBatch(ctx, limit)
		var lap *ring.LapError
		if errors.As(err, &lap) && !errors.Is(err, ring.ErrCorrupt) { // a lap past what the producer must protect is corruption
			missed += lap.Missed
			continue
		}
		if err != nil {
			return nil, missed, err
		}
		s.arena.reset()
		if err := copyLeased(&s.arena, b, s.end, s.name); err != nil {
			_ = s.l.Release()
			return nil, missed, err
		}
		return s.arena.msgs, missed, nil
	}
}

func (s *leaseSource[B, L]) release()     { _ = s.l.Release() }
func (s *leaseSource[B, L]) close() error { return errors.Join(s.l.Close(), s.end.close()) }

// copyReaderSource copies from a lossy broadcast reader. A lossy reader's
// lease may be overwritten while it is read, and what the bridge has
// published cannot be taken back, so it copies with Recv, which validates
// each copy (and runs under the ring's own fault guard).
type copyReaderSource struct {
	rd    *ring.Reader
	slot  int
	arena arena
	// later: messages missed after the last batch, reported before the
	// next one, so that each batch's messages have consecutive numbers.
	later uint64
}

func (s *copyReaderSource) next(ctx context.Context, limit int) ([][]byte, uint64, error) {
	a := &s.arena
	a.reset()
	missed := s.later
	s.later = 0
	for len(a.msgs) < limit && len(a.free()) >= s.slot {
		var n int
		var err error
		if len(a.msgs) == 0 {
			n, err = s.rd.Recv(ctx, a.free()[:s.slot])
		} else {
			n, err = s.rd.TryRecv(a.free()[:s.slot])
		}
		var lap *ring.LapError
		switch {
		case errors.As(err, &lap):
			if len(a.msgs) > 0 {
				s.later = lap.Missed
				return a.msgs, missed, nil
			}
			missed += lap.Missed
			continue
		case errors.Is(err, ring.ErrEmpty):
			return a.msgs, missed, nil
		case err != nil:
			if len(a.msgs) > 0 {
				// Deliver what was copied; the error comes again.
				return a.msgs, missed, nil
			}
			return nil, missed, err
		}
		a.keep(n)
	}
	return a.msgs, missed, nil
}

func (s *copyReaderSource) release()     {}
func (s *copyReaderSource) close() error { return s.rd.Close() }
