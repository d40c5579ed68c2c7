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

// FuzzMPMCHostile plays a hostile process on a live MPMC ring: it creates
// the ring, takes two producers and a consumer in this process, maps the
// file a second time, and runs a program of ring operations interleaved with
// writes to that mapping: the control area (Tail, Head, wake words, counts,
// stream), the participant entries, and every slot's control word and
// length. The engine must never panic or touch memory outside its mapping,
// never wait past a call's deadline, and report only ring sentinels (with
// ErrRevoked) or the context's error.
//
// The first byte picks the geometry and whether a goroutine also replays
// the program's writes, over and over, while the operations run.
//
//	go test -run='^$' -fuzz='^FuzzMPMCHostile$' -fuzztime=60s ./fuzz/
func FuzzMPMCHostile(f *testing.F) {
	skipWithoutShm(f)
	f.Add([]byte{0x00, mTrySend, 3, mTryRecv, mReceive, mRelease, mSend, 5, mRecv})
	// A claim stamped with an owner that names no entry, at the head.
	f.Add(cat([]byte{0x01, mWord, byte(mpmcFixedWords)}, u64(layout.Ctrl(0, layout.SlotClaimed, layout.Owner(900, 3))), []byte{mTryRecv, mReceive}))
	// Tail and Head far apart, then moved back.
	f.Add(cat([]byte{0x02, mWord, 0}, u64(1<<40), []byte{mTrySend, 1, mWord, 0}, u64(0), []byte{mTrySend, 1, mWord, 1}, u64(77), []byte{mTryRecv}))
	// A dead-looking producer entry (attached, no lock) with a claim.
	f.Add(cat([]byte{0x03, mWord, 8}, u64(uint64(layout.EntryAttached)), []byte{mWord, byte(mpmcFixedWords + 1)},
		u64(layout.Ctrl(1, layout.SlotClaimed, layout.Owner(2, 0))), []byte{mReceive, mProducerToggle, mProducerToggle, mRecv}))
	// Stream closed with producers still counted, counts beyond limits.
	f.Add(cat([]byte{0x04, mWord, 5}, u64(uint64(layout.StreamClosed)), []byte{mWord, 4}, u64(0), []byte{mRecv, mWord, 4}, u64(1<<20), []byte{mTryRecv, mConsumerToggle, mConsumerToggle}))
	// Lengths beyond the slot, a batch over them, concurrently.
	f.Add(cat([]byte{0x85, mWord, byte(mpmcFixedWords + 1)}, u64(0xffffffff<<32|0xffffffff), []byte{mReceiveBatch, 4, mRelease, mClaimBatch, 3, mAbort}))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &input{b: data}
		cfg := in.byte()
		m := newMPMCHostile(t, 1<<(cfg&3), []int{1, 8, 16, 57}[cfg>>2&3])
		defer m.close()
		if cfg&0x80 != 0 {
			m.scribble(in.b)
		}
		for i := 0; i < 64 && in.more(); i++ {
			m.step(in)
		}
	})
}

// Operation codes of FuzzMPMCHostile (the input byte modulo mCount).
const (
	mRaw            = iota // offset u16, length byte (mod 17), bytes
	mWord                  // word index byte, value u64: store into a control, entry or slot word
	mTrySend               // length byte
	mTryRecv               //
	mTryReceive            // leaves the message leased
	mRelease               //
	mReceive               // short deadline; leaves the message leased
	mReceiveBatch          // max; short deadline; leaves the batch leased
	mClaimBatch            // max; short deadline; commits some
	mSend                  // length byte; short deadline
	mAbort                 // TryClaim, then Abort
	mProducerToggle        // close the second producer, or take it again
	mConsumerToggle        // close the consumer, or take it again
	mRecv                  // short deadline
	mCount
)

// mpmcFixedWords is the number of control-area targets of mWord before
// the entries' and slots' words.
const mpmcFixedWords = 8

type mpmcHostile struct {
	t      *testing.T
	name   string
	r      *ring.Ring
	mem    []byte
	hdr    layout.Header
	p1, p2 *ring.Producer
	c      *ring.Consumer
	held   bool
	stop   chan struct{}
	done   sync.WaitGroup
	n      byte
}

