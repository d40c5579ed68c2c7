package ring

// The SPSC API's semantics, in one process over heap rings (so that `go
// test -race` sees every access) unless the point is the mapping itself.
// What every kind shares is in the contract suite (contract_test.go).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
)

// newAPIRing is a heap ring with both roles taken.
func newAPIRing(t testing.TB, slotSize, slots int) (*Ring, *Producer, *Consumer) {
	return newAPIRingWith(t, Options{Kind: SPSC, SlotSize: slotSize, Slots: slots})
}

// newAPIRecordRing is newAPIRing for an SPSC record ring holding about
// slots messages of up to max bytes.
func newAPIRecordRing(t testing.TB, max, slots int) (*Ring, *Producer, *Consumer) {
	c := 64
	for c < (slots+1)*int(RecordSize(max)) || MaxRecordMessage(c) < max {
		c *= 2
	}
	return newAPIRingWith(t, Options{Kind: SPSC, Records: true, Capacity: c, MaxMessage: max})
}

func newAPIRingWith(t testing.TB, o Options) (*Ring, *Producer, *Consumer) {
	t.Helper()
	r, err := newHeapRing(uniqueName(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	return r, p, c
}

func TestAPIClaimCommitAndAbort(t *testing.T) {
	_, p, c := newAPIRing(t, 64, 4)
	ctx := context.Background()
	buf := make([]byte, 64)

	slot, err := p.Claim(ctx)
	if err != nil {
		t.Fatal(err)
	}
	copy(slot, "aborted")
	p.Abort()
	if _, err := c.TryRecv(buf); !errors.Is(err, ErrEmpty) {
		t.Fatalf("TryRecv after an aborted claim = %v, want ErrEmpty (an abort publishes nothing)", err)
	}

	slot, err = p.Claim(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(slot) != 64 {
		t.Errorf("Claim gave %d bytes, want the slot size 64", len(slot))
	}
	n := copy(slot, "committed")
	if err := p.Commit(n); err != nil {
		t.Fatal(err)
	}
	m, err := c.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(m) != "committed" {
		t.Errorf("Receive = %q, want %q", m, "committed")
	}
	c.Release()

	slot, err = p.TryClaim()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(copy(slot, "")); err != nil { // an empty message is a message
		t.Fatal(err)
	}
	m, err = c.TryReceive()
	if err != nil || len(m) != 0 {
		t.Errorf("TryReceive of an empty message = %q, %v; want an empty message", m, err)
	}
	c.Release()
	if _, err := c.TryReceive(); !errors.Is(err, ErrEmpty) {
		t.Errorf("TryReceive after the last message = %v, want ErrEmpty", err)
	}
}

func TestAPIBatches(t *testing.T) {
	ctx := context.Background()
	t.Run("CommitBatch of k < Len publishes only k, and the dropped slots come back", func(t *testing.T) {
		_, p, c := newAPIRing(t, 16, 8)
		b, err := p.ClaimBatch(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() != 8 {
			t.Fatalf("ClaimBatch(100) on an empty 8-slot ring claimed %d, want 8", b.Len())
		}
		for i := range b.Len() {
			n := copy(b.Slot(i), fmt.Sprint("m", i))
			if err := b.SetLen(i, n); err != nil {
				t.Fatal(err)
			}
		}
		p.CommitBatch(3)
		ms, err := c.ReceiveBatch(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if ms.Len() != 3 {
			t.Fatalf("ReceiveBatch after CommitBatch(3) leased %d, want 3", ms.Len())
		}
		for i := range 3 {
			if m, err := ms.At(i); err != nil || string(m) != fmt.Sprint("m", i) {
				t.Errorf("At(%d) = %q, %v; want %q", i, m, err, fmt.Sprint("m", i))
			}
		}
		c.Release() // one Release frees the whole batch
		if _, err := c.TryReceive(); !errors.Is(err, ErrEmpty) {
			t.Fatalf("TryReceive after the batch = %v, want ErrEmpty", err)
		}
		// The five dropped slots, and the three released, are all free again.
		b, err = p.ClaimBatch(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() != 8 {
			t.Fatalf("ClaimBatch after the release claimed %d, want 8", b.Len())
		}
		if err := b.SetLen(1, 16); err != nil {
			t.Fatal(err)
		}
		if err := b.SetLen(2, 17); !errors.Is(err, ErrTooLarge) {
			t.Errorf("SetLen beyond the slot size = %v, want ErrTooLarge", err)
		}
		p.CommitBatch(2) // slot 0's length was never set: an empty message, not the dropped "m3"
		for i, want := range []int{0, 16} {
			m, err := c.TryReceive()
			if err != nil || len(m) != want {
				t.Errorf("message %d of a batch: %d bytes, %v; want %d", i, len(m), err, want)
			}
			if err == nil {
				c.Release()
			}
		}
	})
	t.Run("ClaimBatch claims only the free slots", func(t *testing.T) {
		_, p, _ := newAPIRing(t, 16, 8)
		for range 5 {
			if err := p.TrySend([]byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		b, err := p.ClaimBatch(ctx, 8)
		if err != nil {
			t.Fatal(err)
		}
		if b.Len() != 3 {
			t.Errorf("ClaimBatch(8) with 3 slots free claimed %d", b.Len())
		}
		p.CommitBatch(0)
		if _, err := p.TryClaim(); err != nil {
			t.Errorf("TryClaim after CommitBatch(0) = %v, want a slot", err)
		}
	})
	t.Run("SendBatch sends what fits, ReceiveBatch leases what is there", func(t *testing.T) {
		_, p, c := newAPIRing(t, 16, 4)
		msgs := [][]byte{[]byte("a"), []byte("bb"), []byte("ccc"), []byte("dddd"), []byte("eeeee")}
		n, err := p.SendBatch(ctx, msgs)
		if err != nil || n != 4 {
			t.Fatalf("SendBatch of 5 into 4 free slots = %d, %v; want 4, nil", n, err)
		}
		if n, err := p.SendBatch(ctx, nil); n != 0 || err != nil {
			t.Errorf("SendBatch(nil) = %d, %v; want 0, nil", n, err)
		}
		ms, err := c.ReceiveBatch(ctx, 3)
		if err != nil || ms.Len() != 3 {
			t.Fatalf("ReceiveBatch(3) = %d, %v; want 3", ms.Len(), err)
		}
		for i := range ms.Len() {
			if m, err := ms.At(i); err != nil || !bytes.Equal(m, msgs[i]) {
				t.Errorf("At(%d) = %q, %v; want %q", i, m, err, msgs[i])
			}
		}
		c.Release()
		ms, err = c.ReceiveBatch(ctx, 10)
		if err != nil || ms.Len() != 1 {
			t.Fatalf("ReceiveBatch(10) with one left = %d, %v; want 1", ms.Len(), err)
		}
		if m, err := ms.At(0); err != nil || !bytes.Equal(m, msgs[3]) {
			t.Errorf("At(0) = %q, %v; want %q", m, err, msgs[3])
		}
		c.Release()
	})
}

// TestAPIStatsCountExactly: Messages and Bytes count what each side
// published or released, exactly, through every call; Full and Empty count
// the times a side found the ring full or empty; nothing waited, so nothing
// slept or woke.
func TestAPIStatsCountExactly(t *testing.T) {
	ctx := context.Background()
	type sent struct{ msgs, bytes uint64 }
	check := func(t *testing.T, side string, got Stats, want sent) {
		t.Helper()
		if got.Messages != want.msgs || got.Bytes != want.bytes {
			t.Errorf("%s Stats() Messages=%d Bytes=%d, want %d and %d", side, got.Messages, got.Bytes, want.msgs, want.bytes)
		}
		if got.Sleeps != 0 || got.Wakes != 0 {
			t.Errorf("%s Stats() Sleeps=%d Wakes=%d, want 0 (nothing waited)", side, got.Sleeps, got.Wakes)
		}
	}
	t.Run("every producer call counts what it published", func(t *testing.T) {
		_, p, _ := newAPIRing(t, 64, 64)
		p.Send(ctx, make([]byte, 10))
		p.TrySend(make([]byte, 11))
		b, _ := p.Claim(ctx)
		p.Commit(len(b[:12]))
		b, _ = p.TryClaim()
		p.Commit(len(b[:13]))
		p.Claim(ctx)
		p.Abort() // nothing
		p.SendBatch(ctx, [][]byte{make([]byte, 1), make([]byte, 2), make([]byte, 3)})
		bt, _ := p.ClaimBatch(ctx, 4)
		for i := range bt.Len() {
			bt.SetLen(i, 20)
		}
		p.CommitBatch(2)              // two of the four
		p.Send(ctx, make([]byte, 65)) // refused: ErrTooLarge
		check(t, "producer", p.Stats(), sent{9, 10 + 11 + 12 + 13 + 1 + 2 + 3 + 20 + 20})
	})
	t.Run("every consumer call counts what it released", func(t *testing.T) {
		_, p, c := newAPIRing(t, 64, 64)
		for i := 1; i <= 8; i++ {
			p.Send(ctx, make([]byte, i))
		}
		buf := make([]byte, 64)
		c.Recv(ctx, buf)
		c.TryRecv(buf)
		check(t, "consumer after Recv and TryRecv", c.Stats(), sent{2, 1 + 2})
		c.Receive(ctx)
		check(t, "consumer holding a lease", c.Stats(), sent{2, 1 + 2}) // leased, not yet released
		c.Release()
		c.TryReceive()
		c.Release()
		check(t, "consumer after Receive, TryReceive and Release", c.Stats(), sent{4, 1 + 2 + 3 + 4})
		ms, _ := c.ReceiveBatch(ctx, 4)
		if ms.Len() != 4 {
			t.Fatalf("ReceiveBatch leased %d, want 4", ms.Len())
		}
		check(t, "consumer holding a batch", c.Stats(), sent{4, 10})
		c.Release()
		check(t, "consumer after ReceiveBatch and Release", c.Stats(), sent{8, 36})
	})
	t.Run("a Recv refused for a short buffer counts nothing", func(t *testing.T) {
		_, p, c := newAPIRing(t, 64, 8)
		p.Send(ctx, make([]byte, 40))
		c.Recv(ctx, make([]byte, 8))  // refused: io.ErrShortBuffer
		c.TryRecv(make([]byte, 8))    // refused
		c.Recv(ctx, make([]byte, 64)) // received
		check(t, "consumer", c.Stats(), sent{1, 40})
	})
	t.Run("Full and Empty count the times a side found nothing to do", func(t *testing.T) {
		_, p, c := newAPIRing(t, 16, 2)
		if _, err := c.TryRecv(make([]byte, 16)); !errors.Is(err, ErrEmpty) {
			t.Fatal(err)
		}
		p.TrySend([]byte("a"))
		p.TrySend([]byte("b"))
		if err := p.TrySend([]byte("c")); !errors.Is(err, ErrFull) {
			t.Fatal(err)
		}
		if _, err := p.TryClaim(); !errors.Is(err, ErrFull) {
			t.Fatal(err)
		}
		if got := p.Stats().Full; got < 2 {
			t.Errorf("producer Stats().Full=%d after two full tries, want >= 2", got)
		}
		if got := c.Stats().Empty; got < 1 {
			t.Errorf("consumer Stats().Empty=%d after an empty try, want >= 1", got)
		}
		if got := p.Stats().Empty; got != 0 {
			t.Errorf("producer Stats().Empty=%d, want 0", got)
		}
		if got := c.Stats().Full; got != 0 {
			t.Errorf("consumer Stats().Full=%d, want 0", got)
		}
	})
}
