package ring_test

// The contract suite's table of kinds and its one ring constructor. Every
// contract test runs over contractKinds through newContractRing, and reaches
// a ring only through the public API, so that it holds whatever engine sits
// behind the facade.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/ring"
)

// contractKind is one row of the table: a ring kind and, for Broadcast, the
// policy of the reader the tests take as its read end.
type contractKind struct {
	name    string
	kind    ring.Kind
	policy  ring.Policy // Broadcast only
	records bool        // a record ring (Options.Records)
}

var contractKinds = []contractKind{
	{"SPSC", ring.SPSC, 0, false},
	{"MPMC", ring.MPMC, 0, false},
	{"MPSC", ring.MPSC, 0, false},
	{"Broadcast with a lossless reader", ring.Broadcast, ring.Lossless, false},
	{"Broadcast with a lossy reader", ring.Broadcast, ring.Lossy, false},
	{"SPSC records", ring.SPSC, 0, true},
	{"Broadcast records with a lossless reader", ring.Broadcast, ring.Lossless, true},
	{"Broadcast records with a lossy reader", ring.Broadcast, ring.Lossy, true},
}

// lossy: the producer never waits for this kind's read end, so the ring is
// never full (the reader is lapped instead).
func (k contractKind) lossy() bool { return k.kind == ring.Broadcast && k.policy == ring.Lossy }

// manyProducers: the kind hands out any number of producers.
func (k contractKind) manyProducers() bool { return k.kind == ring.MPMC || k.kind == ring.MPSC }

// readHandle names the read end's type as its panic messages do.
func (k contractKind) readHandle() string {
	if k.kind == ring.Broadcast {
		return "Reader"
	}
	return "Consumer"
}

// batchType names the type ReceiveBatch returns, as its panic messages do.
func (k contractKind) batchType() string {
	if k.kind == ring.Broadcast {
		return "ReaderBatch"
	}
	return "Messages"
}

func contractKindNamed(name string) (contractKind, bool) {
	for _, k := range contractKinds {
		if k.name == name {
			return k, true
		}
	}
	return contractKind{}, false
}

// options are the Options of a ring of kind k for slots messages of up to
// slotSize bytes. A record ring gets MaxMessage slotSize and the smallest
// capacity that holds slots such messages wherever the producer stands
// (the last one may wrap, leaving the end of the ring unused), so that whatever
// fits in the slot ring fits in it too; it may hold more messages than
// that, and the tests that fill a ring to the brim say so.
func (k contractKind) options(slotSize, slots int) ring.Options {
	if !k.records {
		return ring.Options{Kind: k.kind, SlotSize: slotSize, Slots: slots}
	}
	rec := ring.RecordSize(slotSize)
	c := 64
	for c < (slots+1)*rec || ring.MaxRecordMessage(c) < slotSize {
		c *= 2
	}
	return ring.Options{Kind: k.kind, Records: true, Capacity: c, MaxMessage: slotSize}
}

// forEachKind runs f once per row of the table, as a subtest named after it.
func forEachKind(t *testing.T, f func(t *testing.T, k contractKind)) {
	for _, k := range contractKinds {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

// readEnd is what a Consumer and a broadcast Reader share: the read side
// every contract test drives.
type readEnd interface {
	Receive(ctx context.Context) ([]byte, error)
	TryReceive() ([]byte, error)
	Recv(ctx context.Context, buf []byte) (int, error)
	TryRecv(buf []byte) (int, error)
	Release() error
	SetWait(w ring.WaitStrategy)
	Stats() ring.Stats
	Close() error
}

// takeReadEnd takes r's read end of kind k: a Consumer, or a Reader of k's
// policy that starts at the oldest message.
func (k contractKind) takeReadEnd(r *ring.Ring) (readEnd, error) {
	if k.kind == ring.Broadcast {
		return r.Reader(ring.ReaderOptions{Policy: k.policy, Start: ring.Oldest})
	}
	return r.Consumer()
}

// receiveBatch leases a batch of up to max messages on rd and calls each
// (if not nil) on every message; the caller releases it. The batch is
// never boxed in an interface, so the call allocates no more than
// ReceiveBatch does.
func receiveBatch(ctx context.Context, rd readEnd, max int, each func(m []byte) error) (int, error) {
	switch h := rd.(type) {
	case *ring.Consumer:
		b, err := h.ReceiveBatch(ctx, max)
		if err != nil {
			return 0, err
		}
		return visitBatch(b, each)
	case *ring.Reader:
		b, err := h.ReceiveBatch(ctx, max)
		if err != nil {
			return 0, err
		}
		return visitBatch(b, each)
	}
	panic(fmt.Sprintf("receiveBatch of a %T", rd))
}

func visitBatch[B interface {
	Len() int
	At(i int) ([]byte, error)
}](b B, each func(m []byte) error) (int, error) {
	for i := range b.Len() {
		m, err := b.At(i)
		if err == nil && each != nil {
			err = each(m)
		}
		if err != nil {
			return b.Len(), fmt.Errorf("message %d of a batch of %d: %w", i, b.Len(), err)
		}
	}
	return b.Len(), nil
}

// contractRing is a ring file made by newContractRing, and the handles
// taken from it.
type contractRing struct {
	k    contractKind
	r    *ring.Ring
	name string
}

// newContractRing is the suite's one ring constructor: a ring file of kind
// k under a unique name, no role taken yet. When the test ends it closes
// the ring (and every handle taken from it), removes the file, and fails
// the test if anything of it is left in the file system.
func newContractRing(t testing.TB, k contractKind, slotSize, slots int) *contractRing {
	t.Helper()
	name := ring.UniqueName(t)
	r, err := ring.Create(name, k.options(slotSize, slots))
	if err != nil {
		t.Fatalf("Create(%q, %v, SlotSize %d, Slots %d) = %v, want a ring", name, k.kind, slotSize, slots, err)
	}
	path := r.Path()
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Ring.Close at the end of the test = %v", err)
		}
		if err := ring.Remove(name); err != nil && !errors.Is(err, ring.ErrNotExist) {
			t.Errorf("Remove(%q) = %v", name, err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there after the test (Lstat = %v)", path, err)
		}
	})
	return &contractRing{k: k, r: r, name: name}
}

