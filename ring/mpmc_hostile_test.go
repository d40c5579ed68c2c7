package ring

// Values no correct peer writes, put into a live MPMC mapping: each call
// that reads them reports ErrCorrupt, never panics, never waits forever.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/layout"
)

func TestMPMCHostileValuesAreCorrupt(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	const slots = 4
	type env struct {
		r *Ring
		p *Producer
		c *Consumer
		h *mpmcHandle
	}
	set := func(e env, pos uint64, w uint64) { e.h.ctrl(pos).Store(w) }
	tryRecv := func(e env) error {
		_, err := e.c.TryRecv(make([]byte, 64))
		return err
	}
	recv := func(e env) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := e.c.Recv(ctx, make([]byte, 64))
		return err
	}
	trySend := func(e env) error { return e.p.TrySend([]byte("x")) }
	tests := []struct {
		name  string
		setup func(e env) // the ring holds one published message at position 0
		call  func(e env) error
	}{
		{"a state beyond Skipped at the head", func(e env) { set(e, 0, layout.Ctrl(0, 7, 0)) }, tryRecv},
		{"a claim whose owner names no entry", func(e env) { set(e, 0, layout.Ctrl(0, layout.SlotClaimed, layout.Owner(1000, 1))) }, tryRecv},
		{"a full slot with owner bits", func(e env) { set(e, 0, layout.Ctrl(0, layout.SlotFull, 5)) }, tryRecv},
		{"a free slot with owner bits at the tail", func(e env) { set(e, 1, layout.Ctrl(1, layout.SlotFree, 3)) }, trySend},
		{"a seq off by one at the tail", func(e env) { set(e, 1, layout.Ctrl(2, layout.SlotFree, 0)) }, trySend},
		{"a seq two laps ahead of a current tail", func(e env) { set(e, 1, layout.Ctrl(1+2*slots, layout.SlotFull, 0)) }, trySend},
		{"a seq two laps behind the tail", func(e env) { set(e, 1, layout.Ctrl(uint64(1<<32+1-2*slots), layout.SlotFull, 0)) }, trySend},
		{"a slot free for a lap the tail passed", func(e env) {
			e.h.tail.Store(slots)
			set(e, 0, layout.Ctrl(0, layout.SlotFree, 0))
		}, trySend},
		{"a seq off by three at the head", func(e env) { set(e, 0, layout.Ctrl(3, layout.SlotFull, 0)) }, tryRecv},
		{"a full slot a lap behind the head", func(e env) {
			e.h.head.Store(slots)
			set(e, 0, layout.Ctrl(0, layout.SlotFull, 0))
		}, tryRecv},
		{"a length beyond the slot", func(e env) { e.h.setLen(0, 65) }, recv},
		{"a length of 2^32-1", func(e env) { e.h.setLen(0, ^uint32(0)) }, tryRecv},
		{"the tail hint moved back", func(e env) {
			e.p.TrySend([]byte("y"))
			e.h.tail.Store(0)
		}, trySend},
		{"the head hint moved back", func(e env) {
			tryRecv(e)
			e.h.head.Store(^uint64(0))
		}, tryRecv},
		{"a stream word no format defines", func(e env) {
			tryRecv(e)
			e.h.prodWord.Store(layout.ProducerWord(0, 9))
		}, tryRecv},
		{"a producer count beyond the limit", func(e env) {
			tryRecv(e)
			e.h.prodWord.Store(layout.ProducerWord(1000, layout.StreamClosed))
		}, tryRecv},
		{"an entry state no format defines, met by a joining producer", func(e env) {
			e.h.entry(1).state.Store(7)
		}, func(e env) error { _, err := e.r.Producer(); return err }},
		{"a left state on a producer entry (only consumers leave one), met by a joining producer", func(e env) {
			e.h.entry(1).state.Store(layout.EntryLeft)
		}, func(e env) error { _, err := e.r.Producer(); return err }},
		{"an entry state no format defines, met by a probing consumer", func(e env) {
			tryRecv(e)
			e.h.entry(3).state.Store(0x100)
		}, recv},
		{"a claim stamp pointing at a slot of another index", func(e env) {
			// A dead producer's entry, reaped by a joiner, names a slot
			// whose seq belongs to another slot.
			e.h.entry(1).state.Store(layout.EntryAttached)
			e.h.prodWord.Add(1) // the Producers count, the low half
			set(e, 2, layout.Ctrl(5, layout.SlotClaimed, layout.Owner(1, 0)))
		}, func(e env) error { _, err := e.r.Producer(); return err }},
	}
	for _, file := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if file {
				name += " (file ring)"
			}
			t.Run(name, func(t *testing.T) {
				r := newMPMCRing(t, MPMC, file, 64, slots, Options{MaxProducers: 2, MaxConsumers: 2})
				p, c := mustProducer(t, r), mustConsumer(t, r)
				p.SetWait(fastTick)
				c.SetWait(fastTick)
				if err := p.Send(context.Background(), []byte("first")); err != nil {
					t.Fatal(err)
				}
				e := env{r: r, p: p, c: c, h: mpmcHandleOf(p)}
				tt.setup(e)
				err := tt.call(e)
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("got %v, want ErrCorrupt", err)
				}
			})
		}
	}
}
