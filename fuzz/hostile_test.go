//go:build linux

package fuzz

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// FuzzHostileMapping plays a hostile process that maps a live ring and
// writes whatever it likes into it. It creates a real ring, takes both roles
// in this process, sends a few messages and maps the file a second time;
// the input is then a program of ring operations interleaved with writes to
// that second mapping (at any offset, modulo the file size: header, control
// words, slot lengths, payloads). The engine must never panic or touch
// memory outside its mapping (a fault kills the fuzzing process), and every
// error must be a ring sentinel or the context's.
//
// The first byte picks the geometry and whether a goroutine also replays the
// input's writes, over and over, while the operations run: the race of
// reading garbage as it changes. (That mode is not reproducible exactly;
// its crashes are, in the sense that they crash again soon.)
//
//	go test -run='^$' -fuzz='^FuzzHostileMapping$' -fuzztime=60s ./fuzz/
func FuzzHostileMapping(f *testing.F) {
	skipWithoutShm(f)
	f.Add([]byte{0x00, hTryRecv, hTrySend, hReceive, hRelease})
	// The producer cursor jumps ahead, then back; the consumer must call it corrupt.
	f.Add(cat([]byte{0x09, hWord, 0}, u64(1<<40), []byte{hTryRecv, hReceive, hWord, 0}, u64(0), []byte{hTryRecv}))
	// The consumer cursor passes the producer's; the producer must call it corrupt.
	f.Add(cat([]byte{0x0a, hWord, 6}, u64(7), []byte{hTrySend, hSend, hClaimBatch, 4, hProducerToggle, hProducerToggle}))
	// Slot lengths beyond the slot, then a batch over them.
	f.Add(cat([]byte{0x0f, hWord, 12}, u64(0xffffffff), []byte{hWord, 13}, u64(1<<31), []byte{hReceiveBatch, 8, hRelease, hTryRecv}))
	// The producer's state: unknown bits, closed, attached with no holder.
	f.Add(cat([]byte{0x05, hProducerToggle, hTryRecv, hWord, 3}, u64(0xf0), []byte{hReceive, hWord, 3}, u64(uint64(layout.StateAttached)), []byte{hReceive, hWord, 3}, u64(uint64(layout.StateClosed)), []byte{hTryRecv, hTryRecv, hTryRecv, hTryRecv, hReceive}))
	// Sleepers and wake words scribbled while both sides wait; release-store flags.
	f.Add(cat([]byte{0x0d, hWord, 2}, u64(1), []byte{hWord, 8}, u64(1), []byte{hWord, 5}, u64(0xffffffff), []byte{hWord, 11}, u64(1), []byte{hSend, hSend, hSend, hReceive, hRelease, hReceive}))
	// Raw bytes over the header and the first slot, concurrently.
	f.Add(cat([]byte{0x80 | 0x06, hRaw, 0, 0, 8}, []byte("garbage!"), []byte{hRaw, 0x80, 0x02, 8}, u64(^uint64(0)), []byte{hTryRecv, hTrySend, hConsumerToggle, hConsumerToggle, hReceiveBatch, 3, hClaimBatch, 3, hRecv}))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &input{b: data}
		cfg := in.byte()
		h := newHostile(t, 1<<(cfg&3), []int{1, 7, 16, 57}[cfg>>2&3])
		defer h.close()
		if cfg&0x80 != 0 {
			h.scribble(in.b)
		}
		for i := 0; i < 64 && in.more(); i++ {
			h.step(in)
		}
	})
}

// Operation codes of FuzzHostileMapping (the input byte modulo hCount).
const (
	hRaw            = iota // offset u16, length byte (mod 17), bytes: write into the mapping
	hWord                  // word index byte, value u64: store into a control word or slot length
	hTrySend               // length byte
	hTryRecv               //
	hTryReceive            // leaves the message leased
	hRelease               //
	hReceive               // short deadline; leaves the message leased
	hReceiveBatch          // max; short deadline; leaves the batch leased
	hClaimBatch            // max; short deadline; commits it
	hSend                  // short deadline
	hClaimCommit           // length byte
	hProducerToggle        // Close the producer, or take the role again
	hConsumerToggle        // Close the consumer, or take the role again
	hRecv                  // short deadline
	hCount
)

