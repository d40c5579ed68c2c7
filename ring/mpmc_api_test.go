package ring

// The MPMC and MPSC API's semantics in one process: heap rings (which the
// race detector sees) and file rings (the mapping and the OFD locks). What
// every kind shares is in the contract suite (contract_test.go).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"
)

// mpmcKinds are the two kinds that share the engine.
var mpmcKinds = []Kind{MPMC, MPSC}

// newMPMCRing is a heap or file ring of kind k, closed (and removed) at
// the end of the test.
func newMPMCRing(t testing.TB, k Kind, file bool, slotSize, slots int, o Options) *Ring {
	t.Helper()
	o.Kind, o.SlotSize, o.Slots = k, slotSize, slots
	if k == MPSC {
		o.MaxConsumers = 0
	}
	name := uniqueName(t)
	var r *Ring
	var err error
	if file {
		r, err = Create(name, o)
	} else {
		r, err = newHeapRing(name, o)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		if file {
			Remove(name)
		}
	})
	return r
}

func mustProducer(t testing.TB, r *Ring) *Producer {
	t.Helper()
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustConsumer(t testing.TB, r *Ring) *Consumer {
	t.Helper()
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// passOne sends one message of size bytes numbered seq through p and
// checks that c receives it whole: the two are usually handles of two
// Rings over one file or descriptor.
func passOne(t testing.TB, p *Producer, c *Consumer, seq uint64, size int) {
	t.Helper()
	msg := make([]byte, size)
	encodeMessage(msg, seq)
	if err := p.TrySend(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, c.r.SlotSize())
	n, err := c.Recv(context.Background(), buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkMessage(buf[:n], seq, size); err != nil {
		t.Error(err)
	}
}

// forEachMPMC runs f on a heap and a file ring of both kinds.
func forEachMPMC(t *testing.T, f func(t *testing.T, k Kind, file bool)) {
	for _, k := range mpmcKinds {
		for _, file := range []bool{false, true} {
			where := "heap"
			if file {
				where = "file"
			}
			t.Run(fmt.Sprintf("%v %s ring", k, where), func(t *testing.T) { f(t, k, file) })
		}
	}
}

func TestMPMCEveryCallInOrder(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 32, 4, Options{})
		p, c := mustProducer(t, r), mustConsumer(t, r)
		ctx := context.Background()
		buf := make([]byte, 32)

		if _, err := c.TryRecv(buf); !errors.Is(err, ErrEmpty) {
			t.Fatalf("TryRecv on a new ring = %v, want ErrEmpty", err)
		}
		if err := p.Send(ctx, []byte("send")); err != nil {
			t.Fatal(err)
		}
		if err := p.TrySend([]byte("trysend")); err != nil {
			t.Fatal(err)
		}
		s, err := p.Claim(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 32 {
			t.Errorf("Claim gave %d bytes, want 32", len(s))
		}
		if err := p.Commit(copy(s, "claim")); err != nil {
			t.Fatal(err)
		}
		s, err = p.TryClaim()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Commit(copy(s, "tryclaim")); err != nil {
			t.Fatal(err)
		}
		if err := p.TrySend([]byte("x")); !errors.Is(err, ErrFull) {
			t.Fatalf("TrySend on a full ring = %v, want ErrFull", err)
		}
		if _, err := p.TryClaim(); !errors.Is(err, ErrFull) {
			t.Fatalf("TryClaim on a full ring = %v, want ErrFull", err)
		}
		want := []string{"send", "trysend", "claim", "tryclaim"}
		for i, w := range want {
			var got string
			switch i {
			case 0:
				n, err := c.Recv(ctx, buf)
				if err != nil {
					t.Fatal(err)
				}
				got = string(buf[:n])
			case 1:
				n, err := c.TryRecv(buf)
				if err != nil {
					t.Fatal(err)
				}
				got = string(buf[:n])
			case 2:
				m, err := c.Receive(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got = string(m)
				c.Release()
			case 3:
				m, err := c.TryReceive()
				if err != nil {
					t.Fatal(err)
				}
				got = string(m)
				if c.Redelivered() {
					t.Error("Redelivered() = true for a first delivery")
				}
				c.Release()
			}
			if got != w {
				t.Errorf("message %d = %q, want %q", i, got, w)
			}
		}
		if _, err := c.TryReceive(); !errors.Is(err, ErrEmpty) {
			t.Fatalf("TryReceive on a drained ring = %v, want ErrEmpty", err)
		}
		if ps, cs := p.Stats(), c.Stats(); ps.Messages != 4 || cs.Messages != 4 || ps.Bytes != cs.Bytes {
			t.Errorf("stats producer %+v consumer %+v, want 4 messages each and equal bytes", ps, cs)
		}
	})
}

func TestMPMCBatches(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 16, 8, Options{})
		p, c := mustProducer(t, r), mustConsumer(t, r)
		ctx := context.Background()

		b, err := p.ClaimBatch(ctx, 5)
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() != 5 {
			t.Fatalf("ClaimBatch(5) on an empty ring of 8 = %d slots", b.Len())
		}
		for i := range b.Len() {
			if err := b.SetLen(i, copy(b.Slot(i), fmt.Sprintf("b%d", i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.SetLen(0, 17); !errors.Is(err, ErrTooLarge) {
			t.Errorf("SetLen beyond the slot = %v, want ErrTooLarge", err)
		}
		p.CommitBatch(3) // b3 and b4 are skipped
		n, err := p.SendBatch(ctx, [][]byte{[]byte("s0"), []byte("s1"), make([]byte, 17), []byte("s3")})
		if n != 2 || !errors.Is(err, ErrTooLarge) {
			t.Fatalf("SendBatch with a message too large third = %d, %v; want 2, ErrTooLarge", n, err)
		}
		var got []string
		for len(got) < 5 {
			ms, err := c.ReceiveBatch(ctx, 8)
			if err != nil {
				t.Fatal(err)
			}
			for i := range ms.Len() {
				m, err := ms.At(i)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, string(m))
			}
			c.Release()
		}
		if fmt.Sprint(got) != "[b0 b1 b2 s0 s1]" {
			t.Errorf("received %v, want [b0 b1 b2 s0 s1]", got)
		}
		if s := c.Stats(); s.Skipped != 2 {
			t.Errorf("consumer skipped %d positions, want the 2 uncommitted slots of the batch", s.Skipped)
		}
		if _, err := c.TryReceive(); !errors.Is(err, ErrEmpty) {
			t.Errorf("TryReceive after the batches = %v, want ErrEmpty", err)
		}
	})
}

func TestMPMCAbortSkipsThePosition(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 16, 2, Options{})
		p, c := mustProducer(t, r), mustConsumer(t, r)
		ctx := context.Background()
		for range 5 { // more than a lap of aborts: the slots come back
			if _, err := p.Claim(ctx); err != nil {
				t.Fatal(err)
			}
			p.Abort()
			if _, err := c.TryReceive(); !errors.Is(err, ErrEmpty) {
				t.Fatalf("TryReceive after an abort = %v, want ErrEmpty", err)
			}
		}
		if err := p.Send(ctx, []byte("after")); err != nil {
			t.Fatal(err)
		}
		m, err := c.Receive(ctx)
		if err != nil || string(m) != "after" {
			t.Fatalf("Receive = %q, %v; want \"after\"", m, err)
		}
		c.Release()
	})
}

