package ring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"testing"
)

// FuzzOps runs a sequence of operations, decoded from the input, on a small
// ring (on the heap, or in a file mapped twice) and checks every result
// against a model: a FIFO queue of capacity Slots. The first input byte
// picks the slot count (1, 2, 4 or 8), the heap or a file, and the wait
// strategy; the second the slot size (1..64); every later byte is an
// operation code followed by the arguments it reads.
//
// Blocking calls get a context that is already cancelled, so they return at
// once: with data or space they must succeed exactly as their Try forms do,
// and without they must report the context's error (or ErrClosed).
//
//	go test -run='^$' -fuzz='^FuzzOps$' -fuzztime=60s ./ring/
func FuzzOps(f *testing.F) {
	seeds := [][]byte{
		// heap, 1 slot of 1 byte: send, full, receive, empty
		{0x00, 0x00, opTrySend, 1, opTrySend, 1, opTryRecv, 0x80, opTryRecv, 0x80},
		// heap, 4 slots of 16: claim/commit, batch claim, receive batch, release
		{0x02, 0x0f, opClaimCommit, 5, 3, opClaimBatch, 8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3, opReceiveBatch, 8, opRelease, opTryRecv, 0x80},
		// mapped, 2 slots of 8: close the producer, drain, ErrClosed, reopen
		{0x05, 0x07, opTrySend, 3, opTrySend, 4, opProducerClose, opTryRecv, 0x80, opTryRecv, 0x80, opTryRecv, 0x80, opProducerTake, 0, opTryRecv, 0x80, opTrySend, 2, opTryRecv, 0x80},
		// heap, 8 slots of 64: a lease held across producer work, consumer close and re-take
		{0x03, 0x3f, opSendBatch, 4, 10, 20, 65, 30, opTryReceive, opSendBatch, 4, 1, 2, 3, 4, opRelease, opReceive, opConsumerClose, opTryRecv, 0x80, opConsumerTake, 0, opReceiveBatch, 8, opRelease},
		// mapped with WaitSleep, 1 slot: open claim across consumer ops, too-large commit, abort
		{0x0c, 0x03, opClaimOpen, opTryRecv, 0x80, opResolveClaim, 0x80 | 9, opResolveClaim, 0, opSend, 2, opSend, 2, opClaim, 3, opRecv, 0x80, opRecv, 0x80},
		// heap, 2 slots: short buffers, busy roles, empty commits
		{0x01, 0x09, opTrySend, 9, opTryRecv, 3, opTryRecv, 0x80, opProducerTake, 0, opConsumerTake, 0, opClaimBatch, 2, 0xff, 0xff, 2, opReceiveBatch, 2, opRelease},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newOpsHarness(t, &opsInput{b: data})
		defer h.close()
		for i := 0; i < maxOps && h.in.more(); i++ {
			h.step()
		}
	})
}

const maxOps = 256

// Operation codes (the input byte modulo opCount).
const (
	opTrySend       = iota // len
	opTryRecv              // buf: 0x80 = SlotSize, else len
	opClaimCommit          // n, then if too large: resolve byte
	opClaimOpen            // leaves a claim open across operations
	opResolveClaim         // 0x80 bit: commit (low bits: n), else abort
	opClaimBatch           // max, then per slot a length (SlotSize+1 skips SetLen), then k
	opSendBatch            // count, lengths
	opSend                 // len
	opClaim                // n
	opTryReceive           // leaves the message leased
	opReceive              // leaves the message leased
	opReceiveBatch         // max; leaves the batch leased
	opRelease              //
	opRecv                 // buf as opTryRecv
	opProducerClose        //
	opProducerTake         // ring index
	opConsumerClose        //
	opConsumerTake         // ring index
	opCount
)

type opsInput struct{ b []byte }

func (in *opsInput) more() bool { return len(in.b) > 0 }

func (in *opsInput) next() byte {
	if len(in.b) == 0 {
		return 0
	}
	c := in.b[0]
	in.b = in.b[1:]
	return c
}

// opsModel is what the ring must behave like.
type opsModel struct {
	slots, slotSize int
	queue           [][]byte // published and not released, oldest first; queue[:held] are leased
	held            int
	closed          bool // the producer state word says StateClosed
}

func (m *opsModel) full() bool  { return len(m.queue) == m.slots }
func (m *opsModel) free() int   { return m.slots - len(m.queue) }
func (m *opsModel) empty() bool { return len(m.queue) == m.held }

