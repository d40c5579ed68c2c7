//go:build linux

package fuzz

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// FuzzRecordHostile plays a hostile process that maps a live record ring
// (SPSC, or Broadcast with a lossless and a lossy reader) and writes
// whatever it likes into its record headers, payloads, cursors and tail,
// while this process holds the producer and the read ends and runs a
// program of their operations (Send, TrySend, ClaimN and Commit, Recv,
// TryRecv, Receive and Release, ReceiveBatch and At). Nobody may panic or
// touch memory outside the mapping; no read may hand out more than
// MaxMessage bytes, nor a slice of its own mapping outside the data area
// (ownMapping); every error must be a ring sentinel (ErrLapped
// included) or the context's.
//
// The first byte picks the kind and the capacity, and whether a goroutine
// also replays the input's hostile writes, over and over, while the
// operations run (as FuzzHostileMapping's does: the race of reading
// garbage as it changes).
//
//	go test -run='^$' -fuzz='^FuzzRecordHostile$' -fuzztime=60s ./fuzz/
func FuzzRecordHostile(f *testing.F) {
	skipWithoutShm(f)
	f.Add([]byte{0x00, rSend, 3, rRecv, 0, rReceive, 1, rRelease, 1, rClaimN, 9, 4})
	// A header's length beyond MaxMessage, then every read call.
	f.Add(cat([]byte{0x01, rHeader, 1, 0}, u64(1<<31), []byte{rRecv, 0, rReceive, 0, rBatch, 0, rRelease, 0}))
	// An unknown type, then a wrapped record where none can be.
	f.Add(cat([]byte{0x05, rHeader, 0, 1}, u64(7), []byte{rHeader, 2, 1}, u64(uint64(layout.RecordWrapped)), []byte{rRecv, 1, rRecv, 2, rBatch, 1}))
	// The cursor off a record boundary; the tail beyond the cursor.
	f.Add(cat([]byte{0x06, rWord, 0}, u64(40), []byte{rRecv, 0, rWord, 2}, u64(1<<40), []byte{rRecv, 2, rSend, 5, rRecv, 1}))
	// Raw bytes over the data area while messages flow.
	f.Add(cat([]byte{0x03, rSend, 60, rRaw, 0x10, 0, 16}, []byte("0123456789abcdef"), []byte{rRecv, 0, rSend, 61, rBatch, 2, rRelease, 2, rTrySend, 62}))
	// Headers and the tail scribbled concurrently while a lossy reader reads.
	f.Add(cat([]byte{0x81, rHeader, 2, 0}, u64(1<<20), []byte{rWord, 2}, u64(1<<12), []byte{rSend, 7, rRecv, 1, rReceive, 1, rRelease, 1, rBatch, 1, rRelease, 1, rRecv, 0}))
	// A message record near the end whose length, within MaxMessage, runs
	// past the data area while a wrapped record after it puts the cursor
	// beyond that end: only the record's own bound refuses it. The ring
	// starts with records at 0, 16, 48 and 96; three 32-byte sends put
	// them at 144, 192 and 240 (wrapped); the header at 192 (the sixth
	// record) then says 64 bytes.
	f.Add(cat([]byte{0x00, rRecv, 0, rRecv, 0, rRecv, 0, rRecv, 0, rSend, 32, rSend, 32, rSend, 32, rHeader, 5, 0}, u64(64),
		[]byte{rRecv, 0, rReceive, 0, rRelease, 0, rBatch, 0, rRelease, 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &input{b: data}
		cfg := in.byte()
		h := newRecHostile(t, cfg&1 != 0, 256<<(cfg>>1&3))
		defer h.close()
		if cfg&0x80 != 0 {
			h.scribble(in.b)
		}
		for i := 0; i < 64 && in.more(); i++ {
			h.step(in)
		}
	})
}

// Operation codes of FuzzRecordHostile (the input byte modulo rCount).
const (
	rRaw     = iota // data offset u16, length byte (mod 17), bytes
	rHeader         // record index byte (of the records the producer sent, mod 16), field byte (length, type, seq), value u64
	rWord           // word byte: producer cursor, consumer cursor or RecTail, RecSeq; value u64
	rSend           // length byte; short deadline
	rTrySend        // length byte
	rClaimN         // claim byte, commit byte
	rRecv           // reader byte; short deadline
	rTryRecv        // reader byte
	rReceive        // reader byte; short deadline; leaves it leased
	rBatch          // reader byte; short deadline; leaves it leased
	rRelease        // reader byte
	rCount
)

// readEnd is a Consumer's or Reader's calls the program drives.
type readEnd interface {
	Recv(ctx context.Context, buf []byte) (int, error)
	TryRecv(buf []byte) (int, error)
	Receive(ctx context.Context) ([]byte, error)
	Release() error
	Close() error
}

type recHostile struct {
	t      *testing.T
	name   string
	r      *ring.Ring
	hdr    layout.Header
	mem    []byte
	p      *ring.Producer
	ends   []readEnd
	held   []bool
	starts []uint64 // where the producer's records began (as it sent them, for rHeader)
	sent   uint64   // the producer's position, as the program computes it
	sendNo byte
	stop   chan struct{}
	done   sync.WaitGroup
	own    ownMapping // the Ring's own mapping, where in-place slices point
}

func newRecHostile(t *testing.T, bcast bool, capacity int) *recHostile {
	h := &recHostile{t: t, name: uniqueName("rec")}
	o := ring.Options{Kind: ring.SPSC, Records: true, Capacity: capacity, MaxMessage: 100}
	if bcast {
		o.Kind, o.MaxReaders = ring.Broadcast, 2
	}
	r, err := ring.Create(h.name, o)
	if err != nil {
		t.Fatal(err)
	}
	h.r, h.hdr = r, r.Header()
	if h.mem, err = mapAgain(r); err != nil {
		h.close()
		t.Fatal(err)
	}
	if h.own, err = findOwnMapping(r.Path(), h.mem, h.hdr); err != nil {
		h.close()
		t.Fatal(err)
	}
	if bcast {
		for _, pol := range []ring.Policy{ring.Lossless, ring.Lossy} {
			rd, err := r.Reader(ring.ReaderOptions{Policy: pol})
			if err != nil {
				h.close()
				t.Fatal(err)
			}
			rd.SetWait(fastWait)
			h.ends = append(h.ends, rd)
		}
	} else {
		c, err := r.Consumer()
		if err != nil {
			h.close()
			t.Fatal(err)
		}
		c.SetWait(fastWait)
		h.ends = append(h.ends, c)
	}
	h.held = make([]bool, len(h.ends))
	if h.p, err = r.Producer(); err != nil {
		h.close()
		t.Fatal(err)
	}
	h.p.SetWait(fastWait)
	for i := range 4 {
		h.send(i*9, true)
	}
	return h
}

func (h *recHostile) close() {
	if h.stop != nil {
		close(h.stop)
		h.done.Wait()
	}
	if h.mem != nil {
		unix.Munmap(h.mem)
	}
	if err := h.r.Close(); err != nil && !errors.Is(err, ring.ErrCorrupt) {
		h.t.Errorf("Ring.Close: %v", err)
	}
	ring.Remove(h.name)
}

func (h *recHostile) msg(n int) []byte {
	h.sendNo++
	b := make([]byte, n)
	for i := range b {
		b[i] = h.sendNo ^ byte(i)
	}
	return b
}

// send sends an n-byte message (Send with a short deadline, or TrySend)
// and notes where its record began, as a correct producer would have put
// it.
func (h *recHostile) send(n int, try bool) {
	var err error
	if try {
		err = h.p.TrySend(h.msg(n))
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Microsecond)
		err = h.p.Send(ctx, h.msg(n))
		cancel()
	}
	checkErr(h.t, "Send", err)
	if err == nil {
		h.note(n)
	}
}

