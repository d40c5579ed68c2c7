//go:build linux

package fuzz

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// FuzzBroadcastHostile plays a hostile process that maps a live broadcast
// ring and writes whatever it likes into its producer words, reader table
// and slots, while this process holds the producer and three readers (two
// lossy, one lossless) and runs a program of their operations. Nobody may
// panic or touch memory outside the mapping; every error must be a ring
// sentinel (ErrLapped included) or the context's; and the producer must
// never be stalled by a bogus entry: a blocking Send either returns or runs
// into its short deadline, and once the hostile writes stop and the readers
// leave, the producer sends a whole ring more without waiting.
//
// The first byte picks the geometry.
//
//	go test -run='^$' -fuzz='^FuzzBroadcastHostile$' -fuzztime=60s ./fuzz/
func FuzzBroadcastHostile(f *testing.F) {
	skipWithoutShm(f)
	f.Add([]byte{0x00, bSend, 3, bRecv, 0, bReceive, 1, bRelease, 1, bTrySend, 9})
	// Reader 0's cursor beyond the producer, then reader 1's policy bogus.
	f.Add(cat([]byte{0x05, bWord, bwEntryBase + 0}, u64(1<<40), []byte{bWord, bwEntryBase + 1*bwPerEntry + 2}, u64(7), []byte{bSend, 1, bSend, 2, bSend, 3, bRecv, 2}))
	// An entry's state out of range; a free entry made attached lossless.
	f.Add(cat([]byte{0x06, bWord, bwEntryBase + 1}, u64(9), []byte{bWord, bwEntryBase + 3*bwPerEntry + 2}, u64(2), []byte{bWord, bwEntryBase + 3*bwPerEntry + 1}, u64(1), []byte{bSend, 4, bSend, 5, bTrySend, 6}))
	// Slot seqs and lengths garbage, then every reader call.
	f.Add(cat([]byte{0x03, bWord, bwSlotBase}, u64(0xffffffffffffffff), []byte{bWord, bwSlotBase + 1}, u64(1<<31), []byte{bRecv, 0, bReceive, 1, bRelease, 1, bBatch, 2, bRelease, 2, bRecv, 1}))
	// The producer's cursor and state scribbled.
	f.Add(cat([]byte{0x01, bWord, bwCursor}, u64(1<<62), []byte{bRecv, 0, bWord, bwState}, u64(0xf0), []byte{bReceive, 2, bWord, bwCursor}, u64(layout.SeqWriting|3), []byte{bRejoin, 1, bRecv, 1}))
	// Raw bytes over the control area.
	f.Add(cat([]byte{0x02, bRaw, 0x80, 0x00, 16}, []byte("0123456789abcdef"), []byte{bSend, 1, bBatch, 0, bRelease, 0, bProducerToggle, bProducerToggle, bSend, 1}))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &input{b: data}
		cfg := in.byte()
		h := newBcastHostile(t, 1<<(cfg&3), []int{16, 24, 64, 100}[cfg>>2&3])
		defer h.close()
		for i := 0; i < 64 && in.more(); i++ {
			h.step(in)
		}
		h.finish()
	})
}

// Operation codes of FuzzBroadcastHostile (the input byte modulo bCount).
const (
	bRaw            = iota // offset u16, length byte (mod 17), bytes
	bWord                  // word index byte, value u64 (see bcastWord)
	bSend                  // length byte; short deadline
	bTrySend               // length byte
	bRecv                  // reader byte; short deadline
	bTryRecv               // reader byte
	bReceive               // reader byte; short deadline; leaves it leased
	bBatch                 // reader byte; short deadline; leaves it leased
	bRelease               // reader byte
	bRejoin                // reader byte: Close it and join again
	bProducerToggle        // Close the producer, or take it again
	bCount
)

// Word indices of bWord.
const (
	bwCursor     = 0
	bwState      = 1
	bwSleepers   = 2
	bwFlags      = 3
	bwGate       = 4
	bwGateSleep  = 5
	bwEntryBase  = 6 // then bwPerEntry words per reader entry
	bwPerEntry   = 4 // cursor, state, policy, incarnation
	bwMaxEntries = 4
	bwSlotBase   = bwEntryBase + bwPerEntry*bwMaxEntries // then seq and length of each slot
)

