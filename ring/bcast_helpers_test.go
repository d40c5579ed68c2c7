//go:build linux

package ring

// Helpers of the broadcast tests: rings, a sender whose message at
// position p is message number p of the codec (so any reader knows what p
// must hold), and a checking reader that keeps the accounting identity
// delivered + missed == positions passed.

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// bcastMsgLen is the length of message seq: varied, at least the codec's
// header, at most size.
func bcastMsgLen(seq uint64, size int) int {
	return msgHeaderSize + int(seq*7919%uint64(size-msgHeaderSize+1))
}

// newBcastRing makes a broadcast ring, on the heap or as a file, removed
// when the test ends.
func newBcastRing(t testing.TB, heap bool, slotSize, slots, readers int) *Ring {
	t.Helper()
	o := Options{Kind: Broadcast, SlotSize: slotSize, Slots: slots, MaxReaders: readers}
	if !heap {
		return newTestRing(t, o)
	}
	r, err := newHeapRing(uniqueName(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// newBcastRecordRing makes a broadcast record ring on the heap, removed
// when the test ends, that holds about slots messages of up to max bytes.
func newBcastRecordRing(t testing.TB, max, slots int) *Ring {
	t.Helper()
	c := 64
	for c < (slots+1)*int(RecordSize(max)) || MaxRecordMessage(c) < max {
		c *= 2
	}
	r, err := newHeapRing(uniqueName(t), Options{Kind: Broadcast, Records: true, Capacity: c, MaxMessage: max, MaxReaders: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// forEachBacking runs f on a heap ring and on a file ring.
func forEachBacking(t *testing.T, f func(t *testing.T, heap bool)) {
	for _, heap := range []bool{true, false} {
		name := "file ring"
		if heap {
			name = "heap ring"
		}
		t.Run(name, func(t *testing.T) { f(t, heap) })
	}
}

func mustReader(t testing.TB, r *Ring, o ReaderOptions) *Reader {
	t.Helper()
	rd, err := r.Reader(o)
	if err != nil {
		t.Fatalf("Reader(%+v) = %v", o, err)
	}
	return rd
}

// bcastSend sends messages first..first+n-1 with Send.
func bcastSend(ctx context.Context, p *Producer, first, n uint64, buf []byte) error {
	for seq := first; seq < first+n; seq++ {
		if p.r.Records() {
			m := buf[:recMsgLen(seq, len(buf))]
			encodeAny(m, seq)
			if err := p.Send(ctx, m); err != nil {
				return fmt.Errorf("Send %d: %w", seq, err)
			}
			continue
		}
		m := buf[:bcastMsgLen(seq, len(buf))]
		encodeMessage(m, seq)
		if err := p.Send(ctx, m); err != nil {
			return fmt.Errorf("Send %d: %w", seq, err)
		}
	}
	return nil
}

// bcastChecker checks what one reader receives: in order, every message
// whole, gaps only where a lap reported them.
type bcastChecker struct {
	rd        *Reader
	next      uint64 // the position expected next
	delivered uint64
	missed    uint64
	laps      uint64
	buf       []byte
	lossless  bool
	records   bool   // a record ring: lengths recMsgLen, not bcastMsgLen
	afterStep func() // if set, called after every step that succeeded
}

func newBcastChecker(rd *Reader, first uint64, size int, lossless bool) *bcastChecker {
	return &bcastChecker{rd: rd, next: first, buf: make([]byte, size), lossless: lossless, records: rd.r.Records()}
}

// got checks m as the next message; m's own sequence number may be ahead
// only for a lossless joiner's silent start (first delivery).
func (c *bcastChecker) got(m []byte) error {
	if c.records { // a short message carries no sequence number: check it as the one expected
		if err := checkAny(m, c.next, recMsgLen(c.next, len(c.buf))); err != nil {
			return fmt.Errorf("%w (delivered %d, missed %d)", err, c.delivered, c.missed)
		}
		c.next++
		c.delivered++
		return nil
	}
	seq := seqOf(m)
	if seq != c.next {
		return fmt.Errorf("got message %d, want %d (delivered %d, missed %d)", seq, c.next, c.delivered, c.missed)
	}
	if err := checkMessage(m, seq, bcastMsgLen(seq, len(c.buf))); err != nil {
		return err
	}
	c.next++
	c.delivered++
	return nil
}

// lapped accounts a lap error; anything else is returned.
func (c *bcastChecker) lapped(err error) error {
	var lap *LapError
	if c.lossless || !errors.As(err, &lap) || !errors.Is(err, ErrLapped) {
		return err
	}
	if lap.Missed == 0 {
		return fmt.Errorf("a lap that missed nothing: %v", err)
	}
	c.next += lap.Missed
	c.missed += lap.Missed
	c.laps++
	return nil
}

// step receives one message (or batch) with call mode.
func (c *bcastChecker) step(ctx context.Context, mode string) error {
	rd := c.rd
	switch mode {
	case "recv", "tryrecv":
		var n int
		var err error
		if mode == "recv" {
			n, err = rd.Recv(ctx, c.buf)
		} else {
			for n, err = rd.TryRecv(c.buf); errors.Is(err, ErrEmpty); n, err = rd.TryRecv(c.buf) {
				if err := ctx.Err(); err != nil {
					return err
				}
				spin()
			}
		}
		if err != nil {
			return c.lapped(err)
		}
		return c.got(c.buf[:n])
	case "receive":
		m, err := rd.Receive(ctx)
		if err != nil {
			return c.lapped(err)
		}
		checkErr := c.got(m)
		if err := rd.Release(); err != nil {
			if checkErr == nil { // counted a torn message as delivered: undo
				c.next--
				c.delivered--
			}
			return c.lapped(err)
		}
		return checkErr
	case "batch":
		b, err := rd.ReceiveBatch(ctx, 16)
		if err != nil {
			return c.lapped(err)
		}
		var checkErr error
		got := 0
		for i := range b.Len() {
			m, err := b.At(i)
			if err == nil {
				err = c.got(m)
			}
			if err != nil {
				checkErr = err
				break
			}
			got++
		}
		if err := rd.Release(); err != nil {
			c.next -= uint64(got)
			c.delivered -= uint64(got)
			return c.lapped(err)
		}
		return checkErr
	}
	return fmt.Errorf("unknown reader mode %q", mode)
}

// run reads until the stream closes; end is the position after the last.
func (c *bcastChecker) run(ctx context.Context, mode string, end uint64) error {
	for {
		err := c.step(ctx, mode)
		if errors.Is(err, ErrClosed) {
			if c.next != end {
				return fmt.Errorf("ErrClosed at position %d, want %d", c.next, end)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s at position %d: %w", mode, c.next, err)
		}
		if c.afterStep != nil {
			c.afterStep()
		}
	}
}
