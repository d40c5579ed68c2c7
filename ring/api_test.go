package ring

// The API's semantics, in one process over heap rings (so that `go test
// -race` sees every access) unless the point is the mapping itself.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
)

// newAPIRing is a heap ring with both roles taken.
func newAPIRing(t testing.TB, slotSize, slots int) (*Ring, *Producer, *Consumer) {
	t.Helper()
	r, err := newHeapRing(uniqueName(t), Options{Kind: SPSC, SlotSize: slotSize, Slots: slots})
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

// mustPanic runs f and checks that it panics with a message containing want.
func mustPanic(t *testing.T, what, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		p := recover()
		if p == nil {
			t.Errorf("%s did not panic, want a panic naming the misuse (%q)", what, want)
			return
		}
		if msg := fmt.Sprint(p); !strings.Contains(msg, want) {
			t.Errorf("%s panicked with %q, want a message containing %q", what, msg, want)
		}
	}()
	f()
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

func TestAPIMisusePanicsWithAMessage(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		want string // part of the panic message
		f    func(p *Producer, c *Consumer)
	}{
		{"Commit without Claim", "Commit without a Claim", func(p *Producer, c *Consumer) { p.Commit(1) }},
		{"Commit twice", "Commit without a Claim", func(p *Producer, c *Consumer) {
			p.Claim(ctx)
			p.Commit(1)
			p.Commit(1)
		}},
		{"Claim while a claim is open", "Claim while a claim is open", func(p *Producer, c *Consumer) {
			p.Claim(ctx)
			p.Claim(ctx)
		}},
		{"Send while a claim is open", "Send while a claim is open", func(p *Producer, c *Consumer) {
			p.TryClaim()
			p.Send(ctx, []byte("x"))
		}},
		{"TrySend while a batch is open", "TrySend while a claim is open", func(p *Producer, c *Consumer) {
			p.ClaimBatch(ctx, 2)
			p.TrySend([]byte("x"))
		}},
		{"CommitBatch without a batch", "CommitBatch without a batch", func(p *Producer, c *Consumer) { p.CommitBatch(1) }},
		{"CommitBatch of more than were claimed", "CommitBatch without a batch", func(p *Producer, c *Consumer) {
			p.ClaimBatch(ctx, 2)
			p.CommitBatch(3)
		}},
		{"ClaimBatch of zero slots", "ClaimBatch with max <= 0", func(p *Producer, c *Consumer) { p.ClaimBatch(ctx, 0) }},
		{"Batch.Slot out of range", "Batch.Slot index out of range", func(p *Producer, c *Consumer) {
			b, _ := p.ClaimBatch(ctx, 2)
			b.Slot(b.Len())
		}},
		{"Release without Receive", "Release without a received message", func(p *Producer, c *Consumer) { c.Release() }},
		{"Release twice", "Release without a received message", func(p *Producer, c *Consumer) {
			p.TrySend([]byte("x"))
			c.Receive(ctx)
			c.Release()
			c.Release()
		}},
		{"Receive while holding a message", "Receive while holding a message", func(p *Producer, c *Consumer) {
			p.TrySend([]byte("x"))
			p.TrySend([]byte("y"))
			c.Receive(ctx)
			c.Receive(ctx)
		}},
		{"Recv while holding a message", "Recv while holding a message", func(p *Producer, c *Consumer) {
			p.TrySend([]byte("x"))
			c.TryReceive()
			c.Recv(ctx, make([]byte, 8))
		}},
		{"ReceiveBatch while holding a batch", "ReceiveBatch while holding a message", func(p *Producer, c *Consumer) {
			p.TrySend([]byte("x"))
			c.ReceiveBatch(ctx, 4)
			c.ReceiveBatch(ctx, 4)
		}},
		{"ReceiveBatch of zero messages", "ReceiveBatch with max <= 0", func(p *Producer, c *Consumer) { c.ReceiveBatch(ctx, 0) }},
		{"Messages.At out of range", "Messages.At index out of range", func(p *Producer, c *Consumer) {
			p.TrySend([]byte("x"))
			m, _ := c.ReceiveBatch(ctx, 4)
			m.At(m.Len())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, p, c := newAPIRing(t, 64, 4)
			mustPanic(t, tt.name, tt.want, func() { tt.f(p, c) })
		})
	}
}

