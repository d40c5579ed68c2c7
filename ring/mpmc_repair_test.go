package ring

// Dead-peer repair in one process: a handle is "presumed dead" by dropping
// its liveness lock through a test-only path (the kernel does the same when
// a process dies), while the handle itself lives on, so that what it does
// afterwards — a late commit, a late release — can be checked too.
// ring/mpmc_kill_test.go kills real processes at every step.

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fastTick makes a waiter probe its peers within a millisecond or so.
var fastTick = WaitStrategy{Spin: 8, Yield: 1, Sleep: true, Tick: time.Millisecond}

func mpmcHandleOf(x any) *mpmcHandle {
	switch v := x.(type) {
	case *Producer:
		return &v.e.(*mpmcProducer).mpmcHandle
	case *Consumer:
		return &v.e.(*mpmcConsumer).mpmcHandle
	}
	panic("not an MPMC handle")
}

// presumeDead drops the handle's liveness lock as its death would, and
// makes its Close a no-op (a peer reaps its entry instead).
func presumeDead(t *testing.T, x any) {
	t.Helper()
	h := mpmcHandleOf(x)
	h.lock.unlock(h.r)
	h.closed = true
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestMPMCLateCommitOfAPresumedDeadProducerIsRevoked(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 16, 4, Options{})
		p1, p2, c := mustProducer(t, r), mustProducer(t, r), mustConsumer(t, r)
		c.SetWait(fastTick)
		ctx := waitCtx(t)
		s, err := p1.Claim(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := copy(s, "late")
		presumeDead(t, p1)
		if err := p2.Send(ctx, []byte("after")); err != nil {
			t.Fatal(err)
		}
		m, err := c.Receive(ctx) // blocked by p1's claim until it probes p1
		if err != nil || string(m) != "after" {
			t.Fatalf("Receive past a dead producer's claim = %q, %v; want \"after\"", m, err)
		}
		c.Release()
		if err := p1.Commit(n); !errors.Is(err, ErrRevoked) {
			t.Fatalf("late Commit = %v, want ErrRevoked", err)
		}
		if st := c.Stats(); st.Skipped != 1 || st.Repaired == 0 {
			t.Errorf("consumer stats %+v, want 1 skipped and the claim repaired", st)
		}
		// The late commit wrote nothing: more than a lap of messages goes
		// through intact, and nothing of p1's ever arrives.
		buf := make([]byte, 16)
		for i := range 9 {
			msg := []byte{byte('a' + i)}
			if err := p2.Send(ctx, msg); err != nil {
				t.Fatal(err)
			}
			n, err := c.Recv(ctx, buf)
			if err != nil || string(buf[:n]) != string(msg) {
				t.Fatalf("Recv %d = %q, %v; want %q", i, buf[:n], err, msg)
			}
		}
		if _, err := c.TryRecv(buf); !errors.Is(err, ErrEmpty) {
			t.Errorf("TryRecv at the end = %v, want ErrEmpty", err)
		}
	})
}

// TestMPMCLateCommitBatchWritesNoLengthIntoALaterLap: a batch's lengths
// are written at CommitBatch, and only while the claim is still the
// producer's own: a presumed-dead producer's late CommitBatch must not
// write its length over the message another producer put in that slot a
// lap later.
func TestMPMCLateCommitBatchWritesNoLengthIntoALaterLap(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 16, 4, Options{})
		p1, p2, c := mustProducer(t, r), mustProducer(t, r), mustConsumer(t, r)
		c.SetWait(fastTick)
		ctx := waitCtx(t)
		b, err := p1.ClaimBatch(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.SetLen(0, copy(b.Slot(0), "late")); err != nil {
			t.Fatal(err)
		}
		presumeDead(t, p1)
		buf := make([]byte, 16)
		for _, msg := range []string{"after", "a", "b"} {
			if err := p2.Send(ctx, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			n, err := c.Recv(ctx, buf) // the first waits for the probe of p1's claim
			if err != nil || string(buf[:n]) != msg {
				t.Fatalf("Recv = %q, %v; want %q", buf[:n], err, msg)
			}
		}
		if err := p2.Send(ctx, []byte("x")); err != nil { // into p1's old slot, a lap on
			t.Fatal(err)
		}
		p1.CommitBatch(1)
		n, err := c.Recv(ctx, buf)
		if err != nil || string(buf[:n]) != "x" {
			t.Fatalf("Recv after the late CommitBatch = %q, %v; want \"x\"", buf[:n], err)
		}
		if _, err := c.TryRecv(buf); !errors.Is(err, ErrEmpty) {
			t.Errorf("TryRecv at the end = %v, want ErrEmpty", err)
		}
	})
}