// producer takes a producer on the ring.
func (cr *contractRing) producer(t testing.TB) *ring.Producer {
	t.Helper()
	p, err := cr.r.Producer()
	if err != nil {
		t.Fatalf("%s: Producer() = %v", cr.k.name, err)
	}
	return p
}

// readEnd takes the kind's read end on the ring.
func (cr *contractRing) readEnd(t testing.TB) readEnd {
	t.Helper()
	rd, err := cr.k.takeReadEnd(cr.r)
	if err != nil {
		t.Fatalf("%s: taking the read end = %v", cr.k.name, err)
	}
	return rd
}

// ends takes the read end, then the producer: a lossless reader gates the
// producer from its first message.
func (cr *contractRing) ends(t testing.TB) (*ring.Producer, readEnd) {
	t.Helper()
	rd := cr.readEnd(t)
	return cr.producer(t), rd
}

// reopen maps the ring's file a second time, as another process would: its
// handles are not the first mapping's, and the first Ring's Close leaves
// them alone. It is closed when the test ends.
func (cr *contractRing) reopen(t testing.TB) *contractRing {
	t.Helper()
	r, err := ring.Open(cr.name)
	if err != nil {
		t.Fatalf("Open(%q) = %v", cr.name, err)
	}
	t.Cleanup(func() { r.Close() })
	return &contractRing{k: cr.k, r: r, name: cr.name}
}

// sendN sends messages first..first+n-1 of the codec, size bytes each.
func sendN(ctx context.Context, p *ring.Producer, first, n uint64, size int) error {
	m := make([]byte, size)
	for seq := first; seq < first+n; seq++ {
		ring.EncodeMessage(m, seq)
		if err := p.Send(ctx, m); err != nil {
			return fmt.Errorf("Send of message %d: %w", seq, err)
		}
	}
	return nil
}

// mustPanicNaming runs f and checks that it panics with a message that
// contains want (the misuse, named).
func mustPanicNaming(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		p := recover()
		if p == nil {
			t.Errorf("no panic, want one naming the misuse (%q)", want)
			return
		}
		if msg := fmt.Sprint(p); !strings.Contains(msg, want) {
			t.Errorf("panicked with %q, want a message containing %q", msg, want)
		}
	}()
	f()
}

// noPanic runs f and turns a panic into an error.
func noPanic(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panicked: %v", p)
		}
	}()
	return f()
}

// hourTick sleeps at once and wakes on its own only once an hour: in the
// life of a test only the other side's wake-up (or a Close's) ends its
// sleep, so a lost one hangs instead of being rescued by the tick.
var hourTick = ring.WaitStrategy{Sleep: true, Tick: time.Hour}

// awaitParked waits, a bounded while, until some goroutine is parked
// (neither running nor runnable) inside the public method named, such as
// "(*Consumer).Receive", so that what ends the call must wake it. It keys
// on the public method's frame only, never on the engine's, which other
// work renames. It is not an assertion: should the call not be seen parked
// (a busy machine can keep it spinning), the test goes on, holds all the
// same, and says in its log that it may not have exercised the wake-up.
// done is the call's result channel: an early return is a failure.
func awaitParked(t *testing.T, method string, done <-chan error) {
	t.Helper()
	frame := "ring." + method + "("
	buf := make([]byte, 1<<20)
	for try := 0; try < 2000; try++ {
		select {
		case err := <-done:
			t.Fatalf("%s returned %v before anything could end it, want it blocked", method, err)
		default:
		}
		n := runtime.Stack(buf, true)
		for _, g := range bytes.Split(buf[:n], []byte("\n\n")) {
			head, _, _ := bytes.Cut(g, []byte("\n"))
			if bytes.Contains(g, []byte(frame)) && !bytes.Contains(head, []byte("[running")) && !bytes.Contains(head, []byte("[runnable")) {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("%s was not seen parked; it may have been ended before it slept", method)
}
