package ring_test

// Bad input, on every kind: a message larger than a slot, a buffer too
// short, a Try… call that cannot go on, a context that ends a wait, and the
// misuse of a handle, which panics with a message that names it.

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// TestContractAMessageLargerThanASlotIsErrTooLarge: every producer call
// refuses a message beyond the slot size with ErrTooLarge and publishes
// nothing of it; a refused Commit leaves the claim open; an aborted claim
// publishes nothing.
func TestContractAMessageLargerThanASlotIsErrTooLarge(t *testing.T) {
	forEachKind(t, func(t *testing.T, k contractKind) {
		cr := newContractRing(t, k, 64, 8)
		p, rd := cr.ends(t)
		ctx := context.Background()
		size := cr.r.SlotSize()
		big, fits := make([]byte, size+1), make([]byte, size)
		if err := p.Send(ctx, big); !errors.Is(err, ring.ErrTooLarge) {
			t.Errorf("Send of SlotSize+1 bytes = %v, want ErrTooLarge", err)
		}
		if err := p.TrySend(big); !errors.Is(err, ring.ErrTooLarge) {
			t.Errorf("TrySend of SlotSize+1 bytes = %v, want ErrTooLarge", err)
		}
		if n, err := p.SendBatch(ctx, [][]byte{fits, big, fits}); n != 1 || !errors.Is(err, ring.ErrTooLarge) {
			t.Errorf("SendBatch(fits, too large, fits) = %d, %v; want 1, ErrTooLarge", n, err)
		}
		s, err := p.Claim(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != size {
			t.Errorf("Claim gave %d bytes, want the slot size %d", len(s), size)
		}
		for _, n := range []int{size + 1, -1, math.MaxInt} {
			if err := p.Commit(n); !errors.Is(err, ring.ErrTooLarge) {
				t.Errorf("Commit(%d) beyond the slot = %v, want ErrTooLarge", n, err)
			} else if n < 0 && !errors.Is(err, ring.ErrInvalid) {
				t.Errorf("Commit(%d) = %v, want ErrInvalid too: a negative length is no length", n, err)
			} else if n < 0 && strings.Contains(err.Error(), "options") {
				t.Errorf("Commit(%d) = %q: a commit length is no option", n, err)
			}
		}
		if err := p.Commit(size); err != nil {
			t.Errorf("Commit(SlotSize) after the refused ones = %v, want nil (the claim stays open)", err)
		}
		if _, err := p.Claim(ctx); err != nil {
			t.Fatal(err)
		}
		p.Abort() // publishes nothing, as the batch's Abort below
		b, err := p.ClaimBatch(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.SetLen(0, size+1); !errors.Is(err, ring.ErrTooLarge) {
			t.Errorf("Batch.SetLen(SlotSize+1) = %v, want ErrTooLarge", err)
		}
		if err := b.SetLen(0, -1); !errors.Is(err, ring.ErrInvalid) {
			t.Errorf("Batch.SetLen(-1) = %v, want ErrInvalid", err)
		}
		p.Abort()
		buf := make([]byte, 2*size)
		for i := range 2 { // SendBatch's first message, then Commit's
			if n, err := rd.TryRecv(buf); err != nil || n != size {
				t.Errorf("message %d: TryRecv = %d, %v; want %d bytes", i, n, err, size)
			}
		}
		if _, err := rd.TryRecv(buf); !errors.Is(err, ring.ErrEmpty) {
			t.Errorf("TryRecv after the only two messages that fit = %v, want ErrEmpty", err)
		}
	})
}

// TestContractRecvIntoAShortBufferLeavesTheMessage: Recv and TryRecv into
// a buffer shorter than the message return io.ErrShortBuffer and copy
// nothing; the message stays for the next call.
func TestContractRecvIntoAShortBufferLeavesTheMessage(t *testing.T) {
	forEachKind(t, func(t *testing.T, k contractKind) {
		p, rd := newContractRing(t, k, 64, 8).ends(t)
		ctx := context.Background()
		msg := make([]byte, 48)
		ring.EncodeMessage(msg, 1)
		if err := p.TrySend(msg); err != nil {
			t.Fatal(err)
		}
		short := make([]byte, len(msg)-1)
		if n, err := rd.Recv(ctx, short); n != 0 || !errors.Is(err, io.ErrShortBuffer) {
			t.Errorf("Recv into %d bytes = %d, %v; want 0, io.ErrShortBuffer", len(short), n, err)
		}
		if n, err := rd.TryRecv(short); n != 0 || !errors.Is(err, io.ErrShortBuffer) {
			t.Errorf("TryRecv into %d bytes = %d, %v; want 0, io.ErrShortBuffer", len(short), n, err)
		}
		buf := make([]byte, 64)
		n, err := rd.Recv(ctx, buf)
		if err != nil {
			t.Fatalf("Recv into a buffer large enough = %v", err)
		}
		if err := ring.CheckMessage(buf[:n], 1, len(msg)); err != nil {
			t.Fatalf("the message after two refused receives: %v", err)
		}
		if _, err := rd.TryRecv(buf); !errors.Is(err, ring.ErrEmpty) {
			t.Errorf("TryRecv after the only message = %v, want ErrEmpty", err)
		}
	})
}

// TestContractTryCallsOnAFullOrEmptyRing: TryRecv and TryReceive on an
// empty ring are ErrEmpty; TrySend and TryClaim on a full one are ErrFull
// until a message is taken; Stats counts each in Empty and Full (Empty
// also for a blocking Recv that waited). A lossy reader never fills the
// ring: TrySend goes on, and the reader is told how many messages it lost.
func TestContractTryCallsOnAFullOrEmptyRing(t *testing.T) {
	forEachKind(t, func(t *testing.T, k contractKind) {
		slots := 4
		cr := newContractRing(t, k, 16, slots)
		if k.records { // as many one-byte records as its bytes hold, none padded
			slots = cr.r.Capacity() / ring.RecordSize(1)
		}
		p, rd := cr.ends(t)
		buf := make([]byte, 16)
		if _, err := rd.TryRecv(buf); !errors.Is(err, ring.ErrEmpty) {
			t.Errorf("TryRecv on an empty ring = %v, want ErrEmpty", err)
		}
		if _, err := rd.TryReceive(); !errors.Is(err, ring.ErrEmpty) {
			t.Errorf("TryReceive on an empty ring = %v, want ErrEmpty", err)
		}
		for range 2 { // a blocking call that waits counts its finding as a Try does
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			if _, err := rd.Recv(ctx, buf); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Recv on an empty ring until a deadline = %v, want DeadlineExceeded", err)
			}
			cancel()
		}
		if got := rd.Stats().Empty; got != 4 {
			t.Errorf("read end Stats().Empty = %d after four calls found the ring empty (two Try, two blocking), want 4", got)
		}
		for i := range slots {
			if err := p.TrySend([]byte{byte(i)}); err != nil {
				t.Fatalf("TrySend %d into a %d-slot ring = %v", i, slots, err)
			}
		}
		next := 0 // the message the read end gets next
		if k.lossy() {
			if err := p.TrySend([]byte{byte(slots)}); err != nil {
				t.Fatalf("TrySend past the capacity of a ring with only a lossy reader = %v, want nil", err)
			}
			var lap *ring.LapError
			if _, err := rd.TryRecv(buf); !errors.As(err, &lap) || !errors.Is(err, ring.ErrLapped) || lap.Missed == 0 {
				t.Fatalf("TryRecv of a lapped lossy reader = %v, want a *LapError with Missed > 0", err)
			}
			next = int(lap.Missed)
		} else {
			if err := p.TrySend([]byte{byte(slots)}); !errors.Is(err, ring.ErrFull) {
				t.Errorf("TrySend on a full ring = %v, want ErrFull", err)
			}
			if _, err := p.TryClaim(); !errors.Is(err, ring.ErrFull) {
				t.Errorf("TryClaim on a full ring = %v, want ErrFull", err)
			}
			if got := p.Stats().Full; got != 2 {
				t.Errorf("producer Stats().Full = %d after two calls found the ring full, want 2", got)
			}
			if n, err := rd.TryRecv(buf); err != nil || n != 1 || buf[0] != 0 {
				t.Fatalf("TryRecv = %d, %v (%v); want the first message", n, err, buf[:n])
			}
			if err := p.TrySend([]byte{byte(slots)}); err != nil {
				t.Errorf("TrySend after a slot was freed = %v, want nil", err)
			}
			next = 1
		}
		for ; next <= slots; next++ {
			if n, err := rd.TryRecv(buf); err != nil || n != 1 || buf[0] != byte(next) {
				t.Fatalf("TryRecv = %d, %v (%v); want message %d", n, err, buf[:n], next)
			}
		}
		if _, err := rd.TryRecv(buf); !errors.Is(err, ring.ErrEmpty) {
			t.Errorf("TryRecv on a drained ring = %v, want ErrEmpty", err)
		}
	})
}

// TestContractContextEndsABlockingCallWithItsCause: a blocking call whose
// context is cancelled (before the call, or while it waits) or whose
// deadline passes returns context.Cause of it: the cause given to
// WithCancelCause or WithDeadlineCause, else context.Canceled or
// context.DeadlineExceeded. Under every wait strategy; the ring is as it
// was afterwards, and the side that waited goes on.
func TestContractContextEndsABlockingCallWithItsCause(t *testing.T) {
	cause := errors.New("the quote is stale")
	waits := []struct {
		name string
		w    ring.WaitStrategy
	}{{"DefaultWait", ring.DefaultWait}, {"WaitSleep", ring.WaitSleep}, {"a wait that never sleeps", ring.WaitStrategy{Spin: 64, Yield: 4}},
		{"a wait of out-of-range values", ring.WaitStrategy{Spin: -1, Yield: -1, Sleep: true, Tick: -time.Second}}} // WaitStrategy: taken as zero, zero, DefaultTick
	ends := []struct {
		name    string
		want    error
		context func() (context.Context, func())
	}{
		{"a context cancelled with a cause before the call", cause, func() (context.Context, func()) {
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(cause)
			return ctx, func() {}
		}},
		{"a context cancelled with a cause while it waits", cause, func() (context.Context, func()) {
			ctx, cancel := context.WithCancelCause(context.Background())
			tm := time.AfterFunc(time.Millisecond, func() { cancel(cause) })
			return ctx, func() { tm.Stop(); cancel(nil) }
		}},
		{"a deadline with a cause that passes while it waits", cause, func() (context.Context, func()) {
			return context.WithDeadlineCause(context.Background(), time.Now().Add(2*time.Millisecond), cause)
		}},
		{"a deadline with a cause already past", cause, func() (context.Context, func()) {
			return context.WithDeadlineCause(context.Background(), time.Now().Add(-time.Second), cause)
		}},
		{"a plain context cancelled while it waits", context.Canceled, func() (context.Context, func()) {
			ctx, cancel := context.WithCancel(context.Background())
			tm := time.AfterFunc(time.Millisecond, cancel)
			return ctx, func() { tm.Stop(); cancel() }
		}},
		{"a plain deadline that passes while it waits", context.DeadlineExceeded, func() (context.Context, func()) {
			return context.WithTimeout(context.Background(), 2*time.Millisecond)
		}},
	}
	calls := []struct {
		name string
		full bool // waits on a full ring (producer side) rather than an empty one
		call func(ctx context.Context, p *ring.Producer, rd readEnd) error
	}{
		{"Receive on an empty ring", false, func(ctx context.Context, p *ring.Producer, rd readEnd) error { _, err := rd.Receive(ctx); return err }},
		{"Recv on an empty ring", false, func(ctx context.Context, p *ring.Producer, rd readEnd) error {
			_, err := rd.Recv(ctx, make([]byte, 16))
			return err
		}},
		{"ReceiveBatch on an empty ring", false, func(ctx context.Context, p *ring.Producer, rd readEnd) error {
			_, err := receiveBatch(ctx, rd, 4, nil)
			return err
		}},
		{"Send on a full ring", true, func(ctx context.Context, p *ring.Producer, rd readEnd) error { return p.Send(ctx, []byte("x")) }},
		{"Claim on a full ring", true, func(ctx context.Context, p *ring.Producer, rd readEnd) error { _, err := p.Claim(ctx); return err }},
		{"ClaimBatch on a full ring", true, func(ctx context.Context, p *ring.Producer, rd readEnd) error {
			_, err := p.ClaimBatch(ctx, 4)
			return err
		}},
		{"SendBatch on a full ring", true, func(ctx context.Context, p *ring.Producer, rd readEnd) error {
			_, err := p.SendBatch(ctx, [][]byte{[]byte("x")})
			return err
		}},
	}
	forEachKind(t, func(t *testing.T, k contractKind) {
		proctest.Watchdog(t, ring.HangBound)
		for _, w := range waits {
			for _, call := range calls {
				if call.full && k.lossy() {
					continue // a lossy reader never fills the ring
				}
				for _, end := range ends {
					t.Run(call.name+" with "+w.name+" ends on "+end.name, func(t *testing.T) {
						cr := newContractRing(t, k, 16, 2)
						n := 2
						if k.records { // as many four-byte records as its bytes hold, none padded
							n = cr.r.Capacity() / ring.RecordSize(4)
						}
						p, rd := cr.ends(t)
						p.SetWait(w.w)
						rd.SetWait(w.w)
						if call.full {
							for range n {
								if err := p.TrySend([]byte("full")); err != nil {
									t.Fatal(err)
								}
							}
						}
						ctx, stop := end.context()
						defer stop()
						if err := call.call(ctx, p, rd); !errors.Is(err, end.want) {
							t.Fatalf("got %v, want %v", err, end.want)
						}
						// The ring is as it was: the side that waited goes on.
						buf := make([]byte, 16)
						if call.full {
							if n, err := rd.TryRecv(buf); err != nil || string(buf[:n]) != "full" {
								t.Errorf("TryRecv after the ended call = %q, %v; want the first message", buf[:n], err)
							}
							if err := p.TrySend([]byte("next")); err != nil {
								t.Errorf("TrySend after a slot was freed = %v", err)
							}
						} else {
							if err := p.TrySend([]byte("now")); err != nil {
								t.Fatal(err)
							}
							if n, err := rd.TryRecv(buf); err != nil || string(buf[:n]) != "now" {
								t.Errorf("TryRecv after the ended call = %q, %v; want the new message", buf[:n], err)
							}
						}
					})
				}
			}
		}
	})
}

// TestContractMisusePanicsWithAMessageNamingIt: using a handle against its
// contract is a bug in the caller, and panics with a message that names the
// call and the misuse, on every kind alike.
func TestContractMisusePanicsWithAMessageNamingIt(t *testing.T) {
	ctx := context.Background()
	misuses := []struct {
		name string
		want string // {read} is the read end's type, {batch} its batch's
		f    func(p *ring.Producer, rd readEnd)
	}{
		{"Commit without a Claim panics", "ring: Producer.Commit without a Claim", func(p *ring.Producer, rd readEnd) { p.Commit(1) }},
		{"a second Commit of one Claim panics", "ring: Producer.Commit without a Claim", func(p *ring.Producer, rd readEnd) {
			p.Claim(ctx)
			p.Commit(1)
			p.Commit(1)
		}},
		{"Claim while a claim is open panics", "ring: Producer.Claim while a claim is open", func(p *ring.Producer, rd readEnd) {
			p.Claim(ctx)
			p.Claim(ctx)
		}},
		{"Send while a claim is open panics", "ring: Producer.Send while a claim is open", func(p *ring.Producer, rd readEnd) {
			p.TryClaim()
			p.Send(ctx, []byte("x"))
		}},
		{"TrySend while a batch is open panics", "ring: Producer.TrySend while a claim is open", func(p *ring.Producer, rd readEnd) {
			p.ClaimBatch(ctx, 2)
			p.TrySend([]byte("x"))
		}},
		{"CommitBatch without a batch panics", "ring: Producer.CommitBatch without a batch", func(p *ring.Producer, rd readEnd) { p.CommitBatch(1) }},
		{"CommitBatch of more slots than were claimed panics", "ring: Producer.CommitBatch without a batch", func(p *ring.Producer, rd readEnd) {
			p.ClaimBatch(ctx, 2)
			p.CommitBatch(3)
		}},
		{"CommitBatch of a single Claim panics", "ring: Producer.CommitBatch without a batch", func(p *ring.Producer, rd readEnd) {
			p.Claim(ctx)
			p.CommitBatch(1)
		}},
		{"CommitBatch of none of a single Claim panics", "ring: Producer.CommitBatch without a batch", func(p *ring.Producer, rd readEnd) {
			p.Claim(ctx)
			p.CommitBatch(0)
		}},
		{"Commit of a batch panics", "ring: Producer.Commit without a Claim", func(p *ring.Producer, rd readEnd) {
			p.ClaimBatch(ctx, 1)
			p.Commit(0)
		}},
		{"ClaimBatch of zero slots panics", "ring: Producer.ClaimBatch with max <= 0", func(p *ring.Producer, rd readEnd) { p.ClaimBatch(ctx, 0) }},
		{"Batch.Slot out of range panics", "ring: Batch.Slot index out of range", func(p *ring.Producer, rd readEnd) {
			b, _ := p.ClaimBatch(ctx, 2)
			b.Slot(b.Len())
		}},
		{"Release without a received message panics", "ring: {read}.Release without a received message", func(p *ring.Producer, rd readEnd) { rd.Release() }},
		{"a second Release of one message panics", "ring: {read}.Release without a received message", func(p *ring.Producer, rd readEnd) {
			p.TrySend([]byte("x"))
			rd.Receive(ctx)
			rd.Release()
			rd.Release()
		}},
		{"Receive while holding a message panics", "ring: {read}.Receive while holding a message", func(p *ring.Producer, rd readEnd) {
			p.TrySend([]byte("x"))
			p.TrySend([]byte("y"))
			rd.Receive(ctx)
			rd.Receive(ctx)
		}},
		{"Recv while holding a message panics", "ring: {read}.Recv while holding a message", func(p *ring.Producer, rd readEnd) {
			p.TrySend([]byte("x"))
			rd.TryReceive()
			rd.Recv(ctx, make([]byte, 8))
		}},
		{"ReceiveBatch while holding a batch panics", "ring: {read}.ReceiveBatch while holding a message", func(p *ring.Producer, rd readEnd) {
			p.TrySend([]byte("x"))
			receiveBatch(ctx, rd, 4, nil)
			receiveBatch(ctx, rd, 4, nil)
		}},
		{"ReceiveBatch of zero messages panics", "ring: {read}.ReceiveBatch with max <= 0", func(p *ring.Producer, rd readEnd) {
			receiveBatch(ctx, rd, 0, nil)
		}},
		{"At beyond the batch panics", "ring: {batch}.At index out of range", func(p *ring.Producer, rd readEnd) {
			p.TrySend([]byte("x"))
			switch h := rd.(type) {
			case *ring.Consumer:
				b, _ := h.ReceiveBatch(ctx, 4)
				b.At(b.Len())
			case *ring.Reader:
				b, _ := h.ReceiveBatch(ctx, 4)
				b.At(b.Len())
			}
		}},
	}
	forEachKind(t, func(t *testing.T, k contractKind) {
		names := strings.NewReplacer("{read}", k.readHandle(), "{batch}", k.batchType())
		for _, m := range misuses {
			t.Run(m.name, func(t *testing.T) {
				p, rd := newContractRing(t, k, 64, 4).ends(t)
				mustPanicNaming(t, names.Replace(m.want), func() { m.f(p, rd) })
			})
		}
	})
}

// TestContractAMisusePanicLeavesTheBatchOpen: the package promises that a
// misuse panic changes nothing. CommitBatch of more slots than were
// claimed panics, and the batch is still open and whole afterwards: SetLen
// works on it, and CommitBatch of its length publishes its messages.
func TestContractAMisusePanicLeavesTheBatchOpen(t *testing.T) {
	ctx := context.Background()
	forEachKind(t, func(t *testing.T, k contractKind) {
		p, rd := newContractRing(t, k, 64, 4).ends(t)
		b, err := p.ClaimBatch(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		mustPanicNaming(t, "ring: Producer.CommitBatch without a batch", func() { p.CommitBatch(b.Len() + 1) })
		for i := range b.Len() {
			s := b.Slot(i)
			if s == nil {
				t.Fatalf("Batch.Slot(%d) after the misuse panic = nil: the batch went stale, want it still open", i)
			}
			ring.EncodeMessage(s[:pingSize], uint64(i))
			if err := b.SetLen(i, pingSize); err != nil {
				t.Fatalf("SetLen on the batch after the misuse panic = %v, want it still open", err)
			}
		}
		p.CommitBatch(b.Len())
		buf := make([]byte, 64)
		for i := range b.Len() {
			n, err := rd.TryRecv(buf)
			if err != nil {
				t.Fatalf("TryRecv of message %d of the batch = %v", i, err)
			}
			if err := ring.CheckMessage(buf[:n], uint64(i), pingSize); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestContractCommitCallsDoNotCrossClaimKinds: Commit ends a Claim and
// CommitBatch a ClaimBatch, never the other: crossed, they panic as
// misuses and leave the claim open and whole. CommitBatch(1) of a Claim
// used to panic with a bare slice bounds error after dropping the claim
// (on MPMC and MPSC its slot stayed claimed, holding every consumer
// back), CommitBatch(0) dropped it silently, and on a record ring Commit
// of a batch published it while its Batch still wrote into the ring.
// (From a black-box tester.)
func TestContractCommitCallsDoNotCrossClaimKinds(t *testing.T) {
	ctx := context.Background()
	forEachKind(t, func(t *testing.T, k contractKind) {
		p, rd := newContractRing(t, k, 64, 4).ends(t)
		buf := make([]byte, 64)
		s, err := p.Claim(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mustPanicNaming(t, "ring: Producer.CommitBatch without a batch", func() { p.CommitBatch(1) })
		mustPanicNaming(t, "ring: Producer.CommitBatch without a batch", func() { p.CommitBatch(0) })
		ring.EncodeMessage(s[:pingSize], 0)
		if err := p.Commit(pingSize); err != nil {
			t.Fatalf("Commit of the Claim after the misuse panics = %v, want it still open", err)
		}
		b, err := p.ClaimBatch(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		mustPanicNaming(t, "ring: Producer.Commit without a Claim", func() { p.Commit(0) })
		if b.Slot(0) == nil {
			t.Fatal("Batch.Slot after Commit's misuse panic = nil, want the batch still open")
		}
		ring.EncodeMessage(b.Slot(0)[:pingSize], 1)
		if err := b.SetLen(0, pingSize); err != nil {
			t.Fatal(err)
		}
		p.CommitBatch(1)
		if b.Slot(0) != nil {
			t.Fatal("Batch.Slot after CommitBatch is not nil")
		}
		for i := range 2 {
			n, err := rd.TryRecv(buf)
			if err != nil {
				t.Fatalf("TryRecv of message %d = %v", i, err)
			}
			if err := ring.CheckMessage(buf[:n], uint64(i), pingSize); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := rd.TryRecv(buf); !errors.Is(err, ring.ErrEmpty) {
			t.Fatalf("TryRecv after the two messages = %v, want ErrEmpty", err)
		}
	})
}
