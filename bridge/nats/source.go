package natsbridge

import (
	"context"
	"errors"

	"github.com/shmring/shmring/ring"
)

// source is the ring end an Out bridge reads: a consumer of an SPSC, MPSC
// or MPMC ring, or a broadcast reader. next leases a batch; the messages
// stay valid (and, from a lossless source, stay in the ring) until
// release, so a bridge that cannot deliver them holds the ring and its
// producer sees back-pressure.
type source interface {
	// next waits for at least one message and returns up to limit. missed
	// is how many messages the ring overwrote before them (lossy readers
	// only).
	next(ctx context.Context, limit int) (msgs [][]byte, missed uint64, err error)
	// release ends the lease of the last batch.
	release()
	// lossless says whether an unreleased batch stays in the ring.
	lossless() bool
	close() error
}

// openSource takes the role an Out bridge reads r with.
func openSource(r *ring.Ring, ro ring.ReaderOptions) (source, error) {
	if r.Kind() != ring.Broadcast {
		c, err := r.Consumer()
		if err != nil {
			return nil, err
		}
		return &consumerSource{c: c}, nil
	}
	rd, err := r.Reader(ro)
	if err != nil {
		return nil, err
	}
	if ro.Policy == ring.Lossless {
		return &leaseReaderSource{rd: rd}, nil
	}
	return &copyReaderSource{rd: rd, slot: r.SlotSize()}, nil
}

// leasedBatch is a batch a source leased in place: ring.Messages or
// ring.ReaderBatch.
type leasedBatch interface {
	Len() int
	At(i int) ([]byte, error)
}

// collect gathers the messages of a leased batch into msgs; a bad one ends
// the lease and is the error. It is generic rather than taking At as a
// function value so that each message costs a direct call.
func collect[B leasedBatch](msgs [][]byte, b B, release func() error) ([][]byte, error) {
	msgs = msgs[:0]
	for i := range b.Len() {
		m, err := b.At(i)
		if err != nil {
			_ = release()
			return msgs[:0], err
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// consumerSource leases batches in place from a consumer.
type consumerSource struct {
	c    *ring.Consumer
	msgs [][]byte
}

func (s *consumerSource) next(ctx context.Context, limit int) ([][]byte, uint64, error) {
	b, err := s.c.ReceiveBatch(ctx, limit)
	if err != nil {
		return nil, 0, err
	}
	s.msgs, err = collect(s.msgs, b, s.c.Release)
	return s.msgs, 0, err
}

func (s *consumerSource) release()       { _ = s.c.Release() }
func (s *consumerSource) lossless() bool { return true }
func (s *consumerSource) close() error   { return s.c.Close() }

// leaseReaderSource leases batches in place from a lossless broadcast
// reader: the producer does not overwrite them while they are leased.
type leaseReaderSource struct {
	rd   *ring.Reader
	msgs [][]byte
}

func (s *leaseReaderSource) next(ctx context.Context, limit int) ([][]byte, uint64, error) {
	b, err := s.rd.ReceiveBatch(ctx, limit)
	if err != nil {
		return nil, 0, err
	}
	s.msgs, err = collect(s.msgs, b, s.rd.Release)
	return s.msgs, 0, err
}

func (s *leaseReaderSource) release()       { _ = s.rd.Release() }
func (s *leaseReaderSource) lossless() bool { return true }
func (s *leaseReaderSource) close() error   { return s.rd.Close() }

// copyReaderSource copies from a lossy broadcast reader. A lossy reader's
// lease may be overwritten while it is read, and what the bridge has
// published cannot be taken back, so it publishes only validated copies
// (Recv), at the price of one copy per message.
type copyReaderSource struct {
	rd    *ring.Reader
	slot  int
	arena []byte
	msgs  [][]byte
	// later: messages missed after the last batch, reported before the
	// next one, so that each batch's messages have consecutive numbers.
	later uint64
}

// copyArena bounds the bytes one batch of copies may take: a batch of
// large frames stops early rather than allocate batch × slot size.
const copyArena = 1 << 20

func (s *copyReaderSource) next(ctx context.Context, limit int) ([][]byte, uint64, error) {
	if s.arena == nil {
		s.arena = make([]byte, max(copyArena, s.slot))
	}
	s.msgs = s.msgs[:0]
	missed := s.later
	s.later = 0
	off := 0
	for len(s.msgs) < limit && len(s.arena)-off >= s.slot {
		buf := s.arena[off : off+s.slot]
		var n int
		var err error
		if len(s.msgs) == 0 {
			n, err = s.rd.Recv(ctx, buf)
		} else {
			n, err = s.rd.TryRecv(buf)
		}
		var lap *ring.LapError
		switch {
		case errors.As(err, &lap):
			if len(s.msgs) > 0 {
				s.later = lap.Missed
				return s.msgs, missed, nil
			}
			missed += lap.Missed
			continue
		case errors.Is(err, ring.ErrEmpty):
			return s.msgs, missed, nil
		case err != nil:
			if len(s.msgs) > 0 {
				// Deliver what was copied; the error comes again.
				return s.msgs, missed, nil
			}
			return nil, missed, err
		}
		s.msgs = append(s.msgs, buf[:n])
		off += n
	}
	return s.msgs, missed, nil
}

func (s *copyReaderSource) release()       {}
func (s *copyReaderSource) lossless() bool { return false }
func (s *copyReaderSource) close() error   { return s.rd.Close() }