var mpmcSentinels = append([]error{ring.ErrRevoked}, sentinels...)

var mpmcWait = ring.WaitStrategy{Spin: 8, Yield: 1, Sleep: true, Tick: 50 * time.Microsecond}

func newMPMCHostile(t *testing.T, slots, size int) *mpmcHostile {
	m := &mpmcHostile{t: t, name: uniqueName("mpmc-hostile")}
	r, err := ring.Create(m.name, ring.Options{Kind: ring.MPMC, SlotSize: size, Slots: slots, MaxProducers: 3, MaxConsumers: 2})
	if err != nil {
		t.Fatal(err)
	}
	m.r, m.hdr = r, r.Header()
	if m.mem, err = mapAgain(r); err != nil {
		m.close()
		t.Fatal(err)
	}
	if m.p1, err = r.Producer(); err != nil {
		m.close()
		t.Fatal(err)
	}
	m.p1.SetWait(mpmcWait)
	m.toggleProducer()
	m.toggleConsumer()
	for i := range slots/2 + 1 {
		checkErr(t, "TrySend", m.p1.TrySend(m.msg(i%(size+1))), ring.ErrFull)
	}
	return m
}

func (m *mpmcHostile) close() {
	if m.stop != nil {
		close(m.stop)
		m.done.Wait()
	}
	if m.mem != nil {
		unix.Munmap(m.mem)
	}
	m.r.Close() // may report a corrupt count on the way out: not a failure
	ring.Remove(m.name)
}

func (m *mpmcHostile) msg(n int) []byte {
	m.n++
	b := make([]byte, n)
	for i := range b {
		b[i] = m.n ^ byte(i)
	}
	return b
}

// word is the offset and size of mWord target i.
func (m *mpmcHostile) word(i int) (int, int) {
	fixed := []struct{ off, size int }{
		{layout.MPMCTailOffset, 8}, {layout.MPMCHeadOffset, 8}, {layout.MPMCDataWakeOffset, 4},
		{layout.MPMCDataSleepersOffset, 4}, {layout.MPMCProducersOffset, 4}, {layout.MPMCStreamOffset, 4},
		{layout.MPMCSpaceSleepersOffset, 4}, {layout.MPMCConsumersOffset, 4},
	}
	entries := int(m.hdr.MaxProducers + m.hdr.MaxConsumers)
	n := len(fixed) + 2*entries + 2*int(m.hdr.SlotCount)
	i %= n
	switch {
	case i < len(fixed):
		return fixed[i].off, fixed[i].size
	case i < len(fixed)+2*entries:
		j := i - len(fixed)
		off := int(layout.MPMCEntryOffset(uint32(j / 2)))
		if j%2 == 0 {
			return off + layout.EntryStateOffset, 4
		}
		return off + layout.EntryIncarnationOffset, 4
	}
	j := i - len(fixed) - 2*entries
	off := int(m.hdr.SlotOffset(uint64(j / 2)))
	if j%2 == 0 {
		return off + layout.MPMCSlotCtrlOffset, 8
	}
	return off + layout.MPMCSlotLengthOffset, 4
}

func (m *mpmcHostile) write(op byte, in *input) {
	le := binary.LittleEndian
	switch op {
	case mRaw:
		off := int(in.uint16()) % len(m.mem)
		copy(m.mem[off:], in.bytes(int(in.byte()%17)))
	case mWord:
		off, size := m.word(int(in.byte()))
		v := in.uint64()
		if size == 8 {
			le.PutUint64(m.mem[off:], v)
		} else {
			le.PutUint32(m.mem[off:], uint32(v))
		}
	}
}

func (m *mpmcHostile) scribble(program []byte) {
	m.stop = make(chan struct{})
	m.done.Add(1)
	go func() {
		defer m.done.Done()
		for {
			in := &input{b: program}
			select {
			case <-m.stop:
				return
			default:
			}
			for in.more() {
				select {
				case <-m.stop:
					return
				default:
				}
				op := in.byte() % mCount
				if op == mRaw || op == mWord {
					m.write(op, in)
				} else {
					mpmcSkipArgs(op, in)
				}
			}
		}
	}()
}