type bcastHostile struct {
	t      *testing.T
	name   string
	r      *ring.Ring
	hdr    layout.Header
	mem    []byte
	size   int
	p      *ring.Producer
	rds    [3]*ring.Reader
	held   [3]bool
	sendNo byte
}

var bcastReaderOpts = [3]ring.ReaderOptions{
	{Policy: ring.Lossy, Start: ring.Oldest},
	{Policy: ring.Lossless, Start: ring.Oldest},
	{Policy: ring.Lossy, Start: ring.Latest},
}

// bcastFuzzWait sleeps at once, in short ticks, so that a short deadline
// still lets waits probe liveness.
var bcastFuzzWait = ring.WaitStrategy{Spin: 8, Yield: 1, Sleep: true, Tick: 50 * time.Microsecond}

func newBcastHostile(t *testing.T, slots, size int) *bcastHostile {
	h := &bcastHostile{t: t, name: uniqueName("bcast"), size: size}
	r, err := ring.Create(h.name, ring.Options{Kind: ring.Broadcast, SlotSize: size, Slots: slots, MaxReaders: bwMaxEntries})
	if err != nil {
		t.Fatal(err)
	}
	h.r, h.hdr = r, r.Header()
	if h.mem, err = mapAgain(r); err != nil {
		h.close()
		t.Fatal(err)
	}
	h.toggleProducer()
	for i := range h.rds {
		h.join(i)
	}
	for i := range slots/2 + 1 {
		checkErr(t, "TrySend", h.p.TrySend(h.msg(i%(size+1))), ring.ErrFull)
	}
	return h
}

func (h *bcastHostile) close() {
	if h.mem != nil {
		unix.Munmap(h.mem)
	}
	if err := h.r.Close(); err != nil && !errors.Is(err, ring.ErrCorrupt) {
		h.t.Errorf("Ring.Close: %v", err)
	}
	ring.Remove(h.name)
}

func (h *bcastHostile) msg(n int) []byte {
	h.sendNo++
	b := make([]byte, n)
	for i := range b {
		b[i] = h.sendNo ^ byte(i)
	}
	return b
}

func (h *bcastHostile) toggleProducer() {
	if h.p != nil {
		checkErr(h.t, "Producer.Close", h.p.Close())
		h.p = nil
		return
	}
	p, err := h.r.Producer()
	checkErr(h.t, "Producer", err)
	if err == nil {
		p.SetWait(bcastFuzzWait)
		h.p = p
	}
}

func (h *bcastHostile) join(i int) {
	rd, err := h.r.Reader(bcastReaderOpts[i])
	checkErr(h.t, "Reader", err)
	if err == nil {
		rd.SetWait(bcastFuzzWait)
	}
	h.rds[i], h.held[i] = rd, false
}

// word writes value v into the word with index i.
func (h *bcastHostile) word(i int, v uint64) {
	le := binary.LittleEndian
	put := func(off uint64, size int) {
		if size == 8 {
			le.PutUint64(h.mem[off:], v)
		} else {
			le.PutUint32(h.mem[off:], uint32(v))
		}
	}
	switch {
	case i == bwCursor:
		put(layout.BcastCursorOffset, 8)
	case i == bwState:
		put(layout.BcastProducerStateOffset, 4)
	case i == bwSleepers:
		put(layout.BcastSleepersOffset, 4)
	case i == bwFlags:
		put(layout.BcastProducerFlagsOffset, 4)
	case i == bwGate:
		put(layout.BcastGateOffset, 8)
	case i == bwGateSleep:
		put(layout.BcastGateSleepersOffset, 4)
	case i < bwSlotBase:
		e := layout.BcastReaderOffset(uint32((i - bwEntryBase) / bwPerEntry))
		switch (i - bwEntryBase) % bwPerEntry {
		case 0:
			put(e+layout.ReaderCursorOffset, 8)
		case 1:
			put(e+layout.ReaderStateOffset, 4)
		case 2:
			put(e+layout.ReaderPolicyOffset, 4)
		case 3:
			put(e+layout.ReaderIncarnationOffset, 4)
		}
	default:
		j := uint64(i - bwSlotBase)
		slot := h.hdr.SlotOffset(j / 2 % h.hdr.SlotCount)
		if j%2 == 0 {
			put(slot+layout.BcastSlotSeqOffset, 8)
		} else {
			put(slot+layout.BcastSlotLengthOffset, 4)
		}
	}
}