func TestAPITryCallsOnAFullOrEmptyRing(t *testing.T) {
	_, p, c := newAPIRing(t, 16, 4)
	buf := make([]byte, 16)
	if _, err := c.TryRecv(buf); !errors.Is(err, ErrEmpty) {
		t.Errorf("TryRecv on an empty ring = %v, want ErrEmpty", err)
	}
	if _, err := c.TryReceive(); !errors.Is(err, ErrEmpty) {
		t.Errorf("TryReceive on an empty ring = %v, want ErrEmpty", err)
	}
	for i := range 4 {
		if err := p.TrySend([]byte{byte(i)}); err != nil {
			t.Fatalf("TrySend %d into a 4-slot ring = %v", i, err)
		}
	}
	if err := p.TrySend([]byte{4}); !errors.Is(err, ErrFull) {
		t.Errorf("TrySend on a full ring = %v, want ErrFull", err)
	}
	if _, err := p.TryClaim(); !errors.Is(err, ErrFull) {
		t.Errorf("TryClaim on a full ring = %v, want ErrFull", err)
	}
	if n, err := c.TryRecv(buf); err != nil || n != 1 || buf[0] != 0 {
		t.Fatalf("TryRecv = %d, %v (%v); want the first message", n, err, buf[:n])
	}
	if err := p.TrySend([]byte{4}); err != nil {
		t.Errorf("TrySend after one slot was freed = %v, want nil", err)
	}
	for i := 1; i <= 4; i++ {
		if n, err := c.TryRecv(buf); err != nil || n != 1 || buf[0] != byte(i) {
			t.Fatalf("TryRecv = %d, %v (%v); want message %d", n, err, buf[:n], i)
		}
	}
	if _, err := c.TryRecv(buf); !errors.Is(err, ErrEmpty) {
		t.Errorf("TryRecv on a drained ring = %v, want ErrEmpty", err)
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

// blockingCalls are the calls that wait: each on a ring where it must.
var blockingCalls = []struct {
	name string
	full bool // needs a full ring (producer side) rather than an empty one
	call func(ctx context.Context, p *Producer, c *Consumer) error
}{
	{"Receive on an empty ring", false, func(ctx context.Context, p *Producer, c *Consumer) error { _, err := c.Receive(ctx); return err }},
	{"Recv on an empty ring", false, func(ctx context.Context, p *Producer, c *Consumer) error {
		_, err := c.Recv(ctx, make([]byte, 16))
		return err
	}},
	{"ReceiveBatch on an empty ring", false, func(ctx context.Context, p *Producer, c *Consumer) error {
		_, err := c.ReceiveBatch(ctx, 4)
		return err
	}},
	{"Send on a full ring", true, func(ctx context.Context, p *Producer, c *Consumer) error { return p.Send(ctx, []byte("x")) }},
	{"Claim on a full ring", true, func(ctx context.Context, p *Producer, c *Consumer) error { _, err := p.Claim(ctx); return err }},
	{"ClaimBatch on a full ring", true, func(ctx context.Context, p *Producer, c *Consumer) error {
		_, err := p.ClaimBatch(ctx, 4)
		return err
	}},
	{"SendBatch on a full ring", true, func(ctx context.Context, p *Producer, c *Consumer) error {
		_, err := p.SendBatch(ctx, [][]byte{[]byte("x")})
		return err
	}},
}

// TestAPIContextEndsABlockingCall: a blocking call returns the context's
// error when it is cancelled (before the call, or while it waits) or its
// deadline passes, under every wait strategy, and the ring is unchanged.
func TestAPIContextEndsABlockingCall(t *testing.T) {
	proctest.Watchdog(t, hangBound)
	waits := []struct {
		name string
		w    WaitStrategy
	}{{"DefaultWait", DefaultWait}, {"WaitSleep", WaitSleep}, {"polling", WaitStrategy{Spin: 64, Yield: 4, Sleep: false}}}
	ends := []struct {
		name string
		want error
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"a cancelled context", context.Canceled, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}},
		{"a context cancelled while it waits", context.Canceled, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Millisecond, cancel)
			return ctx, cancel
		}},
		{"a deadline that passes while it waits", context.DeadlineExceeded, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 2*time.Millisecond)
		}},
		{"a deadline already past", context.DeadlineExceeded, func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		}},
	}
	for _, w := range waits {
		for _, call := range blockingCalls {
			for _, end := range ends {
				t.Run(fmt.Sprintf("%s with %s ends on %s", call.name, w.name, end.name), func(t *testing.T) {
					_, p, c := newAPIRing(t, 16, 2)
					p.SetWait(w.w)
					c.SetWait(w.w)
					if call.full {
						for range 2 {
							if err := p.TrySend([]byte("full")); err != nil {
								t.Fatal(err)
							}
						}
					}
					ctx, cancel := end.ctx()
					defer cancel()
					if err := call.call(ctx, p, c); !errors.Is(err, end.want) {
						t.Fatalf("got %v, want %v", err, end.want)
					}
					// The ring is as it was: the waiting side can go on.
					if call.full {
						if n, err := c.TryRecv(make([]byte, 16)); err != nil || n != 4 {
							t.Errorf("TryRecv after the cancelled call = %d, %v; want the first message", n, err)
						}
						if err := p.TrySend([]byte("next")); err != nil {
							t.Errorf("TrySend after a slot was freed = %v", err)
						}
					} else {
						if err := p.TrySend([]byte("now")); err != nil {
							t.Fatal(err)
						}
						if n, err := c.TryRecv(make([]byte, 16)); err != nil || n != 3 {
							t.Errorf("TryRecv after the cancelled call = %d, %v; want the new message", n, err)
						}
					}
				})
			}
		}
	}
}

