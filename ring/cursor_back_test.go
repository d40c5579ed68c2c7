//go:build linux

package ring

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shmring/shmring/layout"
)

// TestAWaitFindsAPeerCursorMovedBack: a cursor only grows, so one that a
// scribbling process moved back below what a waiting side last saw of it
// (or, on a broadcast ring, marked with the writing bit, or further behind
// the reader than a reader gets: a slot ring's reader, which goes by the
// slots' seqs, may be up to a ring past the cursor) is ErrCorrupt to the
// waiter, soon, on every kind and both directions. The wait looked
// only for the cursor to reach what it needed, and waited until its
// deadline, or for ever. (From a black-box tester of the C and Python
// peers, which waited too.)
func TestAWaitFindsAPeerCursorMovedBack(t *testing.T) {
	fast := WaitStrategy{Spin: 8, Yield: 1, Sleep: true, Tick: time.Millisecond}
	msg := make([]byte, 16)
	type tc struct {
		o     Options
		setup func(t *testing.T, r *Ring) (wait func(context.Context) error)
		spoil func(r *Ring)
	}
	consumer := func(t *testing.T, r *Ring) func(context.Context) error {
		p, c := mustProducer(t, r), mustConsumer(t, r)
		c.SetWait(fast)
		for range 5 {
			if err := p.Send(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Recv(context.Background(), make([]byte, 64)); err != nil {
				t.Fatal(err)
			}
		}
		return func(ctx context.Context) error { _, err := c.Recv(ctx, make([]byte, 64)); return err }
	}
	producer := func(t *testing.T, r *Ring) func(context.Context) error {
		p, c := mustProducer(t, r), mustConsumer(t, r)
		p.SetWait(fast)
		for i := 0; ; i++ {
			if err := p.TrySend(msg); errors.Is(err, ErrFull) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			if i == 1 { // the consumer's cursor moves off zero
				for range 2 {
					if _, err := c.Recv(context.Background(), make([]byte, 64)); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		return func(ctx context.Context) error { return p.Send(ctx, msg) }
	}
	reader := func(policy Policy) func(t *testing.T, r *Ring) func(context.Context) error {
		return func(t *testing.T, r *Ring) func(context.Context) error {
			p, rd := mustProducer(t, r), mustReader(t, r, ReaderOptions{Policy: policy})
			rd.SetWait(fast)
			for range 20 { // more than the slot rings' 8 slots
				if err := p.Send(context.Background(), msg); err != nil {
					t.Fatal(err)
				}
				if _, err := rd.Recv(context.Background(), make([]byte, 64)); err != nil {
					t.Fatal(err)
				}
			}
			return func(ctx context.Context) error { _, err := rd.Recv(ctx, make([]byte, 64)); return err }
		}
	}
	back := func(off int, v uint64) func(r *Ring) { return func(r *Ring) { r.word64(off).Store(v) } }
	slots := Options{Kind: SPSC, SlotSize: 64, Slots: 8}
	records := Options{Kind: SPSC, Records: true, Capacity: 1024}
	bcast := Options{Kind: Broadcast, SlotSize: 64, Slots: 8, MaxReaders: 2}
	bcastRec := Options{Kind: Broadcast, Records: true, Capacity: 1024, MaxReaders: 2}
	cases := map[string]tc{
		"spsc/consumer":           {slots, consumer, back(layout.ProducerCursorOffset, 3)},
		"spsc/records/consumer":   {records, consumer, back(layout.ProducerCursorOffset, 2*layout.RecordAlign)},
		"spsc/producer":           {slots, producer, back(layout.ConsumerCursorOffset, 1)},
		"spsc/records/producer":   {records, producer, back(layout.ConsumerCursorOffset, 0)},
		"broadcast/lossy":         {bcast, reader(Lossy), back(layout.BcastCursorOffset, 20-8-1)},
		"broadcast/lossless":      {bcast, reader(Lossless), back(layout.BcastCursorOffset, 20-8-1)},
		"broadcast/writing mark":  {bcast, reader(Lossy), back(layout.BcastCursorOffset, 5|layout.SeqWriting)},
		"broadcast/records/lossy": {bcastRec, reader(Lossy), back(layout.BcastCursorOffset, layout.RecordAlign)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := newTestRing(t, c.o)
			wait := c.setup(t, r)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- wait(ctx) }()
			time.Sleep(20 * time.Millisecond) // let it wait
			c.spoil(r)
			if err := <-done; !errors.Is(err, ErrCorrupt) {
				t.Errorf("a wait whose peer cursor was moved back = %v, want ErrCorrupt", err)
			}
		})
	}
}

// TestASlotReaderAheadOfTheCursorIsNoCorruption: a broadcast producer
// stores each slot's seq before the one cursor store of a batch, and a
// reader goes by the seqs, so mid-batch a reader is past the cursor. Its
// probe, while it waits for the batch's next message, must not call that
// corrupt. It did, once the probe looked for a cursor below the reader
// (a reviewer: a SendBatch stream with a polling reader failed after 7
// messages).
func TestASlotReaderAheadOfTheCursorIsNoCorruption(t *testing.T) {
	requireStepHook(t)
	fast := WaitStrategy{Spin: 8, Yield: 1, Sleep: true, Tick: time.Millisecond}
	for _, policy := range []Policy{Lossy, Lossless} {
		t.Run(policy.String(), func(t *testing.T) {
			r := newTestRing(t, Options{Kind: Broadcast, SlotSize: 64, Slots: 8, MaxReaders: 2})
			rd := mustReader(t, r, ReaderOptions{Policy: policy})
			rd.SetWait(fast)
			p := mustProducer(t, r)
			puts := 0
			var got []error
			// Inside the batch: two messages' seqs stored, the third's
			// not yet, the cursor not yet stored.
			setStepHook(func(s step) {
				if s != stepBeforePublish {
					return
				}
				if puts++; puts != 3 {
					return
				}
				buf := make([]byte, 64)
				for range 2 {
					_, err := rd.TryRecv(buf)
					got = append(got, err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
				defer cancel()
				_, err := rd.Recv(ctx, buf) // waits, probing every tick, past the cursor
				got = append(got, err)
			})
			defer setStepHook(nil)
			msgs := [][]byte{make([]byte, 16), make([]byte, 16), make([]byte, 16)}
			if n, err := p.SendBatch(context.Background(), msgs); n != 3 || err != nil {
				t.Fatalf("SendBatch = %d, %v", n, err)
			}
			setStepHook(nil)
			if len(got) != 3 || got[0] != nil || got[1] != nil || !errors.Is(got[2], context.DeadlineExceeded) {
				t.Fatalf("a reader two messages past the cursor, mid-batch: TryRecv, TryRecv, Recv = %v; want nil, nil, the deadline", got)
			}
		})
	}
}