type hostile struct {
	t      *testing.T
	name   string
	r      *ring.Ring
	mem    []byte // the second, hostile mapping
	size   int    // slot size
	hdr    layout.Header
	p      *ring.Producer
	c      *ring.Consumer
	held   bool
	stop   chan struct{}
	done   sync.WaitGroup
	sendNo byte
}

func newHostile(t *testing.T, slots, size int) *hostile {
	h := &hostile{t: t, name: uniqueName("hostile"), size: size}
	r, err := ring.Create(h.name, ring.Options{Kind: ring.SPSC, SlotSize: size, Slots: slots})
	if err != nil {
		t.Fatal(err)
	}
	h.r, h.hdr = r, r.Header()
	if h.mem, err = mapAgain(r); err != nil {
		h.close()
		t.Fatal(err)
	}
	h.takeProducer()
	h.takeConsumer()
	for i := range slots/2 + 1 { // a few messages in flight, and positions past zero
		checkErr(t, "TrySend", h.p.TrySend(h.msg(i%(size+1))), ring.ErrFull)
	}
	_, err = h.c.TryRecv(make([]byte, size))
	checkErr(t, "TryRecv", err)
	return h
}

func (h *hostile) close() {
	if h.stop != nil {
		close(h.stop)
		h.done.Wait()
	}
	if h.mem != nil {
		unix.Munmap(h.mem)
	}
	if err := h.r.Close(); err != nil {
		h.t.Errorf("Ring.Close: %v", err)
	}
	ring.Remove(h.name)
}

func (h *hostile) msg(n int) []byte {
	h.sendNo++
	b := make([]byte, n)
	for i := range b {
		b[i] = h.sendNo ^ byte(i)
	}
	return b
}

// controlWords are the targets of hWord: every control word, then the length word
// of each slot.
var controlWords = []struct{ off, size int }{
	{layout.ProducerCursorOffset, 8}, {layout.ProducerWakeOffset, 4}, {layout.ProducerSleepersOffset, 4},
	{layout.ProducerStateOffset, 4}, {layout.ProducerEpochOffset, 4}, {layout.ProducerFlagsOffset, 4},
	{layout.ConsumerCursorOffset, 8}, {layout.ConsumerWakeOffset, 4}, {layout.ConsumerSleepersOffset, 4},
	{layout.ConsumerStateOffset, 4}, {layout.ConsumerEpochOffset, 4}, {layout.ConsumerFlagsOffset, 4},
}

// write applies one hostile write decoded from in; it reads the same bytes
// whether or not it writes, so scribble can replay a program.
func (h *hostile) write(op byte, in *input) {
	le := binary.LittleEndian
	switch op {
	case hRaw:
		off := int(in.uint16()) % len(h.mem)
		b := in.bytes(int(in.byte() % 17))
		copy(h.mem[off:], b)
	case hWord:
		i := int(in.byte()) % (len(controlWords) + int(h.hdr.SlotCount))
		v := in.uint64()
		if i < len(controlWords) {
			w := controlWords[i]
			if w.size == 8 {
				le.PutUint64(h.mem[w.off:], v)
			} else {
				le.PutUint32(h.mem[w.off:], uint32(v))
			}
			return
		}
		le.PutUint32(h.mem[h.hdr.SlotOffset(uint64(i-len(controlWords))):], uint32(v))
	}
}

// scribble replays the program's writes in a loop until close.
func (h *hostile) scribble(program []byte) {
	h.stop = make(chan struct{})
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		for {
			in := &input{b: program}
			for in.more() {
				select {
				case <-h.stop:
					return
				default:
				}
				op := in.byte() % hCount
				h.write(op, in)
				skipArgs(op, in)
			}
			if len(program) == 0 {
				return
			}
		}
	}()
}

// skipArgs consumes the arguments of the ring operations, so that a replay
// of the program stays aligned with the main loop's decoding.
func skipArgs(op byte, in *input) {
	switch op {
	case hTrySend, hReceiveBatch, hClaimBatch, hClaimCommit:
		in.byte()
	}
}

func (h *hostile) releaseHeld() {
	if h.held {
		h.c.Release()
		h.held = false
	}
}

