package ring_test

// The Close contract of every kind: idempotent Close of handles and Rings,
// ErrClosed (which is io.EOF) from every call after it, the end of a stream
// drained before ErrClosed, and blocked calls woken by the Close that ends
// them.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/shmring/shmring/internal/proctest"
	"github.com/shmring/shmring/ring"
)

// producerCalls and readCalls are every call of each side, for checking
// what they return after a Close.
func producerCalls(p *ring.Producer) map[string]func() error {
	ctx := context.Background()
	return map[string]func() error{
		"Send":       func() error { return p.Send(ctx, []byte("x")) },
		"TrySend":    func() error { return p.TrySend([]byte("x")) },
		"Claim":      func() error { _, err := p.Claim(ctx); return err },
		"TryClaim":   func() error { _, err := p.TryClaim(); return err },
		"ClaimBatch": func() error { _, err := p.ClaimBatch(ctx, 2); return err },
		"SendBatch":  func() error { _, err := p.SendBatch(ctx, [][]byte{[]byte("x")}); return err },
	}
}

func readCalls(rd readEnd) map[string]func() error {
	ctx := context.Background()
	return map[string]func() error{
		"Receive":      func() error { _, err := rd.Receive(ctx); return err },
		"TryReceive":   func() error { _, err := rd.TryReceive(); return err },
		"Recv":         func() error { _, err := rd.Recv(ctx, make([]byte, 64)); return err },
		"TryRecv":      func() error { _, err := rd.TryRecv(make([]byte, 64)); return err },
		"ReceiveBatch": func() error { _, err := receiveBatch(ctx, rd, 2, nil); return err },
	}
}

// allClosed checks that every call returns ErrClosed, which is io.EOF, and
// none panics.
func allClosed(t *testing.T, when string, calls ...map[string]func() error) {
	t.Helper()
	for _, cs := range calls {
		for name, call := range cs {
			if err := noPanic(call); !errors.Is(err, ring.ErrClosed) || !errors.Is(err, io.EOF) {
				t.Errorf("%s %s = %v, want ErrClosed (and io.EOF)", name, when, err)
			}
		}
	}
}

// recvAll receives messages first..end-1 through Recv, TryRecv, Receive,
// TryReceive and ReceiveBatch in turn, then checks that every read call
// reports the end of the stream, twice.
func recvAll(t *testing.T, rd readEnd, first, end uint64) {
	t.Helper()
	ctx := context.Background()
	buf := make([]byte, 64)
	next := first
	check := func(m []byte) error {
		if err := ring.CheckMessage(m, next, 32); err != nil {
			return err
		}
		next++
		return nil
	}
	for call := 0; next < end; call++ {
		var err error
		switch call % 5 {
		case 0, 1:
			var n int
			if call%5 == 0 {
				n, err = rd.Recv(ctx, buf)
			} else {
				n, err = rd.TryRecv(buf)
			}
			if err == nil {
				err = check(buf[:n])
			}
		case 2, 3:
			var m []byte
			if call%5 == 2 {
				m, err = rd.Receive(ctx)
			} else {
				m, err = rd.TryReceive()
			}
			if err == nil {
				if err = check(m); err == nil {
					err = rd.Release()
				}
			}
		case 4:
			if _, err = receiveBatch(ctx, rd, 2, check); err == nil {
				err = rd.Release()
			}
		}
		if err != nil {
			t.Fatalf("receiving message %d: %v", next, err)
		}
	}
	for range 2 {
		allClosed(t, fmt.Sprintf("after message %d of a closed stream", end-1), readCalls(rd))
	}
}