// readerErrs are what a reader call may return besides nil.
var readerErrs = append([]error{ring.ErrLapped}, sentinels...)

func (h *bcastHostile) release(i int) {
	if h.held[i] {
		checkErr(h.t, "Release", h.rds[i].Release(), readerErrs...)
		h.held[i] = false
	}
}

func (h *bcastHostile) step(in *input) {
	op := in.byte() % bCount
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Microsecond)
	defer cancel()
	t := h.t
	switch op {
	case bRaw:
		off := int(in.uint16()) % len(h.mem)
		copy(h.mem[off:], in.bytes(int(in.byte()%17)))
	case bWord:
		i := int(in.byte()) % (bwSlotBase + 2*int(h.hdr.SlotCount))
		h.word(i, in.uint64())
	case bSend, bTrySend:
		n := int(in.byte()) % (h.size + 2)
		if h.p == nil {
			return
		}
		if op == bSend {
			checkErr(t, "Send", h.p.Send(ctx, h.msg(n)))
		} else {
			checkErr(t, "TrySend", h.p.TrySend(h.msg(n)))
		}
	case bProducerToggle:
		h.toggleProducer()
	default: // reader operations
		i := int(in.byte()) % len(h.rds)
		rd := h.rds[i]
		if rd == nil {
			if op == bRejoin {
				h.join(i)
			}
			return
		}
		switch op {
		case bRecv, bTryRecv:
			h.release(i)
			buf := make([]byte, h.size)
			var n int
			var err error
			if op == bRecv {
				n, err = rd.Recv(ctx, buf)
			} else {
				n, err = rd.TryRecv(buf)
			}
			checkErr(t, "Recv", err, readerErrs...)
			if n > h.size {
				t.Fatalf("Recv: %d bytes into %d", n, h.size)
			}
		case bReceive:
			h.release(i)
			m, err := rd.Receive(ctx)
			checkErr(t, "Receive", err, readerErrs...)
			if err == nil {
				if len(m) > h.size {
					t.Fatalf("Receive: %d bytes from %d-byte slots", len(m), h.size)
				}
				touch(m)
				h.held[i] = true
			}
		case bBatch:
			h.release(i)
			b, err := rd.ReceiveBatch(ctx, 1+int(in.byte()%8))
			checkErr(t, "ReceiveBatch", err, readerErrs...)
			if err == nil {
				if b.Len() < 1 || b.Len() > 8 {
					t.Fatalf("ReceiveBatch(<=8): %d messages", b.Len())
				}
				for j := range b.Len() {
					m, err := b.At(j)
					checkErr(t, "At", err, ring.ErrCorrupt, ring.ErrLapped)
					if len(m) > h.size {
						t.Fatalf("At(%d): %d bytes from %d-byte slots", j, len(m), h.size)
					}
					touch(m)
				}
				h.held[i] = true
			}
		case bRelease:
			h.release(i)
		case bRejoin:
			h.held[i] = false
			checkErr(t, "Reader.Close", rd.Close())
			h.join(i)
		}
	}
}