func (h *recHostile) note(n int) {
	size, c := layout.RecordSize(uint32(n)), h.hdr.SlotCount
	h.starts = append(h.starts[max(0, len(h.starts)-15):], h.sent)
	if off := h.sent % c; off+size > c { // wrapped: the header here, the payload at the next lap's start
		h.sent += c - off - layout.RecordHeaderSize
	}
	h.sent += size
}

var recReadErrs = append([]error{ring.ErrLapped}, sentinels...)

func (h *recHostile) release(i int) {
	if h.held[i] {
		checkErr(h.t, "Release", h.ends[i].Release(), recReadErrs...)
		h.held[i] = false
	}
}

func (h *recHostile) check(op string, m []byte) {
	if len(m) > int(h.hdr.SlotSize) {
		h.t.Fatalf("%s: %d bytes from a ring whose MaxMessage is %d", op, len(m), h.hdr.SlotSize)
	}
	if err := h.own.inData(m); err != nil {
		h.t.Fatalf("%s: %v", op, err)
	}
	touch(m)
}

func (h *recHostile) step(in *input) {
	op := in.byte() % rCount
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Microsecond)
	defer cancel()
	t := h.t
	switch op {
	case rRaw, rHeader, rWord:
		h.write(op, in, h.starts)
	case rSend:
		h.send(int(in.byte())%(int(h.hdr.SlotSize)+2), false)
	case rTrySend:
		h.send(int(in.byte())%(int(h.hdr.SlotSize)+2), true)
	case rClaimN:
		n, k := int(in.byte())%(int(h.hdr.SlotSize)+2), int(in.byte())
		s, err := h.p.ClaimN(ctx, n)
		checkErr(t, "ClaimN", err)
		if err != nil {
			return
		}
		if len(s) != n {
			t.Fatalf("ClaimN(%d) gave %d bytes", n, len(s))
		}
		copy(s, h.msg(n))
		if err := h.p.Commit(k % (n + 1)); err != nil {
			checkErr(t, "Commit", err)
			h.p.Abort()
			return
		}
		h.note(k % (n + 1))
	default: // read operations
		i := int(in.byte()) % len(h.ends)
		rd := h.ends[i]
		h.release(i)
		switch op {
		case rRecv, rTryRecv:
			buf := make([]byte, h.hdr.SlotSize)
			var n int
			var err error
			if op == rRecv {
				n, err = rd.Recv(ctx, buf)
			} else {
				n, err = rd.TryRecv(buf)
			}
			checkErr(t, "Recv", err, recReadErrs...)
			h.check("Recv", buf[:n])
		case rReceive:
			m, err := rd.Receive(ctx)
			checkErr(t, "Receive", err, recReadErrs...)
			if err == nil {
				h.check("Receive", m)
				h.held[i] = true
			}
		case rBatch:
			var n int
			var at func(int) ([]byte, error)
			var err error
			switch x := rd.(type) {
			case *ring.Consumer:
				var b ring.Messages
				b, err = x.ReceiveBatch(ctx, 8)
				n, at = b.Len(), b.At
			case *ring.Reader:
				var b ring.ReaderBatch
				b, err = x.ReceiveBatch(ctx, 8)
				n, at = b.Len(), b.At
			}
			checkErr(t, "ReceiveBatch", err, recReadErrs...)
			if err != nil {
				return
			}
			if n < 1 || n > 8 {
				t.Fatalf("ReceiveBatch(8): %d messages", n)
			}
			for j := range n {
				m, err := at(j)
				checkErr(t, "At", err, ring.ErrCorrupt, ring.ErrLapped)
				h.check("At", m)
			}
			h.held[i] = true
		case rRelease:
		}
	}
}