func TestContractClose(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		f    func(t *testing.T, k contractKind)
	}{
		{"Close of a handle is idempotent, every call after it returns ErrClosed, and its role can be taken again", func(t *testing.T, k contractKind) {
			cr := newContractRing(t, k, 64, 4)
			p, rd := cr.ends(t)
			for i := range 2 {
				if err := p.Close(); err != nil {
					t.Errorf("Producer.Close #%d = %v, want nil", i+1, err)
				}
				if err := rd.Close(); err != nil {
					t.Errorf("%s.Close #%d = %v, want nil", k.readHandle(), i+1, err)
				}
			}
			allClosed(t, "after the handle's Close", producerCalls(p), readCalls(rd))
			cr.ends(t)
		}},
		{"Ring.Close is idempotent, closes every handle taken from it, and gives out no more", func(t *testing.T, k contractKind) {
			cr := newContractRing(t, k, 64, 4)
			p, rd := cr.ends(t)
			for i := range 2 {
				if err := cr.r.Close(); err != nil {
					t.Errorf("Ring.Close #%d = %v, want nil", i+1, err)
				}
			}
			allClosed(t, "after Ring.Close", producerCalls(p), readCalls(rd))
			if err := p.Close(); err != nil {
				t.Errorf("Producer.Close after Ring.Close = %v, want nil", err)
			}
			if err := rd.Close(); err != nil {
				t.Errorf("%s.Close after Ring.Close = %v, want nil", k.readHandle(), err)
			}
			if _, err := cr.r.Producer(); !errors.Is(err, ring.ErrClosed) {
				t.Errorf("Producer on a closed Ring = %v, want ErrClosed", err)
			}
			if _, err := k.takeReadEnd(cr.r); !errors.Is(err, ring.ErrClosed) {
				t.Errorf("a read end on a closed Ring = %v, want ErrClosed", err)
			}
		}},
		{"the file outlives Ring.Close with what was published and the end of the stream", func(t *testing.T, k contractKind) {
			cr := newContractRing(t, k, 64, 8)
			p := cr.producer(t)
			if err := sendN(ctx, p, 0, 3, 32); err != nil {
				t.Fatal(err)
			}
			if err := cr.r.Close(); err != nil {
				t.Fatal(err)
			}
			recvAll(t, cr.reopen(t).readEnd(t), 0, 3)
		}},
		{"the read end receives everything published before the producer closed, then ErrClosed from every call", func(t *testing.T, k contractKind) {
			p, rd := newContractRing(t, k, 64, 16).ends(t)
			if err := sendN(ctx, p, 0, 12, 32); err != nil {
				t.Fatal(err)
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			recvAll(t, rd, 0, 12)
		}},
		{"a new producer continues the stream the closed one ended", func(t *testing.T, k contractKind) {
			cr := newContractRing(t, k, 64, 8)
			rd := cr.readEnd(t)
			for round := range uint64(3) {
				p := cr.producer(t)
				if err := sendN(ctx, p, 4*round, 4, 32); err != nil {
					t.Fatalf("producer %d: %v", round+1, err)
				}
				if err := p.Close(); err != nil {
					t.Fatal(err)
				}
				recvAll(t, rd, 4*round, 4*round+4)
			}
		}},
		{"Release after the handle's Close returns ErrClosed, so a deferred Release is safe", func(t *testing.T, k contractKind) {
			releaseAfterClose(t, k, false)
		}},
		{"Release after Ring.Close returns ErrClosed, so a deferred Release is safe", func(t *testing.T, k contractKind) {
			releaseAfterClose(t, k, true)
		}},
		{"a message held when the consumer closes goes to the next one (MPMC, MPSC: marked Redelivered)", func(t *testing.T, k contractKind) {
			heldAtClose(t, k, func(rd readEnd) error {
				_, err := rd.Receive(ctx)
				return err
			})
		}},
		{"a batch held when the consumer closes goes to the next one (MPMC, MPSC: marked Redelivered)", func(t *testing.T, k contractKind) {
			heldAtClose(t, k, func(rd readEnd) error {
				n, err := receiveBatch(ctx, rd, 2, nil)
				if err == nil && n != 2 {
					err = fmt.Errorf("a batch of %d, want 2", n)
				}
				return err
			})
		}},
		{"Commit and CommitBatch of a claim the producer's Close ended return ErrClosed", func(t *testing.T, k contractKind) {
			commitAfterClose(t, k, false)
		}},
		{"Commit and CommitBatch of a claim Ring.Close ended return ErrClosed", func(t *testing.T, k contractKind) {
			commitAfterClose(t, k, true)
		}},
	}
	forEachKind(t, func(t *testing.T, k contractKind) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				proctest.Watchdog(t, ring.HangBound)
				tc.f(t, k)
			})
		}
	})
}

// heldAtClose: a consumer that receives (hold) and closes without
// releasing has consumed nothing; the next consumer gets every message from
// the first, and on an MPMC or MPSC ring the held ones are marked
// Redelivered. A bridge stopped while its sink cannot take a batch relies on
// it.
func heldAtClose(t *testing.T, k contractKind, hold func(readEnd) error) {
	if k.kind == ring.Broadcast {
		t.Skip("a broadcast Reader's Close gives up its place; every reader has one of its own")
	}
	ctx := context.Background()
	cr := newContractRing(t, k, 64, 8)
	p, rd := cr.ends(t)
	if err := sendN(ctx, p, 0, 3, 32); err != nil {
		t.Fatal(err)
	}
	if err := hold(rd); err != nil {
		t.Fatal(err)
	}
	if err := rd.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	next := cr.readEnd(t)
	m, err := next.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.CheckMessage(m, 0, 32); err != nil {
		t.Fatalf("the next consumer's first message: %v", err)
	}
	if c, ok := next.(*ring.Consumer); ok && k.manyProducers() && !c.Redelivered() {
		t.Error("the held message came again unmarked: Redelivered() = false")
	}
	if err := next.Release(); err != nil {
		t.Fatal(err)
	}
	recvAll(t, next, 1, 3)
}