// TestAPICloseOfAHandle: Close is idempotent, frees the role, and every
// later call on the handle returns ErrClosed (which is also io.EOF).
func TestAPICloseOfAHandle(t *testing.T) {
	ctx := context.Background()
	r, p, c := newAPIRing(t, 16, 4)
	for i := range 2 {
		if err := p.Close(); err != nil {
			t.Errorf("Producer.Close #%d = %v, want nil", i+1, err)
		}
		if err := c.Close(); err != nil {
			t.Errorf("Consumer.Close #%d = %v, want nil", i+1, err)
		}
	}
	calls := map[string]func() error{
		"Send":         func() error { return p.Send(ctx, []byte("x")) },
		"TrySend":      func() error { return p.TrySend([]byte("x")) },
		"Claim":        func() error { _, err := p.Claim(ctx); return err },
		"TryClaim":     func() error { _, err := p.TryClaim(); return err },
		"ClaimBatch":   func() error { _, err := p.ClaimBatch(ctx, 2); return err },
		"SendBatch":    func() error { _, err := p.SendBatch(ctx, [][]byte{[]byte("x")}); return err },
		"Receive":      func() error { _, err := c.Receive(ctx); return err },
		"TryReceive":   func() error { _, err := c.TryReceive(); return err },
		"Recv":         func() error { _, err := c.Recv(ctx, make([]byte, 16)); return err },
		"TryRecv":      func() error { _, err := c.TryRecv(make([]byte, 16)); return err },
		"ReceiveBatch": func() error { _, err := c.ReceiveBatch(ctx, 2); return err },
	}
	for name, call := range calls {
		if err := noPanic(call); !errors.Is(err, ErrClosed) || !errors.Is(err, io.EOF) {
			t.Errorf("%s after Close = %v, want ErrClosed (and io.EOF)", name, err)
		}
	}
	if p2, err := r.Producer(); err != nil {
		t.Errorf("Producer after the old one closed = %v, want the role", err)
	} else {
		p2.Close()
	}
	if c2, err := r.Consumer(); err != nil {
		t.Errorf("Consumer after the old one closed = %v, want the role", err)
	} else {
		c2.Close()
	}
}