func (h *hostile) step(in *input) {
	op := in.byte() % hCount
	ctx, cancel := deadline(200 * time.Microsecond)
	defer cancel()
	t := h.t
	switch op {
	case hRaw, hWord:
		h.write(op, in)
	case hTrySend, hSend, hClaimCommit, hClaimBatch:
		arg := in.byte()
		if h.p == nil {
			return
		}
		n := int(arg) % (h.size + 2)
		switch op {
		case hTrySend:
			checkErr(t, "TrySend", h.p.TrySend(h.msg(n)))
		case hSend:
			checkErr(t, "Send", h.p.Send(ctx, h.msg(n%(h.size+1))))
		case hClaimCommit:
			buf, err := h.p.TryClaim()
			checkErr(t, "TryClaim", err)
			if err == nil {
				if len(buf) != h.size {
					t.Fatalf("TryClaim: %d bytes, want %d", len(buf), h.size)
				}
				copy(buf, h.msg(len(buf)))
				if err := h.p.Commit(n); err != nil {
					checkErr(t, "Commit", err, ring.ErrTooLarge, ring.ErrCorrupt) // ErrTruncated: a raw write hit the end mark
					h.p.Abort()
				}
			}
		case hClaimBatch:
			b, err := h.p.ClaimBatch(ctx, 1+int(arg%8))
			checkErr(t, "ClaimBatch", err)
			if err == nil {
				for i := range b.Len() {
					copy(b.Slot(i), h.msg(h.size))
					checkErr(t, "SetLen", b.SetLen(i, (n+i)%(h.size+2)), ring.ErrTooLarge)
				}
				checkErr(t, "CommitBatch", h.p.CommitBatch(b.Len()))
			}
		}
	case hTryRecv, hRecv:
		if h.c == nil {
			return
		}
		h.releaseHeld()
		buf := make([]byte, h.size)
		var n int
		var err error
		if op == hTryRecv {
			n, err = h.c.TryRecv(buf)
		} else {
			n, err = h.c.Recv(ctx, buf)
		}
		checkErr(t, "Recv", err)
		if n > h.size {
			t.Fatalf("Recv: %d bytes into %d", n, h.size)
		}
	case hTryReceive, hReceive:
		if h.c == nil {
			return
		}
		h.releaseHeld()
		var m []byte
		var err error
		if op == hTryReceive {
			m, err = h.c.TryReceive()
		} else {
			m, err = h.c.Receive(ctx)
		}
		checkErr(t, "Receive", err)
		if err == nil {
			h.lease(m)
		}
	case hReceiveBatch:
		arg := in.byte()
		if h.c == nil {
			return
		}
		h.releaseHeld()
		ms, err := h.c.ReceiveBatch(ctx, 1+int(arg%8))
		checkErr(t, "ReceiveBatch", err)
		if err == nil {
			if ms.Len() < 1 || ms.Len() > int(h.hdr.SlotCount) {
				t.Fatalf("ReceiveBatch: %d messages from %d slots", ms.Len(), h.hdr.SlotCount)
			}
			for i := range ms.Len() {
				m, err := ms.At(i)
				checkErr(t, "At", err, ring.ErrCorrupt)
				if len(m) > h.size {
					t.Fatalf("At(%d): %d bytes from %d-byte slots", i, len(m), h.size)
				}
				touch(m)
			}
			h.held = true
		}
	case hRelease:
		if h.c != nil {
			h.releaseHeld()
		}
	case hProducerToggle:
		if h.p != nil {
			if err := h.p.Close(); err != nil {
				t.Fatalf("Producer.Close: %v", err)
			}
			h.p = nil
		} else {
			h.takeProducer()
		}
	case hConsumerToggle:
		if h.c != nil {
			if err := h.c.Close(); err != nil {
				t.Fatalf("Consumer.Close: %v", err)
			}
			h.c, h.held = nil, false
		} else {
			h.takeConsumer()
		}
	}
}

func (h *hostile) lease(m []byte) {
	if len(m) > h.size {
		h.t.Fatalf("Receive: %d bytes from %d-byte slots", len(m), h.size)
	}
	touch(m)
	h.held = true
}

func (h *hostile) takeProducer() {
	p, err := h.r.Producer()
	checkErr(h.t, "Producer", err, ring.ErrCorrupt)
	if err == nil {
		p.SetWait(fastWait)
		h.p = p
	}
}

func (h *hostile) takeConsumer() {
	c, err := h.r.Consumer()
	checkErr(h.t, "Consumer", err, ring.ErrCorrupt)
	if err == nil {
		c.SetWait(fastWait)
		h.c = c
	}
}
