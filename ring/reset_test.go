//go:build linux

package ring

// Reset, kind by kind: a wrecked ring (taking a role is ErrCorrupt, and its
// slots hold stale messages set up to look fresh) is reset and then streams
// cleanly; a Reset that finds a role held refuses and changes nothing.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
)

// resetKind is how the tests of one kind wreck a ring and take its roles.
type resetKind struct {
	name string
	o    Options
	// wreck leaves the ring full of stale messages and its control state
	// such that taking either role is ErrCorrupt, with slot headers that
	// would make the stale messages look fresh to a Reset that forgot
	// them. It returns the position Reset must continue at (LAYOUT.md
	// section 15).
	wreck func(t *testing.T, r *Ring) uint64
	// position reads the cursors (or hints) Reset wrote.
	position func(r *Ring) []uint64
}

var resetKinds = []resetKind{
	{"SPSC", Options{Kind: SPSC, SlotSize: 64, Slots: 8}, wreckSPSC, func(r *Ring) []uint64 {
		return []uint64{r.side(producerRole).cursor.Load(), r.side(consumerRole).cursor.Load()}
	}},
	{"MPMC", Options{Kind: MPMC, SlotSize: 64, Slots: 8, MaxProducers: 2, MaxConsumers: 3}, wreckMPMC, mpmcHints},
	{"MPSC", Options{Kind: MPSC, SlotSize: 64, Slots: 8, MaxProducers: 2}, wreckMPMC, mpmcHints},
	{"Broadcast", Options{Kind: Broadcast, SlotSize: 64, Slots: 8, MaxReaders: 3}, wreckBroadcast, func(r *Ring) []uint64 {
		return []uint64{r.bcastWords().cursor.Load()}
	}},
}

func mpmcHints(r *Ring) []uint64 {
	return []uint64{r.word64(layout.MPMCTailOffset).Load(), r.word64(layout.MPMCHeadOffset).Load()}
}