func mpmcSkipArgs(op byte, in *input) {
	switch op {
	case mTrySend, mReceiveBatch, mClaimBatch, mSend:
		in.byte()
	}
}

func (m *mpmcHostile) check(op string, err error) { checkErr(m.t, op, err, mpmcSentinels...) }

func (m *mpmcHostile) step(in *input) {
	op := in.byte() % mCount
	if op == mRaw || op == mWord {
		if m.stop != nil {
			mpmcSkipWrite(op, in)
			return
		}
		m.write(op, in)
		return
	}
	ctx, cancel := deadline(2 * time.Millisecond)
	defer cancel()
	size := int(m.hdr.SlotSize)
	switch op {
	case mTrySend:
		m.check("TrySend", m.p1.TrySend(m.msg(int(in.byte())%(size+1))))
	case mSend:
		m.check("Send", m.p1.Send(ctx, m.msg(int(in.byte())%(size+1))))
	case mAbort:
		if _, err := m.p1.TryClaim(); err == nil {
			m.p1.Abort()
		} else {
			m.check("TryClaim", err)
		}
	case mClaimBatch:
		max := 1 + int(in.byte()%8)
		b, err := m.p1.ClaimBatch(ctx, max)
		if err != nil {
			m.check("ClaimBatch", err)
			return
		}
		for i := range b.Len() {
			m.check("SetLen", b.SetLen(i, copy(b.Slot(i), m.msg(i%(size+1)))))
		}
		m.check("CommitBatch", m.p1.CommitBatch(b.Len()/2))
	}
	if m.c == nil {
		if op == mConsumerToggle {
			m.toggleConsumer()
		}
		if op == mProducerToggle {
			m.toggleProducer()
		}
		return
	}
	buf := make([]byte, size)
	switch op {
	case mTryRecv, mRecv:
		m.releaseHeld()
		var n int
		var err error
		if op == mTryRecv {
			n, err = m.c.TryRecv(buf)
		} else {
			n, err = m.c.Recv(ctx, buf)
		}
		m.check("Recv", err)
		touch(buf[:n])
	case mTryReceive, mReceive:
		m.releaseHeld()
		var b []byte
		var err error
		if op == mTryReceive {
			b, err = m.c.TryReceive()
		} else {
			b, err = m.c.Receive(ctx)
		}
		m.check("Receive", err)
		if err == nil {
			touch(b)
			m.held = true
		}
	case mReceiveBatch:
		max := 1 + int(in.byte()%8)
		m.releaseHeld()
		ms, err := m.c.ReceiveBatch(ctx, max)
		m.check("ReceiveBatch", err)
		if err == nil {
			for i := range ms.Len() {
				b, err := ms.At(i)
				m.check("At", err)
				touch(b)
			}
			m.held = true
		}
	case mRelease:
		m.releaseHeld()
	case mProducerToggle:
		m.toggleProducer()
	case mConsumerToggle:
		m.releaseHeld()
		m.toggleConsumer()
	}
}

func mpmcSkipWrite(op byte, in *input) {
	if op == mRaw {
		in.uint16()
		in.bytes(int(in.byte() % 17))
		return
	}
	in.byte()
	in.uint64()
}

func (m *mpmcHostile) releaseHeld() {
	if m.held {
		m.c.Release()
		m.held = false
	}
}

func (m *mpmcHostile) toggleProducer() {
	if m.p2 != nil {
		m.check("Producer.Close", m.p2.Close())
		m.p2 = nil
		return
	}
	p, err := m.r.Producer()
	m.check("Producer", err)
	if err == nil {
		p.SetWait(mpmcWait)
		m.p2 = p
	}
}

func (m *mpmcHostile) toggleConsumer() {
	if m.c != nil {
		m.check("Consumer.Close", m.c.Close())
		m.c = nil
		return
	}
	c, err := m.r.Consumer()
	m.check("Consumer", err)
	if err == nil {
		c.SetWait(mpmcWait)
		m.c = c
	}
}