// TestAPICloseOfARing closes the handles it gave out, unmaps, and is
// idempotent; the handles then report ErrClosed without touching the
// unmapped memory, and the Ring gives out no more.
func TestAPICloseOfARing(t *testing.T) {
	ctx := context.Background()
	r := newTestRing(t, Options{Kind: SPSC, SlotSize: 16, Slots: 4}) // mapped: use after unmap would fault
	p, err := r.Producer()
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.TrySend([]byte("left")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := r.Close(); err != nil {
			t.Errorf("Ring.Close #%d = %v, want nil", i+1, err)
		}
	}
	if err := noPanic(func() error { return p.Send(ctx, []byte("x")) }); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Ring.Close = %v, want ErrClosed", err)
	}
	if err := noPanic(func() error { _, err := p.ClaimBatch(ctx, 2); return err }); !errors.Is(err, ErrClosed) {
		t.Errorf("ClaimBatch after Ring.Close = %v, want ErrClosed", err)
	}
	if err := noPanic(func() error { _, err := c.Recv(ctx, make([]byte, 16)); return err }); !errors.Is(err, ErrClosed) {
		t.Errorf("Recv after Ring.Close = %v, want ErrClosed", err)
	}
	if err := noPanic(func() error { _, err := c.ReceiveBatch(ctx, 2); return err }); !errors.Is(err, ErrClosed) {
		t.Errorf("ReceiveBatch after Ring.Close = %v, want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Producer.Close after Ring.Close = %v, want nil", err)
	}
	if _, err := r.Producer(); !errors.Is(err, ErrClosed) {
		t.Errorf("Producer on a closed Ring = %v, want ErrClosed", err)
	}
	if _, err := r.Consumer(); !errors.Is(err, ErrClosed) {
		t.Errorf("Consumer on a closed Ring = %v, want ErrClosed", err)
	}
	// The file stays, with the message the closed producer left in it.
	r2, err := Open(r.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	c2, err := r2.Consumer()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := c2.Recv(ctx, buf); err != nil || string(buf[:n]) != "left" {
		t.Errorf("Recv on a new Open = %q, %v; want %q", buf[:n], err, "left")
	}
	if _, err := c2.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
		t.Errorf("Recv past the closed stream = %v, want ErrClosed", err)
	}
}

// TestAPIProducerCloseEndsTheStreamAndANewProducerReopensIt: the consumer
// receives everything published before the close, then ErrClosed, for as
// long as no producer returns; a new producer continues the stream.
func TestAPIProducerCloseEndsTheStreamAndANewProducerReopensIt(t *testing.T) {
	ctx := context.Background()
	r, p, c := newAPIRing(t, 16, 8)
	buf := make([]byte, 16)
	seq := 0
	sendN := func(p *Producer, n int) {
		t.Helper()
		for range n {
			if err := p.Send(ctx, fmt.Append(nil, seq)); err != nil {
				t.Fatal(err)
			}
			seq++
		}
	}
	got := 0
	recvAll := func() {
		t.Helper()
		for got < seq {
			n, err := c.Recv(ctx, buf)
			if err != nil || string(buf[:n]) != fmt.Sprint(got) {
				t.Fatalf("Recv = %q, %v; want %q", buf[:n], err, fmt.Sprint(got))
			}
			got++
		}
		for range 2 {
			if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrClosed) || !errors.Is(err, io.EOF) {
				t.Fatalf("Recv after message %d of a closed stream = %v, want ErrClosed (and io.EOF)", got, err)
			}
			if _, err := c.TryRecv(buf); !errors.Is(err, ErrClosed) {
				t.Fatalf("TryRecv after message %d of a closed stream = %v, want ErrClosed", got, err)
			}
		}
	}
	sendN(p, 5)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	recvAll()
	for range 3 {
		p2, err := r.Producer()
		if err != nil {
			t.Fatalf("a new Producer after Close = %v", err)
		}
		sendN(p2, 3)
		if err := p2.Close(); err != nil {
			t.Fatal(err)
		}
		recvAll()
	}
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