func TestMPMCLimits(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 16, 2, Options{MaxProducers: 2, MaxConsumers: 2})
		maxC := 2
		if k == MPSC {
			maxC = 1
		}
		var ps []*Producer
		for range 2 {
			ps = append(ps, mustProducer(t, r))
		}
		if _, err := r.Producer(); !errors.Is(err, ErrBusy) {
			t.Errorf("third producer of 2 = %v, want ErrBusy", err)
		}
		var cs []*Consumer
		for range maxC {
			cs = append(cs, mustConsumer(t, r))
		}
		if _, err := r.Consumer(); !errors.Is(err, ErrBusy) {
			t.Errorf("consumer %d of %d = %v, want ErrBusy", maxC+1, maxC, err)
		}
		// A closed handle's entry is free again.
		if err := ps[0].Close(); err != nil {
			t.Fatal(err)
		}
		ps[0] = mustProducer(t, r)
		if err := cs[0].Close(); err != nil {
			t.Fatal(err)
		}
		cs[0] = mustConsumer(t, r)
	})
}

func TestMPMCCloseEndsTheStreamAfterTheLastProducer(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 16, 8, Options{})
		p1, p2, c := mustProducer(t, r), mustProducer(t, r), mustConsumer(t, r)
		ctx := context.Background()
		p1.Send(ctx, []byte("1"))
		p2.Send(ctx, []byte("2"))
		if err := p1.Close(); err != nil {
			t.Fatal(err)
		}
		if err := p1.Close(); err != nil {
			t.Errorf("second Close = %v, want nil (idempotent)", err)
		}
		if err := p1.Send(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
			t.Errorf("Send after Close = %v, want ErrClosed", err)
		}
		buf := make([]byte, 16)
		for _, w := range []string{"1", "2"} {
			n, err := c.Recv(ctx, buf)
			if err != nil || string(buf[:n]) != w {
				t.Fatalf("Recv = %q, %v; want %q", buf[:n], err, w)
			}
		}
		if _, err := c.TryRecv(buf); !errors.Is(err, ErrEmpty) {
			t.Fatalf("TryRecv with one producer still attached = %v, want ErrEmpty", err)
		}
		// A consumer asleep on the empty ring is woken by the last close.
		done := make(chan error, 1)
		go func() {
			_, err := c.Recv(ctx, buf)
			done <- err
		}()
		time.Sleep(5 * time.Millisecond) // not an assertion: lets it reach the sleep, usually
		if err := p2.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, ErrClosed) || !errors.Is(err, io.EOF) {
			t.Fatalf("Recv at the end of the stream = %v, want ErrClosed (io.EOF)", err)
		}
		// A new producer reopens the stream.
		p3 := mustProducer(t, r)
		if err := p3.Send(ctx, []byte("3")); err != nil {
			t.Fatal(err)
		}
		if n, err := c.Recv(ctx, buf); err != nil || string(buf[:n]) != "3" {
			t.Fatalf("Recv after a new producer = %q, %v; want \"3\"", buf[:n], err)
		}
	})
}

