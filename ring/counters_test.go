package ring_test

import (
	"context"
	"encoding/binary"
	"os"
	"testing"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// fileBlock reads counter block i of r's file as another process would
// (the page cache of a tmpfs file is the ring's memory): the Owner word
// and the counters in layout.CounterNames order.
func fileBlock(t *testing.T, r *ring.Ring, i uint32) (seq, owner uint64, c [len(layout.CounterNames)]uint64) {
	t.Helper()
	b, err := os.ReadFile(r.Path())
	if err != nil {
		t.Fatal(err)
	}
	h := r.Header()
	off := h.CounterBlockOffset(i)
	le := binary.LittleEndian
	for k := range c {
		c[k] = le.Uint64(b[off+layout.CounterMessagesOffset+uint64(8*k):])
	}
	return le.Uint64(b[off+layout.CounterSeqOffset:]), le.Uint64(b[off+layout.CounterOwnerOffset:]), c
}

func statsWords(s ring.Stats) [len(layout.CounterNames)]uint64 {
	return [...]uint64{s.Messages, s.Bytes, s.Full, s.Empty, s.Sleeps, s.Wakes, s.Skipped, s.Repaired,
		s.Redelivered, s.Lapped, s.Missed, s.Evicted, s.BadEntries}
}

// blocks names the counter blocks of the first producer and read end a
// test takes on a ring of kind k.
func blocks(r *ring.Ring) (producer, reader uint32) {
	h := r.Header()
	switch h.Kind {
	case ring.MPMC, ring.MPSC:
		return 0, h.MaxProducers
	case ring.Broadcast:
		return layout.BcastProducerBlock, layout.BcastReaderBlock(0)
	}
	return layout.SPSCProducerBlock, layout.SPSCConsumerBlock
}

// Each role's counters reach its block in the file: trailing by fewer than
// layout.FlushEvery messages while it streams, exactly Stats once Stats
// was called, its final figures after Close, and zero again, under a new
// owner, for the role's next holder.
func TestCountersInTheFile(t *testing.T) {
	forEachKind(t, func(t *testing.T, k contractKind) {
		const n, size = 1000, 24
		cr := newContractRing(t, k, 64, 1024)
		p, rd := cr.ends(t)
		ctx := context.Background()
		if err := sendN(ctx, p, 0, n, size); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		for range n {
			if _, err := rd.Recv(ctx, buf); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := rd.TryRecv(buf); err != ring.ErrEmpty {
			t.Fatalf("TryRecv on a drained ring = %v, want ErrEmpty", err)
		}
		pb, cb := blocks(cr.r)
		for _, b := range []uint32{pb, cb} {
			if _, _, c := fileBlock(t, cr.r, b); c[0] > n || c[0]+layout.FlushEvery <= n {
				t.Errorf("block %d says %d messages before Stats, want %d less at most %d", b, c[0], n, layout.FlushEvery-1)
			}
		}
		for _, h := range []struct {
			name  string
			block uint32
			stats func() ring.Stats
		}{{"producer", pb, p.Stats}, {"read end", cb, rd.Stats}} {
			want := h.stats()
			seq, owner, got := fileBlock(t, cr.r, h.block)
			if got != statsWords(want) {
				t.Errorf("%s block after Stats = %v, want Stats %v", h.name, got, statsWords(want))
			}
			if seq%2 != 0 || uint32(owner) != uint32(os.Getpid()) {
				t.Errorf("%s block seq=%d owner=%#x, want even and this pid %d", h.name, seq, owner, os.Getpid())
			}
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		_, owner, c := fileBlock(t, cr.r, pb)
		if c[0] != n || c[1] != n*size {
			t.Errorf("closed producer's block = %d messages %d bytes, want %d and %d", c[0], c[1], n, n*size)
		}
		p2 := cr.producer(t)
		_, owner2, c := fileBlock(t, cr.r, pb)
		if c != ([len(layout.CounterNames)]uint64{}) || owner2>>32 != owner>>32+1 {
			t.Errorf("next producer's block = %v owner epoch %d, want zeros and epoch %d", c, owner2>>32, owner>>32+1)
		}
		p2.Close()
	})
}

// A stream of large messages reaches the file message by message: a role
// stores its counters every layout.FlushEvery messages or every MiB of
// payload, so tools watching a stream of video frames are not 64 frames
// behind. Without the bytes cadence the blocks would still say zero here.
func TestCountersInTheFileKeepUpWithLargeMessages(t *testing.T) {
	forEachKind(t, func(t *testing.T, k contractKind) {
		const n, size = 3, 1 << 20
		cr := newContractRing(t, k, size, 4)
		p, rd := cr.ends(t)
		ctx := context.Background()
		if err := sendN(ctx, p, 0, n, size); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, size)
		for range n {
			if _, err := rd.Recv(ctx, buf); err != nil {
				t.Fatal(err)
			}
		}
		pb, cb := blocks(cr.r)
		for _, b := range []uint32{pb, cb} {
			if _, _, c := fileBlock(t, cr.r, b); c[0] != n || c[1] != n*size {
				t.Errorf("block %d says %d messages, %d bytes before Stats, want %d and %d", b, c[0], c[1], n, n*size)
			}
		}
	})
}
