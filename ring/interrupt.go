package ring

import (
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/shmring/shmring/futex"
)

// Ring.Close wakes each handle's goroutine out of a futex sleep so that it
// sees the ring closing (handle.interrupt). A wake word is a counter that
// only ever grows; an extra increment and wake costs its sleepers one
// spurious look at their condition, in any process.

// nudge bumps a futex word and wakes everyone sleeping on it.
func nudge(w *atomic.Uint32) {
	w.Add(1)
	futex.Wake((*uint32)(unsafe.Pointer(w)), math.MaxInt32)
}

func (p *Producer) interrupt() { p.e.interrupt() }

func (c *Consumer) interrupt() { c.e.interrupt() }

// An MPMC handle sleeps on the data word (consumers) or the space word
// (producers).
func (h *mpmcHandle) interrupt() {
	nudge(h.dataWake)
	nudge(h.spaceWake)
}

func (h *mpmcHandle) dropRole() {
	h.closed = true
	_ = h.lock.unlock(h.r)
}

func (p *bcastProducer) dropRole() {
	p.closed = true
	_ = p.lock.unlock(p.r)
}

// A gated broadcast producer sleeps on the gate word.
func (p *bcastProducer) interrupt() { nudge(p.w.gateWake) }

// A broadcast reader sleeps on the producer's wake word.
func (rd *Reader) interrupt() { nudge(rd.w.wake) }