// write does a hostile write, op rRaw, rHeader or rWord, reading its
// arguments from in. rHeader picks among starts, the producer's records
// (nil: any record boundary).
func (h *recHostile) write(op byte, in *input, starts []uint64) {
	data := h.mem[h.hdr.SlotsOffset : h.hdr.SlotsOffset+h.hdr.SlotCount]
	le := binary.LittleEndian
	switch op {
	case rRaw:
		off := int(in.uint16()) % len(data)
		copy(data[off:], in.bytes(int(in.byte()%17)))
	case rHeader:
		i, field, v := int(in.byte()), in.byte()%3, in.uint64()
		at := uint64(i) * layout.RecordAlign % h.hdr.SlotCount
		if len(starts) > 0 {
			at = starts[i%len(starts)] % h.hdr.SlotCount
		}
		switch field {
		case 0:
			le.PutUint32(data[at+layout.RecordLengthOffset:], uint32(v))
		case 1:
			le.PutUint32(data[at+layout.RecordTypeOffset:], uint32(v))
		default:
			le.PutUint64(data[at+layout.RecordSeqOffset:], v)
		}
	case rWord:
		w, v := in.byte()%4, in.uint64()
		off := []uint64{layout.ProducerCursorOffset, layout.ConsumerCursorOffset, layout.RecTailOffset, layout.RecSeqOffset}[w]
		if h.hdr.Kind == ring.Broadcast && w == 1 {
			off = layout.BcastReaderOffset(0) + layout.ReaderCursorOffset
		}
		le.PutUint64(h.mem[off:], v)
	}
}

// scribble replays the program's hostile writes in a goroutine until
// close, skipping the operations' arguments to stay aligned.
func (h *recHostile) scribble(program []byte) {
	h.stop = make(chan struct{})
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		for len(program) > 0 {
			in := &input{b: program}
			for in.more() {
				select {
				case <-h.stop:
					return
				default:
				}
				switch op := in.byte() % rCount; op {
				case rRaw, rHeader, rWord:
					h.write(op, in, nil)
				case rClaimN:
					in.byte()
					in.byte()
				default:
					in.byte()
				}
			}
		}
	}()
}
