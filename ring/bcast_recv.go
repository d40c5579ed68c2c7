package ring

// A broadcast reader's copying reads.

import (
	"context"
	"fmt"
	"io"
)

// Recv copies the next message into buf and moves past it, waiting for one
// as the wait strategy says. The copy is validated after it is made, so
// Recv never returns a torn message: a lossy reader overrun meanwhile gets
// a *LapError instead (buf then holds garbage). A message longer than buf
// stays in the ring and Recv returns io.ErrShortBuffer.
func (rd *Reader) Recv(ctx context.Context, buf []byte) (_ int, err error) {
	if rd.unguarded {
		return rd.recv(ctx, buf)
	}
	defer rd.r.endGuard(&err, beginGuard())
	return rd.recv(ctx, buf)
}

func (rd *Reader) recv(ctx context.Context, buf []byte) (int, error) {
	if rd.closed {
		return 0, ErrClosed
	}
	rd.mustNotHold("Recv")
	for {
		n, err := rd.take(buf)
		if err != errPending {
			return n, err
		}
		if err := rd.await(ctx); err != nil {
			return 0, err
		}
	}
}

// TryRecv is Recv without waiting: ErrEmpty when there is no message.
func (rd *Reader) TryRecv(buf []byte) (_ int, err error) {
	if rd.unguarded {
		return rd.tryRecv(buf)
	}
	defer rd.r.endGuard(&err, beginGuard())
	return rd.tryRecv(buf)
}

func (rd *Reader) tryRecv(buf []byte) (int, error) {
	if rd.closed {
		return 0, ErrClosed
	}
	rd.mustNotHold("TryRecv")
	n, err := rd.take(buf)
	if err == errPending {
		return 0, rd.empty()
	}
	return n, err
}

func (rd *Reader) take(buf []byte) (int, error) {
	for {
		n, err := rd.peek()
		if err != nil {
			return 0, err
		}
		q := rd.q
		check := !rd.lossless || q < rd.protect
		if int(n) > len(buf) {
			if check && !rd.validate(q) {
				continue
			}
			return 0, fmt.Errorf("ring: message=%d bytes, buffer=%d: %w", n, len(buf), io.ErrShortBuffer)
		}
		copy(buf, rd.g.payload(q, n))
		if check && !rd.validate(q) {
			continue // peek reports the overrun
		}
		if !rd.r.intact() { // after the copy: see guard.go
			return 0, rd.r.errTruncated()
		}
		rd.q++
		rd.stats.Messages++
		rd.stats.Bytes += uint64(n)
		rd.storeCursor()
		return int(n), nil
	}
}
