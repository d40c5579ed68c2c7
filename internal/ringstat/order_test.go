//go:build linux

package ringstat

import (
	"context"
	"encoding/binary"
	"os"
	"testing"

	"github.com/shmring/shmring/layout"
	"github.com/shmring/shmring/ring"
)

// movingWords is a ring file's bytes with a producer that runs on: every
// load of its cursor returns the cursor, and then the producer publishes
// step more messages (the consumer keeping up) and stores its count, as a
// busy producer does between any two loads of a reader.
type movingWords struct {
	b                 byteWords
	producer, counter uint64 // offsets of the producer's cursor and of its stored message count
	consumer          uint64
	step              uint64
}

func (m movingWords) u32(off uint64) uint32 { return m.b.u32(off) }

func (m movingWords) u64(off uint64) uint64 {
	v := m.b.u64(off)
	if off == m.producer {
		for _, o := range []uint64{m.producer, m.consumer, m.counter} {
			binary.LittleEndian.PutUint64(m.b[o:], m.b.u64(o)+m.step)
		}
	}
	return v
}

// TestAProducersCountNeverShowsAheadOfItsCursor: a snapshot of a busy ring
// must not show a role with more messages than its cursor has passed (a
// black-box tester saw ringctl stat's producer messages up to 1,430 ahead
// of its cursor, and Prometheus's role_messages_total above
// ring_published_total in half the scrapes): the counters are read before
// the cursors.
func TestAProducersCountNeverShowsAheadOfItsCursor(t *testing.T) {
	r, path := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := p.Send(context.Background(), []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	p.Stats() // stores the count: 5, the cursor's
	b, h := fileAndHeader(t, path)
	w := movingWords{b: b, producer: layout.ProducerCursorOffset, consumer: layout.ConsumerCursorOffset,
		counter: h.CounterBlockOffset(layout.SPSCProducerBlock) + layout.CounterMessagesOffset, step: 100}
	var s Snapshot
	if problem := interpret(&s, &h, w, func(int64) bool { return true }); problem != "" {
		t.Fatalf("interpret: %s", problem)
	}
	prod := s.Roles[0]
	if prod.Role != "producer" || prod.Cursor == nil {
		t.Fatalf("first role = %+v, want the producer with its cursor", prod)
	}
	if got := prod.Counters["messages"]; got > *prod.Cursor || got > s.Published {
		t.Fatalf("the producer's messages = %d, ahead of its cursor %d (published %d)", got, *prod.Cursor, s.Published)
	}
}

// TestARoleTakenWhileLookedAtIsNotDead: a consumer takes its role (its
// lock, then its state word) just as the lock probes are made: the probe
// finds no lock, the state read after it says attached. That is no dead
// holder, and the snapshot must not say so (a black-box tester: ringctl
// stat, gc and the exporter said "dead" for about 1 in 60 looks at a
// healthy ring whose consumer came and went).
func TestARoleTakenWhileLookedAtIsNotDead(t *testing.T) {
	_, path := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
	b, h := fileAndHeader(t, path)
	taken := false
	probe := func(at int64) bool {
		if at != layout.ConsumerLockByte {
			return false
		}
		if !taken { // the probe comes first; the consumer takes the role right after
			taken = true
			binary.LittleEndian.PutUint32(b[layout.ConsumerStateOffset:], layout.StateAttached)
			return false
		}
		return true
	}
	var s Snapshot
	if problem := interpret(&s, &h, byteWords(b), probe); problem != "" {
		t.Fatalf("interpret: %s", problem)
	}
	cons := s.Roles[1]
	if cons.Role != "consumer" || !cons.Attached || !cons.Live {
		t.Fatalf("consumer = %+v, want attached and live: it took its role while looked at", cons)
	}
}

// fileAndHeader is a copy of the ring file at path and its decoded header.
func fileAndHeader(t *testing.T, path string) (byteWords, layout.Header) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := layout.Decode(b[:layout.HeaderSize])
	if err != nil {
		t.Fatal(err)
	}
	return b, h
}

// TestARoleTakenAfterTheWholeFileProbeIsNotDead: the file's lock is probed
// whole first (is anything held?); a role taken just after, and seen
// attached in both looks, must be probed on its own, not taken for dead
// because nothing was held a moment before (a black-box tester: a live
// reader that left and rejoined in a loop was "dead" in 1 to 2.5 % of
// ringctl stat calls, and ringctl gc removed the ring).
func TestARoleTakenAfterTheWholeFileProbeIsNotDead(t *testing.T) {
	r, path := newRing(t, ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 8, MaxReaders: 2})
	var rd *ring.Reader
	afterHeldProbe = func() {
		var err error
		if rd, err = r.Reader(ring.ReaderOptions{}); err != nil {
			t.Error(err)
		}
	}
	defer func() { afterHeldProbe = func() {} }()
	s, err := ReadPath("r", path)
	if rd != nil {
		defer rd.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if s.State == Dead {
		t.Fatalf("state %s (%s): a reader that took its role while looked at is no dead holder", s.State, s.Problem)
	}
	for _, role := range s.Roles {
		if role.Role == "reader" && role.Attached && !role.Live {
			t.Errorf("reader %+v: attached, not live", role)
		}
	}
}

