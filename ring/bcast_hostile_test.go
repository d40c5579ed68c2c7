//go:build linux

package ring

// Acceptance 3 of issue 5: reader-table entries, slots and producer words
// holding values no correct peer writes. Whoever reads them gets
// ErrCorrupt (or, for the producer, ignores the entry and counts it in
// Stats.BadEntries); nobody panics and the producer is never stalled by a
// bogus entry.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
)

// TestBroadcastProducerIgnoresCorruptEntries: a lossless-looking entry with
// its cursor beyond the producer, an entry with a policy no reader has, and
// one with a state out of range: the producer writes lap after lap past
// them, counts each once, and still gates on a real lossless reader.
func TestBroadcastProducerIgnoresCorruptEntries(t *testing.T) {
	forEachBacking(t, func(t *testing.T, heap bool) {
		proctest.Watchdog(t, hangBound)
		r := newBcastRing(t, heap, 64, 4, 8)
		p := mustProducer(t, r)
		ctx, cancel := context.WithTimeout(context.Background(), hangBound/2)
		defer cancel()
		buf := make([]byte, 64)
		if err := bcastSend(ctx, p, 0, 2, buf); err != nil {
			t.Fatal(err)
		}
		set := func(i uint32, state, policy uint32, cursor uint64) {
			e := r.readerEntry(i)
			e.cursor.Store(cursor)
			e.policy.Store(policy)
			e.state.Store(state)
		}
		set(0, layout.ReaderAttached, layout.PolicyLossless, 1<<40) // cursor beyond the producer
		set(1, layout.ReaderAttached, 7, 0)                         // bogus policy
		set(2, 9, layout.PolicyLossless, 0)                         // state out of range
		if err := bcastSend(ctx, p, 2, 40, buf); err != nil {
			t.Fatalf("Send past corrupt entries: %v", err)
		}
		if st := p.Stats(); st.BadEntries != 3 {
			t.Errorf("Stats %+v, want BadEntries 3 (each entry counted once)", st)
		}
		// A real lossless reader still gates the producer (it takes a
		// free entry: 3 and up).
		rd := mustReader(t, r, ReaderOptions{Policy: Lossless, Start: Latest})
		if err := bcastSend(ctx, p, 42, 4, buf); err != nil {
			t.Fatal(err)
		}
		m := buf[:bcastMsgLen(46, 64)]
		encodeMessage(m, 46)
		if err := p.TrySend(m); !errors.Is(err, ErrFull) {
			t.Errorf("TrySend with a real lossless reader a ring behind = %v, want ErrFull", err)
		}
		if err := newBcastChecker(rd, 42, 64, true).step(ctx, "recv"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestBroadcastProducerSkipsADeadLookingEntry: an entry that claims to be
// an attached lossless reader a ring behind, whose liveness lock nobody
// holds (a reader that died, or bytes someone wrote): the producer waits
// only until its probe finds no holder, then writes on.
func TestBroadcastProducerSkipsADeadLookingEntry(t *testing.T) {
	forEachBacking(t, func(t *testing.T, heap bool) {
		proctest.Watchdog(t, hangBound)
		r := newBcastRing(t, heap, 64, 4, 2)
		p := mustProducer(t, r)
		p.SetWait(WaitStrategy{Spin: 16, Yield: 2, Sleep: true, Tick: time.Millisecond})
		e := r.readerEntry(1)
		e.cursor.Store(0)
		e.policy.Store(layout.PolicyLossless)
		e.state.Store(layout.ReaderAttached)
		ctx, cancel := context.WithTimeout(context.Background(), hangBound/2)
		defer cancel()
		if err := bcastSend(ctx, p, 0, 20, make([]byte, 64)); err != nil {
			t.Fatalf("Send with a dead-looking lossless entry: %v", err)
		}
		if st := p.Stats(); st.Evicted != 1 {
			t.Errorf("Stats %+v, want Evicted 1", st)
		}
	})
}

// TestBroadcastReaderReportsCorruption: values in slots and producer words
// that no producer writes reach a reader as ErrCorrupt.
func TestBroadcastReaderReportsCorruption(t *testing.T) {
	ctx := context.Background()
	short := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 50*time.Millisecond) }
	fast := WaitStrategy{Spin: 8, Yield: 1, Sleep: true, Tick: 100 * time.Microsecond}
	cases := []struct {
		name   string
		policy Policy
		spoil  func(r *Ring, g *slotArea)
	}{
		{"a slot length beyond the slot", Lossy, func(r *Ring, g *slotArea) { g.length(0).Store(65) }},
		{"a slot length beyond the slot, lossless", Lossless, func(r *Ring, g *slotArea) { g.length(0).Store(1 << 31) }},
		{"a seq of a position in another slot", Lossy, func(r *Ring, g *slotArea) { g.seq(0).Store(3) }},
		{"a writing marker of another slot", Lossless, func(r *Ring, g *slotArea) { g.seq(0).Store(2 | layout.SeqWriting) }},
		{"a seq that never comes under a cursor past it", Lossless, func(r *Ring, g *slotArea) {
			g.seq(0).Store(0)
		}},
		{"a producer state with unknown bits", Lossy, func(r *Ring, g *slotArea) {
			g.seq(0).Store(0)
			r.bcastWords().cursor.Store(0)
			r.bcastWords().state.Store(0x40)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newBcastRing(t, true, 64, 4, 2)
			rd := mustReader(t, r, ReaderOptions{Policy: tc.policy})
			rd.SetWait(fast)
			p := mustProducer(t, r)
			if err := bcastSend(ctx, p, 0, 1, make([]byte, 64)); err != nil {
				t.Fatal(err)
			}
			g := r.slotArea()
			tc.spoil(r, &g)
			c, cancel := short()
			defer cancel()
			_, err := rd.Recv(c, make([]byte, 64))
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Recv = %v, want ErrCorrupt", err)
			}
			c2, cancel2 := short()
			defer cancel2()
			if _, err := rd.Receive(c2); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Receive = %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestBroadcastJoinAndAttachRefuseACorruptCursor: a producer cursor that
// is no position (the writing bit set) is ErrCorrupt to a joining reader
// and to a new producer, and leaves the entry and the role free.
func TestBroadcastJoinAndAttachRefuseACorruptCursor(t *testing.T) {
	r := newBcastRing(t, true, 64, 4, 1)
	r.bcastWords().cursor.Store(layout.SeqWriting | 5)
	if _, err := r.Reader(ReaderOptions{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Reader = %v, want ErrCorrupt", err)
	}
	if _, err := r.Producer(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Producer = %v, want ErrCorrupt", err)
	}
	r.bcastWords().cursor.Store(5)
	mustReader(t, r, ReaderOptions{}) // the only entry was given back
	mustProducer(t, r)
}

// TestBroadcastLosslessReaderOverrunIsCorrupt: a lossless reader whose entry
// someone rewrote as lossy is overrun; it reports ErrCorrupt carrying the
// *LapError (the count stays exact) and goes on after the gap.
func TestBroadcastLosslessReaderOverrunIsCorrupt(t *testing.T) {
	r := newBcastRing(t, true, 64, 4, 1)
	rd := mustReader(t, r, ReaderOptions{Policy: Lossless})
	p := mustProducer(t, r)
	ctx := context.Background()
	r.readerEntry(0).policy.Store(layout.PolicyLossy)
	if err := bcastSend(ctx, p, 0, 9, make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	_, err := rd.Recv(ctx, make([]byte, 64))
	var lap *LapError
	if !errors.Is(err, ErrCorrupt) || !errors.As(err, &lap) {
		t.Fatalf("Recv after an overrun = %v, want ErrCorrupt with a *LapError", err)
	}
	c := newBcastChecker(rd, lap.Missed, 64, true)
	p.Close()
	if err := c.run(ctx, "recv", 9); err != nil {
		t.Fatal(err)
	}
}

// TestBroadcastNewProducerAdoptsPublishedSlots: a producer that died after
// publishing slots and before storing the cursor over them: the next
// producer adopts them (a reader may have read them already) instead of
// publishing other messages at the same positions.
func TestBroadcastNewProducerAdoptsPublishedSlots(t *testing.T) {
	r := newBcastRing(t, true, 64, 8, 2)
	rd := mustReader(t, r, ReaderOptions{Policy: Lossless})
	p := mustProducer(t, r)
	ctx := context.Background()
	buf := make([]byte, 64)
	if err := bcastSend(ctx, p, 0, 3, buf); err != nil {
		t.Fatal(err)
	}
	p.Close()
	// Positions 3 and 4 published by their seq alone, as a dead producer
	// leaves them.
	g := r.slotArea()
	for pos := uint64(3); pos < 5; pos++ {
		m := g.payload(pos, uint32(bcastMsgLen(pos, 64)))
		encodeMessage(m, pos)
		g.length(pos).Store(uint32(len(m)))
		g.seq(pos).Store(pos + 1)
	}
	r.bcastWords().state.Store(layout.StateAttached)
	c := newBcastChecker(rd, 0, 64, true)
	for range 5 {
		if err := c.step(ctx, "receive"); err != nil {
			t.Fatal(err)
		}
	}
	p = mustProducer(t, r)
	if got := r.bcastWords().cursor.Load(); got != 5 {
		t.Fatalf("the new producer's cursor = %d, want 5 (adopting 3 and 4)", got)
	}
	if err := bcastSend(ctx, p, 5, 3, buf); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if err := c.run(ctx, "recv", 8); err != nil {
		t.Fatal(err)
	}
}