// TestAPIStreamingThatNeverWaitsMakesNoSystemCall: fill a large ring with
// the Try… calls while the consumer is idle, drain it while the producer is
// idle, round after round: no side sleeps or wakes the other.
func TestAPIStreamingThatNeverWaitsMakesNoSystemCall(t *testing.T) {
	_, p, c := newAPIRing(t, 32, 1<<16)
	buf := make([]byte, 32)
	seq := uint64(0)
	got := uint64(0)
	rounds := 4
	if raceEnabled {
		rounds = 1
	}
	for range rounds {
		for {
			encodeMessage(buf, seq)
			if err := p.TrySend(buf); errors.Is(err, ErrFull) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			seq++
		}
		for {
			n, err := c.TryRecv(buf)
			if errors.Is(err, ErrEmpty) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := checkMessage(buf[:n], got, 32); err != nil {
				t.Fatal(err)
			}
			got++
		}
	}
	if want := uint64(rounds << 16); seq != want || got != want {
		t.Fatalf("sent %d and received %d, want %d each", seq, got, want)
	}
	for side, s := range map[string]Stats{"producer": p.Stats(), "consumer": c.Stats()} {
		if s.Sleeps != 0 || s.Wakes != 0 {
			t.Errorf("%s: Sleeps=%d Wakes=%d, want 0 and 0", side, s.Sleeps, s.Wakes)
		}
	}
}

// TestAPIHotPathAllocatesNothing: on a ring that is neither full nor empty,
// no data-path call allocates.
func TestAPIHotPathAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own account")
	}
	ctx := context.Background()
	msg := make([]byte, 48)
	msgs := [][]byte{msg, msg, msg, msg}
	buf := make([]byte, 64)
	tests := []struct {
		name string
		f    func(t *testing.T, p *Producer, c *Consumer)
	}{
		{"Send and Recv", func(t *testing.T, p *Producer, c *Consumer) {
			if err := p.Send(ctx, msg); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Recv(ctx, buf); err != nil {
				t.Fatal(err)
			}
		}},
		{"TrySend and TryRecv", func(t *testing.T, p *Producer, c *Consumer) {
			if err := p.TrySend(msg); err != nil {
				t.Fatal(err)
			}
			if _, err := c.TryRecv(buf); err != nil {
				t.Fatal(err)
			}
		}},
		{"Claim, Commit, Receive and Release", func(t *testing.T, p *Producer, c *Consumer) {
			b, err := p.Claim(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Commit(copy(b, msg)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Receive(ctx); err != nil {
				t.Fatal(err)
			}
			c.Release()
		}},
		{"TryClaim, Commit, TryReceive and Release", func(t *testing.T, p *Producer, c *Consumer) {
			b, err := p.TryClaim()
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Commit(copy(b, msg)); err != nil {
				t.Fatal(err)
			}
			if _, err := c.TryReceive(); err != nil {
				t.Fatal(err)
			}
			c.Release()
		}},
		{"SendBatch, ReceiveBatch, At and Release", func(t *testing.T, p *Producer, c *Consumer) {
			if n, err := p.SendBatch(ctx, msgs); err != nil || n != len(msgs) {
				t.Fatal(n, err)
			}
			ms, err := c.ReceiveBatch(ctx, len(msgs))
			if err != nil {
				t.Fatal(err)
			}
			for i := range ms.Len() {
				if _, err := ms.At(i); err != nil {
					t.Fatal(err)
				}
			}
			c.Release()
		}},
		{"ClaimBatch, SetLen, CommitBatch, ReceiveBatch and Release", func(t *testing.T, p *Producer, c *Consumer) {
			b, err := p.ClaimBatch(ctx, 4)
			if err != nil {
				t.Fatal(err)
			}
			for i := range b.Len() {
				b.SetLen(i, copy(b.Slot(i), msg))
			}
			p.CommitBatch(b.Len())
			ms, err := c.ReceiveBatch(ctx, 4)
			if err != nil {
				t.Fatal(err)
			}
			_ = ms.Len()
			c.Release()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, p, c := newAPIRing(t, 64, 64)
			// Keep the ring neither full nor empty throughout.
			for range 8 {
				if err := p.TrySend(msg); err != nil {
					t.Fatal(err)
				}
			}
			if n := testing.AllocsPerRun(1000, func() { tt.f(t, p, c) }); n != 0 {
				t.Errorf("%s: %v allocations per run, want 0", tt.name, n)
			}
		})
	}
}