func TestMPMCDeadConsumersLeaseIsRedeliveredOnceMarked(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		if k == MPSC {
			t.Skip("one consumer: covered by a joining consumer's repair")
		}
		r := newMPMCRing(t, k, file, 16, 1, Options{})
		p, c1, c2 := mustProducer(t, r), mustConsumer(t, r), mustConsumer(t, r)
		c2.SetWait(fastTick)
		p.SetWait(fastTick)
		ctx := waitCtx(t)
		if err := p.Send(ctx, []byte("m1")); err != nil {
			t.Fatal(err)
		}
		m, err := c1.Receive(ctx)
		if err != nil || string(m) != "m1" || c1.Redelivered() {
			t.Fatalf("first Receive = %q, %v, redelivered=%v", m, err, c1.Redelivered())
		}
		presumeDead(t, c1)
		// The producer is blocked by the dead lease (one slot) until a
		// consumer adopts and releases it.
		sent := make(chan error, 1)
		go func() { sent <- p.Send(ctx, []byte("m2")) }()
		m, err = c2.Receive(ctx)
		if err != nil || string(m) != "m1" {
			t.Fatalf("Receive after the holder died = %q, %v; want m1 again", m, err)
		}
		if !c2.Redelivered() {
			t.Error("Redelivered() = false for a message a dead consumer held")
		}
		c2.Release()
		// Late: the lease is no longer its own. Nothing is written, and the
		// consumer is told.
		if err := c1.Release(); !errors.Is(err, ErrRevoked) {
			t.Fatalf("late Release of a lease a peer took back = %v, want ErrRevoked", err)
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		m, err = c2.Receive(ctx)
		if err != nil || string(m) != "m2" || c2.Redelivered() {
			t.Fatalf("next Receive = %q, %v, redelivered=%v; want m2, not redelivered", m, err, c2.Redelivered())
		}
		c2.Release()
		if st := c2.Stats(); st.Redelivered != 1 || st.Repaired != 1 {
			t.Errorf("stats %+v, want 1 redelivered, 1 repaired", st)
		}
		if _, err := c2.TryReceive(); !errors.Is(err, ErrEmpty) {
			t.Errorf("TryReceive at the end = %v, want ErrEmpty (m1 only once more)", err)
		}
	})
}

func TestMPMCJoiningHandleRepairsItsDeadPredecessor(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 16, 4, Options{MaxProducers: 1, MaxConsumers: 1})
		ctx := waitCtx(t)
		p1, c1 := mustProducer(t, r), mustConsumer(t, r)
		if _, err := p1.Claim(ctx); err != nil {
			t.Fatal(err)
		}
		presumeDead(t, p1)
		p2 := mustProducer(t, r) // the only entry: its predecessor's
		if st := p2.Stats(); st.Repaired != 1 {
			t.Errorf("joining producer repaired %d slots, want the dead one's claim", st.Repaired)
		}
		for _, m := range []string{"x", "y"} {
			if err := p2.Send(ctx, []byte(m)); err != nil {
				t.Fatal(err)
			}
		}
		m, err := c1.TryReceive()
		if err != nil || string(m) != "x" {
			t.Fatalf("TryReceive = %q, %v; want x past the skipped claim", m, err)
		}
		if st := c1.Stats(); st.Skipped != 1 {
			t.Errorf("consumer skipped %d, want 1", st.Skipped)
		}
		presumeDead(t, c1) // holding x
		c2 := mustConsumer(t, r)
		for _, want := range []string{"x", "y"} {
			m, err := c2.Receive(ctx)
			if err != nil || string(m) != want {
				t.Fatalf("Receive = %q, %v; want %q", m, err, want)
			}
			if got := c2.Redelivered(); got != (want == "x") {
				t.Errorf("%s: Redelivered() = %v", want, got)
			}
			c2.Release()
		}
	})
}