func releaseAfterClose(t *testing.T, k contractKind, ringClose bool) {
	cr := newContractRing(t, k, 64, 8)
	p, rd := cr.ends(t)
	if err := p.Send(context.Background(), []byte("m")); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ringClose {
		cr.r.Close()
	} else {
		rd.Close()
	}
	for i := range 2 { // as a deferred Release would, after an explicit one
		if err := noPanic(rd.Release); !errors.Is(err, ring.ErrClosed) {
			t.Fatalf("Release #%d after Close = %v, want ErrClosed", i+1, err)
		}
	}
}

// commitAfterClose: Close ends an open claim (a shutdown closing the ring
// from another goroutine while a frame is being filled); the Commit or
// CommitBatch that follows is no misuse of the API: it must not panic,
// nor say nil for what it did not publish.
func commitAfterClose(t *testing.T, k contractKind, ringClose bool) {
	ctx := context.Background()
	for _, batch := range []bool{false, true} {
		cr := newContractRing(t, k, 64, 8)
		p, _ := cr.ends(t)
		var commit func() error
		if batch {
			b, err := p.ClaimBatch(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			commit = func() error { return p.CommitBatch(b.Len()) }
		} else {
			if _, err := p.Claim(ctx); err != nil {
				t.Fatal(err)
			}
			commit = func() error { return p.Commit(1) }
		}
		if ringClose {
			cr.r.Close()
		} else {
			p.Close()
		}
		if err := noPanic(commit); !errors.Is(err, ring.ErrClosed) { // not nil: nothing was published
			t.Errorf("batch %v: Commit after Close = %v, want ErrClosed", batch, err)
		}
		if n := p.Stats().Messages; n != 0 {
			t.Errorf("batch %v: %d messages published by a commit after Close, want none", batch, n)
		}
		if err := p.Send(ctx, []byte("m")); !errors.Is(err, ring.ErrClosed) {
			t.Errorf("batch %v: Send after Close = %v, want ErrClosed", batch, err)
		}
	}
}

// TestContractCloseWakesABlockedCall: a call blocked waiting, sleeping with
// a tick of an hour so that nothing but a wake-up ends its sleep, returns
// ErrClosed when what ends it closes: the producer (end of the stream) or
// the call's own Ring. The peer whose role keeps the ring empty or full
// lives on a second mapping, as in another process, so that Ring.Close
// does not end the stream on its own. A lost wake-up hangs until the
// watchdog fails the test.
func TestContractCloseWakesABlockedCall(t *testing.T) {
	type blocked struct {
		method string // the public method, as awaitParked finds it
		call   func() error
		after  func() error // a call on the same handle once it returned
	}
	readBlocked := func(k contractKind, rd readEnd, batch bool) blocked {
		rd.SetWait(hourTick)
		ctx := context.Background()
		if batch {
			return blocked{"(*" + k.readHandle() + ").ReceiveBatch", func() error { _, err := receiveBatch(ctx, rd, 4, nil); return err },
				func() error { _, err := rd.TryReceive(); return err }}
		}
		return blocked{"(*" + k.readHandle() + ").Receive", func() error { _, err := rd.Receive(ctx); return err },
			func() error { _, err := rd.TryReceive(); return err }}
	}
	writeBlocked := func(t *testing.T, p *ring.Producer, send bool) blocked {
		for { // fill it
			if err := p.TrySend([]byte("full")); errors.Is(err, ring.ErrFull) {
				break
			} else if err != nil {
				t.Fatalf("TrySend while filling: %v", err)
			}
		}
		p.SetWait(hourTick)
		ctx := context.Background()
		after := func() error { return p.TrySend([]byte("late")) }
		if send {
			return blocked{"(*Producer).Send", func() error { return p.Send(ctx, []byte("x")) }, after}
		}
		return blocked{"(*Producer).Claim", func() error { _, err := p.Claim(ctx); return err }, after}
	}
	cases := []struct {
		name    string
		noLossy bool
		setup   func(t *testing.T, cr *contractRing) (b blocked, end func() error)
	}{
		{"a Receive blocked on an empty ring returns ErrClosed when the producer closes", false, func(t *testing.T, cr *contractRing) (blocked, func() error) {
			p, rd := cr.ends(t)
			return readBlocked(cr.k, rd, false), p.Close
		}},
		{"a ReceiveBatch blocked on an empty ring returns ErrClosed when the producer closes", false, func(t *testing.T, cr *contractRing) (blocked, func() error) {
			p, rd := cr.ends(t)
			return readBlocked(cr.k, rd, true), p.Close
		}},
		{"a Receive blocked on an empty ring returns ErrClosed when its Ring is closed", false, func(t *testing.T, cr *contractRing) (blocked, func() error) {
			rd := cr.readEnd(t)
			cr.reopen(t).producer(t)
			return readBlocked(cr.k, rd, false), cr.r.Close
		}},
		{"a ReceiveBatch blocked on an empty ring returns ErrClosed when its Ring is closed", false, func(t *testing.T, cr *contractRing) (blocked, func() error) {
			rd := cr.readEnd(t)
			cr.reopen(t).producer(t)
			return readBlocked(cr.k, rd, true), cr.r.Close
		}},
		{"a Claim blocked on a full ring returns ErrClosed when its Ring is closed", true, func(t *testing.T, cr *contractRing) (blocked, func() error) {
			cr.reopen(t).readEnd(t)
			return writeBlocked(t, cr.producer(t), false), cr.r.Close
		}},
		{"a Send blocked on a full ring returns ErrClosed when its Ring is closed", true, func(t *testing.T, cr *contractRing) (blocked, func() error) {
			cr.reopen(t).readEnd(t)
			return writeBlocked(t, cr.producer(t), true), cr.r.Close
		}},
	}
	forEachKind(t, func(t *testing.T, k contractKind) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if tc.noLossy && k.lossy() {
					t.Skip("a lossy reader never holds the producer back: the ring is never full")
				}
				proctest.Watchdog(t, ring.HangBound)
				b, end := tc.setup(t, newContractRing(t, k, 64, 8))
				done := make(chan error, 1)
				go func() { done <- b.call() }()
				awaitParked(t, b.method, done)
				if err := end(); err != nil {
					t.Fatalf("the Close that ends the call: %v", err)
				}
				if err := <-done; !errors.Is(err, ring.ErrClosed) || !errors.Is(err, io.EOF) {
					t.Fatalf("the blocked %s returned %v, want ErrClosed (and io.EOF)", b.method, err)
				}
				if err := b.after(); !errors.Is(err, ring.ErrClosed) {
					t.Fatalf("a call on the same handle afterwards returned %v, want ErrClosed", err)
				}
			})
		}
	})
}