type opsHarness struct {
	t     *testing.T
	in    *opsInput
	m     opsModel
	rings []*Ring
	name  string // "" for a heap ring
	ctx   context.Context
	wait  WaitStrategy

	p      *Producer
	pLive  bool
	pSent  uint64 // messages committed through p
	claim  []byte // content written into the open claim
	claimN bool   // a claim is open

	c      *Consumer
	cLive  bool
	leased [][]byte // the leased messages, in place

	seq byte
}

var fuzzOpsSeq atomic.Uint64

func newOpsHarness(t *testing.T, in *opsInput) *opsHarness {
	cfg, size := in.next(), in.next()
	h := &opsHarness{t: t, in: in, wait: DefaultWait}
	h.m.slots = 1 << (cfg & 3)
	h.m.slotSize = 1 + int(size)%64
	if cfg&8 != 0 {
		h.wait = WaitSleep
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.ctx = ctx
	o := Options{Kind: SPSC, SlotSize: h.m.slotSize, Slots: h.m.slots}
	if cfg&4 == 0 {
		r, err := newHeapRing("fuzz", o)
		if err != nil {
			t.Fatal(err)
		}
		h.rings = []*Ring{r}
	} else {
		h.name = fmt.Sprintf("shmring-fuzz-ops-%d-%d", os.Getpid(), fuzzOpsSeq.Add(1))
		r, err := Create(h.name, o)
		if err != nil {
			t.Fatal(err)
		}
		h.rings = []*Ring{r}
		r2, err := Open(h.name)
		if err != nil {
			h.close()
			t.Fatal(err)
		}
		h.rings = append(h.rings, r2)
	}
	h.takeProducer(0)
	h.takeConsumer(0)
	return h
}

func (h *opsHarness) close() {
	for i := len(h.rings) - 1; i >= 0; i-- {
		if err := h.rings[i].Close(); err != nil {
			h.t.Errorf("Ring.Close: %v", err)
		}
		if _, err := h.rings[i].Producer(); !errors.Is(err, ErrClosed) {
			h.t.Errorf("Producer after Ring.Close: err = %v, want ErrClosed", err)
		}
	}
	if h.name != "" {
		Remove(h.name)
	}
}

func (h *opsHarness) fatalf(format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf("%s (model: slots=%d size=%d queue=%d held=%d closed=%v producer=%v consumer=%v)",
		fmt.Sprintf(format, args...), h.m.slots, h.m.slotSize, len(h.m.queue), h.m.held, h.m.closed, h.pLive, h.cLive)
}

// want fails unless err is (errors.Is) wantErr, or nil when wantErr is nil.
func (h *opsHarness) want(op string, err, wantErr error) {
	h.t.Helper()
	if wantErr == nil && err != nil || wantErr != nil && !errors.Is(err, wantErr) {
		h.fatalf("%s: err = %v, want %v", op, err, wantErr)
	}
}

// msg makes a message of n bytes that differs from its neighbours.
func (h *opsHarness) msg(n int) []byte {
	h.seq++
	b := make([]byte, n)
	for i := range b {
		b[i] = h.seq + byte(i*7)
	}
	return b
}

func (h *opsHarness) length(arg byte) int { return int(arg) % (h.m.slotSize + 2) } // may be one too large

func (h *opsHarness) bufLen(arg byte) int {
	if arg&0x80 != 0 {
		return h.m.slotSize
	}
	return int(arg) % (h.m.slotSize + 1)
}

// emptyErr is what a receive finds on an empty ring: end of stream once the
// producer closed it, else ErrEmpty (Try) or the context's error.
func (h *opsHarness) emptyErr(try bool) error {
	switch {
	case h.m.closed:
		return ErrClosed
	case try:
		return ErrEmpty
	}
	return context.Canceled
}

func (h *opsHarness) step() {
	op := h.in.next() % opCount
	switch op {
	case opTrySend, opSend:
		h.dropClaim()
		n := h.length(h.in.next())
		msg := h.msg(n)
		var err error
		if op == opTrySend {
			err = h.p.TrySend(msg)
		} else {
			err = h.p.Send(h.ctx, msg)
		}
		h.want("send", err, h.sendErr(n, op == opTrySend))
		if err == nil {
			h.push(msg)
		}
	case opClaimCommit, opClaimOpen, opClaim:
		h.dropClaim()
		var buf []byte
		var err error
		if op == opClaim {
			buf, err = h.p.Claim(h.ctx)
		} else {
			buf, err = h.p.TryClaim()
		}
		h.want("claim", err, h.sendErr(0, op != opClaim))
		if err != nil {
			return
		}
		if len(buf) != h.m.slotSize {
			h.fatalf("claim: %d bytes, want the slot size %d", len(buf), h.m.slotSize)
		}
		h.claim = h.msg(len(buf))
		copy(buf, h.claim)
		h.claimN = true
		if op != opClaimOpen {
			h.commit(h.length(h.in.next()))
		}
	case opResolveClaim:
		arg := h.in.next()
		if !h.claimN {
			return
		}
		if arg&0x80 != 0 {
			h.commit(h.length(arg &^ 0x80))
		} else {
			h.p.Abort()
			h.claimN = false
		}
	case opClaimBatch:
		h.claimBatch()
	case opSendBatch:
		h.sendBatch()
	case opTryRecv, opRecv:
		h.release()
		buf := make([]byte, h.bufLen(h.in.next()))
		var n int
		var err error
		if op == opTryRecv {
			n, err = h.c.TryRecv(buf)
		} else {
			n, err = h.c.Recv(h.ctx, buf)
		}
		switch {
		case !h.cLive:
			h.want("recv", err, ErrClosed)
		case h.m.empty():
			h.want("recv", err, h.emptyErr(op == opTryRecv))
		case len(h.m.queue[0]) > len(buf):
			h.want("recv", err, io.ErrShortBuffer) // the message stays
		default:
			h.want("recv", err, nil)
			if !bytes.Equal(buf[:n], h.m.queue[0]) {
				h.fatalf("recv: got %x, want %x", buf[:n], h.m.queue[0])
			}
			h.m.queue = h.m.queue[1:]
		}
	case opTryReceive, opReceive:
		h.release()
		var m []byte
		var err error
		if op == opTryReceive {
			m, err = h.c.TryReceive()
		} else {
			m, err = h.c.Receive(h.ctx)
		}
		switch {
		case !h.cLive:
			h.want("receive", err, ErrClosed)
		case h.m.empty():
			h.want("receive", err, h.emptyErr(op == opTryReceive))
		default:
			h.want("receive", err, nil)
			if !bytes.Equal(m, h.m.queue[0]) {
				h.fatalf("receive: got %x, want %x", m, h.m.queue[0])
			}
			h.m.held, h.leased = 1, [][]byte{m}
		}
	case opReceiveBatch:
		h.release()
		max := 1 + int(h.in.next()%9)
		ms, err := h.c.ReceiveBatch(h.ctx, max)
		switch {
		case !h.cLive:
			h.want("receive batch", err, ErrClosed)
		case h.m.empty():
			h.want("receive batch", err, h.emptyErr(false))
		default:
			h.want("receive batch", err, nil)
			if want := min(max, len(h.m.queue)); ms.Len() != want {
				h.fatalf("receive batch max=%d: %d messages, want %d", max, ms.Len(), want)
			}
			h.leased = nil
			for i := range ms.Len() {
				m, err := ms.At(i)
				h.want("At", err, nil)
				if !bytes.Equal(m, h.m.queue[i]) {
					h.fatalf("receive batch: message %d is %x, want %x", i, m, h.m.queue[i])
				}
				h.leased = append(h.leased, m)
			}
			h.m.held = ms.Len()
		}
	case opRelease:
		h.release()
	case opProducerClose:
		h.claimN = false // Close drops an open claim
		if err := h.p.Close(); err != nil {
			h.fatalf("Producer.Close: %v", err)
		}
		if h.pLive {
			h.m.closed = true
		}
		h.pLive = false
		h.want("TrySend after Close", h.p.TrySend(nil), ErrClosed)
	case opProducerTake:
		h.takeProducer(int(h.in.next()))
	case opConsumerClose:
		if err := h.c.Close(); err != nil {
			h.fatalf("Consumer.Close: %v", err)
		}
		if h.cLive {
			h.m.held, h.leased = 0, nil // what was leased stays for the next consumer
		}
		h.cLive = false
		_, err := h.c.TryReceive()
		h.want("TryReceive after Close", err, ErrClosed)
	case opConsumerTake:
		h.takeConsumer(int(h.in.next()))
	}
	if h.pLive && h.p.Stats().Messages != h.pSent {
		h.fatalf("producer stats: %d messages, committed %d", h.p.Stats().Messages, h.pSent)
	}
}

// sendErr is what a send of n bytes must return; try: the Try form.
func (h *opsHarness) sendErr(n int, try bool) error {
	switch {
	case n > h.m.slotSize:
		return ErrTooLarge
	case !h.pLive:
		return ErrClosed
	case h.m.full() && try:
		return ErrFull
	case h.m.full():
		return context.Canceled
	}
	return nil
}

func (h *opsHarness) push(msg []byte) {
	h.m.queue = append(h.m.queue, msg)
	h.pSent++
	if len(h.m.queue) > h.m.slots {
		h.fatalf("the ring accepted a message while full")
	}
}

// commit commits the open claim with n bytes; a length beyond the slot
// leaves it open, and it is then committed whole.
func (h *opsHarness) commit(n int) {
	err := h.p.Commit(n)
	if n > h.m.slotSize {
		h.want("commit", err, ErrTooLarge)
		n = h.m.slotSize
		err = h.p.Commit(n)
	}
	h.want("commit", err, nil)
	h.claimN = false
	h.push(h.claim[:n])
}

// dropClaim aborts an open claim before another producer operation.
func (h *opsHarness) dropClaim() {
	if h.claimN {
		h.p.Abort()
		h.claimN = false
	}
}

func (h *opsHarness) claimBatch() {
	h.dropClaim()
	max := 1 + int(h.in.next()%9)
	b, err := h.p.ClaimBatch(h.ctx, max)
	h.want("claim batch", err, h.sendErr(0, false))
	if err != nil {
		return
	}
	if want := min(max, h.m.free()); b.Len() != want {
		h.fatalf("claim batch max=%d: %d slots, want %d", max, b.Len(), want)
	}
	msgs := make([][]byte, b.Len())
	for i := range b.Len() {
		slot := b.Slot(i)
		if len(slot) != h.m.slotSize {
			h.fatalf("batch slot %d: %d bytes, want %d", i, len(slot), h.m.slotSize)
		}
		full := h.msg(h.m.slotSize)
		copy(slot, full)
		n := h.length(h.in.next())
		err := b.SetLen(i, n)
		if n > h.m.slotSize {
			h.want("SetLen", err, ErrTooLarge)
			n = 0 // never set: committed empty
		} else {
			h.want("SetLen", err, nil)
		}
		msgs[i] = full[:n]
	}
	k := int(h.in.next()) % (b.Len() + 1)
	h.want("CommitBatch", h.p.CommitBatch(k), nil)
	for _, m := range msgs[:k] {
		h.push(m)
	}
}

func (h *opsHarness) sendBatch() {
	h.dropClaim()
	msgs := make([][]byte, h.in.next()%5)
	for i := range msgs {
		msgs[i] = h.msg(h.length(h.in.next()))
	}
	sent, err := h.p.SendBatch(h.ctx, msgs)
	wantSent, wantErr := 0, error(nil)
	switch {
	case len(msgs) == 0:
	case len(msgs[0]) > h.m.slotSize: // as Send: known at once, closed or full
		wantErr = ErrTooLarge
	case !h.pLive:
		wantErr = ErrClosed
	case h.m.full():
		wantErr = context.Canceled
	default:
		for _, m := range msgs[:min(len(msgs), h.m.free())] {
			if len(m) > h.m.slotSize {
				wantErr = ErrTooLarge
				break
			}
			wantSent++
		}
	}
	h.want("send batch", err, wantErr)
	if sent != wantSent {
		h.fatalf("send batch of %d: sent %d, want %d", len(msgs), sent, wantSent)
	}
	for _, m := range msgs[:sent] {
		h.push(m)
	}
}

// release releases what the consumer leased, checking first that the
// producer did not write over it while it was leased.
func (h *opsHarness) release() {
	if h.m.held == 0 {
		return
	}
	for i, m := range h.leased {
		if !bytes.Equal(m, h.m.queue[i]) {
			h.fatalf("leased message %d changed under the lease: %x, want %x", i, m, h.m.queue[i])
		}
	}
	h.c.Release()
	h.m.queue = h.m.queue[h.m.held:]
	h.m.held, h.leased = 0, nil
}

func (h *opsHarness) takeProducer(i int) {
	r := h.rings[i%len(h.rings)]
	p, err := r.Producer()
	if h.pLive {
		h.want("Producer", err, ErrBusy)
		return
	}
	h.want("Producer", err, nil)
	p.SetWait(h.wait)
	h.p, h.pLive, h.pSent, h.m.closed = p, true, 0, false
}

func (h *opsHarness) takeConsumer(i int) {
	r := h.rings[i%len(h.rings)]
	c, err := r.Consumer()
	if h.cLive {
		h.want("Consumer", err, ErrBusy)
		return
	}
	h.want("Consumer", err, nil)
	c.SetWait(h.wait)
	h.c, h.cLive = c, true
}