// TestMPMCAbortedPositionsHoldTheirSlotsUntilAConsumerPasses: what Abort's
// godoc says of MPMC and MPSC rings. The positions a producer aborts (or
// leaves uncommitted in a batch) stay in the ring, skipped, until a consumer
// passes over them; only then can a producer use their slots.
func TestMPMCAbortedPositionsHoldTheirSlotsUntilAConsumerPasses(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 16, 4, Options{})
		p, c := mustProducer(t, r), mustConsumer(t, r)
		ctx := context.Background()
		b, err := p.ClaimBatch(ctx, 2)
		if err != nil || b.Len() != 2 {
			t.Fatalf("ClaimBatch(2) = %v, %v; want 2 slots", b.Len(), err)
		}
		copy(b.Slot(0), "kept")
		b.SetLen(0, 4)
		p.CommitBatch(1) // position 1 skipped
		if _, err := p.TryClaim(); err != nil {
			t.Fatal(err)
		}
		p.Abort() // position 2 skipped
		if err := p.TrySend([]byte("last")); err != nil {
			t.Fatal(err)
		}
		if err := p.TrySend([]byte("x")); !errors.Is(err, ErrFull) {
			t.Fatalf("TrySend with 2 messages and 2 skipped positions in 4 slots = %v, want ErrFull", err)
		}
		buf := make([]byte, 16)
		for _, want := range []string{"kept", "last"} {
			if n, err := c.TryRecv(buf); err != nil || string(buf[:n]) != want {
				t.Fatalf("TryRecv = %q, %v; want %q", buf[:n], err, want)
			}
		}
		if got := c.Stats().Skipped; got != 2 {
			t.Errorf("Stats.Skipped = %d, want 2", got)
		}
		for i := range 4 {
			if err := p.TrySend([]byte("x")); err != nil {
				t.Fatalf("TrySend %d after the consumer passed the skipped positions = %v", i, err)
			}
		}
	})
}