// finish: with the readers gone and the producer words and the end mark
// sane again, the producer sends a whole ring without waiting, whatever
// the entries hold.
func (h *bcastHostile) finish() {
	for i, rd := range h.rds {
		if rd != nil {
			h.held[i] = false
			checkErr(h.t, "Reader.Close", rd.Close())
		}
	}
	if h.p != nil {
		checkErr(h.t, "Producer.Close", h.p.Close())
		h.p = nil
	}
	binary.LittleEndian.PutUint64(h.mem[layout.BcastCursorOffset:], 0)
	// A raw write may have hit the end mark: a producer refuses to publish
	// into a file whose mark is gone (it reads as shrunk), so put it back.
	binary.LittleEndian.PutUint64(h.mem[h.hdr.EndOffset:], layout.EndMark)
	p, err := h.r.Producer()
	if err != nil {
		h.t.Fatalf("Producer after the hostile writes stopped: %v", err)
	}
	defer p.Close()
	p.SetWait(bcastFuzzWait)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range int(h.hdr.SlotCount) + 1 {
		if err := p.Send(ctx, h.msg(i%h.size)); err != nil {
			h.t.Fatalf("Send %d with no readers left: %v (a bogus entry stalls the producer)", i, err)
		}
	}
}

// TestLayoutDocBroadcastTables holds section 14 of LAYOUT.md to package
// layout: the broadcast control area, reader entry and slot tables.
func TestLayoutDocBroadcastTables(t *testing.T) {
	doc := readLayoutDoc(t)
	rows := docTable(t, doc, "bcast-control", "offset", "size", "type", "field", "written by", "meaning")
	checkFields(t, "bcast-control", rows, map[string]span{
		"BcastCursor":        {layout.BcastCursorOffset, 8},
		"BcastWake":          {layout.BcastWakeOffset, 4},
		"BcastSleepers":      {layout.BcastSleepersOffset, 4},
		"BcastProducerState": {layout.BcastProducerStateOffset, 4},
		"BcastProducerEpoch": {layout.BcastProducerEpochOffset, 4},
		"BcastProducerFlags": {layout.BcastProducerFlagsOffset, 4},
		"BcastGate":          {layout.BcastGateOffset, 8},
		"BcastGateWake":      {layout.BcastGateWakeOffset, 4},
		"BcastGateSleepers":  {layout.BcastGateSleepersOffset, 4},
	})
	for _, r := range rows {
		off, size := parseNum(t, "bcast-control", r[0]), parseNum(t, "bcast-control", r[1])
		if off < layout.ControlOffset || off+size > layout.BcastReadersOffset || off%size != 0 {
			t.Errorf("bcast-control table: %s at %d+%d is outside the fixed units or misaligned", r[3], off, size)
		}
	}
	rows = docTable(t, doc, "bcast-reader", "offset", "size", "type", "field", "meaning")
	checkFields(t, "bcast-reader", rows, map[string]span{
		"ReaderCursor":      {layout.ReaderCursorOffset, 8},
		"ReaderState":       {layout.ReaderStateOffset, 4},
		"ReaderPolicy":      {layout.ReaderPolicyOffset, 4},
		"ReaderIncarnation": {layout.ReaderIncarnationOffset, 4},
		"ReaderPID":         {layout.ReaderPIDOffset, 4},
		"ReaderReceived":    {layout.ReaderReceivedOffset, 8},
		"ReaderMissed":      {layout.ReaderMissedOffset, 8},
	})
	rows = docTable(t, doc, "bcast-slot", "offset", "size", "type", "field", "meaning")
	checkFields(t, "bcast-slot", rows, map[string]span{
		"Seq":     {layout.BcastSlotSeqOffset, 8},
		"Length":  {layout.BcastSlotLengthOffset, 4},
		"Zero":    {layout.BcastSlotLengthOffset + 4, 4},
		"Payload": {layout.BcastSlotPayloadOffset, 0},
	})
	for _, want := range []string{
		"SlotsOffset = 128 + (3 + R) × 128",
		"Entry `i` (0 ≤ i < R) is the unit at `512 + i × 128`",
		"SeqWriting is bit 63",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("LAYOUT.md section 14 lacks %q", want)
		}
	}
	if layout.BcastReadersOffset != 512 || layout.ReaderEntrySize != 128 || layout.SeqWriting != 1<<63 ||
		layout.BcastProducerLockByte != 264 || layout.ReaderLockByte != 8 {
		t.Error("the numbers section 14 states are not layout's")
	}
}