func TestMPMCConsumerSeesPeerDeadWhenEveryProducerDied(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 16, 4, Options{})
		p1, p2, c := mustProducer(t, r), mustProducer(t, r), mustConsumer(t, r)
		c.SetWait(fastTick)
		ctx := waitCtx(t)
		if err := p1.Send(ctx, []byte("1")); err != nil {
			t.Fatal(err)
		}
		if _, err := p2.Claim(ctx); err != nil {
			t.Fatal(err)
		}
		presumeDead(t, p1)
		presumeDead(t, p2)
		buf := make([]byte, 16)
		if n, err := c.Recv(ctx, buf); err != nil || string(buf[:n]) != "1" {
			t.Fatalf("Recv = %q, %v; want what was published before the deaths", buf[:n], err)
		}
		if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrPeerDead) {
			t.Fatalf("Recv with every producer dead = %v, want ErrPeerDead", err)
		}
		if _, err := c.TryRecv(buf); !errors.Is(err, ErrPeerDead) {
			t.Fatalf("TryRecv with every producer dead = %v, want ErrPeerDead", err)
		}
		p3 := mustProducer(t, r) // a restarted producer continues the stream
		if err := p3.Send(ctx, []byte("3")); err != nil {
			t.Fatal(err)
		}
		if n, err := c.Recv(ctx, buf); err != nil || string(buf[:n]) != "3" {
			t.Fatalf("Recv after a restart = %q, %v; want 3", buf[:n], err)
		}
		p3.Close()
		if _, err := c.Recv(ctx, buf); !errors.Is(err, ErrClosed) {
			t.Fatalf("Recv after the restarted producer closed = %v, want ErrClosed", err)
		}
	})
}

func TestMPMCProducerSeesPeerDeadWhenEveryConsumerDied(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 16, 2, Options{})
		p, c := mustProducer(t, r), mustConsumer(t, r)
		p.SetWait(fastTick)
		ctx := waitCtx(t)
		for range 2 {
			if err := p.Send(ctx, []byte("m")); err != nil {
				t.Fatal(err)
			}
		}
		presumeDead(t, c)
		if err := p.Send(ctx, []byte("m")); !errors.Is(err, ErrPeerDead) {
			t.Fatalf("Send on a full ring with the only consumer dead = %v, want ErrPeerDead", err)
		}
	})
}

// A live holder (a stopped process keeps its lock) is never repaired:
// waiters get their deadline; the claim commits normally afterwards.
func TestMPMCLiveHolderIsNeverRepaired(t *testing.T) {
	forEachMPMC(t, func(t *testing.T, k Kind, file bool) {
		r := newMPMCRing(t, k, file, 16, 4, Options{})
		p1, p2, c := mustProducer(t, r), mustProducer(t, r), mustConsumer(t, r)
		c.SetWait(fastTick)
		s, err := p1.Claim(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := p2.Send(context.Background(), []byte("b")); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		if _, err := c.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Receive behind a live claim = %v, want DeadlineExceeded", err)
		}
		if err := p1.Commit(copy(s, "a")); err != nil {
			t.Fatalf("Commit after the wait = %v, want nil (never repaired)", err)
		}
		buf := make([]byte, 16)
		for _, want := range []string{"a", "b"} {
			n, err := c.TryRecv(buf)
			if err != nil || string(buf[:n]) != want {
				t.Fatalf("TryRecv = %q, %v; want %q", buf[:n], err, want)
			}
		}
		if st := c.Stats(); st.Repaired != 0 || st.Skipped != 0 {
			t.Errorf("stats %+v, want nothing repaired or skipped", st)
		}
	})
}