// TestARoleTakenAndLeftWhileLookedAtIsNotDead: a consumer takes its role
// just after the probe between the looks (the second look sees it
// attached, the first did not) and leaves again before its second probe:
// unheld, and attached in the second look. That is no dead holder either
// (a black-box tester: a reader joining and leaving in a loop was "dead"
// in 1 to 2.5 % of ringctl stat calls, and ringctl gc removed the ring).
// A third look tells: the role free (it left), or taken again in a new
// incarnation (a live holder came back), which the snapshot shows.
func TestARoleTakenAndLeftWhileLookedAtIsNotDead(t *testing.T) {
	for _, back := range []bool{false, true} {
		_, path := newRing(t, ring.Options{Kind: ring.SPSC, SlotSize: 64, Slots: 8})
		b, h := fileAndHeader(t, path)
		probes := 0
		probe := func(at int64) bool {
			if at != layout.ConsumerLockByte {
				return false
			}
			switch probes++; probes {
			case 1: // between the looks: the consumer takes the role right after
				binary.LittleEndian.PutUint32(b[layout.ConsumerEpochOffset:], 1)
				binary.LittleEndian.PutUint32(b[layout.ConsumerStateOffset:], layout.StateAttached)
			case 2: // after the second look: it left before this probe, and perhaps came back after it
				binary.LittleEndian.PutUint32(b[layout.ConsumerStateOffset:], 0)
				if back {
					binary.LittleEndian.PutUint32(b[layout.ConsumerEpochOffset:], 2)
					binary.LittleEndian.PutUint32(b[layout.ConsumerStateOffset:], layout.StateAttached)
				}
			}
			return false
		}
		var s Snapshot
		if problem := interpret(&s, &h, byteWords(b), probe); problem != "" {
			t.Fatalf("interpret: %s", problem)
		}
		judge(&s, h.Kind)
		if s.State == Dead {
			t.Fatalf("came back %v: state %s (%s): a consumer that came and went while looked at is no dead holder", back, s.State, s.Problem)
		}
		cons := s.Roles[1]
		switch {
		case !back && (cons.Attached || cons.Live):
			t.Errorf("a consumer that left: %+v, want neither attached nor live", cons)
		case back && (!cons.Attached || !cons.Live || cons.Incarnation != 2 || !s.Held):
			t.Errorf("a consumer that came back: %+v (held %v), want attached and live in incarnation 2, the file held", cons, s.Held)
		}
	}
}

// TestAReaderThatCameBackIsShownAsTheThirdLookFoundIt: a broadcast reader
// seen attached only in the second look, unheld at its second probe, and
// back in a new incarnation at another cursor in the third look, is shown
// whole as the third look found it (cursor, lag), and the ring's backlog
// is counted from that cursor, not the gone incarnation's (a reviewer: only
// its incarnation and pid were taken, and the backlog used the old
// cursor).
func TestAReaderThatCameBackIsShownAsTheThirdLookFoundIt(t *testing.T) {
	_, path := newRing(t, ring.Options{Kind: ring.Broadcast, SlotSize: 64, Slots: 8, MaxReaders: 1})
	b, h := fileAndHeader(t, path)
	le := binary.LittleEndian
	entry := layout.BcastReaderOffset(0)
	le.PutUint64(b[layout.BcastCursorOffset:], 100)
	reader := func(inc uint32, cursor uint64) {
		le.PutUint64(b[entry+layout.ReaderCursorOffset:], cursor)
		le.PutUint32(b[entry+layout.ReaderPolicyOffset:], layout.PolicyLossy)
		le.PutUint32(b[entry+layout.ReaderIncarnationOffset:], inc)
		le.PutUint32(b[entry+layout.ReaderStateOffset:], layout.ReaderAttached)
	}
	probes := 0
	probe := func(at int64) bool {
		if at != int64(entry+layout.ReaderLockByte) {
			return false
		}
		switch probes++; probes {
		case 1: // between the looks: a reader joins right after, at 95
			reader(1, 95)
		case 2: // after the second look: it left, and another joined at 99
			reader(2, 99)
		}
		return false
	}
	var s Snapshot
	if problem := interpret(&s, &h, byteWords(b), probe); problem != "" {
		t.Fatalf("interpret: %s", problem)
	}
	var rd *Role
	for i := range s.Roles {
		if s.Roles[i].Role == "reader" {
			rd = &s.Roles[i]
		}
	}
	switch {
	case rd == nil:
		t.Fatalf("no reader in %+v", s.Roles)
	case !rd.Live || rd.Incarnation != 2 || rd.Cursor == nil || *rd.Cursor != 99 || rd.Lag == nil || *rd.Lag != 1:
		t.Errorf("reader %+v (cursor %v, lag %v): want live, incarnation 2, cursor 99, lag 1", *rd, deref(rd.Cursor), deref(rd.Lag))
	case s.Backlog != 1:
		t.Errorf("backlog %d, want 1: counted from the reader that is there", s.Backlog)
	}
}

func deref(p *uint64) any {
	if p == nil {
		return nil
	}
	return *p
}