// TestContractEndOfStreamIsErrClosedWhateverTheContext: at the end of a
// closed stream there is nothing to wait for, so a read end says ErrClosed
// even given a context already cancelled (a call looks at its context only
// when it must wait). A broadcast reader said context.Canceled.
func TestContractEndOfStreamIsErrClosedWhateverTheContext(t *testing.T) {
	forEachKind(t, func(t *testing.T, k contractKind) {
		cr := newContractRing(t, k, 64, 8)
		p, rd := cr.ends(t)
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := rd.Recv(ctx, make([]byte, 64)); !errors.Is(err, ring.ErrClosed) {
			t.Errorf("Recv at the end of a closed stream, context cancelled = %v, want ErrClosed", err)
		}
		if _, err := rd.Receive(ctx); !errors.Is(err, ring.ErrClosed) {
			t.Errorf("Receive at the end of a closed stream, context cancelled = %v, want ErrClosed", err)
		}
		if _, err := receiveBatch(ctx, rd, 4, nil); !errors.Is(err, ring.ErrClosed) {
			t.Errorf("ReceiveBatch at the end of a closed stream, context cancelled = %v, want ErrClosed", err)
		}
	})
}

// TestContractABatchWhoseFirstMessageIsTooLargeWaitsForNothing: SendBatch
// of a first message beyond the slot size is ErrTooLarge at once, as Send
// of it is, even on a full ring with no deadline: the answer is known
// before any room is. SPSC and broadcast rings waited for room first.
func TestContractABatchWhoseFirstMessageIsTooLargeWaitsForNothing(t *testing.T) {
	forEachKind(t, func(t *testing.T, k contractKind) {
		cr := newContractRing(t, k, 64, 8)
		p, _ := cr.ends(t)
		for { // fill it (a lossy kind is never full: it stops when a send would overwrite)
			if err := p.TrySend([]byte("full")); errors.Is(err, ring.ErrFull) {
				break
			} else if err != nil {
				t.Fatalf("TrySend while filling: %v", err)
			}
			if k.lossy() {
				break
			}
		}
		// Were it to wait for room, it would get this context's deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if _, err := p.SendBatch(ctx, [][]byte{make([]byte, 1<<20), []byte("x")}); !errors.Is(err, ring.ErrTooLarge) {
			t.Errorf("SendBatch of a first message beyond the slot = %v, want ErrTooLarge", err)
		}
	})
}