// fillStale fills the ring with messages no stream test ever expects
// (sequence numbers counted down from the top), then closes the producer.
func fillStale(t *testing.T, r *Ring) {
	t.Helper()
	p, err := r.Producer()
	if err != nil {
		t.Fatalf("setup: Producer: %v", err)
	}
	m := make([]byte, r.SlotSize())
	for i := range uint64(r.Slots()) {
		encodeMessage(m, ^i)
		if err := p.TrySend(m); err != nil {
			t.Fatalf("setup: TrySend of stale message %d: %v", i, err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// wreckedPosition is where LAYOUT.md says Reset continues: the first lap
// boundary past the larger cursor.
func wreckedPosition(r *Ring, a, b uint64) uint64 {
	n := uint64(r.Slots())
	return max(a, b)/n*n + n
}

// wreckSPSC pushes the producer cursor over a lap past the consumer's, as
// two goroutines sharing one Producer do, and makes every slot's seq claim
// the position the slot holds next after a reset.
func wreckSPSC(t *testing.T, r *Ring) uint64 {
	fillStale(t, r)
	n := uint64(r.Slots())
	cons := r.side(consumerRole).cursor.Load()
	r.side(producerRole).cursor.Store(cons + n + 3)
	p := wreckedPosition(r, cons, cons+n+3)
	for i := range n {
		r.slotWord32(i, layout.SlotSeqOffset).Store(uint32(p + i + 1))
	}
	return p
}

// wreckMPMC makes both sides' first entries hold a state no peer writes,
// moves the Tail hint five laps ahead, scribbles on the counts and the
// stream word, and marks every slot Full for the position it holds next
// after a reset.
func wreckMPMC(t *testing.T, r *Ring) uint64 {
	fillStale(t, r)
	tail, head := r.word64(layout.MPMCTailOffset), r.word64(layout.MPMCHeadOffset)
	tail.Store(head.Load() + 5*uint64(r.Slots()) + 1)
	for _, i := range []uint32{0, r.hdr.MaxProducers} {
		r.word32(int(layout.MPMCEntryOffset(i)) + layout.EntryStateOffset).Store(7)
	}
	r.word32(layout.MPMCProducersOffset).Store(99)
	r.word32(layout.MPMCStreamOffset).Store(9)
	p := wreckedPosition(r, tail.Load(), head.Load())
	for i := range uint64(r.Slots()) {
		r.slotWord64(i, layout.MPMCSlotCtrlOffset).Store(layout.Ctrl(p+i, layout.SlotFull, 0))
	}
	return p
}

// wreckBroadcast stores a cursor that is no position, a corrupt reader
// entry and a dead lossless one (the reader the tests take gets entry 0). The stale fill already left every slot
// published for positions 0..slots-1, the positions after a reset.
func wreckBroadcast(t *testing.T, r *Ring) uint64 {
	fillStale(t, r)
	r.bcastWords().cursor.Store(layout.SeqWriting | 5)
	r.readerEntry(1).state.Store(9)
	e := r.readerEntry(2)
	e.state.Store(layout.ReaderAttached)
	e.policy.Store(layout.PolicyLossless)
	return 0
}

// receiver is the read side of any kind: a Consumer, or a broadcast Reader.
type receiver interface {
	Recv(ctx context.Context, buf []byte) (int, error)
	TryRecv(buf []byte) (int, error)
	Receive(ctx context.Context) ([]byte, error)
	Release() error
	Close() error
}

// takeReadSide takes the ring's read role. A broadcast reader is lossless
// and starts at Oldest: the start that would find a stale message if the
// reset left one.
func takeReadSide(r *Ring) (receiver, error) {
	if r.Kind() == Broadcast {
		return r.Reader(ReaderOptions{Policy: Lossless, Start: Oldest})
	}
	return r.Consumer()
}

// streamAfterReset sends n messages from a producer goroutine to a
// receiver on the test's goroutine and checks each, then the end of the
// stream.
func streamAfterReset(t *testing.T, r *Ring, n uint64) {
	t.Helper()
	rx, err := takeReadSide(r)
	if err != nil {
		t.Fatalf("read side after Reset: %v", err)
	}
	defer rx.Close()
	buf := make([]byte, r.SlotSize())
	switch k, err := rx.TryRecv(buf); {
	case err == nil:
		t.Fatalf("TryRecv on the reset ring delivered %d bytes (sequence %#x), want ErrEmpty: a stale message", k, seqOf(buf[:k]))
	case !errors.Is(err, ErrEmpty):
		t.Fatalf("TryRecv on the reset ring = %v, want ErrEmpty", err)
	}
	p, err := r.Producer()
	if err != nil {
		t.Fatalf("Producer after Reset: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sent := make(chan error, 1)
	go func() {
		err := bcastSend(ctx, p, 0, n, make([]byte, r.SlotSize()))
		sent <- errors.Join(err, p.Close())
	}()
	defer func() { // the sender is gone before the ring is closed, even when a check failed
		cancel()
		if err := <-sent; err != nil {
			t.Errorf("producer: %v", err)
		}
		if st := p.Stats(); st.BadEntries != 0 {
			t.Errorf("producer Stats %+v: Reset left corrupt reader entries", st)
		}
	}()
	for seq := uint64(0); ; seq++ {
		k, err := rx.Recv(ctx, buf)
		if errors.Is(err, ErrClosed) && seq == n {
			return
		}
		if err == nil {
			err = checkMessage(buf[:k], seq, bcastMsgLen(seq, len(buf)))
		}
		if err != nil {
			t.Fatalf("message %d of %d after Reset: %v", seq, n, err)
		}
	}
}

// TestResetBringsAWreckedRingBackIntoService wrecks a ring of each kind so
// that both roles are refused with ErrCorrupt and every slot's header makes
// a stale message look fresh, resets it, and streams through it: the reset
// ring delivers no stale message, continues at the documented position, and
// loses, duplicates or tears nothing.
func TestResetBringsAWreckedRingBackIntoService(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	n := uint64(20_000)
	if raceEnabled {
		n = 2_000
	}
	for _, k := range resetKinds {
		t.Run(k.name, func(t *testing.T) {
			forEachBacking(t, func(t *testing.T, heap bool) {
				r := newResetRing(t, heap, k.o)
				want := k.wreck(t, r)
				if _, err := r.Producer(); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Producer on the wrecked ring = %v, want ErrCorrupt", err)
				}
				if _, err := takeReadSide(r); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("read side on the wrecked ring = %v, want ErrCorrupt", err)
				}
				if err := r.Reset(); err != nil {
					t.Fatalf("Reset with no role held = %v, want nil", err)
				}
				for _, got := range k.position(r) {
					if got != want {
						t.Errorf("after Reset a cursor is %d, want %d (LAYOUT.md section 15)", got, want)
					}
				}
				streamAfterReset(t, r, n)
				if err := r.Reset(); err != nil { // a healthy, idle ring resets too
					t.Fatalf("second Reset = %v", err)
				}
				streamAfterReset(t, r, 100)
			})
		})
	}
}

func newResetRing(t *testing.T, heap bool, o Options) *Ring {
	t.Helper()
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

// TestResetRefusesWhileARoleIsHeld holds each role of each kind in this
// process: Reset returns ErrBusy naming the role and leaves every byte of
// the ring as it was; once the handle is closed it succeeds.
func TestResetRefusesWhileARoleIsHeld(t *testing.T) {
	producer := func(r *Ring) (io.Closer, error) { return r.Producer() }
	reader := func(r *Ring) (io.Closer, error) {
		rx, err := takeReadSide(r)
		return rx, err
	}
	cases := []struct {
		kind  resetKind
		role  string
		take  func(r *Ring) (io.Closer, error)
		named string
	}{
		{resetKinds[0], "the producer", producer, "role=producer:"},
		{resetKinds[0], "the consumer", reader, "role=consumer:"},
		{resetKinds[1], "a producer", producer, "role=producer entry=0:"},
		{resetKinds[1], "a consumer", reader, "role=consumer entry=0:"},
		{resetKinds[2], "the consumer", reader, "role=consumer entry=0:"},
		{resetKinds[3], "the producer", producer, "role=producer:"},
		{resetKinds[3], "a reader", reader, "role=reader entry=0:"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s ring while this process holds %s", tc.kind.name, tc.role), func(t *testing.T) {
			forEachBacking(t, func(t *testing.T, heap bool) {
				r := newResetRing(t, heap, tc.kind.o)
				fillStale(t, r)
				h, err := tc.take(r)
				if err != nil {
					t.Fatal(err)
				}
				before := bytes.Clone(r.mem)
				err = r.Reset()
				if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), tc.named) {
					t.Fatalf("Reset = %v, want ErrBusy naming %q", err, tc.named)
				}
				if !bytes.Equal(before, r.mem) {
					t.Fatal("a refused Reset changed the ring")
				}
				if err := h.Close(); err != nil {
					t.Fatal(err)
				}
				if err := r.Reset(); err != nil {
					t.Fatalf("Reset after the handle closed = %v, want nil", err)
				}
			})
		})
	}
}

// TestResetOfAClosedRingOrAMissingNameFails: ErrClosed after Close, and
// the package-level Reset reports a name with no ring as Open does.
func TestResetOfAClosedRingOrAMissingNameFails(t *testing.T) {
	r := newTestRing(t, Options{Kind: SPSC, SlotSize: 16, Slots: 4})
	r.Close()
	if err := r.Reset(); !errors.Is(err, ErrClosed) {
		t.Errorf("Reset after Close = %v, want ErrClosed", err)
	}
	if err := Reset(uniqueName(t)); !errors.Is(err, ErrNotExist) {
		t.Errorf("Reset of a name with no ring = %v, want ErrNotExist", err)
	}
}

// slotWord32 and slotWord64 are the words at offset off of slot i, found
// from layout alone (not through slotArea, which Reset uses).
func (r *Ring) slotWord32(i uint64, off int) *atomic.Uint32 {
	return r.word32(int(r.hdr.SlotOffset(i)) + off)
}

func (r *Ring) slotWord64(i uint64, off int) *atomic.Uint64 {
	return r.word64(int(r.hdr.SlotOffset(i)) + off)
}
